from __future__ import annotations

from tests.support.server import Tenant


def test_seed_example_enrollment(tenant: Tenant) -> None:
    instance = tenant.instance()
    r = tenant.client.post(
        f"/v1/programInstances/{instance['id']}/enrollments",
        json={
            "identificationType": "customerInfo",
            "firstName": "Suzie",
            "lastName": "Homeowner",
            "email": "suzie.homeowner@example.com",
            "phone": "+1234567890",
            "address": {
                "streetOne": "123 Main St",
                "streetTwo": "Apt 4B",
                "city": "New York",
                "state": "NY",
                "postalCode": "10001",
                "country": "USA",
            },
            "manufacturerSlugs": ["tesla", "enphase"],
            "serialNumber": "1234567890",
            "referenceId": "1234567890",
            "referenceDescription": "Tesla Grid Services id.",
            "tags": ["tag1", "tag2"],
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["eligibility"]["status"] == "eligible"
    assert body["version"] == 1  # inserted once, already evaluated
