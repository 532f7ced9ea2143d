"""Keeps the P&L current: facts (ProfitFact) recomputed for what changed, and the daily rollup (ProfitDaily)
re-summed for the store-days they touch — the pattern of the refund-rate rollup (refunds.rates).

- `profit_refresh(tenant=, order_ids=, refund_ids=, settlement_ids=, other_cost_ids=, product_ids=, since=)`
  recomputes the facts of those orders (their sales and refunds), of the orders of those refunds and
  statements, of those costs of no order, and of every sale and refund of those products since a moment (a
  cost changed); then re-sums the rollup of every (store, day) whose facts changed, before or after. Called
  by the `finance.refresh_profit` task, which the orders, refunds, statements and costs enqueue.
- `profit_rebuild(tenant=, since=)` recomputes everything from a day on, 500 orders per transaction, then
  the rollup month by month: `manage.py rebuild_profit` and the nightly beat (last 120 days).

The rollup is summed in the database (one grouped aggregate per store and set of days) and written by
delete-and-insert in the same transaction: one INSERT … SELECT over that aggregate, so no row passes through
Python (a full rollup of a million facts takes seconds, not minutes). With "spread costs of no order" on, a
store-day's costs with no product are shared over the products sold that day by units (acorn.money.allocate:
the shares add up), so the aggregate's rows are read, shared out and bulk-inserted instead.

The coarser rollups the console reads when it needs no product, or no store (finance.profit.models:
`ProfitDailyStore`, `ProfitDailyProduct`, `ProfitWeeklyProduct`) are summed from `ProfitDaily`, never from
the facts, right after it in the same transaction — the store-days re-summed, every store's rows of their
days, the weeks of those days — each by DELETE and one INSERT … SELECT. So they follow whatever `ProfitDaily`
holds, costs spread over SKUs included, and the three always add up to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, CharField, Count, F, Q, Sum, Value, When
from django.utils import timezone

from acorn.money import allocate
from acorn.tenancy.models import Tenant
from acorn.tenancy.retention import retention_first_kept_day
from acorn.tenancy.scoping import tenant_scope
from finance.profit.models import (
    COMPONENTS,
    FactKind,
    OtherCost,
    OtherCostKind,
    ProfitDaily,
    ProfitDailyProduct,
    ProfitDailyStore,
    ProfitFact,
    ProfitSettings,
    ProfitWeeklyProduct,
)
from finance.profit.pnl import FIGURES, Draft, RateBook, fact_from, order_drafts
from finance.settlements.models import SettlementLine
from orders.models import Order
from refunds.models import Refund

BATCH = 500
NIGHTLY_REBUILD_DAYS = 120
REBUILD_CHUNK_DAYS = 31
StoreDay = tuple[int | None, date]

# Costs of no order → the P&L component they count in.
COST_COMPONENT: dict[str, str] = {
    OtherCostKind.ADVERTISING: "advertising",
    OtherCostKind.STORAGE: "storage",
    OtherCostKind.REIMBURSEMENT: "reimbursements",
}
_SUMMED = (*FIGURES, "net")


def profit_settings_get(*, tenant: Tenant) -> ProfitSettings:
    """The tenant's profit settings, made with the defaults on first use."""
    with tenant_scope(tenant):
        found, _created = ProfitSettings.objects.get_or_create(tenant=tenant)
    return found


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _cost_draft(cost: OtherCost) -> Draft:
    draft = Draft(
        key=f"cost:{cost.pk}",
        kind=FactKind.COST,
        day=cost.day,
        currency=cost.currency,
        store_id=cost.store_id,
        marketplace=cost.marketplace,
        product_id=cost.product_id,
        sku=cost.sku,
        other_cost_id=cost.pk,
        settled=True,
    )
    draft.add(COST_COMPONENT.get(cost.kind, "other_costs"), cost.amount)
    return draft


