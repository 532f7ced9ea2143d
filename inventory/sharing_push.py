"""Pushing a store's quantities to its channel (see `inventory.sharing` for what they should be).

One run per store at a time (a cache lease; no lock is held across vendor HTTP). A run first refreshes every
listing of the store, then sends each due listing the way its channel keeps quantities (the adapter's
StockPushing interface says which):

* per inventory item and location, compare-and-set (Shopify `inventorySetQuantities`, `changeFromQuantity` =
  what ACORN last saw there, with an idempotency key). A conflict (the shop's quantity changed meanwhile) is
  logged, the shop and ACORN are read again, and the new quantity is set against the new one, at most
  CONFLICT_ROUNDS times. The quantity is set at the shop's primary location (or at the variant's only one).
* per product or variation, set outright (WooCommerce `stock_quantity`).
* per seller SKU in every marketplace of the store (Amazon's merchant-fulfilled quantity through Listings
  Items). A refusal (INVALID, e.g. a listing fulfilled by Amazon only) makes the listing REJECTED with the
  issues, not sent again until its target changes.

Every call is one StockPush row. A failure (retryable, rate limited, or refused call) makes the listing
FAILED with an exponential backoff, sent again by the beat task when due, and left FAILED — visible — after
ACORN_STOCK_PUSH_MAX_ATTEMPTS. When the channel is down or throttling, the rest of the run waits with it.
Writes draw from the channel's token bucket (channels.ratelimit: Listings Items 5/s, burst 10), and a run
stops at the sync time budget ("partial"), leaving the rest due for the next run, which the task queues.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.crypto import DecryptionError
from acorn.retry import backoff_seconds
from channels import ratelimit
from channels.adapters.base import (
    ChannelAdapter,
    ChannelAuthError,
    ChannelError,
    ChannelRateLimited,
    ChannelRetryableError,
    ChannelStock,
    ListingStockPushing,
    LocationStockPushing,
    ProductStockPushing,
    StockPushing,
)
from channels.adapters.registry import adapter_for
from channels.models import Store, StoreStatus
from channels.store_state import store_mark_auth_interrupted
from inventory.models import ChannelListing, PushOutcome, PushState, SharingRule, SkuMapping, StockPush
from inventory.sharing import debounce_key, lease_key, listings_refresh, recompute_listings

logger = logging.getLogger(__name__)

# Compare-and-set rounds in one push: read, set, and on a conflict read again.
CONFLICT_ROUNDS = 3
# The longest wait between two attempts of a failed push.
MAX_BACKOFF_SECONDS = 3600


class _OutOfTime(Exception):
    """The run's time budget is spent: the listings left stay due for the next run."""


@dataclass
class PushSummary:
    """What one push run did."""

    # done / partial (time budget spent) / busy / push_off / store_inactive / nothing_due / auth_failed / failed
    status: str = "done"
    applied: int = 0
    in_sync: int = 0
    conflicts: int = 0
    failed: int = 0
    rejected: int = 0
    deferred: int = 0


def _due_listings(store: Store, now: datetime) -> list[ChannelListing]:
    due = Q(state=PushState.PENDING, next_attempt_at__isnull=True) | Q(
        state__in=[PushState.PENDING, PushState.FAILED], next_attempt_at__lte=now
    )
    return list(
        ChannelListing.objects.filter(store=store)
        .filter(due)
        .exclude(mapping__fulfilled_by_channel=True)
        .select_related("mapping__product")
        .order_by("pk")
    )


def _fresh(listing: ChannelListing) -> ChannelListing:
    return ChannelListing.objects.select_related("mapping__product").get(pk=listing.pk)


def _push_key(listing: ChannelListing, target: int | None, expected: int | None) -> str:
    """Stable for one (listing, round, target, expected): a run repeated after a lost answer sends the same
    key (Shopify replays it instead of changing twice); any later round sends a new one."""
    last = listing.pushes.aggregate(last=Max("pk"))["last"] or 0
    seen = "x" if expected is None else str(expected)
    return f"acorn-stock-{listing.tenant_id}-{listing.pk}-{last}-{target}-{seen}"


def _log(
    listing: ChannelListing, *, outcome: str, quantity: int, previous: int | None, key: str, message: str = ""
) -> StockPush:
    return StockPush.objects.create(
        tenant_id=listing.tenant_id,
        listing=listing,
        store_id=listing.store_id,
        quantity=quantity,
        previous=previous,
        outcome=outcome,
        message=message[:2000],
        key=key[:100],
    )


