"""Amazon Reports API 2021-06-30 and its tab-separated documents → DTOs: settlement V2, FBA customer
returns, MFN returns.

Flat files are written for people, so their values vary by marketplace: EU settlements use decimal commas
(``-12,34``) and day-first dates (``01.11.2026 00:00:00 UTC``), US ones ``2026-11-01 00:00:00 UTC``; the
returns reports use ISO 8601 with an offset. A row that cannot be read becomes a BadRecord naming its line
and column; the other rows go on. A document that lacks a documented column is refused as a whole.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, TypeVar

from sp_api.api import Reports

from acorn.money import validate_currency_code
from channels.adapters.amazon.client import AmazonClient, iso_time, listed
from channels.adapters.amazon.parse import RecordError, parse_each, parse_report
from channels.adapters.base import (
    BadRecord,
    ChannelError,
    ChannelRetryableError,
    ExternalReturn,
    FulfillmentChannel,
    Page,
    ReportInfo,
    SettlementDocument,
    SettlementHeader,
    SettlementLine,
)

T = TypeVar("T")

SETTLEMENT_REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
FBA_RETURNS_REPORT_TYPE = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
MFN_RETURNS_REPORT_TYPE = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
LISTINGS_REPORT_TYPE = "GET_MERCHANT_LISTINGS_ALL_DATA"

SETTLEMENT_COLUMNS = [
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount", "currency",
    "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id", "marketplace-name",
    "amount-type", "amount-description", "amount", "fulfillment-id", "posted-date", "posted-date-time",
    "order-item-code", "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
]  # fmt: skip
FBA_RETURNS_COLUMNS = [
    "return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity", "fulfillment-center-id",
    "detailed-disposition", "reason", "status", "license-plate-number", "customer-comments",
]  # fmt: skip
MFN_RETURNS_REQUIRED = (
    "Order ID",
    "Return request date",
    "Return request status",
    "Amazon RMA ID",
    "Merchant SKU",
    "Return quantity",
    "Return Reason",
)


class ReportRowError(ValueError):
    """One cell that cannot be read; the message names the column (also in `column`)."""

    def __init__(self, message: str, *, column: str = "") -> None:
        super().__init__(message)
        self.column = column or message.split(":", 1)[0]


class ReportFormatError(ChannelError):
    """A document that cannot be read as a whole: names the line and, where it is one cell, the column
    (by name and 1-based position)."""

    code = "malformed_document"

    def __init__(self, message: str, *, line: int | None = None, column: str = "", position: int | None = None):
        super().__init__(message)
        self.line, self.column, self.position = line, column, position


def _rows(
    lines: str | Iterable[str], required: Sequence[str], report: str
) -> Iterator[tuple[int, dict[str, str], dict[str, int]]]:
    """(line number, row by column name, column name → 1-based position) for every non-empty data row, read
    lazily; refuses a document missing a documented column."""
    if isinstance(lines, str):
        lines = lines.lstrip("\ufeff").splitlines()
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if header is None:
        raise ReportFormatError(f"{report}: the document is empty (no header row)", line=1)
    header = [name.strip().lstrip("\ufeff") for name in header]
    missing = [name for name in required if name not in header]
    if missing:
        raise ReportFormatError(f"{report} line 1: the header lacks the column(s) {', '.join(missing)}", line=1)
    positions = {name: index + 1 for index, name in enumerate(header)}
    width = len(header)
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        yield number, {name: cells[index].strip() for index, name in enumerate(header)}, positions


def _each(
    rows: Iterator[tuple[int, dict[str, str], dict[str, int]]],
    parse: Callable[[int, dict[str, str]], T],
    id_column: str,
) -> tuple[list[T], list[BadRecord]]:
    items: list[T] = []
    bad: list[BadRecord] = []
    for number, row, _ in rows:
        try:
            items.append(parse(number, row))
        except ReportRowError as error:
            reason = f"line {number}: {error}"
            bad.append(BadRecord(reason=reason, raw={"line": number, **row}, external_id=row.get(id_column, "")))
    return items, bad


_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S %Z",
    "%d.%m.%Y %H:%M:%S %Z",
    "%Y-%m-%d %H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%m/%d/%y",
    "%d-%b-%Y %H:%M:%S",  # the MFN returns report: 10-Jul-2025
    "%d-%b-%Y",
    "%d.%m.%Y",
    "%Y-%m-%d",
)


@lru_cache(maxsize=4096)  # a settlement repeats each posted time on every row of an order
def parse_report_time(value: str, column: str) -> datetime:
    """Any time format Amazon's flat files use → aware UTC (a date without a zone is taken as UTC)."""
    text = value.strip()
    if not text:
        raise ReportRowError(f"{column}: empty")
    if text.endswith(" UTC"):  # settlement V2: "2026-11-03 14:22:05 UTC", read without strptime's cost
        text = text[:-4]
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)  # noqa: DTZ007 - made aware (UTC) below
                break
            except ValueError:
                continue
        else:
            raise ReportRowError(f"{column}: {value!r} is not a date Amazon uses") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_AMOUNT = re.compile(r"^[+-]?[\d.,\s']*\d$")


