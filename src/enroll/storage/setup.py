"""The storage a process uses, from its settings (``ENROLL_STORAGE_URL`` and the S3 ones)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from enroll.config import Settings
from enroll.storage.base import ObjectStorage
from enroll.storage.files import FileStorage


class StorageSettingError(ValueError):
    """An ``ENROLL_STORAGE_URL`` that names no storage this service can use."""


def default_storage_url(settings: Settings) -> str:
    """A folder beside the SQLite database (``<db path>.files/``), else ``./enroll-files/``."""
    url = settings.database_url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        database = Path(url.removeprefix("sqlite:///"))
        return (database.parent / f"{database.name}.files").resolve().as_uri()
    return Path("enroll-files").resolve().as_uri()


def storage_from_settings(settings: Settings) -> ObjectStorage:
    url = settings.storage_url or default_storage_url(settings)
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
        if parts.netloc not in ("", "localhost") or not path.is_absolute():
            raise StorageSettingError("ENROLL_STORAGE_URL: write file:///an/absolute/path")
        return FileStorage(path)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise StorageSettingError("ENROLL_STORAGE_URL: write s3://bucket or s3://bucket/prefix")
        from enroll.storage.s3 import S3Storage  # boto3 takes half a second to import: on need

        secret = settings.s3_secret_access_key
        return S3Storage(
            parts.netloc,
            unquote(parts.path).strip("/"),
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            timeout_seconds=settings.storage_timeout_seconds,
            max_attempts=settings.storage_max_attempts,
        )
    raise StorageSettingError("ENROLL_STORAGE_URL: use file:///absolute/path or s3://bucket/prefix")
