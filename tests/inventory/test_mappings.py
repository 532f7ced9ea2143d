"""The SKU mapping console: CSV export and import (all or nothing, every problem with its line and column,
Chinese text, Excel's quirks), inline edits and deletions, the unmapped queue whose one click reserves
stock for waiting paid orders, suggestions, roles, and no other tenant's stores, products or mappings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory import mapping as mappings
from inventory import mapping_csv, services
from inventory.models import AllocationState, LineAllocation, Product, SkuMapping, StockLevel, Warehouse
from orders.models import OrderLine
from orders.services import order_upsert_page
from tests.factories import StoreFactory
from tests.inventory.test_stock_pool import _order

pytestmark = pytest.mark.django_db

LIST_URL = "/app/inventory/mappings/"
EXPORT_URL = "/app/inventory/mappings/export.csv"
IMPORT_URL = "/app/inventory/mappings/import/"
QUEUE_URL = "/app/inventory/unmapped/"
MAP_URL = "/app/inventory/unmapped/map/"
HTMX = {"HTTP_HX_REQUEST": "true"}
HEADER = "store,channel_sku,channel_product_id,asin,master_sku,quantity_multiplier\n"


def _catalogue(tenant: Tenant, *, store_name: str = "Amazon US", on_hand: int = 10) -> tuple[Any, Product, Product]:
    """A store, two products (a mug in stock, a lid) and a warehouse."""
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name=store_name)
        mug = Product.objects.create(tenant=tenant, sku="SKU-1", name="Mug")
        lid = Product.objects.create(tenant=tenant, sku="LID-1", name="Lid")
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        if on_hand:
            services.stock_receive(product=mug, warehouse=warehouse, quantity=on_hand)
    return store, mug, lid


def _snapshot(tenant: Tenant) -> list[tuple[Any, ...]]:
    with tenant_scope(tenant):
        return list(
            SkuMapping.objects.filter(tenant=tenant)
            .order_by("pk")
            .values_list(
                "pk", "store_id", "channel_sku", "channel_product_id", "asin", "product_id", "quantity_multiplier"
            )
        )


def _upload(client: Client, text: str, *, encoding: str = "utf-8", follow: bool = False) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("mappings.csv", text.encode(encoding), content_type="text/csv")
    return client.post(IMPORT_URL, {"file": upload}, follow=follow)


def _export(client: Client, **params: str) -> bytes:
    response = client.get(EXPORT_URL, params)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return b"".join(response.streaming_content)


def _level(product: Product) -> tuple[int, int]:
    level = StockLevel.objects.get(product=product)
    return level.on_hand, level.reserved


# --- CSV -------------------------------------------------------------------------------------------------


def test_export_then_import_changes_nothing(owner_client: Client, tenant: Tenant) -> None:
    # given: mappings with every column used, and cells a spreadsheet would take for formulas
    store, mug, lid = _catalogue(tenant)
    with tenant_scope(tenant):
        shop = StoreFactory(tenant=tenant, name="Shopify EU", platform="shopify")
        services.mapping_create(
            store=store, product=mug, channel_sku="AMZ-MUG-2PK", asin="b08n5wrwnw", quantity_multiplier=2
        )
        services.mapping_create(store=store, product=lid, channel_sku="=HYPERLINK(1)")
        services.mapping_create(store=shop, product=mug, channel_sku="-MUG", channel_product_id="44712345678901")
        services.mapping_create(store=shop, product=lid, channel_product_id="44712345678902")
    before = _snapshot(tenant)
    with tenant_scope(tenant):
        events = AuditEvent.objects.count()

    # when: the export is uploaded again as it is
    data = _export(owner_client)
    response = _upload(owner_client, data.decode("utf-8"), follow=True)

    # then: a UTF-8 file with a BOM that Excel opens, formulas defused, and an import that changes nothing
    assert data.startswith(b"\xef\xbb\xbf" + HEADER.strip().encode())
    text = data.decode("utf-8-sig")
    assert "Amazon US,AMZ-MUG-2PK,,B08N5WRWNW,SKU-1,2" in text
    assert "'=HYPERLINK(1)" in text and "'-MUG" in text
    assert "Import done: 0 created, 0 changed, 4 unchanged." in response.content.decode()
    assert _snapshot(tenant) == before
    with tenant_scope(tenant):
        assert AuditEvent.objects.count() == events


def test_a_file_with_one_bad_row_imports_nothing_and_names_each_line_and_column(
    owner_client: Client, tenant: Tenant
) -> None:
    _store, _mug, _lid = _catalogue(tenant)
    text = (
        HEADER
        + "Amazon US,AMZ-MUG,,,SKU-1,1\n"
        + "Amazon US,AMZ-LID,,,NO-SUCH-SKU,1\n"
        + "Amazon US,AMZ-MUG-3PK,,,SKU-1,three\n"
        + "Nowhere Store,AMZ-X,,,SKU-1,1\n"
        + "Amazon US,,,,SKU-1,1\n"
        + "Amazon US,AMZ-BAD-ASIN,,NOT-AN-ASIN,SKU-1,1\n"
        + "Amazon US,AMZ-EXCEL,4.47123E+13,,SKU-1,1\n"
    )

    response = _upload(owner_client, text)

    page = response.content.decode()
    assert response.status_code == 400 and "Nothing was saved" in page
    with tenant_scope(tenant):
        assert not SkuMapping.objects.exists()  # not even the good first row
        result = mapping_csv.mapping_import(tenant=tenant, data=text.encode())
    assert [(p.line, p.column) for p in result.problems] == [
        (3, "master_sku"),
        (4, "quantity_multiplier"),
        (5, "store"),
        (6, "channel_sku"),
        (7, "asin"),
        (8, "channel_product_id"),
    ]
    assert "NO-SUCH-SKU" in result.problems[0].message and "Nowhere Store" in result.problems[2].message
    assert "NO-SUCH-SKU" in page and "<code>quantity_multiplier</code>" in page


def test_duplicate_rows_in_the_file_are_refused_with_the_first_line(tenant: Tenant) -> None:
    store, _mug, _lid = _catalogue(tenant)
    with tenant_scope(tenant):
        shop = StoreFactory(tenant=tenant, name="Shopify EU", platform="shopify")
        text = (
            HEADER
            + "Amazon US,AMZ-MUG,,,SKU-1,1\n"
            + "Shopify EU,AMZ-MUG,111,,SKU-1,1\n"  # the same SKU in another store is fine
            + "Amazon US,AMZ-MUG,,,LID-1,1\n"
            + "Shopify EU,OTHER,111,,LID-1,1\n"
        )
        result = mapping_csv.mapping_import(tenant=tenant, data=text.encode())
        assert [(p.line, p.column) for p in result.problems] == [(4, "channel_sku"), (5, "channel_product_id")]
        assert "Line 2" in result.problems[0].message and "Line 3" in result.problems[1].message
        assert not SkuMapping.objects.filter(store__in=[store, shop]).exists()


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("store,channel_sku,quantity_multiplier\n", "master_sku"),
        ("channel_sku,master_sku\n", "store"),
        ("store,master_sku,asin\n", "channel_sku"),
        ("store,channel_sku,master_sku,multiplier\n", "multiplier"),
        ("store,channel_sku,master_sku,store\n", "store"),
    ],
)
def test_missing_unknown_or_repeated_columns_are_reported_on_line_1(tenant: Tenant, header: str, column: str) -> None:
    _catalogue(tenant)
    with tenant_scope(tenant):
        result = mapping_csv.mapping_import(tenant=tenant, data=(header + "Amazon US,X,SKU-1,1\n").encode())
        assert [(p.line, p.column) for p in result.problems] == [(1, column)]
        assert not SkuMapping.objects.exists()


def test_an_empty_file_or_one_with_only_a_header_is_refused(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        assert mapping_csv.mapping_import(tenant=tenant, data=b"").problems[0].line == 1
        assert mapping_csv.mapping_import(tenant=tenant, data=HEADER.encode()).problems[0].line == 2


def test_chinese_text_round_trips_and_excels_gb18030_files_import(owner_client: Client, tenant: Tenant) -> None:
    # given: a store, a product and channel SKUs in Chinese
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="深圳旗舰店", platform="shopify")
        cup = Product.objects.create(tenant=tenant, sku="杯子-蓝", name="蓝色马克杯")
        services.mapping_create(store=store, product=cup, channel_sku="蓝色杯子-两只装", quantity_multiplier=2)

    # when / then: the export carries the Chinese text, and imports back unchanged
    data = _export(owner_client)
    assert "深圳旗舰店,蓝色杯子-两只装,,,杯子-蓝,2" in data.decode("utf-8-sig")
    before = _snapshot(tenant)
    response = _upload(owner_client, data.decode("utf-8"), follow=True)
    assert "0 created, 0 changed, 1 unchanged" in response.content.decode()
    assert _snapshot(tenant) == before

    # and: a file that Excel on a Chinese Windows saved (GB18030, a semicolon-free comma CSV) imports too
    response = _upload(owner_client, HEADER + "深圳旗舰店,蓝色杯子-单只,,,杯子-蓝,1\n", encoding="gb18030", follow=True)
    assert "1 created" in response.content.decode()
    with tenant_scope(tenant):
        assert SkuMapping.objects.get(channel_sku="蓝色杯子-单只").product == cup


def test_import_updates_by_channel_sku_or_product_id_and_waiting_lines_reserve(
    owner_client: Client, tenant: Tenant
) -> None:
    store, mug, lid = _catalogue(tenant)
    with tenant_scope(tenant):
        existing = services.mapping_create(store=store, product=lid, channel_sku="AMZ-MUG-2PK")
        by_id = services.mapping_create(store=store, product=lid, channel_sku="OLD-NAME", channel_product_id="777")
        order_upsert_page(store=store, orders=[_order(1, sku="AMZ-MUG-NEW", quantity=3)])
        assert OrderLine.objects.get(external_id="L1").stock_state == AllocationState.UNMAPPED

    # when: one row changes a mapping, one renames another (found by its product id), one maps the waiting SKU
    text = (
        "store,channel_sku,channel_product_id,master_sku,quantity_multiplier\n"
        "Amazon US,AMZ-MUG-2PK,,SKU-1,2\n"
        "Amazon US,NEW-NAME,777,LID-1,1\n"
        "Amazon US,AMZ-MUG-NEW,,SKU-1,1\n"
    )
    response = _upload(owner_client, text, follow=True)

    # then
    page = response.content.decode()
    assert "1 created, 2 changed, 0 unchanged" in page and "1 waiting order line now holds stock" in page
    with tenant_scope(tenant):
        existing.refresh_from_db()
        by_id.refresh_from_db()
        assert (existing.product, existing.quantity_multiplier) == (mug, 2)
        assert (by_id.channel_sku, by_id.channel_product_id) == ("NEW-NAME", "777")
        assert OrderLine.objects.get(external_id="L1").stock_state == AllocationState.RESERVED
        assert _level(mug) == (10, 3)
        assert AuditEvent.objects.filter(action="inventory.mapping_changed").count() == 2


def test_two_rows_changing_the_same_mapping_are_refused(tenant: Tenant) -> None:
    store, mug, _lid = _catalogue(tenant)
    with tenant_scope(tenant):
        existing = services.mapping_create(store=store, product=mug, channel_sku="OLD", channel_product_id="9")
        text = HEADER + "Amazon US,NEW,9,,SKU-1,1\n" + "Amazon US,OLD,,,LID-1,1\n"  # a rename, then the old name
        result = mapping_csv.mapping_import(tenant=tenant, data=text.encode())
        assert [(p.line, p.column) for p in result.problems] == [(3, "channel_sku")]
        assert "Line 2" in result.problems[0].message
        existing.refresh_from_db()
        assert (existing.channel_sku, existing.product) == ("OLD", mug)


def test_a_row_naming_two_different_mappings_is_refused(tenant: Tenant) -> None:
    store, mug, lid = _catalogue(tenant)
    with tenant_scope(tenant):
        services.mapping_create(store=store, product=mug, channel_sku="A")
        services.mapping_create(store=store, product=lid, channel_sku="B", channel_product_id="2")
        result = mapping_csv.mapping_import(tenant=tenant, data=(HEADER + "Amazon US,A,2,,SKU-1,1\n").encode())
        assert [(p.line, p.column) for p in result.problems] == [(2, "channel_product_id")]


# --- the mapping list, inline edit, delete ---------------------------------------------------------------


def test_list_search_store_filter_and_empty_states(owner_client: Client, tenant: Tenant) -> None:
    assert reverse("inventory:mapping-list") == LIST_URL
    assert "No SKU mappings yet" in owner_client.get(LIST_URL).content.decode()
    store, mug, lid = _catalogue(tenant)
    with tenant_scope(tenant):
        shop = StoreFactory(tenant=tenant, name="Shopify EU", platform="shopify")
        services.mapping_create(store=store, product=mug, channel_sku="AMZ-MUG-2PK", asin="B08N5WRWNW")
        services.mapping_create(store=shop, product=lid, channel_sku="SHOP-LID")

    assert "AMZ-MUG-2PK" in owner_client.get(LIST_URL, {"q": "b08n5"}).content.decode()  # by ASIN
    by_name = owner_client.get(LIST_URL, {"q": "lid"}).content.decode()  # by product name / master SKU
    assert "SHOP-LID" in by_name and "AMZ-MUG-2PK" not in by_name
    by_store = owner_client.get(LIST_URL, {"store": shop.pk}).content.decode()
    assert "SHOP-LID" in by_store and "AMZ-MUG-2PK" not in by_store
    assert "No mapping matches." in owner_client.get(LIST_URL, {"q": "nothing-like-it"}).content.decode()
    assert b"SHOP-LID" not in _export(owner_client, store=str(store.pk))


def test_add_mapping_form_validates_with_readable_messages(owner_client: Client, tenant: Tenant) -> None:
    store, _mug, _lid = _catalogue(tenant)
    url = reverse("inventory:mapping-create")
    base = {"store": store.pk, "channel_sku": "AMZ-MUG", "product": "SKU-1", "quantity_multiplier": 1}

    assert owner_client.post(url, base).status_code == 302
    duplicate = owner_client.post(url, {**base, "product": "LID-1"})
    assert duplicate.status_code == 400
    assert "This store already maps the channel SKU AMZ-MUG (to SKU-1)." in duplicate.content.decode()
    unknown = owner_client.post(url, {**base, "channel_sku": "X", "product": "NO-SUCH"}).content.decode()
    assert "No product has this SKU." in unknown
    nothing = owner_client.post(url, {**base, "channel_sku": ""}).content.decode()
    assert "Give the channel SKU, the channel product id, or both." in nothing
    zero = owner_client.post(url, {**base, "channel_sku": "Y", "quantity_multiplier": 0})
    assert zero.status_code == 400
    with tenant_scope(tenant):
        assert SkuMapping.objects.count() == 1


def test_inline_edit_with_htmx_saves_audits_and_resolves_waiting_lines(owner_client: Client, tenant: Tenant) -> None:
    # given: a mapping for the wrong SKU, and a paid line waiting for the right one
    store, mug, lid = _catalogue(tenant)
    with tenant_scope(tenant):
        mapping = services.mapping_create(store=store, product=lid, channel_sku="AMZ-MUG-TYPO")
        order_upsert_page(store=store, orders=[_order(1, sku="AMZ-MUG-2PK", quantity=2)])
    url = reverse("inventory:mapping-edit", args=[mapping.pk])
    prefix = f"mapping-{mapping.pk}"

    # when: the row turns into a form, a bad value comes back with its message, then a good one saves
    row = owner_client.get(url, **HTMX).content.decode()
    assert row.startswith("<tr") and "AMZ-MUG-TYPO" in row
    bad = owner_client.post(url, {f"{prefix}-channel_sku": "AMZ-MUG-2PK", f"{prefix}-product": "SKU-1",
                                  f"{prefix}-quantity_multiplier": 0}, **HTMX)  # fmt: skip
    assert bad.status_code == 200 and "is-invalid" in bad.content.decode()
    saved = owner_client.post(
        url,
        {f"{prefix}-channel_sku": "AMZ-MUG-2PK", f"{prefix}-product": "SKU-1", f"{prefix}-quantity_multiplier": 2},
        **HTMX,
    )

    # then: the row shows the mapping, the change is audited and the waiting line holds 4 mugs
    assert saved.status_code == 200 and "AMZ-MUG-2PK" in saved.content.decode() and "<form" in saved.content.decode()
    with tenant_scope(tenant):
        mapping.refresh_from_db()
        assert (mapping.channel_sku, mapping.product, mapping.quantity_multiplier) == ("AMZ-MUG-2PK", mug, 2)
        event = AuditEvent.objects.get(action="inventory.mapping_changed")
        assert event.before["channel_sku"] == "AMZ-MUG-TYPO" and event.after["product"] == "SKU-1"
        assert OrderLine.objects.get(external_id="L1").stock_state == AllocationState.RESERVED
        assert _level(mug) == (10, 4)
    cancel = owner_client.get(reverse("inventory:mapping-row", args=[mapping.pk]), **HTMX).content.decode()
    assert cancel.startswith("<tr") and "AMZ-MUG-2PK" in cancel


def test_plain_form_edit_without_javascript(owner_client: Client, tenant: Tenant) -> None:
    store, mug, lid = _catalogue(tenant)
    with tenant_scope(tenant):
        mapping = services.mapping_create(store=store, product=lid, channel_sku="AMZ-MUG")
    url = reverse("inventory:mapping-edit", args=[mapping.pk])
    prefix = f"mapping-{mapping.pk}"
    assert "Edit mapping" in owner_client.get(url).content.decode()
    response = owner_client.post(
        url, {f"{prefix}-channel_sku": "AMZ-MUG", f"{prefix}-product": "SKU-1", f"{prefix}-quantity_multiplier": 1}
    )
    assert response.status_code == 302
    with tenant_scope(tenant):
        assert SkuMapping.objects.get(pk=mapping.pk).product == mug


def test_delete_keeps_what_lines_hold_and_sends_new_orders_to_the_queue(owner_client: Client, tenant: Tenant) -> None:
    store, mug, _lid = _catalogue(tenant)
    with tenant_scope(tenant):
        mapping = services.mapping_create(store=store, product=mug, channel_sku="AMZ-MUG")
        order_upsert_page(store=store, orders=[_order(1, sku="AMZ-MUG")])
        assert _level(mug) == (10, 1)

    response = owner_client.post(reverse("inventory:mapping-delete", args=[mapping.pk]), **HTMX)

    assert response.status_code == 200 and response.content == b""
    with tenant_scope(tenant):
        assert not SkuMapping.objects.exists()
        assert AuditEvent.objects.get(action="inventory.mapping_deleted").before["channel_sku"] == "AMZ-MUG"
        assert _level(mug) == (10, 1)  # the line taken under the mapping keeps its stock
        order_upsert_page(store=store, orders=[_order(2, sku="AMZ-MUG")])
        assert OrderLine.objects.get(external_id="L2").stock_state == AllocationState.UNMAPPED


# --- the unmapped queue and suggestions ------------------------------------------------------------------


def test_mapping_from_the_queue_reserves_stock_for_waiting_paid_lines(owner_client: Client, tenant: Tenant) -> None:
    # given: two paid orders and one unpaid for a channel SKU nobody mapped
    store, mug, _lid = _catalogue(tenant)
    with tenant_scope(tenant):
        order_upsert_page(
            store=store,
            orders=[
                _order(1, sku="AMZ-MUG-2PK", quantity=2),
                _order(2, sku="AMZ-MUG-2PK", quantity=1),
                _order(3, sku="AMZ-MUG-2PK", status="pending_payment"),
            ],
        )
        assert _level(mug) == (10, 0)
    queue = owner_client.get(QUEUE_URL).content.decode()
    assert "AMZ-MUG-2PK" in queue and "Every order line is mapped" not in queue
    dashboard = owner_client.get(reverse("console:dashboard")).content.decode()
    assert 'id="unmapped-card"' in dashboard and "order lines wait for a SKU mapping" in dashboard
    assert reverse("inventory:unmapped-list") in dashboard

    # when: the operator chooses the product (a two-pack: 2 mugs per channel unit)
    response = owner_client.post(
        MAP_URL,
        {"store": store.pk, "channel_sku": "AMZ-MUG-2PK", "channel_product_id": "", "product": "SKU-1",
         "quantity_multiplier": 2},
        follow=True,
    )  # fmt: skip

    # then: the paid lines hold 6 mugs at once, the unpaid one waits for payment, and the queue is empty
    assert "2 waiting order lines now hold stock." in response.content.decode()
    with tenant_scope(tenant):
        assert _level(mug) == (10, 6)
        states = {line.external_id: line.stock_state for line in OrderLine.objects.all()}
        assert states == {"L1": "reserved", "L2": "reserved", "L3": "waiting_payment"}
        assert SkuMapping.objects.get().quantity_multiplier == 2
    assert "Every order line is mapped" in owner_client.get(QUEUE_URL).content.decode()
    assert "Every order line is mapped to a master product." in owner_client.get("/app/").content.decode()


def test_queue_lists_each_sku_with_lines_units_and_oldest_first(tenant: Tenant) -> None:
    from dataclasses import replace
    from datetime import timedelta

    store, _mug, _lid = _catalogue(tenant)
    with tenant_scope(tenant):
        newer = _order(1, sku="NEW-SKU", quantity=2)
        older = _order(2, sku="OLD-SKU", quantity=1)
        order_upsert_page(
            store=store,
            orders=[
                replace(newer, purchased_at=newer.purchased_at + timedelta(days=1)),
                older,
                _order(3, sku="OLD-SKU", quantity=4),
            ],
        )
        rows = list(mappings.unmapped_sku_list(tenant=tenant))
        assert [(r["channel_sku"], r["lines"], r["units"]) for r in rows] == [("OLD-SKU", 2, 5), ("NEW-SKU", 1, 2)]
        assert mappings.unmapped_summary(tenant=tenant) == mappings.UnmappedSummary(lines=3, skus=2)


def test_suggestions_by_exact_then_normalised_sku(owner_client: Client, tenant: Tenant) -> None:
    # given: lines that arrived before their products existed
    store, _mug, _lid = _catalogue(tenant)
    with tenant_scope(tenant):
        order_upsert_page(store=store, orders=[_order(1, sku="MUG-BLUE-01"), _order(2, sku="cup red/02")])
        exact = Product.objects.create(tenant=tenant, sku="MUG-BLUE-01", name="Blue mug")
        similar = Product.objects.create(tenant=tenant, sku="mug blue 01", name="Blue mug (old code)")
        red = Product.objects.create(tenant=tenant, sku="CUP-RED-02", name="Red cup")
        Product.objects.create(tenant=tenant, sku="CUP-RED-03", name="Another cup")

        # when
        found = mappings.mapping_suggestions(tenant=tenant, channel_skus=["MUG-BLUE-01", "cup red/02", "NOPE"])

    # then
    assert [(s.product, s.match) for s in found["MUG-BLUE-01"]] == [(exact, "exact"), (similar, "normalised")]
    assert [(s.product, s.match) for s in found["cup red/02"]] == [(red, "normalised")]
    assert "NOPE" not in found
    queue = owner_client.get(QUEUE_URL).content.decode()
    assert "Map to MUG-BLUE-01" in queue and "Map to CUP-RED-02" in queue and "similar SKU" in queue

    # and: one click on a suggestion maps it and the line reserves
    with tenant_scope(tenant):
        warehouse = Warehouse.objects.get()
        services.stock_receive(product=red, warehouse=warehouse, quantity=1)
    owner_client.post(
        MAP_URL,
        {"store": store.pk, "channel_sku": "cup red/02", "channel_product_id": "", "product": "CUP-RED-02",
         "quantity_multiplier": 1},
    )  # fmt: skip
    with tenant_scope(tenant):
        assert OrderLine.objects.get(external_id="L2").stock_state == AllocationState.RESERVED


def test_the_map_page_without_javascript_shows_errors(owner_client: Client, tenant: Tenant) -> None:
    store, _mug, _lid = _catalogue(tenant)
    page = owner_client.get(MAP_URL, {"store": store.pk, "channel_sku": "AMZ-X"})
    assert page.status_code == 200 and "AMZ-X" in page.content.decode()
    bad = owner_client.post(
        MAP_URL, {"store": store.pk, "channel_sku": "AMZ-X", "product": "NOPE", "quantity_multiplier": 1}
    )
    assert bad.status_code == 400 and "No product has this SKU." in bad.content.decode()
    assert owner_client.get(MAP_URL, {"store": "abc"}).status_code == 404


# --- roles and other tenants -----------------------------------------------------------------------------


def test_finance_reads_and_downloads_but_changes_nothing(
    tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable[..., Client]
) -> None:
    store, mug, _lid = _catalogue(tenant)
    with tenant_scope(tenant):
        mapping = services.mapping_create(store=store, product=mug, channel_sku="AMZ-MUG")
    finance = client_for(make_member(tenant, Role.FINANCE))
    page = finance.get(LIST_URL).content.decode()
    assert "AMZ-MUG" in page and "Add a mapping" not in page and "Import CSV" not in page
    assert finance.get(QUEUE_URL).status_code == 200
    assert b"AMZ-MUG" in _export(finance)
    refused = [
        finance.post(reverse("inventory:mapping-create"), {"store": store.pk, "channel_sku": "X", "product": "SKU-1"}),
        finance.get(reverse("inventory:mapping-edit", args=[mapping.pk])),
        finance.post(reverse("inventory:mapping-edit", args=[mapping.pk]), {}),
        finance.post(reverse("inventory:mapping-delete", args=[mapping.pk])),
        finance.get(IMPORT_URL),
        _upload(finance, HEADER + "Amazon US,X,,,SKU-1,1\n"),
        finance.post(MAP_URL, {"store": store.pk, "channel_sku": "X", "product": "SKU-1", "quantity_multiplier": 1}),
    ]
    assert [response.status_code for response in refused] == [403] * len(refused)
    support = client_for(make_member(tenant, Role.SUPPORT))
    assert support.get(LIST_URL).status_code == 403 and support.get(QUEUE_URL).status_code == 403
    with tenant_scope(tenant):
        assert list(SkuMapping.objects.values_list("channel_sku", flat=True)) == ["AMZ-MUG"]


def test_another_tenants_mappings_stores_and_products_are_out_of_reach(
    owner_client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    # given: tenant B with its own store, product, mapping and waiting line
    _catalogue(tenant)
    their_store, their_mug, _lid = _catalogue(other_tenant, store_name="Beta Amazon")
    with tenant_scope(other_tenant):
        theirs = services.mapping_create(store=their_store, product=their_mug, channel_sku="THEIR-SKU")
        order_upsert_page(store=their_store, orders=[_order(9, sku="THEIR-UNMAPPED")])

    # then: A sees none of it, and cannot reach or use any of it
    assert "THEIR-SKU" not in owner_client.get(LIST_URL, {"q": "THEIR"}).content.decode()
    assert "THEIR-UNMAPPED" not in owner_client.get(QUEUE_URL).content.decode()
    assert b"THEIR-SKU" not in _export(owner_client)
    for name, method in (
        ("mapping-edit", "get"),
        ("mapping-edit", "post"),
        ("mapping-row", "get"),
        ("mapping-delete", "post"),
    ):
        url = reverse(f"inventory:{name}", args=[theirs.pk])
        assert getattr(owner_client, method)(url, **HTMX).status_code == 404
    assert owner_client.get(MAP_URL, {"store": their_store.pk, "channel_sku": "X"}).status_code == 404
    mapped = owner_client.post(
        MAP_URL,
        {"store": their_store.pk, "channel_sku": "THEIR-UNMAPPED", "product": "SKU-1", "quantity_multiplier": 1},
    )
    assert mapped.status_code == 400
    created = owner_client.post(
        reverse("inventory:mapping-create"),
        {"store": their_store.pk, "channel_sku": "X", "product": "SKU-1", "quantity_multiplier": 1},
    )
    assert created.status_code == 400
    response = _upload(owner_client, HEADER + "Beta Amazon,X,,,SKU-1,1\nAmazon US,Y,,,SKU-1,1\n")
    assert response.status_code == 400 and "No store of this company is named Beta Amazon." in response.content.decode()
    with tenant_scope(tenant):
        result = mapping_csv.mapping_import(tenant=tenant, data=(HEADER + "Amazon US,X,,,SKU-1,1\n").encode())
        assert result.imported  # A's own SKU-1, never B's product of the same SKU
        assert SkuMapping.objects.get().product.tenant_id == tenant.pk
        with pytest.raises(ValidationError, match="another company"):
            mappings.mapping_delete(tenant=tenant, mapping=theirs)
    with tenant_scope(other_tenant):
        assert SkuMapping.objects.get().channel_sku == "THEIR-SKU"
        assert LineAllocation.objects.get().state == AllocationState.UNMAPPED
