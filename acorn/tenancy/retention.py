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
done, so running twice changes nothing. Inside each batch's transaction the rule's selection is read again
for those keys under a row lock, so a row that became open (a refund requested) between the read and the
delete is left alone. A dry run counts the same selection (rows, oldest date, action) and writes nothing.
Every batch that changed rows writes its audit event ("retention.applied": rule, action, rows) in its own
transaction, so what was deleted is always audited. A rule that fails is logged, audited
("retention.failed") and reported; the next rules still run. The run ends with a summary event
("retention.completed": rows per rule, failures).

A plan change that shortens the retention (pro to basic, fewer custom months) takes effect after
`RETENTION_SHRINK_GRACE` (30 days): until then the longer retention in force before the change applies
(`Tenant.retention_previous_months`, `Tenant.retention_changed_at`), so nothing goes at the next run
without warning; the plan page says when the shorter retention starts.

Account closure: a closed tenant (`closed_at`, inactive at once) keeps its data for
`ACORN_CLOSURE_GRACE_DAYS`; after that the same nightly job deletes every row the tenant owns
(`tenant_data_delete`) except its append-only audit trail, keeps the tenant row as a tombstone without its
contact details, audits it and emails the owner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.models import Min, QuerySet
from django.utils import timezone
from django.utils.translation import get_language

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
    the cut-off (shown as the oldest date). `act(tenant, cutoff, pks)` handles one batch of rows the engine
    has just re-selected and locked (default: delete those rows with their cascades); it re-checks the child
    rows it touches and returns how many of the batch's rows it really handled."""

    key: str
    label: Any  # a lazy translation
    action: str
    position: int
    select: Callable[[Tenant, datetime], QuerySet[Any]]
    date_field: str
    act: Callable[[Tenant, datetime, list[int]], int] | None = None


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
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "model": self.key,
            "label": self.label,
            "action": self.action,
            "rows": self.rows,
            "oldest": self.oldest.isoformat() if self.oldest else None,
        }
        if self.error:
            found["error"] = self.error
        return found


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

    @property
    def failed(self) -> list[RetentionItem]:
        return [item for item in self.items if item.error]

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


RETENTION_SHRINK_GRACE = timedelta(days=30)


def retention_shrink_ends_at(tenant: Tenant) -> datetime | None:
    """When a shortened retention starts to apply (None: no shortening pending)."""
    if tenant.retention_previous_months is None or tenant.retention_changed_at is None:
        return None
    return tenant.retention_changed_at + RETENTION_SHRINK_GRACE


def retention_months_in_force(tenant: Tenant, *, now: datetime | None = None) -> int:
    """The plan's retention, or the longer one in force before a plan change that shortened it, for
    RETENTION_SHRINK_GRACE after that change."""
    months = limits_for(tenant).retention_months
    ends_at = retention_shrink_ends_at(tenant)
    if ends_at is not None and (now or timezone.now()) < ends_at:
        return max(months, tenant.retention_previous_months or 0)
    return months


def retention_change_note(tenant: Tenant, *, in_force: int, new_months: int, now: datetime | None = None) -> None:
    """Record on the tenant (not saved) a change of its retention from `in_force` months to `new_months`: a
    shorter one keeps `in_force` for RETENTION_SHRINK_GRACE; an equal or longer one ends any such grace."""
    if new_months < in_force:
        tenant.retention_previous_months, tenant.retention_changed_at = in_force, now or timezone.now()
    else:
        tenant.retention_previous_months, tenant.retention_changed_at = None, None


def retention_cutoff(tenant: Tenant, *, now: datetime | None = None) -> datetime:
    """Records dated before this instant are past the tenant's retention."""
    moment = now or timezone.now()
    return months_before(moment, retention_months_in_force(tenant, now=moment))


