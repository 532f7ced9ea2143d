"""Targets without an API: a CSV file the warehouse collects, and the own warehouse's printed pick list.

* CSV: "download new orders" builds the file of the target's PENDING requests and marks exactly those rows
  SENT, with one `sent_at` for the whole file, in the same transaction — a file that is built was handed
  over. "Download again" rebuilds a past file from that `sent_at` and changes nothing.
* Pick list: the PENDING requests shown on the printed page are marked SENT ("picked") when a person says
  so; orders that arrived after the page was printed stay pending.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record
from acorn.spreadsheets import csv_lines
from acorn.tenancy.models import Tenant
from orders.fulfilment.selectors import csv_batch_requests, request_lines
from orders.locks import fulfillment_request_qs_select_for_update
from orders.models import FulfillmentRequest, FulfillmentState, FulfillmentTarget, FulfillmentTargetKind

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CSV_COLUMNS = (
    "request_key",
    "order_id",
    "merchant_order_id",
    "store",
    "platform",
    "marketplace",
    "purchased_at",
    "buyer_country",
    "currency",
    "line_id",
    "sku",
    "master_sku",
    "master_quantity",
    "title",
    "quantity",
)


def csv_file_name(target: FulfillmentTarget, sent_at: datetime) -> str:
    return f"fulfilment-{target.pk}-{sent_at.astimezone(UTC):%Y%m%d-%H%M%S}.csv"


def _fulfilment_rows(requests: Sequence[FulfillmentRequest]) -> Iterator[tuple[object, ...]]:
    lines = request_lines(requests)
    for request in requests:
        order = request.order
        for line in lines.get(request.pk, []):
            yield (
                request.key,
                order.external_id,
                order.merchant_order_id,
                order.store.name,
                order.store.platform,
                order.marketplace,
                order.purchased_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                order.buyer_country,
                order.currency,
                line.line_id,
                line.sku,
                line.master_sku,
                line.master_quantity,
                line.title,
                line.quantity,
            )


def fulfilment_csv(requests: Sequence[FulfillmentRequest]) -> str:
    """One row per order line (the order's columns repeated), in the columns of CSV_COLUMNS: the whole file,
    byte-order mark first, every cell through the spreadsheet-safe helper."""
    return "".join(csv_lines(CSV_COLUMNS, _fulfilment_rows(requests)))


def _check(tenant: Tenant, target: FulfillmentTarget, kind: str) -> None:
    if target.tenant_id != tenant.pk:
        raise ValidationError(_("This fulfilment target belongs to another company."))
    if target.kind != kind:
        raise ValidationError(_("This fulfilment target does not work that way."))


@transaction.atomic
def fulfilment_csv_take_new(
    *, tenant: Tenant, target: FulfillmentTarget, actor: User | None = None
) -> tuple[datetime, str, int] | None:
    """Build the CSV of the target's waiting orders and mark them sent, in one transaction; audited. Returns
    (sent at, file content, orders), or None when nothing waits."""
    _check(tenant, target, FulfillmentTargetKind.CSV)
    requests = list(
        fulfillment_request_qs_select_for_update()
        .filter(target=target, state=FulfillmentState.PENDING)
        .select_related("order__store")
    )
    if not requests:
        return None
    content = fulfilment_csv(requests)
    now = timezone.now()
    FulfillmentRequest.objects.filter(pk__in=[request.pk for request in requests]).update(
        state=FulfillmentState.SENT, sent_at=now, updated_at=now, next_attempt_at=None, last_error=""
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="orders.fulfilment_csv_downloaded",
        target=target,
        after={"orders": len(requests), "sent_at": now},
    )
    return now, content, len(requests)


def fulfilment_csv_again(*, target: FulfillmentTarget, sent_at: datetime) -> str | None:
    """The file of a past download, rebuilt (states are not changed). None when there was no such download."""
    requests = list(csv_batch_requests(target=target, sent_at=sent_at))
    return fulfilment_csv(requests) if requests else None


@transaction.atomic
def fulfilment_mark_picked(
    *, tenant: Tenant, target: FulfillmentTarget, request_pks: Sequence[int], actor: User | None = None
) -> int:
    """The pick list's orders were picked: those still waiting are marked sent; audited. Returns how many."""
    _check(tenant, target, FulfillmentTargetKind.PICK_LIST)
    pks = list(
        fulfillment_request_qs_select_for_update()
        .filter(target=target, state=FulfillmentState.PENDING, pk__in=list(request_pks))
        .values_list("pk", flat=True)
    )
    if not pks:
        return 0
    now = timezone.now()
    FulfillmentRequest.objects.filter(pk__in=pks).update(
        state=FulfillmentState.SENT, sent_at=now, updated_at=now, next_attempt_at=None, last_error=""
    )
    audit_record(
        tenant=tenant, actor=actor, action="orders.fulfilment_picked", target=target, after={"orders": len(pks)}
    )
    return len(pks)
