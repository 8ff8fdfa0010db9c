"""``pack``: an archive as a reversibility package (docs/package.md).

The bag is written under ``OUT.partial`` and renamed when sealed, so a package under its
real name is always whole; a pack that stops is simply run again. Before the bag is
sealed, the payload is read back by the package reader into a scratch archive and
compared with the archive, every row and column; the comparison goes into the package
(``data/reports/verify.json``), and a package that does not give back its archive is not
sealed at all.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from passerelle import __version__
from passerelle.archive import DATABASE, Archive
from passerelle.errors import BadInputError
from passerelle.model.entities import MODEL_VERSION
from passerelle.package import layout
from passerelle.package.bag import BagWriter
from passerelle.package.payload import ArchiveIntegrityError, PayloadWriter, description
from passerelle.package.readme import render_readme
from passerelle.progress import Display, NullDisplay
from passerelle.verify import verify_source
from passerelle.verify.package import PackageReport, compare_databases, read_back
from passerelle.writers.output import ZipOutput

if TYPE_CHECKING:
    from passerelle.package.ocfl import OcflResult

GENERATOR = f"passerelle {__version__}"
AGENT_URI = "urn:passerelle:pack"  # who made an OCFL version when no person is named


class PackageIncompleteError(Exception):
    """The payload read back differs from the archive: a bug, so the bag is not sealed."""


@dataclass
class PackReport:
    package: str
    counts: Counter[str]
    check: PackageReport
    seconds: float
    ocfl: OcflResult | None = None
    sources: dict[str, bool] = field(default_factory=dict)  # source export -> reconciled without a problem

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "package": self.package,
            "counts": dict(sorted(self.counts.items())),
            "verified": self.check.ok,
            "sources_reconciled": self.sources,
            "seconds": round(self.seconds, 3),
        }
        if self.ocfl is not None:
            result["ocfl"] = {
                "object": str(self.ocfl.object_path),
                "version": self.ocfl.version,
                "added_files": self.ocfl.added_files,
                "reused_files": self.ocfl.reused_files,
            }
        return result


def default_object_id(archive: Archive) -> str:
    """The OCFL object id of an archive: named after its first source, so every later pack
    of the same archive (after later exports were ingested) is a version of one object."""
    first = archive.store.scalar("SELECT id FROM sources ORDER BY ingested_at, id LIMIT 1")
    if first is None:
        raise BadInputError(f"{archive.root}: an empty archive (no source ingested); nothing to pack")
    return f"urn:passerelle:archive:{first}"


def _one_line(text: str) -> str:
    """A value fit for bag-info.txt: control characters and line separators shown as escapes
    (tools split lines on more than LF), no edge spaces."""
    return re.sub(r"[\x00-\x1f\x7f\x85\u2028\u2029]", lambda m: f"\\u{ord(m.group()):04x}", text).strip()


def _bag_info(archive: Archive, counts: Counter[str]) -> dict[str, str | list[str]]:
    platforms = sorted({row[0] for row in archive.store.query("SELECT platform FROM sources")})
    sources = [
        _one_line(f"{platform} {reader} {sha256}")
        for platform, reader, sha256 in archive.store.query(
            "SELECT platform, reader, sha256 FROM sources ORDER BY ingested_at, id"
        )
    ]
    summary = ", ".join(
        f"{counts.get(name, 0)} {name}" for name in ("persons", "spaces", "items", "files", "revisions")
    )
    info: dict[str, str | list[str]] = {
        "Bag-Software-Agent": GENERATOR,
        "Bagging-Date": datetime.now(UTC).date().isoformat(),
        "External-Description": _one_line(
            f"Collaboration data from {', '.join(platforms) or 'no source'}: {summary}"
            " (Activity Streams 2.0, SQLite and file bytes; see README.html)"
        ),
        "Passerelle-Package-Version": layout.PACKAGE_VERSION,
        "Passerelle-Model-Version": MODEL_VERSION,
        "Passerelle-Source": sources,
    }
    for name, value in sorted(counts.items()):
        info[f"Passerelle-Count-{name.replace('_', '-').title()}"] = str(value)
    return info


def _copy_database(archive: Archive, bag: BagWriter, scratch: Path) -> None:
    """A consistent snapshot of the database, in rollback-journal mode so that opening it
    read-only in the package creates no -wal/-shm file beside it (which BagIt would see)."""
    snapshot = scratch / "archive.sqlite"
    archive.store.conn.execute("VACUUM INTO ?", (str(snapshot),))
    bag.add_file(layout.DATABASE, snapshot)
    snapshot.unlink()


def pack(
    archive_path: Path,
    out: Path,
    *,
    ocfl_root: Path | None = None,
    object_id: str | None = None,
    ocfl_user: tuple[str, str] | None = None,
    against: Sequence[Path] = (),
    display: Display | None = None,
) -> PackReport:
    """Write the archive at ``archive_path`` as a package at ``out``; with ``ocfl_root``, also
    add it as a new version of the archive's OCFL object. ``ocfl_user``: (name, address URI)
    of who makes the version (default: passerelle itself). ``against``: source exports to
    reconcile with the archive (``verify``) and keep the reports of in the package."""
    display = display or NullDisplay()
    started = time.perf_counter()
    if out.exists():
        raise BadInputError(f"{out} exists; a package is written under a new name")
    zipped = out.suffix.lower() == ".zip"
    folder = out.with_suffix("") if zipped else out  # the bag's own folder (inside the zip)
    partial = out.with_name(out.name + ".partial")
    for leftover in (partial, out.with_name(out.name + ".bag.partial")):
        if leftover.is_dir():
            shutil.rmtree(leftover)  # what an interrupted pack left
    if zipped:
        partial = out.with_name(out.name + ".bag.partial")
    with Archive.open(archive_path) as archive, tempfile.TemporaryDirectory(prefix="passerelle-pack-") as tmp:
        scratch = Path(tmp)
        oid = object_id or default_object_id(archive)
        # First, so that a source that is not an export fails before anything is written.
        sources = {
            r.source_id: r for r in (verify_source(archive, path, display=display) for path in against)
        }
        bag = BagWriter(partial)
        try:
            for source_id, source_report in sorted(sources.items()):
                bag.add_bytes(
                    layout.source_report(source_id),
                    json.dumps(source_report.as_json(), indent=2).encode() + b"\n",
                )
            counts = PayloadWriter(archive, bag, display).write()
            bag.add_bytes(layout.DESCRIPTION, description(counts, GENERATOR))
            _copy_database(archive, bag, scratch)
            check = _check(archive, partial, scratch, display)
            bag.add_bytes(layout.VERIFY_REPORT, json.dumps(check.as_json(), indent=2).encode() + b"\n")
            info = _bag_info(archive, counts)
            shown = {
                label: value if isinstance(value, str) else "; ".join(value) for label, value in info.items()
            }
            readme = render_readme(
                archive, counts=counts, model_version=MODEL_VERSION, generator=GENERATOR, bag_info=shown
            )
            bag.add_tag_bytes(layout.README, readme)
            bag.finish(info)
        except ArchiveIntegrityError as exc:
            bag.abort()
            raise BadInputError(str(exc)) from None
        except BaseException:
            bag.abort()
            raise
    report = PackReport(str(out), counts, check, 0.0, sources={r.source: r.ok for r in sources.values()})
    if ocfl_root is not None:  # from the sealed bag's folder, before it is zipped or renamed
        from passerelle.package.ocfl import add_version  # only when asked

        name, address = ocfl_user or (GENERATOR, AGENT_URI)
        report.ocfl = add_version(
            ocfl_root,
            oid,
            partial,
            message=f"passerelle pack of {archive_path.name}",
            user_name=name,
            user_address=address,
        )
    if zipped:
        try:
            _zip_bag(partial, out, folder.name)
        finally:
            shutil.rmtree(partial)
    else:
        partial.rename(out)
    report.seconds = time.perf_counter() - started
    return report


def _zip_bag(bag: Path, out: Path, top: str) -> None:
    """The sealed bag as one zip (RFC 8493 §4: a serialised bag is the bag's folder, whole):
    members in order under ``top/``, fixed dates, so the same bag gives the same bytes."""
    output = ZipOutput(out)
    try:
        for name in sorted(p.relative_to(bag).as_posix() for p in bag.rglob("*") if p.is_file()):
            with (bag / name).open("rb") as source, output.open(f"{top}/{name}") as member:
                shutil.copyfileobj(source, member, 1 << 20)
        output.finish()
    except BaseException:
        output.abort()
        raise


def _check(archive: Archive, payload: Path, scratch: Path, display: Display) -> PackageReport:
    """Read the payload back by the package reader and compare it with the archive."""
    restored = scratch / "read-back"
    source = read_back(payload, restored, display, check=False)
    archive.store.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    report = compare_databases(archive.root / DATABASE, restored / DATABASE, source, "the package")
    shutil.rmtree(restored)
    if not report.ok:
        raise PackageIncompleteError(
            "the package read back differs from the archive (a bug in passerelle): "
            + "; ".join(report.problems[:5])
        )
    return report
