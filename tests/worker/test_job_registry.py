"""The job registry (job/registry.py): every kind the code enqueues is registered, with a
frozen payload model, and the worker finds it without any other import."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pydantic
import pytest

from enroll.eligibility import async_checks
from enroll.job.registry import JOBS, Payload
from enroll.worker import runner

SRC = Path(__file__).resolve().parents[2] / "src" / "enroll"


def _constants() -> dict[str, str]:
    """Module-level ``NAME = "literal"`` assignments of the source."""
    found: dict[str, str] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                found[node.targets[0].id] = node.value.value
    return found


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.attr
    return None


def _keys(node: ast.Dict) -> set[str]:
    return {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}


def enqueued_kinds() -> set[str]:
    """The kinds passed to ``jobs.enqueue(kind=...)`` and ``jobs.queued_row(kind=...)`` and
    to job rows built by hand (``{"kind": ..., "payload": ...}``: a requirement's or a
    criterion's ``kind`` is no job), as constants or literals; ``kind=job.kind``
    (a job queued again) is no new kind."""
    constants, kinds = _constants(), set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            values: list[ast.expr] = []
            if isinstance(node, ast.Call) and _name(node.func) in ("enqueue", "queued_row"):
                values += [k.value for k in node.keywords if k.arg == "kind"]
            elif isinstance(node, ast.Dict) and "payload" in _keys(node):
                values += [
                    v
                    for k, v in zip(node.keys, node.values, strict=True)
                    if isinstance(k, ast.Constant) and k.value == "kind"
                ]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    kinds.add(value.value)
                elif (name := _name(value)) is not None and name in constants:
                    kinds.add(constants[name])
    return kinds


def test_every_enqueued_kind_is_registered_with_a_frozen_payload_model() -> None:
    kinds = enqueued_kinds()
    assert kinds == {
        "enrollment.auto_approve",
        "service_task.step",
        "service_task.expire",
        "setup_action.device_command",
        "eligibility.async_check",
        "reevaluation.run",
        "import.run",
        "notification.send",
        "location.import",
        "document.sweep_orphans",
    }
    assert runner.JOB_MODULES  # imported with the worker, in one place
    assert kinds <= set(JOBS)
    for kind in JOBS:
        spec = JOBS[kind]
        assert spec.kind == kind
        assert issubclass(spec.payload, Payload)
        assert spec.payload.model_config.get("frozen") is True


def test_which_jobs_run_in_the_job_transaction() -> None:
    inside = {kind for kind in JOBS if JOBS[kind].transaction}
    assert inside == {"enrollment.auto_approve", "service_task.step", "service_task.expire"}


def test_a_payload_model_keeps_the_stored_json() -> None:
    deadline = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    stored = {
        "jobId": "j1",
        "enrollmentId": "e1",
        "criterionId": "c1",
        "criteriaVersion": None,
        "evaluatedAt": "2031-05-06T07:00:00.000001Z",
        "deadline": async_checks.iso(deadline),
    }
    parsed = JOBS["eligibility.async_check"].parse(stored)
    assert isinstance(parsed, async_checks.CheckJob)
    assert parsed.deadline == deadline
    assert parsed.as_json() == stored
    assert list(parsed.as_json()) == list(stored)
    with pytest.raises(pydantic.ValidationError):
        parsed.job_id = "other"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        JOBS["service_task.step"].parse({"state": "pending"})  # no taskId
