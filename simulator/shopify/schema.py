"""The subset of Shopify's GraphQL Admin API (2026-10) the simulator serves, as SDL, with its scalars.

Names, types, nullability, arguments and enum values follow Shopify's reference for 2026-10 for the
fields present; fields ACORN does not need are left out (a query asking for them gets GraphQL's usual
validation error). Connections have `edges`, `nodes` and `pageInfo`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_schema

from simulator.shopify.catalogue import country_codes, currency_codes

_PAGING = "first: Int, after: String, last: Int, before: String, reverse: Boolean = false"

_SDL = """
directive @idempotent(key: String!) on FIELD

scalar DateTime
scalar Decimal
scalar Money
scalar URL
scalar UnsignedInt64

enum CurrencyCode { %(currencies)s }
enum CountryCode { %(countries)s }

interface Node { id: ID! }
interface LegacyInteroperability { legacyResourceId: UnsignedInt64! }

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }
type UserError { field: [String!] message: String! }

type ShopAddress { city: String countryCodeV2: CountryCode provinceCode: String zip: String }
type Shop implements Node {
  id: ID! name: String! myshopifyDomain: String! currencyCode: CurrencyCode!
  enabledPresentmentCurrencies: [CurrencyCode!]! ianaTimezone: String! timezoneAbbreviation: String!
  taxesIncluded: Boolean! createdAt: DateTime! updatedAt: DateTime! url: URL! billingAddress: ShopAddress!
}

enum OrderDisplayFinancialStatus { AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED VOIDED }
enum OrderDisplayFulfillmentStatus {
  FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT REQUEST_DECLINED RESTOCKED SCHEDULED
  UNFULFILLED
}
enum OrderCancelReason { CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }
enum OrderSortKeys {
  CREATED_AT CUSTOMER_NAME DESTINATION FINANCIAL_STATUS FULFILLMENT_STATUS ID ORDER_NUMBER PO_NUMBER PROCESSED_AT
  RELEVANCE TOTAL_ITEMS_QUANTITY TOTAL_PRICE UPDATED_AT
}
enum ProductVariantSortKeys {
  FULL_TITLE ID INVENTORY_LEVELS_AVAILABLE INVENTORY_MANAGEMENT INVENTORY_POLICY INVENTORY_QUANTITY NAME POPULAR
  POSITION RELEVANCE SKU TITLE
}
enum LocationSortKeys { ID NAME RELEVANCE }
enum WebhookSubscriptionSortKeys { CREATED_AT ID RELEVANCE }
enum RefundLineItemRestockType { CANCEL LEGACY_RESTOCK NO_RESTOCK RETURN }
enum OrderTransactionKind { AUTHORIZATION CAPTURE CHANGE EMV_AUTHORIZATION REFUND SALE SUGGESTED_REFUND VOID }
enum OrderTransactionStatus { AWAITING_RESPONSE ERROR FAILURE PENDING SUCCESS UNKNOWN }
enum ReturnStatus { CANCELED CLOSED DECLINED EXPIRED OPEN REQUESTED }
enum ReturnReason {
  COLOR DEFECTIVE NOT_AS_DESCRIBED OTHER SIZE_TOO_LARGE SIZE_TOO_SMALL STYLE UNKNOWN UNWANTED WRONG_ITEM
}
enum FulfillmentOrderStatus { CANCELLED CLOSED INCOMPLETE IN_PROGRESS ON_HOLD OPEN SCHEDULED }
enum FulfillmentStatus { CANCELLED ERROR FAILURE OPEN PENDING SUCCESS }
enum FulfillmentDisplayStatus {
  ATTEMPTED_DELIVERY CANCELED CONFIRMED DELIVERED FAILURE FULFILLED IN_TRANSIT LABEL_PRINTED LABEL_PURCHASED
  LABEL_VOIDED MARKED_AS_FULFILLED NOT_DELIVERED OUT_FOR_DELIVERY PICKED_UP READY_FOR_PICKUP SUBMITTED
}
enum ProductStatus { ACTIVE ARCHIVED DRAFT }
enum WebhookSubscriptionFormat { JSON XML }
enum WebhookSubscriptionTopic {
  APP_UNINSTALLED FULFILLMENTS_CREATE INVENTORY_LEVELS_UPDATE ORDERS_CANCELLED ORDERS_CREATE ORDERS_FULFILLED
  ORDERS_PAID ORDERS_PARTIALLY_FULFILLED ORDERS_UPDATED REFUNDS_CREATE RETURNS_REQUEST
}
enum InventorySetQuantitiesUserErrorCode {
  CHANGE_FROM_QUANTITY_STALE COMPARE_QUANTITY_REQUIRED COMPARE_QUANTITY_STALE IDEMPOTENCY_CONCURRENT_REQUEST
  IDEMPOTENCY_KEY_PARAMETER_MISMATCH IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED INVALID_INVENTORY_ITEM INVALID_LOCATION
  INVALID_NAME INVALID_QUANTITY_NEGATIVE INVALID_QUANTITY_TOO_HIGH INVALID_QUANTITY_TOO_LOW INVALID_REASON
  INVALID_REFERENCE_DOCUMENT ITEM_NOT_STOCKED_AT_LOCATION NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR
  NON_MUTABLE_INVENTORY_ITEM
}

