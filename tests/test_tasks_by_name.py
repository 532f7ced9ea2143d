"""Services queue tasks by registered name, after the commit (acorn/tasks.py); only tasks modules import tasks."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from acorn.tasks import UnknownTask, enqueue_now, enqueue_on_commit, task_named
from tests.conftest import EnqueuedTasks
from tests.test_architecture import ROOT, imports_of, module_name, product_modules

ENQUEUE_FUNCTIONS = ("enqueue_on_commit", "enqueue_now", "enqueue_now_many")


def _enqueue_calls() -> list[tuple[str, int, ast.Call]]:
    calls = []
    for path in product_modules():
        if module_name(path) == "acorn.tasks":
            continue  # the helpers themselves
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ENQUEUE_FUNCTIONS:
                calls.append((str(path.relative_to(ROOT)), node.lineno, node))
    return calls


def test_every_task_the_code_queues_by_name_is_registered() -> None:
    # given every enqueue call in the product code
    calls = _enqueue_calls()
    assert len(calls) >= 15, "the walk found the enqueue calls"
    problems = []
    for where, line, call in calls:
        # then: its first argument is a literal name (so this test can check it) of a registered task
        first = call.args[0] if call.args else None
        if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
            problems.append(f"{where}:{line} names its task by a non-literal")
            continue
        try:
            task = task_named(first.value)
        except UnknownTask:
            problems.append(f"{where}:{line} {first.value!r} is no registered task")
            continue
        # and its keywords are ones the task takes (besides the queueing options)
        keywords = {keyword.arg for keyword in call.keywords if keyword.arg is not None} - {"countdown", "robust"}
        accepted = set(inspect.signature(task.run).parameters)
        if not keywords <= accepted:
            problems.append(f"{where}:{line} {first.value!r} does not take {sorted(keywords - accepted)}")
    assert not problems, "\n".join(problems)


def test_only_tasks_modules_import_tasks_and_nothing_else_sends_them() -> None:
    # given every product module that is not a tasks module
    found = []
    for path in product_modules():
        module = module_name(path)
        if module.endswith(".tasks") or module in ("acorn.tasks", "acorn.celery"):
            continue
        for item in imports_of(path):
            # then: it imports no tasks module (the tenant task base excepted, which only tasks modules use) ...
            if (item.target.endswith(".tasks") or ".tasks." in item.target) and not item.target.startswith(
                "acorn.tasks"
            ):
                found.append(f"{path.relative_to(ROOT)}:{item.line} imports {item.target}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # ... and sends no task itself: services go through acorn.tasks
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("delay", "apply_async", "send_task")
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} calls .{node.func.attr}()")
    assert not found, "queue tasks through acorn.tasks.enqueue_on_commit:\n" + "\n".join(found)


@pytest.mark.django_db(transaction=True)
def test_a_task_is_sent_after_the_commit_and_never_after_a_rollback(enqueued: EnqueuedTasks) -> None:
    # given a transaction that queues a task and one that queues and rolls back
    with transaction.atomic():
        enqueue_on_commit("orders.confirm_shipment", tenant_id=1, shipment_id=2)
        # then: nothing is sent while the transaction is open
        assert enqueued == []
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit("orders.confirm_shipment", tenant_id=1, shipment_id=3)
        raise RuntimeError("rolled back")
    # then: only the committed one was sent, once, by name, with its arguments as JSON
    assert [(task.name, kwargs) for task, kwargs in enqueued] == [
        ("orders.confirm_shipment", {"tenant_id": 1, "shipment_id": 2})
    ]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_task_is_sent_at_once_with_its_countdown(
    enqueued: EnqueuedTasks, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the options apply_async receives
    from celery.app.task import Task

    options: list[dict[str, Any]] = []
    recording: Callable[..., Any] = Task.apply_async

    def apply_async(self: Task[Any, Any], args: Any = None, kwargs: Any = None, **more: Any) -> None:
        options.append(more)
        recording(self, args, kwargs)

    monkeypatch.setattr(Task, "apply_async", apply_async)
    # when
    enqueue_on_commit("refunds.poll_refund_feed", countdown=60, tenant_id=1, refund_id=9)
    enqueue_now("refunds.execute_refund", tenant_id=1, refund_id=9)
    # then
    assert [task.name for task, _kwargs in enqueued] == ["refunds.poll_refund_feed", "refunds.execute_refund"]
    assert options == [{"countdown": 60}, {}]


@pytest.mark.django_db
def test_an_unknown_name_raises_in_the_caller_before_anything_is_queued(
    enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # when a service names a task that does not exist
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(UnknownTask):
        enqueue_on_commit("orders.confirm_shipments", tenant_id=1, shipment_id=2)
    # then: the caller learns at once, and nothing waits for the commit
    assert callbacks == [] and enqueued == []
