"""The truth about a simulated shop as plain dicts (amounts as Decimal strings, GMT times as WooCommerce
writes them), for tests to compare a client's sync with. Always well-formed, whatever the fault profile
sends; callers hold the context lock and have brought the site up to now."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from simulator.catalogue import quantize
from simulator.woocommerce.catalogue import TRASH
from simulator.woocommerce.model import Order
from simulator.woocommerce.render import gmt
from simulator.woocommerce.site import WooSite

if TYPE_CHECKING:
    from simulator.woocommerce.context import WooContext


def visible_orders(context: WooContext, site: WooSite) -> list[dict[str, Any]]:
    result = []
    for order, state in context.states(site):
        if state.status == TRASH:
            continue
        currency = order.currency
        result.append(
            {
                "id": order.id,
                "number": str(order.id),
                "status": state.status,
                "currency": currency,
                "total": str(quantize(order.total, currency)),
                "total_tax": str(quantize(order.total_tax, currency)),
                "shipping_total": str(quantize(order.shipping_total, currency)),
                "discount_total": str(quantize(order.discount_total, currency)),
                "refunded": str(quantize(state.refunded, currency)),
                "date_created_gmt": gmt(order.created),
                "date_modified_gmt": gmt(state.modified),
                "lines": [
                    {
                        "id": line.item_id,
                        "sku": line.sku,
                        "product_id": line.product_id,
                        "variation_id": line.variation_id,
                        "quantity": line.quantity,
                        "total": str(quantize(line.total, currency)),
                    }
                    for line in order.lines
                ],
            }
        )
    return sorted(result, key=lambda entry: entry["id"])


def refunds(context: WooContext, site: WooSite) -> list[dict[str, Any]]:
    result = []
    for order, state in context.states(site):
        for refund in state.refunds:
            result.append(
                {
                    "id": refund.id,
                    "order_id": order.id,
                    "amount": str(quantize(refund.amount, order.currency)),
                    "currency": order.currency,
                    "reason": refund.reason,
                    "refunded_payment": refund.refunded_payment,
                    "restock": refund.restock,
                    "date_created_gmt": gmt(refund.created),
                    "lines": [
                        {
                            "refunded_item_id": line.refunded_item_id,
                            "sku": (order.line(line.refunded_item_id) or order.lines[0]).sku,
                            "quantity": line.quantity,
                            "total": str(quantize(line.total, order.currency)),
                        }
                        for line in refund.lines
                    ],
                }
            )
    return sorted(result, key=lambda entry: (entry["date_created_gmt"], entry["id"]))


def stock(site: WooSite) -> dict[str, int]:
    return {
        product.sku: product.stock_quantity
        for product in site.products.values()
        if site.managed_stock(product.id) is not None and product.stock_quantity is not None and product.sku
    }


def notes(order: Order, moment: datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": note.id,
            "note": note.text,
            "customer_note": note.customer_note,
            "author": note.author,
            "date_created_gmt": gmt(note.created),
        }
        for note in order.notes_at(moment)
    ]
