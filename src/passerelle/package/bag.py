"""BagIt 1.0 (RFC 8493): writing a bag, and validating one completely before it is read.

Written with the standard library only; bagit-python is used by the tests as an
independent oracle, never here.

Speed: every payload file gets SHA-256 and SHA-512. SHA-512 runs on a helper thread while
SHA-256 and the file write (or read) run on the calling thread (hashlib releases the GIL
for updates over 2047 bytes), so two digests cost about the time of the slower one rather
than the sum. Small updates are hashed inline: handing them over would cost more.

Memory: nothing grows with the number of files. The writer spools manifest lines and sorts
them at ``finish`` (in memory up to ``MAX_SORT_LINES`` lines, else as sorted runs on disk
merged); the validator sorts each manifest the same way and walks the manifests in lockstep
with the (sorted) names of the payload files.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import re
import shutil
import tempfile
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

from passerelle.errors import BadInputError
from passerelle.readers.source_tree import EntryError, SourceTree

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

CHUNK = 1 << 20  # bytes per read, write and hash update of a file's content
THREAD_MIN = 64 << 10  # below this an update is hashed inline (the hand-off costs more)
MAX_SORT_LINES = 100_000  # manifest lines sorted in memory; past this, sorted runs on disk
MAX_SORT_CHARS = 32 << 20  # the same bound in characters (hostile manifests have long lines)
MERGE_FAN_IN = 64  # sorted runs merged at once (open files)
MAX_LINE = 64 << 10  # bytes in one manifest line; a longer one is refused
MAX_TAG_BYTES = 16 << 20  # bagit.txt and bag-info.txt are read whole

ALGORITHMS = ("sha256", "sha512")  # what the writer writes and the validator accepts
HEX_LENGTH = {"sha256": 64, "sha512": 128}
BAGIT_TXT = "bagit.txt"
BAG_INFO = "bag-info.txt"
FETCH = "fetch.txt"
DECLARATION = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
PAYLOAD = "data/"
_SPOOL = ".passerelle-bag-spool"  # the writer's temporary files, inside the bag until finish

_MANIFEST = re.compile(r"(tag)?manifest-([^/]*)\.txt")
_LINE = re.compile(r"([0-9A-Fa-f]+)[ \t]+(.+)", re.DOTALL)
_ESCAPE = re.compile(r"%(25|0[AaDd])")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_UNESCAPED = {"25": "%", "0a": "\n", "0d": "\r"}


class BagError(BadInputError):
    """A bag that is not complete and valid; ``path`` names the offending file, relative to the bag."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# -- paths ----------------------------------------------------------------------------------------


def encode_path(path: str) -> str:
    """A path as a manifest line holds it: RFC 8493 §2.1.3 percent-encodes %, CR and LF only."""
    if "%" in path or "\r" in path or "\n" in path:
        return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return path


def decode_path(text: str) -> str:
    """The inverse of ``encode_path``; any other % sequence is the name's own text."""
    if "%" not in text:
        return text
    return _ESCAPE.sub(lambda m: _UNESCAPED[m.group(1).lower()], text)


def unsafe_reason(path: str) -> str | None:
    """Why a bag-relative POSIX path could name something outside the bag, or None."""
    if not path:
        return "empty path"
    if path.startswith(("/", "~")):
        return "absolute path"
    if "\0" in path:
        return "NUL in path"
    if "\\" in path:
        return "backslash in path"
    if ":" in path.split("/", 1)[0]:
        return "drive or scheme in path"
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            return f"{segment or 'empty'!r} segment in path"
    return None


def _writable_path(path: str) -> None:
    reason = unsafe_reason(path)
    if reason is None and ("\r" in path or "\n" in path):
        reason = "CR or LF in path"
    if reason is None:
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            reason = "path is not valid Unicode text (a lone surrogate)"
    if reason is not None:
        raise ValueError(f"{path!r}: {reason}")


# -- hashing --------------------------------------------------------------------------------------


def _update_all(hashes: Sequence[Any], data: ReadableBuffer) -> None:
    for digest in hashes:
        digest.update(data)


