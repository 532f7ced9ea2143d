"""Reports API 2021-06-30: settlement reports found with getReports, requested reports, gzip documents."""

from __future__ import annotations

import gzip
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from simulator import ManualClock, World
from tests.simulator.conftest import START
from tests.simulator.support import HTTP, VENDOR, Api, SwaggerModel, iso

PREFIX = "/reports/2021-06-30"
SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
DE, UK = "A1PA6795UKMFR9", "A1F83G8C2ARO7P"


@pytest.fixture
def model() -> SwaggerModel:
    return SwaggerModel.load("reports_2021-06-30.json")


@pytest.fixture
def eu_api(api: Api, world: World) -> Api:
    seller = world.add_seller("EU", ["UK", "DE"], orders_per_day=8)
    return Api(api.sim, seller.refresh_token)


def _document(api: Api, document_id: str, model: SwaggerModel) -> list[dict[str, str]]:
    response = api.get(f"{PREFIX}/documents/{document_id}")
    assert response.status_code == 200
    document = response.json()
    assert model.errors(document, "ReportDocument") == []
    assert document["compressionAlgorithm"] == "GZIP"
    raw = HTTP.get(document["url"]).content  # a pre-signed URL: no access token
    lines = gzip.decompress(raw).decode("utf-8").rstrip("\n").split("\n")
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in [lines[0], *lines[1:]]]


def _amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def test_settlement_reports_are_listed_validated_and_add_up(eu_api: Api, model: SwaggerModel) -> None:
    # when the seller looks for settlement reports
    response = eu_api.get(f"{PREFIX}/reports", {"reportTypes": SETTLEMENT, "pageSize": 100})
    body = response.json()
    assert model.errors(body, "GetReportsResponse") == []
    reports = body["reports"]
    assert {tuple(r["marketplaceIds"]) for r in reports} == {(DE,), (UK,)}
    assert all(r["processingStatus"] == "DONE" for r in reports)
    created = [r["createdTime"] for r in reports]
    assert created == sorted(created, reverse=True)

    # then each document has the documented columns and a total equal to the sum of its lines
    header = (VENDOR / "reports-documented-columns" / f"{SETTLEMENT}.header-only.tsv").read_text().strip().split("\t")
    for report in reports:
        assert model.errors(eu_api.get(f"{PREFIX}/reports/{report['reportId']}").json(), "Report") == []
        rows = _document(eu_api, report["reportDocumentId"], model)
        assert list(rows[0]) == header
        summary, lines = rows[1], rows[2:]
        assert lines
        assert summary["currency"] == ("EUR" if report["marketplaceIds"] == [DE] else "GBP")
        assert _amount(summary["total-amount"]) == sum(_amount(line["amount"]) for line in lines)
        if report["marketplaceIds"] == [DE]:
            assert "," in summary["total-amount"]  # local decimal comma in EU marketplaces
        assert {line["settlement-id"] for line in lines} == {summary["settlement-id"]}


def test_settlement_order_rows_equal_the_finances_transactions(eu_api: Api, model: SwaggerModel) -> None:
    """One ledger: the transactions listTransactions tags with a settlement's id are exactly its order and
    refund rows (a deferred one is tagged once released, in the settlement it is paid in); the settlement's
    account-level rows (fees, reimbursements, reserve) are in the report only."""
    for report in eu_api.get(f"{PREFIX}/reports", {"reportTypes": SETTLEMENT}).json()["reports"]:
        rows = _document(eu_api, report["reportDocumentId"], model)[1:]
        summary, lines = rows[0], rows[1:]
        transactions: list[dict[str, Any]] = []
        params: dict[str, str] = {
            "postedAfter": iso(START - timedelta(days=170)),
            "postedBefore": report["dataEndTime"],
        }
        params["marketplaceId"] = report["marketplaceIds"][0]
        while True:
            payload = eu_api.get("/finances/2024-06-19/transactions", params).json()["payload"]
            transactions.extend(payload["transactions"])
            if not payload.get("nextToken"):
                break
            params = {"nextToken": payload["nextToken"]}
        in_settlement = [
            t
            for t in transactions
            if {"relatedIdentifierName": "SETTLEMENT_ID", "relatedIdentifierValue": summary["settlement-id"]}
            in t["relatedIdentifiers"]
        ]
        order_rows = [line for line in lines if line["transaction-type"] in ("Order", "Refund")]
        assert in_settlement and order_rows
        total = sum(Decimal(str(t["totalAmount"]["currencyAmount"])) for t in in_settlement)
        assert total == sum(_amount(line["amount"]) for line in order_rows)
        assert {t["relatedIdentifiers"][0]["relatedIdentifierValue"] for t in in_settlement} == {
            line["order-id"] for line in order_rows
        }


