"""Reads of channel statements: lists, category totals, per-order reconciliation, what is not yet settled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.http import Http404
from django.utils import timezone

from acorn.money import AMOUNT_DECIMAL_PLACES, Money
from acorn.tenancy.models import Tenant
from channels.adapters.base import OrderStatus
from finance.settlements.models import Category, Settlement, SettlementLine, SettlementStatus, SettlementUpload
from orders.models import Order, OrderLine

# The categories that carry what an order's buyer paid for goods and shipping (net of promotions): what
# reconciliation compares with what ACORN expected from the order.
ORDER_CATEGORIES = (Category.SALES, Category.SHIPPING_INCOME, Category.PROMOTIONS)
NOT_YET_SETTLED_AFTER = timedelta(days=30)
ZERO = Decimal(0)
STORED_PRECISION = Decimal(1).scaleb(-AMOUNT_DECIMAL_PLACES)


def exact_sum(value: Decimal | None) -> Decimal:
    """A database SUM of amounts at the stored precision: SQLite adds decimals as floats (468 - 130 x 1.80 comes
    back as 233.999999999999); the lines themselves are exact to 4 places, so their sum is too."""
    return (value or ZERO).quantize(STORED_PRECISION)


def settlement_list(
    *,
    tenant: Tenant,
    store_id: int | None = None,
    status: str = "",
    kind: str = "",
    deposited_from: date | None = None,
    deposited_until: date | None = None,
) -> QuerySet[Settlement]:
    """The tenant's statements, newest period first, with their store; deposit dates are UTC days, inclusive."""
    settlements = Settlement.objects.filter(tenant=tenant).select_related("store")
    if store_id:
        settlements = settlements.filter(store_id=store_id)
    if status:
        settlements = settlements.filter(status=status)
    if kind:
        settlements = settlements.filter(kind=kind)
    if deposited_from is not None:
        settlements = settlements.filter(deposit_date__gte=_day_start(deposited_from))
    if deposited_until is not None:
        settlements = settlements.filter(deposit_date__lt=_day_start(deposited_until + timedelta(days=1)))
    return settlements.order_by("-period_end", "-pk")


def settlement_get(*, tenant: Tenant, pk: int) -> Settlement | None:
    return Settlement.objects.filter(tenant=tenant, pk=pk).select_related("store").first()


def settlement_get_or_404(*, tenant: Tenant, pk: int) -> Settlement:
    settlement = settlement_get(tenant=tenant, pk=pk)
    if settlement is None:
        raise Http404
    return settlement


def settlement_category_totals(*, settlement: Settlement) -> dict[str, Decimal]:
    """Sum of the lines per category (only categories that have lines)."""
    rows = (
        SettlementLine.objects.filter(settlement=settlement)
        .values("category")
        .annotate(total=Sum("amount"))
        .order_by("category")
    )
    return {row["category"]: exact_sum(row["total"]) for row in rows}


def settlement_unmatched_order_ids(*, settlement: Settlement) -> list[str]:
    """The channel order ids the statement names that ACORN never imported, sorted."""
    return list(
        SettlementLine.objects.filter(settlement=settlement, order__isnull=True)
        .exclude(order_external_id="")
        .values_list("order_external_id", flat=True)
        .distinct()
        .order_by("order_external_id")
    )


def settlement_unmatched_order_ids_first(*, settlement: Settlement, limit: int) -> list[str]:
    """The first `limit` channel order ids (sorted) that the statement names and ACORN never imported; the
    statement's `unmatched_order_count` says how many there are in all."""
    return list(
        SettlementLine.objects.filter(settlement=settlement, order__isnull=True)
        .exclude(order_external_id="")
        .values_list("order_external_id", flat=True)
        .distinct()
        .order_by("order_external_id")[:limit]
    )


def settlement_lines(
    *, settlement: Settlement, category: str = "", order_external_id: str = ""
) -> QuerySet[SettlementLine]:
    lines = SettlementLine.objects.filter(settlement=settlement).select_related("order")
    if category:
        lines = lines.filter(category=category)
    if order_external_id:
        lines = lines.filter(order_external_id=order_external_id)
    return lines.order_by("line_number", "pk")


