"""The static site writer (``export --to html``): an archive as a folder of HTML pages that
opens from ``index.html`` with no server (``file://``), with client-side search, for one
audience: anyone (public spaces only, the default) or one person (``--as PERSON``: public
spaces and the private spaces, DMs and group DMs they were a member of -- the served site's
rule, ``web.access.visible``).

Layout (every link relative, so the folder works wherever it is opened from):

- ``index.html`` (spaces, the activity chart, biggest spaces, most active people),
  ``search.html`` + ``search.js`` (the site's only script), ``style.css``;
- ``spaces/<id>/index.html``, ``page-2.html``…: a space's timeline, newest first, threads
  folded with their reply count, ``PAGE_SIZE`` a page;
- ``threads/<root id>/index.html``, ``page-2.html``…: a thread, oldest first;
- ``items/<id>/index.html`` (an item with revisions: its history) and ``diff-<n>.html``
  (revision n-1 against n, difflib as the served site);
- ``people/<id>/index.html``, ``page-2.html``…: what a person wrote that the audience may see;
- ``files/<sha256[:2]>/<sha256>/<name>``: file bytes, once per hash and name;
- ``data/``: the records (the contract of docs/web.md, "Static export": ``site.js``,
  ``persons.js``, ``spaces.js``, ``items-NNNNN.js``), and the search index
  (``search-terms-NNNNN.js``, ``search-docs-NNNNN.js``).

``<id>`` is the archive id when it is lower-case letters, digits and ``_`` (no two differ by
case only, on a file system that ignores case), else ``id-`` and a hash of it.

Memory does not grow with the number of items: items are read by ordered queries a page at a
time; what later passes need (which page shows an item, the search postings) goes into a
temporary SQLite database, from which person pages and the index's shards are written in
order. The output is deterministic: everything is sorted, and nothing of the run (no date,
no path) is written.
"""

from __future__ import annotations

import hashlib
import html as html_escape
import json
import mimetypes
import re
import sqlite3
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import jinja2
from markupsafe import Markup

from passerelle import __version__
from passerelle.archive.view import ArchiveView
from passerelle.errors import BadInputError
from passerelle.progress import Display
from passerelle.web.access import ANYONE, Viewer, visible
from passerelle.web.charts import activity_svg
from passerelle.web.i18n import LANGUAGES, translate
from passerelle.web.render import body_html, revision_diff, when
from passerelle.web.stats import ArchiveFigures
from passerelle.writers.base import ExportLog, Note, Outcome, Output, RuleCheck, WriterInfo, WriterOption

PAGE_SIZE = 50  # items a page of a timeline, a thread or a person
ITEMS_PER_CHUNK = 1000  # records a data/items-NNNNN.js holds at most (the contract)
CHUNK_BYTES = 8 << 20  # ... and fewer when they are this large (long wiki histories)
DOCS_PER_CHUNK = 200  # search documents a data/search-docs-NNNNN.js holds
RESULTS_PAGE = 20  # search results a page
POSTINGS_PER_SHARD = 20_000  # about how many (word, document) pairs a shard of the index holds
MAX_SHARDS = 4096
MAX_TOKEN = 64  # a longer word is indexed and searched by its first 64 characters
SEARCH_TEXT = 2000  # characters of an item kept for its search snippet
ITEM_ROOT = "../../"  # the site's root from a page that shows items (all are two folders down)

WITHHELD = "html.withheld"
UNATTACHED = "html.file_unattached"
EMAIL_WITHHELD = "html.email_withheld"
BYTES_MISSING = "html.file_bytes_missing"

SAFE_INLINE: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
# File name endings a browser opening the file from disk shows inertly or downloads. Any other
# (.html, .svg, .xml, .js, .mht...) gets ".download" added: a file from a message must not
# become a page of the site that runs its own script when clicked.
INERT_SUFFIXES = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".pdf", ".txt", ".csv", ".tsv", ".log",
    ".md", ".json", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp",
    ".rtf", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".tar", ".rar", ".mp3", ".mp4", ".m4a",
    ".wav", ".ogg", ".oga", ".ogv", ".webm", ".mov", ".avi", ".mkv", ".flac", ".heic", ".tif",
    ".tiff", ".eml", ".ics", ".vcf", ".key", ".pages", ".numbers", ".psd", ".ai", ".sketch",
    ".dmg", ".exe", ".apk", ".iso", ".bin",
})  # fmt: skip