class _Digests:
    """Digests of one stream: the first algorithm on the calling thread, the others on the
    helper thread for big updates. ``update`` may return before the helper is done: the
    data must not change until the next ``update`` or ``wait`` (bytes never change)."""

    def __init__(self, algorithms: Sequence[str], helper: ThreadPoolExecutor | None) -> None:
        self.algorithms = tuple(algorithms)
        self._main = hashlib.new(algorithms[0])
        self._rest = [hashlib.new(name) for name in algorithms[1:]]
        self._helper = helper
        self._pending: Future[None] | None = None

    def update(self, data: ReadableBuffer) -> None:
        self.wait()
        if self._rest and self._helper is not None and memoryview(data).nbytes >= THREAD_MIN:
            self._pending = self._helper.submit(_update_all, self._rest, data)
        else:
            _update_all(self._rest, data)
        self._main.update(data)

    def wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def hexdigests(self) -> dict[str, str]:
        self.wait()
        digests = [self._main, *self._rest]
        return {name: digest.hexdigest() for name, digest in zip(self.algorithms, digests, strict=True)}


def _helper_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="passerelle-bag-hash")


# -- sorting manifest lines with bounded memory ---------------------------------------------------


class _LineSorter:
    """Lines (no newline in them) sorted by ``key``: in memory up to MAX_SORT_LINES lines or
    MAX_SORT_CHARS characters, else written as sorted runs in ``workdir`` and merged.
    ``sorted_lines`` may be iterated more than once."""

    def __init__(self, workdir: Callable[[], Path], key: Callable[[str], str]) -> None:
        self._workdir = workdir
        self._key = key
        self._lines: list[str] = []
        self._chars = 0
        self._runs: list[Path] = []
        self._done = False
        self.count = 0

    def add(self, line: str) -> None:
        assert not self._done
        self._lines.append(line)
        self._chars += len(line)
        self.count += 1
        if len(self._lines) >= MAX_SORT_LINES or self._chars >= MAX_SORT_CHARS:
            self._runs.append(self._write_run(sorted(self._lines, key=self._key)))
            self._lines, self._chars = [], 0

    def _write_run(self, lines: Iterable[str]) -> Path:
        handle, name = tempfile.mkstemp(dir=self._workdir(), prefix="run-", suffix=".txt")
        with open(handle, "w", encoding="utf-8", newline="\n") as out:
            for line in lines:
                out.write(line)
                out.write("\n")
        return Path(name)

    def _merged(self, runs: Sequence[Path]) -> Iterator[str]:
        files = [run.open(encoding="utf-8", newline="\n") for run in runs]
        try:
            for line in heapq.merge(*files, key=lambda text: self._key(text[:-1])):
                yield line[:-1]
        finally:
            for file in files:
                file.close()

    def sorted_lines(self) -> Iterator[str]:
        if not self._done:
            self._done = True
            if self._runs:
                if self._lines:
                    self._runs.append(self._write_run(sorted(self._lines, key=self._key)))
                self._lines = []
                while len(self._runs) > MERGE_FAN_IN:  # merge in passes: never too many open files
                    merged: list[Path] = []
                    for start in range(0, len(self._runs), MERGE_FAN_IN):
                        group = self._runs[start : start + MERGE_FAN_IN]
                        merged.append(self._write_run(self._merged(group)))
                        for run in group:
                            run.unlink()
                    self._runs = merged
            else:
                self._lines.sort(key=self._key)
        if self._runs:
            return self._merged(self._runs)
        return iter(self._lines)


# -- bag-info.txt -----------------------------------------------------------------------------------


def _check_label(label: str) -> None:
    if not label or ":" in label or "\r" in label or "\n" in label or label != label.strip():
        raise ValueError(f"bag-info label {label!r}: empty, or holds ':', a line break or outer spaces")


