"""The Slack export writer: round trips through Slack's own format are the identity, other
platforms' archives become valid Slack exports that the Slack reader ingests with the right
authors, threads, reactions, files and ``passerelle`` ids, and every entity is accounted."""

from __future__ import annotations

import json
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import pytest

from passerelle.archive import Archive
from passerelle.archive.writer import ArchiveWriter
from passerelle.demo.slack_export import ExportSpec, write_export
from passerelle.export import MANIFEST, export, read_manifest
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.model.entities import (
    Body,
    File,
    Item,
    ItemFile,
    ItemKind,
    Membership,
    Person,
    Reaction,
    Reference,
    RefKind,
    Revision,
    Source,
    Space,
    SpaceKind,
    Visibility,
)
from passerelle.readers.slack import ts_to_micros
from passerelle.verify.fidelity import verify_export
from passerelle.writers.base import ENTITY_TABLES, ENTITY_TYPES
from passerelle.writers.slack import channel_name, user_handle
from passerelle.writers.slack_mrkdwn import Mentions, is_exact, to_mrkdwn
from tests.helpers import sample
from tests.slack_builder import build_export, message

# What a round trip must keep: every table of records, all but where each row came from.
CONTENT_TABLES = (
    "persons",
    "spaces",
    "memberships",
    "items",
    "revisions",
    "reactions",
    "files",
    "item_files",
)
TABLE_OF = ENTITY_TABLES


