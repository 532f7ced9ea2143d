"""WooCommerce REST v3 through the `woocommerce` client: HTTP Basic auth with consumer key / secret over
HTTPS (certificate verified; a CA bundle can be configured for a private CA or the simulator).

Orders are read by `date_modified_gmt`, oldest change first. Page numbers drift when an order changes
while a listing is being read (it moves to the end), so the page token is a keyset: the last modified time
seen, and a page number only to step through orders modified in the same second.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from woocommerce import API

from acorn.money import minor_unit_exponent, to_decimal, validate_currency_code
from acorn.retry import retry_after_seconds
from channels.adapters.base import (
    AdjustmentKind,
    BadRecord,
    ChannelAdapter,
    ChannelAuthError,
    ChannelError,
    ChannelRateLimited,
    ChannelRefundResult,
    ChannelRetryableError,
    ChannelStock,
    ExternalAdjustment,
    ExternalOrder,
    ExternalOrderLine,
    ExternalRefund,
    FulfillmentChannel,
    OrderStatus,
    Page,
    RefundLine,
    RefundRequest,
    StockPushResult,
)
from channels.models import Store

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
STATUS_MAP = {
    "pending": OrderStatus.PENDING_PAYMENT,
    "on-hold": OrderStatus.PENDING_PAYMENT,  # awaiting a bank transfer or a manual payment check
    "checkout-draft": OrderStatus.PENDING_PAYMENT,
    "processing": OrderStatus.PAID_UNSHIPPED,
    "completed": OrderStatus.SHIPPED,
    "shipped": OrderStatus.SHIPPED,  # common shipment-tracking plugins
    "partial-shipped": OrderStatus.PARTIALLY_SHIPPED,
    "cancelled": OrderStatus.CANCELLED,
    "refunded": OrderStatus.CANCELLED,
    "failed": OrderStatus.CANCELLED,
}
WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted")


class RecordError(ValueError):
    """A WooCommerce record that cannot be turned into a DTO; the message names the field."""


class ConnectionProblem(ChannelError):
    """Why a site cannot be connected, in words a seller can act on."""

    code = "connection_problem"


def normalize_site_url(value: str) -> str:
    """ "shop.example/" → "https://shop.example"; refuses anything but an http(s) URL with a host."""
    text = value.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Enter the shop's web address, for example https://shop.example.com.")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _verify() -> bool | str:
    return settings.ACORN_WOOCOMMERCE_CA_BUNDLE or True


def client_for(site_url: str, consumer_key: str, consumer_secret: str) -> API:
    return API(
        url=site_url,
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        version="wc/v3",
        timeout=settings.ACORN_VENDOR_TIMEOUT_SECONDS,
        verify_ssl=_verify(),
        user_agent="ACORN/1.0",
    )


# --- parsing -------------------------------------------------------------------------------------------


def _gmt(raw: Mapping[str, Any], name: str) -> datetime:
    """`date_*_gmt` ("2026-11-20T10:00:00", no zone, UTC by definition) → aware UTC."""
    value = raw.get(f"{name}_gmt")
    if not isinstance(value, str) or not value:
        raise RecordError(f"{name}_gmt: missing")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"{name}_gmt: {value!r} is not an ISO 8601 time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _amount(value: Any, field: str) -> Decimal:
    if isinstance(value, (bool, float)) or value is None:
        raise RecordError(f"{field}: {value!r} is not a decimal amount")
    try:
        return to_decimal(value if value != "" else "0")
    except (ValueError, InvalidOperation):
        raise RecordError(f"{field}: {value!r} is not a decimal amount") from None


def _adjustment_lines(raw: Mapping[str, Any], name: str, kind: str, tax_kind: str) -> list[ExternalAdjustment]:
    """A shipping_lines / fee_lines list: each line's total and its tax (both ex tax as WooCommerce stores
    them, whatever `prices_include_tax` says), named by its title and id."""
    block = raw.get(name) or []
    if not isinstance(block, list):
        raise RecordError(f"{name}: not a list")
    adjustments = []
    for index, line in enumerate(block):
        field = f"{name}[{index}]"
        if not isinstance(line, Mapping):
            raise RecordError(f"{field}: not an object")
        label = str(line.get("method_title") or line.get("name") or "")
        line_id = str(line.get("id") or "")
        total = _amount(line.get("total"), f"{field}.total")
        tax = _amount(line.get("total_tax"), f"{field}.total_tax")
        adjustments.append(ExternalAdjustment(kind=kind, amount=total, label=label, external_id=line_id))
        if tax:
            adjustments.append(ExternalAdjustment(kind=tax_kind, amount=tax, label=label, external_id=line_id))
    return adjustments


def _tax_rounding(
    raw: Mapping[str, Any], currency: str, lines: tuple[ExternalOrderLine, ...], adjustments: list[ExternalAdjustment]
) -> Decimal:
    """The order's taxes (`cart_tax` + `shipping_tax`) less the rounded taxes of its lines, shipping and fees.

    A shop that rounds tax at the subtotal rather than per line shows each line's tax rounded (1.13 for
    1.125) and the order's tax rounded once (2.25 for 1.125 + 0.225 + 0.9): the cents between are the
    shop's, kept as a tax adjustment. Only differences of rounding size (a minor unit per line) count."""
    if raw.get("cart_tax") in (None, "") or raw.get("shipping_tax") in (None, ""):
        return Decimal(0)
    order_tax = _amount(raw.get("cart_tax"), "cart_tax") + _amount(raw.get("shipping_tax"), "shipping_tax")
    itemised = sum((line.tax_amount for line in lines), Decimal(0)) + sum(
        (a.amount for a in adjustments if a.kind in (AdjustmentKind.SHIPPING_TAX, AdjustmentKind.FEE_TAX)), Decimal(0)
    )
    difference = order_tax - itemised
    tolerance = minor_unit_exponent(currency) * (len(lines) + len(adjustments))
    return difference if abs(difference) <= tolerance else Decimal(0)


