"""The request's data loaders: every nested object of one kind in one query, whatever the
number of parents (no N+1). Each is scoped to the caller's workspace; the field resolvers
check scopes before they load, and turn the rows into GraphQL types (types.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from enroll.graphql import repository
from enroll.models import (
    Customer,
    Enrollment,
    EnrollmentHistory,
    Program,
    ProgramInstance,
    ServiceTaskLog,
)
from enroll.servicetask import repository as tasks_repo


class Request(Protocol):
    """What the loaders need of the request (graphql/context.py's GraphQLContext)."""

    async def workspace_id(self) -> str: ...

    def use(self, *, write: bool = False) -> AbstractAsyncContextManager[AsyncSession]: ...


class Loaders:
    def __init__(self, ctx: Request) -> None:
        self.ctx = ctx
        self.instance = DataLoader[str, ProgramInstance | None](self._instances)
        self.program = DataLoader[str, Program | None](self._programs)
        self.customer = DataLoader[str, Customer | None](self._customers)
        self.enrollment = DataLoader[str, Enrollment | None](self._enrollments)
        self.history = DataLoader[str, list[EnrollmentHistory]](self._histories)
        self.task_log = DataLoader[str, list[ServiceTaskLog]](self._task_logs)

    async def _instances(self, ids: list[str]) -> Sequence[ProgramInstance | None]:
        workspace_id = await self.ctx.workspace_id()
        async with self.ctx.use() as session:
            rows = await repository.instances(session, workspace_id=workspace_id, ids=ids)
            found = {row.id: row for row in rows}
            # The instance query joined each program in: later program lookups cost nothing.
            programs = {row.program.id: row.program for row in rows}
        self.program.prime_many(programs)
        return [found.get(i) for i in ids]

    async def _programs(self, ids: list[str]) -> Sequence[Program | None]:
        async with self.ctx.use() as session:
            rows = await repository.programs(session, ids=ids)
            found = {row.id: row for row in rows}
        return [found.get(i) for i in ids]

    async def _customers(self, ids: list[str]) -> Sequence[Customer | None]:
        workspace_id = await self.ctx.workspace_id()
        async with self.ctx.use() as session:
            rows = await repository.customers(session, workspace_id=workspace_id, ids=ids)
            found = {row.id: row for row in rows}
        return [found.get(i) for i in ids]

    async def _enrollments(self, ids: list[str]) -> Sequence[Enrollment | None]:
        workspace_id = await self.ctx.workspace_id()
        async with self.ctx.use() as session:
            rows = await repository.enrollments(session, workspace_id=workspace_id, ids=ids)
            found = {row.id: row for row in rows}
        return [found.get(i) for i in ids]

    async def _histories(self, ids: list[str]) -> Sequence[list[EnrollmentHistory]]:
        workspace_id = await self.ctx.workspace_id()
        async with self.ctx.use() as session:
            rows = await repository.histories(
                session, workspace_id=workspace_id, enrollment_ids=ids
            )
            by_enrollment: dict[str, list[EnrollmentHistory]] = defaultdict(list)
            for row in rows:
                by_enrollment[row.enrollment_id].append(row)
        return [by_enrollment.get(i, []) for i in ids]

    async def _task_logs(self, ids: list[str]) -> Sequence[list[ServiceTaskLog]]:
        workspace_id = await self.ctx.workspace_id()
        async with self.ctx.use() as session:
            rows = await tasks_repo.logs_of(session, workspace_id=workspace_id, task_ids=ids)
            by_task: dict[str, list[ServiceTaskLog]] = defaultdict(list)
            for row in rows:
                by_task[row.task_id].append(row)
        return [by_task.get(i, []) for i in ids]
