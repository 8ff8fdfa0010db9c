"""The Mattermost bulk-import writer: the output checked field by field against the format
and its limits (formats-chat.md §3, §11), every bad input of issue 3 with its note, the
accounting, determinism, dry runs, and round trips through the Mattermost reader."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from passerelle.archive import Archive
from passerelle.archive.view import ArchiveView
from passerelle.demo.slack_export import ExportSpec, write_export
from passerelle.errors import BadInputError
from passerelle.export import MANIFEST, ExportReport, export
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.verify import fidelity
from passerelle.writers import mattermost
from passerelle.writers.base import ENTITY_TABLES
from tests.mattermost_builder import FEATURE_FILES, feature_lines, generated_lines
from tests.mattermost_builder import build_export as build_mattermost
from tests.slack_builder import CHANNELS, USERS, build_export, message

# -- the format, as the importer checks it -----------------------------------------------------------
ORDER = ["version", "emoji", "team", "channel", "user", "bot", "post", "direct_channel", "direct_post"]
USERNAME = re.compile(r"[a-z][a-z0-9._\-]{2,21}")
CHANNEL = re.compile(r"[a-z0-9](?:[a-z0-9_\-]{0,62}[a-z0-9])")
TEAM = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])")
EMOJI = re.compile(r"[a-zA-Z0-9_+\-]{1,64}")
RESERVED_TEAM = (
    "admin",
    "api",
    "channel",
    "claim",
    "error",
    "files",
    "help",
    "landing",
    "login",
    "post",
    "signup",
)
LINE_MAX = 16 * 1024 * 1024


def sorted_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return list(value) == sorted(value) and all(sorted_keys(v) for v in value.values())
    if isinstance(value, list):
        return all(sorted_keys(v) for v in value)
    return True


class Output:
    """An export read back: its lines, member names and manifest."""

    def __init__(self, path: Path) -> None:
        with zipfile.ZipFile(path) as zf:
            self.names = set(zf.namelist())
            self.data = zf.read("import.jsonl")
            self.manifest = json.loads(zf.read(MANIFEST))
            self.files = {n: zf.read(n) for n in self.names if n.startswith("data/")}
        self.raw_lines = self.data.split(b"\n")
        assert self.raw_lines[-1] == b"", "the file ends with a line break"
        self.lines = [json.loads(line) for line in self.raw_lines[:-1]]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [line[kind] for line in self.lines if line["type"] == kind]

    def posts(self) -> list[dict[str, Any]]:
        """Every post, direct post and reply."""
        found = []
        for line in self.lines:
            if line["type"] in ("post", "direct_post"):
                post = line[line["type"]]
                found.append(post)
                found.extend(post.get("replies") or [])
        return found

    def by_item(self, item_id: str) -> list[dict[str, Any]]:
        return [p for p in self.posts() if p["props"].get("passerelle", {}).get("id") == item_id]

    def notes(self, code: str) -> list[dict[str, Any]]:
        return [n for n in self.manifest["notes"] if n["code"] == code]


def check_import(out: Output, *, from_mattermost: bool = False, server_team: str | None = None) -> None:
    """Every rule of formats-chat.md §3.1 to §3.4 and §11 that the importer applies. Records
    read from Mattermost are written as their source wrote them: roles are compared as sets,
    and a guest's team and channel roles are the source's."""
    kinds = [line["type"] for line in out.lines]
    assert kinds[0] == "version" and out.lines[0]["version"] == 1
    assert out.lines[0]["info"]["generator"] == "passerelle"
    ranks = [ORDER.index(k) for k in kinds]
    assert ranks == sorted(ranks), "lines in the documented order"
    for raw, line in zip(out.raw_lines, out.lines, strict=False):
        assert len(raw) <= LINE_MAX
        assert set(line) == {"type", line["type"]} or line["type"] == "version"
        assert sorted_keys(line), raw[:200]
    teams: set[str] = set()
    for team in out.of("team"):
        name = team["name"]
        assert TEAM.fullmatch(name) and not name.startswith(RESERVED_TEAM), name
        assert name not in teams
        teams.add(name)
        assert 1 <= len(team["display_name"]) <= 64
        assert team["type"] in ("O", "I")
        assert len(team.get("description", "").encode()) <= 50
    if server_team is not None:
        teams.add(server_team)  # a team of the server the import goes into (the team option)
    channels: set[tuple[str, str]] = set()
    for channel in out.of("channel"):
        assert channel["team"] in teams
        assert CHANNEL.fullmatch(channel["name"]), channel["name"]
        key = (channel["team"], channel["name"])
        assert key not in channels
        channels.add(key)
        assert channel["type"] in ("O", "P")
        assert len(channel.get("display_name", "")) <= 64
        assert len(channel.get("header", "")) <= 1024
        assert len(channel.get("purpose", "")) <= 250
        assert channel.get("deleted_at", 1) > 0
    users: set[str] = set()
    emails: set[str] = set()
    for user in out.of("user"):
        name = user["username"]
        assert USERNAME.fullmatch(name) and name not in {"all", "channel", "here", "matterbot", "system"}
        assert name not in users
        users.add(name)
        email = user["email"]
        assert "@" in email and len(email.encode()) <= 128 and email.lower() not in emails
        emails.add(email.lower())
        for field, limit in (("nickname", 64), ("first_name", 64), ("last_name", 64), ("position", 128)):
            assert len(user.get(field, "")) <= limit
        roles = set(user.get("roles", "system_user").split())
        assert roles in ({"system_user"}, {"system_guest"}) or from_mattermost
        guest = roles == {"system_guest"} and not from_mattermost
        for team in user.get("teams", []):
            assert team["name"] in teams
            roles = set(team["roles"].split())
            assert roles == {"team_guest"} if guest else roles in ({"team_user"}, {"team_admin", "team_user"})
            for channel in team.get("channels", []):
                assert (team["name"], channel["name"]) in channels
                roles = set(channel["roles"].split())
                expected = (
                    [{"channel_guest"}] if guest else [{"channel_user"}, {"channel_user", "channel_admin"}]
                )
                assert roles in expected
    for bot in out.of("bot"):
        assert bot["owner"] in users
        users.add(bot["username"])
    directs: set[tuple[str, ...]] = set()
    for direct in out.of("direct_channel"):
        members = direct["members"]
        assert 2 <= len(members) <= 8 and set(members) <= users
        assert len(members) == 2 or len(set(members)) == len(members)
        key = tuple(sorted(members))
        assert key not in directs
        directs.add(key)
        assert len(direct.get("header", "")) <= 1024
    for emoji in out.of("emoji"):
        assert EMOJI.fullmatch(emoji["name"])
        assert "data/" + emoji["image"] in out.names
    # Mattermost's keys: (channel, message, create_at) for a post, (members, user, message,
    # create_at) for a direct post, (root, message, create_at) for a reply.
    keys: Counter[tuple[Any, ...]] = Counter()
    roots: dict[tuple[Any, ...], str] = {}
    for line in out.lines:
        kind = line["type"]
        if kind not in ("post", "direct_post"):
            continue
        post = line[kind]
        if kind == "post":
            assert (post["team"], post["channel"]) in channels or from_mattermost
            where: tuple[Any, ...] = (post["team"], post["channel"])
        else:
            # What a Mattermost source used without defining it stays undefined (see the notes).
            assert tuple(sorted(post["channel_members"])) in directs or from_mattermost
            where = (tuple(sorted(post["channel_members"])), post["user"])
        check_post(post, users, out, from_mattermost)
        post_key = (where, post["message"], post["create_at"])
        keys[post_key] += 1
        roots[post_key] = post.get("props", {}).get("passerelle", {}).get("id", "")
        reply_keys: set[tuple[str, int]] = set()
        for reply in post.get("replies") or []:
            check_post(reply, users, out, from_mattermost)
            assert set(reply) <= {"user", "message", "create_at", "props", "edit_at", "reactions",
                                  "attachments", "is_pinned", "type", "flagged_by"}  # fmt: skip
            reply_key = (reply["message"], reply["create_at"])
            assert reply_key not in reply_keys, f"two replies with the key {reply_key}"
            reply_keys.add(reply_key)
    # A root written on several lines (a thread over 16 MiB) is the same post, said in a note.
    split = {n["entity_id"] for n in out.notes("mattermost.thread_line_split")}
    for post_key, n in keys.items():
        assert n == 1 or roots[post_key] in split, f"two posts with the key {post_key}"


def check_post(post: dict[str, Any], users: set[str], out: Output, from_mattermost: bool = False) -> None:
    assert post["user"] in users or from_mattermost
    assert isinstance(post["message"], str) and len(post["message"]) <= 16_383
    assert isinstance(post["create_at"], int) and post["create_at"] > 0
    props = json.dumps(post.get("props", {}), ensure_ascii=False, separators=(",", ":"))
    assert len(props) <= 800_000
    reactions = post.get("reactions") or []
    assert len(reactions) <= 50
    seen = set()
    for reaction in reactions:
        assert reaction["user"] in users or from_mattermost
        assert EMOJI.fullmatch(reaction["emoji_name"]), reaction["emoji_name"]
        assert reaction["create_at"] >= post["create_at"]
        assert (reaction["user"], reaction["emoji_name"]) not in seen or from_mattermost
        seen.add((reaction["user"], reaction["emoji_name"]))
    attachments = post.get("attachments") or []
    assert len(attachments) <= 10
    for attachment in attachments:
        # A Mattermost source's attachment stays named even without its file (the importer warns).
        assert "data/" + attachment["path"] in out.names or from_mattermost, attachment
        assert ".." not in attachment["path"].split("/")
    if "is_pinned" in post:
        assert post["is_pinned"] is True


# -- building archives ----------------------------------------------------------------------------------
def slack_archive(tmp_path: Path, files: dict[str, Any], name: str = "archive") -> Path:
    source = tmp_path / f"{name}-export"
    source.mkdir()
    build_export(source, files)
    ingest([source], tmp_path / name)
    return tmp_path / name


def run(archive: Path, tmp_path: Path, name: str = "out.zip", **options: str) -> tuple[ExportReport, Output]:
    report = export(archive, "mattermost", tmp_path / name, options=options)
    return report, Output(tmp_path / name)


def archive_counts(archive: Path) -> dict[str, int]:
    with Archive.open(archive) as opened:
        return {e: int(opened.store.scalar(f"SELECT count(*) FROM {t}")) for e, t in ENTITY_TABLES.items()}


def tally_totals(report: ExportReport) -> dict[str, int]:
    return {entity: sum(c.values()) for entity, c in report.log.tally.items()}


def verify_with_rules(archive: Path, output: Path) -> fidelity.FidelityReport:
    """The fidelity check (it takes the writer's rule checks from ``rule_checks``)."""
    with Archive.open(archive) as opened:
        return fidelity.verify_export(opened, output)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, ExportReport, Output]:
    tmp = tmp_path_factory.mktemp("demo")
    write_export(ExportSpec(messages=1_500, users=30, seed=3), tmp / "slack.zip", as_zip=True)
    ingest([tmp / "slack.zip"], tmp / "archive")
    report, out = run(tmp / "archive", tmp)
    return tmp / "archive", tmp / "out.zip", report, out


