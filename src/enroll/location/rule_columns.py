"""A service location as eligibility rules read it, column by column (pure): the paths of
``location.*`` in the rule context (the wire's names, schemas.ServiceLocationOut) that
set-based evaluation reads in SQL from a row of ``service_location``. A rule reading another
path (``location.metered``, ``location.hasUsageHistory``, the timestamps, the whole object)
is evaluated in Python."""

from __future__ import annotations

# path → SQL over the location's alias ``{l}``: text (NULL is null).
TEXT = {
    "location.id": "{l}.id",
    "location.servicePointId": "{l}.service_point_id",
    "location.market": "{l}.market",
    # The wire has no utility without its code (``utility: null``).
    "location.utility.code": "{l}.utility_code",
    "location.utility.name": "CASE WHEN {l}.utility_code IS NOT NULL THEN {l}.utility_name END",
    "location.address.streetOne": "{l}.street_one",
    "location.address.streetTwo": "{l}.street_two",
    "location.address.city": "{l}.city",
    "location.address.state": "{l}.address_state",
    "location.address.postalCode": "{l}.postal_code",
    "location.address.country": "{l}.country",
    "location.county": "{l}.county",
    "location.premiseType": "{l}.premise_type",
    "location.status": "{l}.status",
    "location.source": "{l}.source",
}
# path → a JSON column (any JSON value; NULL is null).
JSON = {"location.attributes": "{l}.attributes"}
