"""The Mattermost bulk-export reader: the shared sample, feature by feature, and hostile lines."""

from __future__ import annotations

import functools
import hashlib
import json
import random
import zipfile
from pathlib import Path
from typing import Any

import pytest

from passerelle.archive import Archive
from passerelle.archive.writer import ArchiveWriter
from passerelle.errors import BadInputError
from passerelle.info import archive_info
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.readers import mattermost
from passerelle.verify import verify
from tests.helpers import canonical_dump, diagnostics, ingest_verified, rows, sample
from tests.mattermost_builder import (
    FEATURE_FILES,
    PDF,
    PNG,
    T0,
    VERSION,
    build_export,
    channel,
    direct_post,
    emoji,
    encode,
    feature_lines,
    membership,
    post,
    reaction,
    record,
    reply,
    team,
    user,
)

SAMPLE = "mattermost/zulip-fixtures/export.json"
BASE = [VERSION, team("acme"), channel("acme", "general"), user("ada", membership("acme", "general"))]


def ingest_lines(tmp_path: Path, lines: list[Any], files: dict[str, bytes] | None = None) -> Path:
    return ingest_verified(tmp_path, build_export(tmp_path / "export", lines, files))


def item(archive: Path, space: str, native: str) -> dict[str, Any]:
    with Archive.open(archive) as opened:
        cursor = opened.store.conn.execute(
            "SELECT * FROM items WHERE id = ?", (ids.item_id("mattermost", space, native),)
        )
        row = cursor.fetchone()
        assert row is not None, (space, native)
        return dict(zip([d[0] for d in cursor.description], row, strict=True))


# -- the shared sample --------------------------------------------------------------------------------
def test_the_zulip_fixture_export_is_read_exactly(tmp_path: Path) -> None:
    source = sample(SAMPLE)
    archive = ingest_verified(tmp_path, source)
    with Archive.open(archive) as opened:
        info = archive_info(opened.store)
    # Counted from the file: 2 teams, 5 channels, 5 users, 20 posts (one with a reply; 7 with
    # 9 reactions between them), 2 custom emoji whose images are not in the sample.
    assert info["counts"] == {
        "persons": 5,
        "spaces": 8,  # 2 teams, 5 channels, and a channel the export never defines
        "memberships": 16,  # 5 team memberships, 11 channel memberships
        "items": 21,
        "thread_roots": 1,
        "thread_replies": 1,
        "reactions": 9,
        "files": 2,
        "files_with_content": 0,
        "revisions": 0,
        "references": 2,  # @ron and :rofl:
    }
    assert info["by_code"] == {"mattermost.file_not_in_export": 2, "mattermost.unknown_channel": 1}
    assert diagnostics(archive) == [
        ("mattermost.file_not_in_export", "export.json#34", None),
        ("mattermost.file_not_in_export", "export.json#35", None),
        # snape posts in team gryffindor's "slytherin-quidditch-team", which only slytherin has.
        ("mattermost.unknown_channel", "export.json#33", None),
    ]
    lines = sample(SAMPLE).read_bytes().splitlines()
    assert len(lines) == 35
    with Archive.open(archive) as opened:
        raws = {r[0]: r[1] for r in opened.store.query("SELECT origin, raw FROM items")}
    assert raws["export.json#14"] == lines[13]  # a post's raw is its line, byte for byte


