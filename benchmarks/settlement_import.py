"""`manage.py bench settlement_import --json`: a settlement V2 flat file of `--scale` lines (default 1,000,000)
imported through ACORN's real file import, against a raw bulk load of the same rows, in the same run.

The file is generated on disk (never held in memory): one Amazon US settlement whose orders each carry the
rows real files show (Principal, Shipping, Tax, MarketplaceFacilitatorTax, Commission, FBA fee; one order in
ten with a promotion, one in twenty refunded with its commission returned and a refund commission), plus
account-level rows (advertising, storage, subscription, reserve) and one fee type no mapping knows, with a
header total equal to the sum of its rows. It is gzip-compressed as Amazon delivers large documents.

Service: `finance.settlements.files.settlement_file_import` on the gzip file: magic-byte detection, sha256,
decoding, the streaming parser (channels.adapters.amazon.reports.read_settlement_stream), marketplace check,
categorising, chunked writes, order linking, reconciliation — the whole import, one transaction.

Baseline: the same file read with the least work a load needs (gunzip, split on tabs; on SQLite also the
amount and posted time made Python values, which executemany needs) and written into the same table,
finance_settlementline, under a second settlement: PostgreSQL `COPY … FROM STDIN` (psycopg 3), or
`executemany` INSERT on SQLite, which has no COPY (the output says which). No categories beyond a constant,
no order linking, no reconciliation.

Both run inside a transaction that is rolled back once measured (commit excluded on both sides): the import
writes an audit event, and audit events are append-only, so the throwaway tenant could not be deleted
otherwise. `ratio` = service lines per second / baseline lines per second (target ≥ 0.2). Peak RSS is the
process's high-water mark (getrusage ru_maxrss) read before and after each phase (target ≤ 300 MB).
"""

from __future__ import annotations

import gzip
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from acorn.tenancy.scoping import tenant_scope
from benchmarks import Benchmark, BenchOptions
from benchmarks.support import (
    TableLoader,
    bench_tenant,
    bulk_method,
    dangerously_delete_bench_tenant,
    database_figures,
)
from channels.adapters.amazon.reports import SETTLEMENT_COLUMNS
from channels.models import Platform, Region, Store, StoreStatus
from finance.models import Category, CategorySource, Settlement, SettlementKind, SettlementLine, SettlementSource
from finance.settlements.files import settlement_file_import

SEED = 7
COLUMNS = [*SETTLEMENT_COLUMNS, "promotion-id"]
PERIOD_START = datetime(2026, 11, 1, tzinfo=UTC)
PERIOD_DAYS = 14
SETTLEMENT_ID = "90000000001"
BASELINE_ID = "90000000002"


class _Rollback(Exception):
    """Raised to undo a measured phase once its figures are taken."""


def _rss_mb() -> float:
    """The process's peak resident set size so far, in MB (Linux reports KB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


# --- the file --------------------------------------------------------------------------------------------


def _rows(count: int) -> Iterator[tuple[dict[str, str], Decimal]]:
    """`count` settlement rows (summary row excluded) and their amounts, in posted order."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible benchmark, not security
    made = 0
    order_number = 0
    while made < count:
        order_number += 1
        order_id = f"113-{order_number // 10_000_000:07d}-{order_number % 10_000_000:07d}"
        posted = PERIOD_START + timedelta(seconds=rng.randrange(PERIOD_DAYS * 86_400))
        when = posted.strftime("%Y-%m-%d %H:%M:%S UTC")
        sku = f"SKU-{rng.randrange(2_000):04d}"
        quantity = rng.randint(1, 3)
        price = Decimal(rng.randrange(999, 9_999)) / 100 * quantity
        tax = (price * Decimal("0.08")).quantize(Decimal("0.01"))
        fee = (price * Decimal("0.15")).quantize(Decimal("0.01"))
        parts = [
            ("Order", "ItemPrice", "Principal", price),
            ("Order", "ItemPrice", "Shipping", Decimal("4.99")),
            ("Order", "ItemPrice", "Tax", tax),
            ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", -tax),
            ("Order", "ItemFees", "Commission", -fee),
            ("Order", "ItemFees", "FBAPerUnitFulfillmentFee", Decimal("-3.86") * quantity),
        ]
        if order_number % 10 == 0:
            parts.append(("Order", "Promotion", "Principal", Decimal("-2.00")))
        if order_number % 20 == 0:
            parts += [
                ("Refund", "ItemPrice", "Principal", -price),
                ("Refund", "ItemFees", "Commission", fee),
                ("Refund", "ItemFees", "RefundCommission", -(fee / 5).quantize(Decimal("0.01"))),
            ]
        if order_number % 500 == 0:
            parts += [
                ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount", Decimal("-25.00")),
                ("other-transaction", "other-transaction", "Storage Fee", Decimal("-7.31")),
            ]
        if order_number % 100 == 0:
            parts.append(("other-transaction", "other-transaction", "Low Inventory Level Fee", Decimal("-0.44")))
        for transaction_type, amount_type, description, amount in parts:
            if made == count:
                return
            account_level = transaction_type in ("ServiceFee", "other-transaction")
            row = {
                "settlement-id": SETTLEMENT_ID,
                "transaction-type": transaction_type,
                "order-id": "" if account_level else order_id,
                "adjustment-id": f"amzn1:crow:{order_number}" if transaction_type == "Refund" else "",
                "shipment-id": "" if account_level else f"D{order_number:09d}",
                "marketplace-name": "" if account_level else "Amazon.com",
                "amount-type": amount_type,
                "amount-description": description,
                "amount": str(amount),
                "fulfillment-id": "" if account_level else "AFN",
                "posted-date": posted.strftime("%m/%d/%y"),
                "posted-date-time": when,
                "order-item-code": "" if account_level else f"{order_number:014d}",
                "sku": "" if account_level else sku,
                "quantity-purchased": str(quantity) if description == "Principal" and amount > 0 else "",
            }
            made += 1
            yield row, amount


