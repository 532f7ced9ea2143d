"""Encryption at rest for secrets (store credentials, warehouse signing secrets, accounting tokens) with
MultiFernet.

Keys come from the environment (`FIELD_ENCRYPTION_KEYS`, comma-separated Fernet keys): the first
encrypts, all decrypt, so a key is rotated by prepending a new one and running
`manage.py rotate_credentials`, which re-encrypts every `EncryptedJSONField` of every installed model
(found from the model registry, so a new encrypted field is rotated without being listed anywhere).
A value that no key decrypts raises: a wrong key never turns into a ciphertext sent to a vendor as if
it were a token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models.functions import Cast

from acorn.tenancy.scoping import dangerously_unscoped


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


def _encrypted_with_first_key(token: str) -> bool:
    """Whether the first (encrypting) key alone decrypts `token`: rotation has nothing to do for it."""
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    _fernet(keys)  # the same configuration errors as everywhere else
    try:
        Fernet(keys[0].encode()).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


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


# --- rotation of every encrypted column -------------------------------------------------------------------


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedJSONField]]:
    """Every encrypted column of every installed model, from the model registry (proxies and fields a
    child model inherits from a concrete parent are the parent's column, listed once)."""
    found = [
        (model, model_field)
        for model in apps.get_models()
        if not model._meta.proxy
        for model_field in model._meta.concrete_fields
        if isinstance(model_field, EncryptedJSONField) and model_field.model is model
    ]
    return sorted(found, key=lambda pair: encrypted_field_label(*pair))


def encrypted_field_label(model: type[models.Model], model_field: models.Field[Any, Any]) -> str:
    """ "app_label.Model.field", how rotation names a column in its summary."""
    return f"{model._meta.label}.{model_field.name}"


@dataclass
class FieldRotation:
    """What rotation did to one encrypted column (in a dry run: what it would do)."""

    label: str
    rows: int = 0  # rows holding a value
    rotated: int = 0  # re-encrypted with the first key (dry run: would be)
    current: int = 0  # already encrypted with the first key: left alone
    changed_meanwhile: int = 0  # rewritten by someone else between read and write (so already current)
    unreadable: list[Any] = field(default_factory=list)  # pks of values no configured key decrypts

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "rotated": self.rotated,
            "current": self.current,
            "changed_meanwhile": self.changed_meanwhile,
            "unreadable": [str(pk) for pk in self.unreadable],
        }


def encrypted_field_rotate(
    *, model: type[models.Model], model_field: EncryptedJSONField, batch_size: int = 500, dry_run: bool = False
) -> FieldRotation:
    """Re-encrypt one column's values with the first key, in batches of `batch_size` rows, one transaction
    per batch. Idempotent and resumable: a value the first key already decrypts is left alone, so a second
    run (or one after an interruption) rewrites nothing twice. Each write is conditional on the ciphertext
    read, so a value a worker re-encrypted meanwhile (a refreshed token, with the new first key) is never
    overwritten with an older one. A value no configured key decrypts is reported, not rewritten.

    Works on the raw column (the field would decrypt on read), across every tenant."""
    result = FieldRotation(label=encrypted_field_label(model, model_field))
    ciphertext = Cast(model_field.name, output_field=models.TextField())
    manager = model._base_manager
    last_pk: Any = None
    with dangerously_unscoped():  # rotation is platform maintenance over every tenant's rows
        while True:
            rows = manager.filter(**{f"{model_field.attname}__isnull": False})
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            rows = rows.order_by("pk").annotate(ciphertext=ciphertext)
            batch = list(rows.values_list("pk", "ciphertext")[:batch_size])
            if not batch:
                return result
            last_pk = batch[-1][0]
            with transaction.atomic():
                for pk, token in batch:
                    result.rows += 1
                    if _encrypted_with_first_key(str(token)):
                        result.current += 1
                        continue
                    try:
                        fresh = rotate_text(str(token))
                    except DecryptionError:
                        result.unreadable.append(pk)
                        continue
                    if dry_run:
                        result.rotated += 1
                        continue
                    written = (
                        manager.filter(pk=pk)
                        .alias(ciphertext=ciphertext)
                        .filter(ciphertext=token)
                        .update(**{model_field.attname: models.Value(fresh, output_field=models.TextField())})
                    )
                    result.rotated += written
                    result.changed_meanwhile += 1 - written


def encrypted_fields_rotate(*, batch_size: int = 500, dry_run: bool = False) -> list[FieldRotation]:
    """Re-encrypt every encrypted column of every installed model with the first key (see above)."""
    return [
        encrypted_field_rotate(model=model, model_field=model_field, batch_size=batch_size, dry_run=dry_run)
        for model, model_field in encrypted_fields()
    ]
