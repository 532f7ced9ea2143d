"""WooCommerce REST v3 transport through the `woocommerce` client: HTTP Basic auth with the consumer key and
secret over HTTPS (certificate verified; a CA bundle can be configured for a private CA or the simulator),
errors classified, and the connection test that tells a seller what is wrong in plain words.

Listings by modification time page with a keyset token (the last modified time seen, and a page number only
to step through records modified in the same second): page numbers drift when a record changes while a
listing is being read (it moves to the end).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from requests.auth import HTTPBasicAuth
from woocommerce import API

from acorn.netguard import AddressRefused, guarded_session
from acorn.retry import retry_after_seconds
from channels.adapters.base import (
    ChannelAdapter,
    ChannelAuthError,
    ChannelError,
    ChannelRateLimited,
    ChannelRetryableError,
    SecretsKeeper,
)
from channels.models import Store

logger = logging.getLogger(__name__)

PAGE_SIZE = 100


class AddressNotPublic(ChannelError):
    """The site's address is, or now resolves to, an address that is not public: nothing was sent. Not retried;
    the seller must correct the address."""

    code = "address_not_public"


class ConnectionProblem(ChannelError):
    """Why a site cannot be connected, in words a seller can act on."""

    code = "connection_problem"


def normalize_site_url(value: str) -> str:
    """ "shop.example/" → "https://shop.example"; refuses anything but an http(s) URL with a host."""
    text = value.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Enter the shop's web address, for example https://shop.example.com.")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _verify() -> bool | str:
    return settings.ACORN_WOOCOMMERCE_CA_BUNDLE or True


def site_session() -> requests.Session:
    """The session every call to a seller's site goes through: connections only to checked public addresses,
    redirects included (`acorn.netguard`); loopback too where custom endpoints are allowed (the simulator)."""
    return guarded_session(allow_loopback=settings.ACORN_ALLOW_CUSTOM_ENDPOINTS)


class GuardedAPI(API):
    """The `woocommerce` library's client, its HTTP call sent through `site_session`.

    woocommerce 3.0 sends every call with the module-level `requests.request` from its private ``__request``
    (a fresh session each time, which cannot be given a transport adapter). This override keeps the library's
    URL, authentication and body encoding (the same steps, from woocommerce/api.py 3.0.0) and replaces only
    that call. Were the library to rename the method, the override would stop applying: the SSRF tests in
    tests/channels/test_woocommerce_netguard.py then fail."""

    def __init__(self, *args: Any, session: requests.Session, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session = session

    def _API__request(  # the name `API.__request` is mangled to
        self, method: str, endpoint: str, data: Any, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> requests.Response:
        params = {} if params is None else params
        url = self._API__get_url(endpoint)
        auth = None
        headers = {"user-agent": f"{self.user_agent}", "accept": "application/json"}
        if self.is_ssl and not self.query_string_auth:
            auth = HTTPBasicAuth(self.consumer_key, self.consumer_secret)
        elif self.is_ssl:
            params.update({"consumer_key": self.consumer_key, "consumer_secret": self.consumer_secret})
        else:  # plain http:// (the simulator in development): OAuth 1.0a in the query string
            url = self._API__get_oauth_url(f"{url}?{urlencode(params)}", method, **kwargs)
        if data is not None:
            data = json.dumps(data, ensure_ascii=False).encode("utf-8")
            headers["content-type"] = "application/json;charset=utf-8"
        return self.session.request(
            method=method,
            url=url,
            verify=self.verify_ssl,
            auth=auth,
            params=params,
            data=data,
            timeout=self.timeout,
            headers=headers,
            **kwargs,
        )


def client_for(site_url: str, consumer_key: str, consumer_secret: str) -> GuardedAPI:
    return GuardedAPI(
        url=site_url,
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        version="wc/v3",
        timeout=settings.ACORN_VENDOR_TIMEOUT_SECONDS,
        verify_ssl=_verify(),
        user_agent="ACORN/1.0",
        session=site_session(),
    )


# --- HTTP ----------------------------------------------------------------------------------------------


def error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, Mapping) else ""


def classify_response(response: requests.Response) -> ChannelError | None:
    """None for a 2xx; otherwise the error class for ACORN (retry, re-authorise, fail)."""
    status = response.status_code
    if status < 300:
        return None
    code = error_code(response)
    if status in (401, 403):
        return ChannelAuthError(f"WooCommerce refused the API keys ({status} {code or 'unauthorised'})")
    if status == 429:
        return ChannelRateLimited(
            "WooCommerce throttled the request (429)", retry_after=retry_after_seconds(response.headers)
        )
    if status >= 500:
        return ChannelRetryableError(f"WooCommerce answered {status}", code=f"http_{status}")
    return ChannelError(f"WooCommerce refused the request ({status} {code})".strip())


def classify_exception(error: Exception) -> ChannelError:
    if isinstance(error, AddressRefused):
        return AddressNotPublic(
            _("The site address %(host)s is not a public address (%(address)s): ACORN does not call private networks.")
            % {"host": error.host, "address": error.address}
        )
    if isinstance(error, requests.exceptions.SSLError):
        return ChannelError("The site's HTTPS certificate could not be verified")
    if isinstance(error, requests.exceptions.Timeout):
        return ChannelRetryableError("WooCommerce did not answer in time", code="timeout")
    if isinstance(error, requests.exceptions.ConnectionError):
        return ChannelRetryableError(f"Connection to the site failed: {type(error).__name__}", code="connection")
    return ChannelError(f"Unexpected error talking to WooCommerce: {type(error).__name__}")


def encode_page_token(after: datetime, page: int) -> str:
    return f"{after.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')}|{page}"


def decode_page_token(token: str) -> tuple[datetime, int]:
    try:
        moment, page = token.split("|", 1)
        return datetime.fromisoformat(moment).replace(tzinfo=UTC), int(page)
    except ValueError:
        raise ChannelError(f"Unreadable WooCommerce page token {token!r}") from None


class WooCommerceClient(ChannelAdapter):
    """The transport every WooCommerce API area shares: the site's REST v3 client with the store's keys,
    one call path with errors classified. Bound to one site."""

    def __init__(
        self,
        *,
        store: Store,
        secrets: Mapping[str, Any],
        renew_secrets: SecretsKeeper | None = None,
    ) -> None:
        super().__init__(store=store, secrets=secrets, renew_secrets=renew_secrets)
        key, secret = secrets.get("consumer_key"), secrets.get("consumer_secret")
        if not key or not secret:
            raise ChannelAuthError("The site has no API keys: connect it in the console.")
        if not store.endpoint:
            raise ChannelError("The store has no site address.")
        self.client: GuardedAPI = client_for(store.endpoint, str(key), str(secret))

    def request(self, method: str, endpoint: str, *, params: Mapping[str, Any] | None = None, data: Any = None) -> Any:
        """One REST call: the decoded JSON body and the response (for page headers), errors classified."""
        try:
            if method == "GET":
                response = self.client.get(endpoint, params=dict(params or {}))
            elif method == "POST":
                response = self.client.post(endpoint, data, params=dict(params or {}))
            elif method == "PUT":
                response = self.client.put(endpoint, data, params=dict(params or {}))
            elif method == "DELETE":
                response = self.client.delete(endpoint, params=dict(params or {}))
            else:
                raise ValueError(f"Unsupported method {method}")
        except requests.exceptions.RequestException as error:
            raise classify_exception(error) from None
        problem = classify_response(response)
        if problem is not None:
            raise problem
        try:
            return response.json(), response
        except ValueError:
            raise ChannelRetryableError("WooCommerce answered without JSON", code="bad_response") from None

    def check_connection(self) -> dict[str, Any]:
        """Prove the keys work and stock is managed; ConnectionProblem says what is wrong, in plain words."""
        try:
            index = self.client.session.get(
                f"{self.store.endpoint.rstrip('/')}/wp-json/",
                timeout=settings.ACORN_VENDOR_TIMEOUT_SECONDS,
                verify=_verify(),
            )
        except AddressRefused as refused:
            raise ConnectionProblem(str(classify_exception(refused))) from None
        except requests.exceptions.SSLError:
            raise ConnectionProblem(_("The site's HTTPS certificate could not be verified.")) from None
        except requests.exceptions.RequestException:
            raise ConnectionProblem(_("The site could not be reached: check the address.")) from None
        try:
            namespaces = index.json().get("namespaces", []) if index.status_code == 200 else None
        except (ValueError, AttributeError):
            namespaces = None
        if namespaces is None:
            raise ConnectionProblem(_("This address is not a WordPress site (no REST API at /wp-json/)."))
        if "wc/v3" not in namespaces:
            raise ConnectionProblem(_("WordPress answers, but WooCommerce is not active on it (no wc/v3 API)."))
        try:
            setting, _response = self.request("GET", "settings/products/woocommerce_manage_stock")
            system, _response = self.request("GET", "system_status")
        except ChannelAuthError:
            raise ConnectionProblem(_("WooCommerce refused the keys: check the consumer key and secret.")) from None
        except ChannelError as error:
            raise ConnectionProblem(_("WooCommerce answered with an error: %(error)s") % {"error": error}) from None
        if str(setting.get("value", "")).lower() != "yes":
            raise ConnectionProblem(
                _(
                    "Stock management is off in WooCommerce (Settings → Products → Inventory): turn it on so "
                    "that ACORN can keep stock in step."
                )
            )
        settings_block = system.get("settings", {}) if isinstance(system, Mapping) else {}
        environment = system.get("environment", {}) if isinstance(system, Mapping) else {}
        return {
            "currency": str(settings_block.get("currency", "")),
            "version": str(environment.get("version", "")),
            "site_url": str(environment.get("site_url", "")),
        }
