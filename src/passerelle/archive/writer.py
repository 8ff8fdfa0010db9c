"""The sink a reader writes into: batches canonical records and commits them unit by unit.

A reader splits its work into named units (a users file, a conversation…). Each unit is
written in one transaction together with the record that it is done, so a run that is
interrupted leaves a consistent archive, and a re-run skips the finished units and
finishes the job.
"""

from __future__ import annotations

from collections import Counter
from typing import IO, Any

import msgspec

from passerelle.archive import Archive
from passerelle.diagnostics import make_diagnostic
from passerelle.model.entities import (
    Body,
    Diagnostic,
    File,
    Item,
    ItemFile,
    Membership,
    Person,
    Reaction,
    Reference,
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
    Reference: "refs",
    Reaction: "reactions",
    Revision: "revisions",
    Diagnostic: "diagnostics",
}
_WITH_SOURCE_ID = {"persons", "spaces", "memberships", "files", "items", "reactions", "revisions"}


def _row(entity: msgspec.Struct, source_id: str, with_source: bool) -> tuple[Any, ...]:
    row: list[Any] = []
    for value in msgspec.structs.astuple(entity):
        if isinstance(value, Body):
            row += (value.format, value.source, value.normalised)
        elif type(value) is not str and isinstance(value, str):
            row.append(str(value))  # StrEnum members are stored as their plain value
        else:
            row.append(value)
    if with_source:
        row.append(source_id)
    return tuple(row)


class ArchiveWriter:
    def __init__(self, archive: Archive, source: Source, *, batch_size: int = 20_000) -> None:
        self.archive = archive
        self.store = archive.store
        self.source = source
        self.batch_size = batch_size
        self._buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in _TABLES.values()}
        self._pending = 0
        self.emitted: Counter[str] = Counter()
        self.diagnostics: Counter[str] = Counter()  # by severity
        self.codes: Counter[str] = Counter()
        self._write_source()
        self._done = {
            row[0]
            for row in self.store.query("SELECT unit FROM source_units WHERE source_id = ?", (source.id,))
        }
        self.store.begin()

    def _write_source(self) -> None:
        s = self.source
        self.store.conn.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " path = excluded.path, reader_version = excluded.reader_version",
            (s.id, s.platform, s.path, s.sha256, s.size, s.reader, s.reader_version, s.ingested_at, s.status),
        )

    # -- records --------------------------------------------------------------------
    def add(self, entity: msgspec.Struct) -> None:
        table = _TABLES[type(entity)]
        self._buffers[table].append(_row(entity, self.source.id, table in _WITH_SOURCE_ID))
        self.emitted[table] += 1
        self._pending += 1
        if self._pending >= self.batch_size:
            self.flush()

    def diagnose(
        self,
        code: str,
        where: str,
        message: str,
        *,
        dropped: str | None = None,
        entity_id: str | None = None,
        raw: bytes | None = None,
    ) -> Diagnostic:
        diagnostic = make_diagnostic(
            self.source.id, code, where, message, dropped=dropped, entity_id=entity_id, raw=raw
        )
        self.add(diagnostic)
        self.diagnostics[diagnostic.severity] += 1
        self.codes[code] += 1
        return diagnostic

    def put_blob(self, stream: IO[bytes], *, limit: int | None = None) -> tuple[str, int]:
        return self.archive.blobs.put_stream(stream, limit=limit)

    def put_blob_bytes(self, data: bytes) -> tuple[str, int]:
        return self.archive.blobs.put_bytes(data)

    def flush(self) -> None:
        for table, rows in self._buffers.items():
            if rows:
                self.store.write_rows(table, rows)
                rows.clear()
        self._pending = 0

    # -- units of work ----------------------------------------------------------------
    def is_done(self, unit: str) -> bool:
        return unit in self._done

    def complete(self, unit: str) -> None:
        """Write everything buffered and mark the unit done, atomically."""
        self.flush()
        self.store.write_rows("source_units", [(self.source.id, unit)])
        self.store.commit()
        self._done.add(unit)
        self.store.begin()

    def finish(self) -> None:
        self.flush()
        self.store.conn.execute("UPDATE sources SET status = 'complete' WHERE id = ?", (self.source.id,))
        self.store.commit()

    def abort(self) -> None:
        self.store.rollback()
