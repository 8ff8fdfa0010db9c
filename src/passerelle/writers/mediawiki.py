"""The MediaWiki XML writer (``export --to mediawiki``): an archive's wiki pages with their
whole history, as a dump ``maintenance/importDump.php`` imports (docs/wikis.md, "Writing
MediaWiki").

The output holds ``dump.xml`` (MediaWiki's export schema, as ``XmlDumpWriter.php`` writes
it: siteinfo, then every page with every revision oldest first, then its uploads) and the
uploaded files' bytes under ``images/<a>/<ab>/<Name>`` (MediaWiki's hashed layout: the md5
of the name with underscores). Import with::

    php maintenance/importDump.php --uploads --image-base-path=OUT/images OUT/dump.xml

Pages of a MediaWiki archive (the *home* wiki: the MediaWiki workspace with the most
pages) are written from their raw records: the same titles, namespaces, page and revision
ids, contributors, comments, flags and texts, in the schema version the source dump had
(0.11 when it had none; elements written from the archive's fields then follow that
version: ``origin`` and ``<text sha1>`` from 0.11, model and format from 0.8). Everything
else that is a page (another wiki's, or another MediaWiki's) gets a MediaWiki title by one
rule (its namespaces or spaces become subpage segments: ``ns:sub:page`` → ``Ns/sub/page``,
``Space.Sub.WebHome`` → ``Space/Sub``), a body converted to wikitext (links and embedded files renamed), free page
and revision ids, and uploads on ``File:`` pages. Items that are not pages are not written
(``mediawiki.not_a_page``). Every entity is accounted in the export log; the manifest maps
the pages, revisions and file pages whose ids change to their output ids.

Memory holds one revision at a time (a batch of revisions for conversion); the titles of
every page and file are planned first into temporary SQLite tables (so that conflicts and
links resolve without holding them), and read back a batch at a time.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator
from collections.abc import Mapping as AnyMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, ClassVar
from urllib.parse import unquote
from xml.sax.saxutils import escape, quoteattr

import msgspec
from lxml import etree

from passerelle import __version__, markup
from passerelle.archive.view import ArchiveView, Message
from passerelle.model.entities import File, Item, Person, Revision, Space, SpaceKind
from passerelle.model.ids import item_id as make_item_id
from passerelle.progress import Display
from passerelle.readers.safe_xml import safe_parser
from passerelle.writers.base import ExportLog, Note, Outcome, Output, RuleCheck, WriterInfo

PLATFORM = "mediawiki"
DUMP = "dump.xml"
IMAGES = "images"
DEFAULT_SCHEMA = "0.11"
_NS_URI = "http://www.mediawiki.org/xml/export-{}/"
_SCHEMA_OF = re.compile(r"http://www\.mediawiki\.org/xml/export-(\d+\.\d+)/")
_CONTENTS_MARK = "@@passerelle-contents@@"
_BASE64_CHUNK = 3 << 18  # bytes of a file encoded at a time (a multiple of 3: no padding inside)
_MAX_TITLE_BYTES = 255
_CONVERT_BATCH = 32  # revisions converted at a time (one pandoc run)
_FORBIDDEN_TITLE = re.compile(r"[#<>\[\]|{}\x00-\x1f\x7f]")
_FORBIDDEN_USER = re.compile(r"[#<>\[\]|{}/@:\x00-\x1f\x7f]")
# What XML 1.0 cannot carry at all (not even as a character reference).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_IP = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|[0-9A-Fa-f:]+:[0-9A-Fa-f:]*)$")

# MediaWiki's canonical namespaces (Namespace.php), written when the archive has no siteinfo.
CANONICAL_NAMESPACES: tuple[tuple[int, str], ...] = (
    (-2, "Media"), (-1, "Special"), (0, ""), (1, "Talk"), (2, "User"), (3, "User talk"),
    (4, "Project"), (5, "Project talk"), (6, "File"), (7, "File talk"), (8, "MediaWiki"),
    (9, "MediaWiki talk"), (10, "Template"), (11, "Template talk"), (12, "Help"), (13, "Help talk"),
    (14, "Category"), (15, "Category talk"),
)  # fmt: skip
FILE_NAMESPACE = 6
# Where another platform's page title splits into segments (its namespaces or spaces).
_SEPARATORS = {"dokuwiki": ":", "xwiki": "."}
_MODELS = {  # body format -> (content model, content format) of MediaWiki
    "mediawiki": ("wikitext", "text/x-wiki"),
    "css": ("css", "text/css"),
    "javascript": ("javascript", "text/javascript"),
    "json": ("json", "application/json"),
    "text": ("text", "text/plain"),
}


def sha1_base36(data: bytes) -> str:
    """MediaWiki's sha1: the SHA-1 of the bytes in base 36, zero-padded to 31 digits."""
    return _base36(hashlib.sha1(data).digest())


def _base36(digest: bytes) -> str:
    number = int.from_bytes(digest, "big")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out.rjust(31, "0")


def xml_text(text: str) -> str:
    """The text with each character XML 1.0 cannot carry as U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _escape(text: str) -> str:
    """Text for an XML element: escaped, a carriage return as ``&#13;`` (a parser would read a
    literal one as a line feed, and the sha1 would not be the text's)."""
    return escape(xml_text(text)).replace("\r", "&#13;")