# Line breaks other than LF: RFC 8493 ends lines with CR or LF, and tools that split with
# Python's str.splitlines (bagit-python) also break on these.
_OTHER_LINE_BREAKS = re.compile("[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def format_bag_info(info: Iterable[tuple[str, str]]) -> str:
    """bag-info.txt's text: one ``Label: value`` per element, a value's later lines indented."""
    lines: list[str] = []
    for label, value in info:
        _check_label(label)
        text = f"{label}: " + "\n  ".join(value.split("\n"))
        if _OTHER_LINE_BREAKS.search(value) or parse_bag_info(text, "bag-info.txt") != {label: [value]}:
            raise ValueError(
                f"bag-info {label}: {value!r} would not read back as written (a CR or another"
                " line break some tools split on, or a line after the first that starts with a space or tab)"
            )
        lines.append(text + "\n")
    return "".join(lines)


def parse_bag_info(text: str, name: str = BAG_INFO) -> dict[str, list[str]]:
    """Labels and their values in order (a label may repeat). A line starting with a space or
    tab continues the value: its line break is kept, its leading white space is not."""
    info: dict[str, list[str]] = {}
    current: list[str] | None = None
    text = text.removeprefix("\ufeff")
    lines = _NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        if line[:1] in (" ", "\t"):
            if current is None:
                raise BagError(name, f"line {number}: a continuation line with no label before it")
            current[-1] += "\n" + line.lstrip(" \t")
            continue
        if not line:
            current = None
            continue
        label, colon, value = line.partition(":")
        if not colon or not label.strip():
            raise BagError(name, f"line {number}: not 'Label: value': {line[:80]!r}")
        if value[:1] in (" ", "\t"):
            value = value[1:]
        current = info.setdefault(label.strip(), [])
        current.append(value)
    return info


def human_size(octets: int) -> str:
    """Bag-Size: an approximate size, as RFC 8493 §2.2.2's examples write it (42.6 GB)."""
    if octets < 1000:
        return f"{octets} B"
    value = float(octets)
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        value /= 1000
        if value < 1000 or unit == "PB":
            break
    return f"{value:.1f} {unit}"


# -- writing ---------------------------------------------------------------------------------------


class BagStream(io.BufferedIOBase):
    """A file being written into the bag: every byte is hashed (SHA-256 and SHA-512) as it is
    written. Closing it records the file in the manifests; leaving its ``with`` block on an
    exception (or calling ``discard``) removes the file and records nothing."""

    def __init__(self, path: str, target: Path, digests: _Digests, done: Callable[[BagStream], None]) -> None:
        super().__init__()
        self.path = path
        self.size = 0
        self.hexdigests: dict[str, str] = {}  # once closed
        self.kept = False  # closed, and in the bag
        self._target = target
        self._file = target.open("xb")
        self._digests = digests
        self._done = done
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer, /) -> int:
        if self.closed:
            raise ValueError(f"{self.path}: write to a closed bag file")
        view = memoryview(data)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        size = view.nbytes
        if size < THREAD_MIN:
            self._buffer += view  # small writes are gathered into chunks worth a hand-off
            if len(self._buffer) >= CHUNK:
                self._flush_buffer()
        else:
            self._flush_buffer()
            immutable = isinstance(data, bytes)
            self._digests.update(data if immutable else view)
            self._file.write(view)
            if not immutable:
                self._digests.wait()  # the caller may change its buffer once write returns
        self.size += size
        return size

    def copy_from(
        self, source: io.RawIOBase | io.BufferedIOBase, buffers: tuple[bytearray, bytearray] | None = None
    ) -> None:
        """Copy a binary stream to its end, reading the next chunk while the last is hashed.
        ``buffers``: two CHUNK-sized buffers to reuse (allocating 2 MiB costs more than
        copying a small file)."""
        if self.closed:
            raise ValueError(f"{self.path}: write to a closed bag file")
        self._flush_buffer()
        buffers = buffers or (bytearray(CHUNK), bytearray(CHUNK))
        turn = 0
        while count := source.readinto(buffers[turn]):
            view = memoryview(buffers[turn])[:count]
            self._digests.update(view)  # waits for the other buffer's chunk first
            self._file.write(view)
            self.size += count
            turn ^= 1
        self._digests.wait()

    def _flush_buffer(self) -> None:
        if self._buffer:
            chunk = bytes(self._buffer)
            self._buffer.clear()
            self._digests.update(chunk)
            self._file.write(chunk)

    def flush(self) -> None:
        pass  # the bytes count once the file is closed; nothing is promised before

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._flush_buffer()
            self.hexdigests = self._digests.hexdigests()
            self._file.close()
        except BaseException:
            self.discard()
            raise
        self.kept = True
        super().close()
        self._done(self)

    def discard(self) -> None:
        """Remove the file: it will not be in the bag."""
        if self.closed:
            return
        try:
            self._digests.wait()
        finally:
            self._file.close()
            self._target.unlink(missing_ok=True)
            super().close()
            self._done(self)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            self.discard()
        else:
            self.close()


