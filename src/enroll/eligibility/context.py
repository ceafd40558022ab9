"""The rule context: the JSON document every criterion's rule is evaluated against.

    {
      "firstName", "lastName", "email", "phone",          # the enrollment's contact fields
      "address": {"streetOne", "streetTwo", "city", "state", "postalCode", "country"},
      "manufacturerSlugs": [...],                          # lower-cased
      "serialNumber", "referenceId", "referenceDescription",
      "tags": [...], "metadata": {...},                    # metadata carries form answers too
      "identificationType",
      "customer": {"id", "firstName", "lastName", "email", "phone", "address", "metadata"},
      "facts": {"activeEnrollments": [{"programInstanceId", "programSlug", "status"}, ...]},
      "location": {"id", "servicePointId", "market", "utility": {"code", "name"}, "address",
                   "county", "premiseType", "status", "metered", "attributes", ...}
    }

``location`` is the service location the enrollment names (null when none): rules such as
"residential premises only" or "Oncor territory only" read it.

``address.state`` is upper-cased and ``manufacturerSlugs`` lower-cased so rules compare
without worrying about case. Missing values are absent or null, never empty strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from enroll.models.enrollment_fields import FIELDS, Kind

# The text fields, as they are (the others are normalised below; models/enrollment_fields.py).
CONTACT_FIELDS = (
    *(f.name for f in FIELDS if f.rule and f.kind == Kind.TEXT),
    "identificationType",
)


def rule_context(
    fields: Mapping[str, Any],
    *,
    customer: Mapping[str, Any] | None = None,
    active_enrollments: Sequence[Mapping[str, Any]] = (),
    location: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the context from enrollment fields named as in the API (camelCase)."""
    stored = fields.get("address")
    # As stored: an empty address is {} (truthy, as SQL sees the column), a missing one None.
    address = dict(stored) if isinstance(stored, dict) else None
    if address is not None and isinstance(address.get("state"), str):
        address["state"] = address["state"].strip().upper()
    context: dict[str, Any] = {name: fields.get(name) for name in CONTACT_FIELDS}
    context.update(
        address=address,
        manufacturerSlugs=[
            m.lower() if isinstance(m, str) else m for m in fields.get("manufacturerSlugs") or []
        ],
        tags=list(fields.get("tags") or []),
        metadata=dict(fields.get("metadata") or {}),
        customer=dict(customer) if customer is not None else None,
        facts={"activeEnrollments": [dict(e) for e in active_enrollments]},
        location=dict(location) if location is not None else None,
    )
    return context
