"""CSV import and export of SKU mappings. The export is streamed (UTF-8 with a byte-order mark, so Excel
reads Chinese); the import checks every row first and imports all of them or none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acorn.audit.services import audit_record
from acorn.csv_import import CsvImportFormat, CsvRow, ImportResult, csv_import_rows
from acorn.exports.params import filters_from_params
from acorn.exports.registry import ExportKind, TableExport
from acorn.spreadsheets import csv_lines
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from inventory.allocation import mapping_reresolve
from inventory.mapping import chunks, mapping_list, mapping_snapshot
from inventory.mapping_checks import ASIN_RE, EXCEL_NUMBER_RE, MAX_MULTIPLIER, excel_number_message
from inventory.models import Product, SkuMapping

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CSV_COLUMNS = ("store", "channel_sku", "channel_product_id", "asin", "master_sku", "quantity_multiplier")
REQUIRED_COLUMNS = ("store", "master_sku")
_EXPORT_CHUNK = 500


# --- CSV export ------------------------------------------------------------------------------------------


def mapping_export_lines(*, tenant: Tenant, query: str = "", store: Store | None = None) -> Iterator[str]:
    """The mappings as CSV text, line by line (UTF-8 byte-order mark first, so Excel reads Chinese; text a
    spreadsheet would run as a formula behind an apostrophe, which the import takes off again). Safe to stream
    after the request: each chunk is read inside the tenant's scope, none is held open."""
    return csv_lines(CSV_COLUMNS, _mapping_export_rows(tenant=tenant, query=query, store=store))


def _mapping_export_rows(*, tenant: Tenant, query: str, store: Store | None) -> Iterator[list[str]]:
    with tenant_scope(tenant):
        pks = list(mapping_list(tenant=tenant, query=query, store=store).values_list("pk", flat=True))
    for chunk in chunks(pks, _EXPORT_CHUNK):
        with tenant_scope(tenant):
            rows = SkuMapping.objects.filter(tenant=tenant).select_related("store", "product").in_bulk(chunk)
        for pk in chunk:
            mapping = rows.get(pk)
            if mapping is None:  # deleted while the file streams
                continue
            yield [
                mapping.store.name,
                mapping.channel_sku,
                mapping.channel_product_id,
                mapping.asin,
                mapping.product.sku,
                str(mapping.quantity_multiplier),
            ]


@dataclass(frozen=True)
class MappingExportFilters:
    """The mapping list's filters, as an export job keeps them."""

    query: str = ""
    store_id: int | None = None


def _job_store(tenant: Tenant, filters: MappingExportFilters) -> tuple[bool, Store | None]:
    """(found, store): a store filter whose store was deleted since matches nothing, not everything."""
    if filters.store_id is None:
        return True, None
    store = Store.objects.filter(tenant=tenant, pk=filters.store_id).first()
    return store is not None, store


def _job_count(tenant: Tenant, params: Mapping[str, Any]) -> int:
    filters = filters_from_params(MappingExportFilters, params)
    found, store = _job_store(tenant, filters)
    return mapping_list(tenant=tenant, query=filters.query, store=store).count() if found else 0


def _job_records(tenant: Tenant, params: Mapping[str, Any]) -> Iterator[list[list[str]]]:
    filters = filters_from_params(MappingExportFilters, params)
    found, store = _job_store(tenant, filters)
    if found:
        for row in _mapping_export_rows(tenant=tenant, query=filters.query, store=store):
            yield [row]


MAPPINGS_EXPORT = ExportKind(
    key="sku_mappings",
    label=gettext_lazy("SKU mappings"),
    permission="inventory.view",
    formats=("csv",),
    filename_stem="sku-mappings",
    count=_job_count,
    table=TableExport(
        header=lambda tenant, params: CSV_COLUMNS, records=_job_records, sheet_title=lambda: _("SKU mappings")
    ),
    source_url_name="inventory:mapping-list",
)


# --- CSV import ------------------------------------------------------------------------------------------


@dataclass
class MappingImportResult(ImportResult):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    reserved: int = 0  # waiting order lines that hold stock after the import


@dataclass
class _Row:
    line: int
    store: Store
    product: Product
    values: dict[str, Any]  # the columns the file has, tidied
    mapping: SkuMapping | None  # the existing mapping it updates


def _identifier_column_check(columns: list[str], result: ImportResult) -> None:
    if "channel_sku" not in columns and "channel_product_id" not in columns:
        result.problem(1, "channel_sku", _("Missing column: give channel_sku, channel_product_id or both."))