def _replace(*, tenant: Tenant, gone: Q, drafts: list[Draft], rates: RateBook) -> set[StoreDay]:
    """Delete the facts `gone` selects, insert the drafts'; return the store-days of both."""
    touched: set[StoreDay] = set(ProfitFact.objects.filter(gone).values_list("store_id", "day").distinct())
    ProfitFact.objects.filter(gone).delete()
    facts = [
        fact_from(draft, tenant_id=tenant.pk, reporting=tenant.reporting_currency, rates=rates) for draft in drafts
    ]
    ProfitFact.objects.bulk_create(facts, batch_size=1000)
    touched |= {(fact.store_id, fact.day) for fact in facts}
    return touched


def _orders_rewrite(*, tenant: Tenant, order_ids: Sequence[int], rates: RateBook) -> set[StoreDay]:
    orders = list(Order.objects.filter(pk__in=order_ids).order_by("pk"))
    return _replace(
        tenant=tenant, gone=Q(order_id__in=order_ids), drafts=order_drafts(orders, tenant=tenant), rates=rates
    )


def _costs_rewrite(*, tenant: Tenant, cost_ids: Sequence[int], rates: RateBook) -> set[StoreDay]:
    costs = list(OtherCost.objects.filter(pk__in=cost_ids))
    keys = [f"cost:{pk}" for pk in cost_ids]
    return _replace(tenant=tenant, gone=Q(key__in=keys), drafts=[_cost_draft(cost) for cost in costs], rates=rates)


def profit_refresh(
    *,
    tenant: Tenant,
    order_ids: Iterable[int] = (),
    refund_ids: Iterable[int] = (),
    settlement_ids: Iterable[int] = (),
    other_cost_ids: Iterable[int] = (),
    product_ids: Iterable[int] = (),
    since: datetime | None = None,
) -> int:
    """Recompute the facts of what changed and the rollup of the days they touch. Returns the store-days
    re-summed. Safe to run twice: the same inputs write the same rows."""
    rates = RateBook()
    with tenant_scope(tenant), transaction.atomic():
        wanted = set(order_ids)
        refund_ids, settlement_ids, product_ids = list(refund_ids), list(settlement_ids), list(product_ids)
        if refund_ids:
            wanted |= set(
                Refund.objects.filter(pk__in=refund_ids, order__isnull=False).values_list("order_id", flat=True)
            )
        if settlement_ids:
            wanted |= set(
                SettlementLine.objects.filter(settlement_id__in=settlement_ids, order__isnull=False)
                .values_list("order_id", flat=True)
                .distinct()
            )
        if product_ids:
            day = (since or datetime.min.replace(tzinfo=UTC)).astimezone(UTC).date()
            wanted |= set(
                ProfitFact.objects.filter(product_id__in=product_ids, day__gte=day, order__isnull=False)
                .values_list("order_id", flat=True)
                .distinct()
            )
        touched: set[StoreDay] = set()
        for chunk in _chunks(sorted(wanted), BATCH):
            touched |= _orders_rewrite(tenant=tenant, order_ids=chunk, rates=rates)
        cost_ids = sorted(set(other_cost_ids))
        if cost_ids:
            touched |= _costs_rewrite(tenant=tenant, cost_ids=cost_ids, rates=rates)
        rollup_refresh(tenant=tenant, store_days=touched)
    return len(touched)


# --- the rollup -------------------------------------------------------------------------------------------


def _aggregate(facts: Any) -> list[dict[str, Any]]:
    return list(_grouped_facts(facts))


def _grouped_facts(facts: Any) -> Any:
    """The facts summed per rollup row (day, store, marketplace, country, product or SKU, currency)."""
    return (
        facts.values("day", "store_id", "marketplace", "country", "product_id", "reporting_currency")
        .annotate(
            sku_key=Case(When(product_id__isnull=True, then=F("sku")), default=Value(""), output_field=CharField()),
        )
        .values("day", "store_id", "marketplace", "country", "product_id", "reporting_currency", "sku_key")
        .annotate(
            **{f"sum_{name}": Sum(name) for name in _SUMMED},
            sum_units=Sum("units"),
            sum_units_refunded=Sum("units_refunded"),
            n_orders=Count("order_id", distinct=True, filter=Q(kind=FactKind.SALE)),
            n_facts=Count("pk"),
            n_estimated=Count("pk", filter=Q(settled=False)),
            n_cost_missing=Count("pk", filter=Q(cost_missing=True)),
        )
        .order_by()
    )


