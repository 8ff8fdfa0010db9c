"""The sink a reader writes into: batches canonical records and commits them unit by unit.

A reader splits its work into named units (a users file, a conversation…). Each unit is
written in one transaction together with the record that it is done, so a run that is
interrupted leaves a consistent archive, and a re-run skips the finished units and
finishes the job.

The SQL runs on a writer thread, in order, while the reader goes on parsing: the sqlite3
module releases the GIL while SQLite works, so the two overlap on two cores. A reader
that reads the archive back uses ``query``, which first waits for the writes before it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import IO, Any

import msgspec

from passerelle.archive import Archive
from passerelle.archive.blobs import BlobWriter
from passerelle.diagnostics import Diagnoses
from passerelle.model.entities import (
    Diagnostic,
    File,
    Item,
    ItemFile,
    Membership,
    Person,
    Reaction,
    Revision,
    Source,
    Space,
)

# Written in this order so that foreign keys always point at rows already there.
_TABLES: dict[type[msgspec.Struct], str] = {
    Person: "persons",
    Space: "spaces",
    Membership: "memberships",
    File: "files",
    Item: "items",
    ItemFile: "item_files",
    Reaction: "reactions",
    Revision: "revisions",
    Diagnostic: "diagnostics",
}
_WITH_SOURCE_ID = {"persons", "spaces", "memberships", "files", "items", "reactions", "revisions"}


_BODY_AT: dict[type[msgspec.Struct], int] = {
    cls: cls.__struct_fields__.index("body") for cls in (Item, Revision)
}


def _row(entity: msgspec.Struct, source_id: str, with_source: bool) -> tuple[Any, ...]:
    # sqlite3 stores StrEnum members as their text, so the tuple goes in as it is,
    # but for the body, which spreads over four columns.
    row = msgspec.structs.astuple(entity)
    at = _BODY_AT.get(type(entity))
    if at is not None:
        body = row[at]
        spread: tuple[Any, ...] = (None, None, None, None)
        if body is not None:
            refs = msgspec.json.encode(body.references).decode() if body.references else None
            spread = (body.format, body.source, body.normalised, refs)
        row = row[:at] + spread + row[at + 1 :]
    return (*row, source_id) if with_source else row


def _columns_of(cls: type[msgspec.Struct], table: str) -> tuple[str, ...]:
    body = ("body_format", "body_source", "body_text", "body_refs")
    names = [n for f in cls.__struct_fields__ for n in (body if f == "body" else (f,))]
    return (*names, "source_id") if table in _WITH_SOURCE_ID else tuple(names)


# The columns a row made by ``table_row`` fills, in its order (by name, so an archive whose
# tables were migrated with ADD COLUMN still lines up).
ROW_COLUMNS: dict[str, tuple[str, ...]] = {table: _columns_of(cls, table) for cls, table in _TABLES.items()}


def table_row(entity: msgspec.Struct, source_id: str) -> tuple[str, tuple[Any, ...]]:
    """The table an entity goes to, and its row there."""
    table = _TABLES[type(entity)]
    return table, _row(entity, source_id, table in _WITH_SOURCE_ID)


class _SQLThread:
    """Runs write jobs on one thread, in order; the first failure is raised to the caller."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="passerelle-sql", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                if self._error is None:
                    job()
            except BaseException as exc:
                self._error = exc
            finally:
                self._jobs.task_done()
        self._jobs.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, job: Callable[[], None]) -> None:
        self._raise()
        self._jobs.put(job)

    def wait(self) -> None:
        self._jobs.join()
        self._raise()

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join()


