"""In the browser, the daily work: find an order and export it, import SKU mappings (a refused file first), import
products from CSV, and a refund requested by one person, approved by two others (one in the console, one in the
Django admin) and executed on Shopify."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from inventory.models import Product, SkuMapping
from orders.models import Order
from refunds import approvals
from refunds.models import Refund, RefundStatus
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.channels import test_shopify_e2e as shop_e2e
from tests.channels.test_amazon_e2e import NOW, _sync_until_done
from tests.conftest import EnqueuedTasks
from tests.e2e.conftest import shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(e2e_settings: Any, tenant: Tenant) -> Iterator[tuple[SimulatorServer, Store]]:
    """A Shopify shop with a few weeks of orders, connected and synced."""
    world = World(seed=5, clock=ManualClock(NOW), orders_per_day=3, history_days=15, malformed_rate=0)
    with SimulatorServer(seed=5, faults="none", world=world) as sim:
        sim.shopify.add_shop(shop_e2e.SHOP, currency="EUR", orders_per_day=3, history_days=15)
        store = shop_e2e._connect(tenant, sim)
        _sync_until_done(store)
        yield sim, store


def _upload(page: Any, path: str, name: str, content: str) -> None:
    page.goto(path)
    page.set_input_files("input[type=file]", {"name": name, "mimeType": "text/csv", "buffer": content.encode()})
    with page.expect_navigation():
        page.click("main form[enctype] button[type=submit]")


def _queued(enqueued: EnqueuedTasks) -> list[str]:
    return [task.name for task, _ in enqueued]


def test_order_search_export_and_a_sku_mapping_import_refused_then_accepted(
    live_server: Any,
    tenant: Tenant,
    owner: Membership,
    shop: tuple[SimulatorServer, Store],
    new_page: Callable[..., Any],
    tmp_path: Path,
) -> None:
    _, store = shop
    base = live_server.url
    with tenant_scope(tenant):
        order = Order.objects.filter(store=store).order_by("-purchased_at").first()
        assert order is not None
        line = order.lines.order_by("pk").first()
        total = Order.objects.filter(store=store).count()
    page = new_page()
    sign_in(page, base, owner.user.email)

    # search by the order's number typed with "#", as sellers copy it from Shopify's admin
    page.goto(f"{base}/app/orders/")
    page.fill("input[name=q]", f"#{order.external_id}")
    with page.expect_navigation():
        page.press("input[name=q]", "Enter")
    rows = page.locator("main table tbody tr")
    assert rows.count() == 1 and order.external_id in rows.first.inner_text()
    shot(page, "en_orders_search")

    # the export takes the search along: one order in the file
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    saved = tmp_path / "orders.csv"
    download.value.save_as(saved)
    exported = list(csv.DictReader(io.StringIO(saved.read_text("utf-8-sig"))))
    assert exported and {row.get("order_id") or next(iter(row.values())) for row in exported} <= {order.external_id}
    assert total > 1

    # a mapping file with two bad rows: nothing is saved and each problem names its line and column
    with tenant_scope(tenant):
        Product.objects.create(tenant=tenant, sku="MUG-1", name="Mug")
    header = "store,channel_sku,master_sku,quantity_multiplier\n"
    good = f"{store.name},{line.sku},MUG-1,1\n"
    bad = f"{store.name},OTHER-SKU,NO-SUCH-SKU,1\nNowhere Store,X-1,MUG-1,0\n"
    _upload(page, f"{base}/app/inventory/mappings/import/", "mappings.csv", header + good + bad)
    problems = page.locator("#import-problems")
    assert "Nothing was saved" in problems.inner_text()
    text = problems.locator("tbody").inner_text()
    assert "NO-SUCH-SKU" in text and "Nowhere Store" in text
    assert problems.locator("tbody tr").count() >= 2
    shot(page, "en_mapping_import_errors")
    with tenant_scope(tenant):
        assert not SkuMapping.objects.exists()

    # the corrected file goes in whole
    _upload(page, f"{base}/app/inventory/mappings/import/", "mappings.csv", header + good)
    assert not page.locator("#import-problems").count()
    with tenant_scope(tenant):
        assert SkuMapping.objects.filter(channel_sku=line.sku, product__sku="MUG-1").count() == 1


def test_product_csv_import_refused_with_its_errors_then_imported(
    live_server: Any, tenant: Tenant, owner: Membership, new_page: Callable[..., Any]
) -> None:
    base = live_server.url
    page = new_page()
    sign_in(page, base, owner.user.email)
    header = "sku,name,unit_cost,cost_currency,weight_grams,low_stock_threshold,active\n"
    rows = "".join(f"CABLE-{n},USB cable {n},3.20,CNY,40,5,yes\n" for n in range(1, 6))
    broken = "MUG-1,Mug,abc,CNY,300,5,yes\nLID-1,Lid,1.00,XXX,20,5,maybe\n"

    _upload(page, f"{base}/app/inventory/import/", "products.csv", header + rows + broken)
    problems = page.locator("#import-problems")
    assert "Nothing was saved" in problems.inner_text()
    lines = problems.locator("tbody tr")
    assert lines.count() >= 3  # unit_cost on line 7, cost_currency and active on line 8
    assert {"7", "8"} <= {lines.nth(i).locator("td").first.inner_text() for i in range(lines.count())}
    shot(page, "en_product_import_errors")
    with tenant_scope(tenant):
        assert not Product.objects.exists()

    _upload(page, f"{base}/app/inventory/import/", "products.csv", header + rows)
    assert not page.locator("#import-problems").count()
    page.goto(f"{base}/app/inventory/")
    assert page.get_by_text("CABLE-5").first.is_visible()
    with tenant_scope(tenant):
        assert Product.objects.count() == 5
        assert Product.objects.get(sku="CABLE-3").unit_cost_amount == Decimal("3.20")


def test_refund_requested_approved_in_the_console_and_the_admin_then_executed(
    live_server: Any,
    tenant: Tenant,
    make_member: Callable[..., Membership],
    shop: tuple[SimulatorServer, Store],
    enqueued: EnqueuedTasks,
    new_page: Callable[..., Any],
) -> None:
    sim, store = shop
    base = live_server.url
    people = {
        role: make_member(tenant, role, f"{role}@alpha.example") for role in (Role.OPERATOR, Role.FINANCE, Role.ADMIN)
    }
    paid = {
        str(o["legacy_id"])
        for o in sim.shopify.visible_orders(shop_e2e.SHOP)
        if o["financial_status"] == "PAID" and o["presentment_currency"] == "EUR"
    }
    with tenant_scope(tenant):
        approvals.policy_update(
            tenant=tenant,
            one_approval_from=Decimal(0),
            two_approvals_from=Decimal(0),
            approver_roles=approvals.approver_roles_possible(),
            actor=None,
        )
        order = Order.objects.filter(store=store, external_id__in=paid).order_by("pk").first()
        assert order is not None
    refunds_before = len(sim.shopify.refunds(shop_e2e.SHOP))

    # the operator requests one unit back from the order's page
    operator = new_page()
    sign_in(operator, base, people[Role.OPERATOR].user.email)
    operator.goto(f"{base}/app/orders/{order.pk}/")
    with operator.expect_navigation():
        operator.get_by_role("link", name="Request a refund").first.click()
    operator.locator("main form input[name^=line_]:not([disabled])").first.fill("1")
    operator.select_option("main form select[name=tag]", index=1)  # the first reason after "Choose a reason"
    note = operator.locator("main form textarea").first
    if note.count():
        note.fill("Arrived broken")
    with operator.expect_navigation():
        operator.get_by_role("button", name="Request the refund").click()
    with tenant_scope(tenant):
        refund = Refund.objects.get(order=order, origin="console")
    assert refund.status == RefundStatus.PENDING_APPROVAL and refund.approvals_required == 2
    assert "/accounts/login/" not in operator.url

    # the finance person approves in the console: 1 of 2, nothing is sent yet
    finance = new_page()
    sign_in(finance, base, people[Role.FINANCE].user.email)
    finance.goto(f"{base}/app/refunds/approvals/")
    shot(finance, "en_approvals_pending")
    finance.goto(f"{base}/app/refunds/{refund.pk}/")
    with finance.expect_navigation():
        finance.get_by_role("button", name="Approve").click()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING_APPROVAL and "refunds.execute_refund" not in _queued(enqueued)

    # the admin approves on the refund's page in the Django admin: approved, and the execution is queued
    admin = new_page()
    sign_in(admin, base, people[Role.ADMIN].user.email)
    admin.goto(f"{base}/admin/refunds/refund/")
    shot(admin, "en_admin_refund_changelist")
    width = admin.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the admin's refund list is {width} px wide"
    # every column in view: the results table is no wider than its box (Django lets it scroll sideways)
    table, box = admin.evaluate(
        "[document.querySelector('#result_list').scrollWidth,"
        " document.querySelector('#changelist .results').clientWidth]"
    )
    assert table <= box, f"the admin's refund list hides columns: table {table} px in a {box} px box"
    admin.goto(f"{base}/admin/refunds/refund/{refund.pk}/change/")
    with admin.expect_navigation():
        admin.click("input[name=approve]")
    assert "approved" in admin.locator(".messagelist").inner_text().lower()
    shot(admin, "en_admin_refund_approved")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.APPROVED

    # the worker executes it on Shopify; the console shows it done
    assert _queued(enqueued).count("refunds.execute_refund") == 1
    enqueued.run_all()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.channel_refund_id
    assert len(sim.shopify.refunds(shop_e2e.SHOP)) == refunds_before + 1
    finance.goto(f"{base}/app/refunds/{refund.pk}/")
    shot(finance, "en_refund_executed")
    assert refund.get_status_display() in finance.locator("main").inner_text()
