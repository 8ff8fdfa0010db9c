"""The archive: a directory holding a store of canonical records and a blob store of file bytes.

Readers and writers see only ``Archive``; the store behind it (SQLite today) and the blob
store (a local directory today) can be swapped without touching them.
"""

from __future__ import annotations

import json
from pathlib import Path

from passerelle.archive.blobs import LocalBlobStore
from passerelle.archive.sqlite_store import SQLiteStore
from passerelle.model.entities import MODEL_VERSION

MARKER = "passerelle-archive.json"
DATABASE = "archive.sqlite"


class NotAnArchiveError(Exception):
    pass


class Archive:
    def __init__(self, root: Path, store: SQLiteStore, blobs: LocalBlobStore) -> None:
        self.root = root
        self.store = store
        self.blobs = blobs

    @classmethod
    def open(cls, root: Path, *, create: bool = False) -> Archive:
        marker = root / MARKER
        if not marker.is_file():
            if not create:
                raise NotAnArchiveError(f"{root} is not a passerelle archive (no {MARKER})")
            if root.exists() and any(root.iterdir()):
                raise NotAnArchiveError(f"{root} exists, is not empty and is not a passerelle archive")
            root.mkdir(parents=True, exist_ok=True)
            marker.write_text(
                json.dumps({"format": "passerelle-archive", "model_version": MODEL_VERSION}, indent=2) + "\n"
            )
        return cls(root, SQLiteStore(root / DATABASE), LocalBlobStore(root / "blobs"))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