def u(i: int) -> dict[str, Any]:
    return {"id": f"U{i}", "team_id": "T1", "name": f"user{i}", "profile": {"email": f"user{i}@example.org"}}


# -- the demo archive ---------------------------------------------------------------------------------
def test_demo_export_follows_the_format(demo: tuple[Path, Path, ExportReport, Output]) -> None:
    _, _, _, out = demo
    check_import(out)
    assert {line["type"] for line in out.lines} >= {"version", "team", "channel", "user", "post", "direct_channel",
                                                     "direct_post"}  # fmt: skip
    # Every post of a Slack item carries its archive id; the exact time where milliseconds cut it.
    for post in out.posts():
        passerelle = post["props"]["passerelle"]
        assert passerelle["id"].startswith("itm_")
        if "created_native" in passerelle and "part" not in passerelle:
            seconds, micro = passerelle["created_native"].split(".")
            assert post["create_at"] >= int(seconds + micro) // 1000


def test_demo_tally_totals_equal_the_archive_counts(demo: tuple[Path, Path, ExportReport, Output]) -> None:
    archive, _, report, out = demo
    assert tally_totals(report) == archive_counts(archive)
    assert out.manifest["tally"] == {e: dict(sorted(c.items())) for e, c in report.log.tally.items()}
    # Every archive item is written: as many distinct ids in the posts as items.
    assert len({p["props"]["passerelle"]["id"] for p in out.posts()}) == archive_counts(archive)["item"]


