"""The CSV writer (``export --to csv``): an archive as tidy tables, and the mapping that reads
them back (docs/csv.md, "Exact fields").

One table per entity type, each an RFC 4180 file (a header row, UTF-8, CRLF line ends,
cells quoted only where they must be), rows ordered by id: ``persons.csv``,
``spaces.csv``, ``memberships.csv``, ``items.csv``, ``reactions.csv``, ``files.csv``,
``item_files.csv``, ``revisions.csv``. Every column of the archive's table is there, under
its own name (``archive_id`` for ``id``), so that the mapping written beside the tables
(``mapping.toml``, and ``passerelle-mapping.toml``, the name the CSV reader finds by
itself) reads them back into the same archive:

- booleans are ``true``/``false``; times and sizes integers (times in microseconds, with an
  ``<time>_iso`` column beside each for people, which the mapping ignores);
- ``raw`` is the source record as UTF-8 text, or ``raw_base64`` when it is not UTF-8;
- an empty cell is NULL; a value that is the empty text is named in the row's
  ``empty_fields`` (a CSV cell cannot tell the two apart);
- a file's bytes are at ``files/<sha256>``, named in its row's ``path``.

``--set dialect=excel-fr`` writes what French spreadsheets open directly: ``;`` between
cells and a UTF-8 BOM. Nothing else changes: ids are text, times and sizes integers, and no
value has a decimal separator.

Memory holds one table's batch of rows at a time (rows come from SQL cursors) and the
hashes of the blobs the archive lacks.
"""

from __future__ import annotations

import base64
import csv
import re
from collections.abc import Iterator
from collections.abc import Mapping as AnyMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any, ClassVar

import msgspec

from passerelle.archive.view import ArchiveView
from passerelle.archive.writer import ROW_COLUMNS
from passerelle.errors import BadInputError
from passerelle.model.entities import File, Item, ItemFile, Membership, Person, Reaction, Revision, Space
from passerelle.progress import Display
from passerelle.readers.csv_mapping import EMPTY_FIELDS, FileMapping, Mapping, dump_mapping
from passerelle.writers.base import ExportLog, Note, Outcome, Output, RuleCheck, WriterInfo, WriterOption

MAPPING_NAMES = ("mapping.toml", "passerelle-mapping.toml")
FILES_FOLDER = "files"
ISO_SUFFIX = "_iso"
DIALECTS = {"rfc4180": ",", "excel-fr": ";"}  # the dialect's delimiter; excel-fr adds a BOM
BOM = b"\xef\xbb\xbf"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PROGRESS_EVERY = 10_000
_FLUSH_CHARS = 1 << 20  # write to the output once a batch of rows holds this many characters


@dataclass(frozen=True)
class Table:
    """One archive table and the CSV file that holds it."""

    table: str  # the archive's table, and the file's name (``<table>.csv``)
    entity: str  # the mapping's entity (docs/csv.md)
    tally: str | None  # the entity type the export log counts (item_files are not counted)
    struct: type[msgspec.Struct]
    order: str  # ORDER BY: the key

    @property
    def file(self) -> str:
        return f"{self.table}.csv"


TABLES: tuple[Table, ...] = (
    Table("persons", "persons", "person", Person, "id"),
    Table("spaces", "spaces", "space", Space, "id"),
    Table("memberships", "memberships", "membership", Membership, "space_id, person_id"),
    Table("items", "items", "item", Item, "id"),
    Table("reactions", "reactions", "reaction", Reaction, "item_id, person_id, emoji"),
    Table("files", "files", "file", File, "id"),
    Table("item_files", "item_files", None, ItemFile, "item_id, position, file_id"),
    Table("revisions", "revisions", "revision", Revision, "id"),
)

# What a column holds, which says how it is written.
_TEXT, _BOOL, _INT, _TIME, _RAW = "text", "bool", "int", "time", "raw"
_FOR_PEOPLE = ("origin", "source_id")  # where the archive read a row: the reader records its own


