"""What every WooCommerce REST call shares: WP_Error bodies, WordPress-style JSON, parameter validation as
WordPress does it (`rest_invalid_param`), and authentication as `WC_REST_Authentication` does it.

Authentication: over HTTPS, HTTP Basic with the consumer key and secret (or `consumer_key` /
`consumer_secret` in the query); otherwise, or when Basic found no key, OAuth 1.0a one-legged with the
signature in the query (HMAC-SHA1 or HMAC-SHA256, timestamp within 15 minutes, nonce used once). PHP
keeps the last of repeated query parameters, which is why the `woocommerce` library's habit of sending
every parameter twice over plain HTTP does no harm. A key that authenticates but lacks the permission
for the method gets 401 `woocommerce_rest_authentication_error`; no key at all falls through to the
endpoint's own permission check (401 `woocommerce_rest_cannot_view` and friends).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from simulator.http import Request, Response
from simulator.woocommerce.model import ApiKey
from simulator.woocommerce.site import Webhook, WooSite

OAUTH_PARAMS = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method")
OAUTH_WINDOW_SECONDS = 15 * 60
BASIC_REALM = (
    'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret in the '
    'password field."'
)
CREDENTIAL_PARAMS = frozenset({*OAUTH_PARAMS, "consumer_key", "consumer_secret"})
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}(?::\d{2})?)?$")


class WooError(Exception):
    """A WP_Error: HTTP status, `code`, `message` and extra `data`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.data = data or {}
        self.headers = headers or {}


def wp_json_bytes(data: Any) -> bytes:
    """JSON as PHP's json_encode writes it: ASCII only (\\u escapes) and escaped slashes."""
    return json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode("ascii")


def wp_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    merged = {
        "Content-Type": "application/json; charset=UTF-8",
        "X-Robots-Tag": "noindex",
        "X-Content-Type-Options": "nosniff",
        "Access-Control-Expose-Headers": "X-WP-Total, X-WP-TotalPages, Link",
        **(headers or {}),
    }
    return Response(status=status, body=wp_json_bytes(data), headers=merged)


def error_response(error: WooError) -> Response:
    body = {"code": error.code, "message": error.message, "data": {"status": error.status, **error.data}}
    return wp_response(body, error.status, error.headers)


def no_route() -> WooError:
    return WooError(404, "rest_no_route", "No route was found matching the URL and request method")


def invalid_param(name: str, message: str, code: str = "rest_invalid_param") -> WooError:
    return WooError(
        400,
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        {"params": {name: message}, "details": {name: {"code": code, "message": message, "data": None}}},
    )


def missing_param(*names: str) -> WooError:
    return WooError(
        400, "rest_missing_callback_param", f"Missing parameter(s): {', '.join(names)}", {"params": list(names)}
    )


