"""The command-line contract: create_tenant and demo."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command

from acorn.console.demo import DEMO_MEMBERS
from acorn.console.management.commands.demo import PUBLISH_FLAG
from acorn.tenancy.models import Membership, Plan, Role, Tenant
from acorn.tenancy.scoping import tenant_scope

pytestmark = pytest.mark.django_db


def _run(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_create_tenant_prints_json_and_creates_a_verified_owner() -> None:
    result = _run(
        "create_tenant",
        "--name",
        "Ningbo Tools",
        "--owner-email",
        "boss@ningbo.example",
        "--password",
        "sturdy-password-42",
        "--plan",
        "pro",
        "--currency",
        "cny",
    )
    tenant = Tenant.objects.get(pk=result["tenant_id"])
    assert result["tenant"] == tenant.slug == "ningbo-tools"
    assert (tenant.plan, tenant.reporting_currency) == (Plan.PRO, "CNY")
    with tenant_scope(tenant):
        membership = Membership.objects.get()
    assert (membership.user_id, membership.role) == (result["user_id"], Role.OWNER)
    assert EmailAddress.objects.get(email="boss@ningbo.example").verified


def test_create_tenant_errors_name_the_field_and_write_nothing() -> None:
    with pytest.raises(CommandError, match="reporting_currency"):
        call_command(
            "create_tenant",
            "--name",
            "X",
            "--owner-email",
            "x@example.com",
            "--password",
            "sturdy-password-42",
            "--currency",
            "QQQ",
        )
    with pytest.raises(CommandError, match="password"):
        call_command("create_tenant", "--name", "X", "--owner-email", "x@example.com", "--password", "short")
    assert not Tenant.objects.exists()


def test_create_tenant_custom_plan_gets_limits() -> None:
    result = _run(
        "create_tenant",
        "--name",
        "Big",
        "--owner-email",
        "big@example.com",
        "--password",
        "sturdy-password-42",
        "--plan",
        "custom",
    )
    tenant = Tenant.objects.get(pk=result["tenant_id"])
    assert tenant.custom_max_users is not None


def test_demo_refuses_with_debug_off_unless_told_it_publishes_a_password() -> None:
    # given production-like settings (DEBUG off): the demo's owner would sign in with a published password
    with pytest.raises(CommandError, match="i-know-this-publishes-a-password"):
        call_command("demo", "--json", stdout=StringIO())
    # then nothing was seeded
    assert not Tenant.objects.exists()


def test_demo_is_idempotent_and_has_one_member_per_role(settings: Any) -> None:
    # with the explicit flag, then with DEBUG on (as `make run`'s local settings have it) and no flag
    first = _run("demo", "--json", PUBLISH_FLAG)
    settings.DEBUG = True
    second = _run("demo", "--json")
    # the simulator's reference rates are stored by the first run only
    assert first.pop("exchange_rates_created") > 0 and second.pop("exchange_rates_created") == 0
    assert first == second
    tenant = Tenant.objects.get(slug="demo-trading-co")
    assert tenant.name == "Demo Trading Co."
    with tenant_scope(tenant):
        roles = sorted(Membership.objects.values_list("role", flat=True))
    assert roles == sorted(role for role, _ in DEMO_MEMBERS)
    assert Tenant.objects.count() == 1
    # two Amazon stores, a Shopify shop and a WooCommerce site on the simulator, with its fixed credentials
    assert [(s["name"], s["status"]) for s in first["stores"]] == [
        ("Amazon NA", "active"),
        ("Amazon EU", "active"),
        ("Shopify Outfitters", "active"),
        ("WooCommerce DE", "active"),
    ]
    from channels.models import Store

    with tenant_scope(tenant):
        assert sorted(Store.objects.values_list("marketplaces", flat=True)) == [
            [],
            [],
            ["UK", "DE", "FR"],
            ["US", "CA", "MX"],
        ]
