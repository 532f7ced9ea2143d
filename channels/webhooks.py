"""Webhooks from Shopify and WooCommerce: verified on the raw body, stored once, acted on by a task.

* Shopify signs with the app's client secret: base64 HMAC-SHA256 of the raw body in X-Shopify-Hmac-Sha256.
  A bad signature gets 401 and nothing is stored (Shopify's compliance checks require exactly that).
  The shop is named by X-Shopify-Shop-Domain; X-Shopify-Event-Id identifies the event across retries.
* WooCommerce signs with the secret ACORN gave the webhook, in X-WC-Webhook-Signature; the URL carries the
  store's webhook key so the secret can be found. The unsigned ping sent when a webhook is created
  (`webhook_id=<id>`, form-encoded) gets 200 and nothing else. X-WC-Webhook-Delivery-ID identifies it.

A verified delivery becomes a WebhookEvent — (store, event id) unique, so a duplicate only counts a
delivery — and a task acts on it after the commit. The answer goes back at once (Shopify gives up after
5 s). Domain apps register what a topic does (`register_webhook_handler`); the scheduled poll stays the
backstop, so a webhook that never arrives only delays a change until the next sync.

Acting on an event starts with claiming it: one conditional UPDATE moves it from received (or a retry that
is due) to processing, so of two workers handed the same event only one runs its handlers. A handler that
fails leaves the event waiting to retry with exponential backoff (WEBHOOK_MAX_ATTEMPTS in all) — Shopify's
compliance topics have no poll to fall back on — and then failed, shown on the store page. The beat's
`dispatch_due_webhooks` queues the retries that are due, claims whose worker died, and events whose task was
lost. Handlers must be safe to run again (upserts), as a retry runs all of them again.

A closed account (inactive, in its grace period) gets its deliveries answered but not stored, except Shopify's
compliance topics: those are stored and acted on by their own task (the tenant tasks skip inactive tenants),
and the beat queues nothing else of a closed account, so its events never crowd out everyone else's.

The body is read here up to WEBHOOK_MAX_BODY_BYTES, not through `request.body`, whose site-wide limit
(DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB by default) would answer 400 before the signature check; a larger body
is refused whole (413) and never cut short, since a truncated body can only fail the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext_noop
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from acorn.audit.services import audit_record
from acorn.notifications.messages import message
from acorn.notifications.services import notify
from acorn.tasks import enqueue_now, enqueue_on_commit
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels.models import Platform, QuarantinedRecord, Store, StoreStatus, WebhookEvent, WebhookStatus
from channels.services import store_uninstalled

logger = logging.getLogger(__name__)

# Shopify sends webhook bodies inline up to 1,000,000 bytes and a bare {"id": …} above that (shopify.dev
# changelog, 2026-11-17, "Amazon EventBridge webhook payload size limit increased to 1 MB": "Payloads over
# 1,000,000 bytes keep the existing fallback behavior: classic webhooks send {"id": ...}"; Shopify staff on
# community.shopify.com, "Webhook requests exceed max size": bodies "can be upwards of a megabyte"). Five
# times that leaves room for WooCommerce orders with many lines, and is checked before anything is read.
WEBHOOK_MAX_BODY_BYTES = 5 * 1024 * 1024
# Retries after a failed attempt: 1, 2, 4 … minutes, at most six hours apart; failed after the tenth attempt
# (about 14 hours after the first).
WEBHOOK_MAX_ATTEMPTS = 10
WEBHOOK_RETRY_BASE_SECONDS = 60
WEBHOOK_RETRY_MAX_SECONDS = 6 * 3600
REDACTED_PAYLOAD = '{"redacted": "acted on; buyer details are not kept"}'
SHOPIFY_COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})


def signature_valid(body: bytes, secret: str, given: str) -> bool:
    """base64(HMAC-SHA256(body, secret)) compared in constant time (Shopify and WooCommerce alike)."""
    if not secret or not given:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, given.strip())


# --- what a topic does ---------------------------------------------------------------------------------

# handler(store, event, payload) -> True when acted on, False when there was nothing to do.
WebhookHandler = Callable[[Store, WebhookEvent, Any], bool]


@dataclass(frozen=True)
class _Registration:
    platform: str
    topics: frozenset[str]
    handler: WebhookHandler


_HANDLERS: list[_Registration] = []


def register_webhook_handler(platform: str, topics: set[str] | frozenset[str], handler: WebhookHandler) -> None:
    """Called from an AppConfig.ready(): `handler` acts on these topics of this platform."""
    _HANDLERS.append(_Registration(platform, frozenset(topics), handler))


def _handlers_for(platform: str, topic: str) -> list[WebhookHandler]:
    return [reg.handler for reg in _HANDLERS if reg.platform == platform and topic in reg.topics]


# --- receiving -----------------------------------------------------------------------------------------


def webhook_event_record(*, store: Store, topic: str, event_id: str, payload: bytes) -> tuple[WebhookEvent, bool]:
    """Store a verified delivery once; (event, created). A repeat only counts the delivery."""
    resource_id = ""
    try:
        decoded = json.loads(payload or b"null")
        if isinstance(decoded, dict):
            resource_id = str(decoded.get("order_id") or decoded.get("id") or "")[:100]
    except ValueError:
        pass
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                tenant_id=store.tenant_id,
                store=store,
                topic=topic[:60],
                event_id=event_id[:100],
                resource_id=resource_id,
                payload=payload.decode("utf-8", errors="replace"),
            )
    except IntegrityError:
        WebhookEvent.objects.filter(store=store, event_id=event_id[:100]).update(deliveries=F("deliveries") + 1)
        return WebhookEvent.objects.get(store=store, event_id=event_id[:100]), False
    # A closed account's tasks are skipped (TenantTask): its compliance deliveries have their own task.
    if store.tenant.is_active:
        enqueue_on_commit("channels.process_webhook_event", tenant_id=event.tenant_id, event_id=event.pk)
    else:
        enqueue_on_commit("channels.process_compliance_webhook_event", tenant_id=event.tenant_id, event_id=event.pk)
    return event, True


def webhook_delivery_accepted(*, store: Store, topic: str) -> bool:
    """Whether a verified delivery for this store is stored: always for an active account; for a closed one
    (in its grace period) only Shopify's compliance topics, which must still be acted on. Other deliveries
    of a closed account would wait forever (its tasks are skipped) and crowd the dispatcher."""
    if store.tenant.is_active:
        return True
    return topic in SHOPIFY_COMPLIANCE_TOPICS and store.tenant.data_deleted_at is None


def webhook_retry_delay(attempt: int) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1-based): doubling from a minute, capped."""
    return timedelta(seconds=min(WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1), WEBHOOK_RETRY_MAX_SECONDS))


