"""Versioned preservation: each package becomes a new version of an OCFL 1.1 object.

``passerelle pack ARCHIVE -o OUT --ocfl ROOT`` calls :func:`add_version` once the bag
is complete. The version's logical state is every file of the bag at its path relative
to the bag, so extracting any version gives back that bag, still valid BagIt (OCFL 1.1
§5.4 shows this composition). Successive packs of one workspace share one object and
store each distinct content once (forward delta, content addressed by SHA-512).

Written here with the standard library only, per https://ocfl.io/1.1/spec/; ocfl-py is
the tests' independent validator. Choices, and why:

- Storage root: created when absent or empty, with the registered layout extension
  ``0004-hashed-n-tuple-storage-layout`` (SHA-256 of the id, 3 tuples of 3, short object
  root). An existing root is used when it declares that layout, with whatever
  parameters its ``config.json`` sets; another layout, no layout, or a non-empty folder
  that is not a storage root is refused: where the object belongs would be a guess.
- Digests: the bag's own ``manifest-sha512.txt`` gives the payload's SHA-512, only tag
  files are hashed up front. That is trusted because the caller validated the bag just
  before; it is what lets a file whose SHA-512 the object already holds be neither copied
  nor read. Every file that is copied is hashed again while it is copied and must match,
  and its SHA-256 for the ``fixity`` block is computed from the bytes actually written.
- Writing: ``vN/`` is written completely (content, its inventory and sidecar), the data
  is flushed to disk, then the root ``inventory.json`` and, last, its sidecar replace the
  old ones atomically. The leftovers of an interrupted run are repaired by the next one,
  under an exclusive lock on the storage root: a ``vN`` the root inventory does not
  name yet is removed and written again; a root sidecar left behind by a crash between
  the two replacements is restored from the head version's own verified copy; an object
  folder never finished (no inventory, only ``0=`` and ``v1``) is started again.
- A bag identical to the head version adds no version (an empty duplicate would say
  something changed): the result names the head with ``unchanged=True``.
- Memory: the inventory is one JSON document OCFL requires whole, so it is loaded and
  grows with the number of files; file bytes are only ever streamed, and the inventory
  is written in chunks, never as one string.

Versions record ``created`` (RFC 3339, to the second, with a time zone), ``message`` and
``user``; give ``user_address`` (a ``mailto:`` or other URI) and an ``object_id`` that is
a URI, or validators warn (OCFL W008/W009, W005). Empty folders of a bag are not kept:
BagIt does not carry them and OCFL forbids them in content (E024).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from passerelle.errors import BadInputError

SPEC_VERSION = "1.1"
ROOT_DECLARATION = "0=ocfl_1.1"
OBJECT_DECLARATION = "0=ocfl_object_1.1"
INVENTORY_TYPE = "https://ocfl.io/1.1/spec/#inventory"
INVENTORY = "inventory.json"
DIGEST_ALGORITHM = "sha512"
SIDECAR = f"{INVENTORY}.{DIGEST_ALGORITHM}"
FIXITY_ALGORITHM = "sha256"
DEFAULT_CONTENT_DIRECTORY = "content"

LAYOUT_FILE = "ocfl_layout.json"
LAYOUT_EXTENSION = "0004-hashed-n-tuple-storage-layout"
LAYOUT_DESCRIPTION = (
    "OCFL object identifiers are hashed (SHA-256) and encoded as lowercase hex strings;"
    " the digest's first 9 characters, in 3 tuples of 3, make nested folders, and the"
    " remaining 55 characters name the object root."
)
LAYOUT_CONFIG_FILE = f"extensions/{LAYOUT_EXTENSION}/config.json"
LAYOUT_CONFIG: dict[str, Any] = {
    "extensionName": LAYOUT_EXTENSION,
    "digestAlgorithm": "sha256",
    "tupleSize": 3,
    "numberOfTuples": 3,
    "shortObjectRoot": True,
}

PAYLOAD_MANIFEST = "manifest-sha512.txt"
TEMPORARY_PREFIX = ".passerelle-ocfl-"  # files beside the objects, in the storage root
CHUNK = 1 << 20

_VERSION = re.compile(r"v([1-9][0-9]*)")
_HEX = re.compile(r"[0-9a-fA-F]+")
_SIDECAR_LINE = re.compile(r"([0-9a-fA-F]+)[ \t]+inventory\.json[ \t]*\r?\n?")
_MANIFEST_ESCAPE = re.compile(r"%(0[DdAa]|25)")
_MANIFEST_UNESCAPE = {"0d": "\r", "0a": "\n", "25": "%"}


class OcflError(BadInputError):
    """The storage root, the object or the bag cannot be used as asked; names the file."""


@dataclass(frozen=True)
class OcflResult:
    object_path: Path  # the object root, inside the storage root
    version: str  # the version now holding the bag ("v2"); the head when unchanged
    added_files: int  # content files copied into this version
    reused_files: int  # bag files whose bytes the object already held (or this version, once)
    added_bytes: int  # bytes of the copied content files
    unchanged: bool = False  # the bag is the head version's state: no version added


# -- the storage layout (extension 0004) ------------------------------------------------
# The algorithms OCFL's fixity vocabulary names, as hashlib makes them.
_ID_DIGESTS: dict[str, Callable[..., Any]] = {
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
    "blake2b-512": hashlib.blake2b,
}


@dataclass(frozen=True)
class HashedNTupleLayout:
    """OCFL community extension 0004: an object's folder from the digest of its id."""

    digest_algorithm: str = "sha256"
    tuple_size: int = 3
    number_of_tuples: int = 3
    short_object_root: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any], where: Path) -> HashedNTupleLayout:
        """The layout a ``config.json`` describes; absent keys take the extension's defaults."""
        name = config.get("extensionName", LAYOUT_EXTENSION)
        algorithm = config.get("digestAlgorithm", "sha256")
        size = config.get("tupleSize", 3)
        count = config.get("numberOfTuples", 3)
        short = config.get("shortObjectRoot", False)
        if name != LAYOUT_EXTENSION:
            raise OcflError(f"{where}: extensionName is {name!r}, expected {LAYOUT_EXTENSION!r}")
        if algorithm not in _ID_DIGESTS:
            raise OcflError(f"{where}: digestAlgorithm {algorithm!r} is not one OCFL names")
        for key, value in (("tupleSize", size), ("numberOfTuples", count)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 32:
                raise OcflError(f"{where}: {key} must be an integer from 0 to 32, not {value!r}")
        if not isinstance(short, bool):
            raise OcflError(f"{where}: shortObjectRoot must be true or false, not {short!r}")
        hex_length = 2 * _ID_DIGESTS[algorithm]().digest_size
        if (size == 0) != (count == 0) or size * count > hex_length:
            raise OcflError(f"{where}: tupleSize {size} and numberOfTuples {count} do not fit the digest")
        if short and size * count == hex_length:
            raise OcflError(f"{where}: shortObjectRoot leaves no digest to name the object root")
        return cls(algorithm, size, count, short)

    def object_path(self, object_id: str) -> str:
        """The object root, relative to the storage root, with ``/`` separators."""
        digest = _ID_DIGESTS[self.digest_algorithm](object_id.encode("utf-8")).hexdigest()
        cut = self.tuple_size * self.number_of_tuples
        parts = [digest[i : i + self.tuple_size] for i in range(0, cut, self.tuple_size or 1)]
        parts.append(digest[cut:] if self.short_object_root else digest)
        return "/".join(parts)


# -- public entry point -----------------------------------------------------------------
def add_version(
    root: Path,
    object_id: str,
    bag: Path,
    *,
    message: str,
    user_name: str,
    user_address: str | None = None,
    created: datetime | None = None,
    digests: Mapping[str, str] | None = None,
) -> OcflResult:
    """Add the bag at ``bag`` as a new version of object ``object_id`` in storage root ``root``.

    ``digests`` maps bag-relative paths to SHA-512 hex digests the caller already has;
    without it the payload's come from the bag's ``manifest-sha512.txt``. Either way,
    files not listed are hashed, and copied files are hashed again as they are copied.
    ``created`` must carry a time zone (default: now, UTC); pass it for byte-identical
    inventories across runs.
    """
    for label, text in (("object id", object_id), ("message", message), ("user name", user_name)):
        _require_text(label, text)
    if not object_id:
        raise OcflError("the OCFL object id is empty")
    if user_address is not None:
        _require_text("user address", user_address)
    stamp = _rfc3339(created if created is not None else datetime.now(UTC))
    bag = Path(bag)
    if not (bag / "bagit.txt").is_file():
        raise OcflError(f"{bag}: not a BagIt bag (no bagit.txt)")
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OcflError(f"{root}: not a folder; an OCFL storage root is one") from None
    with _RootLock(root):
        layout = _open_storage_root(root)
        return _add(root, layout, object_id, bag, stamp, message, user_name, user_address, digests)


# -- the storage root -------------------------------------------------------------------
class _RootLock:
    """An exclusive lock on the storage root folder: one writer at a time, no lock file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise OcflError(f"{self.root}: another process is writing to this OCFL storage root") from None

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # closing releases the lock


def _open_storage_root(root: Path) -> HashedNTupleLayout:
    """The layout of the storage root at ``root``, initialising it when absent or empty."""
    names = os.listdir(root)
    for name in names:  # what an interrupted run left beside the objects
        if name.startswith(TEMPORARY_PREFIX) and (root / name).is_file() and not (root / name).is_symlink():
            (root / name).unlink()
    names = [name for name in names if not name.startswith(TEMPORARY_PREFIX)]
    declarations = [name for name in names if name.startswith("0=")]
    if not declarations:
        if names and not _interrupted_initialisation(root, names):
            raise OcflError(
                f"{root}: not empty and not an OCFL storage root (no 0=ocfl_1.1 declaration);"
                " give an empty or new folder, or an existing OCFL 1.1 storage root"
            )
        _initialise(root)
        declarations = [ROOT_DECLARATION]
    if len(declarations) > 1:
        raise OcflError(f"{root}: more than one storage root declaration ({', '.join(sorted(declarations))})")
    if declarations[0] != ROOT_DECLARATION:
        raise OcflError(
            f"{root / declarations[0]}: this storage root is not OCFL {SPEC_VERSION};"
            f" passerelle writes OCFL {SPEC_VERSION} objects, which only a {SPEC_VERSION} root may hold"
        )
    if _read_small(root / ROOT_DECLARATION) != b"ocfl_1.1\n":
        raise OcflError(f"{root / ROOT_DECLARATION}: its content is not 'ocfl_1.1' and a newline")
    layout_file = root / LAYOUT_FILE
    if not layout_file.is_file():
        raise OcflError(
            f"{root}: this OCFL storage root declares no layout ({LAYOUT_FILE}),"
            " so where an object belongs in it is unknown"
        )
    layout = _read_json(layout_file)
    extension = layout.get("extension") if isinstance(layout, dict) else None
    if extension != LAYOUT_EXTENSION:
        raise OcflError(
            f"{layout_file}: the storage root uses layout {extension!r};"
            f" passerelle places objects only with {LAYOUT_EXTENSION}"
        )
    config_file = root / LAYOUT_CONFIG_FILE
    config = _read_json(config_file) if config_file.exists() else {}
    if not isinstance(config, dict):
        raise OcflError(f"{config_file}: not a JSON object")
    return HashedNTupleLayout.from_config(config, config_file)


def _root_files() -> dict[str, bytes]:
    """What a new storage root holds, declaration last (it is what makes it a root)."""
    layout = {"description": LAYOUT_DESCRIPTION, "extension": LAYOUT_EXTENSION}
    return {
        LAYOUT_CONFIG_FILE: _json_bytes(LAYOUT_CONFIG),
        LAYOUT_FILE: _json_bytes(layout),
        ROOT_DECLARATION: b"ocfl_1.1\n",
    }


def _interrupted_initialisation(root: Path, names: list[str]) -> bool:
    """Whether the folder holds only the start of what ``_initialise`` writes."""
    if not set(names) <= {LAYOUT_FILE, "extensions"}:
        return False
    expected = _root_files()
    for dirpath, dirnames, filenames in os.walk(root):
        relative = os.path.relpath(dirpath, root)
        for name in dirnames:
            path = name if relative == "." else f"{relative}/{name}"
            if os.path.islink(os.path.join(dirpath, name)) or not any(
                key.startswith(path + "/") for key in expected
            ):
                return False
        for name in filenames:
            path = name if relative == "." else f"{relative}/{name}"
            if path not in expected or not expected[path].startswith(_read_small(root / path)):
                return False
    return True


def _initialise(root: Path) -> None:
    for name, data in _root_files().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        _replace(root, path, data)


# -- adding a version -------------------------------------------------------------------
def _add(
    root: Path,
    layout: HashedNTupleLayout,
    object_id: str,
    bag: Path,
    created: str,
    message: str,
    user_name: str,
    user_address: str | None,
    digests: Mapping[str, str] | None,
) -> OcflResult:
    relative = layout.object_path(object_id)
    obj = root / relative
    _check_no_links(root, relative)
    inventory = _open_object(root, obj, object_id)
    head = inventory["head"] if inventory else None
    number = int(head[1:]) + 1 if head else 1
    version = f"v{number}"
    stale = obj / version
    if os.path.lexists(stale):  # written by a run that stopped before publishing it
        if stale.is_symlink() or not stale.is_dir():
            raise OcflError(f"{stale}: not a version folder; refusing to replace it")
        shutil.rmtree(stale)

    streamer = _Streamer()
    files, digest_of = _bag_digests(bag, digests, streamer)
    state: dict[str, list[str]] = {}
    for path in files:  # sorted, so every list below is sorted too
        state.setdefault(digest_of[path], []).append(path)
    if inventory and head is not None and _same_state(inventory["versions"][head]["state"], state):
        return OcflResult(obj, head, 0, len(files), 0, unchanged=True)

    created_object = inventory is None
    if inventory is None:
        inventory = {
            "digestAlgorithm": DIGEST_ALGORITHM,
            "head": version,
            "id": object_id,
            "manifest": {},
            "type": INVENTORY_TYPE,
            "versions": {},
        }
    content_directory = inventory.get("contentDirectory", DEFAULT_CONTENT_DIRECTORY)
    manifest: dict[str, list[str]] = inventory["manifest"]
    known = {digest.lower(): digest for digest in manifest}
    fixity: dict[str, list[str]] = inventory.setdefault("fixity", {}).setdefault(FIXITY_ALGORITHM, {})
    fixity_known = {digest.lower(): digest for digest in fixity}
    new_state: dict[str, list[str]] = {}
    added = reused = added_bytes = 0
    try:
        if created_object:
            obj.mkdir(parents=True)
            (obj / OBJECT_DECLARATION).write_bytes(b"ocfl_object_1.1\n")
        for digest, paths in state.items():
            if digest in known:
                _check_content(obj, manifest[known[digest]])
                new_state[known[digest]] = paths
                reused += len(paths)
                continue
            content_path = f"{version}/{content_directory}/{paths[0]}"
            sha256, size = streamer.copy(bag / paths[0], obj / content_path, digest)
            manifest[digest] = [content_path]
            known[digest] = digest
            key = fixity_known.setdefault(sha256, sha256)
            fixity.setdefault(key, []).append(content_path)
            new_state[digest] = paths
            added += 1
            reused += len(paths) - 1
            added_bytes += size
        block: dict[str, Any] = {"created": created, "message": message, "state": new_state}
        block["user"] = (
            {"name": user_name} if user_address is None else {"name": user_name, "address": user_address}
        )
        inventory["versions"][version] = block
        inventory["head"] = version
        (obj / version).mkdir(exist_ok=True)  # a version that copies nothing has no content folder
        inventory_digest = _write_inventory(inventory, obj / version / INVENTORY)
        (obj / version / SIDECAR).write_bytes(f"{inventory_digest} {INVENTORY}\n".encode("ascii"))
        os.sync()  # the version's bytes are on disk before the root inventory names them
    except BaseException:
        shutil.rmtree(obj / version, ignore_errors=True)
        if created_object:
            shutil.rmtree(obj, ignore_errors=True)
            _prune_empty_parents(obj, root)
        raise
    _publish(root, obj, obj / version)
    return OcflResult(obj, version, added, reused, added_bytes)


def _open_object(root: Path, obj: Path, object_id: str) -> dict[str, Any] | None:
    """The object's verified root inventory, or None when the object is to be created."""
    if not os.path.lexists(obj):
        return None
    if obj.is_symlink() or not obj.is_dir():
        raise OcflError(f"{obj}: not a folder; cannot hold OCFL object {object_id!r}")
    names = set(os.listdir(obj))
    if INVENTORY not in names:
        if names <= {OBJECT_DECLARATION, "v1"}:  # a first version never published
            shutil.rmtree(obj)
            _prune_empty_parents(obj, root)
            return None
        raise OcflError(f"{obj}: an OCFL object folder without {INVENTORY}; refusing to write into it")
    if OBJECT_DECLARATION not in names:
        other = sorted(name for name in names if name.startswith("0="))
        raise OcflError(
            f"{obj}: the object declares {', '.join(other) or 'no OCFL version'};"
            f" passerelle adds versions only to OCFL {SPEC_VERSION} objects"
        )
    path = obj / INVENTORY
    data = _read_regular(path)
    actual = hashlib.sha512(data).hexdigest()
    sidecar = obj / SIDECAR
    if _read_sidecar(sidecar) != actual and not _repair_sidecar(root, obj, data, actual):
        if not sidecar.exists() and (obj / f"{INVENTORY}.sha256").exists():
            raise OcflError(
                f"{path}: the object uses sha256 digests; passerelle adds versions only to sha512 objects"
            )
        raise OcflError(
            f"{sidecar}: does not match {path} (its SHA-512 is {actual}):"
            " the inventory was changed or damaged; refusing to add a version"
        )
    inventory: dict[str, Any] = _parse_json(data, path)
    _check_inventory(inventory, path, object_id)
    return inventory


def _repair_sidecar(root: Path, obj: Path, data: bytes, actual: str) -> bool:
    """Restore the root sidecar when a crash left it behind its inventory.

    Only when the root inventory is byte for byte the head version's own inventory, whose
    sidecar verifies it: then the inventory is one this writer published.
    """
    try:
        head = json.loads(data).get("head")
    except (ValueError, AttributeError):
        return False
    if not isinstance(head, str) or not _VERSION.fullmatch(head):
        return False
    copy = obj / head / INVENTORY
    if not copy.is_file() or copy.is_symlink() or copy.read_bytes() != data:
        return False
    if _read_sidecar(obj / head / SIDECAR) != actual:
        return False
    _replace(root, obj / SIDECAR, (obj / head / SIDECAR).read_bytes())
    return True


def _check_inventory(inventory: Any, path: Path, object_id: str) -> None:
    """Enough of OCFL's inventory rules that a new version can be added safely."""
    if not isinstance(inventory, dict):
        raise OcflError(f"{path}: not a JSON object")
    if inventory.get("id") != object_id:
        raise OcflError(f"{path}: the object here is {inventory.get('id')!r}, not {object_id!r}")
    if inventory.get("type") != INVENTORY_TYPE:
        raise OcflError(
            f"{path}: inventory type {inventory.get('type')!r}; passerelle adds versions only to"
            f" OCFL {SPEC_VERSION} objects ({INVENTORY_TYPE})"
        )
    if inventory.get("digestAlgorithm") != DIGEST_ALGORITHM:
        raise OcflError(
            f"{path}: digestAlgorithm {inventory.get('digestAlgorithm')!r};"
            f" passerelle adds versions only to {DIGEST_ALGORITHM} objects"
        )
    head = inventory.get("head")
    match = _VERSION.fullmatch(head) if isinstance(head, str) else None
    if match is None:
        raise OcflError(
            f"{path}: head {head!r} is not a version name like v1 (zero-padded names are not supported)"
        )
    versions = inventory.get("versions")
    if not isinstance(versions, dict) or set(versions) != {f"v{n}" for n in range(1, int(match[1]) + 1)}:
        raise OcflError(f"{path}: versions are not exactly v1 to {head}")
    manifest = inventory.get("manifest")
    if not isinstance(manifest, dict) or not all(_is_path_list(v) for v in manifest.values()):
        raise OcflError(f"{path}: manifest is not a map of digests to content paths")
    for name, block in versions.items():
        if not isinstance(block, dict) or not isinstance(block.get("state"), dict):
            raise OcflError(f"{path}: version {name} has no state")
        if not all(_is_path_list(v) for v in block["state"].values()):
            raise OcflError(f"{path}: version {name}'s state is not a map of digests to logical paths")
    directory = inventory.get("contentDirectory", DEFAULT_CONTENT_DIRECTORY)
    if not isinstance(directory, str) or directory in ("", ".", "..") or "/" in directory:
        raise OcflError(f"{path}: contentDirectory {directory!r} is not a folder name")
    fixity = inventory.get("fixity", {})
    if not isinstance(fixity, dict) or not all(isinstance(v, dict) for v in fixity.values()):
        raise OcflError(f"{path}: fixity is not a map of algorithms to digests")
    if not all(_is_path_list(v) for v in fixity.get(FIXITY_ALGORITHM, {}).values()):
        raise OcflError(f"{path}: fixity {FIXITY_ALGORITHM} is not a map of digests to content paths")


def _is_path_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, str) for item in value)


