"""The CSV reader: any CSV files, read with a mapping (docs/csv.md).

The mapping (``csv_mapping.py``) says which files hold which records and which column holds
which field. It comes from ``--mapping MAP.toml`` or, without it, from
``passerelle-mapping.toml`` at the root of the source (which is then how the source is
detected). Several CSV files given one by one (``ingest a.csv b.csv --from csv``) are one
source: a tree of those files only, named from their common folder.

Rows are read one at a time, twice, so memory holds ids and never rows:

1. the first pass learns what the rows define and use: persons (their ids, names and
   e-mail addresses, which references may use), spaces, files, and per item 32 bytes (the
   64-bit key of its id, of its parent's, of its thread root's, its space, its place), from
   which threads are followed, spaces inherited, duplicates found, and the placeholders
   for what rows use but no row defines decided, each at the first row that uses it;
2. the second pass writes, in the order foreign keys need: persons, their placeholders,
   spaces (with their members), the spaces rows imply (placeholders, direct conversations,
   a file's own space), memberships, files, items, their placeholders, reactions,
   revisions, item files, then what is left over. Each mapped file is read in units of
   ``CHUNK_ROWS`` rows; a re-run skips the units done, and everything a unit needs was
   settled by the first pass.

Every row is data or a ``csv.*`` diagnostic at ``<path>#<line>``; the row's text is the
entity's ``raw`` (a JSON string: the text exactly, but for the line break that ends it), or,
in a diagnostic, its bytes as the file holds them. Items are keyed under one conversation (``items``), like
Mastodon statuses, so a reference names its item's id from the item's own id alone.

The ``csv`` module reads lines from an iterator that keeps each line it hands over, so a
record comes with its text and the line it starts on. Decoding never fails: a byte the
file's encoding does not define is carried as a marker (U+DC00 + the byte), so the row's
bytes can be given back exactly, and is read as cp1252 in its values (U+FFFD in UTF-16).
A row whose quote never closes is its first line (reading goes on at the next one); a row
of more than ``MAX_ROW`` characters is set aside whole, its bytes kept as a blob.
"""

from __future__ import annotations

import base64
import codecs
import csv
import functools
import hashlib
import io
import os
import re
import tempfile
import zipfile
import zoneinfo
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import IO, Any, ClassVar

import msgspec

from passerelle.archive.writer import ArchiveWriter
from passerelle.errors import BadInputError
from passerelle.model import ids
from passerelle.model.entities import (
    Body,
    File,
    Item,
    ItemFile,
    ItemKind,
    Membership,
    Person,
    Reaction,
    Reference,
    Revision,
    Space,
    SpaceKind,
    Visibility,
)
from passerelle.progress import Display, Task
from passerelle.readers.base import FormatInfo, Sink
from passerelle.readers.csv_mapping import (
    EMPTY_FIELDS,
    ENUMS,
    FALSE_WORDS,
    ITEM_KIND,
    MAPPING_NAME,
    SPACE_KIND,
    TRUE_WORDS,
    VISIBILITY,
    Constant,
    FileMapping,
    Mapping,
    load_mapping,
    parse_mapping,
)
from passerelle.readers.source_tree import EntryError, SourceTree

PLATFORM = "csv"  # the Source's; entities take the mapping's platform
ITEMS = "items"  # the one conversation every item's id is keyed under
CHUNK_ROWS = 10_000  # rows a unit of work holds
MAX_ROW = 8 << 20  # characters of one row (and of one field: csv.field_size_limit)
MAX_MAPPING_BYTES = 1 << 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_UNITS = {"epoch_s": 1_000_000, "epoch_ms": 1_000, "epoch_us": 1}
_INT64 = 1 << 63  # SQLite's integers: times (microseconds), sizes and positions are any of them
_SPACES = re.compile(r"[ \u00a0\u202f]")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DECODE = msgspec.json.Decoder(tuple[Reference, ...])


def _json(value: Any) -> bytes:
    return msgspec.json.encode(value)


# -- reading an entry record by record --------------------------------------------------------------
_ESCAPE_HANDLER = "passerelle.csv_bytes"
_ESCAPED = re.compile("[\udc00-\udcff]+")
_LINE_ENDS = ("\n", "\r")


