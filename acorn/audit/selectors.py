"""Reads of the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.db.models import QuerySet

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Tenant


def audit_event_list(
    *,
    tenant: Tenant,
    action: str = "",
    actor_query: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(tenant=tenant).select_related("actor")
    if action:
        events = events.filter(action__startswith=action)
    if actor_query:
        events = events.filter(actor_label__icontains=actor_query)
    if since:
        events = events.filter(created_at__date__gte=since)
    if until:
        events = events.filter(created_at__date__lte=until)
    return events.order_by("-created_at", "-pk")


def audit_action_list(*, tenant: Tenant) -> list[str]:
    return list(AuditEvent.objects.filter(tenant=tenant).order_by("action").values_list("action", flat=True).distinct())


def audit_events_for(*, tenant: Tenant, objects: Sequence[tuple[str, object]]) -> QuerySet[AuditEvent]:
    """The audit trail of some objects, given as (model label, pk) pairs, e.g. ("orders.order", 12)."""
    from django.db.models import Q

    match = Q(pk__in=[])
    for label, pk in objects:
        match |= Q(object_type=label, object_id=str(pk))
    return AuditEvent.objects.filter(match, tenant=tenant).select_related("actor").order_by("-created_at", "-pk")