def parse_order(raw: Mapping[str, Any]) -> ExternalOrder:
    """One REST v3 order → ExternalOrder, or RecordError naming the field.

    WooCommerce keeps line, shipping and fee amounts without tax, each with its tax beside it (also in a shop
    whose prices include tax): a line is its subtotal less the coupons' discount (subtotal - total) plus
    its total_tax; shipping_lines and fee_lines (a negative fee is a discount) become adjustments with their
    tax. `total` is the grand total; a difference left (WooCommerce rounding at the order, a plugin) is left to
    ingest to keep as unexplained."""
    order_id = raw.get("id")
    if isinstance(order_id, bool) or not isinstance(order_id, int):
        raise RecordError("id: missing")
    raw_status = str(raw.get("status") or "")
    if raw_status not in STATUS_MAP:
        raise RecordError(f"status: {raw_status!r} is not a status ACORN knows (a plugin's custom status?)")
    currency = str(raw.get("currency") or "").upper()
    try:
        validate_currency_code(currency)
    except Exception:
        raise RecordError(f"currency: {currency!r} is not an ISO 4217 code") from None
    items = raw.get("line_items")
    if not isinstance(items, list) or not items:
        raise RecordError("line_items: missing or empty")
    lines = tuple(_parse_line(item, index, currency) for index, item in enumerate(items))
    total = _amount(raw.get("total"), "total")
    adjustments = [
        *_adjustment_lines(raw, "shipping_lines", AdjustmentKind.SHIPPING, AdjustmentKind.SHIPPING_TAX),
        *_adjustment_lines(raw, "fee_lines", AdjustmentKind.FEE, AdjustmentKind.FEE_TAX),
    ]
    rounding = _tax_rounding(raw, currency, lines, adjustments)
    if rounding:
        adjustments.append(ExternalAdjustment(kind=AdjustmentKind.TAX_ROUNDING, amount=rounding))
    country = ""
    for block in ("shipping", "billing"):
        address = raw.get(block)
        if isinstance(address, Mapping) and address.get("country"):
            country = str(address["country"])
            break
    number = str(raw.get("number") or order_id)
    return ExternalOrder(
        external_id=str(order_id),
        marketplace="",
        purchased_at=_gmt(raw, "date_created"),
        updated_at=_gmt(raw, "date_modified"),
        raw_status=raw_status,
        status=STATUS_MAP[raw_status],
        fulfillment_channel=FulfillmentChannel.MERCHANT,
        currency=currency,
        total_amount=total,
        buyer_country=country[:2].upper(),
        lines=lines,
        merchant_order_id=number[:100],
        source_name=str(raw.get("created_via") or "")[:60],
        adjustments=tuple(adjustments),
    )