def content(archive_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with Archive.open(archive_path) as archive:
        store = archive.store
        dump = {}
        for table in CONTENT_TABLES:
            columns = [c for c in store.columns(table) if c not in ("source_id", "origin")]
            names = ", ".join(f'"{c}"' for c in columns)
            dump[table] = sorted(store.query(f"SELECT {names} FROM {table}"), key=repr)
        return dump


def counts(archive_path: Path) -> dict[str, int]:
    with Archive.open(archive_path) as archive:
        return {e: archive.store.scalar(f"SELECT count(*) FROM {t}") for e, t in TABLE_OF.items()}


def members(output: Path) -> dict[str, bytes]:
    if output.is_dir():
        return {str(p.relative_to(output)): p.read_bytes() for p in sorted(output.rglob("*")) if p.is_file()}
    with zipfile.ZipFile(output) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def fidelity(archive_path: Path, output: Path) -> Any:
    with Archive.open(archive_path) as archive:
        report = verify_export(archive, output)
    assert report.ok, (report.problems, report.as_json()["attributes"])
    return report


def generated(tmp_path: Path) -> Path:
    dest = tmp_path / "generated.zip"
    write_export(ExportSpec(messages=2_500, users=30, seed=11), dest, as_zip=True)
    return dest


SLACK_SOURCES = {
    "testarchive": lambda tmp: sample("slack/slack-export-viewer-testarchive/testarchive.zip"),
    "slackdump-zip": lambda tmp: sample("slack/slackdump-fixtures/source_export.zip"),
    "slackdump-metadata": lambda tmp: sample("slack/slackdump-fixtures/export"),
    "generated": generated,
}


# -- Slack -> archive -> Slack -> archive -----------------------------------------------------
@pytest.mark.parametrize("case", sorted(SLACK_SOURCES))
def test_a_slack_round_trip_keeps_canonical_content_and_raw_json(case: str, tmp_path: Path) -> None:
    source = SLACK_SOURCES[case](tmp_path)
    ingest([source], tmp_path / "archive")
    report = export(tmp_path / "archive", "slack", tmp_path / "out.zip")
    ingest([tmp_path / "out.zip"], tmp_path / "reread", format="slack")

    before, after = content(tmp_path / "archive"), content(tmp_path / "reread")
    for table in CONTENT_TABLES:
        assert after[table] == before[table], table
    # Everything carried exactly, and the tally covers every entity of the archive once.
    archive_counts = counts(tmp_path / "archive")
    for entity in ENTITY_TYPES:
        assert sum(report.log.tally[entity].values()) == archive_counts[entity], entity
        assert set(report.log.tally[entity]) <= {"carried"}, (entity, report.log.tally[entity])
    assert report.log.notes == []
    fidelity(tmp_path / "archive", tmp_path / "out.zip")


def test_messages_are_written_verbatim_in_day_files_of_their_utc_date(tmp_path: Path) -> None:
    ingest([generated(tmp_path)], tmp_path / "archive")
    export(tmp_path / "archive", "slack", tmp_path / "out.zip")
    written = members(tmp_path / "out.zip")
    with Archive.open(tmp_path / "archive") as archive:
        raws = sorted(row[0] for row in archive.store.query("SELECT raw FROM items"))
    elements: list[bytes] = []
    for name, data in written.items():
        folder, _, day = name.rpartition("/")
        if not day.endswith(".json") or not folder or folder.startswith("__uploads"):
            continue
        records = msgspec.json.decode(data, type=list[msgspec.Raw])
        stamps = [msgspec.json.decode(r)["ts"] for r in records]
        assert [ts_to_micros(t) for t in stamps] == sorted(ts_to_micros(t) for t in stamps), name
        days = {time.strftime("%Y-%m-%d", time.gmtime(int(t.partition(".")[0]))) for t in stamps}
        assert days == {day.removesuffix(".json")}, name
        elements += [bytes(r) for r in records]
    assert sorted(elements) == raws  # each message once, its raw bytes exactly
    for required in ("users.json", "channels.json", "groups.json", "dms.json", "mpims.json"):
        assert required in written
    assert json.loads(written["integration_logs.json"]) == []


def test_private_channels_dms_and_group_dms_are_written_with_members(tmp_path: Path) -> None:
    ingest([generated(tmp_path)], tmp_path / "archive")
    export(tmp_path / "archive", "slack", tmp_path / "out")  # a folder this time
    out = tmp_path / "out"
    with Archive.open(tmp_path / "archive") as archive:
        messages = dict(
            archive.store.query(
                "SELECT s.native_id, count(i.id) FROM spaces s LEFT JOIN items i ON i.space_id = s.id"
                " GROUP BY s.id"
            )
        )
    for list_name in ("groups", "dms", "mpims"):
        records = json.loads((out / f"{list_name}.json").read_bytes())
        assert records, list_name
        for record in records:
            assert record["members"], record["id"]
            # A channel's folder by its name, a group DM's by its mpdm-… name, a DM's by its id.
            folder = record["id"] if list_name == "dms" else record["name"]
            assert list_name != "mpims" or folder.startswith("mpdm-")
            assert (out / folder).is_dir() == bool(messages[record["id"]]), folder
    ingest([out], tmp_path / "reread", format="slack")
    with Archive.open(tmp_path / "reread") as archive:
        by_kind = dict(
            archive.store.query(
                "SELECT s.kind, count(m.person_id) FROM spaces s JOIN memberships m ON m.space_id = s.id"
                " GROUP BY s.kind"
            )
        )
    assert by_kind.keys() >= {"private_channel", "direct_message", "group_message", "public_channel"}


def test_file_bytes_are_at_uploads_by_file_id(tmp_path: Path) -> None:
    ingest([generated(tmp_path)], tmp_path / "archive")
    report = export(tmp_path / "archive", "slack", tmp_path / "out.zip")
    written = members(tmp_path / "out.zip")
    with Archive.open(tmp_path / "archive") as archive:
        with_bytes = archive.store.query("SELECT native_id, sha256 FROM files WHERE sha256 IS NOT NULL")
        blobs = archive.blobs
        assert with_bytes
        uploads = {
            name.split("/")[1]: data for name, data in written.items() if name.startswith("__uploads/")
        }
        for native_id, sha in with_bytes:
            assert uploads[native_id] == blobs.path(sha).read_bytes()
    assert len(uploads) == len(with_bytes)
    assert report.log.tally["file"]["carried"] == counts(tmp_path / "archive")["file"]


def test_the_same_archive_gives_the_same_bytes_and_a_dry_run_the_same_tally(tmp_path: Path) -> None:
    ingest([generated(tmp_path)], tmp_path / "archive")
    first = export(tmp_path / "archive", "slack", tmp_path / "one.zip")
    export(tmp_path / "archive", "slack", tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    export(tmp_path / "archive", "slack", tmp_path / "folder")
    assert members(tmp_path / "folder") == members(tmp_path / "one.zip")

    dry = export(tmp_path / "archive", "slack", tmp_path / "dry.zip", dry_run=True)
    assert not (tmp_path / "dry.zip").exists() and not (tmp_path / "dry.zip.partial").exists()
    assert dry.log.tally == first.log.tally
    assert dry.log.notes == first.log.notes
    assert dry.bytes_written is not None and dry.bytes_written > 0


def test_message_changed_events_carry_their_revisions(tmp_path: Path) -> None:
    changed = message(
        "1600000100.000000",
        "",
        user=None,
        subtype="message_changed",
        message={"type": "message", "user": "U1", "text": "hello, world", "ts": "1600000000.000100",
                 "edited": {"user": "U1", "ts": "1600000100.000000"}},
        previous_message={"type": "message", "user": "U1", "text": "hello", "ts": "1600000000.000100"},
    )  # fmt: skip
    edited = message("1600000000.000100", "hello, world", edited={"user": "U1", "ts": "1600000100.000000"})
    source = build_export(tmp_path / "export", {"general/2020-09-13.json": [edited, changed]})
    ingest([source], tmp_path / "archive")
    report = export(tmp_path / "archive", "slack", tmp_path / "out.zip")
    assert report.log.tally["revision"]["carried"] == 2
    ingest([tmp_path / "out.zip"], tmp_path / "reread")
    assert content(tmp_path / "reread") == content(tmp_path / "archive")


def test_two_workspaces_merged_give_one_team_and_no_shared_folder(tmp_path: Path) -> None:
    one = build_export(
        tmp_path / "one", {"general/2020-09-13.json": [message("1600000000.000100", "team one")]}
    )
    users = [{"id": "V1", "team_id": "T2", "name": "zed", "profile": {}}]
    channels = [{"id": "C9", "name": "general", "created": 1600000000, "creator": "V1", "members": ["V1"]}]
    two = build_export(
        tmp_path / "two",
        {
            "users.json": users,
            "channels.json": channels,
            "general/2020-09-13.json": [message("1600000000.000200", "team two", user="V1")],
        },
    )
    ingest([one, two], tmp_path / "archive")
    report = export(tmp_path / "archive", "slack", tmp_path / "out")
    # The second 'general' keeps its record, in an Enterprise Grid folder of its own.
    assert (tmp_path / "out" / "teams" / "C9" / "general" / "2020-09-13.json").is_file()
    assert report.log.codes() == Counter(
        {"slack.workspace_lost": 1, "slack.folder_moved": 1, "slack.value_lost": 1}
    )
    fidelity(tmp_path / "archive", tmp_path / "out")
    ingest([tmp_path / "out"], tmp_path / "reread")
    before, after = content(tmp_path / "archive"), content(tmp_path / "reread")
    assert after["items"] == before["items"] and after["memberships"] == before["memberships"]


# -- an archive from another platform ----------------------------------------------------------
PLATFORM = "chatter"
T0 = 1_700_000_000_000_000  # microseconds
PNG = b"\x89PNG\r\n\x1a\n" + b"made-up image bytes" * 10


def _pid(native: str) -> str:
    return ids.person_id(PLATFORM, native)


def _sid(native: str) -> str:
    return ids.space_id(PLATFORM, native)


def _iid(space: str, native: str) -> str:
    return ids.item_id(PLATFORM, space, native)


def _body(text: str, *refs: Reference, fmt: str = "markdown") -> Body:
    return Body(format=fmt, source=text, normalised=text, references=refs)


def build_foreign_archive(path: Path) -> dict[str, Any]:
    """An archive of a made-up platform, written with ArchiveWriter: what the tests expect of it."""
    source = Source(
        id=ids.source_id(PLATFORM, "0" * 64), platform=PLATFORM, path="made-up", sha256="0" * 64, size=0,
        reader="made-up", reader_version="1", ingested_at="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    with Archive.open(path, create=True) as archive:
        w = ArchiveWriter(archive, source)

        def person(native: str, **values: Any) -> str:
            w.add(Person(id=_pid(native), platform=PLATFORM, native_id=native, **values))
            return _pid(native)

        def space(native: str, kind: SpaceKind, visibility: Visibility, **values: Any) -> str:
            w.add(Space(id=_sid(native), platform=PLATFORM, native_id=native, kind=kind, visibility=visibility,
                        **values))  # fmt: skip
            return _sid(native)

        def item(space_native: str, native: str, at: int | None, author: str | None, text: str | None,
                 **values: Any) -> str:  # fmt: skip
            values.setdefault("kind", ItemKind.MESSAGE)
            body = values.pop("body", None) or (_body(text) if text is not None else None)
            w.add(Item(id=_iid(space_native, native), platform=PLATFORM, native_id=native,
                       space_id=_sid(space_native), author_id=author, created_at=at, body=body,
                       created_native=None if at is None else f"{at // 1000}ms", **values))  # fmt: skip
            return _iid(space_native, native)

        alice = person("a1", name="Alice Smith", display_name="Alice", real_name="Alice Smith",
                       email="alice@example.org", timezone="Europe/Paris")  # fmt: skip
        bob = person("b2", name="bob", display_name="Bob", is_guest=True)
        bot = person("r3", name="deploy-bot", is_bot=True)
        gone = person("g4", name="gone", is_deleted=True)
        ghost = person("x5", is_placeholder=True)
        cy = person("c6", name="cy")

        team = space("team", SpaceKind.WORKSPACE, Visibility.PRIVATE, name="acme", display_name="Acme Corp",
                     purpose="we make things")  # fmt: skip
        general = space("general", SpaceKind.PUBLIC_CHANNEL, Visibility.PUBLIC, name="General Chat",
                        display_name="General chat", topic="hello", parent_id=team, creator_id=alice,
                        created_at=T0 - 86_400_000_000 + 123)  # fmt: skip
        clash = space("clash", SpaceKind.PUBLIC_CHANNEL, Visibility.PUBLIC, name="general-chat")  # no parent
        secret = space("secret", SpaceKind.PRIVATE_CHANNEL, Visibility.PRIVATE, name="secret.plans",
                       parent_id=team, is_archived=True)  # fmt: skip
        dm = space("dm", SpaceKind.DIRECT_MESSAGE, Visibility.PRIVATE, name="a1__b2", parent_id=team)
        gm = space("gm", SpaceKind.GROUP_MESSAGE, Visibility.PRIVATE, parent_id=team)
        blog = space("blog", SpaceKind.COMMUNITY, Visibility.PUBLIC, name="../../Blog", parent_id=team)
        for space_id, persons in ((general, [alice, bob, bot, gone]), (clash, [alice]), (secret, [alice, cy]),
                                  (dm, [alice, bob]), (gm, [alice, bob, cy]), (blog, [alice, bob])):  # fmt: skip
            for p in persons:
                w.add(Membership(space_id=space_id, person_id=p, role="owner" if p == alice else "member"))
        w.add(Membership(space_id=team, person_id=alice, role="admin"))
        w.add(Membership(space_id=secret, person_id=bob, role="admin"))

        mention = Reference(kind=RefKind.PERSON, target="b2", target_id=bob, label="bob")
        channel = Reference(kind=RefKind.SPACE, target="secret", target_id=secret, label="secret.plans")
        here = Reference(kind=RefKind.BROADCAST, target="here")
        link = Reference(kind=RefKind.LINK, target="https://example.org/?a=1&b=2", label="site")
        root = item("general", "m1", T0, alice, None, pinned=True,
                    body=_body("**Hi** @bob, see #secret.plans and [site](https://example.org/?a=1&b=2) @here <3",
                               mention, channel, here, link))  # fmt: skip
        reply = item("general", "m2", T0 + 1_000, bob, "a reply", thread_root_id=root, parent_id=root)
        broadcast = item("general", "m3", T0 + 2_000, alice, "also in the channel", thread_root_id=root,
                         parent_id=root, also_in_channel=True, edited_at=T0 + 5_000_000,
                         edited_by_id=alice)  # fmt: skip
        nested = item("general", "m4", T0 + 3_000, cy, "a nested reply", thread_root_id=root, parent_id=reply)
        twin_a = item("general", "m5", T0 + 10_000_000, alice, "same time a")
        twin_b = item("general", "m6", T0 + 10_000_000, bob, "same time b")
        timeless = item("general", "m7", None, alice, "no time at all")
        deleted = item(
            "general", "m8", T0 + 20_000_000, bob, "oops", deleted=True, deleted_at=T0 + 21_000_000
        )
        joined = item("general", "m9", T0 + 30_000_000, gone, "gone joined", kind=ItemKind.EVENT,
                      subtype="channel_join")  # fmt: skip
        custom_event = item("general", "m10", T0 + 31_000_000, None, "system says hi", kind=ItemKind.EVENT,
                            subtype="member_added")  # fmt: skip
        orphan = item("general", "m11", T0 + 40_000_000, bob, "reply to a lost root",
                      thread_root_id=_iid("general", "lost"), parent_id=_iid("general", "lost"))  # fmt: skip
        by_bot = item("general", "m12", T0 + 50_000_000, bot, "deployed v1.2")
        by_ghost = item("general", "m13", T0 + 60_000_000, ghost, "who am I")
        no_body = item("general", "m14", T0 + 70_000_000, alice, None)
        in_clash = item("clash", "c1", T0, alice, "in the other general")
        in_secret = item("secret", "s1", T0, cy, "top secret & <tags>")
        in_dm = item("dm", "d1", T0, alice, "psst")
        in_gm = item("gm", "g1", T0, cy, "hi both")
        post = item(
            "blog", "p1", T0, alice, "# Launch\n\nWe *launched* it.", kind=ItemKind.POST, title="Launch day"
        )
        comment = item("blog", "p2", T0 + 1, bob, "congrats", kind=ItemKind.COMMENT, thread_root_id=post,
                       parent_id=post)  # fmt: skip

        w.add(Revision(id=ids.revision_id(post, "v1"), item_id=post, native_id="v1", author_id=alice,
                       created_at=T0 - 1, body=_body("# Launch\n\ndraft"), comment="first draft"))  # fmt: skip
        for p, emoji, at in ((bob, "thumbsup", T0 + 1), (cy, "thumbsup::skin-tone-3", None), (alice, "👍", None),
                             (gone, "tada", T0 + 2)):  # fmt: skip
            w.add(Reaction(item_id=root, person_id=p, emoji=emoji, created_at=at))
        w.add(Reaction(item_id=in_dm, person_id=bob, emoji="eyes"))

        sha, size = w.put_blob_bytes(PNG)
        picture = ids.file_id(PLATFORM, "f1")
        w.add(File(id=picture, platform=PLATFORM, native_id="f1", name="../../etc/picture.png", title="A picture",
                   media_type="image/png", size=size, sha256=sha, author_id=alice, created_at=T0 + 7))  # fmt: skip
        missing = ids.file_id(PLATFORM, "f2")
        w.add(File(id=missing, platform=PLATFORM, native_id="f2", name="report.pdf", media_type="application/pdf",
                   missing_reason="expired link", url="https://files.example.org/f2"))  # fmt: skip
        emoji_sha, _ = w.put_blob_bytes(b"GIF89a party")
        party = ids.file_id(PLATFORM, "emoji:party")
        w.add(File(id=party, platform=PLATFORM, native_id="emoji:party", name="party.gif", sha256=emoji_sha))
        w.add(ItemFile(item_id=reply, file_id=picture, position=0))
        w.add(ItemFile(item_id=reply, file_id=missing, position=1))
        w.add(ItemFile(item_id=in_dm, file_id=picture, position=0))  # the same file shared twice
        w.finish()
    return {
        "persons": {"alice": alice, "bob": bob, "bot": bot, "gone": gone, "ghost": ghost, "cy": cy},
        "spaces": {"team": team, "general": general, "clash": clash, "secret": secret, "dm": dm, "gm": gm,
                   "blog": blog},
        "items": {"root": root, "reply": reply, "broadcast": broadcast, "nested": nested, "twin_a": twin_a,
                  "twin_b": twin_b, "timeless": timeless, "deleted": deleted, "joined": joined,
                  "custom_event": custom_event, "orphan": orphan, "by_bot": by_bot, "by_ghost": by_ghost,
                  "no_body": no_body, "in_clash": in_clash, "in_secret": in_secret, "in_dm": in_dm,
                  "in_gm": in_gm, "post": post, "comment": comment},
        "files": {"picture": picture, "missing": missing, "party": party},
        "png_sha": sha,
    }  # fmt: skip


def _reread_items(reread: Path) -> dict[str, dict[str, Any]]:
    """The re-read archive's items, by the archive id their record carries in 'passerelle'."""
    with Archive.open(reread) as archive:
        cursor = archive.store.conn.execute("SELECT * FROM items")
        columns = [d[0] for d in cursor.description]
        found = {}
        for row in cursor:
            record = dict(zip(columns, row, strict=True))
            record["json"] = json.loads(record["raw"])
            found[record["json"]["passerelle"]["id"]] = record
        return found


def test_an_archive_from_another_platform_becomes_a_valid_slack_export(tmp_path: Path) -> None:
    expected = build_foreign_archive(tmp_path / "archive")
    report = export(tmp_path / "archive", "slack", tmp_path / "out.zip")
    manifest = read_manifest(members(tmp_path / "out.zip")[MANIFEST])
    archive_counts = counts(tmp_path / "archive")
    for entity in ENTITY_TYPES:
        assert sum(report.log.tally[entity].values()) == archive_counts[entity], entity

    [read] = ingest([tmp_path / "out.zip"], tmp_path / "reread", format="slack")
    assert read.diagnostics.get("error", 0) == 0
    assert "slack.unknown_field" not in read.codes  # the 'passerelle' key is known to the reader
    assert "slack.duplicate_ts" not in read.codes

    items = _reread_items(tmp_path / "reread")
    assert set(items) == set(expected["items"].values())  # every item, paired by passerelle.id
    persons, spaces = manifest.persons, manifest.spaces
    e = expected["items"]
    with Archive.open(tmp_path / "archive") as archive:
        authors = dict(archive.store.query("SELECT id, author_id FROM items"))
    for archive_id, record in items.items():
        author = authors[archive_id]
        if author is None:
            assert record["author_id"] is None
        else:
            assert record["author_id"] == ids.person_id("slack", persons[author]), archive_id

    # Threads: thread_ts on the root and its replies; a reply also in the channel is a broadcast.
    root, reply = items[e["root"]], items[e["reply"]]
    assert root["json"]["thread_ts"] == root["json"]["ts"]
    assert root["json"]["reply_count"] == 3
    assert root["json"]["reply_users"] == [persons[p] for p in (expected["persons"]["bob"],
                                                                 expected["persons"]["alice"],
                                                                 expected["persons"]["cy"])]  # fmt: skip
    for reply_key in ("reply", "broadcast", "nested"):
        assert items[e[reply_key]]["thread_root_id"] == root["id"]
    assert items[e["broadcast"]]["also_in_channel"] == 1
    assert items[e["broadcast"]]["json"]["subtype"] == "thread_broadcast"
    assert items[e["nested"]]["json"]["passerelle"]["parent_id"] == e["reply"]
    assert items[e["comment"]]["thread_root_id"] == items[e["post"]]["id"]
    assert items[e["orphan"]]["thread_root_id"] is None
    assert items[e["orphan"]]["json"]["passerelle"]["thread_root_id"] == ids.item_id(
        PLATFORM, "general", "lost"
    )

    # Times: exact to the microsecond, unique in the conversation; the original beside.
    assert root["created_at"] == T0 and root["created_native"] == "1700000000.000000"
    twins = items[e["twin_a"]]["created_at"], items[e["twin_b"]]["created_at"]
    assert sorted(twins) == [T0 + 10_000_000, T0 + 10_000_001]
    assert items[e["timeless"]]["json"]["passerelle"]["created_at"] is None
    assert items[e["broadcast"]]["edited_at"] == T0 + 5_000_000
    assert items[e["broadcast"]]["edited_by_id"] == ids.person_id(
        "slack", persons[expected["persons"]["alice"]]
    )

    # Kinds, subtypes, pins, tombstones, titles, bodies.
    assert items[e["deleted"]]["deleted"] == 1 and items[e["deleted"]]["json"]["subtype"] == "tombstone"
    assert items[e["joined"]]["kind"] == "event" and items[e["joined"]]["subtype"] == "channel_join"
    assert items[e["custom_event"]]["kind"] == "message"
    assert items[e["custom_event"]]["json"]["passerelle"]["kind"] == "event"
    assert root["pinned"] == 1
    assert items[e["post"]]["json"]["passerelle"]["title"] == "Launch day"
    assert items[e["post"]]["json"]["passerelle"]["body"] == {"format": "markdown",
                                                              "source": "# Launch\n\nWe *launched* it."}  # fmt: skip
    assert items[e["post"]]["json"]["passerelle"]["revisions"][0]["source"] == "# Launch\n\ndraft"
    text = root["json"]["text"]
    bob_slack, secret_slack = persons[expected["persons"]["bob"]], spaces[expected["spaces"]["secret"]]
    assert text == (f"*Hi* <@{bob_slack}|bob>, see <#{secret_slack}|secret.plans> and"
                    " <https://example.org/?a=1&amp;b=2|site> <!here> &lt;3")  # fmt: skip
    assert (
        root["body_text"]
        == "**Hi** @bob, see #secret.plans and [site](https://example.org/?a=1&b=2) @here <3"
    )
    assert items[e["in_secret"]]["json"]["text"] == "top secret &amp; &lt;tags&gt;"
    assert items[e["in_secret"]]["body_text"] == "top secret & <tags>"

    # Reactions grouped by emoji (skin tones and pictographs kept), without times.
    with Archive.open(tmp_path / "reread") as reread:
        reactions = Counter(r[0] for r in reread.store.query("SELECT emoji FROM reactions"))
        assert reread.store.scalar("SELECT count(*) FROM reactions WHERE created_at IS NOT NULL") == 0
        files = {r[0]: r[1:] for r in reread.store.query("SELECT native_id, name, sha256, raw FROM files")}
        kinds = dict(reread.store.query("SELECT native_id, kind FROM spaces"))
        member_counts = dict(
            reread.store.query("SELECT space_id, count(*) FROM memberships GROUP BY space_id")
        )
    assert reactions == Counter({"thumbsup": 1, "thumbsup::skin-tone-3": 1, "👍": 1, "tada": 1, "eyes": 1})
    names = [r["name"] for r in root["json"]["reactions"]]  # by time, then the undated ones by user
    assert names[:2] == ["thumbsup", "tada"] and set(names[2:]) == {"thumbsup::skin-tone-3", "👍"}

    # Files: bytes at __uploads/<id>/<a safe name>; one without bytes keeps its metadata.
    written = members(tmp_path / "out.zip")
    uploads = [name for name in written if name.startswith("__uploads/")]
    picture_id = next(
        f["id"] for f in reply["json"]["files"] if f["passerelle"]["id"] == expected["files"]["picture"]
    )
    assert f"__uploads/{picture_id}/picture.png" in uploads
    assert written[f"__uploads/{picture_id}/picture.png"] == PNG
    assert files[picture_id][:2] == ("../../etc/picture.png", expected["png_sha"])
    [missing] = [f for f in reply["json"]["files"] if f["passerelle"]["id"] == expected["files"]["missing"]]
    assert missing["passerelle"]["missing_reason"] == "expired link" and files[missing["id"]][1] is None
    assert items[e["in_dm"]]["json"]["files"][0]["id"] == picture_id  # one file, shared twice
    # The loose file (a custom emoji): its bytes are kept, its record is lost (said in a note).
    assert any(name.endswith("/party.gif") for name in uploads)
    assert [n.code for n in manifest.notes if n.entity_id == expected["files"]["party"]] == [
        "slack.loose_file"
    ]

    # Conversations: private ones, the DM and the group DM, with members; names to Slack's rules.
    s = expected["spaces"]
    assert kinds[spaces[s["secret"]]] == "private_channel" and kinds[spaces[s["dm"]]] == "direct_message"
    assert kinds[spaces[s["gm"]]] == "group_message" and kinds[spaces[s["blog"]]] == "public_channel"
    assert member_counts[ids.space_id("slack", spaces[s["gm"]])] == 3
    assert member_counts[ids.space_id("slack", spaces[s["dm"]])] == 2
    channels = {c["passerelle"]["id"]: c for c in json.loads(written["channels.json"])}
    # A name already valid is kept; the one that had to change takes the suffix.
    assert (
        channels[s["clash"]]["name"] == "general-chat" and channels[s["general"]]["name"] == "general-chat-2"
    )
    assert channels[s["general"]]["passerelle"]["name"] == "General Chat"
    assert channels[s["blog"]]["name"] == "blog"
    assert json.loads(written["groups.json"])[0]["name"] == "secret-plans"
    assert json.loads(written["mpims.json"])[0]["name"] == "mpdm-alice.smith--bob--cy-1"
    # The workspace became the team: every user's team_id.
    users = json.loads(written["users.json"])
    assert {u.get("team_id") for u in users} == {spaces[s["team"]]}
    assert all(u["passerelle"]["id"] in expected["persons"].values() for u in users)
    assert expected["persons"]["ghost"] not in {u["passerelle"]["id"] for u in users}  # a placeholder

    # Every difference is explained by a note of the export.
    fidelity(tmp_path / "archive", tmp_path / "out.zip")
    codes = report.log.codes()
    for code in ("slack.ts_nudged", "slack.time_missing", "slack.channel_renamed", "slack.user_renamed",
                 "slack.kind_adapted", "slack.body_converted", "slack.reaction_time_lost",
                 "slack.revision_kept_aside", "slack.thread_unlinked", "slack.loose_file",
                 "slack.workspace_adapted", "slack.value_kept_aside", "slack.value_lost",
                 "slack.membership_lost", "slack.native_time_replaced"):  # fmt: skip
        assert codes[code], code


def test_equal_times_are_moved_on_by_a_microsecond_even_in_a_chain(tmp_path: Path) -> None:
    source = Source(id="src_x", platform=PLATFORM, path="x", sha256="1" * 64, size=0, reader="x",
                    reader_version="1", ingested_at="2026-01-01T00:00:00+00:00")  # fmt: skip
    with Archive.open(tmp_path / "archive", create=True) as archive:
        w = ArchiveWriter(archive, source)
        w.add(Space(id=_sid("s"), platform=PLATFORM, native_id="s", kind=SpaceKind.PUBLIC_CHANNEL,
                    visibility=Visibility.PUBLIC, name="s"))  # fmt: skip
        for native, at in (("a", T0), ("b", T0), ("c", T0 + 1), ("d", None), ("e", T0 + 5)):
            w.add(Item(id=_iid("s", native), platform=PLATFORM, native_id=native, kind=ItemKind.MESSAGE,
                       space_id=_sid("s"), created_at=at, body=_body(native)))  # fmt: skip
        w.finish()
    report = export(tmp_path / "archive", "slack", tmp_path / "out")
    records = json.loads((tmp_path / "out" / "s" / "2023-11-14.json").read_bytes())
    times = {r["passerelle"]["id"]: ts_to_micros(r["ts"]) for r in records}
    # No time: just before the first; a and b (in id order) t and t+1, c t+2 (t+1 is taken), e t+5.
    offsets = {n: times[_iid("s", n)] - T0 for n in "abcde"}
    assert offsets["d"] == -1 and {offsets["a"], offsets["b"]} == {0, 1}
    assert offsets["c"] == 2 and offsets["e"] == 5
    assert report.log.codes()["slack.ts_nudged"] == 2 and report.log.codes()["slack.time_missing"] == 1
    fidelity(tmp_path / "archive", tmp_path / "out")


def test_a_foreign_export_is_deterministic_and_its_dry_run_writes_nothing(tmp_path: Path) -> None:
    build_foreign_archive(tmp_path / "archive")
    first = export(tmp_path / "archive", "slack", tmp_path / "one.zip")
    export(tmp_path / "archive", "slack", tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    dry = export(tmp_path / "archive", "slack", tmp_path / "dry", dry_run=True)
    assert not (tmp_path / "dry").exists()
    assert dry.log.tally == first.log.tally and dry.log.notes == first.log.notes


def test_a_second_round_trip_of_a_foreign_export_is_the_identity(tmp_path: Path) -> None:
    """Once written as Slack, the data is Slack's own: exporting it again changes nothing."""
    build_foreign_archive(tmp_path / "archive")
    export(tmp_path / "archive", "slack", tmp_path / "one.zip")
    ingest([tmp_path / "one.zip"], tmp_path / "slack-archive", format="slack")
    report = export(tmp_path / "slack-archive", "slack", tmp_path / "two.zip")
    ingest([tmp_path / "two.zip"], tmp_path / "reread", format="slack")
    assert content(tmp_path / "reread") == content(tmp_path / "slack-archive")
    # The loose emoji's bytes came back as an unrecognised entry: no record, nothing to note.
    assert report.log.notes == []


# -- names and markup ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("General Chat", "general-chat"),
        ("release.notes v2", "release-notes-v2"),
        ("Équipe Café", "équipe-café"),
        ("../../etc", "etc"),
        ("a" * 100, "a" * 80),
        ("!!!", ""),
    ],
)
def test_channel_names_follow_slacks_rules(given: str, expected: str) -> None:
    assert channel_name(given) == expected


def test_user_handles_follow_slacks_rules() -> None:
    assert user_handle("Alice Smith") == "alice.smith"
    assert user_handle("  Bob  ") == "bob"
    assert user_handle("x<y>z") == "xyz"


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("plain text", "plain text"),
        ("**bold** and *italic* and _also_ and ~~gone~~", "*bold* and _italic_ and _also_ and ~gone~"),
        ("**bold _inner_**", "*bold _inner_*"),
        ("a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"),
        ("`a < b` and ```\n**x**\n```", "`a &lt; b` and ```\n**x**\n```"),
        ("[label](https://x.org/a?b=1&c=2)", "<https://x.org/a?b=1&amp;c=2|label>"),
        ("<https://x.org>", "<https://x.org>"),
        ("![alt](https://x.org/i.png)", "<https://x.org/i.png|alt>"),
        ("# Title\n* one\n+ two", "*Title*\n- one\n- two"),
        ("snake_case_name stays", "snake_case_name stays"),
        ("2 * 3 * 4", "2 * 3 * 4"),
    ],
)
def test_commonmark_becomes_mrkdwn(markdown: str, mrkdwn: str) -> None:
    assert to_mrkdwn(markdown) == mrkdwn