def timestamp(micros: int | None) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC), the sub-second part cut; the epoch when unknown."""
    seconds = (micros or 0) // 1_000_000
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_seconds(micros: Any) -> Any:
    return micros - micros % 1_000_000 if isinstance(micros, int) else micros


def image_path(name: str) -> str:
    """``a/ab/Name.png``: where MediaWiki keeps an upload (md5 of the name with underscores)."""
    stored = name.replace(" ", "_")
    digest = hashlib.md5(stored.encode("utf-8")).hexdigest()
    return f"{digest[0]}/{digest[:2]}/{stored}"


def _capitalise(title: str) -> str:
    return title[:1].upper() + title[1:]


def _shorten(title: str, limit: int = _MAX_TITLE_BYTES) -> str:
    """The title cut to ``limit`` UTF-8 bytes, ending with ``~`` and 8 hex digits of its hash."""
    tag = "~" + hashlib.sha1(title.encode("utf-8")).hexdigest()[:8]
    data = title.encode("utf-8")[: limit - len(tag)]
    return data.decode("utf-8", "ignore").rstrip() + tag


def title_for(platform: str, title: str) -> tuple[str, list[tuple[str, str]]]:
    """A page of another platform's MediaWiki title, and what was adapted: [(code, detail)].

    Its namespaces or spaces become subpage segments (``ns:sub:page`` → ``Ns/sub/page``,
    ``Space.Sub.Page`` → ``Space/Sub/Page``, an XWiki ``WebHome`` page is its space's path),
    underscores are spaces (as MediaWiki writes titles), the first letter is upper case, characters MediaWiki forbids are
    replaced with ``-``, and a title over 255 bytes is shortened."""
    changes: list[tuple[str, str]] = []
    sep = _SEPARATORS.get(platform)
    text = title
    if sep == ":":
        text = "/".join(s for s in title.split(":") if s)
    elif sep == ".":
        segments = [s.replace("\\.", ".").replace("\\\\", "\\") for s in re.split(r"(?<!\\)\.", title)]
        if len(segments) > 1 and segments[-1] == "WebHome":
            segments.pop()
        text = "/".join(segments)
    text = text.replace("_", " ")  # MediaWiki's titles: an underscore is a space, written as one
    text = " ".join(text.split())
    if text != title and sep is not None:
        changes.append(("mediawiki.title_path", f"{title} -> {text}"))
    cleaned = valid_title(text)
    if cleaned != text:
        changes.append(("mediawiki.title_characters", title))
    cleaned = _capitalise(cleaned) or "Untitled"
    if len(cleaned.encode("utf-8")) > _MAX_TITLE_BYTES:
        changes.append(("mediawiki.title_too_long", title))
        cleaned = _shorten(cleaned)
    return cleaned, changes


def valid_title(text: str) -> str:
    """A title MediaWiki accepts (``Title::secureAndSplit``): its forbidden characters, a ``%``
    before two hex digits (read as an escape), an HTML entity's ``&``, ``.``/``..`` path
    segments, ``~~~`` (a signature) and a leading ``:`` each made harmless with ``-``."""
    text = _FORBIDDEN_TITLE.sub("-", text)
    text = re.sub(r"%(?=[0-9A-Fa-f]{2})", "-", text)
    text = re.sub(r"&(?=[A-Za-z0-9\x80-\U0010ffff]+;|#)", "-", text)
    text = "/".join("-" * len(seg) if seg in (".", "..") else seg for seg in text.split("/"))
    text = text.replace("~~~", "~~-").lstrip(":")
    return " ".join(text.split())


def user_name(person: Person) -> str:
    """A person's MediaWiki user name: its name, else display name, else native id; the
    characters MediaWiki forbids replaced with ``-``, first letter upper case."""
    name = person.name or person.display_name or person.native_id
    name = " ".join(_FORBIDDEN_USER.sub("-", name.replace("_", " ")).split()) or "Unknown"
    name = _capitalise(name)
    if len(name.encode("utf-8")) > _MAX_TITLE_BYTES:
        name = _shorten(name)
    return name


def _strip_root_xmlns(text: str, uri: str | None) -> str:
    """``<x xmlns="uri" …>`` → ``<x …>``: the element is written inside a document whose
    default namespace is that URI already."""
    if not uri:
        return text
    end = text.index(">")
    return text[:end].replace(f' xmlns="{uri}"', "", 1) + text[end:]


@dataclass(frozen=True)
class _Raw:
    """A raw record of the MediaWiki reader, parsed: its element name, namespace and XML."""

    name: str
    uri: str | None
    element: etree._Element


def _parse_raw(raw: bytes | None) -> _Raw | None:
    if not raw or not raw.lstrip().startswith(b"<"):
        return None
    try:
        element = etree.fromstring(raw, safe_parser())
    except etree.XMLSyntaxError:
        return None
    tag = element.tag if isinstance(element.tag, str) else ""
    uri, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return _Raw(name, uri or None, element)


class _Xml:
    """Writes the dump as text, a few kilobytes at a time."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._parts: list[str] = []
        self._size = 0

    def write(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        if self._size > 1 << 16:
            self.flush()

    def element(self, indent: int, name: str, text: str | None, attrs: str = "") -> None:
        pad = " " * indent
        if text is None or text == "":
            self.write(f"{pad}<{name}{attrs} />\n")
        else:
            self.write(f"{pad}<{name}{attrs}>{_escape(text)}</{name}>\n")

    def flush(self) -> None:
        if self._parts:
            self._stream.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
            self._size = 0


@dataclass
class _Wiki:
    """The wiki the dump is: its siteinfo, namespaces and schema."""

    workspace: Space | None
    schema: str
    uri: str
    siteinfo: str  # the <siteinfo> element, indented, with its line end
    namespaces: dict[str, int]  # a namespace's name (and canonical name) -> key
    spaces: dict[str, int]  # the archive's namespace spaces of this wiki -> key


class MediaWikiWriter:
    info: ClassVar[WriterInfo] = WriterInfo(
        name="mediawiki",
        description="A MediaWiki XML dump with every revision of every page and the uploaded files,"
        " for maintenance/importDump.php --uploads --image-base-path",
        keeps=(
            "every page with every revision, oldest first: text, time, contributor, comment",
            "pages of a MediaWiki archive exactly as their dump had them (raw records: titles,"
            " namespaces, page and revision ids, minor flags, models, sha1), in its schema version",
            "pages of other wikis under a MediaWiki title (namespaces as subpage paths), their"
            " bodies converted to wikitext (pandoc) with links and embedded files renamed",
            "uploads and their older versions: bytes under images/<a>/<ab>/<Name>, or in the XML"
            " where the source dump had them there; other wikis' files on File: pages",
            "log items of a MediaWiki archive",
            "contributors by user name (and id), IP editors, hidden contributors",
        ),
        cannot_carry=(
            "items that are not pages (messages, posts, comments), reactions, memberships",
            "persons' display names, real names and emails; persons who edited nothing",
            "spaces that are not the written wiki's namespaces (another wiki's become title paths)",
            "sub-second times; a page's own times where they are not its revisions'",
            "deletion of a page (written as a live page with its history)",
        ),
        reader="mediawiki",
        revisions_by_native=True,
    )
    version: ClassVar[str] = "1"
    rule_checks: ClassVar[AnyMapping[str, RuleCheck]] = {
        "mediawiki.user_fields": lambda archive, output: output is None,
        "mediawiki.time_seconds": lambda archive, output: to_seconds(archive) == output,
    }

    def __init__(self, options: AnyMapping[str, str]) -> None:
        self.options = dict(options)

    # -- the whole export -----------------------------------------------------------------
    def write(self, view: ArchiveView, out: Output, log: ExportLog, display: Display) -> None:
        run = _Run(view, out, log, display)
        run.write()


class _Run:
    def __init__(self, view: ArchiveView, out: Output, log: ExportLog, display: Display) -> None:
        self.view = view
        self.out = out
        self.log = log
        self.display = display
        self.conn = view.connection
        self.persons: dict[str, Person] = {p.id: p for p in view.persons()}
        self.spaces: dict[str, Space] = {s.id: s for s in view.spaces()}
        self.written_persons: dict[str, str] = {}  # person id -> the user name written
        self.renamed: dict[str, str] = {}  # person id -> user name, where it differs from the name
        self.keys = self._plan_persons()
        self.home = self._home_wiki()
        self.wiki = self._wiki()
        self.next_revision = 1 + int(
            self.conn.execute(
                "SELECT coalesce(max(CAST(r.native_id AS INTEGER)), 0) FROM revisions r"
                " JOIN items i ON i.id = r.item_id WHERE i.platform = ? AND i.kind = 'page'",
                (PLATFORM,),
            ).fetchone()[0]
        )

    # -- which wiki ---------------------------------------------------------------------
    def _home_wiki(self) -> Space | None:
        """The MediaWiki workspace holding the most pages (its pages keep their ids). A page
        is a wiki's when its id is the one the reader gives a page of that wiki (its native id
        under the wiki's): two dumps in one archive share their namespace spaces."""
        wikis = {
            s.native_id: s
            for s in self.spaces.values()
            if s.platform == PLATFORM and s.kind is SpaceKind.WORKSPACE
        }
        if not wikis:
            return None
        counts = dict.fromkeys(wikis, 0)
        for page, native in self.conn.execute(
            "SELECT id, native_id FROM items WHERE kind = 'page' AND platform = ?", (PLATFORM,)
        ):
            for wiki in wikis:
                if page == make_item_id(PLATFORM, wiki, native):
                    counts[wiki] += 1
                    break
        best = min(wikis, key=lambda w: (-counts[w], wikis[w].id))
        return wikis[best]

    def _wiki(self) -> _Wiki:
        home = self.home
        spaces: dict[str, int] = {}
        if home is not None:
            for space in self.spaces.values():
                if space.parent_id == home.id and space.native_id.startswith("ns:"):
                    try:
                        spaces[space.id] = int(space.native_id[3:])
                    except ValueError:
                        continue
        raw = _parse_raw(home.raw) if home is not None else None
        # The source's schema: its siteinfo's namespace, else a page's (0.10 at the least).
        if raw is not None and raw.name == "siteinfo":
            known, source_uri = True, raw.uri
        else:
            known, source_uri = self._page_uri(spaces)
        schema = DEFAULT_SCHEMA
        found = _SCHEMA_OF.fullmatch(source_uri or "")
        if found:
            schema = found.group(1)
        # A source dump without the export namespace (some tools write none) is written without it.
        uri = "" if known and source_uri is None else _NS_URI.format(schema)
        namespaces: dict[str, int] = {}
        if raw is not None and raw.name == "siteinfo":
            for ns in raw.element.iter("{*}namespace"):
                try:
                    key = int(ns.get("key", ""))
                except ValueError:
                    continue
                namespaces[(ns.text or "").strip()] = key
            siteinfo = "  " + self._element_text(raw, uri) + "\n"
        else:
            lines: dict[int, str] = {}
            for space_id, key in spaces.items():
                space = self.spaces[space_id]
                ns_raw = _parse_raw(space.raw)
                if ns_raw is not None and ns_raw.name == "namespace":
                    lines[key] = self._element_text(ns_raw, uri)
                    name = (ns_raw.element.text or "").strip()
                else:
                    name = "" if key == 0 or not space.name or space.name == "(main)" else space.name
                    lines[key] = self._namespace_line(key, name)
                namespaces.setdefault(name, key)
            for key, name in CANONICAL_NAMESPACES:
                if key not in lines:
                    lines[key] = self._namespace_line(key, name)
                    namespaces.setdefault(name, key)
            siteinfo = self._siteinfo(home, [lines[k] for k in sorted(lines)])
        for key, name in CANONICAL_NAMESPACES:
            namespaces.setdefault(name, key)
        return _Wiki(home, schema, uri, siteinfo, namespaces, spaces)

    def _page_uri(self, spaces: dict[str, int]) -> tuple[bool, str | None]:
        """Whether a home page has a raw record, and its namespace."""
        if not spaces:
            return False, None
        marks = ",".join("?" * len(spaces))
        row = self.conn.execute(
            f"SELECT raw FROM items WHERE kind = 'page' AND space_id IN ({marks}) AND raw IS NOT NULL LIMIT 1",
            tuple(spaces),
        ).fetchone()
        raw = _parse_raw(row[0]) if row is not None else None
        return (True, raw.uri) if raw is not None and raw.name == "page" else (False, None)

    @staticmethod
    def _element_text(raw: _Raw, uri: str) -> str:
        """A raw record's element as text inside a document whose default namespace is ``uri``."""
        text = etree.tostring(raw.element, encoding="unicode", with_tail=False)
        if raw.uri and uri and raw.uri != uri:
            text = text.replace(f' xmlns="{raw.uri}"', f' xmlns="{uri}"', 1)
        return _strip_root_xmlns(text, uri)

    @staticmethod
    def _namespace_line(key: int, name: str) -> str:
        text = f">{_escape(name)}</namespace>" if name else " />"
        return f'<namespace key="{key}" case="first-letter"{text}'

    def _siteinfo(self, home: Space | None, namespaces: list[str]) -> str:
        name = (home.display_name or home.name or home.native_id) if home is not None else "passerelle"
        dbname = home.native_id if home is not None else "passerelle"
        lines = ["  <siteinfo>\n"]
        lines.append(f"    <sitename>{_escape(name)}</sitename>\n")
        lines.append(f"    <dbname>{_escape(dbname)}</dbname>\n")
        lines.append("    <base />\n")
        lines.append(f"    <generator>passerelle {_escape(__version__)}</generator>\n")
        lines.append("    <case>first-letter</case>\n")
        lines.append("    <namespaces>\n")
        lines += [f"      {line}\n" for line in namespaces]
        lines.append("    </namespaces>\n  </siteinfo>\n")
        return "".join(lines)

    # -- the plan: every page's title and id ------------------------------------------------
    def _plan(self) -> None:
        c = self.conn
        c.execute("DROP TABLE IF EXISTS temp.mw_pages")
        c.execute(
            "CREATE TEMP TABLE mw_pages (item_id TEXT PRIMARY KEY, title TEXT NOT NULL UNIQUE,"
            " source_title TEXT, page_id INTEGER NOT NULL UNIQUE, ns INTEGER NOT NULL, home INTEGER NOT NULL,"
            " file_id TEXT, platform TEXT, source_key TEXT)"
        )
        c.execute("CREATE INDEX temp.mw_pages_source ON mw_pages (platform, source_key)")
        c.execute("DROP TABLE IF EXISTS temp.mw_file_names")
        c.execute(
            "CREATE TEMP TABLE mw_file_names (file_id TEXT PRIMARY KEY, native_id TEXT, name TEXT,"
            " written TEXT NOT NULL UNIQUE, original TEXT)"
        )
        c.execute("CREATE INDEX temp.mw_file_names_native ON mw_file_names (native_id)")
        c.execute("CREATE INDEX temp.mw_file_names_name ON mw_file_names (name)")
        c.execute("CREATE INDEX temp.mw_pages_file ON mw_pages (file_id)")
        c.execute("DROP TABLE IF EXISTS temp.mw_files")
        c.execute("CREATE TEMP TABLE mw_files (file_id TEXT PRIMARY KEY) WITHOUT ROWID")
        c.execute("DROP TABLE IF EXISTS temp.mw_blobs")
        c.execute("CREATE TEMP TABLE mw_blobs (rel TEXT PRIMARY KEY, sha256 TEXT NOT NULL) WITHOUT ROWID")
        home_ids = tuple(self.wiki.spaces) + ((self.home.id,) if self.home is not None else ())
        marks = ",".join("?" * len(home_ids)) or "NULL"
        # Home pages first, by page id, then the others by title.
        self._next_page = 1 + int(
            c.execute(
                "SELECT coalesce(max(CAST(native_id AS INTEGER)), 0) FROM items WHERE kind = 'page'"
                " AND platform = ? AND native_id GLOB '[0-9]*' AND native_id NOT GLOB '*[^0-9]*'",
                (PLATFORM,),
            ).fetchone()[0]
        )
        self.page_notes: dict[str, list[Note]] = {}
        wiki = self.home.native_id if self.home is not None else None
        # Two passes over a cursor of its own each (other statements run beside it): the home
        # wiki's pages first, so that they keep their ids and titles, then the others. A page
        # is the home wiki's when its id is the one the reader gives a page of that wiki (two
        # MediaWiki dumps in one archive share their namespace spaces).
        # The home pages in their dump's order (the reader keeps a user's name from its first
        # edit in the dump): by their origin ``<file>#<line>``; the plan is written in its order.
        at = "instr(origin, '#')"
        in_source = (
            f"CASE WHEN {at} > 0 THEN substr(origin, 1, {at} - 1) END,"
            f" CASE WHEN {at} > 0 THEN CAST(substr(origin, {at} + 1) AS INTEGER) END,"
        )
        for first in (True, False):
            rows = c.execute(
                "SELECT id, platform, native_id, title FROM items WHERE kind = 'page'"
                f" ORDER BY NOT (platform = ? AND space_id IN ({marks})), {in_source if first else ''}"
                " length(native_id), native_id, title, id",
                (PLATFORM, *home_ids),
            )
            for item_id, platform, native, title in rows:
                home = platform == PLATFORM and item_id == make_item_id(PLATFORM, wiki or "", native)
                if home is first:
                    self._plan_page(item_id, platform, native, title, home)
        self.next_page = self._next_page

        # The names of the files that get File: pages of their own (all but a home page's
        # uploads and files of items that are not pages), so that links to them are rewritten.
        files = c.execute(
            "SELECT id, native_id, name FROM files f WHERE NOT (CAST(substr(raw, 1, 7) AS TEXT) = '<upload'"
            " AND id IN (SELECT file_id FROM item_files WHERE item_id IN"
            " (SELECT item_id FROM temp.mw_pages WHERE home = 1)))"
            " AND (id NOT IN (SELECT file_id FROM item_files) OR id IN (SELECT file_id FROM item_files"
            " WHERE item_id IN (SELECT item_id FROM temp.mw_pages))) ORDER BY id"
        )
        for file_id, native, name in files:
            self._file_name(file_id, native, name)

    def _plan_page(self, item_id: str, platform: str, native: str, title: str | None, home: bool) -> None:
        """Plan one page: its MediaWiki title (noted where it changes), page id and namespace."""
        c = self.conn
        notes: list[Note] = []
        source_title = title or native
        if platform == PLATFORM:
            written = _capitalise(" ".join(source_title.replace("_", " ").split())) or "Untitled"
            changes: list[tuple[str, str]] = []
            if valid_title(written) != written:
                changes.append(("mediawiki.title_characters", source_title))
                written = valid_title(written) or "Untitled"
            if len(written.encode("utf-8")) > _MAX_TITLE_BYTES:
                changes.append(("mediawiki.title_too_long", source_title))
                written = _shorten(written)
        else:
            written, changes = title_for(platform, source_title)
        if written != source_title and not changes:
            changes.append(("mediawiki.title_path", f"{source_title} -> {written}"))
        for code, detail in changes:
            notes.append(self._note(code, "item", item_id, "title", detail, original=source_title))
        candidate, n = written, 1
        while c.execute("SELECT 1 FROM mw_pages WHERE title = ?", (candidate,)).fetchone():
            n += 1
            candidate = f"{written} ({n})"
        if candidate != written:
            notes.append(self._note("mediawiki.title_conflict", "item", item_id, "title", candidate))
        page_id: int
        if (
            home
            and native.isdigit()
            and not c.execute("SELECT 1 FROM mw_pages WHERE page_id = ?", (int(native),)).fetchone()
        ):
            page_id = int(native)
        else:
            page_id, self._next_page = self._next_page, self._next_page + 1
            # (A home page without an id keeps having none: its raw record is written.)
            if platform == PLATFORM and not (home and not native.isdigit()):
                notes.append(self._note("mediawiki.page_id_changed", "item", item_id, None, str(page_id)))
        ns = self._namespace_of(candidate)
        c.execute(
            "INSERT INTO mw_pages VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            (
                item_id,
                candidate,
                source_title,
                page_id,
                ns,
                int(home),
                platform,
                markup.page_key(platform, source_title),
            ),
        )
        if notes:
            self.page_notes[item_id] = notes

    def _file_name(self, file_id: str, native: str, name: str | None) -> str:
        """A file's name on its File: page (planned once): capitalised, ``/``, ``:`` and the
        characters titles forbid as ``-``, an extension, `` (2)`` when taken."""
        row = self.conn.execute(
            "SELECT written FROM temp.mw_file_names WHERE file_id = ?", (file_id,)
        ).fetchone()
        if row is not None:
            return str(row[0])
        original = name or native
        cleaned = _FORBIDDEN_TITLE.sub("-", original.replace("_", " ").replace("/", "-").replace(":", "-"))
        written = _capitalise(" ".join(cleaned.split())) or "File"
        if "." not in written:
            written += ".bin"
        if len(("File:" + written).encode("utf-8")) > _MAX_TITLE_BYTES:
            stem, _dot, ext = written.rpartition(".")
            written = _shorten(stem, _MAX_TITLE_BYTES - len(("File:." + ext).encode("utf-8"))) + "." + ext
        candidate, n = written, 1
        stem, _dot, ext = written.rpartition(".")
        while self.conn.execute(
            "SELECT 1 FROM temp.mw_file_names WHERE written = ?1 UNION ALL"
            " SELECT 1 FROM temp.mw_pages WHERE title = 'File:' || ?1",
            (candidate,),
        ).fetchone():
            n += 1
            candidate = f"{stem} ({n}).{ext}"
        self.conn.execute(
            "INSERT INTO temp.mw_file_names VALUES (?, ?, ?, ?, ?)",
            (file_id, native, name, candidate, original),
        )
        return candidate

    def _namespace_of(self, title: str) -> int:
        prefix, colon, _ = title.partition(":")
        if colon and prefix in self.wiki.namespaces:
            return self.wiki.namespaces[prefix]
        return 0

    def _note(
        self,
        code: str,
        entity: str,
        entity_id: str | None,
        attribute: str | None,
        message: str,
        *,
        outcome: Outcome = Outcome.ADAPTED,
        original: str | None = None,
        where: str = DUMP,
    ) -> Note:
        return Note(
            code=code,
            entity=entity,
            outcome=outcome,
            message=message,
            where=where,
            entity_id=entity_id,
            attribute=attribute,
            original=original,
        )

    # -- writing --------------------------------------------------------------------------
    def write(self) -> None:
        self._plan()
        pages = int(self.conn.execute("SELECT count(*) FROM temp.mw_pages").fetchone()[0])
        task = self.display.task("pages", total=pages)
        with self.out.open(DUMP) as stream:
            xml = _Xml(stream)
            uri = self.wiki.uri
            if uri:
                xml.write(
                    f'<mediawiki xmlns="{uri}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
                    f' xsi:schemaLocation="{uri} http://www.mediawiki.org/xml/export-{self.wiki.schema}.xsd"'
                    f' version="{self.wiki.schema}" xml:lang="en">\n'
                )
            else:
                xml.write(f'<mediawiki version="{self.wiki.schema}" xml:lang="en">\n')
            xml.write(self.wiki.siteinfo)
            # A batch of the plan at a time, in its order (file pages are added to it while
            # pages are written: they are written beside their pages).
            after = 0
            while True:
                rows = self.conn.execute(
                    "SELECT rowid, item_id, title, page_id, ns, home FROM temp.mw_pages WHERE file_id IS NULL"
                    " AND rowid > ? ORDER BY rowid LIMIT 512",
                    (after,),
                ).fetchall()
                if not rows:
                    break
                for _rowid, item_id, title, page_id, ns, home in rows:
                    self._page(xml, item_id, title, page_id, ns, bool(home))
                    task.advance()
                after = rows[-1][0]
            self._loose_files(xml)
            self._logitems(xml)
            xml.write("</mediawiki>\n")
            xml.flush()
        for rel, sha256 in self.conn.execute("SELECT rel, sha256 FROM temp.mw_blobs ORDER BY rel"):
            self.out.write_blob(f"{IMAGES}/{rel}", sha256)
        self._not_pages()
        self._spaces()
        self._persons()

    # -- one page -------------------------------------------------------------------------
    def _page(self, xml: _Xml, item_id: str, title: str, page_id: int, ns: int, home: bool) -> None:
        message = self.view.item(item_id)
        assert message is not None
        item = message.item
        notes = list(self.page_notes.get(item_id, ()))
        raw = _parse_raw(item.raw) if home else None
        if raw is not None and raw.name == "page":
            text = self._element_text(raw, self.wiki.uri)
            if text.endswith("/>"):
                head, tail = text[:-2] + ">", "</page>"
            else:
                head, tail = text[: text.rindex("</")], text[text.rindex("</") :]
            xml.write("  " + head)
        else:
            head = None
            xml.write("  <page>\n")
            xml.element(4, "title", title)
            xml.element(4, "ns", str(ns))
            xml.element(4, "id", str(page_id))
            redirect = self._redirect(item)
            if redirect:
                xml.write(f"    <redirect title={quoteattr(redirect)} />\n")
            tail = "</page>"
        if not home:
            notes += self._foreign_page_notes(item)
        if item.deleted:
            notes.append(
                self._note("mediawiki.deleted_page", "item", item_id, "deleted", "written as a live page")
            )
        written, first, last = self._revisions(xml, item, home)
        if written:
            notes += self._page_times(item, first, last, written)
        if written == 0 and not home:
            self._current_as_revision(xml, item, notes)
        others = self._uploads(xml, message, home)
        if others:
            notes.append(
                self._note("mediawiki.file_page", "item", item_id, "files", "on File: pages of their own")
            )
        xml.write(("" if head is not None else "  ") + tail + "\n")
        if not home or (head is None and str(page_id) != item.native_id):
            # Home pages keep their ids (the same native id, so the same archive id).
            self.log.items[item_id] = str(page_id)
        self.log.account("item", notes)
        for file in others:
            self._file_page(xml, file)

    def _foreign_page_notes(self, item: Item) -> list[Note]:
        """What a page of another wiki (or another MediaWiki) loses beside its title."""
        notes = [
            self._note("mediawiki.space_as_path", "item", item.id, "space_id", "in the main namespace"),
        ]
        if item.body is not None and xml_text(item.body.source) != item.body.source:
            notes.append(self._note("mediawiki.text_characters", "item", item.id, "body", "U+FFFD"))
        fmt = item.body.format if item.body is not None else None
        if fmt is not None and fmt != "mediawiki" and fmt not in _MODELS:
            notes.append(self._note("mediawiki.markup_converted", "item", item.id, "body", f"from {fmt}"))
        for attribute in ("created_at", "edited_at"):
            value = getattr(item, attribute)
            if isinstance(value, int) and value % 1_000_000:
                notes.append(
                    self._note("mediawiki.time_seconds", "item", None, attribute, "cut to the second")
                )
        return notes

    def _redirect(self, item: Item) -> str | None:
        if item.subtype != "redirect" or item.body is None:
            return None
        found = re.match(r"\s*#[^\[]*\[\[([^\]|#]+)", item.body.source)
        return found.group(1).strip() if found else None

    def _page_times(
        self, item: Item, first: tuple[int | None, str | None], last: tuple[int | None, str | None], n: int
    ) -> list[Note]:
        """Notes where the page's own creation or last edit is not its revisions'."""
        notes: list[Note] = []
        expected = {
            "created_at": to_seconds(first[0]),
            "author_id": first[1],
            "edited_at": to_seconds(last[0]) if n > 1 else None,
            "edited_by_id": last[1] if n > 1 else None,
        }
        for attribute, value in expected.items():
            have = getattr(item, attribute)
            if attribute.endswith("_at"):
                have = to_seconds(have)
            if have != value:
                notes.append(
                    self._note(
                        "mediawiki.page_times", "item", item.id, attribute, "the revisions' is written"
                    )
                )
        return notes

    def _revisions(
        self, xml: _Xml, item: Item, home: bool
    ) -> tuple[int, tuple[int | None, str | None], tuple[int | None, str | None]]:
        """Write a page's revisions; how many, and the (time, author) of the first and last."""
        written = 0
        parent: int | None = None
        first: tuple[int | None, str | None] = (None, None)
        last: tuple[int | None, str | None] = (None, None)
        # A home page's revisions in its dump's order (the reader numbers revisions without an
        # id by their place, and takes the last as the current one); the others' oldest first,
        # their bodies converted a batch at a time (pandoc runs once per batch).
        revisions = self.view.item_revisions(item.id, source_order=home)
        for revision, converted in self._converted(item, revisions, convert=not home):
            if written == 0:
                first = (revision.created_at, revision.author_id)
            last = (revision.created_at, revision.author_id)
            notes: list[Note] = []
            raw = _parse_raw(revision.raw) if home else None
            if raw is not None and raw.name == "revision":
                # Records of a page follow each other with nothing between them: a parser may
                # or may not have read the text after a record when the reader takes it out of
                # its page, so whitespace there could end up in the page's raw record.
                xml.write(self._element_text(raw, self.wiki.uri))
                rev_id = revision.native_id
            else:
                rev_id, notes = self._revision(xml, item, revision, parent, home, converted)
            if not home or rev_id != revision.native_id:
                self.log.revisions[revision.id] = rev_id  # the others keep their native ids
            if revision.author_id is not None:
                self._contributed(revision.author_id)
            parent = int(rev_id) if rev_id.isdigit() else parent
            self.log.account("revision", notes)
            written += 1
        return written, first, last

    def _converted(
        self, item: Item, revisions: Iterator[Revision], *, convert: bool
    ) -> Iterator[tuple[Revision, tuple[str, list[tuple[str, str]]] | None]]:
        """Each revision with its body as wikitext and what was adapted (None: not converted
        here), a batch of revisions at a time."""
        if not convert:
            for revision in revisions:
                yield revision, None
            return
        batch: list[Revision] = []
        for revision in revisions:
            batch.append(revision)
            if len(batch) == _CONVERT_BATCH:
                yield from zip(batch, self._bodies(item, batch), strict=True)
                batch = []
        if batch:
            yield from zip(batch, self._bodies(item, batch), strict=True)

    def _revision(
        self,
        xml: _Xml,
        item: Item,
        revision: Revision,
        parent: int | None,
        home: bool,
        converted: tuple[str, list[tuple[str, str]]] | None = None,
    ) -> tuple[str, list[Note]]:
        """A revision written from the archive's fields (not from a MediaWiki raw record): a
        home page's keeps its id (free ids start above the home wiki's highest)."""
        notes: list[Note] = []
        if home and revision.native_id.isdigit():
            rev_id = int(revision.native_id)
        else:
            rev_id = self.next_revision
            if item.platform == PLATFORM:
                notes.append(
                    self._note("mediawiki.revision_id_changed", "revision", revision.id, None, str(rev_id))
                )
        self.next_revision = max(self.next_revision, rev_id + 1)
        text, body_notes = converted if converted is not None else self._bodies(item, [revision])[0]
        for code, message in body_notes:
            notes.append(self._note(code, "revision", revision.id, "body", message))
        if revision.body is None:
            notes.append(
                self._note("mediawiki.text_missing", "revision", revision.id, "body", "written empty")
            )
        if revision.created_at is not None and revision.created_at % 1_000_000:
            notes.append(
                self._note("mediawiki.time_seconds", "revision", None, "created_at", "cut to the second")
            )
        fmt = revision.body.format if revision.body else "mediawiki"
        if not self._write_revision(
            xml, rev_id, parent, revision.created_at, revision.author_id, revision.comment, text, fmt
        ):
            notes.append(self._note("mediawiki.text_characters", "revision", revision.id, "body", "U+FFFD"))
        return str(rev_id), notes

    def _write_revision(
        self,
        xml: _Xml,
        rev_id: int,
        parent: int | None,
        created_at: int | None,
        author_id: str | None,
        comment: str | None,
        text: str,
        fmt: str,
    ) -> bool:
        """Write a revision from fields; False when its text had characters XML cannot carry
        (written as U+FFFD: the text and sha1 are those of what was written)."""
        clean = xml_text(text)
        version = tuple(int(p) for p in self.wiki.schema.split("."))
        schema11 = version >= (0, 11)
        xml.write("    <revision>\n")
        xml.element(6, "id", str(rev_id))
        if parent is not None:
            xml.element(6, "parentid", str(parent))
        xml.element(6, "timestamp", timestamp(created_at))
        self._contributor(xml, author_id, 6)
        if comment:
            xml.element(6, "comment", comment)
        if schema11:
            xml.element(6, "origin", str(rev_id))
        model, content_format = _MODELS.get(fmt, _MODELS["mediawiki"])
        if version >= (0, 8):
            xml.element(6, "model", model)
            xml.element(6, "format", content_format)
        data = clean.encode("utf-8")
        sha1 = sha1_base36(data)
        attrs = f' bytes="{len(data)}"' + (f' sha1="{sha1}"' if schema11 else "") + ' xml:space="preserve"'
        xml.element(6, "text", clean, attrs)
        xml.element(6, "sha1", sha1)
        xml.write("    </revision>\n")
        return clean == text

    def _current_as_revision(self, xml: _Xml, item: Item, notes: list[Note]) -> None:
        """A page without revisions: one revision, its current body."""
        rev_id = self.next_revision
        self.next_revision += 1
        text, body_notes = self._convert(item, [(item.body.format, item.body.source) if item.body else None])[
            0
        ]
        for code, message in body_notes:
            notes.append(self._note(code, "item", item.id, "body", message))
        notes.append(self._note("mediawiki.no_revisions", "item", item.id, None, f"revision {rev_id}"))
        at = item.edited_at if item.edited_at is not None else item.created_at
        author = item.edited_by_id or item.author_id
        if author is not None:
            self._contributed(author)
        xml.write("\n")
        if not self._write_revision(
            xml, rev_id, None, at, author, None, text, item.body.format if item.body else "mediawiki"
        ):
            notes.append(self._note("mediawiki.text_characters", "item", item.id, "body", "U+FFFD"))

    def _bodies(self, item: Item, revisions: list[Revision]) -> list[tuple[str, list[tuple[str, str]]]]:
        return self._convert(item, [(r.body.format, r.body.source) if r.body else None for r in revisions])

    def _convert(
        self, item: Item, bodies: list[tuple[str, str] | None]
    ) -> list[tuple[str, list[tuple[str, str]]]]:
        """Bodies (format, markup) as wikitext, each with what was adapted: [(code, message)]."""
        out: list[tuple[str, list[tuple[str, str]]] | None] = [None] * len(bodies)
        todo: list[int] = []
        for i, body in enumerate(bodies):
            if body is None:
                out[i] = ("", [])
            elif body[0] == "mediawiki" or body[0] in _MODELS:
                out[i] = (body[1], [])
            else:
                todo.append(i)
        if todo:
            page = item.title or item.native_id
            convertible = [i for i in todo if bodies[i][0] in markup.SOURCES]  # type: ignore[index]
            for i in todo:
                if i not in convertible:
                    fmt, source = bodies[i]  # type: ignore[misc]
                    out[i] = (source, [("mediawiki.markup_unconverted", f"no conversion from {fmt}")])
            pages = [markup.Page(bodies[i][1], bodies[i][0], page) for i in convertible]  # type: ignore[index]
            link, file = self._link_for(item.platform, item.title or item.native_id), self._file_for()
            results = markup.convert_many(pages, "mediawiki", link=link, file=file)
            for i, conversion in zip(convertible, results, strict=True):
                fmt = bodies[i][0]  # type: ignore[index]
                said = f"from {fmt} ({conversion.method})"
                # Each construct that did not survive, named with its page, under its own code.
                lost = [(loss.code, loss.detail) for loss in conversion.losses]
                out[i] = (conversion.text, [("mediawiki.markup_converted", said), *lost])
        return [o if o is not None else ("", []) for o in out]

    def _link_for(self, platform: str, base: str) -> Callable[[str], str | None]:
        """The new title of a link's target, in a page of ``platform`` named ``base``: the page
        it names in the archive (``markup.link_keys``: relative links resolved), else the title
        rule applied to it (percent escapes decoded)."""

        def link(target: str) -> str | None:
            for key in markup.link_keys(platform, target, base):
                row = self.conn.execute(
                    "SELECT title FROM temp.mw_pages WHERE platform = ? AND source_key = ? LIMIT 1",
                    (platform, key),
                ).fetchone()
                if row:
                    return str(row[0])
            return title_for(platform, unquote(target) if "%" in target else target)[0]

        return link

    def _file_for(self) -> Callable[[str], str | None]:
        """The new name of an embedded file, by its native id, then by its name."""

        def file(target: str) -> str | None:
            base = re.split(r"[@:/]", target)[-1]
            row = self.conn.execute(
                "SELECT written FROM temp.mw_file_names WHERE native_id = ?1 OR name = ?1 OR name = ?2"
                " ORDER BY native_id = ?1 DESC, name = ?1 DESC, file_id LIMIT 1",
                (target, base),
            ).fetchone()
            return row[0] if row else None

        return file

    # -- contributors ---------------------------------------------------------------------
    def _contributed(self, person_id: str) -> None:
        if person_id in self.written_persons:
            return
        person = self.persons.get(person_id)
        if person is None:
            return
        self.written_persons[person_id] = self._key(person)

    def _key(self, person: Person) -> str:
        """The native id the MediaWiki reader gives the contributor written for this person."""
        return self.keys[person.id]

    def _plan_persons(self) -> dict[str, str]:
        """Each person's contributor, as the reader's native id: a MediaWiki user id, ``ip:``
        and the address, or ``name:`` and the user name written (another platform's names
        adapted; two persons never share one: `` (2)``)."""
        keys: dict[str, str] = {}
        taken: set[str] = set()
        later: list[Person] = []
        for person in sorted(self.persons.values(), key=lambda p: p.id):
            if person.platform == PLATFORM and (
                person.native_id.isdigit() or person.native_id.startswith("name:")
            ):
                keys[person.id] = person.native_id
                taken.add(person.name or person.native_id.removeprefix("name:"))
            elif person.native_id.startswith("ip:"):
                keys[person.id] = person.native_id
            elif person.is_guest and _IP.match(person.name or ""):
                keys[person.id] = "ip:" + (person.name or "")
            else:
                later.append(person)
        # Those whose name is a user name as it is first: they keep it.
        later.sort(key=lambda p: (user_name(p) != (p.name or ""), p.id))
        for person in later:
            name = candidate = user_name(person)
            n = 1
            while candidate in taken:
                n += 1
                candidate = f"{name} ({n})"
            taken.add(candidate)
            if candidate != (person.name or ""):
                self.renamed[person.id] = candidate
            keys[person.id] = "name:" + candidate
        return keys

    def _contributor(self, xml: _Xml, author_id: str | None, indent: int) -> None:
        pad = " " * indent
        person = self.persons.get(author_id) if author_id is not None else None
        if person is None:
            xml.write(f'{pad}<contributor deleted="deleted" />\n')
            return
        key = self._key(person)
        self._contributed(person.id)
        if key.startswith("ip:"):
            xml.write(f"{pad}<contributor>\n")
            xml.element(indent + 2, "ip", key[3:])
            xml.write(f"{pad}</contributor>\n")
            return
        xml.write(f"{pad}<contributor>\n")
        name = person.name if key.isdigit() and person.name else key.removeprefix("name:")
        xml.element(indent + 2, "username", name)
        if key.isdigit():
            xml.element(indent + 2, "id", key)
        xml.write(f"{pad}</contributor>\n")

    # -- files ----------------------------------------------------------------------------
    def _uploads(self, xml: _Xml, message: Message, home: bool) -> list[File]:
        """A home page's uploads (its files with a MediaWiki upload record) written; the
        page's other files returned (each goes on a File: page of its own)."""
        others: list[File] = []
        if not message.file_ids:
            return others
        by_id = {f.id: f for f in self.view.files(list(message.file_ids))}
        for file in (by_id[i] for i in message.file_ids if i in by_id):  # in their positions' order
            if self._done(file.id):
                continue
            raw = _parse_raw(file.raw) if home else None
            if raw is None or raw.name != "upload":
                others.append(file)
                continue
            self._upload_from_raw(xml, file, raw)
        return others

    def _done(self, file_id: str) -> bool:
        """Whether the file was written already (a file attached to several pages is written once)."""
        return (
            self.conn.execute("SELECT 1 FROM temp.mw_files WHERE file_id = ?", (file_id,)).fetchone()
            is not None
        )

    def _upload_from_raw(self, xml: _Xml, file: File, raw: _Raw) -> None:
        """An upload as its source dump had it. Where the dump held the bytes in the XML
        (``<contents encoding="base64">``, dumpBackup --include-files; the reader keeps the
        element, emptied, in the raw record), they are written there again, streamed from the
        blob store; else they go to ``images/<rel>``."""
        element = raw.element
        inline = None
        for contents in element.findall("{*}contents"):
            if inline is None and (contents.get("encoding") or "base64").lower() == "base64":
                inline = contents
                if "omitted" in contents.attrib:
                    del contents.attrib["omitted"]
                contents.text = _CONTENTS_MARK
            else:
                element.remove(contents)
        has_bytes = file.sha256 is not None and self.view.archive.blobs.has(file.sha256)
        if inline is not None and not has_bytes:
            element.remove(inline)
            inline = None
        rel_el = element.find("{*}rel")
        filename = element.findtext("{*}archivename") or element.findtext("{*}filename") or file.name or ""
        rel = rel_el.text if rel_el is not None and rel_el.text else image_path(filename)
        if element.find("{*}archivename") is not None and (rel_el is None or not rel_el.text):
            rel = "archive/" + image_path(filename)
        text = self._element_text(raw, self.wiki.uri)
        if rel_el is None:
            close = text.rindex("</upload>")
            text = text[:close] + f"<rel>{_escape(rel)}</rel>" + text[close:]
        if inline is not None and file.sha256 is not None:
            head, _, tail = text.partition(_CONTENTS_MARK)
            xml.write(head)
            with self.view.archive.blobs.open(file.sha256) as blob:
                while chunk := blob.read(_BASE64_CHUNK):
                    xml.write(base64.b64encode(chunk).decode("ascii"))
            xml.write(tail)
            self._file_bytes(file, None)
        else:
            xml.write(text)  # nothing around it (see _revisions)
            self._file_bytes(file, rel)

    def _file_bytes(self, file: File, rel: str | None) -> None:
        """Account for an upload written; its bytes copied to ``images/<rel>`` (None: they
        are in the XML)."""
        self.conn.execute("INSERT INTO temp.mw_files VALUES (?)", (file.id,))
        notes: list[Note] = []
        if file.author_id is not None:
            self._contributed(file.author_id)
        if file.sha256 is None or (rel is not None and not self._blob_later(rel, file.sha256)):
            notes.append(
                self._note(
                    "mediawiki.file_bytes_missing",
                    "file",
                    file.id,
                    "sha256",
                    file.missing_reason or "no bytes",
                )
            )
        self.log.account("file", notes)

    def _loose_files(self, xml: _Xml) -> None:
        """Files attached to no page: uploads of File: pages of their own; files attached to
        items that are not pages are not written."""
        for file in self.view.unattached_files():
            self._file_page(xml, file)
        rows = self.conn.execute(
            "SELECT DISTINCT file_id FROM item_files WHERE item_id NOT IN (SELECT item_id FROM temp.mw_pages)"
            " AND file_id NOT IN (SELECT file_id FROM temp.mw_files)"
            " ORDER BY file_id"
        ).fetchall()
        for (file_id,) in rows:
            self.log.account(
                "file",
                [
                    self._note(
                        "mediawiki.not_a_page",
                        "file",
                        file_id,
                        None,
                        "attached to an item that is not a page",
                        outcome=Outcome.LOST,
                    )
                ],
            )

    def _file_page(self, xml: _Xml, file: File) -> None:
        """A File: page holding one upload of a file of another platform."""
        if self._done(file.id):
            return
        self.conn.execute("INSERT INTO temp.mw_files VALUES (?)", (file.id,))
        notes: list[Note] = []
        original = file.name or file.native_id
        candidate = self._file_name(file.id, file.native_id, file.name)
        if candidate != original:
            notes.append(
                self._note("mediawiki.file_renamed", "file", file.id, "name", candidate, original=original)
            )
        page_id, self.next_page = self.next_page, self.next_page + 1
        title = "File:" + candidate
        self.conn.execute(
            "INSERT INTO mw_pages VALUES (?, ?, ?, ?, ?, 0, ?, NULL, NULL)",
            ("file:" + file.id, title, None, page_id, FILE_NAMESPACE, file.id),
        )
        self.log.files[file.id] = str(page_id)
        xml.write("  <page>\n")
        xml.element(4, "title", title)
        xml.element(4, "ns", str(FILE_NAMESPACE))
        xml.element(4, "id", str(page_id))
        rev_id = self.next_revision
        self.next_revision += 1
        self._write_revision(xml, rev_id, None, file.created_at, file.author_id, None, "", "mediawiki")
        rel = image_path(candidate)
        xml.write("    <upload>\n")
        xml.element(6, "timestamp", timestamp(file.created_at))
        if file.author_id in self.persons:
            self._contributor(xml, file.author_id, 6)
        else:
            # importDump.php (1.39) fails on an upload whose contributor has no name: MediaWiki's
            # own name for an unknown editor.
            xml.write(
                "      <contributor>\n        <username>Unknown user</username>\n      </contributor>\n"
            )
        # importDump.php (1.39) fails on an upload without <comment>: always written.
        xml.write(f"      <comment>{_escape(file.title or '')}</comment>\n")
        xml.element(6, "filename", candidate.replace(" ", "_"))
        xml.element(6, "src", "")
        xml.element(6, "size", str(file.size if file.size is not None else 0))
        sha1 = self._blob_sha1(file.sha256)
        if sha1 is not None:
            xml.element(6, "sha1base36", sha1)
        xml.element(6, "rel", rel)
        xml.write("    </upload>\n  </page>\n")
        notes.append(self._note("mediawiki.file_page", "file", file.id, None, title))
        if file.sha256 is None or not self._blob_later(rel, file.sha256):
            notes.append(
                self._note(
                    "mediawiki.file_bytes_missing",
                    "file",
                    file.id,
                    "sha256",
                    file.missing_reason or "no bytes",
                )
            )
        if file.author_id is not None:
            self._contributed(file.author_id)
        self.log.account("file", notes)

    def _blob_later(self, rel: str, sha256: str) -> bool:
        """Whether the archive has the bytes; they are copied once the dump is closed (a zip
        takes one member at a time)."""
        if not self.view.archive.blobs.has(sha256):
            return False
        self.conn.execute("INSERT OR IGNORE INTO temp.mw_blobs VALUES (?, ?)", (rel, sha256))
        return True

    def _blob_sha1(self, sha256: str | None) -> str | None:
        if sha256 is None or not self.view.archive.blobs.has(sha256):
            return None
        digest = hashlib.sha1()
        with self.view.archive.blobs.open(sha256) as blob:
            while chunk := blob.read(1 << 20):
                digest.update(chunk)
        return _base36(digest.digest())

    # -- log items ------------------------------------------------------------------------
    def _logitems(self, xml: _Xml) -> None:
        """Log items of the home wiki (events whose raw record is a <logitem>)."""
        self.logitems: set[str] = set()
        rows = self.conn.execute(
            "SELECT id, raw FROM items WHERE kind = 'event' AND platform = ? ORDER BY length(native_id), native_id, id",
            (PLATFORM,),
        )
        for item_id, raw_bytes in rows:
            raw = _parse_raw(raw_bytes)
            if raw is None or raw.name != "logitem":
                continue
            xml.write("  " + self._element_text(raw, self.wiki.uri) + "\n")
            self.logitems.add(item_id)
            self.log.account("item", [])

    # -- what is not a page -------------------------------------------------------------------
    def _not_pages(self) -> None:
        log = self.log
        lost = self._note(
            "mediawiki.not_a_page", "item", None, None, "not a page: not written", outcome=Outcome.LOST
        )
        for (item_id,) in self.conn.execute(
            "SELECT id FROM items WHERE id NOT IN (SELECT item_id FROM temp.mw_pages) ORDER BY id"
        ):
            if item_id not in self.logitems:
                log.account("item", [lost])
        lost_rev = self._note(
            "mediawiki.not_a_page",
            "revision",
            None,
            None,
            "of an item that is not a page",
            outcome=Outcome.LOST,
        )
        n = int(
            self.conn.execute(
                "SELECT count(*) FROM revisions WHERE item_id NOT IN (SELECT item_id FROM temp.mw_pages)"
            ).fetchone()[0]
        )
        for _ in range(n):
            log.account("revision", [lost_rev])
        reactions = self.view.count("reactions")
        lost_reaction = self._note(
            "mediawiki.reaction_lost", "reaction", None, None, "a dump has no reactions", outcome=Outcome.LOST
        )
        for _ in range(reactions):
            log.account("reaction", [lost_reaction])
        memberships = self.view.count("memberships")
        lost_membership = self._note(
            "mediawiki.membership_lost",
            "membership",
            None,
            None,
            "a dump has no memberships",
            outcome=Outcome.LOST,
        )
        for _ in range(memberships):
            log.account("membership", [lost_membership])

    def _spaces(self) -> None:
        log = self.log
        home = self.home
        for space in sorted(self.spaces.values(), key=lambda s: s.id):
            if home is not None and (space.id == home.id or space.id in self.wiki.spaces):
                log.spaces[space.id] = space.native_id
                log.account("space", [])
            elif home is not None and space.parent_id == home.id and space.platform == PLATFORM:
                log.spaces[space.id] = space.native_id  # the (log) space and others the reader makes
                log.account("space", [])
            else:
                log.account(
                    "space",
                    [
                        self._note(
                            "mediawiki.space_as_path",
                            "space",
                            space.id,
                            None,
                            "not a namespace of the written wiki",
                            outcome=Outcome.LOST,
                        )
                    ],
                )

    def _persons(self) -> None:
        log = self.log
        fields = self._note("mediawiki.user_fields", "person", None, None, "")
        for person in sorted(self.persons.values(), key=lambda p: p.id):
            key = self.written_persons.get(person.id)
            if key is None:
                log.account(
                    "person",
                    [
                        self._note(
                            "mediawiki.user_no_edits",
                            "person",
                            person.id,
                            None,
                            "no edits",
                            outcome=Outcome.LOST,
                        )
                    ],
                )
                continue
            log.persons[person.id] = key
            notes: list[Note] = []
            if person.id in self.renamed:
                notes.append(
                    self._note(
                        "mediawiki.user_renamed",
                        "person",
                        person.id,
                        "name",
                        self.renamed[person.id],
                        original=person.name,
                    )
                )
            for attribute in ("display_name", "real_name", "email", "title"):
                if getattr(person, attribute) is not None:
                    notes.append(
                        msgspec.structs.replace(
                            fields, attribute=attribute, message=f"{attribute} not in a dump"
                        )
                    )
            for flag in ("is_bot", "is_deleted", "is_guest"):
                if getattr(person, flag) and not (flag == "is_guest" and key.startswith("ip:")):
                    notes.append(
                        self._note(
                            "mediawiki.user_fields", "person", person.id, flag, f"{flag} not in a dump"
                        )
                    )
            log.account("person", notes)


__all__ = ["MediaWikiWriter", "image_path", "sha1_base36", "title_for", "user_name", "valid_title"]
