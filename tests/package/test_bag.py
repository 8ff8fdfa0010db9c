"""BagWriter and validate_bag (RFC 8493 BagIt 1.0), with bagit-python as the independent oracle:
bags we write pass its full validation, and every tampering we refuse, it refuses too."""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import bagit  # type: ignore[import-untyped, unused-ignore]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from passerelle.errors import BadInputError
from passerelle.package import bag as bag_module
from passerelle.package.bag import (
    BagError,
    BagWriter,
    decode_path,
    encode_path,
    find_bag_prefix,
    format_bag_info,
    human_size,
    parse_bag_info,
    validate_bag,
)
from passerelle.readers.source_tree import SourceTree

STREAMED_SIZE = 3 * (1 << 20) + 12345  # large-ish: several chunks, some handed to the helper thread
INFO: dict[str, str | list[str]] = {
    "Source-Organization": "Passerelle tests",
    "External-Description": "A bag made by the tests.\nIts second line.",
    "Passerelle-Source": ["slack: export.zip", "mattermost: bulk.jsonl"],
}


def _streamed_bytes() -> bytes:
    return random.Random(7).randbytes(STREAMED_SIZE)


def _contents(tmp_path: Path) -> dict[str, bytes]:
    """The payload of the sample bag, by path."""
    return {
        "data/passerelle-package.json": b'{"format": "passerelle-package"}\n',
        "data/activitystreams/spaces/C1/items/page-000001.jsonld": b'{"type": "OrderedCollectionPage"}',
        "data/empty.txt": b"",
        "data/files/with space/café ünïcode.txt": "thé à la menthe\n".encode(),
        "data/files/sha256/ab/source.bin": bytes(range(256)) * 300,
        "data/big/streamed.bin": _streamed_bytes(),
    }


def write_sample(
    root: Path, tmp_path: Path, info: dict[str, str | list[str]] | None = None
) -> dict[str, bytes]:
    """A bag of every kind of file BagWriter takes: bytes, a copied file, a stream of mixed writes, a tag file."""
    contents = _contents(tmp_path)
    source = tmp_path / "source.bin"
    source.write_bytes(contents["data/files/sha256/ab/source.bin"])
    with BagWriter(root) as bag:
        for path in (
            "data/passerelle-package.json",
            "data/empty.txt",
            "data/files/with space/café ünïcode.txt",
        ):
            bag.add_bytes(path, contents[path])
        sha, size = bag.add_file("data/files/sha256/ab/source.bin", source)
        assert (sha, size) == (hashlib.sha256(source.read_bytes()).hexdigest(), source.stat().st_size)
        with bag.open("data/big/streamed.bin") as out:
            data = contents["data/big/streamed.bin"]
            reused = bytearray(300_000)
            at = 0
            # small writes gathered, large bytes hashed on the helper, a reused buffer, a memoryview
            for size in (10, 100_000, 1 << 20, 7, 300_000, 65_536, 1 << 20):
                piece = data[at : at + size]
                if size == 300_000:
                    reused[:] = piece
                    out.write(reused)
                    reused[:] = b"\xff" * size  # changed after write returned: must not count
                elif size == 65_536:
                    out.write(memoryview(piece))
                else:
                    out.write(piece)
                at += size
            out.write(data[at:])
        with bag.open("data/activitystreams/spaces/C1/items/page-000001.jsonld") as out:
            out.write(contents["data/activitystreams/spaces/C1/items/page-000001.jsonld"])
        bag.add_tag_bytes("README.html", b"<!doctype html><title>README</title>\n")
        bag.finish(INFO if info is None else info)
    return contents


def zip_bag(root: Path, out: Path, top: str | None = "package") -> Path:
    """The bag zipped, under a top-level folder (as a person zips a folder) unless top is None."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            name = path.relative_to(root).as_posix()
            name = f"{top}/{name}" if top else name
            if path.is_dir():
                archive.writestr(name + "/", b"")
            else:
                archive.write(path, name)
    return out


def all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def our_validation(root: Path) -> bag_module.BagInfo:
    tree = SourceTree.open(root)
    try:
        return validate_bag(tree)
    finally:
        tree.close()


def bagit_rejects(root: Path) -> bool:
    """bagit-python's full validation refuses the bag (at loading or validating)."""
    try:
        loaded = bagit.Bag(str(root))
    except bagit.BagError:
        return True
    return not loaded.is_valid()


