"""pack and read back: the package is valid by tools nobody here wrote (bagit-python, PyLD),
gives back its archive row for row, and refuses to be read when tampered with."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import bagit
import pytest
from pyld import jsonld

from passerelle.activitystreams.vocabulary import AS2_CONTEXT, CONTEXT, PASSERELLE_CONTEXT
from passerelle.archive import DATABASE, Archive
from passerelle.errors import BadInputError
from passerelle.exit_status import ExitStatus
from passerelle.ingest import ingest
from passerelle.model.entities import MODEL_VERSION
from passerelle.package import layout
from passerelle.package.pack import pack
from passerelle.verify import verify
from passerelle.verify.package import PackageReport, compare_databases
from tests.conformance.cases import READER_CASES
from tests.helpers import run

CASES = ["slack-testarchive", "slack-generated-zip", "mattermost-zulip-export", "slackdump-chunks"]


def _archive(case_id: str, tmp: Path) -> Path:
    case = next(c for c in READER_CASES if c.id == case_id)
    archive = tmp / "archive"
    ingest([case.make(tmp)], archive, format=case.reader)
    return archive


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An archive of a generated Slack export with threads, files and reactions, and its package."""
    tmp = tmp_path_factory.mktemp("packed")
    archive = _archive("slack-generated-zip", tmp)
    pack(archive, tmp / "package")
    return archive, tmp / "package"


def _copy(package: Path, tmp: Path) -> Path:
    copy = tmp / "copy"
    shutil.copytree(package, copy)
    return copy


def _identical(archive: Path, restored: Path) -> PackageReport:
    with Archive.open(restored) as opened:
        source = opened.store.scalar("SELECT id FROM sources WHERE platform = 'passerelle-package'")
    return compare_databases(archive / DATABASE, restored / DATABASE, source, "restored")


@pytest.mark.parametrize("case_id", CASES)
def test_round_trip_gives_back_every_row(case_id: str, tmp_path: Path) -> None:
    archive = _archive(case_id, tmp_path)
    report = pack(archive, tmp_path / "package")
    assert report.check.ok
    bagit.Bag(str(tmp_path / "package")).validate()  # the Library of Congress's validator, full
    [read] = ingest([tmp_path / "package"], tmp_path / "restored")  # detected, not forced
    assert read.reader == "package"
    comparison = _identical(archive, tmp_path / "restored")
    assert comparison.ok, comparison.problems
    assert comparison.tables["items"].in_archive > 0
    assert comparison.tables["items"].in_archive == comparison.tables["items"].in_package


def test_restored_archive_still_verifies_against_the_original_source(tmp_path: Path) -> None:
    case = next(c for c in READER_CASES if c.id == "slack-testarchive")
    source = case.make(tmp_path)
    ingest([source], tmp_path / "archive", format=case.reader)
    pack(tmp_path / "archive", tmp_path / "package")
    ingest([tmp_path / "package"], tmp_path / "restored")
    with Archive.open(tmp_path / "restored") as restored:
        report = verify(restored, source)
    assert report.ok, report.problems[:10]
    # The restored archive knows the source: ingesting it again adds nothing.
    [again] = ingest([source], tmp_path / "restored", format=case.reader)
    assert again.status == "already ingested"


