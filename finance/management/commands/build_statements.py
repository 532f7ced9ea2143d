"""`manage.py build_statements [--store ID] [--month YYYY-MM] [--time-zone ZONE] [--json]`: build WooCommerce
monthly statements now (every WooCommerce site, last month and this month, unless told otherwise)."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.management.base import BaseCommand, CommandError, CommandParser

from acorn.money import quantize_amount
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels.models import Platform, Store, StoreStatus
from finance.settlements.woocommerce import (
    BuildResult,
    StatementMonthError,
    parse_month,
    statement_months_due,
    woocommerce_statement_build,
)


def _summary(store: Store, result: BuildResult) -> dict[str, Any]:
    settlement = result.settlement
    assert settlement is not None
    return {
        "store_id": store.pk,
        "settlement_id": settlement.pk,
        "month": settlement.external_id,
        "currency": settlement.currency,
        "total": str(quantize_amount(settlement.total_amount, settlement.currency)),
        "lines": settlement.line_count,
        "state": settlement.vendor_status,
        "created": result.created,
        "rebuilt": result.rebuilt,
        "balanced": settlement.balanced,
    }


class Command(BaseCommand):
    help = "Build WooCommerce monthly statements from ACORN's orders and refunds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", type=int, default=None, help="One WooCommerce store (default: every one)")
        parser.add_argument("--month", default=None, help="YYYY-MM (default: last month and this month)")
        parser.add_argument("--time-zone", default=None, help="IANA zone months run in (default: TIME_ZONE)")
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        time_zone = options["time_zone"]
        if time_zone:
            try:
                ZoneInfo(time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise CommandError(f"{time_zone!r} is not a time zone (for example Asia/Shanghai).") from None
        try:
            months = [parse_month(options["month"])] if options["month"] else None
        except StatementMonthError as error:
            raise CommandError(str(error)) from None
        with dangerously_unscoped():
            stores = Store.objects.select_related("tenant").filter(platform=Platform.WOOCOMMERCE).order_by("pk")
            if options["store"] is not None:
                stores = Store.objects.select_related("tenant").filter(pk=options["store"])
            else:
                stores = stores.filter(tenant__is_active=True).exclude(status=StoreStatus.PENDING_AUTH)
            chosen = list(stores)
        if options["store"] is not None and not chosen:
            raise CommandError(f"No store with id {options['store']}.")
        statements: list[dict[str, Any]] = []
        for store in chosen:
            if store.platform != Platform.WOOCOMMERCE:
                raise CommandError(f"Store {store.pk} is not a WooCommerce site: its channel has its own statements.")
            with tenant_scope(store.tenant):
                for month in months or statement_months_due(time_zone=time_zone):
                    try:
                        results = woocommerce_statement_build(store=store, month=month, time_zone=time_zone)
                    except StatementMonthError as error:
                        raise CommandError(str(error)) from None
                    statements.extend(_summary(store, result) for result in results if result.settlement)
        if options["json"]:
            self.stdout.write(json.dumps({"statements": statements}))
            return
        for row in statements:
            self.stdout.write(
                "store {store_id} {month}: {total} {currency}, {lines} lines, {state} ({action})".format(
                    **row, action="built" if row["created"] else "rebuilt" if row["rebuilt"] else "kept"
                )
            )
