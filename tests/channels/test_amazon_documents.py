"""Amazon's documents: settlement and returns flat files, v0 refund events, feed XML and processing reports.

Headers come from the documented columns in tests/fixtures/vendor (Amazon publishes no sample rows);
the v0 event is Amazon's own sandbox payload.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from defusedxml import ElementTree as SafeElementTree

from channels.adapters.amazon.feeds import (
    adjustment_item_id,
    failed_messages,
    order_adjustment_feed,
    parse_processing_report,
    shipment_confirmation_feed,
)
from channels.adapters.amazon.parse import RecordError, parse_refund_event
from channels.adapters.amazon.reports import (
    parse_fba_returns,
    parse_mfn_returns,
    parse_report_amount,
    parse_settlement,
)
from channels.adapters.base import ChannelError, FulfillmentChannel, RefundRequest, ShipmentConfirmation
from tests.vendor import VENDOR_FIXTURES

VENDOR = VENDOR_FIXTURES / "amazon"
COLUMNS = VENDOR / "reports-documented-columns"


def _header(report_type: str) -> list[str]:
    return (COLUMNS / f"{report_type}.header-only.tsv").read_text().strip("\n").split("\t")


def _document(columns: list[str], rows: list[dict[str, str]]) -> str:
    lines = ["\t".join(columns)] + ["\t".join(row.get(column, "") for column in columns) for row in rows]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "comma", "expected"),
    [
        ("12.34", False, "12.34"),
        ("-12,34", True, "-12.34"),
        ("1.234,56", False, "1234.56"),  # both separators: the right-most one is the decimal point
        ("1,234.56", True, "1234.56"),
        ("1 234,56", True, "1234.56"),
        ("1500", False, "1500"),
    ],
)
def test_report_amounts_parse_exactly_in_either_convention(text: str, comma: bool, expected: str) -> None:
    assert parse_report_amount(text, "amount", decimal_comma=comma) == Decimal(expected)


def test_settlement_us_format_balances_and_keeps_every_row() -> None:
    columns = _header("GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2")
    base = {"settlement-id": "11874511823"}
    rows = [
        {
            **base,
            "settlement-start-date": "2026-11-01 00:00:00 UTC",
            "settlement-end-date": "2026-11-15 00:00:00 UTC",
            "deposit-date": "2026-11-16 00:00:00 UTC",
            "total-amount": "23.17",
            "currency": "USD",
        },
        {
            **base,
            "transaction-type": "Order",
            "order-id": "112-0000001-0000001",
            "amount-type": "ItemPrice",
            "amount-description": "Principal",
            "amount": "29.99",
            "posted-date-time": "2026-11-03 10:00:00 UTC",
            "sku": "MUG-01",
            "quantity-purchased": "1",
        },
        {
            **base,
            "transaction-type": "Order",
            "order-id": "112-0000001-0000001",
            "amount-type": "ItemFees",
            "amount-description": "Commission",
            "amount": "-4.50",
            "posted-date": "11/03/26",
            "sku": "MUG-01",
        },
        {
            **base,
            "transaction-type": "Refund",
            "order-id": "112-0000002-0000002",
            "adjustment-id": "A1",
            "amount-type": "ItemPrice",
            "amount-description": "Principal",
            "amount": "-2.32",
            "posted-date-time": "2026-11-05 10:00:00 UTC",
            "sku": "MUG-02",
        },
    ]
    settlement = parse_settlement(_document(columns, rows))
    assert settlement.settlement_id == "11874511823"
    assert (settlement.currency, settlement.total_amount) == ("USD", Decimal("23.17"))
    assert settlement.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert len(settlement.lines) == 3 and settlement.balanced
    assert settlement.lines[1].posted_at == datetime(2026, 11, 3, tzinfo=UTC)  # only the short date given
    assert settlement.lines[0].quantity == 1 and settlement.lines[1].quantity is None
    assert settlement.lines[2].line_number == 5


def test_settlement_eu_format_with_decimal_commas_and_a_bad_row_named_by_line() -> None:
    columns = _header("GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2")
    base = {"settlement-id": "22"}
    rows = [
        {
            **base,
            "settlement-start-date": "01.11.2026 00:00:00 UTC",
            "settlement-end-date": "15.11.2026 00:00:00 UTC",
            "deposit-date": "16.11.2026 00:00:00 UTC",
            "total-amount": "1.017,50",
            "currency": "EUR",
        },
        {**base, "transaction-type": "Order", "amount-type": "ItemPrice", "amount": "1.020,00"},
        {**base, "transaction-type": "Order", "amount-type": "ItemFees", "amount": "-2,50"},
        {**base, "transaction-type": "Order", "amount-type": "ItemFees", "amount": "zwei Euro"},
    ]
    settlement = parse_settlement(_document(columns, rows))
    assert settlement.total_amount == Decimal("1017.50")
    assert settlement.lines_total == Decimal("1017.50")
    assert [bad.reason for bad in settlement.bad_records] == ["line 5: amount: 'zwei Euro' is not an amount"]
    assert not settlement.balanced  # a row could not be read: the settlement cannot be trusted as complete


def test_settlement_missing_a_documented_column_is_refused_whole() -> None:
    with pytest.raises(ChannelError, match="lacks the column"):
        parse_settlement("settlement-id\tcurrency\n1\tUSD\n")


def test_fba_returns_rows_become_returns_without_tracking() -> None:
    columns = _header("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA")
    assert parse_fba_returns(_document(columns, [])) == ([], [])
    row = {
        "return-date": "2026-11-10T08:15:00+00:00",
        "order-id": "112-1111111-1111111",
        "sku": "MUG-01",
        "asin": "B0TEST0001",
        "fnsku": "X000TEST01",
        "product-name": "Mug — blue 蓝色",
        "quantity": "1",
        "fulfillment-center-id": "PHX7",
        "detailed-disposition": "CUSTOMER_DAMAGED",
        "reason": "DEFECTIVE",
        "status": "Unit returned to inventory",
        "license-plate-number": "LPNRR123456789",
        "customer-comments": "Der Henkel war abgebrochen",
    }
    returns, bad = parse_fba_returns(_document(columns, [row, {**row, "quantity": "two"}]), marketplace="US")
    [item] = returns
    assert item.fulfillment_channel == FulfillmentChannel.FBA and item.tracking_number == ""
    assert (item.reason_code, item.disposition, item.quantity) == ("DEFECTIVE", "CUSTOMER_DAMAGED", 1)
    assert item.returned_at == datetime(2026, 11, 10, 8, 15, tzinfo=UTC)
    assert item.external_id == parse_fba_returns(_document(columns, [row]))[0][0].external_id  # stable id
    assert [b.reason for b in bad] == ["line 3: quantity: 'two' is not a whole number"]


def test_mfn_returns_rows_keep_rma_tracking_and_refunded_amount() -> None:
    columns = _header("GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE")
    row = {
        "Order ID": "028-2222222-2222222",
        "Order date": "2026-10-20T10:00:00+00:00",
        "Return request date": "02-Nov-2026",
        "Return request status": "Approved",
        "Amazon RMA ID": "DsTH7yFTRRMA",
        "Currency code": "EUR",
        "Return carrier": "DHL",
        "Tracking ID": "JJD000390007",
        "Merchant SKU": "LAMP-7",
        "Return quantity": "1",
        "Return Reason": "CR-DEFECTIVE",
        "Return type": "C-Returns",
        "Order Amount": "39,90",
        "Refunded Amount": "39,90",
    }
    [item], bad = parse_mfn_returns(_document(columns, [row]), marketplace="DE")
    assert not bad
    assert (item.external_id, item.rma, item.tracking_number, item.carrier) == (
        "DsTH7yFTRRMA",
        "DsTH7yFTRRMA",
        "JJD000390007",
        "DHL",
    )
    assert (item.currency, item.order_amount, item.refunded_amount) == ("EUR", Decimal("39.90"), Decimal("39.90"))
    assert item.fulfillment_channel == FulfillmentChannel.MERCHANT
    assert item.returned_at == datetime(2026, 11, 2, tzinfo=UTC)


def test_v0_event_from_the_vendor_sandbox_parses_with_item_level_components() -> None:
    body = json.loads(
        (VENDOR / "sandbox/finances-v0/listFinancialEventsByGroupId.200.sandbox-static-0.json").read_text()
    )
    event = body["response"]["payload"]["FinancialEvents"]["ChargebackEventList"][0]  # the ShipmentEvent shape
    refund = parse_refund_event(event)
    assert refund.order_id == "444-555-3343433" and refund.currency == "USD"
    [line] = refund.lines
    assert (line.sku, line.order_item_id, line.adjustment_id) == ("456454455464", "4565465645646", "456456465464")
    totals = refund.component_totals()
    assert totals["tax"] == Decimal("25.37")  # ItemChargeAdjustmentList Tax, exact despite the JSON number
    assert totals["other_fee"] == Decimal("25.37")  # FixedClosingFee adjustment


def test_v0_refund_event_with_a_principal_and_fee_reversal() -> None:
    def money(amount: float) -> dict[str, object]:
        return {"CurrencyCode": "EUR", "CurrencyAmount": amount}

    event: dict[str, Any] = {
        "AmazonOrderId": "028-1",
        "MarketplaceName": "Amazon.de",
        "PostedDate": "2026-11-05T10:00:00Z",
        "ShipmentItemAdjustmentList": [
            {
                "SellerSKU": "LAMP-7",
                "OrderItemId": "OI1",
                "OrderAdjustmentItemId": "ADJ1",
                "QuantityShipped": 1,
                "ItemChargeAdjustmentList": [
                    {"ChargeType": "Principal", "ChargeAmount": money(-33.53)},
                    {"ChargeType": "ShippingCharge", "ChargeAmount": money(-4.90)},
                    {"ChargeType": "Tax", "ChargeAmount": money(-6.37)},
                ],
                "ItemFeeAdjustmentList": [
                    {"FeeType": "Commission", "FeeAmount": money(5.99)},
                    {"FeeType": "RefundCommission", "FeeAmount": money(-1.20)},
                ],
            }
        ],
    }
    refund = parse_refund_event(event)
    totals = refund.component_totals()
    assert refund.marketplace == "DE"
    assert (totals["principal"], totals["tax"], totals["commission"], totals["refund_admin_fee"]) == (
        Decimal("-33.53"),
        Decimal("-6.37"),
        Decimal("5.99"),
        Decimal("-1.20"),
    )
    assert totals["shipping"] == Decimal("-4.90")
    assert refund.total_amount == Decimal("-40.01")
    assert parse_refund_event(event).external_id == refund.external_id
    event["ShipmentItemAdjustmentList"][0]["ItemFeeAdjustmentList"][0]["FeeAmount"]["CurrencyCode"] = "GBP"
    with pytest.raises(RecordError, match="amounts in GBP and EUR"):
        parse_refund_event(event)


def test_shipment_confirmation_feed_is_the_documented_xml() -> None:
    xml = shipment_confirmation_feed(
        "A1SELLER",
        [
            ShipmentConfirmation(
                order_id="112-1",
                shipped_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
                carrier="UPS",
                tracking_number="1Z999",
                items=(("OI-1", 2),),
            ),
            ShipmentConfirmation(
                order_id="112-2",
                shipped_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
                carrier="Yun Logistics 云途",
                tracking_number="YT123",
                items=(("OI-9", 1),),
            ),
        ],
    )
    root = SafeElementTree.fromstring(xml)
    assert root.findtext("Header/MerchantIdentifier") == "A1SELLER"
    assert root.findtext("MessageType") == "OrderFulfillment"
    first, second = root.findall("Message")
    assert first.findtext("OrderFulfillment/FulfillmentDate") == "2026-11-20T09:30:00Z"
    assert first.findtext("OrderFulfillment/FulfillmentData/CarrierCode") == "UPS"
    assert second.findtext("OrderFulfillment/FulfillmentData/CarrierName") == "Yun Logistics 云途"
    assert first.findtext("OrderFulfillment/Item/Quantity") == "2"


def test_order_adjustment_feed_rounds_to_the_currency_and_names_items_stably() -> None:
    refund = RefundRequest(
        order_id="503-1",
        adjustment_id="acorn-refund-42",
        currency="JPY",
        reason="CustomerReturn",
        items=(("OI-1", 1, (("principal", Decimal("1980.4")), ("shipping", Decimal("500")))),),
    )
    root = SafeElementTree.fromstring(order_adjustment_feed("A1SELLER", [refund]))
    item = root.find("Message/OrderAdjustment/AdjustedItem")
    assert item is not None
    assert item.findtext("MerchantAdjustmentItemID") == adjustment_item_id("acorn-refund-42", 1)
    amounts = [
        (c.findtext("Type"), c.findtext("Amount"), c.find("Amount").get("currency")) for c in item.iter("Component")
    ]
    assert amounts == [("Principal", "1980", "JPY"), ("Shipping", "500", "JPY")]
    with pytest.raises(ValueError, match="not an Amazon adjustment reason"):
        order_adjustment_feed("A1", [RefundRequest("1", "x", "USD", "Because", refund.items)])


def test_processing_report_xml_and_json() -> None:
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope><Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>A1</MerchantIdentifier></Header>
<MessageType>ProcessingReport</MessageType><Message><MessageID>1</MessageID><ProcessingReport>
<DocumentTransactionID>5001</DocumentTransactionID><StatusCode>Complete</StatusCode>
<ProcessingSummary><MessagesProcessed>2</MessagesProcessed><MessagesSuccessful>1</MessagesSuccessful>
<MessagesWithError>1</MessagesWithError><MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>
<Result><MessageID>2</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>18028</ResultMessageCode>
<ResultDescription>The order id 112-2 was not found.</ResultDescription>
<AdditionalInfo><AmazonOrderID>112-2</AmazonOrderID></AdditionalInfo></Result>
</ProcessingReport></Message></AmazonEnvelope>"""
    summary, results = parse_processing_report(xml)
    assert summary == {"processed": 2, "successful": 1, "with_error": 1, "with_warning": 0}
    assert failed_messages(results) == {2} and results[0].order_id == "112-2"
    json_report = {
        "summary": {"errors": 1, "warnings": 0, "messagesProcessed": 1, "messagesAccepted": 0},
        "issues": [{"messageId": 1, "code": "90000", "severity": "ERROR", "message": "bad"}],
    }
    summary, results = parse_processing_report(json.dumps(json_report))
    assert summary["with_error"] == 1 and failed_messages(results) == {1}


def test_processing_report_refuses_entity_expansion() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>'
    with pytest.raises(ChannelError, match="not readable XML"):
        parse_processing_report(bomb)
