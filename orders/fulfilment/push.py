"""Sending fulfilment requests to warehouse APIs: the order, or later its cancel, as signed JSON over HTTPS.

One send is three short steps, so that no row lock is held across the HTTP call and a task that runs twice
(or two workers at once) sends once:

1. claim — lock the request row; go on only if it is due (PENDING, or FAILED whose retry time has come; the
   same for a cancel); push `next_attempt_at` forward by a lease so that a second run finds it not due;
   build the body;
2. POST it, signed (`orders.fulfilment.services.sign`) with `Idempotency-Key: <request key>` (`<key>-cancel` for the
   cancel), so a repeat after a lost answer is recognised by the warehouse; through `acorn.netguard.guarded_session`,
   which checks the address on the connection it makes (DNS as it answers now, every spelling) and sends nothing
   to a host that is not public: FAILED, not retried, "not a public address" in `last_error`;
3. record the answer under the lock: 2xx → SENT (its `warehouse_reference`); 4xx other than 408/429 → FAILED
   with no automatic retry; 5xx, 408, 429, timeouts, connection errors → FAILED, retried by the beat task
   after ACORN_FULFILMENT_RETRY_SECONDS x 2^(attempts-1) (at most an hour), and left FAILED — visible in the
   problems view — after ACORN_FULFILMENT_MAX_ATTEMPTS. A worker that dies mid-send leaves the lease, which
   expires: the beat task sends again under the same key.

ACORN keeps no buyer addresses (DESIGN: no PII beyond what an order needs), so the order carries none: the
warehouse takes the address from the channel or the seller's own system.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.netguard import AddressRefused, guarded_session
from acorn.retry import backoff_seconds, retry_after_seconds
from acorn.tenancy.scoping import dangerously_unscoped
from orders.fulfilment.selectors import OPEN_STATUSES, request_lines
from orders.fulfilment.services import (
    callback_url,
    endpoint_shape_check,
    enqueue_send,
    follow_closed_order,
    save_request,
    sign,
)
from orders.locks import fulfillment_request_qs_select_for_update
from orders.models import FulfillmentRequest, FulfillmentState, FulfillmentTarget, FulfillmentTargetKind

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600
# A claimed send is not due again for the HTTP timeout plus this margin (then a dead worker's claim expires).
LEASE_MARGIN_SECONDS = 60
# A pending request whose queued task never ran is picked up by the beat task after this long.
LOST_AFTER_SECONDS = 120
ERROR_EXCERPT_CHARS = 500
USER_AGENT = "ACORN-Fulfilment/1.0"

OK, REFUSED, RETRY = "ok", "refused", "retry"
RETRYABLE_4XX = (408, 429)


@dataclass(frozen=True)
class _Claim:
    request_pk: int
    action: str  # "order" or "cancel"
    target: FulfillmentTarget
    body: bytes
    idempotency_key: str


@dataclass(frozen=True)
class _Answer:
    outcome: str  # OK, REFUSED or RETRY
    status: int | None
    message: str = ""
    reference: str = ""
    retry_after: int | None = None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent (compact JSON, UTF-8)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def order_payload(request: FulfillmentRequest) -> dict[str, Any]:
    """The order as the warehouse receives it (no buyer address: ACORN does not keep one)."""
    order = request.order
    store = order.store
    return {
        "event": "order",
        "request_key": request.key,
        "callback_url": callback_url(request.target),
        "order": {
            "reference": request.key,
            "order_id": order.external_id,
            "merchant_order_id": order.merchant_order_id,
            "store": store.name,
            "platform": store.platform,
            "marketplace": order.marketplace,
            "purchased_at": _iso(order.purchased_at),
            "buyer_country": order.buyer_country,
            "currency": order.currency,
            "lines": [
                {
                    "line_id": line.line_id,
                    "sku": line.sku,
                    "master_sku": line.master_sku,
                    "master_quantity": line.master_quantity,
                    "title": line.title,
                    "quantity": line.quantity,
                }
                for line in request_lines([request]).get(request.pk, [])
            ],
        },
    }


def cancel_payload(request: FulfillmentRequest) -> dict[str, Any]:
    return {"event": "cancel", "request_key": request.key}


def _due_action(request: FulfillmentRequest, now: datetime) -> str | None:
    at = request.next_attempt_at
    free, retry_due = at is None or at <= now, at is not None and at <= now
    if (request.state == FulfillmentState.PENDING and free) or (request.state == FulfillmentState.FAILED and retry_due):
        return "order"
    if (request.state == FulfillmentState.CANCEL_PENDING and free) or (
        request.state == FulfillmentState.CANCEL_FAILED and retry_due
    ):
        return "cancel"
    return None


def _claim(request_pk: int) -> _Claim | str:
    now = timezone.now()
    with transaction.atomic():
        request = (
            fulfillment_request_qs_select_for_update()
            .filter(pk=request_pk)
            .select_related("target", "order__store")
            .first()
        )
        if request is None:
            return "missing"
        target = request.target
        if target.kind != FulfillmentTargetKind.HTTPS:
            return "not_an_api"
        if not target.active:
            return "target_inactive"
        action = _due_action(request, now)
        if action is None:
            return "not_due"
        if action == "order" and request.order.status not in OPEN_STATUSES:
            follow_closed_order(request, request.order)  # cancelled or shipped meanwhile: never send it
            return "order_closed"
        lease = timedelta(seconds=settings.ACORN_VENDOR_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)
        request.next_attempt_at = now + lease
        save_request(request, "next_attempt_at")
        payload = order_payload(request) if action == "order" else cancel_payload(request)
        key = request.key if action == "order" else f"{request.key}-cancel"
        return _Claim(request.pk, action, target, encode(payload), key)


def _excerpt(response: requests.Response) -> str:
    text = " ".join((response.text or "").split())
    return text[:ERROR_EXCERPT_CHARS]


def _post(target: FulfillmentTarget, body: bytes, idempotency_key: str) -> _Answer:
    """One signed POST to the target's endpoint, its answer classified. No redirects are followed."""
    timestamp, signature = sign(target, body)
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
        "X-Acorn-Timestamp": timestamp,
        "X-Acorn-Signature": signature,
        "Idempotency-Key": idempotency_key,
    }
    timeout = settings.ACORN_VENDOR_TIMEOUT_SECONDS
    try:
        endpoint_shape_check(target.endpoint_url)  # a target saved before the rule existed is not called
    except ValidationError as error:
        return _Answer(REFUSED, None, " ".join(error.messages))
    # The address is checked on the connection itself (every spelling, DNS answered now, not at save time).
    session = guarded_session(allow_loopback=settings.ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP)
    try:
        response = session.post(target.endpoint_url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except AddressRefused as refused:
        # Nothing was sent; never retried by itself (the tenant must correct the address).
        return _Answer(
            REFUSED,
            None,
            _(
                "The warehouse address %(host)s is not a public address (%(address)s): ACORN does not call "
                "private networks."
            )
            % {"host": refused.host, "address": refused.address},
        )
    except requests.exceptions.Timeout:
        return _Answer(RETRY, None, _("The warehouse did not answer within %(seconds)s s.") % {"seconds": timeout})
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema):
        return _Answer(REFUSED, None, _("The warehouse address is not a valid URL."))
    except requests.exceptions.SSLError:
        return _Answer(RETRY, None, _("The warehouse's HTTPS certificate could not be verified."))
    except requests.exceptions.RequestException as error:
        return _Answer(RETRY, None, _("Could not reach the warehouse (%(error)s).") % {"error": type(error).__name__})
    finally:
        session.close()
    status = response.status_code
    if 200 <= status < 300:
        reference = ""
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("warehouse_reference") not in (None, ""):
            reference = str(answer["warehouse_reference"])[:100]
        return _Answer(OK, status, reference=reference)
    message = f"HTTP {status}: {_excerpt(response)}".strip()
    if status in RETRYABLE_4XX or status >= 500:
        return _Answer(RETRY, status, message, retry_after=retry_after_seconds(response.headers))
    if 300 <= status < 400:
        message = _("HTTP %(status)s: the endpoint redirects; enter its final address.") % {"status": status}
    return _Answer(REFUSED, status, message)