def retention_first_kept_day(tenant: Tenant, *, now: datetime | None = None) -> date:
    """The first UTC day wholly inside the retention. Rollups of earlier days are not rebuilt from the rows
    (retention may have deleted some of that day's orders, and their facts with them): they stay as they
    are."""
    cutoff = retention_cutoff(tenant, now=now).astimezone(UTC)
    day = cutoff.date()
    return day if cutoff == datetime.combine(day, time.min, tzinfo=UTC) else day + timedelta(days=1)


def _delete_rows(model: type[models.Model], pks: list[int]) -> int:
    """Delete these rows (with their cascades); how many of them were deleted."""
    _total, per_model = model._default_manager.filter(pk__in=pks).delete()
    return per_model.get(model._meta.label, 0)


def _apply_rule(tenant: Tenant, rule: RetentionRule, cutoff: datetime, *, retention_months: int) -> int:
    """Run one rule in batches; each batch re-selects its rows under a lock, acts and audits in one
    transaction. Returns rows handled."""
    handled, after_pk = 0, 0
    while True:
        pks = list(
            rule.select(tenant, cutoff).filter(pk__gt=after_pk).order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE]
        )
        if not pks:
            return handled
        # Keys only grow: a row the rule leaves in its selection (a child row kept it) is not read again.
        after_pk = pks[-1]
        with transaction.atomic():
            locked = list(
                rule.select(tenant, cutoff)
                .filter(pk__in=pks)
                .order_by("pk")
                .select_for_update(of=("self",))
                .values_list("pk", flat=True)
            )
            if not locked:
                continue
            model = rule.select(tenant, cutoff).model
            done = rule.act(tenant, cutoff, locked) if rule.act else _delete_rows(model, locked)
            if done:
                audit_record(
                    tenant=tenant,
                    actor=None,
                    action="retention.applied",
                    target=tenant,
                    after={
                        "rule": rule.key,
                        "action": rule.action,
                        "rows": done,
                        "retention_months": retention_months,
                        "cutoff": cutoff,
                    },
                )
        handled += done


def _summary(item: RetentionItem) -> dict[str, Any]:
    found: dict[str, Any] = {"action": item.action, "rows": item.rows}
    if item.error:
        found["error"] = item.error
    return found


def retention_apply(*, tenant: Tenant, dry_run: bool = False, now: datetime | None = None) -> RetentionReport:
    """Delete or anonymise what is past the tenant's retention (dry run: only count it). Audited when real."""
    moment = now or timezone.now()
    months = retention_months_in_force(tenant, now=moment)
    cutoff = months_before(moment, months)
    report = RetentionReport(tenant=tenant.slug, retention_months=months, cutoff=cutoff, dry_run=dry_run)
    with tenant_scope(tenant):
        for rule in retention_rules():
            if dry_run:
                selection = rule.select(tenant, cutoff)
                found = selection.aggregate(oldest=Min(rule.date_field))
                rows = selection.count()
                report.items.append(RetentionItem(rule.key, str(rule.label), rule.action, rows, found["oldest"]))
                continue
            oldest = None
            try:
                oldest = rule.select(tenant, cutoff).aggregate(oldest=Min(rule.date_field))["oldest"]
                handled = _apply_rule(tenant, rule, cutoff, retention_months=months)
            except Exception as error:  # one broken rule must not stop the others; it is reported and audited
                logger.exception("retention_rule_failed", extra={"tenant_id": tenant.pk, "rule": rule.key})
                message = f"{type(error).__name__}: {error}"[:500]
                audit_record(
                    tenant=tenant,
                    actor=None,
                    action="retention.failed",
                    target=tenant,
                    after={"rule": rule.key, "error": message, "cutoff": cutoff},
                )
                report.items.append(RetentionItem(rule.key, str(rule.label), rule.action, 0, oldest, message))
                continue
            report.items.append(RetentionItem(rule.key, str(rule.label), rule.action, handled, oldest))
        if not dry_run:
            # The run's summary (the changes themselves were audited batch by batch, with their deletions).
            audit_record(
                tenant=tenant,
                actor=None,
                action="retention.completed",
                target=tenant,
                after={
                    "retention_months": months,
                    "cutoff": cutoff,
                    "items": {item.key: _summary(item) for item in report.items},
                },
            )
    if not dry_run:
        retention_preview_forget(tenant)
    logger.info(
        "retention_applied",
        extra={"tenant_id": tenant.pk, "dry_run": dry_run, "rows": report.total_rows, "failed": len(report.failed)},
    )
    return report


