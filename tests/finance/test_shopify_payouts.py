"""Shopify Payments payouts imported as statements, over real HTTP to the simulator through ShopifyAPI: every
paid payout imported, balanced, its orders matched, its category totals equal to the world's to the cent;
idempotent; a payout is imported once it is paid; an unbalanced payout is shown as it is; other tenants see
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import services
from channels.adapters.shopify.parse import RecordError, parse_balance_transaction, parse_payout
from channels.models import Store, SyncRun
from channels.sync import sync_run_execute
from finance.models import Category, Settlement, SettlementKind, SettlementStatus
from finance.models import SettlementLine as StoredLine
from finance.settlements import selectors
from finance.settlements.categories import default_category
from finance.settlements.shopify import payout_import
from refunds.models import Refund
from simulator.faults import FaultProfile
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
SHOP = "payouts-e2e.myshopify.com"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _fast_sync(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000
    settings.ACORN_SYNC_INITIAL_DAYS = 60
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 120


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(params=["USD", "EUR"])
def sim(request: pytest.FixtureRequest, clock: ManualClock) -> Iterator[SimulatorServer]:
    # USD: tax charged on top of the prices; EUR: prices include VAT
    with SimulatorServer(seed=7, faults="none", world=World(seed=7, clock=clock)) as server:
        server.shopify.add_shop(SHOP, currency=request.param, orders_per_day=9, history_days=40)
        yield server


def _connect(tenant: Tenant, sim: SimulatorServer) -> Store:
    with tenant_scope(tenant):
        store = services.store_create(
            tenant=tenant,
            actor=None,
            membership=None,
            platform="shopify",
            name="Shopify",
            permissions=["orders", "finance"],
            endpoint=f"{sim.url}/shopify/{SHOP}",
            seller_id=SHOP,
        )
        return services.store_authorize(
            store=store,
            actor=None,
            seller_id=SHOP,
            secrets={"access_token": sim.shopify.issue_access_token(SHOP)},
            queue_sync=False,
        )


def _sync(store: Store, resource: str) -> list[SyncRun]:
    runs = []
    with tenant_scope(store.tenant):
        for _ in range(30):
            run = sync_run_execute(store=store, resource=resource, trigger="command", sleep=lambda seconds: None)
            runs.append(run)
            if run.status == "succeeded":
                return runs
            assert run.status == "partial", f"{run.status} {run.error_code}: {run.message}"
    raise AssertionError(f"{resource} not done: {[run.status for run in runs]}")


def _category_totals(settlement: Settlement) -> dict[str, str]:
    return {
        category: str(amount.quantize(Decimal(1).scaleb(-2 if settlement.currency != "JPY" else 0)))
        for category, amount in selectors.settlement_category_totals(settlement=settlement).items()
        if amount
    }


def test_every_paid_payout_is_imported_balanced_matched_and_true_to_the_world(
    tenant: Tenant, sim: SimulatorServer, clock: ManualClock
) -> None:
    # given: the shop's orders and refunds are in ACORN
    store = _connect(tenant, sim)
    _sync(store, "orders")
    _sync(store, "refunds")
    truth = {payout["legacy_id"]: payout for payout in sim.shopify.payouts(SHOP)}
    paid = {payout_id: payout for payout_id, payout in truth.items() if payout["status"] == "PAID"}
    assert len(paid) >= 25 and any(payout["status"] == "SCHEDULED" for payout in truth.values())
    kinds = {kind for payout in paid.values() for kind in payout["types"]}
    assert {
        "CHARGE",
        "REFUND",
        "ADJUSTMENT",
        "DISPUTE_WITHDRAWAL",
        "RESERVED_FUNDS",
        "RESERVED_FUNDS_REVERSAL",
    } <= kinds

    # when
    runs = _sync(store, "settlements")

    # then: every paid payout, and only those, is a statement equal to the world's to the cent
    with tenant_scope(tenant):
        settlements = {s.external_id: s for s in Settlement.objects.filter(store=store)}
        assert set(settlements) == set(paid)
        assert sum(run.created for run in runs) == len(paid)
        for payout_id, payout in paid.items():
            settlement = settlements[payout_id]
            assert settlement.kind == SettlementKind.SHOPIFY_PAYOUT
            assert settlement.vendor_status == "PAID"
            assert settlement.deposit_date == payout["issued_at"]
            assert (
                str(settlement.total_amount.quantize(Decimal("0.01"))) == payout["net"] or settlement.currency == "JPY"
            )
            assert settlement.balanced, payout_id
            assert settlement.status != SettlementStatus.UNBALANCED
            assert settlement.unclassified_count == 0
            assert selectors.settlement_unmatched_order_ids(settlement=settlement) == []
            assert settlement.matched_order_count == len(payout["orders"])
            assert _category_totals(settlement) == {k: v for k, v in payout["categories"].items() if Decimal(v)}
        # every order the payouts paid settled what ACORN expected of it
        reconciled = [s for s in settlements.values() if s.status == SettlementStatus.RECONCILED]
        assert len(reconciled) >= len(paid) // 2
        # a chargeback: the disputed charge given back, and its fee (on the same balance transaction) as a fee
        chargeback = StoredLine.objects.filter(settlement__store=store, transaction_type="DISPUTE_WITHDRAWAL")
        assert {(line.amount_type, line.category) for line in chargeback} == {
            ("amount", Category.REFUNDS),
            ("fee", Category.SELLER_FEES),
        }
        # refunds are linked to ACORN's refunds of their orders
        refund_lines = StoredLine.objects.filter(
            settlement__store=store, transaction_type="REFUND", amount_type="amount"
        )
        assert refund_lines.exists()
        assert not refund_lines.filter(refund__isnull=True).exists()
        assert {line.refund.order_id for line in refund_lines.select_related("refund")} == {
            line.order_id for line in refund_lines
        }
        assert Refund.objects.filter(store=store).exists()


def test_a_rerun_changes_nothing_and_a_payout_is_imported_once_it_is_paid(
    tenant: Tenant, sim: SimulatorServer, clock: ManualClock
) -> None:
    # given
    store = _connect(tenant, sim)
    _sync(store, "orders")
    _sync(store, "settlements")
    with tenant_scope(tenant):
        before = {s.external_id: (s.pk, s.line_count, s.lines_amount) for s in Settlement.objects.filter(store=store)}
    scheduled = [p["legacy_id"] for p in sim.shopify.payouts(SHOP) if p["status"] == "SCHEDULED"]
    assert scheduled and not set(scheduled) & set(before)

    # when: synced again at once
    runs = _sync(store, "settlements")

    # then: nothing new, nothing rewritten
    assert sum(run.created for run in runs) == 0
    with tenant_scope(tenant):
        again = {s.external_id: (s.pk, s.line_count, s.lines_amount) for s in Settlement.objects.filter(store=store)}
    assert again == before

    # when: two days later the scheduled payout has been paid
    clock.advance(timedelta(days=2))
    _sync(store, "settlements")

    # then: it is imported, the earlier ones untouched
    with tenant_scope(tenant):
        now_imported = {s.external_id: s for s in Settlement.objects.filter(store=store)}
        for payout_id in scheduled:
            assert now_imported[payout_id].vendor_status == "PAID"
            assert now_imported[payout_id].balanced
        assert {k: (s.pk, s.line_count, s.lines_amount) for k, s in now_imported.items() if k in before} == before


def _payout_payload(net: str) -> dict[str, Any]:
    return {
        "id": "gid://shopify/ShopifyPaymentsPayout/623721858",
        "legacyResourceId": "623721858",
        "issuedAt": "2026-11-02T12:00:00Z",
        "status": "PAID",
        "transactionType": "DEPOSIT",
        "net": {"amount": net, "currencyCode": "USD"},
        "summary": {"chargesGross": {"amount": "100.0", "currencyCode": "USD"}},
    }


def _transaction(kind: str, amount: str, fee: str, number: int) -> dict[str, Any]:
    net = str(Decimal(amount) - Decimal(fee))
    return {
        "id": f"gid://shopify/ShopifyPaymentsBalanceTransaction/{number}",
        "type": kind,
        "test": False,
        "sourceType": kind if kind in ("CHARGE", "REFUND") else "ADJUSTMENT",
        "associatedOrder": None,
        "associatedPayout": {"id": "gid://shopify/ShopifyPaymentsPayout/623721858", "status": "PAID"},
        "transactionDate": "2026-10-31T09:00:00Z",
        "amount": {"amount": amount, "currencyCode": "USD"},
        "fee": {"amount": fee, "currencyCode": "USD"},
        "net": {"amount": net, "currencyCode": "USD"},
    }


def test_a_payout_whose_lines_do_not_add_up_is_kept_as_it_is_and_shown_unbalanced(tenant: Tenant) -> None:
    # given: a payout of 90.00 whose transactions net 97.00 - 10.00 = 87.00 (one is missing from the listing)
    with tenant_scope(tenant):
        store = _store(tenant)
        payout = parse_payout(_payout_payload("90.0"))
        lines = [
            parse_balance_transaction(_transaction("CHARGE", "100.0", "3.0", 1), payout_id="623721858"),
            parse_balance_transaction(_transaction("REFUND", "-10.0", "0.0", 2), payout_id="623721858"),
            parse_balance_transaction(_transaction("TRANSFER", "-90.0", "0.0", 3), payout_id="623721858"),
        ]

        # when
        result = payout_import(store=store, payout=payout, lines=[line for line in lines if line is not None])

        # then: every line is kept as received, nothing is invented to make it add up
        settlement = result.settlement
        assert result.created
        assert settlement.status == SettlementStatus.UNBALANCED
        assert settlement.total_amount == Decimal("90.00")
        assert settlement.lines_amount == Decimal("87.00")
        assert list(
            settlement.lines.order_by("line_number").values_list("transaction_type", "amount_type", "amount")
        ) == [
            ("CHARGE", "amount", Decimal("100.00")),
            ("CHARGE", "fee", Decimal("-3.00")),
            ("REFUND", "amount", Decimal("-10.00")),
        ]
        assert selectors.settlement_category_totals(settlement=settlement) == {
            Category.SALES: Decimal("100.00"),
            Category.SELLER_FEES: Decimal("-3.00"),
            Category.REFUNDS: Decimal("-10.00"),
        }
        # and importing it again writes nothing
        assert payout_import(store=store, payout=payout, lines=[line for line in lines if line]).created is False
        assert settlement.lines.count() == 3


def _store(tenant: Tenant) -> Store:
    return StoreFactory(tenant=tenant, platform="shopify", name="Shopify", region="", marketplaces=[])


def test_a_balance_transaction_that_does_not_add_up_or_names_another_payout_is_refused() -> None:
    bad_net = _transaction("CHARGE", "100.0", "3.0", 1) | {"net": {"amount": "98.0", "currencyCode": "USD"}}
    with pytest.raises(RecordError, match="net"):
        parse_balance_transaction(bad_net, payout_id="623721858")
    other = _transaction("CHARGE", "100.0", "3.0", 1)
    with pytest.raises(RecordError, match="associatedPayout"):
        parse_balance_transaction(other, payout_id="1")


@pytest.mark.parametrize(
    ("kind", "amount_type", "category"),
    [
        ("CHARGE", "amount", Category.SALES),
        ("CHARGE", "fee", Category.SELLER_FEES),
        ("REFUND", "amount", Category.REFUNDS),
        ("DISPUTE_WITHDRAWAL", "amount", Category.REFUNDS),
        ("CHARGEBACK_FEE", "amount", Category.SELLER_FEES),
        ("ADJUSTMENT", "amount", Category.SELLER_FEES),
        ("RESERVED_FUNDS", "amount", Category.RESERVE),
        ("RESERVED_FUNDS_REVERSAL", "amount", Category.RESERVE),
        ("SHOP_CASH_CREDIT", "amount", Category.UNCLASSIFIED),
    ],
)
def test_the_default_mapping_of_shopify_payments_types(kind: str, amount_type: str, category: str) -> None:
    assert default_category("shopify", kind, amount_type, "") == category


def test_another_tenant_sees_none_of_the_payouts(tenant: Tenant, other_tenant: Tenant, sim: SimulatorServer) -> None:
    # given
    store = _connect(tenant, sim)
    _sync(store, "settlements")
    with tenant_scope(tenant):
        mine = list(selectors.settlement_list(tenant=tenant))
    assert mine

    # then
    with tenant_scope(other_tenant):
        assert not selectors.settlement_list(tenant=other_tenant).exists()
        assert selectors.settlement_get(tenant=other_tenant, pk=mine[0].pk) is None
        assert not Settlement.objects.filter(pk=mine[0].pk).exists()


def test_throttling_outages_and_dropped_connections_still_import_each_payout_exactly_once(tenant: Tenant) -> None:
    # given: a shop behind the flaky profile (throttled, 5xx, connections reset), its orders in ACORN
    profile = FaultProfile.named("flaky", slow_rate=0.0, timeout_rate=0.0)
    with SimulatorServer(seed=9, faults=profile, world=World(seed=9, clock=ManualClock(NOW))) as sim:
        sim.shopify.add_shop(SHOP, currency="USD", orders_per_day=9, history_days=30)
        store = _connect(tenant, sim)
        _sync(store, "orders")

        # when: synced twice, every call retried as it must be
        runs = _sync(store, "settlements") + _sync(store, "settlements")

        # then: each paid payout once, balanced, true to the world
        paid = {p["legacy_id"]: p for p in sim.shopify.payouts(SHOP) if p["status"] == "PAID"}
        assert sum(run.retries for run in runs) > 0, "the flaky profile should have made some calls fail"
        with tenant_scope(tenant):
            settlements = {s.external_id: s for s in Settlement.objects.filter(store=store)}
            assert set(settlements) == set(paid)
            for payout_id, payout in paid.items():
                assert settlements[payout_id].balanced
                assert _category_totals(settlements[payout_id]) == {
                    k: v for k, v in payout["categories"].items() if Decimal(v)
                }