def _same_state(head: Mapping[str, list[str]], state: Mapping[str, list[str]]) -> bool:
    if len(head) != len(state):
        return False
    return all(sorted(paths) == state.get(digest.lower()) for digest, paths in head.items())


def _check_content(obj: Path, content_paths: list[str]) -> None:
    """The stored copy a new version will point at is there (a cheap check, no hashing)."""
    path = content_paths[0]
    _check_relative(path, f"{obj / INVENTORY}: content path")
    target = obj / path
    if target.is_symlink() or not target.is_file():
        raise OcflError(f"{target}: missing, though {obj / INVENTORY} lists it; the object is damaged")


def _publish(root: Path, obj: Path, version_dir: Path) -> None:
    """Make the new version the head: the root inventory, then its sidecar, each atomically."""
    _replace(root, obj / INVENTORY, (version_dir / INVENTORY).read_bytes())
    _replace(root, obj / SIDECAR, (version_dir / SIDECAR).read_bytes())


def _replace(root: Path, target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically, through a file in the storage root.

    The storage root may hold other files (OCFL 1.1 §4.1) while an object root may not
    (E001): a crash leaves the object valid and at most this file, removed next time.
    """
    temporary = root / f"{TEMPORARY_PREFIX}{target.name}.tmp"
    with open(temporary, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, target)
    _fsync_dir(target.parent)


# -- reading the bag --------------------------------------------------------------------
def _bag_digests(
    bag: Path, given: Mapping[str, str] | None, streamer: _Streamer
) -> tuple[list[str], dict[str, str]]:
    """Every file of the bag (sorted) and its lowercase SHA-512."""
    files = _bag_files(bag)
    digest_of: dict[str, str] = {}
    if given is not None:
        for path, digest in given.items():
            digest_of[path] = _check_digest(digest, f"the SHA-512 given for {path!r}")
        unknown = sorted(set(digest_of) - set(files))
        if unknown:
            raise OcflError(f"{bag}: SHA-512 given for files the bag does not have: {', '.join(unknown[:5])}")
    else:
        listed = _read_payload_manifest(bag)
        if listed is not None:
            payload = {path for path in files if path.startswith("data/")}
            for path in files:
                if path.startswith("data/") and path not in listed:
                    raise OcflError(f"{bag / path}: a payload file not listed in {bag / PAYLOAD_MANIFEST}")
            missing = sorted(set(listed) - payload)
            if missing:
                raise OcflError(
                    f"{bag / PAYLOAD_MANIFEST}: lists {missing[0]!r}, which the bag does not have"
                )
            digest_of = listed
    for path in files:
        if path not in digest_of:
            digest_of[path] = streamer.sha512(bag / path)
    return files, digest_of


def _bag_files(bag: Path) -> list[str]:
    """Every regular file under the bag, as sorted ``/`` paths; links and devices refused."""
    found: list[str] = []
    pending = [""]
    while pending:
        folder = pending.pop()
        with os.scandir(bag / folder if folder else bag) as entries:
            for entry in entries:
                path = f"{folder}/{entry.name}" if folder else entry.name
                _check_relative(path, f"{bag}: file name")
                if entry.is_symlink():
                    raise OcflError(f"{bag / path}: a symbolic link; a package holds only regular files")
                if entry.is_dir(follow_symlinks=False):
                    pending.append(path)
                elif entry.is_file(follow_symlinks=False):
                    found.append(path)
                else:
                    raise OcflError(f"{bag / path}: not a regular file")
    found.sort()
    return found


def _read_payload_manifest(bag: Path) -> dict[str, str] | None:
    """Path -> SHA-512 from the bag's manifest-sha512.txt (None when it has none)."""
    manifest = bag / PAYLOAD_MANIFEST
    if not manifest.exists():
        return None
    listed: dict[str, str] = {}
    with open(_open_regular(manifest), "rb") as lines:
        for number, raw in enumerate(lines, 1):
            where = f"{manifest}, line {number}"
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise OcflError(f"{where}: not UTF-8") from None
            if not line.strip():
                continue
            parts = line.split(None, 1)
            if len(parts) != 2:
                raise OcflError(f"{where}: not '<checksum> <path>'")
            digest = _check_digest(parts[0], where)
            path = _MANIFEST_ESCAPE.sub(lambda m: _MANIFEST_UNESCAPE[m[1].lower()], parts[1])
            _check_relative(path, where)
            if listed.setdefault(path, digest) != digest:
                raise OcflError(f"{where}: {path!r} listed twice with different checksums")
    return listed


def _check_digest(value: str, where: str) -> str:
    if not isinstance(value, str) or len(value) != 128 or not _HEX.fullmatch(value):
        raise OcflError(f"{where}: {value!r} is not a SHA-512 hex digest")
    return value.lower()


def _check_relative(path: str, where: str) -> None:
    """OCFL's path rules (E052, E053, E099, E100), and UTF-8, which JSON needs."""
    segments = path.split("/")
    if any(segment in ("", ".", "..") for segment in segments) or "\x00" in path:
        raise OcflError(f"{where}: {path!r} is not a safe relative path")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise OcflError(f"{where}: {path.encode('utf-8', 'surrogateescape')!r} is not UTF-8") from None


# -- bytes ------------------------------------------------------------------------------
def _open_regular(path: Path) -> int:
    """A file descriptor for reading, refusing a symbolic link in the last place."""
    try:
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise OcflError(f"{path}: a symbolic link; refused") from None
        raise


def _read_regular(path: Path) -> bytes:
    with open(_open_regular(path), "rb") as stream:
        return stream.read()


def _read_small(path: Path) -> bytes:
    with open(_open_regular(path), "rb") as stream:
        return stream.read(4096)


class _Streamer:
    """Reads files through one reused buffer (a fresh 1 MiB per small file is what costs)."""

    def __init__(self) -> None:
        self._view = memoryview(bytearray(CHUNK))
        self._folders: set[Path] = set()  # made already: no mkdir per file

    def chunks(self, path: Path) -> Iterator[memoryview]:
        with open(_open_regular(path), "rb", buffering=0) as stream:
            while size := stream.readinto(self._view):
                yield self._view[:size]

    def sha512(self, path: Path) -> str:
        digest = hashlib.sha512()
        for chunk in self.chunks(path):
            digest.update(chunk)
        return digest.hexdigest()

    def copy(self, source: Path, target: Path, sha512: str) -> tuple[str, int]:
        """Copy while hashing; the bytes written must be those the SHA-512 names. -> (SHA-256, size)."""
        if target.parent not in self._folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(target.parent)
        check, fixity, size = hashlib.sha512(), hashlib.sha256(), 0
        with open(target, "xb") as out:
            for chunk in self.chunks(source):
                check.update(chunk)
                fixity.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if check.hexdigest() != sha512:
            raise OcflError(
                f"{source}: its bytes do not match the SHA-512 recorded for it ({sha512});"
                " the bag changed after its manifest was written"
            )
        return fixity.hexdigest(), size


def _write_inventory(inventory: Mapping[str, Any], path: Path) -> str:
    """Write the inventory as sorted, indented UTF-8 JSON, in chunks; return its SHA-512."""
    digest = hashlib.sha512()
    encoder = json.JSONEncoder(ensure_ascii=False, indent=2, sort_keys=True)
    pending: list[str] = []
    pending_size = 0
    with open(path, "xb") as out:

        def flush() -> None:
            data = "".join(pending).encode("utf-8")
            digest.update(data)
            out.write(data)
            pending.clear()

        for piece in encoder.iterencode(inventory):
            pending.append(piece)
            pending_size += len(piece)
            if pending_size >= CHUNK:
                flush()
                pending_size = 0
        pending.append("\n")
        flush()
    return digest.hexdigest()


def _read_sidecar(path: Path) -> str | None:
    if not path.is_file() or path.is_symlink():
        return None
    match = _SIDECAR_LINE.fullmatch(_read_small(path).decode("ascii", "replace"))
    return match[1].lower() if match else None


def _read_json(path: Path) -> Any:
    return _parse_json(_read_regular(path), path)


def _parse_json(data: bytes, path: Path) -> Any:
    try:
        return json.loads(data)
    except ValueError as error:
        raise OcflError(f"{path}: not JSON ({error})") from None


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8")


# -- folders ----------------------------------------------------------------------------
def _check_no_links(root: Path, relative: str) -> None:
    """No folder on the way from the storage root to the object is a link out of it."""
    here = root
    for part in relative.split("/"):
        here = here / part
        if here.is_symlink():
            raise OcflError(f"{here}: a symbolic link inside the OCFL storage root; refused")
        if here.exists() and not here.is_dir():
            raise OcflError(f"{here}: a file where the storage layout puts a folder")


def _prune_empty_parents(obj: Path, root: Path) -> None:
    """Remove the layout folders an abandoned object leaves empty (E073 forbids them)."""
    here = obj.parent
    while here != root and root in here.parents:
        try:
            here.rmdir()
        except OSError:
            return
        here = here.parent


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- values -----------------------------------------------------------------------------
def _require_text(label: str, value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"the {label} must be a string, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise OcflError(f"the {label} {value!r} is not valid Unicode") from None


def _rfc3339(moment: datetime) -> str:
    """RFC 3339 to the second with its time zone (``Z`` for UTC), as OCFL asks (E049)."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("created must carry a time zone (OCFL asks RFC 3339 with one)")
    moment = moment.replace(microsecond=0)
    if offset == timedelta(0):
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.isoformat()
