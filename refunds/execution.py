"""Executing an approved console refund on its channel, exactly once.

The channel's adapter does the refund (`RefundExecuting.execute_refund`) with the refund's idempotency key,
in one of two ways its channel declares (`refund_execution_mode`):

* IMMEDIATE — the channel refunds in the call and answers with its refund id (Shopify `refundCreate` with
  `@idempotent(key:)`; WooCommerce's refunds endpoint, where the key travels in the reason and the adapter
  looks for a refund carrying it before posting again, so a retried POST after a lost answer refunds once);
* SUBMISSION — the channel takes a submission (Amazon, merchant-fulfilled: a POST_PAYMENT_ADJUSTMENT_DATA
  feed whose MerchantAdjustmentItemIDs derive from the key, so a resubmission is a no-op on Amazon's side);
  the refund waits EXECUTING with the submission (feed) id until a later run reads its outcome: success →
  SUCCEEDED, error → FAILED with the channel's text.

One send is three short steps and no row lock is held across the vendor call:

1. claim — a conditional UPDATE: APPROVED and due → EXECUTING, attempts + 1, a lease in `next_attempt_at`
   (an EXECUTING refund whose lease expired without a feed id — its worker died mid-call — may be claimed
   again: the key makes the resend harmless). A second task finds nothing to claim;
2. the vendor call;
3. settle, conditionally on still being EXECUTING: success → SUCCEEDED with the channel's refund id and
   `executed_at`; a retryable failure (timeout, 5xx, 429) → back to APPROVED with a backoff of
   RETRY_SECONDS x 2^(attempts-1) (at most an hour), FAILED after MAX_ATTEMPTS; any other answer (4xx,
   validation, authorisation) → FAILED with its message. A FAILED refund is retried only by a person.

Deduplication with the refunds sync: a refund done IMMEDIATE takes the channel's id as `external_id` and
"<platform>|<id>" as `dedupe_key` (Shopify: the refund's numeric id; WooCommerce: the refund post id) —
the key refunds.ingest gives that refund — so the sync finds and updates it instead of adding a second one.
A channel that takes SUBMISSIONs does not echo our ids in what it reports (Amazon's Finances): the ingest
matches its refund to a SUCCEEDED console refund of the same store and order by its amount
(`console_refund_for_channel`) and adopts it (takes its own dedupe key) instead of creating a second one;
`channel_refund_id` is our adjustment id, `feed_id` the submission that carried it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record
from acorn.crypto import DecryptionError
from acorn.retry import backoff_seconds
from acorn.tasks import enqueue_now, enqueue_on_commit
from acorn.tenancy.scoping import dangerously_unscoped
from channels.adapters.base import (
    Capability,
    ChannelAdapter,
    ChannelAuthError,
    ChannelError,
    ChannelRetryableError,
    FeedResult,
    RefundExecuting,
    RefundExecutionMode,
    RefundRequest,
)
from channels.adapters.registry import adapter_class_for, adapter_for, platform_supports
from channels.models import Store, StoreStatus
from channels.store_state import store_mark_auth_interrupted
from refunds.alerts import refund_product_ids, refunds_changed
from refunds.listeners import refunds_money_changed
from refunds.models import Refund, RefundLine, RefundOrigin, RefundStatus
from refunds.rates import rollup_refresh_for_refunds
from refunds.restock import refund_restock_after_success

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

RETRY_SECONDS = 60
MAX_BACKOFF_SECONDS = 3600
MAX_ATTEMPTS = 6
# A claimed refund is not claimable again for this long (a worker that died mid-call is retried after it).
CLAIM_SECONDS = 600
FEED_POLL_SECONDS = 60
# An approved refund whose queued task never ran is picked up by the beat task after this long.
LOST_AFTER_SECONDS = 120
ERROR_CHARS = 2000

SUCCEEDED, SUBMITTED, RETRY, FAILED, NOT_DUE, MISSING = (
    "succeeded",
    "submitted",
    "retry",
    "failed",
    "not_due",
    "missing",
)


def execution_queue(refund: Refund) -> None:
    """After the commit, queue the execution task of an APPROVED refund."""
    enqueue_on_commit("refunds.execute_refund", tenant_id=refund.tenant_id, refund_id=refund.pk)


def _claimable(now: datetime) -> Q:
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    stale = Q(status=RefundStatus.EXECUTING, feed_id="", next_attempt_at__lte=now)
    return (Q(status=RefundStatus.APPROVED) & due) | stale


def _claim(refund_pk: int) -> bool:
    """APPROVED and due → EXECUTING with a lease, in one conditional UPDATE. False: someone else has it."""
    now = timezone.now()
    return bool(
        Refund.objects.filter(pk=refund_pk, origin=RefundOrigin.CONSOLE)
        .filter(_claimable(now))
        .update(
            status=RefundStatus.EXECUTING,
            attempts=F("attempts") + 1,
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
            updated_at=now,
        )
    )


def _backoff(attempts: int, retry_after: int | None) -> timedelta:
    return timedelta(
        seconds=backoff_seconds(attempts, first=RETRY_SECONDS, cap=MAX_BACKOFF_SECONDS, at_least=retry_after)
    )


@dataclass(frozen=True)
class _Outcome:
    status: str
    channel_refund_id: str = ""
    feed_id: str = ""
    error: str = ""
    retry_after: int | None = None


def _settle(refund_pk: int, outcome: _Outcome, *, only_feed: str | None = None) -> str:
    """Write the outcome onto the refund if it is still EXECUTING (and, for a feed, still that feed's)."""
    now = timezone.now()
    with transaction.atomic():
        query = Refund.objects.select_for_update(of=("self",)).filter(pk=refund_pk, status=RefundStatus.EXECUTING)
        if only_feed is not None:
            query = query.filter(feed_id=only_feed)
        row = query.select_related("tenant", "store").first()
        if row is None:
            return NOT_DUE
        before = {"status": row.status, "attempts": row.attempts}
        fields = ["status", "next_attempt_at", "last_error", "updated_at"]
        result = outcome.status
        row.updated_at = now
        row.last_error = outcome.error[:ERROR_CHARS]
        if outcome.status == SUCCEEDED:
            row.status, row.next_attempt_at, row.executed_at = RefundStatus.SUCCEEDED, None, now
            row.last_error = ""
            fields.append("executed_at")
            if outcome.channel_refund_id:
                row.channel_refund_id = outcome.channel_refund_id[:200]
                fields.append("channel_refund_id")
                if _refunds_immediately(row.store):
                    # The ingest keys the channel's refunds on its id: it finds this one, not a new one.
                    key = channel_dedupe_key(row.store.platform, outcome.channel_refund_id)
                    taken = Refund.objects.filter(store_id=row.store_id, dedupe_key=key).exclude(pk=row.pk).exists()
                    if taken:
                        logger.warning("refund_already_synced", extra={"tenant_id": row.tenant_id, "refund_id": row.pk})
                    else:
                        row.external_id, row.dedupe_key = outcome.channel_refund_id[:200], key
                        fields += ["external_id", "dedupe_key"]
        elif outcome.status == SUBMITTED:
            row.feed_id = outcome.feed_id[:100]
            row.channel_refund_id = outcome.channel_refund_id[:200]
            row.next_attempt_at = now + timedelta(seconds=FEED_POLL_SECONDS)
            fields += ["feed_id", "channel_refund_id"]
        elif outcome.status == RETRY and row.attempts < MAX_ATTEMPTS:
            row.status = RefundStatus.APPROVED
            row.next_attempt_at = now + _backoff(row.attempts, outcome.retry_after)
        else:
            result = FAILED
            row.status, row.next_attempt_at = RefundStatus.FAILED, None
            row.feed_id = ""
            fields.append("feed_id")
        row.save(update_fields=fields)
        if row.status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED):
            audit_record(
                tenant=row.tenant,
                actor=None,
                action="refunds.refund_executed" if result == SUCCEEDED else "refunds.refund_execution_failed",
                target=row,
                before=before,
                after={
                    "status": row.status,
                    "channel_refund_id": row.channel_refund_id,
                    "error": row.last_error,
                    "attempts": row.attempts,
                },
            )
        if row.status == RefundStatus.SUCCEEDED:
            rollup_refresh_for_refunds(store=row.store, refunds=[row])  # refund rates count it now
            refunds_money_changed(tenant_id=row.tenant_id, refund_ids=[row.pk])  # profit
            refunds_changed(tenant_id=row.tenant_id, product_ids=refund_product_ids([row.pk]))  # alerts, on commit
        if row.status == RefundStatus.SUCCEEDED and row.restock:
            refund_restock_after_success(refund=row)
    return result


