"""OCFL versioning of packages, checked by ocfl-py (validation, extraction) and bagit-python.

Bags are built with bagit-python's ``make_bag`` as fixtures: it makes the input, while
what is checked (the OCFL object) is written by passerelle and judged by ocfl-py.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import bagit  # type: ignore[import-untyped, unused-ignore]
import ocfl  # type: ignore[import-untyped, unused-ignore]
import pytest
from ocfl.layout import Layout  # type: ignore[import-untyped, unused-ignore]
from ocfl.layout_registry import add_layout  # type: ignore[import-untyped, unused-ignore]
from ocfl.validator import Validator  # type: ignore[import-untyped, unused-ignore]

from passerelle.package.ocfl import (
    LAYOUT_EXTENSION,
    HashedNTupleLayout,
    OcflError,
    OcflResult,
    add_version,
)

OBJECT_ID = "urn:passerelle:workspace:T0001"
WHEN = datetime(2024, 5, 1, 12, 30, 45, 123456, tzinfo=UTC)


class _Layout0004(Layout):  # type: ignore[misc]
    """ocfl-py 2.1.0 has no class for extension 0004, so its root check stops at E071.

    Validating a root walks the tree and does not use the layout to find objects, so
    declaring the name (and accepting its parameters) is all it needs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.NAME = LAYOUT_EXTENSION
        self.DESCRIPTION = "Hashed N-tuple Storage Layout"
        self.PARAMS = dict.fromkeys(
            ("digestAlgorithm", "tupleSize", "numberOfTuples", "shortObjectRoot"), self._accept
        )

    def _accept(self, value: object) -> None:
        pass


add_layout(LAYOUT_EXTENSION, _Layout0004)


