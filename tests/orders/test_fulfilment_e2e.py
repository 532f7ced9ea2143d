"""The fulfilment push over real HTTP to the simulator's third-party warehouse: signed orders sent once, cancels,
5xx retried with backoff by the beat, 4xx and a wrong secret not retried, timeouts and dropped connections,
and the warehouse's signed "shipped" callback."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from orders.fulfilment import services as fulfilment
from orders.models import FulfillmentRequest, FulfillmentState, FulfillmentTarget
from orders.services import order_upsert_page
from orders.tasks import dispatch_fulfilment_requests_task, send_fulfilment_request_task
from simulator.faults import FaultProfile
from simulator.server import SimulatorServer
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory
from tests.orders.test_fulfilment import _later, _order, _route, _stock

pytestmark = pytest.mark.django_db
SLUG = "la-3pl"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=3, tls_port=None) as server:
        server.warehouse.delay_seconds = 0
        yield server


def _connect(tenant: Tenant, sim: SimulatorServer, slug: str = SLUG) -> FulfillmentTarget:
    """An HTTPS target at the simulator's warehouse, which knows the secret ACORN made for it."""
    with tenant_scope(tenant):
        target, secret = fulfilment.fulfilment_target_create(
            tenant=tenant, name=f"Warehouse {slug}", kind="https", endpoint_url=sim.warehouse.url(slug)
        )
        _route(tenant, target)
    assert sim.warehouse.add_warehouse(slug, secret) == target.endpoint_url
    return target


def _warehouse_posts(sim: SimulatorServer, slug: str = SLUG) -> list[Any]:
    return [r for r in sim.requests if r.method == "POST" and r.path == f"/warehouse/{slug}/orders"]


def _request(tenant: Tenant, n: int = 1) -> FulfillmentRequest:
    with tenant_scope(tenant):
        return FulfillmentRequest.objects.select_related("order").get(order__external_id=f"111-{n:07d}")


def _ingest(tenant: Tenant, capture: Callable, *orders: Any) -> None:
    with tenant_scope(tenant):
        store = Store.objects.filter(tenant=tenant).first() or StoreFactory(tenant=tenant)
        with capture(execute=True):
            order_upsert_page(store=store, orders=list(orders))


