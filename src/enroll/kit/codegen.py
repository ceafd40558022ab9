"""Functions written out from a declaration when their module is imported.

A per-row function that names every field of a declaration (models/enrollment_fields.py) is
written here as source and compiled once, so it runs exactly as the hand-written literal
would: a loop over the declaration at each row costs a tenth more per call. The source shows
in tracebacks and in the function's ``__source__``.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable
from typing import Any


def define(name: str, source: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    """Compile ``source`` (which defines ``name``) with ``namespace`` as its globals."""
    filename = f"<generated {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope = dict(namespace)
    exec(compile(source, filename, "exec"), scope)  # the source is ours, from a declaration
    function: Callable[..., Any] = scope[name]
    function.__source__ = source  # type: ignore[attr-defined]
    return function
