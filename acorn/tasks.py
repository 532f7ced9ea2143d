"""Queueing Celery tasks from services: by the task's registered name, once the transaction has committed.

The house rule (STYLE §3): a service never sends a task from inside its transaction — the worker could run
it before the rows it needs are committed, or for rows that are rolled back. It calls
``enqueue_on_commit("orders.confirm_shipment", tenant_id=…, shipment_id=…)``: the task is sent when the
transaction commits (at once when there is none) and never when it rolls back. Code that already runs after
the commit (an on-commit callback that gathers a transaction's work, or a task) sends with `enqueue_now`.

Services name the task instead of importing it, and that is the one way for the whole house: a tasks module
imports the services it wraps at its top, so a service importing its tasks module back would close a cycle
(170 imports used to hide inside functions to dodge them). The registered name is the stable contract
already — the beat schedule, the queue routes and the messages waiting in the broker all use it — and it is
checked when the service calls, inside its transaction: an unknown name raises there, not after the commit
(tests/test_tasks_by_name.py also checks every name the code uses).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from celery import Task
from django.db import transaction

from acorn.celery import app


class UnknownTask(LookupError):
    """No Celery task is registered under this name."""


def task_named(name: str) -> Task[Any, Any]:
    """The registered task called `name`. A process that has not imported every app's tasks module yet (the
    web server) imports them first, as the worker does when it starts."""
    if name not in app.tasks:
        app.autodiscover_tasks(force=True)
    try:
        return app.tasks[name]
    except KeyError:
        raise UnknownTask(f"No Celery task is registered as {name!r}.") from None


def enqueue_now(task_name: str, /, *, countdown: float | None = None, **kwargs: Any) -> None:
    """Send the task now with these keyword arguments (primitive ids, JSON only), after `countdown` seconds
    when given. Only for code that runs after the commit; a service uses `enqueue_on_commit`."""
    task = task_named(task_name)
    if countdown is None:
        task.apply_async(kwargs=kwargs)
    else:
        task.apply_async(kwargs=kwargs, countdown=countdown)


def enqueue_now_many(task_name: str, calls: Iterable[Mapping[str, Any]], /) -> int:
    """Send the task once per keyword-argument mapping in `calls`, now, through one producer (one broker
    connection for the whole batch, where `enqueue_now` takes one from the pool per message). For a beat
    fan-out that queues thousands at a time; only for code that runs after the commit. Returns how many."""
    task = task_named(task_name)
    sent = 0
    with app.producer_or_acquire() as producer:
        for call in calls:
            kwargs = dict(call)
            # Celery shows the arguments in logs and monitors as `argsrepr`/`kwargsrepr`; its saferepr of a
            # few ids and names equals repr() and costs a third of the send, so it is given here.
            options: dict[str, Any] = {"producer": producer, "argsrepr": "()", "kwargsrepr": repr(kwargs)}
            task.apply_async(kwargs=kwargs, **options)
            sent += 1
    return sent


def enqueue_on_commit(
    task_name: str, /, *, countdown: float | None = None, robust: bool = False, **kwargs: Any
) -> None:
    """Send the task once the current transaction commits (at once outside a transaction; never after a
    rollback). `robust`: a failure to send is logged instead of raised into the code that committed. The name
    is checked now: an unknown one raises UnknownTask in the caller's transaction."""
    task_named(task_name)
    transaction.on_commit(lambda: enqueue_now(task_name, countdown=countdown, **kwargs), robust=robust)
