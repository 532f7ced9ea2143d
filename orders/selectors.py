"""Reads of orders. Every query is scoped to the tenant; list queries stay index-friendly at a million orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, F, Lookup, Q, QuerySet
from django.db.models.sql.compiler import SQLCompiler
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.tenancy.models import Tenant
from channels.models import Store
from inventory.allocation import LINE_REF_PREFIX, line_ref
from inventory.models import LineAllocation, Reservation, SkuMapping
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
    return _order_list(tenant=tenant, filters=filters or OrderFilters())[0]


def order_list_counted(*, tenant: Tenant, filters: OrderFilters) -> tuple[QuerySet[Order], int, bool]:
    """order_list and order_count_capped: (orders, count, more_than_cap). When the search box is the only
    filter, the orders it found are counted as they are (no second read of thousands of orders by id)."""
    orders, found = _order_list(tenant=tenant, filters=filters)
    if found is not None and filters == OrderFilters(query=filters.query):
        return orders, min(len(found), COUNT_CAP), len(found) > COUNT_CAP
    return orders, *order_count_capped(orders)


def _order_list(*, tenant: Tenant, filters: OrderFilters) -> tuple[QuerySet[Order], list[int] | None]:
    """order_list, and the ids the search found (None without a search)."""
    f = filters
    found: list[int] | None = None
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
        found = order_search_ids(tenant=tenant, query=f.query)
        orders = orders.filter(_pk_among(found))
    return orders, found


class _EqualsAny(Lookup):
    """`column = ANY(%s)` with the values in one array parameter (PostgreSQL)."""

    lookup_name = "equals_any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Any, connection: BaseDatabaseWrapper) -> tuple[str, tuple[Any, ...]]:
        return "%s", (list(value),)

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)


def _pk_among(pks: list[int]) -> Q | _EqualsAny:
    """`pk IN (…)`; on PostgreSQL `pk = ANY(%s)`, the ids in one array parameter. A search finds up to
    thousands of orders, and `pk__in` writes a placeholder per id, each resolved by Django and bound by
    psycopg, twice a page (the rows and the count): some 80 ms of Python for 4,444 ids. Same plan."""
    if connection.vendor != "postgresql":
        return Q(pk__in=pks)
    return _EqualsAny(F("pk"), pks)


def number_spellings(query: str) -> list[str]:
    """An order number as typed and as the channels store it: Shopify names orders "#1001", a seller types
    "1001" or "#1001"; Amazon and WooCommerce numbers have no "#"."""
    number = query.lstrip("#").strip()
    return list(dict.fromkeys(value for value in (query, number, f"#{number}") if value))


def order_number_ids(*, tenant: Tenant, query: str, prefix: bool = False) -> list[int]:
    """The tenant's orders whose order id or merchant order id is `query`, with or without "#" (or, with
    `prefix`, starts with it in any case), newest first, at most SKU_SEARCH_CAP."""
    spellings = number_spellings(query.strip())
    if not spellings:
        return []
    if prefix:
        condition = Q()
        for spelling in spellings:
            condition |= Q(external_id__istartswith=spelling) | Q(merchant_order_id__istartswith=spelling)
    else:
        condition = Q(external_id__in=spellings) | Q(merchant_order_id__in=spellings)
    orders = Order.objects.filter(condition, tenant=tenant).order_by("-pk")
    return list(orders.values_list("pk", flat=True)[:SKU_SEARCH_CAP])


def _mapped_lines(*, tenant: Tenant, query: str) -> Q | None:
    """Lines whose channel SKU or product id is mapped to a master product whose SKU is `query` (any case)."""
    mappings = SkuMapping.objects.filter(tenant=tenant, product__sku__iexact=query).values_list(
        "store_id", "channel_sku", "channel_product_id"
    )
    condition: Q | None = None
    for store_id, channel_sku, channel_product_id in mappings[:SKU_SEARCH_CAP]:
        found = Q(sku=channel_sku) if channel_sku else Q(channel_product_id=channel_product_id)
        found &= Q(order__store_id=store_id)
        condition = found if condition is None else condition | found
    return condition


def _line_order_ids(*, tenant: Tenant, conditions: list[Q]) -> set[int]:
    """The orders of the tenant's lines meeting any of `conditions`, at most SKU_SEARCH_CAP newest per condition.
    Each its own query, so each reads its own index (an OR across them would read every line)."""
    found: set[int] = set()
    for condition in conditions:
        found.update(
            OrderLine.objects.filter(condition, tenant=tenant)
            .order_by("-order_id")
            .values_list("order_id", flat=True)[:SKU_SEARCH_CAP]
        )
    return found


def order_search_ids(*, tenant: Tenant, query: str) -> list[int]:
    """The ids of the tenant's orders that the search box finds, newest orders first, at most SKU_SEARCH_CAP
    from each source. Tried in turn, cheapest first; the first that finds orders answers:

    1. an order number exactly, with or without Shopify's "#" (one probe of the tenant's id indexes);
    2. a channel SKU exactly, in any case, or the master SKU it is mapped to (migration orders 0011's index
       on the lines' upper-cased SKU and order: the newest 5,000 orders of a SKU are read from it alone);
    3. otherwise the start of an order number ("114-39" finds "114-3982…"), a part of a channel SKU in any
       case, and any part of a line's title ("蓝牙耳机").

    On PostgreSQL the matches of parts (`UPPER(col) LIKE UPPER(…)`) read the trigram indexes of migration
    orders 0010; SQLite scans the tenant's rows. A whole SKU is not looked for as a part: the trigram index
    answers "%AMA1-SOCK-BLK%" by intersecting the posting lists of trigrams that thousands of SKUs share
    (40 ms at a million lines), and a seller who types a SKU means that SKU. The ids, not a join, go to the
    list: the planner then fetches a few thousand orders by primary key and sorts them, whatever the
    tenant's size."""
    query = query.strip()
    if not query:
        return []
    ids = order_number_ids(tenant=tenant, query=query)
    if ids:
        return ids
    whole_sku = [Q(sku__iexact=query)]
    mapped = _mapped_lines(tenant=tenant, query=query)
    if mapped is not None:
        whole_sku.append(mapped)
    found = _line_order_ids(tenant=tenant, conditions=whole_sku)
    if found:
        return sorted(found, reverse=True)
    found = set(order_number_ids(tenant=tenant, query=query, prefix=True))
    found |= _line_order_ids(tenant=tenant, conditions=[Q(sku__icontains=query) | Q(title__icontains=query)])
    return sorted(found, reverse=True)


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


def order_line_titles(*, tenant_id: int, line_refs: list[str]) -> dict[str, str]:
    """inventory.hooks line-title provider: each referenced order line's title as the buyer saw it."""
    pks = {
        ref: int(ref.removeprefix(LINE_REF_PREFIX)) for ref in line_refs if ref.removeprefix(LINE_REF_PREFIX).isdigit()
    }
    titles = dict(OrderLine.objects.filter(tenant_id=tenant_id, pk__in=set(pks.values())).values_list("pk", "title"))
    return {ref: titles[pk] for ref, pk in pks.items() if titles.get(pk)}