def _locked(listing: ChannelListing) -> ChannelListing:
    return ChannelListing.objects.select_for_update().get(pk=listing.pk)


def _settle(row: ChannelListing, now: datetime) -> None:
    """After the channel's quantity is known: in step when it equals the target, else (still) due."""
    if row.target_quantity is not None and row.channel_quantity == row.target_quantity:
        row.state, row.attempts, row.next_attempt_at, row.last_error = PushState.IN_SYNC, 0, None, ""


def _observed(
    listing: ChannelListing, *, quantity: int | None, stock_id: str | None = None, location_id: str | None = None
) -> ChannelListing:
    """Record what the channel shows now (and where the quantity lives there)."""
    now = timezone.now()
    with transaction.atomic():
        row = _locked(listing)
        row.channel_quantity = quantity
        if stock_id is not None:
            row.inventory_item_id = stock_id[:80]
        if location_id is not None:
            row.location_id = location_id[:80]
        _settle(row, now)
        row.updated_at = now
        row.save(
            update_fields=[
                "channel_quantity",
                "inventory_item_id",
                "location_id",
                "state",
                "attempts",
                "next_attempt_at",
                "last_error",
                "updated_at",
            ]
        )
    return _fresh(listing)


def _applied(listing: ChannelListing, *, quantity: int, previous: int | None, key: str, log: bool = True) -> None:
    """The channel now shows `quantity`: in step, unless the target moved while the call was out."""
    now = timezone.now()
    with transaction.atomic():
        row = _locked(listing)
        row.channel_quantity, row.pushed_at, row.updated_at = quantity, now, now
        row.attempts, row.next_attempt_at, row.last_error = 0, None, ""
        row.state = PushState.IN_SYNC if row.target_quantity == quantity else PushState.PENDING
        row.save(
            update_fields=[
                "channel_quantity",
                "pushed_at",
                "attempts",
                "next_attempt_at",
                "last_error",
                "state",
                "updated_at",
            ]
        )
        if log:
            _log(row, outcome=PushOutcome.APPLIED, quantity=quantity, previous=previous, key=key)


def _rejected(listing: ChannelListing, *, reason: str, quantity: int | None, key: str = "", sent: bool = True) -> None:
    """The channel refuses this listing's quantity: not sent again until the target changes (or a retry)."""
    now = timezone.now()
    with transaction.atomic():
        row = _locked(listing)
        row.state, row.attempts, row.next_attempt_at = PushState.REJECTED, 0, None
        row.last_error, row.updated_at = reason[:2000], now
        row.save(update_fields=["state", "attempts", "next_attempt_at", "last_error", "updated_at"])
        if sent:
            _log(
                row,
                outcome=PushOutcome.REJECTED,
                quantity=quantity if quantity is not None else -1,
                previous=row.channel_quantity,
                key=key,
                message=reason,
            )


def _backoff(attempts: int, retry_after: int | None = None) -> timedelta:
    first = settings.ACORN_STOCK_PUSH_RETRY_SECONDS
    return timedelta(seconds=backoff_seconds(attempts, first=first, cap=MAX_BACKOFF_SECONDS, at_least=retry_after))


def _failed(
    listing: ChannelListing, *, error: str, retry_after: int | None = None, key: str = "", sent: bool = True
) -> datetime | None:
    """One failed attempt: FAILED, retried after a backoff until the attempts run out. Returns the retry time."""
    now = timezone.now()
    with transaction.atomic():
        row = _locked(listing)
        row.attempts = min(row.attempts + 1, 32_000)
        exhausted = row.attempts >= settings.ACORN_STOCK_PUSH_MAX_ATTEMPTS
        row.state = PushState.FAILED
        row.next_attempt_at = None if exhausted else now + _backoff(row.attempts, retry_after)
        row.last_error, row.updated_at = error[:2000], now
        row.save(update_fields=["attempts", "state", "next_attempt_at", "last_error", "updated_at"])
        if sent:
            _log(
                row,
                outcome=PushOutcome.FAILED,
                quantity=row.target_quantity if row.target_quantity is not None else -1,
                previous=row.channel_quantity,
                key=key,
                message=error,
            )
    return row.next_attempt_at


def _defer(listings: Sequence[ChannelListing], until: datetime | None) -> int:
    """Listings not sent because the channel failed on an earlier one wait (in their state, attempts
    unchanged) until that one's retry, so a channel that is down is not called again every minute."""
    until = until or timezone.now() + timedelta(seconds=MAX_BACKOFF_SECONDS)
    return ChannelListing.objects.filter(
        pk__in=[listing.pk for listing in listings], state__in=[PushState.PENDING, PushState.FAILED]
    ).update(next_attempt_at=until)


