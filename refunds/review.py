"""The review queue: refunds and returns a person should look at, each section one query (never everything
loaded into Python), and the "mark reviewed" action.

Sections:
- ``returns``: returns the sync flagged with a review reason, e.g. ``no_tracking`` (an FBA customer return
  without carrier tracking: it needs a look, it is not "unprocessed");
- ``not_returned``: refunds of shipped orders that gave the item price back, older than the return window
  (setting ACORN_REFUND_RETURN_WINDOW_DAYS, 30 days), with no return linked and none for the order and SKU;
- ``not_refunded``: returns received more than ACORN_RETURN_REFUND_GRACE_DAYS (3) days ago with no refund
  for their order and SKU;
- ``refunds``: refunds the sync flagged with a review reason, e.g. ``exceeds_order``.

Marking a row reviewed keeps its review reason and records which reason was reviewed, by whom and when
(`reviewed_reason`, `reviewed_by`, `reviewed_at`): the row leaves the queue, and comes back only if a
different reason is raised later. Only one reviewed reason is remembered per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from acorn.audit.services import audit_record, snapshot
from acorn.tenancy.models import Tenant
from orders.models import OrderStatus
from refunds.models import Refund, RefundLine, RefundStatus, Return, ReturnStatus
from refunds.selectors import COUNT_CAP, open_review

if TYPE_CHECKING:
    from django.contrib.auth.models import User

NOT_RETURNED = "not_returned"
NOT_REFUNDED = "not_refunded"
# Refunds that are (or will be) money back to the buyer: a return with one of these is refunded.
_REFUNDING = (RefundStatus.SUCCEEDED, RefundStatus.APPROVED, RefundStatus.EXECUTING, RefundStatus.PENDING_APPROVAL)

# Known review reason codes → what they mean to a person (unknown codes are shown as they are).
REVIEW_REASON_LABELS: dict[str, Promise] = {
    "no_tracking": _("FBA return without carrier tracking"),
    "exceeds_order": _("Refunds add up to more than the order"),
    NOT_RETURNED: _("Refunded, not returned"),
    NOT_REFUNDED: _("Returned, not refunded"),
}


def reason_label(code: str) -> str:
    return str(REVIEW_REASON_LABELS.get(code, code))


def return_window_days() -> int:
    return int(getattr(settings, "ACORN_REFUND_RETURN_WINDOW_DAYS", 30))


def refund_grace_days() -> int:
    return int(getattr(settings, "ACORN_RETURN_REFUND_GRACE_DAYS", 3))


def flagged_returns(*, tenant: Tenant) -> QuerySet[Return]:
    """Returns with an open review reason (e.g. no_tracking)."""
    return Return.objects.filter(open_review(), tenant=tenant).select_related("store")


def flagged_refunds(*, tenant: Tenant) -> QuerySet[Refund]:
    """Refunds with an open review reason (e.g. exceeds_order)."""
    return Refund.objects.filter(open_review(), tenant=tenant).select_related("store")


def refunded_not_returned(*, tenant: Tenant, now: datetime | None = None) -> QuerySet[Refund]:
    """Refunds of shipped orders that gave the item price back more than the return window ago, with no
    return linked and no return for the order and one of the refunded SKUs (any return of the order, when
    the refund has no lines)."""
    cutoff = (now or timezone.now()) - timedelta(days=return_window_days())
    returns_of_order = Return.objects.filter(
        store_id=OuterRef("store_id"), order_external_id=OuterRef("order_external_id")
    )
    refunded_skus = RefundLine.objects.filter(refund_id=OuterRef(OuterRef("pk"))).values("sku")
    has_lines = Exists(RefundLine.objects.filter(refund_id=OuterRef("pk")))
    return (
        Refund.objects.filter(
            tenant=tenant,
            status=RefundStatus.SUCCEEDED,
            principal_amount__lt=0,
            refunded_at__lte=cutoff,
            order__status__in=[OrderStatus.SHIPPED, OrderStatus.PARTIALLY_SHIPPED],
        )
        .exclude(reviewed_reason=NOT_RETURNED)
        .exclude(Exists(Return.objects.filter(refund_id=OuterRef("pk"))))
        .exclude(Exists(returns_of_order.filter(sku__in=refunded_skus)))
        .exclude(~has_lines & Exists(returns_of_order))
        .select_related("store")
    )


def returned_not_refunded(*, tenant: Tenant, now: datetime | None = None) -> QuerySet[Return]:
    """Returns received more than the grace days ago with no refund linked and no refund (asked, approved
    or made) for their order and SKU (or for the whole order, when the refund has no lines)."""
    cutoff = (now or timezone.now()) - timedelta(days=refund_grace_days())
    refunds_of_order = Refund.objects.filter(
        store_id=OuterRef("store_id"), order_external_id=OuterRef("order_external_id"), status__in=_REFUNDING
    )
    covering = refunds_of_order.filter(
        Q(Exists(RefundLine.objects.filter(refund_id=OuterRef("pk"), sku=OuterRef(OuterRef("sku")))))
        | ~Q(Exists(RefundLine.objects.filter(refund_id=OuterRef("pk"))))
    )
    received = Q(received_at__lte=cutoff) | Q(
        received_at__isnull=True, status=ReturnStatus.RECEIVED, returned_at__lte=cutoff
    )
    return (
        Return.objects.filter(received, tenant=tenant, refund__isnull=True)
        .exclude(status=ReturnStatus.DECLINED)
        .exclude(reviewed_reason=NOT_REFUNDED)
        .exclude(Exists(covering))
        .select_related("store")
    )


@dataclass(frozen=True)
class ReviewSection:
    key: str
    label: Promise
    help_text: Promise
    kind: str  # "refund" or "return": what its rows are
    ordering: str  # keyset ordering of its rows


SECTIONS: tuple[ReviewSection, ...] = (
    ReviewSection(
        "returns",
        _("Returns to check"),
        _("Returns flagged on arrival, e.g. an FBA return without carrier tracking: check it, it is not lost."),
        "return",
        "-returned_at",
    ),
    ReviewSection(
        NOT_RETURNED,
        _("Refunded, not returned"),
        _("The item price was refunded on a shipped order more than %(days)s days ago and no return has arrived."),
        "refund",
        "-refunded_at",
    ),
    ReviewSection(
        NOT_REFUNDED,
        _("Returned, not refunded"),
        _("The return was received more than %(days)s days ago and no refund covers its order and SKU."),
        "return",
        "-returned_at",
    ),
    ReviewSection(
        "refunds",
        _("Refunds to check"),
        _("Refunds flagged on arrival, e.g. refunds that add up to more than the order."),
        "refund",
        "-refunded_at",
    ),
)
SECTION_KEYS = tuple(section.key for section in SECTIONS)


def section_get(key: str) -> ReviewSection:
    """The section of that key, the first one for an unknown key."""
    return next((section for section in SECTIONS if section.key == key), SECTIONS[0])


def section_days(section: ReviewSection) -> int | None:
    if section.key == NOT_RETURNED:
        return return_window_days()
    if section.key == NOT_REFUNDED:
        return refund_grace_days()
    return None


def section_rows(*, tenant: Tenant, key: str, now: datetime | None = None) -> QuerySet[Any]:
    """The rows of one section of the queue (unordered: the caller pages them by the section's keyset)."""
    if key == NOT_RETURNED:
        return refunded_not_returned(tenant=tenant, now=now)
    if key == NOT_REFUNDED:
        return returned_not_refunded(tenant=tenant, now=now)
    if key == "refunds":
        return flagged_refunds(tenant=tenant)
    return flagged_returns(tenant=tenant)


def review_counts(*, tenant: Tenant) -> dict[str, tuple[int, bool]]:
    """Per section: (rows, more than COUNT_CAP), each counted at most COUNT_CAP + 1 rows."""
    counts = {}
    for section in SECTIONS:
        found = section_rows(tenant=tenant, key=section.key).order_by().values("pk")[: COUNT_CAP + 1].count()
        counts[section.key] = (min(found, COUNT_CAP), found > COUNT_CAP)
    return counts


def _reviewable_reasons(record: Refund | Return) -> set[str]:
    """The record's own flag, and the reason the queue may list it for without a flag."""
    return {record.review_reason, NOT_RETURNED if isinstance(record, Refund) else NOT_REFUNDED} - {""}


def open_reasons(record: Refund | Return, *, tenant: Tenant) -> list[str]:
    """The reasons the record is in the review queue for now (its flag unless reviewed, and whether it is a
    refund not returned / a return not refunded), in the order the detail page shows them."""
    rows: QuerySet[Any]
    if isinstance(record, Refund):
        derived, rows = NOT_RETURNED, refunded_not_returned(tenant=tenant)
    else:
        derived, rows = NOT_REFUNDED, returned_not_refunded(tenant=tenant)
    flagged = record.review_reason if record.review_reason and record.review_reason != record.reviewed_reason else ""
    return [reason for reason in (flagged, derived if rows.filter(pk=record.pk).exists() else "") if reason]


_REVIEW_FIELDS = ["review_reason", "reviewed_reason", "reviewed_by", "reviewed_at"]


@transaction.atomic
def mark_reviewed(
    *, tenant: Tenant, record: Refund | Return, reason: str, actor: User, note: str = ""
) -> Refund | Return:
    """Record that a person reviewed the refund or return for `reason` (it leaves the queue). Audited
    (action ``refunds.refund.reviewed`` or ``refunds.return.reviewed``)."""
    if record.tenant_id != tenant.pk:
        raise ValueError(f"{record._meta.model_name} of another tenant")
    if reason not in _reviewable_reasons(record):
        if isinstance(record, Refund):
            raise ValidationError(_("This refund has nothing to review for that reason."))
        raise ValidationError(_("This return has nothing to review for that reason."))
    before = snapshot(record, _REVIEW_FIELDS)
    record.reviewed_reason, record.reviewed_by, record.reviewed_at = reason, actor, timezone.now()
    record.updated_at = record.reviewed_at
    record.save(update_fields=["reviewed_reason", "reviewed_by", "reviewed_at", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"refunds.{record._meta.model_name}.reviewed",
        target=record,
        before=before,
        after={**snapshot(record, _REVIEW_FIELDS), "note": note},
    )
    return record
