"""QuickBooks Online behind one prefix: Intuit's OAuth 2.0 server and the Accounting API v3.

    app = sim.quickbooks.add_app("client-id", "client-secret")
    realm = sim.quickbooks.add_company("Acme Trading LLC", home_currency="USD")
    sim.quickbooks.add_account(realm, "Amazon Sales", "Income")
    endpoint = sim.quickbooks.endpoint          # {sim.url}/quickbooks: what ACORN is given as the API base
    refresh = sim.quickbooks.issue_refresh_token("client-id", realm)   # as if the owner had consented
    sim.quickbooks.fail_next("journalentry", "timeout_after_save")     # or 429, 401, 500
    sim.quickbooks.journals(realm)              # what was created, as the API returns it

Everything is under ``/quickbooks`` (the prefix stands for Intuit's hosts):

* ``GET /.well-known/openid_configuration``: the discovery document intuit-oauth reads (its ``environment``
  may be this URL); it names the endpoints below.
* ``GET /connect/oauth2?client_id&response_type=code&scope&redirect_uri&state``: the consent page. The user
  is taken as signed in and consenting: it redirects (302) to ``redirect_uri`` with ``code``, ``state`` and
  ``realmId`` (Intuit's parameters), for ``consent_realm`` or the first company. Unknown client, a
  ``response_type`` other than ``code`` or a scope without ``com.intuit.quickbooks.accounting`` answer 400.
* ``POST /oauth2/v1/tokens/bearer`` (HTTP Basic client id / secret, form body): ``grant_type=authorization_code``
  (``code``, ``redirect_uri``; a code works once, for 10 minutes) or ``grant_type=refresh_token``. Answers
  ``{"token_type": "bearer", "access_token", "expires_in": 3600, "refresh_token",
  "x_refresh_token_expires_in": 8726400}`` (Intuit: access tokens last an hour, refresh tokens 100 days).
  A refresh returns a new refresh token and the previous one stops working (Intuit: always keep the latest).
  A wrong client answers 401 ``{"error": "invalid_client"}``, a bad code or refresh token 400
  ``{"error": "invalid_grant"}``.
* ``POST /oauth2/v1/tokens/revoke`` (JSON ``{"token"}``): the refresh token and its access tokens stop working.
* ``/v3/company/{realmId}/…`` with ``Authorization: Bearer <access token>`` (and ``minorversion``, which must
  be at least 75 since Intuit retired 1-74): ``GET companyinfo/{realmId}``; ``GET query?query=…`` or ``POST
  query`` with the query as an ``application/text`` body (python-quickbooks posts it), see
  simulator.quickbooks.query; ``POST journalentry`` creates a JournalEntry; ``GET journalentry/{id}``.
  An expired, revoked or unknown token, or one for another company, answers 401 with the body Intuit's
  gateway sends (``{"fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200;
  statusCode=401", …, "code": "3200"}], "type": "AUTHENTICATION"}, …}``).
* ``requestid`` (query parameter, at most 50 characters): the same request id for the same company answers
  exactly the first answer again without doing anything (Intuit's idempotency for retries).

A JournalEntry is validated as the API does: at least one line; each ``JournalEntryLineDetail`` line has a
``PostingType`` of ``Debit`` or ``Credit``, a non-negative ``Amount`` (a JSON number or a numeric string, as
python-quickbooks sends a Decimal) and an ``AccountRef`` to an active account of the company (else 2500
"Invalid Reference Id"); debits equal credits (else 6000, a business validation error); ``DocNumber`` at most
21 characters (else 2050); ``TxnDate`` a date; a ``CurrencyRef`` other than the home currency only in a
multicurrency company and only for a currency it has (else 6000). Validation faults answer 400
``{"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type": "ValidationFault"}, "time"}``. The
created entity comes back with ``Id``, ``SyncToken`` "0", ``MetaData`` and ``TotalAmt``; DocNumber is not
unique (QuickBooks only warns about duplicates in its own screens), which is why a client looks it up first.

Faults a test switches on (``fail_next(operation, kind)``, operation ``journalentry``, ``query``,
``companyinfo``, ``token`` or ``*``): ``"timeout_after_save"`` (the request is carried out, then the
connection hangs for ``hang_seconds`` and closes unanswered: the client times out while QuickBooks kept
it), ``429`` (ThrottleExceeded, errorCode 003001, Intuit's 500 requests a minute per company), ``401`` (as
if the token had expired), ``500`` (a SystemFault, code 10000). ``expire_access_tokens()`` makes every
access token issued so far expire at once.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from simulator.http import Request, Response, Route, json_number
from simulator.quickbooks import query as qbql

PREFIX = "/quickbooks"
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 8_726_400
CODE_SECONDS = 600
MINIMUM_MINOR_VERSION = 75
DOC_NUMBER_MAX = 21
REQUEST_ID_MAX = 50
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
DEFAULT_HANG_SECONDS = 2.0

# Account types and their classification, as the Account entity reports them.
CLASSIFICATION = {
    "Bank": "Asset",
    "Other Current Asset": "Asset",
    "Accounts Receivable": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
    "Other Expense": "Expense",
}
# A new company's chart (a few of the accounts QuickBooks Online creates for every company).
DEFAULT_ACCOUNTS = (
    ("Checking", "Bank"),
    ("Undeposited Funds", "Other Current Asset"),
    ("Uncategorized Asset", "Other Current Asset"),
    ("Sales of Product Income", "Income"),
    ("Uncategorized Income", "Income"),
    ("Uncategorized Expense", "Expense"),
    ("Opening Balance Equity", "Equity"),
)
FAULT_KINDS = ("timeout_after_save", 429, 401, 500)


@dataclass
class App:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()  # empty: any redirect URI is accepted


@dataclass
class Company:
    realm_id: str
    name: str
    home_currency: str
    multicurrency: bool
    currencies: set[str]
    country: str
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # by Id
    journals: dict[str, dict[str, Any]] = field(default_factory=dict)  # by Id
    answers: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # by requestid
    next_id: int = 1

    def new_id(self) -> str:
        value = str(self.next_id)
        self.next_id += 1
        return value


@dataclass
class _Grant:
    client_id: str
    realm_id: str
    expires_at: float
    redirect_uri: str = ""


def _now_iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).astimezone().isoformat(timespec="milliseconds")


def _fault(errors: list[tuple[str, str, str, str]], fault_type: str, status: int, moment: float) -> Response:
    """Intuit's JSON fault: {"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type"}, "time"}."""
    body = {
        "Fault": {
            "Error": [
                {"Message": message, "Detail": detail, "code": code, "element": element}
                for message, detail, code, element in errors
            ],
            "type": fault_type,
        },
        "time": _now_iso(moment),
    }
    return Response.json_body(body, status=status, headers={"intuit_tid": secrets.token_hex(8)})


