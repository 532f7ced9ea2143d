"""`manage.py sync_store STORE_ID --resource orders|…|all [--json]`: run a sync now, in the foreground."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels.models import Store, SyncTrigger
from channels.sync import SyncAlreadyRunning, sync_jobs, sync_jobs_for, sync_run_execute


class Command(BaseCommand):
    help = "Run the sync of one store now and print its SyncRun summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("store_id", type=int)
        resources = sorted({job.resource for job in sync_jobs()} | {"all"})
        parser.add_argument("--resource", default="all", help=f"One of: {', '.join(resources)}")
        parser.add_argument("--json", action="store_true", help="Print one JSON object")
        parser.add_argument("--budget", type=int, default=None, help="Time budget in seconds (default: settings)")

    def handle(self, *args: Any, **options: Any) -> None:
        with dangerously_unscoped():
            store = Store.objects.select_related("tenant").filter(pk=options["store_id"]).first()
        if store is None:
            raise CommandError(f"No store with id {options['store_id']}.")
        resource = options["resource"]
        with tenant_scope(store.tenant):
            jobs = sync_jobs_for(store)
            if resource != "all":
                jobs = [job for job in jobs if job.resource == resource]
                if not jobs:
                    known = ", ".join(sorted(job.resource for job in sync_jobs_for(store))) or "none"
                    raise CommandError(
                        f"Store {store.pk} has no {resource!r} sync (its platform and permissions allow: {known})."
                    )
            summaries = []
            for job in jobs:
                try:
                    run = sync_run_execute(
                        store=store,
                        resource=job.resource,
                        trigger=SyncTrigger.COMMAND,
                        time_budget_seconds=options["budget"],
                    )
                except SyncAlreadyRunning as error:
                    raise CommandError(str(error)) from None
                summaries.append(run.summary())
        result: dict[str, Any] = summaries[0] if len(summaries) == 1 else {"store_id": store.pk, "runs": summaries}
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for summary in summaries:
                self.stdout.write(
                    "{resource}: {status} — {fetched} fetched, {created} created, {updated} updated, "
                    "{skipped} unchanged, {quarantined} quarantined, {pages} pages (trace {trace_id}) {message}".format(
                        **summary
                    )
                )
        if any(summary["status"] in {"failed", "auth_failed"} for summary in summaries):
            raise CommandError("The sync did not succeed; see the message above and the store's sync log.")
