"""Build MediaWiki XML dumps at test time, as ``dumpBackup.php`` writes them, for schemas 0.3 to 0.11.

The element order follows ``includes/export/XmlDumpWriter.php`` and the XSD changelog
(../shared/reference/formats-wiki.md §1.1, §1.2): ``<ns>``, redirect targets and ``<sha1>``
from 0.6, ``bytes`` from 0.5, ``parentid`` from 0.7, ``model``/``format`` from 0.8 (after the
text until 0.9, before it from 0.10), ``dbname`` from 0.9, ``origin``, ``<text sha1>`` and
``<content>`` slots in 0.11. Dumps are written as a stream, so a generator of pages makes a
dump of any size without holding it.

The API (kept backward compatible; the MediaWiki writer's tests use it too):

- ``write_dump(path, pages=…, schema="0.11", encoding="utf-8", compression=None,
  uploads=…, logitems=…, siteinfo=…)`` writes a dump and returns its path;
- ``Page``, ``Rev``, ``Upload``, ``LogItem``, ``Slot``, ``SiteInfo`` describe what goes in;
  ``user(name, id)``, ``ip(address)`` and ``HIDDEN`` are contributors;
- ``write_files(folder, uploads, layout="hashed"|"flat")`` writes upload bytes the way a
  wiki's ``images/`` folder holds them;
- ``sha1_base36(text)``, ``generated_pages(…)`` for larger dumps.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import hashlib
import io
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

SCHEMAS = ("0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "0.10", "0.11")

DEFAULT_NAMESPACES: tuple[tuple[int, str], ...] = (
    (-2, "Media"),
    (-1, "Special"),
    (0, ""),
    (1, "Talk"),
    (2, "User"),
    (3, "User talk"),
    (4, "Project"),
    (5, "Project talk"),
    (6, "File"),
    (7, "File talk"),
    (8, "MediaWiki"),
    (10, "Template"),
    (12, "Help"),
    (14, "Category"),
)


def sha1_base36(data: str | bytes) -> str:
    """MediaWiki's sha1: the SHA-1 of the UTF-8 bytes in base 36, zero-padded to 31 characters."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    number = int.from_bytes(hashlib.sha1(raw).digest(), "big")
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[rest])
    return "".join(reversed(digits)).rjust(31, "0")


def revision_sha1(rev: Rev) -> str:
    """The revision's ``<sha1>``: the main slot's, or with other slots (0.11), MediaWiki's
    fold over the slots sorted by role: ``base36(sha1(accumulated + next slot's sha1))``."""
    hashes = sorted(
        [("main", sha1_base36(rev.text or "")), *((s.role, sha1_base36(s.text)) for s in rev.slots)]
    )
    accumulated = hashes[0][1]
    for _, digest in hashes[1:]:
        accumulated = sha1_base36(accumulated + digest)
    return accumulated


@dataclass(frozen=True)
class Contributor:
    username: str | None = None
    id: int | None = None
    ip: str | None = None
    deleted: bool = False


def user(name: str, id: int | None = None) -> Contributor:
    return Contributor(username=name, id=id)


def ip(address: str) -> Contributor:
    return Contributor(ip=address)


HIDDEN = Contributor(deleted=True)
ALICE = user("Alice", 1)


@dataclass
class Slot:
    """A non-main slot of a 0.11 revision (``<content>``)."""

    role: str
    text: str
    origin: int | None = None
    model: str = "json"
    format: str = "application/json"


@dataclass
class Rev:
    id: int | None
    text: str | None = ""  # None: <text deleted="deleted"/>
    timestamp: str = "2020-01-01T00:00:00Z"
    contributor: Contributor = ALICE
    comment: str | None = None  # None: no <comment>
    comment_deleted: bool = False
    minor: bool = False
    parentid: int | None = None
    model: str = "wikitext"
    format: str = "text/x-wiki"
    sha1: str | None = None  # written as given (a mismatch); None: computed from the text
    bytes: int | None = None  # likewise
    origin: int | None = None  # 0.11; None: the revision's id
    slots: Sequence[Slot] = ()
    stub_location: str | None = None  # a stub dump: <text bytes id location/> and no text
    extra_xml: str = ""  # written verbatim at the end of <revision> (unknown elements…)