@dataclass(frozen=True)
class OrderReconciliation:
    """What ACORN expected an order to settle (goods and shipping, net of promotions) and what was settled
    for it in every statement so far; `in_statement` is this statement's share."""

    order_external_id: str
    order_id: int | None
    expected: Decimal | None  # None: ACORN does not know the order
    settled: Decimal
    in_statement: Decimal
    # Some of the order's items have not appeared in any statement yet (Amazon settles each shipment when it
    # posts, so a later one may pay the rest): what is missing is not a difference yet.
    partly_settled: bool = False

    @property
    def difference(self) -> Decimal | None:
        return None if self.expected is None else self.settled - self.expected

    @property
    def differs(self) -> bool:
        """A difference that counts: the order is known, settled in full, and not what ACORN expected."""
        return bool(self.difference) and not self.partly_settled


def expected_settlement_amount(order: Order) -> Decimal:
    """Goods and shipping the buyer paid, net of discounts, as the channel priced them (tax inside the prices
    where the marketplace prices with tax, as Amazon's EU settlements and Orders API both do)."""
    return order.item_amount + order.shipping_amount - order.discount_amount


def settlement_order_reconciliation(
    *, settlement: Settlement, order_external_ids: list[str] | None = None
) -> list[OrderReconciliation]:
    """Per order of the statement (or of `order_external_ids` among them): expected, settled so far, difference."""
    in_statement = (
        SettlementLine.objects.filter(settlement=settlement, category__in=ORDER_CATEGORIES)
        .exclude(order_external_id="")
        .values("order_external_id", "order_id")
        .annotate(total=Sum("amount"))
        .order_by("order_external_id")
    )
    if order_external_ids is not None:
        in_statement = in_statement.filter(order_external_id__in=order_external_ids)
    rows = list(in_statement)
    order_ids = [row["order_id"] for row in rows if row["order_id"]]
    settled_all = dict(
        SettlementLine.objects.filter(
            tenant_id=settlement.tenant_id,
            settlement__store_id=settlement.store_id,
            order_id__in=order_ids,
            category__in=ORDER_CATEGORIES,
        )
        .values("order_id")
        .annotate(total=Sum("amount"))
        .values_list("order_id", "total")
        .order_by()
    )
    orders = {order.pk: order for order in Order.objects.filter(pk__in=order_ids)}
    unsettled = _orders_with_unsettled_items(settlement, order_ids)
    result = []
    for row in rows:
        order = orders.get(row["order_id"]) if row["order_id"] else None
        result.append(
            OrderReconciliation(
                order_external_id=row["order_external_id"],
                order_id=order.pk if order else None,
                expected=expected_settlement_amount(order) if order else None,
                settled=exact_sum((settled_all.get(order.pk) if order else None) or row["total"]),
                in_statement=exact_sum(row["total"]),
                partly_settled=bool(order and order.pk in unsettled),
            )
        )
    return result


def _orders_with_unsettled_items(settlement: Settlement, order_ids: list[int]) -> set[int]:
    """The orders among `order_ids` some of whose items no statement of the store has paid yet, where the
    channel settles per item (its lines carry the order item's id); two queries."""
    settled_items: dict[int, set[str]] = {}
    for order_id, item in (
        SettlementLine.objects.filter(
            tenant_id=settlement.tenant_id,
            settlement__store_id=settlement.store_id,
            order_id__in=order_ids,
            category__in=ORDER_CATEGORIES,
        )
        .exclude(order_item_code="")
        .values_list("order_id", "order_item_code")
        .distinct()
        .order_by()
    ):
        settled_items.setdefault(order_id, set()).add(item)
    if not settled_items:
        return set()
    unsettled: set[int] = set()
    for order_id, item in (
        OrderLine.objects.filter(tenant_id=settlement.tenant_id, order_id__in=list(settled_items))
        .values_list("order_id", "external_id")
        .order_by()
    ):
        if item not in settled_items[order_id]:
            unsettled.add(order_id)
    return unsettled


def unclassified_types(*, tenant: Tenant) -> QuerySet[SettlementLine]:
    """Vendor types no rule or default maps, with how many lines and how much money each holds."""
    return (
        SettlementLine.objects.filter(tenant=tenant, category=Category.UNCLASSIFIED)
        .values("settlement__kind", "transaction_type", "amount_type", "amount_description")
        .annotate(lines=Count("pk"), total=Sum("amount"), settlements=Count("settlement", distinct=True))
        .order_by("-lines", "transaction_type", "amount_type", "amount_description")
    )


