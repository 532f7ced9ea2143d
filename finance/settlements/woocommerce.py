"""WooCommerce monthly statements: WooCommerce has no payout API, so ACORN builds one statement per site per
calendar month from the orders and refunds it holds (kind WOOCOMMERCE_STATEMENT, source BUILT).

Lines. Per paid order placed in the month: its goods (`sales`), discounts (`promotions`, negative), shipping
(`shipping_income`), tax charged on top of the prices (`tax_collected`; tax inside the prices stays in the
goods, as the order priced it) and other charges such as fee lines (`sales`). Per refund made in the month:
what the buyer got back (`refunds`, negative). Orders never paid (pending, on hold, failed, cancelled) are
left out; a refunded order was paid, so it is in, and its refund is a line of the month it was made.

Clearing per payment gateway. Each line carries its order's gateway in its description ("stripe: Credit card
(Stripe)", from the tags the WooCommerce adapter keeps) and `woocommerce_statement_gateways` totals the
statement per gateway. What each gateway charged in fees is not known to ACORN (WooCommerce does not report
it): no fee line is invented, and the statement says so (`GATEWAY_FEES_NOTE` in its source reference).

Total. The statement's total IS the sum of its lines: it is balanced by construction (no bank deposit to
compare it with), and its status only tells whether its orders reconcile.

Month and time zone. A month runs from midnight on its first day to midnight on the first day of the next,
in `time_zone`: ACORN keeps no time zone per store or tenant yet, so it is the project's TIME_ZONE unless the
caller names one (the command's --time-zone).

Open and closed. While its month is open (until CLOSE_AFTER past its end, so orders synced late still count)
a statement is rebuilt in place each time it is built (same row, lines replaced); once built after that it is
CLOSED (vendor_status) and never rebuilt: building it again changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.audit.services import audit_record
from acorn.money import quantize_amount
from channels.adapters.woocommerce.parse import PAYMENT_METHOD_TAG, PAYMENT_METHOD_TITLE_TAG
from channels.models import Platform, Store
from finance.profit.other_costs import other_costs_from_settlements
from finance.settlements.categories import ANY, Categoriser, Key, register_default_mapping
from finance.settlements.models import (
    Category,
    CategoryRule,
    CategorySource,
    Settlement,
    SettlementKind,
    SettlementLine,
    SettlementSource,
)
from finance.settlements.reconciliation import settlement_reconcile
from finance.settlements.services import statement_journals_due
from orders.models import Order
from refunds.models import Refund, RefundStatus

OPEN = "OPEN"
CLOSED = "CLOSED"
CLOSE_AFTER = timedelta(days=3)
GATEWAY_FEES_NOTE = "Built from orders and refunds; payment gateway fees are unknown and not included."
# What the statement page says of a built statement (its fees) and of its month (vendor_status).
GATEWAY_FEES_UNKNOWN = _(
    "Payment gateway fees are unknown: WooCommerce does not report them, so this statement includes none."
)
STATEMENT_STATES = {
    OPEN: _("Month open: the statement is rebuilt every hour"),
    CLOSED: _("Month closed: the statement no longer changes"),
}
UNKNOWN_GATEWAY = "unknown"
# WooCommerce order statuses of orders never paid (their money never cleared).
UNPAID_STATUSES = ("pending", "on-hold", "checkout-draft", "cancelled", "failed")
ORDER = "Order"
REFUND = "Refund"

WOOCOMMERCE_DEFAULT_MAPPING: dict[Key, str] = {
    (ORDER.lower(), "goods", ANY): Category.SALES,
    (ORDER.lower(), "discount", ANY): Category.PROMOTIONS,
    (ORDER.lower(), "shipping", ANY): Category.SHIPPING_INCOME,
    (ORDER.lower(), "tax", ANY): Category.TAX_COLLECTED,
    (ORDER.lower(), "other", ANY): Category.SALES,
    (REFUND.lower(), ANY, ANY): Category.REFUNDS,
}


class StatementMonthError(ValueError):
    """A month that is not YYYY-MM, or a store that is not a WooCommerce site."""


@dataclass(frozen=True)
class BuildResult:
    settlement: Settlement | None  # None: nothing happened in the month (no statement)
    created: bool
    rebuilt: bool


def parse_month(value: str) -> date:
    """ "2026-11" → date(2026, 11, 1), or StatementMonthError."""
    try:
        year, month = (int(part) for part in value.strip().split("-"))
        return date(year, month, 1)
    except ValueError:
        raise StatementMonthError(f"{value!r} is not a month (YYYY-MM).") from None


def month_bounds(month: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """Midnight on the month's first day and on the next month's, in `zone`."""
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=zone)


def month_of(moment: datetime, zone: tzinfo) -> date:
    local = moment.astimezone(zone)
    return date(local.year, local.month, 1)


def _zone(time_zone: str | None) -> tzinfo:
    return ZoneInfo(time_zone) if time_zone else timezone.get_default_timezone()


def order_gateway(order: Order) -> str:
    """The order's payment gateway as kept by the WooCommerce adapter: "stripe: Credit card (Stripe)"."""
    tags = [str(tag) for tag in order.tags or ()]
    method = next((tag[len(PAYMENT_METHOD_TAG) :] for tag in tags if tag.startswith(PAYMENT_METHOD_TAG)), "")
    title = next((tag[len(PAYMENT_METHOD_TITLE_TAG) :] for tag in tags if tag.startswith(PAYMENT_METHOD_TITLE_TAG)), "")
    if method and title:
        return f"{method}: {title}"[:100]
    return (method or title or UNKNOWN_GATEWAY)[:100]


