"""A sink that records a reader's output for one chunk of work, to be replayed later in order.

A reader may parse independent chunks of a source (conversations, pages…) in worker
processes: each worker writes into a ``Recording`` (rows already in their table's shape,
diagnostics, file bytes straight into the blob store) and the main process replays the
recordings in a fixed order into the ``ArchiveWriter``. Decisions that depend on what
came before in the whole source (the first use of an undefined user, a file shared by
several conversations) are recorded as ``marks`` and taken during the ordered replay, so
the archive is the same whether the chunks were parsed in one process or many.
"""

from __future__ import annotations

from typing import IO, Any

import msgspec

from passerelle.archive.blobs import BlobWriter
from passerelle.archive.writer import table_row
from passerelle.diagnostics import Diagnoses
from passerelle.model.entities import Diagnostic

Event = tuple[Any, ...]


class Recording(Diagnoses):
    def __init__(self, source_id: str, blobs: BlobWriter) -> None:
        self.source_id = source_id
        self.blobs = blobs  # the caller waits on it before handing the events over
        self.events: list[Event] = []

    def add(self, entity: msgspec.Struct) -> None:
        table, row = table_row(entity, self.source_id)
        self.events.append(("row", table, row))

    def add_diagnostic(self, diagnostic: Diagnostic) -> None:
        self.events.append(("diagnostic", diagnostic))

    def mark(self, *event: Any) -> None:
        """A reader's own event, interpreted by the reader when it replays."""
        self.events.append(event)

    def put_blob(self, stream: IO[bytes], *, size: int | None = None) -> tuple[str, int]:
        return self.blobs.put_stream(stream, size=size)

    def put_blob_bytes(self, data: bytes) -> tuple[str, int]:
        return self.blobs.put_bytes(data)