# ProfitDaily's columns ← the expression over `_grouped_facts`' columns (alias g) that fills each, as `_row` does.
_INSERTED = {
    "day": "g.day",
    "store_id": "g.store_id",
    "marketplace": "g.marketplace",
    "country": "g.country",
    "product_id": "g.product_id",
    "sku": "COALESCE(g.sku_key, '')",
    "currency": "g.reporting_currency",
    "units": "COALESCE(g.sum_units, 0)",
    "units_refunded": "COALESCE(g.sum_units_refunded, 0)",
    "orders": "g.n_orders",
    "facts": "g.n_facts",
    "estimated": "g.n_estimated",
    "cost_missing": "g.n_cost_missing",
    **{name: f"COALESCE(g.sum_{name}, 0)" for name in _SUMMED},
}


def _insert_summed(*, tenant: Tenant, facts: Any) -> int:
    """Write the rollup rows of these facts with one INSERT … SELECT: summed in the database, as `_row` would
    make them, without a row passing through Python. Returns the rows written."""
    sql, params = _grouped_facts(facts).query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in ("tenant_id", *_INSERTED))
    insert = (
        f"INSERT INTO {quote(ProfitDaily._meta.db_table)} ({columns}) "  # noqa: S608 - model names, fixed SQL
        f"SELECT %s, {', '.join(_INSERTED.values())} FROM ({sql}) g"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, [tenant.pk, *params])
        return max(cursor.rowcount, 0)


def _row(tenant: Tenant, group: dict[str, Any]) -> ProfitDaily:
    return ProfitDaily(
        tenant=tenant,
        day=group["day"],
        store_id=group["store_id"],
        marketplace=group["marketplace"],
        country=group["country"],
        product_id=group["product_id"],
        sku=group["sku_key"] or "",
        currency=group["reporting_currency"],
        units=group["sum_units"] or 0,
        units_refunded=group["sum_units_refunded"] or 0,
        orders=group["n_orders"],
        facts=group["n_facts"],
        estimated=group["n_estimated"],
        cost_missing=group["n_cost_missing"],
        **{name: group[f"sum_{name}"] or Decimal(0) for name in _SUMMED},
    )


def _spread(rows: list[ProfitDaily]) -> list[ProfitDaily]:
    """Costs of no product shared over the products sold the same store-day, by units."""
    by_store_day: dict[tuple[int | None, date, str], list[ProfitDaily]] = defaultdict(list)
    for row in rows:
        by_store_day[(row.store_id, row.day, row.currency)].append(row)
    kept: list[ProfitDaily] = []
    for group in by_store_day.values():
        sold = [row for row in group if row.product_id is not None and row.units > 0]
        for row in group:
            is_cost = row.product_id is None and not row.sku and not row.units and not row.orders
            if not is_cost or not sold or row.store_id is None:
                kept.append(row)
                continue
            weights = [Decimal(target.units) for target in sold]
            for name in (*COMPONENTS, "net"):
                amount = getattr(row, name)
                if amount:
                    for target, share in zip(sold, allocate(amount, weights, row.currency), strict=True):
                        setattr(target, name, getattr(target, name) + share)
            sold[0].facts += row.facts
        # rows of `sold` are in `group` and kept above
    return kept


def rollup_refresh(*, tenant: Tenant, store_days: Iterable[StoreDay]) -> int:
    """Re-sum the rollup rows of these store-days from their facts (delete and insert, one transaction)."""
    days_by_store: dict[int | None, set[date]] = defaultdict(set)
    for store_id, day in store_days:
        days_by_store[store_id].add(day)
    if not days_by_store:
        return 0
    spread = profit_settings_get(tenant=tenant).spread_unassigned_costs
    written = 0
    with tenant_scope(tenant), transaction.atomic():
        _rollups_lock(tenant=tenant)
        for store_id, days in days_by_store.items():
            where = Q(store_id=store_id) if store_id is not None else Q(store__isnull=True)
            for chunk in _chunks(sorted(days), 200):
                ProfitDaily.objects.filter(where, day__in=chunk).delete()
                facts = ProfitFact.objects.filter(where, day__in=chunk)
                if not spread:
                    written += _insert_summed(tenant=tenant, facts=facts)
                    continue
                rows = _spread([_row(tenant, group) for group in _aggregate(facts)])
                ProfitDaily.objects.bulk_create(rows, batch_size=1000)
                written += len(rows)
        _coarse_refresh(tenant=tenant, days_by_store=days_by_store)
    return written