type MailingAddress {
  city: String country: String countryCodeV2: CountryCode province: String provinceCode: String zip: String
}
type TaxLine { channelLiable: Boolean priceSet: MoneyBag! rate: Float ratePercentage: Float title: String! }
type DiscountAllocation { allocatedAmountSet: MoneyBag! }
type ShippingLine {
  id: ID title: String! code: String source: String carrierIdentifier: String isRemoved: Boolean!
  originalPriceSet: MoneyBag! discountedPriceSet: MoneyBag! discountAllocations: [DiscountAllocation!]!
  taxLines: [TaxLine!]!
}
type ShippingLineEdge { cursor: String! node: ShippingLine! }
type ShippingLineConnection { edges: [ShippingLineEdge!]! nodes: [ShippingLine!]! pageInfo: PageInfo! }

type LineItem implements Node {
  id: ID! sku: String name: String! title: String! variantTitle: String vendor: String quantity: Int!
  currentQuantity: Int! refundableQuantity: Int! unfulfilledQuantity: Int! requiresShipping: Boolean! taxable: Boolean!
  variant: ProductVariant product: Product originalUnitPriceSet: MoneyBag! discountedUnitPriceSet: MoneyBag!
  originalTotalSet: MoneyBag! discountedTotalSet: MoneyBag! totalDiscountSet: MoneyBag!
  discountAllocations: [DiscountAllocation!]!
  taxLines(first: Int): [TaxLine!]!
}
type LineItemEdge { cursor: String! node: LineItem! }
type LineItemConnection { edges: [LineItemEdge!]! nodes: [LineItem!]! pageInfo: PageInfo! }

type OrderTransaction implements Node {
  id: ID! kind: OrderTransactionKind! status: OrderTransactionStatus! gateway: String amountSet: MoneyBag!
  processedAt: DateTime createdAt: DateTime! test: Boolean! parentTransaction: OrderTransaction
}
type OrderTransactionEdge { cursor: String! node: OrderTransaction! }
type OrderTransactionConnection { edges: [OrderTransactionEdge!]! nodes: [OrderTransaction!]! pageInfo: PageInfo! }

type RefundLineItem {
  id: ID lineItem: LineItem! quantity: Int! restockType: RefundLineItemRestockType! restocked: Boolean!
  location: Location priceSet: MoneyBag! subtotalSet: MoneyBag! totalTaxSet: MoneyBag!
}
type RefundLineItemEdge { cursor: String! node: RefundLineItem! }
type RefundLineItemConnection { edges: [RefundLineItemEdge!]! nodes: [RefundLineItem!]! pageInfo: PageInfo! }
type Refund implements Node & LegacyInteroperability {
  id: ID! legacyResourceId: UnsignedInt64! createdAt: DateTime updatedAt: DateTime! note: String
  totalRefundedSet: MoneyBag! order: Order! return: Return
  refundLineItems(%(paging)s): RefundLineItemConnection!
  transactions(%(paging)s): OrderTransactionConnection!
}
type RefundEdge { cursor: String! node: Refund! }
type RefundConnection { edges: [RefundEdge!]! nodes: [Refund!]! pageInfo: PageInfo! }

