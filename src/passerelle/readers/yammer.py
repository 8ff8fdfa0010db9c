"""The Yammer / Viva Engage network data export reader.

A verified admin's "Export Network Data" (Engage admin center → Data Export, or the Data
Export API) is a zip of CSV files (reference: ../shared/reference/formats-esn.md §1):
``Messages.csv``, ``Users.csv``, ``Groups.csv``, ``Topics.csv``, ``Files.csv`` with the
``Files/`` folder of attachments, ``MessageVersions.csv`` (previous versions of edited
messages), ``Admins.csv``, ``Networks.csv``, ``Pages.csv``, ``log.txt`` and
``request.txt``. The files sit at the zip's root, or in one top folder; a folder holding
them is read the same way. Microsoft writes UTF-8 with a byte-order mark, CRLF line
breaks, quoted fields holding commas, quotes and line breaks.

The mapping (docs/model.md, "Yammer / Viva Engage network exports"):

- every row of ``Users.csv`` is a person (native id ``id``; ``display_name`` ``name``;
  ``title`` ``job_title``; ``is_deleted`` when ``deleted_at`` is set; ``is_guest`` when the
  email's domain is not the home network's). A user that rows use (sender, participant,
  mention, uploader, creator, editor, admin) but ``Users.csv`` does not list, as a
  date-ranged export lists only the users that changed in the range, is a placeholder
  person, named from the message's ``sender_name``/``sender_email`` when it sent one.
- ``Networks.csv``: a ``workspace`` space per network (native id ``network:<id>``), the
  first row being the home network; without it, one workspace ``network``. ``Admins.csv``:
  an ``admin`` membership of the home network.
- ``Groups.csv``: a ``community`` space per group (native id the group's id), private when
  ``private`` is true, ``is_archived`` when ``deleted`` is. A group messages use but the
  file does not list is made from the messages' ``group_name`` and ``in_private_group``.
  Messages in no group are in the network's "All Company" space (native id
  ``all-company``, public). A private conversation (``in_private_conversation`` true) is in
  a private ``direct_message`` space (``group_message`` beyond two people) keyed by its
  people, the sender and the ``participants`` (``user:1,user:2``), their ids sorted and
  joined by commas after ``direct:``; its members are those people. Each message is in
  the space of its own participants, so privacy survives exactly.
- every row of ``Messages.csv`` is an item: ``post`` for a thread starter (``thread_id``
  equal to ``id``), ``comment`` for a reply (parent ``replied_to_id``, thread root
  ``thread_id``), ``event`` for a ``system`` message; ``subtype`` the ``message_type`` when
  it is not ``update``; ``title``; ``created_native`` the exact ``created_at``; a
  soft-deleted row (``deleted_at``) is ``deleted``. An item's id is keyed under its thread
  (``item_id("yammer", thread_id, id)``), so a reply names its parent and root without
  knowing their space. A reply whose parent or thread starter is not in the export (ranges
  cut threads) names the item it would be, with an info diagnostic. The body is the
  ``body`` column exactly, format ``yammer`` (plain text with ``[[user:ID]]``,
  ``[[tag:ID]]`` and ``[[group:ID]]`` tokens); its CommonMark form shows them as
  ``@name``, ``#topic`` and the group's name; mentions are person references,
  ``opengraphobject:[…]`` attachments link references. ``html_body``, ``api_url``,
  ``gdpr_delete_url``… stay in raw.
- ``uploadedfile:<id>`` attachments link the item to the file ``<id>`` of ``Files.csv``
  (``file_id``), in their order; its bytes are the entry ``path`` names (or the
  ``Files/<id>.<ext>`` entry). A file Microsoft keeps in SharePoint has no bytes in the
  export: its record says so. Entries of ``Files/`` no row names are files attached to no
  item.
- ``MessageVersions.csv``: a revision of the message it names (``message_id``, else
  ``id``), native id the version's own id (``version_id``; ``id`` beside ``message_id``;
  else its origin), body ``body``, time ``created_at``.
- ``Topics.csv`` rows, ``Pages.csv`` rows without content, ``log.txt`` and ``request.txt``
  are kept in info diagnostics (the model has no topics; pages with a ``body`` or
  ``content`` column are ``page`` items); any other file of the export is a file
  attached to no item.

**Raw records.** A CSV record's raw is its exact text (the characters of its lines, quotes,
doubled quotes and inner line breaks as written, the line break that ends it left out),
stored as a JSON string so that every raw of the archive is JSON (``json_extract(raw,
'$')`` gives the text back). Bytes that are not UTF-8 are read as cp1252, the record's
original bytes kept in a ``source.not_utf8`` diagnostic at its line. ``origin`` and
``where`` are ``<entry>#<line>``: the line where the record starts, the header being line
1. A row the csv module cannot read (broken quoting, a field or line over
``FIELD_LIMIT`` characters), or with another number of values than the header has
columns, is kept in a diagnostic that drops it. Blank lines hold no record.

**Streaming.** Every file is read row by row (``csv`` over the entry's decoded lines), twice
for those whose rows refer to others: a first pass learns the ids (24 bytes a message:
its id, its thread and its line, in sorted arrays; users, groups, files and topics in
dicts) and what rows use, the second writes. Units of work: ``network``, ``users``,
``placeholders``, ``spaces``, ``admins``, ``topics``, ``files:<n>`` (1,000 rows),
``messages:<n>`` and ``versions:<n>`` (10,000 rows from the n-th), ``pages``,
``leftovers``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, ClassVar

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
    Reference,
    RefKind,
    Revision,
    Space,
    SpaceKind,
    Visibility,
)
from passerelle.progress import Display
from passerelle.readers.base import FormatInfo, Sink
from passerelle.readers.source_tree import EntryError, SourceTree

PLATFORM = "yammer"
MESSAGES, USERS, GROUPS, TOPICS = "Messages.csv", "Users.csv", "Groups.csv", "Topics.csv"
FILES, VERSIONS, ADMINS, NETWORKS, PAGES = (
    "Files.csv",
    "MessageVersions.csv",
    "Admins.csv",
    "Networks.csv",
    "Pages.csv",
)
LOGS = ("log.txt", "request.txt")
CSV_FILES = (MESSAGES, USERS, GROUPS, TOPICS, FILES, VERSIONS, ADMINS, NETWORKS, PAGES)
FILES_FOLDER = "Files/"
ALL_COMPANY = "all-company"
HOME_NETWORK = "network"  # the workspace's native id when Networks.csv does not name it
FIELD_LIMIT = 64 << 20  # characters: a longer field, or physical line, is not read
MESSAGE_BLOCK = 10_000
FILE_BLOCK = 1_000
LOG_LIMIT = 1 << 20  # log.txt and request.txt up to this size are kept in their diagnostic


# The columns each file is known to have (formats-esn.md §1.4; the headers of Topics, Pages,
# Admins, Networks and MessageVersions are not documented: these are the names read).
def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


KNOWN_COLUMNS: dict[str, frozenset[str]] = {
    MESSAGES: _names(
        "id replied_to_id parent_id thread_id conversation_id group_id group_name participants"
        " in_private_group in_private_conversation sender_id sender_type sender_name sender_email"
        " body delegate_id api_url attachments deleted_by_id deleted_by_type created_at deleted_at"
        " title html_body message_type gdpr_delete_url"
    ),
    USERS: _names(
        "id name email job_title location department api_url deleted_by_id deleted_by_type joined_at"
        " deleted_at suspended_by_id suspended_by_type suspended_at guid state user_cover_image_url"
    ),
    GROUPS: _names(
        "id name description private moderated api_url created_by_id created_by_type created_at"
        " updated_at deleted external office_group_id"
    ),
    FILES: _names(
        "id file_id type file_type name description path group_id group_name uploader_id uploader_type"
        " storage_path download_url created_at"
    ),
    VERSIONS: _names(
        "id version_id version message_id thread_id group_id sender_id sender_type editor_id"
        " edited_by_id body html_body created_at updated_at edited_at"
    ),
    TOPICS: _names("id name description url web_url api_url created_at created_by_id"),
    ADMINS: _names("id user_id name email admin_type type"),
    NETWORKS: _names("id name permalink url web_url domain domains created_at"),
    PAGES: _names("id title name body content group_id owner_id created_by_id created_at updated_at url"),
}
# What a row of each file is, for ``dropped``.
RECORD_KINDS = {
    MESSAGES: "message",
    USERS: "user",
    GROUPS: "group",
    FILES: "file",
    VERSIONS: "version",
    TOPICS: "topic",
    ADMINS: "admin",
    NETWORKS: "network",
    PAGES: "page",
}

_SURROGATES = re.compile("[\udc80-\udcff]+")
_TOKEN = re.compile(r"[@#]?\[\[(user|tag|group):([^\]\s]+)\]\]")  # "#[[tag:1]]" shows one "#"
_OPENGRAPH = re.compile(r'(\d*) : (.*?) : title="(.*?)" : description="(.*)"', re.DOTALL)
_TIME = re.compile(
    r"(\d{4})[-/](\d{2})[-/](\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")
_HASHED = 1 << 63


# -- reading a CSV file, record by record ------------------------------------------------------------
@dataclass
class _Record:
    line: int  # where the record starts (1-based)
    fields: list[str] | None  # None when the csv module could not read it
    text: str  # the record's exact text, without the line break that ends it
    original: bytes | None = None  # the record's bytes, when they are not UTF-8
    problem: str = ""  # why fields is None


class _Lines:
    """The physical lines of a text stream, for the csv module, keeping those of the record
    being read (up to the limit) and whether its quotes are balanced. A line longer than the
    limit is cut (the rest read and dropped, a quote added when the rest held an odd number,
    so that the record still ends where its quotes say)."""

    def __init__(self, text: IO[str], limit: int) -> None:
        self.text = text
        self.limit = limit
        self.count = 0  # physical lines read
        self.parts: list[str] = []
        self.kept = 0
        self.too_large = False
        self.open_quote = False  # an odd number of quotes read since the record began

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.text.readline(self.limit)
        if not line:
            raise StopIteration
        self.count += 1
        self.open_quote ^= bool(line.count('"') & 1)
        if len(line) >= self.limit and line[-1] not in "\r\n":
            self.too_large = True
            odd = False
            rest = line
            while rest and rest[-1] not in "\r\n":
                rest = self.text.readline(self.limit)
                odd ^= bool(rest.count('"') & 1)
            self.open_quote ^= odd
            ending = rest[-2:] if rest.endswith("\r\n") else rest[-1:]
            self._keep(line + ending)
            return line + ('"' if odd else "") + ending
        self._keep(line)
        return line

    def _keep(self, line: str) -> None:
        if self.kept < self.limit:
            self.parts.append(line)
            self.kept += len(line)
        else:
            self.too_large = True

    def finish_record(self) -> None:
        """After the csv module gave up on a record: read on to the line where its quotes close
        (or the end), so that the next record starts where it does."""
        while self.open_quote and next(self, None) is not None:
            pass

    def take(self) -> tuple[str, bool]:
        text, too_large = "".join(self.parts), self.too_large
        self.parts, self.kept, self.too_large, self.open_quote = [], 0, False, False
        return text, too_large


def _repair(text: str) -> str:
    """Text whose undecodable bytes (surrogate escapes) are read as cp1252."""
    return _SURROGATES.sub(
        lambda m: m.group().encode("utf-8", "surrogateescape").decode("cp1252", "replace"), text
    )


def _without_break(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith(("\n", "\r")) else text


def read_records(stream: IO[bytes]) -> Iterator[_Record]:
    """Every record of a CSV stream (header first), blank lines left out."""
    csv.field_size_limit(FIELD_LIMIT)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    lines = _Lines(text, FIELD_LIMIT)
    reader = csv.reader(lines, strict=True)
    while True:
        start = lines.count + 1
        problem = ""
        fields: list[str] | None
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            fields, problem = None, f"not CSV: {exc}"
            lines.finish_record()
        raw, too_large = lines.take()
        if fields == [] or not raw:
            continue  # a blank line
        if too_large:
            fields, problem = None, f"a field or line over {FIELD_LIMIT} characters"
        record = _Record(start, fields, _without_break(raw), problem=problem)
        if _SURROGATES.search(record.text):
            record.original = record.text.encode("utf-8", "surrogateescape")
            record.text = _repair(record.text)
            if record.fields is not None:
                record.fields = [_repair(f) if _SURROGATES.search(f) else f for f in record.fields]
        yield record


@dataclass
class _Row:
    """A data record of a file whose header was read."""

    where: str
    line: int
    values: list[str]
    index: dict[str, int]
    text: str

    def get(self, column: str) -> str | None:
        at = self.index.get(column)
        value = self.values[at] if at is not None else ""
        return value if value else None

    def first(self, *columns: str) -> str | None:
        return next((v for c in columns if (v := self.get(c)) is not None), None)

    @property
    def raw(self) -> bytes:
        return msgspec.json.encode(self.text)


@dataclass
class _Problem:
    """What became of a record that is not a row: said where it falls."""

    where: str
    record: _Record
    code: str
    message: str


@dataclass
class _Header:
    names: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    problem: str = ""  # the file as a whole cannot be read (code yammer.invalid_header)
    empty: bool = False
    original: bytes | None = None  # the header's bytes, when they are not UTF-8


def _required(entry: str) -> tuple[str, ...]:
    """Columns of which a file needs one (else none of its rows can be keyed)."""
    name = entry.rpartition("/")[2]
    return {
        MESSAGES: ("id",),
        USERS: ("id",),
        GROUPS: ("id",),
        FILES: ("file_id", "id"),
        VERSIONS: ("message_id", "id"),
        NETWORKS: ("id",),
        ADMINS: ("user_id", "id", "email"),
    }.get(name, ())


class _Table:
    """One CSV file of the export: its header, then its rows and the records that are not."""

    def __init__(self, tree: SourceTree, entry: str) -> None:
        self.tree = tree
        self.entry = entry
        self.header = _Header()

    def __iter__(self) -> Iterator[_Row | _Problem]:
        """Rows and problems in file order; the header is read first (``self.header``). An
        unreadable entry raises EntryError (before or while reading)."""
        kind = RECORD_KINDS[self.entry.rpartition("/")[2]]
        with self.tree.open_entry(self.entry) as stream:
            records = read_records(stream)
            first = next(records, None)
            if first is None:
                self.header.empty = True
                return
            if first.fields is None:
                self.header.problem = f"its header is {first.problem}"
                return
            self.header.names = first.fields
            self.header.original = first.original
            for at, name in enumerate(first.fields):
                self.header.index.setdefault(name.strip().lower(), at)
            required = _required(self.entry)
            if required and not any(c in self.header.index for c in required):
                self.header.problem = f"its header has no {' or '.join(required)} column"
                return
            width = len(first.fields)
            for record in records:
                where = f"{self.entry}#{record.line}"
                if record.fields is None:
                    message = f"a {kind} row that is {record.problem}; kept in this diagnostic"
                    yield _Problem(where, record, "yammer.invalid_row", message)
                elif len(record.fields) != width:
                    message = (
                        f"a {kind} row of {len(record.fields)} values where the header has {width}"
                        " columns; kept in this diagnostic"
                    )
                    yield _Problem(where, record, "yammer.wrong_column_count", message)
                else:
                    row = _Row(where, record.line, record.fields, self.header.index, record.text)
                    if record.original is not None:
                        yield _Problem(where, record, "source.not_utf8", "")
                    yield row


def _flag(value: str | None) -> bool | None:
    """True/False for Yammer's "true"/"false" (any case, or 1/0, yes/no); None otherwise."""
    if value is None:
        return False
    folded = value.strip().lower()
    if folded in _TRUE:
        return True
    return False if folded in _FALSE else None


