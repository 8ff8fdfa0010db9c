"""Generated archives for property-based tests: a Hypothesis strategy and a builder.

``archive_contents()`` draws a whole, valid archive: sources with their finished units,
persons, spaces, memberships, files (with or without bytes), items, attachments,
reactions, revisions, diagnostics and superseded records, each entity paired with the
source it belongs to. It is adversarial on purpose, because a round trip proven on tidy
fixtures proves little: ids that are not passerelle's (spaces, ``/``, ``%``, ``#``, emoji,
200 characters, ``x-``…), text in NFC and NFD, RTL, zero-width joiners, control
characters and NUL, raw records that are not UTF-8, times before 1970 and outside
``datetime``'s years, dangling pointers in every column that has no foreign key, every
enum value. It stays valid where the archive itself insists: ids are unique per table
(so nothing merges), foreign keys point at rows, a file's ``sha256`` is that of its bytes,
text is valid UTF-8 (no lone surrogates), integers fit SQLite's 64 bits.

``build_archive(path, content)`` writes one through passerelle's own ``ArchiveWriter``;
``content.rows()`` and ``archive_rows(archive)`` give both sides as the same sorted rows,
so a test compares an archive with what it should hold in one ``==``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, is_dataclass
from dataclasses import fields as dataclass_fields
from enum import Enum
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from passerelle.archive import Archive
from passerelle.archive.writer import ROW_COLUMNS, ArchiveWriter, table_row
from passerelle.model.entities import (
    Body,
    Diagnostic,
    File,
    Item,
    ItemFile,
    ItemKind,
    Membership,
    Person,
    Reaction,
    Reference,
    RefKind,
    Revision,
    Severity,
    Source,
    Space,
    SpaceKind,
    Visibility,
)

# Settings for a test given whole archives: one takes tens of milliseconds to draw and more
# to write, so no deadline, and no health check that drawing is slow (on a loaded machine).
ARCHIVE_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

E = TypeVar("E")
T = TypeVar("T")

INT64_MAX = 2**63 - 1
# Microseconds at 0001-01-01T00:00:00Z and at 9999-12-31T23:59:59.999999Z: the years a
# datetime (and an RFC 3339 time) can hold.
FIRST_DATETIME_MICROS = -62_135_596_800_000_000
LAST_DATETIME_MICROS = 253_402_300_799_999_999


# -- what is generated ---------------------------------------------------------------------


class Sourced(NamedTuple, Generic[E]):
    """An entity and the source whose rows hold it (the ``source_id`` column)."""

    source_id: str
    entity: E


class SourceRecord(NamedTuple):
    source: Source
    units: tuple[str, ...]  # the units of work finished (``source_units``)


class StoredFile(NamedTuple):
    source_id: str
    file: File
    content: bytes | None  # the bytes; ``file.sha256`` is theirs, None exactly when this is


class Superseded(NamedTuple):
    entity_id: str
    source_id: str
    raw: bytes
    replaced_by: str


# Columns of the tables no entity is written to through ``table_row``, in the schema's order.
OTHER_COLUMNS: dict[str, tuple[str, ...]] = {
    "sources": (
        "id",
        "platform",
        "path",
        "sha256",
        "size",
        "reader",
        "reader_version",
        "ingested_at",
        "status",
    ),
    "source_units": ("source_id", "unit"),
    "superseded": ("entity_id", "source_id", "raw", "replaced_by"),
}
# Every table an archive's content lives in, and the columns compared.
COLUMNS: dict[str, tuple[str, ...]] = {**OTHER_COLUMNS, **ROW_COLUMNS}


@dataclass(frozen=True, repr=False)
class ArchiveContent:
    """Everything one archive holds. ``sources[0]`` is written by the ``ArchiveWriter``
    (its units marked with ``complete``), the others are rows of earlier runs."""

    sources: tuple[SourceRecord, ...]
    persons: tuple[Sourced[Person], ...]
    spaces: tuple[Sourced[Space], ...]
    memberships: tuple[Sourced[Membership], ...]
    files: tuple[StoredFile, ...]
    items: tuple[Sourced[Item], ...]
    item_files: tuple[ItemFile, ...]  # no source column
    reactions: tuple[Sourced[Reaction], ...]
    revisions: tuple[Sourced[Revision], ...]
    diagnostics: tuple[Diagnostic, ...]  # their source is their own ``source_id``
    superseded: tuple[Superseded, ...]

    def blobs(self) -> dict[str, bytes]:
        """The blob store's content: bytes by SHA-256 (files sharing bytes share a blob)."""
        return {f.file.sha256: f.content for f in self.files if f.file.sha256 and f.content is not None}

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Each table's rows, in ``COLUMNS`` order, as SQLite gives them back, sorted."""
        tables: dict[str, Iterable[tuple[Any, ...]]] = {
            "sources": (_source_row(s) for s, _ in self.sources),
            "source_units": ((s.id, unit) for s, units in self.sources for unit in units),
            "superseded": (tuple(s) for s in self.superseded),
        }
        entities: list[tuple[str, Any]] = [
            *((o.source_id, o.entity) for o in self.persons),
            *((o.source_id, o.entity) for o in self.spaces),
            *((o.source_id, o.entity) for o in self.memberships),
            *((f.source_id, f.file) for f in self.files),
            *((o.source_id, o.entity) for o in self.items),
            *(("", x) for x in self.item_files),
            *((o.source_id, o.entity) for o in self.reactions),
            *((o.source_id, o.entity) for o in self.revisions),
            *((d.source_id, d) for d in self.diagnostics),
        ]
        by_table: dict[str, list[tuple[Any, ...]]] = {t: [] for t in ROW_COLUMNS}
        for source_id, entity in entities:
            table, row = table_row(entity, source_id)
            by_table[table].append(row)
        tables.update(by_table)
        return {t: _sorted(tables[t]) for t in COLUMNS}

    def counts(self) -> dict[str, int]:
        return {table: len(rows) for table, rows in self.rows().items()}

    def __repr__(self) -> str:
        # Hypothesis prints the archive a test fails on: long text and bytes are cut short,
        # or a few 10,000-character strings and a 70 KB file would bury the rest.
        return _short(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis's printer: the same short form (it would list a dataclass's fields)."""
        printer.text(_short(self))


def _short(value: Any) -> str:
    if isinstance(value, str | bytes) and len(value) > 80:
        unit = "characters" if isinstance(value, str) else "bytes"
        return f"{value[:40]!r}…<{len(value)} {unit}>"
    fields: Sequence[str] = ()
    if isinstance(value, msgspec.Struct):
        fields = value.__struct_fields__
    elif isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple
        fields = value._fields
    elif is_dataclass(value):
        fields = [f.name for f in dataclass_fields(value)]
    elif isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    else:
        return repr(value)
    inner = ", ".join(f"{name}={_short(getattr(value, name))}" for name in fields)
    return f"{type(value).__name__}({inner})"


def _plain(value: Any) -> Any:
    # What SQLite gives back: booleans as 0/1, enums as their text.
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Enum):
        return value.value
    return value


def _sorted(rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)


def archive_rows(archive: Archive) -> dict[str, list[tuple[Any, ...]]]:
    """An archive's rows, as ``ArchiveContent.rows`` gives them, to compare with ``==``."""
    dump = {}
    for table, columns in COLUMNS.items():
        names = ", ".join(f'"{c}"' for c in columns)
        dump[table] = _sorted(archive.store.query(f"SELECT {names} FROM {table}"))
    return dump