type ReturnReasonDefinition { id: ID! deleted: Boolean! handle: String! name: String! }
interface ReturnLineItemType {
  customerNote: String id: ID! processableQuantity: Int! processedQuantity: Int! quantity: Int!
  refundableQuantity: Int! refundedQuantity: Int! returnReason: ReturnReason!
  returnReasonDefinition: ReturnReasonDefinition returnReasonNote: String! unprocessedQuantity: Int!
}
type ReturnLineItem implements Node & ReturnLineItemType {
  customerNote: String id: ID! processableQuantity: Int! processedQuantity: Int! quantity: Int!
  refundableQuantity: Int! refundedQuantity: Int! returnReason: ReturnReason!
  returnReasonDefinition: ReturnReasonDefinition returnReasonNote: String! unprocessedQuantity: Int!
  fulfillmentLineItem: FulfillmentLineItem!
}
type ReturnLineItemTypeEdge { cursor: String! node: ReturnLineItemType! }
type ReturnLineItemTypeConnection {
  edges: [ReturnLineItemTypeEdge!]! nodes: [ReturnLineItemType!]! pageInfo: PageInfo!
}
type Return implements Node {
  id: ID! name: String! status: ReturnStatus! createdAt: DateTime! closedAt: DateTime order: Order!
  totalQuantity: Int! returnLineItems(%(paging)s): ReturnLineItemTypeConnection!
  refunds(%(paging)s): RefundConnection!
}
type ReturnEdge { cursor: String! node: Return! }
type ReturnConnection { edges: [ReturnEdge!]! nodes: [Return!]! pageInfo: PageInfo! }

type FulfillmentLineItem implements Node {
  id: ID! lineItem: LineItem! quantity: Int originalTotalSet: MoneyBag! discountedTotalSet: MoneyBag!
}
type FulfillmentLineItemEdge { cursor: String! node: FulfillmentLineItem! }
type FulfillmentLineItemConnection {
  edges: [FulfillmentLineItemEdge!]! nodes: [FulfillmentLineItem!]! pageInfo: PageInfo!
}
type FulfillmentTrackingInfo { company: String number: String url: URL }
type Fulfillment implements Node & LegacyInteroperability {
  id: ID! legacyResourceId: UnsignedInt64! name: String! status: FulfillmentStatus!
  displayStatus: FulfillmentDisplayStatus createdAt: DateTime! updatedAt: DateTime! deliveredAt: DateTime
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]! fulfillmentLineItems(%(paging)s): FulfillmentLineItemConnection!
  location: Location order: Order! totalQuantity: Int!
}

type FulfillmentOrderLineItem implements Node {
  id: ID! totalQuantity: Int! remainingQuantity: Int! sku: String productTitle: String! variantTitle: String
  lineItem: LineItem! inventoryItemId: ID variant: ProductVariant
}
type FulfillmentOrderLineItemEdge { cursor: String! node: FulfillmentOrderLineItem! }
type FulfillmentOrderLineItemConnection {
  edges: [FulfillmentOrderLineItemEdge!]! nodes: [FulfillmentOrderLineItem!]! pageInfo: PageInfo!
}
type FulfillmentOrderAssignedLocation {
  name: String! location: Location countryCode: CountryCode! city: String province: String zip: String
}
type FulfillmentOrder implements Node {
  id: ID! status: FulfillmentOrderStatus! createdAt: DateTime! updatedAt: DateTime! orderId: ID! orderName: String!
  assignedLocation: FulfillmentOrderAssignedLocation! order: Order!
  lineItems(%(paging)s): FulfillmentOrderLineItemConnection!
}
type FulfillmentOrderEdge { cursor: String! node: FulfillmentOrder! }
type FulfillmentOrderConnection { edges: [FulfillmentOrderEdge!]! nodes: [FulfillmentOrder!]! pageInfo: PageInfo! }