def parse_time(value: str | None) -> int | None:
    """Microseconds since the epoch of a Yammer time: ISO 8601 (``2021-03-04T10:20:30.123Z``),
    Ruby's ``2021-03-04 10:20:30 UTC`` or the API's ``2021/03/04 10:20:30 +0000``; a time
    without a zone is UTC. None when it is none of these."""
    if value is None:
        return None
    match = _TIME.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=UTC
        )
    except ValueError:
        return None
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        moment -= offset if zone[0] == "+" else -offset
    micros = int((fraction or "0").ljust(6, "0")[:6])
    return (int(moment.timestamp()) * 1_000_000) + micros


def _key(native: str) -> int:
    """A message id as a 64-bit key: the number itself for a decimal id, else a digest."""
    if native.isascii() and native.isdigit() and len(native) < 19 and (native[0] != "0" or native == "0"):
        return int(native)
    return int.from_bytes(hashlib.blake2b(native.encode(), digest_size=8).digest(), "big") | _HASHED


def _participants(value: str | None) -> tuple[list[str], list[str]]:
    """(user ids, tokens that are not ``user:<id>``) of a participants list."""
    users: list[str] = []
    others: list[str] = []
    for token in (value or "").split(","):
        token = token.strip()
        if not token:
            continue
        kind, _, ident = token.partition(":")
        if kind.strip().lower() == "user" and ident.strip():
            users.append(ident.strip())
        else:
            others.append(token)
    return users, others


