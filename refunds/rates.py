"""Refund rates per master SKU from the daily rollup (RefundRateDaily). Placeholder interface: the rates work
fills it in. Dates are UTC days."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from acorn.tenancy.models import Tenant
from channels.models import Store

REFUND_DATE = "refund_date"
ORDER_DATE = "order_date"
WINDOWS = (7, 30, 90)


@dataclass(frozen=True)
class SkuRate:
    product_id: int
    sku: str
    name: str
    units_sold: int
    units_refunded: int

    @property
    def rate_percent(self) -> Decimal | None:
        """Refunded ÷ sold in percent (2 places), None when nothing was sold."""
        if not self.units_sold:
            return None
        return (Decimal(100) * self.units_refunded / self.units_sold).quantize(Decimal("0.01"))


def refund_rates(
    *,
    tenant: Tenant,
    window_days: int,
    basis: str = REFUND_DATE,
    store_id: int | None = None,
    platform: str | None = None,
    product_ids: Sequence[int] | None = None,
    today: date | None = None,
) -> list[SkuRate]:
    """Every SKU with sales or refunds in the window ending `today` (inclusive), one indexed query."""
    raise NotImplementedError


def refund_rate_trend(
    *,
    tenant: Tenant,
    product_id: int,
    window_days: int,
    days: int = 90,
    basis: str = REFUND_DATE,
    store_id: int | None = None,
    today: date | None = None,
) -> list[tuple[date, Decimal | None]]:
    """The rolling `window_days` rate of one SKU on each of the last `days` days (for the trend chart)."""
    raise NotImplementedError


def rollup_refresh(*, store: Store, days: Iterable[date]) -> None:
    """Recompute the rollup rows of the store's given days from orders and refunds."""
    raise NotImplementedError
