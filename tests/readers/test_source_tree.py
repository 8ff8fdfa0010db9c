"""SourceTree: one defensive view of a zip or a folder; is_unsafe: which entry names escape."""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import random
import struct
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from passerelle.readers.source_tree import (
    BadSourceError,
    EntryError,
    Limits,
    Problem,
    SourceTree,
    is_unsafe,
)
from tests.slack_builder import write_folder, write_zip

ENTRIES: Mapping[str, bytes] = {
    "users.json": b'[{"id": "U1"}]',
    "channels.json": b'[{"id": "C1", "name": "general"}]',
    "general/2024-01-01.json": b'[{"ts": "1704100000.000100", "text": "hello"}]',
    "general/2024-01-02.json": b"[]",
    "café/2024-01-01.json": '[{"ts": "1704100000.000100", "text": "thé"}]'.encode(),
    "__uploads/F1/report final.pdf": bytes(range(256)) * 4,
    "deep/er/and/deeper/file.bin": b"\x00\x01\x02",
}


def problems(tree: SourceTree) -> list[tuple[str, str]]:
    return sorted((p.code, p.entry) for p in tree.problems)


@pytest.fixture(params=["zip", "folder"])
def tree(request: pytest.FixtureRequest, tmp_path: Path) -> SourceTree:
    if request.param == "zip":
        path = write_zip(tmp_path / "export.zip", ENTRIES)
    else:
        path = write_folder(tmp_path / "export", ENTRIES)
    opened = SourceTree.open(path)
    request.addfinalizer(opened.close)
    return opened


# -- is_unsafe ------------------------------------------------------------------------------------

UNSAFE = [
    "",
    "/etc/passwd",
    "/abs/evil.json",
    "\\evil.json",
    "../evil.json",
    "..",
    "a/../../b.json",
    "a/b/../../../c",
    "general/..",
    "..\\evil.json",
    "a\\b.json",
    "C:/evil.json",
    "C:evil.json",
    "c:\\windows\\evil",
    "//server/share/evil.json",
]
SAFE = [
    "users.json",
    "general/2024-01-01.json",
    "café/2024-01-01.json",
    "...",
    "..json",
    "a/..b/c",
    "a/./b",
    "a//b",
    "__uploads/F1/report: final.pdf",  # a colon past the first part is a file name, not a drive
    "teams/T1/users.json",
]


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_names(name: str) -> None:
    assert is_unsafe(name)


@pytest.mark.parametrize("name", SAFE)
def test_safe_names(name: str) -> None:
    assert not is_unsafe(name)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=["a", "b", ".", "/", "\\", ":"], max_size=14))
def test_a_safe_name_stays_inside_the_export(name: str) -> None:
    if not is_unsafe(name):
        assert posixpath.normpath(posixpath.join("/export", name)).startswith("/export")
        assert "\\" not in name and not name.startswith("/")


# -- opening ----------------------------------------------------------------------------------------


def test_open_refuses_what_is_neither_a_zip_nor_a_folder(tmp_path: Path) -> None:
    with pytest.raises(BadSourceError, match=r"nowhere: no such file or folder"):
        SourceTree.open(tmp_path / "nowhere")
    # A single file that is not a zip is a tree of one entry, named by the file's name
    # (test_slackdump.py tests it further); what is meant to be a zip must be one.
    (tmp_path / "text.txt").write_text("not a zip")
    tree = SourceTree.open(tmp_path / "text.txt")
    assert tree.names() == ["text.txt"] and tree.read_bytes("text.txt") == b"not a zip"
    (tmp_path / "empty.zip").write_bytes(b"")
    with pytest.raises(BadSourceError, match="not a readable zip file"):
        SourceTree.open(tmp_path / "empty.zip")


