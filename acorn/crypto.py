"""Encryption at rest for secrets (store credentials) with MultiFernet.

Keys come from the environment (`FIELD_ENCRYPTION_KEYS`, comma-separated Fernet keys): the first
encrypts, all decrypt, so a key is rotated by prepending a new one and running
`manage.py rotate_credentials`. A value that no key decrypts raises: a wrong key never turns into a
ciphertext sent to a vendor as if it were a token.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class DecryptionError(Exception):
    """No configured key decrypts this value (wrong or retired key, or corrupted data)."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: set at least one Fernet key.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid Fernet key: {error}") from None


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_text(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("No configured FIELD_ENCRYPTION_KEYS key decrypts this value.") from None


def rotate_text(token: str) -> str:
    """Re-encrypt with the first key (what rotation does to each stored value)."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("No configured FIELD_ENCRYPTION_KEYS key decrypts this value.") from None


class EncryptedJSONField(models.TextField):
    """A dict of secrets stored as one Fernet token. Never shown in forms, repr or the admin."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        return json.loads(decrypt_text(value))

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise TypeError("EncryptedJSONField holds a dict of secrets.")
        return encrypt_text(json.dumps(value, sort_keys=True))