class BagWriter:
    """Writes a BagIt 1.0 bag into the folder ``root`` (created; it must not exist or be empty).

    Payload paths are POSIX paths starting with ``data/``, as ``package.layout`` names them;
    tag files (``add_tag_bytes``) go beside bagit.txt. ``finish`` writes bagit.txt,
    bag-info.txt, the SHA-512 and SHA-256 payload manifests and tag manifests. The same
    files and bag-info give the same bytes. One thread writes a bag. Used as a context
    manager, a bag left with an error, or without ``finish``, is removed."""

    def __init__(self, root: Path) -> None:
        if root.is_symlink() or (root.exists() and (not root.is_dir() or any(root.iterdir()))):
            raise FileExistsError(f"{root}: exists and is not an empty folder")
        self._created = not root.exists()
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        (root / "data").mkdir(exist_ok=True)
        self._helper: ThreadPoolExecutor | None = None
        self._spool: _Workdir = _Workdir(lambda: self.root / _SPOOL)
        # One line per payload file: path NUL sha256 NUL sha512 (a written path holds no NUL or LF).
        self._entries = _LineSorter(self._spool, key=lambda line: line.partition("\0")[0])
        self._tags: list[tuple[str, dict[str, str]]] = []
        self._streams: dict[BagStream, bool] = {}  # open streams -> payload or tag file
        self._octets = 0
        self._copy_buffers: tuple[bytearray, bytearray] | None = None
        self._folder = ""  # the last folder made
        self._state = "open"

    # -- files ---------------------------------------------------------------------------------
    def open(self, path: str) -> BagStream:
        """A payload file to write in pieces (a context manager; see ``BagStream``)."""
        return self._open(path, payload=True)

    def add_bytes(self, path: str, data: bytes) -> None:
        with self.open(path) as stream:
            stream.write(data)

    def add_file(self, path: str, source: Path) -> tuple[str, int]:
        """Copy ``source`` into the bag as ``path``; the SHA-256 (hex) and size of what was copied."""
        if self._copy_buffers is None:
            self._copy_buffers = (bytearray(CHUNK), bytearray(CHUNK))
        with self.open(path) as stream, source.open("rb", buffering=0) as handle:
            stream.copy_from(handle, self._copy_buffers)
        return stream.hexdigests["sha256"], stream.size

    def add_tag_bytes(self, path: str, data: bytes) -> None:
        """A tag file beside bagit.txt (README.html), listed in the tag manifests."""
        first = path.split("/", 1)[0]
        if first in ("data", BAGIT_TXT, BAG_INFO, FETCH, _SPOOL) or _MANIFEST.fullmatch(first):
            raise ValueError(
                f"{path!r}: not a tag file name a bag leaves free (payload, or reserved by BagIt)"
            )
        with self._open(path, payload=False) as stream:
            stream.write(data)

    def _open(self, path: str, *, payload: bool) -> BagStream:
        self._check_open()
        _writable_path(path)
        if payload and (not path.startswith(PAYLOAD) or path == PAYLOAD):
            raise ValueError(f"{path!r}: a payload path starts with {PAYLOAD!r}")
        target = self.root / path
        try:
            folder = path.rpartition("/")[0]
            if folder != self._folder:  # files come folder by folder: one mkdir per folder, not per file
                target.parent.mkdir(parents=True, exist_ok=True)
                self._folder = folder
            stream = BagStream(path, target, _Digests(ALGORITHMS, self._hash_helper()), self._closed)
        except (FileExistsError, NotADirectoryError):
            raise ValueError(f"{path!r}: already in the bag, or clashes with a file in it") from None
        self._streams[stream] = payload
        return stream

    def _closed(self, stream: BagStream) -> None:
        payload = self._streams.pop(stream)
        if not stream.kept:
            return
        if payload:
            digests = stream.hexdigests
            self._entries.add(f"{stream.path}\0{digests['sha256']}\0{digests['sha512']}")
            self._octets += stream.size
        else:
            self._tags.append((stream.path, stream.hexdigests))

    def _hash_helper(self) -> ThreadPoolExecutor:
        if self._helper is None:
            self._helper = _helper_thread()
        return self._helper

    def _check_open(self) -> None:
        if self._state != "open":
            raise RuntimeError(f"{self.root}: the bag is already {self._state}")

    @property
    def payload_oxum(self) -> str:
        """``<octets>.<files>`` of the payload written so far."""
        return f"{self._octets}.{self._entries.count}"

    # -- finishing ----------------------------------------------------------------------------
    def finish(self, bag_info: Mapping[str, str | Sequence[str]]) -> None:
        """Write the tag files. bag-info.txt holds the given labels in order (a sequence: the
        label repeated), then Payload-Oxum and Bag-Size unless given; a given Payload-Oxum
        must be the payload's."""
        self._check_open()
        if self._streams:
            raise RuntimeError(f"{self.root}: files still open: {sorted(s.path for s in self._streams)}")
        pairs: list[tuple[str, str]] = []
        for label, values in bag_info.items():
            pairs.extend((label, value) for value in ([values] if isinstance(values, str) else values))
        labels = {label for label, _ in pairs}
        oxum = self.payload_oxum
        given = [value for label, value in pairs if label == "Payload-Oxum"]
        if given and given != [oxum]:
            raise ValueError(f"bag-info Payload-Oxum {given} is not the payload's ({oxum})")
        if "Payload-Oxum" not in labels:
            pairs.append(("Payload-Oxum", oxum))
        if "Bag-Size" not in labels:
            pairs.append(("Bag-Size", human_size(self._octets)))
        info_text = format_bag_info(pairs).encode("utf-8")
        try:
            self._write_tag_file(BAGIT_TXT, [DECLARATION])
            self._write_tag_file(BAG_INFO, [info_text])
            self._write_manifests()
            self._spool.remove()
            tags = sorted(self._tags)
            for name in ALGORITHMS[::-1]:  # sha512 first: RFC 8493 §2.4 recommends it
                lines = (f"{digests[name]}  {encode_path(path)}\n".encode() for path, digests in tags)
                self._write_tag_file(f"tagmanifest-{name}.txt", lines)
        finally:
            self._stop_helper()
        self._state = "finished"

    def _write_manifests(self) -> None:
        with (
            self._open("manifest-sha512.txt", payload=False) as m512,
            self._open("manifest-sha256.txt", payload=False) as m256,
        ):
            previous = None
            for line in self._entries.sorted_lines():
                path, sha256, sha512 = line.split("\0")
                if path == previous:  # exclusive creation of each file rules it out
                    raise RuntimeError(f"{path}: written twice")
                previous = path
                encoded = encode_path(path)
                m512.write(f"{sha512}  {encoded}\n".encode())
                m256.write(f"{sha256}  {encoded}\n".encode())

    def _write_tag_file(self, path: str, chunks: Iterable[bytes]) -> None:
        """A small tag file BagIt names; listed in the tag manifests unless it is one."""
        digests = _Digests(ALGORITHMS, None)
        with (self.root / path).open("xb") as out:
            for chunk in chunks:
                digests.update(chunk)
                out.write(chunk)
        if not path.startswith("tagmanifest-"):
            self._tags.append((path, digests.hexdigests()))

    def abort(self) -> None:
        """Remove everything written (the folder itself when this writer made it)."""
        if self._state == "aborted":
            return
        for stream in list(self._streams):
            stream.discard()
        self._stop_helper()
        self._state = "aborted"
        if self._created:
            shutil.rmtree(self.root, ignore_errors=True)
        elif self.root.is_dir():
            for child in self.root.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)

    def _stop_helper(self) -> None:
        if self._helper is not None:
            self._helper.shutdown(wait=True)
            self._helper = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._state == "open":
            self.abort()


