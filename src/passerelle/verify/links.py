"""The link check: every internal link and every embedded file of the wiki pages of an
archive, resolved against the pages and files of the same wiki.

- A page's ``page`` references (``Body.references``, found by :func:`passerelle.markup.references`
  at ingest) are matched by :func:`passerelle.markup.link_keys` (relative links resolved
  against the linking page) with the keys (:func:`passerelle.markup.page_key`) of the
  wiki's pages that are not deleted. MediaWiki ``Special:`` and ``Media:`` targets are not
  pages and are not checked.
- A page's ``file`` references are matched by name (the whole target and its last part,
  ``ns:pic.png`` -> ``pic.png``, ``Space.Page@pic.png`` -> ``pic.png``) with the wiki
  platform's files; a file whose bytes are not in the archive counts as missing.
- Only the **current** body of each page is checked (a link an old revision had is not).
- A wiki is a workspace space: each page belongs to the workspace its space hangs from.

It streams: the page and file keys go into temporary SQLite tables, then the pages are read
one at a time; the report keeps the counts exactly and lists at most ``limit`` problems.
In source verification the report is informative (the source had these broken links);
the fidelity check compares an output's broken links with the archive's
(:func:`broken_links` yields them all, with keys comparable across archives).
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec

from passerelle.archive import Archive
from passerelle.markup.naming import link_keys, page_key

MAX_LISTED = 1000
_FILE_PREFIX = re.compile(
    r"^\s*:?\s*(?:file|image|media|datei|bild|fichier|archivo|imagen)\s*:", re.IGNORECASE
)
_NOT_PAGES = re.compile(r"^\s*:?\s*(?:special|media|spécial|spezial)\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class BrokenLink:
    """A link whose target is not in the wiki: ``kind`` ``page`` (no such page) or ``file``
    (no such file, or its bytes are missing: ``reason``)."""

    wiki: str  # the wiki's workspace space id
    platform: str
    page: str  # the linking page's title
    page_id: str
    kind: str
    target: str  # as the page writes it
    target_key: str  # the key it was looked for by
    reason: str = "not found"


@dataclass
class LinkReport:
    pages: int = 0  # pages whose current body was read
    page_links: int = 0
    broken_page_links: int = 0
    file_links: int = 0
    missing_files: int = 0
    broken: list[BrokenLink] = field(default_factory=list)  # at most ``limit``
    limit: int = MAX_LISTED

    def add(self, link: BrokenLink) -> None:
        if link.kind == "page":
            self.broken_page_links += 1
        else:
            self.missing_files += 1
        if len(self.broken) < self.limit:
            self.broken.append(link)

    def as_json(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "page_links": self.page_links,
            "broken_page_links": self.broken_page_links,
            "file_links": self.file_links,
            "missing_files": self.missing_files,
            "broken": [
                {"page": b.page, "kind": b.kind, "target": b.target, "reason": b.reason} for b in self.broken
            ],
        }

    def lines(self, listed: int = 20) -> list[str]:
        out = [
            f"links: {self.page_links} internal links in {self.pages} pages, {self.broken_page_links} broken;"
            f" {self.file_links} file references, {self.missing_files} missing"
        ]
        for b in self.broken[:listed]:
            what = "broken link" if b.kind == "page" else "missing file"
            out.append(
                f"{what}: {b.page!r} -> {b.target!r}" + (f" ({b.reason})" if b.reason != "not found" else "")
            )
        total = self.broken_page_links + self.missing_files
        if total > min(listed, len(self.broken)):
            out.append(
                f"... and {total - min(listed, len(self.broken))} more (verify --json lists {self.limit})"
            )
        return out


def file_key(platform: str, name: str) -> str:
    """The key a file name is matched by in a ``platform`` wiki."""
    name = unicodedata.normalize("NFC", name.strip())
    name = _FILE_PREFIX.sub("", name).strip()
    if platform == "mediawiki":
        name = re.sub(r"[\s_]+", " ", name).strip()
        return name[:1].upper() + name[1:]
    if platform == "dokuwiki":
        return page_key("dokuwiki", name.lstrip(":"))
    return name


def _file_keys(platform: str, target: str) -> list[str]:
    whole = file_key(platform, target)
    last = file_key(platform, re.split(r"[@:/]", _FILE_PREFIX.sub("", target))[-1])
    return list(dict.fromkeys(k for k in (whole, last) if k))


def _connection(archive: Archive | sqlite3.Connection) -> sqlite3.Connection:
    return archive if isinstance(archive, sqlite3.Connection) else archive.store.conn


def _prepare(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TABLE IF EXISTS temp.link_wiki")
    conn.execute("DROP TABLE IF EXISTS temp.link_pages")
    conn.execute("DROP TABLE IF EXISTS temp.link_files")
    # each space's wiki: the workspace it hangs from (itself for a workspace)
    conn.execute(
        """CREATE TEMP TABLE link_wiki AS
        WITH RECURSIVE up(space_id, at, depth) AS (
            SELECT id, id, 0 FROM spaces
            UNION ALL
            SELECT up.space_id, s.parent_id, up.depth + 1 FROM up JOIN spaces s ON s.id = up.at
            WHERE s.kind != 'workspace' AND s.parent_id IS NOT NULL AND up.depth < 64
        )
        SELECT space_id, at AS wiki, max(depth) AS depth FROM up GROUP BY space_id"""
    )
    conn.execute("CREATE INDEX temp.link_wiki_space ON link_wiki (space_id)")
    conn.execute("CREATE TEMP TABLE link_pages (wiki TEXT NOT NULL, key TEXT NOT NULL)")
    conn.execute("CREATE TEMP TABLE link_files (platform TEXT NOT NULL, key TEXT NOT NULL, present INTEGER)")
    rows = conn.execute(
        """SELECT coalesce(w.wiki, i.space_id), i.platform, i.title, i.native_id FROM items i
        LEFT JOIN temp.link_wiki w ON w.space_id = i.space_id
        WHERE i.kind = 'page' AND i.deleted = 0"""
    )
    batch: list[tuple[str, str]] = []
    for wiki, platform, title, native in rows:
        batch.append((wiki, page_key(platform, title or native)))
        if len(batch) >= 5000:
            conn.executemany("INSERT INTO temp.link_pages VALUES (?, ?)", batch)
            batch = []
    conn.executemany("INSERT INTO temp.link_pages VALUES (?, ?)", batch)
    conn.execute("CREATE INDEX temp.link_pages_key ON link_pages (wiki, key)")
    files: list[tuple[str, str, int]] = []
    for platform, native, name, sha, missing in conn.execute(
        "SELECT platform, native_id, name, sha256, missing_reason FROM files"
    ):
        present = 1 if sha is not None and missing is None else 0
        for value in {native, name}:
            if value:
                files.append((platform, file_key(platform, value), present))
        if len(files) >= 5000:
            conn.executemany("INSERT INTO temp.link_files VALUES (?, ?, ?)", files)
            files = []
    conn.executemany("INSERT INTO temp.link_files VALUES (?, ?, ?)", files)
    conn.execute("CREATE INDEX temp.link_files_key ON link_files (platform, key)")


def broken_links(
    archive: Archive | sqlite3.Connection, report: LinkReport | None = None
) -> Iterator[BrokenLink]:
    """Every broken internal link and missing file of the archive's wiki pages, page by
    page (``report``, when given, is filled with the counts as they go)."""
    conn = _connection(archive)
    _prepare(conn)
    report = report if report is not None else LinkReport()
    pages = conn.execute(
        """SELECT i.id, coalesce(w.wiki, i.space_id), i.platform, coalesce(i.title, i.native_id), i.body_refs
        FROM items i LEFT JOIN temp.link_wiki w ON w.space_id = i.space_id
        WHERE i.kind = 'page' AND i.deleted = 0 ORDER BY i.id"""
    )
    decoder = msgspec.json.Decoder()
    for item_id, wiki, platform, title, refs_json in pages:
        report.pages += 1
        if not refs_json:
            continue
        try:
            refs = decoder.decode(refs_json)
        except msgspec.DecodeError:
            continue
        for ref in refs if isinstance(refs, list) else []:
            if not isinstance(ref, dict):
                continue
            kind, target = ref.get("kind"), ref.get("target")
            if not isinstance(target, str) or not target.strip():
                continue
            if kind == "page":
                if platform == "mediawiki" and _NOT_PAGES.match(target):
                    continue
                report.page_links += 1
                keys = link_keys(platform, target, title)
                marks = ",".join("?" * len(keys))
                found = conn.execute(
                    f"SELECT 1 FROM temp.link_pages WHERE wiki = ? AND key IN ({marks}) LIMIT 1",
                    (wiki, *keys),
                ).fetchone()
                if found is None:
                    yield BrokenLink(wiki, platform, title, item_id, "page", target, keys[0])
            elif kind == "file":
                report.file_links += 1
                keys = tuple(_file_keys(platform, target))
                marks = ",".join("?" * len(keys))
                row = conn.execute(
                    f"SELECT max(present) FROM temp.link_files WHERE platform = ? AND key IN ({marks})",
                    (platform, *keys),
                ).fetchone()
                if row is None or row[0] is None:
                    yield BrokenLink(wiki, platform, title, item_id, "file", target, keys[0])
                elif row[0] == 0:
                    yield BrokenLink(wiki, platform, title, item_id, "file", target, keys[0], "bytes missing")


def check_links(archive: Archive | sqlite3.Connection, *, limit: int = MAX_LISTED) -> LinkReport:
    """The link report of the archive's wiki pages (counts exact, at most ``limit`` listed)."""
    report = LinkReport(limit=limit)
    for link in broken_links(archive, report):
        report.add(link)
    return report


def has_wiki_pages(archive: Archive | sqlite3.Connection) -> bool:
    return (
        _connection(archive).execute("SELECT 1 FROM items WHERE kind = 'page' LIMIT 1").fetchone() is not None
    )
