"""Writes of the QuickBooks Online connection, and posting journals to it exactly once.

Connecting: from the console, `quickbooks_authorization_start` gives Intuit's consent URL with a fresh
`state` (the view binds it to the session and the tenant) and the callback calls `quickbooks_connect` with the
code; from the command line, `quickbooks_connect` takes the company's own app and a refresh token. Either way
the tokens are stored encrypted, the company's name and currency are read, and its accounts are matched to
ACORN's by name (`quickbooks_accounts_match`).

Posting (`journals_post`), the at-most-once contract: a journal is due when it is draft or exported, not yet
posted, has lines and every account is matched. For each due journal, oldest first:

1. QuickBooks is asked for a JournalEntry with the journal's number as DocNumber. Found: its Id is recorded
   and the journal locked as posted ("already_posted": an earlier run, or the lost answer to our own create).
2. Otherwise it is created with a `requestid` derived from the company, the number and the exact payload: a
   retry of the same payload (after a timeout, even one after QuickBooks saved it) gets QuickBooks' first
   answer instead of a second entry. The Id is recorded and the journal locked as posted.
3. A timeout, 429 or 5xx is tried again (steps 1-2) up to ACORN_QUICKBOOKS_RETRIES times with exponential
   backoff; a refusal (a ValidationFault) is not. A journal that still failed keeps QuickBooks' message in
   `post_error`, counts one more attempt and is tried again by the next run, until
   ACORN_QUICKBOOKS_MAX_ATTEMPTS. A refused refresh token stops the run and marks the connection
   "needs_reauth".

No row lock is held across an HTTP call; a posted (locked) journal is never sent again and its lines never
change. Every connection change and every posted or failed journal is audited.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from quickbooks.objects.base import Ref
from quickbooks.objects.journalentry import JournalEntry as QBJournalEntry
from quickbooks.objects.journalentry import JournalEntryLine, JournalEntryLineDetail

from acorn.audit.services import audit_record
from acorn.money import quantize_amount
from acorn.retry import backoff_seconds
from acorn.tenancy.models import Tenant
from finance.ledger.chart import chart_ensure
from finance.ledger.models import Account, JournalEntry, JournalStatus
from finance.ledger.services import journals_lock
from finance.quickbooks.client import (
    QuickBooksApi,
    QuickBooksAuthError,
    QuickBooksError,
    QuickBooksRejectedError,
    QuickBooksRetryableError,
    RemoteAccount,
    Tokens,
    authorization_url,
    exchange_code,
    oauth_client,
    refresh_tokens,
)
from finance.quickbooks.models import QuickBooksConnection, QuickBooksStatus
from finance.quickbooks.selectors import journals_due_for_posting, quickbooks_connection_get

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

REQUEST_ID_MAX = 50  # Intuit: a requestid is at most 50 characters
BACKOFF_CAP_SECONDS = 60.0
MESSAGE_MAX = 2000


class QuickBooksNotConnected(QuickBooksError):
    """The tenant has no working QuickBooks connection."""


@dataclass(frozen=True)
class AppCredentials:
    """The Intuit app a connection uses: ACORN's (settings) or the company's own (command line)."""

    client_id: str
    client_secret: str


def acorn_app() -> AppCredentials:
    """ACORN's Intuit app, from ACORN_QUICKBOOKS_CLIENT_ID / _SECRET."""
    return AppCredentials(settings.ACORN_QUICKBOOKS_CLIENT_ID, settings.ACORN_QUICKBOOKS_CLIENT_SECRET)


def quickbooks_redirect_uri() -> str:
    """The console's OAuth callback, as registered with Intuit."""
    return f"{settings.ACORN_BASE_URL.rstrip('/')}{reverse('finance:quickbooks-callback')}"