def test_the_zulip_fixture_details(tmp_path: Path) -> None:
    archive = ingest_verified(tmp_path, sample(SAMPLE))
    assert rows(archive, "SELECT name, real_name, display_name, email, is_guest FROM persons WHERE native_id = 'harry'") == [
        ("harry", "Harry Potter", None, "harry@zulip.com", 0)
    ]  # fmt: skip
    assert rows(archive, "SELECT real_name FROM persons WHERE native_id = 'malfoy'") == [(None,)]
    assert sorted(rows(archive, "SELECT native_id, kind, visibility, display_name, parent_id FROM spaces")) == sorted([
        ("gryffindor", "workspace", "public", "Iago Realm", None),
        ("slytherin", "workspace", "public", "Othello Team", None),
        ("gryffindor/gryffindor-common-room", "public_channel", "public", "Gryffindor common room",
         ids.space_id("mattermost", "gryffindor")),
        ("gryffindor/gryffindor-quidditch-team", "public_channel", "public", "Gryffindor quidditch team",
         ids.space_id("mattermost", "gryffindor")),
        ("gryffindor/dumbledores-army", "private_channel", "private", "Dumbledores army",
         ids.space_id("mattermost", "gryffindor")),
        ("slytherin/slytherin-common-room", "public_channel", "public", "Slytherin common room",
         ids.space_id("mattermost", "slytherin")),
        ("slytherin/slytherin-quidditch-team", "public_channel", "public", "Slytherin quidditch team",
         ids.space_id("mattermost", "slytherin")),
        ("gryffindor/slytherin-quidditch-team", "private_channel", "private", None,
         ids.space_id("mattermost", "gryffindor")),
    ])  # fmt: skip
    assert rows(
        archive,
        "SELECT role FROM memberships WHERE person_id = ? AND space_id = ?",
        (ids.person_id("mattermost", "harry"), ids.space_id("mattermost", "gryffindor")),
    ) == [("admin",)]
    # The reply is earlier than its root, and still in its thread.
    root = item(archive, "gryffindor/dumbledores-army", "1553166657086:harry")
    answer = item(archive, "gryffindor/dumbledores-army", "1553166584976:ron")
    assert answer["created_at"] < root["created_at"]
    assert answer["thread_root_id"] == answer["parent_id"] == root["id"]
    assert json.loads(answer["raw"]) == {
        "user": "ron",
        "message": "The weather is so hot!",
        "create_at": 1553166584976,
    }
    mention = item(archive, "gryffindor/gryffindor-quidditch-team", "1553166519726:harry")
    assert json.loads(mention["body_refs"]) == [
        {"kind": "person", "target": "ron", "target_id": ids.person_id("mattermost", "ron"), "label": None}
    ]
    assert rows(
        archive, "SELECT native_id, name, title, missing_reason IS NOT NULL FROM files ORDER BY 1"
    ) == [
        ("emoji:peerdium", "peerdium", "peerdium", 1),
        ("emoji:tick", "tick", "tick", 1),
    ]


@pytest.mark.parametrize("name", ["v11_sample_post_with_replies.json", "v11_sample_direct_post.json"])
def test_a_pretty_printed_object_is_not_an_export(tmp_path: Path, name: str) -> None:
    """Mattermost reads one object per line; a pretty-printed object is refused as it would be."""
    source = sample(f"mattermost/zulip-fixtures/{name}")
    with pytest.raises(BadInputError, match="not a format passerelle reads"):
        ingest([source], tmp_path / "archive")
    ingest([source], tmp_path / "archive", format="mattermost")
    lines = [line for line in source.read_bytes().splitlines() if line.strip()]
    found = diagnostics(tmp_path / "archive")
    assert [d for d in found if d[0] == "mattermost.invalid_json"] == sorted(
        ("mattermost.invalid_json", f"{name}#{n}", "line") for n in range(1, len(lines) + 1)
    )
    assert ("mattermost.bad_version", f"{name}#1", None) in found
    with Archive.open(tmp_path / "archive") as archive:
        assert archive.store.scalar("SELECT count(*) FROM items") == 0
        # Every line is kept, verbatim, in its diagnostic.
        kept = archive.store.query("SELECT raw FROM diagnostics WHERE code = 'mattermost.invalid_json'")
    assert sorted(r[0] for r in kept) == sorted(lines)


