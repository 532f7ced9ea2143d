"""`manage.py create_tenant --name N --owner-email E --password P [--plan …] [--currency CNY]`."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from acorn.tenancy.models import Plan
from acorn.tenancy.services import tenant_create_with_owner


class Command(BaseCommand):
    help = "Create a tenant and its owner (email verified). Prints {tenant, tenant_id, user_id} as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Company name")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--plan", choices=[p.value for p in Plan], default=Plan.BASIC)
        parser.add_argument("--currency", default="USD", help="Reporting currency (ISO 4217)")
        parser.add_argument("--contact", default="", help="Contact person (defaults to the owner email)")
        parser.add_argument("--phone", default="", help="Phone number")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant, user = tenant_create_with_owner(
                name=options["name"],
                owner_email=options["owner_email"],
                password=options["password"],
                contact_name=options["contact"],
                phone=options["phone"],
                plan=options["plan"],
                reporting_currency=options["currency"].upper(),
            )
        except ValidationError as error:
            details = (
                "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
                if hasattr(error, "error_dict")
                else " ".join(error.messages)
            )
            raise CommandError(f"Cannot create the tenant: {details}") from error
        self.stdout.write(json.dumps({"tenant": tenant.slug, "tenant_id": tenant.pk, "user_id": user.pk}))
