"""The store-state writes every other channels service stands on (and the domain apps call when a vendor
call tells them something about the store): a refreshed token pair kept, an authorisation that is gone, a
resource that keeps failing, and authorisations never completed. Nothing here calls a vendor (save the
renewal an adapter hands to `store_renew_secrets`) or queues a task, so the sync engine, the adapter
registry, the connect flows and the lifecycle can all import it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from acorn.audit.services import audit_record, snapshot
from acorn.notifications.messages import Message, message
from acorn.notifications.services import notify
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels.adapters.base import ChannelAuthError, SecretsRenewer
from channels.errors import error_summary_msgid
from channels.models import AUTHORIZATION_EXPIRY, Store, StoreCredential, StoreStatus, SyncRun

logger = logging.getLogger(__name__)


def store_update_secrets(*, store: Store, secrets: Mapping[str, Any]) -> None:
    """Replace the store's secrets (a refreshed Shopify token pair), in its own transaction: a refresh
    token that was just used must not be lost if the rest of the run fails."""
    with transaction.atomic():
        credential = StoreCredential.objects.select_for_update().get(store=store)
        credential.secrets = {**(credential.secrets or {}), **dict(secrets)}
        credential.save(update_fields=["secrets", "updated_at"])


def store_renew_secrets(*, store: Store, renew: SecretsRenewer) -> dict[str, Any]:
    """Renew the store's secrets under a row lock on its credential, committed at once; returns the secrets
    stored afterwards.

    `renew` sees the secrets stored now — a worker that waited for the lock finds the pair another worker
    just refreshed — and returns what to store, or None to keep them. The lock is held across the
    vendor's token call (with its timeout), unlike any other vendor call: Shopify replaces the refresh
    token on every refresh, so refreshes of one store must run one at a time, and only that store's
    credential row waits."""
    with transaction.atomic():
        credential = StoreCredential.objects.select_for_update(of=("self",)).filter(store=store).first()
        if credential is None:
            raise ChannelAuthError("The store has no stored credential: connect it again.")
        stored: dict[str, Any] = dict(credential.secrets or {})
        fresh = renew(stored)
        if fresh is None:
            return stored
        credential.secrets = {**stored, **dict(fresh)}
        credential.save(update_fields=["secrets", "updated_at"])
        return dict(credential.secrets)


@transaction.atomic
def store_mark_auth_interrupted(*, store: Store, reason: str) -> None:
    """The seller's authorisation failed: stop syncing this store and tell the people who can fix it."""
    updated = Store.objects.filter(pk=store.pk, status=StoreStatus.ACTIVE).update(
        status=StoreStatus.AUTH_INTERRUPTED, status_reason=reason[:300]
    )
    store.status, store.status_reason = StoreStatus.AUTH_INTERRUPTED, reason[:300]
    if not updated:
        return  # already interrupted: one notification, not one per failed call
    audit_record(
        tenant=store.tenant,
        actor=None,
        action="store.auth_interrupted",
        target=store,
        before={"status": StoreStatus.ACTIVE},
        after={"status": StoreStatus.AUTH_INTERRUPTED, "reason": reason},
    )
    notify(
        tenant=store.tenant,
        kind="store_auth_interrupted",
        title=message(gettext_noop("Store “%(store)s” needs to be authorised again"), store=store.name),
        body=message(
            gettext_noop("Syncing has stopped: %(reason)s. Open the store and choose Re-authorise."), reason=reason
        ),
        link=reverse("channels:store-detail", args=[store.pk]),
    )


def store_notify_sync_failing(*, store: Store, run: SyncRun, resource: Message | str = "") -> None:
    """A resource failed three times in a row: tell the admins once. `resource`: its name as people read it
    (channels.sync.resource_message), kept as a message so each reader gets it in their language."""
    notify(
        tenant=store.tenant,
        kind="sync_failed",
        title=message(
            gettext_noop("%(resource)s sync of “%(store)s” keeps failing"),
            resource=resource or run.resource,
            store=store.name,
        ),
        body=[
            *([message(summary)] if (summary := error_summary_msgid(code=run.error_code, status=run.status)) else []),
            message(
                gettext_noop("Last error %(code)s: %(message)s (trace %(trace)s)"),
                code=run.error_code,
                message=run.message[:300],
                trace=run.trace_id,
            ),
        ],
        link=reverse("channels:store-detail", args=[store.pk]),
    )


# --- authorisations that expire ---------------------------------------------------------------------------


def stores_expire_pending(*, tenant: Tenant | None = None) -> int:
    """Remove the stores whose authorisation was started over AUTHORIZATION_EXPIRY ago and never completed
    (all tenants, or one). Audited per store. Returns how many went."""
    cutoff = timezone.now() - AUTHORIZATION_EXPIRY
    with dangerously_unscoped():
        stale = Store.objects.filter(status=StoreStatus.PENDING_AUTH, created_at__lt=cutoff)
        if tenant is not None:
            stale = stale.filter(tenant=tenant)
        stubs = list(stale.select_related("tenant").order_by("pk"))
    removed = 0
    for store in stubs:
        with tenant_scope(store.tenant):
            removed += _remove_expired_stub(store, cutoff)
    return removed


def _remove_expired_stub(store: Store, cutoff: Any) -> int:
    try:
        with transaction.atomic():
            locked = Store.objects.select_for_update().filter(
                pk=store.pk, status=StoreStatus.PENDING_AUTH, created_at__lt=cutoff
            )
            if not locked.exists():
                return 0  # authorised meanwhile
            audit_record(
                tenant=store.tenant,
                actor=None,
                action="store.authorization_expired",
                target=store,
                before=snapshot(store, ["platform", "name", "region", "marketplaces", "seller_id", "created_at"]),
            )
            locked.delete()
    except ProtectedError:  # something was recorded for it after all: keep it, it shows as expired
        logger.warning("expired_store_kept", extra={"tenant_id": store.tenant_id, "store_id": store.pk})
        return 0
    return 1
