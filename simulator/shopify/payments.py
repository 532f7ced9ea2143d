"""Shopify Payments in the simulated world: balance transactions and the payouts they are paid out in.

Everything is derived, at the moment asked, from the shop's own orders (their transactions and refunds), so
it stays true to the world whatever the app did through the API:

* a CHARGE per successful SALE / CAPTURE through the `shopify_payments` gateway (test orders never reach a
  payout), with the processing fee the shop's plan charges (`fee`, positive: `net = amount - fee`);
* a REFUND per successful refund transaction (negative amount, no fee: Shopify keeps the charge's fee);
* an ADJUSTMENT (a small credit) after every sixth refund;
* a chargeback on one charged order in 23 that was never refunded: a DISPUTE_WITHDRAWAL of the charge
  (sourceType DISPUTE) twelve days after it, carrying the chargeback fee as its own `fee` (as Shopify's own
  balance-transaction example shows a dispute: amount -11.50, fee 15.00, net -26.50);
* a rolling reserve on one charge in 9: RESERVED_FUNDS holds 10 % of it a minute after the charge and
  RESERVED_FUNDS_REVERSAL gives it back seven days later.

Payouts are daily: a balance transaction becomes available two days after its transaction date and is paid
out by the payout issued at 12:00 UTC on that day; a payout is SCHEDULED for its first day and PAID after
(Shopify's IN_TRANSIT is deprecated). Its `net` is exactly the sum of its balance transactions' nets, and the
payout itself is the TRANSFER balance transaction of amount -net (hidden by `hideTransfers: true`).
Per-payout truth for tests: `payout_truth`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from simulator.shopify.catalogue import quantize
from simulator.shopify.model import OrderState, Shop, ShopOrder

PAYOUT_BASE = 140_000_000
BALANCE_BASE = 3_300_000_000_000
AVAILABLE_AFTER = timedelta(days=2)
PAYOUT_HOUR = time(12, 0, tzinfo=UTC)
PAID_AFTER = timedelta(days=1)
GATEWAY = "shopify_payments"
# The processing fee of the simulated plan: 2.9 % plus a fixed part in the shop's currency (Basic plan rates).
FEE_RATE = Decimal("0.029")
FEE_FIXED = {"JPY": Decimal(30), "EUR": Decimal("0.25"), "GBP": Decimal("0.20")}
CHARGEBACK_FEE = {"JPY": Decimal(2000), "EUR": Decimal(15), "GBP": Decimal(15)}
ADJUSTMENT_CREDIT = {"JPY": Decimal(30)}
RESERVE_SHARE = Decimal("0.10")
CHARGEBACK_EVERY = 23
RESERVE_EVERY = 9
ADJUSTMENT_EVERY = 6

# How the world itself accounts for each type (the truth the tests compare with): gross and fee separately.
GROSS_CATEGORY = {
    "CHARGE": "sales",
    "REFUND": "refunds",
    "DISPUTE_WITHDRAWAL": "refunds",
    "CHARGEBACK_FEE": "seller_fees",
    "ADJUSTMENT": "seller_fees",
    "RESERVED_FUNDS": "reserve",
    "RESERVED_FUNDS_REVERSAL": "reserve",
}
FEE_CATEGORY = "seller_fees"


@dataclass(frozen=True)
class BalanceTransaction:
    legacy_id: int
    type: str  # ShopifyPaymentsTransactionType
    source_type: str  # ShopifyPaymentsSourceType
    source_id: int | None
    source_order_transaction_id: int | None
    order: ShopOrder | None
    at: datetime
    currency: str
    amount: Decimal
    fee: Decimal = Decimal(0)
    adjustment_reason: str | None = None

    @property
    def net(self) -> Decimal:
        return self.amount - self.fee

    @property
    def available_on(self) -> date:
        return (self.at + AVAILABLE_AFTER).date()


@dataclass(frozen=True)
class Payout:
    legacy_id: int
    issued_at: datetime
    status: str  # ShopifyPaymentsPayoutStatus
    currency: str
    transactions: tuple[BalanceTransaction, ...]

    @property
    def net(self) -> Decimal:
        return sum((transaction.net for transaction in self.transactions), Decimal(0))

    @property
    def transaction_type(self) -> str:
        return "WITHDRAWAL" if self.net < 0 else "DEPOSIT"

    def summary(self) -> dict[str, Decimal]:
        """ShopifyPaymentsPayoutSummary: gross and fee per kind of transaction."""
        kinds = {
            "charges": ("CHARGE",),
            "refunds": ("REFUND",),
            "adjustments": ("ADJUSTMENT", "DISPUTE_WITHDRAWAL", "CHARGEBACK_FEE"),
            "reservedFunds": ("RESERVED_FUNDS", "RESERVED_FUNDS_REVERSAL"),
            "retriedPayouts": (),
        }
        result: dict[str, Decimal] = {}
        for kind, types in kinds.items():
            chosen = [transaction for transaction in self.transactions if transaction.type in types]
            gross_name = "refundsFeeGross" if kind == "refunds" else f"{kind}Gross"
            result[gross_name] = sum((transaction.amount for transaction in chosen), Decimal(0))
            result[f"{kind}Fee"] = sum((transaction.fee for transaction in chosen), Decimal(0))
        return result


def _fee(amount: Decimal, currency: str) -> Decimal:
    return quantize(amount * FEE_RATE + FEE_FIXED.get(currency, Decimal("0.30")), currency)


def _transaction(
    source_key: int,
    kind: int,
    type_: str,
    source_type: str,
    at: datetime,
    currency: str,
    amount: Decimal,
    *,
    order: ShopOrder | None = None,
    source: int | None = None,
    order_transaction: int | None = None,
    fee: Decimal = Decimal(0),
) -> BalanceTransaction:
    """A balance transaction whose id is derived from what caused it (stable whatever else happens)."""
    return BalanceTransaction(
        legacy_id=BALANCE_BASE + (source_key % 10**11) * 8 + kind,
        type=type_,
        source_type=source_type,
        source_id=source,
        source_order_transaction_id=order_transaction,
        order=order,
        at=at,
        currency=currency,
        amount=amount,
        fee=fee,
    )


def balance_transactions(
    shop: Shop, states: list[tuple[ShopOrder, OrderState]], now: datetime
) -> list[BalanceTransaction]:
    """Every balance transaction of the shop's Shopify Payments account up to `now`, oldest first."""
    currency = shop.currency
    found: list[BalanceTransaction] = []
    refund_count = 0
    for order, state in states:
        if order.test:
            continue
        charges = [
            tx
            for tx in state.transactions
            if tx.gateway == GATEWAY and tx.status == "SUCCESS" and tx.kind in ("SALE", "CAPTURE") and tx.amount.shop
        ]
        for tx in charges:
            amount = tx.amount.shop
            found.append(
                _transaction(
                    tx.legacy_id,
                    0,
                    "CHARGE",
                    "CHARGE",
                    tx.at,
                    currency,
                    amount,
                    order=order,
                    source=tx.legacy_id,
                    order_transaction=tx.legacy_id,
                    fee=_fee(amount, currency),
                )
            )
            if tx.legacy_id % RESERVE_EVERY == 0:
                held = quantize(amount * RESERVE_SHARE, currency)
                for kind, sign, delay in ((4, -1, timedelta(minutes=1)), (5, 1, timedelta(days=7))):
                    found.append(
                        _transaction(
                            tx.legacy_id,
                            kind,
                            "RESERVED_FUNDS" if sign < 0 else "RESERVED_FUNDS_REVERSAL",
                            "ADJUSTMENT",
                            tx.at + delay,
                            currency,
                            sign * held,
                        )
                    )
        refunds = [
            tx
            for refund in state.refunds
            for tx in refund.transactions
            if tx.gateway == GATEWAY and tx.status == "SUCCESS" and tx.kind == "REFUND"
        ]
        for tx in refunds:
            found.append(
                _transaction(
                    tx.legacy_id,
                    1,
                    "REFUND",
                    "REFUND",
                    tx.at,
                    currency,
                    -tx.amount.shop,
                    order=order,
                    source=tx.legacy_id,
                    order_transaction=tx.legacy_id,
                )
            )
            refund_count += 1
            if refund_count % ADJUSTMENT_EVERY == 0:
                found.append(
                    _transaction(
                        tx.legacy_id,
                        6,
                        "ADJUSTMENT",
                        "ADJUSTMENT",
                        tx.at + timedelta(hours=1),
                        currency,
                        ADJUSTMENT_CREDIT.get(currency, Decimal("0.30")),
                        order=order,
                    )
                )
        if charges and not refunds and order.legacy_id % CHARGEBACK_EVERY == 0:
            charge = charges[0]
            found.append(
                _transaction(
                    charge.legacy_id,
                    2,
                    "DISPUTE_WITHDRAWAL",
                    "DISPUTE",
                    charge.at + timedelta(days=12),
                    currency,
                    -charge.amount.shop,
                    order=order,
                    source=charge.legacy_id,
                    order_transaction=charge.legacy_id,
                    fee=CHARGEBACK_FEE.get(currency, Decimal(15)),
                )
            )
    visible = [transaction for transaction in found if transaction.at <= now]
    return sorted(visible, key=lambda transaction: (transaction.at, transaction.legacy_id))


