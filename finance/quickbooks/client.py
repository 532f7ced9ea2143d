"""ACORN's one call path to QuickBooks Online: intuit-oauth for the OAuth 2.0 side, python-quickbooks for the
Accounting API, both over real HTTP with a timeout, and every failure sorted into one of three kinds.

* `QuickBooksAuthError`: the refresh token was refused (invalid_grant, revoked, expired after 100 days) or a
  fresh access token is refused too: the company must be connected again; retrying does not help.
* `QuickBooksRetryableError`: a timeout, a dropped connection, 429 (Intuit throttles 500 requests a minute per
  company) or a 5xx: try again later. A create that timed out may have been saved: the caller looks the
  journal up by DocNumber and sends the same `requestid`, which QuickBooks answers with its first answer.
* `QuickBooksRejectedError`: QuickBooks refused the request itself (a ValidationFault: an account it does not
  know, debits and credits that differ, a currency the company does not have); the message is QuickBooks' own.

Two adaptations of the libraries, both in their transport only:
* intuit-oauth's `AuthClient` is a requests.Session with no timeout: `_AuthClient` adds ours. Its
  `environment` is "production" / "sandbox" for Intuit's hosts, else the discovery document's URL under the
  API base (how the simulator, or any test double, names its OAuth endpoints).
* python-quickbooks sends through a requests-oauthlib session, which has no timeout and refuses plain
  http:// (the simulator on 127.0.0.1). It sets the Bearer header itself in `process_request`, so
  `_QuickBooks` sends the identical request with a plain requests.Session and a timeout, and keeps the
  response so a failure can be sorted by its HTTP status. The API URL is the connection's `api_base` + /v3.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.exceptions import AuthorizationException, QuickbooksException
from quickbooks.objects.account import Account as QBAccount
from quickbooks.objects.journalentry import JournalEntry as QBJournalEntry

logger = logging.getLogger(__name__)

INTUIT_ENVIRONMENTS = {
    "https://quickbooks.api.intuit.com": "production",
    "https://sandbox-quickbooks.api.intuit.com": "sandbox",
}
PAGE_SIZE = 1000  # Intuit's largest MAXRESULTS
T = TypeVar("T")


class QuickBooksError(Exception):
    """Something went wrong talking to QuickBooks Online; `str()` is what a person can be shown."""


class QuickBooksAuthError(QuickBooksError):
    """The company must be connected again."""


class QuickBooksRetryableError(QuickBooksError):
    """Try again later (timeout, dropped connection, 429, 5xx)."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuickBooksRejectedError(QuickBooksError):
    """QuickBooks refused the request; the message says why."""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int | None
    refresh_expires_in: int | None


@dataclass(frozen=True)
class RemoteAccount:
    id: str
    name: str
    fully_qualified_name: str
    account_type: str
    active: bool


@dataclass(frozen=True)
class CompanyInfo:
    name: str
    home_currency: str
    multicurrency: bool


def _timeout() -> float:
    return float(settings.ACORN_VENDOR_TIMEOUT_SECONDS)


def environment_for(api_base: str) -> str:
    """intuit-oauth's `environment`: Intuit's name for its own hosts, else the discovery document's URL."""
    base = api_base.rstrip("/")
    return INTUIT_ENVIRONMENTS.get(base, f"{base}/.well-known/openid_configuration")


class _AuthClient(AuthClient):
    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", _timeout())
        return super().request(method, url, *args, **kwargs)


class _QuickBooks(QuickBooks):
    last_response: requests.Response | None = None
    http: requests.Session

    def process_request(
        self, request_type: str, url: str, headers: Any = "", params: Any = "", data: Any = ""
    ) -> requests.Response:
        sent_headers = dict(headers or {})
        sent_headers["Authorization"] = f"Bearer {self.auth_client.access_token}"
        body = data.encode("utf-8") if isinstance(data, str) else data
        self.last_response = None
        response = self.http.request(
            request_type, url, headers=sent_headers, params=params, data=body, timeout=_timeout()
        )
        self.last_response = response
        return response


