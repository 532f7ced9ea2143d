"""Login with Amazon, the Seller Central consent redirect, and the access token on API calls."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from simulator import ManualClock, SimulatorServer, World
from simulator.model import Seller
from tests.simulator.conftest import START
from tests.simulator.support import HTTP, ORDERS_PATH, Api

REDIRECT_URI = "https://acorn.example/amazon/callback?x=1"


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.buttons: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action = values["action"]
        elif tag == "input":
            self.fields[values["name"]] = values["value"]
        elif tag == "button":
            self.buttons.append(values["name"])


def _consent(sim: SimulatorServer, **extra: str) -> httpx.Response:
    params = {
        "application_id": sim.world.application_id,
        "state": "state-123",
        "version": "beta",
        "redirect_uri": REDIRECT_URI,
        "region": "EU",
        "marketplaces": "UK,DE",
        **extra,
    }
    return HTTP.get(f"{sim.url}/apps/authorize/consent", params=params)


def _approve(sim: SimulatorServer, **extra: str) -> dict[str, list[str]]:
    page = _consent(sim, **extra)
    assert page.status_code == 200
    form = _Form()
    form.feed(page.text)
    assert form.buttons == ["approve", "deny"]
    answer = HTTP.post(f"{sim.url}{form.action}", data={**form.fields, "approve": "1"})
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT_URI + "&")
    return parse_qs(urlsplit(location).query)


def test_consent_redirects_with_state_seller_and_code(sim: SimulatorServer) -> None:
    # when the seller approves on the consent page
    callback = _approve(sim)

    # then the redirect carries state, the new seller and a code that buys a refresh token
    assert callback["state"] == ["state-123"]
    assert callback["x"] == ["1"]
    seller = sim.world.seller(callback["selling_partner_id"][0])
    assert seller.region == "EU"
    assert [m.code for m in seller.marketplaces] == ["UK", "DE"]
    api = Api(sim, "")
    exchanged = api.lwa(
        grant_type="authorization_code", code=callback["spapi_oauth_code"][0], redirect_uri=REDIRECT_URI
    )
    assert exchanged.status_code == 200
    body = exchanged.json()
    assert body["refresh_token"].startswith("Atzr|")
    assert body["access_token"].startswith("Atza|")
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600


def test_an_authorisation_code_is_single_use(sim: SimulatorServer) -> None:
    code = _approve(sim)["spapi_oauth_code"][0]
    api = Api(sim, "")
    assert api.lwa(grant_type="authorization_code", code=code).status_code == 200
    again = api.lwa(grant_type="authorization_code", code=code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_an_authorisation_code_expires_after_five_minutes() -> None:
    seconds = [1000.0]
    world = World(seed=1, clock=ManualClock(START), auth_clock=lambda: seconds[0], orders_per_day=1)
    with SimulatorServer(world=world) as sim:
        code = _approve(sim)["spapi_oauth_code"][0]
        seconds[0] += 301
        answer = Api(sim, "").lwa(grant_type="authorization_code", code=code)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_a_code_for_another_redirect_uri_is_refused(sim: SimulatorServer) -> None:
    code = _approve(sim)["spapi_oauth_code"][0]
    answer = Api(sim, "").lwa(grant_type="authorization_code", code=code, redirect_uri="https://evil.example/")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_deny_redirects_with_access_denied(sim: SimulatorServer) -> None:
    page = _consent(sim)
    form = _Form()
    form.feed(page.text)
    answer = HTTP.post(f"{sim.url}{form.action}", data={**form.fields, "deny": "1"})
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["location"]).query) == {
        "x": ["1"],
        "error": ["access_denied"],
        "state": ["state-123"],
    }
    assert sim.world.sellers() == []


def test_reauthorisation_reuses_the_seller_and_lifts_a_revocation(sim: SimulatorServer) -> None:
    seller = sim.world.add_seller("EU", ["UK"])
    sim.world.revoke(seller.selling_partner_id)
    callback = _approve(sim, selling_partner_id=seller.selling_partner_id, marketplaces="UK")
    assert callback["selling_partner_id"] == [seller.selling_partner_id]
    assert len(sim.world.sellers()) == 1
    exchanged = Api(sim, "").lwa(grant_type="authorization_code", code=callback["spapi_oauth_code"][0])
    assert exchanged.status_code == 200
    api = Api(sim, exchanged.json()["refresh_token"])
    assert api.get(ORDERS_PATH, {"createdAfter": "2026-01-01T00:00:00Z"}).status_code == 200


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"application_id": "amzn1.sp.solution.other"}, "Unknown application_id"),
        ({"state": ""}, "state parameter is required"),
        ({"redirect_uri": "/relative"}, "redirect_uri"),
        ({"marketplaces": "UK,JP"}, "not in region EU"),
    ],
)
def test_consent_refuses_bad_requests(sim: SimulatorServer, extra: dict[str, str], message: str) -> None:
    page = _consent(sim, **extra)
    assert page.status_code == 400
    assert message in page.text


def test_refresh_grant_returns_an_access_token(sim: SimulatorServer, seller: Seller) -> None:
    answer = Api(sim, seller.refresh_token).lwa(grant_type="refresh_token", refresh_token=seller.refresh_token)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["access_token"].startswith("Atza|")
    assert answer.headers["content-type"].startswith("application/json")


def test_a_revoked_seller_gets_invalid_grant_and_loses_its_access_tokens(api: Api, seller: Seller) -> None:
    # given a working access token
    assert api.get(ORDERS_PATH, {"createdAfter": "2026-01-01T00:00:00Z"}).status_code == 200

    # when the seller revokes the app
    api.sim.world.revoke(seller.selling_partner_id)

    # then the refresh token is refused and the access token no longer works
    refused = api.lwa(grant_type="refresh_token", refresh_token=seller.refresh_token)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert refused.json()["error_description"]
    forbidden = api.get(ORDERS_PATH, {"createdAfter": "2026-01-01T00:00:00Z"})
    assert forbidden.status_code == 403
    assert forbidden.json()["errors"][0]["code"] == "Unauthorized"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "amzn1.application-oa2-client.other"}, 401, "invalid_client"),
        ({"refresh_token": "Atzr|forged"}, 400, "invalid_grant"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"refresh_token": ""}, 400, "invalid_request"),
    ],
)
def test_lwa_errors(api: Api, seller: Seller, form: dict[str, str], status: int, error: str) -> None:
    answer = api.lwa(**{"grant_type": "refresh_token", "refresh_token": seller.refresh_token, **form})
    assert answer.status_code == status
    assert answer.json()["error"] == error


def test_api_calls_without_a_valid_access_token_get_403(api: Api) -> None:
    url = f"{api.sim.url}{ORDERS_PATH}"
    params = {"createdAfter": "2026-01-01T00:00:00Z"}
    for headers in ({}, {"x-amz-access-token": "Atza|forged"}):
        answer = HTTP.get(url, params=params, headers=headers)
        assert answer.status_code == 403
        assert answer.json() == {
            "errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}]
        }
        assert answer.headers["x-amzn-RequestId"]


def test_access_tokens_expire_after_an_hour() -> None:
    seconds = [0.0]
    world = World(seed=1, clock=ManualClock(START), auth_clock=lambda: seconds[0], orders_per_day=1)
    seller = world.add_seller("NA")
    with SimulatorServer(world=world) as sim:
        api = Api(sim, seller.refresh_token)
        assert api.get(ORDERS_PATH, {"createdAfter": "2026-01-01T00:00:00Z"}).status_code == 200
        seconds[0] += 3601
        assert api.get(ORDERS_PATH, {"createdAfter": "2026-01-01T00:00:00Z"}).status_code == 403


def test_the_grantless_token_identifies_no_seller(api: Api) -> None:
    answer = api.lwa(grant_type="client_credentials", scope="sellingpartnerapi::notifications")
    assert answer.status_code == 200
    token = answer.json()["access_token"]
    forbidden = HTTP.get(
        f"{api.sim.url}{ORDERS_PATH}",
        params={"createdAfter": "2026-01-01T00:00:00Z"},
        headers={"x-amz-access-token": token},
    )
    assert forbidden.status_code == 403
