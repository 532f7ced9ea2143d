"""Reads of journal exports: the statements and journals in an export's scope, and a tenant's export history."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from acorn.tenancy.models import Tenant
from channels.models import Store
from finance.exports.models import JournalExport, JournalExportFile
from finance.ledger.models import JournalEntry, JournalLine
from finance.settlements.models import Settlement


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def statements_in_scope(
    *, tenant: Tenant, settlement: Settlement | None = None, month: date | None = None, store: Store | None = None
) -> QuerySet[Settlement]:
    """The statements whose journals may fall in the scope: the one statement, those of the store, and those whose
    period or deposit touches the month (a statement's journals are dated by posting month and deposit)."""
    statements = Settlement.objects.filter(tenant=tenant)
    if settlement is not None:
        statements = statements.filter(pk=settlement.pk)
    if store is not None:
        statements = statements.filter(store=store)
    if month is not None:
        start = datetime.combine(month, time.min, tzinfo=UTC)
        end = datetime.combine(next_month(month), time.min, tzinfo=UTC)
        statements = statements.filter(period_start__lt=end).filter(
            Q(period_end__gte=start) | Q(deposit_date__gte=start)
        )
    return statements.select_related("store", "tenant").order_by("period_end", "pk")


def journals_in_scope(
    *, tenant: Tenant, settlement: Settlement | None = None, month: date | None = None, store: Store | None = None
) -> QuerySet[JournalEntry]:
    """The journals an export of this scope writes, whatever their status (a re-export writes the same ones again),
    oldest first. Scopes combine: a month of one store, a statement's journals in one month."""
    journals = JournalEntry.objects.filter(tenant=tenant, line_count__gt=0)
    if settlement is not None:
        journals = journals.filter(settlement=settlement)
    if store is not None:
        journals = journals.filter(store=store)
    if month is not None:
        journals = journals.filter(period=month)
    return journals.order_by("date", "number", "pk")


def journals_for_export(journals: QuerySet[JournalEntry]) -> list[JournalEntry]:
    """The journals with what the writers read (lines in order, their accounts and stores) loaded."""
    lines = JournalLine.objects.select_related("account", "store").order_by("line_number")
    return list(journals.select_related("store").prefetch_related(Prefetch("lines", queryset=lines)))


def journal_export_list(*, tenant: Tenant) -> QuerySet[JournalExport]:
    """The tenant's exports, newest first, with who made them, their scope and their files (without the bytes)."""
    files = JournalExportFile.objects.defer("content").order_by("position")
    return (
        JournalExport.objects.filter(tenant=tenant)
        .select_related("created_by", "settlement", "store")
        .prefetch_related(Prefetch("files", queryset=files))
        .order_by("-created_at", "-pk")
    )


def journal_export_get_or_404(*, tenant: Tenant, pk: int) -> JournalExport:
    """One export of the tenant; another tenant's answers 404."""
    export = journal_export_list(tenant=tenant).filter(pk=pk).first()
    if export is None:
        raise Http404
    return export


def journal_export_file_get_or_404(*, export: JournalExport, position: int) -> JournalExportFile:
    """One file of an export, bytes included."""
    found = JournalExportFile.objects.filter(tenant_id=export.tenant_id, export=export, position=position).first()
    if found is None:
        raise Http404
    return found
