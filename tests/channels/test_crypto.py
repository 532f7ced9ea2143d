"""Secrets at rest: encrypted, rotatable (every encrypted field of every model), and a wrong key raises
instead of leaking ciphertext."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.test import override_settings

from acorn.crypto import DecryptionError, _fernet, encrypted_field_label, encrypted_fields
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels.models import StoreCredential
from finance.quickbooks.models import QuickBooksConnection
from orders.models import FulfillmentTarget
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
SECRET = "Atzr|super-secret-refresh-token"


def _raw(credential: StoreCredential) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM sales_channels_storecredential WHERE id = %s", [credential.pk])
        return str(cursor.fetchone()[0])


@pytest.fixture(autouse=True)
def _fresh_fernet_cache() -> None:
    _fernet.cache_clear()


def test_secrets_are_encrypted_at_rest_and_never_in_repr(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        credential = StoreCredential.objects.create(
            tenant=tenant, store=StoreFactory(tenant=tenant), secrets={"refresh_token": SECRET}
        )
        assert SECRET not in _raw(credential)
        assert StoreCredential.objects.get(pk=credential.pk).secrets == {"refresh_token": SECRET}
    assert SECRET not in repr(credential) and SECRET not in str(credential)


def test_rotation_re_encrypts_with_the_new_key_and_the_old_key_can_go(tenant: Tenant, settings: object) -> None:
    old_key, new_key = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    with tenant_scope(tenant):
        credential = StoreCredential.objects.create(
            tenant=tenant, store=StoreFactory(tenant=tenant), secrets={"refresh_token": SECRET}
        )
    before = _raw(credential)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, old_key]):
        _fernet.cache_clear()
        call_command("rotate_credentials", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _raw(credential) != before
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        _fernet.cache_clear()
        with tenant_scope(tenant):
            assert StoreCredential.objects.get(pk=credential.pk).secrets["refresh_token"] == SECRET


def test_wrong_key_raises_instead_of_returning_ciphertext(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        credential = StoreCredential.objects.create(
            tenant=tenant, store=StoreFactory(tenant=tenant), secrets={"refresh_token": SECRET}
        )
        with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
            _fernet.cache_clear()
            with pytest.raises(DecryptionError):
                StoreCredential.objects.get(pk=credential.pk)


# --- rotation covers every encrypted field of every model ---------------------------------------------------

# One row builder per model with an encrypted field. The registry walk below fails the suite when a model
# gains an encrypted field with no builder here, so every encrypted column is proven rotated end to end.
RowBuilder = Callable[[Tenant, str], models.Model]


def _store_credential(tenant: Tenant, secret: str) -> models.Model:
    store = StoreFactory(tenant=tenant)
    return StoreCredential.objects.create(tenant=tenant, store=store, secrets={"refresh_token": secret})


def _fulfillment_target(tenant: Tenant, secret: str) -> models.Model:
    return FulfillmentTarget.objects.create(
        tenant=tenant,
        name=f"3PL {tenant.pk}",
        kind="https",
        callback_key=f"callback-{tenant.pk}",
        secrets={"signing_secret": secret},
    )


def _quickbooks_connection(tenant: Tenant, secret: str) -> models.Model:
    return QuickBooksConnection.objects.create(
        tenant=tenant, realm_id="9130", api_base="http://127.0.0.1:9/quickbooks", secrets={"refresh_token": secret}
    )


BUILDERS: dict[str, RowBuilder] = {
    "sales_channels.StoreCredential.secrets": _store_credential,
    "orders.FulfillmentTarget.secrets": _fulfillment_target,
    "finance.QuickBooksConnection.secrets": _quickbooks_connection,
}


def _raw_value(row: models.Model, field_name: str) -> str:
    table = connection.ops.quote_name(row._meta.db_table)
    column = connection.ops.quote_name(row._meta.get_field(field_name).column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [row.pk])
        return str(cursor.fetchone()[0])


def _rotate(*options: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("rotate_credentials", "--json", *options, stdout=out)
    return json.loads(out.getvalue())


def test_the_registry_walk_finds_every_encrypted_field_and_each_has_a_rotation_test() -> None:
    found = {encrypted_field_label(model, model_field) for model, model_field in encrypted_fields()}
    # A new encrypted field fails here until BUILDERS creates a row of it for the rotation test below.
    assert found == set(BUILDERS), f"encrypted fields without a rotation test: {sorted(found - set(BUILDERS))}"


def test_rotation_leaves_every_encrypted_field_readable_with_only_the_new_key(
    tenant: Tenant, other_tenant: Tenant, settings: Any
) -> None:
    # given one row of every encrypted field in two tenants, encrypted with the old key
    old_key, new_key = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    rows: dict[str, list[tuple[models.Model, str]]] = {label: [] for label in BUILDERS}
    for owner in (tenant, other_tenant):
        with tenant_scope(owner):
            for label, build in BUILDERS.items():
                secret = f"secret-{owner.pk}-{label}"
                rows[label].append((build(owner, secret), secret))
    before = {(label, row.pk): _raw_value(row, label.rsplit(".", 1)[1]) for label in rows for row, _ in rows[label]}

    # when the new key goes first: a dry run writes nothing, then the rotation rewrites every row
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, old_key]):
        _fernet.cache_clear()
        dry = _rotate("--dry-run", "--batch-size", "1")
        assert {label: counts["rotated"] for label, counts in dry["fields"].items()} == dict.fromkeys(BUILDERS, 2)
        assert all(
            _raw_value(row, label.rsplit(".", 1)[1]) == before[(label, row.pk)]
            for label in rows
            for row, _ in rows[label]
        )
        done = _rotate("--batch-size", "1")  # one row per transaction: the batches add up
        again = _rotate()

    # then each field reports its rows, a second run finds nothing to do, and only the new key is needed
    assert done["dry_run"] is False and done["unreadable"] == 0
    assert {label: (c["rows"], c["rotated"]) for label, c in done["fields"].items()} == dict.fromkeys(BUILDERS, (2, 2))
    assert {label: (c["rotated"], c["current"]) for label, c in again["fields"].items()} == dict.fromkeys(
        BUILDERS, (0, 2)
    )
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        _fernet.cache_clear()
        with dangerously_unscoped():
            for label, built in rows.items():
                field_name = label.rsplit(".", 1)[1]
                for row, secret in built:
                    fresh = type(row)._base_manager.get(pk=row.pk)
                    assert secret in getattr(fresh, field_name).values()
                    assert _raw_value(row, field_name) != before[(label, row.pk)]


def test_rotation_reports_a_value_no_key_decrypts_and_still_rotates_the_rest(tenant: Tenant, settings: Any) -> None:
    # given two credentials, one of them encrypted with a key that is no longer configured
    old_key, lost_key, new_key = (settings.FIELD_ENCRYPTION_KEYS[0], *(Fernet.generate_key().decode() for _ in "ab"))
    with tenant_scope(tenant):
        readable = _store_credential(tenant, "kept")
        with override_settings(FIELD_ENCRYPTION_KEYS=[lost_key]):
            _fernet.cache_clear()
            lost = _store_credential(tenant, "lost")
    # when
    out = io.StringIO()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, old_key]):
        _fernet.cache_clear()
        with pytest.raises(CommandError, match="Keep the old key"):
            call_command("rotate_credentials", "--json", stdout=out)
    # then the summary names the unreadable row, and the readable one was rotated
    counts = json.loads(out.getvalue())["fields"]["sales_channels.StoreCredential.secrets"]
    assert (counts["rotated"], counts["unreadable"]) == (1, [str(lost.pk)])
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        _fernet.cache_clear()
        with tenant_scope(tenant):
            assert StoreCredential.objects.get(pk=readable.pk).secrets == {"refresh_token": "kept"}


def test_rotation_never_overwrites_a_value_a_worker_rewrote_meanwhile(
    tenant: Tenant, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a credential under the old key, and a worker that refreshes the token (writing it with the new
    # first key) between rotation's read of the row and its write
    old_key, new_key = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    with tenant_scope(tenant):
        credential = _store_credential(tenant, "old-refresh-token")
    from acorn import crypto

    real_rotate = crypto.rotate_text

    def rotate_while_a_worker_writes(token: str) -> str:
        with tenant_scope(tenant):
            row = StoreCredential.objects.get(pk=credential.pk)
            row.secrets = {"refresh_token": "new-refresh-token"}
            row.save(update_fields=["secrets"])
        return real_rotate(token)

    monkeypatch.setattr(crypto, "rotate_text", rotate_while_a_worker_writes)
    # when
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, old_key]):
        _fernet.cache_clear()
        counts = _rotate()["fields"]["sales_channels.StoreCredential.secrets"]
    # then the worker's token stands, readable with the new key alone
    assert (counts["rotated"], counts["changed_meanwhile"]) == (0, 1)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        _fernet.cache_clear()
        with tenant_scope(tenant):
            assert StoreCredential.objects.get(pk=credential.pk).secrets == {"refresh_token": "new-refresh-token"}
