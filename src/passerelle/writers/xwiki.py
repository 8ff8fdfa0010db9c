"""The XAR writer (``export ARCHIVE --to xar -o OUT.xar``): an archive's wiki pages as an XWiki
package the XWiki importer takes (Administration → Content → Import), docs/wikis.md "Writing
XWiki".

The package is a zip: ``package.xml`` (``backupPack`` true, so XWiki keeps the authors and
dates written; ``preserveVersion`` true when some page carries its history) and one
``<xwikidoc version="1.6">`` per page and translation, at ``Space/Sub/Page.xml``
(``Page.<locale>.xml`` for a translation), XML 1.1 as XWiki writes it. Each document carries
the page's current version (title, parent, syntax, content, creator, author, dates), its
attachments (content in base64, streamed from the blob store as the document is written:
no attachment is ever held whole), its comments as ``XWiki.XWikiComments`` objects
(``replyto`` the number of the comment replied to) and, when the page has more than one
revision (or its revisions came from a XAR's history), its whole history as the JRCS
``<versions>`` archive XWiki keeps (every version a whole ``<xwikidoc>``, the older ones as
reverse deltas, ``xwiki_jrcs.write_archive``).

Pages of an XWiki archive are written from their raw ``<xwikidoc>`` (so every field,
object and class the source had is there again, and a XAR → archive → XAR round trip is
the identity); other wikis' pages get an XWiki reference by one rule (each namespace or
space, then the page, as nested pages: ``Help:Contents`` → ``Help.Contents.WebHome``,
``ns:sub:page`` → ``ns.sub.page.WebHome``), their bodies (and every revision's) converted
to ``xwiki/2.1`` by ``passerelle.markup`` with links and embedded files renamed (a markup it
cannot convert is kept under XWiki's syntax id for it: ``mediawiki/1.0``…), their wiki's
loose files attached to the first page embedding them; every such adaptation is a note. A private space
of another wiki is written as ``XWikiGlobalRights`` on its ``WebPreferences`` page: view
allowed to its members. Items that are not pages (chat messages, posts) and comments on
them, files attached to no page, reactions and the memberships of public spaces have no
place in a XAR: each is a note.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from collections.abc import Mapping as AnyMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, ClassVar
from xml.sax.saxutils import escape

from lxml import etree

from passerelle import markup
from passerelle.archive.view import ArchiveView
from passerelle.markup.naming import xwiki_split
from passerelle.model.entities import File, Item, Person, Space, SpaceKind, Visibility
from passerelle.progress import Display
from passerelle.readers.safe_xml import safe_parser
from passerelle.readers.xwiki_jrcs import archive_parts
from passerelle.writers.base import ExportLog, Note, Outcome, Output, RuleCheck, WriterInfo

PLATFORM = "xwiki"
WIKI = "xwiki"
PACKAGE = ".".join(("package", "xml"))  # spelt so: "package.<x>" strings are diagnostic codes
FORMAT = "1.6"
DECLARATION = b"<?xml version='1.1' encoding='UTF-8'?>\n"
COMMENTS_CLASS = "XWiki.XWikiComments"
# The XWiki syntax id under which another wiki's markup is kept (XWiki renders each with the
# syntax extension of that name).
SYNTAX_IDS = {
    "mediawiki": "mediawiki/1.0",
    "dokuwiki": "dokuwiki/1.0",
    "markdown": "markdown/1.2",
    "html": "html/4.01",
    "text": "plain/1.0",
    "creole": "creole/1.0",
    "confluence": "confluence/1.0",
}
_BLOB_MARK = re.compile(rb"@@passerelle-blob:([0-9a-f]{64})@@")
_SEPARATORS = {"dokuwiki": ":", "mediawiki": ":"}
_CHUNK = 3 * (1 << 18)  # base64 of whole 3-byte groups


TARGET = "xwiki/2.1"


def _ms(micros: int | None) -> str:
    return "" if micros is None else str(micros // 1000)


def _cut(archive: Any, output: Any) -> bool:
    """xwiki.export_time: a time cut to the millisecond."""
    return isinstance(archive, int) and output == archive - archive % 1000


def escape_part(part: str) -> str:
    return part.replace("\\", "\\\\").replace(".", "\\.").replace(":", "\\:")


def reference_for(platform: str, title: str, namespaced: bool) -> str:
    """The XWiki reference of another wiki's page: its namespaces or spaces, then its name, as
    nested pages (``Help:Contents`` → ``Help.Contents.WebHome``; a MediaWiki subpage ``A/B`` →
    ``A.B.WebHome``; DokuWiki ``ns:sub:page`` → ``ns.sub.page.WebHome``)."""
    if platform == "mediawiki":
        head, sep, rest = title.partition(":")
        parts = ([head] if sep and namespaced else []) + (rest if sep and namespaced else title).split("/")
    elif platform == "dokuwiki":
        parts = title.split(":")
    else:
        parts = [title]
    parts = [p.strip() or "_" for p in parts]
    return ".".join(escape_part(p) for p in [*parts, "WebHome"])


def _date_property(micros: int | None) -> str:
    if micros is None:
        return ""
    when = datetime.fromtimestamp(micros // 1_000_000, tz=UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S") + f".{(micros // 1000) % 1000}"


def _guid(*parts: str) -> str:
    return str(uuid.UUID(hashlib.md5("\x1f".join(parts).encode()).hexdigest()))


def _el(name: str, value: str | None, indent: str = "  ") -> str:
    if not value:
        return f"{indent}<{name}/>\n"
    return f"{indent}<{name}>{escape(value)}</{name}>\n"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_text(value: str) -> str:
    """Text for an XML 1.1 document: control characters as character references."""
    text = escape(value)
    return _CONTROL.sub(lambda m: f"&#{ord(m.group(0))};", text) if _CONTROL.search(text) else text


def _field(name: str, value: str | None, indent: str = "  ") -> str:
    if not value:
        return f"{indent}<{name}/>\n"
    return f"{indent}<{name}>{_xml_text(value)}</{name}>\n"


@dataclass
class _Page:
    item: str
    reference: str
    locale: str
    native: str  # the native id the reader will give the page
    raw: bytes | None  # an XWiki page's <xwikidoc>
    foreign: bool
    path: str = ""


@dataclass(frozen=True)
class _RevMeta:
    """A revision without its text."""

    id: str
    native_id: str
    created_at: int | None
    author_id: str | None
    comment: str | None
    fmt: str | None  # body format; None for a revision without body (a deletion)
    xml_raw: bool = False  # its raw is an <xwikidoc> (a version of an XAR's history)


@dataclass
class _Doc:
    """A document being written: its XML around markers where attachment bytes go."""

    parts: list[bytes] = field(default_factory=list)


class XarWriter:
    info: ClassVar[WriterInfo] = WriterInfo(
        name="xar",
        description="XWiki XAR package (xwikidoc 1.6) the XWiki importer takes, with history as JRCS",
        keeps=(
            "every wiki page and translation with its current version, title, parent, syntax, authors and dates",
            "the whole history of pages with several revisions (the JRCS <versions> archive; import with 'replace history')",
            "attachments with their bytes (and the older versions an XWiki archive holds), comments with their replies",
            "an XWiki archive's documents as they were (every field, object and class, from the raw record)",
            "private spaces of other wikis as view rights (XWikiGlobalRights on WebPreferences) for their members",
            "other wikis' pages converted to XWiki 2.1 (pandoc) with links and embedded files renamed; redirects",
        ),
        cannot_carry=(
            "items that are not pages (chat messages, posts), files no page holds or embeds, reactions",
            "memberships of public spaces; persons' names beyond the XWiki user reference of authors",
            "times below the millisecond; markup constructs XWiki 2.1 has no equivalent for (said per page)",
        ),
        reader="xwiki",
    )
    version: ClassVar[str] = "1"
    rule_checks: ClassVar[AnyMapping[str, RuleCheck]] = {"xwiki.export_time": _cut}

    def __init__(self, options: AnyMapping[str, str]) -> None:
        self.options = dict(options)

    def write(self, view: ArchiveView, out: Output, log: ExportLog, display: Display) -> None:
        _Run(view, out, log, display).write()


class _Run:
    def __init__(self, view: ArchiveView, out: Output, log: ExportLog, display: Display) -> None:
        self.view = view
        self.out = out
        self.log = log
        self.display = display
        self.conn = view.connection
        self.persons: dict[str, Person] = {p.id: p for p in view.persons()}
        self.spaces: dict[str, Space] = {s.id: s for s in view.spaces()}
        self.user_refs: dict[str, str] = {}  # person id -> XWiki user reference
        self.written_persons: set[str] = set()
        self.pages: list[_Page] = []
        self.page_of: dict[str, _Page] = {}
        self.history = False
        self.files_written: set[str] = set()
        self.space_refs: dict[str, str] = {}  # archive space id -> XWiki space reference
        self.page_files: dict[str, list[tuple[str, str]]] = {}  # page item -> (file id, name)
        self.file_home: dict[str, tuple[str, str]] = {}  # file id -> (page reference, name)
        self.file_by_key: dict[str, str] = {}  # a file's native id or name -> file id
        self.attached_loose: set[str] = set()  # pages given files their wiki attached to none
        self.page_by_key: dict[tuple[str, str], str] = {}  # (platform, page key) -> reference
        self.rights_pages: list[_Page] = []  # WebPreferences pages written for private spaces
        self.private_written: set[str] = set()  # other wikis' private spaces written as rights

    # -- persons ------------------------------------------------------------------------
    def user(self, person_id: str | None) -> str:
        if person_id is None:
            return ""
        ref = self.user_refs.get(person_id)
        if ref is None:
            person = self.persons.get(person_id)
            if person is None:
                return ""
            if person.platform == PLATFORM:
                ref = person.native_id
            else:
                base = (person.name or person.display_name or person.native_id).strip() or "Unknown"
                candidate = "XWiki." + escape_part(base)
                taken = set(self.user_refs.values())
                n = 2
                ref = candidate
                while ref in taken:
                    ref = f"{candidate}{n}"
                    n += 1
            self.user_refs[person_id] = ref
        self.written_persons.add(person_id)
        return ref

    # -- planning -----------------------------------------------------------------------
    def _plan(self) -> None:
        taken: set[tuple[str, str]] = set()
        rows = self.conn.execute(
            "SELECT id, platform, native_id, title, space_id, raw FROM items WHERE kind = 'page' ORDER BY id"
        ).fetchall()
        for item, platform, native, title, space_id, raw in rows:
            reference = locale = ""
            xwiki_raw = (
                raw if platform == PLATFORM and raw is not None and b"<xwikidoc" in raw[:400] else None
            )
            if xwiki_raw is not None:
                reference, _, locale = native.partition(";")
            else:
                space = self.spaces.get(space_id)
                namespaced = space is not None and space.native_id not in ("ns:0",)
                reference = reference_for(platform, title or native, namespaced)
                locale = ""
            key = (reference, locale)
            n = 2
            base = reference
            while key in taken:
                parts = xwiki_split(base)
                parts[-2 if len(parts) > 1 else -1] += f" ({n})"
                reference = ".".join(escape_part(p) for p in parts)
                key = (reference, locale)
                n += 1
            taken.add(key)
            page = _Page(
                item=item,
                reference=reference,
                locale=locale,
                native=f"{reference};{locale}" if locale else reference,
                raw=xwiki_raw,
                foreign=xwiki_raw is None,
            )
            self.pages.append(page)
            self.page_of[item] = page
        paths: set[str] = set()
        for page in sorted(self.pages, key=lambda p: (p.reference, p.locale)):
            base = "/".join(xwiki_split(page.reference))
            base = "/".join(_safe_segment(s) for s in base.split("/"))
            path = f"{base}.{page.locale}.xml" if page.locale else f"{base}.xml"
            n = 2
            while path.lower() in paths:
                path = f"{base}-{n}.xml"
                n += 1
            paths.add(path.lower())
            page.path = path

    def _plan_files(self) -> None:
        """Each page's attachments and their names; another wiki's loose files (DokuWiki media)
        attached to the first page that embeds them, the others pointing there."""
        for page in sorted(self.pages, key=lambda p: (p.reference, p.locale)):
            taken: set[str] = set()
            files: list[tuple[str, str]] = []
            for file_id, name, native in self.conn.execute(
                "SELECT f.id, f.name, f.native_id FROM item_files x JOIN files f ON f.id = x.file_id"
                " WHERE x.item_id = ? ORDER BY x.position",
                (page.item,),
            ).fetchall():
                file = File(id=file_id, platform="", native_id=native, name=name)
                written = name or "" if not page.foreign else _attachment_name(file, taken)
                taken.add(written)
                files.append((file_id, written))
            self.page_files[page.item] = files
            for file_id, written in files:
                self.file_home.setdefault(file_id, (page.reference, written))
        for file_id, native, name in self.conn.execute(
            "SELECT id, native_id, name FROM files ORDER BY id"
        ).fetchall():
            for key in (native, name):
                if key:
                    self.file_by_key.setdefault(key, file_id)
        for page in self.pages:
            if page.foreign:
                row = self.conn.execute(
                    "SELECT platform, title, native_id FROM items WHERE id = ?", (page.item,)
                ).fetchone()
                self.page_by_key.setdefault(
                    (row[0], markup.page_key(row[0], row[1] or row[2])), page.reference
                )
        # loose files embedded by pages of other wikis
        loose = {
            fid
            for (fid,) in self.conn.execute(
                "SELECT id FROM files WHERE platform != ? AND id NOT IN (SELECT file_id FROM item_files)",
                (PLATFORM,),
            )
        }
        if not loose:
            return
        for page in sorted(self.pages, key=lambda p: (p.reference, p.locale)):
            if not page.foreign:
                continue
            (refs,) = self.conn.execute("SELECT body_refs FROM items WHERE id = ?", (page.item,)).fetchone()
            for ref in json.loads(refs) if refs else []:
                if ref.get("kind") != "file":
                    continue
                file_id = self._file_id_of(str(ref.get("target", "")))
                if file_id is None or file_id not in loose or file_id in self.file_home:
                    continue
                (name, native) = self.conn.execute(
                    "SELECT name, native_id FROM files WHERE id = ?", (file_id,)
                ).fetchone()
                taken = {n for _, n in self.page_files[page.item]}
                written = _attachment_name(File(id=file_id, platform="", native_id=native, name=name), taken)
                self.page_files[page.item].append((file_id, written))
                self.file_home[file_id] = (page.reference, written)
                self.log.files[file_id] = page.native
                self.attached_loose.add(page.item)

    def _file_id_of(self, target: str) -> str | None:
        target = target.split("?", 1)[0].split("|", 1)[0].strip()
        base = re.split(r"[@:/]", target)[-1]
        return (
            self.file_by_key.get(target)
            or self.file_by_key.get(target.lstrip(":"))
            or self.file_by_key.get(base)
        )

    def _renamers(
        self, page: _Page, platform: str, title: str, unresolved: set[str]
    ) -> tuple[Callable[[str], str | None], Callable[[str], str | None]]:

        def link(target: str) -> str | None:
            for key in markup.link_keys(platform, target, title):
                reference = self.page_by_key.get((platform, key))
                if reference is not None:
                    return reference
            unresolved.add(target)
            return None

        def file(target: str) -> str | None:
            file_id = self._file_id_of(target)
            home = self.file_home.get(file_id) if file_id is not None else None
            if home is None:
                return None
            reference, name = home
            return name if reference == page.reference else f"{reference}@{name}"

        return link, file

    def _convert(
        self,
        page: _Page,
        item: Item,
        bodies: list[tuple[str | None, str]],
        unresolved: set[str] | None = None,
    ) -> list[tuple[str, str, str | None, tuple[markup.Loss, ...]]]:
        """Each body as written: (text, XWiki syntax id, what the note says, or None when
        written as it was, and each construct the conversion could not carry). Another
        wiki's markup is converted to XWiki 2.1 where ``passerelle.markup`` converts it
        (links and embedded files renamed), else kept."""
        out: list[tuple[str, str, str | None, tuple[markup.Loss, ...]]] = [("", TARGET, None, ())] * len(
            bodies
        )
        todo: list[int] = []
        pages: list[markup.Page] = []
        for i, (fmt, source) in enumerate(bodies):
            if not page.foreign or fmt is None or fmt.startswith("xwiki/2"):
                out[i] = (source, self._syntax(fmt), None, ())
            elif fmt in markup.SOURCES:
                todo.append(i)
                pages.append(markup.Page(source, fmt, item.title or item.native_id))
            else:
                out[i] = (
                    source,
                    self._syntax(fmt),
                    f"kept in its {fmt} markup under the XWiki syntax {self._syntax(fmt)}",
                    (),
                )
        if todo:
            link, file = self._renamers(
                page,
                item.platform,
                item.title or item.native_id,
                unresolved if unresolved is not None else set(),
            )
            for i, conversion in zip(
                todo, markup.convert_many(pages, TARGET, link=link, file=file), strict=True
            ):
                said = f"converted from {bodies[i][0]} ({conversion.method})"
                out[i] = (conversion.text, TARGET, said, conversion.losses)
        return out

    # -- writing ------------------------------------------------------------------------
    def write(self) -> None:
        self._plan()
        self._plan_files()
        task = self.display.task("xar pages", total=len(self.pages))
        for page in sorted(self.pages, key=lambda p: (p.reference, p.locale)):
            self._page(page)
            task.advance()
        self._rights_pages()
        self._not_written()
        self._package()
        self._spaces()
        self._persons()

    def _written_spaces(self) -> set[str]:
        """Every XWiki space reference the planned pages make."""
        prefixes: set[str] = set()
        for page in self.pages:
            parts = xwiki_split(page.reference)
            for n in range(1, len(parts)):
                prefixes.add(".".join(escape_part(p) for p in parts[:n]))
        return prefixes

    def _rights_pages(self) -> None:
        """A ``WebPreferences`` page for each private space of another wiki that is written:
        ``XWikiGlobalRights`` allowing view to its members only (XWiki then denies it to
        everyone else, guests included, and to the space's children alike)."""
        prefixes = self._written_spaces()
        planned = {p.reference for p in self.pages}
        for space in sorted(self.spaces.values(), key=lambda s: s.id):
            if space.platform == PLATFORM or space.visibility is not Visibility.PRIVATE:
                continue
            target = self._space_reference(space)
            if target is None or target not in prefixes or f"{target}.WebPreferences" in planned:
                continue
            members = [self.user(m) for m in self.view.members(space.id)]
            reference = f"{target}.WebPreferences"
            page = _Page(item="", reference=reference, locale="", native=reference, raw=None, foreign=True)
            parts = xwiki_split(reference)
            users = ",".join(sorted(filter(None, members)))
            props = [("allow", "1"), ("groups", "" if users else "XWiki.XWikiAdminGroup"), ("levels", "view")]
            props.append(("users", users))
            text = (
                DECLARATION.decode()
                + f'<xwikidoc version="{FORMAT}" reference="{escape(reference, {chr(34): "&quot;"})}" locale="">\n'
                + _field("web", ".".join(escape_part(p) for p in parts[:-1]))
                + _field("name", "WebPreferences")
                + _field("language", "")
                + _field("defaultLanguage", "")
                + _field("translation", "0")
                + _field("version", "1.1")
                + _field("comment", "view rights of a private space, written by passerelle")
                + _field("syntaxId", "xwiki/2.1")
                + _field("hidden", "true")
                + _field("content", "")
                + "  <object>\n"
                + _field("name", reference, "    ")
                + _field("number", "0", "    ")
                + _field("className", "XWiki.XWikiGlobalRights", "    ")
                + _field("guid", _guid(reference, space.id), "    ")
                + "".join(f"    <property>\n{_field(k, v, '      ')}    </property>\n" for k, v in props)
                + "  </object>\n</xwikidoc>\n"
            )
            page.path = "/".join(_safe_segment(p) for p in parts) + ".xml"
            self.out.write_bytes(page.path, text.encode("utf-8"))
            self.rights_pages.append(page)
            self.private_written.add(space.id)
            self.log.structure.append(reference)

    def _page(self, page: _Page) -> None:
        message = self.view.item(page.item)
        assert message is not None
        item = message.item
        notes: list[Note] = []
        revisions = self._revision_metas(item.id)
        if page.foreign:
            notes.append(
                self._note(
                    "xwiki.export_reference",
                    "item",
                    item.id,
                    "title",
                    f"named {page.reference} in XWiki",
                    original=item.title,
                )
            )
        if page.foreign:
            notes.append(
                self._note(
                    "xwiki.export_reference",
                    "item",
                    item.id,
                    "space_id",
                    f"a nested page: in a space of its own, {page.reference.removesuffix('.WebHome')}",
                )
            )
        if item.id in self.attached_loose:
            notes.append(
                self._note(
                    "xwiki.export_reference",
                    "item",
                    item.id,
                    "files",
                    "the wiki's files it embeds are attached to it (XWiki has no files outside pages)",
                )
            )
        if item.deleted:
            notes.append(
                self._note("xwiki.export_deleted", "item", item.id, "deleted", "written as an existing page")
            )
        attachments = self._attachments(page)
        comments = self._comments(page, item)
        versions = self._versions(page, item, revisions)
        if page.raw is not None:
            doc = self._from_raw(page, versions, attachments, comments)
        else:
            doc = self._generated(page, item, revisions, versions, attachments, comments, notes)
        self._emit(page.path, doc)
        self.log.items[item.id] = page.native
        for note in self._time_notes(item):
            notes.append(note)
        self.log.account("item", notes)

    def _time_notes(self, item: Item) -> list[Note]:
        notes = []
        for attr in ("created_at", "edited_at"):
            value = getattr(item, attr)
            if isinstance(value, int) and value % 1000:
                notes.append(self._note("xwiki.export_time", "item", None, attr, "to the millisecond"))
        return notes

    # -- history --------------------------------------------------------------------------
    def _revision_metas(self, item_id: str) -> list[_RevMeta]:
        """The page's revisions without their texts, oldest first (a few dozen bytes each)."""
        rows = self.conn.execute(
            "SELECT id, native_id, created_at, author_id, comment, body_format,"
            " raw IS NOT NULL AND hex(substr(raw, 1, 1)) = '3C' FROM revisions WHERE item_id = ?"
            " ORDER BY created_at IS NULL, created_at, length(native_id), native_id, id",
            (item_id,),
        )
        return [_RevMeta(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]

    def _versions(self, page: _Page, item: Item, revisions: list[_RevMeta]) -> str | None:
        """The JRCS archive of the page's revisions, or None when the document alone says it
        all. Revisions are read one at a time, newest first, as the archive is made."""
        from_xar = any(r.xml_raw for r in revisions)
        versions = [self._version_of(page, r, n) for n, r in enumerate(revisions)]
        for revision, version in zip(revisions, versions, strict=True):
            self.log.revisions[revision.id] = version
            notes: list[Note] = []
            if revision.fmt is None:
                notes.append(
                    self._note(
                        "xwiki.export_deleted",
                        "revision",
                        revision.id,
                        "body",
                        "a deletion: written as an empty version",
                    )
                )
            self._account_revision(revision, notes)
        if len(revisions) < 2 and not from_xar:
            return None
        self.history = True
        heads = [(v, r.created_at, self.user(r.author_id)) for r, v in zip(revisions, versions, strict=True)]

        def texts() -> Iterator[tuple[str, str]]:
            newest_first = list(zip(reversed(revisions), reversed(versions), strict=True))
            for start in range(0, len(newest_first), 64):  # one conversion run per 64 versions
                chunk = newest_first[start : start + 64]
                rows = [
                    self.conn.execute(
                        "SELECT raw, body_source FROM revisions WHERE id = ?", (r.id,)
                    ).fetchone()
                    for r, _ in chunk
                ]
                converted = self._convert(
                    page, item, [(r.fmt, row[1] or "") for (r, _), row in zip(chunk, rows, strict=True)]
                )
                for (revision, version), row, (source, syntax, _, _) in zip(
                    chunk, rows, converted, strict=True
                ):
                    if revision.xml_raw and not page.foreign:
                        text = bytes(row[0]).decode("utf-8")
                    else:
                        text = self._revision_doc(page, item, revision, source, syntax, version)
                    yield revision.comment or "", text

        return "".join(archive_parts(heads[::-1], texts()))

    def _version_of(self, page: _Page, revision: _RevMeta, n: int) -> str:
        if not page.foreign and re.fullmatch(r"\d+\.\d+", revision.native_id):
            return revision.native_id
        return f"{n + 1}.1"

    def _account_revision(self, revision: _RevMeta, notes: list[Note]) -> None:
        fmt = revision.fmt
        if fmt is not None and not fmt.startswith("xwiki/"):
            notes.append(
                self._note(
                    "xwiki.export_markup",
                    "revision",
                    revision.id,
                    "body",
                    f"its {fmt} markup converted to {TARGET} where passerelle.markup converts it,"
                    f" else kept under the XWiki syntax {self._syntax(fmt)}",
                )
            )
        if isinstance(revision.created_at, int) and revision.created_at % 1000:
            notes.append(
                self._note("xwiki.export_time", "revision", None, "created_at", "to the millisecond")
            )
        self.log.account("revision", notes)

    def _revision_doc(
        self, page: _Page, item: Item, revision: _RevMeta, source: str, syntax: str, version: str
    ) -> str:
        author = self.user(revision.author_id)
        return (
            "<?xml version='1.1' encoding='UTF-8'?>\n"
            + self._head(
                page, item, version, author, revision.created_at, revision.comment or "", syntax, source
            )
            + "</xwikidoc>\n"
        )

    def _syntax(self, fmt: str | None) -> str:
        if fmt is None:
            return "xwiki/2.1"
        if fmt.startswith("xwiki/"):
            return fmt
        return SYNTAX_IDS.get(fmt, fmt if "/" in fmt else f"{fmt}/1.0")

    # -- the document -------------------------------------------------------------------
    def _head(
        self,
        page: _Page,
        item: Item,
        version: str,
        author: str,
        date: int | None,
        comment: str,
        syntax: str,
        content: str,
    ) -> str:
        parts = xwiki_split(page.reference)
        web = ".".join(escape_part(p) for p in parts[:-1])
        parent = ""
        if len(parts) > 2:
            parent = ".".join(escape_part(p) for p in parts[:-2]) + ".WebHome"
        creator = self.user(item.author_id)
        return (
            f'<xwikidoc version="{FORMAT}" reference="{escape(page.reference, {chr(34): "&quot;"})}" locale="{page.locale}">\n'
            + _field("web", web)
            + _field("name", parts[-1])
            + _field("language", page.locale)
            + _field("defaultLanguage", "")
            + _field("translation", "1" if page.locale else "0")
            + _field("creator", creator)
            + _field("creationDate", _ms(item.created_at))
            + _field("parent", parent)
            + _field("author", author)
            + _field("originalMetadataAuthor", author)
            + _field("contentAuthor", author)
            + _field("date", _ms(date))
            + _field("contentUpdateDate", _ms(date))
            + _field("version", version)
            + _field("title", parts[-2] if parts[-1] == "WebHome" and len(parts) > 1 else parts[-1])
            + _field("comment", comment)
            + _field("minorEdit", "false")
            + _field("syntaxId", syntax)
            + _field("hidden", "false")
            + _field("content", content)
        )

    def _generated(
        self,
        page: _Page,
        item: Item,
        revisions: list[_RevMeta],
        versions: str | None,
        attachments: list[str],
        comments: list[str],
        notes: list[Note],
    ) -> _Doc:
        body = item.body
        fmt = body.format if body else None
        unresolved: set[str] = set()
        [(content, syntax, said, losses)] = self._convert(
            page, item, [(fmt, body.source if body else "")], unresolved
        )
        if said is not None:
            notes.append(self._note("xwiki.export_markup", "item", item.id, "body", said))
            # Each construct that did not survive, named with its page, under its own code.
            notes.extend(self._note(loss.code, "item", item.id, "body", loss.detail) for loss in losses)
            if unresolved:
                shown = ", ".join(sorted(unresolved)[:10]) + (" …" if len(unresolved) > 10 else "")
                notes.append(
                    self._note(
                        "xwiki.export_markup",
                        "item",
                        item.id,
                        "links",
                        f"{len(unresolved)} link target(s) name no page of the archive, kept as written: {shown}",
                    )
                )
            if syntax != TARGET:  # links stay in the other wiki's naming
                notes.append(
                    self._note("xwiki.export_markup", "item", item.id, "links", "links not rewritten")
                )
        last = revisions[-1] if revisions else None
        if len(revisions) > 1:
            version = f"{len(revisions)}.1"
            author = self.user(item.edited_by_id or (last.author_id if last else item.author_id))
            date = (
                item.edited_at
                if item.edited_at is not None
                else (last.created_at if last else item.created_at)
            )
        else:
            version = "1.1"
            author = self.user(item.author_id)
            date = item.created_at
        head = self._head(
            page,
            item,
            version,
            author,
            date,
            (last.comment or "") if last else "",
            syntax,
            content,
        )
        text = DECLARATION.decode() + head
        if versions is not None:
            text += _field("versions", versions)
        doc = _Doc([text.encode("utf-8")])
        for attachment in attachments:
            doc.parts.append(attachment.encode("utf-8"))
        for comment in comments:
            doc.parts.append(comment.encode("utf-8"))
        if item.subtype == "redirect":
            doc.parts.append(self._redirect(page, item).encode("utf-8"))
        elif item.subtype is not None:
            notes.append(
                self._note(
                    "xwiki.export_reference", "item", item.id, "subtype", "an XWiki page has no subtype"
                )
            )
        doc.parts.append(b"</xwikidoc>\n")
        return doc

    def _redirect(self, page: _Page, item: Item) -> str:
        """A redirect as XWiki keeps one: an ``XWiki.RedirectClass`` object whose ``location``
        names the target page (renamed when it is a page of the archive)."""
        target = next((r.target for r in (item.body.references if item.body else ()) if r.kind == "page"), "")
        location = target
        if target:
            link, _ = self._renamers(page, item.platform, item.title or item.native_id, set())
            location = link(target) or target
        return (
            "  <object>\n"
            + _field("name", page.reference, "    ")
            + _field("number", "0", "    ")
            + _field("className", "XWiki.RedirectClass", "    ")
            + _field("guid", _guid(page.reference, "redirect"), "    ")
            + f"    <property>\n{_field('location', location, '      ')}    </property>\n"
            + "  </object>\n"
        )

    def _from_raw(
        self, page: _Page, versions: str | None, attachments: list[str], comments: list[str]
    ) -> _Doc:
        assert page.raw is not None
        raw, back = _parseable(page.raw)
        root = etree.fromstring(raw, safe_parser())
        if versions is not None:
            element = etree.Element("versions")
            element.text = versions
            anchor = root.find("version")
            if anchor is not None:
                element.tail = anchor.tail
                anchor.addnext(element)
            else:
                root.append(element)
        anchor = root.find("content")
        inserted: list[etree._Element] = []
        for text in attachments:
            inserted.append(etree.fromstring(text.encode("utf-8"), safe_parser()))
        after = anchor if anchor is not None else (root[-1] if len(root) else None)
        for element in inserted:
            element.tail = "\n  "
            if after is None:
                root.append(element)
            else:
                after.addnext(element)
            after = element
        # Comments go before the other objects (or at the end): an element is inserted with a
        # tail of its own and never changes its neighbours', so reading the document back and
        # taking the comments out again gives the raw record as it was.
        first_object = root.find("object")
        for text in comments:
            element = etree.fromstring(text.encode("utf-8"), safe_parser())
            if first_object is not None:
                element.tail = "\n  "
                first_object.addprevious(element)
            else:
                element.tail = "\n"
                root.append(element)
        data = etree.tostring(root, encoding="utf-8")
        for marker, ref in back.items():
            data = data.replace(marker.encode("utf-8"), ref)
        return _Doc([DECLARATION, data, b"\n"])

    def _emit(self, path: str, doc: _Doc) -> None:
        with self.out.open(path) as stream:
            for part in doc.parts:
                at = 0
                for match in _BLOB_MARK.finditer(part):
                    stream.write(part[at : match.start()])
                    self._base64(stream, match.group(1).decode())
                    at = match.end()
                stream.write(part[at:])

    def _base64(self, stream: IO[bytes], sha256: str) -> None:
        blobs = self.view.archive.blobs
        with blobs.open(sha256) as blob:
            while chunk := blob.read(_CHUNK):
                stream.write(base64.b64encode(chunk))

    # -- attachments ----------------------------------------------------------------------
    def _attachments(self, page: _Page) -> list[str]:
        texts: list[str] = []
        planned = self.page_files.get(page.item, [])
        file_ids = [f for f, _ in planned]
        names = dict(planned)
        by_id = {f.id: f for f in self.view.files(file_ids)} if file_ids else {}
        for file in (by_id[i] for i in file_ids if i in by_id):
            notes: list[Note] = []
            if file.id in self.files_written:
                continue
            has_bytes = file.sha256 is not None and self.view.archive.blobs.has(file.sha256)
            if file.sha256 is not None and not has_bytes:
                notes.append(
                    self._note(
                        "xwiki.export_bytes_missing",
                        "file",
                        file.id,
                        "sha256",
                        "the archive lacks the bytes: written without content",
                    )
                )
            raw = (
                file.raw
                if file.platform == PLATFORM and file.raw and file.raw.lstrip().startswith(b"<attachment")
                else None
            )
            if raw is not None:
                text = self._attachment_from_raw(raw, file, has_bytes)
                name = file.name or ""
            else:
                name = names[file.id]
                if name != (file.name or ""):
                    notes.append(
                        self._note(
                            "xwiki.export_reference",
                            "file",
                            file.id,
                            "name",
                            f"attached as {name}",
                            original=file.name,
                        )
                    )
                text = self._attachment(file, name, has_bytes)
            self.files_written.add(file.id)
            texts.append(text)
            self.log.account("file", notes)
        # the older versions an XWiki archive holds of these attachments
        return texts

    def _attachment_from_raw(self, raw: bytes, file: File, has_bytes: bool) -> str:
        element = etree.fromstring(raw, safe_parser())
        if has_bytes:
            content = etree.SubElement(element, "content")
            content.text = f"@@passerelle-blob:{file.sha256}@@"
            anchor = element.find("comment")
            if anchor is not None:
                anchor.addnext(content)
            content.tail = "\n    "
        older = self.conn.execute(
            "SELECT id, native_id, sha256, raw FROM files WHERE platform = ? AND native_id > ? AND native_id < ?"
            " AND id NOT IN (SELECT file_id FROM item_files) ORDER BY native_id",
            (PLATFORM, file.native_id + "@", file.native_id + "@\U0010ffff"),
        ).fetchall()
        if older:
            revisions = etree.SubElement(element, "revisions")
            revisions.text = "\n      "
            for fid, _native, sha, old_raw in older:
                if old_raw is None or fid in self.files_written:
                    continue
                revision = etree.fromstring(old_raw, safe_parser())
                revision.tag = "revision"
                if sha is not None and self.view.archive.blobs.has(sha):
                    content = etree.SubElement(revision, "content")
                    content.text = f"@@passerelle-blob:{sha}@@"
                revisions.append(revision)
                self.files_written.add(fid)
                self.log.account("file", [])
        return etree.tostring(element, encoding="unicode")

    def _attachment(self, file: File, name: str, has_bytes: bool) -> str:
        size = file.size
        if size is None and has_bytes and file.sha256 is not None:
            size = self.view.archive.blobs.path(file.sha256).stat().st_size
        content = f"    <content>@@passerelle-blob:{file.sha256}@@</content>\n" if has_bytes else ""
        return (
            "<attachment>\n"
            + _field("filename", name, "    ")
            + _field("mimetype", file.media_type or "", "    ")
            + _field("author", self.user(file.author_id), "    ")
            + _field("date", _ms(file.created_at), "    ")
            + _field("version", "1.1", "    ")
            + _field("comment", "", "    ")
            + content
            + _field("filesize", "" if size is None else str(size), "    ")
            + "  </attachment>\n"
        )

    # -- comments -------------------------------------------------------------------------
    def _comments(self, page: _Page, item: Item) -> list[str]:
        rows = self.conn.execute(
            "SELECT id FROM items WHERE kind = 'comment' AND thread_root_id = ?"
            " ORDER BY created_at IS NULL, created_at, id",
            (item.id,),
        ).fetchall()
        texts: list[str] = []
        numbers: dict[str, int] = {}
        for n, (comment_id,) in enumerate(rows):
            message = self.view.item(comment_id)
            assert message is not None
            comment = message.item
            notes: list[Note] = []
            raw = comment.raw
            if (
                comment.platform == PLATFORM
                and raw is not None
                and raw.lstrip().startswith(b"<object")
                and not page.foreign
            ):
                texts.append(raw.decode("utf-8"))
                number = re.search(rb"<number>(\d+)</number>", raw)
                numbers[comment.id] = int(number.group(1)) if number else n
                self.log.items[comment.id] = comment.native_id
            else:
                numbers[comment.id] = n
                replyto = numbers.get(comment.parent_id or "", -1) if comment.parent_id != item.id else -1
                body = comment.body
                if body is not None and not body.format.startswith("xwiki/"):
                    notes.append(
                        self._note(
                            "xwiki.export_markup",
                            "item",
                            comment.id,
                            "body",
                            f"kept in its {body.format} markup (no conversion to xwiki/2.1 yet)",
                        )
                    )
                props = [
                    ("author", self.user(comment.author_id)),
                    ("comment", body.source if body else ""),
                    ("date", _date_property(comment.created_at)),
                    ("highlight", ""),
                    ("replyto", "" if replyto < 0 else str(replyto)),
                ]
                text = (
                    "<object>\n"
                    + _field("name", page.reference, "    ")
                    + _field("number", str(n), "    ")
                    + _field("className", COMMENTS_CLASS, "    ")
                    + _field("guid", _guid(page.reference, comment.id), "    ")
                    + "".join(f"    <property>\n{_field(k, v, '      ')}    </property>\n" for k, v in props)
                    + "  </object>\n"
                )
                texts.append("  " + text)
                self.log.items[comment.id] = f"{page.reference}^{COMMENTS_CLASS}[{n}]"
                if isinstance(comment.created_at, int) and comment.created_at % 1000:
                    notes.append(
                        self._note("xwiki.export_time", "item", None, "created_at", "to the millisecond")
                    )
            self.page_of[comment.id] = page
            for revision in self.view.item_revisions(comment.id):
                self.log.account(
                    "revision",
                    [
                        self._note(
                            "xwiki.export_not_a_page",
                            "revision",
                            revision.id,
                            None,
                            "a comment's earlier versions have no place in XWiki",
                            outcome=Outcome.LOST,
                        )
                    ],
                )
            self.log.account("item", notes)
        return texts

    # -- what has no place ----------------------------------------------------------------
    def _not_written(self) -> None:
        for (item_id,) in self.conn.execute("SELECT id FROM items ORDER BY id").fetchall():
            if item_id in self.page_of:
                continue
            self.log.account(
                "item",
                [
                    self._note(
                        "xwiki.export_not_a_page",
                        "item",
                        item_id,
                        None,
                        "neither a page nor a comment on a page: not written",
                        outcome=Outcome.LOST,
                    )
                ],
            )
            for (revision_id,) in self.conn.execute(
                "SELECT id FROM revisions WHERE item_id = ? ORDER BY id", (item_id,)
            ).fetchall():
                self.log.account(
                    "revision",
                    [
                        self._note(
                            "xwiki.export_not_a_page",
                            "revision",
                            revision_id,
                            None,
                            "of an item that is not written",
                            outcome=Outcome.LOST,
                        )
                    ],
                )
        for file in self.view.files():
            if file.id in self.files_written:
                continue
            self.log.account(
                "file",
                [
                    self._note(
                        "xwiki.export_file_unattached",
                        "file",
                        file.id,
                        None,
                        "attached to no written page: not written",
                        outcome=Outcome.LOST,
                    )
                ],
            )
        reactions = self.view.count("reactions")
        for _ in range(reactions):
            self.log.account(
                "reaction",
                [
                    self._note(
                        "xwiki.export_reaction",
                        "reaction",
                        None,
                        None,
                        "no reactions in XWiki",
                        outcome=Outcome.LOST,
                    )
                ],
            )

    def _package(self) -> None:
        files = "".join(
            f'    <file defaultAction="0" language="{p.locale}">{_xml_text(p.reference)}</file>\n'
            for p in sorted([*self.pages, *self.rights_pages], key=lambda p: (p.reference, p.locale))
        )
        text = (
            "<?xml version='1.1' encoding='UTF-8'?>\n<package>\n  <infos>\n"
            "    <name>passerelle export</name>\n    <description>Written by passerelle from an archive</description>\n"
            "    <licence/>\n    <author>XWiki.Admin</author>\n    <version/>\n"
            "    <backupPack>true</backupPack>\n"
            f"    <preserveVersion>{'true' if self.history else 'false'}</preserveVersion>\n"
            f"  </infos>\n  <files>\n{files}  </files>\n</package>\n"
        )
        self.out.write_bytes(PACKAGE, text.encode("utf-8"))

    def _spaces(self) -> None:
        written = {p.reference for p in self.pages}
        prefixes: set[str] = set()
        for reference in written:
            parts = xwiki_split(reference)
            for n in range(1, len(parts)):
                prefixes.add(".".join(escape_part(p) for p in parts[:n]))
        workspace_taken = False
        for space in sorted(self.spaces.values(), key=lambda s: s.id):
            if space.platform == PLATFORM:
                if space.kind is SpaceKind.WORKSPACE or space.native_id in prefixes:
                    self.log.spaces[space.id] = space.native_id
                    self.log.account("space", [])
                else:
                    self.log.account(
                        "space",
                        [
                            self._note(
                                "xwiki.export_space",
                                "space",
                                space.id,
                                None,
                                "holds no written page",
                                outcome=Outcome.LOST,
                            )
                        ],
                    )
                continue
            target = self._space_reference(space)
            if target is not None and target in prefixes:
                self.log.spaces[space.id] = target
                space_notes = []
                parent = self.spaces.get(space.parent_id or "")
                parent_target = (
                    WIKI
                    if parent is not None and parent.kind is SpaceKind.WORKSPACE
                    else self._space_reference(parent)
                    if parent is not None
                    else None
                )
                wanted = ".".join(escape_part(p) for p in xwiki_split(target)[:-1]) or WIKI
                if parent_target != wanted:
                    space_notes.append(
                        self._note(
                            "xwiki.export_space",
                            "space",
                            space.id,
                            "parent_id",
                            f"under {wanted} in XWiki",
                            original=parent.native_id if parent else None,
                        )
                    )
                if space.display_name is not None:
                    space_notes.append(
                        self._note(
                            "xwiki.export_space",
                            "space",
                            space.id,
                            "display_name",
                            "an XWiki space has no display name of its own",
                            original=space.display_name,
                        )
                    )
                if space.visibility is Visibility.PRIVATE and space.id not in self.private_written:
                    space_notes.append(
                        self._note(
                            "xwiki.export_space",
                            "space",
                            space.id,
                            "visibility",
                            "written without view rights: public in XWiki",
                        )
                    )
                self.log.account("space", space_notes)
                continue
            if space.kind is SpaceKind.WORKSPACE and not workspace_taken:
                workspace_taken = True
                self.log.spaces[space.id] = WIKI
                self.log.account(
                    "space",
                    [
                        self._note(
                            "xwiki.export_space", "space", space.id, None, "written as the XWiki wiki itself"
                        )
                    ],
                )
                continue
            self.log.account(
                "space",
                [
                    self._note(
                        "xwiki.export_space",
                        "space",
                        space.id,
                        None,
                        "another wiki's space: its pages are nested pages named by their titles",
                        outcome=Outcome.LOST,
                    )
                ],
            )
        for membership in self.view.memberships():
            member_space = self.spaces.get(membership.space_id)
            if (
                member_space is not None
                and member_space.platform == PLATFORM
                and member_space.visibility is Visibility.PRIVATE
            ):
                self.log.account("membership", [])
                continue
            if membership.space_id in self.private_written:
                role_notes = []
                if membership.role != "member":
                    role_notes.append(
                        self._note(
                            "xwiki.export_membership",
                            "membership",
                            f"{membership.space_id}/{membership.person_id}",
                            "role",
                            "allowed to view: XWiki rights have no roles",
                            original=membership.role,
                        )
                    )
                self.log.account("membership", role_notes)
                continue
            self.log.account(
                "membership",
                [
                    self._note(
                        "xwiki.export_membership",
                        "membership",
                        f"{membership.space_id}/{membership.person_id}",
                        None,
                        "a member of a space that is not written as private XWiki rights",
                        outcome=Outcome.LOST,
                    )
                ],
            )

    def _space_reference(self, space: Space) -> str | None:
        """The XWiki space another wiki's namespace becomes: its names below the wiki, joined
        (None for a wiki's root namespace, whose pages are top-level pages)."""
        if space.kind is not SpaceKind.WIKI_SPACE:
            return None
        names: list[str] = []
        current: Space | None = space
        while current is not None and current.kind is SpaceKind.WIKI_SPACE:
            if current.native_id in ("ns:0",) or current.name in ("(root)", "(main)"):
                break
            names.append(current.name or current.native_id)
            current = self.spaces.get(current.parent_id or "")
        if not names or (current is not None and current.kind is SpaceKind.WIKI_SPACE):
            return None if not names else ".".join(escape_part(n) for n in reversed(names))
        return ".".join(escape_part(n) for n in reversed(names))

    def _persons(self) -> None:
        for person in sorted(self.persons.values(), key=lambda p: p.id):
            if person.platform == PLATFORM:
                self.log.persons[person.id] = person.native_id
                self.log.account("person", [])
            elif person.id in self.written_persons:
                self.log.persons[person.id] = self.user_refs[person.id]
                self.log.account(
                    "person",
                    [
                        self._note(
                            "xwiki.export_person",
                            "person",
                            person.id,
                            None,
                            f"written as the author reference {self.user_refs[person.id]} only",
                        )
                    ],
                )
            else:
                self.log.account(
                    "person",
                    [
                        self._note(
                            "xwiki.export_person",
                            "person",
                            person.id,
                            None,
                            "authored nothing written: not in the package",
                            outcome=Outcome.LOST,
                        )
                    ],
                )

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
    ) -> Note:
        return Note(
            code=code,
            entity=entity,
            outcome=outcome,
            message=message,
            entity_id=entity_id,
            attribute=attribute,
            original=original,
        )


def _attachment_name(file: File, taken: set[str]) -> str:
    name = (file.name or file.native_id.rsplit("/", 1)[-1] or "file").replace("/", "_")
    base, dot, ext = name.rpartition(".")
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{base} ({n}).{ext}" if dot else f"{name} ({n})"
        n += 1
    return candidate


def _safe_segment(segment: str) -> str:
    cleaned = re.sub(r'[\\:*?"<>|\x00-\x1f]', "_", segment).strip(" .") or "_"
    return cleaned[:120]


_REF = re.compile(rb"&#(?:x0*([0-9a-fA-F]{1,2})|0*([0-9]{1,3}));")


def _parseable(raw: bytes) -> tuple[bytes, dict[str, bytes]]:
    """A raw <xwikidoc> as lxml parses it: an XML 1.1 declaration dropped, references to
    control characters swapped for private-use characters (and how to put them back)."""
    back: dict[str, bytes] = {}
    if raw.startswith(b"<?xml"):
        raw = raw[raw.index(b"?>") + 2 :].lstrip()

    def swap(match: re.Match[bytes]) -> bytes:
        code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
        if not (0 < code < 0x20 and code not in (9, 10, 13)):
            return match.group(0)
        marker = chr(0xFFF00 + code)
        back[marker] = match.group(0)
        return marker.encode("utf-8")

    return _REF.sub(swap, raw), back
