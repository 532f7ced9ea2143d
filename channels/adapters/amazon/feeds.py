"""Amazon Feeds API 2021-06-30 and its documents: the XML ACORN sends (shipment confirmations, MFN refunds)
and the processing reports Amazon sends back.

* POST_ORDER_FULFILLMENT_DATA: one OrderFulfillment message per shipment (order id, date, carrier,
  tracking number, the order items and quantities shipped).
* POST_PAYMENT_ADJUSTMENT_DATA: one OrderAdjustment message per refund; each adjusted item carries a
  MerchantAdjustmentItemID derived from ACORN's idempotency key, so a resubmitted refund is recognised.

Processing reports are parsed with defusedxml (they come from the network); the JSON form Amazon uses for
JSON feeds is read too.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring  # building only; parsing goes through defusedxml

from defusedxml import ElementTree as SafeElementTree
from django.utils.translation import gettext as _
from sp_api.api import Feeds

from acorn.money import Money
from channels.adapters.amazon.client import AmazonClient
from channels.adapters.base import (
    ChannelError,
    ChannelRefundResult,
    ChannelRetryableError,
    FeedMessageResult,
    FeedResult,
    OrderStatus,
    RefundableOrder,
    RefundExecuting,
    RefundExecutionMode,
    RefundRequest,
    RefundShipping,
    ShipmentConfirmation,
    ShipmentConfirmationMode,
    ShipmentConfirming,
)

SHIPMENT_CONFIRMATION_FEED = "POST_ORDER_FULFILLMENT_DATA"
ORDER_ADJUSTMENT_FEED = "POST_PAYMENT_ADJUSTMENT_DATA"
FEED_CONTENT_TYPE = "text/xml; charset=UTF-8"

# Carriers Amazon knows by code (CarrierCode); any other carrier goes in CarrierName.
CARRIER_CODES = frozenset(
    {
        "USPS", "UPS", "UPSMI", "FedEx", "DHL", "DHL eCommerce", "OnTrac", "Amazon Shipping", "Royal Mail",
        "Parcelforce", "DPD", "Hermes", "Evri", "GLS", "Deutsche Post", "DHL Germany", "Colissimo",
        "Chronopost", "La Poste", "Poste Italiane", "SEUR", "Correos", "Canada Post", "Purolator",
        "Japan Post", "Yamato Transport", "Sagawa Express", "China Post", "Yanwen", "4PX", "Cainiao",
        "SF Express", "YunExpress",
    }
)  # fmt: skip
# Amazon's AdjustmentReason values for OrderAdjustment.
ADJUSTMENT_REASONS = frozenset(
    {
        "NoInventory", "CustomerReturn", "GeneralAdjustment", "CouldNotShip", "DifferentItem", "Abandoned",
        "CustomerCancel", "PriceError", "ProductOutofStock", "CustomerAddressIncorrect", "Exchange", "Other",
        "CarrierCreditDecision", "RiskAssessmentInformationNotValid", "CarrierCoverageFailure",
        "TransactionRecord", "Undeliverable", "RefusedDelivery",
    }
)  # fmt: skip
_ADJUSTMENT_COMPONENTS = {"principal": "Principal", "shipping": "Shipping", "tax": "Tax", "shipping_tax": "ShippingTax"}


def _envelope(merchant_id: str, message_type: str) -> Element:
    root = Element(
        "AmazonEnvelope",
        {
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:noNamespaceSchemaLocation": "amzn-envelope.xsd",
        },
    )
    header = SubElement(root, "Header")
    SubElement(header, "DocumentVersion").text = "1.01"
    SubElement(header, "MerchantIdentifier").text = merchant_id
    SubElement(root, "MessageType").text = message_type
    return root


def _text(parent: Element, tag: str, value: str) -> Element:
    element = SubElement(parent, tag)
    element.text = value
    return element


def _document(root: Element) -> bytes:
    return tostring(root, encoding="UTF-8", xml_declaration=True)


def shipment_confirmation_feed(merchant_id: str, shipments: Sequence[ShipmentConfirmation]) -> bytes:
    """The XML of a POST_ORDER_FULFILLMENT_DATA feed; message N (from 1) is shipments[N-1]."""
    if not shipments:
        raise ValueError("A shipment confirmation feed needs at least one shipment")
    root = _envelope(merchant_id, "OrderFulfillment")
    for number, shipment in enumerate(shipments, start=1):
        if not shipment.items:
            raise ValueError(f"Shipment of order {shipment.order_id} has no items")
        message = SubElement(root, "Message")
        _text(message, "MessageID", str(number))
        fulfillment = SubElement(message, "OrderFulfillment")
        _text(fulfillment, "AmazonOrderID", shipment.order_id)
        _text(fulfillment, "FulfillmentDate", shipment.shipped_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        data = SubElement(fulfillment, "FulfillmentData")
        _text(data, "CarrierCode" if shipment.carrier in CARRIER_CODES else "CarrierName", shipment.carrier)
        if shipment.shipping_method:
            _text(data, "ShippingMethod", shipment.shipping_method)
        _text(data, "ShipperTrackingNumber", shipment.tracking_number)
        for order_item_id, quantity in shipment.items:
            if quantity <= 0:
                raise ValueError(f"Order item {order_item_id}: quantity must be positive")
            item = SubElement(fulfillment, "Item")
            _text(item, "AmazonOrderItemCode", order_item_id)
            _text(item, "Quantity", str(quantity))
    return _document(root)


def adjustment_item_id(adjustment_id: str, index: int) -> str:
    """The MerchantAdjustmentItemID of the index-th (from 1) item of an adjustment: stable on resubmission."""
    return f"{adjustment_id}-{index}"


def order_adjustment_feed(merchant_id: str, refunds: Sequence[RefundRequest]) -> bytes:
    """The XML of a POST_PAYMENT_ADJUSTMENT_DATA feed (refunds of merchant-fulfilled orders)."""
    if not refunds:
        raise ValueError("An order adjustment feed needs at least one refund")
    root = _envelope(merchant_id, "OrderAdjustment")
    for number, refund in enumerate(refunds, start=1):
        if refund.reason not in ADJUSTMENT_REASONS:
            raise ValueError(f"{refund.reason!r} is not an Amazon adjustment reason")
        if not refund.items:
            raise ValueError(f"Refund {refund.adjustment_id} has no items")
        message = SubElement(root, "Message")
        _text(message, "MessageID", str(number))
        adjustment = SubElement(message, "OrderAdjustment")
        _text(adjustment, "AmazonOrderID", refund.order_id)
        for index, (order_item_id, _quantity, components) in enumerate(refund.items, start=1):
            item = SubElement(adjustment, "AdjustedItem")
            _text(item, "AmazonOrderItemCode", order_item_id)
            _text(item, "MerchantAdjustmentItemID", adjustment_item_id(refund.adjustment_id, index))
            _text(item, "AdjustmentReason", refund.reason)
            prices = SubElement(item, "ItemPriceAdjustments")
            for name, amount in components:
                if name not in _ADJUSTMENT_COMPONENTS:
                    raise ValueError(f"{name!r} cannot be refunded through an order adjustment")
                if amount <= 0:
                    raise ValueError(f"{name} of order item {order_item_id}: the amount to refund must be positive")
                component = SubElement(prices, "Component")
                _text(component, "Type", _ADJUSTMENT_COMPONENTS[name])
                rounded = Money(amount, refund.currency).quantized().amount
                _text(component, "Amount", str(rounded)).set("currency", refund.currency)
    return _document(root)


def _int(value: str | None) -> int:
    try:
        return int((value or "0").strip())
    except ValueError:
        return 0


def parse_processing_report(text: str) -> tuple[dict[str, int], tuple[FeedMessageResult, ...]]:
    """An XML ProcessingReport (or the JSON one of JSON feeds) → (summary figures, per-message results)."""
    stripped = text.lstrip("\ufeff").strip()
    if stripped.startswith("{"):
        return _parse_json_report(stripped)
    try:
        root = SafeElementTree.fromstring(stripped.encode("utf-8"))
    except Exception as error:  # defusedxml raises ParseError or its own refusal types
        raise ChannelError(f"Amazon's processing report is not readable XML: {type(error).__name__}") from None
    report = root.find(".//ProcessingReport")
    if report is None:
        raise ChannelError("Amazon's processing report has no ProcessingReport element")
    summary_element = report.find("ProcessingSummary")
    summary = {
        "processed": _int(summary_element.findtext("MessagesProcessed") if summary_element is not None else None),
        "successful": _int(summary_element.findtext("MessagesSuccessful") if summary_element is not None else None),
        "with_error": _int(summary_element.findtext("MessagesWithError") if summary_element is not None else None),
        "with_warning": _int(summary_element.findtext("MessagesWithWarning") if summary_element is not None else None),
    }
    results = tuple(
        FeedMessageResult(
            message_id=_int(result.findtext("MessageID")),
            result=(result.findtext("ResultCode") or "").strip(),
            code=(result.findtext("ResultMessageCode") or "").strip(),
            description=(result.findtext("ResultDescription") or "").strip()[:1000],
            order_id=(result.findtext("AdditionalInfo/AmazonOrderID") or "").strip(),
        )
        for result in report.findall("Result")
    )
    return summary, results


def _parse_json_report(text: str) -> tuple[dict[str, int], tuple[FeedMessageResult, ...]]:
    try:
        data: Any = json.loads(text)
    except ValueError:
        raise ChannelError("Amazon's processing report is not readable JSON") from None
    raw_summary = data.get("summary") or {}
    summary = {
        "processed": int(raw_summary.get("messagesProcessed") or 0),
        "successful": int(raw_summary.get("messagesAccepted") or 0),
        "with_error": int(raw_summary.get("errors") or 0),
        "with_warning": int(raw_summary.get("warnings") or 0),
    }
    results = tuple(
        FeedMessageResult(
            message_id=int(issue.get("messageId") or 0),
            result="Error" if str(issue.get("severity", "")).upper() == "ERROR" else "Warning",
            code=str(issue.get("code", "")),
            description=str(issue.get("message", ""))[:1000],
        )
        for issue in data.get("issues") or []
        if isinstance(issue, dict)
    )
    return summary, results


def failed_messages(results: Iterable[FeedMessageResult]) -> set[int]:
    """The message ids Amazon refused (warnings are not failures)."""
    return {result.message_id for result in results if result.result.lower() == "error"}


def refund_amount(refund: RefundRequest) -> Decimal:
    """What a refund request gives back in total."""
    return sum((amount for _, _, components in refund.items for _, amount in components), Decimal(0))


# The AdjustmentReason ACORN sends for a refund a person approved (Amazon takes codes, not words): units
# given back, or an amount on items with no units (a price adjustment, goodwill on an item).
REFUND_ADJUSTMENT_REASON = "CustomerReturn"
AMOUNT_ADJUSTMENT_REASON = "GeneralAdjustment"


class FeedsApi(AmazonClient, RefundExecuting, ShipmentConfirming):
    """Feeds API 2021-06-30: merchant-fulfilled refunds (order adjustments) and shipment confirmations, each
    a submission whose processing report says, message by message, what Amazon did."""

    refund_execution_mode = RefundExecutionMode.SUBMISSION
    refund_shipping = RefundShipping.PER_ITEM  # each order item carries its own shipping
    shipment_confirmation_mode = ShipmentConfirmationMode.BATCHED_SUBMISSION
    # POST_PAYMENT_ADJUSTMENT_DATA adjusts order items (order-item-id with item-price-adj, item-tax-adj, …):
    # an amount on an item, yes; an amount on the order tied to no item, no.
    refunds_order_amounts = False

    @classmethod
    def refund_refusal(cls, order: RefundableOrder) -> str:
        """Amazon adjusts only shipped items; an unshipped order is cancelled in Seller Central instead."""
        if order.status == OrderStatus.PAID_UNSHIPPED:
            return _(
                "This Amazon order has not shipped yet: Amazon only refunds shipped items; "
                "cancel the order in Seller Central instead."
            )
        return ""

    @classmethod
    def refund_reason(cls, *, note: str) -> str:
        return REFUND_ADJUSTMENT_REASON

    def execute_refund(self, request: RefundRequest, *, restock: bool = False) -> ChannelRefundResult:
        """Submit the refund as an order adjustment feed; its MerchantAdjustmentItemIDs derive from the
        idempotency key, so a resubmission is recognised. (Restocking merchant-fulfilled units is ACORN's.)"""
        if request.reason == REFUND_ADJUSTMENT_REASON and not any(quantity for _, quantity, _ in request.items):
            request = replace(request, reason=AMOUNT_ADJUSTMENT_REASON)  # no units come back: a price adjustment
        feed_id = self.adjust_orders([request])
        return ChannelRefundResult(
            external_id=request.adjustment_id,
            amount=refund_amount(request),
            currency=request.currency,
            submission_id=feed_id,
        )

    def refund_submission_result(self, *, submission_id: str) -> FeedResult:
        return self.get_feed_result(feed_id=submission_id)

    def submit_shipment_confirmations(self, confirmations: Sequence[ShipmentConfirmation]) -> str:
        return self.confirm_shipments(list(confirmations))

    def shipment_submission_result(self, *, submission_id: str) -> FeedResult:
        return self.get_feed_result(feed_id=submission_id)

    def submit_feed(self, *, feed_type: str, document: bytes) -> str:
        """Upload a feed document and create the feed; returns the feed id (poll with get_feed_result).

        The document goes up as bytes: the client library would otherwise encode text as ISO-8859-1 and
        break any Chinese or Japanese product text."""
        created = self._call(Feeds, "create_feed_document", io.BytesIO(document), FEED_CONTENT_TYPE).payload
        document_id = created.get("feedDocumentId") if isinstance(created, Mapping) else None
        if not document_id:
            raise ChannelRetryableError("Amazon did not return a feed document id", code="empty_response")
        payload = self._call(
            Feeds, "create_feed", feed_type, document_id, marketplaceIds=self.store.marketplace_ids()
        ).payload
        feed_id = payload.get("feedId") if isinstance(payload, Mapping) else None
        if not feed_id:
            raise ChannelRetryableError("Amazon did not return a feed id", code="empty_response")
        return str(feed_id)

    def confirm_shipments(self, shipments: list[ShipmentConfirmation]) -> str:
        """Submit a shipment confirmation feed (merchant-fulfilled orders); message N is shipments[N-1]."""
        return self.submit_feed(
            feed_type=SHIPMENT_CONFIRMATION_FEED, document=shipment_confirmation_feed(self._merchant_id(), shipments)
        )

    def adjust_orders(self, refunds: list[RefundRequest]) -> str:
        """Submit an order adjustment feed (refunds of merchant-fulfilled orders); message N is refunds[N-1]."""
        return self.submit_feed(
            feed_type=ORDER_ADJUSTMENT_FEED, document=order_adjustment_feed(self._merchant_id(), refunds)
        )

    def get_feed_result(self, *, feed_id: str) -> FeedResult:
        """The feed's status and, once DONE, its processing report (what succeeded, what failed and why)."""
        payload = self._call(Feeds, "get_feed", feed_id).payload
        if not isinstance(payload, Mapping) or not payload.get("processingStatus"):
            raise ChannelRetryableError("Amazon answered without the feed's status", code="empty_response")
        status = str(payload["processingStatus"])
        result_document = str(payload.get("resultFeedDocumentId") or "")
        if status != "DONE" or not result_document:
            return FeedResult(feed_id=feed_id, status=status, result_document_id=result_document)
        text = self._call(Feeds, "get_feed_result_document", result_document)
        summary, messages = parse_processing_report(text if isinstance(text, str) else "")
        return FeedResult(
            feed_id=feed_id, status=status, result_document_id=result_document, messages=messages, **summary
        )
