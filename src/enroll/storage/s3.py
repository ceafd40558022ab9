"""Objects in an S3-compatible bucket (``s3://bucket/prefix``): AWS, MinIO, Ceph, moto…

boto3 is synchronous: every call runs in a thread. The client is made on first use (a process
that never stores a document never builds one), with short timeouts and a bounded number of
attempts (botocore's ``standard`` retry mode), so an outage answers 503 within seconds rather
than holding the request. Credentials come from the settings when given, else from boto3's own
chain (environment, shared files, instance or task role). A custom endpoint is addressed by
path (``endpoint/bucket/key``), which every S3-compatible server understands.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from enroll.storage.base import ObjectStorage, StoredObject, check_key, check_prefix
from enroll.storage.errors import UNAVAILABLE, ObjectMissing, StorageUnavailable

log = logging.getLogger("enroll.storage")
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_PAGE = 1000


class S3Storage(ObjectStorage):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        timeout_seconds: float = 10.0,
        max_attempts: int = 3,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix)
        self._options: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            "config": Config(
                connect_timeout=timeout_seconds,
                read_timeout=timeout_seconds,
                retries={"total_max_attempts": max(1, max_attempts), "mode": "standard"},
                s3={"addressing_style": "path"} if endpoint_url else None,
            ),
        }
        if access_key_id or secret_access_key:
            self._options |= {
                "aws_access_key_id": access_key_id,
                "aws_secret_access_key": secret_access_key,
            }
        self._endpoint = endpoint_url
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}"
        return f"{where} at {self._endpoint}" if self._endpoint else where

    def _s3(self) -> Any:
        """The client (thread-safe once made), made once."""
        with self._lock:
            if self._client is None:
                self._client = boto3.session.Session().client("s3", **self._options)
            return self._client

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, data: bytes) -> None:
        name = self._key(key)
        await self._call(
            "write", lambda: self._s3().put_object(Bucket=self.bucket, Key=name, Body=data)
        )

    async def get(self, key: str) -> bytes:
        name = self._key(key)

        def read() -> bytes:
            answer = self._s3().get_object(Bucket=self.bucket, Key=name)
            body: bytes = answer["Body"].read()
            return body

        try:
            result: bytes = await self._call("read", read)
        except ObjectMissing:
            raise ObjectMissing(key) from None
        return result

    async def delete(self, key: str) -> None:
        name = self._key(key)
        await self._call("delete", lambda: self._s3().delete_object(Bucket=self.bucket, Key=name))

    async def list(self, prefix: str) -> AsyncIterator[StoredObject]:
        check_prefix(prefix)
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        token: str | None = None
        while True:
            page = await self._call("list", functools.partial(self._page, full, token))
            for item in page.get("Contents", []):
                modified = item["LastModified"].astimezone(UTC)
                yield StoredObject(key=item["Key"][strip:], modified=modified)
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def _page(self, prefix: str, token: str | None) -> Any:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": _PAGE}
        if token:
            kwargs["ContinuationToken"] = token
        return self._s3().list_objects_v2(**kwargs)

    async def _call(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return await asyncio.to_thread(call)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise ObjectMissing(what) from None
            raise self._unavailable(what, exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(what, exc) from exc

    def _unavailable(self, what: str, exc: Exception) -> StorageUnavailable:
        log.warning("S3 storage %s: cannot %s: %s", self.location, what, exc)
        return StorageUnavailable(UNAVAILABLE)
