"""The request's data loaders: every nested object of one kind in one query, whatever the
number of parents (no N+1). Each is scoped to the caller's workspace; the field resolvers
check scopes before they load."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from enroll.graphql import repository, types
from enroll.servicetask import repository as tasks_repo

if TYPE_CHECKING:
    from enroll.graphql.context import GraphQLContext


class Loaders:
    def __init__(self, ctx: GraphQLContext) -> None:
        self.ctx = ctx
        self.instance = DataLoader[str, types.ProgramInstance | None](self._instances)
        self.program = DataLoader[str, types.Program | None](self._programs)
        self.customer = DataLoader[str, types.Customer | None](self._customers)
        self.enrollment = DataLoader[str, types.Enrollment | None](self._enrollments)
        self.history = DataLoader[str, list[types.EnrollmentHistory]](self._histories)
        self.task_log = DataLoader[str, list[types.TaskLogEntry]](self._task_logs)

    async def _instances(self, ids: list[str]) -> Sequence[types.ProgramInstance | None]:
        workspace_id = await self.ctx.workspace_id()
        async with self.ctx.use() as session:
            rows = await repository.instances(session, workspace_id=workspace_id, ids=ids)
            found = {row.id: types.ProgramInstance.of(row) for row in rows}
            # The instance query joined each program in: later program lookups cost nothing.
            programs = {row.program.id: types.Program.of(row.program) for row in rows}
        self.program.prime_many(programs)
        return [found.get(i) for i in ids]

    async def _programs(self, ids: list[str]) -> Sequence[types.Program | None]:
        async with self.ctx.use() as session:
            rows = await repository.programs(session, ids=ids)
            found = {row.id: types.Program.of(row) for row in rows}
        return [found.get(i) for i in ids]

    async def _customers(self, ids: list[str]) -> Sequence[types.Customer | None]:
        workspace_id = await self.ctx.workspace_id()
        async with self.ctx.use() as session:
            rows = await repository.customers(session, workspace_id=workspace_id, ids=ids)
            found = {row.id: types.Customer.of(row) for row in rows}
        return [found.get(i) for i in ids]

    async def _enrollments(self, ids: list[str]) -> Sequence[types.Enrollment | None]:
        workspace_id = await self.ctx.workspace_id()
        async with self.ctx.use() as session:
            rows = await repository.enrollments(session, workspace_id=workspace_id, ids=ids)
            found = {row.id: types.Enrollment.of(row) for row in rows}
        return [found.get(i) for i in ids]

    async def _histories(self, ids: list[str]) -> Sequence[list[types.EnrollmentHistory]]:
        workspace_id = await self.ctx.workspace_id()
        async with self.ctx.use() as session:
            rows = await repository.histories(
                session, workspace_id=workspace_id, enrollment_ids=ids
            )
            by_enrollment: dict[str, list[types.EnrollmentHistory]] = defaultdict(list)
            for row in rows:
                by_enrollment[row.enrollment_id].append(types.EnrollmentHistory.of(row))
        return [by_enrollment.get(i, []) for i in ids]

    async def _task_logs(self, ids: list[str]) -> Sequence[list[types.TaskLogEntry]]:
        workspace_id = await self.ctx.workspace_id()
        async with self.ctx.use() as session:
            rows = await tasks_repo.logs_of(session, workspace_id=workspace_id, task_ids=ids)
            by_task: dict[str, list[types.TaskLogEntry]] = defaultdict(list)
            for row in rows:
                by_task[row.task_id].append(types.TaskLogEntry.of(row))
        return [by_task.get(i, []) for i in ids]
