"""Amazon returns: the FBA customer returns report and the MFN returns report, requested for the window,
polled until Amazon has processed them, and read one per page; and what their words mean for ACORN.

Each page is one call: request the next report, poll the next unfinished one, or read the next finished
one. The MFN report reaches back `MFN_LOOKBACK` so that status, delivery and refund changes of recent
requests arrive. A report that is not ready yet answers "ask again in 30 s" (ReportPending, a retryable
error: the engine waits with its own clock or, past its time budget, ends the run partial and the next run
polls the same reports, whose ids ride in the token). A report that ends CANCELLED has no rows: nothing. A
FATAL one is requested again, at most `MAX_REPORT_REQUESTS` times.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from channels.adapters.amazon.finances import decode_pass_token, encode_pass_token, settled_window_end
from channels.adapters.amazon.reports import FBA_RETURNS_REPORT_TYPE, MFN_RETURNS_REPORT_TYPE, ReportsApi
from channels.adapters.base import (
    BadRecord,
    ChannelError,
    ChannelNotReady,
    ExternalReturn,
    FulfillmentChannel,
    Page,
    ReturnFetching,
    ReturnState,
)

# MFN return requests change after they are made (approved → closed, delivered, refunded): re-read them.
MFN_LOOKBACK = timedelta(days=30)
MFN_MAX_SPAN = timedelta(days=60)  # "You can request up to 60 days of data in a single report."
REPORT_POLL_SECONDS = 30
MAX_REPORT_REQUESTS = 3
_REPORT_TYPES = {"fba": FBA_RETURNS_REPORT_TYPE, "mfn": MFN_RETURNS_REPORT_TYPE}
_FINISHED = ("DONE", "CANCELLED", "FATAL")


class ReportPending(ChannelNotReady):
    """Amazon is still preparing the report: poll again later."""

    code = "report_pending"


def _report_windows(start: datetime, end: datetime) -> dict[str, tuple[datetime, datetime]]:
    mfn_start = max(min(start, end - MFN_LOOKBACK), end - MFN_MAX_SPAN)
    return {"fba": (start, end), "mfn": (mfn_start, end)}


class ReturnsApi(ReportsApi, ReturnFetching):
    """Returns, from the Reports API."""

    def fetch_returns(
        self, *, window_start: datetime, window_end: datetime | None, page_token: str | None
    ) -> Page[ExternalReturn]:
        """One call of the returns pass (see the module docstring)."""
        state = decode_pass_token(page_token)
        end = datetime.fromisoformat(state["end"]) if state.get("end") else settled_window_end(window_start, window_end)
        reports: dict[str, str] = dict(state.get("reports") or {})  # name → report id
        finished: dict[str, list[str]] = dict(state.get("finished") or {})  # name → [status, document id]
        requests: dict[str, int] = dict(state.get("requests") or {})
        done: list[str] = list(state.get("read") or [])
        items: tuple[ExternalReturn, ...] = ()
        bad: tuple[BadRecord, ...] = ()
        pending = [name for name in _REPORT_TYPES if name not in reports]
        unfinished = [name for name in _REPORT_TYPES if name in reports and name not in finished]
        if pending:
            name = pending[0]
            if requests.get(name, 0) >= MAX_REPORT_REQUESTS:
                raise ChannelError(f"Amazon could not prepare the {_REPORT_TYPES[name]} report (FATAL, several times).")
            start, stop = _report_windows(window_start, end)[name]
            reports[name] = self.request_report(report_type=_REPORT_TYPES[name], data_start=start, data_end=stop)
            requests[name] = requests.get(name, 0) + 1
        elif unfinished:
            name = unfinished[0]
            info = self.get_report(report_id=reports[name])
            if info.status == "FATAL":
                del reports[name]  # requested again on the next page
            elif info.status not in _FINISHED:
                raise ReportPending(
                    f"Amazon is still preparing the {_REPORT_TYPES[name]} report.", retry_after=REPORT_POLL_SECONDS
                )
            else:
                finished[name] = [info.status, info.document_id]
        else:
            name = next(name for name in _REPORT_TYPES if name not in done)
            status, document_id = finished[name]
            if status == "DONE" and document_id:  # CANCELLED: Amazon cancels a report that has no rows
                read, broken = self.read_returns(report_type=_REPORT_TYPES[name], document_id=document_id)
                items, bad = tuple(read), tuple(broken)
            done.append(name)
        following: dict[str, Any] | None = None
        if len(done) < len(_REPORT_TYPES):
            following = {
                "end": end.isoformat(),
                "reports": reports,
                "finished": finished,
                "requests": requests,
                "read": done,
            }
        return Page(items=items, bad_records=bad, next_token=encode_pass_token(following), window_end=end)

    @classmethod
    def return_source(cls, incoming: ExternalReturn) -> str:
        """FBA customer returns (Amazon's, restocked by Amazon) or merchant-fulfilled return requests."""
        return "amazon_fba" if incoming.fulfillment_channel == FulfillmentChannel.FBA else "amazon_mfn"

    @classmethod
    def return_state(cls, incoming: ExternalReturn) -> str:
        """FBA report rows are returns the fulfilment centre has processed: received, whatever their status
        says. An MFN request is closed, declined, delivered (received), on its way (a tracking number) or
        only requested."""
        if incoming.fulfillment_channel == FulfillmentChannel.FBA:
            return ReturnState.RECEIVED
        text = incoming.status.strip().lower()
        if text in ("closed", "completed"):
            return ReturnState.CLOSED
        if text in ("rejected", "declined", "denied", "cancelled", "canceled"):
            return ReturnState.DECLINED
        if incoming.delivered_at is not None:
            return ReturnState.RECEIVED
        return ReturnState.IN_TRANSIT if incoming.tracking_number else ReturnState.REQUESTED

    @classmethod
    def return_key(cls, incoming: ExternalReturn) -> str:
        """An MFN RMA can cover several SKUs: the SKU is added to make one record per SKU."""
        if incoming.fulfillment_channel != FulfillmentChannel.FBA:
            return f"{incoming.external_id}|{incoming.sku}"[:200]
        return incoming.external_id[:200]
