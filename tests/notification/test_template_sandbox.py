"""The template sandbox without HTTP: templates that ask for huge values or endless work are
refused before the value exists (peak memory growth under 64 MB, well under 2 s), and ordinary
templates still render as Jinja2 would (issue 13, A2). The HTTP tests, at save and at send,
are in tests/notification/."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from enroll.enrollment.notification_templates import sample_context
from enroll.notification import templates
from enroll.notification.schemas import Trigger
from enroll.notification.templates import rendering

CONTEXT = sample_context(Trigger.ELIGIBLE)
S = "{% set s = 'x' * 1000000 %}"
TEN = "[s, s, s, s, s, s, s, s, s, s]"

HOSTILE = [
    '{{ ("\t" * 10000).expandtabs(100000) }}',
    '{{ ("{0:>99999}" * 10000).format(1) }}',
    "{{ ('x' * 100000).translate({120: 'y' * 10000}) }}",
    S + "{{ " + TEN + " }}",
    S + "{{ " + TEN + " | join }}",
    S + "{{ " + TEN + " | string }}",
    S + "{{ " + TEN + " | tojson }}",
    S + "{{ " + TEN + " | pprint }}",
    S + "{{ ''.join(" + TEN + ") }}",
    S + "{% macro m() %}{{ s }}{{ s }}{{ s }}{{ s }}{{ s }}{{ s }}{% endmacro %}{{ m() }}",
    S + "{% set b %}{{ s }}{{ s }}{{ s }}{{ s }}{{ s }}{{ s }}{% endset %}{{ b }}",
    S + "{% filter upper %}{{ s }}{{ s }}{{ s }}{{ s }}{% endfilter %}",
    S + "{{ s ~ s ~ s ~ s }}",
    S + '{{ "%s%s%s%s%s%s" % (s, s, s, s, s, s) }}',
    S + '{{ "%(a)s%(a)s%(a)s%(a)s" % {"a": s} }}',
    S + '{{ "%(a)r" % {"a": s} }}',
    S + '{{ "{0}{0}{0}{0}".format(s) }}',
    S + '{{ "{0!r}".format(s) }}',
    S + '{{ "{a}{a}{a}{a}".format_map({"a": s}) }}',
    S + "{{ '%s%s%s' | format(s, s, s) }}",
    "{{ ('{:>99999}' * 11).format(1,2,3,4,5,6,7,8,9,10,11) }}",
    '{{ ("\\n" * 100000) | indent(99999) }}',
    '{{ ("a " * 100000) | wordwrap(1, wrapstring="x" * 10000) }}',
    '{{ ("x" * 100000) | replace("", "y" * 100) }}',
    '{{ ("x" * 100000).replace("", "y" * 100) }}',
    '{{ range(100000) | batch(99999, fill_with="x" * 100000) | list }}',
    '{{ range(100000) | slice(99999, fill_with="x" * 100000) | list }}',
    '{{ range(100000) | map("string") | join("y" * 100) }}',
    "{{ ((range(100000) | list) * 10) | sort | length }}",
    "{{ (((range(1000) | list),) * 1000) | sum(start=[]) | length }}",
    '{{ ("<" * 1000000) | tojson }}',
    '{{ ("<" * 1000000) | urlencode }}',
    '{{ ("<" * 1000000) | e }}',
    '{{ ("a.co " * 100000) | urlize(target="x" * 1000) }}',
    "{{ ('ß' * 1000000) | upper }}",
    '{{ {}.fromkeys(range(100000), "x" * 100000) }}',
    "{% set ns = namespace(l=[]) %}{% for i in range(10000) %}"
    '{% set ns.l = ns.l + ["x" * 1000000] %}{% endfor %}',
    '{% set ns = namespace(s="") %}{% for i in range(10000) %}'
    '{% set ns.s = ns.s ~ ("x" * 1000) %}{% endfor %}',
    S + "{% for i in range(20000) %}{% if 'y' in s %}{% endif %}{% endfor %}",
    S + "{% for i in range(20000) %}{{ s.count('y') }}{% endfor %}",
    S + "{% for i in range(20000) %}{% if s is string %}{% endif %}{% endfor %}",
    S + "{% for i in range(20000) %}{{ s[::-1] | length }}{% endfor %}",
    "{% set l = range(100000) | list %}{% for i in range(20000) %}{{ l | length }}{% endfor %}",
    "{% set l = range(100000) | list %}{% for i in range(20000) %}{{ l == l }}{% endfor %}",
    "{{ (1).to_bytes(100000, 'big') * 10 }}",
    "{{ 'x'.encode() * 100000000 }}",
    "{{ ('x' * 100000).encode('utf-32') * 3 }}",
    "{% set ns = namespace() %}{% set ns.a = ns %}{{ ns }}",
    "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}",
    '{{ ("%s" * 100000) % (("x" * 10,) * 100000) }}',
    "{{ cycler(*range(100000)) }}",
    "{{ ('\\t' * 100000).expandtabs(99999) }}",
    "{{ ('\\t' * 10000) | replace('\\t', 'x' * 1000) }}",
    "{{ {'a': 'x' * 1000000} | xmlattr }}",
]


def cost(source: str) -> tuple[str, float, int]:
    """The outcome of rendering ``source``, its time, and its peak memory growth."""

    def render() -> str:
        try:
            return "rendered " + templates.render("s", source, CONTEXT).body[:40]
        except templates.RenderFailed as exc:
            return str(exc)

    started = time.monotonic()
    render()  # timed without tracemalloc, which slows Python several times
    elapsed = time.monotonic() - started
    tracemalloc.start()
    try:
        outcome = render()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return outcome, elapsed, peak


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_templates_cost_little(source: str) -> None:
    outcome, elapsed, peak = cost(source)
    assert peak < 64 * 2**20, (outcome, f"{peak / 2**20:.0f} MB")
    assert elapsed < 2.0, (outcome, f"{elapsed:.2f} s")
    refused = ("longer than", "too much work", "limited to", "stop at", "at most")
    assert any(phrase in outcome for phrase in refused), outcome


def test_the_longest_templates_compile_within_bounds() -> None:
    """A body of 50,000 characters (the most a template may have) of filter chains: compiled
    and rendered under +64 MB."""
    unit = "{{ enrollment.firstName | upper | lower | title | center(30) | trim }}"
    source = unit * (50_000 // len(unit))
    rendering._compile.cache_clear()
    outcome, _, peak = cost(source)
    assert outcome.startswith("rendered"), outcome
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MB"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ enrollment.createdAt[:10] }}|{{ 'abcdef'[1:4] }}|{{ [1, 2, 3][::-1] }}", None),
        ("{% if 'a' in 'abc' and 1 < 2 <= 2 and status != 'x' %}yes{% endif %}", "yes"),
        ("{{ '%s-%05d' % ('a', 42) }}|{{ '{}:{:>4}'.format('b', 7) }}", "a-00042|b:   7"),
        ("{{ '{x}!'.format_map({'x': 1}) }}|{{ 'ab' * 3 }}|{{ [1] + [2] }}", "1!|ababab|[1, 2]"),
        (
            "{{ 'a\\tb'.expandtabs(4) }}|{{ 'x'.center(5, '*') }}|{{ 'aXa'.replace('X', '--') }}",
            "a   b|**x**|a--a",
        ),
        (
            "{{ ['a', 'b'] | join(', ') }}|{{ 'hi' | center(6) }}|{{ 'a\\nb' | indent(2) }}",
            "a, b|  hi  |a\n  b",
        ),
        (
            "{{ {'b': 1, 'a': [1, 2]} | tojson }}|{{ range(5) | batch(2) | list }}",
            '{"a": [1, 2], "b": 1}|[[0, 1], [2, 3], [4]]',
        ),
        (
            "{{ enrollment.tags | map('upper') | join('/') }}{% if x is undefined %}-u{% endif %}",
            None,
        ),
        (
            "{% set ns = namespace(n=0) %}{% for t in range(3) %}{% set ns.n = ns.n + t %}"
            "{% endfor %}{{ ns.n }}",
            "3",
        ),
    ],
)
def test_ordinary_templates_render_as_before(source: str, expected: str | None) -> None:
    templates.check({"body": source}, CONTEXT)
    body = templates.render("s", source, CONTEXT).body
    if expected is not None:
        assert body == expected
