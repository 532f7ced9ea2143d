"""WooCommerce orders: a page of orders by `date_modified_gmt` (keyset paging), and completing an order with
its tracking.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.adapters.base import (
    BadRecord,
    ChannelRetryableError,
    ExternalOrder,
    Page,
    ShipmentConfirmation,
    ShipmentConfirming,
)
from channels.adapters.woocommerce.client import PAGE_SIZE, WooCommerceClient, decode_page_token, encode_page_token
from channels.adapters.woocommerce.parse import RecordError, parse_gmt, parse_order


class OrdersApi(WooCommerceClient, ShipmentConfirming):
    """Orders, and completing one when its parcel left."""

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> str:
        """The order completed, with a customer note carrying the tracking (`complete_order`)."""
        self.complete_order(
            order_id=confirmation.order_id, tracking_number=confirmation.tracking_number, carrier=confirmation.carrier
        )
        return "completed"

    def fetch_orders(
        self, *, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[ExternalOrder]:
        after, page = decode_page_token(page_token) if page_token else (updated_after, 1)
        params: dict[str, Any] = {
            "modified_after": after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "dates_are_gmt": "true",
            "orderby": "modified",
            "order": "asc",
            "per_page": PAGE_SIZE,
            "page": page,
            "status": "any",
        }
        if updated_before is not None:
            params["modified_before"] = updated_before.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        body, _response = self.request("GET", "orders", params=params)
        if not isinstance(body, list):
            raise ChannelRetryableError("WooCommerce answered without an orders list", code="empty_response")
        orders: list[ExternalOrder] = []
        bad: list[BadRecord] = []
        newest: datetime | None = None
        for raw in body:
            if not isinstance(raw, Mapping):
                bad.append(BadRecord(reason="record is not a JSON object", raw={"value": raw}))
                continue
            try:
                order = parse_order(raw)
            except RecordError as error:
                bad.append(BadRecord(reason=str(error), raw=raw, external_id=str(raw.get("id", ""))))
                try:
                    modified = parse_gmt(raw, "date_modified")
                except RecordError:
                    continue
            else:
                orders.append(order)
                modified = order.updated_at
            newest = modified if newest is None or modified > newest else newest
        next_token: str | None = None
        if len(body) >= PAGE_SIZE and newest is not None:
            # Next keyset page starts a second before the newest change seen (modified_after is exclusive);
            # if the whole page shares that second, step through it by page number instead.
            start = newest - timedelta(seconds=1)
            next_token = encode_page_token(after, page + 1) if start <= after else encode_page_token(start, 1)
        return Page(items=tuple(orders), bad_records=tuple(bad), next_token=next_token)

    def complete_order(self, *, order_id: str, tracking_number: str, carrier: str, tracking_url: str = "") -> None:
        """Mark the order completed and tell the buyer how it travels (a customer note with the tracking)."""
        note = f"Shipped with {carrier}, tracking number {tracking_number}" + (
            f": {tracking_url}" if tracking_url else ""
        )
        self.request("POST", f"orders/{order_id}/notes", data={"note": note, "customer_note": True})
        self.request(
            "PUT",
            f"orders/{order_id}",
            data={
                "status": "completed",
                "meta_data": [
                    {"key": "_acorn_tracking_number", "value": tracking_number},
                    {"key": "_acorn_carrier", "value": carrier},
                ],
            },
        )
