"""A zip's central directory, streamed; and entries read without loading the directory.

``zipfile.ZipFile`` builds a ``ZipInfo`` object of about 600 bytes for every entry, and
each process that opens the zip builds its own: for an export of a million messages in
150,000 files, about 90 MB per process. Here the directory is read record by record (the
caller keeps what it needs in compact arrays), and an entry is read through ``zipfile``'s
own decompression and CRC checks from a ``ZipInfo`` built on demand for that entry only.

Format: PKWARE APPNOTE 6.3.x, §4.3.12 (central directory), §4.3.14-16 (ZIP64 end records),
§4.5.3 (ZIP64 extra field).
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory: 22 bytes + comment
_EOCD64_LOCATOR = struct.Struct("<4sLQL")  # 20 bytes, just before the EOCD
_EOCD64 = struct.Struct("<4sQ2H2L4Q")  # 56 bytes
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # 46 bytes + name + extra + comment
_MAX_COMMENT = 0xFFFF
_MAX_VERSION = 63  # what zipfile can extract (version 6.3)
_UTF8_NAME = 0x800


class ZipDirectoryError(Exception):
    """The central directory cannot be read: not a zip, truncated, or malformed."""


@dataclass(frozen=True, slots=True)
class ZipEntry:
    raw_name: str  # the name as zipfile decodes it (cp437, or UTF-8 when flagged)
    flag_bits: int
    compress_type: int
    crc: int
    compress_size: int
    file_size: int
    header_offset: int  # of the local header, from the start of the file

    @property
    def is_dir(self) -> bool:
        return self.raw_name.endswith("/")


def _end_records(fp: BinaryIO, file_size: int) -> tuple[int, int, int, int]:
    """(number of entries, size of the directory, its offset in the file, the shift of every
    recorded offset: the bytes prepended to the zip, as by a self-extractor stub)."""
    tail = min(file_size, _EOCD.size + _MAX_COMMENT)
    fp.seek(file_size - tail)
    data = fp.read(tail)
    at = data.rfind(b"PK\x05\x06")
    while at >= 0 and at + _EOCD.size > len(data):
        at = data.rfind(b"PK\x05\x06", 0, at)
    if at < 0:
        raise ZipDirectoryError("no end of central directory record: not a zip, or truncated")
    _, _, _, _, count, cd_size, cd_offset, _ = _EOCD.unpack_from(data, at)
    location = file_size - tail + at
    if count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        if location < _EOCD64_LOCATOR.size:
            raise ZipDirectoryError("ZIP64 end records missing")
        fp.seek(location - _EOCD64_LOCATOR.size)
        sig, _, _, _ = _EOCD64_LOCATOR.unpack(fp.read(_EOCD64_LOCATOR.size))
        if sig != b"PK\x06\x07":
            raise ZipDirectoryError("ZIP64 end of central directory locator missing")
        location = location - _EOCD64_LOCATOR.size - _EOCD64.size
        fp.seek(location)
        record = fp.read(_EOCD64.size)
        if len(record) != _EOCD64.size or record[:4] != b"PK\x06\x06":
            raise ZipDirectoryError("ZIP64 end of central directory record missing")
        _, _, _, _, _, _, _, count, cd_size, cd_offset = _EOCD64.unpack(record)
    shift = location - cd_size - cd_offset
    if shift < 0:
        raise ZipDirectoryError("central directory offsets point outside the file")
    return count, cd_size, cd_offset + shift, shift


def _zip64_extra(extra: bytes, sizes: list[int]) -> list[int]:
    """Replace the 0xFFFFFFFF values among (file size, compressed size, offset) from the ZIP64 field."""
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<2H", extra, at)
        if kind == 0x0001:
            field = extra[at + 4 : at + 4 + length]
            pos = 0
            for i, value in enumerate(sizes):
                if value == 0xFFFFFFFF:
                    if pos + 8 > len(field):
                        raise ZipDirectoryError("truncated ZIP64 extra field")
                    sizes[i] = struct.unpack_from("<Q", field, pos)[0]
                    pos += 8
            return sizes
        at += 4 + length
    return sizes


def iter_entries(fp: BinaryIO, file_size: int) -> Iterator[ZipEntry]:
    """Every entry of the central directory, in its order; nothing kept between records."""
    count, cd_size, cd_start, shift = _end_records(fp, file_size)
    fp.seek(cd_start)
    buffer = b""
    at = 0  # where the next record starts in buffer
    remaining = cd_size

    def fill(need: int) -> None:
        """Make sure buffer[at : at + need] is there (reading on, dropping what was parsed)."""
        nonlocal buffer, at, remaining
        if at + need <= len(buffer):
            return
        buffer, at = buffer[at:], 0
        while len(buffer) < need and remaining > 0:
            chunk = fp.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
            buffer += chunk
        if len(buffer) < need:
            raise ZipDirectoryError("central directory is truncated")

    for _ in range(count):
        fill(_CENTRAL.size)
        fields = _CENTRAL.unpack_from(buffer, at)
        if fields[0] != b"PK\x01\x02":
            raise ZipDirectoryError("bad central directory record (the zip is corrupt)")
        extract_version, flags, method = fields[3], fields[5], fields[6]
        crc, compress_size, file_size_, name_len, extra_len, comment_len = fields[9:15]
        header_offset = fields[18]
        fill(_CENTRAL.size + name_len + extra_len + comment_len)
        name_at = at + _CENTRAL.size
        raw = buffer[name_at : name_at + name_len]
        extra = buffer[name_at + name_len : name_at + name_len + extra_len]
        at = name_at + name_len + extra_len + comment_len
        if extract_version > _MAX_VERSION:
            raise ZipDirectoryError(f"zip version {extract_version / 10:.1f} is not supported")
        try:
            name = raw.decode("utf-8") if flags & _UTF8_NAME else raw.decode("cp437")
        except UnicodeDecodeError as exc:
            raise ZipDirectoryError(f"an entry name flagged UTF-8 is not: {exc}") from None
        if extra:
            file_size_, compress_size, header_offset = _zip64_extra(
                extra, [file_size_, compress_size, header_offset]
            )
        yield ZipEntry(name, flags, method, crc, compress_size, file_size_, header_offset + shift)


class ZipReader(zipfile.ZipFile):
    """A ``ZipFile`` that does not load the central directory: entries are opened from a
    ``ZipEntry`` the caller kept (``open_entry``), so each read still goes through
    ``zipfile``'s local-header checks, decompression and CRC check."""

    def _RealGetContents(self) -> None:
        pass

    def open_entry(self, entry: ZipEntry) -> BinaryIO:
        info = zipfile.ZipInfo(entry.raw_name)
        info.flag_bits = entry.flag_bits
        info.compress_type = entry.compress_type
        info.CRC = entry.crc
        info.compress_size = entry.compress_size
        info.file_size = entry.file_size
        info.header_offset = entry.header_offset
        return self.open(info)  # type: ignore[return-value]