@pytest.mark.parametrize("name", ["v11_sample_post_with_replies.json", "v11_sample_direct_post.json"])
def test_the_v11_samples_as_lines_of_an_export(tmp_path: Path, name: str) -> None:
    """The v11.1.0 objects, one to a line as mmctl writes them: nulls, edit_at 0, unsorted replies."""
    line = json.loads(sample(f"mattermost/zulip-fixtures/{name}").read_bytes())
    archive = ingest_lines(tmp_path, [VERSION, line])
    kind = line["type"]
    body = line[kind]
    space = "ad-1/amet-0" if kind == "post" else "direct:adam.torres,eugene.montgomery,rebecca.diaz"
    root = item(archive, space, f"{body['create_at']}:{body['user']}")
    assert root["edited_at"] is None  # edit_at 0 is no edit
    assert root["subtype"] is None  # type "" is no type
    assert json.loads(root["raw"]) == line
    replies = body["replies"] or []
    assert [r["create_at"] for r in replies] != sorted(r["create_at"] for r in replies) or not replies
    for r in replies:
        answer = item(archive, space, f"{r['create_at']}:{r['user']}")
        assert answer["thread_root_id"] == root["id"]
    assert rows(archive, "SELECT count(*) FROM items") == [(1 + len(replies),)]
    if kind == "direct_post":
        assert rows(archive, "SELECT kind FROM spaces") == [("group_message",)]
        assert len(rows(archive, "SELECT * FROM memberships")) == 3
    # Every author is used but never defined: a placeholder each, said once, where first used.
    placeholders = rows(archive, "SELECT native_id FROM persons WHERE is_placeholder = 1")
    assert len(placeholders) == len(
        {body["user"], *(r["user"] for r in replies), *body.get("channel_members", [])}
    )
    assert {d[0] for d in diagnostics(archive)} <= {"mattermost.unknown_user", "mattermost.unknown_channel",
                                                    "mattermost.unknown_team"}  # fmt: skip


# -- features -------------------------------------------------------------------------------------------
@pytest.fixture
def features(tmp_path: Path) -> Path:
    return ingest_lines(tmp_path, feature_lines(), FEATURE_FILES)


def test_persons(features: Path) -> None:
    assert sorted(
        rows(features, "SELECT native_id, name, display_name, real_name, email, title, is_bot, is_deleted,"
             " is_guest, is_placeholder FROM persons")
    ) == [
        ("ada", "ada", "Countess", "Ada Lovelace", "ada@example.org", "Engineer", 0, 0, 0, 0),
        ("bob", "bob", None, "Bob", "bob@example.org", None, 0, 1, 0, 0),
        ("deploybot", "deploybot", "Deploy Bot", None, None, None, 1, 0, 0, 0),
        ("gus", "gus", None, None, "gus@example.org", None, 0, 0, 1, 0),
    ]  # fmt: skip


def test_spaces_and_memberships(features: Path) -> None:
    acme = ids.space_id("mattermost", "acme")
    spaces = {r[0]: r[1:] for r in rows(features, "SELECT native_id, kind, visibility, name, display_name,"
                                                  " topic, purpose, parent_id, is_archived FROM spaces")}  # fmt: skip
    assert spaces["acme"] == ("workspace", "public", "acme", "ACME Corp", None, "Where it happens", None, 0)
    assert spaces["secret"][:2] == ("workspace", "private")
    assert spaces["acme/town-square"] == (
        "public_channel", "public", "town-square", "Town-Square", "Welcome", "Everything", acme, 0
    )  # fmt: skip
    assert spaces["acme/ops"][:2] == ("private_channel", "private")
    assert spaces["acme/old"][-1] == 1
    assert spaces["direct:ada,bob"] == ("direct_message", "private", None, None, None, None, None, 0)
    assert spaces["direct:ada"][:2] == ("direct_message", "private")  # a DM to oneself
    assert spaces["direct:ada,bob,gus"][:2] == ("group_message", "private")
    assert spaces["direct:ada,bob,gus"][4] == "trio"
    members = {
        (s, p, role)
        for s, p, role in rows(
            features,
            "SELECT s.native_id, p.native_id, m.role FROM memberships m JOIN spaces s ON s.id = m.space_id"
            " JOIN persons p ON p.id = m.person_id",
        )
    }
    assert ("acme", "ada", "admin") in members and ("acme/ops", "ada", "admin") in members
    assert ("acme/town-square", "bob", "member") in members and ("secret/plans", "ada", "member") in members
    assert {p for s, p, _ in members if s == "direct:ada,bob,gus"} == {"ada", "bob", "gus"}
    assert {p for s, p, _ in members if s == "direct:ada"} == {"ada"}
    assert len(members) == 16