def _refunds_immediately(store: Store) -> bool:
    """The store's channel refunds in the call (IMMEDIATE) and reports the refund under the id it answered."""
    channel = adapter_class_for(store.platform)
    return issubclass(channel, RefundExecuting) and channel.refund_execution_mode == RefundExecutionMode.IMMEDIATE


def channel_dedupe_key(platform: str, channel_refund_id: str) -> str:
    """The key the refunds sync gives a shop's refund (refunds.ingest.refund_dedupe_key)."""
    return f"{platform}|{channel_refund_id}"[:200]


def _adapter(store: Store) -> ChannelAdapter:
    try:
        secrets: dict[str, Any] = store.credential.secrets  # type: ignore[assignment]
    except Store.credential.RelatedObjectDoesNotExist:
        raise ChannelAuthError(_("The store has not been authorised.")) from None
    except DecryptionError:
        raise ChannelError(_("The stored credentials cannot be decrypted with the configured keys.")) from None
    return adapter_for(store, secrets=secrets)


def refund_channel_request(refund: Refund) -> RefundRequest:
    """The refund as the channel adapters take it: positive amounts per order item (principal, tax,
    shipping; quantity 0 for an amount with no units); a shop's order-level shipping rides on the first item,
    a goodwill amount on the order is an item with no id carrying `other`."""
    items: list[tuple[str, int, tuple[tuple[str, Decimal], ...]]] = []
    per_line_shipping = Decimal(0)
    for line in RefundLine.objects.filter(refund=refund).order_by("pk"):
        parts = tuple(
            (name, -amount)
            for name, amount in (
                ("principal", line.principal_amount),
                ("tax", line.tax_amount),
                ("shipping", line.shipping_amount),
            )
            if amount < 0
        )
        per_line_shipping += -line.shipping_amount
        items.append((line.order_item_id, line.quantity, parts))
    order_shipping = -refund.shipping_amount - per_line_shipping
    if order_shipping > 0:
        if items:
            first = items[0]
            items[0] = (first[0], first[1], (*first[2], ("shipping", order_shipping)))
        else:
            items.append(("", 0, (("shipping", order_shipping),)))
    goodwill = -refund.other_amount  # an amount on the whole order, tied to no item (refunds.approvals)
    if goodwill > 0:
        items.append(("", 0, (("other", goodwill),)))
    key = str(refund.idempotency_key)
    channel = adapter_class_for(refund.store.platform)
    note = refund.request_note
    reason = channel.refund_reason(note=note) if issubclass(channel, RefundExecuting) else (note[:200] or "Refund")
    return RefundRequest(
        order_id=refund.order_external_id,
        adjustment_id=key,
        currency=refund.currency,
        reason=reason,
        items=tuple(items),
    )