def quickbooks_authorization_start(*, api_base: str | None = None) -> tuple[str, str]:
    """Intuit's consent URL for ACORN's app and the new `state` it carries (bind it to the session and the
    tenant). Reads Intuit's discovery document; no other side effect."""
    app = acorn_app()
    state = secrets.token_urlsafe(32)
    auth = oauth_client(
        api_base=api_base or settings.ACORN_QUICKBOOKS_API_BASE,
        client_id=app.client_id,
        client_secret=app.client_secret,
        redirect_uri=quickbooks_redirect_uri(),
    )
    return authorization_url(auth, state=state), state


def _expiry(seconds: int | None) -> datetime | None:
    return timezone.now() + timedelta(seconds=seconds) if seconds else None


def _token_values(connection: QuickBooksConnection, tokens: Tokens) -> None:
    connection.set_secrets(
        {**connection.secret_values(), "access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
    )
    connection.access_expires_at = _expiry(tokens.expires_in)
    connection.refresh_expires_at = _expiry(tokens.refresh_expires_in) or connection.refresh_expires_at


def _tokens_save(connection: QuickBooksConnection, tokens: Tokens) -> None:
    """Persist a refreshed pair at once (Intuit stops accepting the previous refresh token)."""
    _token_values(connection, tokens)
    connection.save(update_fields=["secrets", "access_expires_at", "refresh_expires_at"])


def _app_of(connection: QuickBooksConnection) -> AppCredentials:
    stored = connection.secret_values()
    if stored.get("client_id"):
        return AppCredentials(str(stored["client_id"]), str(stored.get("client_secret", "")))
    return acorn_app()


def _access_still_good(connection: QuickBooksConnection) -> bool:
    """Refresh a minute before the hour is up rather than spend a call on a 401."""
    expires = connection.access_expires_at
    return expires is not None and expires - timedelta(seconds=60) > timezone.now()


def quickbooks_api(*, connection: QuickBooksConnection) -> QuickBooksApi:
    """A client for the connection's company; new tokens are saved as they arrive."""
    stored = connection.secret_values()
    refresh = str(stored.get("refresh_token") or "")
    if connection.status == QuickBooksStatus.DISCONNECTED or not refresh:
        raise QuickBooksNotConnected(_("QuickBooks is not connected."))
    app = _app_of(connection)
    access = str(stored.get("access_token") or "") if _access_still_good(connection) else ""
    return QuickBooksApi(
        api_base=connection.api_base,
        realm_id=connection.realm_id,
        client_id=app.client_id,
        client_secret=app.client_secret,
        access_token=access or None,
        refresh_token=refresh,
        on_tokens=lambda tokens: _tokens_save(connection, tokens),
    )


def _auth_lost(connection: QuickBooksConnection, error: QuickBooksError) -> None:
    connection.status = QuickBooksStatus.NEEDS_REAUTH
    connection.last_error = str(error)[:MESSAGE_MAX]
    connection.save(update_fields=["status", "last_error"])
    audit_record(
        tenant=connection.tenant,
        actor=None,
        action="finance.quickbooks_auth_lost",
        target=connection,
        after={"error": connection.last_error},
    )


def quickbooks_connect(
    *,
    tenant: Tenant,
    actor: User | None,
    realm_id: str,
    api_base: str | None = None,
    code: str | None = None,
    redirect_uri: str = "",
    refresh_token: str | None = None,
    app: AppCredentials | None = None,
) -> QuickBooksConnection:
    """Connect the tenant's QuickBooks company with an authorisation code (console) or a refresh token (command
    line, with the company's own `app`), read the company and match its accounts. Audited. Raises
    QuickBooksError (nothing is stored then)."""
    if not realm_id or not realm_id.isdigit():
        raise QuickBooksRejectedError(_("The QuickBooks company id (realmId) must be digits."))
    if (code is None) == (refresh_token is None):
        raise ValueError("give exactly one of code and refresh_token")
    base = (api_base or settings.ACORN_QUICKBOOKS_API_BASE).rstrip("/")
    used_app = app or acorn_app()
    auth = oauth_client(
        api_base=base,
        client_id=used_app.client_id,
        client_secret=used_app.client_secret,
        redirect_uri=redirect_uri,
        refresh_token=refresh_token,
        realm_id=realm_id,
    )
    tokens = exchange_code(auth, code=code, realm_id=realm_id) if code is not None else refresh_tokens(auth)
    connection = quickbooks_connection_get(tenant=tenant) or QuickBooksConnection(tenant=tenant)
    before = {"realm_id": connection.realm_id, "status": connection.status} if connection.pk else None
    connection.realm_id = realm_id
    connection.api_base = base
    connection.set_secrets(
        {"client_id": used_app.client_id, "client_secret": used_app.client_secret} if app is not None else {}
    )
    _token_values(connection, tokens)
    connection.status = QuickBooksStatus.CONNECTED
    connection.connected_at = timezone.now()
    connection.connected_by = actor if actor is not None and actor.is_authenticated else None
    connection.last_error = ""
    api = quickbooks_api(connection=connection)  # uses the fresh access token: no further refresh
    company = api.company_info()
    connection.company_name = company.name[:255]
    connection.home_currency = company.home_currency[:3]
    connection.multicurrency = company.multicurrency
    with transaction.atomic():
        connection.full_clean(exclude=["tenant"])
        connection.save()
        audit_record(
            tenant=tenant,
            actor=actor,
            action="finance.quickbooks_connected",
            target=connection,
            before=before,
            after={"realm_id": realm_id, "company": connection.company_name, "api_base": base},
        )
    quickbooks_accounts_match(tenant=tenant, actor=actor, api=api)
    connection.refresh_from_db()
    return connection


@transaction.atomic
def quickbooks_disconnect(*, tenant: Tenant, actor: User | None) -> None:
    """Forget the tokens (the company stays in the history); posted journals keep their QuickBooks ids. Audited."""
    connection = quickbooks_connection_get(tenant=tenant)
    if connection is None or connection.status == QuickBooksStatus.DISCONNECTED:
        return
    connection.status = QuickBooksStatus.DISCONNECTED
    connection.set_secrets({})
    connection.access_expires_at = connection.refresh_expires_at = None
    connection.save(update_fields=["status", "secrets", "access_expires_at", "refresh_expires_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="finance.quickbooks_disconnected",
        target=connection,
        before={"realm_id": connection.realm_id},
    )


def account_name_key(name: str) -> str:
    """How names are compared: case and spacing (also around ':' of Parent:Sub) do not matter."""
    return ":".join(" ".join(part.split()) for part in name.split(":")).casefold()


def _by_name(remote: list[RemoteAccount]) -> dict[str, str]:
    """Active QuickBooks accounts by their full name (Parent:Sub); a top-level account also by its name."""
    found: dict[str, str] = {}
    for account in remote:
        if not account.active:
            continue
        found.setdefault(account_name_key(account.fully_qualified_name), account.id)
    return found


def quickbooks_accounts_match(
    *, tenant: Tenant, actor: User | None = None, api: QuickBooksApi | None = None
) -> list[str]:
    """Read the company's accounts and set each ACORN account's `quickbooks_id` to the QuickBooks account of the
    same name (QuickBooks' full name, Parent:Sub); returns the names of the accounts nothing matched (also
    kept on the connection). Audited."""
    connection = quickbooks_connection_get(tenant=tenant)
    if connection is None:
        raise QuickBooksNotConnected(_("QuickBooks is not connected."))
    try:
        client = api or quickbooks_api(connection=connection)
        remote = client.accounts()
    except QuickBooksAuthError as error:
        _auth_lost(connection, error)
        raise
    by_name = _by_name(remote)
    chart_ensure(tenant=tenant)
    unmatched: list[str] = []
    changed = 0
    with transaction.atomic():
        for account in Account.objects.select_for_update().filter(tenant=tenant).order_by("pk"):
            wanted = by_name.get(account_name_key(account.name), "") if account.active else account.quickbooks_id
            if account.active and not wanted:
                unmatched.append(account.name)
            if wanted != account.quickbooks_id:
                account.quickbooks_id = wanted
                account.save(update_fields=["quickbooks_id"])
                changed += 1
        connection.unmatched_accounts = sorted(unmatched)
        connection.accounts_matched_at = timezone.now()
        connection.save(update_fields=["unmatched_accounts", "accounts_matched_at"])
        audit_record(
            tenant=tenant,
            actor=actor,
            action="finance.quickbooks_accounts_matched",
            target=connection,
            after={"changed": changed, "unmatched": len(unmatched), "quickbooks_accounts": len(remote)},
        )
    return sorted(unmatched)


# --- posting --------------------------------------------------------------------------------------------


def _ref(value: str, name: str = "") -> Ref:
    ref = Ref()
    ref.value = value
    ref.name = name
    ref.type = None
    return ref


def journal_payload(*, entry: JournalEntry, connection: QuickBooksConnection) -> QBJournalEntry:
    """The JournalEntry QuickBooks is sent: DocNumber = the journal's number, positive amounts with Debit or
    Credit, every line on its matched account, the journal's currency; the exchange rate only when the company
    counts in the tenant's reporting currency (the rate ACORN keeps is to that currency)."""
    payload = QBJournalEntry()
    payload.DocNumber = entry.number
    payload.TxnDate = entry.date.isoformat()
    payload.PrivateNote = entry.narration[:4000]
    payload.TotalAmt = None
    payload.ExchangeRate = None
    payload.CurrencyRef = _ref(entry.currency)
    if (
        entry.exchange_rate is not None
        and entry.currency != connection.home_currency
        and entry.reporting_currency == connection.home_currency
    ):
        payload.ExchangeRate = entry.exchange_rate
    for line in entry.lines.select_related("account").order_by("line_number"):
        detail = JournalEntryLineDetail()
        detail.PostingType = "Debit" if line.amount > 0 else "Credit"
        detail.AccountRef = _ref(line.account.quickbooks_id, line.account.name)
        detail.TaxAmount = None
        detail.TaxApplicableOn = None
        item = JournalEntryLine()
        item.Amount = quantize_amount(abs(line.amount), entry.currency)
        item.Description = line.description[:4000]
        item.JournalEntryLineDetail = detail
        payload.Line.append(item)
    return payload


def request_id_for(*, connection: QuickBooksConnection, entry: JournalEntry, payload: QBJournalEntry) -> str:
    """Stable for the same company, journal and payload: a retry is recognised; a changed payload is new."""
    digest = hashlib.sha256(f"{connection.realm_id}|{entry.number}|{payload.to_json()}".encode()).hexdigest()
    return f"acorn-{digest}"[:REQUEST_ID_MAX]


def _balanced(entry: JournalEntry) -> bool:
    return sum((line.amount for line in entry.lines.all()), Decimal(0)) == 0


def _posted(entry: JournalEntry, quickbooks_id: str, actor: User | None, *, found: bool) -> bool:
    """Record the QuickBooks Id and lock the journal as posted; False when another run got there first."""
    with transaction.atomic():
        current = JournalEntry.objects.select_for_update(of=("self",)).get(tenant_id=entry.tenant_id, pk=entry.pk)
        if current.external_id:
            return False
        JournalEntry.objects.filter(tenant_id=entry.tenant_id, pk=entry.pk).update(
            external_id=quickbooks_id, posted_at=timezone.now(), post_error="", post_attempts=F("post_attempts") + 1
        )
        journals_lock(entries=[current], status=JournalStatus.POSTED)
        audit_record(
            tenant=current.tenant,
            actor=actor,
            action="finance.journal_posted",
            target=current,
            after={"number": current.number, "quickbooks_id": quickbooks_id, "found_by_doc_number": found},
        )
    return True


def _failed(entry: JournalEntry, error: QuickBooksError, actor: User | None) -> None:
    message = str(error)[:MESSAGE_MAX]
    with transaction.atomic():
        JournalEntry.objects.filter(tenant_id=entry.tenant_id, pk=entry.pk, external_id="").update(
            post_error=message, post_attempts=F("post_attempts") + 1
        )
        audit_record(
            tenant=entry.tenant,
            actor=actor,
            action="finance.journal_post_failed",
            target=entry,
            after={"number": entry.number, "error": message},
        )


def _post_one(
    api: QuickBooksApi,
    connection: QuickBooksConnection,
    entry: JournalEntry,
    actor: User | None,
    sleep: Callable[[float], None],
) -> str:
    """Post one journal (see the module docstring); returns "posted", "already_posted" or "failed"."""
    if not _balanced(entry):  # journal_write guarantees it; a journal that is not must never reach QuickBooks
        _failed(entry, QuickBooksRejectedError(_("The journal does not balance; it was not sent.")), actor)
        return "failed"
    retries = max(1, int(settings.ACORN_QUICKBOOKS_RETRIES))
    created = False
    error: QuickBooksError | None = None
    for attempt in range(1, retries + 1):
        try:
            found = api.journal_find(entry.number)
            if found is not None:
                _posted(entry, found, actor, found=True)
                return "posted" if created else "already_posted"
            payload = journal_payload(entry=entry, connection=connection)
            created = True
            quickbooks_id = api.journal_create(
                payload, request_id=request_id_for(connection=connection, entry=entry, payload=payload)
            )
            _posted(entry, quickbooks_id, actor, found=False)
            return "posted"
        except QuickBooksRetryableError as retryable:
            error = retryable
            logger.info(
                "quickbooks_post_retry",
                extra={"tenant_id": entry.tenant_id, "journal": entry.number, "attempt": attempt},
            )
            if attempt < retries:
                sleep(
                    backoff_seconds(
                        attempt,
                        first=float(settings.ACORN_QUICKBOOKS_BACKOFF_SECONDS),
                        cap=BACKOFF_CAP_SECONDS,
                        at_least=retryable.retry_after,
                    )
                )
        except QuickBooksRejectedError as rejected:
            error = rejected
            break
    assert error is not None
    _failed(entry, error, actor)
    return "failed"


def journals_post(
    *,
    tenant: Tenant,
    month: date | None = None,
    actor: User | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Post every due journal of the tenant (or of one month) to its QuickBooks company, each exactly once.
    Returns {"posted", "already_posted", "failed"}. Raises QuickBooksNotConnected, or QuickBooksAuthError after
    marking the connection "needs_reauth"."""
    connection = quickbooks_connection_get(tenant=tenant)
    if connection is None or connection.status != QuickBooksStatus.CONNECTED:
        raise QuickBooksNotConnected(_("QuickBooks is not connected."))
    counts = {"posted": 0, "already_posted": 0, "failed": 0}
    due = list(journals_due_for_posting(tenant=tenant, month=month))
    if not due:
        return counts
    try:
        api = quickbooks_api(connection=connection)
        for entry in due:
            counts[_post_one(api, connection, entry, actor, sleep)] += 1
    except QuickBooksAuthError as error:
        _auth_lost(connection, error)
        raise
    except QuickBooksRetryableError as error:  # Intuit's sign-in service itself was unreachable
        connection.last_error = str(error)[:MESSAGE_MAX]
        connection.save(update_fields=["last_error"])
        raise
    connection.last_posted_at = timezone.now()
    connection.last_error = (
        ngettext(
            "%(count)d journal could not be posted: its error is shown with it.",
            "%(count)d journals could not be posted: each error is shown with its journal.",
            counts["failed"],
        )
        % {"count": counts["failed"]}
        if counts["failed"]
        else ""
    )
    connection.save(update_fields=["last_posted_at", "last_error"])
    return counts