def orders_not_yet_settled(*, tenant: Tenant, store_id: int | None = None) -> QuerySet[Order]:
    """Shipped orders older than 30 days that no statement of their store has paid anything for."""
    cutoff = timezone.now() - NOT_YET_SETTLED_AFTER
    settled = SettlementLine.objects.filter(tenant=tenant, order=OuterRef("pk"))
    orders = (
        Order.objects.filter(
            tenant=tenant, purchased_at__lt=cutoff, status__in=(OrderStatus.SHIPPED, OrderStatus.PARTIALLY_SHIPPED)
        )
        .annotate(settled=Exists(settled))
        .filter(settled=False, store__settlements__isnull=False)
        .distinct()
        .select_related("store")
    )
    if store_id:
        orders = orders.filter(store_id=store_id)
    return orders.order_by("purchased_at", "pk")


def settlement_lines_total(*, settlement: Settlement) -> Decimal:
    return exact_sum(SettlementLine.objects.filter(settlement=settlement).aggregate(total=Sum("amount"))["total"])


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# --- the finance console's reads --------------------------------------------------------------------------

FEE_CATEGORIES = (Category.SELLER_FEES, Category.FBA_FEES, Category.STORAGE_FEES, Category.ADVERTISING)


def settlement_order_groups(*, settlement: Settlement) -> QuerySet[SettlementLine, dict[str, Any]]:
    """The statement's lines summed per channel order id (lines naming no order form the "" group), by id."""
    return (
        SettlementLine.objects.filter(settlement=settlement)
        .values("order_external_id")
        .annotate(lines=Count("pk"), total=Sum("amount"), order_pk=Max("order_id"))
        .order_by("order_external_id")
    )


@dataclass(frozen=True)
class OrderGroup:
    """One order's lines in a statement: every line's sum (fees and tax too), and the reconciliation of what
    it settled for goods and shipping against what ACORN expected (None for lines naming no order)."""

    order_external_id: str
    order_id: int | None
    lines: int
    total: Decimal
    reconciliation: OrderReconciliation | None


def settlement_order_group_rows(*, settlement: Settlement, groups: list[dict[str, Any]]) -> list[OrderGroup]:
    """`groups` (a page of settlement_order_groups) with each order's reconciliation."""
    ids = [group["order_external_id"] for group in groups if group["order_external_id"]]
    reconciled = {
        row.order_external_id: row
        for row in settlement_order_reconciliation(settlement=settlement, order_external_ids=ids)
    }
    return [
        OrderGroup(
            order_external_id=group["order_external_id"],
            order_id=group["order_pk"],
            lines=group["lines"],
            total=exact_sum(group["total"]),
            reconciliation=reconciled.get(group["order_external_id"]) if group["order_external_id"] else None,
        )
        for group in groups
    ]


def settlement_sku_groups(*, settlement: Settlement) -> QuerySet[SettlementLine, dict[str, Any]]:
    """The statement's lines summed per SKU ("" = lines naming no SKU): units sold, sales, refunds, fees, all."""
    return (
        SettlementLine.objects.filter(settlement=settlement)
        .values("sku")
        .annotate(
            lines=Count("pk"),
            quantity=Coalesce(Sum("quantity", filter=Q(category=Category.SALES)), 0),
            sales=Coalesce(Sum("amount", filter=Q(category=Category.SALES)), ZERO),
            refunds=Coalesce(Sum("amount", filter=Q(category=Category.REFUNDS)), ZERO),
            fees=Coalesce(Sum("amount", filter=Q(category__in=FEE_CATEGORIES)), ZERO),
            total=Coalesce(Sum("amount"), ZERO),
        )
        .order_by("sku")
    )


def settlement_type_groups(*, settlement: Settlement) -> QuerySet[SettlementLine, dict[str, Any]]:
    """The statement's lines summed per vendor type (the three raw fields) and the category it got."""
    return (
        SettlementLine.objects.filter(settlement=settlement)
        .values("category", "transaction_type", "amount_type", "amount_description")
        .annotate(lines=Count("pk"), total=Coalesce(Sum("amount"), ZERO))
        .order_by("category", "transaction_type", "amount_type", "amount_description")
    )


def settlement_unclassified_types(*, settlement: Settlement) -> QuerySet[SettlementLine, dict[str, Any]]:
    """The vendor types of the statement that nothing maps, with their lines and money."""
    return settlement_type_groups(settlement=settlement).filter(category=Category.UNCLASSIFIED)


@dataclass(frozen=True)
class MonthPart:
    """What a statement holds for one calendar month of its lines' posted dates (UTC): the part of it that
    the ledger books in that month."""

    month: date  # the first day of the month
    categories: dict[str, Decimal]
    total: Decimal
    lines: int


