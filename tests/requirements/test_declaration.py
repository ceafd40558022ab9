"""An instance declares its requirements (program_instance/requirements.py): every kind is
accepted and shown as stored, versioned with the criteria; a bad declaration is a 422 that
names the field and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.requirements.seed004 import REQUIREMENTS
from tests.support.server import Tenant

SEED_003 = [
    {"key": "utility_bill", "kind": "document", "label": "Recent utility bill",
     "stage": "submit", "types": ["UTILITY_BILL"], "count": 1, "maxAgeDays": 90,
     "owner": "applicant"},
    {"key": "billing", "kind": "billingAddress", "label": "Billing address", "stage": "submit"},
    {"key": "payment", "kind": "paymentMethod", "label": "Payment method", "stage": "submit"},
]  # fmt: skip


def test_every_kind_is_stored_and_versioned(tenant: Tenant) -> None:
    c = tenant.client
    declared = REQUIREMENTS + SEED_003
    instance = tenant.instance(requirements=declared, submitWhenComplete=True)
    assert instance["requirements"] == declared
    assert instance["submitWhenComplete"] is True
    versions = c.get(f"/v1/programInstances/{instance['id']}/criteriaVersions").json()["data"]
    assert [v["requirements"] for v in versions] == [declared]
    fewer = declared[:3]
    r = c.patch(f"/v1/programInstances/{instance['id']}", json={"requirements": fewer})
    assert r.status_code == 200 and r.json()["requirements"] == fewer, r.text
    assert r.json()["criteriaVersion"] == instance["criteriaVersion"] + 1
    versions = c.get(f"/v1/programInstances/{instance['id']}/criteriaVersions").json()["data"]
    assert [v["requirements"] for v in versions] == [declared, fewer]


BAD: list[tuple[dict[str, Any], str]] = [
    (SEED_003[0] | {"stage": "create"}, "requirements.0.document.stage"),
    ({"key": "x", "kind": "paymentMethod", "label": "P", "stage": "create"},
     "requirements.0.paymentMethod.stage"),
    ({"key": "x", "kind": "telepathy", "label": "T", "stage": "create"}, "requirements.0"),
    ({"key": "x", "kind": "rule", "label": "R", "stage": "create", "rule": {"nope": [1]}},
     "requirements.0.rule.rule"),
    ({"key": "x", "kind": "field", "label": "F", "stage": "create", "paths": ["a..b"]},
     "requirements.0.field.paths.0"),
    ({"key": "x", "kind": "field", "label": "F", "stage": "create", "paths": ["a"],
      "when": {"nope": 1}}, "requirements.0.field.when"),
    ({"key": "1x", "kind": "billingAddress", "label": "B", "stage": "submit"},
     "requirements.0.billingAddress.key"),
    ({"key": "x", "kind": "householdMember", "label": "H", "stage": "submit", "role": "cat"},
     "requirements.0.householdMember.role"),
]  # fmt: skip


@pytest.mark.parametrize(("requirement", "field"), BAD)
def test_a_bad_requirement_is_refused_at_its_field(
    tenant: Tenant, requirement: dict[str, Any], field: str
) -> None:
    body = {
        "programSlug": "core-test-program",
        "slug": "bad-requirements",
        "name": "Bad",
        "requirements": [requirement],
    }
    r = tenant.client.post("/v1/programInstances", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in r.json()["errors"]]
    assert any(f.startswith(field) for f in fields), fields


def test_keys_are_unique_and_a_refused_update_changes_nothing(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance(requirements=SEED_003)
    twice = [SEED_003[1], SEED_003[1] | {"label": "Again"}]
    r = c.patch(f"/v1/programInstances/{instance['id']}", json={"requirements": twice})
    assert r.status_code == 422, r.text
    assert "billing" in r.text
    again = c.get(f"/v1/programInstances/{instance['id']}").json()
    assert again["requirements"] == SEED_003 and again["version"] == instance["version"]
