"""Shipments recorded by hand, by CSV and by the warehouse's signed callback: checks, idempotency, stock
from reserved to shipped with the ledger sound, confirmation claims (sent once), backoff and retry, FBA,
roles and other tenants. The channels themselves are a test double here; tests/orders/test_shipments_e2e.py
runs the real clients against the simulator."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import ChannelError, ChannelRetryableError, ExternalOrder, FeedMessageResult, FeedResult
from channels.adapters.shopify import ShopifyAdapter
from channels.models import Store
from inventory import services as stock
from inventory.catalogue import product_save, warehouse_save
from inventory.models import AllocationState, LineAllocation, Product, StockLevel
from orders import shipments
from orders.fulfilment.services import sign
from orders.models import (
    ConfirmationState,
    FulfillmentRequest,
    FulfillmentState,
    FulfillmentTarget,
    Order,
    OrderLine,
    Shipment,
)
from orders.services import order_upsert_page
from orders.shipments import confirmation, shipment_record
from orders.tasks import confirm_shipment_task, dispatch_shipment_confirmations_task
from tests.channels.test_sync_engine import make_order
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
SHIPPED = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def _order(n: int, *lines: tuple[str, int], status: str = "paid_unshipped", **changes: Any) -> ExternalOrder:
    base = make_order(n, status=status)
    template = base.lines[0]
    made = tuple(
        replace(template, external_id=f"L{n}-{index}", sku=sku, quantity=quantity)
        for index, (sku, quantity) in enumerate(lines or (("SKU-1", 1),), start=1)
    )
    return replace(base, lines=made, **changes)


def _setup(tenant: Tenant, *, platform: str = "shopify", on_hand: int = 10) -> tuple[Store, Product]:
    store = StoreFactory(tenant=tenant, platform=platform, name=f"{platform} shop")
    product = product_save(tenant=tenant, sku="SKU-1", name="Mug")
    warehouse = warehouse_save(tenant=tenant, name="Shenzhen", kind="own")
    stock.stock_receive(product=product, warehouse=warehouse, quantity=on_hand, reference="PO-1")
    return store, product


def _level(product: Product) -> tuple[int, int]:
    level = StockLevel.objects.get(product=product)
    return level.on_hand, level.reserved


def _stored(store: Store, n: int) -> Order:
    return Order.objects.get(store=store, external_id=f"111-{n:07d}")


def line_state(line: OrderLine) -> tuple[str, int]:
    allocation = LineAllocation.objects.get(line_ref=f"order-line:{line.pk}")
    return allocation.state, allocation.shipped_quantity


def _record(order: Order, tracking: str = "1Z001", **kwargs: Any) -> tuple[Shipment, bool]:
    values: dict[str, Any] = {"carrier": "UPS", "shipped_at": SHIPPED, "source": "manual", **kwargs}
    return shipment_record(order=order, tracking_number=tracking, **values)


class FakeShopify(ShopifyAdapter):
    """A shop that records fulfilments (or fails as scripted); no HTTP."""

    calls: list[dict[str, Any]] = []
    script: list[Exception] = []

    def __init__(self, *, store: Store) -> None:
        self.store, self.secrets = store, {}

    def create_fulfillment(self, **kwargs: Any) -> str:
        type(self).calls.append(kwargs)
        if type(self).script:
            raise type(self).script.pop(0)
        return f"gid://shopify/Fulfillment/{len(type(self).calls)}"

    def close(self) -> None:
        pass


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeShopify]]:
    FakeShopify.calls, FakeShopify.script = [], []
    monkeypatch.setattr(confirmation, "_adapter", lambda store: FakeShopify(store=store))
    yield FakeShopify


# --- recording --------------------------------------------------------------------------------------------


def test_a_shipment_moves_reserved_stock_to_shipped_is_audited_and_queues_its_confirmation(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    with tenant_scope(tenant):
        # given: a paid order of 3 mugs, reserved
        store, product = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1, ("SKU-1", 3))])
        assert _level(product) == (10, 3)
        # when
        with django_capture_on_commit_callbacks(execute=True):
            shipment, created = _record(_stored(store, 1), ship_method="Ground")
        # then
        assert created and shipment.confirmation == ConfirmationState.PENDING
        assert shipment.lines == [{"line": OrderLine.objects.get().pk, "quantity": 3}]
        assert _level(product) == (7, 0)
        assert LineAllocation.objects.get().state == AllocationState.SHIPPED
        assert OrderLine.objects.get().stock_state == AllocationState.SHIPPED
        assert stock.levels_match_ledger(tenant_id=tenant.pk) == []
        assert AuditEvent.objects.filter(action="orders.shipment_recorded", object_id=str(shipment.pk)).count() == 1
    assert [(task.name, kwargs) for task, kwargs in enqueued] == [
        ("orders.confirm_shipment", {"tenant_id": tenant.pk, "shipment_id": shipment.pk})
    ]


def test_partial_shipments_take_their_units_parcel_by_parcel(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        # given: a paid line of 3 mugs, reserved
        store, product = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1, ("SKU-1", 3))])
        order = _stored(store, 1)
        line = OrderLine.objects.get()
        # when: one mug ships, then the other two
        _record(order, "1Z001", lines={line.pk: 1})
        # then: the parcel's mug left the shelf; the two still to ship stay reserved
        assert _level(product) == (9, 2)
        assert line_state(line) == (AllocationState.RESERVED, 1)
        _record(order, "1Z002", lines={line.pk: 2})
        assert _level(product) == (7, 0)
        assert line_state(line) == (AllocationState.SHIPPED, 3)
        with pytest.raises(ValidationError) as refused:
            _record(order, "1Z003")
        assert "already shipped" in str(refused.value)
        assert shipments.shipped_quantities(order=order) == {line.pk: 3}
        assert stock.levels_match_ledger(tenant_id=tenant.pk) == []


def test_recording_the_same_parcel_twice_changes_nothing(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    with tenant_scope(tenant):
        store, product = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1, ("SKU-1", 2))])
        with django_capture_on_commit_callbacks(execute=True):
            first, created = _record(_stored(store, 1), " 1Z001 ")
            again, created_again = _record(_stored(store, 1), "1Z001", carrier="DHL")
        assert (created, created_again) == (True, False) and again.pk == first.pk and again.carrier == "UPS"
        assert Shipment.objects.count() == 1 and _level(product) == (8, 0)
        assert AuditEvent.objects.filter(action="orders.shipment_recorded").count() == 1
    assert len(enqueued) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tracking_number": "  "}, "tracking_number"),
        ({"carrier": ""}, "carrier"),
        ({"shipped_at": datetime.now(UTC) + timedelta(days=2)}, "shipped_at"),
        ({"lines": {999_999: 1}}, "lines"),
        ({"lines": "too_many"}, "lines"),
    ],
)
def test_a_shipment_is_checked_before_anything_is_written(tenant: Tenant, changes: dict[str, Any], field: str) -> None:
    with tenant_scope(tenant):
        store, product = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1, ("SKU-1", 2))])
        order = _stored(store, 1)
        if changes.get("lines") == "too_many":
            changes["lines"] = {OrderLine.objects.get().pk: 3}
        values = {"carrier": "UPS", "tracking_number": "1Z001", "shipped_at": SHIPPED, "source": "manual", **changes}
        with pytest.raises(ValidationError) as refused:
            shipment_record(order=order, **values)
        assert field in refused.value.message_dict
        assert not Shipment.objects.exists() and _level(product) == (10, 2)


def test_lines_of_another_order_are_refused(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store, _product = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1), _order(2)])
        other_line = OrderLine.objects.get(order=_stored(store, 2))
        with pytest.raises(ValidationError) as refused:
            _record(_stored(store, 1), lines={other_line.pk: 1})
        assert "not part of this order" in str(refused.value)


def test_fba_orders_are_refused_by_hand_and_need_no_confirmation(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    with tenant_scope(tenant):
        store, _product = _setup(tenant, platform="amazon")
        order_upsert_page(store=store, orders=[_order(1, fulfillment_channel="fba")])
        order = _stored(store, 1)
        with pytest.raises(ValidationError) as refused:
            _record(order)
        assert "FBA" in str(refused.value)
        with django_capture_on_commit_callbacks(execute=True):
            reported, _created = _record(order, source="channel")
        assert reported.confirmation == ConfirmationState.NOT_NEEDED
    assert not enqueued


def test_an_order_the_channel_already_shows_shipped_needs_no_confirmation(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store, _product = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1, status="shipped")])
        shipment, _created = _record(_stored(store, 1))
        assert shipment.confirmation == ConfirmationState.NOT_NEEDED


def test_cancelled_and_unpaid_orders_ship_nothing(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store, _product = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1, status="cancelled"), _order(2, status="pending_payment")])
        for n in (1, 2):
            with pytest.raises(ValidationError):
                _record(_stored(store, n))
        assert not Shipment.objects.exists()


# --- confirmation: claims, backoff, retry ---------------------------------------------------------------------


def _shipped_order(tenant: Tenant, enqueued: EnqueuedTasks, capture: Callable) -> Shipment:
    with tenant_scope(tenant):
        store, _product = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1, ("SKU-1", 2))])
        with capture(execute=True):
            shipment, _created = _record(_stored(store, 1))
    return shipment


def test_the_confirmation_task_run_twice_confirms_once(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable, shop: type[FakeShopify]
) -> None:
    shipment = _shipped_order(tenant, enqueued, django_capture_on_commit_callbacks)
    task, kwargs = enqueued[0]
    # when: the queue delivers the task twice (acks_late), and the beat also finds it
    assert task(**kwargs) == "confirmed"
    assert task(**kwargs) == "not_due"
    assert dispatch_shipment_confirmations_task() == 0
    # then: one fulfilment, with the tracking and the line ids the channel knows
    assert len(shop.calls) == 1
    assert shop.calls[0]["tracking_number"] == "1Z001" and shop.calls[0]["items"] == (("L1-1", 2),)
    with tenant_scope(tenant):
        shipment.refresh_from_db()
    assert shipment.confirmation == ConfirmationState.CONFIRMED and shipment.confirmed_at is not None
    assert shipment.confirmation_reference == "gid://shopify/Fulfillment/1"


def test_a_claimed_confirmation_is_not_sent_by_a_second_worker(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable, shop: type[FakeShopify]
) -> None:
    shipment = _shipped_order(tenant, enqueued, django_capture_on_commit_callbacks)
    with tenant_scope(tenant):
        claimed = confirmation._claim(Shipment.objects.filter(pk=shipment.pk), timezone.now(), limit=1)
    assert len(claimed) == 1  # the first worker is on its way to Shopify
    assert confirm_shipment_task(tenant_id=tenant.pk, shipment_id=shipment.pk) == "not_due"
    assert shop.calls == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_two_workers_racing_on_one_confirmation_send_it_once(
    tenant: Tenant, enqueued: EnqueuedTasks, shop: type[FakeShopify], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a recorded shipment, and a shop that answers slowly (both workers are in flight together)
    with tenant_scope(tenant):
        store, _product = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1, ("SKU-1", 2))])
        shipment, _created = _record(_stored(store, 1))
    slow = FakeShopify.create_fulfillment

    def create_fulfillment(self: FakeShopify, **kwargs: Any) -> str:
        time.sleep(0.3)
        return slow(self, **kwargs)

    monkeypatch.setattr(FakeShopify, "create_fulfillment", create_fulfillment)
    save = Shipment.save

    def slow_claim(self: Shipment, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("update_fields") == ["attempts", "next_attempt_at"]:
            time.sleep(0.2)  # widen the window between reading the row and writing the claim
        save(self, *args, **kwargs)

    monkeypatch.setattr(Shipment, "save", slow_claim)
    start, outcomes, errors = threading.Barrier(4), [], []

    def worker() -> None:
        try:
            start.wait()
            outcomes.append(confirm_shipment_task(tenant_id=tenant.pk, shipment_id=shipment.pk))
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    # when: the task is delivered four times at once
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then: one send, one confirmation
    assert not errors and sorted(outcomes) == ["confirmed", "not_due", "not_due", "not_due"]
    assert len(shop.calls) == 1
    with tenant_scope(tenant):
        assert Shipment.objects.get().confirmation == ConfirmationState.CONFIRMED


def test_retryable_failures_back_off_then_stay_failed_until_a_person_retries(
    tenant: Tenant,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
    shop: type[FakeShopify],
) -> None:
    shipment = _shipped_order(tenant, enqueued, django_capture_on_commit_callbacks)
    enqueued.clear()
    shop.script = [ChannelRetryableError("Shopify answered 503", retry_after=120)] * shipments.MAX_ATTEMPTS
    assert confirm_shipment_task(tenant_id=tenant.pk, shipment_id=shipment.pk) == "retry"
    with tenant_scope(tenant):
        shipment.refresh_from_db()
    assert (shipment.confirmation, shipment.attempts) == (ConfirmationState.PENDING, 1)
    assert shipment.next_attempt_at is not None and shipment.next_attempt_at > timezone.now() + timedelta(seconds=100)
    assert "503" in shipment.last_error
    assert dispatch_shipment_confirmations_task() == 0  # not due yet
    for _ in range(shipments.MAX_ATTEMPTS - 1):
        with tenant_scope(tenant):
            Shipment.objects.filter(pk=shipment.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        assert dispatch_shipment_confirmations_task() == 1
        enqueued.run_all()
    with tenant_scope(tenant):
        shipment.refresh_from_db()
    assert (shipment.confirmation, shipment.attempts) == (ConfirmationState.FAILED, shipments.MAX_ATTEMPTS)
    assert shipment.next_attempt_at is None and dispatch_shipment_confirmations_task() == 0
    assert len(shop.calls) == shipments.MAX_ATTEMPTS

    # a person retries: sent again, confirmed
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        shipments.shipment_confirmation_retry(tenant=tenant, shipment=shipment)
    enqueued.run_all()
    with tenant_scope(tenant):
        shipment.refresh_from_db()
        assert AuditEvent.objects.filter(action="orders.shipment_confirmation_retried").count() == 1
    assert shipment.confirmation == ConfirmationState.CONFIRMED and shipment.last_error == ""


def test_a_refusal_fails_at_once_with_the_channels_message(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable, shop: type[FakeShopify]
) -> None:
    shipment = _shipped_order(tenant, enqueued, django_capture_on_commit_callbacks)
    shop.script = [ChannelError("Shopify refused the fulfilment: Order is already fulfilled")]
    enqueued.run_all()
    with tenant_scope(tenant):
        shipment.refresh_from_db()
    assert shipment.confirmation == ConfirmationState.FAILED and "already fulfilled" in shipment.last_error
    assert shipment.attempts == 1 and shipment.next_attempt_at is None
    assert dispatch_shipment_confirmations_task() == 0  # a refusal is not retried by itself


def test_only_a_failed_confirmation_can_be_retried(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable, shop: type[FakeShopify]
) -> None:
    shipment = _shipped_order(tenant, enqueued, django_capture_on_commit_callbacks)
    enqueued.run_all()
    with tenant_scope(tenant):
        shipment.refresh_from_db()
        assert shipment.confirmation == ConfirmationState.CONFIRMED
        with pytest.raises(ValidationError):
            shipments.shipment_confirmation_retry(tenant=tenant, shipment=shipment)
    assert len(shop.calls) == 1


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            FeedResult("F1", "DONE", processed=2, successful=1, with_error=1, messages=(
                FeedMessageResult(2, "Error", "18047", "Order item L2-1: 1 confirmed but only 0 left to ship."),
                FeedMessageResult(1, "Warning", "5001", "Ship method not recognised"),
            )),
            [("confirmed", ""), ("failed", "18047: Order item L2-1: 1 confirmed but only 0 left to ship.")],
        ),
        (
            FeedResult("F1", "DONE", processed=0, with_error=1, messages=(
                FeedMessageResult(0, "Error", "5000", "XML Parsing Error"),
            )),
            [("failed", "5000: XML Parsing Error")] * 2,
        ),
        (FeedResult("F1", "FATAL"), [("failed", "Amazon ended feed F1 as FATAL without applying it.")] * 2),
        (FeedResult("F1", "CANCELLED"), [("failed", "Amazon ended feed F1 as CANCELLED without applying it.")] * 2),
    ],
)  # fmt: skip
def test_a_finished_feed_settles_each_of_its_shipments(
    tenant: Tenant, result: FeedResult, expected: list[tuple[str, str]]
) -> None:
    with tenant_scope(tenant):
        store, _product = _setup(tenant, platform="amazon")
        order_upsert_page(store=store, orders=[_order(1), _order(2)])
        for n in (1, 2):
            _record(_stored(store, n), f"1Z00{n}")
        Shipment.objects.update(confirmation="submitted", confirmation_reference="F1")
        shipments.feed_settle(store=store, result=result)
        shipments.feed_settle(store=store, result=result)  # read twice: settled once
        settled = [(s.confirmation, s.last_error) for s in Shipment.objects.order_by("pk")]
    assert settled == expected


# --- CSV ----------------------------------------------------------------------------------------------------


def _csv(*rows: str, bom: bool = True) -> bytes:
    text = "\n".join(["order_id,carrier,tracking_number,ship_date,ship_method,sku,quantity", *rows]) + "\n"
    return ("\ufeff" if bom else "").encode() + text.encode()


@pytest.mark.parametrize("bom", [True, False])
def test_a_csv_records_every_parcel_in_one_go(
    tenant: Tenant,
    owner: Membership,
    bom: bool,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    with tenant_scope(tenant):
        store, product = _setup(tenant)
        product_save(tenant=tenant, sku="SKU-2", name="Lid")
        order_upsert_page(store=store, orders=[_order(1, ("SKU-1", 2)), _order(2, ("SKU-1", 1), ("SKU-2", 1))])
        data = _csv(
            "111-0000001,UPS,1Z001,2026-11-20,Ground,,",
            "111-0000002,云途 YunExpress,YT002,2026-11-21 08:30,,SKU-1,1",
            bom=bom,
        )
        with django_capture_on_commit_callbacks(execute=True):
            result = shipments.shipments_import_csv(tenant=tenant, data=data, actor=owner.user)
        assert result.imported and (result.created, result.unchanged) == (2, 0)
        first = Shipment.objects.get(tracking_number="1Z001")
        assert first.source == "csv" and first.ship_method == "Ground" and first.created_by == owner.user
        assert first.shipped_at.date().isoformat() == "2026-11-20"
        second = Shipment.objects.get(tracking_number="YT002")
        assert second.carrier == "云途 YunExpress" and len(second.lines) == 1
        assert second.shipped_at == datetime(2026, 11, 21, 8, 30, tzinfo=UTC)
        assert _level(product) == (7, 0)  # 2 mugs of order 1 and the mug of order 2; its lid waits
        assert stock.levels_match_ledger(tenant_id=tenant.pk) == []
        # the same file again: nothing new
        again = shipments.shipments_import_csv(tenant=tenant, data=data)
        assert again.imported and (again.created, again.unchanged) == (0, 2)
    assert len(enqueued) == 2


def test_a_csv_with_one_bad_row_records_none_of_the_good_ones(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store, product = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1), _order(2), _order(3)])
        data = _csv(
            "111-0000001,UPS,1Z001,2026-11-20,,,",
            "111-0000002,UPS,1Z002,2026-13-45,,,",
            "111-0000003,UPS,1Z003,2026-11-20,,,",
        )
        result = shipments.shipments_import_csv(tenant=tenant, data=data)
        assert not result.imported and (result.created, result.unchanged) == (0, 0)
        assert [(p.line, p.column) for p in result.problems] == [(3, "ship_date")]
        assert not Shipment.objects.exists() and _level(product) == (10, 3)


def test_a_csv_with_errors_records_nothing_and_names_each_line_and_column(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store, product = _setup(tenant)
        order_upsert_page(
            store=store,
            orders=[_order(1, ("SKU-1", 2)), _order(2), _order(3, fulfillment_channel="fba"), _order(4)],
        )
        data = _csv(
            "111-0000001,UPS,1Z001,2026-11-20,,,",  # good
            "111-9999999,UPS,1Z002,2026-11-20,,,",  # no such order
            "111-0000002,UPS,1Z003,20/11/2026,,,",  # bad date
            "111-0000002,UPS,,2026-11-20,,,",  # no tracking
            "111-0000001,UPS,1Z001,2026-11-20,,,",  # the first line again
            "111-0000004,UPS,1Z004,2026-11-20,,SKU-1,3",  # more than ordered
            "111-0000003,UPS,1Z005,2026-11-20,,,",  # FBA
        )
        result = shipments.shipments_import_csv(tenant=tenant, data=data)
        assert not result.imported
        assert [(p.line, p.column) for p in result.problems] == [
            (3, "order_id"),
            (4, "ship_date"),
            (5, "tracking_number"),
            (6, ""),
            (7, "quantity"),
            (8, "order_id"),
        ]
        assert "Line 2" in result.problems[3].message and "FBA" in result.problems[5].message
        assert not Shipment.objects.exists() and _level(product) == (10, 4)


@pytest.mark.parametrize(
    ("data", "column"),
    [
        (b"order_id,carrier,tracking_number\n111-0000001,UPS,1Z\n", "ship_date"),
        (b"order_id,carrier,tracking_number,ship_date,colour\n", "colour"),
        ("order_id,carrier,tracking_number,ship_date\n111-0000001,UPS,1Z,2026-11-20\n".encode("utf-16"), ""),
    ],
)
def test_a_csv_with_a_wrong_header_or_encoding_is_refused(tenant: Tenant, data: bytes, column: str) -> None:
    with tenant_scope(tenant):
        store, _product = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1)])
        result = shipments.shipments_import_csv(tenant=tenant, data=data)
        assert not result.imported and result.problems[0].column == column
        assert not Shipment.objects.exists()


# --- the warehouse callback -------------------------------------------------------------------------------


def _target(tenant: Tenant, key: str = "wh-alpha", secret: str = "alpha-signing-secret") -> FulfillmentTarget:
    return FulfillmentTarget.objects.create(
        tenant=tenant, name=f"3PL {key}", kind="https", callback_key=key, secrets={"signing_secret": secret}
    )


def _sent(tenant: Tenant, n: int = 1, quantity: int = 2) -> tuple[FulfillmentTarget, FulfillmentRequest, Product]:
    with tenant_scope(tenant):
        store, product = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(n, ("SKU-1", quantity))])
        target = _target(tenant)
        request = FulfillmentRequest.objects.create(
            tenant=tenant, order=_stored(store, n), target=target, key=f"req-{n}", state=FulfillmentState.SENT
        )
    return target, request, product


def _shipped_body(request_key: str = "req-1", tracking: str = "JD0001", **extra: Any) -> bytes:
    parcel = {
        "carrier": "DHL",
        "tracking_number": tracking,
        "ship_method": "Parcel",
        "shipped_at": SHIPPED.isoformat(),
        "lines": [{"line_id": "L1-1", "quantity": 2}],
        **extra,
    }
    body = {"event": "shipped", "request_key": request_key, "warehouse_reference": "WH-77", "shipments": [parcel]}
    return json.dumps(body).encode()


def _post(target: FulfillmentTarget, body: bytes, *, timestamp: str | None = None, signature: str | None = None) -> Any:
    signed_at, signed = sign(target, body)
    return Client().post(
        f"/callbacks/fulfilment/{target.callback_key}/",
        data=body,
        content_type="application/json",
        HTTP_X_ACORN_TIMESTAMP=timestamp if timestamp is not None else signed_at,
        HTTP_X_ACORN_SIGNATURE=signature if signature is not None else signed,
    )


def test_a_signed_shipped_callback_records_the_parcel_once(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    target, request, product = _sent(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        first = _post(target, _shipped_body())
        repeat = _post(target, _shipped_body())
    assert first.status_code == 200 and first.json()["duplicate"] is False
    assert repeat.status_code == 200 and repeat.json()["duplicate"] is True
    with tenant_scope(tenant):
        shipment = Shipment.objects.get()
        assert (shipment.source, shipment.carrier, shipment.tracking_number) == ("warehouse", "DHL", "JD0001")
        request.refresh_from_db()
        assert (request.state, request.warehouse_reference) == (FulfillmentState.SHIPPED, "WH-77")
        assert _level(product) == (8, 0) and stock.levels_match_ledger(tenant_id=tenant.pk) == []
    assert [task.name for task, _ in enqueued] == ["orders.confirm_shipment"]


@pytest.mark.parametrize("forgery", ["wrong-secret", "stale", "missing", "tampered"])
def test_a_forged_or_stale_callback_is_refused_and_records_nothing(tenant: Tenant, forgery: str) -> None:
    target, request, _product = _sent(tenant)
    body = _shipped_body()
    if forgery == "wrong-secret":
        forged = FulfillmentTarget(secrets={"signing_secret": "guessed"})
        timestamp, signature = sign(forged, body)
        response = _post(target, body, timestamp=timestamp, signature=signature)
    elif forgery == "stale":
        timestamp, signature = sign(target, body, now=timezone.now().timestamp() - 301)
        response = _post(target, body, timestamp=timestamp, signature=signature)
    elif forgery == "missing":
        response = _post(target, body, timestamp="", signature="")
    else:
        timestamp, signature = sign(target, body)
        response = _post(target, _shipped_body(tracking="JD9999"), timestamp=timestamp, signature=signature)
    assert response.status_code == 401
    with tenant_scope(tenant):
        assert not Shipment.objects.exists()
        request.refresh_from_db()
        assert request.state == FulfillmentState.SENT


def test_callback_answers_unknown_key_bad_json_and_unknown_lines(tenant: Tenant) -> None:
    target, _request, _product = _sent(tenant)
    assert (
        Client().post("/callbacks/fulfilment/no-such-key/", data=b"{}", content_type="application/json").status_code
        == 404
    )
    assert Client().get(f"/callbacks/fulfilment/{target.callback_key}/").status_code == 405
    broken = _post(target, b'{"event": "shipped", ')
    assert broken.status_code == 400 and broken.json()["field"] == "body"
    wrong_event = _post(target, json.dumps({"event": "lost", "request_key": "req-1"}).encode())
    assert wrong_event.status_code == 400 and wrong_event.json()["field"] == "event"
    no_tracking = _post(target, _shipped_body(tracking=""))
    assert no_tracking.status_code == 400 and no_tracking.json()["field"] == "shipments[0].tracking_number"
    naive = _post(target, _shipped_body(shipped_at="2026-11-20T10:00:00"))
    assert naive.status_code == 400 and naive.json()["field"] == "shipments[0].shipped_at"
    unknown_line = _post(target, _shipped_body(lines=[{"line_id": "nope", "quantity": 1}]))
    assert unknown_line.status_code == 422 and unknown_line.json()["field"] == "shipments[0].lines[0].line_id"
    too_many = _post(target, _shipped_body(lines=[{"line_id": "L1-1", "quantity": 5}]))
    assert too_many.status_code == 422 and "left to ship" in too_many.json()["error"]
    unknown_request = _post(target, _shipped_body(request_key="req-404"))
    assert unknown_request.status_code == 404 and unknown_request.json()["field"] == "request_key"
    with tenant_scope(tenant):
        assert not Shipment.objects.exists()


def test_an_accepted_callback_goes_to_the_fulfilment_service(tenant: Tenant) -> None:
    target, request, _product = _sent(tenant)
    with tenant_scope(tenant):
        FulfillmentRequest.objects.filter(pk=request.pk).update(state=FulfillmentState.PENDING)
    body = json.dumps({"event": "accepted", "request_key": "req-1", "warehouse_reference": "WH-1"}).encode()
    assert _post(target, body).status_code == 200
    with tenant_scope(tenant):
        request.refresh_from_db()
        assert (request.state, request.warehouse_reference) == (FulfillmentState.SENT, "WH-1")


def test_another_tenants_callback_key_cannot_record_into_my_orders(tenant: Tenant, other_tenant: Tenant) -> None:
    _target_a, request, product = _sent(tenant)
    with tenant_scope(other_tenant):
        theirs = _target(other_tenant, key="wh-beta", secret="beta-signing-secret")
    # B's own, validly signed callback naming A's request key
    response = _post(theirs, _shipped_body(request_key=request.key))
    assert response.status_code == 404
    with tenant_scope(tenant):
        assert not Shipment.objects.exists() and _level(product) == (10, 2)


# --- console: pages, roles, other tenants -----------------------------------------------------------------


def _console_order(tenant: Tenant) -> Order:
    with tenant_scope(tenant):
        store, _product = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1, ("SKU-1", 2))])
        return _stored(store, 1)


def test_recording_from_the_order_page(
    tenant: Tenant,
    owner_client: Client,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    order = _console_order(tenant)
    url = f"/app/orders/{order.pk}/shipments/new/"
    page = owner_client.get(url)
    assert page.status_code == 200 and 'name="tracking_number"' in page.content.decode()
    with tenant_scope(tenant):
        line = OrderLine.objects.get()
    form = {"carrier": "UPS", "tracking_number": "1Z777", "shipped_at": "2026-11-26T10:00", f"line_{line.pk}": "2"}
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url, form)
    assert response.status_code == 302 and response["Location"] == f"/app/orders/{order.pk}/"
    with tenant_scope(tenant):
        shipment = Shipment.objects.get()
        assert shipment.created_by is not None and shipment.source == "manual"
    assert len(enqueued) == 1
    # too many units: the form says so, nothing more is recorded
    again = owner_client.post(url, {**form, "tracking_number": "1Z778"})
    assert again.status_code == 400 and "already shipped" in again.content.decode()


def test_an_fba_order_page_says_there_is_nothing_to_record(tenant: Tenant, owner_client: Client) -> None:
    with tenant_scope(tenant):
        store, _product = _setup(tenant, platform="amazon")
        order_upsert_page(store=store, orders=[_order(1, fulfillment_channel="fba")])
        order = _stored(store, 1)
    page = owner_client.get(f"/app/orders/{order.pk}/shipments/new/")
    assert page.status_code == 200 and 'id="shipment-refusal"' in page.content.decode()
    assert owner_client.post(f"/app/orders/{order.pk}/shipments/new/", {"carrier": "UPS"}).status_code == 400
    with tenant_scope(tenant):
        assert not Shipment.objects.exists()


def test_finance_can_view_confirmations_but_not_record_or_retry(
    tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable[[Membership], Client]
) -> None:
    order = _console_order(tenant)
    with tenant_scope(tenant):
        shipment, _created = _record(order)
        Shipment.objects.filter(pk=shipment.pk).update(confirmation="failed", last_error="Shopify said no")
    finance = client_for(make_member(tenant, Role.FINANCE))
    listing = finance.get("/app/orders/shipments/")
    assert listing.status_code == 200 and "Shopify said no" in listing.content.decode()
    assert f"/app/orders/shipments/{shipment.pk}/retry/" not in listing.content.decode()
    assert finance.get(f"/app/orders/{order.pk}/shipments/new/").status_code == 403
    assert finance.post(f"/app/orders/{order.pk}/shipments/new/", {}).status_code == 403
    assert finance.post(f"/app/orders/shipments/{shipment.pk}/retry/").status_code == 403
    assert finance.get("/app/orders/shipments/import/").status_code == 403
    operator = client_for(make_member(tenant, Role.OPERATOR))
    assert f"/app/orders/shipments/{shipment.pk}/retry/" in operator.get("/app/orders/shipments/").content.decode()
    with tenant_scope(tenant):
        assert Shipment.objects.get().confirmation == "failed"


def test_retry_from_the_confirmations_page(
    tenant: Tenant,
    owner_client: Client,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    order = _console_order(tenant)
    with tenant_scope(tenant):
        shipment, _created = _record(order)
        Shipment.objects.filter(pk=shipment.pk).update(confirmation="failed", attempts=8)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/app/orders/shipments/{shipment.pk}/retry/")
    assert response.status_code == 302
    with tenant_scope(tenant):
        shipment.refresh_from_db()
    assert (shipment.confirmation, shipment.attempts) == ("pending", 0)
    assert [task.name for task, _ in enqueued] == ["orders.confirm_shipment"]


def test_confirmations_list_is_paginated_filtered_and_has_an_empty_state(tenant: Tenant, owner_client: Client) -> None:
    empty = owner_client.get("/app/orders/shipments/").content.decode()
    assert "Nothing waiting" in empty
    order = _console_order(tenant)
    with tenant_scope(tenant):
        Shipment.objects.bulk_create(
            [
                Shipment(
                    tenant=tenant,
                    order=order,
                    carrier="UPS",
                    tracking_number=f"1Z{n:04d}",
                    shipped_at=SHIPPED,
                    source="manual",
                    confirmation="confirmed" if n % 2 else "failed",
                )
                for n in range(120)
            ]
        )
    first = owner_client.get("/app/orders/shipments/").content.decode()
    assert first.count("<tr>") == 51 and "1 / 2" in first  # 60 not confirmed, 50 a page
    assert owner_client.get("/app/orders/shipments/?page=2").content.decode().count("<tr>") == 11
    confirmed = owner_client.get("/app/orders/shipments/?state=confirmed").content.decode()
    assert "1Z0119" in confirmed and "1Z0118" not in confirmed  # newest first; failed ones left out
    assert "No shipment matches" in owner_client.get("/app/orders/shipments/?state=submitted").content.decode()


def test_csv_upload_page_reports_lines_and_offers_a_template(tenant: Tenant, owner_client: Client) -> None:
    _console_order(tenant)
    template = owner_client.get("/app/orders/shipments/import/template.csv")
    assert template.status_code == 200
    assert b"".join(template.streaming_content).decode().lstrip("\ufeff").startswith("order_id,carrier,tracking_number")
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("s.csv", _csv("111-0000001,UPS,1Z1,2026-11-20,,,", "111-0000404,UPS,1Z2,2026-11-20,,,"))
    response = owner_client.post("/app/orders/shipments/import/", {"file": bad})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="import-problems"' in page and "<code>order_id</code>" in page and ">3</td>" in page
    good = SimpleUploadedFile("s.csv", _csv("111-0000001,UPS,1Z1,2026-11-20,,,"))
    assert owner_client.post("/app/orders/shipments/import/", {"file": good}).status_code == 302
    with tenant_scope(tenant):
        assert Shipment.objects.get().tracking_number == "1Z1"


def test_other_tenants_orders_and_shipments_answer_404(
    tenant: Tenant, other_owner: Membership, client_for: Callable[[Membership], Client]
) -> None:
    order = _console_order(tenant)
    with tenant_scope(tenant):
        shipment, _created = _record(order)
        Shipment.objects.filter(pk=shipment.pk).update(confirmation="failed")
    intruder = client_for(other_owner)
    assert intruder.get(f"/app/orders/{order.pk}/shipments/new/").status_code == 404
    assert intruder.post(f"/app/orders/{order.pk}/shipments/new/", {"carrier": "X"}).status_code == 404
    assert intruder.post(f"/app/orders/shipments/{shipment.pk}/retry/").status_code == 404
    assert "1Z001" not in intruder.get("/app/orders/shipments/?state=all").content.decode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("s.csv", _csv("111-0000001,UPS,1Z2,2026-11-20,,,"))
    response = intruder.post("/app/orders/shipments/import/", {"file": upload})
    assert response.status_code == 400 and "No order of this company" in response.content.decode()
    with tenant_scope(tenant):
        assert Shipment.objects.get().confirmation == "failed"


@pytest.mark.parametrize(
    ("shipped_at", "message"),
    [
        ("2099-01-01T10:00", "The ship date is in the future"),
        ((timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"), "The ship date is in the future"),
        ("2001-01-01T10:00", "The ship date is before the order was placed"),
    ],
)
def test_the_order_page_refuses_a_ship_date_ahead_of_today_or_before_the_purchase(
    tenant: Tenant, owner_client: Client, shipped_at: str, message: str
) -> None:
    # given an order to ship
    order = _console_order(tenant)
    with tenant_scope(tenant):
        line = OrderLine.objects.get()
    form = {"carrier": "UPS", "tracking_number": "1Z900", "shipped_at": shipped_at, f"line_{line.pk}": "1"}
    # when a ship date far ahead (or before the purchase) is posted
    response = owner_client.post(f"/app/orders/{order.pk}/shipments/new/", form)
    # then the form says why and nothing is recorded
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_scope(tenant):
        assert not Shipment.objects.exists()
