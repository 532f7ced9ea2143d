"""The console's settlement upload: imports into one of the company's Amazon stores, shows line and column,
refuses other tenants' stores, and is for owner, admin and finance only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from finance.models import Settlement, SettlementSource, SettlementUpload
from finance.models import SettlementLine as StoredLine
from finance.tasks import import_settlement_upload_task
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "settlements"
URL = "/app/finance/settlements/upload/"


def _upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (FIXTURES / name).read_bytes(), content_type="text/tab-separated-values")


@pytest.fixture
def store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, name="Amazon NA", marketplaces=["US"])


def test_the_url_name(store: Store) -> None:
    assert reverse("finance:settlement-upload") == URL


def test_an_upload_imports_and_opens_the_settlement_page(tenant: Tenant, store: Store, owner_client: Client) -> None:
    # given
    assert owner_client.get(URL).status_code == 200
    # when
    response = owner_client.post(URL, {"store": store.pk, "file": _upload("us_settlement.tsv")})
    # then
    with tenant_scope(tenant):
        settlement = Settlement.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("finance:settlement-detail", kwargs={"settlement_pk": settlement.pk})
    assert settlement.source == SettlementSource.UPLOAD and settlement.source_reference == "us_settlement.tsv"
    assert settlement.imported_by is not None and settlement.line_count == 19
    again = owner_client.post(URL, {"store": store.pk, "file": _upload("us_settlement.tsv")}, follow=False)
    assert again.status_code == 302
    with tenant_scope(tenant):
        assert Settlement.objects.count() == 1 and StoredLine.objects.count() == 19


def test_a_corrupted_file_shows_line_and_column_and_saves_nothing(
    tenant: Tenant, store: Store, owner_client: Client
) -> None:
    response = owner_client.post(URL, {"store": store.pk, "file": _upload("us_settlement_corrupted.tsv")})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was saved" in page and "<code>amount</code>" in page and "line 7, column 15 (amount)" in page
    with tenant_scope(tenant):
        assert not Settlement.objects.exists()


def test_another_tenants_store_is_not_offered_and_refused(
    tenant: Tenant, other_tenant: Tenant, owner_client: Client, store: Store
) -> None:
    with tenant_scope(other_tenant):
        theirs = StoreFactory(tenant=other_tenant, name="Their Amazon", marketplaces=["US"])
    assert "Their Amazon" not in owner_client.get(URL).content.decode()
    response = owner_client.post(URL, {"store": theirs.pk, "file": _upload("us_settlement.tsv")})
    assert response.status_code == 400 and "store" in response.context["form"].errors
    with tenant_scope(other_tenant):
        assert not Settlement.objects.exists()


def test_only_amazon_stores_are_offered(tenant: Tenant, store: Store, owner_client: Client) -> None:
    with tenant_scope(tenant):
        shop = StoreFactory(tenant=tenant, platform="shopify", name="My Shopify", region="", marketplaces=[])
    form = owner_client.get(URL).context["form"]
    assert list(form.fields["store"].queryset) == [store] and shop.pk


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.OWNER, 200), (Role.ADMIN, 200), (Role.FINANCE, 200), (Role.SUPPORT, 403), (Role.OPERATOR, 403)],
)
def test_who_may_upload(
    tenant: Tenant,
    store: Store,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
    role: str,
    status: int,
) -> None:
    client = client_for(make_member(tenant, role))
    assert client.get(URL).status_code == status
    response = client.post(URL, {"store": store.pk, "file": _upload("us_settlement.tsv")})
    assert response.status_code == (302 if status == 200 else 403)


# --- a large file: a worker imports it, its page follows ---------------------------------------------------


def test_a_large_file_is_imported_by_a_worker_and_its_page_follows_it(
    tenant: Tenant,
    other_tenant: Tenant,
    store: Store,
    owner_client: Client,
    other_owner: Membership,
    client_for: Callable[[Membership], Client],
    settings: Any,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a limit below the file's size
    settings.ACORN_SETTLEMENT_INLINE_BYTES = 100
    # when the file is uploaded
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(URL, {"store": store.pk, "file": _upload("us_settlement.tsv")})
    # then nothing is imported yet; the page says it waits and polls
    with tenant_scope(tenant):
        upload = SettlementUpload.objects.get()
        assert not Settlement.objects.exists() and upload.status == SettlementUpload.Status.QUEUED
    status_url = reverse("finance:settlement-upload-status", kwargs={"upload_pk": upload.pk})
    assert response.status_code == 302 and response["Location"] == status_url
    page = owner_client.get(status_url).content.decode()
    assert "Waiting for a worker" in page and 'hx-trigger="every 2s"' in page
    assert client_for(other_owner).get(status_url).status_code == 404
    assert [(task.name, kwargs) for task, kwargs in enqueued] == [
        ("finance.import_settlement_upload", {"tenant_id": tenant.pk, "upload_id": upload.pk})
    ]
    # when the worker runs it (twice: the second finds it done)
    assert enqueued.run_all() == ["done"]
    assert import_settlement_upload_task(tenant_id=tenant.pk, upload_id=upload.pk) == "done"
    # then the settlement is there, the stored file is gone, and the page links to it and stops polling
    with tenant_scope(tenant):
        settlement = Settlement.objects.get()
        upload.refresh_from_db()
        assert settlement.line_count == 19 and upload.settlement == settlement and upload.created
        assert not upload.document
    partial = owner_client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert reverse("finance:settlement-detail", kwargs={"settlement_pk": settlement.pk}) in partial
    assert "hx-trigger" not in partial and "19 lines" in partial


def test_a_large_corrupted_file_is_refused_by_the_worker_with_line_and_column(
    tenant: Tenant, store: Store, owner_client: Client, settings: Any, enqueued: EnqueuedTasks
) -> None:
    settings.ACORN_SETTLEMENT_INLINE_BYTES = 100
    owner_client.post(URL, {"store": store.pk, "file": _upload("us_settlement_corrupted.tsv")})
    with tenant_scope(tenant):
        upload = SettlementUpload.objects.get()
    assert import_settlement_upload_task(tenant_id=tenant.pk, upload_id=upload.pk) == "failed"
    page = owner_client.get(reverse("finance:settlement-upload-status", kwargs={"upload_pk": upload.pk})).content
    text = page.decode()
    assert "Nothing was saved" in text and "<code>amount</code>" in text and ">7<" in text
    with tenant_scope(tenant):
        assert not Settlement.objects.exists()
