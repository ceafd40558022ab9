"""Re-sealing a column's values under the active key, in batches, while the service runs.

Each batch is its own short transaction, and each row is written only if it still holds the
value read (``WHERE id = … AND column = old``): a request that changed the value meanwhile
wrote it under the active key already, and wins.
"""

from __future__ import annotations

from sqlalchemy import Table

from enroll.db import Database
from enroll.vault import repository
from enroll.vault.keyring import TEXT_PREFIX, KeyRing


async def reseal_column(
    db: Database, table: Table, column: str, *, ring: KeyRing, aad: bytes, batch: int = 500
) -> int:
    """Re-seal every value of ``table.column`` not sealed under the active key; the count."""
    current = f"{TEXT_PREFIX}{ring.active}:"
    done = 0
    after = ""
    while True:
        async with db.transaction() as session:
            rows = await repository.sealed_batch(
                session, table, column, not_prefix=current, after=after, limit=batch
            )
            for row_id, old in rows:
                done += await repository.replace_sealed(
                    session,
                    table,
                    column,
                    row_id=row_id,
                    old=old,
                    new=ring.reseal_text(old, aad=aad),
                )
        if len(rows) < batch:
            return done
        after = rows[-1][0]
