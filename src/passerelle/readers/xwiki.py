"""The XWiki XAR reader: ``package.xml`` and one ``<xwikidoc>`` per document (format 1.1 to 1.7).

A XAR is a zip (or the folder it unpacks to) holding an optional ``package.xml`` (the
package's ``infos`` and the list of its documents) and one XML file per document and per
translation. Paths do not matter: a document is named by its ``reference`` attribute (1.2+),
else by ``web`` and ``name``. Reference: ../shared/reference/formats-wiki.md §2.

Every document is parsed with the safe-XML helper (a DOCTYPE or an entity declaration is
refused before parsing), XML 1.0 and 1.1 alike: libxml2 reads an XML 1.1 declaration as
1.0, so only the characters XML 1.1 allows and 1.0 does not (character references to
control characters, ``&#1;``) need care: they are swapped for private-use characters that
the document does not hold before parsing and put back in every value read.

The source is read in two passes, each document streamed (``iterparse``; an attachment is
decoded and stored as it ends, then freed):

1. the survey (the ``definitions`` unit): every document's reference and locale, the
   users (``XWiki.XWikiUsers`` objects), the rights objects that decide a space's
   visibility, every user named as an author, and the objects per class; it writes the
   wiki, its spaces with their visibility and members, the persons, and the package's
   account (``package.xml``'s infos, documents listed but absent or present but unlisted);
2. the documents, in blocks of ``BLOCK`` (a unit each): a page per document and locale,
   its revisions (the JRCS ``<versions>`` archive, else the current version alone), its
   attachments (and their older versions where the content is there), its comments.

Mapping (docs/model.md § XWiki): a page's ``title`` is its reference (``Space.Page``; the
human title stays in raw), native id the reference plus ``;<locale>`` for a translation;
``created_at``/``author_id`` the document's ``creationDate``/``creator``; ``edited_at`` /
``edited_by_id`` its ``date``/``author`` when it has been edited (another version than its
first). A page's raw is its ``<xwikidoc>`` element without what became records of their
own (``<versions>``, ``<attachment>``, comment objects), and without the ``password`` and
``validkey`` of a user object (never kept).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import importlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar

import msgspec
from lxml import etree

from passerelle.archive.writer import ArchiveWriter
from passerelle.model import ids
from passerelle.model.entities import (
    Body,
    File,
    Item,
    ItemFile,
    ItemKind,
    Membership,
    Person,
    Revision,
    Space,
    SpaceKind,
    Visibility,
)
from passerelle.progress import Display
from passerelle.readers import safe_xml
from passerelle.readers.base import FormatInfo, Sink
from passerelle.readers.source_tree import EntryError, SourceTree, repair_utf8
from passerelle.readers.xwiki_jrcs import JrcsError, Node, decode_author, headers, node_date, versions

PLATFORM = "xwiki"
WIKI = "xwiki"  # the wiki's own name: the workspace's native id, and every page's key
PACKAGE = ".".join(("package", "xml"))  # spelt so: "package.<x>" strings are diagnostic codes
MANIFEST = "passerelle-export.json"
BLOCK = 200  # documents a unit of work holds
FLUSH_BYTES = 16 << 20  # revision text handed to the archive writer at a time
SNIFF = 4096
COMMENTS_CLASS = "XWiki.XWikiComments"
USERS_CLASS = "XWiki.XWikiUsers"
RIGHTS_CLASS = "XWiki.XWikiRights"
GLOBAL_RIGHTS_CLASS = "XWiki.XWikiGlobalRights"
TAG_CLASS = "XWiki.TagClass"
REDIRECT_CLASS = "XWiki.RedirectClass"  # a page moved elsewhere: ``location`` names where
SECRET_PROPERTIES = frozenset({"password", "validkey"})
GUESTS = frozenset({"XWiki.XWikiGuest", "XWiki.XWikiAllGroup"})
DEFAULT_SYNTAX = "xwiki/1.0"  # documents older than syntaxId (XWiki 1.x) are in XWiki 1.0 syntax
_DOC_RECORDS = frozenset({"versions", "attachment"})

_DECLARATION = re.compile(rb"""^\s*<\?xml\s+version\s*=\s*["']1\.1["']""")
# Character references XML 1.1 allows and XML 1.0 does not: C0 controls but tab, LF, CR.
_RESTRICTED_REF = re.compile(rb"&#(?:x0*([0-9a-fA-F]{1,2})|0*([0-9]{1,3}));")


# -- values -------------------------------------------------------------------------------
def millis(value: str | None) -> int | None:
    """Microseconds from XWiki's milliseconds since the epoch; None unless an integer."""
    if value is None or not re.fullmatch(r"-?\d{1,15}", value.strip()):
        return None
    return int(value.strip()) * 1000


def split_reference(reference: str) -> list[str]:
    """The parts of a document reference (``A.B\\.c.Page`` → ``A``, ``B.c``, ``Page``),
    unescaped; a ``wiki:`` prefix is dropped."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    text = reference
    colon = _unescaped_index(text, ":")
    if colon >= 0:
        text = text[colon + 1 :]
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _unescaped_index(text: str, char: str) -> int:
    escaped = False
    for at, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == char:
            return at
    return -1


def escape_part(part: str) -> str:
    return part.replace("\\", "\\\\").replace(".", "\\.").replace(":", "\\:")


def join_reference(parts: list[str]) -> str:
    return ".".join(escape_part(p) for p in parts)


def user_reference(value: str | None) -> str | None:
    """A user as written in an author field, without the main wiki's prefix; None when empty."""
    if value is None:
        return None
    value = value.strip()
    if value.startswith(f"{WIKI}:"):
        value = value[len(WIKI) + 1 :]
    return value or None


def _names(value: str | None) -> list[str]:
    if not value:
        return []
    return [v.strip() for v in re.split(r"[,|]", value) if v.strip()]


# -- encodings ----------------------------------------------------------------------------
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def utf8(data: bytes) -> tuple[bytes, bytes | None]:
    """A document meant as UTF-8 (declared so, or declaring nothing) whose bytes are not:
    its invalid bytes read as cp1252 (what such files almost always are), and the original;
    any other document as it is, and None."""
    match = _ENCODING.match(data[:200])
    if match is not None and match.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return data, None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data, None
    repaired = repair_utf8(data)
    return (data, None) if repaired is None else (repaired, data)


# -- XML 1.1 ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prepared:
    """A document's bytes as lxml will parse them, and how to put the XML 1.1 characters back."""

    data: bytes
    back: dict[int, str] = field(default_factory=dict)  # private-use code point -> the character
    xml11: bool = False

    def text(self, value: str | None) -> str | None:
        if value is None or not self.back:
            return value
        return value.translate(self.back)

    def raw(self, element: etree._Element) -> bytes:
        data = etree.tostring(element, encoding="utf-8")
        if not self.back:
            return data
        for code, char in self.back.items():
            data = data.replace(chr(code).encode("utf-8"), f"&#{ord(char)};".encode())
        return b'<?xml version="1.1" encoding="UTF-8"?>\n' + data


def prepare(data: bytes) -> Prepared:
    if not _DECLARATION.match(data[:200]):
        return Prepared(data)
    restricted: dict[bytes, int] = {}
    for match in _RESTRICTED_REF.finditer(data):
        hexa, dec = match.group(1), match.group(2)
        code = int(hexa, 16) if hexa is not None else int(dec)
        if 0 < code < 0x20 and code not in (9, 10, 13):
            restricted[match.group(0)] = code
    if not restricted:
        return Prepared(data, xml11=True)
    text = data.decode("utf-8", "replace")
    back: dict[int, str] = {}
    code_point = 0xF0000
    for ref, code in sorted(restricted.items()):
        while chr(code_point) in text:
            code_point += 1
        back[code_point] = chr(code)
        data = data.replace(ref, chr(code_point).encode("utf-8"))
        code_point += 1
    return Prepared(data, back, xml11=True)


# -- the survey ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """One rights object that speaks of view."""

    document: str
    cls: str
    number: str
    allow: bool
    users: tuple[str, ...]
    groups: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "document": self.document,
            "class": self.cls,
            "number": self.number,
            "allow": self.allow,
            "users": list(self.users),
            "groups": list(self.groups),
        }


