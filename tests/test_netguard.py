"""The one private-address guard: what is public, names resolved, and the two forms that use it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.core.exceptions import ValidationError

from acorn import netguard
from acorn.netguard import AddressRefused, HostNotFound, HostNotPublic, guarded_session, host_ensure_public
from channels.forms import WooCommerceConnectForm
from orders.fulfilment import services as fulfilment
from simulator.server import SimulatorServer
from tests.netguard_support import (
    NOT_PUBLIC_HOSTS,
    PUBLIC_ADDRESS,
    FakeDns,
    InsideServer,
    no_real_dns,
)


def _resolves_to(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> FakeDns:
    """DNS answers from a table (nothing leaves the machine); a name not in it does not resolve."""
    dns = FakeDns(monkeypatch)
    for name, addresses in table.items():
        dns.answer(name, *addresses)
    return dns


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


# --- every spelling ------------------------------------------------------------------------------------------


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    """netguard's resolver answers from a table; the machine's DNS is never asked."""
    no_real_dns(monkeypatch)
    return FakeDns(monkeypatch)


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("10.1.258", "10.1.1.2"),
        ("0", "0.0.0.0"),
        ("0x", None),
        ("134744072", "8.8.8.8"),
        ("127.0.0.1.", "127.0.0.1"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1"),
        ("[::1]", "::1"),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
        ("1.256.1.1", None),
        ("1.2.65536", None),
        ("4294967296", None),
        ("08.1.1.1", None),
        ("1..1", None),
        ("0xg", None),
        ("0x-1", None),
        ("1_0.0.0.1", None),
        ("+1.2.3.4", None),
        ("0_7.0.0.1", None),
        ("١٢٧.0.0.1", None),  # Arabic-Indic digits: int() reads them, inet_aton does not
        ("shop.example.com", None),
        ("1e5", None),
    ],
)
def test_an_address_is_read_in_every_spelling_the_c_library_reads(spelling: str, address: str | None) -> None:
    # given a host as typed; when it is read; then it is the address the C library would connect to
    literal = netguard.ip_literal(spelling)
    assert (str(literal) if literal is not None else None) == address
    bare = spelling.rstrip(".")
    if ":" not in bare:
        try:
            expected: str | None = socket.inet_ntoa(socket.inet_aton(bare))
        except OSError:
            expected = None
        assert address == expected  # the table above agrees with the machine's own inet_aton


@pytest.mark.parametrize(
    "host",
    [
        *NOT_PUBLIC_HOSTS,
        "0",
        "0x0",
        "[::]",
        "[fe80::1]",
        "ff02::1",
        "[::ffff:169.254.169.254]",
        "64:ff9b::a9fe:a9fe",  # NAT64 around 169.254.169.254
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo whose client is 10.0.0.1
        "::127.0.0.1",  # IPv4-compatible (deprecated): reserved
    ],
)
def test_every_spelling_of_a_private_address_is_refused_without_asking_real_dns(dns: FakeDns, host: str) -> None:
    # given DNS that answers only for the nip.io-style names; when / then
    with pytest.raises(HostNotPublic):
        host_ensure_public(host)


@pytest.mark.parametrize("host", ["134744072", "0x08080808", "[2606:4700:4700::1111]", "shop.example.com."])
def test_public_addresses_in_other_spellings_pass(dns: FakeDns, host: str) -> None:
    dns.answer("shop.example.com", PUBLIC_ADDRESS)
    host_ensure_public(host)


def test_development_lets_loopback_through_and_nothing_else(dns: FakeDns) -> None:
    # the simulator on 127.0.0.1 (any spelling of loopback) passes where the setting allows it ...
    for host in ("127.0.0.1", "127.1", "localhost", "[::1]"):
        host_ensure_public(host, allow_loopback=True)
    # ... but the metadata service, the internal network, or loopback wrapped in IPv6 never do
    for host in ("169.254.169.254.nip.io", "10.0.0.7.nip.io", "10.0.0.5", "[::ffff:127.0.0.1]", "0.0.0.0"):
        with pytest.raises(HostNotPublic):
            host_ensure_public(host, allow_loopback=True)


ISSUE_URLS = (
    "https://127.1/",
    "https://2130706433/",
    "https://0x7f000001/",
    "https://localhost./",
    "https://169.254.169.254.nip.io/",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://017700000001/",
    "https://ⓛocalhost/",  # IDNA maps it to localhost (requests itself refuses to send to it)
)


@pytest.mark.parametrize("url", ISSUE_URLS)
def test_every_spelling_is_refused_when_a_store_or_a_warehouse_is_saved(settings: Any, dns: FakeDns, url: str) -> None:
    # given production settings
    settings.ACORN_ALLOW_CUSTOM_ENDPOINTS = False
    settings.ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP = False
    # when: a WooCommerce site is connected at the address
    form = WooCommerceConnectForm(
        data={
            "name": "Shop",
            "site_url": url,
            "consumer_key": "ck_1",
            "consumer_secret": "cs_1",
            "permissions": ["orders"],
        }
    )
    # then
    assert "public internet" in form.errors["site_url"][0]
    # when: a warehouse endpoint is set to it; then
    with pytest.raises(ValidationError) as refused:
        fulfilment.endpoint_check(url.rstrip("/") + "/orders")
    assert "private networks" in str(refused.value)


def test_test_settings_still_accept_the_simulator_and_refuse_the_internal_network(dns: FakeDns) -> None:
    # given the test settings (the simulator on 127.0.0.1 allowed); when / then
    fulfilment.endpoint_check("http://127.0.0.1:8765/warehouse/la/orders")
    fulfilment.endpoint_check("https://127.0.0.1:8766/warehouse/la/orders")
    for url in ("https://169.254.169.254.nip.io/o", "https://10.0.0.5/o", "http://127.1:8765/o"):
        with pytest.raises(ValidationError):
            fulfilment.endpoint_check(url)


# --- send time: the guarded session ----------------------------------------------------------------------------


@pytest.fixture
def inside() -> Iterator[InsideServer]:
    with InsideServer() as server:
        yield server


@pytest.mark.parametrize("host", NOT_PUBLIC_HOSTS)
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_guarded_session_never_connects_to_a_private_address(
    dns: FakeDns, inside: InsideServer, host: str, scheme: str
) -> None:
    # given a service inside the network on 127.0.0.1 (the nip.io-style names resolve to inside addresses)
    dns.answer("wms.rebind.test", "127.0.0.1")
    # when
    with pytest.raises(AddressRefused) as refused:
        guarded_session().get(inside.url(host, scheme), timeout=2)
    # then: nothing reached it, and the error names the address, not an answer
    assert inside.connections == 0
    assert "not a public address" in str(refused.value) and InsideServer.SECRET not in str(refused.value)


def test_dns_rebinding_between_the_check_and_the_call_is_refused(dns: FakeDns, inside: InsideServer) -> None:
    # given a name that is public when the store is saved, then answers 127.0.0.1
    dns.answer("shop.rebind.test", PUBLIC_ADDRESS).then("shop.rebind.test", "127.0.0.1")
    host_ensure_public("shop.rebind.test")
    # when ACORN calls it
    with pytest.raises(AddressRefused) as refused:
        guarded_session().get(inside.url("shop.rebind.test", "http"), timeout=2)
    # then: the connection checked the address it was about to use, once, and made no connection
    assert refused.value.address == "127.0.0.1" and inside.connections == 0
    assert dns.asked == ["shop.rebind.test", "shop.rebind.test"]


def test_the_connection_goes_to_the_checked_address_with_the_name_in_the_host_header(
    dns: FakeDns, inside: InsideServer
) -> None:
    # given a name that resolves to loopback, first, then to the internal network (development settings)
    dns.answer("wms.sim.test", "127.0.0.1").then("wms.sim.test", "10.0.0.9")
    # when
    response = guarded_session(allow_loopback=True).get(inside.url("wms.sim.test", "http", "/orders"), timeout=2)
    # then: one lookup, the connection to exactly that address, the Host header still the name
    assert response.status_code == 200 and dns.asked == ["wms.sim.test"]
    assert inside.requests == [("GET", "/orders", f"wms.sim.test:{inside.port}")]


def test_a_redirect_to_a_private_address_is_refused(dns: FakeDns) -> None:
    # given (development settings) a server on 127.0.0.1 that redirects to the metadata service
    with InsideServer(redirect_to="http://169.254.169.254.nip.io/latest/meta-data/") as redirecting:
        # when a client that follows redirects asks it; then the hop is refused before it connects
        with pytest.raises(AddressRefused) as refused:
            guarded_session(allow_loopback=True).get(redirecting.url("127.0.0.1", "http"), timeout=2)
        assert refused.value.address == "169.254.169.254"
        assert len(redirecting.requests) == 1


def test_a_guarded_session_ignores_proxies_from_the_environment(
    dns: FakeDns, inside: InsideServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a proxy in the environment (it would resolve the name itself, unchecked)
    monkeypatch.setenv("HTTP_PROXY", "http://10.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "")
    # when / then: the call goes straight to the checked address
    assert guarded_session(allow_loopback=True).get(inside.url("127.0.0.1", "http"), timeout=2).status_code == 200


def test_tls_is_verified_for_the_name_while_the_connection_goes_to_the_checked_address(
    dns: FakeDns, settings: Any
) -> None:
    # given the simulator's HTTPS listener, whose certificate names localhost and 127.0.0.1
    dns.answer("other-name.test", "127.0.0.1")
    with SimulatorServer(seed=1) as sim:
        session = guarded_session(allow_loopback=True)
        port = sim.tls_port
        # when: called by a name the certificate carries, the connection (pinned to 127.0.0.1) verifies
        answered = session.get(f"https://localhost:{port}/woo/none/wp-json/", verify=sim.tls_cert_path, timeout=5)
        assert answered.status_code == 404  # TLS verified, the simulator answered (it has no such site)
        # when: called by a name that resolves to the same address but is not on the certificate
        with pytest.raises(requests.exceptions.SSLError):
            session.get(f"https://other-name.test:{port}/woo/none/wp-json/", verify=sim.tls_cert_path, timeout=5)


def test_a_name_that_does_not_resolve_at_send_time_is_a_connection_error(dns: FakeDns) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        guarded_session().get("https://nowhere.example.com/", timeout=2)


def test_the_spellings_table_covers_the_issue() -> None:
    """The spellings the review reproduced are all in the shared table the send-time tests use."""
    reproduced = {"127.1", "2130706433", "0x7f000001", "localhost.", "169.254.169.254.nip.io"}
    assert reproduced <= set(NOT_PUBLIC_HOSTS)
    assert reproduced <= {url.split("//", 1)[1].rstrip("/") for url in ISSUE_URLS}