@dataclass
class Upload:
    filename: str  # as the wiki names it: spaces, not underscores
    data: bytes | None = None
    timestamp: str = "2020-01-01T00:00:00Z"
    contributor: Contributor = ALICE
    comment: str | None = None
    archivename: str | None = None  # an older version of the file
    size: int | None = None  # None: len(data)
    sha1: str | None = None  # None: computed from data
    contents: bool = True  # write <contents encoding="base64"> (dumpBackup --include-files)
    src: str | None = None


@dataclass
class Page:
    title: str
    revisions: Sequence[Rev] = ()
    ns: int = 0
    id: int | None = None
    redirect: str | None = None
    restrictions: str | None = None
    uploads: Sequence[Upload] = ()
    extra_xml: str = ""  # written verbatim after the page's header (before the revisions)


@dataclass
class LogItem:
    id: int
    type: str = "upload"
    action: str = "upload"
    timestamp: str = "2020-01-01T00:00:00Z"
    contributor: Contributor = ALICE
    comment: str | None = None
    comment_deleted: bool = False
    logtitle: str | None = "File:Example.png"
    params: str | None = ""
    text_deleted: bool = False


@dataclass
class SiteInfo:
    sitename: str = "Test Wiki"
    dbname: str | None = "testwiki"
    base: str = "http://wiki.example/wiki/Main_Page"
    generator: str = "MediaWiki 1.41.0"
    case: str = "first-letter"
    namespaces: Sequence[tuple[int, str]] = field(default_factory=lambda: list(DEFAULT_NAMESPACES))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


def _version(schema: str) -> tuple[int, int]:
    major, minor = schema.split(".")
    return int(major), int(minor)


def storage_path(filename: str) -> str:
    """``a/ab/Name.png``: where a wiki's ``images/`` folder holds an upload (md5 of the name)."""
    name = filename.replace(" ", "_")
    digest = hashlib.md5(name.encode("utf-8")).hexdigest()
    return f"{digest[0]}/{digest[:2]}/{name}"


