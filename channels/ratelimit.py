"""Token buckets per (store, API operation) at the vendors' published rates, kept in the cache.

The cache is Redis in production (shared by every worker) and the database cache in the embedded
default. Only one sync runs per (store, resource) at a time (the lease), so a bucket has one writer
and a plain read-modify-write is enough. A vendor's own rate header, when it sends one, replaces the
published rate for that store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Rate:
    per_second: Decimal
    burst: int


# Published default usage plans (requests per second, burst).
PUBLISHED_RATES: dict[str, Rate] = {
    "amazon.orders": Rate(Decimal("0.0056"), 20),  # Orders 2026-01-01 searchOrders
    "amazon.finances": Rate(Decimal("0.5"), 30),  # Finances 2024-06-19 listTransactions
    "amazon.inventory": Rate(Decimal(2), 2),  # FBA Inventory getInventorySummaries
    "amazon.reports": Rate(Decimal("0.0222"), 10),  # Reports getReports
    "shopify.orders": Rate(Decimal(2), 40),
    "woocommerce.orders": Rate(Decimal(5), 25),
    # Channel stock pushes (inventory.sharing_push): Listings Items patchListingsItem, inventorySetQuantities, PUT.
    "amazon.listings": Rate(Decimal(5), 10),
    "shopify.inventory": Rate(Decimal(2), 40),
    "woocommerce.products": Rate(Decimal(5), 25),
}
DEFAULT_RATE = Rate(Decimal(1), 5)


def _key(store_id: int, operation: str) -> str:
    return f"ratelimit:{store_id}:{operation}"


def rate_for(store_id: int, operation: str) -> Rate:
    override = cache.get(_key(store_id, operation) + ":rate")
    base = PUBLISHED_RATES.get(operation, DEFAULT_RATE)
    per_second = Decimal(override) if override else base.per_second
    return Rate(per_second * settings.ACORN_RATE_LIMIT_SCALE, base.burst)


def rate_limit_acquire(*, store_id: int, operation: str, now: float | None = None) -> int:
    """Take one token. Returns 0 if granted, else the milliseconds to wait before one is available."""
    rate = rate_for(store_id, operation)
    now = time.time() if now is None else now
    key = _key(store_id, operation)
    state = cache.get(key) or {"tokens": str(rate.burst), "at": now}
    elapsed = Decimal(str(max(0.0, now - state["at"])))
    tokens = min(Decimal(rate.burst), Decimal(state["tokens"]) + elapsed * rate.per_second)
    if tokens >= 1:
        cache.set(key, {"tokens": str(tokens - 1), "at": now}, timeout=86400)
        return 0
    cache.set(key, {"tokens": str(tokens), "at": now}, timeout=86400)
    missing = Decimal(1) - tokens
    if rate.per_second <= 0:
        return 3_600_000
    return max(1, int((missing / rate.per_second * 1000).to_integral_value(rounding=ROUND_CEILING)))


def rate_limit_observe(*, store_id: int, operation: str, per_second: Decimal | None) -> None:
    """Remember the rate the vendor says applies to this store (x-amzn-RateLimit-Limit)."""
    if per_second is not None and per_second > 0:
        cache.set(_key(store_id, operation) + ":rate", str(per_second), timeout=86400)


def rate_limit_penalize(*, store_id: int, operation: str, now: float | None = None) -> None:
    """After a 429, empty the bucket so the next call waits a full token."""
    now = time.time() if now is None else now
    cache.set(_key(store_id, operation), {"tokens": "0", "at": now}, timeout=86400)
