"""Login with Amazon state: app clients, authorisation codes, refresh tokens and access tokens.

Expiry is measured on `auth_clock` (seconds, default `time.monotonic`), not on the world's calendar:
the client library caches access tokens by wall-clock time, so moving the world forward by days in a
test must not silently invalidate a token the library still trusts. Tests that want to see a token or
code expire inject their own `auth_clock`.
"""

from __future__ import annotations

import random
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

ACCESS_TOKEN_TTL_SECONDS = 3600
AUTHORIZATION_CODE_TTL_SECONDS = 300
_TOKEN_ALPHABET = string.ascii_letters + string.digits


class LwaError(Exception):
    """An OAuth error answer: HTTP status, `error` code and `error_description`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


@dataclass
class _Code:
    seller_id: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass(frozen=True)
class _AccessToken:
    seller_id: str | None  # None for a grantless (client_credentials) token
    expires_at: float


class AuthRegistry:
    """Issues and checks LWA credentials. Thread-safe."""

    def __init__(
        self,
        *,
        seed: int,
        clients: dict[str, str],
        clock: Callable[[], float] = time.monotonic,
        access_token_ttl: int = ACCESS_TOKEN_TTL_SECONDS,
        code_ttl: int = AUTHORIZATION_CODE_TTL_SECONDS,
    ) -> None:
        self.clients = dict(clients)
        self.clock = clock
        self.access_token_ttl = access_token_ttl
        self.code_ttl = code_ttl
        # Seeded on purpose: simulated credentials are reproducible; they guard nothing real.
        self._rng = random.Random(seed * 7919 + 17)  # noqa: S311
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._refresh_tokens: dict[str, str] = {}  # token → seller id
        self._access_tokens: dict[str, _AccessToken] = {}
        self._revoked: set[str] = set()

    def _token(self, prefix: str, length: int) -> str:
        return prefix + "".join(self._rng.choice(_TOKEN_ALPHABET) for _ in range(length))

    def check_client(self, client_id: str, client_secret: str) -> None:
        """Raise invalid_client (401) unless the pair is a configured LWA client."""
        if not client_id or self.clients.get(client_id) != client_secret:
            raise LwaError(401, "invalid_client", "Client authentication failed")

    def issue_code(self, seller_id: str, redirect_uri: str) -> str:
        """A single-use `spapi_oauth_code` for the seller, valid for five minutes."""
        with self._lock:
            code = self._token("ANsim", 20)
            self._codes[code] = _Code(seller_id, redirect_uri, self.clock() + self.code_ttl)
            self._revoked.discard(seller_id)
            return code

    def exchange_code(self, code: str, redirect_uri: str | None) -> tuple[str, str, str]:
        """Trade an authorisation code for (seller id, refresh token, access token)."""
        with self._lock:
            entry = self._codes.get(code)
            if entry is None or entry.used:
                raise LwaError(400, "invalid_grant", "The authorization code is invalid or has already been used")
            entry.used = True
            if self.clock() > entry.expires_at:
                raise LwaError(400, "invalid_grant", "The authorization code has expired")
            if redirect_uri and redirect_uri != entry.redirect_uri:
                raise LwaError(400, "invalid_grant", "The redirect_uri does not match the authorization request")
            if entry.seller_id in self._revoked:
                raise LwaError(400, "invalid_grant", "The seller revoked the authorization")
            refresh = self._new_refresh_token(entry.seller_id)
            return entry.seller_id, refresh, self._new_access_token(entry.seller_id)

    def issue_refresh_token(self, seller_id: str) -> str:
        """A new refresh token for the seller (as if they had just authorised the app)."""
        with self._lock:
            self._revoked.discard(seller_id)
            return self._new_refresh_token(seller_id)

    def register_refresh_token(self, seller_id: str, token: str) -> str:
        """Accept a fixed refresh token for the seller (the demo's sellers survive simulator restarts)."""
        with self._lock:
            self._revoked.discard(seller_id)
            self._refresh_tokens[token] = seller_id
            return token

    def _new_refresh_token(self, seller_id: str) -> str:
        token = self._token("Atzr|", 60)
        self._refresh_tokens[token] = seller_id
        return token

    def _new_access_token(self, seller_id: str | None) -> str:
        token = self._token("Atza|", 60)
        self._access_tokens[token] = _AccessToken(seller_id, self.clock() + self.access_token_ttl)
        return token

    def refresh(self, refresh_token: str) -> str:
        """A new access token for a valid refresh token, or invalid_grant."""
        with self._lock:
            seller_id = self._refresh_tokens.get(refresh_token)
            if seller_id is None or seller_id in self._revoked:
                raise LwaError(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
            return self._new_access_token(seller_id)

    def grantless(self) -> str:
        """An access token for grantless operations (it identifies no seller)."""
        with self._lock:
            return self._new_access_token(None)

    def seller_for_access_token(self, token: str) -> str | None:
        """The seller an access token acts for, or None when it is unknown, expired, revoked or grantless."""
        with self._lock:
            entry = self._access_tokens.get(token)
            if entry is None or entry.seller_id is None or self.clock() > entry.expires_at:
                return None
            if entry.seller_id in self._revoked:
                return None
            return entry.seller_id

    def revoke(self, seller_id: str) -> None:
        """The seller removed the app: every refresh and access token of theirs stops working."""
        with self._lock:
            self._revoked.add(seller_id)
            self._refresh_tokens = {t: s for t, s in self._refresh_tokens.items() if s != seller_id}
            self._access_tokens = {t: a for t, a in self._access_tokens.items() if a.seller_id != seller_id}

    def is_revoked(self, seller_id: str) -> bool:
        with self._lock:
            return seller_id in self._revoked
