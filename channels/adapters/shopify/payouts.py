"""Shopify Payments payouts: `shopifyPaymentsAccount { payouts, balanceTransactions }` (GraphQL Admin API).

Payouts are listed newest first (`reverse: true`: the connection takes no search query, only
`transactionType`, and is ordered by id, which grows with time), a page at a time, until the payouts are
older than asked. A payout's balance transactions are read with the connection's documented search field
`payments_transfer_id:<payout id>` and `hideTransfers: true` (the payout's own TRANSFER transaction of
-net is not one of the money movements it pays out). Needs the `read_shopify_payments_payouts` scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from channels.adapters.base import BadRecord, ChannelRetryableError, Page, Payout, PayoutLine, PayoutListing
from channels.adapters.shopify.client import ShopifyClient, sustained_rate
from channels.adapters.shopify.parse import RecordError, legacy_id, parse_balance_transaction, parse_payout

# Shopify charges a connection `first` x the cost of one node: a payout with its summary costs about 13 points,
# a balance transaction about 6, so both pages stay far below the 1,000-point single-query limit.
PAYOUTS_PAGE_SIZE = 20
BALANCE_PAGE_SIZE = 100
MONEY = "amount currencyCode"
SUMMARY = " ".join(
    f"{name} {{ {MONEY} }}"
    for name in (
        "chargesGross",
        "chargesFee",
        "refundsFeeGross",
        "refundsFee",
        "adjustmentsGross",
        "adjustmentsFee",
        "reservedFundsGross",
        "reservedFundsFee",
        "retriedPayoutsGross",
        "retriedPayoutsFee",
    )
)
PAYOUTS_QUERY = f"""
query AcornPayouts($first: Int!, $after: String) {{
  shopifyPaymentsAccount {{
    payouts(first: $first, after: $after, reverse: true) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        id legacyResourceId issuedAt status transactionType
        net {{ {MONEY} }}
        summary {{ {SUMMARY} }}
      }}
    }}
  }}
}}
"""
BALANCE_QUERY = f"""
query AcornPayoutTransactions($first: Int!, $after: String, $query: String!) {{
  shopifyPaymentsAccount {{
    balanceTransactions(first: $first, after: $after, query: $query, hideTransfers: true, sortKey: PROCESSED_AT) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        id type test sourceType sourceId sourceOrderTransactionId adjustmentReason transactionDate
        associatedOrder {{ id name }}
        associatedPayout {{ id status }}
        amount {{ {MONEY} }}
        fee {{ {MONEY} }}
        net {{ {MONEY} }}
      }}
    }}
  }}
}}
"""


def _connection(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    account = data.get("shopifyPaymentsAccount")
    if account is None:
        return {"nodes": [], "pageInfo": {}}  # the shop has no Shopify Payments account: no payouts
    connection = account.get(name) if isinstance(account, Mapping) else None
    if not isinstance(connection, Mapping) or not isinstance(connection.get("nodes"), list):
        raise ChannelRetryableError(f"Shopify answered without the {name} list", code="empty_response")
    return connection


class PayoutsApi(ShopifyClient, PayoutListing):
    """Shopify Payments payouts and the balance transactions each pays out."""

    def list_payouts(self, *, issued_after: datetime, page_token: str | None) -> Page[Payout]:
        """Payouts issued at or after `issued_after`, newest first; the last page is the one reaching older ones."""
        connection = _connection(
            self.graphql(PAYOUTS_QUERY, {"first": PAYOUTS_PAGE_SIZE, "after": page_token}), "payouts"
        )
        payouts: list[Payout] = []
        bad: list[BadRecord] = []
        reached_older = False
        for node in connection["nodes"]:
            if not isinstance(node, Mapping):
                bad.append(BadRecord(reason="record is not a JSON object", raw={"value": node}))
                continue
            try:
                payout = parse_payout(node)
            except RecordError as error:
                bad.append(BadRecord(reason=str(error), raw=node, external_id=legacy_id(node.get("id"))))
                continue
            if payout.issued_at < issued_after:
                reached_older = True
                continue
            payouts.append(payout)
        info = connection.get("pageInfo") or {}
        more = bool(info.get("hasNextPage")) and not reached_older
        return Page(
            items=tuple(payouts),
            bad_records=tuple(bad),
            next_token=(info.get("endCursor") or None) if more else None,
            rate_limit=sustained_rate(self.last_cost),
        )

    def fetch_payout_lines(self, *, payout_id: str, page_token: str | None) -> Page[PayoutLine]:
        """One page of the balance transactions the payout (its numeric id) pays out."""
        variables = {"first": BALANCE_PAGE_SIZE, "after": page_token, "query": f"payments_transfer_id:{payout_id}"}
        connection = _connection(self.graphql(BALANCE_QUERY, variables), "balanceTransactions")
        lines: list[PayoutLine] = []
        bad: list[BadRecord] = []
        for node in connection["nodes"]:
            if not isinstance(node, Mapping):
                bad.append(BadRecord(reason="record is not a JSON object", raw={"value": node}))
                continue
            try:
                line = parse_balance_transaction(node, payout_id=payout_id)
            except RecordError as error:
                bad.append(BadRecord(reason=str(error), raw=node, external_id=legacy_id(node.get("id"))))
                continue
            if line is not None:
                lines.append(line)
        info = connection.get("pageInfo") or {}
        return Page(
            items=tuple(lines),
            bad_records=tuple(bad),
            next_token=(info.get("endCursor") or None) if info.get("hasNextPage") else None,
            rate_limit=sustained_rate(self.last_cost),
        )
