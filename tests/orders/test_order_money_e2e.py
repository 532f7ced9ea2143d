"""The demo's orders all add up: the demo tenant's Amazon, Shopify and WooCommerce stores synced from the simulator
over real HTTP through the real client libraries, then every order's lines plus adjustments equal its total, and
the shipping, tax and discounts ACORN keeps are the ones the shop itself shows."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from acorn.console.management.commands.demo import PUBLISH_FLAG
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import AdjustmentKind
from channels.models import Store
from orders.models import Order, OrderAdjustment, OrderLine
from tests.channels.test_amazon_e2e import _simulator, _sync_until_done

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_sync(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000
    settings.ACORN_SYNC_INITIAL_DAYS = 90
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 300


def _sums(model: Any, field: str, store: Store) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for order_id, amount in model.objects.filter(order__store=store).values_list("order_id", field):
        totals[order_id] += amount
    return totals


def test_every_demo_order_of_every_channel_adds_up(settings: Any) -> None:
    from simulator.demo import install_demo_sellers
    from simulator.shopify.demo import install_demo_shops
    from simulator.woocommerce.demo import install_demo_woo_site

    with _simulator() as sim:
        # given: the demo tenant and its four stores on the simulator's demo sellers, shop and site
        install_demo_sellers(sim.world)
        install_demo_shops(sim.shopify, deliver_webhooks=False)
        install_demo_woo_site(sim.woo)
        settings.ACORN_SIMULATOR_URL, settings.ACORN_SIMULATOR_TLS_URL = sim.url, sim.tls_url
        settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(sim.tls_cert_path)
        call_command("demo", "--json", PUBLISH_FLAG, stdout=open("/dev/null", "w"))  # noqa: SIM115
        tenant = Tenant.objects.get(slug="demo-trading-co")
        with tenant_scope(tenant):
            stores = list(Store.objects.order_by("name"))
        # when: every store's orders are synced
        for store in stores:
            assert _sync_until_done(store)[-1].status == "succeeded"
        with tenant_scope(tenant):
            checked: dict[str, int] = defaultdict(int)
            for store in stores:
                lines = _sums(OrderLine, "total_amount", store)
                adjustments = _sums(OrderAdjustment, "amount", store)
                for order in Order.objects.filter(store=store):
                    # then: lines plus adjustments are the channel's total, to the cent, for every order
                    assert lines[order.pk] + adjustments[order.pk] == order.total_amount, order.external_id
                    assert order.adds_up, order.external_id  # the simulator's numbers need no unexplained part
                    checked[store.platform] += 1
            assert set(checked) == {"amazon", "shopify", "woocommerce"} and min(checked.values()) > 50
            assert not OrderAdjustment.objects.filter(kind=AdjustmentKind.UNEXPLAINED).exists()

            # and the shipping, tax and discounts are the shop's own figures
            shop = next(store for store in stores if store.platform == "shopify")
            stored = {order.external_id: order for order in Order.objects.filter(store=shop)}
            for truth in sim.shopify.visible_orders(shop.seller_id):
                order = stored[str(truth["legacy_id"])]
                assert order.shipping_amount == Decimal(truth["total_shipping"]), order.external_id
                assert order.tax_amount == Decimal(truth["total_tax"]), order.external_id
                assert order.discount_amount == Decimal(truth["total_discounts"]), order.external_id
            site = next(store for store in stores if store.platform == "woocommerce")
            stored = {order.external_id: order for order in Order.objects.filter(store=site)}
            for truth in sim.woo.visible_orders("acorn-demo"):
                order = stored[str(truth["id"])]
                assert order.shipping_amount == Decimal(truth["shipping_total"]), order.external_id
                assert order.tax_amount == Decimal(truth["total_tax"]), order.external_id
                assert order.discount_amount == Decimal(truth["discount_total"]), order.external_id
