"""Amazon settlements from the API: the statement source of the "settlements" job for channels that list
settlements (Capability.LIST_SETTLEMENTS).

Amazon writes a GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2 report per closed settlement; it can only be
listed (never requested) and is kept about 90 days. The listing ignores the marketplace filter, so every
store of a seller sees every marketplace's settlements: a settlement belongs to the store when its report's
marketplaceIds, and then its file's marketplace-name, name a marketplace the store sells in; the others are
skipped (counted, not errors).

`fetch` (outside the engine's transaction, with the adapter) lists one page and downloads each settlement
the store has not imported yet (same report, already kept: not downloaded again). A settlement with rows that
cannot be read is returned as ONE bad record naming its rows and columns: the engine quarantines it
(QuarantinedRecord, shown with the sync run) and nothing of it is imported. `persist` (inside the engine's
page transaction) imports each document with `settlement_import`, idempotent on the settlement id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from channels.adapters.base import (
    BadRecord,
    Capability,
    ChannelAdapter,
    ChannelError,
    ChannelRetryableError,
    Page,
    SettlementDocument,
    SettlementListing,
    SettlementReference,
)
from channels.marketplaces import marketplace_by_domain
from channels.models import Store
from channels.sync import PersistCounts
from finance.settlements.models import Settlement, SettlementKind, SettlementSource
from finance.settlements.services import settlement_import
from finance.settlements.sync import StatementSource

# Amazon keeps settlement reports about 90 days and refuses createdSince further back; a day's margin.
REPORT_HISTORY = timedelta(days=89)
BAD_ROWS_SHOWN = 20


@dataclass(frozen=True)
class FetchedSettlement:
    """A listed settlement: its document when the store imports it, else why it is skipped."""

    reference: SettlementReference
    updated_at: datetime
    document: SettlementDocument | None = None
    skipped_because: str = ""


def _store_marketplaces(store: Store) -> set[str]:
    return set(store.marketplaces or ())


def _file_marketplaces(document: SettlementDocument) -> set[str]:
    """ACORN's codes of the marketplaces the file's rows name (marketplace-name: "Amazon.de")."""
    codes = set()
    for line in document.lines:
        found = marketplace_by_domain(line.marketplace_name) if line.marketplace_name else None
        if found is not None:
            codes.add(found.code)
    return codes


def _already_imported(store: Store, report_id: str) -> bool:
    return Settlement.objects.filter(
        store=store, kind=SettlementKind.AMAZON_SETTLEMENT, source_reference=report_id
    ).exists()


def _quarantined(reference: SettlementReference, document: SettlementDocument) -> BadRecord:
    """One bad record for a settlement with unreadable rows: every reason up to BAD_ROWS_SHOWN, and the rows."""
    reasons = [record.reason for record in document.bad_records]
    shown = "; ".join(reasons[:BAD_ROWS_SHOWN]) + ("; …" if len(reasons) > BAD_ROWS_SHOWN else "")
    return BadRecord(
        reason=(
            f"Settlement {document.settlement_id} (report {reference.report_id}): {len(reasons)} row(s) cannot "
            f"be read, so nothing of it was imported: {shown}"
        ),
        raw={
            "report_id": reference.report_id,
            "document_id": reference.document_id,
            "settlement_id": document.settlement_id,
            "bad_rows": [dict(record.raw) for record in document.bad_records[:BAD_ROWS_SHOWN]],
        },
        external_id=document.settlement_id,
    )


def _unreadable(reference: SettlementReference, error: ChannelError) -> BadRecord:
    return BadRecord(
        reason=f"Settlement report {reference.report_id} cannot be read, so nothing of it was imported: {error}",
        raw={"report_id": reference.report_id, "document_id": reference.document_id},
        external_id=reference.report_id,
    )


def fetch_settlements(
    adapter: ChannelAdapter, window_start: datetime, window_end: datetime | None, page_token: str | None
) -> Page[FetchedSettlement]:
    """One page of the seller's settlement reports, the store's new ones downloaded and parsed."""
    listing = adapter.require(SettlementListing)
    store = adapter.store
    since = max(window_start, timezone.now() - REPORT_HISTORY)
    page = listing.list_settlements(created_since=since, page_token=page_token)
    ours = _store_marketplaces(store)
    items: list[FetchedSettlement] = []
    bad: list[BadRecord] = list(page.bad_records)
    for reference in page.items:
        when = reference.created_at or reference.period_end or timezone.now()
        if reference.marketplaces and not set(reference.marketplaces) & ours:
            items.append(FetchedSettlement(reference, when, skipped_because="marketplace"))
            continue
        if _already_imported(store, reference.report_id):
            items.append(FetchedSettlement(reference, when, skipped_because="imported"))
            continue
        try:
            document = listing.read_settlement_document(reference)
        except ChannelRetryableError:
            raise
        except ChannelError as error:  # a document missing a column, an unreadable summary row, bad gzip
            bad.append(_unreadable(reference, error))
            continue
        found = _file_marketplaces(document)
        if found and not found & ours:
            items.append(FetchedSettlement(reference, when, skipped_because="marketplace"))
        elif document.bad_records:
            bad.append(_quarantined(reference, document))
        elif document.end < document.start:
            bad.append(_unreadable(reference, ChannelError("settlement-end-date is before settlement-start-date")))
        else:
            items.append(FetchedSettlement(reference, when, document=document))
    return Page(items=tuple(items), bad_records=tuple(bad), next_token=page.next_token, rate_limit=page.rate_limit)


def persist_settlements(store: Store, items: Sequence[FetchedSettlement]) -> PersistCounts:
    """Import each downloaded settlement (idempotent on its id); skipped ones are counted as skipped."""
    created = skipped = 0
    for item in items:
        if item.document is None:
            skipped += 1
            continue
        result = settlement_import(
            store=store,
            kind=SettlementKind.AMAZON_SETTLEMENT,
            source=SettlementSource.API,
            header=item.document.header,
            lines=item.document.lines,
            source_reference=item.reference.report_id,
        )
        if result.created:
            created += 1
        else:
            skipped += 1
    return PersistCounts(created=created, skipped=skipped)


AMAZON_SETTLEMENTS = StatementSource(
    capability=Capability.LIST_SETTLEMENTS, fetch=fetch_settlements, persist=persist_settlements
)
