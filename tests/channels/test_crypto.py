"""Credentials at rest: encrypted, rotatable, and a wrong key raises instead of leaking ciphertext."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from acorn.crypto import DecryptionError, _fernet
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import StoreCredential
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
