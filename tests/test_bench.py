"""`manage.py bench`: the command-line contract (one JSON object with the figures and `ratio`), small runs of
each benchmark (reserve must not oversell; ingest stores and allocates every order; order_list serves every
case), and the throwaway tenant gone afterwards, every row of it. No timing assertions: the figures depend
on the machine."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from benchmarks import profit as profit_benchmark
from benchmarks.support import tenant_owned_row_counts
from finance.profit.models import ProfitDailyStore
from finance.profit.rollup import rollup_refresh


def _json(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(*args, stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def _rows() -> tuple[dict[str, int], int, int]:
    """Every tenant-owned row (per table), users and sessions: a benchmark must leave them as it found them."""
    return tenant_owned_row_counts(), get_user_model().objects.count(), Session.objects.count()


def _assert_cleaned_up(before: tuple[dict[str, int], int, int]) -> None:
    assert not Tenant.objects.filter(slug__startswith="bench-").exists()
    assert _rows() == before


# transaction=True: on PostgreSQL the workers use their own connections and must see committed rows.
@pytest.mark.django_db(transaction=True)
def test_bench_reserve_prints_its_figures_as_one_json_object() -> None:
    before = _rows()
    result = _json("bench", "reserve", "--scale", "40", "--json")

    assert set(result) >= {
        "benchmark",
        "database",
        "threads",
        "scale",
        "service",
        "baseline",
        "reservations_per_second",
        "baseline_reservations_per_second",
        "ratio",
        "oversold",
        "ledger_matches",
    }
    assert result["benchmark"] == "reserve" and result["scale"] == 40
    assert result["database"] in {"sqlite", "postgresql"}
    for phase in ("service", "baseline"):
        assert set(result[phase]) >= {"attempts", "reserved", "seconds", "reservations_per_second"}
        assert result[phase]["errors"] == 0
        # 90 % of what was asked is there: every unit is reserved, and not one more
        assert result[phase]["reserved"] == result["products"] * result["stock_per_product"] < 40
    assert result["oversold"] is False and result["ledger_matches"] is True
    assert isinstance(result["ratio"], float) and result["ratio"] > 0
    # every pending order was stored first; the service path then allocated their lines
    assert result["prepared"]["waiting_payment"] == 40
    assert result["service"]["path"].startswith("inventory.allocation.allocate_line")
    _assert_cleaned_up(before)


@pytest.mark.django_db(transaction=True)
def test_bench_ingest_runs_simulator_orders_through_the_service_and_the_baseline() -> None:
    before = _rows()
    result = _json("bench", "ingest", "--scale", "150", "--json")

    assert set(result) >= {
        "benchmark",
        "database",
        "scale",
        "lines",
        "service",
        "baseline",
        "baseline_figures",
        "orders_per_second",
        "baseline_orders_per_second",
        "ratio",
        "reserved",
        "backordered",
        "unmapped",
    }
    assert result["benchmark"] == "ingest" and result["scale"] == 150 and result["pages"] == 2
    assert result["errors"] == []
    # the simulator's orders, as the adapter parsed them: several marketplaces, currencies, states, channels
    assert len(result["marketplaces"]) > 2 and len(result["currencies"]) > 2
    assert {"pending_payment", "paid_unshipped", "shipped"} <= set(result["orders_by_status"])
    assert set(result["orders_by_fulfilment"]) == {"fba", "merchant"}
    assert result["lines"] >= 150
    assert result["service"]["created"] == 150 and result["service"]["errors"] == 0
    assert result["baseline_figures"]["written"] == 150 and result["baseline_figures"]["errors"] == 0
    if result["database"] == "sqlite":
        assert result["baseline"] == "executemany INSERT (SQLite has no COPY)"
    else:
        assert result["baseline"].startswith("COPY")
    assert result["reserved"] > 0 and result["unmapped"] > 0
    merchant_lines = sum(result["merchant_lines_by_state"].values())
    assert merchant_lines + result["fba_lines"] == result["lines"]  # every line is accounted for
    assert isinstance(result["ratio"], float) and result["ratio"] > 0
    _assert_cleaned_up(before)


@pytest.mark.django_db(transaction=True)
def test_bench_backfill_syncs_the_simulators_orders_over_http_through_the_adapter_and_the_engine(
    settings: Any,
) -> None:
    # a time budget of nothing: every run ends behind after one page, and the benchmark goes on run after run
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 0
    before = _rows()
    result = _json("bench", "backfill", "--scale", "300", "--json")

    assert set(result) >= {
        "benchmark",
        "database",
        "scale",
        "pages",
        "fetched",
        "created",
        "runs",
        "seconds",
        "orders_per_second",
        "statements",
        "statements_per_order",
        "rss_before_mb",
        "peak_rss_mb",
        "baseline",
        "baseline_figures",
        "ratio",
    }
    assert result["benchmark"] == "backfill" and result["scale"] == result["simulator_orders"] == 300
    # every order the simulator holds came over HTTP, page by page, and was stored once
    assert result["created"] == result["orders_stored"] == 300
    assert result["fetched"] >= 300 and result["quarantined"] == 0 and result["retries"] == 0
    assert result["pages"] == sum(result["pages_by_run"]) >= 3 and result["lines_stored"] >= 300
    assert result["runs"] == result["sync_runs_recorded"] > result["pages"] // 2
    assert set(result["run_statuses"][:-1]) == {"partial"} and result["run_statuses"][-1] == "succeeded"
    assert result["last_run"]["caught_up"] is True
    assert result["statements"] > 0 and result["statements_per_order"] > 0
    assert result["peak_rss_mb"] >= result["rss_before_mb"] > 0
    # the baseline read the same orders through the same adapter, and wrote nothing
    assert result["baseline_figures"]["fetched"] == 300 and result["baseline_figures"]["bad_records"] == 0
    assert isinstance(result["ratio"], float) and result["ratio"] > 0
    _assert_cleaned_up(before)


@pytest.mark.django_db(transaction=True)
def test_bench_order_list_measures_every_case_of_the_order_page() -> None:
    before = _rows()
    result = _json("bench", "order_list", "--scale", "1100", "--json")

    assert result["benchmark"] == "order_list" and result["orders"] == result["lines"] == 1100
    expected = {
        "first_page",
        "status_paid_unshipped",
        "store",
        "country_de",
        "date_range_30_days",
        "stock_problem_any",
        "stock_backordered",
        "platform_woocommerce",
        "marketplace_mx",
        "country_ch",
        "country_none",
        "fulfillment_merchant",
        "money_unexplained",
        "sort_oldest",
        "sort_updated",
        "search_order_id",
        "search_sku",
        "page_20",
        "csv_first_1000_rows",
    }
    assert expected <= set(result["cases"])
    for name in expected:
        case = result["cases"][name]
        assert set(case) >= {"p50_ms", "p95_ms", "queries"}, (name, case)
        assert case["status"] == 200 and case["queries"] > 0
        # how the database reads the orders for it, planned while they were there
        assert case["scans"] and isinstance(case["seq_scan"], bool), (name, case)
    assert result["cases"]["first_page"]["rows"] == result["cases"]["page_20"]["rows"] == 50
    assert result["cases"]["search_order_id"]["rows"] == 1
    # each filter case filtered (an unknown choice would show every order instead)
    assert result["cases"]["country_none"]["rows"] == result["cases"]["money_unexplained"]["rows"] == 0
    for name in ("platform_woocommerce", "marketplace_mx", "country_ch", "fulfillment_merchant", "sort_updated"):
        assert 0 < result["cases"][name]["rows"] <= 50, name
    assert result["cases"]["csv_first_1000_rows"]["rows"] == 1000
    assert result["cases"]["page_200"] == {"skipped": "fewer than 200 pages"}
    assert result["queries_grow_with_page"] is False
    _assert_cleaned_up(before)  # its orders, its stores, its member and that member's session included


@pytest.mark.django_db(transaction=True)
def test_bench_refund_rate_measures_the_rollup_against_raw_aggregates_with_the_same_figures() -> None:
    before = _rows()
    result = _json("bench", "refund_rate", "--scale", "400", "--json")

    assert result["benchmark"] == "refund_rate" and result["scale"] == result["lines"] == 400
    assert result["refunds"] > 0 and result["cancelled_lines"] > 0 and result["stores"] == 3
    assert result["rollup"]["rows"] > 0 and result["rollup"]["unmapped_sold_units"] == 0
    expected = {f"rates_{window}d_{basis}" for window in (30, 90) for basis in ("refund_date", "order_date")} | {
        "rates_30d_one_store",
        "trend_90d_of_30d_rate",
    }
    assert expected | {f"{name}_raw" for name in expected} == set(result["cases"])
    for name in expected:
        assert result["cases"][name]["queries"] == 1, name  # one indexed query over the rollup
        assert set(result["cases"][name]) >= {"p50_ms", "p95_ms", "rows"}
    assert result["figures_match"] is True and set(result["figures_match_by_case"]) == expected
    assert isinstance(result["ratio"], float) and result["ratio"] > 0
    _assert_cleaned_up(before)


@pytest.mark.django_db(transaction=True)
def test_bench_profit_measures_the_selectors_against_raw_aggregates_with_equal_figures() -> None:
    before = _rows()
    result = _json("bench", "profit", "--scale", "600", "--json")

    assert result["benchmark"] == "profit" and result["scale"] == result["facts"]["sales"] == 600
    assert result["facts"]["refunds"] > 0 and result["facts"]["costs_of_no_order"] > 0
    assert result["facts"]["estimated"] > 0 and result["stores"] == 5
    assert result["rollup"]["rows"] > 0 and result["rollup_seconds"] >= 0
    expected = {f"by_{by}_{days}d" for by in ("sku", "store", "country") for days in (30, 90)}
    expected |= {f"{what}_{days}d" for what in ("totals", "trend") for days in (30, 90)}
    assert expected | {f"{name}_raw" for name in expected} == set(result["cases"])
    for name in expected:
        case = result["cases"][name]
        # one aggregate over a rollup (by SKU: whole weeks and edge days together, labels joined; by store,
        # then one for the labels)
        assert case["queries"] == {"by_store": 2}.get(name[:-4], 1), name
        assert set(case) >= {"p50_ms", "p95_ms", "max_ms", "rows", "ratio"}
        assert case["rows"] == result["cases"][f"{name}_raw"]["rows"]
    assert result["cases"]["by_store_90d"]["rows"] == 6  # five stores and the company-wide costs
    assert result["cases"]["trend_90d"]["rows"] == 90
    assert result["figures_equal"] is True
    assert isinstance(result["ratio"], float) and result["ratio"] > 0
    assert result["slowest_case"] in expected and result["explain"][result["slowest_case"]]["plan"]
    _assert_cleaned_up(before)


@pytest.mark.django_db(transaction=True)
def test_bench_profit_fails_loudly_when_the_rollup_differs_from_the_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _rows()

    def skewed_rollup(*, tenant: Tenant, store_days: Any) -> int:
        written = rollup_refresh(tenant=tenant, store_days=store_days)
        with tenant_scope(tenant):
            # what the totals read: the rollup per store and day
            newest = ProfitDailyStore.objects.filter(tenant=tenant).order_by("-day", "-pk").first()
            assert newest is not None
            ProfitDailyStore.objects.filter(pk=newest.pk).update(net=F("net") + Decimal("0.01"))
        return written

    monkeypatch.setattr(profit_benchmark, "rollup_refresh", skewed_rollup)

    with pytest.raises(profit_benchmark.FiguresDiffer, match="totals_30d"):
        _json("bench", "profit", "--scale", "200", "--json")
    _assert_cleaned_up(before)


@pytest.mark.django_db(transaction=True)
def test_bench_dispatch_times_one_tick_against_a_raw_claim_and_sends_nothing_to_a_broker() -> None:
    before = _rows()
    result = _json("bench", "dispatch", "--scale", "30", "--json")

    assert result["benchmark"] == "dispatch" and result["stores"] == 30 and result["resources_per_store"] == 4
    assert result["cursors"] == 120
    # every cursor due: claimed and queued once, in three statements (stores, due cursors, the claim)
    assert result["dispatched"] == result["published"] == 120 and result["statements"] == 3
    assert result["idle_tick"]["dispatched"] == 0 and result["idle_tick"]["statements"] == 2
    assert 0 < result["steady_tick"]["dispatched"] == result["steady_tick"]["due"] < 120
    assert result["baseline"]["claimed"] == 120 and result["baseline"]["statements"] == 1
    assert isinstance(result["ratio"], float) and result["ratio"] > 0
    # Celery built every message (the real apply_async: no test double here) and kombu's publish counted it
    _assert_cleaned_up(before)


@pytest.mark.django_db
def test_bench_lists_its_benchmarks_and_refuses_unknown_ones() -> None:
    listing = _json("bench", "--list", "--json")
    names = [entry["name"] for entry in listing["benchmarks"]]
    assert names == [
        "backfill",
        "dispatch",
        "ingest",
        "order_list",
        "profit",
        "refund_rate",
        "reserve",
        "settlement_import",
    ]
    with pytest.raises(CommandError, match="No benchmark"):
        call_command("bench", "nothing", "--json", stdout=StringIO())
    with pytest.raises(CommandError, match="at least 1"):
        call_command("bench", "reserve", "--scale", "0", stdout=StringIO())
