"""After-sales monitoring: customer service hears of new return requests and flagged refunds at once, and
every company gets a weekly digest.

Return requests and flagged refunds (kinds return_request, refund_flagged). The ingest writes one
ServiceNotice per item in its own transaction (`service_notices_add`), so none is lost with a lost task.
After commit, the first arrival of a quiet tenant is sent at once and opens a batch window
(`ACORN_SERVICE_NOTICE_BATCH_SECONDS`, a cache key and a countdown task); what arrives while the window is
open waits for the end of the window and goes out as one notification. Whatever is sent together: one item →
its own notification with its link; several → one "N new return requests" with a link to the list. A window
that sent something stays open one more period (a steady stream gives one notification per period); a quiet
one closes, so the next arrival goes out at once again. The beat sends notices left behind by a lost task.

A new return request is a Return created by the ingest from an Amazon MFN return request or a Shopify
return (not an FBA customer return, which Amazon processes itself, nor a WooCommerce refund with items, which
the shop has already decided). A flagged refund is one a rule newly flagged for
customer service during the ingest.

Sync failures and interrupted store authorisations: channels.sync notifies admins (sync_failed) once per
failure streak (at the third failure in a row), and channels.services notifies (store_auth_interrupted) when
a store turns AUTH_INTERRUPTED; nothing is added here.

The weekly digest (`weekly_digest_send`): one weekly_digest notification per company for the last ISO week,
recorded in DigestSent so that the week is never sent twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from acorn.money import format_amount, quantize_amount
from acorn.notifications.messages import Message, message
from acorn.notifications.services import notify
from acorn.tasks import enqueue_now
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from acorn.transactions import on_commit_gathered
from channels.models import Store
from orders.models import Order
from refunds.alerts import refund_product_ids, refunds_changed, threshold_default
from refunds.models import (
    AlertStatus,
    DigestSent,
    Refund,
    RefundRateAlert,
    RefundStatus,
    Return,
    ReturnSource,
    ServiceNotice,
    ServiceNoticeKind,
)
from refunds.rates import refund_rates
from refunds.review import flagged_returns

logger = logging.getLogger(__name__)

# Returns customer service decides on: an MFN return request, a Shopify return. Not FBA customer returns
# (Amazon processes them) nor WooCommerce's (a refund with items, already decided in the shop).
RETURN_REQUEST_SOURCES = frozenset({ReturnSource.AMAZON_MFN, ReturnSource.SHOPIFY})
# How many items a batch notification lists by name.
LISTED = 10
DIGEST_TOP_SKUS = 5
DEBOUNCE_GRACE_SECONDS = 60


def batch_seconds() -> int:
    return int(getattr(settings, "ACORN_SERVICE_NOTICE_BATCH_SECONDS", 120))


def _window_key(tenant_id: int) -> str:
    return f"refunds:service-notices:{tenant_id}"


def _url(name: str, query: str = "", **kwargs: Any) -> str:
    try:
        return reverse(name, kwargs=kwargs) + query
    except NoReverseMatch:
        return "/app/refunds/"


# --- customer-service notices ---------------------------------------------------------------------------------


def service_notices_add(*, tenant_id: int, kind: str, object_ids: Iterable[int]) -> None:
    """Inside the caller's transaction: these items are news for customer service. Sent after commit."""
    ids = sorted(set(object_ids))
    if not ids:
        return
    ServiceNotice.objects.bulk_create(
        [ServiceNotice(tenant_id=tenant_id, kind=kind, object_id=object_id) for object_id in ids]
    )
    on_commit_gathered(
        key=("refunds.service_notices", tenant_id),
        ids=(),
        run=lambda _ids: service_notices_arrived(tenant_id=tenant_id),
    )


def after_refunds_page(*, store: Store, refund_ids: Sequence[int], flagged_ids: Sequence[int]) -> None:
    """Inside the refunds ingest's transaction: evaluate the touched SKUs' refund-rate alerts after commit,
    and tell customer service about refunds a rule newly flagged."""
    if refund_ids:
        refunds_changed(tenant_id=store.tenant_id, product_ids=refund_product_ids(refund_ids))
    service_notices_add(tenant_id=store.tenant_id, kind=ServiceNoticeKind.REFUND_FLAGGED, object_ids=flagged_ids)


