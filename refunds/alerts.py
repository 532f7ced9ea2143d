"""Refund-rate thresholds and the alerts they raise.

Thresholds: one company default (8 % over 30 days with at least 20 units sold, created on first use) and
overrides for one SKU, one store or a product category. The most specific enabled one applies to a SKU:
SKU, then store, then category, then default. Products carry no category of their own: a category override
applies when it names the company's main category (Tenant.main_category), i.e. it stands in for the default
of a company in that category.

Evaluation (`alerts_evaluate`), per SKU and scope:

* scope "all" (every channel and store together) under the SKU's product / category / default threshold;
* scope "store:<id>" under each enabled store threshold, for SKUs without a SKU override (a SKU override is
  the SKU's own rule everywhere and is evaluated across channels).

Raise when units sold in the window >= the threshold's minimum and the rate > the threshold, and no live
(open or acknowledged) alert exists for the SKU, scope and window: ONE alert, ONE notification to each
subscribed member. The partial unique constraint makes it race-safe. While live, more refunds only update the
latest rate and units. Hysteresis: a live alert resolves when the rate falls to RESOLVE_FRACTION of the
threshold or below (e.g. 8 % → resolved at 7.2 %), or when the window holds no sales and no refunds any more;
a rate wobbling around the line therefore does not raise, resolve and raise again. Acknowledged alerts stay
quiet until they resolve. A live alert whose threshold no longer applies (disabled, deleted, another window)
is resolved.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from acorn.audit.services import audit_record
from acorn.notifications.messages import message
from acorn.notifications.services import notify
from acorn.tasks import enqueue_now
from acorn.tenancy.models import ProductCategory, Tenant
from acorn.transactions import on_commit_gathered
from channels.models import Store
from inventory.models import Product
from refunds.models import (
    AlertStatus,
    ReasonTag,
    RefundLine,
    RefundRateAlert,
    RefundRateThreshold,
    RefundStatus,
    ThresholdScope,
)
from refunds.rates import REFUND_DATE, WINDOWS, SkuRate, refund_rates

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

DEFAULT_RATE_PERCENT = Decimal("8")
DEFAULT_WINDOW_DAYS = 30
DEFAULT_MIN_UNITS = 20
# A live alert resolves at or below this fraction of its threshold (hysteresis).
RESOLVE_FRACTION = Decimal("0.9")
TOP_TAGS = 3
ALL = "all"
ALERTS_FALLBACK_URL = "/app/refunds/alerts/"
LIVE = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


def store_scope_key(store_id: int) -> str:
    return f"store:{store_id}"


# --- thresholds ---------------------------------------------------------------------------------------------


def threshold_default(*, tenant: Tenant) -> RefundRateThreshold:
    """The company default, created on first use: 8 % over 30 days with at least 20 units sold."""
    found = RefundRateThreshold.objects.filter(tenant=tenant, scope=ThresholdScope.DEFAULT).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return RefundRateThreshold.objects.create(
                tenant=tenant,
                scope=ThresholdScope.DEFAULT,
                rate_percent=DEFAULT_RATE_PERCENT,
                window_days=DEFAULT_WINDOW_DAYS,
                min_units_sold=DEFAULT_MIN_UNITS,
            )
    except IntegrityError:  # created meanwhile
        return RefundRateThreshold.objects.get(tenant=tenant, scope=ThresholdScope.DEFAULT)


def threshold_values(threshold: RefundRateThreshold) -> dict[str, Any]:
    return {
        "scope": threshold.scope,
        "product": threshold.product_id,
        "store": threshold.store_id,
        "category": threshold.category,
        "rate_percent": threshold.rate_percent,
        "window_days": threshold.window_days,
        "min_units_sold": threshold.min_units_sold,
        "enabled": threshold.enabled,
    }


def _threshold_check(*, tenant: Tenant, threshold: RefundRateThreshold) -> None:
    errors: dict[str, str] = {}
    rate = threshold.rate_percent
    if rate is None or not (Decimal(0) < rate <= Decimal(100)):
        errors["rate_percent"] = _("Enter a refund rate above 0 and at most 100 %.")
    if threshold.window_days not in WINDOWS:
        errors["window_days"] = _("Choose a window of 7, 30 or 90 days.")
    scope = threshold.scope
    if scope == ThresholdScope.PRODUCT:
        if threshold.product_id is None or not Product.objects.filter(tenant=tenant, pk=threshold.product_id).exists():
            errors["product"] = _("Choose one of your SKUs.")
        threshold.store, threshold.category = None, ""
    elif scope == ThresholdScope.STORE:
        if threshold.store_id is None or not Store.objects.filter(tenant=tenant, pk=threshold.store_id).exists():
            errors["store"] = _("Choose one of your stores.")
        threshold.product, threshold.category = None, ""
    elif scope == ThresholdScope.CATEGORY:
        if threshold.category not in ProductCategory.values:
            errors["category"] = _("Choose a product category.")
        threshold.product, threshold.store = None, None
    elif scope == ThresholdScope.DEFAULT:
        threshold.product, threshold.store, threshold.category = None, None, ""
    else:
        errors["scope"] = _("Choose what the threshold applies to.")
    if not errors:
        same = RefundRateThreshold.objects.filter(tenant=tenant, scope=scope)
        if scope == ThresholdScope.PRODUCT:
            same = same.filter(product_id=threshold.product_id)
        elif scope == ThresholdScope.STORE:
            same = same.filter(store_id=threshold.store_id)
        elif scope == ThresholdScope.CATEGORY:
            same = same.filter(category=threshold.category)
        if threshold.pk is not None:
            same = same.exclude(pk=threshold.pk)
        if same.exists():
            errors["__all__"] = _("There is already a threshold for this; change that one instead.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def threshold_save(*, tenant: Tenant, threshold: RefundRateThreshold, actor: User | None) -> RefundRateThreshold:
    """Create or update a threshold: validated (rate, window, a scope target of the company, one per target),
    audited with before/after. Live alerts follow the change at the next evaluation."""
    before: dict[str, Any] | None = None
    if threshold.pk is None:
        threshold.tenant = tenant
    else:
        if threshold.tenant_id != tenant.pk:
            raise ValidationError(_("This threshold belongs to another company."))
        stored = RefundRateThreshold.objects.select_for_update().filter(tenant=tenant, pk=threshold.pk).first()
        if stored is None:
            raise ValidationError(_("This threshold was deleted meanwhile."))
        if stored.scope == ThresholdScope.DEFAULT and threshold.scope != ThresholdScope.DEFAULT:
            raise ValidationError(_("The company default stays the default; add an override instead."))
        before = threshold_values(stored)
    _threshold_check(tenant=tenant, threshold=threshold)
    threshold.full_clean(exclude=["tenant"])
    threshold.updated_at = timezone.now()
    created = threshold.pk is None
    threshold.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="refunds.threshold_created" if created else "refunds.threshold_updated",
        target=threshold,
        before=before,
        after=threshold_values(threshold),
    )
    return threshold


@transaction.atomic
def threshold_delete(*, tenant: Tenant, threshold: RefundRateThreshold, actor: User | None) -> None:
    """Delete an override (the company default cannot be deleted, only changed or disabled). Audited."""
    if threshold.tenant_id != tenant.pk:
        raise ValidationError(_("This threshold belongs to another company."))
    if threshold.scope == ThresholdScope.DEFAULT:
        raise ValidationError(_("The company default cannot be deleted; change it or disable it instead."))
    before = threshold_values(threshold)
    audit_record(tenant=tenant, actor=actor, action="refunds.threshold_deleted", target=threshold, before=before)
    RefundRateThreshold.objects.filter(tenant=tenant, pk=threshold.pk).delete()


def threshold_list(*, tenant: Tenant) -> QuerySet[RefundRateThreshold]:
    """Every threshold of the company: the default, then SKU, store and category overrides."""
    return (
        RefundRateThreshold.objects.filter(tenant=tenant)
        .select_related("product", "store")
        .annotate(
            rank=Case(
                When(scope=ThresholdScope.DEFAULT, then=Value(0)),
                When(scope=ThresholdScope.PRODUCT, then=Value(1)),
                When(scope=ThresholdScope.STORE, then=Value(2)),
                default=Value(3),
            )
        )
        .order_by("rank", "pk")
    )


# The alert filter's "store" value for the alerts across all channels (store empty).
ALL_STORES = "all"


@dataclass(frozen=True)
class Applied:
    """The threshold that applies to a SKU's row, and whether the row's rate is above it."""

    threshold: RefundRateThreshold | None
    above: bool


@dataclass
class ThresholdTable:
    """The company's enabled thresholds, loaded with one query and indexed for the most-specific-first lookup
    (SKU > store > the company's main category > default) without a query per SKU."""

    default: RefundRateThreshold | None
    category: RefundRateThreshold | None
    by_product: dict[int, RefundRateThreshold]
    by_store: dict[int, RefundRateThreshold]

    def across_channels(self, product_id: int) -> RefundRateThreshold | None:
        return self.by_product.get(product_id) or self.category or self.default

    def for_store(self, product_id: int, store_id: int) -> RefundRateThreshold | None:
        return self.by_product.get(product_id) or self.by_store.get(store_id) or self.category or self.default

    def for_sku(self, *, product_id: int, store_id: int | None = None) -> RefundRateThreshold | None:
        return self.for_store(product_id, store_id) if store_id else self.across_channels(product_id)

    def applied(self, row: SkuRate, *, window_days: int, store_id: int | None = None) -> Applied:
        """The threshold for the row's SKU and whether its rate over `window_days` is above it (only a
        threshold of that window with enough units sold can be passed)."""
        threshold = self.for_sku(product_id=row.product_id, store_id=store_id)
        return Applied(threshold, threshold_passed(threshold, row, window_days=window_days))


def threshold_passed(threshold: RefundRateThreshold | None, row: SkuRate, *, window_days: int) -> bool:
    rate = row.rate_percent
    return (
        threshold is not None
        and rate is not None
        and threshold.window_days == window_days
        and row.units_sold >= threshold.min_units_sold
        and rate > threshold.rate_percent
    )


def threshold_table(*, tenant: Tenant) -> ThresholdTable:
    """Every enabled threshold of the company (the default is created on first use, as the engine does)."""
    threshold_default(tenant=tenant)
    rows = list(RefundRateThreshold.objects.filter(tenant=tenant, enabled=True).order_by("pk"))
    default = next((row for row in rows if row.scope == ThresholdScope.DEFAULT), None)
    category = next(
        (row for row in rows if row.scope == ThresholdScope.CATEGORY and row.category == tenant.main_category), None
    )
    return ThresholdTable(
        default=default,
        category=category,
        by_product={row.product_id: row for row in rows if row.scope == ThresholdScope.PRODUCT and row.product_id},
        by_store={row.store_id: row for row in rows if row.scope == ThresholdScope.STORE and row.store_id},
    )


def threshold_overrides(*, tenant: Tenant) -> QuerySet[RefundRateThreshold]:
    """The SKU, store and category overrides (not the default), for the settings page."""
    return (
        RefundRateThreshold.objects.filter(tenant=tenant)
        .exclude(scope=ThresholdScope.DEFAULT)
        .select_related("product", "store")
        .order_by("scope", "category", "product__sku", "store__name", "pk")
    )


def threshold_override_get(*, tenant: Tenant, pk: int) -> RefundRateThreshold | None:
    return threshold_overrides(tenant=tenant).filter(pk=pk).first()


def threshold_for(*, tenant: Tenant, product: Product, store: Store | None = None) -> RefundRateThreshold | None:
    """The enabled threshold that applies to the SKU (in the store, if given): SKU > store > category
    (the company's main category) > default. None when everything is disabled."""
    table = threshold_table(tenant=tenant)
    if store is None:
        return table.across_channels(product.pk)
    return table.for_store(product.pk, store.pk)


# --- alerts -------------------------------------------------------------------------------------------------


@dataclass
class EvaluateCounts:
    raised: int = 0
    updated: int = 0
    resolved: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"raised": self.raised, "updated": self.updated, "resolved": self.resolved}


