"""The one private-address guard: what is public, names resolved, and the two forms that use it."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from acorn import netguard
from acorn.netguard import HostNotFound, HostNotPublic, host_ensure_public
from channels.forms import WooCommerceConnectForm
from orders.fulfilment import services as fulfilment


def _resolves_to(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> None:
    """DNS answers from a table (nothing leaves the machine); a name not in it does not resolve."""

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0)) for address in table[host]]

    monkeypatch.setattr(netguard.socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",  # the cloud metadata service
        "100.64.0.1",  # carrier-grade NAT: not private, not public either
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "[::1]",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:10.0.0.1",  # IPv4-mapped
        "2002:a00:1::",  # 6to4 around 10.0.0.1
        "localhost",
        "api.localhost",
    ],
)
def test_private_loopback_link_local_and_wrapped_addresses_are_refused(host: str) -> None:
    # given an address that does not lead to the public internet; when / then it is refused
    with pytest.raises(HostNotPublic):
        host_ensure_public(host)


@pytest.mark.parametrize("host", ["8.8.8.8", "2606:4700:4700::1111"])
def test_public_literal_addresses_pass(host: str) -> None:
    host_ensure_public(host)


def test_a_name_is_judged_by_every_address_it_resolves_to(monkeypatch: pytest.MonkeyPatch) -> None:
    # given one name that resolves only to public addresses and one that also resolves to the internal network
    _resolves_to(
        monkeypatch, {"shop.example.com": ["93.184.215.14"], "rebind.example.com": ["93.184.215.14", "10.1.2.3"]}
    )
    # when / then
    host_ensure_public("shop.example.com")
    with pytest.raises(HostNotPublic) as refused:
        host_ensure_public("rebind.example.com")
    assert refused.value.address == "10.1.2.3"
    with pytest.raises(HostNotFound):
        host_ensure_public("nowhere.example.com")
    with pytest.raises(HostNotFound):
        host_ensure_public("")


def test_the_store_form_refuses_a_site_that_resolves_to_the_internal_network(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given production settings (no custom endpoints) and a site whose name points inside
    settings.ACORN_ALLOW_CUSTOM_ENDPOINTS = False
    _resolves_to(monkeypatch, {"shop.example.com": ["93.184.215.14"], "intranet.example.com": ["192.168.0.10"]})
    data = {
        "name": "Webshop",
        "consumer_key": "ck_1",
        "consumer_secret": "cs_1",
        "permissions": ["orders"],
    }
    # when
    inside = WooCommerceConnectForm(data={**data, "site_url": "https://intranet.example.com"})
    unknown = WooCommerceConnectForm(data={**data, "site_url": "https://nowhere.example.com"})
    public = WooCommerceConnectForm(data={**data, "site_url": "https://shop.example.com"})
    # then
    assert "site_url" in inside.errors and "public internet" in inside.errors["site_url"][0]
    assert "site_url" in unknown.errors and "could not be found" in unknown.errors["site_url"][0]
    assert "site_url" not in public.errors


def test_a_warehouse_endpoint_that_resolves_to_the_internal_network_is_refused(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given production settings and a warehouse name that points inside (the check used to read literal
    # addresses only)
    settings.ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP = False
    _resolves_to(monkeypatch, {"wms.example.com": ["93.184.215.14"], "wms.internal.example.com": ["10.0.0.7"]})
    # when / then
    fulfilment.endpoint_check("https://wms.example.com/acorn/orders")
    for url in ("https://wms.internal.example.com/orders", "https://[::ffff:10.0.0.7]/orders", "https://localhost/o"):
        with pytest.raises(ValidationError):
            fulfilment.endpoint_check(url)
