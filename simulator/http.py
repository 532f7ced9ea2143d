"""A tiny table-driven HTTP layer for the simulator fronts (no framework, no Django).

Each front (Amazon now; Shopify and WooCommerce later) registers `Route`s on a `Router` under its own
path prefix. Handlers take a `Request` and the path parameters and return a `Response`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs


def json_number(amount: Decimal) -> int | float:
    """A JSON number written exactly as the decimal ("25.37" → 25.37, "-2000" → -2000), for vendor payloads
    whose schema has money as a number (Amazon Finances, WooCommerce prices and rates).

    The stdlib encoder writes only int or float. For amounts with at most 15 significant digits the float's
    shortest repr is the decimal's own text, so the wire carries exactly the amount; clients parse it back
    to Decimal. This is the simulator's one sanctioned place where a Decimal becomes a float."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request. Header names are lower-case; query values keep repeated keys."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    scheme: str = "http"  # "https" on the simulator's TLS listener

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def first(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    def many(self, name: str) -> list[str]:
        """Every value of a list parameter, accepting repeated keys and comma-separated values."""
        return [part.strip() for value in self.query.get(name, []) for part in value.split(",") if part.strip()]

    def form(self) -> dict[str, str]:
        """The url-encoded body as single values (the first of each key)."""
        parsed = parse_qs(self.body.decode("utf-8", errors="replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8") or "null")


@dataclass
class Response:
    """An HTTP response; `Response.json_body(...)` for JSON."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # A dropped connection: the server waits `hang_seconds`, then closes the socket without answering.
    dropped: bool = False
    hang_seconds: float = 0.0

    @classmethod
    def drop(cls, hang_seconds: float = 0.0) -> Response:
        """No answer at all: a connection reset, or (with `hang_seconds`) a client read timeout."""
        return cls(status=0, dropped=True, hang_seconds=hang_seconds)

    @classmethod
    def json_body(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        merged = {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}
        return cls(status=status, body=body, headers=merged)

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status=status, body=text.encode("utf-8"), headers={"Content-Type": "text/html; charset=utf-8"})

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(status=302, headers={"Location": location})


Handler = Callable[[Request, dict[str, str]], Response]


@dataclass(frozen=True)
class Route:
    """`method` and a path pattern such as ``/orders/2026-01-01/orders/{orderId}``."""

    method: str
    pattern: str
    handler: Handler
    name: str = ""

    def compile(self) -> re.Pattern[str]:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", re.escape(self.pattern).replace(r"\{", "{").replace(r"\}", "}"))
        return re.compile(f"^{regex}$")


class Router:
    """Finds the route for a request: 404 when no pattern matches, 405 when only the method differs."""

    def __init__(self, not_found: Handler | None = None) -> None:
        self._routes: list[tuple[re.Pattern[str], Route]] = []
        self._not_found = not_found

    def add(self, routes: Iterable[Route]) -> None:
        for route in routes:
            self._routes.append((route.compile(), route))

    @property
    def routes(self) -> list[Route]:
        return [route for _, route in self._routes]

    def dispatch(self, request: Request) -> Response:
        path_matched = False
        for regex, route in self._routes:
            match = regex.match(request.path)
            if match is None:
                continue
            path_matched = True
            if route.method == request.method:
                return route.handler(request, match.groupdict())
        if path_matched:
            return Response.json_body(
                {"errors": [{"code": "MethodNotAllowed", "message": f"{request.method} is not allowed here"}]},
                status=405,
            )
        if self._not_found is not None:
            return self._not_found(request, {})
        return Response.json_body(
            {"errors": [{"code": "NotFound", "message": "The requested resource was not found.", "details": ""}]},
            status=404,
        )
