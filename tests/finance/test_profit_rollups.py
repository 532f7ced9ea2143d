"""The coarser profit rollups (per store-day, product-day, product-week): after a refresh, a rebuild and with
costs spread over SKUs they add up exactly to the daily rollup, and every read gives the same figures from
them as from the daily rollup (and, costs not spread, as a raw aggregate over the facts); another tenant's
rows are never read nor touched."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from finance.profit import selectors
from finance.profit.models import (
    FactKind,
    OtherCost,
    OtherCostKind,
    OtherCostSource,
    ProfitDaily,
    ProfitDailyProduct,
    ProfitDailyStore,
    ProfitFact,
    ProfitWeeklyProduct,
)
from finance.profit.rollup import profit_rebuild, profit_refresh, profit_settings_get, rollup_refresh
from finance.profit.selectors import Period, profit_breakdown, profit_totals, profit_trend
from inventory.models import Product
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

MONEY = ("sales", "shipping", "promotions", "refunds", "referral_fees", "fba_fees", "cogs", "storage", "tax", "net")
ROLLED = (*selectors.SUMMED,)
_keys = count(1)


def _month_boundary() -> date:
    """The first day of a recent month that is not a Monday: its week holds days of two months."""
    first = timezone.now().date().replace(day=1)
    while first.weekday() == 0:
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def _fact(tenant: Tenant, day: date, **fields: Any) -> ProfitFact:
    figures = {name: Decimal(fields.pop(name, 0)) for name in MONEY if name != "net"}
    net = sum((value for name, value in figures.items() if name != "tax"), Decimal(0))
    return ProfitFact(
        tenant=tenant,
        key=f"test:{next(_keys)}",
        kind=fields.pop("kind", FactKind.SALE),
        day=day,
        currency="USD",
        reporting_currency=tenant.reporting_currency,
        net_amount=net,
        net=net,
        settled=fields.pop("settled", True),
        **figures,
        **fields,
    )


def _world(tenant: Tenant, stores: list[Store], days: list[date]) -> tuple[Product, Product]:
    """Sales of two products in two stores and countries, an unmapped channel SKU, a refund, a store's storage
    fee of no product and a company-wide cost, on each of these days; cents that do not round."""
    case = Product.objects.create(tenant=tenant, sku="CASE", name="Case")
    lamp = Product.objects.create(tenant=tenant, sku="LAMP", name="Lamp")
    facts = []
    for index, day in enumerate(days):
        for number, store in enumerate(stores):
            where = {"store": store, "marketplace": "US" if number == 0 else "", "country": ("US", "DE")[number % 2]}
            facts += [
                _fact(tenant, day, product=case, units=2, sales="19.99", cogs="-4.3333", referral_fees="-3.01",
                      tax="1.21", cost_missing=index % 3 == 0, **where),
                _fact(tenant, day, product=lamp, units=1 + index % 2, sales="45.5", fba_fees="-6.44",
                      settled=index % 2 == 0, **where),
                _fact(tenant, day, sku="UNMAPPED-1", units=1, sales="7.07", **where),
            ]  # fmt: skip
            if index % 4 == 1:
                facts.append(
                    _fact(tenant, day, kind=FactKind.REFUND, product=case, units_refunded=1, refunds="-19.99",
                          referral_fees="2.41", **where)
                )  # fmt: skip
        facts.append(_fact(tenant, day, kind=FactKind.COST, store=stores[0], marketplace="US", storage="-1.01"))
        facts.append(_fact(tenant, day, kind=FactKind.COST, other_costs="-0.37"))
    ProfitFact.objects.bulk_create(facts)
    return case, lamp


def _summed(rows: Any, keys: tuple[str, ...]) -> dict[tuple[Any, ...], dict[str, Any]]:
    found = rows.values(*keys).annotate(**{f"s_{name}": Sum(name) for name in ROLLED}).order_by()
    return {tuple(row[key] for key in keys): {name: row[f"s_{name}"] for name in ROLLED} for row in found}


def _rows(model: Any, tenant: Tenant, keys: tuple[str, ...]) -> dict[tuple[Any, ...], dict[str, Any]]:
    rows = list(model.objects.filter(tenant=tenant).values(*keys, *ROLLED))
    by_key = {tuple(row[key] for key in keys): {name: row[name] for name in ROLLED} for row in rows}
    assert len(by_key) == len(rows), f"{model.__name__}: two rows with the same keys"
    return by_key


def _assert_coarse_add_up(tenant: Tenant) -> None:
    """Each coarser rollup holds exactly the daily rollup's rows summed per its keys, nothing else."""
    with tenant_scope(tenant):
        daily = ProfitDaily.objects.filter(tenant=tenant)
        store_keys = ("day", "store_id", "marketplace", "country", "currency")
        assert _rows(ProfitDailyStore, tenant, store_keys) == _summed(daily, store_keys)
        product_keys = ("day", "product_id", "sku", "currency")
        assert _rows(ProfitDailyProduct, tenant, product_keys) == _summed(daily, product_keys)
        weeks: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(lambda: dict.fromkeys(ROLLED, 0))
        for (day, product_id, sku, currency), sums in _summed(daily, product_keys).items():
            week = weeks[(day - timedelta(days=day.weekday()), product_id, sku, currency)]
            for name in ROLLED:
                week[name] += sums[name]
        weekly = _rows(ProfitWeeklyProduct, tenant, ("week_start", "product_id", "sku", "currency"))
        assert weekly == dict(weeks)
        assert {week.weekday() for week, *_rest in weekly} <= {0}


