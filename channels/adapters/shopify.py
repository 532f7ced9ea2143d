"""Shopify Admin API through ShopifyAPI, GraphQL only (REST is legacy), pinned to one API version.

ShopifyAPI builds the session (shop URL, version, access-token header); the GraphQL request itself goes
through `_TimedGraphQL`, because the library's `GraphQL.execute` has no timeout and prints error bodies.
Throttling is cost-based: every answer carries `extensions.cost.throttleStatus`, and a THROTTLED answer
arrives as HTTP 200 with an error — it becomes ChannelRateLimited with the time the bucket needs to refill.

Offline access tokens expire (60 min) and come with a refresh token: the adapter refreshes before expiry
and hands the new pair to `on_secrets_changed`, which the caller persists (adapters never write the DB).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import combinations
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import shopify
from django.conf import settings

from acorn.money import to_decimal, validate_currency_code
from acorn.retry import retry_after_seconds
from channels.adapters.base import (
    AdjustmentKind,
    BadRecord,
    ChannelAdapter,
    ChannelAuthError,
    ChannelCursorExpired,
    ChannelError,
    ChannelRateLimited,
    ChannelRefundResult,
    ChannelRetryableError,
    ChannelStock,
    ExternalAdjustment,
    ExternalOrder,
    ExternalOrderLine,
    ExternalRefund,
    ExternalReturn,
    FulfillmentChannel,
    OrderStatus,
    Page,
    RefundLine,
    RefundRequest,
    StockPushResult,
)
from channels.models import Store

logger = logging.getLogger(__name__)

# The one place the Admin API version is pinned (Shopify supports each quarterly version for 12 months).
SHOPIFY_API_VERSION = "2026-10"
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
# Shopify charges a query by what it could return (a connection costs `first` x its node's cost, every
# object 1) and refuses one above 1,000 points: 5 orders x 10 lines stays near 600. An order with more
# lines gets the rest in follow-up reads of that order.
ORDERS_PAGE_SIZE = 5
LINES_PER_ORDER = 10
MORE_LINES_PAGE = 50
SHIPPING_LINES_PER_ORDER = 3  # an order has one shipping line, rarely two (an edit): more are read by id
# Refresh an expiring access token this long before it expires.
TOKEN_REFRESH_MARGIN = timedelta(minutes=5)
WEBHOOK_TOPICS = ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED", "REFUNDS_CREATE", "APP_UNINSTALLED")

_MONEY = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"
_SHOP_MONEY = "shopMoney { amount currencyCode }"
LINE_ITEMS = f"""
        pageInfo {{ hasNextPage endCursor }}
        nodes {{
          id sku name quantity
          variant {{ legacyResourceId }}
          originalUnitPriceSet {{ {_SHOP_MONEY} }}
          originalTotalSet {{ {_SHOP_MONEY} }}
          discountAllocations {{ allocatedAmountSet {{ {_SHOP_MONEY} }} }}
          taxLines {{ priceSet {{ {_SHOP_MONEY} }} }}
        }}
"""
SHIPPING_LINES = f"""
        pageInfo {{ hasNextPage endCursor }}
        nodes {{
          id title
          originalPriceSet {{ {_SHOP_MONEY} }}
          discountAllocations {{ allocatedAmountSet {{ {_SHOP_MONEY} }} }}
          taxLines {{ priceSet {{ {_SHOP_MONEY} }} }}
        }}
"""
ORDER_FIELDS = f"""
      id legacyResourceId name createdAt updatedAt processedAt cancelledAt test tags sourceName
      displayFinancialStatus displayFulfillmentStatus currencyCode presentmentCurrencyCode
      taxesIncluded dutiesIncluded
      totalPriceSet {{ {_MONEY} }}
      totalDiscountsSet {{ {_SHOP_MONEY} }}
      totalTipReceivedSet {{ {_SHOP_MONEY} }}
      originalTotalDutiesSet {{ {_SHOP_MONEY} }}
      originalTotalAdditionalFeesSet {{ {_SHOP_MONEY} }}
      shippingAddress {{ countryCodeV2 }}
      billingAddress {{ countryCodeV2 }}
      shippingLines(first: {SHIPPING_LINES_PER_ORDER}) {{ {SHIPPING_LINES} }}
      lineItems(first: $lines) {{ {LINE_ITEMS} }}
