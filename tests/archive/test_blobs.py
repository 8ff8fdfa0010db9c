"""The blob store: content addressing, atomic placement, and never a cut copy."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from passerelle.archive.blobs import BlobWriter, LocalBlobStore


def test_same_bytes_stored_once_under_their_sha256(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    sha, size = store.put_bytes(b"hello")
    assert (sha, size) == (hashlib.sha256(b"hello").hexdigest(), 5)
    assert store.put_stream(io.BytesIO(b"hello")) == (sha, 5)
    assert store.path(sha).read_bytes() == b"hello"
    assert [p.name for p in (tmp_path / "sha256").rglob("*") if p.is_file()] == [sha]
    assert not list((tmp_path / "tmp").iterdir())


@pytest.mark.parametrize("declared", [3, 5, 11, None])
def test_writer_stores_the_whole_stream_whatever_size_was_declared(
    tmp_path: Path, declared: int | None
) -> None:
    writer = BlobWriter(LocalBlobStore(tmp_path))
    data = b"0123456789"
    sha, size = writer.put_stream(io.BytesIO(data), size=declared)
    writer.wait()
    writer.close()
    assert (sha, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert LocalBlobStore(tmp_path).path(sha).read_bytes() == data