def _auth_error_text(error: AuthClientError) -> str:
    try:
        body = error.response.json()
    except ValueError:
        return f"HTTP {error.status_code}"
    return str(body.get("error_description") or body.get("error") or f"HTTP {error.status_code}")


def oauth_client(
    *,
    api_base: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str = "",
    access_token: str | None = None,
    refresh_token: str | None = None,
    realm_id: str | None = None,
) -> AuthClient:
    """intuit-oauth's client for this API base (reads the discovery document: one HTTP call)."""
    try:
        return _AuthClient(
            client_id,
            client_secret,
            redirect_uri,
            environment_for(api_base),
            access_token=access_token,
            refresh_token=refresh_token,
            realm_id=realm_id,
        )
    except (requests.RequestException, ValueError) as error:
        raise QuickBooksRetryableError(
            _("Intuit's sign-in service could not be reached: %(error)s") % {"error": error}
        ) from None
    except AuthClientError as error:
        raise QuickBooksRetryableError(
            _("Intuit's sign-in service answered HTTP %(status)s.") % {"status": error.status_code}
        ) from None


def authorization_url(auth: AuthClient, *, state: str) -> str:
    """Where to send the person who connects: Intuit's consent page for the accounting scope."""
    return str(auth.get_authorization_url([Scopes.ACCOUNTING], state_token=state))


def _tokens(auth: AuthClient) -> Tokens:
    return Tokens(
        access_token=str(auth.access_token),
        refresh_token=str(auth.refresh_token),
        expires_in=int(auth.expires_in) if auth.expires_in is not None else None,
        refresh_expires_in=int(auth.x_refresh_token_expires_in)
        if getattr(auth, "x_refresh_token_expires_in", None) is not None
        else None,
    )


def _token_call(call: Callable[[], None], auth: AuthClient) -> Tokens:
    try:
        call()
    except AuthClientError as error:
        if error.status_code in (400, 401):
            raise QuickBooksAuthError(
                _("Intuit refused the authorisation (%(reason)s): connect QuickBooks again.")
                % {"reason": _auth_error_text(error)}
            ) from None
        raise QuickBooksRetryableError(
            _("Intuit's token service answered HTTP %(status)s.") % {"status": error.status_code}
        ) from None
    except requests.RequestException as error:
        raise QuickBooksRetryableError(
            _("Intuit's token service could not be reached: %(error)s") % {"error": error}
        ) from None
    return _tokens(auth)


def exchange_code(auth: AuthClient, *, code: str, realm_id: str) -> Tokens:
    """Trade the consent's authorisation code for tokens."""
    return _token_call(lambda: auth.get_bearer_token(code, realm_id=realm_id), auth)


def refresh_tokens(auth: AuthClient) -> Tokens:
    """A new access token (and the new refresh token Intuit returns with it)."""
    return _token_call(lambda: auth.refresh(), auth)


