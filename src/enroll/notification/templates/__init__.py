"""Notification templates: Jinja2 in a sandbox, checked on save, rendered with a work budget.

The environment is Jinja2's ``ImmutableSandboxedEnvironment`` (no attribute starting with an
underscore, no internal attributes of functions, frames or classes, no method that changes a
list or dict), without loaders (no ``include``, ``import``, ``extends``). A template is checked
when it is saved by compiling it and rendering it, with ``StrictUndefined``, against a sample
context that has every field the real one has (``sample_context`` in
enrollment/notification_templates.py): a misspelt name or field, or an unsafe attribute, is an
error then. Sending renders with ``ChainableUndefined``:
a value the real data lacks (a null address) is empty text rather than a lost message.

The sandbox keeps a template from reaching Python internals; it does not bound the work a
template asks for. Rendering therefore spends a budget: every call, filter, test, comparison,
attribute read, loop iteration and guarded operator costs a step, and building text or lists
costs a step per hundred items; past ``MAX_STEPS`` the render stops with ``LimitExceeded``.

Sizes are checked before an operation runs, never by measuring what it built: a value of a
gigabyte must not exist even for a moment. Each amplifying operation (``*``, ``+``, ``%``,
``str.format``, ``expandtabs``, ``ljust``, ``replace``, ``translate``, ``join``, the filters
``indent``, ``wordwrap``, ``batch``, ``tojson`` …, printing, and the join of a macro's or a
block's output) has its result's length bounded from its arguments (``method_bound``,
``filter_bound``, ``percent_bound``, ``BoundedFormatter``, ``SandboxEnvironment.concat``) and
is refused past ``MAX_SIZE``. Containers are sized by what they would print (``weight``): a
list holding one long text a thousand times is small in memory and huge once printed. The
rendered body is capped at ``MAX_BODY_CHARS``, the subject at ``MAX_SUBJECT_CHARS``.

Where things are: ``budget.py`` (the limits, the budget), ``sizes.py`` (what a value would
print), ``bounds.py`` (what an operation may build), ``guards.py`` (filters, tests, loops,
``~``, comparisons, slices), ``environment.py`` (the sandboxed environment),
``rendering.py`` (``check``, ``render``), ``samples.py`` (``sample_of``).
"""

from enroll.notification.templates.budget import MAX_BODY_CHARS, MAX_SUBJECT_CHARS, LimitExceeded
from enroll.notification.templates.rendering import (
    Rendered,
    RenderFailed,
    TemplateInvalid,
    check,
    render,
)
from enroll.notification.templates.samples import sample_of

__all__ = [
    "MAX_BODY_CHARS",
    "MAX_SUBJECT_CHARS",
    "LimitExceeded",
    "RenderFailed",
    "Rendered",
    "TemplateInvalid",
    "check",
    "render",
    "sample_of",
]
