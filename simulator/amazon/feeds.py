"""Feeds API 2021-06-30: createFeedDocument, createFeed, getFeed, getFeedDocument, and the documents.

A client creates a feed document (``contentType``), PUTs the feed to the returned URL (a simulator path
standing in for the pre-signed S3 URL: no access token, and the Content-Type must be the one declared),
then creates the feed. The feed goes IN_QUEUE → IN_PROGRESS → DONE over `PROCESSING_SECONDS` of world
time; at DONE Amazon applies it to the world (see `World.schedule`) and writes an XML ProcessingReport,
gzip-compressed, as the result feed document. A feed whose document was never uploaded ends FATAL.

Two feed types are processed:

* ``POST_ORDER_FULFILLMENT_DATA`` (OrderFulfillment messages): ships merchant-fulfilled order items
  with the given carrier and tracking number (`World.confirm_shipment`); no Item element ships the rest
  of the order, an Item without Quantity the rest of that item.
* ``POST_PAYMENT_ADJUSTMENT_DATA`` (OrderAdjustment messages): refunds shipped items of a merchant-
  fulfilled order (`World.refund_order`), idempotent per MerchantAdjustmentItemID (a repeat is a warning
  and changes nothing).

Each message succeeds or fails as a whole. Result codes: 5000 (the XML cannot be read, MessageID 0),
99001 (a required value is missing) and 18028 (the order cannot be found) are codes Amazon's processing
reports carry; the other 18xxx codes are the simulator's own, one per reason (see `RESULT_CODES`).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring  # building only

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from simulator import merchant
from simulator.amazon.common import (
    AmazonContext,
    BadRequest,
    Operation,
    api_operation,
    error_response,
    parse_datetime,
)
from simulator.amazon.order_shape import iso
from simulator.http import Request, Response, Route
from simulator.merchant import AdjustedItem, OrderActionError
from simulator.model import Seller
from simulator.world import World

PREFIX = "/feeds/2021-06-30"
DOCUMENT_PATH = "/simulator/feed-documents/{documentId}"
SHIPMENT_CONFIRMATION = "POST_ORDER_FULFILLMENT_DATA"
ORDER_ADJUSTMENT = "POST_PAYMENT_ADJUSTMENT_DATA"
MESSAGE_TYPES = {SHIPMENT_CONFIRMATION: "OrderFulfillment", ORDER_ADJUSTMENT: "OrderAdjustment"}
QUEUE_SECONDS, PROCESSING_SECONDS = 5, 30
REPORT_CONTENT_TYPE = "text/xml; charset=UTF-8"

CREATE_FEED = Operation("createFeed", rate=0.0083, burst=15, rate_header="0.0083")
GET_FEED = Operation("getFeed", rate=2.0, burst=15, rate_header="2.0")
CREATE_FEED_DOCUMENT = Operation("createFeedDocument", rate=0.5, burst=15, rate_header="0.5")
GET_FEED_DOCUMENT = Operation("getFeedDocument", rate=0.0222, burst=10, rate_header="0.0222")

XML_ERROR = "xml"
MISSING_VALUE = "missing"
DUPLICATE = "duplicate"
RESULT_CODES = {
    XML_ERROR: "5000",
    MISSING_VALUE: "99001",
    merchant.ORDER_NOT_FOUND: "18028",
    merchant.FULFILLED_BY_AMAZON: "18038",
    merchant.ORDER_CANCELLED: "18040",
    merchant.ORDER_PENDING: "18041",
    merchant.ITEM_NOT_FOUND: "18046",
    merchant.ALREADY_SHIPPED: "18047",
    merchant.INVALID_VALUE: "18050",
    merchant.NOT_SHIPPED: "18057",
    merchant.EXCEEDS_REMAINING: "18058",
    merchant.CURRENCY_MISMATCH: "18059",
    DUPLICATE: "18060",
}
# Amazon's AdjustmentReason values.
ADJUSTMENT_REASONS = frozenset(
    {
        "NoInventory",
        "CustomerReturn",
        "GeneralAdjustment",
        "CouldNotShip",
        "DifferentItem",
        "Abandoned",
        "CustomerCancel",
        "PriceError",
        "ProductOutofStock",
        "CustomerAddressIncorrect",
        "Exchange",
        "Other",
        "CarrierCreditDecision",
        "RiskAssessmentInformationNotValid",
        "CarrierCoverageFailure",
        "TransactionRecord",
        "Undeliverable",
        "RefusedDelivery",
    }
)


@dataclass
class FeedDocument:
    document_id: str
    seller_id: str
    content_type: str
    created: datetime
    body: bytes | None = None
    is_result: bool = False


@dataclass
class FeedRecord:
    feed_id: str
    seller_id: str
    feed_type: str
    marketplace_ids: tuple[str, ...]
    input_document_id: str
    created: datetime
    outcome: str = ""  # DONE or FATAL once processed
    result_document_id: str = ""

    @property
    def started(self) -> datetime:
        return self.created + timedelta(seconds=QUEUE_SECONDS)

    @property
    def finished(self) -> datetime:
        return self.created + timedelta(seconds=PROCESSING_SECONDS)

    def status_at(self, moment: datetime) -> str:
        if moment < self.started:
            return "IN_QUEUE"
        if moment < self.finished or not self.outcome:
            return "IN_PROGRESS"
        return self.outcome


@dataclass
class FeedStore:
    """Feed documents and feeds of one server. Thread-safe."""

    documents: dict[str, FeedDocument] = field(default_factory=dict)
    feeds: dict[str, FeedRecord] = field(default_factory=dict)
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_number(self) -> int:
        with self.lock:
            self.count += 1
            return self.count


def _store(context: AmazonContext) -> FeedStore:
    store = context.state.get("feeds")
    if not isinstance(store, FeedStore):
        store = context.state["feeds"] = FeedStore()
    return store


def _hex(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _document_id(seller: Seller, number: int) -> str:
    digest = _hex("feed-document", seller.selling_partner_id, number)
    uuid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return f"amzn1.tortuga.4.{seller.region.lower()}.{uuid}.T{digest[32:45].upper()}"


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


# -- the API ---------------------------------------------------------------------------------------------


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        raise BadRequest("Invalid input", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("Invalid input", "The request body must be a JSON object.")
    return body


def create_feed_document(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    content_type = _body(request).get("contentType")
    if not isinstance(content_type, str) or not content_type.strip():
        raise BadRequest("Invalid input", "contentType is required.")
    store = _store(context)
    document_id = _document_id(seller, store.next_number())
    with store.lock:
        store.documents[document_id] = FeedDocument(
            document_id, seller.selling_partner_id, content_type, context.world.now()
        )
    url = context.base_url() + DOCUMENT_PATH.format(documentId=document_id)
    return Response.json_body({"feedDocumentId": document_id, "url": url}, status=201)


def create_feed(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    body = _body(request)
    feed_type, marketplace_ids = body.get("feedType"), body.get("marketplaceIds")
    document_id = body.get("inputFeedDocumentId")
    if not isinstance(feed_type, str) or not isinstance(document_id, str):
        raise BadRequest("Invalid input", "feedType and inputFeedDocumentId are required.")
    if not isinstance(marketplace_ids, list) or not marketplace_ids:
        raise BadRequest("Invalid input", "marketplaceIds is required.")
    if feed_type not in MESSAGE_TYPES:
        raise BadRequest("Invalid input", f"The simulator cannot process feedType {feed_type}.")
    for marketplace_id in marketplace_ids:
        if marketplace_id not in seller.marketplace_ids:
            raise BadRequest("Invalid input", f"The seller is not registered in marketplace {marketplace_id}.")
    store = _store(context)
    with store.lock:
        document = store.documents.get(document_id)
    if document is None or document.seller_id != seller.selling_partner_id or document.is_result:
        raise BadRequest("Invalid input", f"Feed document {document_id} was not found.")
    world = context.world
    feed_id = str(50_000_000_000 + int(_hex("feed", seller.selling_partner_id, store.next_number())[:12], 16) % 10**10)
    record = FeedRecord(feed_id, seller.selling_partner_id, feed_type, tuple(marketplace_ids), document_id, world.now())
    with store.lock:
        store.feeds[feed_id] = record
    world.schedule(seller.selling_partner_id, record.finished, _processor(context, seller, record))
    return Response.json_body({"feedId": feed_id}, status=202)


def render_feed(record: FeedRecord, now: datetime) -> dict[str, Any]:
    status = record.status_at(now)
    feed: dict[str, Any] = {
        "feedId": record.feed_id,
        "feedType": record.feed_type,
        "marketplaceIds": list(record.marketplace_ids),
        "createdTime": iso(record.created),
        "processingStatus": status,
    }
    if status != "IN_QUEUE":
        feed["processingStartTime"] = iso(record.started)
    if status in ("DONE", "FATAL"):
        feed["processingEndTime"] = iso(record.finished)
    if status == "DONE" and record.result_document_id:
        feed["resultFeedDocumentId"] = record.result_document_id
    return feed


def get_feed(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    context.world.settle(seller.selling_partner_id)
    store = _store(context)
    with store.lock:
        record = store.feeds.get(params["feedId"])
    if record is None or record.seller_id != seller.selling_partner_id:
        return error_response(404, "NotFound", f"Feed {params['feedId']} was not found.", "feedId")
    return Response.json_body(render_feed(record, context.world.now()))


def get_feed_document(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    context.world.settle(seller.selling_partner_id)
    store = _store(context)
    with store.lock:
        document = store.documents.get(params["feedDocumentId"])
    if document is None or document.seller_id != seller.selling_partner_id:
        return error_response(404, "NotFound", "The feed document was not found.", "feedDocumentId")
    answer: dict[str, Any] = {
        "feedDocumentId": document.document_id,
        "url": context.base_url() + DOCUMENT_PATH.format(documentId=document.document_id),
    }
    if document.is_result:
        answer["compressionAlgorithm"] = "GZIP"
    return Response.json_body(answer)


def _s3_error(status: int, code: str, message: str) -> Response:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Response(status, body.encode(), {"Content-Type": "application/xml"})


def upload_document(context: AmazonContext, request: Request, params: dict[str, str]) -> Response:
    """PUT to the pre-signed URL: stores the feed's content (the Content-Type must be the declared one)."""
    store = _store(context)
    with store.lock:
        document = store.documents.get(params["documentId"])
        if document is None or document.is_result:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        if _media_type(request.header("content-type")) != _media_type(document.content_type):
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        document.body = request.body
    return Response(200, b"", {"ETag": f'"{hashlib.md5(request.body).hexdigest()}"'})  # noqa: S324 - as S3 does


