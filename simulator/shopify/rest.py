"""REST Admin JSON of orders, refunds, fulfilments and the shop, as Shopify puts it in webhook bodies.

Shapes follow the REST Admin 2026-07 examples in shared/fixtures/vendor/shopify: ids are numbers,
money is a string with the currency's decimals ("199.00", "1500" for JPY) plus `*_set` MoneyBags,
timestamps carry the shop's UTC offset. No buyer contact data: the shipping address is reduced to
country, province, city and postal code.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from simulator.http import json_number
from simulator.shopify.catalogue import COUNTRY_NAMES, quantize
from simulator.shopify.model import (
    Fulfillment,
    LineItem,
    Money,
    OrderState,
    Refund,
    RefundLine,
    Shop,
    ShopOrder,
    Transaction,
)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(moment: datetime | None, shop: Shop) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(_zone(shop.profile.timezone)).isoformat()


def amount(value: Decimal, currency: str) -> str:
    return str(quantize(value, currency))


def money_set(value: Money, order: ShopOrder) -> dict[str, dict[str, str]]:
    return {
        "shop_money": {"amount": amount(value.shop, order.currency), "currency_code": order.currency},
        "presentment_money": {
            "amount": amount(value.presentment, order.presentment_currency),
            "currency_code": order.presentment_currency,
        },
    }


def gid(kind: str, legacy_id: int) -> str:
    return f"gid://shopify/{kind}/{legacy_id}"


def line_item(shop: Shop, order: ShopOrder, state: OrderState, index: int) -> dict[str, Any]:
    line: LineItem = order.lines[index]
    variant = line.variant
    fulfilled = state.fulfilled[index]
    return {
        "id": line.legacy_id,
        "admin_graphql_api_id": gid("LineItem", line.legacy_id),
        "current_quantity": line.quantity - state.refunded[index],
        "fulfillable_quantity": state.remaining[index],
        "fulfillment_service": "manual",
        "fulfillment_status": "fulfilled" if fulfilled >= line.quantity else ("partial" if fulfilled else None),
        "gift_card": False,
        "grams": 350,
        "name": variant.display_name,
        "price": amount(line.unit_price.shop, order.currency),
        "price_set": money_set(line.unit_price, order),
        "product_exists": True,
        "product_id": variant.product_id,
        "quantity": line.quantity,
        "requires_shipping": True,
        "sku": variant.sku,
        "taxable": True,
        "title": variant.product_title,
        "total_discount": amount(Decimal(0), order.currency),
        "total_discount_set": money_set(Money(Decimal(0), Decimal(0)), order),
        "variant_id": variant.legacy_id,
        "variant_inventory_management": "shopify",
        "variant_title": None if variant.title == "Default Title" else variant.title,
        "vendor": shop.name.split(" (")[0],
        "tax_lines": [
            {
                "channel_liable": False,
                "price": amount(tax.price.shop, order.currency),
                "price_set": money_set(tax.price, order),
                "rate": json_number(tax.rate),
                "title": tax.title,
            }
            for tax in line.tax_lines
        ],
        "duties": [],
        "discount_allocations": (
            [
                {
                    "amount": amount(line.discount.shop, order.currency),
                    "amount_set": money_set(line.discount, order),
                    "discount_application_index": 0,
                }
            ]
            if not line.discount.is_zero
            else []
        ),
    }


def transaction(order: ShopOrder, tx: Transaction, shop: Shop) -> dict[str, Any]:
    return {
        "id": tx.legacy_id,
        "admin_graphql_api_id": gid("OrderTransaction", tx.legacy_id),
        "amount": amount(tx.amount.presentment, order.presentment_currency),
        "authorization": None,
        "created_at": local_time(tx.at, shop),
        "currency": order.presentment_currency,
        "error_code": None,
        "gateway": tx.gateway,
        "kind": tx.kind.lower(),
        "message": None,
        "order_id": order.legacy_id,
        "parent_id": tx.parent_id,
        "processed_at": local_time(tx.at, shop),
        "source_name": "web",
        "status": tx.status.lower(),
        "test": order.test,
    }


def refund_line(shop: Shop, order: ShopOrder, state: OrderState, line: RefundLine) -> dict[str, Any]:
    return {
        "id": line.legacy_id,
        "line_item_id": order.lines[line.line_index].legacy_id,
        "location_id": line.location_id,
        "quantity": line.quantity,
        "restock_type": line.restock_type.lower(),
        "subtotal": json_number(quantize(line.subtotal.shop, order.currency)),
        "subtotal_set": money_set(line.subtotal, order),
        "total_tax": json_number(quantize(line.tax.shop, order.currency)),
        "total_tax_set": money_set(line.tax, order),
        "line_item": line_item(shop, order, state, line.line_index),
    }


def refund(shop: Shop, order: ShopOrder, state: OrderState, record: Refund) -> dict[str, Any]:
    zero = Money(Decimal(0), Decimal(0))
    return {
        "id": record.legacy_id,
        "admin_graphql_api_id": gid("Refund", record.legacy_id),
        "created_at": local_time(record.at, shop),
        "note": record.note,
        "order_id": order.legacy_id,
        "processed_at": local_time(record.at, shop),
        "restock": any(line.restock_type in ("RETURN", "CANCEL", "LEGACY_RESTOCK") for line in record.lines),
        "total_additional_fees_set": money_set(zero, order),
        "total_duties_set": money_set(zero, order),
        "user_id": None,
        "order_adjustments": (
            [
                {
                    "id": record.legacy_id + 1,
                    "amount": amount(-record.shipping.shop, order.currency),
                    "amount_set": money_set(Money(-record.shipping.shop, -record.shipping.presentment), order),
                    "kind": "shipping_refund",
                    "order_id": order.legacy_id,
                    "reason": "Shipping refund",
                    "refund_id": record.legacy_id,
                    "tax_amount": "0.00",
                }
            ]
            if not record.shipping.is_zero
            else []
        ),
        "transactions": [transaction(order, tx, shop) for tx in record.transactions],
        "refund_line_items": [refund_line(shop, order, state, line) for line in record.lines],
        "duties": [],
        "additional_fees": [],
    }


def fulfillment(shop: Shop, order: ShopOrder, state: OrderState, record: Fulfillment) -> dict[str, Any]:
    lines = []
    for index, quantity, _ in record.lines:
        rendered = line_item(shop, order, state, index)
        rendered["quantity"] = quantity
        lines.append(rendered)
    return {
        "id": record.legacy_id,
        "admin_graphql_api_id": gid("Fulfillment", record.legacy_id),
        "created_at": local_time(record.at, shop),
        "location_id": record.location_id,
        "name": record.name,
        "order_id": order.legacy_id,
        "origin_address": {},
        "receipt": {},
        "service": "manual",
        "shipment_status": None,
        "status": "success",
        "tracking_company": record.company,
        "tracking_number": record.number,
        "tracking_numbers": [record.number] if record.number else [],
        "tracking_url": record.url,
        "tracking_urls": [record.url] if record.url else [],
        "updated_at": local_time(record.at, shop),
        "line_items": lines,
    }


_FINANCIAL = {"PARTIALLY_PAID": "partially_paid", "PARTIALLY_REFUNDED": "partially_refunded"}
_FULFILLMENT = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "RESTOCKED": "restocked"}


def order(shop: Shop, record: ShopOrder, state: OrderState) -> dict[str, Any]:
    """The REST order JSON (what orders/* webhooks carry)."""
    currency = record.currency
    refunded_lines = sum(
        (line.subtotal for refund_record in state.refunds for line in refund_record.lines),
        Money(Decimal(0), Decimal(0)),
    )
    current_subtotal = record.subtotal - refunded_lines
    current_total = record.total_price - state.refunded_amount
    address = record.address
    line_items_price = sum((line.original_total for line in record.lines), Money(Decimal(0), Decimal(0)))
    return {
        "id": record.legacy_id,
        "admin_graphql_api_id": gid("Order", record.legacy_id),
        "app_id": 580111 if record.source_name == "580111" else None,
        "cancel_reason": state.cancel_reason.lower() if state.cancel_reason else None,
        "cancelled_at": local_time(state.cancelled_at, shop),
        "closed_at": local_time(state.closed_at, shop),
        "confirmation_number": f"{record.legacy_id % 10**9:09d}"[-9:].upper(),
        "confirmed": True,
        "created_at": local_time(record.created, shop),
        "currency": currency,
        "current_subtotal_price": amount(current_subtotal.shop, currency),
        "current_subtotal_price_set": money_set(current_subtotal, record),
        "current_total_price": amount(current_total.shop, currency),
        "current_total_price_set": money_set(current_total, record),
        "customer_locale": record.language,
        "discount_codes": (
            [
                {
                    "code": record.discount_code[0],
                    "amount": amount(record.total_discounts.shop, currency),
                    "type": record.discount_code[1],
                }
            ]
            if record.discount_code
            else []
        ),
        "financial_status": _FINANCIAL.get(state.financial_status, state.financial_status.lower()),
        "fulfillment_status": _FULFILLMENT.get(state.fulfillment_status),
        "name": record.name,
        "note": None,
        "number": record.number - 1000,
        "order_number": record.number,
        "payment_gateway_names": [record.gateway],
        "presentment_currency": record.presentment_currency,
        "processed_at": local_time(record.created, shop),
        "source_name": record.source_name,
        "subtotal_price": amount(record.subtotal.shop, currency),
        "subtotal_price_set": money_set(record.subtotal, record),
        "tags": ", ".join(record.tags),
        "tax_lines": _order_tax_lines(record),
        "taxes_included": record.taxes_included,
        "test": record.test,
        "total_discounts": amount(record.total_discounts.shop, currency),
        "total_discounts_set": money_set(record.total_discounts, record),
        "total_line_items_price": amount(line_items_price.shop, currency),
        "total_line_items_price_set": money_set(line_items_price, record),
        "total_outstanding": amount(max(record.total_price.shop - state.received.shop, Decimal(0)), currency),
        "total_price": amount(record.total_price.shop, currency),
        "total_price_set": money_set(record.total_price, record),
        "total_shipping_price_set": money_set(record.shipping, record),
        "total_tax": amount(record.total_tax.shop, currency),
        "total_tax_set": money_set(record.total_tax, record),
        "updated_at": local_time(state.updated_at, shop),
        "fulfillments": [fulfillment(shop, record, state, item) for item in state.fulfillments],
        "line_items": [line_item(shop, record, state, index) for index in range(len(record.lines))],
        "refunds": [refund(shop, record, state, item) for item in state.refunds],
        "shipping_address": {
            "city": address.city,
            "zip": address.zip,
            "province": None,
            "country": COUNTRY_NAMES.get(address.country, address.country),
            "country_code": address.country,
            "province_code": address.province_code,
        },
        "shipping_lines": [
            {
                "id": record.legacy_id // 10,
                "code": record.shipping_title,
                "discounted_price": amount(record.shipping.shop, currency),
                "discounted_price_set": money_set(record.shipping, record),
                "price": amount(record.shipping.shop, currency),
                "price_set": money_set(record.shipping, record),
                "source": "shopify",
                "title": record.shipping_title,
                "tax_lines": [
                    {
                        "channel_liable": False,
                        "price": amount(tax.price.shop, currency),
                        "price_set": money_set(tax.price, record),
                        "rate": json_number(tax.rate),
                        "title": tax.title,
                    }
                    for tax in record.shipping_tax_lines
                ],
                "discount_allocations": [],
            }
        ],
    }


def _order_tax_lines(record: ShopOrder) -> list[dict[str, Any]]:
    merged: dict[tuple[str, Decimal], Money] = {}
    for tax in [*(tax for line in record.lines for tax in line.tax_lines), *record.shipping_tax_lines]:
        key = (tax.title, tax.rate)
        merged[key] = merged.get(key, Money(Decimal(0), Decimal(0))) + tax.price
    return [
        {
            "price": amount(price.shop, record.currency),
            "rate": json_number(rate),
            "title": title,
            "price_set": money_set(price, record),
            "channel_liable": False,
        }
        for (title, rate), price in merged.items()
    ]


def shop_json(shop: Shop) -> dict[str, Any]:
    """The shop resource (the app/uninstalled body)."""
    return {
        "id": shop.legacy_id,
        "name": shop.name,
        "domain": shop.domain,
        "myshopify_domain": shop.domain,
        "country_code": shop.profile.country,
        "currency": shop.currency,
        "enabled_presentment_currencies": list(shop.presentment_currencies),
        "iana_timezone": shop.profile.timezone,
        "plan_name": "basic",
        "plan_display_name": "Basic",
        "taxes_included": shop.profile.taxes_included,
        "created_at": local_time(shop.created_at, shop),
        "updated_at": local_time(shop.created_at, shop),
    }