def test_posts_replies_and_threads(features: Path) -> None:
    root = item(features, "acme/town-square", f"{T0}:ada")
    assert root["created_at"] == T0 * 1000 and root["created_native"] == str(T0)
    assert (root["edited_at"], root["edited_native"]) == ((T0 + 500) * 1000, str(T0 + 500))
    assert root["pinned"] == 1 and root["kind"] == "message" and root["thread_root_id"] is None
    assert root["body_format"] == "mattermost-markdown" and root["body_text"] == root["body_source"]
    assert [(r["kind"], r["target"], r["target_id"]) for r in json.loads(root["body_refs"])] == [
        ("person", "bob", ids.person_id("mattermost", "bob")),
        ("broadcast", "here", None),
        ("space", "ops", ids.space_id("mattermost", "acme/ops")),
        ("link", "https://example.org", None),
        ("emoji", "tada", None),
    ]
    # Replies in the order the export lists them, whatever their times; each in the thread.
    for native in (f"{T0 + 300}:bob", f"{T0 - 100}:gus", f"{T0 + 200}:ada"):
        answer = item(features, "acme/town-square", native)
        assert answer["thread_root_id"] == answer["parent_id"] == root["id"]
        assert answer["origin"].startswith("import.jsonl#13/replies/")
    joined = item(features, "acme/town-square", f"{T0 + 1000}:bob")
    assert (joined["kind"], joined["subtype"]) == ("event", "system_join_channel")
    bot = item(features, "acme/ops", f"{T0 + 2000}:deploybot")
    assert bot["author_id"] == ids.person_id("mattermost", "deploybot")
    assert json.loads(bot["body_refs"])[0] == {
        "kind": "link", "target": "https://ci.example.org/1", "target_id": None, "label": "v1.2"
    }  # fmt: skip
    dm = item(features, "direct:ada,bob", f"{T0 + 5000}:ada")
    assert item(features, "direct:ada,bob", f"{T0 + 5100}:bob")["thread_root_id"] == dm["id"]


def test_raw_records(features: Path, tmp_path: Path) -> None:
    lines = (tmp_path / "export" / "import.jsonl").read_bytes().splitlines()
    root = item(features, "acme/town-square", f"{T0}:ada")
    assert root["raw"] == lines[12] and root["origin"] == "import.jsonl#13"
    answer = item(features, "acme/town-square", f"{T0 + 200}:ada")
    assert json.loads(answer["raw"]) == json.loads(lines[12])["post"]["replies"][2]
    assert rows(features, "SELECT raw FROM persons WHERE native_id = 'ada'") == [(lines[8],)]


