"""Tests for the synthetic Slack export generator (re-counted independently with stdlib json)."""

from __future__ import annotations

import json
import re
import tracemalloc
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from passerelle.demo.slack_export import ExportSpec, ExportStats, write_export

SMALL = ExportSpec(messages=1_500, users=20, public_channels=6, private_channels=2, dms=3, mpims=2, seed=7)
TS_RE = re.compile(r"^\d{10}\.\d{6}$")
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
META = ("users.json", "channels.json", "groups.json", "dms.json", "mpims.json", "integration_logs.json")


def tree(root: Path) -> dict[str, bytes]:
    """All files under root, by relative posix path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def zip_tree(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}


@dataclass
class Recount:
    """Independent re-count of an export, from its raw files."""

    files: dict[str, bytes]
    users: list[dict[str, Any]] = field(default_factory=list)
    convs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # folder -> [(day file name, messages)] in file-name order
    days: dict[str, list[tuple[str, list[dict[str, Any]]]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.users = json.loads(self.files["users.json"])
        for name in ("channels", "groups", "dms", "mpims"):
            self.convs[name] = json.loads(self.files[f"{name}.json"])
        per: dict[str, list[tuple[str, list[dict[str, Any]]]]] = defaultdict(list)
        for path in sorted(self.files):
            if path in META or path.startswith("__uploads/"):
                continue
            folder, _, day = path.rpartition("/")
            assert folder and DAY_RE.match(day), path
            per[folder].append((day, json.loads(self.files[path])))
        self.days = dict(per)

    def messages(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(f, d, m) for f, days in self.days.items() for d, msgs in days for m in msgs]

    def stats(self) -> dict[str, Any]:
        msgs = [m for _, _, m in self.messages()]
        replies_per_root: Counter[tuple[str, str]] = Counter()
        for f, _, m in self.messages():
            if "thread_ts" in m and m["thread_ts"] != m["ts"]:
                replies_per_root[(f, m["thread_ts"])] += 1
        file_ids = [fo["id"] for m in msgs for fo in m.get("files") or ()]
        assert len(file_ids) == len(set(file_ids))
        return {
            "messages": len(msgs),
            "thread_roots": len(replies_per_root),
            "replies": sum(replies_per_root.values()),
            "reactions": sum(len(r["users"]) for m in msgs for r in m.get("reactions") or ()),
            "files": len(set(file_ids)),
            "files_with_bytes": sum(1 for p in self.files if p.startswith("__uploads/")),
            "users": len(self.users),
            "channels": sum(len(v) for v in self.convs.values()),
            "by_subtype": dict(sorted(Counter(m.get("subtype", "") for m in msgs).items())),
            "bytes_written": sum(len(b) for b in self.files.values()),
        }


def stats_dict(st: ExportStats) -> dict[str, Any]:
    return {k: getattr(st, k) for k in ExportStats.__dataclass_fields__}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[ExportStats, Recount]:
    dest = tmp_path_factory.mktemp("demo") / "export"
    st = write_export(ExportSpec(), dest)
    return st, Recount(tree(dest))


def test_deterministic_folder(tmp_path: Path) -> None:
    write_export(SMALL, tmp_path / "a")
    write_export(SMALL, tmp_path / "b")
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert a == b
    write_export(ExportSpec(**{**SMALL.__dict__, "seed": 8}), tmp_path / "c")
    c = tree(tmp_path / "c")
    assert c["users.json"] != a["users.json"]
    assert c != a


def test_deterministic_zip(tmp_path: Path) -> None:
    st_a = write_export(SMALL, tmp_path / "a.zip", as_zip=True)
    st_b = write_export(SMALL, tmp_path / "b.zip", as_zip=True)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert st_a == st_b
    write_export(ExportSpec(**{**SMALL.__dict__, "seed": 99}), tmp_path / "c.zip", as_zip=True)
    assert (tmp_path / "a.zip").read_bytes() != (tmp_path / "c.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}


def test_zip_matches_folder(tmp_path: Path) -> None:
    st_dir = write_export(SMALL, tmp_path / "dir")
    st_zip = write_export(SMALL, tmp_path / "x.zip", as_zip=True)
    assert st_dir == st_zip
    assert zip_tree(tmp_path / "x.zip") == tree(tmp_path / "dir")


def test_stats_exact_demo(demo: tuple[ExportStats, Recount]) -> None:
    st, rc = demo
    assert stats_dict(st) == rc.stats()
    assert st.messages == ExportSpec().messages
    assert st.channels == 8 + 3 + 6 + 3
    # the realistic mix is there
    for subtype in ("", "channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name",
                    "bot_message", "me_message", "pinned_item", "tombstone", "thread_broadcast",
                    "huddle_thread", "channel_archive"):  # fmt: skip
        assert st.by_subtype.get(subtype, 0) > 0, subtype
    assert 0.10 < st.replies / st.messages < 0.30
    assert st.reactions > 0 and st.files > 0 and st.files_with_bytes > 0


@pytest.mark.parametrize(
    "spec",
    [
        ExportSpec(messages=0),
        ExportSpec(messages=1),
        ExportSpec(messages=7, users=5, public_channels=1, private_channels=0, dms=0, mpims=0),
        ExportSpec(messages=200, seed=3),
        ExportSpec(messages=333, public_channels=0, private_channels=0, dms=2, mpims=1, seed=5),
        ExportSpec(
            messages=25_000,
            users=60,
            public_channels=25,
            private_channels=5,
            dms=20,
            mpims=6,
            seed=11,
            with_file_bytes=False,
        ),
    ],
    ids=lambda s: f"n{s.messages}",
)
def test_stats_exact_various(tmp_path: Path, spec: ExportSpec) -> None:
    dest = tmp_path / "x.zip"
    st = write_export(spec, dest, as_zip=True, indent=None)
    rc = Recount(zip_tree(dest))
    assert stats_dict(st) == rc.stats()
    assert st.messages == spec.messages
    assert st.users == spec.users
    if not spec.with_file_bytes:
        assert st.files_with_bytes == 0


def test_day_files_and_ts(demo: tuple[ExportStats, Recount]) -> None:
    _, rc = demo
    assert rc.days
    for folder, days in rc.days.items():
        seen: set[str] = set()
        previous = ""
        for day, msgs in days:
            assert isinstance(msgs, list) and msgs, (folder, day)
            for m in msgs:
                assert m["type"] == "message"
                ts = m["ts"]
                assert TS_RE.match(ts), ts
                assert ts not in seen, (folder, ts)
                seen.add(ts)
                assert ts > previous  # fixed-width, so string order is time order
                previous = ts
                utc_day = datetime.fromtimestamp(int(ts.split(".")[0]), UTC).strftime("%Y-%m-%d")
                assert f"{utc_day}.json" == day
    first = min(m["ts"] for _, _, m in rc.messages())
    assert int(first.split(".")[0]) == ExportSpec().start


def test_threads_consistent_and_span_days(demo: tuple[ExportStats, Recount]) -> None:
    _, rc = demo
    roots: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    replies: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for folder, day, m in rc.messages():
        if m.get("thread_ts") == m["ts"]:
            roots[(folder, m["ts"])] = (day, m)
        elif "thread_ts" in m:
            replies[(folder, m["thread_ts"])].append((day, m))
    assert replies.keys() == roots.keys()
    spans_days = 0
    for key, reps in replies.items():
        root_day, root = roots[key]
        assert root["reply_count"] == len(reps)
        assert root["latest_reply"] == max(m["ts"] for _, m in reps)
        assert set(root["reply_users"]) == {m["user"] for _, m in reps}
        assert root["reply_users_count"] == len(root["reply_users"])
        for _, m in reps:
            assert m["ts"] > root["ts"]
            if m.get("subtype") == "thread_broadcast":
                assert m["root"]["ts"] == root["ts"]
            else:
                assert "parent_user_id" in m
        spans_days += any(day > root_day for day, _ in reps)
    assert spans_days >= 1
    tombstones = [m for _, m in roots.values() if m.get("subtype") == "tombstone"]
    assert tombstones and all(m["hidden"] and m["text"] == "This message was deleted." for m in tombstones)


def test_file_bytes(tmp_path: Path) -> None:
    spec = ExportSpec(**{**SMALL.__dict__, "messages": 4_000})
    st = write_export(spec, tmp_path / "with")
    files = tree(tmp_path / "with")
    rc = Recount(files)
    hosted = 0
    modes: Counter[str] = Counter()
    for _, _, m in rc.messages():
        for f in m.get("files") or ():
            modes[f["mode"]] += 1
            path = f"__uploads/{f['id']}/{f.get('name')}"
            if f["mode"] == "hosted":
                hosted += 1
                assert len(files[path]) == f["size"]
                assert f["url_private"].startswith("https://")
            else:
                assert "url_private" not in f
                assert not any(p.startswith(f"__uploads/{f['id']}/") for p in files)
    assert hosted == st.files_with_bytes > 0
    assert modes["tombstone"] > 0 and modes["hidden_by_limit"] > 0
    assert any(files[p].startswith(b"\x89PNG\r\n\x1a\n") for p in files if p.endswith(".png"))
    # without bytes: same messages, no uploads
    st2 = write_export(ExportSpec(**{**spec.__dict__, "with_file_bytes": False}), tmp_path / "without")
    without = tree(tmp_path / "without")
    assert st2.files_with_bytes == 0 and st2.files == st.files
    assert without == {p: b for p, b in files.items() if not p.startswith("__uploads/")}


def test_users_and_unknown_authors(demo: tuple[ExportStats, Recount]) -> None:
    _, rc = demo
    users = rc.users
    ids = {u["id"] for u in users}
    assert all(re.match(r"^U[A-Z0-9]{10}$", i) for i in ids)
    assert any(u["is_bot"] and u["profile"]["bot_id"].startswith("B") for u in users)
    assert any(u["deleted"] for u in users)
    assert any(u["is_restricted"] for u in users)
    assert all(u["team_id"] == "T0DEMO0001" for u in users)
    names = " ".join(u["real_name"] for u in users)
    assert any(ord(ch) > 127 for ch in names)
    authors = {m["user"] for _, _, m in rc.messages() if "user" in m}
    unknown = authors - ids - {"USLACKBOT"}
    assert unknown and all(re.match(r"^U[A-Z0-9]{10}$", u) for u in unknown)


def test_conversations_metadata(demo: tuple[ExportStats, Recount]) -> None:
    _, rc = demo
    chans, groups, dms, mpims = (rc.convs[k] for k in ("channels", "groups", "dms", "mpims"))
    assert chans[0]["name"] == "general" and chans[0]["is_general"]
    assert any(c["is_archived"] for c in chans)
    assert any(any(ord(ch) > 127 for ch in c["name"]) for c in chans)
    assert all(c["id"].startswith("C") for c in chans) and all(
        c["id"].startswith("G") for c in groups + mpims
    )
    assert all(d["id"].startswith("D") and len(d["members"]) == 2 for d in dms)
    assert all(m["name"].startswith("mpdm-") and m["name"].endswith("-1") for m in mpims)
    folders = {c["name"] for c in chans + groups + mpims} | {d["id"] for d in dms}
    assert set(rc.days) <= folders
    ts_by_folder = {f: {m["ts"] for _, msgs in days for m in msgs} for f, days in rc.days.items()}
    pins = [(c["name"], p) for c in chans + groups for p in c.get("pins", ())]
    assert pins
    for folder, pin in pins:
        assert pin["id"] in ts_by_folder[folder]
    renamed = [m for _, _, m in rc.messages() if m.get("subtype") == "channel_name"]
    assert renamed and renamed[0]["name"] in {c["name"] for c in chans}


def test_text_features(demo: tuple[ExportStats, Recount]) -> None:
    _, rc = demo
    texts = "\n".join(m.get("text", "") for _, _, m in rc.messages())
    for needle in ("<@U", "|", "<#C", "<!here>", "<!channel>", "<https://", "&amp;", "&lt;", "&gt;", ":",
                   "*", "_", "~", "`", "::skin-tone-"):  # fmt: skip
        assert needle in texts, needle
    assert any(ord(ch) > 0x3000 for ch in texts)  # CJK
    assert b"\\/" in rc.files["users.json"]  # Slack escapes "/" like PHP's json_encode
    blocks = [m for _, _, m in rc.messages() if m.get("blocks")]
    assert blocks and blocks[0]["blocks"][0]["type"] == "rich_text"
    assert any("blocks" in m and m["blocks"] is None for _, _, m in rc.messages())


def test_compact_indent(tmp_path: Path) -> None:
    spec = ExportSpec(messages=300)
    write_export(spec, tmp_path / "pretty")
    write_export(spec, tmp_path / "compact", indent=None)
    pretty, compact = tree(tmp_path / "pretty"), tree(tmp_path / "compact")
    assert pretty.keys() == compact.keys()
    for path in pretty:
        if not path.startswith("__uploads/"):
            assert json.loads(pretty[path]) == json.loads(compact[path])
            assert b"\n" not in compact[path]


def test_invalid_spec(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_export(ExportSpec(users=3), tmp_path / "x")
    with pytest.raises(ValueError):
        write_export(ExportSpec(public_channels=0, private_channels=0, dms=0, mpims=0), tmp_path / "y")


def test_streaming_memory_is_bounded(tmp_path: Path) -> None:
    tracemalloc.start()
    try:
        write_export(ExportSpec(messages=30_000, with_file_bytes=False), tmp_path / "big", indent=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    written = sum(p.stat().st_size for p in (tmp_path / "big").rglob("*") if p.is_file())
    assert written > 15_000_000
    assert peak < 5_000_000, (peak, written)  # traced peak stays ~1 MB: nothing scales with messages