# -- validation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BagInfo:
    """What validating a bag found."""

    prefix: str  # where the bag is in the tree: "" or "<top folder>/"
    info: dict[str, list[str]]  # bag-info.txt's labels in order, each with its values
    algorithms: tuple[str, ...]  # of the payload manifests
    tag_algorithms: tuple[str, ...]  # of the tag manifests
    payload_oxum: tuple[int, int] | None  # (octets, files) as bag-info.txt declares them
    payload_files: int
    payload_bytes: int


def find_bag_prefix(tree: SourceTree) -> str:
    """Where the bag's bagit.txt is: at the top, or in the one folder every entry is in (a
    zipped folder)."""
    if BAGIT_TXT in tree:
        return ""
    names = tree.names()
    if names and "/" in names[0]:
        top = names[0].split("/", 1)[0] + "/"
        # Sorted names: when the first and the last start with it, every one does.
        if names[-1].startswith(top) and top + BAGIT_TXT in tree:
            return top
    raise BagError(BAGIT_TXT, "not found: not a BagIt bag (no bagit.txt at the top or in one top folder)")


def validate_bag(tree: SourceTree, prefix: str | None = None, *, workdir: Path | None = None) -> BagInfo:
    """Check a bag completely (RFC 8493 §3: complete and valid) or raise ``BagError``.

    In order: bagit.txt and data/; every manifest line well formed (its algorithm sha256 or
    sha512); every payload file listed in every payload manifest and every listed file
    present; Payload-Oxum; every checksum of every tag and payload manifest. ``prefix``:
    where the bag sits in the tree (found when None). Sorted runs of large manifests go in
    a temporary folder in ``workdir``."""
    if prefix is None:
        prefix = find_bag_prefix(tree)
    elif prefix and not prefix.endswith("/"):
        raise ValueError(f"prefix {prefix!r} must be empty or end with '/'")
    spool = _Workdir(lambda: Path(tempfile.mkdtemp(prefix="passerelle-bag-", dir=workdir)))
    helper = _helper_thread()
    try:
        return _Validation(tree, prefix, spool, helper).run()
    finally:
        helper.shutdown(wait=True)
        spool.remove()


