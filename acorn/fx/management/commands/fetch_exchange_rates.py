"""Fetch the ECB's euro reference rates now, as the beat does daily.

    manage.py fetch_exchange_rates [--url U] [--history] [--json]

`--url` names the daily file (default ACORN_ECB_RATES_URL); the history file is read from the same folder
when stored rates have a gap, or always with `--history` (the last ACORN_FX_HISTORY_DAYS days). Exits 1 with
the reason (unreachable after retries, an HTTP error, the file's line and column) and writes nothing then.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from acorn.fx.fetch import RatesFetchError, exchange_rates_fetch
from acorn.fx.reference_file import ReferenceFileError


class Command(BaseCommand):
    help = "Fetch the ECB's euro reference rates (daily file; the history file when days are missing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default=None, help="The daily file's URL (default: ACORN_ECB_RATES_URL)")
        parser.add_argument(
            "--history", action="store_true", default=None, help="Also read the history file next to it"
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = exchange_rates_fetch(url=options["url"], history=options["history"])
        except (RatesFetchError, ReferenceFileError) as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
            return
        self.stdout.write(
            f"{result.latest_day or 'no day'}: {result.rates} rates read, {result.created} new, "
            f"{result.updated} corrected{' (history read)' if result.history_read else ''}."
        )
