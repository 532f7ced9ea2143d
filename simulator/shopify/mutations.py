"""Mutation resolvers: inventorySetQuantities (compare-and-set), fulfillmentCreate, refundCreate,
webhookSubscriptionCreate and webhookSubscriptionDelete.

From 2026-04 on, inventorySetQuantities and refundCreate need the `@idempotent(key:)` directive (a
request without it gets an error) and every quantity of inventorySetQuantities needs
`changeFromQuantity` (null opts out of the compare check). A repeated key with the same input answers
the original result without doing anything again; with other input it is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from graphql import GraphQLError, GraphQLResolveInfo
from graphql.execution.values import get_directive_values

from simulator.shopify.catalogue import quantize
from simulator.shopify.generation import (
    FULFILLMENT_BASE,
    FULFILLMENT_LINE_BASE,
    REFUND_BASE,
    REFUND_LINE_BASE,
    TRANSACTION_BASE,
)
from simulator.shopify.model import (
    FULFILLMENT,
    REFUND,
    Fulfillment,
    Money,
    OrderEvent,
    Refund,
    RefundLine,
    Shop,
    ShopOrder,
    Transaction,
)
from simulator.shopify.views import Node, Views, gid, parse_gid, request_context, require_scope

IDEMPOTENCY_REQUIRED_FROM = "2026-04"
IDEMPOTENCY_RETENTION = timedelta(hours=24)
INVENTORY_REASONS = (
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
)
MAX_QUANTITY = 1_000_000_000
_ADJUSTMENT_GROUP_BASE = 120_000_000_000


def _version_at_least(version: str, minimum: str) -> bool:
    return version == "unstable" or version >= minimum


def _idempotency_key(info: GraphQLResolveInfo) -> str | None:
    directive = info.schema.get_directive("idempotent")
    assert directive is not None
    values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
    if values is None:
        if _version_at_least(request_context(info).version, IDEMPOTENCY_REQUIRED_FROM):
            raise GraphQLError(
                f"The @idempotent directive is required for the {info.field_name} mutation.",
                extensions={"code": "BAD_REQUEST"},
            )
        return None
    key = str(values["key"])
    if not key.strip():
        raise GraphQLError("Idempotency key cannot be an empty string.", extensions={"code": "BAD_REQUEST"})
    return key


def _fingerprint(args: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode()).hexdigest()


class _Replay(Exception):
    def __init__(self, result: Any) -> None:
        self.result = result


def _remember(info: GraphQLResolveInfo, key: str | None, args: dict[str, Any]) -> tuple[str, str] | None:
    """Raise _Replay with the stored result for a repeated key; returns the slot to store a new result."""
    if key is None:
        return None
    request = request_context(info)
    shop, now = request.shop, request.now
    for slot, (_, stored_at, _) in list(shop.idempotency.items()):
        if now - stored_at > IDEMPOTENCY_RETENTION:
            del shop.idempotency[slot]
    slot = (info.field_name, key)
    stored = shop.idempotency.get(slot)
    if stored is None:
        return slot
    fingerprint, _, result = stored
    if fingerprint != _fingerprint(args):
        raise _Replay(("mismatch", None))
    raise _Replay(("replay", result))


# -- inventorySetQuantities ----------------------------------------------------------------------------


def _inventory_error(code: str | None, field: list[str], message: str) -> Node:
    return {"code": code, "field": field, "message": message}


def resolve_inventory_set_quantities(root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Node:
    require_scope(info, "inventorySetQuantities", "write_inventory")
    key = _idempotency_key(info)
    request = request_context(info)
    views = Views(request)
    try:
        slot = _remember(info, key, input)
    except _Replay as replay:
        kind, result = replay.result
        if kind == "mismatch":
            message = "The same idempotency key cannot be used with different operation parameters."
            return {
                "inventoryAdjustmentGroup": None,
                "userErrors": [_inventory_error("IDEMPOTENCY_KEY_PARAMETER_MISMATCH", ["input"], message)],
            }
        return {"inventoryAdjustmentGroup": _group_node(views, result), "userErrors": []}
    shop = request.shop
    errors = _validate_quantities(request, input)
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    name = input["name"]
    changes = []
    for entry in input["quantities"]:
        item_id = parse_gid(entry["inventoryItemId"], "InventoryItem")
        location_id = parse_gid(entry["locationId"], "Location")
        assert item_id is not None and location_id is not None
        current = request.shopify.quantities(shop, item_id, location_id) or {}
        delta = entry["quantity"] - current[name]
        request.shopify.adjust_stock(shop, item_id, location_id, {"available": delta}, request.now)
        after = request.shopify.quantities(shop, item_id, location_id) or {}
        other = "on_hand" if name == "available" else "available"
        for changed in (name, other):
            changes.append(
                {"name": changed, "delta": delta, "after": after[changed], "item": item_id, "location": location_id}
            )
        variant = views.variant_by_item(item_id)
        shop.inventory_changes.append(
            {
                "at": request.now,
                "inventory_item_id": gid("InventoryItem", item_id),
                "location_id": gid("Location", location_id),
                "sku": variant.sku if variant else None,
                "name": name,
                "delta": delta,
                "quantity_after": after[name],
                "change_from_quantity": entry.get("changeFromQuantity"),
                "reason": input["reason"],
                "reference_document_uri": input.get("referenceDocumentUri"),
                "idempotency_key": key,
            }
        )
    group = {
        "id": shop.next_api_id(_ADJUSTMENT_GROUP_BASE),
        "at": request.now,
        "reason": input["reason"],
        "reference": input.get("referenceDocumentUri"),
        "changes": changes,
    }
    if slot is not None:
        shop.idempotency[slot] = (_fingerprint(input), request.now, group)
    return {"inventoryAdjustmentGroup": _group_node(views, group), "userErrors": []}


def _validate_quantities(request: Any, input: dict[str, Any]) -> list[Node]:
    errors: list[Node] = []
    shop = request.shop
    name = input["name"]
    if name not in ("available", "on_hand"):
        errors.append(
            _inventory_error(
                "INVALID_NAME", ["input", "name"], "The quantity name must be either 'available' or 'on_hand'."
            )
        )
    if input["reason"] not in INVENTORY_REASONS:
        errors.append(_inventory_error("INVALID_REASON", ["input", "reason"], "The specified reason is invalid."))
    reference = input.get("referenceDocumentUri")
    if reference is not None and not (urlsplit(reference).scheme and ":" in reference and len(reference) > 4):
        errors.append(
            _inventory_error(
                "INVALID_REFERENCE_DOCUMENT",
                ["input", "referenceDocumentUri"],
                "The specified reference document is invalid.",
            )
        )
    seen: set[tuple[str, str]] = set()
    strict = _version_at_least(request.version, IDEMPOTENCY_REQUIRED_FROM)
    for index, entry in enumerate(input["quantities"]):
        path = ["input", "quantities", str(index)]
        pair = (entry["inventoryItemId"], entry["locationId"])
        if pair in seen:
            errors.append(
                _inventory_error(
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                    path,
                    "The combination of inventoryItemId and locationId must be unique.",
                )
            )
        seen.add(pair)
        item_id = parse_gid(entry["inventoryItemId"], "InventoryItem")
        location_id = parse_gid(entry["locationId"], "Location")
        if item_id is None or not any(variant.inventory_item_id == item_id for variant in shop.variants):
            errors.append(
                _inventory_error(
                    "INVALID_INVENTORY_ITEM",
                    [*path, "inventoryItemId"],
                    "The specified inventory item could not be found.",
                )
            )
            continue
        if location_id is None or not any(location.legacy_id == location_id for location in shop.locations):
            errors.append(
                _inventory_error(
                    "INVALID_LOCATION", [*path, "locationId"], "The specified location could not be found."
                )
            )
            continue
        current = request.shopify.quantities(shop, item_id, location_id)
        if current is None:
            errors.append(
                _inventory_error(
                    "ITEM_NOT_STOCKED_AT_LOCATION", path, "The specified inventory item is not stocked at the location."
                )
            )
            continue
        if entry["quantity"] < 0:
            errors.append(
                _inventory_error("INVALID_QUANTITY_NEGATIVE", [*path, "quantity"], "The quantity can't be negative.")
            )
        elif entry["quantity"] > MAX_QUANTITY:
            errors.append(
                _inventory_error(
                    "INVALID_QUANTITY_TOO_HIGH", [*path, "quantity"], "The quantity can't be higher than 1,000,000,000."
                )
            )
        if "changeFromQuantity" not in entry:
            if strict:
                errors.append(
                    _inventory_error(
                        None,
                        [*path, "changeFromQuantity"],
                        "changeFromQuantity is required. Pass null to skip the compare check.",
                    )
                )
        elif (
            entry["changeFromQuantity"] is not None and name in current and entry["changeFromQuantity"] != current[name]
        ):
            errors.append(
                _inventory_error(
                    "CHANGE_FROM_QUANTITY_STALE",
                    [*path, "changeFromQuantity"],
                    "The changeFromQuantity value does not match persisted value.",
                )
            )
    return errors


def _group_node(views: Views, group: dict[str, Any]) -> Node:
    def changes(
        info: GraphQLResolveInfo, inventoryItemIds: Any = None, locationIds: Any = None, quantityNames: Any = None
    ) -> list[Node]:
        rows = []
        for change in group["changes"]:
            if quantityNames and change["name"] not in quantityNames:
                continue
            if inventoryItemIds and gid("InventoryItem", change["item"]) not in inventoryItemIds:
                continue
            if locationIds and gid("Location", change["location"]) not in locationIds:
                continue
            variant = views.variant_by_item(change["item"])
            location = views.location_by_id(change["location"])
            rows.append(
                {
                    "name": change["name"],
                    "delta": change["delta"],
                    "quantityAfterChange": change["after"],
                    "item": views.inventory_item(variant) if variant else None,
                    "location": views.location(location) if location else None,
                    "ledgerDocumentUri": None,
                }
            )
        return rows

    return {
        "id": gid("InventoryAdjustmentGroup", group["id"]),
        "createdAt": group["at"],
        "reason": group["reason"],
        "referenceDocumentUri": group["reference"],
        "changes": changes,
    }


# -- fulfillmentCreate ---------------------------------------------------------------------------------


def _order_for_fulfillment_order(request: Any, value: str) -> ShopOrder | None:
    legacy_id = parse_gid(value, "FulfillmentOrder")
    return next(
        (order for order in request.shopify.orders(request.shop.domain) if order.fulfillment_order_id == legacy_id),
        None,
    )


def resolve_fulfillment_create(
    root: Any, info: GraphQLResolveInfo, fulfillment: dict[str, Any], message: str | None = None
) -> Node:
    require_scope(info, "fulfillmentCreate", "write_merchant_managed_fulfillment_orders")
    request = request_context(info)
    shop = request.shop
    groups = fulfillment["lineItemsByFulfillmentOrder"]
    if not groups:
        return _user_errors("fulfillment", ["fulfillment"], "Line items by fulfillment order can't be blank.")
    orders = [_order_for_fulfillment_order(request, group["fulfillmentOrderId"]) for group in groups]
    if any(order is None for order in orders):
        return _user_errors(
            "fulfillment", ["fulfillment", "lineItemsByFulfillmentOrder"], "Fulfillment order does not exist."
        )
    order = orders[0]
    assert order is not None
    if any(other is not order for other in orders):
        return _user_errors("fulfillment", ["fulfillment"], "All fulfillment orders must belong to the same order.")
    state = request.state(order)
    if state.fulfillment_order_status in ("CLOSED", "CANCELLED"):
        status = state.fulfillment_order_status.lower()
        return _user_errors(
            "fulfillment",
            ["fulfillment"],
            f"Fulfillment order {gid('FulfillmentOrder', order.fulfillment_order_id)} "
            f"has an unfulfillable status= {status}.",
        )
    wanted: dict[int, int] = {}
    for group in groups:
        items = group.get("fulfillmentOrderLineItems")
        if not items:
            for position, remaining in enumerate(state.remaining):
                if remaining > 0:
                    wanted[position] = wanted.get(position, 0) + remaining
            continue
        for item in items:
            line_item_id = parse_gid(item["id"], "FulfillmentOrderLineItem")
            index = next(
                (i for i, line in enumerate(order.lines) if line.fulfillment_order_line_id == line_item_id), None
            )
            if index is None:
                return _user_errors("fulfillment", ["fulfillment"], "Invalid fulfillment order line item id.")
            wanted[index] = wanted.get(index, 0) + item["quantity"]
    if not wanted or any(quantity <= 0 or quantity > state.remaining[index] for index, quantity in wanted.items()):
        return _user_errors("fulfillment", ["fulfillment"], "Invalid fulfillment order line item quantity requested.")
    tracking = fulfillment.get("trackingInfo") or {}
    number = tracking.get("number") or next(iter(tracking.get("numbers") or []), None)
    url = tracking.get("url") or next(iter(tracking.get("urls") or []), None)
    record = Fulfillment(
        legacy_id=shop.next_api_id(FULFILLMENT_BASE),
        name=f"{order.name}.{len(state.fulfillments) + 1}",
        at=request.now,
        location_id=order.location_id,
        company=tracking.get("company"),
        number=number,
        url=url,
        lines=tuple(
            (index, quantity, shop.next_api_id(FULFILLMENT_LINE_BASE)) for index, quantity in sorted(wanted.items())
        ),
    )
    event = OrderEvent(request.now, FULFILLMENT, fulfillment=record, by_api=True)
    _take_over(request, order, event)
    for index, quantity in wanted.items():
        item = order.lines[index].variant.inventory_item_id
        request.shopify.adjust_stock(shop, item, order.location_id, {"committed": -quantity}, request.now)
    request.shopify.order_webhooks(shop, order, event)
    return {"fulfillment": Views(request).fulfillment(order, record), "userErrors": []}


def _take_over(request: Any, order: ShopOrder, event: OrderEvent) -> None:
    """The app changes the order: its generated future is dropped and the change recorded now."""
    order.drop_future(request.now)
    order.append(event)
    request.states.pop(order.legacy_id, None)


def _user_errors(payload: str, field: list[str], message: str, **extra: Any) -> Node:
    return {payload: None, "userErrors": [{"field": field, "message": message}], **extra}


# -- refundCreate --------------------------------------------------------------------------------------


def resolve_refund_create(root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Node:
    require_scope(info, "refundCreate", "write_orders")
    key = _idempotency_key(info)
    request = request_context(info)
    views = Views(request)
    try:
        slot = _remember(info, key, input)
    except _Replay as replay:
        kind, result = replay.result
        if kind == "mismatch":
            return _user_errors(
                "refund",
                ["input"],
                "The same idempotency key cannot be used with different operation parameters.",
                order=None,
            )
        order, refund = result
        return {"refund": views.refund(order, refund), "order": views.order(order), "userErrors": []}
    legacy_id = parse_gid(input["orderId"], "Order")
    order = request.shopify.find_order(request.shop.domain, legacy_id) if legacy_id is not None else None
    if order is None:
        return _user_errors("refund", ["orderId"], "Order does not exist", order=None)
    outcome = _build_refund(request, order, input)
    if isinstance(outcome, list):
        return {"refund": None, "order": None, "userErrors": outcome}
    refund, stock = outcome
    event = OrderEvent(request.now, REFUND, refund=refund, by_api=True)
    _take_over(request, order, event)
    for item_id, deltas in stock:
        request.shopify.adjust_stock(request.shop, item_id, order.location_id, deltas, request.now)
    request.shopify.order_webhooks(request.shop, order, event)
    if slot is not None:
        request.shop.idempotency[slot] = (_fingerprint(input), request.now, (order, refund))
    return {"refund": views.refund(order, refund), "order": views.order(order), "userErrors": []}


def _build_refund(
    request: Any,
    order: ShopOrder,
    input: dict[str, Any],
) -> list[Node] | tuple[Refund, list[tuple[int, dict[str, int]]]]:
    shop: Shop = request.shop
    state = request.state(order)
    errors: list[Node] = []
    currency = input.get("currency")
    if order.presentment_currency != order.currency and currency is None:
        errors.append(
            {
                "field": ["currency"],
                "message": "Currency is required for orders in a presentment currency other than the shop currency.",
            }
        )
    elif currency is not None and currency != order.presentment_currency:
        errors.append(
            {
                "field": ["currency"],
                "message": f"Currency must match the order's presentment currency ({order.presentment_currency}).",
            }
        )
    requested: dict[int, int] = {}
    lines: list[RefundLine] = []
    stock: list[tuple[int, dict[str, int]]] = []
    remaining = list(state.remaining)
    for position, item in enumerate(input.get("refundLineItems") or []):
        path = ["refundLineItems", str(position)]
        line_id = parse_gid(item["lineItemId"], "LineItem")
        index = next((i for i, line in enumerate(order.lines) if line.legacy_id == line_id), None)
        if index is None:
            errors.append({"field": [*path, "lineItemId"], "message": "Line item does not exist on this order."})
            continue
        line = order.lines[index]
        quantity = item["quantity"]
        requested[index] = requested.get(index, 0) + quantity
        refundable = line.quantity - state.refunded[index]
        if quantity <= 0:
            errors.append({"field": [*path, "quantity"], "message": "Quantity must be greater than 0."})
            continue
        if requested[index] > refundable:
            errors.append(
                {
                    "field": [*path, "quantity"],
                    "message": f"Quantity cannot refund more items than were purchased ({refundable} refundable).",
                }
            )
            continue
        restock = item.get("restockType") or "NO_RESTOCK"
        unfulfilled = min(quantity, remaining[index])
        fulfilled_part = quantity - unfulfilled
        if restock == "CANCEL" and fulfilled_part > 0:
            errors.append(
                {"field": [*path, "restockType"], "message": "Cannot cancel fulfilled line items; use RETURN."}
            )
            continue
        if restock == "RETURN" and unfulfilled > 0:
            errors.append(
                {"field": [*path, "restockType"], "message": "Cannot return unfulfilled line items; use CANCEL."}
            )
            continue
        remaining[index] -= unfulfilled
        location_id = parse_gid(item["locationId"], "Location") if item.get("locationId") else order.location_id
        if not any(location.legacy_id == location_id for location in shop.locations):
            errors.append({"field": [*path, "locationId"], "message": "Location does not exist."})
            continue
        deltas = {"committed": -unfulfilled}
        if restock in ("CANCEL", "RETURN", "LEGACY_RESTOCK"):
            deltas["available"] = quantity
        stock.append((line.variant.inventory_item_id, deltas))
        lines.append(
            RefundLine(
                legacy_id=shop.next_api_id(REFUND_LINE_BASE),
                line_index=index,
                quantity=quantity,
                restock_type=restock,
                subtotal=_portion(line.discounted_total, quantity, line.quantity, order),
                tax=_portion(line.tax, quantity, line.quantity, order),
                location_id=location_id if restock != "NO_RESTOCK" else None,
            )
        )
    shipping_left = order.shipping - state.refunded_shipping
    shipping = Money(Decimal(0), Decimal(0))
    shipping_input = input.get("shipping") or {}
    if shipping_input.get("fullRefund"):
        shipping = shipping_left
    elif shipping_input.get("amount") is not None:
        amount = Decimal(shipping_input["amount"])
        if amount < 0 or amount > shipping_left.presentment:
            errors.append(
                {
                    "field": ["shipping", "amount"],
                    "message": f"Shipping amount cannot exceed {shipping_left.presentment} "
                    f"{order.presentment_currency}.",
                }
            )
        else:
            shipping = _from_presentment(amount, order)
    transactions: list[Transaction] = []
    refundable_money = state.received.presentment - state.refunded_amount.presentment
    total = Decimal(0)
    parents = {tx.legacy_id for tx in state.transactions if tx.kind in ("SALE", "CAPTURE")}
    for position, item in enumerate(input.get("transactions") or []):
        path = ["transactions", str(position)]
        amount = Decimal(item["amount"])
        if item["kind"] != "REFUND":
            errors.append({"field": [*path, "kind"], "message": "Transaction kind must be REFUND."})
            continue
        if parse_gid(item["orderId"], "Order") != order.legacy_id:
            errors.append({"field": [*path, "orderId"], "message": "Transaction must belong to the refunded order."})
            continue
        parent_id = parse_gid(item["parentId"], "OrderTransaction") if item.get("parentId") else None
        if item.get("parentId") and parent_id not in parents:
            errors.append({"field": [*path, "parentId"], "message": "Parent transaction does not exist."})
            continue
        if amount <= 0:
            errors.append({"field": [*path, "amount"], "message": "Amount must be greater than 0."})
            continue
        total += amount
        transactions.append(
            Transaction(
                shop.next_api_id(TRANSACTION_BASE),
                "REFUND",
                item["gateway"],
                _from_presentment(amount, order),
                request.now,
                parent_id,
            )
        )
    if total > refundable_money and not input.get("allowOverRefunding"):
        errors.append(
            {
                "field": ["transactions"],
                "message": f"Refund amount {quantize(total, order.presentment_currency)} {order.presentment_currency} "
                f"exceeds the refundable amount {quantize(refundable_money, order.presentment_currency)} "
                f"{order.presentment_currency}.",
            }
        )
    if not lines and not transactions and shipping.is_zero and not errors:
        errors.append({"field": ["input"], "message": "A refund needs refund line items, shipping or transactions."})
    if errors:
        return errors
    refund = Refund(
        legacy_id=shop.next_api_id(REFUND_BASE),
        at=request.now,
        note=input.get("note"),
        lines=tuple(lines),
        shipping=shipping,
        transactions=tuple(transactions),
    )
    return refund, stock


def _portion(value: Money, part: int, whole: int, order: ShopOrder) -> Money:
    return Money(
        quantize(value.shop * part / whole, order.currency),
        quantize(value.presentment * part / whole, order.presentment_currency),
    )


def _from_presentment(amount: Decimal, order: ShopOrder) -> Money:
    presentment = quantize(amount, order.presentment_currency)
    return Money(quantize(presentment / order.rate, order.currency), presentment)


# -- webhook subscriptions -----------------------------------------------------------------------------

_LOOPBACK = ("127.0.0.1", "localhost", "::1", "testserver")


def resolve_webhook_subscription_create(
    root: Any,
    info: GraphQLResolveInfo,
    topic: str,
    webhookSubscription: dict[str, Any],
) -> Node:
    request = request_context(info)
    uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl")
    if not uri:
        return _user_errors("webhookSubscription", ["webhookSubscription", "callbackUrl"], "Address can't be blank")
    parts = urlsplit(uri)
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        return _user_errors(
            "webhookSubscription", ["webhookSubscription", "callbackUrl"], "Address protocol http:// is not supported"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _user_errors("webhookSubscription", ["webhookSubscription", "callbackUrl"], "Address is invalid")
    shop = request.shop
    if any(item.topic == topic and item.uri == uri for item in shop.subscriptions.values()):
        return _user_errors(
            "webhookSubscription",
            ["webhookSubscription", "callbackUrl"],
            "Address for this topic has already been taken",
        )
    subscription = request.shopify.add_subscription(
        shop.domain,
        topic,
        uri,
        include_fields=webhookSubscription.get("includeFields") or (),
        filter=webhookSubscription.get("filter"),
        name=webhookSubscription.get("name"),
    )
    return {"webhookSubscription": Views(request).subscription(subscription), "userErrors": []}


def resolve_webhook_subscription_delete(root: Any, info: GraphQLResolveInfo, id: str) -> Node:
    shop = request_context(info).shop
    legacy_id = parse_gid(id, "WebhookSubscription")
    if legacy_id is None or legacy_id not in shop.subscriptions:
        return {
            "deletedWebhookSubscriptionId": None,
            "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}],
        }
    del shop.subscriptions[legacy_id]
    return {"deletedWebhookSubscriptionId": id, "userErrors": []}


MUTATION_RESOLVERS: dict[str, Callable[..., Any]] = {
    "inventorySetQuantities": resolve_inventory_set_quantities,
    "fulfillmentCreate": resolve_fulfillment_create,
    "refundCreate": resolve_refund_create,
    "webhookSubscriptionCreate": resolve_webhook_subscription_create,
    "webhookSubscriptionDelete": resolve_webhook_subscription_delete,
}


def now_iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