def download_document(context: AmazonContext, request: Request, params: dict[str, str]) -> Response:
    """GET from the pre-signed URL: a processing report (gzip) or an uploaded feed as it was sent."""
    store = _store(context)
    with store.lock:
        document = store.documents.get(params["documentId"])
    if document is None or document.body is None:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    return Response(200, document.body, {"Content-Type": document.content_type})


# -- processing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageResult:
    message_id: int
    code: str  # Error or Warning
    result_code: str
    description: str
    order_id: str = ""


class MessageError(Exception):
    def __init__(self, kind: str, description: str, order_id: str = "") -> None:
        super().__init__(description)
        self.kind = kind
        self.description = description
        self.order_id = order_id


def _processor(context: AmazonContext, seller: Seller, record: FeedRecord) -> Callable[[datetime], None]:
    def process(due: datetime) -> None:
        store = _store(context)
        with store.lock:
            document = store.documents.get(record.input_document_id)
            body = document.body if document is not None else None
        if body is None:
            record.outcome = "FATAL"
            return
        processed, results = apply_feed(context.world, seller, record, body, due)
        report = processing_report(seller, record, processed, results)
        result_id = _document_id(seller, store.next_number())
        with store.lock:
            store.documents[result_id] = FeedDocument(
                result_id, seller.selling_partner_id, REPORT_CONTENT_TYPE, due, gzip.compress(report, mtime=0), True
            )
            record.result_document_id = result_id
            record.outcome = "DONE"

    return process


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element, name: str) -> Element | None:
    return next((child for child in element if _local(child.tag) == name), None)


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _text(element: Element, name: str, *, required: bool = True) -> str:
    child = _child(element, name)
    value = (child.text or "").strip() if child is not None else ""
    if required and not value:
        raise MessageError(MISSING_VALUE, f"A value is required for the {name} field.")
    return value


