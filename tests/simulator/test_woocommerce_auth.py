"""Authentication as WooCommerce does it: Basic over HTTPS (certificate verified), OAuth 1.0a over plain
HTTP with the `woocommerce` library's duplicated parameters, and the errors for wrong, read-only and
revoked keys."""

from __future__ import annotations

import time

import pytest
import requests

from simulator import SimulatorServer
from simulator.woocommerce.site import WooSite
from tests.simulator.woo_support import SLUG, client, first_key


@pytest.fixture
def shop(sim: SimulatorServer) -> WooSite:
    return sim.woo.add_site(SLUG, orders_per_day=2)


def test_basic_auth_over_https_with_the_certificate_verified(sim: SimulatorServer, shop: WooSite) -> None:
    # given the simulator's CA file
    key = first_key(sim)
    url = f"{sim.woo.site_url(SLUG)}/wp-json/wc/v3/orders"

    # when a client calls with verification on, against the CA, and without it
    trusted = requests.get(url, auth=(key.consumer_key, key.consumer_secret), verify=sim.tls_cert_path, timeout=5)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, auth=(key.consumer_key, key.consumer_secret), timeout=5)

    # then the CA makes the certificate trusted and Basic auth works
    assert trusted.status_code == 200
    assert sim.requests[-1].headers["authorization"].startswith("Basic ")


def test_unknown_key_is_anonymous_and_a_wrong_secret_is_an_authentication_error(
    sim: SimulatorServer, shop: WooSite
) -> None:
    key = first_key(sim)

    unknown = client(sim, consumer_key="ck_" + "0" * 40, consumer_secret="cs_" + "0" * 40).get("orders")
    wrong_secret = client(sim, consumer_secret="cs_" + "1" * 40).get("orders")
    unknown_write = client(sim, consumer_key="ck_" + "0" * 40).put("orders/1", {"status": "completed"})

    assert unknown.status_code == 401
    assert unknown.json() == {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    }
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["code"] == "woocommerce_rest_authentication_error"
    assert wrong_secret.json()["message"] == "Consumer secret is invalid."
    assert wrong_secret.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert unknown_write.json()["code"] == "woocommerce_rest_cannot_edit"
    assert key.consumer_key.startswith("ck_")


def test_a_read_only_key_reads_but_cannot_write(sim: SimulatorServer, shop: WooSite) -> None:
    # given a read-only key
    key = sim.woo.issue_keys(SLUG, "read")
    api = client(sim, key=key)
    order_id = sim.woo.visible_orders(SLUG)[0]["id"]

    # when it reads and then tries to complete an order
    read = api.get(f"orders/{order_id}")
    write = api.put(f"orders/{order_id}", {"status": "completed"})

    # then the read works and the write is refused before anything changes
    assert read.status_code == 200
    assert write.status_code == 401
    assert write.json()["code"] == "woocommerce_rest_authentication_error"
    assert write.json()["message"] == "The API key provided does not have write permissions."
    assert client(sim).get(f"orders/{order_id}").json()["status"] == read.json()["status"]


def test_revoked_keys_stop_working(sim: SimulatorServer, shop: WooSite) -> None:
    key = first_key(sim)
    api = client(sim, key=key)
    assert api.get("orders").status_code == 200

    sim.woo.revoke(SLUG)

    assert api.get("orders").status_code == 401
    assert client(sim, key=key, https=False).get("orders").json()["message"] == "Consumer key is invalid."


def test_oauth_over_plain_http_tolerates_the_duplicated_parameters(sim: SimulatorServer, shop: WooSite) -> None:
    # given the library over plain HTTP (OAuth 1.0a, every parameter sent twice)
    api = client(sim, https=False)

    # when it lists a page with filters
    params = {"per_page": 3, "orderby": "modified", "order": "asc", "status": "processing,completed"}
    response = api.get("orders", params={**params, "modified_after": "2026-01-01T00:00:00", "dates_are_gmt": "true"})

    # then the signature checks out and the filters apply once
    assert response.status_code == 200, response.text
    assert len(response.json()) == 3
    assert {order["status"] for order in response.json()} <= {"processing", "completed"}
    sent = sim.requests[-1].query
    assert sent["per_page"] == ["3", "3"]
    assert sent["oauth_signature_method"] == ["HMAC-SHA256"]
    assert "authorization" not in sim.requests[-1].headers


def test_oauth_refuses_bad_signatures_replays_and_stale_timestamps(sim: SimulatorServer, shop: WooSite) -> None:
    # given one correctly signed request
    api = client(sim, https=False)
    assert api.get("orders").status_code == 200
    signed = sim.requests[-1]
    url = f"{sim.url}{signed.path}"
    query = {name: values[0] for name, values in signed.query.items()}

    # when it is replayed, tampered with, and signed by a clock an hour off
    replayed = requests.get(url, params=query, timeout=5)
    tampered = requests.get(url, params={**query, "oauth_nonce": "other", "per_page": "50"}, timeout=5)
    sim.woo.auth_clock = lambda: time.time() + 3600
    stale = api.get("orders")

    # then each is refused as WooCommerce refuses it
    assert replayed.json()["message"] == "Invalid nonce - nonce has already been used."
    assert tampered.json()["message"] == "Invalid signature - provided signature does not match."
    assert stale.json()["message"] == "Invalid timestamp."
    assert {replayed.status_code, tampered.status_code, stale.status_code} == {401}


def test_basic_auth_is_not_accepted_over_plain_http(sim: SimulatorServer, shop: WooSite) -> None:
    key = first_key(sim)

    response = requests.get(
        f"{sim.url}/woo/{SLUG}/wp-json/wc/v3/orders", auth=(key.consumer_key, key.consumer_secret), timeout=5
    )

    assert response.status_code == 401
    assert response.json()["code"] == "woocommerce_rest_cannot_view"


def test_missing_oauth_parameters_are_named(sim: SimulatorServer, shop: WooSite) -> None:
    key = first_key(sim)

    response = requests.get(
        f"{sim.url}/woo/{SLUG}/wp-json/wc/v3/orders", params={"oauth_consumer_key": key.consumer_key}, timeout=5
    )

    assert response.status_code == 401
    assert response.json()["code"] == "woocommerce_rest_authentication_missing_parameter"
    assert "oauth_signature" in response.json()["message"]