def _time_passes(tenant: Tenant, request: FulfillmentRequest) -> None:
    """The retry's time has come (rather than waiting a minute of wall time)."""
    with tenant_scope(tenant):
        FulfillmentRequest.objects.filter(pk=request.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_paid_order_is_pushed_signed_and_exactly_once_even_when_the_task_runs_twice(
    tenant: Tenant,
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    # given: stock, a warehouse API routed everything, a paid order and one waiting for payment
    target = _connect(tenant, sim)
    with tenant_scope(tenant):
        _stock(tenant)
    _ingest(tenant, django_capture_on_commit_callbacks, _order(1, quantity=2), _order(2, status="pending_payment"))
    # when: the queued task runs, then runs again (a redelivered message)
    assert [result for result in enqueued.run_all()] == ["sent"]
    request = _request(tenant)
    assert send_fulfilment_request_task(tenant_id=tenant.pk, request_id=request.pk) == "not_due"
    # then: the warehouse has one order, answered with its reference, and only one call was made
    received = sim.warehouse.orders(SLUG)
    assert len(received) == 1 and len(_warehouse_posts(sim)) == 1
    assert request.state == FulfillmentState.SENT and request.warehouse_reference == received[0]["warehouse_reference"]
    assert request.sent_at is not None and request.attempts == 1
    # the call: signed, with the request key as the idempotency key; the body as documented
    call = _warehouse_posts(sim)[0]
    assert call.headers["idempotency-key"] == request.key
    assert fulfilment.signature_valid(
        target, call.headers["x-acorn-timestamp"], call.body, call.headers["x-acorn-signature"]
    )
    body = json.loads(call.body)
    base = django_settings.ACORN_WEBHOOK_BASE_URL or django_settings.ACORN_BASE_URL
    assert body["event"] == "order" and body["request_key"] == request.key
    assert body["callback_url"] == f"{base}/callbacks/fulfilment/{target.callback_key}/"
    assert {key: body["order"][key] for key in ("reference", "order_id", "buyer_country", "currency")} == {
        "reference": request.key,
        "order_id": "111-0000001",
        "buyer_country": "US",
        "currency": "USD",
    }
    assert body["order"]["lines"] == [
        {"line_id": "L1-0", "sku": "SKU-1", "master_sku": "SKU-1", "master_quantity": 2, "title": "", "quantity": 2}
    ]
    assert "address" not in json.dumps(body)  # ACORN keeps no buyer address
    # the unpaid order was never sent
    with tenant_scope(tenant):
        assert FulfillmentRequest.objects.count() == 1
    # the beat finds nothing due
    enqueued.clear()
    assert dispatch_fulfilment_requests_task() == 0


def test_a_cancel_after_the_push_cancels_at_the_warehouse_and_nothing_ships(
    tenant: Tenant,
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    _connect(tenant, sim)
    with tenant_scope(tenant):
        _stock(tenant)
    sim.warehouse.delay_seconds = 3600  # it would ship in an hour
    _ingest(tenant, django_capture_on_commit_callbacks, _order(1))
    enqueued.run_all()
    # when: the buyer cancels on the channel
    _ingest(tenant, django_capture_on_commit_callbacks, _later(_order(1), status="cancelled"))
    assert _request(tenant).state == FulfillmentState.CANCEL_PENDING
    assert enqueued.run_all() == ["cancelled"]
    # then
    cancel = _warehouse_posts(sim)[-1]
    assert json.loads(cancel.body) == {"event": "cancel", "request_key": _request(tenant).key}
    assert cancel.headers["idempotency-key"] == f"{_request(tenant).key}-cancel"
    assert sim.warehouse.orders(SLUG)[0]["cancelled"] is True
    assert sim.warehouse.deliver_due(include_waiting_retries=True) == []


def test_a_5xx_fails_with_backoff_and_the_beat_sends_it_again(
    tenant: Tenant,
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    _connect(tenant, sim)
    with tenant_scope(tenant):
        _stock(tenant)
    sim.warehouse.fail_next(SLUG, 503)
    _ingest(tenant, django_capture_on_commit_callbacks, _order(1))
    before = timezone.now()
    assert enqueued.run_all() == ["failed"]
    request = _request(tenant)
    assert request.attempts == 1 and "HTTP 503" in request.last_error
    assert request.next_attempt_at is not None
    wait = (request.next_attempt_at - before).total_seconds()
    assert (
        django_settings.ACORN_FULFILMENT_RETRY_SECONDS - 5 <= wait <= django_settings.ACORN_FULFILMENT_RETRY_SECONDS + 5
    )
    # not yet due: the beat leaves it
    assert dispatch_fulfilment_requests_task() == 0
    # a second failure doubles the wait
    _time_passes(tenant, request)
    sim.warehouse.fail_next(SLUG, 502)
    assert dispatch_fulfilment_requests_task() == 1 and enqueued.run_all() == ["failed"]
    request = _request(tenant)
    assert request.attempts == 2
    assert (
        request.next_attempt_at - timezone.now()
    ).total_seconds() > django_settings.ACORN_FULFILMENT_RETRY_SECONDS + 30
    # when its time comes, it goes through: one order at the warehouse
    _time_passes(tenant, request)
    assert dispatch_fulfilment_requests_task() == 1 and enqueued.run_all() == ["sent"]
    assert _request(tenant).state == FulfillmentState.SENT and _request(tenant).last_error == ""
    assert len(sim.warehouse.orders(SLUG)) == 1


def test_a_4xx_is_not_retried_and_retry_now_sends_it(
    tenant: Tenant,
    sim: SimulatorServer,
    owner_client: Client,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    _connect(tenant, sim)
    with tenant_scope(tenant):
        _stock(tenant)
    sim.warehouse.fail_next(SLUG, 422)
    _ingest(tenant, django_capture_on_commit_callbacks, _order(1))
    assert enqueued.run_all() == ["failed"]
    request = _request(tenant)
    assert request.next_attempt_at is None and request.last_error.startswith("HTTP 422:")
    assert "scripted failure 422" in request.last_error  # the body excerpt, for a person to read
    assert dispatch_fulfilment_requests_task() == 0
    page = owner_client.get("/app/orders/fulfilment/problems/").content.decode()
    assert "scripted failure 422" in page
    # when: someone fixed it at the warehouse and presses "Retry now"
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/app/orders/fulfilment/requests/{request.pk}/retry/")
    assert enqueued.run_all() == ["sent"]
    assert len(sim.warehouse.orders(SLUG)) == 1


def test_the_warehouse_refuses_a_wrong_signature(
    tenant: Tenant,
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    target = _connect(tenant, sim)
    with tenant_scope(tenant):
        _stock(tenant)
        new_secret = fulfilment.fulfilment_target_regenerate_secret(tenant=tenant, target=target)
    # the warehouse still has the old secret
    _ingest(tenant, django_capture_on_commit_callbacks, _order(1))
    assert enqueued.run_all() == ["failed"]
    request = _request(tenant)
    assert request.last_error.startswith("HTTP 401") and request.next_attempt_at is None
    assert sim.warehouse.orders(SLUG) == []
    # given the new secret, the retry goes through
    sim.warehouse.set_secret(SLUG, new_secret)
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        fulfilment.fulfilment_retry(tenant=tenant, request=request)
    assert enqueued.run_all() == ["sent"]
    assert len(sim.warehouse.orders(SLUG)) == 1


def test_a_dropped_connection_is_retried_and_the_idempotency_key_keeps_one_order(
    tenant: Tenant,
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    _connect(tenant, sim)
    with tenant_scope(tenant):
        _stock(tenant)
    sim.warehouse.fail_next(SLUG, 0)
    _ingest(tenant, django_capture_on_commit_callbacks, _order(1))
    assert enqueued.run_all() == ["failed"]
    request = _request(tenant)
    assert "Could not reach the warehouse" in request.last_error and request.next_attempt_at is not None
    _time_passes(tenant, request)
    assert dispatch_fulfilment_requests_task() == 1 and enqueued.run_all() == ["sent"]
    # a repeat of the same call (an answer lost on the way back) is recognised by its key
    call = _warehouse_posts(sim)[-1]
    import requests

    again = requests.post(
        sim.warehouse.url(SLUG),
        data=call.body,
        headers={k: v for k, v in call.headers.items() if k.startswith(("x-acorn", "idempotency"))},
        timeout=5,
    )
    assert again.json()["warehouse_reference"] == _request(tenant).warehouse_reference
    assert len(sim.warehouse.orders(SLUG)) == 1


def test_the_fault_profile_applies_to_the_warehouse_too(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    # a warehouse whose every first answer to a call is a 503 (the same call is not refused twice in a row)
    profile = FaultProfile.named("none", unavailable_rate=1.0, max_consecutive_faults=1)
    with SimulatorServer(seed=3, tls_port=None, faults=profile) as sim:
        _connect(tenant, sim)
        with tenant_scope(tenant):
            _stock(tenant)
        _ingest(tenant, django_capture_on_commit_callbacks, _order(1))
        assert enqueued.run_all() == ["failed"]
        assert "HTTP 503" in _request(tenant).last_error
        _time_passes(tenant, _request(tenant))
        assert dispatch_fulfilment_requests_task() == 1 and enqueued.run_all() == ["sent"]
        assert sim.faults.injected == [("warehouse.orders", 503)]


def test_a_warehouse_that_does_not_answer_in_time_is_retried(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    # the simulator hangs 2 s before dropping the connection; the client gives up after 1 s (test settings)
    profile = FaultProfile.named("none", timeout_rate=1.0, timeout_seconds=2.0, max_consecutive_faults=1)
    with SimulatorServer(seed=3, tls_port=None, faults=profile) as sim:
        _connect(tenant, sim)
        with tenant_scope(tenant):
            _stock(tenant)
        _ingest(tenant, django_capture_on_commit_callbacks, _order(1))
        assert enqueued.run_all() == ["failed"]
        request = _request(tenant)
        assert "did not answer within" in request.last_error and request.next_attempt_at is not None
        _time_passes(tenant, request)
        assert dispatch_fulfilment_requests_task() == 1 and enqueued.run_all() == ["sent"]
        assert len(sim.warehouse.orders(SLUG)) == 1


def test_the_warehouse_ships_and_calls_back_signed_with_tracking(
    tenant: Tenant,
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    target = _connect(tenant, sim)
    with tenant_scope(tenant):
        _stock(tenant)
    _ingest(tenant, django_capture_on_commit_callbacks, _order(1, quantity=2))
    enqueued.run_all()
    # the callback is refused once (ACORN down for a moment), then delivered into this process's Django
    answers: list[int] = []

    def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
        if not answers:
            answers.append(503)
            return 503
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        extra.pop("HTTP_CONTENT_TYPE", None)
        with django_capture_on_commit_callbacks(execute=True):
            status = Client().post(urlsplit(url).path, data=body, content_type="application/json", **extra).status_code
        answers.append(status)
        return status

    sim.warehouse.set_deliver(deliver)
    first = sim.warehouse.deliver_due()
    assert [record.status for record in first] == [503]
    second = sim.warehouse.deliver_due(include_waiting_retries=True)
    assert [record.status for record in second] == [200]
    record = second[0]
    assert fulfilment.signature_valid(
        target, record.headers["X-Acorn-Timestamp"], record.body, record.headers["X-Acorn-Signature"]
    )
    shipped = json.loads(record.body)
    parcel = shipped["shipments"][0]
    assert shipped["event"] == "shipped" and shipped["request_key"] == _request(tenant).key
    assert (
        parcel["carrier"] == "UPS"
        and parcel["tracking_number"].startswith("1Z")
        and len(parcel["tracking_number"]) == 18
    )
    assert parcel["lines"] == [{"line_id": "L1-0", "quantity": 2}]
    # the shipments module recorded the parcel and closed the request
    assert _request(tenant).state == FulfillmentState.SHIPPED
    assert sim.warehouse.deliver_due(include_waiting_retries=True) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_two_workers_sending_the_same_request_at_once_send_it_once(
    tenant: Tenant, sim: SimulatorServer, enqueued: EnqueuedTasks
) -> None:
    from django.db import connection

    _connect(tenant, sim)
    with tenant_scope(tenant):
        _stock(tenant)
        order_upsert_page(store=StoreFactory(tenant=tenant), orders=[_order(1)])
    request = _request(tenant)
    enqueued.clear()  # the workers below stand for the queued task and its redeliveries
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            start.wait()
            outcomes.append(send_fulfilment_request_task(tenant_id=tenant.pk, request_id=request.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["not_due", "not_due", "not_due", "sent"]
    assert len(_warehouse_posts(sim)) == 1 and len(sim.warehouse.orders(SLUG)) == 1


def test_the_simulated_warehouse_checks_what_it_is_sent(sim: SimulatorServer) -> None:
    import time

    import requests

    from simulator.warehouse import signature

    url = sim.warehouse.add_warehouse("checks", "s3cret")

    def post(payload: dict[str, Any], key: str = "k1", secret: str = "s3cret") -> requests.Response:
        body = json.dumps(payload).encode()
        stamp = str(int(time.time()))
        headers = {
            "X-Acorn-Timestamp": stamp,
            "X-Acorn-Signature": signature(secret, stamp, body),
            "Idempotency-Key": key,
        }
        return requests.post(url, data=body, headers=headers, timeout=5)

    order = {
        "event": "order",
        "request_key": "r1",
        "callback_url": "http://127.0.0.1:9/callbacks/fulfilment/x/",
        "order": {"lines": [{"line_id": "L1", "quantity": 1}]},
    }
    assert post(order, secret="wrong").status_code == 401
    assert post({**order, "order": {"lines": []}}).status_code == 422
    created = post(order, key="k2")
    assert created.status_code == 201
    assert post(order, key="k2").json() == created.json()  # the same key: the same answer
    assert post(order, key="k3").json()["warehouse_reference"] == created.json()["warehouse_reference"]
    assert post({"event": "cancel", "request_key": "nope"}, key="k4").status_code == 404
    sim.warehouse.set_deliver(lambda url, headers, body: 200)
    assert [record.request_key for record in sim.warehouse.deliver_due()] == ["r1"]
    assert post({"event": "cancel", "request_key": "r1"}, key="k5").status_code == 409  # it has shipped
    assert len(sim.warehouse.orders("checks")) == 1