# -- writing one -----------------------------------------------------------------------------


def build_archive(path: Path, content: ArchiveContent) -> None:
    """Create the archive at ``path`` holding exactly ``content``.

    Rows go through passerelle's ``ArchiveWriter`` in foreign-key order (what a reader
    does), each with its own source's id; the sources of earlier runs, their units and
    the superseded records, which no writer makes in one run, go in with SQL.
    """
    main, *others = content.sources
    archive = Archive.open(path, create=True)
    try:
        conn = archive.store.conn
        conn.execute("BEGIN")
        for record in others:
            conn.execute(_insert("sources"), _source_row(record.source))
            conn.executemany(_insert("source_units"), [(record.source.id, u) for u in record.units])
        conn.execute("COMMIT")
        writer = ArchiveWriter(archive, main.source)
        try:
            _write(writer, content)
            for unit in main.units:
                writer.complete(unit)
            writer.finish()
        except BaseException:
            writer.abort()
            raise
        conn.execute("BEGIN")
        # finish() marks the writer's source complete; the content says what each one is.
        conn.executemany(
            "UPDATE sources SET status = ? WHERE id = ?", [(s.status, s.id) for s, _ in content.sources]
        )
        conn.executemany(_insert("superseded"), content.superseded)
        conn.execute("COMMIT")
    finally:
        archive.close()


