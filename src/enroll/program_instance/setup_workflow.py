"""An instance's setup workflow: which device setup actions an enrollment or unenrollment runs,
for which installation methods and ownerships, and the unenrollment reasons that need approval.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from enroll.kit.fields import HttpUrl, ShortText
from enroll.kit.schemas import ApiModel

ReasonCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]


class InstallationMethod(StrEnum):
    BRING_YOUR_OWN = "bring_your_own"
    SHIP_DEVICE = "ship_device"
    UTILITY_INSTALLATION = "utility_installation"
    REENROLL = "reenroll"


class AssetOwnership(StrEnum):
    CUSTOMER = "customer"
    UTILITY = "utility"


class RemovalMethod(StrEnum):
    KEEP = "keep"
    SHIP_DEVICE = "ship_device"
    UTILITY_REMOVAL = "utility_removal"


class ActionType(StrEnum):
    CREATE_ACTIVITY = "create_activity"  # a field activity for a crew
    CREATE_TODO = "create_todo"  # a to-do entry for people
    CREATE_WORK_ORDER = "create_work_order"  # a work order in asset management
    DEVICE_COMMAND = "device_command"  # a status check sent to the device-command endpoint
    # The switch request a retailer sends the utility for the chosen start date: a call to
    # marketEnrollmentUrl, or a to-do completed by a person where none is set.
    MARKET_ENROLLMENT = "market_enrollment"


class ActionConfig(ApiModel):
    sequence: Annotated[int, Field(ge=1, le=1000, description="Lower runs first; equal together.")]
    type: ActionType
    installation_methods: Annotated[list[InstallationMethod], Field(min_length=1, max_length=4)]
    asset_ownerships: Annotated[list[AssetOwnership], Field(min_length=1, max_length=2)]
    removal_methods: Annotated[
        list[RemovalMethod] | None,
        Field(
            max_length=3,
            description="Unenrollment only: the removal methods it applies to (null: all).",
        ),
    ] = None
    description: ShortText | None = None
    command: ShortText = Field(
        "status_check", description="device_command: the command sent to the device."
    )


_UNIQUE = Field(json_schema_extra={"uniqueItems": True})


class UnenrollReason(ApiModel):
    code: ReasonCode
    description: ShortText | None = None
    requires_approval: bool = False


def _command_url(schema: dict[str, Any]) -> None:
    """The part of ``_validate`` a schema can state besides ``uniqueItems``: device_command
    actions need ``deviceCommandUrl`` (unique reason codes and action keys it cannot)."""
    command = {"contains": {"properties": {"type": {"const": ActionType.DEVICE_COMMAND.value}}}}
    url = schema["properties"]["deviceCommandUrl"]
    url = next(v for v in url.get("anyOf", [url]) if v != {"type": "null"})
    schema["if"] = {
        "anyOf": [
            {"properties": {"enrollmentActions": command}, "required": ["enrollmentActions"]},
            {"properties": {"unenrollmentActions": command}, "required": ["unenrollmentActions"]},
        ]
    }
    schema["then"] = {"properties": {"deviceCommandUrl": url}, "required": ["deviceCommandUrl"]}


class SetupWorkflow(ApiModel, json_schema_extra=_command_url):
    # uniqueItems: the part of _validate's uniqueness rules a schema can state.
    enrollment_actions: Annotated[list[ActionConfig], Field(max_length=50), _UNIQUE] = []
    unenrollment_actions: Annotated[list[ActionConfig], Field(max_length=50), _UNIQUE] = []
    device_command_url: HttpUrl | None = Field(
        None, description="Where device_command actions are POSTed (signed like webhooks)."
    )
    device_command_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    market_enrollment_url: HttpUrl | None = Field(
        None,
        description="Where market_enrollment actions are POSTed (signed like webhooks); "
        "without it, each raises a to-do that a person completes.",
    )
    expiration_days: Annotated[
        int | None,
        Field(ge=1, le=3650, description="A task not completed in time is canceled."),
    ] = None
    unenroll_reasons: Annotated[list[UnenrollReason], Field(max_length=100), _UNIQUE] = Field(
        [], description="The reason codes an unenrollment may give (empty: any reason)."
    )
    divisions: Annotated[list[ShortText], Field(max_length=100)] = Field(
        [],
        description="The service-point divisions or territories the instance serves "
        "(empty: any). An enrollment request for another is a validation error.",
    )

    @model_validator(mode="after")
    def _validate(self) -> SetupWorkflow:
        codes = [r.code for r in self.unenroll_reasons]
        if len(codes) != len(set(codes)):
            raise ValueError("unenrollReasons codes must be unique")
        commands = any(
            a.type == ActionType.DEVICE_COMMAND
            for a in self.enrollment_actions + self.unenrollment_actions
        )
        if commands and self.device_command_url is None:
            raise ValueError("device_command actions need deviceCommandUrl")
        for actions in (self.enrollment_actions, self.unenrollment_actions):
            keys = [(a.sequence, a.type) for a in actions]
            if len(keys) != len(set(keys)):
                raise ValueError("two actions of one list share a sequence and type")
        return self

    def reason(self, code: str) -> UnenrollReason | None:
        return next((r for r in self.unenroll_reasons if r.code == code), None)
