"""A store's life after connecting: Amazon's marketplace participations, the marketplaces ACORN reads,
authorisations that expire, rename, disconnect and delete. Every change is audited.

What each step keeps:

* An authorisation not completed within `AUTHORIZATION_EXPIRY` (1 h; the consent link itself is dead after
  15 min) has expired: the stub holds no plan seat, does not block its name, and is removed (it never had
  credentials or data) — `channels.store_state.stores_expire_pending`.
* Disconnect: ACORN's webhooks are removed from the shop or site (Shopify, WooCommerce; Amazon has no
  webhooks of ours), the tokens are deleted, syncs and stock pushes stop (a run in progress stops at its
  next page). Orders, refunds, returns, stock history and the sync log stay, for the books. A disconnected
  store holds no plan seat; it can be connected again (re-authorise / new keys) or deleted.
* Delete (owners and admins, only a store that is not active, after typing its name): the store and
  everything ACORN recorded from it go — orders with their lines, shipments and fulfilment requests,
  refunds and returns with their approvals, SKU mappings, sharing rules, refund-rate figures, the sync log,
  webhooks and quarantined records. Stock stays consistent: reservations held for its open orders are
  released and its FBA stock is taken out of the FBA warehouse, each by a stock movement; past stock
  movements stay in the ledger (their references name orders that no longer exist). The apps above
  channels say what they keep for a store and how it goes through `register_store_data` (filled in their
  AppConfig.ready()), and may refuse while something is in flight (a refund being executed, an order at
  a warehouse). The deletion runs in a task, in one transaction; the audit event keeps what was deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from acorn.audit.services import audit_record, snapshot
from acorn.notifications.messages import message
from acorn.notifications.services import notify
from acorn.tasks import enqueue_on_commit
from acorn.tenancy.models import Membership
from acorn.tenancy.permissions import ensure_permission
from channels.adapters.base import (
    Capability,
    ChannelAuthError,
    ChannelError,
    ChannelRetryableError,
    MarketplaceParticipationReading,
    WebhookReceiving,
)
from channels.adapters.registry import adapter_for, platform_is_regional, platform_supports
from channels.marketplaces import REGION_MARKETPLACES, marketplace_code
from channels.models import (
    Region,
    Store,
    StoreCredential,
    StoreStatus,
    SyncCursor,
)
from channels.services import store_authorize, webhook_url
from channels.store_state import store_mark_auth_interrupted, stores_expire_pending

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from channels.adapters.amazon import MarketplaceParticipation

logger = logging.getLogger(__name__)


def _ensure_manager(store: Store, membership: Membership | None) -> None:
    if membership is None:
        return  # a command or a task acting for the platform
    ensure_permission(membership, "stores.manage")
    if store.tenant_id != membership.tenant_id:
        raise PermissionDenied


def _sync_in_progress(store: Store) -> bool:
    return SyncCursor.objects.filter(store=store, lease_until__gt=timezone.now()).exists()


# --- Amazon marketplace participations ---------------------------------------------------------------


@transaction.atomic
def store_record_participations(*, store: Store, participations: Sequence[MarketplaceParticipation]) -> Store:
    """Keep what getMarketplaceParticipations said (the marketplaces of the store's region that ACORN
    knows, and any others as they came). Audited when it changed."""
    before = snapshot(store, ["participations"])
    store.participations = [p.as_json() for p in participations]
    store.participations_checked_at = timezone.now()
    store.save(update_fields=["participations", "participations_checked_at"])
    if before["participations"] != store.participations:
        audit_record(
            tenant=store.tenant,
            actor=None,
            action="store.participations_checked",
            target=store,
            before=before,
            after={
                "participations": store.participations,
                "not_participating": store.marketplaces_not_participating(),
            },
        )
    return store


def store_refresh_participations(*, store: Store) -> Store:
    """Ask Amazon which marketplaces the seller participates in and keep the answer. Raises ChannelError
    (after turning the store to auth_interrupted when the authorisation is gone)."""
    if not platform_supports(store.platform, Capability.READ_MARKETPLACE_PARTICIPATIONS):
        raise ValidationError(_("Only Amazon stores have marketplace participations."))
    adapter = adapter_for(store, secrets=store.credential.secrets)  # type: ignore[arg-type]
    try:
        participations = adapter.require(MarketplaceParticipationReading).fetch_marketplace_participations()
    except ChannelAuthError as error:
        store_mark_auth_interrupted(store=store, reason=str(error))
        raise
    finally:
        adapter.close()
    return store_record_participations(store=store, participations=participations)


def store_complete_amazon_authorization(
    *, store: Store, actor: User | None, seller_id: str, refresh_token: str, queue_sync: bool = True
) -> Store:
    """The seller authorised ACORN on Seller Central (connect or re-authorise): keep the refresh token,
    activate the store, then ask Amazon which marketplaces the seller participates in. A failed question
    does not undo the authorisation: it is asked again in a task."""
    store = store_authorize(
        store=store,
        actor=actor,
        seller_id=seller_id,
        secrets={"refresh_token": refresh_token},
        queue_sync=queue_sync,
    )
    try:
        store_refresh_participations(store=store)
    except ChannelRetryableError as error:
        logger.info("amazon_participations_deferred", extra={"store_id": store.pk, "error_code": error.code})
        enqueue_on_commit("channels.refresh_participations", tenant_id=store.tenant_id, store_id=store.pk)
    except ChannelError as error:
        logger.warning("amazon_participations_failed", extra={"store_id": store.pk, "error_code": error.code})
    return store


def marketplace_choices_for(store: Store) -> list[str]:
    """The marketplaces a person may choose for an Amazon store: those of its region that the seller
    participates in (all of the region's while Amazon has not been asked)."""
    regional = list(REGION_MARKETPLACES.get(store.region, ()))
    participating = store.participating_codes()
    if participating is None:
        return regional
    return [code for code in regional if code in participating]


@transaction.atomic
def store_update_marketplaces(
    *, store: Store, actor: User | None, membership: Membership | None, marketplaces: Sequence[str]
) -> Store:
    """Choose which of the seller's marketplaces ACORN reads. Added marketplaces bring their history: the
    store's cursors start again from the initial history (re-reading what is known changes nothing)."""
    _ensure_manager(store, membership)
    if not platform_is_regional(store.platform):
        raise ValidationError(_("Only Amazon stores have marketplaces."))
    codes = list(dict.fromkeys(marketplace_code(value) or value.strip().upper() for value in marketplaces))
    allowed = marketplace_choices_for(store)
    wrong = [code for code in codes if code not in allowed]
    if not codes or wrong:
        raise ValidationError(
            {
                "marketplaces": _("Choose among the marketplaces this seller sells on in %(region)s: %(allowed)s.")
                % {"region": Region(store.region).label, "allowed": ", ".join(allowed) or "—"}
            }
        )
    added = [code for code in codes if code not in store.marketplaces]
    if added and _sync_in_progress(store):
        raise ValidationError(_("A sync of this store is running. Try again when it has finished."))
    before = snapshot(store, ["marketplaces"])
    store.marketplaces = codes
    store.save(update_fields=["marketplaces"])
    if added:
        SyncCursor.objects.filter(store=store).update(
            high_water=None, window_start=None, window_end=None, page_token="", next_run_at=timezone.now()
        )
    audit_record(
        tenant=store.tenant,
        actor=actor,
        action="store.marketplaces_changed",
        target=store,
        before=before,
        after={"marketplaces": codes, "added": added},
    )
    return store


# --- rename ---------------------------------------------------------------------------------------------


@transaction.atomic
def store_rename(*, store: Store, actor: User | None, membership: Membership | None, name: str) -> Store:
    """Give the store another name (unique in the tenant, case-insensitively). Audited."""
    _ensure_manager(store, membership)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Enter a name.")})
    if name == store.name:
        return store
    stores_expire_pending(tenant=store.tenant)  # an abandoned authorisation does not keep a name
    taken = Store.objects.filter(tenant_id=store.tenant_id, name__iexact=name).exclude(pk=store.pk)
    if taken.exists():
        raise ValidationError({"name": _("A store with this name exists already.")})
    before = snapshot(store, ["name"])
    store.name = name
    store.full_clean(validate_unique=False, validate_constraints=False)
    store.save(update_fields=["name"])
    audit_record(
        tenant=store.tenant, actor=actor, action="store.renamed", target=store, before=before, after={"name": name}
    )
    return store


# --- disconnect -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disconnected:
    store: Store
    webhooks_removed: tuple[str, ...]
    webhook_problem: str  # "" when the webhooks went (or there were none to remove)


def _remove_webhooks(store: Store) -> tuple[tuple[str, ...], str]:
    """Delete ACORN's webhooks on the shop or site, with the store's credentials, before they are deleted."""
    if not platform_supports(store.platform, Capability.RECEIVE_WEBHOOKS) or store.status != StoreStatus.ACTIVE:
        return (), ""
    credential = StoreCredential.objects.filter(store=store).first()
    if credential is None:
        return (), ""
    try:
        adapter = adapter_for(store, secrets=credential.secrets)
    except ChannelError as error:
        return (), str(error)
    try:
        removed = adapter.require(WebhookReceiving).unregister_webhooks(delivery_url=webhook_url(store))
    except ChannelError as error:
        return (), str(error)[:300]
    finally:
        adapter.close()
    return tuple(str(item) for item in removed), ""


def store_disconnect(*, store: Store, actor: User | None, membership: Membership | None) -> Disconnected:
    """Disconnect a store: webhooks removed where the platform has them (best effort: a shop that cannot be
    reached keeps sending, and ACORN refuses the deliveries of a disconnected store), tokens deleted, syncs
    stopped; its data stays and it frees a plan seat. Audited."""
    _ensure_manager(store, membership)
    if store.status == StoreStatus.DISABLED:
        return Disconnected(store, (), "")
    removed, problem = _remove_webhooks(store)  # vendor calls: before the transaction, no lock held
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        before = snapshot(store, ["status", "status_reason"])
        store.status = StoreStatus.DISABLED
        store.status_reason = _("Disconnected by %(who)s") % {"who": _actor_label(actor)}
        store.save(update_fields=["status", "status_reason"])
        StoreCredential.objects.filter(store=store).delete()
        SyncCursor.objects.filter(store=store).update(next_run_at=None)
        audit_record(
            tenant=store.tenant,
            actor=actor,
            action="store.disconnected",
            target=store,
            before=before,
            after={"status": store.status, "webhooks_removed": list(removed), "webhook_problem": problem},
        )
    return Disconnected(store, removed, problem)


def _actor_label(actor: User | None) -> str:
    if actor is None or not actor.is_authenticated:
        return _("the system")
    return getattr(actor, "email", "") or str(actor)


# --- delete ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreData:
    """What an app above channels keeps for a store, and how it goes when the store is deleted."""

    key: str
    position: int  # lower first: refunds (they protect orders), then stock, then orders
    count: Callable[[Store], dict[str, int]]  # what would go, by label key, for the confirmation page
    remove: Callable[[Store], dict[str, int]]  # deletes it, inside the deletion's transaction
    blocker: Callable[[Store], str] = lambda store: ""  # why it cannot go now ("" when it can)


_STORE_DATA: dict[str, StoreData] = {}


def register_store_data(data: StoreData) -> None:
    """Called from an app's AppConfig.ready(): its data goes with a deleted store."""
    _STORE_DATA[data.key] = data


def _store_data() -> list[StoreData]:
    return sorted(_STORE_DATA.values(), key=lambda data: (data.position, data.key))


def store_deletion_preview(*, store: Store) -> dict[str, int]:
    """What deleting the store would remove, by kind (only kinds with something to remove)."""
    counts: dict[str, int] = {}
    for data in _store_data():
        for label, number in data.count(store).items():
            if number:
                counts[label] = counts.get(label, 0) + number
    counts["sync_runs"] = store.sync_runs.count()
    return {label: number for label, number in counts.items() if number}


def store_deletion_blockers(*, store: Store) -> list[str]:
    """Why the store cannot be deleted now (empty when it can)."""
    reasons = []
    if store.status == StoreStatus.ACTIVE:
        reasons.append(_("Disconnect the store first: that stops its syncs and removes ACORN's webhooks."))
    if _sync_in_progress(store):
        reasons.append(_("A sync of this store is finishing. Try again in a minute."))
    reasons.extend(reason for data in _store_data() if (reason := data.blocker(store)))
    return reasons


@transaction.atomic
def store_request_deletion(
    *, store: Store, actor: User | None, membership: Membership | None, confirm_name: str
) -> Store:
    """The person typed the store's name: check that it can go and queue the deletion. Audited."""
    _ensure_manager(store, membership)
    if confirm_name.strip() != store.name:
        raise ValidationError({"confirm_name": _("Type the store's name exactly as shown to confirm.")})
    blockers = store_deletion_blockers(store=store)
    if blockers:
        raise ValidationError(blockers)
    if store.delete_requested_at is None:
        store.delete_requested_at = timezone.now()
        store.save(update_fields=["delete_requested_at"])
    audit_record(
        tenant=store.tenant,
        actor=actor,
        action="store.delete_requested",
        target=store,
        after={"will_remove": store_deletion_preview(store=store)},
    )
    actor_pk = actor.pk if actor is not None and actor.is_authenticated else None
    enqueue_on_commit("channels.delete_store", tenant_id=store.tenant_id, store_id=store.pk, actor_id=actor_pk)
    return store


def store_delete(*, store: Store, actor: User | None) -> dict[str, int]:
    """Delete the store and its data in one transaction (see the module docstring); returns what went.
    Refused (ValidationError, the request cleared, the managers told) when something blocks it now."""
    name = store.name
    try:
        with transaction.atomic():
            locked = Store.objects.select_for_update().get(pk=store.pk)
            blockers = store_deletion_blockers(store=locked)
            if blockers:
                raise ValidationError(blockers)
            removed: dict[str, int] = {}
            for data in _store_data():
                for label, number in data.remove(locked).items():
                    removed[label] = removed.get(label, 0) + number
            removed["sync_runs"] = locked.sync_runs.count()
            audit_record(
                tenant=locked.tenant,
                actor=actor,
                action="store.deleted",
                target=locked,
                before=snapshot(locked, ["platform", "name", "region", "marketplaces", "seller_id", "endpoint"]),
                after={"removed": removed},
            )
            try:
                locked.delete()
            except ProtectedError as protected:
                kinds = sorted({str(obj._meta.verbose_name_plural) for obj in protected.protected_objects})
                raise ValidationError(
                    _("Records still refer to this store (%(kinds)s); it was not deleted.")
                    % {"kinds": ", ".join(str(kind) for kind in kinds)}
                ) from None
    except ValidationError as error:
        Store.objects.filter(pk=store.pk).update(delete_requested_at=None)
        notify(
            tenant=store.tenant,
            kind="store_deleted",
            title=message(gettext_noop("“%(store)s” was not deleted"), store=name),
            body=" ".join(error.messages),
            link=reverse("channels:store-detail", args=[store.pk]),
        )
        raise
    notify(
        tenant=store.tenant,
        kind="store_deleted",
        title=message(gettext_noop("“%(store)s” was deleted"), store=name),
        body=message(
            gettext_noop("The store and the data ACORN kept from it were deleted; the audit log keeps what went.")
        ),
        link=reverse("channels:store-list"),
    )
    return removed