def test_demo_attachments_are_the_archive_bytes(demo: tuple[Path, Path, ExportReport, Output]) -> None:
    archive, _, _, out = demo
    with Archive.open(archive) as opened:
        shas = {r[0] for r in opened.store.query("SELECT sha256 FROM files WHERE sha256 IS NOT NULL")}
    written = {hashlib.sha256(data).hexdigest() for data in out.files.values()}
    assert written == shas
    missing = [n for p in out.posts() for n in p["props"]["passerelle"].get("missing_files", [])]
    assert len(out.notes("mattermost.file_missing")) >= len(set(missing)) > 0


def test_demo_round_trip_explains_every_difference(demo: tuple[Path, Path, ExportReport, Output]) -> None:
    archive, output, _, _ = demo
    report = verify_with_rules(archive, output)
    assert report.ok, report.problems[:10]
    # Skin tones are written in Mattermost's notation, and paired by that rule.
    assert any(code == "mattermost.emoji_skin_tone" for (_, _, code) in report.attributes)


def test_output_is_deterministic(demo: tuple[Path, Path, ExportReport, Output], tmp_path: Path) -> None:
    archive, output, _, _ = demo
    export(archive, "mattermost", tmp_path / "again.zip")
    assert (tmp_path / "again.zip").read_bytes() == output.read_bytes()


def test_dry_run_gives_the_same_tally_and_writes_nothing(
    demo: tuple[Path, Path, ExportReport, Output], tmp_path: Path
) -> None:
    archive, _, report, out = demo
    dry = export(archive, "mattermost", tmp_path / "dry.zip", dry_run=True)
    assert not (tmp_path / "dry.zip").exists() and list(tmp_path.iterdir()) == []
    assert dry.log.tally == report.log.tally
    assert dry.log.codes() == report.log.codes()
    assert dry.bytes_written is not None and dry.bytes_written >= len(out.data)


def test_folder_output_holds_the_same_files(
    demo: tuple[Path, Path, ExportReport, Output], tmp_path: Path
) -> None:
    archive, _, _, out = demo
    export(archive, "mattermost", tmp_path / "folder")
    assert (tmp_path / "folder" / "import.jsonl").read_bytes() == out.data
    written = {
        str(p.relative_to(tmp_path / "folder")) for p in (tmp_path / "folder").rglob("*") if p.is_file()
    }
    assert written == out.names


# -- Slack archives with each bad input ------------------------------------------------------------------
def test_a_strict_round_trip_from_slack(tmp_path: Path) -> None:
    pdf = b"%PDF-1.4 report"
    channels = [*CHANNELS, {"id": "C2", "name": "Café Équipe", "created": 1600000000, "members": ["U1"]}]
    files = {
        "channels.json": channels,
        "general/2020-09-13.json": [
            message("1600000000.000001", "hello <@U2> and <!everyone>, see <#C2|Café Équipe>",
                    reactions=[{"name": "eyes", "users": ["U2"], "count": 1}], pinned_to=["C1"],
                    files=[{"id": "F1", "name": "report.pdf", "size": len(pdf)}]),
            message("1600000001.000001", "a reply", thread_ts="1600000000.000001", user="U2",
                    edited={"user": "U2", "ts": "1600000009.000009"}),
            message("1600000002.500000", "joined", subtype="channel_join"),
        ],
        "Café Équipe/2020-09-13.json": [message("1600000003.000001", "bonjour")],
        "__uploads/F1/report.pdf": pdf,
    }  # fmt: skip
    archive = slack_archive(tmp_path, files)
    report, out = run(archive, tmp_path)
    check_import(out)
    post = out.by_item(ids.item_id("slack", "C1", "1600000000.000001"))[0]
    assert post["message"] == "hello @bob and @all, see ~cafe-equipe"
    assert post["is_pinned"] is True
    assert [r["emoji_name"] for r in post["reactions"]] == ["eyes"]
    assert out.files["data/" + post["attachments"][0]["path"]] == pdf
    reply = post["replies"][0]
    assert reply["edit_at"] == 1600000009000 and reply["message"] == "a reply"
    joined = out.by_item(ids.item_id("slack", "C1", "1600000002.500000"))[0]
    assert joined["props"]["passerelle"] == {
        "id": ids.item_id("slack", "C1", "1600000002.500000"),
        "kind": "event",
        "subtype": "channel_join",
    }  # 1600000002.500000 is exact in milliseconds: no created_native
    result = verify_with_rules(archive, tmp_path / "out.zip")
    assert result.ok, result.problems
    assert tally_totals(report) == archive_counts(archive)


