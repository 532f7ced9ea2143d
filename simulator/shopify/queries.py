"""Query root resolvers: shop, orders, order, locations, productVariants, inventoryItem(s), node(s),
webhookSubscriptions and a few single-object look-ups."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from graphql import GraphQLError, GraphQLResolveInfo

from simulator.shopify.model import ShopOrder
from simulator.shopify.payments import BalanceTransaction, Payout, balance_transactions, payouts
from simulator.shopify.views import (
    Node,
    Views,
    by_id,
    compare,
    connection,
    gid,
    parse_gid,
    parse_search,
    parse_search_time,
    request_context,
    require_scope,
    search_warning,
)

_FINANCIAL_SEARCH = {
    "paid": "PAID",
    "pending": "PENDING",
    "authorized": "AUTHORIZED",
    "partially_paid": "PARTIALLY_PAID",
    "partially_refunded": "PARTIALLY_REFUNDED",
    "refunded": "REFUNDED",
    "voided": "VOIDED",
    "expired": "EXPIRED",
}
_FULFILLMENT_SEARCH = {
    "shipped": ("FULFILLED",),
    "fulfilled": ("FULFILLED",),
    "partial": ("PARTIALLY_FULFILLED",),
    "unshipped": ("UNFULFILLED",),
    "unfulfilled": ("UNFULFILLED", "PARTIALLY_FULFILLED"),
    "restocked": ("RESTOCKED",),
}
ORDER_SEARCH_FIELDS = (
    "updated_at",
    "created_at",
    "processed_at",
    "id",
    "name",
    "status",
    "financial_status",
    "fulfillment_status",
    "test",
    "tag",
    "sku",
    "source_name",
)


def _views(info: GraphQLResolveInfo) -> Views:
    return Views(request_context(info))


def resolve_shop(root: Any, info: GraphQLResolveInfo) -> Node:
    shop = request_context(info).shop
    zone = ZoneInfo(shop.profile.timezone)
    return {
        "id": gid("Shop", shop.legacy_id),
        "name": shop.name,
        "myshopifyDomain": shop.domain,
        "currencyCode": shop.currency,
        "enabledPresentmentCurrencies": list(shop.presentment_currencies),
        "ianaTimezone": shop.profile.timezone,
        "timezoneAbbreviation": request_context(info).now.astimezone(zone).tzname(),
        "taxesIncluded": shop.profile.taxes_included,
        "createdAt": shop.created_at,
        "updatedAt": shop.created_at,
        "url": f"https://{shop.domain}",
        "billingAddress": {
            "city": shop.profile.city,
            "countryCodeV2": shop.profile.country,
            "provinceCode": shop.profile.province_code,
            "zip": shop.profile.zip,
        },
    }


def _order_filter(info: GraphQLResolveInfo, query: str | None) -> Callable[[ShopOrder], bool]:
    request = request_context(info)
    terms, _ = parse_search(query)
    unknown = [term.field for term in terms if term.field not in ORDER_SEARCH_FIELDS]
    search_warning(info, query or "", unknown)
    timezone = request.shop.profile.timezone
    checks: list[Callable[[ShopOrder], bool]] = []
    for term in terms:
        if term.field in unknown:
            continue
        check = _order_check(request, term.field, term.op, term.value, timezone)
        checks.append(_negate(check) if term.negated else check)
    return lambda order: all(check(order) for check in checks)


def _negate(check: Callable[[ShopOrder], bool]) -> Callable[[ShopOrder], bool]:
    return lambda order: not check(order)


def _order_check(request: Any, name: str, op: str, value: str, timezone: str) -> Callable[[ShopOrder], bool]:
    lowered = value.lower()
    if name in ("updated_at", "created_at", "processed_at"):
        moment = parse_search_time(value, timezone)
        if name == "updated_at":
            return lambda order: compare(request.state(order).updated_at, op, moment)
        return lambda order: compare(order.created, op, moment)
    if name == "id":
        try:
            wanted = int(value.rsplit("/", 1)[-1])
        except ValueError:
            raise GraphQLError(f"Invalid id in search query: {value!r}") from None
        return lambda order: compare(order.legacy_id, op, wanted)
    if name == "name":
        return lambda order: order.name.lstrip("#") == value.lstrip("#")
    if name == "status":
        if lowered == "any":
            return lambda order: True
        if lowered == "cancelled":
            return lambda order: request.state(order).cancelled_at is not None
        if lowered in ("closed",):
            return lambda order: request.state(order).closed_at is not None
        if lowered in ("open", "not_closed"):
            return lambda order: request.state(order).closed_at is None
        return lambda order: False
    if name == "financial_status":
        wanted_financial = _FINANCIAL_SEARCH.get(lowered)
        return lambda order: request.state(order).financial_status == wanted_financial
    if name == "fulfillment_status":
        wanted_statuses = _FULFILLMENT_SEARCH.get(lowered, ())
        return lambda order: request.state(order).fulfillment_status in wanted_statuses
    if name == "test":
        return lambda order: order.test == (lowered == "true")
    if name == "tag":
        return lambda order: value in order.tags
    if name == "sku":
        return lambda order: any(line.variant.sku == value for line in order.lines)
    return lambda order: order.source_name == value  # source_name


def _order_key(info: GraphQLResolveInfo, sort_key: str) -> Callable[[ShopOrder], tuple[Any, int]]:
    request = request_context(info)

    def stamp(moment: Any) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    if sort_key == "UPDATED_AT":
        return lambda order: (stamp(request.state(order).updated_at), order.legacy_id)
    if sort_key in ("CREATED_AT", "PROCESSED_AT"):
        return lambda order: (stamp(order.created), order.legacy_id)
    if sort_key == "ORDER_NUMBER":
        return lambda order: (order.number, order.legacy_id)
    if sort_key == "TOTAL_PRICE":
        return lambda order: (str(order.total_price.shop).zfill(20), order.legacy_id)
    return lambda order: by_id(order.legacy_id)


def resolve_orders(root: Any, info: GraphQLResolveInfo, **args: Any) -> Node:
    require_scope(info, "orders", "read_orders")
    request = request_context(info)
    orders = request.shopify.orders(request.shop.domain)
    wanted = _order_filter(info, args.get("query"))
    views = _views(info)
    repeat = 0
    if args.get("after") and request.duplicate_pages:
        faults = request.shopify.faults
        if faults.chance(faults.profile.duplicate_page_rate):
            repeat = faults.randint(1, 3)
    return connection(
        [order for order in orders if wanted(order)],
        views.order,
        _order_key(info, args.get("sortKey") or "PROCESSED_AT"),
        first=args.get("first"),
        after=args.get("after"),
        last=args.get("last"),
        before=args.get("before"),
        reverse=bool(args.get("reverse")),
        repeat=repeat,
    )


def _find_order(info: GraphQLResolveInfo, value: str) -> ShopOrder | None:
    request = request_context(info)
    legacy_id = parse_gid(value, "Order")
    return request.shopify.find_order(request.shop.domain, legacy_id) if legacy_id is not None else None


def resolve_order(root: Any, info: GraphQLResolveInfo, id: str) -> Node | None:
    require_scope(info, "order", "read_orders")
    order = _find_order(info, id)
    return _views(info).order(order) if order else None


def resolve_locations(root: Any, info: GraphQLResolveInfo, **args: Any) -> Node:
    require_scope(info, "locations", "read_locations", "read_inventory")
    views = _views(info)
    key = (lambda location: (location.name, location.legacy_id)) if args.get("sortKey") == "NAME" else None
    return connection(
        list(views.shop.locations),
        views.location,
        key or (lambda location: by_id(location.legacy_id)),
        **_paging(args),
    )


def resolve_location(root: Any, info: GraphQLResolveInfo, id: str | None = None) -> Node | None:
    require_scope(info, "location", "read_locations", "read_inventory")
    views = _views(info)
    location = views.location_by_id(parse_gid(id, "Location")) if id else views.shop.locations[0]
    return views.location(location) if location else None


def _variant_filter(info: GraphQLResolveInfo, query: str | None) -> Callable[[Any], bool]:
    terms, free = parse_search(query)
    known = ("sku", "id", "product_id", "barcode", "title")
    search_warning(info, query or "", [term.field for term in terms if term.field not in known])

    def matches(variant: Any) -> bool:
        for term in terms:
            if term.field == "sku":
                ok = variant.sku.startswith(term.value[:-1]) if term.value.endswith("*") else variant.sku == term.value
            elif term.field == "id":
                ok = compare(variant.legacy_id, term.op, int(term.value.rsplit("/", 1)[-1]))
            elif term.field == "product_id":
                ok = str(variant.product_id) == term.value.rsplit("/", 1)[-1]
            elif term.field == "barcode":
                ok = variant.barcode == term.value
            elif term.field == "title":
                ok = term.value.lower() in variant.display_name.lower()
            else:
                continue
            if ok == term.negated:
                return False
        return all(word.lower() in f"{variant.display_name} {variant.sku}".lower() for word in free)

    return matches


def resolve_product_variants(root: Any, info: GraphQLResolveInfo, **args: Any) -> Node:
    require_scope(info, "productVariants", "read_products")
    views = _views(info)
    wanted = _variant_filter(info, args.get("query"))
    sort_key = args.get("sortKey") or "ID"
    key: Callable[[Any], tuple[Any, int]] = lambda variant: by_id(variant.legacy_id)  # noqa: E731
    if sort_key == "SKU":
        key = lambda variant: (variant.sku, variant.legacy_id)  # noqa: E731
    elif sort_key in ("TITLE", "FULL_TITLE", "NAME"):
        key = lambda variant: (variant.display_name, variant.legacy_id)  # noqa: E731
    return connection(
        [variant for variant in views.shop.variants if wanted(variant)], views.variant, key, **_paging(args)
    )


def resolve_product_variant(root: Any, info: GraphQLResolveInfo, id: str) -> Node | None:
    require_scope(info, "productVariant", "read_products")
    views = _views(info)
    legacy_id = parse_gid(id, "ProductVariant")
    variant = next((variant for variant in views.shop.variants if variant.legacy_id == legacy_id), None)
    return views.variant(variant) if variant else None


def resolve_inventory_item(root: Any, info: GraphQLResolveInfo, id: str) -> Node | None:
    require_scope(info, "inventoryItem", "read_inventory", "read_products")
    views = _views(info)
    variant = views.variant_by_item(parse_gid(id, "InventoryItem"))
    return views.inventory_item(variant) if variant else None


def resolve_inventory_items(root: Any, info: GraphQLResolveInfo, **args: Any) -> Node:
    require_scope(info, "inventoryItems", "read_inventory", "read_products")
    views = _views(info)
    wanted = _variant_filter(info, args.get("query"))
    return connection(
        [variant for variant in views.shop.variants if wanted(variant)],
        views.inventory_item,
        lambda variant: by_id(variant.inventory_item_id),
        **_paging(args),
    )


def resolve_fulfillment_order(root: Any, info: GraphQLResolveInfo, id: str) -> Node | None:
    require_scope(info, "fulfillmentOrder", "read_merchant_managed_fulfillment_orders", "read_orders")
    request = request_context(info)
    legacy_id = parse_gid(id, "FulfillmentOrder")
    order = next(
        (order for order in request.shopify.orders(request.shop.domain) if order.fulfillment_order_id == legacy_id),
        None,
    )
    return _views(info).fulfillment_order(order) if order else None


def resolve_return(root: Any, info: GraphQLResolveInfo, id: str) -> Node | None:
    require_scope(info, "return", "read_returns")
    request = request_context(info)
    legacy_id = parse_gid(id, "Return")
    for order in request.shopify.orders(request.shop.domain):
        for record, _ in request.state(order).returns:
            if record.legacy_id == legacy_id:
                return _views(info).return_(order, record)
    return None


def resolve_webhook_subscriptions(root: Any, info: GraphQLResolveInfo, **args: Any) -> Node:
    views = _views(info)
    topics = set(args.get("topics") or ())
    uri = args.get("uri")
    subscriptions = [
        subscription
        for subscription in views.shop.subscriptions.values()
        if (not topics or subscription.topic in topics) and (uri is None or subscription.uri == uri)
    ]
    return connection(subscriptions, views.subscription, lambda item: by_id(item.legacy_id), **_paging(args))


def resolve_webhook_subscription(root: Any, info: GraphQLResolveInfo, id: str) -> Node | None:
    views = _views(info)
    subscription = views.shop.subscriptions.get(parse_gid(id, "WebhookSubscription") or -1)
    return views.subscription(subscription) if subscription else None


def resolve_node(root: Any, info: GraphQLResolveInfo, id: str) -> Node | None:
    kind = id.split("/")[3] if id.startswith("gid://shopify/") and id.count("/") >= 4 else ""
    resolvers: dict[str, Callable[..., Node | None]] = {
        "Order": resolve_order,
        "ProductVariant": resolve_product_variant,
        "InventoryItem": resolve_inventory_item,
        "Location": resolve_location,
        "FulfillmentOrder": resolve_fulfillment_order,
        "Return": resolve_return,
        "WebhookSubscription": resolve_webhook_subscription,
    }
    resolver = resolvers.get(kind)
    return resolver(root, info, id=id) if resolver else None


def resolve_nodes(root: Any, info: GraphQLResolveInfo, ids: list[str]) -> list[Node | None]:
    return [resolve_node(root, info, id=value) for value in ids]


def _paging(args: dict[str, Any]) -> dict[str, Any]:
    return {name: args.get(name) for name in ("first", "after", "last", "before")} | {
        "reverse": bool(args.get("reverse"))
    }


QUERY_RESOLVERS: dict[str, Callable[..., Any]] = {
    "shop": resolve_shop,
    "orders": resolve_orders,
    "order": resolve_order,
    "locations": resolve_locations,
    "location": resolve_location,
    "productVariants": resolve_product_variants,
    "productVariant": resolve_product_variant,
    "inventoryItem": resolve_inventory_item,
    "inventoryItems": resolve_inventory_items,
    "fulfillmentOrder": resolve_fulfillment_order,
    "return": resolve_return,
    "webhookSubscriptions": resolve_webhook_subscriptions,
    "webhookSubscription": resolve_webhook_subscription,
    "node": resolve_node,
    "nodes": resolve_nodes,
}


# -- Shopify Payments ------------------------------------------------------------------------------------

BALANCE_SEARCH_FIELDS = ("payments_transfer_id", "payout_status", "processed_at", "payout_date", "id")


def _payments_world(info: GraphQLResolveInfo) -> list[Payout]:
    request = request_context(info)
    states = [(order, request.state(order)) for order in request.shopify.orders(request.shop.domain)]
    return payouts(request.shop, states, request.now)


def _money(amount: Decimal, currency: str) -> Node:
    return {"amount": amount, "currencyCode": currency}


def _payout_node(payout: Payout) -> Node:
    currency = payout.currency
    return {
        "id": gid("ShopifyPaymentsPayout", payout.legacy_id),
        "legacyResourceId": payout.legacy_id,
        "issuedAt": payout.issued_at,
        "net": _money(payout.net, currency),
        "status": payout.status,
        "transactionType": payout.transaction_type,
        "externalTraceId": None,
        "summary": {name: _money(amount, currency) for name, amount in payout.summary().items()},
    }


def _balance_node(transaction: BalanceTransaction, payout: Payout | None) -> Node:
    currency = transaction.currency
    order = transaction.order
    return {
        "id": gid("ShopifyPaymentsBalanceTransaction", transaction.legacy_id),
        "type": transaction.type,
        "test": False,
        "sourceType": transaction.source_type,
        "sourceId": transaction.source_id,
        "sourceOrderTransactionId": transaction.source_order_transaction_id,
        "associatedOrder": {"id": gid("Order", order.legacy_id), "name": order.name} if order else None,
        "associatedPayout": (
            {"id": gid("ShopifyPaymentsPayout", payout.legacy_id), "status": payout.status}
            if payout
            else {"id": None, "status": "PENDING"}
        ),
        "adjustmentReason": transaction.adjustment_reason,
        "amount": _money(transaction.amount, currency),
        "fee": _money(transaction.fee, currency),
        "net": _money(transaction.net, currency),
        "transactionDate": transaction.at,
    }


def _transfer(payout: Payout) -> BalanceTransaction:
    """The payout itself as its account sees it: a TRANSFER of -net (what `hideTransfers` hides)."""
    return BalanceTransaction(
        legacy_id=payout.legacy_id,
        type="TRANSFER",
        source_type="TRANSFER",
        source_id=payout.legacy_id,
        source_order_transaction_id=None,
        order=None,
        at=payout.issued_at,
        currency=payout.currency,
        amount=-payout.net,
    )


def _balance_filter(info: GraphQLResolveInfo, query: str | None) -> Callable[[tuple[Any, Payout | None]], bool]:
    """The balance transactions' search fields the sync uses: payments_transfer_id (the payout's id),
    payout_status, payout_date, processed_at, id."""
    terms, _ = parse_search(query)
    unknown = [term.field for term in terms if term.field not in BALANCE_SEARCH_FIELDS]
    search_warning(info, query or "", unknown)
    timezone = request_context(info).shop.profile.timezone
    known = [term for term in terms if term.field not in unknown]

    def one(term: Any, transaction: BalanceTransaction, payout: Payout | None) -> bool:
        value, op = term.value, term.op
        if term.field == "payments_transfer_id":
            tail = value.rsplit("/", 1)[-1]
            return payout is not None and tail.isdigit() and payout.legacy_id == int(tail)
        if term.field == "payout_status":
            return (payout.status if payout else "PENDING") == value.upper()
        if term.field == "id":
            return compare(transaction.legacy_id, op, int(value.rsplit("/", 1)[-1]))
        moment = parse_search_time(value, timezone)
        if term.field == "processed_at":
            return compare(transaction.at, op, moment)
        return payout is not None and compare(payout.issued_at, op, moment)  # payout_date

    def matches(row: tuple[Any, Payout | None]) -> bool:
        return all(one(term, row[0], row[1]) != term.negated for term in known)

    return matches


def _balance_key(sort_key: str) -> Callable[[tuple[Any, Payout | None]], tuple[Any, int]]:
    def stamp(moment: Any) -> str:
        return str(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))

    if sort_key == "ID":
        return lambda row: by_id(row[0].legacy_id)
    if sort_key in ("AMOUNT", "NET", "FEE"):
        attribute = {"AMOUNT": "amount", "NET": "net", "FEE": "fee"}[sort_key]
        return lambda row: (getattr(row[0], attribute), row[0].legacy_id)
    if sort_key == "TRANSACTION_TYPE":
        return lambda row: (row[0].type, row[0].legacy_id)
    if sort_key == "PAYOUT_DATE":
        return lambda row: (stamp(row[1].issued_at) if row[1] else "9999", row[0].legacy_id)
    return lambda row: (stamp(row[0].at), row[0].legacy_id)  # PROCESSED_AT and the rest


def resolve_shopify_payments_account(root: Any, info: GraphQLResolveInfo) -> Node | None:
    require_scope(
        info,
        "shopifyPaymentsAccount",
        "read_shopify_payments",
        "read_shopify_payments_accounts",
        "read_shopify_payments_payouts",
    )
    request = request_context(info)
    shop = request.shop

    def resolve_payouts(info: GraphQLResolveInfo, **args: Any) -> Node:
        require_scope(info, "payouts", "read_shopify_payments_payouts", "read_shopify_payments")
        wanted = args.get("transactionType")
        items = [payout for payout in _payments_world(info) if wanted in (None, payout.transaction_type)]
        return connection(items, _payout_node, lambda payout: by_id(payout.legacy_id), **_paging(args))

    def resolve_balance(info: GraphQLResolveInfo, **args: Any) -> Node:
        require_scope(info, "balanceTransactions", "read_shopify_payments_payouts", "read_shopify_payments")
        rows: list[tuple[BalanceTransaction, Payout | None]] = []
        paid: set[int] = set()
        for payout in _payments_world(info):
            rows.extend((transaction, payout) for transaction in payout.transactions)
            paid.update(transaction.legacy_id for transaction in payout.transactions)
            if not args.get("hideTransfers"):
                rows.append((_transfer(payout), payout))
        states = [(order, request.state(order)) for order in request.shopify.orders(shop.domain)]
        rows.extend(
            (transaction, None)
            for transaction in balance_transactions(shop, states, request.now)
            if transaction.legacy_id not in paid
        )
        wanted = _balance_filter(info, args.get("query"))
        return connection(
            [row for row in rows if wanted(row)],
            lambda row: _balance_node(*row),
            _balance_key(args.get("sortKey") or "PROCESSED_AT"),
            **_paging(args),
        )

    return {
        "id": gid("ShopifyPaymentsAccount", shop.legacy_id),
        "activated": True,
        "country": shop.profile.country,
        "defaultCurrency": shop.currency,
        "balance": [_money(Decimal(0), shop.currency)],
        "payouts": resolve_payouts,
        "balanceTransactions": resolve_balance,
    }


QUERY_RESOLVERS["shopifyPaymentsAccount"] = resolve_shopify_payments_account
