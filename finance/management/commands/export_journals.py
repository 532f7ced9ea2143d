"""`manage.py export_journals --tenant SLUG --format qbo|iif|xero --out PATH [--settlement SETTLEMENT_ID]
[--month YYYY-MM] [--store STORE_ID] [--json]` (DESIGN.md): export journals through the same service as the console.

* --settlement is the statement's id as the channel gives it (the `settlement_id` that import_settlement prints);
  when two stores have a statement with that id, add --store.
* --out is a directory or a file path. A directory (one that exists, or a path ending in "/") receives the
  export's files under their own names. A file path receives the file; when Xero needs several files (300 lines
  each at most) they are named <stem>-1.csv, <stem>-2.csv … next to it.
* The last line with --json is `{"files": [paths], "journals", "lines", "balanced", "export_id"}`. An unknown
  tenant, store or settlement, an empty scope, or journals the format refuses exit 1 with a message and write
  nothing (the export is recorded only when its files were written).
* Extra options: --date-format mdy|dmy (default: the format's own), --no-tracking (no class / tracking columns).
"""

from __future__ import annotations

import json
import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from finance.exports.formats import JournalExportError
from finance.exports.models import DateFormat, ExportFormat, JournalExport
from finance.exports.services import JournalExportOptions, journals_export
from finance.settlements.models import Settlement

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: str) -> date:
    found = _MONTH.match(value.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise CommandError(f"--month {value!r} is not a month such as 2026-11.")
    return date(int(found.group(1)), int(found.group(2)), 1)


def output_paths(out: str, names: list[str]) -> list[Path]:
    """Where each file goes: into a directory under its own name, or at the file path (numbered when several)."""
    target = Path(out)
    if target.is_dir() or out.endswith((os.sep, "/")):
        return [target / name for name in names]
    if len(names) == 1:
        return [target]
    return [target.with_name(f"{target.stem}-{number}{target.suffix}") for number in range(1, len(names) + 1)]


class Command(BaseCommand):
    help = "Export a tenant's journals as a QuickBooks Online CSV, a QuickBooks Desktop IIF or Xero CSV file(s)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug")
        parser.add_argument("--format", required=True, choices=ExportFormat.values, dest="export_format")
        parser.add_argument("--out", required=True, help="A directory, or the path of the file to write")
        parser.add_argument("--settlement", default=None, help="The statement's id (as import_settlement prints it)")
        parser.add_argument("--month", default=None, help="YYYY-MM: the journals of that month")
        parser.add_argument("--store", type=int, default=None, help="The store's id: its journals only")
        parser.add_argument(
            "--date-format", default="", choices=[value for value in DateFormat.values if value], dest="date_format"
        )
        parser.add_argument("--no-tracking", action="store_true", help="Leave class / tracking columns empty")
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}.")
        month = parse_month(options["month"]) if options["month"] else None
        with tenant_scope(tenant):
            store = None
            if options["store"] is not None:
                store = Store.objects.filter(tenant=tenant, pk=options["store"]).first()
                if store is None:
                    raise CommandError(f"Tenant {tenant.slug} has no store with id {options['store']}.")
            settlement = self._settlement(tenant, options["settlement"], store)
            try:
                with transaction.atomic():
                    export = journals_export(
                        tenant=tenant,
                        format=options["export_format"],
                        settlement=settlement,
                        month=month,
                        store=store,
                        actor=None,
                        options=JournalExportOptions(
                            date_format=options["date_format"], tracking=not options["no_tracking"]
                        ),
                    )
                    paths = self._write(export, options["out"])
            except JournalExportError as error:
                raise CommandError(str(error)) from None
            except OSError as error:
                raise CommandError(f"Cannot write {options['out']}: {error}") from None
            journals = list(export.journals.all())
            balanced = all(sum((line.amount for line in entry.lines.all()), Decimal(0)) == 0 for entry in journals)
            files = [str(path) for path in paths]
            payload: dict[str, Any] = {
                "files": files,
                "journals": export.journal_count,
                "lines": export.line_count,
                "balanced": balanced,
                "export_id": export.pk,
            }
        if options["json"]:
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(
            f"Exported {payload['journals']} journals ({payload['lines']} lines, "
            f"{'balanced' if balanced else 'NOT balanced'}) to {', '.join(files)}"
        )

    def _settlement(self, tenant: Tenant, external_id: str | None, store: Store | None) -> Settlement | None:
        if external_id is None:
            return None
        found = Settlement.objects.filter(tenant=tenant, external_id=external_id.strip())
        if store is not None:
            found = found.filter(store=store)
        matches = list(found[:2])
        if not matches:
            raise CommandError(f"Tenant {tenant.slug} has no settlement {external_id!r}.")
        if len(matches) > 1:
            raise CommandError(f"Several stores have a settlement {external_id!r}: add --store.")
        return matches[0]

    def _write(self, export: JournalExport, out: str) -> list[Path]:
        files = list(export.files.order_by("position"))
        paths = output_paths(out, [file.name for file in files])
        for file, path in zip(files, paths, strict=True):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(bytes(file.content))
        return paths