def _write_file(path: Path, count: int) -> Decimal:
    """Write the gzip settlement file of `count` rows; the header's total is appended as the sum is known:
    the rows go to a first file, then the header, summary and rows are streamed into the gzip file."""
    body = path.with_suffix(".rows")
    total = Decimal(0)
    with body.open("w", encoding="utf-8", newline="") as rows_file:
        for row, amount in _rows(count):
            total += amount
            rows_file.write("\t".join(row.get(column, "") for column in COLUMNS) + "\r\n")
    end = PERIOD_START + timedelta(days=PERIOD_DAYS)
    summary = {
        "settlement-id": SETTLEMENT_ID,
        "settlement-start-date": PERIOD_START.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "settlement-end-date": end.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "deposit-date": (end + timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "total-amount": str(total),
        "currency": "USD",
    }
    with gzip.open(path, "wb", compresslevel=1) as out, body.open("rb") as rows_in:
        out.write(("\t".join(COLUMNS) + "\r\n").encode())
        out.write(("\t".join(summary.get(column, "") for column in COLUMNS) + "\r\n").encode())
        while block := rows_in.read(1 << 20):
            out.write(block)
    body.unlink()
    return total


# --- the two ways to load it ----------------------------------------------------------------------------


def _service(store: Store, path: Path) -> dict[str, Any]:
    begin = time.perf_counter()
    figures: dict[str, Any] = {}
    try:
        with transaction.atomic():
            with path.open("rb") as file:
                result = settlement_file_import(store=store, file=file, filename=path.name)
            seconds = time.perf_counter() - begin
            payload = result.as_json()
            figures = {
                "seconds": seconds,
                "lines": payload["lines"],
                "balanced": payload["balanced"],
                "categories": len(payload["categories"]),
                "unclassified_lines": result.settlement.unclassified_count,
                "orders": result.settlement.order_count,
            }
            raise _Rollback
    except _Rollback:
        pass
    return figures


def _posted(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)


def _baseline_rows(settlement: Settlement, path: Path) -> Iterator[dict[str, Any]]:
    """The file's rows as the table's columns. PostgreSQL takes the amount and the posted time as the file
    writes them (COPY parses "2026-11-03 14:22:05 UTC" itself); SQLite's executemany needs Python values."""
    positions = {name: index for index, name in enumerate(COLUMNS)}
    amount_at, posted_at, order_at = positions["amount"], positions["posted-date-time"], positions["order-id"]
    raw = connection.vendor == "postgresql"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
        for number, line in enumerate(text, start=1):
            if number <= 2:  # the header and the summary row
                continue
            cells = line.rstrip("\r\n").split("\t")
            yield {
                "tenant_id": settlement.tenant_id,
                "settlement_id": settlement.pk,
                "line_number": number,
                "transaction_type": cells[positions["transaction-type"]],
                "amount_type": cells[positions["amount-type"]],
                "amount_description": cells[positions["amount-description"]],
                "category": Category.UNCLASSIFIED,
                "category_source": CategorySource.DEFAULT,
                "amount": cells[amount_at] if raw else Decimal(cells[amount_at]),
                "posted_at": cells[posted_at] if raw else _posted(cells[posted_at]),
                "order_external_id": cells[order_at],
                "adjustment_id": cells[positions["adjustment-id"]],
                "shipment_id": cells[positions["shipment-id"]],
                "order_item_code": cells[positions["order-item-code"]],
                "sku": cells[positions["sku"]],
                "quantity": int(cells[positions["quantity-purchased"]] or 0) or None,
                "marketplace_name": cells[positions["marketplace-name"]],
                "fulfillment_id": cells[positions["fulfillment-id"]],
            }


def _baseline(store: Store, path: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    try:
        with transaction.atomic():
            settlement = Settlement.objects.create(
                tenant_id=store.tenant_id,
                store=store,
                kind=SettlementKind.AMAZON_SETTLEMENT,
                external_id=BASELINE_ID,
                source=SettlementSource.UPLOAD,
                currency="USD",
                period_start=PERIOD_START,
                period_end=PERIOD_START + timedelta(days=PERIOD_DAYS),
            )
            begin = time.perf_counter()
            written = TableLoader(SettlementLine, with_pk=False).insert(_baseline_rows(settlement, path))
            figures = {"seconds": time.perf_counter() - begin, "lines": written}
            raise _Rollback
    except _Rollback:
        pass
    return figures


def run(options: BenchOptions) -> dict[str, Any]:
    count = max(1, options.scale or BENCHMARK.default_scale)
    rss_start = _rss_mb()
    with tempfile.TemporaryDirectory(prefix="acorn-bench-settlement-") as folder:
        path = Path(folder) / "settlement.txt.gz"
        generated = time.perf_counter()
        total = _write_file(path, count)
        generated_seconds = time.perf_counter() - generated
        file_bytes = os.path.getsize(path)
        rss_after_file = _rss_mb()
        tenant = bench_tenant("settlement")
        try:
            with tenant_scope(tenant):
                store = Store.objects.create(
                    tenant=tenant,
                    platform=Platform.AMAZON,
                    name="Amazon NA (benchmark)",
                    region=Region.NA,
                    marketplaces=["US", "CA", "MX"],
                    seller_id="BENCHSETTLEMENT",
                    status=StoreStatus.DISABLED,  # no credentials; nothing syncs it
                )
                service = _service(store, path)
                rss_after_service = _rss_mb()
                baseline = _baseline(store, path)
        finally:
            dangerously_delete_bench_tenant(tenant)
    service_rate = count / max(service.get("seconds", 0), 1e-9)
    baseline_rate = count / max(baseline.get("seconds", 0), 1e-9)
    return {
        "benchmark": "settlement_import",
        **database_figures(),
        "scale": count,
        "file": f"Amazon US settlement V2 flat file, gzip (generated, seed {SEED})",
        "file_mb": round(file_bytes / 2**20, 1),
        "file_total": str(total),
        "generated_seconds": round(generated_seconds, 2),
        "service": {
            "path": "finance.settlements.files.settlement_file_import (one transaction, rolled back once measured)",
            **{key: round(value, 3) if isinstance(value, float) else value for key, value in service.items()},
            "lines_per_second": round(service_rate, 1),
        },
        "baseline": bulk_method(),
        "baseline_figures": {
            "path": f"{bulk_method()} into finance_settlementline (gunzip, split on tabs, rows as written)",
            **{key: round(value, 3) if isinstance(value, float) else value for key, value in baseline.items()},
            "lines_per_second": round(baseline_rate, 1),
        },
        "lines_per_second": round(service_rate, 1),
        "baseline_lines_per_second": round(baseline_rate, 1),
        "ratio": round(service_rate / baseline_rate, 4) if service and baseline else None,
        "ratio_of": "service lines per second / baseline lines per second",
        "ratio_target": 0.2,
        "peak_rss_mb": rss_after_service,
        "rss_mb_before_import": rss_after_file,
        "rss_mb_at_start": rss_start,
        "peak_rss_target_mb": 300,
        "peak_rss_note": "process high-water mark (getrusage ru_maxrss) after the import, before the baseline",
    }


BENCHMARK = Benchmark(
    name="settlement_import",
    summary="Settlement file lines per second through the real import vs a raw COPY of the same rows; peak RSS.",
    default_scale=1_000_000,
    run=run,
)