class QuickBooksApi:
    """The Accounting API of one company. `on_tokens` is called with every new pair of tokens (persist them:
    the previous refresh token stops working)."""

    def __init__(
        self,
        *,
        api_base: str,
        realm_id: str,
        client_id: str,
        client_secret: str,
        access_token: str | None,
        refresh_token: str,
        on_tokens: Callable[[Tokens], None],
    ) -> None:
        self.realm_id = realm_id
        self._on_tokens = on_tokens
        self._auth = oauth_client(
            api_base=api_base,
            client_id=client_id,
            client_secret=client_secret,
            access_token=access_token or None,
            refresh_token=refresh_token,
            realm_id=realm_id,
        )
        if not access_token:
            self._refresh()
        self._qb = _QuickBooks(
            auth_client=self._auth,
            refresh_token=self._auth.refresh_token,
            company_id=realm_id,
            minorversion=settings.ACORN_QUICKBOOKS_MINOR_VERSION,
            use_decimal=True,
        )
        self._qb.http = requests.Session()
        self._qb.api_url_v3 = f"{api_base.rstrip('/')}/v3"
        self._qb.sandbox = False

    def _refresh(self) -> None:
        self._on_tokens(refresh_tokens(self._auth))

    def _sorted(self, error: Exception) -> QuickBooksError:
        response = self._qb.last_response
        status = response.status_code if response is not None else None
        if isinstance(error, requests.Timeout):
            return QuickBooksRetryableError(_("QuickBooks did not answer in time."))
        if isinstance(error, requests.RequestException):
            return QuickBooksRetryableError(_("QuickBooks could not be reached: %(error)s") % {"error": error})
        if status == 429 or (status is not None and status >= 500):
            retry_after = None
            if response is not None:
                value = response.headers.get("Retry-After")
                retry_after = int(value) if value and value.isdigit() else None
            return QuickBooksRetryableError(
                _("QuickBooks answered HTTP %(status)s.") % {"status": status}, retry_after=retry_after
            )
        if isinstance(error, QuickbooksException):
            detail = f" {error.detail}" if error.detail and status != 401 else ""
            return QuickBooksRejectedError(
                (
                    _("QuickBooks error %(code)s: %(message)s.") % {"code": error.error_code, "message": error.message}
                    + detail
                ).strip()
            )
        return QuickBooksRejectedError(str(error))

    def _call(self, action: Callable[[], T]) -> T:
        """Run one API call; on 401 refresh the access token once and run it again."""
        for attempt in (1, 2):
            try:
                return action()
            except AuthorizationException as error:
                response = self._qb.last_response
                if response is not None and response.status_code == 401:
                    if attempt == 1:
                        self._refresh()
                        continue
                    raise QuickBooksAuthError(_("QuickBooks refused a fresh access token: connect it again.")) from None
                raise self._sorted(error) from None
            except (QuickbooksException, requests.RequestException) as error:
                raise self._sorted(error) from None
        raise AssertionError("unreachable")

    def company_info(self) -> CompanyInfo:
        data = self._call(lambda: self._qb.get_single_object("CompanyInfo", pk=self.realm_id))["CompanyInfo"]
        values = {item.get("Name"): item.get("Value") for item in data.get("NameValue") or []}
        return CompanyInfo(
            name=str(data.get("CompanyName") or ""),
            home_currency=str(values.get("HomeCurrency") or ""),
            multicurrency=str(values.get("MultiCurrencyEnabled") or "").lower() == "true",
        )

    def accounts(self) -> list[RemoteAccount]:
        """Every account of the company's chart, page by page."""
        found: list[RemoteAccount] = []
        start = 1
        while True:
            page: list[Any] = self._call(
                partial(QBAccount.where, start_position=start, max_results=PAGE_SIZE, qb=self._qb)
            )
            found += [
                RemoteAccount(
                    id=str(account.Id),
                    name=str(account.Name or ""),
                    fully_qualified_name=str(account.FullyQualifiedName or account.Name or ""),
                    account_type=str(account.AccountType or ""),
                    active=bool(account.Active),
                )
                for account in page
            ]
            if len(page) < PAGE_SIZE:
                return found
            start += PAGE_SIZE

    def journal_find(self, doc_number: str) -> str | None:
        """The Id of the JournalEntry with this DocNumber, or None."""
        quoted = doc_number.replace("\\", "\\\\").replace("'", "\\'")
        found = self._call(lambda: QBJournalEntry.where(f"DocNumber = '{quoted}'", qb=self._qb))
        return str(found[0].Id) if found else None

    def journal_create(self, entry: QBJournalEntry, *, request_id: str) -> str:
        """Create the JournalEntry; the same request id returns the first answer again. Returns its Id."""
        saved = self._call(lambda: entry.save(qb=self._qb, request_id=request_id))
        return str(saved.Id)