def test_a_message_over_every_limit(tmp_path: Path) -> None:
    long_text = ("word " * 5000 + "\n") * 2  # 50,002 characters: four parts
    uploads = {f"__uploads/F{i}/f{i}.txt": f"file {i}".encode() for i in range(12)}
    files_meta = [{"id": f"F{i}", "name": f"f{i}.txt"} for i in range(12)]
    users = [*USERS, *(u(i) for i in range(10, 70))]
    reactions = [{"name": f"e{i}", "users": [f"U{10 + i}"], "count": 1} for i in range(60)]
    files = {
        "users.json": users,
        "general/2020-09-13.json": [
            message("1600000000.000001", long_text, files=files_meta, reactions=reactions),
            message("1600000001.000001", "x" * 40_000, thread_ts="1600000000.000001"),
        ],
        **uploads,
    }
    archive = slack_archive(tmp_path, files)
    report, out = run(archive, tmp_path)
    check_import(out)
    item = ids.item_id("slack", "C1", "1600000000.000001")
    parts = out.by_item(item)
    # Four parts of at most 16,383 characters, cut at the line break, then at spaces: the
    # parts are the text again, but for the line break each cut at a line break drops.
    assert [p["props"]["passerelle"]["part"] for p in parts] == [1, 2, 3, 4]
    assert all(p["props"]["passerelle"]["parts"] == 4 for p in parts)
    assert all(len(p["message"]) <= 16_383 for p in parts)
    assert "".join(p["message"] for p in parts).replace("\n", "") == long_text.replace("\n", "")
    assert sum(len(p.get("attachments", [])) for p in parts) == 12
    assert len(parts[0]["reactions"]) == 50
    assert len(out.notes("mattermost.reaction_limit")) == 10
    split = {n["entity_id"] for n in out.notes("mattermost.message_split")}
    assert split == {item, ids.item_id("slack", "C1", "1600000001.000001")}
    assert [n["entity_id"] for n in out.notes("mattermost.attachments_split")] == [item]
    # The reply's own parts are replies of the same root, after it.
    reply_parts = out.by_item(ids.item_id("slack", "C1", "1600000001.000001"))
    assert len(reply_parts) == 3 and all(p in parts[0]["replies"] for p in reply_parts)
    assert tally_totals(report) == archive_counts(archive)


def test_texts_over_their_limits_are_cut(tmp_path: Path) -> None:
    channel = {**CHANNELS[0], "topic": {"value": "t" * 2000}, "purpose": {"value": "p" * 300}}
    ada = {"id": "U1", "team_id": "T1", "name": "ada",
           "profile": {"display_name": "d" * 80, "title": "x" * 200, "email": "ada@example.org"}}  # fmt: skip
    users = [ada, *USERS[1:]]
    archive = slack_archive(tmp_path, {"channels.json": [channel], "users.json": users})
    _, out = run(archive, tmp_path)
    check_import(out)
    written = out.of("channel")[0]
    assert len(written["header"]) == 1024 and written["header"].endswith("…")
    assert len(written["purpose"]) == 250
    ada = next(x for x in out.of("user") if x["username"] == "ada")
    assert len(ada["nickname"]) == 64 and len(ada["position"]) == 128
    cut = {(n["entity_id"], n["attribute"]) for n in out.notes("mattermost.text_truncated")}
    assert (ids.space_id("slack", "C1"), "topic") in cut and (ids.space_id("slack", "C1"), "purpose") in cut
    assert (ids.person_id("slack", "U1"), "display_name") in cut
    original = next(
        n["original"] for n in out.notes("mattermost.text_truncated") if n["attribute"] == "topic"
    )
    assert original == "t" * 2000


def test_channel_names_empty_after_normalisation_or_meeting(tmp_path: Path) -> None:
    channels = [
        *CHANNELS,
        {"id": "C2", "name": "日本語", "created": 1600000001, "members": ["U1"]},
        {"id": "C3", "name": "General", "created": 1600000002, "members": ["U1"]},
        {"id": "C4", "name": "général", "created": 1600000003, "members": ["U1"]},
        {"id": "C5", "name": "general-2", "created": 1600000004, "members": ["U1"]},
        {"id": "C6", "name": "_x", "created": 1600000005, "members": ["U1"]},
    ]
    archive = slack_archive(tmp_path, {"channels.json": channels})
    report, out = run(archive, tmp_path)
    check_import(out)
    names = {n: report.log.spaces[ids.space_id("slack", c)] for n, c in
             (("general", "C1"), ("jp", "C2"), ("General", "C3"), ("général", "C4"), ("g2", "C5"), ("x", "C6"))}  # fmt: skip
    team = out.of("team")[0]["name"]
    assert names["general"] == f"{team}/general"  # unchanged: first
    assert names["g2"] == f"{team}/general-2"  # its own name, never taken by a suffix
    assert {names["General"], names["général"]} == {f"{team}/general-3", f"{team}/general-4"}
    assert names["jp"] == f"{team}/channel-{ids.space_id('slack', 'C2')[4:12]}"
    assert names["x"] == f"{team}/channel-x"
    renamed = {n["entity_id"]: n["original"] for n in out.notes("mattermost.channel_renamed")}
    assert renamed[ids.space_id("slack", "C2")] == "日本語"
    assert renamed[ids.space_id("slack", "C4")] == "général"
    # Display names keep the original names.
    assert {c["display_name"] for c in out.of("channel")} >= {"日本語", "général", "General"}


