"""Compile locale/*/LC_MESSAGES/*.po to .mo with Babel, so no GNU gettext is needed (fresh machines, CI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Compile the project's .po catalogues to .mo with Babel (skips ones that are up to date)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Recompile even if the .mo is newer")

    def handle(self, *args: Any, **options: Any) -> None:
        compiled = 0
        for locale_dir in map(Path, settings.LOCALE_PATHS):
            for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
                mo_path = po_path.with_suffix(".mo")
                if not options["force"] and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    continue
                with po_path.open("rb") as po_file:
                    try:
                        catalog = read_po(po_file, abort_invalid=True)
                    except Exception as error:  # Babel raises several parse error types
                        raise CommandError(f"{po_path}: {error}") from error
                errors = [
                    f"{po_path}:{message.lineno}: {problem}"
                    for message, problems in catalog.check()
                    for problem in problems
                ]
                if errors:
                    raise CommandError("Translation errors:\n" + "\n".join(map(str, errors)))
                tmp_path = mo_path.with_suffix(".mo.tmp")
                with tmp_path.open("wb") as mo_file:
                    write_mo(mo_file, catalog, use_fuzzy=False)
                tmp_path.replace(mo_path)
                compiled += 1
                shown = po_path.relative_to(settings.BASE_DIR) if po_path.is_relative_to(settings.BASE_DIR) else po_path
                self.stdout.write(f"compiled {shown}")
        if not compiled:
            self.stdout.write("translations up to date")