def _insert(table: str) -> str:
    columns = OTHER_COLUMNS[table]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


def _source_row(source: Source) -> tuple[Any, ...]:
    return tuple(getattr(source, column) for column in OTHER_COLUMNS["sources"])


def _write(writer: ArchiveWriter, content: ArchiveContent) -> None:
    for group in (content.persons, content.spaces, content.memberships):
        for owned in group:
            writer.add_row(*table_row(owned.entity, owned.source_id))
    for stored in content.files:
        if stored.content is not None:
            sha256, _ = writer.put_blob_bytes(stored.content)
            if sha256 != stored.file.sha256:
                raise ValueError(
                    f"file {stored.file.id!r}: sha256 {stored.file.sha256} is not that of its bytes"
                )
        elif stored.file.sha256 is not None:
            raise ValueError(f"file {stored.file.id!r}: a sha256 but no bytes")
        writer.add_row(*table_row(stored.file, stored.source_id))
    for item in content.items:
        writer.add_row(*table_row(item.entity, item.source_id))
    for link in content.item_files:
        writer.add_row(*table_row(link, ""))
    for reaction in content.reactions:
        writer.add_row(*table_row(reaction.entity, reaction.source_id))
    for revision in content.revisions:
        writer.add_row(*table_row(revision.entity, revision.source_id))
    for diagnostic in content.diagnostics:
        writer.add_row(*table_row(diagnostic, diagnostic.source_id))


# -- values ------------------------------------------------------------------------------------


def _weighted(*choices: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """One of the strategies, each as often as its weight (it shrinks towards the first)."""
    return st.one_of([strategy for weight, strategy in choices for _ in range(weight)])


# Any code point UTF-8 can encode: SQLite TEXT must be valid UTF-8, so no lone surrogates.
_CHARS = st.characters(codec="utf-8")
_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"  # the package's safe keys

_ODD_TEXT = (
    "hello",
    "",
    " ",
    "\t",
    "\n",
    "\r\n",
    "  padded  ",
    "line one\nline two\n",
    "caf\u00e9",  # NFC…
    "cafe\u0301",  # …and NFD: the same word, other code points
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",  # Hebrew, right to left
    "\u0645\u0631\u062d\u0628\u0627 abc 123",  # Arabic and Latin mixed
    "\u202eevil\u202c",  # right-to-left override
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # one emoji of three joined by ZWJ
    "\U0001f389",
    "\U0001f44d\U0001f3fd",  # with a skin tone
    "a\u200bb",  # zero-width space
    "\ufeffBOM first",
    "\x01",
    "\x7f",
    "nul\x00inside",
    "\u2028\u2029",  # line and paragraph separators (JSON allows them, JavaScript once did not)
    "<b>&amp; &lt;</b>",
    '"quoted" \\ back\\slash \\/ slash',
    '{"not": "an object"}',
    "100% #hash ?q=1&r=2",
    "../../etc/passwd",
    "null",
    "\U0010ffff",
)
_LONG_TEXT = ("x" * 10_000, "\u00e9\U0001f389\u200d" * 3_000, "line\n" * 2_000)

TEXT: st.SearchStrategy[str] = _weighted(
    (3, st.sampled_from(_ODD_TEXT)),
    (2, st.text(_CHARS, max_size=12)),
    (2, st.lists(st.sampled_from(_ODD_TEXT), min_size=2, max_size=4).map("".join)),
    (1, st.sampled_from(_LONG_TEXT)),
)
OPTIONAL_TEXT: st.SearchStrategy[str | None] = st.none() | TEXT


@functools.cache
def _odd(*known: str) -> st.SearchStrategy[str]:
    """A value as sources write it, more often than not, else any text."""
    return _weighted((3, st.sampled_from(known)), (1, TEXT))


@functools.cache
def _maybe_odd(*known: str) -> st.SearchStrategy[str | None]:
    return st.none() | _odd(*known)


# Strategies are made once: making one anew for each draw costs more than the draw.
_SPACE_KIND = st.sampled_from(SpaceKind)
_VISIBILITY = st.sampled_from(Visibility)
_ITEM_KIND = st.sampled_from(ItemKind)
_REF_KIND = st.sampled_from(RefKind)
_SEVERITY = st.sampled_from(Severity)
_STATUS = st.sampled_from(("complete", "partial"))
_SHAPE = st.sampled_from(("plain", "reply", "reply", "orphan", "odd"))
_SOURCE_SHA256 = st.integers(0, 16**64 - 1).map(lambda n: f"{n:064x}") | TEXT
_POSITION = _weighted((3, st.integers(0, 6)), (1, st.integers(0, INT64_MAX)))
_SIZE_SHAPE = st.sampled_from(("declared", "declared", "declared", "none", "any"))
_ANY_SIZE = st.integers(0, INT64_MAX)


_ODD_RAW = (
    b"",
    b"{}",
    b'{"a":1,  "b":"\\u00e9"}',
    b'{ "z" : [ 1 ,2 ] ,\n\t"a" : null }\n',
    b'{"text":"\\/path\\/ \\ud83c\\udf89 \\u0000"}',
    b'{"dup": 1, "dup": 2}',
    b'\xef\xbb\xbf{"bom": true}',
    b"caf\xe9",  # cp1252, not UTF-8
    b"\xff\xfe\x00\x01",
    b"\x00",
    b"not json at all",
    "texte UTF-8 \u00e9t\u00e9 \U0001f389".encode(),
    b"[1, 2, 3]",
)
_JSON_VALUES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(_CHARS, max_size=8)
)