# --- the coarser rollups, summed from ProfitDaily -----------------------------------------------------------

_COUNTED = ("units", "units_refunded", "orders", "facts", "estimated", "cost_missing")
_ROLLED = (*_SUMMED, *_COUNTED)
_STORE_KEYS = ("day", "store_id", "marketplace", "country", "currency")
_PRODUCT_KEYS = ("product_id", "sku", "currency")


def _rollups_lock(*, tenant: Tenant) -> None:
    """Hold the tenant's profit settings row until the transaction ends: one re-sum of the rollups at a time
    per tenant. A product's day and week rows span stores, so two refreshes of different stores on the same
    day would each delete only the rows committed before it (READ COMMITTED) and both insert: counted twice."""
    profit_settings_get(tenant=tenant)  # made on first use: there is a row to lock
    list(ProfitSettings.objects.select_for_update().filter(tenant=tenant).values_list("pk", flat=True))


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _insert_rolled(*, model: type[Any], rows: Any, keys: Sequence[str], constants: dict[str, Any]) -> int:
    """Write `model`'s rows as `rows` (a queryset of a finer rollup) summed per `keys`, with one INSERT …
    SELECT: `constants` are the same on every row (the tenant, a week). Returns the rows written."""
    grouped = rows.values(*keys).annotate(**{f"sum_{name}": Sum(name) for name in _ROLLED}).order_by()
    sql, params = grouped.query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in (*constants, *keys, *_ROLLED))
    values = [
        *("%s" for _constant in constants),
        *(f"g.{quote(key)}" for key in keys),
        *(f"COALESCE(g.{quote(f'sum_{name}')}, 0)" for name in _ROLLED),
    ]
    insert = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608 - model names, fixed SQL
        f"SELECT {', '.join(values)} FROM ({sql}) g"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, [*constants.values(), *params])
        return max(cursor.rowcount, 0)


def _coarse_refresh(*, tenant: Tenant, days_by_store: dict[int | None, set[date]]) -> None:
    """Re-sum the coarser rollups from ProfitDaily (delete and insert): ProfitDailyStore for these store-days,
    ProfitDailyProduct for their days (every store's rows: a product's row spans stores), ProfitWeeklyProduct
    for the weeks of those days (from ProfitDailyProduct). Inside the caller's transaction and scope."""
    own = {"tenant_id": tenant.pk}
    days: set[date] = set()
    for store_id, store_days in days_by_store.items():
        where = Q(tenant=tenant) & (Q(store_id=store_id) if store_id is not None else Q(store__isnull=True))
        days |= store_days
        for chunk in _chunks(sorted(store_days), 200):
            ProfitDailyStore.objects.filter(where, day__in=chunk).delete()
            _insert_rolled(
                model=ProfitDailyStore,
                rows=ProfitDaily.objects.filter(where, day__in=chunk),
                keys=_STORE_KEYS,
                constants=own,
            )
    for chunk in _chunks(sorted(days), 200):
        ProfitDailyProduct.objects.filter(tenant=tenant, day__in=chunk).delete()
        _insert_rolled(
            model=ProfitDailyProduct,
            rows=ProfitDaily.objects.filter(tenant=tenant, day__in=chunk),
            keys=("day", *_PRODUCT_KEYS),
            constants=own,
        )
    _weeks_refresh(tenant=tenant, weeks={_monday(day) for day in days})


def _weeks_refresh(*, tenant: Tenant, weeks: Iterable[date]) -> None:
    """Re-sum ProfitWeeklyProduct for these weeks (Mondays) from ProfitDailyProduct."""
    for week in sorted(weeks):
        ProfitWeeklyProduct.objects.filter(tenant=tenant, week_start=week).delete()
        _insert_rolled(
            model=ProfitWeeklyProduct,
            rows=ProfitDailyProduct.objects.filter(tenant=tenant, day__gte=week, day__lte=week + timedelta(days=6)),
            keys=_PRODUCT_KEYS,
            constants={"tenant_id": tenant.pk, "week_start": week},
        )