def _claimable(now: datetime) -> Q:
    return Q(status=WebhookStatus.RECEIVED) | Q(
        status__in=[WebhookStatus.RETRYING, WebhookStatus.PROCESSING], next_attempt_at__lte=now
    )


def webhook_event_claim(*, event: WebhookEvent) -> int | None:
    """Claim the event for this worker (received, or a retry or lapsed claim that is due → processing) in one
    conditional UPDATE; the attempt number, or None when another worker has it or it is done."""
    now = timezone.now()
    claimed = (
        WebhookEvent.objects.filter(pk=event.pk)
        .filter(_claimable(now))
        .update(
            status=WebhookStatus.PROCESSING,
            attempts=F("attempts") + 1,
            next_attempt_at=now + timedelta(seconds=settings.ACORN_WEBHOOK_CLAIM_SECONDS),
        )
    )
    if not claimed:
        return None
    event.refresh_from_db(fields=["status", "attempts", "next_attempt_at", "payload"])
    return event.attempts


def webhook_event_process(*, event: WebhookEvent) -> str:
    """Claim the event, run the registered handlers of its topic, and record the outcome: processed or
    ignored; after a failure, waiting to retry (or failed after the last attempt). Returns the status, or
    "already_claimed" when another worker has the event or it is done."""
    attempt = webhook_event_claim(event=event)
    if attempt is None:
        return "already_claimed"
    mine = WebhookEvent.objects.filter(pk=event.pk, status=WebhookStatus.PROCESSING, attempts=attempt)
    store = event.store
    handlers = _handlers_for(store.platform, event.topic)
    try:
        payload = json.loads(event.payload or "null")
    except ValueError:
        payload = None
    try:
        acted = any([handler(store, event, payload) for handler in handlers])
    except Exception as error:  # any handler failure is retried; the event records it
        return _webhook_event_failed(event=event, mine=mine, attempt=attempt, error=error)
    status = WebhookStatus.PROCESSED if acted else WebhookStatus.IGNORED
    # The body carried buyer details ACORN does not keep (emails, addresses): once acted on, only the
    # topic, the ids and the outcome stay.
    mine.update(status=status, payload=REDACTED_PAYLOAD, processed_at=timezone.now(), next_attempt_at=None, error="")
    return status


