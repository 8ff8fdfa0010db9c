"""Uniform, defensive access to an export, whether a zip file or a folder.

Input is hostile: entries whose path escapes the export, entries that expand far beyond
their compressed size, truncated archives and symbolic links out of the folder are
refused with a clear reason (``problems``) while every other entry stays readable.
Nothing is ever extracted to disk: readers stream entries straight from the zip.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

CHUNK = 1 << 20


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

    @classmethod
    def open(cls, path: Path, limits: Limits | None = None) -> SourceTree:
        tree = cls(path=path, limits=limits or Limits())
        if path.is_dir():
            tree._scan_dir()
        elif path.is_file():
            try:
                tree._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
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
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames.sort()
            for fname in sorted(
                filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            ):
                full = Path(dirpath) / fname
                name = full.relative_to(root).as_posix()
                st = full.lstat()
                if stat.S_ISLNK(st.st_mode):
                    target = full.resolve()
                    if not target.is_relative_to(root) or not target.is_file():
                        self.problems.append(
                            Problem(
                                "source.unsafe_path", name, f"{name!r} is a link out of the export; not read"
                            )
                        )
                        continue
                    st = target.stat()
                if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                    self._files[name] = st.st_size

    # -- listing ----------------------------------------------------------------------
    def names(self) -> list[str]:
        return sorted(self._files)

    def __contains__(self, name: str) -> bool:
        return name in self._files

    def size(self, name: str) -> int:
        return self._files[name]

    # -- reading ----------------------------------------------------------------------
    def open_entry(self, name: str) -> IO[bytes]:
        if name not in self._files:
            raise EntryError("source.unreadable_entry", name, f"{name!r} is not in the export")
        try:
            if self._zip is not None:
                return self._zip.open(self._zip_infos[name])
            return (self.path / name).open("rb")
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise EntryError("source.unreadable_entry", name, f"{name!r} could not be read: {exc}") from None

    def read_bytes(self, name: str, limit: int | None = None) -> bytes:
        limit = self.limits.max_json_bytes if limit is None else limit
        if self._files.get(name, 0) > limit:
            raise EntryError("source.too_large", name, f"{name!r} is larger than {limit} bytes; not read")
        try:
            with self.open_entry(name) as handle:
                data = handle.read(limit + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise EntryError("source.unreadable_entry", name, f"{name!r} could not be read: {exc}") from None
        if len(data) > limit:
            raise EntryError("source.too_large", name, f"{name!r} is larger than {limit} bytes; not read")
        return data

    def fingerprint(self) -> tuple[str, int]:
        """SHA-256 and size of the source: the zip file's bytes, or a digest of a folder's files."""
        digest = hashlib.sha256()
        if self._zip is not None:
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
            digest.update(name.encode() + b"\0" + entry.digest())
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