def service_notices_arrived(*, tenant_id: int) -> int:
    """After commit: a quiet tenant's notices go out now and open a batch window; within an open window they
    wait for its end. Returns how many notifications were sent now."""
    seconds = batch_seconds()
    if not cache.add(_window_key(tenant_id), True, timeout=seconds + DEBOUNCE_GRACE_SECONDS):
        return 0
    sent = service_notices_send(tenant_id=tenant_id)
    _schedule_window_end(tenant_id, seconds)
    return sent


def _schedule_window_end(tenant_id: int, seconds: int) -> None:
    enqueue_now("refunds.flush_service_notices", countdown=seconds, tenant_id=tenant_id)


def service_notices_window_end(*, tenant_id: int) -> int:
    """The end of a batch window: send what waited; keep the window open one more period if anything was
    sent, else close it so that the next arrival goes out at once."""
    sent = service_notices_send(tenant_id=tenant_id)
    seconds = batch_seconds()
    if sent:
        cache.set(_window_key(tenant_id), True, timeout=seconds + DEBOUNCE_GRACE_SECONDS)
        _schedule_window_end(tenant_id, seconds)
    else:
        cache.delete(_window_key(tenant_id))
    return sent


def service_notices_send(*, tenant_id: int, older_than: datetime | None = None) -> int:
    """Claim the tenant's waiting notices and send one notification per kind (one item: its own; several:
    a batch). Returns the number of notifications sent (not recipients)."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return 0
    with transaction.atomic():
        waiting = ServiceNotice.objects.filter(tenant_id=tenant_id, sent_at__isnull=True)
        if older_than is not None:
            waiting = waiting.filter(created_at__lt=older_than)
        rows = list(waiting.order_by("pk").select_for_update(skip_locked=True))
        if not rows:
            return 0
        ServiceNotice.objects.filter(pk__in=[row.pk for row in rows]).update(sent_at=timezone.now())
        by_kind: dict[str, list[int]] = defaultdict(list)
        for row in rows:
            if row.object_id not in by_kind[row.kind]:
                by_kind[row.kind].append(row.object_id)
        sent = 0
        with translation.override(settings.LANGUAGE_CODE):
            if by_kind.get(ServiceNoticeKind.RETURN_REQUEST):
                sent += _notify_returns(tenant, by_kind[ServiceNoticeKind.RETURN_REQUEST])
            if by_kind.get(ServiceNoticeKind.REFUND_FLAGGED):
                sent += _notify_flagged(tenant, by_kind[ServiceNoticeKind.REFUND_FLAGGED])
    return sent


def service_notices_send_stale_unscoped() -> int:
    """Beat, across tenants: notices whose window task was lost (waiting longer than two windows) are sent now,
    each active tenant's inside its own scope."""
    cutoff = timezone.now() - timedelta(seconds=2 * batch_seconds() + DEBOUNCE_GRACE_SECONDS)
    with dangerously_unscoped():
        waiting = ServiceNotice.objects.filter(sent_at__isnull=True, created_at__lt=cutoff).values("tenant_id")
        tenants = list(Tenant.objects.filter(is_active=True, pk__in=waiting).order_by("pk"))
    sent = 0
    for tenant in tenants:
        with tenant_scope(tenant):
            sent += service_notices_send(tenant_id=tenant.pk, older_than=cutoff)
    return sent


def _return_line(record: Return) -> str:
    return _("Order %(order)s — %(sku)s x %(quantity)s (%(store)s)") % {
        "order": record.order_external_id,
        "sku": record.product.sku if record.product is not None else record.sku,
        "quantity": record.quantity,
        "store": record.store.name,
    }


def _notify_returns(tenant: Tenant, ids: list[int]) -> int:
    records = list(
        Return.objects.filter(tenant=tenant, pk__in=ids).select_related("store", "product").order_by("returned_at")
    )
    if not records:
        return 0
    if len(records) == 1:
        record = records[0]
        lines = [_return_line(record), _("Status: %(status)s") % {"status": record.get_status_display()}]
        if record.reason_code:
            lines.append(_("Reason: %(reason)s") % {"reason": record.reason_code})
        if record.customer_comment:
            lines.append(_("Customer's words: %(comment)s") % {"comment": record.customer_comment[:500]})
        notify(
            tenant=tenant,
            kind="return_request",
            title=message(gettext_noop("New return request: order %(order)s"), order=record.order_external_id),
            body="\n".join(lines),
            link=_url("refunds:return-detail", return_pk=record.pk),
        )
        return 1
    count = len(records)
    lines = [_return_line(record) for record in records[:LISTED]]
    if count > LISTED:
        lines.append(_("… and %(more)s more") % {"more": count - LISTED})
    statuses = {record.status for record in records}
    query = f"?status={statuses.pop()}" if len(statuses) == 1 else ""
    notify(
        tenant=tenant,
        kind="return_request",
        title=ngettext("%(count)s new return request", "%(count)s new return requests", count) % {"count": count},
        body="\n".join(lines),
        link=_url("refunds:return-list", query),
    )
    return 1