def _gateway_fault(message: str, detail: str, code: str, fault_type: str, status: int, moment: float) -> Response:
    """What Intuit's gateway answers before the request reaches QuickBooks (401, 429)."""
    body: dict[str, Any] = {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [{"message": message, "detail": detail, "code": code, "element": None}],
            "type": fault_type,
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(moment * 1000),
        "status": None,
        "cdcresponse": [],
    }
    return Response.json_body(body, status=status, headers={"intuit_tid": secrets.token_hex(8)})


def _money(value: Decimal) -> int | float:
    return json_number(value)


class QuickBooksContext:
    """The companies, apps and tokens of the simulated QuickBooks Online. Thread-safe."""

    def __init__(self, base_url: Callable[[], str], *, now: Callable[[], float] = time.time) -> None:
        self._base_url = base_url
        self._now = now
        self._lock = threading.RLock()
        self.apps: dict[str, App] = {}
        self.companies: dict[str, Company] = {}
        self.consent_realm: str | None = None
        self.hang_seconds = DEFAULT_HANG_SECONDS
        self._codes: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._access: dict[str, _Grant] = {}
        self._scripted: deque[tuple[str, str | int]] = deque()
        self.faults_served: list[tuple[str, str | int]] = []
        self._next_realm = 9130357000000001

    # --- set-up, for tests and the demo -----------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The API base a client is given: Intuit's hosts all stand behind it."""
        return f"{self._base_url()}{PREFIX}"

    def add_app(self, client_id: str, client_secret: str, redirect_uris: tuple[str, ...] = ()) -> App:
        with self._lock:
            app = App(client_id, client_secret, tuple(redirect_uris))
            self.apps[client_id] = app
            return app

    def add_company(
        self,
        name: str,
        *,
        home_currency: str = "USD",
        multicurrency: bool = False,
        currencies: tuple[str, ...] = (),
        country: str = "US",
        realm_id: str | None = None,
    ) -> str:
        """A new company with QuickBooks' starting chart; returns its realm id."""
        with self._lock:
            if realm_id is None:
                realm_id = str(self._next_realm)
                self._next_realm += 1
            company = Company(
                realm_id=realm_id,
                name=name,
                home_currency=home_currency,
                multicurrency=multicurrency,
                currencies={home_currency, *currencies},
                country=country,
            )
            self.companies[realm_id] = company
            for account_name, account_type in DEFAULT_ACCOUNTS:
                self._add_account(company, account_name, account_type)
            return realm_id

    def add_account(
        self, realm_id: str, name: str, account_type: str, *, parent: str | None = None, active: bool = True
    ) -> str:
        """Add an account (a sub-account of `parent`'s Id when given); returns its Id."""
        with self._lock:
            return self._add_account(self.companies[realm_id], name, account_type, parent=parent, active=active)

    def _add_account(
        self, company: Company, name: str, account_type: str, *, parent: str | None = None, active: bool = True
    ) -> str:
        if account_type not in CLASSIFICATION:
            raise ValueError(f"unknown AccountType {account_type!r}")
        account_id = company.new_id()
        moment = _now_iso(self._now())
        qualified = f"{company.accounts[parent]['FullyQualifiedName']}:{name}" if parent else name
        account: dict[str, Any] = {
            "Name": name,
            "SubAccount": parent is not None,
            "FullyQualifiedName": qualified,
            "Active": active,
            "Classification": CLASSIFICATION[account_type],
            "AccountType": account_type,
            "CurrentBalance": 0,
            "CurrentBalanceWithSubAccounts": 0,
            "CurrencyRef": {"value": company.home_currency},
            "domain": "QBO",
            "sparse": False,
            "Id": account_id,
            "SyncToken": "0",
            "MetaData": {"CreateTime": moment, "LastUpdatedTime": moment},
        }
        if parent:
            account["ParentRef"] = {"value": parent}
        company.accounts[account_id] = account
        return account_id

    def issue_refresh_token(self, client_id: str, realm_id: str, *, token: str | None = None) -> str:
        """A refresh token as if the company's admin had consented to the app (for command-line connects)."""
        with self._lock:
            token = token or "RT1-" + secrets.token_urlsafe(24)
            self._refresh[token] = _Grant(client_id, realm_id, self._now() + REFRESH_TOKEN_SECONDS)
            return token

    def journals(self, realm_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return json.loads(json.dumps(list(self.companies[realm_id].journals.values()), default=str))

    def fail_next(self, operation: str, kind: str | int) -> None:
        """The next call of `operation` ("journalentry", "query", "companyinfo", "token" or "*") fails so."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {FAULT_KINDS}")
        with self._lock:
            self._scripted.append((operation, kind))

    def expire_access_tokens(self) -> None:
        with self._lock:
            for grant in self._access.values():
                grant.expires_at = min(grant.expires_at, self._now() - 1)

    def _take_fault(self, operation: str) -> str | int | None:
        with self._lock:
            for index, (wanted, kind) in enumerate(self._scripted):
                if wanted in (operation, "*"):
                    del self._scripted[index]
                    self.faults_served.append((operation, kind))
                    return kind
            return None

    # --- OAuth 2.0 ------------------------------------------------------------------------------------------

    def discovery(self, request: Request, params: dict[str, str]) -> Response:
        base = self.endpoint
        return Response.json_body(
            {
                "issuer": "https://oauth.platform.intuit.com/op/v1",
                "authorization_endpoint": f"{base}/connect/oauth2",
                "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
                "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
                "revocation_endpoint": f"{base}/oauth2/v1/tokens/revoke",
                "jwks_uri": f"{base}/oauth2/v1/keys",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile", "address", "phone"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
            }
        )

    def authorize(self, request: Request, params: dict[str, str]) -> Response:
        client_id = request.first("client_id") or ""
        redirect_uri = request.first("redirect_uri") or ""
        with self._lock:
            app = self.apps.get(client_id)
            if app is None:
                return Response.html("<h1>Invalid client_id</h1>", status=400)
            if request.first("response_type") != "code":
                return Response.html("<h1>response_type must be code</h1>", status=400)
            if ACCOUNTING_SCOPE not in (request.first("scope") or "").split():
                return Response.html("<h1>Invalid scope</h1>", status=400)
            split = urlsplit(redirect_uri)
            if split.scheme not in ("http", "https") or not split.netloc:
                return Response.html("<h1>Invalid redirect_uri</h1>", status=400)
            if app.redirect_uris and redirect_uri not in app.redirect_uris:
                return Response.html("<h1>The redirect_uri is not registered for this app</h1>", status=400)
            realm_id = self.consent_realm or next(iter(self.companies), None)
            if realm_id is None:
                return Response.html("<h1>No company to connect</h1>", status=400)
            code = "AB1" + secrets.token_urlsafe(24)
            self._codes[code] = _Grant(client_id, realm_id, self._now() + CODE_SECONDS, redirect_uri)
        query = {"code": code, "state": request.first("state") or "", "realmId": realm_id}
        return Response.redirect(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(query)}")

    def _client(self, request: Request) -> App | None:
        header = request.header("authorization")
        if not header.lower().startswith("basic "):
            return None
        try:
            client_id, _, client_secret = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        app = self.apps.get(client_id)
        if app is None or not secrets.compare_digest(app.client_secret, client_secret):
            return None
        return app

    def _tokens(self, client_id: str, realm_id: str) -> dict[str, Any]:
        moment = self._now()
        access = "eyJ" + secrets.token_urlsafe(40)
        refresh = "RT1-" + secrets.token_urlsafe(24)
        self._access[access] = _Grant(client_id, realm_id, moment + ACCESS_TOKEN_SECONDS)
        self._refresh[refresh] = _Grant(client_id, realm_id, moment + REFRESH_TOKEN_SECONDS)
        return {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": refresh,
            "x_refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
        }

    def token(self, request: Request, params: dict[str, str]) -> Response:
        kind = self._take_fault("token")
        if kind is not None:
            return self._serve_fault(kind, None)
        form = request.form()
        with self._lock:
            app = self._client(request)
            if app is None:
                return Response.json_body({"error": "invalid_client"}, status=401)
            grant_type = form.get("grant_type", "")
            moment = self._now()
            if grant_type == "authorization_code":
                grant = self._codes.pop(form.get("code", ""), None)
                if (
                    grant is None
                    or grant.client_id != app.client_id
                    or grant.expires_at < moment
                    or grant.redirect_uri != form.get("redirect_uri", "")
                ):
                    return Response.json_body({"error": "invalid_grant"}, status=400)
            elif grant_type == "refresh_token":
                grant = self._refresh.pop(form.get("refresh_token", ""), None)
                if grant is None or grant.client_id != app.client_id or grant.expires_at < moment:
                    return Response.json_body({"error": "invalid_grant"}, status=400)
            else:
                return Response.json_body({"error": "unsupported_grant_type"}, status=400)
            return Response.json_body(self._tokens(app.client_id, grant.realm_id))

    def revoke(self, request: Request, params: dict[str, str]) -> Response:
        with self._lock:
            app = self._client(request)
            if app is None:
                return Response.json_body({"error": "invalid_client"}, status=401)
            try:
                token = str((request.json() or {}).get("token", ""))
            except (ValueError, AttributeError):
                return Response.json_body({"error": "invalid_request"}, status=400)
            grant = self._refresh.pop(token, None) or self._access.pop(token, None)
            if grant is not None:
                for access, other in list(self._access.items()):
                    if other.client_id == grant.client_id and other.realm_id == grant.realm_id:
                        del self._access[access]
            return Response(status=200)

    # --- the Accounting API ---------------------------------------------------------------------------------

    def _serve_fault(self, kind: str | int, company: Company | None) -> Response:
        moment = self._now()
        if kind == 429:
            return _gateway_fault(
                "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                "The request limit was reached.",
                "3001",
                "SERVICE",
                429,
                moment,
            )
        if kind == 401:
            return _gateway_fault(
                "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "Token expired",
                "3200",
                "AUTHENTICATION",
                401,
                moment,
            )
        return _fault(
            [
                (
                    "An application error has occurred while processing your request",
                    "System Failure Error: An unexpected error occurred",
                    "10000",
                    "",
                )
            ],
            "SystemFault",
            500,
            moment,
        )

    def _authorised(self, request: Request, realm_id: str) -> Response | Company:
        moment = self._now()
        header = request.header("authorization")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        with self._lock:
            grant = self._access.get(token)
            if grant is None or grant.expires_at < moment or grant.realm_id != realm_id:
                detail = "Token expired" if grant is not None and grant.expires_at < moment else "Token invalid"
                return _gateway_fault(
                    "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    detail,
                    "3200",
                    "AUTHENTICATION",
                    401,
                    moment,
                )
            company = self.companies.get(realm_id)
        if company is None:
            return _fault([("Object Not Found", "Company not found", "610", "")], "ValidationFault", 400, moment)
        minor = request.first("minorversion")
        if minor is not None and (not minor.isdigit() or int(minor) < MINIMUM_MINOR_VERSION):
            return _fault(
                [("Invalid minor version", f"Minor version {minor} is no longer supported", "2000", "minorversion")],
                "ValidationFault",
                400,
                moment,
            )
        return company

    def _api(self, operation: str, request: Request, realm_id: str, act: Callable[[Company], Response]) -> Response:
        authorised = self._authorised(request, realm_id)
        if isinstance(authorised, Response):
            return authorised
        company = authorised
        kind = self._take_fault(operation)
        if kind is not None and kind != "timeout_after_save":
            return self._serve_fault(kind, company)
        request_id = request.first("requestid")
        if request_id is not None and len(request_id) > REQUEST_ID_MAX:
            return _fault(
                [("Request Id too long", f"requestid is at most {REQUEST_ID_MAX} characters", "2050", "requestid")],
                "ValidationFault",
                400,
                self._now(),
            )
        with self._lock:
            if request_id and request_id in company.answers:
                status, body = company.answers[request_id]
                response = Response(status=status, body=body, headers={"Content-Type": "application/json"})
            else:
                response = act(company)
                if request_id:
                    company.answers[request_id] = (response.status, response.body)
        if kind == "timeout_after_save":
            return Response.drop(hang_seconds=self.hang_seconds)
        return response

    def company_info(self, request: Request, params: dict[str, str]) -> Response:
        def act(company: Company) -> Response:
            return Response.json_body(
                {
                    "CompanyInfo": {
                        "CompanyName": company.name,
                        "LegalName": company.name,
                        "Country": company.country,
                        "domain": "QBO",
                        "sparse": False,
                        "Id": company.realm_id,
                        "SyncToken": "1",
                        "NameValue": [
                            {"Name": "HomeCurrency", "Value": company.home_currency},
                            {"Name": "MultiCurrencyEnabled", "Value": str(company.multicurrency).lower()},
                        ],
                    },
                    "time": _now_iso(self._now()),
                }
            )

        if params["companyId"] != params["realmId"]:
            return _fault([("Object Not Found", "Object Not Found", "610", "")], "ValidationFault", 400, self._now())
        return self._api("companyinfo", request, params["realmId"], act)

    def query(self, request: Request, params: dict[str, str]) -> Response:
        text = request.first("query") if request.method == "GET" else request.body.decode("utf-8", errors="replace")

        def act(company: Company) -> Response:
            try:
                parsed = qbql.parse(text or "")
            except qbql.QueryError as error:
                return _fault(
                    [("Error parsing query", f"QueryParserError: {error}", "4000", "")],
                    "ValidationFault",
                    400,
                    self._now(),
                )
            tables = {"account": company.accounts, "journalentry": company.journals}
            table = tables.get(parsed.entity.lower())
            if table is None:
                return _fault(
                    [("Invalid query", f"QueryValidationError: {parsed.entity} is not supported here", "4001", "")],
                    "ValidationFault",
                    400,
                    self._now(),
                )
            entity_name = "Account" if parsed.entity.lower() == "account" else "JournalEntry"
            page, total = qbql.run(parsed, list(table.values()))
            answer: dict[str, Any] = {}
            if parsed.count:
                answer["totalCount"] = total
            elif page:
                answer = {entity_name: page, "startPosition": parsed.start_position, "maxResults": len(page)}
            return Response.json_body({"QueryResponse": answer, "time": _now_iso(self._now())})

        return self._api("query", request, params["realmId"], act)

    def journal_get(self, request: Request, params: dict[str, str]) -> Response:
        def act(company: Company) -> Response:
            journal = company.journals.get(params["entityId"])
            if journal is None:
                return _fault(
                    [
                        (
                            "Object Not Found",
                            "Object Not Found : Something you're trying to use has been made inactive or deleted.",
                            "610",
                            "",
                        )
                    ],
                    "ValidationFault",
                    400,
                    self._now(),
                )
            return Response.json_body({"JournalEntry": journal, "time": _now_iso(self._now())})

        return self._api("journalentry", request, params["realmId"], act)

    def journal_create(self, request: Request, params: dict[str, str]) -> Response:
        return self._api("journalentry", request, params["realmId"], lambda company: self._create(company, request))

    def _create(self, company: Company, request: Request) -> Response:
        moment = self._now()

        def invalid(message: str, detail: str, code: str, element: str = "") -> Response:
            return _fault([(message, detail, code, element)], "ValidationFault", 400, moment)

        try:
            body = json.loads(request.body.decode("utf-8") or "null", parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            return invalid("Request has invalid or unsupported property", "Unable to parse the request", "2010")
        if not isinstance(body, dict):
            return invalid("Request has invalid or unsupported property", "The body is not an object", "2010")
        doc_number = str(body.get("DocNumber") or "")
        if len(doc_number) > DOC_NUMBER_MAX:
            return invalid(
                "String length is either shorter or longer than supported by specification",
                f"String length specified does not match the supported length. Min:0 Max:{DOC_NUMBER_MAX} "
                f"supplied length:{len(doc_number)}",
                "2050",
                "DocNumber",
            )
        txn_date = str(body.get("TxnDate") or datetime.fromtimestamp(moment, UTC).date().isoformat())
        try:
            date.fromisoformat(txn_date)
        except ValueError:
            return invalid("Invalid Date", f"{txn_date} is not a date (yyyy-mm-dd)", "2090", "TxnDate")
        currency = str(((body.get("CurrencyRef") or {}).get("value")) or company.home_currency).upper()
        if currency != company.home_currency and (not company.multicurrency or currency not in company.currencies):
            return invalid(
                "A business validation error has occurred while processing your request",
                f"Business Validation Error: The currency {currency} is not enabled for this company.",
                "6000",
                "CurrencyRef",
            )
        lines = body.get("Line")
        if not isinstance(lines, list) or not lines:
            return invalid(
                "Required param missing, need to supply the required value for the API",
                "Required parameter Line is missing in the request",
                "2020",
                "Line",
            )
        debits = credits = Decimal(0)
        stored_lines = []
        for number, line in enumerate(lines, start=1):
            if not isinstance(line, dict) or line.get("DetailType") != "JournalEntryLineDetail":
                return invalid(
                    "Request has invalid or unsupported property",
                    f"Line {number}: DetailType must be JournalEntryLineDetail",
                    "2010",
                    "Line",
                )
            detail = line.get("JournalEntryLineDetail") or {}
            try:
                amount = Decimal(str(line.get("Amount")))
            except InvalidOperation:
                return invalid(
                    "Request has invalid or unsupported property",
                    f"Line {number}: Amount is not a number",
                    "2010",
                    "Amount",
                )
            if not amount.is_finite() or amount < 0:
                return invalid(
                    "Request has invalid or unsupported property",
                    f"Line {number}: Amount must not be negative",
                    "2010",
                    "Amount",
                )
            posting = detail.get("PostingType")
            if posting not in ("Debit", "Credit"):
                return invalid(
                    "Required param missing, need to supply the required value for the API",
                    f"Line {number}: PostingType must be Debit or Credit",
                    "2020",
                    "PostingType",
                )
            account_id = str(((detail.get("AccountRef") or {}).get("value")) or "")
            account = company.accounts.get(account_id)
            if account is None or not account["Active"]:
                return invalid(
                    "Invalid Reference Id",
                    f"Invalid Reference Id : Accounts element id {account_id} not found",
                    "2500",
                    "Line.JournalEntryLineDetail.AccountRef",
                )
            if posting == "Debit":
                debits += amount
            else:
                credits += amount
            stored_detail = {
                "PostingType": posting,
                "AccountRef": {"value": account_id, "name": account["FullyQualifiedName"]},
            }
            stored_lines.append(
                {
                    "Id": str(number - 1),
                    "Description": str(line.get("Description") or ""),
                    "Amount": _money(amount),
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": stored_detail,
                }
            )
        if debits != credits:
            return invalid(
                "A business validation error has occurred while processing your request",
                f"Business Validation Error: Debits ({debits}) and credits ({credits}) of a journal entry must "
                "be equal.",
                "6000",
                "Line",
            )
        stamp = _now_iso(moment)
        entry_id = company.new_id()
        journal: dict[str, Any] = {
            "Adjustment": bool(body.get("Adjustment", False)),
            "TotalAmt": _money(debits),
            "domain": "QBO",
            "sparse": False,
            "Id": entry_id,
            "SyncToken": "0",
            "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
            "DocNumber": doc_number,
            "TxnDate": txn_date,
            "CurrencyRef": {"value": currency},
            "PrivateNote": str(body.get("PrivateNote") or ""),
            "Line": stored_lines,
        }
        if currency != company.home_currency and body.get("ExchangeRate") is not None:
            journal["ExchangeRate"] = _money(Decimal(str(body["ExchangeRate"])))
        company.journals[entry_id] = journal
        return Response.json_body({"JournalEntry": journal, "time": stamp})


def routes(context: QuickBooksContext) -> list[Route]:
    """The front's routes under /quickbooks."""
    company = f"{PREFIX}/v3/company/{{realmId}}"
    return [
        Route("GET", f"{PREFIX}/.well-known/openid_configuration", context.discovery, "qbo.discovery"),
        Route("GET", f"{PREFIX}/connect/oauth2", context.authorize, "qbo.authorize"),
        Route("POST", f"{PREFIX}/oauth2/v1/tokens/bearer", context.token, "qbo.token"),
        Route("POST", f"{PREFIX}/oauth2/v1/tokens/revoke", context.revoke, "qbo.revoke"),
        Route("GET", f"{company}/companyinfo/{{companyId}}", context.company_info, "qbo.companyinfo"),
        Route("GET", f"{company}/query", context.query, "qbo.query"),
        Route("POST", f"{company}/query", context.query, "qbo.query"),
        Route("POST", f"{company}/journalentry", context.journal_create, "qbo.journalentry.create"),
        Route("GET", f"{company}/journalentry/{{entityId}}", context.journal_get, "qbo.journalentry.read"),
    ]


def parse_callback(url: str) -> dict[str, str]:
    """The query of a consent redirect as single values (a test helper)."""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
