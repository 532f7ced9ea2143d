"""A real worker consuming the exports queue writes an export job sent through the configured broker."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction

from acorn.celery import app
from acorn.exports.models import ExportJob
from acorn.exports.services import export_job_request
from acorn.tenancy.models import Membership, Tenant
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from orders.services import order_upsert_page
from tests.channels.test_sync_engine import make_order
from tests.factories import StoreFactory


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_the_exports_queue_writes_the_job(tenant: Tenant, owner: Membership) -> None:
    # given: orders, and a job queued on commit as the view does
    with tenant_scope(tenant):
        order_upsert_page(store=StoreFactory(tenant=tenant), orders=[make_order(n) for n in range(1, 4)])
    app.control.purge()

    # when: a worker that consumes only the exports queue is running. Selecting its queues changes the app's
    # queue set for the whole process (Celery's Queues.select); it is put back so later workers consume all.
    queues = app.amqp.queues
    consume_from = queues._consume_from
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=["exports"]):
            with tenant_scope(tenant), transaction.atomic():
                job = export_job_request(
                    tenant=tenant, membership=owner, kind="orders", file_format="csv", params={}, language="en"
                )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with dangerously_unscoped():
                    if ExportJob.objects.get(pk=job.pk).finished:
                        break
                time.sleep(0.2)
    finally:
        queues._consume_from = consume_from

    # then: the message went through the broker to the exports queue and the file was written
    with tenant_scope(tenant):
        job = ExportJob.objects.get(pk=job.pk)
        assert (job.status, job.row_count) == ("done", 3), job.error
        with job.document.open("rb") as handle:
            assert handle.read().decode("utf-8").count("111-000000") == 3
