"""The demo's QuickBooks Online company: a fixed app, realm and first refresh token, so `manage.py
connect_quickbooks` can connect it while the simulator runs (the company itself is in memory: after a
restart, connect again)."""

from __future__ import annotations

from simulator.quickbooks.front import QuickBooksContext

DEMO_QUICKBOOKS_CLIENT_ID = "acorn-demo-quickbooks-client"
DEMO_QUICKBOOKS_CLIENT_SECRET = "acorn-demo-quickbooks-secret"  # the simulator's, public by design
DEMO_QUICKBOOKS_REALM = "9130357000000999"
DEMO_QUICKBOOKS_REFRESH_TOKEN = "RT1-acorn-demo-quickbooks"
# Accounts a seller who set QuickBooks up for marketplace bookkeeping would have (names as in A2X's setup).
DEMO_QUICKBOOKS_ACCOUNTS = (
    ("Amazon Sales", "Income"),
    ("Amazon Refunds", "Income"),
    ("Amazon Seller Fees", "Expense"),
    ("Amazon FBA Fees", "Expense"),
    ("Amazon Clearing", "Bank"),
    ("Shopify Sales", "Income"),
    ("Shopify Clearing", "Bank"),
)


def install_demo_quickbooks(context: QuickBooksContext) -> str:
    """Add the demo app and company and accept the demo's first refresh token; returns the realm id."""
    context.add_app(DEMO_QUICKBOOKS_CLIENT_ID, DEMO_QUICKBOOKS_CLIENT_SECRET)
    realm = context.add_company("Demo Trading Co.", home_currency="USD", realm_id=DEMO_QUICKBOOKS_REALM)
    for name, account_type in DEMO_QUICKBOOKS_ACCOUNTS:
        context.add_account(realm, name, account_type)
    context.issue_refresh_token(DEMO_QUICKBOOKS_CLIENT_ID, realm, token=DEMO_QUICKBOOKS_REFRESH_TOKEN)
    return realm
