"""All writes to stores and their credentials. Status changes are audited; money never passes here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from acorn.audit.services import audit_record, snapshot
from acorn.notifications.messages import message
from acorn.notifications.services import notify
from acorn.tasks import enqueue_now, enqueue_on_commit
from acorn.tenancy import plans
from acorn.tenancy.locks import tenant_lock
from acorn.tenancy.models import Membership, Tenant
from acorn.tenancy.permissions import ensure_permission
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels.adapters.base import (
    ChannelAuthError,
    ChannelCapabilityMissing,
    UnknownChannel,
    WebhookReceiving,
)
from channels.adapters.registry import adapter_class_for, adapter_classes, adapter_for, platform_reauthorizes
from channels.marketplaces import marketplace_code
from channels.models import (
    AMAZON_REGION_MARKETPLACES,
    REAUTHORIZATION_PERIOD,
    REAUTHORIZATION_WARNING,
    DataPermission,
    Region,
    Store,
    StoreCredential,
    StoreStatus,
    SyncCursor,
    SyncTrigger,
)
from channels.selectors import store_count_in_use
from channels.store_state import (
    store_mark_auth_interrupted,
    store_update_secrets,
    stores_expire_pending,
)
from channels.sync import sync_jobs_for

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _regional(platform: str) -> bool:
    """Whether one authorisation of the platform covers one selling region (an unknown platform is left to
    the model's validation)."""
    try:
        return adapter_class_for(platform).regional
    except UnknownChannel:
        return False


@transaction.atomic
def store_create(
    *,
    tenant: Tenant,
    actor: User | None,
    membership: Membership | None,
    platform: str,
    name: str,
    region: str = "",
    marketplaces: Sequence[str] = (),
    permissions: Sequence[str] = (),
    endpoint: str = "",
    seller_id: str = "",
) -> Store:
    """Create a store waiting for authorisation, within the plan's store limit. Audited.

    `seller_id` is known up front for Shopify (the shop domain) and WooCommerce (the site URL)."""
    if membership is not None:
        ensure_permission(membership, "stores.manage")
    tenant = tenant_lock(tenant)
    stores_expire_pending(tenant=tenant)  # an abandoned authorisation holds no seat and no name
    plans.ensure_store_capacity(tenant, stores_in_use=store_count_in_use(tenant=tenant))
    if Store.objects.filter(tenant=tenant, name__iexact=name.strip()).exists():
        raise ValidationError({"name": _("A store with this name exists already.")})
    if _regional(platform):
        if region not in Region.values:
            raise ValidationError({"region": _("Choose the Amazon region (North America, Europe or Far East).")})
        allowed = AMAZON_REGION_MARKETPLACES[region]
        marketplaces = list(dict.fromkeys(marketplace_code(code) or code for code in marketplaces))
        wrong = [code for code in marketplaces if code not in allowed]
        if wrong or not marketplaces:
            raise ValidationError(
                {
                    "marketplaces": _("Choose marketplaces of the %(region)s region: %(allowed)s.")
                    % {"region": Region(region).label, "allowed": ", ".join(allowed)}
                }
            )
    if seller_id:
        duplicate = Store.objects.filter(tenant=tenant, platform=platform, seller_id=seller_id).first()
        if duplicate is not None:
            raise ValidationError(
                {
                    "name": _("%(account)s is already connected as “%(store)s”.")
                    % {"account": seller_id, "store": duplicate.name}
                }
            )
    unknown = [p for p in permissions if p not in DataPermission.values]
    if unknown:
        raise ValidationError({"permissions": _("Unknown data permissions: %(names)s") % {"names": ", ".join(unknown)}})
    store = Store(
        tenant=tenant,
        platform=platform,
        name=name.strip(),
        region=region,
        marketplaces=list(marketplaces),
        permissions=list(permissions) or [DataPermission.ORDERS],
        endpoint=endpoint,
        seller_id=seller_id,
    )
    store.full_clean()
    store.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="store.created",
        target=store,
        after=snapshot(store, ["platform", "name", "region", "marketplaces", "permissions", "endpoint", "seller_id"]),
    )
    return store