def alert_link(alert: RefundRateAlert) -> str:
    try:
        return reverse("refunds:alert-detail", kwargs={"alert_pk": alert.pk})
    except NoReverseMatch:
        return ALERTS_FALLBACK_URL


def _top_tags(
    *, tenant: Tenant, product_ids: Sequence[int], store_id: int | None, window_days: int, today: date
) -> dict[int, list[dict[str, Any]]]:
    """Per product: its refunds in the window counted by reason tag, the most frequent first (top 3)."""
    if not product_ids:
        return {}
    start = datetime.combine(today - timedelta(days=window_days - 1), time.min, tzinfo=UTC)
    end = start + timedelta(days=window_days)
    query = RefundLine.objects.filter(
        tenant=tenant,
        product_id__in=list(product_ids),
        refund__status=RefundStatus.SUCCEEDED,
        refund__refunded_at__gte=start,
        refund__refunded_at__lt=end,
    ).exclude(refund__tag="")
    if store_id is not None:
        query = query.filter(refund__store_id=store_id)
    rows = (
        query.order_by()
        .values("product_id", "refund__tag")
        .annotate(refunds=Count("refund_id", distinct=True))
        .values_list("product_id", "refund__tag", "refunds")
    )
    labels = dict(ReasonTag.choices)
    found: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for product_id, tag, refunds in rows:
        found[product_id].append((refunds, tag))
    return {
        product_id: [
            {"tag": tag, "label": str(labels.get(tag, tag)), "count": refunds}
            for refunds, tag in sorted(pairs, key=lambda pair: (-pair[0], pair[1]))[:TOP_TAGS]
        ]
        for product_id, pairs in found.items()
    }