def parse_report_amount(value: str, column: str, *, decimal_comma: bool) -> Decimal:
    """``1.234,56`` / ``-12,34`` (decimal comma) or ``1,234.56`` / ``-12.34`` → Decimal, exactly."""
    text = value.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    if not text or not _AMOUNT.match(text):
        raise ReportRowError(f"{column}: {value!r} is not an amount")
    if "," in text and "." in text:  # the right-most separator is the decimal one
        decimal_comma = text.rfind(",") > text.rfind(".")
    text = text.replace(".", "").replace(",", ".") if decimal_comma else text.replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ReportRowError(f"{column}: {value!r} is not an amount") from None


def _uses_decimal_comma(rows: Sequence[tuple[int, dict[str, str], dict[str, int]]], columns: Sequence[str]) -> bool:
    """Whether the document writes decimals with a comma: a value ending in ``,d`` / ``,dd``, or day-first dates."""
    for _, row, _ in rows:
        for column in columns:
            value = row.get(column, "")
            if re.search(r",\d{1,2}$", value):
                return True
            if re.match(r"^\d{2}\.\d{2}\.\d{4}", value):
                return True
    return False


def _int(value: str, column: str, *, required: bool = True) -> int | None:
    text = value.strip()
    if not text:
        if required:
            raise ReportRowError(f"{column}: empty")
        return None
    try:
        number = int(text)
    except ValueError:
        raise ReportRowError(f"{column}: {value!r} is not a whole number") from None
    if number < 0:
        raise ReportRowError(f"{column}: {value!r} is negative")
    return number


@dataclass(frozen=True)
class SettlementStream:
    """A settlement document being read: the header (from the summary row) and its lines, read on demand.

    `lines` is a generator over the rest of the document; read it once. `decimal_comma` says how the document
    writes amounts (EU files: ``1.017,50``), decided from the summary row.
    """

    header: SettlementHeader
    lines: Iterator[SettlementLine]
    decimal_comma: bool
    summary_line: int


def _summary_uses_decimal_comma(summary: Mapping[str, str]) -> bool:
    """EU files write ``-12,34`` and ``01.11.2026``: decided from the summary row's total and dates."""
    if re.search(r",\d{1,2}$", summary.get("total-amount", "").strip()):
        return True
    return any(
        re.match(r"^\d{2}\.\d{2}\.\d{4}", summary.get(column, "").strip())
        for column in ("settlement-start-date", "settlement-end-date", "deposit-date")
    )


