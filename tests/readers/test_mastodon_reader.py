"""The Mastodon account-archive reader: an archive holding every feature, hostile archives,
and the HTML-to-CommonMark conversion."""

from __future__ import annotations

import functools
import hashlib
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from passerelle.archive import Archive
from passerelle.archive.writer import ArchiveWriter
from passerelle.errors import BadInputError
from passerelle.info import archive_info
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.readers import mastodon
from passerelle.readers.mastodon import MastodonReader, html_text, status_item_id
from passerelle.readers.source_tree import SourceTree
from tests.helpers import canonical_dump, diagnostics, ingest_verified, rows
from tests.helpers import item_by_native as item
from tests.mastodon_builder import (
    ACTOR,
    BOB,
    CAROL,
    JPEG,
    PNG,
    ZIP_NAME,
    actor,
    announce,
    build_archive,
    build_feature_archive,
    create,
    feature_items,
    media,
    media_path,
    note,
    outbox_json,
    status_uri,
    to_json,
)
from tests.mattermost_builder import build_export, feature_lines

P = "mastodon"
BOB_78 = "https://remote.example/users/bob/statuses/78"


@pytest.fixture(scope="module")
def feature(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("mastodon")
    return ingest_verified(tmp, build_feature_archive(tmp / ZIP_NAME))


def spc(native: str) -> str:
    return ids.space_id(P, native)


def per(native: str) -> str:
    return ids.person_id(P, native)


# -- the feature archive -------------------------------------------------------------------------------
def test_feature_archive_counts_and_diagnostics(feature: Path) -> None:
    with Archive.open(feature) as opened:
        info = archive_info(opened.store)
    # 18 elements: 14 Creates, 2 Announces, an Update and a string; 2 likes, 2 bookmarks (+ one 42).
    assert info["counts"] == {
        "persons": 3,  # alice, and bob and carol as placeholders
        "spaces": 7,  # public, unlisted, followers, a direct, a group, likes, bookmarks
        "memberships": 10,  # alice in 5 of her spaces as owner; 2 + 3 in the direct ones
        "items": 20,  # 16 statuses and boosts, 4 likes and bookmarks
        "thread_roots": 2,  # status 6, and bob's post that status 9 replies to
        "thread_replies": 3,
        "reactions": 0,
        "files": 9,  # avatar, header, 4 attachments, an emoji, an orphan, notes.txt
        "files_with_content": 7,  # not: an attachment missing, the emoji
        "revisions": 0,
        "references": 14,  # 3 + 1 + 1 + 2 + 1 in statuses, 2 boosts, 2 likes, 2 bookmarks
    }
    assert diagnostics(feature) == [
        ("mastodon.account_not_in_archive", "outbox.json#2", None),
        ("mastodon.account_not_in_archive", "outbox.json#4", None),
        ("mastodon.boost_not_in_archive", "outbox.json#10", None),
        ("mastodon.collection_fields", "bookmarks.json", None),
        ("mastodon.collection_fields", "likes.json", None),
        ("mastodon.collection_fields", "outbox.json", None),
        ("mastodon.emoji_not_in_archive", "outbox.json#0/tag/1", None),
        ("mastodon.invalid_record", "bookmarks.json#2", "bookmark"),
        ("mastodon.invalid_record", "outbox.json#17", "activity"),
        ("mastodon.media_missing", "outbox.json#13/attachment/1", None),
        ("mastodon.parent_not_in_archive", "outbox.json#8", None),
        ("mastodon.unknown_activity", "outbox.json#16", "activity"),
        ("mastodon.unknown_entry", "notes.txt", None),
        ("mastodon.unreferenced_file", "media_attachments/files/110/999/000/original/orphan.png", None),
    ]


def test_the_account_and_placeholders(feature: Path, tmp_path: Path) -> None:
    assert sorted(rows(feature, "SELECT native_id, name, display_name, is_placeholder, is_bot, origin FROM persons")) == [
        (ACTOR, "alice", "Alice Liddell ✨", 0, 0, "actor.json"),
        (CAROL, "carol", None, 1, 0, "outbox.json#4"),
        (BOB, "bob@remote.example", None, 1, 0, "outbox.json#2"),
    ]  # fmt: skip
    [(raw,)] = rows(feature, "SELECT raw FROM persons WHERE native_id = ?", (ACTOR,))
    assert raw == to_json(actor())  # actor.json, byte for byte
    # The avatar and header are the account's files, named by the actor (every archive has an avatar.png).
    assert sorted(rows(feature, "SELECT native_id, name, media_type, sha256, url FROM files WHERE origin LIKE 'actor.json/%'")) == [
        (f"{ACTOR}#avatar", "avatar.png", "image/png", hashlib.sha256(PNG).hexdigest(), "avatar.png"),
        (f"{ACTOR}#header", "header.jpg", "image/jpeg", hashlib.sha256(JPEG).hexdigest(), "header.jpg"),
    ]  # fmt: skip


def test_ids_are_deterministic(feature: Path) -> None:
    """An item's id is its status URI's under the conversation "statuses": a reply names its
    parent's id from the URI alone, in this archive or in any other."""
    first = item(feature, status_uri(1))
    assert first["id"] == status_item_id(status_uri(1)) == ids.item_id(P, "statuses", status_uri(1))
    assert first["space_id"] == spc(f"public:{ACTOR}")
    assert first["author_id"] == per(ACTOR)
    boost = item(feature, f"{status_uri(11)}/activity")
    assert boost["id"] == ids.item_id(P, "statuses", f"{status_uri(11)}/activity")
    like = item(feature, "https://other.example/users/dan/statuses/1")
    assert like["id"] == ids.item_id(P, f"likes:{ACTOR}", "https://other.example/users/dan/statuses/1")


def test_raw_is_the_exact_element_of_ordered_items(feature: Path) -> None:
    for n, element in enumerate(feature_items()[:16]):
        [(raw, origin)] = rows(
            feature, "SELECT raw, origin FROM items WHERE origin = ?", (f"outbox.json#{n}",)
        )
        assert raw == to_json(element), origin
    [(raw,)] = rows(feature, "SELECT raw FROM items WHERE origin = 'likes.json#0'")
    assert raw == to_json(BOB_78)
    # What could not become data is kept in its diagnostic.
    [(kept,)] = rows(feature, "SELECT raw FROM diagnostics WHERE \"where\" = 'outbox.json#16'")
    assert kept == to_json(feature_items()[16])
    [(kept,)] = rows(feature, "SELECT raw FROM diagnostics WHERE \"where\" = 'bookmarks.json#2'")
    assert kept == b"42"


def test_spaces_follow_the_audience(feature: Path) -> None:
    """Privacy survives: public and unlisted posts are public, followers-only posts private,
    direct posts in a private space of exactly their people."""
    assert sorted(rows(feature, "SELECT native_id, kind, visibility, name, display_name FROM spaces")) == sorted([
        (f"public:{ACTOR}", "community", "public", "public", "@alice@mastodon.example public posts"),
        (f"unlisted:{ACTOR}", "community", "public", "unlisted", "@alice@mastodon.example unlisted posts"),
        (f"followers:{ACTOR}", "community", "private", "followers", "@alice@mastodon.example followers-only posts"),
        (f"direct:{ACTOR} {BOB}", "direct_message", "private", None, None),
        (f"direct:{ACTOR} {CAROL} {BOB}", "group_message", "private", None, None),
        (f"likes:{ACTOR}", "community", "private", "likes", "@alice@mastodon.example likes"),
        (f"bookmarks:{ACTOR}", "community", "private", "bookmarks", "@alice@mastodon.example bookmarks"),
    ])  # fmt: skip
    by_space = dict(
        rows(
            feature,
            "SELECT s.native_id, group_concat(i.native_id) FROM items i JOIN spaces s ON s.id = i.space_id GROUP BY 1",
        )
    )
    assert by_space[f"followers:{ACTOR}"] == status_uri(3)
    assert by_space[f"unlisted:{ACTOR}"] == status_uri(2)
    assert by_space[f"direct:{ACTOR} {BOB}"] == status_uri(4)
    assert by_space[f"direct:{ACTOR} {CAROL} {BOB}"] == status_uri(5)
    members = rows(feature, "SELECT s.native_id, p.native_id, m.role FROM memberships m JOIN spaces s ON s.id = m.space_id"
                            " JOIN persons p ON p.id = m.person_id WHERE s.kind != 'community'")  # fmt: skip
    assert sorted(members) == sorted([
        (f"direct:{ACTOR} {BOB}", ACTOR, "member"), (f"direct:{ACTOR} {BOB}", BOB, "member"),
        (f"direct:{ACTOR} {CAROL} {BOB}", ACTOR, "member"), (f"direct:{ACTOR} {CAROL} {BOB}", BOB, "member"),
        (f"direct:{ACTOR} {CAROL} {BOB}", CAROL, "member"),
    ])  # fmt: skip
    owners = rows(
        feature,
        "SELECT count(*) FROM memberships m JOIN spaces s ON s.id = m.space_id WHERE s.kind = 'community' AND m.role = 'owner'",
    )
    assert owners == [(5,)]


def test_threads_inside_and_outside_the_archive(feature: Path) -> None:
    root = status_item_id(status_uri(6))
    assert (item(feature, status_uri(6))["kind"], item(feature, status_uri(6))["thread_root_id"]) == (
        "post",
        None,
    )
    middle, end = item(feature, status_uri(7)), item(feature, status_uri(8))
    assert (middle["kind"], middle["parent_id"], middle["thread_root_id"]) == ("comment", root, root)
    assert (end["parent_id"], end["thread_root_id"]) == (status_item_id(status_uri(7)), root)
    # A reply to bob's post, which is not in the archive: it names the item that post would be.
    outside = status_item_id("https://remote.example/users/bob/statuses/77")
    reply = item(feature, status_uri(9))
    assert (reply["kind"], reply["parent_id"], reply["thread_root_id"]) == ("comment", outside, outside)
    assert rows(
        feature, "SELECT entity_id FROM diagnostics WHERE code = 'mastodon.parent_not_in_archive'"
    ) == [(outside,)]


def test_boosts(feature: Path) -> None:
    own, other = item(feature, f"{status_uri(10)}/activity"), item(feature, f"{status_uri(11)}/activity")
    assert (own["kind"], own["subtype"], own["body_format"], own["body_source"]) == (
        "post",
        "announce",
        "text",
        status_uri(6),
    )
    assert own["body_text"] == f"<{status_uri(6)}>"
    assert other["body_refs"] == f'[{{"kind":"link","target":"{BOB_78}","target_id":null,"label":null}}]'
    assert other["created_native"] == "2023-01-05T00:00:00Z" and other["space_id"] == spc(f"public:{ACTOR}")
    # Only the boost of a post outside the archive is said.
    assert rows(feature, "SELECT \"where\", entity_id FROM diagnostics WHERE code = 'mastodon.boost_not_in_archive'") == [
        ("outbox.json#10", status_item_id(BOB_78))
    ]  # fmt: skip


def test_poll_edit_content_warning_languages_and_context(feature: Path) -> None:
    poll = item(feature, status_uri(12))
    assert (poll["subtype"], poll["body_text"]) == ("Question", "Tea or coffee?\n\n- Tea\n- Coffee")
    edited = item(feature, status_uri(13))
    assert edited["created_native"] == "2023-01-04T01:00:00.123456Z"
    assert edited["created_at"] == 1_672_794_000_123_456  # the microseconds kept
    assert (edited["edited_native"], edited["edited_at"], edited["edited_by_id"]) == (
        "2023-01-04T02:00:00Z", 1_672_797_600_000_000, per(ACTOR))  # fmt: skip
    warned = item(feature, status_uri(14))
    assert (warned["title"], warned["body_text"]) == ("Spoilers: the end", "spoiler inside")
    assert b'"sensitive":true' in warned["raw"]
    languages = item(feature, status_uri(15))
    assert languages["body_source"] == "<p>Bonjour</p>"
    assert b'"contentMap":{"fr":"\\u003cp\\u003eBonjour\\u003c/p\\u003e","en"' in languages["raw"]
    older = item(feature, status_uri(16))  # a Create that kept its @context, as older versions wrote
    assert older["raw"].startswith(b'{"@context":') and older["body_text"] == "an old one"


def test_attachments_and_files(feature: Path) -> None:
    files = rows(feature, "SELECT x.position, f.native_id, f.title, f.media_type, f.sha256, f.missing_reason FROM item_files x"
                          " JOIN files f ON f.id = x.file_id JOIN items i ON i.id = x.item_id WHERE i.native_id = ?",
                 (status_uri(14),))  # fmt: skip
    assert sorted(files) == [
        (0, media_path(3, "jpg"), "The ending", "image/jpeg", hashlib.sha256(JPEG).hexdigest(), None),
        (1, media_path(4), "gone", "image/png", None, f"not in the archive ({media_path(4)!r})"),
    ]
    [(count,)] = rows(feature, "SELECT count(*) FROM item_files")
    assert count == 4
    # Media no post refers to and a stray file are kept, as files attached to no item.
    loose = rows(feature, "SELECT native_id, sha256 FROM files WHERE id NOT IN (SELECT file_id FROM item_files)"
                          " AND origin NOT LIKE 'actor.json%' AND native_id NOT LIKE 'emoji:%'")  # fmt: skip
    assert sorted(n for n, _ in loose) == [
        "media_attachments/files/110/999/000/original/orphan.png",
        "notes.txt",
    ]
    emoji = rows(feature, "SELECT name, sha256, url FROM files WHERE native_id = 'emoji:blobcat'")
    assert emoji == [("blobcat", None, "https://mastodon.example/system/custom_emojis/images/blobcat.png")]


def test_bodies_and_references(feature: Path) -> None:
    first = item(feature, status_uri(1))
    assert first["body_format"] == "html"
    assert (
        first["body_text"]
        == "Hello #intro :blobcat: see <https://example.org/a/long/path>\n\nSecond\nline & more"
    )
    assert first["body_refs"] == (
        '[{"kind":"link","target":"https://mastodon.example/tags/intro","target_id":null,"label":"#intro"},'
        '{"kind":"emoji","target":"blobcat","target_id":null,"label":null},'
        '{"kind":"link","target":"https://example.org/a/long/path","target_id":null,"label":null}]'
    )
    group = item(feature, status_uri(5))
    assert group["body_text"] == "@bob @carol all three"
    assert group["body_refs"] == (
        f'[{{"kind":"person","target":"{BOB}","target_id":"{per(BOB)}","label":"@bob"}},'
        f'{{"kind":"person","target":"{CAROL}","target_id":"{per(CAROL)}","label":"@carol"}}]'
    )


def test_likes_and_bookmarks_are_events(feature: Path) -> None:
    events = rows(feature, "SELECT i.subtype, i.native_id, s.name, s.visibility, i.author_id, i.created_at FROM items i"
                           " JOIN spaces s ON s.id = i.space_id WHERE i.kind = 'event' ORDER BY i.origin")  # fmt: skip
    assert events == [
        ("bookmark", status_uri(6), "bookmarks", "private", per(ACTOR), None),
        (
            "bookmark",
            "https://remote.example/users/bob/statuses/79",
            "bookmarks",
            "private",
            per(ACTOR),
            None,
        ),
        ("like", BOB_78, "likes", "private", per(ACTOR), None),
        ("like", "https://other.example/users/dan/statuses/1", "likes", "private", per(ACTOR), None),
    ]


def test_zip_and_folder_give_the_same_records(tmp_path: Path) -> None:
    zipped = ingest_verified(tmp_path, build_feature_archive(tmp_path / ZIP_NAME), "a")
    folder = ingest_verified(tmp_path, build_feature_archive(tmp_path / "folder", layout="folder"), "b")
    for table in ("persons", "spaces", "items", "files", "item_files", "memberships"):
        columns = "*" if table in ("item_files",) else "id, raw, origin"
        if table == "memberships":
            columns = "space_id, person_id, role, origin"
        assert rows(zipped, f"SELECT {columns} FROM {table} ORDER BY 1, 2") == rows(
            folder, f"SELECT {columns} FROM {table} ORDER BY 1, 2"
        )
    [(a,)], [(b,)] = (
        rows(zipped, "SELECT count(*) FROM diagnostics"),
        rows(folder, "SELECT count(*) FROM diagnostics"),
    )
    assert a == b == 14


# -- detection ----------------------------------------------------------------------------------------------
def test_detection(tmp_path: Path) -> None:
    def detect(path: Path) -> bool:
        tree = SourceTree.open(path)
        try:
            return MastodonReader.detect(tree)
        finally:
            tree.close()

    assert detect(build_feature_archive(tmp_path / ZIP_NAME))
    assert detect(build_feature_archive(tmp_path / "folder", layout="folder"))
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "outbox.json").write_bytes(outbox_json([]))
    assert detect(alone / "outbox.json") and detect(alone)
    assert not detect(build_export(tmp_path / "mm", feature_lines()))  # a Mattermost export
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "outbox.json").write_text('{"not": "a collection"}')
    assert not detect(tmp_path / "other")


