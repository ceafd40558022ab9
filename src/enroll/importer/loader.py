"""One batch of an import: deduplicate, identify, evaluate and insert its valid candidates.

The queries are the importer's repositories: row lookups in repository.py, the set-based
statements over the temporary stage table in staging_repository.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.eligibility import bulk
from enroll.enrollment import identification
from enroll.enrollment import service as enrollments
from enroll.enrollment.errors import EnrollmentExists
from enroll.enrollment.identity import DEDUPE_KEYS
from enroll.errors import FieldError, ProblemError
from enroll.importer import repository
from enroll.importer import staging_repository as staging
from enroll.importer.rows import Candidate
from enroll.models import EnrollmentImport, ProgramInstance
from enroll.workflows.enrollment import Status


@dataclass
class Batch:
    """One batch's outcome, written in its transaction."""

    issues: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)

    def invalid(self, row: int, errors: list[FieldError]) -> None:
        self.issues.append(
            {
                "row": row,
                "outcome": "invalid",
                "status": None,
                "duplicate_of": None,
                "duplicate_key": None,
                "errors": [e.model_dump() for e in errors],
            }
        )

    def duplicate(self, row: int, of: str, key: str) -> None:
        self.issues.append(
            {
                "row": row,
                "outcome": "duplicate",
                "status": None,
                "duplicate_of": of,
                "duplicate_key": key,
                "errors": None,
            }
        )


