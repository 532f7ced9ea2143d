"""Reads of the QuickBooks connection and of the journals due for posting."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from acorn.tenancy.models import Tenant
from finance.ledger.models import Account, JournalEntry, JournalLine, JournalStatus
from finance.quickbooks.models import QuickBooksConnection, QuickBooksStatus


def quickbooks_connection_get(*, tenant: Tenant) -> QuickBooksConnection | None:
    """The tenant's connection (whatever its status), or None."""
    return QuickBooksConnection.objects.filter(tenant=tenant).select_related("connected_by").first()


def quickbooks_connections_active() -> QuerySet[QuickBooksConnection]:
    """Connections that can post (for the scheduled posting; the caller opens an unscoped block)."""
    return QuickBooksConnection.objects.filter(status=QuickBooksStatus.CONNECTED, tenant__is_active=True).order_by(
        "tenant_id"
    )


def journals_unmatched(*, tenant: Tenant) -> QuerySet[JournalEntry]:
    """Journals not yet posted that use an account with no QuickBooks account matched."""
    missing = JournalLine.objects.filter(tenant=tenant, entry=OuterRef("pk"), account__quickbooks_id="")
    return (
        JournalEntry.objects.filter(tenant=tenant, external_id="", line_count__gt=0)
        .exclude(status=JournalStatus.POSTED)
        .filter(Exists(missing))
        .order_by("date", "pk")
    )


def journals_due_for_posting(
    *, tenant: Tenant, month: date | None = None, max_attempts: int | None = None
) -> QuerySet[JournalEntry]:
    """Journals to post: draft or exported, not posted, with lines, every account matched, and fewer failed
    attempts than the limit; oldest first. `month` narrows to one period (its first day)."""
    limit = settings.ACORN_QUICKBOOKS_MAX_ATTEMPTS if max_attempts is None else max_attempts
    missing = JournalLine.objects.filter(tenant=tenant, entry=OuterRef("pk"), account__quickbooks_id="")
    due = (
        JournalEntry.objects.filter(
            tenant=tenant,
            status__in=[JournalStatus.DRAFT, JournalStatus.EXPORTED],
            external_id="",
            posted_at__isnull=True,
            line_count__gt=0,
            post_attempts__lt=limit,
        )
        .exclude(Exists(missing))
        .order_by("date", "pk")
    )
    if month is not None:
        due = due.filter(period=month.replace(day=1))
    return due


def journals_failed(*, tenant: Tenant) -> QuerySet[JournalEntry]:
    """Journals whose last posting failed (the console lists them with QuickBooks' message)."""
    return (
        JournalEntry.objects.filter(tenant=tenant, external_id="")
        .exclude(post_error="")
        .exclude(status=JournalStatus.POSTED)
        .order_by("-date", "-pk")
    )


def accounts_unmatched(*, tenant: Tenant) -> QuerySet[Account]:
    """Active accounts of the chart with no QuickBooks account matched."""
    return Account.objects.filter(tenant=tenant, active=True, quickbooks_id="").order_by("name")