def _paid_orders(store: Store, start: datetime, end: datetime) -> QuerySet[Order]:
    return (
        Order.objects.filter(store=store, purchased_at__gte=start, purchased_at__lt=end)
        .exclude(raw_status__in=UNPAID_STATUSES)
        .order_by("purchased_at", "pk")
    )


def _refunds(store: Store, start: datetime, end: datetime) -> QuerySet[Refund]:
    return (
        Refund.objects.filter(store=store, status=RefundStatus.SUCCEEDED, refunded_at__gte=start, refunded_at__lt=end)
        .select_related("order")
        .order_by("refunded_at", "pk")
    )


def _order_parts(order: Order) -> list[tuple[str, Decimal]]:
    """The order's total by part; they add up to the total (items - discount + shipping + other + tax on top)."""
    parts = [
        ("goods", order.item_amount),
        ("discount", -order.discount_amount),
        ("shipping", order.shipping_amount),
        ("other", order.other_amount),
    ]
    if not order.taxes_included:
        parts.append(("tax", order.tax_amount))
    return [(name, amount) for name, amount in parts if amount]


def _lines(
    settlement: Settlement, orders: list[Order], refunds: list[Refund], categoriser: Categoriser
) -> list[SettlementLine]:
    lines: list[SettlementLine] = []

    def add(kind: str, part: str, amount: Decimal, order: Order | None, posted: datetime, **extra: object) -> None:
        gateway = order_gateway(order) if order is not None else UNKNOWN_GATEWAY
        decision = categoriser.decide(kind, part, gateway)
        lines.append(
            SettlementLine(
                tenant_id=settlement.tenant_id,
                settlement=settlement,
                line_number=len(lines) + 1,
                transaction_type=kind,
                amount_type=part,
                amount_description=gateway,
                category=decision.category,
                category_source=CategorySource.RULE if decision.rule_id else CategorySource.DEFAULT,
                rule_id=decision.rule_id,
                amount=quantize_amount(amount, settlement.currency),
                posted_at=posted,
                order=order,
                **extra,
            )
        )

    for order in orders:
        for part, amount in _order_parts(order):
            add(
                ORDER,
                part,
                amount,
                order,
                order.purchased_at,
                order_external_id=order.external_id,
                merchant_order_id=order.merchant_order_id,
            )
    for refund in refunds:
        add(
            REFUND,
            "total",
            -refund.amount,
            refund.order,
            refund.refunded_at,
            order_external_id=refund.order_external_id,
            refund=refund,
            adjustment_id=refund.external_id[:100],
        )
    return lines


