"""Money from refunds: Finances 2024-06-19 Refund transactions and settlement refund rows, both equal to the
world's refunds and adding up exactly."""

from __future__ import annotations

import gzip
from datetime import timedelta
from decimal import Decimal
from typing import Any

from simulator import World
from simulator.model import Seller
from tests.simulator.conftest import START
from tests.simulator.support import HTTP, Api, iso, merge_shapes, shape_errors, vendor_bodies
from tests.simulator.test_finances import MODEL

PATH = "/finances/2024-06-19/transactions"


def _all(api: Api, params: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        response = api.get(PATH, params)
        assert response.status_code == 200, response.text
        payload = response.json()["payload"]
        found.extend(payload["transactions"])
        if not payload.get("nextToken"):
            return found
        params = {"nextToken": payload["nextToken"]}


def _amount(node: dict[str, Any]) -> Decimal:
    return Decimal(str(node["currencyAmount"]))


def _leaves(breakdowns: list[dict[str, Any]]) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for node in breakdowns:
        if node["breakdowns"]:
            for name, amount in _leaves(node["breakdowns"]).items():
                found[name] = found.get(name, Decimal(0)) + amount
        else:
            found[node["breakdownType"]] = found.get(node["breakdownType"], Decimal(0)) + _amount(
                node["breakdownAmount"]
            )
    return found


def test_refund_transactions_validate_add_up_and_match_the_world(api: Api, world: World, seller: Seller) -> None:
    # given every transaction of the last 50 days
    after, before = START - timedelta(days=50), START - timedelta(minutes=5)
    transactions = _all(api, {"postedAfter": iso(after), "postedBefore": iso(before)})
    refunds = [t for t in transactions if t["transactionType"] == "Refund"]

    # then there is one Refund transaction per refund the world posted in the window
    truth = {
        r["refund_id"]: r
        for r in world.refunds_for(seller.selling_partner_id, at=before)
        if r["posted_at"] >= iso(after)
    }
    by_refund_id = {
        next(
            i["relatedIdentifierValue"] for i in t["relatedIdentifiers"] if i["relatedIdentifierName"] == "REFUND_ID"
        ): t
        for t in refunds
    }
    assert set(by_refund_id) == set(truth) and len(refunds) == len(truth) > 5
    for refund_id, transaction in by_refund_id.items():
        record = truth[refund_id]
        assert MODEL.errors({"payload": {"transactions": [transaction]}}, "ListTransactionsResponse") == []
        assert transaction["transactionStatus"] == "RELEASED"  # refunds are never deferred
        assert transaction["postedDate"] == record["posted_at"]
        assert _amount(transaction["totalAmount"]) == Decimal(record["total"]) < 0
        leaves = _leaves(transaction["breakdowns"])
        assert sum(leaves.values()) == _amount(transaction["totalAmount"])
        # negative principal, commission given back, the refund administration fee kept
        assert leaves["Product Charges"] < 0 < leaves["Commission"]
        assert leaves["Refund Commission"] < 0
        quantities = [c["quantityShipped"] for item in transaction["items"] for c in item["contexts"]]
        assert quantities == [item["quantity"] for item in record["items"]]


def test_refund_transactions_keep_the_keys_of_the_sandbox_example(api: Api) -> None:
    example = merge_shapes(vendor_bodies("finances-2024-06-19", "listTransactions.200.*.json"))
    transactions = _all(api, {"postedAfter": iso(START - timedelta(days=40))})
    refund = next(t for t in transactions if t["transactionType"] == "Refund")
    errors = shape_errors({"payload": {"transactions": [refund]}}, example)
    assert all("not in the vendor examples" in error for error in errors), errors


def _settlement_rows(api: Api, document_id: str) -> list[dict[str, str]]:
    document = api.get(f"/reports/2021-06-30/documents/{document_id}").json()
    response = HTTP.get(document["url"])
    assert response.headers["content-type"].startswith("text/plain;charset=UTF-8")
    lines = gzip.decompress(response.content).decode("utf-8").rstrip("\n").split("\n")
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def _local(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def test_settlements_carry_refund_rows_and_still_total_their_events(api: Api, world: World) -> None:
    seller = world.add_seller("EU", ["UK", "DE"], orders_per_day=12)
    eu = Api(api.sim, seller.refresh_token)
    reports = eu.get("/reports/2021-06-30/reports", {"reportTypes": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"})
    refund_rows = 0
    for report in reports.json()["reports"]:
        rows = _settlement_rows(eu, report["reportDocumentId"])
        summary, lines = rows[0], rows[1:]
        assert _local(summary["total-amount"]) == sum(_local(line["amount"]) for line in lines)
        refunds = [line for line in lines if line["transaction-type"] == "Refund"]
        refund_rows += len(refunds)
        for line in refunds:
            assert line["adjustment-id"] and not line["shipment-id"] and not line["quantity-purchased"]
        by_refund: dict[str, dict[tuple[str, str], Decimal]] = {}
        for line in refunds:
            amounts = by_refund.setdefault(line["adjustment-id"], {})
            amounts[(line["amount-type"], line["amount-description"])] = _local(line["amount"])
        for amounts in by_refund.values():
            assert amounts[("ItemPrice", "Principal")] < 0 < amounts[("ItemFees", "Commission")]
            assert amounts[("ItemFees", "RefundCommission")] < 0
        # the settlement's order and refund rows and listTransactions agree, refunds included
        params = {"postedAfter": iso(START - timedelta(days=170)), "postedBefore": report["dataEndTime"]}
        params["marketplaceId"] = report["marketplaceIds"][0]
        tag = {"relatedIdentifierName": "SETTLEMENT_ID", "relatedIdentifierValue": summary["settlement-id"]}
        transactions = [t for t in _all(eu, params) if tag in t["relatedIdentifiers"]]
        order_rows = [line for line in lines if line["transaction-type"] in ("Order", "Refund")]
        assert sum(_amount(t["totalAmount"]) for t in transactions) == sum(
            _local(line["amount"]) for line in order_rows
        )
        assert len({t["transactionId"] for t in transactions if t["transactionType"] == "Refund"}) == len(by_refund)
    assert refund_rows > 0
