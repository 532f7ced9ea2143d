"""Confirming shipments back to their channel, at most once each, the way the channel declares
(`ShipmentConfirming.shipment_confirmation_mode`):

* PER_SHIPMENT — one call per parcel (`confirm_shipment`), answered with the channel's reference: Shopify
  fulfils the parcel's lines with the tracking, WooCommerce marks the order completed with a customer note
  carrying the tracking.
* BATCHED_SUBMISSION — the store's pending shipments go out together in one submission (Amazon's shipment
  confirmation feed; message N is the N-th shipment by pk); they wait SUBMITTED with the submission id as
  their reference until its processing report says, message by message, CONFIRMED or FAILED (with the
  channel's message).

A confirmation is claimed before it is sent — under a row lock, only when PENDING and due, by pushing its
next attempt CLAIM_SECONDS ahead — so a task that runs twice, or the beat racing the first task, sends it
once; one that is CONFIRMED is never sent again. No lock is held across the vendor call. A retryable
failure waits with an exponential backoff and is tried again by the beat until MAX_ATTEMPTS, then stays
FAILED, with its error, for a person to retry.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record
from acorn.crypto import DecryptionError
from acorn.retry import backoff_seconds
from acorn.tasks import enqueue_now
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import dangerously_unscoped
from channels.adapters.base import (
    Capability,
    ChannelAdapter,
    ChannelAuthError,
    ChannelError,
    ChannelRetryableError,
    FeedResult,
    ShipmentConfirmation,
    ShipmentConfirmationMode,
    ShipmentConfirming,
)
from channels.adapters.registry import adapter_class_for, adapter_for, platforms_supporting
from channels.models import Store, StoreStatus
from channels.store_state import store_mark_auth_interrupted
from orders.models import (
    ConfirmationState,
    Order,
    OrderLine,
    Shipment,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# A confirmation that failed in a way worth retrying waits RETRY_SECONDS x 2^(attempts-1) (at most an hour);
# after MAX_ATTEMPTS it stays FAILED for a person to see and retry.
RETRY_SECONDS = 60
MAX_BACKOFF_SECONDS = 3600
MAX_ATTEMPTS = 8
# A claimed confirmation is not due again for this long (a worker that died mid-call is retried after it).
CLAIM_SECONDS = 600
# Amazon: shipments recorded within this window go out in one feed; a submitted feed is polled this often.
FEED_BATCH_SECONDS = 30
FEED_POLL_SECONDS = 60
FEED_MAX_SHIPMENTS = 500


def batched_platforms() -> frozenset[str]:
    """The platforms whose channels take shipment confirmations in batched submissions (feeds)."""
    return frozenset(
        platform
        for platform in platforms_supporting(Capability.CONFIRM_SHIPMENTS)
        if _mode(platform) == ShipmentConfirmationMode.BATCHED_SUBMISSION
    )


def _mode(platform: str) -> ShipmentConfirmationMode | None:
    channel = adapter_class_for(platform)
    return channel.shipment_confirmation_mode if issubclass(channel, ShipmentConfirming) else None


def _batched(store: Store) -> bool:
    return store.platform in batched_platforms()


def confirmations_queue(shipments: Iterable[Shipment]) -> None:
    """After the commit: one submission task per store whose channel batches confirmations (after the batch
    window), one task per shipment for the others."""
    feeds: dict[int, int] = {}
    singles: list[tuple[int, int]] = []
    for shipment in shipments:
        if shipment.confirmation != ConfirmationState.PENDING:
            continue
        store = shipment.order.store
        if _batched(store):
            feeds[store.pk] = store.tenant_id
        else:
            singles.append((shipment.tenant_id, shipment.pk))

    def send() -> None:
        for store_id, tenant_id in feeds.items():
            enqueue_now(
                "orders.submit_shipment_feed", countdown=FEED_BATCH_SECONDS, tenant_id=tenant_id, store_id=store_id
            )
        for tenant_id, shipment_id in singles:
            enqueue_now("orders.confirm_shipment", tenant_id=tenant_id, shipment_id=shipment_id)

    if feeds or singles:
        transaction.on_commit(send)


def _due(now: datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def _claim(shipments: QuerySet[Shipment], now: datetime, limit: int) -> list[Shipment]:
    """Take due PENDING shipments for one send: attempts + 1, not due again for CLAIM_SECONDS. Each claim is
    a conditional UPDATE (still PENDING and due), under the rows' locks on PostgreSQL: a second claimer
    finds them not due, on any database, so what it did not claim it does not send."""
    claimed = []
    until = now + timedelta(seconds=CLAIM_SECONDS)
    with transaction.atomic():
        rows = list(
            shipments.filter(confirmation=ConfirmationState.PENDING)
            .filter(_due(now))
            .select_for_update(of=("self",))
            .select_related("order__store")
            .order_by("pk")[:limit]
        )
        for row in rows:
            taken = (
                Shipment.objects.filter(pk=row.pk, confirmation=ConfirmationState.PENDING)
                .filter(_due(now))
                .update(attempts=F("attempts") + 1, next_attempt_at=until)
            )
            if taken:
                row.attempts, row.next_attempt_at = row.attempts + 1, until
                claimed.append(row)
    return claimed


def _backoff(attempts: int, retry_after: int | None) -> timedelta:
    return timedelta(
        seconds=backoff_seconds(attempts, first=RETRY_SECONDS, cap=MAX_BACKOFF_SECONDS, at_least=retry_after)
    )


def _settle(
    pks: Sequence[int],
    *,
    state: str,
    reference: str = "",
    error: str = "",
    retryable: bool = False,
    retry_after: int | None = None,
    next_attempt_at: datetime | None = None,
    only_from: str = ConfirmationState.PENDING,
) -> None:
    """Write the outcome of one send (or one feed) onto its shipments, under their row locks. A retryable
    failure stays PENDING with a backoff until MAX_ATTEMPTS, then becomes FAILED."""
    now = timezone.now()
    with transaction.atomic():
        rows = Shipment.objects.select_for_update(of=("self",)).filter(pk__in=list(pks), confirmation=only_from)
        for row in rows.order_by("pk"):
            row.last_error = error[:2000]
            row.next_attempt_at = next_attempt_at
            row.confirmation = state
            if reference:
                row.confirmation_reference = reference[:100]
            if state == ConfirmationState.CONFIRMED:
                row.confirmed_at, row.attempts = now, 0
            if retryable:
                if row.attempts >= MAX_ATTEMPTS:
                    row.confirmation, row.next_attempt_at = ConfirmationState.FAILED, None
                else:
                    row.confirmation = ConfirmationState.PENDING
                    row.next_attempt_at = now + _backoff(row.attempts, retry_after)
            row.save(
                update_fields=[
                    "confirmation",
                    "confirmation_reference",
                    "attempts",
                    "next_attempt_at",
                    "last_error",
                    "confirmed_at",
                ]
            )


def _failed(pks: Sequence[int], store: Store, error: ChannelError | ValueError, only_from: str) -> None:
    """Classify a channel error onto the shipments it concerns: retry later, or FAILED for a person."""
    if isinstance(error, ChannelRetryableError):
        _settle(
            pks,
            state=ConfirmationState.PENDING,
            error=str(error),
            retryable=True,
            retry_after=error.retry_after,
            only_from=only_from,
        )
        return
    message = str(error)
    if isinstance(error, ChannelAuthError):
        store_mark_auth_interrupted(store=store, reason=message)
        message = _("%(error)s Authorise the store again, then retry.") % {"error": message}
    _settle(pks, state=ConfirmationState.FAILED, error=message, only_from=only_from)


def _adapter(store: Store) -> ChannelAdapter:
    try:
        secrets: dict[str, Any] = store.credential.secrets  # type: ignore[assignment]
    except Store.credential.RelatedObjectDoesNotExist:
        raise ChannelAuthError(_("The store has not been authorised.")) from None
    except DecryptionError:
        raise ChannelError(_("The stored credentials cannot be decrypted with the configured keys.")) from None
    return adapter_for(store, secrets=secrets)


def _parcel_items(shipment: Shipment) -> tuple[tuple[str, int], ...]:
    """The shipment's lines as the channel names them: (order line external id, units)."""
    lines = OrderLine.objects.filter(order_id=shipment.order_id).order_by("pk")
    if not shipment.lines:  # every line in full
        return tuple((external_id, quantity) for external_id, quantity in lines.values_list("external_id", "quantity"))
    line_ids = dict(lines.values_list("pk", "external_id"))
    return tuple((line_ids[int(entry["line"])], int(entry["quantity"])) for entry in shipment.lines)


