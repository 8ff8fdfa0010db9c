"""Reconcile an archive with the Mastodon account archive it came from, by an independent path.

This module shares no code with the Mastodon reader: it reads the archive's files with the
standard library (``zipfile`` through ``ExportFiles``, and ``json``, walking each collection
element by element with ``JSONDecoder.raw_decode`` so that no more than one status is
decoded at a time), works out on its own what each element is and where it belongs, and
checks it against the archive:

- the account (actor.json) is a person with its raw record, its avatar and header are files
  with their bytes;
- every ``Create`` and ``Announce`` of outbox.json is an item (id: the status's URI under
  the conversation ``statuses``) in the space its audience gives (public, unlisted,
  followers-only, or the direct conversation of its people, who are its members), with its
  kind, subtype, author, exact ``published``, parent and thread root, and raw record;
- every attachment is linked to its item, with its bytes or the reason they are missing;
  every mentioned or addressed account is a person; every custom emoji a file;
- every URI of likes.json and bookmarks.json is an event item of the account's space;
- every other file's bytes are a file of the archive.

A record absent from the archive is *explained* only by a diagnostic the reader stored at
that very place (``outbox.json#<i>``, ``…/attachment/<j>``, ``likes.json#<i>``…) with the
record's kind as ``dropped``; a collection that breaks off is explained by a diagnostic at
``<file>#<i>`` dropping the ``items`` from there. Anything else is a difference.
"""

from __future__ import annotations

import contextlib
import json
import re
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from passerelle.archive import Archive
from passerelle.model import ids
from passerelle.verify.export_files import ExportFiles
from passerelle.verify.ledger import SourceLedger, open_report, unsafe_names
from passerelle.verify.report import ConversationRow, Tally, VerifyReport

PLATFORM = "mastodon"
STATUSES = "statuses"
OUTBOX, ACTOR, LIKES, BOOKMARKS = "outbox.json", "actor.json", "likes.json", "bookmarks.json"
_KNOWN = (OUTBOX, ACTOR, LIKES, BOOKMARKS)
_PUBLIC = {"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"}
_SNIFF = 1 << 16
_READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, ValueError, RuntimeError, NotImplementedError)
_SPACE = re.compile(r"[ \t\n\r]*")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _looks_like_outbox(head: bytes) -> bool:
    return b'"OrderedCollection"' in head or b'"orderedItems"' in head


def is_mastodon_source(path: Path) -> bool:
    """Whether verify should read this source as a Mastodon account archive: a zip or folder
    with outbox.json at its root (and actor.json, or an outbox that is an OrderedCollection),
    or an outbox.json alone."""
    try:
        if path.is_dir():
            outbox = path / OUTBOX
            if not outbox.is_file():
                return False
            with outbox.open("rb") as handle:
                return (path / ACTOR).is_file() or _looks_like_outbox(handle.read(_SNIFF))
        if not path.is_file():
            return False
        if not zipfile.is_zipfile(path):
            with path.open("rb") as handle:
                return path.name == OUTBOX and _looks_like_outbox(handle.read(_SNIFF))
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if OUTBOX not in names:
                return False
            with zf.open(OUTBOX) as handle:
                return ACTOR in names or _looks_like_outbox(handle.read(_SNIFF))
    except _READ_ERRORS:
        return False