def test_users_without_email_and_sharing_one(tmp_path: Path) -> None:
    users = [*USERS, {"id": "U4", "team_id": "T1", "name": "ada2", "profile": {"email": "ADA@example.org"}}]
    archive = slack_archive(tmp_path, {"users.json": users}, "archive")
    _, out = run(archive, tmp_path, email_domain="corp.example")
    check_import(out)
    emails = {x["username"]: x["email"] for x in out.of("user")}
    assert emails["bob"] == "bob@corp.example" and emails["robot"] == "robot@corp.example"
    assert emails["ada"] == "ada@example.org" and emails["ada2"] == "ada2@corp.example"
    generated = {n["entity_id"] for n in out.notes("mattermost.email_generated")}
    assert ids.person_id("slack", "U2") in generated
    changed = out.notes("mattermost.email_changed")
    assert [(n["entity_id"], n["original"]) for n in changed] == [
        (ids.person_id("slack", "U4"), "ADA@example.org")
    ]
    deleted = next(x for x in out.of("user") if x["username"] == "bob")
    assert deleted["delete_at"] > 0
    robot = next(x for x in out.of("user") if x["username"] == "robot")
    assert robot["roles"] == "system_user"
    assert [n["entity_id"] for n in out.notes("mattermost.bot_as_user")] == [ids.person_id("slack", "U3")]


def test_a_reply_whose_root_is_missing(tmp_path: Path) -> None:
    files = {
        "general/2020-09-14.json": [message("1600090000.000002", "orphan", thread_ts="1600000000.000001")]
    }
    archive = slack_archive(tmp_path, files)
    _, out = run(archive, tmp_path)
    check_import(out)
    item = ids.item_id("slack", "C1", "1600090000.000002")
    (post,) = out.by_item(item)
    assert post in out.of("post")  # a root post
    assert post["props"]["passerelle"]["thread_root_id"] == ids.item_id("slack", "C1", "1600000000.000001")
    assert [n["entity_id"] for n in out.notes("mattermost.thread_root_missing")] == [item]
    assert verify_with_rules(archive, tmp_path / "out.zip").ok


def test_a_file_without_bytes(tmp_path: Path) -> None:
    meta = [{"id": "F1", "name": "gone.pdf", "mode": "tombstone"}]
    archive = slack_archive(tmp_path, {"general/2020-09-13.json": [message("1600000000.000001", files=meta)]})
    report, out = run(archive, tmp_path)
    check_import(out)
    (post,) = out.by_item(ids.item_id("slack", "C1", "1600000000.000001"))
    assert "attachments" not in post and post["props"]["passerelle"]["missing_files"] == ["gone.pdf"]
    (lost,) = [n for n in out.notes("mattermost.file_missing") if n["entity"] == "file"]
    assert lost["entity_id"] == ids.file_id("slack", "F1") and lost["outcome"] == "lost"
    assert report.log.tally["file"]["lost"] == 1
    assert not [n for n in out.names if n.startswith("data/")]
    assert verify_with_rules(archive, tmp_path / "out.zip").ok


def test_direct_and_group_conversations(tmp_path: Path) -> None:
    users = [*USERS, *(u(i) for i in range(10, 20))]
    dms = [{"id": "D1", "created": 1600000000, "members": ["U1", "U2"]},
           {"id": "D2", "created": 1600000000, "members": ["U1"]}]  # fmt: skip
    mpims = [
        {"id": "G1", "name": "mpdm-ada--bob--robot-1", "created": 1600000000, "members": ["U1", "U2", "U3"]},
        {
            "id": "G2",
            "name": "mpdm-many-1",
            "created": 1600000000,
            "members": [f"U{i}" for i in range(10, 20)],
        },
    ]
    files = {
        "users.json": users,
        "dms.json": dms,
        "mpims.json": mpims,
        "D1/2020-09-13.json": [message("1600000000.000001", "hi"), message("1600000000.000002", "hi")],
        "D2/2020-09-13.json": [message("1600000000.000003", "note to self")],
        "mpdm-ada--bob--robot-1/2020-09-13.json": [message("1600000000.000004", "trio")],
        "mpdm-many-1/2020-09-13.json": [message("1600000000.000005", "crowd", user="U10")],
    }
    archive = slack_archive(tmp_path, files)
    report, out = run(archive, tmp_path)
    check_import(out)
    assert sorted(sorted(d["members"]) for d in out.of("direct_channel")) == [
        ["ada", "ada"], ["ada", "bob"], ["ada", "bob", "robot"]
    ]  # fmt: skip
    assert report.log.spaces[ids.space_id("slack", "D2")] == "direct:ada"
    assert report.log.spaces[ids.space_id("slack", "D1")] == "direct:ada,bob"
    crowd = report.log.spaces[ids.space_id("slack", "G2")]
    assert crowd.endswith("/mpdm-many-1")
    channel = next(c for c in out.of("channel") if c["name"] == "mpdm-many-1")
    assert channel["type"] == "P"
    assert [n["entity_id"] for n in out.notes("mattermost.group_to_channel")] == [ids.space_id("slack", "G2")]
    member_of = {x["username"]: [c["name"] for t in x.get("teams", []) for c in t.get("channels", [])]
                 for x in out.of("user")}  # fmt: skip
    assert all("mpdm-many-1" in member_of[f"user{i}"] for i in range(10, 20))
    # Two posts with one message at one millisecond: the second is moved on by 1 ms.
    direct_posts = [p for p in out.of("direct_post") if p["message"] == "hi"]
    assert sorted(p["create_at"] for p in direct_posts) == [1600000000000, 1600000000001]
    assert [n["entity_id"] for n in out.notes("mattermost.timestamp_nudged")] == [
        ids.item_id("slack", "D1", "1600000000.000002")
    ]