class ArchiveWriter(Diagnoses):
    def __init__(
        self, archive: Archive, source: Source, *, batch_size: int = 10_000, commit_every: int = 500_000
    ) -> None:
        self.archive = archive
        self.store = archive.store
        self.source = source
        self.source_id = source.id
        self.batch_size = batch_size
        self._buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in _TABLES.values()}
        self._pending = 0
        self.commit_every = commit_every  # rows
        self._since_commit = 0  # rows written since the last unit was completed
        self._uncommitted = 0
        self.emitted: Counter[str] = Counter()
        self.diagnostics: Counter[str] = Counter()  # by severity
        self.codes: Counter[str] = Counter()
        self._write_source()
        self._done = {
            row[0]
            for row in self.store.query("SELECT unit FROM source_units WHERE source_id = ?", (source.id,))
        }
        self.store.begin()
        self._sql = _SQLThread()
        self._blobs = BlobWriter(archive.blobs)

    def _write_source(self) -> None:
        s = self.source
        self.store.conn.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " path = excluded.path, reader_version = excluded.reader_version",
            (s.id, s.platform, s.path, s.sha256, s.size, s.reader, s.reader_version, s.ingested_at, s.status),
        )

    # -- records --------------------------------------------------------------------
    def add(self, entity: msgspec.Struct) -> None:
        self.add_row(*table_row(entity, self.source.id))

    def add_row(self, table: str, row: tuple[Any, ...]) -> None:
        """Add a row made by ``table_row`` (in this process or another)."""
        self._buffers[table].append(row)
        self.emitted[table] += 1
        self._pending += 1
        self._since_commit += 1
        if self._pending >= self.batch_size:
            self.flush()

    def add_diagnostic(self, diagnostic: Diagnostic) -> None:
        self.add(diagnostic)
        self.diagnostics[diagnostic.severity] += 1
        self.codes[diagnostic.code] += 1

    def restore_source(self, source: Source, units: Sequence[str]) -> None:
        """Record a source an earlier archive ingested (a package read back keeps its sources,
        so the rows it restores still name them, and re-ingesting that source is a no-op)."""
        row = msgspec.structs.astuple(source)
        marks = [(source.id, unit) for unit in units]
        store = self.store

        def write() -> None:
            store.conn.execute("INSERT OR IGNORE INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            store.conn.executemany("INSERT OR IGNORE INTO source_units VALUES (?, ?)", marks)

        self.flush()
        self._sql.submit(write)

    def restore_superseded(self, rows: Sequence[tuple[str, str, bytes, str]]) -> None:
        """Keep records an earlier archive held as replaced by a later export, verbatim."""
        store = self.store

        def write() -> None:
            store.conn.executemany(
                "INSERT OR IGNORE INTO superseded (entity_id, source_id, raw, replaced_by) VALUES (?, ?, ?, ?)",
                rows,
            )

        self.flush()
        self._sql.submit(write)

    def put_blob(self, stream: IO[bytes], *, size: int | None = None) -> tuple[str, int]:
        """Store a stream's bytes; return (sha256, size). Small ones are written in the background."""
        return self._blobs.put_stream(stream, size=size)

    def put_blob_bytes(self, data: bytes) -> tuple[str, int]:
        return self._blobs.put_bytes(data)

    def flush(self) -> None:
        if not self._pending:
            return
        batch = [(table, rows) for table, rows in self._buffers.items() if rows]
        self._buffers = {t: [] for t in _TABLES.values()}
        self._pending = 0
        store = self.store

        def write() -> None:
            for table, rows in batch:
                store.write_rows(table, rows, ROW_COLUMNS[table])

        self._sql.submit(write)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read the archive, after every write submitted so far."""
        self.flush()
        self._sql.wait()
        return self.store.query(sql, params)

    # -- units of work ----------------------------------------------------------------
    def is_done(self, unit: str) -> bool:
        return unit in self._done

    def complete(self, unit: str) -> None:
        """Mark the unit done. Its rows and this mark are committed in one transaction, so a
        crash loses whole units only; commits are grouped, since each one costs a checkpoint.
        File bytes are on disk before the unit is marked done."""
        self._blobs.wait()
        self.flush()
        self._done.add(unit)
        self._uncommitted += self._since_commit
        self._since_commit = 0
        commit = self._uncommitted >= self.commit_every
        if commit:
            self._uncommitted = 0
        store, mark = self.store, (self.source.id, unit)

        def record() -> None:
            store.write_rows("source_units", [mark])
            if commit:
                store.commit()
                store.begin()

        self._sql.submit(record)

    def finish(self) -> None:
        self._blobs.wait()
        self._blobs.close()
        self.flush()
        self._sql.wait()
        self._sql.stop()
        self.store.conn.execute("UPDATE sources SET status = 'complete' WHERE id = ?", (self.source.id,))
        self.store.commit()

    def abort(self) -> None:
        self._blobs.close(cancel=True)
        # Already failing: the error that stopped the run is the one the caller sees.
        with contextlib.suppress(BaseException):
            self._sql.wait()
        self._sql.stop()
        self.store.rollback()
