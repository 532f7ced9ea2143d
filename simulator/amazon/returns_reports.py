"""The returns report documents: GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA (FBA customer returns, one
row per return the fulfilment centre processed, by ``return-date``) and
GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE (merchant-fulfilled return requests, by request date).

Columns are exactly the documented ones, in order. Dates are written as Amazon writes them in these
files: ``2025-06-05T15:31:40+00:00`` in the FBA report, ``10-Jul-2025`` in the merchant-fulfilled one.
Rows show each return as it was when the report was processed (`moment`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from simulator import truth
from simulator.aftersales import CustomerReturn
from simulator.catalogue import format_amount
from simulator.world import World

FBA_RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
MFN_RETURNS = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
RETURNS_TYPES = (FBA_RETURNS, MFN_RETURNS)
MFN_MAX_DAYS = 60  # "You can request up to 60 days of data in a single report."

FBA_RETURNS_COLUMNS = (
    "return-date",
    "order-id",
    "sku",
    "asin",
    "fnsku",
    "product-name",
    "quantity",
    "fulfillment-center-id",
    "detailed-disposition",
    "reason",
    "status",
    "license-plate-number",
    "customer-comments",
)
MFN_RETURNS_COLUMNS = (
    "Order ID",
    "Order date",
    "Return request date",
    "Return request status",
    "Amazon RMA ID",
    "Merchant RMA ID",
    "Label type",
    "Label cost",
    "Currency code",
    "Return carrier",
    "Tracking ID",
    "Label to be paid by",
    "A-to-Z Claim",
    "Is prime",
    "ASIN",
    "Merchant SKU",
    "Item Name",
    "Return quantity",
    "Return Reason",
    "In policy",
    "Return type",
    "Resolution",
    "Invoice number",
    "Return delivery date",
    "Order Amount",
    "Order quantity",
    "SafeT Action reason",
    "SafeT claim id",
    "SafeT claim state",
    "SafeT claim creation time",
    "SafeT claim reimbursement amount",
    "Refunded Amount",
)
COLUMNS = {FBA_RETURNS: FBA_RETURNS_COLUMNS, MFN_RETURNS: MFN_RETURNS_COLUMNS}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def fba_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def mfn_date(moment: datetime) -> str:
    """``10-Jul-2025`` (English month names whatever the locale)."""
    return f"{moment.day:02d}-{_MONTHS[moment.month - 1]}-{moment.year}"


def _clean(text: str) -> str:
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _returns(
    world: World, seller_id: str, marketplace_ids: Iterable[str], start: datetime, end: datetime, moment: datetime
) -> list[CustomerReturn]:
    wanted = set(marketplace_ids)
    found = []
    for order, returns, _ in world.after_sales(seller_id):
        if order.marketplace.marketplace_id not in wanted:
            continue
        for customer_return in returns:
            if not truth.return_visible(customer_return, moment):
                continue
            when = customer_return.received_at if customer_return.fba else customer_return.requested_at
            if when is not None and start <= when < end:
                found.append(customer_return)
    return found


def fba_rows(
    world: World, seller_id: str, marketplace_ids: Iterable[str], start: datetime, end: datetime, moment: datetime
) -> list[dict[str, str]]:
    rows = []
    for customer_return in _returns(world, seller_id, marketplace_ids, start, end, moment):
        if not customer_return.fba or customer_return.received_at is None:
            continue
        order, plan, line = customer_return.order, customer_return.plan, customer_return.line
        rows.append(
            {
                "return-date": fba_date(customer_return.received_at),
                "order-id": order.order_id,
                "sku": line.listing.sku,
                "asin": line.listing.asin,
                "fnsku": line.listing.fnsku,
                "product-name": _clean(line.listing.title),
                "quantity": str(customer_return.quantity),
                "fulfillment-center-id": plan.fulfillment_center,
                "detailed-disposition": plan.disposition,
                "reason": plan.reason,
                "status": plan.fba_status,
                "license-plate-number": plan.license_plate_number,
                "customer-comments": _clean(plan.comment),
            }
        )
    rows.sort(key=lambda row: (row["return-date"], row["order-id"], row["sku"]))
    return rows


def mfn_rows(
    world: World, seller_id: str, marketplace_ids: Iterable[str], start: datetime, end: datetime, moment: datetime
) -> list[dict[str, str]]:
    found = [r for r in _returns(world, seller_id, marketplace_ids, start, end, moment) if not r.fba]
    found.sort(key=lambda r: (r.requested_at, r.order.order_id, r.plan.line_index))
    rows = []
    for customer_return in found:
        order, plan, line = customer_return.order, customer_return.plan, customer_return.line
        currency = order.currency
        received = customer_return.received_at
        refunded = truth.refunded_amount(customer_return, moment)
        rows.append(
            {
                "Order ID": order.order_id,
                "Order date": mfn_date(order.created),
                "Return request date": mfn_date(customer_return.requested_at),
                "Return request status": truth.mfn_status(customer_return, moment),
                "Amazon RMA ID": plan.rma,
                "Merchant RMA ID": "",
                "Label type": plan.label_type,
                "Label cost": format_amount(plan.label_cost, currency) if plan.label_cost is not None else "",
                "Currency code": currency,
                "Return carrier": plan.carrier,
                "Tracking ID": plan.tracking_number,
                "Label to be paid by": plan.label_paid_by,
                "A-to-Z Claim": "N",
                "Is prime": "Y" if "PRIME" in order.programs else "N",
                "ASIN": line.listing.asin,
                "Merchant SKU": line.listing.sku,
                "Item Name": _clean(line.listing.title),
                "Return quantity": str(customer_return.quantity),
                "Return Reason": truth.report_reason(customer_return),
                "In policy": "Y",
                "Return type": "C-Returns",
                "Resolution": "StandardRefund",
                "Invoice number": "",
                "Return delivery date": mfn_date(received) if received is not None and received <= moment else "",
                "Order Amount": format_amount(line.proceeds_total, currency),
                "Order quantity": str(line.quantity),
                "Refunded Amount": format_amount(refunded, currency) if refunded is not None else "",
            }
        )
    return rows


def rows_for(
    report_type: str,
    world: World,
    seller_id: str,
    marketplace_ids: Iterable[str],
    start: datetime,
    end: datetime,
    moment: datetime,
) -> list[dict[str, str]]:
    make = fba_rows if report_type == FBA_RETURNS else mfn_rows
    return make(world, seller_id, marketplace_ids, start, end, moment)
