"""The CSV writer: every row of every table, exactly, in RFC 4180 files a spreadsheet or any
CSV parser reads, with the mapping that reads them back.

The tables are read here with the standard library's ``csv`` and ``tomllib`` only, and
decoded by the rules docs/csv.md states (``empty_fields``, ``raw``/``raw_base64``,
``true``/``false``, integers), never with the writer's code: over generated archives
(Hypothesis: odd ids, every Unicode shape, NUL, line breaks, raw records that are not
UTF-8, times outside the calendar), what the files say is exactly what the archive holds.
Then the CSV reader reads them back: archive → CSV → archive is the identity on every
content table, file bytes included."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import sqlite3
import tempfile
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from passerelle.archive import Archive
from passerelle.archive.writer import ArchiveWriter
from passerelle.exit_status import ExitStatus
from passerelle.export import MANIFEST, export, read_manifest
from passerelle.ingest import ingest
from passerelle.model.entities import (
    File,
    Item,
    ItemFile,
    ItemKind,
    Person,
    Source,
    Space,
    SpaceKind,
    Visibility,
)
from passerelle.readers.csv_mapping import parse_mapping
from passerelle.writers.base import ENTITY_TABLES
from tests.archive_strategies import (
    ARCHIVE_SETTINGS,
    COLUMNS,
    ArchiveContent,
    archive_contents,
    archive_rows,
    build_archive,
)
from tests.conformance.cases import READER_CASES
from tests.helpers import run, run_json

TABLES = ("persons", "spaces", "memberships", "items", "reactions", "files", "item_files", "revisions")
# Columns written for people, which the mapping must not read.
FOR_PEOPLE = {"origin", "source_id", "created_at_iso", "edited_at_iso", "deleted_at_iso"}


# -- reading the output back, independently ------------------------------------------------------


def read_table(folder: Path, table: str, delimiter: str = ",", bom: bool = False) -> list[dict[str, str]]:
    data = (folder / f"{table}.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") == bom
    text = data.decode("utf-8-sig" if bom else "utf-8")
    assert_crlf_records(text, delimiter)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    header, body = rows[0], rows[1:]
    assert all(len(r) == len(header) for r in body), table
    return [dict(zip(header, r, strict=True)) for r in body]


def assert_crlf_records(text: str, delimiter: str) -> None:
    """RFC 4180: every record ends with CRLF (the last one too); a line break is bare only
    inside a quoted cell; a quote opens a cell only at its start."""
    quoted = False
    at_cell_start = True
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"':
                if text[i + 1 : i + 2] == '"':
                    i += 1
                else:
                    quoted = False
        elif ch == '"':
            assert at_cell_start, f"a quote inside an unquoted cell at {i}"
            quoted = True
        elif ch in "\r\n":
            assert text[i : i + 2] == "\r\n", f"a bare line break outside quotes at {i}"
            i += 1
        at_cell_start = not quoted and ch in (delimiter, "\r")
        i += 1
    assert not quoted and text.endswith("\r\n")


def sqlite_types(archive: Path) -> dict[str, dict[str, str]]:
    conn = sqlite3.connect(archive / "archive.sqlite")
    try:
        return {t: {r[1]: r[2] for r in conn.execute(f"PRAGMA table_info({t})")} for t in TABLES}
    finally:
        conn.close()


def decode(row: dict[str, str], table: str, types: dict[str, str]) -> tuple[Any, ...]:
    """A CSV row as the archive's row, by the rules of docs/csv.md."""
    empty = set(row["empty_fields"].split(" ")) if row["empty_fields"] else set()
    values: list[Any] = []
    for column in COLUMNS[table]:
        name = "archive_id" if column == "id" else column
        if column == "raw":
            if row["raw"] and row["raw_base64"]:
                raise AssertionError("raw and raw_base64 both filled")
            if row["raw"]:
                values.append(row["raw"].encode("utf-8"))
            elif row["raw_base64"]:
                values.append(base64.b64decode(row["raw_base64"], validate=True))
            else:
                values.append(b"" if "raw" in empty else None)
            continue
        cell = row[name]
        if cell == "":
            values.append("" if name in empty else None)
        elif types[column] == "INTEGER":
            values.append({"true": 1, "false": 0}[cell] if cell in ("true", "false") else int(cell))
        else:
            values.append(cell)
    return tuple(values)