# The plan page's dry run costs a score of queries with correlated subqueries: it is cached per tenant (and
# language: the labels are translated) for an hour, and dropped when a real run or a plan change alters it.
PREVIEW_CACHE_SECONDS = 3600


def _preview_cache_key(tenant_id: int, language: str) -> str:
    return f"acorn:retention-preview:{tenant_id}:{language}"


def retention_preview_cached(*, tenant: Tenant) -> RetentionReport:
    """The dry run's report for the plan page, from the cache when it is there (at most an hour old)."""
    key = _preview_cache_key(tenant.pk, get_language() or settings.LANGUAGE_CODE)
    report = cache.get(key)
    if not isinstance(report, RetentionReport):
        report = retention_apply(tenant=tenant, dry_run=True)
        cache.set(key, report, PREVIEW_CACHE_SECONDS)
    return report


def retention_preview_forget(tenant: Tenant) -> None:
    """Drop the tenant's cached previews (after a real run, or a plan change)."""
    languages = {code for code, _name in settings.LANGUAGES} | {settings.LANGUAGE_CODE}
    cache.delete_many([_preview_cache_key(tenant.pk, code) for code in sorted(languages)])


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


# What may refuse a closure (apps register theirs in AppConfig.ready(): refunds refuses while money may be
# moving). A check returns the user-facing reason, or None.
_CLOSURE_CHECKS: list[Callable[[Tenant], str | None]] = []


def register_closure_check(check: Callable[[Tenant], str | None]) -> None:
    """Called from an AppConfig.ready()."""
    if check not in _CLOSURE_CHECKS:
        _CLOSURE_CHECKS.append(check)


def closure_refusals(tenant: Tenant) -> list[str]:
    """Why the tenant cannot be closed now (empty: it can)."""
    with tenant_scope(tenant):
        return [reason for check in _CLOSURE_CHECKS if (reason := check(tenant))]


def tenant_data_count(*, tenant: Tenant) -> dict[str, int]:
    """Rows per model that `tenant_data_delete` would delete (writes nothing)."""
    with tenant_scope(tenant):
        counts = {model._meta.label: model._default_manager.filter(tenant=tenant).count() for model in _tenant_models()}
    return {label: rows for label, rows in sorted(counts.items()) if rows}


def _delete_files(model: type[models.Model], pks: list[int]) -> None:
    """Once the transaction commits, remove from the storage the files these rows name (deleting a row
    leaves its file behind)."""
    file_fields = [field.name for field in model._meta.concrete_fields if isinstance(field, models.FileField)]
    if not file_fields:
        return
    stored = [
        (file.storage, file.name)
        for row in model._default_manager.filter(pk__in=pks).only("pk", *file_fields)
        for file in (getattr(row, name) for name in file_fields)
        if file
    ]

    def remove() -> None:
        for storage, name in stored:
            storage.delete(name)

    if stored:
        transaction.on_commit(remove)


def tenant_data_delete(*, tenant: Tenant) -> dict[str, int]:
    """Delete every row the tenant owns, in batches, children before parents, and the files those rows name
    on the storage. Returns rows per model."""
    deleted: dict[str, int] = {}
    with tenant_scope(tenant):
        for model in _tenant_models():
            manager = model._default_manager
            while True:
                pks = list(manager.filter(tenant=tenant).order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
                if not pks:
                    break
                with transaction.atomic():
                    _delete_files(model, pks)
                    _total, per_model = manager.filter(pk__in=pks).delete()
                for label, rows in per_model.items():
                    deleted[label] = deleted.get(label, 0) + rows
    return {label: rows for label, rows in sorted(deleted.items()) if rows}