def _notify_raised(*, tenant: Tenant, alert: RefundRateAlert, sku: str, name: str) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        where = alert.store.name if alert.store is not None else _("all channels")
        title = message(
            gettext_noop("Refund rate alert: %(sku)s at %(rate)s%% over %(days)s days"),
            sku=sku,
            rate=alert.rate_percent,
            days=alert.window_days,
        )
        tags = ", ".join(f"{tag['label']} ({tag['count']})" for tag in alert.top_tags) or _("none tagged yet")
        body = [
            message(gettext_noop("SKU: %(sku)s — %(name)s"), sku=sku, name=name),
            message(gettext_noop("Where: %(where)s"), where=where),
            message(
                gettext_noop("Refund rate: %(rate)s%% (%(refunded)s of %(sold)s units) over the last %(days)s days"),
                rate=alert.rate_percent,
                refunded=alert.units_refunded,
                sold=alert.units_sold,
                days=alert.window_days,
            ),
            message(gettext_noop("Threshold: %(threshold)s%%"), threshold=alert.threshold_percent),
            message(gettext_noop("Top reason tags: %(tags)s"), tags=tags),
        ]
    notify(tenant=tenant, kind="refund_rate_alert", title=title, body=body, link=alert_link(alert))


def _resolve_line(threshold_percent: Decimal) -> Decimal:
    return threshold_percent * RESOLVE_FRACTION


