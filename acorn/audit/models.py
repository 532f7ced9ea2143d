"""The audit trail: append-only records of who changed settings, members or money, and when."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.audit.labels import action_label
from acorn.tenancy.models import TenantScopedModel


class AppendOnlyError(Exception):
    """Raised on an attempt to change or delete an audit event."""


PROJECT_APPS = ("acorn", "channels", "orders", "inventory", "refunds", "finance")


@cache
def _project_field_labels() -> dict[str, Any]:
    """Field name → its (lazy, translated) verbose name, over ACORN's own models in a fixed order (first wins)."""
    labels: dict[str, Any] = {}
    for model in sorted(apps.get_models(), key=lambda model: model._meta.label_lower):
        if not model.__module__.startswith(PROJECT_APPS):
            continue
        for field in model._meta.get_fields():
            verbose_name = getattr(field, "verbose_name", None)
            if verbose_name and field.name not in labels:
                labels[field.name] = verbose_name
    return labels


class AuditEvent(TenantScopedModel):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    # Kept even if the user is deleted later, so the trail still says who it was.
    actor_label = models.CharField(_("actor"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_time"),
            # "the history of this order / product": an object page's audit trail.
            models.Index(fields=["tenant", "object_type", "object_id"], name="audit_tenant_object"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"

    @property
    def action_label(self) -> str:
        """The action as people read it, in their language (acorn.audit.labels)."""
        return action_label(self.action)

    @property
    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) rows for display; a field only in one snapshot shows None on the other."""
        before = self.before if isinstance(self.before, dict) else {}
        after = self.after if isinstance(self.after, dict) else {}
        return [(self._field_label(key), before.get(key), after.get(key)) for key in dict.fromkeys([*before, *after])]

    def _field_label(self, key: str) -> str:
        """A snapshot's key as people read it, in their language: the audited model's field of that name, else
        a field of that name in ACORN's other models (a store's audit keeps its sharing rule's "push_enabled", a
        product's its receipt's "quantity"), else the key as written."""
        try:
            model = apps.get_model(self.object_type)
            return str(model._meta.get_field(key).verbose_name)
        except (LookupError, ValueError, FieldDoesNotExist):
            label = _project_field_labels().get(key)
            return str(label) if label is not None else key

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Append-only is a property of the model, not of one service: refuse updates everywhere.
        if self.pk is not None:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("Audit events cannot be deleted.")
