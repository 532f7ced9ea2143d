"""Tracking numbers uploaded as CSV: every row checked first, all recorded in one transaction or none."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acorn.csv_import import CsvImportFormat, CsvRow, ImportResult, csv_import_rows
from acorn.spreadsheets import csv_lines
from acorn.tenancy.models import Tenant
from orders.models import (
    Order,
    Shipment,
    ShipmentSource,
)
from orders.shipments.confirmation import confirmations_queue
from orders.shipments.recording import (
    FIELD_MAX,
    lines_to_ship,
    shipment_record_unqueued,
    shipment_refusal,
    shipped_at_problems,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CSV_COLUMNS = ("order_id", "carrier", "tracking_number", "ship_date", "ship_method", "sku", "quantity")
REQUIRED_COLUMNS = ("order_id", "carrier", "tracking_number", "ship_date")
CSV_FORMAT = CsvImportFormat(
    columns=CSV_COLUMNS,
    required=REQUIRED_COLUMNS,
    encodings=("utf-8-sig",),
    encoding_problem=gettext_lazy("The file is not UTF-8 text: save it as “CSV UTF-8”."),
    no_rows_problem=gettext_lazy("The file has no shipments under its header."),
)


@dataclass
class ShipmentImportResult(ImportResult):
    created: int = 0
    unchanged: int = 0  # parcels already recorded (same order and tracking number)


@dataclass
class _ImportParcel:
    line: int  # first line of the file naming it
    order: Order
    carrier: str
    tracking_number: str
    ship_method: str
    shipped_at: datetime
    lines: dict[int, int] = field(default_factory=dict)  # OrderLine pk → units; empty = everything left
    whole_order: bool = False


def shipment_import_template_lines() -> Iterator[str]:
    """A CSV to fill in: the columns, with an example row (UTF-8 with a byte-order mark for Excel)."""
    example = ["111-1234567-1234567", "UPS", "1Z999AA10123456784", timezone.now().date().isoformat(), "Ground", "", ""]
    return csv_lines(CSV_COLUMNS, [example])


def _import_time(value: str, order: Order | None) -> datetime | None:
    """ship_date: an ISO date-time (with or without offset; none = UTC) or a date. A date alone means that
    day — noon UTC, but never later than now nor earlier than the order."""
    try:
        moment = parse_datetime(value.replace(" ", "T", 1)) if "T" in value or ":" in value else None
        day = None if moment is not None else parse_date(value)
    except ValueError:  # well formed but not a real date (2026-02-30)
        return None
    if moment is not None:
        return timezone.make_aware(moment, UTC) if timezone.is_naive(moment) else moment
    if day is None:
        return None
    moment = min(datetime.combine(day, time(12), tzinfo=UTC), timezone.now())
    if order is not None and moment.date() == order.purchased_at.astimezone(UTC).date():
        moment = max(moment, order.purchased_at)
    return moment


def shipments_import_csv(*, tenant: Tenant, data: bytes, actor: User | None = None) -> ShipmentImportResult:
    """Record shipments from a CSV file (order_id, carrier, tracking_number, ship_date, and optionally
    ship_method, sku, quantity; rows with the same order and tracking number are one parcel). Every row is
    checked first; a file with any problem records nothing, and each problem is reported with its line and
    column. Otherwise all parcels are recorded in one transaction and their confirmations queued."""
    result = ShipmentImportResult()
    raw = csv_import_rows(data=data, csv_format=CSV_FORMAT, result=result)
    if not raw:
        return result
    parcels = _import_rows(tenant=tenant, raw=raw, result=result)
    if result.problem_count:
        return result
    try:
        with transaction.atomic():
            recorded = []
            for parcel in sorted(parcels, key=lambda parcel: (parcel.order.pk, parcel.line)):  # lock in pk order
                shipment, created = shipment_record_unqueued(
                    order=parcel.order,
                    carrier=parcel.carrier,
                    tracking_number=parcel.tracking_number,
                    shipped_at=parcel.shipped_at,
                    source=ShipmentSource.CSV,
                    lines=parcel.lines or None,
                    ship_method=parcel.ship_method,
                    actor=actor,
                )
                if created:
                    result.created += 1
                    recorded.append(shipment)
                else:
                    result.unchanged += 1
            confirmations_queue(recorded)
    except ValidationError as error:  # an order changed while the file was read: record nothing
        result.created = result.unchanged = 0
        result.problem(0, "", _("Nothing was recorded: %(error)s Try again.") % {"error": " ".join(error.messages)})
    return result


def _import_rows(*, tenant: Tenant, raw: list[CsvRow], result: ShipmentImportResult) -> list[_ImportParcel]:
    """Check every row (no writes); rows of one order and tracking number make one parcel."""
    ids = sorted({values["order_id"] for _line, values in raw if values["order_id"]})
    found: dict[str, list[Order]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for order in (
            Order.objects.filter(tenant=tenant)
            .filter(Q(external_id__in=chunk) | Q(merchant_order_id__in=chunk))
            .select_related("store")
        ):
            for key in {order.external_id, order.merchant_order_id} & set(chunk):
                found[key].append(order)
    orders = {key: _prefer_exact(key, matches) for key, matches in found.items()}
    to_ship = {
        order.pk: {entry.line.pk: entry for entry in lines_to_ship(order=order)}
        for order in {o.pk: o for o in orders.values() if o is not None}.values()
    }
    recorded = {
        (order_id, tracking)
        for order_id, tracking in Shipment.objects.filter(tenant=tenant, order_id__in=list(to_ship)).values_list(
            "order_id", "tracking_number"
        )
    }

    parcels: dict[tuple[int, str], _ImportParcel] = {}
    seen_rows: dict[tuple[int, str, str], int] = {}
    units: dict[int, int] = defaultdict(int)  # OrderLine pk → units in the file's new parcels
    for line, values in raw:
        before = result.problem_count
        order = _import_order(line, values.get("order_id", ""), found, orders, result)
        tracking, carrier = values.get("tracking_number", ""), values.get("carrier", "")
        ship_method, sku, quantity_text = (
            values.get("ship_method", ""),
            values.get("sku", ""),
            values.get("quantity", ""),
        )
        if not tracking:
            result.problem(line, "tracking_number", _("Enter the tracking number."))
        elif len(tracking) > FIELD_MAX:
            result.problem(line, "tracking_number", _("At most %(max)d characters.") % {"max": FIELD_MAX})
        if not carrier:
            result.problem(line, "carrier", _("Enter the carrier."))
        elif len(carrier) > FIELD_MAX:
            result.problem(line, "carrier", _("At most %(max)d characters.") % {"max": FIELD_MAX})
        if len(ship_method) > FIELD_MAX:
            result.problem(line, "ship_method", _("At most %(max)d characters.") % {"max": FIELD_MAX})
        shipped_at = _import_time(values.get("ship_date", ""), order) if values.get("ship_date") else None
        if not values.get("ship_date"):
            result.problem(line, "ship_date", _("Enter the ship date (YYYY-MM-DD, or a date and time)."))
        elif shipped_at is None:
            result.problem(line, "ship_date", _("Not a date: use YYYY-MM-DD or YYYY-MM-DD HH:MM."))
        elif order is not None:
            for message in shipped_at_problems(order, shipped_at):
                result.problem(line, "ship_date", message)
        quantity: int | None = None
        if quantity_text:
            if not quantity_text.isdigit() or int(quantity_text) < 1:
                result.problem(line, "quantity", _("A whole number of units, 1 or more."))
            else:
                quantity = int(quantity_text)
            if not sku:
                result.problem(line, "sku", _("Name the SKU the quantity is for."))
        if order is None or result.problem_count != before or not tracking:
            continue
        duplicate = seen_rows.setdefault((order.pk, tracking, sku), line)
        if duplicate != line:
            result.problem(
                line, "", _("Line %(first)d already has this order, tracking number and SKU.") % {"first": duplicate}
            )
            continue
        if (order.pk, tracking) in recorded:
            parcels.setdefault(
                (order.pk, tracking),
                _ImportParcel(
                    line, order, carrier, tracking, ship_method, shipped_at or timezone.now(), whole_order=True
                ),
            )
            continue  # already recorded: the parcel is reported unchanged, its quantities are not counted again
        parcel = parcels.setdefault(
            (order.pk, tracking),
            _ImportParcel(line, order, carrier, tracking, ship_method, shipped_at or timezone.now()),
        )
        if parcel.whole_order or (not sku and parcel.lines):
            result.problem(
                line, "sku", _("Line %(first)d ships this parcel; give a SKU on every line of a parcel or on none.")
                % {"first": parcel.line},
            )  # fmt: skip
            continue
        if not sku:
            parcel.whole_order = True
            for pk, entry in to_ship[order.pk].items():
                if entry.remaining:
                    parcel.lines[pk] = entry.remaining
                    units[pk] += entry.remaining
            if not parcel.lines:
                result.problem(line, "order_id", _("Every item of this order has already shipped."))
            continue
        matching = [entry for entry in to_ship[order.pk].values() if entry.line.sku == sku]
        if not matching:
            result.problem(
                line,
                "sku",
                _("Order %(order)s has no line with SKU %(sku)s.") % {"order": order.external_id, "sku": sku},
            )
            continue
        wanted = quantity if quantity is not None else sum(entry.remaining for entry in matching)
        left = sum(entry.remaining - units[entry.line.pk] for entry in matching)
        ordered = sum(entry.line.quantity for entry in matching)
        if wanted > left or wanted == 0:
            column = "quantity" if quantity is not None else "sku"
            result.problem(
                line,
                column,
                _("More than ordered: %(sku)s has %(ordered)d ordered and %(left)d left to ship.")
                % {"sku": sku, "ordered": ordered, "left": max(0, left)},
            )
            continue
        for entry in matching:  # a SKU on several lines of the order fills them in line order
            take = min(wanted, entry.remaining - units[entry.line.pk])
            if take > 0:
                parcel.lines[entry.line.pk] = parcel.lines.get(entry.line.pk, 0) + take
                units[entry.line.pk] += take
                wanted -= take
    return list(parcels.values())


def _prefer_exact(key: str, matches: list[Order]) -> Order | None:
    """The one order an id names: by channel order id first, then by merchant order id; None if ambiguous."""
    exact = {order.pk: order for order in matches if order.external_id == key}
    if len(exact) == 1:
        return next(iter(exact.values()))
    others = {order.pk: order for order in matches}
    return next(iter(others.values())) if not exact and len(others) == 1 else None


def _import_order(
    line: int,
    order_id: str,
    found: dict[str, list[Order]],
    orders: dict[str, Order | None],
    result: ShipmentImportResult,
) -> Order | None:
    if not order_id:
        result.problem(line, "order_id", _("Enter the order id."))
        return None
    order = orders.get(order_id)
    if order is None:
        stores = sorted({candidate.store.name for candidate in found.get(order_id, [])})
        if stores:
            result.problem(
                line, "order_id", _("Several orders have this id (stores: %(stores)s).") % {"stores": ", ".join(stores)}
            )
        else:
            result.problem(line, "order_id", _("No order of this company has the id %(id)s.") % {"id": order_id})
        return None
    refusal = shipment_refusal(order=order)
    if refusal:
        result.problem(line, "order_id", refusal)
        return None
    return order
