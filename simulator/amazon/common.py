"""What every SP-API operation shares: access-token check, rate limits, injected faults, error bodies,
response headers, date parsing and opaque signed pagination tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulator.faults import DROP_CONNECTION, FaultInjector
from simulator.http import Handler, Request, Response
from simulator.model import Seller
from simulator.world import World

UNAUTHORIZED_MESSAGE = "Access to requested resource is denied."
QUOTA_MESSAGE = "You exceeded your quota for the requested resource."


def error_response(
    status: int, code: str, message: str, details: str = "", headers: dict[str, str] | None = None
) -> Response:
    """The SP-API error body: {"errors": [{"code", "message", "details"}]}."""
    return Response.json_body({"errors": [{"code": code, "message": message, "details": details}]}, status, headers)


def invalid_input(message: str, details: str = "") -> Response:
    return error_response(400, "InvalidInput", message, details)


class BadRequest(Exception):
    """Raised by parameter parsing; answered as 400 InvalidInput."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def parse_datetime(value: str, name: str) -> datetime:
    """An ISO 8601 date or date-time as aware UTC (a value without offset is taken as UTC)."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid {name}: {value!r} is not an ISO 8601 date-time.", name) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass
class TokenBucket:
    """Amazon's usage plan: `rate` requests per second refilled into a bucket of `burst`."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float) -> float:
        """0 when a request may go through now, else the seconds until it could."""
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass(frozen=True)
class Operation:
    """An SP-API operation with its published usage plan."""

    name: str
    rate: float
    burst: int
    rate_header: str


@dataclass
class AmazonContext:
    """Shared state of the Amazon front inside one server."""

    world: World
    faults: FaultInjector
    base_url: Callable[[], str]
    # Multiplies the published rate and burst: 1 is Amazon's usage plan; the default never gets in a
    # test's way; 0 turns the usage plan off.
    rate_scale: float = 1000.0
    # What a requested report with no data ends as: CANCELLED (Amazon's behaviour) or DONE (header only).
    empty_report_status: str = "CANCELLED"
    monotonic: Callable[[], float] = time.monotonic
    token_secret: bytes = b""
    state: dict[str, Any] = field(default_factory=dict)  # per-operation state, e.g. requested reports
    _buckets: dict[tuple[str, str], TokenBucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.token_secret:
            self.token_secret = hashlib.sha256(f"acorn-sim-{self.world.seed}".encode()).digest()

    def throttle_wait(self, seller_id: str, operation: Operation) -> float:
        """Seconds to wait before this seller may call the operation again (0: go ahead)."""
        if self.rate_scale <= 0:
            return 0.0
        with self._lock:
            key = (seller_id, operation.name)
            bucket = self._buckets.get(key)
            if bucket is None:
                scale = self.rate_scale
                bucket = self._buckets[key] = TokenBucket(operation.rate * scale, operation.burst * scale)
            return bucket.take(self.monotonic())

    # -- opaque tokens ---------------------------------------------------------------------------------

    def encode_token(self, data: dict[str, Any]) -> str:
        raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
        signature = hmac.new(self.token_secret, raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(signature + raw).decode().rstrip("=")

    def decode_token(self, token: str, name: str = "paginationToken") -> dict[str, Any]:
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            signature, raw = blob[:12], blob[12:]
            expected = hmac.new(self.token_secret, raw, hashlib.sha256).digest()[:12]
            if not hmac.compare_digest(signature, expected):
                raise ValueError("bad signature")
            data = json.loads(raw)
        except (ValueError, TypeError):
            raise BadRequest(f"Invalid {name}.", name) from None
        if not isinstance(data, dict):
            raise BadRequest(f"Invalid {name}.", name)
        return data


ApiHandler = Callable[[AmazonContext, Request, dict[str, str], Seller], Response]


def api_operation(context: AmazonContext, operation: Operation, handler: ApiHandler) -> Handler:
    """Wrap an operation handler with what Amazon does around every call: the access token must name a
    seller (else 403), the usage plan and fault profile may answer 429/503, and every answer carries
    x-amzn-RequestId and x-amzn-RateLimit-Limit."""

    def wrapped(request: Request, params: dict[str, str]) -> Response:
        headers = {"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-RateLimit-Limit": operation.rate_header}
        response = _call(request, params)
        response.headers = {**headers, **response.headers}
        return response

    def _call(request: Request, params: dict[str, str]) -> Response:
        token = request.header("x-amz-access-token")
        seller_id = context.world.auth.seller_for_access_token(token) if token else None
        if seller_id is None:
            return error_response(403, "Unauthorized", UNAUTHORIZED_MESSAGE)
        seller = context.world.seller(seller_id)
        wait = context.throttle_wait(seller_id, operation)
        if wait > 0:
            return error_response(429, "QuotaExceeded", QUOTA_MESSAGE, headers={"Retry-After": str(math.ceil(wait))})
        fingerprint = (seller_id, request.method, request.path, tuple(sorted(request.query.items())), request.body)
        fingerprint_key = hashlib.sha256(repr(fingerprint).encode()).hexdigest()
        fault = context.faults.before_call(operation.name, fingerprint_key)
        if fault is not None and fault.status == DROP_CONNECTION:
            return Response.drop(fault.hang_seconds)
        if fault is not None and fault.status == 429:
            return error_response(
                429, "QuotaExceeded", QUOTA_MESSAGE, headers={"Retry-After": str(fault.retry_after or 1)}
            )
        if fault is not None:
            return error_response(
                fault.status, "ServiceUnavailable", "Service temporarily unavailable. Please try again later."
            )
        try:
            return handler(context, request, params, seller)
        except BadRequest as error:
            return invalid_input(error.message, error.details)

    return wrapped
