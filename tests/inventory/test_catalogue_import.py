"""The catalogue in bulk: product import (CSV, XLSX) all or nothing, the exports, and who may do what."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from acorn.audit.models import AuditEvent
from acorn.spreadsheets import xlsx_file
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory.catalogue import bundle_set_components, product_save
from inventory.catalogue_csv import CSV_COLUMNS, product_import
from inventory.models import BundleComponent, Product

pytestmark = pytest.mark.django_db

HEADER = ",".join(CSV_COLUMNS)


def _csv(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def _upload(client: Client, data: bytes, name: str = "products.csv") -> object:
    return client.post("/app/inventory/import/", {"file": SimpleUploadedFile(name, data)})


def _snapshot(tenant: Tenant) -> list[tuple[object, ...]]:
    with tenant_scope(tenant):
        return [
            (
                p.sku,
                p.name,
                p.unit_cost_amount,
                p.unit_cost_currency,
                p.weight_grams,
                p.low_stock_threshold,
                p.active,
                p.is_bundle,
                sorted((c.component.sku, c.quantity) for c in p.components.all()),
            )
            for p in Product.objects.filter(tenant=tenant).prefetch_related("components__component")
        ]


def test_500_rows_import_in_one_step_with_bounded_statements(owner_client: Client, tenant: Tenant) -> None:
    # given a file of 500 new products
    rows = [f"SKU-{i:03d},Product {i},{i}.25,CNY,{100 + i},5,yes," for i in range(500)]
    # when it is uploaded once
    with CaptureQueriesContext(connection) as queries:
        response = _upload(owner_client, _csv(*rows))
    # then all 500 exist, with Decimal costs
    assert response.status_code == 302
    with tenant_scope(tenant):
        assert Product.objects.filter(tenant=tenant).count() == 500
        product = Product.objects.get(sku="SKU-123")
        assert (product.unit_cost_amount, product.unit_cost_currency, product.weight_grams) == (
            Decimal("123.25"),
            "CNY",
            223,
        )
        assert AuditEvent.objects.filter(action="inventory.product_created").count() == 500
    # and the writes do not grow with a statement per field: one audit insert per product at most, besides a
    # bounded number of reads and bulk writes
    assert len(queries) < 500 + 60
    # and the same file with every cost changed updates all 500 in one step too
    rows = [f"sku-{i:03d},Product {i},{i}.50,CNY,{100 + i},5,yes," for i in range(500)]
    with CaptureQueriesContext(connection) as queries:
        response = _upload(owner_client, _csv(*rows))
    assert response.status_code == 302
    assert len(queries) < 500 + 60
    with tenant_scope(tenant):
        assert Product.objects.filter(tenant=tenant).count() == 500
        assert Product.objects.get(sku="SKU-123").unit_cost_amount == Decimal("123.50")


def test_a_file_with_errors_imports_nothing_and_lists_every_error(tenant: Tenant, owner_client: Client) -> None:
    # given a catalogue with one product
    with tenant_scope(tenant):
        product_save(tenant=tenant, sku="KEEP", name="Kept", unit_cost_amount=Decimal("1.00"))
    before = _snapshot(tenant)
    data = _csv(
        "NEW-1,Fine product,2.00,USD,100,,yes,",
        "NEW-2,Bad cost,abc,USD,100,,yes,",
        "NEW-3,Bad currency,1.00,XYZ,100,,maybe,",
        ",No SKU,1.00,USD,,,yes,",
        "KEEP,Changed,1.00,USD,heavy,,yes,",
        "NEW-4,Bundle of ghosts,1.00,USD,,,yes,GHOST:2",
        "new-1,Twice,1.00,USD,,,yes,",
    )
    # when it is uploaded
    response = _upload(owner_client, data)
    # then nothing changed, and every problem is named with its line and column
    assert response.status_code == 400
    assert _snapshot(tenant) == before
    with tenant_scope(tenant):
        result = product_import(tenant=tenant, data=data)
    problems = {(p.line, p.column) for p in result.problems}
    assert problems == {
        (3, "unit_cost"),
        (4, "cost_currency"),
        (4, "active"),
        (5, "sku"),
        (6, "weight_grams"),
        (7, "components"),
        (8, "sku"),
    }
    assert "&#x27;abc&#x27; is not an amount." in response.content.decode()


def test_an_sku_in_other_case_updates_the_product_and_keeps_its_spelling(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        product_save(tenant=tenant, sku="EARBUDS-PRO", name="Earbuds", unit_cost_amount=Decimal("10"))
        # when a file names it in lower case, without the cost columns
        result = product_import(tenant=tenant, data=_csv("earbuds-pro,Earbuds Pro 2,8", header="sku,name,weight_grams"))
        # then the product is updated, not duplicated; its SKU and cost stay
        assert (result.created, result.updated) == (0, 1)
        product = Product.objects.get(tenant=tenant)
        assert (product.sku, product.name, product.weight_grams, product.unit_cost_amount) == (
            "EARBUDS-PRO",
            "Earbuds Pro 2",
            8,
            Decimal("10"),
        )
        assert AuditEvent.objects.filter(action="inventory.product_changed").count() == 1


def test_bundles_from_the_file_and_the_catalogue(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        product_save(tenant=tenant, sku="SAUCER", name="Saucer")
        # when a file makes a cup and a set of the cup (new) and the saucer (catalogue, other case)
        result = product_import(
            tenant=tenant,
            data=_csv("CUP,Cup,1.00,USD,,,yes,", "SET,Tea set,,,,,yes,CUP:2;saucer:1"),
        )
        assert result.imported, result.problems
        tea_set = Product.objects.get(sku="SET")
        assert tea_set.is_bundle
        assert sorted((c.component.sku, c.quantity) for c in tea_set.components.all()) == [("CUP", 2), ("SAUCER", 1)]
        assert AuditEvent.objects.filter(action="inventory.bundle_changed").count() == 1


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (("SET,Set,,,,,yes,SET:1",), "cannot contain itself"),
        (("A,A,,,,,yes,SAUCER:1", "B,B,,,,,yes,A:1"), "itself a bundle"),
        (("SAUCER,Saucer,,,,,yes,SAUCER2:1", "SAUCER2,S2,,,,,yes,", "OLDSET,Old,,,,,yes,SAUCER:1"), "itself a bundle"),
        (("SET,Set,,,,,yes,SAUCER:1;saucer:2",), "listed twice"),
        (("SET,Set,,,,,yes,SAUCER:0",), "not a component"),
    ],
)
def test_bundle_rules_are_those_of_the_editor(tenant: Tenant, lines: tuple[str, ...], message: str) -> None:
    with tenant_scope(tenant):
        product_save(tenant=tenant, sku="SAUCER", name="Saucer")
        before = Product.objects.count()
        result = product_import(tenant=tenant, data=_csv(*lines))
        assert not result.imported
        # each line in the conflict is named (a bundle inside a bundle: the outer and the inner line)
        assert {p.column for p in result.problems} == {"components"}
        assert any(message in p.message for p in result.problems), result.problems
        assert Product.objects.count() == before


def test_a_component_of_a_bundle_cannot_become_one(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        cup = product_save(tenant=tenant, sku="CUP", name="Cup")
        saucer = product_save(tenant=tenant, sku="SAUCER", name="Saucer")
        kit = product_save(tenant=tenant, sku="KIT", name="Kit")
        bundle_set_components(product=kit, components=[(cup, 1)])
        result = product_import(tenant=tenant, data=_csv("CUP,Cup,,,,,yes,SAUCER:1"))
        assert [(p.line, p.column) for p in result.problems] == [(2, "components")]
        # and once the kit no longer holds the cup, in the same file, it may
        result = product_import(tenant=tenant, data=_csv("KIT,Kit,,,,,yes,SAUCER:1", "CUP,Cup,,,,,yes,SAUCER:2"))
        assert result.imported, result.problems
        assert Product.objects.get(sku="CUP").is_bundle
        assert list(BundleComponent.objects.filter(bundle=kit).values_list("component", flat=True)) == [saucer.pk]


def test_an_xlsx_file_imports(owner_client: Client, tenant: Tenant) -> None:
    handle = xlsx_file(
        sheet_title="Products",
        header=CSV_COLUMNS,
        rows=[["MUG", "Mug 杯子", Decimal("3.5"), "CNY", 420, None, "yes", ""]],
    )
    response = _upload(owner_client, handle.read(), "products.xlsx")
    assert response.status_code == 302
    with tenant_scope(tenant):
        mug = Product.objects.get(sku="MUG")
    assert (mug.name, mug.unit_cost_amount, mug.weight_grams, mug.low_stock_threshold) == (
        "Mug 杯子",
        Decimal("3.5"),
        420,
        None,
    )


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_then_import_changes_nothing(owner_client: Client, tenant: Tenant, file_format: str) -> None:
    # given a catalogue with a bundle, a formula-looking name, an inactive product and empty optional fields
    with tenant_scope(tenant):
        cup = product_save(tenant=tenant, sku="CUP", name="=SUM(A1)", unit_cost_amount=Decimal("1.2345"))
        saucer = product_save(tenant=tenant, sku="SAUCER", name="Saucer", weight_grams=120, active=False)
        kit = product_save(tenant=tenant, sku="KIT", name="Kit 套装", low_stock_threshold=3, unit_cost_currency="JPY")
        bundle_set_components(product=kit, components=[(cup, 2), (saucer, 1)])
    before = _snapshot(tenant)
    with tenant_scope(tenant):
        events = AuditEvent.objects.filter(tenant=tenant).count()
    # when the export is imported again
    response = owner_client.get(f"/app/inventory/export/products.{file_format}")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    with tenant_scope(tenant):
        result = product_import(tenant=tenant, data=data)
        assert AuditEvent.objects.filter(tenant=tenant).count() == events
    # then nothing changed
    assert result.imported, result.problems
    assert (result.created, result.updated, result.unchanged, result.bundles) == (0, 0, 3, 0)
    assert _snapshot(tenant) == before


def test_the_stock_export_lists_levels_per_warehouse(owner_client: Client, tenant: Tenant) -> None:
    from inventory import services
    from inventory.catalogue import warehouse_save

    with tenant_scope(tenant):
        cup = product_save(tenant=tenant, sku="CUP", name="Cup")
        shenzhen = warehouse_save(tenant=tenant, name="Shenzhen")
        services.stock_receive(product=cup, warehouse=shenzhen, quantity=7, reference="PO-1")
    response = owner_client.get("/app/inventory/export/stock.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("sku", "name", "warehouse", "on_hand", "reserved", "available")
    assert rows[1][:6] == ("CUP", "Cup", "Shenzhen", 7, 0, 7)


def test_another_tenants_products_are_never_matched_nor_exported(
    tenant: Tenant, other_tenant: Tenant, owner_client: Client
) -> None:
    with tenant_scope(other_tenant):
        product_save(tenant=other_tenant, sku="SECRET", name="Theirs", unit_cost_amount=Decimal("9"))
        product_save(tenant=other_tenant, sku="SAUCER", name="Their saucer")
    # a file naming their SKUs creates our own products; their SKU is not a component we can use
    response = _upload(owner_client, _csv("secret,Ours,1.00,USD,,,yes,", "SET,Set,,,,,yes,SAUCER:1"))
    assert response.status_code == 400
    assert "No product has the SKU SAUCER" in response.content.decode()
    response = _upload(owner_client, _csv("secret,Ours,1.00,USD,,,yes,"))
    assert response.status_code == 302
    with tenant_scope(other_tenant):
        theirs = Product.objects.get(tenant=other_tenant, sku="SECRET")
        assert (theirs.name, theirs.unit_cost_amount) == ("Theirs", Decimal("9"))
    with tenant_scope(tenant):
        assert Product.objects.get(tenant=tenant).sku == "secret"
    for path in ("/app/inventory/export/products.csv", "/app/inventory/export/stock.csv"):
        text = b"".join(owner_client.get(path).streaming_content).decode()
        assert "Theirs" not in text and "SAUCER" not in text


def test_viewers_export_but_only_managers_import(
    tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable[[Membership], Client]
) -> None:
    finance = client_for(make_member(tenant, Role.FINANCE))
    assert finance.get("/app/inventory/export/products.csv").status_code == 200
    assert finance.get("/app/inventory/import/").status_code == 403
    assert _upload(finance, _csv("X,X,,,,,yes,")).status_code == 403
    assert finance.get("/app/inventory/import/template.csv").status_code == 403
    with tenant_scope(tenant):
        assert not Product.objects.exists()
    operator = client_for(make_member(tenant, Role.OPERATOR))
    # the empty catalogue offers the import and its template to a manager, not to a viewer
    empty = operator.get("/app/inventory/").content.decode()
    assert "/app/inventory/import/template.csv" in empty and "Import products from a file" in empty
    assert "/app/inventory/import/" not in finance.get("/app/inventory/").content.decode()
    assert operator.get("/app/inventory/import/").status_code == 200
    template = operator.get("/app/inventory/import/template.csv")
    assert template.content.decode("utf-8-sig").startswith(HEADER)
    assert _upload(operator, template.content).status_code == 302
    page = operator.get("/app/inventory/")
    assert b"/app/inventory/import/" in page.content


def test_an_unknown_export_format_is_not_found(owner_client: Client) -> None:
    assert owner_client.get("/app/inventory/export/products.pdf").status_code == 404


def test_a_large_catalogue_export_becomes_a_job_that_writes_the_same_file(
    owner_client: Client, tenant: Tenant, settings: Any
) -> None:
    from acorn.exports.models import ExportJob
    from acorn.exports.services import export_job_run

    # given three products, and an inline limit above them
    with tenant_scope(tenant):
        for sku in ("A", "B", "=C"):
            product_save(tenant=tenant, sku=sku, name=f"Product {sku}")
    inline = b"".join(owner_client.get("/app/inventory/export/products.csv").streaming_content)
    # when the limit is below them
    settings.ACORN_EXPORT_INLINE_ROWS = 2
    response = owner_client.get("/app/inventory/export/products.csv")
    # then the export is a job, and the worker writes the file the request would have
    assert response.status_code == 302
    with tenant_scope(tenant):
        job = ExportJob.objects.get()
        assert (job.kind, job.file_format) == ("products", "csv")
        job = export_job_run(job=job)
    assert job.status == "done"
    with job.document.open("rb") as handle:
        assert handle.read() == inline