@pytest.mark.parametrize("keep", [0, 4, 22, 100, -1, -22, -23])
def test_truncated_zip_is_a_bad_source(tmp_path: Path, keep: int) -> None:
    data = write_zip(tmp_path / "full.zip", ENTRIES).read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[:keep])
    with pytest.raises(BadSourceError, match="not a readable zip file"):
        SourceTree.open(tmp_path / "cut.zip")


def test_random_damage_never_escapes_as_anything_but_the_documented_errors(tmp_path: Path) -> None:
    """Flip bytes anywhere: open raises BadSourceError, or every entry reads or raises EntryError."""
    data = write_zip(tmp_path / "full.zip", ENTRIES).read_bytes()
    rng = random.Random(20240101)
    damaged = tmp_path / "damaged.zip"
    outcomes = {"bad source": 0, "entry errors": 0, "clean": 0}
    for _ in range(300):
        out = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        damaged.write_bytes(bytes(out))
        try:
            tree = SourceTree.open(damaged, Limits(max_json_bytes=1 << 20))
        except BadSourceError:
            outcomes["bad source"] += 1
            continue
        try:
            failed = False
            for name in tree.names():
                try:
                    tree.read_bytes(name)
                    with tree.open_entry(name) as stream:
                        while stream.read(4096):
                            pass
                except EntryError as exc:
                    assert exc.code in ("source.unreadable_entry", "source.too_large")
                    failed = True
            outcomes["entry errors" if failed else "clean"] += 1
        finally:
            tree.close()
    assert all(outcomes.values()), outcomes


# -- listing: zip and folder alike ------------------------------------------------------------------


def test_zip_and_folder_list_the_same(tmp_path: Path) -> None:
    zipped = SourceTree.open(write_zip(tmp_path / "export.zip", ENTRIES))
    folder = SourceTree.open(write_folder(tmp_path / "export", ENTRIES))
    try:
        assert zipped.is_zip and not folder.is_zip
        assert zipped.names() == folder.names() == sorted(ENTRIES)
        for name, data in ENTRIES.items():
            assert name in zipped and name in folder
            assert zipped.size(name) == folder.size(name) == len(data)
            assert zipped.read_bytes(name) == folder.read_bytes(name) == data
            with zipped.open_entry(name) as a, folder.open_entry(name) as b:
                assert a.read() == b.read() == data
        assert "missing.json" not in zipped and "missing.json" not in folder
        assert zipped.problems == folder.problems == []
    finally:
        zipped.close()
        folder.close()


