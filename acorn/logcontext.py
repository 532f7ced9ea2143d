"""What a log line is about: the trace id, tenant, store and task of the work running now.

Context variables, so that every log line written inside a request, a task or a sync run carries the same
ids without each call site passing them (the log filter in acorn/logging_json.py reads them). The trace id
starts at the edge — a request (RequestIdMiddleware: an upstream X-Request-ID if well-formed, else a new
one) or a beat-sent task (a new one in task_prerun) — and travels into every task sent from there in the
task's headers (acorn/celery.py). A sync run binds its own SyncRun.trace_id, the id the store page shows,
and logs the id it was started under as ``parent_trace_id``.

This module imports nothing from the project: settings, middleware, tasks and the sync engine all use it.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# The trace id of the current request, task or sync run ("" outside of one). audit_record() stores it as the
# audit event's request id (acorn.tenancy.scoping.request_id_var is this variable).
trace_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("acorn_trace_id", default="")

# The other ids of the current work: tenant_id, store_id, task, task_id. Replaced, never mutated.
_fields_var: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("acorn_log_fields", default={})  # noqa: B039 - never mutated

# The context keys every line carries (empty when unknown), in this order.
CONTEXT_KEYS = ("trace_id", "tenant_id", "store_id", "task", "task_id")


def new_trace_id() -> str:
    return uuid.uuid4().hex


def current_trace_id() -> str:
    return trace_id_var.get()


def current() -> dict[str, Any]:
    """The ids of the work running now: every key of CONTEXT_KEYS, None where unknown."""
    fields: dict[str, Any] = dict.fromkeys(CONTEXT_KEYS)
    fields.update(_fields_var.get())
    fields["trace_id"] = trace_id_var.get() or None
    return fields


class Bound:
    """The tokens of one bind(); unbind() restores what was there before."""

    def __init__(self, trace_token: contextvars.Token[str] | None, fields_token: contextvars.Token[dict[str, Any]]):
        self.trace_token, self.fields_token = trace_token, fields_token

    def unbind(self) -> None:
        _fields_var.reset(self.fields_token)
        if self.trace_token is not None:
            trace_id_var.reset(self.trace_token)


def bind(*, trace_id: str | None = None, **fields: Any) -> Bound:
    """Add ids to the current context (a trace_id replaces the current one). Undo with the result's unbind()."""
    trace_token = trace_id_var.set(trace_id) if trace_id is not None else None
    fields_token = _fields_var.set({**_fields_var.get(), **fields})
    return Bound(trace_token, fields_token)


@contextmanager
def bound(*, trace_id: str | None = None, **fields: Any) -> Iterator[None]:
    """bind() for the length of a with-block."""
    handle = bind(trace_id=trace_id, **fields)
    try:
        yield
    finally:
        handle.unbind()