type Order implements Node & LegacyInteroperability {
  id: ID! legacyResourceId: UnsignedInt64! name: String! createdAt: DateTime! updatedAt: DateTime!
  processedAt: DateTime! cancelledAt: DateTime cancelReason: OrderCancelReason closed: Boolean! closedAt: DateTime
  confirmed: Boolean! confirmationNumber: String currencyCode: CurrencyCode! presentmentCurrencyCode: CurrencyCode!
  displayFinancialStatus: OrderDisplayFinancialStatus displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  test: Boolean! tags: [String!]! sourceName: String note: String taxesIncluded: Boolean! dutiesIncluded: Boolean!
  customerLocale: String
  discountCode: String discountCodes: [String!]! paymentGatewayNames: [String!]! fullyPaid: Boolean! unpaid: Boolean!
  totalPriceSet: MoneyBag! subtotalPriceSet: MoneyBag totalShippingPriceSet: MoneyBag! totalTaxSet: MoneyBag
  totalDiscountsSet: MoneyBag totalRefundedSet: MoneyBag! totalRefundedShippingSet: MoneyBag!
  totalReceivedSet: MoneyBag! totalOutstandingSet: MoneyBag! totalCapturableSet: MoneyBag!
  currentTotalPriceSet: MoneyBag! currentSubtotalPriceSet: MoneyBag! currentTotalTaxSet: MoneyBag!
  currentTotalDiscountsSet: MoneyBag! totalTipReceivedSet: MoneyBag! originalTotalDutiesSet: MoneyBag
  currentTotalDutiesSet: MoneyBag originalTotalAdditionalFeesSet: MoneyBag currentTotalAdditionalFeesSet: MoneyBag
  shippingAddress: MailingAddress billingAddress: MailingAddress
  shippingLines(%(paging)s, includeRemovals: Boolean = false): ShippingLineConnection!
  lineItems(%(paging)s): LineItemConnection!
  refunds(first: Int): [Refund!]!
  returns(%(paging)s, query: String): ReturnConnection!
  fulfillmentOrders(%(paging)s, displayable: Boolean = false, query: String): FulfillmentOrderConnection!
  fulfillments(first: Int): [Fulfillment!]!
  transactions(first: Int, capturable: Boolean, manuallyResolvable: Boolean): [OrderTransaction!]!
}
type OrderEdge { cursor: String! node: Order! }
type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }

type LocationAddress {
  address1: String city: String country: String countryCode: String provinceCode: String zip: String
}
type Location implements Node & LegacyInteroperability {
  id: ID! legacyResourceId: UnsignedInt64! name: String! isActive: Boolean! fulfillsOnlineOrders: Boolean!
  shipsInventory: Boolean! address: LocationAddress! inventoryLevel(inventoryItemId: ID!): InventoryLevel
  inventoryLevels(%(paging)s, query: String): InventoryLevelConnection!
}
type LocationEdge { cursor: String! node: Location! }
type LocationConnection { edges: [LocationEdge!]! nodes: [Location!]! pageInfo: PageInfo! }

type Product implements Node & LegacyInteroperability {
  id: ID! legacyResourceId: UnsignedInt64! title: String! handle: String! status: ProductStatus! vendor: String!
  productType: String! createdAt: DateTime! updatedAt: DateTime!
}
type ProductVariant implements Node & LegacyInteroperability {
  id: ID! legacyResourceId: UnsignedInt64! sku: String title: String! displayName: String! price: Money!
  barcode: String position: Int! inventoryQuantity: Int inventoryItem: InventoryItem! product: Product!
  createdAt: DateTime! updatedAt: DateTime!
}
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection { edges: [ProductVariantEdge!]! nodes: [ProductVariant!]! pageInfo: PageInfo! }

