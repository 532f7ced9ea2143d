"""Channel capabilities: each adapter declares what its platform can do, domain code asks instead of naming
the platform, and the jobs, webhooks and keys that follow from the declarations stay what they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import sync
from channels.adapters.amazon import AmazonAdapter
from channels.adapters.base import (
    Capability,
    ChannelAdapter,
    ChannelCapabilityMissing,
    ExternalOrder,
    ExternalRefund,
    FbaStockReading,
    Page,
    RefundExecuting,
    RefundExecutionMode,
    RefundFetching,
    RefundIdentity,
    RefundLine,
    RefundShipping,
    ReturnFetching,
    ShipmentConfirmationMode,
    ShipmentConfirming,
    WebhookReceiving,
)
from channels.adapters.passes import order_by_order_page
from channels.adapters.registry import (
    adapter_class_for,
    adapter_classes,
    platform_supports,
    platforms_supporting,
)
from channels.adapters.shopify import ShopifyAdapter
from channels.adapters.woocommerce import WooCommerceAdapter
from channels.models import DataPermission, Store, StoreCredential, SyncCursor
from channels.webhooks import webhook_event_process, webhook_event_record
from orders.models import Order, OrderStatus
from orders.services import order_upsert_page
from orders.shipments.confirmation import batched_platforms
from refunds.ingest import refund_dedupe_key, refund_source
from tests.channels.test_sync_engine import ScriptedAdapter, make_order
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def engine_store(tenant: Tenant, owner: Any) -> Store:
    """An authorised Amazon store whose adapter is the engine tests' script (orders only)."""
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        StoreCredential.objects.create(tenant=tenant, store=store, secrets={"refresh_token": "Atzr|x"})
    return store


@pytest.fixture
def scripted_channel(monkeypatch: pytest.MonkeyPatch, settings: Any) -> type[ScriptedAdapter]:
    settings.ACORN_RATE_LIMIT_SCALE = 10_000
    monkeypatch.setattr(sync, "adapter_for", lambda store, secrets: ScriptedAdapter(store=store, secrets=secrets))
    ScriptedAdapter.script, ScriptedAdapter.calls = [], []
    return ScriptedAdapter


EVERY_PLATFORM = {
    "amazon": {
        Capability.FETCH_ORDERS,
        Capability.FETCH_REFUNDS,
        Capability.FETCH_RETURNS,
        Capability.EXECUTE_REFUNDS,
        Capability.CONFIRM_SHIPMENTS,
        Capability.PUSH_STOCK,
        Capability.READ_FBA_STOCK,
        Capability.READ_MARKETPLACE_PARTICIPATIONS,
        Capability.LIST_SETTLEMENTS,
        Capability.READ_FINANCIAL_TRANSACTIONS,
    },
    "shopify": {
        Capability.FETCH_ORDERS,
        Capability.FETCH_REFUNDS,
        Capability.FETCH_RETURNS,
        Capability.EXECUTE_REFUNDS,
        Capability.CONFIRM_SHIPMENTS,
        Capability.PUSH_STOCK,
        Capability.RECEIVE_WEBHOOKS,
        Capability.LIST_PAYOUTS,
    },
    "woocommerce": {
        Capability.FETCH_ORDERS,
        Capability.FETCH_REFUNDS,
        Capability.EXECUTE_REFUNDS,
        Capability.CONFIRM_SHIPMENTS,
        Capability.PUSH_STOCK,
        Capability.RECEIVE_WEBHOOKS,
    },
}


@pytest.mark.parametrize("platform", sorted(EVERY_PLATFORM))
def test_each_adapter_class_says_what_its_platform_can_do_without_credentials(platform: str) -> None:
    # when: asked on the class (a form deciding what to offer has no credentials)
    adapter_class = adapter_class_for(platform)
    # then
    assert adapter_class.key == platform
    assert adapter_class.capabilities() == EVERY_PLATFORM[platform]
    for capability in Capability:
        assert adapter_class.supports(capability) is (capability in EVERY_PLATFORM[platform])
        assert platform_supports(platform, capability) is (capability in EVERY_PLATFORM[platform])


