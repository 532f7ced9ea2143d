"""Products and product variations of REST API v3: list, read, update (stock), batch update.

GET /products lists products only: a variation's SKU is not found there (ask /products/{id}/variations).
`stock_quantity` is taken only when the product manages its stock; otherwise WooCommerce ignores it and
answers 200 with `stock_quantity: null`, as it does.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from simulator.http import Response
from simulator.woocommerce.model import Product
from simulator.woocommerce.paging import page_headers
from simulator.woocommerce.render import product_json, variation_json
from simulator.woocommerce.rest import (
    Call,
    WooError,
    enum_param,
    id_list_param,
    int_param,
    invalid_param,
    list_param,
    no_route,
    wp_response,
)
from simulator.woocommerce.site import WooSite

if TYPE_CHECKING:
    from simulator.woocommerce.context import WooContext

ORDERBY = ("date", "id", "include", "title", "slug", "price", "popularity", "rating", "menu_order", "modified")
TYPES = ("simple", "grouped", "external", "variable")
STOCK_STATUSES = ("instock", "outofstock", "onbackorder")
BACKORDERS = ("no", "notify", "yes")
BATCH_LIMIT = 100


def _id(call: Call, name: str) -> int:
    raw = call.params[name]
    if not raw.isdigit():
        raise no_route()
    return int(raw)


def _invalid_product(status: int) -> WooError:
    return WooError(status, "woocommerce_rest_product_invalid_id", "Invalid ID.")


def _invalid_variation(status: int) -> WooError:
    return WooError(status, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")


def _sorted(products: list[Product], call: Call, include: list[int]) -> list[Product]:
    orderby = enum_param(call, "orderby", "date", ORDERBY)
    descending = enum_param(call, "order", "desc", ("asc", "desc")) == "desc"
    if orderby == "include" and include:
        return sorted(products, key=lambda product: include.index(product.id))
    keys: dict[str, Any] = {
        "date": lambda product: (product.created, product.id),
        "modified": lambda product: (product.modified, product.id),
        "title": lambda product: (product.name.lower(), product.id),
        "slug": lambda product: (product.slug, product.id),
        "price": lambda product: (product.price or Decimal(0), product.id),
    }
    return sorted(products, key=keys.get(orderby, lambda product: product.id), reverse=descending)


def _page(context: WooContext, call: Call, products: list[Product], render: Any) -> Response:
    page = int_param(call, "page", 1, 1) or 1
    per_page = int_param(call, "per_page", 10, 1, 100) or 10
    start = (page - 1) * per_page
    body = [render(call.site, call.site_url, product) for product in products[start : start + per_page]]
    return wp_response(body, headers=page_headers(call, len(products), page, per_page))


def list_products(context: WooContext, call: Call) -> Response:
    site = call.site
    skus = set(list_param(call, "sku"))
    raw_sku = call.param("sku")
    if raw_sku:
        skus.add(str(raw_sku))
    kind = call.param("type")
    if kind is not None and kind not in TYPES:
        raise invalid_param("type", f"type is not one of {', '.join(TYPES[:-1])}, and {TYPES[-1]}.", "rest_not_in_enum")
    include, exclude = id_list_param(call, "include"), set(id_list_param(call, "exclude"))
    search = str(call.param("search") or "").strip().lower()
    products = [
        product
        for product in site.products.values()
        if product.type in TYPES
        and (not skus or product.sku in skus)
        and (kind is None or product.type == kind)
        and (not include or product.id in include)
        and product.id not in exclude
        and (not search or search in product.name.lower())
    ]
    return _page(context, call, _sorted(products, call, include), product_json)


def get_product(context: WooContext, call: Call) -> Response:
    product = call.site.products.get(_id(call, "id"))
    if product is None:
        raise _invalid_product(404)
    return wp_response(product_json(call.site, call.site_url, product))


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no", ""):
        return False
    raise invalid_param(name, f"{name} is not of type boolean.", "rest_invalid_type")


def _price(name: str, value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise invalid_param(name, f"{name} is not of type string.", "rest_invalid_type") from None


def apply_changes(context: WooContext, site: WooSite, product: Product, data: dict[str, Any]) -> None:
    """The writable fields the simulator knows; everything is validated before anything changes."""
    changes: dict[str, Any] = {}
    if "name" in data:
        changes["name"] = str(data["name"])
    if "regular_price" in data:
        changes["regular_price"] = _price("regular_price", data["regular_price"])
    if "sale_price" in data:
        changes["sale_price"] = _price("sale_price", data["sale_price"])
    if "manage_stock" in data:
        changes["manage_stock"] = _boolean("manage_stock", data["manage_stock"])
    if "stock_status" in data and data["stock_status"] not in STOCK_STATUSES:
        # Accepted but without effect here: the simulator derives the stock status from the quantity.
        raise invalid_param("stock_status", "stock_status is not one of instock, outofstock, and onbackorder.")
    if "backorders" in data:
        if data["backorders"] not in BACKORDERS:
            raise invalid_param("backorders", "backorders is not one of no, notify, and yes.", "rest_not_in_enum")
        changes["backorders"] = data["backorders"]
    if data.get("stock_quantity") is not None:
        raw = data["stock_quantity"]
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise invalid_param("stock_quantity", "stock_quantity is not of type integer.", "rest_invalid_type")
        try:
            changes["stock_quantity"] = int(str(raw).strip()) if not isinstance(raw, float) else int(raw)
        except ValueError:
            raise invalid_param(
                "stock_quantity", "stock_quantity is not of type integer.", "rest_invalid_type"
            ) from None
    if not changes:
        return
    for name in ("name", "regular_price", "sale_price", "manage_stock", "backorders"):
        if name in changes:
            setattr(product, name, changes[name])
    if product.type == "variable":
        product.stock_quantity = None
    elif product.manage_stock:
        if "stock_quantity" in changes:
            product.stock_quantity = changes["stock_quantity"]
        elif product.stock_quantity is None:
            product.stock_quantity = 0
    else:
        product.stock_quantity = None
    context.product_updated(site, product)


def update_product(context: WooContext, call: Call) -> Response:
    product = call.site.products.get(_id(call, "id"))
    if product is None:
        raise _invalid_product(400)
    apply_changes(context, call.site, product, call.body())
    return wp_response(product_json(call.site, call.site_url, product))


def _batch(context: WooContext, call: Call, find: Any, render: Any, invalid: Any) -> Response:
    body = call.body()
    groups = {name: body.get(name) or [] for name in ("create", "update", "delete")}
    if sum(len(items) if isinstance(items, list) else 1 for items in groups.values()) > BATCH_LIMIT:
        raise WooError(
            413,
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {BATCH_LIMIT} items for this request.",
        )
    unsupported = {
        "code": "woocommerce_rest_simulator_unsupported",
        "message": "The simulator does not create or delete products.",
        "data": {"status": 501},
    }
    result: dict[str, list[Any]] = {"create": [], "update": [], "delete": []}
    for _ in groups["create"] if isinstance(groups["create"], list) else []:
        result["create"].append({"id": 0, "error": unsupported})
    for entry in groups["delete"] if isinstance(groups["delete"], list) else []:
        result["delete"].append({"id": entry if isinstance(entry, int) else 0, "error": unsupported})
    for entry in groups["update"] if isinstance(groups["update"], list) else []:
        if not isinstance(entry, dict):
            continue
        product = find(entry.get("id"))
        try:
            if product is None:
                raise invalid(400)
            apply_changes(context, call.site, product, entry)
        except WooError as error:
            identifier = entry.get("id") if isinstance(entry.get("id"), int) else 0
            result["update"].append(
                {
                    "id": identifier,
                    "error": {
                        "code": error.code,
                        "message": error.message,
                        "data": {"status": error.status, **error.data},
                    },
                }
            )
            continue
        result["update"].append(render(call.site, call.site_url, product))
    return wp_response(result)


def _lookup(site: WooSite, raw: Any, parent_id: int | None = None) -> Product | None:
    try:
        product = site.products.get(int(raw))
    except (TypeError, ValueError):
        return None
    if product is not None and parent_id is not None and product.parent_id != parent_id:
        return None
    return product


def batch_products(context: WooContext, call: Call) -> Response:
    return _batch(context, call, lambda raw: _lookup(call.site, raw), product_json, _invalid_product)


def _parent(call: Call) -> Product:
    parent = call.site.products.get(_id(call, "product_id"))
    if parent is None or parent.type != "variable":
        raise _invalid_product(404)
    return parent


def list_variations(context: WooContext, call: Call) -> Response:
    parent = _parent(call)
    skus = set(list_param(call, "sku"))
    include = id_list_param(call, "include")
    variations = [
        call.site.products[vid]
        for vid in parent.variation_ids
        if vid in call.site.products
        and (not skus or call.site.products[vid].sku in skus)
        and (not include or vid in include)
    ]
    return _page(context, call, _sorted(variations, call, include), variation_json)


def _variation(call: Call, status: int) -> Product:
    parent_id = _id(call, "product_id")
    variation = _lookup(call.site, _id(call, "id"), parent_id)
    if variation is None:
        raise _invalid_variation(status)
    return variation


def get_variation(context: WooContext, call: Call) -> Response:
    return wp_response(variation_json(call.site, call.site_url, _variation(call, 404)))


def update_variation(context: WooContext, call: Call) -> Response:
    variation = _variation(call, 400)
    apply_changes(context, call.site, variation, call.body())
    return wp_response(variation_json(call.site, call.site_url, variation))


def batch_variations(context: WooContext, call: Call) -> Response:
    parent = _parent(call)
    return _batch(context, call, lambda raw: _lookup(call.site, raw, parent.id), variation_json, _invalid_variation)