def apply_feed(
    world: World, seller: Seller, record: FeedRecord, body: bytes, at: datetime
) -> tuple[int, list[MessageResult]]:
    """Apply every message of the feed to the world at `at`: (messages processed, results to report)."""
    try:
        root = fromstring(body)
    except (ParseError, DefusedXmlException, ValueError) as error:
        return 0, [MessageResult(0, "Error", RESULT_CODES[XML_ERROR], f"XML Parsing Error: {error}")]
    expected = MESSAGE_TYPES[record.feed_type]
    message_type = _text(root, "MessageType", required=False) if _local(root.tag) == "AmazonEnvelope" else ""
    if message_type != expected:
        description = f"The feed must be an AmazonEnvelope of MessageType {expected} for {record.feed_type}."
        return 0, [MessageResult(0, "Error", RESULT_CODES[XML_ERROR], description)]
    messages = _children(root, "Message")
    results = []
    for position, message in enumerate(messages, start=1):
        raw_id = _text(message, "MessageID", required=False)
        message_id = int(raw_id) if raw_id.isdigit() else position
        try:
            warning = _apply_message(world, seller, record, message, message_id, at)
        except MessageError as error:
            results.append(
                MessageResult(message_id, "Error", RESULT_CODES[error.kind], error.description, error.order_id)
            )
        except OrderActionError as error:
            order_id = _order_id_of(message)
            results.append(MessageResult(message_id, "Error", RESULT_CODES[error.kind], error.message, order_id))
        else:
            if warning is not None:
                results.append(warning)
    return len(messages), results


