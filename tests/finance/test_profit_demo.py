"""The demo's profit against its statements: the demo tenant's Amazon stores synced from the simulator over real
HTTP (orders, refunds, the channel's transactions and settlements), the P&L rebuilt; then for every settled
order, profit's fees and refunds are exactly the settlement lines of that order."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from acorn.console.management.commands.demo import PUBLISH_FLAG
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from channels.sync import sync_run_execute
from finance.profit.models import ProfitDaily, ProfitFact
from finance.profit.pnl import is_refund_side, order_pnl
from finance.profit.rollup import profit_rebuild
from finance.settlements.models import Category, SettlementLine
from orders.models import Order

pytestmark = pytest.mark.django_db

FEES = {Category.SELLER_FEES, Category.FBA_FEES}


@pytest.fixture(autouse=True)
def _fast_sync(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000
    settings.ACORN_SYNC_INITIAL_DAYS = 90
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 300


def _sync(store: Store, resource: str) -> None:
    with tenant_scope(store.tenant):
        for _ in range(40):
            run = sync_run_execute(store=store, resource=resource, trigger="command", sleep=lambda seconds: None)
            if run.status == "succeeded":
                return
            assert run.status == "partial", f"{resource}: {run.status} {run.error_code}: {run.message}"
    raise AssertionError(f"{resource} not synced")


def test_demo_profit_fees_and_refunds_equal_the_settlement_lines(settings: Any) -> None:
    from simulator.demo import install_demo_sellers
    from simulator.server import SimulatorServer
    from simulator.world import World

    # The real clock: the Finances APIs refuse a window ending less than two minutes before the request.
    with SimulatorServer(seed=11, faults="none", world=World(seed=11)) as sim:
        install_demo_sellers(sim.world)
        settings.ACORN_SIMULATOR_URL, settings.ACORN_SIMULATOR_TLS_URL = sim.url, sim.tls_url
        call_command("demo", "--json", PUBLISH_FLAG, stdout=open("/dev/null", "w"))  # noqa: SIM115
        tenant = Tenant.objects.get(slug="demo-trading-co")
        with tenant_scope(tenant):
            stores = list(Store.objects.filter(platform="amazon").order_by("name"))
        for store in stores:
            for resource in ("orders", "refunds", "deferred_money", "settlements"):
                _sync(store, resource)
    profit_rebuild(tenant=tenant)

    with tenant_scope(tenant):
        lines: dict[int, list[SettlementLine]] = defaultdict(list)
        for line in SettlementLine.objects.filter(order__isnull=False, settlement__store__in=stores):
            lines[line.order_id].append(line)
        checked = refunds_checked = 0
        for order in Order.objects.filter(pk__in=lines):
            pnl = order_pnl(order=order, reporting_currency=tenant.reporting_currency)
            if not pnl.settled:
                continue
            own = pnl.own_total
            fees = sum((line.amount for line in lines[order.pk] if line.category in FEES), Decimal(0))
            refunds = sum(
                (line.amount for line in lines[order.pk] if line.category == Category.REFUNDS and is_refund_side(line)),
                Decimal(0),
            )
            # then: the P&L's fees (sale and refund: referral returned, refund commission) are the statement's
            assert own["referral_fees"] + own["fba_fees"] + own["other_fees"] == fees, order.external_id
            assert own["refunds"] == refunds, order.external_id
            checked += 1
            refunds_checked += bool(refunds)
        assert checked > 50 and refunds_checked > 0, (checked, refunds_checked)
        # and the rollup the console reads holds what the facts hold
        assert sum(ProfitDaily.objects.values_list("net", flat=True)) == sum(
            ProfitFact.objects.values_list("net", flat=True)
        )
