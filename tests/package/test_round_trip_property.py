"""archive → package → archive is the identity, proven over generated archives (Hypothesis):
odd ids, text in every Unicode shape, raw bytes that are not UTF-8, times outside the
calendar, dangling pointers, several sources. The restored archive is compared with what
was generated, not with the packed archive, so the check shares nothing with pack."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import bagit
from hypothesis import given, settings

from passerelle.archive import Archive
from passerelle.ingest import ingest
from passerelle.package.pack import pack
from tests.archive_strategies import (
    ARCHIVE_SETTINGS,
    ArchiveContent,
    archive_contents,
    archive_rows,
    build_archive,
)
from tests.package.test_pack import check_jsonld

# Whatever the ids, a package's paths are plain ASCII letters, digits and "._/-", so
# any file system and any BagIt tool takes them as they are.
_PORTABLE = re.compile(r"[A-Za-z0-9._/-]+")
_OWN_SOURCE_COLUMN = {"sources": 0, "source_units": 0, "diagnostics": 1}  # where each names its source


def _without(rows: dict[str, list[tuple[Any, ...]]], source_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """The restored archive's rows, less those of the package itself as a source."""
    return {
        table: [
            row
            for row in values
            if table not in _OWN_SOURCE_COLUMN or row[_OWN_SOURCE_COLUMN[table]] != source_id
        ]
        for table, values in rows.items()
    }


@settings(ARCHIVE_SETTINGS, max_examples=40)
@given(content=archive_contents())
def test_package_round_trip_is_the_identity(content: ArchiveContent) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_archive(root / "archive", content)
        pack(root / "archive", root / "package")
        names = [p.relative_to(root / "package").as_posix() for p in (root / "package").rglob("*")]
        assert all(_PORTABLE.fullmatch(name) for name in names), [
            n for n in names if not _PORTABLE.fullmatch(n)
        ]
        [read] = ingest([root / "package"], root / "restored")
        with Archive.open(root / "restored") as restored:
            assert _without(archive_rows(restored), read.source_id) == content.rows()
            blobs = {sha: restored.blobs.path(sha).read_bytes() for sha in restored.blobs.hashes()}
        assert blobs == content.blobs()


@settings(ARCHIVE_SETTINGS, max_examples=12)
@given(content=archive_contents(max_items=12))
def test_packages_of_generated_archives_pass_the_independent_validators(content: ArchiveContent) -> None:
    """Whatever the values (odd ids, control characters, times outside the calendar), every
    JSON-LD document expands offline and compacts back with PyLD without a term dropped,
    and bagit-python validates the bag in full."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_archive(root / "archive", content)
        pack(root / "archive", root / "package")
        bagit.Bag(str(root / "package")).validate()
        check_jsonld(root / "package")
