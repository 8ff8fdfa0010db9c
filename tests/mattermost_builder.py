"""Build Mattermost bulk exports at test time, as a zip, a folder or a bare .jsonl, from Python values."""

from __future__ import annotations

import json
import random
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

VERSION: dict[str, Any] = {"type": "version", "version": 1}
PNG = b"\x89PNG\r\n\x1a\n a tiny image"
PDF = b"%PDF-1.4 the quarterly report"


def record(kind: str, **fields: Any) -> dict[str, Any]:
    """One line of the export: {"type": kind, kind: {fields}}."""
    return {"type": kind, kind: fields}


def team(name: str, display_name: str | None = None, type: str = "O", **extra: Any) -> dict[str, Any]:
    return record("team", name=name, display_name=display_name or name.title(), type=type, **extra)


def channel(team: str, name: str, type: str = "O", **extra: Any) -> dict[str, Any]:
    return record("channel", team=team, name=name, display_name=name.title(), type=type, **extra)


def membership(team: str, *channels: str, admin: bool = False) -> dict[str, Any]:
    """A user's membership of a team and of channels in it."""
    return {
        "name": team,
        "roles": "team_admin team_user" if admin else "team_user",
        "channels": [
            {"name": c, "roles": "channel_admin channel_user" if admin else "channel_user"} for c in channels
        ],
    }


def user(username: str, *teams: dict[str, Any], **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "username": username,
        "email": f"{username}@example.org",
        "roles": "system_user",
    }
    return record("user", **{**fields, "teams": list(teams), **extra})


def post(
    team: str, channel: str, user: str, create_at: Any, message: Any = "hello", **extra: Any
) -> dict[str, Any]:
    """A post line (times and message are Any: a hostile export may hold anything there)."""
    fields = {"team": team, "channel": channel, "user": user, "message": message, "create_at": create_at}
    return record("post", **fields, **extra)


def reply(user: str, create_at: int, message: str = "a reply", **extra: Any) -> dict[str, Any]:
    return {"user": user, "message": message, "create_at": create_at, **extra}


def reaction(user: str, emoji: str, create_at: Any) -> dict[str, Any]:
    return {"user": user, "emoji_name": emoji, "create_at": create_at}


def direct_channel(*members: str, **extra: Any) -> dict[str, Any]:
    return record("direct_channel", members=list(members), **extra)


def direct_post(
    members: Sequence[str], user: str, create_at: int, message: str = "psst", **extra: Any
) -> dict[str, Any]:
    fields = {"channel_members": list(members), "user": user, "message": message, "create_at": create_at}
    return record("direct_post", **fields, **extra)


def emoji(name: str, image: str) -> dict[str, Any]:
    return record("emoji", name=name, image=image)


def encode(line: Any) -> bytes:
    """A line as mmctl writes it (compact JSON); bytes are taken as they are."""
    return line if isinstance(line, bytes) else json.dumps(line, separators=(",", ":")).encode()


def jsonl(lines: Sequence[Any]) -> bytes:
    return b"".join(encode(line) + b"\n" for line in lines)


def build_export(
    dest: Path, lines: Sequence[Any], files: Mapping[str, bytes] | None = None, *, layout: str = "folder"
) -> Path:
    """Write ``import.jsonl`` and the files into a folder or a zip at dest; with ``layout="jsonl"``,
    dest is the JSON Lines file itself (and ``files`` must be empty)."""
    entries = {"import.jsonl": jsonl(lines), **(files or {})}
    if layout == "jsonl":
        assert not files, "a bare .jsonl holds no files"
        dest.write_bytes(entries["import.jsonl"])
    elif layout == "zip":
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries.items():
                zf.writestr(name, data)
    else:
        for name, data in entries.items():
            path = dest / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return dest


# -- a small export holding every feature -----------------------------------------------------------
T0 = 1_600_000_000_000  # milliseconds


