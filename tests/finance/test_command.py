"""`manage.py import_settlement --store STORE_ID FILE [--json]`: the command-line contract in DESIGN.md."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from finance.models import Settlement
from finance.models import SettlementLine as StoredLine
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "settlements"


@pytest.fixture
def store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, marketplaces=["US"])


def _run(*args: str) -> str:
    out = StringIO()
    call_command("import_settlement", *args, stdout=out)
    return out.getvalue()


def test_json_last_line_is_the_contract_object_and_a_second_run_writes_nothing(tenant: Tenant, store: Store) -> None:
    # when
    first = json.loads(_run("--store", str(store.pk), str(FIXTURES / "us_settlement.tsv"), "--json").splitlines()[-1])
    second = json.loads(_run("--store", str(store.pk), str(FIXTURES / "us_settlement.tsv"), "--json").splitlines()[-1])
    # then
    assert set(first) == {
        "settlement_id", "store_id", "currency", "total", "lines", "created", "categories",
        "matched_orders", "unmatched_orders", "balanced",
    }  # fmt: skip
    assert first["settlement_id"] == "24518730411" and first["store_id"] == store.pk
    assert first["total"] == "-18.80" and first["currency"] == "USD" and first["lines"] == 19
    assert first["created"] is True and first["balanced"] is True
    assert all(isinstance(amount, str) for amount in first["categories"].values())
    assert "112-3456789-0123456" in first["unmatched_orders"] and first["matched_orders"] == 0
    assert second["created"] is False and {**second, "created": True} == first
    with tenant_scope(tenant):
        assert Settlement.objects.count() == 1 and StoredLine.objects.count() == 19


def test_without_json_a_short_summary(store: Store) -> None:
    output = _run("--store", str(store.pk), str(FIXTURES / "us_settlement.tsv"))
    assert output.startswith("Imported settlement 24518730411") and "19 lines" in output


def test_a_malformed_file_exits_1_naming_line_and_column_and_writes_nothing(tenant: Tenant, store: Store) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match=r"line 7, column 15 \(amount\)") as failed:
        call_command("import_settlement", "--store", str(store.pk), str(FIXTURES / "us_settlement_corrupted.tsv"),
                     "--json", stdout=out)  # fmt: skip
    assert failed.value.returncode == 1
    assert json.loads(out.getvalue().splitlines()[-1]) == {
        "error": str(failed.value), "line": 7, "column": "amount"
    }  # fmt: skip
    with tenant_scope(tenant):
        assert not Settlement.objects.exists()


def test_an_unknown_store_exits_non_zero_with_a_clear_message() -> None:
    with pytest.raises(CommandError, match="No store with id 999999") as failed:
        _run("--store", "999999", str(FIXTURES / "us_settlement.tsv"))
    assert failed.value.returncode == 1


def test_the_store_id_decides_the_tenant(tenant: Tenant, other_tenant: Tenant, store: Store) -> None:
    with tenant_scope(other_tenant):
        theirs = StoreFactory(tenant=other_tenant, marketplaces=["US"])
    _run("--store", str(theirs.pk), str(FIXTURES / "us_settlement.tsv"))
    with tenant_scope(tenant):
        assert not Settlement.objects.exists()
    with tenant_scope(other_tenant):
        assert Settlement.objects.get().store_id == theirs.pk
