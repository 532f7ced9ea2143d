"""A sync run's log lines carry its trace id, tenant and store: the same trace id the store page shows."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from acorn import logcontext
from acorn.tenancy.models import Tenant
from channels.adapters.base import Page
from channels.models import Store
from tests import test_logging
from tests.channels import test_sync_engine
from tests.channels.test_sync_engine import T0, make_order, run
from tests.test_logging import CapturedLog

# The fixtures of the engine's tests (a store with credentials, the scripted adapter) and the JSON log capture.
store, scripted, json_log = test_sync_engine.store, test_sync_engine.scripted, test_logging.json_log

pytestmark = pytest.mark.django_db


def test_every_line_of_a_sync_run_carries_its_trace_id_tenant_and_store(
    tenant: Tenant,
    store: Store,
    scripted: Callable,
    json_log: CapturedLog,
    owner_client: Client,
) -> None:
    def vendor_answers() -> Page:
        # A vendor client's own log line, written while the call is out.
        logging.getLogger("sp_api.client").warning("vendor_call", extra={"access_token": "Atza|live"})
        return Page(items=(make_order(1),), window_end=T0 + timedelta(hours=1))

    scripted([vendor_answers])
    with logcontext.bound(trace_id="request-trace-0001"):
        result = run(store)

    lines = [
        line for line in json_log.lines() if line["message"] in {"sync_run_started", "vendor_call", "sync_run_finished"}
    ]
    assert [line["message"] for line in lines] == ["sync_run_started", "vendor_call", "sync_run_finished"]
    for line in lines:
        assert (line["trace_id"], line["tenant_id"], line["store_id"]) == (result.trace_id, tenant.pk, store.pk)
    assert lines[0]["parent_trace_id"] == "request-trace-0001"
    assert lines[1]["access_token"] == "[redacted]"
    assert logcontext.current_trace_id() == ""

    page = owner_client.get(reverse("channels:store-detail", args=[store.pk])).content.decode()
    assert result.trace_id in page
