"""The refunds and returns sync jobs (resources "refunds" and "returns"), run by the channels sync engine.

Every engine page makes one vendor call (one request, or one report download), so that a failed call is
retried alone and rate limits apply per call; where a pass needs several kinds of call, the job's page token
says where it stands.

Refunds. Amazon reports each refund in two APIs and ACORN reads both over the same window: Finances v0
listFinancialEvents (RefundEventList, item-level) first, then Finances 2024-06-19 listTransactions (the
``Refund`` transactions); refunds.ingest merges the two copies of one refund. The token says which API the
pass is on and carries Amazon's own next token. The window's end is pinned on the first page (three minutes
ago: both APIs refuse a posting time less than two minutes old) so both APIs read the same window and the
next run starts where this one ended. Shopify and WooCommerce: the refunds of the orders updated in the
window (a refund updates its order): a page of orders is listed (the ids of those with refunds ride in the
token), then each of them is read. The newest order time listed is the high-water mark: a SeenUntil marker
on the pass's last page carries it (the refunds' own times are older than their orders' updates).

Returns. Amazon: the FBA customer returns report and the MFN returns report are requested for the window
(the MFN one reaches back ``MFN_LOOKBACK`` so that status, delivery and refund changes of recent requests
arrive), polled until Amazon has processed them, and read one per page. A report that is not ready yet
answers "retry in 30 s" (ReportPending, a retryable error: the engine waits with its own clock or, past the
time budget, ends the run partial and the next run polls the same reports, whose ids ride in the token). A
report that ends CANCELLED has no rows: nothing. A FATAL one is requested again, at most
``MAX_REPORT_REQUESTS`` times. Shopify: the returns of the orders updated in the window, read like its
refunds. WooCommerce has no returns (its refunds with items are the refunds).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from django.utils import timezone

from channels.adapters.amazon import FBA_RETURNS_REPORT_TYPE, MFN_RETURNS_REPORT_TYPE, AmazonAdapter
from channels.adapters.base import (
    BadRecord,
    ChannelAdapter,
    ChannelError,
    ChannelRetryableError,
    ExternalRefund,
    ExternalReturn,
    Page,
)
from channels.models import DataPermission, Platform, Store
from channels.sync import PersistCounts, SyncJob
from refunds.ingest import refund_upsert_page, return_upsert_page

# Amazon's Finances APIs refuse a posting time less than two minutes old; a minute more for clock skew.
AMAZON_SETTLE_DELAY = timedelta(minutes=3)
# MFN return requests change after they are made (approved → closed, delivered, refunded): re-read them.
MFN_LOOKBACK = timedelta(days=30)
MFN_MAX_SPAN = timedelta(days=60)  # "You can request up to 60 days of data in a single report."
REPORT_POLL_SECONDS = 30
MAX_REPORT_REQUESTS = 3
_V0, _TRANSACTIONS = "v0", "tx"


@dataclass(frozen=True, slots=True)
class SeenUntil:
    """Not a record: rides in a page of a shop's refunds or returns to say how far the listing of orders
    (by updated-at) went, so the high-water mark moves on even when the last orders had none."""

    at: datetime


class ReportPending(ChannelRetryableError):
    """Amazon is still preparing the report: poll again later."""

    code = "report_pending"


def _item_time(item: Any) -> datetime:
    if isinstance(item, SeenUntil):
        return item.at
    if isinstance(item, ExternalRefund):
        return item.posted_at
    return cast(datetime, item.returned_at)


def _records(items: Sequence[Any]) -> list[Any]:
    return [item for item in items if not isinstance(item, SeenUntil)]


def _amazon_window_end(window_start: datetime, window_end: datetime | None) -> datetime:
    if window_end is not None:
        return window_end
    return max(timezone.now() - AMAZON_SETTLE_DELAY, window_start + timedelta(seconds=1))


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- refunds ---------------------------------------------------------------------------------------------


class _ShopifyAftersales(Protocol):
    def fetch_aftersales_orders(
        self, *, kind: str, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[str]: ...

    def fetch_order_refund_detail(self, order_id: str) -> Page[ExternalRefund]: ...

    def fetch_order_returns(self, order_id: str) -> Page[ExternalReturn]: ...


class _WooRefunds(Protocol):
    def fetch_orders_with_refunds(
        self, *, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[tuple[str, str]]: ...

    def fetch_order_refund_detail(self, order_id: str, currency: str) -> Page[ExternalRefund]: ...


def _shop_page(
    list_orders: Callable[[str | None], Page[Any]],
    read_order: Callable[[Any], Page[Any]],
    page_token: str | None,
) -> Page[Any]:
    """One call of a shop's after-sales pass: list a page of orders updated in the window (keeping the ones
    that have refunds or returns in the token), or read the next of those orders. One HTTP call per engine
    page, so a failed call is retried alone. The last page carries SeenUntil(the newest order time listed)."""
    state = _decode(page_token)
    queue: list[Any] = list(state.get("q") or [])
    newest = _when(state["n"]) if state.get("n") else None
    listing_done = bool(state.get("d"))
    cursor = state.get("c") or None
    if queue:
        page = read_order(queue.pop(0))
        items: tuple[Any, ...] = page.items
        bad = page.bad_records
        rate = page.rate_limit
    else:
        listed = list_orders(cursor)
        queue = [list(item) if isinstance(item, tuple) else item for item in listed.items]
        if listed.newest is not None and (newest is None or listed.newest > newest):
            newest = listed.newest
        cursor, listing_done = listed.next_token, not listed.next_token
        items, bad, rate = (), listed.bad_records, listed.rate_limit
    following = None
    if queue or not listing_done:
        following = {"q": queue, "c": cursor, "d": listing_done, "n": _iso(newest) if newest else None}
    # The engine takes the high-water mark from the last page of a pass: only that one needs the marker.
    seen = (SeenUntil(newest),) if newest is not None and following is None else ()
    return Page(
        items=(*items, *seen),
        bad_records=bad,
        next_token=json.dumps(following, separators=(",", ":")) if following else None,
        rate_limit=rate,
    )


def _amazon(adapter: ChannelAdapter) -> AmazonAdapter:
    if not isinstance(adapter, AmazonAdapter):
        raise ChannelError(f"The {adapter.key} adapter is not Amazon's.")
    return adapter


def _decode(token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    try:
        state = json.loads(token)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def _amazon_refunds_page(
    adapter: AmazonAdapter, window_start: datetime, window_end: datetime | None, page_token: str | None
) -> Page[ExternalRefund]:
    """One page of the pass over both Amazon APIs: v0 refund events, then the Refund transactions."""
    state = _decode(page_token)
    end = _when(state["end"]) if state.get("end") else _amazon_window_end(window_start, window_end)
    api = state.get("api") if state.get("api") in (_V0, _TRANSACTIONS) else _V0
    amazon_token = state.get("t") or None
    if api == _V0:
        page = adapter.fetch_refund_events(posted_after=window_start, posted_before=end, page_token=amazon_token)
        following: dict[str, Any] | None = (
            {"api": _V0, "t": page.next_token, "end": _iso(end)}
            if page.next_token
            else {"api": _TRANSACTIONS, "t": None, "end": _iso(end)}
        )
    else:
        page = adapter.fetch_refund_transactions(posted_after=window_start, posted_before=end, page_token=amazon_token)
        following = {"api": _TRANSACTIONS, "t": page.next_token, "end": _iso(end)} if page.next_token else None
    return Page(
        items=page.items,
        bad_records=page.bad_records,
        next_token=json.dumps(following, separators=(",", ":")) if following else None,
        window_end=end,
        rate_limit=page.rate_limit,
    )


def fetch_refunds_page(
    adapter: ChannelAdapter, window_start: datetime, window_end: datetime | None, page_token: str | None
) -> Page[Any]:
    """One page of the store's refunds (see the module docstring for how each platform is read)."""
    if adapter.key == Platform.AMAZON:
        return _amazon_refunds_page(_amazon(adapter), window_start, window_end, page_token)
    if adapter.key == Platform.SHOPIFY:
        shopify = cast(_ShopifyAftersales, adapter)
        return _shop_page(
            lambda cursor: shopify.fetch_aftersales_orders(
                kind="refunds", updated_after=window_start, updated_before=window_end, page_token=cursor
            ),
            shopify.fetch_order_refund_detail,
            page_token,
        )
    if adapter.key == Platform.WOOCOMMERCE:
        woo = cast(_WooRefunds, adapter)
        return _shop_page(
            lambda cursor: woo.fetch_orders_with_refunds(
                updated_after=window_start, updated_before=window_end, page_token=cursor
            ),
            lambda entry: woo.fetch_order_refund_detail(str(entry[0]), str(entry[1])),
            page_token,
        )
    raise ChannelError(f"The {adapter.key} adapter cannot read refunds.")