def test_the_older_tar_gz_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    source = tmp_path / "archive-20200102030405-0123456789abcdef0123456789abcdef.tar.gz"
    unnamed = tmp_path / "backup.tar.gz"
    for path in (source, unnamed):
        with tarfile.open(path, "w:gz") as tar:
            for name, data in ((media_path(1), PNG), ("outbox.json", outbox_json([]))):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        with pytest.raises(BadInputError, match=r"older \.tar\.gz container.*unpack it"):
            ingest([path], tmp_path / "archive")
        with pytest.raises(BadInputError, match="unpack it"):
            ingest([path], tmp_path / "archive", format="mastodon")
    assert not (tmp_path / "archive").exists()  # refused by `check`, before the archive is made


# -- hostile and damaged archives ------------------------------------------------------------------------------
def small_items() -> list[Any]:
    return [create(note(n, f"<p>post {n}</p>", published=f"2023-02-0{n}T00:00:00Z")) for n in range(1, 6)]


def test_a_truncated_outbox_keeps_what_precedes_the_break(tmp_path: Path) -> None:
    whole = outbox_json(small_items())
    cut = whole[: whole.index(b"post 4")]  # in the middle of the fourth item
    archive = ingest_verified(tmp_path, build_archive(tmp_path / ZIP_NAME, [], outbox=cut))
    assert [n for (n,) in rows(archive, "SELECT native_id FROM items ORDER BY origin")] == [
        status_uri(n) for n in (1, 2, 3)
    ]
    [(where, dropped, message)] = rows(
        archive, "SELECT \"where\", dropped, message FROM diagnostics WHERE code = 'mastodon.invalid_json'"
    )
    assert (where, dropped) == ("outbox.json#3", "items")
    sha = hashlib.sha256(cut).hexdigest()
    assert sha in message
    with Archive.open(archive) as opened:
        assert opened.blobs.has(sha)  # the whole file's bytes are kept


