"""The returns reports: requested, processed over world time, gzip documents with exactly the documented
columns and Amazon's date formats, rows equal to the world's returns; CANCELLED when there is no data."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta
from typing import Any

import pytest

from simulator import ManualClock, World
from tests.simulator.conftest import START
from tests.simulator.support import HTTP, VENDOR, Api, SwaggerModel, iso

PREFIX = "/reports/2021-06-30"
FBA = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
MFN = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
UK, DE = "A1F83G8C2ARO7P", "A1PA6795UKMFR9"


@pytest.fixture
def model() -> SwaggerModel:
    return SwaggerModel.load("reports_2021-06-30.json")


@pytest.fixture
def eu(api: Api, world: World) -> Api:
    seller = world.add_seller("EU", ["UK", "DE"], orders_per_day=30)
    return Api(api.sim, seller.refresh_token)


def _header(report_type: str) -> list[str]:
    return (
        (VENDOR / "reports-documented-columns" / f"{report_type}.header-only.tsv").read_text().strip("\n").split("\t")
    )


def _request(api: Api, clock: ManualClock, model: SwaggerModel, spec: dict[str, Any]) -> dict[str, Any]:
    created = api.post(f"{PREFIX}/reports", spec)
    assert created.status_code == 202, created.text
    assert model.errors(created.json(), "CreateReportResponse") == []
    report_id = created.json()["reportId"]
    statuses = []
    for _ in range(3):
        report = api.get(f"{PREFIX}/reports/{report_id}").json()
        assert model.errors(report, "Report") == []
        statuses.append(report["processingStatus"])
        clock.advance(timedelta(seconds=8))
    assert statuses[:2] == ["IN_QUEUE", "IN_PROGRESS"]
    return report


def _rows(api: Api, report: dict[str, Any], model: SwaggerModel) -> tuple[list[str], list[dict[str, str]]]:
    document = api.get(f"{PREFIX}/documents/{report['reportDocumentId']}").json()
    assert model.errors(document, "ReportDocument") == [] and document["compressionAlgorithm"] == "GZIP"
    text = gzip.decompress(HTTP.get(document["url"]).content).decode("utf-8")
    lines = text.rstrip("\n").split("\n")
    header = lines[0].split("\t")
    return header, [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def test_fba_customer_returns_report(eu: Api, world: World, clock: ManualClock, model: SwaggerModel) -> None:
    # given a report of the last 45 days of FBA returns in the UK
    start, end = START - timedelta(days=45), START - timedelta(days=1)
    spec = {"reportType": FBA, "marketplaceIds": [UK], "dataStartTime": iso(start), "dataEndTime": iso(end)}
    report = _request(eu, clock, model, spec)
    assert report["processingStatus"] == "DONE"
    assert (report["dataStartTime"], report["dataEndTime"]) == (iso(start), iso(end))

    # then the document has exactly the documented columns and one row per return processed in the window
    header, rows = _rows(eu, report, model)
    assert header == _header(FBA)
    seller_id = next(s for s in world.sellers() if s.region == "EU").selling_partner_id
    truth = [
        r
        for r in world.returns_for(seller_id, at=START)
        if r["fulfillment_channel"] == "AFN" and r["marketplace_id"] == UK and iso(start) <= r["received_at"] < iso(end)
    ]
    assert len(rows) == len(truth) > 5
    assert sorted((row["order-id"], row["license-plate-number"]) for row in rows) == sorted(
        (r["order_id"], r["license_plate_number"]) for r in truth
    )
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", row["return-date"])
        assert row["quantity"].isdigit() and row["fulfillment-center-id"] and row["detailed-disposition"]


def test_merchant_returns_report(eu: Api, world: World, clock: ManualClock, model: SwaggerModel) -> None:
    start, end = START - timedelta(days=59), START
    spec = {"reportType": MFN, "marketplaceIds": [UK, DE], "dataStartTime": iso(start), "dataEndTime": iso(end)}
    report = _request(eu, clock, model, spec)
    header, rows = _rows(eu, report, model)
    assert header == _header(MFN)
    seller_id = next(s for s in world.sellers() if s.region == "EU").selling_partner_id
    truth = {
        r["rma"]: r
        for r in world.returns_for(seller_id, at=START + timedelta(seconds=30))
        if r["fulfillment_channel"] == "MFN" and r["requested_at"] >= iso(start)
    }
    assert {row["Amazon RMA ID"] for row in rows} == set(truth) and len(rows) > 3
    for row in rows:
        record = truth[row["Amazon RMA ID"]]
        assert re.fullmatch(r"\d\d-[A-Z][a-z]{2}-\d{4}", row["Return request date"])
        assert re.fullmatch(r"\d\d-[A-Z][a-z]{2}-\d{4}", row["Order date"])
        assert row["Return Reason"].startswith("CR-") and row["Return Reason"] == record["reason"]
        assert row["Currency code"] in {"GBP", "EUR"} and row["Merchant SKU"] == record["sku"]
        assert row["Refunded Amount"] == (record["refunded_amount"] or "")
        assert row["Return request status"] == record["status"]
        assert row["Tracking ID"] == record["tracking_number"]


def test_a_window_without_returns_is_cancelled_or_done_empty(eu: Api, clock: ManualClock, model: SwaggerModel) -> None:
    # Amazon cancels a report that has no data
    quiet = {"reportType": FBA, "marketplaceIds": [DE], "dataStartTime": iso(START - timedelta(hours=2))}
    report = _request(eu, clock, model, quiet)
    assert report["processingStatus"] == "CANCELLED" and "reportDocumentId" not in report
    listed = eu.get(f"{PREFIX}/reports", {"reportTypes": FBA, "processingStatuses": "CANCELLED"}).json()["reports"]
    assert [r["reportId"] for r in listed] == [report["reportId"]]

    # a simulator set to answer DONE gives a document with the header only
    eu.sim.amazon.empty_report_status = "DONE"
    report = _request(eu, clock, model, {**quiet, "dataStartTime": iso(START - timedelta(hours=1))})
    assert report["processingStatus"] == "DONE"
    header, rows = _rows(eu, report, model)
    assert header == _header(FBA) and rows == []


def test_a_merchant_returns_report_covers_at_most_sixty_days(eu: Api) -> None:
    spec = {"reportType": MFN, "marketplaceIds": [UK], "dataStartTime": iso(START - timedelta(days=61))}
    response = eu.post(f"{PREFIX}/reports", spec)
    assert response.status_code == 400
    assert "60 days" in response.json()["errors"][0]["message"]


def test_later_reports_show_later_returns(eu: Api, world: World, clock: ManualClock, model: SwaggerModel) -> None:
    spec = {"reportType": FBA, "marketplaceIds": [UK], "dataStartTime": iso(START - timedelta(days=20))}
    first = _rows(eu, _request(eu, clock, model, spec), model)[1]
    world.advance(timedelta(days=12))
    second = _rows(eu, _request(eu, clock, model, {**spec, "dataEndTime": iso(world.now())}), model)[1]
    assert len(second) > len(first)
    assert {row["license-plate-number"] for row in first} <= {row["license-plate-number"] for row in second}
