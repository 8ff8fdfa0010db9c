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
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from passerelle.readers.zip_directory import ZipDirectoryError, ZipEntry, ZipReader, iter_entries

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


_TREE_ERRORS: tuple[type[BaseException], ...] = (ZipDirectoryError, *_ZIP_ERRORS)


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
    return ".." in name and ".." in name.split("/")


def _looks_like_zip(path: Path) -> bool:
    """A zip, or what is meant to be one (a truncated zip still says so by its name or first bytes)."""
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(2) == b"PK"
    except OSError:
        return True  # let the zip branch say why it cannot be read


def _shown_zip_name(raw_name: str, flag_bits: int) -> str:
    # Slack writes UTF-8 names without setting the UTF-8 flag; zipfile then decodes cp437.
    if flag_bits & 0x800:
        return raw_name
    try:
        return raw_name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw_name


class _Index:
    """The entries, by name: sorted names with their sizes and, for a zip, where each entry
    lies, in parallel arrays. About 120 bytes an entry, where zipfile's own directory takes
    about 600, and no object per entry: the memory of an export of millions of files."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.sizes = array("q")
        # zip only, parallel to names
        self.flags = array("H")
        self.methods = array("H")
        self.crcs = array("L")
        self.packed = array("q")
        self.offsets = array("q")
        self.raw_names: dict[int, str] = {}  # position -> zipfile's reading, where it differs

    def find(self, name: str) -> int:
        at = bisect_left(self.names, name)
        return at if at < len(self.names) and self.names[at] == name else -1

    def zip_entry(self, at: int) -> ZipEntry:
        return ZipEntry(
            self.raw_names.get(at, self.names[at]), self.flags[at], self.methods[at], self.crcs[at],
            self.packed[at], self.sizes[at], self.offsets[at],
        )  # fmt: skip

    def append(self, name: str, size: int, entry: ZipEntry | None = None) -> None:
        if entry is not None:
            if entry.raw_name != name:
                self.raw_names[len(self.names)] = entry.raw_name
            self.flags.append(entry.flag_bits)
            self.methods.append(entry.compress_type)
            self.crcs.append(entry.crc)
            self.packed.append(entry.compress_size)
            self.offsets.append(entry.header_offset)
        self.names.append(name)
        self.sizes.append(size)

    def sorted(self, *, zip_entries: bool, keep: Callable[[str, int, int], bool] | None = None) -> _Index:
        """The same entries sorted by name (for names given twice, the last; ``keep`` is told
        of each earlier one and of each entry, and may drop any)."""
        # A stable sort on the name alone: entries named alike stay in the zip's order,
        # and no key object is made per entry.
        order = sorted(range(len(self.names)), key=self.names.__getitem__)
        result = _Index()
        for n, i in enumerate(order):
            later = order[n + 1] if n + 1 < len(order) else -1
            shadowed = later >= 0 and self.names[later] == self.names[i]
            if keep is not None and not keep(self.names[i], i, later if shadowed else -1):
                continue
            if shadowed:
                continue
            result.append(self.names[i], self.sizes[i], self.zip_entry(i) if zip_entries else None)
        return result

    def subset(self, names: Iterable[str], *, zip_entries: bool) -> _Index:
        result = _Index()
        for name in sorted(set(names)):
            at = self.find(name)
            if at >= 0:
                result.append(name, self.sizes[at], self.zip_entry(at) if zip_entries else None)
        return result


class SourceTree:
    """An export's entries, read defensively; picklable (as a whole or a ``subset``), so a
    worker process can read the entries it is given without listing the export again."""

    def __init__(self, path: Path, limits: Limits | None = None) -> None:
        self.path = path
        self.limits = limits or Limits()
        self.problems: list[Problem] = []
        self._kind = "folder"  # or "zip", or "single": one regular file that is not a zip
        self._index = _Index()
        # Folder entries whose name is not UTF-8: the name shown -> the name on disk.
        self._real: dict[str, str] = {}
        self._zip: ZipReader | None = None  # opened when first read

    @classmethod
    def open(cls, path: Path, limits: Limits | None = None) -> SourceTree:
        tree = cls(path, limits)
        if path.is_dir():
            tree._scan_dir()
        elif path.is_file() and not _looks_like_zip(path):
            # A single file that is not a zip (a gzip or JSON Lines recording, a JSON
            # array…): a tree of one entry, named by the file's name.
            tree._kind = "single"
            tree._index.append(path.name, path.stat().st_size)
        elif path.is_file():
            tree._kind = "zip"
            try:
                tree._scan_zip()
            except _TREE_ERRORS as exc:
                raise BadSourceError(f"{path}: not a readable zip file ({exc})") from None
        else:
            raise BadSourceError(f"{path}: no such file or folder")
        return tree

    def subset(self, names: Iterable[str]) -> SourceTree:
        """A tree of these entries only (for a worker: its problems are the whole tree's)."""
        tree = SourceTree(self.path, self.limits)
        tree._kind = self._kind
        tree._index = self._index.subset(names, zip_entries=self._kind == "zip")
        tree._real = {n: r for n, r in self._real.items() if tree._index.find(n) >= 0}
        return tree

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_zip": None}

    @property
    def is_zip(self) -> bool:
        return self._kind == "zip"

    def _scan_zip(self) -> None:
        listed = _Index()
        with self.path.open("rb") as handle:
            for entry in iter_entries(handle, os.fstat(handle.fileno()).st_size):
                if entry.is_dir:
                    continue
                name = _shown_zip_name(entry.raw_name, entry.flag_bits)
                if is_unsafe(name):
                    self.problems.append(
                        Problem(
                            "source.unsafe_path", name, f"zip entry {name!r} escapes the export; not read"
                        )
                    )
                    continue
                size, packed = entry.file_size, max(entry.compress_size, 1)
                if size > self.limits.max_entry_bytes or (
                    size > self.limits.ratio_floor and size / packed > self.limits.max_ratio
                ):
                    self.problems.append(
                        Problem(
                            "source.too_large",
                            name,
                            f"zip entry {name!r} expands to {size} bytes from {entry.compress_size}; not read",
                        )
                    )
                    continue
                listed.append(name, size, entry)

        def keep(name: str, at: int, shadowed_by: int) -> bool:
            if shadowed_by >= 0:
                # zipfile (and unzip) would let the later entry shadow the earlier one: say so.
                self.problems.append(
                    Problem(
                        "source.unreadable_entry",
                        name,
                        f"zip holds two entries named {name!r}; the earlier one"
                        f" ({listed.sizes[at]} bytes at offset {listed.offsets[at]}) is shadowed; not read",
                    )
                )
            return True

        self._index = listed.sorted(zip_entries=True, keep=keep)

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
                self._index.append(name, st.st_size)
        self._index = self._index.sorted(zip_entries=False)

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
    def names(self) -> Sequence[str]:
        """Every entry's name, sorted (the index's own list: do not change it)."""
        return self._index.names

    def __contains__(self, name: str) -> bool:
        return self._index.find(name) >= 0

    def size(self, name: str) -> int:
        at = self._index.find(name)
        if at < 0:
            raise KeyError(name)
        return self._index.sizes[at]

    # -- reading ----------------------------------------------------------------------
    def _open(self, name: str) -> IO[bytes]:
        at = self._index.find(name)
        if at < 0:
            raise EntryError("source.unreadable_entry", name, f"{name!r} is not in the export")
        if self._kind == "zip":
            if self._zip is None:
                self._zip = ZipReader(self.path)
            return self._zip.open_entry(self._index.zip_entry(at))
        if self._kind == "single":
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
        at = self._index.find(name)
        size = self._index.sizes[at] if at >= 0 else 0
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

    def mtime(self, name: str) -> tuple[int, bool] | None:
        """The entry's modification time in whole seconds since the epoch, and whether it is
        exact: a folder's file (its mtime), a zip entry with an extended timestamp (Info-ZIP
        ``UT``) or NTFS time field in its local header; else the zip's DOS time (2-second
        steps, local time of the zipping machine, read as UTC): not exact. None when unknown."""
        at = self._index.find(name)
        if at < 0:
            return None
        try:
            if self._kind == "zip":
                return _zip_mtime(self.path, self._index.offsets[at])
            path = self.path if self._kind == "single" else self.path / self._real.get(name, name)
            return int(path.stat().st_mtime), True
        except (OSError, struct.error, ValueError, OverflowError):
            return None

    def fingerprint(self) -> tuple[str, int]:
        """SHA-256 and size of the source: the zip's (or single file's) bytes, or a digest of a folder's files."""
        digest = hashlib.sha256()
        if self._kind != "folder":
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

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None


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


_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # 30 bytes + name + extra


def _zip_mtime(path: Path, offset: int) -> tuple[int, bool] | None:
    """An entry's mtime from its local header (APPNOTE 4.3.7; extra fields 0x5455, 0x000a)."""
    with path.open("rb") as handle:
        handle.seek(offset)
        header = handle.read(_LOCAL_HEADER.size)
        sig, _, _, _, dos_time, dos_date, _, _, _, name_len, extra_len = _LOCAL_HEADER.unpack(header)
        if sig != b"PK\x03\x04":
            return None
        handle.seek(offset + _LOCAL_HEADER.size + name_len)
        extra = handle.read(extra_len)
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<2H", extra, at)
        field = extra[at + 4 : at + 4 + length]
        if kind == 0x5455 and len(field) >= 5 and field[0] & 1:
            return struct.unpack_from("<l", field, 1)[0], True
        if kind == 0x000A and len(field) >= 32:  # NTFS: reserved, then tag 1 of 24 bytes
            tag, size = struct.unpack_from("<2H", field, 4)
            if tag == 1 and size >= 24:
                ticks = struct.unpack_from("<Q", field, 8)[0]
                return ticks // 10_000_000 - 11_644_473_600, True
        at += 4 + length
    year, month, day = 1980 + (dos_date >> 9), (dos_date >> 5) & 0xF, dos_date & 0x1F
    hour, minute, second = dos_time >> 11, (dos_time >> 5) & 0x3F, (dos_time & 0x1F) * 2
    stamp = datetime(year, max(month, 1), max(day, 1), hour, minute, min(second, 59), tzinfo=UTC)
    return int(stamp.timestamp()), False


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
