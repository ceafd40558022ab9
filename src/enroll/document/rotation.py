"""Re-sealing documents under the active data key, in batches, while the service runs.

For each document whose ``key_id`` is not the active key: read its object, open it (any key
of the ring opens what it sealed), seal it again under the active key and put it back under
the same storage key (a reader sees the old object or the new one; both open), then record
the key on the row in a short transaction. A document deleted meanwhile is skipped: its
object is gone (nothing to read), or its row is (the object just written is removed again).
A crash between the put and the row leaves a row naming the old key over an object sealed
under the new one: it opens, and the next rotation seals it once more.
"""

from __future__ import annotations

import asyncio

from enroll.db import Database
from enroll.document import repository
from enroll.document.service import aad
from enroll.models import Document
from enroll.storage.base import ObjectStorage
from enroll.storage.errors import ObjectMissing
from enroll.vault.keyring import KeyRing


async def reseal_documents(
    db: Database, storage: ObjectStorage, ring: KeyRing, *, batch: int = 100
) -> int:
    """Re-seal every document not sealed under ``ring.active``; how many were."""
    done = 0
    after = ""
    while True:
        async with db.transaction(write=False) as session:
            rows = await repository.sealed_under_other_keys(
                session, active=ring.active, after=after, limit=batch
            )
        for document in rows:
            done += await _reseal(db, storage, ring, document)
        if len(rows) < batch:
            return done
        after = rows[-1].id


async def _reseal(db: Database, storage: ObjectStorage, ring: KeyRing, document: Document) -> int:
    try:
        sealed = await storage.get(document.storage_key)
    except ObjectMissing:
        return 0  # deleted meanwhile
    plain = await asyncio.to_thread(ring.open, sealed, aad=aad(document.id))
    resealed = await asyncio.to_thread(ring.seal, plain, aad=aad(document.id))
    await storage.put(document.storage_key, resealed)
    async with db.transaction() as session:
        recorded = await repository.set_key(session, document_id=document.id, key_id=ring.active)
    if not recorded:  # the row went while we wrote: so does the object
        await storage.delete(document.storage_key)
        return 0
    return 1