def test_only_shopify_lists_payouts_and_an_unknown_platform_supports_nothing() -> None:
    assert platforms_supporting(Capability.LIST_PAYOUTS) == {"shopify"}
    assert platforms_supporting(Capability.RECEIVE_WEBHOOKS) == {"shopify", "woocommerce"}
    assert not platform_supports("etsy", Capability.FETCH_ORDERS)
    assert {adapter.key for adapter in adapter_classes()} == set(EVERY_PLATFORM)


def test_the_vendor_facts_the_domain_acts_on_are_declared_on_the_adapters() -> None:
    # Amazon: refunds as adjustment feeds, shipping refunded per item, one refund reported by two APIs,
    # shipments confirmed in batched feeds
    assert AmazonAdapter.refund_execution_mode == RefundExecutionMode.SUBMISSION
    assert AmazonAdapter.refund_shipping == RefundShipping.PER_ITEM
    assert AmazonAdapter.refund_identity == RefundIdentity.ORDER_POSTING_TOTAL
    assert AmazonAdapter.shipment_confirmation_mode == ShipmentConfirmationMode.BATCHED_SUBMISSION
    assert AmazonAdapter.refund_reason(note="Wrong size") == "CustomerReturn"  # Amazon takes codes
    # the shops: refunded at once, under their own refund ids, shipping on the order, parcel by parcel
    for shop in (ShopifyAdapter, WooCommerceAdapter):
        assert shop.refund_execution_mode == RefundExecutionMode.IMMEDIATE
        assert shop.refund_shipping == RefundShipping.PER_ORDER
        assert shop.refund_identity == RefundIdentity.CHANNEL_ID
        assert shop.shipment_confirmation_mode == ShipmentConfirmationMode.PER_SHIPMENT
        assert shop.refund_reason(note="Wrong size") == "Wrong size"
        assert shop.refund_reason(note="") == "Refund"
    assert batched_platforms() == {"amazon"}


def _credentials(platform: str) -> dict[str, str]:
    return {
        "amazon": {"refresh_token": "Atzr|x"},
        "shopify": {"access_token": "shpat_x"},
        "woocommerce": {"consumer_key": "ck_x", "consumer_secret": "cs_x"},
    }[platform]


@pytest.mark.parametrize("platform", sorted(EVERY_PLATFORM))
def test_require_hands_out_what_the_adapter_implements_and_refuses_the_rest(tenant: Tenant, platform: str) -> None:
    # given: an adapter bound to a store (no HTTP until a call)
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, platform=platform, endpoint="https://shop.example")
    adapter = adapter_class_for(platform)(store=store, secrets=_credentials(platform))
    interfaces = {
        Capability.FETCH_REFUNDS: RefundFetching,
        Capability.FETCH_RETURNS: ReturnFetching,
        Capability.EXECUTE_REFUNDS: RefundExecuting,
        Capability.CONFIRM_SHIPMENTS: ShipmentConfirming,
        Capability.READ_FBA_STOCK: FbaStockReading,
        Capability.RECEIVE_WEBHOOKS: WebhookReceiving,
    }
    for capability, interface in interfaces.items():
        if capability in EVERY_PLATFORM[platform]:
            assert adapter.require(interface) is adapter
        else:
            # then: a clear channel error, not an AttributeError deep in the domain
            with pytest.raises(ChannelCapabilityMissing):
                adapter.require(interface)


@pytest.mark.parametrize(
    ("platform", "resources"),
    [
        ("amazon", {"orders", "refunds", "returns", "inventory", "settlements", "deferred_money"}),
        ("shopify", {"orders", "refunds", "returns", "settlements"}),
        ("woocommerce", {"orders", "refunds"}),
    ],
)
def test_sync_jobs_run_for_the_stores_whose_channel_can_do_them(
    tenant: Tenant, platform: str, resources: set[str]
) -> None:
    # given: a store that granted every data permission
    with tenant_scope(tenant):
        everything = StoreFactory(tenant=tenant, platform=platform, permissions=list(DataPermission.values))
        orders_only = StoreFactory(tenant=tenant, platform=platform, permissions=[DataPermission.ORDERS])
        # when / then: the jobs come from what the channel can do
        assert {job.resource for job in sync.sync_jobs_for(everything)} == resources
        # and the permissions still narrow them
        assert {job.resource for job in sync.sync_jobs_for(orders_only)} == {"orders"}


