"""Settings, read once from the environment (prefix ``ENROLL_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENROLL_", extra="ignore")

    # sqlite:///PATH or postgresql://USER@HOST:PORT/DB
    database_url: str = "sqlite:///enroll.sqlite"
    # "production" refuses what is only fit for development (a generated data key).
    environment: Literal["development", "production"] = "development"
    # The data keys that seal personal data at rest (docs/security.md): id:base64url-key,
    # comma-separated, the active one first. Unset in development: a key generated once into
    # data_key_file (default: beside the SQLite database, or ./enroll.datakey).
    data_key: SecretStr | None = None
    data_key_file: str | None = None
    # Largest request body accepted on ordinary JSON routes.
    max_body_bytes: int = 1_048_576
    # A re-evaluation that would change more than this share of an instance's enrollments is
    # refused unless the request says force.
    reevaluation_max_share: float = 0.25
    # Largest import file (streamed into the database in chunks, never held in memory).
    max_import_bytes: int = 20 * 1024**3
    # How long an authenticated key is trusted from the in-process cache.
    # Revocation is immediate in the revoking process and takes at most this long elsewhere.
    auth_cache_seconds: float = 10.0
    # Run the worker loop inside `enroll serve`.
    embedded_worker: bool = True
    worker_poll_seconds: float = 0.2
    worker_batch_size: int = 20
    # Jobs one worker runs at once, each in its own transaction and connection. Most of a
    # job's time is waiting on the database, so several overlap well on PostgreSQL; SQLite
    # has one writer, so there the worker runs one job at a time whatever this says.
    worker_concurrency: int = 8
    # A claimed job whose worker vanished becomes claimable again after this lease.
    job_lease_seconds: float = 60.0
    idempotency_ttl_hours: int = 24
    # Let outbound calls (asynchronous eligibility checks) use plain http:// and reach
    # loopback, private and link-local addresses. For development and tests only.
    webhook_allow_private: bool = False
    # Notifications by email (docs/notifications.md). No host: nothing is sent, messages are
    # kept in the notification log with status "stored".
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # "none": plain SMTP; "starttls": upgrade the connection (required); "tls": TLS from the start.
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_from: str = "Enroll <no-reply@localhost>"
    smtp_timeout_seconds: float = 10.0
    # Enough for 32 concurrent requests plus background work without opening and closing extras.
    db_pool_size: int = 40
    # Webhooks: the delay before each delivery attempt, in seconds, comma-separated (the first
    # is the first attempt: 0 = at once); after the last, the delivery has failed.
    webhook_retry_schedule: str = "0,5,300,1800,7200,18000,36000,36000"
    webhook_timeout_seconds: float = 15.0
    # An endpoint whose deliveries have failed for this long (no success between) is disabled.
    webhook_disable_after_seconds: float = 5 * 86400
    # After a secret rotation the old secret signs too, for this long unless the call says.
    webhook_secret_overlap_seconds: float = 86400
    # Payment methods (docs/payments.md): "sandbox" (deterministic, Stripe's test ids, no
    # network) or "stripe" (the Stripe API; needs the secret and publishable keys).
    payment_provider: Literal["sandbox", "stripe"] = "sandbox"
    stripe_secret_key: SecretStr | None = None
    stripe_publishable_key: str | None = None
    # Another address for the Stripe API (a local stand-in such as localstripe); None: Stripe's.
    stripe_api_base: str | None = None
    # Verifies the Stripe-Signature of POST /v1/providers/stripe/events (the sandbox verifies
    # Stripe's scheme too, with this secret or else `whsec_sandbox`).
    stripe_webhook_secret: SecretStr | None = None
    # One call to the provider, retries included, before the request answers 503.
    stripe_timeout_seconds: float = 10.0

    # Documents (docs/documents.md). Where their sealed contents are kept: file:///abs/path or
    # s3://bucket/prefix; unset: a folder beside the SQLite database (<db path>.files/), or
    # ./enroll-files/ with PostgreSQL.
    storage_url: str | None = None
    # S3-compatible storage: the endpoint (unset: AWS itself), the region, and credentials
    # (unset: boto3's own chain: environment, shared files, instance or task role).
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # A storage call's connect and read timeouts, and its attempts before it fails (503).
    storage_timeout_seconds: float = 10.0
    storage_max_attempts: int = 3
    # Largest document file accepted (the file itself; the form around it may add 64 KiB).
    max_document_bytes: int = 20 * 1024 * 1024
    # A stored object with no document row is removed by the sweeper once this old: an
    # upload writes its object a moment before its row commits.
    storage_orphan_grace_seconds: float = 3600.0

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        _delays(value)  # refused at startup, not at the first failed delivery
        return value

    @model_validator(mode="after")
    def _payment_provider(self) -> Settings:
        # Refused at startup, not at the first payment session.
        if self.payment_provider == "stripe":
            if self.stripe_secret_key is None or not self.stripe_secret_key.get_secret_value():
                raise ValueError("ENROLL_PAYMENT_PROVIDER=stripe needs ENROLL_STRIPE_SECRET_KEY")
            if not self.stripe_publishable_key:
                raise ValueError(
                    "ENROLL_PAYMENT_PROVIDER=stripe needs ENROLL_STRIPE_PUBLISHABLE_KEY"
                )
        return self

    @property
    def webhook_retry_delays(self) -> list[float]:
        return _delays(self.webhook_retry_schedule)


def _delays(schedule: str) -> list[float]:
    try:
        delays = [float(part) for part in schedule.split(",")]
    except ValueError:
        delays = []
    if not delays or any(not 0 <= d < 10**7 for d in delays):
        raise ValueError("give seconds >= 0, comma-separated, such as 0,5,300")
    return delays


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