class _Writer:
    def __init__(self, out: IO[str], schema: str) -> None:
        self.out = out
        self.v = _version(schema)
        self.schema = schema

    def w(self, text: str) -> None:
        self.out.write(text)

    def contributor(self, c: Contributor, indent: str) -> None:
        if c.deleted:
            self.w(f'{indent}<contributor deleted="deleted" />\n')
            return
        self.w(f"{indent}<contributor>\n")
        if c.ip is not None:
            self.w(f"{indent}  <ip>{_escape(c.ip)}</ip>\n")
        else:
            if c.username is not None:
                self.w(f"{indent}  <username>{_escape(c.username)}</username>\n")
            if c.id is not None:
                self.w(f"{indent}  <id>{c.id}</id>\n")
        self.w(f"{indent}</contributor>\n")

    def comment(self, text: str | None, deleted: bool, indent: str) -> None:
        if deleted:
            self.w(f'{indent}<comment deleted="deleted" />\n')
        elif text is not None:
            self.w(f"{indent}<comment>{_escape(text)}</comment>\n")

    def siteinfo(self, s: SiteInfo) -> None:
        self.w("  <siteinfo>\n")
        self.w(f"    <sitename>{_escape(s.sitename)}</sitename>\n")
        if s.dbname is not None and self.v >= (0, 9):
            self.w(f"    <dbname>{_escape(s.dbname)}</dbname>\n")
        self.w(f"    <base>{_escape(s.base)}</base>\n")
        self.w(f"    <generator>{_escape(s.generator)}</generator>\n")
        self.w(f"    <case>{_escape(s.case)}</case>\n")
        self.w("    <namespaces>\n")
        for key, name in s.namespaces:
            if name:
                self.w(f'      <namespace key="{key}" case="{s.case}">{_escape(name)}</namespace>\n')
            else:
                self.w(f'      <namespace key="{key}" case="{s.case}" />\n')
        self.w("    </namespaces>\n")
        self.w("  </siteinfo>\n")

    def text(self, r: Rev, indent: str) -> None:
        if r.stub_location is not None:
            size = r.bytes if r.bytes is not None else len((r.text or "").encode("utf-8"))
            self.w(f'{indent}<text bytes="{size}" id="{r.id}" location="{_attr(r.stub_location)}" />\n')
            return
        if r.text is None:
            self.w(f'{indent}<text deleted="deleted" />\n')
            return
        attrs = ""
        if self.v >= (0, 5):
            size = r.bytes if r.bytes is not None else len(r.text.encode("utf-8"))
            attrs += f' bytes="{size}"'
        if self.v >= (0, 11):
            attrs += f' sha1="{r.sha1 if r.sha1 is not None else sha1_base36(r.text)}"'
        self.w(f'{indent}<text{attrs} xml:space="preserve">{_escape(r.text)}</text>\n')

    def revision(self, r: Rev) -> None:
        i = "      "
        self.w("    <revision>\n")
        if r.id is not None:
            self.w(f"{i}<id>{r.id}</id>\n")
        if r.parentid is not None and self.v >= (0, 7):
            self.w(f"{i}<parentid>{r.parentid}</parentid>\n")
        self.w(f"{i}<timestamp>{r.timestamp}</timestamp>\n")
        self.contributor(r.contributor, i)
        if r.minor:
            self.w(f"{i}<minor />\n")
        self.comment(r.comment, r.comment_deleted, i)
        if self.v >= (0, 11):
            origin = r.origin if r.origin is not None else r.id
            if origin is not None:
                self.w(f"{i}<origin>{origin}</origin>\n")
        model_first = self.v >= (0, 10)
        if model_first:
            self.w(f"{i}<model>{_escape(r.model)}</model>\n{i}<format>{_escape(r.format)}</format>\n")
        self.text(r, i)
        if self.v >= (0, 11):
            for slot in r.slots:
                self.w(f"{i}<content>\n{i}  <role>{_escape(slot.role)}</role>\n")
                origin = slot.origin if slot.origin is not None else r.id
                self.w(f"{i}  <origin>{origin}</origin>\n")
                self.w(
                    f"{i}  <model>{_escape(slot.model)}</model>\n{i}  <format>{_escape(slot.format)}</format>\n"
                )
                size = len(slot.text.encode("utf-8"))
                self.w(
                    f'{i}  <text bytes="{size}" sha1="{sha1_base36(slot.text)}" xml:space="preserve">'
                    f"{_escape(slot.text)}</text>\n{i}</content>\n"
                )
        if self.v >= (0, 6):
            if r.text is None:
                self.w(f"{i}<sha1 />\n")
            else:
                self.w(f"{i}<sha1>{r.sha1 if r.sha1 is not None else revision_sha1(r)}</sha1>\n")
        if not model_first and self.v >= (0, 8):
            self.w(f"{i}<model>{_escape(r.model)}</model>\n{i}<format>{_escape(r.format)}</format>\n")
        self.w(r.extra_xml)
        self.w("    </revision>\n")

    def upload(self, u: Upload) -> None:
        i = "      "
        self.w("    <upload>\n")
        self.w(f"{i}<timestamp>{u.timestamp}</timestamp>\n")
        self.contributor(u.contributor, i)
        self.comment(u.comment, False, i)
        self.w(f"{i}<filename>{_escape(u.filename)}</filename>\n")
        if u.archivename is not None:
            self.w(f"{i}<archivename>{_escape(u.archivename)}</archivename>\n")
        rel = storage_path(u.filename)
        src = u.src if u.src is not None else f"http://wiki.example/images/{rel}"
        self.w(f"{i}<src>{_escape(src)}</src>\n")
        data = u.data or b""
        self.w(f"{i}<size>{u.size if u.size is not None else len(data)}</size>\n")
        self.w(f"{i}<sha1base36>{u.sha1 if u.sha1 is not None else sha1_base36(data)}</sha1base36>\n")
        self.w(f"{i}<rel>{_escape(rel)}</rel>\n")
        if u.contents and u.data is not None:
            encoded = base64.encodebytes(u.data).decode("ascii")
            self.w(f'{i}<contents encoding="base64">{encoded}</contents>\n')
        self.w("    </upload>\n")

    def page(self, p: Page, uploads: Sequence[Upload]) -> None:
        self.w("  <page>\n")
        self.w(f"    <title>{_escape(p.title)}</title>\n")
        if self.v >= (0, 6):
            self.w(f"    <ns>{p.ns}</ns>\n")
        if p.id is not None:
            self.w(f"    <id>{p.id}</id>\n")
        if p.redirect is not None:
            if self.v >= (0, 6):
                self.w(f'    <redirect title="{_attr(p.redirect)}" />\n')
            elif self.v >= (0, 4):
                self.w("    <redirect />\n")
        if p.restrictions is not None:
            self.w(f"    <restrictions>{_escape(p.restrictions)}</restrictions>\n")
        self.w(p.extra_xml)
        for r in p.revisions:
            self.revision(r)
        for u in (*p.uploads, *uploads):
            self.upload(u)
        self.w("  </page>\n")

    def logitem(self, item: LogItem) -> None:
        i = "    "
        self.w("  <logitem>\n")
        self.w(f"{i}<id>{item.id}</id>\n{i}<timestamp>{item.timestamp}</timestamp>\n")
        self.contributor(item.contributor, i)
        self.comment(item.comment, item.comment_deleted, i)
        self.w(f"{i}<type>{_escape(item.type)}</type>\n{i}<action>{_escape(item.action)}</action>\n")
        if item.text_deleted:
            self.w(f'{i}<text deleted="deleted" />\n')
        if item.logtitle is not None:
            self.w(f"{i}<logtitle>{_escape(item.logtitle)}</logtitle>\n")
        if item.params is not None:
            self.w(f'{i}<params xml:space="preserve">{_escape(item.params)}</params>\n')
        self.w("  </logitem>\n")


