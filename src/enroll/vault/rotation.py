"""Re-sealing a column's values under the active key, in batches, while the service runs.

Each batch is its own short transaction, and each row is written only if it still holds the
value read (``WHERE id = … AND column = old``): a request that changed the value meanwhile
wrote it under the active key already, and wins.
"""

from __future__ import annotations

from sqlalchemy import Column, Table, and_, not_, select, update

from enroll.db import Database
from enroll.vault.keyring import TEXT_PREFIX, KeyRing


async def reseal_column(
    db: Database, table: Table, column: str, *, ring: KeyRing, aad: bytes, batch: int = 500
) -> int:
    """Re-seal every value of ``table.column`` not sealed under the active key; the count."""
    col: Column[str] = table.c[column]
    current = f"{TEXT_PREFIX}{ring.active}:"
    done = 0
    after = ""
    while True:
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    select(table.c.id, col)
                    .where(col.is_not(None), not_(col.startswith(current)), table.c.id > after)
                    .order_by(table.c.id)
                    .limit(batch)
                )
            ).all()
            for row_id, old in rows:
                result = await session.execute(
                    update(table)
                    .where(and_(table.c.id == row_id, col == old))
                    .values({column: ring.reseal_text(old, aad=aad)})
                )
                done += result.rowcount  # type: ignore[attr-defined]
        if len(rows) < batch:
            return done
        after = rows[-1][0]
