"""Connecting independent shops: Shopify (OAuth install, or a custom app's token) and WooCommerce (keys,
tested before anything is saved)."""

from __future__ import annotations

import secrets
import time

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from acorn.forms import form_add_errors
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.plans import PlanLimitExceeded
from channels import services
from channels.adapters import shopify, woocommerce
from channels.adapters.base import Authorization, Capability, ChannelError
from channels.adapters.registry import platform_authorized_by, platform_supports
from channels.forms import ShopifyConnectForm, WooCommerceConnectForm, WooCommerceKeysForm
from channels.models import Platform, Store, StoreStatus
from channels.selectors import store_get_or_404

SHOPIFY_OAUTH_SALT = "acorn.shopify.oauth"
OAUTH_MAX_AGE_SECONDS = 15 * 60
SESSION_NONCE = "acorn_shopify_oauth_nonce"
# Shopify's callback carries a timestamp; one older than this is a replay.
CALLBACK_MAX_AGE_SECONDS = 24 * 3600


def _redirect_to_shopify(request: TenantRequest, store: Store) -> HttpResponse:
    nonce = secrets.token_urlsafe(16)
    request.session[SESSION_NONCE] = nonce
    state = signing.dumps({"store": store.pk, "tenant": store.tenant_id, "nonce": nonce}, salt=SHOPIFY_OAUTH_SALT)
    redirect_uri = request.build_absolute_uri(reverse("channels:shopify-callback"))
    return redirect(shopify.authorize_url(store, state=state, redirect_uri=redirect_uri))


@tenant_member_required("stores.manage")
def store_connect_shopify_view(request: TenantRequest) -> HttpResponse:
    form = ShopifyConnectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        endpoint = form.api_endpoint()
        token = data.get("access_token") or ""
        if token:  # a custom app: prove the token before keeping anything
            probe = Store(platform=Platform.SHOPIFY, seller_id=data["shop"], endpoint=endpoint)
            try:
                shopify.ShopifyAdapter(store=probe, secrets={"access_token": token}).shop_info()
            except ChannelError as error:
                form.add_error("access_token", _("Shopify did not accept the token: %(reason)s") % {"reason": error})
        if not form.errors:
            try:
                store = services.store_create(
                    tenant=request.tenant,
                    actor=request.user,
                    membership=request.membership,
                    platform=Platform.SHOPIFY,
                    name=data["name"],
                    permissions=data["permissions"],
                    endpoint=endpoint,
                    seller_id=data["shop"],
                )
            except PlanLimitExceeded as error:
                form.add_error(None, error.message)
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                if not token:
                    return _redirect_to_shopify(request, store)
                extra = {"webhook_secret": data["api_secret"]} if data.get("api_secret") else {}
                services.store_connect_shopify(
                    store=store, actor=request.user, secrets={"access_token": token, **extra}
                )
                messages.success(
                    request, _("“%(store)s” is connected. The first sync has started.") % {"store": store.name}
                )
                return redirect("channels:store-detail", store_pk=store.pk)
    return render(request, "channels/store_connect_shopify.html", {"form": form}, status=400 if form.errors else 200)


def _oauth_error(request: TenantRequest, reason: str, store: Store | None = None) -> HttpResponse:
    return render(request, "channels/oauth_error.html", {"store": store, "reason": reason}, status=400)