def _refund(posted: datetime, *, external_id: str = "R-1", source: str = "") -> ExternalRefund:
    return ExternalRefund(
        external_id=external_id,
        order_id="111-0000001",
        posted_at=posted,
        currency="USD",
        lines=(
            RefundLine(order_item_id="L1", sku="SKU-1", quantity=1, components=(("principal", Decimal("-6.005")),)),
        ),
        source=source,
    )


def test_refund_keys_and_sources_are_the_ones_already_stored(tenant: Tenant) -> None:
    # given: a store of each kind (the keys are in the database already: they must not change)
    posted = datetime(2026, 11, 10, 8, 30, 15, 900_000, tzinfo=UTC)
    with tenant_scope(tenant):
        amazon = StoreFactory(tenant=tenant, platform="amazon")
        shop = StoreFactory(tenant=tenant, platform="shopify", name="Shop", marketplaces=[], region="")
        woo = StoreFactory(tenant=tenant, platform="woocommerce", name="Woo", marketplaces=[], region="")
    # then: Amazon's two reports of one refund share order, posting second and net total
    assert refund_dedupe_key(amazon, _refund(posted)) == "amazon|111-0000001|20261110T083015Z|-6.01"
    assert refund_dedupe_key(amazon, _refund(posted, external_id="R-2", source="transactions")) == (
        "amazon|111-0000001|20261110T083015Z|-6.01"
    )
    # and the shops' refunds are keyed by their own ids
    assert refund_dedupe_key(shop, _refund(posted)) == "shopify|R-1"
    assert refund_dedupe_key(woo, _refund(posted, external_id="88")) == "woocommerce|88"
    # and a refund that names no source takes its channel's
    assert [refund_source(each, _refund(posted)) for each in (amazon, shop, woo)] == [
        "amazon_finances",
        "shopify",
        "woocommerce",
    ]
    assert refund_source(amazon, _refund(posted, source="transactions")) == "amazon_transactions"


def test_a_shops_pass_reads_order_by_order_and_says_how_far_its_listing_went_on_its_last_page() -> None:
    # given: two listing pages (orders A and B have refunds, C none) and what each order holds
    newest = [datetime(2026, 11, 1, 10, tzinfo=UTC), datetime(2026, 11, 1, 11, tzinfo=UTC)]
    listings = {
        None: Page(items=("A",), next_token="page2", newest=newest[0]),
        "page2": Page(items=("B",), newest=newest[1]),
    }
    calls: list[str] = []

    def list_orders(cursor: str | None) -> Page[Any]:
        calls.append(f"list {cursor}")
        return listings[cursor]

    def read_order(order_id: str) -> Page[Any]:
        calls.append(f"read {order_id}")
        return Page(items=(f"refund of {order_id}",))

    # when: the engine calls page after page
    pages, token = [], None
    while True:
        page = order_by_order_page(list_orders, read_order, token)
        pages.append(page)
        token = page.next_token
        if token is None:
            break
    # then: one call per page, every order read once, the high-water mark only on the last page
    assert calls == ["list None", "read A", "list page2", "read B"]
    assert [item for page in pages for item in page.items] == ["refund of A", "refund of B"]
    assert [page.newest for page in pages] == [None, None, None, newest[1]]


