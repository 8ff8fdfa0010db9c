"""Small wiki archives written straight through ``ArchiveWriter``, for the MediaWiki writer's
tests: one as the MediaWiki reader makes it (raw records are the dump's elements) and one
of another wiki (DokuWiki-style ids ``ns:sub:page``, no raw XML), each with several
revisions per page, several authors, an IP editor, a hidden author and files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from passerelle.archive import Archive
from passerelle.archive.writer import ArchiveWriter
from passerelle.markup import normalise, references
from passerelle.model.entities import (
    Body,
    File,
    Item,
    ItemFile,
    ItemKind,
    Membership,
    Person,
    Revision,
    Source,
    Space,
    SpaceKind,
    Visibility,
)
from passerelle.model.ids import file_id, item_id, person_id, revision_id, source_id, space_id
from tests.mediawiki_builder import sha1_base36

NS = "http://www.mediawiki.org/xml/export-0.11/"
SECOND = 1_000_000
T0 = 1_600_000_000 * SECOND


def _source(platform: str) -> Source:
    sha = hashlib.sha256(platform.encode()).hexdigest()
    return Source(
        id=source_id(platform, sha),
        platform=platform,
        path=f"{platform}.test",
        sha256=sha,
        size=1,
        reader=platform,
        reader_version="test",
        ingested_at="2026-01-01T00:00:00Z",
    )


def _mw_rev_raw(rev: int, parent: int | None, ts: str, who: str, comment: str | None, text: str) -> bytes:
    data = text.encode("utf-8")
    sha1 = sha1_base36(text)
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    parts = [f'<revision xmlns="{NS}">', f"<id>{rev}</id>"]
    if parent is not None:
        parts.append(f"<parentid>{parent}</parentid>")
    parts.append(f"<timestamp>{ts}</timestamp>{who}")
    if comment:
        parts.append(f"<comment>{comment}</comment>")
    parts.append(f"<origin>{rev}</origin><model>wikitext</model><format>text/x-wiki</format>")
    parts.append(f'<text bytes="{len(data)}" sha1="{sha1}" xml:space="preserve">{text}</text>')
    parts.append(f"<sha1>{sha1}</sha1></revision>")
    return "".join(parts).encode("utf-8")


def build_mediawiki_archive(path: Path, *, png: bytes = b"\x89PNG\r\n\x1a\n fake image") -> Path:
    """A MediaWiki archive: wiki ``testwiki``, two pages in the main namespace (one with three
    revisions by a user, an IP and a hidden contributor), a File: page with its upload."""
    platform = "mediawiki"
    archive = Archive.open(path, create=True)
    writer = ArchiveWriter(archive, _source(platform))
    try:
        wiki = Space(
            id=space_id(platform, "testwiki"),
            platform=platform,
            native_id="testwiki",
            kind=SpaceKind.WORKSPACE,
            visibility=Visibility.PUBLIC,
            name="testwiki",  # as the MediaWiki reader names a wiki: its dbname, the sitename beside
            display_name="Test Wiki",
        )
        writer.add(wiki)
        spaces = {}
        for key, name in ((0, "(main)"), (6, "File")):
            spaces[key] = Space(
                id=space_id(platform, f"ns:{key}"),
                platform=platform,
                native_id=f"ns:{key}",
                kind=SpaceKind.WIKI_SPACE,
                visibility=Visibility.PUBLIC,
                name=name,
                parent_id=wiki.id,
                raw=f'<namespace xmlns="{NS}" key="{key}" case="first-letter">{"" if key == 0 else name}</namespace>'.encode(),
            )
            writer.add(spaces[key])
        alice = Person(id=person_id(platform, "1"), platform=platform, native_id="1", name="Alice")
        bob = Person(id=person_id(platform, "2"), platform=platform, native_id="2", name="Bob")
        guest = Person(
            id=person_id(platform, "ip:10.0.0.7"),
            platform=platform,
            native_id="ip:10.0.0.7",
            name="10.0.0.7",
            is_guest=True,
        )
        for p in (alice, bob, guest):
            writer.add(p)
        alice_xml = "<contributor><username>Alice</username><id>1</id></contributor>"
        bob_xml = "<contributor><username>Bob</username><id>2</id></contributor>"
        ip_xml = "<contributor><ip>10.0.0.7</ip></contributor>"
        hidden_xml = '<contributor deleted="deleted" />'
        pages: list[tuple[str, int, int, list[tuple[int, Person | None, str, str | None, str]]]] = [
            (
                "Alpha",
                0,
                101,
                [
                    (1001, alice, alice_xml, "first", "Alpha is [[Beta]]."),
                    (1002, guest, ip_xml, None, "Alpha is [[Beta]], said an IP."),
                    (1003, None, hidden_xml, "hidden", "Alpha, by someone hidden. [[File:Red dot.png]]"),
                ],
            ),
            ("Beta", 0, 102, [(1004, bob, bob_xml, "beta", "Beta. Ünïcödé & <b>tags</b>")]),
            ("File:Red dot.png", 6, 103, [(1005, alice, alice_xml, "upload", "A red dot.")]),
        ]
        for title, ns, page, revisions in pages:
            iid = item_id(platform, "testwiki", str(page))
            times = []
            parent = None
            for k, (rev, who, who_xml, comment, text) in enumerate(revisions):
                at = T0 + (page * 100 + k) * 3600 * SECOND
                ts = _timestamp(at)
                times.append((at, who))
                raw = _mw_rev_raw(rev, parent, ts, who_xml, comment, text)
                writer.add(
                    Revision(
                        id=revision_id(iid, str(rev)),
                        item_id=iid,
                        native_id=str(rev),
                        author_id=who.id if who else None,
                        created_at=at,
                        body=_body("mediawiki", text),
                        comment=comment,
                        raw=raw,
                    )
                )
                parent = rev
            last_text = revisions[-1][4]
            page_raw = (
                f'<page xmlns="{NS}"><title>{title}</title><ns>{ns}</ns><id>{page}</id></page>'.encode()
            )
            writer.add(
                Item(
                    id=iid,
                    platform=platform,
                    native_id=str(page),
                    kind=ItemKind.PAGE,
                    space_id=spaces[ns].id,
                    author_id=times[0][1].id if times[0][1] else None,
                    created_at=times[0][0],
                    edited_at=times[-1][0] if len(times) > 1 else None,
                    edited_by_id=(times[-1][1].id if times[-1][1] else None) if len(times) > 1 else None,
                    title=title,
                    body=_body("mediawiki", last_text),
                    raw=page_raw,
                )
            )
        sha256, size = writer.put_blob_bytes(png)
        upload_raw = (
            f'<upload xmlns="{NS}"><timestamp>{_timestamp(T0)}</timestamp>{alice_xml}<comment>upload</comment>'
            f"<filename>Red_dot.png</filename><src>http://wiki.example/images/7/78/Red_dot.png</src>"
            f"<size>{len(png)}</size><sha1base36>{_sha1_bytes(png)}</sha1base36><rel>7/78/Red_dot.png</rel></upload>"
        ).encode()
        fid = file_id(platform, "Red_dot.png")
        writer.add(
            File(
                id=fid,
                platform=platform,
                native_id="Red_dot.png",
                name="Red_dot.png",  # the upload's <filename>, as dumps write it
                size=size,
                sha256=sha256,
                author_id=alice.id,
                created_at=T0,
                raw=upload_raw,
            )
        )
        writer.add(ItemFile(item_id=item_id(platform, "testwiki", "103"), file_id=fid, position=0))
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        archive.close()
    return path


def build_other_wiki_archive(path: Path) -> Path:
    """A DokuWiki-style archive: pages ``start`` and ``wiki:syntax`` (two revisions each, one
    author with a name MediaWiki refuses), a deleted page, an attachment, a loose file, a
    chat-like message that is not a page, and a membership."""
    platform = "dokuwiki"
    archive = Archive.open(path, create=True)
    writer = ArchiveWriter(archive, _source(platform))
    try:
        wiki = Space(
            id=space_id(platform, "dokuwiki"),
            platform=platform,
            native_id="dokuwiki",
            kind=SpaceKind.WORKSPACE,
            visibility=Visibility.PUBLIC,
            name="dokuwiki",
        )
        root = Space(
            id=space_id(platform, ""),
            platform=platform,
            native_id="",
            kind=SpaceKind.WIKI_SPACE,
            visibility=Visibility.PUBLIC,
            name="(root)",
            parent_id=wiki.id,
        )
        sub = Space(
            id=space_id(platform, "wiki"),
            platform=platform,
            native_id="wiki",
            kind=SpaceKind.WIKI_SPACE,
            visibility=Visibility.PUBLIC,
            name="wiki",
            parent_id=root.id,
        )
        for s in (wiki, root, sub):
            writer.add(s)
        admin = Person(
            id=person_id(platform, "admin"),
            platform=platform,
            native_id="admin",
            name="admin@example",
            real_name="Ada Admin",
            email="ada@example.org",
        )
        carl = Person(id=person_id(platform, "carl"), platform=platform, native_id="carl", name="carl")
        idle = Person(id=person_id(platform, "idle"), platform=platform, native_id="idle", name="idle")
        for p in (admin, carl, idle):
            writer.add(p)
        writer.add(Membership(space_id=sub.id, person_id=carl.id))
        pages: list[tuple[str, Space, list[tuple[Person, str]]]] = [
            (
                "start",
                root,
                [
                    (admin, "====== Start ======\nSee [[wiki:syntax]]."),
                    (carl, "====== Start ======\nSee [[wiki:syntax|the syntax]]."),
                ],
            ),
            (
                "wiki:syntax",
                sub,
                [(carl, "**bold** text"), (admin, "**bold** and //italic// {{wiki:dot.png}}")],
            ),
            ("wiki:gone", sub, [(carl, "soon gone"), (carl, "")]),
        ]
        for n, (pid, space, revisions) in enumerate(pages):
            iid = item_id(platform, "dokuwiki", pid)
            times = []
            for k, (who, text) in enumerate(revisions):
                at = T0 + (n * 10 + k) * 60 * SECOND + 123_456  # sub-second parts: cut by MediaWiki
                times.append((at, who))
                writer.add(
                    Revision(
                        id=revision_id(iid, str(at // SECOND)),
                        item_id=iid,
                        native_id=str(at // SECOND),
                        author_id=who.id,
                        created_at=at,
                        body=_body("dokuwiki", text),
                        comment=f"edit {k}",
                    )
                )
            writer.add(
                Item(
                    id=iid,
                    platform=platform,
                    native_id=pid,
                    kind=ItemKind.PAGE,
                    space_id=space.id,
                    author_id=times[0][1].id,
                    created_at=times[0][0],
                    edited_at=times[-1][0],
                    edited_by_id=times[-1][1].id,
                    deleted=pid == "wiki:gone",
                    deleted_at=times[-1][0] if pid == "wiki:gone" else None,
                    title=pid,
                    body=_body("dokuwiki", revisions[-1][1]),
                )
            )
        dot_sha, dot_size = writer.put_blob_bytes(b"GIF89a dot")
        dot = File(
            id=file_id(platform, "wiki:dot.png"),
            platform=platform,
            native_id="wiki:dot.png",
            name="dot.png",
            size=dot_size,
            sha256=dot_sha,
            author_id=admin.id,
            created_at=T0,
        )
        loose_sha, loose_size = writer.put_blob_bytes(b"%PDF-1.4 loose")
        loose = File(
            id=file_id(platform, "manual.pdf"),
            platform=platform,
            native_id="manual.pdf",
            name="manual.pdf",
            size=loose_size,
            sha256=loose_sha,
            created_at=T0,
        )
        writer.add(dot)
        writer.add(loose)
        writer.add(ItemFile(item_id=item_id(platform, "dokuwiki", "wiki:syntax"), file_id=dot.id, position=0))
        writer.add(
            Item(
                id=item_id(platform, "dokuwiki", "msg1"),
                platform=platform,
                native_id="msg1",
                kind=ItemKind.MESSAGE,
                space_id=sub.id,
                author_id=carl.id,
                created_at=T0,
                body=_body("text", "a message"),
            )
        )
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        archive.close()
    return path


def _timestamp(micros: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(micros // SECOND, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha1_bytes(data: bytes) -> str:
    return sha1_base36(data)


def _body(fmt: str, text: str) -> Body:
    """A body as the readers make it: the markup, its normalised form and its references."""
    return Body(format=fmt, source=text, normalised=normalise(fmt, text), references=references(fmt, text))


def build_titles_archive(
    path: Path,
    titles: list[str],
    *,
    platform: str = "xwiki",
    authors: tuple[str, ...] = ("Ada",),
    bodies: dict[str, tuple[str, str]] | None = None,
) -> Path:
    """An archive of one-revision pages with the given titles (as the platform writes them),
    by the given authors in turn, with the given bodies (title -> (format, text)) or Markdown."""
    archive = Archive.open(path, create=True)
    writer = ArchiveWriter(archive, _source(platform))
    try:
        wiki = Space(
            id=space_id(platform, "wiki"),
            platform=platform,
            native_id="wiki",
            kind=SpaceKind.WORKSPACE,
            visibility=Visibility.PUBLIC,
            name="wiki",
        )
        writer.add(wiki)
        persons = [
            Person(id=person_id(platform, f"XWiki.{n}"), platform=platform, native_id=f"XWiki.{n}", name=name)
            for n, name in enumerate(authors)
        ]
        for person in persons:
            writer.add(person)
        for n, title in enumerate(titles):
            author = persons[n % len(persons)]
            iid = item_id(platform, "wiki", title)
            at = T0 + n * SECOND
            fmt, text = (bodies or {}).get(title, ("markdown", f"Page {n}: {title}"))
            writer.add(
                Revision(
                    id=revision_id(iid, "1.1"),
                    item_id=iid,
                    native_id="1.1",
                    author_id=author.id,
                    created_at=at,
                    body=_body(fmt, text),
                )
            )
            writer.add(
                Item(
                    id=iid,
                    platform=platform,
                    native_id=title,
                    kind=ItemKind.PAGE,
                    space_id=wiki.id,
                    author_id=author.id,
                    created_at=at,
                    title=title,
                    body=_body(fmt, text),
                )
            )
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        archive.close()
    return path
