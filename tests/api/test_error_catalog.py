"""One source of truth for the error codes: the problem classes (errors.py and each domain's
errors.py). docs/api.md's error table is generated from them, the OpenAPI document names
them, and no raise site spells a code itself.

Regenerate the table: ``.venv/bin/python tests/api/test_error_catalog.py``.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

import enroll
from enroll.errors import CATALOG, ProblemError, error_table, problems_of

SRC = Path(enroll.__file__).parent
ROOT = SRC.parents[1]
API_DOC = ROOT / "docs" / "api.md"
_TABLE = re.compile(r"^\| status \| code \| when \|\n(?:\|.*\|\n)+", re.MULTILINE)


def load_catalog() -> dict[str, type[ProblemError]]:
    """Every problem class: import every module that declares them."""
    for module in sorted(SRC.glob("*/errors.py")):
        if module.parent.name != "graphql":  # GraphQL's error formatting, no problem classes
            importlib.import_module(f"enroll.{module.parent.name}.errors")
    return CATALOG


def documented_table() -> str:
    found = _TABLE.search(API_DOC.read_text())
    assert found, "docs/api.md has no error table"
    return found.group(0)


def test_the_error_table_of_the_api_doc_is_the_catalog() -> None:
    load_catalog()
    assert documented_table() == error_table(), (
        "docs/api.md's error table differs from the problem classes; regenerate it with "
        "`.venv/bin/python tests/api/test_error_catalog.py`"
    )


def test_every_problem_class_is_catalogued_with_a_description() -> None:
    catalog = load_catalog()

    def subclasses(cls: type[ProblemError]) -> list[type[ProblemError]]:
        return [s for sub in cls.__subclasses__() for s in (sub, *subclasses(sub))]

    for cls in subclasses(ProblemError):
        assert catalog.get(cls.code) is cls, cls
        assert cls.description and "|" not in cls.description, cls
        assert re.fullmatch(r"[a-z][a-z_]*", cls.code), cls
        assert 400 <= cls.status < 600, cls


def test_the_openapi_document_names_only_catalogued_codes() -> None:
    from enroll.app import create_app
    from enroll.openapi import build_openapi

    app = create_app()
    catalog = load_catalog()
    for route in app.routes:
        for problem in problems_of(getattr(route, "endpoint", lambda: None)):
            assert catalog.get(problem.code) is problem, (route, problem)
    document = build_openapi(app)
    named: set[str] = set()
    for item in document["paths"].values():
        for op in item.values():
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    codes = re.findall(r"`([a-z_]+)`", response["description"].split(": ", 1)[1])
                    assert all(catalog[c].status == int(status) for c in codes), (status, codes)
                    named.update(codes)
    # What no route declares: the framework's own answers, and GraphQL's transport.
    unnamed = set(catalog) - named
    assert unnamed <= {"bad_request", "method_not_allowed", "internal_error", "invalid_cursor"}


def test_no_raise_site_spells_a_code() -> None:
    """``Conflict(..., code="x")`` is how errors were declared before they had classes."""
    spelled = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and any(
                k.arg == "code" and isinstance(k.value, ast.Constant) for k in node.keywords
            ):
                callee = node.func
                name = callee.id if isinstance(callee, ast.Name) else ""
                if name in {c.__name__ for c in CATALOG.values()}:
                    spelled.append(f"{relative}:{node.lineno}")
    assert spelled == [], "raise the class of the code instead"


if __name__ == "__main__":
    load_catalog()
    text = API_DOC.read_text()
    API_DOC.write_text(_TABLE.sub(lambda _: error_table(), text, count=1))
    sys.exit(0)
