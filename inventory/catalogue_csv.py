"""The catalogue in bulk: products imported from a CSV or XLSX file and exported in the same columns (so an
export, edited and imported again, changes only what was edited), and the stock levels exported.

The import checks every row first (acorn.csv_import) and imports all of them or none; every problem names
its line and column. A row's SKU finds the company's product without regard to case ("earbuds-pro" finds
"EARBUDS-PRO", whose spelling stays); a SKU no product has creates one. A column left out of the file leaves
that field as it is. The rules are those of inventory.catalogue (product_save, bundle_set_components),
checked here for the whole file at once so a 500-row file reads the catalogue once and writes in bulk; the
bundle components themselves are written through bundle_set_components.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acorn.audit.services import audit_record, snapshot
from acorn.csv_import import CsvImportFormat, CsvRow, ImportResult, spreadsheet_import_rows
from acorn.exports.registry import ExportKind, TableExport
from acorn.money import AMOUNT_DECIMAL_PLACES, currency_in_use
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory.allocation import sku_reresolve
from inventory.catalogue import PRODUCT_FIELDS, bundle_set_components
from inventory.low_stock import low_stock_check
from inventory.models import AllocationState, BundleComponent, LineAllocation, Product, StockLevel

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CSV_COLUMNS = (
    "sku",
    "name",
    "unit_cost",
    "cost_currency",
    "weight_grams",
    "low_stock_threshold",
    "active",
    "components",
)
REQUIRED_COLUMNS = ("sku",)
# file column -> Product field
FIELD_OF_COLUMN = {
    "sku": "sku",
    "name": "name",
    "unit_cost": "unit_cost_amount",
    "cost_currency": "unit_cost_currency",
    "weight_grams": "weight_grams",
    "low_stock_threshold": "low_stock_threshold",
    "active": "active",
}
TEMPLATE_ROW = ("MUG-BLUE-350", "Blue mug 350 ml", "12.5000", "CNY", "420", "10", "yes", "")
STOCK_COLUMNS = ("sku", "name", "warehouse", "on_hand", "reserved", "available", "inbound", "unfulfillable")
TRUE_WORDS = frozenset({"yes", "y", "true", "1", "是"})
FALSE_WORDS = frozenset({"no", "n", "false", "0", "否"})
COMPONENT_RE = re.compile(r"^(?P<sku>[^:]+?)\s*(?::\s*(?P<quantity>[^:]*))?$")
MAX_WEIGHT_GRAMS = 1_000_000  # a tonne
MAX_THRESHOLD = 1_000_000
MAX_COMPONENT_QUANTITY = 10_000  # as the bundle editor
_UNIT_COST_QUANTUM = Decimal(1).scaleb(-AMOUNT_DECIMAL_PLACES)

CSV_FORMAT = CsvImportFormat(
    columns=CSV_COLUMNS,
    required=REQUIRED_COLUMNS,
    # Excel on a Chinese Windows saves "CSV" in GB18030 (GBK); everything else sends UTF-8.
    encodings=("utf-8-sig", "gb18030"),
    encoding_problem=gettext_lazy("The file is not text in UTF-8 (or GB18030); save it as CSV UTF-8 or XLSX."),
    no_rows_problem=gettext_lazy("The file has no products under its header."),
    restore_escaped_text=True,  # the export escapes formula-looking cells; a round trip changes nothing
)


# --- export -----------------------------------------------------------------------------------------------


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def components_text(parts: list[tuple[str, int]]) -> str:
    """Bundle components as one cell, "CUP:2;SAUCER:1" (sorted by SKU, so a file compares line by line)."""
    return ";".join(f"{sku}:{quantity}" for sku, quantity in sorted(parts))


def product_export_rows(*, tenant: Tenant) -> Iterator[list[Any]]:
    """The tenant's products in the import's columns, ordered by SKU (one query for products and one for
    components). Safe to read after the request: it enters the tenant's scope itself."""
    with tenant_scope(tenant):
        products = list(
            Product.objects.filter(tenant=tenant)
            .prefetch_related(
                Prefetch("components", queryset=BundleComponent.objects.select_related("component").order_by("pk"))
            )
            .order_by("sku")
        )
    for product in products:
        yield [
            product.sku,
            product.name,
            product.unit_cost_amount,
            product.unit_cost_currency,
            product.weight_grams,  # None: an empty cell
            product.low_stock_threshold,
            _yes_no(product.active),
            components_text([(part.component.sku, part.quantity) for part in product.components.all()]),
        ]