@dataclass
class DocInfo:
    entry: str
    reference: str
    locale: str
    problem: tuple[str, str, str] | None = None  # (code, where, message): the document is not read


@dataclass
class Survey:
    documents: list[DocInfo] = field(default_factory=list)
    spaces: set[str] = field(default_factory=set)  # space references (escaped)
    users: dict[str, tuple[bytes, dict[str, str], str]] = field(
        default_factory=dict
    )  # ref -> raw, props, where
    authors: dict[str, str] = field(default_factory=dict)  # user ref -> where first named
    rules: dict[str, list[Rule]] = field(default_factory=dict)  # space ('' = the wiki) -> rules
    page_rules: list[tuple[str, Rule]] = field(default_factory=list)  # (where, rule) on a page
    classes: Counter[str] = field(default_factory=Counter)  # objects per class
    definitions: Counter[str] = field(default_factory=Counter)  # class definitions per class
    package: etree._Element | None = None
    package_problem: tuple[str, str] | None = None
    listed: list[tuple[str, str]] = field(default_factory=list)  # (reference, locale) in package.xml
    others: list[str] = field(default_factory=list)  # entries that are no document


def space_of(reference: str) -> str:
    parts = split_reference(reference)
    return join_reference(parts[:-1]) if len(parts) > 1 else ""


def _child_text(elem: etree._Element, name: str) -> str | None:
    child = elem.find(name)
    return None if child is None else (child.text or "")


def _properties(obj: etree._Element, prep: Prepared) -> dict[str, str]:
    props: dict[str, str] = {}
    for prop in obj.findall("property"):
        for value in prop:
            if isinstance(value.tag, str):
                props[value.tag] = prep.text(value.text) or ""
    return props


def _doc_reference(root: etree._Element, prep: Prepared) -> tuple[str, str]:
    reference = prep.text(root.get("reference"))
    if not reference:
        web = prep.text(_child_text(root, "web")) or ""
        name = prep.text(_child_text(root, "name")) or ""
        reference = f"{web}.{escape_part(name)}" if web else escape_part(name)
    locale = root.get("locale")
    if locale is None:
        locale = prep.text(_child_text(root, "language")) or ""
    return reference, prep.text(locale) or ""


def _view_rule(document: str, cls: str, obj: etree._Element, prep: Prepared) -> Rule | None:
    props = _properties(obj, prep)
    if "view" not in [level.strip() for level in re.split(r"[,| ]", props.get("levels", ""))]:
        return None
    return Rule(
        document=document,
        cls=cls,
        number=prep.text(_child_text(obj, "number")) or "",
        allow=props.get("allow", "1").strip() != "0",
        users=tuple(filter(None, (user_reference(u) for u in _names(props.get("users"))))),
        groups=tuple(filter(None, (user_reference(g) for g in _names(props.get("groups"))))),
    )


def is_private(rules: list[Rule]) -> bool:
    for rule in rules:
        named = set(rule.users) | set(rule.groups)
        if not rule.allow and named & GUESTS:
            return True
        if rule.allow and "XWiki.XWikiGuest" not in named:
            return True
    return False


