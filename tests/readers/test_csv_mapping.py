"""The CSV mapping: every error names its key; dump_mapping writes TOML that reads back the same."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passerelle.errors import BadInputError
from passerelle.readers.csv_mapping import (
    FileMapping,
    Mapping,
    dump_mapping,
    field_kind,
    load_mapping,
    parse_mapping,
    toml_string,
)

DOCS_EXAMPLE = """\
version = 1
platform = "rocketchat"          # the platform the records are said to come from
timezone = "Europe/Paris"

[[file]]
path = "csv_import_users.csv"
entity = "persons"
encoding = "utf-8"
delimiter = ","
quote = '"'
header = false
skip_initial_space = true
dates = "epoch_ms"
decimal = "."

[file.columns]
id = 1
name = 1
email = 2
display_name = 3

[[file]]
path = "rooms/*.csv"
entity = "spaces"
header = false

[file.columns]
id = 1
creator = 2
visibility = 3
members = 4

[file.lists]
members = ";"

[file.values.visibility]
public = "public"
private = "private"
"" = "public"

[[file]]
path = "comments.csv"
entity = "items"
delimiter = "\\t"

[file.columns]
id = "Id"
body = "Contenu"

[file.constants]
kind = "comment"
"""


def parse(text: str) -> Mapping:
    return parse_mapping(text.encode(), "map.toml")


def test_the_documented_example_reads() -> None:
    mapping = parse(DOCS_EXAMPLE)
    assert (mapping.platform, mapping.timezone, mapping.version) == ("rocketchat", "Europe/Paris", 1)
    users, rooms, comments = mapping.files
    assert users.columns == {"id": 1, "name": 1, "email": 2, "display_name": 3}
    assert (users.header, users.skip_initial_space, users.dates) == (False, True, "epoch_ms")
    assert rooms.lists == {"members": ";"}
    assert rooms.values == {"visibility": {"public": "public", "private": "private", "": "public"}}
    assert rooms.matches("rooms/a.csv") and rooms.matches("rooms/x/b.csv") and not rooms.matches("a.csv")
    assert comments.delimiter == "\t" and comments.constants == {"kind": "comment"}
    assert (comments.encoding, comments.quote, comments.header) == ("utf-8", '"', True)  # defaults


def test_load_mapping_reads_a_file_and_says_when_it_cannot(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(DOCS_EXAMPLE, encoding="utf-8")
    assert load_mapping(path) == parse(DOCS_EXAMPLE)
    with pytest.raises(BadInputError, match="cannot be read"):
        load_mapping(tmp_path / "absent.toml")


_BASE = 'version = 1\n[[file]]\npath = "a.csv"\nentity = "items"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not toml = = 1", "not TOML"),
        ('[[file]]\npath = "a.csv"\nentity = "items"\n', "version: missing"),
        ('version = 2\n[[file]]\npath = "a.csv"\nentity = "items"\n', "version: 2"),
        ("version = 1\n", "file: at least one"),
        ('version = 1\ntimezone = "Mars/Olympus"\n' + _BASE[12:], "timezone: 'Mars/Olympus'"),
        ('version = 1\nplateform = "x"\n' + _BASE[12:], "plateform: unknown key"),
        ('version = 1\n[[file]]\nentity = "items"\n', r"file\[1\].path: missing"),
        ('version = 1\n[[file]]\npath = "../a.csv"\nentity = "items"\n', r"file\[1\].path: '../a.csv'"),
        ('version = 1\n[[file]]\npath = "/a.csv"\nentity = "items"\n', r"file\[1\].path"),
        ('version = 1\n[[file]]\npath = "a.csv"\nentity = "posts"\n', r"file\[1\].entity: 'posts'"),
        (_BASE + 'encoding = "ebcdic"\n', r"file\[1\].encoding: 'ebcdic'"),
        (_BASE + 'delimiter = ";;"\n', r"file\[1\].delimiter"),
        (_BASE + 'quote = ","\n', r"file\[1\].quote"),
        (_BASE + 'header = "yes"\n', r"file\[1\].header: must be true or false"),
        (_BASE + 'dates = "dd/mm/yyyy"\n', r"file\[1\].dates: 'dd/mm/yyyy'"),
        (_BASE + 'decimal = ";"\n', r"file\[1\].decimal"),
        (_BASE + 'separator = ";"\n', r"file\[1\].separator: unknown key"),
        (_BASE + "[file.columns]\nauthr = 2\n", r"file\[1\].columns.authr: items have no field 'authr'"),
        (_BASE + "[file.columns]\nauthor = 0\n", r"columns.author: 0: column numbers start at 1"),
        (_BASE + "[file.columns]\nauthor = true\n", r"columns.author: must be a column name"),
        (_BASE + '[file.columns]\nauthor = 2\nbody = "Body"\n', "by header or by number, not both"),
        (_BASE + 'header = false\n[file.columns]\nbody = "Body"\n', "names columns by number"),
        (
            _BASE + '[file.columns]\nbody = 2\n[file.lists]\nbody = ";"\n',
            "lists.body: 'body' holds one value",
        ),
        (_BASE + '[file.columns]\nbody = 2\n[file.lists]\nto = ";"\n', r"lists.to: 'to' is not in file\[1\]"),
        (_BASE + '[file.columns]\nkind = 2\n[file.values.kind]\nx = "reply"\n', r"values.kind.x: 'reply'"),
        (
            _BASE + '[file.columns]\nbody = 2\n[file.values.kind]\nx = "post"\n',
            "values.kind: 'kind' is not in",
        ),
        (_BASE + '[file.columns]\nkind = 2\n[file.constants]\nkind = "post"\n', "also in file"),
        (_BASE + '[file.constants]\npinned = "perhaps"\n', "'perhaps' is not a boolean"),
        (_BASE + "[file.constants]\ntitle = 3\n", "must be a string for items.title"),
        ('version = 1\n[[file]]\npath = "a.csv"\nentity = "reactions"\n', "reactions need item or item_id"),
    ],
)
def test_each_mistake_is_named_by_its_key(text: str, expected: str) -> None:
    with pytest.raises(BadInputError, match=expected) as caught:
        parse(text)
    assert str(caught.value).startswith("map.toml: ")


def test_fields_include_the_exact_fields_of_each_table() -> None:
    assert field_kind("items", "body_refs") == "json"
    assert field_kind("persons", "is_placeholder") == "bool"
    assert field_kind("files", "sha256") == "text"
    assert field_kind("memberships", "source_id") == "text"  # accepted, ignored
    assert field_kind("memberships", "raw") is None  # memberships have no raw record
    assert field_kind("items", "members") is None
    assert field_kind("reactions", "empty_fields") == "field_list"


def test_dump_is_commented_deterministic_and_reads_back() -> None:
    mapping = parse(DOCS_EXAMPLE)
    text = dump_mapping(mapping)
    assert text == dump_mapping(parse(DOCS_EXAMPLE))
    assert parse(text) == mapping
    assert "# utf-8 | utf-8-sig" in text and "[file.values.visibility]" in text
    assert 'delimiter = "\\t"' in text


def test_dump_writes_the_notes_and_comments_it_is_given() -> None:
    mapping = Mapping(
        files=(
            FileMapping(
                path="messages.csv",
                entity="items",
                encoding="cp1252",
                delimiter=";",
                dates="%d/%m/%Y %H:%M",
                decimal=",",
                columns={"author": "auteur", "created_at": "date_creation", "body": "contenu"},
                comment="messages: author, date and text (high)\nsecond line",
                notes={"encoding": "bytes 0x80-0x9F: € and œ\nseen", "columns.author": "refers to users.csv"},
            ),
        ),
        platform="export",
        timezone="Europe/Paris",
        comment="proposed by csv guess",
    )
    text = dump_mapping(mapping)
    assert text.startswith("# proposed by csv guess\n")
    assert "# messages: author, date and text (high)\n# second line\n[[file]]" in text
    assert 'encoding = "cp1252"  # bytes 0x80-0x9F: € and œ seen\n' in text
    assert 'author = "auteur"  # refers to users.csv\n' in text
    back = parse(text)
    assert back == Mapping(
        files=(FileMapping(**{**mapping.files[0].__dict__, "comment": "", "notes": {}}),),
        platform="export",
        timezone="Europe/Paris",
    )


@given(st.text())
def test_toml_strings_read_back_exactly(value: str) -> None:
    value = value.encode("utf-8", "replace").decode("utf-8", "replace")
    assert tomllib.loads(f"x = {toml_string(value)}")["x"] == value


@given(st.dictionaries(st.text(min_size=0, max_size=8), st.text(max_size=8), max_size=4))
def test_any_values_table_reads_back(values: dict[str, str]) -> None:
    values = {k.encode("utf-8", "replace").decode(): "public" for k in values}
    mapping = Mapping(
        files=(
            FileMapping(
                path="a b/é*.csv",
                entity="spaces",
                columns={"visibility": "Visibilité", "name": "Nom"},
                values={"visibility": dict(values)} if values else {},
            ),
        )
    )
    assert parse(dump_mapping(mapping)) == mapping
