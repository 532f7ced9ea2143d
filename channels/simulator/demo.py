"""The demo's simulated sellers: fixed ids and refresh tokens, so `manage.py demo` can connect stores before
the simulator runs and the stores keep working after it restarts (the world itself is in memory)."""

from __future__ import annotations

from dataclasses import dataclass

from channels.simulator.world import World


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
