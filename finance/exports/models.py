"""Journal exports: which journals went out to an accountant, when, by whom, in which format, and the exact bytes.

A `JournalExport` keeps its files (`JournalExportFile`) in the database, so re-downloading an export gives the same
bytes as the first time, checked by the SHA-256 shown in the history. Files are small (a month of a busy seller is
a few hundred lines per store: the ledger sums statements per account), so a BinaryField is enough and needs no
storage configuration.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.tenancy.models import TenantScopedModel
from channels.models import Store
from finance.ledger.models import JournalEntry
from finance.settlements.models import Settlement


class ExportFormat(models.TextChoices):
    QBO = "qbo", _("QuickBooks Online (CSV)")
    IIF = "iif", _("QuickBooks Desktop (IIF)")
    XERO = "xero", _("Xero manual journals (CSV)")


class DateFormat(models.TextChoices):
    DEFAULT = "", _("The format's default")
    MDY = "mdy", _("MM/DD/YYYY")
    DMY = "dmy", _("DD/MM/YYYY")


class JournalExport(TenantScopedModel):
    """One export: its scope (a statement, a month, a store, or several of these together), the journals it wrote
    and its file(s)."""

    format = models.CharField(_("format"), max_length=10, choices=ExportFormat.choices)
    settlement = models.ForeignKey(
        Settlement, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("statement")
    )
    month = models.DateField(_("month"), null=True, blank=True)  # its first day
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    options = models.JSONField(_("options"), default=dict, blank=True)
    journals = models.ManyToManyField(JournalEntry, related_name="exports", verbose_name=_("journals"))
    journal_count = models.PositiveIntegerField(_("journals"), default=0)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("journal export")
        verbose_name_plural = _("journal exports")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "-created_at", "-id"], name="journal_export_list")]

    def __str__(self) -> str:
        return f"{self.format} {self.created_at:%Y-%m-%d %H:%M}"


class JournalExportFile(TenantScopedModel):
    """One file of an export (Xero's are at most 300 lines each, so an export may have several)."""

    export = models.ForeignKey(JournalExport, on_delete=models.CASCADE, related_name="files", verbose_name=_("export"))
    position = models.PositiveSmallIntegerField(_("file"))
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("size"))
    content = models.BinaryField(_("content"))

    class Meta:
        verbose_name = _("journal export file")
        verbose_name_plural = _("journal export files")
        ordering = ["export", "position"]
        constraints = [
            models.UniqueConstraint(fields=["export", "position"], name="journal_export_file_unique_position"),
        ]

    def __str__(self) -> str:
        return self.name