def test_reactions_and_attachments(features: Path) -> None:
    reactions = rows(
        features,
        "SELECT i.native_id, p.native_id, r.emoji, r.created_at FROM reactions r JOIN items i ON i.id = r.item_id"
        " JOIN persons p ON p.id = r.person_id ORDER BY r.created_at",
    )
    assert reactions == [
        (f"{T0}:ada", "bob", "+1", (T0 + 10) * 1000),
        (f"{T0}:ada", "gus", "tada", (T0 + 20) * 1000),
        (f"{T0 + 200}:ada", "bob", "eyes", (T0 + 250) * 1000),
    ]
    files = {
        r[0]: r[1:]
        for r in rows(features, "SELECT native_id, name, size, sha256, missing_reason, author_id FROM files")
    }
    assert files["files/report.pdf"][:3] == ("report.pdf", len(PDF), hashlib.sha256(PDF).hexdigest())
    assert files["img/logo.png"][:3] == ("logo.png", len(PNG), hashlib.sha256(PNG).hexdigest())
    assert files["gone/missing.txt"][2] is None and "not in the export" in files["gone/missing.txt"][3]
    assert files["files/report.pdf"][4] == ids.person_id("mattermost", "ada")  # its first use
    assert files["emoji:partyparrot"][:3] == ("partyparrot", len(PNG), hashlib.sha256(PNG).hexdigest())
    uses = rows(
        features,
        "SELECT i.native_id, f.native_id, x.position FROM item_files x JOIN items i ON i.id = x.item_id"
        " JOIN files f ON f.id = x.file_id ORDER BY 1, 3",
    )
    assert uses == [
        (f"{T0}:ada", "files/report.pdf", 0),
        (f"{T0}:ada", "img/logo.png", 1),
        (f"{T0}:ada", "gone/missing.txt", 2),
        (f"{T0 + 7000}:gus", "files/report.pdf", 0),  # one file, used twice
    ]
    assert diagnostics(features) == [
        ("mattermost.file_not_in_export", "import.jsonl#13/attachments/2", None),
        ("mattermost.unmodelled_record", "import.jsonl#2", "role"),
    ]


@pytest.mark.parametrize("layout", ["zip", "folder", "jsonl"])
def test_zip_folder_and_bare_jsonl_read_alike(tmp_path: Path, layout: str) -> None:
    lines = [line for line in feature_lines() if line.get("type") != "emoji"]
    lines = [
        {**line, "post": {**line["post"], "attachments": None}} if line["type"] == "post" else line
        for line in lines
    ]
    dest = tmp_path / {"zip": "export.zip", "folder": "export", "jsonl": "import.jsonl"}[layout]
    archive = ingest_verified(tmp_path, build_export(dest, lines, layout=layout))
    reference = ingest_verified(
        tmp_path, build_export(tmp_path / "ref.jsonl", lines, layout="jsonl"), "reference"
    )
    dump, expected = canonical_dump(archive), canonical_dump(reference)
    for table in ("persons", "spaces", "memberships", "items", "reactions"):
        assert len(dump[table]) == len(expected[table]), table
    assert rows(archive, "SELECT count(*) FROM items") == [(12,)]


# -- ordering and keys ------------------------------------------------------------------------------------
def test_repeated_post_keys_get_a_suffix(tmp_path: Path) -> None:
    lines = [
        *BASE,
        post("acme", "general", "ada", T0, "one", replies=[reply("ada", T0, "same key as its root")]),
        post("acme", "general", "ada", T0, "two"),
        post("acme", "general", "ada", T0 + 1, "another key"),
    ]
    archive = ingest_lines(tmp_path, lines)
    natives = [r[0] for r in rows(archive, "SELECT native_id FROM items ORDER BY origin")]
    assert natives == [f"{T0}:ada", f"{T0}:ada#2", f"{T0}:ada#3", f"{T0 + 1}:ada"]
    assert item(archive, "acme/general", f"{T0}:ada#2")["origin"] == "import.jsonl#5/replies/0"
    assert [d for d in diagnostics(archive) if d[0] == "mattermost.repeated_post_key"] == [
        ("mattermost.repeated_post_key", "import.jsonl#5/replies/0", None),
        ("mattermost.repeated_post_key", "import.jsonl#6", None),
    ]


def test_definitions_after_their_use(tmp_path: Path) -> None:
    """Users, channels and emoji defined after the posts that use them are not placeholders."""
    lines = [
        VERSION,
        post("acme", "general", "ada", T0, reactions=[reaction("bob", "partyparrot", T0 + 1)]),
        emoji("partyparrot", "emoji.png"),
        user("bob"),
        user("ada", membership("acme", "general")),
        channel("acme", "general"),
        team("acme"),
    ]
    archive = ingest_lines(tmp_path, lines, {"data/emoji.png": PNG})
    assert rows(archive, "SELECT count(*) FROM persons WHERE is_placeholder = 1") == [(0,)]
    assert diagnostics(archive) == []
    assert rows(archive, "SELECT sha256 IS NOT NULL FROM files") == [(1,)]


