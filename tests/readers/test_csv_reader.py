"""The CSV reader: the same records in six dialects give the same archive; every feature of the
mapping; every row that cannot be read said at its line; placeholders; the Rocket.Chat CSV
samples through a hand-written mapping; several files as one source; the archive's own CSV
export read back."""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from passerelle.archive import Archive
from passerelle.errors import BadInputError
from passerelle.export import export
from passerelle.info import table_counts
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.readers import csv as csv_reader
from passerelle.readers.csv import ITEMS, CsvReader
from passerelle.readers.source_tree import SourceTree
from passerelle.verify import csv as csv_verify
from passerelle.verify import verify
from tests.archive_strategies import ARCHIVE_SETTINGS, ArchiveContent, archive_contents, build_archive
from tests.csv_builder import DIALECTS, MAPPING_NAME, PDF, PNG, write_export
from tests.helpers import canonical_dump, rows, run, sample

P = "intranet"


def ingest_verified(source: Path, archive: Path, **options: Any) -> Path:
    ingest([source], archive, format="csv", options=options or None)
    with Archive.open(archive) as opened:
        report = verify(opened, source)
    assert report.ok, report.problems
    return archive


def content(archive: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every content table's rows, without where each was read (origin, raw, source)."""
    with Archive.open(archive) as opened:
        store = opened.store
        out: dict[str, list[tuple[Any, ...]]] = {}
        for table in (
            "persons",
            "spaces",
            "memberships",
            "items",
            "reactions",
            "files",
            "item_files",
            "revisions",
        ):
            columns = [c for c in store.columns(table) if c not in ("raw", "origin", "source_id")]
            out[table] = sorted(store.query(f"SELECT {', '.join(columns)} FROM {table}"), key=repr)
        codes = store.query("SELECT code, count(*) FROM diagnostics GROUP BY code ORDER BY code")
        out["diagnostics"] = codes
    return out


def item_id(native: str) -> str:
    return ids.item_id(P, ITEMS, native)


# -- the same records, six dialects ---------------------------------------------------------------------------
def test_six_dialects_give_the_same_archive(tmp_path: Path) -> None:
    """utf-8 ',' ISO; utf-8-sig ';' dd/mm/yyyy HH:MM Paris; cp1252 ';' French decimal; utf-16 tab
    epoch seconds; latin-1 ',' US dates New York; utf-8 '|' epoch ms without a header."""
    contents = []
    for dialect in DIALECTS:
        source = write_export(tmp_path / dialect.name, dialect)
        archive = ingest_verified(source, tmp_path / f"{dialect.name}.archive")
        contents.append((dialect.name, content(archive)))
    _, first = contents[0]
    assert sum(len(v) for v in first.values()) >= 35
    assert first["diagnostics"] == [("csv.mapping", 1)]  # nothing else to say: every row read
    for name, other in contents[1:]:
        for table in first:
            assert other[table] == first[table], (name, table)


def test_the_bytes_of_each_dialect_differ(tmp_path: Path) -> None:
    """The dialects are really different files (what the test above would miss if the builder
    wrote them alike)."""
    exports = [write_export(tmp_path / d.name, d) for d in DIALECTS]
    messages = [next(p for p in e.iterdir() if p.name == "messages.csv").read_bytes() for e in exports]
    assert len(set(messages)) == len(DIALECTS)
    assert messages[1].startswith(b"\xef\xbb\xbf") and messages[3].startswith(b"\xff\xfe")
    assert "é".encode("cp1252") in messages[2] and b";" in messages[2]
    assert b"|" in messages[5] and b"identifiant" not in messages[5] and b"id," not in messages[5]


# -- every feature ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def feature(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("csv")
    source = write_export(tmp / "export", DIALECTS[1])  # French: utf-8-sig, ';', Paris time
    return ingest_verified(source, tmp / "archive")


def test_persons_and_references_by_id_name_or_email(feature: Path) -> None:
    persons = rows(
        feature, "SELECT native_id, name, display_name, email, is_bot, is_placeholder, origin FROM persons"
    )
    assert sorted(persons) == [
        ("bot1", "robot", "Robot, the bot", None, 1, 0, "utilisateurs.csv#5"),
        ("u1", "alice", "Alice Lefèvre", "alice@example.org", 0, 0, "utilisateurs.csv#2"),
        ("u2", "bruno", "Bruno Núñez", "Bruno@Example.org", 0, 0, "utilisateurs.csv#3"),
        ("u3", "chloé", "Chloé «Clo» Dupré", "chloe@example.org", 0, 0, "utilisateurs.csv#4"),
    ]
    authors = dict(rows(feature, "SELECT native_id, author_id FROM items"))
    assert authors["m2"] == ids.person_id(P, "u2")  # "bruno": by name
    assert authors["m3"] == ids.person_id(P, "u3")  # "chloe@example.org": by e-mail
    [(person,)] = rows(feature, "SELECT person_id FROM reactions WHERE emoji = 'thumbsup::skin-tone-3'")
    assert person == ids.person_id(P, "u1")  # "alice"


def test_spaces_privacy_and_members(feature: Path) -> None:
    spaces = rows(
        feature,
        "SELECT native_id, kind, visibility, name, creator_id, created_at FROM spaces ORDER BY native_id",
    )
    assert spaces == [
        ("direct:u1,u2,u3", "group_message", "private", None, None, None),
        ("direct:u1,u3", "direct_message", "private", None, None, None),
        ("s1", "public_channel", "public", "général", ids.person_id(P, "u1"), 1707730200000000),
        ("s2", "private_channel", "private", "comité", ids.person_id(P, "u2"), 1707730500000000),
    ]
    members = rows(
        feature,
        "SELECT s.native_id, p.native_id, m.role, m.origin FROM memberships m JOIN spaces s ON s.id = m.space_id"
        " JOIN persons p ON p.id = m.person_id ORDER BY 1, 2",
    )
    assert members == [
        ("direct:u1,u2,u3", "u1", "member", "messages.csv#8"),  # m1 is two lines long
        ("direct:u1,u2,u3", "u2", "member", "messages.csv#8"),
        ("direct:u1,u2,u3", "u3", "member", "messages.csv#8"),
        ("direct:u1,u3", "u1", "member", "messages.csv#7"),
        ("direct:u1,u3", "u3", "member", "messages.csv#7"),
        ("s1", "u1", "member", "groupes.csv#2"),
        ("s1", "u2", "member", "groupes.csv#2"),
        ("s1", "u3", "member", "groupes.csv#2"),
        ("s2", "u1", "admin", "adhésions.csv#2"),
        ("s2", "u2", "member", "groupes.csv#3"),
        ("s2", "u3", "member", "groupes.csv#3"),
    ]


def test_items_threads_and_inherited_spaces(feature: Path) -> None:
    got = {
        native: (space, parent, root)
        for native, space, parent, root in rows(
            feature,
            "SELECT i.native_id, s.native_id, i.parent_id, i.thread_root_id FROM items i"
            " JOIN spaces s ON s.id = i.space_id",
        )
    }
    assert got == {
        "m1": ("s1", None, None),
        "m2": ("s1", item_id("m1"), item_id("m1")),  # no space of its own: its parent's
        "m3": ("s1", item_id("m2"), item_id("m1")),  # a reply to a reply: the thread is m1's
        "m4": ("s2", None, None),
        "m5": ("direct:u1,u3", None, None),
        "m6": ("direct:u1,u2,u3", None, None),
        "m7": ("s1", None, None),
    }


def test_an_item_keeps_its_row_exactly(feature: Path) -> None:
    [(kind, created, title, body, fmt, text, raw, origin)] = rows(
        feature,
        "SELECT kind, created_at, title, body_source, body_format, body_text, raw, origin FROM items"
        " WHERE native_id = 'm1'",
    )
    assert (kind, title, fmt, origin) == ("message", "Bienvenue", "text", "messages.csv#2")
    assert created == 1707733800000000  # 12/02/2024 11:30 in Paris: 10:30 UTC
    assert body == text == 'Bonjour à tous, "premier" message;\nsur deux lignes | fin'
    assert json.loads(raw) == (
        'm1;s1;;u1;;12/02/2024 11:30;Bienvenue;"Bonjour à tous, ""premier"" message;\nsur deux lignes | fin"'
    )


def test_files_bytes_and_attachments(feature: Path) -> None:
    files = rows(
        feature, "SELECT native_id, name, size, sha256, missing_reason FROM files ORDER BY native_id"
    )
    import hashlib

    assert files == [
        ("f1", "rapport annuel.pdf", len(PDF), hashlib.sha256(PDF).hexdigest(), None),
        ("f2", "photo.png", len(PNG), hashlib.sha256(PNG).hexdigest(), None),
    ]
    attached = rows(
        feature,
        "SELECT i.native_id, f.native_id, x.position FROM item_files x JOIN items i ON i.id = x.item_id"
        " JOIN files f ON f.id = x.file_id ORDER BY 1",
    )
    assert attached == [("m1", "f1", 0), ("m4", "f2", 0)]
    with Archive.open(feature) as archive:
        assert archive.blobs.has(hashlib.sha256(PDF).hexdigest())


def test_reactions(feature: Path) -> None:
    reactions = rows(
        feature,
        "SELECT i.native_id, p.native_id, r.emoji, r.created_at FROM reactions r JOIN items i ON i.id = r.item_id"
        " JOIN persons p ON p.id = r.person_id ORDER BY 1, 3",
    )
    base = 1707733800000000
    assert reactions == [
        ("m1", "u3", "heart", base + 8 * 60_000_000),
        ("m1", "u2", "thumbsup", base + 7 * 60_000_000),
        ("m2", "u1", "thumbsup::skin-tone-3", base + 10 * 60_000_000),
        ("m4", "u3", "tada", base + 9 * 60_000_000),
    ]


def test_the_mapping_is_kept(feature: Path) -> None:
    [(where, raw)] = rows(feature, "SELECT \"where\", raw FROM diagnostics WHERE code = 'csv.mapping'")
    assert where == MAPPING_NAME and b"[[file]]" in raw and b'path = "messages.csv"' in raw


# -- rows that cannot be read, and what rows use but do not define ----------------------------------------------
HOSTILE_MAPPING = """\
version = 1
platform = "p"
timezone = "Europe/Paris"

[[file]]
path = "users.csv"
entity = "persons"
[file.columns]
id = "id"
name = "name"
is_bot = "bot"

[[file]]
path = "messages.csv"
entity = "items"
dates = "%d/%m/%Y %H:%M"
[file.columns]
id = "id"
space = "space"
parent = "parent"
author = "author"
created_at = "date"
kind = "kind"
body = "text"
attachments = "files"
[file.lists]
attachments = ";"

[[file]]
path = "reactions.csv"
entity = "reactions"
[file.columns]
item = "item"
person = "person"
emoji = "emoji"

[[file]]
path = "files.csv"
entity = "files"
[file.columns]
id = "id"
path = "path"
size = "size"

[[file]]
path = "empty.csv"
entity = "persons"
"""

HOSTILE = {
    "users.csv": (
        b"id,name,bot\n"
        b"u1,alice,false\n"
        b"u2,bruno,peut-etre\n"  # 3: not a boolean
        b"u1,alice again,true\n"  # 4: u1 again
        b"u3,caf\xe9,no\n"  # 5: not UTF-8
        b"\n"  # 6: a blank line is no row
        b"u4,too,many,columns\n"  # 7
    ),
    "messages.csv": (
        b"id,space,parent,author,date,kind,text,files\n"
        b"m1,s1,,u1,01/02/2024 10:00,post,hello,\n"  # 2
        b"m2,,m1,ghost,01/02/2024 10:01,comment,reply by an unknown author,\n"  # 3
        b'm3,,lost,u1,32/02/2024 10:02,reply,"to a parent no row defines",nofile\n'  # 4: bad date, kind
        b'm4,s1,,u1,01/02/2024 10:03,post,"a "quote" inside",\n'  # 5: broken quoting
        b'm5,s1,,u1,01/02/2024 10:04,post,"never closed,\n'  # 6: the quote never closes
        b"m6,s1,m7,u1,01/02/2024 10:05,post,cycle one,\n"  # 7
        b"m7,s1,m6,u1,01/02/2024 10:06,post,cycle two,\n"  # 8
        b"m1,s1,,u1,01/02/2024 10:07,post,same id again,\n"  # 9
        b"m8,,,u1,01/02/2024 10:08,post,no space at all,\n"  # 10
    ),
    "reactions.csv": (
        b"item,person,emoji\n"
        b"m1,u1,\n"  # 2: no emoji
        b"nowhere,u1,heart\n"  # 3: an item no row defines
        b"m1,u2,heart\n"
    ),
    "files.csv": b"id,path,size\nf1,absent.bin,12 kB\n",  # 2: no such bytes; not a number
    "empty.csv": b"",
    "notes.txt": b"not mapped\n",
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    source = tmp / "export"
    source.mkdir()
    for name, data in HOSTILE.items():
        (source / name).write_bytes(data)
    (source / MAPPING_NAME).write_text(HOSTILE_MAPPING)
    return ingest_verified(source, tmp / "archive")


def test_every_row_not_read_is_said_at_its_line(hostile: Path) -> None:
    said = rows(hostile, 'SELECT code, "where", dropped FROM diagnostics ORDER BY "where", code')
    assert said == [
        ("csv.empty_file", "empty.csv", None),
        ("csv.bad_number", "files.csv#2", None),  # "12 kB"
        ("csv.file_missing", "files.csv#2", None),  # absent.bin
        ("csv.unknown_space", "messages.csv#2", None),  # s1: no spaces file
        ("csv.unknown_person", "messages.csv#3", None),  # ghost
        ("csv.bad_date", "messages.csv#4", None),  # 32/02
        ("csv.no_space", "messages.csv#4", None),  # its parent is nowhere: the file's own space
        ("csv.unknown_file", "messages.csv#4", None),  # nofile
        ("csv.unknown_item", "messages.csv#4", None),  # lost
        ("csv.unknown_value", "messages.csv#4", None),  # kind "reply"
        ("csv.broken_quoting", "messages.csv#5", "row"),  # "a "quote" inside"
        ("csv.broken_quoting", "messages.csv#6", "row"),  # "never closed
        ("csv.reply_cycle", "messages.csv#7", None),  # m6 -> m7 -> m6
        ("csv.duplicate_id", "messages.csv#9", "row"),  # m1 again
        ("source.unrecognised_entry", "notes.txt", None),
        ("csv.mapping", MAPPING_NAME, None),
        ("csv.missing_field", "reactions.csv#2", "row"),  # no emoji
        ("csv.no_space", "reactions.csv#3", None),
        ("csv.unknown_item", "reactions.csv#3", None),  # nowhere
        ("csv.unknown_value", "users.csv#3", None),  # peut-etre
        ("csv.duplicate_id", "users.csv#4", "row"),  # u1 again
        ("csv.undecodable", "users.csv#5", None),  # caf\xe9
        ("csv.column_count", "users.csv#7", "row"),  # 4 columns
    ]


def test_rows_kept_in_diagnostics_keep_their_bytes(hostile: Path) -> None:
    kept = dict(rows(hostile, "SELECT \"where\", raw FROM diagnostics WHERE dropped = 'row'"))
    assert kept["users.csv#7"] == b"u4,too,many,columns\n"
    assert kept["messages.csv#6"] == b'm5,s1,,u1,01/02/2024 10:04,post,"never closed,\n'
    assert kept["users.csv#4"] == b"u1,alice again,true\n"
    [(raw,)] = rows(hostile, "SELECT raw FROM diagnostics WHERE code = 'csv.undecodable'")
    assert raw == b"u3,caf\xe9,no\n"
    [(name, raw)] = rows(hostile, "SELECT name, raw FROM persons WHERE native_id = 'u3'")
    assert name == "café" and json.loads(raw) == "u3,café,no"


def test_a_quote_that_never_closes_costs_its_line_only(hostile: Path) -> None:
    """The lines after it are rows again: m6, m7, the second m1, m8 are read."""
    natives = {n for (n,) in rows(hostile, "SELECT native_id FROM items WHERE subtype IS NULL")}
    assert natives == {"m1", "m2", "m3", "m6", "m7", "m8"}


def test_placeholders(hostile: Path) -> None:
    [ghost] = rows(
        hostile, "SELECT id, native_id, is_placeholder, origin, raw FROM persons WHERE native_id = 'ghost'"
    )
    assert ghost == (ids.person_id("p", "ghost"), "ghost", 1, "messages.csv#3", None)
    [(entity,)] = rows(hostile, "SELECT entity_id FROM diagnostics WHERE code = 'csv.unknown_person'")
    assert entity == ghost[0]
    placeholders = rows(
        hostile,
        "SELECT i.native_id, i.subtype, i.body_source, s.native_id, i.origin FROM items i"
        " JOIN spaces s ON s.id = i.space_id WHERE i.subtype = 'placeholder' ORDER BY 1",
    )
    assert placeholders == [
        ("lost", "placeholder", None, "file:messages.csv", "messages.csv#4"),
        ("nowhere", "placeholder", None, "file:reactions.csv", "reactions.csv#3"),
    ]
    m3 = rows(hostile, "SELECT parent_id, thread_root_id, kind, created_at FROM items WHERE native_id = 'm3'")
    lost = ids.item_id("p", ITEMS, "lost")
    assert m3 == [(lost, lost, "message", None)]  # unknown kind: the default; bad date: none
    [(missing,)] = rows(hostile, "SELECT missing_reason FROM files WHERE native_id = 'nofile'")
    assert missing and "no row defines" in missing


def test_cycles_are_cut_and_the_other_rows_placed(hostile: Path) -> None:
    got = {n: (p, r) for n, p, r in rows(hostile, "SELECT native_id, parent_id, thread_root_id FROM items")}
    m6, m7 = ids.item_id("p", ITEMS, "m6"), ids.item_id("p", ITEMS, "m7")
    assert got["m6"] == (m7, None)  # cut here: a root
    assert got["m7"] == (m6, m6)
    [(space,)] = rows(
        hostile, "SELECT s.native_id FROM items i JOIN spaces s ON s.id = i.space_id WHERE i.native_id = 'm8'"
    )
    assert space == "file:messages.csv"
    [(kind, visibility)] = rows(hostile, "SELECT kind, visibility FROM spaces WHERE native_id = 's1'")
    assert (kind, visibility) == ("private_channel", "private")  # used, never defined: private


def test_a_row_too_large_is_set_aside_as_a_blob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_reader, "MAX_ROW", 200)
    monkeypatch.setattr(csv_verify, "MAX_ROW", 200)
    source = tmp_path / "export"
    source.mkdir()
    big = "x" * 500
    (source / "users.csv").write_text(
        f'id,name,bot\nu1,{big},false\nu2,"{big[:150]}\n{big[:150]}",false\nu3,c,true\n'
    )
    (source / MAPPING_NAME).write_text(HOSTILE_MAPPING.split('[[file]]\npath = "messages.csv"')[0])
    archive = ingest_verified(source, tmp_path / "archive")
    said = rows(
        archive,
        'SELECT code, "where", dropped, message FROM diagnostics WHERE dropped IS NOT NULL ORDER BY 2',
    )
    assert [s[:3] for s in said] == [
        ("csv.too_large", "users.csv#2", "row"),
        ("csv.broken_quoting", "users.csv#3", "row"),  # over the limit across lines: its first line
        ("csv.column_count", "users.csv#4", "row"),  # the rest of it, read again
    ]
    assert "blob sha256:" in said[0][3]
    assert [n for (n,) in rows(archive, "SELECT native_id FROM persons")] == ["u3"]


# -- the Rocket.Chat CSV importer's fixtures ----------------------------------------------------------------------
ROCKETCHAT_MAPPING = """\
version = 1
platform = "rocketchat"

[[file]]
path = "csv_import_users.csv"     # username, email, name (a space after each comma)
entity = "persons"
header = false
skip_initial_space = true
[file.columns]
id = 1
name = 1
email = 2
display_name = 3

[[file]]
path = "csv_import_rooms.csv"     # name, creator, public|private, members ';'-separated
entity = "spaces"
header = false
[file.columns]
id = 1
name = 1
creator = 2
visibility = 3
members = 4
[file.lists]
members = ";"

[[file]]
path = "dm_messages.csv"          # from, to, time in milliseconds, text
entity = "items"
header = false
dates = "epoch_ms"
[file.columns]
author = 1
to = 2
created_at = 3
body = 4

[[file]]
path = "slack_export_users.csv"   # a Slack admin users export, with a header
entity = "persons"
[file.columns]
id = "userid"
name = "username"
email = "email"
real_name = "fullname"
display_name = "displayname"
title = "status"
"""


def test_rocketchat_samples_ingest_with_a_hand_written_mapping(tmp_path: Path) -> None:
    folder = sample("rocketchat/csv-importer")
    mapping = tmp_path / "rocketchat.toml"
    mapping.write_text(ROCKETCHAT_MAPPING)
    csvs = sorted(folder.glob("*.csv"))
    result = run(
        "ingest", *map(str, csvs), "--from", "csv", "--mapping", str(mapping), "-o", str(tmp_path / "a")
    )
    assert result.exit_code == 0, result.output
    archive = tmp_path / "a"
    with Archive.open(archive) as opened:
        report = verify(opened, folder)  # the files given one by one are found among the folder's
    assert report.ok, report.problems
    persons = rows(archive, "SELECT native_id, name, email, display_name FROM persons ORDER BY native_id")
    assert persons == [
        ("U03TVFGMH", "user6.test", "user6@email.com.br", None),
        ("U03TVFGMHUY", "user4.test", "user4@email.com.br", None),
        ("U0G9QF9C6", "user5.test", "user5@email.com.br", None),
        ("billy.bob", "billy.bob", "billy.bob@example.com", "Billy Bob Jr."),
        ("billy.joe", "billy.joe", "billy.joe@example.com", "Billy Joe Jr."),
    ]
    spaces = rows(archive, "SELECT native_id, kind, visibility FROM spaces ORDER BY native_id")
    assert spaces == [
        ("direct:billy.bob,billy.joe", "direct_message", "private"),
        ("imported-csv-channel", "public_channel", "public"),
        ("imported-csv-channel-with-members", "public_channel", "public"),
        ("imported-csv-group", "private_channel", "private"),
        ("imported-csv-group-with-members", "private_channel", "private"),
    ]
    members = rows(
        archive,
        "SELECT s.native_id, count(*) FROM memberships m JOIN spaces s ON s.id = m.space_id GROUP BY 1 ORDER BY 1",
    )
    assert members == [
        ("direct:billy.bob,billy.joe", 2),
        ("imported-csv-channel-with-members", 2),
        ("imported-csv-group-with-members", 2),
    ]
    messages = rows(archive, "SELECT native_id, created_at, body_source FROM items ORDER BY created_at")
    assert messages == [
        ("dm_messages.csv#1", 1479162481336000, "this is a test message"),
        ("dm_messages.csv#2", 1479162481654000, "this is another message, a test message"),
    ]
    assert rows(archive, "SELECT code FROM diagnostics") == [("csv.mapping",)]


# -- how a source is given -----------------------------------------------------------------------------------------
def test_a_mapping_beside_the_files_and_several_files_as_one_source(tmp_path: Path) -> None:
    dialect = DIALECTS[0]
    source = write_export(tmp_path / "export", dialect, inside=False)
    mapping = tmp_path / "export.toml"
    files = sorted(p for p in source.rglob("*") if p.is_file())
    result = run(
        "ingest", *map(str, files), "--from", "csv", "--mapping", str(mapping), "-o", str(tmp_path / "a")
    )
    assert result.exit_code == 0, result.output
    [(path, reader)] = rows(tmp_path / "a", "SELECT path, reader FROM sources")
    assert (Path(path), reader) == (source, "csv")
    ingest_verified(write_export(tmp_path / "inside", dialect), tmp_path / "b")
    assert content(tmp_path / "a") == content(tmp_path / "b")
    with Archive.open(tmp_path / "a") as opened:
        assert verify(opened, source).ok


def test_another_mapping_is_another_source(tmp_path: Path) -> None:
    source = write_export(tmp_path / "export", DIALECTS[0], inside=False)
    mapping = tmp_path / "export.toml"
    [first] = ingest([source], tmp_path / "a", format="csv", options={"mapping": mapping})
    [again] = ingest([source], tmp_path / "a", format="csv", options={"mapping": mapping})
    assert again.status == "already ingested"
    edited = tmp_path / "edited.toml"
    edited.write_text(mapping.read_text().replace('platform = "intranet"', 'platform = "other"'))
    [other] = ingest([source], tmp_path / "a", format="csv", options={"mapping": edited})
    assert other.status == "ingested" and other.source_id != first.source_id
    assert rows(tmp_path / "a", "SELECT count(*) FROM persons WHERE platform = 'other'") == [(4,)]


def test_detection_needs_the_mapping_inside(tmp_path: Path) -> None:
    source = write_export(tmp_path / "export", DIALECTS[0])
    for inside in (True, False):
        if not inside:
            (source / MAPPING_NAME).unlink()
        tree = SourceTree.open(source)
        try:
            assert CsvReader.detect(tree) == inside
        finally:
            tree.close()
    result = run("ingest", str(source), "--from", "csv", "-o", str(tmp_path / "a"))
    assert result.exit_code == 2 and "--mapping" in result.output
    assert not (tmp_path / "a").exists()


def test_mapping_only_with_from_csv(tmp_path: Path) -> None:
    source = write_export(tmp_path / "export", DIALECTS[0], inside=False)
    result = run("ingest", str(source), "--mapping", str(tmp_path / "export.toml"), "-o", str(tmp_path / "a"))
    assert result.exit_code == 2 and "only valid with --from csv" in result.output
    with pytest.raises(BadInputError, match="takes no option 'mapping'"):
        ingest([source], tmp_path / "b", format="slack", options={"mapping": tmp_path / "export.toml"})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('body = "text"', 'body = "texte"'), r"column 'texte' \(body\) is not in its header row"),
        (('path = "files.csv"', 'path = "fichiers.csv"'), r"'fichiers.csv' \(files\) names no file"),
        (('platform = "p"', 'platfrom = "p"'), "platfrom: unknown key"),
    ],
)
def test_a_mapping_that_does_not_fit_is_refused_before_anything_is_written(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    source = tmp_path / "export"
    source.mkdir()
    for name, data in HOSTILE.items():
        (source / name).write_bytes(data)
    (source / MAPPING_NAME).write_text(HOSTILE_MAPPING.replace(*change))
    with pytest.raises(BadInputError, match=expected):
        ingest([source], tmp_path / "a", format="csv")
    assert not (tmp_path / "a").exists()


def test_a_zip_reads_like_its_folder(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export", DIALECTS[2])
    zipped = write_export(tmp_path / "export.zip", DIALECTS[2], layout="zip")
    a = ingest_verified(folder, tmp_path / "a")
    b = ingest_verified(zipped, tmp_path / "b")
    assert content(a) == content(b)


# -- the archive's own CSV export, read back ---------------------------------------------------------------------
@pytest.mark.parametrize("dialect", ["rfc4180", "excel-fr"])
def test_the_csv_export_of_an_archive_reads_back_the_same(tmp_path: Path, dialect: str) -> None:
    from tests.conformance.test_writer_conformance import canonical_content
    from tests.mastodon_builder import ZIP_NAME, build_feature_archive

    first = tmp_path / "first"
    ingest([build_feature_archive(tmp_path / ZIP_NAME)], first)
    ingest([write_export(tmp_path / "csv", DIALECTS[1])], first, format="csv")
    out = tmp_path / "out"
    export(first, "csv", out, options={"dialect": dialect})
    second = tmp_path / "second"
    ingest([out], second, format="csv")  # the mapping inside: passerelle-mapping.toml
    with Archive.open(second) as opened:
        report = csv_verify.verify_csv(opened, out)  # (verify OUT alone checks the export's fidelity)
    assert report.ok, report.problems
    assert canonical_content(second) == canonical_content(first)


def test_reading_is_deterministic_and_idempotent(tmp_path: Path) -> None:
    source = write_export(tmp_path / "export", DIALECTS[4], extra=50)
    ingest([source], tmp_path / "a", format="csv")
    ingest([source], tmp_path / "b", format="csv")
    assert canonical_dump(tmp_path / "a") == canonical_dump(tmp_path / "b")
    shutil.rmtree(tmp_path / "b")


def test_a_run_interrupted_in_any_unit_finishes_as_a_clean_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Units of 7 rows, a crash after each tenth of the rows in turn: a second run gives the
    archive a clean run gives (placeholders and spaces decided by the first pass, not by order)."""
    from passerelle.archive.writer import ArchiveWriter

    monkeypatch.setattr(csv_reader, "CHUNK_ROWS", 7)
    source = tmp_path / "export"
    write_export(source, DIALECTS[0], extra=40)
    (source / "messages.csv").write_bytes(
        (source / "messages.csv").read_bytes() + b"z1,,ghost-parent,ghost,2024-02-12T12:00:00+00:00,,,\r\n"
    )
    ingest([source], tmp_path / "clean", format="csv")
    clean = canonical_dump(tmp_path / "clean")
    with Archive.open(tmp_path / "clean") as opened:
        total = sum(table_counts(opened.store).values())
    original = ArchiveWriter.add_row
    monkeypatch.setattr(ArchiveWriter.__init__, "__kwdefaults__", {"batch_size": 10_000, "commit_every": 1})
    for tenth in range(1, 10):
        written, limit = 0, total * tenth // 10

        def crash(self: ArchiveWriter, table: str, row: tuple[Any, ...], limit: int = limit) -> None:
            nonlocal written
            written += 1
            if written > limit:
                raise KeyboardInterrupt
            original(self, table, row)

        monkeypatch.setattr(ArchiveWriter, "add_row", crash)
        with pytest.raises(KeyboardInterrupt):
            ingest([source], tmp_path / f"run{tenth}", format="csv")
        monkeypatch.setattr(ArchiveWriter, "add_row", original)
        [again] = ingest([source], tmp_path / f"run{tenth}", format="csv")
        assert again.status == "resumed"
        assert canonical_dump(tmp_path / f"run{tenth}") == clean, tenth


@settings(ARCHIVE_SETTINGS, max_examples=20)
@given(content=archive_contents())
def test_any_archive_reads_back_from_its_csv_export(content: ArchiveContent) -> None:
    """Exact fields over generated archives (odd ids, the empty text beside NULL, raw records
    that are not UTF-8, times outside the calendar, several platforms, one native id under
    several archive ids): archive → CSV → archive is the identity, and verify agrees."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_archive(root / "archive", content)
        export(root / "archive", "csv", root / "out")
        ingest([root / "out"], root / "back", format="csv")
        back = content_with_raw(root / "back")
        assert back == content_with_raw(root / "archive")
        with Archive.open(root / "back") as opened:
            report = csv_verify.verify_csv(opened, root / "out")
        assert report.ok, report.problems[:5]


def content_with_raw(archive: Path) -> dict[str, list[tuple[Any, ...]]]:
    with Archive.open(archive) as opened:
        store = opened.store
        tables = (
            "persons",
            "spaces",
            "memberships",
            "items",
            "reactions",
            "files",
            "item_files",
            "revisions",
        )
        return {
            table: sorted(
                store.query(
                    f"SELECT {', '.join(c for c in store.columns(table) if c not in ('origin', 'source_id'))}"
                    f" FROM {table}"
                ),
                key=repr,
            )
            for table in tables
        }


def test_a_hostile_zip_is_read_entry_by_entry(tmp_path: Path) -> None:
    """Names climbing out of the zip are refused and said; everything else is read."""
    files = {MAPPING_NAME: HOSTILE_MAPPING.encode(), **{k: v for k, v in HOSTILE.items() if k != "notes.txt"}}
    files["../outside.csv"] = b"id,name,bot\nu9,evil,false\n"
    files["/etc/passwd.csv"] = b"root\n"
    zipped = tmp_path / "hostile.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    archive = ingest_verified(zipped, tmp_path / "archive")
    said = rows(
        archive, "SELECT code, \"where\", dropped FROM diagnostics WHERE code LIKE 'source.%' ORDER BY 2"
    )
    assert said == [
        ("source.unsafe_path", "../outside.csv", "entry"),
        ("source.unsafe_path", "/etc/passwd.csv", "entry"),
    ]
    assert rows(archive, "SELECT count(*) FROM persons WHERE native_id = 'u9'") == [(0,)]


@pytest.mark.parametrize(
    ("entity", "columns", "data"),
    [
        ("items", "body = 2", b',",\t",\r\n""\r\n""\r\n""\r\n'),
        ("persons", "id = 2\ndisplay_name = 2", b',",\t"\r\n""\r\n""\r\n'),
    ],
)
def test_a_file_refused_at_its_first_row_stays_refused_on_the_second_pass(
    entity: str, columns: str, data: bytes, tmp_path: Path
) -> None:
    """A quote that never closes leaves a first row too short for the mapping: the file is
    refused, on both passes (the first pass must not leave the refused columns settled)."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "t0.csv").write_bytes(data)
    (source / MAPPING_NAME).write_text(
        f'version = 1\nplatform = "csv"\n\n[[file]]\npath = "t0.csv"\nentity = "{entity}"\n'
        f'encoding = "utf-8"\ndelimiter = "\\t"\nheader = false\n\n[file.columns]\n{columns}\n'
    )
    ingest([source], tmp_path / "archive", format="csv")
    with Archive.open(tmp_path / "archive") as archive:
        codes = {r[0] for r in archive.store.query("SELECT code FROM diagnostics")}
        assert "csv.bad_header" in codes
        assert archive.store.scalar(f"SELECT count(*) FROM {entity}") == 0
        report = verify(archive, source)
    assert report.ok, report.problems
