"""Reconcile an archive with the XWiki XAR it came from, by an independent path.

Shares no code with the XWiki reader: the package is listed with ``zipfile`` (or ``os.walk``,
through ``ExportFiles``), each document parsed with the standard library's
``xml.etree.ElementTree`` (expat, where the reader uses lxml), after its own check that the
prolog declares no DOCTYPE or entity; the JRCS history is only counted (its delta headers,
by a regular expression), never reconstructed. For every document it checks:

- the page (id from the reference and locale): kind, space, title, body (source and format),
  creator;
- its revisions: as many as the history's delta headers (the current version alone when the
  document has no history), or fewer with ``xwiki.history_unreadable`` at its place;
- its attachments: a file ``<reference>@<filename>`` linked to the page, with the declared
  size and the SHA-256 of the base64 content; each older version in ``<revisions>`` a file too;
- its comments (``XWiki.XWikiComments`` objects): an item under the page, replying to the
  comment its ``replyto`` names, by its author;
- its users (``XWiki.XWikiUsers``): a person (not a placeholder) with the e-mail;
- its spaces: each a ``wiki_space`` under its parent, ``private`` when view rights close it
  (its own, an ancestor's or the wiki's: its own reading of the rights objects), the users
  those rights allow among its members;
- objects per class: the count the reader's ``xwiki.objects`` diagnostic gives.

A document absent from the archive is explained only by a diagnostic that dropped it at its
entry (``<entry>`` or ``<entry>#<line>``); anything else is a difference.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import xml.etree.ElementTree as ElementTree
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from passerelle.archive import Archive
from passerelle.model import ids
from passerelle.verify.export_files import ExportFiles
from passerelle.verify.ledger import SourceLedger, open_report, unsafe_names
from passerelle.verify.report import VerifyReport

PLATFORM = "xwiki"
WIKI = "xwiki"
PACKAGE = ".".join(("package", "xml"))  # spelt so: "package.<x>" strings are diagnostic codes
_SNIFF = 4096
_HOSTILE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_NODE = re.compile(r"(?m)^(\d+(?:\.\d+)+)\s*\ndate\s")
_CONTROL_REF = re.compile(rb"&#(?:x0*([0-9a-fA-F]{1,2})|0*([0-9]{1,3}));")
# other markups' XWiki syntax ids, as passerelle names the formats
_FORMATS = {
    "mediawiki/1.0": "mediawiki",
    "dokuwiki/1.0": "dokuwiki",
    "markdown/1.0": "markdown",
    "markdown/1.1": "markdown",
    "markdown/1.2": "markdown",
    "html/4.01": "html",
    "html/5.0": "html",
    "xhtml/1.0": "html",
    "plain/1.0": "text",
}
_COUNT = re.compile(r"^(\d+) object\(s\) of class ")


def is_xwiki_source(path: Path) -> bool:
    """A .xar, or a zip or folder holding package.xml or xwikidoc files."""
    try:
        if path.is_dir():
            if (path / PACKAGE).is_file():
                return b"<package" in (path / PACKAGE).read_bytes()[:_SNIFF]
            for n, xml in enumerate(sorted(path.rglob("*.xml"))):
                if n >= 8:
                    break
                with xml.open("rb") as handle:
                    if b"<xwikidoc" in handle.read(_SNIFF):
                        return True
            return False
        if not path.is_file() or not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".xml")]
            if PACKAGE in names:
                with zf.open(PACKAGE) as handle:
                    if b"<package" in handle.read(_SNIFF):
                        return True
            for name in names[:8]:
                with zf.open(name) as handle:
                    if b"<xwikidoc" in handle.read(_SNIFF):
                        return True
    except (OSError, zipfile.BadZipFile, ValueError, RuntimeError, NotImplementedError):
        return False
    return False


def _split(reference: str) -> list[str]:
    """A document reference's parts, unescaped (its own reading of XWiki's reference syntax)."""
    if ":" in reference:
        head, _, rest = reference.partition(":")
        if "\\" not in head and "." not in head:
            reference = rest
    parts, current, escaped = [], "", False
    for ch in reference:
        if escaped:
            current += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ".":
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _join(parts: list[str]) -> str:
    return ".".join(p.replace("\\", "\\\\").replace(".", "\\.").replace(":", "\\:") for p in parts)


def _user(value: str | None) -> str | None:
    value = (value or "").strip()
    if value.startswith("xwiki:"):
        value = value[6:]
    return value or None


def _header(archive: str) -> str:
    """An RCS archive's header part (its delta headers), before ``desc`` and the texts."""
    end = re.search(r"(?m)^desc\s*$", archive)
    return archive[: end.start()] if end else archive


