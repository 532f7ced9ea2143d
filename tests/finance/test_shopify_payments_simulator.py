"""The simulator's Shopify Payments front, through the real ShopifyAPI client: payouts and balance transactions
paginate as the API does, every payout's net is exactly the sum of its transactions' nets, the payout's own
TRANSFER is shown unless hidden, and the payouts scope is required."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from simulator import SimulatorServer
from tests.simulator.shopify_support import SHOP, graphql, make_sim

PAYOUTS = """
query Payouts($first: Int!, $after: String) {
  shopifyPaymentsAccount {
    payouts(first: $first, after: $after, reverse: true) {
      pageInfo { hasNextPage endCursor }
      nodes { id legacyResourceId issuedAt status transactionType net { amount currencyCode }
              summary { chargesGross { amount } chargesFee { amount } refundsFeeGross { amount } } }
    }
  }
}
"""
TRANSACTIONS = """
query Transactions($first: Int!, $after: String, $query: String, $hide: Boolean) {
  shopifyPaymentsAccount {
    balanceTransactions(first: $first, after: $after, query: $query, hideTransfers: $hide) {
      pageInfo { hasNextPage endCursor }
      nodes { id type sourceType sourceId associatedOrder { id name } associatedPayout { id status }
              amount { amount currencyCode } fee { amount } net { amount } transactionDate }
    }
  }
}
"""


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    server = make_sim()
    server.shopify.add_shop(SHOP, currency="USD")
    yield server
    server.stop()


def _all(
    sim: SimulatorServer, token: str, document: str, name: str, **variables: Any
) -> tuple[list[dict[str, Any]], int]:
    nodes: list[dict[str, Any]] = []
    after, pages = None, 0
    while True:
        answer = graphql(sim, token, document, {**variables, "after": after})
        assert "errors" not in answer, answer
        connection = answer["data"]["shopifyPaymentsAccount"][name]
        nodes.extend(connection["nodes"])
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes, pages
        after = connection["pageInfo"]["endCursor"]


def test_payouts_page_newest_first_and_each_nets_exactly_its_transactions(sim: SimulatorServer) -> None:
    # given
    token = sim.shopify.issue_access_token(SHOP)
    truth = {payout["legacy_id"]: payout for payout in sim.shopify.payouts(SHOP)}
    assert len(truth) > 10

    # when: every payout, five a page
    payouts, pages = _all(sim, token, PAYOUTS, "payouts", first=5)

    # then: each once, newest first, as the world has them
    assert pages > 2
    assert [payout["legacyResourceId"] for payout in payouts] == sorted(truth, key=int, reverse=True)
    for payout in payouts:
        expected = truth[payout["legacyResourceId"]]
        assert payout["status"] == expected["status"] and Decimal(payout["net"]["amount"]) == Decimal(expected["net"])
        assert payout["transactionType"] in ("DEPOSIT", "WITHDRAWAL")

    # and: a payout's transactions (three a page, transfers hidden) net exactly its net
    for payout in payouts[:6]:
        search = f"payments_transfer_id:{payout['legacyResourceId']}"
        lines, _ = _all(sim, token, TRANSACTIONS, "balanceTransactions", first=3, query=search, hide=True)
        assert len(lines) == truth[payout["legacyResourceId"]]["transactions"]
        assert len({line["id"] for line in lines}) == len(lines)
        assert {line["associatedPayout"]["id"] for line in lines} == {payout["id"]}
        for line in lines:
            assert Decimal(line["net"]["amount"]) == Decimal(line["amount"]["amount"]) - Decimal(line["fee"]["amount"])
        assert sum(Decimal(line["net"]["amount"]) for line in lines) == Decimal(payout["net"]["amount"])

        # the payout itself is a TRANSFER of -net unless hidden
        shown, _ = _all(sim, token, TRANSACTIONS, "balanceTransactions", first=50, query=search, hide=False)
        [transfer] = [line for line in shown if line["type"] == "TRANSFER"]
        assert Decimal(transfer["amount"]["amount"]) == -Decimal(payout["net"]["amount"])
        assert transfer["sourceType"] == "TRANSFER" and transfer["sourceId"] == payout["legacyResourceId"]


def test_payouts_need_the_payouts_scope(sim: SimulatorServer) -> None:
    token = sim.shopify.auth.issue_access_token(SHOP, scope="read_orders")
    answer = graphql(sim, token, PAYOUTS, {"first": 1})
    assert answer["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
