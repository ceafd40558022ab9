"""All tables, imported in one place so metadata and Alembic see every one."""

from enroll.models.api_key import ApiKey
from enroll.models.base import Base
from enroll.models.criteria_version import CriteriaVersion
from enroll.models.customer import Customer, HouseholdMember, Lead
from enroll.models.document import Document, DocumentType
from enroll.models.enrollment import Enrollment, EnrollmentConsent, EnrollmentHistory
from enroll.models.enrollment_import import EnrollmentImport, ImportChunk, ImportIssue, ImportKey
from enroll.models.event import Event
from enroll.models.idempotency import IdempotencyRecord
from enroll.models.job import Job
from enroll.models.location import (
    ServiceLocation,
    ServiceLocationImport,
    ServiceLocationImportChunk,
    ServiceLocationImportIssue,
    UsageReading,
)
from enroll.models.notification import Notification, NotificationTemplate
from enroll.models.participation import Device, DeviceLocation, ProgramSubscription
from enroll.models.payment import PaymentMethod, PaymentProfile, PaymentSetup
from enroll.models.plan import DeliveryCharge, Plan, PlanCode
from enroll.models.program import Program
from enroll.models.program_instance import ProgramInstance
from enroll.models.reevaluation import Reevaluation
from enroll.models.service_task import ServiceTask, ServiceTaskLog, SetupAction, Todo
from enroll.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from enroll.models.workspace import Workspace

__all__ = [
    "ApiKey",
    "Base",
    "CriteriaVersion",
    "Customer",
    "DeliveryCharge",
    "Device",
    "DeviceLocation",
    "Document",
    "DocumentType",
    "Enrollment",
    "EnrollmentConsent",
    "EnrollmentHistory",
    "EnrollmentImport",
    "Event",
    "HouseholdMember",
    "IdempotencyRecord",
    "ImportChunk",
    "ImportIssue",
    "ImportKey",
    "Job",
    "Lead",
    "Notification",
    "NotificationTemplate",
    "PaymentMethod",
    "PaymentProfile",
    "PaymentSetup",
    "Plan",
    "PlanCode",
    "Program",
    "ProgramInstance",
    "ProgramSubscription",
    "Reevaluation",
    "ServiceLocation",
    "ServiceLocationImport",
    "ServiceLocationImportChunk",
    "ServiceLocationImportIssue",
    "ServiceTask",
    "ServiceTaskLog",
    "SetupAction",
    "Todo",
    "UsageReading",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Workspace",
]