def test_mentions_are_rewritten_only_where_references_say_so() -> None:
    mentions = Mentions(persons={"bob": "UB"}, spaces={"town": "CT"}, broadcasts={"here", "all"})
    text = "@bob and @bobby, #town ~town #towns, @here @all email@bob"
    converted = "<@UB|bob> and @bobby, <#CT|town> <#CT|town> #towns, <!here> <!channel> email@bob"
    assert to_mrkdwn(text, mentions) == converted
    assert to_mrkdwn("@bob", Mentions()) == "@bob"


@pytest.mark.parametrize(
    "markdown",
    [
        "hello :wave:",
        "**bold** and *italic* and ~~gone~~",
        "snake_case_name",
        "[label](https://x.org/?a=1&b=2) and <https://y.org>",
        "a < b && c > d, `x <y>`",
        "@bob in #town @here",
    ],
)
def test_these_bodies_read_back_exactly(markdown: str) -> None:
    mentions = Mentions(persons={"bob": "UB"}, spaces={"town": "CT"}, broadcasts={"here"})
    assert is_exact(to_mrkdwn(markdown, mentions), markdown)


@pytest.mark.parametrize("markdown", ["_also_ italic", "# Title", "~town and @all", "* bullet"])
def test_these_bodies_read_back_differently(markdown: str) -> None:
    mentions = Mentions(spaces={"town": "CT"}, broadcasts={"all"})
    assert not is_exact(to_mrkdwn(markdown, mentions), markdown)
