"""Reconcile an archive with the DokuWiki data folder it came from, by an independent path.

This module shares no code with the DokuWiki reader: it lists the source with the standard
library (``ExportFiles``: ``os.walk`` or ``zipfile``), finds the data folder, decodes file
names, splits changelog lines and parses attic names on its own, and checks, record by
record:

- every page file is a ``page`` item (id from the page id under the wiki ``dokuwiki``) whose
  body is the file's text;
- every changelog without a page file is a deleted item;
- every changelog line is a revision of its page, native id its date as written, at that
  time, by its user (or the guest ``ip:<address>``); a line that is not one, or a second line at one
  date, is explained only by a diagnostic dropping the ``changelog entry`` at
  ``<changes>#<line>``;
- every attic file is a revision at its timestamp, with a body unless a diagnostic at the
  file says why not;
- every ``.meta`` file is in its page's raw record, or dropped by a diagnostic at the file;
- every media file and old version (``media_attic``) is a file with the same bytes
  (SHA-256); every media changelog line is a version of its file (the current file at its
  time, or ``<id>@<date>``), or dropped by a diagnostic at its line;
- every user line of ``conf/users.auth.php`` is a person, and no password hash is anywhere
  in the persons' records;
- every ``ns:* @ALL 0`` rule of ``conf/acl.auth.php`` makes its namespace private (unless
  the configuration sets ``useacl`` to 0);
- every other entry is said by a diagnostic at the entry or at a folder holding it, or kept
  as a file ``entry:<name>``.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote_plus

from passerelle.archive import Archive
from passerelle.model import ids
from passerelle.verify.export_files import ExportFiles
from passerelle.verify.ledger import SourceLedger, open_report, unsafe_names
from passerelle.verify.report import VerifyReport

PLATFORM = "dokuwiki"
WIKI = "dokuwiki"
_ATTIC_NAME = re.compile(r"^(?P<page>.+)\.(?P<ts>[0-9]+)\.txt(?:\.gz|\.bz2)?$")
_MEDIA_OLD = re.compile(r"^(?P<stem>.+)\.(?P<rev>[0-9]{9,11})(?P<ext>\.[^./]*)?$")


def _data_prefix(names: list[str]) -> str | None:
    tops = sorted({n.split("/")[0] + "/" for n in names if "/" in n})
    for prefix in ["", "data/", *tops, *[t + "data/" for t in tops]]:
        if any(n.startswith(prefix + "pages/") and n.endswith(".txt") for n in names):
            return prefix
    return None


def is_dokuwiki_source(path: Path) -> bool:
    """A folder or zip holding a DokuWiki data folder (pages/*.txt beside attic/, meta/ or
    media/, or an install root's conf/)."""
    try:
        if path.is_dir():
            for base in (path, path / "data"):
                pages = base / "pages"
                if pages.is_dir() and any(pages.rglob("*.txt")):
                    return (
                        any((base / f).is_dir() for f in ("attic", "meta", "media"))
                        or (path / "conf").is_dir()
                    )
            return False
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except OSError:
        return False
    prefix = _data_prefix(names)
    if prefix is None:
        return False
    return any(
        n.startswith(prefix + f) for n in names for f in ("attic/", "meta/", "media/", "conf/")
    ) or any(n.endswith("conf/users.auth.php") for n in names)


def _safe_decoded(text: str) -> str:
    """SafeFN: runs of '%' + base-36 (code point - 32) closed by ']' before plain characters."""
    result = []
    i = 0
    text = text.lower()
    while i < len(text):
        c = text[i]
        if c == "%":
            j = i + 1
            while j < len(text) and text[j] not in "%]" and text[j].isalnum():
                j += 1
            digits = text[i + 1 : j]
            result.append(chr(int(digits, 36) + 32) if digits else "%")
            i = j
            if i < len(text) and text[i] == "]":
                i += 1
            continue
        result.append(c)
        i += 1
    return "".join(result)


def page_id_of(rel: str) -> str:
    parts = []
    for part in rel.split("/"):
        if "]" in part:
            parts.append(_safe_decoded(part))
        elif "%" in part or "+" in part:
            parts.append(unquote_plus(part))
        else:
            parts.append(part)
    return ":".join(parts)


class _Check:
    def __init__(self, archive: Archive, report: VerifyReport, export: ExportFiles, data: str) -> None:
        self.archive = archive
        self.store = archive.store
        self.report = report
        self.export = export
        self.data = data
        self.ledger = SourceLedger(archive, report.source_id, report)
        self.wheres = {
            w
            for (w,) in self.store.query(
                'SELECT "where" FROM diagnostics WHERE source_id = ?', (report.source_id,)
            )
        }
        self._attic_item = ""
        self._attic_bodies: dict[str, int] = {}
        self.persons = dict(
            self.store.query("SELECT id, native_id FROM persons WHERE platform = ?", (PLATFORM,))
        )

    def said(self, where: str, code: str) -> bool:
        return self.ledger.said(where, code)

    def text(self, name: str) -> str:
        return self.export.read(name).decode("utf-8", "replace")

    # -- pages -----------------------------------------------------------------------------
    def page(self, name: str) -> None:
        rel = name[len(self.data + "pages/") : -len(".txt")]
        page = page_id_of(rel)
        item = ids.item_id(PLATFORM, WIKI, page)
        row = self.store.query("SELECT native_id, body_source FROM items WHERE id = ?", (item,))
        found = bool(row) and row[0][0] == page and row[0][1] == self.text(name)
        self.ledger.account(
            self.report.tally("pages"), name, f"page {page} not in the archive as its file", found, "page"
        )

    def changes(self, name: str) -> None:
        rel = name[len(self.data + "meta/") : -len(".changes")]
        page = page_id_of(rel)
        item = ids.item_id(PLATFORM, WIKI, page)
        query = "SELECT native_id, author_id, created_at FROM revisions WHERE item_id = ?"
        revisions: dict[str, str | None] = {}
        times: dict[str, int] = {}
        for native, author, created in self.store.query(query, (item,)):
            revisions[native], times[native] = author, created
        if self.data + "pages/" + rel + ".txt" not in self.export.entries and revisions:
            # no page file: a page deleted (in DokuWiki, or by hand), kept with its history
            found = self.store.query("SELECT deleted FROM items WHERE id = ?", (item,)) == [(1,)]
            self.ledger.account(
                self.report.tally("deleted pages"), name, f"{page} not a deleted page", found, "page"
            )
        seen: set[str] = set()
        lines = self.text(name).split("\n")
        if lines and not lines[-1]:
            lines.pop()
        for number, line in enumerate(lines, 1):
            where = f"{name}#{number}"
            cells = line.rstrip("\r").split("\t")
            found = False
            if len(cells) >= 4 and cells[0].isdigit() and cells[3] and cells[0] not in seen:
                cells += ["", ""]
                seen.add(cells[0])
                author = self.persons.get(revisions.get(cells[0]) or "")
                expected = cells[4] or (("ip:" + cells[1]) if cells[1] else None)
                found = (
                    cells[0] in revisions
                    and author == expected
                    and times[cells[0]] == int(cells[0]) * 1_000_000
                )
            self.ledger.account(
                self.report.tally("changelog entries"),
                where,
                f"changelog entry of {page} not a revision by its user",
                found,
                "changelog entry",
            )

    def attic(self, name: str) -> None:
        match = _ATTIC_NAME.match(name[len(self.data + "attic/") :])
        assert match is not None
        item = ids.item_id(PLATFORM, WIKI, page_id_of(match.group("page")))
        if self._attic_item != item:  # a page's attic files are listed together: one query a page
            query = "SELECT native_id, body_source IS NOT NULL FROM revisions WHERE item_id = ?"
            self._attic_item, self._attic_bodies = item, dict(self.store.query(query, (item,)))
        body = self._attic_bodies.get(match.group("ts"))
        found = body is not None and (bool(body) or self.said(name, "dokuwiki.attic_unreadable"))
        self.ledger.account(
            self.report.tally("attic files"), name, "attic file not a revision", found, "attic file"
        )

    def meta(self, name: str) -> None:
        rel = name[len(self.data + "meta/") : -len(".meta")]
        item = ids.item_id(PLATFORM, WIKI, page_id_of(rel))
        found = bool(
            self.store.query(
                "SELECT 1 FROM items WHERE id = ? AND json_extract(raw, '$.meta') IS NOT NULL", (item,)
            )
        )
        self.ledger.account(self.report.tally("meta files"), name, "page metadata not kept", found, "meta")

    # -- media -----------------------------------------------------------------------------
    def _file_sha(self, native: str) -> tuple[str | None, int | None] | None:
        row = self.store.query(
            "SELECT sha256, created_at FROM files WHERE id = ?", (ids.file_id(PLATFORM, native),)
        )
        return (row[0][0], row[0][1]) if row else None

    def media(self, name: str) -> None:
        media = page_id_of(name[len(self.data + "media/") :])
        stored = self._file_sha(media)
        found = stored is not None and stored[0] == self.export.sha256(name)
        self.ledger.account(
            self.report.tally("media"), name, f"media {media} not a file with its bytes", found, "file"
        )

    def media_old(self, name: str) -> None:
        rel = name[len(self.data + "media_attic/") :]
        folder, _, base = rel.rpartition("/")
        match = _MEDIA_OLD.match(base)
        found = False
        if match is not None:
            media = page_id_of(
                (folder + "/" if folder else "") + match.group("stem") + (match.group("ext") or "")
            )
            stored = self._file_sha(f"{media}@{match.group('rev')}")
            found = stored is not None and stored[0] == self.export.sha256(name)
        self.ledger.account(
            self.report.tally("media versions"), name, "old media version not a file", found, "file"
        )

    def media_changes(self, name: str) -> None:
        media = page_id_of(name[len(self.data + "media_meta/") : -len(".changes")])
        lines = self.text(name).split("\n")
        if lines and not lines[-1]:
            lines.pop()
        current = self._file_sha(media)
        for number, line in enumerate(lines, 1):
            cells = line.split("\t")
            found = False
            if cells[0].isdigit():
                old = self._file_sha(f"{media}@{cells[0]}")
                found = old is not None or (current is not None and current[1] == int(cells[0]) * 1_000_000)
            self.ledger.account(
                self.report.tally("media changelog entries"),
                f"{name}#{number}",
                f"media changelog entry of {media} not a version",
                found,
                "changelog entry",
            )

    # -- users and everything else ---------------------------------------------------------------
    def users(self, name: str) -> None:
        raws = [
            raw or b""
            for (raw,) in self.store.query("SELECT raw FROM persons WHERE platform = ?", (PLATFORM,))
        ]
        for number, line in enumerate(self.text(name).split("\n"), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            fields = re.split(r"(?<!\\):", stripped)
            found = False
            if len(fields) >= 5 and fields[0]:
                found = ids.person_id(PLATFORM, unquote_plus(fields[0])) in self.persons
                if fields[1] and any(fields[1].encode() in raw for raw in raws):
                    self.report.problem(
                        f"{name}#{number}: the password hash of {fields[0]} is in the archive"
                    )
            self.ledger.account(
                self.report.tally("users"), f"{name}#{number}", "user not a person", found, "user"
            )

    def acl(self, name: str, root: str) -> None:
        """A namespace whose own rule denies @ALL is a private space, unless the configuration
        turns the ACL off (``$conf['useacl'] = 0``, the last file that sets it wins)."""
        if name not in self.export.entries:
            return
        useacl = True
        for conf in ("conf/dokuwiki.php", "conf/local.php", "conf/local.protected.php"):
            if root + conf in self.export.entries:
                settings = re.findall(r"\$conf\[.useacl.\]\s*=\s*.?([0-9]+)", self.text(root + conf))
                useacl = settings[-1] != "0" if settings else useacl
        for number, line in enumerate(self.text(name).split("\n"), 1):
            cells = line.split("#")[0].split()
            if len(cells) != 3 or cells[1] != "@ALL" or not cells[0].endswith(":*"):
                continue
            space = ids.space_id(PLATFORM, "ns:" + unquote_plus(cells[0][:-2]))
            row = self.store.query("SELECT visibility FROM spaces WHERE id = ?", (space,))
            private = cells[2] == "0" and useacl
            found = not row or (row[0][0] == "private") == private
            self.ledger.account(
                self.report.tally("acl rules"),
                f"{name}#{number}",
                "namespace visibility differs",
                found,
                "acl rule",
            )

    def other(self, name: str) -> None:
        parts = name.split("/")
        candidates = {name} | {"/".join(parts[:n]) + "/" for n in range(1, len(parts))}
        if name.startswith(self.data + "meta/") and "." in parts[-1]:
            candidates.add(self.data + "meta/*" + parts[-1][parts[-1].rfind(".") :])
        said = bool(candidates & self.wheres) or bool(
            self.store.query("SELECT 1 FROM files WHERE id = ?", (ids.file_id(PLATFORM, "entry:" + name),))
        )
        self.ledger.account(
            self.report.tally("other entries"), name, "entry neither read nor said", said, "entry"
        )


def verify_dokuwiki(archive: Archive, source: Path) -> VerifyReport:
    export = ExportFiles(source, what="DokuWiki data folder (folder or zip)")
    names = sorted(export.entries)
    data = _data_prefix(names)
    fingerprint = export.fingerprint()
    if source.is_dir() and data is not None:
        # The reader's fingerprint of a folder adds the page and media files' mtimes.
        digest = hashlib.sha256(fingerprint.encode())
        for folder in ("pages/", "media/"):  # in this order, as the reader mixes them
            for name in names:
                if name.startswith(data + folder):
                    digest.update(f"{name}\0{int(os.stat(export.entries[name]).st_mtime)}\n".encode())
        fingerprint = digest.hexdigest()
    report, ingested = open_report(archive, source, fingerprint, PLATFORM, "dokuwiki")
    if not ingested:
        return report
    if data is None:
        report.problem(f"{source}: no pages/*.txt found")
        return report
    root = data[: -len("data/")] if data.endswith("data/") else data
    check = _Check(archive, report, export, data)
    unsafe = set(unsafe_names(names))
    for name in sorted(unsafe):
        check.ledger.account(
            report.tally("other entries"), name, "unsafe entry not diagnosed", False, "entry"
        )
    pages: set[str] = set()
    for name in names:
        if name.startswith(data + "pages/") and name.endswith(".txt"):
            pages.add(name[len(data + "pages/") : -len(".txt")])
    for name in names:
        if name in unsafe:
            continue
        rest = name[len(data) :] if name.startswith(data) else None
        top, _, inner = (rest or "").partition("/")
        basename = name.rsplit("/", 1)[-1]
        if rest is not None and top == "pages" and inner.endswith(".txt"):
            check.page(name)
        elif rest is not None and top == "meta" and inner.endswith(".changes") and not inner.startswith("_"):
            check.changes(name)
        elif rest is not None and top == "meta" and inner.endswith(".meta") and not inner.startswith("_"):
            check.meta(name)
        elif rest is not None and top == "attic" and _ATTIC_NAME.match(inner):
            check.attic(name)
        elif rest is not None and top == "media" and inner:
            check.media(name)
        elif (
            rest is not None and top == "media_attic" and basename != "_dummy" and _MEDIA_OLD.match(basename)
        ):
            check.media_old(name)
        elif rest is not None and top == "media_meta" and inner.endswith(".changes"):
            check.media_changes(name)
        elif name == root + "conf/users.auth.php":
            check.users(name)
        elif name == root + "conf/acl.auth.php":
            pass  # check.acl, below
        else:
            check.other(name)
    check.acl(root + "conf/acl.auth.php", root)
    if export.zip is not None:
        export.zip.close()
    return report
