"""Export jobs: a file too large to write while a person waits, written by a worker on the `exports` queue."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.exports.registry import UnknownExportKind, export_kind
from acorn.tenancy.models import TenantScopedModel


class ExportJob(TenantScopedModel):
    """One requested export: what (kind, format, the filters as JSON), who asked and in which language, how far
    the worker is, and the file it wrote (on the default storage, removed when the job expires)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Writing")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"
        ZIP = "zip", "ZIP"

    kind = models.CharField(_("kind"), max_length=40)
    file_format = models.CharField(_("format"), max_length=5, choices=Format.choices)
    params = models.JSONField(_("filters"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=10, default="en")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress_done = models.PositiveBigIntegerField(_("done"), default=0)
    progress_total = models.PositiveBigIntegerField(_("total"), default=0)
    row_count = models.PositiveBigIntegerField(_("rows"), default=0)
    document = models.FileField(_("file"), upload_to="exports/%Y/%m/", blank=True, max_length=300)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="exportjob_recent"),
            models.Index(fields=["status", "expires_at"], name="exportjob_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_format} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.EXPIRED)

    @property
    def kind_label(self) -> str:
        """The kind's name for people (the key itself if no app registers that kind any more)."""
        try:
            return str(export_kind(self.kind).label)
        except UnknownExportKind:
            return self.kind

    @property
    def percent(self) -> int:
        """How far the worker is, 0-100 (100 once done)."""
        if self.status == self.Status.DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(100, self.progress_done * 100 // self.progress_total)
