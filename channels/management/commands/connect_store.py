"""`manage.py connect_store --tenant SLUG --platform amazon|shopify|woocommerce --name N --endpoint URL
[--marketplaces] [--credentials JSON]`.

Connects a store through the same services as the console: create it, authorise it, queue the first sync.

* amazon: --marketplaces are codes of one selling region (any of the 23 of channels/marketplaces.py; "GB"
  is read as "UK"). --credentials {"refresh_token": …, "selling_partner_id": …} is taken as given; without
  it the command walks the consent page at the endpoint (the simulator's Seller Central) and exchanges the
  code through Login with Amazon, as the console callback does. Either way it then asks Amazon where the
  seller sells (getMarketplaceParticipations) and prints {"store_id", "marketplaces", "participating",
  "not_participating"}, warning on stderr about chosen marketplaces the seller does not sell on.
* shopify: --endpoint is the shop's API base (https://acme.myshopify.com, or the simulator's
  …/shopify/acme.myshopify.com). --credentials {"access_token": …} is a custom app's token (checked
  first); without it the command approves the shop's install page and exchanges the code (HMAC checked).
* woocommerce: --endpoint is the site URL; --credentials {"consumer_key": …, "consumer_secret": …} is
  required and goes through the console's connection test.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from acorn.tenancy.models import Tenant
from acorn.tenancy.plans import PlanLimitExceeded
from acorn.tenancy.scoping import tenant_scope
from channels import services
from channels.adapters import shopify, woocommerce
from channels.adapters.amazon import consent_url, exchange_authorization_code
from channels.adapters.base import ChannelError
from channels.marketplaces import (
    AMAZON_MARKETPLACE_TABLE,
    REGION_MARKETPLACES,
    marketplace_code,
    region_of_marketplaces,
)
from channels.models import DataPermission, Platform, Store
from channels.services_lifecycle import store_complete_amazon_authorization

COMMAND_REDIRECT_URI = "http://127.0.0.1/acorn-cli/amazon/callback"
SHOPIFY_REDIRECT_URI = "http://127.0.0.1/acorn-cli/shopify/callback"


class _FormParser(HTMLParser):
    """The first form of a page: its action, method and the values its inputs would submit."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "get"
        self.fields: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form" and self.action is None:
            self._in_form = True
            self.action, self.method = values.get("action", ""), values.get("method", "get").lower()
        elif tag in {"input", "button"} and self._in_form and values.get("name"):
            if values.get("name") == "deny":
                return
            self.fields.setdefault(values["name"], values.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def _walk_consent(url: str, redirect_uri: str = COMMAND_REDIRECT_URI) -> dict[str, str]:
    """Approve the consent page like a seller would, and return the callback's query parameters."""
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        page = client.get(url)
        if page.status_code != 200:
            raise CommandError(f"The consent page answered {page.status_code}: {url}")
        form = _FormParser()
        form.feed(page.text)
        if form.action is None:
            raise CommandError("The consent page has no form; pass --credentials instead.")
        target = urljoin(str(page.url), form.action or str(page.url))
        answer = (
            client.post(target, data=form.fields) if form.method == "post" else client.get(target, params=form.fields)
        )
        location = answer.headers.get("location", "")
        if answer.status_code not in (301, 302, 303) or not location.startswith(redirect_uri):
            raise CommandError(f"The consent page did not redirect back (HTTP {answer.status_code}).")
        return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


class Command(BaseCommand):
    help = "Connect a store whose API lives at --endpoint through the console's code path. Prints {store_id}."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--platform", required=True, choices=Platform.values)
        parser.add_argument("--name", required=True)
        parser.add_argument("--endpoint", required=True, help="Base URL of the API (the simulator or a test double)")
        parser.add_argument(
            "--marketplaces",
            default="US",
            help=f"Comma-separated marketplace codes of one region, of: {', '.join(AMAZON_MARKETPLACE_TABLE)}",
        )
        parser.add_argument("--permissions", default=",".join(DataPermission.values))
        parser.add_argument(
            "--credentials",
            default="",
            help='JSON: amazon {"refresh_token", "selling_partner_id"}, shopify {"access_token"}, '
            'woocommerce {"consumer_key", "consumer_secret"}',
        )
        parser.add_argument("--no-sync", action="store_true", help="Do not queue the first sync")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        if options["platform"] != Platform.AMAZON:
            store_id = self._connect_shop(tenant, options)
            self.stdout.write(json.dumps({"store_id": store_id}))
            return
        written = [code.strip() for code in options["marketplaces"].split(",") if code.strip()]
        unknown = [code for code in written if not marketplace_code(code)]
        if unknown or not written:
            raise CommandError(
                f"--marketplaces: {', '.join(unknown) or 'none given'} is not an Amazon marketplace code; "
                f"known: {', '.join(AMAZON_MARKETPLACE_TABLE)}."
            )
        marketplaces = list(dict.fromkeys(marketplace_code(code) for code in written))
        region = region_of_marketplaces(marketplaces)
        if region is None:
            regions = "; ".join(f"{name}: {','.join(codes)}" for name, codes in REGION_MARKETPLACES.items())
            raise CommandError(f"--marketplaces {','.join(marketplaces)}: all must belong to one region ({regions}).")
        credentials: dict[str, str] = {}
        if options["credentials"]:
            try:
                credentials = json.loads(options["credentials"])
            except json.JSONDecodeError as error:
                raise CommandError(f"--credentials is not valid JSON: {error}") from None
            if not isinstance(credentials, dict) or not credentials.get("refresh_token"):
                raise CommandError("--credentials needs at least a refresh_token.")
        with tenant_scope(tenant):
            try:
                store = services.store_create(
                    tenant=tenant,
                    actor=None,
                    membership=None,
                    platform=options["platform"],
                    name=options["name"],
                    region=region,
                    marketplaces=marketplaces,
                    permissions=[p.strip() for p in options["permissions"].split(",") if p.strip()],
                    endpoint=options["endpoint"].rstrip("/"),
                )
                self._authorize(store, credentials, queue_sync=not options["no_sync"])
            except PlanLimitExceeded as error:
                raise CommandError(error.message) from None
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from None
            except ChannelError as error:
                raise CommandError(f"Authorisation failed: {error}") from None
            store.refresh_from_db()
            result: dict[str, Any] = {"store_id": store.pk, "marketplaces": store.marketplaces}
            if store.participations_checked_at is not None:
                result["participating"] = store.participating_codes()
                result["not_participating"] = store.marketplaces_not_participating()
        for code in result.get("not_participating", []):
            self.stderr.write(f"Warning: Amazon says the seller does not sell on {code}; ACORN will not read it.")
        self.stdout.write(json.dumps(result))

    def _authorize(self, store: Store, credentials: dict[str, str], *, queue_sync: bool) -> None:
        if not credentials:
            callback = _walk_consent(consent_url(store, state="cli", redirect_uri=COMMAND_REDIRECT_URI))
            if callback.get("error") or not callback.get("spapi_oauth_code"):
                raise CommandError(f"The seller did not authorise: {callback.get('error', 'no code returned')}")
            credentials = {
                "refresh_token": exchange_authorization_code(
                    store, code=callback["spapi_oauth_code"], redirect_uri=COMMAND_REDIRECT_URI
                ),
                "selling_partner_id": callback.get("selling_partner_id", ""),
            }
        seller_id = credentials.pop("selling_partner_id", "") or ""
        refresh_token = credentials.pop("refresh_token")
        if credentials:  # anything else given is kept with the refresh token, as before
            services.store_authorize(
                store=store, actor=None, seller_id=seller_id, secrets=credentials, queue_sync=False
            )
        store_complete_amazon_authorization(
            store=store, actor=None, seller_id=seller_id, refresh_token=refresh_token, queue_sync=queue_sync
        )

    def _connect_shop(self, tenant: Tenant, options: dict[str, Any]) -> int:
        credentials: dict[str, str] = {}
        if options["credentials"]:
            try:
                credentials = json.loads(options["credentials"])
            except json.JSONDecodeError as error:
                raise CommandError(f"--credentials is not valid JSON: {error}") from None
            if not isinstance(credentials, dict):
                raise CommandError("--credentials must be a JSON object.")
        endpoint = options["endpoint"].rstrip("/")
        permissions = [p.strip() for p in options["permissions"].split(",") if p.strip()]
        platform = options["platform"]
        try:
            if platform == Platform.SHOPIFY:
                path_tail = urlsplit(endpoint).path.rsplit("/", 1)[-1]
                shop = shopify.normalize_shop_domain(
                    credentials.get("shop") or (path_tail if path_tail.endswith(".myshopify.com") else endpoint)
                )
                api = "" if endpoint == f"https://{shop}" else endpoint
                seller_id = shop
            else:
                api = seller_id = woocommerce.normalize_site_url(endpoint)
                if not credentials.get("consumer_key") or not credentials.get("consumer_secret"):
                    raise CommandError('woocommerce needs --credentials {"consumer_key": …, "consumer_secret": …}.')
        except ValueError as error:
            raise CommandError(f"--endpoint: {error}") from None
        probe = Store(platform=platform, seller_id=seller_id, endpoint=api)
        try:
            if platform == Platform.WOOCOMMERCE:
                woocommerce.WooCommerceAdapter(store=probe, secrets=credentials).check_connection()
            elif credentials.get("access_token"):
                shopify.ShopifyAdapter(store=probe, secrets=credentials).shop_info()
        except ChannelError as error:
            raise CommandError(f"Connection test failed: {error}") from None
        with tenant_scope(tenant):
            try:
                store = services.store_create(
                    tenant=tenant,
                    actor=None,
                    membership=None,
                    platform=platform,
                    name=options["name"],
                    permissions=permissions,
                    endpoint=api,
                    seller_id=seller_id,
                )
                if platform == Platform.WOOCOMMERCE:
                    services.store_connect_woocommerce(
                        store=store,
                        actor=None,
                        consumer_key=credentials["consumer_key"],
                        consumer_secret=credentials["consumer_secret"],
                        queue_sync=not options["no_sync"],
                    )
                else:
                    secrets = credentials if credentials.get("access_token") else self._shopify_oauth(store)
                    services.store_connect_shopify(
                        store=store, actor=None, secrets=secrets, queue_sync=not options["no_sync"]
                    )
            except PlanLimitExceeded as error:
                raise CommandError(error.message) from None
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from None
            except ChannelError as error:
                raise CommandError(f"Authorisation failed: {error}") from None
        return store.pk

    def _shopify_oauth(self, store: Store) -> dict[str, Any]:
        callback = _walk_consent(
            shopify.authorize_url(store, state="cli", redirect_uri=SHOPIFY_REDIRECT_URI), SHOPIFY_REDIRECT_URI
        )
        if not shopify.query_hmac_valid(callback) or callback.get("shop") != store.seller_id:
            raise CommandError("The shop's answer is not signed correctly or names another shop.")
        return shopify.exchange_authorization_code(store, code=callback.get("code", ""))
