"""Shopify Admin API transport through ShopifyAPI, GraphQL only (REST is legacy), pinned to one API version.

The app's OAuth (install page, HMAC of the callback, code exchange, expiring offline tokens and their
refresh), and the one call path: ShopifyAPI builds the session (shop URL, version, access-token header); the
GraphQL request itself goes through `_TimedGraphQL`, because the library's `GraphQL.execute` has no timeout
and prints error bodies. Throttling is cost-based: every answer carries `extensions.cost.throttleStatus`, and
a THROTTLED answer arrives as HTTP 200 with an error — it becomes ChannelRateLimited with the time the bucket
needs to refill.

Offline access tokens expire (60 min) and come with a refresh token that is replaced by each refresh: the
client refreshes before expiry through `renew_secrets`, which runs the refresh under a row lock on the stored
credential (the caller's; adapters never write the DB). The refresh first looks at the pair stored now, and
when another worker already refreshed it, uses that pair instead of asking Shopify again — two workers
refreshing with one refresh token would leave one of them holding a pair Shopify retires.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import shopify
from django.conf import settings

from acorn.retry import retry_after_seconds
from channels.adapters.base import (
    ChannelAdapter,
    ChannelAuthError,
    ChannelCursorExpired,
    ChannelError,
    ChannelRateLimited,
    ChannelRetryableError,
    SecretsKeeper,
)
from channels.models import Store

logger = logging.getLogger(__name__)

# The one place the Admin API version is pinned (Shopify supports each quarterly version for 12 months).
SHOPIFY_API_VERSION = "2026-10"
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
# Refresh an expiring access token this long before it expires.
TOKEN_REFRESH_MARGIN = timedelta(minutes=5)
MONEY_BAG = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"
SHOP_MONEY = "shopMoney { amount currencyCode }"
SHOP_QUERY = "query { shop { name myshopifyDomain currencyCode ianaTimezone } }"


# --- the app, OAuth and HMACs -----------------------------------------------------------------------


def app_credentials() -> tuple[str, str]:
    return settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET


def normalize_shop_domain(value: str) -> str:
    """ "Acme" / "acme.myshopify.com" / "https://acme.myshopify.com/admin" → "acme.myshopify.com", or ValueError."""
    text = value.strip().lower()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.split("/", 1)[0]
    if "." not in text:
        text = f"{text}.myshopify.com"
    if not SHOP_DOMAIN.match(text):
        raise ValueError("Enter the shop's myshopify.com address, for example acme.myshopify.com.")
    return text


def api_base(store: Store) -> str:
    """https://{shop} for Shopify itself, or the store's endpoint (the simulator's /shopify/{shop})."""
    return store.endpoint.rstrip("/") if store.endpoint else f"https://{store.seller_id}"


def authorize_url(store: Store, *, state: str, redirect_uri: str) -> str:
    """Shopify's install/consent page for the authorization-code grant."""
    client_id, _ = app_credentials()
    query = {"client_id": client_id, "scope": settings.SHOPIFY_SCOPES, "redirect_uri": redirect_uri, "state": state}
    return f"{api_base(store)}/admin/oauth/authorize?{urlencode(query)}"


def query_hmac_valid(params: Mapping[str, str], secret: str | None = None) -> bool:
    """Shopify's HMAC on an OAuth callback: hex HMAC-SHA256 of the sorted query without `hmac`."""
    secret = secret if secret is not None else app_credentials()[1]
    given = str(params.get("hmac", ""))
    message = "&".join(f"{key}={value}" for key, value in sorted(params.items()) if key not in ("hmac", "signature"))
    expected = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return bool(given) and hmac.compare_digest(expected, given)


