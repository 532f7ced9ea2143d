"""Retention rules for the sync log, quarantined records and webhook deliveries (acorn.tenancy.retention).

* **Sync runs** that started before the cut-off and have finished are deleted (a running one is left to
  end). Quarantined records that pointed at them keep their reason (the link is cleared).
* **Quarantined records** (raw vendor payloads that could not be parsed) last seen before the cut-off are
  deleted.
* **Webhook events** (raw vendor payloads) received before the cut-off are deleted once processed, ignored
  or failed for good; one still waiting or retrying is an open item and stays.

None of these is named by the books.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from acorn.tenancy.models import Tenant
from acorn.tenancy.retention import DELETE, RetentionRule, register_retention_rule
from channels.models import QuarantinedRecord, SyncRun, SyncRunStatus, WebhookEvent, WebhookStatus

FINAL_WEBHOOK_STATUSES = (WebhookStatus.PROCESSED, WebhookStatus.IGNORED, WebhookStatus.FAILED)


def sync_runs_to_delete(tenant: Tenant, cutoff: datetime) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(tenant=tenant, started_at__lt=cutoff).exclude(status=SyncRunStatus.RUNNING)


def quarantined_to_delete(tenant: Tenant, cutoff: datetime) -> QuerySet[QuarantinedRecord]:
    return QuarantinedRecord.objects.filter(tenant=tenant, last_seen_at__lt=cutoff)


def webhook_events_to_delete(tenant: Tenant, cutoff: datetime) -> QuerySet[WebhookEvent]:
    return WebhookEvent.objects.filter(tenant=tenant, received_at__lt=cutoff, status__in=FINAL_WEBHOOK_STATUSES)


def register() -> None:
    """Called from ChannelsConfig.ready()."""
    register_retention_rule(RetentionRule("sync_runs", _("Sync log"), DELETE, 40, sync_runs_to_delete, "started_at"))
    register_retention_rule(
        RetentionRule(
            "quarantined_records", _("Quarantined vendor records"), DELETE, 41, quarantined_to_delete, "last_seen_at"
        )
    )
    register_retention_rule(
        RetentionRule("webhook_events", _("Webhook deliveries"), DELETE, 42, webhook_events_to_delete, "received_at")
    )