def _days(around: date) -> list[date]:
    """The ten days around a month's first day and a few more before: weeks whole and partial."""
    return [around + timedelta(days=offset) for offset in (*range(-5, 5), -12, -20, -33)]


@pytest.fixture
def stores(tenant: Tenant) -> list[Store]:
    made = [StoreFactory(tenant=tenant), StoreFactory(tenant=tenant, platform="shopify", region="")]
    with tenant_scope(tenant):
        return list(Store.objects.filter(tenant=tenant, pk__in=[store.pk for store in made]).order_by("pk"))


def _refresh_all(tenant: Tenant, stores: list[Store], days: list[date]) -> None:
    rollup_refresh(
        tenant=tenant, store_days=[(store, day) for store in [*(s.pk for s in stores), None] for day in days]
    )


def test_refresh_keeps_the_coarse_rollups_equal_to_the_daily_one(tenant: Tenant, stores: list[Store]) -> None:
    # given a month's first day inside a week, and facts around it
    boundary = _month_boundary()
    days = _days(boundary)
    with tenant_scope(tenant):
        _world(tenant, stores, days)
    # when the whole rollup is summed
    _refresh_all(tenant, stores, days)
    # then
    _assert_coarse_add_up(tenant)
    with tenant_scope(tenant):
        crossing = ProfitWeeklyProduct.objects.filter(week_start=boundary - timedelta(days=boundary.weekday()))
        assert crossing.exists()
        # one store's day changes and only that store-day is re-summed: the product rows of the day (which span
        # both stores) and its week follow
        ProfitFact.objects.filter(store=stores[1], day=boundary, product__sku="LAMP").delete()
        ProfitFact.objects.filter(store=stores[1], day=boundary, sku="UNMAPPED-1").update(sales=Decimal("100.01"))
    rollup_refresh(tenant=tenant, store_days=[(stores[1].pk, boundary)])
    _assert_coarse_add_up(tenant)
    with tenant_scope(tenant):
        day_rows = ProfitDailyProduct.objects.filter(day=boundary, sku="UNMAPPED-1")
        assert day_rows.get().sales == Decimal("107.08")  # 7.07 in the first store, 100.01 in the second
    # a store-day whose facts are all gone leaves no coarse row
    with tenant_scope(tenant):
        ProfitFact.objects.filter(day=days[-1]).delete()
    _refresh_all(tenant, stores, [days[-1]])
    _assert_coarse_add_up(tenant)
    with tenant_scope(tenant):
        assert not ProfitDailyStore.objects.filter(day=days[-1]).exists()
        assert not ProfitDailyProduct.objects.filter(day=days[-1]).exists()