def _webhook_event_failed(*, event: WebhookEvent, mine: Any, attempt: int, error: Exception) -> str:
    message = f"{type(error).__name__}: {error}"[:2000]
    context = {"tenant_id": event.tenant_id, "store_id": event.store_id, "event": event.pk, "topic": event.topic}
    if attempt >= WEBHOOK_MAX_ATTEMPTS:
        mine.update(status=WebhookStatus.FAILED, next_attempt_at=None, error=message)
        logger.error("webhook_failed", extra={**context, "attempts": attempt}, exc_info=error)
        return WebhookStatus.FAILED
    retry_at = timezone.now() + webhook_retry_delay(attempt)
    mine.update(status=WebhookStatus.RETRYING, next_attempt_at=retry_at, error=message)
    logger.warning(
        "webhook_retry", extra={**context, "attempt": attempt, "retry_at": retry_at.isoformat()}, exc_info=error
    )
    return WebhookStatus.RETRYING


def webhook_events_dispatch_due(*, limit: int = 1000) -> int:
    """Queue a task for each event that is due: a retry whose time has come, a claim whose worker is gone,
    or one received over ACORN_WEBHOOK_LOST_AFTER_SECONDS ago and never claimed (its task was lost). Returns the count.
    An event queued twice runs once: the task claims it first."""
    now = timezone.now()
    with dangerously_unscoped():  # the beat spans every tenant; each task re-enters its tenant's scope
        due = list(
            WebhookEvent.objects.filter(
                Q(
                    status=WebhookStatus.RECEIVED,
                    received_at__lte=now - timedelta(seconds=settings.ACORN_WEBHOOK_LOST_AFTER_SECONDS),
                )
                | Q(status__in=[WebhookStatus.RETRYING, WebhookStatus.PROCESSING], next_attempt_at__lte=now)
            )
            # A closed account's tasks are skipped, so its events would be queued again every minute ahead
            # of everyone else's: only its compliance events, still acted on during the grace period.
            .filter(
                Q(tenant__is_active=True) | Q(topic__in=SHOPIFY_COMPLIANCE_TOPICS, tenant__data_deleted_at__isnull=True)
            )
            .order_by("pk")
            .values_list("tenant_id", "pk", "tenant__is_active")[:limit]
        )
    for tenant_id, event_id, tenant_active in due:
        if tenant_active:
            enqueue_now("channels.process_webhook_event", tenant_id=tenant_id, event_id=event_id)
        else:
            enqueue_now("channels.process_compliance_webhook_event", tenant_id=tenant_id, event_id=event_id)
    return len(due)


