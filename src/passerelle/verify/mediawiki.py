"""Reconcile an archive with the MediaWiki XML dump(s) it came from, by an independent path.

Nothing of the reader is used: the export is listed with ``ExportFiles`` (``zipfile`` or
``os.walk``), a dump is decompressed with ``bz2``/``gzip`` and parsed with the standard
library's ``xml.etree.ElementTree.iterparse`` (expat, where the reader uses lxml), its
prolog checked by a plain scan. Every record is then looked for in the archive, by the ids
the model's rules give it:

- every page is an item of kind ``page`` in the space of its namespace, with its title,
  ``redirect`` subtype when it is one, and exactly the revisions the dump holds for it;
- every revision is a revision of that item with its time, author (user id, ``name:``,
  ``ip:``), edit summary and text (compared by SHA-1); a text the dump's ``sha1`` or
  ``bytes`` disagrees with (computed here) must be explained by the reader's
  ``mediawiki.sha1_mismatch`` / ``bytes_mismatch`` diagnostic on that revision; a hidden
  contributor, a suppressed text, a stub, by theirs; a duplicate by a diagnostic that
  dropped it;
- every upload is a file with bytes whose SHA-1 is its ``sha1base36`` (or a diagnostic
  saying they differ), or no bytes and a diagnostic saying why;
- every log entry is an event item in the ``log`` space with its type/action, time and author;
- every other entry of the export (the images folder) is a file of the archive, by its bytes;
- a dump that breaks must have the reader's ``mediawiki.truncated`` diagnostic, and every
  record before the break must be in the archive.

Counts are kept per namespace (pages, uploads) and in total (revisions, log entries).
"""

from __future__ import annotations

import base64
import binascii
import bz2
import calendar
import codecs
import hashlib
import re
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from passerelle.archive import Archive
from passerelle.errors import BadInputError
from passerelle.model import ids
from passerelle.verify.export_files import ExportFiles
from passerelle.verify.ledger import open_report
from passerelle.verify.report import Tally, VerifyReport

PLATFORM = "mediawiki"
SUFFIXES = (".xml", ".xml.bz2", ".xml.gz")
MANIFEST = "passerelle-export.json"
_CANONICAL = {
    -2: "Media", -1: "Special", 0: "", 1: "Talk", 2: "User", 3: "User talk", 4: "Project",
    5: "Project talk", 6: "File", 7: "File talk", 8: "MediaWiki", 9: "MediaWiki talk",
    10: "Template", 11: "Template talk", 12: "Help", 13: "Help talk", 14: "Category", 15: "Category talk",
}  # fmt: skip
_ROOT = re.compile(rb"<(?:[\w.-]+:)?mediawiki[\s>/]")
_READ_ERRORS = (OSError, EOFError, ValueError)


class _Inflate:
    """A bz2 or gzip file decompressed piece by piece: a stream cut short gives what it can,
    then ends (``broken`` says so)."""

    def __init__(self, handle: IO[bytes], gz: bool) -> None:
        self.handle, self.gz, self.broken = handle, gz, False
        self.engine: Any = self._engine()
        self.out = b""

    def _engine(self) -> Any:
        return zlib.decompressobj(16 + zlib.MAX_WBITS) if self.gz else bz2.BZ2Decompressor()

    def read(self, n: int = -1) -> bytes:
        while not self.out:
            data = b"" if self.broken else self.handle.read(1 << 15)
            if not data:
                self.broken = self.broken or not self.engine.eof
                return b""
            try:
                while data:
                    if self.engine.eof:
                        self.engine = self._engine()
                    self.out += self.engine.decompress(data)
                    data = self.engine.unused_data if self.engine.eof else b""
            except (OSError, EOFError, ValueError, zlib.error):
                self.broken = True
        piece, self.out = self.out, b""  # what one compressed piece gave, whatever n
        return piece

    def close(self) -> None:
        self.handle.close()

    def __enter__(self) -> _Inflate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open(export: ExportFiles, name: str) -> IO[bytes]:
    handle = export.open(name)
    lower = name.lower()
    if lower.endswith((".bz2", ".gz")):
        return cast("IO[bytes]", _Inflate(handle, lower.endswith(".gz")))
    return handle


