"""The orders sync job: how orders are fetched through a channel adapter and persisted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext_noop

from channels.adapters.base import Capability, ChannelAdapter, ExternalOrder, Page
from channels.models import DataPermission, Store
from channels.sync import PersistCounts, SyncJob
from orders.services import order_upsert_page


def fetch_orders_page(
    adapter: ChannelAdapter, window_start: datetime, window_end: datetime | None, page_token: str | None
) -> Page[ExternalOrder]:
    return adapter.fetch_orders(updated_after=window_start, updated_before=window_end, page_token=page_token)


def persist_orders_page(store: Store, items: Sequence[Any]) -> PersistCounts:
    return order_upsert_page(store=store, orders=items)


ORDERS_SYNC_JOB = SyncJob(
    resource="orders",
    label=gettext_noop("Orders"),
    permission=DataPermission.ORDERS,
    capability=Capability.FETCH_ORDERS,
    interval=timedelta(minutes=10),
    fetch=fetch_orders_page,
    persist=persist_orders_page,
)
