"""Content-addressed storage of file bytes.

Bytes are keyed by their SHA-256 and fanned out git-style (``sha256/ab/abcd…``). A
write goes to a temporary file beside its destination and is renamed into place, so a
crash never leaves a partial blob under a real name. ``BlobStore`` is the narrow
interface a later S3-compatible store implements; ``BlobWriter`` writes small blobs in
the background, since creating a file mostly waits on the disk.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Protocol

CHUNK = 1 << 20
_HASH = re.compile(r"[0-9a-f]{64}")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class BlobTooLargeError(Exception):
    """The stream went past the caller's byte limit; nothing was stored."""


class BlobStore(Protocol):
    def put_stream(self, stream: Readable, *, limit: int | None = None) -> tuple[str, int]:
        """Store the stream's bytes; return (sha256 hex, size)."""
        ...

    def put_hashed(self, sha256: str, data: bytes) -> None:
        """Store bytes whose SHA-256 the caller has just computed."""
        ...

    def has(self, sha256: str) -> bool: ...

    def open(self, sha256: str) -> IO[bytes]: ...


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._base = os.path.join(root, "sha256")
        self._tmp = os.path.join(root, "tmp")
        os.makedirs(self._tmp, exist_ok=True)
        self._made: set[str] = set()  # fan-out folders known to exist
        self._names = itertools.count()

    def path(self, sha256: str) -> Path:
        return Path(self._path(sha256))

    def _path(self, sha256: str) -> str:
        return os.path.join(self._base, sha256[:2], sha256)

    def has(self, sha256: str) -> bool:
        return os.path.isfile(self._path(sha256))

    def hashes(self) -> Iterator[str]:
        """Every stored blob's SHA-256, in order, one fan-out folder at a time."""
        if not os.path.isdir(self._base):
            return
        for fan in sorted(e.name for e in os.scandir(self._base) if e.is_dir(follow_symlinks=False)):
            yield from sorted(
                e.name for e in os.scandir(os.path.join(self._base, fan)) if _HASH.fullmatch(e.name)
            )

    def open(self, sha256: str) -> IO[bytes]:
        return open(self._path(sha256), "rb")

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        sha = hashlib.sha256(data).hexdigest()
        self.put_hashed(sha, data)
        return sha, len(data)

    def put_hashed(self, sha256: str, data: bytes) -> None:
        if not self.has(sha256):
            fd, tmp = self._temporary()
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            self._place(tmp, sha256)

    def put_stream(self, stream: Readable, *, limit: int | None = None) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        fd, tmp = self._temporary()
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
                self._place(tmp, sha)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return sha, size

    def _temporary(self) -> tuple[int, str]:
        while True:
            name = os.path.join(self._tmp, f"{os.getpid()}-{next(self._names)}")
            try:
                return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), name
            except FileExistsError:  # left by an earlier, interrupted run
                continue

    def _place(self, tmp: str, sha256: str) -> None:
        fan = sha256[:2]
        if fan not in self._made:
            os.makedirs(os.path.join(self._base, fan), exist_ok=True)
            self._made.add(fan)
        os.replace(tmp, self._path(sha256))


class _Prefixed:
    """Bytes already read, then the rest of the stream."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            head, self._head = (
                (self._head, b"")
                if size < 0 or size >= len(self._head)
                else (self._head[:size], self._head[size:])
            )
            return head
        return self._rest.read(size)


class BlobWriter:
    """Writes blobs through a few I/O threads; ``wait`` returns once every write is on disk.

    Small blobs are read and hashed at once (so the caller has the sha256 to record) and
    written in the background; large ones are streamed, here and now. The bytes held by
    writes not yet done are bounded.
    """

    SMALL = 8 << 20
    PENDING_BYTES = 32 << 20

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="passerelle-blob")
        self._writes: deque[tuple[Future[None], int]] = deque()
        self._pending = 0

    def put_stream(self, stream: Readable, *, size: int | None = None) -> tuple[str, int]:
        if size is not None and size <= self.SMALL:
            data = stream.read(size + 1)
            if len(data) <= size:
                return self.put_bytes(data)
            # Longer than declared: stream the whole of it, never a cut copy.
            return self.store.put_stream(_Prefixed(data, stream))
        return self.store.put_stream(stream)

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        sha = hashlib.sha256(data).hexdigest()
        while self._writes and self._pending + len(data) > self.PENDING_BYTES:
            self._wait_one()
        self._writes.append((self._pool.submit(self.store.put_hashed, sha, data), len(data)))
        self._pending += len(data)
        return sha, len(data)

    def _wait_one(self) -> None:
        future, size = self._writes.popleft()
        self._pending -= size
        future.result()

    def wait(self) -> None:
        while self._writes:
            self._wait_one()

    def close(self, *, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)
