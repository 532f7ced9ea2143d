"""Sharing the stock pool with the channels: what each mapped channel SKU should show, the store's rule,
and when its quantities are pushed (the push itself is in `inventory.sharing_push`).

What a listing should show (`listed_quantity`), from the store's SharingRule:

    available = sum of (on_hand - reserved) over the rule's warehouses (none chosen: every active own and
                third-party warehouse; never FBA, whose stock Amazon sells itself)
                a bundle: min over its components of floor(component available / units per bundle)
    shared    = floor(max(0, available - safety_buffer) * share_percent / 100)
    listed    = min(floor(shared / quantity_multiplier), max_listed)

A mapping fulfilled by the channel (Amazon FBA) is never pushed: its listing is NOT_PUSHED.

When stock moves, `inventory.events.stock_changed` has `listings_follow_stock` recompute the affected listings
after the transaction commits (no listing row is locked inside a stock transaction, so order ingest never
waits on, or deadlocks with, a push) and queues one push per store, debounced: the first change takes a cache
key for the store and queues the push `ACORN_STOCK_PUSH_DEBOUNCE_SECONDS` later; changes while the key exists
ride on that push. The push deletes the key as it starts, so a change committed during a push queues the next
one. Mappings and the catalogue change elsewhere: every push, and the beat's periodic full refresh, recompute
all of a store's listings first (`listings_refresh`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope

from acorn.audit.services import audit_record
from acorn.tasks import enqueue_now
from channels.models import Store, StoreStatus
from inventory.models import (
    BundleComponent,
    ChannelListing,
    Product,
    PushState,
    SharingRule,
    SkuMapping,
    StockLevel,
    Warehouse,
    WarehouseKind,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from acorn.tenancy.models import Tenant


# The debounce key outlives its countdown by this much, in case the queue is slow to deliver.
DEBOUNCE_GRACE_SECONDS = 60

_STATE_FIELDS = ["target_quantity", "state", "attempts", "next_attempt_at", "last_error", "updated_at"]


# --- the arithmetic ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleTerms:
    """A sharing rule's numbers, with its warehouses resolved (the defaults when the store has no rule)."""

    share_percent: int = 100
    safety_buffer: int = 0
    max_listed: int | None = None
    warehouse_ids: frozenset[int] = frozenset()


def rule_terms(*, store: Store, rule: SharingRule | None) -> RuleTerms:
    """The rule's numbers and the warehouses that feed the store: the chosen ones that are active and not
    FBA, or, when none is chosen, every active own and third-party warehouse of the company."""
    warehouses = Warehouse.objects.filter(tenant_id=store.tenant_id, active=True).exclude(kind=WarehouseKind.FBA)
    if rule is not None and rule.pk is not None:
        chosen = list(rule.warehouses.values_list("pk", flat=True))
        if chosen:
            warehouses = warehouses.filter(pk__in=chosen)
        return RuleTerms(
            share_percent=rule.share_percent,
            safety_buffer=rule.safety_buffer,
            max_listed=rule.max_listed,
            warehouse_ids=frozenset(warehouses.values_list("pk", flat=True)),
        )
    return RuleTerms(warehouse_ids=frozenset(warehouses.values_list("pk", flat=True)))


def listed_quantity(*, available: int, terms: RuleTerms, multiplier: int = 1) -> int:
    """What a channel unit should show for `available` master units under the rule (never negative)."""
    shared = max(0, available - terms.safety_buffer) * terms.share_percent // 100
    listed = shared // max(1, multiplier)
    return listed if terms.max_listed is None else min(listed, terms.max_listed)


