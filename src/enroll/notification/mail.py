"""Email through SMTP (aiosmtplib): the settings, the message, one send per message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Literal

import aiosmtplib

from enroll.config import Settings

Tls = Literal["none", "starttls", "tls"]


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: Tls
    sender: str  # the From header, e.g. "Enroll <no-reply@example.com>"
    timeout_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> SmtpConfig | None:
        """None when no SMTP host is configured (messages are then stored, not sent)."""
        if not settings.smtp_host:
            return None
        password = settings.smtp_password
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=password.get_secret_value() if password is not None else None,
            tls=settings.smtp_tls,
            sender=settings.smtp_from,
            timeout_seconds=settings.smtp_timeout_seconds,
        )

    @property
    def envelope_sender(self) -> str:
        return parseaddr(self.sender)[1] or self.sender

    @property
    def helo_name(self) -> str:
        """Named after the sender's domain, not looked up (``socket.getfqdn`` may block)."""
        domain = self.envelope_sender.rpartition("@")[2]
        return domain or "localhost"


class SendFailed(Exception):
    """The message was not accepted. ``permanent``: retrying cannot help (a 5xx answer)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Outgoing:
    notification_id: str
    recipient: str
    subject: str
    body: str


def build(config: SmtpConfig, outgoing: Outgoing, *, now: datetime) -> EmailMessage:
    """The message; its Message-ID is the notification's, so a message sent twice (a worker
    that died between the send and recording it) can be recognised by the receiver."""
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = outgoing.recipient
    message["Subject"] = outgoing.subject
    message["Message-ID"] = f"<{outgoing.notification_id}@{config.helo_name}>"
    message["X-Enroll-Notification-Id"] = outgoing.notification_id
    message["Date"] = format_datetime(now)
    message.set_content(outgoing.body)
    return message


async def send(config: SmtpConfig, outgoing: Outgoing, *, now: datetime) -> None:
    """Send one message; ``SendFailed`` when the server is unreachable or refuses it."""
    try:
        message = build(config, outgoing, now=now)
    except (ValueError, TypeError) as exc:  # an address or subject the email package refuses
        raise SendFailed(f"cannot build the message: {exc}", permanent=True) from None
    try:
        await aiosmtplib.send(
            message,
            sender=config.envelope_sender,
            recipients=[outgoing.recipient],
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.tls == "tls",
            start_tls=config.tls == "starttls",
            timeout=config.timeout_seconds,
            local_hostname=config.helo_name,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        permanent = all(r.code >= 500 for r in exc.recipients)
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        raise SendFailed(f"recipient refused: {detail}", permanent=permanent) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise SendFailed(
            f"SMTP server answered {exc.code} {exc.message}", permanent=exc.code >= 500
        ) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise SendFailed(
            f"SMTP server {config.host}:{config.port}: {type(exc).__name__}: {exc}",
            permanent=False,
        ) from None
