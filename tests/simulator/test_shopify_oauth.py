"""The install flow: consent page, signed redirect (checked with ShopifyAPI's own validator), code
exchange for an expiring offline token, refresh rotation, single-use codes and uninstall."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import shopify

from simulator import SimulatorServer
from simulator.shopify import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.simulator.shopify_support import SHOP, graphql, make_sim

REDIRECT = "https://acorn.example/channels/shopify/callback"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    server = make_sim(seed=3)
    yield server
    server.stop()


def _install(sim: SimulatorServer, shop: str = SHOP) -> dict[str, str]:
    base = f"{sim.url}/shopify/{shop}/admin/oauth/authorize"
    query = {
        "client_id": DEFAULT_CLIENT_ID,
        "scope": "read_orders,write_inventory",
        "redirect_uri": REDIRECT,
        "state": "nonce-1",
    }
    page = httpx.get(base, params=query)
    assert page.status_code == 200 and "Install" in page.text
    approved = httpx.post(base, data={**query, "approve": "1"})
    assert approved.status_code == 302
    location = approved.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return dict(parse_qsl(urlsplit(location).query))


def _token(sim: SimulatorServer, shop: str = SHOP, **fields: str) -> httpx.Response:
    body = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, **fields}
    return httpx.post(f"{sim.url}/shopify/{shop}/admin/oauth/access_token", json=body)


def test_redirect_is_signed_like_shopify(sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    params = _install(sim)
    assert set(params) == {"code", "hmac", "host", "shop", "state", "timestamp"}
    assert params["shop"] == SHOP and params["state"] == "nonce-1"
    monkeypatch.setattr(shopify.Session, "secret", DEFAULT_CLIENT_SECRET)
    assert shopify.Session.validate_params(params)
    assert not shopify.Session.validate_params({**params, "state": "forged"})
    assert sim.shopify.has_shop(SHOP)  # a new development store was created on install


def test_code_exchange_gives_an_expiring_offline_token_once(sim: SimulatorServer) -> None:
    code = _install(sim)["code"]
    answer = _token(sim, code=code)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "scope", "expires_in", "refresh_token", "refresh_token_expires_in"}
    assert body["expires_in"] == 3600 and body["refresh_token_expires_in"] == 7776000
    assert body["scope"] == "read_orders,write_inventory"
    assert graphql(sim, body["access_token"], "{ shop { myshopifyDomain } }")["data"]["shop"]["myshopifyDomain"] == SHOP
    reused = _token(sim, code=code)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_request"
    assert _token(sim, code="0" * 32).status_code == 400
    wrong_secret = httpx.post(
        f"{sim.url}/shopify/{SHOP}/admin/oauth/access_token",
        data={"client_id": DEFAULT_CLIENT_ID, "client_secret": "nope", "code": code},
    )
    assert wrong_secret.status_code == 401


def test_refresh_rotates_the_pair(sim: SimulatorServer) -> None:
    first = _token(sim, code=_install(sim)["code"]).json()
    second = _token(sim, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    assert second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    # the old refresh token works until the new access token is used
    assert graphql(sim, second["access_token"], "{ shop { name } }")["data"]
    stale = _token(sim, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"


def test_scopes_are_enforced(sim: SimulatorServer) -> None:
    token = _token(sim, code=_install(sim)["code"]).json()["access_token"]
    answer = graphql(sim, token, "{ productVariants(first: 1) { nodes { sku } } }")
    assert answer["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"


def test_custom_app_token_does_not_expire_and_uninstall_revokes_it(sim: SimulatorServer) -> None:
    sim.shopify.add_shop(SHOP)
    token = sim.shopify.issue_access_token(SHOP)
    assert token.startswith("shpat_")
    assert graphql(sim, token, "{ shop { name } }")["data"]
    sim.shopify.revoke(SHOP)
    response = httpx.post(
        f"{sim.url}/shopify/{SHOP}/admin/api/2026-10/graphql.json",
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": token},
    )
    assert response.status_code == 401