@st.composite
def _json_bytes(draw: st.DrawFn) -> bytes:
    """A JSON record as some exporter wrote it: any key order, spacing and escaping."""
    record = draw(st.dictionaries(st.text(_CHARS, max_size=6), _JSON_VALUES, max_size=4))
    text = json.dumps(
        record,
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from(((",", ":"), (", ", ": "), (" ,", " : "), (",\n", ":\t")))),
        indent=draw(st.sampled_from((None, 0, 2, "\t"))),
    )
    return text.encode()


RAW_BYTES: st.SearchStrategy[bytes] = _weighted(
    (2, st.sampled_from(_ODD_RAW)), (2, _json_bytes()), (1, st.binary(max_size=24))
)
RAW: st.SearchStrategy[bytes | None] = _weighted((2, st.none()), (3, RAW_BYTES))

_ODD_TIMES = (
    0,
    -1,
    1,
    1_600_000_000_059_311,  # microseconds
    1_600_000_000_000_000,  # whole seconds
    -2_208_988_800_000_000,  # 1900
    LAST_DATETIME_MICROS,
    LAST_DATETIME_MICROS + 1,
    FIRST_DATETIME_MICROS,
    FIRST_DATETIME_MICROS - 1,
    -(10**17),
    10**18,
    INT64_MAX,
    -INT64_MAX,
)
TIMES: st.SearchStrategy[int | None] = _weighted(
    (2, st.none()),
    (2, st.sampled_from(_ODD_TIMES)),
    (2, st.integers(1_300_000_000_000_000, 1_800_000_000_000_000)),
    (1, st.integers(-INT64_MAX, INT64_MAX)),
)

_ODD_IDS = (
    "a b",
    " ",
    "",
    "a/b",
    "../up",
    "50%",
    "%2F",
    "#frag",
    "a?b=c",
    "urn:passerelle:x",
    "per_",
    "caf\u00e9",
    "cafe\u0301",
    "\U0001f389",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\u05e9\u05dc\u05d5\u05dd",
    "x-",
    "x-0123456789abcdef0123456789abcdef",
    "A",
    "a",  # differs from "A" by case only: one folder on a case-insensitive file system
    ".",
    "..",
    "nul\x00id",
    "tab\tid",
    "new\nline",
    "\u202eevil",
    "a" * 200,
    "b" * 64,  # the longest safe key
    "c" * 65,  # one past it
)


