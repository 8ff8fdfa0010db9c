"""The MediaWiki verifier: exact accounting on a generated wiki, and every kind of loss caught."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from passerelle.archive import Archive
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.verify import verify
from passerelle.verify.mediawiki import is_mediawiki_source, verify_mediawiki
from passerelle.verify.report import VerifyReport
from tests.mediawiki_builder import Page, Rev, write_dump, write_generated

WIKI = "testwiki"


def _report(archive: Path, source: Path) -> VerifyReport:
    with Archive.open(archive) as opened:
        return verify_mediawiki(opened, source)


def test_a_generated_wiki_is_accounted_for_exactly(tmp_path: Path) -> None:
    source = write_generated(tmp_path / "wiki", layout="folder", pages=10)
    assert is_mediawiki_source(source)
    ingest([source], tmp_path / "a")
    report = _report(tmp_path / "a", source)
    assert report.ok, report.problems
    totals = {k: v.as_dict() for k, v in report.overall().items()}
    # 5 feature pages + the diagram's page + 10 generated; 8 + 1 + 60 revisions; 3 uploads.
    assert totals["messages"] == {"source": 16, "archive": 16, "explained": 0, "unexplained": 0}
    assert totals["revisions"] == {"source": 69, "archive": 69, "explained": 0, "unexplained": 0}
    assert totals["files"] == {"source": 3, "archive": 3, "explained": 0, "unexplained": 0}
    assert totals["log entries"]["archive"] == 2
    rows = {r.native_id: r.measures["messages"].source for r in report.conversations.values()}
    assert rows == {"ns:0": 11, "ns:12": 1, "ns:6": 2, "ns:1": 2}
    assert report.by_subtype()["redirect"].archive == 1


Tamper = Callable[[Archive], None]


def _sql(statement: str, *params: object) -> Tamper:
    def tamper(archive: Archive) -> None:
        archive.store.conn.execute("PRAGMA foreign_keys = OFF")
        archive.store.conn.execute(statement, params)

    return tamper


_MAIN = ids.item_id("mediawiki", WIKI, "1")


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (
            _sql("DELETE FROM revisions WHERE id = ?", ids.revision_id(_MAIN, "2")),
            "revision 2 of 'Main Page' is not",
        ),
        (
            _sql("UPDATE revisions SET body_source = 'changed' WHERE id = ?", ids.revision_id(_MAIN, "1")),
            "its text differs",
        ),
        (
            _sql("UPDATE revisions SET created_at = 0 WHERE id = ?", ids.revision_id(_MAIN, "1")),
            "created_at 0",
        ),
        (
            _sql("UPDATE revisions SET author_id = NULL WHERE id = ?", ids.revision_id(_MAIN, "2")),
            "author None",
        ),
        (
            _sql("DELETE FROM diagnostics WHERE code = 'mediawiki.contributor_hidden'"),
            "hidden contributor not said",
        ),
        (_sql("DELETE FROM diagnostics WHERE code = 'mediawiki.text_deleted'"), "suppressed text not said"),
        (_sql("UPDATE items SET subtype = NULL WHERE native_id = '3' AND kind = 'page'"), "subtype None"),
        (_sql("UPDATE items SET title = 'Other' WHERE id = ?", _MAIN), "title 'Other'"),
        (_sql("UPDATE items SET body_source = 'stale' WHERE id = ?", _MAIN), "not its last revision's text"),
        (_sql("UPDATE items SET edited_by_id = author_id WHERE id = ?", _MAIN), "author and times"),
        (_sql("UPDATE items SET created_native = NULL WHERE id = ?", _MAIN), "author and times"),
        (_sql("DELETE FROM items WHERE kind = 'event' AND native_id = '1'"), "log entry 1"),
        (_sql("UPDATE files SET sha256 = NULL WHERE native_id = 'Logo.png'"), "upload 'Logo.png'"),
        (_sql("DELETE FROM item_files"), "linked to its page"),
        (_sql("UPDATE files SET size = 1 WHERE native_id = 'Logo.png'"), "size, author and time"),
        (_sql("UPDATE persons SET is_placeholder = 1 WHERE native_id = '3'"), "is not a person"),
        (
            _sql(
                "INSERT INTO revisions (id, item_id, native_id, source_id) SELECT 'rev_extra', ?, '999', source_id"
                " FROM items WHERE id = ?",
                _MAIN,
                _MAIN,
            ),
            "5 revisions in the archive",
        ),
    ],
)
def test_every_loss_is_caught(tmp_path: Path, tamper: Tamper, expected: str) -> None:
    source = write_generated(tmp_path / "wiki.xml", pages=3)
    ingest([source], tmp_path / "a")
    with Archive.open(tmp_path / "a") as archive:
        tamper(archive)
    report = _report(tmp_path / "a", source)
    assert not report.ok
    assert any(expected in p for p in report.problems), report.problems


def test_mismatches_and_breaks_must_be_said(tmp_path: Path) -> None:
    pages = [
        Page("P", [Rev(1, "text", sha1="x" * 31), Rev(2, "b", bytes=9)], id=1),
        Page("Q", [Rev(3, "c")], id=2),
    ]
    source = write_dump(tmp_path / "d.xml", pages)
    data = source.read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: data.index(b"<title>Q")])
    for dump, code, problem in [
        (source, "mediawiki.sha1_mismatch", "sha1 is not its text's"),
        (source, "mediawiki.bytes_mismatch", "bytes=9 but 1"),
        (cut, "mediawiki.truncated", "the dump breaks"),
    ]:
        archive = tmp_path / f"{dump.stem}-{code}"
        ingest([dump], archive)
        assert _report(archive, dump).ok
        with Archive.open(archive) as opened:
            opened.store.conn.execute("DELETE FROM diagnostics WHERE code = ?", (code,))
        report = _report(archive, dump)
        assert any(problem in p for p in report.problems), report.problems


def test_verify_dispatches_to_the_mediawiki_verifier(tmp_path: Path) -> None:
    source = write_generated(tmp_path / "wiki.zip", layout="zip", pages=2)
    ingest([source], tmp_path / "a")
    with Archive.open(tmp_path / "a") as archive:
        report = verify(archive, source)
    assert isinstance(report, VerifyReport) and report.kind == "mediawiki" and report.ok


def test_a_source_never_ingested_is_a_problem(tmp_path: Path) -> None:
    one = write_dump(tmp_path / "one.xml", [Page("A", [Rev(1, "a")], id=1)])
    two = write_dump(tmp_path / "two.xml", [Page("A", [Rev(1, "b")], id=1)])
    ingest([one], tmp_path / "a")
    report = _report(tmp_path / "a", two)
    assert not report.ok and "never ingested" in report.problems[0]
