"""Amazon SP-API transport, through python-amazon-sp-api, LWA only (no AWS keys).

Authorisation (the website workflow: Seller Central's consent page, the LWA code exchange) and every call:
the client library is pointed at `store.endpoint` (the simulator, or blank for Amazon's regional endpoint)
and at the LWA token URL that belongs with it. Its pitfalls are handled here: a 429 or 5xx without a JSON
`errors` body comes back as an empty payload (treated as retryable, never as "nothing there"), and every
call has a timeout. The library's exceptions become ACORN's error classes (`classify_error`), Retry-After
included; the rate Amazon announces in x-amzn-RateLimit-Limit rides back on each page for the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from django.conf import settings
from sp_api.auth import AccessTokenClient
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import (
    Marketplaces,
    SellingApiException,
    SellingApiForbiddenException,
    SellingApiRequestThrottledException,
)

from acorn.money import to_decimal
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
from channels.marketplaces import AMAZON_MARKETPLACE_TABLE, REGION_MARKETPLACES
from channels.models import Region, Store

logger = logging.getLogger(__name__)

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
SELLER_CENTRAL_CONSENT_URL = {
    Region.NA: "https://sellercentral.amazon.com/apps/authorize/consent",
    Region.EU: "https://sellercentral-europe.amazon.com/apps/authorize/consent",
    Region.FE: "https://sellercentral.amazon.co.jp/apps/authorize/consent",
}


@dataclass(frozen=True)
class AmazonApp:
    """The deployment's Amazon application (one LWA client for every seller)."""

    client_id: str
    client_secret: str
    application_id: str

    @classmethod
    def from_settings(cls) -> AmazonApp:
        return cls(settings.AMAZON_LWA_CLIENT_ID, settings.AMAZON_LWA_CLIENT_SECRET, settings.AMAZON_APPLICATION_ID)


def lwa_token_url(store: Store) -> str:
    """The LWA token endpoint that goes with the store's API endpoint."""
    return f"{store.endpoint.rstrip('/')}/auth/o2/token" if store.endpoint else LWA_TOKEN_URL


def consent_url(store: Store, *, state: str, redirect_uri: str, app: AmazonApp | None = None) -> str:
    """Seller Central's consent page for the website authorisation workflow."""
    app = app or AmazonApp.from_settings()
    base = (
        f"{store.endpoint.rstrip('/')}/apps/authorize/consent"
        if store.endpoint
        else SELLER_CENTRAL_CONSENT_URL[Region(store.region)]
    )
    query = {
        "application_id": app.application_id,
        "state": state,
        "version": "beta",
        "redirect_uri": redirect_uri,
    }
    if store.endpoint:  # the simulator also needs to know which seller account to create (or re-authorise)
        query.update({"region": store.region, "marketplaces": ",".join(store.marketplaces)})
        if store.seller_id:
            query["selling_partner_id"] = store.seller_id
    return f"{base}?{urlencode(query)}"


def exchange_authorization_code(store: Store, *, code: str, redirect_uri: str, app: AmazonApp | None = None) -> str:
    """Exchange an `spapi_oauth_code` for the seller's refresh token (LWA authorization_code grant)."""
    app = app or AmazonApp.from_settings()
    try:
        response = httpx.post(
            lwa_token_url(store),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": app.client_id,
                "client_secret": app.client_secret,
            },
            timeout=settings.ACORN_VENDOR_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as error:
        raise ChannelRetryableError(f"Login with Amazon did not answer: {type(error).__name__}") from None
    if response.status_code >= 500:
        raise ChannelRetryableError(f"Login with Amazon answered {response.status_code}")
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200 or "refresh_token" not in body:
        raise ChannelAuthError(
            f"Login with Amazon refused the authorisation code: {body.get('error', response.status_code)}"
        )
    return str(body["refresh_token"])


@cache
def _lwa_client_class(token_url: str) -> type[AccessTokenClient]:
    """An AccessTokenClient subclass aimed at another LWA URL (the library keeps it in class attributes)."""
    parts = urlsplit(token_url)
    return type(
        "AcornAccessTokenClient",
        (AccessTokenClient,),
        {"scheme": f"{parts.scheme}://", "host": parts.netloc, "path": parts.path or "/auth/o2/token"},
    )


@dataclass(frozen=True)
class _Marketplace:
    """Duck-typed stand-in for sp_api's Marketplaces enum member, so any endpoint can be used."""

    endpoint: str
    marketplace_id: str
    region: str


def _marketplace_for(store: Store, code: str | None = None) -> Any:
    """The library's marketplace to build a client with: the one asked for, else the store's first (a
    client needs one even for calls that take none), bound to the store's endpoint when it has one."""
    regional = REGION_MARKETPLACES.get(store.region, ())
    code = code or next(iter(store.sync_marketplaces() or store.marketplaces or regional), "")
    marketplace = AMAZON_MARKETPLACE_TABLE.get(code)
    if marketplace is None:
        raise ChannelError(f"{code or 'No marketplace'} is not an Amazon marketplace ACORN knows.")
    member: Marketplaces = marketplace.library_member
    if not store.endpoint:
        return member
    return _Marketplace(endpoint=store.endpoint.rstrip("/"), marketplace_id=member.marketplace_id, region=member.region)