def _webhook_body(request: HttpRequest) -> bytes | None:
    """The raw body, whole, up to WEBHOOK_MAX_BODY_BYTES; None when it is larger."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > WEBHOOK_MAX_BODY_BYTES:
        return None
    body = request.read(WEBHOOK_MAX_BODY_BYTES + 1)
    return body if len(body) <= WEBHOOK_MAX_BODY_BYTES else None


def _too_large(platform: str) -> HttpResponse:
    logger.warning("webhook_too_large", extra={"platform": platform, "limit": WEBHOOK_MAX_BODY_BYTES})
    return HttpResponse(status=413)


def _stores(platform: str, **lookup: Any) -> list[Store]:
    with dangerously_unscoped():  # the delivery names the shop, not the tenant
        return list(
            Store.objects.filter(platform=platform, **lookup)
            .exclude(status=StoreStatus.DISABLED)
            .select_related("tenant", "credential")
        )


def _store_secret(store: Store, name: str) -> str:
    try:
        secrets = store.credential.secrets
    except Exception:  # no credential row, or unreadable with the configured keys
        return ""
    return str(secrets.get(name) or "") if isinstance(secrets, dict) else ""


@csrf_exempt
@require_POST
def shopify_webhook_view(request: HttpRequest) -> HttpResponse:
    body = _webhook_body(request)
    if body is None:
        return _too_large("shopify")
    given = request.headers.get("X-Shopify-Hmac-Sha256") or request.headers.get("Shopify-Hmac-Sha256") or ""
    shop = (request.headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
    topic = (request.headers.get("X-Shopify-Topic") or "").strip()
    event_id = request.headers.get("X-Shopify-Event-Id") or request.headers.get("X-Shopify-Webhook-Id") or ""
    app_secrets = [settings.SHOPIFY_API_SECRET, *settings.SHOPIFY_API_SECRETS_OLD]
    stores = _stores(Platform.SHOPIFY, seller_id=shop) if shop else []
    # The app's secret signs for every shop; a custom app (pasted token) signs with its own secret.
    valid = any(signature_valid(body, secret, given) for secret in app_secrets) or any(
        signature_valid(body, _store_secret(store, "webhook_secret"), given) for store in stores
    )
    if not valid:
        logger.warning("webhook_bad_signature", extra={"platform": "shopify", "shop": shop[:100], "topic": topic})
        return HttpResponse(status=401)
    if not topic or not event_id:
        return HttpResponse(status=400)
    created_any = False
    accepted = [store for store in stores if webhook_delivery_accepted(store=store, topic=topic)]
    if stores and not accepted:
        logger.info("webhook_closed_account", extra={"shop": shop[:100], "topic": topic})
    for store in accepted:
        with tenant_scope(store.tenant), transaction.atomic():
            _event, created = webhook_event_record(store=store, topic=topic, event_id=event_id, payload=body)
            created_any = created_any or created
    if not stores:
        logger.info("webhook_unknown_shop", extra={"shop": shop[:100], "topic": topic})
    return JsonResponse({"received": True, "duplicate": bool(accepted) and not created_any})


@csrf_exempt
@require_POST
def woocommerce_webhook_view(request: HttpRequest, webhook_key: str) -> HttpResponse:
    body = _webhook_body(request)
    if body is None:
        return _too_large("woocommerce")
    given = request.headers.get("X-WC-Webhook-Signature") or ""
    if not given and body.startswith(b"webhook_id="):
        return HttpResponse(status=200)  # the ping Woo sends, unsigned, when a webhook is created
    stores = _stores(Platform.WOOCOMMERCE, webhook_key=webhook_key)
    store = stores[0] if stores else None
    if store is None or not signature_valid(body, _store_secret(store, "webhook_secret"), given):
        logger.warning("webhook_bad_signature", extra={"platform": "woocommerce", "key": webhook_key[:8]})
        return HttpResponse(status=401)
    topic = (request.headers.get("X-WC-Webhook-Topic") or "").strip()
    delivery = request.headers.get("X-WC-Webhook-Delivery-ID") or ""
    if not topic or not delivery:
        return HttpResponse(status=400)
    if not webhook_delivery_accepted(store=store, topic=topic):
        logger.info("webhook_closed_account", extra={"platform": "woocommerce", "topic": topic})
        return JsonResponse({"received": True, "duplicate": False})
    with tenant_scope(store.tenant), transaction.atomic():
        _event, created = webhook_event_record(store=store, topic=topic, event_id=f"delivery-{delivery}", payload=body)
    return JsonResponse({"received": True, "duplicate": not created})


# --- what channels itself does with a topic -------------------------------------------------------------


def _on_app_uninstalled(store: Store, event: WebhookEvent, payload: Any) -> bool:
    from django.utils.translation import gettext as _

    store_uninstalled(store=store, reason=_("Shopify reports that ACORN's app was uninstalled from the shop."))
    return True


def _on_shop_redact(store: Store, event: WebhookEvent, payload: Any) -> bool:
    """48 hours after an uninstall Shopify asks for the shop's data to go: tokens and stored webhook bodies
    are deleted, stored webhook bodies redacted and quarantined raw records deleted; orders stay, as the seller's
    own accounting records (they hold no buyer identity). Refunds registers its own handler that removes the
    buyer data of the store's refunds and returns (refunds/privacy.py)."""
    from django.utils.translation import gettext as _

    if store.status != StoreStatus.DISABLED:
        store_uninstalled(store=store, reason=_("Shopify asked ACORN to erase the shop's data (shop/redact)."))
    WebhookEvent.objects.filter(store=store).exclude(pk=event.pk).update(payload=REDACTED_PAYLOAD)
    QuarantinedRecord.objects.filter(store=store).delete()
    _audit_privacy(store, "privacy.shop_redacted", {"shop": store.seller_id})
    return True