class _Workdir:
    """A folder made when first needed, removed at the end."""

    def __init__(self, make: Callable[[], Path]) -> None:
        self._make = make
        self._path: Path | None = None

    def __call__(self) -> Path:
        if self._path is None:
            path = self._make()
            path.mkdir(exist_ok=True)
            self._path = path
        return self._path

    def remove(self) -> None:
        if self._path is not None:
            shutil.rmtree(self._path, ignore_errors=True)
            self._path = None


def _manifest_key(line: str) -> str:
    return decode_path(line.partition("\0")[0])


class _Cursor:
    """One sorted manifest, walked in step with the sorted payload names."""

    def __init__(self, manifest: str, lines: Iterator[str]) -> None:
        self.manifest = manifest
        self._lines = lines
        self.path: str | None = None
        self._line = ""
        self._hex = ""
        self._advance()

    def _advance(self) -> None:
        line = next(self._lines, None)
        if line is None:
            self.path = None
            return
        encoded, hexdigest, number = line.split("\0")
        path = decode_path(encoded)
        if path == self.path:
            raise BagError(self.manifest, f"lines {self._line} and {number} both list {path!r}")
        self.path, self._hex, self._line = path, hexdigest, number

    def take(self, path: str) -> str:
        """The checksum this manifest gives ``path``, a file of the payload."""
        if self.path is not None and self.path < path:
            raise BagError(self.path, f"listed in {self.manifest} but not in the bag")
        if self.path != path:
            raise BagError(path, f"not listed in {self.manifest}")
        hexdigest = self._hex
        self._advance()
        return hexdigest

    def finish(self) -> None:
        if self.path is not None:
            raise BagError(self.path, f"listed in {self.manifest} but not in the bag")


