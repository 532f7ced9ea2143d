"""Load EUR-based reference rates from the ECB's CSV (eurofxref.csv or eurofxref-hist.csv).

    manage.py load_exchange_rates FILE [--source ecb] [--json]

The file's first column is the date, the others one currency each ("N/A" or empty = no rate that day).
A malformed cell stops the load with its line and column, and nothing is written (one transaction).
Loading the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from acorn.fx.models import ExchangeRate
from acorn.money import validate_currency_code


def _parse(path: Path) -> list[tuple[str, date, Decimal]]:
    rows: list[tuple[str, date, Decimal]] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [cell.strip() for cell in next(reader, [])]
        if not header or header[0].lower() != "date":
            raise CommandError(f"{path}, line 1: the first column must be Date")
        currencies = [code for code in header[1:] if code]
        for code in currencies:
            try:
                validate_currency_code(code)
            except ValidationError:
                raise CommandError(f"{path}, line 1: {code!r} is not an ISO 4217 currency") from None
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            try:
                day = date.fromisoformat(row[0].strip())
            except ValueError:
                raise CommandError(f"{path}, line {number}, column Date: {row[0]!r} is not a date") from None
            for code, cell in zip(currencies, row[1:], strict=False):
                cell = cell.strip()
                if cell in ("", "N/A"):
                    continue
                try:
                    rate = Decimal(cell)
                except InvalidOperation:
                    raise CommandError(f"{path}, line {number}, column {code}: {cell!r} is not a rate") from None
                if rate <= 0:
                    raise CommandError(f"{path}, line {number}, column {code}: a rate must be positive")
                rows.append((code, day, rate))
    return rows


class Command(BaseCommand):
    help = "Load EUR-based exchange rates from an ECB reference-rate CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", default="ecb")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        rows = _parse(path)
        created = 0
        with transaction.atomic():
            for code, day, rate in rows:
                _, made = ExchangeRate.objects.update_or_create(
                    base="EUR", quote=code, rate_date=day, source=options["source"], defaults={"rate": rate}
                )
                created += int(made)
        result = {"rates": len(rows), "created": created, "source": options["source"]}
        self.stdout.write(json.dumps(result) if options["json"] else f"{len(rows)} rates read, {created} new.")
