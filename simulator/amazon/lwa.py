"""Login with Amazon token endpoint: ``POST /auth/o2/token`` (form-encoded).

Grants: ``refresh_token`` → an access token; ``authorization_code`` (the ``spapi_oauth_code`` from the
consent redirect, single use, five minutes) → an access token and the seller's refresh token;
``client_credentials`` → a grantless access token. Errors use the OAuth shape
``{"error": ..., "error_description": ...}``: 400 invalid_grant / invalid_request /
unsupported_grant_type, 401 invalid_client. Faults never apply here; revocation does.
"""

from __future__ import annotations

from simulator.amazon.common import AmazonContext
from simulator.auth import LwaError
from simulator.http import Request, Response, Route

TOKEN_PATH = "/auth/o2/token"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _error(error: LwaError) -> Response:
    return Response.json_body({"error": error.error, "error_description": error.description}, error.status, _NO_STORE)


def _require(form: dict[str, str], *names: str) -> None:
    missing = [name for name in names if not form.get(name)]
    if missing:
        raise LwaError(400, "invalid_request", f"Missing required parameter(s): {', '.join(missing)}")


def token(context: AmazonContext, request: Request) -> Response:
    auth = context.world.auth
    form = request.form()
    try:
        _require(form, "grant_type")
        grant_type = form["grant_type"]
        if grant_type not in ("refresh_token", "authorization_code", "client_credentials"):
            raise LwaError(400, "unsupported_grant_type", f"Unsupported grant_type: {grant_type}")
        _require(form, "client_id", "client_secret")
        auth.check_client(form["client_id"], form["client_secret"])
        body: dict[str, str | int]
        if grant_type == "refresh_token":
            _require(form, "refresh_token")
            access = auth.refresh(form["refresh_token"])
            body = {"access_token": access, "token_type": "bearer", "expires_in": auth.access_token_ttl}
        elif grant_type == "authorization_code":
            _require(form, "code")
            _, refresh, access = auth.exchange_code(form["code"], form.get("redirect_uri") or None)
            body = {
                "access_token": access,
                "refresh_token": refresh,
                "token_type": "bearer",
                "expires_in": auth.access_token_ttl,
            }
        else:
            _require(form, "scope")
            body = {"access_token": auth.grantless(), "token_type": "bearer", "expires_in": auth.access_token_ttl}
    except LwaError as error:
        return _error(error)
    return Response.json_body(body, 200, _NO_STORE)


def routes(context: AmazonContext) -> list[Route]:
    return [Route("POST", TOKEN_PATH, lambda request, params: token(context, request), "lwaToken")]