_PLAIN_ID = re.compile(r"[a-z0-9_]{1,64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME_UNSAFE = re.compile(r"[^\w.\- ]|^[.\- ]+|[. ]+$", re.UNICODE)
_ASCII_WORD = re.compile(r"[a-z0-9_]+")
_WORD = re.compile(r"\w+")
_MENTION_LINK = re.compile(r'<a href="/(people|spaces)/([^"]*)"')

# Words of the site that the served site's catalogue (web/i18n.py) does not have.
_FR = {
    "Page": "Page",
    "Pages": "Pages",
    "Previous": "Précédents",
    "results": "résultats",
    "Searching…": "Recherche…",
    "Public spaces": "Espaces publics",
    "As seen by": "Vu par",
    "A static copy of the archive, written by passerelle": "Une copie statique de l'archive, écrite par passerelle",
}


def safe_id(archive_id: str) -> str:
    """A folder or file name for an archive id: the id itself when it is plain, else a hash."""
    if _PLAIN_ID.fullmatch(archive_id):
        return archive_id
    return "id-" + hashlib.sha256(archive_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def safe_name(name: str | None) -> str:
    """A file's name in the site: its own when harmless (else changed, with a hash of the
    original so that two names never become one), ending in a suffix a browser keeps inert."""
    original = name or ""
    cleaned = _NAME_UNSAFE.sub("_", unicodedata.normalize("NFC", original))[:100] or "file"
    if cleaned != original:
        digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        stem, dot, suffix = cleaned.rpartition(".")
        cleaned = f"{stem}-{digest}.{suffix}" if dot and stem else f"{cleaned}-{digest}"
    if Path(cleaned).suffix.lower() not in INERT_SUFFIXES:
        cleaned += ".download"
    return cleaned


def file_path(sha256: str, name: str | None) -> str:
    return f"files/{sha256[:2]}/{sha256}/{safe_name(name)}"


def space_page(space_id: str, number: int = 1) -> str:
    return f"spaces/{safe_id(space_id)}/{_page_name(number)}"


def thread_page(root_id: str, number: int = 1) -> str:
    return f"threads/{safe_id(root_id)}/{_page_name(number)}"


def person_page(person_id: str, number: int = 1) -> str:
    return f"people/{safe_id(person_id)}/{_page_name(number)}"


def item_page(item_id: str) -> str:
    return f"items/{safe_id(item_id)}/index.html"


def _page_name(number: int) -> str:
    return "index.html" if number == 1 else f"page-{number}.html"


def data_file(value: Any) -> bytes:
    """A data file: ``passerelle_data(<JSON>);`` (docs/web.md, "Static export")."""
    return b"passerelle_data(" + data_json(value).encode("utf-8") + b");\n"


_SCRIPT_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def data_json(value: Any) -> str:
    """JSON with sorted keys and compact separators, safe inside a script: ``<``, ``>``, ``&``,
    U+2028 and U+2029 escaped (they only occur inside strings, where the escape means the same)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text.translate(_SCRIPT_SAFE)


def words(text: str) -> list[str]:
    """The words search finds (search.js splits a query the same way): lower case, accents
    dropped, runs of letters, digits and ``_``, each at most MAX_TOKEN characters."""
    lowered = text.lower()
    if lowered.isascii():
        found = _ASCII_WORD.findall(lowered)
    else:
        decomposed = unicodedata.normalize("NFKD", lowered)
        found = _WORD.findall("".join(c for c in decomposed if unicodedata.category(c)[0] != "M"))
    return [w[:MAX_TOKEN] for w in found]


def fnv1a(text: str) -> int:
    h = 0x811C9DC5
    for byte in text.encode("utf-8", "surrogatepass"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def _email_withheld(archive: Any, output: Any) -> bool:
    return output is None


class HtmlWriter:
    info: ClassVar[WriterInfo] = WriterInfo(
        name="html",
        description="A static web site (opens from index.html with no server, with search) for one"
        " audience: public spaces only, or what one person may see (--as PERSON)",
        keeps=(
            "every person (e-mail addresses only in a --as PERSON site), every space the audience"
            " may see with its members, their items (threads, reactions, edits, pins, files,"
            " revisions) as pages and exactly in the data files under data/ (archive ids kept)",
            "file bytes under files/, bodies rendered as sanitised HTML (the text itself in the data)",
            "a search index the browser reads a shard at a time",
        ),
        cannot_carry=(
            "spaces the audience may not see, and everything in them (one note per space)",
            "files attached to no item (no space says who may see them)",
            "e-mail addresses in a public site",
            "body markup (body_source), references and raw records: a site shows the text",
        ),
        reader="html",
        options=(
            WriterOption(
                "as",
                "the person whose site this is (an archive person id, login name, e-mail or display"
                " name): public spaces and the private ones they were a member of; default: public"
                " spaces only",
            ),
            WriterOption("lang", "the pages' language: en or fr", default="en"),
        ),
    )
    version: ClassVar[str] = "1"
    rule_checks: ClassVar[Mapping[str, RuleCheck]] = {EMAIL_WITHHELD: _email_withheld}

    def __init__(self, options: Mapping[str, str]) -> None:
        self.person = options.get("as") or None
        self.lang = options.get("lang", "en")
        if self.lang not in LANGUAGES:
            raise BadInputError(f"html: no language {self.lang!r} (languages: {', '.join(LANGUAGES)})")

    def write(self, view: ArchiveView, out: Output, log: ExportLog, display: Display) -> None:
        with tempfile.TemporaryDirectory(prefix="passerelle-html-") as work:
            _Site(view, out, log, display, self.person, self.lang, Path(work)).run()


# -- the export --------------------------------------------------------------------------------

ITEM_SELECT = (
    "SELECT i.id, i.kind, i.space_id, i.subtype, i.author_id, i.created_at, i.edited_at, i.deleted,"
    " i.thread_root_id, i.parent_id, i.also_in_channel, i.pinned, i.title, i.body_format, i.body_text,"
    " i.body_refs, coalesce(p.display_name, p.real_name, p.name, i.author_id) AS author"
    " FROM items i LEFT JOIN persons p ON p.id = i.author_id"
)
# An item is a reply shown on its thread's page when its root is another item of its space;
# the timeline shows every other item, and a reply also sent to the channel.
_IN_THREAD = (
    "(i.thread_root_id IS NOT NULL AND i.thread_root_id != i.id AND EXISTS (SELECT 1 FROM items r"
    " WHERE r.id = i.thread_root_id AND r.space_id = i.space_id))"
)
_ON_TIMELINE = f"(i.also_in_channel = 1 OR NOT {_IN_THREAD})"
_SPACE_TITLE = (
    "coalesce(s.display_name, s.name, (SELECT group_concat(coalesce(p.display_name, p.name, p.id), ', ')"
    " FROM (SELECT * FROM memberships WHERE space_id = s.id ORDER BY person_id) m"
    " JOIN persons p ON p.id = m.person_id), s.id)"
)


@dataclass
class Pages:
    """Where a page sits among its siblings (links relative to the page's folder)."""

    number: int
    count: int
    newer: str | None
    older: str | None
    newer_label: str
    older_label: str


class _Chunks:
    """data/items-NNNNN.js, written as records come."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.records: list[str] = []
        self.size = 0
        self.written = 0

    def add(self, record: dict[str, Any]) -> None:
        encoded = data_json(record)
        self.records.append(encoded)
        self.size += len(encoded)
        if len(self.records) >= ITEMS_PER_CHUNK or self.size >= CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.records:
            return
        text = f'{{"chunk":{self.written},"kind":"items","records":[{",".join(self.records)}]}}'
        self.out.write_bytes(
            f"data/items-{self.written:05d}.js", b"passerelle_data(" + text.encode() + b");\n"
        )
        self.written += 1
        self.records = []
        self.size = 0


class _Site:
    def __init__(
        self,
        view: ArchiveView,
        out: Output,
        log: ExportLog,
        display: Display,
        person: str | None,
        lang: str,
        work: Path,
    ) -> None:
        self.view = view
        self.out = out
        self.log = log
        self.display = display
        self.lang = lang
        self.db = sqlite3.connect(f"file:{view.archive.root / 'archive.sqlite'}?mode=ro", uri=True)
        self.db.row_factory = sqlite3.Row
        self.viewer = ANYONE if person is None else Viewer(self._person(person))
        # The work database, attached to the archive's connection so that a query can join the
        # two: which page shows each item, the search postings, each file's audience. Every
        # query goes through this connection, whose caches are small and fixed (the archive's
        # own store keeps 32 MB of pages: reading the items through it would fill them).
        self.db.execute("ATTACH DATABASE ? AS work", (str(work / "site.sqlite"),))
        self.db.executescript(
            """
            PRAGMA work.journal_mode = OFF; PRAGMA work.synchronous = OFF; PRAGMA temp_store = FILE;
            PRAGMA main.cache_size = -2000; PRAGMA work.cache_size = -8000; PRAGMA temp.cache_size = -2000;
            CREATE TABLE work.shown (item_id TEXT PRIMARY KEY, space_id TEXT NOT NULL, author_id TEXT,
                created_at INTEGER, page TEXT NOT NULL, text TEXT NOT NULL, html TEXT NOT NULL);
            CREATE TABLE work.postings (hash INTEGER NOT NULL, word TEXT NOT NULL, shown INTEGER NOT NULL);
            CREATE TABLE work.file_audience (file_id TEXT PRIMARY KEY, shown INTEGER NOT NULL,
                withheld_space TEXT);
            """
        )
        self.work = self.db
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("passerelle.writers", "html_site"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.globals.update(_=self._, lang=lang, audience_label=self._audience_label())
        self.chunks = _Chunks(out)
        self.missing: set[str] = set()  # hashes whose bytes the archive lacks
        self.inline: dict[str, bool] = {}  # hash -> its bytes are a safe image (images only)
        self.counts = dict.fromkeys(
            ("persons", "spaces", "memberships", "items", "reactions", "files", "revisions"), 0
        )
        self.spaces: dict[str, sqlite3.Row] = {}  # visible spaces, by id
        self.titles: dict[str, str] = {}
        self.person_names: dict[str, str] = {}

    # -- small helpers ---------------------------------------------------------------------------
    def _(self, message: str) -> str:
        if self.lang == "fr" and message in _FR:
            return _FR[message]
        return translate(self.lang, message)

    def _audience_label(self) -> str:
        if self.viewer.anyone:
            return self._("Public spaces")
        row = self.db.execute(
            "SELECT coalesce(display_name, real_name, name, id) FROM persons WHERE id = ?",
            (self.viewer.person_id,),
        ).fetchone()
        return f"{self._('As seen by')} {row[0]}"

    def _person(self, who: str) -> str:
        """The archive id of --as: an id, login name, e-mail or display name, naming one person."""
        rows = self.db.execute(
            "SELECT id FROM persons WHERE id = ? OR name = ? OR email = ? OR display_name = ?"
            " ORDER BY id = ? DESC, is_placeholder, id",
            (who, who, who, who, who),
        ).fetchall()
        if not rows:
            raise BadInputError(
                f"html: no person {who!r} in the archive (--as takes a person id, login name,"
                " e-mail or display name)"
            )
        if rows[0][0] != who and len(rows) > 1:
            ids = ", ".join(r[0] for r in rows[:5])
            raise BadInputError(f"html: {who!r} names several persons ({ids}); give --as a person id")
        return str(rows[0][0])

    def _audience(self) -> dict[str, Any]:
        return {"public": True} if self.viewer.anyone else {"person_id": self.viewer.person_id}

    def _audience_words(self) -> str:
        return "the public" if self.viewer.anyone else f"person {self.viewer.person_id}"

    def _count(self, sql: str, *params: Any) -> int:
        return int(self.db.execute(sql, params).fetchone()[0])

    def _visible(self, column: str) -> tuple[str, list[str]]:
        return visible(self.viewer, column)

    def render(self, name: str, template: str, **context: Any) -> None:
        depth = name.count("/")
        page = self.env.get_template(template).render(root="../" * depth, **context)
        self.out.write_bytes(name, page.encode("utf-8"))

    # -- the run ---------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._files()
            self._persons()
            self._spaces()
            for space_id in sorted(self.spaces):
                self._space(space_id)
            self.chunks.flush()
            self._people()
            index = self._search_index()
            self._home()
            self.render(
                "search.html",
                "search.html",
                spaces=[{"id": s, "title": self.titles[s]} for s in sorted(self.spaces, key=self._space_key)],
                authors=self._authors(),
                index=index,
            )
            for asset in ("style.css", "search.js"):
                self.out.write_bytes(
                    asset, resources.files("passerelle.writers").joinpath("html_site", asset).read_bytes()
                )
            self._site()
        finally:
            self.db.close()

    def _space_key(self, space_id: str) -> tuple[str, str, str]:
        return (self.spaces[space_id]["kind"], self.titles[space_id], space_id)

    # -- files -----------------------------------------------------------------------------------
    def _files(self) -> None:
        """Every file's outcome; the bytes of those the audience may see, once per path."""
        cond, params = self._visible("i.space_id")
        # One pass over the attachments: whether the audience sees an item holding each file,
        # and else the first (by id) withheld space holding it, which counts it as lost.
        self.db.execute(
            f"INSERT INTO work.file_audience SELECT x.file_id, max({cond}),"
            f" min(CASE WHEN NOT {cond} THEN i.space_id END)"
            " FROM item_files x JOIN items i ON i.id = x.item_id GROUP BY x.file_id",
            [*params, *params],
        )
        task = self.display.task("files", total=self._count("SELECT count(*) FROM files"))
        current: tuple[str, set[str]] = ("", set())
        for f in self.db.execute(
            "SELECT f.id, f.name, f.sha256, f.missing_reason, coalesce(a.shown, 0) AS shown,"
            " a.file_id IS NOT NULL AS attached"
            " FROM files f LEFT JOIN work.file_audience a ON a.file_id = f.id ORDER BY f.sha256, f.id"
        ):
            task.advance()
            if not f["shown"]:
                if not f["attached"]:
                    self.log.account(
                        "file",
                        [
                            Note(
                                code=UNATTACHED,
                                entity="file",
                                outcome=Outcome.LOST,
                                message="a file attached to no item: no space says who may see it, so no"
                                " site shows it",
                                entity_id=f["id"],
                            )
                        ],
                    )
                # A file of withheld spaces only is counted with them (_spaces).
                continue
            sha256 = f["sha256"]
            notes: list[Note] = []
            if sha256 is not None:
                if sha256 != current[0]:
                    current = (sha256, set())
                path = file_path(sha256, f["name"])
                if sha256 in self.missing or not _SHA256.fullmatch(sha256):
                    self.missing.add(sha256)
                elif path not in current[1]:
                    if self.out.write_blob(path, sha256):
                        current[1].add(path)
                    else:
                        self.missing.add(sha256)
                if sha256 in self.missing and f["missing_reason"] is None:
                    notes.append(
                        Note(
                            code=BYTES_MISSING,
                            entity="file",
                            outcome=Outcome.ADAPTED,
                            message="the archive's blob store lacks this file's bytes: the site names it"
                            " without them (its path is null)",
                            entity_id=f["id"],
                            attribute="sha256",
                            original=sha256,
                        )
                    )
            self.counts["files"] += 1
            if notes:
                self.log.account("file", notes)
            else:
                self.log.carried("file")

    def _inline(self, media_type: str | None, name: str | None, sha256: str | None) -> bool:
        """Whether a file is shown as an image: a safe raster type whose bytes say so too."""
        media = media_type or mimetypes.guess_type(name or "")[0]
        if sha256 is None or sha256 in self.missing or media not in SAFE_INLINE:
            return False
        if sha256 not in self.inline:
            try:
                with self.view.archive.blobs.open(sha256) as stream:
                    head = stream.read(16)
            except OSError:
                head = b""
            self.inline[sha256] = any(head.startswith(magic) for magic in SAFE_INLINE[media])
        return self.inline[sha256]

    # -- persons and spaces ----------------------------------------------------------------------
    def _persons(self) -> None:
        public = self.viewer.anyone
        records = []
        for p in self.db.execute(
            "SELECT id, name, display_name, real_name, email, is_bot, is_deleted, is_guest, title"
            " FROM persons ORDER BY id"
        ):
            record = dict(p)
            for flag in ("is_bot", "is_deleted", "is_guest"):
                record[flag] = bool(record[flag])
            notes = []
            if public and p["email"] is not None:
                record["email"] = None
                notes.append(
                    Note(
                        code=EMAIL_WITHHELD,
                        entity="person",
                        outcome=Outcome.ADAPTED,
                        message="a public site shows no e-mail addresses (null in data/persons.js)",
                        attribute="email",
                    )
                )
            records.append(record)
            self.person_names[p["id"]] = p["display_name"] or p["real_name"] or p["name"] or p["id"]
            self.log.persons[p["id"]] = p["id"]
            if notes:
                self.log.account("person", notes)
            else:
                self.log.carried("person")
        self.counts["persons"] = len(records)
        self.out.write_bytes("data/persons.js", data_file({"kind": "persons", "records": records}))

    def _spaces(self) -> None:
        cond, params = self._visible("s.id")
        records = []
        for s in self.db.execute(
            f"SELECT s.*, {_SPACE_TITLE} AS title, ({cond}) AS shown FROM spaces s ORDER BY s.id", params
        ):
            if not s["shown"]:
                self._withhold(s)
                continue
            members = [
                {"person_id": m[0], "role": m[1]}
                for m in self.db.execute(
                    "SELECT person_id, role FROM memberships WHERE space_id = ? ORDER BY person_id",
                    (s["id"],),
                )
            ]
            records.append(
                {
                    "id": s["id"],
                    "kind": s["kind"],
                    "visibility": s["visibility"],
                    "name": s["name"],
                    "display_name": s["display_name"],
                    "topic": s["topic"],
                    "purpose": s["purpose"],
                    "parent_id": s["parent_id"],
                    "created_at": s["created_at"],
                    "is_archived": bool(s["is_archived"]),
                    "members": members,
                }
            )
            self.spaces[s["id"]] = s
            self.log.spaces[s["id"]] = s["id"]
            self.log.carried("space")
            self.log.carried("membership", len(members))
            self.counts["spaces"] += 1
            self.counts["memberships"] += len(members)
        titles: dict[str, str] = {}
        for space_id in sorted(self.spaces):  # a title twice (two DMs alike) gets its id
            title = self.spaces[space_id]["title"]
            titles[space_id] = title if title not in titles.values() else f"{title} ({space_id})"
        self.titles = titles
        self.out.write_bytes("data/spaces.js", data_file({"kind": "spaces", "records": records}))

    def _withhold(self, s: sqlite3.Row) -> None:
        """A space the audience may not see: one note, and everything in it counted as lost."""
        space_id = s["id"]
        counted = {
            "membership": "SELECT count(*) FROM memberships WHERE space_id = ?",
            "item": "SELECT count(*) FROM items WHERE space_id = ?",
            "reaction": "SELECT count(*) FROM reactions r JOIN items i ON i.id = r.item_id WHERE i.space_id = ?",
            "revision": "SELECT count(*) FROM revisions r JOIN items i ON i.id = r.item_id WHERE i.space_id = ?",
        }
        files = int(
            self.db.execute(
                "SELECT count(*) FROM work.file_audience WHERE NOT shown AND withheld_space = ?", (space_id,)
            ).fetchone()[0]
        )
        lost = {
            entity: int(self.db.execute(sql, (space_id,)).fetchone()[0]) for entity, sql in counted.items()
        }
        lost["file"] = files
        for entity, n in lost.items():
            if n:
                self.log.tally[entity][Outcome.LOST] += n
        told = ", ".join(f"{n} {entity}{'' if n == 1 else 's'}" for entity, n in sorted(lost.items()))
        self.log.account(
            "space",
            [
                Note(
                    code=WITHHELD,
                    entity="space",
                    outcome=Outcome.LOST,
                    message=f"not visible to {self._audience_words()}: withheld from the site, with"
                    f" everything in it ({told})",
                    entity_id=space_id,
                    original=s["visibility"],
                )
            ],
        )

    # -- a space: its timeline, threads and histories ------------------------------------------
    def _space(self, space_id: str) -> None:
        s = self.spaces[space_id]
        space = {
            "id": space_id,
            "title": self.titles[space_id],
            "visibility": s["visibility"],
            "purpose": s["purpose"],
            "topic": s["topic"],
            "href": space_page(space_id),
            "n_items": self._count("SELECT count(*) FROM items WHERE space_id = ?", space_id),
        }
        where = f"WHERE i.space_id = ? AND {_ON_TIMELINE}"
        total = int(self.db.execute(f"SELECT count(*) FROM items i {where}", (space_id,)).fetchone()[0])
        task = self.display.task(f"space {space['title']}", total=space["n_items"])
        rows = self.db.execute(f"{ITEM_SELECT} {where} ORDER BY i.created_at DESC, i.id DESC", (space_id,))
        count = max(1, -(-total // PAGE_SIZE))
        for number, batch in enumerate(_batches(rows, PAGE_SIZE, at_least_one=True), start=1):
            name = space_page(space_id, number)
            items = self._show(batch, name)
            self.render(
                name,
                "space.html",
                space=space,
                items=items,
                pages=self._pages(number, count, _page_name, newest_first=True),
            )
            task.advance(len(batch))
        roots = self.db.execute(
            f"SELECT DISTINCT i.thread_root_id FROM items i WHERE i.space_id = ? AND {_IN_THREAD}"
            " ORDER BY i.thread_root_id",
            (space_id,),
        )
        for (root_id,) in roots:
            task.advance(self._thread(space, root_id))
        histories = self.db.execute(
            "SELECT DISTINCT r.item_id FROM revisions r JOIN items i ON i.id = r.item_id WHERE i.space_id = ?"
            " ORDER BY r.item_id",
            (space_id,),
        )
        for (item_id,) in histories:
            self._history(space, item_id)

    def _thread(self, space: dict[str, Any], root_id: str) -> int:
        """A thread's pages: its root, then its replies oldest first; the number of replies."""
        root = self.db.execute(f"{ITEM_SELECT} WHERE i.id = ?", (root_id,)).fetchone()
        where = "WHERE i.thread_root_id = ? AND i.id != ? AND i.space_id = ?"
        params = (root_id, root_id, space["id"])
        total = int(self.db.execute(f"SELECT count(*) FROM items i {where}", params).fetchone()[0])
        count = max(1, -(-total // PAGE_SIZE))
        rows = self.db.execute(f"{ITEM_SELECT} {where} ORDER BY i.created_at, i.id", params)
        for number, batch in enumerate(_batches(rows, PAGE_SIZE, at_least_one=True), start=1):
            name = thread_page(root_id, number)
            items = self._show(([root] if number == 1 else []) + batch, name, thread_of=root_id)
            self.render(
                name,
                "thread.html",
                space=space,
                items=items,
                pages=self._pages(number, count, _page_name, newest_first=False),
            )
        return total

    def _history(self, space: dict[str, Any], item_id: str) -> None:
        """An item's page with its revisions, and a diff page for each pair of consecutive ones."""
        row = self.db.execute(f"{ITEM_SELECT} WHERE i.id = ?", (item_id,)).fetchone()
        (it,) = self._decorate([row], item_page(item_id))
        folder = f"items/{safe_id(item_id)}"
        total = self._count("SELECT count(*) FROM revisions WHERE item_id = ?", item_id)
        revisions = self.db.execute(
            "SELECT r.id, r.created_at, r.comment, r.body_text,"
            " coalesce(p.display_name, p.real_name, p.name, r.author_id) AS author"
            " FROM revisions r LEFT JOIN persons p ON p.id = r.author_id WHERE r.item_id = ?"
            " ORDER BY r.created_at, r.id",
            (item_id,),
        )
        listed: list[dict[str, Any]] = []
        previous: sqlite3.Row | None = None
        for n, rev in enumerate(revisions, start=1):
            entry = {
                "id": rev["id"],
                "when": when(rev["created_at"]),
                "author": rev["author"] or "",
                "comment": rev["comment"],
                "diff_href": f"diff-{n}.html" if previous is not None else None,
            }
            listed.append(entry)  # the list holds no bodies: one body at a time is in memory
            if previous is not None:
                self.render(
                    f"{folder}/diff-{n}.html",
                    "diff.html",
                    space=space,
                    it=it,
                    old={"when": when(previous["created_at"]), "author": previous["author"] or ""},
                    new={"when": entry["when"], "author": entry["author"]},
                    lines=revision_diff(previous, rev),
                    previous_href=f"diff-{n - 1}.html" if n > 2 else None,
                    next_href=f"diff-{n + 1}.html" if n < total else None,
                )
            previous = rev
        self.render(f"{folder}/index.html", "item.html", space=space, it=it, revisions=listed)

    # -- items -----------------------------------------------------------------------------------
    def _show(self, rows: list[sqlite3.Row], page: str, thread_of: str | None = None) -> list[dict[str, Any]]:
        """Items shown on a page: decorated for the template; each item's record goes to the data
        files the first time a page shows it, and that page is its page."""
        items = self._decorate(rows, page, thread_of=thread_of)
        new = []
        for row, it in zip(rows, items, strict=True):
            text = "\n".join(t for t in (row["title"], row["body_text"]) if t)
            cursor = self.work.execute(
                "INSERT OR IGNORE INTO shown VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    row["id"],
                    row["space_id"],
                    row["author_id"],
                    row["created_at"],
                    page,
                    text[:SEARCH_TEXT],
                    str(it["body"]),  # rendered once: the author's page shows it again
                ),
            )
            if cursor.rowcount:
                new.append((row, it, text, cursor.lastrowid))
        if new:
            self._records(new, page)
        return items

    def _records(self, new: list[tuple[sqlite3.Row, dict[str, Any], str, int | None]], page: str) -> None:
        """The data records of items a page shows first, and their words for the search index."""
        ids = [row["id"] for row, *_ in new]
        marks = ",".join("?" * len(ids))
        reactions: dict[str, list[dict[str, Any]]] = {}
        for r in self.db.execute(
            f"SELECT item_id, person_id, emoji, created_at FROM reactions WHERE item_id IN ({marks})"
            " ORDER BY item_id, person_id, emoji",
            ids,
        ):
            reactions.setdefault(r[0], []).append({"person_id": r[1], "emoji": r[2], "created_at": r[3]})
        revisions: dict[str, list[dict[str, Any]]] = {}
        for r in self.db.execute(
            "SELECT item_id, id, author_id, created_at, comment, body_format, body_text FROM revisions"
            f" WHERE item_id IN ({marks}) ORDER BY item_id, created_at, id",
            ids,
        ):
            revisions.setdefault(r[0], []).append({k: r[k] for k in r.keys()[1:]})
        for row, it, text, shown in new:
            item_id = row["id"]
            its_reactions = reactions.get(item_id, [])
            its_revisions = revisions.get(item_id, [])
            self.chunks.add(
                {
                    "id": item_id,
                    "space_id": row["space_id"],
                    "kind": row["kind"],
                    "subtype": row["subtype"],
                    "author_id": row["author_id"],
                    "created_at": row["created_at"],
                    "edited_at": row["edited_at"],
                    "deleted": bool(row["deleted"]),
                    "thread_root_id": row["thread_root_id"],
                    "parent_id": row["parent_id"],
                    "also_in_channel": bool(row["also_in_channel"]),
                    "pinned": bool(row["pinned"]),
                    "title": row["title"],
                    "body_format": row["body_format"],
                    "body_text": row["body_text"],
                    "reactions": its_reactions,
                    "files": it["file_records"],
                    "revisions": its_revisions,
                    "page": page,
                }
            )
            self.counts["items"] += 1
            self.counts["reactions"] += len(its_reactions)
            self.counts["revisions"] += len(its_revisions)
            self.log.carried("item")
            self.log.carried("reaction", len(its_reactions))
            self.log.carried("revision", len(its_revisions))
            found = set(words(text))
            found.add(f"space:{row['space_id']}")
            if row["author_id"]:
                found.add(f"author:{row['author_id']}")
            self.work.executemany(
                "INSERT INTO postings VALUES (?, ?, ?)", ((fnv1a(w), w, shown) for w in sorted(found))
            )

    def _decorate(
        self,
        rows: Sequence[sqlite3.Row],
        page: str,
        *,
        thread_of: str | None = None,
        elsewhere: bool = False,
        bodies: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """The template's view of items: body rendered and sanitised, files, reactions, links."""
        ids = [r["id"] for r in rows]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        files: dict[str, list[dict[str, Any]]] = {}
        records: dict[str, list[dict[str, Any]]] = {}
        for f in self.db.execute(
            "SELECT x.item_id, f.id, f.name, f.title, f.media_type, f.size, f.sha256, f.missing_reason"
            f" FROM item_files x JOIN files f ON f.id = x.file_id WHERE x.item_id IN ({marks})"
            " ORDER BY x.item_id, x.position, f.id",
            ids,
        ):
            sha256 = f["sha256"]
            path = file_path(sha256, f["name"]) if sha256 is not None and sha256 not in self.missing else None
            files.setdefault(f["item_id"], []).append(
                {
                    "name": f["name"] or f["id"],
                    "path": path,
                    "missing_reason": f["missing_reason"],
                    "inline": path is not None and self._inline(f["media_type"], f["name"], sha256),
                }
            )
            records.setdefault(f["item_id"], []).append(
                {
                    "id": f["id"],
                    "name": f["name"],
                    "title": f["title"],
                    "media_type": f["media_type"],
                    "size": f["size"],
                    "sha256": sha256,
                    "missing_reason": f["missing_reason"],
                    "path": path,
                }
            )
        reactions: dict[str, list[tuple[str, int]]] = {}
        for r in self.db.execute(
            f"SELECT item_id, emoji, count(*) FROM reactions WHERE item_id IN ({marks})"
            " GROUP BY item_id, emoji ORDER BY item_id, min(coalesce(created_at, 0)), emoji",
            ids,
        ):
            reactions.setdefault(r[0], []).append((r[1], r[2]))
        replies = {
            r[0]: r[1]
            for r in self.db.execute(
                f"SELECT i.thread_root_id, count(*) FROM items i WHERE i.thread_root_id IN ({marks})"
                f" AND {_IN_THREAD} GROUP BY i.thread_root_id",
                ids,
            )
        }
        revisions = {
            r[0]: r[1]
            for r in self.db.execute(
                f"SELECT item_id, count(*) FROM revisions WHERE item_id IN ({marks}) GROUP BY item_id", ids
            )
        }
        out = []
        for row in rows:
            item_id = row["id"]
            root = row["thread_root_id"]
            in_thread = root is not None and root != item_id and root != thread_of
            out.append(
                {
                    "id": item_id,
                    "kind": row["kind"],
                    "deleted": row["deleted"],
                    "author_id": row["author_id"],
                    "author": row["author"],
                    "author_href": person_page(row["author_id"]) if row["author_id"] else "",
                    "when": when(row["created_at"]),
                    "href": f"{page}#item-{item_id}" if not elsewhere else "",
                    "edited_at": row["edited_at"],
                    "pinned": row["pinned"],
                    "title": row["title"],
                    "body": Markup(bodies[item_id])
                    if bodies is not None
                    else self._body(row["body_text"], row["body_refs"]),
                    "files": files.get(item_id, []),
                    "file_records": records.get(item_id, []),
                    "reactions": reactions.get(item_id, []),
                    "replies": replies.get(item_id, 0) if item_id != thread_of else 0,
                    "thread_href": thread_page(item_id),
                    "in_thread_href": thread_page(root) if in_thread and row["also_in_channel"] else None,
                    "history_href": item_page(item_id) if revisions.get(item_id) else None,
                    "n_revisions": revisions.get(item_id, 0),
                    "space_href": space_page(row["space_id"]) if elsewhere else None,
                    "space_title": self.titles.get(row["space_id"], ""),
                }
            )
        return out

    def _body(self, body_text: str | None, body_refs: str | None) -> Markup:
        """The served site's rendering (markdown-it, HTML off, nh3), its mention links made
        relative to the site's root; a mention of a space the audience may not see links nowhere."""
        rendered = str(body_html(body_text, body_refs))

        def relative(match: re.Match[str]) -> str:
            kind, target = match.group(1), html_escape.unescape(match.group(2))
            if kind == "spaces" and target not in self.spaces:
                return "<a"
            path = person_page(target) if kind == "people" else space_page(target)
            return f'<a href="{ITEM_ROOT}{path}"'

        return Markup(_MENTION_LINK.sub(relative, rendered))

    def _pages(self, number: int, count: int, name: Any, *, newest_first: bool) -> Pages:
        older_label, newer_label = (
            (self._("Older"), self._("Newer")) if newest_first else (self._("Next"), self._("Previous"))
        )
        return Pages(
            number=number,
            count=count,
            newer=name(number - 1) if number > 1 else None,
            older=name(number + 1) if number < count else None,
            newer_label=newer_label,
            older_label=older_label,
        )

    # -- people --------------------------------------------------------------------------------
    def _people(self) -> None:
        self.work.execute("CREATE INDEX work.shown_author ON shown (author_id, created_at, item_id)")
        task = self.display.task("people", total=len(self.person_names))
        for person_id in sorted(self.person_names):
            task.advance()
            p = self.db.execute("SELECT title FROM persons WHERE id = ?", (person_id,)).fetchone()
            total = int(
                self.work.execute("SELECT count(*) FROM shown WHERE author_id = ?", (person_id,)).fetchone()[
                    0
                ]
            )
            person = {"title": self.person_names[person_id], "job": p["title"], "n_items": total}
            count = max(1, -(-total // PAGE_SIZE))
            shown = self.work.execute(
                "SELECT item_id, page, html FROM shown WHERE author_id = ? ORDER BY created_at DESC, item_id DESC",
                (person_id,),
            )
            for number, batch in enumerate(_batches(shown, PAGE_SIZE, at_least_one=True), start=1):
                pages = {item_id: page for item_id, page, _ in batch}
                marks = ",".join("?" * len(pages))
                found = {
                    r["id"]: r for r in self.db.execute(f"{ITEM_SELECT} WHERE i.id IN ({marks})", list(pages))
                }
                rows = [found[item_id] for item_id, _, _ in batch]
                items = self._decorate(rows, "", elsewhere=True, bodies={r[0]: r[2] for r in batch})
                for it in items:
                    it["href"] = f"{pages[it['id']]}#item-{it['id']}"
                self.render(
                    person_page(person_id, number),
                    "person.html",
                    person=person,
                    items=items,
                    pages=self._pages(number, count, _page_name, newest_first=True),
                )

    def _authors(self) -> list[dict[str, str]]:
        """Who wrote something the site shows: the search's author filter."""
        return sorted(
            (
                {"id": a, "title": self.person_names.get(a, a)}
                for (a,) in self.work.execute(
                    "SELECT DISTINCT author_id FROM shown WHERE author_id IS NOT NULL"
                )
            ),
            key=lambda p: (p["title"].casefold(), p["title"], p["id"]),
        )

    # -- search ------------------------------------------------------------------------------------
    def _search_index(self) -> dict[str, int]:
        """The index's shards and documents, written in order from the work database."""
        work = self.work
        work.executescript(
            """
            CREATE TABLE work.docs (doc INTEGER PRIMARY KEY, shown INTEGER NOT NULL UNIQUE);
            INSERT INTO work.docs (doc, shown) SELECT row_number() OVER (ORDER BY created_at DESC NULLS LAST,
                item_id DESC) - 1, rowid FROM shown;
            """
        )
        docs = work.execute(
            "SELECT d.doc, s.item_id, s.page, s.space_id, s.author_id, s.created_at, s.text"
            " FROM docs d JOIN shown s ON s.rowid = d.shown ORDER BY d.doc"
        )
        for chunk, batch in enumerate(_batches(docs, DOCS_PER_CHUNK)):
            self.out.write_bytes(
                f"data/search-docs-{chunk:05d}.js",
                data_file({"kind": "search-docs", "chunk": chunk, "docs": [list(row[1:]) for row in batch]}),
            )
        postings = int(work.execute("SELECT count(*) FROM postings").fetchone()[0])
        shards = 1
        while shards * POSTINGS_PER_SHARD < postings and shards < MAX_SHARDS:
            shards *= 2
        rows = work.execute(
            "SELECT p.hash % ? AS shard, p.word, d.doc FROM postings p JOIN docs d ON d.shown = p.shown"
            " ORDER BY shard, p.word, d.doc",
            (shards,),
        )
        terms: dict[str, list[int]] = {}
        current = 0
        last: tuple[str, int] = ("", 0)

        def flush(shard: int) -> None:
            self.out.write_bytes(
                f"data/search-terms-{shard:05d}.js",
                data_file({"kind": "search-terms", "shard": shard, "terms": terms}),
            )

        for shard, word, doc in rows:
            while shard > current:
                flush(current)
                terms = {}
                current += 1
            gaps = terms.setdefault(word, [])
            gaps.append(doc if not gaps else doc - last[1])
            last = (word, doc)
        while current < shards:
            flush(current)
            terms = {}
            current += 1
        return {
            "shards": shards,
            "docs_per_chunk": DOCS_PER_CHUNK,
            "page_size": RESULTS_PAGE,
            "max_token": MAX_TOKEN,
        }

    # -- home and site -------------------------------------------------------------------------------
    def _home(self) -> None:
        figures = ArchiveFigures.count(self.db).for_spaces(self.spaces)
        spaces = {
            s: {
                "id": s,
                "href": space_page(s),
                "title": self.titles[s],
                "kind": self.spaces[s]["kind"],
                "visibility": self.spaces[s]["visibility"],
                "purpose": self.spaces[s]["purpose"],
                "topic": self.spaces[s]["topic"],
                "n_items": figures.items_per_space.get(s, 0),
            }
            for s in sorted(self.spaces, key=self._space_key)
        }
        series = {self.titles[s]: per_month for s, per_month in figures.activity.items()}
        people = [
            {"href": person_page(pid), "title": self.person_names.get(pid, pid), "n": n}
            for pid, n in figures.people
        ]
        self.render(
            "index.html",
            "home.html",
            spaces=list(spaces.values()),
            biggest=[spaces[s] for s in figures.biggest],
            chart=activity_svg(series, figures.months),
            people=people,
            generated=f"{self._('A static copy of the archive, written by passerelle')} {__version__}",
        )

    def _site(self) -> None:
        self.out.write_bytes(
            "data/site.js",
            data_file(
                {
                    "kind": "site",
                    "format": "passerelle-html",
                    "version": 1,
                    "generator": f"passerelle {__version__}",
                    "audience": self._audience(),
                    "item_chunks": self.chunks.written,
                    "counts": self.counts,
                }
            ),
        )


def _batches(rows: Iterable[Any], size: int, *, at_least_one: bool = False) -> Iterator[list[Any]]:
    """Rows a list of ``size`` at a time (one empty list for no rows when at_least_one)."""
    batch: list[Any] = []
    sent = False
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            sent = True
            batch = []
    if batch or (at_least_one and not sent):
        yield batch