def shipment_confirm(*, shipment: Shipment) -> str:
    """Confirm one shipment to its channel, at most once (a channel that batches confirmations gets it in its
    store's next submission instead). Returns the outcome: confirmed / retry / failed / not_due / batched."""
    store = shipment.order.store
    if _batched(store):
        return "batched"
    claimed = _claim(Shipment.objects.filter(pk=shipment.pk), timezone.now(), limit=1)
    if not claimed:
        return "not_due"
    row = claimed[0]
    order = row.order
    try:
        adapter = _adapter(store)
        try:
            # The claim above is what sends it once (a channel's per-parcel call may carry no idempotency key).
            reference = adapter.require(ShipmentConfirming).confirm_shipment(_confirmation(row, order))
        finally:
            adapter.close()
    except ChannelError as error:
        _failed([row.pk], store, error, ConfirmationState.PENDING)
        logger.info("shipment_confirm_failed", extra={"tenant_id": row.tenant_id, "shipment_id": row.pk})
        return "retry" if isinstance(error, ChannelRetryableError) else "failed"
    _settle([row.pk], state=ConfirmationState.CONFIRMED, reference=reference)
    return "confirmed"


def _confirmation(shipment: Shipment, order: Order) -> ShipmentConfirmation:
    """The parcel as the channel adapters take it."""
    return ShipmentConfirmation(
        order_id=order.external_id,
        shipped_at=shipment.shipped_at,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        items=_parcel_items(shipment),
        shipping_method=shipment.ship_method,
    )


