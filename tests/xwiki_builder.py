"""Build XWiki XAR packages at test time, as XWiki writes them (formats-wiki.md §2).

``xwikidoc`` writes one document in any format version 1.1 to 1.7, with the element order
of XarDocumentModel: 1.1 has no ``reference`` attribute (``web`` and ``name`` say it), 1.2
adds it and ``locale``, 1.3+ documents are XML 1.1, 1.4+ attachments carry ``<revisions>``,
1.5+ ``originalMetadataAuthor``, 1.7 a ``type`` on object properties. Histories are JRCS
archives whose versions are all written whole (XWiki's ``full`` state: nothing of the
reader's delta code is used to make them); one hand-written archive with reverse deltas
is in ``DELTA_HISTORY``.

``feature_xar`` is a package with every case the reader must account for, and
``FEATURE_COUNTS`` what it holds, counted by hand.
"""

from __future__ import annotations

import base64
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

XML10 = "<?xml version='1.0' encoding='UTF-8'?>\n"
XML11 = "<?xml version='1.1' encoding='UTF-8'?>\n"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes | None
    author: str = "XWiki.Alice"
    date: int = 1_600_000_100_000
    version: str = "1.1"
    mimetype: str = "application/octet-stream"
    filesize: int | None = None  # None: the content's length
    revisions: Sequence[tuple[str, bytes | None, str | None]] = ()  # (version, content, alias)


@dataclass(frozen=True)
class Obj:
    cls: str
    number: int
    properties: Mapping[str, str]
    with_class: bool = False


@dataclass(frozen=True)
class Version:
    """One version of a document's history."""

    version: str
    author: str
    date: int  # milliseconds
    content: str
    comment: str = ""


@dataclass(frozen=True)
class Doc:
    reference: str  # escaped, Space.Sub.Page
    content: str = "Hello **world**."
    title: str = ""
    locale: str = ""
    parent: str = ""
    creator: str = "XWiki.Alice"
    author: str = "XWiki.Alice"
    creation: int = 1_600_000_000_000
    date: int = 1_600_000_000_000
    version: str = "1.1"
    comment: str = ""
    syntax: str | None = "xwiki/2.1"
    hidden: bool = False
    history: Sequence[Version] = ()
    raw_history: str | None = None  # a JRCS text written as is
    attachments: Sequence[Attachment] = ()
    objects: Sequence[Obj] = ()
    format: str = "1.6"
    quote: str = "'"
    xml_version: str | None = None  # None: 1.1 from format 1.3 on, else 1.0
    extra: str = ""  # appended before </xwikidoc> (a class definition…)


def _split(reference: str) -> list[str]:
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
    return [*parts, current]


def _esc(part: str) -> str:
    return part.replace("\\", "\\\\").replace(".", "\\.")


def _el(name: str, value: str | None) -> str:
    if value is None or value == "":
        return f"  <{name}/>\n"
    return f"  <{name}>{escape(value)}</{name}>\n"


def _fmt(value: str) -> tuple[int, int]:
    major, minor = value.split(".")
    return int(major), int(minor)