@tenant_member_required("stores.manage")
def shopify_callback_view(request: TenantRequest) -> HttpResponse:
    """Shopify sends the merchant back with code, hmac, shop, state and timestamp."""
    params = {key: request.GET.get(key, "") for key in request.GET}
    if not shopify.query_hmac_valid(params):
        return _oauth_error(request, _("The answer from Shopify is not signed correctly. Start again."))
    try:
        state = signing.loads(params.get("state", ""), salt=SHOPIFY_OAUTH_SALT, max_age=OAUTH_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return _oauth_error(request, _("The authorisation link is invalid or expired. Start again."))
    if state.get("tenant") != request.tenant.pk or state.get("nonce") != request.session.get(SESSION_NONCE):
        raise Http404  # another tenant's or another browser's state
    store = store_get_or_404(tenant=request.tenant, pk=state["store"])
    try:
        stamp = int(params.get("timestamp", "0"))
    except ValueError:
        stamp = 0
    if abs(time.time() - stamp) > CALLBACK_MAX_AGE_SECONDS:
        return _oauth_error(request, _("The answer from Shopify is too old. Start again."), store)
    try:
        shop = shopify.normalize_shop_domain(params.get("shop", ""))
    except ValueError:
        shop = ""
    if shop != store.seller_id:
        return _oauth_error(
            request, _("Shopify answered for another shop (%(shop)s). Start again.") % {"shop": shop or "?"}, store
        )
    if not params.get("code"):
        return _oauth_error(request, _("Shopify did not send an authorisation code."), store)
    try:
        fresh = shopify.exchange_authorization_code(store, code=params["code"])
        services.store_connect_shopify(store=store, actor=request.user, secrets=fresh)
    except ChannelError as error:
        return _oauth_error(request, str(error), store)
    except ValidationError as error:
        return _oauth_error(request, " ".join(error.messages), store)
    request.session.pop(SESSION_NONCE, None)
    messages.success(request, _("“%(store)s” is connected. The first sync has started.") % {"store": store.name})
    return redirect("channels:store-detail", store_pk=store.pk)


def _woocommerce_problem(site_url: str, key: str, secret: str) -> str:
    """'' when the site, keys and stock settings are fine; otherwise the reason, in plain words."""
    probe = Store(platform=Platform.WOOCOMMERCE, seller_id=site_url, endpoint=site_url)
    try:
        woocommerce.WooCommerceAdapter(
            store=probe, secrets={"consumer_key": key, "consumer_secret": secret}
        ).check_connection()
    except ChannelError as error:
        return str(error)
    return ""


@tenant_member_required("stores.manage")
def store_connect_woocommerce_view(request: TenantRequest) -> HttpResponse:
    form = WooCommerceConnectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        problem = _woocommerce_problem(data["site_url"], data["consumer_key"], data["consumer_secret"])
        if problem:
            form.add_error(None, _("Connection test failed: %(reason)s") % {"reason": problem})
        else:
            try:
                store = services.store_create(
                    tenant=request.tenant,
                    actor=request.user,
                    membership=request.membership,
                    platform=Platform.WOOCOMMERCE,
                    name=data["name"],
                    permissions=data["permissions"],
                    endpoint=data["site_url"],
                    seller_id=data["site_url"],
                )
            except PlanLimitExceeded as error:
                form.add_error(None, error.message)
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                services.store_connect_woocommerce(
                    store=store,
                    actor=request.user,
                    consumer_key=data["consumer_key"],
                    consumer_secret=data["consumer_secret"],
                )
                messages.success(
                    request,
                    _("Connection test passed; “%(store)s” is connected and its first sync has started.")
                    % {"store": store.name},
                )
                return redirect("channels:store-detail", store_pk=store.pk)
    return render(
        request, "channels/store_connect_woocommerce.html", {"form": form}, status=400 if form.errors else 200
    )


@require_POST
@tenant_member_required("stores.manage")
def store_reconnect_shopify_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    if not platform_authorized_by(store.platform, Authorization.OAUTH_INSTALL):
        raise Http404
    return _redirect_to_shopify(request, store)


@tenant_member_required("stores.manage")
def store_woocommerce_keys_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    """New API keys for a site (the old ones were revoked): tested, then kept; syncing resumes."""
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    if not platform_authorized_by(store.platform, Authorization.API_KEYS) or store.status == StoreStatus.DISABLED:
        raise Http404
    form = WooCommerceKeysForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key, secret = form.cleaned_data["consumer_key"], form.cleaned_data["consumer_secret"]
        problem = _woocommerce_problem(store.endpoint, key, secret)
        if problem:
            form.add_error(None, _("Connection test failed: %(reason)s") % {"reason": problem})
        else:
            services.store_connect_woocommerce(
                store=store, actor=request.user, consumer_key=key, consumer_secret=secret
            )
            messages.success(request, _("New keys saved; syncing resumes where it stopped."))
            return redirect("channels:store-detail", store_pk=store.pk)
    return render(
        request,
        "channels/store_woocommerce_keys.html",
        {"form": form, "store": store},
        status=400 if form.errors else 200,
    )


@require_POST
@tenant_member_required("stores.manage")
def store_register_webhooks_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    """Subscribe the shop or site to ACORN's webhooks again (after they were deleted on the platform)."""
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    if not platform_supports(store.platform, Capability.RECEIVE_WEBHOOKS):
        raise Http404
    if store.status != StoreStatus.ACTIVE:
        messages.error(request, _("Only an active store can receive webhooks. Authorise it first."))
    else:
        services.store_request_webhook_registration(store=store, actor=request.user, membership=request.membership)
        messages.success(request, _("Webhook subscriptions are being renewed."))
    return redirect("channels:store-detail", store_pk=store.pk)
