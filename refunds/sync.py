"""The refunds and returns sync jobs (resources "refunds" and "returns"), run by the channels sync engine.

How a channel's refunds and returns are read is the channel's business (its adapter's `fetch_refunds` /
`fetch_returns`: Amazon's two Finances APIs merged and its returns reports, a shop's orders read one by
one; see channels.adapters): every engine page is one vendor call, so that a failed call is retried alone
and rate limits apply per call, and the page token says where a pass stands. A job runs for every store
whose channel can do it (`Capability.FETCH_REFUNDS` / `FETCH_RETURNS`) and that granted the "returns" data
permission. Persisting is here: refunds.ingest upserts, deduplicates and links what a page carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext_noop

from channels.adapters.base import (
    Capability,
    ChannelAdapter,
    ExternalRefund,
    ExternalReturn,
    Page,
    RefundFetching,
    ReturnFetching,
)
from channels.models import DataPermission, Store
from channels.sync import PersistCounts, SyncJob
from refunds.ingest import refund_upsert_page, return_upsert_page


def _item_time(item: ExternalRefund | ExternalReturn) -> datetime:
    return item.posted_at if isinstance(item, ExternalRefund) else item.returned_at


def fetch_refunds_page(
    adapter: ChannelAdapter, window_start: datetime, window_end: datetime | None, page_token: str | None
) -> Page[ExternalRefund]:
    """One page of the store's refunds, as its channel reads them."""
    return adapter.require(RefundFetching).fetch_refunds(
        window_start=window_start, window_end=window_end, page_token=page_token
    )


def persist_refunds_page(store: Store, items: Sequence[Any]) -> PersistCounts:
    return refund_upsert_page(store=store, refunds=items)


REFUNDS_SYNC_JOB = SyncJob(
    resource="refunds",
    label=gettext_noop("Refunds"),
    permission=DataPermission.RETURNS,
    capability=Capability.FETCH_REFUNDS,
    interval=timedelta(minutes=30),
    fetch=fetch_refunds_page,
    persist=persist_refunds_page,
    item_time=_item_time,
)


def fetch_returns_page(
    adapter: ChannelAdapter, window_start: datetime, window_end: datetime | None, page_token: str | None
) -> Page[ExternalReturn]:
    """One page of the store's returns, as its channel reads them."""
    return adapter.require(ReturnFetching).fetch_returns(
        window_start=window_start, window_end=window_end, page_token=page_token
    )


def persist_returns_page(store: Store, items: Sequence[Any]) -> PersistCounts:
    return return_upsert_page(store=store, returns=items)


RETURNS_SYNC_JOB = SyncJob(
    resource="returns",
    label=gettext_noop("Returns"),
    permission=DataPermission.RETURNS,
    capability=Capability.FETCH_RETURNS,
    interval=timedelta(hours=1),
    fetch=fetch_returns_page,
    persist=persist_returns_page,
    item_time=_item_time,
)
