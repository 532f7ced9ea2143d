"""The install flow (authorization-code grant) under ``/shopify/{shop}``, where {shop} is the full
``*.myshopify.com`` domain.

``GET /shopify/{shop}/admin/oauth/authorize?client_id=…&scope=…&redirect_uri=…&state=…`` shows the
merchant's consent page (the merchant is taken as signed in; an unknown shop is created, as a new
development store would be). Approving redirects (302) to ``redirect_uri`` with ``code``, ``hmac``,
``host``, ``shop``, ``state`` and ``timestamp``; ``hmac`` is the hex HMAC-SHA256, with the app's client
secret, of the other parameters sorted and joined as Shopify does (``shopify.Session.validate_params``
accepts it). ``POST /shopify/{shop}/admin/oauth/access_token`` (JSON or form) trades the code for an
expiring offline token (``expiring=0`` asks for a legacy non-expiring one) or, with
``grant_type=refresh_token``, a refresh token for a new pair. Faults never apply here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from html import escape
from urllib.parse import urlencode, urlsplit

from simulator.http import Request, Response, Route
from simulator.shopify.auth import ALL_SCOPES, OAuthError
from simulator.shopify.context import SHOP_DOMAIN, ShopifyContext

AUTHORIZE_PATH = "/shopify/{shop}/admin/oauth/authorize"
TOKEN_PATH = "/shopify/{shop}/admin/oauth/access_token"
_FIELDS = ("client_id", "scope", "redirect_uri", "state")
_NO_STORE = {"Cache-Control": "no-store"}


def oauth_hmac(secret: str, params: dict[str, str]) -> str:
    """Shopify's signature of OAuth redirect parameters (hex HMAC-SHA256 of the sorted query)."""

    def pairs() -> list[str]:
        encoded = []
        for key, value in params.items():
            if key == "hmac":
                continue
            key_text = str(key).replace("%", "%25").replace("=", "%3D")
            value_text = str(value).replace("%", "%25")
            encoded.append(f"{key_text}={value_text}".replace("&", "%26"))
        return sorted(encoded)

    return hmac.new(secret.encode(), "&".join(pairs()).encode(), hashlib.sha256).hexdigest()


def _page(title: str, body: str, status: int = 200) -> Response:
    return Response.html(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>",
        status,
    )


def _check(context: ShopifyContext, shop: str, values: dict[str, str]) -> str | None:
    if not SHOP_DOMAIN.match(shop):
        return "The shop domain must be a *.myshopify.com domain."
    if values.get("client_id") != context.client_id:
        return "The app with client_id is not found. Check the client_id."
    redirect = urlsplit(values.get("redirect_uri", ""))
    if redirect.scheme not in ("http", "https") or not redirect.netloc:
        return "The redirect_uri is missing or not an absolute http(s) URL."
    return None


def consent_page(context: ShopifyContext, request: Request, shop: str) -> Response:
    values = {name: request.first(name) or "" for name in _FIELDS}
    problem = _check(context, shop, values)
    if problem:
        return _page("Oauth error invalid_request", f"<p>{escape(problem)}</p>", 400)
    scopes = [scope for scope in values["scope"].split(",") if scope] or ["read_orders"]
    hidden = "".join(
        f"<input type='hidden' name='{name}' value='{escape(value, quote=True)}'>" for name, value in values.items()
    )
    items = "".join(f"<li>{escape(scope)}</li>" for scope in scopes)
    body = (
        f"<p>Install the app on <strong>{escape(shop)}</strong>? It asks for:</p><ul>{items}</ul>"
        f"<form method='post' action='/shopify/{escape(shop, quote=True)}/admin/oauth/authorize'>{hidden}"
        "<button type='submit' name='approve' value='1'>Install</button> "
        "<button type='submit' name='deny' value='1'>Cancel</button></form>"
    )
    return _page("Install app", body)


def consent_submit(context: ShopifyContext, request: Request, shop: str) -> Response:
    form = request.form()
    values = {name: form.get(name) or request.first(name) or "" for name in _FIELDS}
    problem = _check(context, shop, values)
    if problem:
        return _page("Oauth error invalid_request", f"<p>{escape(problem)}</p>", 400)
    if form.get("deny"):
        return _page("Installation cancelled", "<p>The app was not installed.</p>")
    if not context.has_shop(shop):
        context.add_shop(shop)
    scope = values["scope"] or ",".join(ALL_SCOPES)
    code = context.issue_authorization_code(shop, scope, values["redirect_uri"])
    host = base64.b64encode(f"admin.shopify.com/store/{shop.split('.')[0]}".encode()).decode().rstrip("=")
    params = {
        "code": code,
        "host": host,
        "shop": shop,
        "state": values["state"],
        "timestamp": str(int(context.wall_clock())),
    }
    params["hmac"] = oauth_hmac(context.client_secret, params)
    query = urlencode(dict(sorted(params.items())))
    redirect = values["redirect_uri"]
    return Response.redirect(f"{redirect}{'&' if '?' in redirect else '?'}{query}")


def _fields(request: Request) -> dict[str, str]:
    if request.header("content-type").split(";")[0].strip().lower() == "application/json":
        try:
            data = request.json()
        except ValueError:
            return {}
        return {str(key): str(value) for key, value in data.items()} if isinstance(data, dict) else {}
    return {**{key: values[0] for key, values in request.query.items()}, **request.form()}


def access_token(context: ShopifyContext, request: Request, shop: str) -> Response:
    fields = _fields(request)
    auth = context.auth
    try:
        auth.check_client(fields.get("client_id", ""), fields.get("client_secret", ""))
        if fields.get("grant_type") == "refresh_token":
            token = fields.get("refresh_token", "")
            body = auth.refresh(token)
        else:
            if not fields.get("code"):
                raise OAuthError(400, "invalid_request", "Missing required parameter: code")
            body = auth.exchange_code(shop.lower(), fields["code"], expiring=fields.get("expiring", "1") != "0")
    except OAuthError as error:
        return Response.json_body(
            {"error": error.error, "error_description": error.description}, error.status, _NO_STORE
        )
    return Response.json_body(body, 200, _NO_STORE)


def routes(context: ShopifyContext) -> list[Route]:
    return [
        Route(
            "GET",
            AUTHORIZE_PATH,
            lambda request, params: consent_page(context, request, params["shop"]),
            "shopifyConsent",
        ),
        Route(
            "POST",
            AUTHORIZE_PATH,
            lambda request, params: consent_submit(context, request, params["shop"]),
            "shopifyInstall",
        ),
        Route(
            "POST", TOKEN_PATH, lambda request, params: access_token(context, request, params["shop"]), "shopifyToken"
        ),
    ]