def test_package_layout_and_contents(packed: tuple[Path, Path]) -> None:
    archive, package = packed
    for path in (
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha512.txt",
        "manifest-sha256.txt",
        "tagmanifest-sha512.txt",
        "tagmanifest-sha256.txt",
        layout.README,
        layout.DESCRIPTION,
        layout.INDEX,
        layout.CONTEXT_MAP,
        layout.DATABASE,
        layout.SCHEMA,
        layout.VERIFY_REPORT,
        layout.DIAGNOSTICS,
        layout.SOURCES,
        f"{layout.CONTEXTS}/activitystreams.jsonld",
        f"{layout.CONTEXTS}/passerelle.jsonld",
    ):
        assert (package / path).is_file(), path
    info = bagit.Bag(str(package)).info
    assert info["Passerelle-Model-Version"] == MODEL_VERSION
    assert int(info["Passerelle-Count-Items"]) > 0
    assert json.loads((package / layout.VERIFY_REPORT).read_text())["ok"] is True
    with Archive.open(archive) as opened:
        shas = {r[0] for r in opened.store.query("SELECT sha256 FROM files WHERE sha256 IS NOT NULL")}
    assert shas, "the sample has files with bytes"
    for sha in shas:
        assert (package / layout.file_path(sha)).is_file()
    # The packed database opens read-only without leaving a file beside it.
    import sqlite3

    db = package / layout.DATABASE
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] > 0
    assert sorted(p.name for p in db.parent.iterdir()) == ["archive.sqlite"]


def test_pack_is_deterministic(packed: tuple[Path, Path], tmp_path: Path) -> None:
    archive, package = packed
    pack(archive, tmp_path / "again")
    for manifest in ("manifest-sha512.txt", "manifest-sha256.txt"):
        assert (tmp_path / "again" / manifest).read_bytes() == (package / manifest).read_bytes()


# -- JSON-LD, checked by PyLD offline ----------------------------------------------------------
def _loader(package: Path) -> Any:
    from pyld.documentloader.frozen import FrozenDocumentLoader

    mapping = json.loads((package / layout.CONTEXT_MAP).read_text())
    base = package / layout.AS2
    return FrozenDocumentLoader(documents={url: base / path for url, path in mapping.items()})


def _no_undeclared(expanded: Any, where: str) -> None:
    """After expansion every key is a keyword or an absolute IRI: AS2's "@vocab": "_:" turns an
    undeclared term into a blank-node key, which RDF processors then drop."""
    if isinstance(expanded, list):
        for value in expanded:
            _no_undeclared(value, where)
    elif isinstance(expanded, dict):
        for key, value in expanded.items():
            assert key.startswith("@") or key.startswith(("https://", "http://")), (
                f"{where}: {key} undeclared"
            )
            _no_undeclared(value, where)


