"""WooCommerce calls never reach a private address: every call the `woocommerce` client makes (and the
connection test's own request) goes through the guarded session, so a site address saved before the check
existed, in any spelling, a name whose DNS answer changed after the form checked it (rebinding), or a redirect
to the internal network is refused with nothing sent. The simulator on 127.0.0.1 still works in test settings
(tests/channels/test_woocommerce_e2e.py runs the whole connection and sync against it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import services
from channels.adapters.woocommerce import ConnectionProblem, WooCommerceAdapter
from channels.adapters.woocommerce.client import AddressNotPublic
from channels.models import Store
from channels.sync import sync_run_execute
from tests.netguard_support import NOT_PUBLIC_HOSTS, PUBLIC_ADDRESS, FakeDns, InsideServer

pytestmark = pytest.mark.django_db
KEYS = {"consumer_key": "ck_1", "consumer_secret": "cs_1"}


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    return FakeDns(monkeypatch)


@pytest.fixture
def inside() -> Iterator[InsideServer]:
    with InsideServer() as server:
        yield server


@pytest.fixture
def production(settings: Any) -> None:
    settings.ACORN_ALLOW_CUSTOM_ENDPOINTS = False


def _adapter(site_url: str) -> WooCommerceAdapter:
    return WooCommerceAdapter(store=Store(platform="woocommerce", seller_id=site_url, endpoint=site_url), secrets=KEYS)


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize("host", NOT_PUBLIC_HOSTS)
def test_every_spelling_is_refused_when_the_client_calls_the_site(
    dns: FakeDns, inside: InsideServer, host: str
) -> None:
    # given a site address pointing inside (saved before the check existed)
    adapter = _adapter(inside.url(host).rstrip("/"))
    # when: the woocommerce library makes a call / the connection test runs
    with pytest.raises(AddressNotPublic) as refused:
        adapter.request("GET", "system_status")
    with pytest.raises(ConnectionProblem) as problem:
        adapter.check_connection()
    # then: nothing reached the inside service, and the reason is the address
    assert inside.connections == 0
    for error in (refused.value, problem.value):
        assert "not a public address" in str(error) and InsideServer.SECRET not in str(error)


@pytest.mark.usefixtures("production")
def test_a_sync_of_a_store_saved_before_the_check_fails_saying_the_address_is_not_public(
    tenant: Tenant, dns: FakeDns, inside: InsideServer
) -> None:
    # given a connected store whose site address is (by now) a hex spelling of 127.0.0.1
    url = "https://shop.example.com"
    with tenant_scope(tenant):
        store = services.store_create(
            tenant=tenant,
            actor=None,
            membership=None,
            platform="woocommerce",
            name="Woo",
            permissions=["orders"],
            endpoint=url,
            seller_id=url,
        )
        store = services.store_authorize(store=store, actor=None, seller_id=url, secrets=KEYS, queue_sync=False)
        Store.objects.filter(pk=store.pk).update(endpoint=inside.url("0x7f000001").rstrip("/"))
        store.refresh_from_db()
        # when
        run = sync_run_execute(store=store, resource="orders", trigger="command", sleep=lambda seconds: None)
    # then
    assert run.status == "failed" and "not a public address" in run.message
    assert InsideServer.SECRET not in run.message and inside.connections == 0


@pytest.mark.usefixtures("production")
def test_dns_rebinding_after_the_form_checked_the_site_is_refused_by_the_connection_test(
    tenant: Tenant, owner_client: Client, dns: FakeDns, inside: InsideServer
) -> None:
    # given a site name that is public when the form checks it and 127.0.0.1 when the connection test calls it
    dns.answer("shop.rebind.test", PUBLIC_ADDRESS).then("shop.rebind.test", "127.0.0.1")
    # when
    response = owner_client.post(
        reverse("channels:store-connect-woocommerce"),
        {"name": "Webshop", "site_url": inside.url("shop.rebind.test"), **KEYS, "permissions": ["orders"]},
    )
    # then: refused, nothing sent, nothing saved
    page = response.content.decode()
    assert response.status_code == 400 and "not a public address" in page and InsideServer.SECRET not in page
    assert inside.connections == 0
    with tenant_scope(tenant):
        assert not Store.objects.exists()


def test_a_redirect_to_the_internal_network_is_refused(dns: FakeDns) -> None:
    # given (test settings: the simulator's loopback allowed) a site on 127.0.0.1 that redirects every call to
    # the cloud metadata service
    with InsideServer(redirect_to="http://169.254.169.254.nip.io/latest/meta-data/") as site:
        adapter = _adapter(site.url("127.0.0.1", "http").rstrip("/"))
        # when / then: the library's call and the connection test both refuse the hop
        with pytest.raises(AddressNotPublic):
            adapter.request("GET", "system_status")
        with pytest.raises(ConnectionProblem, match="not a public address"):
            adapter.check_connection()
        assert len(site.requests) == 2  # the two first hops, to the site itself


def test_the_client_still_reaches_a_site_on_loopback_in_test_settings(dns: FakeDns, inside: InsideServer) -> None:
    # given the test settings and a site on 127.0.0.1 (plain http: the library signs with OAuth 1.0a)
    adapter = _adapter(inside.url("localhost", "http").rstrip("/"))
    # when
    body, response = adapter.request("GET", "system_status", params={"a": "1"})
    # then: through the library, to the checked address, with the site's name as the Host header
    assert body["secret"] == InsideServer.SECRET and response.status_code == 200
    ((method, path, host),) = inside.requests
    assert method == "GET" and path.startswith("/wp-json/wc/v3/system_status?") and "oauth_signature=" in path
    assert host == f"localhost:{inside.port}"