@transaction.atomic
def store_authorize(
    *, store: Store, actor: User | None, seller_id: str, secrets: Mapping[str, Any], queue_sync: bool = True
) -> Store:
    """Keep the seller's credentials (encrypted), activate the store and queue its first sync."""
    if store.seller_id and seller_id and store.seller_id != seller_id:
        raise ValidationError(
            _(
                "This store is connected to seller %(old)s; Amazon authorised seller %(new)s. "
                "Connect the other seller as a new store."
            )
            % {"old": store.seller_id, "new": seller_id}
        )
    duplicate = (
        Store.objects.filter(
            tenant_id=store.tenant_id, platform=store.platform, region=store.region, seller_id=seller_id
        )
        .exclude(pk=store.pk)
        .first()
    )
    if seller_id and duplicate is not None:
        raise ValidationError(
            _("Seller %(seller)s is already connected as store “%(store)s”.")
            % {"seller": seller_id, "store": duplicate.name}
        )
    before = snapshot(store, ["status", "seller_id", "authorized_at"])
    credential, _created = StoreCredential.objects.get_or_create(
        tenant_id=store.tenant_id, store=store, defaults={"secrets": dict(secrets)}
    )
    if not _created:
        credential.secrets = {**(credential.secrets or {}), **dict(secrets)}
        credential.save(update_fields=["secrets", "updated_at"])
    store.seller_id = seller_id or store.seller_id
    store.status, store.status_reason = StoreStatus.ACTIVE, ""
    store.authorized_at = timezone.now()
    store.save(update_fields=["seller_id", "status", "status_reason", "authorized_at"])
    # Resume: a cursor stopped by an auth failure becomes due again, from where it stood.
    SyncCursor.objects.filter(store=store).update(next_run_at=timezone.now())
    audit_record(
        tenant=store.tenant,
        actor=actor,
        action="store.authorized",
        target=store,
        before=before,
        after=snapshot(store, ["status", "seller_id", "authorized_at"]),
    )
    if queue_sync:
        transaction.on_commit(lambda: store_enqueue_sync(store=store, trigger=SyncTrigger.CONNECT))
    return store


def store_enqueue_sync(
    *, store: Store, trigger: str = SyncTrigger.MANUAL, resources: Sequence[str] | None = None
) -> list[str]:
    """Queue a sync of each applicable resource now. Returns the resources queued."""
    queued = []
    for job in sync_jobs_for(store):
        if resources is not None and job.resource not in resources:
            continue
        enqueue_now(
            "channels.run_store_sync",
            tenant_id=store.tenant_id,
            store_id=store.pk,
            resource=job.resource,
            trigger=trigger,
        )
        queued.append(job.resource)
    return queued


@transaction.atomic
def store_request_sync(*, store: Store, actor: User, membership: Membership) -> list[str]:
    """'Sync now' from the console: queue every resource of an active store."""
    ensure_permission(membership, "stores.sync")
    if store.tenant_id != membership.tenant_id:
        raise PermissionDenied
    if store.status != StoreStatus.ACTIVE:
        raise ValidationError(_("Only an active store can be synced. Authorise it first."))
    queued: list[str] = []
    transaction.on_commit(lambda: queued.extend(store_enqueue_sync(store=store, trigger=SyncTrigger.MANUAL)))
    return queued


def stores_warn_reauthorization() -> int:
    """Once per authorisation, tell owners and admins 30 days before Amazon's yearly re-authorisation."""
    threshold = timezone.now() - (REAUTHORIZATION_PERIOD - REAUTHORIZATION_WARNING)
    yearly = sorted(channel.key for channel in adapter_classes() if platform_reauthorizes(channel.key))
    with dangerously_unscoped():
        due = list(
            Store.objects.filter(platform__in=yearly, status=StoreStatus.ACTIVE, authorized_at__lte=threshold)
            .exclude(reauthorization_warned_at__gte=F("authorized_at"))
            .select_related("tenant")
        )
    for store in due:
        with tenant_scope(store.tenant), transaction.atomic():
            claimed = Store.objects.filter(pk=store.pk).exclude(reauthorization_warned_at__gte=F("authorized_at"))
            if not claimed.update(reauthorization_warned_at=timezone.now()):
                continue
            notify(
                tenant=store.tenant,
                kind="store_reauthorize_soon",
                title=message(
                    gettext_noop("Re-authorise “%(store)s” before %(date)s"),
                    store=store.name,
                    date=(store.authorized_at + REAUTHORIZATION_PERIOD).date(),  # authorized_at__lte above: set
                ),
                body=message(
                    gettext_noop(
                        "Amazon asks sellers to renew the authorisation of connected apps once a year. "
                        "Open the store and choose Re-authorise; syncing continues where it is."
                    )
                ),
                link=reverse("channels:store-detail", args=[store.pk]),
            )
    return len(due)