def resign_tag_manifests(root: Path) -> None:
    """Recompute the tag manifests with hashlib, as a tamperer covering their tracks would:
    the tampering must then be found by what it broke, not by the tag manifests."""
    for algorithm in ("sha256", "sha512"):
        manifest = root / f"tagmanifest-{algorithm}.txt"
        lines = []
        for line in manifest.read_text(encoding="utf-8").splitlines():
            path = line.split(None, 1)[1]
            if not (root / path).is_file():
                lines.append(line + "\n")
                continue
            lines.append(f"{hashlib.new(algorithm, (root / path).read_bytes()).hexdigest()}  {path}\n")
        manifest.write_text("".join(lines), encoding="utf-8")


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[tuple[Path, dict[str, bytes]]]:
    root = tmp_path / "bag"
    contents = write_sample(root, tmp_path)
    yield root, contents


# -- a bag we write ---------------------------------------------------------------------------------


def test_bagit_python_validates_the_bag(sample: tuple[Path, dict[str, bytes]]) -> None:
    root, contents = sample
    oracle = bagit.Bag(str(root))
    assert oracle.validate() is True
    assert oracle.is_valid()
    assert sorted(oracle.algorithms) == ["sha256", "sha512"]
    assert set(oracle.payload_files()) == set(contents)
    assert oracle.info["Source-Organization"] == "Passerelle tests"
    assert oracle.info["Passerelle-Source"] == ["slack: export.zip", "mattermost: bulk.jsonl"]
    octets = sum(len(data) for data in contents.values())
    assert oracle.info["Payload-Oxum"] == f"{octets}.{len(contents)}"


def test_files_hold_what_was_written_and_manifests_are_sorted(sample: tuple[Path, dict[str, bytes]]) -> None:
    root, contents = sample
    for path, data in contents.items():
        assert (root / path).read_bytes() == data, path
    for algorithm in ("sha256", "sha512"):
        lines = (root / f"manifest-{algorithm}.txt").read_text(encoding="utf-8").splitlines()
        expected = [f"{hashlib.new(algorithm, contents[p]).hexdigest()}  {p}" for p in sorted(contents)]
        assert lines == expected
    tagged = [line.split("  ", 1)[1] for line in (root / "tagmanifest-sha512.txt").read_text().splitlines()]
    assert tagged == sorted(
        ["README.html", "bag-info.txt", "bagit.txt", "manifest-sha256.txt", "manifest-sha512.txt"]
    )
    assert (root / "bagit.txt").read_bytes() == b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    assert sorted(p.name for p in root.iterdir()) == [
        "README.html", "bag-info.txt", "bagit.txt", "data", "manifest-sha256.txt", "manifest-sha512.txt",
        "tagmanifest-sha256.txt", "tagmanifest-sha512.txt",
    ]  # fmt: skip


def test_bag_info_labels_in_order_then_oxum_and_size(sample: tuple[Path, dict[str, bytes]]) -> None:
    root, contents = sample
    octets = sum(len(data) for data in contents.values())
    assert (root / "bag-info.txt").read_text(encoding="utf-8") == (
        "Source-Organization: Passerelle tests\n"
        "External-Description: A bag made by the tests.\n  Its second line.\n"
        "Passerelle-Source: slack: export.zip\n"
        "Passerelle-Source: mattermost: bulk.jsonl\n"
        f"Payload-Oxum: {octets}.{len(contents)}\n"
        f"Bag-Size: {human_size(octets)}\n"
    )


