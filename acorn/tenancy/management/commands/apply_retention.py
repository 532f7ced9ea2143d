"""`manage.py apply_retention [--tenant SLUG] [--dry-run] [--json]`: the nightly retention job, by hand."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from acorn.tenancy.models import Tenant
from acorn.tenancy.retention import RetentionReport, retention_apply, tenant_data_count, tenants_due_for_deletion
from acorn.tenancy.services import tenant_closure_complete


class Command(BaseCommand):
    help = (
        "Delete or anonymise what is older than each tenant's plan retention, and delete the data of closed "
        "accounts past their grace period. --dry-run only reports (per model: rows, oldest date, action)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this tenant (slug)")
        parser.add_argument("--dry-run", action="store_true", help="Report what would go; change nothing")
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        active = Tenant.objects.filter(is_active=True).order_by("pk")
        closed = tenants_due_for_deletion()
        if options["tenant"]:
            if not Tenant.objects.filter(slug=options["tenant"]).exists():
                raise CommandError(f"No tenant with the slug {options['tenant']!r}.")
            active, closed = active.filter(slug=options["tenant"]), closed.filter(slug=options["tenant"])
        reports: list[RetentionReport] = [retention_apply(tenant=tenant, dry_run=dry_run) for tenant in active]
        closed_rows: dict[str, int] = {}
        for tenant in closed:
            # A dry run counts what the deletion would remove (the audit trail stays either way).
            deleted = tenant_data_count(tenant=tenant) if dry_run else tenant_closure_complete(tenant=tenant)
            closed_rows[tenant.slug] = sum(deleted.values())
        failed = [f"{report.tenant}: {item.key}" for report in reports for item in report.failed]
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "dry_run": dry_run,
                        "tenants": [report.as_json() for report in reports],
                        "closed_accounts": [
                            {"tenant": slug, "action": "delete_all", "rows": rows} for slug, rows in closed_rows.items()
                        ],
                    }
                )
            )
            self._fail_if(failed)
            return
        verb = "would" if dry_run else "did"
        for report in reports:
            self.stdout.write(
                f"{report.tenant}: retention {report.retention_months} months, cut-off {report.cutoff:%Y-%m-%d}"
            )
            for item in report.items:
                oldest = f", oldest {item.oldest:%Y-%m-%d}" if item.oldest else ""
                error = f", FAILED: {item.error}" if item.error else ""
                self.stdout.write(f"  {item.key}: {verb} {item.action} {item.rows}{oldest}{error}")
        for slug, rows in closed_rows.items():
            self.stdout.write(f"{slug}: closed account past its grace period, {verb} delete all data ({rows} rows)")
        self._fail_if(failed)

    def _fail_if(self, failed: list[str]) -> None:
        """Exit 1 when a rule failed (the rules after it ran; the failure is logged and audited)."""
        if failed:
            raise CommandError(f"Retention rules failed: {', '.join(failed)}")
