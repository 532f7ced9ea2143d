"""`manage.py post_journals --tenant SLUG [--month YYYY-MM] [--json]` (DESIGN.md's contract).

Posts the tenant's due journals (all months, or one) to its connected QuickBooks Online company, each exactly
once (finance.quickbooks.services.journals_post), and prints `{"posted", "already_posted", "failed"}` (with
--json as one JSON object). Exits 1 when QuickBooks is not connected or refuses the authorisation.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from finance.quickbooks.client import QuickBooksError
from finance.quickbooks.services import journals_post


def _month(text: str) -> date:
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise CommandError(f"--month must be YYYY-MM, not {text!r}.") from None


class Command(BaseCommand):
    help = "Post the tenant's due journals to QuickBooks Online exactly once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--month", default="", help="Only journals of this month (YYYY-MM)")
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        month = _month(options["month"]) if options["month"] else None
        with tenant_scope(tenant):
            try:
                counts = journals_post(tenant=tenant, month=month)
            except QuickBooksError as error:
                raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(counts))
            return
        self.stdout.write(
            f"Posted {counts['posted']}, already in QuickBooks {counts['already_posted']}, failed {counts['failed']}."
        )
