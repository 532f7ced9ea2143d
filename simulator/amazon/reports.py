"""Reports API 2021-06-30: getReports, createReport, getReport, getReportDocument, and the documents.

Settlement reports (``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``) cannot be requested: Amazon writes
one per closed fortnightly settlement and marketplace, and they are found with getReports, which ignores
the marketplace filter for them (a seller sees every marketplace's settlements; tell them apart by the
report's marketplaceIds and the file's marketplace-name). Requested
reports (``GET_MERCHANT_LISTINGS_ALL_DATA``, and the returns reports ``GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA``
and ``GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE``, see `returns_reports`) go IN_QUEUE → IN_PROGRESS → DONE
over 15 seconds of world time. A returns report with no rows ends CANCELLED, as Amazon cancels reports that
have no data (set `AmazonContext.empty_report_status` to "DONE" for a document with only the header).
The returns reports cover ``dataStartTime`` to ``dataEndTime`` (default: the 30 days before the request;
at most 60 days for the merchant-fulfilled one). Documents are gzip-compressed tab-separated UTF-8 files
served by the simulator itself at the URL that getReportDocument returns (no access token needed there,
like a pre-signed S3 URL).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from simulator.amazon.common import (
    AmazonContext,
    BadRequest,
    Operation,
    api_operation,
    error_response,
    parse_datetime,
)
from simulator.amazon.order_shape import iso
from simulator.amazon.returns_reports import COLUMNS, MFN_MAX_DAYS, MFN_RETURNS, RETURNS_TYPES, rows_for
from simulator.catalogue import MARKETPLACES_BY_ID, format_amount
from simulator.http import Request, Response, Route
from simulator.ledger import Settlement, financial_events, settlements
from simulator.model import AMAZON, Seller

PREFIX = "/reports/2021-06-30"
DOCUMENT_PATH = "/simulator/report-documents/{documentId}"
SETTLEMENT_V2 = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
SETTLEMENT_TYPES = (SETTLEMENT_V2, "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE", "GET_V2_SETTLEMENT_REPORT_DATA_XML")
LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
REQUESTABLE_TYPES = (LISTINGS, *RETURNS_TYPES)
DEFAULT_RETURNS_WINDOW = timedelta(days=30)
PROCESSING_STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
QUEUE_SECONDS, PROCESSING_SECONDS = 5, 15
HISTORY = timedelta(days=90)

GET_REPORTS = Operation("getReports", rate=0.0222, burst=10, rate_header="0.0222")
CREATE_REPORT = Operation("createReport", rate=0.0167, burst=15, rate_header="0.0167")
GET_REPORT = Operation("getReport", rate=2.0, burst=15, rate_header="2.0")
GET_REPORT_DOCUMENT = Operation("getReportDocument", rate=0.0167, burst=15, rate_header="0.0167")

SETTLEMENT_COLUMNS = (
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
)
LISTING_COLUMNS = (
    "item-name",
    "listing-id",
    "seller-sku",
    "price",
    "quantity",
    "asin1",
    "fulfillment-channel",
    "status",
)
# Marketplaces whose flat files write amounts with a decimal comma ("95,00").
DECIMAL_COMMA = {"DE", "FR", "IT", "ES"}


def _digits(*parts: object, length: int = 11) -> str:
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return str(10 ** (length - 1) + int.from_bytes(digest[:8], "big") % (9 * 10 ** (length - 1)))


def _document_id(seller: Seller, report_id: str) -> str:
    digest = hashlib.sha256(f"{seller.selling_partner_id}/{report_id}".encode()).hexdigest()
    uuid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return f"amzn1.spdoc.1.4.{seller.region.lower()}.{uuid}.T{digest[32:45].upper()}.{int(digest[45:48], 16)}"


@dataclass(frozen=True)
class ReportRecord:
    report_id: str
    seller_id: str
    report_type: str
    marketplace_ids: tuple[str, ...]
    created: datetime
    data_start: datetime | None
    data_end: datetime | None
    document_id: str
    settlement: Settlement | None = None

    def status_at(self, moment: datetime) -> tuple[str, datetime | None, datetime | None]:
        """(processingStatus, processingStartTime, processingEndTime) at the moment."""
        if self.settlement is not None:
            return "DONE", self.created, self.created + timedelta(minutes=1)
        started = self.created + timedelta(seconds=QUEUE_SECONDS)
        finished = self.created + timedelta(seconds=PROCESSING_SECONDS)
        if moment < started:
            return "IN_QUEUE", None, None
        if moment < finished:
            return "IN_PROGRESS", started, None
        return "DONE", started, finished


class ReportStore:
    """Reports requested through createReport (settlement reports are derived, never stored)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requested: dict[str, ReportRecord] = {}
        self.empty: dict[str, bool] = {}  # returns reports: whether they had no rows when processed

    def add(self, record: ReportRecord) -> None:
        with self._lock:
            self.requested[record.report_id] = record

    def for_seller(self, seller_id: str) -> list[ReportRecord]:
        with self._lock:
            return [record for record in self.requested.values() if record.seller_id == seller_id]