type InventoryQuantity implements Node { id: ID! name: String! quantity: Int! updatedAt: DateTime }
type InventoryLevel implements Node {
  id: ID! location: Location! item: InventoryItem! quantities(names: [String!]!): [InventoryQuantity!]!
  canDeactivate: Boolean! createdAt: DateTime! updatedAt: DateTime!
}
type InventoryLevelEdge { cursor: String! node: InventoryLevel! }
type InventoryLevelConnection { edges: [InventoryLevelEdge!]! nodes: [InventoryLevel!]! pageInfo: PageInfo! }
type InventoryItem implements Node & LegacyInteroperability {
  id: ID! legacyResourceId: UnsignedInt64! sku: String tracked: Boolean! requiresShipping: Boolean!
  createdAt: DateTime! updatedAt: DateTime! variant: ProductVariant! inventoryLevel(locationId: ID!): InventoryLevel
  inventoryLevels(%(paging)s, query: String): InventoryLevelConnection!
}
type InventoryItemEdge { cursor: String! node: InventoryItem! }
type InventoryItemConnection { edges: [InventoryItemEdge!]! nodes: [InventoryItem!]! pageInfo: PageInfo! }
type InventoryChange {
  name: String! delta: Int! quantityAfterChange: Int item: InventoryItem location: Location ledgerDocumentUri: String
}
type InventoryAdjustmentGroup implements Node {
  id: ID! createdAt: DateTime! reason: String! referenceDocumentUri: String
  changes(inventoryItemIds: [ID!], locationIds: [ID!], quantityNames: [String!]): [InventoryChange!]!
}
type InventorySetQuantitiesUserError { code: InventorySetQuantitiesUserErrorCode field: [String!] message: String! }

type ApiVersion { displayName: String! handle: String! supported: Boolean! }
type WebhookSubscription implements Node & LegacyInteroperability {
  id: ID! legacyResourceId: UnsignedInt64! topic: WebhookSubscriptionTopic! uri: String!
  callbackUrl: URL! @deprecated(reason: "Use `uri` instead.")
  format: WebhookSubscriptionFormat! includeFields: [String!]! filter: String name: String
  apiVersion: ApiVersion! createdAt: DateTime! updatedAt: DateTime!
}
type WebhookSubscriptionEdge { cursor: String! node: WebhookSubscription! }
type WebhookSubscriptionConnection {
  edges: [WebhookSubscriptionEdge!]! nodes: [WebhookSubscription!]! pageInfo: PageInfo!
}

input InventoryQuantityInput { changeFromQuantity: Int inventoryItemId: ID! locationId: ID! quantity: Int! }
input InventorySetQuantitiesInput {
  name: String! quantities: [InventoryQuantityInput!]! reason: String! referenceDocumentUri: String
}
input FulfillmentOrderLineItemInput { id: ID! quantity: Int! }
input FulfillmentOrderLineItemsInput {
  fulfillmentOrderId: ID! fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!]
}
input FulfillmentTrackingInput { company: String number: String numbers: [String!] url: URL urls: [URL!] }
input FulfillmentOriginAddressInput {
  address1: String address2: String city: String countryCode: String! provinceCode: String zip: String
}
input FulfillmentInput {
  lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]! notifyCustomer: Boolean = false
  originAddress: FulfillmentOriginAddressInput trackingInfo: FulfillmentTrackingInput
}
input RefundLineItemInput { lineItemId: ID! locationId: ID quantity: Int! restockType: RefundLineItemRestockType }
input ShippingRefundInput { amount: Money fullRefund: Boolean }
input OrderTransactionInput { amount: Money! gateway: String! kind: OrderTransactionKind! orderId: ID! parentId: ID }
input RefundInput {
  allowOverRefunding: Boolean = false currency: CurrencyCode note: String notify: Boolean orderId: ID!
  processedAt: DateTime refundLineItems: [RefundLineItemInput!] shipping: ShippingRefundInput
  transactions: [OrderTransactionInput!]
}
input WebhookSubscriptionInput {
  callbackUrl: URL filter: String format: WebhookSubscriptionFormat includeFields: [String!]
  metafieldNamespaces: [String!] name: String uri: String
}

type FulfillmentCreatePayload { fulfillment: Fulfillment userErrors: [UserError!]! }
type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup userErrors: [InventorySetQuantitiesUserError!]!
}
type RefundCreatePayload { order: Order refund: Refund userErrors: [UserError!]! }
type WebhookSubscriptionCreatePayload { userErrors: [UserError!]! webhookSubscription: WebhookSubscription }
type WebhookSubscriptionDeletePayload { deletedWebhookSubscriptionId: ID userErrors: [UserError!]! }