def _as_utf8(data: bytes) -> bytes:
    """A document declared UTF-8 (or declaring nothing) with bytes that are not: the invalid
    bytes read as cp1252, as the reader is documented to do (its own reading here)."""
    head = data[:200]
    declared = re.match(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""", head)
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        out, at = [], 0
        while at < len(data):
            try:
                out.append(data[at:].decode("utf-8"))
                break
            except UnicodeDecodeError as exc:
                out.append(data[at : at + exc.start].decode("utf-8"))
                bad = data[at + exc.start : at + exc.end]
                out.append(bad.decode("cp1252", "replace"))
                at += exc.end
        return "".join(out).encode("utf-8")
    return data


def _as_10(data: bytes) -> tuple[bytes, dict[str, str]]:
    """The document with references to control characters (XML 1.1 only) made parseable, and
    how to put them back."""
    back: dict[str, str] = {}
    if b"&#" not in data:
        return data, back

    def swap(match: re.Match[bytes]) -> bytes:
        code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
        if not (0 < code < 0x20 and code not in (9, 10, 13)):
            return match.group(0)
        marker = chr(0x10FF00 + code)
        back[marker] = chr(code)
        return marker.encode("utf-8")

    return _CONTROL_REF.sub(swap, data), back


class _Checker:
    def __init__(self, archive: Archive, report: VerifyReport, export: ExportFiles) -> None:
        self.archive = archive
        self.report = report
        self.ledger = SourceLedger(archive, report.source_id, report)
        self.export = export
        self.store = archive.store
        self.classes: Counter[str] = Counter()
        self.spaces: set[str] = set()
        self.seen: set[tuple[str, str]] = set()
        # space ('' the wiki) -> [closed to guests or to all but some, the users allowed]
        self.view_rules: dict[str, list[Any]] = {}

    def scalar(self, sql: str, *params: object) -> object:
        return self.store.scalar(sql, params)

    def dropped_document(self, entry: str) -> bool:
        return (
            self.scalar(
                'SELECT 1 FROM diagnostics WHERE source_id = ? AND dropped = ? AND ("where" = ? OR "where" LIKE ?)',
                self.report.source_id,
                "document",
                entry,
                entry.replace("%", "\\%") + "#%",
            )
            is not None
        )

    def document(self, entry: str) -> None:
        tally = self.report.tally("documents")
        data = _as_utf8(self.export.read(entry))
        if _HOSTILE.search(data[: data.find(b"<xwikidoc") if b"<xwikidoc" in data else len(data)]):
            tally.source += 1
            if self.dropped_document(entry):
                tally.explained += 1
            else:
                tally.unexplained += 1
                self.report.problem(f"{entry}: a document with a DOCTYPE/ENTITY is not said refused")
            return
        parseable, back = _as_10(data)
        try:
            root = ElementTree.fromstring(parseable)
        except ElementTree.ParseError as exc:
            tally.source += 1
            if self.dropped_document(entry):
                tally.explained += 1
            else:
                tally.unexplained += 1
                self.report.problem(f"{entry}: not well-formed ({exc}) and not said dropped")
            return
        if root.tag != "xwikidoc":
            fid = ids.file_id(PLATFORM, f"entry:{entry}")
            self.ledger.account(
                self.report.tally("other entries"),
                entry,
                "an entry that is no document is not kept as a file",
                self.scalar("SELECT 1 FROM files WHERE id = ?", fid) is not None,
                "entry",
            )
            return

        def text(elem: ElementTree.Element | None) -> str | None:
            if elem is None:
                return None
            value = elem.text or ""
            for marker, char in back.items():
                value = value.replace(marker, char)
            return value

        reference = root.get("reference")
        if not reference:
            web, name = text(root.find("web")) or "", text(root.find("name")) or ""
            reference = f"{web}.{_join([name])}" if web else _join([name])
        locale = root.get("locale")
        if locale is None:
            locale = text(root.find("language")) or ""
        key = (reference, locale)
        if key in self.seen:
            self.ledger.account(
                tally, entry, "a second definition of a document is not said", False, "document"
            )
            return
        self.seen.add(key)
        native = f"{reference};{locale}" if locale else reference
        item = ids.item_id(PLATFORM, WIKI, native)
        parts = _split(reference)
        space = _join(parts[:-1]) if len(parts) > 1 else ""
        for n in range(1, len(parts)):
            self.spaces.add(_join(parts[:n]))
        row = self.store.query(
            "SELECT kind, space_id, title, body_source, body_format, author_id, subtype FROM items WHERE id = ?",
            (item,),
        )
        found = bool(row)
        if found:
            kind, space_id, title, source, fmt, author, subtype = row[0]
            syntax = text(root.find("syntaxId")) or "xwiki/1.0"
            syntax = _FORMATS.get(syntax, syntax)
            expected_space = ids.space_id(PLATFORM, space or WIKI)
            creator = _user(text(root.find("creator")))
            checks = {
                "kind": (kind, "page"),
                "subtype": (
                    subtype,
                    "redirect"
                    if any(
                        (o.findtext("className") or "").strip() == "XWiki.RedirectClass"
                        for o in root.findall("object")
                    )
                    else None,
                ),
                "space": (space_id, expected_space),
                "title": (title, reference),
                "body": (source, text(root.find("content")) or ""),
                "syntax": (fmt, syntax),
            }
            if creator is not None:
                checks["creator"] = (author, ids.person_id(PLATFORM, creator))
            for what, (got, want) in checks.items():
                if got != want:
                    found = False
                    self.report.problem(
                        f"{entry}: the page's {what} is {str(got)[:60]!r}, not {str(want)[:60]!r}"
                    )
        self.ledger.account(tally, entry, f"the page {native} is not in the archive", found, "document")
        if not row:
            return
        self.revisions(entry, root, item, text)
        self.attachments(entry, root, reference, item, text)
        self.objects(entry, root, reference, item, text)

    def revisions(self, entry: str, root: ElementTree.Element, item: str, text: object) -> None:
        tally = self.report.tally("revisions")
        versions = root.find("versions")
        in_archive = int(str(self.scalar("SELECT count(*) FROM revisions WHERE item_id = ?", item)))
        if versions is None:
            version = (root.findtext("version") or "1.1").strip() or "1.1"
            got = (
                self.scalar("SELECT 1 FROM revisions WHERE id = ?", ids.revision_id(item, version))
                is not None
            )
            self.ledger.account(
                tally, f"{entry}#version", f"the revision {version} is not in the archive", got, "revision"
            )
            return
        listed = _NODE.findall(_header(versions.text or ""))
        tally.source += len(listed)
        version = (root.findtext("version") or "").strip()
        extra = 1 if version and version not in listed else 0
        kept = in_archive - extra
        tally.archive += min(kept, len(listed))
        if kept < len(listed):
            if self.ledger.said(f"{entry}#versions", "xwiki.history_unreadable"):
                tally.explained += len(listed) - kept
            else:
                tally.unexplained += len(listed) - kept
                self.report.problem(
                    f"{entry}: {len(listed)} versions in its history, {kept} revisions in the archive"
                )

    def attachments(
        self, entry: str, root: ElementTree.Element, reference: str, item: str, text: object
    ) -> None:
        tally = self.report.tally("attachments")
        for n, attachment in enumerate(root.findall("attachment")):
            name = attachment.findtext("filename") or ""
            native = f"{reference}@{name}"
            self.file(tally, f"{entry}#attachment[{n + 1}]", native, attachment, attachment, item)
            current = (attachment.findtext("version") or "").strip()
            archived = attachment.find("versions")
            for version in _NODE.findall(_header(archived.text or "")) if archived is not None else ():
                if version == current:
                    continue
                fid = ids.file_id(PLATFORM, f"{native}@{version}")
                where = f"{entry}#attachment[{n + 1}]/versions/{version}"
                found = self.scalar("SELECT 1 FROM files WHERE id = ?", fid) is not None
                tally_versions = self.report.tally("attachment versions")
                if not found and self.ledger.said(
                    f"{entry}#attachment[{n + 1}]/versions", "xwiki.history_unreadable"
                ):
                    tally_versions.source += 1
                    tally_versions.explained += 1
                    continue
                self.ledger.account(
                    tally_versions, where, f"the file {native}@{version} is not in the archive", found, "file"
                )
            revisions = attachment.find("revisions")
            if revisions is None:
                continue
            by_version = {(r.findtext("version") or "").strip(): r for r in revisions.findall("revision")}
            for m, revision in enumerate(revisions.findall("revision")):
                version = (revision.findtext("version") or "").strip() or str(m + 1)
                if version == current:
                    continue
                holder = revision
                alias = (revision.findtext("contentAlias") or "").strip()
                if revision.find("content") is None and alias:
                    holder = by_version.get(alias, attachment if alias == current else revision)
                self.file(
                    self.report.tally("attachment versions"),
                    f"{entry}#attachment[{n + 1}]/revisions/revision[{m + 1}]",
                    f"{native}@{version}",
                    revision,
                    holder,
                    None,
                )

    def file(
        self,
        tally: object,
        where: str,
        native: str,
        elem: ElementTree.Element,
        holder: ElementTree.Element,
        item: str | None,
    ) -> None:
        from passerelle.verify.report import Tally

        assert isinstance(tally, Tally)
        fid = ids.file_id(PLATFORM, native)
        row = self.store.query("SELECT sha256, size FROM files WHERE id = ?", (fid,))
        ok = bool(row)
        if ok:
            sha, size = row[0]
            declared = (elem.findtext("filesize") or "").strip()
            if declared.isdigit() and size != int(declared):
                ok = False
                self.report.problem(f"{where}: size {size} in the archive, {declared} declared")
            content = holder.find("content")
            if content is not None:
                try:
                    data = base64.b64decode(re.sub(r"\s+", "", content.text or ""), validate=True)
                except (binascii.Error, ValueError):
                    data = None
                if data is not None and sha != hashlib.sha256(data).hexdigest():
                    ok = False
                    self.report.problem(f"{where}: the archive's bytes are not the attachment's")
            if (
                item is not None
                and self.scalar("SELECT 1 FROM item_files WHERE item_id = ? AND file_id = ?", item, fid)
                is None
            ):
                ok = False
                self.report.problem(f"{where}: the file is not attached to its page")
        self.ledger.account(tally, where, f"the file {native} is not in the archive", ok, "file")

    def objects(self, entry: str, root: ElementTree.Element, reference: str, item: str, text: object) -> None:
        numbers = set()
        comments = []
        for n, obj in enumerate(root.findall("object")):
            cls = (obj.findtext("className") or "").strip()
            self.classes[cls] += 1
            props = {value.tag: value.text or "" for prop in obj.findall("property") for value in prop}
            where = f"{entry}#object[{n + 1}]"
            self._rights(reference, cls, props)
            if cls == "XWiki.XWikiComments":
                number = (obj.findtext("number") or "").strip()
                numbers.add(number)
                comments.append((where, number, props))
            elif cls == "XWiki.XWikiUsers":
                pid = ids.person_id(PLATFORM, reference)
                row = self.store.query("SELECT is_placeholder, email FROM persons WHERE id = ?", (pid,))
                ok = bool(row) and row[0][0] == 0 and (row[0][1] or "") == props.get("email", "").strip()
                self.ledger.account(
                    self.report.tally("users"), where, f"the user {reference} is not a person", ok, "user"
                )
                secret = props.get("password", "").strip()
                if secret and any(
                    secret.encode() in (raw or b"")
                    for (raw,) in self.store.query(
                        "SELECT raw FROM persons WHERE id = ? UNION ALL SELECT raw FROM items WHERE id = ?",
                        (pid, item),
                    )
                ):
                    self.report.problem(f"{where}: the archive keeps the user's password hash")
        tally = self.report.tally("comments")
        for where, number, props in comments:
            native = f"{reference}^XWiki.XWikiComments[{number}]"
            cid = ids.item_id(PLATFORM, WIKI, native)
            row = self.store.query(
                "SELECT kind, thread_root_id, parent_id, author_id, body_source FROM items WHERE id = ?",
                (cid,),
            )
            ok = bool(row)
            if ok:
                kind, root_id, parent, author, source = row[0]
                replyto = props.get("replyto", "").strip()
                want_parent = item
                if replyto and replyto != "-1" and replyto != number:
                    if replyto in numbers:
                        want_parent = ids.item_id(
                            PLATFORM, WIKI, f"{reference}^XWiki.XWikiComments[{replyto}]"
                        )
                    elif not self.ledger.said(where, "xwiki.comment_parent_missing"):
                        self.report.problem(f"{where}: a reply to a missing comment is not said")
                user = _user(props.get("author"))
                want_author = ids.person_id(PLATFORM, user) if user else None
                if (kind, root_id, parent, author, source) != (
                    "comment",
                    item,
                    want_parent,
                    want_author,
                    props.get("comment", ""),
                ):
                    ok = False
                    self.report.problem(f"{where}: the comment differs in the archive")
            self.ledger.account(tally, where, f"the comment {native} is not in the archive", ok, "comment")

    def _rights(self, reference: str, cls: str, props: dict[str, str]) -> None:
        """A view rule: XWikiGlobalRights of Space.WebPreferences (the space) or of
        XWiki.XWikiPreferences (the wiki), XWikiRights of Space.WebHome (the space)."""
        if "view" not in re.split(r"[,| ]+", props.get("levels", "")):
            return
        parts = _split(reference)
        if cls == "XWiki.XWikiGlobalRights" and reference == "XWiki.XWikiPreferences":
            space = ""
        elif (cls == "XWiki.XWikiGlobalRights" and parts[-1] == "WebPreferences") or (
            cls == "XWiki.XWikiRights" and parts[-1] == "WebHome" and len(parts) > 1
        ):
            space = _join(parts[:-1])
        else:
            return
        names = {_user(n) for n in re.split(r"[,|]", props.get("users", "") + "," + props.get("groups", ""))}
        users = {_user(n) for n in re.split(r"[,|]", props.get("users", ""))} - {None}
        allow = props.get("allow", "1").strip() != "0"
        guests = {"XWiki.XWikiGuest", "XWiki.XWikiAllGroup"}
        closes = (not allow and bool(names & guests)) or (allow and "XWiki.XWikiGuest" not in names)
        rule = self.view_rules.setdefault(space, [False, set()])
        rule[0] = rule[0] or closes
        if allow:
            rule[1] |= {u for u in users if u and u not in guests}

    def finish(self) -> None:
        tally = self.report.tally("spaces")
        workspace = ids.space_id(PLATFORM, WIKI)
        for space in sorted(self.spaces):
            parts = _split(space)
            parent = ids.space_id(PLATFORM, _join(parts[:-1])) if len(parts) > 1 else workspace
            row = self.store.query(
                "SELECT kind, parent_id, visibility FROM spaces WHERE id = ?",
                (ids.space_id(PLATFORM, space),),
            )
            scopes = ["", *(_join(parts[:n]) for n in range(1, len(parts) + 1))]
            private = any(self.view_rules.get(s, [False])[0] for s in scopes)
            members: set[str] = set()
            for scope in scopes:
                members |= self.view_rules.get(scope, [False, set()])[1]
            visibility = "private" if private else "public"
            ok = bool(row) and row[0] == ("wiki_space", parent, visibility)
            if ok and private:
                kept = {
                    native
                    for (native,) in self.store.query(
                        "SELECT p.native_id FROM memberships m JOIN persons p ON p.id = m.person_id"
                        " WHERE m.space_id = ?",
                        (ids.space_id(PLATFORM, space),),
                    )
                }
                if not members <= kept:
                    ok = False
                    self.report.problem(f"{space}: members {sorted(members - kept)} not in the archive")
            self.ledger.account(
                tally,
                space,
                f"the space {space} is not a {visibility} wiki space under its parent",
                ok,
                "space",
            )
        objects = self.report.tally("objects")
        said: dict[str, int] = {}
        for where, message in self.store.query(
            'SELECT "where", message FROM diagnostics WHERE source_id = ? AND code = ?',
            (self.report.source_id, "xwiki.objects"),
        ):
            match = _COUNT.match(message)
            if match:
                said[where.removeprefix("objects:")] = int(match.group(1))
        for cls, count in sorted(self.classes.items()):
            objects.source += count
            if said.get(cls) == count:
                objects.archive += count
            else:
                objects.unexplained += count
                self.report.problem(f"{count} objects of class {cls}, the archive says {said.get(cls)}")


def verify_xwiki(archive: Archive, source: Path) -> VerifyReport:
    export = ExportFiles(source, what="XWiki package (.xar, zip or folder)")
    report, ingested = open_report(archive, source, export.fingerprint(), PLATFORM, "xwiki")
    if not ingested:
        return report
    checker = _Checker(archive, report, export)
    names = sorted(export.entries)
    unsafe = set(unsafe_names(names))
    for name in sorted(unsafe):
        checker.ledger.account(
            report.tally("other entries"), name, "unsafe entry not diagnosed", False, "entry"
        )
    if PACKAGE in export.entries:
        listed = report.tally("package")
        listed.source += 1
        if checker.ledger.said(PACKAGE, "xwiki.package") or checker.ledger.dropped(PACKAGE, "entry"):
            listed.archive += 1
        else:
            listed.unexplained += 1
            report.problem("package.xml is not accounted for")
    for name in names:
        if name in unsafe or name in (PACKAGE, "passerelle-export.json"):
            continue
        if not name.lower().endswith(".xml"):
            fid = ids.file_id(PLATFORM, f"entry:{name}")
            checker.ledger.account(
                report.tally("other entries"),
                name,
                "an entry that is no document is not kept as a file",
                checker.scalar("SELECT 1 FROM files WHERE id = ?", fid) is not None,
                "entry",
            )
            continue
        checker.document(name)
    checker.finish()
    return report