def test_our_validator_accepts_the_folder_and_the_zip(
    sample: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    root, contents = sample
    octets = sum(len(data) for data in contents.values())
    found = our_validation(root)
    assert found.prefix == ""
    assert found.algorithms == ("sha256", "sha512")
    assert found.tag_algorithms == ("sha256", "sha512")
    assert (found.payload_files, found.payload_bytes) == (len(contents), octets)
    assert found.payload_oxum == (octets, len(contents))
    assert found.info["External-Description"] == ["A bag made by the tests.\nIts second line."]
    assert found.info["Passerelle-Source"] == ["slack: export.zip", "mattermost: bulk.jsonl"]
    for top in ("package", None):
        tree = SourceTree.open(zip_bag(root, tmp_path / f"bag-{top}.zip", top))
        try:
            assert tree.is_zip
            zipped = validate_bag(tree)
        finally:
            tree.close()
        assert zipped.prefix == ("package/" if top else "")
        assert (zipped.payload_files, zipped.payload_bytes) == (len(contents), octets)


def test_same_files_give_byte_identical_bags(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    write_sample(tmp_path / "one" / "bag", tmp_path / "one")
    write_sample(tmp_path / "two" / "bag", tmp_path / "two")
    first, second = all_files(tmp_path / "one" / "bag"), all_files(tmp_path / "two" / "bag")
    assert list(first) == list(second)
    assert first == second


def test_a_date_only_when_the_caller_gives_one(tmp_path: Path) -> None:
    with BagWriter(tmp_path / "dated") as bag:
        bag.add_bytes("data/a", b"a")
        bag.finish({"Bagging-Date": "2026-01-02"})
    with BagWriter(tmp_path / "undated") as bag:
        bag.add_bytes("data/a", b"a")
        bag.finish({})
    assert (tmp_path / "dated" / "bag-info.txt").read_text().startswith("Bagging-Date: 2026-01-02\n")
    assert (tmp_path / "undated" / "bag-info.txt").read_text() == "Payload-Oxum: 1.1\nBag-Size: 1 B\n"


def test_a_percent_in_a_name_is_encoded_as_rfc_8493_says(tmp_path: Path) -> None:
    root = tmp_path / "bag"
    with BagWriter(root) as bag:
        bag.add_bytes("data/100% sure.txt", b"x")
        bag.add_bytes("data/a%0Ab.txt", b"y")  # looks like an escape: must stay this name
        bag.finish({})
    lines = (root / "manifest-sha256.txt").read_text().splitlines()
    assert [line.split("  ", 1)[1] for line in lines] == ["data/100%25 sure.txt", "data/a%250Ab.txt"]
    assert our_validation(root).payload_files == 2


@pytest.mark.xfail(
    strict=True,
    reason="bagit-python 1.9.0 does not decode %25 in manifest paths (LibraryOfCongress/bagit-python#157)",
)
def test_bagit_python_reads_a_percent_encoded_name(tmp_path: Path) -> None:
    root = tmp_path / "bag"
    with BagWriter(root) as bag:
        bag.add_bytes("data/100% sure.txt", b"x")
        bag.finish({})
    assert bagit.Bag(str(root)).is_valid()


def test_an_empty_payload_is_a_valid_bag(tmp_path: Path) -> None:
    root = tmp_path / "bag"
    with BagWriter(root) as bag:
        bag.finish({})
    assert bagit.Bag(str(root)).is_valid()
    found = our_validation(root)
    assert (found.payload_files, found.payload_oxum) == (0, (0, 0))


# -- sorting with bounded memory --------------------------------------------------------------------


def test_external_sort_gives_the_same_bag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"data/d{n % 7}/f{n:03d}.txt" for n in range(60)] + ["data/z é", "data/Z"]
    random.Random(3).shuffle(names)

    def write(root: Path) -> None:
        with BagWriter(root) as bag:
            for name in names:
                bag.add_bytes(name, name.encode() * 3)
            bag.finish({"Source-Organization": "x"})
            assert not (root / ".passerelle-bag-spool").exists()

    write(tmp_path / "in-memory")
    monkeypatch.setattr(bag_module, "MAX_SORT_LINES", 4)  # 16 runs …
    monkeypatch.setattr(bag_module, "MERGE_FAN_IN", 3)  # … merged in several passes
    runs: list[Path] = []
    real_write_run = bag_module._LineSorter._write_run

    def counting(self: bag_module._LineSorter, lines: Iterator[str]) -> Path:
        path: Path = real_write_run(self, lines)
        runs.append(path)
        return path

    monkeypatch.setattr(bag_module._LineSorter, "_write_run", counting)
    write(tmp_path / "external")
    assert len(runs) > 16  # the sorted runs, then the merge passes
    assert all_files(tmp_path / "external") == all_files(tmp_path / "in-memory")
    assert bagit.Bag(str(tmp_path / "external")).is_valid()
    runs.clear()
    # The validator sorts manifests the same way, and reads unsorted ones.
    manifest = tmp_path / "external" / "manifest-sha512.txt"
    manifest.write_text("".join(reversed(manifest.read_text().splitlines(keepends=True))))
    resign_tag_manifests(tmp_path / "external")
    assert our_validation(tmp_path / "external").payload_files == len(names)
    assert runs


def test_external_sort_finds_a_name_listed_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "bag"
    with BagWriter(root) as bag:
        for n in range(20):
            bag.add_bytes(f"data/f{n:02d}", b"%d" % n)
        bag.finish({})
    manifest = root / "manifest-sha256.txt"
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join([*lines, lines[5]]))
    resign_tag_manifests(root)
    monkeypatch.setattr(bag_module, "MAX_SORT_LINES", 3)
    with pytest.raises(BagError) as caught:
        our_validation(root)
    assert str(caught.value) == "manifest-sha256.txt: lines 6 and 21 both list 'data/f05'"