def _keep_bytes(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "".join(chr(0xDC00 + b) for b in error.object[error.start : error.end]), error.end


codecs.register_error(_ESCAPE_HANDLER, _keep_bytes)


def codecs_for(head: bytes, encoding: str) -> tuple[str, str]:
    """(the codec to read with, the codec that gives a line's bytes back): a BOM always wins."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "utf-8"
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16", "utf-16-le"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", "utf-16-be"
    if encoding == "utf-16":
        return "utf-16-le", "utf-16-le"  # no BOM: little-endian, as Windows writes it
    if encoding == "utf-8-sig":
        return "utf-8", "utf-8"
    return encoding, encoding


class _TooLarge(Exception):
    pass


@dataclass
class Record:
    """One record of a file: its fields, or why it could not be read (``code``)."""

    line: int  # where it starts, 1-based
    text: str  # its lines exactly (bytes the encoding does not define: as markers)
    fields: list[str] | None
    code: str | None = None  # csv.broken_quoting, csv.too_large
    message: str = ""
    large: IO[bytes] | None = None  # a too-large row's bytes (when asked to keep them)


class CsvEntry:
    """The records of one entry. ``keep_large``: spool a too-large row's bytes (for a blob)."""

    def __init__(self, stream: IO[bytes], fm: FileMapping, *, keep_large: bool = False) -> None:
        peek = getattr(stream, "peek", None)
        head = peek(4)[:4] if peek is not None else b""
        read_codec, self.write_codec = codecs_for(head, fm.encoding)
        self.utf16 = self.write_codec.startswith("utf-16")
        self._text = io.TextIOWrapper(stream, encoding=read_codec, errors=_ESCAPE_HANDLER, newline="")
        self._fm = fm
        self._keep_large = keep_large
        self._pending: deque[str] = deque()  # lines to read again
        self._lines: list[str] = []  # the lines of the record being read
        self._size = 0
        self._large: IO[bytes] | None = None
        self.lines_read = 0

    # the iterator csv reads lines from
    def __iter__(self) -> CsvEntry:
        return self

    def __next__(self) -> str:
        if self._pending:
            line = self._pending.popleft()
        else:
            line = self._text.readline(MAX_ROW + 1)
            if not line:
                raise StopIteration
            if len(line) > MAX_ROW and not line.endswith(_LINE_ENDS):
                self._set_aside(line)
        self.lines_read += 1
        self._lines.append(line)
        self._size += len(line)
        if self._size > MAX_ROW:
            raise _TooLarge
        return line

    def _set_aside(self, start: str) -> None:
        """A line longer than a row may be: read to its end, its bytes spooled if asked."""
        spool = tempfile.SpooledTemporaryFile(max_size=1 << 20) if self._keep_large else None  # noqa: SIM115
        if spool is not None:
            for line in self._lines:
                spool.write(self.original(line))
        piece = start
        while True:
            if spool is not None:
                spool.write(self.original(piece))
            if not piece or piece.endswith(_LINE_ENDS):
                break
            piece = self._text.readline(MAX_ROW)
        self._large = spool
        self.lines_read += 1
        raise _TooLarge

    def records(self) -> Iterator[Record]:
        fm = self._fm
        reader = csv.reader(
            self,
            delimiter=fm.delimiter,
            quotechar=fm.quote or None,
            quoting=csv.QUOTE_MINIMAL if fm.quote else csv.QUOTE_NONE,
            skipinitialspace=fm.skip_initial_space,
            doublequote=True,
            strict=True,
        )
        previous = csv.field_size_limit(MAX_ROW)
        try:
            while True:
                self._lines, self._size, self._large = [], 0, None
                start = self.lines_read + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except _TooLarge:
                    yield self._too_large(start)
                    continue
                except csv.Error as exc:
                    yield self._broken(start, str(exc))
                    continue
                if fields:  # a blank line is not a record
                    yield Record(start, "".join(self._lines), fields)
        finally:
            csv.field_size_limit(previous)

    def _too_large(self, start: int) -> Record:
        if self._large is None and len(self._lines) > 1:
            return self._unclosed(start, f"a quoted field runs on over {MAX_ROW} characters")
        large, text = self._large, "" if self._large is not None else "".join(self._lines)
        if large is None and self._keep_large:
            large = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115
            large.write(self.original(text))
        if large is not None:
            large.seek(0)
        return Record(start, text, None, "csv.too_large", f"the row is over {MAX_ROW} characters", large)

    def _broken(self, start: int, why: str) -> Record:
        unclosed = "unexpected end of data" in why
        if len(self._lines) > 1 and (unclosed or "field larger" in why):
            return self._unclosed(start, "a quote that never closes" if unclosed else why)
        if "field larger" in why:
            return self._too_large(start)
        return Record(start, "".join(self._lines), None, "csv.broken_quoting", why)

    def _unclosed(self, start: int, why: str) -> Record:
        """A quote that does not close: the row is its first line; the next ones are read again."""
        first, rest = self._lines[0], self._lines[1:]
        self._pending.extendleft(reversed(rest))
        self.lines_read -= len(rest)
        return Record(
            start,
            first,
            None,
            "csv.broken_quoting",
            f"{why}: the row is this line alone, the next are read again",
        )

    def original(self, text: str) -> bytes:
        """The bytes the file holds for this text."""
        if not _ESCAPED.search(text):
            return text.encode(self.write_codec)
        parts = []
        at = 0
        for match in _ESCAPED.finditer(text):
            parts.append(text[at : match.start()].encode(self.write_codec))
            parts.append(bytes(ord(c) - 0xDC00 for c in match.group()))
            at = match.end()
        parts.append(text[at:].encode(self.write_codec))
        return b"".join(parts)

    def readable(self, text: str) -> str:
        """The text with the bytes its encoding does not define read as cp1252 (UTF-16: U+FFFD)."""
        return _ESCAPED.sub(self._bytes_as_text, text)

    def _bytes_as_text(self, match: re.Match[str]) -> str:
        if self.utf16:
            return "\ufffd" * len(match.group())
        return "".join(_cp1252(ord(c) - 0xDC00) for c in match.group())

    def close(self) -> None:
        self._text.close()


def _or(value: str | None, default: str) -> str:
    """The value, or the default when there is none (an empty text is a value)."""
    return value if value is not None else default


def _without_line_end(text: str) -> str:
    """A row's text without the line break that ends it (the file's, not the row's)."""
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith(("\n", "\r")) else text


def _cp1252(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return bytes([byte]).decode("latin-1")


# -- a mapped file, its rows and their values ---------------------------------------------------------
class _Refused(Exception):
    """A mapped file the mapping cannot read (a column its header lacks…)."""


@dataclass
class _Bad:
    """A record that is not a row: the diagnostic that keeps it."""

    where: str
    code: str
    message: str
    raw: bytes | None
    large: IO[bytes] | None = None


class _File:
    """One entry read with one ``[[file]]`` of the mapping."""

    def __init__(self, index: int, fm: FileMapping, name: str, mapping: Mapping) -> None:
        self.index = index
        self.fm = fm
        self.name = name
        self.platform = mapping.platform
        self.tz = zoneinfo.ZoneInfo(mapping.timezone)
        self.unit = f"file{index + 1}:{name}"
        self.columns: dict[str, int] = {}  # field -> position in the row
        self.expected: int | None = None  # the number of columns of every row
        self.folded = {
            name: {str(k).strip().casefold(): v for k, v in table.items()}
            for name, table in fm.values.items()
        }
        self.given = set(fm.columns) | set(fm.constants)

    def rows(self, tree: SourceTree, *, keep_large: bool = False) -> Generator[_Row | _Bad, None, None]:
        """Every record after the header: a row, or what keeps a record that is not one."""
        stream = tree.open_entry(self.name)
        entry = CsvEntry(stream, self.fm, keep_large=keep_large)
        try:
            header = self.fm.header
            for record in entry.records():
                where = f"{self.name}#{record.line}"
                if record.code is not None or record.fields is None:
                    if header:
                        raise _Refused(f"its header row ({where}) cannot be read: {record.message}")
                    raw = entry.original(record.text) if record.large is None else None
                    yield _Bad(where, record.code or "csv.broken_quoting", record.message, raw, record.large)
                    continue
                escaped = record.text
                readable = entry.readable(escaped) if _ESCAPED.search(escaped) else None
                fields = record.fields if readable is None else [entry.readable(f) for f in record.fields]
                if header:
                    header = False
                    self.header(fields)
                    if readable is not None:
                        yield _Row(self, entry, fields, where, escaped, readable, is_header=True)
                    continue
                if self.expected is None:
                    self.first_row(fields)
                if len(fields) != self.expected:
                    said = "the header has" if self.fm.header else "the first row has"
                    message = f"{len(fields)} columns where {said} {self.expected}"
                    yield _Bad(where, "csv.column_count", message, entry.original(escaped))
                    continue
                yield _Row(self, entry, fields, where, escaped, readable)
        finally:
            entry.close()

    def header(self, names: list[str]) -> None:
        # Nothing is kept until the whole header is accepted: a refused file stays refused
        # when it is read again (the second pass must not take it as settled).
        columns: dict[str, int] = {}
        stripped = [n.strip() for n in names]
        for name, column in self.fm.columns.items():
            if isinstance(column, int):
                at = column - 1
            elif column in names:
                at = names.index(column)
            elif column.strip() in stripped:
                at = stripped.index(column.strip())
            else:
                shown = ", ".join(repr(n) for n in names)
                raise _Refused(f"column {column!r} ({name}) is not in its header row ({shown})")
            if at >= len(names):
                raise _Refused(f"column {column} ({name}): its header row has {len(names)} columns")
            columns[name] = at
        self.columns.update(columns)
        self.expected = len(names)

    def first_row(self, fields: list[str]) -> None:
        columns: dict[str, int] = {}
        for name, column in self.fm.columns.items():
            assert isinstance(column, int)  # checked with the mapping: no header, numbers only
            if column > len(fields):
                raise _Refused(f"column {column} ({name}): its first row has {len(fields)} columns")
            columns[name] = column - 1
        self.columns.update(columns)
        self.expected = len(fields)

    # -- values --
    def number(self, text: str) -> Decimal:
        s = _SPACES.sub("", text.strip())
        if self.fm.decimal == ",":
            if "." in s:
                raise ValueError("'.' in a number whose decimal separator is ','")
            s = s.replace(",", ".")
        if not _NUMBER.fullmatch(s):
            raise ValueError("not a number")
        return Decimal(s)

    def date(self, text: str) -> int:
        """Microseconds since the epoch; ValueError when the text is not a date of the file's format."""
        fmt, s = self.fm.dates, text.strip()
        if fmt in _EPOCH_UNITS:
            micros = int((self.number(s) * _EPOCH_UNITS[fmt]).to_integral_value(rounding=ROUND_FLOOR))
        else:
            parsed = datetime.fromisoformat(s) if fmt == "iso8601" else datetime.strptime(s, fmt)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=self.tz)
            micros = (parsed - _EPOCH) // timedelta(microseconds=1)
        if not -_INT64 <= micros < _INT64:
            raise ValueError("out of range")
        return micros


class _Row:
    """A row of a mapped file: its values by field, and what reading them said."""

    __slots__ = ("_empty", "entry", "escaped", "fields", "file", "is_header", "notes", "text", "where")

    def __init__(
        self,
        file: _File,
        entry: CsvEntry,
        fields: list[str],
        where: str,
        escaped: str,
        readable: str | None,
        *,
        is_header: bool = False,
    ) -> None:
        self.file = file
        self.entry = entry
        self.fields = fields
        self.where = where
        self.escaped = escaped  # the text, bytes the encoding lacks as markers
        self.text = escaped if readable is None else readable
        self.is_header = is_header
        self.notes: list[tuple[str, str]] = []  # (code, message): what reading the values said
        self._empty: frozenset[str] | None = None

    @property
    def undecoded(self) -> bool:
        return self.text is not self.escaped

    def original(self) -> bytes:
        return self.entry.original(self.escaped)

    def note(self, code: str, message: str) -> None:
        self.notes.append((code, message))

    def has(self, name: str) -> bool:
        return name in self.file.given

    def empty_fields(self) -> frozenset[str]:
        if self._empty is None:
            at = self.file.columns.get(EMPTY_FIELDS)
            cell = self.fields[at] if at is not None else ""
            separator = self.file.fm.lists.get(EMPTY_FIELDS, ",")
            self._empty = frozenset(n.strip() for n in cell.split(separator) if n.strip())
        return self._empty

    def cell(self, name: str) -> Constant | None:
        """The field's value: a constant, or the cell (None when empty), translated by ``values``."""
        if name not in self.file.given:
            return None
        fm = self.file.fm
        if name in fm.constants:
            return fm.constants[name]
        at = self.file.columns.get(name)
        if at is None:
            return None
        value = self.fields[at]
        if value == "" and name not in self.empty_fields():
            return None
        translation = fm.values.get(name)
        if translation is None:
            return value
        if value in translation:
            return translation[value]
        folded = self.file.folded[name].get(value.strip().casefold())
        if folded is not None:
            return folded
        known = ", ".join(repr(k) for k in translation)
        self.note(
            "csv.unknown_value", f"{name}: {value!r} is not one of the mapping's values ({known}); left empty"
        )
        return None

    def text_of(self, name: str) -> str | None:
        value = self.cell(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def ident(self, name: str) -> str | None:
        """An id or a reference: the text without the spaces around it."""
        value = self.text_of(name)
        value = value.strip() if value is not None else None
        return value or None

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.cell(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        self.note(
            "csv.unknown_value",
            f"{name}: {value!r} is not a boolean (true/false, yes/no, 1/0, oui/non, vrai/faux)",
        )
        return default

    def date(self, name: str) -> int | None:
        value = self.cell(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return self.file.date(str(value))
        except (ValueError, ArithmeticError, OverflowError):
            self.note(
                "csv.bad_date",
                f"{name}: {value!r} is not a date of the form {self.file.fm.dates!r}; left empty",
            )
            return None

    def integer(self, name: str) -> int | None:
        value = self.cell(name)
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        try:
            number = self.file.number(str(value))
            if number != number.to_integral_value() or not -_INT64 <= number < _INT64:
                raise ValueError("not a whole number")
            return int(number)
        except (ValueError, ArithmeticError):
            self.note("csv.bad_number", f"{name}: {value!r} is not a whole number; left empty")
            return None

    def enum(self, name: str, kind: str) -> str | None:
        value = self.text_of(name)
        if value is None:
            return None
        if value.strip() in ENUMS[kind]:
            return value.strip()
        known = ", ".join(sorted(ENUMS[kind]))
        self.note("csv.unknown_value", f"{name}: {value!r} is not one of {known}; left to its default")
        return None

    def refs(self, name: str) -> list[str]:
        value = self.text_of(name)
        if value is None:
            return []
        separator = self.file.fm.lists.get(name, ",")
        return [v.strip() for v in value.split(separator) if v.strip()]

    # -- what every record has --
    def native(self) -> str:
        """The source's id of the record: ``native_id``, else ``id``, else its file and line."""
        exact = self.text_of("native_id") if self.has("native_id") else None
        return exact if exact is not None else (self.ident("id") or self.where)

    def key(self) -> str:
        """What makes the row one record: its archive id (the archive's own rows), else its id."""
        archive_id = self.text_of("archive_id")
        return f"\0{archive_id}" if archive_id is not None else self.native()

    def platform(self) -> str:
        platform = self.text_of("platform")
        return platform if platform is not None else self.file.platform

    def raw(self) -> bytes | None:
        """The row's text (a JSON string); the archive's own record when the mapping names ``raw``."""
        if not (self.has("raw") or self.has("raw_base64")):
            return _json(_without_line_end(self.text))
        text = self.text_of("raw")
        if text is not None:
            return text.encode("utf-8")
        encoded = self.text_of("raw_base64")
        if encoded is None:
            return None
        try:
            return base64.b64decode(encoded, validate=True)
        except ValueError:
            self.note("csv.unknown_value", "raw_base64: not base64; the record has no raw")
            return None

    def body(self) -> Body | None:
        source = self.text_of("body") if self.has("body") else self.text_of("body_source")
        fmt = self.text_of("body_format")
        if source is None and not (self.has("body_source") and fmt is not None):
            return None
        source = source or ""
        normalised = self.text_of("body_text") if self.has("body_text") else None
        references: tuple[Reference, ...] = ()
        refs = self.text_of("body_refs")
        if refs:
            try:
                references = _DECODE.decode(refs)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                self.note(
                    "csv.unknown_value", f"body_refs: not the archive's JSON of references ({exc}); left out"
                )
        return Body(
            format=fmt if fmt is not None else "text",
            source=source,
            normalised=normalised if normalised is not None else source,
            references=references,
        )


# -- the mapping in use -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Loaded:
    mapping: Mapping
    text: bytes
    name: str  # the mapping's file name: where its diagnostic is
    inside: bool  # read from the source itself


def _load(tree: SourceTree, path: Path | None) -> _Loaded:
    if path is not None:
        mapping = load_mapping(path)
        return _Loaded(mapping, path.read_bytes(), path.name, False)
    if MAPPING_NAME in tree:
        try:
            data = tree.read_bytes(MAPPING_NAME, MAX_MAPPING_BYTES)
        except EntryError as exc:
            raise BadInputError(f"{tree.path}: {exc}") from None
        return _Loaded(parse_mapping(data, f"{tree.path}: {MAPPING_NAME}"), data, MAPPING_NAME, True)
    raise BadInputError(
        f"{tree.path}: CSV files are read with a mapping: give --mapping MAP.toml (csv guess"
        f" proposes one), or put it in the source as {MAPPING_NAME}"
    )


def fingerprint(tree_sha256: str, mapping: bytes) -> str:
    """A CSV source is its files read with its mapping: another mapping, another source."""
    digest = hashlib.sha256(b"passerelle-csv\0" + tree_sha256.encode() + b"\0")
    digest.update(hashlib.sha256(mapping).digest())
    return digest.hexdigest()


def item_key(platform: str, native: str) -> int:
    """The 64 bits of an item's id that depend on its own id (the rest is the conversation's)."""
    return int(ids.item_id(platform, ITEMS, native)[12:], 16) or 1  # 0 marks "none"


# -- what the first pass learns -----------------------------------------------------------------------
class _Items:
    """Every item row in 32 bytes: its key, its parent's, its thread root's, its space, its place.

    Rows are numbered in reading order (``appearance``); after ``settle`` the arrays are
    sorted by key, one entry per id (a later row with an id already seen is a duplicate)."""

    NONE = 0xFFFFFFFF

    def __init__(self) -> None:
        self.keys = array("Q")
        self.parents = array("Q")
        self.roots = array("Q")  # a given thread root, then the thread root of each (itself: a root)
        self.spaces = array("i")  # >= 0 a space; < 0: the parent's, else the space of file -code-1
        self.order = array("I")  # appearance
        self.count = 0  # item rows seen
        self.at: array[int] = array("I")  # appearance -> position, NONE when not in the map
        self.duplicates: dict[int, int] = {}  # appearance -> the appearance of the first row
        self.cut: set[int] = set()  # positions where a cycle of parents was cut
        self.missing: dict[int, int] = {}  # key no row defines -> the first row using it
        self.placed: dict[int, int] = {}  # a file's own space -> the first row placed there

    def add(self, key: int, parent: int, root: int, space: int) -> None:
        self.keys.append(key)
        self.parents.append(parent)
        self.roots.append(root)
        self.spaces.append(space)
        self.order.append(self.count)

    def find(self, key: int) -> int:
        at = bisect_left(self.keys, key)
        return at if at < len(self.keys) and self.keys[at] == key else -1

    def position(self, appearance: int) -> int:
        return self.at[appearance] if appearance < len(self.at) else self.NONE

    def settle(self, default_space: Callable[[int], int]) -> None:
        sequence = _argsort(self.keys)
        kept = array("I")  # the first row of each id
        for i in sequence:
            if kept and self.keys[kept[-1]] == self.keys[i]:
                self.duplicates[self.order[i]] = self.order[kept[-1]]
            else:
                kept.append(i)
        del sequence
        # One array at a time, so memory holds one copy more of one array only.
        self.keys = array("Q", (self.keys[i] for i in kept))
        self.parents = array("Q", (self.parents[i] for i in kept))
        self.roots = array("Q", (self.roots[i] for i in kept))
        self.spaces = array("i", (self.spaces[i] for i in kept))
        self.order = array("I", (self.order[i] for i in kept))
        del kept
        self.at = array("I", [self.NONE]) * self.count
        for position, appearance in enumerate(self.order):
            self.at[appearance] = position
        for position in self._by_appearance():
            self._space(position, default_space)
            for key in (self.parents[position], self.roots[position]):  # the parent, the root given
                if key and self.find(key) < 0 and key not in self.missing:
                    self.missing[key] = self.order[position]
        for position in self._by_appearance():
            self._root(position)

    def _by_appearance(self) -> Iterator[int]:
        """Positions in reading order."""
        return (p for p in self.at if p != self.NONE)

    def _space(self, position: int, default_space: Callable[[int], int]) -> None:
        """An item without a space of its own is in its parent's, else in its file's."""
        if self.spaces[position] >= 0:
            return
        path = [position]
        seen = {position}
        at = position
        found = -1
        while True:
            parent = self.parents[at]
            at = self.find(parent) if parent else -1
            if at < 0 or at in seen:
                break
            if self.spaces[at] >= 0:
                found = self.spaces[at]
                break
            seen.add(at)
            path.append(at)
        for node in path:
            if found < 0:
                file = -self.spaces[node] - 1
                self.placed[file] = min(self.placed.get(file, self.order[node]), self.order[node])
            self.spaces[node] = found if found >= 0 else default_space(-self.spaces[node] - 1)

    def _root(self, position: int) -> None:
        """The first item of the thread: the root given, else up the parents to one without a
        parent, or to a parent no row defines; a cycle is cut where it is found."""
        if self.roots[position]:
            return
        path: list[int] = []
        on_path: set[int] = set()
        at = position
        while True:
            if self.roots[at]:
                root = self.roots[at]
                break
            parent = self.parents[at]
            if not parent or parent == self.keys[at]:
                root = self.keys[at]
                break
            if at in on_path:
                root = self.keys[at]
                self.cut.add(at)
                break
            on_path.add(at)
            path.append(at)
            up = self.find(parent)
            if up < 0:
                root = parent
                break
            at = up
        self.roots[at] = self.roots[at] or root
        for node in path:
            self.roots[node] = root


@dataclass
class _Scan:
    """What the first pass learns: ids, names, what is used but not defined, and where."""

    platform: str
    persons: dict[str, str] = field(default_factory=dict)  # native -> person id
    person_at: dict[str, str] = field(default_factory=dict)  # native -> the row defining it
    names: dict[str, str] = field(default_factory=dict)  # name -> native
    emails: dict[str, str] = field(default_factory=dict)  # e-mail (casefolded) -> native
    missing_persons: dict[str, str] = field(default_factory=dict)  # native -> first use
    space_at: dict[str, str] = field(default_factory=dict)  # native -> the row defining it
    space_index: dict[str, int] = field(default_factory=dict)  # native -> index
    space_ids: list[str] = field(default_factory=list)
    space_natives: list[str] = field(default_factory=list)
    space_parents: list[tuple[str, str]] = field(default_factory=list)  # (parent native, where)
    missing_spaces: dict[str, str] = field(default_factory=dict)  # native -> first use
    directs: dict[str, tuple[tuple[str, ...], str]] = field(
        default_factory=dict
    )  # native -> (members, where)
    defaults: dict[str, int] = field(default_factory=dict)  # file name -> its space's index
    default_at: dict[str, str] = field(default_factory=dict)  # file name -> first item placed there
    default_files: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # native -> file id
    file_at: dict[str, str] = field(default_factory=dict)
    missing_files: dict[str, str] = field(default_factory=dict)
    consumed: set[str] = field(default_factory=set)  # entries holding file bytes
    file_items: list[tuple[str, str, str]] = field(default_factory=list)  # (item native, where, file name)
    items: _Items = field(default_factory=_Items)
    missing_items: dict[int, tuple[str, str, int]] = field(
        default_factory=dict
    )  # key -> (native, where, space)
    rows: int = 0

    def person(self, ref: str, where: str) -> str:
        """The person id a reference names: by id, else by name, else by e-mail; else a placeholder's."""
        found = self.persons.get(ref)
        if found is not None:
            return found
        native = self.names.get(ref) or self.emails.get(ref.casefold())
        if native is not None:
            return self.persons[native]
        self.missing_persons.setdefault(ref, where)
        return ids.person_id(self.platform, ref)

    def person_of(self, row: _Row, column: str, ref: str | None) -> str | None:
        """A record's person: the archive id its ``column`` holds (a table passerelle wrote),
        else the person ``ref`` names, else none."""
        if row.has(column):
            return row.text_of(column)
        return self.person(ref, row.where) if ref else None

    def person_native(self, ref: str) -> str:
        if ref in self.persons:
            return ref
        return self.names.get(ref) or self.emails.get(ref.casefold()) or ref

    def space(self, ref: str, where: str) -> int:
        at = self.space_index.get(ref)
        if at is None:
            self.missing_spaces.setdefault(ref, where)
            at = self.add_space(ref, ids.space_id(self.platform, ref))
        return at

    def add_space(self, native: str, space_id: str) -> int:
        at = self.space_index[native] = len(self.space_ids)
        self.space_ids.append(space_id)
        self.space_natives.append(native)
        return at

    def default_code(self, name: str) -> int:
        """The negative code of 'the space of this file, unless the parent has one'."""
        if name not in self.default_files:
            self.default_files.append(name)
        return -self.default_files.index(name) - 1

    def default_space(self, file: int) -> int:
        name = self.default_files[file]
        if name not in self.defaults:
            native = f"file:{name}"
            self.defaults[name] = self.space_index.get(native, -1)
            if self.defaults[name] < 0:
                self.defaults[name] = self.add_space(native, ids.space_id(self.platform, native))
        return self.defaults[name]

    def file_id(self, ref: str, where: str) -> str:
        found = self.files.get(ref)
        if found is None:
            self.missing_files.setdefault(ref, where)
            found = ids.file_id(self.platform, ref)
        return found

    def item(self, ref: str, where: str, file: str) -> str:
        """The id of the item a reference names (a placeholder's when no row defines it)."""
        key = item_key(self.platform, ref)
        if self.items.find(key) < 0 and key not in self.missing_items:
            space = self.default_space(-self.default_code(file) - 1)
            self.default_at.setdefault(file, where)
            self.missing_items[key] = (ref, where, space)
        return _item_id(self.platform, key)


def _argsort(keys: array[int]) -> array[int]:
    """The positions of the keys in key order, equal keys in their order: a bucket sort on the
    top bits (keys are hashes, so buckets are even), then each small bucket sorted. 4 bytes
    a key, where sorted(range(n), key=…) takes some 100 transiently."""
    n = len(keys)
    bits = max(4, min(22, n.bit_length() - 2))
    shift = 64 - bits
    starts = array("I", [0]) * ((1 << bits) + 1)
    for key in keys:
        starts[(key >> shift) + 1] += 1
    for bucket in range(1 << bits):
        starts[bucket + 1] += starts[bucket]
    cursor = array("I", starts)
    positions = array("I", [0]) * n
    for i, key in enumerate(keys):
        bucket = key >> shift
        positions[cursor[bucket]] = i
        cursor[bucket] += 1
    del cursor
    for bucket in range(1 << bits):
        start, end = starts[bucket], starts[bucket + 1]
        if end - start > 1:
            positions[start:end] = array("I", sorted(positions[start:end], key=keys.__getitem__))
    return positions


@functools.lru_cache(maxsize=64)
def _item_prefix(platform: str) -> str:
    return ids.item_id(platform, ITEMS, "")[:12]


def _item_id(platform: str, key: int) -> str:
    return _item_prefix(platform) + f"{key:016x}"


# -- the reader ---------------------------------------------------------------------------------------------
_ORDER = ("persons", "spaces", "memberships", "files", "items", "reactions", "revisions", "item_files")
_SCAN_ORDER = ("persons", "spaces", "files", "items", "memberships", "reactions", "revisions", "item_files")


class CsvReader:
    info: ClassVar[FormatInfo] = FormatInfo(
        name="csv",
        platform=PLATFORM,
        description="CSV files read with a mapping (--mapping MAP.toml, or passerelle-mapping.toml"
        " in the source; csv guess proposes one): any encoding, separator and date format",
        keeps=(
            "persons, spaces (kind, visibility, members), memberships, items (posts, comments,"
            " messages; threads by parent), reactions, files with their bytes, revisions, as the"
            " mapping says; each row verbatim as its record's raw",
            "direct conversations (an item's recipients) as private spaces of their people",
            "persons, spaces, items and files used but not defined: placeholders, said where first used",
            "every row that cannot be read (quoting, column count, size) in a diagnostic at its line;"
            " values that do not parse (dates, numbers, booleans, unknown values) said at their line",
            "the archive's own records, read back from its CSV export (exact fields)",
        ),
        cannot_carry=(
            "columns the mapping does not name (kept in each row's raw)",
            "items keyed under one conversation: an item id is unique across the source",
        ),
    )
    version: ClassVar[str] = "1"
    options: ClassVar[tuple[str, ...]] = ("mapping",)

    def __init__(self, mapping: Path | None = None) -> None:
        self.mapping_path = mapping

    @classmethod
    def detect(cls, tree: SourceTree) -> bool:
        return MAPPING_NAME in tree

    @classmethod
    def check(cls, tree: SourceTree, mapping: Path | None = None) -> None:
        """Refuse, before anything is written, a mapping that is wrong or does not fit the files."""
        loaded = _load(tree, mapping)
        for i, (fm, names) in enumerate(_entries(loaded, tree)):
            if not names:
                raise BadInputError(
                    f"{tree.path}: file[{i + 1}].path {fm.path!r} ({fm.entity}) names no file of the source"
                )
            for name in names:
                rows = _File(i, fm, name, loaded.mapping).rows(tree)
                try:
                    next(rows, None)
                except _Refused as exc:
                    raise BadInputError(f"{tree.path}: {name} (file[{i + 1}]): {exc}") from None
                except EntryError:
                    pass  # said by the reader, entry by entry
                finally:
                    rows.close()

    @classmethod
    def open_files(cls, paths: Sequence[Path]) -> SourceTree | None:
        """Several CSV files given one by one are one source: a tree of those files only, named
        from their common folder; None when they are not all plain files (folders, zips)."""
        if len(paths) < 2 or not all(p.is_file() and not zipfile.is_zipfile(p) for p in paths):
            return None
        files = {Path(os.path.abspath(p)) for p in paths}
        root = Path(os.path.commonpath([p.parent for p in files]))
        tree = SourceTree(root)
        for path in sorted(files):
            tree._index.append(path.relative_to(root).as_posix(), path.stat().st_size)
        tree._index = tree._index.sorted(zip_entries=False)
        return tree

    def fingerprint(self, tree: SourceTree) -> tuple[str, int]:
        sha, size = tree.fingerprint()
        return fingerprint(sha, _load(tree, self.mapping_path).text), size

    def read(self, tree: SourceTree, out: ArchiveWriter, display: Display) -> None:
        loaded = _load(tree, self.mapping_path)
        _Reading(tree, loaded, out, display).run()


def _entries(loaded: _Loaded, tree: SourceTree) -> list[tuple[FileMapping, list[str]]]:
    names = [n for n in tree.names() if n != MAPPING_NAME]
    return loaded.mapping.entries(names)


class _Reading:
    def __init__(self, tree: SourceTree, loaded: _Loaded, out: ArchiveWriter, display: Display) -> None:
        self.tree = tree
        self.loaded = loaded
        self.mapping = loaded.mapping
        self.out = out
        self.display = display
        self.platform = loaded.mapping.platform
        self.scan = _Scan(self.platform)
        self.files: dict[str, list[_File]] = {e: [] for e in _ORDER}
        for i, (fm, names) in enumerate(_entries(loaded, tree)):
            self.files[fm.entity] += [_File(i, fm, name, loaded.mapping) for name in names]
        self.mapped = {f.name for files in self.files.values() for f in files}
        self.task: Task | None = None
        self._appearance = 0

    # -- running --
    def run(self) -> None:
        self._first_pass()
        out = self.out
        self.task = self.display.task("CSV rows", total=self.scan.rows)
        if not out.is_done("mapping"):
            message = (
                f"read with the mapping {self.loaded.name} (platform {self.platform!r},"
                f" {len(self.mapping.files)} [[file]] tables); its text is kept in this diagnostic"
            )
            out.diagnose("csv.mapping", self.loaded.name, message, raw=self.loaded.text)
            out.complete("mapping")
        handlers: dict[str, Callable[[_Row, Sink | None], None]] = {
            "persons": self._person,
            "spaces": self._space,
            "memberships": self._membership,
            "files": self._file,
            "items": self._item,
            "reactions": self._reaction,
            "revisions": self._revision,
            "item_files": self._item_file,
        }
        after: dict[str, Callable[[Sink], None]] = {
            "persons": self._person_placeholders,
            "spaces": self._derived_spaces,
            "files": self._file_placeholders,
            "items": self._item_placeholders,
        }
        self._appearance = 0
        for entity in _ORDER:
            for file in self.files[entity]:
                self._emit(file, handlers[entity])
            if entity in after and not out.is_done(f"{entity}:derived"):
                after[entity](out)
                out.complete(f"{entity}:derived")
        if any("item" in f.given for f in self.files["files"]) and not out.is_done("attachments"):
            self._attachments(out)
            out.complete("attachments")
        if not out.is_done("leftovers"):
            self._leftovers(out)
            out.complete("leftovers")

    def _rows(self, file: _File, *, keep_large: bool = False) -> Iterator[_Row | _Bad]:
        """A file's rows; nothing when it cannot be read (the second pass says why)."""
        try:
            yield from file.rows(self.tree, keep_large=keep_large)
        except (EntryError, _Refused):
            return

    def _first_pass(self) -> None:
        scan = self.scan
        scanners: dict[str, Callable[[_Row], None]] = {
            "persons": self._scan_person,
            "spaces": self._scan_space,
            "files": self._scan_file,
            "items": self._scan_item,
            "memberships": self._scan_membership,
            "reactions": self._scan_reaction,
            "revisions": self._scan_revision,
            "item_files": self._scan_item_file,
        }
        task = self.display.task("CSV rows (first pass)")
        for entity in _SCAN_ORDER:
            if entity == "items":
                for parent, where in scan.space_parents:
                    scan.space(parent, where)
            for file in self.files[entity]:
                for row in self._rows(file):
                    scan.rows += 1
                    task.advance()
                    if isinstance(row, _Row) and not row.is_header:
                        scanners[entity](row)
            if entity == "items":
                scan.items.settle(scan.default_space)
                self._missing_parents()
                for native, where, name in scan.file_items:
                    scan.item(native, where, name)

    def _emit(self, file: _File, handler: Callable[[_Row, Sink | None], None]) -> None:
        out = self.out
        chunk, count = 0, 0
        unit = f"{file.unit}#0"
        emitting = not out.is_done(unit)
        try:
            for row in file.rows(self.tree, keep_large=True):
                if count // CHUNK_ROWS != chunk:
                    if emitting:
                        out.complete(unit)
                    chunk = count // CHUNK_ROWS
                    unit = f"{file.unit}#{chunk}"
                    emitting = not out.is_done(unit)
                count += 1
                if self.task is not None:
                    self.task.advance()
                sink = out if emitting else None
                if isinstance(row, _Bad):
                    if sink is not None:
                        self._bad(row, sink)
                elif row.is_header:
                    count -= 1
                    if sink is not None:
                        self._undecoded(row, sink)
                else:
                    handler(row, sink)
        except EntryError as exc:
            if emitting:
                message = f"{exc} (read up to its row {count})"
                out.diagnose(exc.code, file.name, message, dropped="entry")
        except _Refused as exc:
            if emitting:
                out.diagnose("csv.bad_header", file.name, f"{file.name}: {exc}; not read", dropped="entry")
        if count == 0 and emitting:
            out.diagnose("csv.empty_file", file.name, f"{file.name} ({file.fm.entity}) holds no rows")
        if emitting:
            out.complete(unit)

    # -- rows that are not rows --
    def _bad(self, bad: _Bad, out: Sink) -> None:
        if bad.large is not None:
            with bad.large:
                sha, size = out.put_blob(bad.large)
            message = f"{bad.message}; its {size} bytes are kept as blob sha256:{sha}"
            out.diagnose(bad.code, bad.where, message, dropped="row")
            return
        out.diagnose(
            bad.code, bad.where, f"{bad.message}; kept in this diagnostic", dropped="row", raw=bad.raw
        )

    @staticmethod
    def _undecoded(row: _Row, out: Sink) -> None:
        if row.undecoded:
            encoding = row.file.fm.encoding
            message = (
                f"bytes that are not {encoding} were read as"
                f" {'U+FFFD' if row.entry.utf16 else 'cp1252'}; the row's bytes are kept in this diagnostic"
            )
            out.diagnose("csv.undecodable", row.where, message, raw=row.original())

    def _said(self, row: _Row, out: Sink, entity_id: str | None = None) -> None:
        self._undecoded(row, out)
        for code, message in row.notes:
            out.diagnose(code, row.where, message, entity_id=entity_id)

    def _dropped(self, row: _Row, out: Sink, code: str, message: str) -> None:
        self._undecoded(row, out)
        out.diagnose(
            code, row.where, f"{message}; kept in this diagnostic", dropped="row", raw=row.original()
        )

    # -- persons --
    def _scan_person(self, row: _Row) -> None:
        scan, native, key = self.scan, row.native(), row.key()
        if key in scan.person_at:
            return
        scan.person_at[key] = row.where
        scan.persons.setdefault(native, _or(row.text_of("archive_id"), ids.person_id(row.platform(), native)))
        name, email = row.text_of("name"), row.text_of("email")
        if name:
            scan.names.setdefault(name, native)
        if email:
            scan.emails.setdefault(email.strip().casefold(), native)

    def _person(self, row: _Row, out: Sink | None) -> None:
        if out is None:
            return
        native = row.native()
        first = self.scan.person_at.get(row.key())
        if first != row.where:
            self._dropped(row, out, "csv.duplicate_id", f"person {native!r} was defined at {first}")
            return
        person = _or(row.text_of("archive_id"), ids.person_id(row.platform(), native))
        out.add(
            Person(
                id=person,
                platform=row.platform(),
                native_id=native,
                name=row.text_of("name"),
                display_name=row.text_of("display_name"),
                real_name=row.text_of("real_name"),
                email=row.text_of("email"),
                is_bot=row.boolean("is_bot"),
                is_deleted=row.boolean("is_deleted"),
                is_guest=row.boolean("is_guest"),
                is_placeholder=row.boolean("is_placeholder"),
                timezone=row.text_of("timezone"),
                title=row.text_of("title"),
                raw=row.raw(),
                origin=row.where,
            )
        )
        self._said(row, out, person)

    def _person_placeholders(self, out: Sink) -> None:
        for native, where in self.scan.missing_persons.items():
            person = ids.person_id(self.platform, native)
            out.add(
                Person(id=person, platform=self.platform, native_id=native, is_placeholder=True, origin=where)
            )
            message = f"person {native!r} is used but no row defines it; a placeholder person was made"
            out.diagnose("csv.unknown_person", where, message, entity_id=person)

    # -- spaces --
    def _scan_space(self, row: _Row) -> None:
        scan, native, key = self.scan, row.native(), row.key()
        if key in scan.space_at:
            return
        scan.space_at[key] = row.where
        if native not in scan.space_index:
            scan.add_space(native, _or(row.text_of("archive_id"), ids.space_id(row.platform(), native)))
        parent = row.ident("parent")
        if parent:
            scan.space_parents.append((parent, row.where))
        creator = row.ident("creator")
        if creator:
            scan.person(creator, row.where)
        for member in row.refs("members"):
            scan.person(member, row.where)

    def _space(self, row: _Row, out: Sink | None) -> None:
        if out is None:
            return
        scan, native = self.scan, row.native()
        first = scan.space_at.get(row.key())
        if first != row.where:
            self._dropped(row, out, "csv.duplicate_id", f"space {native!r} was defined at {first}")
            return
        space = _or(row.text_of("archive_id"), ids.space_id(row.platform(), native))
        kind = row.enum("kind", SPACE_KIND)
        visibility = row.enum("visibility", VISIBILITY)
        if visibility is None:
            private = kind in (SpaceKind.PRIVATE_CHANNEL, SpaceKind.DIRECT_MESSAGE, SpaceKind.GROUP_MESSAGE)
            visibility = Visibility.PRIVATE if private else Visibility.PUBLIC
        if kind is None:
            kind = SpaceKind.PRIVATE_CHANNEL if visibility == Visibility.PRIVATE else SpaceKind.PUBLIC_CHANNEL
        parent, creator = row.ident("parent"), row.ident("creator")
        out.add(
            Space(
                id=space,
                platform=row.platform(),
                native_id=native,
                kind=SpaceKind(kind),
                visibility=Visibility(visibility),
                name=row.text_of("name"),
                display_name=row.text_of("display_name"),
                topic=row.text_of("topic"),
                purpose=row.text_of("purpose"),
                parent_id=(
                    row.text_of("parent_id")
                    if row.has("parent_id")
                    else scan.space_ids[scan.space_index[parent]]
                    if parent
                    else None
                ),
                created_at=row.date("created_at"),
                creator_id=scan.person_of(row, "creator_id", creator),
                is_archived=row.boolean("is_archived"),
                raw=row.raw(),
                origin=row.where,
            )
        )
        self._said(row, out, space)
        for member in dict.fromkeys(scan.person(m, row.where) for m in row.refs("members")):
            out.add(Membership(space_id=space, person_id=member, origin=row.where))

    def _derived_spaces(self, out: Sink) -> None:
        scan, platform = self.scan, self.platform
        for native, where in scan.missing_spaces.items():
            space = ids.space_id(platform, native)
            out.add(
                Space(
                    id=space,
                    platform=platform,
                    native_id=native,
                    kind=SpaceKind.PRIVATE_CHANNEL,
                    visibility=Visibility.PRIVATE,
                    raw=_json({"placeholder": native, "used_at": where}),
                    origin=where,
                )
            )
            message = f"space {native!r} is used but no row defines it; a private placeholder space was made"
            out.diagnose("csv.unknown_space", where, message, entity_id=space)
        for native, (members, where) in scan.directs.items():
            space = scan.space_ids[scan.space_index[native]]
            out.add(
                Space(
                    id=space,
                    platform=platform,
                    native_id=native,
                    kind=SpaceKind.DIRECT_MESSAGE if len(members) <= 2 else SpaceKind.GROUP_MESSAGE,
                    visibility=Visibility.PRIVATE,
                    raw=_json({"direct": [scan.person_native(m) for m in members]}),
                    origin=where,
                )
            )
            for member in members:
                out.add(Membership(space_id=space, person_id=scan.person(member, where), origin=where))
        for name, at in scan.defaults.items():
            native = scan.space_natives[at]
            if native in scan.space_at:
                continue  # a space a row defines
            where = scan.default_at.get(name, name)
            space = scan.space_ids[at]
            out.add(
                Space(
                    id=space,
                    platform=platform,
                    native_id=native,
                    kind=SpaceKind.PRIVATE_CHANNEL,
                    visibility=Visibility.PRIVATE,
                    name=name,
                    raw=_json({"file": name}),
                    origin=name,
                )
            )
            message = (
                f"items {name} places name no space, no recipients and no parent with a space: they"
                f" are kept in a private space named after the file"
            )
            out.diagnose("csv.no_space", where, message, entity_id=space)

    # -- memberships --
    def _scan_membership(self, row: _Row) -> None:
        space, person = row.ident("space"), row.ident("person")
        if space and not row.has("space_id"):
            self.scan.space(space, row.where)
        if person and not row.has("person_id"):
            self.scan.person(person, row.where)

    def _membership(self, row: _Row, out: Sink | None) -> None:
        if out is None:
            return
        scan = self.scan
        space = row.text_of("space_id") if row.has("space_id") else row.ident("space")
        person = row.text_of("person_id") if row.has("person_id") else row.ident("person")
        if space is None or person is None:
            self._dropped(row, out, "csv.missing_field", "a membership without its space or its person")
            return
        if not row.has("space_id"):
            space = scan.space_ids[scan.space(space, row.where)]
        if not row.has("person_id"):
            person = scan.person(person, row.where)
        out.add(
            Membership(
                space_id=space, person_id=person, role=_or(row.text_of("role"), "member"), origin=row.where
            )
        )
        self._said(row, out)

    # -- files --
    def _scan_file(self, row: _Row) -> None:
        scan, native, key = self.scan, row.native(), row.key()
        if key in scan.file_at:
            return
        scan.file_at[key] = row.where
        scan.files.setdefault(native, _or(row.text_of("archive_id"), ids.file_id(row.platform(), native)))
        author = row.ident("author")
        if author and not row.has("author_id"):
            scan.person(author, row.where)
        entry = self._entry(row)
        if entry is not None:
            scan.consumed.add(entry)
        item = row.ident("item")
        if item:
            scan.file_items.append((item, row.where, row.file.name))

    def _entry(self, row: _Row) -> str | None:
        path = row.text_of("path")
        if path is None:
            return None
        name = path.strip().replace("\\", "/")
        while name.startswith("./"):
            name = name[2:]
        return name if name in self.tree and name != MAPPING_NAME else None

    def _file(self, row: _Row, out: Sink | None) -> None:
        if out is None:
            return
        scan, native = self.scan, row.native()
        first = scan.file_at.get(row.key())
        if first != row.where:
            self._dropped(row, out, "csv.duplicate_id", f"file {native!r} was defined at {first}")
            return
        file = _or(row.text_of("archive_id"), ids.file_id(row.platform(), native))
        entry = self._entry(row)
        sha = size = None
        missing = row.text_of("missing_reason")
        if entry is not None:
            try:
                with self.tree.open_entry(entry) as stream:
                    sha, size = out.put_blob(stream, size=self.tree.size(entry))
            except EntryError as exc:
                out.diagnose(exc.code, entry, str(exc), dropped="entry", entity_id=file)
                missing = missing or f"{entry} could not be read"
        elif missing is None and not row.has("archive_id"):
            path = row.text_of("path")
            missing = f"not in the source: {path}" if path else "the CSV row names no bytes"
            out.diagnose("csv.file_missing", row.where, f"file {native!r}: {missing}", entity_id=file)
        author = row.ident("author")
        path = row.text_of("path")
        out.add(
            File(
                id=file,
                platform=row.platform(),
                native_id=native,
                name=row.text_of("name") if row.has("name") else (path or "").rpartition("/")[2] or None,
                title=row.text_of("title"),
                media_type=row.text_of("media_type"),
                size=row.integer("size") if row.has("size") else size,
                sha256=sha,
                missing_reason=None if sha else missing,
                url=row.text_of("url"),
                author_id=scan.person_of(row, "author_id", author),
                created_at=row.date("created_at"),
                raw=row.raw(),
                origin=row.where,
            )
        )
        self._said(row, out, file)

    def _file_placeholders(self, out: Sink) -> None:
        for native, where in self.scan.missing_files.items():
            file = ids.file_id(self.platform, native)
            out.add(
                File(
                    id=file,
                    platform=self.platform,
                    native_id=native,
                    missing_reason="not in the source: a row names it, no row defines it",
                    raw=_json({"placeholder": native, "used_at": where}),
                    origin=where,
                )
            )
            message = f"file {native!r} is used but no row defines it; a file record without bytes was made"
            out.diagnose("csv.unknown_file", where, message, entity_id=file)

    def _attachments(self, out: Sink) -> None:
        """Files attached to items by the files' own rows (written once the items are)."""
        counts: dict[str, int] = {}
        for file in self.files["files"]:
            for row in self._rows(file):
                if isinstance(row, _Bad) or row.is_header:
                    continue
                item = row.ident("item")
                if not item or self.scan.file_at.get(row.key()) != row.where:
                    continue
                item_id = self.scan.item(item, row.where, file.name)
                position = counts.get(item_id, 0)
                counts[item_id] = position + 1
                file_id = _or(row.text_of("archive_id"), ids.file_id(row.platform(), row.native()))
                out.add(ItemFile(item_id=item_id, file_id=file_id, position=position))

    # -- items --
    def _item_space(self, row: _Row, author: str | None) -> int:
        scan = self.scan
        space = row.ident("space")
        if space:
            return scan.space(space, row.where)
        to = row.refs("to")
        if to:
            members = sorted({scan.person_native(p) for p in ([author] if author else []) + to})
            native = "direct:" + ",".join(members)
            if native not in scan.space_index:
                scan.add_space(native, ids.space_id(self.platform, native))
                scan.directs[native] = (tuple(members), row.where)
            return scan.space_index[native]
        return scan.default_code(row.file.name)

    def _scan_item(self, row: _Row) -> None:
        scan = self.scan
        author = row.ident("author") if not row.has("author_id") else None
        if author:
            scan.person(author, row.where)
        for person in row.refs("to"):
            scan.person(person, row.where)
        for ref in row.refs("attachments"):
            scan.file_id(ref, row.where)
        if row.has("archive_id"):  # the archive's own record: its ids are given
            if not row.has("space_id"):
                self._exact_space(row, author)
            scan.items.count += 1
            return
        native = row.native()
        key = item_key(self.platform, native)
        parent, thread = row.ident("parent"), row.ident("thread")
        parent_key = item_key(self.platform, parent) if parent and parent != native else 0
        thread_key = item_key(self.platform, thread) if thread else 0
        scan.items.add(key, parent_key, thread_key, self._item_space(row, author))
        scan.items.count += 1

    def _missing_parents(self) -> None:
        """The ids of parents and thread roots no row defines, and where they are first used;
        where the first item is that a file's own space holds: the item files read again (only
        when there are such), for those rows alone."""
        items, scan = self.scan.items, self.scan
        placed = {appearance: scan.default_files[file] for file, appearance in items.placed.items()}
        wanted = set(items.missing.values())
        if not wanted and not placed:
            return
        appearance = 0
        for file in self.files["items"]:
            for row in self._rows(file):
                if isinstance(row, _Bad) or row.is_header:
                    continue
                if appearance in placed:
                    scan.default_at.setdefault(placed[appearance], row.where)
                if appearance in wanted:
                    position = items.position(appearance)
                    for ref in (row.ident("parent"), row.ident("thread")):
                        key = item_key(self.platform, ref) if ref else 0
                        if key in items.missing and items.missing[key] == appearance:
                            self.scan.missing_items.setdefault(
                                key, (ref or "", row.where, items.spaces[position])
                            )
                appearance += 1

    def _item(self, row: _Row, out: Sink | None) -> None:
        appearance = self._appearance
        self._appearance += 1
        if out is None:
            return
        scan, items = self.scan, self.scan.items
        native = row.native()
        author = row.ident("author")
        if row.has("archive_id"):
            item = _or(row.text_of("archive_id"), "")
            space = row.text_of("space_id") if row.has("space_id") else None
            if space is None:
                space = scan.space_ids[self._exact_space(row, author)]
            parent = row.text_of("parent_id")
            thread = row.text_of("thread_root_id")
        else:
            if appearance in items.duplicates:
                first = items.duplicates[appearance]
                self._dropped(
                    row,
                    out,
                    "csv.duplicate_id",
                    f"item {native!r} was defined by an earlier row (item row {first + 1})",
                )
                return
            position = items.position(appearance)
            key = items.keys[position]
            item = _item_id(self.platform, key)
            space = scan.space_ids[items.spaces[position]]
            parent = _item_id(self.platform, items.parents[position]) if items.parents[position] else None
            root = items.roots[position]
            thread = None if root == key else _item_id(self.platform, root)
            if position in items.cut:
                message = f"item {native!r} is in a cycle of parents; its thread is cut here (it is a root)"
                out.diagnose("csv.reply_cycle", row.where, message, entity_id=item)
        deleted_at = row.date("deleted_at")
        body = row.body()
        out.add(
            Item(
                id=item,
                platform=row.platform(),
                native_id=native,
                kind=ItemKind(row.enum("kind", ITEM_KIND) or ItemKind.MESSAGE),
                space_id=space,
                subtype=row.text_of("subtype"),
                author_id=scan.person_of(row, "author_id", author),
                created_at=row.date("created_at"),
                created_native=row.text_of("created_native"),
                edited_at=row.date("edited_at"),
                edited_native=row.text_of("edited_native"),
                edited_by_id=row.text_of("edited_by_id"),
                deleted=row.boolean("deleted") if row.has("deleted") else deleted_at is not None,
                deleted_at=deleted_at,
                thread_root_id=thread,
                parent_id=parent,
                also_in_channel=row.boolean("also_in_channel"),
                pinned=row.boolean("pinned"),
                title=row.text_of("title"),
                body=body,
                raw=row.raw(),
                origin=row.where,
            )
        )
        self._said(row, out, item)
        for position, ref in enumerate(row.refs("attachments")):
            out.add(ItemFile(item_id=item, file_id=scan.file_id(ref, row.where), position=position))

    def _exact_space(self, row: _Row, author: str | None) -> int:
        code = self._item_space(row, author)
        if code >= 0:
            return code
        self.scan.default_at.setdefault(row.file.name, row.where)
        return self.scan.default_space(-code - 1)

    def _item_placeholders(self, out: Sink) -> None:
        scan = self.scan
        for key, (native, where, space) in scan.missing_items.items():
            item = _item_id(self.platform, key)
            out.add(
                Item(
                    id=item,
                    platform=self.platform,
                    native_id=native,
                    kind=ItemKind.MESSAGE,
                    space_id=scan.space_ids[space],
                    subtype="placeholder",
                    raw=_json({"placeholder": native, "used_at": where}),
                    origin=where,
                )
            )
            message = f"item {native!r} is used but no row defines it; a placeholder item was made"
            out.diagnose("csv.unknown_item", where, message, entity_id=item)

    # -- reactions, revisions, item files --
    def _scan_reaction(self, row: _Row) -> None:
        item, person = row.ident("item"), row.ident("person")
        if item and not row.has("item_id"):
            self.scan.item(item, row.where, row.file.name)
        if person and not row.has("person_id"):
            self.scan.person(person, row.where)

    def _reference(self, row: _Row, name: str) -> str | None:
        """The archive id a reference field gives: its exact ``<name>_id`` column, else resolved."""
        scan = self.scan
        if row.has(f"{name}_id"):
            return row.text_of(f"{name}_id")
        ref = row.ident(name)
        if not ref:
            return None
        if name == "item":
            return scan.item(ref, row.where, row.file.name)
        if name == "file":
            return scan.file_id(ref, row.where)
        return scan.person(ref, row.where)

    def _reaction(self, row: _Row, out: Sink | None) -> None:
        if out is None:
            return
        item, person, emoji = (
            self._reference(row, "item"),
            self._reference(row, "person"),
            row.text_of("emoji"),
        )
        if item is None or person is None or emoji is None:
            self._dropped(
                row, out, "csv.missing_field", "a reaction without its item, its person or its emoji"
            )
            return
        out.add(Reaction(item_id=item, person_id=person, emoji=emoji, created_at=row.date("created_at")))
        self._said(row, out)

    def _scan_revision(self, row: _Row) -> None:
        self._scan_reaction(row)
        author = row.ident("author")
        if author and not row.has("author_id"):
            self.scan.person(author, row.where)

    def _revision(self, row: _Row, out: Sink | None) -> None:
        if out is None:
            return
        item = self._reference(row, "item")
        if item is None:
            self._dropped(row, out, "csv.missing_field", "a revision without its item")
            return
        native = row.native()
        revision = _or(row.text_of("archive_id"), ids.revision_id(item, native))
        out.add(
            Revision(
                id=revision,
                item_id=item,
                native_id=native,
                author_id=self._reference(row, "author"),
                created_at=row.date("created_at"),
                body=row.body(),
                comment=row.text_of("comment"),
                raw=row.raw(),
                origin=row.where,
            )
        )
        self._said(row, out, revision)

    def _scan_item_file(self, row: _Row) -> None:
        item, file = row.ident("item"), row.ident("file")
        if item and not row.has("item_id"):
            self.scan.item(item, row.where, row.file.name)
        if file and not row.has("file_id"):
            self.scan.file_id(file, row.where)

    def _item_file(self, row: _Row, out: Sink | None) -> None:
        if out is None:
            return
        item, file = self._reference(row, "item"), self._reference(row, "file")
        if item is None or file is None:
            self._dropped(row, out, "csv.missing_field", "an item file without its item or its file")
            return
        out.add(ItemFile(item_id=item, file_id=file, position=row.integer("position") or 0))
        self._said(row, out)

    # -- what is left --
    def _leftovers(self, out: Sink) -> None:
        for problem in self.tree.problems:
            out.diagnose(problem.code, problem.entry, problem.message, dropped=problem.dropped)
        for name in self.tree.names():
            if (
                name in self.mapped
                or name in self.scan.consumed
                or (name == MAPPING_NAME and self.loaded.inside)
            ):
                continue
            try:
                with self.tree.open_entry(name) as stream:
                    sha, size = out.put_blob(stream, size=self.tree.size(name))
            except EntryError as exc:
                out.diagnose(exc.code, name, str(exc), dropped="entry")
                continue
            message = f"{name!r} ({size} bytes) is not a file of the mapping; kept as blob sha256:{sha}"
            out.diagnose("source.unrecognised_entry", name, message)
