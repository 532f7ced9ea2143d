"""Row locks of the orders app, always taken in primary-key order (a deterministic lock order)."""

from __future__ import annotations

from django.db.models import QuerySet

from orders.models import FulfillmentRequest


def fulfillment_request_qs_select_for_update() -> QuerySet[FulfillmentRequest]:
    """Fulfilment requests locked for update, in pk order; only their own rows are locked."""
    return FulfillmentRequest.objects.order_by("pk").select_for_update(of=("self",))