def _backoff(attempts: int, retry_after: int | None) -> timedelta | None:
    """The wait before the next automatic attempt, or None when the attempts are spent."""
    if attempts >= settings.ACORN_FULFILMENT_MAX_ATTEMPTS:
        return None
    first = settings.ACORN_FULFILMENT_RETRY_SECONDS
    return timedelta(seconds=backoff_seconds(attempts, first=first, cap=MAX_BACKOFF_SECONDS, at_least=retry_after))


def _fail(request: FulfillmentRequest, answer: _Answer, state: str, now: datetime) -> None:
    request.state = state
    wait = _backoff(request.attempts, answer.retry_after) if answer.outcome == RETRY else None
    request.next_attempt_at = now + wait if wait is not None else None
    message = answer.message
    if answer.outcome == RETRY and wait is None:
        message += " " + _("Gave up after %(attempts)d attempts.") % {"attempts": request.attempts}
    request.last_error = message.strip()


def _record(claim: _Claim, answer: _Answer) -> str:
    now = timezone.now()
    with transaction.atomic():
        request = fulfillment_request_qs_select_for_update().select_related("target").get(pk=claim.request_pk)
        fields = ["state", "attempts", "next_attempt_at", "last_error"]
        if claim.action == "order":
            if request.state not in (FulfillmentState.PENDING, FulfillmentState.FAILED):
                if request.state == FulfillmentState.CANCELLED and answer.outcome == OK:
                    # The order was cancelled while it was being sent, and the warehouse took it: cancel it there.
                    request.state, request.attempts, request.next_attempt_at = FulfillmentState.CANCEL_PENDING, 0, None
                    request.last_error, request.sent_at = "", now
                    request.warehouse_reference = answer.reference or request.warehouse_reference
                    save_request(request, *fields, "sent_at", "warehouse_reference")
                    enqueue_send(request)
                    return "sent_then_cancelled"
                return "superseded"
            request.attempts += 1
            if answer.outcome == OK:
                request.state, request.next_attempt_at, request.last_error = FulfillmentState.SENT, None, ""
                request.sent_at = now
                request.warehouse_reference = answer.reference or request.warehouse_reference
                fields += ["sent_at", "warehouse_reference"]
            else:
                _fail(request, answer, FulfillmentState.FAILED, now)
        else:
            if request.state not in (FulfillmentState.CANCEL_PENDING, FulfillmentState.CANCEL_FAILED):
                return "superseded"
            request.attempts += 1
            if answer.outcome == OK or answer.status in (404, 410):
                request.state, request.next_attempt_at = FulfillmentState.CANCELLED, None
                request.last_error = (
                    "" if answer.outcome == OK else _("The warehouse does not have this order: nothing to cancel.")
                )
            else:
                _fail(request, answer, FulfillmentState.CANCEL_FAILED, now)
        save_request(request, *fields)
    logger.info(
        "fulfilment_send",
        extra={
            "tenant_id": request.tenant_id,
            "request_id": request.pk,
            "action": claim.action,
            "status": answer.status,
            "state": request.state,
        },
    )
    return str(request.state)


