"""verify catches what it exists to catch in static sites: as a source (records, values, bytes
or pages lost without a word) and as an export (a record absent that no withheld space
explains; anything its audience may not see, the worst failure of a static export)."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from passerelle.archive import Archive
from passerelle.export import MANIFEST
from passerelle.ingest import ingest
from passerelle.verify import verify
from passerelle.verify.fidelity import FidelityReport
from passerelle.verify.html import is_html_site
from passerelle.verify.report import VerifyReport
from tests.html_site_builder import ADA, OPS, PDF, Site, damaged_sites, data_file, feature_site, sha256


def problems(archive: Path, source: Path) -> list[str]:
    with Archive.open(archive) as opened:
        report = verify(opened, source)
    assert report.ok == (not report.problems)
    return report.problems


def execute(archive: Path, sql: str, *params: Any) -> None:
    with sqlite3.connect(archive / "archive.sqlite") as db:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute(sql, params)
        db.execute("DELETE FROM superseded")  # where the archive keeps a replaced record: lose it too


@pytest.fixture(params=["folder", "zip"])
def ingested(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    layout: str = request.param
    source = feature_site().write(tmp_path / ("site.zip" if layout == "zip" else "site"), layout=layout)
    ingest([source], tmp_path / "archive")
    return source, tmp_path / "archive"


# -- a site as a source ---------------------------------------------------------------------------
def test_an_intact_archive_verifies(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    assert is_html_site(source)
    with Archive.open(archive) as opened:
        report = verify(opened, source)
    assert isinstance(report, VerifyReport) and report.ok, report.problems
    totals = report.overall()
    assert (totals["messages"].archive, totals["replies"].archive, totals["reactions"].archive) == (5, 1, 2)
    assert (totals["files"].archive, totals["members"].archive, totals["revisions"].archive) == (4, 4, 2)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "UPDATE items SET body_text = 'changed' WHERE id = 'itm_a3'",
            "data/items-00000.js#2: item 'itm_a3' body_text",
        ),
        ("UPDATE items SET edited_at = NULL WHERE id = 'itm_a3'", "edited_at None where the site says"),
        ("UPDATE items SET raw = X'7B7D' WHERE id = 'itm_a2'", "its raw record is not the site's record"),
        ("DELETE FROM items WHERE id = 'itm_w1'", "item 'itm_w1' is not in the archive"),
        ("UPDATE persons SET is_guest = 0 WHERE id = 'per_bob'", "person 'per_bob' is_guest 0"),
        ("UPDATE spaces SET visibility = 'public' WHERE id = 'spc_ops'", "visibility 'public'"),
        ("DELETE FROM memberships WHERE space_id = 'spc_ops'", "member 'per_ada' is not in the archive"),
        ("DELETE FROM reactions WHERE emoji = 'tada'", "reaction 'tada' is not in the archive"),
        ("UPDATE reactions SET created_at = 1 WHERE emoji = 'tada'", "created_at 1"),
        ("DELETE FROM item_files WHERE file_id = 'fil_lost'", "not the item's file number 1"),
        ("UPDATE files SET sha256 = NULL WHERE id = 'fil_pdf'", "the archive holds SHA-256 None"),
        ("UPDATE files SET sha256 = 'abc' WHERE id = 'fil_lost'", "the site has no bytes for it"),
        ("DELETE FROM revisions WHERE id = 'rev_w1a'", "revision 'rev_w1a' is not in the archive"),
        ("UPDATE revisions SET body_text = 'x' WHERE id = 'rev_w1b'", "body_text 'x'"),
        ("UPDATE items SET body_format = 'slack-mrkdwn' WHERE id = 'itm_a1'", "body_format 'slack-mrkdwn'"),
    ],
)
def test_a_record_changed_or_lost_in_the_archive_is_found(
    ingested: tuple[Path, Path], sql: str, expected: str
) -> None:
    source, archive = ingested
    execute(archive, sql)
    found = problems(archive, source)
    assert any(expected in p for p in found), found


def test_bytes_lost_from_the_blob_store_are_found(ingested: tuple[Path, Path]) -> None:
    source, archive = ingested
    with Archive.open(archive) as opened:
        opened.blobs.path(sha256(PDF)).unlink()
    assert any("fil_pdf" in p for p in problems(archive, source))


def test_a_defect_the_reader_did_not_say_is_a_problem(tmp_path: Path) -> None:
    site = feature_site()
    site.omit.add(site.items[4]["files"][0]["path"])
    source = site.write(tmp_path / "site")
    ingest([source], tmp_path / "archive")
    assert problems(tmp_path / "archive", source) == []
    execute(tmp_path / "archive", "DELETE FROM diagnostics WHERE code = 'html.missing_file'")
    assert problems(tmp_path / "archive", source) == [
        "data/items-00000.js#4/files/0: path 'files/3f/3f401c171263dd9ba8fc359a16ccc7bfa5645d096d1365432cec7bc238fb8253/"
        "runbook.pdf' is not in the site, not said (html.missing_file)"
    ]


def test_a_page_that_does_not_show_its_item_is_a_problem(tmp_path: Path) -> None:
    site = feature_site()
    source = site.write(tmp_path / "site")
    ingest([source], tmp_path / "archive")
    page = source / "spaces/spc_general/index.html"
    page.write_bytes(page.read_bytes().replace(b'id="item-itm_a2"', b'id="item-other"'))
    (source / "spaces/spc_wiki/home.html").unlink()
    # The source changed, so it is another source: ingest it again, then check.
    ingest([source], tmp_path / "archive")
    found = problems(tmp_path / "archive", source)
    assert sorted(found) == [
        "data/items-00000.js#1: its page 'spaces/spc_general/index.html' holds no element of id item-itm_a2",
        "data/items-00000.js#5: its page 'spaces/spc_wiki/home.html' is not a page of the site",
    ]


def test_a_site_never_ingested(tmp_path: Path, ingested: tuple[Path, Path]) -> None:
    _source, archive = ingested
    other = feature_site()
    other.items.pop()
    found = problems(archive, other.write(tmp_path / "other"))
    assert len(found) == 1 and "was never ingested into this archive" in found[0]


# -- a site as an export of the archive --------------------------------------------------------------
WITHHELD = "html.withheld"


def _public(site: Site, *, withhold: tuple[str, ...] = (OPS,)) -> Site:
    """The public site of the feature archive: its private channel withheld (data, pages, bytes)."""
    public = site.copy()
    public.audience = {"public": True}
    public.spaces = [s for s in public.spaces if s["id"] not in withhold]
    public.items = [i for i in public.items if i["space_id"] not in withhold]
    shown = {f["path"] for i in public.items for f in i["files"]}
    public.blobs = {path: data for path, data in public.blobs.items() if path in shown}
    return public


def _export(
    dest: Path, site: Site, *, notes: list[dict[str, Any]], options: dict[str, str] | None = None
) -> Path:
    """The site with the manifest an export writes beside it (what verify pairs and explains by)."""
    site.write(dest)
    manifest = {
        "format": "passerelle-export",
        "writer": "html",
        "writer_version": "1",
        "reader": "html",
        "model_version": "1.2",
        "options": options or {},
        "tally": {},
        "notes": notes,
        "persons": {},
        "spaces": {},
    }
    (dest / MANIFEST).write_text(json.dumps(manifest))
    return dest


def _withheld(space: str) -> dict[str, Any]:
    return {"code": WITHHELD, "entity": "space", "outcome": "lost", "message": "withheld", "entity_id": space}


@pytest.fixture
def written(tmp_path: Path) -> Path:
    """The archive the exports are written from: the feature site read back (it holds the private
    channel ops, of which ada is the only member)."""
    ingest([feature_site().write(tmp_path / "source")], tmp_path / "archive")
    return tmp_path / "archive"


def _fidelity(archive: Path, output: Path) -> FidelityReport:
    with Archive.open(archive) as opened:
        report = verify(opened, output)
    assert isinstance(report, FidelityReport)
    return report


def test_a_public_site_without_the_private_channel_is_explained_by_its_note(
    tmp_path: Path, written: Path
) -> None:
    output = _export(tmp_path / "public", _public(feature_site()), notes=[_withheld(OPS)])
    report = _fidelity(written, output)
    assert report.ok, report.problems
    lost = {entity: tally.lost for entity, tally in report.entities.items()}
    assert lost == {
        "person": 0,
        "space": 1,
        "membership": 1,
        "item": 1,
        "reaction": 0,
        "file": 1,
        "revision": 0,
    }
    assert report.attributes[("item", "(whole)", WITHHELD)] == 1
    assert report.entities["item"].carried == 5


def test_without_its_note_the_withheld_channel_is_unexplained(tmp_path: Path, written: Path) -> None:
    report = _fidelity(written, _export(tmp_path / "public", _public(feature_site()), notes=[]))
    assert not report.ok
    assert {e: t.unexplained for e, t in report.entities.items() if t.unexplained} == {
        "space": 1, "membership": 1, "item": 1, "file": 1,
    }  # fmt: skip


def test_a_message_of_a_public_space_missing_is_not_explained_by_another_space_withheld(
    tmp_path: Path, written: Path
) -> None:
    site = _public(feature_site())
    site.items = [i for i in site.items if i["id"] != "itm_a3"]  # the data file edited: one message gone
    report = _fidelity(written, _export(tmp_path / "public", site, notes=[_withheld(OPS)]))
    assert not report.ok
    assert report.problems == ["item itm_a3 is not in the output"]


def test_a_file_of_a_public_message_missing_is_not_explained(tmp_path: Path, written: Path) -> None:
    site = _public(feature_site())
    for record in site.items:
        record["files"] = [f for f in record["files"] if f["id"] != "fil_png"]
    site.blobs = {}
    report = _fidelity(written, _export(tmp_path / "public", site, notes=[_withheld(OPS)]))
    assert "file fil_png is not in the output" in report.problems


def test_a_private_message_in_a_public_site_is_a_leak(tmp_path: Path, written: Path) -> None:
    site = feature_site()
    site.audience = {"public": True}  # everything, ops included, in a site that says it is public
    report = _fidelity(written, _export(tmp_path / "public", site, notes=[]))
    assert report.entities["item"].unexplained == 0  # carried exactly: only the audience check sees it
    assert not report.ok
    assert report.problems == [
        "data/spaces.js#1: space 'spc_ops' is one its audience may not see (a leak)",
        "data/items-00000.js#4: item 'itm_o1' of space 'spc_ops' is one its audience may not see (a leak)",
        "spaces/spc_ops/index.html: item 'itm_o1' of space 'spc_ops' is one its audience may not see (a leak)",
    ]


def test_the_members_site_holds_the_private_channel(tmp_path: Path, written: Path) -> None:
    site = feature_site()  # ada's: she is a member of ops
    report = _fidelity(written, _export(tmp_path / "ada", site, notes=[], options={"as": ADA}))
    assert report.ok, report.problems
    site.audience = {"person_id": "per_bob"}  # bob was not in ops
    report = _fidelity(written, _export(tmp_path / "bob", site, notes=[], options={"as": "per_bob"}))
    assert any("space 'spc_ops' is one its audience may not see" in p for p in report.problems)


def test_the_audience_must_be_the_one_asked_for(tmp_path: Path, written: Path) -> None:
    site = _public(feature_site())
    site.audience = {"person_id": ADA}
    report = _fidelity(written, _export(tmp_path / "public", site, notes=[_withheld(OPS)]))
    assert report.problems == [
        "data/site.js: audience {'person_id': 'per_ada'}; the export was asked for {'public': True}",
        "space spc_ops: left out (html.withheld), yet its audience may see it",  # ada's, as site.js says
    ]


def test_private_bytes_and_pages_in_a_public_site_are_leaks(tmp_path: Path, written: Path) -> None:
    site = _public(feature_site())
    private = feature_site().items[4]["files"][0]["path"]
    site.extra[private] = PDF  # the private runbook's bytes, named by no record of the site
    site.extra["people/per_ada/index.html"] = b'<article id="item-itm_o1">the zanzibar runbook</article>'
    report = _fidelity(written, _export(tmp_path / "public", site, notes=[_withheld(OPS)]))
    assert sorted(report.problems) == sorted(
        [
            f"{private}: bytes no item of the site names",
            "people/per_ada/index.html: item 'itm_o1' of space 'spc_ops' is one its audience may not see (a leak)",
        ]
    )


def test_a_broken_site_fails_its_export_check(tmp_path: Path, written: Path) -> None:
    site = _public(feature_site())
    site.counts = {**site.true_counts(), "reactions": 9}
    site.items[0]["page"] = "spaces/nowhere.html"
    site.omit.add("spaces/nowhere.html")
    report = _fidelity(written, _export(tmp_path / "public", site, notes=[_withheld(OPS)]))
    assert sorted(report.problems) == [
        "data/items-00000.js#0: its page 'spaces/nowhere.html' is not a page of the site",
        "data/site.js: site.js counts 9 reactions; the data files hold 2",
    ]


def test_a_private_message_in_the_search_index_is_a_leak(tmp_path: Path, written: Path) -> None:
    site = _public(feature_site())
    docs = [["itm_a1", "spaces/spc_general/index.html", "spc_general", ADA, 1, "hello world"]]
    site.extra["data/search-docs-00000.js"] = data_file({"kind": "search-docs", "chunk": 0, "docs": docs})
    report = _fidelity(written, _export(tmp_path / "clean", site, notes=[_withheld(OPS)]))
    assert report.ok, report.problems
    docs.append(["itm_o1", "spaces/spc_ops/index.html", "spc_ops", ADA, 2, "the zanzibar runbook"])
    site.extra["data/search-docs-00000.js"] = data_file({"kind": "search-docs", "chunk": 0, "docs": docs})
    report = _fidelity(written, _export(tmp_path / "leaky", site, notes=[_withheld(OPS)]))
    assert report.problems == [
        "data/search-docs-00000.js: item 'itm_o1' of space 'spc_ops' is one its audience may not see (a leak)",
        "data/search-docs-00000.js: space 'spc_ops' is one its audience may not see (a leak)",
    ]


# -- the html writer's own sites -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def mattermost(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The generated Mattermost archive (private channels, DMs) and its public site."""
    from passerelle.export import export
    from tests.mattermost_builder import write_generated

    base = tmp_path_factory.mktemp("html-mm")
    ingest([write_generated(base / "export.zip", layout="zip")], base / "archive")
    export(base / "archive", "html", base / "public")
    return base / "archive", base / "public"