def test_events_tombstones_edits_pins_and_revisions(tmp_path: Path) -> None:
    original = message("1600000005.000001", "first")
    changed = {
        "type": "message", "subtype": "message_changed", "ts": "1600000200.000001", "hidden": True,
        "message": {**message("1600000005.000001", "second"), "edited": {"user": "U1", "ts": "1600000200.000001"}},
        "previous_message": original,
    }  # fmt: skip
    files = {
        "general/2020-09-13.json": [
            message("1600000000.000001", "This message was deleted.", user="USLACKBOT", subtype="tombstone",
                    thread_ts="1600000000.000001", hidden=True),
            message("1600000001.000001", "reply to a deleted root", thread_ts="1600000000.000001"),
            message("1600000002.000001", "also here", thread_ts="1600000000.000001", subtype="thread_broadcast"),
            message("1600000003.000001", "<@U1> has joined the channel", subtype="channel_join"),
            original,
            changed,
        ]
    }  # fmt: skip
    archive = slack_archive(tmp_path, files)
    report, out = run(archive, tmp_path)
    check_import(out)
    (tombstone,) = out.by_item(ids.item_id("slack", "C1", "1600000000.000001"))
    assert tombstone["props"]["passerelle"]["deleted"] is True
    assert len(tombstone["replies"]) == 2
    broadcast = out.by_item(ids.item_id("slack", "C1", "1600000002.000001"))[0]
    assert broadcast["props"]["passerelle"]["also_in_channel"] is True
    joined = out.by_item(ids.item_id("slack", "C1", "1600000003.000001"))[0]
    assert joined["props"]["passerelle"]["kind"] == "event" and "type" not in joined
    assert {n["entity_id"] for n in out.notes("mattermost.revision_dropped")} == set(_revision_ids(archive))
    assert report.log.tally["revision"]["lost"] == len(_revision_ids(archive)) == 2
    # The message_changed event is an item of its own (an event), its two versions revisions.
    event = out.by_item(ids.item_id("slack", "C1", "1600000200.000001"))[0]
    assert event["props"]["passerelle"]["subtype"] == "message_changed"
    rules = {n["code"]: n.get("count", 1) for n in out.manifest["notes"] if n.get("entity_id") is None}
    assert rules["mattermost.deleted_as_post"] == 1 and rules["mattermost.broadcast_as_reply"] == 1
    assert rules["mattermost.kind_as_message"] >= 2 and rules["mattermost.subtype_in_props"] >= 3


def _revision_ids(archive: Path) -> list[str]:
    with Archive.open(archive) as opened:
        return [r[0] for r in opened.store.query("SELECT id FROM revisions")]


def test_reactions_without_time_take_the_posts(tmp_path: Path) -> None:
    reactions = [
        {"name": "thumbsup::skin-tone-3", "users": ["U1", "U2"], "count": 2},
        {"name": "party parrot!", "users": ["U1"], "count": 1},
    ]
    archive = slack_archive(
        tmp_path, {"general/2020-09-13.json": [message("1600000000.123456", reactions=reactions)]}
    )
    report, out = run(archive, tmp_path)
    check_import(out)
    (post,) = out.of("post")
    assert {(r["user"], r["emoji_name"], r["create_at"]) for r in post["reactions"]} == {
        ("ada", "thumbsup_medium_light_skin_tone", 1600000000123),
        ("bob", "thumbsup_medium_light_skin_tone", 1600000000123),
        ("ada", "party_parrot", 1600000000123),
    }
    rules = {n["code"]: n.get("count", 1) for n in out.manifest["notes"] if n.get("entity_id") is None}
    assert rules["mattermost.reaction_time_synthetic"] == 3 and rules["mattermost.emoji_skin_tone"] == 2
    (renamed,) = out.notes("mattermost.emoji_renamed")
    assert renamed["original"] == "party parrot!" and renamed["entity_id"].endswith("/party parrot!")
    assert report.log.tally["reaction"]["adapted"] == 3