def _parse_line(item: Any, index: int, currency: str) -> ExternalOrderLine:
    field = f"line_items[{index}]"
    if not isinstance(item, Mapping):
        raise RecordError(f"{field}: not an object")
    line_id = item.get("id")
    if isinstance(line_id, bool) or not isinstance(line_id, int):
        raise RecordError(f"{field}.id: missing")
    quantity = item.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise RecordError(f"{field}.quantity: {quantity!r} is not a whole number")
    subtotal = _amount(item.get("subtotal"), f"{field}.subtotal")  # before discounts
    total = _amount(item.get("total"), f"{field}.total")  # after discounts
    price = item.get("price")
    unit_price = (
        _amount(str(price), f"{field}.price")
        if isinstance(price, (int, str)) and not isinstance(price, bool)
        else (subtotal / quantity if quantity else Decimal(0))
    )
    variation = item.get("variation_id") or 0
    product = item.get("product_id") or 0
    return ExternalOrderLine(
        external_id=str(line_id),
        sku=str(item.get("sku") or "")[:200],
        quantity=quantity,
        currency=currency,
        unit_price=unit_price,
        item_amount=subtotal,
        tax_amount=_amount(item.get("total_tax"), f"{field}.total_tax"),
        discount_amount=subtotal - total,
        title=str(item.get("name") or "")[:500],
        channel_product_id=str(variation or product or "")[:60],
    )


# --- HTTP ----------------------------------------------------------------------------------------------


def _error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, Mapping) else ""


def classify_response(response: requests.Response) -> ChannelError | None:
    """None for a 2xx; otherwise the error class for ACORN (retry, re-authorise, fail)."""
    status = response.status_code
    if status < 300:
        return None
    code = _error_code(response)
    if status in (401, 403):
        return ChannelAuthError(f"WooCommerce refused the API keys ({status} {code or 'unauthorised'})")
    if status == 429:
        return ChannelRateLimited(
            "WooCommerce throttled the request (429)", retry_after=retry_after_seconds(response.headers)
        )
    if status >= 500:
        return ChannelRetryableError(f"WooCommerce answered {status}", code=f"http_{status}")
    return ChannelError(f"WooCommerce refused the request ({status} {code})".strip())


def classify_exception(error: Exception) -> ChannelError:
    if isinstance(error, requests.exceptions.SSLError):
        return ChannelError("The site's HTTPS certificate could not be verified")
    if isinstance(error, requests.exceptions.Timeout):
        return ChannelRetryableError("WooCommerce did not answer in time", code="timeout")
    if isinstance(error, requests.exceptions.ConnectionError):
        return ChannelRetryableError(f"Connection to the site failed: {type(error).__name__}", code="connection")
    return ChannelError(f"Unexpected error talking to WooCommerce: {type(error).__name__}")


def _refunded_item_id(item: Mapping[str, Any]) -> str:
    """The order line a refund line gives back: `refunded_item_id`, or the `_refunded_item_id` meta entry."""
    if item.get("refunded_item_id"):
        return str(item["refunded_item_id"])
    for meta in item.get("meta_data") or []:
        if isinstance(meta, Mapping) and meta.get("key") == "_refunded_item_id":
            return str(meta.get("value") or "")
    return ""