def shipments_submit_feed(*, store: Store) -> str:
    """Send the store's due pending shipments in one submission (message N = the N-th by pk), when its
    channel batches confirmations. They wait SUBMITTED with the submission id as reference until its
    processing report is read. Returns submitted / nothing_due / retry / failed."""
    if not _batched(store):
        return "nothing_due"
    claimed = _claim(Shipment.objects.filter(order__store=store), timezone.now(), limit=FEED_MAX_SHIPMENTS)
    if not claimed:
        return "nothing_due"
    pks = [row.pk for row in claimed]
    try:
        confirmations = [_confirmation(row, row.order) for row in claimed]
        adapter = _adapter(store)
        try:
            feed_id = adapter.require(ShipmentConfirming).submit_shipment_confirmations(confirmations)
        finally:
            adapter.close()
    except (ChannelError, ValueError) as error:
        _failed(pks, store, error, ConfirmationState.PENDING)
        return "retry" if isinstance(error, ChannelRetryableError) else "failed"
    _settle(
        pks,
        state=ConfirmationState.SUBMITTED,
        reference=feed_id,
        next_attempt_at=timezone.now() + timedelta(seconds=FEED_POLL_SECONDS),
    )
    _queue_feed_poll(store)
    return "submitted"


def _queue_feed_poll(store: Store) -> None:
    enqueue_now("orders.poll_shipment_feeds", countdown=FEED_POLL_SECONDS, tenant_id=store.tenant_id, store_id=store.pk)