def _order_id_of(message: Element) -> str:
    for body in message:
        if _local(body.tag) in MESSAGE_TYPES.values():
            return _text(body, "AmazonOrderID", required=False)
    return ""


def _apply_message(
    world: World, seller: Seller, record: FeedRecord, message: Element, message_id: int, at: datetime
) -> MessageResult | None:
    body = _child(message, MESSAGE_TYPES[record.feed_type])
    if body is None:
        raise MessageError(MISSING_VALUE, f"A value is required for the {MESSAGE_TYPES[record.feed_type]} field.")
    order_id = _text(body, "AmazonOrderID")
    try:
        if record.feed_type == SHIPMENT_CONFIRMATION:
            _confirm(world, seller, record, body, order_id, message_id, at)
            return None
        return _adjust(world, seller, record, body, order_id, message_id, at)
    except MessageError as error:
        error.order_id = order_id
        raise
    except OrderActionError as error:
        if error.kind == merchant.ORDER_NOT_FOUND:
            error.message = (
                f"Your order cannot be found using Merchant ID {seller.selling_partner_id} and Amazon Order ID "
                f"{order_id}. Enter the correct order ID and then resubmit your feed."
            )
        raise


def _confirm(
    world: World, seller: Seller, record: FeedRecord, body: Element, order_id: str, message_id: int, at: datetime
) -> None:
    raw_date = _text(body, "FulfillmentDate")
    try:
        fulfillment_date = parse_datetime(raw_date, "FulfillmentDate")
    except BadRequest:
        raise MessageError(merchant.INVALID_VALUE, f"FulfillmentDate {raw_date!r} is not a valid date-time.") from None
    data = _child(body, "FulfillmentData")
    if data is None:
        raise MessageError(MISSING_VALUE, "A value is required for the FulfillmentData field.")
    carrier = _text(data, "CarrierCode", required=False) or _text(data, "CarrierName", required=False)
    if not carrier:
        raise MessageError(MISSING_VALUE, "A value is required for the CarrierCode or CarrierName field.")
    items: list[tuple[str, int | None]] = []
    for item in _children(body, "Item"):
        raw_quantity = _text(item, "Quantity", required=False)
        if raw_quantity and not raw_quantity.isdigit():
            raise MessageError(merchant.INVALID_VALUE, f"Quantity {raw_quantity!r} is not a positive whole number.")
        items.append((_text(item, "AmazonOrderItemCode"), int(raw_quantity) if raw_quantity else None))
    world.confirm_shipment(
        seller.selling_partner_id,
        order_id,
        fulfillment_date=fulfillment_date,
        carrier=carrier,
        service=_text(data, "ShippingMethod", required=False),
        tracking_number=_text(data, "ShipperTrackingNumber", required=False),
        items=items or None,
        at=at,
        feed_id=record.feed_id,
        message_id=message_id,
    )


