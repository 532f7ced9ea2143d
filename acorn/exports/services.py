"""Export jobs: request one, write its file in a worker (bounded memory, progress as it goes), tell the person
who asked, let them retry a failed one, and remove files once they expire.

At-least-once: the worker acknowledges late, so a job may run twice. A run claims the job by a conditional
UPDATE (queued, or running but abandoned for longer than `STALE_AFTER`), and finishes it by another one that
names its own claim; only the run that finishes the job saves the file it wrote last and notifies, once.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import timedelta
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from acorn import spreadsheets
from acorn.audit.services import audit_record
from acorn.exports.models import ExportJob
from acorn.exports.registry import ExportKind, Params, TableExport, export_kind
from acorn.notifications.services import notify_member
from acorn.tasks import enqueue_now, enqueue_on_commit
from acorn.tenancy.models import Membership, Tenant
from acorn.tenancy.permissions import ensure_permission
from acorn.tenancy.scoping import dangerously_unscoped

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

logger = logging.getLogger(__name__)

# A running job not finished after this long was abandoned (its worker died): a redelivery may take it over.
STALE_AFTER = timedelta(minutes=45)
# Progress is written to the job at most every this many records (one small UPDATE each time).
PROGRESS_EVERY = 500

CONTENT_TYPES = {
    ExportJob.Format.CSV: "text/csv; charset=utf-8",
    ExportJob.Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportJob.Format.ZIP: "application/zip",
}


def export_inline_limit() -> int:
    """Up to this many records an export is written while the person waits; above it, by a worker."""
    return int(settings.ACORN_EXPORT_INLINE_ROWS)


@transaction.atomic
def export_job_request(
    *, tenant: Tenant, membership: Membership, kind: str, file_format: str, params: Params, language: str
) -> ExportJob:
    """Queue an export of `kind` for the member (checked against the kind's permission), written by a worker
    once this transaction commits. The same request still waiting or running is returned instead of a second
    job (a double click writes one file)."""
    spec = export_kind(kind)
    ensure_permission(membership, spec.permission)
    if membership.tenant_id != tenant.pk:
        raise ValidationError(_("This membership is not in this company."))
    if file_format not in spec.formats:
        raise ValidationError(_("This export cannot be written as %(format)s.") % {"format": file_format})
    plain_params = dict(params)
    pending = (
        ExportJob.objects.filter(
            tenant=tenant,
            kind=kind,
            file_format=file_format,
            requested_by=membership.user,
            status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING],
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    if pending is not None and pending.params == plain_params:
        return pending
    job = ExportJob(
        tenant=tenant,
        kind=kind,
        file_format=file_format,
        params=plain_params,
        language=(language or settings.LANGUAGE_CODE)[:10],
        requested_by=membership.user,
    )
    job.full_clean()
    job.save()
    audit_record(
        tenant=tenant,
        actor=membership.user,
        action="export.requested",
        target=job,
        after={"kind": kind, "format": file_format, "params": plain_params},
    )
    enqueue_on_commit("exports.run_export_job", tenant_id=tenant.pk, job_id=job.pk)
    return job


@transaction.atomic
def export_job_retry(*, tenant: Tenant, membership: Membership, job: ExportJob) -> ExportJob:
    """Queue a failed job again (its filters unchanged). A job that is not failed is left as it is, so a second
    click, or a retry of a job that meanwhile succeeded, changes nothing."""
    ensure_permission(membership, export_kind(job.kind).permission)
    retried = ExportJob.objects.filter(tenant=tenant, pk=job.pk, status=ExportJob.Status.FAILED).update(
        status=ExportJob.Status.QUEUED, error="", progress_done=0, finished_at=None
    )
    if retried:
        audit_record(tenant=tenant, actor=membership.user, action="export.retried", target=job)
        enqueue_on_commit("exports.run_export_job", tenant_id=tenant.pk, job_id=job.pk)
    job.refresh_from_db()
    return job


class _ProgressWriter:
    """Counts records as they are written and stores the count on the job every PROGRESS_EVERY records."""

    def __init__(self, job: ExportJob) -> None:
        self.job = job
        self.done = 0
        self.rows = 0
        self._stored = 0

    def __call__(self, records: int) -> None:
        self.done += records
        if self.done - self._stored >= PROGRESS_EVERY:
            self.flush()

    def flush(self) -> None:
        done = min(self.done, self.job.progress_total) if self.job.progress_total else self.done
        ExportJob.objects.filter(pk=self.job.pk, tenant_id=self.job.tenant_id).update(progress_done=done)
        self._stored = self.done


def _table_rows(table: TableExport, tenant: Tenant, params: Params, progress: _ProgressWriter) -> Iterator[Any]:
    for record in table.records(tenant, params):
        for row in record:
            progress.rows += 1
            yield row
        progress(1)


def _write_table(table: TableExport, job: ExportJob, tenant: Tenant, progress: _ProgressWriter) -> IO[bytes]:
    rows: Iterator[Sequence[Any]] = _table_rows(table, tenant, job.params, progress)
    if job.file_format == ExportJob.Format.XLSX:
        return spreadsheets.xlsx_file(
            sheet_title=table.sheet_title(),
            header=table.header(tenant, job.params),
            rows=rows,
            number_format=table.number_format,
        )
    handle = tempfile.TemporaryFile()  # noqa: SIM115 -- returned open, closed by the caller
    for line in spreadsheets.csv_lines(table.header(tenant, job.params), rows):
        handle.write(line.encode("utf-8"))
    handle.seek(0)
    return handle


def _write(spec: ExportKind, job: ExportJob, tenant: Tenant, progress: _ProgressWriter) -> IO[bytes]:
    if spec.table is not None:
        return _write_table(spec.table, job, tenant, progress)
    assert spec.archive is not None
    handle = tempfile.TemporaryFile()  # noqa: SIM115 -- returned open, closed by the caller
    progress.rows = spec.archive(tenant, job.params, handle, progress)
    handle.seek(0)
    return handle


def _failure_message(error: BaseException) -> str:
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(error, SoftTimeLimitExceeded):
        return _("The export took longer than a worker may run. Narrow the filters and export again.")
    detail = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
    return _("The export stopped with an error: %(error)s. Try again; if it fails again, narrow the filters.") % {
        "error": detail
    }


def export_job_run(*, job: ExportJob) -> ExportJob:
    """Write the job's file (from the worker): claim the job, count its records, write them in chunks with
    progress, save the file to the default storage, mark it done and notify the person who asked, in their
    language. Any failure marks the job failed with the reason. Safe to run twice."""
    claimed_at = timezone.now()
    claimed = (
        ExportJob.objects.filter(tenant_id=job.tenant_id, pk=job.pk)
        .filter(
            Q(status=ExportJob.Status.QUEUED)
            | Q(status=ExportJob.Status.RUNNING, started_at__lt=claimed_at - STALE_AFTER)
        )
        .update(
            status=ExportJob.Status.RUNNING,
            started_at=claimed_at,
            progress_done=0,
            attempts=F("attempts") + 1,
            error="",
        )
    )
    job.refresh_from_db()
    if not claimed:
        return job
    tenant = job.tenant
    progress = _ProgressWriter(job)
    with translation.override(job.language):
        try:
            spec = export_kind(job.kind)
            job.progress_total = spec.count(tenant, job.params)
            ExportJob.objects.filter(pk=job.pk, tenant_id=job.tenant_id).update(progress_total=job.progress_total)
            handle = _write(spec, job, tenant, progress)
        except Exception as error:
            logger.warning(
                "export_failed",
                extra={"tenant_id": job.tenant_id, "export_job_id": job.pk, "kind": job.kind},
                exc_info=True,
            )
            return _export_job_fail(job=job, claimed_at=claimed_at, error=_failure_message(error))
        with handle:
            return _export_job_finish(job=job, spec=spec, claimed_at=claimed_at, handle=handle, progress=progress)


def _export_job_fail(*, job: ExportJob, claimed_at: Any, error: str) -> ExportJob:
    ExportJob.objects.filter(
        tenant_id=job.tenant_id, pk=job.pk, status=ExportJob.Status.RUNNING, started_at=claimed_at
    ).update(status=ExportJob.Status.FAILED, error=error, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def _export_job_finish(
    *, job: ExportJob, spec: ExportKind, claimed_at: Any, handle: IO[bytes], progress: _ProgressWriter
) -> ExportJob:
    finished_at = timezone.now()
    filename = f"{spec.filename_stem}-{finished_at:%Y%m%d-%H%M}.{job.file_format}"
    with transaction.atomic():
        locked = (
            ExportJob.objects.select_for_update(of=("self",))
            .filter(tenant_id=job.tenant_id, pk=job.pk, status=ExportJob.Status.RUNNING, started_at=claimed_at)
            .first()
        )
        if locked is None:  # another run took the job over meanwhile; its file is the one kept
            job.refresh_from_db()
            return job
        if locked.document:
            locked.document.delete(save=False)
        locked.document.save(filename, File(handle), save=False)
        locked.filename = filename
        locked.size = locked.document.size
        locked.status = ExportJob.Status.DONE
        locked.row_count = progress.rows
        locked.progress_done = locked.progress_total = max(progress.done, locked.progress_total)
        locked.finished_at = finished_at
        locked.expires_at = finished_at + timedelta(days=settings.ACORN_EXPORT_KEEP_DAYS)
        locked.save(
            update_fields=[
                "document",
                "filename",
                "size",
                "status",
                "row_count",
                "progress_done",
                "progress_total",
                "finished_at",
                "expires_at",
            ]
        )
        if locked.requested_by is not None:
            notify_member(
                tenant=locked.tenant,
                recipient=locked.requested_by,
                kind="export_ready",
                title=_("Your export is ready: %(kind)s") % {"kind": spec.label},
                body=_("%(rows)d rows in %(file)s. The file can be downloaded until %(expires)s UTC.")
                % {"rows": locked.row_count, "file": filename, "expires": f"{locked.expires_at:%Y-%m-%d %H:%M}"},
                link=reverse("exports:export-download", kwargs={"job_pk": locked.pk}),
            )
    return locked


def exports_expire(*, now: Any = None) -> int:
    """Remove the files of every tenant's exports past their expiry and mark them expired (beat, hourly).
    Returns how many expired. Safe to run twice."""
    now = now or timezone.now()
    expired = 0
    with dangerously_unscoped():  # housekeeping across tenants: every row is named by its own tenant below
        due = list(
            ExportJob.objects.filter(status=ExportJob.Status.DONE, expires_at__lte=now).values_list("tenant_id", "pk")[
                :5000
            ]
        )
        for tenant_id, pk in due:
            with transaction.atomic():
                job = (
                    ExportJob.objects.select_for_update(of=("self",))
                    .filter(tenant_id=tenant_id, pk=pk, status=ExportJob.Status.DONE)
                    .first()
                )
                if job is None:
                    continue
                if job.document:
                    job.document.delete(save=False)
                job.status = ExportJob.Status.EXPIRED
                job.save(update_fields=["document", "status"])
                expired += 1
    return expired


# A queued job no worker has started after this long lost its message (the embedded broker drops a message
# whose worker is killed): the hourly housekeeping sends it again.
LOST_AFTER = timedelta(minutes=15)


def exports_requeue_lost(*, now: Any = None) -> int:
    """Send again the task of every job still queued after LOST_AFTER or running but abandoned (beat, hourly).
    Returns how many were sent. A job that is running or done meanwhile is left alone by the run itself."""
    now = now or timezone.now()
    with dangerously_unscoped():  # housekeeping across tenants: each task names its job's tenant
        lost = list(
            ExportJob.objects.filter(
                Q(status=ExportJob.Status.QUEUED, created_at__lt=now - LOST_AFTER)
                | Q(status=ExportJob.Status.RUNNING, started_at__lt=now - STALE_AFTER)
            ).values_list("tenant_id", "pk")[:1000]
        )
    for tenant_id, pk in lost:
        enqueue_now("exports.run_export_job", tenant_id=tenant_id, job_id=pk)
    return len(lost)
