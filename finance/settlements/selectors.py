"""Reads of channel statements: lists, category totals, per-order reconciliation, what is not yet settled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from acorn.tenancy.models import Tenant
from channels.adapters.base import OrderStatus
from finance.settlements.models import Category, Settlement, SettlementLine
from orders.models import Order

# The categories that carry what an order's buyer paid for goods and shipping (net of promotions): what
# reconciliation compares with what ACORN expected from the order.
ORDER_CATEGORIES = (Category.SALES, Category.SHIPPING_INCOME, Category.PROMOTIONS)
NOT_YET_SETTLED_AFTER = timedelta(days=30)
ZERO = Decimal(0)


def settlement_list(
    *,
    tenant: Tenant,
    store_id: int | None = None,
    status: str = "",
    kind: str = "",
) -> QuerySet[Settlement]:
    """The tenant's statements, newest period first, with their store."""
    settlements = Settlement.objects.filter(tenant=tenant).select_related("store")
    if store_id:
        settlements = settlements.filter(store_id=store_id)
    if status:
        settlements = settlements.filter(status=status)
    if kind:
        settlements = settlements.filter(kind=kind)
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
    return {row["category"]: row["total"] or ZERO for row in rows}


def settlement_unmatched_order_ids(*, settlement: Settlement) -> list[str]:
    """The channel order ids the statement names that ACORN never imported, sorted."""
    return list(
        SettlementLine.objects.filter(settlement=settlement, order__isnull=True)
        .exclude(order_external_id="")
        .values_list("order_external_id", flat=True)
        .distinct()
        .order_by("order_external_id")
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

    @property
    def difference(self) -> Decimal | None:
        return None if self.expected is None else self.settled - self.expected


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
    result = []
    for row in rows:
        order = orders.get(row["order_id"]) if row["order_id"] else None
        result.append(
            OrderReconciliation(
                order_external_id=row["order_external_id"],
                order_id=order.pk if order else None,
                expected=expected_settlement_amount(order) if order else None,
                settled=(settled_all.get(order.pk) if order else None) or row["total"] or ZERO,
                in_statement=row["total"] or ZERO,
            )
        )
    return result


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
    return SettlementLine.objects.filter(settlement=settlement).aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]