def _open_out(path: Path, compression: str | None) -> IO[bytes]:
    if compression is None:
        return path.open("wb")
    if compression == "bz2":
        return bz2.open(path, "wb", compresslevel=1)
    if compression == "gz":
        return gzip.GzipFile(path, "wb", compresslevel=1)  # type: ignore[return-value]
    raise ValueError(f"unknown compression {compression!r}")


def write_dump(
    path: Path,
    pages: Iterable[Page] = (),
    *,
    schema: str = "0.11",
    encoding: str = "utf-8",
    compression: Literal["bz2", "gz"] | None = None,
    uploads: Mapping[str, Sequence[Upload]] | None = None,
    logitems: Iterable[LogItem] = (),
    siteinfo: SiteInfo | None = None,
    namespaced: bool = True,
    declaration: bool | None = None,
    footer: bool = True,
) -> Path:
    """Write a dump to ``path`` and return it.

    ``uploads`` adds uploads to pages by title (beside each page's own ``uploads``);
    ``namespaced=False`` writes a root without the export namespace (as some tools do);
    ``declaration`` writes ``<?xml …?>`` (default: when the encoding is not UTF-8, as the
    parser needs it then); ``footer=False`` leaves ``</mediawiki>`` out (a cut dump).
    """
    if schema not in SCHEMAS:
        raise ValueError(f"schema {schema!r} is not one of {SCHEMAS}")
    extra = dict(uploads or {})
    codec = encoding.lower().replace("_", "-")
    with _open_out(path, compression) as raw:
        out = io.TextIOWrapper(raw, encoding=encoding, newline="\n", write_through=False)
        if declaration or (declaration is None and codec not in ("utf-8", "utf8")):
            name = {
                "utf-16": "UTF-16",
                "utf-16-le": "UTF-16",
                "utf-16-be": "UTF-16",
                "utf-8-sig": "UTF-8",
            }.get(codec, encoding.upper())
            out.write(f'<?xml version="1.0" encoding="{name}"?>\n')
        writer = _Writer(out, schema)
        if namespaced:
            writer.w(
                f'<mediawiki xmlns="http://www.mediawiki.org/xml/export-{schema}/" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                f'xsi:schemaLocation="http://www.mediawiki.org/xml/export-{schema}/ '
                f'http://www.mediawiki.org/xml/export-{schema}.xsd" version="{schema}" xml:lang="en">\n'
            )
        else:
            writer.w(f'<mediawiki version="{schema}" xml:lang="en">\n')
        writer.siteinfo(siteinfo or SiteInfo())
        for page in pages:
            writer.page(page, extra.pop(page.title, ()))
        for item in logitems:
            writer.logitem(item)
        if footer:
            writer.w("</mediawiki>\n")
        out.flush()
        out.detach()
    return path