enum ShopifyPaymentsPayoutStatus { CANCELED FAILED IN_TRANSIT PAID SCHEDULED }
enum ShopifyPaymentsPayoutTransactionType { DEPOSIT WITHDRAWAL }
enum ShopifyPaymentsBalanceTransactionPayoutStatus {
  ACTION_REQUIRED CANCELED FAILED IN_TRANSIT PAID PENDING SCHEDULED
}
enum ShopifyPaymentsSourceType { ADJUSTMENT ADJUSTMENT_REVERSAL CHARGE DISPUTE REFUND SYSTEM_ADJUSTMENT TRANSFER }
enum ShopifyPaymentsTransactionType {
  ADJUSTMENT CHARGE CHARGE_ADJUSTMENT CHARGEBACK_FEE CHARGEBACK_FEE_REFUND CHARGEBACK_HOLD CHARGEBACK_HOLD_RELEASE
  DISPUTE_REVERSAL DISPUTE_WITHDRAWAL REFUND REFUND_ADJUSTMENT REFUND_FAILURE RESERVED_FUNDS RESERVED_FUNDS_REVERSAL
  RESERVED_FUNDS_WITHDRAWAL RISK_REVERSAL RISK_WITHDRAWAL STRIPE_FEE TRANSFER TRANSFER_CANCEL TRANSFER_FAILURE
  TRANSFER_REFUND
}
enum BalanceTransactionSortKeys {
  AMOUNT FEE ID NET ORDER_NAME PAYMENT_METHOD_NAME PAYOUT_DATE PAYOUT_STATUS PROCESSED_AT TRANSACTION_TYPE
}
type ShopifyPaymentsPayoutSummary {
  adjustmentsFee: MoneyV2! adjustmentsGross: MoneyV2! chargesFee: MoneyV2! chargesGross: MoneyV2!
  refundsFee: MoneyV2! refundsFeeGross: MoneyV2! reservedFundsFee: MoneyV2! reservedFundsGross: MoneyV2!
  retriedPayoutsFee: MoneyV2! retriedPayoutsGross: MoneyV2!
}
type ShopifyPaymentsPayout implements Node & LegacyInteroperability {
  id: ID! legacyResourceId: UnsignedInt64! issuedAt: DateTime! net: MoneyV2! status: ShopifyPaymentsPayoutStatus!
  summary: ShopifyPaymentsPayoutSummary! transactionType: ShopifyPaymentsPayoutTransactionType!
  externalTraceId: String
}
type ShopifyPaymentsPayoutEdge { cursor: String! node: ShopifyPaymentsPayout! }
type ShopifyPaymentsPayoutConnection {
  edges: [ShopifyPaymentsPayoutEdge!]! nodes: [ShopifyPaymentsPayout!]! pageInfo: PageInfo!
}
type ShopifyPaymentsAssociatedOrder { id: ID! name: String! }
type ShopifyPaymentsBalanceTransactionAssociatedPayout {
  id: ID status: ShopifyPaymentsBalanceTransactionPayoutStatus
}
type ShopifyPaymentsBalanceTransaction implements Node {
  id: ID! adjustmentReason: String amount: MoneyV2! associatedOrder: ShopifyPaymentsAssociatedOrder
  associatedPayout: ShopifyPaymentsBalanceTransactionAssociatedPayout! fee: MoneyV2! net: MoneyV2!
  sourceId: UnsignedInt64 sourceOrderTransactionId: UnsignedInt64 sourceType: ShopifyPaymentsSourceType
  test: Boolean! transactionDate: DateTime! type: ShopifyPaymentsTransactionType!
}
type ShopifyPaymentsBalanceTransactionEdge { cursor: String! node: ShopifyPaymentsBalanceTransaction! }
type ShopifyPaymentsBalanceTransactionConnection {
  edges: [ShopifyPaymentsBalanceTransactionEdge!]! nodes: [ShopifyPaymentsBalanceTransaction!]! pageInfo: PageInfo!
}
type ShopifyPaymentsAccount implements Node {
  id: ID! activated: Boolean! country: String! defaultCurrency: CurrencyCode! balance: [MoneyV2!]!
  balanceTransactions(%(paging)s, hideTransfers: Boolean = false, sortKey: BalanceTransactionSortKeys = PROCESSED_AT,
    query: String): ShopifyPaymentsBalanceTransactionConnection!
  payouts(%(paging)s, transactionType: ShopifyPaymentsPayoutTransactionType): ShopifyPaymentsPayoutConnection!
}