def feature_lines() -> list[Any]:
    """Teams, channels (one archived, one private), users (deleted, guest, admin), a bot, posts with
    replies (unsorted, one earlier than its root), reactions, attachments (found at the path and
    under data/, and missing), a DM, a DM to oneself, a group message, custom emoji after the
    posts, and a role line."""
    return [
        VERSION,
        {"type": "role", "role": {"name": "system_user", "permissions": ["create_team"]}},
        team("acme", "ACME Corp", description="Where it happens"),
        team("secret", "Secret", type="I"),
        channel("acme", "town-square", header="Welcome", purpose="Everything"),
        channel("acme", "ops", type="P", purpose="Operations"),
        channel("acme", "old", deleted_at=T0 - 5),
        channel("secret", "plans", type="P"),
        user(
            "ada",
            membership("acme", "town-square", "ops", admin=True),
            membership("secret", "plans"),
            nickname="Countess",
            first_name="Ada",
            last_name="Lovelace",
            position="Engineer",
            roles="system_admin system_user",
        ),
        user("bob", membership("acme", "town-square", "old"), first_name="Bob", delete_at=T0),
        user("gus", membership("acme", "town-square"), roles="system_guest"),
        record("bot", username="deploybot", display_name="Deploy Bot", owner="ada"),
        post(
            "acme",
            "town-square",
            "ada",
            T0,
            "Hello @bob and @here, see ~ops and https://example.org :tada:",
            is_pinned=True,
            edit_at=T0 + 500,
            reactions=[reaction("bob", "+1", T0 + 10), reaction("gus", "tada", T0 + 20)],
            replies=[
                reply("bob", T0 + 300, "second reply"),
                reply("gus", T0 - 100, "before the root"),
                reply("ada", T0 + 200, "first reply", reactions=[reaction("bob", "eyes", T0 + 250)]),
            ],
            attachments=[
                {"path": "files/report.pdf"},
                {"path": "img/logo.png"},
                {"path": "gone/missing.txt"},
            ],
        ),
        post("acme", "town-square", "bob", T0 + 1000, "bob joined the channel.", type="system_join_channel"),
        post("acme", "ops", "deploybot", T0 + 2000, "Deployed [v1.2](https://ci.example.org/1) :rocket:"),
        post(
            "acme",
            "old",
            "bob",
            T0 + 3000,
            "archived chatter",
            reactions=None,
            replies=None,
            attachments=None,
        ),
        post("secret", "plans", "ada", T0 + 4000, "the plan"),
        direct_channel("ada", "bob"),
        direct_channel("ada", "bob", "gus", header="trio"),
        direct_post(["bob", "ada"], "ada", T0 + 5000, "hi bob", replies=[reply("bob", T0 + 5100, "hi ada")]),
        direct_post(["ada", "ada"], "ada", T0 + 6000, "note to self"),
        direct_post(
            ["ada", "bob", "gus"], "gus", T0 + 7000, "hello all", attachments=[{"path": "files/report.pdf"}]
        ),
        emoji("partyparrot", "emoji/partyparrot/image.png"),
    ]


FEATURE_FILES = {"data/files/report.pdf": PDF, "img/logo.png": PNG, "data/emoji/partyparrot/image.png": PNG}


# -- a generated export, for size ---------------------------------------------------------------------
def generated_lines(
    *, posts: int = 1_500, users: int = 25, seed: int = 7
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """A deterministic export: teams, channels, users with memberships, posts with replies,
    reactions and attachments, DMs and group messages, custom emoji; and its files."""
    rng = random.Random(seed)
    names = [f"user{i:03d}" for i in range(users)]
    teams = {"alpha": ["town-square", "dev", "random"], "beta": ["town-square", "sales"]}
    lines: list[dict[str, Any]] = [VERSION]
    lines += [team(t, type="O" if t == "alpha" else "I") for t in teams]
    lines += [channel(t, c, type="P" if c == "sales" else "O") for t, cs in teams.items() for c in cs]
    for i, name in enumerate(names):
        member_of = [membership(t, *cs, admin=i == 0) for t, cs in teams.items() if i % 3 or t == "alpha"]
        lines.append(user(name, *member_of, first_name=name.title(), delete_at=T0 if i == users - 1 else 0))
    files: dict[str, bytes] = {}
    words = ["deploy", "lunch", "review", "ship", "coffee", "bug", "release", "meeting"]
    emoji_names = ["+1", "tada", "eyes", "heart", "rocket"]
    for n in range(posts):
        t = rng.choice(sorted(teams))
        c = rng.choice(teams[t])
        author = rng.choice(names)
        created = T0 + n * 60_000 + rng.randrange(1000)
        text = " ".join(rng.choice(words) for _ in range(rng.randrange(1, 12)))
        if rng.random() < 0.1:
            text += f" @{rng.choice(names)}"
        extra: dict[str, Any] = {}
        if rng.random() < 0.2:
            extra["reactions"] = [
                reaction(rng.choice(names), rng.choice(emoji_names), created + 1000 + k)
                for k in range(rng.randrange(1, 4))
            ]
        if rng.random() < 0.1:
            replies = [
                reply(rng.choice(names), created + rng.randrange(-5, 500_000))
                for _ in range(rng.randrange(1, 5))
            ]
            extra["replies"] = replies
        if rng.random() < 0.05:
            path = f"{t}/{c}/file{n}.txt"
            files[f"data/{path}"] = f"file {n}".encode()
            extra["attachments"] = [{"path": path}]
        lines.append(post(t, c, author, created, text, **extra))
    for n in range(posts // 10):
        members = rng.sample(names, rng.choice([2, 2, 3, 4]))
        lines.append(direct_post(members, members[0], T0 + n * 90_000, f"direct {n}"))
    lines.append(direct_channel(names[0], names[1]))
    lines.append(emoji("partyparrot", "emoji/partyparrot.png"))
    files["data/emoji/partyparrot.png"] = PNG
    return lines, files


def write_generated(dest: Path, *, layout: str) -> Path:
    lines, files = generated_lines()
    return build_export(dest, lines, files, layout=layout)
