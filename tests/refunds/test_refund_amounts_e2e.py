"""Amount refunds executed on each channel through the real client libraries over HTTP to the simulator: Shopify
`refundCreate` with a refund transaction and no refund line items, WooCommerce POST /orders/<id>/refunds with
`amount` (and a line's `refund_total` with no quantity for a price adjustment), an Amazon MFN order adjustment
of an amount on an item with no units (AdjustmentReason GeneralAdjustment)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from acorn.tenancy.models import Membership, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.woocommerce import WooCommerceAdapter
from orders.models import Order, OrderLine
from refunds import approvals
from refunds.models import Refund, RefundStatus
from refunds.tasks import execute_refund_task, poll_refund_feed_task
from simulator.server import SimulatorServer
from tests.channels import test_amazon_e2e as amazon_e2e
from tests.channels import test_shopify_e2e as shop_e2e
from tests.channels import test_woocommerce_e2e as woo_e2e
from tests.channels.test_amazon_e2e import _sync_until_done
from tests.refunds.test_execution_e2e import _fast_sync, _woo_order, people, sim  # noqa: F401

pytestmark = pytest.mark.django_db


def _everything_needs_one(tenant: Tenant) -> None:
    approvals.policy_update(
        tenant=tenant, one_approval_from=Decimal(0), two_approvals_from=Decimal(10**9),
        approver_roles=approvals.approver_roles_possible(), actor=None,
    )  # fmt: skip


def _priced_line(order: Order) -> OrderLine:
    return next(line for line in order.lines.order_by("pk") if line.quantity and line.principal_amount > 1)


def _tenth(line: OrderLine) -> Decimal:
    return (line.principal_amount / 10).quantize(Decimal("0.01"))


def _approve(refund: Refund, people: dict[str, Membership]) -> None:  # noqa: F811
    approvals.refund_approve(refund=refund, actor=people["finance"].user)


def test_shopify_refunds_an_amount_as_a_transaction_without_line_items(
    tenant: Tenant,
    people: dict[str, Membership],  # noqa: F811
    sim: SimulatorServer,  # noqa: F811
) -> None:
    store = shop_e2e._connect(tenant, sim)
    _sync_until_done(store)
    paid = {
        str(o["legacy_id"])
        for o in sim.shopify.visible_orders(shop_e2e.SHOP)
        if o["financial_status"] == "PAID" and o["presentment_currency"] == "EUR"
    }
    with tenant_scope(tenant):
        order = Order.objects.filter(store=store, external_id__in=paid).order_by("pk").first()
        assert order is not None
        _everything_needs_one(tenant)
        line = _priced_line(order)
        refund = approvals.refund_request(
            order=order, lines=[], shipping=False, note="Price match", restock=False, actor=people["admin"].user,
            tag="other", line_amounts={line.pk: _tenth(line)}, goodwill=Decimal("2.00"),
        )  # fmt: skip
        _approve(refund, people)
        assert execute_refund_task(tenant_id=tenant.pk, refund_id=refund.pk) == "succeeded"
        refund.refresh_from_db()
        assert refund.status == RefundStatus.SUCCEEDED
    made = [r for r in sim.shopify.refunds(shop_e2e.SHOP) if r["id"].endswith(f"/{refund.channel_refund_id}")]
    assert len(made) == 1
    # money given back, no unit refunded on Shopify
    assert Decimal(made[0]["total_presentment"]) == refund.amount and made[0]["lines"] == []


def test_woocommerce_refunds_an_amount_with_and_without_a_line(
    tenant: Tenant,
    people: dict[str, Membership],  # noqa: F811
    sim: SimulatorServer,  # noqa: F811
) -> None:
    store = woo_e2e._connect(tenant, sim)
    _sync_until_done(store)
    with tenant_scope(tenant):
        adapter = WooCommerceAdapter(store=store, secrets=store.credential.secrets)
        order = _woo_order(store, adapter, refundable=True)
        _everything_needs_one(tenant)
        line = _priced_line(order)
        adjustment = approvals.refund_request(
            order=order, lines=[], shipping=False, note="Price match", restock=False, actor=people["admin"].user,
            tag="other", line_amounts={line.pk: _tenth(line)},
        )  # fmt: skip
        goodwill = approvals.refund_request(
            order=order, lines=[], shipping=False, note="Late", restock=False, actor=people["admin"].user,
            tag="arrived_late", goodwill=Decimal("1.50"),
        )  # fmt: skip
        for refund in (adjustment, goodwill):
            _approve(refund, people)
            assert execute_refund_task(tenant_id=tenant.pk, refund_id=refund.pk) == "succeeded"
            refund.refresh_from_db()
    made = {str(r["id"]): r for r in sim.woo.refunds(woo_e2e.SLUG)}
    on_line = made[adjustment.channel_refund_id]
    assert Decimal(on_line["amount"]) == adjustment.amount
    assert [(x["refunded_item_id"], x["quantity"]) for x in on_line["lines"]] == [(int(line.external_id), 0)]
    plain = made[goodwill.channel_refund_id]
    assert Decimal(plain["amount"]) == Decimal("1.50") and plain["lines"] == []


def test_amazon_adjusts_an_item_by_an_amount_as_a_general_adjustment(
    tenant: Tenant,
    people: dict[str, Membership],  # noqa: F811
    sim: SimulatorServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = amazon_e2e._connect(tenant, sim)
    _sync_until_done(store)
    with tenant_scope(tenant):
        order = (
            Order.objects.filter(store=store, fulfillment_channel="merchant", status="shipped")
            .exclude(refunds__isnull=False)
            .order_by("pk")
            .first()
        )
        assert order is not None
        _everything_needs_one(tenant)
        line = _priced_line(order)
        refund = approvals.refund_request(
            order=order, lines=[], shipping=False, note="Price match", restock=False, actor=people["admin"].user,
            tag="other", line_amounts={line.pk: _tenth(line)},
        )  # fmt: skip
        _approve(refund, people)
        assert execute_refund_task(tenant_id=tenant.pk, refund_id=refund.pk) == "submitted"
        for _ in range(20):
            sim.world.advance(timedelta(minutes=3))
            if poll_refund_feed_task(tenant_id=tenant.pk, refund_id=refund.pk) == "succeeded":
                break
        refund.refresh_from_db()
        assert refund.status == RefundStatus.SUCCEEDED, refund.last_error
    made = [r for r in sim.world.adjustments(store.seller_id) if r["order_id"] == order.external_id]
    assert len(made) == 1 and made[0]["reason"] == "GeneralAdjustment"
    assert [item["order_item_id"] for item in made[0]["items"]] == [line.external_id]
