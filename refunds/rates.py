"""Refund rates per master SKU from the daily rollup (RefundRateDaily). Dates are UTC days.

The rollup holds, per tenant / master product / store / UTC day, the master units sold (order lines of
orders purchased that day, cancelled orders left out), refunded by the refund's day and refunded by the
order's purchase day (the cohort view). It is rebuilt set-based — one aggregate per figure, grouped in the
database, then delete-and-insert of the day's rows in one transaction — never by walking lines in Python:

- `rollup_refresh(store=, days=)` recomputes given days of one store; called inline by the refunds ingest
  (refund and order days of the refunds a page touched), by a console refund's settlement, and by the
  `orders_upserted` hook (purchase days of new and changed orders);
- `rollup_rebuild(store=, since=)` recomputes a store's history month by month (mappings created or changed
  re-resolve history): `manage.py refund_rates_rebuild` and the nightly beat task (last 120 days).

Channel lines are mapped to the master product as inventory.selectors.mapping_resolve does (the channel's
product id first, then the channel SKU, then a master SKU equal to the channel SKU), in SQL, and their
quantity multiplied by the mapping's multiplier. A refund line keeps the product the ingest resolved.
Refunds are counted when SUCCEEDED (channel-reported, or console refunds executed); refunds of a cancelled
order are left out, as the order's units are not sold either.

`refund_rates`, `refund_rate_trend` and `refund_rates_by_channel` read only the rollup: one indexed
aggregate query each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Count, F, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from acorn.tenancy.models import Tenant
from acorn.tenancy.retention import retention_first_kept_day
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from inventory.models import Product, SkuMapping
from orders.models import Order, OrderLine, OrderStatus
from refunds.models import Refund, RefundLine, RefundRateDaily, RefundStatus

REFUND_DATE = "refund_date"
ORDER_DATE = "order_date"
WINDOWS = (7, 30, 90)
BASES = (REFUND_DATE, ORDER_DATE)
REBUILD_CHUNK_DAYS = 31  # one transaction and one set of aggregates per store and month on a rebuild
NIGHTLY_REBUILD_DAYS = 120


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


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh wrote: rollup rows, and the units it had to leave out (no master product)."""

    rows: int = 0
    unmapped_sold_units: int = 0
    unmapped_refunded_units: int = 0


def utc_today() -> date:
    return timezone.now().astimezone(UTC).date()


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _refunded_field(basis: str) -> str:
    if basis == REFUND_DATE:
        return "refunded_units"
    if basis == ORDER_DATE:
        return "cohort_refunded_units"
    raise ValueError(f"Unknown basis {basis!r}; one of {', '.join(BASES)}.")


def _check_window(window_days: int) -> None:
    if window_days < 1:
        raise ValueError("window_days must be at least 1.")


# --- reading the rollup -----------------------------------------------------------------------------------


def _rollup(
    tenant: Tenant,
    start: date,
    end: date,
    *,
    store_id: int | None = None,
    platform: str | None = None,
    product_ids: Sequence[int] | None = None,
) -> models.QuerySet[RefundRateDaily]:
    rows = RefundRateDaily.objects.filter(tenant=tenant, day__gte=start, day__lte=end)
    if store_id is not None:
        rows = rows.filter(store_id=store_id)
    if platform:
        rows = rows.filter(store__platform=platform)
    if product_ids is not None:
        rows = rows.filter(product_id__in=list(product_ids))
    return rows


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
    _check_window(window_days)
    refunded = _refunded_field(basis)
    end = today or utc_today()
    start = end - timedelta(days=window_days - 1)
    rows = (
        _rollup(tenant, start, end, store_id=store_id, platform=platform, product_ids=product_ids)
        # Grouped by the product id alone (a hash aggregate over integers); its SKU and name ride along.
        .values("product_id")
        .annotate(sold=Sum("sold_units"), refunded=Sum(refunded), sku=Min("product__sku"), name=Min("product__name"))
        .filter(Q(sold__gt=0) | Q(refunded__gt=0))
        .order_by("sku", "product_id")
    )
    return [
        SkuRate(
            product_id=row["product_id"],
            sku=row["sku"],
            name=row["name"],
            units_sold=int(row["sold"] or 0),
            units_refunded=int(row["refunded"] or 0),
        )
        for row in rows
    ]


