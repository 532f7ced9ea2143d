"""Stores: list, connect (Amazon website authorisation), detail with the sync log, sync now. Rename,
marketplaces, disconnect and delete are in views_lifecycle."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from acorn.forms import form_add_errors
from acorn.tenancy import plans
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from acorn.tenancy.plans import PlanLimitExceeded
from channels import services
from channels import services_lifecycle as lifecycle
from channels.adapters.amazon import consent_url, exchange_authorization_code
from channels.adapters.base import Authorization, Capability, ChannelError
from channels.adapters.registry import platform_authorized_by, platform_supports
from channels.forms import AmazonConnectForm, SyncRunFilterForm, marketplace_label
from channels.models import Platform, Store, StoreStatus
from channels.selectors import (
    RequestedSync,
    quarantined_record_list,
    store_count_in_use,
    store_get_or_404,
    store_list,
    store_needs_reauthorization_soon,
    sync_cursor_list,
    sync_request_status,
    sync_run_get_or_404,
    sync_run_list,
    webhook_event_list,
)
from channels.sync import sync_jobs_for

OAUTH_SALT = "acorn.amazon.oauth"
OAUTH_MAX_AGE_SECONDS = 15 * 60
SESSION_OAUTH_NONCE = "acorn_amazon_oauth_nonce"


@tenant_member_required("stores.view")
def store_list_view(request: TenantRequest) -> HttpResponse:
    stores = list(store_list(tenant=request.tenant).prefetch_related("cursors"))
    for store in stores:
        store.reauthorization_soon = store_needs_reauthorization_soon(store)  # type: ignore[attr-defined]
    return render(request, "channels/store_list.html", {"stores": stores})


def _redirect_to_consent(request: TenantRequest, store: Store) -> HttpResponse:
    nonce = secrets.token_urlsafe(16)
    request.session[SESSION_OAUTH_NONCE] = nonce
    state = signing.dumps({"store": store.pk, "tenant": store.tenant_id, "nonce": nonce}, salt=OAUTH_SALT)
    redirect_uri = request.build_absolute_uri(reverse("channels:amazon-callback"))
    return redirect(consent_url(store, state=state, redirect_uri=redirect_uri))


@tenant_member_required("stores.manage")
def store_connect_amazon_view(request: TenantRequest) -> HttpResponse:
    form = AmazonConnectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            store = services.store_create(
                tenant=request.tenant,
                actor=request.user,
                membership=request.membership,
                platform=Platform.AMAZON,
                name=form.cleaned_data["name"],
                region=form.cleaned_data["region"],
                marketplaces=form.cleaned_data["marketplaces"],
                permissions=form.cleaned_data["permissions"],
                endpoint=form.cleaned_data.get("endpoint") or "",
            )
        except PlanLimitExceeded as error:
            form.add_error(None, error.message)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            return _redirect_to_consent(request, store)
    return render(request, "channels/store_connect_amazon.html", {"form": form}, status=400 if form.errors else 200)


@tenant_member_required("stores.manage")
def amazon_callback_view(request: TenantRequest) -> HttpResponse:
    """Seller Central sends the seller back here with state, selling_partner_id and spapi_oauth_code."""
    try:
        state = signing.loads(request.GET.get("state", ""), salt=OAUTH_SALT, max_age=OAUTH_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return render(
            request,
            "channels/oauth_error.html",
            {"reason": _("The authorisation link is invalid or expired. Start again.")},
            status=400,
        )
    if state.get("tenant") != request.tenant.pk or state.get("nonce") != request.session.get(SESSION_OAUTH_NONCE):
        # Another tenant's or another browser's state: never bind their seller to this tenant.
        raise Http404
    store = store_get_or_404(tenant=request.tenant, pk=state["store"])
    if request.GET.get("error"):
        return render(
            request,
            "channels/oauth_error.html",
            {
                "store": store,
                "reason": _("Amazon reports: %(error)s") % {"error": request.GET["error"][:100]},
            },
            status=400,
        )
    code, seller_id = request.GET.get("spapi_oauth_code", ""), request.GET.get("selling_partner_id", "")
    if not code or not seller_id:
        return render(
            request,
            "channels/oauth_error.html",
            {"store": store, "reason": _("Amazon did not send an authorisation code.")},
            status=400,
        )
    redirect_uri = request.build_absolute_uri(reverse("channels:amazon-callback"))
    try:
        refresh_token = exchange_authorization_code(store, code=code, redirect_uri=redirect_uri)
        lifecycle.store_complete_amazon_authorization(
            store=store, actor=request.user, seller_id=seller_id, refresh_token=refresh_token
        )
    except ChannelError as error:
        return render(request, "channels/oauth_error.html", {"store": store, "reason": str(error)}, status=400)
    except ValidationError as error:
        return render(
            request,
            "channels/oauth_error.html",
            {"store": store, "reason": " ".join(error.messages)},
            status=400,
        )
    request.session.pop(SESSION_OAUTH_NONCE, None)
    messages.success(request, _("“%(store)s” is connected. The first sync has started.") % {"store": store.name})
    wrong = store.marketplaces_not_participating()
    if wrong:
        messages.warning(
            request,
            _("Amazon says this seller does not sell on %(marketplaces)s; ACORN reads the others.")
            % {"marketplaces": ", ".join(wrong)},
        )
    return redirect("channels:store-detail", store_pk=store.pk)


@tenant_member_required("stores.view")
def store_detail_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    form = SyncRunFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    runs = Paginator(sync_run_list(store=store, status=status), 20).get_page(request.GET.get("page"))
    quarantined = quarantined_record_list(store=store)[:50]
    return render(
        request,
        "channels/store_detail.html",
        {
            "store": store,
            "reauthorization_soon": store_needs_reauthorization_soon(store),
            "marketplaces": [marketplace_label(code) for code in store.marketplaces],
            "not_participating": [marketplace_label(code) for code in store.marketplaces_not_participating()],
            "suspended": [
                marketplace_label(p["code"])
                for p in store.participations or []
                if p.get("suspended") and p.get("code") in store.marketplaces
            ],
            "cursors": sync_cursor_list(store=store),
            "page": runs,
            "form": form,
            "quarantined": quarantined,
            "webhook_events": (
                webhook_event_list(store=store)[:20]
                if platform_supports(store.platform, Capability.RECEIVE_WEBHOOKS)
                else None
            ),
            "running": sync_run_list(store=store, status="running").first(),
            "requested": _requested_sync(request, store),
            "can_sync": has_permission(request.membership, "stores.sync"),
            "can_manage": has_permission(request.membership, "stores.manage"),
        },
    )


@tenant_member_required("stores.view")
def sync_run_progress_view(request: TenantRequest, store_pk: int, run_pk: int) -> HttpResponse:
    """The progress bar of one run, polled by htmx while the run is going."""
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    run = sync_run_get_or_404(store=store, pk=run_pk)
    return render(request, "channels/syncrun_progress.html", {"store": store, "run": run})


@require_POST
@tenant_member_required("stores.sync")
def store_sync_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    try:
        services.store_request_sync(store=store, actor=request.user, membership=request.membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Sync queued. Progress appears below."))
        since = timezone.now().replace(microsecond=0).isoformat()
        return redirect(reverse("channels:store-detail", args=[store.pk]) + "?" + urlencode({"synced": since}))
    return redirect("channels:store-detail", store_pk=store.pk)


def _requested_sync(request: TenantRequest, store: Store) -> RequestedSync | None:
    """The "Sync now" this page was opened after (`?synced=<ISO time>`), if any."""
    since = parse_datetime(request.GET.get("synced", ""))
    if since is None or timezone.is_naive(since):
        return None
    return sync_request_status(store=store, since=since, resources=[job.resource for job in sync_jobs_for(store)])


@tenant_member_required("stores.view")
def store_sync_status_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    """What a "Sync now" became, polled by htmx: queued, running (progress), then the result."""
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    requested = _requested_sync(request, store)
    if requested is None:
        raise Http404
    return render(request, "channels/sync_request_status.html", {"store": store, "requested": requested})


@require_POST
@tenant_member_required("stores.manage")
def store_reauthorize_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    if not platform_authorized_by(store.platform, Authorization.CONSENT) or store.delete_requested_at is not None:
        messages.error(request, _("This store cannot be re-authorised here."))
        return redirect("channels:store-detail", store_pk=store.pk)
    if store.authorization_expired:
        messages.error(request, _("This authorisation expired. Connect the store again."))
        return redirect("channels:store-connect-amazon")
    if store.status == StoreStatus.DISABLED:
        # Connecting a disconnected store again takes a plan seat again.
        try:
            plans.ensure_store_capacity(request.tenant, stores_in_use=store_count_in_use(tenant=request.tenant))
        except PlanLimitExceeded as error:
            messages.error(request, error.message)
            return redirect("channels:store-detail", store_pk=store.pk)
    return _redirect_to_consent(request, store)