def test_the_engine_takes_the_high_water_mark_from_a_pages_newest_listing_time(
    tenant: Tenant, engine_store: Store, scripted_channel: type[ScriptedAdapter]
) -> None:
    # given: a channel whose last page has no records but says how far its listing went
    listed_until = timezone.now() - timedelta(minutes=7)
    scripted_channel.script = [Page(items=(), newest=listed_until)]
    with tenant_scope(tenant):
        # when
        run = sync.sync_run_execute(
            store=engine_store, resource="orders", trigger="command", sleep=lambda _seconds: None
        )
        # then
        assert run.status == "succeeded"
        assert SyncCursor.objects.get(store=engine_store, resource="orders").high_water == listed_until


def test_a_channel_without_a_capability_fails_the_run_with_a_clear_error(
    tenant: Tenant, engine_store: Store, scripted_channel: type[ScriptedAdapter]
) -> None:
    # given: an adapter that can only list orders, asked for refunds
    with tenant_scope(tenant):
        engine_store.permissions = [DataPermission.ORDERS, DataPermission.RETURNS]
        engine_store.save(update_fields=["permissions"])
        # when
        run = sync.sync_run_execute(
            store=engine_store, resource="refunds", trigger="command", sleep=lambda _seconds: None
        )
    # then: the run says why, instead of an AttributeError deep in the job
    assert (run.status, run.error_code) == ("failed", "capability_missing")
    assert "cannot fetch refunds" in run.message


def _woo_store_with_order(tenant: Tenant, order_id: str) -> Store:
    with tenant_scope(tenant):
        store = StoreFactory(
            tenant=tenant,
            platform="woocommerce",
            name="Woo",
            region="",
            marketplaces=[],
            seller_id=f"https://{tenant.slug}.example",
            endpoint=f"https://{tenant.slug}.example",
        )
        StoreCredential.objects.create(
            tenant=tenant, store=store, secrets={"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "s"}
        )
        order: ExternalOrder = make_order(1)
        order_upsert_page(store=store, orders=[order.__class__(**{**_fields(order), "external_id": order_id})])
    return store


def _fields(order: ExternalOrder) -> dict[str, Any]:
    return {name: getattr(order, name) for name in order.__dataclass_fields__}


def test_a_deleted_order_webhook_cancels_that_stores_order_only_and_twice_changes_nothing(
    tenant: Tenant, other_tenant: Tenant, enqueued: Any
) -> None:
    # given: two companies whose sites both have an order 77
    other = other_tenant
    mine, theirs = _woo_store_with_order(tenant, "77"), _woo_store_with_order(other, "77")
    # when: my site says order 77 was deleted (delivered twice)
    outcomes = []
    with tenant_scope(tenant):
        for delivery in ("d-1", "d-1"):
            event, _created = webhook_event_record(
                store=mine, topic="order.deleted", event_id=delivery, payload=b'{"id": 77}'
            )
            outcomes.append(webhook_event_process(event=event))
        # then: mine is cancelled, once
        assert Order.objects.get(store=mine, external_id="77").status == OrderStatus.CANCELLED
    assert outcomes == ["processed", "already_claimed"]
    # and the other company's order 77 is untouched
    with tenant_scope(other):
        assert Order.objects.get(store=theirs, external_id="77").status != OrderStatus.CANCELLED


def test_a_channel_that_sends_no_webhooks_has_no_webhook_url(tenant: Tenant) -> None:
    from channels.services import webhook_url

    with tenant_scope(tenant):
        amazon = StoreFactory(tenant=tenant, platform="amazon")
        woo = StoreFactory(tenant=tenant, platform="woocommerce", name="Woo", region="", marketplaces=[])
        shop = StoreFactory(tenant=tenant, platform="shopify", name="Shop", region="", marketplaces=[])
    with pytest.raises(ChannelCapabilityMissing):
        webhook_url(amazon)
    assert webhook_url(woo).endswith(f"/webhooks/woocommerce/{woo.webhook_key}/")
    assert webhook_url(shop).endswith("/webhooks/shopify/")


def test_every_abstract_method_of_every_capability_is_implemented() -> None:
    for adapter_class in adapter_classes():
        assert not getattr(adapter_class, "__abstractmethods__", frozenset()), adapter_class
        assert issubclass(adapter_class, ChannelAdapter)