def woocommerce_statement_build(
    *, store: Store, month: date | str, time_zone: str | None = None, now: datetime | None = None
) -> list[BuildResult]:
    """Build (or, while the month is open, rebuild in place) the store's statement of one calendar month, one
    per currency its orders were paid in (one, for a normal site). A CLOSED statement is left as it is. Writes
    in one transaction; returns what happened per currency (nothing when the month had no money)."""
    if store.platform != Platform.WOOCOMMERCE:
        raise StatementMonthError(f"Store {store.pk} is not a WooCommerce site.")
    first = parse_month(month) if isinstance(month, str) else month.replace(day=1)
    zone = _zone(time_zone)
    start, end = month_bounds(first, zone)
    moment = now or timezone.now()
    if start > moment:
        raise StatementMonthError(f"{first:%Y-%m} has not started yet.")
    closing = moment >= end + CLOSE_AFTER
    label = f"{first:%Y-%m}"
    with transaction.atomic():
        orders = list(_paid_orders(store, start, end))
        refunds = list(_refunds(store, start, end))
        by_currency: dict[str, tuple[list[Order], list[Refund]]] = defaultdict(lambda: ([], []))
        for order in orders:
            by_currency[order.currency][0].append(order)
        for refund in refunds:
            by_currency[refund.currency][1].append(refund)
        existing = {
            settlement.currency: settlement
            for settlement in Settlement.objects.select_for_update()
            .filter(store=store, kind=SettlementKind.WOOCOMMERCE_STATEMENT)
            .filter(external_id__startswith=label)
            .order_by("pk")
        }
        currencies = sorted(set(by_currency) | set(existing))
        rules = list(CategoryRule.objects.filter(tenant_id=store.tenant_id, platform=store.platform))
        categoriser = Categoriser(platform=store.platform, rules=rules)
        results = []
        for currency in currencies:
            external_id = label if len(currencies) == 1 else f"{label} {currency}"
            settlement = existing.get(currency)
            if settlement is not None and settlement.vendor_status == CLOSED:
                results.append(BuildResult(settlement=settlement, created=False, rebuilt=False))
                continue
            currency_orders, currency_refunds = by_currency.get(currency, ([], []))
            created = settlement is None
            if settlement is None:
                settlement = Settlement(
                    tenant_id=store.tenant_id,
                    store=store,
                    kind=SettlementKind.WOOCOMMERCE_STATEMENT,
                    source=SettlementSource.BUILT,
                    currency=currency,
                )
            elif _unchanged(settlement, currency_orders, currency_refunds, categoriser, closing=closing):
                # The hourly build found nothing new: no rewrite, no audit entry, no journal rebuild.
                results.append(BuildResult(settlement=settlement, created=False, rebuilt=False))
                continue
            else:
                settlement.lines.all().delete()
            settlement.external_id = external_id
            settlement.source_reference = GATEWAY_FEES_NOTE
            settlement.period_start = start
            settlement.period_end = end - timedelta(microseconds=1)
            settlement.deposit_date = None
            settlement.vendor_status = CLOSED if closing else OPEN
            settlement.imported_at = moment
            settlement.total_amount = Decimal(0)
            settlement.save()
            lines = _lines(settlement, currency_orders, currency_refunds, categoriser)
            SettlementLine.objects.bulk_create(lines, batch_size=1000)
            # Balanced by construction: the statement's total is the sum of its lines.
            settlement.total_amount = sum((line.amount for line in lines), Decimal(0))
            settlement.save(update_fields=["total_amount"])
            settlement_reconcile(settlement=settlement)
            statement_journals_due(tenant_id=store.tenant_id, settlement_ids=[settlement.pk])
            other_costs_from_settlements(tenant=store.tenant, settlement_ids=[settlement.pk])
            audit_record(
                tenant=store.tenant,
                actor=None,
                action="settlement.built",
                target=settlement,
                after={
                    "store": store.pk,
                    "month": label,
                    "lines": len(lines),
                    "total": str(settlement.total_amount),
                    "currency": currency,
                    "status": settlement.vendor_status,
                },
            )
            results.append(BuildResult(settlement=settlement, created=created, rebuilt=not created))
    return results


