"""The html reader: a static site passerelle wrote, read back into an archive; hostile sites
refused piece by piece, each piece a typed diagnostic, the rest kept, and verify accounting
for all of it."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from passerelle.archive import Archive
from passerelle.ingest import ingest
from passerelle.readers.html import BODY_FORMAT, PLATFORM
from passerelle.readers.source_tree import SourceTree
from passerelle.verify import verify
from passerelle.verify.html import verify_html
from passerelle.verify.report import VerifyReport
from tests.helpers import rows
from tests.html_site_builder import (
    ADA,
    GENERAL,
    OPS,
    PDF,
    PNG,
    Site,
    damaged_sites,
    data_file,
    feature_site,
    generated_site,
    item,
    person,
    sha256,
)


def _ingest(
    tmp_path: Path, site: Site, *, layout: str = "folder", top: str | None = None
) -> tuple[Path, Path]:
    source = site.write(tmp_path / ("site.zip" if layout == "zip" else "site"), layout=layout, top=top)
    ingest([source], tmp_path / "archive")
    return source, tmp_path / "archive"


def _verified(archive: Path, source: Path) -> VerifyReport:
    with Archive.open(archive) as opened:
        report = verify(opened, source)
    assert isinstance(report, VerifyReport)
    return report


def _codes(archive: Path) -> dict[str, list[tuple[str, str | None]]]:
    found: dict[str, list[tuple[str, str | None]]] = {}
    for code, where, dropped in rows(
        archive, 'SELECT code, "where", dropped FROM diagnostics ORDER BY "where"'
    ):
        found.setdefault(code, []).append((where, dropped))
    return found


@pytest.mark.parametrize(("layout", "top"), [("folder", None), ("zip", None), ("zip", "my-site")])
def test_every_record_comes_back_with_its_id_and_values(tmp_path: Path, layout: str, top: str | None) -> None:
    site = feature_site()
    source, archive = _ingest(tmp_path, site, layout=layout, top=top)
    [(reader,)] = rows(archive, "SELECT reader FROM sources")
    assert reader == "html"
    people = {
        r[0]: r[1:] for r in rows(archive, "SELECT id, platform, native_id, real_name, is_guest FROM persons")
    }
    assert people[ADA] == (PLATFORM, ADA, "Ada Lovelace", 0)
    [first] = rows(
        archive,
        "SELECT body_format, body_source, body_text, pinned, created_at, raw FROM items WHERE id = 'itm_a1'",
    )
    text = site.items[0]["body_text"]
    assert first[:5] == (BODY_FORMAT, text, text, 1, site.items[0]["created_at"])
    assert "</script>" in text and "\u2028" in text  # escaped in the file, given back as it was
    # The raw record is the record's exact bytes in the data file.
    chunk = (source / "data/items-00000.js").read_bytes() if layout == "folder" else None
    if chunk is not None:
        assert first[5] in chunk
    assert json.loads(first[5]) == site.items[0]
    assert rows(archive, "SELECT thread_root_id, also_in_channel FROM items WHERE id = 'itm_a2'") == [
        ("itm_a1", 1)
    ]
    assert sorted(rows(archive, "SELECT person_id, emoji, created_at FROM reactions")) == [
        ("per_bob", "+1", None),
        ("per_gus", "tada", site.items[0]["reactions"][1]["created_at"]),
    ]
    assert sorted(rows(archive, "SELECT space_id, person_id, role FROM memberships")) == [
        (GENERAL, "per_ada", "admin"), (GENERAL, "per_bob", "member"), (GENERAL, "per_gus", "member"),
        (OPS, "per_ada", "member"),
    ]  # fmt: skip
    # The file two messages carry is one file, its bytes once; the file without bytes says why.
    files = {r[0]: r[1:] for r in rows(archive, "SELECT id, sha256, size, missing_reason FROM files")}
    assert files == {
        "fil_png": (sha256(PNG), len(PNG), None),
        "fil_pdf": (sha256(PDF), len(PDF), None),
        "fil_lost": (None, None, "not in the export"),
    }
    assert sorted(rows(archive, "SELECT item_id, file_id, position FROM item_files")) == [
        ("itm_a1", "fil_png", 0), ("itm_a2", "fil_lost", 1), ("itm_a2", "fil_png", 0), ("itm_o1", "fil_pdf", 0),
    ]  # fmt: skip
    with Archive.open(archive) as opened:
        assert opened.blobs.open(sha256(PNG)).read() == PNG
    assert sorted(rows(archive, "SELECT id, item_id, author_id, body_text, comment FROM revisions")) == [
        ("rev_w1a", "itm_w1", "per_bob", "= Home =", "created"),
        ("rev_w1b", "itm_w1", "per_ada", "= Home =\nwelcome", None),
    ]
    # Pages, styles and the search index are the site's presentation: said once, not read.
    assert list(_codes(archive)) == ["html.presentation"]
    assert _verified(archive, source).ok


def test_the_site_is_detected_only_by_its_site_js(tmp_path: Path) -> None:
    from passerelle.readers.html import HtmlReader

    site = feature_site().write(tmp_path / "site")
    assert HtmlReader.detect(SourceTree.open(site))
    (site / "data/site.js").write_bytes(data_file({"kind": "site", "format": "something-else"}))
    assert not HtmlReader.detect(SourceTree.open(site))


def _damaged(tmp_path: Path, site: Site) -> tuple[Path, Path, dict[str, list[tuple[str, str | None]]]]:
    source, archive = _ingest(tmp_path, site)
    return source, archive, _codes(archive)


@pytest.mark.parametrize(
    "bad",
    [
        b'passerelle_data({"kind":"items","chunk":1,"records":[]}) ;\n',  # a space before ';'
        b'passerelle_data({"kind":"items","chunk":1,"records":[]});',  # no newline
        b'var x = 1;passerelle_data({"kind":"items","chunk":1,"records":[]});\n',
        b'passerelle_data({"kind":"items","chunk":1,"records":[]});\nalert(1);\n',
        b'passerelle_data({"kind":"persons","records":[]});\n',  # the wrong kind for its name
        b"passerelle_data([1,2]);\n",
    ],
)
def test_a_data_file_not_exactly_the_contract_is_refused_and_the_rest_read(
    tmp_path: Path, bad: bytes
) -> None:
    site = generated_site(2_500)
    site.replace["data/items-00001.js"] = bad
    source, archive, codes = _damaged(tmp_path, site)
    # Not the frame, or not JSON inside it (the frame's end found further on), or not the data file
    # its name says: said at the file, its bytes kept.
    [(code, raw)] = rows(archive, "SELECT code, raw FROM diagnostics WHERE \"where\" = 'data/items-00001.js'")
    assert code in ("html.bad_data_file", "html.invalid_json") and raw == bad
    # Chunks 0 and 2 are read; chunk 1's thousand items are not; the counts then disagree.
    held = rows(archive, "SELECT count(*) FROM items")[0][0]
    assert held == len(site.items) - 1_000
    assert ("data/site.js", None) in codes["html.count_mismatch"]
    assert _verified(archive, source).ok


def test_a_json_error_is_said_and_the_rest_read(tmp_path: Path) -> None:
    site = feature_site()
    site.replace["data/persons.js"] = b'passerelle_data({"kind":"persons","records":[{"id":"per_ada",});\n'
    source, archive, codes = _damaged(tmp_path, site)
    assert codes["html.invalid_json"] == [("data/persons.js", "document")]
    # Everyone the site names is then a placeholder, said at each place; every item is read.
    assert rows(archive, "SELECT count(*) FROM items") == [(len(site.items),)]
    assert rows(archive, "SELECT count(*) FROM persons WHERE is_placeholder = 1") == [(3,)]
    assert ("data/items-00000.js#0/author_id", None) in codes["html.unknown_person"]
    assert _verified(archive, source).ok


def test_nan_is_not_json(tmp_path: Path) -> None:
    site = feature_site()
    site.replace["data/spaces.js"] = b'passerelle_data({"kind":"spaces","records":[NaN]});\n'
    _source, _archive, codes = _damaged(tmp_path, site)
    assert codes["html.invalid_json"] == [("data/spaces.js", "document")]


def test_a_record_lacking_a_field_is_kept_in_its_diagnostic(tmp_path: Path) -> None:
    site = feature_site()
    del site.items[2]["edited_at"]
    site.items[3]["deleted"] = "yes"
    site.persons.append({"id": 42})
    source, archive, codes = _damaged(tmp_path, site)
    assert codes["html.unreadable_record"] == [
        ("data/items-00000.js#2", "item"), ("data/items-00000.js#3", "item"), ("data/persons.js#3", "person"),
    ]  # fmt: skip
    kept = rows(archive, "SELECT raw FROM diagnostics WHERE \"where\" = 'data/items-00000.js#2'")[0][0]
    assert json.loads(kept) == site.items[2]
    assert rows(archive, "SELECT count(*) FROM items") == [(len(site.items) - 2,)]
    assert _verified(archive, source).ok


@pytest.mark.parametrize(
    "path", ["../../../etc/passwd", "/etc/passwd", "files/../../outside.png", "files\\x.png"]
)
def test_a_path_climbing_out_of_the_site_is_not_read(tmp_path: Path, path: str) -> None:
    (tmp_path / "outside.png").write_bytes(b"secret outside the site")
    site = feature_site()
    site.items[4]["files"][0]["path"] = path
    source, archive, codes = _damaged(tmp_path, site)
    assert codes["html.unsafe_path"] == [("data/items-00000.js#4/files/0", None)]
    assert rows(archive, "SELECT sha256, missing_reason FROM files WHERE id = 'fil_pdf'") == [
        (None, "its path in the site climbs out of it")
    ]
    assert rows(archive, "SELECT sha256 FROM files WHERE id = 'fil_png'") == [(sha256(PNG),)]
    with Archive.open(archive) as opened:
        assert not opened.blobs.has(sha256(b"secret outside the site"))
    assert _verified(archive, source).ok


def test_a_missing_file_and_bytes_that_are_not_the_declared_ones(tmp_path: Path) -> None:
    site = feature_site()
    pdf = site.items[4]["files"][0]
    site.omit.add(pdf["path"])
    png = site.items[0]["files"][0]
    site.blobs[png["path"]] = b"other bytes"
    source, archive, codes = _damaged(tmp_path, site)
    assert codes["html.missing_file"] == [("data/items-00000.js#4/files/0", None)]
    # The shared file is read once, at its first listing, under the bytes' own SHA-256.
    assert codes["html.file_mismatch"] == [("data/items-00000.js#0/files/0", None)]
    assert rows(archive, "SELECT sha256 FROM files WHERE id = 'fil_png'") == [(sha256(b"other bytes"),)]
    assert rows(archive, "SELECT sha256 FROM files WHERE id = 'fil_pdf'") == [(None,)]
    assert _verified(archive, source).ok


def test_counts_that_disagree_are_said(tmp_path: Path) -> None:
    site = feature_site()
    site.counts = {**site.true_counts(), "items": 7, "files": 2}
    site.extra["data/items-00004.js"] = data_file({"kind": "items", "chunk": 4, "records": []})
    source, archive, _codes_found = _damaged(tmp_path, site)
    messages = [
        m for (m,) in rows(archive, "SELECT message FROM diagnostics WHERE code = 'html.count_mismatch'")
    ]
    assert sorted(messages) == [
        "site.js counts 2 files; the data files hold 3",
        "site.js counts 7 items; the data files hold 6",
        "site.js says 1 item chunks; the site holds 2 items-*.js files",
    ]
    assert rows(archive, "SELECT count(*) FROM items") == [(len(site.items),)]
    assert _verified(archive, source).ok


def test_unknown_persons_and_spaces(tmp_path: Path) -> None:
    site = feature_site()
    site.items.append(item("itm_x", "spc_nowhere", ADA, 1, "lost in space"))
    site.items.append(item("itm_y", GENERAL, "per_zed", 2, "from zed", reactions=[{"person_id": "per_zoe", "emoji": "x", "created_at": None}]))  # fmt: skip
    site.spaces[0]["members"].append({"person_id": "per_zed", "role": "member"})
    source, archive, codes = _damaged(tmp_path, site)
    assert codes["html.unknown_space"] == [("data/items-00000.js#6", "item")]
    assert sorted(w for w, _ in codes["html.unknown_person"]) == [
        "data/items-00000.js#7/author_id", "data/items-00000.js#7/reactions/0", "data/spaces.js#0/members/3",
    ]  # fmt: skip
    assert sorted(rows(archive, "SELECT id FROM persons WHERE is_placeholder = 1")) == [
        ("per_zed",),
        ("per_zoe",),
    ]
    assert rows(archive, "SELECT count(*) FROM items WHERE id = 'itm_x'") == [(0,)]
    with Archive.open(archive) as opened:
        assert opened.store.query("PRAGMA foreign_key_check") == []
    assert _verified(archive, source).ok


def test_bytes_no_record_names_are_kept_and_said(tmp_path: Path) -> None:
    site = feature_site()
    site.extra["files/ab/abcdef/orphan.txt"] = b"an orphan"
    site.extra["data/notes.txt"] = b"something else"
    source, archive, codes = _damaged(tmp_path, site)
    assert codes["source.unrecognised_entry"] == [
        ("data/notes.txt", None),
        ("files/ab/abcdef/orphan.txt", None),
    ]
    with Archive.open(archive) as opened:
        assert opened.blobs.has(sha256(b"an orphan"))
    assert _verified(archive, source).ok


def test_a_site_read_chunk_by_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Streaming: one data file in memory at a time, none larger than a chunk of 1,000 items."""
    site = generated_site(4_500)
    source = site.write(tmp_path / "site")
    read: list[tuple[str, int]] = []
    original = SourceTree.read_bytes

    def recorded(self: SourceTree, name: str, limit: int | None = None) -> bytes:
        data = original(self, name, limit)
        read.append((name, len(data)))
        return data

    monkeypatch.setattr(SourceTree, "read_bytes", recorded)
    ingest([source], tmp_path / "archive")
    names = [name for name, _ in read]
    assert names == [
        "data/site.js",
        "data/persons.js",
        "data/spaces.js",
        *(f"data/items-{n:05d}.js" for n in range(5)),
    ]
    largest = max(size for name, size in read if name.startswith("data/items-"))
    assert largest < 1_000 * 1_000  # about 1 KB an item here, never the whole site
    assert rows(tmp_path / "archive", "SELECT count(*) FROM items") == [(len(site.items),)]