def test_a_thread_over_a_line_is_written_on_several(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replies = [message(f"16000000{i:02d}.000001", f"reply {i} " + "x" * 300, thread_ts="1600000000.000001")
               for i in range(1, 30)]  # fmt: skip
    archive = slack_archive(
        tmp_path, {"general/2020-09-13.json": [message("1600000000.000001", "root"), *replies]}
    )
    monkeypatch.setattr(mattermost, "LINE_MAX_BYTES", 4_000)
    monkeypatch.setattr(mattermost, "_POST_LINE_ROOM", 1_000)
    _, out = run(archive, tmp_path)
    roots = out.of("post")
    assert len(roots) > 3 and all(len(json.dumps(r)) <= 4_000 for r in roots)
    assert sum(len(r["replies"]) for r in roots) == 29
    assert len({json.dumps({k: v for k, v in r.items() if k != "replies"}) for r in roots}) == 1
    root_id = ids.item_id("slack", "C1", "1600000000.000001")
    assert [n["entity_id"] for n in out.notes("mattermost.thread_line_split")] == [root_id]


def test_options_are_checked(tmp_path: Path) -> None:
    archive = slack_archive(tmp_path, {})
    for options in ({"team": "Not A Team"}, {"team": "api-team"}, {"email_domain": "no domain"},
                    {"identity_map": str(tmp_path / "absent.csv")}):  # fmt: skip
        with pytest.raises(BadInputError):
            export(archive, "mattermost", tmp_path / "out.zip", options=options)
    assert not (tmp_path / "out.zip").exists()


def test_the_team_option_names_the_one_workspaces_team(tmp_path: Path) -> None:
    archive = slack_archive(tmp_path, {})
    report, out = run(archive, tmp_path, team="acme")
    check_import(out, server_team="acme")
    assert out.of("team") == []  # the server's team keeps its display name and description
    assert report.log.spaces[ids.space_id("slack", "C1")] == "acme/general"
    assert report.log.spaces[ids.space_id("slack", "T1")] == "acme"
    (moved,) = [
        n for n in out.notes("mattermost.space_adapted") if n["entity_id"] == ids.space_id("slack", "T1")
    ]
    assert "acme" in moved["message"] and moved.get("attribute") is None
    assert verify_with_rules(archive, tmp_path / "out.zip").ok


def test_channels_of_no_workspace_go_to_the_default_team(tmp_path: Path) -> None:
    lines = [
        {"type": "version", "version": 1},
        {"type": "team", "team": {"name": "one", "display_name": "One", "type": "O"}},
        {"type": "team", "team": {"name": "two", "display_name": "Two", "type": "O"}},
        {
            "type": "channel",
            "channel": {"team": "one", "name": "alpha", "display_name": "Alpha", "type": "O"},
        },
    ]
    source = build_mattermost(tmp_path / "source", lines)
    ingest([source], tmp_path / "archive")
    # A channel outside any workspace: a space whose parent the archive does not know.
    with Archive.open(tmp_path / "archive") as opened:
        opened.store.conn.execute("UPDATE spaces SET parent_id = NULL WHERE native_id = 'one/alpha'")
        opened.store.conn.commit()
    report, out = run(tmp_path / "archive", tmp_path, team="elsewhere")
    check_import(out, from_mattermost=True, server_team="elsewhere")
    assert sorted(t["name"] for t in out.of("team")) == ["one", "two"]
    assert report.log.spaces[ids.space_id("mattermost", "one/alpha")] == "elsewhere/alpha"
    (moved,) = [n for n in out.notes("mattermost.space_adapted") if n["attribute"] == "parent_id"]
    assert moved["entity_id"] == ids.space_id("mattermost", "one/alpha")
    _, default = run(tmp_path / "archive", tmp_path, "default.zip")
    assert "imported" in [t["name"] for t in default.of("team")]


# -- identity maps -------------------------------------------------------------------------------------
def test_identity_map_csv(tmp_path: Path) -> None:
    archive = slack_archive(tmp_path, {})
    mapping = tmp_path / "map.csv"
    mapping.write_text("source,username,email\nU1,ada.lovelace,ada@corp.example\nbob,robert,\nnobody,x.y,\n")
    report, out = run(archive, tmp_path, identity_map=str(mapping))
    check_import(out)
    users = {x["username"]: x for x in out.of("user")}
    assert users["ada.lovelace"]["email"] == "ada@corp.example"
    assert "roles" not in users["ada.lovelace"] and "first_name" not in users["ada.lovelace"]
    assert users["robert"]["email"] == "robert@example.invalid"  # bob had no email
    assert report.log.persons[ids.person_id("slack", "U1")] == "ada.lovelace"
    (unused,) = out.notes("mattermost.identity_unused")
    assert "nobody" in unused["original"] and unused.get("count", 1) == 1
    assert {n["entity_id"] for n in out.notes("mattermost.identity_mapped")} == {
        ids.person_id("slack", "U1"), ids.person_id("slack", "U2")
    }  # fmt: skip
    posts_by = {p["user"] for p in out.posts()}
    assert posts_by <= set(users)


def test_identity_map_toml_by_email(tmp_path: Path) -> None:
    archive = slack_archive(tmp_path, {})
    mapping = tmp_path / "map.toml"
    mapping.write_text('[persons."ADA@example.org"]\nusername = "countess"\nemail = "c@corp.example"\n')
    report, out = run(archive, tmp_path, identity_map=str(mapping))
    check_import(out)
    assert report.log.persons[ids.person_id("slack", "U1")] == "countess"
    assert not out.notes("mattermost.identity_unused")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("map.csv", ""),
        ("map.csv", "who,username\nU1,ada\n"),
        ("map.csv", "source,username,email\nU1,Not Valid,\n"),
        ("map.csv", "source,username,email\nU1,ada,not-an-email\n"),
        ("map.csv", "source,username,email\nU1,ada,a@b.c\nU1,bob,\n"),
        ("map.csv", "source,username\nU1,ada,extra\n"),
        ("map.csv", "source,username\nU1,all\n"),
        ("map.toml", "[persons.U1\nusername = 'a'"),
        ("map.toml", "[persons.U1]\nname = 'ada'\n"),
        ("map.toml", "[people.U1]\nusername = 'ada'\n"),
    ],
)
def test_a_bad_identity_map_is_bad_input(tmp_path: Path, name: str, text: str) -> None:
    archive = slack_archive(tmp_path, {})
    (tmp_path / name).write_text(text)
    with pytest.raises(BadInputError, match="identity map"):
        export(archive, "mattermost", tmp_path / "out.zip", options={"identity_map": str(tmp_path / name)})


