"""`manage.py simulate_channels [--host] [--port 8765] [--tls-port 8766] [--seed 1] [--faults none|flaky|hostile]`.

Runs the vendor simulator in the foreground until Ctrl-C: Amazon SP-API and Shopify on the plain port,
WooCommerce on the HTTPS port (its CA certificate is written to --tls-dir so that ACORN can verify it).
Only argument parsing lives here; the simulator itself is the top-level `simulator` package of a source
checkout (a development tool, not in the wheel) and needs no database. Where it is not installed, the command
exits 1 saying how to install it (`acorn.devtools.simulator_required`).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from acorn.devtools import simulator_required

_SIMULATOR_PURPOSE = "manage.py simulate_channels"


def _fault_profiles() -> list[str] | None:
    """The simulator's fault profiles, for --faults; None where it is not installed (handle() says so)."""
    try:
        from simulator.faults import PROFILES
    except ModuleNotFoundError:
        return None
    return sorted(PROFILES)


class Command(BaseCommand):
    help = "Run the channel simulator (Amazon SP-API, Shopify, WooCommerce) in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--tls-port", type=int, default=8766, help="HTTPS port (WooCommerce sites)")
        parser.add_argument(
            "--tls-dir",
            default=str(settings.VAR_DIR / "simulator-tls"),
            help="Where the simulator keeps its CA and server certificate (reused across restarts)",
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--faults", choices=_fault_profiles(), default="none")
        parser.add_argument(
            "--no-demo-sellers", action="store_true", help="Start without the demo's sellers, shop and site"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with simulator_required(_SIMULATOR_PURPOSE):
            from simulator import SimulatorServer
            from simulator.demo import DEMO_WAREHOUSE_SLUG, install_demo_sellers, install_demo_warehouse
            from simulator.quickbooks.demo import (
                DEMO_QUICKBOOKS_CLIENT_ID,
                DEMO_QUICKBOOKS_CLIENT_SECRET,
                DEMO_QUICKBOOKS_REFRESH_TOKEN,
                install_demo_quickbooks,
            )
            from simulator.shopify.demo import DEMO_SHOP_DOMAIN, install_demo_shops
            from simulator.woocommerce.demo import DEMO_CONSUMER_KEY, DEMO_SITE_SLUG, install_demo_woo_site
        simulator = SimulatorServer(
            seed=options["seed"],
            faults=options["faults"],
            host=options["host"],
            port=options["port"],
            tls_port=options["tls_port"],
            tls_dir=options["tls_dir"],
        )
        world = simulator.world
        if not options["no_demo_sellers"]:
            install_demo_sellers(world)
            install_demo_shops(simulator.shopify)  # also starts delivering Shopify webhooks
            install_demo_woo_site(simulator.woo)
            simulator.woo.start_delivery_thread()
            install_demo_warehouse(simulator.warehouse)
            simulator.warehouse.start_delivery_thread()  # ships accepted orders and calls ACORN back
            quickbooks_realm = install_demo_quickbooks(simulator.quickbooks)
        simulator.bind()
        self.stdout.write(
            f"Channel simulator listening on {simulator.url} and {simulator.tls_url} "
            f"(seed {options['seed']}, faults {options['faults']})"
        )
        self.stdout.write(f"LWA client id:     {world.client_id}")
        self.stdout.write(f"LWA client secret: {world.client_secret}")
        self.stdout.write(f"Application id:    {world.application_id}")
        self.stdout.write(f"Shopify shop:      {DEMO_SHOP_DOMAIN} (API at {simulator.url}/shopify/{DEMO_SHOP_DOMAIN})")
        if not options["no_demo_sellers"]:
            self.stdout.write(f"Warehouse API:     {simulator.warehouse.url(DEMO_WAREHOUSE_SLUG)}")
            self.stdout.write(f"WooCommerce site:  {simulator.woo.site_url(DEMO_SITE_SLUG)} (key {DEMO_CONSUMER_KEY})")
            quickbooks = {
                "client_id": DEMO_QUICKBOOKS_CLIENT_ID,
                "client_secret": DEMO_QUICKBOOKS_CLIENT_SECRET,
                "realm_id": quickbooks_realm,
                "refresh_token": DEMO_QUICKBOOKS_REFRESH_TOKEN,
            }
            self.stdout.write(
                f"QuickBooks Online: {simulator.quickbooks.endpoint} (connect_quickbooks --credentials "
                f"'{json.dumps(quickbooks)}')"
            )
        self.stdout.write(f"ECB rates:         {simulator.ecb.daily_url} (ACORN_ECB_RATES_URL)")
        self.stdout.write(f"CA certificate:    {simulator.tls_cert_path}")
        self.stdout.write("Press Ctrl-C to stop.")
        try:
            simulator.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Simulator stopped.")
        finally:
            simulator.shopify.close()
            simulator.woo.close()
            simulator.warehouse.close()
