"""`manage.py rotate_credentials [--dry-run] [--json] [--batch-size N]`: re-encrypt every encrypted field of
every model (store credentials, fulfilment targets' signing secrets, QuickBooks tokens, and any later one)
with the first FIELD_ENCRYPTION_KEYS key."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from acorn.crypto import encrypted_fields_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field (found from the model registry) with the first key of "
        "FIELD_ENCRYPTION_KEYS. Rotate by putting the new key first, keeping the old one after it, running this, "
        "then removing the old key. Safe to run again: values already under the first key are left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would be re-encrypted; write nothing.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        results = encrypted_fields_rotate(batch_size=options["batch_size"], dry_run=options["dry_run"])
        unreadable = sum(len(result.unreadable) for result in results)
        if options["json"]:
            summary = {
                "dry_run": options["dry_run"],
                "fields": {result.label: result.as_dict() for result in results},
                "rotated": sum(result.rotated for result in results),
                "unreadable": unreadable,
            }
            self.stdout.write(json.dumps(summary, sort_keys=True))
        else:
            verb = "would re-encrypt" if options["dry_run"] else "re-encrypted"
            for result in results:
                line = f"{result.label}: {verb} {result.rotated}, {result.current} already under the first key"
                if result.unreadable:
                    line += f", {len(result.unreadable)} unreadable (pk {', '.join(map(str, result.unreadable))})"
                self.stdout.write(line)
        if unreadable:
            raise CommandError(
                f"{unreadable} value(s) no FIELD_ENCRYPTION_KEYS key decrypts were left as they are. "
                "Keep the old key in FIELD_ENCRYPTION_KEYS until rotation is done."
            )
