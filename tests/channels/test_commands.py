"""connect_store and sync_store, the command-line contract, against the simulator."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from simulator.server import SimulatorServer
from tests.channels.test_amazon_e2e import _simulator, _stored, _truth

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000
    settings.ACORN_SYNC_INITIAL_DAYS = 90


def _json(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_connect_store_walks_the_consent_page_then_sync_store_reports_json(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    with _simulator() as sim:
        result = _json(
            "connect_store",
            "--tenant",
            tenant.slug,
            "--platform",
            "amazon",
            "--name",
            "Amazon NA",
            "--endpoint",
            sim.url,
            "--marketplaces",
            "US,CA",
            "--no-sync",
        )
        with tenant_scope(tenant):
            store = Store.objects.get(pk=result["store_id"])
        with tenant_scope(other_tenant):
            assert not Store.objects.exists()  # only the named tenant got it
        assert store.status == "active" and store.seller_id in {s.selling_partner_id for s in sim.world.sellers()}

        summary = _json("sync_store", str(store.pk), "--resource", "orders", "--json")
        assert summary["status"] == "succeeded" and summary["created"] > 0
        assert set(summary) >= {"trace_id", "fetched", "created", "updated", "skipped", "quarantined", "error_code"}
        assert _stored(store) == _truth(sim, store.seller_id)


def test_connect_store_with_given_credentials(tenant: Tenant) -> None:
    with _simulator() as sim:
        seller = sim.world.add_seller("EU", ["UK", "DE"])
        credentials = json.dumps(
            {"refresh_token": seller.refresh_token, "selling_partner_id": seller.selling_partner_id}
        )
        result = _json(
            "connect_store",
            "--tenant",
            tenant.slug,
            "--platform",
            "amazon",
            "--name",
            "Amazon EU",
            "--endpoint",
            sim.url,
            "--marketplaces",
            "UK,DE",
            "--credentials",
            credentials,
            "--no-sync",
        )
        with tenant_scope(tenant):
            assert Store.objects.get(pk=result["store_id"]).region == "EU"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nobody"], "No tenant"),
        (["--marketplaces", "US,DE"], "one region"),
        (["--credentials", "{not json"], "not valid JSON"),
    ],
)
def test_connect_store_errors_are_clear(tenant: Tenant, args: list[str], message: str) -> None:
    base = {"--tenant": tenant.slug, "--marketplaces": "US"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [item for pair in base.items() for item in pair]
    with pytest.raises(CommandError, match=message):
        call_command(
            "connect_store",
            *flat,
            "--platform",
            "amazon",
            "--name",
            "X",
            "--endpoint",
            "http://127.0.0.1:9",
            stdout=StringIO(),
        )
    with tenant_scope(tenant):
        assert not Store.objects.exists()


def test_sync_store_unknown_store_or_resource(tenant: Tenant, sim_store: Store | None = None) -> None:
    with pytest.raises(CommandError, match="No store"):
        call_command("sync_store", "999999", stdout=StringIO())


def test_revoked_store_sync_command_exits_with_error(tenant: Tenant) -> None:
    sim: SimulatorServer
    with _simulator() as sim:
        seller = sim.world.add_seller("NA", ["US"])
        credentials = json.dumps(
            {"refresh_token": seller.refresh_token, "selling_partner_id": seller.selling_partner_id}
        )
        store_id = _json(
            "connect_store",
            "--tenant",
            tenant.slug,
            "--platform",
            "amazon",
            "--name",
            "US",
            "--endpoint",
            sim.url,
            "--credentials",
            credentials,
            "--no-sync",
        )["store_id"]
        sim.world.revoke(seller.selling_partner_id)
        from sp_api.auth import access_token_client

        access_token_client.cache.clear()
        with pytest.raises(CommandError, match="did not succeed"):
            call_command("sync_store", str(store_id), "--json", stdout=StringIO())


def test_connect_store_shopify_by_oauth_and_woocommerce_by_keys(
    tenant: Tenant, other_tenant: Tenant, settings: Any
) -> None:
    with _simulator() as sim:
        settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(sim.tls_cert_path)
        sim.shopify.add_shop("cli-shop.myshopify.com", orders_per_day=5, history_days=20)
        site = sim.woo.add_site("cli-site", orders_per_day=5, history_days=20)
        shop_result = _json(
            "connect_store",
            "--tenant",
            tenant.slug,
            "--platform",
            "shopify",
            "--name",
            "Shopify CLI",
            "--endpoint",
            f"{sim.url}/shopify/cli-shop.myshopify.com",
            "--no-sync",
        )
        woo_args = ["--platform", "woocommerce", "--name", "Woo CLI", "--endpoint", sim.woo.site_url("cli-site")]
        with pytest.raises(CommandError, match="refused the keys"):
            call_command(
                "connect_store",
                "--tenant",
                tenant.slug,
                *woo_args,
                "--credentials",
                json.dumps({"consumer_key": site.consumer_key, "consumer_secret": "cs_wrong"}),
                stdout=StringIO(),
            )
        woo_result = _json(
            "connect_store",
            "--tenant",
            tenant.slug,
            *woo_args,
            "--credentials",
            json.dumps({"consumer_key": site.consumer_key, "consumer_secret": site.consumer_secret}),
            "--no-sync",
        )
        with tenant_scope(tenant):
            shop = Store.objects.get(pk=shop_result["store_id"])
            woo = Store.objects.get(pk=woo_result["store_id"])
            assert shop.credential.secrets["refresh_token"]  # the OAuth code exchange ran, with HMAC checked
        assert (shop.status, shop.seller_id) == ("active", "cli-shop.myshopify.com")
        assert (woo.status, woo.seller_id) == ("active", sim.woo.site_url("cli-site"))
        with tenant_scope(other_tenant):
            assert not Store.objects.exists()
        for store in (shop, woo):
            assert _json("sync_store", str(store.pk), "--resource", "orders", "--json")["status"] == "succeeded"