def _call_channel(refund: Refund) -> _Outcome:
    if not platform_supports(refund.store.platform, Capability.EXECUTE_REFUNDS):
        raise ChannelError(_("Refunds cannot be executed on this channel."))
    request = refund_channel_request(refund)
    adapter = _adapter(refund.store)
    try:
        # ACORN puts returned units back itself (refund.restock, on success): the channel is told not to.
        result = adapter.require(RefundExecuting).execute_refund(request, restock=False)
    finally:
        adapter.close()
    if result.submitted:
        return _Outcome(SUBMITTED, feed_id=result.submission_id, channel_refund_id=result.external_id)
    return _Outcome(SUCCEEDED, channel_refund_id=result.external_id)


def _failure(refund: Refund, error: ChannelError | ValueError) -> _Outcome:
    if isinstance(error, ChannelRetryableError):
        return _Outcome(RETRY, error=str(error), retry_after=error.retry_after)
    message = str(error)
    if isinstance(error, ChannelAuthError):
        store_mark_auth_interrupted(store=refund.store, reason=message)
        message = _("%(error)s Authorise the store again, then retry.") % {"error": message}
    return _Outcome(FAILED, error=message)


def refund_execute(*, refund_pk: int) -> str:
    """Execute one APPROVED refund on its channel, at most once (see the module docstring). Returns
    succeeded / submitted / retry / failed / not_due / missing."""
    if not Refund.objects.filter(pk=refund_pk).exists():
        return MISSING
    if not _claim(refund_pk):
        return NOT_DUE
    refund = Refund.objects.select_related("store", "tenant").get(pk=refund_pk)
    try:
        outcome = _call_channel(refund)
    except (ChannelError, ValueError) as error:
        outcome = _failure(refund, error)
        logger.info(
            "refund_execute_failed",
            extra={"tenant_id": refund.tenant_id, "refund_id": refund.pk, "code": getattr(error, "code", "")},
        )
    result = _settle(refund_pk, outcome)
    if result == SUBMITTED:
        _queue_feed_poll(refund)
    return result