def _adapter(store: Store) -> ChannelAdapter:
    try:
        secrets: dict[str, Any] = store.credential.secrets  # type: ignore[assignment]
    except Store.credential.RelatedObjectDoesNotExist:
        raise ChannelAuthError("The store has not been authorised.") from None
    except DecryptionError:
        raise ChannelError("The stored credentials cannot be decrypted with the configured keys.") from None
    return adapter_for(store, secrets=secrets)


class _Pusher:
    """One push run's vendor calls for one store; each method settles one listing."""

    def __init__(
        self,
        store: Store,
        adapter: StockPushing,
        summary: PushSummary,
        *,
        deadline: float,
        sleep: Callable[[float], None],
    ) -> None:
        self.store = store
        self.adapter = adapter
        self.summary = summary
        self.deadline = deadline
        self.sleep = sleep
        self._index: dict[str, list[ChannelStock]] | None = None
        self._location: str | None = None

    # --- finding a listing on the channel ---
    def _catalogue(self, reader: LocationStockPushing | ProductStockPushing) -> dict[str, list[ChannelStock]]:
        """The channel's stock records by id and by SKU (a Shopify variant has one per location), read once per
        run and only for listings not located yet."""
        if self._index is None:
            index: dict[str, list[ChannelStock]] = {}
            token: str | None = None
            while True:
                page = reader.fetch_stock(page_token=token)
                for item in page.items:
                    names = {f"id:{item.channel_product_id}", f"id:{item.channel_product_id.rpartition('/')[2]}"}
                    if item.sku:
                        names.add(f"sku:{item.sku}")
                    for name in names - {"id:"}:
                        index.setdefault(name, []).append(item)
                token = page.next_token
                if not token:
                    break
            self._index = index
        return self._index

    def _locate(self, reader: LocationStockPushing | ProductStockPushing, mapping: SkuMapping) -> list[ChannelStock]:
        """The mapping's stock records on the channel: by the channel's product id first, then by SKU."""
        index = self._catalogue(reader)
        found = index.get(f"id:{mapping.channel_product_id}", []) if mapping.channel_product_id else []
        if not found and mapping.channel_sku:
            found = index.get(f"sku:{mapping.channel_sku}", [])
        variants = {item.channel_product_id for item in found}
        return found if len(variants) == 1 else []  # nothing, or an ambiguous SKU: never guess

    def _primary_location(self, shop: LocationStockPushing) -> str:
        if self._location is None:
            self._location = shop.primary_location_id()
        return self._location

    def _throttle(self) -> None:
        """Wait for a token of the channel's write bucket (its published rate); out of time: stop the run."""
        operation = self.adapter.stock_write_operation
        while wait_ms := ratelimit.rate_limit_acquire(store_id=self.store.pk, operation=operation):
            if time.monotonic() + wait_ms / 1000 > self.deadline:
                raise _OutOfTime
            self.sleep(wait_ms / 1000)

    def penalize(self) -> None:
        """After a 429, the next write waits a full token."""
        ratelimit.rate_limit_penalize(store_id=self.store.pk, operation=self.adapter.stock_write_operation)

    @staticmethod
    def _name(mapping: SkuMapping) -> str:
        return mapping.channel_sku or mapping.channel_product_id

    def push(self, listing: ChannelListing) -> None:
        """Send one listing the way its channel keeps quantities."""
        adapter = self.adapter
        if isinstance(adapter, LocationStockPushing):
            self._per_location(adapter, listing)
        elif isinstance(adapter, ProductStockPushing):
            self._per_product(adapter, listing)
        elif isinstance(adapter, ListingStockPushing):
            self._per_marketplace(adapter, listing)
        else:
            raise ChannelError(_("This channel cannot take stock quantities."))

    # --- per location, compare-and-set (Shopify) ---
    def _per_location(self, shop: LocationStockPushing, listing: ChannelListing) -> None:
        if not (listing.inventory_item_id and listing.location_id):
            levels = self._locate(shop, listing.mapping)
            if not levels:
                self._reject_unknown(listing, _("Shopify has no variant %(name)s (or more than one)."))
                return
            # ACORN sets the quantity at the shop's primary location (the only one, if it is stocked at one).
            primary = self._primary_location(shop)
            found = next((level for level in levels if level.location_id == primary), None)
            if found is None and len(levels) == 1:
                found = levels[0]
            if found is None or not found.inventory_item_id or not found.location_id:
                self._reject_unknown(listing, _("%(name)s is not stocked at the shop's primary location."))
                return
            if found.available is None:
                self._reject_unknown(listing, _("Shopify does not track the stock of %(name)s."))
                return
            listing = _observed(
                listing, quantity=found.available, stock_id=found.inventory_item_id, location_id=found.location_id
            )
        elif listing.channel_quantity is None:
            listing = self._reread(shop, listing)
        for _round in range(CONFLICT_ROUNDS):
            if listing.state in (PushState.IN_SYNC, PushState.REJECTED) or listing.target_quantity is None:
                self.summary.in_sync += int(listing.state == PushState.IN_SYNC)
                return
            target, expected = listing.target_quantity, listing.channel_quantity
            key = _push_key(listing, target, expected)
            self._throttle()
            result = shop.set_available(
                inventory_item_id=listing.inventory_item_id,
                location_id=listing.location_id,
                quantity=target,
                expected=expected,
                key=key,
            )
            if result.applied:
                _applied(listing, quantity=target, previous=expected, key=key)
                self.summary.applied += 1
                return
            # Someone changed the shop's quantity since ACORN read it: read it again, decide again.
            self.summary.conflicts += 1
            with transaction.atomic():
                _log(
                    listing,
                    outcome=PushOutcome.CONFLICT,
                    quantity=target,
                    previous=expected,
                    key=key,
                    message=result.message,
                )
            listing = self._reread(shop, listing)
            changed = recompute_listings(store=self.store, listings=[listing])
            listing = _fresh(listing) if changed else listing
        if listing.state == PushState.IN_SYNC:
            self.summary.in_sync += 1
            return
        retry = _failed(
            listing,
            error=_("The quantity kept changing on Shopify (%(rounds)d tries); trying again later.")
            % {"rounds": CONFLICT_ROUNDS},
            sent=False,
        )
        self.summary.failed += 1
        logger.info("stock_push_conflicts", extra={"listing_id": listing.pk, "retry_at": retry})

    def _reread(self, shop: LocationStockPushing, listing: ChannelListing) -> ChannelListing:
        current = shop.fetch_item_stock(inventory_item_id=listing.inventory_item_id, location_id=listing.location_id)
        if current is None or current.available is None:
            # Gone from that location or no longer tracked: find it again next time.
            listing = _observed(listing, quantity=None, stock_id="", location_id="")
            self._reject_unknown(listing, _("Shopify no longer tracks %(name)s at the location ACORN sets."))
            return _fresh(listing)
        return _observed(listing, quantity=current.available)

    def _reject_unknown(self, listing: ChannelListing, message: str) -> None:
        _rejected(
            listing,
            reason=message % {"name": self._name(listing.mapping)},
            quantity=listing.target_quantity,
            sent=False,
        )
        self.summary.rejected += 1

    # --- per product, set outright (WooCommerce) ---
    def _per_product(self, site: ProductStockPushing, listing: ChannelListing) -> None:
        mapping = listing.mapping
        if not listing.inventory_item_id:
            if "/" in mapping.channel_product_id:
                listing = _observed(listing, quantity=listing.channel_quantity, stock_id=mapping.channel_product_id)
            else:
                located = self._locate(site, mapping)
                if not located:
                    self._reject_unknown(listing, _("WooCommerce has no product %(name)s (or more than one)."))
                    return
                found = located[0]
                listing = _observed(listing, quantity=found.available, stock_id=found.channel_product_id)
        if listing.state == PushState.IN_SYNC or listing.target_quantity is None:
            self.summary.in_sync += 1
            return
        target, previous = listing.target_quantity, listing.channel_quantity
        key = _push_key(listing, target, previous)
        self._throttle()
        result = site.set_stock(channel_product_id=listing.inventory_item_id, quantity=target)
        if result.applied:
            _applied(listing, quantity=target, previous=previous, key=key)
            self.summary.applied += 1
        else:
            _rejected(
                listing,
                reason=_("WooCommerce kept the stock at %(current)s.") % {"current": result.current},
                quantity=target,
                key=key,
            )
            self.summary.rejected += 1

    # --- per seller SKU in each marketplace (Amazon merchant-fulfilled listings) ---
    def _per_marketplace(self, seller: ListingStockPushing, listing: ChannelListing) -> None:
        mapping = listing.mapping
        target, previous = listing.target_quantity, listing.channel_quantity
        if target is None:
            return
        if not mapping.channel_sku:
            self._reject_unknown(listing, _("Amazon listings are set by seller SKU; %(name)s has none."))
            return
        if not self.store.marketplaces:
            self._reject_unknown(listing, _("The store sells in no marketplace: %(name)s cannot be set."))
            return
        key = _push_key(listing, target, previous)
        refused: list[str] = []
        for marketplace in self.store.marketplaces:
            self._throttle()
            update = seller.set_mfn_quantity(sku=mapping.channel_sku, marketplace=marketplace, quantity=target)
            if update.accepted:
                with transaction.atomic():
                    _log(
                        listing,
                        outcome=PushOutcome.APPLIED,
                        quantity=target,
                        previous=previous,
                        key=key,
                        message=f"{marketplace}: {update.status} {update.submission_id}".strip(),
                    )
            else:
                issues = "; ".join(update.issues) or update.status
                refused.append(f"{marketplace}: {issues}")
        if refused:
            _rejected(listing, reason=" | ".join(refused), quantity=target, key=key)
            self.summary.rejected += 1
            return
        _applied(listing, quantity=target, previous=previous, key=key, log=False)
        self.summary.applied += 1


