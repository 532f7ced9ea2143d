"""Amazon Finances APIs: 2024-06-19 `listTransactions` (deferred and released transactions, refunds among
them) and v0 `listFinancialEvents` / `getFinancialEventsForOrder` (item-level refund events).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sp_api.api import Finances

from channels.adapters.amazon.client import AmazonClient, decimal_or_none, iso_time, listed
from channels.adapters.amazon.parse import parse_each, parse_refund_event, parse_refund_transaction, parse_transaction
from channels.adapters.base import ChannelError, ChannelRetryableError, ExternalRefund, FinancialTransaction, Page


class FinancesApi(AmazonClient):
    """Finances 2024-06-19 and v0."""

    def fetch_transactions(
        self, *, posted_after: datetime, posted_before: datetime | None, page_token: str | None
    ) -> Page[FinancialTransaction]:
        """One page of Finances 2024-06-19 transactions posted in the window."""
        params: dict[str, Any] = {"postedAfter": iso_time(posted_after)}
        if posted_before is not None:
            params["postedBefore"] = iso_time(posted_before)
        if page_token:
            params["nextToken"] = page_token
        response = self._call(Finances, "list_transactions", version="2024-06-19", **params)
        payload = response.payload
        items, bad = parse_each(listed(payload, "transactions"), parse_transaction, id_key="transactionId")
        return Page(
            items=tuple(items),
            bad_records=tuple(bad),
            next_token=response.next_token or payload.get("nextToken") or None,
            rate_limit=decimal_or_none(response.rate_limit),
        )

    def fetch_refund_events(
        self, *, posted_after: datetime, posted_before: datetime | None, page_token: str | None
    ) -> Page[ExternalRefund]:
        """One page of Finances v0 refund events (item-level refund detail) posted in the window."""
        params: dict[str, Any] = {"PostedAfter": iso_time(posted_after), "MaxResultsPerPage": 100}
        if posted_before is not None:
            params["PostedBefore"] = iso_time(posted_before)
        if page_token:
            params["NextToken"] = page_token
        response = self._call(Finances, "list_financial_events", version="v0", **params)
        return self._refund_page(response)

    def fetch_refund_transactions(
        self, *, posted_after: datetime, posted_before: datetime | None, page_token: str | None
    ) -> Page[ExternalRefund]:
        """One page of Finances 2024-06-19 transactions posted in the window, keeping the ``Refund`` ones
        (listTransactions cannot filter by type; the others are read and left out)."""
        params: dict[str, Any] = {"postedAfter": iso_time(posted_after)}
        if posted_before is not None:
            params["postedBefore"] = iso_time(posted_before)
        if page_token:
            params["nextToken"] = page_token
        response = self._call(Finances, "list_transactions", version="2024-06-19", **params)
        payload = response.payload
        refunds = [
            raw
            for raw in listed(payload, "transactions")
            if not isinstance(raw, Mapping) or raw.get("transactionType") == "Refund"
        ]
        items, bad = parse_each(refunds, parse_refund_transaction, id_key="transactionId")
        return Page(
            items=tuple(items),
            bad_records=tuple(bad),
            next_token=response.next_token or payload.get("nextToken") or None,
            rate_limit=decimal_or_none(response.rate_limit),
        )

    def fetch_order_refund_events(self, *, order_id: str, page_token: str | None = None) -> Page[ExternalRefund]:
        """Refund events of one order (Finances v0 getFinancialEventsForOrder), one page."""
        params: dict[str, Any] = {"MaxResultsPerPage": 100}
        if page_token:
            params["NextToken"] = page_token
        response = self._call(Finances, "get_financial_events_for_order", order_id, version="v0", **params)
        return self._refund_page(response)

    def _refund_page(self, response: Any) -> Page[ExternalRefund]:
        payload = response.payload
        events = payload.get("FinancialEvents") if isinstance(payload, Mapping) else None
        if not isinstance(events, Mapping):
            raise ChannelRetryableError("Amazon answered without FinancialEvents", code="empty_response")
        refunds = events.get("RefundEventList") or []
        if not isinstance(refunds, list):
            raise ChannelError("Amazon's RefundEventList is not a list")
        items, bad = parse_each(refunds, parse_refund_event, id_key="AmazonOrderId")
        return Page(
            items=tuple(items),
            bad_records=tuple(bad),
            next_token=response.next_token or payload.get("NextToken") or None,
            rate_limit=decimal_or_none(response.rate_limit),
        )
