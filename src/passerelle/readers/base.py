"""What every reader provides. A reader knows the source format and the model, never a writer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, ClassVar, Protocol

import msgspec

from passerelle.archive.writer import ArchiveWriter
from passerelle.model.entities import Diagnostic
from passerelle.progress import Display
from passerelle.readers.source_tree import SourceTree


@dataclass(frozen=True)
class FormatInfo:
    name: str
    platform: str
    description: str
    keeps: tuple[str, ...]
    cannot_carry: tuple[str, ...]


class Sink(Protocol):
    """Where a reader puts what it makes: the archive writer, or a recording replayed into it."""

    def add(self, entity: msgspec.Struct) -> None: ...

    def diagnose(
        self,
        code: str,
        where: str,
        message: str,
        *,
        dropped: str | None = None,
        entity_id: str | None = None,
        raw: bytes | None = None,
    ) -> Diagnostic: ...

    def put_blob(self, stream: IO[bytes], *, size: int | None = None) -> tuple[str, int]: ...

    def put_blob_bytes(self, data: bytes) -> tuple[str, int]: ...


class Reader(Protocol):
    info: ClassVar[FormatInfo]
    version: ClassVar[str]

    @classmethod
    def detect(cls, tree: SourceTree) -> bool:
        """True when the tree looks like this reader's format."""
        ...

    def read(self, tree: SourceTree, out: ArchiveWriter, display: Display) -> None:
        """Turn every record of the tree into canonical records or diagnostics, unit by unit."""
        ...