CSV_FORMAT = CsvImportFormat(
    columns=CSV_COLUMNS,
    required=REQUIRED_COLUMNS,
    # Excel on a Chinese Windows saves "CSV" in GB18030 (GBK); everything else sends UTF-8.
    encodings=("utf-8-sig", "gb18030"),
    encoding_problem=gettext_lazy("The file is not text in UTF-8 (or GB18030); save it as CSV UTF-8."),
    no_rows_problem=gettext_lazy("The file has no mappings under its header."),
    restore_escaped_text=True,  # the export escapes formula-looking cells; a round trip changes nothing
    header_check=_identifier_column_check,
)


def mapping_import(*, tenant: Tenant, data: bytes, actor: User | None = None) -> MappingImportResult:
    """Create or update mappings from a CSV file, matched on (store, channel SKU) or (store, channel
    product id). Every row is checked first; a file with any problem imports nothing and the result
    lists each problem with its line and column. Otherwise all rows are written in one transaction
    (audited), then the waiting order lines of each store touched are resolved again, once."""
    result = MappingImportResult()
    raw = csv_import_rows(data=data, csv_format=CSV_FORMAT, result=result)
    if not raw:
        return result
    rows = _read_rows(tenant=tenant, raw=raw, result=result)
    if result.problem_count:
        return result
    try:
        _write(tenant=tenant, rows=rows, actor=actor, result=result)
    except (ValidationError, IntegrityError):  # changed by someone else meanwhile: import nothing
        result.created = result.updated = result.unchanged = result.reserved = 0
        result.problem(0, "", _("The mappings changed while the file was imported. Nothing was imported; try again."))
    return result


def _read_rows(*, tenant: Tenant, raw: list[CsvRow], result: MappingImportResult) -> list[_Row]:
    """Check every row against the tenant's stores, products and mappings (no writes)."""
    stores = {
        store.name: store for store in Store.objects.filter(tenant=tenant, name__in={v["store"] for _l, v in raw})
    }
    skus = sorted({v["master_sku"] for _line, v in raw if v["master_sku"]})
    products: dict[str, Product] = {}
    for chunk in chunks(skus, 500):
        products.update({p.sku: p for p in Product.objects.filter(tenant=tenant, sku__in=chunk)})
    existing = SkuMapping.objects.filter(tenant=tenant, store__in=list(stores.values())).select_related("product")
    by_sku = {(m.store_id, m.channel_sku): m for m in existing if m.channel_sku}
    by_id = {(m.store_id, m.channel_product_id): m for m in existing if m.channel_product_id}

    seen: dict[tuple[int, str, str], int] = {}
    targets: dict[int, int] = {}  # existing mapping pk -> the line that changes it
    rows: list[_Row] = []
    for line, values in raw:
        before = result.problem_count
        store = stores.get(values["store"])
        if not values["store"]:
            result.problem(line, "store", _("Name the store."))
        elif store is None:
            result.problem(line, "store", _("No store of this company is named %(name)s.") % {"name": values["store"]})
        product = products.get(values["master_sku"])
        if not values["master_sku"]:
            result.problem(line, "master_sku", _("Give the master SKU."))
        elif product is None:
            result.problem(line, "master_sku", _("No product has the SKU %(sku)s.") % {"sku": values["master_sku"]})
        sku, pid = values.get("channel_sku", ""), values.get("channel_product_id", "")
        if not sku and not pid:
            result.problem(line, "channel_sku", _("Give the channel SKU, the channel product id, or both."))
        if len(sku) > 200:
            result.problem(line, "channel_sku", _("At most 200 characters."))
        if len(pid) > 60:
            result.problem(line, "channel_product_id", _("At most 60 characters."))
        elif EXCEL_NUMBER_RE.match(pid):
            result.problem(line, "channel_product_id", excel_number_message(pid))
        if "asin" in values:
            values["asin"] = values["asin"].upper()
            if values["asin"] and not ASIN_RE.match(values["asin"]):
                result.problem(line, "asin", _("An ASIN is 10 letters and digits, e.g. B08N5WRWNW."))
        if "quantity_multiplier" in values:
            multiplier = values["quantity_multiplier"] or "1"
            if not multiplier.isdigit() or not 1 <= int(multiplier) <= MAX_MULTIPLIER:
                result.problem(
                    line,
                    "quantity_multiplier",
                    _("A whole number from 1 to %(max)d (units of the product in one channel unit).")
                    % {"max": MAX_MULTIPLIER},
                )
            else:
                values["quantity_multiplier"] = int(multiplier)
        if store is None:
            continue
        for column, value in (("channel_sku", sku), ("channel_product_id", pid)):
            if not value:
                continue
            first = seen.setdefault((store.pk, column, value), line)
            if first != line:
                result.problem(
                    line,
                    column,
                    _("Line %(first)d already maps %(value)s in this store.") % {"first": first, "value": value},
                )
        mapping = _target(line, store, sku, pid, values, by_sku, by_id, result)
        if mapping is not None and targets.setdefault(mapping.pk, line) != line:
            result.problem(
                line,
                "channel_sku" if sku else "channel_product_id",
                _("Line %(first)d already changes the mapping of %(value)s.")
                % {"first": targets[mapping.pk], "value": mapping.channel_sku or mapping.channel_product_id},
            )
        if result.problem_count == before and product is not None:
            rows.append(_Row(line=line, store=store, product=product, values=values, mapping=mapping))
    return rows


