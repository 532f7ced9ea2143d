"""The Amazon seller `manage.py bench backfill` syncs from, served by the channel simulator in a child process.

    python -m benchmarks.backfill_simulator --orders 100000 --days 60 --seed 17

builds a `World` on a clock that stands still at the current time, adds one North American seller (US, CA,
MX) with no history of its own and `--orders` orders created over the last `--days` days (up to five
minutes ago), serves it over plain HTTP on 127.0.0.1 (no usage plan, no faults), prints one JSON line —
{"url", "refresh_token", "selling_partner_id", "region", "marketplaces", "skus", "orders"} — and serves until
its standard input is closed (the benchmark closes it when it is done, and so does the benchmark's death).

A process of its own, so that the orders the simulator holds do not count in the peak RSS of the process
that syncs them. It imports the simulator and the standard library only: no Django, no settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta

from simulator.server import SimulatorServer
from simulator.world import ManualClock, World

REGION = "NA"
MARKETPLACES = ("US", "CA", "MX")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    arguments = parser.parse_args(argv)
    world = World(
        arguments.seed,
        ManualClock(datetime.now(UTC)),
        orders_per_day=0,
        live_orders_per_hour=0,
        history_days=0,
        malformed_rate=0,
    )
    seller = world.add_seller(REGION, list(MARKETPLACES), history_days=0, name="Backfill benchmark seller")
    end = world.now() - timedelta(minutes=5)
    world.generate_orders(
        seller.selling_partner_id, arguments.orders, start=end - timedelta(days=arguments.days), end=end
    )
    skus = sorted({listing.sku for listings in seller.listings.values() for listing in listings})
    # rate_scale=0: no usage plan (ACORN's own rate limiter still runs, at ACORN_RATE_LIMIT_SCALE).
    with SimulatorServer(seed=arguments.seed, world=world, tls_port=None, rate_scale=0, max_recorded=100) as sim:
        ready = {
            "url": sim.url,
            "refresh_token": seller.refresh_token,
            "selling_partner_id": seller.selling_partner_id,
            "region": REGION,
            "marketplaces": list(MARKETPLACES),
            "skus": skus,
            "orders": len(world.seller_orders(seller.selling_partner_id)),
        }
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # until the benchmark closes the pipe


if __name__ == "__main__":
    main()