def test_used_but_undefined(tmp_path: Path) -> None:
    lines = [
        VERSION,
        post("nowhere", "lost", "ghost", T0, replies=[reply("phantom", T0 + 1)],
             reactions=[reaction("ghost", "+1", T0 + 2), reaction("spook", "+1", T0 + 3)]),
        direct_post(["ghost", "wraith"], "wraith", T0 + 5),
        user("ada", membership("acme", "general")),
    ]  # fmt: skip
    archive = ingest_lines(tmp_path, lines)
    assert diagnostics(archive) == [
        ("mattermost.unknown_channel", "import.jsonl#2", None),
        ("mattermost.unknown_channel", "import.jsonl#4/teams/0/channels/0", None),
        ("mattermost.unknown_team", "import.jsonl#2", None),
        ("mattermost.unknown_team", "import.jsonl#4/teams/0", None),
        ("mattermost.unknown_user", "import.jsonl#2", None),
        ("mattermost.unknown_user", "import.jsonl#2/reactions/1", None),
        ("mattermost.unknown_user", "import.jsonl#2/replies/0", None),
        ("mattermost.unknown_user", "import.jsonl#3", None),
    ]
    assert sorted(rows(archive, "SELECT native_id, is_placeholder FROM persons")) == [
        ("ada", 0), ("ghost", 1), ("phantom", 1), ("spook", 1), ("wraith", 1)
    ]  # fmt: skip
    assert rows(archive, "SELECT kind, visibility, name FROM spaces WHERE native_id = 'nowhere/lost'") == [
        ("private_channel", "private", "lost")
    ]
    assert rows(archive, "SELECT entity_id FROM diagnostics WHERE \"where\" = 'import.jsonl#3'") == [
        (ids.person_id("mattermost", "wraith"),)
    ]


