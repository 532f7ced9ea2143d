"""Acting on stored webhooks: one worker claims an event (a second one handed it runs nothing), a failure is
retried with exponential backoff until the last attempt leaves it failed on the store page, the beat queues
what is due in every company, and a body as large as Shopify sends reaches the signature check whole."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import webhooks
from channels.models import Store, StoreCredential, WebhookEvent, WebhookStatus
from channels.tasks import dispatch_due_webhooks_task, process_webhook_event_task
from channels.webhooks import (
    WEBHOOK_MAX_ATTEMPTS,
    WEBHOOK_MAX_BODY_BYTES,
    webhook_event_process,
    webhook_event_record,
    webhook_retry_delay,
)
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
TOPIC = "acorn/test"


def _shop(tenant: Tenant, domain: str = "acme.myshopify.com") -> Store:
    with tenant_scope(tenant):
        store = StoreFactory(
            tenant=tenant, platform="shopify", name=f"Shopify {domain}", region="", marketplaces=[], seller_id=domain
        )
        StoreCredential.objects.create(tenant=tenant, store=store, secrets={"access_token": "shpat_x"})
    return store


def _event(store: Store, event_id: str = "e-1", **fields: Any) -> WebhookEvent:
    with tenant_scope(store.tenant):
        event, _created = webhook_event_record(store=store, topic=TOPIC, event_id=event_id, payload=b'{"id": 1}')
        if fields:
            WebhookEvent.objects.filter(pk=event.pk).update(**fields)
            event.refresh_from_db()
    return event


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[Store, WebhookEvent, Any], bool]]:
    """The handlers of TOPIC, replaced per test; the list holds the one that runs."""
    slot: list[Callable[[Store, WebhookEvent, Any], bool]] = [lambda store, event, payload: True]
    monkeypatch.setattr(
        webhooks, "_HANDLERS", [webhooks._Registration("shopify", frozenset({TOPIC}), lambda *a: slot[0](*a))]
    )
    return slot


def _process(event: WebhookEvent) -> str:
    with tenant_scope(event.store.tenant):
        return webhook_event_process(event=WebhookEvent.objects.get(pk=event.pk))


def _reload(event: WebhookEvent) -> WebhookEvent:
    with scopes_disabled():
        return WebhookEvent.objects.get(pk=event.pk)


# --- claim ---------------------------------------------------------------------------------------------


def test_a_second_worker_handed_an_event_another_is_processing_runs_nothing(tenant: Tenant, handler: list) -> None:
    # given an event, and a handler during which a second task for the same event starts
    event = _event(_shop(tenant))
    runs: list[str] = []

    def slow_handler(store: Store, current: WebhookEvent, payload: Any) -> bool:
        runs.append("handler")
        assert _reload(event).status == WebhookStatus.PROCESSING
        runs.append(_process(event))  # the duplicate task, while the first one is still working
        return True

    handler[0] = slow_handler
    # when
    outcome = _process(event)
    # then the handler ran once, the duplicate saw the claim, and the event is done
    assert (outcome, runs) == (WebhookStatus.PROCESSED, ["handler", "already_claimed"])
    assert _process(event) == "already_claimed"
    stored = _reload(event)
    assert (stored.status, stored.attempts, stored.next_attempt_at) == (WebhookStatus.PROCESSED, 1, None)
    assert stored.processed_at is not None and "redacted" in stored.payload


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_concurrent_tasks_for_one_event_run_its_handlers_once_on_postgresql(tenant: Tenant, handler: list) -> None:
    # given one event and six tasks for it released at once
    event = _event(_shop(tenant))
    ran: list[int] = []

    def counting(store: Store, current: WebhookEvent, payload: Any) -> bool:
        ran.append(current.pk)
        return True

    handler[0] = counting
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def task() -> None:
        try:
            start.wait()
            outcomes.append(process_webhook_event_task(tenant_id=tenant.pk, event_id=event.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=task) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # then
    assert ran == [event.pk]
    assert sorted(outcomes) == ["already_claimed"] * 5 + [WebhookStatus.PROCESSED]


# --- retries -------------------------------------------------------------------------------------------


def test_retry_delays_double_from_a_minute_up_to_six_hours() -> None:
    delays = [webhook_retry_delay(attempt).total_seconds() for attempt in range(1, WEBHOOK_MAX_ATTEMPTS)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3840, 7680, 15360]
    assert webhook_retry_delay(12) == timedelta(hours=6)


def test_a_failing_handler_is_retried_with_backoff_then_failed_and_shown_on_the_store_page(
    tenant: Tenant, handler: list, owner_client: Client
) -> None:
    # given a compliance-like event whose handler keeps failing
    store = _shop(tenant)
    event = _event(store)
    attempts: list[int] = []

    def failing(store: Store, current: WebhookEvent, payload: Any) -> bool:
        attempts.append(current.attempts)
        raise RuntimeError("database is locked")

    handler[0] = failing
    # when the first attempt fails
    before = timezone.now()
    assert _process(event) == WebhookStatus.RETRYING
    # then it waits a minute, is not claimed before then, and the page says so
    stored = _reload(event)
    assert (stored.status, stored.attempts, stored.error) == (
        WebhookStatus.RETRYING,
        1,
        "RuntimeError: database is locked",
    )
    assert before + timedelta(seconds=60) <= stored.next_attempt_at <= timezone.now() + timedelta(seconds=60)
    assert _process(event) == "already_claimed" and attempts == [1]
    page = owner_client.get(reverse("channels:store-detail", args=[store.pk])).content.decode()
    assert "Waiting to retry" in page and "database is locked" in page

    # when every later attempt comes due and fails too
    for attempt in range(2, WEBHOOK_MAX_ATTEMPTS + 1):
        with scopes_disabled():
            WebhookEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        expected = WebhookStatus.FAILED if attempt == WEBHOOK_MAX_ATTEMPTS else WebhookStatus.RETRYING
        assert _process(event) == expected
    # then it ran exactly WEBHOOK_MAX_ATTEMPTS times and stays failed, visibly
    stored = _reload(event)
    assert attempts == list(range(1, WEBHOOK_MAX_ATTEMPTS + 1))
    assert (stored.status, stored.attempts, stored.next_attempt_at) == (
        WebhookStatus.FAILED,
        WEBHOOK_MAX_ATTEMPTS,
        None,
    )
    assert _process(event) == "already_claimed"
    page = owner_client.get(reverse("channels:store-detail", args=[store.pk])).content.decode()
    assert "Failed" in page


def test_a_retry_that_succeeds_is_processed_and_its_error_cleared(tenant: Tenant, handler: list) -> None:
    event = _event(_shop(tenant))
    outcomes = iter([RuntimeError("flaky"), True])

    def once_failing(store: Store, current: WebhookEvent, payload: Any) -> bool:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    handler[0] = once_failing
    assert _process(event) == WebhookStatus.RETRYING
    with scopes_disabled():
        WebhookEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert _process(event) == WebhookStatus.PROCESSED
    stored = _reload(event)
    assert (stored.status, stored.attempts, stored.error, stored.next_attempt_at) == (
        WebhookStatus.PROCESSED,
        2,
        "",
        None,
    )


# --- the beat's dispatch -------------------------------------------------------------------------------


def test_the_beat_queues_due_retries_lapsed_claims_and_lost_events_in_every_company(
    tenant: Tenant, other_tenant: Tenant, enqueued: Any, handler: list
) -> None:
    # given events in two companies in every state
    now = timezone.now()
    mine, theirs = _shop(tenant), _shop(other_tenant, "other.myshopify.com")
    past, future = now - timedelta(seconds=1), now + timedelta(minutes=5)
    due = [
        _event(mine, "retry-due", status=WebhookStatus.RETRYING, attempts=1, next_attempt_at=past),
        _event(theirs, "claim-lapsed", status=WebhookStatus.PROCESSING, attempts=1, next_attempt_at=past),
        _event(theirs, "lost", received_at=now - timedelta(minutes=10)),
    ]
    _event(mine, "retry-later", status=WebhookStatus.RETRYING, attempts=1, next_attempt_at=future)
    _event(mine, "working", status=WebhookStatus.PROCESSING, attempts=1, next_attempt_at=future)
    _event(mine, "just-arrived")
    _event(mine, "done", status=WebhookStatus.PROCESSED, attempts=1)
    _event(theirs, "gave-up", status=WebhookStatus.FAILED, attempts=WEBHOOK_MAX_ATTEMPTS)
    enqueued.clear()
    # when the beat runs, outside any scope
    assert dispatch_due_webhooks_task() == 3
    # then exactly the due events were queued, each with its own company, and each runs once
    assert sorted((kwargs["tenant_id"], kwargs["event_id"]) for _task, kwargs in enqueued) == sorted(
        (event.tenant_id, event.pk) for event in due
    )
    assert enqueued.run_all() == [WebhookStatus.PROCESSED] * 3
    assert dispatch_due_webhooks_task() == 0


# --- body size -----------------------------------------------------------------------------------------


def _sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _post(body: bytes, signature: str, event_id: str) -> Any:
    return Client().post(
        reverse("webhook-shopify"),
        data=body,
        content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=signature,
        HTTP_X_SHOPIFY_SHOP_DOMAIN="acme.myshopify.com",
        HTTP_X_SHOPIFY_TOPIC="orders/updated",
        HTTP_X_SHOPIFY_EVENT_ID=event_id,
    )


def _body_of(size: int) -> bytes:
    head = b'{"id": 1001, "note": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


def test_a_body_as_large_as_shopify_sends_reaches_the_signature_check(tenant: Tenant, enqueued: Any) -> None:
    # given a shop and a signed body above both Shopify's inline maximum (1,000,000 bytes) and Django's
    # site-wide request limit (DATA_UPLOAD_MAX_MEMORY_SIZE)
    _shop(tenant)
    size = max(1_000_000, settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + 1024
    body = _body_of(size)
    # when it arrives signed, and again with a forged signature
    signed = _post(body, _sign(body, settings.SHOPIFY_API_SECRET), "big-1")
    forged = _post(body, _sign(body, "not-the-secret"), "big-2")
    # then the signed one is stored whole, the forged one is refused by the signature check
    assert signed.status_code == 200, signed.content[:200]
    assert forged.status_code == 401
    with scopes_disabled():
        [event] = WebhookEvent.objects.all()
    assert len(event.payload) == size and json.loads(event.payload)["id"] == 1001


def test_a_body_over_the_limit_is_refused_whole_and_stores_nothing(tenant: Tenant, enqueued: Any) -> None:
    _shop(tenant)
    body = _body_of(WEBHOOK_MAX_BODY_BYTES + 1)
    response = _post(body, _sign(body, settings.SHOPIFY_API_SECRET), "huge")
    assert response.status_code == 413
    with scopes_disabled():
        assert not WebhookEvent.objects.exists()
