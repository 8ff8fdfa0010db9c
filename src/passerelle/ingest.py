"""Ingest: read sources into an archive, resumably and idempotently."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from passerelle.archive import Archive
from passerelle.archive.writer import ArchiveWriter
from passerelle.errors import BadInputError
from passerelle.info import table_counts
from passerelle.model.entities import Source
from passerelle.model.ids import source_id
from passerelle.progress import Display, NullDisplay
from passerelle.readers import available_readers
from passerelle.readers.base import Reader
from passerelle.readers.source_tree import BadSourceError, SourceTree


@dataclass
class SourceReport:
    path: str
    reader: str
    source_id: str
    status: str  # "ingested", "resumed", "already ingested"
    emitted: Counter[str] = field(default_factory=Counter)
    new_rows: dict[str, int] = field(default_factory=dict)
    diagnostics: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def choose_reader(tree: SourceTree, forced: str | None = None) -> type[Reader]:
    readers = available_readers()
    if forced is not None:
        if forced not in readers:
            raise BadInputError(f"unknown format {forced!r}; known: {', '.join(readers)}")
        return readers[forced]
    for reader in readers.values():
        if reader.detect(tree):
            return reader
    raise BadInputError(f"{tree.path}: not a format passerelle reads (known: {', '.join(readers)})")


@dataclass
class OpenSource:
    """A source opened and matched to its reader, before anything is written."""

    path: Path
    tree: SourceTree
    reader: type[Reader]
    options: dict[str, Any] = field(default_factory=dict)  # the reader's own (csv: mapping)


def open_source(
    path: Path,
    format: str | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    tree: SourceTree | None = None,
) -> OpenSource:
    """Open the source and choose its reader; BadInputError when no reader takes it.

    ``options`` go to the reader, which declares those it takes (``options``: the CSV
    reader's ``mapping``); ``tree``: the source already opened (several files as one)."""
    options = dict(options or {})
    if tree is None:
        try:
            tree = SourceTree.open(path)
        except BadSourceError as exc:
            raise BadInputError(str(exc)) from None
    try:
        reader = choose_reader(tree, format)
        unknown = sorted(set(options) - set(getattr(reader, "options", ())))
        if unknown:
            raise BadInputError(f"the {reader.info.name} reader takes no option {unknown[0]!r}")
        # A reader may refuse its input as a whole before anything is written (a package
        # whose checksums fail): the archive is not touched.
        check = getattr(reader, "check", None)
        if check is not None:
            check(tree, **options)
        return OpenSource(path, tree, reader, options)
    except BaseException:
        tree.close()
        raise


def ingest_source(archive: Archive, source: OpenSource, *, display: Display | None = None) -> SourceReport:
    display = display or NullDisplay()
    started = time.perf_counter()
    reader, tree = source.reader, source.tree
    instance = reader(**source.options)
    # A reader may say what makes its source (the CSV reader: the files and their mapping).
    own_fingerprint = getattr(instance, "fingerprint", None)
    sha, size = own_fingerprint(tree) if own_fingerprint is not None else tree.fingerprint()
    sid = source_id(reader.info.platform, sha)
    status = archive.store.scalar("SELECT status FROM sources WHERE id = ?", (sid,))
    report = SourceReport(str(source.path), reader.info.name, sid, "ingested")
    if status == "complete":
        report.status = "already ingested"
        return report
    if status is not None:
        report.status = "resumed"
    record = Source(
        id=sid,
        platform=reader.info.platform,
        path=str(source.path),
        sha256=sha,
        size=size,
        reader=reader.info.name,
        reader_version=reader.version,
        ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    before = table_counts(archive.store)
    writer = ArchiveWriter(archive, record)
    try:
        instance.read(tree, writer, display)
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    after = table_counts(archive.store)
    report.new_rows = {table: after[table] - before[table] for table in after}
    report.emitted = writer.emitted
    report.diagnostics = writer.diagnostics
    report.codes = writer.codes
    report.seconds = time.perf_counter() - started
    return report


def ingest(
    paths: list[Path],
    archive_path: Path,
    *,
    format: str | None = None,
    options: Mapping[str, Any] | None = None,
    display: Display | None = None,
) -> list[SourceReport]:
    """Ingest each source into the archive (created if need be), in order.

    Every source is opened and matched to a reader first, so a bad one fails before the
    archive is touched. Large sources are parsed in worker processes started with
    multiprocessing's forkserver: a script that calls this must guard its entry point with
    ``if __name__ == "__main__":``, as multiprocessing requires.

    ``options`` go to the reader of every source. Files given one by one to a reader that
    reads several as one source (``open_files``: CSV files) are one source.
    """
    opened: list[OpenSource] = []
    try:
        reader = available_readers().get(format) if format is not None and len(paths) > 1 else None
        open_files = getattr(reader, "open_files", None)
        together = open_files(paths) if open_files is not None else None
        if together is not None:
            opened.append(open_source(together.path, format, options, tree=together))
        for path in paths if together is None else ():
            opened.append(open_source(path, format, options))
        with Archive.open(archive_path, create=True) as archive:
            return [ingest_source(archive, source, display=display) for source in opened]
    finally:
        for source in opened:
            source.tree.close()
