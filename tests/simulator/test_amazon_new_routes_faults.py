"""Every route added for returns, refunds, feeds and listings is an SP-API operation like the others: access
token required, usage plan, injected throttling, outages, dropped connections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from simulator import SimulatorServer
from simulator.model import Seller
from tests.simulator.conftest import START
from tests.simulator.support import Api, iso

StartSim = Callable[..., SimulatorServer]
US = "ATVPDKIKX0DER"


def _calls(seller: Seller) -> list[tuple[str, str, dict[str, Any], Any]]:
    sku = next(listing.sku for listing in seller.listings["US"] if not listing.fba_only)
    listing = f"/listings/2021-08-01/items/{seller.selling_partner_id}/{sku}"
    patch = {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}],
            }
        ],
    }
    returns_report = {"reportType": "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "marketplaceIds": [US]}
    return [
        ("GET", "/finances/v0/financialEvents", {"PostedAfter": iso(START - timedelta(days=3))}, None),
        ("GET", "/finances/v0/orders/111-0000000-0000000/financialEvents", {}, None),
        ("POST", "/feeds/2021-06-30/documents", {}, {"contentType": "text/xml; charset=UTF-8"}),
        ("GET", "/feeds/2021-06-30/feeds/1", {}, None),
        ("GET", "/feeds/2021-06-30/documents/amzn1.tortuga.4.na.none", {}, None),
        ("POST", "/feeds/2021-06-30/feeds", {}, {"feedType": "POST_ORDER_FULFILLMENT_DATA"}),
        ("PATCH", listing, {"marketplaceIds": US}, patch),
        ("GET", listing, {"marketplaceIds": US}, None),
        ("POST", "/reports/2021-06-30/reports", {}, returns_report),
    ]


def _send(api: Api, method: str, path: str, params: dict[str, Any], body: Any, token: bool = True) -> httpx.Response:
    headers = {"x-amz-access-token": api.access_token} if token else {}
    return api.http.request(method, path, params=params, json=body, headers=headers)


@pytest.mark.parametrize("index", range(9))
def test_new_routes_need_a_token_and_fail_like_amazon(faulty_sim: StartSim, seller: Seller, index: int) -> None:
    method, path, params, body = _calls(seller)[index]

    # without an access token: 403
    calm = Api(faulty_sim("none"), seller.refresh_token)
    denied = _send(calm, method, path, params, body, token=False)
    assert denied.status_code == 403 and denied.json()["errors"][0]["code"] == "Unauthorized"
    assert _send(calm, method, path, params, body).status_code in (200, 201, 202, 400, 404)

    # throttled twice in a row at most, with Retry-After
    throttled = Api(faulty_sim("none", throttle_rate=1.0), seller.refresh_token)
    answers = [_send(throttled, method, path, params, body) for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [429, 429] and answers[2].status_code != 429
    assert answers[0].headers["Retry-After"] == "1" and answers[0].headers["x-amzn-RateLimit-Limit"]

    # the connection dropped without an answer, then the retry goes through
    dropped = Api(faulty_sim("none", reset_rate=1.0), seller.refresh_token)
    for _ in range(2):
        with pytest.raises(httpx.RemoteProtocolError):
            _send(dropped, method, path, params, body)
    assert _send(dropped, method, path, params, body).status_code in (200, 201, 202, 400, 404)


def test_the_usage_plans_are_amazons(faulty_sim: StartSim, seller: Seller) -> None:
    api = Api(faulty_sim("none"), seller.refresh_token)
    limits = [_send(api, *call).headers["x-amzn-RateLimit-Limit"] for call in _calls(seller)]
    assert limits == ["0.5", "0.5", "0.5", "2.0", "0.0222", "0.0083", "5.0", "5.0", "0.0167"]