# -- hostile lines ----------------------------------------------------------------------------------------
def test_every_hostile_line_is_kept_in_a_diagnostic(tmp_path: Path) -> None:
    lines: list[Any] = [
        *BASE,
        b"{not json",
        b"[1, 2, 3]",
        b"",
        b"   ",
        {"type": "scheme", "scheme": {"name": "s"}},
        {"type": "wiki", "wiki": {"title": "t"}},
        {"no": "type"},
        {"type": "version", "version": 2},
        record("user", email="nobody@example.org"),
        user("ada"),
        record("bot", username="ada"),
        channel("acme", "general"),
        {"type": "team"},
        post("acme", "general", "ada", "1600000000000"),
        post("acme", "general", "ada", 10**16),
        post("acme", "general", "ada", T0, message=42),
        record("post", channel="general", user="ada", create_at=T0),
        direct_post([], "ada", T0),
        post("acme", "general", "ada", T0 + 1, replies=[{"message": "no user", "create_at": T0}, "a string"]),
        post("acme", "general", "ada", T0 + 2, reactions=[{"user": "ada"}, reaction("ada", "+1", "soon")]),
        post("acme", "general", "ada", T0 + 3, reactions="many", attachments=[{"name": "no path"}]),
        post(
            "acme",
            "general",
            "ada",
            T0 + 4,
            replies={"not": "a list"},
            attachments=[{"path": "../../etc/passwd"}],
        ),
        record("direct_channel", members="ada"),
        emoji("", "x.png"),
        b'{"type":"post","post":' + b"[" * 5000 + b"]" * 5000 + b"}",
    ]
    archive = ingest_lines(tmp_path, lines)
    assert diagnostics(archive) == sorted([
        ("mattermost.invalid_json", "import.jsonl#5", "line"),
        ("mattermost.invalid_json", "import.jsonl#6", "line"),
        ("mattermost.unmodelled_record", "import.jsonl#9", "scheme"),
        ("mattermost.unknown_type", "import.jsonl#10", "line"),
        ("mattermost.unknown_type", "import.jsonl#11", "line"),
        ("mattermost.bad_version", "import.jsonl#12", None),
        ("mattermost.invalid_record", "import.jsonl#13", "user"),
        ("mattermost.duplicate_record", "import.jsonl#14", "user"),
        ("mattermost.duplicate_record", "import.jsonl#15", "bot"),
        ("mattermost.duplicate_record", "import.jsonl#16", "channel"),
        ("mattermost.invalid_record", "import.jsonl#17", "team"),
        ("mattermost.invalid_record", "import.jsonl#18", "post"),
        ("mattermost.invalid_record", "import.jsonl#19", "post"),
        ("mattermost.invalid_record", "import.jsonl#20", "post"),
        ("mattermost.invalid_record", "import.jsonl#21", "post"),
        ("mattermost.invalid_record", "import.jsonl#22", "direct_post"),
        ("mattermost.invalid_record", "import.jsonl#23/replies/0", "reply"),
        ("mattermost.invalid_record", "import.jsonl#23/replies/1", "reply"),
        ("mattermost.invalid_record", "import.jsonl#24/reactions/0", "reaction"),
        ("mattermost.invalid_record", "import.jsonl#25/reactions", "reaction"),
        ("mattermost.invalid_record", "import.jsonl#25/attachments/0", "attachment"),
        ("mattermost.invalid_record", "import.jsonl#26/replies", "reply"),
        ("mattermost.file_not_in_export", "import.jsonl#26/attachments/0", None),
        ("mattermost.invalid_record", "import.jsonl#27", "direct_channel"),
        ("mattermost.invalid_record", "import.jsonl#28", "emoji"),
        ("mattermost.invalid_json", "import.jsonl#29", "line"),
    ])  # fmt: skip
    with Archive.open(archive) as opened:
        kept = dict(opened.store.query('SELECT "where", raw FROM diagnostics WHERE raw IS NOT NULL'))
    assert kept["import.jsonl#5"] == b"{not json"
    assert kept["import.jsonl#23/replies/1"] == b'"a string"'
    # The reaction without a valid time is kept, without its time.
    assert rows(archive, "SELECT emoji, created_at FROM reactions") == [("+1", None)]
    assert rows(archive, "SELECT count(*) FROM items") == [(4,)]


def test_lines_that_are_not_utf8_are_read_as_cp1252(tmp_path: Path) -> None:
    line = encode(post("acme", "general", "ada", T0, "cafe")).replace(b"cafe", b"caf\xe9")
    archive = ingest_lines(tmp_path, [*BASE, line])
    assert item(archive, "acme/general", f"{T0}:ada")["body_source"] == "café"
    assert ("source.not_utf8", "import.jsonl#5", None) in diagnostics(archive)


def test_a_missing_version_line(tmp_path: Path) -> None:
    source = build_export(tmp_path / "export", [*BASE[1:], post("acme", "general", "ada", T0)])
    with pytest.raises(BadInputError):
        ingest([source], tmp_path / "archive")
    ingest([source], tmp_path / "archive", format="mattermost")
    assert diagnostics(tmp_path / "archive") == [("mattermost.bad_version", "import.jsonl#1", None)]
    assert rows(tmp_path / "archive", "SELECT count(*) FROM items") == [(1,)]


def test_unsafe_zip_entries_and_unreferenced_files(tmp_path: Path) -> None:
    source = build_export(tmp_path / "export.zip", [*BASE], {"data/users/u1/profile.png": PNG}, layout="zip")
    with zipfile.ZipFile(source, "a") as zf:
        zf.writestr("../escape.txt", b"out")
    archive = ingest_verified(tmp_path, source)
    assert diagnostics(archive) == [
        ("source.unrecognised_entry", "data/users/u1/profile.png", None),
        ("source.unsafe_path", "../escape.txt", "entry"),
    ]