def _rollups_clear(*, tenant: Tenant, since: date | None) -> None:
    """Delete every rollup row from `since` (all when None); the week of `since` goes too (re-summed after)."""
    daily = Q(tenant=tenant) if since is None else Q(tenant=tenant, day__gte=since)
    for model in (ProfitDaily, ProfitDailyStore, ProfitDailyProduct):
        model.objects.filter(daily).delete()
    weekly = Q(tenant=tenant) if since is None else Q(tenant=tenant, week_start__gte=_monday(since))
    ProfitWeeklyProduct.objects.filter(weekly).delete()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def profit_rebuild(*, tenant: Tenant, since: date | None = None) -> int:
    """Recompute every fact from `since` (all the history the tenant's retention keeps when None) and the
    rollup of those days. Returns the facts written. Orders are rewritten 500 per transaction; facts left of
    orders and costs that no longer exist are removed. Days before the retention's first whole day are never
    rebuilt: retention deleted orders there (and their facts with them), so their rollups stay as they are."""
    rates = RateBook()
    written = 0
    since = max(since, retention_first_kept_day(tenant)) if since else retention_first_kept_day(tenant)
    with tenant_scope(tenant):
        orders = Order.objects.all()
        costs = OtherCost.objects.all()
        facts = ProfitFact.objects.all()
        if since is not None:
            start = _midnight(since)
            refunded = Refund.objects.filter(refunded_at__gte=start, order__isnull=False).values("order_id")
            orders = orders.filter(Q(purchased_at__gte=start) | Q(pk__in=refunded))
            costs = costs.filter(day__gte=since)
            facts = facts.filter(day__gte=since)
        order_ids = list(orders.order_by("pk").values_list("pk", flat=True))
        touched: set[StoreDay] = set()
        for chunk in _chunks(order_ids, BATCH):
            with transaction.atomic():
                touched |= _orders_rewrite(tenant=tenant, order_ids=chunk, rates=rates)
        cost_ids = list(costs.order_by("pk").values_list("pk", flat=True))
        for chunk in _chunks(cost_ids, BATCH * 4):
            with transaction.atomic():
                _costs_rewrite(tenant=tenant, cost_ids=chunk, rates=rates)
        # Facts of orders and costs gone (deleted, or no longer in the window's sources).
        facts.filter(Q(kind=FactKind.COST, other_cost__isnull=True)).delete()
        written = facts.count()
        first = facts.order_by("day").values_list("day", flat=True).first()
        with transaction.atomic():
            _rollups_lock(tenant=tenant)
            _rollups_clear(tenant=tenant, since=since)
            if since is not None:
                # Its days before `since` stay: the week of `since` is summed again from them (and the new ones).
                _weeks_refresh(tenant=tenant, weeks=[_monday(since)])
        if first is None:
            if since is not None:
                rollup_refresh(tenant=tenant, store_days=_kept_days(tenant, touched, before=since))
            return written
        day, last = first, timezone.now().astimezone(UTC).date() + timedelta(days=1)
        last = max(last, facts.order_by("-day").values_list("day", flat=True).first() or last)
        while day <= last:
            end = min(day + timedelta(days=REBUILD_CHUNK_DAYS - 1), last)
            stores = set(facts.filter(day__gte=day, day__lte=end).values_list("store_id", flat=True).distinct())
            span = [day + timedelta(days=offset) for offset in range((end - day).days + 1)]
            rollup_refresh(tenant=tenant, store_days=[(store, one) for store in stores for one in span])
            day = end + timedelta(days=1)
        # Sales before `since` of orders refunded since were rewritten too.
        if since is not None:
            rollup_refresh(tenant=tenant, store_days=_kept_days(tenant, touched, before=since))
    return written


def _kept_days(tenant: Tenant, store_days: set[StoreDay], *, before: date) -> list[StoreDay]:
    """Those store-days before `before` that are inside the retention (earlier ones keep their rollup)."""
    first = retention_first_kept_day(tenant)
    return [(store, one) for store, one in store_days if first <= one < before]