"""
ORDERS_QUERY = f"""
query AcornOrders($first: Int!, $after: String, $query: String!, $lines: Int!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {ORDER_FIELDS} }}
  }}
}}
"""
ORDER_QUERY = f"""
query AcornOrder($id: ID!, $lines: Int!) {{
  order(id: $id) {{ {ORDER_FIELDS} }}
}}
"""
MORE_LINES_QUERY = f"""
query AcornMoreLines($id: ID!, $lines: Int!, $after: String) {{
  order(id: $id) {{ lineItems(first: $lines, after: $after) {{ {LINE_ITEMS} }} }}
}}
"""
MORE_SHIPPING_LINES_QUERY = f"""
query AcornMoreShippingLines($id: ID!, $lines: Int!, $after: String) {{
  order(id: $id) {{ shippingLines(first: $lines, after: $after) {{ {SHIPPING_LINES} }} }}
}}
"""
STOCK_PAGE_SIZE = 15  # variants per page: 15 x (item + 10 levels x 3 quantities) stays under 1,000 points
STOCK_QUERY = """
query AcornStock($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      legacyResourceId sku
      inventoryItem {
        id tracked
        inventoryLevels(first: 10) {
          nodes {
            location { id name }
            quantities(names: ["available", "on_hand", "committed"]) { name quantity }
          }
        }
      }
    }
  }
}
"""
PRIMARY_LOCATION_QUERY = """
query AcornPrimaryLocation {
  location { id name }
}
"""
ITEM_STOCK_QUERY = """
query AcornItemStock($item: ID!, $location: ID!) {
  inventoryItem(id: $item) {
    id sku tracked
    variant { legacyResourceId }
    inventoryLevel(locationId: $location) {
      location { id name }
      quantities(names: ["available", "on_hand", "committed"]) { name quantity }
    }
  }
}
"""
SET_STOCK = """
mutation AcornSetStock($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}
"""
ORDER_REFUNDS_QUERY = f"""
query AcornRefunds($id: ID!) {{
  order(id: $id) {{
    currencyCode
    refunds(first: 10) {{
      id createdAt note
      refundLineItems(first: 10) {{
        nodes {{ quantity lineItem {{ id sku }} subtotalSet {{ {_SHOP_MONEY} }} totalTaxSet {{ {_SHOP_MONEY} }} }}
      }}
      totalRefundedSet {{ {_SHOP_MONEY} }}
    }}
  }}
}}
"""
# Refunds and returns sync: orders updated in the window, with just enough to know which have any (cheap:
# 25 orders x (5 refunds + a 5-return connection) stays far below the 1,000-point query limit), then one
# detail query per order that has some (10 refunds x 10 lines, 10 returns x 20 lines: under 700 points).
AFTERSALES_PAGE_SIZE = 25
AFTERSALES_ORDERS_QUERY = """
query AcornAftersalesOrders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      legacyResourceId updatedAt
      refunds(first: 5) { id }
      returns(first: 5) { nodes { id } }
    }
  }
}
"""
ORDER_REFUND_DETAIL_QUERY = f"""
query AcornOrderRefundDetail($id: ID!) {{
  order(id: $id) {{
    legacyResourceId taxesIncluded
    refunds(first: 10) {{
      id legacyResourceId createdAt note
      return {{ id }}
      totalRefundedSet {{ {_SHOP_MONEY} }}
      refundLineItems(first: 10) {{
        nodes {{
          quantity restockType
          lineItem {{ id sku }}
          subtotalSet {{ {_SHOP_MONEY} }}
          totalTaxSet {{ {_SHOP_MONEY} }}
        }}
      }}
    }}
  }}
}}
"""
ORDER_RETURN_DETAIL_QUERY = """
query AcornOrderReturnDetail($id: ID!) {
  order(id: $id) {
    legacyResourceId
    returns(first: 10) {
      nodes {
        id name status createdAt closedAt
        returnLineItems(first: 20) {
          nodes {
            ... on ReturnLineItem {
              id quantity returnReason returnReasonNote customerNote
              fulfillmentLineItem { lineItem { id sku } }
            }
          }
        }
      }
    }
  }
}
"""
FULFILLMENT_ORDERS_QUERY = """
query AcornFulfillmentOrders($id: ID!) {
  order(id: $id) {
    fulfillmentOrders(first: 5) {
      nodes { id status lineItems(first: 30) { nodes { id remainingQuantity lineItem { id } } } }
    }
  }
}
"""
FULFILLMENT_CREATE = """
mutation AcornFulfil($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""
TRANSACTIONS_QUERY = """
query AcornTransactions($id: ID!) {
  order(id: $id) { presentmentCurrencyCode transactions(first: 50) { id kind status gateway } }
}
"""
REFUND_CREATE = """
mutation AcornRefund($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id totalRefundedSet { presentmentMoney { amount currencyCode } } }
    userErrors { field message }
  }
}
"""
SHOP_QUERY = "query { shop { name myshopifyDomain currencyCode ianaTimezone } }"
WEBHOOK_CREATE = """
mutation AcornWebhook($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
"""

WEBHOOKS_OF_URI = """
query AcornWebhooks($uri: String!) {
  webhookSubscriptions(first: 100, uri: $uri) { nodes { id topic uri } }
}
"""
WEBHOOK_DELETE = """
mutation AcornWebhookDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}
"""


class RecordError(ValueError):
    """A Shopify record that cannot be turned into a DTO; the message names the field."""


# --- the app, OAuth and HMACs -----------------------------------------------------------------------


def app_credentials() -> tuple[str, str]:
    return settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET


def normalize_shop_domain(value: str) -> str:
    """ "Acme" / "acme.myshopify.com" / "https://acme.myshopify.com/admin" → "acme.myshopify.com", or ValueError."""
    text = value.strip().lower()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.split("/", 1)[0]
    if "." not in text:
        text = f"{text}.myshopify.com"
    if not SHOP_DOMAIN.match(text):
        raise ValueError("Enter the shop's myshopify.com address, for example acme.myshopify.com.")
    return text


def api_base(store: Store) -> str:
    """https://{shop} for Shopify itself, or the store's endpoint (the simulator's /shopify/{shop})."""
    return store.endpoint.rstrip("/") if store.endpoint else f"https://{store.seller_id}"


def authorize_url(store: Store, *, state: str, redirect_uri: str) -> str:
    """Shopify's install/consent page for the authorization-code grant."""
    client_id, _ = app_credentials()
    query = {"client_id": client_id, "scope": settings.SHOPIFY_SCOPES, "redirect_uri": redirect_uri, "state": state}
    return f"{api_base(store)}/admin/oauth/authorize?{urlencode(query)}"


def query_hmac_valid(params: Mapping[str, str], secret: str | None = None) -> bool:
    """Shopify's HMAC on an OAuth callback: hex HMAC-SHA256 of the sorted query without `hmac`."""
    secret = secret if secret is not None else app_credentials()[1]
    given = str(params.get("hmac", ""))
    message = "&".join(f"{key}={value}" for key, value in sorted(params.items()) if key not in ("hmac", "signature"))
    expected = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return bool(given) and hmac.compare_digest(expected, given)


def _token_secrets(payload: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    token = payload.get("access_token")
    if not isinstance(token, str) or not token:
        raise ChannelAuthError("Shopify did not return an access token")
    secrets: dict[str, Any] = {"access_token": token, "scope": str(payload.get("scope", ""))}
    if payload.get("expires_in"):
        secrets["expires_at"] = (now + timedelta(seconds=int(payload["expires_in"]))).isoformat()
    if payload.get("refresh_token"):
        secrets["refresh_token"] = str(payload["refresh_token"])
        if payload.get("refresh_token_expires_in"):
            lifetime = timedelta(seconds=int(payload["refresh_token_expires_in"]))
            secrets["refresh_expires_at"] = (now + lifetime).isoformat()
    return secrets


def _token_request(store: Store, data: dict[str, str]) -> dict[str, Any]:
    client_id, client_secret = app_credentials()
    try:
        response = httpx.post(
            f"{api_base(store)}/admin/oauth/access_token",
            data={"client_id": client_id, "client_secret": client_secret, **data},
            headers={"Accept": "application/json"},
            timeout=settings.ACORN_VENDOR_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as error:
        raise ChannelRetryableError(f"Shopify's token endpoint did not answer: {type(error).__name__}") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise ChannelRetryableError(f"Shopify's token endpoint answered {response.status_code}")
    if response.status_code != 200:
        raise ChannelAuthError(f"Shopify refused the token request ({response.status_code})")
    try:
        payload = response.json()
    except ValueError:
        raise ChannelRetryableError("Shopify's token endpoint answered without JSON") from None
    return _token_secrets(payload, datetime.now(UTC))


def exchange_authorization_code(store: Store, *, code: str) -> dict[str, Any]:
    """The OAuth callback's code → the secrets to store (access token, and its refresh token if expiring)."""
    return _token_request(store, {"code": code, "expiring": "1"})


def refresh_access_token(store: Store, *, refresh_token: str) -> dict[str, Any]:
    return _token_request(store, {"grant_type": "refresh_token", "refresh_token": refresh_token})


# --- parsing -------------------------------------------------------------------------------------------


def _time(value: Any, field: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise RecordError(f"{field}: missing")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"{field}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise RecordError(f"{field}: {value!r} has no time zone")
    return parsed.astimezone(UTC)


def _money(bag: Any, field: str, side: str = "shopMoney", currency: str | None = None) -> tuple[Decimal, str]:
    """An amount from a MoneyBag (`shopMoney` or `presentmentMoney`): decimal string + ISO currency."""
    money = bag.get(side) if isinstance(bag, Mapping) else None
    if not isinstance(money, Mapping):
        raise RecordError(f"{field}.{side}: missing")
    code = str(money.get("currencyCode") or "")
    try:
        validate_currency_code(code)
    except Exception:
        raise RecordError(f"{field}.{side}.currencyCode: {code!r} is not an ISO 4217 code") from None
    if currency is not None and code != currency:
        raise RecordError(f"{field}.{side}.currencyCode: {code} differs from the order currency {currency}")
    raw = money.get("amount")
    if not isinstance(raw, str):
        raise RecordError(f"{field}.{side}.amount: {raw!r} is not a decimal string")
    try:
        return to_decimal(raw), code
    except (ValueError, InvalidOperation):
        raise RecordError(f"{field}.{side}.amount: {raw!r} is not a decimal amount") from None


def _legacy(value: Any) -> str:
    """The numeric id at the end of a GraphQL gid ("gid://shopify/Refund/123" → "123")."""
    return str(value or "").rsplit("/", 1)[-1]


def parse_refund(raw: Mapping[str, Any], *, order_id: str, taxes_included: bool) -> ExternalRefund:
    """One Refund node → ExternalRefund (negative = given back), or RecordError naming the field.

    Lines carry the items' subtotal and tax (a tax-inclusive shop's subtotal includes the tax, taken out here).
    What the refund gave back beyond its lines is shipping when it has lines (Shopify refunds shipping at the
    order level) and an amount of its own otherwise (a goodwill or price adjustment): "other"."""
    total, currency = _money(raw.get("totalRefundedSet"), "totalRefundedSet")
    lines: list[RefundLine] = []
    accounted = Decimal(0)
    block = raw.get("refundLineItems") or {}
    nodes = block.get("nodes") if isinstance(block, Mapping) else None
    for index, item in enumerate(nodes or []):
        field = f"refundLineItems[{index}]"
        if not isinstance(item, Mapping):
            raise RecordError(f"{field}: not an object")
        subtotal, _ = _money(item.get("subtotalSet"), f"{field}.subtotalSet", currency=currency)
        tax, _ = _money(item.get("totalTaxSet"), f"{field}.totalTaxSet", currency=currency)
        principal = subtotal - tax if taxes_included else subtotal
        accounted += principal + tax
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise RecordError(f"{field}.quantity: {quantity!r} is not a whole number")
        line = item.get("lineItem") or {}
        lines.append(
            RefundLine(
                order_item_id=_legacy(line.get("id"))[:100],
                sku=str(line.get("sku") or "")[:200],
                quantity=quantity,
                components=(("principal", -principal), ("tax", -tax)),
            )
        )
    rest = total - accounted
    if rest:
        component = "shipping" if lines else "other"
        lines.append(RefundLine(order_item_id="", sku="", quantity=0, components=((component, -rest),)))
    return ExternalRefund(
        external_id=_legacy(raw.get("legacyResourceId") or raw.get("id"))[:200],
        order_id=order_id,
        posted_at=_time(raw.get("createdAt"), "createdAt"),
        currency=currency,
        lines=tuple(lines),
        note=str(raw.get("note") or "")[:500],
        source="shopify",
    )


def parse_returns(raw: Mapping[str, Any], *, order_id: str) -> list[ExternalReturn]:
    """One Return node → one ExternalReturn per line (SKU), or RecordError naming the field."""
    return_id = _legacy(raw.get("id"))
    if not return_id:
        raise RecordError("id: missing")
    created = _time(raw.get("createdAt"), "createdAt")
    closed = _time(raw.get("closedAt"), "closedAt") if raw.get("closedAt") else None
    status = str(raw.get("status") or "")
    block = raw.get("returnLineItems") or {}
    nodes = block.get("nodes") if isinstance(block, Mapping) else None
    records = []
    for index, item in enumerate(nodes or []):
        field = f"returnLineItems[{index}]"
        if not isinstance(item, Mapping):
            raise RecordError(f"{field}: not an object")
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise RecordError(f"{field}.quantity: {quantity!r} is not a whole number")
        line = ((item.get("fulfillmentLineItem") or {}).get("lineItem") or {}) if isinstance(item, Mapping) else {}
        sku = str(line.get("sku") or "") if isinstance(line, Mapping) else ""
        if not sku:
            raise RecordError(f"{field}.fulfillmentLineItem.lineItem.sku: missing")
        note = str(item.get("customerNote") or item.get("returnReasonNote") or "")
        records.append(
            ExternalReturn(
                external_id=f"{return_id}:{_legacy(item.get('id'))}"[:200],
                order_id=order_id,
                sku=sku[:200],
                quantity=quantity,
                returned_at=created,
                fulfillment_channel=FulfillmentChannel.MERCHANT,
                reason_code=str(item.get("returnReason") or "")[:60],
                customer_comment=note[:2000],
                status=status[:60],
                rma=str(raw.get("name") or "")[:100],
                delivered_at=closed,
            )
        )
    return records


def normalize_status(financial: str, fulfillment: str, cancelled: bool) -> str:
    """Shopify's financial + fulfilment status → ACORN's normalised status.

    Authorised payments count as paid (the capture happens at fulfilment); a voided authorisation or a
    refunded order that never shipped is cancelled."""
    if cancelled or financial == "VOIDED":
        return OrderStatus.CANCELLED
    if fulfillment == "FULFILLED":
        return OrderStatus.SHIPPED
    if fulfillment == "PARTIALLY_FULFILLED":
        return OrderStatus.PARTIALLY_SHIPPED
    if financial == "REFUNDED":
        return OrderStatus.CANCELLED
    if financial in ("PAID", "AUTHORIZED", "PARTIALLY_REFUNDED"):
        return OrderStatus.PAID_UNSHIPPED
    return OrderStatus.PENDING_PAYMENT  # PENDING, PARTIALLY_PAID, EXPIRED


def _optional_money(bag: Any, field: str, currency: str) -> Decimal:
    """A MoneyBag that may be null (duties, additional fees, tips): its shop amount, else zero."""
    return _money(bag, field, currency=currency)[0] if bag is not None else Decimal(0)


def _allocated(node: Mapping[str, Any], field: str, currency: str) -> Decimal | None:
    """The sum of a line's or shipping line's discount allocations; None when the node has none listed."""
    allocations = node.get("discountAllocations")
    if allocations is None:
        return None
    if not isinstance(allocations, list):
        raise RecordError(f"{field}.discountAllocations: not a list")
    return sum(
        (
            _money(
                allocation.get("allocatedAmountSet") if isinstance(allocation, Mapping) else None,
                f"{field}.discountAllocations[{index}].allocatedAmountSet",
                currency=currency,
            )[0]
            for index, allocation in enumerate(allocations)
        ),
        Decimal(0),
    )


def _taxes(node: Mapping[str, Any], field: str, currency: str) -> Decimal:
    tax = Decimal(0)
    for index, tax_line in enumerate(node.get("taxLines") or []):
        tax += _money(
            tax_line.get("priceSet") if isinstance(tax_line, Mapping) else None,
            f"{field}.taxLines[{index}].priceSet",
            currency=currency,
        )[0]
    return tax


def _nodes(block: Any) -> list[Any]:
    nodes = block.get("nodes") if isinstance(block, Mapping) else block
    return list(nodes) if isinstance(nodes, list) else []


def _shipping_adjustments(raw: Mapping[str, Any], currency: str, taxes_included: bool) -> list[ExternalAdjustment]:
    """Each shipping line's price, the discounts allocated to it and its tax (inside the price when the
    shop's prices include tax)."""
    adjustments: list[ExternalAdjustment] = []
    for index, node in enumerate(_nodes(raw.get("shippingLines"))):
        field = f"shippingLines[{index}]"
        if not isinstance(node, Mapping):
            raise RecordError(f"{field}: not an object")
        line_id = _legacy(node.get("id"))
        title = str(node.get("title") or "")
        price, _ = _money(node.get("originalPriceSet"), f"{field}.originalPriceSet", currency=currency)
        discount = _allocated(node, field, currency) or Decimal(0)
        tax = _taxes(node, field, currency)
        adjustments.append(
            ExternalAdjustment(
                kind=AdjustmentKind.SHIPPING,
                amount=price,
                label=title,
                external_id=line_id,
                included_tax=tax if taxes_included else Decimal(0),
            )
        )
        if discount:
            adjustments.append(
                ExternalAdjustment(
                    kind=AdjustmentKind.SHIPPING_DISCOUNT, amount=-discount, label=title, external_id=line_id
                )
            )
        if tax and not taxes_included:
            adjustments.append(
                ExternalAdjustment(kind=AdjustmentKind.SHIPPING_TAX, amount=tax, label=title, external_id=line_id)
            )
    return adjustments


def parse_order(raw: Mapping[str, Any]) -> ExternalOrder:
    """One GraphQL Order node → ExternalOrder in the shop currency (presentment total kept), or RecordError.

    The total is `totalPriceSet`: the order as placed, before returns and refunds (the lines carry the
    quantities ordered; refunds are kept as refunds), not `currentTotalPriceSet`, which returns and refunds
    have already lowered. Lines carry their discount allocations (line and order-level discounts as Shopify
    spread them) and their tax; each shipping line its price, discount and tax; duties (unless included in
    the prices) and additional fees are adjustments. A tip, or an order-level discount Shopify did not
    allocate, is kept only where it is exactly what the total holds beyond everything else (a tip may also be
    a line of its own); anything else is left to ingest's unexplained difference."""
    gid = raw.get("id")
    if not isinstance(gid, str) or not gid:
        raise RecordError("id: missing")
    legacy = str(raw.get("legacyResourceId") or gid.rsplit("/", 1)[-1])
    financial = str(raw.get("displayFinancialStatus") or "")
    fulfillment = str(raw.get("displayFulfillmentStatus") or "")
    total, currency = _money(raw.get("totalPriceSet"), "totalPriceSet")
    presentment_total, presentment_currency = _money(raw.get("totalPriceSet"), "totalPriceSet", "presentmentMoney")
    taxes_included = bool(raw.get("taxesIncluded"))
    nodes = _nodes(raw.get("lineItems"))
    if not nodes:
        raise RecordError("lineItems: missing or empty")
    lines = tuple(_parse_line(node, index, currency, taxes_included) for index, node in enumerate(nodes))
    adjustments = _shipping_adjustments(raw, currency, taxes_included)
    duties = _optional_money(raw.get("originalTotalDutiesSet"), "originalTotalDutiesSet", currency)
    if duties and not raw.get("dutiesIncluded"):
        adjustments.append(ExternalAdjustment(kind=AdjustmentKind.DUTY, amount=duties))
    fees = _optional_money(raw.get("originalTotalAdditionalFeesSet"), "originalTotalAdditionalFeesSet", currency)
    if fees:
        adjustments.append(ExternalAdjustment(kind=AdjustmentKind.FEE, amount=fees))
    adjustments.extend(_reported_rest(raw, currency, total, lines, adjustments))
    country = ""
    for address in ("shippingAddress", "billingAddress"):
        block = raw.get(address)
        if isinstance(block, Mapping) and block.get("countryCodeV2"):
            country = str(block["countryCodeV2"])
            break
    tags = raw.get("tags") or []
    return ExternalOrder(
        external_id=legacy[:100],
        marketplace="",
        purchased_at=_time(raw.get("processedAt") or raw.get("createdAt"), "processedAt"),
        updated_at=_time(raw.get("updatedAt"), "updatedAt"),
        raw_status=f"{financial}/{fulfillment}"[:50],
        status=normalize_status(financial, fulfillment, bool(raw.get("cancelledAt"))),
        fulfillment_channel=FulfillmentChannel.MERCHANT,
        currency=currency,
        total_amount=total,
        buyer_country=country[:2].upper(),
        lines=lines,
        merchant_order_id=str(raw.get("name") or "")[:100],
        presentment_currency=presentment_currency,
        presentment_total=presentment_total,
        source_name=str(raw.get("sourceName") or "")[:60],
        tags=tuple(str(tag)[:60] for tag in tags if tag) if isinstance(tags, list) else (),
        adjustments=tuple(adjustments),
        taxes_included=taxes_included,
    )


def _reported_rest(
    raw: Mapping[str, Any],
    currency: str,
    total: Decimal,
    lines: tuple[ExternalOrderLine, ...],
    adjustments: list[ExternalAdjustment],
) -> list[ExternalAdjustment]:
    """The tip and the unallocated order discount, where they are exactly what the total still holds."""
    rest = total - sum((line.total_amount for line in lines), Decimal(0))
    rest -= sum((adjustment.amount for adjustment in adjustments), Decimal(0))
    if not rest:
        return []
    tip = _optional_money(raw.get("totalTipReceivedSet"), "totalTipReceivedSet", currency)
    reported = _optional_money(raw.get("totalDiscountsSet"), "totalDiscountsSet", currency)
    allocated = sum((line.discount_amount for line in lines), Decimal(0)) - sum(
        (a.amount for a in adjustments if a.kind == AdjustmentKind.SHIPPING_DISCOUNT), Decimal(0)
    )
    unallocated = reported - allocated if reported > allocated else Decimal(0)
    candidates = []
    if tip:
        candidates.append(ExternalAdjustment(kind=AdjustmentKind.TIP, amount=tip))
    if unallocated:
        candidates.append(ExternalAdjustment(kind=AdjustmentKind.DISCOUNT, amount=-unallocated))
    for size in range(1, len(candidates) + 1):
        for chosen in combinations(candidates, size):
            if sum((adjustment.amount for adjustment in chosen), Decimal(0)) == rest:
                return list(chosen)
    return []


def _parse_line(node: Any, index: int, currency: str, taxes_included: bool = False) -> ExternalOrderLine:
    field = f"lineItems[{index}]"
    if not isinstance(node, Mapping):
        raise RecordError(f"{field}: not an object")
    line_id = node.get("id")
    if not isinstance(line_id, str) or not line_id:
        raise RecordError(f"{field}.id: missing")
    quantity = node.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise RecordError(f"{field}.quantity: {quantity!r} is not a whole number")
    unit_price, _ = _money(node.get("originalUnitPriceSet"), f"{field}.originalUnitPriceSet", currency=currency)
    total_block = node.get("originalTotalSet")
    item_amount = (
        _money(total_block, f"{field}.originalTotalSet", currency=currency)[0]
        if total_block is not None
        else unit_price * quantity
    )
    # Discount allocations are what Shopify took off this line (its own and its share of order discounts);
    # `totalDiscountSet` only where a payload has no allocations (older REST bodies).
    discount = _allocated(node, field, currency)
    if discount is None:
        discount = (
            _money(node.get("totalDiscountSet"), f"{field}.totalDiscountSet", currency=currency)[0]
            if node.get("totalDiscountSet") is not None
            else Decimal(0)
        )
    variant = node.get("variant") or {}
    variant_id = str(variant.get("legacyResourceId") or "") if isinstance(variant, Mapping) else ""
    return ExternalOrderLine(
        external_id=line_id.rsplit("/", 1)[-1][:100],
        sku=str(node.get("sku") or "")[:200],
        quantity=quantity,
        currency=currency,
        unit_price=unit_price,
        item_amount=item_amount,
        tax_amount=_taxes(node, field, currency),
        discount_amount=discount,
        title=str(node.get("name") or "")[:500],
        channel_product_id=variant_id[:60],
        tax_included=taxes_included,
    )


def _camel_money(bag: Any, amount: Any = None, currency: Any = None) -> dict[str, Any] | None:
    """A REST `*_set` MoneyBag (shop_money / currency_code) in the GraphQL shape; or one built from a plain
    amount and the order currency (older payloads have no *_set)."""
    if isinstance(bag, Mapping):
        return {
            side: {"amount": money.get("amount"), "currencyCode": money.get("currency_code")}
            for rest, side in (("shop_money", "shopMoney"), ("presentment_money", "presentmentMoney"))
            if isinstance(money := bag.get(rest), Mapping)
        }
    if amount is None:
        return None
    money = {"amount": str(amount), "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": money}


_REST_FULFILLMENT = {None: "UNFULFILLED", "": "UNFULFILLED", "partial": "PARTIALLY_FULFILLED"}


def _rest_allocations(item: Mapping[str, Any], currency: Any) -> list[dict[str, Any]] | None:
    allocations = item.get("discount_allocations")
    if not isinstance(allocations, list):
        return None
    return [
        {"allocatedAmountSet": _camel_money(allocation.get("amount_set"), allocation.get("amount"), currency)}
        for allocation in allocations
        if isinstance(allocation, Mapping)
    ]


def _rest_taxes(item: Mapping[str, Any], currency: Any) -> list[dict[str, Any]]:
    return [
        {"priceSet": _camel_money(tax.get("price_set"), tax.get("price"), currency)}
        for tax in item.get("tax_lines") or []
        if isinstance(tax, Mapping)
    ]


def rest_order_to_node(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A REST order (the body of an orders/* webhook) in the GraphQL node shape `parse_order` reads, so a
    webhook and a poll turn the same order into the same record."""
    currency = raw.get("currency")
    address = raw.get("shipping_address") or raw.get("billing_address") or {}
    tags = raw.get("tags") or ""
    lines = []
    for item in raw.get("line_items") or []:
        if not isinstance(item, Mapping):
            lines.append(item)
            continue
        line = {
            "id": f"gid://shopify/LineItem/{item.get('id')}" if item.get("id") is not None else None,
            "sku": item.get("sku"),
            "name": item.get("name"),
            "quantity": item.get("quantity"),
            "variant": {"legacyResourceId": str(item["variant_id"])} if item.get("variant_id") else None,
            "originalUnitPriceSet": _camel_money(item.get("price_set"), item.get("price"), currency),
            "totalDiscountSet": _camel_money(item.get("total_discount_set"), item.get("total_discount"), currency),
            "taxLines": _rest_taxes(item, currency),
        }
        allocations = _rest_allocations(item, currency)
        if allocations is not None:
            line["discountAllocations"] = allocations
        lines.append(line)
    shipping_lines = []
    for item in raw.get("shipping_lines") or []:
        if not isinstance(item, Mapping):
            shipping_lines.append(item)
            continue
        if item.get("is_removed"):
            continue  # taken off the order in an edit: no longer in its total
        shipping_lines.append(
            {
                "id": f"gid://shopify/ShippingLine/{item.get('id')}" if item.get("id") is not None else None,
                "title": item.get("title") or item.get("code"),
                "originalPriceSet": _camel_money(item.get("price_set"), item.get("price"), currency),
                "discountAllocations": _rest_allocations(item, currency) or [],
                "taxLines": _rest_taxes(item, currency),
            }
        )
    return {
        "id": f"gid://shopify/Order/{raw.get('id')}" if raw.get("id") is not None else None,
        "legacyResourceId": str(raw.get("id") or ""),
        "name": raw.get("name"),
        "createdAt": raw.get("created_at"),
        "updatedAt": raw.get("updated_at"),
        "processedAt": raw.get("processed_at"),
        "cancelledAt": raw.get("cancelled_at"),
        "tags": [tag.strip() for tag in str(tags).split(",") if tag.strip()],
        "sourceName": raw.get("source_name"),
        "displayFinancialStatus": str(raw.get("financial_status") or "pending").upper(),
        "displayFulfillmentStatus": _REST_FULFILLMENT.get(
            raw.get("fulfillment_status"), str(raw.get("fulfillment_status")).upper()
        ),
        "taxesIncluded": bool(raw.get("taxes_included")),
        "dutiesIncluded": bool(raw.get("duties_included")),
        "totalPriceSet": _camel_money(raw.get("total_price_set"), raw.get("total_price"), currency),
        "totalDiscountsSet": _camel_money(raw.get("total_discounts_set"), raw.get("total_discounts"), currency),
        "totalTipReceivedSet": _camel_money(None, raw.get("total_tip_received"), currency),
        "originalTotalDutiesSet": _camel_money(raw.get("original_total_duties_set")),
        "originalTotalAdditionalFeesSet": _camel_money(raw.get("original_total_additional_fees_set")),
        "shippingAddress": {"countryCodeV2": address.get("country_code")} if isinstance(address, Mapping) else None,
        "shippingLines": {"nodes": shipping_lines},
        "lineItems": {"nodes": lines},
    }


def parse_rest_order(raw: Mapping[str, Any]) -> ExternalOrder:
    """A REST order (webhook body) → ExternalOrder, or RecordError naming the field."""
    return parse_order(rest_order_to_node(raw))


# --- HTTP ----------------------------------------------------------------------------------------------


class _TimedGraphQL(shopify.GraphQL):
    """The library's GraphQL client with a timeout, and without printing error bodies to stdout."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def execute(self, query: str, variables: Any = None, operation_name: str | None = None) -> str:
        headers = self.merge_headers({"Accept": "application/json", "Content-Type": "application/json"}, self.headers)
        body = json.dumps({"query": query, "variables": variables, "operationName": operation_name}).encode()
        request = urllib.request.Request(self.endpoint, body, headers)  # noqa: S310 - https or the simulator
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return str(response.read().decode("utf-8"))


def classify_error(error: Exception) -> ChannelError:
    """urllib / socket errors → ACORN's error classes."""
    if isinstance(error, ChannelError):
        return error
    if isinstance(error, urllib.error.HTTPError):
        status = error.code
        if status == 401:
            return ChannelAuthError("Shopify refused the access token (401): reconnect the shop")
        if status == 402:
            return ChannelAuthError("The shop is frozen for non-payment (402)")
        if status in (403, 423):
            return ChannelAuthError(f"Shopify refused access ({status}): the app lacks a scope or the shop is locked")
        if status == 404:
            return ChannelError("Shopify answered 404: the shop does not exist or the API version is not served")
        if status == 429:
            return ChannelRateLimited(
                "Shopify throttled the request (429)", retry_after=retry_after_seconds(error.headers)
            )
        if status >= 500:
            return ChannelRetryableError(f"Shopify answered {status}", code=f"http_{status}")
        return ChannelError(f"Shopify refused the request ({status})")
    if isinstance(error, TimeoutError) or "timed out" in str(error):
        return ChannelRetryableError("Shopify did not answer in time", code="timeout")
    if isinstance(error, (urllib.error.URLError, ConnectionError, OSError)):
        return ChannelRetryableError(f"Connection to Shopify failed: {type(error).__name__}", code="connection")
    return ChannelError(f"Unexpected error talking to Shopify: {type(error).__name__}")


class ShopifyAdapter(ChannelAdapter):
    key = "shopify"

    def __init__(
        self,
        *,
        store: Store,
        secrets: Mapping[str, Any],
        on_secrets_changed: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__(store=store, secrets=secrets)
        if not secrets.get("access_token"):
            raise ChannelAuthError("The shop has no access token: connect it in the console.")
        self._secrets = dict(secrets)
        self._on_secrets_changed = on_secrets_changed
        self.last_cost: dict[str, Any] = {}  # extensions.cost of the last answer

    # --- tokens ---
    def _access_token(self) -> str:
        expires = self._secrets.get("expires_at")
        if expires and datetime.fromisoformat(str(expires)) - TOKEN_REFRESH_MARGIN <= datetime.now(UTC):
            refresh = self._secrets.get("refresh_token")
            if not refresh:
                raise ChannelAuthError("The shop's access token expired and there is no refresh token")
            fresh = refresh_access_token(self.store, refresh_token=str(refresh))
            self._secrets = {**self._secrets, **fresh}
            if self._on_secrets_changed is not None:
                self._on_secrets_changed(dict(self._secrets))
        return str(self._secrets["access_token"])

    # --- GraphQL ---
    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One GraphQL call: data on success; ChannelRateLimited when THROTTLED; errors classified."""
        session = shopify.Session(self.store.seller_id, SHOPIFY_API_VERSION, self._access_token())
        if self.store.endpoint:
            parts = urlsplit(self.store.endpoint.rstrip("/"))
            session.url, session.protocol = f"{parts.netloc}{parts.path}", parts.scheme
        shopify.ShopifyResource.activate_session(session)
        try:
            raw = _TimedGraphQL(settings.ACORN_VENDOR_TIMEOUT_SECONDS).execute(query, dict(variables or {}))
        except Exception as error:  # urllib raises many types; classify_error sorts them
            raise classify_error(error) from None
        finally:
            shopify.ShopifyResource.clear_session()
        try:
            body = json.loads(raw)
        except ValueError:
            raise ChannelRetryableError("Shopify answered without JSON", code="bad_response") from None
        cost = ((body.get("extensions") or {}).get("cost") or {}) if isinstance(body, Mapping) else {}
        self.last_cost = dict(cost)
        errors = body.get("errors") if isinstance(body, Mapping) else None
        if errors:
            codes = {
                str((error.get("extensions") or {}).get("code", "")) for error in errors if isinstance(error, Mapping)
            }
            if "THROTTLED" in codes:
                raise ChannelRateLimited("Shopify throttled the query", retry_after=_refill_seconds(cost))
            if "MAX_COST_EXCEEDED" in codes:
                raise ChannelError("The query asks for more than Shopify's single-query cost limit")
            if "ACCESS_DENIED" in codes:
                raise ChannelAuthError("Shopify denied access: the app lacks a scope")
            if "INTERNAL_SERVER_ERROR" in codes:
                raise ChannelRetryableError("Shopify had an internal error", code="http_500")
            if isinstance(errors, str):
                raise ChannelAuthError(f"Shopify refused the request: {errors[:200]}")
            messages = "; ".join(str(error.get("message", "")) for error in errors if isinstance(error, Mapping))
            if "cursor" in messages.lower():
                raise ChannelCursorExpired(f"Shopify refused the cursor: {messages[:200]}")
            raise ChannelError(f"Shopify rejected the query: {messages[:300]}")
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, Mapping):
            raise ChannelRetryableError("Shopify answered without data", code="empty_response")
        return dict(data)

    def fetch_orders(
        self, *, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[ExternalOrder]:
        search = f"updated_at:>='{_iso(updated_after)}'"
        if updated_before is not None:
            search += f" AND updated_at:<='{_iso(updated_before)}'"
        data = self.graphql(
            ORDERS_QUERY,
            {"first": ORDERS_PAGE_SIZE, "after": page_token, "query": search, "lines": LINES_PER_ORDER},
        )
        connection = data.get("orders") or {}
        nodes = connection.get("nodes") if isinstance(connection, Mapping) else None
        if not isinstance(nodes, list):
            raise ChannelRetryableError("Shopify answered without an orders list", code="empty_response")
        orders: list[ExternalOrder] = []
        bad: list[BadRecord] = []
        for node in nodes:
            if not isinstance(node, Mapping):
                bad.append(BadRecord(reason="record is not a JSON object", raw={"value": node}))
                continue
            try:
                orders.append(parse_order(self._with_all_lines(node)))
            except RecordError as error:
                bad.append(BadRecord(reason=str(error), raw=node, external_id=str(node.get("legacyResourceId", ""))))
        info = connection.get("pageInfo") or {}
        next_token = info.get("endCursor") if info.get("hasNextPage") else None
        return Page(
            items=tuple(orders),
            bad_records=tuple(bad),
            next_token=next_token or None,
            rate_limit=_sustained_rate(self.last_cost),
        )

    def _with_all_lines(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """The order node with every line item and shipping line: pages past the first are read by order id."""
        complete = dict(node)
        for name, query, size in (
            ("lineItems", MORE_LINES_QUERY, MORE_LINES_PAGE),
            ("shippingLines", MORE_SHIPPING_LINES_QUERY, MORE_LINES_PAGE),
        ):
            block = node.get(name)
            if not isinstance(block, Mapping) or not (block.get("pageInfo") or {}).get("hasNextPage"):
                continue
            nodes = list(block.get("nodes") or [])
            cursor = (block.get("pageInfo") or {}).get("endCursor")
            while cursor:
                data = self.graphql(query, {"id": node.get("id"), "lines": size, "after": cursor})
                more = ((data.get("order") or {}).get(name) or {}) if isinstance(data, Mapping) else {}
                nodes.extend(more.get("nodes") or [])
                info = more.get("pageInfo") or {}
                cursor = info.get("endCursor") if info.get("hasNextPage") else None
            complete[name] = {"nodes": nodes}
        return complete

    def fetch_order(self, order_id: str) -> ExternalOrder | None:
        """One order by its id (a webhook names it); None when the shop no longer has it."""
        data = self.graphql(ORDER_QUERY, {"id": f"gid://shopify/Order/{order_id}", "lines": LINES_PER_ORDER})
        node = data.get("order")
        if node is None:
            return None
        if not isinstance(node, Mapping):
            raise ChannelRetryableError("Shopify answered without the order", code="empty_response")
        try:
            return parse_order(self._with_all_lines(node))
        except RecordError as error:
            raise ChannelError(f"Shopify's order {order_id} is unreadable: {error}") from None

    # --- stock -----------------------------------------------------------------------------------------
    def fetch_stock(self, *, page_token: str | None = None) -> Page[ChannelStock]:
        """One page of variants with their quantities per location (untracked items have `available` None)."""
        data = self.graphql(STOCK_QUERY, {"first": STOCK_PAGE_SIZE, "after": page_token})
        connection = data.get("productVariants") or {}
        items: list[ChannelStock] = []
        bad: list[BadRecord] = []
        for node in connection.get("nodes") or []:
            item = node.get("inventoryItem") if isinstance(node, Mapping) else None
            if not isinstance(item, Mapping):
                bad.append(BadRecord(reason="inventoryItem: missing", raw={"value": node}))
                continue
            for level in (item.get("inventoryLevels") or {}).get("nodes") or []:
                quantities = {q.get("name"): q.get("quantity") for q in level.get("quantities") or []}
                location = level.get("location") or {}
                items.append(
                    ChannelStock(
                        sku=str(node.get("sku") or ""),
                        channel_product_id=str(node.get("legacyResourceId") or ""),
                        available=quantities.get("available") if item.get("tracked") else None,
                        location_id=str(location.get("id") or ""),
                        location_name=str(location.get("name") or ""),
                        inventory_item_id=str(item.get("id") or ""),
                        on_hand=quantities.get("on_hand"),
                        committed=quantities.get("committed"),
                    )
                )
        info = connection.get("pageInfo") or {}
        return Page(
            items=tuple(items),
            bad_records=tuple(bad),
            next_token=info.get("endCursor") if info.get("hasNextPage") else None,
            rate_limit=_sustained_rate(self.last_cost),
        )

    def primary_location_id(self) -> str:
        """The shop's primary location (a location query without an id answers it); "" if the shop has none."""
        data = self.graphql(PRIMARY_LOCATION_QUERY)
        location = data.get("location")
        return str(location.get("id") or "") if isinstance(location, Mapping) else ""

    def fetch_item_stock(self, *, inventory_item_id: str, location_id: str) -> ChannelStock | None:
        """One inventory item's quantities at one location (a re-read after a refused compare-and-set);
        None when the shop no longer has the item or does not stock it there."""
        data = self.graphql(ITEM_STOCK_QUERY, {"item": inventory_item_id, "location": location_id})
        item = data.get("inventoryItem")
        if not isinstance(item, Mapping):
            return None
        level = item.get("inventoryLevel")
        if not isinstance(level, Mapping):
            return None
        quantities = {q.get("name"): q.get("quantity") for q in level.get("quantities") or [] if isinstance(q, Mapping)}
        location = level.get("location") or {}
        return ChannelStock(
            sku=str(item.get("sku") or ""),
            channel_product_id=str((item.get("variant") or {}).get("legacyResourceId") or ""),
            available=quantities.get("available") if item.get("tracked") else None,
            location_id=str(location.get("id") or location_id),
            location_name=str(location.get("name") or ""),
            inventory_item_id=str(item.get("id") or inventory_item_id),
            on_hand=quantities.get("on_hand"),
            committed=quantities.get("committed"),
        )

    def set_available(
        self, *, inventory_item_id: str, location_id: str, quantity: int, expected: int | None, key: str
    ) -> StockPushResult:
        """Set the available quantity, compare-and-set against `expected` (what ACORN last saw there).

        A stale `expected` changes nothing and comes back as a conflict: read again and decide again. `key`
        makes a retry of the same push a replay rather than a second change."""
        payload = {
            "name": "available",
            "reason": "correction",
            "referenceDocumentUri": f"acorn://stock-push/{key}",
            "quantities": [
                {
                    "inventoryItemId": inventory_item_id,
                    "locationId": location_id,
                    "quantity": quantity,
                    "changeFromQuantity": expected,
                }
            ],
        }
        data = self.graphql(SET_STOCK, {"input": payload, "key": key})
        result = data.get("inventorySetQuantities") or {}
        errors = [error for error in result.get("userErrors") or [] if isinstance(error, Mapping)]
        if not errors:
            return StockPushResult(applied=True, quantity=quantity)
        message = "; ".join(str(error.get("message", "")) for error in errors)[:500]
        if any("STALE" in str(error.get("code") or "") for error in errors):
            return StockPushResult(applied=False, quantity=quantity, conflict=True, message=message)
        raise ChannelError(f"Shopify refused the quantity: {message}")

    # --- refunds and fulfilments -------------------------------------------------------------------------
    def fetch_order_refunds(self, order_id: str) -> list[ExternalRefund]:
        """The order's refunds as Shopify records them (line subtotals and tax; negative = given back)."""
        data = self.graphql(ORDER_REFUNDS_QUERY, {"id": f"gid://shopify/Order/{order_id}"})
        order = data.get("order")
        if not isinstance(order, Mapping):
            return []
        refunds = []
        for raw in order.get("refunds") or []:
            total, currency = _money(raw.get("totalRefundedSet"), "totalRefundedSet")
            lines = []
            accounted = Decimal(0)
            for item in (raw.get("refundLineItems") or {}).get("nodes") or []:
                subtotal, _ = _money(item.get("subtotalSet"), "subtotalSet", currency=currency)
                tax, _ = _money(item.get("totalTaxSet"), "totalTaxSet", currency=currency)
                accounted += subtotal + tax
                line = item.get("lineItem") or {}
                lines.append(
                    RefundLine(
                        order_item_id=str(line.get("id") or "").rsplit("/", 1)[-1],
                        sku=str(line.get("sku") or ""),
                        quantity=int(item.get("quantity") or 0),
                        components=(("principal", -subtotal), ("tax", -tax)),
                    )
                )
            if total != accounted:  # shipping or an amount not tied to items
                lines.append(
                    RefundLine(order_item_id="", sku="", quantity=0, components=(("other", accounted - total),))
                )
            refunds.append(
                ExternalRefund(
                    external_id=str(raw.get("id") or "").rsplit("/", 1)[-1],
                    order_id=order_id,
                    posted_at=_time(raw.get("createdAt"), "createdAt"),
                    currency=currency,
                    lines=tuple(lines),
                    note=str(raw.get("note") or "")[:500],
                    source="shopify",
                )
            )
        return refunds

    # --- refunds and returns sync --------------------------------------------------------------------------
    def fetch_aftersales_orders(
        self, *, kind: str, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[str]:
        """One page of orders updated in the window: the ids of those with refunds (`kind="refunds"`) or with
        returns (`kind="returns"`); `newest` is the newest updatedAt listed. Read each with
        fetch_order_refund_detail / fetch_order_returns (one call each, so a failed call is retried alone)."""
        search = f"updated_at:>='{_iso(updated_after)}'"
        if updated_before is not None:
            search += f" AND updated_at:<='{_iso(updated_before)}'"
        data = self.graphql(
            AFTERSALES_ORDERS_QUERY, {"first": AFTERSALES_PAGE_SIZE, "after": page_token, "query": search}
        )
        connection = data.get("orders") or {}
        nodes = connection.get("nodes") if isinstance(connection, Mapping) else None
        if not isinstance(nodes, list):
            raise ChannelRetryableError("Shopify answered without an orders list", code="empty_response")
        newest: datetime | None = None
        wanted: list[str] = []
        for node in nodes:
            if not isinstance(node, Mapping):
                continue  # the orders sync quarantines it
            try:
                updated = _time(node.get("updatedAt"), "updatedAt")
            except RecordError:
                continue
            newest = updated if newest is None or updated > newest else newest
            has = node.get("refunds") if kind == "refunds" else (node.get("returns") or {}).get("nodes")
            if has:
                wanted.append(_legacy(node.get("legacyResourceId")))
        info = connection.get("pageInfo") or {}
        next_token = info.get("endCursor") if info.get("hasNextPage") else None
        return Page(
            items=tuple(wanted),
            next_token=next_token or None,
            rate_limit=_sustained_rate(self.last_cost),
            newest=newest,
        )

    def fetch_order_refund_detail(self, order_id: str) -> Page[ExternalRefund]:
        """Every refund of one order with its lines (unreadable ones as bad records); empty if the order is gone."""
        data = self.graphql(ORDER_REFUND_DETAIL_QUERY, {"id": f"gid://shopify/Order/{order_id}"})
        order = data.get("order")
        refunds: list[ExternalRefund] = []
        bad: list[BadRecord] = []
        if isinstance(order, Mapping):
            for raw in order.get("refunds") or []:
                if not isinstance(raw, Mapping):
                    bad.append(BadRecord(reason="record is not a JSON object", raw={"value": raw}))
                    continue
                try:
                    refunds.append(
                        parse_refund(raw, order_id=order_id, taxes_included=bool(order.get("taxesIncluded")))
                    )
                except RecordError as error:
                    bad.append(BadRecord(reason=str(error), raw=raw, external_id=_legacy(raw.get("id"))))
        return Page(items=tuple(refunds), bad_records=tuple(bad), rate_limit=_sustained_rate(self.last_cost))

    def fetch_order_returns(self, order_id: str) -> Page[ExternalReturn]:
        """Every return of one order, one record per returned line; empty if the order is gone."""
        data = self.graphql(ORDER_RETURN_DETAIL_QUERY, {"id": f"gid://shopify/Order/{order_id}"})
        order = data.get("order")
        returns: list[ExternalReturn] = []
        bad: list[BadRecord] = []
        if isinstance(order, Mapping):
            for raw in (order.get("returns") or {}).get("nodes") or []:
                if not isinstance(raw, Mapping):
                    bad.append(BadRecord(reason="record is not a JSON object", raw={"value": raw}))
                    continue
                try:
                    returns.extend(parse_returns(raw, order_id=order_id))
                except RecordError as error:
                    bad.append(BadRecord(reason=str(error), raw=raw, external_id=_legacy(raw.get("id"))))
        return Page(items=tuple(returns), bad_records=tuple(bad), rate_limit=_sustained_rate(self.last_cost))

    def create_fulfillment(
        self,
        *,
        order_id: str,
        tracking_number: str,
        carrier: str,
        tracking_url: str = "",
        items: tuple[tuple[str, int], ...] = (),
        notify_customer: bool = True,
    ) -> str:
        """Fulfil the order's open fulfilment orders (or only `items`: (line item id, quantity)) with tracking."""
        data = self.graphql(FULFILLMENT_ORDERS_QUERY, {"id": f"gid://shopify/Order/{order_id}"})
        orders = ((data.get("order") or {}).get("fulfillmentOrders") or {}).get("nodes") or []
        wanted = {f"gid://shopify/LineItem/{line}": quantity for line, quantity in items}
        groups = []
        for fulfillment_order in orders:
            if fulfillment_order.get("status") not in ("OPEN", "IN_PROGRESS"):
                continue
            lines = []
            for line in (fulfillment_order.get("lineItems") or {}).get("nodes") or []:
                remaining = int(line.get("remainingQuantity") or 0)
                line_id = str((line.get("lineItem") or {}).get("id") or "")
                quantity = min(remaining, wanted.get(line_id, 0)) if wanted else remaining
                if quantity > 0:
                    lines.append({"id": line["id"], "quantity": quantity})
            if lines:
                groups.append({"fulfillmentOrderId": fulfillment_order["id"], "fulfillmentOrderLineItems": lines})
        if not groups:
            raise ChannelError(f"Order {order_id} has nothing left to fulfil on Shopify")
        tracking = {"number": tracking_number, "company": carrier, **({"url": tracking_url} if tracking_url else {})}
        result = (
            self.graphql(
                FULFILLMENT_CREATE,
                {
                    "fulfillment": {
                        "lineItemsByFulfillmentOrder": groups,
                        "trackingInfo": tracking,
                        "notifyCustomer": notify_customer,
                    }
                },
            ).get("fulfillmentCreate")
            or {}
        )
        errors = [error for error in result.get("userErrors") or [] if isinstance(error, Mapping)]
        if errors or not (result.get("fulfillment") or {}).get("id"):
            raise ChannelError(f"Shopify refused the fulfilment: {errors[0].get('message', '') if errors else '?'}")
        return str(result["fulfillment"]["id"])

    def create_refund(self, request: RefundRequest, *, restock: bool = False) -> ChannelRefundResult:
        """Give money back on the order (`refundCreate`), once: `request.adjustment_id` is the idempotency key.

        Amounts are in the order's presentment currency, refunded against its successful sale or capture."""
        gid = f"gid://shopify/Order/{request.order_id}"
        order = self.graphql(TRANSACTIONS_QUERY, {"id": gid}).get("order") or {}
        parent = next(
            (
                tx
                for tx in order.get("transactions") or []
                if tx.get("kind") in ("SALE", "CAPTURE") and tx.get("status") == "SUCCESS"
            ),
            None,
        )
        if parent is None:
            raise ChannelError(f"Order {request.order_id} has no captured payment to refund")
        shipping = sum(
            (amount for _, _, parts in request.items for name, amount in parts if name == "shipping"), Decimal(0)
        )
        total = sum((amount for _, _, parts in request.items for _, amount in parts), Decimal(0))
        payload: dict[str, Any] = {
            "orderId": gid,
            "note": request.reason[:250],
            "notify": True,
            "currency": request.currency,
            "refundLineItems": [
                {
                    "lineItemId": f"gid://shopify/LineItem/{line}",
                    "quantity": quantity,
                    "restockType": "RETURN" if restock else "NO_RESTOCK",
                }
                for line, quantity, _ in request.items
                if line and quantity > 0
            ],
            "transactions": [
                {
                    "orderId": gid,
                    "parentId": parent["id"],
                    "gateway": parent.get("gateway") or "manual",
                    "kind": "REFUND",
                    "amount": str(total),
                }
            ],
        }
        if shipping:
            payload["shipping"] = {"amount": str(shipping)}
        result = self.graphql(REFUND_CREATE, {"input": payload, "key": request.adjustment_id}).get("refundCreate") or {}
        errors = [error for error in result.get("userErrors") or [] if isinstance(error, Mapping)]
        refund = result.get("refund") or {}
        if errors or not refund.get("id"):
            raise ChannelError(f"Shopify refused the refund: {errors[0].get('message', '') if errors else '?'}")
        amount, currency = _money(refund.get("totalRefundedSet"), "totalRefundedSet", "presentmentMoney")
        return ChannelRefundResult(external_id=str(refund["id"]).rsplit("/", 1)[-1], amount=amount, currency=currency)

    def shop_info(self) -> dict[str, Any]:
        """The shop's name, domain, currency and time zone (also proves the token works)."""
        shop = self.graphql(SHOP_QUERY).get("shop")
        if not isinstance(shop, Mapping):
            raise ChannelRetryableError("Shopify answered without the shop", code="empty_response")
        return dict(shop)

    def register_webhooks(self, callback_url: str) -> list[str]:
        """Subscribe ACORN's webhook endpoint to the order, refund and uninstall topics; returns the topics."""
        done: list[str] = []
        for topic in WEBHOOK_TOPICS:
            result = self.graphql(WEBHOOK_CREATE, {"topic": topic, "uri": callback_url})
            payload = result.get("webhookSubscriptionCreate") or {}
            errors = [e for e in payload.get("userErrors") or [] if isinstance(e, Mapping)]
            if errors and not any("taken" in str(e.get("message", "")).lower() for e in errors):
                raise ChannelError(f"Shopify refused the {topic} webhook: {errors[0].get('message', '')}")
            done.append(topic)
        return done

    def unregister_webhooks(self, callback_url: str) -> list[str]:
        """Delete the shop's webhook subscriptions that deliver to ACORN's URL; returns their topics."""
        data = self.graphql(WEBHOOKS_OF_URI, {"uri": callback_url})
        nodes = ((data.get("webhookSubscriptions") or {}).get("nodes")) or []
        deleted: list[str] = []
        for node in nodes:
            if not isinstance(node, Mapping) or node.get("uri") != callback_url:
                continue
            result = self.graphql(WEBHOOK_DELETE, {"id": node["id"]}).get("webhookSubscriptionDelete") or {}
            errors = [e for e in result.get("userErrors") or [] if isinstance(e, Mapping)]
            if errors:
                raise ChannelError(
                    f"Shopify refused to delete the {node.get('topic')} webhook: {errors[0].get('message')}"
                )
            deleted.append(str(node.get("topic", "")))
        return deleted


def _refill_seconds(cost: Mapping[str, Any]) -> int:
    """How long until the bucket holds the query's requested cost again (at least 1 s)."""
    throttle = cost.get("throttleStatus") or {}
    try:
        needed = Decimal(str(cost.get("requestedQueryCost", 50))) - Decimal(str(throttle.get("currentlyAvailable", 0)))
        rate = Decimal(str(throttle.get("restoreRate", 50))) or Decimal(50)
    except InvalidOperation:
        return 1
    return max(1, math.ceil(needed / rate))


def _sustained_rate(cost: Mapping[str, Any]) -> Decimal | None:
    """Queries per second the shop's bucket sustains at this query's actual cost (for the engine's bucket)."""
    throttle = cost.get("throttleStatus") or {}
    try:
        restore = Decimal(str(throttle["restoreRate"]))
        spent = max(Decimal(str(cost.get("actualQueryCost") or cost.get("requestedQueryCost") or 1)), Decimal(1))
    except (KeyError, InvalidOperation):
        return None
    return (restore / spent).quantize(Decimal("0.0001")) if restore > 0 else None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