def persist_refunds_page(store: Store, items: Sequence[Any]) -> PersistCounts:
    return refund_upsert_page(store=store, refunds=_records(items))


REFUNDS_SYNC_JOB = SyncJob(
    resource="refunds",
    permission=DataPermission.RETURNS,
    platforms=frozenset({Platform.AMAZON, Platform.SHOPIFY, Platform.WOOCOMMERCE}),
    interval=timedelta(minutes=30),
    fetch=fetch_refunds_page,
    persist=persist_refunds_page,
    item_time=_item_time,
)


# --- returns ---------------------------------------------------------------------------------------------

_REPORT_TYPES = {"fba": FBA_RETURNS_REPORT_TYPE, "mfn": MFN_RETURNS_REPORT_TYPE}
_FINISHED = ("DONE", "CANCELLED", "FATAL")


def _report_windows(start: datetime, end: datetime) -> dict[str, tuple[datetime, datetime]]:
    mfn_start = max(min(start, end - MFN_LOOKBACK), end - MFN_MAX_SPAN)
    return {"fba": (start, end), "mfn": (mfn_start, end)}


def _amazon_returns_page(
    adapter: AmazonAdapter, window_start: datetime, window_end: datetime | None, page_token: str | None
) -> Page[ExternalReturn]:
    """One call of the returns pass: request the next report, poll the next unfinished one, or read the next
    finished one (see the module docstring)."""
    state = _decode(page_token)
    end = _when(state["end"]) if state.get("end") else _amazon_window_end(window_start, window_end)
    reports: dict[str, str] = dict(state.get("reports") or {})  # name → report id
    finished: dict[str, list[str]] = dict(state.get("finished") or {})  # name → [status, document id]
    requests: dict[str, int] = dict(state.get("requests") or {})
    done: list[str] = list(state.get("read") or [])
    items: tuple[ExternalReturn, ...] = ()
    bad: tuple[BadRecord, ...] = ()
    pending = [name for name in _REPORT_TYPES if name not in reports]
    unfinished = [name for name in _REPORT_TYPES if name in reports and name not in finished]
    if pending:
        name = pending[0]
        if requests.get(name, 0) >= MAX_REPORT_REQUESTS:
            raise ChannelError(f"Amazon could not prepare the {_REPORT_TYPES[name]} report (FATAL, several times).")
        start, stop = _report_windows(window_start, end)[name]
        reports[name] = adapter.request_report(report_type=_REPORT_TYPES[name], data_start=start, data_end=stop)
        requests[name] = requests.get(name, 0) + 1
    elif unfinished:
        name = unfinished[0]
        info = adapter.get_report(report_id=reports[name])
        if info.status == "FATAL":
            del reports[name]  # requested again on the next page
        elif info.status not in _FINISHED:
            raise ReportPending(
                f"Amazon is still preparing the {_REPORT_TYPES[name]} report.", retry_after=REPORT_POLL_SECONDS
            )
        else:
            finished[name] = [info.status, info.document_id]
    else:
        name = next(name for name in _REPORT_TYPES if name not in done)
        status, document_id = finished[name]
        if status == "DONE" and document_id:  # CANCELLED: Amazon cancels a report that has no rows
            read, broken = adapter.read_returns(report_type=_REPORT_TYPES[name], document_id=document_id)
            items, bad = tuple(read), tuple(broken)
        done.append(name)
    following = None
    if len(done) < len(_REPORT_TYPES):
        following = {"end": _iso(end), "reports": reports, "finished": finished, "requests": requests, "read": done}
    return Page(
        items=items,
        bad_records=bad,
        next_token=json.dumps(following, separators=(",", ":")) if following else None,
        window_end=end,
    )


def fetch_returns_page(
    adapter: ChannelAdapter, window_start: datetime, window_end: datetime | None, page_token: str | None
) -> Page[Any]:
    """One page of the store's returns (see the module docstring)."""
    if adapter.key == Platform.AMAZON:
        return _amazon_returns_page(_amazon(adapter), window_start, window_end, page_token)
    if adapter.key == Platform.SHOPIFY:
        shopify = cast(_ShopifyAftersales, adapter)
        return _shop_page(
            lambda cursor: shopify.fetch_aftersales_orders(
                kind="returns", updated_after=window_start, updated_before=window_end, page_token=cursor
            ),
            shopify.fetch_order_returns,
            page_token,
        )
    raise ChannelError(f"The {adapter.key} adapter cannot read returns.")


def persist_returns_page(store: Store, items: Sequence[Any]) -> PersistCounts:
    return return_upsert_page(store=store, returns=_records(items))


RETURNS_SYNC_JOB = SyncJob(
    resource="returns",
    permission=DataPermission.RETURNS,
    platforms=frozenset({Platform.AMAZON, Platform.SHOPIFY}),
    interval=timedelta(hours=1),
    fetch=fetch_returns_page,
    persist=persist_returns_page,
    item_time=_item_time,
)