def test_a_person_record_keeps_its_unknown_fields_in_raw(tmp_path: Path) -> None:
    site = feature_site()
    site.persons[0] = person(ADA, "ada", real_name="Ada Lovelace", title="engineer", pronouns="she/her")
    _source, archive = _ingest(tmp_path, site)
    raw: Any = rows(archive, "SELECT raw FROM persons WHERE id = ?", (ADA,))[0][0]
    assert json.loads(raw)["pronouns"] == "she/her"


def _data_records(site: Path) -> dict[str, Any]:
    found = {}
    for path in sorted((site / "data").glob("*.js")):
        if not path.name.startswith("search-"):
            found[path.name] = json.loads(path.read_bytes()[len(b"passerelle_data(") : -len(b");\n")])
    return found


def _files(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def test_a_site_read_back_and_written_again(tmp_path: Path) -> None:
    """Site → archive → site gives the same records (bodies then say they are markdown, the one
    markup a site holds); once more, the same site byte for byte."""
    from passerelle.export import export
    from tests.mattermost_builder import write_generated

    ingest([write_generated(tmp_path / "export.zip", layout="zip")], tmp_path / "archive")
    [(member,)] = rows(
        tmp_path / "archive",
        "SELECT m.person_id FROM memberships m JOIN spaces s ON s.id = m.space_id"
        " WHERE s.visibility = 'private' ORDER BY 1 LIMIT 1",
    )
    sites = [tmp_path / f"site{n}" for n in range(3)]
    export(tmp_path / "archive", "html", sites[0], options={"as": member})
    for n in (1, 2):
        ingest([sites[n - 1]], tmp_path / f"archive{n}")
        export(tmp_path / f"archive{n}", "html", sites[n], options={"as": member})
    first, second = _data_records(sites[0]), _data_records(sites[1])
    assert first.keys() == second.keys() and len(first) > 4
    for name, document in first.items():
        for record in document.get("records", ()):
            if "body_format" in record:
                record["body_format"] = BODY_FORMAT if record["body_text"] is not None else None
        assert document == second[name], name
    assert _files(sites[2]) == _files(sites[1])


def test_a_missing_chunk_and_a_hostile_chunk_count(tmp_path: Path) -> None:
    site = generated_site(2_500)  # three chunks
    site.omit.add("data/items-00001.js")
    source, archive, codes = _damaged(tmp_path / "gap", site)
    assert codes["html.bad_data_file"] == [("data/items-00001.js", None)]
    assert ("data/site.js", None) in codes["html.count_mismatch"]
    assert _verified(archive, source).ok
    site = feature_site()
    site.replace["data/site.js"] = site.entries()["data/site.js"].replace(
        b'"item_chunks":1', b'"item_chunks":1000000000000'
    )
    source, archive, codes = _damaged(tmp_path / "huge", site)
    assert "html.bad_data_file" not in codes
    assert rows(archive, "SELECT message FROM diagnostics WHERE code = 'html.count_mismatch'") == [
        ("site.js says 1000000000000 item chunks; the site holds 1 items-*.js files",)
    ]
    assert _verified(archive, source).ok


# -- any damage: never a crash, always accounted -----------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site=damaged_sites())
def test_any_damage_is_read_without_a_crash_and_accounted(site: Site) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = site.write(Path(tmp) / "site")
        ingest([source], Path(tmp) / "archive", format="html")  # a damaged site.js is not detected
        with Archive.open(Path(tmp) / "archive") as opened:
            assert opened.store.query("PRAGMA foreign_key_check") == []
            report = verify_html(opened, source)  # verify dispatches by site.js, perhaps damaged
        assert report.ok, report.problems


def test_a_site_js_not_of_the_contract_declares_nothing(tmp_path: Path) -> None:
    site = feature_site()
    site.counts = {"items": True}  # not the counts of the contract: the reader refuses site.js whole
    source, archive, codes = _damaged(tmp_path, site)
    assert codes["html.bad_data_file"] == [("data/site.js", "document")]
    assert "html.count_mismatch" not in codes
    assert rows(archive, "SELECT count(*) FROM items") == [(len(site.items),)]
    assert _verified(archive, source).ok


def test_a_site_ingested_into_the_archive_it_was_written_from_changes_nothing_there(tmp_path: Path) -> None:
    """Records the archive holds from their own source are not replaced by the site's copies
    (normalised bodies, withheld e-mails): a site merged back is a no-op on them, said per file."""
    from passerelle.export import export
    from tests.mattermost_builder import write_generated

    source = write_generated(tmp_path / "export.zip", layout="zip")
    archive = tmp_path / "archive"
    ingest([source], archive)
    export(archive, "html", tmp_path / "site")
    content = "SELECT id, platform, email, raw FROM persons UNION ALL SELECT id, body_format, body_source, raw FROM items"
    before = sorted(rows(archive, content), key=repr)
    counts = "SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM revisions), (SELECT count(*) FROM superseded)"
    counted = rows(archive, counts)
    ingest([tmp_path / "site"], archive)
    assert sorted(rows(archive, content), key=repr) == before
    assert rows(archive, counts) == counted
    held = rows(archive, "SELECT \"where\" FROM diagnostics WHERE code = 'html.already_held' ORDER BY 1")
    assert ("data/persons.js",) in held and ("data/items-00000.js",) in held
    with Archive.open(archive) as opened:
        assert verify(opened, tmp_path / "site").ok  # as the source it now also is
        assert verify(opened, source).ok  # and the export it came from still reconciles
