"""Settlement files a seller uploads (console) or an operator imports (`manage.py import_settlement`).

Sellers download older settlement V2 flat files from Seller Central (Amazon keeps them in the API for about
90 days only). A file is read in constant memory whatever its size: gzip is recognised by its magic bytes
(never by the name), the bytes are decoded explicitly line by line, parsed by the one settlement parser
(channels.adapters.amazon.reports.read_settlement_stream) into SettlementLine DTOs, and handed as a generator
to `settlement_import`, which writes them in chunks in ONE transaction. Any error raised while the generator
runs aborts that transaction: nothing of a bad file is kept.

Encoding. SP-API report documents carry their charset, but a file saved from Seller Central does not. We
accept UTF-8 (with or without a byte-order mark) and otherwise the legacy encoding Amazon's flat files use
for the marketplace: Windows-31J (cp932, a superset of Shift_JIS) for Amazon.co.jp, Windows-1252 (a superset
of ISO-8859-1) elsewhere. Sources: python-amazon-sp-api PR #244 ("In Japan, the character code of the report
file was cp932"; the library's default decode is iso-8859-1) and peddler's `Marketplace#encoding` ("We use
the supersets Windows-31J and CP1252 in place of Shift_JIS and ISO 8859-1"). Decoding starts as UTF-8; if a
line is not UTF-8 and nothing before it used a non-ASCII UTF-8 sequence, the file is taken as the legacy
encoding from there on (the lines before were ASCII, the same in all three). A byte sequence that is valid in
neither is refused naming the line and the byte offset.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from django.core.files import File
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.tasks import enqueue_on_commit
from channels.adapters.amazon.reports import ReportFormatError, read_settlement_stream
from channels.adapters.base import SettlementLine as LineRecord
from channels.marketplaces import AMAZON_MARKETPLACE_TABLE, marketplace_by_domain
from channels.models import Platform, Store
from finance.settlements.models import Settlement, SettlementKind, SettlementSource, SettlementUpload
from finance.settlements.selectors import settlement_category_totals, settlement_unmatched_order_ids
from finance.settlements.services import ImportResult, SettlementImportError, settlement_import

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
LEGACY_ENCODING_JP = "cp932"  # Windows-31J
LEGACY_ENCODING = "cp1252"
_READ_SIZE = 1 << 20
MAX_LINE_BYTES = 1 << 20  # a settlement row is a few hundred bytes


def legacy_encoding_for(store: Store) -> str:
    """The non-UTF-8 encoding Amazon's flat files use for the store's marketplaces (see the module docstring)."""
    countries = {
        AMAZON_MARKETPLACE_TABLE[code].country for code in store.marketplaces if code in AMAZON_MARKETPLACE_TABLE
    }
    return LEGACY_ENCODING_JP if "JP" in countries else LEGACY_ENCODING


def _open_binary(file: IO[bytes]) -> IO[bytes]:
    """The file's bytes, un-gzipped when it starts with gzip's magic bytes (whatever its name says)."""
    file.seek(0)
    magic = file.read(2)
    file.seek(0)
    if magic == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=file, mode="rb")  # type: ignore[return-value]
    return file


def _sha256(file: IO[bytes]) -> str:
    """sha256 of the document as received (compressed if it came compressed), read in blocks."""
    file.seek(0)
    digest = hashlib.sha256()
    while block := file.read(_READ_SIZE):
        digest.update(block)
    file.seek(0)
    return digest.hexdigest()


def _raw_lines(binary: IO[bytes]) -> Iterator[bytes]:
    """The byte lines (each with its b"\\n"), split on b"\\n" only, whatever object holds the bytes (Django's
    File iterates on a lone b"\\r" too), read in blocks."""
    pending = b""
    count = 0
    while block := binary.read(_READ_SIZE):
        parts = (pending + block).split(b"\n")
        pending = parts.pop()
        count += len(parts)
        for part in parts:
            yield part + b"\n"
        if len(pending) > MAX_LINE_BYTES:  # no line ends: not a flat file, and memory must stay bounded
            raise SettlementImportError(
                _("Line %(line)d is longer than %(kb)d KB: this is not a settlement flat file.")
                % {"line": count + 1, "kb": MAX_LINE_BYTES // 1024},
                line=count + 1,
            )
    if pending:
        yield pending


def decoded_lines(file: IO[bytes], *, legacy_encoding: str) -> Iterator[str]:
    """The file's text lines (without line ends), decoded as the module docstring says; gzip is undone.

    Raises SettlementImportError naming the line and the byte offset of the first byte that is valid in
    neither UTF-8 nor the legacy encoding.
    """
    binary = _open_binary(file)
    encoding = "utf-8"
    saw_non_ascii = False
    offset = 0
    for number, raw in enumerate(_raw_lines(binary), start=1):
        if number == 1 and raw.startswith(UTF8_BOM):
            raw, offset, saw_non_ascii = raw[len(UTF8_BOM) :], len(UTF8_BOM), True  # a BOM says: UTF-8
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as error:
            if encoding != "utf-8" or saw_non_ascii:
                raise _not_decodable(error, number, offset, encoding, legacy_encoding) from None
            encoding = legacy_encoding  # only ASCII so far: the file is in the marketplace's legacy encoding
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as legacy_error:
                raise _not_decodable(legacy_error, number, offset, encoding, legacy_encoding) from None
        if encoding == "utf-8" and not saw_non_ascii and not raw.isascii():
            saw_non_ascii = True
        offset += len(raw)
        yield text.rstrip("\r\n")


def _not_decodable(
    error: UnicodeDecodeError, line: int, offset: int, encoding: str, legacy_encoding: str
) -> SettlementImportError:
    return SettlementImportError(
        _("Line %(line)d: byte offset %(offset)d is not valid %(encoding)s (the file must be UTF-8 or %(legacy)s).")
        % {
            "line": line,
            "offset": offset + error.start,
            "encoding": _encoding_name(encoding),
            "legacy": _encoding_name(legacy_encoding),
        },
        line=line,
        field_name="encoding",
    )


def _encoding_name(encoding: str) -> str:
    return {"utf-8": "UTF-8", "cp932": "Windows-31J (Shift_JIS)", "cp1252": "Windows-1252"}.get(encoding, encoding)


def _checked_marketplaces(lines: Iterator[LineRecord], *, store: Store, filename: str) -> Iterator[LineRecord]:
    """The lines, refusing the file (whole) at the first line sold on a marketplace the store does not have."""
    allowed = set(store.marketplaces)
    seen: dict[str, str] = {}
    for record in lines:
        name = record.marketplace_name
        if name and allowed:
            code = seen.get(name)
            if code is None:
                found = marketplace_by_domain(name.strip().lower())
                code = seen[name] = found.code if found is not None else ""
            if code and code not in allowed:
                raise SettlementImportError(
                    _(
                        "%(file)s: line %(line)d, column marketplace-name: %(name)s is not a marketplace of the "
                        "store %(store)s (%(codes)s); is this another store's file?"
                    )
                    % {
                        "file": filename,
                        "line": record.line_number,
                        "name": name,
                        "store": store.name,
                        "codes": ", ".join(sorted(allowed)),
                    },
                    line=record.line_number,
                    field_name="marketplace-name",
                )
        yield record


def _store_currencies(store: Store) -> set[str]:
    return {AMAZON_MARKETPLACE_TABLE[code].currency for code in store.marketplaces if code in AMAZON_MARKETPLACE_TABLE}


def settlement_file_import(*, store: Store, file: IO[bytes], filename: str, actor: User | None = None) -> ImportResult:
    """Import one settlement V2 flat file (plain or gzip) into the store, all or nothing; idempotent.

    `file` is a binary, seekable file-like object (an UploadedFile or open(path, "rb")). The same document
    (same sha256) or the same settlement id imported again returns created=False and writes nothing. Raises
    SettlementImportError naming the line and column when the file is malformed, not decodable, or belongs
    to another store (a marketplace or currency the store does not have).
    """
    if store.platform != Platform.AMAZON:
        raise SettlementImportError(
            _("%(store)s is not an Amazon store: settlement files are Amazon's.") % {"store": store.name}
        )
    document_sha256 = _sha256(file)
    same_file = Settlement.objects.filter(store=store, document_sha256=document_sha256).first()
    if same_file is not None:
        return ImportResult(
            settlement=same_file,
            created=False,
            categories=settlement_category_totals(settlement=same_file),
            unmatched_orders=settlement_unmatched_order_ids(settlement=same_file),
        )
    try:
        stream = read_settlement_stream(decoded_lines(file, legacy_encoding=legacy_encoding_for(store)))
    except (OSError, EOFError) as error:  # a truncated or corrupt gzip stream
        raise _damaged(filename, error) from None
    except ReportFormatError as error:
        raise _import_error(error, filename) from None
    currencies = _store_currencies(store)
    if currencies and stream.header.currency not in currencies:
        raise SettlementImportError(
            _(
                "%(file)s: line %(line)d, column currency: the settlement is in %(currency)s but the store "
                "%(store)s sells in %(currencies)s; is this another store's file?"
            )
            % {
                "file": filename,
                "line": stream.summary_line,
                "currency": stream.header.currency,
                "store": store.name,
                "currencies": ", ".join(sorted(currencies)),
            },
            line=stream.summary_line,
            field_name="currency",
        )
    try:
        return settlement_import(
            store=store,
            kind=SettlementKind.AMAZON_SETTLEMENT,
            source=SettlementSource.UPLOAD,
            header=stream.header,
            lines=_checked_marketplaces(stream.lines, store=store, filename=filename),
            source_reference=filename,
            document_sha256=document_sha256,
            actor=actor,
        )
    except ReportFormatError as error:
        raise _import_error(error, filename) from None
    except (OSError, EOFError) as error:
        raise _damaged(filename, error) from None


def _import_error(error: ReportFormatError, filename: str) -> SettlementImportError:
    return SettlementImportError(f"{filename}: {error}", line=error.line, field_name=error.column)


def _damaged(filename: str, error: Exception) -> SettlementImportError:
    return SettlementImportError(
        _("%(file)s: the compressed file is damaged (%(error)s).") % {"file": filename, "error": error}
    )


# --- large uploads, imported by a worker ------------------------------------------------------------------------


def settlement_upload_queue(*, store: Store, file: IO[bytes], filename: str, actor: User | None) -> SettlementUpload:
    """Keep an uploaded settlement file on the shared storage and import it in a worker once this transaction
    commits (finance.import_settlement_upload); the upload's page follows it."""
    if store.platform != Platform.AMAZON:
        raise SettlementImportError(
            _("%(store)s is not an Amazon store: settlement files are Amazon's.") % {"store": store.name}
        )
    upload = SettlementUpload(
        tenant_id=store.tenant_id,
        store=store,
        filename=filename[:255],
        size=getattr(file, "size", 0) or 0,
        uploaded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    upload.document.save(_storage_name(filename), File(file), save=False)
    upload.save()
    enqueue_on_commit("finance.import_settlement_upload", tenant_id=store.tenant_id, upload_id=upload.pk)
    return upload


def _storage_name(filename: str) -> str:
    safe = "".join(char if char.isalnum() or char in "._-" else "-" for char in filename)[-100:]
    return safe or "settlement.txt"


def settlement_upload_run(*, upload: SettlementUpload) -> SettlementUpload:
    """Import a queued upload (from the worker). Safe to run twice: a finished upload is left as it is. The
    stored file is removed once the outcome is recorded; the settlement keeps the file's sha256."""
    if upload.finished:
        return upload
    SettlementUpload.objects.filter(tenant_id=upload.tenant_id, pk=upload.pk).update(
        status=SettlementUpload.Status.RUNNING, started_at=timezone.now()
    )
    try:
        with upload.document.open("rb") as document:
            result = settlement_file_import(
                store=upload.store, file=document, filename=upload.filename, actor=upload.uploaded_by
            )
    except SettlementImportError as error:
        upload.status, upload.error = SettlementUpload.Status.FAILED, str(error)
        upload.error_line, upload.error_column = error.line, error.field_name[:60]
    except FileNotFoundError:
        upload.status = SettlementUpload.Status.FAILED
        upload.error = _("The uploaded file is no longer on the server; upload it again.")
    else:
        upload.status, upload.settlement, upload.created = (
            SettlementUpload.Status.DONE,
            result.settlement,
            result.created,
        )
    upload.finished_at = timezone.now()
    upload.save(update_fields=["status", "error", "error_line", "error_column", "settlement", "created", "finished_at"])
    if upload.document:
        upload.document.delete(save=True)
    return upload
