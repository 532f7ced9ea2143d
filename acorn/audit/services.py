"""audit_record(): the one way to write the audit trail."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import models

from acorn.audit.models import AuditEvent
from acorn.tenancy.scoping import request_id_var

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from acorn.tenancy.models import Tenant


def _jsonable(value: Any) -> Any:
    """Make before/after snapshots JSON-safe without losing precision (Decimal → string)."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item) for item in value]
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def audit_record(
    *,
    tenant: Tenant,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Append one audit event. Call it inside the transaction of the change it records."""
    actor_label = ""
    if actor is not None and actor.is_authenticated:
        actor_label = getattr(actor, "email", "") or str(actor)
    return AuditEvent.objects.create(
        tenant=tenant,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label or "system",
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        request_id=request_id if request_id is not None else request_id_var.get(),
    )


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """The values of some fields, for an audit before/after."""
    return {name: _jsonable(getattr(instance, name)) for name in fields}
