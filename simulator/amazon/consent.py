"""Seller Central's consent page for the website authorisation workflow.

``GET /apps/authorize/consent?application_id=…&state=…&version=beta&redirect_uri=…&region=NA&marketplaces=US,CA``
shows an "Authorize" form (the seller is taken as signed in). Posting it redirects (302) to
``redirect_uri`` with ``state``, ``selling_partner_id`` and ``spapi_oauth_code``; a new seller is created
for the region and marketplaces unless ``selling_partner_id`` names an existing one (re-authorisation).
Posting ``deny=1`` redirects with ``error=access_denied&state=…``. ``region`` and ``marketplaces`` are
the simulator's own additions: they say which seller account to create.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode, urlsplit

from simulator.amazon.common import AmazonContext
from simulator.catalogue import REGIONS
from simulator.http import Request, Response, Route
from simulator.world import UnknownSeller

CONSENT_PATH = "/apps/authorize/consent"
_FIELDS = ("application_id", "state", "version", "redirect_uri", "region", "marketplaces", "selling_partner_id")


class _ConsentError(Exception):
    pass


def _page(title: str, body: str, status: int = 200) -> Response:
    return Response.html(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>",
        status,
    )


def _validated(context: AmazonContext, values: dict[str, str]) -> tuple[str, list[str]]:
    """Check the request; returns the region and marketplace codes."""
    if values.get("application_id") != context.world.application_id:
        raise _ConsentError("Unknown application_id.")
    if not values.get("state"):
        raise _ConsentError("The state parameter is required.")
    redirect = urlsplit(values.get("redirect_uri", ""))
    if redirect.scheme not in ("http", "https") or not redirect.netloc:
        raise _ConsentError("redirect_uri must be an absolute http(s) URL.")
    region = (values.get("region") or "NA").upper()
    if region not in REGIONS:
        raise _ConsentError(f"Unknown region {region}.")
    codes = [code.strip().upper() for code in (values.get("marketplaces") or "").split(",") if code.strip()]
    codes = codes or list(REGIONS[region])
    wrong = [code for code in codes if code not in REGIONS[region]]
    if wrong:
        raise _ConsentError(f"Marketplaces {', '.join(wrong)} are not in region {region}.")
    return region, codes


def _callback(redirect_uri: str, params: dict[str, str]) -> str:
    return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(params)}"


def consent_page(context: AmazonContext, request: Request) -> Response:
    values = {name: request.first(name) or "" for name in _FIELDS}
    try:
        region, codes = _validated(context, values)
    except _ConsentError as error:
        return _page("Authorization failed", f"<p>{escape(str(error))}</p>", 400)
    values["region"], values["marketplaces"] = region, ",".join(codes)
    hidden = "".join(
        f"<input type='hidden' name='{name}' value='{escape(value, quote=True)}'>"
        for name, value in values.items()
        if value
    )
    body = (
        f"<p>The application <strong>{escape(values['application_id'])}</strong> asks for access to your "
        f"selling account in {escape(region)} ({escape(', '.join(codes))}).</p>"
        f"<form method='post' action='{CONSENT_PATH}'>{hidden}"
        "<button type='submit' name='approve' value='1'>Authorize</button> "
        "<button type='submit' name='deny' value='1'>Cancel</button></form>"
    )
    return _page("Authorize application", body)


def consent_submit(context: AmazonContext, request: Request) -> Response:
    form = request.form()
    values = {name: form.get(name) or request.first(name) or "" for name in _FIELDS}
    try:
        region, codes = _validated(context, values)
    except _ConsentError as error:
        return _page("Authorization failed", f"<p>{escape(str(error))}</p>", 400)
    if form.get("deny"):
        return Response.redirect(
            _callback(values["redirect_uri"], {"error": "access_denied", "state": values["state"]})
        )
    world = context.world
    seller_id = values["selling_partner_id"]
    if seller_id:
        try:
            seller = world.seller(seller_id)
        except UnknownSeller:
            return _page("Authorization failed", "<p>Unknown selling_partner_id.</p>", 400)
        if seller.region != region:
            return _page("Authorization failed", "<p>That seller account is in another region.</p>", 400)
    else:
        seller = world.add_seller(region, codes)
    code = world.issue_authorization_code(seller.selling_partner_id, values["redirect_uri"])
    return Response.redirect(
        _callback(
            values["redirect_uri"],
            {"state": values["state"], "selling_partner_id": seller.selling_partner_id, "spapi_oauth_code": code},
        )
    )


def routes(context: AmazonContext) -> list[Route]:
    return [
        Route("GET", CONSENT_PATH, lambda request, params: consent_page(context, request), "consentPage"),
        Route("POST", CONSENT_PATH, lambda request, params: consent_submit(context, request), "consentSubmit"),
    ]