def available_units(*, tenant_id: int, products: Sequence[Product], warehouse_ids: Iterable[int]) -> dict[int, int]:
    """Units free to sell per product in these warehouses; for a bundle, how many complete bundles its
    components make (a bundle without components makes none)."""
    warehouse_ids = list(warehouse_ids)
    parts: dict[int, list[tuple[int, int]]] = defaultdict(list)
    bundle_ids = [product.pk for product in products if product.is_bundle]
    if bundle_ids:
        for bundle_id, component_id, quantity in BundleComponent.objects.filter(
            tenant_id=tenant_id, bundle_id__in=bundle_ids
        ).values_list("bundle_id", "component_id", "quantity"):
            parts[bundle_id].append((component_id, quantity))
    needed = {product.pk for product in products if not product.is_bundle}
    needed.update(component for pairs in parts.values() for component, _quantity in pairs)
    free: dict[int, int] = {}
    if needed and warehouse_ids:
        rows = (
            StockLevel.objects.filter(tenant_id=tenant_id, product_id__in=needed, warehouse_id__in=warehouse_ids)
            .order_by()
            .values("product_id")
            .annotate(free=Sum(F("on_hand") - F("reserved")))
            .values_list("product_id", "free")
        )
        free = {product_id: max(0, units or 0) for product_id, units in rows}
    result: dict[int, int] = {}
    for product in products:
        if product.is_bundle:
            pairs = parts.get(product.pk, [])
            result[product.pk] = min((free.get(part, 0) // quantity for part, quantity in pairs), default=0)
        else:
            result[product.pk] = free.get(product.pk, 0)
    return result


def mapping_targets(*, store: Store, mappings: Sequence[SkuMapping]) -> dict[int, int | None]:
    """Mapping pk → what its channel SKU should show now (None: fulfilled by the channel, never pushed)."""
    rule = SharingRule.objects.filter(store=store).first()
    terms = rule_terms(store=store, rule=rule)
    products = list({mapping.product_id: mapping.product for mapping in mappings}.values())
    free = available_units(tenant_id=store.tenant_id, products=products, warehouse_ids=terms.warehouse_ids)
    return {
        mapping.pk: None
        if mapping.fulfilled_by_channel
        else listed_quantity(available=free[mapping.product_id], terms=terms, multiplier=mapping.quantity_multiplier)
        for mapping in mappings
    }


# --- listings: targets and states ------------------------------------------------------------------------


def _apply_target(listing: ChannelListing, *, target: int | None, pushable: bool, now: datetime) -> bool:
    """Set the listing's target and the state that follows from it; True when anything changed."""
    before = (listing.target_quantity, listing.state, listing.attempts, listing.next_attempt_at, listing.last_error)
    if not pushable:
        listing.target_quantity, listing.state = None, PushState.NOT_PUSHED
        listing.attempts, listing.next_attempt_at = 0, None
    else:
        moved = target != listing.target_quantity
        listing.target_quantity = target
        if listing.channel_quantity is not None and target == listing.channel_quantity:
            listing.state, listing.attempts, listing.next_attempt_at = PushState.IN_SYNC, 0, None
            listing.last_error = ""  # the channel shows what it should: nothing is wrong any more
        elif listing.state == PushState.REJECTED and not moved:
            pass  # refused by the channel: not sent again until there is something else to say
        elif listing.state == PushState.FAILED and (not moved or listing.next_attempt_at is not None):
            pass  # its retry is scheduled and carries the new target; an exhausted one waits for a change
        elif listing.state == PushState.PENDING:
            pass  # a deferred push keeps its next attempt: a busy channel is not hammered on each change
        else:
            listing.state, listing.attempts, listing.next_attempt_at = PushState.PENDING, 0, None
    after = (listing.target_quantity, listing.state, listing.attempts, listing.next_attempt_at, listing.last_error)
    changed = before != after
    if changed:
        listing.updated_at = now
    return changed


def recompute_listings(*, store: Store, listings: Sequence[ChannelListing]) -> list[ChannelListing]:
    """Recompute the targets of these listings of one store; returns those whose target or state changed.
    Reads stock first, then locks the listings (pk order) only for the short write."""
    if not listings:
        return []
    mappings = [listing.mapping for listing in listings]
    targets = mapping_targets(store=store, mappings=mappings)
    by_listing = {
        listing.pk: (targets[listing.mapping_id], not listing.mapping.fulfilled_by_channel) for listing in listings
    }
    now = timezone.now()
    changed: list[ChannelListing] = []
    with transaction.atomic():
        for listing in ChannelListing.objects.filter(pk__in=by_listing).order_by("pk").select_for_update():
            target, pushable = by_listing[listing.pk]
            if _apply_target(listing, target=target, pushable=pushable, now=now):
                changed.append(listing)
        ChannelListing.objects.bulk_update(changed, fields=_STATE_FIELDS)
    return changed


def listings_refresh(*, store: Store) -> list[ChannelListing]:
    """Give every pushable mapping of the store a listing and recompute every listing's target (PENDING
    where it differs from what the channel shows). Returns the listings that changed."""
    mappings = list(SkuMapping.objects.filter(store=store).select_related("product"))
    known = set(ChannelListing.objects.filter(store=store).values_list("mapping_id", flat=True))
    missing = [
        ChannelListing(tenant_id=store.tenant_id, store=store, mapping=mapping, state=PushState.PENDING)
        for mapping in mappings
        if mapping.pk not in known and not mapping.fulfilled_by_channel
    ]
    if missing:
        ChannelListing.objects.bulk_create(missing, ignore_conflicts=True)  # a concurrent refresh made some
    listings = list(ChannelListing.objects.filter(store=store).select_related("mapping__product").order_by("pk"))
    return recompute_listings(store=store, listings=listings)


def listings_follow_stock(*, tenant_id: int, product_ids: list[int]) -> None:
    """Stock of these products moved (called after commit by inventory.events): the listings showing them
    (bundles using them included) get new targets and their stores a debounced push."""
    with scope(tenant=tenant_id):
        bundles = BundleComponent.objects.filter(tenant_id=tenant_id, component_id__in=product_ids).values("bundle_id")
        affected = list(
            ChannelListing.objects.filter(tenant_id=tenant_id)
            .filter(Q(mapping__product_id__in=product_ids) | Q(mapping__product_id__in=bundles))
            .select_related("store", "mapping__product")
            .order_by("pk")
        )
        by_store: dict[int, list[ChannelListing]] = defaultdict(list)
        for listing in affected:
            by_store[listing.store_id].append(listing)
        for listings in by_store.values():
            store = listings[0].store
            changed = recompute_listings(store=store, listings=listings)
            if any(listing.state == PushState.PENDING for listing in changed) and _push_allowed(store):
                stock_push_schedule(store=store)


def _push_allowed(store: Store) -> bool:
    return store.status == StoreStatus.ACTIVE and SharingRule.objects.filter(store=store, push_enabled=True).exists()


# --- the rule -------------------------------------------------------------------------------------------


@transaction.atomic
def sharing_rule_update(
    *,
    tenant: Tenant,
    store: Store,
    actor: User | None,
    share_percent: int,
    safety_buffer: int,
    max_listed: int | None,
    warehouses: Sequence[Warehouse],
    push_enabled: bool,
) -> SharingRule:
    """Create or change the store's sharing rule (validated, audited); targets are recomputed at once and,
    when pushing is on, a push is queued after commit."""
    if store.tenant_id != tenant.pk:
        raise ValidationError(_("This store belongs to another company."))
    errors: dict[str, str] = {}
    if not 0 <= share_percent <= 100:
        errors["share_percent"] = _("Share between 0 and 100 percent.")
    if safety_buffer < 0:
        errors["safety_buffer"] = _("The safety buffer cannot be negative.")
    if max_listed is not None and max_listed < 0:
        errors["max_listed"] = _("The maximum cannot be negative.")
    if any(warehouse.tenant_id != tenant.pk for warehouse in warehouses):
        errors["warehouses"] = _("Choose warehouses of this company.")
    elif any(warehouse.kind == WarehouseKind.FBA for warehouse in warehouses):
        errors["warehouses"] = _("FBA stock is sold by Amazon itself: choose your own or third-party warehouses.")
    if errors:
        raise ValidationError(errors)
    rule = SharingRule.objects.select_for_update().filter(store=store).first()
    before = _rule_snapshot(rule) if rule is not None else None
    rule = rule or SharingRule(tenant=tenant, store=store)
    rule.share_percent, rule.safety_buffer, rule.max_listed = share_percent, safety_buffer, max_listed
    rule.push_enabled, rule.updated_at = push_enabled, timezone.now()
    rule.full_clean(exclude=["tenant", "store"])
    rule.save()
    rule.warehouses.set(warehouses)
    after = _rule_snapshot(rule)
    audit_record(
        tenant=tenant, actor=actor, action="inventory.sharing_rule_changed", target=store, before=before, after=after
    )
    listings_refresh(store=store)
    if push_enabled:
        transaction.on_commit(lambda: _schedule_if_allowed(store), robust=True)
    return rule


def _rule_snapshot(rule: SharingRule) -> dict[str, Any]:
    return {
        "share_percent": rule.share_percent,
        "safety_buffer": rule.safety_buffer,
        "max_listed": rule.max_listed,
        "warehouses": sorted(rule.warehouses.values_list("name", flat=True)),
        "push_enabled": rule.push_enabled,
    }


def _schedule_if_allowed(store: Store, *, immediately: bool = False) -> None:
    with scope(tenant=store.tenant_id):
        if _push_allowed(store):
            stock_push_schedule(store=store, immediately=immediately)


# --- scheduling -----------------------------------------------------------------------------------------


def debounce_key(store: Store) -> str:
    return f"stock-push:{store.tenant_id}:{store.pk}:queued"


def lease_key(store: Store) -> str:
    return f"stock-push:{store.tenant_id}:{store.pk}:running"


def stock_push_schedule(*, store: Store, immediately: bool = False) -> bool:
    """Queue a push of the store's quantities, at most one per debounce window (`immediately`: now, and
    regardless of the window). Call it after commit. True when a task was queued."""
    delay = settings.ACORN_STOCK_PUSH_DEBOUNCE_SECONDS
    if not immediately and not cache.add(debounce_key(store), "1", timeout=delay + DEBOUNCE_GRACE_SECONDS):
        return False
    enqueue_now(
        "inventory.push_store_stock",
        countdown=0 if immediately else delay,
        tenant_id=store.tenant_id,
        store_id=store.pk,
    )
    return True


@transaction.atomic
def stock_push_request(*, tenant: Tenant, store: Store, actor: User | None) -> None:
    """The console's "push now": targets are recomputed and a push is queued at once. Audited."""
    if store.tenant_id != tenant.pk:
        raise ValidationError(_("This store belongs to another company."))
    if store.status != StoreStatus.ACTIVE:
        raise ValidationError(_("Only an active store can receive quantities. Authorise it first."))
    if not SharingRule.objects.filter(store=store, push_enabled=True).exists():
        raise ValidationError(_("Pushing is off for this store: turn it on in the rule first."))
    audit_record(tenant=tenant, actor=actor, action="inventory.stock_push_requested", target=store)
    transaction.on_commit(lambda: _schedule_if_allowed(store, immediately=True), robust=True)


@transaction.atomic
def listings_retry_failed(*, tenant: Tenant, store: Store, actor: User | None) -> int:
    """Failed and refused listings of the store are due again (attempts start over). Audited; returns how many."""
    if store.tenant_id != tenant.pk:
        raise ValidationError(_("This store belongs to another company."))
    retried = ChannelListing.objects.filter(store=store, state__in=[PushState.FAILED, PushState.REJECTED]).update(
        state=PushState.PENDING, attempts=0, next_attempt_at=None, updated_at=timezone.now()
    )
    if retried:
        audit_record(
            tenant=tenant, actor=actor, action="inventory.stock_push_retried", target=store, after={"listings": retried}
        )
        transaction.on_commit(lambda: _schedule_if_allowed(store, immediately=True), robust=True)
    return retried


def stores_with_due_pushes(*, now: datetime | None = None) -> list[int]:
    """Pks of stores (every tenant) with a listing due: waiting, or failed with its retry time come.
    Platform code for the beat fan-out: the caller disables the tenant scope."""
    now = now or timezone.now()
    due = Q(state=PushState.PENDING, next_attempt_at__isnull=True) | Q(
        state__in=[PushState.PENDING, PushState.FAILED], next_attempt_at__lte=now
    )
    return sorted(set(ChannelListing.objects.filter(due).values_list("store_id", flat=True)))