def _requested_orders(payload: Any, key: str) -> list[str]:
    ids = payload.get(key) if isinstance(payload, dict) else None
    return [str(item) for item in ids or [] if isinstance(item, (int, str))][:500]


def _on_customer_data_request(store: Store, event: WebhookEvent, payload: Any) -> bool:
    """A buyer asked the shop what data apps hold on them. ACORN holds no name, email or address; it tells
    the owners which orders are named so that they can answer the shop within Shopify's 30 days."""

    orders = _requested_orders(payload, "orders_requested")
    _audit_privacy(store, "privacy.customer_data_requested", {"orders": orders})
    notify(
        tenant=store.tenant,
        kind="privacy_request",
        title=message(gettext_noop("Customer data request for “%(store)s”"), store=store.name),
        body=message(
            gettext_noop(
                "A buyer asked the shop for their data. ACORN keeps no buyer name, email or address; for orders "
                "%(orders)s it keeps the amounts, items and the delivery country. Answer the shop within 30 days."
            ),
            orders=", ".join(orders) or "—",
        ),
    )
    return True


def _on_customer_redact(store: Store, event: WebhookEvent, payload: Any) -> bool:
    """Erase a buyer: orders hold nothing that identifies them beyond the delivery country, so the stored
    webhook bodies and quarantined raw records of the named orders go and the erasure is recorded. Refunds
    registers its own handler for the buyer's words on refunds and returns (refunds/privacy.py)."""
    orders = _requested_orders(payload, "orders_to_redact")
    WebhookEvent.objects.filter(store=store, resource_id__in=orders).exclude(pk=event.pk).update(
        payload=REDACTED_PAYLOAD
    )
    QuarantinedRecord.objects.filter(store=store, external_id__in=orders).delete()
    _audit_privacy(store, "privacy.customer_redacted", {"orders": orders})
    return True


def _audit_privacy(store: Store, action: str, after: dict[str, Any]) -> None:
    audit_record(tenant=store.tenant, actor=None, action=action, target=store, after=after)


def register_channel_webhook_handlers() -> None:
    """Called from ChannelsConfig.ready()."""
    register_webhook_handler(Platform.SHOPIFY, {"app/uninstalled"}, _on_app_uninstalled)
    register_webhook_handler(Platform.SHOPIFY, {"shop/redact"}, _on_shop_redact)
    register_webhook_handler(Platform.SHOPIFY, {"customers/data_request"}, _on_customer_data_request)
    register_webhook_handler(Platform.SHOPIFY, {"customers/redact"}, _on_customer_redact)