def test_a_corrupt_export_file_keeps_the_lines_before(tmp_path: Path) -> None:
    rng = random.Random(3)
    noise = [rng.randbytes(150).hex() for _ in range(8000)]  # text that deflate cannot shrink much
    lines = [*BASE] + [post("acme", "general", "ada", T0 + n, noise[n]) for n in range(8000)]
    source = build_export(tmp_path / "export.zip", lines, layout="zip")
    with zipfile.ZipFile(source) as zf:
        info = zf.getinfo("import.jsonl")
    data = bytearray(source.read_bytes())
    at = info.header_offset + 30 + len(info.filename) + info.compress_size // 2  # inside the deflated stream
    data[at : at + 64] = bytes(64)
    source.write_bytes(bytes(data))
    ingest([source], tmp_path / "archive")
    found = diagnostics(tmp_path / "archive")
    [broken] = [d for d in found if d[0] == "mattermost.truncated"]
    assert broken[2] == "lines"
    kept = rows(tmp_path / "archive", "SELECT count(*) FROM items")[0][0]
    assert 1000 < kept < 8000  # the lines before the damage
    with Archive.open(tmp_path / "archive") as archive:
        report = verify(archive, source)
    assert report.ok, report.problems


# -- resuming -------------------------------------------------------------------------------------------
class Interrupted(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [*BASE] + [
        post("acme", "general", "ghost" if n % 7 == 0 else "ada", T0 + n // 3, f"post {n}",
             attachments=[{"path": "missing.txt"}] if n % 5 == 0 else None)
        for n in range(40)
    ]  # fmt: skip
    source = build_export(tmp_path / "export.zip", lines, layout="zip")
    monkeypatch.setattr(mattermost, "BLOCK_LINES", 10)
    monkeypatch.setattr("passerelle.ingest.ArchiveWriter", functools.partial(ArchiveWriter, commit_every=1))
    original = mattermost.MattermostReader._line

    def line(self: Any, tree: Any, entry: str, number: int, *args: Any) -> None:
        if number == 25:
            raise Interrupted
        original(self, tree, entry, number, *args)

    with monkeypatch.context() as patch:
        patch.setattr(mattermost.MattermostReader, "_line", line)
        with pytest.raises(Interrupted):
            ingest([source], tmp_path / "archive")
    units = {u for (u,) in rows(tmp_path / "archive", "SELECT unit FROM source_units")}
    assert units == {"definitions", "lines:import.jsonl#1", "lines:import.jsonl#11"}
    assert [r.status for r in ingest([source], tmp_path / "archive")] == ["resumed"]
    ingest([source], tmp_path / "fresh")
    assert canonical_dump(tmp_path / "archive") == canonical_dump(tmp_path / "fresh")
    with Archive.open(tmp_path / "archive") as archive:
        assert verify(archive, source).ok


def test_key_counts_grow_without_losing_keys() -> None:
    counts = mattermost._KeyCounts()
    assert all(counts.add("space", str(n)) == 1 for n in range(5000))
    assert counts.add("space", "42") == 2 and counts.add("space", "42") == 3
    assert counts.add("other space", "42") == 1


def test_direct_channel_participants_of_newer_servers(tmp_path: Path) -> None:
    participants = [{"username": "bob", "msg_count": 3}, {"username": "ada", "mention_count": 0}]
    archive = ingest_lines(
        tmp_path, [*BASE, user("bob"), record("direct_channel", participants=participants)]
    )
    assert rows(archive, "SELECT native_id, kind FROM spaces WHERE native_id LIKE 'direct:%'") == [
        ("direct:ada,bob", "direct_message")
    ]
    members = rows(
        archive,
        "SELECT p.native_id FROM memberships m JOIN persons p ON p.id = m.person_id WHERE m.space_id = ?",
        (ids.space_id("mattermost", "direct:ada,bob"),),
    )
    assert sorted(members) == [("ada",), ("bob",)]
