"""`manage.py import_settlement --store STORE_ID FILE [--json]`: import a settlement V2 flat file (DESIGN.md).

The store id decides the tenant. The last line with --json is ImportResult.as_json(); a malformed file exits 1
naming the line and the column and writes nothing; an unknown store or an unreadable path exits 1 too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels.models import Store
from finance.settlements.files import settlement_file_import
from finance.settlements.services import SettlementImportError


class Command(BaseCommand):
    help = "Import an Amazon settlement V2 flat file (plain or gzip) into one store; idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", type=int, required=True, dest="store_id", help="The store's id")
        parser.add_argument("file", help="Path of the settlement V2 flat file")
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        with dangerously_unscoped():  # the store id names the tenant: look it up across tenants once
            store = Store.objects.select_related("tenant").filter(pk=options["store_id"]).first()
        if store is None:
            raise CommandError(f"No store with id {options['store_id']}.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        with tenant_scope(store.tenant), path.open("rb") as file:
            try:
                result = settlement_file_import(store=store, file=file, filename=path.name)
            except SettlementImportError as error:
                if options["json"]:
                    self.stdout.write(
                        json.dumps({"error": str(error), "line": error.line, "column": error.field_name or None})
                    )
                raise CommandError(str(error)) from None
            payload = result.as_json()
        if options["json"]:
            self.stdout.write(json.dumps(payload))
            return
        verb = "Imported" if payload["created"] else "Already imported"
        self.stdout.write(
            f"{verb} settlement {payload['settlement_id']} into store {payload['store_id']}: "
            f"{payload['lines']} lines, total {payload['total']} {payload['currency']}, "
            f"{'balanced' if payload['balanced'] else 'NOT balanced'}, "
            f"{payload['matched_orders']} orders matched, {len(payload['unmatched_orders'])} unknown to ACORN."
        )
        for category, amount in payload["categories"].items():
            self.stdout.write(f"  {category}: {amount}")
