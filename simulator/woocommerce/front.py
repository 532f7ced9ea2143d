"""Everything under /woo/{slug}: the WordPress site of each simulated shop and its REST API.

    /woo/{slug}/                      home page (HTML, with the REST discovery link)
    /woo/{slug}/wp-json/              WordPress REST index (namespaces: wc/v3 only where WooCommerce runs)
    /woo/{slug}/wp-json/wc/v3/...     WooCommerce REST API v3
    /woo/{unknown}/...                404 from the web server (no WordPress there)

A REST call goes through what WordPress does, in order: the fault profile (the host answers 500, 503 or
429, or drops the connection), authentication errors, the key's read/write permission, route matching
(`rest_no_route`), the endpoint's permission check for anonymous calls, then the endpoint.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator.faults import DROP_CONNECTION
from simulator.http import Request, Response
from simulator.woocommerce import orders, products, store, webhooks
from simulator.woocommerce.rest import (
    CREDENTIAL_PARAMS,
    Call,
    WooError,
    authenticate,
    check_permissions,
    error_response,
    no_route,
    wp_response,
)

if TYPE_CHECKING:
    from simulator.woocommerce.context import WooContext

logger = logging.getLogger(__name__)

PREFIX = "/woo"
NAMESPACE = "/wc/v3"
EDITABLE = ("POST", "PUT", "PATCH")
CRITICAL_ERROR = (
    '<p>There has been a critical error on this website.</p><p><a href="https://wordpress.org/documentation/'
    'article/faq-troubleshooting/">Learn more about troubleshooting WordPress.</a></p>'
)

LIST = ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
VIEW = ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
CREATE = ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")
EDIT = ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.")
DELETE = ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource.")
BATCH = ("woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource.")

Handler = Callable[["WooContext", Call], Response]


@dataclass(frozen=True)
class WooRoute:
    """A REST route under /wc/v3: methods, a pattern with `{name}` parts (digits unless named `group` or
    `setting`), the handler and what WordPress answers an anonymous caller."""

    methods: tuple[str, ...]
    pattern: str
    handler: Handler
    denial: tuple[str, str]

    @property
    def regex(self) -> re.Pattern[str]:
        def part(match: re.Match[str]) -> str:
            name = match.group(1)
            return f"(?P<{name}>[\\w-]+)" if name in ("group", "setting") else f"(?P<{name}>\\d+)"

        return re.compile("^" + re.sub(r"\{(\w+)\}", part, self.pattern) + "$")


ROUTES = (
    WooRoute(("GET",), "/orders", orders.list_orders, LIST),
    WooRoute(("GET",), "/orders/{id}", orders.get_order, VIEW),
    WooRoute(EDITABLE, "/orders/{id}", orders.update_order, EDIT),
    WooRoute(("GET",), "/orders/{order_id}/notes", orders.list_notes, LIST),
    WooRoute(("POST",), "/orders/{order_id}/notes", orders.create_note, CREATE),
    WooRoute(("GET",), "/orders/{order_id}/refunds", orders.list_refunds, LIST),
    WooRoute(("POST",), "/orders/{order_id}/refunds", orders.create_refund, CREATE),
    WooRoute(("GET",), "/orders/{order_id}/refunds/{id}", orders.get_refund, VIEW),
    WooRoute(("GET",), "/products", products.list_products, LIST),
    WooRoute(EDITABLE, "/products/batch", products.batch_products, BATCH),
    WooRoute(("GET",), "/products/{id}", products.get_product, VIEW),
    WooRoute(EDITABLE, "/products/{id}", products.update_product, EDIT),
    WooRoute(("GET",), "/products/{product_id}/variations", products.list_variations, LIST),
    WooRoute(EDITABLE, "/products/{product_id}/variations/batch", products.batch_variations, BATCH),
    WooRoute(("GET",), "/products/{product_id}/variations/{id}", products.get_variation, VIEW),
    WooRoute(EDITABLE, "/products/{product_id}/variations/{id}", products.update_variation, EDIT),
    WooRoute(("GET",), "/settings/{group}/{setting}", store.get_setting, VIEW),
    WooRoute(("GET",), "/system_status", store.system_status, LIST),
    WooRoute(("GET",), "/webhooks", webhooks.list_webhooks, LIST),
    WooRoute(("POST",), "/webhooks", webhooks.create_webhook, CREATE),
    WooRoute(("GET",), "/webhooks/{id}", webhooks.get_webhook, VIEW),
    WooRoute(EDITABLE, "/webhooks/{id}", webhooks.update_webhook, EDIT),
    WooRoute(("DELETE",), "/webhooks/{id}", webhooks.delete_webhook, DELETE),
)
_COMPILED = [(route.regex, route) for route in ROUTES]
_SITE_PATH = re.compile(r"^/woo/([^/]+)(/.*)?$")


def owns(path: str) -> bool:
    """Whether the path belongs to the WooCommerce front."""
    return path == PREFIX or path.startswith(f"{PREFIX}/")


def match(method: str, path: str) -> tuple[WooRoute, dict[str, str]] | None:
    for regex, route in _COMPILED:
        found = regex.match(path)
        if found is not None and method in route.methods:
            return route, found.groupdict()
    return None


def handle(context: WooContext, request: Request) -> Response:
    """Answer one request under /woo (a simulator bug answers like a PHP fatal error, not a dead thread)."""
    try:
        return _handle(context, request)
    except WooError as error:
        return error_response(error)
    except Exception:
        logger.exception("WooCommerce simulator error on %s %s", request.method, request.path)
        return _critical_error()


def _critical_error() -> Response:
    return wp_response(
        {"code": "internal_server_error", "message": CRITICAL_ERROR, "data": {"status": 500}, "additional_errors": []},
        500,
    )


def _handle(context: WooContext, request: Request) -> Response:
    found = _SITE_PATH.match(request.path)
    with context.lock:
        site = context.sites.get(found.group(1)) if found else None
    if found is None or site is None:
        return store.not_found_page(None)
    rest = found.group(2) or "/"
    if rest == "/":
        return store.home_page(context, site) if request.method in ("GET", "HEAD") else store.not_found_page(site)
    if rest in ("/wp-json", "/wp-json/"):
        return store.rest_index(context, site)
    if not rest.startswith("/wp-json/"):
        return store.not_found_page(site)
    route_path = rest[len("/wp-json") :].rstrip("/")
    if not site.woocommerce or not (route_path == NAMESPACE or route_path.startswith(f"{NAMESPACE}/")):
        raise no_route()
    if route_path == NAMESPACE:
        return store.namespace_index(context, site)
    return _rest_call(context, site.slug, request, route_path[len(NAMESPACE) :])


def _injected_fault(context: WooContext, slug: str, request: Request, path: str) -> Response | None:
    query = tuple(
        sorted((name, tuple(values)) for name, values in request.query.items() if name not in CREDENTIAL_PARAMS)
    )
    fingerprint = hashlib.sha256(repr((slug, request.method, path, query, request.body)).encode()).hexdigest()
    fault = context.faults.before_call(f"woocommerce {request.method} {path}", fingerprint)
    if fault is None:
        return None
    if fault.status == DROP_CONNECTION:
        return Response.drop(fault.hang_seconds)
    if fault.status == 429 and context.faults.chance(0.25):
        response = Response.html("<html><body><h1>429 Too Many Requests</h1></body></html>", 429)
        response.headers["Retry-After"] = str(fault.retry_after or 1)
        return response
    if fault.status == 429:  # WooCommerce itself does not throttle REST v3; a PHP fatal is the common 5xx
        return _critical_error()
    return Response.html(
        "<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
        "<center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>",
        503,
    )


def _rest_call(context: WooContext, slug: str, request: Request, path: str) -> Response:
    fault = _injected_fault(context, slug, request, path)
    if fault is not None:
        return fault
    with context.lock:
        site = context.site(slug)
        key = authenticate(site, request, context.auth_clock())
        if key is not None:
            check_permissions(key, request.method)
        found = match(request.method, path)
        if found is None:
            raise no_route()
        route, params = found
        if key is None:
            raise WooError(401, *route.denial)
        call = Call(site, request, params, key, context.site_url(slug))
        context.advance(site)
        response = route.handler(context, call)
    if call.ping is not None:
        context.hooks.ping(site, call.ping)
    return response