@dataclass(frozen=True)
class GatewayTotal:
    """What one payment gateway cleared in a statement; its fees are unknown (None), never guessed."""

    gateway: str
    sales: Decimal
    refunds: Decimal
    net: Decimal
    lines: int
    fees: Decimal | None = None


def _line_key(line: SettlementLine) -> tuple[Any, ...]:
    return (
        line.transaction_type,
        line.amount_type,
        line.amount_description,
        line.category,
        quantize_amount(line.amount, line.settlement.currency),
        line.posted_at,
        line.order_external_id,
        line.order_id,
        line.refund_id,
        line.sku,
        line.quantity,
    )


def _unchanged(
    settlement: Settlement,
    orders: list[Order],
    refunds: list[Refund],
    categoriser: Categoriser,
    *,
    closing: bool,
) -> bool:
    """Whether building the open statement again would write exactly the lines it has."""
    if (settlement.vendor_status == CLOSED) != closing:
        return False
    wanted = sorted((_line_key(line) for line in _lines(settlement, orders, refunds, categoriser)), key=repr)
    have = sorted((_line_key(line) for line in settlement.lines.select_related("settlement")), key=repr)
    return wanted == have


def woocommerce_statement_gateways(*, settlement: Settlement) -> list[GatewayTotal]:
    """The statement's money per payment gateway: paid in by orders, given back by refunds, net."""
    totals: dict[str, list[Decimal | int]] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    for gateway, kind, amount in (
        SettlementLine.objects.filter(settlement=settlement)
        .order_by("line_number")
        .values_list("amount_description", "transaction_type", "amount")
    ):
        row = totals[gateway]
        row[0 if kind == ORDER else 1] += amount
        row[2] += 1
    return [
        GatewayTotal(
            gateway=gateway,
            sales=Decimal(row[0]),
            refunds=Decimal(row[1]),
            net=Decimal(row[0]) + Decimal(row[1]),
            lines=int(row[2]),
        )
        for gateway, row in sorted(totals.items())
    ]


def statement_months_due(*, now: datetime | None = None, time_zone: str | None = None) -> tuple[date, date]:
    """The months the hourly build covers: last month (closed by the first build past CLOSE_AFTER) and this one."""
    zone = _zone(time_zone)
    current = month_of(now or timezone.now(), zone)
    previous = month_of(month_bounds(current, zone)[0] - timedelta(days=1), zone)
    return previous, current


def woocommerce_store_statements_build(
    *, store: Store, now: datetime | None = None, time_zone: str | None = None
) -> int:
    """Last month's and this month's statements of one WooCommerce site; how many were built or rebuilt."""
    moment = now or timezone.now()
    built = 0
    for month in statement_months_due(now=moment, time_zone=time_zone):
        results = woocommerce_statement_build(store=store, month=month, time_zone=time_zone, now=moment)
        built += sum(1 for result in results if result.created or result.rebuilt)
    return built


def register() -> None:
    """From finance's AppConfig.ready(): WooCommerce's default mapping of the lines built here."""
    register_default_mapping(Platform.WOOCOMMERCE, WOOCOMMERCE_DEFAULT_MAPPING)
