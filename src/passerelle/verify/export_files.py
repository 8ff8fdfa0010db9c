"""The entries of an export (a zip, a folder, or a single file), read with the standard
library only, for the verifiers: none of the readers' code (``SourceTree``) is used, so a
bug there is not repeated here."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import zipfile
from pathlib import Path
from typing import IO

from passerelle.errors import BadInputError

_CHUNK = 1 << 20


class ExportFiles:
    def __init__(self, path: Path, *, what: str, single_file: bool = False) -> None:
        """``what`` names the format in errors; ``single_file``: a file that is not a zip is
        an export of one entry (else it is refused)."""
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.entries: dict[str, str] = {}  # name shown -> name in the zip, or path on disk
        self.real_names: dict[str, bytes] = {}  # a folder's entry -> its name's bytes on disk
        if path.is_dir():
            self._walk(path.resolve())
        elif single_file and path.is_file() and not zipfile.is_zipfile(path):
            self.entries[path.name] = str(path)
        else:
            try:
                self.zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise BadInputError(f"{path}: not a {what}: {exc}") from None
            for info in self.zip.infolist():
                name = info.filename
                if not info.flag_bits & 0x800:  # not flagged UTF-8: CP437, or UTF-8 unflagged
                    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                        name = name.encode("cp437").decode("utf-8")
                if not info.is_dir():
                    self.entries[name] = info.filename

    def _walk(self, root: Path) -> None:
        for dirpath, _, files in os.walk(root, onerror=lambda exc: None):
            for f in files:
                full = Path(dirpath, f)
                # Regular files, and links to regular files inside the export; nothing else
                # (a link out, a FIFO or a device is never opened).
                try:
                    target = full.resolve(strict=True)
                except (OSError, RuntimeError):
                    continue
                if not target.is_relative_to(root) or not stat.S_ISREG(target.stat().st_mode):
                    continue
                real = full.relative_to(root).as_posix().encode("utf-8", "surrogateescape")
                try:
                    name = real.decode("utf-8")
                except UnicodeDecodeError:
                    name = real.decode("cp1252", "backslashreplace")
                self.entries[name] = str(full)
                self.real_names[name] = real

    def open(self, name: str) -> IO[bytes]:
        if self.zip is not None:
            return self.zip.open(self.entries[name])
        return open(self.entries[name], "rb")

    def read(self, name: str) -> bytes:
        with self.open(name) as handle:
            return handle.read()

    def sha256(self, name: str) -> str:
        digest = hashlib.sha256()
        with self.open(name) as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def fingerprint(self) -> str:
        """The source's fingerprint as ingest computes it: a file's bytes, or a folder's names
        and contents."""
        digest = hashlib.sha256()
        if not self.path.is_dir():
            with self.path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(_CHUNK), b""):
                    digest.update(chunk)
            return digest.hexdigest()
        for name in sorted(self.entries):
            digest.update(self.real_names[name] + b"\0" + bytes.fromhex(self.sha256(name)))
        return digest.hexdigest()
