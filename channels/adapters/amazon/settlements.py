"""Amazon settlements: the settlement V2 flat-file reports Amazon generates every settlement period (they
can be listed, never requested), and their documents read into a SettlementDocument.

Finance part 1 builds its settlement sync on this; `manage.py import_settlement` reads files by hand.
"""

from __future__ import annotations

from datetime import datetime

from channels.adapters.amazon.reports import SETTLEMENT_REPORT_TYPE, ReportsApi
from channels.adapters.base import Page, SettlementDocument, SettlementListing, SettlementReference


class SettlementsApi(ReportsApi, SettlementListing):
    """Settlement V2 reports, from the Reports API."""

    def list_settlements(self, *, created_since: datetime | None, page_token: str | None) -> Page[SettlementReference]:
        """One page of the settlement reports Amazon lists (newest first)."""
        page = self.list_reports(report_type=SETTLEMENT_REPORT_TYPE, created_since=created_since, page_token=page_token)
        return Page(
            items=tuple(
                SettlementReference(
                    report_id=report.report_id,
                    document_id=report.document_id,
                    created_at=report.created_at,
                    period_start=report.data_start,
                    period_end=report.data_end,
                    marketplaces=report.marketplaces,
                )
                for report in page.items
                if report.document_id
            ),
            bad_records=page.bad_records,
            next_token=page.next_token,
            rate_limit=page.rate_limit,
        )

    def read_settlement_document(self, reference: SettlementReference) -> SettlementDocument:
        """The settlement's header and every row (`read_settlement`)."""
        return self.read_settlement(document_id=reference.document_id)