def read_settlement_stream(
    lines: Iterable[str], *, on_bad_row: Callable[[BadRecord], None] | None = None
) -> SettlementStream:
    """Read a GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2 document from an iterable of text lines, in constant memory.

    The header comes from the first data row (the summary row). The lines are parsed as the caller iterates.
    A row that cannot be read is handed to `on_bad_row` as a BadRecord naming its line and column and the
    others go on; without `on_bad_row` it raises ReportFormatError (a file import is all or nothing).
    A row whose settlement-id differs from the summary's is such a bad row.
    """
    rows = _rows(lines, SETTLEMENT_COLUMNS, "Settlement report")
    first = next(rows, None)
    if first is None:
        raise ReportFormatError("Settlement report: no summary row", line=2)
    summary_line, summary, positions = first
    comma = _summary_uses_decimal_comma(summary)

    def refuse(error: ReportRowError, number: int) -> ReportFormatError:
        position = positions.get(error.column)
        where = f"line {number}" + (f", column {position} ({error.column})" if position else "")
        return ReportFormatError(
            f"Settlement report {where}: {error}", line=number, column=error.column, position=position
        )

    currency = summary["currency"].strip().upper()
    try:
        validate_currency_code(currency)
    except Exception:
        raise refuse(
            ReportRowError(f"currency: {summary['currency']!r} is not ISO 4217", column="currency"), summary_line
        ) from None
    try:
        start = parse_report_time(summary["settlement-start-date"], "settlement-start-date")
        end = parse_report_time(summary["settlement-end-date"], "settlement-end-date")
        deposit = summary["deposit-date"]
        deposit_date = parse_report_time(deposit, "deposit-date") if deposit else None
        total = parse_report_amount(summary["total-amount"], "total-amount", decimal_comma=comma)
    except ReportRowError as error:
        raise refuse(error, summary_line) from None
    settlement_id = summary["settlement-id"]
    if not settlement_id:
        raise refuse(ReportRowError("settlement-id: empty", column="settlement-id"), summary_line)
    header = SettlementHeader(
        settlement_id=settlement_id,
        start=start,
        end=end,
        deposit_date=deposit_date,
        currency=currency,
        total_amount=total,
    )

    def line(number: int, row: dict[str, str]) -> SettlementLine:
        if row["settlement-id"] != settlement_id:
            raise ReportRowError(
                f"settlement-id: {row['settlement-id']!r} differs from {settlement_id}", column="settlement-id"
            )
        posted_column = "posted-date-time" if row.get("posted-date-time") else "posted-date"
        posted_text = row.get(posted_column, "")
        return SettlementLine(
            line_number=number,
            transaction_type=row["transaction-type"][:60],
            amount_type=row["amount-type"][:60],
            amount_description=row["amount-description"][:100],
            amount=parse_report_amount(row["amount"], "amount", decimal_comma=comma),
            order_id=row["order-id"][:100],
            merchant_order_id=row["merchant-order-id"][:100],
            adjustment_id=row["adjustment-id"][:100],
            shipment_id=row["shipment-id"][:100],
            marketplace_name=row["marketplace-name"][:60],
            fulfillment_id=row["fulfillment-id"][:10],
            posted_at=parse_report_time(posted_text, posted_column) if posted_text else None,
            order_item_code=row["order-item-code"][:100],
            merchant_order_item_id=row["merchant-order-item-id"][:100],
            merchant_adjustment_item_id=row["merchant-adjustment-item-id"][:100],
            sku=row["sku"][:200],
            quantity=_int(row["quantity-purchased"], "quantity-purchased", required=False),
        )

    def parsed() -> Iterator[SettlementLine]:
        for number, row, _ in rows:
            try:
                yield line(number, row)
            except ReportRowError as error:
                if on_bad_row is None:
                    raise refuse(error, number) from None
                raw = {"line": number, **row}
                on_bad_row(BadRecord(reason=f"line {number}: {error}", raw=raw, external_id=row.get("order-id", "")))

    return SettlementStream(header=header, lines=parsed(), decimal_comma=comma, summary_line=summary_line)


def parse_settlement(text: str) -> SettlementDocument:
    """A GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2 document: the summary row, then one row per amount.

    Rows that cannot be read are kept in `bad_records` (the API sync quarantines them); the same reader as
    a file import (`read_settlement_stream`), over the whole text.
    """
    bad: list[BadRecord] = []
    stream = read_settlement_stream(text.lstrip("\ufeff").splitlines(), on_bad_row=bad.append)
    lines = tuple(stream.lines)
    header = stream.header
    return SettlementDocument(
        settlement_id=header.settlement_id,
        start=header.start,
        end=header.end,
        deposit_date=header.deposit_date,
        currency=header.currency,
        total_amount=header.total_amount,
        lines=lines,
        bad_records=tuple(bad),
    )