# -- reading a collection, one element at a time ----------------------------------------------------
@dataclass
class _Walk:
    """A collection document walked with raw_decode: its own fields, then its items one by one."""

    text: str
    header: dict[str, Any] = field(default_factory=dict)
    has_items: bool = False
    complete: bool = False  # the items' list closed
    valid: bool = False  # the whole document is JSON
    stop: int | None = None  # the index of the first item that could not be read

    def _skip(self, at: int) -> int:
        match = _SPACE.match(self.text, at)
        return match.end() if match else at

    def items(self) -> Iterator[tuple[int, Any]]:
        text = self.text
        try:
            at = self._skip(0)
            if text[at : at + 1] != "{":
                return
            at = self._skip(at + 1)
            seen = False
            while text[at : at + 1] != "}":
                if seen:
                    if text[at : at + 1] != ",":
                        return
                    at = self._skip(at + 1)
                seen = True
                key, at = _DECODER.raw_decode(text, at)
                at = self._skip(at)
                if not isinstance(key, str) or text[at : at + 1] != ":":
                    return
                at = self._skip(at + 1)
                if key in ("orderedItems", "items") and not self.has_items and text[at : at + 1] == "[":
                    self.has_items = True
                    at = yield from self._elements(at)
                    if not self.complete:
                        return
                else:
                    self.header[key], at = _DECODER.raw_decode(text, at)
                at = self._skip(at)
            self.valid = not text[at + 1 :].strip()
        except (ValueError, RecursionError):
            return

    def _elements(self, at: int) -> Generator[tuple[int, Any], None, int]:
        text = self.text
        at = self._skip(at + 1)
        index = 0
        if text[at : at + 1] == "]":
            self.complete = True
            return at + 1
        while True:
            try:
                value, at = _DECODER.raw_decode(text, at)
            except (ValueError, RecursionError):
                self.stop = index
                return at
            yield index, value
            index += 1
            at = self._skip(at)
            if text[at : at + 1] == "]":
                self.complete = True
                return at + 1
            if text[at : at + 1] != ",":
                self.stop = index
                return at
            at = self._skip(at + 1)


def _cp1252_where_not_utf8(data: bytes) -> str:
    """Text whose bytes that are not UTF-8 are read as cp1252, as the reader says it did."""
    text = data.decode("utf-8", "surrogateescape")
    return re.sub(
        "[\udc80-\udcff]+",
        lambda m: m.group().encode("utf-8", "surrogateescape").decode("cp1252", "replace"),
        text,
    )