def test_an_element_that_is_not_json_stops_the_reading_there(tmp_path: Path) -> None:
    items: list[Any] = small_items()
    items[2] = b'{"id": not json}'
    archive = ingest_verified(tmp_path, build_archive(tmp_path / ZIP_NAME, items))
    assert rows(archive, "SELECT count(*) FROM items") == [(2,)]
    assert ("mastodon.invalid_json", "outbox.json#2", "items") in diagnostics(archive)


def test_an_outbox_that_is_not_json_leaves_the_rest_read(tmp_path: Path) -> None:
    archive = ingest_verified(
        tmp_path, build_archive(tmp_path / ZIP_NAME, [], outbox=b"\x00garbage", likes=[BOB_78])
    )
    assert ("mastodon.invalid_json", "outbox.json", "file") in diagnostics(archive)
    assert rows(archive, "SELECT native_id FROM items") == [(BOB_78,)]
    assert rows(archive, "SELECT native_id FROM persons") == [(ACTOR,)]


def test_an_outbox_not_utf8_is_read_as_cp1252(tmp_path: Path) -> None:
    data = outbox_json(small_items()).replace(b"post 2", b"caf\xe9 2")
    archive = ingest_verified(tmp_path, build_archive(tmp_path / "folder", [], outbox=data, layout="folder"))
    assert item(archive, status_uri(2))["body_text"] == "café 2"
    assert ("source.not_utf8", "outbox.json", None) in diagnostics(archive)