def _store(context: AmazonContext) -> ReportStore:
    store = context.state.get("reports")
    if not isinstance(store, ReportStore):
        store = context.state["reports"] = ReportStore()
    return store


def _settlement_reports(context: AmazonContext, seller: Seller, now: datetime) -> list[ReportRecord]:
    events = financial_events(context.world.seller_orders(seller.selling_partner_id), now)
    records = []
    for settlement in settlements(seller.selling_partner_id, events, now):
        report_id = _digits("settlement-report", settlement.settlement_id)
        records.append(
            ReportRecord(
                report_id=report_id,
                seller_id=seller.selling_partner_id,
                report_type=SETTLEMENT_V2,
                marketplace_ids=(settlement.marketplace_id,),
                created=settlement.report_created,
                data_start=settlement.start,
                data_end=settlement.end,
                document_id=_document_id(seller, report_id),
                settlement=settlement,
            )
        )
    return records


def _all_reports(context: AmazonContext, seller: Seller, now: datetime) -> list[ReportRecord]:
    return [*_settlement_reports(context, seller, now), *_store(context).for_seller(seller.selling_partner_id)]


def _returns_rows(context: AmazonContext, record: ReportRecord) -> list[dict[str, str]]:
    """The rows of a returns report, as they were when it was processed."""
    moment = record.created + timedelta(seconds=PROCESSING_SECONDS)
    start = record.data_start or record.created - DEFAULT_RETURNS_WINDOW
    end = record.data_end or record.created
    return rows_for(record.report_type, context.world, record.seller_id, record.marketplace_ids, start, end, moment)


def report_status(
    context: AmazonContext, record: ReportRecord, now: datetime
) -> tuple[str, datetime | None, datetime | None]:
    """(processingStatus, processingStartTime, processingEndTime): a returns report without rows is
    CANCELLED once processed (unless the context says DONE)."""
    status, started, finished = record.status_at(now)
    if status == "DONE" and record.report_type in RETURNS_TYPES and context.empty_report_status == "CANCELLED":
        store = _store(context)
        if record.report_id not in store.empty:
            store.empty[record.report_id] = not _returns_rows(context, record)
        if store.empty[record.report_id]:
            return "CANCELLED", started, finished
    return status, started, finished


def render_report(record: ReportRecord, state: tuple[str, datetime | None, datetime | None]) -> dict[str, Any]:
    status, started, finished = state
    report: dict[str, Any] = {
        "marketplaceIds": list(record.marketplace_ids),
        "reportId": record.report_id,
        "reportType": record.report_type,
    }
    if record.data_start is not None:
        report["dataStartTime"] = iso(record.data_start)
    if record.data_end is not None:
        report["dataEndTime"] = iso(record.data_end)
    report["createdTime"] = iso(record.created)
    report["processingStatus"] = status
    if started is not None:
        report["processingStartTime"] = iso(started)
    if finished is not None:
        report["processingEndTime"] = iso(finished)
    if status == "DONE":
        report["reportDocumentId"] = record.document_id
    return report


