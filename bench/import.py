"""Bulk import end to end, beside a raw load of the same file measured in the same run.

    .venv/bin/python bench/import.py [--rows 1000000] [--backend postgresql|sqlite|both]
                                     [--events/--no-events] [--reevaluate/--no-reevaluate]

Prints ONE JSON document on stdout (progress on stderr); a measurement, not a test.

Per backend (a fresh SQLite file, or a fresh database on ENROLL_BENCH_DATABASE_URL):
* a synthetic candidate file (CSV: names, emails, US addresses across states, manufacturer
  lists, tags, metadata) of ``--rows`` rows, ~1 % of them duplicates;
* baseline: PostgreSQL ``COPY … FROM STDIN (FORMAT csv, HEADER)`` of the file into an
  unindexed table of text columns; SQLite: ``executemany`` of the parsed rows into a bare
  table;
* the import: ``enroll import enrollments`` in a subprocess (the real pipeline: validation,
  dedupe, customers, set-based evaluation of 5 criteria, history, events), its wall time and
  peak RSS (``ru_maxrss`` of the child);
* then (``--reevaluate``) a criteria change and ``POST …/reevaluations`` with ``force``,
  timed (PostgreSQL: target ≤ 30 s for 1M enrollments).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
STATES = ["NY", "NJ", "MA", "CT", "PA", "CA", "TX", "FL", "IL", "WA"]
MAKERS = ["tesla", "enphase", "lg", "sonnen", "generac", "solaredge"]
FIRST = ["Ann", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ida", "Jo", "Kim", "Lu", "Max"]
LAST = ["Lee", "Ng", "Diaz", "Khan", "Smith", "Ito", "Rossi", "Berg", "Novak", "Okafor"]
STREETS = ["Main St", "Elm St", "Oak Ave", "Pine Rd", "Cedar Ln", "Maple Dr", "Lake Blvd"]
HEADER = [
    "firstName",
    "lastName",
    "email",
    "phone",
    "address.streetOne",
    "address.city",
    "address.state",
    "address.postalCode",
    "manufacturerSlugs",
    "tags",
    "referenceId",
    "metadata.income",
    "metadata.homeType",
]
CRITERIA = [
    {
        "id": "income",
        "reason": "Income too high",
        "rule": {"<": [{"var": "metadata.income"}, 150000]},
    },
    {
        "id": "single-family",
        "reason": "Not a single-family home",
        "rule": {"in": [{"var": "metadata.homeType"}, ["single_family", "townhouse"]]},
    },
    {
        "id": "not-opted-out",
        "reason": "Opted out",
        "rule": {"!": {"in": ["opt-out", {"var": "tags"}]}},
    },
]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def generate(path: Path, rows: int, seed: int = 7) -> int:
    rnd = random.Random(seed)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i in range(rows):
            n = i if rnd.random() > 0.01 or i == 0 else rnd.randrange(i)  # ~1 % repeats
            first, last = FIRST[n % len(FIRST)], f"{LAST[n % len(LAST)]}{n}"
            out.writerow(
                [
                    first,
                    last,
                    f"{first.lower()}.{last.lower()}@example.com",
                    f"+1555{n % 10_000_000:07d}",
                    f"{n % 9999 + 1} {STREETS[n % len(STREETS)]}",
                    "Springfield",
                    STATES[n % len(STATES)],
                    f"{10000 + n % 89999}",
                    "|".join(rnd.sample(MAKERS, rnd.randint(0, 2))),
                    "|".join(["opt-out"] if rnd.random() < 0.05 else ["lead"]),
                    f"ref-{n}",
                    str(rnd.randrange(20_000, 250_000)),
                    rnd.choice(["single_family", "townhouse", "apartment"]),
                ]
            )
    return path.stat().st_size


async def pg_copy_baseline(url: str, path: Path) -> float:
    conn = await asyncpg.connect(url)
    try:
        cols = ", ".join(f'"c{i}" text' for i in range(len(HEADER)))
        await conn.execute(f"DROP TABLE IF EXISTS bench_copy; CREATE TABLE bench_copy ({cols})")
        started = time.perf_counter()
        with path.open("rb") as f:
            await conn.copy_to_table("bench_copy", source=f, format="csv", header=True)
        return time.perf_counter() - started
    finally:
        await conn.execute("DROP TABLE IF EXISTS bench_copy")
        await conn.close()


def sqlite_baseline(db: Path, path: Path) -> float:
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        cols = ", ".join(f"c{i} TEXT" for i in range(len(HEADER)))
        conn.execute(f"CREATE TABLE bench_insert ({cols})")
        started = time.perf_counter()
        with path.open(newline="") as f:
            reader = csv.reader(f)
            next(reader)
            marks = ", ".join("?" * len(HEADER))
            conn.executemany(f"INSERT INTO bench_insert VALUES ({marks})", reader)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_insert")
        conn.commit()
        return seconds
    finally:
        conn.close()


def cli(env: dict[str, str], *args: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "enroll.cli.main", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def setup(env: dict[str, str], slug: str) -> tuple[str, str]:
    """A program (NY/NJ/MA/CT/PA; tesla/enphase/lg) and an active instance with 3 criteria."""
    import httpx

    cli(env, "migrate")
    platform = cli(env, "platform-key", "create")["apiKey"]
    ws = cli(env, "workspace", "create", "bench")
    from enroll.app import create_app
    from enroll.config import Settings

    app = create_app(Settings(database_url=env["ENROLL_DATABASE_URL"], embedded_worker=False))

    async def go() -> str:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        ):
            r = await client.post(
                "/v1/programs",
                headers={"Authorization": f"Bearer {platform}"},
                json={
                    "slug": f"p-{slug}",
                    "name": "Bench",
                    "type": "grid_services",
                    "states": STATES[:5],
                    "manufacturerSlugs": MAKERS[:3],
                },
            )
            assert r.status_code == 201, r.text
            r = await client.post(
                "/v1/programInstances",
                headers={"Authorization": f"Bearer {ws['apiKey']}"},
                json={
                    "programSlug": f"p-{slug}",
                    "slug": f"i-{slug}",
                    "name": "Bench",
                    "status": "active",
                    "eligibilityCriteria": CRITERIA,
                },
            )
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

    return asyncio.run(go()), ws["apiKey"]


def run_import(env: dict[str, str], instance: str, path: Path, events: bool) -> dict[str, Any]:
    args = [
        sys.executable,
        "-m",
        "enroll.cli.main",
        "import",
        "enrollments",
        "--program-instance",
        instance,
        str(path),
        "--no-progress",
    ]
    if not events:
        args.append("--no-events")
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise RuntimeError(f"import failed: {out}\n{err[-3000:]}")
    result = json.loads(out)
    return {
        "seconds": round(seconds, 2),
        "rows_per_second": round(result["counts"]["rows"] / seconds),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "counts": result["counts"],
        "status": result["status"],
    }


def reevaluate(env: dict[str, str], instance: str, key: str) -> dict[str, Any]:
    import httpx

    from enroll.app import create_app
    from enroll.config import Settings

    app = create_app(Settings(database_url=env["ENROLL_DATABASE_URL"], embedded_worker=True))

    async def go() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client,
        ):
            changed = [dict(CRITERIA[0], rule={"<": [{"var": "metadata.income"}, 100000]})]
            r = await client.patch(
                f"/v1/programInstances/{instance}",
                headers=headers,
                json={"eligibilityCriteria": changed + CRITERIA[1:]},
            )
            assert r.status_code == 200, r.text
            started = time.perf_counter()
            r = await client.post(
                f"/v1/programInstances/{instance}/reevaluations",
                headers=headers,
                json={"force": True, "sampleSize": 3},
            )
            assert r.status_code == 202, r.text
            run = r.json()  # a job: the app's embedded worker runs it
            while run["status"] not in ("completed", "failed"):
                await asyncio.sleep(0.2)
                run = (await client.get(r.headers["location"], headers=headers)).json()
            seconds = time.perf_counter() - started
            assert run["status"] == "completed", run
            body = run["report"]
            return {
                "seconds": round(seconds, 2),
                "evaluated": body["evaluated"],
                "changed": body["changed"],
                "moves": [(m["from"], m["to"], m["count"]) for m in body["moves"]],
            }

    return asyncio.run(go())


def bench_backend(backend: str, args: argparse.Namespace, work: Path, path: Path) -> dict[str, Any]:
    slug = uuid.uuid4().hex[:8]
    out: dict[str, Any] = {}
    admin = None
    if backend == "postgresql":
        admin = os.environ.get("ENROLL_BENCH_DATABASE_URL", DEFAULT_PG)
        name = f"enroll_bench_{slug}"
        asyncio.run(_pg(admin, f'CREATE DATABASE "{name}"'))
        url = f"{admin.rsplit('/', 1)[0]}/{name}"
    else:
        url = f"sqlite:///{work / f'bench-{slug}.sqlite'}"
    env = os.environ | {"ENROLL_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    try:
        instance, key = setup(env, slug)
        log(f"{backend}: baseline")
        if backend == "postgresql":
            base = asyncio.run(pg_copy_baseline(url, path))
            kind = "COPY into an unindexed text table"
            out["baseline"] = {"kind": kind, "seconds": round(base, 2)}
        else:
            base = sqlite_baseline(work / f"bench-{slug}.sqlite", path)
            out["baseline"] = {"kind": "executemany into a bare table", "seconds": round(base, 2)}
        out["baseline"]["rows_per_second"] = round(args.rows / base)
        log(f"{backend}: import ({out['baseline']['seconds']} s baseline)")
        out["import"] = run_import(env, instance, path, events=args.events)
        out["ratio_to_baseline"] = round(out["import"]["seconds"] / base, 2)
        log(f"{backend}: import {out['import']['seconds']} s")
        if args.reevaluate:
            out["reevaluation"] = reevaluate(env, instance, key)
            log(f"{backend}: reevaluation {out['reevaluation']['seconds']} s")
    finally:
        if admin is not None:
            asyncio.run(_pg(admin, f'DROP DATABASE IF EXISTS "enroll_bench_{slug}" WITH (FORCE)'))
    return out


async def _pg(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--events", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--reevaluate", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="enroll_bench_import_"))
    path = work / "candidates.csv"
    log(f"generating {args.rows} rows")
    size = generate(path, args.rows)
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    result: dict[str, Any] = {
        "benchmark": "enroll bulk import vs raw load of the same file",
        "rows": args.rows,
        "file_mb": round(size / 1e6, 1),
        "events": args.events,
        "criteria": 5,
        "targets": {
            "postgresql_ratio_max": 3.0,
            "postgresql_rows_per_second_min": 30000,
            "sqlite_ratio_max": 3.0,
            "peak_rss_mb_max": 512,
            "postgresql_reevaluation_seconds_max_1m": 30,
        },
        "backends": {},
    }
    try:
        for backend in backends:
            result["backends"][backend] = bench_backend(backend, args, work, path)
    finally:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()
    result["self_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