def decoded_tables(
    folder: Path, archive: Path, delimiter: str = ",", bom: bool = False
) -> dict[str, list[Any]]:
    types = sqlite_types(archive)
    return {
        t: sorted((decode(r, t, types[t]) for r in read_table(folder, t, delimiter, bom)), key=repr)
        for t in TABLES
    }


def archive_tables(archive: Path) -> dict[str, list[tuple[Any, ...]]]:
    with Archive.open(archive) as opened:
        return {
            t: sorted(
                opened.store.query(
                    f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in COLUMNS[t])} FROM {t}"
                ),
                key=repr,
            )
            for t in TABLES
        }


def check_bytes(folder: Path, archive: Path) -> int:
    """Every file row with bytes names them at files/<sha256>, and they are the archive's."""
    checked = 0
    with Archive.open(archive) as opened:
        for row in read_table(folder, "files"):
            if row["sha256"] and opened.blobs.has(row["sha256"]):
                assert row["path"] == f"files/{row['sha256']}"
                data = (folder / row["path"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == row["sha256"]
                assert data == opened.blobs.path(row["sha256"]).read_bytes()
                checked += 1
            else:
                assert row["path"] == ""
    written = {p.name for p in (folder / "files").iterdir()} if (folder / "files").exists() else set()
    assert written == {r["sha256"] for r in read_table(folder, "files") if r["path"]}
    return checked


# -- generated archives: the files hold exactly what the archive holds ---------------------------


@settings(ARCHIVE_SETTINGS, max_examples=40)
@given(content=archive_contents())
def test_the_tables_hold_every_row_of_a_generated_archive_exactly(content: ArchiveContent) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_archive(root / "archive", content)
        result = export(root / "archive", "csv", root / "out")
        expected = {t: rows for t, rows in content.rows().items() if t in TABLES}
        assert decoded_tables(root / "out", root / "archive") == expected
        check_bytes(root / "out", root / "archive")
        for entity, table in ENTITY_TABLES.items():
            assert result.log.tally[entity] == ({"carried": len(expected[table])} if expected[table] else {})
        assert result.log.notes == []


@settings(ARCHIVE_SETTINGS, max_examples=10)
@given(content=archive_contents(max_items=10))
def test_excel_fr_holds_the_same_rows(content: ArchiveContent) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_archive(root / "archive", content)
        export(root / "archive", "csv", root / "out", options={"dialect": "excel-fr"})
        expected = {t: rows for t, rows in content.rows().items() if t in TABLES}
        assert decoded_tables(root / "out", root / "archive", delimiter=";", bom=True) == expected


# -- exports of real sources -----------------------------------------------------------------------


def _archive(tmp: Path, case_id: str) -> Path:
    case = next(c for c in READER_CASES if c.id == case_id)
    archive = tmp / "archive"
    ingest([case.make(tmp)], archive, format=case.reader)
    return archive


@pytest.mark.parametrize(
    "case_id", ["slack-testarchive", "mattermost-generated-zip", "mastodon-generated-zip"]
)
def test_an_export_holds_every_entity_once_and_the_tally_says_so(tmp_path: Path, case_id: str) -> None:
    archive = _archive(tmp_path, case_id)
    out = tmp_path / "out"
    result = export(archive, "csv", out)
    assert decoded_tables(out, archive) == archive_tables(archive)
    with Archive.open(archive) as opened:
        counts = {t: opened.store.scalar(f"SELECT count(*) FROM {t}") for t in TABLES}
        ids = {
            t: {r[0] for r in opened.store.query(f"SELECT id FROM {t}")}
            for t in ("persons", "items", "files")
        }
    for table in TABLES:
        rows = read_table(out, table)
        assert len(rows) == counts[table], table
        if table in ids:
            assert [r["archive_id"] for r in rows] == sorted(ids[table]), table  # each once, by id
    for entity, table in ENTITY_TABLES.items():
        assert sum(result.log.tally[entity].values()) == counts[table], entity
    assert counts["items"] > 0
    if case_id != "slack-testarchive":  # its files have no bytes (Slack exports hold links)
        assert check_bytes(out, archive) > 0
    manifest = read_manifest((out / MANIFEST).read_bytes())
    assert manifest.writer == "csv" and manifest.reader == "csv"
    assert manifest.persons == {i: i for i in ids["persons"]}


def test_the_mapping_names_every_column_but_those_for_people(tmp_path: Path) -> None:
    archive = _archive(tmp_path, "mattermost-generated-zip")
    export(archive, "csv", tmp_path / "out")
    text = (tmp_path / "out" / "mapping.toml").read_bytes()
    assert (tmp_path / "out" / "passerelle-mapping.toml").read_bytes() == text
    mapping = tomllib.loads(text.decode("utf-8"))
    parsed = parse_mapping(text, "mapping.toml")  # what the CSV reader will accept
    assert [f.columns for f in parsed.files] == [f["columns"] for f in mapping["file"]]
    assert mapping["version"] == 1 and mapping["platform"] == "mattermost" and mapping["timezone"] == "UTC"
    assert [f["path"] for f in mapping["file"]] == [f"{t}.csv" for t in TABLES]
    assert [f["entity"] for f in mapping["file"]] == list(TABLES)
    for spec in mapping["file"]:
        assert spec["encoding"] == "utf-8" and spec["delimiter"] == "," and spec["quote"] == '"'
        assert spec["header"] is True and spec["skip_initial_space"] is False
        assert spec["dates"] == "epoch_us" and spec["lists"] == {"empty_fields": " "}
        header = next(csv.reader(io.StringIO((tmp_path / "out" / spec["path"]).read_text("utf-8"))))
        columns = spec["columns"]
        assert all(field == column for field, column in columns.items())  # exact fields
        unmapped = set(header) - set(columns)
        for_people = FOR_PEOPLE | ({"sha256"} if spec["path"] == "files.csv" else set())
        assert unmapped == for_people & set(header), spec["path"]
        assert set(columns) <= set(header)
    files = next(f for f in mapping["file"] if f["entity"] == "files")
    assert "path" in files["columns"] and "sha256" not in files["columns"]


def test_excel_fr_changes_only_the_separator_and_the_bom(tmp_path: Path) -> None:
    archive = _archive(tmp_path, "mattermost-generated-zip")
    export(archive, "csv", tmp_path / "plain")
    export(archive, "csv", tmp_path / "fr", options={"dialect": "excel-fr"})
    for table in TABLES:
        fr = (tmp_path / "fr" / f"{table}.csv").read_bytes()
        assert fr.startswith(
            b"\xef\xbb\xbf" + b"archive_id;" if table in ("persons", "items") else b"\xef\xbb\xbf"
        )
        assert read_table(tmp_path / "fr", table, ";", bom=True) == read_table(tmp_path / "plain", table)
    plain = tomllib.loads((tmp_path / "plain" / "mapping.toml").read_text("utf-8"))
    fr_mapping = tomllib.loads((tmp_path / "fr" / "mapping.toml").read_text("utf-8"))
    for a, b in zip(plain["file"], fr_mapping["file"], strict=True):
        assert b["delimiter"] == ";" and b["encoding"] == "utf-8-sig"
        assert {**b, "delimiter": ",", "encoding": "utf-8"} == a
    assert sorted(p.name for p in (tmp_path / "fr" / "files").iterdir()) == sorted(
        p.name for p in (tmp_path / "plain" / "files").iterdir()
    )


def test_the_same_archive_gives_the_same_bytes(tmp_path: Path) -> None:
    archive = _archive(tmp_path, "slack-generated-zip")
    export(archive, "csv", tmp_path / "one.zip")
    export(archive, "csv", tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as zf:
        names = set(zf.namelist())
    assert {f"{t}.csv" for t in TABLES} | {"mapping.toml", "passerelle-mapping.toml", MANIFEST} <= names


def test_a_dry_run_writes_nothing_and_announces_the_same_tally(tmp_path: Path) -> None:
    archive = _archive(tmp_path, "slack-generated-zip")
    planned = export(archive, "csv", tmp_path / "planned", dry_run=True)
    assert not list(tmp_path.glob("planned*"))
    done = export(archive, "csv", tmp_path / "done")
    assert planned.log.tally == done.log.tally and sum(done.log.tally["item"].values()) == 1_500


# -- values ----------------------------------------------------------------------------------------------


SOURCE = Source(
    id="src_1", platform="test", path="x", sha256="0" * 64, size=0, reader="test", reader_version="1",
    ingested_at="2024-01-01T00:00:00Z",
)  # fmt: skip


def _small_archive(path: Path, **item: Any) -> Path:
    archive = Archive.open(path, create=True)
    try:
        writer = ArchiveWriter(archive, SOURCE)
        writer.add(Person(id="per_a", platform="test", native_id="a", name="a"))
        writer.add(
            Space(
                id="spc_g",
                platform="test",
                native_id="g",
                kind=SpaceKind.COMMUNITY,
                visibility=Visibility.PUBLIC,
            )
        )
        sha256, _ = writer.put_blob_bytes(b"hello")
        writer.add(File(id="fil_1", platform="test", native_id="1", name="a.txt", sha256=sha256))
        writer.add(File(id="fil_2", platform="test", native_id="2", name="b.txt", missing_reason="gone"))
        values: dict[str, Any] = {"id": "itm_1", "platform": "test", "native_id": "1", "kind": ItemKind.POST}
        writer.add(Item(space_id="spc_g", author_id="per_a", **(values | item)))
        writer.add(ItemFile(item_id="itm_1", file_id="fil_1", position=0))
        writer.complete("all")
        writer.finish()
    finally:
        archive.close()
    return path


@pytest.mark.parametrize(
    ("micros", "shown"),
    [
        (1_600_000_000_059_311, "2020-09-13T12:26:40.059311Z"),
        (1_600_000_000_000_000, "2020-09-13T12:26:40Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
        (-62_135_596_800_000_000, "0001-01-01T00:00:00Z"),
        (-62_135_596_800_000_001, ""),  # before year 1: no calendar date
        (2**63 - 1, ""),
        (None, ""),
    ],
)
def test_times_are_integers_with_an_iso_column_beside(tmp_path: Path, micros: int | None, shown: str) -> None:
    archive = _small_archive(tmp_path / "archive", created_at=micros, edited_at=micros)
    export(archive, "csv", tmp_path / "out")
    [row] = read_table(tmp_path / "out", "items")
    assert row["created_at"] == ("" if micros is None else str(micros))
    assert row["created_at_iso"] == shown and row["edited_at_iso"] == shown
    assert row["deleted_at"] == row["deleted_at_iso"] == ""


def test_null_empty_text_booleans_and_raw(tmp_path: Path) -> None:
    archive = _small_archive(
        tmp_path / "archive", title="", subtype=None, pinned=True, raw=b"caf\xe9", created_native='a,b\r\n"c"'
    )
    export(archive, "csv", tmp_path / "out")
    [row] = read_table(tmp_path / "out", "items")
    assert row["title"] == "" and row["subtype"] == "" and row["empty_fields"] == "title"
    assert row["pinned"] == "true" and row["deleted"] == "false"
    assert row["raw"] == "" and base64.b64decode(row["raw_base64"]) == b"caf\xe9"
    assert row["created_native"] == 'a,b\r\n"c"'
    text = (tmp_path / "out" / "items.csv").read_bytes()
    assert b'"a,b\r\n""c"""' in text  # quoted, the quote doubled, the line break as it is


def test_a_file_whose_bytes_the_archive_lacks_is_written_without_them_and_noted(tmp_path: Path) -> None:
    archive = _small_archive(tmp_path / "archive")
    with Archive.open(archive) as opened:
        sha256 = opened.store.scalar("SELECT sha256 FROM files WHERE id = 'fil_1'")
        opened.blobs.path(sha256).unlink()
    planned = export(archive, "csv", tmp_path / "planned", dry_run=True)
    result = export(archive, "csv", tmp_path / "out")
    assert planned.log.tally == result.log.tally
    assert result.log.tally["file"] == {"adapted": 1, "carried": 1}
    [note] = result.log.notes
    assert (note.code, note.entity_id, note.attribute, note.original) == (
        "csv.export_bytes_missing", "fil_1", "sha256", sha256,
    )  # fmt: skip
    assert note.where == "files.csv#2"
    rows = {r["archive_id"]: r for r in read_table(tmp_path / "out", "files")}
    assert rows["fil_1"]["sha256"] == sha256 and rows["fil_1"]["path"] == ""
    assert not (tmp_path / "out" / "files").exists()
    assert (
        json.loads((tmp_path / "out" / MANIFEST).read_bytes())["notes"][0]["code"]
        == "csv.export_bytes_missing"
    )


def test_a_note_names_the_line_its_row_starts_on(tmp_path: Path) -> None:
    """Rows above may hold line breaks: the note's line is the file's, as a text reader counts."""
    archive = _small_archive(tmp_path / "archive")
    with Archive.open(archive) as opened:
        opened.store.conn.execute(
            "INSERT INTO files (id, platform, native_id, name, source_id) VALUES"
            " ('fil_0', 'test', '0', 'x\r\ny\rz\nw', 'src_1')"
        )
        sha256 = opened.store.scalar("SELECT sha256 FROM files WHERE id = 'fil_1'")
        opened.blobs.path(sha256).unlink()
    result = export(archive, "csv", tmp_path / "out")
    [note] = result.log.notes
    lines = (tmp_path / "out" / "files.csv").read_text("utf-8").split("\n")
    assert note.where == "files.csv#6" and lines[5].startswith("fil_1,")


# -- the command line ---------------------------------------------------------------------------------


def test_the_command_line_writes_the_french_form(tmp_path: Path) -> None:
    archive = _small_archive(tmp_path / "archive")
    done = run_json(
        "export", str(archive), "--to", "csv", "-o", str(tmp_path / "out"), "--set", "dialect=excel-fr"
    )
    assert done["tally"]["item"] == {"carried": 1}
    assert (tmp_path / "out" / "items.csv").read_bytes().startswith(b"\xef\xbb\xbfarchive_id;platform;")
    assert "csv" in run("formats").output


def test_an_unknown_dialect_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    archive = _small_archive(tmp_path / "archive")
    result = run("export", str(archive), "--to", "csv", "-o", str(tmp_path / "out"), "--set", "dialect=excel")
    assert result.exit_code == ExitStatus.BAD_INPUT and "excel-fr" in result.stderr
    assert not list(tmp_path.glob("out*"))


@pytest.mark.parametrize(
    ("platforms", "named"), [(("test",), "test"), (("",), "passerelle"), (("a", "b"), "passerelle")]
)
def test_the_mapping_names_the_archive_s_platform_when_it_has_one(
    tmp_path: Path, platforms: tuple[str, ...], named: str
) -> None:
    archive = _small_archive(tmp_path / "archive")
    with Archive.open(archive) as opened:
        for table in ("persons", "spaces", "items", "files"):
            opened.store.conn.execute(f"UPDATE {table} SET platform = ?", (platforms[0],))
        opened.store.conn.execute("UPDATE files SET platform = ? WHERE id = 'fil_2'", (platforms[-1],))
    export(archive, "csv", tmp_path / "out")
    text = (tmp_path / "out" / "mapping.toml").read_bytes()
    assert parse_mapping(text, "mapping.toml").platform == named  # never empty: a mapping needs one
    rows = {r["archive_id"]: r for r in read_table(tmp_path / "out", "files")}
    assert rows["fil_2"]["platform"] == platforms[-1]  # each row says its own
    assert ("platform" in rows["fil_2"]["empty_fields"].split()) == (platforms[-1] == "")


# -- read back by the CSV reader: the identity ------------------------------------------------------------


def content_columns(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every content table's rows, without where each was read from (origin, source_id)."""
    kept = {}
    for table in TABLES:
        at = [i for i, c in enumerate(COLUMNS[table]) if c not in ("origin", "source_id")]
        kept[table] = sorted((tuple(r[i] for i in at) for r in rows[table]), key=repr)
    return kept


def file_bytes(archive: Archive) -> dict[str, bytes]:
    """The bytes of the archive's files (other blobs, such as a source's unread entries, aside)."""
    hashes = [h for (h,) in archive.store.query("SELECT DISTINCT sha256 FROM files WHERE sha256 IS NOT NULL")]
    return {h: archive.blobs.path(h).read_bytes() for h in hashes}


def read_back(root: Path, **options: str) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, bytes]]:
    """Export ``root/archive`` as CSV and ingest it with the mapping inside: its content and bytes."""
    export(root / "archive", "csv", root / "out", options=options)
    ingest([root / "out"], root / "second", format="csv")
    with Archive.open(root / "second") as second:
        return content_columns(archive_rows(second)), file_bytes(second)


@settings(ARCHIVE_SETTINGS, max_examples=15)
@given(content=archive_contents())
def test_archive_csv_archive_is_the_identity_bytes_included(content: ArchiveContent) -> None:
    """Compared with what was generated, not with the first archive: nothing shared with export."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_archive(root / "archive", content)
        rows, blobs = read_back(root)
        assert rows == content_columns(content.rows())
        assert blobs == {sha: data for sha, data in content.blobs().items() if data is not None}


@pytest.mark.parametrize(
    ("case_id", "dialect"),
    [
        ("slack-testarchive", "rfc4180"),
        ("slack-generated-zip", "excel-fr"),
        ("mattermost-generated-zip", "excel-fr"),
        ("mastodon-generated-zip", "rfc4180"),
        ("csv-generated-folder", "excel-fr"),
    ],
)
def test_exports_of_real_sources_read_back_the_same(tmp_path: Path, case_id: str, dialect: str) -> None:
    archive = _archive(tmp_path, case_id)
    with Archive.open(archive) as opened:
        want, bytes_before = content_columns(archive_rows(opened)), file_bytes(opened)
    rows, blobs = read_back(tmp_path, dialect=dialect)
    assert rows == want and blobs == bytes_before
    assert want["items"] and (blobs or case_id == "slack-testarchive")


def test_the_command_line_round_trip_with_the_mapping_named(tmp_path: Path) -> None:
    """ingest OUT --from csv --mapping OUT/mapping.toml, as the issue says; verify explains all."""
    archive = _archive(tmp_path, "mattermost-generated-zip")
    out = tmp_path / "out"
    assert run("export", str(archive), "--to", "csv", "-o", str(out)).exit_code == 0
    done = run_json(
        "ingest",
        str(out),
        "--from",
        "csv",
        "--mapping",
        str(out / "mapping.toml"),
        "-o",
        str(tmp_path / "second"),
    )
    assert done["sources"][0]["status"] == "ingested"
    with Archive.open(archive) as first, Archive.open(tmp_path / "second") as second:
        assert content_columns(archive_rows(second)) == content_columns(archive_rows(first))
    report = run_json("verify", str(archive), "--against", str(out))
    assert report["kind"] == "fidelity" and report["ok"]
    assert report["entities"]["item"]["carried"] == report["entities"]["item"]["total"] > 0
