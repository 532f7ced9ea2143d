"""Celery tasks of the refunds app: thin wrappers that load by id and call one service.

Execution of approved console refunds on their channel (refunds.execution): a per-refund task queued on
commit, a per-refund Amazon feed poll, and a beat fan-out for due retries, lost tasks and feed polls.
"""

from __future__ import annotations

import logging

from celery import shared_task

from acorn.tenancy.tasks import TenantTask

logger = logging.getLogger(__name__)


@shared_task(name="refunds.execute_refund", base=TenantTask, bind=True, acks_late=True)
def execute_refund_task(self: TenantTask, *, tenant_id: int, refund_id: int) -> str:
    """Execute one approved refund on its channel. Safe to run twice: the send is claimed first."""
    from refunds.execution import refund_execute

    return refund_execute(refund_pk=refund_id)


@shared_task(name="refunds.poll_refund_feed", base=TenantTask, bind=True, acks_late=True)
def poll_refund_feed_task(self: TenantTask, *, tenant_id: int, refund_id: int) -> str:
    """Read the processing report of an Amazon refund's adjustment feed and settle the refund."""
    from refunds.execution import refund_feed_poll

    return refund_feed_poll(refund_pk=refund_id)


@shared_task(name="refunds.dispatch_refund_executions", acks_late=True)
def dispatch_refund_executions_task() -> int:
    """Beat, every minute: queue due executions and retries (and ones whose task was lost) and due Amazon
    feed reads. Returns how many were queued."""
    from refunds.execution import due_executions_unscoped

    due = due_executions_unscoped()
    for tenant_id, refund_id in due.executions:
        execute_refund_task.delay(tenant_id=tenant_id, refund_id=refund_id)
    for tenant_id, refund_id in due.polls:
        poll_refund_feed_task.delay(tenant_id=tenant_id, refund_id=refund_id)
    return len(due.executions) + len(due.polls)


@shared_task(name="refunds.restock_returns", acks_late=True)
def restock_returns_task() -> int:
    """Beat, every 15 minutes: received returns restocked by their disposition (FBA: left to Amazon)."""
    from refunds.restock import returns_restock_by_disposition_unscoped

    return returns_restock_by_disposition_unscoped()