def fulfilment_send(*, request_pk: int) -> str:
    """Send what the request is due for — its order, or its cancel — to its warehouse API, once (see the
    module docstring). Returns the new state, or why nothing was sent ("not_due", "missing", …)."""
    claim = _claim(request_pk)
    if isinstance(claim, str):
        return claim
    answer = _post(claim.target, claim.body, claim.idempotency_key)
    return _record(claim, answer)


def fulfilment_due_unscoped(*, limit: int = 500) -> list[tuple[int, int]]:
    """(tenant id, request id) of every request to an active warehouse API whose send is due: a retry whose
    time has come, an expired claim, or a queued send whose task was lost. Spans tenants (the beat task)."""
    now = timezone.now()
    lost = now - timedelta(seconds=LOST_AFTER_SECONDS)
    with dangerously_unscoped():
        rows = (
            FulfillmentRequest.objects.filter(
                target__kind=FulfillmentTargetKind.HTTPS, target__active=True, tenant__is_active=True
            )
            .filter(
                Q(
                    state__in=[FulfillmentState.PENDING, FulfillmentState.CANCEL_PENDING],
                    next_attempt_at__isnull=True,
                    updated_at__lte=lost,
                )
                | Q(
                    state__in=[
                        FulfillmentState.PENDING,
                        FulfillmentState.FAILED,
                        FulfillmentState.CANCEL_PENDING,
                        FulfillmentState.CANCEL_FAILED,
                    ],
                    next_attempt_at__lte=now,
                )
            )
            .order_by("next_attempt_at", "pk")
            .values_list("tenant_id", "pk")[:limit]
        )
        return list(rows)