def settlement_month_split(*, settlement: Settlement) -> list[MonthPart]:
    """Per calendar month (UTC) of the posted dates, and per category, the statement's amounts, oldest first.

    A line without a posted date belongs to the month the statement ends in (its final part), so the parts
    always add up to the lines' sum."""
    rows = (
        SettlementLine.objects.filter(settlement=settlement)
        .annotate(month=TruncMonth("posted_at", tzinfo=UTC))
        .values("month", "category")
        .annotate(total=Sum("amount"), lines=Count("pk"))
        .order_by()
    )
    closing = settlement.period_end.astimezone(UTC).date().replace(day=1)
    months: dict[date, dict[str, Decimal]] = {}
    counts: dict[date, int] = {}
    for row in rows:
        month = row["month"].astimezone(UTC).date().replace(day=1) if row["month"] is not None else closing
        categories = months.setdefault(month, {})
        categories[row["category"]] = categories.get(row["category"], ZERO) + exact_sum(row["total"])
        counts[month] = counts.get(month, 0) + row["lines"]
    return [
        MonthPart(
            month=month,
            categories=dict(sorted(months[month].items())),
            total=sum(months[month].values(), ZERO),
            lines=counts[month],
        )
        for month in sorted(months)
    ]


@dataclass(frozen=True)
class UnclassifiedType:
    """A vendor type nothing maps, across the tenant's statements: its lines, statements and money per currency."""

    kind: str
    platform: str
    transaction_type: str
    amount_type: str
    amount_description: str
    lines: int
    settlements: int
    amounts: list[Money]


def unclassified_type_rows(*, tenant: Tenant, limit: int = 500) -> list[UnclassifiedType]:
    """Every unclassified vendor type of the tenant (most lines first), money summed per currency, never across."""
    rows = (
        SettlementLine.objects.filter(tenant=tenant, category=Category.UNCLASSIFIED)
        .values("settlement__kind", "transaction_type", "amount_type", "amount_description", "settlement__currency")
        .annotate(lines=Count("pk"), total=Sum("amount"), settlements=Count("settlement", distinct=True))
        .order_by()
    )
    merged: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["settlement__kind"], row["transaction_type"], row["amount_type"], row["amount_description"])
        entry = merged.setdefault(key, {"lines": 0, "settlements": 0, "amounts": []})
        entry["lines"] += row["lines"]
        entry["settlements"] += row["settlements"]
        entry["amounts"].append(Money(exact_sum(row["total"]), row["settlement__currency"]).quantized())
    result = [
        UnclassifiedType(
            kind=kind,
            platform=Settlement(kind=kind).platform,
            transaction_type=transaction_type,
            amount_type=amount_type,
            amount_description=description,
            lines=entry["lines"],
            settlements=entry["settlements"],
            amounts=sorted(entry["amounts"], key=lambda money: money.currency),
        )
        for (kind, transaction_type, amount_type, description), entry in merged.items()
    ]
    result.sort(key=lambda row: (-row.lines, row.transaction_type, row.amount_type, row.amount_description))
    return result[:limit]


@dataclass(frozen=True)
class FinanceSummary:
    """The dashboard's finance card: the latest statements and how many need someone's attention."""

    settlements: int
    unbalanced: int
    has_differences: int
    unclassified_lines: int
    latest: list[Settlement]


def settlement_dashboard_summary(*, tenant: Tenant, latest: int = 5) -> FinanceSummary:
    """Counts of statements by what needs attention, and the newest few (by period end)."""
    counts = Settlement.objects.filter(tenant=tenant).aggregate(
        settlements=Count("pk"),
        unbalanced=Count("pk", filter=Q(status=SettlementStatus.UNBALANCED)),
        has_differences=Count("pk", filter=Q(status=SettlementStatus.HAS_DIFFERENCES)),
        unclassified_lines=Coalesce(Sum("unclassified_count"), 0),
    )
    return FinanceSummary(
        settlements=counts["settlements"],
        unbalanced=counts["unbalanced"],
        has_differences=counts["has_differences"],
        unclassified_lines=counts["unclassified_lines"],
        latest=list(settlement_list(tenant=tenant)[:latest]),
    )


def settlement_upload_get_or_404(*, tenant: Tenant, pk: int) -> SettlementUpload:
    upload = SettlementUpload.objects.filter(tenant=tenant, pk=pk).select_related("store", "settlement").first()
    if upload is None:
        raise Http404
    return upload
