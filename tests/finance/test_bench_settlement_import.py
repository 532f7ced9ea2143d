"""`manage.py bench settlement_import`: the figures as one JSON object, the whole generated file imported and
balanced, the baseline writing the same rows, and the throwaway tenant gone afterwards. No timing assertions."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from acorn.tenancy.models import Tenant
from benchmarks.support import tenant_owned_row_counts


@pytest.mark.django_db(transaction=True)
def test_bench_settlement_import_imports_the_whole_file_and_leaves_nothing() -> None:
    before = (tenant_owned_row_counts(), get_user_model().objects.count())
    out = StringIO()
    call_command("bench", "settlement_import", "--scale", "3000", "--json", stdout=out)
    result = json.loads(out.getvalue())

    assert result["benchmark"] == "settlement_import" and result["scale"] == 3000
    assert result["service"]["lines"] == 3000 and result["service"]["balanced"] is True
    assert result["service"]["unclassified_lines"] > 0  # the fee type no mapping knows is kept, not dropped
    assert result["baseline_figures"]["lines"] == 3000
    if result["database"] == "sqlite":
        assert result["baseline"] == "executemany INSERT (SQLite has no COPY)"
    else:
        assert result["baseline"].startswith("COPY")
    assert isinstance(result["ratio"], float) and result["ratio"] > 0
    assert result["peak_rss_mb"] > 0 and result["peak_rss_target_mb"] == 300
    assert not Tenant.objects.filter(slug__startswith="bench-").exists()
    assert (tenant_owned_row_counts(), get_user_model().objects.count()) == before