def _edit_chunk(site: Path, edit: Any) -> None:
    """Change the records of the first item chunk, written back in the contract's frame."""
    chunk = site / "data/items-00000.js"
    raw = chunk.read_bytes()
    document = json.loads(raw[len(b"passerelle_data(") : -len(b");\n")])
    edit(document["records"])
    chunk.write_bytes(data_file(document))


def test_the_writers_public_site_verifies(mattermost: tuple[Path, Path]) -> None:
    archive, site = mattermost
    report = _fidelity(archive, site)
    assert report.ok, report.problems
    assert report.entities["item"].lost > 0 and report.entities["item"].carried > 0
    assert report.attributes[("item", "(whole)", WITHHELD)] == report.entities["item"].lost


def test_one_public_message_taken_out_of_the_writers_site_fails(
    tmp_path: Path, mattermost: tuple[Path, Path]
) -> None:
    import shutil

    archive, original = mattermost
    site = Path(shutil.copytree(original, tmp_path / "site"))
    removed: list[str] = []
    _edit_chunk(site, lambda records: removed.append(records.pop(3)["id"]))
    report = _fidelity(archive, site)
    assert f"item {removed[0]} is not in the output" in report.problems
    with Archive.open(archive) as opened:
        space = opened.store.scalar(
            "SELECT visibility FROM spaces WHERE id = (SELECT space_id FROM items WHERE id = ?)",
            (removed[0],),
        )
    assert space == "public"


