"""The package reader: a reversibility package (docs/package.md) back into an archive.

Before anything is written, ``check`` validates the bag completely (every manifest line,
every file present and listed, every checksum) and the package's description: a tampered
package is refused naming the file, a package of a newer model is refused, an older one
is migrated as it is read. ``read`` then follows the Activity Streams collections page by
page (each page is a unit of work) and gives back the archive's own records: the same
ids, values and raw records, under the sources that first made them, which it restores
too, with the diagnostics and the superseded records.
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import msgspec

from passerelle.activitystreams import mapping
from passerelle.archive.writer import ArchiveWriter, table_row
from passerelle.errors import BadInputError
from passerelle.model.entities import MODEL_VERSION
from passerelle.package import layout
from passerelle.package.bag import validate_bag
from passerelle.progress import Display
from passerelle.readers.base import FormatInfo
from passerelle.readers.source_tree import EntryError, SourceTree

PLATFORM = "passerelle-package"
_DECODE_ERRORS = (msgspec.DecodeError, RecursionError, UnicodeDecodeError)
_BATCH = 10_000  # superseded rows restored at a time

JSONObject = dict[str, Any]


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        raise BadInputError(f"the package names model version {text!r}, which is not a version") from None


# Model versions a package may have been written with, each with what turns its objects
# into the next version's. 1.0 had no Space.display_name: its Groups carry no `name`, so
# an absent display name is exactly what the object already says. 1.2 only added
# reference kinds (wiki page and file links), which no earlier package holds.
Migration = Callable[[str, JSONObject], JSONObject]
MIGRATIONS: dict[str, tuple[str, Migration]] = {
    "1.0": ("1.1", lambda kind, obj: obj),
    "1.1": ("1.2", lambda kind, obj: obj),
}


def migrations_from(version: str) -> list[Migration]:
    """The steps from a package's model version to this passerelle's; refuse what it cannot read."""
    current = _version(MODEL_VERSION)
    if _version(version) > current:
        raise BadInputError(
            f"the package was written with model {version}, newer than this passerelle's model"
            f" {MODEL_VERSION}: read it with a newer passerelle"
        )
    steps: list[Migration] = []
    while version != MODEL_VERSION:
        if version not in MIGRATIONS:
            raise BadInputError(f"the package's model {version} is not one this passerelle can migrate")
        version, step = MIGRATIONS[version]
        steps.append(step)
    return steps


def bag_prefix(tree: SourceTree, *, sealed: bool = True) -> str | None:
    """Where the bag starts in the tree: at its top, or in its one top-level folder (a zip).
    ``sealed=False`` finds a payload whose bag declaration is not written yet."""
    marker = "bagit.txt" if sealed else layout.DESCRIPTION
    if marker in tree and layout.DESCRIPTION in tree:
        return ""
    tops = {name.partition("/")[0] for name in tree.names() if name.endswith("/" + marker)}
    for top in sorted(tops):
        if f"{top}/{marker}" in tree and f"{top}/{layout.DESCRIPTION}" in tree:
            return f"{top}/"
    return None


def read_description(tree: SourceTree, prefix: str) -> JSONObject:
    path = prefix + layout.DESCRIPTION
    try:
        description = msgspec.json.decode(tree.read_bytes(path, limit=1 << 20))
    except (*_DECODE_ERRORS, EntryError) as exc:
        raise BadInputError(f"{layout.DESCRIPTION}: not a package description ({exc})") from None
    if not isinstance(description, dict) or description.get("format") != layout.PACKAGE_FORMAT:
        raise BadInputError(f"{layout.DESCRIPTION}: not a {layout.PACKAGE_FORMAT} description")
    if description.get("package_version") != layout.PACKAGE_VERSION:
        raise BadInputError(
            f"{layout.DESCRIPTION}: package version {description.get('package_version')!r};"
            f" this passerelle reads version {layout.PACKAGE_VERSION}"
        )
    if not isinstance(description.get("model_version"), str):
        raise BadInputError(f"{layout.DESCRIPTION}: no model_version")
    migrations_from(description["model_version"])
    return description


class PackageReader:
    info: ClassVar[FormatInfo] = FormatInfo(
        name="package",
        platform=PLATFORM,
        description="passerelle reversibility package (BagIt bag of Activity Streams 2.0; a folder or a zip)",
        keeps=(
            "everything the packed archive held: persons, spaces, memberships, items, reactions, files"
            " and their bytes, revisions, diagnostics, sources, superseded records",
            "the same ids, exact values and raw records, under the sources that first made them",
        ),
        cannot_carry=("nothing: a package that fails its BagIt validation is refused before reading",),
    )
    version: ClassVar[str] = "1"

    @classmethod
    def detect(cls, tree: SourceTree) -> bool:
        return bag_prefix(tree) is not None

    @classmethod
    def check(cls, tree: SourceTree) -> None:
        """Refuse a package that is not whole and unchanged, or of a model this cannot read."""
        prefix = bag_prefix(tree)
        if prefix is None:
            raise BadInputError(
                f"{tree.path}: not a passerelle package (no bagit.txt and {layout.DESCRIPTION})"
            )
        validate_bag(tree, prefix)
        read_description(tree, prefix)

    def read(self, tree: SourceTree, out: ArchiveWriter, display: Display) -> None:
        prefix = bag_prefix(tree, sealed=False)
        if prefix is None:
            raise BadInputError(f"{tree.path}: not a passerelle package")
        description = read_description(tree, prefix)
        _PackageRead(tree, prefix, out, display, migrations_from(description["model_version"])).run()


class _PackageRead:
    def __init__(
        self, tree: SourceTree, prefix: str, out: ArchiveWriter, display: Display, migrations: list[Migration]
    ) -> None:
        self.tree = tree
        self.prefix = prefix
        self.out = out
        self.display = display
        self.migrations = migrations

    def run(self) -> None:
        self._restore_sources()
        self._collection(layout.PERSONS, "person", self._person)
        spaces: list[str] = []
        # Every space's collections are read, also those of spaces a resumed run wrote before.
        self._collection(layout.SPACES, "space", self._space, known=spaces.append)
        self._collection(layout.MEMBERSHIPS, "membership", self._membership)
        self._collection(layout.FILES_COLLECTION, "file", self._file)
        for space_id in spaces:
            self._collection(layout.space_items(space_id), "item", self._item)
            self._collection(layout.space_history(space_id), "revision", self._revision)
        self._blobs()
        self._diagnostics()
        self._superseded()

    # -- one object of each kind ---------------------------------------------------------
    def _add(self, entity: msgspec.Struct, source_id: str) -> None:
        self.out.add_row(*table_row(entity, source_id))

    def _person(self, obj: JSONObject) -> None:
        self._add(mapping.person_entity(obj), mapping.source_of(obj))

    def _space(self, obj: JSONObject) -> None:
        self._add(mapping.space_entity(obj), mapping.source_of(obj))

    def _membership(self, obj: JSONObject) -> None:
        self._add(mapping.membership_entity(obj), mapping.source_of(obj))

    def _file(self, obj: JSONObject) -> None:
        self._add(mapping.file_entity(obj), mapping.source_of(obj))

    def _item(self, obj: JSONObject) -> None:
        item, source, files, reactions = mapping.item_entities(obj)
        self._add(item, source)
        for attachment in files:
            self._add(attachment, source)
        for reaction, reaction_source in reactions:
            self._add(reaction, reaction_source)

    def _revision(self, obj: JSONObject) -> None:
        self._add(mapping.revision_entity(obj), mapping.source_of(obj))

    # -- collections, page by page ---------------------------------------------------------
    def _document(self, path: str) -> JSONObject | None:
        """A JSON document of the package, or None with an error diagnostic that keeps its bytes."""
        try:
            data = self.tree.read_bytes(self.prefix + path)
        except EntryError as exc:
            self.out.diagnose("package.unreadable_document", path, str(exc), dropped="document")
            return None
        try:
            decoded = msgspec.json.decode(data)
        except _DECODE_ERRORS as exc:
            self.out.diagnose(
                "package.unreadable_document", path, f"not JSON: {exc}", dropped="document", raw=data
            )
            return None
        if not isinstance(decoded, dict):
            self.out.diagnose(
                "package.unreadable_document", path, "not a JSON object", dropped="document", raw=data
            )
            return None
        return decoded

    def _link(self, folder: str, document: JSONObject, term: str) -> str | None:
        """The package path a relative link of a document names, kept inside its folder."""
        value = document.get(term)
        if not isinstance(value, str):
            return None
        path = posixpath.normpath(posixpath.join(folder, value))
        return path if path.startswith(folder + "/") else None

    def _collection(
        self,
        folder: str,
        kind: str,
        take: Callable[[JSONObject], Any],
        *,
        known: Callable[[str], Any] | None = None,
    ) -> None:
        """Read a collection page by page; ``take`` each object of a page not done yet, and
        hand ``known`` the archive id of every object whose id reads, done or not (a space
        whose other fields do not read still has its items read)."""
        collection_path = f"{folder}/{layout.COLLECTION}"
        if self.prefix + collection_path not in self.tree:
            self.out.diagnose(
                "package.unreadable_document", collection_path, f"the {kind} collection is missing"
            )
            return
        collection = self._document(collection_path)
        if collection is None:
            return
        declared = collection.get("totalItems")
        seen: set[str] = set()
        count = 0
        page_path = self._link(folder, collection, "first")
        while page_path is not None and page_path not in seen:
            seen.add(page_path)
            page = self._document(page_path)
            if page is None:
                break
            objects = page.get("orderedItems")
            if not isinstance(objects, list):
                self.out.diagnose(
                    "package.unreadable_document",
                    page_path,
                    "a page without orderedItems",
                    dropped="document",
                )
                break
            count += len(objects)
            done = self.out.is_done(page_path)
            for index, obj in enumerate(objects):
                if not done:
                    self._take(take, kind, obj, f"{page_path}#{index}")
                if known is not None and isinstance(obj, dict):
                    with contextlib.suppress(mapping.MappingError):
                        known(mapping.archive_id_of(obj, kind))
            if not done:
                self.out.complete(page_path)
            page_path = self._link(folder, page, "next")
        if declared != count:
            self.out.diagnose(
                "package.count_mismatch",
                collection_path,
                f"the {kind} collection says {declared} objects; its pages hold {count}",
            )

    def _take(self, take: Callable[[JSONObject], Any], kind: str, obj: Any, where: str) -> None:
        """Take one object, or keep it in a diagnostic when it cannot be read."""
        try:
            if not isinstance(obj, dict):
                raise mapping.MappingError("not an object")
            for migrate in self.migrations:
                obj = migrate(kind, obj)
            take(obj)
        except (mapping.MappingError, KeyError, ValueError, TypeError, msgspec.ValidationError) as exc:
            self.out.diagnose(
                "package.unreadable_object",
                where,
                f"a {kind} that cannot be read: {exc}",
                dropped=kind,
                raw=msgspec.json.encode(obj),
            )

    def _blobs(self) -> None:
        """Every file's bytes (and bytes kept uninterpreted) into the blob store."""
        if self.out.is_done(layout.FILES):
            return
        folder = self.prefix + layout.FILES + "/"
        for name in self.tree.names():
            if not name.startswith(folder):
                continue
            path = name[len(self.prefix) :]
            try:
                with self.tree.open_entry(name) as stream:
                    sha, _ = self.out.put_blob(stream, size=self.tree.size(name))
            except EntryError as exc:
                self.out.diagnose("package.unreadable_document", path, str(exc), dropped="file bytes")
                continue
            if path != layout.file_path(sha):
                self.out.diagnose(
                    "package.unreadable_document",
                    path,
                    f"bytes whose SHA-256 is {sha}, not the one their name says; kept under their own",
                )
        self.out.complete(layout.FILES)

    # -- JSON Lines -----------------------------------------------------------------------------
    def _lines(self, path: str) -> Iterator[tuple[str, JSONObject]]:
        if self.prefix + path not in self.tree:
            self.out.diagnose("package.unreadable_document", path, "missing from the package")
            return
        with self.tree.open_entry(self.prefix + path) as handle:
            for number, line in enumerate(handle, start=1):
                where = f"{path}#{number}"
                try:
                    record = msgspec.json.decode(line)
                except _DECODE_ERRORS as exc:
                    record = None
                    reason = f"not JSON: {exc}"
                else:
                    reason = "not a JSON object"
                if isinstance(record, dict):
                    yield where, record
                else:
                    self.out.diagnose(
                        "package.unreadable_object", where, reason, dropped="record", raw=line.rstrip(b"\n")
                    )

    def _restore_sources(self) -> None:
        if self.out.is_done(layout.SOURCES):
            return
        for where, record in self._lines(layout.SOURCES):
            try:
                source, units = mapping.source_entity(record)
            except mapping.MappingError as exc:
                self._unreadable(where, "source", exc, record)
                continue
            self.out.restore_source(source, units)
        self.out.complete(layout.SOURCES)

    def _diagnostics(self) -> None:
        if self.out.is_done(layout.DIAGNOSTICS):
            return
        for where, record in self._lines(layout.DIAGNOSTICS):
            try:
                diagnostic = mapping.diagnostic_entity(record)
            except (mapping.MappingError, KeyError) as exc:
                self._unreadable(where, "diagnostic", exc, record)
                continue
            self.out.add(diagnostic)
        self.out.complete(layout.DIAGNOSTICS)

    def _superseded(self) -> None:
        if self.out.is_done(layout.SUPERSEDED):
            return
        batch: list[tuple[str, str, bytes, str]] = []
        for where, record in self._lines(layout.SUPERSEDED):
            try:
                batch.append(mapping.superseded_row(record))
            except (mapping.MappingError, KeyError) as exc:
                self._unreadable(where, "superseded record", exc, record)
            if len(batch) >= _BATCH:
                self.out.restore_superseded(batch)
                batch = []
        if batch:
            self.out.restore_superseded(batch)
        self.out.complete(layout.SUPERSEDED)

    def _unreadable(self, where: str, kind: str, exc: Exception, record: JSONObject) -> None:
        self.out.diagnose(
            "package.unreadable_object",
            where,
            f"a {kind} that cannot be read: {exc}",
            dropped=kind,
            raw=msgspec.json.encode(record),
        )
