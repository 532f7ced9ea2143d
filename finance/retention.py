"""Retention rules for orders, refunds, returns and journal export files (acorn.tenancy.retention).

They live in finance, the app that sees orders, refunds and the books together. The rules, per model:

* **Orders** purchased before the cut-off go with their lines, adjustments, status history, shipments,
  fulfilment request, fee estimates and profit facts, their refunds (lines, approvals) and returns, and the
  stock allocations of their lines — when the order is *final* and nothing about it is open: status shipped
  or cancelled; no refund waiting for approval, approved or being executed; no return requested, on its
  way or received without a restock decision; no allocation still reserving, backordered, unmapped or
  waiting for payment; no shipment confirmation still due to the channel; and no refund or return of it
  dated inside the retention window (it goes when they do).
* **Orders kept for the books**: the same orders, when a settlement line (any statement: journals, locked
  or not, are built from statements) or a deferred Amazon transaction names the order or one of its
  refunds. They stay, with their amounts, so that the books keep adding up; the buyer's personal data
  goes instead: the buyers' comments and the channel's raw payloads on their refunds and returns, the
  return's tracking and licence plate numbers, the shipments' tracking numbers, the order's tags and status
  history. `Order.anonymised_at`
  records it (so that the next run does not count them again).
* **Refunds and returns with no order in ACORN** (never linked): deleted when dated before the cut-off and
  final, unless a statement names the refund (then anonymised like the above). A refund goes with its
  returns only when each of them would go by itself (final, no order, before the cut-off): an open or
  recent return keeps its refund.
* **Settlement uploads** (the log of statement files people uploaded) finished before the cut-off are
  deleted, with any file still on the storage; the settlement they imported stays.
* **Journal export files**: the stored bytes of exports made before the cut-off are deleted; the export's
  history row (which journals went out, when, by whom) stays with the journals, which are never deleted
  here. Settlements, journals, accounts and the daily profit rollups are accounting records and hold no
  buyer data: retention does not touch them.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.tenancy.models import Tenant
from acorn.tenancy.retention import ANONYMISE, DELETE, RetentionRule, register_retention_rule
from finance.exports.models import JournalExportFile
from finance.settlements.models import DeferredTransaction, SettlementLine, SettlementUpload
from inventory.models import AllocationState, LineAllocation
from orders.models import ConfirmationState, Order, OrderLine, OrderStatus, OrderStatusChange, Shipment
from refunds.models import Refund, RefundStatus, RestockState, Return, ReturnStatus
from refunds.privacy import buyer_data_erase

FINAL_ORDER_STATUSES = (OrderStatus.SHIPPED, OrderStatus.CANCELLED)
OPEN_REFUND_STATUSES = (RefundStatus.PENDING_APPROVAL, RefundStatus.APPROVED, RefundStatus.EXECUTING)
OPEN_ALLOCATION_STATES = (
    AllocationState.UNMAPPED,
    AllocationState.WAITING_PAYMENT,
    AllocationState.RESERVED,
    AllocationState.BACKORDERED,
)
OPEN_CONFIRMATIONS = (ConfirmationState.PENDING, ConfirmationState.SUBMITTED)
LINE_REF_PREFIX = "order-line:"  # inventory.allocation.LINE_REF_PREFIX


def _open_return() -> Q:
    return Q(status__in=(ReturnStatus.REQUESTED, ReturnStatus.IN_TRANSIT)) | Q(
        status=ReturnStatus.RECEIVED, restock_state=RestockState.PENDING
    )


def _line_refs() -> QuerySet[OrderLine]:
    return OrderLine.objects.annotate(ref=Concat(Value(LINE_REF_PREFIX), Cast("pk", output_field=models.CharField())))


def _refund_in_books() -> Q:
    return Q(Exists(SettlementLine.objects.filter(refund=OuterRef("pk"))))


def _past_orders(tenant: Tenant, cutoff: datetime) -> QuerySet[Order]:
    """Final orders before the cut-off with nothing open and nothing of theirs inside the window."""
    open_allocations = LineAllocation.objects.filter(tenant=tenant, state__in=OPEN_ALLOCATION_STATES)
    return (
        Order.objects.filter(tenant=tenant, purchased_at__lt=cutoff, status__in=FINAL_ORDER_STATUSES)
        .exclude(refunds__status__in=OPEN_REFUND_STATUSES)
        .exclude(refunds__refunded_at__gte=cutoff)
        .exclude(Exists(Return.objects.filter(Q(order=OuterRef("pk")) & (_open_return() | Q(returned_at__gte=cutoff)))))
        .exclude(shipments__confirmation__in=OPEN_CONFIRMATIONS)
        .exclude(
            Exists(
                _line_refs()
                .filter(order=OuterRef("pk"))
                .filter(Exists(open_allocations.filter(line_ref=OuterRef("ref"))))
            )
        )
    )


def _in_books() -> Q:
    return (
        Q(Exists(SettlementLine.objects.filter(order=OuterRef("pk"))))
        | Q(Exists(DeferredTransaction.objects.filter(order=OuterRef("pk"))))
        | Q(Exists(SettlementLine.objects.filter(refund__order=OuterRef("pk"))))
    )


def orders_to_delete(tenant: Tenant, cutoff: datetime) -> QuerySet[Order]:
    return _past_orders(tenant, cutoff).exclude(_in_books())


def orders_to_anonymise(tenant: Tenant, cutoff: datetime) -> QuerySet[Order]:
    return _past_orders(tenant, cutoff).filter(_in_books(), anonymised_at__isnull=True)


def _orders_delete(tenant: Tenant, cutoff: datetime, pks: list[int]) -> int:
    """Returns first (they point at refunds), then refunds, the lines' allocations, then the orders. The
    orders' refunds and returns are locked and checked again: an order one of them keeps open (a refund
    requested since the selection) stays."""
    refunds = Refund.objects.filter(tenant=tenant, order_id__in=pks).order_by("pk").select_for_update(of=("self",))
    returns = Return.objects.filter(tenant=tenant, order_id__in=pks).order_by("pk").select_for_update(of=("self",))
    kept = set(
        refunds.filter(Q(status__in=OPEN_REFUND_STATUSES) | Q(refunded_at__gte=cutoff)).values_list(
            "order_id", flat=True
        )
    ) | set(returns.filter(_open_return() | Q(returned_at__gte=cutoff)).values_list("order_id", flat=True))
    pks = [pk for pk in pks if pk not in kept]
    if not pks:
        return 0
    Return.objects.filter(tenant=tenant, order_id__in=pks).delete()
    Refund.objects.filter(tenant=tenant, order_id__in=pks).delete()
    refs = [f"{LINE_REF_PREFIX}{pk}" for pk in OrderLine.objects.filter(order_id__in=pks).values_list("pk", flat=True)]
    for start in range(0, len(refs), 1000):
        LineAllocation.objects.filter(tenant=tenant, line_ref__in=refs[start : start + 1000]).delete()
    _total, per_model = Order.objects.filter(tenant=tenant, pk__in=pks).delete()
    return per_model.get(Order._meta.label, 0)


def _orders_anonymise(tenant: Tenant, cutoff: datetime, pks: list[int]) -> int:
    buyer_data_erase(
        refunds=Refund.objects.filter(tenant=tenant, order_id__in=pks),
        returns=Return.objects.filter(tenant=tenant, order_id__in=pks),
    )
    OrderStatusChange.objects.filter(tenant=tenant, order_id__in=pks).delete()
    # A tracking number finds the parcel and with it the buyer's address.
    Shipment.objects.filter(tenant=tenant, order_id__in=pks).update(tracking_number="")
    return Order.objects.filter(tenant=tenant, pk__in=pks).update(tags=[], anonymised_at=timezone.now())


def _orphan_refunds(tenant: Tenant, cutoff: datetime) -> QuerySet[Refund]:
    """Final refunds with no order dated before the cut-off, whose returns (if any) the returns rule would
    delete too: a refund an open or recent return points at stays until that return goes."""
    kept_returns = Return.objects.filter(refund=OuterRef("pk")).exclude(
        pk__in=returns_to_delete(tenant, cutoff).values("pk")
    )
    return (
        Refund.objects.filter(tenant=tenant, order__isnull=True, refunded_at__lt=cutoff)
        .exclude(status__in=OPEN_REFUND_STATUSES)
        .exclude(Exists(kept_returns))
    )


def refunds_to_delete(tenant: Tenant, cutoff: datetime) -> QuerySet[Refund]:
    return _orphan_refunds(tenant, cutoff).exclude(_refund_in_books())


def refunds_to_anonymise(tenant: Tenant, cutoff: datetime) -> QuerySet[Refund]:
    """Statement-named orphan refunds that still carry buyer data."""
    carries = ~Q(customer_comment="") | ~Q(request_note="") | ~Q(raw={})
    return _orphan_refunds(tenant, cutoff).filter(_refund_in_books()).filter(carries)


def _refunds_delete(tenant: Tenant, cutoff: datetime, pks: list[int]) -> int:
    """Delete these orphan refunds with their returns, only a refund whose every return the returns rule
    would delete too (final, no order, before the cut-off; checked again under lock)."""
    returns = Return.objects.filter(tenant=tenant, refund_id__in=pks).order_by("pk").select_for_update(of=("self",))
    expiring = set(returns.filter(pk__in=returns_to_delete(tenant, cutoff).values("pk")).values_list("pk", flat=True))
    kept = {refund_id for pk, refund_id in returns.values_list("pk", "refund_id") if pk not in expiring}
    deletable = [pk for pk in pks if pk not in kept]
    Return.objects.filter(tenant=tenant, pk__in=expiring, refund_id__in=deletable).delete()
    _total, per_model = Refund.objects.filter(tenant=tenant, pk__in=deletable).delete()
    return per_model.get(Refund._meta.label, 0)


def _refunds_anonymise(tenant: Tenant, cutoff: datetime, pks: list[int]) -> int:
    refunds, _returns = buyer_data_erase(
        refunds=Refund.objects.filter(tenant=tenant, pk__in=pks), returns=Return.objects.none()
    )
    return refunds


def returns_to_delete(tenant: Tenant, cutoff: datetime) -> QuerySet[Return]:
    return Return.objects.filter(tenant=tenant, order__isnull=True, returned_at__lt=cutoff).exclude(_open_return())


def uploads_to_delete(tenant: Tenant, cutoff: datetime) -> QuerySet[SettlementUpload]:
    finished = (SettlementUpload.Status.DONE, SettlementUpload.Status.FAILED)
    return SettlementUpload.objects.filter(tenant=tenant, uploaded_at__lt=cutoff, status__in=finished)


def _uploads_delete(tenant: Tenant, cutoff: datetime, pks: list[int]) -> int:
    uploads = SettlementUpload.objects.filter(tenant=tenant, pk__in=pks)
    for upload in uploads.exclude(document=""):
        upload.document.delete(save=False)
    _total, per_model = uploads.delete()
    return per_model.get(SettlementUpload._meta.label, 0)


def export_files_to_delete(tenant: Tenant, cutoff: datetime) -> QuerySet[JournalExportFile]:
    return JournalExportFile.objects.filter(tenant=tenant, export__created_at__lt=cutoff)


def register() -> None:
    """Called from FinanceConfig.ready()."""
    for rule in (
        RetentionRule("orders", _("Orders"), DELETE, 10, orders_to_delete, "purchased_at", _orders_delete),
        RetentionRule(
            "orders_in_books",
            _("Orders kept for the books (buyer data removed)"),
            ANONYMISE,
            11,
            orders_to_anonymise,
            "purchased_at",
            _orders_anonymise,
        ),
        RetentionRule(
            "refunds", _("Refunds without an order"), DELETE, 20, refunds_to_delete, "refunded_at", _refunds_delete
        ),
        RetentionRule(
            "refunds_in_books",
            _("Refunds kept for the books (buyer data removed)"),
            ANONYMISE,
            21,
            refunds_to_anonymise,
            "refunded_at",
            _refunds_anonymise,
        ),
        RetentionRule("returns", _("Returns without an order"), DELETE, 22, returns_to_delete, "returned_at"),
        RetentionRule(
            "settlement_uploads",
            _("Uploaded statement files"),
            DELETE,
            50,
            uploads_to_delete,
            "uploaded_at",
            _uploads_delete,
        ),
        RetentionRule(
            "journal_export_files",
            _("Journal export files"),
            DELETE,
            60,
            export_files_to_delete,
            "export__created_at",
        ),
    ):
        register_retention_rule(rule)
