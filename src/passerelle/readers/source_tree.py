"""Uniform, defensive access to an export, whether a zip file or a folder.

Input is hostile: entries whose path escapes the export, entries that expand far beyond
their compressed size, truncated archives and symbolic links out of the folder are
refused with a clear reason (``problems``) while every other entry stays readable.
Nothing is ever extracted to disk: readers stream entries straight from the zip.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import lzma
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

CHUNK = 1 << 20


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("cp1252", "replace"), error.end


codecs.register_error("passerelle.cp1252", _cp1252_fallback)


def repair_utf8(data: bytes) -> bytes | None:
    """None when data is valid UTF-8; else the data re-encoded as UTF-8, each invalid byte
    read as cp1252 (what such files almost always are), the valid text left as it was."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "passerelle.cp1252").encode("utf-8")
    return None


# What reading a hostile zip can raise besides OSError: a truncated or corrupt central
# directory (BadZipFile, EOFError, struct.error), names flagged UTF-8 that are not
# (UnicodeDecodeError, a ValueError), versions or methods zipfile does not support
# (NotImplementedError), encrypted entries (RuntimeError), corrupt compressed data
# (zlib.error, lzma.LZMAError; bz2 raises OSError).
_ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    zlib.error,
    lzma.LZMAError,
)


@dataclass(frozen=True)
class Limits:
    """Safety limits against zip bombs. Defaults leave room for real exports."""

    max_entry_bytes: int = 64 << 30  # no single entry larger than 64 GiB
    max_ratio: int = 200  # uncompressed / compressed, for entries over ratio_floor
    ratio_floor: int = 64 << 20
    max_json_bytes: int = 2 << 30  # JSON documents are parsed in memory, one at a time


@dataclass(frozen=True)
class Problem:
    code: str  # a diagnostics code: source.unsafe_path, source.too_large…
    entry: str
    message: str
    dropped: str | None = "entry"  # None: the entry is still read (a name that is not UTF-8)


class BadSourceError(Exception):
    """The source as a whole cannot be read (not a zip or folder, truncated central directory…)."""


