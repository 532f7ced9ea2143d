"""A channel's orders as the ingest sees them, edited over time: each version of an order is newer than the
last (so the ingest takes it), and every date is relative to now (no test depends on today's date)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from channels.adapters.base import ExternalOrder
from channels.models import Store
from orders.models import Order, OrderLine
from orders.services import order_upsert_page
from tests.channels.test_sync_engine import make_order


@dataclass
class ChannelBook:
    """One store's orders: lines are (line id, channel SKU, quantity); `send` stores the current versions
    through the real ingest, as a sync page would."""

    store: Store
    prefix: str = "A"
    started: datetime = field(default_factory=lambda: timezone.now() - timedelta(days=2))
    orders: dict[str, ExternalOrder] = field(default_factory=dict)
    ticks: int = 0

    def _tick(self) -> datetime:
        self.ticks += 1
        return self.started + timedelta(seconds=self.ticks)

    def external_id(self, n: int) -> str:
        return f"{self.prefix}-{n:05d}"

    def order(
        self,
        n: int,
        *lines: tuple[str, str, int],
        status: str = "paid_unshipped",
        country: str = "US",
        fulfillment_channel: str = "merchant",
    ) -> ExternalOrder:
        """A new order `n` with these lines, bought `n` seconds after the book started."""
        template = make_order(1, status=status)
        made = tuple(
            replace(template.lines[0], external_id=line_id, sku=sku, quantity=quantity)
            for line_id, sku, quantity in lines
        )
        at = self._tick()
        order = replace(
            template,
            external_id=self.external_id(n),
            purchased_at=self.started + timedelta(seconds=n),
            updated_at=at,
            lines=made,
            buyer_country=country,
            fulfillment_channel=fulfillment_channel,
        )
        self.orders[order.external_id] = order
        return order

    def edit(self, n: int, *, lines: tuple[tuple[str, str, int], ...] | None = None, **changes: Any) -> ExternalOrder:
        """The channel changed order `n`: new lines (line id, SKU, quantity) and/or status; a newer version."""
        current = self.orders[self.external_id(n)]
        if lines is not None:
            template = current.lines[0] if current.lines else make_order(1).lines[0]
            changes["lines"] = tuple(
                replace(template, external_id=line_id, sku=sku, quantity=quantity) for line_id, sku, quantity in lines
            )
        if "status" in changes:
            changes.setdefault("raw_status", str(changes["status"]).upper())
        order = replace(current, updated_at=self._tick(), **changes)
        self.orders[order.external_id] = order
        return order

    def send(self, *orders: ExternalOrder) -> None:
        order_upsert_page(store=self.store, orders=list(orders))

    def stored(self, n: int) -> Order:
        return Order.objects.get(store=self.store, external_id=self.external_id(n))

    def line(self, n: int, line_id: str) -> OrderLine:
        return OrderLine.objects.get(
            order__store=self.store, order__external_id=self.external_id(n), external_id=line_id
        )
