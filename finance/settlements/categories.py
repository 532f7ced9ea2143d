"""Which category a settlement line belongs to: a company's rules first, then the default mapping.

Vendors name their money with up to three free-text fields (Amazon's settlement V2 file: transaction-type,
amount-type, amount-description; see ../shared/notes/finance-and-accounting.md §1). Amazon publishes no enum
for them and adds values without notice, so matching is case-insensitive with fallbacks, most specific first:

    (transaction type, amount type, description)
    (any,              amount type, description)
    (transaction type, any,         description)
    (any,              any,         description)
    (transaction type, amount type, any)
    (any,              amount type, any)
    (transaction type, any,         any)

(the description is the most telling field: "FBAPerUnitFulfillmentFee" says more than "Order / ItemFees"),

and only then prefix patterns (every "FBA…Fee" is an FBA fee). What matches nothing is `unclassified`: kept
with its amount, counted and flagged until someone maps it. A company rule (`CategoryRule`) is tried with the
same fallbacks before the defaults, so "map this type" once covers every later statement.

Refunds split by component: refunded principal, shipping and gift wrap are `refunds`; refunded tax is
`tax_collected` (it reverses tax the seller owed); returned commission and the refund commission Amazon
charges are `seller_fees`; withheld tax given back is `tax_withheld`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from channels.models import Platform
from finance.settlements.models import Category, CategoryRule

ANY = "*"
# (transaction type, amount type, description), lower case, ANY for "whatever it says"
Key = tuple[str, str, str]
# A platform's naming pattern: the category a key's shape says, or None
Pattern = Callable[[Key], str | None]

_AMAZON_TAX_COLLECTED = ("tax", "shippingtax", "giftwraptax", "taxdiscount", "shippingtaxdiscount")
_AMAZON_TAX_WITHHELD = (
    "marketplacefacilitatortax-principal",
    "marketplacefacilitatortax-shipping",
    "marketplacefacilitatortax-giftwrap",
    "marketplacefacilitatortax-other",
    "marketplacefacilitatorvat-principal",
    "marketplacefacilitatorvat-shipping",
    "marketplacefacilitatorvat-giftwrap",
    "lowvaluegoodstax-principal",
    "lowvaluegoodstax-shipping",
    "tcs-cgst",
    "tcs-sgst",
    "tcs-igst",
    "tcs-utgst",
    "tds (section 194-o)",
)
_AMAZON_SELLER_FEES = (
    "commission",
    "refundcommission",
    "shippingchargeback",
    "giftwrapchargeback",
    "shippinghb",
    "fixedclosingfee",
    "variableclosingfee",
    "salestaxcollectionfee",
    "highvolumelistingfee",
    "couponclipfee",
    "couponredemptionfee",
    "imagingservicesfee",
    "mfnpostagefee",
    "digitalservicesfee",
    "digitalservicesfeefba",
    "taxonfees",
    "pointsfee",
    "paymentmethodfee",
    "genericdeduction",
    "regulatoryfee",
    "subscription fee",
    "subscription",
    "balanceadjustment",
)
_AMAZON_FBA_FEES = (
    "fbaperunitfulfillmentfee",
    "fbaperorderfulfillmentfee",
    "fbaweightbasedfee",
    "fbatransportationfee",
    "fbainboundtransportationfee",
    "fbainboundtransportationprogramfee",
    "fbainboundconveniencefee",
    "fbainbounddefectfee",
    "fba inbound placement service fee",
    "fbaremovalfee",
    "fbadisposalfee",
    "disposalcomplete",
    "removalcomplete",
    "fbacustomerreturnperorderfee",
    "fbacustomerreturnperunitfee",
    "fbacustomerreturnweightbasedfee",
    "fbafulfillmentcodfee",
    "fulfillmentfee",
    "fulfillmentnetworkfee",
    "ssoffulfillmentfee",
    "unitfulfillmentfee",
    "labelingfee",
    "polybaggingfee",
    "bubblewrapfee",
    "tapingfee",
    "opaquebaggingfee",
    "liquidationsbrokeragefee",
)
_AMAZON_STORAGE_FEES = (
    "storage fee",
    "fbastoragefee",
    "fbalongtermstoragefee",
    "storagerenewalbilling",
    "long-term storage fee",
)
_AMAZON_RESERVE = (
    "current reserve amount",
    "previous reserve amount balance",
    "successful charge",
    "payable to amazon",
    "repayment of negative amazon balance",
    "cross-account debt adjustment",
)
_AMAZON_REIMBURSEMENT_CODES = (
    "reversal_reimbursement",
    "compensated_clawback",
    "missing_from_inbound",
    "missing_from_inbound_clawback",
    "warehouse_lost",
    "warehouse_lost_manual",
    "warehouse_damage",
    "warehouse_damage_exception",
    "free_replacement_refund_items",
    "incorrect_fees_items",
    "customer_return",
    "creturn_wrong_item",
    "cs_error_items",
    "safe-treimbursement",
)


def _amazon_defaults() -> dict[Key, str]:
    table: dict[Key, str] = {
        # Orders: what the buyer paid, by component
        ("order", "itemprice", "principal"): Category.SALES,
        ("order", "itemprice", "giftwrap"): Category.SALES,
        ("order", "itemprice", "goodwill"): Category.SALES,
        ("order", "itemprice", "shipping"): Category.SHIPPING_INCOME,
        ("order", "itemprice", "exportcharge"): Category.SHIPPING_INCOME,
        ("order", "promotion", ANY): Category.PROMOTIONS,
        ("order", "itemfees", ANY): Category.SELLER_FEES,
        # Refunds: the money given back, by component; fees returned or charged are fees
        ("refund", "itemprice", "principal"): Category.REFUNDS,
        ("refund", "itemprice", "shipping"): Category.REFUNDS,
        ("refund", "itemprice", "giftwrap"): Category.REFUNDS,
        ("refund", "itemprice", "goodwill"): Category.REFUNDS,
        ("refund", "itemprice", "restockingfee"): Category.REFUNDS,
        ("refund", "itemprice", "returnshipping"): Category.REFUNDS,
        ("refund", "itemprice", "exportcharge"): Category.REFUNDS,
        ("refund", "promotion", ANY): Category.REFUNDS,
        ("refund", "itemfees", ANY): Category.SELLER_FEES,
        # Tax re-classifications (Order_Retrocharge / Refund_Retrocharge) and anything else priced
        ("order_retrocharge", "itemprice", ANY): Category.TAX_COLLECTED,
        ("refund_retrocharge", "itemprice", ANY): Category.TAX_COLLECTED,
        (ANY, "itemwithheldtax", ANY): Category.TAX_WITHHELD,
        # Account-level money
        ("servicefee", "cost of advertising", ANY): Category.ADVERTISING,
        (ANY, "cost of advertising", ANY): Category.ADVERTISING,
        ("amazonfees", ANY, ANY): Category.SELLER_FEES,
        (ANY, "coupon performance based fee", ANY): Category.SELLER_FEES,
        (ANY, "coupon participation fee", ANY): Category.SELLER_FEES,
        (ANY, "deal performance based fee", ANY): Category.SELLER_FEES,
        (ANY, "deal participation fee", ANY): Category.SELLER_FEES,
        (ANY, "vine enrollment fee", ANY): Category.SELLER_FEES,
        (ANY, "fba inventory reimbursement", ANY): Category.REIMBURSEMENTS,
        ("liquidations", "itemprice", ANY): Category.REIMBURSEMENTS,
        ("liquidations", "itemfees", ANY): Category.FBA_FEES,
        ("debt adjustment", ANY, ANY): Category.RESERVE,
        ("transfer", ANY, ANY): Category.RESERVE,
        ("servicefee", ANY, ANY): Category.SELLER_FEES,
    }
    for description in _AMAZON_TAX_COLLECTED:
        table[(ANY, "itemprice", description)] = Category.TAX_COLLECTED
        table[(ANY, "promotion", description)] = Category.TAX_COLLECTED
    for description in _AMAZON_TAX_WITHHELD:
        table[(ANY, ANY, description)] = Category.TAX_WITHHELD
    for description in _AMAZON_SELLER_FEES:
        table[(ANY, ANY, description)] = Category.SELLER_FEES
    for description in _AMAZON_FBA_FEES:
        table[(ANY, ANY, description)] = Category.FBA_FEES
    for description in _AMAZON_STORAGE_FEES:
        table[(ANY, ANY, description)] = Category.STORAGE_FEES
    for description in _AMAZON_RESERVE:
        table[(ANY, ANY, description)] = Category.RESERVE
    for description in _AMAZON_REIMBURSEMENT_CODES:
        table[(ANY, ANY, description)] = Category.REIMBURSEMENTS
    return table


def _amazon_patterns(key: Key) -> str | None:
    """Names Amazon forms by pattern: every FBA…storage… fee is storage, every other FBA…fee an FBA fee."""
    description = key[2]
    if description.startswith("fba") and "storage" in description:
        return Category.STORAGE_FEES
    if description.startswith("fba") and description.endswith("fee"):
        return Category.FBA_FEES
    if description.startswith(("marketplacefacilitator", "lowvaluegoodstax")):
        return Category.TAX_WITHHELD
    return None


@dataclass(frozen=True)
class PlatformMapping:
    """One platform's default table and the patterns tried after it."""

    table: Mapping[Key, str]
    patterns: tuple[Pattern, ...] = ()

    def pattern_category(self, key: Key) -> str | None:
        for pattern in self.patterns:
            found = pattern(key)
            if found:
                return str(found)
        return None