def webhook_url(store: Store) -> str:
    """Where the store's channel should deliver webhooks: the public base URL and the path of the channel's
    receiving view (with the store's webhook key when deliveries do not say which store they are for)."""
    from django.conf import settings

    channel = adapter_class_for(store.platform)
    if not issubclass(channel, WebhookReceiving):
        raise ChannelCapabilityMissing(f"The {store.platform} channel sends no webhooks.")
    base = (settings.ACORN_WEBHOOK_BASE_URL or settings.ACORN_BASE_URL).rstrip("/")
    args = [store.webhook_key] if channel.webhook_url_names_store else []
    return base + reverse(channel.webhook_view, args=args)


def store_register_webhooks(*, store: Store) -> list[str]:
    """Subscribe the shop or site to ACORN's webhooks (idempotent). An auth failure interrupts the store."""
    import secrets as random_secrets

    channel = adapter_class_for(store.platform)
    if not issubclass(channel, WebhookReceiving):
        return []
    credential = store.credential
    stored: dict[str, Any] = dict(credential.secrets or {})  # type: ignore[arg-type]
    if channel.webhook_secret_per_store and not stored.get("webhook_secret"):
        stored["webhook_secret"] = random_secrets.token_urlsafe(32)
        store_update_secrets(store=store, secrets={"webhook_secret": stored["webhook_secret"]})
    adapter = adapter_for(store, secrets=stored)
    try:
        topics = adapter.require(WebhookReceiving).register_webhooks(
            delivery_url=webhook_url(store), secret=str(stored.get("webhook_secret") or "")
        )
    except ChannelAuthError as error:
        store_mark_auth_interrupted(store=store, reason=str(error))
        return []
    finally:
        adapter.close()
    audit_record(
        tenant=store.tenant, actor=None, action="store.webhooks_registered", target=store, after={"topics": topics}
    )
    return topics


@transaction.atomic
def store_request_webhook_registration(*, store: Store, actor: User, membership: Membership) -> None:
    """The console's "renew webhooks": queue the (idempotent) registration. Audited."""
    ensure_permission(membership, "stores.manage")
    if store.tenant_id != membership.tenant_id:
        raise PermissionDenied
    audit_record(tenant=store.tenant, actor=actor, action="store.webhooks_requested", target=store)
    _queue_webhook_registration(store)


def _queue_webhook_registration(store: Store) -> None:
    enqueue_on_commit("channels.register_webhooks", tenant_id=store.tenant_id, store_id=store.pk)


@transaction.atomic
def store_connect_shopify(
    *, store: Store, actor: User | None, secrets: Mapping[str, Any], queue_sync: bool = True
) -> Store:
    """A shop authorised ACORN (OAuth code exchanged, or an Admin API token pasted): activate it, sync it,
    and subscribe it to webhooks."""
    store = store_authorize(store=store, actor=actor, seller_id=store.seller_id, secrets=secrets, queue_sync=queue_sync)
    _queue_webhook_registration(store)
    return store


@transaction.atomic
def store_connect_woocommerce(
    *, store: Store, actor: User | None, consumer_key: str, consumer_secret: str, queue_sync: bool = True
) -> Store:
    """Keys that passed the connection test: keep them (with a fresh webhook secret), sync, add webhooks."""
    import secrets as random_secrets

    store = store_authorize(
        store=store,
        actor=actor,
        seller_id=store.seller_id,
        secrets={
            "consumer_key": consumer_key,
            "consumer_secret": consumer_secret,
            "webhook_secret": random_secrets.token_urlsafe(32),
        },
        queue_sync=queue_sync,
    )
    _queue_webhook_registration(store)
    return store


@transaction.atomic
def store_uninstalled(*, store: Store, reason: str) -> None:
    """The shop removed ACORN's app (app/uninstalled) or asked for its data to go (shop/redact): the store
    stops, its tokens are deleted (they no longer work), its orders stay for the books."""
    before = snapshot(store, ["status"])
    store.status, store.status_reason = StoreStatus.DISABLED, reason[:300]
    store.save(update_fields=["status", "status_reason"])
    StoreCredential.objects.filter(store=store).delete()
    SyncCursor.objects.filter(store=store).update(next_run_at=None)
    audit_record(
        tenant=store.tenant,
        actor=None,
        action="store.uninstalled",
        target=store,
        before=before,
        after={"status": StoreStatus.DISABLED, "reason": reason[:300]},
    )
    notify(
        tenant=store.tenant,
        kind="store_auth_interrupted",
        title=message(gettext_noop("Store “%(store)s” was disconnected"), store=store.name),
        body=reason,
        link=reverse("channels:store-detail", args=[store.pk]),
    )
