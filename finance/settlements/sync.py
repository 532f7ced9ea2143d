"""The "settlements" sync job: every channel's statements, read through whichever capability its adapter has.

A statement source (one per channel capability: Amazon's settlement reports, Shopify Payments payouts) says
how to fetch one page of statements and how to persist them; the job runs for every store whose channel
supports one of the registered sources, with the finance data permission. One resource name for all, so
`manage.py sync_store STORE --resource settlements` works on any store that has statements.

A source's `fetch(adapter, window_start, window_end, page_token)` returns a `Page` whose items each carry
`updated_at` (the engine's high-water mark) and whatever its `persist(store, items)` needs; persist must be
idempotent (a statement already imported is not written again) and runs inside the engine's page
transaction. WooCommerce has no statements to fetch: ACORN builds them (finance.settlements.woocommerce).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext_noop

from channels.adapters.base import Capability, ChannelAdapter, ChannelCapabilityMissing, Page
from channels.adapters.registry import platform_supports
from channels.models import DataPermission, Store
from channels.sync import PersistCounts, SyncJob

SETTLEMENTS_RESOURCE = "settlements"
# Amazon closes a settlement every 14 days (7 for some sellers); Shopify pays out daily at most.
SETTLEMENTS_INTERVAL = timedelta(hours=6)


@dataclass(frozen=True)
class StatementSource:
    """How the statements of channels with one capability are read and kept."""

    capability: Capability
    fetch: Callable[[ChannelAdapter, datetime, datetime | None, str | None], Page[Any]]
    persist: Callable[[Store, Sequence[Any]], PersistCounts]


_SOURCES: dict[Capability, StatementSource] = {}


def register_statement_source(source: StatementSource) -> None:
    """Called from finance's AppConfig.ready(), once per channel capability that yields statements."""
    _SOURCES[source.capability] = source


def statement_source_for(platform: str) -> StatementSource:
    """The source that reads this platform's statements; ChannelCapabilityMissing when it has none."""
    for capability, source in _SOURCES.items():
        if platform_supports(platform, capability):
            return source
    raise ChannelCapabilityMissing(f"The {platform} channel lists no statements ACORN can read.")


def _fetch(adapter: ChannelAdapter, start: datetime, end: datetime | None, token: str | None) -> Page[Any]:
    return statement_source_for(adapter.key).fetch(adapter, start, end, token)


def _persist(store: Store, items: Sequence[Any]) -> PersistCounts:
    return statement_source_for(store.platform).persist(store, items)


def settlements_sync_job() -> SyncJob:
    """The job, for the capabilities of the sources registered so far (register the sources first)."""
    return SyncJob(
        resource=SETTLEMENTS_RESOURCE,
        label=gettext_noop("Settlements and payouts"),
        permission=DataPermission.FINANCE,
        capability=tuple(_SOURCES),
        interval=SETTLEMENTS_INTERVAL,
        fetch=_fetch,
        persist=_persist,
    )