def refund_rates_by_channel(
    *, tenant: Tenant, product_id: int, window_days: int, basis: str = REFUND_DATE, today: date | None = None
) -> list[tuple[str, SkuRate]]:
    """One SKU's rate per channel (store platform) over the window: [(platform, SkuRate)], by platform."""
    _check_window(window_days)
    refunded = _refunded_field(basis)
    end = today or utc_today()
    start = end - timedelta(days=window_days - 1)
    rows = (
        _rollup(tenant, start, end, product_ids=[product_id])
        .values("store__platform", "product__sku", "product__name")
        .annotate(sold=Sum("sold_units"), refunded=Sum(refunded))
        .order_by("store__platform")
    )
    return [
        (
            row["store__platform"],
            SkuRate(
                product_id=product_id,
                sku=row["product__sku"],
                name=row["product__name"],
                units_sold=int(row["sold"] or 0),
                units_refunded=int(row["refunded"] or 0),
            ),
        )
        for row in rows
    ]


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
    _check_window(window_days)
    refunded = _refunded_field(basis)
    end = today or utc_today()
    first = end - timedelta(days=days - 1)
    start = first - timedelta(days=window_days - 1)
    daily = {
        row["day"]: (int(row["sold"] or 0), int(row["refunded"] or 0))
        for row in _rollup(tenant, start, end, store_id=store_id, product_ids=[product_id])
        .values("day")
        .annotate(sold=Sum("sold_units"), refunded=Sum(refunded))
        .order_by("day")
    }
    trend: list[tuple[date, Decimal | None]] = []
    sold = refunded_units = 0
    day = start
    while day <= end:
        day_sold, day_refunded = daily.get(day, (0, 0))
        sold, refunded_units = sold + day_sold, refunded_units + day_refunded
        leaving = day - timedelta(days=window_days)
        if leaving >= start:
            gone_sold, gone_refunded = daily.get(leaving, (0, 0))
            sold, refunded_units = sold - gone_sold, refunded_units - gone_refunded
        if day >= first:
            rate = SkuRate(product_id, "", "", sold, refunded_units).rate_percent
            trend.append((day, rate))
        day += timedelta(days=1)
    return trend


# --- keeping the rollup current ---------------------------------------------------------------------------


def _day_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as [first, last] runs: one indexed range each instead of a scan of the whole span."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _in_days(field: str, runs: list[tuple[date, date]]) -> Q:
    condition = Q()
    for first, last in runs:
        condition |= Q(**{f"{field}__gte": _midnight(first), f"{field}__lt": _midnight(last + timedelta(days=1))})
    return condition


def _resolution(store: Store, sku: str, channel_product_id: str) -> tuple[Any, Any]:
    """SQL expressions: the master product id and the multiplier of a channel line (as mapping_resolve)."""
    mappings = SkuMapping.objects.filter(store_id=store.pk)
    by_product_id = mappings.filter(channel_product_id=OuterRef(channel_product_id)).exclude(channel_product_id="")
    by_sku = mappings.filter(channel_sku=OuterRef(sku)).exclude(channel_sku="")
    master = Product.objects.filter(tenant_id=store.tenant_id, sku=OuterRef(sku), active=True).exclude(sku="")
    product = Coalesce(
        Subquery(by_product_id.values("product_id")[:1]),
        Subquery(by_sku.values("product_id")[:1]),
        Subquery(master.values("pk")[:1]),
        output_field=models.BigIntegerField(),
    )
    multiplier = Coalesce(
        Subquery(by_product_id.values("quantity_multiplier")[:1]),
        Subquery(by_sku.values("quantity_multiplier")[:1]),
        Value(1),
        output_field=models.BigIntegerField(),
    )
    return product, multiplier


def _grouped(rows: models.QuerySet[Any], day_field: str, product: Any, multiplier: Any) -> Any:
    return (
        rows.annotate(rollup_day=TruncDate(day_field, tzinfo=UTC), rollup_product=product, rollup_mult=multiplier)
        .values("rollup_day", "rollup_product")
        .annotate(units=Sum(F("quantity") * F("rollup_mult")))
        .order_by()
        .values_list("rollup_day", "rollup_product", "units")
    )


def _refund_lines(store: Store) -> models.QuerySet[RefundLine]:
    return RefundLine.objects.filter(refund__store_id=store.pk, refund__status=RefundStatus.SUCCEEDED).exclude(
        refund__order__status=OrderStatus.CANCELLED
    )