def _head_text(head: bytes) -> bytes:
    """The head as ASCII-compatible bytes (UTF-16/32 dumps decoded), enough to see the prolog."""
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"), (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"),
    ):  # fmt: skip
        if head.startswith(bom):
            return head.decode(codec, "ignore").encode("utf-8")
    return head


def _dump_names(export: ExportFiles, *, detecting: bool = False) -> list[str]:
    names = []
    candidates = [n for n in sorted(export.entries) if n.lower().endswith(SUFFIXES)]
    if detecting:  # as few as the reader looks at to recognise a dump
        candidates = [n for n in candidates if n.count("/") <= 2][:64]
    for name in candidates:
        try:
            with _open(export, name) as stream:
                head = b""
                while len(head) < 1 << 16 and (chunk := stream.read(4096)):
                    head += chunk
                head = _head_text(head)
        except _READ_ERRORS:
            continue
        if _ROOT.search(head) is not None:
            names.append(name)
    return names


def is_mediawiki_source(path: Path) -> bool:
    try:
        export = ExportFiles(path, what="MediaWiki dump", single_file=True)
    except BadInputError:
        return False
    return bool(_dump_names(export, detecting=True))


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child(elem: ET.Element, name: str) -> ET.Element | None:
    for child in elem:
        if _local(child.tag) == name:
            return child
    return None


def _text(elem: ET.Element, name: str) -> str | None:
    child = _child(elem, name)
    return None if child is None else (child.text or "")


def _micros(text: str | None) -> int | None:
    """MediaWiki writes ``2004-08-09T09:04:08Z``; without the ``Z`` it is UTC as well, and an
    explicit offset is applied."""
    if not text:
        return None
    stamp = text.strip()
    for layout in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S"):
        try:
            return calendar.timegm(time.strptime(stamp, layout)) * 1_000_000
        except ValueError:
            continue
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)([+-])(\d\d):?(\d\d)", stamp)
    if match is None:
        return None
    try:
        base = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    offset = (int(match.group(3)) * 60 + int(match.group(4))) * 60
    return (base - offset if match.group(2) == "+" else base + offset) * 1_000_000


def _base36(digest: bytes) -> str:
    number, out = int(digest.hex(), 16), ""
    while number:
        number, rest = divmod(number, 36)
        out = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + out
    return out.zfill(31)


def _author(elem: ET.Element | None) -> tuple[str, str | None]:
    """("hidden" | "none" | "person", the person's id)."""
    if elem is None:
        return "none", None
    if elem.get("deleted") is not None:
        return "hidden", None
    ip = _text(elem, "ip")
    if ip is not None:
        return "person", ids.person_id(PLATFORM, f"ip:{ip}")
    user, name = _text(elem, "id"), _text(elem, "username")
    if user is not None and user.strip() not in ("", "0"):
        return "person", ids.person_id(PLATFORM, user.strip())
    return "person", ids.person_id(PLATFORM, f"name:{name or ''}")


