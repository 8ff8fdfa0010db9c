"""The conformance suite every writer passes, on every one of its cases.

- faithful: ``verify ARCHIVE --against OUTPUT`` reads the output back with the target's
  reader and finds every entity carried exactly, or different/absent with a note of the
  export that explains it (nothing unexplained);
- accounted: the export's tally covers every entity of the archive exactly once;
- deterministic: the same archive gives byte-identical output;
- pre-flight: ``--dry-run`` writes nothing and announces the same tally;
- round trip: where the archive came from the target's own format, source → archive →
  target → archive gives the same canonical content.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from passerelle.archive import Archive
from passerelle.export import MANIFEST, export
from passerelle.info import table_counts
from passerelle.ingest import ingest
from passerelle.verify import verify
from passerelle.verify.fidelity import FidelityReport
from passerelle.writers import available_writers
from passerelle.writers.base import ENTITY_TABLES
from tests.conformance.cases import READER_CASES
from tests.helpers import parse_raw


@dataclass(frozen=True)
class WriterCase:
    id: str
    writer: str
    reader_case: str  # the reader case (cases.py) whose source makes the archive
    round_trip: bool  # the source is in the writer's own format


def _case(writer: str, reader_case: str) -> WriterCase:
    reader = next(c for c in READER_CASES if c.id == reader_case).reader
    own = {
        "slack": {"slack"},
        "mattermost": {"mattermost"},
        "csv": {"csv"},
        "mediawiki": {"mediawiki"},
        "xar": {"xwiki"},
        "html": {"html"},
    }[writer]
    return WriterCase(f"{writer}-from-{reader_case}", writer, reader_case, reader in own)


WRITER_CASES = [
    _case("slack", "slack-testarchive"),
    _case("slack", "slack-slackdump-zip"),
    _case("slack", "slack-generated-zip"),
    _case("slack", "slackdump-chunks"),
    _case("slack", "mattermost-zulip-export"),
    _case("mattermost", "mattermost-zulip-export"),
    _case("mattermost", "mattermost-generated-zip"),
    _case("mattermost", "slack-testarchive"),
    _case("mattermost", "slack-slackdump-zip"),
    _case("mattermost", "slack-generated-zip"),
    _case("csv", "csv-generated-folder"),
    _case("csv", "csv-generated-zip"),
    _case("csv", "slack-testarchive"),
    _case("csv", "slack-generated-zip"),
    _case("csv", "slackdump-chunks"),
    _case("csv", "mattermost-zulip-export"),
    _case("csv", "mattermost-generated-zip"),
    _case("csv", "yammer-generated-zip"),
    _case("csv", "mastodon-generated-zip"),
    _case("csv", "package-of-slack-sample"),
    _case("csv", "dokuwiki-generated-folder"),
    _case("csv", "xwiki-feature-zip"),
    _case("slack", "dokuwiki-generated-folder"),
    _case("mattermost", "xwiki-feature-zip"),
    _case("mediawiki", "mediawiki-generated-zip"),
    _case("mediawiki", "mediawiki-generated-folder"),
    _case("mediawiki", "mediawiki-simplewiki-bz2"),
    _case("mediawiki", "mediawiki-enwiki"),
    _case("mediawiki", "mediawiki-macbre"),
    _case("mediawiki", "mediawiki-mwxml"),
    _case("csv", "mediawiki-generated-zip"),
    _case("slack", "mediawiki-simplewiki-bz2"),
    _case("mediawiki", "dokuwiki-generated-folder"),
    _case("mediawiki", "xwiki-feature-zip"),
    _case("mediawiki", "xwiki-factharbor"),
    _case("xar", "xwiki-factharbor"),
    _case("xar", "xwiki-feature-zip"),
    _case("xar", "xwiki-feature-folder"),
    _case("xar", "dokuwiki-generated-folder"),
    _case("xar", "dokuwiki-generated-zip"),
    _case("xar", "mediawiki-enwiki"),
    _case("xar", "mediawiki-simplewiki-bz2"),
    _case("xar", "mediawiki-generated-zip"),
    _case("html", "slack-testarchive"),
    _case("html", "mattermost-generated-zip"),
    _case("html", "mediawiki-generated-zip"),
    _case("html", "xwiki-feature-zip"),
    _case("html", "yammer-generated-zip"),
]


def _available(case: WriterCase) -> WriterCase:
    if case.writer not in available_writers():
        pytest.fail(f"writer {case.writer} is not registered")
    if not any(c.id == case.reader_case for c in READER_CASES):
        pytest.fail(f"reader case {case.reader_case} is not in cases.py")
    return case


@pytest.fixture(params=WRITER_CASES, ids=[c.id for c in WRITER_CASES])
def case(request: pytest.FixtureRequest) -> WriterCase:
    return _available(request.param)


def _archive(case: WriterCase, tmp: Path) -> Path:
    reader_case = next(c for c in READER_CASES if c.id == case.reader_case)
    source = reader_case.make(tmp)
    archive = tmp / "archive"
    ingest([source], archive, format=reader_case.reader)
    return archive


def _fidelity(archive: Path, output: Path) -> FidelityReport:
    with Archive.open(archive) as opened:
        report = verify(opened, output)
    assert isinstance(report, FidelityReport)
    return report


def test_output_is_faithful_or_explained(case: WriterCase, tmp_path: Path) -> None:
    archive = _archive(case, tmp_path)
    output = tmp_path / "out.zip"
    export(archive, case.writer, output)
    report = _fidelity(archive, output)
    assert report.ok, report.problems[:20]
    with Archive.open(archive) as opened:
        counts = table_counts(opened.store)
    assert report.entities["item"].total == counts["items"]
    assert report.entities["person"].total == counts["persons"]
    # Something was actually carried: a writer that writes nothing must not pass.
    assert report.entities["item"].carried + report.entities["item"].adapted > 0


def test_tally_covers_every_entity_once(case: WriterCase, tmp_path: Path) -> None:
    archive = _archive(case, tmp_path)
    result = export(archive, case.writer, tmp_path / "out.zip")
    with Archive.open(archive) as opened:
        counts = table_counts(opened.store)
    for entity, table in ENTITY_TABLES.items():
        assert sum(result.log.tally[entity].values()) == counts[table], entity


def test_output_is_deterministic(case: WriterCase, tmp_path: Path) -> None:
    archive = _archive(case, tmp_path)
    export(archive, case.writer, tmp_path / "one.zip")
    export(archive, case.writer, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_dry_run_writes_nothing_and_announces_the_same_tally(case: WriterCase, tmp_path: Path) -> None:
    archive = _archive(case, tmp_path)
    planned = export(archive, case.writer, tmp_path / "planned.zip", dry_run=True)
    assert not (tmp_path / "planned.zip").exists()
    assert not list(tmp_path.glob("planned*"))
    done = export(archive, case.writer, tmp_path / "done.zip")
    assert planned.log.tally == done.log.tally
    with zipfile.ZipFile(tmp_path / "done.zip") as zf:
        manifest = json.loads(zf.read(MANIFEST))
    assert manifest["tally"] == {e: dict(sorted(c.items())) for e, c in done.log.tally.items()}


_NOT_CONTENT = {"source_id", "origin"}
_CONTENT_TABLES = (
    "persons",
    "spaces",
    "memberships",
    "items",
    "reactions",
    "files",
    "item_files",
    "revisions",
)


def canonical_content(archive: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every content table's rows, sorted, without what records where a row was read
    from (source, origin); raw records compared as JSON values (XML ones canonicalised)."""
    with Archive.open(archive) as opened:
        store = opened.store
        content: dict[str, list[tuple[Any, ...]]] = {}
        for table in _CONTENT_TABLES:
            columns = [c for c in store.columns(table) if c not in _NOT_CONTENT]
            rows = store.query(f"SELECT {', '.join(columns)} FROM {table}")
            at = columns.index("raw") if "raw" in columns else None
            normalised = []
            for row in rows:
                values = list(row)
                if at is not None and values[at] is not None:
                    values[at] = json.dumps(parse_raw(values[at]), sort_keys=True)
                normalised.append(tuple(values))
            content[table] = sorted(normalised, key=repr)
    return content


ROUND_TRIPS = [c for c in WRITER_CASES if c.round_trip]


@pytest.mark.parametrize("case", ROUND_TRIPS, ids=[c.id for c in ROUND_TRIPS])
def test_round_trip_through_the_own_format_is_the_identity(case: WriterCase, tmp_path: Path) -> None:
    case = _available(case)
    first = _archive(case, tmp_path)
    output = tmp_path / "out.zip"
    export(first, case.writer, output)
    second = tmp_path / "second"
    ingest([output], second, format=next(c for c in READER_CASES if c.id == case.reader_case).reader)
    one, two = canonical_content(first), canonical_content(second)
    for table in _CONTENT_TABLES:
        assert two[table] == one[table], table
