"""The Celery application. Broker and schedule come from Django settings (CELERY_* namespace).

The trace id travels with every task: the sender's current trace id goes into the message headers
(before_task_publish), and the worker binds it, with the task's name and id, for the task's log lines
(task_prerun; undone in task_postrun). A task sent by beat has no trace id yet and gets a new one.
"""

import os
from typing import Any

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

from acorn import logcontext

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acorn.settings.local")

app = Celery("acorn")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The message header that carries the trace id from the sender to the worker.
TRACE_HEADER = "acorn_trace_id"
_bound: dict[str, logcontext.Bound] = {}


@before_task_publish.connect
def _trace_id_into_headers(headers: dict[str, Any] | None = None, **_: Any) -> None:
    trace_id = logcontext.current_trace_id()
    if headers is not None and trace_id and TRACE_HEADER not in headers:
        headers[TRACE_HEADER] = trace_id


@task_prerun.connect
def _bind_task_context(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    request = getattr(task, "request", None)
    incoming = getattr(request, TRACE_HEADER, None) or (getattr(request, "headers", None) or {}).get(TRACE_HEADER)
    # An eager task (apply) runs in its sender's context and keeps its trace id; beat's tasks start one.
    trace_id = str(incoming or logcontext.current_trace_id() or logcontext.new_trace_id())
    if task_id:
        _bound[task_id] = logcontext.bind(trace_id=trace_id, task=getattr(task, "name", None), task_id=task_id)


@task_postrun.connect
def _unbind_task_context(task_id: str | None = None, **_: Any) -> None:
    handle = _bound.pop(task_id or "", None)
    if handle is not None:
        handle.unbind()