def write_files(
    folder: Path, uploads: Iterable[Upload], *, layout: Literal["hashed", "flat"] = "hashed"
) -> None:
    """Write the uploads' bytes as a wiki's ``images/`` folder holds them (``a/ab/Name.png``), or flat.

    An older version (``archivename``) goes to ``archive/a/ab/<archivename>`` in the hashed
    layout, beside the current one in the flat layout.
    """
    for u in uploads:
        if u.data is None:
            continue
        if layout == "hashed":
            rel = storage_path(u.filename)
            if u.archivename is not None:
                rel = "archive/" + rel.rsplit("/", 1)[0] + "/" + u.archivename
        else:
            rel = u.archivename if u.archivename is not None else u.filename.replace(" ", "_")
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(u.data)


def truncate(path: Path, keep: int) -> Path:
    """Cut a dump file after ``keep`` bytes (a download that stopped)."""
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    return path


_WORDS = [
    "the",
    "of",
    "and",
    "in",
    "to",
    "a",
    "is",
    "was",
    "for",
    "on",
    "as",
    "with",
    "by",
    "that",
    "from",
    "at",
    "his",
    "it",
    "an",
    "were",
    "are",
    "which",
    "this",
    "be",
    "also",
    "has",
    "or",
    "had",
    "first",
    "one",
    "their",
    "its",
    "new",
    "after",
    "who",
    "they",
    "two",
    "her",
    "she",
    "been",
    "other",
    "when",
    "there",
    "all",
    "during",
    "into",
    "school",
    "time",
    "may",
    "years",
    "more",
    "most",
    "only",
    "over",
    "city",
    "some",
    "world",
    "would",
    "where",
    "later",
]


def wikitext(rng: random.Random, size: int) -> str:
    """Plausible wikitext of about ``size`` characters: paragraphs, headings, links, a template."""
    parts: list[str] = []
    total = 0
    while total < size:
        kind = rng.random()
        if kind < 0.05:
            chunk = f"\n== {rng.choice(_WORDS).title()} {rng.choice(_WORDS)} ==\n"
        elif kind < 0.15:
            chunk = f"[[{rng.choice(_WORDS).title()} {rng.choice(_WORDS)}|{rng.choice(_WORDS)}]] "
        elif kind < 0.17:
            chunk = "{{cite web|url=https://example.org/" + rng.choice(_WORDS) + "|title=é ✓}} "
        else:
            chunk = " ".join(rng.choices(_WORDS, k=12)) + ". "
        parts.append(chunk)
        total += len(chunk)
    return "".join(parts)


def generated_pages(
    pages: int,
    revisions: int,
    *,
    text_size: int = 2000,
    seed: int = 6,
    first_id: int = 1,
    ips: bool = True,
) -> Iterable[Page]:
    """A regular full-history wiki, page by page (a generator: nothing is held)."""
    rng = random.Random(seed)
    rev_id = first_id
    for n in range(pages):
        base = wikitext(rng, text_size)
        revs: list[Rev] = []
        parent: int | None = None
        for k in range(revisions):
            cut = rng.randrange(len(base))
            text = base[:cut] + f" edit {k} " + base[cut:]
            who = ip(f"10.0.{k % 7}.{n % 250}") if ips and k % 5 == 4 else user(f"User{k % 13}", 100 + k % 13)
            revs.append(
                Rev(
                    id=rev_id,
                    parentid=parent,
                    text=text,
                    timestamp=f"20{10 + k // 365 % 10:02d}-{1 + k // 28 % 12:02d}-{1 + k % 28:02d}T{n % 24:02d}:00:00Z",
                    contributor=who,
                    comment=f"edit {k}" if k % 3 else None,
                    minor=k % 4 == 1,
                )
            )
            parent = rev_id
            rev_id += 1
        yield Page(
            title=f"Page {n}" if n % 10 else f"Talk:Page {n}",
            ns=0 if n % 10 else 1,
            id=first_id + n,
            revisions=revs,
        )


