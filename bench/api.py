"""Create- and get-enrollment throughput and latency, each beside a bare same-stack baseline.

    .venv/bin/python bench/api.py [--backend sqlite|postgresql|both] [--seconds N]
                                  [--concurrency 32] [--quick] [--rounds N]
                                  [--client raw|httpx] [--profile-dir DIR]

Prints ONE JSON document on stdout (progress goes to stderr). It is a measurement, not a test:
the exit status is 0 whether or not the targets are met.

What runs, per backend (a fresh SQLite file in a temp dir, or a fresh database
``enroll_bench_<random>`` on the server at ENROLL_BENCH_DATABASE_URL, dropped at the end):

* the real service, ``enroll serve`` in a subprocess (migrated with ``enroll migrate``, set up
  with ``enroll platform-key create`` / ``enroll workspace create`` and the public API);
* the baseline, a tiny FastAPI app defined below and served by ``uvicorn.run`` with the very
  arguments ``enroll serve`` uses, in its own subprocess. Its engine is ``enroll.db.Database``
  built from the same Settings, so driver, pool, SQLite pragmas, BEGIN IMMEDIATE and the write
  lock are identical. It does one Core INSERT of an enrollment-shaped row (into an unindexed
  copy of the enrollment table, primary key only, by default) or one SELECT by primary key of
  the enrollment table, with no auth, no validation and no service layer;
* the load generator: this process, on its own (uvloop) event loop, with ``--concurrency``
  keep-alive connections each driven by one worker. By default it speaks HTTP/1.1 over raw
  asyncio streams, because httpx costs enough CPU on a 2-core machine to steal it from the
  server; ``--client httpx`` uses httpx.AsyncClient instead. Its own CPU use is reported with
  every measurement so you can see whether it was the bottleneck.

Each measurement: a warm-up (not recorded), then a fixed window; rps counts the 2xx responses
that completed inside the window, latencies are those requests' times from write to last byte.
Order per backend: create_baseline, create (its ids feed the GETs), get_baseline, get; with
``--rounds N`` each pair is alternated N times, the median round is reported and the ratio is
the median of the rounds' ratios. Every result also carries the CPU of the server, of this
client and (PostgreSQL) of our database's backends, the CPU left to everything else on the
machine (``other_cpu_cores``: other jobs), ``server_cpu_ms_per_request`` and, per backend,
``{create,get}_cpu_ratio`` (baseline CPU/request over real CPU/request: what the throughput
ratio would be if both servers were CPU-bound on an idle machine; a cross-check when the
machine is noisy). ``pg_sessions_opened`` counts new PostgreSQL connections during the window
(pool overflow churn when --concurrency exceeds ENROLL_DB_POOL_SIZE).

Other options: ``--baseline-table enrollment`` inserts into the real, indexed enrollment table
instead of the copy; ``--embedded-worker`` runs the job worker inside ``enroll serve`` (off by
default because the baseline has none); ``--profile-dir DIR`` adds, after the measurements,
one unreported phase per endpoint with ``py-spy record --gil`` attached to its server (install
it with ``uv pip install --python .venv/bin/python py-spy``) and summarises where the samples go.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# At module level: the baseline endpoints' (postponed) annotations are resolved from here.
from fastapi import FastAPI, HTTPException, Request, Response

TARGET_CREATE_RATIO = 0.40
TARGET_GET_RATIO = 0.60
TARGET_P99_MS_POSTGRESQL = 50.0
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
BASELINE_PREFIX = "/baseline"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the baseline app (runs in its own process: `bench/api.py --serve-baseline PORT`) ---------


def baseline_app() -> FastAPI:
    """One INSERT or one SELECT by primary key, on the same engine the service builds."""
    from sqlalchemy import Column, MetaData, Table, insert, select

    from enroll.config import Settings
    from enroll.db import Database
    from enroll.ids import new_id
    from enroll.models import Enrollment

    settings = Settings()
    enrollment = Enrollment.__table__
    if os.environ.get("ENROLL_BENCH_BASELINE_TABLE", "copy") == "enrollment":
        target = enrollment
    else:  # same columns and types, primary key only: no secondary indexes, no foreign keys
        target = Table(
            "bench_enrollment_copy",
            MetaData(),
            *(
                Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
                for c in enrollment.columns
            ),
        )
    workspace_id = os.environ.get("ENROLL_BENCH_WORKSPACE_ID", "bench")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url, pool_size=settings.db_pool_size)
        if target is not enrollment:
            async with db.engine.begin() as conn:
                await conn.run_sync(target.metadata.create_all)
        app.state.db = db
        yield
        await db.dispose()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(BASELINE_PREFIX + "/programInstances/{instance_id}/enrollments", status_code=201)
    async def create(instance_id: str, request: Request, response: Response) -> dict[str, str]:
        body = await request.json()
        now = datetime.now(UTC)
        row = {
            "id": new_id(),
            "workspace_id": workspace_id,
            "program_instance_id": instance_id,
            "identification_type": body.get("identificationType", "customerInfo"),
            "first_name": body.get("firstName"),
            "last_name": body.get("lastName"),
            "email": body.get("email"),
            "phone": body.get("phone"),
            "address": body.get("address"),
            "manufacturer_slugs": body.get("manufacturerSlugs", []),
            "metadata": body.get("metadata", {}),
            "serial_number": body.get("serialNumber"),
            "reference_id": body.get("referenceId"),
            "reference_description": body.get("referenceDescription"),
            "tags": body.get("tags", []),
            "status": "candidate",
            "eligibility": {},
            "needs_review": False,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        async with request.app.state.db.transaction() as session:
            await session.execute(insert(target).values(row))
        response.headers["Location"] = f"{BASELINE_PREFIX}/enrollments/{row['id']}"
        return {"id": row["id"]}

    @app.get(BASELINE_PREFIX + "/enrollments/{enrollment_id}")
    async def get(enrollment_id: str, request: Request) -> dict[str, Any]:
        async with request.app.state.db.transaction(write=False) as session:
            stmt = select(enrollment).where(enrollment.c.id == enrollment_id)
            row = (await session.execute(stmt)).mappings().first()
        if row is None:
            raise HTTPException(404)
        return dict(row)

    return app


def serve_baseline(port: int) -> None:
    import uvicorn

    # Exactly the arguments of `enroll serve` (enroll/cli/main.py: _serve).
    uvicorn.run(baseline_app(), host=HOST, port=port, log_level="info", access_log=False)


# --- the load generator ----------------------------------------------------------------------


class RawHttp:
    """A keep-alive HTTP/1.1 connection over asyncio streams: the cheapest client available."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._headers = f"Host: {HOST}:{port}\r\n{extra}".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes | None
    ) -> tuple[int, str | None, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(HOST, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self._headers
        if body is not None:
            head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        writer.write(head + b"\r\n" + (body or b""))
        raw = await reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        length: int | None = None
        chunked = close = False
        location: str | None = None
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
            elif name == b"location":
                location = value.strip().decode()
        if length is not None:
            content = await reader.readexactly(length)
        elif chunked:
            content = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                content += (await reader.readexactly(size + 2))[:-2]
                if size == 0:
                    break
        else:
            content = await reader.read()
            close = True
        if close:
            await self.close()
        return status, location, content

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self._reader = self._writer = None


class HttpxHttp:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def request(
        self, method: str, path: str, body: bytes | None
    ) -> tuple[int, str | None, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else None
        r = await self.client.request(method, path, content=body, headers=headers)
        return r.status_code, r.headers.get("location"), r.content

    async def close(self) -> None:
        pass


@dataclasses.dataclass
class Op:
    """What one request looks like; ``on_success`` sees the Location header of 2xx answers."""

    method: str
    next_path_and_body: Callable[[], tuple[str, bytes | None]]
    on_success: Callable[[str | None], None] = lambda _location: None


def _cpu_ticks(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each local PostgreSQL backend serving ``database`` (by process title)."""
    marker = f" {database} ".encode()
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker in (entry / "cmdline").read_bytes():
                    found[int(entry.name)] = _cpu_ticks(int(entry.name))
    return found


@dataclasses.dataclass
class PgProbe:
    """Our database on the PostgreSQL server: its backends' CPU, and sessions opened."""

    admin_url: str
    database: str

    async def sessions(self) -> int | None:
        import asyncpg

        try:
            conn = await asyncpg.connect(self.admin_url)
        except (OSError, asyncpg.PostgresError):
            return None
        try:
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            value = await conn.fetchval(
                "SELECT sessions FROM pg_stat_database WHERE datname = $1", self.database
            )
            return int(value) if value is not None else None
        finally:
            await conn.close()


def _system_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


@dataclasses.dataclass
class Probe:
    wall: float
    client: float
    server: float
    postgres: dict[int, float]
    busy: float
    total: float

    @classmethod
    def take(cls, server_pid: int, pg: PgProbe | None) -> Probe:
        busy, total = _system_busy()
        return cls(
            time.monotonic(),
            time.process_time(),
            _cpu_ticks(server_pid),
            _backend_cpu(pg.database) if pg else {},
            busy,
            total,
        )


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


async def _drive(
    *,
    port: int,
    auth: str | None,
    op: Op,
    concurrency: int,
    warmup: float,
    seconds: float,
    client_kind: str,
    server_pid: int,
    pg: PgProbe | None,
    on_window_start: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {auth}"} if auth else {}
    httpx_client = None
    if client_kind == "httpx":
        import httpx

        httpx_client = httpx.AsyncClient(
            base_url=f"http://{HOST}:{port}",
            headers=headers,
            timeout=60.0,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        conns: list[Any] = [HttpxHttp(httpx_client) for _ in range(concurrency)]
    else:
        conns = [RawHttp(port, headers) for _ in range(concurrency)]

    start = time.perf_counter()
    window_start = start + warmup
    window_end = window_start + seconds
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    error_samples: list[str] = []

    async def worker(conn: Any) -> None:
        while True:
            path, body = op.next_path_and_body()
            t0 = time.perf_counter()
            if t0 >= window_end:
                return
            try:
                status, location, content = await conn.request(op.method, path, body)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                failures[type(exc).__name__] += 1
                await conn.close()
                await asyncio.sleep(0.01)
                continue
            t1 = time.perf_counter()
            if 200 <= status < 300:
                op.on_success(location)
            elif not error_samples:
                error_samples.append(f"{status} {content[:300].decode(errors='replace')}")
            if window_start <= t1 < window_end:
                latencies.append(t1 - t0)
                statuses[status] += 1

    sessions: list[int | None] = []

    async def probes() -> tuple[Probe, Probe]:
        await asyncio.sleep(max(0.0, window_start - time.perf_counter() - 0.3))
        if pg:
            sessions.append(await pg.sessions())
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        first = Probe.take(server_pid, pg)
        on_window_start()
        await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
        last = Probe.take(server_pid, pg)
        if pg:
            sessions.append(await pg.sessions())
        return first, last

    probe_task = asyncio.create_task(probes())
    await asyncio.gather(*(worker(c) for c in conns))
    first, last = await probe_task
    for c in conns:
        await c.close()
    if httpx_client is not None:
        await httpx_client.aclose()

    wall = last.wall - first.wall
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    latencies.sort()
    result: dict[str, Any] = {
        "rps": round(ok / seconds, 1),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "requests": sum(statuses.values()),
        "errors": sum(statuses.values()) - ok + sum(failures.values()),
        # CPU used during the window, in cores (1.0 = one core busy all the time).
        "server_cpu_cores": round((last.server - first.server) / wall, 2),
        # Server CPU per answered request: steadier than rps when other jobs share the CPUs.
        "server_cpu_ms_per_request": round(1000 * (last.server - first.server) / ok, 3)
        if ok
        else None,
        "client_cpu_cores": round((last.client - first.client) / wall, 2),
        "system_cpu_busy_pct": round(
            100 * (last.busy - first.busy) / max(1.0, last.total - first.total), 1
        ),
    }
    busy_cores = (os.cpu_count() or 1) * result["system_cpu_busy_pct"] / 100
    if pg:
        # Backends still alive at the end of the window; ones that exited meanwhile are missed.
        used = sum(cpu - first.postgres.get(pid, 0.0) for pid, cpu in last.postgres.items())
        result["postgres_backend_cpu_cores"] = round(used / wall, 2)
        if None not in sessions and len(sessions) == 2:
            # New connections the server opened (pool churn), as PostgreSQL counts them.
            result["pg_sessions_opened"] = int(sessions[1] or 0) - int(sessions[0] or 0)
    accounted = sum(
        result.get(k, 0.0)
        for k in ("server_cpu_cores", "client_cpu_cores", "postgres_backend_cpu_cores")
    )
    # Everything else on the machine (other jobs, PostgreSQL's shared processes, the kernel).
    result["other_cpu_cores"] = round(max(0.0, busy_cores - accounted), 2)
    if sum(statuses.values()) != ok:
        result["statuses"] = {str(s): n for s, n in sorted(statuses.items())}
    if failures:
        result["client_failures"] = dict(failures)
    if error_samples:
        result["error_sample"] = error_samples[0]
    return result


def measure(**kwargs: Any) -> dict[str, Any]:
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(_drive(**kwargs))


# --- servers and setup -----------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def run_cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "enroll.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"enroll {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout))


@dataclasses.dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the benchmark dies without cleaning up (Linux only)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # so SIGTERM also stops the servers and drops the database


def start_server(name: str, cmd: list[str], env: dict[str, str], port: int, logs: Path) -> Server:
    import httpx

    log_path = logs / f"{name}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
    server = Server(name, port, process, log_path)
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200:
                return server
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{name} did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)


@contextlib.contextmanager
def fresh_database(backend: str, workdir: Path) -> Iterator[tuple[str, str, PgProbe | None]]:
    """Yield (database URL, description, probe); the database is gone afterwards."""
    if backend == "sqlite":
        path = workdir / "enroll_bench.sqlite"
        yield f"sqlite:///{path}", f"fresh file {path}", None
        return
    import asyncpg

    admin_url = os.environ.get("ENROLL_BENCH_DATABASE_URL", DEFAULT_PG_URL)
    name = f"enroll_bench_{secrets.token_hex(6)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    parts = urllib.parse.urlsplit(admin_url)
    try:
        url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
        yield url, f"fresh database {name}", PgProbe(admin_url, name)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def setup_tenant(real: Server, env: dict[str, str]) -> tuple[str, str, str]:
    """A workspace key, its workspace id and an active instance of an NY/NJ Tesla program."""
    import httpx

    platform_key = run_cli(env, "platform-key", "create", "--name", "bench")["apiKey"]
    created = run_cli(env, "workspace", "create", "Bench")
    key, workspace_id = created["apiKey"], created["workspace"]["id"]
    base = f"http://{HOST}:{real.port}"
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.post(
            "/v1/programs",
            headers={"Authorization": f"Bearer {platform_key}"},
            json={
                "slug": "bench-program",
                "name": "Bench program",
                "type": "demand_response",
                "states": ["NY", "NJ"],
                "manufacturerSlugs": ["tesla", "enphase"],
            },
        )
        r.raise_for_status()
        r = client.post(
            "/v1/programInstances",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "programSlug": "bench-program",
                "slug": f"bench-{secrets.token_hex(4)}",
                "name": "Bench instance",
                "status": "active",
            },
        )
        r.raise_for_status()
        return key, workspace_id, str(r.json()["id"])


def create_body_factory(prefix: str) -> Callable[[], bytes]:
    """A realistic customerInfo body with a unique email (and name, serial) every call."""
    run = secrets.token_hex(3)
    counter = iter(range(1, 1 << 62))
    template = json.dumps(
        {
            "identificationType": "customerInfo",
            "firstName": "Pat",
            "lastName": "Doe-@N@",
            "email": f"pat.{prefix}.{run}.@N@@example.com",
            "phone": "+1 518 555 0100",
            "address": {
                "streetOne": "@N@ Main Street",
                "streetTwo": "Apt 2",
                "city": "Albany",
                "state": "NY",
                "postalCode": "12207",
                "country": "US",
            },
            "manufacturerSlugs": ["tesla"],
            "serialNumber": "SN-@N@",
            "referenceId": "REF-@N@",
            "referenceDescription": "Signed up at the spring home energy fair.",
            "tags": ["bench", "spring-fair"],
            "metadata": {"source": "bench", "utilityAccount": "ACCT-@N@", "batteryKwh": 13.5},
        },
        separators=(",", ":"),
    )
    head, *rest = template.split("@N@")
    parts = [p.encode() for p in rest]

    def make() -> bytes:
        n = str(next(counter)).encode()
        return head.encode() + b"".join(n + p for p in parts)

    return make


# --- profiling -------------------------------------------------------------------------------


def summarize_profile(path: Path, top: int = 15) -> dict[str, Any]:
    """Where the GIL-holding samples of a py-spy ``--format raw`` file go.

    Self time by package and by function, and inclusive time of the service's own functions.
    """
    self_time: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";")]
        self_time[frames[-1]] += n
        by_package[_package(frames[-1])] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return {"samples": 0}

    def pct(counter: Counter[str], keep: Callable[[str], bool]) -> list[str]:
        rows = [(k, v) for k, v in counter.most_common() if keep(k)][:top]
        return [f"{100 * v / total:5.1f}%  {k}" for k, v in rows]

    return {
        "samples": total,
        "self_by_package": pct(by_package, lambda _k: True),
        "top_self": pct(self_time, lambda _k: True),
        "top_inclusive_enroll": pct(inclusive, lambda k: "enroll/" in k and "enroll/cli/" not in k),
    }


def _package(frame: str) -> str:
    where = frame.rpartition(" (")[2].rstrip(")")
    return where.split("/", 1)[0] if "/" in where else where or "?"


def _short(frame: str) -> str:
    """'func (/x/site-packages/pkg/mod.py:12)' -> 'func (pkg/mod.py)'."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})" if where else name


# --- one backend -----------------------------------------------------------------------------


def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"enroll_bench_{backend}_"))
    servers: list[Server] = []
    try:
        with fresh_database(backend, workdir) as (url, description, pg):
            env = os.environ | {
                "ENROLL_DATABASE_URL": url,
                "ENROLL_EMBEDDED_WORKER": "true" if args.embedded_worker else "false",
                "PYTHONUNBUFFERED": "1",
            }
            log(f"{backend}: {description}; migrating")
            run_cli(env, "migrate")
            real_port, base_port = free_port(), free_port()
            real = start_server(
                "enroll-serve",
                [
                    sys.executable,
                    "-m",
                    "enroll.cli.main",
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(real_port),
                ],
                env,
                real_port,
                workdir,
            )
            servers.append(real)
            key, workspace_id, instance_id = setup_tenant(real, env)
            baseline = start_server(
                "baseline",
                [sys.executable, str(Path(__file__).resolve()), "--serve-baseline", str(base_port)],
                env
                | {
                    "ENROLL_BENCH_WORKSPACE_ID": workspace_id,
                    "ENROLL_BENCH_BASELINE_TABLE": args.baseline_table,
                },
                base_port,
                workdir,
            )
            servers.append(baseline)
            return run_measurements(backend, args, real, baseline, key, instance_id, pg) | {
                "database": description,
            }
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run_measurements(
    backend: str,
    args: argparse.Namespace,
    real: Server,
    baseline: Server,
    key: str,
    instance_id: str,
    pg: PgProbe | None,
) -> dict[str, Any]:
    make_body = create_body_factory(backend)
    created: list[str] = []

    def remember(location: str | None) -> None:
        if location:
            created.append(location.rsplit("/", 1)[1])

    def creating(prefix: str, remember_ids: bool) -> Op:
        path = f"{prefix}/programInstances/{instance_id}/enrollments"
        on_success = remember if remember_ids else lambda _location: None
        return Op("POST", lambda: (path, make_body()), on_success)

    def getting(prefix: str) -> Op:
        ids = created
        return Op("GET", lambda: (f"{prefix}/enrollments/{random.choice(ids)}", None))

    ops: dict[str, tuple[Server, str | None, Callable[[], Op]]] = {
        "create_baseline": (baseline, None, lambda: creating(BASELINE_PREFIX, False)),
        "create": (real, key, lambda: creating("/v1", True)),
        "get_baseline": (baseline, None, lambda: getting(BASELINE_PREFIX)),
        "get": (real, key, lambda: getting("/v1")),
    }

    def run(name: str, **extra: Any) -> dict[str, Any]:
        server, auth, make_op = ops[name]
        return measure(
            port=server.port,
            auth=auth,
            op=make_op(),
            concurrency=args.concurrency,
            warmup=args.warmup,
            seconds=args.seconds,
            client_kind=args.client,
            server_pid=server.pid,
            pg=pg,
            **extra,
        )

    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in ops}
    for group in (("create_baseline", "create"), ("get_baseline", "get")):
        for i in range(args.rounds):
            for name in group:
                if name.startswith("get") and len(created) < 50:
                    raise RuntimeError(f"only {len(created)} enrollments were created; cannot GET")
                log(
                    f"{backend}: {name} (round {i + 1}/{args.rounds}, "
                    f"{args.warmup:g}s warm-up + {args.seconds:g}s)"
                )
                result = run(name)
                log(
                    f"{backend}: {name}: {result['rps']} rps, p50 {result['p50_ms']} ms, "
                    f"p99 {result['p99_ms']} ms, server {result['server_cpu_cores']} cores, "
                    f"client {result['client_cpu_cores']} cores, errors {result['errors']}"
                )
                rounds[name].append(result)

    def median_round(results: list[dict[str, Any]]) -> dict[str, Any]:
        chosen = sorted(results, key=lambda r: r["rps"])[len(results) // 2]
        return chosen | {"rounds_rps": [r["rps"] for r in results]} if len(results) > 1 else chosen

    out: dict[str, Any] = {}
    for op in ("create", "get"):
        out[op] = median_round(rounds[op])
        out[f"{op}_baseline"] = median_round(rounds[f"{op}_baseline"])
        # Each round measures the baseline and the real endpoint back to back; the ratio is the
        # median of the rounds' ratios, which resists drifting load from other jobs best.
        pairs = [
            _ratio(r["rps"], b["rps"])
            for r, b in zip(rounds[op], rounds[f"{op}_baseline"], strict=True)
        ]
        out[f"{op}_ratio"] = round(statistics.median(pairs), 3)
        if len(pairs) > 1:
            out[f"{op}_ratio_rounds"] = pairs
        # The ratio to expect if both servers were CPU-bound on a machine of their own:
        # baseline CPU per request / real CPU per request. Not a target, a noise check.
        cpu = [
            _ratio(b["server_cpu_ms_per_request"] or 0.0, r["server_cpu_ms_per_request"] or 0.0)
            for r, b in zip(rounds[op], rounds[f"{op}_baseline"], strict=True)
        ]
        out[f"{op}_cpu_ratio"] = round(statistics.median(cpu), 3)
    met: dict[str, bool] = {
        "create_ratio_ge_40pct": out["create_ratio"] >= TARGET_CREATE_RATIO,
        "get_ratio_ge_60pct": out["get_ratio"] >= TARGET_GET_RATIO,
    }
    if backend == "postgresql":
        met["create_p99_under_50ms"] = out["create"]["p99_ms"] < TARGET_P99_MS_POSTGRESQL
        met["get_p99_under_50ms"] = out["get"]["p99_ms"] < TARGET_P99_MS_POSTGRESQL
    out["targets_met"] = met
    out["all_targets_met"] = all(met.values())
    out["enrollments_created"] = len(created)

    if args.profile_dir:
        out["profile"] = profile_phases(backend, args, run, ops)
    return out


def _ratio(value: float, base: float) -> float:
    return round(value / base, 3) if base else 0.0


def profile_phases(
    backend: str,
    args: argparse.Namespace,
    run: Callable[..., dict[str, Any]],
    ops: dict[str, tuple[Server, str | None, Callable[[], Op]]],
) -> dict[str, Any]:
    """Extra, unreported phases with py-spy attached to the server (it slows the server)."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        return {"error": "py-spy not found (.venv/bin/pip install py-spy)"}
    directory = Path(args.profile_dir)
    directory.mkdir(parents=True, exist_ok=True)
    summaries: dict[str, Any] = {}
    for name, (server, _auth, _make) in ops.items():
        path = directory / f"{backend}-{name}.collapsed.txt"
        holder: list[subprocess.Popen[bytes]] = []

        def attach(pid: int = server.pid, out: Path = path, holder: list[Any] = holder) -> None:
            holder.append(
                subprocess.Popen(
                    [
                        py_spy,
                        "record",
                        "--pid",
                        str(pid),
                        "--duration",
                        str(max(1, int(args.seconds))),
                        "--rate",
                        "200",
                        "--gil",
                        "--format",
                        "raw",
                        "--output",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

        log(f"{backend}: profiling {name} with py-spy")
        result = run(name, on_window_start=attach)
        for proc in holder:
            proc.wait(timeout=args.seconds + 30)
        summaries[name] = {
            "file": str(path),
            "rps_while_profiled": result["rps"],
        } | (summarize_profile(path) if path.exists() else {"error": "no profile written"})
    return summaries


# --- main ------------------------------------------------------------------------------------


def environment(args: argparse.Namespace) -> dict[str, Any]:
    import fastapi
    import sqlalchemy
    import uvicorn

    from enroll.config import Settings

    def has(module: str) -> bool:
        try:
            __import__(module)
        except ImportError:
            return False
        return True

    cpus = os.cpu_count() or 0
    settings = Settings()
    target = (
        "the enrollment table (all its indexes and foreign keys)"
        if args.baseline_table == "enrollment"
        else "an unindexed copy of the enrollment table (primary key only)"
    )
    return {
        "cpus": cpus,
        "cpu_note": (
            f"{cpus} CPU cores shared by the load generator, the server under test and the "
            "database (and anything else running: other jobs on this machine may add noise, "
            "see system_cpu_busy_pct beside each result)"
        ),
        "loadavg_at_start": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "uvicorn": uvicorn.__version__,
        "uvloop": has("uvloop"),
        "httptools": has("httptools"),
        "fastapi": fastapi.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "db_pool_size": settings.db_pool_size,
        "embedded_worker": args.embedded_worker,
        "server": "one uvicorn process per app, loop=auto http=auto access_log=False "
        "(the arguments of `enroll serve`)",
        "baseline": f"Core INSERT into {target}; SELECT enrollment by primary key; the same "
        "enroll.db.Database engine, no auth, no validation, no service layer",
        "client": f"{args.client} HTTP/1.1 keep-alive, {args.concurrency} connections, one worker "
        f"per connection, {'uvloop' if has('uvloop') else 'asyncio'} loop",
        "concurrency": args.concurrency,
        "warmup_seconds": args.warmup,
        "seconds": args.seconds,
        "rounds": args.rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=None, help="measured window (10)")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up before each (3)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="2 s windows, 1 s warm-up")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternate baseline/real this many times; report the median round",
    )
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--baseline-table", choices=["copy", "enrollment"], default="copy")
    parser.add_argument(
        "--embedded-worker",
        action="store_true",
        help="run the job worker inside `enroll serve` (off by default: the baseline has none)",
    )
    parser.add_argument("--profile-dir", help="also profile every phase with py-spy into DIR")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return
    if args.seconds is None:
        args.seconds = 2.0 if args.quick else 10.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 3.0

    signal.signal(signal.SIGTERM, _interrupt)
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    report: dict[str, Any] = {
        "benchmark": "enroll create/get enrollment vs same-stack baseline",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(args),
        "targets": {
            "create_ratio_min": TARGET_CREATE_RATIO,
            "get_ratio_min": TARGET_GET_RATIO,
            "p99_ms_max_postgresql": TARGET_P99_MS_POSTGRESQL,
        },
        "backends": {},
    }
    for backend in backends:
        try:
            report["backends"][backend] = bench_backend(backend, args)
        except Exception as exc:  # report it and carry on with the other backend
            log(f"{backend}: failed: {exc}")
            report["backends"][backend] = {"error": f"{type(exc).__name__}: {exc}"}
    report["all_targets_met"] = all(
        b.get("all_targets_met", False) for b in report["backends"].values()
    )
    report["loadavg_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # the servers are stopped and the database dropped by now
        log("interrupted")
        sys.exit(130)