def test_without_actor_json_the_account_comes_from_the_posts(tmp_path: Path) -> None:
    source = build_archive(tmp_path / ZIP_NAME, small_items(), actor_record=b"", avatar=None, header=None)
    # actor.json empty: not JSON
    archive = ingest_verified(tmp_path, source)
    assert rows(archive, "SELECT native_id, name, is_placeholder FROM persons") == [
        (ACTOR, "alice@mastodon.example", 1)
    ]
    assert ("mastodon.invalid_json", "actor.json", "file") in diagnostics(archive)
    assert ("mastodon.no_actor", "actor.json", None) in diagnostics(archive)
    assert item(archive, status_uri(1))["space_id"] == spc(f"public:{ACTOR}")


def test_a_status_given_twice_and_a_reply_cycle(tmp_path: Path) -> None:
    items = [
        create(note(1, "<p>first</p>")),
        create(note(1, "<p>first, again</p>")),
        create(note(2, "<p>a</p>", in_reply_to=status_uri(3))),
        create(note(3, "<p>b</p>", in_reply_to=status_uri(2))),
    ]
    archive = ingest_verified(tmp_path, build_archive(tmp_path / ZIP_NAME, items))
    assert item(archive, status_uri(1))["body_source"] == "<p>first</p>"
    assert ("mastodon.duplicate_record", "outbox.json#1", "activity") in diagnostics(archive)
    a, b = item(archive, status_uri(2)), item(archive, status_uri(3))
    assert (a["parent_id"], a["thread_root_id"]) == (b["id"], None)  # taken as the root of the cycle
    assert (b["parent_id"], b["thread_root_id"]) == (a["id"], a["id"])
    assert ("mastodon.reply_cycle", "outbox.json#2", None) in diagnostics(archive)