def parse_refund(raw: Mapping[str, Any], *, order_id: str, currency: str) -> ExternalRefund:
    """One /orders/<id>/refunds entry → ExternalRefund (WooCommerce amounts are positive, its line totals
    negative; ACORN's components are negative = given back), or RecordError naming the field.

    Shipping and fee lines refunded become shipping / other; what the refund's amount holds beyond its lines
    (an amount-only refund) is "other". The refund's free-text `reason` is kept as the reason."""
    if raw.get("id") in (None, ""):
        raise RecordError("id: missing")
    amount = _amount(raw.get("amount"), "amount")
    lines: list[RefundLine] = []
    accounted = Decimal(0)
    for index, item in enumerate(raw.get("line_items") or []):
        field = f"line_items[{index}]"
        if not isinstance(item, Mapping):
            raise RecordError(f"{field}: not an object")
        principal = _amount(item.get("total"), f"{field}.total")
        tax = _amount(item.get("total_tax"), f"{field}.total_tax")
        accounted += principal + tax
        try:
            quantity = abs(int(item.get("quantity") or 0))
        except (TypeError, ValueError):
            raise RecordError(f"{field}.quantity: {item.get('quantity')!r} is not a whole number") from None
        lines.append(
            RefundLine(
                order_item_id=_refunded_item_id(item)[:100] or str(item.get("id") or "")[:100],
                sku=str(item.get("sku") or "")[:200],
                quantity=quantity,
                components=(("principal", principal), ("tax", tax)),
            )
        )
    for kind, component in (("shipping_lines", "shipping"), ("fee_lines", "other")):
        for index, item in enumerate(raw.get(kind) or []):
            if not isinstance(item, Mapping):
                raise RecordError(f"{kind}[{index}]: not an object")
            value = _amount(item.get("total"), f"{kind}[{index}].total")
            tax = _amount(item.get("total_tax"), f"{kind}[{index}].total_tax")
            accounted += value + tax
            lines.append(
                RefundLine(order_item_id="", sku="", quantity=0, components=((component, value), ("tax", tax)))
            )
    if -amount != accounted:
        lines.append(RefundLine(order_item_id="", sku="", quantity=0, components=(("other", -amount - accounted),)))
    reason = str(raw.get("reason") or "").strip()
    return ExternalRefund(
        external_id=str(raw.get("id"))[:200],
        order_id=order_id,
        posted_at=_gmt(raw, "date_created"),
        currency=currency,
        lines=tuple(lines),
        reason=reason[:500],
        note=reason[:2000],
        source="woocommerce",
    )


def _encode_token(after: datetime, page: int) -> str:
    return f"{after.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')}|{page}"


def _decode_token(token: str) -> tuple[datetime, int]:
    try:
        moment, page = token.split("|", 1)
        return datetime.fromisoformat(moment).replace(tzinfo=UTC), int(page)
    except ValueError:
        raise ChannelError(f"Unreadable WooCommerce page token {token!r}") from None


