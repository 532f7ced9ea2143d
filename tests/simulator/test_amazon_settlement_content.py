"""The simulator's settlement V2 files carry what real ones do (finance notes §1: reserve, advertising,
storage and subscription fees, FBA inventory reimbursements, marketplace-facilitator tax, an unknown type, a
period across a month end, a negative settlement) and stay exactly true: rows sum to total-amount, and the
simulator's own truth per category adds up to the same total."""

from __future__ import annotations

import gzip
from decimal import Decimal

from simulator import World
from simulator.ledger import UNKNOWN_DESCRIPTION, settlement_truth
from tests.simulator.support import HTTP, Api

SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
DE, UK = "A1PA6795UKMFR9", "A1F83G8C2ARO7P"


def _rows(api: Api, document_id: str) -> list[dict[str, str]]:
    url = api.get(f"/reports/2021-06-30/documents/{document_id}").json()["url"]
    lines = gzip.decompress(HTTP.get(url).content).decode("utf-8").rstrip("\n").split("\n")
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def _amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def test_settlements_carry_account_money_and_stay_true(api: Api, world: World) -> None:
    seller = world.add_seller("NA", ["US"], orders_per_day=10)
    na = Api(api.sim, seller.refresh_token)
    reports = na.get("/reports/2021-06-30/reports", {"reportTypes": SETTLEMENT, "pageSize": 100}).json()["reports"]
    truth = {
        t["settlement_id"]: t
        for t in settlement_truth(
            world.seller_orders(seller.selling_partner_id), seller.selling_partner_id, world.now()
        )
    }
    types: set[tuple[str, str, str]] = set()
    negative = crossing = False
    assert reports
    for report in reports:
        rows = _rows(na, report["reportDocumentId"])
        summary, lines = rows[0], rows[1:]
        total = _amount(summary["total-amount"])
        assert total == sum(_amount(line["amount"]) for line in lines)
        expected = truth[summary["settlement-id"]]
        assert expected["total"] == total == sum(expected["categories"].values())
        assert expected["rows"] == len(lines)
        types |= {(line["transaction-type"], line["amount-type"], line["amount-description"]) for line in lines}
        negative |= total < 0
        crossing |= len({line["posted-date-time"][:7] for line in lines}) > 1
    assert {
        ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount"),
        ("other-transaction", "other-transaction", "Storage Fee"),
        ("other-transaction", "other-transaction", "Subscription Fee"),
        ("other-transaction", "other-transaction", "Current Reserve Amount"),
        ("other-transaction", "other-transaction", "Previous Reserve Amount Balance"),
        ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal"),
        ("other-transaction", "other-transaction", UNKNOWN_DESCRIPTION),
    } <= types
    assert any(amount_type == "FBA Inventory Reimbursement" for _, amount_type, _ in types)
    assert negative and crossing


def test_the_settlement_listing_ignores_the_marketplace_filter(api: Api, world: World) -> None:
    # Amazon ignores marketplaceIds for settlement reports: the seller gets every marketplace's
    seller = world.add_seller("EU", ["UK", "DE"], orders_per_day=6)
    eu = Api(api.sim, seller.refresh_token)
    reports = eu.get("/reports/2021-06-30/reports", {"reportTypes": SETTLEMENT, "marketplaceIds": DE}).json()
    assert {tuple(report["marketplaceIds"]) for report in reports["reports"]} == {(DE,), (UK,)}
