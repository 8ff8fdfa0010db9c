"""The package's payload, written from the archive: Activity Streams collections, file
bytes, JSON Lines of what is not Activity Streams, the contexts, the schema.

Everything streams from SQL in a fixed order (by id, or by time then id within a space),
so the same archive gives the same payload, byte for byte, and memory holds one page.
"""

from __future__ import annotations

import posixpath
import sqlite3
from collections import Counter
from collections.abc import Iterator
from typing import Any, Protocol

import msgspec

from passerelle.activitystreams import mapping
from passerelle.activitystreams.vocabulary import CONTEXT_FILES, context_bytes, context_urls
from passerelle.archive import Archive
from passerelle.model.entities import MODEL_VERSION
from passerelle.model.schema import json_schema_text
from passerelle.package import layout
from passerelle.package.collections import CollectionWriter, document, encode
from passerelle.progress import Display

_JSON = msgspec.json.Encoder()


class Payload(Protocol):
    def add_bytes(self, path: str, data: bytes) -> None: ...

    def add_file(self, path: str, source: Any) -> tuple[str, int]: ...

    def open(self, path: str) -> Any: ...


class ArchiveIntegrityError(Exception):
    """The archive does not hold what its own records say (a blob missing or changed)."""


def _rows(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> Iterator[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


def _relative(target: str, folder: str) -> str:
    return posixpath.relpath(target, folder)


# A space's items, and what hangs on them, in three cursors sorted alike and merged as
# they go (SQLite's JSON functions would cut text at a NUL, which archive text may hold).
_ITEMS_SQL = "SELECT * FROM items WHERE space_id = ? ORDER BY created_at, id"
_REACTIONS_SQL = (
    "SELECT r.item_id, r.person_id, r.emoji, r.created_at, r.source_id FROM reactions r"
    " JOIN items i ON i.id = r.item_id WHERE i.space_id = ? ORDER BY i.created_at, i.id, r.person_id, r.emoji"
)
_ATTACHMENTS_SQL = (
    "SELECT a.item_id, a.file_id, a.position, f.media_type, f.sha256 FROM item_files a"
    " JOIN items i ON i.id = a.item_id JOIN files f ON f.id = a.file_id WHERE i.space_id = ?"
    " ORDER BY i.created_at, i.id, a.position, a.file_id"
)


class _Hanging:
    """Rows of a cursor sorted like the items, taken item by item."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._rows = iter(cursor)
        self._next: tuple[Any, ...] | None = next(self._rows, None)

    def of(self, item_id: str) -> list[tuple[Any, ...]]:
        taken = []
        while self._next is not None and self._next[0] == item_id:
            taken.append(self._next[1:])
            self._next = next(self._rows, None)
        return taken


class PayloadWriter:
    def __init__(self, archive: Archive, bag: Payload, display: Display) -> None:
        self.archive = archive
        self.conn = archive.store.conn
        self.bag = bag
        self.display = display
        self.counts: Counter[str] = Counter()

    def write(self) -> Counter[str]:
        self._contexts()
        self._persons()
        spaces = self._spaces()
        self._memberships()
        self._files()
        task = self.display.task("pack items", total=self._count("items"))
        for space_id in spaces:
            self._items(space_id, task)
            self._history(space_id)
        self._index()
        self._blobs()
        self._jsonl(layout.DIAGNOSTICS, "SELECT * FROM diagnostics ORDER BY id", mapping.diagnostic_record)
        self._sources()
        self._jsonl(
            layout.SUPERSEDED,
            "SELECT * FROM superseded ORDER BY entity_id, source_id, raw",
            mapping.superseded_record,
        )
        self.bag.add_bytes(layout.SCHEMA, json_schema_text().encode("utf-8"))
        return self.counts

    def _count(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    # -- Activity Streams --------------------------------------------------------------
    def _contexts(self) -> None:
        for url, name in CONTEXT_FILES.items():
            self.bag.add_bytes(f"{layout.CONTEXTS}/{name}", context_bytes(url))
        folder = posixpath.relpath(layout.CONTEXTS, layout.AS2)
        urls = {url: f"{folder}/{name}" for url, name in sorted(context_urls().items())}
        self.bag.add_bytes(layout.CONTEXT_MAP, _JSON.encode(urls) + b"\n")

    def _persons(self) -> None:
        persons = CollectionWriter(self.bag, layout.PERSONS, name="persons")
        for row in _rows(self.conn, "SELECT * FROM persons ORDER BY id"):
            persons.add(mapping.person_object(row))
        persons.close()
        self.counts["persons"] = persons.total

    def _spaces(self) -> list[str]:
        spaces = CollectionWriter(self.bag, layout.SPACES, name="spaces")
        ids = []
        for row in _rows(self.conn, "SELECT * FROM spaces ORDER BY id"):
            streams = [
                f"{_relative(layout.space_items(row['id']), layout.SPACES)}/{layout.COLLECTION}",
                f"{_relative(layout.space_history(row['id']), layout.SPACES)}/{layout.COLLECTION}",
            ]
            spaces.add(mapping.space_object(row, streams))
            ids.append(row["id"])
        spaces.close()
        self.counts["spaces"] = spaces.total
        return ids

    def _memberships(self) -> None:
        memberships = CollectionWriter(self.bag, layout.MEMBERSHIPS, name="memberships")
        for row in _rows(self.conn, "SELECT * FROM memberships ORDER BY space_id, person_id"):
            memberships.add(mapping.membership_object(row))
        memberships.close()
        self.counts["memberships"] = memberships.total

    def _files(self) -> None:
        files = CollectionWriter(self.bag, layout.FILES_COLLECTION, name="files")
        for row in _rows(self.conn, "SELECT * FROM files ORDER BY id"):
            url = (
                _relative(layout.file_path(row["sha256"]), layout.FILES_COLLECTION) if row["sha256"] else None
            )
            files.add(mapping.file_object(row, url))
        files.close()
        self.counts["files"] = files.total

    def _items(self, space_id: str, task: Any) -> None:
        folder = layout.space_items(space_id)
        items = CollectionWriter(self.bag, folder, name=f"items of {space_id}")
        reactions = _Hanging(self.conn.execute(_REACTIONS_SQL, (space_id,)))
        attachments = _Hanging(self.conn.execute(_ATTACHMENTS_SQL, (space_id,)))
        for row in _rows(self.conn, _ITEMS_SQL, (space_id,)):
            reacted = reactions.of(row["id"])
            attached = [
                (
                    file_id,
                    position,
                    mapping.file_type(media_type),
                    _relative(layout.file_path(sha), folder) if sha else None,
                )
                for file_id, position, media_type, sha in attachments.of(row["id"])
            ]
            items.add(mapping.item_object(row, reacted, attached))
            self.counts["reactions"] += len(reacted)
            self.counts["item_files"] += len(attached)
        items.close()
        self.counts["items"] += items.total
        task.advance(items.total)

    def _history(self, space_id: str) -> None:
        history = CollectionWriter(self.bag, layout.space_history(space_id), name=f"history of {space_id}")
        for row in _rows(
            self.conn,
            "SELECT r.* FROM revisions r JOIN items i ON i.id = r.item_id WHERE i.space_id = ?"
            " ORDER BY r.item_id, r.created_at, r.id",
            (space_id,),
        ):
            history.add(mapping.revision_object(row))
        history.close()
        self.counts["revisions"] += history.total

    def _index(self) -> None:
        folders = (layout.PERSONS, layout.SPACES, layout.MEMBERSHIPS, layout.FILES_COLLECTION)
        fields = {
            "id": posixpath.basename(layout.INDEX),
            "type": "Collection",
            "name": "passerelle archive",
            "totalItems": len(folders),
            "items": [f"{_relative(f, layout.AS2)}/{layout.COLLECTION}" for f in folders],
        }
        self.bag.add_bytes(layout.INDEX, encode(document(fields)))

    # -- the rest ------------------------------------------------------------------------
    def _blobs(self) -> None:
        """Every blob of the archive once, named by SHA-256 and checked as it is copied: the
        bytes of files, and the bytes readers kept uninterpreted (named by a diagnostic)."""
        blobs = self.archive.blobs
        task = self.display.task("pack files")
        for sha in blobs.hashes():
            copied, size = self.bag.add_file(layout.file_path(sha), blobs.path(sha))
            if copied != sha:
                raise ArchiveIntegrityError(
                    f"the archive's bytes at {blobs.path(sha)} have changed (sha256 {copied})"
                )
            self.counts["file_contents"] += 1
            self.counts["file_bytes"] += size
            task.advance()
        for (sha,) in self.conn.execute("SELECT DISTINCT sha256 FROM files WHERE sha256 IS NOT NULL"):
            if not blobs.has(sha):
                raise ArchiveIntegrityError(
                    f"the archive's bytes for file content {sha} are missing ({blobs.path(sha)})"
                )

    def _jsonl(self, path: str, sql: str, record: Any) -> None:
        count = 0
        with self.bag.open(path) as out:
            for row in _rows(self.conn, sql):
                out.write(_JSON.encode(record(row)) + b"\n")
                count += 1
        self.counts[posixpath.basename(path).removesuffix(".jsonl")] = count

    def _sources(self) -> None:
        with self.bag.open(layout.SOURCES) as out:
            for row in _rows(self.conn, "SELECT * FROM sources ORDER BY ingested_at, id"):
                units = [
                    u
                    for (u,) in self.conn.execute(
                        "SELECT unit FROM source_units WHERE source_id = ? ORDER BY unit", (row["id"],)
                    )
                ]
                out.write(_JSON.encode(mapping.source_record(row, units)) + b"\n")
                self.counts["sources"] += 1


def description(counts: Counter[str], generator: str) -> bytes:
    """``data/passerelle-package.json``: what a reader checks before anything else."""
    fields = {
        "format": layout.PACKAGE_FORMAT,
        "package_version": layout.PACKAGE_VERSION,
        "model_version": MODEL_VERSION,
        "generator": generator,
        "contexts": posixpath.relpath(layout.CONTEXT_MAP, layout.DATA),
        "index": posixpath.relpath(layout.INDEX, layout.DATA),
        "counts": dict(sorted(counts.items())),
    }
    return _JSON.encode(fields) + b"\n"
