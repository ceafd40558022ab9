"""Checking a template when it is saved (``check``, with ``StrictUndefined`` against the
sample context) and rendering it for sending (``render``, with ``ChainableUndefined``), each
under a fresh budget; templates are compiled once per process (``_compile``)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes

from enroll.notification.templates.budget import (
    BUDGET,
    MAX_BODY_CHARS,
    MAX_SUBJECT_CHARS,
    Budget,
    LimitExceeded,
)
from enroll.notification.templates.environment import LENIENT, STRICT
from enroll.notification.templates.guards import RESERVED, Guard


class TemplateInvalid(Exception):
    """A template that does not compile or does not render against the sample context."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


class RenderFailed(Exception):
    """A saved template that failed on real data (an attribute that is null, a limit)."""


@functools.lru_cache(maxsize=1024)
def _compile(source: str, strict: bool) -> Template:
    """The template of ``source`` (cached: a template's text is compiled once per process)."""
    env = STRICT if strict else LENIENT
    tree = env.parse(source)
    for name in tree.find_all(nodes.Name):
        if name.name.startswith(RESERVED):
            raise TemplateSyntaxError(f"{name.name!r} is a reserved name.", name.lineno)
    for macro in tree.find_all(nodes.Macro):
        if macro.name.startswith(RESERVED):
            raise TemplateSyntaxError(f"{macro.name!r} is a reserved name.", macro.lineno)
    guarded = Guard(env).visit(tree)
    assert isinstance(guarded, nodes.Template)
    return env.from_string(guarded)


def _render(source: str, context: Mapping[str, Any], *, limit: int, strict: bool) -> str:
    template = _compile(source, strict)
    token = BUDGET.set(Budget())
    try:
        out: list[str] = []
        length = 0
        for chunk in template.generate(dict(context)):
            length += len(chunk)
            if length > limit:
                raise LimitExceeded(f"The rendered text is longer than {limit:,} characters.")
            out.append(chunk)
        return "".join(out)
    finally:
        BUDGET.reset(token)


def _describe(exc: Exception) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return f"line {exc.lineno}: {exc.message}"
    if isinstance(exc, RecursionError):
        return "The template recurses too deeply."
    text = str(exc) or type(exc).__name__
    return text[:500]


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str


def render(subject: str, body: str, context: Mapping[str, Any]) -> Rendered:
    """Render a saved template pair; ``RenderFailed`` says why it could not be (a limit).

    Missing values are empty text here (see ``LENIENT``). The subject's line breaks become
    spaces (it is a header).
    """
    try:
        rendered_subject = _render(subject, context, limit=MAX_SUBJECT_CHARS, strict=False)
        rendered_body = _render(body, context, limit=MAX_BODY_CHARS, strict=False)
    except Exception as exc:  # anything a template can raise: it must not fail the caller
        raise RenderFailed(_describe(exc)) from None
    return Rendered(" ".join(rendered_subject.split()), rendered_body)


def check(fields: Mapping[str, str], context: Mapping[str, Any]) -> None:
    """Compile each template and render it against ``context``; ``TemplateInvalid`` lists
    every field that fails."""
    errors: list[tuple[str, str]] = []
    for field, source in fields.items():
        limit = MAX_SUBJECT_CHARS if field == "subject" else MAX_BODY_CHARS
        try:
            _render(source, context, limit=limit, strict=True)
        except Exception as exc:
            errors.append((field, _describe(exc)))
    if errors:
        raise TemplateInvalid(errors)