@functools.cache
def ids(prefix: str) -> st.SearchStrategy[str]:
    """Ids like passerelle's (``per_<24 hex>``) mostly, else any text an archive may hold."""
    made = st.integers(0, 16**24 - 1).map(lambda n: f"{prefix}_{n:024x}")
    safe = st.text(_SAFE, min_size=1, max_size=70)
    return _weighted(
        (8, made),
        (1, st.sampled_from(_ODD_IDS)),
        (1, safe),
        (1, safe.map(lambda s: "x-" + s)),
        (1, st.text(_CHARS, min_size=1, max_size=16)),
    )


def _unique_ids(draw: st.DrawFn, prefix: str, size: int) -> list[str]:
    return draw(st.lists(ids(prefix), min_size=size, max_size=size, unique=True))


_POINTER = st.sampled_from(("none", "existing", "existing", "dangling"))
_TARGET = st.sampled_from(("existing", "existing", "dangling"))


class _Pointers:
    """Pointers at some ids: one of them, or an id that points at nothing (an orphan's).

    The strategies are made once per archive and the kind of pointer is drawn first:
    a ``one_of`` made for each draw costs more to validate than the draw itself.
    """

    def __init__(self, targets: Sequence[str], prefix: str) -> None:
        self.targets = st.sampled_from(targets) if targets else None
        taken = frozenset(targets)
        self.dangling = ids(prefix).filter(lambda i: i not in taken)

    def target(self, draw: st.DrawFn) -> str:
        """One of the targets mostly, else a dangling id."""
        if self.targets is None or draw(_TARGET) == "dangling":
            return draw(self.dangling)
        return draw(self.targets)

    def pointer(self, draw: st.DrawFn) -> str | None:
        """A column without a foreign key: None, one of the targets, or dangling."""
        if draw(_POINTER) == "none":
            return None
        return self.target(draw)

    def fk(self, draw: st.DrawFn) -> str | None:
        """A foreign key that may be NULL: None or one of the targets."""
        if self.targets is None or draw(st.booleans()):
            return None
        return draw(self.targets)


_BLOB_STRATEGY: st.SearchStrategy[bytes] = _weighted(
    (3, st.binary(min_size=1, max_size=64)),
    # A larger one, made from a seed (drawing each byte would make examples huge).
    (
        1,
        st.tuples(st.integers(0, 2**32), st.integers(1_000, 70_000)).map(
            lambda t: random.Random(t[0]).randbytes(t[1])
        ),
    ),
)


_TO_NOTHING = _Pointers((), "ref")  # a link's or an emoji's target_id: none, or dangling


def _body(draw: st.DrawFn, to_person: _Pointers, to_space: _Pointers) -> Body | None:
    if draw(st.booleans()):
        return None
    references = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(_REF_KIND)
        to = {RefKind.PERSON: to_person, RefKind.SPACE: to_space}.get(kind, _TO_NOTHING)
        references.append(
            Reference(
                kind=kind,
                target=draw(_odd("U46IH0ZTK2B", "C012AB3CD", "here", "https://example.org/a?b=c#d", "+1")),
                target_id=to.pointer(draw),
                label=draw(OPTIONAL_TEXT),
            )
        )
    return Body(
        format=draw(_odd("slack-mrkdwn", "mattermost-markdown", "html", "mediawiki", "commonmark")),
        source=draw(TEXT),
        normalised=draw(TEXT),
        references=tuple(references),
    )