class WooCommerceAdapter(ChannelAdapter):
    key = "woocommerce"

    def __init__(self, *, store: Store, secrets: Mapping[str, Any]) -> None:
        super().__init__(store=store, secrets=secrets)
        key, secret = secrets.get("consumer_key"), secrets.get("consumer_secret")
        if not key or not secret:
            raise ChannelAuthError("The site has no API keys: connect it in the console.")
        if not store.endpoint:
            raise ChannelError("The store has no site address.")
        self.client = client_for(store.endpoint, str(key), str(secret))

    def request(self, method: str, endpoint: str, *, params: Mapping[str, Any] | None = None, data: Any = None) -> Any:
        """One REST call: the decoded JSON body and the response (for page headers), errors classified."""
        try:
            if method == "GET":
                response = self.client.get(endpoint, params=dict(params or {}))
            elif method == "POST":
                response = self.client.post(endpoint, data, params=dict(params or {}))
            elif method == "PUT":
                response = self.client.put(endpoint, data, params=dict(params or {}))
            elif method == "DELETE":
                response = self.client.delete(endpoint, params=dict(params or {}))
            else:
                raise ValueError(f"Unsupported method {method}")
        except requests.exceptions.RequestException as error:
            raise classify_exception(error) from None
        problem = classify_response(response)
        if problem is not None:
            raise problem
        try:
            return response.json(), response
        except ValueError:
            raise ChannelRetryableError("WooCommerce answered without JSON", code="bad_response") from None

    def fetch_orders(
        self, *, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[ExternalOrder]:
        after, page = _decode_token(page_token) if page_token else (updated_after, 1)
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
                    modified = _gmt(raw, "date_modified")
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
            next_token = _encode_token(after, page + 1) if start <= after else _encode_token(start, 1)
        return Page(items=tuple(orders), bad_records=tuple(bad), next_token=next_token)

    def check_connection(self) -> dict[str, Any]:
        """Prove the keys work and stock is managed; ConnectionProblem says what is wrong, in plain words."""
        try:
            index = requests.get(
                f"{self.store.endpoint.rstrip('/')}/wp-json/",
                timeout=settings.ACORN_VENDOR_TIMEOUT_SECONDS,
                verify=_verify(),
            )
        except requests.exceptions.SSLError:
            raise ConnectionProblem(_("The site's HTTPS certificate could not be verified.")) from None
        except requests.exceptions.RequestException:
            raise ConnectionProblem(_("The site could not be reached: check the address.")) from None
        try:
            namespaces = index.json().get("namespaces", []) if index.status_code == 200 else None
        except (ValueError, AttributeError):
            namespaces = None
        if namespaces is None:
            raise ConnectionProblem(_("This address is not a WordPress site (no REST API at /wp-json/)."))
        if "wc/v3" not in namespaces:
            raise ConnectionProblem(_("WordPress answers, but WooCommerce is not active on it (no wc/v3 API)."))
        try:
            setting, _response = self.request("GET", "settings/products/woocommerce_manage_stock")
            system, _response = self.request("GET", "system_status")
        except ChannelAuthError:
            raise ConnectionProblem(_("WooCommerce refused the keys: check the consumer key and secret.")) from None
        except ChannelError as error:
            raise ConnectionProblem(_("WooCommerce answered with an error: %(error)s") % {"error": error}) from None
        if str(setting.get("value", "")).lower() != "yes":
            raise ConnectionProblem(
                _(
                    "Stock management is off in WooCommerce (Settings → Products → Inventory): turn it on so "
                    "that ACORN can keep stock in step."
                )
            )
        settings_block = system.get("settings", {}) if isinstance(system, Mapping) else {}
        environment = system.get("environment", {}) if isinstance(system, Mapping) else {}
        return {
            "currency": str(settings_block.get("currency", "")),
            "version": str(environment.get("version", "")),
            "site_url": str(environment.get("site_url", "")),
        }

    def register_webhooks(self, delivery_url: str, secret: str) -> list[int]:
        """Create the order webhooks (Woo pings each once, unsigned); returns their ids."""
        existing, _response = self.request("GET", "webhooks", params={"per_page": 100})
        known = {
            (hook.get("topic"), hook.get("delivery_url")): hook.get("id")
            for hook in existing or []
            if isinstance(hook, Mapping)
        }
        ids: list[int] = []
        for topic in WEBHOOK_TOPICS:
            if (topic, delivery_url) in known:
                ids.append(int(known[(topic, delivery_url)] or 0))
                continue
            body, _response = self.request(
                "POST",
                "webhooks",
                data={"name": f"ACORN {topic}", "topic": topic, "delivery_url": delivery_url, "secret": secret},
            )
            ids.append(int(body["id"]))
        return ids

    def unregister_webhooks(self, delivery_url: str) -> list[int]:
        """Delete the site's webhooks that deliver to ACORN's URL of this store (webhooks cannot be trashed,
        so `force=true`); returns the ids deleted. Other webhooks of the site are left alone."""
        existing, _response = self.request("GET", "webhooks", params={"per_page": 100})
        deleted: list[int] = []
        for hook in existing or []:
            if isinstance(hook, Mapping) and hook.get("delivery_url") == delivery_url and hook.get("id"):
                self.request("DELETE", f"webhooks/{int(hook['id'])}", params={"force": "true"})
                deleted.append(int(hook["id"]))
        return deleted

    # --- stock ---------------------------------------------------------------------------------------------
    def fetch_stock(self, *, page_token: str | None = None) -> Page[ChannelStock]:
        """One page of products with their stock; a variable product's variations are read with it."""
        page = int(page_token or 1)
        body, response = self.request("GET", "products", params={"per_page": PAGE_SIZE, "page": page})
        if not isinstance(body, list):
            raise ChannelRetryableError("WooCommerce answered without a products list", code="empty_response")
        items: list[ChannelStock] = []
        for product in body:
            if not isinstance(product, Mapping):
                continue
            if product.get("type") == "variable":
                variations, _response = self.request(
                    "GET", f"products/{product['id']}/variations", params={"per_page": PAGE_SIZE}
                )
                for variation in variations or []:
                    items.append(_stock(variation, f"{product['id']}/{variation.get('id')}"))
            else:
                items.append(_stock(product, str(product.get("id"))))
        pages = int(response.headers.get("X-WP-TotalPages") or 1)
        return Page(items=tuple(items), next_token=str(page + 1) if page < pages else None)

    def set_stock(self, *, channel_product_id: str, quantity: int) -> StockPushResult:
        """Set a product's (or "product/variation") stock quantity; WooCommerce has no compare-and-set."""
        if quantity < 0:
            raise ValueError("A listed quantity cannot be negative")
        product, _, variation = channel_product_id.partition("/")
        endpoint = f"products/{product}/variations/{variation}" if variation else f"products/{product}"
        body, _response = self.request("PUT", endpoint, data={"manage_stock": True, "stock_quantity": quantity})
        now = body.get("stock_quantity") if isinstance(body, Mapping) else None
        return StockPushResult(applied=now == quantity, quantity=quantity, current=now)

    # --- refunds and completion ----------------------------------------------------------------------------
    def fetch_order_refunds(self, order_id: str) -> list[ExternalRefund]:
        """The order's refunds (WooCommerce amounts are positive; ACORN's are negative = given back)."""
        body, _response = self.request("GET", f"orders/{order_id}/refunds", params={"per_page": 100})
        order, _response = self.request("GET", f"orders/{order_id}")
        currency = str(order.get("currency") or "") if isinstance(order, Mapping) else ""
        refunds = []
        for raw in body or []:
            amount = _amount(raw.get("amount"), "amount")
            lines, accounted = [], Decimal(0)
            for item in raw.get("line_items") or []:
                principal = _amount(item.get("total"), "line_items.total")  # negative on a refund
                tax = _amount(item.get("total_tax"), "line_items.total_tax")
                accounted += principal + tax
                lines.append(
                    RefundLine(
                        order_item_id=str(item.get("refunded_item_id") or item.get("id") or ""),
                        sku=str(item.get("sku") or ""),
                        quantity=abs(int(item.get("quantity") or 0)),
                        components=(("principal", principal), ("tax", tax)),
                    )
                )
            if -amount != accounted:  # shipping, fees or an amount not tied to items
                lines.append(
                    RefundLine(order_item_id="", sku="", quantity=0, components=(("other", -amount - accounted),))
                )
            refunds.append(
                ExternalRefund(
                    external_id=str(raw.get("id")),
                    order_id=str(order_id),
                    posted_at=_gmt(raw, "date_created"),
                    currency=currency,
                    lines=tuple(lines),
                    reason=str(raw.get("reason") or "")[:500],
                    source="woocommerce",
                )
            )
        return refunds

    def fetch_orders_with_refunds(
        self, *, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[tuple[str, str]]:
        """One page of orders modified in the window (a refund modifies its order): (order id, currency) of
        those that list refunds; `newest` is the newest modification listed. Read each with
        fetch_order_refund_detail (one call each, so a failed call is retried alone)."""
        after, page = _decode_token(page_token) if page_token else (updated_after, 1)
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
        wanted: list[tuple[str, str]] = []
        newest: datetime | None = None
        for raw in body:
            if not isinstance(raw, Mapping):
                continue  # the orders sync quarantines it
            try:
                modified = _gmt(raw, "date_modified")
            except RecordError:
                continue
            newest = modified if newest is None or modified > newest else newest
            if raw.get("refunds"):
                wanted.append((str(raw.get("id") or ""), str(raw.get("currency") or "").upper()))
        next_token: str | None = None
        if len(body) >= PAGE_SIZE and newest is not None:
            start = newest - timedelta(seconds=1)
            next_token = _encode_token(after, page + 1) if start <= after else _encode_token(start, 1)
        return Page(items=tuple(wanted), next_token=next_token, newest=newest)

    def fetch_order_refund_detail(self, order_id: str, currency: str) -> Page[ExternalRefund]:
        """Every refund of one order (/orders/<id>/refunds), with its lines; unreadable ones as bad records."""
        listed, _response = self.request("GET", f"orders/{order_id}/refunds", params={"per_page": 100})
        if not isinstance(listed, list):
            raise ChannelRetryableError("WooCommerce answered without a refunds list", code="empty_response")
        refunds: list[ExternalRefund] = []
        bad: list[BadRecord] = []
        for entry in listed:
            if not isinstance(entry, Mapping):
                bad.append(BadRecord(reason="record is not a JSON object", raw={"value": entry}))
                continue
            try:
                validate_currency_code(currency)
            except Exception:
                bad.append(BadRecord(reason=f"order currency {currency!r} is not ISO 4217", raw=entry))
                continue
            try:
                refunds.append(parse_refund(entry, order_id=order_id, currency=currency))
            except RecordError as error:
                bad.append(BadRecord(reason=str(error), raw=entry, external_id=str(entry.get("id", ""))))
        return Page(items=tuple(refunds), bad_records=tuple(bad))

    def create_refund(
        self, request: RefundRequest, *, api_refund: bool = True, restock: bool = False
    ) -> ChannelRefundResult:
        """Refund through the shop (and its payment gateway when `api_refund`), once.

        WooCommerce has no idempotency key, so the key travels in the refund's reason and an earlier refund
        carrying it is returned instead of refunding again."""
        marker = f"[acorn:{request.adjustment_id}]"
        existing, _response = self.request("GET", f"orders/{request.order_id}/refunds", params={"per_page": 100})
        for raw in existing or []:
            if marker in str(raw.get("reason") or ""):
                return ChannelRefundResult(
                    external_id=str(raw.get("id")),
                    amount=_amount(raw.get("amount"), "amount"),
                    currency=request.currency,
                    replayed=True,
                )
        total = sum((amount for _, _, parts in request.items for _, amount in parts), Decimal(0))
        line_items = [
            {
                "id": int(line),
                "quantity": quantity,
                "refund_total": str(sum((a for name, a in parts if name == "principal"), Decimal(0))),
                "refund_tax": [],
            }
            for line, quantity, parts in request.items
            if line and quantity > 0
        ]
        data = {
            "amount": str(total),
            "reason": f"{request.reason} {marker}".strip()[:500],
            "line_items": line_items,
            "api_refund": api_refund,
            "api_restock": restock,
        }
        try:
            response = self.client.post(f"orders/{request.order_id}/refunds", data, params={})
        except requests.exceptions.RequestException as error:
            raise classify_exception(error) from None
        # WooCommerce answers 500 with this code when it refuses the refund itself (amount above what is left,
        # a gateway without automatic refunds): a retry gets the same answer, so it is not retryable.
        if response.status_code >= 500 and _error_code(response) == "woocommerce_rest_cannot_create_order_refund":
            try:
                message = str(response.json().get("message") or "")
            except (ValueError, AttributeError):
                message = ""
            raise ChannelError(f"WooCommerce refused the refund: {message or 'cannot create the refund'}"[:500])
        problem = classify_response(response)
        if problem is not None:
            raise problem
        try:
            body = response.json()
        except ValueError:
            raise ChannelRetryableError("WooCommerce answered without JSON", code="bad_response") from None
        return ChannelRefundResult(
            external_id=str(body.get("id")), amount=_amount(body.get("amount"), "amount"), currency=request.currency
        )

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


def _stock(raw: Mapping[str, Any], channel_product_id: str) -> ChannelStock:
    quantity = raw.get("stock_quantity")
    managed = bool(raw.get("manage_stock")) and isinstance(quantity, int) and not isinstance(quantity, bool)
    return ChannelStock(
        sku=str(raw.get("sku") or ""),
        channel_product_id=channel_product_id,
        available=quantity if managed else None,
    )
