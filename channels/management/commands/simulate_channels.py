"""`manage.py simulate_channels [--host 127.0.0.1] [--port 8765] [--seed 1] [--faults none|flaky|hostile]`.

Runs the vendor simulator in the foreground until Ctrl-C. Only argument parsing lives here; the
simulator itself is `channels.simulator` and needs no database.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from channels.simulator import SimulatorServer
from channels.simulator.demo import install_demo_sellers
from channels.simulator.faults import PROFILES


class Command(BaseCommand):
    help = "Run the channel simulator (Amazon SP-API, LWA, Seller Central consent) in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--faults", choices=sorted(PROFILES), default="none")
        parser.add_argument("--no-demo-sellers", action="store_true", help="Start without the demo's two sellers")

    def handle(self, *args: Any, **options: Any) -> None:
        simulator = SimulatorServer(
            seed=options["seed"], faults=options["faults"], host=options["host"], port=options["port"]
        )
        world = simulator.world
        if not options["no_demo_sellers"]:
            install_demo_sellers(world)
        simulator.bind()
        self.stdout.write(
            f"Channel simulator listening on {simulator.url} (seed {options['seed']}, faults {options['faults']})"
        )
        self.stdout.write(f"LWA client id:     {world.client_id}")
        self.stdout.write(f"LWA client secret: {world.client_secret}")
        self.stdout.write(f"Application id:    {world.application_id}")
        self.stdout.write("Press Ctrl-C to stop.")
        try:
            simulator.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Simulator stopped.")
