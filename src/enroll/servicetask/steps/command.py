"""The device-command endpoint's adapter: a device_command setup action's call, sent signed,
and the device's answer read into the action's outcome (``setup_action.device_command``'s job,
servicetask/jobs.py, sends it outside a transaction and records what it gives back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from enroll.kit import outbound
from enroll.kit.schemas import storable

MAX_COMMAND_ANSWER_BYTES = 65_536

Answer = tuple[bool, dict[str, Any] | None, str | None]  # succeeded, result, message


@dataclass(frozen=True, slots=True)
class DeviceCommand:
    """What a ``setup_action.device_command`` job sends, read in a short transaction."""

    url: str
    timeout_seconds: float
    body: dict[str, Any]


async def send(
    command: DeviceCommand,
    *,
    secret: str,
    message_id: str,
    now: datetime,
    allow_private: bool,
) -> Answer:
    """POST the command and read the answer (see ``command_answer``); raises outbound.Refused
    for a refused address and outbound.Unreachable when there is no answer to act on."""
    status, content = await outbound.post_signed(
        command.url,
        body=command.body,
        secret=secret,
        message_id=message_id,
        timeout_seconds=command.timeout_seconds,
        now=now,
        max_answer_bytes=MAX_COMMAND_ANSWER_BYTES,
        allow_private=allow_private,  # the address is checked as the call connects
    )
    return command_answer(status, content)


def command_answer(status: int, content: bytes) -> Answer:
    """Read the device-command endpoint's answer: 2xx ``{"status": "succeeded" | "failed",
    "message"?}`` finishes the action; another 4xx refuses the command (the action fails);
    anything else (5xx, 408, 429, a malformed 2xx) raises Unreachable to be tried again."""
    if status in (408, 429) or status >= 500:
        raise outbound.Unreachable(f"the endpoint answered HTTP {status}")
    if not 200 <= status < 300:
        return False, None, f"the device-command endpoint refused the command (HTTP {status})"
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise outbound.Unreachable("the endpoint's answer is not JSON") from None
    verdict = data.get("status") if isinstance(data, dict) else None
    message = data.get("message") if isinstance(data, dict) else None
    if verdict not in ("succeeded", "failed") or not (message is None or isinstance(message, str)):
        raise outbound.Unreachable(
            'the endpoint\'s answer is not {"status": "succeeded" | "failed", "message": "..."}'
        )
    assert isinstance(data, dict)
    message = (message or "").replace("\x00", "")[:2000] or None
    try:
        storable(data)
    except ValueError:  # NUL, nested too deep…: keep what the action needs, not the rest
        data = {"status": verdict} | ({"message": message} if message else {})
    return verdict == "succeeded", data, message
