"""`manage.py demo`: idempotently seed the demo tenant and print how to sign in.

The demo's owner signs in with a password published in the README, so the command runs only where that is
harmless: with DEBUG on (`make run`, whose local settings default to it) or when the operator says so with
PUBLISH_FLAG."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from acorn.console.demo import DEMO_PASSWORD, demo_seed

PUBLISH_FLAG = "--i-know-this-publishes-a-password"


class Command(BaseCommand):
    help = "Seed the demo tenant 'Demo Trading Co.' (an owner and one member per role). Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the logins as one JSON object")
        parser.add_argument(
            PUBLISH_FLAG,
            action="store_true",
            dest="publish_password",
            help="Seed even with DEBUG off: the demo's logins (an owner among them) share a published password",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not (settings.DEBUG or options["publish_password"]):
            raise CommandError(
                "The demo creates an owner whose password is published in the README; it runs only with "
                f"DEBUG on. To seed it on this deployment anyway, pass {PUBLISH_FLAG}."
            )
        result = demo_seed()
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(f"Demo tenant: {result['tenant']} (id {result['tenant_id']})")
        for login in result["logins"]:
            self.stdout.write(f"  {login['role']:<9} {login['email']}  password: {DEMO_PASSWORD}")