# -- fixtures ---------------------------------------------------------------------------
def make_bag(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    bagit.make_bag(str(folder), checksums=["sha256", "sha512"])
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under the folder, by relative path, with its bytes."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def sha512s(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha512(data).hexdigest() for name, data in tree(folder).items()}


def add(root: Path, bag: Path, **kwargs: object) -> OcflResult:
    options: dict[str, object] = {
        "message": "pack of workspace T0001",
        "user_name": "passerelle",
        "user_address": "mailto:archivist@example.org",
        "created": WHEN,
    }
    options.update(kwargs)
    return add_version(root, OBJECT_ID, bag, **options)  # type: ignore[arg-type]


def validate_object(path: Path) -> Validator:
    validator = Validator(log_warnings=True)
    assert validator.validate_object(str(path)), validator.status_str()
    assert validator.log.num_warnings == 0, validator.status_str()
    assert validator.log.codes == {}
    return validator


def validate_root(root: Path) -> None:
    storage_root = ocfl.StorageRoot(str(root))
    # 0004 is a registered extension, missing from ocfl-py's storage-root list (W901).
    storage_root.registered_extensions.append(LAYOUT_EXTENSION)
    assert storage_root.validate(log_warnings=True), storage_root.log
    assert storage_root.log.num_warnings == 0 and storage_root.log.num_errors == 0
    assert storage_root.errors == []  # per object: errors and, here, warnings too
    assert storage_root.num_objects == storage_root.good_objects >= 1


def extract(obj: Path, version: str, into: Path) -> Path:
    ocfl.Object().extract(str(obj), version, str(into))
    return into


def inventory(obj: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((obj / "inventory.json").read_bytes())
    return data


BAG_ONE = {
    "a.txt": b"unchanged between the two packs\n",
    "b.txt": b"first text of b\n",
    "c.txt": b"removed in the second pack\n",
    "same-as-a.txt": b"unchanged between the two packs\n",
    "sub/per%cent and space.txt": b"a name BagIt percent-encodes\n",
    "sub/line\nbreak.txt": b"a name with a line break\n",
}
BAG_TWO = {
    "a.txt": BAG_ONE["a.txt"],
    "b.txt": b"second text of b, longer than the first\n",
    "d.txt": b"added in the second pack\n",
    "same-as-a.txt": BAG_ONE["a.txt"],
    "sub/per%cent and space.txt": BAG_ONE["sub/per%cent and space.txt"],
    "sub/line\nbreak.txt": BAG_ONE["sub/line\nbreak.txt"],
}


@pytest.fixture
def two_versions(tmp_path: Path) -> Iterator[tuple[Path, Path, Path, OcflResult, OcflResult]]:
    root = tmp_path / "ocfl"
    one = make_bag(tmp_path / "one", BAG_ONE)
    two = make_bag(tmp_path / "two", BAG_TWO)
    first = add(root, one, message="first pack")
    second = add(root, two, message="second pack", created=WHEN + timedelta(days=1))
    yield root, one, two, first, second


# -- the layout -------------------------------------------------------------------------
def test_layout_maps_ids_as_the_extension_examples_do() -> None:
    full = HashedNTupleLayout()
    assert full.object_path("object-01") == (
        "3c0/ff4/240/3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4"
    )
    assert full.object_path("..hor/rib:le-$id") == (
        "487/326/d8c/487326d8c2a3c0b885e23da1469b4d6671fd4e76978924b4443e9e3c316cda6d"
    )
    short = HashedNTupleLayout(short_object_root=True)
    assert (
        short.object_path("object-01")
        == "3c0/ff4/240/c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4"
    )
    md5 = HashedNTupleLayout("md5", 2, 15, short_object_root=True)
    assert md5.object_path("object-01") == "ff/75/53/44/92/48/5e/ab/b3/9f/86/35/67/28/88/4e"
    flat = HashedNTupleLayout(tuple_size=0, number_of_tuples=0)
    assert flat.object_path("object-01") == "3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4"


def test_a_new_storage_root_declares_ocfl_1_1_and_its_layout(tmp_path: Path) -> None:
    root = tmp_path / "new" / "ocfl"
    result = add(root, make_bag(tmp_path / "bag", {"x.txt": b"x"}))
    assert (root / "0=ocfl_1.1").read_bytes() == b"ocfl_1.1\n"
    assert json.loads((root / "ocfl_layout.json").read_text())["extension"] == LAYOUT_EXTENSION
    config = json.loads((root / "extensions" / LAYOUT_EXTENSION / "config.json").read_text())
    assert config == {
        "extensionName": LAYOUT_EXTENSION,
        "digestAlgorithm": "sha256",
        "tupleSize": 3,
        "numberOfTuples": 3,
        "shortObjectRoot": True,
    }
    digest = hashlib.sha256(OBJECT_ID.encode()).hexdigest()
    assert result.object_path == root / digest[:3] / digest[3:6] / digest[6:9] / digest[9:]
    assert (result.object_path / "0=ocfl_object_1.1").read_bytes() == b"ocfl_object_1.1\n"
    validate_root(root)


def test_an_existing_root_with_the_default_0004_parameters_is_used_as_it_says(tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    (root / "extensions" / LAYOUT_EXTENSION).mkdir(parents=True)
    (root / "0=ocfl_1.1").write_text("ocfl_1.1\n")
    (root / "ocfl_layout.json").write_text(json.dumps({"extension": LAYOUT_EXTENSION, "description": "d"}))
    (root / "extensions" / LAYOUT_EXTENSION / "config.json").write_text(
        json.dumps({"extensionName": LAYOUT_EXTENSION, "tupleSize": 2, "numberOfTuples": 2})
    )
    result = add(root, make_bag(tmp_path / "bag", {"x.txt": b"x"}))
    digest = hashlib.sha256(OBJECT_ID.encode()).hexdigest()
    assert result.object_path == root / digest[:2] / digest[2:4] / digest  # shortObjectRoot defaults to false
    validate_root(root)


# -- versions ---------------------------------------------------------------------------
def test_two_versions_validate_share_content_and_extract_to_each_bag(
    tmp_path: Path, two_versions: tuple[Path, Path, Path, OcflResult, OcflResult]
) -> None:
    root, one, two, first, second = two_versions
    obj = first.object_path
    assert second.object_path == obj
    assert (first.version, second.version) == ("v1", "v2")
    validate_object(obj)
    validate_root(root)

    # v1 stores each distinct content once; v2 only what v1 did not have.
    one_digests, two_digests = sha512s(one), sha512s(two)
    assert first.added_files == len(set(one_digests.values()))
    assert first.added_files + first.reused_files == len(one_digests)
    new = set(two_digests.values()) - set(one_digests.values())
    assert second.added_files == len(new) and second.reused_files == len(two_digests) - len(new)
    stored = tree(obj / "v2" / "content")
    assert len(stored) == len(new) and {hashlib.sha512(b).hexdigest() for b in stored.values()} == new
    assert second.added_bytes == sum(len(data) for data in stored.values())
    assert "data/a.txt" not in stored and "bagit.txt" not in stored  # unchanged: reused from v1

    record = inventory(obj)
    assert record["head"] == "v2" and record["digestAlgorithm"] == "sha512"
    manifest = record["manifest"]
    assert isinstance(manifest, dict)
    assert manifest[two_digests["data/a.txt"]] == ["v1/content/data/a.txt"]
    versions = record["versions"]
    assert isinstance(versions, dict)
    assert versions["v1"]["message"] == "first pack" and versions["v2"]["message"] == "second pack"
    assert versions["v1"]["created"] == "2024-05-01T12:30:45Z"
    assert versions["v2"]["user"] == {"name": "passerelle", "address": "mailto:archivist@example.org"}
    # The version inventories are the root inventory as each version left it.
    assert (obj / "v2" / "inventory.json").read_bytes() == (obj / "inventory.json").read_bytes()
    assert json.loads((obj / "v1" / "inventory.json").read_bytes())["head"] == "v1"

    for version, bag in (("v1", one), ("v2", two)):
        out = extract(obj, version, tmp_path / f"extracted-{version}")
        assert tree(out) == tree(bag)
        bagit.Bag(str(out)).validate()


def test_the_fixity_block_holds_each_content_files_sha256(
    two_versions: tuple[Path, Path, Path, OcflResult, OcflResult],
) -> None:
    obj = two_versions[3].object_path
    record = inventory(obj)
    fixity = record["fixity"]
    manifest = record["manifest"]
    assert isinstance(fixity, dict) and isinstance(manifest, dict)
    content = [path for paths in manifest.values() for path in paths]
    by_path = {path: digest for digest, paths in fixity["sha256"].items() for path in paths}
    assert sorted(by_path) == sorted(content)
    for path, digest in by_path.items():
        assert hashlib.sha256((obj / path).read_bytes()).hexdigest() == digest


def test_an_identical_bag_adds_no_version(
    two_versions: tuple[Path, Path, Path, OcflResult, OcflResult],
) -> None:
    root, _one, two, _first, second = two_versions
    before = (second.object_path / "inventory.json").read_bytes()
    again = add(root, two, message="same again", created=WHEN + timedelta(days=2))
    assert again.unchanged and again.version == "v2"
    assert (again.added_files, again.reused_files, again.added_bytes) == (0, len(tree(two)), 0)
    assert not (second.object_path / "v3").exists()
    assert (second.object_path / "inventory.json").read_bytes() == before


def test_going_back_to_an_earlier_bag_is_a_new_version_with_nothing_copied(
    two_versions: tuple[Path, Path, Path, OcflResult, OcflResult],
) -> None:
    root, one, _two, _first, _second = two_versions
    third = add(root, one, message="back to the first pack")
    assert (third.version, third.added_files, third.unchanged) == ("v3", 0, False)
    assert not (third.object_path / "v3" / "content").exists()  # OCFL W003: no empty content folder
    validate_object(third.object_path)


def test_same_input_gives_the_same_bytes(tmp_path: Path) -> None:
    bag = make_bag(tmp_path / "bag", BAG_ONE)
    first = add(tmp_path / "a", bag)
    second = add(tmp_path / "b", bag)
    assert tree(first.object_path) == tree(second.object_path)


def test_given_digests_are_used_and_checked_as_files_are_copied(tmp_path: Path) -> None:
    bag = make_bag(tmp_path / "bag", {"x.txt": b"x"})
    digests = sha512s(bag)
    result = add(tmp_path / "ok", bag, digests=digests)
    validate_object(result.object_path)
    wrong = dict(digests, **{"data/x.txt": hashlib.sha512(b"not x").hexdigest()})
    with pytest.raises(OcflError, match=r"data/x\.txt: its bytes do not match"):
        add(tmp_path / "wrong", bag, digests=wrong)


# -- interrupted runs -------------------------------------------------------------------
def test_a_version_folder_left_by_a_crash_is_replaced(
    tmp_path: Path, two_versions: tuple[Path, Path, Path, OcflResult, OcflResult]
) -> None:
    root, _one, _two, _first, second = two_versions
    stale = second.object_path / "v3"
    (stale / "content" / "data").mkdir(parents=True)
    (stale / "content" / "data" / "half-written").write_bytes(b"par")
    (stale / "inventory.json").write_text("{")
    three = make_bag(tmp_path / "three", {"e.txt": b"the third pack\n"})
    result = add(root, three, message="third pack")
    assert result.version == "v3"
    assert not (stale / "content" / "data" / "half-written").exists()
    validate_object(result.object_path)
    assert tree(extract(result.object_path, "v3", tmp_path / "out")) == tree(three)


def test_a_root_sidecar_left_behind_by_a_crash_is_restored(
    two_versions: tuple[Path, Path, Path, OcflResult, OcflResult],
) -> None:
    root, _one, two, _first, second = two_versions
    obj = second.object_path
    # Crash between replacing the root inventory and its sidecar: the sidecar is v1's.
    (obj / "inventory.json.sha512").write_bytes((obj / "v1" / "inventory.json.sha512").read_bytes())
    again = add(root, two)
    assert again.unchanged
    validate_object(obj)


def test_an_object_never_finished_is_started_again(tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    bag = make_bag(tmp_path / "bag", {"x.txt": b"x"})
    obj = root / HashedNTupleLayout(short_object_root=True).object_path(OBJECT_ID)
    add(tmp_path / "elsewhere", bag)  # only to have a storage root to copy from
    shutil.copytree(tmp_path / "elsewhere", root, ignore=shutil.ignore_patterns("inventory.json*"))
    assert sorted(os.listdir(obj)) == ["0=ocfl_object_1.1", "v1"]
    result = add(root, bag)
    assert result.version == "v1" and result.object_path == obj
    validate_root(root)


def test_a_storage_root_initialisation_cut_short_is_finished(tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    (root / "extensions" / LAYOUT_EXTENSION).mkdir(parents=True)
    (root / "ocfl_layout.json").write_bytes(b'{\n  "descr')  # the write was cut
    add(root, make_bag(tmp_path / "bag", {"x.txt": b"x"}))
    validate_root(root)


def test_a_failed_copy_leaves_the_object_as_it_was(
    tmp_path: Path, two_versions: tuple[Path, Path, Path, OcflResult, OcflResult]
) -> None:
    root, _one, _two, _first, second = two_versions
    before = tree(root)
    three = make_bag(tmp_path / "three", {"e.txt": b"the third pack\n"})
    (three / "data" / "e.txt").write_bytes(b"changed after bagging\n")
    with pytest.raises(OcflError, match=r"three/data/e\.txt: its bytes do not match"):
        add(root, three)
    assert tree(root) == before
    validate_object(second.object_path)


def test_a_new_object_that_fails_leaves_no_folder_behind(tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    add_version(root, "urn:other", make_bag(tmp_path / "other", {"o.txt": b"o"}), message="m", user_name="u")
    bag = make_bag(tmp_path / "bag", {"x.txt": b"x"})
    (bag / "data" / "x.txt").write_bytes(b"y")
    with pytest.raises(OcflError):
        add(root, bag)
    digest = hashlib.sha256(OBJECT_ID.encode()).hexdigest()
    assert not (root / digest[:3]).exists()  # no empty layout folders either (OCFL E073)


# -- refusals ---------------------------------------------------------------------------
def test_a_folder_that_is_not_a_storage_root_is_refused_and_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "not-ocfl"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    with pytest.raises(OcflError, match=r"not-ocfl: not empty and not an OCFL storage root"):
        add(root, make_bag(tmp_path / "bag", {"x.txt": b"x"}))
    assert sorted(os.listdir(root)) == ["notes.txt"]


def test_a_file_as_storage_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OcflError, match=r"file: not a folder"):
        add(tmp_path / "file", make_bag(tmp_path / "bag", {"x.txt": b"x"}))


def test_a_storage_root_with_another_layout_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    ocfl.StorageRoot(str(root), layout_name="0002-flat-direct-storage-layout").initialize()
    with pytest.raises(OcflError, match=r"ocfl_layout\.json: .*'0002-flat-direct-storage-layout'"):
        add(root, make_bag(tmp_path / "bag", {"x.txt": b"x"}))


def test_a_storage_root_without_a_layout_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    ocfl.StorageRoot(str(root)).initialize()
    with pytest.raises(OcflError, match="declares no layout"):
        add(root, make_bag(tmp_path / "bag", {"x.txt": b"x"}))


def test_a_tampered_inventory_is_refused_naming_the_file(
    two_versions: tuple[Path, Path, Path, OcflResult, OcflResult],
) -> None:
    root, one, _two, _first, second = two_versions
    path = second.object_path / "inventory.json"
    path.write_bytes(path.read_bytes().replace(b"second pack", b"altered pack"))
    with pytest.raises(OcflError, match=r"inventory\.json\.sha512: does not match .*inventory\.json"):
        add(root, one)
    assert not (second.object_path / "v3").exists()


def test_the_inventory_of_another_object_is_refused(
    two_versions: tuple[Path, Path, Path, OcflResult, OcflResult],
) -> None:
    root, one, _two, _first, second = two_versions
    path = second.object_path / "inventory.json"
    data = path.read_bytes().replace(OBJECT_ID.encode(), b"urn:someone:else")
    path.write_bytes(data)
    (path.parent / "inventory.json.sha512").write_text(f"{hashlib.sha512(data).hexdigest()} inventory.json\n")
    with pytest.raises(OcflError, match=r"inventory\.json: the object here is 'urn:someone:else'"):
        add(root, one)


def test_links_in_the_bag_are_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path / "bag", {"x.txt": b"x"})
    (tmp_path / "outside").write_text("secret")
    (bag / "data" / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(OcflError, match=r"data/link: a symbolic link"):
        add(tmp_path / "ocfl", bag)


def test_payload_and_manifest_must_agree(tmp_path: Path) -> None:
    bag = make_bag(tmp_path / "bag", {"x.txt": b"x", "y.txt": b"y"})
    (bag / "data" / "unlisted.txt").write_text("u")
    with pytest.raises(OcflError, match=r"data/unlisted\.txt: a payload file not listed"):
        add(tmp_path / "ocfl", bag)
    (bag / "data" / "unlisted.txt").unlink()
    (bag / "data" / "y.txt").unlink()
    with pytest.raises(OcflError, match=r"manifest-sha512\.txt: lists 'data/y\.txt'"):
        add(tmp_path / "ocfl", bag)


def test_another_writer_on_the_same_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    bag = make_bag(tmp_path / "bag", {"x.txt": b"x"})
    add(root, bag)
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(OcflError, match="another process is writing"):
            add(root, bag)
    finally:
        os.close(fd)


def test_created_must_carry_a_time_zone_and_keeps_it(tmp_path: Path) -> None:
    bag = make_bag(tmp_path / "bag", {"x.txt": b"x"})
    with pytest.raises(ValueError, match="time zone"):
        add(tmp_path / "ocfl", bag, created=datetime(2024, 5, 1, 12, 0, 0))
    paris = timezone(timedelta(hours=2))
    result = add(tmp_path / "ocfl", bag, created=datetime(2024, 5, 1, 14, 0, 0, 999, tzinfo=paris))
    versions = inventory(result.object_path)["versions"]
    assert isinstance(versions, dict)
    assert versions["v1"]["created"] == "2024-05-01T14:00:00+02:00"
