"""The warehouse's signed callback (verified by the view with orders.fulfilment.services.signature_valid):
"shipped" records each parcel (source: warehouse) and marks the fulfilment request SHIPPED; "accepted" and
"cancelled" belong to orders.fulfilment.services. A repeated callback changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from acorn.tenancy.scoping import dangerously_unscoped
from inventory.allocation import line_ref, stock_lock_for
from orders.fulfilment.services import fulfilment_acknowledge
from orders.locks import fulfillment_request_qs_select_for_update
from orders.models import (
    FulfillmentRequest,
    FulfillmentState,
    FulfillmentTarget,
    OrderLine,
    Shipment,
    ShipmentSource,
)
from orders.shipments.confirmation import confirmations_queue
from orders.shipments.recording import shipment_record_unqueued

CALLBACK_MAX_BODY_BYTES = 1024 * 1024
CALLBACK_EVENTS = ("shipped", "accepted", "cancelled")


class CallbackError(Exception):
    """A callback ACORN refuses: the HTTP status to answer, the field at fault and why."""

    def __init__(self, status: int, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def fulfilment_target_by_callback_key_unscoped(callback_key: str) -> FulfillmentTarget | None:
    """The target a callback URL names, across tenants (the key names the tenant; nothing else is read)."""
    with dangerously_unscoped():
        return (
            FulfillmentTarget.objects.filter(callback_key=callback_key, tenant__is_active=True)
            .select_related("tenant")
            .first()
        )


@dataclass(frozen=True)
class _CallbackParcel:
    carrier: str
    tracking_number: str
    ship_method: str
    shipped_at: datetime
    lines: tuple[tuple[str, int], ...]  # (OrderLine external id, units)


def _text(value: Any, name: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise CallbackError(400, _("A non-empty string is required."), name)
    return value.strip()


def _callback_time(value: Any, name: str) -> datetime:
    try:
        moment = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or timezone.is_naive(moment):
        raise CallbackError(400, _("An ISO-8601 date-time with its offset is required."), name)
    return moment


def _callback_parcels(payload: Mapping[str, Any]) -> list[_CallbackParcel]:
    raw = payload.get("shipments")
    if not isinstance(raw, list) or not raw:
        raise CallbackError(400, _("A non-empty list of shipments is required."), "shipments")
    parcels = []
    for index, item in enumerate(raw):
        where = f"shipments[{index}]"
        if not isinstance(item, dict):
            raise CallbackError(400, _("An object is required."), where)
        lines: list[tuple[str, int]] = []
        raw_lines = item.get("lines")
        if raw_lines is not None and not isinstance(raw_lines, list):
            raise CallbackError(400, _("A list is required."), f"{where}.lines")
        for number, line in enumerate(raw_lines or []):
            at = f"{where}.lines[{number}]"
            if not isinstance(line, dict):
                raise CallbackError(400, _("An object is required."), at)
            line_id = line.get("line_id")
            if isinstance(line_id, int) and not isinstance(line_id, bool):
                line_id = str(line_id)
            quantity = line.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise CallbackError(400, _("A positive whole number is required."), f"{at}.quantity")
            lines.append((_text(line_id, f"{at}.line_id"), quantity))
        parcels.append(
            _CallbackParcel(
                carrier=_text(item.get("carrier"), f"{where}.carrier"),
                tracking_number=_text(item.get("tracking_number"), f"{where}.tracking_number"),
                ship_method=_text(item.get("ship_method"), f"{where}.ship_method", required=False),
                shipped_at=_callback_time(item.get("shipped_at"), f"{where}.shipped_at"),
                lines=tuple(lines),
            )
        )
    return parcels


def callback_payload(body: bytes) -> dict[str, Any]:
    """The callback's JSON object, or CallbackError(400) naming what is wrong."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CallbackError(400, _("The body is not valid JSON."), "body") from None
    if not isinstance(payload, dict):
        raise CallbackError(400, _("The body must be a JSON object."), "body")
    event = payload.get("event")
    if event not in CALLBACK_EVENTS:
        raise CallbackError(400, _("event is one of %(events)s.") % {"events": ", ".join(CALLBACK_EVENTS)}, "event")
    _text(payload.get("request_key"), "request_key")
    _text(payload.get("warehouse_reference"), "warehouse_reference", required=False)
    return payload


def fulfilment_callback_process(*, target: FulfillmentTarget, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Act on a verified warehouse callback inside the target's tenant scope. "shipped" records each parcel
    (source: warehouse) and marks the request SHIPPED; "accepted" / "cancelled" go to the fulfilment
    service. A repeat changes nothing. Raises CallbackError (400 / 404 / 422). Returns the answer's body."""
    event = str(payload["event"])
    request_key = str(payload["request_key"]).strip()
    reference = str(payload.get("warehouse_reference") or "").strip()[:100]
    if event != "shipped":
        acknowledged = fulfilment_acknowledge(
            target=target, request_key=request_key, event=event, warehouse_reference=reference
        )
        if acknowledged is None:
            raise CallbackError(404, _("No order was sent to this warehouse with this request_key."), "request_key")
        return {"received": True, "event": event}
    parcels = _callback_parcels(payload)
    with transaction.atomic():
        # Stock levels before the request and order rows (the house's lock order): those its lines hold.
        sent = (
            FulfillmentRequest.objects.filter(tenant_id=target.tenant_id, target=target, key=request_key)
            .select_related("order__store")
            .first()
        )
        if sent is not None:
            stock_lock_for(
                store=sent.order.store,
                line_refs=[line_ref(line) for line in OrderLine.objects.filter(order_id=sent.order_id)],
            )
        request = (
            fulfillment_request_qs_select_for_update()
            .filter(tenant_id=target.tenant_id, target=target, key=request_key)
            .select_related("order__store")
            .first()
        )
        if request is None:
            raise CallbackError(404, _("No order was sent to this warehouse with this request_key."), "request_key")
        order = request.order
        line_pks = dict(OrderLine.objects.filter(order=order).values_list("external_id", "pk"))
        recorded: list[Shipment] = []
        created_any = False
        for index, parcel in enumerate(parcels):
            lines: dict[int, int] = {}
            for number, (line_id, quantity) in enumerate(parcel.lines):
                if line_id not in line_pks:
                    raise CallbackError(
                        422, _("The order has no line %(line)s.") % {"line": line_id},
                        f"shipments[{index}].lines[{number}].line_id",
                    )  # fmt: skip
                lines[line_pks[line_id]] = lines.get(line_pks[line_id], 0) + quantity
            try:
                shipment, created = shipment_record_unqueued(
                    order=order,
                    carrier=parcel.carrier,
                    tracking_number=parcel.tracking_number,
                    shipped_at=parcel.shipped_at,
                    source=ShipmentSource.WAREHOUSE,
                    lines=lines or None,
                    ship_method=parcel.ship_method,
                    actor=None,
                )
            except ValidationError as error:
                raise CallbackError(422, " ".join(error.messages), f"shipments[{index}]") from None
            created_any = created_any or created
            if created:
                recorded.append(shipment)
        changed = created_any
        if request.state != FulfillmentState.SHIPPED or (reference and not request.warehouse_reference):
            request.state = FulfillmentState.SHIPPED
            request.warehouse_reference = request.warehouse_reference or reference
            request.updated_at = timezone.now()
            request.save(update_fields=["state", "warehouse_reference", "updated_at"])
            changed = True
        confirmations_queue(recorded)
    return {"received": True, "event": event, "duplicate": not changed}