def _refund_line(refund: Refund) -> str:
    return _("Order %(order)s — %(amount)s %(currency)s (%(store)s)") % {
        "order": refund.order_external_id,
        "amount": refund.amount,
        "currency": refund.currency,
        "store": refund.store.name,
    }


def _notify_flagged(tenant: Tenant, ids: list[int]) -> int:
    refunds = list(
        Refund.objects.filter(tenant=tenant, pk__in=ids, flagged_for_service=True)
        .select_related("store", "matched_rule")
        .order_by("refunded_at")
    )
    if not refunds:
        return 0
    if len(refunds) == 1:
        refund = refunds[0]
        lines = [_refund_line(refund)]
        if refund.matched_rule is not None:
            lines.append(_("Rule: %(rule)s") % {"rule": refund.matched_rule.name})
        if refund.tag:
            lines.append(_("Reason tag: %(tag)s") % {"tag": refund.get_tag_display()})
        if refund.customer_comment:
            lines.append(_("Customer's words: %(comment)s") % {"comment": refund.customer_comment[:500]})
        notify(
            tenant=tenant,
            kind="refund_flagged",
            title=message(
                gettext_noop("Refund flagged for customer service: order %(order)s"), order=refund.order_external_id
            ),
            body="\n".join(lines),
            link=_url("refunds:refund-detail", refund_pk=refund.pk),
        )
        return 1
    count = len(refunds)
    lines = [_refund_line(refund) for refund in refunds[:LISTED]]
    if count > LISTED:
        lines.append(_("… and %(more)s more") % {"more": count - LISTED})
    notify(
        tenant=tenant,
        kind="refund_flagged",
        title=ngettext(
            "%(count)s refund flagged for customer service", "%(count)s refunds flagged for customer service", count
        )
        % {"count": count},
        body="\n".join(lines),
        link=_url("refunds:refund-list"),
    )
    return 1


# --- weekly digest --------------------------------------------------------------------------------------------


@dataclass
class WeeklyDigest:
    week_start: date
    week_end: date
    orders: int = 0
    refunds: int = 0
    refunds_amount: Decimal = Decimal(0)
    reporting_currency: str = ""
    refunds_unconverted: int = 0
    units_sold: int = 0
    units_refunded: int = 0
    rate_percent: Decimal | None = None
    min_units: int = 0
    top_skus: list[dict[str, Any]] = field(default_factory=list)
    open_alerts: int = 0
    returns_to_review: int = 0
    approvals_waiting: int = 0


def last_week(today: date) -> tuple[date, date]:
    """Monday and Sunday of the ISO week before the one `today` is in."""
    monday = today - timedelta(days=today.weekday()) - timedelta(days=7)
    return monday, monday + timedelta(days=6)


def weekly_digest_figures(*, tenant: Tenant, today: date | None = None) -> WeeklyDigest:
    """Last week's figures of the company (UTC days Monday to Sunday)."""
    today = today or timezone.now().date()
    start_day, end_day = last_week(today)
    start = datetime.combine(start_day, time.min, tzinfo=UTC)
    end = start + timedelta(days=7)
    digest = WeeklyDigest(week_start=start_day, week_end=end_day, reporting_currency=tenant.reporting_currency)
    digest.orders = Order.objects.filter(tenant=tenant, purchased_at__gte=start, purchased_at__lt=end).count()
    refunds = Refund.objects.filter(
        tenant=tenant, status=RefundStatus.SUCCEEDED, refunded_at__gte=start, refunded_at__lt=end
    )
    digest.refunds = refunds.count()
    converted = refunds.filter(reporting_currency=tenant.reporting_currency, reporting_amount__isnull=False)
    # Quantised to the reporting currency's own minor unit (no decimals for JPY, three for KWD).
    digest.refunds_amount = quantize_amount(
        converted.aggregate(total=Sum("reporting_amount"))["total"] or Decimal(0), tenant.reporting_currency
    )
    digest.refunds_unconverted = digest.refunds - converted.count()
    rates = refund_rates(tenant=tenant, window_days=7, today=end_day)
    digest.units_sold = sum(rate.units_sold for rate in rates)
    digest.units_refunded = sum(rate.units_refunded for rate in rates)
    if digest.units_sold:
        digest.rate_percent = (Decimal(100) * digest.units_refunded / digest.units_sold).quantize(Decimal("0.01"))
    digest.min_units = threshold_default(tenant=tenant).min_units_sold
    ranked = sorted(
        (rate for rate in rates if rate.units_sold >= digest.min_units and rate.units_refunded),
        key=lambda rate: (-(rate.rate_percent or 0), rate.sku),
    )[:DIGEST_TOP_SKUS]
    digest.top_skus = [
        {
            "sku": rate.sku,
            "name": rate.name,
            "rate": rate.rate_percent,
            "refunded": rate.units_refunded,
            "sold": rate.units_sold,
        }
        for rate in ranked
    ]
    digest.open_alerts = RefundRateAlert.objects.filter(
        tenant=tenant, status__in=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
    ).count()
    digest.returns_to_review = flagged_returns(tenant=tenant).count()
    digest.approvals_waiting = Refund.objects.filter(tenant=tenant, status=RefundStatus.PENDING_APPROVAL).count()
    return digest


