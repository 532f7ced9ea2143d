"""Export jobs on the `exports` queue, and the hourly removal of expired files."""

from __future__ import annotations

from celery import shared_task

from acorn.exports.models import ExportJob
from acorn.exports.services import export_job_run, exports_expire, exports_requeue_lost
from acorn.tenancy.tasks import TenantTask


@shared_task(
    name="exports.run_export_job",
    base=TenantTask,
    bind=True,
    acks_late=True,
    # 200,000 orders take minutes: far more than the default limit of a task, well under the visibility timeout.
    soft_time_limit=1800,
    time_limit=1860,
)
def run_export_job_task(self: TenantTask, *, tenant_id: int, job_id: int) -> str:
    """Write one export's file. Safe to run twice (a finished job is left as it is)."""
    job = ExportJob.objects.filter(tenant_id=tenant_id, pk=job_id).first()
    if job is None:
        return "missing"
    return export_job_run(job=job).status


@shared_task(name="exports.expire_exports", acks_late=True)
def expire_exports_task() -> int:
    """Remove the files of exports past their expiry, and send again the jobs whose task was lost. Returns how
    many expired. Safe to run twice."""
    exports_requeue_lost()
    return exports_expire()