type QueryRoot {
  shop: Shop!
  shopifyPaymentsAccount: ShopifyPaymentsAccount
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
  order(id: ID!): Order
  orders(%(paging)s, sortKey: OrderSortKeys = PROCESSED_AT, query: String, savedSearchId: ID): OrderConnection!
  location(id: ID): Location
  locations(%(paging)s, sortKey: LocationSortKeys = NAME, query: String, includeLegacy: Boolean = false,
    includeInactive: Boolean = false): LocationConnection!
  productVariant(id: ID!): ProductVariant
  productVariants(%(paging)s, sortKey: ProductVariantSortKeys = ID, query: String): ProductVariantConnection!
  inventoryItem(id: ID!): InventoryItem
  inventoryItems(%(paging)s, query: String): InventoryItemConnection!
  fulfillmentOrder(id: ID!): FulfillmentOrder
  return(id: ID!): Return
  webhookSubscription(id: ID!): WebhookSubscription
  webhookSubscriptions(%(paging)s, sortKey: WebhookSubscriptionSortKeys = CREATED_AT,
    topics: [WebhookSubscriptionTopic!],
    format: WebhookSubscriptionFormat, uri: String, query: String): WebhookSubscriptionConnection!
}

type Mutation {
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  refundCreate(input: RefundInput!): RefundCreatePayload
  webhookSubscriptionCreate(topic: WebhookSubscriptionTopic!, webhookSubscription: WebhookSubscriptionInput!):
    WebhookSubscriptionCreatePayload
  webhookSubscriptionDelete(id: ID!): WebhookSubscriptionDeletePayload
}

schema { query: QueryRoot mutation: Mutation }
"""


def decimal_text(value: Decimal) -> str:
    """Shopify's Decimal output: the plain value with at least one decimal ("10.0", "24.99", "1500.0")."""
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def _serialize_decimal(value: Any) -> str:
    if isinstance(value, str):
        return value  # a malformed record sends what it has
    if isinstance(value, Decimal):
        return decimal_text(value)
    raise GraphQLError(f"Decimal cannot represent {value!r}")


def _parse_decimal(value: Any) -> Decimal:
    try:
        parsed = Decimal(str(value))
    except ArithmeticError:
        raise GraphQLError(f"Invalid decimal: {value!r}") from None
    if not parsed.is_finite():
        raise GraphQLError(f"Invalid decimal: {value!r}")
    return parsed


def _serialize_datetime(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    raise GraphQLError(f"DateTime cannot represent {value!r}")


def _parse_datetime(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"Invalid DateTime: {value!r}") from None


@cache
def schema() -> GraphQLSchema:
    """The schema, built once: SDL plus scalar coercion."""
    sdl = _SDL % {
        "currencies": " ".join(currency_codes()),
        "countries": " ".join(country_codes()),
        "paging": _PAGING,
    }
    built = build_schema(sdl)
    types = built.type_map
    coercers: dict[str, tuple[Any, Any]] = {
        "Decimal": (_serialize_decimal, _parse_decimal),
        "Money": (_serialize_decimal, _parse_decimal),
        "DateTime": (_serialize_datetime, _parse_datetime),
        "UnsignedInt64": (str, _parse_unsigned),
    }
    for name, (output, parse) in coercers.items():
        scalar = types[name]
        # graphql-core 3.3 reads coerce_*; older releases read serialize/parse_value.
        for attribute in ("serialize", "coerce_output_value"):
            setattr(scalar, attribute, output)
        for attribute in ("parse_value", "coerce_input_value"):
            setattr(scalar, attribute, parse)
    return built


def _parse_unsigned(value: Any) -> int:
    try:
        parsed = int(str(value))
    except ValueError:
        raise GraphQLError(f"Invalid UnsignedInt64: {value!r}") from None
    if parsed < 0:
        raise GraphQLError(f"Invalid UnsignedInt64: {value!r}")
    return parsed