def test_hostile_and_odd_attachment_paths(tmp_path: Path) -> None:
    attachments = [
        media("../../etc/passwd"),
        media("https://cdn.example/media_attachments/files/1/original/x.png"),
        media("/media_attachments/files/110/001/000/original/0000000000000001.png"),  # a CDN leaves the /
        media("/prefix/media_attachments/files/110/002/000/original/0000000000000002.png"),
        {"type": "Link", "href": "https://example.org/card"},  # a preview card
        {"type": "Document"},
    ]
    files = {media_path(1): PNG, media_path(2): JPEG}
    source = build_archive(tmp_path / ZIP_NAME, [create(note(1, attachments=attachments))], media_files=files)
    archive = ingest_verified(tmp_path, source)
    stored = dict(rows(archive, "SELECT f.url, f.sha256 FROM files f JOIN item_files x ON x.file_id = f.id"))
    assert stored == {
        "../../etc/passwd": None,
        "https://cdn.example/media_attachments/files/1/original/x.png": None,
        attachments[2]["url"]: hashlib.sha256(PNG).hexdigest(),
        attachments[3]["url"]: hashlib.sha256(JPEG).hexdigest(),
    }
    reasons = [
        r
        for (r,) in rows(
            archive, "SELECT missing_reason FROM files WHERE sha256 IS NULL AND native_id NOT LIKE 'emoji:%'"
        )
    ]
    assert sorted(reasons) == [
        "'https://cdn.example/media_attachments/files/1/original/x.png' is a link, not a file of the archive",
        "the path '../../etc/passwd' escapes the archive; not read",
    ]
    assert ("mastodon.invalid_record", "outbox.json#0/attachment/5", "attachment") in diagnostics(archive)
    assert '"target":"https://example.org/card"' in item(archive, status_uri(1))["body_refs"]


