"""``strawberry.field`` and ``strawberry.mutation`` with arguments, typed as the decorators
they are (strawberry types them ``Any``, which strict mypy refuses on a decorated method), and
with what each field needs of the key declared where the field is (see scopes.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import strawberry

from enroll.auth.scopes import Scope

F = TypeVar("F", bound=Callable[..., Any])
NEEDS = "enroll.needs"  # the key of a field's Needs in its strawberry metadata


@dataclass(frozen=True)
class Needs:
    """What resolving a field needs of the key beyond what its parents need: these scopes,
    and a workspace key (platform keys read the catalog only)."""

    scopes: tuple[Scope, ...] = ()
    workspace: bool = True


def _metadata(scopes: tuple[Scope, ...], workspace: bool | None) -> dict[str, Needs]:
    if not scopes and workspace is None:
        return {}  # nothing beyond the parent's
    return {NEEDS: Needs(scopes, True if workspace is None else workspace)}


def field(
    description: str, *scopes: Scope, workspace: bool | None = None, name: str | None = None
) -> Callable[[F], F]:
    """A field; ``scopes`` (and ``workspace``) declare what its resolver checks. ``name``
    for a GraphQL name Python cannot spell (``import``)."""
    return cast(
        Callable[[F], F],
        strawberry.field(name=name, description=description, metadata=_metadata(scopes, workspace)),
    )


def mutation(description: str, *scopes: Scope, workspace: bool = True) -> Callable[[F], F]:
    """A mutation needing ``scopes`` (of the workspace, or of the platform with
    ``workspace=False``), checked with every field it selects before any mutation of the
    operation runs."""
    return cast(
        Callable[[F], F],
        strawberry.mutation(description=description, metadata=_metadata(scopes, workspace)),
    )