@dataclass(frozen=True)
class _Check:
    product_id: int
    scope_key: str
    store_id: int | None
    threshold: RefundRateThreshold


def alerts_evaluate(
    *, tenant: Tenant, product_ids: Iterable[int] | None = None, today: date | None = None
) -> dict[str, int]:
    """Raise, refresh and resolve the company's refund-rate alerts (for every SKU, or the given ones).
    Per window one refund_rates call across channels, plus one per enabled store threshold."""
    today = today or timezone.now().date()
    ids = sorted(set(product_ids)) if product_ids is not None else None
    table = threshold_table(tenant=tenant)
    counts = EvaluateCounts()

    live_query = RefundRateAlert.objects.filter(tenant=tenant, status__in=LIVE)
    if ids is not None:
        live_query = live_query.filter(product_id__in=ids)
    live = {(alert.product_id, alert.scope_key, alert.window_days): alert for alert in live_query}

    # Rates across channels: one query per window in use.
    windows = {t.window_days for t in (table.default, table.category, *table.by_product.values()) if t is not None}
    windows |= {alert.window_days for alert in live.values() if alert.scope_key == ALL}
    across: dict[int, dict[int, SkuRate]] = {}
    for window in sorted(windows):
        rates = refund_rates(tenant=tenant, window_days=window, basis=REFUND_DATE, product_ids=ids, today=today)
        across[window] = {rate.product_id: rate for rate in rates}
    # Rates per store, for store thresholds (and live store alerts).
    store_windows: dict[int, set[int]] = defaultdict(set)
    for store_id, store_threshold in table.by_store.items():
        store_windows[store_id].add(store_threshold.window_days)
    for alert in live.values():
        if alert.scope_key != ALL and alert.store_id is not None:
            store_windows[alert.store_id].add(alert.window_days)
    per_store: dict[tuple[int, int], dict[int, SkuRate]] = {}
    for store_id, store_window_set in store_windows.items():
        for window in sorted(store_window_set):
            rates = refund_rates(
                tenant=tenant, window_days=window, basis=REFUND_DATE, store_id=store_id, product_ids=ids, today=today
            )
            per_store[(store_id, window)] = {rate.product_id: rate for rate in rates}

    # What to check: (product, scope) → the threshold that applies there.
    checks: dict[tuple[int, str], _Check] = {}
    product_universe = {pid for rates in across.values() for pid in rates}
    product_universe |= {pid for rates in per_store.values() for pid in rates}
    product_universe |= {key[0] for key in live}
    for product_id in product_universe:
        threshold = table.across_channels(product_id)
        if threshold is not None:
            checks[(product_id, ALL)] = _Check(product_id, ALL, None, threshold)
        if product_id in table.by_product:
            continue  # a SKU override is the SKU's rule everywhere
        for store_id, store_threshold in table.by_store.items():
            checks[(product_id, store_scope_key(store_id))] = _Check(
                product_id, store_scope_key(store_id), store_id, store_threshold
            )

    def rate_of(check: _Check, window: int) -> SkuRate | None:
        if check.store_id is None:
            return across.get(window, {}).get(check.product_id)
        return per_store.get((check.store_id, window), {}).get(check.product_id)

    now = timezone.now()
    # Live alerts: refresh or resolve.
    for (product_id, scope_key, window), alert in live.items():
        check = checks.get((product_id, scope_key))
        rate = None
        if check is not None and check.threshold.window_days == window:
            rate = rate_of(check, window)
            still_applies = True
        else:
            still_applies = False
        percent = rate.rate_percent if rate is not None else None
        quiet = rate is None or (rate.units_sold == 0 and rate.units_refunded == 0)
        if (
            not still_applies
            or quiet
            or (percent is not None and check is not None and percent <= _resolve_line(check.threshold.rate_percent))
        ):
            if _alert_resolve(alert=alert, rate=rate, now=now):
                counts.resolved += 1
            continue
        assert rate is not None
        fields: list[str] = []
        latest = percent if percent is not None else alert.latest_rate_percent
        for name, value in (
            ("latest_rate_percent", latest),
            ("units_sold", rate.units_sold),
            ("units_refunded", rate.units_refunded),
        ):
            if getattr(alert, name) != value:
                setattr(alert, name, value)
                fields.append(name)
        if fields:
            alert.updated_at = now
            RefundRateAlert.objects.filter(pk=alert.pk, status__in=LIVE).update(
                **{name: getattr(alert, name) for name in fields}, updated_at=now
            )
            counts.updated += 1

    # New crossings.
    to_raise: list[tuple[_Check, SkuRate]] = []
    for check in checks.values():
        threshold = check.threshold
        if (check.product_id, check.scope_key, threshold.window_days) in live:
            continue
        rate = rate_of(check, threshold.window_days)
        if rate is None or rate.units_sold < threshold.min_units_sold:
            continue
        percent = rate.rate_percent
        if percent is None or percent <= threshold.rate_percent:
            continue
        to_raise.append((check, rate))
    if to_raise:
        tags: dict[tuple[int | None, int], dict[int, list[dict[str, Any]]]] = {}
        groups: dict[tuple[int | None, int], list[int]] = defaultdict(list)
        for check, _rate in to_raise:
            groups[(check.store_id, check.threshold.window_days)].append(check.product_id)
        for (group_store_id, window), group_ids in groups.items():
            tags[(group_store_id, window)] = _top_tags(
                tenant=tenant, product_ids=group_ids, store_id=group_store_id, window_days=window, today=today
            )
        stores = {store.pk: store for store in Store.objects.filter(tenant=tenant, pk__in=list(table.by_store))}
        for check, rate in to_raise:
            window = check.threshold.window_days
            if _alert_raise(
                tenant=tenant,
                check=check,
                rate=rate,
                store=stores.get(check.store_id) if check.store_id is not None else None,
                top_tags=tags[(check.store_id, window)].get(check.product_id, []),
                now=now,
            ):
                counts.raised += 1
    return counts.as_dict()