def _same(original: Any, compacted: Any, where: str) -> None:
    """The re-compacted document says what the original said (arrays of one may be unwrapped,
    relative IRIs come back resolved against the document's location)."""
    if isinstance(original, dict) and set(original) == {"id"} and isinstance(compacted, str):
        assert compacted == original["id"], where  # a node known by its id alone compacts to the id
    elif isinstance(original, dict):
        assert isinstance(compacted, dict), where
        keys = set(original) - {"@context"}
        assert keys == set(compacted) - {"@context"}, f"{where}: {keys ^ (set(compacted) - {'@context'})}"
        for key in keys:
            _same(original[key], compacted[key], f"{where}.{key}")
    elif isinstance(original, list):
        values = compacted if isinstance(compacted, list) else [compacted]
        assert len(original) == len(values), where
        for i, (a, b) in enumerate(zip(original, values, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(original, str) and isinstance(compacted, str) and compacted.startswith("file://"):
        assert compacted.endswith(original.lstrip("./").split("../")[-1]), where
    else:
        assert original == compacted, f"{where}: {original!r} != {compacted!r}"


def check_jsonld(package: Path) -> int:
    """Expand every JSON-LD document of the package offline (the AS2 context named by its
    https and its http URL alike), check no term is dropped, compact it back and compare."""
    loader = _loader(package)
    checked = 0
    for path in sorted((package / layout.AS2).rglob("*.jsonld")):
        if path.parent.name == "contexts":
            continue
        doc = json.loads(path.read_text())
        assert doc["@context"] == CONTEXT
        for variant in (AS2_CONTEXT, "http://www.w3.org/ns/activitystreams"):
            doc["@context"] = [variant, PASSERELLE_CONTEXT]
            options = {"documentLoader": loader, "base": path.as_uri()}
            expanded = jsonld.expand(doc, options=options)
            _no_undeclared(expanded, str(path))
            compacted = jsonld.compact(expanded, doc["@context"], options=options)
            _same(doc, compacted, path.name)
        checked += 1
    return checked


def test_every_jsonld_document_expands_and_compacts_offline_without_losing_a_term(
    packed: tuple[Path, Path],
) -> None:
    assert check_jsonld(packed[1]) > 10


def test_passerelle_context_overrides_no_as2_term() -> None:
    from passerelle.activitystreams.vocabulary import context_bytes

    as2 = json.loads(context_bytes(AS2_CONTEXT))["@context"]
    ours = json.loads(context_bytes(PASSERELLE_CONTEXT))["@context"]
    assert not set(as2) & set(ours)


# -- hostile packages -------------------------------------------------------------------------
def _refused(package: Path, tmp: Path, *names: str) -> str:
    result = run("ingest", str(package), "-o", str(tmp / "refused"))
    assert result.exit_code == ExitStatus.BAD_INPUT, result.output
    assert not (tmp / "refused").exists(), "a refused package must not create the archive"
    for name in names:
        assert name in result.stderr, result.stderr
    return result.stderr


def test_a_changed_byte_is_refused_naming_the_file(packed: tuple[Path, Path], tmp_path: Path) -> None:
    package = _copy(packed[1], tmp_path)
    page = sorted((package / layout.SPACES).rglob("items/page-000001.jsonld"))[0]
    data = bytearray(page.read_bytes())
    data[len(data) // 2] ^= 0x01
    page.write_bytes(bytes(data))
    _refused(package, tmp_path, page.relative_to(package).as_posix())


def test_a_missing_file_is_refused_naming_it(packed: tuple[Path, Path], tmp_path: Path) -> None:
    package = _copy(packed[1], tmp_path)
    victim = next((package / layout.FILES).rglob("*"))
    victim = victim if victim.is_file() else next(p for p in victim.rglob("*") if p.is_file())
    victim.unlink()
    _refused(package, tmp_path, victim.relative_to(package).as_posix())


def test_an_extra_file_is_refused_naming_it(packed: tuple[Path, Path], tmp_path: Path) -> None:
    package = _copy(packed[1], tmp_path)
    (package / "data" / "smuggled.txt").write_text("not in the manifests")
    _refused(package, tmp_path, "data/smuggled.txt")


def test_a_bad_manifest_line_is_refused_naming_the_manifest(
    packed: tuple[Path, Path], tmp_path: Path
) -> None:
    package = _copy(packed[1], tmp_path)
    manifest = package / "manifest-sha256.txt"
    manifest.write_text(manifest.read_text() + "this is not a manifest line\n")
    _refused(package, tmp_path, "manifest-sha256.txt")


def _reseal(package: Path) -> None:
    """Recompute the manifests after an edit (bagit-python builds this fixture, it checks nothing)."""
    bag = bagit.Bag(str(package))
    bag.save(manifests=True)


def _set_model_version(package: Path, version: str) -> None:
    description = json.loads((package / layout.DESCRIPTION).read_text())
    description["model_version"] = version
    (package / layout.DESCRIPTION).write_text(json.dumps(description))
    _reseal(package)


def test_a_package_of_a_newer_model_is_refused(packed: tuple[Path, Path], tmp_path: Path) -> None:
    package = _copy(packed[1], tmp_path)
    _set_model_version(package, "9.0")
    stderr = _refused(package, tmp_path, "9.0")
    assert "newer" in stderr


def test_a_package_of_an_older_model_is_migrated(packed: tuple[Path, Path], tmp_path: Path) -> None:
    package = _copy(packed[1], tmp_path)
    # Model 1.0 had no space display names: its Groups carry no `name`.
    for page in (package / layout.SPACES).glob("page-*.jsonld"):
        doc = json.loads(page.read_text())
        for group in doc["orderedItems"]:
            group.pop("name", None)
        page.write_text(json.dumps(doc))
    _set_model_version(package, "1.0")
    result = run("ingest", str(package), "-o", str(tmp_path / "migrated"))
    assert result.exit_code == 0, result.output
    with Archive.open(tmp_path / "migrated") as migrated:
        assert migrated.store.scalar("SELECT value FROM meta WHERE key = 'model_version'") == MODEL_VERSION
        assert migrated.store.scalar("SELECT count(*) FROM spaces WHERE display_name IS NOT NULL") == 0
        assert migrated.store.scalar("SELECT count(*) FROM spaces") > 0


def test_a_zipped_package_reads_back(packed: tuple[Path, Path], tmp_path: Path) -> None:
    archive, package = packed
    zipped = tmp_path / "package.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for path in sorted(package.rglob("*")):
            if path.is_file():
                zf.write(path, f"package/{path.relative_to(package).as_posix()}")
    ingest([zipped], tmp_path / "restored")
    assert _identical(archive, tmp_path / "restored").ok


def test_cli_pack_ingest_verify(packed: tuple[Path, Path], tmp_path: Path) -> None:
    archive, _ = packed
    result = run("pack", str(archive), "-o", str(tmp_path / "package"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["verified"] is True and summary["counts"]["items"] > 0
    assert run("pack", str(archive), "-o", str(tmp_path / "package")).exit_code == ExitStatus.BAD_INPUT
    verified = run("verify", str(archive), "--against", str(tmp_path / "package"), "--json")
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["kind"] == "package"
    # An archive that lost an item is told so by verify against its package.
    copy = tmp_path / "changed"
    shutil.copytree(archive, copy)
    with Archive.open(copy) as changed:
        changed.store.conn.execute(
            "DELETE FROM items WHERE id = (SELECT id FROM items WHERE id NOT IN (SELECT item_id FROM reactions)"
            " AND id NOT IN (SELECT item_id FROM item_files) AND id NOT IN (SELECT item_id FROM revisions) LIMIT 1)"
        )
    differs = run("verify", str(copy), "--against", str(tmp_path / "package"), "--json")
    assert differs.exit_code == ExitStatus.PROBLEMS_FOUND, differs.output
    assert json.loads(differs.stdout)["tables"]["items"]["added"] == 1


def test_pack_refuses_an_archive_missing_file_bytes(packed: tuple[Path, Path], tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    shutil.copytree(packed[0], archive)
    blob = next(p for p in (archive / "blobs" / "sha256").rglob("*") if p.is_file())
    blob.unlink()
    result = run("pack", str(archive), "-o", str(tmp_path / "package"))
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert blob.name in result.stderr
    assert not (tmp_path / "package").exists() and not (tmp_path / "package.partial").exists()


def test_ingesting_the_package_into_the_same_archive_changes_nothing(
    packed: tuple[Path, Path], tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    shutil.copytree(packed[0], archive)
    ingest([packed[1]], archive)
    comparison = _identical(packed[0], archive)
    assert comparison.ok, comparison.problems


def test_not_a_package(tmp_path: Path) -> None:
    (tmp_path / "bag").mkdir()
    (tmp_path / "bag" / "bagit.txt").write_text("BagIt-Version: 1.0\n")
    with pytest.raises(BadInputError):
        ingest([tmp_path / "bag"], tmp_path / "a", format="package")


def test_collections_span_many_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small pages (and a byte limit an object alone exceeds) chain by next/prev and read back whole."""
    import passerelle.package.collections as collections

    monkeypatch.setattr(collections, "PAGE_SIZE", 3)
    monkeypatch.setattr(collections, "PAGE_BYTES", 200)
    archive = _archive("slack-generated-zip", tmp_path)
    pack(archive, tmp_path / "package")
    pages = sorted((tmp_path / "package" / layout.PERSONS).glob("page-*.jsonld"))
    assert len(pages) > 2
    last = json.loads(pages[-1].read_text())
    assert "next" not in last and last["prev"] == pages[-2].name
    collection = json.loads((tmp_path / "package" / layout.PERSONS / layout.COLLECTION).read_text())
    assert collection["last"] == pages[-1].name
    assert collection["totalItems"] == sum(len(json.loads(p.read_text())["orderedItems"]) for p in pages)
    ingest([tmp_path / "package"], tmp_path / "restored")
    assert _identical(archive, tmp_path / "restored").ok


def test_successive_packs_are_versions_of_one_ocfl_object(tmp_path: Path) -> None:
    """The same workspace packed again after a later export is a new version, which keeps
    the earlier one; ocfl-py's validator (nobody here wrote it) finds the object valid."""
    from tests.package.test_ocfl import validate_object, validate_root

    case = next(c for c in READER_CASES if c.id == "slack-generated-zip")
    archive = tmp_path / "archive"
    ingest([case.make(tmp_path)], archive, format=case.reader)
    root = tmp_path / "ocfl"
    first = run("pack", str(archive), "-o", str(tmp_path / "one"), "--ocfl", str(root), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["ocfl"]["version"] == "v1"
    later = next(c for c in READER_CASES if c.id == "slack-testarchive")
    ingest([later.make(tmp_path)], archive, format=later.reader)
    second = run("pack", str(archive), "-o", str(tmp_path / "two"), "--ocfl", str(root), "--json")
    assert second.exit_code == 0, second.output
    summary = json.loads(second.stdout)["ocfl"]
    assert summary["version"] == "v2" and summary["reused_files"] > 0
    validate_object(Path(summary["object"]))  # valid, and not a single warning
    validate_root(root)
    inventory = json.loads((Path(summary["object"]) / "inventory.json").read_text())
    assert sorted(inventory["versions"]) == ["v1", "v2"]
    # Each version's state is its package: every payload path with the package's own digest.
    for version, package in (("v1", tmp_path / "one"), ("v2", tmp_path / "two")):
        state = {
            path: digest
            for digest, paths in inventory["versions"][version]["state"].items()
            for path in paths
        }
        for line in (package / "manifest-sha512.txt").read_text().splitlines():
            digest, path = line.split(maxsplit=1)
            assert state[path] == digest


def test_pack_against_the_source_keeps_the_reconciliation_in_the_package(tmp_path: Path) -> None:
    case = next(c for c in READER_CASES if c.id == "slack-generated-zip")
    source = case.make(tmp_path)
    archive = tmp_path / "archive"
    ingest([source], archive, format=case.reader)
    result = run("pack", str(archive), "-o", str(tmp_path / "package"), "--against", str(source), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sources_reconciled"] == {str(source): True}
    [report] = sorted((tmp_path / "package" / layout.REPORTS).glob("source-*.json"))
    assert json.loads(report.read_text())["ok"] is True
    bagit.Bag(str(tmp_path / "package")).validate()
    # An archive that lost a message is packed, and says so: the report in the package, exit 1.
    with Archive.open(archive) as opened:
        opened.store.conn.execute(
            "DELETE FROM items WHERE id = (SELECT id FROM items WHERE kind = 'message'"
            " AND id NOT IN (SELECT item_id FROM reactions) AND id NOT IN (SELECT item_id FROM item_files)"
            " AND id NOT IN (SELECT coalesce(thread_root_id, '') FROM items) LIMIT 1)"
        )
    lost = run("pack", str(archive), "-o", str(tmp_path / "lost"), "--against", str(source))
    assert lost.exit_code == ExitStatus.PROBLEMS_FOUND, lost.output
    [report] = sorted((tmp_path / "lost" / layout.REPORTS).glob("source-*.json"))
    assert json.loads(report.read_text())["ok"] is False
    # Something that is not an export of the archive is refused before anything is written.
    (tmp_path / "notes.txt").write_text("not an export")
    refused = run(
        "pack", str(archive), "-o", str(tmp_path / "refused"), "--against", str(tmp_path / "notes.txt")
    )
    assert refused.exit_code == ExitStatus.BAD_INPUT, refused.output
    assert not (tmp_path / "refused").exists() and not (tmp_path / "refused.partial").exists()


def test_an_interrupted_read_back_finishes_when_run_again(
    packed: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import passerelle.readers.package as package_reader

    archive, package = packed
    original = package_reader._PackageRead._item
    seen = 0

    def crash_after_some(self: Any, obj: dict[str, Any]) -> None:
        nonlocal seen
        seen += 1
        if seen > 700:
            raise KeyboardInterrupt  # a crash in the middle of the items
        original(self, obj)

    from passerelle.archive.writer import ArchiveWriter

    # Commit after every unit (a page), so the crash leaves pages done.
    monkeypatch.setattr(ArchiveWriter.__init__, "__kwdefaults__", {"batch_size": 10_000, "commit_every": 1})
    monkeypatch.setattr(package_reader._PackageRead, "_item", crash_after_some)
    with pytest.raises(KeyboardInterrupt):
        ingest([package], tmp_path / "restored")
    with Archive.open(tmp_path / "restored") as partly:
        assert partly.store.scalar("SELECT count(*) FROM source_units") > 0
        assert partly.store.scalar("SELECT count(*) FROM items") > 0
    monkeypatch.setattr(package_reader._PackageRead, "_item", original)
    [again] = ingest([package], tmp_path / "restored")
    assert again.status == "resumed"
    comparison = _identical(archive, tmp_path / "restored")
    assert comparison.ok, (comparison.tables, comparison.problems[:3])


def test_an_object_that_does_not_read_is_kept_in_a_diagnostic(
    packed: tuple[Path, Path], tmp_path: Path
) -> None:
    """A resealed package (checksums right) whose item lost its kind: the rest reads, the
    object is kept verbatim in an error diagnostic at its place, and verify says so."""
    archive, package = packed
    package = _copy(package, tmp_path)
    page = sorted((package / layout.SPACES).rglob("items/page-000001.jsonld"))[0]
    doc = json.loads(page.read_text())
    broken = doc["orderedItems"][0]
    del broken["itemKind"]
    page.write_text(json.dumps(doc))
    _reseal(package)
    ingest([package], tmp_path / "restored")
    with Archive.open(tmp_path / "restored") as restored:
        [(where, raw, dropped)] = restored.store.query(
            "SELECT \"where\", raw, dropped FROM diagnostics WHERE code = 'package.unreadable_object'"
        )
    assert where == f"{page.relative_to(package).as_posix()}#0" and dropped == "item"
    assert json.loads(raw) == broken
    comparison = _identical(archive, tmp_path / "restored")
    assert comparison.tables["items"].missing == 1 and comparison.reader_diagnostics == 1
    assert not comparison.ok


def test_a_package_can_be_one_zip(packed: tuple[Path, Path], tmp_path: Path) -> None:
    """-o NAME.zip: the sealed bag folder NAME/, zipped (same bytes for the same bag), read back
    and verified as it is; BagIt tools validate it once unzipped."""
    archive, _ = packed
    result = run("pack", str(archive), "-o", str(tmp_path / "package.zip"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["package.zip"]  # nothing left beside it
    with zipfile.ZipFile(tmp_path / "package.zip") as zf:
        names = zf.namelist()
        assert names == sorted(names) and all(n.startswith("package/") for n in names)
        zf.extractall(tmp_path / "unzipped")
    bagit.Bag(str(tmp_path / "unzipped" / "package")).validate()
    assert run("verify", str(archive), "--against", str(tmp_path / "package.zip")).exit_code == 0
    ingest([tmp_path / "package.zip"], tmp_path / "restored")
    assert _identical(archive, tmp_path / "restored").ok
    again = tmp_path / "again"
    again.mkdir()
    pack(archive, again / "package.zip")
    assert (again / "package.zip").read_bytes() == (tmp_path / "package.zip").read_bytes()
