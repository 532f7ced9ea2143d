"""Data retention per plan, and the deletion of a closed account's data: the engine and its registry.

Each plan keeps a tenant's records for `PlanLimits.retention_months` (acorn.tenancy.plans: basic 12, pro 36,
custom `Tenant.custom_retention_months`). Every night `tenancy.apply_retention` runs, per active tenant, the
rules the apps registered here (in their AppConfig.ready(): the core never imports them). A rule names the
rows past the cut-off that may go and says what happens to them:

* ``delete``: the rows go, with what cascades from them;
* ``anonymise``: the rows stay (the books need them) but the buyer's personal data on them is removed.

What a rule never selects: open items (an order not shipped or cancelled, a refund waiting for approval or
being executed, a return not settled, a reservation that still holds stock, a webhook not processed) and
anything a settlement statement or a journal names (those are kept; their buyer data is anonymised). The
rules themselves say so in their docstrings (channels/retention.py, finance/retention.py).

The engine works in batches of `BATCH_SIZE` primary keys, each in its own transaction, so memory stays
bounded and a run stopped half-way is resumed by the next; a rule's selection excludes what it has already
done, so running twice changes nothing. A dry run counts the same selection (rows, oldest date, action) and
writes nothing. Every real run writes one audit event per tenant ("retention.applied").

Account closure: a closed tenant (`closed_at`, inactive at once) keeps its data for
`ACORN_CLOSURE_GRACE_DAYS`; after that the same nightly job deletes every row the tenant owns
(`tenant_data_delete`) except its append-only audit trail, keeps the tenant row as a tombstone without its
contact details, audits it and emails the owner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models import Min, QuerySet
from django.utils import timezone

from acorn.audit.services import audit_record
from acorn.tenancy.models import Tenant, TenantScopedModel
from acorn.tenancy.plans import limits_for
from acorn.tenancy.scoping import tenant_scope

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
DELETE = "delete"
ANONYMISE = "anonymise"


@dataclass(frozen=True)
class RetentionRule:
    """What one kind of record does past the cut-off.

    `select(tenant, cutoff)` returns the rows that may go now (never open items, never what the books need
    unless the action is anonymise, never rows already anonymised); `date_field` is the field compared with
    the cut-off (shown as the oldest date). `act(tenant, pks)` handles one batch (default: delete those rows
    with their cascades) and returns how many rows it handled."""

    key: str
    label: Any  # a lazy translation
    action: str
    position: int
    select: Callable[[Tenant, datetime], QuerySet[Any]]
    date_field: str
    act: Callable[[Tenant, list[int]], int] | None = None


_RULES: list[RetentionRule] = []


def register_retention_rule(rule: RetentionRule) -> None:
    """Called from an AppConfig.ready(). A second registration under the same key replaces the first."""
    _RULES[:] = [existing for existing in _RULES if existing.key != rule.key]
    _RULES.append(rule)
    _RULES.sort(key=lambda item: (item.position, item.key))


def retention_rules() -> list[RetentionRule]:
    return list(_RULES)


@dataclass
class RetentionItem:
    key: str
    label: str
    action: str
    rows: int
    oldest: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.key,
            "label": self.label,
            "action": self.action,
            "rows": self.rows,
            "oldest": self.oldest.isoformat() if self.oldest else None,
        }


@dataclass
class RetentionReport:
    tenant: str
    retention_months: int
    cutoff: datetime
    dry_run: bool
    items: list[RetentionItem] = field(default_factory=list)

    def item(self, key: str) -> RetentionItem | None:
        return next((item for item in self.items if item.key == key), None)

    @property
    def total_rows(self) -> int:
        return sum(item.rows for item in self.items)

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "retention_months": self.retention_months,
            "cutoff": self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "items": [item.as_json() for item in self.items],
        }


def months_before(moment: datetime, months: int) -> datetime:
    """The same instant `months` calendar months earlier (the 31st becomes the month's last day)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    month += 1
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


def retention_cutoff(tenant: Tenant, *, now: datetime | None = None) -> datetime:
    """Records dated before this instant are past the tenant's retention."""
    return months_before(now or timezone.now(), limits_for(tenant).retention_months)


def _delete_rows(model: type[models.Model], pks: list[int]) -> int:
    model._default_manager.filter(pk__in=pks).delete()
    return len(pks)


def retention_apply(*, tenant: Tenant, dry_run: bool = False, now: datetime | None = None) -> RetentionReport:
    """Delete or anonymise what is past the tenant's retention (dry run: only count it). Audited when real."""
    cutoff = retention_cutoff(tenant, now=now)
    report = RetentionReport(
        tenant=tenant.slug, retention_months=limits_for(tenant).retention_months, cutoff=cutoff, dry_run=dry_run
    )
    with tenant_scope(tenant):
        for rule in retention_rules():
            selection = rule.select(tenant, cutoff)
            if dry_run:
                found = selection.aggregate(oldest=Min(rule.date_field))
                rows = selection.count()
                report.items.append(RetentionItem(rule.key, str(rule.label), rule.action, rows, found["oldest"]))
                continue
            oldest = selection.aggregate(oldest=Min(rule.date_field))["oldest"]
            handled = 0
            while True:
                pks = list(rule.select(tenant, cutoff).order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
                if not pks:
                    break
                with transaction.atomic():
                    handled += rule.act(tenant, pks) if rule.act else _delete_rows(selection.model, pks)
            report.items.append(RetentionItem(rule.key, str(rule.label), rule.action, handled, oldest))
        if not dry_run:
            audit_record(
                tenant=tenant,
                actor=None,
                action="retention.applied",
                target=tenant,
                after={
                    "retention_months": report.retention_months,
                    "cutoff": cutoff,
                    "items": {item.key: {"action": item.action, "rows": item.rows} for item in report.items},
                },
            )
    logger.info(
        "retention_applied",
        extra={"tenant_id": tenant.pk, "dry_run": dry_run, "rows": report.total_rows},
    )
    return report


# --- account closure --------------------------------------------------------------------------------------


def closure_grace() -> timedelta:
    return timedelta(days=settings.ACORN_CLOSURE_GRACE_DAYS)


def closure_deletes_at(tenant: Tenant) -> datetime | None:
    """When a closed tenant's data goes (None: not closed)."""
    return tenant.closed_at + closure_grace() if tenant.closed_at else None


def tenants_due_for_deletion(*, now: datetime | None = None) -> QuerySet[Tenant]:
    """Closed tenants past their grace period whose data is still there."""
    moment = now or timezone.now()
    return Tenant.objects.filter(
        is_active=False, closed_at__lte=moment - closure_grace(), data_deleted_at__isnull=True
    ).order_by("pk")


# Kept when a closed account's data is deleted: the audit trail is append-only (a PostgreSQL trigger refuses
# DELETE), and it is the record of what happened to the account, its deletion included.
KEPT_ON_CLOSURE = frozenset({"audit.AuditEvent"})


def _tenant_models() -> list[type[models.Model]]:
    """Every concrete tenant-owned model but the audit trail, each before the models it points at (so PROTECT
    never refuses)."""
    owned = [
        model
        for model in apps.get_models()
        if issubclass(model, TenantScopedModel)
        and not model._meta.abstract
        and not model._meta.proxy
        and model._meta.label not in KEPT_ON_CLOSURE
    ]
    ordered: list[type[models.Model]] = []
    remaining = set(owned)

    def referrers(target: type[models.Model]) -> set[type[models.Model]]:
        found: set[type[models.Model]] = set()
        for model in remaining:
            if model is target:
                continue
            for related in model._meta.get_fields():
                if related.is_relation and related.many_to_one and related.related_model is target:
                    found.add(model)
        return found

    while remaining:
        # A model nothing left points at goes first; in a cycle, the one with the fewest referrers.
        model = min(remaining, key=lambda candidate: (len(referrers(candidate)), candidate._meta.label))
        ordered.append(model)
        remaining.discard(model)
    return ordered


def tenant_data_delete(*, tenant: Tenant) -> dict[str, int]:
    """Delete every row the tenant owns, in batches, children before parents. Returns rows per model."""
    deleted: dict[str, int] = {}
    with tenant_scope(tenant):
        for model in _tenant_models():
            manager = model._default_manager
            while True:
                pks = list(manager.filter(tenant=tenant).order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
                if not pks:
                    break
                with transaction.atomic():
                    _total, per_model = manager.filter(pk__in=pks).delete()
                for label, rows in per_model.items():
                    deleted[label] = deleted.get(label, 0) + rows
    return {label: rows for label, rows in sorted(deleted.items()) if rows}