def test_rebuild_and_costs_spread_keep_the_four_consistent(tenant: Tenant, stores: list[Store]) -> None:
    boundary = _month_boundary()
    days = _days(boundary)
    with tenant_scope(tenant):
        _world(tenant, stores, days)
        ProfitFact.objects.filter(kind=FactKind.COST).delete()  # costs come from OtherCost below (a rebuild keeps them)
        costs = [
            OtherCost.objects.create(
                tenant=tenant, kind=OtherCostKind.STORAGE, source=OtherCostSource.MANUAL, source_key=f"manual:{day}",
                day=day, store=stores[0], currency="USD", amount=Decimal("-3.01"),
            )
            for day in days
        ]  # fmt: skip
    profit_refresh(tenant=tenant, other_cost_ids=[cost.pk for cost in costs])
    _assert_coarse_add_up(tenant)
    # spread costs of no product over the SKUs sold, then rebuild from a Wednesday: its week keeps Monday and
    # Tuesday's figures and sums them with the rebuilt days
    settings = profit_settings_get(tenant=tenant)
    settings.spread_unassigned_costs = True
    settings.save()
    wednesday = boundary - timedelta(days=boundary.weekday()) + timedelta(days=2)
    profit_rebuild(tenant=tenant, since=wednesday)
    _assert_coarse_add_up(tenant)
    with tenant_scope(tenant):
        spread_days = ProfitDaily.objects.filter(day__gte=wednesday, store=stores[0], product__isnull=True, sku="")
        assert not spread_days.exists()  # the storage fees went to the products sold
    profit_rebuild(tenant=tenant)
    _assert_coarse_add_up(tenant)
    with tenant_scope(tenant):
        storage = ProfitFact.objects.filter(kind=FactKind.COST).aggregate(total=Sum("storage"))["total"]
        assert storage < 0 and ProfitDailyProduct.objects.aggregate(total=Sum("storage"))["total"] == storage
    _assert_same_reads(tenant, stores, boundary, raw=False)


def _periods(boundary: date, stores: list[Store], products: tuple[Product, ...]) -> list[Period]:
    wednesday = boundary - timedelta(days=boundary.weekday()) + timedelta(days=2)
    spans = [
        (boundary - timedelta(days=29), boundary + timedelta(days=4)),  # partial weeks at both edges
        (wednesday, wednesday + timedelta(days=4)),  # no whole week
        (wednesday - timedelta(days=2), wednesday + timedelta(days=4)),  # exactly one week, no edge day
        (wednesday - timedelta(days=2), wednesday + timedelta(days=12)),  # a whole week and an edge after
        (boundary - timedelta(days=89), boundary + timedelta(days=4)),
    ]
    periods = [Period(start=start, end=end) for start, end in spans]
    start, end = spans[0]
    periods += [
        Period(start=start, end=end, store_id=stores[1].pk),
        Period(start=start, end=end, marketplace="US"),
        Period(start=start, end=end, country="DE"),
        Period(start=start, end=end, product_id=products[0].pk),
        Period(start=start, end=end, sku="UNMAPPED-1"),
        Period(start=start, end=end, store_id=stores[0].pk, product_id=products[1].pk),
    ]
    return periods


def _groups(rows: list[dict[str, Any]], key: str | tuple[str, ...]) -> dict[Any, tuple[Any, ...]]:
    names = (key,) if isinstance(key, str) else key
    return {tuple(row[name] for name in names): tuple(row[name] or 0 for name in ROLLED) for row in rows}


def _assert_same_reads(tenant: Tenant, stores: list[Store], boundary: date, *, raw: bool) -> None:
    with tenant_scope(tenant):
        products = tuple(Product.objects.filter(tenant=tenant).order_by("sku"))
        for period in _periods(boundary, stores, products):
            coarse = selectors._totals_sums(tenant=tenant, period=period, coarse=True)
            fine = selectors._totals_sums(tenant=tenant, period=period, coarse=False)
            assert coarse == fine, period
            assert profit_totals(tenant=tenant, period=period).values == selectors._totals(fine, "USD").values
            for by, key in (("sku", ("product_id", "sku")), ("store", "store_id"), ("country", "country")):
                coarse_groups = selectors._breakdown_groups(tenant=tenant, period=period, by=by, coarse=True)
                fine_groups = selectors._breakdown_groups(tenant=tenant, period=period, by=by, coarse=False)
                assert _groups(coarse_groups, key) == _groups(fine_groups, key), (period, by)
            assert selectors._trend_days(tenant=tenant, period=period, coarse=True) == selectors._trend_days(
                tenant=tenant, period=period, coarse=False
            )
            if raw:
                facts = selectors._filtered(ProfitFact, tenant=tenant, period=period)
                expected = facts.aggregate(**{name: Sum(name) for name in MONEY})
                assert {name: coarse[name] for name in MONEY} == expected, period
                by_sku = {
                    row.key: row.totals["net"] for row in profit_breakdown(tenant=tenant, period=period, by="sku")
                }
                sums = facts.values("product_id", "sku").annotate(net_sum=Sum("net")).order_by()
                raw_by_sku: dict[Any, Decimal] = defaultdict(Decimal)
                for row in sums:
                    key = row["product_id"] or (f"sku:{row['sku']}" if row["sku"] else "none")
                    raw_by_sku[key] += row["net_sum"]
                assert by_sku == raw_by_sku, period
                trend = {row["day"]: row["net"] for row in profit_trend(tenant=tenant, period=period)}
                assert sum(trend.values()) == expected["net"]