# Shopify and WooCommerce statements are written from typed API objects, so their tables are filled by the
# modules that import them (finance.settlements.shopify, .woocommerce) through `register_default_mapping`.
_DEFAULTS: dict[str, PlatformMapping] = {
    Platform.AMAZON: PlatformMapping(table=_amazon_defaults(), patterns=(_amazon_patterns,)),
}


def register_default_mapping(platform: str, table: Mapping[Key, str], patterns: Iterable[Pattern] = ()) -> None:
    """A statement importer declares how its platform's types map (keys in lower case, ANY for any value)."""
    _DEFAULTS[platform] = PlatformMapping(table=dict(table), patterns=tuple(patterns))


def _normal(value: str) -> str:
    return " ".join(value.strip().lower().split())


def _candidates(key: Key) -> list[Key]:
    transaction_type, amount_type, description = key
    return [
        (transaction_type, amount_type, description),
        (ANY, amount_type, description),
        (transaction_type, ANY, description),
        (ANY, ANY, description),
        (transaction_type, amount_type, ANY),
        (ANY, amount_type, ANY),
        (transaction_type, ANY, ANY),
    ]


def vendor_key(transaction_type: str, amount_type: str, amount_description: str) -> Key:
    """The normalised key of a vendor type: lower case, inner whitespace collapsed."""
    return (_normal(transaction_type), _normal(amount_type), _normal(amount_description))