def stock_export_rows(*, tenant: Tenant) -> Iterator[list[Any]]:
    """Stock per product and warehouse: on hand, reserved, available (and FBA's inbound and unfulfillable)."""
    with tenant_scope(tenant):
        levels = list(
            StockLevel.objects.filter(tenant=tenant)
            .select_related("product", "warehouse")
            .order_by("product__sku", "warehouse__kind", "warehouse__name")
        )
    for level in levels:
        yield [
            level.product.sku,
            level.product.name,
            level.warehouse.name,
            level.on_hand,
            level.reserved,
            level.available,
            level.inbound,
            level.unfulfillable,
        ]


@dataclass(frozen=True)
class NoFilters:
    """The catalogue exports take every row: an export job keeps no filter."""


def _product_count(tenant: Tenant, params: Mapping[str, Any]) -> int:
    return Product.objects.filter(tenant=tenant).count()


def _stock_count(tenant: Tenant, params: Mapping[str, Any]) -> int:
    return StockLevel.objects.filter(tenant=tenant).count()


PRODUCTS_EXPORT = ExportKind(
    key="products",
    label=gettext_lazy("Products"),
    permission="inventory.view",
    formats=("csv", "xlsx"),
    filename_stem="products",
    count=_product_count,
    table=TableExport(
        header=lambda tenant, params: CSV_COLUMNS,
        records=lambda tenant, params: ([row] for row in product_export_rows(tenant=tenant)),
        sheet_title=lambda: _("Products"),
    ),
    source_url_name="inventory:product-list",
)
STOCK_EXPORT = ExportKind(
    key="stock_levels",
    label=gettext_lazy("Stock levels"),
    permission="inventory.view",
    formats=("csv", "xlsx"),
    filename_stem="stock-levels",
    count=_stock_count,
    table=TableExport(
        header=lambda tenant, params: STOCK_COLUMNS,
        records=lambda tenant, params: ([row] for row in stock_export_rows(tenant=tenant)),
        sheet_title=lambda: _("Stock levels"),
    ),
    source_url_name="inventory:product-list",
)


# --- import -----------------------------------------------------------------------------------------------


@dataclass
class ProductImportResult(ImportResult):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    bundles: int = 0  # products whose components changed


@dataclass
class _Row:
    line: int
    values: dict[str, Any]  # Product field -> cleaned value, for the columns the file has
    product: Product | None  # the existing product it updates
    components: list[tuple[str, int]] | None = None  # (SKU as the file writes it, quantity); None: column absent
    component_lines: dict[str, int] = field(default_factory=dict)


