"""The job registry: every job kind, its payload model, its handler and where it runs.

A domain declares its jobs in its ``jobs.py`` with ``@job(kind, payload=Model,
transaction=...)``; ``worker/runner.py`` imports those modules in one list (``JOB_MODULES``),
so every kind is registered before the worker claims a job. The payload model lives beside
the kind's name (the module that enqueues it), is frozen, and is stored camelCase as the job
row's ``payload`` JSON.

``transaction=True``: the handler runs inside the transaction that completes the job,
``handler(*, session, ctx, workspace_id, payload)``; it may return True to run again at once,
in a new transaction of the same job. ``transaction=False``: the handler opens short
transactions of its own (it waits on another party, or is too long for one transaction),
``handler(*, ctx, workspace_id, payload)``; the worker renews the job's lease meanwhile and
marks it succeeded afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Payload(BaseModel):
    """A job's payload: frozen, camelCase in the stored JSON, unknown keys ignored (a job
    queued by an older release still runs)."""

    model_config = ConfigDict(
        frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True
    )

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class NoPayload(Payload):
    """For a job that needs nothing but its kind and workspace."""


Handler = Callable[..., Awaitable[bool | None]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True, slots=True)
class JobSpec:
    kind: str
    payload: type[Payload]
    transaction: bool
    handler: Handler

    def parse(self, payload: dict[str, Any]) -> Payload:
        """The stored payload as the kind's model; raises (failing the attempt) if it is not
        one."""
        return self.payload.model_validate(payload)


class Registry(Mapping[str, JobSpec]):
    """Job kinds to their specs. The worker uses ``JOBS``; a test may build its own."""

    def __init__(self) -> None:
        self._specs: dict[str, JobSpec] = {}

    def job(self, kind: str, *, payload: type[Payload], transaction: bool) -> Callable[[H], H]:
        def register(handler: H) -> H:
            if kind in self._specs:
                raise ValueError(f"job kind {kind!r} is registered twice")
            self._specs[kind] = JobSpec(kind, payload, transaction, handler)
            return handler

        return register

    def __getitem__(self, kind: str) -> JobSpec:
        return self._specs[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __setitem__(self, kind: str, spec: JobSpec) -> None:  # tests: monkeypatch.setitem
        self._specs[kind] = spec

    def __delitem__(self, kind: str) -> None:
        del self._specs[kind]


JOBS = Registry()
job = JOBS.job
