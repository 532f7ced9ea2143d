"""Settlement files uploaded or imported by hand: decoded, streamed, checked against the store, all or nothing."""

from __future__ import annotations

import gzip
import io
from decimal import Decimal
from pathlib import Path

import pytest

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from finance.models import Category, Settlement, SettlementSource
from finance.models import SettlementLine as StoredLine
from finance.settlements import services
from finance.settlements.files import decoded_lines, settlement_file_import
from finance.settlements.services import SettlementImportError
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "settlements"


def _file(name: str) -> io.BytesIO:
    return io.BytesIO((FIXTURES / name).read_bytes())


@pytest.fixture
def us_store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, name="Amazon NA", marketplaces=["US", "CA"])


def test_a_us_file_is_imported_whole_and_balanced(tenant: Tenant, us_store: Store) -> None:
    # given / when
    with tenant_scope(tenant):
        result = settlement_file_import(store=us_store, file=_file("us_settlement.tsv"), filename="us_settlement.tsv")
        # then
        settlement = Settlement.objects.get()
        assert result.created and settlement.source == SettlementSource.UPLOAD
        assert settlement.external_id == "24518730411" and settlement.currency == "USD"
        assert settlement.total_amount == Decimal("-18.80") and settlement.balanced
        assert settlement.line_count == 19 == StoredLine.objects.count()
        assert len(settlement.document_sha256) == 64
        payload = result.as_json()
        assert payload["total"] == "-18.80" and payload["balanced"] is True
        assert payload["categories"]["advertising"] == "-12.34"
        assert payload["categories"]["reserve"] == "-2.00"
        first = StoredLine.objects.order_by("line_number").first()
        assert first is not None and first.line_number == 3 and first.marketplace == "US"


def test_the_same_file_again_writes_nothing_new(tenant: Tenant, us_store: Store) -> None:
    with tenant_scope(tenant):
        settlement_file_import(store=us_store, file=_file("us_settlement.tsv"), filename="us_settlement.tsv")
        # when: the same bytes, and the same settlement gzip-compressed (a different document, same settlement id)
        again = settlement_file_import(store=us_store, file=_file("us_settlement.tsv"), filename="copy.tsv")
        packed = io.BytesIO(gzip.compress((FIXTURES / "us_settlement.tsv").read_bytes()))
        zipped = settlement_file_import(store=us_store, file=packed, filename="settlement.txt")
        # then
        assert not again.created and not zipped.created
        assert Settlement.objects.count() == 1 and StoredLine.objects.count() == 19
        assert again.as_json()["lines"] == 19


def test_a_gzip_file_is_recognised_by_its_magic_bytes_not_its_name(tenant: Tenant, us_store: Store) -> None:
    packed = io.BytesIO(gzip.compress((FIXTURES / "us_settlement.tsv").read_bytes()))
    with tenant_scope(tenant):
        result = settlement_file_import(store=us_store, file=packed, filename="settlement.tsv")
        assert result.created and result.settlement.line_count == 19


def test_a_de_file_with_decimal_commas_day_first_dates_and_windows_1252(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, region="EU", marketplaces=["DE", "FR"])
        result = settlement_file_import(store=store, file=_file("de_settlement.tsv"), filename="de.tsv")
        settlement = result.settlement
        assert settlement.currency == "EUR" and settlement.total_amount == Decimal("875.34") and settlement.balanced
        assert settlement.period_start.day == 1 and settlement.period_start.month == 11
        principal = StoredLine.objects.get(amount_description="Principal", order_external_id="302-1234567-7654321")
        assert principal.amount == Decimal("1020.00") and principal.posted_at is not None
        assert principal.posted_at.month == 11 and principal.posted_at.day == 3
        assert StoredLine.objects.filter(sku="MÜSLISCHALE-WEIß").count() == 3


def test_a_jp_file_in_yen_and_windows_31j(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, region="FE", marketplaces=["JP"])
        result = settlement_file_import(store=store, file=_file("jp_settlement.tsv"), filename="jp.tsv")
        assert result.as_json()["total"] == "-2876" and result.settlement.balanced
        assert StoredLine.objects.filter(sku="マグカップ-青").count() == 4


def test_an_unknown_fee_type_imports_unclassified(tenant: Tenant, us_store: Store) -> None:
    with tenant_scope(tenant):
        result = settlement_file_import(store=us_store, file=_file("us_settlement_unknown_fee.tsv"), filename="u.tsv")
        line = StoredLine.objects.get(amount_description="Low Inventory Level Fee")
        assert line.category == Category.UNCLASSIFIED and result.settlement.unclassified_count == 1
        assert result.as_json()["categories"]["unclassified"] == "-2.17"


def test_a_corrupted_file_is_refused_naming_line_and_column_and_nothing_is_kept(
    tenant: Tenant, us_store: Store
) -> None:
    with tenant_scope(tenant), pytest.raises(SettlementImportError) as refused:
        settlement_file_import(store=us_store, file=_file("us_settlement_corrupted.tsv"), filename="bad.tsv")
    assert refused.value.line == 7 and refused.value.field_name == "amount"
    assert "line 7, column 15 (amount)" in str(refused.value) and "-3,7S" in str(refused.value)
    with tenant_scope(tenant):
        assert not Settlement.objects.exists() and not StoredLine.objects.exists()


def _us_text() -> str:
    return (FIXTURES / "us_settlement.tsv").read_bytes().decode()


def _with_cell(line: int, column: str, value: str) -> bytes:
    """The US fixture with one cell (line number as in the file, column by name) replaced."""
    rows = [row.split("\t") for row in _us_text().split("\r\n")]
    rows[line - 1][rows[0].index(column)] = value
    return "\r\n".join("\t".join(row) for row in rows).encode()