def _amount(text: str) -> Decimal | None:
    """A cost as written ("12.50", "1,234.50"), or None when it is not an amount."""
    try:
        amount = Decimal(text.replace(",", "") if text.count(".") <= 1 else text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _whole(text: str, maximum: int) -> int | None:
    """A whole number from 0 to `maximum` ("420", or "420.0" as a spreadsheet may write it), else None."""
    number = _amount(text)
    if number is None or number != number.to_integral_value() or not 0 <= number <= maximum:
        return None
    return int(number)


def _read_values(line: int, cells: dict[str, str], product: Product | None, result: ImportResult) -> dict[str, Any]:
    """The row's cells as Product field values; every problem of a cell goes into `result`."""
    values: dict[str, Any] = {}
    if "name" in cells:
        if not cells["name"] and product is None:
            result.problem(line, "name", _("Give the product's name."))
        elif not cells["name"]:
            result.problem(line, "name", _("The name cannot be empty."))
        elif len(cells["name"]) > 300:
            result.problem(line, "name", _("At most 300 characters."))
        else:
            values["name"] = cells["name"]
    elif product is None:
        result.problem(line, "name", _("A new product needs a name: add the name column."))
    if cells.get("unit_cost"):
        amount = _amount(cells["unit_cost"])
        if amount is None:
            result.problem(line, "unit_cost", _("'%(value)s' is not an amount.") % {"value": cells["unit_cost"]})
        elif amount < 0:
            result.problem(line, "unit_cost", _("A cost cannot be negative."))
        elif amount != amount.quantize(_UNIT_COST_QUANTUM):
            result.problem(line, "unit_cost", _("Enter at most 4 decimals."))
        else:
            values["unit_cost_amount"] = amount
    elif "unit_cost" in cells:
        values["unit_cost_amount"] = Decimal(0)
    if cells.get("cost_currency"):
        code = cells["cost_currency"].upper()
        kept = product is not None and code == product.unit_cost_currency
        if not kept and not currency_in_use(code):
            # as the product form: a product saved long ago may keep a withdrawn code, a new choice may not
            result.problem(
                line, "cost_currency", _("'%(value)s' is not a currency in use.") % {"value": cells["cost_currency"]}
            )
        else:
            values["unit_cost_currency"] = code
    for column, maximum, message in (
        ("weight_grams", MAX_WEIGHT_GRAMS, _("'%(value)s' is not a weight in whole grams (e.g. 420).")),
        ("low_stock_threshold", MAX_THRESHOLD, _("'%(value)s' is not a whole number of units.")),
    ):
        if column not in cells:
            continue
        if not cells[column]:
            values[column] = None
            continue
        number = _whole(cells[column], maximum)
        if number is None:
            result.problem(line, column, message % {"value": cells[column]})
        else:
            values[column] = number
    if "active" in cells:
        word = cells["active"].lower()
        if not word:
            if product is None:
                values["active"] = True  # an empty cell: new products are active, existing ones stay as they are
        elif word in TRUE_WORDS:
            values["active"] = True
        elif word in FALSE_WORDS:
            values["active"] = False
        else:
            result.problem(line, "active", _("'%(value)s' is not yes or no.") % {"value": cells["active"]})
    return values


def _read_components(line: int, text: str, result: ImportResult) -> list[tuple[str, int]] | None:
    """ "CUP:2;SAUCER:1" as [("CUP", 2), ("SAUCER", 1)] (a quantity left out is 1); None on a problem."""
    parts: list[tuple[str, int]] = []
    ok = True
    # a Chinese keyboard types the full-width semicolon
    for piece in (p.strip() for p in text.replace("\uff1b", ";").split(";")):
        if not piece:
            continue
        match = COMPONENT_RE.match(piece)
        quantity_text = (match.group("quantity") or "1").strip() if match else ""
        quantity = _whole(quantity_text, MAX_COMPONENT_QUANTITY) if match else None
        if match is None or not quantity:
            result.problem(
                line,
                "components",
                _("'%(value)s' is not a component: write SKU:quantity, e.g. CUP:2;SAUCER:1.") % {"value": piece},
            )
            ok = False
            continue
        parts.append((match.group("sku").strip(), quantity))
    return parts if ok else None


def product_import(*, tenant: Tenant, data: bytes, actor: User | None = None) -> ProductImportResult:
    """Create or update products (and their bundle components) from a CSV or XLSX file. Every row is checked
    first; a file with any problem imports nothing and the result lists each problem with its line and
    column. Otherwise all rows are written in one transaction, audited as product_save audits them; order
    lines waiting for a new SKU resolve to it and the low-stock state is checked once."""
    result = ProductImportResult()
    raw = spreadsheet_import_rows(data=data, csv_format=CSV_FORMAT, result=result)
    if not raw:
        return result
    existing = list(Product.objects.filter(tenant=tenant).prefetch_related("components__component"))
    rows = _check(raw=raw, existing=existing, result=result)
    if result.problem_count:
        return result
    try:
        _write(tenant=tenant, rows=rows, existing=existing, actor=actor, result=result)
    except (ValidationError, IntegrityError):  # changed by someone else meanwhile: import nothing
        result.created = result.updated = result.unchanged = result.bundles = 0
        result.problem(0, "", _("The products changed while the file was imported. Nothing was imported; try again."))
    return result


def _check(*, raw: list[CsvRow], existing: list[Product], result: ProductImportResult) -> list[_Row]:
    """Check every row against the catalogue as read once (no writes, no more queries)."""
    by_key: dict[str, list[Product]] = {}
    for known in existing:
        by_key.setdefault(known.sku.casefold(), []).append(known)
    seen: dict[str, int] = {}
    rows: list[_Row] = []
    for line, cells in raw:
        before = result.problem_count
        sku = cells["sku"]
        product: Product | None = None
        if not sku:
            result.problem(line, "sku", _("Give the SKU."))
        elif len(sku) > 100:
            result.problem(line, "sku", _("At most 100 characters."))
        else:
            key = sku.casefold()
            matches = by_key.get(key, [])
            if len(matches) > 1:
                result.problem(
                    line,
                    "sku",
                    _("%(sku)s matches several products that differ only in case (%(skus)s); rename one first.")
                    % {"sku": sku, "skus": ", ".join(p.sku for p in matches)},
                )
            product = matches[0] if len(matches) == 1 else None
            first = seen.setdefault(key, line)
            if first != line:
                message = _("Line %(first)d already has the SKU %(sku)s.") % {"first": first, "sku": sku}
                result.problem(line, "sku", message)
        values = _read_values(line, cells, product, result)
        components = None
        if "components" in cells:
            components = _read_components(line, cells["components"], result)
        if result.problem_count != before:
            continue
        if product is None:
            values["sku"] = sku
        candidate = Product(tenant_id=0, **_field_values(product, values))
        try:
            candidate.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                column = next((c for c, f in FIELD_OF_COLUMN.items() if f == name), "")
                for message in messages:
                    result.problem(line, column, message)
            continue
        rows.append(_Row(line=line, values=values, product=product, components=components))
    # bundles are checked even when other rows failed, so the file's every problem is listed at once
    file_keys = {cells["sku"].casefold() for _line, cells in raw if cells["sku"]}
    _check_bundles(rows=rows, by_key=by_key, file_keys=file_keys, result=result)
    return rows


def _field_values(product: Product | None, values: dict[str, Any]) -> dict[str, Any]:
    current = {name: getattr(product, name) for name in PRODUCT_FIELDS} if product is not None else {}
    return {**current, **values}


def _check_bundles(
    *, rows: list[_Row], by_key: dict[str, list[Product]], file_keys: set[str], result: ProductImportResult
) -> None:
    """The rules of bundle_set_components, for the catalogue as it will be after the file: components exist
    (in the file or the catalogue), are not the bundle itself nor bundles, are not listed twice; a product
    used inside a bundle is not one."""
    in_file = {_row_key(row): row for row in rows}
    # what each product will contain: the file's components where it gives them, else what it has now
    final: dict[str, list[str]] = {}
    for key, products in by_key.items():
        final[key] = [part.component.sku.casefold() for part in products[0].components.all()]
    for key in file_keys:
        final.setdefault(key, [])  # a row with a problem still names a product that the file means to have
    for key, row in in_file.items():
        if row.components is not None:
            final[key] = [sku.casefold() for sku, _quantity in row.components]
    is_bundle = {key for key, parts in final.items() if parts}
    used_in: dict[str, str] = {}
    for key, parts in final.items():
        for part in parts:
            if part != key:  # a bundle listing itself is told so once, as itself
                used_in.setdefault(part, key)
    for key, row in in_file.items():
        if row.components is None:
            continue  # its components stay; a row that puts it inside a bundle reports the conflict
        listed: set[str] = set()
        for sku, _quantity in row.components:
            part = sku.casefold()
            if part not in final:
                result.problem(
                    row.line,
                    "components",
                    _("No product has the SKU %(sku)s (in the file or the catalogue).") % {"sku": sku},
                )
            elif part == key:
                result.problem(row.line, "components", _("A bundle cannot contain itself."))
            elif part in is_bundle:
                result.problem(
                    row.line, "components", _("%(sku)s is itself a bundle; list its components instead.") % {"sku": sku}
                )
            elif part in listed:
                result.problem(row.line, "components", _("%(sku)s is listed twice.") % {"sku": sku})
            listed.add(part)
        if row.components and key in used_in:
            result.problem(
                row.line,
                "components",
                _("%(sku)s is a component of another bundle, so it cannot be a bundle.")
                % {"sku": row.product.sku if row.product else row.values["sku"]},
            )


def _row_key(row: _Row) -> str:
    return (row.product.sku if row.product is not None else row.values["sku"]).casefold()


def _write(
    *, tenant: Tenant, rows: list[_Row], existing: list[Product], actor: User | None, result: ProductImportResult
) -> None:
    """All or nothing: products created and changed in bulk (each audited as product_save audits), then the
    bundles whose components change through bundle_set_components, then waiting lines and low stock."""
    with transaction.atomic():
        created: list[Product] = []
        changed: list[tuple[Product, dict[str, str]]] = []
        reresolve: set[str] = set()
        for row in rows:
            if row.product is None:
                product = Product(tenant=tenant, **row.values)
                created.append(product)
                continue
            product = row.product
            before = snapshot(product, list(PRODUCT_FIELDS))
            # compared as values, not text: 12.5 is the cost 12.5000 already stored
            if all(getattr(product, name) == value for name, value in row.values.items()):
                continue
            for name, value in row.values.items():
                setattr(product, name, value)
            changed.append((product, before))
            if product.active and not before["active"]:
                reresolve.add(product.sku)
        Product.objects.bulk_create(created)
        if changed:
            Product.objects.bulk_update([p for p, _b in changed], [f for f in PRODUCT_FIELDS if f != "sku"])
        for product in created:
            audit_record(
                tenant=tenant,
                actor=actor,
                action="inventory.product_created",
                target=product,
                after={**snapshot(product, list(PRODUCT_FIELDS)), "source": "import"},
            )
            if product.active:
                reresolve.add(product.sku)
        for product, before in changed:
            audit_record(
                tenant=tenant,
                actor=actor,
                action="inventory.product_changed",
                target=product,
                before=before,
                after={**snapshot(product, list(PRODUCT_FIELDS)), "source": "import"},
            )
        result.created, result.updated = len(created), len(changed)
        result.unchanged = len(rows) - len(created) - len(changed)
        result.bundles = _write_bundles(rows=rows, existing=existing, created=created, actor=actor)
        waiting = set(
            LineAllocation.objects.filter(
                tenant=tenant, state=AllocationState.UNMAPPED, channel_sku__in=sorted(reresolve)
            ).values_list("channel_sku", flat=True)
        )
        for sku in sorted(waiting):
            sku_reresolve(tenant_id=tenant.pk, sku=sku)
        low_stock_check(tenant_id=tenant.pk, product_ids=[p.pk for p in created] + [p.pk for p, _b in changed])


def _write_bundles(*, rows: list[_Row], existing: list[Product], created: list[Product], actor: User | None) -> int:
    """Set the components that change, in an order bundle_set_components accepts at every step: bundles that
    become plain first, then bundles that stay bundles, then products that become bundles."""
    products = {p.sku.casefold(): p for p in [*existing, *created]}
    existing_pks = {p.pk for p in existing}
    work: list[tuple[int, Product, list[tuple[Product, int]]]] = []
    for row in rows:
        if row.components is None:
            continue
        product = products[_row_key(row)]
        wanted = [(products[sku.casefold()], quantity) for sku, quantity in row.components]
        now = []
        if product.pk in existing_pks:  # components prefetched; a new product has none
            now = sorted((part.component_id, part.quantity) for part in product.components.all())
        if sorted((part.pk, quantity) for part, quantity in wanted) == now:
            continue
        phase = 0 if not wanted else 1 if product.is_bundle else 2
        work.append((phase, product, wanted))
    for _phase, product, wanted in sorted(work, key=lambda item: (item[0], item[1].sku)):
        bundle_set_components(product=product, components=wanted, actor=actor)
    return len(work)
