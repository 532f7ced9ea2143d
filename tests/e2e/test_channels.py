"""In the browser: sign in, connect each channel through its own consent / install page (the simulator's), then
"Sync now" and watch the progress card turn into the result without reloading the page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from acorn.tenancy.models import Membership, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store, StoreStatus
from orders.models import Order
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.conftest import EnqueuedTasks
from tests.e2e.conftest import shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NOW = datetime.now(UTC).replace(microsecond=0)
SHOP = "acme-e2e"
WOO = "e2e-shop"


def _world() -> World:
    # a small history: the point is the pages, not the volume (tests/channels sync the big worlds)
    return World(seed=21, clock=ManualClock(NOW), orders_per_day=3, history_days=10, malformed_rate=0)


@pytest.fixture
def sim(e2e_settings: Any) -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=21, faults="none", world=_world()) as server:
        server.shopify.add_shop(f"{SHOP}.myshopify.com", currency="EUR", orders_per_day=3, history_days=10)
        server.woo.add_site(WOO, currency="EUR", orders_per_day=3, history_days=10)
        e2e_settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(server.tls_cert_path)
        yield server


def _run_queued(enqueued: EnqueuedTasks) -> None:
    """The worker's part: run what the console queued (syncs, webhook registration) until nothing is left."""
    for _ in range(10):
        if not enqueued:
            return
        enqueued.run_all()


def test_sign_in_connect_every_channel_and_sync_with_visible_progress(
    live_server: Any,
    tenant: Tenant,
    owner: Membership,
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    new_page: Callable[..., Any],
) -> None:
    base = live_server.url
    page = new_page()

    # a wrong password is refused with a message, the right one opens the dashboard
    sign_in(page, base, owner.user.email, "not-the-password")
    assert "/accounts/login/" in page.url
    assert page.locator(".alert, .invalid-feedback, .errorlist").first.is_visible()
    sign_in(page, base, owner.user.email)
    assert page.url.rstrip("/").endswith("/app")
    assert page.locator("nav").first.is_visible()

    # Amazon: the connect form sends the seller to Seller Central's consent page; "Authorize" brings them back
    page.goto(f"{base}/app/stores/connect/amazon/")
    page.fill("input[name=name]", "Amazon US")
    page.check("input[name=marketplaces][value=US]")
    page.fill("input[name=endpoint]", sim.url)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{sim.url}/apps/authorize/consent**")
    shot(page, "en_connect_amazon_consent")
    page.click("button[name=approve]")
    page.wait_for_url(f"{base}/app/stores/*/")
    assert page.get_by_text("Amazon US").first.is_visible()

    # Shopify: the shop's install page, then back to the store page
    page.goto(f"{base}/app/stores/connect/shopify/")
    page.fill("input[name=name]", "Shopify EU")
    page.fill("input[name=shop]", SHOP)
    page.fill("input[name=endpoint]", sim.url)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{sim.url}/shopify/**")
    shot(page, "en_connect_shopify_install")
    page.click("button[name=approve]")
    page.wait_for_url(f"{base}/app/stores/*/")

    # WooCommerce: the REST keys the merchant created in WooCommerce → Settings → Advanced → REST API
    site = sim.woo.site(WOO)
    page.goto(f"{base}/app/stores/connect/woocommerce/")
    page.fill("input[name=name]", "Webshop DE")
    page.fill("input[name=site_url]", sim.woo.site_url(WOO))
    page.fill("input[name=consumer_key]", site.consumer_key)
    page.fill("input[name=consumer_secret]", site.consumer_secret)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/app/stores/*/")

    with tenant_scope(tenant):
        stores = {store.platform: store for store in Store.objects.all()}
    assert set(stores) == {"amazon", "shopify", "woocommerce"}
    assert all(store.status == StoreStatus.ACTIVE for store in stores.values())
    _run_queued(enqueued)  # the first syncs the connections queued

    # "Sync now" on the Shopify store: the card says it is waiting, then shows the result without a reload
    shopify = stores["shopify"]
    page.goto(f"{base}/app/stores/{shopify.pk}/")
    page.get_by_role("button", name="Sync now").click()
    card = page.locator("#sync-request")
    card.wait_for()
    assert "Sync in progress" in card.inner_text()
    page.evaluate("window.__e2e_marker = 'same page'")
    _run_queued(enqueued)
    page.wait_for_selector("#sync-request.border-success", timeout=10_000)
    assert "Sync finished" in card.inner_text()
    assert page.evaluate("window.__e2e_marker") == "same page"  # htmx swapped the card; the page never reloaded
    shot(page, "en_store_after_sync")
    with tenant_scope(tenant):
        assert Order.objects.filter(store=shopify).exists()

    page.goto(f"{base}/app/stores/")
    for name in ("Amazon US", "Shopify EU", "Webshop DE"):
        assert page.get_by_text(name).first.is_visible()
