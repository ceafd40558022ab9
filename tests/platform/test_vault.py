"""The data keys (vault/): sealing opens only under the same key ring and associated data, a
key ring reads every key it lists and seals under the first, and rotation re-seals a column in
batches on both databases."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select

from enroll.config import Settings
from enroll.db import Database as Db
from enroll.vault.keyring import KeyRing, KeyRingError, SealedValueError, new_key_spec
from enroll.vault.rotation import reseal_column
from enroll.vault.setup import keyring_from_settings
from tests.support.server import Database

# Fixed keys (32 bytes each, base64url): parameter ids must be the same in every xdist worker.
OLD = "old:" + "T0xE" * 10 + "T0w"
NEW = "new:" + "TkVX" * 10 + "TkU"


def test_a_new_key_spec_is_a_fresh_usable_key() -> None:
    first, second = new_key_spec("k1"), new_key_spec("k1")
    assert first != second and KeyRing.parse(first).active == "k1"
    with pytest.raises(KeyRingError):
        new_key_spec("not ok")


def test_text_round_trip_names_its_key_and_hides_the_value() -> None:
    ring = KeyRing.parse(OLD)
    sealed = ring.seal_text("123-45-6789", aad=b"customer.tax_id")
    assert sealed.startswith("ev1:old:") and "6789" not in sealed
    assert ring.open_text(sealed, aad=b"customer.tax_id") == "123-45-6789"
    assert ring.seal_text("x", aad=b"a") != ring.seal_text("x", aad=b"a")  # fresh nonce


def test_bytes_round_trip_and_tampering_refused() -> None:
    ring = KeyRing.parse(OLD)
    sealed = ring.seal(b"%PDF-1.7 ...", aad=b"document")
    assert ring.open(sealed, aad=b"document") == b"%PDF-1.7 ..."
    with pytest.raises(SealedValueError):
        ring.open(sealed, aad=b"other")  # another value's associated data
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SealedValueError):
        ring.open(flipped, aad=b"document")
    with pytest.raises(SealedValueError):
        KeyRing.parse(NEW).open(sealed, aad=b"document")  # a key the ring does not hold


def test_a_ring_reads_every_key_and_seals_under_the_first() -> None:
    old_value = KeyRing.parse(OLD).seal_text("secret", aad=b"t")
    ring = KeyRing.parse(f"{NEW},{OLD}")
    assert ring.active == "new"
    assert ring.open_text(old_value, aad=b"t") == "secret"
    assert ring.reseal_text(old_value, aad=b"t").startswith("ev1:new:")


@pytest.mark.parametrize(
    "spec",
    ["", "nokey", "bad id:" + "A" * 43, "k:short", f"{OLD},{OLD}", "k:" + "!" * 43],
)
def test_unusable_key_settings_are_refused_without_echoing_keys(spec: str) -> None:
    with pytest.raises(KeyRingError) as info:
        KeyRing.parse(spec)
    assert "A" * 20 not in str(info.value)


def test_production_refuses_a_generated_key_and_development_keeps_one(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/enroll.sqlite"
    with pytest.raises(KeyRingError):
        keyring_from_settings(Settings(database_url=db, environment="production"))
    first = keyring_from_settings(Settings(database_url=db))
    sealed = first.seal_text("kept", aad=b"t")
    again = keyring_from_settings(Settings(database_url=db))  # a restart reads the same file
    assert again.open_text(sealed, aad=b"t") == "kept"
    assert (tmp_path / "enroll.sqlite.datakey").stat().st_mode & 0o077 == 0
    raw = (tmp_path / "enroll.sqlite.datakey").read_text().strip().partition(":")[2]
    assert len(base64.urlsafe_b64decode(raw + "=")) == 32


def test_rotation_reseals_a_column_in_batches(database: Database) -> None:
    async def run() -> None:
        db = Db(database.url, pool_size=2)
        meta = MetaData()
        name = f"vault_rotation_{database.backend}"
        table = Table(
            name, meta, Column("id", String(20), primary_key=True), Column("v", String(200))
        )
        old, both = KeyRing.parse(OLD), KeyRing.parse(f"{NEW},{OLD}")
        try:
            async with db.engine.begin() as conn:
                await conn.run_sync(meta.drop_all)
                await conn.run_sync(meta.create_all)
                await conn.execute(
                    insert(table),
                    [{"id": f"r{i:03}", "v": old.seal_text(f"v{i}", aad=b"t")} for i in range(7)]
                    + [{"id": "r999", "v": None}],
                )
            assert await reseal_column(db, table, "v", ring=both, aad=b"t", batch=3) == 7
            assert await reseal_column(db, table, "v", ring=both, aad=b"t", batch=3) == 0
            async with db.engine.connect() as conn:
                rows = (await conn.execute(select(table.c.id, table.c.v))).all()
            new_only = KeyRing.parse(NEW)
            for row_id, value in rows:
                if value is not None:
                    assert new_only.open_text(value, aad=b"t") == f"v{int(row_id[1:])}"
        finally:
            async with db.engine.begin() as conn:
                await conn.run_sync(meta.drop_all)
            await db.dispose()

    asyncio.run(run())