@pytest.mark.parametrize(
    ("line", "column", "value", "position"),
    [
        (9, "posted-date-time", "2026-13-05 09:10:44 UTC", 18),
        (12, "settlement-id", "24518730499", 1),
        (2, "total-amount", "zehn", 5),
        (5, "quantity-purchased", "-1", 23),
    ],
    ids=["bad-date", "settlement-id-changes-mid-file", "bad-total", "negative-quantity"],
)
def test_malformed_files_name_line_and_column_and_keep_nothing(
    tenant: Tenant, us_store: Store, line: int, column: str, value: str, position: int
) -> None:
    with tenant_scope(tenant), pytest.raises(SettlementImportError) as refused:
        settlement_file_import(store=us_store, file=io.BytesIO(_with_cell(line, column, value)), filename="x.tsv")
    assert (refused.value.line, refused.value.field_name) == (line, column)
    assert f"line {line}, column {position} ({column})" in str(refused.value)
    with tenant_scope(tenant):
        assert not Settlement.objects.exists() and not StoredLine.objects.exists()


def test_a_file_missing_a_documented_column_is_refused(tenant: Tenant, us_store: Store) -> None:
    data = _us_text().replace("\tcurrency\t", "\tkurrency\t", 1).encode()
    with tenant_scope(tenant), pytest.raises(SettlementImportError, match="lacks the column") as refused:
        settlement_file_import(store=us_store, file=io.BytesIO(data), filename="x.tsv")
    assert refused.value.line == 1 and "currency" in str(refused.value)


def test_lines_that_do_not_add_up_import_as_unbalanced(tenant: Tenant, us_store: Store) -> None:
    data = _us_text().replace("\t-18.80\tUSD", "\t-18.81\tUSD", 1).encode()
    with tenant_scope(tenant):
        result = settlement_file_import(store=us_store, file=io.BytesIO(data), filename="x.tsv")
        assert result.created and not result.settlement.balanced and result.as_json()["balanced"] is False


def test_another_stores_file_is_refused_by_currency_and_by_marketplace(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        eu_store = StoreFactory(tenant=tenant, region="EU", marketplaces=["DE"])
        with pytest.raises(SettlementImportError, match="another store's file") as by_currency:
            settlement_file_import(store=eu_store, file=_file("us_settlement.tsv"), filename="us.tsv")
        assert by_currency.value.field_name == "currency"
        ca_store = StoreFactory(tenant=tenant, marketplaces=["CA"])
        data = _us_text().replace("\t-18.80\tUSD\t", "\t-18.80\tCAD\t", 1).encode()  # a CAD total, Amazon.com lines
        with pytest.raises(SettlementImportError, match="not a marketplace of the store") as by_marketplace:
            settlement_file_import(store=ca_store, file=io.BytesIO(data), filename="us.tsv")
        assert by_marketplace.value.field_name == "marketplace-name" and by_marketplace.value.line == 3
        assert not Settlement.objects.exists()


def test_a_file_valid_in_neither_encoding_is_refused_with_the_byte_offset() -> None:
    # 0x81 is undefined in Windows-1252 and not UTF-8
    data = b"settlement-id\tcurrency\n" + b"1\tUSD\x81\n"
    with pytest.raises(SettlementImportError, match=r"Line 2: byte offset 28 is not valid Windows-1252"):
        list(decoded_lines(io.BytesIO(data), legacy_encoding="cp1252"))


def test_utf8_with_a_byte_order_mark_and_legacy_after_ascii_lines() -> None:
    assert list(decoded_lines(io.BytesIO("\ufeffa\r\nü\r\n".encode()), legacy_encoding="cp1252")) == ["a", "ü"]
    assert list(decoded_lines(io.BytesIO("a\nü\n".encode("cp1252")), legacy_encoding="cp1252")) == ["a", "ü"]
    with pytest.raises(SettlementImportError, match="Line 3: byte offset 5 is not valid UTF-8"):
        list(decoded_lines(io.BytesIO("ü\n".encode() + b"a\n\xfc\n"), legacy_encoding="cp1252"))


def test_a_truncated_gzip_file_is_refused_and_nothing_is_kept(tenant: Tenant, us_store: Store) -> None:
    packed = gzip.compress((FIXTURES / "us_settlement.tsv").read_bytes())
    with tenant_scope(tenant), pytest.raises(SettlementImportError, match="damaged"):
        settlement_file_import(store=us_store, file=io.BytesIO(packed[: len(packed) // 2]), filename="x.gz")
    with tenant_scope(tenant):
        assert not Settlement.objects.exists()


def test_another_tenants_store_cannot_be_imported_into_from_this_tenants_scope(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    with tenant_scope(other_tenant):
        theirs = StoreFactory(tenant=other_tenant)
    with tenant_scope(tenant):
        assert not Store.objects.filter(pk=theirs.pk).exists()  # a view or command never finds it in this scope


def test_a_file_without_line_ends_is_refused_in_bounded_memory() -> None:
    with pytest.raises(SettlementImportError, match="Line 2 is longer than 1024 KB") as refused:
        list(decoded_lines(io.BytesIO(b"header\n" + b"x" * (3 << 20)), legacy_encoding="cp1252"))
    assert refused.value.line == 2


def test_an_error_after_chunks_were_written_still_leaves_nothing(
    tenant: Tenant, us_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: chunks of 2 lines, so lines 3 to 6 are written before line 7's bad amount is read
    monkeypatch.setattr(services, "CHUNK", 2)
    with tenant_scope(tenant), pytest.raises(SettlementImportError, match="line 7"):
        settlement_file_import(store=us_store, file=_file("us_settlement_corrupted.tsv"), filename="bad.tsv")
    with tenant_scope(tenant):
        assert not Settlement.objects.exists() and not StoredLine.objects.exists()