def test_unsafe_zip_entries_are_refused(tmp_path: Path) -> None:
    source = build_archive(tmp_path / ZIP_NAME, small_items(), extra={"../evil.txt": b"x", "/abs.txt": b"y"})
    archive = ingest_verified(tmp_path, source)
    assert {
        ("source.unsafe_path", "../evil.txt", "entry"),
        ("source.unsafe_path", "/abs.txt", "entry"),
    } <= set(diagnostics(archive))


def test_an_interrupted_ingest_resumes_to_the_same_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = build_feature_archive(tmp_path / ZIP_NAME)
    monkeypatch.setattr(mastodon, "PAGE_ITEMS", 4)
    # Commit at every unit, as a long run does every 500,000 rows.
    monkeypatch.setattr("passerelle.ingest.ArchiveWriter", functools.partial(ArchiveWriter, commit_every=1))
    ingest([source], tmp_path / "clean")
    original = MastodonReader._element
    calls = {"n": 0}

    def failing(self: MastodonReader, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 11:
            raise KeyboardInterrupt
        original(self, *args)

    monkeypatch.setattr(MastodonReader, "_element", failing)
    with pytest.raises(KeyboardInterrupt):
        ingest([source], tmp_path / "resumed")
    assert rows(tmp_path / "resumed", "SELECT unit FROM source_units ORDER BY unit") == [
        ("actor",), ("outbox",), ("outbox:0",), ("outbox:4",)
    ]  # fmt: skip
    monkeypatch.setattr(MastodonReader, "_element", original)
    [report] = ingest([source], tmp_path / "resumed")
    assert report.status == "resumed"
    assert canonical_dump(tmp_path / "resumed") == canonical_dump(tmp_path / "clean")


def test_mentions_and_visibility_with_compact_public_and_odd_values(tmp_path: Path) -> None:
    obj = note(1, "<p>hi</p>", published="yesterday", updated=7)
    obj["to"], obj["cc"] = ["as:Public"], []
    other = note(2, "<p>unlisted</p>")
    other["to"], other["cc"] = [], ["Public"]
    archive = ingest_verified(tmp_path, build_archive(tmp_path / ZIP_NAME, [create(obj), create(other)]))
    first = item(archive, status_uri(1))
    assert (first["space_id"], first["created_at"], first["created_native"], first["edited_at"]) == (
        spc(f"public:{ACTOR}"), None, "yesterday", None)  # fmt: skip
    assert item(archive, status_uri(2))["space_id"] == spc(f"unlisted:{ACTOR}")
    said = [w for c, w, _ in diagnostics(archive) if c == "mastodon.invalid_value"]
    assert said == ["outbox.json#0", "outbox.json#0"]


def test_a_boost_addressed_to_followers_of_another_account_is_not_a_person(tmp_path: Path) -> None:
    boost = announce(1, BOB_78)
    boost["cc"].append("https://remote.example/users/bob/followers")
    archive = ingest_verified(tmp_path, build_archive(tmp_path / ZIP_NAME, [boost]))
    assert sorted(n for (n,) in rows(archive, "SELECT native_id FROM persons")) == [ACTOR, BOB]


# -- HTML to CommonMark ----------------------------------------------------------------------------------------
def test_html_text_structure() -> None:
    html = (
        "<h2>Title</h2><p>a <strong>bold</strong> and <em>soft</em> <code>x()</code> <del>no</del></p>"
        "<blockquote><p>quoted<br>twice</p></blockquote><ul><li>one</li><li>two</li></ul>"
        "<ol><li>first</li><li>second</li></ol><pre><code>if x:\n    y()</code></pre>"
        '<p><a href="https://example.org/">a site</a> <script>alert(1)</script>&lt;tag&gt;</p>'
    )
    text, refs = html_text(html)
    assert text == (
        "## Title\n\na **bold** and *soft* `x()` ~~no~~\n\n> quoted\n> twice\n\n- one\n- two\n\n"
        "1. first\n2. second\n\n```\nif x:\n    y()\n```\n\n[a site](https://example.org/) <tag>"
    )
    assert [(r.kind.value, r.target, r.label) for r in refs] == [("link", "https://example.org/", "a site")]


def test_html_text_matches_mentions_by_name_then_host() -> None:
    two_bobs = [
        mastodon._Mention("https://a.example/users/bob", "@bob@a.example"),
        mastodon._Mention("https://b.example/users/bob", "@bob@b.example"),
    ]
    html = (
        '<p><a href="https://b.example/@bob" class="u-url mention">@<span>bob</span></a> '
        '<a href="https://a.example/@bob" class="u-url mention">@<span>bob@a.example</span></a></p>'
    )
    text, refs = html_text(html, two_bobs, [("#unseen", "https://x.example/tags/unseen")], ["unseen_emoji"])
    assert text == "@bob @bob@a.example"
    assert [(r.kind.value, r.target, r.label) for r in refs] == [
        ("person", "https://b.example/users/bob", "@bob"),
        ("person", "https://a.example/users/bob", "@bob@a.example"),
        ("link", "https://x.example/tags/unseen", "#unseen"),  # tags the text does not show follow
        ("emoji", "unseen_emoji", None),
    ]


def test_html_text_survives_broken_markup() -> None:
    text, refs = html_text('<p>open <a href="https://x.example/">never closed <b>bold')
    assert text == "open [never closed **bold](https://x.example/)"
    assert len(refs) == 1
    assert html_text("")[0] == "" and html_text("plain & simple")[0] == "plain & simple"


def test_a_generated_archive_is_read_and_verified(tmp_path: Path) -> None:
    from tests.mastodon_builder import write_generated

    archive = ingest_verified(tmp_path, write_generated(tmp_path / ZIP_NAME, layout="zip"))
    [(items, replies)] = rows(archive, "SELECT count(*), count(parent_id) FROM items WHERE kind != 'event'")
    assert items == 1_500 and replies > 100
    assert rows(archive, "SELECT count(*) FROM diagnostics WHERE severity = 'error'") == [(0,)]
    assert rows(archive, "SELECT count(*) FROM items WHERE space_id NOT IN (SELECT id FROM spaces)") == [(0,)]
    assert rows(archive, "SELECT count(DISTINCT kind) FROM spaces") == [(3,)]
    assert media("x")["url"] == "x" and actor()["id"] == ACTOR  # the builder's own shapes