def payouts(shop: Shop, states: list[tuple[ShopOrder, OrderState]], now: datetime) -> list[Payout]:
    """The payouts issued up to `now`, oldest first, each with the balance transactions it pays out."""
    by_day: dict[date, list[BalanceTransaction]] = defaultdict(list)
    for transaction in balance_transactions(shop, states, now):
        by_day[transaction.available_on].append(transaction)
    result = []
    for day in sorted(by_day):
        issued_at = datetime.combine(day, PAYOUT_HOUR)
        if issued_at > now:
            continue
        status = "PAID" if now >= issued_at + PAID_AFTER else "SCHEDULED"
        result.append(
            Payout(
                legacy_id=PAYOUT_BASE + (day - date(2020, 1, 1)).days,
                issued_at=issued_at,
                status=status,
                currency=shop.currency,
                transactions=tuple(by_day[day]),
            )
        )
    return result


def _share(whole: Decimal, total: Decimal, before: Decimal, charge: Decimal, currency: str) -> Decimal:
    """A charge's part of an order's shipping or tax: the rounded share of all paid up to it, less that of
    what was paid before it (the shares of an order's charges add up to the whole once they pay the order)."""
    if total <= 0:
        return Decimal(0)
    return quantize(whole * min(before + charge, total) / total, currency) - quantize(
        whole * min(before, total) / total, currency
    )