def shipment_feeds_poll(*, store: Store) -> int:
    """Read the result of each of the store's submitted feeds: an unfinished feed is asked again later (the
    beat picks stores whose feeds are due); a finished one settles its shipments. Returns how many finished."""
    submitted = Shipment.objects.filter(order__store=store, confirmation=ConfirmationState.SUBMITTED)
    feeds = sorted(set(submitted.values_list("confirmation_reference", flat=True)))
    if not feeds:
        return 0
    finished = 0
    try:
        adapter = _adapter(store)
    except ChannelError as error:
        _poll_failed(store, feeds, error)
        return 0
    if not _batched(store):
        adapter.close()
        return 0
    confirming = adapter.require(ShipmentConfirming)
    try:
        for feed_id in feeds:
            try:
                result = confirming.shipment_submission_result(submission_id=feed_id)
            except ChannelError as error:
                _poll_failed(store, [feed_id], error)
                continue
            if not result.finished:
                submitted.filter(confirmation_reference=feed_id).update(
                    next_attempt_at=timezone.now() + timedelta(seconds=FEED_POLL_SECONDS)
                )
                continue
            feed_settle(store=store, result=result)
            finished += 1
    finally:
        adapter.close()
    return finished


def _poll_failed(store: Store, feeds: Sequence[str], error: ChannelError) -> None:
    """Reading a feed's result failed: ask again later, unless Amazon refuses it for good (then FAILED)."""
    submitted = Shipment.objects.filter(
        order__store=store, confirmation=ConfirmationState.SUBMITTED, confirmation_reference__in=list(feeds)
    )
    if isinstance(error, (ChannelRetryableError, ChannelAuthError)):
        if isinstance(error, ChannelAuthError):
            store_mark_auth_interrupted(store=store, reason=str(error))
        submitted.update(
            last_error=str(error)[:2000], next_attempt_at=timezone.now() + timedelta(seconds=FEED_POLL_SECONDS)
        )
        return
    message = _("Amazon's result of feed %(feed)s cannot be read: %(error)s")
    for feed_id in feeds:
        pks = list(submitted.filter(confirmation_reference=feed_id).values_list("pk", flat=True))
        _settle(
            pks,
            state=ConfirmationState.FAILED,
            error=message % {"feed": feed_id, "error": error},
            only_from=ConfirmationState.SUBMITTED,
        )


@transaction.atomic
def feed_settle(*, store: Store, result: FeedResult) -> None:
    """A finished feed: each of its shipments CONFIRMED, or FAILED with the processing report's message.
    A CANCELLED or FATAL feed fails them all. Safe to run twice (only SUBMITTED shipments are settled)."""
    rows = list(
        Shipment.objects.select_for_update(of=("self",))
        .filter(order__store=store, confirmation=ConfirmationState.SUBMITTED, confirmation_reference=result.feed_id)
        .select_related("order")
        .order_by("pk")
    )
    if not rows:
        return
    now = timezone.now()
    outcome: dict[int, str] = {}  # shipment pk → error ("" = confirmed)
    if result.status != "DONE":
        for row in rows:
            outcome[row.pk] = _("Amazon ended feed %(feed)s as %(status)s without applying it.") % {
                "feed": result.feed_id,
                "status": result.status,
            }
    else:
        errors: dict[int, list[str]] = defaultdict(list)
        whole_feed: list[str] = []
        for message in result.messages:
            if message.result.lower() != "error":
                continue
            text = f"{message.code}: {message.description}" if message.code else message.description
            if message.message_id <= 0:
                whole_feed.append(text)
                continue
            row = _row_for_message(rows, message.message_id, message.order_id)
            if row is not None:
                errors[row.pk].append(text)
        if not whole_feed and result.processed == 0:  # a report that processed nothing confirms nothing
            whole_feed.append(_("Amazon processed none of the feed's messages."))
        for row in rows:
            outcome[row.pk] = "; ".join(whole_feed or errors.get(row.pk, []))
    for row in rows:
        error = outcome[row.pk]
        row.confirmation = ConfirmationState.FAILED if error else ConfirmationState.CONFIRMED
        row.last_error = error[:2000]
        row.next_attempt_at = None
        if not error:
            row.confirmed_at, row.attempts = now, 0
        row.save(update_fields=["confirmation", "last_error", "next_attempt_at", "confirmed_at", "attempts"])


