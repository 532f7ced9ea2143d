"""What a failed or stopped sync run means, in words people read in their language.

A SyncRun keeps the vendor's own error text (`message`, English, for support and the trace id) and an error
code; the console shows the summary of that code first (`error_summary`), so a seller reads "Amazon refused the
store's authorisation: re-authorise it" rather than an HTTP body. Summaries are message ids (gettext_noop) so that
a notification can store one and render it in each reader's language.
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

_RETRYING = gettext_noop("The channel did not answer properly; the sync tries again by itself.")
_UNREADABLE = gettext_noop("The channel sent an answer ACORN could not read; the sync tries again by itself.")

SUMMARIES: dict[str, str] = {
    "auth": gettext_noop("The channel refused the store's authorisation: re-authorise the store to resume."),
    "invalid_grant": gettext_noop("The channel refused the store's authorisation: re-authorise the store to resume."),
    "rate_limited": gettext_noop("The channel asked ACORN to slow down; the sync continues by itself."),
    "retryable": _RETRYING,
    "timeout": gettext_noop("The channel took too long to answer; the sync tries again by itself."),
    "connection": gettext_noop("The channel could not be reached; the sync tries again by itself."),
    "connection_problem": gettext_noop("The channel could not be reached; the sync tries again by itself."),
    "lwa_unavailable": gettext_noop("Amazon's sign-in service did not answer; the sync tries again by itself."),
    "empty_response": _UNREADABLE,
    "bad_response": _UNREADABLE,
    "malformed_document": _UNREADABLE,
    "cursor_expired": gettext_noop("The channel's page marker expired; the sync started the period again."),
    "not_ready": gettext_noop("The channel is still preparing a report; the sync asks again later."),
    "report_pending": gettext_noop("The channel is still preparing a report; the sync asks again later."),
    "capability_missing": gettext_noop("This channel does not provide this data."),
    "unknown_channel": gettext_noop("This channel does not provide this data."),
    "address_not_public": gettext_noop("The store's address is not a public internet address; correct it."),
    "channel_error": gettext_noop("The channel refused the request."),
    "store_not_active": gettext_noop("The store is not active (disconnected or being deleted)."),
    "credential_unreadable": gettext_noop("The store's saved credentials cannot be read: connect the store again."),
    "no_credentials": gettext_noop("The store has not been authorised yet."),
    "time_budget": gettext_noop("Behind: this run used its time; the next run continues where it stopped."),
    "interrupted": gettext_noop("The worker stopped during this run; the next run resumed where it stopped."),
    "internal_error": gettext_noop("ACORN failed while saving this data; support can look it up by the trace id."),
}

_BY_STATUS: dict[str, str] = {
    "auth_failed": SUMMARIES["auth"],
    "failed": SUMMARIES["channel_error"],
    "partial": SUMMARIES["time_budget"],
}


def error_summary_msgid(*, code: str, status: str) -> str:
    """The message id summarising a run's error ("" when the run has none to explain)."""
    if code in SUMMARIES:
        return SUMMARIES[code]
    if code or status in ("failed", "auth_failed"):
        return _BY_STATUS.get(status, "")
    return ""


def error_summary(*, code: str, status: str) -> str:
    """The summary of a run's error in the active language ("" when there is none)."""
    msgid = error_summary_msgid(code=code, status=status)
    return gettext(msgid) if msgid else ""