def test_a_private_message_put_into_the_writers_site_fails(
    tmp_path: Path, mattermost: tuple[Path, Path]
) -> None:
    import shutil

    from tests.helpers import run

    archive, original = mattermost
    site = Path(shutil.copytree(original, tmp_path / "site"))
    with Archive.open(archive) as opened:
        item_id, space_id = opened.store.query(
            "SELECT i.id, i.space_id FROM items i JOIN spaces s ON s.id = i.space_id"
            " WHERE s.visibility = 'private' ORDER BY i.id LIMIT 1"
        )[0]

    at: list[int] = []

    def smuggle(records: list[dict[str, Any]]) -> None:
        at.append(len(records))
        records.append({**records[0], "id": item_id, "space_id": space_id})

    _edit_chunk(site, smuggle)
    report = _fidelity(archive, site)
    leak = f"data/items-00000.js#{at[0]}: item {item_id!r} of space {space_id!r} is one its audience may not see (a leak)"
    assert leak in report.problems
    result = run("verify", str(archive), "--against", str(site))
    assert result.exit_code == 1 and "a leak" in result.output


def test_an_email_address_in_a_public_site_is_a_leak(tmp_path: Path, written: Path) -> None:
    site = _public(feature_site())
    site.persons[0]["email"] = "ada@example.org"  # the archive has none: carried as it is, but shown
    report = _fidelity(written, _export(tmp_path / "public", site, notes=[_withheld(OPS)]))
    assert (
        "data/persons.js#0: the e-mail address of person 'per_ada' is one its audience may not see (a leak)"
        in report.problems
    )
    site.audience = {"person_id": ADA}  # a member's site shows the directory she saw
    report = _fidelity(written, _export(tmp_path / "ada", site, notes=[_withheld(OPS)], options={"as": ADA}))
    assert not any("e-mail" in p for p in report.problems)


