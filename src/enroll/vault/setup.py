"""The key ring a process uses, from its settings."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from enroll.config import Settings
from enroll.vault.keyring import KeyRing, KeyRingError, new_key_spec

log = logging.getLogger(__name__)


def development_key_path(settings: Settings) -> Path:
    if settings.data_key_file:
        return Path(settings.data_key_file)
    url = settings.database_url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///") + ".datakey")
    return Path("enroll.datakey")


def keyring_from_settings(settings: Settings) -> KeyRing:
    """``ENROLL_DATA_KEY``; in development without one, a key generated once into a file (the
    demo's data must open again after a restart). Production refuses to start without one."""
    if settings.data_key is not None:
        return KeyRing.parse(settings.data_key.get_secret_value())
    if settings.environment == "production":
        raise KeyRingError(
            "ENROLL_DATA_KEY is required in production: generate one with `enroll keys new`"
        )
    path = development_key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two processes starting together keep the first one's key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(new_key_spec("dev1") + "\n")
            log.warning("generated a development data key in %s (not for production)", path)
    return KeyRing.parse(path.read_text())
