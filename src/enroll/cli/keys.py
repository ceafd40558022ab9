"""`enroll keys`: data keys (docs/security.md).

`enroll keys new [--id ID]` prints a fresh ``id:key`` entry for ``ENROLL_DATA_KEY``.
`enroll keys rotate [--batch N]` re-seals, under the active key (the first of
``ENROLL_DATA_KEY``), every document and every value of the sealed columns below that an
older key sealed, in short batches while the service runs, and prints the counts. Rotating:
put the new key first in every process's ``ENROLL_DATA_KEY`` (the old one after it) and
restart them, run `enroll keys rotate`, then drop the old key.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from sqlalchemy.exc import SQLAlchemyError

from enroll.cli.running import fail, with_context
from enroll.config import get_settings
from enroll.context import AppContext
from enroll.customer.applicant import CUSTOMER_TAX_ID, MEMBER_TAX_ID
from enroll.document.rotation import reseal_documents
from enroll.errors import ProblemError
from enroll.migrations import schema_state
from enroll.models import Base
from enroll.vault.keyring import KeyRingError, SealedValueError, new_key_spec
from enroll.vault.rotation import reseal_column

T = TypeVar("T")
keys_app = typer.Typer(
    help="Data keys: make one, re-seal what older keys sealed.", no_args_is_help=True
)

# The text columns sealed with the data key: (table, column, associated data).
SEALED_COLUMNS: list[tuple[str, str, bytes]] = [
    ("customer", "tax_id_sealed", CUSTOMER_TAX_ID),
    ("household_member", "tax_id_sealed", MEMBER_TAX_ID),
]


@keys_app.command("new")
def new(
    key_id: Annotated[
        str | None,
        typer.Option("--id", help="The key's id (1-32 of A-Z a-z 0-9 - _); default: the time."),
    ] = None,
) -> None:
    """Print a fresh data key entry (id:base64url-key) to put first in ENROLL_DATA_KEY."""
    try:
        typer.echo(new_key_spec(key_id or f"k{datetime.now(UTC):%Y%m%d%H%M%S}"))
    except KeyRingError as exc:
        typer.echo(f"enroll: {exc}", err=True)
        raise typer.Exit(1) from None


async def rotate_all(ctx: AppContext, *, batch: int) -> dict[str, int]:
    """Re-seal the documents and the sealed columns under the active key; counts by what."""
    counts = {"documents": await reseal_documents(ctx.db, ctx.storage, ctx.vault, batch=batch)}
    for table, column, aad in SEALED_COLUMNS:
        counts[f"{table}.{column}"] = await reseal_column(
            ctx.db, Base.metadata.tables[table], column, ring=ctx.vault, aad=aad, batch=batch
        )
    return counts


@keys_app.command("rotate")
def rotate(
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=10_000, help="Rows per transaction.")
    ] = 100,
) -> None:
    """Re-seal under the active key what older keys of ENROLL_DATA_KEY sealed."""

    async def work(ctx: AppContext) -> dict[str, object]:
        return {"activeKey": ctx.vault.active, "resealed": await rotate_all(ctx, batch=batch)}

    typer.echo(json.dumps(_run(work), indent=2))


def _run(work: Callable[[AppContext], Awaitable[T]]) -> T:
    """``work`` on the configured database, which must be at this release's schema."""
    settings = get_settings()
    try:
        state = schema_state(settings.database_url)
    except (SQLAlchemyError, OSError) as exc:
        raise fail(f"cannot open the database: {type(exc).__name__}") from None
    if not state.is_current:
        raise fail(state.advice())

    try:
        return with_context(settings, work)
    except (KeyRingError, SealedValueError, ProblemError) as exc:
        raise fail(f"rotation stopped: {exc}") from None