@pytest.fixture(scope="module")
def feature_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("html-feature")
    ingest([feature_site().write(base / "source")], base / "archive")
    return base / "archive"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site=damaged_sites())
def test_a_damaged_export_is_reported_never_raised(feature_archive: Path, site: Site) -> None:
    """Whatever the damage, verify answers with a report: the site read back and checked."""
    with tempfile.TemporaryDirectory() as tmp:
        output = _export(Path(tmp) / "site", site, notes=[], options={"as": ADA})
        report = _fidelity(feature_archive, output)
    assert isinstance(report.ok, bool)


def test_a_space_withheld_from_an_audience_that_may_see_it_fails(tmp_path: Path, written: Path) -> None:
    """The site holds what its audience may see, not less: a note cannot withhold a public channel."""
    site = _public(feature_site(), withhold=(OPS, "spc_general"))
    report = _fidelity(
        written, _export(tmp_path / "public", site, notes=[_withheld(OPS), _withheld("spc_general")])
    )
    assert report.entities["item"].unexplained == 0  # the notes explain the absences…
    assert report.problems == ["space spc_general: left out (html.withheld), yet its audience may see it"]


def test_the_writers_site_for_a_member_holds_her_private_channels(
    tmp_path: Path, mattermost: tuple[Path, Path]
) -> None:
    from passerelle.export import export

    archive, public = mattermost
    with Archive.open(archive) as opened:
        member, private = opened.store.query(
            "SELECT m.person_id, count(DISTINCT i.id) FROM memberships m JOIN spaces s ON s.id = m.space_id"
            " JOIN items i ON i.space_id = s.id WHERE s.visibility = 'private'"
            " GROUP BY m.person_id ORDER BY 2 DESC, 1 LIMIT 1"
        )[0]
    export(archive, "html", tmp_path / "member", options={"as": member})
    theirs, anyone = _fidelity(archive, tmp_path / "member"), _fidelity(archive, public)
    assert theirs.ok, theirs.problems
    assert theirs.entities["item"].carried >= anyone.entities["item"].carried + private