# -- tampering: refused by us, naming the file, and by bagit-python ---------------------------------

STREAMED = "data/big/streamed.bin"


def _change_a_byte(root: Path) -> None:
    path = root / STREAMED
    data = bytearray(path.read_bytes())
    data[STREAMED_SIZE // 2] ^= 1
    path.write_bytes(bytes(data))


def _append_to(name: str, text: str) -> Callable[[Path], None]:
    def append(root: Path) -> None:
        with (root / name).open("a", encoding="utf-8") as out:
            out.write(text)

    return append


def _shorten_a_checksum(root: Path) -> None:
    manifest = root / "manifest-sha512.txt"
    lines = manifest.read_text().splitlines(keepends=True)
    lines[2] = lines[2][:100] + lines[2][128:]
    manifest.write_text("".join(lines))


def _edit_bag_info(root: Path) -> None:
    info = root / "bag-info.txt"
    info.write_text(info.read_text().replace("Passerelle tests", "Someone else"))


TAMPERING: dict[str, tuple[Callable[[Path], object], str]] = {
    "changed byte": (
        _change_a_byte,
        f"{STREAMED}: checksum does not match manifest-sha256.txt (expected "
        + hashlib.sha256(_streamed_bytes()).hexdigest(),
    ),
    "missing file": (
        lambda root: (root / "data/empty.txt").unlink(),
        "data/empty.txt: listed in manifest-sha256.txt but not in the bag",
    ),
    "extra file": (
        lambda root: (root / "data/files/intruder.txt").write_bytes(b"not listed"),
        "data/files/intruder.txt: not listed in manifest-sha256.txt",
    ),
    "garbage line": (
        _append_to("manifest-sha512.txt", "this is not a manifest line\n"),
        "manifest-sha512.txt: line 7: not '<checksum> <path>': 'this is not a manifest line'",
    ),
    "short checksum": (
        _shorten_a_checksum,
        "manifest-sha512.txt: line 3: a sha512 checksum has 128 hex digits, not 100",
    ),
    "bag-info edited": (_edit_bag_info, "bag-info.txt: checksum does not match tagmanifest-sha256.txt"),
    "path traversal": (
        _append_to("manifest-sha256.txt", f"{'0' * 64}  data/../../../etc/passwd\n"),
        "manifest-sha256.txt: line 7: unsafe path 'data/../../../etc/passwd'",
    ),
    "traversal in a tag manifest": (
        _append_to("tagmanifest-sha256.txt", f"{'0' * 64}  ../outside.txt\n"),
        "tagmanifest-sha256.txt: line 6: unsafe path '../outside.txt'",
    ),
    "absolute path": (
        _append_to("manifest-sha256.txt", f"{'0' * 64}  /etc/passwd\n"),
        "manifest-sha256.txt: line 7: unsafe path '/etc/passwd' (absolute path)",
    ),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_refused_naming_the_file(sample: tuple[Path, dict[str, bytes]], case: str) -> None:
    root, _ = sample
    tamper, message = TAMPERING[case]
    tamper(root)
    with pytest.raises(BagError) as caught:
        our_validation(root)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, BadInputError)
    assert bagit_rejects(root)


@pytest.mark.parametrize("case", ["garbage line", "short checksum", "path traversal", "extra file"])
def test_tampering_is_found_even_with_tag_manifests_recomputed(
    sample: tuple[Path, dict[str, bytes]], case: str
) -> None:
    root, _ = sample
    tamper, message = TAMPERING[case]
    tamper(root)
    resign_tag_manifests(root)
    with pytest.raises(BagError) as caught:
        our_validation(root)
    assert str(caught.value).startswith(message)


def test_tampering_in_a_zip_is_refused(sample: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, _ = sample
    _change_a_byte(root)
    tree = SourceTree.open(zip_bag(root, tmp_path / "bag.zip"))
    try:
        with pytest.raises(
            BagError, match="^" + re.escape(f"{STREAMED}: checksum does not match manifest-sha256.txt")
        ):
            validate_bag(tree)
    finally:
        tree.close()


def test_a_changed_manifest_is_named_by_the_tag_manifest(sample: tuple[Path, dict[str, bytes]]) -> None:
    root, _ = sample
    manifest = root / "manifest-sha256.txt"
    text = manifest.read_text()
    manifest.write_text(text.replace(text[:8], "00000000", 1))
    with pytest.raises(
        BagError, match="^" + re.escape("manifest-sha256.txt: checksum does not match tagmanifest-sha256.txt")
    ):
        our_validation(root)
    assert bagit_rejects(root)


def _replace(name: str, old: bytes, new: bytes) -> Callable[[Path], None]:
    def replace(root: Path) -> None:
        path = root / name
        data = path.read_bytes()
        assert old in data
        path.write_bytes(data.replace(old, new, 1))

    return replace


STRUCTURE: dict[str, tuple[Callable[[Path], object], str]] = {
    "bom": (
        _replace("bagit.txt", b"BagIt", b"\xef\xbb\xbfBagIt"),
        "bagit.txt: starts with a byte-order mark",
    ),
    "old version": (_replace("bagit.txt", b"1.0", b"0.97"), "bagit.txt: not a BagIt 1.0 declaration"),
    # bagit-conformance-suite v1.0/invalid/bagit-with-invalid-whitespace, which bagit-python accepts
    "space before the colon": (
        _replace("bagit.txt", b"BagIt-Version:", b"BagIt-Version :"),
        "bagit.txt: not a BagIt 1.0 declaration",
    ),
    "no payload": (lambda root: shutil.rmtree(root / "data"), "data/: no payload folder"),
    "md5 manifest": (
        lambda root: (root / "manifest-md5.txt").write_text(""),
        "manifest-md5.txt: unsupported algorithm 'md5'",
    ),
    "oxum": (
        _replace("bag-info.txt", b"Payload-Oxum: ", b"Payload-Oxum: 1"),
        "bag-info.txt: Payload-Oxum says 1",
    ),
    "listed tag file missing": (
        lambda root: (root / "README.html").unlink(),
        "README.html: listed in tagmanifest-sha256.txt but not in the bag",
    ),
    "payload file in a tag manifest": (
        _append_to("tagmanifest-sha256.txt", f"{'0' * 64}  data/empty.txt\n"),
        "tagmanifest-sha256.txt: line 6: a tag manifest lists 'data/empty.txt'",
    ),
    "tag file in a payload manifest": (
        _append_to("manifest-sha256.txt", f"{'0' * 64}  bagit.txt\n"),
        "manifest-sha256.txt: line 7: 'bagit.txt' is not in the payload",
    ),
    "continuation with no label": (
        lambda root: (root / "bag-info.txt").write_text("  floating\n"),
        "bag-info.txt: line 1: a continuation line with no label",
    ),
}


@pytest.mark.parametrize("case", list(STRUCTURE))
def test_malformed_bags_are_refused(sample: tuple[Path, dict[str, bytes]], case: str) -> None:
    root, _ = sample
    tamper, message = STRUCTURE[case]
    tamper(root)
    resign_tag_manifests(root)  # so that the fault itself is what is found
    with pytest.raises(BagError) as caught:
        our_validation(root)
    assert str(caught.value).startswith(message)


def test_crlf_and_uppercase_manifests_of_other_tools_are_read(sample: tuple[Path, dict[str, bytes]]) -> None:
    root, contents = sample
    manifest = root / "manifest-sha256.txt"
    lines = manifest.read_text().splitlines()
    manifest.write_bytes("".join(f"{line[:64].upper()}\t{line[66:]}\r\n" for line in lines).encode())
    resign_tag_manifests(root)
    assert our_validation(root).payload_files == len(contents)


def test_a_bag_made_by_bagit_python_is_read_once_declared_1_0(tmp_path: Path) -> None:
    folder = tmp_path / "made"
    (folder / "sub dir").mkdir(parents=True)
    (folder / "sub dir" / "é.txt").write_text("thé")
    (folder / "empty").write_bytes(b"")
    bagit.make_bag(str(folder), {"Source-Organization": "LoC"}, checksums=["sha256", "sha512"])
    # bagit-python 1.9.0 declares BagIt 0.97, whose rules differ: refused, saying so.
    with pytest.raises(BagError, match=r"^bagit\.txt: not a BagIt 1\.0 declaration"):
        our_validation(folder)
    # The same bag declared 1.0 (nothing in it breaks 1.0's rules): its manifests and
    # bag-info, as another tool writes them, are read.
    declaration = folder / "bagit.txt"
    declaration.write_bytes(declaration.read_bytes().replace(b"0.97", b"1.0"))
    resign_tag_manifests(folder)
    assert bagit.Bag(str(folder)).is_valid()
    found = our_validation(folder)
    assert (found.payload_files, found.payload_bytes) == (2, len("thé".encode()))
    assert found.info["Source-Organization"] == ["LoC"]
    (folder / "data" / "sub dir" / "é.txt").write_bytes(b"the!")  # same size: the checksum finds it
    with pytest.raises(BagError, match=r"^data/sub dir/é\.txt: checksum does not match"):
        our_validation(folder)


def test_a_zip_that_is_not_one_bag_is_not_a_bag(
    sample: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    root, _ = sample
    archive = zip_bag(root, tmp_path / "bag.zip")
    with zipfile.ZipFile(archive, "a") as out:
        out.writestr("stray.txt", b"beside the folder")
    tree = SourceTree.open(archive)
    try:
        with pytest.raises(BagError, match=r"^bagit\.txt: not found"):
            find_bag_prefix(tree)
        assert validate_bag(tree, "package/").prefix == "package/"  # told where: read
    finally:
        tree.close()


def test_a_link_out_of_the_bag_is_refused(sample: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, _ = sample
    (tmp_path / "secret").write_bytes(b"secret")
    (root / "data" / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(BagError, match=r"^data/link: .*link out of the export"):
        our_validation(root)


# -- the writer refuses what it cannot write faithfully ----------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "data/../escape", "/data/abs", "data//double", "data/./dot", "data/a\nb", "data/a\rb", "data/nul\0",
        "data/", "notdata/x", "data", "data/trailing/", "data\\x", "data/lone\udcff",
    ],
)  # fmt: skip
def test_unsafe_payload_paths_are_refused(tmp_path: Path, path: str) -> None:
    with BagWriter(tmp_path / "bag") as bag:
        with pytest.raises(ValueError, match="^" + re.escape(repr(path))):
            bag.add_bytes(path, b"x")
        bag.finish({})
    assert not any((tmp_path / "bag" / "data").iterdir())


@pytest.mark.parametrize(
    "path", ["bagit.txt", "manifest-sha256.txt", "tagmanifest-md5.txt", "data/x", "fetch.txt"]
)
def test_reserved_tag_names_are_refused(tmp_path: Path, path: str) -> None:
    with BagWriter(tmp_path / "bag") as bag, pytest.raises(ValueError, match="reserved"):
        bag.add_tag_bytes(path, b"x")


def test_a_path_written_twice_or_clashing_is_refused(tmp_path: Path) -> None:
    with BagWriter(tmp_path / "bag") as bag:
        bag.add_bytes("data/a", b"first")
        with pytest.raises(ValueError, match="already in the bag"):
            bag.add_bytes("data/a", b"second")
        with pytest.raises(ValueError, match="already in the bag"):
            bag.add_bytes("data/a/b", b"under a file")
        bag.finish({})
    assert (tmp_path / "bag" / "data" / "a").read_bytes() == b"first"
    assert our_validation(tmp_path / "bag").payload_files == 1


def test_an_error_while_streaming_leaves_no_file(tmp_path: Path) -> None:
    root = tmp_path / "bag"
    with BagWriter(root) as bag:
        with pytest.raises(RuntimeError), bag.open("data/partial") as out:
            out.write(b"half")
            raise RuntimeError("the source failed")
        bag.add_bytes("data/whole", b"whole")
        bag.finish({})
    assert not (root / "data" / "partial").exists()
    assert "partial" not in (root / "manifest-sha256.txt").read_text()
    assert bagit.Bag(str(root)).is_valid()


def test_finish_refuses_open_files_and_a_wrong_oxum(tmp_path: Path) -> None:
    with BagWriter(tmp_path / "bag") as bag:
        stream = bag.open("data/open")
        with pytest.raises(RuntimeError, match="files still open"):
            bag.finish({})
        stream.close()
        with pytest.raises(ValueError, match="Payload-Oxum"):
            bag.finish({"Payload-Oxum": "5.1"})
        bag.finish({"Payload-Oxum": "0.1"})
        with pytest.raises(RuntimeError, match="finished"):
            bag.add_bytes("data/late", b"x")


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("Has: colon", "x"),
        ("Line\nbreak", "x"),
        (" Spaced", "x"),
        ("", "x"),
        ("Ok", "a\n indented"),
        ("Ok", "a\rb"),
    ],
)
def test_bag_info_that_would_not_read_back_is_refused(tmp_path: Path, label: str, value: str) -> None:
    with BagWriter(tmp_path / "bag") as bag:
        bag.add_bytes("data/a", b"a")
        with pytest.raises(ValueError, match="bag-info"):
            bag.finish({label: value})


def test_an_error_removes_the_bag_and_an_existing_root_is_only_emptied(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), BagWriter(tmp_path / "new") as bag:
        bag.add_bytes("data/a", b"a")
        raise RuntimeError("stop")
    assert not (tmp_path / "new").exists()
    (tmp_path / "given").mkdir()
    with BagWriter(tmp_path / "given") as bag:
        bag.add_bytes("data/a", b"a")
        bag.add_tag_bytes("README.html", b"r")
        stream = bag.open("data/open")
        stream.write(b"x")
        bag.abort()
    assert (tmp_path / "given").is_dir()
    assert not any((tmp_path / "given").iterdir())
    with BagWriter(tmp_path / "unfinished") as bag:
        bag.add_bytes("data/a", b"a")
    assert not (tmp_path / "unfinished").exists()  # left without finish: not a bag


def test_a_non_empty_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        BagWriter(tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


# -- properties ---------------------------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8"), max_size=30)


@given(_TEXT)
def test_path_encoding_round_trips(path: str) -> None:
    encoded = encode_path(path)
    assert "\n" not in encoded and "\r" not in encoded
    assert decode_path(encoded) == path


@given(st.lists(st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True), _TEXT), max_size=5))
def test_bag_info_round_trips_or_is_refused(pairs: list[tuple[str, str]]) -> None:
    try:
        text = format_bag_info(pairs)
    except ValueError:
        return
    parsed = parse_bag_info(text)
    expected: dict[str, list[str]] = {}
    for label, value in pairs:
        expected.setdefault(label, []).append(value)
    assert parsed == expected