def rollup_refresh(*, store: Store, days: Iterable[date]) -> RefreshResult:
    """Recompute the rollup rows of the store's given days from orders and refunds (one transaction; rows
    that became all-zero are gone). Returns what was written and the units left out for want of a product."""
    runs = _day_runs(days)
    if not runs:
        return RefreshResult()
    wanted = {first + timedelta(days=n) for first, last in runs for n in range((last - first).days + 1)}
    figures: dict[tuple[date, int], list[int]] = {}
    unmapped = [0, 0]

    def add(rows: Iterable[tuple[Any, int | None, int | None]], position: int) -> None:
        for day, product_id, units in rows:
            day = day.date() if isinstance(day, datetime) else day
            if day not in wanted or not units:
                continue
            if product_id is None:
                if position < len(unmapped):  # the cohort count is the same units again
                    unmapped[position] += int(units)
                continue
            figures.setdefault((day, int(product_id)), [0, 0, 0])[position] += int(units)

    with tenant_scope(store.tenant), transaction.atomic():
        product, multiplier = _resolution(store, "sku", "channel_product_id")
        sold = (
            OrderLine.objects.filter(order__store_id=store.pk)
            .filter(_in_days("order__purchased_at", runs))
            .exclude(order__status=OrderStatus.CANCELLED)
        )
        add(_grouped(sold, "order__purchased_at", product, multiplier), 0)
        line_product, line_multiplier = _resolution(store, "sku", "order_line__channel_product_id")
        line_product = Coalesce(F("product_id"), line_product, output_field=models.BigIntegerField())
        by_refund_day = _refund_lines(store).filter(_in_days("refund__refunded_at", runs))
        add(_grouped(by_refund_day, "refund__refunded_at", line_product, line_multiplier), 1)
        by_order_day = _refund_lines(store).filter(_in_days("refund__order__purchased_at", runs))
        add(_grouped(by_order_day, "refund__order__purchased_at", line_product, line_multiplier), 2)

        RefundRateDaily.objects.filter(store_id=store.pk, day__in=sorted(wanted)).delete()
        rows = [
            RefundRateDaily(
                tenant_id=store.tenant_id,
                store_id=store.pk,
                product_id=product_id,
                day=day,
                sold_units=units[0],
                refunded_units=units[1],
                cohort_refunded_units=units[2],
            )
            for (day, product_id), units in sorted(figures.items())
            if any(units)
        ]
        # A refresh of the same day running at the same moment may have written first: the later one wins.
        RefundRateDaily.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["tenant", "product", "store", "day"],
            update_fields=["sold_units", "refunded_units", "cohort_refunded_units"],
        )
    return RefreshResult(rows=len(rows), unmapped_sold_units=unmapped[0], unmapped_refunded_units=unmapped[1])


def rollup_refresh_for_refunds(*, store: Store, refunds: Iterable[Refund]) -> RefreshResult:
    """Refresh the days these refunds count on: their refund days and their orders' purchase days."""
    refunds = list(refunds)
    days = {utc_day(refund.refunded_at) for refund in refunds if refund.refunded_at is not None}
    order_ids = {refund.order_id for refund in refunds if refund.order_id is not None}
    if order_ids:
        with tenant_scope(store.tenant):
            purchased = Order.objects.filter(pk__in=order_ids).values_list("purchased_at", flat=True)
            days |= {utc_day(moment) for moment in purchased}
    return rollup_refresh(store=store, days=days)


def rollup_refresh_for_orders(*, store: Store, external_ids: Iterable[str]) -> RefreshResult:
    """Refresh the purchase days of these orders of the store (new, cancelled or changed)."""
    ids = list(external_ids)
    if not ids:
        return RefreshResult()
    with tenant_scope(store.tenant):
        purchased = Order.objects.filter(store_id=store.pk, external_id__in=ids).values_list("purchased_at", flat=True)
        days = {utc_day(moment) for moment in purchased}
    return rollup_refresh(store=store, days=days)


