"""Byte streams under the MediaWiki reader: bz2/gzip decompressed as they are read (a cut
stream gives every byte it can), UTF-8 repaired line by line, bytes counted and hashed, base64
decoded a slice at a time."""

from __future__ import annotations

import binascii
import bz2
import hashlib
import io
import re
import zlib
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING

from passerelle.readers.safe_xml import sniff_encoding
from passerelle.readers.source_tree import EntryError  # also registers the passerelle.cp1252 handler

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class Decompressing(io.RawIOBase):
    """A bz2 or gzip stream decompressed as it is read (concatenated streams too); a stream
    that stops early gives every byte that could be decompressed, then ends, and says why in
    ``error`` (``BZ2File``/``GzipFile`` would lose the last read's bytes to an EOFError)."""

    def __init__(self, raw: IO[bytes], kind: str) -> None:
        super().__init__()
        self._raw = raw
        self._kind = kind
        self._engine = self._new()
        self._pending = b""
        self._at = 0  # what of _pending was handed on (a slice would copy the rest each time)
        self._dead = False
        self.error: str | None = None

    def _new(self) -> bz2.BZ2Decompressor | zlib._Decompress:
        return bz2.BZ2Decompressor() if self._kind == "bz2" else zlib.decompressobj(wbits=31)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._at >= len(self._pending):
            self._pending, self._at = b"", 0
        while not self._pending:
            chunk = b"" if self._dead else self._raw.read(1 << 16)
            if not chunk:
                if not self._engine.eof and not self._dead:
                    self.error = f"the {self._kind} stream ends before its end marker"
                return 0
            try:
                while chunk:
                    if self._engine.eof:  # another stream follows (pbzip2, concatenated gzip)
                        self._engine = self._new()
                    self._pending += self._engine.decompress(chunk)  # bytes from one chunk
                    chunk = self._engine.unused_data if self._engine.eof else b""
            except (OSError, EOFError, ValueError, zlib.error) as exc:
                self.error = f"the {self._kind} stream is corrupt: {exc}"
                self._dead = True
                if not self._pending:
                    return 0
        n = min(len(view), len(self._pending) - self._at)
        view[:n] = memoryview(self._pending)[self._at : self._at + n]
        self._at += n
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
NOT_UTF8_SAID = 1000  # lines said one by one; the rest in one count


class Utf8Repair(io.RawIOBase):
    """A UTF-8 document whose invalid bytes are read as cp1252, line by line, so a stray byte
    does not end the parse: the valid lines pass through untouched, a repaired line is said
    (``repaired``: its line number and original bytes). Any other encoding passes through."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self._raw = raw
        self._out = b""
        self._at = 0
        self._carry: list[bytes] = []  # a line's start, in pieces (a long line is not copied over and over)
        self._mode: str | None = None  # "check" or "pass", decided on the first bytes
        self._line = 1
        self._done = False
        self.repaired: list[tuple[int, bytes]] = []
        self.more = 0  # repaired lines past NOT_UTF8_SAID

    def readable(self) -> bool:
        return True

    def _decide(self, head: bytes) -> str:
        if head.startswith(b"\xef\xbb\xbf"):
            return "check"
        encoding, _ = sniff_encoding(head)
        if encoding != "latin-1":
            return "pass"  # UTF-16 or UTF-32: the parser decodes it
        declared = DECLARED_ENCODING.match(head)
        if declared is None:
            return "check"
        return "check" if declared.group(1).decode("ascii").lower() in ("utf-8", "utf8") else "pass"

    def _fill(self) -> None:
        self._out, self._at = b"", 0
        while not self._out and not self._done:
            chunk = self._raw.read(1 << 20)
            if self._mode is None:
                self._mode = self._decide(chunk[:256])
            if not chunk:
                self._done = True
                block, self._carry = b"".join(self._carry), []
            else:
                if self._mode == "pass":
                    self._out = chunk
                    return
                cut = chunk.rfind(b"\n") + 1
                if cut == 0:
                    self._carry.append(chunk)
                    continue
                block = b"".join([*self._carry, chunk[:cut]])
                self._carry = [chunk[cut:]] if cut < len(chunk) else []
            if block:
                self._out = self._check(block)

    def _check(self, block: bytes) -> bytes:
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            self._line += block.count(b"\n")
            return block
        lines = block.split(b"\n")
        for at, line in enumerate(lines):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                if len(self.repaired) < NOT_UTF8_SAID:
                    self.repaired.append((self._line + at, line[: 1 << 12]))
                else:
                    self.more += 1
                lines[at] = line.decode("utf-8", "passerelle.cp1252").encode("utf-8")
        self._line += len(lines) - 1
        return b"\n".join(lines)

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._at >= len(self._out):
            self._fill()
        n = min(len(view), len(self._out) - self._at)
        view[:n] = memoryview(self._out)[self._at : self._at + n]
        self._at += n
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def decompressing(raw: IO[bytes], name: str) -> Decompressing | None:
    lower = name.lower()
    if lower.endswith((".bz2", ".gz")):
        return Decompressing(raw, "bz2" if lower.endswith(".bz2") else "gzip")
    return None


class Counting(io.RawIOBase):
    """A stream that reports how many bytes were read (progress) and turns a broken
    decompression into an end of stream, remembering why (said with the break)."""

    def __init__(self, raw: IO[bytes], advance: Callable[[int], None]) -> None:
        super().__init__()
        self._raw = raw
        self._advance = advance
        self.error: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._raw.read(len(view))
        except (OSError, EOFError, ValueError, EntryError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return 0
        n = len(data)
        view[:n] = data
        self._advance(n)
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


class Hashing(io.RawIOBase):
    """Bytes read through it are SHA-1'd (an upload checked against its sha1base36)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = b""
        self.sha1 = hashlib.sha1()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        n = min(len(view), len(self._pending))
        piece = memoryview(self._pending)[:n]
        view[:n] = piece
        self.sha1.update(piece)
        self._pending = self._pending[n:]  # chunks are at most 4 MB: a copy of the rest is cheap
        return n


WHITESPACE = re.compile(r"\s+")


def base64_chunks(text: str, chunk: int = 1 << 22) -> Iterator[bytes]:
    """Decode base64 text a slice at a time (a big upload is never held decoded whole)."""
    left = ""
    for at in range(0, len(text), chunk):
        part = left + WHITESPACE.sub("", text[at : at + chunk])
        cut = len(part) - len(part) % 4
        left = part[cut:]
        if cut:
            yield binascii.a2b_base64(part[:cut], strict_mode=True)
    if left:
        yield binascii.a2b_base64(left, strict_mode=True)  # raises: not a whole number of groups
