"""REST API v3 JSON for the simulated shop's records, in the shapes WooCommerce 9 sends (the documented
examples in ../shared/fixtures/vendor/woocommerce/wp-api-v3 plus the fields later versions added).

Dates come twice, as WooCommerce writes them: `date_x` in the site's time zone and `date_x_gmt` in UTC,
both without an offset. Money is a string with the currency's decimals, except line `price` (a float).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_symbol

from simulator.catalogue import quantize
from simulator.http import json_number
from simulator.woocommerce.catalogue import FAILED, ON_HOLD, PENDING, WC_VERSION
from simulator.woocommerce.model import (
    Address,
    LineItem,
    Note,
    Order,
    OrderState,
    Product,
    Refund,
)
from simulator.woocommerce.site import Webhook, WooSite

WEBHOOK_HOOKS = {
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded", "woocommerce_delete_order_refund"],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": [
        "woocommerce_process_product_meta",
        "woocommerce_new_product",
        "woocommerce_new_product_variation",
    ],
    "product.updated": [
        "woocommerce_process_product_meta",
        "woocommerce_update_product",
        "woocommerce_update_product_variation",
    ],
    "product.deleted": ["wp_trash_post", "woocommerce_delete_product_variation"],
    "product.restored": ["untrashed_post"],
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
    "customer.created": ["user_register", "woocommerce_created_customer", "woocommerce_new_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
}
ATTRIBUTE_IDS = {"pa_color": 1, "pa_size": 2}


def local(site: WooSite, moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(site.zone).strftime("%Y-%m-%dT%H:%M:%S")


def gmt(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def dates(site: WooSite, name: str, moment: datetime | None) -> dict[str, str | None]:
    return {name: local(site, moment), f"{name}_gmt": gmt(moment)}


def money(amount: Decimal, currency: str) -> str:
    return str(quantize(amount, currency))


def plain(amount: Decimal) -> str:
    """An unrounded tax amount as WooCommerce stores it ("0.9", "12.345")."""
    text = format(amount.normalize(), "f")
    return text if text != "-0" else "0"


def rest_url(site_url: str, path: str) -> str:
    return f"{site_url}/wp-json/wc/v3/{path}"


def links(site_url: str, path: str, collection: str, up: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "self": [{"href": rest_url(site_url, path)}],
        "collection": [{"href": rest_url(site_url, collection)}],
    }
    if up is not None:
        result["up"] = [{"href": rest_url(site_url, up)}]
    return result


def _meta(entries: tuple[tuple[int, str, Any], ...]) -> list[dict[str, Any]]:
    return [{"id": meta_id, "key": key, "value": value} for meta_id, key, value in entries]


def _address(address: Address, *, billing: bool) -> dict[str, str]:
    data = {
        "first_name": address.first_name,
        "last_name": address.last_name,
        "company": address.company,
        "address_1": address.address_1,
        "address_2": "",
        "city": address.city,
        "state": address.state,
        "postcode": address.postcode,
        "country": address.country,
    }
    if billing:
        data["email"] = address.email
        data["phone"] = address.phone
    return data


def _line(site: WooSite, order: Order, line: LineItem) -> dict[str, Any]:
    currency = order.currency
    rate = order.tax_lines[0].rate if order.tax_lines else None
    taxes = [{"id": rate.rate_id, "total": plain(line.total_tax), "subtotal": plain(line.subtotal_tax)}] if rate else []
    parent = site.products.get(line.product_id) if line.variation_id else None
    return {
        "id": line.item_id,
        "name": line.name,
        "product_id": line.product_id,
        "variation_id": line.variation_id,
        "quantity": line.quantity,
        "tax_class": "",
        "subtotal": money(line.subtotal, currency),
        "subtotal_tax": money(line.subtotal_tax, currency),
        "total": money(line.total, currency),
        "total_tax": money(line.total_tax, currency),
        "taxes": taxes,
        "meta_data": [
            {"id": meta_id, "key": key, "value": value, "display_key": key, "display_value": value}
            for meta_id, key, value in line.meta
        ],
        "sku": line.sku,
        "price": json_number(line.total / line.quantity) if line.quantity else 0,
        "image": {"id": 0, "src": ""},
        "parent_name": parent.name if parent is not None else None,
    }


def order_json(
    site: WooSite, site_url: str, order: Order, state: OrderState, *, malformed: bool = False
) -> dict[str, Any]:
    """GET /orders/{id}: the order as it is in `state`; broken as the hostile profile wants if `malformed`."""
    currency = order.currency
    rate = order.tax_lines[0].rate if order.tax_lines else None
    data: dict[str, Any] = {
        "id": order.id,
        "parent_id": 0,
        "number": str(order.id),
        "order_key": order.order_key,
        "created_via": order.created_via,
        "version": WC_VERSION,
        "status": state.status,
        "currency": currency,
        **dates(site, "date_created", order.created),
        **dates(site, "date_modified", state.modified),
        "discount_total": money(order.discount_total, currency),
        "discount_tax": money(order.discount_tax, currency),
        "shipping_total": money(order.shipping_total, currency),
        "shipping_tax": money(order.shipping_tax, currency),
        "cart_tax": money(order.cart_tax, currency),
        "total": money(order.total, currency),
        "total_tax": money(order.total_tax, currency),
        "prices_include_tax": order.prices_include_tax,
        "customer_id": order.customer_id,
        "customer_ip_address": "",
        "customer_user_agent": "",
        "customer_note": state.customer_note,
        "billing": _address(order.billing, billing=True),
        "shipping": _address(order.shipping, billing=False),
        "payment_method": order.gateway.method,
        "payment_method_title": order.gateway.title,
        "transaction_id": state.transaction_id,
        **dates(site, "date_paid", state.date_paid),
        **dates(site, "date_completed", state.date_completed),
        "cart_hash": "",
        "meta_data": _meta(state.meta),
        "line_items": [_line(site, order, line) for line in order.lines],
        "tax_lines": [
            {
                "id": line.item_id,
                "rate_code": line.rate.rate_code,
                "rate_id": line.rate.rate_id,
                "label": line.rate.label,
                "compound": False,
                "tax_total": money(line.tax_total, currency),
                "shipping_tax_total": money(line.shipping_tax_total, currency),
                "rate_percent": json_number(line.rate.percent),
                "meta_data": [],
            }
            for line in order.tax_lines
        ],
        "shipping_lines": [
            {
                "id": line.item_id,
                "method_title": line.method_title,
                "method_id": line.method_id,
                "instance_id": line.instance_id,
                "total": money(line.total, currency),
                "total_tax": money(line.total_tax, currency),
                "taxes": [{"id": rate.rate_id, "total": plain(line.total_tax), "subtotal": ""}] if rate else [],
                "meta_data": [],
            }
            for line in order.shipping_lines
        ],
        "fee_lines": [],
        "coupon_lines": [
            {
                "id": line.item_id,
                "code": line.code,
                "discount": money(line.discount, currency),
                "discount_tax": money(line.discount_tax, currency),
                "meta_data": [],
                "discount_type": "percent",
                "nominal_amount": json_number(line.percent),
                "free_shipping": False,
            }
            for line in order.coupon_lines
        ],
        "refunds": [
            {"id": refund.id, "reason": refund.reason, "total": "-" + money(refund.amount, currency)}
            for refund in sorted(state.refunds, key=lambda refund: (refund.created, refund.id), reverse=True)
        ],
        "payment_url": f"{site_url}/checkout/order-pay/{order.id}/?pay_for_order=true&key={order.order_key}",
        "is_editable": state.status in (PENDING, ON_HOLD),
        "needs_payment": state.status in (PENDING, FAILED) and order.total > 0,
        "needs_processing": True,
        "currency_symbol": get_currency_symbol(currency, locale="en"),
        "_links": links(site_url, f"orders/{order.id}", "orders"),
    }
    if order.customer_id:
        data["_links"]["customer"] = [{"href": rest_url(site_url, f"customers/{order.customer_id}")}]
    if malformed and order.malformed == "non_numeric_total":
        data["total"] = "abc"
    elif malformed and order.malformed == "missing_line_items":
        del data["line_items"]
    elif malformed and order.malformed == "null_date_modified":
        data["date_modified"] = data["date_modified_gmt"] = None
    return data


def refund_json(site: WooSite, site_url: str, order: Order, refund: Refund) -> dict[str, Any]:
    currency = order.currency
    rate = order.tax_lines[0].rate if order.tax_lines else None
    line_items = []
    for refund_line in refund.lines:
        line = order.line(refund_line.refunded_item_id)
        if line is None:
            continue
        line_items.append(
            {
                "id": refund_line.item_id,
                "name": line.name,
                "product_id": line.product_id,
                "variation_id": line.variation_id,
                "quantity": -refund_line.quantity,
                "tax_class": "",
                "subtotal": money(-refund_line.total, currency),
                "subtotal_tax": money(-refund_line.total_tax, currency),
                "total": money(-refund_line.total, currency),
                "total_tax": money(-refund_line.total_tax, currency),
                "taxes": (
                    [
                        {
                            "id": rate.rate_id,
                            "total": plain(-refund_line.total_tax),
                            "subtotal": plain(-refund_line.total_tax),
                        }
                    ]
                    if rate
                    else []
                ),
                "meta_data": [
                    {
                        "id": refund_line.item_id * 10,
                        "key": "_refunded_item_id",
                        "value": str(refund_line.refunded_item_id),
                        "display_key": "_refunded_item_id",
                        "display_value": str(refund_line.refunded_item_id),
                    }
                ],
                "sku": line.sku,
                "price": json_number(-refund_line.total / refund_line.quantity) if refund_line.quantity else 0,
                "image": {"id": 0, "src": ""},
                "parent_name": None,
            }
        )
    path = f"orders/{order.id}/refunds"
    return {
        "id": refund.id,
        **dates(site, "date_created", refund.created),
        "amount": money(refund.amount, currency),
        "reason": refund.reason,
        "refunded_by": refund.refunded_by,
        "refunded_payment": refund.refunded_payment,
        "meta_data": _meta(refund.meta),
        "line_items": line_items,
        "shipping_lines": [],
        "tax_lines": [],
        "fee_lines": [],
        "_links": links(site_url, f"{path}/{refund.id}", path, f"orders/{order.id}"),
    }


def note_json(site: WooSite, site_url: str, order: Order, note: Note) -> dict[str, Any]:
    path = f"orders/{order.id}/notes"
    return {
        "id": note.id,
        "author": note.author,
        **dates(site, "date_created", note.created),
        "note": note.text,
        "customer_note": note.customer_note,
        "_links": links(site_url, f"{path}/{note.id}", path, f"orders/{order.id}"),
    }


def _price(amount: Decimal | None, currency: str) -> str:
    return money(amount, currency) if amount is not None else ""


def _price_html(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    symbol = get_currency_symbol(currency, locale="en")
    return (
        '<span class="woocommerce-Price-amount amount"><bdi>'
        f'{money(amount, currency)}&nbsp;<span class="woocommerce-Price-currencySymbol">{symbol}</span>'
        "</bdi></span>"
    )


def _stock_fields(site: WooSite, product: Product) -> dict[str, Any]:
    managed = site.manage_stock and product.manage_stock
    quantity = product.stock_quantity if managed else None
    backordered = managed and quantity is not None and quantity < 0
    return {
        "manage_stock": managed,
        "stock_quantity": quantity,
        "stock_status": product.stock_status if managed else "instock",
        "backorders": product.backorders,
        "backorders_allowed": product.backorders != "no",
        "backordered": backordered,
    }


def _permalink(site_url: str, product: Product, parent: Product | None) -> str:
    if parent is None:
        return f"{site_url}/product/{product.slug}/"
    query = "&".join(f"attribute_{taxonomy}={options[0].lower()}" for taxonomy, _, options in product.attributes)
    return f"{site_url}/product/{parent.slug}/?{query}"


def product_json(site: WooSite, site_url: str, product: Product) -> dict[str, Any]:
    """GET /products/{id} (a variation asked for by its id comes back in this shape too)."""
    currency = site.currency
    parent = site.products.get(product.parent_id) if product.parent_id else None
    variations = [site.products[vid] for vid in product.variation_ids if vid in site.products]
    if product.type == "variable":
        prices = [variation.price for variation in variations if variation.price is not None]
        price: Decimal | None = min(prices) if prices else None
        regular, sale = None, None
    else:
        price, regular, sale = product.price, product.regular_price, product.sale_price
    attributes: list[dict[str, Any]]
    if product.type == "variation":
        attributes = [
            {"id": ATTRIBUTE_IDS.get(taxonomy, 0), "name": label, "option": options[0]}
            for taxonomy, label, options in product.attributes
        ]
    else:
        attributes = [
            {
                "id": ATTRIBUTE_IDS.get(taxonomy, 0),
                "name": label,
                "position": position,
                "visible": True,
                "variation": True,
                "options": list(options),
            }
            for position, (taxonomy, label, options) in enumerate(product.attributes)
        ]
    return {
        "id": product.id,
        "name": product.name,
        "slug": product.slug,
        "permalink": _permalink(site_url, product, parent),
        **dates(site, "date_created", product.created),
        **dates(site, "date_modified", product.modified),
        "type": product.type,
        "status": "publish",
        "featured": False,
        "catalog_visibility": "visible",
        "description": "",
        "short_description": "",
        "sku": product.sku,
        "price": _price(price, currency),
        "regular_price": _price(regular, currency),
        "sale_price": _price(sale, currency),
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "price_html": _price_html(price, currency),
        "on_sale": sale is not None,
        "purchasable": price is not None,
        "total_sales": product.total_sales,
        "virtual": product.virtual,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "external_url": "",
        "button_text": "",
        "tax_status": "taxable",
        "tax_class": "",
        **_stock_fields(site, product),
        "sold_individually": False,
        "weight": product.weight,
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_required": not product.virtual,
        "shipping_taxable": True,
        "shipping_class": "",
        "shipping_class_id": 0,
        "reviews_allowed": True,
        "average_rating": "0.00",
        "rating_count": 0,
        "related_ids": [],
        "upsell_ids": [],
        "cross_sell_ids": [],
        "parent_id": product.parent_id,
        "purchase_note": "",
        "categories": [{"id": 15, "name": "Uncategorized", "slug": "uncategorized"}],
        "tags": [],
        "images": [],
        "attributes": attributes,
        "default_attributes": [],
        "variations": [variation.id for variation in variations],
        "grouped_products": [],
        "menu_order": 0,
        "meta_data": [],
        "_links": links(site_url, f"products/{product.id}", "products"),
    }


def variation_json(site: WooSite, site_url: str, variation: Product) -> dict[str, Any]:
    """GET /products/{parent}/variations/{id}."""
    currency = site.currency
    parent = site.products.get(variation.parent_id)
    path = f"products/{variation.parent_id}/variations"
    return {
        "id": variation.id,
        "name": variation.name,
        "parent_id": variation.parent_id,
        **dates(site, "date_created", variation.created),
        **dates(site, "date_modified", variation.modified),
        "description": "",
        "permalink": _permalink(site_url, variation, parent),
        "sku": variation.sku,
        "price": _price(variation.price, currency),
        "regular_price": _price(variation.regular_price, currency),
        "sale_price": _price(variation.sale_price, currency),
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": variation.sale_price is not None,
        "status": "publish",
        "purchasable": variation.price is not None,
        "virtual": False,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "tax_status": "taxable",
        "tax_class": "",
        **_stock_fields(site, variation),
        "weight": variation.weight,
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_class": "",
        "shipping_class_id": 0,
        "image": None,
        "attributes": [
            {"id": ATTRIBUTE_IDS.get(taxonomy, 0), "name": label, "option": options[0]}
            for taxonomy, label, options in variation.attributes
        ],
        "menu_order": 0,
        "meta_data": [],
        "_links": links(site_url, f"{path}/{variation.id}", path, f"products/{variation.parent_id}"),
    }


def webhook_json(site: WooSite, site_url: str, webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "name": webhook.name,
        "status": webhook.status,
        "topic": webhook.topic,
        "resource": webhook.resource,
        "event": webhook.event,
        "hooks": WEBHOOK_HOOKS.get(webhook.topic, [webhook.topic.removeprefix("action.")]),
        "delivery_url": webhook.delivery_url,
        **dates(site, "date_created", webhook.created),
        **dates(site, "date_modified", webhook.modified),
        "_links": links(site_url, f"webhooks/{webhook.id}", "webhooks"),
    }