@dataclass
class _State:
    archive: Archive
    source_id: str
    report: VerifyReport
    entry: str
    wiki: str
    namespaces: dict[int, str] = field(default_factory=dict)
    pages: int = 0
    logs: int = 0
    blob_sha256: set[str] = field(default_factory=set)

    def q(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.archive.store.query(sql, params)

    def diag(self, code: str, entity: str) -> bool:
        return bool(
            self.q(
                "SELECT 1 FROM diagnostics WHERE source_id = ? AND code = ? AND entity_id = ? LIMIT 1",
                self.source_id,
                code,
                entity,
            )
        )

    def problem(self, text: str) -> None:
        self.report.problem(f"{self.entry}: {text}")


def verify_mediawiki(archive: Archive, path: Path) -> VerifyReport:
    export = ExportFiles(path, what="MediaWiki dump", single_file=True)
    report, ingested = open_report(archive, path, export.fingerprint(), PLATFORM, "mediawiki")
    if not ingested:
        return report
    sid = report.source_id
    dumps = _dump_names(export)
    persons: set[str] = set()
    for name in dumps:
        _verify_dump(archive, sid, report, export, name, persons)
    # Every other entry is a file of the archive, by its bytes.
    hashes = {row[0] for row in archive.store.query("SELECT sha256 FROM files WHERE sha256 IS NOT NULL")}
    for name in sorted(export.entries):
        if name in dumps or name.rsplit("/", 1)[-1] == MANIFEST:
            continue
        tally = report.tally("other files")
        tally.source += 1
        if export.sha256(name) in hashes:
            tally.archive += 1
        else:
            tally.unexplained += 1
            report.problem(f"{name}: its bytes are in no file of the archive")
    tally = report.tally("persons")
    for person in sorted(persons):
        tally.source += 1
        found = archive.store.scalar("SELECT is_placeholder FROM persons WHERE id = ?", (person,))
        if found == 0:
            tally.archive += 1
        else:
            tally.unexplained += 1
            report.problem(f"contributor {person} is not a person of the archive")
    return report


def _refuse_unsafe(head: bytes, name: str) -> None:
    text = _head_text(head)
    root = _ROOT.search(text)
    prolog = text[: root.start()] if root else text
    if re.search(rb"<!\s*(DOCTYPE|ENTITY)", prolog, re.IGNORECASE):
        raise BadInputError(f"{name}: declares a DOCTYPE or entities; not parsed (XXE, entity expansion)")


def _as_cp1252(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("cp1252", "replace"), error.end


class _Lines:
    """A UTF-8 document read line by line, a line that is not UTF-8 read as cp1252 (as the
    reader says it does); ``bad`` lists those lines. Other encodings pass through."""

    def __init__(self, stream: _Buffered, utf8: bool) -> None:
        self.stream, self.utf8 = stream, utf8
        self.bad: list[int] = []
        self.line = 0
        self.out = b""

    def read(self, n: int = -1) -> bytes:
        if not self.utf8:
            return self.stream.read(n)
        while len(self.out) < max(n, 1):
            raw = self.stream.readline()
            if not raw:
                break
            self.line += 1
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                self.bad.append(self.line)
                raw = raw.decode("utf-8", errors="passerelle-verify.cp1252").encode("utf-8")
            self.out += raw
        piece, self.out = self.out, b""  # more than n when a line is long: the parser takes it
        return piece


codecs.register_error("passerelle-verify.cp1252", _as_cp1252)


class _Peek:
    """The stream with its first bytes read ahead (the prolog check), given back to the parser."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head, self.rest = head, rest

    def read(self, n: int = -1) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data
        return self.rest.read(n)


def _is_utf8(head: bytes) -> bool:
    if head.startswith(b"\xef\xbb\xbf"):
        return True
    if head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff") or head[:2] in (
        b"\xff\xfe",
        b"\xfe\xff",
        b"<\x00",
        b"\x00<",
    ):
        return False
    declared = re.match(rb"""<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']""", head)
    return declared is None or declared.group(1).lower() in (b"utf-8", b"utf8")


def _events(stream: IO[bytes], name: str, lines: list[_Lines]) -> Iterator[tuple[str, ET.Element]]:
    head = b""
    while len(head) < 1 << 16 and (chunk := stream.read(4096)):
        head += chunk
    _refuse_unsafe(head, name)
    reader = _Lines(_Buffered(_Peek(head, stream)), _is_utf8(head))
    lines.append(reader)
    yield from ET.iterparse(reader, events=("start", "end"))


class _Buffered:
    """readline() over anything with read()."""

    def __init__(self, source: _Peek) -> None:
        self.source, self.buffer = source, b""

    def read(self, n: int = -1) -> bytes:
        data = self.buffer + self.source.read(n)
        self.buffer = b""
        return data

    def readline(self) -> bytes:
        while b"\n" not in self.buffer:
            more = self.source.read(1 << 16)
            if not more:
                line, self.buffer = self.buffer, b""
                return line
            self.buffer += more
        at = self.buffer.index(b"\n") + 1
        line, self.buffer = self.buffer[:at], self.buffer[at:]
        return line


def _verify_dump(
    archive: Archive, sid: str, report: VerifyReport, export: ExportFiles, name: str, persons: set[str]
) -> None:
    stem = name.rsplit("/", 1)[-1]
    for suffix in (".bz2", ".gz", ".xml"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    state = _State(archive, sid, report, name, stem, dict(_CANONICAL))
    depth = 0
    page: _Page | None = None
    page_elem: ET.Element | None = None
    root: ET.Element | None = None
    broke: str | None = None
    lines: list[_Lines] = []
    stream = _open(export, name)
    try:
        for event, elem in _events(stream, name, lines):
            tag = _local(elem.tag)
            if event == "start":
                depth += 1
                if depth == 1:
                    root = elem
                elif depth == 2 and tag == "page":
                    page_elem, page = elem, None
                continue
            depth -= 1
            if depth == 2 and page_elem is not None and tag in ("revision", "upload"):
                # A page's record, checked as it ends and then freed: a page with a long
                # history is never held whole.
                if page is None:
                    page = _Page.start(state, page_elem)
                if tag == "revision":
                    page.revision(elem, persons)
                else:
                    page.upload(elem, persons)
                page_elem.remove(elem)
            elif depth == 1:
                if tag == "siteinfo":
                    _siteinfo(state, elem)
                elif tag == "page" and page_elem is not None:
                    (page or _Page.start(state, page_elem)).end(elem)
                    page_elem, page = None, None
                elif tag == "logitem":
                    _logitem(state, elem, persons)
                if root is not None:
                    root.remove(elem)
    except (ET.ParseError, *_READ_ERRORS) as exc:
        broke = str(exc)
    finally:
        stream.close()
    if broke is None and getattr(stream, "broken", False):
        broke = "the compressed stream ends early"
    bad = lines[0].bad if lines else []
    if bad:
        tally = report.tally("lines not UTF-8")
        said = {
            row[0]
            for row in archive.store.query(
                "SELECT \"where\" FROM diagnostics WHERE source_id = ? AND code = 'source.not_utf8'", (sid,)
            )
        }
        for number in bad:
            tally.source += 1
            if f"{name}#{number}" in said or (len(bad) > 1000 and name in said):
                tally.explained += 1
            else:
                tally.unexplained += 1
                report.problem(f"{name}#{number}: not UTF-8, and the reader did not say so")
    if broke is not None:
        said = archive.store.scalar(
            "SELECT count(*) FROM diagnostics WHERE source_id = ? AND code = 'mediawiki.truncated'"
            ' AND "where" LIKE ?',
            (sid, f"{name}#%"),
        )
        tally = report.tally("breaks")
        tally.source += 1
        if said:
            tally.explained += 1
        else:
            tally.unexplained += 1
            report.problem(f"{name}: the dump breaks ({broke}) and the reader did not say so")
        if page_elem is not None and _text(page_elem, "title") is not None:
            # The page being read: its complete revisions were checked; it is an item.
            (page or _Page.start(state, page_elem)).end(page_elem)


def _siteinfo(state: _State, elem: ET.Element) -> None:
    state.wiki = _text(elem, "dbname") or _text(elem, "sitename") or state.wiki
    spaces = _child(elem, "namespaces")
    if spaces is not None:
        state.namespaces = {}
        for ns in spaces:
            try:
                state.namespaces[int(ns.get("key", ""))] = ns.text or ""
            except ValueError:
                continue
    wiki = ids.space_id(PLATFORM, state.wiki)
    tally = state.report.tally("wikis")
    tally.source += 1
    if state.q("SELECT 1 FROM spaces WHERE id = ? AND kind = 'workspace'", wiki):
        tally.archive += 1
    else:
        tally.unexplained += 1
        state.problem(f"the wiki {state.wiki!r} is not a workspace of the archive")


def _namespace(state: _State, page: ET.Element, title: str) -> int:
    ns = _text(page, "ns")
    if ns is not None:
        try:
            return int(ns)
        except ValueError:
            pass
    prefix, colon, _ = title.partition(":")
    if colon:
        wanted = prefix.replace("_", " ").strip().lower()
        for key, name in state.namespaces.items():
            if name and name.lower() == wanted:
                return key
    return 0


class _Page:
    """A page of the dump being checked: its header, then each record as it ends."""

    def __init__(self, state: _State, header: ET.Element) -> None:
        self.state = state
        self.title = _text(header, "title") or ""
        self.native = (_text(header, "id") or "").strip() or self.title
        self.item = ids.item_id(PLATFORM, state.wiki, self.native)
        self.key = _namespace(state, header, self.title)
        name = state.namespaces.get(self.key) or ("(main)" if self.key == 0 else f"ns:{self.key}")
        self.row = state.report.conversation(f"ns:{self.key}", name, "wiki_space")
        self.revisions = 0
        self.uploads = 0
        self.seen: set[str] = set()
        self.distinct = 0
        # What the page item must say: its first revision's author and time, its last one's
        # author, time and text (SHA-1).
        self.first: tuple[str | None, int | None, str | None] | None = None
        self.last: tuple[str | None, int | None, str | None, str | None] | None = None

    @classmethod
    def start(cls, state: _State, header: ET.Element) -> _Page:
        state.pages += 1
        return cls(state, header)

    def revision(self, rev: ET.Element, persons: set[str]) -> None:
        self.revisions += 1
        native = (_text(rev, "id") or "").strip() or f"@{self.revisions}"
        fresh = native not in self.seen
        _revision(self.state, self.item, self.title, rev, self.revisions, self.seen, persons)
        if not fresh:
            return  # a duplicate: not the page's history
        text = _child(rev, "text")
        digest = None
        if text is not None and text.get("deleted") is None and text.get("location") is None:
            digest = hashlib.sha1((text.text or "").encode("utf-8")).hexdigest()
        stamp = _text(rev, "timestamp")
        who = _author(_child(rev, "contributor"))[1]
        if self.first is None:
            self.first = (who, _micros(stamp), stamp)
        self.last = (who, _micros(stamp), stamp, digest)
        self.distinct += 1

    def upload(self, up: ET.Element, persons: set[str]) -> None:
        self.uploads += 1
        _upload(self.state, self.item, self.title, up, self.row.tally("files"), persons)

    def end(self, page: ET.Element) -> None:
        state = self.state
        redirect = _child(page, "redirect") is not None
        found = state.q(
            "SELECT kind, title, subtype, space_id, author_id, created_at, created_native, edited_by_id,"
            " edited_at, edited_native, body_source FROM items WHERE id = ?",
            self.item,
        )
        tally, by_kind = self.row.tally("messages"), self.row.subtype("redirect" if redirect else "page")
        for t in (tally, by_kind):
            t.source += 1
        where = f"page {self.title!r} ({self.native})"
        if not found:
            for t in (tally, by_kind):
                t.unexplained += 1
            state.problem(f"{where} is not an item of the archive")
            return
        kind, got_title, subtype, space, *dates, body = found[0]
        wrong = []
        expected: list[object] = [None] * 6
        if self.first is not None and self.last is not None:
            expected[:3] = self.first
            if self.distinct > 1:
                expected[3:] = self.last[:3]
        if dates != expected:
            wrong.append(f"author and times {dates} (the dump's: {expected})")
        text_sha1 = None if body is None else hashlib.sha1(body.encode("utf-8")).hexdigest()
        if self.last is not None and text_sha1 != self.last[3]:
            wrong.append("its body is not its last revision's text")
        if kind != "page":
            wrong.append(f"kind {kind}")
        if got_title != self.title:
            wrong.append(f"title {got_title!r}")
        if (subtype == "redirect") != redirect:
            wrong.append(f"subtype {subtype!r}")
        if space != ids.space_id(PLATFORM, f"ns:{self.key}"):
            wrong.append("another namespace's space")
        held = state.archive.store.scalar("SELECT count(*) FROM revisions WHERE item_id = ?", (self.item,))
        if held != len(self.seen):
            wrong.append(f"{held} revisions in the archive, {len(self.seen)} distinct in the dump")
        if wrong:
            for t in (tally, by_kind):
                t.unexplained += 1
            state.problem(f"{where}: {', '.join(wrong)}")
        else:
            for t in (tally, by_kind):
                t.archive += 1


def _revision(
    state: _State,
    item: str,
    title: str,
    rev: ET.Element,
    number: int,
    seen: set[str],
    persons: set[str],
) -> None:
    tally = state.report.tally("revisions")
    tally.source += 1
    native = (_text(rev, "id") or "").strip() or f"@{number}"
    ident = ids.revision_id(item, native)
    what = f"revision {native} of {title!r}"
    if native in seen:
        if state.diag("mediawiki.duplicate_revision", ident):
            tally.explained += 1
        else:
            tally.unexplained += 1
            state.problem(f"{what} appears twice and nothing says so")
        return
    seen.add(native)
    got = state.q(
        "SELECT author_id, created_at, body_source, comment FROM revisions WHERE id = ? AND item_id = ?",
        ident,
        item,
    )
    if not got:
        tally.unexplained += 1
        state.problem(f"{what} is not a revision of the archive")
        return
    author_id, created_at, body, comment = got[0]
    wrong = []
    kind, person = _author(_child(rev, "contributor"))
    if kind == "person":
        assert person is not None
        persons.add(person)
    if author_id != person:
        wrong.append(f"author {author_id} (the dump's: {person})")
    if kind == "hidden" and not state.diag("mediawiki.contributor_hidden", ident):
        wrong.append("a hidden contributor not said")
    stamp = _text(rev, "timestamp")
    if created_at != _micros(stamp):
        wrong.append(f"created_at {created_at} (the dump's: {stamp})")
    comment_elem = _child(rev, "comment")
    expected_comment = None
    if comment_elem is not None:
        if comment_elem.get("deleted") is None:
            expected_comment = comment_elem.text or ""
        elif not state.diag("mediawiki.comment_deleted", ident):
            wrong.append("a suppressed edit summary not said")
    if comment != expected_comment:
        wrong.append(f"comment {comment!r}")
    text_elem = _child(rev, "text")
    if text_elem is not None and text_elem.get("deleted") is None and text_elem.get("location") is None:
        text = text_elem.text or ""
        data = text.encode("utf-8")
        if body is None or hashlib.sha1(body.encode("utf-8")).digest() != hashlib.sha1(data).digest():
            wrong.append("its text differs")
        declared = text_elem.get("bytes")
        if (
            declared is not None
            and declared.strip() != str(len(data))
            and not state.diag("mediawiki.bytes_mismatch", ident)
        ):
            wrong.append(f"bytes={declared} but {len(data)}, not said")
        actual = _base36(hashlib.sha1(data).digest())
        slots = [c for c in rev if _local(c.tag) == "content"]
        expected = actual
        if slots:
            hashes = {"main": actual}
            for slot in slots:
                slot_text = _child(slot, "text")
                role = _text(slot, "role") or "?"
                if (
                    slot_text is not None
                    and slot_text.get("deleted") is None
                    and slot_text.get("location") is None
                ):
                    hashes[role] = _base36(hashlib.sha1((slot_text.text or "").encode("utf-8")).digest())
                elif slot_text is not None and slot_text.get("sha1"):
                    hashes[role] = (slot_text.get("sha1") or "").strip()
            roles = sorted(hashes)
            expected = hashes[roles[0]]
            for role in roles[1:]:
                expected = _base36(hashlib.sha1((expected + hashes[role]).encode()).digest())
        stated = [(_text(rev, "sha1") or "").strip(), (text_elem.get("sha1") or "").strip()]
        mismatch = (stated[0] and stated[0] != expected) or (stated[1] and stated[1] != actual)
        if mismatch and not state.diag("mediawiki.sha1_mismatch", ident):
            wrong.append("its sha1 is not its text's, not said")
    elif text_elem is not None and text_elem.get("deleted") is not None:
        if body is not None or not state.diag("mediawiki.text_deleted", ident):
            wrong.append("a suppressed text not said")
    elif text_elem is not None and (body is not None or not state.diag("mediawiki.text_stub", ident)):
        wrong.append("a stub's text not said")
    if wrong:
        tally.unexplained += 1
        state.problem(f"{what}: {'; '.join(wrong)}")
    else:
        tally.archive += 1


def _upload(state: _State, item: str, title: str, up: ET.Element, tally: Tally, persons: set[str]) -> None:
    tally.source += 1
    filename = _text(up, "filename") or ""
    archivename = _text(up, "archivename")
    if archivename is not None:
        version = archivename.split("!", 1)[0] if "!" in archivename else (_text(up, "timestamp") or "")
        native = f"{filename}@{version}"
    else:
        native = filename
    fid = ids.file_id(PLATFORM, native)
    what = f"upload {native!r} of {title!r}"
    found = state.q("SELECT sha256, missing_reason, size, author_id, created_at FROM files WHERE id = ?", fid)
    linked = state.q("SELECT 1 FROM item_files WHERE item_id = ? AND file_id = ?", item, fid)
    _kind, person = _author(_child(up, "contributor"))
    if person is not None:
        persons.add(person)
    if not found or not linked:
        tally.unexplained += 1
        state.problem(f"{what} is not a file of the archive linked to its page")
        return
    sha256, missing, size, author, created = found[0]
    stated_size = (_text(up, "size") or "").strip()
    expected = (int(stated_size) if stated_size.isdigit() else None, person, _micros(_text(up, "timestamp")))
    if (size, author, created) != expected:
        tally.unexplained += 1
        state.problem(f"{what}: size, author and time {(size, author, created)}, the dump's {expected}")
        return
    contents = _child(up, "contents")
    if contents is not None and (contents.get("encoding") or "base64") == "base64":
        try:
            data = base64.b64decode("".join((contents.text or "").split()), validate=True)
        except (binascii.Error, ValueError):
            data = None
        if data is None:
            ok = sha256 is None and state.diag("mediawiki.upload_undecodable", fid)
        else:
            ok = sha256 == hashlib.sha256(data).hexdigest()
            declared = _text(up, "sha1base36")
            if ok and declared and declared.strip() != _base36(hashlib.sha1(data).digest()):
                ok = state.diag("mediawiki.upload_sha1_mismatch", fid)
    elif sha256 is not None:
        ok = state.archive.blobs.has(sha256)
        declared = _text(up, "sha1base36")
        if ok and declared:
            with state.archive.blobs.open(sha256) as handle:
                digest = hashlib.sha1()
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            if declared.strip() != _base36(digest.digest()):
                ok = state.diag("mediawiki.upload_sha1_mismatch", fid)
    else:
        ok = bool(missing) and (
            state.diag("mediawiki.upload_missing", fid) or state.diag("mediawiki.upload_undecodable", fid)
        )
    if ok:
        tally.archive += 1
    else:
        tally.unexplained += 1
        state.problem(
            f"{what}: its bytes are not as the dump or the files folder has them, and nothing says why"
        )


def _logitem(state: _State, elem: ET.Element, persons: set[str]) -> None:
    state.logs += 1
    tally = state.report.tally("log entries")
    tally.source += 1
    native = (_text(elem, "id") or "").strip() or f"@{state.logs}"
    ident = ids.item_id(PLATFORM, "log", native)
    found = state.q("SELECT kind, subtype, created_at, author_id, space_id FROM items WHERE id = ?", ident)
    _kind, person = _author(_child(elem, "contributor"))
    if person is not None:
        persons.add(person)
    expected = ("event", f"{_text(elem, 'type') or ''}/{_text(elem, 'action') or ''}",
                _micros(_text(elem, "timestamp")), person, ids.space_id(PLATFORM, "log"))  # fmt: skip
    if found and found[0] == expected:
        tally.archive += 1
    else:
        tally.unexplained += 1
        state.problem(
            f"log entry {native}: {found[0] if found else 'not in the archive'}, expected {expected}"
        )
