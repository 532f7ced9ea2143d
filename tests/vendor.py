"""Where the tests find the vendors' own example payloads: ``tests/fixtures/vendor/`` inside the repository.

The files are copies of the project's collection of vendor-authored samples (README.md and SOURCES.tsv in that
folder say where each came from), so that a fresh clone runs every test with nothing beside it. A missing file
fails the test that reads it; nothing is skipped.
"""

from __future__ import annotations

from pathlib import Path

VENDOR_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "vendor"