# -- what an activity says -----------------------------------------------------------------------------
def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _ref(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        ref = value.get("id", value.get("href"))
        return ref if isinstance(ref, str) else None
    return None


def _types(value: Any) -> list[str]:
    return [t for t in _values(value.get("type")) if isinstance(t, str)] if isinstance(value, dict) else []


def _objects(value: Any) -> list[dict[str, Any]]:
    return [v for v in _values(value) if isinstance(v, dict)]


def _nonempty(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _url_of(attachment: Any) -> str | None:
    if isinstance(attachment, str):
        return attachment or None
    if not isinstance(attachment, dict):
        return None
    return next((u for u in map(_ref, _values(attachment.get("url"))) if u), None)


@dataclass(frozen=True)
class _Status:
    kind: str  # "create" or "announce"
    native: str
    obj: dict[str, Any]
    author: str | None
    space: str  # its space's native id
    space_kind: str
    addressees: tuple[str, ...]
    parent: str | None
    published: Any


@dataclass
class _Checker(SourceLedger):
    export: ExportFiles = field(kw_only=True)
    me: str = ""  # the account's actor id
    followers: str = ""
    parents: dict[str, str | None] = field(default_factory=dict)  # status -> parent, first occurrence
    first_at: dict[str, int] = field(default_factory=dict)  # status -> its first element
    roots: dict[str, str] = field(default_factory=dict)
    cycle_roots: set[str] = field(default_factory=set)
    consumed: set[str] = field(default_factory=set)
    persons_checked: set[str] = field(default_factory=set)

    # -- the archive --
    def row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        rows = self.archive.store.query(sql, params)
        return rows[0] if rows else None

    def differ(self, tally: Tally, where: str, what: str) -> None:
        tally.unexplained += 1
        self.report.problem(f"{where}: {what}")

    # -- reading files --
    def text_of(self, entry: str) -> str | None:
        if self.dropped(entry, "entry"):
            self.account(self.report.tally("files read"), entry, "entry refused", False, "entry")
            return None
        try:
            data = self.export.read(entry)
        except _READ_ERRORS as exc:
            self.account(self.report.tally("files read"), entry, f"unreadable ({exc})", False, "entry")
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            if not self.said(entry, "source.not_utf8"):
                self.differ(self.report.tally("files read"), entry, "not UTF-8, not said so")
            return _cp1252_where_not_utf8(data)

    def walk_end(self, walk: _Walk, entry: str) -> None:
        """What a collection's reading came to: read whole, or broken off and said so."""
        tally = self.report.tally("collections")
        tally.source += 1
        if not walk.has_items:
            explained = self.dropped(entry, "file") or self.dropped(f"{entry}#0", "items")
            if explained:
                tally.explained += 1
            else:
                self.differ(tally, entry, "not a collection, not said so")
            return
        if walk.stop is not None or not walk.complete:
            at = f"{entry}#{walk.stop if walk.stop is not None else 0}"
            if self.dropped(at, "items"):
                tally.explained += 1
            else:
                self.differ(tally, at, "the collection breaks off here, not said so")
            return
        if not walk.valid:
            if self.said(entry, "mastodon.invalid_json"):
                tally.explained += 1
            else:
                self.differ(tally, entry, "not JSON after its items, not said so")
            return
        stored = self.archive.store.query(
            'SELECT raw FROM diagnostics WHERE source_id = ? AND "where" = ? AND code = ?',
            (self.source_id, entry, "mastodon.collection_fields"),
        )
        if any(raw is not None and json.loads(raw) == walk.header for (raw,) in stored):
            tally.archive += 1
        else:
            self.differ(tally, entry, "the collection's own fields are not kept")

    # -- the account --
    def check_actor(self) -> dict[str, Any] | None:
        tally = self.report.tally("users")
        if ACTOR not in self.export.entries:
            return None
        text = self.text_of(ACTOR)
        if text is None:
            return None
        try:
            actor = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            actor = None
        if not isinstance(actor, dict) or _nonempty(actor.get("id")) is None:
            self.account(tally, ACTOR, "actor.json not read", False, "file")
            return None
        self.set_account(actor["id"], _nonempty(actor.get("followers")))
        person = ids.person_id(PLATFORM, actor["id"])
        stored = self.row("SELECT is_placeholder, raw FROM persons WHERE id = ?", (person,))
        found = stored is not None and not stored[0]
        self.account(tally, ACTOR, f"the account {actor['id']} missing", found, "file")
        if stored is not None and found and not self.raw_kept(person, stored[1], actor):
            self.differ(tally, ACTOR, "the raw record of the account differs from actor.json")
        for key, what in (("icon", "avatar"), ("image", "header")):
            image = next(iter(_objects(actor.get(key))), None)
            url = _url_of(image)
            if url is not None:
                self.check_bytes(f"{actor['id']}#{what}", url, f"{ACTOR}/{key}")
        return actor

    def set_account(self, ident: str, followers: str | None) -> None:
        self.me = ident
        self.followers = followers or f"{ident}/followers"

    def check_person(self, url: str, where: str) -> None:
        if url in self.persons_checked or url == self.me:
            return
        self.persons_checked.add(url)
        found = self.row("SELECT 1 FROM persons WHERE id = ?", (ids.person_id(PLATFORM, url),)) is not None
        self.account(self.report.tally("people"), where, f"person {url} missing", found, "person")

    # -- files --
    def entry_for(self, url: str) -> str | None:
        if "\x00" in url or "\\" in url or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", url):
            return None
        path = url.lstrip("/")
        if ".." in path.split("/"):
            return None
        names = [path, unquote(path)]
        if path.find("media_attachments/") > 0:
            names.append(path[path.find("media_attachments/") :])
        return next((n for n in names if n and n in self.export.entries), None)

    def check_bytes(self, native: str, url: str, where: str) -> None:
        """The file is in the archive with the bytes of its entry, or with the reason they are missing."""
        tally = self.report.tally("file bytes")
        tally.source += 1
        stored = self.row(
            "SELECT sha256, missing_reason FROM files WHERE id = ?", (ids.file_id(PLATFORM, native),)
        )
        entry = self.entry_for(url)
        sha = None
        if entry is not None:
            self.consumed.add(entry)
            if not self.dropped(entry, "entry"):
                with contextlib.suppress(*_READ_ERRORS):
                    sha = self.export.sha256(entry)
        if stored is None:
            self.differ(tally, where, f"no file record for {native}")
        elif sha is not None and stored[0] == sha and self.archive.blobs.has(sha):
            tally.archive += 1
        elif sha is None and stored[0] is None and stored[1]:
            tally.explained += 1
        else:
            self.differ(tally, where, f"bytes of {native} not kept (archive {sha}, stored {stored[0]})")

    # -- the outbox --
    def status(self, record: Any) -> _Status | None:
        """What an element is, worked out from the format: None when it is not a status."""
        if not isinstance(record, dict):
            return None
        types = _types(record)
        to: list[str] = []
        cc: list[str] = []
        if "Create" in types:
            obj = record.get("object")
            if not isinstance(obj, dict) or _nonempty(obj.get("id")) is None:
                return None
            native = obj["id"]
            author = _ref(obj.get("attributedTo")) or _ref(record.get("actor"))
            sources = [record, obj]
            parent = _ref(obj.get("inReplyTo"))
            published = obj.get("published", record.get("published"))
            kind = "create"
        elif "Announce" in types:
            native = _nonempty(record.get("id"))
            if native is None or _ref(record.get("object")) is None:
                return None
            obj, author, sources, parent = record, _ref(record.get("actor")), [record], None
            published = record.get("published")
            kind = "announce"
        else:
            return None
        for source in sources:
            to += [a for a in map(_ref, _values(source.get("to")) + _values(source.get("bto"))) if a]
            cc += [a for a in map(_ref, _values(source.get("cc")) + _values(source.get("bcc"))) if a]
        addressees = tuple(
            sorted(
                {
                    a
                    for a in to + cc
                    if a not in _PUBLIC
                    and a != self.followers
                    and not a.endswith(("/followers", "/following"))
                    and a != self.me
                }
            )
        )
        if _PUBLIC & set(to):
            space, space_kind = f"public:{self.me}", "community"
        elif _PUBLIC & set(cc):
            space, space_kind = f"unlisted:{self.me}", "community"
        elif self.followers in to or self.followers in cc:
            space, space_kind = f"followers:{self.me}", "community"
        else:
            members = sorted({self.me, *addressees} - {""})
            space = "direct:" + " ".join(members)
            space_kind = "direct_message" if len(members) <= 2 else "group_message"
        return _Status(kind, native, obj, author, space, space_kind, addressees, parent, published)

    def learn(self, walk: _Walk) -> None:
        """First walk: each status's parent, and the account when actor.json does not say."""
        for index, record in walk.items():
            if not self.me and isinstance(record, dict) and {"Create", "Announce"} & set(_types(record)):
                actor = _ref(record.get("actor"))
                if actor:
                    self.set_account(actor, None)
            status = self.status(record)
            if status is not None and status.native not in self.first_at:
                self.first_at[status.native] = index
                self.parents[status.native] = status.parent

    def root_of(self, native: str) -> str:
        """The first post of a reply's chain: the reader's rule, walked in the outbox's order."""
        path: list[str] = []
        seen: set[str] = set()
        at = native
        while True:
            if at in self.roots:
                root = self.roots[at]
                break
            parent = self.parents.get(at)
            if parent is None:
                root = at
                break
            if at in seen:
                root = at
                self.cycle_roots.add(at)
                break
            seen.add(at)
            path.append(at)
            if parent not in self.parents:
                root = parent
                break
            at = parent
        for node in path:
            self.roots[node] = root
        return root

    def check_outbox(self, walk: _Walk) -> None:
        for native in sorted(self.parents, key=self.first_at.__getitem__):
            if self.parents[native] is not None:
                self.root_of(native)
        for index, record in walk.items():
            self.check_element(index, record)
        self.walk_end(walk, OUTBOX)

    def check_element(self, index: int, record: Any) -> None:
        where = f"{OUTBOX}#{index}"
        status = self.status(record)
        if status is None or self.first_at.get(status.native) != index:
            self.account(
                self.report.tally("activities not kept"), where, "activity not kept", False, "activity"
            )
            return
        name = status.space.partition(":")[0] if status.space_kind == "community" else status.space
        row = self.report.conversation(status.space, name, status.space_kind)
        if status.space_kind != "community":
            for member in sorted({self.me, *status.addressees} - {""}):
                self.check_member(row, status.space, member, where)
        elif self.me:
            self.check_member(row, status.space, self.me, where)
        item = ids.item_id(PLATFORM, STATUSES, status.native)
        stored = self.row(
            "SELECT space_id, native_id, kind, subtype, author_id, created_native, parent_id, thread_root_id,"
            " raw FROM items WHERE id = ?",
            (item,),
        )
        tally = row.tally("replies" if status.parent else "messages")
        subtype = "announce" if status.kind == "announce" else self.subtype(status.obj)
        self.account(
            row.subtype(subtype or ""), where, f"{status.native} missing", stored is not None, "activity"
        )
        self.account(tally, where, f"{status.native} missing", stored is not None, "activity")
        if stored is None:
            return
        parent = root = None
        if status.parent:
            parent = ids.item_id(PLATFORM, STATUSES, status.parent)
            if status.native in self.cycle_roots:
                if not self.said(where, "mastodon.reply_cycle"):
                    self.differ(tally, where, "a reply cycle not said so")
            else:
                root = ids.item_id(PLATFORM, STATUSES, self.roots[status.native])
        expected = (
            ids.space_id(PLATFORM, status.space),
            status.native,
            "comment" if status.parent else "post",
            subtype,
            ids.person_id(PLATFORM, status.author) if status.author else None,
            status.published if isinstance(status.published, str) else None,
            parent,
            root,
        )
        if tuple(stored[:8]) != expected:
            self.differ(tally, where, f"{status.native} stored as {stored[:8]}, the archive says {expected}")
        if not self.raw_kept(item, stored[8], record):
            self.differ(tally, where, f"the raw record of {status.native} differs from the archive's")
        if status.author:
            self.check_person(status.author, where)
        for address in status.addressees:
            self.check_person(address, where)
        if status.kind == "create":
            self.check_tags(status.obj, where)
            self.check_attachments(row, item, status.obj, where)

    @staticmethod
    def subtype(obj: dict[str, Any]) -> str | None:
        types = _types(obj)
        return None if types[:1] == ["Note"] else (types[0] if types else None)

    def check_member(self, row: ConversationRow, space: str, person: str, where: str) -> None:
        key = f"{space}\x1f{person}"
        if key in self.persons_checked:
            return
        self.persons_checked.add(key)
        found = self.row(
            "SELECT 1 FROM memberships WHERE space_id = ? AND person_id = ?",
            (ids.space_id(PLATFORM, space), ids.person_id(PLATFORM, person)),
        )
        self.account(
            row.tally("members"), where, f"{person} not a member of {space}", found is not None, "membership"
        )

    def check_tags(self, obj: dict[str, Any], where: str) -> None:
        for tag in _objects(obj.get("tag")):
            href, name = _nonempty(tag.get("href")), _nonempty(tag.get("name"))
            if "Mention" in _types(tag) and href:
                self.check_person(href, where)
            elif "Emoji" in _types(tag) and name and name.strip(":"):
                code = name.strip(":")
                found = self.row(
                    "SELECT 1 FROM files WHERE id = ?", (ids.file_id(PLATFORM, f"emoji:{code}"),)
                )
                tally = self.report.tally("emoji")
                self.account(tally, where, f"emoji {code} missing", found is not None, "emoji")

    def check_attachments(self, row: ConversationRow, item: str, obj: dict[str, Any], where: str) -> None:
        tally = row.tally("files")
        linked = {
            native
            for (native,) in self.archive.store.query(
                "SELECT f.native_id FROM item_files x JOIN files f ON f.id = x.file_id WHERE x.item_id = ?",
                (item,),
            )
        }
        for j, attachment in enumerate(_values(obj.get("attachment"))):
            at = f"{where}/attachment/{j}"
            url = _url_of(attachment)
            if url is None and isinstance(attachment, dict) and _nonempty(attachment.get("href")):
                continue  # a preview card: a link, not a file
            if url is None:
                self.account(tally, at, "attachment not kept", False, "attachment")
                continue
            self.account(tally, at, f"attachment {url} missing", url in linked, "attachment")
            self.check_bytes(url, url, at)

    # -- likes and bookmarks --
    def check_uris(self, entry: str, subtype: str) -> None:
        text = self.text_of(entry)
        if text is None:
            return
        walk = _Walk(text)
        native = f"{subtype}s:{self.me}"
        row = self.report.conversation(native, f"{subtype}s", "community")
        for index, value in walk.items():
            where = f"{entry}#{index}"
            if not isinstance(value, str) or not value:
                self.account(row.tally("messages"), where, f"{subtype} not kept", False, subtype)
                continue
            item = ids.item_id(PLATFORM, native, value)
            stored = self.row("SELECT subtype, raw FROM items WHERE id = ?", (item,))
            self.account(
                row.subtype(subtype), where, f"{subtype} {value} missing", stored is not None, subtype
            )
            self.account(
                row.tally("messages"), where, f"{subtype} {value} missing", stored is not None, subtype
            )
            if stored is not None and (stored[0] != subtype or not self.raw_kept(item, stored[1], value)):
                self.differ(row.tally("messages"), where, f"{subtype} {value} stored differently")
        self.walk_end(walk, entry)

    # -- everything else --
    def check_other_entries(self, names: list[str]) -> None:
        """Every other file is a file of the archive with its bytes (a file no post refers to)."""
        tally = self.report.tally("other files")
        for name in names:
            if self.dropped(name, "entry"):
                self.account(tally, name, "entry refused", False, "entry")
                continue
            try:
                sha = self.export.sha256(name)
            except _READ_ERRORS as exc:
                self.account(tally, name, f"unreadable ({exc})", False, "entry")
                continue
            stored = self.row("SELECT sha256 FROM files WHERE id = ?", (ids.file_id(PLATFORM, name),))
            kept = stored is not None and stored[0] == sha and self.archive.blobs.has(sha)
            self.account(tally, name, f"bytes (sha256 {sha[:12]}…) not kept", kept, "entry")


def verify_mastodon(archive: Archive, source: Path) -> VerifyReport:
    export = ExportFiles(
        source, what="Mastodon account archive (zip, folder or outbox.json)", single_file=True
    )
    report, ingested = open_report(archive, source, export.fingerprint(), PLATFORM, "mastodon")
    if not ingested:
        return report
    checker = _Checker(archive, report.source_id, report, export=export)
    names = sorted(export.entries)
    unsafe = set(unsafe_names(names))
    for name in sorted(unsafe):
        checker.account(report.tally("other files"), name, "unsafe entry not diagnosed", False, "entry")
    checker.check_actor()
    text = checker.text_of(OUTBOX) if OUTBOX in export.entries else None
    if text is not None:
        checker.learn(_Walk(text))
        checker.check_outbox(_Walk(text))
    for entry, subtype in ((LIKES, "like"), (BOOKMARKS, "bookmark")):
        if entry in export.entries:
            checker.check_uris(entry, subtype)
    known = set(_KNOWN) | checker.consumed | unsafe
    checker.check_other_entries([n for n in names if n not in known])
    return report