def test_zip_directory_entries_are_not_listed(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("general/", b"")
        zf.writestr("general/2024-01-01.json", b"[]")
    tree = SourceTree.open(path)
    assert tree.names() == ["general/2024-01-01.json"]
    assert tree.problems == []


def test_unknown_entry(tree: SourceTree) -> None:
    with pytest.raises(EntryError) as caught:
        tree.open_entry("missing.json")
    assert (caught.value.code, caught.value.entry) == ("source.unreadable_entry", "missing.json")
    with pytest.raises(EntryError):
        tree.read_bytes("missing.json")


# -- zip entry names --------------------------------------------------------------------------------


def test_utf8_names_without_the_flag_are_read_as_utf8(tmp_path: Path) -> None:
    """Slack writes UTF-8 names without the flag: zipfile reads cp437, the tree re-reads UTF-8."""
    name = "café/2024-01-01.json"
    mixed: dict[bytes | str, bytes] = {name.encode(): b"[]", "users.json": b"[]"}
    path = write_zip(tmp_path / "export.zip", mixed)
    info = zipfile.ZipFile(path).infolist()[0]
    assert not info.flag_bits & 0x800 and info.filename == name.encode().decode("cp437")
    tree = SourceTree.open(path)
    assert tree.names() == [name, "users.json"]
    assert tree.read_bytes(name) == b"[]"


def test_utf8_names_with_the_flag(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "export.zip", {"日本/2024-01-01.json": b"[]"})
    assert zipfile.ZipFile(path).infolist()[0].flag_bits & 0x800
    assert SourceTree.open(path).names() == ["日本/2024-01-01.json"]


def test_cp437_names_that_are_not_utf8_stay_cp437(tmp_path: Path) -> None:
    # 0x82 is 'é' in cp437 and not valid UTF-8 on its own: the name stays as zipfile read it.
    path = write_zip(tmp_path / "export.zip", {b"caf\x82.txt": b"x", b"\x80\x81.txt": b"y"})
    tree = SourceTree.open(path)
    assert tree.names() == ["café.txt", "Çü.txt"]
    assert tree.read_bytes("café.txt") == b"x"


def test_duplicate_entry_names_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.json", b"[1]")
        zf.writestr("a.json", b"[2, 2]")
    tree = SourceTree.open(path)
    assert tree.names() == ["a.json"]
    assert tree.read_bytes("a.json") == b"[2, 2]"  # what zipfile and unzip give: the later one
    assert problems(tree) == [("source.unreadable_entry", "a.json")]
    assert "two entries named 'a.json'" in tree.problems[0].message


def test_names_that_collide_once_decoded_are_reported(tmp_path: Path) -> None:
    """'café' flagged UTF-8 and 'café' written as UTF-8 bytes without the flag: one name."""
    mixed: dict[bytes | str, bytes] = {"café.json": b"[1]", "café.json".encode(): b"[2]"}
    path = write_zip(tmp_path / "export.zip", mixed)
    tree = SourceTree.open(path)
    assert tree.names() == ["café.json"]
    assert problems(tree) == [("source.unreadable_entry", "café.json")]


def test_unsafe_zip_names_are_problems_not_entries(tmp_path: Path) -> None:
    unsafe = ["../evil.json", "/abs/evil.json", "a/../../b.json", "..\\evil.json", "C:/evil.json"]
    path = write_zip(tmp_path / "export.zip", {**dict.fromkeys(unsafe, b"[]"), "users.json": b"[]"})
    tree = SourceTree.open(path)
    assert tree.names() == ["users.json"]
    assert problems(tree) == sorted(("source.unsafe_path", n) for n in unsafe)
    assert all(p.dropped == "entry" for p in tree.problems)
    for name in unsafe:
        assert name not in tree
        with pytest.raises(EntryError):
            tree.read_bytes(name)


# -- limits -----------------------------------------------------------------------------------------


def test_ratio_limit(tmp_path: Path) -> None:
    noise = random.Random(7).randbytes(100_000)
    path = write_zip(
        tmp_path / "export.zip",
        {"zeros.json": bytes(100_000), "noise.bin": noise, "small-zeros.json": bytes(999)},
    )
    tree = SourceTree.open(path, Limits(ratio_floor=1000, max_ratio=10))
    # zeros: 100 KB from ~100 bytes; small zeros: a high ratio, but under the floor.
    assert tree.names() == ["noise.bin", "small-zeros.json"]
    assert problems(tree) == [("source.too_large", "zeros.json")]
    message = tree.problems[0].message
    assert message.startswith("zip entry 'zeros.json' expands to 100000 bytes from ")
    assert message.endswith("; not read")
    with pytest.raises(EntryError) as caught:
        tree.open_entry("zeros.json")
    assert caught.value.code == "source.unreadable_entry"
    # With the default limits the same zip is fine: 100 KB is far under the 64 MiB floor.
    assert SourceTree.open(path).names() == ["noise.bin", "small-zeros.json", "zeros.json"]


def test_entry_size_limit(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "export.zip", {"at.bin": bytes(100), "over.bin": bytes(101)})
    tree = SourceTree.open(path, Limits(max_entry_bytes=100))
    assert tree.names() == ["at.bin"]
    assert problems(tree) == [("source.too_large", "over.bin")]


def test_a_real_bomb_is_refused_by_the_default_limits(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    info = zipfile.ZipInfo("general/2024-01-03.json")
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w") as zf, zf.open(info, "w") as out:
        zeros = bytes(1 << 20)
        for _ in range(80):  # 80 MiB: over the 64 MiB floor, ~80 KB deflated
            out.write(zeros)
    tree = SourceTree.open(path)
    assert tree.names() == []
    assert problems(tree) == [("source.too_large", "general/2024-01-03.json")]


@pytest.mark.parametrize("kind", ["zip", "folder"])
def test_read_bytes_limit(tmp_path: Path, kind: str) -> None:
    entries = {"hundred.json": b"x" * 100}
    path = write_zip(tmp_path / "e.zip", entries) if kind == "zip" else write_folder(tmp_path / "e", entries)
    tree = SourceTree.open(path, Limits(max_json_bytes=99))
    with pytest.raises(EntryError) as caught:
        tree.read_bytes("hundred.json")
    assert (caught.value.code, caught.value.entry) == ("source.too_large", "hundred.json")
    assert str(caught.value) == "'hundred.json' is larger than 99 bytes; not read"
    assert tree.read_bytes("hundred.json", limit=100) == b"x" * 100
    with pytest.raises(EntryError, match="larger than 10 bytes"):
        tree.read_bytes("hundred.json", limit=10)
    # The limit is on bytes read, not only on the size listed: streaming is not limited.
    with tree.open_entry("hundred.json") as stream:
        assert stream.read() == b"x" * 100


def test_read_bytes_reads_a_file_that_grew_up_to_the_limit(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "export", {"grows.json": b"x" * 10})
    tree = SourceTree.open(root)
    (root / "grows.json").write_bytes(b"y" * 200)  # after listing
    assert tree.size("grows.json") == 10
    assert tree.read_bytes("grows.json", limit=1000) == b"y" * 200
    with pytest.raises(EntryError) as caught:
        tree.read_bytes("grows.json", limit=100)
    assert caught.value.code == "source.too_large"


def test_declared_size_smaller_than_the_data_is_not_read_past(tmp_path: Path) -> None:
    """A central directory that under-declares an entry: reading stops there, and the CRC fails."""
    data = bytearray(write_zip(tmp_path / "e.zip", {"big.json": b"[" + b"1," * 5000 + b"1]"}).read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 10)
    (tmp_path / "forged.zip").write_bytes(bytes(data))
    tree = SourceTree.open(tmp_path / "forged.zip")
    assert tree.size("big.json") == 10
    with pytest.raises(EntryError) as caught:
        tree.read_bytes("big.json")
    assert caught.value.code == "source.unreadable_entry"


# -- corrupt entries: every failure is an EntryError --------------------------------------------------


def _data_offset(data: bytes, name: str) -> tuple[zipfile.ZipInfo, int]:
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    return info, info.header_offset + 30 + name_len + extra_len


def _damaged(tmp_path: Path, how: str) -> SourceTree:
    content = b'[{"text": "' + b"words " * 500 + b'"}]'
    data = bytearray(write_zip(tmp_path / "e.zip", {"a.json": content, "b.json": b"[]"}).read_bytes())
    info, start = _data_offset(bytes(data), "a.json")
    central = data.index(b"PK\x01\x02")
    if how == "bad-deflate":
        data[start : start + info.compress_size] = b"\xff" * info.compress_size
    elif how == "bad-crc":
        data[start + info.compress_size - 2] ^= 0x55
    elif how == "encrypted":
        for at in (info.header_offset + 6, central + 8):
            data[at] |= 0x1
    elif how == "unknown-method":
        for at in (info.header_offset + 8, central + 10):
            data[at : at + 2] = struct.pack("<H", 99)
    (tmp_path / "damaged.zip").write_bytes(bytes(data))
    return SourceTree.open(tmp_path / "damaged.zip")


@pytest.mark.parametrize("how", ["bad-deflate", "bad-crc", "encrypted", "unknown-method"])
def test_corrupt_entry_raises_entry_error(tmp_path: Path, how: str) -> None:
    tree = _damaged(tmp_path, how)
    assert tree.names() == ["a.json", "b.json"]
    with pytest.raises(EntryError) as caught:
        tree.read_bytes("a.json")
    assert (caught.value.code, caught.value.entry) == ("source.unreadable_entry", "a.json")
    assert str(caught.value).startswith("'a.json' could not be read: ")
    # Streamed (as file bytes are, into the blob store): the error comes as an EntryError too.
    with pytest.raises(EntryError):  # noqa: SIM117 - the error may come from open or from read
        with tree.open_entry("a.json") as stream:
            while stream.read(1000):
                pass
    assert tree.read_bytes("b.json") == b"[]"
    tree.fingerprint()  # of the zip's bytes: unaffected


# -- folders: links, special files, names -------------------------------------------------------------


def test_symlinks(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "export", {"users.json": b"[]", "notes/readme.txt": b"read me"})
    (tmp_path / "outside.json").write_bytes(b'["secret"]')
    (tmp_path / "outside-dir").mkdir()
    os.symlink("../users.json", root / "notes" / "inside-link.txt")  # inside the export: read through
    os.symlink("readme.txt", root / "notes" / "sibling-link.txt")
    os.symlink(tmp_path / "outside.json", root / "out.json")
    os.symlink("../outside.json", root / "relative-out.json")
    os.symlink(tmp_path / "outside-dir", root / "out-dir")
    os.symlink(root / "notes", root / "in-dir")  # a link to a folder inside: not followed
    os.symlink("nowhere.json", root / "dangling.json")
    os.symlink("loop-b", root / "loop-a")
    os.symlink("loop-a", root / "loop-b")
    tree = SourceTree.open(root)
    assert tree.names() == [
        "notes/inside-link.txt",
        "notes/readme.txt",
        "notes/sibling-link.txt",
        "users.json",
    ]
    assert tree.read_bytes("notes/sibling-link.txt") == b"read me"
    assert tree.size("notes/sibling-link.txt") == 7
    assert tree.read_bytes("notes/inside-link.txt") == b"[]"
    assert problems(tree) == [
        ("source.unsafe_path", name)
        for name in [
            "dangling.json",
            "in-dir",
            "loop-a",
            "loop-b",
            "out-dir",
            "out.json",
            "relative-out.json",
        ]
    ]


def test_fifo_is_a_problem_and_never_opened(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "export", {"users.json": b"[]"})
    os.mkfifo(root / "pipe.json")
    tree = SourceTree.open(root)
    assert tree.names() == ["users.json"]
    assert problems(tree) == [("source.unreadable_entry", "pipe.json")]
    tree.fingerprint()  # would block if the FIFO were opened


def test_newline_in_a_folder_name(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "export", {"users.json": b"[]"})
    try:
        (root / "a\nb.txt").write_bytes(b"x")
    except OSError:
        pytest.skip("the file system refuses a newline in a name")
    tree = SourceTree.open(root)
    assert tree.names() == ["a\nb.txt", "users.json"]
    assert tree.read_bytes("a\nb.txt") == b"x"
    assert tree.problems == []


def test_name_that_is_not_utf8(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "export", {"users.json": b"[]"})
    try:
        with open(os.fsencode(root) + b"/caf\xe9.txt", "wb") as handle:
            handle.write(b"x")
    except OSError:
        pytest.skip("the file system refuses a name that is not UTF-8")
    tree = SourceTree.open(root)
    assert tree.names() == ["café.txt", "users.json"]  # read as cp1252
    assert tree.read_bytes("café.txt") == b"x"
    with tree.open_entry("café.txt") as stream:
        assert stream.read() == b"x"
    assert tree.problems == [
        Problem(
            "source.not_utf8",
            "café.txt",
            "file name b'caf\\xe9.txt' is not UTF-8; read as cp1252: 'café.txt'",
            dropped=None,
        )
    ]
    for name in tree.names():  # every name can be stored (no lone surrogates)
        name.encode("utf-8")
    digest, size = tree.fingerprint()
    # The name counts as its bytes: not the same source as one with the UTF-8 name.
    other = write_folder(tmp_path / "other", {"users.json": b"[]", "café.txt": b"x"})
    assert SourceTree.open(other).fingerprint() != (digest, size)
    assert SourceTree.open(other).fingerprint()[1] == size


def test_name_that_is_not_utf8_clashing_with_its_reading(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "export", {"café.txt": b"utf-8 name"})
    try:
        with open(os.fsencode(root) + b"/caf\xe9.txt", "wb") as handle:
            handle.write(b"cp1252 name")
    except OSError:
        pytest.skip("the file system refuses a name that is not UTF-8")
    tree = SourceTree.open(root)
    assert tree.names() == ["café.txt"]
    assert tree.read_bytes("café.txt") == b"utf-8 name"
    assert problems(tree) == [("source.unreadable_entry", "café.txt")]


# -- fingerprint ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["zip", "folder"])
def test_fingerprint(tmp_path: Path, kind: str) -> None:
    def make(where: Path, entries: Mapping[str, bytes]) -> Path:
        if kind == "zip":
            return write_zip(where.with_suffix(".zip"), entries)
        return write_folder(where, entries)

    def fingerprint(path: Path) -> tuple[str, int]:
        tree = SourceTree.open(path)
        try:
            return tree.fingerprint()
        finally:
            tree.close()

    first = make(tmp_path / "a", ENTRIES)
    digest, size = fingerprint(first)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert fingerprint(first) == (digest, size)  # stable
    expected_size = first.stat().st_size if kind == "zip" else sum(len(d) for d in ENTRIES.values())
    assert size == expected_size
    # The same content elsewhere: the same fingerprint (it does not depend on the path).
    assert fingerprint(make(tmp_path / "b", ENTRIES)) == (digest, size)
    # One byte changed: another source.
    changed = {**ENTRIES, "users.json": b'[{"id": "U2"}]'}  # was U1
    assert fingerprint(make(tmp_path / "c", changed)) != (digest, size)
    # Same bytes under another name: another source.
    renamed = {
        ("general/2024-01-03.json" if k == "general/2024-01-02.json" else k): v for k, v in ENTRIES.items()
    }
    assert fingerprint(make(tmp_path / "d", renamed))[0] != digest


def test_fingerprint_of_a_zip_is_its_bytes(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "e.zip", ENTRIES)
    assert SourceTree.open(path).fingerprint() == (
        hashlib.sha256(path.read_bytes()).hexdigest(),
        path.stat().st_size,
    )


def test_a_folder_that_cannot_be_listed_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_folder(tmp_path / "export", {"users.json": b"[]", "general/2024-01-01.json": b"[]"})
    real_scandir = os.scandir

    def scandir(path: str) -> Iterator[os.DirEntry[str]]:
        if os.path.basename(path) == "general":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    tree = SourceTree.open(root)
    assert tree.names() == ["users.json"]
    assert problems(tree) == [("source.unreadable_entry", "general")]
    assert "could not be listed" in tree.problems[0].message


class _Trickle(io.RawIOBase):
    """A file that hands out at most 3 bytes a read, as an unbuffered read may."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(min(3, len(buffer)))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_read_bytes_does_not_stop_at_a_short_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"[" + b"1," * 50 + b"1]"
    tree = SourceTree.open(write_folder(tmp_path / "export", {"a.json": data}))
    monkeypatch.setattr(tree, "_open", lambda name: _Trickle(data))
    assert tree.read_bytes("a.json") == data
    with pytest.raises(EntryError, match="larger than 10 bytes"):
        tree.read_bytes("a.json", limit=10)
