"""The vendor samples the tests read live in the repository, each with its source row, so that a fresh clone
passes with nothing beside it."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from tests.vendor import VENDOR_FIXTURES

TESTS = Path(__file__).resolve().parent
COLUMNS = ["file", "source_repository", "path_in_repo", "commit", "license", "extracted_from", "description"]


def _rows() -> list[dict[str, str]]:
    with (VENDOR_FIXTURES / "SOURCES.tsv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        assert reader.fieldnames == COLUMNS
        return list(reader)


def test_every_vendor_file_has_its_source_row_and_every_row_its_file() -> None:
    # given
    files = {
        path.relative_to(VENDOR_FIXTURES).as_posix()
        for path in VENDOR_FIXTURES.rglob("*")
        if path.is_file() and path.parent != VENDOR_FIXTURES
    }
    rows = _rows()
    # then: one row per file, no row without its file, and every row says where it came from
    listed = [row["file"] for row in rows]
    assert len(listed) == len(set(listed))
    assert set(listed) == files
    for row in rows:
        assert all(row[column].strip() for column in COLUMNS), row["file"]
    assert {path.name for path in VENDOR_FIXTURES.iterdir() if path.is_file()} == {"README.md", "SOURCES.tsv"}


def test_no_test_reads_fixtures_from_outside_the_repository_or_skips_when_they_are_missing() -> None:
    # A sibling checkout (../shared) exists on a developer's machine only; a skip would hide a missing file.
    outside = re.compile(r"""\.\./shared|BASE_DIR\)\.parent|["']shared["']\s*/\s*["']fixtures""")
    skip_if_missing = re.compile(r"skipif\(\s*not\s+[\w.]+\.(exists|is_file|is_dir)\(\)")
    offenders = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if outside.search(line) or skip_if_missing.search(line)
    ]
    assert offenders == []