def _column_kinds(table: Table) -> list[tuple[str, str]]:
    """(archive column, kind) for each column of the table, in the entity's order."""
    types = {f.name: f.type for f in msgspec.structs.fields(table.struct)}
    kinds = []
    for column in ROW_COLUMNS[table.table]:
        annotation = types.get(column, str)  # body_* and source_id are text
        if column == "raw":
            kind = _RAW
        elif annotation is bool:
            kind = _BOOL
        elif annotation in (int, int | None):
            kind = _TIME if column.endswith("_at") else _INT
        else:
            kind = _TEXT
        kinds.append((column, kind))
    return kinds


@dataclass(frozen=True)
class Layout:
    """A table's CSV columns, the SQL that reads them in that order, and how each is mapped."""

    table: Table
    header: tuple[str, ...]
    select: str
    times: tuple[int, ...]  # positions whose next cell is the time's ISO form
    raw_at: int | None  # position of ``raw`` (``raw_base64`` follows)
    path_at: int | None  # position of a file's ``path``
    sha256_at: int | None
    mapped: tuple[str, ...]  # the columns the mapping names (each is its own field)


def layout(table: Table) -> Layout:
    header: list[str] = []
    select: list[str] = []
    times: list[int] = []
    raw_at = path_at = sha256_at = None
    mapped: list[str] = []
    empty: list[str] = []  # SQL naming each column whose value is the empty text
    for column, kind in _column_kinds(table):
        quoted = f'"{column}"'
        name = "archive_id" if column == "id" else column
        if kind == _BOOL:
            header.append(name)
            select.append(f"CASE WHEN {quoted} THEN 'true' ELSE 'false' END")
        elif kind == _TIME:
            times.append(len(header))
            header += [name, name + ISO_SUFFIX]
            select += [quoted, "NULL"]
        elif kind == _RAW:
            raw_at = len(header)
            header += ["raw", "raw_base64"]
            select += [quoted, "NULL"]
            empty.append(f"CASE WHEN length({quoted}) = 0 THEN ' raw' ELSE '' END")
        else:
            header.append(name)
            select.append(quoted)
            if kind == _TEXT:
                empty.append(f"CASE WHEN {quoted} = '' THEN ' {name}' ELSE '' END")
        if table.table == "files" and column == "sha256":
            # The bytes' place in the export; the reader hashes them (sha256 is for people).
            sha256_at = len(header) - 1
            path_at = len(header)
            header.append("path")
            select.append("NULL")
            mapped.append("path")
        elif kind == _RAW:
            mapped += ["raw", "raw_base64"]
        elif column not in _FOR_PEOPLE:
            mapped.append(name)
    header.append(EMPTY_FIELDS)
    select.append(f"ltrim({' || '.join(empty)})" if empty else "''")
    mapped.append(EMPTY_FIELDS)
    return Layout(
        table=table,
        header=tuple(header),
        select=f"SELECT {', '.join(select)} FROM {table.table} ORDER BY {table.order}",
        times=tuple(times),
        raw_at=raw_at,
        path_at=path_at,
        sha256_at=sha256_at,
        mapped=tuple(mapped),
    )


LAYOUTS: tuple[Layout, ...] = tuple(layout(t) for t in TABLES)


def iso(micros: int | None) -> str | None:
    """A time in microseconds as ISO 8601 in UTC (``2020-09-13T12:26:40.059311Z``); None
    when there is none or it is outside the years a calendar date can hold."""
    if micros is None:
        return None
    try:
        return (_EPOCH + timedelta(microseconds=micros)).isoformat().replace("+00:00", "Z")
    except OverflowError:
        return None