def store_stock_push(
    *, store: Store, time_budget_seconds: float | None = None, sleep: Callable[[float], None] = time.sleep
) -> PushSummary:
    """Refresh the store's listings and send every due quantity to the channel (see the module docstring).
    One run per store at a time, within the sync time budget ("partial": the rest is still due); safe to run
    twice (what is in step is not sent again)."""
    budget = settings.ACORN_SYNC_TIME_BUDGET_SECONDS if time_budget_seconds is None else time_budget_seconds
    deadline = time.monotonic() + budget
    # The lease outlives the task's hard time limit, so a killed worker's lease expires by itself.
    if not cache.add(lease_key(store), "1", timeout=settings.CELERY_TASK_TIME_LIMIT + 60):
        return PushSummary(status="busy")
    try:
        cache.delete(debounce_key(store))  # changes from now on queue the next push
        listings_refresh(store=store)
        if not SharingRule.objects.filter(store=store, push_enabled=True).exists():
            return PushSummary(status="push_off")
        if store.status != StoreStatus.ACTIVE:
            return PushSummary(status="store_inactive")
        due = _due_listings(store, timezone.now())
        if not due:
            return PushSummary(status="nothing_due")
        return _push_all(store, due, deadline=deadline, sleep=sleep)
    finally:
        cache.delete(lease_key(store))