def payout_truth(payout: Payout, earlier: dict[int, Decimal] | None = None) -> dict[str, object]:
    """What a full import of the payout must show: its net, and its money per category from the world.

    A charge carries its order's shipping and (when charged on top of the prices) tax in proportion to the
    order's total, by what the order's charges before it paid (`earlier`, per order id, kept up to date here
    when the caller passes the payouts oldest first)."""
    paid = earlier if earlier is not None else {}
    categories: dict[str, Decimal] = defaultdict(Decimal)
    for transaction in sorted(payout.transactions, key=lambda item: (item.at, item.legacy_id)):
        categories[GROSS_CATEGORY[transaction.type]] += transaction.amount
        order = transaction.order
        if transaction.type == "CHARGE" and order is not None:
            before = paid.get(order.legacy_id, Decimal(0))
            total = order.total_price.shop
            parts = [("shipping_income", order.shipping.shop)]
            if not order.taxes_included:  # tax inside the prices is part of what the goods sold for
                parts.append(("tax_collected", order.total_tax.shop))
            for name, whole in parts:
                amount = _share(whole, total, before, transaction.amount, payout.currency)
                if amount:
                    categories[name] += amount
                    categories["sales"] -= amount
            paid[order.legacy_id] = before + transaction.amount
        if transaction.fee:
            categories[FEE_CATEGORY] -= transaction.fee
    orders = sorted({str(transaction.order.legacy_id) for transaction in payout.transactions if transaction.order})
    return {
        "id": f"gid://shopify/ShopifyPaymentsPayout/{payout.legacy_id}",
        "legacy_id": str(payout.legacy_id),
        "status": payout.status,
        "issued_at": payout.issued_at,
        "currency": payout.currency,
        "net": str(quantize(payout.net, payout.currency)),
        "transactions": len(payout.transactions),
        "types": sorted({transaction.type for transaction in payout.transactions}),
        "categories": {name: str(quantize(amount, payout.currency)) for name, amount in sorted(categories.items())},
        "orders": orders,
    }