class _Sink:
    """What csv.writer writes a row into: rows are gathered, then written to the output as
    UTF-8 a batch at a time; it counts lines as a text reader splits them (``\\r\\n``,
    ``\\r`` or ``\\n``), so a note can say on which line of the file its row starts."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._parts: list[str] = []
        self._size = 0
        self.lines = 0  # lines written so far

    def write(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        self.lines += text.count("\n") + text.count("\r") - text.count("\r\n")
        if self._size >= _FLUSH_CHARS:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            self._stream.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
            self._size = 0


class CsvWriter:
    info: ClassVar[WriterInfo] = WriterInfo(
        name="csv",
        description="Tidy CSV tables (RFC 4180, UTF-8), one per entity type, with the mapping that"
        " reads them back (--from csv)",
        keeps=(
            "every column of persons, spaces, memberships, items, reactions, files, item_files and"
            " revisions, exactly: archive ids, source ids and values, bodies (markup, normalised"
            " text, references as JSON), times in microseconds, raw records (text, or base64)",
            "NULL apart from the empty text (empty_fields); placeholders as they are",
            "file bytes under files/<sha256>",
            "a mapping (mapping.toml, passerelle-mapping.toml): reading the tables back gives the"
            " same archive",
            "(the archive's sources, diagnostics and superseded records are not entities: they are"
            " not written)",
        ),
        cannot_carry=("file bytes the archive's blob store lacks: the file's row is written without them",),
        reader="csv",
        options=(
            WriterOption(
                "dialect",
                "rfc4180: ',' between cells; excel-fr: ';' and a UTF-8 BOM, as French spreadsheets"
                " open CSV files (ids, times and sizes are the same in both)",
                default="rfc4180",
            ),
        ),
    )
    version: ClassVar[str] = "1"
    rule_checks: ClassVar[AnyMapping[str, RuleCheck]] = {}

    def __init__(self, options: AnyMapping[str, str]) -> None:
        self.dialect = options.get("dialect", "rfc4180")
        if self.dialect not in DIALECTS:
            raise BadInputError(f"csv: no dialect {self.dialect!r} (dialects: {', '.join(DIALECTS)})")

    def write(self, view: ArchiveView, out: Output, log: ExportLog, display: Display) -> None:
        _Export(view, out, log, display, self.dialect).run()


class _Export:
    def __init__(
        self, view: ArchiveView, out: Output, log: ExportLog, display: Display, dialect: str
    ) -> None:
        self.view = view
        self.conn = view.archive.store.conn
        self.out = out
        self.log = log
        self.display = display
        self.dialect = dialect
        self.delimiter = DIALECTS[dialect]
        self.missing: set[str] = set()  # hashes of files whose bytes the archive lacks

    def run(self) -> None:
        self._bytes()
        for table_layout in LAYOUTS:
            self._table(table_layout)
        text = mapping_text(self._platform(), self.delimiter, self.dialect == "excel-fr")
        for name in MAPPING_NAMES:
            self.out.write_bytes(name, text.encode("utf-8"))

    def _bytes(self) -> None:
        """Each file's bytes once, under files/<sha256>."""
        rows = self.conn.execute("SELECT DISTINCT sha256 FROM files WHERE sha256 IS NOT NULL ORDER BY sha256")
        for (sha256,) in rows:
            if not _SHA256.match(sha256) or not self.out.write_blob(f"{FILES_FOLDER}/{sha256}", sha256):
                self.missing.add(sha256)

    def _platform(self) -> str:
        """The archive's platform, when it has one (and it is a name); else ``passerelle``: the
        mapping's platform names the export, every row says its own."""
        found = {
            p
            for table in ("persons", "spaces", "items", "files")
            for (p,) in self.conn.execute(f"SELECT DISTINCT platform FROM {table}")
        }
        only = found.pop() if len(found) == 1 else ""
        return only if only.strip() else "passerelle"

    def _table(self, table_layout: Layout) -> None:
        t = table_layout.table
        with self.out.open(t.file) as stream:
            if self.dialect == "excel-fr":
                stream.write(BOM)
            sink = _Sink(stream)
            writer = csv.writer(sink, delimiter=self.delimiter, quotechar='"', lineterminator="\r\n")
            writer.writerow(table_layout.header)
            task = self.display.task(t.file, total=self.view.count(t.table))
            written = 0
            for values in self._rows(table_layout):
                line = sink.lines + 1
                writer.writerow(values)
                written += 1
                if written % _PROGRESS_EVERY == 0:
                    task.advance(_PROGRESS_EVERY)
                if t.tally is None:
                    continue
                if t.table == "persons":
                    self.log.persons[values[0]] = values[0]
                elif t.table == "spaces":
                    self.log.spaces[values[0]] = values[0]
                notes = self._notes(table_layout, values, line)
                if notes:
                    self.log.account(t.tally, notes)
                else:
                    self.log.carried(t.tally)
            task.advance(written % _PROGRESS_EVERY)
            sink.flush()

    def _rows(self, table_layout: Layout) -> Iterator[list[Any]]:
        times, raw_at, path_at = table_layout.times, table_layout.raw_at, table_layout.path_at
        sha256_at = table_layout.sha256_at
        for row in self.conn.execute(table_layout.select):
            values = list(row)
            for at in times:
                values[at + 1] = iso(values[at])
            if raw_at is not None and values[raw_at] is not None:
                raw: bytes = values[raw_at]
                try:
                    values[raw_at] = raw.decode("utf-8")
                except UnicodeDecodeError:
                    values[raw_at], values[raw_at + 1] = None, base64.b64encode(raw).decode("ascii")
            if path_at is not None and sha256_at is not None:
                sha256 = values[sha256_at]
                if sha256 is not None and sha256 not in self.missing:
                    values[path_at] = f"{FILES_FOLDER}/{sha256}"
            yield values

    def _notes(self, table_layout: Layout, values: list[Any], line: int) -> list[Note]:
        if table_layout.sha256_at is None:
            return []
        sha256 = values[table_layout.sha256_at]
        if sha256 is None or sha256 not in self.missing:
            return []
        return [
            Note(
                code="csv.export_bytes_missing",
                entity="file",
                outcome=Outcome.ADAPTED,
                message="the archive's blob store lacks this file's bytes: its row has no path, and"
                " reads back without them",
                where=f"{table_layout.table.file}#{line}",
                entity_id=values[0],
                attribute="sha256",
                original=sha256,
            )
        ]


