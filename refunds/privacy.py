"""Buyer personal data on refunds and returns, and its erasure.

ACORN keeps no buyer name, email or address on orders (only the delivery country). What refunds and returns
may carry about a buyer: their own words (`customer_comment`, a console request's note), the channel's raw
record (`raw`, which can hold names or addresses), and a return's parcel (tracking and licence plate
numbers). `buyer_data_erase` blanks those and keeps the amounts, SKUs and reasons the books and the refund
rates need. It runs on the channels' redaction requests (Shopify `customers/redact` for the named orders,
`shop/redact` for the whole store) and from the retention job (finance/retention.py).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from channels.models import Platform, QuarantinedRecord, Store, WebhookEvent
from channels.webhooks import register_webhook_handler
from orders.models import Order
from refunds.models import Refund, Return

REFUND_PERSONAL_DATA: dict[str, Any] = {"customer_comment": "", "request_note": "", "raw": {}}
RETURN_PERSONAL_DATA: dict[str, Any] = {
    "customer_comment": "",
    "raw": {},
    "tracking_number": "",
    "license_plate_number": "",
}


def buyer_data_erase(*, refunds: QuerySet[Refund], returns: QuerySet[Return]) -> tuple[int, int]:
    """Remove the buyer's personal data from these refunds and returns. Returns (refunds, returns) updated."""
    now = timezone.now()
    return (
        refunds.update(**REFUND_PERSONAL_DATA, updated_at=now),
        returns.update(**RETURN_PERSONAL_DATA, updated_at=now),
    )


def _requested_orders(payload: Any) -> list[str]:
    ids = payload.get("orders_to_redact") if isinstance(payload, dict) else None
    return [str(item) for item in ids or [] if isinstance(item, (int, str))][:500]


# An order id this short could be part of any payload: raw quarantined records are matched on longer ones.
MIN_ORDER_ID_IN_RAW = 5


def _on_customer_redact(store: Store, event: WebhookEvent, payload: Any) -> bool:
    """A buyer asked to be erased: their refunds and returns on the named orders lose their personal data, the
    orders their tags (a channel's tags can name the buyer), and the quarantined raw refund and return
    records of those orders go (keyed by the refund's or return's id, or naming the order in their raw body)."""
    orders = _requested_orders(payload)
    if not orders:
        return False
    named = Q(order__external_id__in=orders) | Q(order_external_id__in=orders)
    refunds, returns = Refund.objects.filter(named, store=store), Return.objects.filter(named, store=store)
    record_ids = {*refunds.values_list("external_id", flat=True), *returns.values_list("external_id", flat=True)}
    in_raw = Q()
    for order_id in orders:
        if len(order_id) >= MIN_ORDER_ID_IN_RAW:
            in_raw |= Q(raw__contains=order_id)
    quarantined = QuarantinedRecord.objects.filter(store=store, resource__in=("refunds", "returns"))
    quarantined.filter(Q(external_id__in=record_ids - {""}) | (in_raw if in_raw else Q(pk__in=[]))).delete()
    buyer_data_erase(refunds=refunds, returns=returns)
    Order.objects.filter(store=store, external_id__in=orders).update(tags=[])
    return True


def _on_shop_redact(store: Store, event: WebhookEvent, payload: Any) -> bool:
    """The shop's data is to go: no refund or return of the store keeps any buyer data."""
    buyer_data_erase(refunds=Refund.objects.filter(store=store), returns=Return.objects.filter(store=store))
    return True


def register_privacy_handlers() -> None:
    """Called from RefundsConfig.ready()."""
    register_webhook_handler(Platform.SHOPIFY, {"customers/redact"}, _on_customer_redact)
    register_webhook_handler(Platform.SHOPIFY, {"shop/redact"}, _on_shop_redact)
