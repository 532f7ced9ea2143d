"""Reads of orders. Every query is scoped to the tenant; list queries stay index-friendly at a million orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.tenancy.models import Tenant
from channels.models import Store
from inventory.allocation import line_ref
from inventory.models import LineAllocation, Reservation
from orders.models import Order, OrderAdjustment, OrderLine

# sort key → (keyset ordering, label)
ORDER_SORTS: dict[str, tuple[str, Any]] = {
    "newest": ("-purchased_at", _("Newest first")),
    "oldest": ("purchased_at", _("Oldest first")),
    "updated": ("-channel_updated_at", _("Recently changed on the channel")),
}
COUNT_CAP = 10_000
SKU_SEARCH_CAP = 5_000


@dataclass(frozen=True)
class OrderFilters:
    query: str = ""
    store_id: int | None = None
    platform: str = ""
    marketplace: str = ""
    country: str = ""
    status: str = ""
    fulfillment: str = ""
    stock: str = ""  # "unmapped", "backordered", or "any"
    money: str = ""  # "unexplained": orders whose channel total holds an unexplained difference
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_form(cls, data: dict[str, Any]) -> OrderFilters:
        return cls(
            query=(data.get("q") or "").strip(),
            store_id=data.get("store"),
            platform=data.get("platform") or "",
            marketplace=data.get("marketplace") or "",
            country=data.get("country") or "",
            status=data.get("status") or "",
            fulfillment=data.get("fulfillment") or "",
            stock=data.get("stock") or "",
            money=data.get("money") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def order_list(*, tenant: Tenant, filters: OrderFilters | None = None) -> QuerySet[Order]:
    """The tenant's orders matching the filters (unordered: the caller pages them by a keyset)."""
    f = filters or OrderFilters()
    orders = Order.objects.filter(tenant=tenant).select_related("store")
    if f.store_id:
        orders = orders.filter(store_id=f.store_id)
    if f.platform:
        # The tenant's stores of that channel, by id: the planner then knows how many orders each holds and
        # reads them through the store index (few) or the tenant's newest-first index (many), no join.
        store_ids = list(Store.objects.filter(tenant=tenant, platform=f.platform).values_list("pk", flat=True))
        orders = orders.filter(store_id__in=store_ids)
    if f.marketplace:
        orders = orders.filter(marketplace=f.marketplace)
    if f.country:
        orders = orders.filter(buyer_country=f.country)
    if f.status:
        orders = orders.filter(status=f.status)
    if f.fulfillment:
        orders = orders.filter(fulfillment_channel=f.fulfillment)
    if f.stock == "any":
        orders = orders.exclude(stock_problem="")
    elif f.stock:
        orders = orders.filter(stock_problem=f.stock)
    if f.money == "unexplained":
        orders = orders.exclude(unexplained_amount=0)
    if f.date_from:
        orders = orders.filter(purchased_at__gte=_day_start(f.date_from))
    if f.date_to:
        orders = orders.filter(purchased_at__lt=_day_start(f.date_to + timedelta(days=1)))
    if f.query:
        # Exact matches, each one index probe whatever the number of orders: an order id if some order has
        # it, else a channel SKU (a semi-join the planner drives from the order-line SKU index).
        by_id = Q(external_id=f.query) | Q(merchant_order_id=f.query)
        if Order.objects.filter(by_id, tenant=tenant).exists():
            orders = orders.filter(by_id)
        else:
            # From the lines to the orders (the line SKU index finds them directly); the most recent
            # SKU_SEARCH_CAP orders of a very common SKU, which the date filters narrow further.
            order_ids = list(
                OrderLine.objects.filter(tenant=tenant, sku=f.query)
                .order_by("-order_id")
                .values_list("order_id", flat=True)[:SKU_SEARCH_CAP]
            )
            orders = orders.filter(pk__in=order_ids)
    return orders


def order_count_capped(orders: QuerySet[Order]) -> tuple[int, bool]:
    """How many orders match, counting at most COUNT_CAP + 1 rows: (count, more_than_cap)."""
    count = orders.order_by().values("pk")[: COUNT_CAP + 1].count()
    return min(count, COUNT_CAP), count > COUNT_CAP


def marketplace_codes(*, tenant: Tenant) -> list[str]:
    """The marketplaces of the tenant's stores (for the filter), from the stores, not the orders."""
    codes: set[str] = set()
    for marketplaces in Store.objects.filter(tenant=tenant).values_list("marketplaces", flat=True):
        codes.update(marketplaces or [])
    return sorted(codes)


def order_get_or_404(*, tenant: Tenant, pk: int) -> Order:
    order = Order.objects.filter(tenant=tenant, pk=pk).select_related("store").first()
    if order is None:
        raise Http404
    return order


@dataclass(frozen=True)
class DetailLine:
    line: OrderLine
    allocation: Any  # inventory's LineAllocation, or None (FBA lines hold no stock of ours)
    reservations: list[Any]


def order_detail_lines(*, order: Order) -> list[DetailLine]:
    """The order's lines with their master product, stock state and what they hold per warehouse."""
    from django.db.models import Prefetch

    lines = list(order.lines.order_by("pk"))
    allocations = {
        allocation.line_ref: allocation
        for allocation in LineAllocation.objects.filter(
            tenant_id=order.tenant_id, line_ref__in=[line_ref(line) for line in lines]
        )
        .select_related("product", "warehouse")
        .prefetch_related(Prefetch("reservations", queryset=Reservation.objects.select_related("warehouse")))
    }
    result = []
    for line in lines:
        allocation = allocations.get(line_ref(line))
        reservations = list(allocation.reservations.all()) if allocation is not None else []
        result.append(DetailLine(line, allocation, reservations))
    return result


@dataclass(frozen=True)
class OrderMoney:
    """The order's money as the page shows it: its lines' totals, its adjustments, and the per-kind summary
    (from the order's columns), which add up to the total."""

    lines_total: Decimal
    adjustments: list[OrderAdjustment]
    adjustments_total: Decimal
    itemised: Decimal  # lines + adjustments: equal to the order total, always

    @property
    def order_adjustments(self) -> list[OrderAdjustment]:
        return [adjustment for adjustment in self.adjustments if adjustment.line_id is None]


def order_money(*, order: Order, lines: list[OrderLine] | None = None) -> OrderMoney:
    """The order's lines total and adjustments (line-level ones name their line)."""
    lines = lines if lines is not None else list(order.lines.order_by("pk"))
    adjustments = list(
        OrderAdjustment.objects.filter(tenant_id=order.tenant_id, order=order)
        .select_related("line")
        .order_by("position", "pk")
    )
    lines_total = sum((line.total_amount for line in lines), Decimal(0))
    adjustments_total = sum((adjustment.amount for adjustment in adjustments), Decimal(0))
    return OrderMoney(
        lines_total=lines_total,
        adjustments=adjustments,
        adjustments_total=adjustments_total,
        itemised=lines_total + adjustments_total,
    )


def orders_with_stock_problem_counts(*, tenant: Tenant) -> dict[str, int]:
    """Open orders per stock problem (unmapped, backordered), for the dashboard (one indexed count)."""
    rows = (
        Order.objects.filter(tenant=tenant)
        .exclude(stock_problem="")
        .values_list("stock_problem")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return dict(rows)
