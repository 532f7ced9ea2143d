"""Feeds API 2021-06-30: feed documents, feeds processed over world time, XML processing reports, and the
world changes they make (shipment confirmations ship MFN orders; order adjustments refund them)."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import pytest
from defusedxml.ElementTree import fromstring
from sp_api.api import Feeds
from sp_api.auth import AccessTokenClient, access_token_client
from sp_api.base import Marketplaces

from simulator import ManualClock, SimulatorServer, World
from simulator.model import AMAZON, MERCHANT, PARTIALLY_SHIPPED, SHIPPED, UNSHIPPED, Order, Seller
from tests.simulator.conftest import START
from tests.simulator.support import HTTP, VENDOR, Api, iso, merge_shapes, shape_errors

PREFIX = "/feeds/2021-06-30"
CONTENT_TYPE = "text/xml; charset=UTF-8"
FULFILLMENT = "POST_ORDER_FULFILLMENT_DATA"
ADJUSTMENT = "POST_PAYMENT_ADJUSTMENT_DATA"
US = "ATVPDKIKX0DER"


@pytest.fixture
def merchant(world: World) -> Seller:
    """A seller who confirms merchant-fulfilled shipments through feeds (nothing ships by itself)."""
    return world.add_seller("NA", ["US"], mfn_auto_ship=False, orders_per_day=20)


@pytest.fixture
def feeds(sim: SimulatorServer, merchant: Seller) -> Iterator[Api]:
    client = Api(sim, merchant.refresh_token)
    yield client
    client.http.close()


def _envelope(seller: Seller, message_type: str, messages: list[str]) -> bytes:
    body = "".join(f"<Message><MessageID>{n}</MessageID>{m}</Message>" for n, m in enumerate(messages, start=1))
    return (
        '<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope><Header><DocumentVersion>1.01</DocumentVersion>'
        f"<MerchantIdentifier>{seller.selling_partner_id}</MerchantIdentifier></Header>"
        f"<MessageType>{message_type}</MessageType>{body}</AmazonEnvelope>"
    ).encode()


def _fulfillment(order_id: str, items: list[tuple[str, int]] | None = None, *, carrier: str = "UPS") -> str:
    lines = "".join(
        f"<Item><AmazonOrderItemCode>{code}</AmazonOrderItemCode><Quantity>{quantity}</Quantity></Item>"
        for code, quantity in items or []
    )
    carrier_xml = f"<CarrierCode>{escape(carrier)}</CarrierCode>" if carrier else ""
    return (
        f"<OrderFulfillment><AmazonOrderID>{order_id}</AmazonOrderID>"
        f"<FulfillmentDate>{iso(START - timedelta(minutes=30))}</FulfillmentDate>"
        f"<FulfillmentData>{carrier_xml}<ShippingMethod>Ground</ShippingMethod>"
        f"<ShipperTrackingNumber>1ZSIM{order_id[-7:]}</ShipperTrackingNumber></FulfillmentData>{lines}"
        "</OrderFulfillment>"
    )


def _adjustment(order_id: str, items: list[tuple[str, str, dict[str, str]]], currency: str = "USD") -> str:
    adjusted = "".join(
        f"<AdjustedItem><AmazonOrderItemCode>{code}</AmazonOrderItemCode>"
        f"<MerchantAdjustmentItemID>{merchant_id}</MerchantAdjustmentItemID>"
        "<AdjustmentReason>CustomerReturn</AdjustmentReason><ItemPriceAdjustments>"
        + "".join(
            f'<Component><Type>{kind}</Type><Amount currency="{currency}">{amount}</Amount></Component>'
            for kind, amount in components.items()
        )
        + "</ItemPriceAdjustments></AdjustedItem>"
        for code, merchant_id, components in items
    )
    return f"<OrderAdjustment><AmazonOrderID>{order_id}</AmazonOrderID>{adjusted}</OrderAdjustment>"


def _submit(api: Api, clock: ManualClock, feed_type: str, document: bytes) -> tuple[dict[str, Any], Any]:
    """Create, upload and submit a feed; wait for it; return (the last getFeed, the processing report root)."""
    created = api.post(f"{PREFIX}/documents", {"contentType": CONTENT_TYPE})
    assert created.status_code == 201, created.text
    upload = HTTP.put(created.json()["url"], content=document, headers={"Content-Type": CONTENT_TYPE})
    assert upload.status_code == 200
    spec = {"feedType": feed_type, "marketplaceIds": [US], "inputFeedDocumentId": created.json()["feedDocumentId"]}
    response = api.post(f"{PREFIX}/feeds", spec)
    assert response.status_code == 202, response.text
    feed_id = response.json()["feedId"]
    statuses = []
    for _ in range(3):
        feed = api.get(f"{PREFIX}/feeds/{feed_id}").json()
        statuses.append(feed["processingStatus"])
        clock.advance(timedelta(seconds=15))
    assert statuses == ["IN_QUEUE", "IN_PROGRESS", "DONE"]
    answer = api.get(f"{PREFIX}/documents/{feed['resultFeedDocumentId']}").json()
    assert answer["compressionAlgorithm"] == "GZIP"
    return feed, fromstring(gzip.decompress(HTTP.get(answer["url"]).content))


def _summary(report: Any) -> tuple[int, int, int, int]:
    summary = report.find(".//ProcessingSummary")
    names = ("MessagesProcessed", "MessagesSuccessful", "MessagesWithError", "MessagesWithWarning")
    return tuple(int(summary.findtext(name)) for name in names)


def _results(report: Any) -> dict[int, tuple[str, str, str]]:
    return {
        int(result.findtext("MessageID")): (
            result.findtext("ResultCode"),
            result.findtext("ResultMessageCode"),
            result.findtext("AdditionalInfo/AmazonOrderID") or "",
        )
        for result in report.iter("Result")
    }


def _open_orders(world: World, seller: Seller, fulfilled_by: str = MERCHANT) -> list[Order]:
    now = world.now()
    return [
        order
        for order in world.seller_orders(seller.selling_partner_id)
        if order.fulfilled_by == fulfilled_by and order.status_at(now) == UNSHIPPED
    ]


def test_shipment_confirmations_ship_the_orders_and_errors_are_reported(
    feeds: Api, world: World, merchant: Seller, clock: ManualClock
) -> None:
    # given unshipped merchant orders, one of them with two items
    orders = _open_orders(world, merchant)
    whole = orders[0]
    split = next(order for order in orders[1:] if len(order.lines) >= 2)
    fba = next(o for o in world.seller_orders(merchant.selling_partner_id) if o.fulfilled_by == AMAZON)
    first = split.lines[0]
    messages = [
        _fulfillment(whole.order_id),  # no Item: the whole order ships
        _fulfillment(split.order_id, [(first.order_item_id, first.quantity)]),
        _fulfillment("111-0000000-0000000"),
        _fulfillment(fba.order_id),
        _fulfillment(whole.order_id, carrier=""),
    ]

    # when the seller confirms them in one feed
    feed, report = _submit(feeds, clock, FULFILLMENT, _envelope(merchant, "OrderFulfillment", messages))

    # then the report says which messages failed and why, like Amazon's
    assert report.findtext(".//StatusCode") == "Complete"
    assert report.findtext(".//DocumentTransactionID") == feed["feedId"]
    assert _summary(report) == (5, 2, 3, 0)
    assert _results(report) == {
        3: ("Error", "18028", "111-0000000-0000000"),
        4: ("Error", "18038", fba.order_id),
        5: ("Error", "99001", whole.order_id),
    }

    # and the world changed: the orders ship, with the seller's carrier and tracking number
    getter = Api(feeds.sim, merchant.refresh_token)
    shipped = getter.get(f"/orders/2026-01-01/orders/{whole.order_id}", {"includedData": "FULFILLMENT,PACKAGES"})
    order = shipped.json()["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == SHIPPED
    assert [(p["carrier"], p["trackingNumber"]) for p in order["packages"]] == [("UPS", f"1ZSIM{whole.order_id[-7:]}")]
    assert split.status_at(world.now()) == PARTIALLY_SHIPPED
    confirmations = world.shipment_confirmations(merchant.selling_partner_id)
    assert [(c["order_id"], c["message_id"], c["feed_id"]) for c in confirmations] == [
        (whole.order_id, 1, feed["feedId"]),
        (split.order_id, 2, feed["feedId"]),
    ]
    assert confirmations[1]["items"] == [{"order_item_id": first.order_item_id, "quantity": first.quantity}]
    assert confirmations[0]["fulfillment_date"] == iso(START - timedelta(minutes=30))

    # when the same item is confirmed again, and then the rest
    rest = [(line.order_item_id, line.quantity) for line in split.lines[1:]]
    again = [_fulfillment(split.order_id, [(first.order_item_id, 1)]), _fulfillment(split.order_id, rest)]
    _, report = _submit(feeds, clock, FULFILLMENT, _envelope(merchant, "OrderFulfillment", again))
    assert _results(report) == {1: ("Error", "18047", split.order_id)}
    assert split.status_at(world.now()) == SHIPPED


def test_malformed_xml_and_a_missing_upload(feeds: Api, merchant: Seller, clock: ManualClock) -> None:
    _, report = _submit(feeds, clock, FULFILLMENT, b"<AmazonEnvelope><Message>")
    assert _summary(report) == (0, 0, 1, 0)
    assert _results(report) == {0: ("Error", "5000", "")}

    # a feed whose document was never uploaded ends FATAL, without a result document
    document = feeds.post(f"{PREFIX}/documents", {"contentType": CONTENT_TYPE}).json()
    spec = {"feedType": FULFILLMENT, "marketplaceIds": [US], "inputFeedDocumentId": document["feedDocumentId"]}
    feed_id = feeds.post(f"{PREFIX}/feeds", spec).json()["feedId"]
    clock.advance(timedelta(minutes=1))
    feed = feeds.get(f"{PREFIX}/feeds/{feed_id}").json()
    assert feed["processingStatus"] == "FATAL" and "resultFeedDocumentId" not in feed


def test_uploads_and_feed_requests_are_checked(feeds: Api) -> None:
    document = feeds.post(f"{PREFIX}/documents", {"contentType": CONTENT_TYPE}).json()
    wrong = HTTP.put(document["url"], content=b"<x/>", headers={"Content-Type": "text/tab-separated-values"})
    assert wrong.status_code == 403 and b"SignatureDoesNotMatch" in wrong.content
    assert feeds.post(f"{PREFIX}/documents", {}).status_code == 400
    unknown = {"feedType": FULFILLMENT, "marketplaceIds": [US], "inputFeedDocumentId": "amzn1.tortuga.4.na.nope"}
    assert feeds.post(f"{PREFIX}/feeds", unknown).status_code == 400
    other = {"feedType": FULFILLMENT, "marketplaceIds": ["A1PA6795UKMFR9"], "inputFeedDocumentId": "x"}
    assert feeds.post(f"{PREFIX}/feeds", other).status_code == 400
    assert feeds.get(f"{PREFIX}/feeds/12345").status_code == 404
    assert feeds.get(f"{PREFIX}/feeds/12345").headers["x-amzn-RateLimit-Limit"] == "2.0"


def test_feed_answers_keep_the_vendor_shapes(feeds: Api, world: World, merchant: Seller, clock: ManualClock) -> None:
    created = feeds.post(f"{PREFIX}/documents", {"contentType": CONTENT_TYPE})
    order = _open_orders(world, merchant)[0]
    HTTP.put(created.json()["url"], content=_envelope(merchant, "OrderFulfillment", [_fulfillment(order.order_id)]),
             headers={"Content-Type": CONTENT_TYPE})  # fmt: skip
    spec = {"feedType": FULFILLMENT, "marketplaceIds": [US], "inputFeedDocumentId": created.json()["feedDocumentId"]}
    feed_id = feeds.post(f"{PREFIX}/feeds", spec).json()
    clock.advance(timedelta(minutes=1))
    feed = feeds.get(f"{PREFIX}/feeds/{feed_id['feedId']}").json()
    document = feeds.get(f"{PREFIX}/documents/{feed['resultFeedDocumentId']}").json()
    for name, body in (
        ("createFeedDocument", created.json()),
        ("createFeed", feed_id),
        ("getFeed", feed),
        ("getFeedDocument", document),
    ):
        samples = [_vendor(f"sandbox/feeds-2021-06-30/{name}.20*.sandbox-static-0.json")]
        samples.append(_vendor(f"samples-code-recipes/feeds-{name}.json"))
        errors = shape_errors(body, merge_shapes(samples))
        assert all("not in the vendor examples" in error for error in errors), (name, errors)
        assert set(body) >= set(samples[0]) - {"processingStartTime", "processingEndTime"} - {"resultFeedDocumentId"}


def _vendor(pattern: str) -> Any:
    path = next(VENDOR.glob(pattern))
    data = json.loads(path.read_text())
    return data["response"] if "sandbox-static" in path.name else data


def _shipped_merchant_order(world: World, seller: Seller, feeds: Api, clock: ManualClock) -> Order:
    order = next(o for o in _open_orders(world, seller) if o.lines[0].quantity == 1 and not o.lines[0].discount)
    _submit(feeds, clock, FULFILLMENT, _envelope(seller, "OrderFulfillment", [_fulfillment(order.order_id)]))
    return order


def test_order_adjustments_refund_once_and_money_follows(
    feeds: Api, world: World, merchant: Seller, clock: ManualClock
) -> None:
    # given a shipped merchant order
    order = _shipped_merchant_order(world, merchant, feeds, clock)
    line = order.lines[0]
    principal = line.unit_price
    components = {"Principal": str(principal), "Tax": str(line.tax)} if line.tax else {"Principal": str(principal)}
    message = _adjustment(order.order_id, [(line.order_item_id, "ACORN-R1-1", components)])

    # when the seller refunds it, twice (a resubmitted feed)
    _, report = _submit(feeds, clock, ADJUSTMENT, _envelope(merchant, "OrderAdjustment", [message]))
    assert _summary(report) == (1, 1, 0, 0)
    _, again = _submit(feeds, clock, ADJUSTMENT, _envelope(merchant, "OrderAdjustment", [message]))

    # then one refund exists, the repeat is a warning
    assert _summary(again) == (1, 1, 0, 1)
    assert _results(again) == {1: ("Warning", "18060", order.order_id)}
    refunds = [r for r in world.refunds_for(merchant.selling_partner_id, at=world.now()) if r["by_seller"]]
    assert (
        len(refunds) == 1 and world.adjustments(merchant.selling_partner_id)[0]["refund_id"] == refunds[0]["refund_id"]
    )
    refund = refunds[0]
    assert refund["items"][0]["merchant_adjustment_item_id"] == "ACORN-R1-1"
    assert Decimal(refund["items"][0]["principal"]) == -principal
    assert Decimal(refund["amount"]) == principal + line.tax

    # and the Finances APIs show it once it is posted
    clock.advance(timedelta(minutes=3))
    events = feeds.get(f"/finances/v0/orders/{order.order_id}/financialEvents").json()["payload"]["FinancialEvents"]
    assert len(events["RefundEventList"]) == 1
    item = events["RefundEventList"][0]["ShipmentItemAdjustmentList"][0]
    assert item["OrderItemId"] == line.order_item_id
    assert {
        c["ChargeType"]: Decimal(str(c["ChargeAmount"]["CurrencyAmount"])) for c in item["ItemChargeAdjustmentList"]
    }["Principal"] == -principal
    transactions = feeds.get(
        "/finances/2024-06-19/transactions",
        {"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": order.order_id},
    ).json()["payload"]["transactions"]
    assert [t["transactionType"] for t in transactions].count("Refund") == 1

    # and the settlement that covers it names the seller's MerchantAdjustmentItemID (it closes on 9 March)
    clock.advance(timedelta(days=8))
    reports = feeds.get("/reports/2021-06-30/reports", {"reportTypes": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"})
    rows: list[Any] = []
    for report_info in reports.json()["reports"]:
        document = feeds.get(f"/reports/2021-06-30/documents/{report_info['reportDocumentId']}").json()
        text = gzip.decompress(HTTP.get(document["url"]).content).decode()
        rows.extend(line for line in text.splitlines() if "ACORN-R1-1" in line)
    assert rows and all(row.split("\t")[6] == "Refund" for row in rows)


def test_order_adjustments_that_amazon_refuses(feeds: Api, world: World, merchant: Seller, clock: ManualClock) -> None:
    order = _shipped_merchant_order(world, merchant, feeds, clock)
    line = order.lines[0]
    unshipped = _open_orders(world, merchant)[0]
    fba = next(o for o in world.seller_orders(merchant.selling_partner_id) if o.fulfilled_by == AMAZON)
    too_much = {"Principal": str(line.unit_price + Decimal("0.01"))}
    messages = [
        _adjustment(order.order_id, [(line.order_item_id, "X-1", too_much)]),
        _adjustment(unshipped.order_id, [(unshipped.lines[0].order_item_id, "X-2", {"Principal": "1.00"})]),
        _adjustment(fba.order_id, [(fba.lines[0].order_item_id, "X-3", {"Principal": "1.00"})]),
        _adjustment(order.order_id, [("00000000000000", "X-4", {"Principal": "1.00"})]),
        _adjustment(order.order_id, [(line.order_item_id, "X-5", {"Principal": "1.00"})], currency="EUR"),
        _adjustment(order.order_id, [(line.order_item_id, "X-6", {"Principal": "1.00"})]),  # fine: a partial refund
        _adjustment(order.order_id, [(line.order_item_id, "X-7", {"Principal": str(line.unit_price)})]),  # too much now
    ]
    _, report = _submit(feeds, clock, ADJUSTMENT, _envelope(merchant, "OrderAdjustment", messages))
    codes = {message_id: code for message_id, (_, code, _) in _results(report).items()}
    assert codes == {1: "18058", 2: "18057", 3: "18038", 4: "18046", 5: "18059", 7: "18058"}
    adjustments = world.adjustments(merchant.selling_partner_id)
    assert [a["items"][0]["merchant_adjustment_item_id"] for a in adjustments] == ["X-6"]


def test_a_confirmation_replaces_the_shipment_the_world_had_planned(sim: SimulatorServer, world: World) -> None:
    seller = world.add_seller("NA", ["US"])  # merchant orders ship by themselves, unless confirmed earlier
    order = next(
        o
        for o in reversed(world.seller_orders(seller.selling_partner_id))
        if o.fulfilled_by == MERCHANT and o.status_at(world.now()) == UNSHIPPED
    )
    planned = [event.shipment for event in order.events if event.shipment]
    assert planned
    world.confirm_shipment(
        seller.selling_partner_id, order.order_id, fulfillment_date=world.now(), carrier="USPS", tracking_number="9400"
    )
    world.advance(timedelta(days=5))
    shipments = order.state_at(world.now()).shipments
    assert [(s.carrier, s.tracking_number) for s in shipments] == [("USPS", "9400")]


def test_same_seed_and_same_feeds_give_the_same_world() -> None:
    outcomes = []
    for _ in range(2):
        clock = ManualClock(START)
        world = World(seed=5, clock=clock, orders_per_day=10, live_orders_per_hour=0.5)
        with SimulatorServer(seed=5, world=world) as server:
            seller = world.add_seller("NA", ["US"], mfn_auto_ship=False)
            api = Api(server, seller.refresh_token)
            order = _open_orders(world, seller)[0]
            _submit(api, clock, FULFILLMENT, _envelope(seller, "OrderFulfillment", [_fulfillment(order.order_id)]))
            line = order.lines[0]
            message = _adjustment(order.order_id, [(line.order_item_id, "R-1", {"Principal": "1.00"})])
            _submit(api, clock, ADJUSTMENT, _envelope(seller, "OrderAdjustment", [message]))
            clock.advance(timedelta(days=30))
            outcomes.append(
                (
                    world.refunds_for(seller.selling_partner_id),
                    world.returns_for(seller.selling_partner_id),
                    world.shipment_confirmations(seller.selling_partner_id),
                    world.orders_for(seller.selling_partner_id),
                )
            )
            api.http.close()
    assert outcomes[0] == outcomes[1]


def test_the_python_sp_api_feeds_client_round_trip(
    sim: SimulatorServer, world: World, merchant: Seller, clock: ManualClock
) -> None:
    token_url = sim.url + "/auth/o2/token"
    lwa = type("SimulatorLWA", (AccessTokenClient,), {"scheme": "http://", "host": token_url[7:].split("/")[0]})
    access_token_client.cache.clear()
    client = Feeds(
        Marketplaces.US,
        refresh_token=merchant.refresh_token,
        credentials={"lwa_app_id": world.client_id, "lwa_client_secret": world.client_secret},
        auth_token_client_class=lwa,
    )
    client.endpoint = sim.url
    order = _open_orders(world, merchant)[0]
    document = _envelope(merchant, "OrderFulfillment", [_fulfillment(order.order_id)]).decode()
    _, feed = client.submit_feed(FULFILLMENT, io.StringIO(document), content_type=CONTENT_TYPE)
    clock.advance(timedelta(minutes=1))
    done = client.get_feed(feed.payload["feedId"]).payload
    assert done["processingStatus"] == "DONE"
    report = client.get_feed_result_document(done["resultFeedDocumentId"])
    assert "<MessagesSuccessful>1</MessagesSuccessful>" in report
    assert order.status_at(world.now()) == SHIPPED
    access_token_client.cache.clear()
