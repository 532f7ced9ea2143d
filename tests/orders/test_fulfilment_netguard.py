"""The fulfilment push never calls a private address: a warehouse endpoint saved before the check existed, in
every spelling, or a name whose DNS answer changes between save and send (rebinding), is refused at send time
with nothing sent, the reason in `last_error` and no answer from the inside service in it; the simulator on
127.0.0.1 still gets its orders where the settings allow it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from orders.fulfilment import services as fulfilment
from orders.fulfilment.push import fulfilment_send
from orders.models import FulfillmentRequest, FulfillmentState, FulfillmentTarget
from orders.services import order_upsert_page
from tests.factories import StoreFactory
from tests.netguard_support import NOT_PUBLIC_HOSTS, PUBLIC_ADDRESS, FakeDns, InsideServer
from tests.orders.test_fulfilment import _order, _route, _stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    return FakeDns(monkeypatch)


@pytest.fixture
def inside() -> Iterator[InsideServer]:
    with InsideServer(status=500) as server:  # a 5xx answer's body would land in last_error
        yield server


@pytest.fixture
def production(settings: Any) -> None:
    settings.ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP = False


def _queued(tenant: Tenant, endpoint_url: str) -> FulfillmentRequest:
    """A paid order queued to an HTTPS target at `endpoint_url` (saved through the service: the check passes)."""
    with tenant_scope(tenant):
        _stock(tenant)
        target, _secret = fulfilment.fulfilment_target_create(
            tenant=tenant, name="LA 3PL", kind="https", endpoint_url=endpoint_url
        )
        _route(tenant, target)
        order_upsert_page(store=StoreFactory(tenant=tenant), orders=[_order(1)])
        return FulfillmentRequest.objects.get()


def _send(tenant: Tenant, request: FulfillmentRequest) -> FulfillmentRequest:
    with tenant_scope(tenant):
        fulfilment_send(request_pk=request.pk)
        return FulfillmentRequest.objects.get(pk=request.pk)


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize("host", NOT_PUBLIC_HOSTS)
def test_an_endpoint_saved_before_the_check_existed_is_refused_at_send_time(
    tenant: Tenant, dns: FakeDns, inside: InsideServer, host: str
) -> None:
    # given a request to a public warehouse, whose endpoint was then stored as a private address (an old row)
    dns.answer("wms.example.com", PUBLIC_ADDRESS)
    request = _queued(tenant, "https://wms.example.com/orders")
    with tenant_scope(tenant):
        FulfillmentTarget.objects.filter(pk=request.target_id).update(endpoint_url=inside.url(host, path="/orders"))
    # when
    sent = _send(tenant, request)
    # then: nothing reached the inside service; failed for good, saying why, and not with its answer
    assert inside.connections == 0
    assert sent.state == FulfillmentState.FAILED and sent.next_attempt_at is None
    assert "not a public address" in sent.last_error and InsideServer.SECRET not in sent.last_error


@pytest.mark.usefixtures("production")
def test_dns_rebinding_after_the_save_is_refused_at_send_time(
    tenant: Tenant, dns: FakeDns, inside: InsideServer
) -> None:
    # given a warehouse name that was public when the target was saved, and answers 127.0.0.1 since
    dns.answer("wms.example.com", PUBLIC_ADDRESS).then("wms.example.com", "127.0.0.1")
    request = _queued(tenant, inside.url("wms.example.com", path="/orders"))
    # when
    sent = _send(tenant, request)
    # then
    assert inside.connections == 0 and sent.state == FulfillmentState.FAILED
    assert "wms.example.com is not a public address (127.0.0.1)" in sent.last_error


@pytest.mark.usefixtures("production")
def test_a_plain_http_endpoint_saved_before_the_rule_is_not_called(
    tenant: Tenant, dns: FakeDns, inside: InsideServer
) -> None:
    dns.answer("wms.example.com", PUBLIC_ADDRESS)
    request = _queued(tenant, "https://wms.example.com/orders")
    with tenant_scope(tenant):
        FulfillmentTarget.objects.filter(pk=request.target_id).update(endpoint_url=inside.url("127.0.0.1", "http"))
    sent = _send(tenant, request)
    assert inside.connections == 0 and sent.state == FulfillmentState.FAILED and "https://" in sent.last_error


def test_the_simulator_on_loopback_still_gets_its_orders_in_test_settings(tenant: Tenant, dns: FakeDns) -> None:
    # given the test settings (loopback allowed) and a warehouse on 127.0.0.1 that takes the order
    with InsideServer(status=200) as warehouse:
        request = _queued(tenant, warehouse.url("127.0.0.1", "http", "/orders"))
        # when
        sent = _send(tenant, request)
        # then
        assert sent.state == FulfillmentState.SENT
        assert [(method, path) for method, path, _host in warehouse.requests] == [("POST", "/orders")]


def test_test_settings_still_refuse_a_name_that_resolves_to_the_internal_network(
    tenant: Tenant, dns: FakeDns, inside: InsideServer
) -> None:
    # given loopback allowed, and a name that was public at save and now points at the metadata service
    dns.answer("wms.example.com", PUBLIC_ADDRESS).then("wms.example.com", "169.254.169.254")
    request = _queued(tenant, "https://wms.example.com/orders")
    # when / then
    sent = _send(tenant, request)
    assert sent.state == FulfillmentState.FAILED and "(169.254.169.254)" in sent.last_error