def direct_native(people: list[str] | set[str]) -> str:
    return "direct:" + ",".join(sorted(set(people)))


@dataclass(frozen=True)
class _Attachment:
    kind: str  # "file", "link", or the unknown kind's name
    target: str  # the file id, the URL, or the whole token
    label: str | None = None


def parse_attachments(value: str | None) -> list[_Attachment]:
    """``uploadedfile:<id>`` and ``opengraphobject:[<id> : <url> : title="…" : description="…"]``
    entries, comma-separated; any other ``kind:value`` is returned with its kind."""
    found: list[_Attachment] = []
    text = value or ""
    at = 0
    while at < len(text):
        while at < len(text) and text[at] in ", \t\r\n":
            at += 1
        if at >= len(text):
            break
        if text.startswith("opengraphobject:[", at):
            body_start = at + len("opengraphobject:[")
            end = _bracket_end(text, body_start)
            inner = text[body_start:end]
            match = _OPENGRAPH.fullmatch(inner)
            if match and match.group(2).strip():
                found.append(_Attachment("link", match.group(2).strip(), match.group(3) or None))
            else:
                found.append(_Attachment("opengraphobject", text[at : end + 1]))
            at = end + 1
            continue
        comma = text.find(",", at)
        end = len(text) if comma < 0 else comma
        token = text[at:end].strip()
        kind, _, ident = token.partition(":")
        if kind.lower() == "uploadedfile" and ident.strip():
            found.append(_Attachment("file", ident.strip()))
        else:
            found.append(_Attachment(kind.lower() or token, token))
        at = end + 1
    return found


def _bracket_end(text: str, start: int) -> int:
    """Where an opengraphobject's bracket closes: the first ``"]`` followed by a comma or the
    end, else the last ``]``, else the end."""
    at = start
    while True:
        close = text.find('"]', at)
        if close < 0:
            last = text.rfind("]", start)
            return last if last >= 0 else len(text)
        after = close + 2
        rest = text[after:].lstrip()
        if not rest or rest.startswith(","):
            return close + 1
        at = close + 1


# -- what the first pass learns -------------------------------------------------------------------------
@dataclass
class _Use:
    """A person, group or file rows refer to, as first referred to."""

    where: str
    name: str | None = None
    email: str | None = None
    flag: bool = False  # a person: a bot; a group: private


@dataclass
class _Messages:
    """Per message of Messages.csv: its key, its thread's key and its line, sorted by key."""

    keys: array[int] = field(default_factory=lambda: array("Q"))
    threads: array[int] = field(default_factory=lambda: array("Q"))
    lines: array[int] = field(default_factory=lambda: array("Q"))
    thread_names: dict[int, str] = field(default_factory=dict)  # threads whose id is not a number

    def add(self, native: str, thread: str, line: int) -> None:
        self.keys.append(_key(native))
        key = _key(thread)
        if key & _HASHED:
            self.thread_names.setdefault(key, thread)
        self.threads.append(key)
        self.lines.append(line)

    def settle(self) -> None:
        order = sorted(range(len(self.keys)), key=self.keys.__getitem__)
        self.keys = array("Q", (self.keys[i] for i in order))
        self.threads = array("Q", (self.threads[i] for i in order))
        self.lines = array("Q", (self.lines[i] for i in order))

    def find(self, native: str) -> int:
        """The position of the message's first row; -1 when Messages.csv has none."""
        key = _key(native)
        at = bisect_left(self.keys, key)
        return at if at < len(self.keys) and self.keys[at] == key else -1

    def thread(self, at: int) -> str:
        key = self.threads[at]
        return self.thread_names[key] if key & _HASHED else str(key)


@dataclass
class _Scan:
    root: str
    users: dict[str, tuple[str | None, int]] = field(default_factory=dict)  # id -> (name, first line)
    emails: dict[str, str] = field(default_factory=dict)  # lowercased email -> user id
    domains: Counter[str] = field(default_factory=Counter)  # users' email domains
    home_domains: frozenset[str] = frozenset()
    networks: dict[str, int] = field(default_factory=dict)  # id -> first line
    home: str = HOME_NETWORK  # the home network's native id
    groups: dict[str, tuple[str | None, int]] = field(default_factory=dict)  # id -> (name, first line)
    topics: dict[str, str | None] = field(default_factory=dict)  # id -> name
    files: dict[str, tuple[int, str | None]] = field(default_factory=dict)  # id -> (first line, entry)
    stems: dict[str, str] = field(default_factory=dict)  # Files/<id>.<ext> -> entry, by id
    consumed: set[str] = field(default_factory=set)  # entries read as a file's bytes
    messages: _Messages = field(default_factory=_Messages)
    persons: dict[str, _Use] = field(default_factory=dict)  # every user id used, first use
    used_groups: dict[str, _Use] = field(default_factory=dict)
    unknown_files: dict[str, _Use] = field(default_factory=dict)
    directs: dict[str, tuple[tuple[str, ...], str]] = field(
        default_factory=dict
    )  # native -> (members, first use)
    all_company: str | None = None  # where a message first goes to All Company
    counts: Counter[str] = field(default_factory=Counter)  # records per file

    def entry(self, name: str) -> str:
        return self.root + name

    def use_person(
        self,
        ident: str | None,
        where: str,
        name: str | None = None,
        email: str | None = None,
        bot: bool = False,
    ) -> None:
        if ident and ident not in self.persons:
            self.persons[ident] = _Use(where, name, email, bot)

    def user_name(self, ident: str) -> str | None:
        if ident in self.users:
            return self.users[ident][0]
        use = self.persons.get(ident)
        return use.name if use is not None else None