def _return_id(*parts: str) -> str:
    """A stable id for a return row that has none of its own (same row → same id, on every download)."""
    return "R-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def parse_fba_returns(text: str, *, marketplace: str = "") -> tuple[list[ExternalReturn], list[BadRecord]]:
    """A GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA document → one ExternalReturn per row.

    The report has no carrier tracking column: FBA returns arrive with an empty `tracking_number`.
    """

    def parse(number: int, row: dict[str, str]) -> ExternalReturn:
        order_id, sku = row["order-id"], row["sku"]
        if not order_id:
            raise ReportRowError("order-id: empty")
        if not sku:
            raise ReportRowError("sku: empty")
        returned_at = parse_report_time(row["return-date"], "return-date")
        quantity = _int(row["quantity"], "quantity") or 0
        lpn = row["license-plate-number"]
        return ExternalReturn(
            external_id=_return_id("fba", order_id, sku, lpn, row["return-date"], row["fulfillment-center-id"]),
            order_id=order_id[:100],
            sku=sku[:200],
            quantity=quantity,
            returned_at=returned_at,
            fulfillment_channel=FulfillmentChannel.FBA,
            reason_code=row["reason"][:60],
            customer_comment=row["customer-comments"][:2000],
            status=row["status"][:60],
            disposition=row["detailed-disposition"][:60],
            marketplace=marketplace,
            asin=row["asin"][:20],
            fnsku=row["fnsku"][:20],
            title=row["product-name"][:500],
            fulfillment_center=row["fulfillment-center-id"][:20],
            license_plate_number=lpn[:40],
        )

    items, bad = _each(_rows(text, FBA_RETURNS_COLUMNS, "FBA customer returns report"), parse, "order-id")
    return items, bad


def parse_mfn_returns(text: str, *, marketplace: str = "") -> tuple[list[ExternalReturn], list[BadRecord]]:
    """A GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE document (merchant-fulfilled return requests)."""
    rows = list(_rows(text, MFN_RETURNS_REQUIRED, "MFN returns report"))
    comma = _uses_decimal_comma(rows, ("Order Amount", "Refunded Amount", "Label cost"))

    def money(row: Mapping[str, str], column: str) -> Decimal | None:
        value = row.get(column, "")
        return parse_report_amount(value, column, decimal_comma=comma) if value.strip() else None

    def parse(number: int, row: dict[str, str]) -> ExternalReturn:
        order_id, sku = row["Order ID"], row["Merchant SKU"]
        if not order_id:
            raise ReportRowError("Order ID: empty")
        if not sku:
            raise ReportRowError("Merchant SKU: empty")
        currency = row.get("Currency code", "").upper()
        if currency:
            try:
                validate_currency_code(currency)
            except Exception:
                raise ReportRowError(f"Currency code: {currency!r} is not ISO 4217") from None
        rma = row["Amazon RMA ID"]
        delivered = row.get("Return delivery date", "")
        requested = row["Return request date"]
        return ExternalReturn(
            external_id=rma[:100] or _return_id("mfn", order_id, sku, requested),
            order_id=order_id[:100],
            sku=sku[:200],
            quantity=_int(row["Return quantity"], "Return quantity") or 0,
            returned_at=parse_report_time(requested, "Return request date"),
            fulfillment_channel=FulfillmentChannel.MERCHANT,
            reason_code=row["Return Reason"][:60],
            status=row["Return request status"][:60],
            marketplace=marketplace,
            asin=row.get("ASIN", "")[:20],
            title=row.get("Item Name", "")[:500],
            rma=rma[:100],
            carrier=row.get("Return carrier", "")[:60],
            tracking_number=row.get("Tracking ID", "")[:100],
            return_type=row.get("Return type", "")[:60],
            resolution=row.get("Resolution", "")[:60],
            currency=currency,
            order_amount=money(row, "Order Amount"),
            refunded_amount=money(row, "Refunded Amount"),
            delivered_at=parse_report_time(delivered, "Return delivery date") if delivered else None,
        )

    items, bad = _each(iter(rows), parse, "Order ID")
    return items, bad


GZIP_MAGIC = b"\x1f\x8b"


