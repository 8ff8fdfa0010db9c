"""Content-addressed storage of file bytes.

Bytes are keyed by their SHA-256 and fanned out git-style (``sha256/ab/cd/abcd…``). A
write goes to a temporary file beside its destination and is renamed into place, so a
crash never leaves a partial blob under a real name. ``BlobStore`` is the narrow
interface a later S3-compatible store implements.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, Protocol

CHUNK = 1 << 20


class BlobTooLargeError(Exception):
    """The stream went past the caller's byte limit; nothing was stored."""


class BlobStore(Protocol):
    def put_stream(self, stream: IO[bytes], *, limit: int | None = None) -> tuple[str, int]:
        """Store the stream's bytes; return (sha256 hex, size)."""
        ...

    def put_bytes(self, data: bytes) -> tuple[str, int]: ...

    def has(self, sha256: str) -> bool: ...

    def open(self, sha256: str) -> IO[bytes]: ...


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> IO[bytes]:
        return self.path(sha256).open("rb")

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        sha = hashlib.sha256(data).hexdigest()
        if not self.has(sha):
            fd, tmp = tempfile.mkstemp(dir=self._tmp)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            self._place(Path(tmp), sha)
        return sha, len(data)

    def put_stream(self, stream: IO[bytes], *, limit: int | None = None) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise BlobTooLargeError(f"more than {limit} bytes")
                    digest.update(chunk)
                    out.write(chunk)
            sha = digest.hexdigest()
            if self.has(sha):
                os.unlink(tmp)
            else:
                self._place(Path(tmp), sha)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return sha, size

    def _place(self, tmp: Path, sha: str) -> None:
        dest = self.path(sha)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