class _Validation:
    def __init__(self, tree: SourceTree, prefix: str, spool: _Workdir, helper: ThreadPoolExecutor) -> None:
        self.tree = tree
        self.prefix = prefix
        self.spool = spool
        self.helper = helper
        self._buffers = (bytearray(CHUNK), bytearray(CHUNK))

    def run(self) -> BagInfo:
        for problem in self.tree.problems:  # entries the tree would not read: say which
            if problem.entry.startswith(self.prefix):
                raise BagError(problem.entry[len(self.prefix) :], problem.message)
        self._check_declaration()
        info = self._read_bag_info()
        oxum = self._declared_oxum(info)
        manifests = self._read_manifests(tag=False)
        if not manifests:
            raise BagError("manifest-sha512.txt", "no payload manifest (manifest-<algorithm>.txt) in the bag")
        tag_manifests = self._read_manifests(tag=True)
        # Complete: every payload file in every payload manifest, every listed file present.
        files = octets = 0
        cursors = [_Cursor(name, sorter.sorted_lines()) for name, _, sorter in manifests]
        for path in self._payload_names():
            files += 1
            octets += self.tree.size(self.prefix + path)
            for cursor in cursors:
                cursor.take(path)
        for cursor in cursors:
            cursor.finish()
        tag_files = list(self._tag_entries(tag_manifests))  # few; each one is a file of the tree
        for path, expected in tag_files:
            if self.prefix + path not in self.tree:
                manifest = next(iter(expected))
                raise BagError(path, f"listed in {manifest} but not in the bag")
        if oxum is not None and oxum != (octets, files):
            raise BagError(
                BAG_INFO,
                f"Payload-Oxum says {oxum[0]} bytes in {oxum[1]} files;"
                f" the payload holds {octets} bytes in {files} files",
            )
        # Valid: tag files first (small, and a changed manifest is then named as such).
        for path, expected in tag_files:
            self._verify(path, expected)
        cursors = [_Cursor(name, sorter.sorted_lines()) for name, _, sorter in manifests]
        for path in self._payload_names():
            self._verify(path, {cursor.manifest: cursor.take(path) for cursor in cursors})
        return BagInfo(
            prefix=self.prefix,
            info=info,
            algorithms=tuple(algorithm for _, algorithm, _ in manifests),
            tag_algorithms=tuple(algorithm for _, algorithm, _ in tag_manifests),
            payload_oxum=oxum,
            payload_files=files,
            payload_bytes=octets,
        )

    # -- tag files ----------------------------------------------------------------------------
    def _read_small(self, name: str) -> bytes:
        try:
            return self.tree.read_bytes(self.prefix + name, MAX_TAG_BYTES)
        except EntryError as exc:
            raise BagError(name, str(exc)) from None

    def _check_declaration(self) -> None:
        if self.prefix + BAGIT_TXT not in self.tree:
            raise BagError(BAGIT_TXT, "not found: not a BagIt bag")
        data = self._read_small(BAGIT_TXT)
        if data.startswith(b"\xef\xbb\xbf"):
            raise BagError(BAGIT_TXT, "starts with a byte-order mark, which RFC 8493 forbids")
        lines = _NEWLINE.split(data.decode("utf-8", "replace"))
        if lines[-1:] == [""]:
            lines.pop()
        version = lines[0] if lines else ""
        encoding = lines[1] if len(lines) > 1 else ""
        if (
            len(lines) != 2
            or version != "BagIt-Version: 1.0"
            or encoding.partition(": ")[0] != "Tag-File-Character-Encoding"
            or encoding.partition(": ")[2].upper() != "UTF-8"
        ):
            expected = DECLARATION.decode()
            raise BagError(
                BAGIT_TXT,
                f"not a BagIt 1.0 declaration in UTF-8 (expected {expected!r}, found {data[:200]!r})",
            )
        in_folder = not self.tree.is_zip and (self.tree.path / self.prefix / "data").is_dir()
        if not in_folder and next(self._payload_names(), None) is None:
            raise BagError(PAYLOAD, "no payload folder")

    def _read_bag_info(self) -> dict[str, list[str]]:
        if self.prefix + BAG_INFO not in self.tree:
            return {}
        try:
            text = self._read_small(BAG_INFO).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BagError(BAG_INFO, f"not UTF-8 ({exc})") from None
        return parse_bag_info(text)

    @staticmethod
    def _declared_oxum(info: Mapping[str, list[str]]) -> tuple[int, int] | None:
        values = info.get("Payload-Oxum")
        if values is None:
            return None
        if len(values) != 1 or not re.fullmatch(r"[0-9]+\.[0-9]+", values[0].strip()):
            raise BagError(BAG_INFO, f"Payload-Oxum is not one '<octets>.<files>': {values!r}")
        octets, files = values[0].strip().split(".")
        return int(octets), int(files)

    # -- manifests ----------------------------------------------------------------------------
    def _top_names(self, start: str) -> Iterator[str]:
        """The bag's top-level names that start with ``start``, relative to the bag."""
        names = self.tree.names()
        first = self.prefix + start
        for at in range(bisect_left(names, first), len(names)):
            name = names[at]
            if not name.startswith(first):
                return
            if "/" not in name[len(self.prefix) :]:
                yield name[len(self.prefix) :]

    def _payload_names(self) -> Iterator[str]:
        names = self.tree.names()
        first = self.prefix + PAYLOAD
        for at in range(bisect_left(names, first), len(names)):
            name = names[at]
            if not name.startswith(first):
                return
            yield name[len(self.prefix) :]

    def _read_manifests(self, *, tag: bool) -> list[tuple[str, str, _LineSorter]]:
        found: list[tuple[str, str, _LineSorter]] = []
        for name in self._top_names("tagmanifest-" if tag else "manifest-"):
            match = _MANIFEST.fullmatch(name)
            if match is None:
                continue  # another tag file (manifest-notes.md…)
            algorithm = match.group(2)
            if algorithm not in HEX_LENGTH:
                raise BagError(
                    name, f"unsupported algorithm {algorithm!r} (passerelle reads sha256 and sha512)"
                )
            found.append((name, algorithm, self._parse_manifest(name, algorithm, tag=tag)))
        # sha256 first: it is hashed on the calling thread, the others on the helper.
        found.sort(key=lambda item: (item[1] != "sha256", item[1]))
        return found

    def _lines(self, name: str) -> Iterator[tuple[int, str]]:
        number = 0
        try:
            with self.tree.open_entry(self.prefix + name) as stream:
                while raw := stream.readline(MAX_LINE + 1):
                    if len(raw) > MAX_LINE:
                        raise BagError(name, f"line {number + 1}: longer than {MAX_LINE} bytes")
                    if number == 0:
                        raw = raw.removeprefix(b"\xef\xbb\xbf")
                    body = raw[:-1] if raw.endswith(b"\n") else raw
                    body = body[:-1] if body.endswith(b"\r") else body
                    for piece in body.split(b"\r"):  # a lone CR ends a line too (RFC 8493 §2.1.3)
                        number += 1
                        try:
                            yield number, piece.decode("utf-8")
                        except UnicodeDecodeError:
                            raise BagError(name, f"line {number}: not UTF-8: {piece[:80]!r}") from None
        except EntryError as exc:
            raise BagError(name, str(exc)) from None

    def _parse_manifest(self, name: str, algorithm: str, *, tag: bool) -> _LineSorter:
        sorter = _LineSorter(self.spool, key=_manifest_key)
        for number, line in self._lines(name):
            if not line:
                continue
            match = _LINE.fullmatch(line)
            if match is None:
                raise BagError(name, f"line {number}: not '<checksum> <path>': {line[:80]!r}")
            hexdigest, encoded = match.groups()
            if len(hexdigest) != HEX_LENGTH[algorithm]:
                raise BagError(
                    name,
                    f"line {number}: a {algorithm} checksum has {HEX_LENGTH[algorithm]} hex digits,"
                    f" not {len(hexdigest)}",
                )
            path = decode_path(encoded)
            reason = unsafe_reason(path)
            if reason is not None:
                raise BagError(name, f"line {number}: unsafe path {path!r} ({reason})")
            if tag and (path.startswith(PAYLOAD) or path.startswith("tagmanifest-")):
                raise BagError(
                    name, f"line {number}: a tag manifest lists {path!r}, not a tag file it may list"
                )
            if not tag and not path.startswith(PAYLOAD):
                raise BagError(name, f"line {number}: {path!r} is not in the payload ({PAYLOAD})")
            sorter.add(f"{encoded}\0{hexdigest.lower()}\0{number}")
        return sorter

    def _tag_entries(
        self, manifests: Sequence[tuple[str, str, _LineSorter]]
    ) -> Iterator[tuple[str, dict[str, str]]]:
        """Each tag file the tag manifests list, with its checksum in each (manifest -> hex)."""
        cursors = [(name, sorter.sorted_lines()) for name, _, sorter in manifests]

        def entries(name: str, lines: Iterator[str]) -> Iterator[tuple[str, str, str, str]]:
            for line in lines:
                encoded, hexdigest, number = line.split("\0")
                yield decode_path(encoded), name, hexdigest, number

        path: str | None = None
        expected: dict[str, str] = {}
        lines: dict[str, str] = {}
        for entry_path, name, hexdigest, number in heapq.merge(*(entries(n, c) for n, c in cursors)):
            if entry_path != path:
                if path is not None:
                    yield path, expected
                path, expected, lines = entry_path, {}, {}
            if name in expected:
                raise BagError(name, f"lines {lines[name]} and {number} both list {entry_path!r}")
            expected[name], lines[name] = hexdigest, number
        if path is not None:
            yield path, expected

    # -- checksums ----------------------------------------------------------------------------
    def _verify(self, path: str, expected: Mapping[str, str]) -> None:
        """Hash the file once with every manifest's algorithm and compare."""
        algorithms = {manifest.rpartition("-")[2].removesuffix(".txt"): manifest for manifest in expected}
        names = sorted(algorithms, key=lambda a: (a != "sha256", a))
        digests = _Digests(names, self.helper)
        turn = 0
        try:
            with self.tree.open_entry(self.prefix + path) as entry:
                stream = cast(io.BufferedReader, entry)  # what open_entry returns
                while count := stream.readinto(self._buffers[turn]):
                    # The helper hashes this chunk while the next is read into the other buffer.
                    digests.update(memoryview(self._buffers[turn])[:count])
                    turn ^= 1
        except EntryError as exc:
            digests.wait()
            raise BagError(path, str(exc)) from None
        found = digests.hexdigests()
        for algorithm, manifest in algorithms.items():
            if found[algorithm] != expected[manifest]:
                raise BagError(
                    path,
                    f"checksum does not match {manifest} (expected {expected[manifest]}, found {found[algorithm]})",
                )
