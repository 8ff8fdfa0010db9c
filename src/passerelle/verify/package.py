"""A package against the archive it was packed from: read the package back (by its reader,
not by anything pack used) into a scratch archive, then compare the two databases table by
table, every column, in SQL (``EXCEPT`` both ways), so nothing is "probably" equal.
"""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from passerelle.archive import DATABASE, Archive
from passerelle.archive.blobs import LocalBlobStore
from passerelle.ingest import OpenSource, ingest_source
from passerelle.progress import Display, NullDisplay
from passerelle.readers.package import PackageReader, bag_prefix
from passerelle.readers.source_tree import SourceTree

# Every table that holds what the archive knows; the search index and meta are derived.
COMPARED_TABLES = (
    "sources",
    "source_units",
    "persons",
    "spaces",
    "memberships",
    "items",
    "item_files",
    "reactions",
    "files",
    "revisions",
    "diagnostics",
    "superseded",
)
MAX_LISTED = 50


def is_package(path: Path) -> bool:
    try:
        tree = SourceTree.open(path)
    except Exception:
        return False
    try:
        return bag_prefix(tree) is not None
    finally:
        tree.close()


@dataclass
class TableComparison:
    in_archive: int = 0
    in_package: int = 0
    missing: int = 0  # rows of the archive the package does not give back exactly
    added: int = 0  # rows read from the package that the archive does not hold

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class PackageReport:
    package: str
    tables: dict[str, TableComparison] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    reader_diagnostics: int = 0  # diagnostics reading the package made (none for a sound package)

    @property
    def problem_count(self) -> int:
        return sum(t.missing + t.added for t in self.tables.values()) + self.reader_diagnostics

    @property
    def ok(self) -> bool:
        return (
            not self.reader_diagnostics
            and all(t.missing == 0 and t.added == 0 for t in self.tables.values())
            and bool(self.tables)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "package",
            "package": self.package,
            "ok": self.ok,
            "tables": {name: t.as_dict() for name, t in self.tables.items()},
            "reader_diagnostics": self.reader_diagnostics,
            "problems": self.problems,
        }

    def render(self, console: Console) -> None:
        table = Table(title=f"{self.package} read back and compared with the archive, every column")
        for column in ("table", "in archive", "in package", "missing", "added"):
            table.add_column(column, justify="left" if column == "table" else "right")
        for name, t in self.tables.items():
            bad = "[bold red]{}[/]"
            table.add_row(
                name,
                str(t.in_archive),
                str(t.in_package),
                bad.format(t.missing) if t.missing else "0",
                bad.format(t.added) if t.added else "0",
            )
        console.print(table)
        for text in self.problems:
            console.print(f"[red]difference[/] {text}", markup=True, highlight=False)
        if self.reader_diagnostics:
            console.print(f"[bold red]reading the package made {self.reader_diagnostics} diagnostics[/]")
        console.print(
            "[green]identical[/]" if self.ok else "[bold red]the package differs from the archive[/]"
        )


def _columns(conn: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA {schema}.table_info({table})")]


def compare_databases(archive_db: Path, package_db: Path, package_source: str, label: str) -> PackageReport:
    """Compare every row of every table; the package's own source (the read-back) is left out."""
    report = PackageReport(label)
    conn = sqlite3.connect(f"file:{archive_db}?mode=ro", uri=True)
    try:
        conn.execute("ATTACH DATABASE ? AS pkg", (f"file:{package_db}?mode=ro",))
        for table in COMPARED_TABLES:
            columns = _columns(conn, "main", table)
            if columns != _columns(conn, "pkg", table):
                report.problems.append(f"{table}: the columns differ")
                report.tables[table] = TableComparison(missing=1)
                continue
            names = ", ".join(f'"{c}"' for c in columns)
            # The read-back's own source (the package, as a source) is on neither side: an
            # archive restored from this package holds it under the same id.
            own = {"sources": "id", "source_units": "source_id", "diagnostics": "source_id"}.get(table)
            where = f' WHERE "{own}" IS NOT :own' if own else ""
            theirs = f"SELECT {names} FROM main.{table}{where}"
            mine = f"SELECT {names} FROM pkg.{table}{where}"
            params = {"own": package_source}
            t = report.tables[table] = TableComparison()
            t.in_archive = conn.execute(f"SELECT count(*) FROM ({theirs})", params).fetchone()[0]
            t.in_package = conn.execute(f"SELECT count(*) FROM ({mine})", params).fetchone()[0]
            t.missing = conn.execute(f"SELECT count(*) FROM ({theirs} EXCEPT {mine})", params).fetchone()[0]
            t.added = conn.execute(f"SELECT count(*) FROM ({mine} EXCEPT {theirs})", params).fetchone()[0]
            for kind, count, sql in (
                ("missing from", t.missing, f"{theirs} EXCEPT {mine}"),
                ("added by", t.added, f"{mine} EXCEPT {theirs}"),
            ):
                if not count or len(report.problems) >= MAX_LISTED:
                    continue
                for row in conn.execute(f"{sql} LIMIT {MAX_LISTED - len(report.problems)}", params):
                    report.problems.append(f"{table}: a row {kind} the package: {_short(row)}")
        report.tables["file bytes"] = _compare_blobs(archive_db.parent / "blobs", package_db.parent / "blobs")
        if package_source:
            report.reader_diagnostics = conn.execute(
                "SELECT count(*) FROM pkg.diagnostics WHERE source_id = ?", (package_source,)
            ).fetchone()[0]
    finally:
        conn.close()
    return report


def _compare_blobs(archive_blobs: Path, package_blobs: Path) -> TableComparison:
    """The two blob stores hold the same SHA-256 names (merged in order, never all in memory);
    each store checks its bytes against their name when it writes them."""
    t = TableComparison()
    mine, theirs = LocalBlobStore(archive_blobs).hashes(), LocalBlobStore(package_blobs).hashes()
    a, b = next(mine, None), next(theirs, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a < b):
            t.in_archive += 1
            t.missing += 1
            a = next(mine, None)
        elif a is None or b < a:
            t.in_package += 1
            t.added += 1
            b = next(theirs, None)
        else:
            t.in_archive += 1
            t.in_package += 1
            a, b = next(mine, None), next(theirs, None)
    return t


def _short(row: tuple[Any, ...]) -> str:
    text = repr(row)
    return text if len(text) <= 200 else text[:197] + "..."


def read_back(package: Path, scratch: Path, display: Display | None = None, *, check: bool = True) -> str:
    """Read a package into a new archive at ``scratch``; return the package's source id there.
    ``check=False`` reads a payload whose bag is not sealed yet (pack checks itself before sealing)."""
    tree = SourceTree.open(package)
    try:
        if check:
            PackageReader.check(tree)
        with Archive.open(scratch, create=True) as archive:
            return ingest_source(archive, OpenSource(package, tree, PackageReader), display=display).source_id
    finally:
        tree.close()


def verify_package(archive: Archive, package: Path, display: Display | None = None) -> PackageReport:
    """Validate the package, read it back, and compare it with the archive, every column."""
    display = display or NullDisplay()
    with tempfile.TemporaryDirectory(prefix="passerelle-verify-") as scratch:
        source = read_back(package, Path(scratch) / "archive", display)
        archive.store.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return compare_databases(
            archive.root / DATABASE, Path(scratch) / "archive" / DATABASE, source, str(package)
        )