def decode_report_document(content: bytes, *, declared_charset: str = "", name: str = "") -> str:
    """A report document's bytes → text. Compressed or not is decided by the gzip magic bytes (1f 8b), never
    by a header; the text is UTF-8 (a byte-order mark dropped) when it is valid UTF-8, else in the charset
    the download declared, else Windows-1252 (what Amazon's flat files in Latin scripts use)."""
    if content[:2] == GZIP_MAGIC:
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError, zlib.error) as error:
            raise ChannelError(f"Report document {name}: the gzip data is corrupt ({error})") from None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for encoding in (declared_charset, "cp1252"):
        if not encoding or encoding.lower().replace("-", "") == "utf8":
            continue
        try:
            return content.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise ChannelError(f"Report document {name}: the text is neither UTF-8 nor {declared_charset or 'Windows-1252'}")


class ReportsApi(AmazonClient):
    """Reports API 2021-06-30."""

    def list_reports(
        self, *, report_type: str, created_since: datetime | None = None, page_token: str | None = None
    ) -> Page[ReportInfo]:
        """Reports of one type, newest first (settlement V2 reports can only be listed, never requested)."""
        params: dict[str, Any] = (
            {"nextToken": page_token}
            if page_token  # Amazon wants the token alone on later pages
            else {"reportTypes": [report_type], "marketplaceIds": self.store.marketplace_ids(), "pageSize": 100}
        )
        if created_since is not None and not page_token:
            params["createdSince"] = iso_time(created_since)
        response = self._call(Reports, "get_reports", **params)
        payload = response.payload
        items, bad = parse_each(listed(payload, "reports"), parse_report, id_key="reportId")
        return Page(
            items=tuple(items),
            bad_records=tuple(bad),
            next_token=response.next_token or payload.get("nextToken") or None,
        )

    def request_report(self, *, report_type: str, data_start: datetime, data_end: datetime | None = None) -> str:
        """Ask Amazon to prepare a report; returns its id (poll with get_report)."""
        body: dict[str, Any] = {
            "reportType": report_type,
            "marketplaceIds": self.store.marketplace_ids(),
            "dataStartTime": iso_time(data_start),
        }
        if data_end is not None:
            body["dataEndTime"] = iso_time(data_end)
        payload = self._call(Reports, "create_report", **body).payload
        report_id = payload.get("reportId") if isinstance(payload, Mapping) else None
        if not report_id:
            raise ChannelRetryableError("Amazon did not return a report id", code="empty_response")
        return str(report_id)

    def get_report(self, *, report_id: str) -> ReportInfo:
        payload = self._call(Reports, "get_report", report_id).payload
        try:
            return parse_report(payload if isinstance(payload, Mapping) else {})
        except RecordError as error:
            raise ChannelError(f"Amazon's report {report_id} is unreadable: {error}") from None

    def download_report_document(self, *, document_id: str) -> str:
        """The report's text: the document's pre-signed URL from getReportDocument, its bytes fetched and
        decoded here (`decode_report_document`), not by the client library, which un-gzips by the
        metadata's compressionAlgorithm and decodes by the Content-Type header, defaulting to Latin-1."""
        payload = self._call(Reports, "get_report_document", document_id).payload
        url = payload.get("url") if isinstance(payload, Mapping) else None
        if not isinstance(url, str) or not url:
            raise ChannelRetryableError("Amazon's report document has no URL", code="empty_response")
        content, charset = self._download(url)
        return decode_report_document(content, declared_charset=charset, name=document_id)

    def read_settlement(self, *, document_id: str) -> SettlementDocument:
        """A settlement V2 report's document, parsed (rows that cannot be read are in `bad_records`)."""
        return parse_settlement(self.download_report_document(document_id=document_id))

    def read_returns(
        self, *, report_type: str, document_id: str, marketplace: str = ""
    ) -> tuple[list[ExternalReturn], list[BadRecord]]:
        """An FBA customer returns or MFN returns report's document, parsed into returns and bad rows."""
        text = self.download_report_document(document_id=document_id)
        if report_type == FBA_RETURNS_REPORT_TYPE:
            return parse_fba_returns(text, marketplace=marketplace)
        if report_type == MFN_RETURNS_REPORT_TYPE:
            return parse_mfn_returns(text, marketplace=marketplace)
        raise ChannelError(f"{report_type} is not a returns report")