class EntryError(Exception):
    def __init__(self, code: str, entry: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.entry = entry


def is_unsafe(name: str) -> bool:
    if not name or name.startswith(("/", "\\")) or "\\" in name or ":" in name.split("/", 1)[0]:
        return True
    return any(part == ".." for part in PurePosixPath(name).parts)


def _looks_like_zip(path: Path) -> bool:
    """A zip, or what is meant to be one (a truncated zip still says so by its name or first bytes)."""
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(2) == b"PK"
    except OSError:
        return True  # let the zip branch say why it cannot be read


def _zip_name(info: zipfile.ZipInfo) -> str:
    # Slack writes UTF-8 names without setting the UTF-8 flag; zipfile then decodes cp437.
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


@dataclass
class SourceTree:
    path: Path
    limits: Limits = field(default_factory=Limits)
    problems: list[Problem] = field(default_factory=list)
    _zip: zipfile.ZipFile | None = None
    _zip_infos: dict[str, zipfile.ZipInfo] = field(default_factory=dict)
    _files: dict[str, int] = field(default_factory=dict)  # name -> size
    # Folder entries whose name is not UTF-8: the name shown -> the name on disk.
    _real: dict[str, str] = field(default_factory=dict)
    _single: bool = False  # the source is one regular file that is not a zip: its only entry

    @classmethod
    def open(cls, path: Path, limits: Limits | None = None) -> SourceTree:
        tree = cls(path=path, limits=limits or Limits())
        if path.is_dir():
            tree._scan_dir()
        elif path.is_file() and not _looks_like_zip(path):
            # A single file that is not a zip (a gzip or JSON Lines recording, a JSON
            # array…): a tree of one entry, named by the file's name.
            tree._single = True
            tree._files[path.name] = path.stat().st_size
        elif path.is_file():
            try:
                tree._zip = zipfile.ZipFile(path)
            except _ZIP_ERRORS as exc:
                raise BadSourceError(f"{path}: not a readable zip file ({exc})") from None
            tree._scan_zip()
        else:
            raise BadSourceError(f"{path}: no such file or folder")
        return tree

    @property
    def is_zip(self) -> bool:
        return self._zip is not None

    def _scan_zip(self) -> None:
        assert self._zip is not None
        for info in self._zip.infolist():
            name = _zip_name(info)
            if info.is_dir():
                continue
            if is_unsafe(name):
                self.problems.append(
                    Problem("source.unsafe_path", name, f"zip entry {name!r} escapes the export; not read")
                )
                continue
            if name in self._zip_infos:
                # zipfile (and unzip) would let the later entry shadow the earlier one: say so.
                earlier = self._zip_infos.pop(name)
                del self._files[name]
                self.problems.append(
                    Problem(
                        "source.unreadable_entry",
                        name,
                        f"zip holds two entries named {name!r}; the earlier one"
                        f" ({earlier.file_size} bytes at offset {earlier.header_offset}) is shadowed; not read",
                    )
                )
            size, packed = info.file_size, max(info.compress_size, 1)
            if size > self.limits.max_entry_bytes or (
                size > self.limits.ratio_floor and size / packed > self.limits.max_ratio
            ):
                self.problems.append(
                    Problem(
                        "source.too_large",
                        name,
                        f"zip entry {name!r} expands to {size} bytes from {info.compress_size}; not read",
                    )
                )
                continue
            self._zip_infos[name] = info
            self._files[name] = size

    def _scan_dir(self) -> None:
        root = self.path.resolve()

        def unlisted(exc: OSError) -> None:  # os.walk would skip the folder without a word
            where = Path(str(exc.filename or root))
            name = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
            shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            self.problems.append(
                Problem("source.unreadable_entry", shown, f"folder {shown!r} could not be listed: {exc}")
            )

        for dirpath, dirnames, filenames in os.walk(root, onerror=unlisted, followlinks=False):
            dirnames.sort()
            for fname in sorted(
                filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            ):
                full = Path(dirpath) / fname
                real = full.relative_to(root).as_posix()
                name = self._shown_name(real)
                if name is None:
                    continue
                try:
                    st = full.lstat()
                    if stat.S_ISLNK(st.st_mode):
                        target = full.resolve(strict=True)
                        if not target.is_relative_to(root) or not target.is_file():
                            raise ValueError("link out of the export")
                        st = target.stat()
                except (OSError, RuntimeError, ValueError):  # RuntimeError: a symlink loop
                    self.problems.append(
                        Problem(
                            "source.unsafe_path",
                            name,
                            f"{name!r} is a link out of the export (or dangling, or a loop); not read",
                        )
                    )
                    continue
                if not stat.S_ISREG(st.st_mode):
                    # A FIFO, socket or device: opening it could block or never end.
                    self.problems.append(
                        Problem("source.unreadable_entry", name, f"{name!r} is not a regular file; not read")
                    )
                    continue
                self._files[name] = st.st_size

    def _shown_name(self, real: str) -> str | None:
        """The name a folder entry is known by: itself, or for a name that is not UTF-8, its cp1252 reading."""
        try:
            real.encode("utf-8")
        except UnicodeEncodeError:  # os.walk hands undecodable bytes over as lone surrogates
            raw = real.encode("utf-8", "surrogateescape")
            name = raw.decode("cp1252", "backslashreplace")
            if name in self._real or (self.path / name).exists():
                self.problems.append(
                    Problem(
                        "source.unreadable_entry", name, f"{raw!r}: name is not UTF-8 and clashes; not read"
                    )
                )
                return None
            self._real[name] = real
            self.problems.append(
                Problem(
                    "source.not_utf8",
                    name,
                    f"file name {raw!r} is not UTF-8; read as cp1252: {name!r}",
                    dropped=None,
                )
            )
            return name
        return real

    # -- listing ----------------------------------------------------------------------
    def names(self) -> list[str]:
        return sorted(self._files)

    def __contains__(self, name: str) -> bool:
        return name in self._files

    def size(self, name: str) -> int:
        return self._files[name]

    # -- reading ----------------------------------------------------------------------
    def _open(self, name: str) -> IO[bytes]:
        if name not in self._files:
            raise EntryError("source.unreadable_entry", name, f"{name!r} is not in the export")
        if self._zip is not None:
            return self._zip.open(self._zip_infos[name])
        if self._single:
            return self.path.open("rb", buffering=0)
        return (self.path / self._real.get(name, name)).open("rb", buffering=0)

    def open_entry(self, name: str) -> IO[bytes]:
        """A stream of the entry's bytes; any failure, now or while reading, is an ``EntryError``."""
        try:
            raw = self._open(name)
        except _ZIP_ERRORS as exc:
            raise _unreadable(name, exc) from None
        return io.BufferedReader(_GuardedStream(name, raw), buffer_size=CHUNK)

    def read_bytes(self, name: str, limit: int | None = None) -> bytes:
        limit = self.limits.max_json_bytes if limit is None else limit
        size = self._files.get(name, 0)
        if size > limit:
            raise EntryError("source.too_large", name, f"{name!r} is larger than {limit} bytes; not read")
        try:
            with self._open(name) as handle:
                # One allocation of the listed size; a file that grew since is read on, to the limit.
                data = _read_up_to(handle, size + 1)
                if len(data) > size:
                    data += _read_up_to(handle, limit + 1 - len(data))
        except _ZIP_ERRORS as exc:
            raise _unreadable(name, exc) from None
        if len(data) > limit:
            raise EntryError("source.too_large", name, f"{name!r} is larger than {limit} bytes; not read")
        return data

    def fingerprint(self) -> tuple[str, int]:
        """SHA-256 and size of the source: the zip's (or single file's) bytes, or a digest of a folder's files."""
        digest = hashlib.sha256()
        if self._zip is not None or self._single:
            size = 0
            with self.path.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
            return digest.hexdigest(), size
        total = 0
        for name in self.names():
            entry = hashlib.sha256()
            with self.open_entry(name) as handle:
                while chunk := handle.read(CHUNK):
                    entry.update(chunk)
                    total += len(chunk)
            # The name as the file system holds it, so a name that is not UTF-8 counts as its bytes.
            digest.update(
                self._real.get(name, name).encode("utf-8", "surrogateescape") + b"\0" + entry.digest()
            )
        return digest.hexdigest(), total

    def iter_dirs(self) -> Iterator[str]:
        seen: set[str] = set()
        for name in self.names():
            parent = name.rpartition("/")[0]
            if parent not in seen:
                seen.add(parent)
                yield parent

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


class _GuardedStream(io.RawIOBase):
    """An entry's stream whose read errors (corrupt deflate data, bad CRC…) become ``EntryError``."""

    def __init__(self, name: str, raw: IO[bytes]) -> None:
        super().__init__()
        self._name = name
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._raw.read(len(view))
        except _ZIP_ERRORS as exc:
            raise _unreadable(self._name, exc) from None
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def _read_up_to(handle: IO[bytes], n: int) -> bytes:
    """n bytes, or all that is left: an unbuffered read may return less (Linux: under 2 GiB a call)."""
    data = handle.read(n)
    if len(data) >= n or not data:
        return data
    parts = [data]
    got = len(data)
    while got < n and (chunk := handle.read(n - got)):
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _unreadable(name: str, exc: BaseException) -> EntryError:
    return EntryError("source.unreadable_entry", name, f"{name!r} could not be read: {exc}")