# -- the reader ---------------------------------------------------------------------------
class XWikiReader:
    info: ClassVar[FormatInfo] = FormatInfo(
        name="xwiki",
        platform=PLATFORM,
        description="XWiki XAR export (package.xml and xwikidoc 1.1 to 1.7), as a .xar/.zip or a folder",
        keeps=(
            "every document and translation as a page, its title, parent, syntax, hidden flag in raw",
            "nested spaces, with the visibility their rights objects give (view denied to guests, or allowed only to some)",
            "the whole history from the JRCS <versions> archive (author, date, comment, content of every version)",
            "attachments with their bytes, size checked, and their older versions where the package has them",
            "comments (XWiki.XWikiComments) with their replies",
            "users (XWiki.XWikiUsers) as persons; every other object and class in its document's raw",
        ),
        cannot_carry=(
            "password hashes and validation keys of user objects (dropped on purpose)",
            "per-page view rights (the model's visibility is per space): said in xwiki.page_rights",
            "the members of groups named by rights (groups are not resolved to their users)",
        ),
    )
    version: ClassVar[str] = "1"

    @classmethod
    def detect(cls, tree: SourceTree) -> bool:
        names = tree.names()
        if PACKAGE in tree:
            try:
                with tree.open_entry(PACKAGE) as stream:
                    if b"<package" in stream.read(SNIFF):
                        return True
            except EntryError:
                return False
        checked = 0
        for name in names:
            if not name.lower().endswith(".xml"):
                continue
            try:
                with tree.open_entry(name) as stream:
                    head = stream.read(SNIFF)
            except EntryError:
                continue
            if b"<xwikidoc" in head:
                return True
            checked += 1
            if checked >= 8:
                break
        return False

    def read(self, tree: SourceTree, out: ArchiveWriter, display: Display) -> None:
        survey = self._survey(tree, display)
        if not out.is_done("definitions"):
            self._definitions(survey, out)
            out.complete("definitions")
        readable = [d for d in survey.documents if d.problem is None]
        task = display.task("xwiki documents", total=len(readable))
        known = set(survey.users) | set(survey.authors)
        budget = _Budget(out)
        seen: set[tuple[str, str]] = set()
        for start in range(0, len(survey.documents), BLOCK):
            block = survey.documents[start : start + BLOCK]
            unit = f"documents:{start}"
            done = out.is_done(unit)
            for doc in block:
                key = (doc.reference, doc.locale)
                duplicate = doc.problem is None and key in seen
                if doc.problem is None:
                    seen.add(key)
                if done:
                    continue
                if doc.problem is not None:
                    code, where, message = doc.problem
                    raw = _entry_bytes(tree, doc.entry)
                    out.diagnose(code, where, message, dropped="document", raw=raw)
                    continue
                if duplicate:
                    out.diagnose(
                        "xwiki.duplicate_document",
                        doc.entry,
                        f"{doc.reference}{';' + doc.locale if doc.locale else ''} is defined again by"
                        f" {doc.entry}; the first one is kept, this one is in this diagnostic",
                        dropped="document",
                        raw=_entry_bytes(tree, doc.entry),
                    )
                    continue
                _Document(tree, out, doc, known, budget).read()
                task.advance()
            if not done:
                out.complete(unit)
        if not out.is_done("leftovers"):
            self._leftovers(tree, out, survey)
            out.complete("leftovers")

    # -- pass 1 ---------------------------------------------------------------------------
    def _survey(self, tree: SourceTree, display: Display) -> Survey:
        survey = Survey()
        if PACKAGE in tree:
            self._package(tree, survey)
        # passerelle's export manifest beside a XAR it wrote is no record of the wiki
        names = [n for n in tree.names() if n not in (PACKAGE, MANIFEST)]
        task = display.task("xwiki survey", total=len(names))
        for name in names:
            task.advance()
            if not name.lower().endswith(".xml"):
                survey.others.append(name)
                continue
            self._survey_document(tree, name, survey)
        return survey

    def _package(self, tree: SourceTree, survey: Survey) -> None:
        try:
            data = tree.read_bytes(PACKAGE)
            root = safe_xml.parse_bytes(prepare(data).data, PACKAGE)
        except EntryError as exc:
            survey.package_problem = (exc.code, str(exc))
            return
        except safe_xml.UnsafeXmlError as exc:
            survey.package_problem = ("xwiki.unsafe_xml", str(exc))
            return
        except safe_xml.XmlBreak as exc:
            survey.package_problem = ("xwiki.invalid_xml", str(exc))
            return
        if root.tag != "package":
            survey.package_problem = (
                "xwiki.invalid_package",
                f"{PACKAGE}: the root is <{root.tag}>, not <package>",
            )
            return
        survey.package = root
        for file in root.iterfind("files/file"):
            survey.listed.append(((file.text or "").strip(), file.get("language") or ""))

    def _survey_document(self, tree: SourceTree, name: str, survey: Survey) -> None:
        try:
            data = utf8(tree.read_bytes(name))[0]
        except EntryError as exc:
            survey.documents.append(DocInfo(name, "", "", (exc.code, name, str(exc))))
            return
        prep = prepare(data)
        try:
            events = safe_xml.iterparse(io.BytesIO(prep.data), name, events=("start", "end"))
            root: etree._Element | None = None
            depth = 0
            reference = locale = ""
            for event, elem in events:
                if event == "start":
                    depth += 1
                    if depth == 1:
                        root = elem
                        if elem.tag != "xwikidoc":
                            break
                    continue
                depth -= 1
                if depth != 1 or root is None:
                    continue
                if elem.tag == "object":
                    reference, locale = _doc_reference(root, prep)
                    self._survey_object(name, reference, elem, prep, survey)
                    safe_xml.detach(elem)
                elif elem.tag == "class":
                    survey.definitions[prep.text(_child_text(elem, "name")) or ""] += 1
                    safe_xml.detach(elem)
                elif elem.tag == "attachment":
                    author = user_reference(prep.text(_child_text(elem, "author")))
                    if author:
                        survey.authors.setdefault(author, f"{name}#attachment")
                    for revision in elem.iterfind("revisions/revision"):
                        author = user_reference(prep.text(_child_text(revision, "author")))
                        if author:
                            survey.authors.setdefault(author, f"{name}#attachment/revisions")
                    safe_xml.detach(elem)
                elif elem.tag in ("creator", "author", "contentAuthor", "originalMetadataAuthor"):
                    author = user_reference(prep.text(elem.text))
                    if author:
                        survey.authors.setdefault(author, f"{name}#{elem.tag}")
                elif elem.tag == "versions":
                    for match in re.finditer(r"\bauthor\s+([^;\s]+);", prep.text(elem.text) or ""):
                        author = user_reference(decode_author(match.group(1)))
                        if author:
                            survey.authors.setdefault(author, f"{name}#versions")
                    elem.text = None
        except safe_xml.UnsafeXmlError as exc:
            survey.documents.append(DocInfo(name, "", "", ("xwiki.unsafe_xml", name, str(exc))))
            return
        except safe_xml.XmlBreak as exc:
            where = f"{name}#{exc.line}"
            survey.documents.append(DocInfo(name, "", "", ("xwiki.invalid_xml", where, str(exc))))
            return
        if root is None or root.tag != "xwikidoc":
            survey.others.append(name)
            return
        reference, locale = _doc_reference(root, prep)
        survey.documents.append(DocInfo(name, reference, locale))
        space = space_of(reference)
        parts = split_reference(space) if space else []
        for n in range(1, len(parts) + 1):
            survey.spaces.add(join_reference(parts[:n]))

    def _survey_object(
        self, entry: str, reference: str, obj: etree._Element, prep: Prepared, survey: Survey
    ) -> None:
        cls = prep.text(_child_text(obj, "className")) or ""
        survey.classes[cls] += 1
        props = _properties(obj, prep)
        page = split_reference(reference)[-1]
        if cls == USERS_CLASS:
            _strip_secrets(obj)
            survey.users[reference] = (prep.raw(obj), props, f"{entry}#object:{cls}")
        elif cls == COMMENTS_CLASS:
            author = user_reference(props.get("author"))
            if author:
                survey.authors.setdefault(author, f"{entry}#object:{cls}")
        elif cls in (RIGHTS_CLASS, GLOBAL_RIGHTS_CLASS):
            rule = _view_rule(reference, cls, obj, prep)
            if rule is None:
                return
            for user in rule.users:
                survey.authors.setdefault(user, f"{entry}#object:{cls}")
            if cls == GLOBAL_RIGHTS_CLASS and page == "WebPreferences":
                survey.rules.setdefault(space_of(reference), []).append(rule)
            elif cls == GLOBAL_RIGHTS_CLASS and reference in ("XWiki.XWikiPreferences",):
                survey.rules.setdefault("", []).append(rule)
            elif cls == RIGHTS_CLASS and page == "WebHome" and space_of(reference):
                survey.rules.setdefault(space_of(reference), []).append(rule)
            else:
                survey.page_rules.append((f"{entry}#object:{cls}[{rule.number}]", rule))

    # -- definitions ----------------------------------------------------------------------
    def _definitions(self, survey: Survey, out: Sink) -> None:
        if survey.package_problem is not None:
            code, message = survey.package_problem
            out.diagnose(code, PACKAGE, message, dropped="entry")
        elif survey.package is not None:
            infos = survey.package.find("infos")
            raw = etree.tostring(infos if infos is not None else survey.package, encoding="utf-8")
            fields = {
                c.tag: (c.text or "").strip()
                for c in (infos if infos is not None else [])
                if isinstance(c.tag, str)
            }
            out.diagnose(
                "xwiki.package",
                PACKAGE,
                f"package {fields.get('name', '')!r} by {fields.get('author', '')!r}, version"
                f" {fields.get('version', '')!r}, backupPack {fields.get('backupPack', '')},"
                f" preserveVersion {fields.get('preserveVersion', '')}, {len(survey.listed)} documents listed",
                raw=raw,
            )
            present = {(d.reference, d.locale) for d in survey.documents if d.problem is None}
            for n, (reference, locale) in enumerate(survey.listed):
                if (reference, locale) not in present:
                    out.diagnose(
                        "xwiki.missing_document",
                        f"{PACKAGE}#files/file[{n + 1}]",
                        f"{reference}{';' + locale if locale else ''} is listed in package.xml but no"
                        " document of the package defines it",
                    )
            listed = set(survey.listed)
            for doc in survey.documents:
                if doc.problem is None and (doc.reference, doc.locale) not in listed:
                    out.diagnose(
                        "xwiki.unlisted_document",
                        doc.entry,
                        f"{doc.reference}{';' + doc.locale if doc.locale else ''} ({doc.entry}) is not"
                        " listed in package.xml; read all the same",
                    )
        workspace = ids.space_id(PLATFORM, WIKI)
        wiki_rules = survey.rules.get("", [])
        out.add(
            Space(
                id=workspace,
                platform=PLATFORM,
                native_id=WIKI,
                kind=SpaceKind.WORKSPACE,
                visibility=Visibility.PRIVATE if is_private(wiki_rules) else Visibility.PUBLIC,
                name=WIKI,
                raw=_json({"wiki": WIKI, "view_rules": [r.as_json() for r in wiki_rules]})
                if wiki_rules
                else None,
                origin=PACKAGE if survey.package is not None else None,
            )
        )
        self._persons(survey, out)
        for space in sorted(survey.spaces, key=lambda s: (len(split_reference(s)), s)):
            parts = split_reference(space)
            inherited = list(wiki_rules)
            for n in range(1, len(parts) + 1):
                inherited += survey.rules.get(join_reference(parts[:n]), [])
            own = survey.rules.get(space, [])
            private = is_private(inherited)
            sid = ids.space_id(PLATFORM, space)
            parent = join_reference(parts[:-1]) if len(parts) > 1 else None
            out.add(
                Space(
                    id=sid,
                    platform=PLATFORM,
                    native_id=space,
                    kind=SpaceKind.WIKI_SPACE,
                    visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
                    name=parts[-1],
                    parent_id=ids.space_id(PLATFORM, parent) if parent else workspace,
                    raw=_json({"space": space, "view_rules": [r.as_json() for r in own]}),
                    origin=f"{space}.WebPreferences" if own else space,
                )
            )
            if private:
                members = sorted({u for r in inherited if r.allow for u in r.users} - GUESTS)
                for user in members:
                    out.add(
                        Membership(
                            space_id=sid, person_id=ids.person_id(PLATFORM, user), origin=f"{space}#rights"
                        )
                    )
        for where, rule in survey.page_rules:
            out.diagnose(
                "xwiki.page_rights",
                where,
                f"{rule.document} has its own view rights ({'allow' if rule.allow else 'deny'}"
                f" {', '.join(rule.users + rule.groups) or 'nobody'}); the archive's visibility is per"
                " space: kept in the page's raw",
            )
        for cls, count in sorted(survey.classes.items()):
            out.diagnose(
                "xwiki.objects",
                f"objects:{cls}",
                f"{count} object(s) of class {cls}"
                + (
                    ": each a comment item"
                    if cls == COMMENTS_CLASS
                    else ": each a person, and in its document's raw (password and validkey dropped)"
                    if cls == USERS_CLASS
                    else ": kept in their documents' raw"
                ),
            )
        for cls, count in sorted(survey.definitions.items()):
            out.diagnose(
                "xwiki.class_definition",
                f"classes:{cls}",
                f"{count} document(s) define the class {cls}; kept in their raw",
            )

    def _persons(self, survey: Survey, out: Sink) -> None:
        for reference, (raw, props, where) in sorted(survey.users.items()):
            full = " ".join(
                p for p in (props.get("first_name", "").strip(), props.get("last_name", "").strip()) if p
            )
            out.add(
                Person(
                    id=ids.person_id(PLATFORM, reference),
                    platform=PLATFORM,
                    native_id=reference,
                    name=split_reference(reference)[-1],
                    display_name=full or None,
                    email=props.get("email", "").strip() or None,
                    is_deleted=props.get("active", "1").strip() == "0",
                    raw=raw,
                    origin=where,
                )
            )
        for reference, where in sorted(survey.authors.items()):
            if reference in survey.users:
                continue
            add_placeholder(out, reference, where)

    # -- leftovers ------------------------------------------------------------------------
    def _leftovers(self, tree: SourceTree, out: Sink, survey: Survey) -> None:
        for problem in tree.problems:
            out.diagnose(problem.code, problem.entry, problem.message, dropped=problem.dropped)
        for name in survey.others:
            try:
                with tree.open_entry(name) as stream:
                    sha, size = out.put_blob(stream, size=tree.size(name))
            except EntryError as exc:
                out.diagnose(exc.code, name, str(exc), dropped="entry")
                continue
            file = ids.file_id(PLATFORM, f"entry:{name}")
            out.diagnose(
                "source.unrecognised_entry",
                name,
                f"{name!r} ({size} bytes) is not an XWiki document; kept as a file attached to no page",
                entity_id=file,
            )
            out.add(
                File(
                    id=file,
                    platform=PLATFORM,
                    native_id=f"entry:{name}",
                    name=name.rpartition("/")[2],
                    size=size,
                    sha256=sha,
                    raw=_json({"path": name}),
                    origin=name,
                )
            )


