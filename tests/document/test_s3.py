"""Documents in S3-compatible storage, against moto's S3 server (the S3 wire protocol) run by
the tests on a loopback port, on both databases: upload, download and delete end to end, the
object sealed under the configured prefix, the orphan sweeper over a bucket, and an outage
(an endpoint refusing connections) answering 503 ``storage_unavailable`` with nothing stored.

Where moto differs from S3 and it could matter here: moto accepts any credentials and does
not check request signatures, so these tests cannot show a wrong key refused (S3 answers 403
AccessDenied, which the storage reports as ``storage_unavailable`` like any other failure).
LastModified is the time of the put on both, which is what the sweeper reads."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from enroll.document import sweeper
from tests.document.files import marker, pdf, png, upload
from tests.document.support import rows
from tests.support.server import Database, Server, Tenant, free_port, make_tenant, start_server

MOTO = Path(sys.executable).parent / "moto_server"
PREFIX = "enroll-test"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server in a process of its own; its endpoint URL once it says it listens
    (its output is read to the end meanwhile, into a log file)."""
    port = free_port()
    proc = subprocess.Popen(
        [str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    copier = threading.Thread(target=shutil.copyfileobj, args=(proc.stdout, log), daemon=True)
    try:
        for line in proc.stdout:  # until werkzeug says where it runs (or moto exits)
            log.write(line)
            if f"Running on http://127.0.0.1:{port}".encode() in line:
                break
        else:
            raise AssertionError("moto_server exited before it listened")
        copier.start()
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if copier.is_alive():
            copier.join(timeout=10)  # the pipe ends with the process
        proc.stdout.close()
        log.close()


def _client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)


def _s3_settings(bucket: str, endpoint: str) -> dict[str, Any]:
    return {
        "storage_url": f"s3://{bucket}/{PREFIX}",
        "s3_endpoint_url": endpoint,
        "s3_region": "us-east-1",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
        "storage_timeout_seconds": 5.0,
    }


@pytest.fixture(scope="module")
def bucket(moto: str) -> str:
    name = f"docs-{uuid.uuid4().hex[:12]}"
    _client(moto).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def s3_server(database: Database, platform_key: str, moto: str, bucket: str) -> Iterator[Server]:
    srv = start_server(database, **_s3_settings(bucket, moto))
    yield srv
    srv.stop()


@pytest.fixture
def s3_tenant(s3_server: Server) -> Iterator[Tenant]:
    t = make_tenant(s3_server, "S3")
    yield t
    t.client.close()


def _object(moto: str, bucket: str, key: str) -> bytes | None:
    try:
        answer = _client(moto).get_object(Bucket=bucket, Key=f"{PREFIX}/{key}")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchKey", exc.response
        return None
    body: bytes = answer["Body"].read()
    return body


def test_upload_download_delete_through_s3(s3_tenant: Tenant, moto: str, bucket: str) -> None:
    t = s3_tenant
    enrollment_id = t.enroll(t.instance()["id"])["id"]
    mark = marker()
    content = png(mark)
    r = upload(t.client, enrollment_id, content)
    assert r.status_code == 201, r.text
    document = r.json()
    key = f"documents/{t.id}/{document['id']}"
    stored = _object(moto, bucket, key)
    assert stored is not None and stored.startswith(b"EV1")
    assert mark not in stored and b"PNG" not in stored  # sealed at rest

    base = f"/v1/enrollments/{enrollment_id}/documents/{document['id']}"
    got = t.client.get(f"{base}/content")
    assert got.status_code == 200 and got.content == content
    assert got.headers["content-type"] == "image/png"
    assert upload(t.client, enrollment_id, content).status_code == 200  # the same bytes

    assert t.client.delete(base).status_code == 204
    assert _object(moto, bucket, key) is None
    assert t.client.get(f"/v1/enrollments/{enrollment_id}/documents").json() == {"data": []}


def test_the_sweeper_removes_orphans_from_the_bucket(
    s3_server: Server, s3_tenant: Tenant, moto: str, bucket: str
) -> None:
    t = s3_tenant
    enrollment_id = t.enroll(t.instance()["id"])["id"]
    kept = upload(t.client, enrollment_id, pdf(marker())).json()
    orphan = f"documents/{t.id}/doc_orphan{uuid.uuid4().hex[:8]}"
    _client(moto).put_object(Bucket=bucket, Key=f"{PREFIX}/{orphan}", Body=b"EV1 left over")
    ctx = s3_server.ctx

    async def sweep(hours: int) -> int:
        now = ctx.clock.now() + timedelta(hours=hours)
        return await sweeper.sweep(ctx.db, ctx.storage, now=now, grace=timedelta(hours=1))

    s3_server.on_loop(sweep(0))  # younger than the grace period: an upload may be under way
    assert _object(moto, bucket, orphan) is not None
    assert s3_server.on_loop(sweep(2)) >= 1
    assert _object(moto, bucket, orphan) is None
    assert _object(moto, bucket, f"documents/{t.id}/{kept['id']}") is not None


def test_an_outage_answers_503_and_stores_nothing(
    database: Database, s3_server: Server, s3_tenant: Tenant, bucket: str
) -> None:
    """The same database, its storage's endpoint refusing connections."""
    t = s3_tenant
    enrollment_id = t.enroll(t.instance()["id"])["id"]
    stored = upload(t.client, enrollment_id, pdf(marker())).json()
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    down = start_server(database, **_s3_settings(bucket, closed), storage_max_attempts=2)
    try:
        with down.client(t.key) as client:
            r = upload(client, enrollment_id, pdf(marker()))
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "storage_unavailable"
            assert "test" not in r.json()["detail"]  # no endpoint, no credentials
            content = client.get(
                f"/v1/enrollments/{enrollment_id}/documents/{stored['id']}/content"
            )
            assert content.status_code == 503 and content.json()["code"] == "storage_unavailable"
            listed = client.get(f"/v1/enrollments/{enrollment_id}/documents").json()["data"]
    finally:
        down.stop()
    assert [d["id"] for d in listed] == [stored["id"]]  # the refused upload left no row
    assert [row["id"] for row in rows(s3_server, t.id)] == [stored["id"]]
