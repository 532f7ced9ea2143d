"""`manage.py demo`: idempotently seed the demo tenant and print how to sign in."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from acorn.console.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Seed the demo tenant 'Demo Trading Co.' (an owner and one member per role). Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the logins as one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        result = demo_seed()
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(f"Demo tenant: {result['tenant']} (id {result['tenant_id']})")
        for login in result["logins"]:
            self.stdout.write(f"  {login['role']:<9} {login['email']}  password: {DEMO_PASSWORD}")