def _alert_raise(
    *,
    tenant: Tenant,
    check: _Check,
    rate: SkuRate,
    store: Store | None,
    top_tags: list[dict[str, Any]],
    now: Any,
) -> bool:
    """Create the one live alert and notify, unless another run created it first (then nothing)."""
    percent = rate.rate_percent
    assert percent is not None
    threshold = check.threshold
    try:
        with transaction.atomic():
            alert = RefundRateAlert.objects.create(
                tenant=tenant,
                product_id=check.product_id,
                store=store,
                threshold=threshold,
                scope_key=check.scope_key,
                status=AlertStatus.OPEN,
                window_days=threshold.window_days,
                threshold_percent=threshold.rate_percent,
                rate_percent=percent,
                latest_rate_percent=percent,
                units_sold=rate.units_sold,
                units_refunded=rate.units_refunded,
                top_tags=top_tags,
                opened_at=now,
                updated_at=now,
            )
            _notify_raised(tenant=tenant, alert=alert, sku=rate.sku, name=rate.name)
    except IntegrityError:
        logger.info(
            "refund_alert_already_live",
            extra={"tenant_id": tenant.pk, "product_id": check.product_id, "scope": check.scope_key},
        )
        return False
    logger.info(
        "refund_alert_raised",
        extra={"tenant_id": tenant.pk, "product_id": check.product_id, "scope": check.scope_key, "rate": percent},
    )
    return True