def _queue_feed_poll(refund: Refund) -> None:
    enqueue_now(
        "refunds.poll_refund_feed", countdown=FEED_POLL_SECONDS, tenant_id=refund.tenant_id, refund_id=refund.pk
    )


def refund_feed_poll(*, refund_pk: int) -> str:
    """Read the processing report of an Amazon refund's adjustment feed: unfinished → asked again later;
    finished → SUCCEEDED, or FAILED with Amazon's message. Safe to run twice (settles only EXECUTING)."""
    refund = Refund.objects.filter(pk=refund_pk).select_related("store", "tenant").first()
    if refund is None:
        return MISSING
    if refund.status != RefundStatus.EXECUTING or not refund.feed_id:
        return NOT_DUE
    feed_id = refund.feed_id
    try:
        adapter = _adapter(refund.store)
        try:
            executing = adapter.require(RefundExecuting)
            if executing.refund_execution_mode != RefundExecutionMode.SUBMISSION:
                raise ChannelError(_("Only Amazon refunds go through feeds."))
            result = executing.refund_submission_result(submission_id=feed_id)
        finally:
            adapter.close()
    except ChannelError as error:
        if isinstance(error, (ChannelRetryableError, ChannelAuthError)):
            if isinstance(error, ChannelAuthError):
                store_mark_auth_interrupted(store=refund.store, reason=str(error))
            Refund.objects.filter(pk=refund.pk, status=RefundStatus.EXECUTING, feed_id=feed_id).update(
                last_error=str(error)[:ERROR_CHARS],
                next_attempt_at=timezone.now() + timedelta(seconds=FEED_POLL_SECONDS),
            )
            return RETRY
        message = _("Amazon's result of feed %(feed)s cannot be read: %(error)s") % {"feed": feed_id, "error": error}
        return _settle(refund.pk, _Outcome(FAILED, error=message), only_feed=feed_id)
    if not result.finished:
        Refund.objects.filter(pk=refund.pk, status=RefundStatus.EXECUTING, feed_id=feed_id).update(
            next_attempt_at=timezone.now() + timedelta(seconds=FEED_POLL_SECONDS)
        )
        return SUBMITTED
    return _settle(refund.pk, feed_outcome(result), only_feed=feed_id)