def feature_pages() -> list[Page]:
    """A small wiki with one of everything a reader must carry: history, IP and hidden
    editors, a suppressed text and comment, a redirect, namespaces, uploads and their
    older versions, a 0.11 slot."""
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    return [
        Page(
            "Main Page",
            [
                Rev(1, "Welcome to [[Help:Contents|help]]", timestamp="2021-01-01T00:00:00Z", comment="new"),
                Rev(
                    2,
                    "Welcome, again",
                    parentid=1,
                    timestamp="2021-01-02T00:00:00Z",
                    contributor=ip("192.0.2.7"),
                ),
                Rev(3, None, parentid=2, timestamp="2021-01-03T00:00:00Z", comment_deleted=True),
                Rev(
                    4,
                    "Welcome [[File:Logo.png]]",
                    parentid=3,
                    timestamp="2021-01-04T00:00:00Z",
                    contributor=HIDDEN,
                ),
            ],
            id=1,
        ),
        Page("Help:Contents", [Rev(5, "Help me", timestamp="2021-02-01T00:00:00Z", minor=True)], ns=12, id=2),
        Page(
            "Home",
            [Rev(6, "#REDIRECT [[Main Page]]", timestamp="2021-02-02T00:00:00Z")],
            id=3,
            redirect="Main Page",
        ),
        Page(
            "File:Logo.png",
            [
                Rev(
                    7,
                    "the logo",
                    timestamp="2021-03-01T00:00:00Z",
                    slots=[Slot("mediainfo", '{"labels":{}}')],
                )
            ],
            ns=6,
            id=4,
            uploads=[
                Upload(
                    "Logo.png",
                    b"old",
                    archivename="20210301000000!Logo.png",
                    timestamp="2021-03-01T00:00:00Z",
                ),
                Upload("Logo.png", png, timestamp="2021-03-02T00:00:00Z", contributor=user("Bob", 2)),
            ],
        ),
        Page(
            "Talk:Main Page",
            [Rev(8, "a question", timestamp="2021-04-01T00:00:00Z", contributor=user("Carol", 3))],
            ns=1,
            id=5,
        ),
    ]


def write_generated(
    path: Path, *, layout: Literal["file", "zip", "folder"] = "file", pages: int = 40
) -> Path:
    """The feature wiki plus ``pages`` generated pages with history and log entries: a dump
    file (``.xml``, ``.xml.bz2`` or ``.xml.gz`` by ``path``'s suffix), or a zip or folder
    holding ``dump.xml`` and an ``images/`` folder for uploads written without contents."""
    logs = [
        LogItem(1, "upload", "upload", timestamp="2021-03-01T00:00:00Z", comment="logo"),
        LogItem(2, "delete", "delete", contributor=HIDDEN, comment_deleted=True, logtitle="Spam"),
    ]
    everything = [*feature_pages(), *generated_pages(pages, 6, text_size=600, first_id=100)]
    if layout == "file":
        compression: Literal["bz2", "gz"] | None = None
        if path.suffix in (".bz2", ".gz"):
            compression = "bz2" if path.suffix == ".bz2" else "gz"
        return write_dump(path, everything, compression=compression, logitems=logs)
    folder = path if layout == "folder" else path.with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    attached = Upload("Diagram.svg", b"<svg/>", contents=False, timestamp="2021-05-01T00:00:00Z")
    everything.append(Page("File:Diagram.svg", [Rev(9, "a diagram")], ns=6, id=6, uploads=[attached]))
    write_dump(folder / "dump.xml", everything, logitems=logs)
    write_files(folder / "images", [attached])
    if layout == "folder":
        return folder
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(folder).as_posix())
    return path
