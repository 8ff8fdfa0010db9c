"""verify against a XAR: the independent re-reading finds every document, revision,
attachment, comment, user, space and object, and catches what an archive lost or changed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from passerelle.archive import Archive
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.verify import verify
from passerelle.verify.report import VerifyReport
from passerelle.verify.xwiki import is_xwiki_source
from tests.readers.test_xwiki_reader import XXE
from tests.xwiki_builder import FEATURE_COUNTS, Doc, Xar, write_feature

ALPHA = ids.item_id("xwiki", "xwiki", "Projects.Alpha.WebHome")
REPLY = ids.item_id("xwiki", "xwiki", "Projects.Alpha.WebHome^XWiki.XWikiComments[1]")


def _report(archive: Path, source: Path) -> VerifyReport:
    with Archive.open(archive) as opened:
        report = verify(opened, source)
    assert isinstance(report, VerifyReport)
    return report


def test_feature_package_is_accounted_measure_by_measure(tmp_path: Path) -> None:
    source = write_feature(tmp_path / "f.xar")
    assert is_xwiki_source(source)
    ingest([source], tmp_path / "a")
    report = _report(tmp_path / "a", source)
    assert report.ok, report.problems
    totals = {name: (t.source, t.archive, t.explained) for name, t in report.overall().items()}
    assert totals["documents"] == (FEATURE_COUNTS["pages"], FEATURE_COUNTS["pages"], 0)
    assert totals["revisions"] == (FEATURE_COUNTS["revisions"], FEATURE_COUNTS["revisions"], 0)
    assert totals["comments"] == (3, 3, 0)
    assert totals["attachments"] == (3, 3, 0) and totals["attachment versions"] == (2, 2, 0)
    assert totals["users"] == (2, 2, 0)
    assert totals["objects"] == (8, 8, 0)


Tamper = Callable[[Archive], None]


def _sql(*statements: tuple[str, tuple[object, ...]]) -> Tamper:
    def tamper(archive: Archive) -> None:
        for sql, params in statements:
            archive.store.conn.execute(sql, params)

    return tamper


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (_sql(("UPDATE items SET body_source = 'changed' WHERE id = ?", (ALPHA,))), "body"),
        (_sql(("DELETE FROM items WHERE id = ?", (REPLY,))), "comment"),
        (_sql(("UPDATE items SET parent_id = thread_root_id WHERE id = ?", (REPLY,))), "comment differs"),
        (_sql(("UPDATE files SET sha256 = ? WHERE native_id LIKE '%diagram.png'", ("0" * 64,))), "bytes"),
        (_sql(("DELETE FROM item_files WHERE item_id = ?", (ALPHA,))), "not attached"),
        (_sql(("DELETE FROM revisions WHERE native_id = '1.2'", ())), "revisions in the archive"),
        (_sql(("UPDATE persons SET is_placeholder = 1 WHERE native_id = 'XWiki.Bob'", ())), "user"),
        (_sql(("UPDATE spaces SET parent_id = NULL WHERE native_id = 'Secret.Inner'", ())), "space"),
        (_sql(("DELETE FROM diagnostics WHERE code = 'xwiki.objects'", ())), "objects of class"),
        (_sql(("UPDATE spaces SET visibility = 'public' WHERE native_id = 'Secret.Inner'", ())), "private"),
        (_sql(("DELETE FROM memberships WHERE origin LIKE 'Secret.Inner%'", ())), "members"),
    ],
)
def test_verify_catches_what_an_archive_lost_or_changed(
    tmp_path: Path, tamper: Tamper, expected: str
) -> None:
    source = write_feature(tmp_path / "f.xar")
    ingest([source], tmp_path / "a")
    with Archive.open(tmp_path / "a") as archive:
        archive.store.conn.execute("PRAGMA foreign_keys = OFF")
        tamper(archive)
        archive.store.conn.commit()
    report = _report(tmp_path / "a", source)
    assert not report.ok
    assert any(expected in p for p in report.problems), report.problems


def test_a_refused_document_must_be_said(tmp_path: Path) -> None:
    source = Xar([Doc("Main.Good")], entries={"Main/Evil.xml": XXE}).write(tmp_path / "h.xar")
    ingest([source], tmp_path / "a")
    assert _report(tmp_path / "a", source).ok
    with Archive.open(tmp_path / "a") as archive:
        archive.store.conn.execute("DELETE FROM diagnostics WHERE code = 'xwiki.unsafe_xml'")
        archive.store.conn.commit()
    report = _report(tmp_path / "a", source)
    assert not report.ok and any("Main/Evil.xml" in p for p in report.problems)


def test_a_password_kept_in_the_archive_is_a_difference(tmp_path: Path) -> None:
    source = write_feature(tmp_path / "f.xar")
    ingest([source], tmp_path / "a")
    with Archive.open(tmp_path / "a") as archive:
        archive.store.conn.execute(
            "UPDATE persons SET raw = CAST(? AS BLOB) WHERE native_id = 'XWiki.Alice'",
            ("<object><password>hash:SHA-512:secret</password></object>",),
        )
        archive.store.conn.commit()
    report = _report(tmp_path / "a", source)
    assert any("password" in p for p in report.problems)
