"""`manage.py rotate_credentials`: re-encrypt every store credential with the first FIELD_ENCRYPTION_KEYS key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from acorn.crypto import DecryptionError
from channels.services import credentials_rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt store credentials with the first key of FIELD_ENCRYPTION_KEYS. Rotate by putting the new "
        "key first, keeping the old one after it, running this, then removing the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = credentials_rotate_all()
        except DecryptionError as error:
            raise CommandError(f"{error} Keep the old key in FIELD_ENCRYPTION_KEYS until rotation is done.") from None
        self.stdout.write(f"re-encrypted {count} credential(s)")
