"""`manage.py connect_quickbooks --tenant SLUG --endpoint URL --credentials JSON` (DESIGN.md's contract).

Connects the tenant's QuickBooks Online company through the same service as the console
(finance.quickbooks.services.quickbooks_connect): the refresh token is exchanged for tokens (stored
encrypted), the company is read and its accounts are matched to ACORN's by name. `--endpoint` is the API base
(Intuit's https://quickbooks.api.intuit.com, its sandbox host, or a test double such as the simulator's
{url}/quickbooks); ACORN_QUICKBOOKS_API_BASE when omitted.

--credentials is a JSON object with these keys, all strings and all required:
  client_id      the Intuit app's client id (Keys & credentials)
  client_secret  the Intuit app's client secret
  realm_id       the QuickBooks company id (realmId), digits
  refresh_token  a refresh token for that app and company (e.g. from Intuit's OAuth Playground)

Prints `{"connected": true, "realm_id", "company", "unmatched_accounts": [...]}`; exits 1 with a message when
the JSON is malformed or QuickBooks refuses.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from finance.quickbooks.client import QuickBooksError
from finance.quickbooks.services import AppCredentials, quickbooks_connect

CREDENTIAL_KEYS = ("client_id", "client_secret", "realm_id", "refresh_token")


def _credentials(text: str) -> dict[str, str]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise CommandError(f"--credentials is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise CommandError("--credentials must be a JSON object.")
    missing = [key for key in CREDENTIAL_KEYS if not isinstance(value.get(key), str) or not value[key].strip()]
    if missing:
        raise CommandError(f"--credentials is missing {', '.join(missing)} (keys: {', '.join(CREDENTIAL_KEYS)}).")
    return {key: value[key].strip() for key in CREDENTIAL_KEYS}


class Command(BaseCommand):
    help = "Connect a tenant's QuickBooks Online company (client id/secret, realm id and refresh token as JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--endpoint", default="", help="API base URL (default: ACORN_QUICKBOOKS_API_BASE)")
        parser.add_argument(
            "--credentials",
            required=True,
            help='JSON: {"client_id", "client_secret", "realm_id", "refresh_token"}',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        credentials = _credentials(options["credentials"])
        with tenant_scope(tenant):
            try:
                connection = quickbooks_connect(
                    tenant=tenant,
                    actor=None,
                    realm_id=credentials["realm_id"],
                    api_base=options["endpoint"] or None,
                    refresh_token=credentials["refresh_token"],
                    app=AppCredentials(credentials["client_id"], credentials["client_secret"]),
                )
            except QuickBooksError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(
                json.dumps(
                    {
                        "connected": True,
                        "realm_id": connection.realm_id,
                        "company": connection.company_name,
                        "unmatched_accounts": connection.unmatched_accounts,
                    }
                )
            )
