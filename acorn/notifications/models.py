"""In-app notifications, one row per recipient."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.notifications.messages import render_stored
from acorn.tenancy.models import TenantScopedModel


class Notification(TenantScopedModel):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    # The same, as messages rendered in the reader's language (acorn.notifications.messages); empty: plain.
    title_messages = models.JSONField(default=list, blank=True)
    body_messages = models.JSONField(default=list, blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    # Set when the email went out (or was claimed for sending), so a retried task never sends twice.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "recipient", "read_at"], name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title_text(self) -> str:
        """The title in the active language (as written, for a notice stored as plain text)."""
        return render_stored(self.title_messages)[:200] if self.title_messages else self.title

    @property
    def body_text(self) -> str:
        return render_stored(self.body_messages, "\n") if self.body_messages else self.body

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
