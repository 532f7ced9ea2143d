"""Fulfilment push without HTTP: routing rules, when an order is queued (once) and when it is not, what a
cancellation does, signatures, the CSV download, the pick list, the console pages, roles and other tenants.
The HTTP push itself runs against the simulator's warehouse in test_fulfilment_e2e.py."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import ExternalOrder
from inventory import services as stock
from inventory.catalogue import product_save, warehouse_save
from inventory.models import Product, Warehouse
from orders.fulfilment import services as fulfilment
from orders.fulfilment.files import fulfilment_mark_picked
from orders.fulfilment.push import fulfilment_due_unscoped
from orders.fulfilment.selectors import cancel_problems, orders_waiting_for_stock, orders_without_request
from orders.models import (
    FulfillmentRequest,
    FulfillmentRoute,
    FulfillmentState,
    FulfillmentTarget,
    Order,
)
from orders.services import order_upsert_page
from orders.tasks import dispatch_fulfilment_requests_task
from tests.channels.test_sync_engine import make_order
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
LIST_URL = "/app/orders/fulfilment/"


# --- helpers ---------------------------------------------------------------------------------------------------


def _order(
    n: int,
    *,
    sku: str = "SKU-1",
    quantity: int = 1,
    status: str = "paid_unshipped",
    country: str = "US",
    lines: tuple[tuple[str, int], ...] | None = None,
    **changes: Any,
) -> ExternalOrder:
    """An order of one line (or of `lines`: (sku, quantity) pairs), merchant-fulfilled, bought in `country`."""
    order = make_order(n, status=status)
    template = order.lines[0]
    items = lines or ((sku, quantity),)
    built = tuple(
        replace(template, sku=item_sku, quantity=item_quantity, external_id=f"L{n}-{index}")
        for index, (item_sku, item_quantity) in enumerate(items)
    )
    return replace(order, lines=built, buyer_country=country, **changes)


def _later(order: ExternalOrder, **changes: Any) -> ExternalOrder:
    """The same order as the channel shows it an hour later."""
    return replace(order, updated_at=order.updated_at + timedelta(hours=1), **changes)


def _stock(
    tenant: Tenant, *, sku: str = "SKU-1", on_hand: int = 10, name: str = "Shenzhen"
) -> tuple[Product, Warehouse]:
    warehouse = Warehouse.objects.filter(tenant=tenant, name=name).first() or warehouse_save(
        tenant=tenant, name=name, kind="own", country="CN", active=True
    )
    product = product_save(tenant=tenant, sku=sku, name=f"Product {sku}")
    if on_hand:
        stock.stock_receive(product=product, warehouse=warehouse, quantity=on_hand, reference="PO-1")
    return product, warehouse


def _target(tenant: Tenant, name: str = "Picking", kind: str = "pick_list", **values: Any) -> FulfillmentTarget:
    target, _secret = fulfilment.fulfilment_target_create(tenant=tenant, name=name, kind=kind, **values)
    return target


def _route(tenant: Tenant, target: FulfillmentTarget, **conditions: Any) -> FulfillmentRoute:
    return fulfilment.fulfilment_route_create(tenant=tenant, target=target, **conditions)


def _get(external_id: str) -> Order:
    return Order.objects.get(external_id=external_id)


def _request(n: int) -> FulfillmentRequest | None:
    return FulfillmentRequest.objects.filter(order__external_id=f"111-{n:07d}").first()


# --- routing -----------------------------------------------------------------------------------------------------


def test_the_first_matching_rule_by_position_wins_by_store_country_and_sku(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        amazon = StoreFactory(tenant=tenant)
        shop = StoreFactory(tenant=tenant, platform="shopify", name="Shop", seller_id="acme.myshopify.com")
        order_upsert_page(store=amazon, orders=[_order(1, country="US"), _order(2, sku="SKU-2", country="US")])
        order_upsert_page(store=shop, orders=[_order(3, country="DE"), _order(4, country="US")])
        europe, special, everything = (_target(tenant, name) for name in ("EU 3PL", "Special", "Main"))
        # given: EU orders of the shop, then SKU-2 anywhere, then everything else
        _route(tenant, europe, store=shop, countries=["de", "FR "])
        _route(tenant, special, skus=["SKU-2"])
        last = _route(tenant, everything)
        # then
        assert fulfilment.route_for(_get("111-0000003")).target == europe
        assert fulfilment.route_for(_get("111-0000002")).target == special
        assert fulfilment.route_for(_get("111-0000001")).target == everything
        assert fulfilment.route_for(_get("111-0000004")).target == everything  # the shop, but not in Europe
        # when: the catch-all moves first, it takes everything
        fulfilment.fulfilment_route_move(tenant=tenant, route=last, offset=-5)
        assert {fulfilment.route_for(order).target for order in Order.objects.all()} == {everything}
        assert list(FulfillmentRoute.objects.order_by("position").values_list("position", flat=True)) == [1, 2, 3]


def test_rules_of_inactive_targets_are_skipped_and_no_rule_means_no_route(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        order_upsert_page(store=store, orders=[_order(1, country="JP")])
        order = _get("111-0000001")
        assert fulfilment.route_for(order) is None
        closed = _target(tenant, "Closed")
        _route(tenant, closed, countries=["JP"])
        fulfilment.fulfilment_target_update(tenant=tenant, target=closed, active=False)
        assert fulfilment.route_for(order) is None
        fallback = _target(tenant, "Fallback")
        _route(tenant, fallback)
        assert fulfilment.route_for(order).target == fallback


def test_rule_conditions_are_checked(tenant: Tenant, other_tenant: Tenant) -> None:
    with tenant_scope(other_tenant):
        theirs = StoreFactory(tenant=other_tenant)
    with tenant_scope(tenant):
        target = _target(tenant)
        with pytest.raises(ValidationError) as bad_country:
            _route(tenant, target, countries=["USA"])
        assert "countries" in bad_country.value.message_dict
        with pytest.raises(ValidationError) as other_store:
            _route(tenant, target, store=theirs)
        assert "store" in other_store.value.message_dict


# --- when an order is queued ----------------------------------------------------------------------------------


def test_a_paid_order_with_reserved_stock_is_queued_once_and_pending_payment_never(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant)
        target = _target(tenant, "LA 3PL", kind="https", endpoint_url="https://wms.example.com/orders")
        _route(tenant, target)
        waiting = _order(2, status="pending_payment")
        with django_capture_on_commit_callbacks(execute=True):
            order_upsert_page(store=store, orders=[_order(1), waiting])
            order_upsert_page(store=store, orders=[_order(1), waiting])  # the same page again
        # then: one request for the paid order, its push enqueued once; nothing for the unpaid one
        paid = FulfillmentRequest.objects.get()
        assert (paid.order.external_id, paid.state, paid.target) == ("111-0000001", FulfillmentState.PENDING, target)
        assert len(paid.key) == 32
        assert [(task.name, kwargs) for task, kwargs in enqueued] == [
            ("orders.send_fulfilment_request", {"tenant_id": tenant.pk, "request_id": paid.pk})
        ]
        assert _request(2) is None
        # when: the buyer pays
        with django_capture_on_commit_callbacks(execute=True):
            order_upsert_page(store=store, orders=[_later(waiting, status="paid_unshipped")])
        assert _request(2) is not None and FulfillmentRequest.objects.count() == 2


def test_fba_and_on_hold_orders_are_never_queued(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, platform="woocommerce", seller_id="shop.example")
        _stock(tenant)
        _route(tenant, _target(tenant))
        order_upsert_page(
            store=store,
            orders=[_order(1, fulfillment_channel="fba"), _order(2, status="pending_payment", raw_status="on-hold")],
        )
        assert not FulfillmentRequest.objects.exists()


def test_a_backordered_order_waits_and_is_queued_when_stock_arrives(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        product, warehouse = _stock(tenant, on_hand=1)
        _route(tenant, _target(tenant))
        order_upsert_page(store=store, orders=[_order(1, quantity=3)])
        assert _get("111-0000001").stock_problem == "backordered" and _request(1) is None
        stock.stock_receive(product=product, warehouse=warehouse, quantity=5, reference="PO-2")
        assert _get("111-0000001").stock_problem == ""
        assert _request(1).state == FulfillmentState.PENDING


def test_an_unmapped_order_is_queued_when_its_sku_is_mapped(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        product, _warehouse = _stock(tenant)
        _route(tenant, _target(tenant))
        order_upsert_page(store=store, orders=[_order(1, sku="AMZ-MUG-2PK")])
        assert _request(1) is None
        stock.mapping_create(store=store, product=product, channel_sku="AMZ-MUG-2PK", quantity_multiplier=2)
        assert _request(1).state == FulfillmentState.PENDING


def test_an_order_waits_until_every_line_holds_stock(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant, sku="MUG")
        lid, warehouse = _stock(tenant, sku="LID", on_hand=0)
        _route(tenant, _target(tenant))
        order_upsert_page(store=store, orders=[_order(1, lines=(("MUG", 1), ("LID", 1)))])
        assert _request(1) is None
        stock.stock_receive(product=lid, warehouse=warehouse, quantity=1)
        assert _request(1) is not None


def test_a_ready_order_without_a_route_waits_in_the_problems_and_is_routed_later(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant)
        order_upsert_page(store=store, orders=[_order(1)])
        assert _request(1) is None
        assert [order.external_id for order in orders_without_request(tenant=tenant)] == ["111-0000001"]
        _route(tenant, _target(tenant))
        assert fulfilment.fulfilment_route_waiting(tenant=tenant) == 1
        assert _request(1) is not None and not orders_without_request(tenant=tenant).exists()


def test_an_order_waiting_for_stock_over_a_day_is_a_problem(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant, on_hand=0)
        order_upsert_page(store=store, orders=[_order(1)])
        order = _get("111-0000001")
        assert list(orders_waiting_for_stock(tenant=tenant, now=order.purchased_at + timedelta(hours=2))) == []
        assert list(orders_waiting_for_stock(tenant=tenant, now=order.purchased_at + timedelta(days=2))) == [order]


# --- cancellations and shipments on the channel ---------------------------------------------------------------


def test_a_cancelled_order_drops_a_pending_request_and_cancels_a_sent_one(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant)
        target = _target(tenant, "LA 3PL", kind="https", endpoint_url="https://wms.example.com/orders")
        _route(tenant, target)
        first, second = _order(1), _order(2)
        with django_capture_on_commit_callbacks(execute=True):
            order_upsert_page(store=store, orders=[first, second])
        FulfillmentRequest.objects.filter(order__external_id="111-0000002").update(state=FulfillmentState.SENT)
        enqueued.clear()
        # when: both are cancelled on the channel
        with django_capture_on_commit_callbacks(execute=True):
            order_upsert_page(
                store=store, orders=[_later(first, status="cancelled"), _later(second, status="cancelled")]
            )
        # then: the unsent one is simply cancelled, the sent one waits for its cancel, which is enqueued
        assert _request(1).state == FulfillmentState.CANCELLED
        sent = _request(2)
        assert sent.state == FulfillmentState.CANCEL_PENDING
        assert [kwargs for _task, kwargs in enqueued] == [{"tenant_id": tenant.pk, "request_id": sent.pk}]


def test_a_cancel_to_a_pick_list_warehouse_is_confirmed_by_a_person(tenant: Tenant, owner: Membership) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant)
        target = _target(tenant)
        _route(tenant, target)
        order_upsert_page(store=store, orders=[_order(1)])
        request = _request(1)
        assert fulfilment_mark_picked(tenant=tenant, target=target, request_pks=[request.pk]) == 1
        order_upsert_page(store=store, orders=[_later(_order(1), status="cancelled")])
        assert list(cancel_problems(tenant=tenant)) == [_request(1)]
        fulfilment.fulfilment_cancel_confirm(tenant=tenant, request=request, actor=owner.user)
        assert _request(1).state == FulfillmentState.CANCELLED and not cancel_problems(tenant=tenant).exists()


def test_an_order_shipped_on_the_channel_before_it_was_sent_is_not_sent(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant)
        _route(tenant, _target(tenant))
        order_upsert_page(store=store, orders=[_order(1)])
        order_upsert_page(store=store, orders=[_later(_order(1), status="shipped")])
        assert _request(1).state == FulfillmentState.SHIPPED


# --- the warehouse's acknowledgements, retries, the beat -------------------------------------------------------


def test_acknowledge_accepted_and_cancelled(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant)
        target = _target(tenant, "LA 3PL", kind="csv")
        _route(tenant, target)
        order_upsert_page(store=store, orders=[_order(1)])
        key = _request(1).key
    # the callback view calls it outside any scope: the function enters the target's tenant itself
    accepted = fulfilment.fulfilment_acknowledge(
        target=target, request_key=key, event="accepted", warehouse_reference="WH-1"
    )
    assert accepted is not None and accepted.state == FulfillmentState.SENT and accepted.warehouse_reference == "WH-1"
    assert fulfilment.fulfilment_acknowledge(target=target, request_key="nope", event="accepted") is None
    with pytest.raises(ValueError):
        fulfilment.fulfilment_acknowledge(target=target, request_key=key, event="shipped")
    cancelled = fulfilment.fulfilment_acknowledge(target=target, request_key=key, event="cancelled")
    assert cancelled is not None and cancelled.state == FulfillmentState.CANCELLED
    with tenant_scope(tenant):
        # the order is still open on the channel: a person must see it
        assert list(cancel_problems(tenant=tenant)) == [_request(1)]
        assert "warehouse cancelled" in _request(1).last_error


def test_retry_now_resets_a_failed_request_and_the_beat_sends_only_what_is_due(
    tenant: Tenant, owner: Membership, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant)
        target = _target(tenant, "LA 3PL", kind="https", endpoint_url="https://wms.example.com/orders")
        _route(tenant, target)
        with django_capture_on_commit_callbacks(execute=True):
            order_upsert_page(store=store, orders=[_order(1)])
        request = _request(1)
        soon = timezone.now() + timedelta(minutes=5)
        FulfillmentRequest.objects.filter(pk=request.pk).update(
            state=FulfillmentState.FAILED, attempts=3, next_attempt_at=soon, last_error="HTTP 503: down"
        )
    # a failed request whose retry is not yet due is not sent by the beat; a due one is
    assert fulfilment_due_unscoped() == []
    with tenant_scope(tenant):
        FulfillmentRequest.objects.filter(pk=request.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    enqueued.clear()
    assert dispatch_fulfilment_requests_task() == 1
    assert [kwargs for _task, kwargs in enqueued] == [{"tenant_id": tenant.pk, "request_id": request.pk}]
    enqueued.clear()
    with tenant_scope(tenant):
        with django_capture_on_commit_callbacks(execute=True):
            retried = fulfilment.fulfilment_retry(tenant=tenant, request=request, actor=owner.user)
        assert (retried.state, retried.attempts, retried.next_attempt_at, retried.last_error) == (
            FulfillmentState.PENDING,
            0,
            None,
            "",
        )
        assert len(enqueued) == 1
        assert AuditEvent.objects.filter(action="orders.fulfilment_retried").count() == 1
        with pytest.raises(ValidationError):
            fulfilment.fulfilment_retry(tenant=tenant, request=retried)  # only a failed request


# --- signatures and endpoints ------------------------------------------------------------------------------------


def test_signatures_are_hmac_of_timestamp_and_body_and_expire_after_300_seconds(tenant: Tenant) -> None:
    import hashlib
    import hmac

    with tenant_scope(tenant):
        target, secret = fulfilment.fulfilment_target_create(tenant=tenant, name="API", kind="csv")
    body = b'{"event":"accepted","request_key":"abc"}'
    timestamp, signature = fulfilment.sign(target, body, now=1_800_000_000)
    assert timestamp == "1800000000"
    expected = hmac.new(secret.encode(), b"1800000000." + body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    assert fulfilment.signature_valid(target, timestamp, body, signature, now=1_800_000_000 + 300)
    assert not fulfilment.signature_valid(target, timestamp, body, signature, now=1_800_000_000 + 301)
    assert not fulfilment.signature_valid(target, timestamp, body + b" ", signature, now=1_800_000_000)
    assert not fulfilment.signature_valid(target, "1800000001", body, signature, now=1_800_000_000)
    assert not fulfilment.signature_valid(target, "soon", body, signature, now=1_800_000_000)
    assert not fulfilment.signature_valid(target, timestamp, body, expected, now=1_800_000_000)  # no sha256= prefix
    other = FulfillmentTarget(secrets={"signing_secret": "guessed"})
    _ts, forged = fulfilment.sign(other, body, now=1_800_000_000)
    assert not fulfilment.signature_valid(target, timestamp, body, forged, now=1_800_000_000)


def test_secret_is_encrypted_shown_once_and_regenerated(tenant: Tenant) -> None:
    from django.db import connection

    with tenant_scope(tenant):
        target, secret = fulfilment.fulfilment_target_create(tenant=tenant, name="API", kind="csv")
        assert len(secret) >= 40 and len(target.callback_key) >= 30
        with connection.cursor() as cursor:
            cursor.execute("SELECT secrets FROM orders_fulfillmenttarget WHERE id = %s", [target.pk])
            stored = cursor.fetchone()[0]
        assert secret not in stored
        new = fulfilment.fulfilment_target_regenerate_secret(tenant=tenant, target=target)
        assert new != secret and FulfillmentTarget.objects.get(pk=target.pk).secrets == {"signing_secret": new}


@pytest.mark.parametrize(
    ("url", "loopback_allowed", "valid"),
    [
        ("https://wms.example.com/acorn/orders", False, True),
        ("http://wms.example.com/acorn/orders", False, False),
        ("http://wms.example.com/acorn/orders", True, False),
        ("http://127.0.0.1:8765/warehouse/la/orders", True, True),
        ("http://127.0.0.1:8765/warehouse/la/orders", False, False),
        ("https://10.0.0.5/orders", False, False),
        ("https://user:pass@wms.example.com/orders", False, False),
        ("ftp://wms.example.com/orders", True, False),
    ],
)
def test_order_endpoints_must_be_https(settings: Any, url: str, loopback_allowed: bool, valid: bool) -> None:
    settings.ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP = loopback_allowed
    if valid:
        fulfilment.endpoint_check(url)
    else:
        with pytest.raises(ValidationError):
            fulfilment.endpoint_check(url)


def test_targets_are_checked(tenant: Tenant, other_tenant: Tenant) -> None:
    with tenant_scope(other_tenant):
        theirs = warehouse_save(tenant=other_tenant, name="Theirs", kind="own", country="CN", active=True)
    with tenant_scope(tenant):
        with pytest.raises(ValidationError) as no_url:
            _target(tenant, "API", kind="https")
        assert "endpoint_url" in no_url.value.message_dict
        with pytest.raises(ValidationError) as foreign:
            _target(tenant, "Mine", warehouse=theirs)
        assert "warehouse" in foreign.value.message_dict
        _target(tenant, "Same")
        with pytest.raises(ValidationError) as duplicate:
            _target(tenant, "Same")
        assert "name" in duplicate.value.message_dict


# --- CSV and pick list -----------------------------------------------------------------------------------------


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_csv_download_marks_sent_and_a_past_file_downloads_again_unchanged(
    tenant: Tenant, owner_client: Client
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant)
        target = _target(tenant, "Overseas CSV", kind="csv")
        _route(tenant, target)
        order_upsert_page(store=store, orders=[_order(1, quantity=2), _order(2)])
    new_url = reverse("orders:fulfilment-csv-new", args=[target.pk])
    # when
    response = owner_client.post(new_url)
    # then: both orders in the file, one row per line, and both marked sent at one instant
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _rows(response.content)
    assert [(row["order_id"], row["sku"], row["master_sku"], row["quantity"]) for row in rows] == [
        ("111-0000001", "SKU-1", "SKU-1", "2"),
        ("111-0000002", "SKU-1", "SKU-1", "1"),
    ]
    with tenant_scope(tenant):
        sent = list(FulfillmentRequest.objects.order_by("pk"))
        assert {request.state for request in sent} == {FulfillmentState.SENT}
        assert len({request.sent_at for request in sent}) == 1
    # a second click finds nothing new
    again = owner_client.post(new_url, follow=True)
    assert "No new orders wait for this warehouse." in again.content.decode()
    # a new order goes in the next file only
    with tenant_scope(tenant):
        order_upsert_page(store=store, orders=[_order(3)])
    assert [row["order_id"] for row in _rows(owner_client.post(new_url).content)] == ["111-0000003"]
    # the first file again, from the target page's list of past files: same rows, nothing changes
    page = owner_client.get(reverse("orders:fulfilment-target-detail", args=[target.pk])).content.decode()
    from orders.views_fulfilment import _batch_id

    first = _batch_id(sent[0].sent_at)
    assert f"?batch={first}" in page
    repeat = owner_client.get(reverse("orders:fulfilment-csv-again", args=[target.pk]), {"batch": first})
    assert _rows(repeat.content) == rows
    assert owner_client.get(reverse("orders:fulfilment-csv-again", args=[target.pk]), {"batch": "1"}).status_code == 404
    with tenant_scope(tenant):
        assert FulfillmentRequest.objects.filter(state=FulfillmentState.SENT).count() == 3


def test_pick_list_groups_by_master_sku_and_marks_only_the_shown_orders_picked(
    tenant: Tenant, owner_client: Client
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        mug, _warehouse = _stock(tenant, sku="MUG")
        _stock(tenant, sku="LID")
        stock.mapping_create(store=store, product=mug, channel_sku="MUG-2PK", quantity_multiplier=2)
        target = _target(tenant, "Own warehouse", kind="pick_list")
        _route(tenant, target)
        order_upsert_page(
            store=store, orders=[_order(1, lines=(("MUG", 1), ("LID", 1))), _order(2, sku="MUG-2PK", quantity=2)]
        )
    listed = owner_client.get(LIST_URL).content.decode()
    assert "Own warehouse" in listed and "Own warehouse: pick list" in listed
    detail = owner_client.get(reverse("orders:fulfilment-target-detail", args=[target.pk])).content.decode()
    assert "Pick list (2 orders)" in detail
    url = reverse("orders:fulfilment-pick-list", args=[target.pk])
    page = owner_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    # MUG: 1 for order 1 + 2 two-packs (4 mugs) for order 2
    assert html.index('<code class="fs-6">LID</code>') < html.index('<code class="fs-6">MUG</code>')
    assert ">5</td>" in html and "111-0000002</code> \u00d74" in html
    with tenant_scope(tenant):
        shown = list(FulfillmentRequest.objects.values_list("pk", flat=True))
        order_upsert_page(store=store, orders=[_order(3, sku="LID")])  # arrives after the page was printed
    response = owner_client.post(url, {"request": [str(pk) for pk in shown]}, follow=True)
    assert "2 orders marked as picked." in response.content.decode()
    with tenant_scope(tenant):
        assert _request(1).state == _request(2).state == FulfillmentState.SENT
        assert _request(3).state == FulfillmentState.PENDING


# --- console pages ---------------------------------------------------------------------------------------------


def test_empty_states_then_create_a_target_secret_shown_once_rules_and_edit(
    tenant: Tenant, owner_client: Client
) -> None:
    assert reverse("orders:fulfilment-target-list") == LIST_URL
    assert "No fulfilment targets yet" in owner_client.get(LIST_URL).content.decode()
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="Amazon US")
        warehouse = warehouse_save(tenant=tenant, name="LA", kind="third_party", country="US", active=True)
    # when: a warehouse API is added
    response = owner_client.post(
        reverse("orders:fulfilment-target-create"),
        {
            "name": "LA 3PL",
            "kind": "https",
            "warehouse": warehouse.pk,
            "endpoint_url": "https://wms.example.com/o",
            "active": "on",
        },
    )
    # then: the secret is on this page, and on no other
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    html = response.content.decode()
    with tenant_scope(tenant):
        target = FulfillmentTarget.objects.get()
        secret = target.secrets["signing_secret"]
    assert secret in html and f"/callbacks/fulfilment/{target.callback_key}/" in html
    detail_url = reverse("orders:fulfilment-target-detail", args=[target.pk])
    assert secret not in owner_client.get(detail_url).content.decode()
    # a rule, added from the target page
    added = owner_client.post(
        reverse("orders:fulfilment-route-create", args=[target.pk]),
        {"store": store.pk, "countries": "us, ca", "skus": "SKU-1\nSKU-2"},
    )
    assert added.status_code == 302
    with tenant_scope(tenant):
        route = FulfillmentRoute.objects.get()
        assert (route.store, route.countries, route.skus) == (store, ["US", "CA"], ["SKU-1", "SKU-2"])
    assert "Amazon US" in owner_client.get(detail_url).content.decode()
    bad = owner_client.post(reverse("orders:fulfilment-route-edit", args=[route.pk]), {"countries": "Germany"})
    assert bad.status_code == 400 and "two-letter country codes" in bad.content.decode()
    owner_client.post(reverse("orders:fulfilment-route-edit", args=[route.pk]), {"countries": "DE"})
    with tenant_scope(tenant):
        route.refresh_from_db()
        assert (route.store, route.countries, route.skus) == (None, ["DE"], [])
    # edit: a plain-HTTP endpoint elsewhere is refused
    refused = owner_client.post(
        reverse("orders:fulfilment-target-edit", args=[target.pk]),
        {"name": "LA 3PL", "kind": "https", "endpoint_url": "http://wms.example.com/o", "active": "on"},
    )
    assert refused.status_code == 400 and "https://" in refused.content.decode()
    # a new secret, shown once
    regenerated = owner_client.post(reverse("orders:fulfilment-target-secret", args=[target.pk]))
    with tenant_scope(tenant):
        new = FulfillmentTarget.objects.get().secrets["signing_secret"]
    assert new != secret and new in regenerated.content.decode()
    owner_client.post(reverse("orders:fulfilment-route-delete", args=[route.pk]))
    with tenant_scope(tenant):
        assert not FulfillmentRoute.objects.exists()
        assert set(
            AuditEvent.objects.filter(action__startswith="orders.fulfilment_").values_list("action", flat=True)
        ) == {
            "orders.fulfilment_target_created",
            "orders.fulfilment_route_created",
            "orders.fulfilment_route_changed",
            "orders.fulfilment_secret_regenerated",
            "orders.fulfilment_route_deleted",
        }


def test_problems_page_lists_failures_with_their_error_and_retries_them(
    tenant: Tenant, owner_client: Client, enqueued: EnqueuedTasks
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant)
        target = _target(tenant, "LA 3PL", kind="https", endpoint_url="https://wms.example.com/orders")
        _route(tenant, target, countries=["US"])
        order_upsert_page(store=store, orders=[_order(1), _order(2, country="JP")])
        request = _request(1)
        FulfillmentRequest.objects.filter(pk=request.pk).update(
            state=FulfillmentState.FAILED, attempts=1, last_error="HTTP 422: sku BAD-1 unknown at the warehouse"
        )
    url = reverse("orders:fulfilment-problems")
    html = owner_client.get(url).content.decode()
    assert "HTTP 422: sku BAD-1 unknown at the warehouse" in html and "Retry now" in html
    assert "111-0000002" not in html  # on the "no route" tab
    assert "111-0000002" in owner_client.get(url, {"show": "no_route"}).content.decode()
    assert "Nothing to settle here" in owner_client.get(url, {"show": "stock"}).content.decode()
    with tenant_scope(tenant):
        other = _target(tenant, "Other", kind="csv")
    assert "HTTP 422" not in owner_client.get(url, {"target": other.pk}).content.decode()
    retry = owner_client.post(
        reverse("orders:fulfilment-request-retry", args=[request.pk]), {"next": f"{url}?show=failed"}
    )
    assert retry.status_code == 302 and retry["Location"] == f"{url}?show=failed"
    with tenant_scope(tenant):
        assert _request(1).state == FulfillmentState.PENDING


@pytest.mark.parametrize(
    ("role", "can_read", "can_fulfil"),
    [
        (Role.OWNER, True, True),
        (Role.ADMIN, True, True),
        (Role.OPERATOR, True, True),
        (Role.FINANCE, True, False),
        (Role.SUPPORT, True, False),
    ],
)
def test_roles(
    role: str,
    can_read: bool,
    can_fulfil: bool,
    tenant: Tenant,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
) -> None:
    client = client_for(make_member(tenant, role))
    assert client.get(LIST_URL).status_code == (200 if can_read else 403)
    assert client.get(reverse("orders:fulfilment-problems")).status_code == (200 if can_read else 403)
    created = client.post(
        reverse("orders:fulfilment-target-create"), {"name": "Picking", "kind": "pick_list", "active": "on"}
    )
    assert created.status_code == (200 if can_fulfil else 403)
    with tenant_scope(tenant):
        assert FulfillmentTarget.objects.exists() is can_fulfil


def test_another_tenants_targets_rules_and_requests_answer_404(
    tenant: Tenant, other_owner: Membership, client_for: Callable[[Membership], Client]
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant)
        target = _target(tenant, "Ours", kind="csv")
        route = _route(tenant, target)
        order_upsert_page(store=store, orders=[_order(1)])
        request = _request(1)
    theirs = client_for(other_owner)
    for url in (
        reverse("orders:fulfilment-target-detail", args=[target.pk]),
        reverse("orders:fulfilment-target-edit", args=[target.pk]),
        reverse("orders:fulfilment-route-edit", args=[route.pk]),
    ):
        assert theirs.get(url).status_code == 404
    for url in (
        reverse("orders:fulfilment-csv-new", args=[target.pk]),
        reverse("orders:fulfilment-target-secret", args=[target.pk]),
        reverse("orders:fulfilment-route-delete", args=[route.pk]),
        reverse("orders:fulfilment-request-retry", args=[request.pk]),
    ):
        assert theirs.post(url).status_code == 404
    html = theirs.get(LIST_URL).content.decode() + theirs.get(reverse("orders:fulfilment-problems")).content.decode()
    assert "Ours" not in html
    with tenant_scope(tenant):
        assert _request(1).state == FulfillmentState.PENDING and FulfillmentRoute.objects.filter(pk=route.pk).exists()


def test_the_order_panel_shows_the_request(tenant: Tenant, owner: Membership, rf: Any) -> None:
    from django.template.loader import render_to_string

    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant)
        _route(tenant, _target(tenant, "Own warehouse"))
        order_upsert_page(store=store, orders=[_order(1), _order(2, fulfillment_channel="fba")])
        FulfillmentRequest.objects.update(state=FulfillmentState.FAILED, last_error="HTTP 500: oops")
        request = rf.get("/")
        request.user = owner.user
        panel = render_to_string("orders/fulfilment_order_panel.html", {"order": _get("111-0000001")}, request)
        assert "Own warehouse" in panel and "HTTP 500: oops" in panel
        fba = render_to_string("orders/fulfilment_order_panel.html", {"order": _get("111-0000002")}, request)
        assert "Fulfilled by the channel." in fba


def test_every_page_renders_for_a_manager_and_a_reader(
    tenant: Tenant, owner_client: Client, make_member: Callable[..., Membership], client_for: Callable[..., Client]
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        _stock(tenant)
        picking, api = (
            _target(tenant, "Own"),
            _target(tenant, "API", kind="https", endpoint_url="https://wms.example/o"),
        )
        route = _route(tenant, picking, store=store, countries=["US"], skus=[f"S{n}" for n in range(7)])
        _route(tenant, api)
        order_upsert_page(store=store, orders=[_order(1)])
        FulfillmentRequest.objects.filter(target=api).update(state=FulfillmentState.CANCEL_FAILED)
    pages = [
        LIST_URL,
        reverse("orders:fulfilment-target-create"),
        reverse("orders:fulfilment-target-detail", args=[picking.pk]),
        reverse("orders:fulfilment-target-detail", args=[api.pk]),
        reverse("orders:fulfilment-target-edit", args=[api.pk]),
        reverse("orders:fulfilment-route-create", args=[picking.pk]),
        reverse("orders:fulfilment-route-edit", args=[route.pk]),
        reverse("orders:fulfilment-pick-list", args=[picking.pk]),
        *[f"{reverse('orders:fulfilment-problems')}?show={show}" for show in ("failed", "cancel", "no_route", "stock")],
    ]
    for url in pages:
        assert owner_client.get(url).status_code == 200, url
    cancel = owner_client.get(f"{reverse('orders:fulfilment-problems')}?show=cancel").content.decode()
    assert "Mark cancelled at the warehouse" in cancel and "Retry now" in cancel
    assert "and 2 more" in owner_client.get(pages[2]).content.decode()
    assert "Nothing to pick" in owner_client.get(pages[7]).content.decode()
    reader = client_for(make_member(tenant, Role.SUPPORT))
    detail = reader.get(pages[3]).content.decode()
    assert "Add a rule" not in detail and "Generate a new signing secret" not in detail
    assert reader.get(f"{reverse('orders:fulfilment-problems')}?show=cancel").status_code == 200
    assert reader.get(pages[1]).status_code == 403