def _export_root(tree: SourceTree) -> str | None:
    """The folder holding the export's CSV files: "" for the root, "<folder>/" for one top
    folder; None when the tree is not a Yammer export."""

    def holds(prefix: str) -> bool:
        return prefix + MESSAGES in tree and (prefix + USERS in tree or prefix + GROUPS in tree)

    if holds(""):
        return ""
    folders = {
        name.partition("/")[0] + "/"
        for name in tree.names()
        if name.count("/") == 1 and name.endswith(MESSAGES)
    }
    found = [f for f in sorted(folders) if holds(f)]
    return found[0] if len(found) == 1 else None


# -- the reader --------------------------------------------------------------------------------------------
class YammerReader:
    info: ClassVar[FormatInfo] = FormatInfo(
        name="yammer",
        platform=PLATFORM,
        description="Yammer / Viva Engage network data export (the zip of CSV files, or its folder:"
        " Messages, Users, Groups, Files with Files/, MessageVersions, Topics, Admins, Networks, Pages)",
        keeps=(
            "users (deleted, guests by email domain) and the users rows use but Users.csv does not list"
            " (placeholders named from the messages)",
            "networks as workspaces, admins as the home network's admins",
            "groups as communities with their privacy; All Company; private conversations as direct"
            " spaces of their participants, so privacy survives",
            "messages: thread starters as posts, replies as comments with their parent and thread root"
            " (also when outside the export), system messages as events, soft-deleted messages,"
            " titles, exact created_at, the body verbatim and as CommonMark with mentions",
            "attachments (uploadedfile) with their bytes from Files/, link previews (opengraphobject)"
            " as link references",
            "edit history (MessageVersions.csv) as revisions",
            "every CSV record's exact text as its raw record; topics, pages, log.txt and request.txt"
            " in diagnostics",
        ),
        cannot_carry=(
            "group membership, follows and bookmarks: the export does not hold them",
            "files stored in SharePoint: the export holds their links only",
            "topics (no model entity: kept in diagnostics, shown as #name in bodies)",
            "html_body, delegate, deleted_by and the other columns the model has no field for (kept in raw)",
        ),
    )
    version: ClassVar[str] = "1"

    @classmethod
    def detect(cls, tree: SourceTree) -> bool:
        return _export_root(tree) is not None

    @classmethod
    def check(cls, tree: SourceTree) -> None:
        """Refuse, before the archive is touched, a tree without the export's Messages.csv
        (also under --from yammer)."""
        if _export_root(tree) is None:
            raise BadInputError(
                f"{tree.path}: not a Yammer network export (no {MESSAGES} beside {USERS} or {GROUPS},"
                " at its root or in one top folder)"
            )

    def read(self, tree: SourceTree, out: ArchiveWriter, display: Display) -> None:
        self.check(tree)
        root = _export_root(tree)
        assert root is not None
        scan = self._scan(tree, root, display)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("network", lambda: self._networks(tree, out, scan)),
            ("users", lambda: self._users(tree, out, scan)),
            ("placeholders", lambda: self._placeholders(tree, out, scan)),
            ("spaces", lambda: self._spaces(tree, out, scan)),
            ("admins", lambda: self._admins(tree, out, scan)),
            ("topics", lambda: self._topics(tree, out, scan)),
        ]
        for unit, step in steps:
            if not out.is_done(unit):
                step()
                out.complete(unit)
        self._blocks(tree, scan.entry(FILES), "files", FILE_BLOCK, out, scan, self._file_row)
        task = display.task("Yammer messages", total=scan.counts[MESSAGES])
        self._blocks(
            tree, scan.entry(MESSAGES), "messages", MESSAGE_BLOCK, out, scan, self._message, task.advance
        )
        self._blocks(tree, scan.entry(VERSIONS), "versions", MESSAGE_BLOCK, out, scan, self._version)
        if not out.is_done("pages"):
            self._table(tree, scan.entry(PAGES), out, scan, self._page)
            out.complete("pages")
        if not out.is_done("leftovers"):
            self._leftovers(tree, out, scan)
            out.complete("leftovers")

    # -- pass 1 ----------------------------------------------------------------------------------------
    def _rows(self, tree: SourceTree, entry: str) -> Iterator[_Row]:
        """The rows of a file, for the first pass (what is not a row is said by the second)."""
        if entry not in tree:
            return
        try:
            for row in _Table(tree, entry):
                if isinstance(row, _Row):
                    yield row
        except EntryError:
            return

    def _scan(self, tree: SourceTree, root: str, display: Display) -> _Scan:
        scan = _Scan(root)
        for row in self._rows(tree, scan.entry(NETWORKS)):
            ident = row.get("id")
            if ident and ident not in scan.networks:
                scan.networks[ident] = row.line
        if scan.networks:
            scan.home = f"network:{next(iter(scan.networks))}"
        home_domains: set[str] = set()
        for row in self._rows(tree, scan.entry(NETWORKS)):
            for column in ("domain", "domains", "permalink"):
                for value in (row.get(column) or "").replace(";", ",").split(","):
                    if "." in value and "/" not in value and " " not in value.strip():
                        home_domains.add(value.strip().lower())
            break  # the home network's
        for row in self._rows(tree, scan.entry(USERS)):
            ident = row.get("id")
            if not ident or ident in scan.users:
                continue
            scan.users[ident] = (row.get("name"), row.line)
            email = row.get("email")
            if email:
                scan.emails.setdefault(email.strip().lower(), ident)
                domain = email.rpartition("@")[2].strip().lower()
                if domain:
                    scan.domains[domain] += 1
        if not home_domains and scan.domains:
            # The network's own domain is not in the export: the one most users' email has.
            home_domains = {min(scan.domains.items(), key=lambda kv: (-kv[1], kv[0]))[0]}
        scan.home_domains = frozenset(home_domains)
        for row in self._rows(tree, scan.entry(GROUPS)):
            ident = row.get("id")
            if ident and ident not in scan.groups:
                scan.groups[ident] = (row.get("name"), row.line)
                if (row.get("created_by_type") or "user").lower() == "user":
                    scan.use_person(row.get("created_by_id"), row.where)
        for row in self._rows(tree, scan.entry(TOPICS)):
            ident = row.get("id")
            if ident:
                scan.topics.setdefault(ident, row.get("name"))
        for name in tree.names():
            if name.startswith(scan.entry(FILES_FOLDER)) and "/" not in name[len(scan.entry(FILES_FOLDER)) :]:
                stem = name[len(scan.entry(FILES_FOLDER)) :].partition(".")[0]
                if stem:
                    scan.stems.setdefault(stem, name)
        for row in self._rows(tree, scan.entry(FILES)):
            ident = row.first("file_id", "id")
            if not ident or ident in scan.files:
                continue
            entry = _file_entry(tree, scan, row.get("path"), ident)
            scan.files[ident] = (row.line, entry)
            if entry is not None:
                scan.consumed.add(entry)
            if (row.get("uploader_type") or "user").lower() == "user":
                scan.use_person(row.get("uploader_id"), row.where)
        task = display.task("Yammer messages (first pass)")
        for row in self._rows(tree, scan.entry(MESSAGES)):
            task.advance()
            self._scan_message(tree, row, scan)
        scan.messages.settle()
        for row in self._rows(tree, scan.entry(VERSIONS)):
            scan.use_person(row.first("editor_id", "edited_by_id", "sender_id"), row.where)
            for match in _TOKEN.finditer(row.get("body") or ""):
                if match.group(1) == "user":
                    scan.use_person(match.group(2), row.where)
        for row in self._rows(tree, scan.entry(ADMINS)):
            ident = row.first("user_id", "id")
            if ident is None and (email := row.get("email")):
                ident = scan.emails.get(email.strip().lower())
            scan.use_person(ident, row.where, name=row.get("name"), email=row.get("email"))
        if self._has_content(tree, scan.entry(PAGES)):
            for row in self._rows(tree, scan.entry(PAGES)):
                scan.use_person(row.first("owner_id", "created_by_id"), row.where)
                group = row.get("group_id")
                if group:
                    scan.used_groups.setdefault(group, _Use(row.where))
                elif row.get("id"):
                    scan.all_company = scan.all_company or row.where
        return scan

    def _scan_message(self, tree: SourceTree, row: _Row, scan: _Scan) -> None:
        ident = row.get("id")
        if ident is None:
            return
        scan.counts[MESSAGES] += 1
        scan.messages.add(ident, row.get("thread_id") or ident, row.line)
        where = row.where
        sender = row.get("sender_id")
        bot = (row.get("sender_type") or "user").lower() != "user"
        scan.use_person(sender, where, name=row.get("sender_name"), email=row.get("sender_email"), bot=bot)
        people, _ = _participants(row.get("participants"))
        for person in people:
            scan.use_person(person, where)
        for match in _TOKEN.finditer(row.get("body") or ""):
            if match.group(1) == "user":
                scan.use_person(match.group(2), where)
        if _flag(row.get("in_private_conversation")):
            native = direct_native([*people, *([sender] if sender else [])])
            if native not in scan.directs:
                members = tuple(sorted(set(people) | ({sender} if sender else set())))
                scan.directs[native] = (members, where)
        elif group := row.get("group_id"):
            if group not in scan.used_groups:
                private = _flag(row.get("in_private_group")) is True
                scan.used_groups[group] = _Use(where, name=row.get("group_name"), flag=private)
        elif scan.all_company is None:
            scan.all_company = where
        for attachment in parse_attachments(row.get("attachments")):
            if (
                attachment.kind == "file"
                and attachment.target not in scan.files
                and attachment.target not in scan.unknown_files
            ):
                scan.unknown_files[attachment.target] = _Use(where)
                entry = scan.stems.get(attachment.target)
                if entry is not None:
                    scan.consumed.add(entry)

    def _has_content(self, tree: SourceTree, entry: str) -> bool:
        if entry not in tree:
            return False
        table = _Table(tree, entry)
        try:
            next(iter(table), None)
        except EntryError:
            return False
        return any(c in table.header.index for c in ("body", "content"))

    # -- pass 2: file by file -------------------------------------------------------------------------------
    def _table(
        self,
        tree: SourceTree,
        entry: str,
        out: ArchiveWriter,
        scan: _Scan,
        on_row: Callable[[SourceTree, _Row, _Scan, Sink], None],
    ) -> None:
        """Read a whole file in the current unit."""
        self._blocks(tree, entry, None, 0, out, scan, on_row)

    def _blocks(
        self,
        tree: SourceTree,
        entry: str,
        unit: str | None,
        size: int,
        out: ArchiveWriter,
        scan: _Scan,
        on_row: Callable[[SourceTree, _Row, _Scan, Sink], None],
        advance: Callable[[int], None] | None = None,
    ) -> None:
        """Read a file, its records in units of ``size`` (``<unit>:<first record>``); a file
        read in the current unit when ``unit`` is None. What concerns the file as a whole is
        said in its first unit."""

        def name(block: int) -> str | None:
            return f"{unit}:{block * size}" if unit is not None else None

        def done(block: int) -> bool:
            unit_name = name(block)
            return unit_name is not None and out.is_done(unit_name)

        def finish(block: int) -> None:
            unit_name = name(block)
            if unit_name is not None and not out.is_done(unit_name):
                out.complete(unit_name)

        if entry not in tree:
            finish(0)
            return
        table = _Table(tree, entry)
        block, ordinal = 0, 0
        said_header = False
        try:
            for record in table:
                if not said_header:
                    said_header = True
                    if not done(0):
                        self._said_header(table, out)
                current = ordinal // size if size else 0
                if isinstance(record, _Row) or record.code != "source.not_utf8":
                    ordinal += 1
                if current != block:
                    finish(block)
                    block = current
                if advance is not None and isinstance(record, _Row):
                    advance(1)
                if done(block):
                    continue
                if isinstance(record, _Problem):
                    self._problem(record, out)
                else:
                    on_row(tree, record, scan, out)
        except EntryError as exc:
            if not done(block):
                out.diagnose(exc.code, entry, f"{exc}; the rows before it are read", dropped="entry")
        if not said_header and not done(0):
            self._said_header(table, out)
        finish(block)

    @staticmethod
    def _problem(problem: _Problem, out: Sink) -> None:
        record = problem.record
        if problem.code == "source.not_utf8":
            assert record.original is not None
            message = (
                "not UTF-8: its invalid bytes were read as cp1252; its original bytes are in this diagnostic"
            )
            out.diagnose("source.not_utf8", problem.where, message, raw=record.original)
            return
        kind = RECORD_KINDS[problem.where.rpartition("#")[0].rpartition("/")[2]]
        out.diagnose(
            problem.code,
            problem.where,
            problem.message,
            dropped=kind,
            raw=record.original if record.original is not None else record.text.encode(),
        )

    def _said_header(self, table: _Table, out: Sink) -> None:
        entry = table.entry
        header = table.header
        if header.empty:
            out.diagnose("yammer.empty_file", entry, f"{entry!r} is empty: it holds no header and no row")
            return
        if header.problem:
            try:
                with table.tree.open_entry(entry) as stream:
                    sha, _ = out.put_blob(stream, size=table.tree.size(entry))
            except EntryError as exc:
                out.diagnose(exc.code, entry, str(exc), dropped="entry")
                return
            message = f"{entry!r}: {header.problem}; none of its rows is read; its bytes are kept as blob sha256:{sha}"
            out.diagnose("yammer.invalid_header", entry, message, dropped="file")
            return
        if header.original is not None:
            message = (
                "not UTF-8: its invalid bytes were read as cp1252; its original bytes are in this diagnostic"
            )
            out.diagnose("source.not_utf8", f"{entry}#1", message, raw=header.original)
        known = KNOWN_COLUMNS[entry.rpartition("/")[2]]
        unknown = [n for n in header.names if n.strip().lower() not in known]
        if unknown:
            listed = ", ".join(repr(n) for n in unknown)
            message = f"{entry!r} has columns passerelle does not model ({listed}): their values are kept in each row's raw"
            out.diagnose("yammer.unknown_column", entry, message)

    # -- networks, users, placeholders -------------------------------------------------------------------
    def _networks(self, tree: SourceTree, out: ArchiveWriter, scan: _Scan) -> None:
        if not scan.networks:
            out.add(
                Space(
                    id=ids.space_id(PLATFORM, HOME_NETWORK),
                    platform=PLATFORM,
                    native_id=HOME_NETWORK,
                    kind=SpaceKind.WORKSPACE,
                    visibility=Visibility.PRIVATE,
                    name="network",
                )
            )
        self._table(tree, scan.entry(NETWORKS), out, scan, self._network_row)
        if scan.all_company is not None:
            out.add(
                Space(
                    id=ids.space_id(PLATFORM, ALL_COMPANY),
                    platform=PLATFORM,
                    native_id=ALL_COMPANY,
                    kind=SpaceKind.COMMUNITY,
                    visibility=Visibility.PUBLIC,
                    name="All Company",
                    parent_id=ids.space_id(PLATFORM, scan.home),
                    raw=msgspec.json.encode({"space": "All Company", "network": scan.home}),
                    origin=scan.all_company,
                )
            )

    def _network_row(self, tree: SourceTree, row: _Row, scan: _Scan, out: Sink) -> None:
        ident = row.get("id")
        if ident is None:
            message = "a network row without an id; kept in this diagnostic"
            out.diagnose("yammer.invalid_record", row.where, message, dropped="network", raw=row.raw)
            return
        if scan.networks.get(ident) != row.line:
            self._duplicate(row, "network", ident, scan.networks[ident], out)
            return
        out.add(
            Space(
                id=ids.space_id(PLATFORM, f"network:{ident}"),
                platform=PLATFORM,
                native_id=f"network:{ident}",
                kind=SpaceKind.WORKSPACE,
                visibility=Visibility.PRIVATE,
                name=row.first("permalink", "name"),
                display_name=row.get("name"),
                created_at=self._time(row, "created_at", out),
                raw=row.raw,
                origin=row.where,
            )
        )

    @staticmethod
    def _duplicate(row: _Row, kind: str, ident: str, first: int, out: Sink) -> None:
        entry = row.where.rpartition("#")[0]
        message = f"{kind} {ident} comes again (first at {entry}#{first}); kept in this diagnostic"
        out.diagnose("yammer.duplicate_record", row.where, message, dropped=kind, raw=row.raw)

    def _users(self, tree: SourceTree, out: ArchiveWriter, scan: _Scan) -> None:
        self._table(tree, scan.entry(USERS), out, scan, self._user_row)

    def _user_row(self, tree: SourceTree, row: _Row, scan: _Scan, out: Sink) -> None:
        ident = row.get("id")
        if ident is None:
            message = "a user row without an id; kept in this diagnostic"
            out.diagnose("yammer.invalid_record", row.where, message, dropped="user", raw=row.raw)
            return
        if scan.users[ident][1] != row.line:
            self._duplicate(row, "user", ident, scan.users[ident][1], out)
            return
        for column in ("joined_at", "deleted_at", "suspended_at"):
            self._time(row, column, out)
        email = row.get("email")
        domain = email.rpartition("@")[2].strip().lower() if email and "@" in email else None
        out.add(
            Person(
                id=ids.person_id(PLATFORM, ident),
                platform=PLATFORM,
                native_id=ident,
                display_name=row.get("name"),
                email=email,
                title=row.get("job_title"),
                is_deleted=row.get("deleted_at") is not None,
                is_guest=bool(domain and scan.home_domains and domain not in scan.home_domains),
                raw=row.raw,
                origin=row.where,
            )
        )

    def _placeholders(self, tree: SourceTree, out: ArchiveWriter, scan: _Scan) -> None:
        for ident, use in scan.persons.items():
            if ident in scan.users:
                continue
            person = ids.person_id(PLATFORM, ident)
            out.add(
                Person(
                    id=person,
                    platform=PLATFORM,
                    native_id=ident,
                    display_name=use.name,
                    email=use.email,
                    is_bot=use.flag,
                    is_placeholder=True,
                    origin=use.where,
                )
            )
            shown = f"{use.name} ({ident})" if use.name else ident
            message = f"user {shown} is not in {USERS}; a placeholder person was made"
            out.diagnose("yammer.unknown_user", use.where, message, entity_id=person)

    # -- spaces ------------------------------------------------------------------------------------------
    def _spaces(self, tree: SourceTree, out: ArchiveWriter, scan: _Scan) -> None:
        self._table(tree, scan.entry(GROUPS), out, scan, self._group_row)
        network = ids.space_id(PLATFORM, scan.home)
        for ident, use in scan.used_groups.items():
            if ident in scan.groups:
                continue
            space = ids.space_id(PLATFORM, ident)
            out.add(
                Space(
                    id=space,
                    platform=PLATFORM,
                    native_id=ident,
                    kind=SpaceKind.COMMUNITY,
                    visibility=Visibility.PRIVATE if use.flag else Visibility.PUBLIC,
                    name=use.name,
                    parent_id=network,
                    raw=msgspec.json.encode(
                        {"group_id": ident, "group_name": use.name, "in_private_group": use.flag}
                    ),
                    origin=use.where,
                )
            )
            shown = f"{use.name!r} ({ident})" if use.name else ident
            message = f"group {shown} is not in {GROUPS}; a community was made from the messages' group name and privacy"
            out.diagnose("yammer.unknown_group", use.where, message, entity_id=space)
        for native, (members, where) in scan.directs.items():
            space = ids.space_id(PLATFORM, native)
            out.add(
                Space(
                    id=space,
                    platform=PLATFORM,
                    native_id=native,
                    kind=SpaceKind.DIRECT_MESSAGE if len(members) <= 2 else SpaceKind.GROUP_MESSAGE,
                    visibility=Visibility.PRIVATE,
                    parent_id=network,
                    raw=msgspec.json.encode({"private_conversation": list(members)}),
                    origin=where,
                )
            )
            for member in members:
                out.add(Membership(space_id=space, person_id=ids.person_id(PLATFORM, member), origin=where))

    def _group_row(self, tree: SourceTree, row: _Row, scan: _Scan, out: Sink) -> None:
        ident = row.get("id")
        if ident is None:
            message = "a group row without an id; kept in this diagnostic"
            out.diagnose("yammer.invalid_record", row.where, message, dropped="group", raw=row.raw)
            return
        if scan.groups[ident][1] != row.line:
            self._duplicate(row, "group", ident, scan.groups[ident][1], out)
            return
        private = self._flag(row, "private", out)
        deleted = self._flag(row, "deleted", out)
        for column in ("moderated", "external"):
            self._flag(row, column, out)
        creator = row.get("created_by_id")
        if (row.get("created_by_type") or "user").lower() != "user":
            creator = None
        self._time(row, "updated_at", out)
        out.add(
            Space(
                id=ids.space_id(PLATFORM, ident),
                platform=PLATFORM,
                native_id=ident,
                kind=SpaceKind.COMMUNITY,
                visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
                name=row.get("name"),
                purpose=row.get("description"),
                parent_id=ids.space_id(PLATFORM, scan.home),
                created_at=self._time(row, "created_at", out),
                creator_id=ids.person_id(PLATFORM, creator) if creator else None,
                is_archived=deleted,
                raw=row.raw,
                origin=row.where,
            )
        )

    def _admins(self, tree: SourceTree, out: ArchiveWriter, scan: _Scan) -> None:
        self._table(tree, scan.entry(ADMINS), out, scan, self._admin_row)

    def _admin_row(self, tree: SourceTree, row: _Row, scan: _Scan, out: Sink) -> None:
        ident = row.first("user_id", "id")
        email = row.get("email")
        if ident is None and email:
            ident = scan.emails.get(email.strip().lower())
        if ident is None:
            message = "an admin row naming no user (no id, and an email no user has); kept in this diagnostic"
            out.diagnose("yammer.invalid_record", row.where, message, dropped="admin", raw=row.raw)
            return
        person = ids.person_id(PLATFORM, ident)
        out.add(
            Membership(
                space_id=ids.space_id(PLATFORM, scan.home), person_id=person, role="admin", origin=row.where
            )
        )
        kind = row.first("admin_type", "type")
        message = f"user {ident} is an admin{f' ({kind})' if kind else ''} of the network: an admin membership; the row is kept in this diagnostic"
        out.diagnose("yammer.admin", row.where, message, entity_id=person, raw=row.raw)

    def _topics(self, tree: SourceTree, out: ArchiveWriter, scan: _Scan) -> None:
        self._table(tree, scan.entry(TOPICS), out, scan, self._topic_row)

    @staticmethod
    def _topic_row(tree: SourceTree, row: _Row, scan: _Scan, out: Sink) -> None:
        name = row.get("name")
        shown = f"#{name}" if name else f"topic {row.get('id')}"
        message = f"{shown}: the model has no topics; the row is kept in this diagnostic"
        out.diagnose("yammer.topic", row.where, message, dropped="topic", raw=row.raw)

    # -- files -----------------------------------------------------------------------------------------
    def _file_row(self, tree: SourceTree, row: _Row, scan: _Scan, out: Sink) -> None:
        ident = row.first("file_id", "id")
        if ident is None:
            message = "a file row without a file_id; kept in this diagnostic"
            out.diagnose("yammer.invalid_record", row.where, message, dropped="file", raw=row.raw)
            return
        first, entry = scan.files[ident]
        if first != row.line:
            self._duplicate(row, "file", ident, first, out)
            return
        storage = row.get("storage_path") or ""
        if entry is not None:
            missing = ""
        elif "sharepoint" in storage.lower():
            missing = "stored in SharePoint: the export holds its link (download_url) only"
        elif row.get("path"):
            missing = f"not in the export at {row.get('path')!r} (exported without attachments?)"
        else:
            missing = "not in the export (no path)"
        uploader = row.get("uploader_id")
        if (row.get("uploader_type") or "user").lower() != "user":
            uploader = None
        media_type = row.first("type", "file_type")
        self._file(
            tree,
            ident,
            entry,
            missing,
            row.where,
            out,
            name=row.get("name"),
            title=row.get("description"),
            media_type=media_type if media_type and "/" in media_type else None,
            url=row.get("download_url"),
            author=ids.person_id(PLATFORM, uploader) if uploader else None,
            created=self._time(row, "created_at", out),
            raw=row.raw,
        )

    @staticmethod
    def _file(
        tree: SourceTree,
        ident: str,
        entry: str | None,
        missing: str,
        where: str,
        out: Sink,
        *,
        name: str | None,
        raw: bytes,
        title: str | None = None,
        media_type: str | None = None,
        url: str | None = None,
        author: str | None = None,
        created: int | None = None,
    ) -> None:
        sha = size = None
        if entry is not None:
            try:
                with tree.open_entry(entry) as stream:
                    sha, size = out.put_blob(stream, size=tree.size(entry))
            except EntryError as exc:
                missing = f"unreadable in the export: {exc}"
        file = ids.file_id(PLATFORM, ident)
        if sha is None:
            out.diagnose(
                "yammer.file_bytes_missing",
                where,
                f"file {ident} ({name or 'no name'}): {missing}",
                entity_id=file,
            )
        out.add(
            File(
                id=file,
                platform=PLATFORM,
                native_id=ident,
                name=name,
                title=title,
                media_type=media_type,
                size=size,
                sha256=sha,
                missing_reason=None if sha else missing,
                url=url,
                author_id=author,
                created_at=created,
                raw=raw,
                origin=where,
            )
        )

    # -- messages --------------------------------------------------------------------------------------
    def _message(self, tree: SourceTree, row: _Row, scan: _Scan, out: Sink) -> None:
        ident = row.get("id")
        where = row.where
        if ident is None:
            message = "a message row without an id; kept in this diagnostic"
            out.diagnose("yammer.invalid_record", where, message, dropped="message", raw=row.raw)
            return
        index = scan.messages
        at = index.find(ident)
        attachments = parse_attachments(row.get("attachments"))
        files = list(dict.fromkeys(a.target for a in attachments if a.kind == "file"))
        for file_ident in files:
            use = scan.unknown_files.get(file_ident)
            if use is not None and use.where == where:  # its first use: the file is made here
                self._unknown_file(tree, file_ident, where, out, scan)
        if at < 0 or index.lines[at] != row.line:
            first = index.lines[at] if at >= 0 else row.line
            self._duplicate(row, "message", ident, first, out)
            return
        thread = index.thread(at)
        item = ids.item_id(PLATFORM, thread, ident)
        sender = row.get("sender_id")
        private_conversation = self._flag(row, "in_private_conversation", out)
        self._flag(row, "in_private_group", out)
        people, others = _participants(row.get("participants"))
        if others:
            listed = ", ".join(repr(o) for o in others)
            message = f"participants that are not user:<id> ({listed}); kept in raw"
            out.diagnose("yammer.invalid_value", where, message)
        if private_conversation:
            space = ids.space_id(PLATFORM, direct_native([*people, *([sender] if sender else [])]))
        elif group := row.get("group_id"):
            space = ids.space_id(PLATFORM, group)
        else:
            space = ids.space_id(PLATFORM, ALL_COMPANY)
        replied = row.get("replied_to_id")
        parent = thread_root = None
        if thread != ident:
            thread_root = ids.item_id(PLATFORM, thread, thread)
            parent_native = replied or thread
            found = index.find(parent_native)
            parent = ids.item_id(PLATFORM, index.thread(found) if found >= 0 else thread, parent_native)
            if found < 0:
                message = f"a reply to message {parent_native}, which is not in the export: its parent names the item it would be"
                out.diagnose("yammer.parent_not_in_export", where, message, entity_id=parent)
            if parent_native != thread and index.find(thread) < 0:
                message = f"the first message of thread {thread} is not in the export: its thread root names the item it would be"
                out.diagnose("yammer.parent_not_in_export", where, message, entity_id=thread_root)
        elif replied is not None:
            message = (
                f"its thread's first message (thread_id is its id) with replied_to_id {replied}; kept in raw"
            )
            out.diagnose("yammer.invalid_value", where, message)
        message_type = row.get("message_type")
        if message_type == "system":
            kind = ItemKind.EVENT
        else:
            kind = ItemKind.COMMENT if thread_root else ItemKind.POST
        deleted_at = self._time(row, "deleted_at", out)
        links: list[Reference] = []
        for attachment in attachments:
            if attachment.kind == "file":
                continue
            if attachment.kind == "link":
                links.append(Reference(kind=RefKind.LINK, target=attachment.target, label=attachment.label))
            else:
                message = (
                    f"an attachment passerelle does not model ({attachment.target[:200]!r}); kept in raw"
                )
                out.diagnose("yammer.unknown_attachment", where, message)
        out.add(
            Item(
                id=item,
                platform=PLATFORM,
                native_id=ident,
                kind=kind,
                space_id=space,
                subtype=message_type if message_type not in (None, "update") else None,
                author_id=ids.person_id(PLATFORM, sender) if sender else None,
                created_at=self._time(row, "created_at", out),
                created_native=row.get("created_at"),
                deleted=row.get("deleted_at") is not None,
                deleted_at=deleted_at,
                thread_root_id=thread_root,
                parent_id=parent,
                title=row.get("title"),
                body=self._body(row.get("body") or "", scan, links),
                raw=row.raw,
                origin=where,
            )
        )
        for position, file_ident in enumerate(files):
            out.add(ItemFile(item_id=item, file_id=ids.file_id(PLATFORM, file_ident), position=position))

    def _unknown_file(self, tree: SourceTree, ident: str, where: str, out: Sink, scan: _Scan) -> None:
        entry = scan.stems.get(ident)
        message = f"attachment uploadedfile:{ident} is not in {FILES}: a file record was made"
        message += f", its bytes from {entry!r}" if entry else ", without bytes"
        file = ids.file_id(PLATFORM, ident)
        out.diagnose("yammer.unknown_file", where, message, entity_id=file)
        self._file(
            tree,
            ident,
            entry,
            f"not in {FILES} nor in {FILES_FOLDER}",
            where,
            out,
            name=entry.rpartition("/")[2] if entry else None,
            raw=msgspec.json.encode({"attachment": f"uploadedfile:{ident}"}),
        )

    @staticmethod
    def _body(source: str, scan: _Scan, links: list[Reference]) -> Body:
        refs: list[Reference] = []

        def shown(match: re.Match[str]) -> str:
            kind, ident = match.group(1), match.group(2)
            if kind == "user":
                name = scan.user_name(ident)
                refs.append(
                    Reference(
                        kind=RefKind.PERSON,
                        target=ident,
                        target_id=ids.person_id(PLATFORM, ident),
                        label=name,
                    )
                )
                return f"@{name or ident}"
            if kind == "group":
                group = scan.groups.get(ident)
                name = (
                    group[0]
                    if group
                    else (scan.used_groups[ident].name if ident in scan.used_groups else None)
                )
                refs.append(
                    Reference(
                        kind=RefKind.SPACE, target=ident, target_id=ids.space_id(PLATFORM, ident), label=name
                    )
                )
                return name or ident
            topic = scan.topics.get(ident)
            return f"#{topic or ident}"

        text = _TOKEN.sub(shown, source).replace("\r\n", "\n").replace("\r", "\n")
        return Body(format="yammer", source=source, normalised=text, references=(*refs, *links))

    # -- versions ----------------------------------------------------------------------------------------
    def _version(self, tree: SourceTree, row: _Row, scan: _Scan, out: Sink) -> None:
        own_message_column = "message_id" in row.index
        message_native = row.get("message_id") if own_message_column else row.get("id")
        if message_native is None:
            message = "a version row naming no message; kept in this diagnostic"
            out.diagnose("yammer.invalid_record", row.where, message, dropped="version", raw=row.raw)
            return
        at = scan.messages.find(message_native)
        if at < 0:
            message = (
                f"a version of message {message_native}, which is not in {MESSAGES}; kept in this diagnostic"
            )
            out.diagnose(
                "yammer.version_of_unknown_message", row.where, message, dropped="version", raw=row.raw
            )
            return
        item = ids.item_id(PLATFORM, scan.messages.thread(at), message_native)
        native = (
            row.first("version_id", "version") or (row.get("id") if own_message_column else None) or row.where
        )
        editor = row.first("editor_id", "edited_by_id", "sender_id")
        out.add(
            Revision(
                id=ids.revision_id(item, native),
                item_id=item,
                native_id=native,
                author_id=ids.person_id(PLATFORM, editor) if editor else None,
                created_at=self._time(row, "created_at", out)
                if row.get("created_at")
                else self._time(row, "updated_at", out),
                body=self._body(row.get("body") or "", scan, []),
                raw=row.raw,
                origin=row.where,
            )
        )

    # -- pages -------------------------------------------------------------------------------------------
    def _page(self, tree: SourceTree, row: _Row, scan: _Scan, out: Sink) -> None:
        content = next((c for c in ("body", "content") if c in row.index), None)
        ident = row.get("id")
        if content is None or ident is None:
            name = row.first("title", "name")
            why = (
                "a page row without an id"
                if content
                else "a page without content (Pages.csv lists ids, dates and owners)"
            )
            message = f"{why}{f' ({name!r})' if name else ''}; the row is kept in this diagnostic"
            out.diagnose("yammer.page", row.where, message, dropped="page", raw=row.raw)
            return
        group = row.get("group_id")
        owner = row.first("owner_id", "created_by_id")
        text = row.get(content) or ""
        out.add(
            Item(
                id=ids.item_id(PLATFORM, "pages", ident),
                platform=PLATFORM,
                native_id=ident,
                kind=ItemKind.PAGE,
                space_id=ids.space_id(PLATFORM, group or ALL_COMPANY),
                author_id=ids.person_id(PLATFORM, owner) if owner else None,
                created_at=self._time(row, "created_at", out),
                created_native=row.get("created_at"),
                title=row.first("title", "name"),
                body=Body(format="text", source=text, normalised=text.replace("\r\n", "\n")),
                raw=row.raw,
                origin=row.where,
            )
        )

    # -- values --------------------------------------------------------------------------------------------
    @staticmethod
    def _time(row: _Row, column: str, out: Sink) -> int | None:
        value = row.get(column)
        at = parse_time(value)
        if at is None and value is not None:
            message = f"{column} {value!r} is not a time passerelle reads; kept in raw"
            out.diagnose("yammer.invalid_value", row.where, message)
        return at

    @staticmethod
    def _flag(row: _Row, column: str, out: Sink) -> bool:
        value = row.get(column)
        flag = _flag(value)
        if flag is None:
            message = f"{column} {value!r} is not true or false; taken as false, kept in raw"
            out.diagnose("yammer.invalid_value", row.where, message)
        return bool(flag)

    # -- the rest ------------------------------------------------------------------------------------------
    def _leftovers(self, tree: SourceTree, out: ArchiveWriter, scan: _Scan) -> None:
        for problem in tree.problems:
            out.diagnose(problem.code, problem.entry, problem.message, dropped=problem.dropped)
        read = {scan.entry(name) for name in CSV_FILES}
        logs = {scan.entry(name) for name in LOGS}
        files_folder = scan.entry(FILES_FOLDER)
        for name in tree.names():
            if name in read or name in scan.consumed:
                continue
            if name in logs and tree.size(name) <= LOG_LIMIT:
                try:
                    data = tree.read_bytes(name, LOG_LIMIT)
                except EntryError as exc:
                    out.diagnose(exc.code, name, str(exc), dropped="entry")
                    continue
                what = "summary" if name.endswith(LOGS[0]) else "parameters"
                out.diagnose(
                    "yammer.export_log",
                    name,
                    f"the export's {what} ({name}), kept in this diagnostic",
                    raw=data,
                )
                continue
            try:
                with tree.open_entry(name) as stream:
                    sha, size = out.put_blob(stream, size=tree.size(name))
            except EntryError as exc:
                out.diagnose(exc.code, name, str(exc), dropped="entry")
                continue
            file = ids.file_id(PLATFORM, name)
            if name.startswith(files_folder):
                message = (
                    f"{name!r} ({size} bytes): no row of {FILES} names it; kept as a file attached to no item"
                )
                out.diagnose("yammer.unreferenced_file", name, message, entity_id=file)
            else:
                message = f"{name!r} ({size} bytes) is not a file passerelle reads in a Yammer export; kept as a file attached to no item"
                out.diagnose("yammer.unknown_entry", name, message, entity_id=file)
            out.add(
                File(
                    id=file,
                    platform=PLATFORM,
                    native_id=name,
                    name=name.rpartition("/")[2],
                    size=size,
                    sha256=sha,
                    raw=msgspec.json.encode({"path": name}),
                    origin=name,
                )
            )


def _file_entry(tree: SourceTree, scan: _Scan, path: str | None, ident: str) -> str | None:
    """The entry holding a file's bytes: its ``path`` (from the export's folder, or the
    tree's root), else ``Files/<id>.<ext>``; None when neither is in the export. A path that
    climbs out (``..``, absolute) is not followed."""
    if path:
        clean = path.replace("\\", "/").lstrip("/")
        if ".." not in clean.split("/") and ":" not in clean.split("/", 1)[0]:
            for candidate in (scan.root + clean, clean):
                if candidate in tree:
                    return candidate
    return scan.stems.get(ident)