@dataclass(frozen=True)
class Decision:
    category: str
    rule_id: int | None = None  # the company rule that decided, or None for the default mapping


class Categoriser:
    """Categorises lines of one platform for one tenant: rules loaded once, each key decided once."""

    def __init__(self, *, platform: str, rules: Iterable[CategoryRule] = ()) -> None:
        self.platform = platform
        self.mapping = _DEFAULTS.get(platform, PlatformMapping(table={}))
        self.rules: dict[Key, CategoryRule] = {}
        for rule in rules:
            if rule.platform == platform:
                parts = vendor_key(rule.transaction_type, rule.amount_type, rule.amount_description)
                self.rules[(parts[0] or ANY, parts[1] or ANY, parts[2] or ANY)] = rule
        self._decided: dict[Key, Decision] = {}

    def decide(self, transaction_type: str, amount_type: str, amount_description: str) -> Decision:
        key = vendor_key(transaction_type, amount_type, amount_description)
        decided = self._decided.get(key)
        if decided is None:
            decided = self._decided[key] = self._decide(key)
        return decided

    def _decide(self, key: Key) -> Decision:
        candidates = _candidates(key)
        for candidate in candidates:
            rule = self.rules.get(candidate)
            if rule is not None:
                return Decision(category=rule.category, rule_id=rule.pk)
        for candidate in candidates:
            category = self.mapping.table.get(candidate)
            if category is not None:
                return Decision(category=str(category))
        return Decision(category=self.mapping.pattern_category(key) or Category.UNCLASSIFIED)


def default_category(platform: str, transaction_type: str, amount_type: str, amount_description: str) -> str:
    """The category the default mapping gives a vendor type (no company rules)."""
    return Categoriser(platform=platform).decide(transaction_type, amount_type, amount_description).category