@dataclass
class Call:
    """One authenticated (or anonymous) call to a route of one site."""

    site: WooSite
    request: Request
    params: dict[str, str]
    key: ApiKey | None
    site_url: str
    ping: Webhook | None = None  # a webhook to ping once the call's lock is released
    _body: Any = field(default=None, repr=False)
    _parsed: bool = False

    def body(self) -> dict[str, Any]:
        """The JSON (or form-encoded) body as a dict; {} when empty."""
        if not self._parsed:
            self._parsed = True
            content_type = self.request.header("content-type")
            raw = self.request.body
            if not raw.strip():
                self._body = {}
            elif "application/x-www-form-urlencoded" in content_type:
                self._body = self.request.form()
            else:
                try:
                    self._body = json.loads(raw.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    raise WooError(
                        400,
                        "rest_invalid_json",
                        "Invalid JSON body passed.",
                        {"json_error_code": 4, "json_error_message": "Syntax error"},
                    ) from None
        return self._body if isinstance(self._body, dict) else {}

    def param(self, name: str) -> Any:
        """Body first, then the query string (the first of repeated values), as WordPress merges them."""
        body = self.body()
        if name in body:
            return body[name]
        values = self.request.query.get(name)
        return values[0] if values else None

    def has(self, name: str) -> bool:
        return name in self.body() or name in self.request.query


# -- parameters ------------------------------------------------------------------------------------------


def int_param(
    call: Call, name: str, default: int | None, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    raw = call.param(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type")
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if minimum is not None and maximum is not None:
            message = f"{name} must be between {minimum} (inclusive) and {maximum} (inclusive)"
        else:
            message = f"{name} must be greater than or equal to {minimum}"
        raise invalid_param(name, message, "rest_out_of_bounds")
    return value


def bool_param(call: Call, name: str, default: bool) -> bool:
    raw = call.param(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).lower()
    if text in ("1", "true"):
        return True
    if text in ("0", "false"):
        return False
    raise invalid_param(name, f"{name} is not of type boolean.", "rest_invalid_type")


def enum_param(call: Call, name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = call.param(name)
    if raw is None or raw == "":
        return default
    value = str(raw)
    if value not in allowed:
        raise invalid_param(name, f"{name} is not one of {_one_of(allowed)}.", "rest_not_in_enum")
    return value


def _one_of(allowed: tuple[str, ...]) -> str:
    return ", ".join(allowed[:-1]) + f", and {allowed[-1]}" if len(allowed) > 1 else allowed[0]


def list_param(call: Call, name: str) -> list[str]:
    """A list parameter: comma-separated, repeated, or PHP-style `name[]`, deduplicated in order."""
    body_value = call.body().get(name)
    if isinstance(body_value, list):
        values = [str(value) for value in body_value]
    else:
        raw = [*call.request.query.get(name, []), *call.request.query.get(f"{name}[]", [])]
        if isinstance(body_value, str):
            raw.append(body_value)
        values = [part.strip() for value in raw for part in value.split(",") if part.strip()]
    return list(dict.fromkeys(values))


def id_list_param(call: Call, name: str) -> list[int]:
    result = []
    for value in list_param(call, name):
        try:
            result.append(int(value))
        except ValueError:
            raise invalid_param(name, f"{name}[0] is not of type integer.", "rest_invalid_type") from None
    return result


def date_param(call: Call, name: str, *, gmt: bool) -> datetime | None:
    """An RFC 3339 date-time; without an offset it is the site's local time, or UTC when `gmt`."""
    raw = call.param(name)
    if raw is None or raw == "":
        return None
    text = str(raw)
    if not _RFC3339.match(text):
        raise invalid_param(name, "Invalid date.", "rest_invalid_date")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00").replace("t", "T"))
    except ValueError:
        raise invalid_param(name, "Invalid date.", "rest_invalid_date") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC if gmt else call.site.zone)
    return parsed.astimezone(UTC)


# -- authentication --------------------------------------------------------------------------------------


def _rawurlencode(text: str) -> str:
    """PHP's rawurlencode: everything but letters, digits and -_.~ is percent-encoded (UTF-8)."""
    return quote(text, safe="-_.~")


def _auth_error(message: str, headers: dict[str, str] | None = None) -> WooError:
    return WooError(401, "woocommerce_rest_authentication_error", message, headers=headers)


def _basic_credentials(request: Request) -> tuple[str, str]:
    key = (request.query.get("consumer_key") or [""])[-1]
    secret = (request.query.get("consumer_secret") or [""])[-1]
    if key and secret:
        return key, secret
    header = request.header("authorization")
    if header[:6].lower() != "basic ":
        return "", ""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password


def _oauth_params(request: Request) -> dict[str, str]:
    params = {name: values[-1] for name, values in request.query.items()}
    content_type = request.header("content-type")
    if request.body and "application/x-www-form-urlencoded" in content_type:
        parsed = parse_qs(request.body.decode("utf-8", errors="replace"), keep_blank_values=True)
        params.update({name: values[-1] for name, values in parsed.items()})
    header = request.header("authorization").strip()
    if header.startswith("OAuth "):
        for name, quoted, bare in re.findall(r'(oauth_[a-z_-]*)=(?:"([^"]*)"|([^,]*))', header):
            params[name] = unquote(quoted or bare)
    return params


def _check_signature(request: Request, key: ApiKey, params: dict[str, str]) -> None:
    consumer_signature = unquote(params["oauth_signature"].replace(" ", "+"))
    signed = {name: value for name, value in params.items() if name != "oauth_signature"}
    host = request.header("host")
    base_uri = _rawurlencode(f"{request.scheme}://{host}{request.path}")
    pairs = sorted((_rawurlencode(name), _rawurlencode(value)) for name, value in signed.items())
    query = "%26".join(_rawurlencode(f"{name}={value}") for name, value in pairs)
    string_to_sign = f"{request.method.upper()}&{base_uri}&{query}"
    method = params["oauth_signature_method"]
    if method not in ("HMAC-SHA1", "HMAC-SHA256"):
        raise _auth_error("Invalid signature - signature method is invalid.")
    digest = hashlib.sha1 if method == "HMAC-SHA1" else hashlib.sha256
    expected = base64.b64encode(
        hmac.new(f"{key.consumer_secret}&".encode(), string_to_sign.encode(), digest).digest()
    ).decode()
    if not hmac.compare_digest(expected, consumer_signature):
        raise _auth_error("Invalid signature - provided signature does not match.")


def _check_timestamp_and_nonce(site: WooSite, key: ApiKey, params: dict[str, str], now: float) -> None:
    try:
        timestamp = int(params["oauth_timestamp"])
    except ValueError:
        raise _auth_error("Invalid timestamp.") from None
    if abs(timestamp - now) > OAUTH_WINDOW_SECONDS:
        raise _auth_error("Invalid timestamp.")
    used = site.nonces.setdefault(key.consumer_key, {})
    nonce = params["oauth_nonce"]
    if nonce in used:
        raise _auth_error("Invalid nonce - nonce has already been used.")
    used[nonce] = timestamp
    for old, stamp in list(used.items()):
        if stamp < now - OAUTH_WINDOW_SECONDS:
            del used[old]


def authenticate(site: WooSite, request: Request, now: float) -> ApiKey | None:
    """The API key the request authenticates with, None when it carries none; WooError when it fails."""
    if request.scheme == "https":
        consumer_key, consumer_secret = _basic_credentials(request)
        if consumer_key and consumer_secret:
            key = site.keys.get(consumer_key)
            if key is not None:
                if not hmac.compare_digest(key.consumer_secret, consumer_secret):
                    raise _auth_error("Consumer secret is invalid.", {"WWW-Authenticate": BASIC_REALM})
                return key
    params = _oauth_params(request)
    present = [name for name in OAUTH_PARAMS if params.get(name)]
    if not present:
        return None
    missing = [name for name in OAUTH_PARAMS if not params.get(name)]
    if missing:
        noun = "parameter" if len(missing) == 1 else "parameters"
        raise WooError(
            401, "woocommerce_rest_authentication_missing_parameter", f"Missing OAuth {noun} {', '.join(missing)}"
        )
    key = site.keys.get(params["oauth_consumer_key"])
    if key is None:
        raise _auth_error("Consumer key is invalid.")
    _check_signature(request, key, params)
    _check_timestamp_and_nonce(site, key, params, now)
    return key


def check_permissions(key: ApiKey, method: str) -> None:
    if not key.can(method):
        kind = "read" if method in ("GET", "HEAD") else "write"
        raise _auth_error(f"The API key provided does not have {kind} permissions.")
