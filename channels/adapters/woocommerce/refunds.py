"""WooCommerce refunds: the refunds of orders modified in a window (a refund modifies its order), read order
by order, and creating one through the shop (and its gateway) exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests

from acorn.money import validate_currency_code
from channels.adapters.base import (
    BadRecord,
    ChannelError,
    ChannelRefundResult,
    ChannelRetryableError,
    ExternalRefund,
    Page,
    RefundExecuting,
    RefundFetching,
    RefundLine,
    RefundRequest,
)
from channels.adapters.passes import order_by_order_page
from channels.adapters.woocommerce.client import (
    PAGE_SIZE,
    WooCommerceClient,
    classify_exception,
    classify_response,
    decode_page_token,
    encode_page_token,
    error_code,
)
from channels.adapters.woocommerce.parse import RecordError, parse_amount, parse_gmt, parse_refund


class RefundsApi(WooCommerceClient, RefundFetching, RefundExecuting):
    """Refunds: read order by order (see channels.adapters.passes), and created through the shop."""

    refund_source = "woocommerce"

    def fetch_refunds(
        self, *, window_start: datetime, window_end: datetime | None, page_token: str | None
    ) -> Page[ExternalRefund]:
        """One call of the pass over the orders modified in the window that list refunds."""
        return order_by_order_page(
            lambda cursor: self.fetch_orders_with_refunds(
                updated_after=window_start, updated_before=window_end, page_token=cursor
            ),
            lambda entry: self.fetch_order_refund_detail(str(entry[0]), str(entry[1])),
            page_token,
        )

    def execute_refund(self, request: RefundRequest, *, restock: bool = False) -> ChannelRefundResult:
        """Refund through the shop and its payment gateway (`create_refund`, once per idempotency key)."""
        return self.create_refund(request, api_refund=True, restock=restock)

    # --- refunds and completion ----------------------------------------------------------------------------
    def fetch_order_refunds(self, order_id: str) -> list[ExternalRefund]:
        """The order's refunds (WooCommerce amounts are positive; ACORN's are negative = given back)."""
        body, _response = self.request("GET", f"orders/{order_id}/refunds", params={"per_page": 100})
        order, _response = self.request("GET", f"orders/{order_id}")
        currency = str(order.get("currency") or "") if isinstance(order, Mapping) else ""
        refunds = []
        for raw in body or []:
            amount = parse_amount(raw.get("amount"), "amount")
            lines, accounted = [], Decimal(0)
            for item in raw.get("line_items") or []:
                principal = parse_amount(item.get("total"), "line_items.total")  # negative on a refund
                tax = parse_amount(item.get("total_tax"), "line_items.total_tax")
                accounted += principal + tax
                lines.append(
                    RefundLine(
                        order_item_id=str(item.get("refunded_item_id") or item.get("id") or ""),
                        sku=str(item.get("sku") or ""),
                        quantity=abs(int(item.get("quantity") or 0)),
                        components=(("principal", principal), ("tax", tax)),
                    )
                )
            if -amount != accounted:  # shipping, fees or an amount not tied to items
                lines.append(
                    RefundLine(order_item_id="", sku="", quantity=0, components=(("other", -amount - accounted),))
                )
            refunds.append(
                ExternalRefund(
                    external_id=str(raw.get("id")),
                    order_id=str(order_id),
                    posted_at=parse_gmt(raw, "date_created"),
                    currency=currency,
                    lines=tuple(lines),
                    reason=str(raw.get("reason") or "")[:500],
                    source="woocommerce",
                )
            )
        return refunds

    def fetch_orders_with_refunds(
        self, *, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[tuple[str, str]]:
        """One page of orders modified in the window (a refund modifies its order): (order id, currency) of
        those that list refunds; `newest` is the newest modification listed. Read each with
        fetch_order_refund_detail (one call each, so a failed call is retried alone)."""
        after, page = decode_page_token(page_token) if page_token else (updated_after, 1)
        params: dict[str, Any] = {
            "modified_after": after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "dates_are_gmt": "true",
            "orderby": "modified",
            "order": "asc",
            "per_page": PAGE_SIZE,
            "page": page,
            "status": "any",
        }
        if updated_before is not None:
            params["modified_before"] = updated_before.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        body, _response = self.request("GET", "orders", params=params)
        if not isinstance(body, list):
            raise ChannelRetryableError("WooCommerce answered without an orders list", code="empty_response")
        wanted: list[tuple[str, str]] = []
        newest: datetime | None = None
        for raw in body:
            if not isinstance(raw, Mapping):
                continue  # the orders sync quarantines it
            try:
                modified = parse_gmt(raw, "date_modified")
            except RecordError:
                continue
            newest = modified if newest is None or modified > newest else newest
            if raw.get("refunds"):
                wanted.append((str(raw.get("id") or ""), str(raw.get("currency") or "").upper()))
        next_token: str | None = None
        if len(body) >= PAGE_SIZE and newest is not None:
            start = newest - timedelta(seconds=1)
            next_token = encode_page_token(after, page + 1) if start <= after else encode_page_token(start, 1)
        return Page(items=tuple(wanted), next_token=next_token, newest=newest)

    def fetch_order_refund_detail(self, order_id: str, currency: str) -> Page[ExternalRefund]:
        """Every refund of one order (/orders/<id>/refunds), with its lines; unreadable ones as bad records."""
        listed, _response = self.request("GET", f"orders/{order_id}/refunds", params={"per_page": 100})
        if not isinstance(listed, list):
            raise ChannelRetryableError("WooCommerce answered without a refunds list", code="empty_response")
        refunds: list[ExternalRefund] = []
        bad: list[BadRecord] = []
        for entry in listed:
            if not isinstance(entry, Mapping):
                bad.append(BadRecord(reason="record is not a JSON object", raw={"value": entry}))
                continue
            try:
                validate_currency_code(currency)
            except Exception:
                bad.append(BadRecord(reason=f"order currency {currency!r} is not ISO 4217", raw=entry))
                continue
            try:
                refunds.append(parse_refund(entry, order_id=order_id, currency=currency))
            except RecordError as error:
                bad.append(BadRecord(reason=str(error), raw=entry, external_id=str(entry.get("id", ""))))
        return Page(items=tuple(refunds), bad_records=tuple(bad))

    def create_refund(
        self, request: RefundRequest, *, api_refund: bool = True, restock: bool = False
    ) -> ChannelRefundResult:
        """Refund through the shop (and its payment gateway when `api_refund`), once.

        WooCommerce has no idempotency key, so the key travels in the refund's reason and an earlier refund
        carrying it is returned instead of refunding again."""
        marker = f"[acorn:{request.adjustment_id}]"
        existing, _response = self.request("GET", f"orders/{request.order_id}/refunds", params={"per_page": 100})
        for raw in existing or []:
            if marker in str(raw.get("reason") or ""):
                return ChannelRefundResult(
                    external_id=str(raw.get("id")),
                    amount=parse_amount(raw.get("amount"), "amount"),
                    currency=request.currency,
                    replayed=True,
                )
        total = sum((amount for _, _, parts in request.items for _, amount in parts), Decimal(0))
        line_items = [
            {
                "id": int(line),
                "quantity": quantity,
                "refund_total": str(sum((a for name, a in parts if name == "principal"), Decimal(0))),
                "refund_tax": [],
            }
            for line, quantity, parts in request.items
            # An amount with no units is documented as a line with its refund_total (the shop's own form does it).
            if line and (quantity > 0 or any(name == "principal" for name, _ in parts))
        ]
        data = {
            "amount": str(total),
            "reason": f"{request.reason} {marker}".strip()[:500],
            "line_items": line_items,
            "api_refund": api_refund,
            "api_restock": restock,
        }
        try:
            response = self.client.post(f"orders/{request.order_id}/refunds", data, params={})
        except requests.exceptions.RequestException as error:
            raise classify_exception(error) from None
        # WooCommerce answers 500 with this code when it refuses the refund itself (amount above what is left,
        # a gateway without automatic refunds): a retry gets the same answer, so it is not retryable.
        if response.status_code >= 500 and error_code(response) == "woocommerce_rest_cannot_create_order_refund":
            try:
                message = str(response.json().get("message") or "")
            except (ValueError, AttributeError):
                message = ""
            raise ChannelError(f"WooCommerce refused the refund: {message or 'cannot create the refund'}"[:500])
        problem = classify_response(response)
        if problem is not None:
            raise problem
        try:
            body = response.json()
        except ValueError:
            raise ChannelRetryableError("WooCommerce answered without JSON", code="bad_response") from None
        return ChannelRefundResult(
            external_id=str(body.get("id")),
            amount=parse_amount(body.get("amount"), "amount"),
            currency=request.currency,
        )
