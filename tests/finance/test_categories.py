"""The default mapping covers every vendor type in the finance notes; company rules come first."""

from __future__ import annotations

import pytest

from finance.models import Category, CategoryRule
from finance.settlements.categories import Categoriser, default_category

# (transaction-type, amount-type, amount-description) → category, as seen in real settlement files and public
# parsers (the finance notes, finance-and-accounting.md §1.1 to 1.2), including the casing differences between sources.
AMAZON_TYPES = [
    ("Order", "ItemPrice", "Principal", Category.SALES),
    ("Order", "ItemPrice", "Shipping", Category.SHIPPING_INCOME),
    ("Order", "ItemPrice", "GiftWrap", Category.SALES),
    ("Order", "ItemPrice", "Tax", Category.TAX_COLLECTED),
    ("Order", "ItemPrice", "ShippingTax", Category.TAX_COLLECTED),
    ("Order", "ItemPrice", "GiftWrapTax", Category.TAX_COLLECTED),
    ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", Category.TAX_WITHHELD),
    ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Shipping", Category.TAX_WITHHELD),
    ("Order", "ItemWithheldTax", "MarketplaceFacilitatorVAT-Principal", Category.TAX_WITHHELD),
    ("Order", "ItemWithheldTax", "LowValueGoodsTax-Principal", Category.TAX_WITHHELD),
    ("Order", "Promotion", "Principal", Category.PROMOTIONS),
    ("Order", "Promotion", "Shipping", Category.PROMOTIONS),
    ("Order", "Promotion", "TaxDiscount", Category.TAX_COLLECTED),
    ("Order", "ItemFees", "Commission", Category.SELLER_FEES),
    ("Order", "ItemFees", "FBAPerUnitFulfillmentFee", Category.FBA_FEES),
    ("Order", "ItemFees", "FBAWeightBasedFee", Category.FBA_FEES),
    ("Order", "ItemFees", "ShippingChargeback", Category.SELLER_FEES),
    ("Order", "ItemFees", "FixedClosingFee", Category.SELLER_FEES),
    ("Order", "ItemFees", "VariableClosingFee", Category.SELLER_FEES),
    ("Order", "ItemFees", "DigitalServicesFee", Category.SELLER_FEES),
    ("Refund", "ItemPrice", "Principal", Category.REFUNDS),
    ("Refund", "ItemPrice", "Shipping", Category.REFUNDS),
    ("Refund", "ItemPrice", "Tax", Category.TAX_COLLECTED),
    ("Refund", "ItemPrice", "ShippingTax", Category.TAX_COLLECTED),
    ("Refund", "ItemPrice", "RestockingFee", Category.REFUNDS),
    ("Refund", "ItemPrice", "Goodwill", Category.REFUNDS),
    ("Refund", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", Category.TAX_WITHHELD),
    ("Refund", "Promotion", "Principal", Category.REFUNDS),
    ("Refund", "ItemFees", "Commission", Category.SELLER_FEES),
    ("Refund", "ItemFees", "RefundCommission", Category.SELLER_FEES),
    ("Refund", "ItemFees", "ShippingChargeback", Category.SELLER_FEES),
    ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount", Category.ADVERTISING),
    ("AmazonFees", "Coupon Performance Based Fee", "Base fee", Category.SELLER_FEES),
    ("AmazonFees", "Coupon Participation Fee", "Base fee", Category.SELLER_FEES),
    ("AmazonFees", "Deal Performance Based Fee", "Base fee", Category.SELLER_FEES),
    ("AmazonFees", "Deal Participation Fee", "Base fee", Category.SELLER_FEES),
    ("other-transaction", "other-transaction", "Subscription Fee", Category.SELLER_FEES),
    ("other-transaction", "other-transaction", "Storage Fee", Category.STORAGE_FEES),
    ("other-transaction", "other-transaction", "FBA Inbound Placement Service Fee", Category.FBA_FEES),
    ("other-transaction", "other-transaction", "FBALongTermStorageFee", Category.STORAGE_FEES),
    ("other-transaction", "other-transaction", "StorageRenewalBilling", Category.STORAGE_FEES),
    ("other-transaction", "other-transaction", "FBARemovalFee", Category.FBA_FEES),
    ("other-transaction", "other-transaction", "FBADisposalFee", Category.FBA_FEES),
    ("other-transaction", "other-transaction", "Successful charge", Category.RESERVE),
    ("other-transaction", "other-transaction", "Payable to Amazon", Category.RESERVE),
    ("other-transaction", "other-transaction", "Current Reserve Amount", Category.RESERVE),
    ("Other-Transaction", "Other-Transaction", "Previous Reserve Amount Balance", Category.RESERVE),
    ("Transfer", "other-transaction", "Previous Reserve Amount Balance", Category.RESERVE),
    ("other-transaction", "FBA Inventory Reimbursement", "REVERSAL_REIMBURSEMENT", Category.REIMBURSEMENTS),
    ("other-transaction", "FBA Inventory Reimbursement", "COMPENSATED_CLAWBACK", Category.REIMBURSEMENTS),
    ("other-transaction", "FBA Inventory Reimbursement", "FREE_REPLACEMENT_REFUND_ITEMS", Category.REIMBURSEMENTS),
    ("other-transaction", "FBA Inventory Reimbursement", "WAREHOUSE_DAMAGE", Category.REIMBURSEMENTS),
    ("other-transaction", "FBA Inventory Reimbursement", "INCORRECT_FEES_ITEMS", Category.REIMBURSEMENTS),
    ("Order_Retrocharge", "ItemPrice", "Tax", Category.TAX_COLLECTED),
    ("Refund_Retrocharge", "ItemPrice", "ShippingTax", Category.TAX_COLLECTED),
    ("Order_Retrocharge", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", Category.TAX_WITHHELD),
    ("Liquidations", "ItemPrice", "Principal", Category.REIMBURSEMENTS),
    ("Liquidations", "ItemFees", "LiquidationsBrokerageFee", Category.FBA_FEES),
    ("Debt Adjustment", "Debt Adjustment", "Cross-Account Debt Adjustment against BE, ES", Category.RESERVE),
    # a fee Amazon names by its usual pattern but nobody listed yet
    ("other-transaction", "other-transaction", "FBAInboundPlacementSurchargeFee", Category.FBA_FEES),
]


@pytest.mark.parametrize(("transaction_type", "amount_type", "description", "category"), AMAZON_TYPES)
def test_every_amazon_type_in_the_notes_has_its_category(
    transaction_type: str, amount_type: str, description: str, category: str
) -> None:
    assert default_category("amazon", transaction_type, amount_type, description) == category


@pytest.mark.parametrize(
    ("transaction_type", "amount_type", "description"),
    [("Order", "ItemPrice", "PlanetSavingFee"), ("MysteryType", "Whatever", "Something new"), ("", "", "")],
)
def test_a_type_nobody_maps_is_unclassified(transaction_type: str, amount_type: str, description: str) -> None:
    assert default_category("amazon", transaction_type, amount_type, description) == Category.UNCLASSIFIED


def test_matching_ignores_case_and_spacing() -> None:
    assert default_category("amazon", " ORDER ", "itemprice", "principal") == Category.SALES
    assert default_category("amazon", "servicefee", "Cost  of  Advertising", "x") == Category.ADVERTISING


def test_a_company_rule_wins_over_the_default_and_falls_back_like_it() -> None:
    # given: the company books every Commission as advertising (odd, but theirs) and maps a new type
    rules = [
        CategoryRule(pk=1, platform="amazon", amount_description="Commission", category=Category.ADVERTISING),
        CategoryRule(pk=2, platform="amazon", transaction_type="Order", amount_type="ItemPrice",
                     amount_description="PlanetSavingFee", category=Category.SELLER_FEES),
        CategoryRule(pk=3, platform="shopify", amount_description="Principal", category=Category.RESERVE),
    ]  # fmt: skip
    categoriser = Categoriser(platform="amazon", rules=rules)
    # then
    assert categoriser.decide("Refund", "ItemFees", "commission").category == Category.ADVERTISING
    assert categoriser.decide("Refund", "ItemFees", "commission").rule_id == 1
    assert categoriser.decide("order", "itemprice", "planetsavingfee").category == Category.SELLER_FEES
    # another platform's rule does not apply; the default still does
    decision = categoriser.decide("Order", "ItemPrice", "Principal")
    assert (decision.category, decision.rule_id) == (Category.SALES, None)