# -- Mattermost archives: written from their raw records -----------------------------------------------
@pytest.mark.parametrize("generated", [False, True])
def test_a_mattermost_round_trip_carries_everything(tmp_path: Path, generated: bool) -> None:
    lines, files = generated_lines() if generated else (feature_lines(), FEATURE_FILES)
    source = build_mattermost(tmp_path / "source", lines, files)
    ingest([source], tmp_path / "archive")
    report, out = run(tmp_path / "archive", tmp_path)
    check_import(out, from_mattermost=True)
    result = verify_with_rules(tmp_path / "archive", tmp_path / "out.zip")
    assert result.ok, result.problems
    # Everything is carried exactly, under its own id: even the attachment whose file the source
    # itself lacked stays named as the source named it.
    assert {n: e.carried for n, e in result.entities.items()} == {
        n: e.total for n, e in result.entities.items()
    }
    kept = [n for n in out.notes("mattermost.file_missing") if n["outcome"] == "adapted"]
    assert len(kept) == (0 if generated else 1)
    assert tally_totals(report) == archive_counts(tmp_path / "archive")
    if not generated:
        assert out.of("emoji") == [{"image": "emoji/partyparrot/image.png", "name": "partyparrot"}]
        assert out.of("bot") == [{"display_name": "Deploy Bot", "owner": "ada", "username": "deploybot"}]


def test_a_reading_process_gives_the_same_output(
    demo: tuple[Path, Path, ExportReport, Output], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, output, report, _ = demo
    monkeypatch.setattr(mattermost, "WORKER_MIN_ITEMS", 1)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    again = export(archive, "mattermost", tmp_path / "worker.zip")
    assert (tmp_path / "worker.zip").read_bytes() == output.read_bytes()
    assert again.log.tally == report.log.tally


def _add_loose_files(archive: Path, files: list[tuple[str, str, bytes | None]]) -> list[str]:
    """Files attached to no item, as a source's leftovers or custom emoji: (native id, name, bytes)."""
    made = []
    with Archive.open(archive) as opened:
        source = opened.store.scalar("SELECT id FROM sources")
        for native, name, data in files:
            sha = opened.blobs.put_bytes(data)[0] if data is not None else None
            file_id = ids.file_id("slack", native)
            opened.store.conn.execute(
                "INSERT INTO files (id, platform, native_id, name, sha256, source_id) VALUES (?, ?, ?, ?, ?, ?)",
                (file_id, "slack", native, name, sha, source),
            )
            made.append(file_id)
        opened.store.conn.commit()
    return made


def test_custom_emoji_and_loose_files(tmp_path: Path) -> None:
    reactions = [{"name": "party-parrot", "users": ["U1"], "count": 1}]
    archive = slack_archive(
        tmp_path, {"general/2020-09-13.json": [message("1600000000.000001", reactions=reactions)]}
    )
    emoji, nameless, gone, leftover = _add_loose_files(
        archive,
        [
            ("emoji:party-parrot", "parrot.gif", b"GIF89a parrot"),
            ("emoji:日本", "x.png", b"\x89PNG x"),
            ("emoji:gone", "gone.png", None),
            ("FLEFT", "notes.txt", b"left over"),
        ],
    )
    report, out = run(archive, tmp_path)
    check_import(out)
    assert out.of("emoji") == [
        {"image": "emoji/party-parrot/parrot.gif", "name": "party-parrot"},
        {"image": "emoji/emoji/x.png", "name": "emoji"},
    ]
    assert out.files["data/emoji/party-parrot/parrot.gif"] == b"GIF89a parrot"
    (post,) = out.of("post")
    assert post["reactions"][0]["emoji_name"] == "party-parrot"
    notes = {(n["code"], n["entity_id"]): n for n in out.manifest["notes"] if n["entity"] == "file"}
    assert notes[("mattermost.emoji_renamed", emoji)]["original"] == "parrot.gif"
    assert notes[("mattermost.emoji_renamed", nameless)]["original"] == "x.png"
    assert notes[("mattermost.file_missing", gone)]["outcome"] == "lost"
    assert notes[("mattermost.loose_file", leftover)]["outcome"] == "lost"
    assert report.log.tally["file"] == {"adapted": 2, "lost": 2}
    assert tally_totals(report) == archive_counts(archive)


def test_a_conversation_without_members_takes_its_authors(tmp_path: Path) -> None:
    files = {
        "dms.json": [{"id": "D1", "created": 1600000000, "members": None}],
        "D1/2020-09-13.json": [
            message("1600000000.000001", "hi", user="U1"),
            message("1600000001.000001", "yo", user="U2"),
        ],
    }
    archive = slack_archive(tmp_path, files)
    _, out = run(archive, tmp_path)
    check_import(out)
    assert out.of("direct_channel") == [{"members": ["ada", "bob"]}]
    assert [n["entity_id"] for n in out.notes("mattermost.members_inferred")] == [ids.space_id("slack", "D1")]
    assert {p["user"] for p in out.of("direct_post")} == {"ada", "bob"}


def test_the_reading_process_stops_and_cleans_up_when_not_read(
    demo: tuple[Path, Path, ExportReport, Output], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, *_ = demo
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    with Archive.open(archive) as opened:
        view = ArchiveView(opened)
        spaces = [s.id for s in view.spaces()]
        batches = view.post_row_batches(spaces, "mattermost", worker=True)
        assert list(tmp_path.glob("passerelle-rows-*"))
        batches.close()  # type: ignore[attr-defined]
        assert not list(tmp_path.glob("passerelle-rows-*"))
        read = view.post_row_batches(spaces, "mattermost", worker=True)
        rows = sum(len(batch) for _, batch in read)
        read.close()  # type: ignore[attr-defined]
        assert rows == opened.store.scalar("SELECT count(*) FROM items")
    assert not list(tmp_path.glob("passerelle-rows-*"))