def _alert_resolve(*, alert: RefundRateAlert, rate: SkuRate | None, now: Any) -> bool:
    values: dict[str, Any] = {"status": AlertStatus.RESOLVED, "resolved_at": now, "updated_at": now}
    if rate is not None:
        if rate.rate_percent is not None:
            values["latest_rate_percent"] = rate.rate_percent
        values["units_sold"], values["units_refunded"] = rate.units_sold, rate.units_refunded
    return bool(RefundRateAlert.objects.filter(pk=alert.pk, status__in=LIVE).update(**values))


@transaction.atomic
def alert_acknowledge(*, tenant: Tenant, alert: RefundRateAlert, actor: User | None, note: str) -> RefundRateAlert:
    """A person has seen the alert: it stays quiet (no new alert) until the rate falls back. Note required;
    audited. Only an open alert can be acknowledged."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say what is being done about it.")})
    row = RefundRateAlert.objects.select_for_update().filter(tenant=tenant, pk=alert.pk).first()
    if row is None:
        raise ValidationError(_("This alert belongs to another company."))
    if row.status != AlertStatus.OPEN:
        raise ValidationError(_("Only an open alert can be acknowledged."))
    before = {"status": row.status}
    now = timezone.now()
    row.status, row.acknowledged_at, row.acknowledged_by = AlertStatus.ACKNOWLEDGED, now, actor
    row.acknowledgement_note, row.updated_at = note[:2000], now
    row.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "acknowledgement_note", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="refunds.alert_acknowledged",
        target=row,
        before=before,
        after={"status": row.status, "note": row.acknowledgement_note},
    )
    return row


def alert_list(
    *,
    tenant: Tenant,
    status: str | None = None,
    store: int | str | None = None,
    sku: str = "",
    product_id: int | None = None,
) -> QuerySet[RefundRateAlert]:
    """The company's alerts, optionally of one status, one store (ALL_STORES: the alerts across channels),
    SKUs containing `sku`, or one product."""
    query = RefundRateAlert.objects.filter(tenant=tenant).select_related("product", "store", "acknowledged_by")
    if store == ALL_STORES:
        query = query.filter(store__isnull=True)
    elif store:
        query = query.filter(store_id=int(store))
    if sku:
        query = query.filter(product__sku__icontains=sku)
    if product_id is not None:
        query = query.filter(product_id=product_id)
    return query.filter(status=status) if status else query


def alert_status_counts(alerts: QuerySet[RefundRateAlert]) -> dict[str, int]:
    """How many of the alerts are in each status, and "all" (one query)."""
    return alerts.aggregate(
        **{value: Count("pk", filter=Q(status=value)) for value in AlertStatus.values}, all=Count("pk")
    )


def alert_get(*, tenant: Tenant, pk: int) -> RefundRateAlert | None:
    return alert_list(tenant=tenant).filter(pk=pk).first()


def alerts_open_count(*, tenant: Tenant) -> int:
    return RefundRateAlert.objects.filter(Q(status__in=LIVE), tenant=tenant).count()


# --- when to evaluate ----------------------------------------------------------------------------------------


def refunds_changed(*, tenant_id: int, product_ids: Iterable[int]) -> None:
    """Refunds of these SKUs arrived or succeeded (inside the caller's transaction): evaluate their alerts
    once after commit, one task per transaction and tenant. Never raises into the caller."""
    ids = {pid for pid in product_ids if pid}
    if not ids:
        return
    try:
        on_commit_gathered(key=("refunds.alerts", tenant_id), ids=ids, run=partial(_evaluate_after_commit, tenant_id))
    except Exception:  # alerts must never break an ingest
        logger.exception("refund_alerts_hook_failed", extra={"tenant_id": tenant_id})


def _evaluate_after_commit(tenant_id: int, product_ids: list[int]) -> None:
    # The rollup (refunds.rates) is refreshed inside the same transaction: the rates are current now.
    enqueue_now("refunds.evaluate_refund_alerts", tenant_id=tenant_id, product_ids=product_ids)


def refund_product_ids(refund_ids: Iterable[int]) -> set[int]:
    """The master SKUs of these refunds' lines."""
    return set(
        RefundLine.objects.filter(refund_id__in=list(refund_ids), product_id__isnull=False)
        .values_list("product_id", flat=True)
        .distinct()
    )