def _token_secrets(payload: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    token = payload.get("access_token")
    if not isinstance(token, str) or not token:
        raise ChannelAuthError("Shopify did not return an access token")
    secrets: dict[str, Any] = {"access_token": token, "scope": str(payload.get("scope", ""))}
    if payload.get("expires_in"):
        secrets["expires_at"] = (now + timedelta(seconds=int(payload["expires_in"]))).isoformat()
    if payload.get("refresh_token"):
        secrets["refresh_token"] = str(payload["refresh_token"])
        if payload.get("refresh_token_expires_in"):
            lifetime = timedelta(seconds=int(payload["refresh_token_expires_in"]))
            secrets["refresh_expires_at"] = (now + lifetime).isoformat()
    return secrets


def _token_request(store: Store, data: dict[str, str]) -> dict[str, Any]:
    client_id, client_secret = app_credentials()
    try:
        response = httpx.post(
            f"{api_base(store)}/admin/oauth/access_token",
            data={"client_id": client_id, "client_secret": client_secret, **data},
            headers={"Accept": "application/json"},
            timeout=settings.ACORN_VENDOR_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as error:
        raise ChannelRetryableError(f"Shopify's token endpoint did not answer: {type(error).__name__}") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise ChannelRetryableError(f"Shopify's token endpoint answered {response.status_code}")
    if response.status_code != 200:
        raise ChannelAuthError(f"Shopify refused the token request ({response.status_code})")
    try:
        payload = response.json()
    except ValueError:
        raise ChannelRetryableError("Shopify's token endpoint answered without JSON") from None
    return _token_secrets(payload, datetime.now(UTC))


def exchange_authorization_code(store: Store, *, code: str) -> dict[str, Any]:
    """The OAuth callback's code → the secrets to store (access token, and its refresh token if expiring)."""
    return _token_request(store, {"code": code, "expiring": "1"})


def refresh_access_token(store: Store, *, refresh_token: str) -> dict[str, Any]:
    return _token_request(store, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def token_refresh_due(secrets: Mapping[str, Any]) -> bool:
    """Whether the access token of `secrets` expires within TOKEN_REFRESH_MARGIN (False when it never does)."""
    expires = secrets.get("expires_at")
    return bool(expires) and datetime.fromisoformat(str(expires)) - TOKEN_REFRESH_MARGIN <= datetime.now(UTC)


# --- HTTP ----------------------------------------------------------------------------------------------


class _TimedGraphQL(shopify.GraphQL):
    """The library's GraphQL client with a timeout, and without printing error bodies to stdout."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def execute(self, query: str, variables: Any = None, operation_name: str | None = None) -> str:
        headers = self.merge_headers({"Accept": "application/json", "Content-Type": "application/json"}, self.headers)
        body = json.dumps({"query": query, "variables": variables, "operationName": operation_name}).encode()
        request = urllib.request.Request(self.endpoint, body, headers)  # noqa: S310 - https or the simulator
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return str(response.read().decode("utf-8"))


def classify_error(error: Exception) -> ChannelError:
    """urllib / socket errors → ACORN's error classes."""
    if isinstance(error, ChannelError):
        return error
    if isinstance(error, urllib.error.HTTPError):
        status = error.code
        if status == 401:
            return ChannelAuthError("Shopify refused the access token (401): reconnect the shop")
        if status == 402:
            return ChannelAuthError("The shop is frozen for non-payment (402)")
        if status in (403, 423):
            return ChannelAuthError(f"Shopify refused access ({status}): the app lacks a scope or the shop is locked")
        if status == 404:
            return ChannelError("Shopify answered 404: the shop does not exist or the API version is not served")
        if status == 429:
            return ChannelRateLimited(
                "Shopify throttled the request (429)", retry_after=retry_after_seconds(error.headers)
            )
        if status >= 500:
            return ChannelRetryableError(f"Shopify answered {status}", code=f"http_{status}")
        return ChannelError(f"Shopify refused the request ({status})")
    if isinstance(error, TimeoutError) or "timed out" in str(error):
        return ChannelRetryableError("Shopify did not answer in time", code="timeout")
    if isinstance(error, (urllib.error.URLError, ConnectionError, OSError)):
        return ChannelRetryableError(f"Connection to Shopify failed: {type(error).__name__}", code="connection")
    return ChannelError(f"Unexpected error talking to Shopify: {type(error).__name__}")


class ShopifyClient(ChannelAdapter):
    """The transport every Shopify API area shares: the shop's session on the pinned API version, an
    access token refreshed before it expires, one GraphQL call path with a timeout, cost-based throttling
    and errors classified. Bound to one shop."""

    def __init__(
        self,
        *,
        store: Store,
        secrets: Mapping[str, Any],
        renew_secrets: SecretsKeeper | None = None,
    ) -> None:
        super().__init__(store=store, secrets=secrets, renew_secrets=renew_secrets)
        if not secrets.get("access_token"):
            raise ChannelAuthError("The shop has no access token: connect it in the console.")
        self._secrets = dict(secrets)
        self.last_cost: dict[str, Any] = {}  # extensions.cost of the last answer

    # --- tokens ---
    def _access_token(self) -> str:
        if token_refresh_due(self._secrets):
            if self._renew_secrets is None:  # not bound to a stored credential (a probe of a pasted token)
                self._secrets = {**self._secrets, **(self._refreshed_pair(self._secrets) or {})}
            else:
                self._secrets = dict(self._renew_secrets(self._refreshed_pair))
        return str(self._secrets["access_token"])

    def _refreshed_pair(self, stored: Mapping[str, Any]) -> dict[str, Any] | None:
        """A new token pair for the `stored` secrets, or None when they are not due (another worker
        refreshed them while this one waited for the credential's lock: its pair is used as it is)."""
        if not token_refresh_due(stored):
            return None
        refresh = stored.get("refresh_token")
        if not refresh:
            raise ChannelAuthError("The shop's access token expired and there is no refresh token")
        return refresh_access_token(self.store, refresh_token=str(refresh))

    # --- GraphQL ---
    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One GraphQL call: data on success; ChannelRateLimited when THROTTLED; errors classified."""
        session = shopify.Session(self.store.seller_id, SHOPIFY_API_VERSION, self._access_token())
        if self.store.endpoint:
            parts = urlsplit(self.store.endpoint.rstrip("/"))
            session.url, session.protocol = f"{parts.netloc}{parts.path}", parts.scheme
        shopify.ShopifyResource.activate_session(session)
        try:
            raw = _TimedGraphQL(settings.ACORN_VENDOR_TIMEOUT_SECONDS).execute(query, dict(variables or {}))
        except Exception as error:  # urllib raises many types; classify_error sorts them
            raise classify_error(error) from None
        finally:
            shopify.ShopifyResource.clear_session()
        try:
            body = json.loads(raw)
        except ValueError:
            raise ChannelRetryableError("Shopify answered without JSON", code="bad_response") from None
        cost = ((body.get("extensions") or {}).get("cost") or {}) if isinstance(body, Mapping) else {}
        self.last_cost = dict(cost)
        errors = body.get("errors") if isinstance(body, Mapping) else None
        if errors:
            codes = {
                str((error.get("extensions") or {}).get("code", "")) for error in errors if isinstance(error, Mapping)
            }
            if "THROTTLED" in codes:
                raise ChannelRateLimited("Shopify throttled the query", retry_after=refill_seconds(cost))
            if "MAX_COST_EXCEEDED" in codes:
                raise ChannelError("The query asks for more than Shopify's single-query cost limit")
            if "ACCESS_DENIED" in codes:
                raise ChannelAuthError("Shopify denied access: the app lacks a scope")
            if "INTERNAL_SERVER_ERROR" in codes:
                raise ChannelRetryableError("Shopify had an internal error", code="http_500")
            if isinstance(errors, str):
                raise ChannelAuthError(f"Shopify refused the request: {errors[:200]}")
            messages = "; ".join(str(error.get("message", "")) for error in errors if isinstance(error, Mapping))
            if "cursor" in messages.lower():
                raise ChannelCursorExpired(f"Shopify refused the cursor: {messages[:200]}")
            raise ChannelError(f"Shopify rejected the query: {messages[:300]}")
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, Mapping):
            raise ChannelRetryableError("Shopify answered without data", code="empty_response")
        return dict(data)

    def shop_info(self) -> dict[str, Any]:
        """The shop's name, domain, currency and time zone (also proves the token works)."""
        shop = self.graphql(SHOP_QUERY).get("shop")
        if not isinstance(shop, Mapping):
            raise ChannelRetryableError("Shopify answered without the shop", code="empty_response")
        return dict(shop)


def refill_seconds(cost: Mapping[str, Any]) -> int:
    """How long until the bucket holds the query's requested cost again (at least 1 s)."""
    throttle = cost.get("throttleStatus") or {}
    try:
        needed = Decimal(str(cost.get("requestedQueryCost", 50))) - Decimal(str(throttle.get("currentlyAvailable", 0)))
        rate = Decimal(str(throttle.get("restoreRate", 50))) or Decimal(50)
    except InvalidOperation:
        return 1
    return max(1, math.ceil(needed / rate))


def sustained_rate(cost: Mapping[str, Any]) -> Decimal | None:
    """Queries per second the shop's bucket sustains at this query's actual cost (for the engine's bucket)."""
    throttle = cost.get("throttleStatus") or {}
    try:
        restore = Decimal(str(throttle["restoreRate"]))
        spent = max(Decimal(str(cost.get("actualQueryCost") or cost.get("requestedQueryCost") or 1)), Decimal(1))
    except (KeyError, InvalidOperation):
        return None
    return (restore / spent).quantize(Decimal("0.0001")) if restore > 0 else None


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
