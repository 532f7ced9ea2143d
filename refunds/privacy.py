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

from channels.models import Platform, Store, WebhookEvent
from channels.webhooks import register_webhook_handler
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


def _on_customer_redact(store: Store, event: WebhookEvent, payload: Any) -> bool:
    """A buyer asked to be erased: their refunds and returns on the named orders lose their personal data."""
    orders = _requested_orders(payload)
    if not orders:
        return False
    named = Q(order__external_id__in=orders) | Q(order_external_id__in=orders)
    buyer_data_erase(
        refunds=Refund.objects.filter(named, store=store), returns=Return.objects.filter(named, store=store)
    )
    return True


def _on_shop_redact(store: Store, event: WebhookEvent, payload: Any) -> bool:
    """The shop's data is to go: no refund or return of the store keeps any buyer data."""
    buyer_data_erase(refunds=Refund.objects.filter(store=store), returns=Return.objects.filter(store=store))
    return True


def register_privacy_handlers() -> None:
    """Called from RefundsConfig.ready()."""
    register_webhook_handler(Platform.SHOPIFY, {"customers/redact"}, _on_customer_redact)
    register_webhook_handler(Platform.SHOPIFY, {"shop/redact"}, _on_shop_redact)
