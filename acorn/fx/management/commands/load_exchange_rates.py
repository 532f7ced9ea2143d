"""Load EUR-based reference rates from an ECB file (eurofxref.csv / eurofxref-hist.csv, or their .zip).

    manage.py load_exchange_rates FILE [--source ecb] [--json]

The file's first column is the date, the others one currency each ("N/A" or empty = no rate that day); the
format and its parser are in acorn.fx.reference_file, shared with `fetch_exchange_rates`. A malformed cell stops
the load with its line and column, and nothing is written (one transaction). Loading the same file twice
changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from acorn.fx.reference_file import ReferenceFileError, reference_file_parse
from acorn.fx.services import reference_rates_upsert


class Command(BaseCommand):
    help = "Load EUR-based exchange rates from an ECB reference-rate file (CSV or the ECB's zip)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", default="ecb")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            rates = reference_file_parse(path.read_bytes(), name=str(path))
        except ReferenceFileError as error:
            raise CommandError(str(error)) from None
        result = reference_rates_upsert(rates=rates, source=options["source"])
        summary = {
            "rates": len(rates),
            "created": result.created,
            "updated": result.updated,
            "source": options["source"],
        }
        self.stdout.write(json.dumps(summary) if options["json"] else f"{len(rates)} rates read, {result.created} new.")