def classify_error(error: Exception) -> ChannelError:
    """Map the client library's exceptions onto ACORN's error classes (retry, re-authorise, restart, fail)."""
    if isinstance(error, AuthorizationError):
        code = str(getattr(error, "error_code", "") or "")
        status = getattr(error, "status_code", 0) or 0
        if status >= 500:
            return ChannelRetryableError(f"Login with Amazon answered {status}", code="lwa_unavailable")
        return ChannelAuthError(f"Login with Amazon refused the refresh token ({code or status})")
    if isinstance(error, SellingApiRequestThrottledException):
        return ChannelRateLimited("Amazon throttled the request (429)", retry_after=retry_after_seconds(error.headers))
    if isinstance(error, SellingApiForbiddenException):
        return ChannelAuthError("Amazon refused access (403): the authorisation was revoked or lacks this role")
    if isinstance(error, SellingApiException):
        status = getattr(error, "code", 0) or 0
        if status >= 500:
            return ChannelRetryableError(f"Amazon answered {status}", code=f"http_{status}")
        message = str(getattr(error, "message", "") or error)
        if status == 400 and "token" in message.lower():
            return ChannelCursorExpired(f"Amazon refused the pagination token: {message[:200]}")
        return ChannelError(f"Amazon refused the request ({status}): {message[:200]}")
    if isinstance(error, httpx.TimeoutException):
        return ChannelRetryableError("Amazon did not answer in time", code="timeout")
    if isinstance(error, httpx.TransportError):
        return ChannelRetryableError(f"Connection to Amazon failed: {type(error).__name__}", code="connection")
    return ChannelError(f"Unexpected error talking to Amazon: {type(error).__name__}")


class AmazonClient(ChannelAdapter):
    """The transport every Amazon API area shares: LWA with the seller's refresh token, a client of the
    library bound to the store's endpoint, a timeout, errors classified. Bound to one store."""

    def __init__(
        self,
        *,
        store: Store,
        secrets: Mapping[str, Any],
        app: AmazonApp | None = None,
        renew_secrets: SecretsKeeper | None = None,
    ) -> None:
        super().__init__(store=store, secrets=secrets, renew_secrets=renew_secrets)
        self.app = app or AmazonApp.from_settings()
        refresh_token = secrets.get("refresh_token")
        if not refresh_token:
            raise ChannelAuthError("The store has no refresh token: authorise it in the console.")
        self._refresh_token = str(refresh_token)

    def _call(self, api: Any, method: str, *args: Any, marketplace: str | None = None, **kwargs: Any) -> Any:
        """One SP-API call through the client library: a client bound to the store's endpoint and LWA URL,
        errors classified (retry / re-authorise / restart / fail), connection closed."""
        options = {"version": kwargs.pop("version")} if "version" in kwargs else {}
        client = api(
            _marketplace_for(self.store, marketplace),
            refresh_token=self._refresh_token,
            credentials={"lwa_app_id": self.app.client_id, "lwa_client_secret": self.app.client_secret},
            auth_token_client_class=_lwa_client_class(lwa_token_url(self.store)),
            timeout=settings.ACORN_VENDOR_TIMEOUT_SECONDS,
            **options,
        )
        if self.store.endpoint:
            client.endpoint = self.store.endpoint.rstrip("/")
        try:
            return getattr(client, method)(*args, **kwargs)
        except Exception as error:  # the library raises many types; classify_error sorts them
            raise classify_error(error) from None
        finally:
            client.close()

    def _download(self, url: str) -> tuple[bytes, str]:
        """The bytes at a report document's pre-signed URL (no access token), and the charset its
        Content-Type declares (""). Errors classified like an API call's: an expired URL (403) or a 5xx is
        retryable, since asking for the document again gives a fresh URL."""
        try:
            response = httpx.get(url, timeout=settings.ACORN_VENDOR_TIMEOUT_SECONDS, follow_redirects=True)
        except httpx.HTTPError as error:
            raise classify_error(error) from None
        if response.status_code in (403, 429) or response.status_code >= 500:
            raise ChannelRetryableError(
                f"Amazon's document store answered {response.status_code}", code=f"http_{response.status_code}"
            )
        if response.status_code != 200:
            raise ChannelError(f"Amazon's document store answered {response.status_code}")
        return response.content, response.charset_encoding or ""

    def _merchant_id(self) -> str:
        if not self.store.seller_id:
            raise ChannelError("The store has no seller id yet: authorise it first.")
        return self.store.seller_id


def listed(payload: Any, key: str) -> list[Any]:
    """The list under `key`, or retryable: sp_api returns an empty payload for a 429/5xx without a JSON error
    body, and "no list" must never be read as "nothing there"."""
    records = payload.get(key) if isinstance(payload, Mapping) else None
    if not isinstance(records, list):
        raise ChannelRetryableError(f"Amazon answered without a {key} list", code="empty_response")
    return records


def decimal_or_none(value: Any) -> Decimal | None:
    try:
        return to_decimal(value) if value not in (None, "") else None
    except (ValueError, TypeError):
        return None


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