def add_placeholder(out: Sink, reference: str, where: str) -> None:
    guest = reference == "XWiki.XWikiGuest"
    pid = ids.person_id(PLATFORM, reference)
    out.add(
        Person(
            id=pid,
            platform=PLATFORM,
            native_id=reference,
            name=split_reference(reference)[-1],
            is_guest=guest,
            is_placeholder=True,
            origin=where,
        )
    )
    out.diagnose(
        "xwiki.unknown_user",
        where,
        f"{reference} is named (first here) but its user document is not in the package;"
        " a placeholder person was made",
        entity_id=pid,
    )


def _strip_secrets(obj: etree._Element) -> None:
    """Drop an object's secrets from what is kept: passwords, validation keys, and any value
    that is a stored hash (``hash:SHA-512:…``, a reset request's verification)."""
    for prop in list(obj.findall("property")):
        if any(
            isinstance(c.tag, str) and (c.tag in SECRET_PROPERTIES or (c.text or "").startswith("hash:"))
            for c in prop
        ):
            obj.remove(prop)


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _entry_bytes(tree: SourceTree, name: str) -> bytes | None:
    try:
        return tree.read_bytes(name)
    except EntryError:
        return None


# XWiki syntax ids of other markups (rendered by XWiki's syntax extensions) -> passerelle's
# body format names; XWiki's own syntaxes keep their id (xwiki/2.1, xwiki/2.0, xwiki/1.0).
BODY_FORMATS = {
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


@lru_cache(maxsize=1)
def _markup() -> Any:
    """passerelle.markup (normalise, references) where it is installed, else None."""
    try:
        return importlib.import_module("passerelle.markup")
    except ModuleNotFoundError:
        return None


def body(syntax: str, source: str) -> Body:
    fmt = BODY_FORMATS.get(syntax, syntax)
    markup = _markup()
    if markup is None:
        return Body(format=fmt, source=source, normalised=source, references=())
    return Body(
        format=fmt,
        source=source,
        normalised=markup.normalise(fmt, source),
        references=tuple(markup.references(fmt, source)),
    )


# -- pass 2: one document -----------------------------------------------------------------
class _Budget:
    """Records are handed to the archive writer every ``FLUSH_BYTES`` of text, not every
    10,000 rows: rows of whole documents would otherwise fill hundreds of megabytes."""

    def __init__(self, out: Sink) -> None:
        self.flush = getattr(out, "flush", None)
        self.pending = 0

    def spend(self, n: int) -> None:
        self.pending += n
        if self.pending > FLUSH_BYTES and self.flush is not None:
            self.pending = 0
            self.flush()


@dataclass
class _Comment:
    number: str
    item: Item
    replyto: str | None
    where: str
    text: str


class _Document:
    """One document read into its page, revisions, attachments and comments."""

    def __init__(self, tree: SourceTree, out: Sink, doc: DocInfo, known: set[str], budget: _Budget) -> None:
        self.budget = budget
        self.tree = tree
        self.out = out
        self.doc = doc
        self.known = known
        self.native = f"{doc.reference};{doc.locale}" if doc.locale else doc.reference
        self.item = ids.item_id(PLATFORM, WIKI, self.native)
        space = space_of(doc.reference)
        self.space = ids.space_id(PLATFORM, space) if space else ids.space_id(PLATFORM, WIKI)
        self.fields: dict[str, str] = {}
        self.versions: str | None = None
        self.attachments = 0
        self.comments: list[_Comment] = []
        self.files: list[str] = []
        self.redirect = False  # the document holds an XWiki.RedirectClass object

    def person(self, value: str | None, where: str) -> str | None:
        reference = user_reference(value)
        if reference is None:
            return None
        if reference not in self.known:
            self.known.add(reference)
            add_placeholder(self.out, reference, where)
        return ids.person_id(PLATFORM, reference)

    def read(self) -> None:
        entry = self.doc.entry
        data, original = utf8(self.tree.read_bytes(entry))
        if original is not None:
            self.out.diagnose(
                "source.not_utf8",
                entry,
                f"{entry} is not valid UTF-8 as it declares; its invalid bytes were read as cp1252,"
                " the original kept in this diagnostic",
                raw=original,
            )
        prep = prepare(data)
        self.prep = prep
        root: etree._Element | None = None
        depth = 0
        objects = 0
        try:
            for event, elem in safe_xml.iterparse(io.BytesIO(prep.data), entry, events=("start", "end")):
                if event == "start":
                    depth += 1
                    if depth == 1:
                        root = elem
                    continue
                depth -= 1
                if depth != 1:
                    continue
                tag = elem.tag
                if tag == "attachment":
                    self.attachments += 1
                    self._attachment(elem, f"{entry}#attachment[{self.attachments}]")
                    safe_xml.detach(elem)
                elif tag == "versions":
                    self.versions = prep.text(elem.text) or ""
                    safe_xml.detach(elem)
                elif tag == "object":
                    objects += 1
                    cls = prep.text(_child_text(elem, "className")) or ""
                    if cls == COMMENTS_CLASS:
                        self._comment(elem, f"{entry}#object[{objects}]")
                        safe_xml.detach(elem)
                    else:
                        self.redirect = self.redirect or cls == REDIRECT_CLASS
                        _strip_secrets(elem)
                elif isinstance(tag, str) and len(elem) == 0:
                    self.fields[tag] = prep.text(elem.text) or ""
        except (safe_xml.XmlBreak, safe_xml.UnsafeXmlError) as exc:  # pragma: no cover - the survey read it
            self.out.diagnose("xwiki.invalid_xml", entry, str(exc), dropped="document", raw=data)
            return
        assert root is not None
        self._page(root)

    # -- the page and its history ---------------------------------------------------------
    def _page(self, root: etree._Element) -> None:
        f = self.fields
        entry = self.doc.entry
        syntax = f.get("syntaxId") or DEFAULT_SYNTAX
        content = f.get("content", "")
        creator = self.person(f.get("creator"), f"{entry}#creator")
        author = self.person(f.get("author"), f"{entry}#author")
        created = millis(f.get("creationDate"))
        date = millis(f.get("date"))
        version = f.get("version") or "1.1"
        page_body = body(syntax, content)
        # The page first (its revisions refer to it and may be handed to SQLite before the
        # history ends): what it needs of the history is in the archive's headers.
        nodes: list[Node] = []
        if self.versions is not None:
            with contextlib.suppress(JrcsError):
                nodes = headers(self.versions)
        total = len(nodes) + (0 if any(n.version == version for n in nodes) else 1)
        edited = total > 1 or version != "1.1"
        first_author, first_date = author, date
        if nodes:
            oldest = next((n for n in nodes if n.next is None), nodes[-1])
            first_date = node_date(oldest)
            first_author = self.person(decode_author(oldest.author), f"{entry}#versions/{oldest.version}")
        page_raw = self.prep.raw(root)
        self.out.add(
            Item(
                id=self.item,
                platform=PLATFORM,
                native_id=self.native,
                kind=ItemKind.PAGE,
                space_id=self.space,
                subtype="redirect" if self.redirect else None,
                author_id=creator if f.get("creator") is not None else first_author,
                created_at=created if created is not None else first_date,
                created_native=f.get("creationDate"),
                edited_at=date if edited else None,
                edited_native=f.get("date") if edited else None,
                edited_by_id=author if edited else None,
                title=self.doc.reference,
                body=page_body,
                raw=page_raw,
                origin=self.doc.entry,
            )
        )
        self.budget.spend(len(page_raw) + 2 * len(content))
        count, newest, has_current = 0, None, False
        if self.versions is not None:
            count, newest, has_current = self._history(syntax, page_body, version)
        if not has_current:
            if count:
                self.out.diagnose(
                    "xwiki.head_mismatch",
                    f"{entry}#versions",
                    f"{self.native}: the document is at version {version} but its history's newest"
                    f" version is {newest}; the current version is added as a revision",
                )
            self.out.add(
                Revision(
                    id=ids.revision_id(self.item, version),
                    item_id=self.item,
                    native_id=version,
                    author_id=author,
                    created_at=date,
                    body=page_body,
                    comment=f.get("comment") or None,
                    origin=f"{entry}#version",
                )
            )
        for position, file in enumerate(self.files):
            self.out.add(ItemFile(item_id=self.item, file_id=file, position=position))
        self._emit_comments(syntax)

    def _history(self, syntax: str, page_body: Body, current: str) -> tuple[int, str | None, bool]:
        """Every version of the JRCS archive as a revision, newest first, each handed on as it
        is read: (how many, the newest version, whether the current version was among them)."""
        entry = self.doc.entry
        text = self.versions or ""
        count, newest, has_current = 0, None, False
        try:
            for version in versions(text):
                where = f"{entry}#versions/{version.version}"
                fields, raw = self._version_fields(version.text)
                author_ref = fields.get("author") if fields is not None else version.author
                author = self.person(author_ref if author_ref is not None else version.author, where)
                when = millis(fields.get("date")) if fields is not None else None
                if when is None:
                    when = version.date
                if fields is not None:
                    rev_syntax, rev_content = fields.get("syntaxId") or syntax, fields.get("content", "")
                    same = (
                        rev_content == page_body.source
                        and BODY_FORMATS.get(rev_syntax, rev_syntax) == page_body.format
                    )
                    rev_body = page_body if same else body(rev_syntax, rev_content)
                    comment = fields.get("comment") if "comment" in fields else version.log
                else:
                    rev_body = body(syntax, version.text)
                    comment = version.log
                self.out.add(
                    Revision(
                        id=ids.revision_id(self.item, version.version),
                        item_id=self.item,
                        native_id=version.version,
                        author_id=author,
                        created_at=when,
                        body=rev_body,
                        comment=comment or None,
                        raw=raw,
                        origin=where,
                    )
                )
                count += 1
                newest = newest or version.version
                has_current = has_current or version.version == current
                self.budget.spend(len(raw) + 2 * len(rev_body.source))
        except JrcsError as exc:
            self.out.diagnose(
                "xwiki.history_unreadable",
                f"{entry}#versions",
                f"{self.native}: the history archive cannot be read past {count} version(s): {exc};"
                " the archive is kept in this diagnostic",
                dropped="history",
                raw=text.encode("utf-8"),
            )
        return count, newest, has_current

    def _version_fields(self, text: str) -> tuple[dict[str, str] | None, bytes]:
        """A version's own xwikidoc fields and its raw record; (None, JSON) when its text is no xwikidoc."""
        stripped = text.lstrip()
        if stripped.startswith("<"):
            data = text.encode("utf-8")
            prep = prepare(data)
            try:
                root = safe_xml.parse_bytes(prep.data, f"{self.doc.entry}#versions")
            except (safe_xml.XmlBreak, safe_xml.UnsafeXmlError):
                root = None
            if root is not None and root.tag == "xwikidoc":
                fields = {
                    c.tag: prep.text(c.text) or "" for c in root if isinstance(c.tag, str) and len(c) == 0
                }
                return fields, prep.raw(root)
        return None, _json({"text": text})

    # -- attachments ----------------------------------------------------------------------
    def _attachment(self, elem: etree._Element, where: str) -> None:
        prep = self.prep
        name = prep.text(_child_text(elem, "filename")) or ""
        native = f"{self.doc.reference}@{name}"
        file = self._file(elem, native, where, name)
        self.files.append(file)
        current_version = prep.text(_child_text(elem, "version"))
        revisions = elem.find("revisions")
        if revisions is not None:
            by_version: dict[str, etree._Element] = {}
            for rev in revisions.findall("revision"):
                by_version[prep.text(_child_text(rev, "version")) or ""] = rev
            for n, rev in enumerate(revisions.findall("revision")):
                version = prep.text(_child_text(rev, "version")) or str(n + 1)
                if version == current_version:
                    continue
                alias = prep.text(_child_text(rev, "contentAlias"))
                source = rev
                if rev.find("content") is None and alias:
                    source = by_version.get(alias, elem if alias == current_version else rev)
                self._file(
                    rev,
                    f"{native}@{version}",
                    f"{where}/revisions/revision[{n + 1}]",
                    name,
                    content_of=source,
                )
        jrcs = elem.find("versions")
        if jrcs is not None and jrcs.text:
            try:
                for old_version in versions(prep.text(jrcs.text) or ""):
                    if old_version.version == current_version:
                        continue
                    vwhere = f"{where}/versions/{old_version.version}"
                    try:
                        old = safe_xml.parse_bytes(old_version.text.encode("utf-8"), vwhere)
                    except (safe_xml.XmlBreak, safe_xml.UnsafeXmlError):
                        old = None
                    if old is None or old.tag != "attachment":
                        self.out.diagnose(
                            "xwiki.history_unreadable",
                            vwhere,
                            f"{native}: version {old_version.version} of the attachment is not an <attachment>",
                            dropped="file",
                            raw=old_version.text.encode("utf-8"),
                        )
                        continue
                    self._file(old, f"{native}@{old_version.version}", vwhere, name)
            except JrcsError as exc:
                self.out.diagnose(
                    "xwiki.history_unreadable",
                    f"{where}/versions",
                    f"{native}: the attachment's history archive cannot be read: {exc}; kept in this diagnostic",
                    dropped="file",
                    raw=(prep.text(jrcs.text) or "").encode("utf-8"),
                )

    def _file(
        self,
        elem: etree._Element,
        native: str,
        where: str,
        name: str,
        content_of: etree._Element | None = None,
    ) -> str:
        prep = self.prep
        fid = ids.file_id(PLATFORM, native)
        holder = content_of if content_of is not None else elem
        content = holder.find("content")
        declared_text = prep.text(_child_text(elem, "filesize"))
        declared = int(declared_text) if declared_text and declared_text.strip().isdigit() else None
        sha: str | None = None
        missing: str | None = None
        if content is None:
            missing = "not in the package (exported without attachment content)"
            self.out.diagnose(
                "xwiki.attachment_content_missing",
                where,
                f"{native}: the package holds no content for this attachment",
                entity_id=fid,
            )
        else:
            text = re.sub(r"\s+", "", content.text or "")
            try:
                data = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError) as exc:
                missing = "its content in the package is not base64"
                self.out.diagnose(
                    "xwiki.attachment_invalid",
                    where,
                    f"{native}: the attachment's content is not base64 ({exc}); kept in this diagnostic",
                    entity_id=fid,
                    raw=text.encode("ascii", "replace"),
                )
            else:
                sha, size = self.out.put_blob_bytes(data)
                del data
                if declared is not None and declared != size:
                    self.out.diagnose(
                        "xwiki.attachment_size_mismatch",
                        where,
                        f"{native}: filesize says {declared} bytes, the content holds {size}",
                        entity_id=fid,
                    )
        record = etree.Element(elem.tag)
        for child in elem:
            if isinstance(child.tag, str) and child.tag not in ("content", "versions", "revisions"):
                record.append(_copy(child))
        self.out.add(
            File(
                id=fid,
                platform=PLATFORM,
                native_id=native,
                name=name,
                media_type=prep.text(_child_text(elem, "mimetype")) or None,
                size=declared,
                sha256=sha,
                missing_reason=missing,
                author_id=self.person(prep.text(_child_text(elem, "author")), where),
                created_at=millis(prep.text(_child_text(elem, "date"))),
                raw=prep.raw(record),
                origin=where,
            )
        )
        return fid

    # -- comments -------------------------------------------------------------------------
    def _comment(self, elem: etree._Element, where: str) -> None:
        prep = self.prep
        props = _properties(elem, prep)
        number = prep.text(_child_text(elem, "number")) or str(len(self.comments))
        native = f"{self.doc.reference}^{COMMENTS_CLASS}[{number}]"
        item = Item(
            id=ids.item_id(PLATFORM, WIKI, native),
            platform=PLATFORM,
            native_id=native,
            kind=ItemKind.COMMENT,
            space_id=self.space,
            author_id=self.person(props.get("author"), where),
            created_at=comment_time(props.get("date")),
            created_native=props.get("date") or None,
            thread_root_id=self.item,
            parent_id=self.item,
            raw=prep.raw(elem),
            origin=where,
        )
        replyto = props.get("replyto", "").strip() or None
        self.comments.append(_Comment(number, item, replyto, where, props.get("comment", "")))

    def _emit_comments(self, syntax: str) -> None:
        numbers = {c.number for c in self.comments}
        for comment in self.comments:
            parent = self.item
            if comment.replyto is not None and comment.replyto not in ("-1",):
                if comment.replyto in numbers and comment.replyto != comment.number:
                    parent = ids.item_id(
                        PLATFORM, WIKI, f"{self.doc.reference}^{COMMENTS_CLASS}[{comment.replyto}]"
                    )
                else:
                    self.out.diagnose(
                        "xwiki.comment_parent_missing",
                        comment.where,
                        f"{comment.item.native_id} replies to comment {comment.replyto}, which the"
                        " document does not hold; it is kept as a comment on the page",
                        entity_id=comment.item.id,
                    )
            self.out.add(
                msgspec.structs.replace(
                    comment.item,
                    parent_id=parent,
                    body=body(syntax, comment.text),
                )
            )


def _copy(elem: etree._Element) -> etree._Element:
    copy = etree.fromstring(etree.tostring(elem), safe_xml.safe_parser())
    copy.tail = elem.tail
    return copy


_COMMENT_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?")


def comment_time(value: str | None) -> int | None:
    """A date property as XAR writes it (``2024-03-04 21:59:45.0``, the server's local time,
    read as UTC), or milliseconds; None when neither."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d{10,15}", value):
        return int(value) * 1000
    match = _COMMENT_DATE.match(value)
    if match is None:
        return None
    y, mo, d, h, mi, s = (int(match.group(i)) for i in range(1, 7))
    fraction = match.group(7) or "0"
    try:
        when = datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    except ValueError:
        return None
    return int(when.timestamp()) * 1_000_000 + int(fraction.ljust(3, "0")) * 1000