def _row_for_message(rows: list[Shipment], message_id: int, order_id: str) -> Shipment | None:
    """The shipment a feed message was about: the message_id-th by pk, cross-checked with the order id the
    report names (if a shipment left the feed meanwhile, the order id finds it when it is unambiguous)."""
    row = rows[message_id - 1] if 0 < message_id <= len(rows) else None
    if order_id and (row is None or row.order.external_id != order_id):
        matches = [candidate for candidate in rows if candidate.order.external_id == order_id]
        row = matches[0] if len(matches) == 1 else row
    return row


@transaction.atomic
def shipment_confirmation_retry(*, tenant: Tenant, shipment: Shipment, actor: User | None = None) -> Shipment:
    """A person asks to send a failed confirmation again: PENDING, attempts reset, queued. Only a FAILED one:
    a pending one may be on its way to the channel right now (claimed), and sending it twice is what the
    claim prevents. Audited."""
    if shipment.tenant_id != tenant.pk:
        raise ValidationError(_("This belongs to another company."))
    row = Shipment.objects.select_for_update(of=("self",)).select_related("order__store").get(pk=shipment.pk)
    if row.confirmation != ConfirmationState.FAILED:
        raise ValidationError(
            _("Only a failed confirmation can be sent again (this one is: %(state)s).")
            % {"state": row.get_confirmation_display()}
        )
    before = {"confirmation": row.confirmation, "attempts": row.attempts, "last_error": row.last_error}
    row.confirmation, row.attempts, row.next_attempt_at = ConfirmationState.PENDING, 0, None
    row.save(update_fields=["confirmation", "attempts", "next_attempt_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="orders.shipment_confirmation_retried",
        target=row,
        before=before,
        after={"confirmation": row.confirmation},
    )
    confirmations_queue([row])
    return row


@dataclass(frozen=True)
class DueConfirmations:
    shipments: list[tuple[int, int]]  # (tenant id, shipment id) of shops
    feeds: list[tuple[int, int]]  # (tenant id, store id) of Amazon stores with shipments to submit
    polls: list[tuple[int, int]]  # (tenant id, store id) of Amazon stores with feeds to read


def due_confirmations(*, limit: int = 1000) -> DueConfirmations:
    """Across tenants (the beat): shipments whose confirmation is due to be sent, and Amazon feeds due to be
    read, of active stores of active tenants."""
    now = timezone.now()
    with dangerously_unscoped():
        live = Shipment.objects.filter(tenant__is_active=True, order__store__status=StoreStatus.ACTIVE).filter(
            _due(now)
        )
        pending = live.filter(confirmation=ConfirmationState.PENDING)
        batched_platform = Q(order__store__platform__in=sorted(batched_platforms()))
        shipments = list(pending.exclude(batched_platform).order_by("pk").values_list("tenant_id", "pk")[:limit])
        # A first send waits for the batch window (the task queued with a countdown sends it with the others).
        batched = Q(next_attempt_at__isnull=False) | Q(created_at__lte=now - timedelta(seconds=FEED_BATCH_SECONDS))
        feeds = list(
            pending.filter(batched_platform)
            .filter(batched)
            .order_by()
            .values_list("tenant_id", "order__store_id")
            .distinct()
        )
        polls = list(
            live.filter(confirmation=ConfirmationState.SUBMITTED)
            .order_by()
            .values_list("tenant_id", "order__store_id")
            .distinct()
        )
    return DueConfirmations(shipments=shipments, feeds=sorted(feeds), polls=sorted(polls))
