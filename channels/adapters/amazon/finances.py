"""Amazon Finances APIs: 2024-06-19 `listTransactions` (deferred and released transactions, refunds among
them) and v0 `listFinancialEvents` / `getFinancialEventsForOrder` (item-level refund events).

Refunds. Amazon reports each refund in both APIs and ACORN reads both over the same window: v0
listFinancialEvents (RefundEventList, item-level) first, then 2024-06-19 listTransactions (the ``Refund``
transactions); the refunds ingest merges the two copies of one refund (`refund_identity`). Each page is one
call; the page token says which API the pass is on and carries Amazon's own next token. The window's end is
pinned on the first page (three minutes ago: both APIs refuse a posting time less than two minutes old) so
both APIs read the same window and the next run starts where this one ended.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from sp_api.api import Finances

from channels.adapters.amazon.client import AmazonClient, decimal_or_none, iso_time, listed
from channels.adapters.amazon.parse import parse_each, parse_refund_event, parse_refund_transaction, parse_transaction
from channels.adapters.base import (
    ChannelError,
    ChannelRetryableError,
    ExternalRefund,
    FinancialTransaction,
    FinancialTransactionReading,
    Page,
    RefundFetching,
    RefundIdentity,
)

# Amazon's Finances APIs refuse a posting time less than two minutes old; a minute more for clock skew.
SETTLE_DELAY = timedelta(minutes=3)
_V0, _TRANSACTIONS = "v0", "tx"


def settled_window_end(window_start: datetime, window_end: datetime | None) -> datetime:
    """The end of a window read from Amazon's Finances (or Reports): pinned, or the latest Amazon allows."""
    if window_end is not None:
        return window_end
    return max(timezone.now() - SETTLE_DELAY, window_start + timedelta(seconds=1))


def decode_pass_token(token: str | None) -> dict[str, Any]:
    """A pass's own page token (JSON), or {} to start one."""
    if not token:
        return {}
    try:
        state = json.loads(token)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def encode_pass_token(state: dict[str, Any] | None) -> str | None:
    return json.dumps(state, separators=(",", ":")) if state else None


class FinancesApi(AmazonClient, RefundFetching, FinancialTransactionReading):
    """Finances 2024-06-19 and v0."""

    # The v0 copy and the transaction of one refund share no id: order, posting second and net total do.
    refund_identity = RefundIdentity.ORDER_POSTING_TOTAL
    refund_source = "finances_v0"

    def fetch_refunds(
        self, *, window_start: datetime, window_end: datetime | None, page_token: str | None
    ) -> Page[ExternalRefund]:
        """One page of the pass over both APIs: v0 refund events, then the Refund transactions."""
        state = decode_pass_token(page_token)
        end = datetime.fromisoformat(state["end"]) if state.get("end") else settled_window_end(window_start, window_end)
        api = state.get("api") if state.get("api") in (_V0, _TRANSACTIONS) else _V0
        amazon_token = state.get("t") or None
        following: dict[str, Any] | None
        if api == _V0:
            page = self.fetch_refund_events(posted_after=window_start, posted_before=end, page_token=amazon_token)
            following = (
                {"api": _V0, "t": page.next_token, "end": end.isoformat()}
                if page.next_token
                else {"api": _TRANSACTIONS, "t": None, "end": end.isoformat()}
            )
        else:
            page = self.fetch_refund_transactions(posted_after=window_start, posted_before=end, page_token=amazon_token)
            following = (
                {"api": _TRANSACTIONS, "t": page.next_token, "end": end.isoformat()} if page.next_token else None
            )
        return Page(
            items=page.items,
            bad_records=page.bad_records,
            next_token=encode_pass_token(following),
            window_end=end,
            rate_limit=page.rate_limit,
        )

    def fetch_financial_transactions(
        self, *, posted_after: datetime, posted_before: datetime | None, page_token: str | None
    ) -> Page[FinancialTransaction]:
        """Every transaction posted in the window (`fetch_transactions`)."""
        return self.fetch_transactions(posted_after=posted_after, posted_before=posted_before, page_token=page_token)

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
