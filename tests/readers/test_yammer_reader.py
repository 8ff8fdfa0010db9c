"""The Yammer / Viva Engage reader: an export holding every documented column and awkward
case, hostile and damaged exports, resumption, and the parsing helpers."""

from __future__ import annotations

import functools
import hashlib
import json
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
from passerelle.readers import yammer
from passerelle.readers.source_tree import SourceTree
from passerelle.readers.yammer import YammerReader, parse_attachments, parse_time
from tests.helpers import canonical_dump, diagnostics, ingest_verified, rows
from tests.helpers import item_by_native as item
from tests.mastodon_builder import ZIP_NAME, build_feature_archive
from tests.mattermost_builder import build_export as build_mattermost
from tests.mattermost_builder import feature_lines
from tests.yammer_builder import (
    GROUP_COLUMNS,
    MESSAGE_COLUMNS,
    MULTILINE,
    PDF,
    PNG,
    TXT,
    USER_COLUMNS,
    build_export,
    csv_bytes,
    feature_entries,
    feature_export,
    message,
    user,
    write_generated,
)

P = "yammer"


def without_source(archive: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The canonical dump, the source's own id and fingerprint left out."""
    [(source, sha)] = rows(archive, "SELECT id, sha256 FROM sources")
    return {
        table: sorted((tuple("SOURCE" if v in (source, sha) else v for v in row) for row in values), key=repr)
        for table, values in canonical_dump(archive).items()
        if table not in ("diagnostics", "sources")
    } | {"diagnostics": sorted(rows(archive, 'SELECT code, "where", message, dropped, raw FROM diagnostics'))}


def itm(thread: str, native: str) -> str:
    return ids.item_id(P, thread, native)


def per(native: str) -> str:
    return ids.person_id(P, native)


def spc(native: str) -> str:
    return ids.space_id(P, native)


def small(tmp_path: Path, entries: dict[str, bytes] | None = None, name: str = "small.zip") -> Path:
    """Users and Messages with one post, with the given entries added or replacing them."""
    base = {
        "Users.csv": csv_bytes(USER_COLUMNS, [user("1", "Ann", "ann@contoso.com")]),
        "Messages.csv": csv_bytes(MESSAGE_COLUMNS, [message("10", "1", "hello")]),
    }
    base.update(entries or {})
    return build_export(tmp_path / name, base)


@pytest.fixture(scope="module")
def feature(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("yammer")
    return ingest_verified(tmp, feature_export(tmp / "export.zip"))


# -- the feature export ------------------------------------------------------------------------------------
def test_feature_export_counts_and_diagnostics(feature: Path) -> None:
    with Archive.open(feature) as opened:
        info = archive_info(opened.store)
    assert info["counts"] == {
        "persons": 9,  # 6 users (one duplicate, one short row dropped) + 1999, 1998, 1997 placeholders
        "spaces": 9,  # 2 networks, All Company, 3 groups + Ghost Group, 2 private conversations
        "memberships": 7,  # 2 admins, 2 + 3 conversation members
        "items": 18,  # 22 message rows: a duplicate, a short row, broken quoting, no id dropped
        "thread_roots": 3,  # 5001 (5002, 5003), 5005 (5006), 3999 (5010, outside the export)
        "thread_replies": 4,
        "reactions": 0,
        "files": 8,  # 4001-4003, 4006 of Files.csv, 4004 and 4005 attached, Files/4999.txt, Campaigns.csv
        "files_with_content": 4,  # 4001, 4004, 4999.txt, Campaigns.csv
        "revisions": 2,
        "references": 5,
    }
    assert diagnostics(feature) == [
        ("source.not_utf8", "Messages.csv#27", None),
        ("yammer.admin", "Admins.csv#2", None),
        ("yammer.admin", "Admins.csv#3", None),
        ("yammer.duplicate_record", "Messages.csv#20", "message"),
        ("yammer.duplicate_record", "Users.csv#8", "user"),
        ("yammer.export_log", "log.txt", None),
        ("yammer.export_log", "request.txt", None),
        ("yammer.file_bytes_missing", "Files.csv#3", None),
        ("yammer.file_bytes_missing", "Files.csv#4", None),
        ("yammer.file_bytes_missing", "Files.csv#5", None),
        ("yammer.file_bytes_missing", "Messages.csv#19", None),
        ("yammer.invalid_record", "Admins.csv#4", "admin"),
        ("yammer.invalid_record", "Messages.csv#23", "message"),
        ("yammer.invalid_row", "Messages.csv#22", "message"),
        ("yammer.invalid_value", "Messages.csv#26", None),
        ("yammer.invalid_value", "Messages.csv#29", None),
        ("yammer.page", "Pages.csv#2", "page"),
        ("yammer.parent_not_in_export", "Messages.csv#17", None),
        ("yammer.parent_not_in_export", "Messages.csv#17", None),
        ("yammer.topic", "Topics.csv#2", "topic"),
        ("yammer.unknown_attachment", "Messages.csv#28", None),
        ("yammer.unknown_column", "Messages.csv", None),
        ("yammer.unknown_entry", "Campaigns.csv", None),
        ("yammer.unknown_file", "Messages.csv#19", None),
        ("yammer.unknown_file", "Messages.csv#19", None),
        ("yammer.unknown_group", "Messages.csv#15", None),
        ("yammer.unknown_user", "Groups.csv#3", None),
        ("yammer.unknown_user", "Messages.csv#10", None),
        ("yammer.unknown_user", "Messages.csv#18", None),
        ("yammer.unreferenced_file", "Files/4999.txt", None),
        ("yammer.version_of_unknown_message", "MessageVersions.csv#4", "version"),
        ("yammer.wrong_column_count", "Messages.csv#21", "message"),
        ("yammer.wrong_column_count", "Users.csv#9", "user"),
    ]


def test_users_states_guests_and_placeholders(feature: Path) -> None:
    assert sorted(rows(feature, "SELECT native_id, display_name, email, title, is_deleted, is_guest,"
                                " is_placeholder, is_bot, origin FROM persons")) == [
        ("1001", "Alice Martin", "alice@contoso.com", "CEO", 0, 0, 0, 0, "Users.csv#2"),
        ("1002", "Bob Builder", "bob@contoso.com", "Engineer, Platform", 0, 0, 0, 0, "Users.csv#3"),
        ("1003", "Carol Gone", "carol@contoso.com", None, 1, 0, 0, 0, "Users.csv#4"),  # deleted_at
        ("1004", "Dan Paused", "dan@contoso.com", None, 0, 0, 0, 0, "Users.csv#5"),  # suspended: raw only
        ("1005", "Erin Pending", "erin@contoso.com", None, 0, 0, 0, 0, "Users.csv#6"),  # pending: raw only
        ("1006", "Gina Guest", "gina@partner.example", None, 0, 1, 0, 0, "Users.csv#7"),  # another domain
        ("1997", None, None, None, 0, 0, 1, 0, "Messages.csv#18"),  # mentioned only
        ("1998", "Zed Outsider", "zed@contoso.com", None, 0, 0, 1, 0, "Messages.csv#10"),  # a sender
        ("1999", None, None, None, 0, 0, 1, 0, "Groups.csv#3"),  # a group's creator
    ]  # fmt: skip
    [(message,)] = rows(feature, "SELECT message FROM diagnostics WHERE \"where\" = 'Messages.csv#10'")
    assert message == "user Zed Outsider (1998) is not in Users.csv; a placeholder person was made"


def test_raw_is_the_exact_text_of_the_record(feature: Path) -> None:
    """raw is a JSON string holding the record's characters as written: quotes, doubled quotes
    and the CRLF inside a quoted field; the CRLF that ends it left out."""
    entries = feature_entries()
    text = entries["Messages.csv"].decode("utf-8", "replace").removeprefix("\ufeff")
    records = text.split("\r\n")
    [(raw,)] = rows(feature, "SELECT raw FROM items WHERE native_id = '5002'")
    assert json.loads(raw) == "\r\n".join(records[2:9])  # lines 3 to 9: body and html_body span lines
    assert json.loads(raw).startswith(
        "5002,5001,,5001,5001,2001,Engineering,,false,false,1002,user,Bob Builder,"
    )
    assert (
        '"Thanks [[user:1001]]!\r\nSecond line, with a comma and ""quotes"".\r\n\r\nLast line."'
        in json.loads(raw)
    )
    [(raw,)] = rows(feature, "SELECT raw FROM spaces WHERE native_id = '2002'")
    assert (
        json.loads(raw)
        == '2002,Secret Project,"Line one\r\nLine ""two""",true,true,,1999,user,2021-03-01 09:00:00 UTC,,false,false,'
    )
    # A row that could not be read is kept as it was written, in its diagnostic.
    [(kept,)] = rows(feature, "SELECT raw FROM diagnostics WHERE \"where\" = 'Messages.csv#21'")
    assert kept == b"5014,,,5014,too,few"
    [(kept,)] = rows(feature, "SELECT raw FROM diagnostics WHERE \"where\" = 'Messages.csv#22'")
    assert b'"bad"x' in kept and kept.startswith(b"5015,")
    [(kept,)] = rows(feature, "SELECT raw FROM diagnostics WHERE \"where\" = 'Messages.csv#20'")
    assert json.loads(kept).startswith("5004,") and "To everyone, again" in json.loads(kept)


def test_bytes_that_are_not_utf8_are_read_as_cp1252_and_kept(feature: Path) -> None:
    cafe = item(feature, "5020")
    assert cafe["body_source"] == "café au lait"
    assert "café au lait" in json.loads(cafe["raw"])
    [(original,)] = rows(feature, "SELECT raw FROM diagnostics WHERE code = 'source.not_utf8'")
    assert b"caf\xe9 au lait" in original and original.startswith(b"5020,")


def test_spaces_keep_privacy(feature: Path) -> None:
    network = spc("network:1")
    assert sorted(rows(feature, "SELECT native_id, kind, visibility, name, display_name, parent_id, is_archived, origin"
                                " FROM spaces")) == sorted([
        ("network:1", "workspace", "private", "contoso.com", "Contoso", None, 0, "Networks.csv#2"),
        ("network:2", "workspace", "private", "partner.example", "Partner Network", None, 0, "Networks.csv#3"),
        ("all-company", "community", "public", "All Company", None, network, 0, "Messages.csv#11"),
        ("2001", "community", "public", "Engineering", None, network, 0, "Groups.csv#2"),
        ("2002", "community", "private", "Secret Project", None, network, 0, "Groups.csv#3"),
        ("2003", "community", "public", "Old Group", None, network, 1, "Groups.csv#5"),  # deleted
        ("2099", "community", "public", "Ghost Group", None, network, 0, "Messages.csv#15"),  # not listed
        ("direct:1001,1002", "direct_message", "private", None, None, network, 0, "Messages.csv#12"),
        ("direct:1001,1002,1006", "group_message", "private", None, None, network, 0, "Messages.csv#13"),
    ])  # fmt: skip
    members = rows(feature, "SELECT s.native_id, p.native_id, m.role FROM memberships m JOIN spaces s ON s.id = m.space_id"
                            " JOIN persons p ON p.id = m.person_id")  # fmt: skip
    assert sorted(members) == [
        ("direct:1001,1002", "1001", "member"),
        ("direct:1001,1002", "1002", "member"),
        ("direct:1001,1002,1006", "1001", "member"),
        ("direct:1001,1002,1006", "1002", "member"),
        ("direct:1001,1002,1006", "1006", "member"),
        ("network:1", "1001", "admin"),  # by id
        ("network:1", "1002", "admin"),  # by email: the row has no id
    ]
    [(purpose, creator, created)] = rows(
        feature, "SELECT purpose, creator_id, created_at FROM spaces WHERE native_id = '2002'"
    )
    assert (purpose, creator, created) == ('Line one\r\nLine "two"', per("1999"), 1614589200000000)
    by_space = dict(rows(feature, "SELECT s.native_id, group_concat(i.native_id) FROM items i"
                                  " JOIN spaces s ON s.id = i.space_id GROUP BY 1"))  # fmt: skip
    assert by_space["all-company"] == "5004"
    assert by_space["direct:1001,1002"] == "5005"
    assert by_space["direct:1001,1002,1006"] == "5006"  # a reply with one more participant: its own people
    assert by_space["2002"] == "5007"
    assert by_space["2099"] == "5008"


def test_threads_inside_and_outside_the_export(feature: Path) -> None:
    root = item(feature, "5001")
    assert root["id"] == itm("5001", "5001")
    assert (root["kind"], root["thread_root_id"], root["parent_id"], root["title"]) == (
        "post",
        None,
        None,
        "Launch day",
    )
    reply = item(feature, "5002")
    assert (reply["kind"], reply["parent_id"], reply["thread_root_id"]) == ("comment", root["id"], root["id"])
    nested = item(feature, "5003")
    assert (nested["parent_id"], nested["thread_root_id"], nested["author_id"]) == (
        reply["id"],
        root["id"],
        per("1998"),
    )
    outside = item(feature, "5010")  # replied_to 4000 in thread 3999: neither is in the export
    assert (outside["parent_id"], outside["thread_root_id"]) == (itm("3999", "4000"), itm("3999", "3999"))
    said = rows(
        feature, "SELECT entity_id, message FROM diagnostics WHERE \"where\" = 'Messages.csv#17' ORDER BY 1"
    )
    assert sorted(e for e, _ in said) == sorted([itm("3999", "4000"), itm("3999", "3999")])
    odd = item(feature, "5022")  # thread_id is its own id, with a replied_to_id: a post, the oddity said
    assert (odd["kind"], odd["parent_id"], odd["thread_root_id"]) == ("post", None, None)


def test_messages_kinds_times_and_deletion(feature: Path) -> None:
    assert item(feature, "5004")["subtype"] == "announcement"
    assert item(feature, "5001")["subtype"] is None  # "update", the ordinary message
    system = item(feature, "5017")
    assert (system["kind"], system["subtype"]) == ("event", "system")
    deleted = item(feature, "5009")
    assert (deleted["deleted"], deleted["deleted_at"], deleted["body_source"]) == (
        1,
        1614934800000000,
        "Oops, deleted",
    )
    reply = item(feature, "5002")
    assert (reply["created_native"], reply["created_at"]) == ("2021-03-02 10:00:00 UTC", 1614679200000000)
    when = item(feature, "5019")
    assert (when["created_native"], when["created_at"]) == ("yesterday", None)


def test_bodies_mentions_topics_and_links(feature: Path) -> None:
    root = item(feature, "5001")
    assert root["body_format"] == "yammer"
    assert root["body_source"] == "Hello [[user:1002]], see #[[tag:3001]] and [[group:2002]]"
    assert root["body_text"] == "Hello @Bob Builder, see #launch and Secret Project"
    assert json.loads(root["body_refs"]) == [
        {"kind": "person", "target": "1002", "target_id": per("1002"), "label": "Bob Builder"},
        {"kind": "space", "target": "2002", "target_id": spc("2002"), "label": "Secret Project"},
        {
            "kind": "link",
            "target": "https://example.com/a?b=1,2",
            "target_id": None,
            "label": "Example, with a comma",
        },
    ]
    reply = item(feature, "5002")
    assert reply["body_source"] == MULTILINE
    assert (
        reply["body_text"] == 'Thanks @Alice Martin!\nSecond line, with a comma and "quotes".\n\nLast line.'
    )
    ping = item(feature, "5011")  # a mention of a user Users.csv does not list
    assert ping["body_text"] == "Ping @1997"
    assert json.loads(ping["body_refs"]) == [
        {"kind": "person", "target": "1997", "target_id": per("1997"), "label": None}
    ]


def test_files_bytes_and_attachments(feature: Path) -> None:
    assert sorted(rows(feature, "SELECT native_id, name, title, media_type, sha256, missing_reason, url, author_id"
                                " FROM files WHERE origin NOT IN ('Campaigns.csv', 'Files/4999.txt')")) == sorted([
        ("4001", "report.pdf", "Q1 report", "application/pdf", hashlib.sha256(PDF).hexdigest(), None,
         "https://www.yammer.com/api/v1/uploaded_files/4001/download", per("1001")),
        ("4002", "slides.pptx", None, None, None,
         "not in the export at 'Files/4002.pptx' (exported without attachments?)", None, per("1002")),
        ("4003", "plan.docx", None, None, None,
         "stored in SharePoint: the export holds its link (download_url) only",
         "https://contoso.sharepoint.com/plan.docx", per("1002")),
        ("4006", "passwd", None, None, None, "not in the export at '../../etc/passwd' (exported without attachments?)",
         None, per("1002")),
        ("4004", "4004.png", None, None, hashlib.sha256(PNG).hexdigest(), None, None, None),  # Files/ only
        ("4005", None, None, None, None, "not in Files.csv nor in Files/", None, None),
    ])  # fmt: skip
    attached = rows(feature, "SELECT i.native_id, f.native_id, x.position FROM item_files x"
                             " JOIN items i ON i.id = x.item_id JOIN files f ON f.id = x.file_id ORDER BY 1, 3")  # fmt: skip
    assert attached == [
        ("5001", "4001", 0),
        ("5012", "4002", 0),
        ("5012", "4003", 1),
        ("5012", "4004", 2),
        ("5012", "4005", 3),
    ]
    with Archive.open(feature) as opened:
        assert opened.blobs.has(hashlib.sha256(PDF).hexdigest())
    [(sha, origin)] = rows(feature, "SELECT sha256, origin FROM files WHERE native_id = 'Files/4999.txt'")
    assert (sha, origin) == (hashlib.sha256(TXT).hexdigest(), "Files/4999.txt")


def test_versions_are_revisions(feature: Path) -> None:
    edited = itm("5018", "5018")
    assert sorted(rows(feature, "SELECT id, item_id, native_id, author_id, created_at, body_source, body_text"
                                " FROM revisions")) == sorted([
        (ids.revision_id(edited, "9001"), edited, "9001", per("1002"), 1615194000000000, "Edited (first)", "Edited (first)"),
        (ids.revision_id(edited, "9002"), edited, "9002", per("1002"), 1615197600000000, "Edited [[user:1001]]",
         "Edited @Alice Martin"),
    ])  # fmt: skip


def test_topics_pages_and_logs_are_kept_in_diagnostics(feature: Path) -> None:
    [(raw, message)] = rows(feature, "SELECT raw, message FROM diagnostics WHERE code = 'yammer.topic'")
    assert json.loads(raw) == "3001,launch,2021-03-01 09:00:00 UTC,https://www.yammer.com/topics/3001"
    assert message.startswith("#launch")
    [(raw,)] = rows(feature, "SELECT raw FROM diagnostics WHERE code = 'yammer.page'")
    assert json.loads(raw) == "8001,Handbook,1001,2021-03-01 09:00:00 UTC,2021-03-02 09:00:00 UTC"
    logs = dict(rows(feature, "SELECT \"where\", raw FROM diagnostics WHERE code = 'yammer.export_log'"))
    entries = feature_entries()
    assert logs == {"log.txt": entries["log.txt"], "request.txt": entries["request.txt"]}
    [(raw,)] = rows(feature, "SELECT raw FROM diagnostics WHERE \"where\" = 'Admins.csv#2'")
    assert json.loads(raw) == "1001,Alice Martin,alice@contoso.com,Verified Admin"


def test_zip_folder_and_top_folder_give_the_same_records(tmp_path: Path) -> None:
    zipped = ingest_verified(tmp_path, feature_export(tmp_path / "export.zip"), "a")
    folder = ingest_verified(tmp_path, feature_export(tmp_path / "folder", layout="folder"), "b")
    assert without_source(zipped) == without_source(folder)  # the fingerprints differ, nothing else
    nested = ingest_verified(tmp_path, feature_export(tmp_path / "nested.zip", folder="Export-2021"), "c")
    origins = dict(rows(nested, "SELECT native_id, origin FROM items WHERE native_id IN ('5001', '5002')"))
    assert origins == {"5001": "Export-2021/Messages.csv#2", "5002": "Export-2021/Messages.csv#3"}
    assert len(rows(nested, "SELECT 1 FROM items")) == 18


# -- detection -------------------------------------------------------------------------------------------
def detect(path: Path) -> bool:
    tree = SourceTree.open(path)
    try:
        return YammerReader.detect(tree)
    finally:
        tree.close()


def test_detection_takes_exports_and_steals_nothing(tmp_path: Path) -> None:
    from passerelle.readers import available_readers

    assert detect(feature_export(tmp_path / "export.zip"))
    assert detect(feature_export(tmp_path / "folder", layout="folder"))
    assert detect(feature_export(tmp_path / "nested.zip", folder="top"))
    only_groups = build_export(
        tmp_path / "groups.zip",
        {"Messages.csv": csv_bytes(MESSAGE_COLUMNS, []), "Groups.csv": csv_bytes(GROUP_COLUMNS, [])},
    )
    assert detect(only_groups)
    assert not detect(build_export(tmp_path / "alone.zip", {"Messages.csv": csv_bytes(MESSAGE_COLUMNS, [])}))
    two = build_export(tmp_path / "two.zip", {f"{top}/{name}": data for top in ("a", "b")
                                              for name, data in feature_entries().items()})  # fmt: skip
    assert not detect(two)  # two exports side by side: which one?
    assert not detect(build_mattermost(tmp_path / "mm", feature_lines()))
    assert not detect(build_feature_archive(tmp_path / ZIP_NAME))
    readers = available_readers()
    tree = SourceTree.open(tmp_path / "export.zip")
    try:
        assert [name for name, reader in readers.items() if reader.detect(tree)] == ["yammer"]
    finally:
        tree.close()


def test_a_tree_that_is_not_an_export_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    source = build_export(tmp_path / "alone.zip", {"Messages.csv": csv_bytes(MESSAGE_COLUMNS, [])})
    with pytest.raises(BadInputError, match="not a Yammer network export"):
        ingest([source], tmp_path / "archive", format="yammer")
    assert not (tmp_path / "archive").exists()


# -- damaged and hostile exports ---------------------------------------------------------------------------
def test_an_empty_file_and_missing_optional_files(tmp_path: Path) -> None:
    source = small(tmp_path, {"Groups.csv": b"", "Topics.csv": b"\xef\xbb\xbf"})
    archive = ingest_verified(tmp_path, source)
    assert diagnostics(archive) == [
        ("yammer.empty_file", "Groups.csv", None),
        ("yammer.empty_file", "Topics.csv", None),
    ]
    # No Networks.csv: one workspace; no Files.csv, no MessageVersions.csv: nothing to say.
    assert rows(archive, "SELECT native_id, kind, raw FROM spaces ORDER BY 1") == [
        ("all-company", "community", b'{"space":"All Company","network":"network"}'),
        ("network", "workspace", None),
    ]
    assert item(archive, "10")["space_id"] == spc("all-company")


def test_a_header_without_its_key_column_keeps_the_file(tmp_path: Path) -> None:
    bad = csv_bytes(["name", "email"], [["Zoe", "zoe@contoso.com"]])
    source = small(tmp_path, {"Groups.csv": bad, "Files.csv": b'\xef\xbb\xbfid,"unterminated\r\n'})
    archive = ingest_verified(tmp_path, source)
    said = rows(archive, 'SELECT "where", code, dropped, message FROM diagnostics ORDER BY 1')
    assert [(w, c, d) for w, c, d, _ in said] == [
        ("Files.csv", "yammer.invalid_header", "file"),
        ("Groups.csv", "yammer.invalid_header", "file"),
    ]
    sha = hashlib.sha256(bad).hexdigest()
    assert (
        said[1][3]
        == f"'Groups.csv': its header has no id column; none of its rows is read; its bytes are kept as blob sha256:{sha}"
    )
    with Archive.open(archive) as opened:
        assert opened.blobs.has(sha)


def test_hostile_rows_broken_quoting_and_huge_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A field over the limit, a line over the limit, an unterminated quote at the end: each a
    diagnostic at its line, the rows after them read."""
    monkeypatch.setattr(yammer, "FIELD_LIMIT", 2_000)
    monkeypatch.setattr("passerelle.verify.yammer.LIMIT", 2_000)
    huge_field = message("11", "1", "x\r\n" * 1_000, html_body="")  # a quoted field of 3,000 characters
    huge_line = message("12", "1", "y" * 3_000)  # one physical line of over 3,000 characters
    lines = csv_bytes(MESSAGE_COLUMNS, [message("10", "1", "first"), huge_field, message("13", "1", "after"),
                                        huge_line, message("14", "1", "after again")])  # fmt: skip
    lines += b'15,,,15,15,,,,false,false,1,user,Ann,,"never closed\r\nand on\r\n'
    source = small(tmp_path, {"Messages.csv": lines})
    archive = ingest_verified(tmp_path, source)
    assert sorted(n for (n,) in rows(archive, "SELECT native_id FROM items")) == ["10", "13", "14"]
    found = [d for d in diagnostics(archive) if d[0] == "yammer.invalid_row"]
    # Each ends where its quotes balance: 11 on lines 3 to 1003; 15 at the end of the file.
    assert [w for _, w, _ in found] == ["Messages.csv#1005", "Messages.csv#1007", "Messages.csv#3"]
    assert item(archive, "13")["origin"] == "Messages.csv#1004"
    assert item(archive, "14")["origin"] == "Messages.csv#1006"


def test_bad_values_are_said_and_left_empty(tmp_path: Path) -> None:
    rows_ = [
        message("10", "1", "private?", in_private_conversation="maybe", created_at="2021-13-45 10:00:00 UTC"),
        message("11", "1", "odd people", participants="user:1,group:7,user:", in_private_conversation="TRUE"),
    ]
    archive = ingest_verified(tmp_path, small(tmp_path, {"Messages.csv": csv_bytes(MESSAGE_COLUMNS, rows_)}))
    messages = sorted(
        m for (m,) in rows(archive, "SELECT message FROM diagnostics WHERE code = 'yammer.invalid_value'")
    )
    assert messages == [
        "created_at '2021-13-45 10:00:00 UTC' is not a time passerelle reads; kept in raw",
        "in_private_conversation 'maybe' is not true or false; taken as false, kept in raw",
        "participants that are not user:<id> ('group:7', 'user:'); kept in raw",
    ]
    assert item(archive, "10")["space_id"] == spc("all-company")
    assert item(archive, "11")["space_id"] == spc("direct:1")  # a conversation with oneself


def test_unsafe_zip_entries_are_refused(tmp_path: Path) -> None:
    source = small(tmp_path)
    with zipfile.ZipFile(source, "a") as zf:
        zf.writestr("../evil.txt", b"x")
        zf.writestr("/abs.txt", b"y")
    archive = ingest_verified(tmp_path, source)
    assert {
        ("source.unsafe_path", "../evil.txt", "entry"),
        ("source.unsafe_path", "/abs.txt", "entry"),
    } <= set(diagnostics(archive))


def test_a_corrupt_entry_is_said_and_the_rest_read(tmp_path: Path) -> None:
    source = feature_export(tmp_path / "export.zip")
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as zf:
        info = zf.getinfo("Topics.csv")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start : start + 4] = b"\xff\xff\xff\xff"  # corrupt the compressed bytes
    source.write_bytes(bytes(data))
    archive = ingest_verified(tmp_path, source)
    assert ("source.unreadable_entry", "Topics.csv", "entry") in diagnostics(archive)
    assert len(rows(archive, "SELECT 1 FROM items")) == 18


# -- resumption, size ---------------------------------------------------------------------------------------
def test_an_interrupted_ingest_resumes_to_the_same_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_generated(tmp_path / "export.zip", layout="zip", messages=300)
    monkeypatch.setattr(yammer, "MESSAGE_BLOCK", 50)
    monkeypatch.setattr(yammer, "FILE_BLOCK", 4)
    monkeypatch.setattr("passerelle.ingest.ArchiveWriter", functools.partial(ArchiveWriter, commit_every=1))
    ingest([source], tmp_path / "clean")
    original = YammerReader._message
    calls = {"n": 0}

    def failing(self: YammerReader, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 130:
            raise KeyboardInterrupt
        original(self, *args)

    monkeypatch.setattr(YammerReader, "_message", failing)
    with pytest.raises(KeyboardInterrupt):
        ingest([source], tmp_path / "resumed")
    units = [u for (u,) in rows(tmp_path / "resumed", "SELECT unit FROM source_units")]
    assert {
        "network",
        "users",
        "placeholders",
        "spaces",
        "admins",
        "topics",
        "messages:0",
        "messages:50",
    } <= set(units)
    assert "messages:100" not in units and "leftovers" not in units
    monkeypatch.setattr(YammerReader, "_message", original)
    [report] = ingest([source], tmp_path / "resumed")
    assert report.status == "resumed"
    assert canonical_dump(tmp_path / "resumed") == canonical_dump(tmp_path / "clean")


def test_a_generated_export_is_read_and_verified(tmp_path: Path) -> None:
    archive = ingest_verified(tmp_path, write_generated(tmp_path / "export", layout="folder"))
    with Archive.open(archive) as opened:
        info = archive_info(opened.store)
    assert info["counts"]["items"] == 1_200
    assert info["counts"]["persons"] == 30
    assert (
        rows(archive, "SELECT count(*) FROM spaces WHERE kind IN ('direct_message', 'group_message')")[0][0]
        > 10
    )
    guests = rows(archive, "SELECT native_id FROM persons WHERE is_guest = 1 ORDER BY 1")
    assert guests == [("1000",), ("1010",), ("1020",)]  # person0@guest.example, person10@…, person20@…


# -- parsing helpers ---------------------------------------------------------------------------------------
def test_parse_time() -> None:
    expected = 1614939630000000  # 2021-03-05 10:20:30 UTC
    assert parse_time("2021-03-05 10:20:30 UTC") == expected
    assert parse_time("2021-03-05T10:20:30Z") == expected
    assert parse_time("2021-03-05T10:20:30.123456Z") == expected + 123456
    assert parse_time("2021-03-05T12:20:30+02:00") == expected
    assert parse_time("2021/03/05 05:20:30 -0500") == expected
    assert parse_time("2021-03-05 10:20:30") == expected  # no zone: UTC
    assert parse_time("2021-03-05") == 1614902400000000
    for bad in ("yesterday", "2021-02-30 10:00:00", "", "05/03/2021 10:20"):
        assert parse_time(bad) is None
    assert parse_time(None) is None


def test_parse_attachments() -> None:
    found = parse_attachments(
        'uploadedfile:1, opengraphobject:[9 : https://a.example/x,y : title="T, t" : description="say "hi"],'
        "uploadedfile:2,ymodule:5,uploadedfile:"
    )
    assert [(a.kind, a.target, a.label) for a in found] == [
        ("file", "1", None),
        ("link", "https://a.example/x,y", "T, t"),
        ("file", "2", None),
        ("ymodule", "ymodule:5", None),
        ("uploadedfile", "uploadedfile:", None),
    ]
    assert parse_attachments("") == [] and parse_attachments(None) == []
    broken = parse_attachments("opengraphobject:[no url here]")
    assert [(a.kind, a.target) for a in broken] == [("opengraphobject", "opengraphobject:[no url here]")]


def test_pages_with_content_versions_by_message_id_and_admins_by_user_id(tmp_path: Path) -> None:
    """The undocumented headers read other ways: a Pages.csv with a body (page items), a
    MessageVersions.csv whose id is the message's, an Admins.csv naming its user in user_id."""
    entries = {
        "Pages.csv": csv_bytes(
            ["id", "title", "body", "group_id", "owner_id", "created_at"],
            [
                ["8001", "Handbook", "Welcome,\r\nread me", "", "1", "2021-03-01 09:00:00 UTC"],
                ["8002", "Team page", "Ours", "2001", "7", "2021-03-01 10:00:00 UTC"],
            ],
        ),
        "MessageVersions.csv": csv_bytes(
            ["id", "version", "body", "created_at"], [["10", "1", "hello (v1)", "2021-03-01T08:00:00Z"]]
        ),
        "Admins.csv": csv_bytes(["user_id", "email"], [["1", ""], ["", "ann@contoso.com"]]),
    }
    archive = ingest_verified(tmp_path, small(tmp_path, entries))
    pages = rows(archive, "SELECT native_id, kind, space_id, author_id, title, body_format, body_source, body_text"
                          " FROM items WHERE kind = 'page' ORDER BY 1")  # fmt: skip
    assert pages == [
        (
            "8001",
            "page",
            spc("all-company"),
            per("1"),
            "Handbook",
            "text",
            "Welcome,\r\nread me",
            "Welcome,\nread me",
        ),
        ("8002", "page", spc("2001"), per("7"), "Team page", "text", "Ours", "Ours"),
    ]
    assert ("yammer.unknown_group", "Pages.csv#4", None) in diagnostics(archive)  # 8001 spans lines 2, 3
    assert ("yammer.unknown_user", "Pages.csv#4", None) in diagnostics(archive)  # user 7 is not listed
    [(revision, native)] = rows(archive, "SELECT item_id, native_id FROM revisions")
    assert (revision, native) == (itm("10", "10"), "1")
    assert rows(archive, "SELECT person_id, role, origin FROM memberships ORDER BY origin") == [
        (per("1"), "admin", "Admins.csv#2"),
    ]  # the second row names the same user, by email: the membership is kept once
    assert [d[1] for d in diagnostics(archive) if d[0] == "yammer.admin"] == ["Admins.csv#2", "Admins.csv#3"]