def test_settlement_reports_cannot_be_requested(eu_api: Api) -> None:
    response = eu_api.post(f"{PREFIX}/reports", {"reportType": SETTLEMENT, "marketplaceIds": [UK]})
    assert response.status_code == 400
    assert "cannot be requested" in response.json()["errors"][0]["message"]


def test_a_requested_report_is_processed_over_time(
    eu_api: Api, clock: ManualClock, model: SwaggerModel, world: World
) -> None:
    # given a requested listings report
    created = eu_api.post(f"{PREFIX}/reports", {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [DE]})
    assert created.status_code == 202
    assert model.errors(created.json(), "CreateReportResponse") == []
    report_id = created.json()["reportId"]

    # then it goes through the queue
    statuses = []
    for _ in range(3):
        report = eu_api.get(f"{PREFIX}/reports/{report_id}").json()
        assert model.errors(report, "Report") == []
        statuses.append(report["processingStatus"])
        clock.advance(timedelta(seconds=8))
    assert statuses == ["IN_QUEUE", "IN_PROGRESS", "DONE"]

    # and its document lists the seller's German listings
    rows = _document(eu_api, report["reportDocumentId"], model)[1:]
    seller = next(s for s in world.sellers() if s.region == "EU")
    assert {row["seller-sku"] for row in rows} == {listing.sku for listing in seller.listings["DE"]}
    listed = eu_api.get(f"{PREFIX}/reports", {"reportTypes": "GET_MERCHANT_LISTINGS_ALL_DATA"}).json()["reports"]
    assert [r["reportId"] for r in listed] == [report_id]


def test_reports_page_with_a_top_level_next_token(eu_api: Api) -> None:
    first = eu_api.get(f"{PREFIX}/reports", {"reportTypes": SETTLEMENT, "pageSize": 1}).json()
    assert len(first["reports"]) == 1
    second = eu_api.get(f"{PREFIX}/reports", {"nextToken": first["nextToken"]}).json()
    assert second["reports"][0]["reportId"] != first["reports"][0]["reportId"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/reports/99999999999", {}),
        ("/documents/amzn1.spdoc.1.4.eu.unknown", {}),
    ],
)
def test_unknown_reports_are_404(eu_api: Api, path: str, params: dict[str, str]) -> None:
    response = eu_api.get(f"{PREFIX}{path}", params)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "NotFound"


def test_another_sellers_report_is_404(eu_api: Api, api: Api) -> None:
    report = eu_api.get(f"{PREFIX}/reports", {"reportTypes": SETTLEMENT}).json()["reports"][0]
    assert api.get(f"{PREFIX}/reports/{report['reportId']}").status_code == 404


def test_report_queries_are_validated(eu_api: Api) -> None:
    assert eu_api.get(f"{PREFIX}/reports").status_code == 400
    old = iso(START - timedelta(days=120))
    assert eu_api.get(f"{PREFIX}/reports", {"reportTypes": SETTLEMENT, "createdSince": old}).status_code == 400
    assert eu_api.get(f"{PREFIX}/reports", {"reportTypes": SETTLEMENT, "pageSize": 101}).status_code == 400