def _push_all(
    store: Store, due: list[ChannelListing], *, deadline: float, sleep: Callable[[float], None]
) -> PushSummary:
    summary = PushSummary()
    try:
        adapter = _adapter(store)
    except ChannelError as error:
        if isinstance(error, ChannelAuthError):
            store_mark_auth_interrupted(store=store, reason=str(error))
        for listing in due:
            _failed(listing, error=str(error), sent=False)
        return PushSummary(status="auth_failed" if isinstance(error, ChannelAuthError) else "failed", failed=len(due))
    try:
        pushing = adapter.require(StockPushing)
    except ChannelError as error:
        adapter.close()
        for listing in due:
            _failed(listing, error=str(error), sent=False)
        return PushSummary(status="failed", failed=len(due))
    pusher = _Pusher(store, pushing, summary, deadline=deadline, sleep=sleep)
    try:
        for index, listing in enumerate(due):
            try:
                if time.monotonic() > deadline:
                    raise _OutOfTime
                pusher.push(listing)
            except _OutOfTime:
                summary.status = "partial"
                break
            except ChannelAuthError as error:
                _failed(listing, error=str(error), key="", sent=True)
                summary.failed += 1
                store_mark_auth_interrupted(store=store, reason=str(error))
                summary.status = "auth_failed"
                break
            except ChannelRetryableError as error:
                # The channel is down or throttling: this one retries later, the rest wait with it.
                if isinstance(error, ChannelRateLimited):
                    pusher.penalize()
                retry_at = _failed(listing, error=str(error), retry_after=error.retry_after)
                summary.failed += 1
                summary.deferred += _defer(due[index + 1 :], retry_at)
                break
            except ChannelError as error:
                _failed(listing, error=str(error))
                summary.failed += 1
    finally:
        adapter.close()
    logger.info(
        "stock_push_done",
        extra={
            "tenant_id": store.tenant_id,
            "store_id": store.pk,
            "applied": summary.applied,
            "conflicts": summary.conflicts,
            "failed": summary.failed,
            "rejected": summary.rejected,
        },
    )
    return summary
