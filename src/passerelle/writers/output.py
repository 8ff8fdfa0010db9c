"""Where an export's files go: a zip, a folder, or nowhere (``--dry-run``).

A zip or a folder is written under a temporary name beside its destination and renamed
at the end, so an interrupted export never leaves a half-written output under the name
an importer would take.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from passerelle.archive.blobs import LocalBlobStore
from passerelle.errors import BadInputError

_COPY_CHUNK = 1 << 20


def _safe(name: str) -> str:
    # Writers build member names from archive values (file names, channel names): never
    # let one climb out of the output.
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"unsafe output name {name!r}")
    return str(path)


class _Counting:
    """A sink that only counts bytes (for dry runs)."""

    def __init__(self, output: NullOutput) -> None:
        self._output = output

    def write(self, data: bytes) -> int:
        self._output.bytes_written += len(data)
        return len(data)

    def close(self) -> None:
        pass

    def __enter__(self) -> _Counting:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class NullOutput:
    """Writes nothing; counts what would have been written."""

    def __init__(self, blobs: LocalBlobStore) -> None:
        self.blobs = blobs
        self.bytes_written = 0
        self.names: set[str] = set()

    def open(self, name: str) -> IO[bytes]:
        self.names.add(_safe(name))
        return _Counting(self)  # type: ignore[return-value]

    def write_bytes(self, name: str, data: bytes) -> None:
        self.names.add(_safe(name))
        self.bytes_written += len(data)

    def write_blob(self, name: str, sha256: str) -> bool:
        self.names.add(_safe(name))
        return self.blobs.path(sha256).is_file()

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


class ZipOutput:
    # Level 1: several times faster than the default for JSON, and within a few percent of its size.
    COMPRESS_LEVEL = 1

    def __init__(self, path: Path, blobs: LocalBlobStore | None = None) -> None:
        self.path = path
        self.blobs = blobs  # where write_blob takes bytes from (none: a zip of other files)
        self._partial = path.with_name(path.name + ".partial")
        self._zip = zipfile.ZipFile(
            self._partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=self.COMPRESS_LEVEL
        )
        self.names: set[str] = set()

    def _info(self, name: str) -> zipfile.ZipInfo:
        name = _safe(name)
        if name in self.names:
            raise ValueError(f"{name} written twice")
        self.names.add(name)
        # A fixed date: the same archive gives the same zip, byte for byte.
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = self.COMPRESS_LEVEL  # type: ignore[attr-defined]
        info.external_attr = 0o644 << 16
        return info

    def open(self, name: str) -> IO[bytes]:
        return self._zip.open(self._info(name), "w", force_zip64=True)

    def write_bytes(self, name: str, data: bytes) -> None:
        self._zip.writestr(self._info(name), data)

    def write_blob(self, name: str, sha256: str) -> bool:
        if self.blobs is None:
            raise ValueError("this zip takes no blobs")
        source = self.blobs.path(sha256)
        if not source.is_file():
            return False
        with source.open("rb") as src, self.open(name) as dst:
            shutil.copyfileobj(src, dst, _COPY_CHUNK)
        return True

    def finish(self) -> None:
        self._zip.close()
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        self._zip.close()
        self._partial.unlink(missing_ok=True)


class FolderOutput:
    def __init__(self, path: Path, blobs: LocalBlobStore) -> None:
        if path.exists():
            raise BadInputError(f"{path} already exists; passerelle does not overwrite an export")
        self.path = path
        self.blobs = blobs
        self._partial = path.with_name(path.name + ".partial")
        shutil.rmtree(self._partial, ignore_errors=True)
        self._partial.mkdir(parents=True)
        self.names: set[str] = set()

    def _target(self, name: str) -> Path:
        name = _safe(name)
        if name in self.names:
            raise ValueError(f"{name} written twice")
        self.names.add(name)
        target = self._partial / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def open(self, name: str) -> IO[bytes]:
        return self._target(name).open("wb")

    def write_bytes(self, name: str, data: bytes) -> None:
        self._target(name).write_bytes(data)

    def write_blob(self, name: str, sha256: str) -> bool:
        source = self.blobs.path(sha256)
        if not source.is_file():
            return False
        shutil.copyfile(source, self._target(name))
        return True

    def finish(self) -> None:
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        shutil.rmtree(self._partial, ignore_errors=True)