class Loader:
    """Deduplicate, identify, evaluate and insert one batch's valid candidates."""

    def __init__(
        self,
        session: AsyncSession,
        imp: EnrollmentImport,
        instance: ProgramInstance,
        batch: Batch,
        now: datetime,
    ) -> None:
        self.session = session
        self.imp = imp
        self.instance = instance
        self.batch = batch
        self.now = now
        self.dialect = bulk.dialect_of(session)
        self.created = self.eligible = self.ineligible = 0
        # Rows stay candidates: unevaluated (evaluate false), or with the rules' checks as
        # advice for the person who decides (manual screening).
        self.advice = instance.screening == "manual"
        self.candidates_only = not imp.evaluate or self.advice

    async def load(self) -> None:
        fresh = await self._deduplicate(self.batch.candidates)
        bulk_rows = await self._check_customer_ids([c for c in fresh if c.bulk])
        if bulk_rows:
            await self._stage_and_insert(bulk_rows)
        for candidate in (c for c in fresh if not c.bulk):
            await self._create_one(candidate)

    # --- duplicates --------------------------------------------------------------------------

    async def _deduplicate(self, candidates: list[Candidate]) -> list[Candidate]:
        """Keep the first row per key; report the rest, and rows matching existing data."""
        known = await self._existing_keys(candidates)
        seen: dict[tuple[str, str], str] = {}
        fresh = []
        for candidate in candidates:
            match = next(
                (
                    (k, known.get(k) or seen.get(k))
                    for k in candidate.keys
                    if k in known or k in seen
                ),
                None,
            )
            if match is not None:
                self.batch.duplicate(candidate.row, match[1] or "", match[0][0])
                continue
            for key in candidate.keys:
                seen[key] = f"row:{candidate.row}"
            fresh.append(candidate)
        return fresh

    async def _existing_keys(self, candidates: list[Candidate]) -> dict[tuple[str, str], str]:
        by_kind: dict[str, set[str]] = {kind: set() for kind in DEDUPE_KEYS}
        for candidate in candidates:
            for kind, value in candidate.keys:
                by_kind[kind].add(value)
        known: dict[tuple[str, str], str] = {}
        for kind, values in by_kind.items():
            if not values:
                continue
            rows = await repository.enrollments_with_key(
                self.session,
                instance_id=self.instance.id,
                kind=kind,
                values=values,
                dialect=self.dialect,
            )
            for value, enrollment_id in rows:
                known.setdefault((kind, value), enrollment_id)
        if self.imp.dry_run:
            keys = {f"{k}:{v}" for c in candidates for k, v in c.keys}
            if keys:
                remembered = await repository.remembered_keys(
                    self.session, import_id=self.imp.id, keys=keys, dialect=self.dialect
                )
                for key, row in remembered:
                    kind, _, value = key.partition(":")
                    known.setdefault((kind, value), f"row:{row}")
        return known

    # --- customers ---------------------------------------------------------------------------

    async def _check_customer_ids(self, candidates: list[Candidate]) -> list[Candidate]:
        """customerId rows: the customer must exist; its details fill what the row leaves
        out (what the row says wins, as in create). customerInfo rows are matched to their
        customers set-based once staged (``_find_or_create_customers``)."""
        by_id = [c for c in candidates if c.body.customer_id]
        if not by_id:
            return candidates
        found = {
            row.id: row
            for row in await repository.customers(
                self.session,
                workspace_id=self.imp.workspace_id,
                ids={c.body.customer_id for c in by_id if c.body.customer_id},
            )
        }
        kept = []
        for candidate in candidates:
            customer = found.get(candidate.body.customer_id or "")
            if candidate.body.customer_id and customer is None:
                self.batch.invalid(
                    candidate.row, [FieldError(field="customerId", message="No such customer.")]
                )
                continue
            if customer is not None:
                sent = {k: v for k, v in candidate.values.items() if v not in (None, [], {})}
                candidate.values.update(identification.from_customer(customer))
                candidate.values.update(sent)
            kept.append(candidate)
        return kept

    async def _find_or_create_customers(self) -> None:
        """Staged customerInfo rows get the workspace's customer with their email, created
        from the row when there is none yet (not in a dry run). Emails are unique within the
        stage: ``_deduplicate`` keeps one row per email."""
        await staging.find_or_create_customers(
            self.session,
            workspace_id=self.imp.workspace_id,
            now=self.now,
            dialect=self.dialect,
            create=not self.imp.dry_run,
        )

    async def _drop_open(self) -> None:
        """A customer holds one open enrollment per instance: staged rows whose customer
        already has one here, or appears on an earlier row of this batch, are duplicates."""
        found = await staging.open_holders(
            self.session, instance_id=self.instance.id, dialect=self.dialect
        )
        dropped: dict[str, tuple[int, str]] = {}
        for stage_id, row, holder in found:
            dropped.setdefault(stage_id, (row, holder))
        for row, holder in dropped.values():
            self.batch.duplicate(row, holder, "customer")
        if dropped:
            await staging.unstage(self.session, stage_ids=dropped)

    # --- evaluation and insert -------------------------------------------------------------

    async def _stage_and_insert(self, candidates: list[Candidate]) -> None:
        session, dialect = self.session, self.dialect
        await staging.stage(session, candidates=candidates, dialect=dialect)
        await staging.analyze_stage(session, dialect=dialect)
        await self._find_or_create_customers()
        await self._drop_open()
        plan = bulk.plan(self.instance, alias="import_stage", dialect=dialect, refusal=None)
        if plan.mask_sql is not None:
            await staging.set_masks(session, mask_sql=plan.mask_sql)

        async def load(ids: list[str]) -> list[Mapping[str, Any]]:
            return await staging.staged_rows(session, ids=ids)

        decisions = await bulk.decide_table(
            session,
            instance=self.instance,
            plan_=plan,
            table="import_stage",
            load=load,
            now=self.now,
        )
        staged = 0
        for mask, count in await staging.mask_counts(session):
            staged += count
            if self.candidates_only:
                continue
            if decisions[mask].eligible:
                self.eligible += count
            else:
                self.ineligible += count
        self.created += staged
        if self.imp.dry_run:
            await self._remember(candidates)
            return
        await self._insert_enrollments()
        if not self.imp.evaluate:
            return
        await bulk.enqueue_async_checks(
            session,
            instance=self.instance,
            plan_=plan,
            decisions=decisions,
            table="import_stage",
            now=self.now,
        )

    async def _remember(self, candidates: list[Candidate]) -> None:
        """Dry run: each staged row's would-be outcome, and its keys for later batches."""
        outcomes = await staging.outcomes(self.session)
        staged = {row for row, _status in outcomes}
        keys = [
            {"import_id": self.imp.id, "key": f"{k}:{v}", "row": c.row}
            for c in candidates
            if c.row in staged
            for k, v in c.keys
        ]
        if keys:
            await repository.insert_keys(self.session, keys=keys)
        self.batch.issues += [
            {
                "row": row,
                "outcome": "would_create",
                "status": status,
                "duplicate_of": None,
                "duplicate_key": None,
                "errors": None,
            }
            for row, decided in outcomes
            for status in ["candidate" if self.candidates_only else decided]
        ]

    async def _insert_enrollments(self) -> None:
        """The staged rows as enrollments, with their history rows and (if asked) events."""
        imp = self.imp
        await staging.insert_enrollments(
            self.session,
            workspace_id=imp.workspace_id,
            instance_id=self.instance.id,
            import_id=imp.id,
            actor=imp.actor,
            now=self.now,
            dialect=self.dialect,
            candidates_only=self.candidates_only,
            advice=self.advice,
        )
        await staging.insert_history(
            self.session,
            workspace_id=imp.workspace_id,
            actor=imp.actor,
            now=self.now,
            candidates_only=self.candidates_only,
        )
        if not imp.emit_events:
            return
        await staging.insert_events(
            self.session, now=self.now, dialect=self.dialect, candidates_only=self.candidates_only
        )

    async def _create_one(self, candidate: Candidate) -> None:
        """leadId / enrollmentId rows: the create endpoint's own service, one at a time."""
        if self.imp.dry_run:
            self.created += 1
            return
        try:
            async with self.session.begin_nested():
                enrollment, _ = await enrollments.create(
                    self.session,
                    workspace_id=self.imp.workspace_id,
                    instance_ref=self.instance.id,
                    body=candidate.body,
                    actor=self.imp.actor,
                    now=self.now,
                    evaluate=self.imp.evaluate,
                )
        except EnrollmentExists as exc:
            self.batch.duplicate(
                candidate.row, str(exc.extensions.get("enrollmentId") or ""), "customer"
            )
            return
        except ProblemError as exc:
            self.batch.invalid(
                candidate.row,
                list(exc.errors or [FieldError(field="row", message=exc.detail or exc.title)]),
            )
            return
        await repository.mark_imported(
            self.session, enrollment_id=enrollment.id, import_id=self.imp.id, row=candidate.row
        )
        self.created += 1
        if enrollment.status == Status.ELIGIBLE:
            self.eligible += 1
        elif enrollment.status == Status.INELIGIBLE:
            self.ineligible += 1