def feed_outcome(result: FeedResult) -> _Outcome:
    """A finished adjustment feed of one refund (message 1): its errors, or success."""
    if result.status != "DONE":
        return _Outcome(
            FAILED,
            error=_("Amazon ended feed %(feed)s as %(status)s without applying it.")
            % {"feed": result.feed_id, "status": result.status},
        )
    errors = [
        f"{message.code}: {message.description}" if message.code else message.description
        for message in result.messages
        if message.result.lower() == "error" and message.message_id in (0, 1)
    ]
    if errors:
        return _Outcome(FAILED, error="; ".join(errors))
    if result.processed == 0:
        return _Outcome(FAILED, error=_("Amazon processed none of the feed's messages."))
    return _Outcome(SUCCEEDED)


@transaction.atomic
def refund_execution_retry(*, refund: Refund, actor: User) -> Refund:
    """A person sends a FAILED refund again: APPROVED, attempts reset, queued (same idempotency key, so a
    channel that did refund meanwhile is not asked twice). Only a FAILED one. Audited."""
    row = (
        Refund.objects.select_for_update(of=("self",))
        .select_related("tenant")
        .get(pk=refund.pk, tenant_id=refund.tenant_id)
    )
    if row.status != RefundStatus.FAILED or row.origin != RefundOrigin.CONSOLE:
        raise ValidationError(
            _("Only a failed refund requested in ACORN can be sent again (this one is: %(status)s).")
            % {"status": row.get_status_display()}
        )
    before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    row.status, row.attempts, row.next_attempt_at, row.feed_id = RefundStatus.APPROVED, 0, None, ""
    row.updated_at = timezone.now()
    row.save(update_fields=["status", "attempts", "next_attempt_at", "feed_id", "updated_at"])
    audit_record(
        tenant=row.tenant,
        actor=actor,
        action="refunds.refund_execution_retried",
        target=row,
        before=before,
        after={"status": row.status},
    )
    execution_queue(row)
    return row


def console_refund_for_channel(
    *, store: Store, order_external_id: str, amount: Decimal, currency: str
) -> Refund | None:
    """For the refunds sync (Amazon): the executed console refund a refund the channel reports is, if any —
    SUCCEEDED, requested in ACORN, same store, order, currency and buyer amount, not yet seen in a channel
    source. Amazon's Finances do not echo our adjustment ids, so this is how the two are matched. Reads only."""
    candidates = Refund.objects.filter(
        store=store,
        origin=RefundOrigin.CONSOLE,
        status=RefundStatus.SUCCEEDED,
        order_external_id=order_external_id,
        currency=currency,
        amount=amount,
    ).order_by("executed_at", "pk")
    for refund in candidates:
        if set(refund.sources) <= {"console"}:
            return refund
    return None


@dataclass(frozen=True)
class DueExecutions:
    executions: list[tuple[int, int]]  # (tenant id, refund id) to send
    polls: list[tuple[int, int]]  # (tenant id, refund id) whose Amazon feed is due to be read


def due_executions_unscoped(*, limit: int = 1000) -> DueExecutions:
    """Across tenants (the beat): refunds whose execution (or retry) is due, or whose claim expired, and
    Amazon feeds due to be read, of active stores of active tenants."""
    now = timezone.now()
    with dangerously_unscoped():
        live = Refund.objects.filter(
            tenant__is_active=True, store__status=StoreStatus.ACTIVE, origin=RefundOrigin.CONSOLE
        )
        # A fresh approval's own task is queued on commit: the beat takes it only if that task got lost.
        settled = Q(next_attempt_at__isnull=False) | Q(updated_at__lte=now - timedelta(seconds=LOST_AFTER_SECONDS))
        executions = list(
            live.filter(_claimable(now)).filter(settled).order_by("pk").values_list("tenant_id", "pk")[:limit]
        )
        polls = list(
            live.filter(status=RefundStatus.EXECUTING, next_attempt_at__lte=now)
            .exclude(feed_id="")
            .order_by("pk")
            .values_list("tenant_id", "pk")[:limit]
        )
    return DueExecutions(executions=executions, polls=polls)