def _adjust(
    world: World, seller: Seller, record: FeedRecord, body: Element, order_id: str, message_id: int, at: datetime
) -> MessageResult | None:
    adjusted = _children(body, "AdjustedItem")
    if not adjusted:
        raise MessageError(MISSING_VALUE, "A value is required for the AdjustedItem field.")
    items, reasons, currencies = [], [], set()
    for element in adjusted:
        reason = _text(element, "AdjustmentReason")
        if reason not in ADJUSTMENT_REASONS:
            raise MessageError(merchant.INVALID_VALUE, f"{reason!r} is not a valid AdjustmentReason.")
        reasons.append(reason)
        components: dict[str, Decimal] = {}
        prices = _child(element, "ItemPriceAdjustments")
        for component in _children(prices, "Component") if prices is not None else []:
            kind = _text(component, "Type")
            amount_element = _child(component, "Amount")
            raw_amount = (amount_element.text or "").strip() if amount_element is not None else ""
            if amount_element is None or not raw_amount:
                raise MessageError(MISSING_VALUE, "A value is required for the Amount field.")
            try:
                amount = Decimal(raw_amount)
            except InvalidOperation:
                raise MessageError(merchant.INVALID_VALUE, f"Amount {raw_amount!r} is not a number.") from None
            if not amount.is_finite():
                raise MessageError(merchant.INVALID_VALUE, f"Amount {raw_amount!r} is not a number.")
            currencies.add(amount_element.get("currency", "").strip())
            components[kind] = components.get(kind, Decimal(0)) + amount
        if not components:
            raise MessageError(MISSING_VALUE, "A value is required for the ItemPriceAdjustments field.")
        raw_quantity = _text(element, "QuantityCancelled", required=False)
        if raw_quantity and not raw_quantity.isdigit():
            raise MessageError(merchant.INVALID_VALUE, f"QuantityCancelled {raw_quantity!r} is not a whole number.")
        items.append(
            AdjustedItem(
                order_item_id=_text(element, "AmazonOrderItemCode"),
                merchant_adjustment_item_id=_text(element, "MerchantAdjustmentItemID", required=False),
                components=components,
                quantity=int(raw_quantity) if raw_quantity else None,
            )
        )
    if len(currencies) != 1 or "" in currencies:
        raise MessageError(merchant.INVALID_VALUE, "Every Amount needs the same currency attribute.")
    _, skipped = world.refund_order(
        seller.selling_partner_id,
        order_id,
        reason=reasons[0],
        currency=currencies.pop(),
        items=items,
        at=at,
        feed_id=record.feed_id,
        message_id=message_id,
    )
    if not skipped:
        return None
    description = (
        f"MerchantAdjustmentItemID {', '.join(skipped)} was already processed in an earlier feed; "
        "it was not applied again."
    )
    return MessageResult(message_id, "Warning", RESULT_CODES[DUPLICATE], description, order_id)


def processing_report(seller: Seller, record: FeedRecord, processed: int, results: list[MessageResult]) -> bytes:
    """Amazon's XML ProcessingReport for the feed."""
    root = Element(
        "AmazonEnvelope",
        {
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:noNamespaceSchemaLocation": "amzn-envelope.xsd",
        },
    )
    header = SubElement(root, "Header")
    SubElement(header, "DocumentVersion").text = "1.02"
    SubElement(header, "MerchantIdentifier").text = seller.selling_partner_id
    SubElement(root, "MessageType").text = "ProcessingReport"
    message = SubElement(root, "Message")
    SubElement(message, "MessageID").text = "1"
    report = SubElement(message, "ProcessingReport")
    SubElement(report, "DocumentTransactionID").text = record.feed_id
    SubElement(report, "StatusCode").text = "Complete"
    errors = {result.message_id for result in results if result.code == "Error"}
    warnings = {result.message_id for result in results if result.code == "Warning"}
    summary = SubElement(report, "ProcessingSummary")
    SubElement(summary, "MessagesProcessed").text = str(processed)
    SubElement(summary, "MessagesSuccessful").text = str(max(processed - len(errors - {0}), 0))
    SubElement(summary, "MessagesWithError").text = str(len(errors))
    SubElement(summary, "MessagesWithWarning").text = str(len(warnings))
    for result in sorted(results, key=lambda result: result.message_id):
        element = SubElement(report, "Result")
        SubElement(element, "MessageID").text = str(result.message_id)
        SubElement(element, "ResultCode").text = result.code
        SubElement(element, "ResultMessageCode").text = result.result_code
        SubElement(element, "ResultDescription").text = result.description
        if result.order_id:
            info = SubElement(element, "AdditionalInfo")
            SubElement(info, "AmazonOrderID").text = result.order_id
    return tostring(root, encoding="UTF-8", xml_declaration=True)


def routes(context: AmazonContext) -> list[Route]:
    return [
        Route(
            "POST",
            f"{PREFIX}/documents",
            api_operation(context, CREATE_FEED_DOCUMENT, create_feed_document),
            "createFeedDocument",
        ),
        Route("POST", f"{PREFIX}/feeds", api_operation(context, CREATE_FEED, create_feed), "createFeed"),
        Route("GET", f"{PREFIX}/feeds/{{feedId}}", api_operation(context, GET_FEED, get_feed), "getFeed"),
        Route(
            "GET",
            f"{PREFIX}/documents/{{feedDocumentId}}",
            api_operation(context, GET_FEED_DOCUMENT, get_feed_document),
            "getFeedDocument",
        ),
        Route("PUT", DOCUMENT_PATH, lambda request, params: upload_document(context, request, params), "feedUpload"),
        Route(
            "GET", DOCUMENT_PATH, lambda request, params: download_document(context, request, params), "feedDocument"
        ),
    ]