def _target(
    line: int,
    store: Store,
    sku: str,
    pid: str,
    values: dict[str, Any],
    by_sku: dict[tuple[int, str], SkuMapping],
    by_id: dict[tuple[int, str], SkuMapping],
    result: MappingImportResult,
) -> SkuMapping | None:
    """The existing mapping a row updates (None: it creates one); a problem when it names two mappings,
    or would give a mapping an SKU or id that another mapping of the store has."""
    found_by_sku = by_sku.get((store.pk, sku)) if sku else None
    found_by_id = by_id.get((store.pk, pid)) if pid else None
    if found_by_sku and found_by_id and found_by_sku.pk != found_by_id.pk:
        result.problem(
            line,
            "channel_product_id",
            _("The channel SKU and the channel product id belong to two different mappings (%(a)s and %(b)s).")
            % {"a": found_by_sku.channel_sku, "b": found_by_id.channel_sku or found_by_id.channel_product_id},
        )
        return None
    mapping = found_by_sku or found_by_id
    for column, key, index in (("channel_sku", sku, by_sku), ("channel_product_id", pid, by_id)):
        if column not in values or not key:
            continue
        other = index.get((store.pk, key))
        if other is not None and (mapping is None or other.pk != mapping.pk):
            result.problem(line, column, _("Another mapping of this store already has %(value)s.") % {"value": key})
    if mapping is not None:
        final_sku = values.get("channel_sku", mapping.channel_sku)
        final_id = values.get("channel_product_id", mapping.channel_product_id)
        if not final_sku and not final_id:
            result.problem(line, "channel_sku", _("Give the channel SKU, the channel product id, or both."))
    return mapping


def _write(*, tenant: Tenant, rows: list[_Row], actor: User | None, result: MappingImportResult) -> None:
    """All or nothing: the checked rows become mappings, then each store's waiting lines are resolved once."""
    editable = ("channel_sku", "channel_product_id", "asin", "quantity_multiplier")
    touched: dict[int, Store] = {}
    with transaction.atomic():
        for row in rows:
            mapping = row.mapping
            if mapping is None:
                mapping = SkuMapping(tenant=tenant, store=row.store, product=row.product)
                for name in editable:
                    if name in row.values:
                        setattr(mapping, name, row.values[name])
                mapping.full_clean()
                mapping.save()
                audit_record(
                    tenant=tenant,
                    actor=actor,
                    action="inventory.mapping_created",
                    target=mapping,
                    after={**mapping_snapshot(mapping), "source": "csv"},
                )
                result.created += 1
                touched[row.store.pk] = row.store
                continue
            before = mapping_snapshot(mapping)
            mapping.product = row.product
            for name in editable:
                if name in row.values:
                    setattr(mapping, name, row.values[name])
            after = mapping_snapshot(mapping)
            if after == before:
                result.unchanged += 1
                continue
            mapping.full_clean()
            mapping.save(update_fields=["product", *editable])
            audit_record(
                tenant=tenant,
                actor=actor,
                action="inventory.mapping_changed",
                target=mapping,
                before=before,
                after={**after, "source": "csv"},
            )
            result.updated += 1
            touched[row.store.pk] = row.store
        for store in touched.values():
            result.reserved += mapping_reresolve(store=store)
