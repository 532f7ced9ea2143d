"""`manage.py rebuild_profit [--tenant SLUG] [--days N | --since YYYY-MM-DD] [--json]`: recompute the P&L (facts
and the daily rollup) of one company or every active one, from a day on (all history by default)."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import dangerously_unscoped
from finance.profit.rollup import profit_rebuild


class Command(BaseCommand):
    help = "Recompute profit per order line and the daily profit rollup."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default=None, help="The company's slug (default: every active company)")
        window = parser.add_mutually_exclusive_group()
        window.add_argument("--days", type=int, default=None, help="Only the last N days")
        window.add_argument("--since", default=None, help="From this day on (YYYY-MM-DD)")
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        since: date | None = None
        if options["days"] is not None:
            if options["days"] < 0:
                raise CommandError("--days must be 0 or more.")
            since = timezone.now().date() - timedelta(days=options["days"])
        elif options["since"]:
            try:
                since = date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError(f"--since {options['since']!r} is not a date (YYYY-MM-DD).") from None
        with dangerously_unscoped():
            tenants = Tenant.objects.filter(is_active=True).order_by("pk")
            if options["tenant"]:
                tenants = Tenant.objects.filter(slug=options["tenant"])
            found = list(tenants)
        if options["tenant"] and not found:
            raise CommandError(f"No company has the slug {options['tenant']!r}.")
        results = []
        for tenant in found:
            started = time.perf_counter()
            facts = profit_rebuild(tenant=tenant, since=since)
            results.append({"tenant": tenant.slug, "facts": facts, "seconds": round(time.perf_counter() - started, 3)})
        if options["json"]:
            self.stdout.write(json.dumps({"since": since.isoformat() if since else None, "tenants": results}))
            return
        for result in results:
            self.stdout.write(f"{result['tenant']}: {result['facts']} profit figures in {result['seconds']} s")