def rcs_date(millis: int) -> str:
    return datetime.fromtimestamp(millis // 1000, tz=UTC).strftime("%Y.%m.%d.%H.%M.%S")


def rcs_author(user: str) -> str:
    out = []
    for byte in user.encode():
        ch = chr(byte)
        out.append(ch if ch.isascii() and (ch.isalpha() or ch == "-") else f"_{byte:02X}")
    return "".join(out)


def jrcs(versions: Sequence[tuple[str, str, int, str, str]]) -> str:
    """A JRCS archive of (version, author, date ms, log, text), oldest first, every text whole."""
    newest = list(reversed(versions))
    out = [f"head\t{newest[0][0]};\naccess;\nsymbols;\nlocks; strict;\ncomment\t@# @;\n\n"]
    for n, (version, author, date, _, _) in enumerate(newest):
        nxt = newest[n + 1][0] if n + 1 < len(newest) else ""
        out.append(
            f"\n{version}\ndate\t{rcs_date(date)};\tauthor {rcs_author(author)};\tstate full;\nbranches;\nnext\t{nxt};\n"
        )
    out.append("\n\ndesc\n@@\n")
    for version, _, _, log, text in newest:
        quoted_log = log.replace("@", "@@")
        quoted = text.replace("@", "@@")
        out.append(f"\n\n{version}\nlog\n@{quoted_log}@\ntext\n@{quoted}@\n")
    return "".join(out)


def _attachment(att: Attachment, fmt: tuple[int, int]) -> str:
    size = att.filesize if att.filesize is not None else len(att.content or b"")
    lines = ["  <attachment>\n", f"    <filename>{escape(att.filename)}</filename>\n"]
    lines.append(f"    <mimetype>{escape(att.mimetype)}</mimetype>\n")
    lines.append(f"    <author>{escape(att.author)}</author>\n")
    lines.append(f"    <date>{att.date}</date>\n")
    lines.append(f"    <version>{att.version}</version>\n")
    lines.append("    <comment/>\n")
    if att.content is not None:
        lines.append(f"    <content>{base64.b64encode(att.content).decode()}</content>\n")
    lines.append(f"    <filesize>{size}</filesize>\n")
    if att.revisions and fmt >= (1, 4):
        lines.append("    <revisions>\n")
        for version, content, alias in att.revisions:
            lines.append("      <revision>\n")
            lines.append(f"        <version>{version}</version>\n")
            lines.append(f"        <author>{escape(att.author)}</author>\n")
            lines.append(f"        <date>{att.date - 1000}</date>\n")
            lines.append("        <comment/>\n")
            if content is not None:
                lines.append(f"        <filesize>{len(content)}</filesize>\n")
                lines.append(f"        <content>{base64.b64encode(content).decode()}</content>\n")
            if alias is not None:
                lines.append(f"        <contentAlias>{alias}</contentAlias>\n")
            lines.append("      </revision>\n")
        lines.append("    </revisions>\n")
    lines.append("  </attachment>\n")
    return "".join(lines)


def _object(doc: Doc, obj: Obj, fmt: tuple[int, int]) -> str:
    lines = [
        "  <object>\n",
        f"    <name>{escape(doc.reference)}</name>\n",
        f"    <number>{obj.number}</number>\n",
    ]
    lines.append(f"    <className>{escape(obj.cls)}</className>\n")
    lines.append(f"    <guid>00000000-0000-0000-0000-{obj.number:012d}</guid>\n")
    if obj.with_class:
        lines.append(
            f"    <class>\n      <name>{escape(obj.cls)}</name>\n      <customClass/>\n    </class>\n"
        )
    for key, value in obj.properties.items():
        typed = ' type="String"' if fmt >= (1, 7) else ""
        lines.append(f"    <property{typed}>\n      <{key}>{escape(value)}</{key}>\n    </property>\n")
    lines.append("  </object>\n")
    return "".join(lines)


def _body(doc: Doc, *, version: str, author: str, date: int, content: str, comment: str) -> str:
    fmt = _fmt(doc.format)
    parts = _split(doc.reference)
    web, name = ".".join(_esc(p) for p in parts[:-1]), parts[-1]
    if fmt >= (1, 2):
        head = (
            f'<xwikidoc version="{doc.format}" reference="{escape(doc.reference)}" locale="{doc.locale}">\n'
        )
    else:
        head = "<xwikidoc>\n"
    body = [head, _el("web", web), _el("name", name), _el("language", doc.locale)]
    body.append(_el("defaultLanguage", "en"))
    body.append(_el("translation", "1" if doc.locale else "0"))
    body.append(_el("creator", doc.creator))
    body.append(_el("creationDate", str(doc.creation)))
    body.append(_el("parent", doc.parent))
    body.append(_el("author", author))
    if fmt >= (1, 5):
        body.append(_el("originalMetadataAuthor", author))
    body.append(_el("contentAuthor", author))
    body.append(_el("date", str(date)))
    body.append(_el("contentUpdateDate", str(date)))
    body.append(_el("version", version))
    body.append(_el("title", doc.title))
    body.append(_el("comment", comment))
    body.append(_el("minorEdit", "false"))
    if doc.syntax is not None:
        body.append(_el("syntaxId", doc.syntax))
    body.append(_el("hidden", "true" if doc.hidden else "false"))
    body.append(_el("content", content))
    return "".join(body)


def xwikidoc(doc: Doc) -> bytes:
    fmt = _fmt(doc.format)
    xml_version = doc.xml_version or ("1.1" if fmt >= (1, 3) else "1.0")
    q = doc.quote
    declaration = f"<?xml version={q}{xml_version}{q} encoding={q}UTF-8{q}?>\n"
    text = [declaration]
    body = _body(
        doc, version=doc.version, author=doc.author, date=doc.date, content=doc.content, comment=doc.comment
    )
    text.append(body)
    if doc.raw_history is not None or doc.history:
        history = doc.raw_history
        if history is None:
            history = jrcs(
                [
                    (
                        v.version,
                        v.author,
                        v.date,
                        v.comment,
                        XML10
                        + _body(
                            doc,
                            version=v.version,
                            author=v.author,
                            date=v.date,
                            content=v.content,
                            comment=v.comment,
                        )
                        + "</xwikidoc>\n",
                    )
                    for v in doc.history
                ]
            )
        # <versions> goes after <version> in XWiki's order; after <content> is read the same.
        text.append(_el("versions", history))
    for att in doc.attachments:
        text.append(_attachment(att, fmt))
    text.append(doc.extra)
    for obj in doc.objects:
        text.append(_object(doc, obj, fmt))
    text.append("</xwikidoc>\n")
    return "".join(text).encode("utf-8")


def package_xml(docs: Sequence[Doc], *, name: str = "test", extra: Sequence[tuple[str, str]] = ()) -> bytes:
    files = "".join(
        f'    <file defaultAction="0" language="{d.locale}">{escape(d.reference)}</file>\n' for d in docs
    ) + "".join(f'    <file defaultAction="0" language="{loc}">{escape(r)}</file>\n' for r, loc in extra)
    return (
        XML10 + "<package>\n  <infos>\n"
        f"    <name>{name}</name>\n    <description/>\n    <licence/>\n    <author>XWiki.Alice</author>\n"
        "    <version>1.0</version>\n    <backupPack>true</backupPack>\n    <preserveVersion>true</preserveVersion>\n"
        f"  </infos>\n  <files>\n{files}  </files>\n</package>\n"
    ).encode()


def path_of(doc: Doc) -> str:
    parts = _split(doc.reference)
    base = "/".join(parts)
    return f"{base}.{doc.locale}.xml" if doc.locale else f"{base}.xml"


@dataclass
class Xar:
    docs: list[Doc] = field(default_factory=list)
    entries: dict[str, bytes] = field(default_factory=dict)  # extra or replaced entries
    package: bool = True
    unlisted: tuple[str, ...] = ()  # references left out of package.xml
    missing: tuple[tuple[str, str], ...] = ()  # listed, absent

    def files(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        if self.package:
            listed = [d for d in self.docs if d.reference not in self.unlisted]
            out["package.xml"] = package_xml(listed, extra=self.missing)
        for doc in self.docs:
            out[path_of(doc)] = xwikidoc(doc)
        out.update(self.entries)
        return out

    def write(self, dest: Path, *, layout: str = "zip") -> Path:
        files = self.files()
        if layout == "zip":
            with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
                for name, data in files.items():
                    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, data)
        else:
            for name, data in files.items():
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        return dest


PNG = b"\x89PNG\r\n\x1a\n a tiny picture"
PDF_V1 = b"%PDF-1.4 first draft\n%%EOF\n"
PDF_V2 = b"%PDF-1.4 second draft, longer\n%%EOF\n"
PDF_V3 = b"%PDF-1.4 final\n%%EOF\n"

# A JRCS archive with reverse deltas, as XWiki stores older versions (hand-written).
DELTA_HISTORY = (
    "head\t1.3;\naccess;\nsymbols;\nlocks; strict;\ncomment\t@# @;\n\n\n"
    "1.3\ndate\t2020.09.13.12.30.00;\tauthor XWiki_2EBob;\tstate full;\nbranches;\nnext\t1.2;\n\n"
    "1.2\ndate\t2020.09.13.12.20.00;\tauthor XWiki_2EAlice;\tstate diff;\nbranches;\nnext\t1.1;\n\n"
    "1.1\ndate\t2020.09.13.12.10.00;\tauthor XWiki_2EAlice;\tstate diff;\nbranches;\nnext\t;\n\n\n"
    "desc\n@@\n\n\n"
    '1.3\nlog\n@third @@ last@\ntext\n@<?xml version="1.0" encoding="UTF-8"?>\n<xwikidoc>\n'
    "<author>XWiki.Bob</author>\n<date>1600000200000</date>\n<version>1.3</version>\n"
    "<comment>third @@ last</comment>\n<syntaxId>xwiki/2.1</syntaxId>\n<content>line one\nline two, again\nline three</content>\n"
    "</xwikidoc>\n@\n\n\n"
    "1.2\nlog\n@second@\ntext\n@d3 1\na3 1\n<author>XWiki.Alice</author>\nd4 1\na4 1\n<date>1600000100000</date>\n"
    "d5 1\na5 1\n<version>1.2</version>\nd6 1\na6 1\n<comment>second</comment>\nd9 1\na9 1\nline two\n@\n\n\n"
    "1.1\nlog\n@first@\ntext\n@d4 1\na4 1\n<date>1600000000000</date>\nd5 1\na5 1\n<version>1.1</version>\n"
    "d6 1\na6 1\n<comment>first</comment>\nd8 3\na10 1\n<content>line one</content>\n@\n"
)


def feature_docs() -> list[Doc]:
    """Every case, one package: nested spaces, a translation, history (whole and delta),
    attachments with history, comments with replies, a private space, users, XML 1.0/1.1."""
    alice_user = Obj(
        "XWiki.XWikiUsers",
        0,
        {
            "first_name": "Alice",
            "last_name": "Liddell",
            "email": "alice@example.org",
            "password": "hash:SHA-512:secret",
            "active": "1",
        },
    )
    bob_user = Obj(
        "XWiki.XWikiUsers",
        0,
        {
            "first_name": "Bob",
            "last_name": "",
            "email": "bob@example.org",
            "password": "hash:SHA-512:bobsecret",
        },
    )
    history = [
        Version("1.1", "XWiki.Alice", 1_600_000_000_000, "= Plan =\nfirst", "created"),
        Version("1.2", "XWiki.Bob", 1_600_000_100_000, "= Plan =\nfirst\nsecond", "added a line"),
        Version("2.1", "XWiki.Alice", 1_600_000_200_000, "= Plan =\nsecond @ line", "rewrote"),
    ]
    return [
        Doc("XWiki.Alice", content="", objects=[alice_user], creator="XWiki.Alice"),
        Doc("XWiki.Bob", content="", objects=[bob_user], format="1.5"),
        Doc("Main.WebHome", content="Welcome to [[Projects>>Projects.WebHome]].", title="Home", format="1.7"),
        Doc(
            "Projects.WebHome",
            content="= Plan =\nsecond @ line",
            title="Projects",
            parent="Main.WebHome",
            version="2.1",
            date=1_600_000_200_000,
            author="XWiki.Alice",
            history=history,
            format="1.6",
        ),
        Doc("Projects.WebHome", locale="fr", content="= Plan =\nseconde", title="Projets", format="1.6"),
        Doc(
            "Projects.Alpha.WebHome",
            content="Alpha [[image:diagram.png]]",
            format="1.4",
            attachments=[
                Attachment("diagram.png", PNG, mimetype="image/png"),
                Attachment(
                    "report.pdf",
                    PDF_V3,
                    version="1.3",
                    mimetype="application/pdf",
                    revisions=[("1.1", PDF_V1, None), ("1.2", PDF_V2, None), ("1.3", None, "1.3")],
                ),
                Attachment("wrong.bin", b"12345", filesize=9),
            ],
            objects=[
                Obj(
                    "XWiki.XWikiComments",
                    0,
                    {
                        "author": "XWiki.Bob",
                        "date": "2020-09-13 12:00:00.0",
                        "comment": "Nice",
                        "replyto": "",
                    },
                ),
                Obj(
                    "XWiki.XWikiComments",
                    1,
                    {
                        "author": "XWiki.Alice",
                        "date": "2020-09-13 12:05:00.0",
                        "comment": "Thanks",
                        "replyto": "0",
                    },
                ),
                Obj(
                    "XWiki.XWikiComments",
                    2,
                    {
                        "author": "XWiki.Carol",
                        "date": "2020-09-13 12:06:00.0",
                        "comment": "Lost?",
                        "replyto": "7",
                    },
                ),
                Obj("XWiki.TagClass", 0, {"tags": "alpha|plans"}),
            ],
        ),
        Doc("Projects.Alpha\\.Beta.Page", content="A dotted space", format="1.3", quote='"'),
        Doc(
            "Old.Page",
            content="1 Old syntax",
            syntax=None,
            format="1.1",
            version="1.3",
            raw_history=DELTA_HISTORY,
        ),
        Doc("Secret.WebHome", content="hush", format="1.6"),
        Doc(
            "Secret.WebPreferences",
            content="",
            objects=[
                Obj(
                    "XWiki.XWikiGlobalRights",
                    0,
                    {"allow": "1", "groups": "", "levels": "view,edit", "users": "XWiki.Alice,XWiki.Bob"},
                ),
            ],
            format="1.6",
        ),
        Doc("Secret.Inner.WebHome", content="deeper", format="1.6"),
        Doc(
            "Main.Private",
            content="just this page",
            objects=[
                Obj(
                    "XWiki.XWikiRights",
                    0,
                    {"allow": "0", "groups": "XWiki.XWikiAllGroup", "levels": "view", "users": ""},
                )
            ],
            extra="  <class>\n    <name>Main.Private</name>\n    <customClass/>\n  </class>\n",
        ),
    ]


FEATURE_COUNTS = {
    # 12 documents, one a translation: 12 pages
    "pages": 12,
    # 3 comments
    "comments": 3,
    # workspace + XWiki, Main, Projects, Projects.Alpha, Projects.Alpha\.Beta, Old, Secret, Secret.Inner
    "spaces": 9,
    # 3 + 3 (DELTA_HISTORY) + one current version for each of the 10 other documents
    "revisions": 16,
    # diagram, report + its 2 older versions, wrong.bin
    "files": 5,
    # Alice, Bob (users); Carol (comment author, no user page): a placeholder
    "persons": 3,
    # Secret and Secret.Inner are private, each with Alice and Bob
    "memberships": 4,
}


def feature_xar() -> Xar:
    return Xar(feature_docs(), unlisted=("Main.Private",), missing=(("Gone.Page", ""),))


def write_feature(dest: Path, *, layout: str = "zip") -> Path:
    if layout == "folder":
        dest.mkdir(parents=True, exist_ok=True)
    return feature_xar().write(dest, layout=layout)
