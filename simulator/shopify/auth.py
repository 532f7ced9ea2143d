"""The app's credentials on the simulated Shopify: authorization codes, expiring offline tokens with
rotating refresh tokens, non-expiring tokens (a custom app's pasted Admin API access token), revocation.

Expiring offline tokens last an hour and come with a refresh token (90 days). Refreshing returns a new
access token and a new refresh token; the previous refresh token keeps working until the app uses
either replacement, as Shopify does since August 2026. Expiry is measured on `clock` (monotonic seconds
by default), not on the world's calendar, for the same reason as the Amazon front's LWA tokens.
"""

from __future__ import annotations

import random
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_CLIENT_ID = "acorn-sim-shopify-client-id"
DEFAULT_CLIENT_SECRET = "acorn-sim-shopify-client-secret"
ACCESS_TOKEN_TTL_SECONDS = 3600
REFRESH_TOKEN_TTL_SECONDS = 7_776_000  # 90 days
AUTHORIZATION_CODE_TTL_SECONDS = 600
# What the demo's and tests' tokens may do (ACORN reads orders, returns and stock, and writes stock,
# fulfilments and refunds).
ALL_SCOPES = (
    "read_orders",
    "write_orders",
    "read_products",
    "read_inventory",
    "write_inventory",
    "read_locations",
    "read_returns",
    "read_shopify_payments_payouts",
    "read_merchant_managed_fulfillment_orders",
    "write_merchant_managed_fulfillment_orders",
)
_ALPHABET = string.ascii_lowercase + string.digits


class OAuthError(Exception):
    """An answer of the token endpoint: HTTP status, `error` and `error_description`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


@dataclass
class _Code:
    shop: str
    scope: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass
class _AccessToken:
    shop: str
    scope: str
    expires_at: float | None  # None: never expires
    retires: str | None = None  # a refresh token to forget once this token is used


@dataclass
class _RefreshToken:
    shop: str
    scope: str
    expires_at: float
    retires: str | None = None
    sticky: bool = False  # a fixed demo token: never rotated away


class ShopifyAuth:
    """Issues and checks the app's credentials per shop. Thread-safe."""

    def __init__(
        self,
        *,
        seed: int,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        clock: Callable[[], float] = time.monotonic,
        access_token_ttl: int = ACCESS_TOKEN_TTL_SECONDS,
        refresh_token_ttl: int = REFRESH_TOKEN_TTL_SECONDS,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock
        self.access_token_ttl = access_token_ttl
        self.refresh_token_ttl = refresh_token_ttl
        self._rng = random.Random(seed * 15485863 + 101)  # noqa: S311 - reproducible, guards nothing real
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _AccessToken] = {}
        self._refresh: dict[str, _RefreshToken] = {}

    def _token(self, prefix: str, length: int = 32) -> str:
        return prefix + "".join(self._rng.choice(_ALPHABET) for _ in range(length))

    def check_client(self, client_id: str, client_secret: str) -> None:
        if client_id != self.client_id or client_secret != self.client_secret:
            raise OAuthError(401, "invalid_client", "Client authentication failed: invalid client_id or client_secret")

    def issue_code(self, shop: str, scope: str, redirect_uri: str) -> str:
        """The merchant approved the install: a single-use authorization code."""
        with self._lock:
            code = "".join(self._rng.choice("0123456789abcdef") for _ in range(32))
            self._codes[code] = _Code(shop, scope, redirect_uri, self.clock() + AUTHORIZATION_CODE_TTL_SECONDS)
            return code

    def exchange_code(self, shop: str, code: str, *, expiring: bool = True) -> dict[str, str | int]:
        """Trade a code for an offline token (expiring, with a refresh token, unless `expiring` is off)."""
        with self._lock:
            entry = self._codes.get(code)
            if entry is None or entry.used or entry.shop != shop or self.clock() > entry.expires_at:
                if entry is not None:
                    entry.used = True
                raise OAuthError(400, "invalid_request", "The authorization code was not found or was already used")
            entry.used = True
            if not expiring:
                token = self._token("shpca_")
                self._access[token] = _AccessToken(shop, entry.scope, None)
                return {"access_token": token, "scope": entry.scope}
            return self._expiring_pair(shop, entry.scope, retires=None)

    def _expiring_pair(self, shop: str, scope: str, retires: str | None) -> dict[str, str | int]:
        access = self._token("shpca_")
        refresh = self._token("shprt_", 40)
        now = self.clock()
        self._access[access] = _AccessToken(shop, scope, now + self.access_token_ttl, retires)
        self._refresh[refresh] = _RefreshToken(shop, scope, now + self.refresh_token_ttl, retires)
        return {
            "access_token": access,
            "scope": scope,
            "expires_in": self.access_token_ttl,
            "refresh_token": refresh,
            "refresh_token_expires_in": self.refresh_token_ttl,
        }

    def refresh(self, refresh_token: str) -> dict[str, str | int]:
        """A new access token and a new refresh token; the old refresh token lives until they are used."""
        with self._lock:
            entry = self._refresh.get(refresh_token)
            if entry is None or self.clock() > entry.expires_at:
                raise OAuthError(400, "invalid_grant", "The refresh token is invalid, expired or revoked")
            self._retire(entry.retires)
            entry.retires = None
            return self._expiring_pair(entry.shop, entry.scope, retires=refresh_token)

    def _retire(self, token: str | None) -> None:
        entry = self._refresh.get(token) if token is not None else None
        if entry is not None and not entry.sticky:
            del self._refresh[token]  # type: ignore[arg-type]

    def register_refresh_token(self, shop: str, token: str, scope: str = ",".join(ALL_SCOPES)) -> str:
        """Accept a fixed refresh token for the shop (the demo's shops survive simulator restarts)."""
        with self._lock:
            self._refresh[token] = _RefreshToken(shop, scope, self.clock() + self.refresh_token_ttl, sticky=True)
            return token

    def issue_access_token(self, shop: str, token: str | None = None, scope: str = ",".join(ALL_SCOPES)) -> str:
        """A non-expiring Admin API access token, as a custom app shows once to paste (`shpat_…`)."""
        with self._lock:
            token = token or self._token("shpat_")
            self._access[token] = _AccessToken(shop, scope, None)
            return token

    def token_shop(self, token: str) -> tuple[str, str] | None:
        """(shop domain, scope) of a valid access token; using it retires the refresh token it replaced."""
        with self._lock:
            entry = self._access.get(token)
            if entry is None or (entry.expires_at is not None and self.clock() > entry.expires_at):
                return None
            if entry.retires is not None:
                self._retire(entry.retires)
                entry.retires = None
            return entry.shop, entry.scope

    def revoke(self, shop: str) -> None:
        """The app was uninstalled: every token and code of the shop stops working."""
        with self._lock:
            self._access = {token: entry for token, entry in self._access.items() if entry.shop != shop}
            self._refresh = {token: entry for token, entry in self._refresh.items() if entry.shop != shop}
            for entry in self._codes.values():
                if entry.shop == shop:
                    entry.used = True