def weekly_digest_messages(*, tenant: Tenant, digest: WeeklyDigest) -> list[Message]:
    """The digest's lines as messages, so that each reader gets it in their language (in the console and by
    email), whoever wrote it (the worker)."""
    lines = [
        message(
            gettext_noop("%(tenant)s — the week from %(start)s to %(end)s (UTC)"),
            tenant=tenant.name,
            start=digest.week_start,
            end=digest.week_end,
        ),
        message(gettext_noop("Orders: %(count)s"), count=digest.orders),
        message(
            gettext_noop("Refunds: %(count)s, %(amount)s %(currency)s"),
            count=digest.refunds,
            amount=format_amount(digest.refunds_amount, digest.reporting_currency),
            currency=digest.reporting_currency,
        ),
    ]
    if digest.refunds_unconverted:
        lines.append(
            message(
                gettext_noop("(%(count)s without an exchange rate yet, not in the amount)"),
                count=digest.refunds_unconverted,
            )
        )
    if digest.rate_percent is not None:
        lines.append(
            message(
                gettext_noop("Refund rate: %(rate)s%% (%(refunded)s of %(sold)s units)"),
                rate=str(digest.rate_percent),
                refunded=digest.units_refunded,
                sold=digest.units_sold,
            )
        )
    else:
        lines.append(message(gettext_noop("Refund rate: no units sold")))
    lines.append(
        message(gettext_noop("Highest refund rates (SKUs with at least %(min)s units sold):"), min=digest.min_units)
    )
    for rank, row in enumerate(digest.top_skus, start=1):
        lines.append(
            message(
                gettext_noop("%(rank)s. %(sku)s — %(name)s: %(rate)s%% (%(refunded)s / %(sold)s)"),
                rank=rank,
                sku=row["sku"],
                name=row["name"],
                rate=str(row["rate"]),
                refunded=row["refunded"],
                sold=row["sold"],
            )
        )
    if not digest.top_skus:
        lines.append(message(gettext_noop("none")))
    lines += [
        message(gettext_noop("Open refund-rate alerts: %(count)s"), count=digest.open_alerts),
        message(gettext_noop("Returns waiting for review: %(count)s"), count=digest.returns_to_review),
        message(gettext_noop("Refunds waiting for approval: %(count)s"), count=digest.approvals_waiting),
    ]
    return lines


def weekly_digest_send(*, tenant: Tenant, today: date | None = None) -> bool:
    """Send last week's digest to the subscribed members, once per ISO week. True if sent now."""
    digest = weekly_digest_figures(tenant=tenant, today=today)
    try:
        with transaction.atomic():
            DigestSent.objects.create(tenant=tenant, week=digest.week_start)
            title = message(
                gettext_noop("Weekly digest: %(start)s to %(end)s"),
                start=digest.week_start,
                end=digest.week_end,
            )
            with translation.override(settings.LANGUAGE_CODE):  # the amount's digits, grouped the same in both
                body = weekly_digest_messages(tenant=tenant, digest=digest)
            notify(tenant=tenant, kind="weekly_digest", title=title, body=body, link=_url("refunds:refund-list"))
    except IntegrityError:
        logger.info("weekly_digest_already_sent", extra={"tenant_id": tenant.pk, "week": str(digest.week_start)})
        return False
    return True
