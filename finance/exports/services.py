"""Writes of journal exports: `journals_export` builds what is missing, writes the file(s), locks and records.

An export is all-or-nothing in one transaction: the statements in scope that have no journal yet get theirs
(finance.ledger.services.settlement_journals), the journals of the scope are written in the chosen format (a
writer refuses rather than writing a file the importer would reject), then locked as exported (they never change
again: later changes become adjustment journals), and the export is recorded with its files' bytes and SHA-256
and audited. Exporting the same scope again writes the same journals again (an accountant may need the file
twice) plus any new ones; re-downloading an export returns its stored bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record
from acorn.tenancy.models import Tenant
from channels.models import Store
from finance.exports.formats import EXTENSIONS, ExportOptions, JournalExportError, journals_write
from finance.exports.models import DateFormat, ExportFormat, JournalExport, JournalExportFile
from finance.exports.selectors import journals_for_export, journals_in_scope, statements_in_scope
from finance.ledger.models import JournalEntry, JournalStatus
from finance.ledger.services import ClosedPeriodError, journals_lock, settlement_journals
from finance.settlements.models import Settlement

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "iif": "text/plain; charset=utf-8"}


class EmptyExportScopeError(JournalExportError):
    """Nothing to export in the scope."""


@dataclass(frozen=True)
class JournalExportOptions:
    """What the person chose besides format and scope: the date format ("" = the format's default) and whether
    store / marketplace go into the class and tracking columns."""

    date_format: str = DateFormat.DEFAULT
    tracking: bool = True


def _file_stem(tenant: Tenant, settlement: Settlement | None, month: date | None, store: Store | None) -> str:
    parts = ["journals", tenant.slug]
    if store is not None:
        parts.append(f"store{store.pk}")
    if settlement is not None:
        parts.append(settlement.external_id)
    if month is not None:
        parts.append(month.strftime("%Y-%m"))
    return slugify("-".join(parts))[:120] or "journals"


def _check_owned(tenant: Tenant, settlement: Settlement | None, store: Store | None) -> None:
    for owned in (settlement, store):
        if owned is not None and owned.tenant_id != tenant.pk:
            raise ValueError(f"{owned!r} belongs to another tenant")


def _build_missing(
    *, tenant: Tenant, settlement: Settlement | None, month: date | None, store: Store | None, actor: User | None
) -> None:
    """Journals for the statements in scope that have none yet."""
    statements = statements_in_scope(tenant=tenant, settlement=settlement, month=month, store=store).exclude(
        pk__in=JournalEntry.objects.filter(tenant=tenant, settlement__isnull=False).values("settlement_id")
    )
    for statement in statements:
        try:
            settlement_journals(settlement=statement, actor=actor)
        except ClosedPeriodError as error:
            raise JournalExportError(
                _("The journals of statement %(id)s cannot be built: %(problem)s")
                % {"id": statement.external_id, "problem": " ".join(error.messages)}
            ) from error


@transaction.atomic
def journals_export(
    *,
    tenant: Tenant,
    format: str,  # the contract's name (DESIGN.md: export_journals --format)
    settlement: Settlement | None = None,
    month: date | None = None,
    store: Store | None = None,
    actor: User | None,
    options: JournalExportOptions | None = None,
) -> JournalExport:
    """Export the journals of the scope (a statement, a month, a store; together they narrow it; none = every
    journal) in `format`: builds missing statement journals, writes the file(s), locks the journals as exported,
    records and audits the export. Raises JournalExportError (EmptyExportScopeError for an empty scope), writing
    nothing."""
    if format not in ExportFormat.values:
        raise JournalExportError(_("Unknown export format %(format)s.") % {"format": format})
    _check_owned(tenant, settlement, store)
    chosen = options or JournalExportOptions()
    if month is not None:
        month = month.replace(day=1)
    _build_missing(tenant=tenant, settlement=settlement, month=month, store=store, actor=actor)
    journals = journals_for_export(journals_in_scope(tenant=tenant, settlement=settlement, month=month, store=store))
    if not journals:
        raise EmptyExportScopeError(_("There are no journals to export in this scope."))
    writer_options = ExportOptions(
        home_currency=tenant.reporting_currency, date_format=chosen.date_format, tracking=chosen.tracking
    )
    contents = journals_write(format, journals, writer_options)
    journals_lock(entries=journals, status=JournalStatus.EXPORTED)
    line_count = sum(len(entry.lines.all()) for entry in journals)
    export = JournalExport.objects.create(
        tenant=tenant,
        format=format,
        settlement=settlement,
        month=month,
        store=store,
        options=writer_options.as_json(),
        journal_count=len(journals),
        line_count=line_count,
        created_at=timezone.now(),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    export.journals.set(journals)
    extension = EXTENSIONS[format]
    stem = f"{_file_stem(tenant, settlement, month, store)}-{format}"
    files = [
        JournalExportFile(
            tenant=tenant,
            export=export,
            position=position,
            name=f"{stem}-{position}.{extension}" if len(contents) > 1 else f"{stem}.{extension}",
            content_type=_CONTENT_TYPES[extension],
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            content=content,
        )
        for position, content in enumerate(contents, start=1)
    ]
    JournalExportFile.objects.bulk_create(files)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="finance.journals_exported",
        target=export,
        after={
            "format": format,
            "settlement": settlement.external_id if settlement is not None else None,
            "month": month.strftime("%Y-%m") if month is not None else None,
            "store": store.pk if store is not None else None,
            "journals": [entry.number for entry in journals],
            "lines": line_count,
            "files": {file.name: file.sha256 for file in files},
        },
    )
    return export
