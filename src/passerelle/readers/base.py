"""What every reader provides. A reader knows the source format and the model, never a writer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from passerelle.archive.writer import ArchiveWriter
from passerelle.progress import Display
from passerelle.readers.source_tree import SourceTree


@dataclass(frozen=True)
class FormatInfo:
    name: str
    platform: str
    description: str
    keeps: tuple[str, ...]
    cannot_carry: tuple[str, ...]


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