def rollup_add_new_orders(*, store: Store, external_ids: Iterable[str]) -> int:
    """Orders of the store seen for the first time: their units sold are added to the rollup rows of their
    purchase days (one grouped read of these orders only, one upsert) instead of recounting those whole days —
    a new order changes nothing else (its refunds, if any waited for it, are recounted by the caller). Returns
    the rows touched."""
    ids = list(external_ids)
    if not ids:
        return 0
    # Called inside the orders ingest's transaction, which a failure here rolls back whole: no savepoint.
    with tenant_scope(store.tenant), transaction.atomic(savepoint=False):
        product, multiplier = _resolution(store, "sku", "channel_product_id")
        sold = OrderLine.objects.filter(order__store_id=store.pk, order__external_id__in=ids).exclude(
            order__status=OrderStatus.CANCELLED
        )
        rows = [
            (day.date() if isinstance(day, datetime) else day, product_id, int(units))
            for day, product_id, units in _grouped(sold, "order__purchased_at", product, multiplier)
            if product_id is not None and units
        ]
        if not rows:
            return 0
        table = connection.ops.quote_name(RefundRateDaily._meta.db_table)
        values = ", ".join(["(%s, %s, %s, %s, %s, 0, 0)"] * len(rows))
        params: list[Any] = []
        for day, product_id, units in rows:
            params += [store.tenant_id, product_id, store.pk, day, units]
        # Django's bulk upsert can only overwrite a column; this adds to it. The table name is the model's and
        # the values are parameters.
        sql = (
            f"INSERT INTO {table} (tenant_id, product_id, store_id, day, sold_units, refunded_units, "  # noqa: S608
            f"cohort_refunded_units) VALUES {values} ON CONFLICT (tenant_id, product_id, store_id, day) "
            f"DO UPDATE SET sold_units = {table}.sold_units + EXCLUDED.sold_units"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    return len(rows)


def _first_day(store: Store) -> date | None:
    with tenant_scope(store.tenant):
        first_order = Order.objects.filter(store_id=store.pk).aggregate(first=models.Min("purchased_at"))["first"]
        first_refund = Refund.objects.filter(store_id=store.pk).aggregate(first=models.Min("refunded_at"))["first"]
    moments = [moment for moment in (first_order, first_refund) if moment is not None]
    return utc_day(min(moments)) if moments else None


def rollup_rebuild(*, store: Store, since: date | None = None, today: date | None = None) -> RefreshResult:
    """Recompute a store's rollup from `since` (default: its whole history) to today, a month per
    transaction (memory bounded by SKUs x 31 days). Rows of days before `since` are kept, and so are the rows
    of days before the tenant's retention (retention deleted orders and refunds there: the rows are what is
    left of those days)."""
    end = today or utc_today()
    kept_from = retention_first_kept_day(store.tenant, now=datetime.combine(end, time.min, tzinfo=UTC))
    first = since or _first_day(store)
    total = RefreshResult()
    with tenant_scope(store.tenant):
        stale = RefundRateDaily.objects.filter(store_id=store.pk, day__gte=kept_from)
        if first is None:
            stale.delete()
            return total
        start = max(first, kept_from)
        stale.filter(day__gt=end).delete()
        if since is None:
            stale.filter(day__lt=start).delete()
    chunk_start = start
    while chunk_start <= end:
        chunk_end = min(chunk_start + timedelta(days=REBUILD_CHUNK_DAYS - 1), end)
        days = [chunk_start + timedelta(days=n) for n in range((chunk_end - chunk_start).days + 1)]
        result = rollup_refresh(store=store, days=days)
        total = RefreshResult(
            rows=total.rows + result.rows,
            unmapped_sold_units=total.unmapped_sold_units + result.unmapped_sold_units,
            unmapped_refunded_units=total.unmapped_refunded_units + result.unmapped_refunded_units,
        )
        chunk_start = chunk_end + timedelta(days=1)
    return total


def rollup_rebuild_tenant(*, tenant: Tenant, since: date | None = None, today: date | None = None) -> RefreshResult:
    """Rebuild every store of the tenant, store by store."""
    with tenant_scope(tenant):
        stores = list(Store.objects.filter(tenant=tenant).select_related("tenant").order_by("pk"))
    total = RefreshResult()
    for store in stores:
        result = rollup_rebuild(store=store, since=since, today=today)
        total = RefreshResult(
            rows=total.rows + result.rows,
            unmapped_sold_units=total.unmapped_sold_units + result.unmapped_sold_units,
            unmapped_refunded_units=total.unmapped_refunded_units + result.unmapped_refunded_units,
        )
    return total


def window_start(window_days: int) -> datetime:
    """Midnight UTC of the first day of the window ending today (the rates' UTC days)."""
    return datetime.combine(utc_today() - timedelta(days=window_days - 1), time.min, tzinfo=UTC)


def reason_breakdown(*, tenant: Tenant, product_id: int, since: datetime) -> list[dict[str, Any]]:
    """Refunds and units of one SKU per reason tag since `since` (one aggregate query), most refunds first,
    each with its share of the refunds in percent. Refunds counted like the rates: succeeded ones."""
    rows = (
        RefundLine.objects.filter(
            tenant=tenant, product_id=product_id, refund__refunded_at__gte=since, refund__status=RefundStatus.SUCCEEDED
        )
        .values("refund__tag")
        .annotate(refunds=Count("refund", distinct=True), units=Sum("quantity"))
        .order_by("-refunds", "refund__tag")
    )
    total = sum(row["refunds"] for row in rows) or 1
    return [
        {
            "tag": row["refund__tag"],
            "refunds": row["refunds"],
            "units": row["units"] or 0,
            "share": (Decimal(100) * row["refunds"] / total).quantize(Decimal("1")),
        }
        for row in rows
    ]
