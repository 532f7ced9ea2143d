"""GraphQL views of the Shopify world: each object becomes a dict whose keys are GraphQL field names and
whose values are plain values or `(info, **args) -> value` callables (graphql-core's default resolver
calls them), so that nested connections are only computed when a query asks for them.

Connections use keyset cursors shaped like Shopify's (base64 of {"last_id", "last_value"}), so a page
boundary stays put while the world changes between two page requests.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from graphql import GraphQLError, GraphQLResolveInfo

from simulator.http import json_number
from simulator.shopify.catalogue import COUNTRY_NAMES
from simulator.shopify.context import ShopifyContext
from simulator.shopify.model import (
    QUANTITY_NAMES,
    Fulfillment,
    Location,
    Money,
    OrderState,
    Product,
    Refund,
    RefundLine,
    ReturnRecord,
    Shop,
    ShopOrder,
    Transaction,
    Variant,
    WebhookSubscription,
)

MAX_PAGE_SIZE = 250
T = TypeVar("T")
Node = dict[str, Any]


@dataclass
class RequestContext:
    """What every resolver of one request sees."""

    shopify: ShopifyContext
    shop: Shop
    version: str
    scopes: frozenset[str]
    now: datetime
    malformed: bool = False
    duplicate_pages: bool = False
    search: list[dict[str, Any]] = field(default_factory=list)
    states: dict[int, OrderState] = field(default_factory=dict)

    def state(self, order: ShopOrder) -> OrderState:
        state = self.states.get(order.legacy_id)
        if state is None:
            state = self.states[order.legacy_id] = order.state_at(self.now)
        return state


def request_context(info: GraphQLResolveInfo) -> RequestContext:
    context: RequestContext = info.context
    return context


def gid(kind: str, legacy_id: int | str) -> str:
    return f"gid://shopify/{kind}/{legacy_id}"


_GID = re.compile(r"^gid://shopify/(\w+)/(\d+)(?:\?.*)?$")


def parse_gid(value: str, kind: str | None = None) -> int | None:
    """The numeric id of a global id of that kind, or None."""
    match = _GID.match(value or "")
    if match is None or (kind is not None and match.group(1) != kind):
        return None
    return int(match.group(2))


def require_scope(info: GraphQLResolveInfo, field_name: str, *scopes: str) -> None:
    """Shopify's ACCESS_DENIED error unless the token has one of the scopes."""
    if request_context(info).scopes & set(scopes):
        return
    required = " or ".join(f"`{scope}` access scope" for scope in scopes)
    raise GraphQLError(
        f"Access denied for {field_name} field. Required access: {required}.",
        extensions={
            "code": "ACCESS_DENIED",
            "documentation": "https://shopify.dev/api/usage/access-scopes",
            "requiredAccess": f"{required}.",
        },
    )


# -- pagination ----------------------------------------------------------------------------------------


def encode_cursor(last_id: int, last_value: Any) -> str:
    return base64.b64encode(json.dumps({"last_id": last_id, "last_value": last_value}).encode()).decode()


def decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=True))
        return data["last_value"], int(data["last_id"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise GraphQLError("Invalid cursor for current pagination sort.") from None


def check_page_args(first: int | None, last: int | None) -> None:
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for name, value in (("first", first), ("last", last)):
        if value is not None and (value < 0 or value > MAX_PAGE_SIZE):
            raise GraphQLError(f"The value of the argument `{name}` must be between 0 and {MAX_PAGE_SIZE}.")


def connection(
    items: Sequence[T],
    render: Callable[[T], Node],
    key: Callable[[T], tuple[Any, int]],
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool = False,
    repeat: int = 0,
) -> Node:
    """A Relay connection over items (sorted here by `key` = (sort value, id)); `repeat` re-sends that
    many items of the previous page (the hostile profile's duplicated records)."""
    check_page_args(first, last)
    ordered = sorted(items, key=key, reverse=reverse)
    keys = [key(item) for item in ordered]

    def beyond(candidate: tuple[Any, int], cursor: tuple[Any, int]) -> bool:
        return candidate < cursor if reverse else candidate > cursor

    start, end = 0, len(ordered)
    if after:
        cursor = decode_cursor(after)
        start = next((index for index, value in enumerate(keys) if beyond(value, cursor)), len(keys))
    if before:
        cursor = decode_cursor(before)
        end = next((index for index, value in enumerate(keys) if not beyond(cursor, value)), len(keys))
        end = max(end, start)
    window = ordered[start:end]
    if first is not None:
        page = window[:first]
        has_next, has_previous = len(window) > first, start > 0
        if repeat and start > 0 and page:
            back = min(repeat, start)
            page = ordered[start - back : start] + page[: max(len(page) - back, 1)]
            has_next = has_next or len(page) - back < len(window)
    else:
        page = window[-last:] if last else []
        has_next, has_previous = end < len(ordered), len(window) > len(page)
    edges = []
    nodes = []
    for item in page:
        node = render(item)
        sort_value, item_id = key(item)
        edges.append({"cursor": encode_cursor(item_id, sort_value), "node": node})
        nodes.append(node)
    return {
        "edges": edges,
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def paged(items: Sequence[T], render: Callable[[T], Node], key: Callable[[T], tuple[Any, int]]) -> Callable[..., Node]:
    """A connection field: `(info, first=, after=, last=, before=, reverse=)`."""

    def resolve(info: GraphQLResolveInfo, **args: Any) -> Node:
        return connection(
            items,
            render,
            key,
            first=args.get("first"),
            after=args.get("after"),
            last=args.get("last"),
            before=args.get("before"),
            reverse=bool(args.get("reverse")),
        )

    return resolve


def by_id(legacy_id: int) -> tuple[int, int]:
    return (legacy_id, legacy_id)


# -- search syntax -------------------------------------------------------------------------------------

_TERM = re.compile(r"""(-)?([A-Za-z_]+):(>=|<=|>|<|=)?('[^']*'|"[^"]*"|\S+)|(\S+)""")


@dataclass(frozen=True)
class Term:
    field: str
    op: str
    value: str
    negated: bool


def parse_search(query: str | None) -> tuple[list[Term], list[str]]:
    """Shopify's search syntax, the part a sync uses: `field:value`, `field:>=value`, quotes, AND, -field."""
    terms: list[Term] = []
    free: list[str] = []
    for match in _TERM.finditer(query or ""):
        if match.group(5) is not None:
            word = match.group(5)
            if word.upper() not in ("AND", "OR"):
                free.append(word)
            continue
        value = match.group(4)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        terms.append(Term(match.group(2).lower(), match.group(3) or "=", value, bool(match.group(1))))
    return terms, free


def compare(left: Any, op: str, right: Any) -> bool:
    if op == ">=":
        return bool(left >= right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    if op == "<":
        return bool(left < right)
    return bool(left == right)


def parse_search_time(value: str, timezone: str) -> datetime:
    """A date-time (offset or Z; none means UTC) or a date (midnight in the shop's time zone)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date()
            return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise GraphQLError(f"Invalid date in search query: {value!r}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def search_warning(info: GraphQLResolveInfo, query: str, fields: list[str]) -> None:
    if fields:
        request_context(info).search.append(
            {
                "path": [info.field_name],
                "query": query,
                "warnings": [{"field": name, "message": "Invalid search field for this query."} for name in fields],
            }
        )


# -- money ---------------------------------------------------------------------------------------------


def money_bag(value: Money, order: ShopOrder) -> Node:
    return {
        "shopMoney": {"amount": value.shop, "currencyCode": order.currency},
        "presentmentMoney": {"amount": value.presentment, "currencyCode": order.presentment_currency},
    }


def share(value: Money, part: int, whole: int) -> Money:
    if whole == 0:
        return Money(Decimal(0), Decimal(0))
    return Money(value.shop * part / whole, value.presentment * part / whole)


# -- objects -------------------------------------------------------------------------------------------


class Views:
    """Renders the world's records for one request."""

    def __init__(self, request: RequestContext) -> None:
        self.request = request
        self.shop = request.shop

    def location(self, location: Location) -> Node:
        return {
            "__typename": "Location",
            "id": gid("Location", location.legacy_id),
            "legacyResourceId": location.legacy_id,
            "name": location.name,
            "isActive": True,
            "fulfillsOnlineOrders": location.ships,
            "shipsInventory": location.ships,
            "address": {
                "address1": location.address1,
                "city": location.city,
                "country": COUNTRY_NAMES.get(location.country, location.country),
                "countryCode": location.country,
                "provinceCode": location.province_code,
                "zip": location.zip,
            },
            "inventoryLevel": lambda info, inventoryItemId: self._level_by_ids(
                parse_gid(inventoryItemId, "InventoryItem"), location.legacy_id
            ),
            "inventoryLevels": lambda info, **args: connection(
                [
                    variant
                    for variant in self.shop.variants
                    if (variant.inventory_item_id, location.legacy_id) in self.shop.inventory
                ],
                lambda variant: self.level(variant, location),
                lambda variant: by_id(variant.inventory_item_id),
                **_page(args),
            ),
        }

    def location_by_id(self, legacy_id: int | None) -> Location | None:
        return next((location for location in self.shop.locations if location.legacy_id == legacy_id), None)

    def product(self, product: Product) -> Node:
        return {
            "__typename": "Product",
            "id": gid("Product", product.legacy_id),
            "legacyResourceId": product.legacy_id,
            "title": product.title,
            "handle": product.handle,
            "status": "ACTIVE",
            "vendor": product.vendor,
            "productType": product.product_type,
            "createdAt": product.created_at,
            "updatedAt": product.created_at,
        }

    def product_by_id(self, legacy_id: int) -> Product | None:
        return next((product for product in self.shop.products if product.legacy_id == legacy_id), None)

    def variant(self, variant: Variant) -> Node:
        def inventory_quantity(info: GraphQLResolveInfo) -> int:
            return sum(
                (self.request.shopify.quantities(self.shop, variant.inventory_item_id, location.legacy_id) or {}).get(
                    "available", 0
                )
                for location in self.shop.locations
            )

        return {
            "__typename": "ProductVariant",
            "id": gid("ProductVariant", variant.legacy_id),
            "legacyResourceId": variant.legacy_id,
            "sku": variant.sku,
            "title": variant.title,
            "displayName": variant.display_name,
            "price": variant.price,
            "barcode": variant.barcode,
            "position": variant.position,
            "inventoryQuantity": inventory_quantity,
            "inventoryItem": lambda info: self.inventory_item(variant),
            "product": lambda info: self.product(self.product_by_id(variant.product_id)),  # type: ignore[arg-type]
            "createdAt": variant.created_at,
            "updatedAt": variant.created_at,
        }

    def variant_by_item(self, item_id: int | None) -> Variant | None:
        return next((variant for variant in self.shop.variants if variant.inventory_item_id == item_id), None)

    def inventory_item(self, variant: Variant) -> Node:
        stocked = [
            location
            for location in self.shop.locations
            if (variant.inventory_item_id, location.legacy_id) in self.shop.inventory
        ]
        return {
            "__typename": "InventoryItem",
            "id": gid("InventoryItem", variant.inventory_item_id),
            "legacyResourceId": variant.inventory_item_id,
            "sku": variant.sku,
            "tracked": True,
            "requiresShipping": True,
            "createdAt": variant.created_at,
            "updatedAt": variant.created_at,
            "variant": lambda info: self.variant(variant),
            "inventoryLevel": lambda info, locationId: self._level_by_ids(
                variant.inventory_item_id, parse_gid(locationId, "Location")
            ),
            "inventoryLevels": lambda info, **args: connection(
                stocked,
                lambda location: self.level(variant, location),
                lambda location: by_id(location.legacy_id),
                **_page(args),
            ),
        }

    def _level_by_ids(self, item_id: int | None, location_id: int | None) -> Node | None:
        variant = self.variant_by_item(item_id)
        location = self.location_by_id(location_id)
        if (
            variant is None
            or location is None
            or (variant.inventory_item_id, location.legacy_id) not in self.shop.inventory
        ):
            return None
        return self.level(variant, location)

    def level(self, variant: Variant, location: Location) -> Node:
        item_id, location_id = variant.inventory_item_id, location.legacy_id
        level_id = f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}"

        def quantities(info: GraphQLResolveInfo, names: list[str]) -> list[Node]:
            current = self.request.shopify.quantities(self.shop, item_id, location_id) or {}
            unknown = [name for name in names if name not in QUANTITY_NAMES]
            if unknown:
                raise GraphQLError(
                    f"Invalid quantity name(s): {', '.join(unknown)}. Valid names are: {', '.join(QUANTITY_NAMES)}."
                )
            return [
                {
                    "id": f"gid://shopify/InventoryQuantity/{location_id}?inventory_item_id={item_id}&name={name}",
                    "name": name,
                    "quantity": current.get(name, 0),
                    "updatedAt": self.request.now,
                }
                for name in names
            ]

        return {
            "__typename": "InventoryLevel",
            "id": level_id,
            "location": self.location(location),
            "item": lambda info: self.inventory_item(variant),
            "quantities": quantities,
            "canDeactivate": True,
            "createdAt": variant.created_at,
            "updatedAt": self.request.now,
        }

    def subscription(self, subscription: WebhookSubscription) -> Node:
        version = self.request.shopify.webhooks.api_version
        return {
            "__typename": "WebhookSubscription",
            "id": gid("WebhookSubscription", subscription.legacy_id),
            "legacyResourceId": subscription.legacy_id,
            "topic": subscription.topic,
            "uri": subscription.uri,
            "callbackUrl": subscription.uri,
            "format": subscription.format,
            "includeFields": list(subscription.include_fields),
            "filter": subscription.filter,
            "name": subscription.name,
            "apiVersion": {"handle": version, "displayName": version, "supported": True},
            "createdAt": subscription.created_at,
            "updatedAt": subscription.updated_at,
        }

    # -- orders ----------------------------------------------------------------------------------------

    def order(self, order: ShopOrder) -> Node:
        state = self.request.state(order)
        views = self
        received = state.received
        refunded = state.refunded_amount
        refunded_lines = Money(Decimal(0), Decimal(0))
        refunded_tax = Money(Decimal(0), Decimal(0))
        for refund in state.refunds:
            for line in refund.lines:
                refunded_lines = refunded_lines + line.subtotal
                refunded_tax = refunded_tax + line.tax
        current_subtotal = order.subtotal - refunded_lines
        current_tax = order.total_tax - refunded_tax
        current_total = order.total_price - refunded
        outstanding = order.total_price - received
        if outstanding.shop < 0 or state.cancelled_at is not None:
            outstanding = Money(Decimal(0), Decimal(0))
        address = {
            "city": order.address.city,
            "country": COUNTRY_NAMES.get(order.address.country, order.address.country),
            "countryCodeV2": order.address.country,
            "province": None,
            "provinceCode": order.address.province_code,
            "zip": order.address.zip,
        }
        node: Node = {
            "__typename": "Order",
            "id": gid("Order", order.legacy_id),
            "legacyResourceId": order.legacy_id,
            "name": order.name,
            "createdAt": order.created,
            "updatedAt": state.updated_at,
            "processedAt": order.created,
            "cancelledAt": state.cancelled_at,
            "cancelReason": state.cancel_reason,
            "closed": state.closed_at is not None,
            "closedAt": state.closed_at,
            "confirmed": True,
            "confirmationNumber": f"{order.legacy_id:x}"[-9:].upper(),
            "currencyCode": order.currency,
            "presentmentCurrencyCode": order.presentment_currency,
            "displayFinancialStatus": state.financial_status,
            "displayFulfillmentStatus": state.fulfillment_status,
            "test": order.test,
            "tags": list(order.tags),
            "sourceName": order.source_name,
            "note": None,
            "taxesIncluded": order.taxes_included,
            "customerLocale": order.language,
            "discountCode": order.discount_code[0] if order.discount_code else None,
            "discountCodes": [order.discount_code[0]] if order.discount_code else [],
            "paymentGatewayNames": [order.gateway],
            "fullyPaid": received.shop >= order.total_price.shop,
            "unpaid": received.is_zero,
            "totalPriceSet": money_bag(order.total_price, order),
            "subtotalPriceSet": money_bag(order.subtotal, order),
            "totalShippingPriceSet": money_bag(order.shipping, order),
            "totalTaxSet": money_bag(order.total_tax, order),
            "totalDiscountsSet": money_bag(order.total_discounts, order),
            "totalRefundedSet": money_bag(refunded, order),
            "totalRefundedShippingSet": money_bag(state.refunded_shipping, order),
            "totalReceivedSet": money_bag(received, order),
            "totalOutstandingSet": money_bag(outstanding, order),
            "totalCapturableSet": money_bag(state.authorized, order),
            "currentTotalPriceSet": money_bag(current_total, order),
            "currentSubtotalPriceSet": money_bag(current_subtotal, order),
            "currentTotalTaxSet": money_bag(current_tax, order),
            "currentTotalDiscountsSet": money_bag(order.total_discounts, order),
            "dutiesIncluded": False,
            "totalTipReceivedSet": money_bag(Money(Decimal(0), Decimal(0)), order),
            "originalTotalDutiesSet": None,
            "currentTotalDutiesSet": None,
            "originalTotalAdditionalFeesSet": None,
            "currentTotalAdditionalFeesSet": None,
            "shippingLines": paged([order], views.shipping_line, lambda item: by_id(item.legacy_id // 10)),
            "shippingAddress": address,
            "billingAddress": address,
            "lineItems": paged(
                range(len(order.lines)),
                lambda index: views.line_item(order, index),
                lambda index: by_id(order.lines[index].legacy_id),
            ),
            "refunds": lambda info, first=None: [views.refund(order, refund) for refund in state.refunds[:first]],
            "returns": paged(
                [record for record, _ in state.returns],
                lambda record: views.return_(order, record),
                lambda record: by_id(record.legacy_id),
            ),
            "fulfillmentOrders": paged([order], views.fulfillment_order, lambda item: by_id(item.fulfillment_order_id)),
            "fulfillments": lambda info, first=None: [
                views.fulfillment(order, fulfillment) for fulfillment in state.fulfillments[:first]
            ],
            "transactions": lambda info, first=None, **_: [
                views.transaction(order, tx) for tx in state.transactions[:first]
            ],
        }
        if self.request.malformed and order.malformed:
            _break(node, order)
        return node

    def line_item(self, order: ShopOrder, index: int) -> Node:
        line = order.lines[index]
        state = self.request.state(order)
        variant = line.variant
        unit_discounted = share(line.discounted_total, 1, line.quantity)
        return {
            "__typename": "LineItem",
            "id": gid("LineItem", line.legacy_id),
            "sku": variant.sku,
            "name": variant.display_name,
            "title": variant.product_title,
            "variantTitle": None if variant.title == "Default Title" else variant.title,
            "vendor": self.shop.products[0].vendor if self.shop.products else None,
            "quantity": line.quantity,
            "currentQuantity": line.quantity - state.refunded[index],
            "refundableQuantity": line.quantity - state.refunded[index],
            "unfulfilledQuantity": state.remaining[index],
            "requiresShipping": True,
            "taxable": True,
            "variant": lambda info: self.variant(variant),
            "product": lambda info: self.product(self.product_by_id(variant.product_id)),  # type: ignore[arg-type]
            "originalUnitPriceSet": money_bag(line.unit_price, order),
            "discountedUnitPriceSet": money_bag(_round(unit_discounted, order), order),
            "originalTotalSet": money_bag(line.original_total, order),
            "discountedTotalSet": money_bag(line.discounted_total, order),
            "totalDiscountSet": money_bag(line.discount, order),
            "discountAllocations": []
            if line.discount.is_zero
            else [{"allocatedAmountSet": money_bag(line.discount, order)}],
            "taxLines": lambda info, first=None: [
                {
                    "channelLiable": False,
                    "priceSet": money_bag(tax.price, order),
                    "rate": json_number(tax.rate),
                    "ratePercentage": json_number(tax.rate * 100),
                    "title": tax.title,
                }
                for tax in line.tax_lines[:first]
            ],
        }

    def shipping_line(self, order: ShopOrder) -> Node:
        """The order's one shipping line (Shopify lists it even when free, at 0.00)."""
        return {
            "__typename": "ShippingLine",
            "id": gid("ShippingLine", order.legacy_id // 10),
            "title": order.shipping_title,
            "code": order.shipping_title,
            "source": "shopify",
            "carrierIdentifier": None,
            "isRemoved": False,
            "originalPriceSet": money_bag(order.shipping, order),
            "discountedPriceSet": money_bag(order.shipping, order),
            "discountAllocations": [],
            "taxLines": [
                {
                    "channelLiable": False,
                    "priceSet": money_bag(tax.price, order),
                    "rate": json_number(tax.rate),
                    "ratePercentage": json_number(tax.rate * 100),
                    "title": tax.title,
                }
                for tax in order.shipping_tax_lines
            ],
        }

    def transaction(self, order: ShopOrder, tx: Transaction) -> Node:
        state = self.request.state(order)
        parent = next((candidate for candidate in state.transactions if candidate.legacy_id == tx.parent_id), None)
        return {
            "__typename": "OrderTransaction",
            "id": gid("OrderTransaction", tx.legacy_id),
            "kind": tx.kind,
            "status": tx.status,
            "gateway": tx.gateway,
            "amountSet": money_bag(tx.amount, order),
            "processedAt": tx.at,
            "createdAt": tx.at,
            "test": order.test,
            "parentTransaction": (lambda info: self.transaction(order, parent)) if parent else None,
        }

    def refund(self, order: ShopOrder, refund: Refund) -> Node:
        state = self.request.state(order)
        record = next((item for item, _ in state.returns if item.legacy_id == refund.return_id), None)
        return {
            "__typename": "Refund",
            "id": gid("Refund", refund.legacy_id),
            "legacyResourceId": refund.legacy_id,
            "createdAt": refund.at,
            "updatedAt": refund.at,
            "note": refund.note,
            "totalRefundedSet": money_bag(refund.total, order),
            "order": lambda info: self.order(order),
            "return": (lambda info: self.return_(order, record)) if record else None,
            "refundLineItems": paged(
                refund.lines, lambda line: self.refund_line(order, line), lambda line: by_id(line.legacy_id)
            ),
            "transactions": paged(
                refund.transactions, lambda tx: self.transaction(order, tx), lambda tx: by_id(tx.legacy_id)
            ),
        }

    def refund_line(self, order: ShopOrder, line: RefundLine) -> Node:
        location = self.location_by_id(line.location_id)
        return {
            "id": gid("RefundLineItem", line.legacy_id),
            "lineItem": lambda info: self.line_item(order, line.line_index),
            "quantity": line.quantity,
            "restockType": line.restock_type,
            "restocked": line.restock_type in ("RETURN", "CANCEL", "LEGACY_RESTOCK"),
            "location": self.location(location) if location else None,
            "priceSet": money_bag(order.lines[line.line_index].unit_price, order),
            "subtotalSet": money_bag(line.subtotal, order),
            "totalTaxSet": money_bag(line.tax, order),
        }

    def return_(self, order: ShopOrder, record: ReturnRecord) -> Node:
        state = self.request.state(order)
        status = next(status for item, status in state.returns if item.legacy_id == record.legacy_id)
        refunds = [refund for refund in state.refunds if refund.return_id == record.legacy_id]
        closed_at = refunds[0].at if refunds and status == "CLOSED" else None

        def line(item: Any) -> Node:
            refunded = item.quantity if status == "CLOSED" else 0
            fulfillment_line = next(
                (
                    (fulfillment, entry)
                    for fulfillment in state.fulfillments
                    for entry in fulfillment.lines
                    if entry[0] == item.line_index
                ),
                None,
            )
            return {
                "__typename": "ReturnLineItem",
                "id": gid("ReturnLineItem", item.legacy_id),
                "customerNote": item.customer_note,
                "quantity": item.quantity,
                "processableQuantity": item.quantity - refunded,
                "processedQuantity": refunded,
                "unprocessedQuantity": item.quantity - refunded,
                "refundableQuantity": item.quantity - refunded,
                "refundedQuantity": refunded,
                "returnReason": item.reason,
                "returnReasonNote": "",
                "returnReasonDefinition": {
                    "id": f"gid://shopify/ReturnReasonDefinition/{1000 + list(_REASONS).index(item.reason)}",
                    "deleted": False,
                    "handle": item.reason.lower().replace("_", "-"),
                    "name": _REASONS[item.reason],
                },
                "fulfillmentLineItem": (
                    self.fulfillment_line(order, fulfillment_line[1])
                    if fulfillment_line
                    else self.fulfillment_line(order, (item.line_index, item.quantity, item.legacy_id))
                ),
            }

        return {
            "__typename": "Return",
            "id": gid("Return", record.legacy_id),
            "name": record.name,
            "status": status,
            "createdAt": record.opened_at,
            "closedAt": closed_at,
            "order": lambda info: self.order(order),
            "totalQuantity": sum(item.quantity for item in record.lines),
            "returnLineItems": paged(record.lines, line, lambda item: by_id(item.legacy_id)),
            "refunds": paged(
                refunds, lambda refund: self.refund(order, refund), lambda refund: by_id(refund.legacy_id)
            ),
        }

    def fulfillment_line(self, order: ShopOrder, entry: tuple[int, int, int]) -> Node:
        index, quantity, legacy_id = entry
        line = order.lines[index]
        return {
            "__typename": "FulfillmentLineItem",
            "id": gid("FulfillmentLineItem", legacy_id),
            "lineItem": lambda info: self.line_item(order, index),
            "quantity": quantity,
            "originalTotalSet": money_bag(line.unit_price.times(quantity), order),
            "discountedTotalSet": money_bag(
                _round(share(line.discounted_total, quantity, line.quantity), order), order
            ),
        }

    def fulfillment(self, order: ShopOrder, fulfillment: Fulfillment) -> Node:
        location = self.location_by_id(fulfillment.location_id)
        tracking = [{"company": fulfillment.company, "number": fulfillment.number, "url": fulfillment.url}]
        return {
            "__typename": "Fulfillment",
            "id": gid("Fulfillment", fulfillment.legacy_id),
            "legacyResourceId": fulfillment.legacy_id,
            "name": fulfillment.name,
            "status": "SUCCESS",
            "displayStatus": "FULFILLED",
            "createdAt": fulfillment.at,
            "updatedAt": fulfillment.at,
            "deliveredAt": None,
            "trackingInfo": lambda info, first=None: (
                tracking[:first] if fulfillment.number or fulfillment.company else []
            ),
            "fulfillmentLineItems": paged(
                fulfillment.lines, lambda entry: self.fulfillment_line(order, entry), lambda entry: by_id(entry[2])
            ),
            "location": self.location(location) if location else None,
            "order": lambda info: self.order(order),
            "totalQuantity": sum(quantity for _, quantity, _ in fulfillment.lines),
        }

    def fulfillment_order(self, order: ShopOrder) -> Node:
        state = self.request.state(order)
        location = self.location_by_id(order.location_id)
        assert location is not None

        def line(index: int) -> Node:
            item = order.lines[index]
            variant = item.variant
            return {
                "__typename": "FulfillmentOrderLineItem",
                "id": gid("FulfillmentOrderLineItem", item.fulfillment_order_line_id),
                "totalQuantity": item.quantity,
                "remainingQuantity": state.remaining[index],
                "sku": variant.sku,
                "productTitle": variant.product_title,
                "variantTitle": None if variant.title == "Default Title" else variant.title,
                "lineItem": lambda info: self.line_item(order, index),
                "inventoryItemId": gid("InventoryItem", variant.inventory_item_id),
                "variant": lambda info: self.variant(variant),
            }

        return {
            "__typename": "FulfillmentOrder",
            "id": gid("FulfillmentOrder", order.fulfillment_order_id),
            "status": state.fulfillment_order_status,
            "createdAt": order.created,
            "updatedAt": state.updated_at,
            "orderId": gid("Order", order.legacy_id),
            "orderName": order.name,
            "assignedLocation": {
                "name": location.name,
                "location": self.location(location),
                "countryCode": location.country,
                "city": location.city,
                "province": location.province_code,
                "zip": location.zip,
            },
            "order": lambda info: self.order(order),
            "lineItems": paged(
                range(len(order.lines)), line, lambda index: by_id(order.lines[index].fulfillment_order_line_id)
            ),
        }


_REASONS = {
    "COLOR": "Color",
    "DEFECTIVE": "Damaged or defective",
    "NOT_AS_DESCRIBED": "Item not as described",
    "OTHER": "Other",
    "SIZE_TOO_LARGE": "Size was too large",
    "SIZE_TOO_SMALL": "Size was too small",
    "STYLE": "Style",
    "UNKNOWN": "Unknown",
    "UNWANTED": "Changed my mind",
    "WRONG_ITEM": "Received the wrong item",
}


def _page(args: dict[str, Any]) -> dict[str, Any]:
    return {name: args.get(name) for name in ("first", "after", "last", "before")} | {
        "reverse": bool(args.get("reverse"))
    }


def _round(value: Money, order: ShopOrder) -> Money:
    from simulator.shopify.catalogue import quantize

    return Money(quantize(value.shop, order.currency), quantize(value.presentment, order.presentment_currency))


def _break(node: Node, order: ShopOrder) -> None:
    """The hostile profile's permanently broken records."""
    if order.malformed == "non_numeric_total":
        node["totalPriceSet"]["shopMoney"]["amount"] = "N/A"
    elif order.malformed == "empty_total":
        node["totalPriceSet"]["shopMoney"]["amount"] = ""
        node["totalPriceSet"]["presentmentMoney"]["amount"] = ""
    elif order.malformed == "bad_processed_at":
        node["processedAt"] = "0000-00-00 00:00:00"