# -- the mapping ---------------------------------------------------------------------------------


def mapping(platform: str, delimiter: str, bom: bool) -> Mapping:
    """The mapping (docs/csv.md) that reads the tables back: every column by its own name."""
    return Mapping(
        files=tuple(
            FileMapping(
                path=table_layout.table.file,
                entity=table_layout.table.entity,
                encoding="utf-8-sig" if bom else "utf-8",
                delimiter=delimiter,
                quote='"',
                header=True,
                skip_initial_space=False,
                dates="epoch_us",
                decimal=".",
                columns={name: name for name in table_layout.mapped},
                lists={EMPTY_FIELDS: " "},
                comment=f"{table_layout.table.file}: the archive's {table_layout.table.table} table",
                notes={
                    "dates": "the archive's times: integers of microseconds",
                    "lists.empty_fields": "the row's fields whose empty cell is the empty text, not NULL",
                },
            )
            for table_layout in LAYOUTS
        ),
        platform=platform,
        timezone="UTC",
        comment="The mapping of a passerelle CSV export: `passerelle ingest DIR --from csv` reads the\n"
        "tables back into the archive they were written from. Every column is the archive's own\n"
        '(docs/csv.md, "Exact fields"); the <time>_iso, origin, source_id and sha256 columns are\n'
        "for people and are not read.",
    )


def mapping_text(platform: str, delimiter: str, bom: bool) -> str:
    """The mapping as TOML."""
    return dump_mapping(mapping(platform, delimiter, bom))


__all__ = [
    "LAYOUTS",
    "MAPPING_NAMES",
    "TABLES",
    "CsvWriter",
    "Layout",
    "Table",
    "iso",
    "mapping",
    "mapping_text",
]
