"""The demo's simulated sellers: fixed ids and refresh tokens, so `manage.py demo` can connect stores before
the simulator runs and the stores keep working after it restarts (the world itself is in memory)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from simulator.ecb import EcbContext
from simulator.faults import FaultInjector, FaultProfile
from simulator.warehouse import WarehouseContext
from simulator.world import World


@dataclass(frozen=True)
class DemoSeller:
    selling_partner_id: str
    region: str
    marketplaces: tuple[str, ...]
    refresh_token: str
    store_name: str


DEMO_SELLERS = (
    DemoSeller("A1DEMONA0000001", "NA", ("US", "CA", "MX"), "Atzr|acorn-demo-seller-north-america", "Amazon NA"),
    DemoSeller("A1DEMOEU0000001", "EU", ("UK", "DE", "FR"), "Atzr|acorn-demo-seller-europe", "Amazon EU"),
)


def install_demo_sellers(world: World) -> None:
    """Add the demo sellers (with their order history) and accept their fixed refresh tokens."""
    for demo in DEMO_SELLERS:
        world.add_seller(
            demo.region,
            list(demo.marketplaces),
            selling_partner_id=demo.selling_partner_id,
            name=f"Demo Trading Co. ({demo.region})",
        )
        world.auth.register_refresh_token(demo.selling_partner_id, demo.refresh_token)


def demo_channel_skus(seed: int = 1) -> dict[str, list[str]]:
    """The channel SKUs each demo store lists, by the store name `manage.py demo` gives it: read from a
    simulator built in memory with the same seed (nothing is bound or served), so the demo's catalogue and
    mappings match what the running simulator sells."""
    from simulator.server import SimulatorServer
    from simulator.shopify.demo import DEMO_SHOP_DOMAIN, install_demo_shops
    from simulator.woocommerce.demo import install_demo_woo_site

    simulator = SimulatorServer(seed=seed, tls_port=None)
    install_demo_sellers(simulator.world)
    install_demo_shops(simulator.shopify, deliver_webhooks=False)
    site = install_demo_woo_site(simulator.woo)
    skus: dict[str, list[str]] = {}
    for demo in DEMO_SELLERS:
        seller = simulator.world.seller(demo.selling_partner_id)
        skus[demo.store_name] = sorted({listing.sku for listings in seller.listings.values() for listing in listings})
    skus["Shopify Outfitters"] = sorted({variant.sku for variant in simulator.shopify.shop(DEMO_SHOP_DOMAIN).variants})
    skus["WooCommerce DE"] = sorted(  # what is sold: simple products and variations, not variable parents
        {product.sku for product in site.products.values() if product.sku and product.type != "variable"}
    )
    simulator.shopify.close()
    simulator.woo.close()
    return skus


# The demo's overseas warehouse (a third-party warehouse API): a fixed slug and signing secret, so that
# `manage.py demo` can point a fulfilment target at it before the simulator runs.
DEMO_WAREHOUSE_SLUG = "acorn-demo-3pl"
DEMO_WAREHOUSE_SECRET = "acorn-demo-warehouse-signing-secret"  # the simulator's, public by design


def install_demo_warehouse(warehouses: WarehouseContext) -> str:
    """Open the demo's warehouse on the simulator; returns its order endpoint."""
    return warehouses.add_warehouse(DEMO_WAREHOUSE_SLUG, DEMO_WAREHOUSE_SECRET)


def demo_ecb_history_csv(seed: int = 1) -> str:
    """The ECB history file (eurofxref-hist.csv) a simulator with this seed serves now, built in memory, so
    `manage.py demo` can store recent rates before the simulator runs (the rates are the same it serves)."""
    context = EcbContext(
        seed=seed,
        clock=lambda: datetime.now(UTC),
        faults=FaultInjector(FaultProfile(), seed),
        base_url=lambda: "",
    )
    return context.history_csv()