@functools.cache
def _count(low: int, high: int) -> st.SearchStrategy[int]:
    """How many: any number (which shrinks to few), or one of the upper half as often, since
    Hypothesis alone draws mostly small numbers."""
    return st.integers(low, high) | st.integers((low + high + 1) // 2, high)


# -- the archive -------------------------------------------------------------------------------


@st.composite
def archive_contents(
    draw: st.DrawFn,
    *,
    max_sources: int = 3,
    max_persons: int = 6,
    max_spaces: int = 4,
    max_memberships: int = 8,
    max_files: int = 6,
    max_items: int = 30,
    max_item_files: int = 10,
    max_reactions: int = 10,
    max_revisions: int = 8,
    max_diagnostics: int = 6,
    max_superseded: int = 4,
) -> ArchiveContent:
    """A whole, valid, adversarial archive (see the module's documentation)."""
    # Sources: different platforms, complete or partial, each with its finished units.
    source_ids = _unique_ids(draw, "src", draw(_count(1, max_sources)))
    sources: list[SourceRecord] = []
    platform_of: dict[str, str] = {}
    for sid in source_ids:
        source_platform = draw(_odd("slack", "mattermost", "slackdump", "mastodon", "teams"))
        platform_of[sid] = source_platform
        units = draw(
            st.lists(
                _odd(
                    "users",
                    "conversations",
                    "conversation:general",
                    "conversation:caf\u00e9 \U0001f389",
                    "threads",
                ),
                max_size=4,
                unique=True,
            )
        )
        source = Source(
            id=sid,
            platform=source_platform,
            path=draw(_odd("/exports/slack.zip", "C:\\Exports\\équipe 2024.zip", "./mm export/")),
            sha256=draw(_SOURCE_SHA256),
            size=draw(st.integers(0, INT64_MAX)),
            reader=draw(_odd("slack", "mattermost", "slackdump")),
            reader_version=draw(_odd("0.1.0", "1.0.0rc1+local")),
            ingested_at=draw(_odd("2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123456+02:00")),
            status=draw(_STATUS),
        )
        sources.append(SourceRecord(source, tuple(units)))

    a_source = st.sampled_from(source_ids)
    # An entity's platform is its source's mostly, another one's sometimes.
    platforms = {sid: st.just(p) | _odd("slack", "mattermost") for sid, p in platform_of.items()}

    def owner() -> str:
        return draw(a_source)

    def platform(sid: str) -> str:
        return draw(platforms[sid])

    # Persons: bots, deleted, guests, placeholders (known only by id).
    person_ids = _unique_ids(draw, "per", draw(_count(0, max_persons)))
    persons = []
    for pid in person_ids:
        sid = owner()
        placeholder = draw(st.booleans())
        bare = placeholder and draw(st.booleans())  # a placeholder as readers make it: ids only
        persons.append(
            Sourced(
                sid,
                Person(
                    id=pid,
                    platform=platform(sid),
                    native_id=draw(_odd("U46IH0ZTK2B", "alice", "USLACKBOT")),
                    name=None if bare else draw(OPTIONAL_TEXT),
                    display_name=None if bare else draw(OPTIONAL_TEXT),
                    real_name=None if bare else draw(OPTIONAL_TEXT),
                    email=None if bare else draw(_maybe_odd("a@example.org", "Ü@exämple.org")),
                    is_bot=draw(st.booleans()),
                    is_deleted=draw(st.booleans()),
                    is_guest=draw(st.booleans()),
                    is_placeholder=placeholder,
                    timezone=None
                    if bare
                    else draw(_maybe_odd("Europe/Paris", "America/Argentina/Buenos_Aires")),
                    title=None if bare else draw(OPTIONAL_TEXT),
                    raw=None if bare else draw(RAW),
                    origin=draw(_maybe_odd("users.json#3", "general/2020-09-13.json#4")),
                ),
            )
        )

    to_person = _Pointers(person_ids, "per")

    # Spaces: every kind and visibility; parents and creators that exist, or not.
    space_ids = _unique_ids(draw, "spc", draw(_count(0, max_spaces)))
    to_space = _Pointers(space_ids, "spc")
    spaces = []
    for spid in space_ids:
        sid = owner()
        spaces.append(
            Sourced(
                sid,
                Space(
                    id=spid,
                    platform=platform(sid),
                    native_id=draw(_odd("C012AB3CD", "workspace", "team/town-square", "direct:a,b")),
                    kind=draw(_SPACE_KIND),
                    visibility=draw(_VISIBILITY),
                    name=draw(OPTIONAL_TEXT),
                    display_name=draw(OPTIONAL_TEXT),
                    topic=draw(OPTIONAL_TEXT),
                    purpose=draw(OPTIONAL_TEXT),
                    parent_id=to_space.pointer(draw),  # itself, sometimes
                    created_at=draw(TIMES),
                    creator_id=to_person.pointer(draw),
                    is_archived=draw(st.booleans()),
                    raw=draw(RAW),
                    origin=draw(OPTIONAL_TEXT),
                ),
            )
        )

    memberships = []
    if space_ids and person_ids:
        pairs = draw(
            st.lists(
                st.tuples(st.sampled_from(space_ids), st.sampled_from(person_ids)),
                max_size=max_memberships,
                unique=True,
            )
        )
        for space_id, person_id in pairs:
            memberships.append(
                Sourced(
                    owner(),
                    Membership(
                        space_id=space_id,
                        person_id=person_id,
                        role=draw(_odd("member", "admin", "owner")),
                        origin=draw(OPTIONAL_TEXT),
                    ),
                )
            )

    # Files: with bytes (some empty, some shared by two files), or without and why.
    pool = [b"", *draw(st.lists(_BLOB_STRATEGY, min_size=1, max_size=3))]
    file_ids = _unique_ids(draw, "fil", draw(_count(0, max_files)))
    some_bytes = st.none() | st.sampled_from(pool)
    files = []
    for fid in file_ids:
        sid = owner()
        data = draw(some_bytes)
        size_shape = draw(_SIZE_SHAPE)
        size: int | None = None
        if size_shape == "declared" and data is not None:
            size = len(data)
        elif size_shape != "none":
            size = draw(_ANY_SIZE)  # what the source declares, right or wrong
        files.append(
            StoredFile(
                sid,
                File(
                    id=fid,
                    platform=platform(sid),
                    native_id=draw(_odd("F01ABCDEF", "emoji:party_parrot", "20240101/teams/x/a b.png")),
                    name=draw(_maybe_odd("report.pdf", "photo 1.JPG", "../evil.sh", "ça.tar.gz")),
                    title=draw(OPTIONAL_TEXT),
                    media_type=draw(
                        _maybe_odd(
                            "image/png",
                            "application/pdf",
                            "text/plain; charset=utf-8",
                            "audio/ogg",
                            "video/mp4",
                            "application/octet-stream",
                            "IMAGE/PNG",
                        )
                    ),
                    size=size,
                    sha256=None if data is None else hashlib.sha256(data).hexdigest(),
                    missing_reason=None
                    if data is not None
                    else draw(_maybe_odd("deleted in Slack before the export", "not in the export")),
                    url=draw(_maybe_odd("https://files.slack.com/a/b%20c.png?t=x#y", "file:///etc/passwd")),
                    author_id=to_person.pointer(draw),
                    created_at=draw(TIMES),
                    raw=draw(RAW),
                    origin=draw(OPTIONAL_TEXT),
                ),
                data,
            )
        )

    # Items: threads whose root is there, orphans whose root is not, and odd pointers
    # (a parent without a root, a reply to itself, to a later item, across spaces).
    item_ids = _unique_ids(draw, "itm", draw(_count(0, max_items)) if space_ids else 0)
    to_item = _Pointers(item_ids, "itm")  # itself, sometimes
    a_space = st.sampled_from(space_ids) if space_ids else st.nothing()
    items = []
    root_of: dict[str, str | None] = {}
    space_of: dict[str, str] = {}
    for k, iid in enumerate(item_ids):
        sid = owner()
        space_id = draw(a_space)
        shape = draw(_SHAPE)
        root: str | None = None
        parent: str | None = None
        if shape == "reply" and k > 0:
            earlier = item_ids[draw(st.integers(0, k - 1))]
            root = root_of[earlier] or earlier
            parent = draw(st.sampled_from((root, earlier)))
            space_id = space_of.get(root, space_id)
        elif shape == "orphan":
            root = draw(to_item.dangling)
            parent = root if draw(st.booleans()) else draw(to_item.dangling)
        elif shape == "odd":
            root = to_item.pointer(draw)
            parent = to_item.pointer(draw)
        root_of[iid] = root
        space_of[iid] = space_id
        deleted = draw(st.booleans())
        items.append(
            Sourced(
                sid,
                Item(
                    id=iid,
                    platform=platform(sid),
                    native_id=draw(_odd("1600000000.059311", "1700000000000:alice", "1700000000000:alice#2")),
                    kind=draw(_ITEM_KIND),
                    space_id=space_id,
                    subtype=draw(_maybe_odd("bot_message", "thread_broadcast", "channel_join", "tombstone")),
                    author_id=to_person.fk(draw),
                    created_at=draw(TIMES),
                    created_native=draw(_maybe_odd("1600000000.059311", "0000000001.000000")),
                    edited_at=draw(TIMES),
                    edited_native=draw(_maybe_odd("1600000001.000100")),
                    edited_by_id=to_person.fk(draw),
                    deleted=deleted,
                    deleted_at=draw(TIMES) if deleted else None,
                    thread_root_id=root,
                    parent_id=parent,
                    also_in_channel=draw(st.booleans()),
                    pinned=draw(st.booleans()),
                    title=draw(OPTIONAL_TEXT),
                    body=_body(draw, to_person, to_space),
                    raw=draw(RAW),
                    origin=draw(OPTIONAL_TEXT),
                ),
            )
        )

    # Attachments at any positions (0, 5, 2…; two at one position too), a file on several
    # items, files on none.
    item_files = []
    if item_ids and file_ids:
        links = draw(
            st.lists(
                st.tuples(st.sampled_from(item_ids), st.sampled_from(file_ids)),
                max_size=max_item_files,
                unique=True,
            )
        )
        for item_id, file_id in links:
            position = draw(_POSITION)
            item_files.append(ItemFile(item_id=item_id, file_id=file_id, position=position))

    reactions = []
    if item_ids and person_ids:
        keys = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(item_ids),
                    st.sampled_from(person_ids),
                    _odd(
                        "+1",
                        "thumbsup::skin-tone-2",
                        ":colon:",
                        "\U0001f44d",
                        "\U0001f44d\U0001f3fd",
                        "heart",
                    ),
                ),
                max_size=max_reactions,
                unique=True,
            )
        )
        for item_id, person_id, emoji in keys:
            reactions.append(
                Sourced(
                    owner(),
                    Reaction(item_id=item_id, person_id=person_id, emoji=emoji, created_at=draw(TIMES)),
                )
            )

    # Revisions: several on the first items, so an item often has more than one.
    revisions = []
    if item_ids:
        revised = st.sampled_from(item_ids[:2]) | st.sampled_from(item_ids)
        for rid in _unique_ids(draw, "rev", draw(_count(0, max_revisions))):
            sid = owner()
            revisions.append(
                Sourced(
                    sid,
                    Revision(
                        id=rid,
                        item_id=draw(revised),
                        native_id=draw(_odd("1600000000.059311", "v1")),
                        author_id=to_person.pointer(draw),
                        created_at=draw(TIMES),
                        body=_body(draw, to_person, to_space),
                        comment=draw(_maybe_odd("", "earlier version, from an earlier export")),
                        raw=draw(RAW),
                        origin=draw(OPTIONAL_TEXT),
                    ),
                )
            )

    entity_ids = [*person_ids, *space_ids, *file_ids, *item_ids, *(r.entity.id for r in revisions)]
    to_entity = _Pointers(entity_ids, "itm")
    diagnostics = []
    for did in _unique_ids(draw, "dia", draw(_count(0, max_diagnostics))):
        diagnostics.append(
            Diagnostic(
                id=did,
                source_id=owner(),
                code=draw(_odd("slack.unknown_user", "slack.file_bytes_missing", "mattermost.message_split")),
                severity=draw(_SEVERITY),
                where=draw(_odd("users.json#3", "general/2020-09-13.json#4/files/0", "")),
                message=draw(TEXT),
                dropped=draw(_maybe_odd("message", "file", "user", "reaction")),
                entity_id=to_entity.pointer(draw),
                raw=draw(RAW),
            )
        )

    # Records a later export replaced: of entities here, or of one merged away since.
    superseded: dict[tuple[str, str, bytes], Superseded] = {}
    for _ in range(draw(_count(0, max_superseded))):
        row = Superseded(to_entity.target(draw), owner(), draw(RAW_BYTES), owner())
        superseded.setdefault(row[:3], row)  # (entity_id, source_id, raw) is the key

    return ArchiveContent(
        sources=tuple(sources),
        persons=tuple(persons),
        spaces=tuple(spaces),
        memberships=tuple(memberships),
        files=tuple(files),
        items=tuple(items),
        item_files=tuple(item_files),
        reactions=tuple(reactions),
        revisions=tuple(revisions),
        diagnostics=tuple(diagnostics),
        superseded=tuple(superseded.values()),
    )