def test_reads_give_the_same_figures_from_the_coarse_and_the_fine_rollups(tenant: Tenant, stores: list[Store]) -> None:
    boundary = _month_boundary()
    days = _days(boundary)
    with tenant_scope(tenant):
        _world(tenant, stores, days)
        ProfitFact.objects.filter(sku="UNMAPPED-1").update(product=None)
    _refresh_all(tenant, stores, days)
    _assert_same_reads(tenant, stores, boundary, raw=True)
    with tenant_scope(tenant):
        period = Period(start=boundary - timedelta(days=29), end=boundary + timedelta(days=4))
        rows = {row.key: row for row in profit_breakdown(tenant=tenant, period=period, by="sku")}
        case = Product.objects.get(tenant=tenant, sku="CASE")
        assert (rows[case.pk].label, rows[case.pk].detail) == ("CASE", "Case")
        assert rows["sku:UNMAPPED-1"].detail == "unmapped" and rows["none"].detail == "no-product"


def test_another_tenant_is_never_read_nor_touched(tenant: Tenant, other_tenant: Tenant, stores: list[Store]) -> None:
    boundary = _month_boundary()
    days = _days(boundary)
    other_store = StoreFactory(tenant=other_tenant)
    with tenant_scope(other_tenant):
        other_stores = list(Store.objects.filter(tenant=other_tenant, pk=other_store.pk))
    with tenant_scope(other_tenant):
        _world(other_tenant, other_stores, days)
    _refresh_all(other_tenant, other_stores, days)
    with tenant_scope(other_tenant):
        before = {model: model.objects.count() for model in (ProfitDailyStore, ProfitDailyProduct, ProfitWeeklyProduct)}
    with tenant_scope(tenant):
        _world(tenant, stores, days[:3])
    _refresh_all(tenant, stores, days)
    profit_rebuild(tenant=tenant)
    with tenant_scope(other_tenant):
        after = {model: model.objects.count() for model in before}
        other_products = set(Product.objects.filter(tenant=other_tenant).values_list("pk", flat=True))
    assert after == before and all(before.values())
    _assert_coarse_add_up(other_tenant)
    with tenant_scope(tenant):
        period = Period(start=min(days), end=max(days))
        totals = profit_totals(tenant=tenant, period=period)
        assert totals["units"] == ProfitFact.objects.filter(tenant=tenant).aggregate(units=Sum("units"))["units"]
        skus = profit_breakdown(tenant=tenant, period=period, by="sku")
        assert other_products and not other_products & {row.key for row in skus}
        stores_read = {row.key for row in profit_breakdown(tenant=tenant, period=period, by="store")}
        assert stores_read == {stores[0].pk, stores[1].pk}  # the rebuild dropped the costs of no OtherCost


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_concurrent_refreshes_of_different_stores_on_one_day_count_once(tenant: Tenant) -> None:
    # given: four stores selling the same products on the same two days, summed once
    made = [StoreFactory(tenant=tenant, seller_id=f"S{number}") for number in range(4)]
    with tenant_scope(tenant):
        stores = list(Store.objects.filter(pk__in=[store.pk for store in made]).order_by("pk"))
    days = _days(_month_boundary())[:2]
    with tenant_scope(tenant):
        _world(tenant, stores, days)
    _refresh_all(tenant, stores, days)
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores))

    def worker(store: Store) -> None:
        try:
            start.wait()
            for _round in range(10):  # without the lock, 10 rounds of 4 writers count rows 3 times
                rollup_refresh(tenant=tenant, store_days=[(store.pk, day) for day in days])
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    # when: each store's days are re-summed by its own writer at once (the product rows span the stores)
    threads = [threading.Thread(target=worker, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    # then: every coarse row still adds up to the daily rollup: none counted twice
    assert not errors, errors[:3]
    _assert_coarse_add_up(tenant)