def get_reports(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    now = context.world.now()
    token = request.first("nextToken")
    offset = 0
    if token:
        state = context.decode_token(token, "nextToken")
        if state.get("s") != seller.selling_partner_id or not isinstance(state.get("q"), dict):
            raise BadRequest("Invalid nextToken.", "nextToken")
        query, offset = state["q"], int(state["o"])
    else:
        query = _reports_query(request, now)
    size = query["n"]
    since, until = parse_datetime(query["since"], "createdSince"), parse_datetime(query["until"], "createdUntil")
    found = [
        record
        for record in _all_reports(context, seller, now)
        if record.report_type in query["types"]
        and since <= record.created <= until
        and (not query["statuses"] or report_status(context, record, now)[0] in query["statuses"])
        # Amazon ignores the marketplace filter for settlement reports: a seller gets every marketplace's.
        and (not query["mk"] or record.settlement is not None or set(record.marketplace_ids) & set(query["mk"]))
    ]
    found.sort(key=lambda record: (record.created, record.report_id), reverse=True)
    page = found[offset : offset + size]
    body: dict[str, Any] = {"reports": [render_report(record, report_status(context, record, now)) for record in page]}
    if offset + size < len(found):
        body["nextToken"] = context.encode_token(
            {"s": seller.selling_partner_id, "q": query, "o": offset + size, "i": now.timestamp()}
        )
    return Response.json_body(body)


def _reports_query(request: Request, now: datetime) -> dict[str, Any]:
    types = request.many("reportTypes")
    if not 1 <= len(types) <= 10:
        raise BadRequest("reportTypes must contain between 1 and 10 report types.", "reportTypes")
    statuses = [status.upper() for status in request.many("processingStatuses")]
    if any(status not in PROCESSING_STATUSES for status in statuses):
        raise BadRequest("Invalid processingStatuses.", "processingStatuses")
    raw_size = request.first("pageSize") or "10"
    if not raw_size.isdigit() or not 1 <= int(raw_size) <= 100:
        raise BadRequest("pageSize must be between 1 and 100.", "pageSize")
    raw_since, raw_until = request.first("createdSince"), request.first("createdUntil")
    since = parse_datetime(raw_since, "createdSince") if raw_since else now - HISTORY
    if since < now - HISTORY - timedelta(minutes=5):
        raise BadRequest("createdSince cannot be more than 90 days in the past.", "createdSince")
    until = parse_datetime(raw_until, "createdUntil") if raw_until else now
    return {
        "types": types,
        "statuses": statuses,
        "mk": request.many("marketplaceIds"),
        "n": int(raw_size),
        "since": iso(since),
        "until": iso(until),
    }


def create_report(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    try:
        spec = request.json()
    except ValueError:
        raise BadRequest("The request body is not valid JSON.", "body") from None
    if not isinstance(spec, dict):
        raise BadRequest("The request body must be a CreateReportSpecification object.", "body")
    report_type = spec.get("reportType")
    marketplace_ids = spec.get("marketplaceIds")
    if not isinstance(report_type, str) or not isinstance(marketplace_ids, list) or not marketplace_ids:
        raise BadRequest("reportType and marketplaceIds are required.", "body")
    if report_type in SETTLEMENT_TYPES:
        raise BadRequest(f"{report_type} cannot be requested; Amazon schedules settlement reports.", "reportType")
    if report_type not in REQUESTABLE_TYPES:
        raise BadRequest(f"The simulator cannot produce {report_type}.", "reportType")
    for marketplace_id in marketplace_ids:
        if marketplace_id not in seller.marketplace_ids:
            raise BadRequest(f"The seller is not registered in marketplace {marketplace_id}.", "marketplaceIds")
    now = context.world.now()
    raw_start, raw_end = spec.get("dataStartTime"), spec.get("dataEndTime")
    start = parse_datetime(raw_start, "dataStartTime") if isinstance(raw_start, str) else None
    end = parse_datetime(raw_end, "dataEndTime") if isinstance(raw_end, str) else None
    if report_type in RETURNS_TYPES:
        end = min(end or now, now)
        start = start or end - DEFAULT_RETURNS_WINDOW
        if start >= end:
            raise BadRequest("dataStartTime must be before dataEndTime.", "dataStartTime")
        if report_type == MFN_RETURNS and end - start > timedelta(days=MFN_MAX_DAYS):
            raise BadRequest(f"{MFN_RETURNS} covers at most {MFN_MAX_DAYS} days of data.", "dataStartTime")
    store = _store(context)
    report_id = _digits("requested-report", seller.selling_partner_id, len(store.requested), length=11)
    store.add(
        ReportRecord(
            report_id=report_id,
            seller_id=seller.selling_partner_id,
            report_type=report_type,
            marketplace_ids=tuple(marketplace_ids),
            created=now,
            data_start=start,
            data_end=end,
            document_id=_document_id(seller, report_id),
        )
    )
    return Response.json_body({"reportId": report_id}, status=202)


def _find(
    context: AmazonContext, seller: Seller, now: datetime, *, report_id: str = "", document_id: str = ""
) -> ReportRecord | None:

    def wanted(record: ReportRecord) -> bool:
        return bool(report_id and record.report_id == report_id) or bool(
            document_id and record.document_id == document_id
        )

    # Requested reports first: settlement reports take longer to derive.
    found = next((record for record in _store(context).for_seller(seller.selling_partner_id) if wanted(record)), None)
    if found is None:
        found = next((record for record in _settlement_reports(context, seller, now) if wanted(record)), None)
    return found


def get_report(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    now = context.world.now()
    record = _find(context, seller, now, report_id=params["reportId"])
    if record is None:
        return error_response(404, "NotFound", f"Report {params['reportId']} was not found.", "reportId")
    return Response.json_body(render_report(record, report_status(context, record, now)))


def get_report_document(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    now = context.world.now()
    record = _find(context, seller, now, document_id=params["reportDocumentId"])
    if record is None or report_status(context, record, now)[0] != "DONE":
        return error_response(404, "NotFound", "The report document was not found.", "reportDocumentId")
    url = context.base_url() + DOCUMENT_PATH.format(documentId=record.document_id)
    return Response.json_body({"reportDocumentId": record.document_id, "url": url, "compressionAlgorithm": "GZIP"})


def download_document(context: AmazonContext, request: Request, params: dict[str, str]) -> Response:
    """The document bytes (gzip), as the pre-signed URL would serve them."""
    now = context.world.now()
    for seller in context.world.sellers():
        record = _find(context, seller, now, document_id=params["documentId"])
        if record is not None and report_status(context, record, now)[0] == "DONE":
            text = document_text(context, seller, record)
            return Response(
                200, gzip.compress(text.encode("utf-8"), mtime=0), {"Content-Type": "text/plain;charset=UTF-8"}
            )
    return Response(404, b"<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "application/xml"})


def _rows(header: Iterable[str], rows: Iterable[dict[str, str]]) -> str:
    columns = list(header)
    lines = ["\t".join(columns)]
    lines.extend("\t".join(row.get(column, "") for column in columns) for row in rows)
    return "\n".join(lines) + "\n"


def _local_amount(amount: Decimal, currency: str, comma: bool) -> str:
    text = format_amount(amount, currency)
    return text.replace(".", ",") if comma else text


def settlement_text(settlement: Settlement) -> str:
    """The V2 flat file: a summary row, then one row per amount of each shipped item."""
    marketplace = MARKETPLACES_BY_ID[settlement.marketplace_id]
    comma = marketplace.code in DECIMAL_COMMA
    stamp = "%d.%m.%Y %H:%M:%S UTC" if comma else "%Y-%m-%d %H:%M:%S UTC"
    currency = settlement.currency
    rows = [
        {
            "settlement-id": settlement.settlement_id,
            "settlement-start-date": settlement.start.strftime(stamp),
            "settlement-end-date": settlement.end.strftime(stamp),
            "deposit-date": settlement.deposit_date.strftime(stamp),
            "total-amount": _local_amount(settlement.total, currency, comma),
            "currency": currency,
        }
    ]
    for event in settlement.events:
        order = event.order
        for item in event.items:
            for charge in item.charges:
                principal = (charge.group, charge.kind) == ("ItemPrice", "Principal")
                rows.append(
                    {
                        "settlement-id": settlement.settlement_id,
                        "transaction-type": "Refund" if event.refund is not None else "Order",
                        "order-id": order.order_id,
                        "merchant-order-id": order.seller_order_id if order.seller_order_id != order.order_id else "",
                        "adjustment-id": event.refund.refund_id if event.refund is not None else "",
                        "shipment-id": event.shipment.reference if event.shipment is not None else "",
                        "marketplace-name": marketplace.name,
                        "amount-type": charge.group,
                        "amount-description": charge.kind,
                        "amount": _local_amount(charge.amount, currency, comma),
                        "fulfillment-id": "AFN" if order.fulfilled_by == AMAZON else "MFN",
                        "posted-date": event.posted.strftime("%m/%d/%y"),
                        "posted-date-time": event.posted.strftime("%Y-%m-%d %H:%M:%S UTC"),
                        "order-item-code": item.line.order_item_id,
                        "merchant-adjustment-item-id": item.merchant_adjustment_item_id,
                        "sku": item.line.listing.sku,
                        # Refund rows leave the quantity empty, as Amazon's do.
                        "quantity-purchased": str(item.quantity) if principal and event.refund is None else "",
                    }
                )
    for row in settlement.account_rows:  # account-level money: no order, no shipment
        rows.append(
            {
                "settlement-id": settlement.settlement_id,
                "transaction-type": row.transaction_type,
                "marketplace-name": marketplace.name,
                "amount-type": row.amount_type,
                "amount-description": row.description,
                "amount": _local_amount(row.amount, currency, comma),
                "posted-date": row.posted.strftime("%m/%d/%y"),
                "posted-date-time": row.posted.strftime("%Y-%m-%d %H:%M:%S UTC"),
                "sku": row.sku,
                "quantity-purchased": str(row.quantity) if row.quantity is not None else "",
            }
        )
    return _rows(SETTLEMENT_COLUMNS, rows)


def document_text(context: AmazonContext, seller: Seller, record: ReportRecord) -> str:
    if record.settlement is not None:
        return settlement_text(record.settlement)
    if record.report_type in RETURNS_TYPES:
        return _rows(COLUMNS[record.report_type], _returns_rows(context, record))
    rows = []
    for marketplace in seller.marketplaces:
        if marketplace.marketplace_id not in record.marketplace_ids:
            continue
        for listing in seller.listings[marketplace.code]:
            rows.append(
                {
                    "item-name": listing.title,
                    "listing-id": _digits("listing", listing.sku, marketplace.code, length=10),
                    "seller-sku": listing.sku,
                    "price": format_amount(listing.price, marketplace.currency),
                    "quantity": "",
                    "asin1": listing.asin,
                    "fulfillment-channel": "AMAZON_" + marketplace.region,
                    "status": "Active",
                }
            )
    return _rows(LISTING_COLUMNS, rows)


def routes(context: AmazonContext) -> list[Route]:
    return [
        Route("GET", f"{PREFIX}/reports", api_operation(context, GET_REPORTS, get_reports), "getReports"),
        Route("POST", f"{PREFIX}/reports", api_operation(context, CREATE_REPORT, create_report), "createReport"),
        Route("GET", f"{PREFIX}/reports/{{reportId}}", api_operation(context, GET_REPORT, get_report), "getReport"),
        Route(
            "GET",
            f"{PREFIX}/documents/{{reportDocumentId}}",
            api_operation(context, GET_REPORT_DOCUMENT, get_report_document),
            "getReportDocument",
        ),
        Route("GET", DOCUMENT_PATH, lambda request, params: download_document(context, request, params), "document"),
    ]
