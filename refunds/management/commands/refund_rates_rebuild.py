"""`manage.py refund_rates_rebuild [--tenant SLUG] [--since YYYY-MM-DD] [--json]`: recompute the refund-rate
rollup (refunds.rates) from orders and refunds, store by store and month by month: after SKU mappings were
created or changed, or to repair it. Safe to run twice (the result is the same)."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from acorn.tenancy.models import Tenant
from refunds.rates import rollup_rebuild_tenant


class Command(BaseCommand):
    help = "Rebuild the refund-rate rollup of one tenant (or every active tenant) from a day on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="The tenant's slug (default: every active tenant)")
        parser.add_argument("--since", help="First UTC day to recompute, YYYY-MM-DD (default: all history)")
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        since = None
        if options["since"]:
            try:
                since = date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError("--since must be a date, YYYY-MM-DD.") from None
        if options["tenant"]:
            tenants = list(Tenant.objects.filter(slug=options["tenant"]))
            if not tenants:
                raise CommandError(f"No tenant {options['tenant']!r}.")
        else:
            tenants = list(Tenant.objects.filter(is_active=True).order_by("pk"))
        begin = time.perf_counter()
        report: list[dict[str, Any]] = []
        for tenant in tenants:
            result = rollup_rebuild_tenant(tenant=tenant, since=since)
            report.append(
                {
                    "tenant": tenant.slug,
                    "rows": result.rows,
                    "unmapped_sold_units": result.unmapped_sold_units,
                    "unmapped_refunded_units": result.unmapped_refunded_units,
                }
            )
        summary = {
            "tenants": report,
            "since": since.isoformat() if since else None,
            "rows": sum(entry["rows"] for entry in report),
            "seconds": round(time.perf_counter() - begin, 2),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        for entry in report:
            self.stdout.write(
                f"{entry['tenant']}: {entry['rows']} rows"
                f" ({entry['unmapped_sold_units']} sold / {entry['unmapped_refunded_units']} refunded units unmapped)"
            )
        self.stdout.write(f"{summary['rows']} rows in {summary['seconds']} s")
