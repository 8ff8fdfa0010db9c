"""Deterministic, streaming generator of synthetic Slack workspace exports.

The output mimics a real Slack "All channels and conversations" export
(``users.json``, ``channels.json``, ``groups.json``, ``dms.json``,
``mpims.json``, ``integration_logs.json`` and one ``YYYY-MM-DD.json`` array
per conversation and UTC day), plus, optionally, file bytes in slackdump's
"mattermost" layout (``__uploads/<FileID>/<filename>``).

Generation streams: conversations are generated one after another, each as
a time-ordered merge of new messages and pre-planned thread replies, and a
day file is written as soon as the day is complete.  Memory stays bounded by
one day of one conversation plus a bounded set of open threads.

Realistic quirks on purpose: ``/`` is escaped as ``\\/`` (as Slack does),
non-ASCII text is raw UTF-8, ``blocks``/``attachments`` are sometimes
``null``, some authors are absent from ``users.json``, threads span days,
tombstoned roots keep their replies, some files are ``tombstone`` or
``hidden_by_limit`` (no URL), and the conversation lists are written last
(they carry pins and topics collected while generating).
"""

from __future__ import annotations

import heapq
import math
import random
import re
import struct
import time
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec

__all__ = ["ExportSpec", "ExportStats", "write_export"]

Json = dict[str, Any]

TEAM_ID = "T0DEMO0001"
PARTNER_TEAM_ID = "T0PARTNER7"
TEAM_DOMAIN = "passerelle-demo"
SLACKBOT = "USLACKBOT"

_US = 1_000_000
_DAY_S = 86_400
_DAY_US = _DAY_S * _US
_HOUR_US = 3_600 * _US
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BLOCK_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/="
_MAX_OPEN_THREADS = 48


@dataclass(frozen=True)
class ExportSpec:
    """What to generate; the same spec always yields byte-identical output."""

    messages: int = 2_000
    users: int = 40
    public_channels: int = 8
    private_channels: int = 3
    dms: int = 6
    mpims: int = 3
    seed: int = 1
    with_file_bytes: bool = True
    start: int = 1_600_000_000


@dataclass(frozen=True)
class ExportStats:
    """Exact ground truth of what `write_export` wrote.

    ``bytes_written`` is the total size of all entries' contents (JSON and
    uploads), uncompressed, so it is the same for a folder and a zip.
    """

    messages: int
    thread_roots: int
    replies: int
    reactions: int
    files: int
    files_with_bytes: int
    users: int
    channels: int
    by_subtype: dict[str, int]
    bytes_written: int


# --------------------------------------------------------------------------- vocabularies

_FIRST = [
    "Alice", "Bruno", "Chloé", "Dmitri", "Émilie", "Farah", "Günter", "Hana", "Inès", "Jürgen",
    "Kenji", "Léa", "Malik", "Nora", "Olivier", "Priya", "Quentin", "Rosa", "Søren", "Tomás",
    "Ulla", "Valentina", "Wei", "Yasmin", "Zoé", "Björn", "Ingrid", "Mateo", "Sinéad", "Łukasz",
]  # fmt: skip
_LAST = [
    "Martin", "Dubois", "Müller", "Østergaard", "García", "Nakamura", "Lefèvre", "Kowalski",
    "O'Brien", "Rossi", "Silva", "Johansson", "Nguyen", "Schmidt", "Haddad", "Fernández",
    "Novák", "Bernard", "Andersen", "Moreau", "Yilmaz", "Brønstad",
]  # fmt: skip
_JP_FIRST = ["花子", "太郎", "陽翔", "さくら"]
_JP_LAST = ["日本", "山田", "田中", "佐藤"]
_ROMAJI = {
    "花子": "hanako", "太郎": "taro", "陽翔": "haruto", "さくら": "sakura",
    "日本": "hinomoto", "山田": "yamada", "田中": "tanaka", "佐藤": "sato",
}  # fmt: skip
_TITLES = [
    "Software Engineer", "Product Manager", "Designer", "Data Scientist", "Ingénieure logiciel",
    "Head of Sales", "Support Lead", "SRE", "Marketing", "Chef de projet", "", "",
]  # fmt: skip
_TZS = [
    ("Europe/Paris", "Central European Summer Time", 7200),
    ("Europe/Berlin", "Central European Summer Time", 7200),
    ("Europe/Copenhagen", "Central European Summer Time", 7200),
    ("Europe/London", "British Summer Time", 3600),
    ("America/New_York", "Eastern Daylight Time", -14400),
    ("America/Los_Angeles", "Pacific Daylight Time", -25200),
    ("America/Sao_Paulo", "Brasilia Standard Time", -10800),
    ("Asia/Tokyo", "Japan Standard Time", 32400),
]
_PUBLIC_NAMES = [
    "general", "random", "café-équipe", "project-apollo", "launch-prep", "engineering", "design",
    "ops-alerts", "support", "product", "sales", "data-science", "frontend", "backend",
    "marketing", "hiring", "social", "watercooler", "announcements", "security",
]  # fmt: skip
_ARCHIVED_INDEX = 3  # "project-apollo"
_RENAMED_INDEX = 4  # "launch-prep", formerly "proj-hermes"
_RENAMED_FROM = "proj-hermes"
_PRIVATE_NAMES = [
    "leadership", "hr-confidential", "incident-2020-09", "finance", "legal", "board-prep",
    "recruiting-panel", "offsite-planning",
]  # fmt: skip
_TOPICS = [
    "Release 2.0 on Friday :rocket:",
    "Weekly sync: Tuesdays 10:00 UTC",
    "Sprint 42 — focus on onboarding",
    "Tout sur le projet, en français ou en anglais ☕",
    "On-call rota: see the wiki",
    "Kein Thema ist zu klein",
]
_PURPOSES = [
    "Company-wide announcements and work-based matters",
    "Non-work banter and water cooler conversation",
    "Coordination de l'équipe",
    "Alerts from production systems",
    "Design reviews, mockups and feedback",
    "Questions about the product roadmap",
]
_EMOJI = [
    "smile", "thumbsup", "tada", "rocket", "eyes", "fire", "white_check_mark", "sweat_smile",
    "pray", "coffee", "joy", "100", "partyparrot", "thumbsup::skin-tone-3", "wave::skin-tone-5",
]  # fmt: skip
_REACTIONS = [
    "thumbsup", "+1", "heart", "joy", "tada", "eyes", "white_check_mark", "pray", "fire",
    "rocket", "100", "partyparrot", "thumbsup::skin-tone-3", "clap::skin-tone-2",
    "raised_hands::skin-tone-5", "muscle::skin-tone-4",
]  # fmt: skip
_LINKS = [
    ("https://example.org/roadmap", "the roadmap"),
    ("https://docs.example.com/guide?lang=fr&section=2", "la doc"),
    ("https://github.com/example/passerelle/pull/128", "PR #128"),
    ("https://wiki.example.org/Übersicht", "Übersicht"),
    ("https://status.example.com/incidents/2020-09-14", "incident report"),
    ("https://calendar.example.com/event?id=42&tz=UTC", "invite"),
    ("https://example.org/x", "label"),
]
_BARE_URLS = [
    "https://example.org/handbook",
    "https://grafana.example.com/d/abc123/api?orgId=1&from=now-6h",
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://jira.example.com/browse/OPS-1234",
]
_ME_ACTIONS = [
    "is grabbing a coffee ☕",
    "est en réunion jusqu'à 15h",
    "is working from home today",
    "ist heute im Homeoffice",
    "is heads-down on the release",
    "is out for lunch",
]
_VALUES: dict[str, Callable[[random.Random], str]] = {
    "num": lambda r: str(r.randint(2, 999)),
    "ver": lambda r: f"{r.randint(1, 4)}.{r.randint(0, 12)}.{r.randint(0, 30)}",
    "q": lambda r: str(r.randint(1, 4)),
    "day": lambda r: r.choice(["Monday", "Tuesday", "mercredi", "Donnerstag", "Friday"]),
    "time": lambda r: f"{r.randint(8, 18):02d}:{r.choice(['00', '15', '30', '45'])}",
    "code": lambda r: r.choice(["make test", "git rebase -i HEAD~3", "kubectl get pods -n prod",
                                "SELECT count(*) FROM users;", "npm ci && npm run build"]),
    "error": lambda r: r.choice(["KeyError: 'url_private'", "ECONNRESET", "502 Bad Gateway",
                                 "NullPointerException", "x < 0 && y > 1"]),
    "os": lambda r: r.choice(["macOS", "Windows 11", "Ubuntu 20.04", "iOS"]),
    "svc": lambda r: r.choice(["api", "web", "billing", "search", "notifications"]),
}  # fmt: skip

_USER_TEMPLATES = [
    "Good morning {here}! Standup in 5 minutes {emoji}",
    "Can {user} take a look at {link} before the release?",
    "Deployed *v{ver}* to staging, details in {chan}",
    "FYI the R&D budget for Q{q} is < {num}k€ — see {link}",
    "Merci {user} pour la revue, c'est parfait {emoji}",
    "Der Build ist wieder grün {emoji}",
    "日本語のテストメッセージです。よろしくお願いします {emoji}",
    "_Quick reminder_: the ~old~ new deadline is *{day}*",
    "Use `{code}` to reproduce the bug on {os}",
    "{channel} please update your tickets before {day}",
    "I think {user_named} knows more about this, ping them",
    "Here is the doc: {url}",
    "Lunch at the café? {emoji}",
    "Ça marche, je m'en occupe {emoji}",
    "Has anyone seen `{error}` in prod since {time}?",
    "Meeting notes are in {link} — action items for {user} and {user}",
    "Ok",
    "thanks!",
    "+1",
    "Sounds good to me {emoji}",
    "Let's move this discussion to {chan}",
    "Reminder: the office is closed on {day}",
    "Great work everyone {emoji} {emoji}",
    "Tested with {num} users, p95 latency is {num} ms (< {num} ms target) {emoji}",
    "Spørsmål: hvem har nøkkelen til møterommet?",
    "PR is up: {link} — reviews welcome",
    "Who's on call this week? {here}",
    "I'll be OOO on {day}, {user} is covering",
    "The dashboard {url} shows a spike at {time} UTC",
    "Bitte nicht vergessen: Retro um {time} Uhr {emoji}",
    "Tom & Jerry are on the agenda <again> :joy:",
    "*Important:* please read {link} and react with {emoji} when done",
    "Je pense que c'est réglé, à vérifier avec {user_named}",
    "Could someone from {chan} help {user} with the Søren/Müller account?",
    "yes",
    "no idea, sorry",
    "I'm on it",
    "Looks like a caching issue -> try `{code}`",
]
_BOT_TEMPLATES = [
    "Deploy of *{svc}* v{ver} to production succeeded :white_check_mark:",
    "Build #{num} failed on `main` — {buildlink}",
    "New issue opened: {issuelink}",
    "Daily report: {num} signups, {num} active users :chart_with_upwards_trend:",
    "Reminder: standup in 5 minutes {here}",
    "Alert resolved: {svc} latency back under {num} ms",
]
_BOTS = [
    ("deploybot", "Deploy Bot"),  # also in users.json (is_bot)
    ("github", "GitHub"),  # integration bot, not a user
]
_FILE_KINDS: list[tuple[str, str, str, list[str], int]] = [
    ("png", "image/png", "PNG",
     ["screenshot.png", "Screenshot 2020-09-14 at 10.32.11.png", "mockup-v2.png",
      "diagramme-équipe.png", "写真.png"], 35),
    ("pdf", "application/pdf", "PDF",
     ["Q3 report.pdf", "résumé.pdf", "contract-draft.pdf", "Übersicht.pdf"], 20),
    ("text", "text/plain", "Plain Text", ["notes.txt", "meeting-notes.txt", "todo.txt"], 15),
    ("csv", "text/csv", "CSV", ["export.csv", "données.csv", "budget-2021.csv"], 12),
    ("json", "application/json", "JSON", ["config.json", "payload.json"], 8),
    ("markdown", "text/markdown", "Markdown", ["README.md", "runbook.md"], 10),
]  # fmt: skip
_FILE_KIND_WEIGHTS = [k[4] for k in _FILE_KINDS]

_STYLE_WRAP = {"bold": "*", "italic": "_", "strike": "~", "code": "`"}
_TEMPLATE_RE = re.compile(r"\{(\w+)\}|\*([^*]+)\*|_([^_]+)_|~([^~]+)~|`([^`]+)`")
_VALUE_RE = re.compile(r"\{(\w+)\}")
_ENTITIES = {
    "user",
    "user_named",
    "chan",
    "here",
    "channel",
    "link",
    "url",
    "emoji",
    "buildlink",
    "issuelink",
}


def _esc(s: str) -> str:
    """Escape text the way Slack's mrkdwn does (only &, < and >)."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _ts(t_us: int) -> str:
    """Format microseconds since the epoch as a Slack ``ts``."""
    return f"{t_us // _US}.{t_us % _US:06d}"


def _fold(s: str) -> str:
    """ASCII handle fragment of a (possibly non-Latin) name part."""
    if s in _ROMAJI:
        return _ROMAJI[s]
    d = unicodedata.normalize(
        "NFKD", s.replace("ø", "o").replace("Ø", "O").replace("ł", "l").replace("Ł", "L")
    )
    return "".join(c for c in d.lower() if c.isascii() and c.isalnum())


def _dump(obj: Any, indent: int | None) -> bytes:
    """Encode like Slack's exporter: UTF-8, ``/`` escaped as ``\\/``."""
    b = msgspec.json.encode(obj)
    if indent is not None:
        b = msgspec.json.format(b, indent=indent)
    return b.replace(b"/", b"\\/")


class _Mint:
    """Unique, random-looking ids: an affine permutation of a counter in base 36."""

    def __init__(self, rng: random.Random, prefix: str, width: int = 10) -> None:
        self.prefix = prefix
        self.width = width
        self.mod = 36**width
        mul = rng.randrange(self.mod // 7, self.mod)
        while math.gcd(mul, 36) != 1:
            mul += 1
        self.mul = mul
        self.add = rng.randrange(self.mod)
        self.n = 0

    def next(self) -> str:
        v = (self.n * self.mul + self.add) % self.mod
        self.n += 1
        out = []
        for _ in range(self.width):
            v, d = divmod(v, 36)
            out.append(_B36[d])
        return self.prefix + "".join(reversed(out))


# --------------------------------------------------------------------------- people and conversations


@dataclass(eq=False)
class _User:
    idx: int
    id: str
    name: str
    first: str
    last: str
    display_name: str
    title: str
    tz: tuple[str, str, int]
    team: str = TEAM_ID
    color: str = "9f69e7"
    avatar_hash: str = ""
    is_owner: bool = False
    is_admin: bool = False
    is_bot: bool = False
    deleted: bool = False
    guest: bool = False
    bot_id: str = ""
    profile: Json = field(default_factory=dict)

    @property
    def real_name(self) -> str:
        return f"{self.first} {self.last}".strip()

    @property
    def image_72(self) -> str:
        return f"https://avatars.slack-edge.com/2020-09-01/{self.avatar_hash}_72.jpg"

    def to_json(self, updated: int) -> Json:
        """The users.json entry."""
        email_name = f"{_fold(self.first)}.{_fold(self.last)}".strip(".") or self.name
        domain = "partner.example.net" if self.guest else "example.com"
        profile: Json = {
            "title": self.title,
            "phone": "",
            "skype": "",
            "real_name": self.real_name,
            "real_name_normalized": "".join(
                c for c in unicodedata.normalize("NFKD", self.real_name) if not unicodedata.combining(c)
            ),
            "display_name": self.display_name,
            "display_name_normalized": self.display_name,
            "fields": None,
            "status_text": "",
            "status_emoji": "",
            "status_expiration": 0,
            "avatar_hash": self.avatar_hash,
        }
        if self.is_bot:
            profile["bot_id"] = self.bot_id
            profile["api_app_id"] = "A0DEPLOY01"
            profile["always_active"] = True
        else:
            profile["email"] = f"{email_name}@{domain}"
        profile.update(
            {
                "first_name": self.first,
                "last_name": self.last,
                "image_24": self.image_72.replace("_72.", "_24."),
                "image_48": self.image_72.replace("_72.", "_48."),
                "image_72": self.image_72,
                "image_192": self.image_72.replace("_72.", "_192."),
                "image_512": self.image_72.replace("_72.", "_512."),
                "team": self.team,
            }
        )
        return {
            "id": self.id,
            "team_id": self.team,
            "name": self.name,
            "deleted": self.deleted,
            "color": self.color,
            "real_name": self.real_name,
            "tz": self.tz[0],
            "tz_label": self.tz[1],
            "tz_offset": self.tz[2],
            "profile": profile,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": self.is_owner,
            "is_restricted": self.guest,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": updated,
        }


@dataclass(eq=False)
class _Conv:
    kind: str  # "public" | "private" | "dm" | "mpim"
    id: str
    name: str  # current name; the DM id for DMs
    created: int  # seconds
    creator: _User
    members: list[_User]
    seed: int
    start_us: int
    end_us: int
    weight: float
    is_general: bool = False
    is_archived: bool = False
    old_name: str = ""
    n: int = 0
    topic: Json = field(default_factory=lambda: {"value": "", "creator": "", "last_set": 0})
    purpose: Json = field(default_factory=lambda: {"value": "", "creator": "", "last_set": 0})
    pins: list[Json] = field(default_factory=list)

    @property
    def folder(self) -> str:
        return self.id if self.kind == "dm" else self.name

    def to_json(self) -> Json:
        """The channels.json / groups.json / dms.json / mpims.json entry."""
        members = [u.id for u in sorted(self.members, key=lambda u: u.idx)]
        if self.kind == "dm":
            return {"id": self.id, "created": self.created, "members": members}
        out: Json = {
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "creator": self.creator.id,
            "is_archived": self.is_archived,
        }
        if self.kind != "mpim":
            out["is_general"] = self.is_general
        out["members"] = members
        out["topic"] = self.topic
        out["purpose"] = self.purpose
        if self.pins:
            out["pins"] = self.pins
        return out


# --------------------------------------------------------------------------- text


# (kind "t" literal | "e" entity, raw text or entity name, escaped text, style, has value placeholders)
_Part = tuple[str, str, str, str, bool]


def _compile(template: str) -> list[_Part]:
    """Split a template into literal runs (with optional style) and entity placeholders."""
    parts: list[_Part] = []
    pos = 0

    def lit(s: str, style: str) -> None:
        if s:
            parts.append(("t", s, _esc(s), style, bool(_VALUE_RE.search(s))))

    for m in _TEMPLATE_RE.finditer(template):
        ph = m.group(1)
        if ph is not None and ph not in _ENTITIES:
            continue  # a value placeholder: stays inside the surrounding literal
        lit(template[pos : m.start()], "")
        if ph is not None:
            parts.append(("e", ph, "", "", False))
        else:
            style = ("bold", "italic", "strike", "code")[
                [m.group(i) is not None for i in (2, 3, 4, 5)].index(True)
            ]
            lit(m.group(m.lastindex or 0), style)
        pos = m.end()
    lit(template[pos:], "")
    return parts


class _ValueMap(dict[str, str]):
    """``str.format_map`` mapping that draws a fresh random value per placeholder."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    def __missing__(self, key: str) -> str:
        return _VALUES[key](self.rng)


class _Text:
    """Renders templates to mrkdwn ``text`` and, on demand, mirroring rich_text elements."""

    def __init__(self, users: list[_User], channels: list[_Conv]) -> None:
        self.user_tpl = [_compile(t) for t in _USER_TEMPLATES]
        self.bot_tpl = [_compile(t) for t in _BOT_TEMPLATES]
        self.users = users
        self.channels = channels

    def _entity(self, rng: random.Random, name: str) -> tuple[str, Json]:
        if name == "user" or name == "user_named":
            u = rng.choice(self.users)
            if name == "user":
                return f"<@{u.id}>", {"type": "user", "user_id": u.id}
            return f"<@{u.id}|{u.name}>", {"type": "user", "user_id": u.id}
        if name == "chan":
            if not self.channels:
                return "#general", {"type": "text", "text": "#general"}
            c = rng.choice(self.channels)
            return f"<#{c.id}|{c.name}>", {"type": "channel", "channel_id": c.id}
        if name == "here" or name == "channel":
            return f"<!{name}>", {"type": "broadcast", "range": name}
        if name == "link":
            url, label = rng.choice(_LINKS)
            return f"<{_esc(url)}|{_esc(label)}>", {"type": "link", "url": url, "text": label}
        if name == "url":
            url = rng.choice(_BARE_URLS)
            return f"<{_esc(url)}>", {"type": "link", "url": url}
        if name == "buildlink":
            url = f"https://ci.example.com/build/{rng.randint(1000, 99999)}"
            return f"<{url}|details>", {"type": "link", "url": url, "text": "details"}
        if name == "issuelink":
            n = rng.randint(10, 2000)
            url, label = f"https://github.com/example/app/issues/{n}", f"#{n} Crash on startup"
            return f"<{url}|{label}>", {"type": "link", "url": url, "text": label}
        # emoji
        e = rng.choice(_EMOJI)
        base, sep, tone = e.partition("::skin-tone-")
        el: Json = {"type": "emoji", "name": base}
        if sep:
            el["skin_tone"] = int(tone)
        return f":{e}:", el

    def render(
        self, rng: random.Random, tpls: list[list[_Part]], n: int, blocks: bool
    ) -> tuple[str, list[Json]]:
        """Text of ``n`` random templates; ``blocks`` also builds rich_text section elements."""
        out: list[str] = []
        els: list[Json] = []
        values = _ValueMap(rng)
        sep = "\n" if n > 1 and rng.random() < 0.5 else " "
        for i in range(n):
            if i:
                out.append(sep)
                if blocks:
                    els.append({"type": "text", "text": sep})
            for kind, s, escaped, style, has_values in rng.choice(tpls):
                if kind == "e":
                    txt, el = self._entity(rng, s)
                    out.append(txt)
                    if blocks:
                        els.append(el)
                    continue
                if has_values:
                    s = s.format_map(values)
                    escaped = _esc(s)
                if style:
                    w = _STYLE_WRAP[style]
                    out.append(f"{w}{escaped}{w}")
                    if blocks:
                        els.append({"type": "text", "text": s, "style": {style: True}})
                else:
                    out.append(escaped)
                    if blocks:
                        els.append({"type": "text", "text": s})
        return "".join(out), els


# --------------------------------------------------------------------------- file bytes


def _png(rng: random.Random) -> bytes:
    """A small valid RGB PNG of random noise."""
    w, h = rng.randint(8, 32), rng.randint(8, 32)
    raw = b"".join(b"\x00" + rng.randbytes(3 * w) for _ in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


_PDF_WORDS = ["lorem", "ipsum", "quarterly", "report", "revenue", "growth", "team", "roadmap", "budget"]


def _pdf(rng: random.Random) -> bytes:
    """A small valid one-page PDF with a correct xref table."""
    lines = [" ".join(rng.choices(_PDF_WORDS, k=rng.randint(3, 9))) for _ in range(rng.randint(3, 40))]
    content = "BT /F1 11 Tf 72 740 Td " + " ".join(f"({ln}) Tj 0 -14 Td" for ln in lines) + " ET"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{o}\nendobj\n".encode("ascii")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode("ascii")
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode("ascii")
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode("ascii")
    return bytes(out)


def _text_file(rng: random.Random, text: _Text, filetype: str) -> bytes:
    """Text-like file contents (plain, csv, json or markdown), 200 to ~4,000 bytes."""
    target = rng.randint(200, 3_800)
    lines: list[str] = []
    size = 0
    if filetype == "csv":
        lines.append("id,name,amount,currency,comment")
    elif filetype == "markdown":
        lines.append("# Runbook\n")
    elif filetype == "json":
        lines.append("[")
    i = 0
    while size < target:
        i += 1
        if filetype == "csv":
            u = rng.choice(text.users)
            ln = f'{i},"{u.real_name}",{rng.randint(1, 99999) / 100:.2f},EUR,"{rng.choice(_PURPOSES)}"'
        elif filetype == "json":
            ln = f'  {{"id": {i}, "value": {rng.randint(0, 10**6)}, "label": "{rng.choice(_PURPOSES)}"}},'
        else:
            t, _ = text.render(rng, text.user_tpl, 1, False)
            ln = f"- {t}" if filetype == "markdown" else t
        lines.append(ln)
        size += len(ln.encode()) + 1
    if filetype == "json":
        lines[-1] = lines[-1].rstrip(",")
        lines.append("]")
    return ("\n".join(lines) + "\n").encode()


# --------------------------------------------------------------------------- world


class _World:
    """Users, conversations and shared generators, built from the master RNG."""

    def __init__(self, spec: ExportSpec) -> None:
        if spec.messages < 0 or spec.users < 5:
            raise ValueError("ExportSpec needs messages >= 0 and users >= 5")
        if min(spec.public_channels, spec.private_channels, spec.dms, spec.mpims) < 0:
            raise ValueError("conversation counts must be >= 0")
        n_conv = spec.public_channels + spec.private_channels + spec.dms + spec.mpims
        if spec.messages > 0 and n_conv == 0:
            raise ValueError("messages > 0 needs at least one conversation")
        self.spec = spec
        rng = self.rng = random.Random(spec.seed)
        self.user_mint = _Mint(rng, "U")
        self.bot_mint = _Mint(rng, "B")
        self.file_mint = _Mint(rng, "F")
        self.room_mint = _Mint(rng, "R")
        self.start_us = spec.start * _US
        span_days = 60.0 + 30.0 * math.sqrt(spec.messages / 1000.0)
        self.span_us = int(span_days * _DAY_US)
        self.deleted_cutoff_us = self.start_us + self.span_us // 2
        self._build_users()
        self._build_convs()
        self.text = _Text(self.users, self.public)
        self._allocate()

    # users ------------------------------------------------------------------

    def _build_users(self) -> None:
        rng, n = self.rng, self.spec.users
        self.users: list[_User] = []
        used: set[str] = set()
        for i in range(n):
            if rng.random() < 0.1:
                first, last = rng.choice(_JP_FIRST), rng.choice(_JP_LAST)
            else:
                first, last = rng.choice(_FIRST), rng.choice(_LAST)
            handle = f"{_fold(first)}.{_fold(last)}"[:21].strip(".") or f"user{i}"
            base, k = handle, 1
            while handle in used:
                k += 1
                handle = f"{base}{k}"
            used.add(handle)
            display = rng.choice([first, handle, "", f"{first} {last[:1]}."])
            u = _User(
                idx=i,
                id=self.user_mint.next(),
                name=handle,
                first=first,
                last=last,
                display_name=display,
                title=rng.choice(_TITLES),
                tz=rng.choice(_TZS),
                color=f"{rng.getrandbits(24):06x}",
                avatar_hash=f"{rng.getrandbits(48):012x}",
            )
            self.users.append(u)
        owner = self.users[0]
        owner.is_owner = owner.is_admin = True
        self.users[1].is_admin = True
        bot = self.bot = self.users[-1]
        bot.is_bot, bot.first, bot.last, bot.name = True, "Deploy Bot", "", "deploybot"
        bot.display_name, bot.title, bot.bot_id = "", "", self.bot_mint.next()
        self.deleted = self.users[-2]
        self.deleted.deleted = True
        self.guest = self.users[-3]
        self.guest.guest = True
        self.guest.title = "Consultant (guest)"
        self.humans = [u for u in self.users if not u.is_bot]
        # Authors that are absent from users.json: departed users and a Slack Connect partner.
        self.ghosts = [
            _User(idx=n + 1, id=self.user_mint.next(), name="jonas.weber", first="Jonas", last="Weber",
                  display_name="jonas", title="", tz=_TZS[1], avatar_hash=f"{rng.getrandbits(48):012x}"),
            _User(idx=n + 2, id=self.user_mint.next(), name="amelie.roux", first="Amélie", last="Roux",
                  display_name="", title="", tz=_TZS[0], avatar_hash=f"{rng.getrandbits(48):012x}"),
            _User(idx=n + 3, id=self.user_mint.next(), name="kim.partner", first="Kim", last="Larsen",
                  display_name="Kim (Partner Co)", title="", tz=_TZS[2], team=PARTNER_TEAM_ID,
                  avatar_hash=f"{rng.getrandbits(48):012x}"),
        ]  # fmt: skip
        for u in [*self.users, *self.ghosts]:
            u.profile = {
                "avatar_hash": u.avatar_hash,
                "image_72": u.image_72,
                "first_name": u.first,
                "real_name": u.real_name,
                "display_name": u.display_name,
                "team": u.team,
                "name": u.name,
                "is_restricted": u.guest,
                "is_ultra_restricted": False,
            }
        self.bots = [(self.bot.bot_id, "deploybot", "Deploy Bot"), (self.bot_mint.next(), "github", "GitHub")]

    # conversations ------------------------------------------------------------

    def _conv(self, kind: str, cid: str, name: str, creator: _User, members: list[_User], weight: float,
              start_us: int | None = None, end_frac: float = 1.0) -> _Conv:  # fmt: skip
        rng = self.rng
        if start_us is None:
            start_us = self.start_us + int(rng.random() * 0.25 * self.span_us)
        end_us = self.start_us + int(self.span_us * end_frac)
        uniq = list({m.idx: m for m in [creator, *members]}.values())
        return _Conv(kind=kind, id=cid, name=name, created=start_us // _US, creator=creator, members=uniq,
                     seed=rng.getrandbits(64), start_us=start_us, end_us=max(end_us, start_us + _DAY_US),
                     weight=weight)  # fmt: skip

    def _build_convs(self) -> None:
        rng, spec = self.rng, self.spec
        chan_mint, group_mint, dm_mint = _Mint(rng, "C"), _Mint(rng, "G"), _Mint(rng, "D")
        humans = self.humans
        regulars = [u for u in humans if not u.guest]
        self.public: list[_Conv] = []
        for i in range(spec.public_channels):
            base = _PUBLIC_NAMES[i % len(_PUBLIC_NAMES)]
            name = base if i < len(_PUBLIC_NAMES) else f"{base}-{i // len(_PUBLIC_NAMES) + 1}"
            if i == 0:
                c = self._conv("public", chan_mint.next(), name, self.users[0],
                               [u for u in self.users if not u.guest], 3.0, start_us=self.start_us)  # fmt: skip
                c.is_general = True
            else:
                k = rng.randint(min(4, len(regulars)), min(len(regulars), 22))
                members = rng.sample(regulars, k)
                if i == 2:
                    members.append(self.guest)
                if name == "ops-alerts":
                    members.append(self.bot)
                archived = i == _ARCHIVED_INDEX
                c = self._conv("public", chan_mint.next(), name, members[0], members, 0.6 if archived else 1.5,
                               end_frac=0.5 if archived else 1.0)  # fmt: skip
                c.is_archived = archived
                if i == _RENAMED_INDEX:
                    c.old_name = _RENAMED_FROM
            self.public.append(c)
        self.private: list[_Conv] = []
        for i in range(spec.private_channels):
            base = _PRIVATE_NAMES[i % len(_PRIVATE_NAMES)]
            name = base if i < len(_PRIVATE_NAMES) else f"{base}-{i // len(_PRIVATE_NAMES) + 1}"
            members = rng.sample(regulars, rng.randint(min(3, len(regulars)), min(len(regulars), 8)))
            if i == 0:
                members.append(self.guest)
            self.private.append(self._conv("private", group_mint.next(), name, members[0], members, 1.0))
        self.dms: list[_Conv] = []
        max_pairs = len(humans) * (len(humans) - 1) // 2
        if spec.dms > max_pairs:
            raise ValueError(f"at most {max_pairs} distinct DMs with {spec.users} users")
        if 2 * spec.dms > max_pairs:  # dense: enumerate (small, since users are few)
            pairs = rng.sample([(a, b) for i, a in enumerate(humans) for b in humans[i + 1 :]], spec.dms)
        else:  # sparse: rejection sampling, memory independent of users²
            seen: set[tuple[int, int]] = set()
            pairs = []
            while len(pairs) < spec.dms:
                a, b = rng.sample(humans, 2)
                key = (min(a.idx, b.idx), max(a.idx, b.idx))
                if key not in seen:
                    seen.add(key)
                    pairs.append((a, b))
        for a, b in pairs:
            self.dms.append(self._conv("dm", dm_mint.next(), "", a, [a, b], 0.5))
        for c in self.dms:
            c.name = c.id
        self.mpims: list[_Conv] = []
        names: Counter[str] = Counter()
        for _ in range(spec.mpims):
            members = rng.sample(humans, min(len(humans), rng.randint(3, 4)))
            base = "mpdm-" + "--".join(u.name for u in members)
            names[base] += 1
            c = self._conv("mpim", group_mint.next(), f"{base}-{names[base]}", members[0], members, 0.6)
            c.purpose = {
                "value": "Group messaging with: " + " ".join(f"@{u.name}" for u in members),
                "creator": members[0].id,
                "last_set": c.created,
            }
            self.mpims.append(c)
        self.convs = [*self.public, *self.private, *self.dms, *self.mpims]

    def _allocate(self) -> None:
        """Split the exact message budget over conversations (largest remainder)."""
        total = self.spec.messages
        if not self.convs:
            return
        wsum = sum(c.weight for c in self.convs)
        shares = [total * c.weight / wsum for c in self.convs]
        for c, s in zip(self.convs, shares, strict=True):
            c.n = int(s)
        rest = total - sum(c.n for c in self.convs)
        order = sorted(range(len(self.convs)), key=lambda i: (-(shares[i] - int(shares[i])), i))
        for i in order[:rest]:
            self.convs[i].n += 1

    def make_file(self, rng: random.Random, user: _User, t_us: int, mode: str) -> tuple[Json, bytes | None]:
        """A file object for a message, and its bytes when hosted."""
        fid = self.file_mint.next()
        if mode != "hosted":
            return {"id": fid, "mode": mode}, None
        filetype, mimetype, pretty, names, _ = rng.choices(_FILE_KINDS, weights=_FILE_KIND_WEIGHTS)[0]
        name = rng.choice(names)
        if filetype == "png":
            data = _png(rng)
        elif filetype == "pdf":
            data = _pdf(rng)
        else:
            data = _text_file(rng, self.text, filetype)
        created = t_us // _US
        q = quote(name)
        slug = quote(name.lower().replace(" ", "_"))
        title = name.rsplit(".", 1)[0] if rng.random() < 0.7 else name
        obj: Json = {
            "id": fid,
            "created": created,
            "timestamp": created,
            "name": name,
            "title": title,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": pretty,
            "user": user.id,
            "user_team": user.team,
            "editable": filetype in ("text", "markdown"),
            "size": len(data),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{fid}/{q}",
            "url_private_download": f"https://files.slack.com/files-pri/{TEAM_ID}-{fid}/download/{q}",
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{user.id}/{fid}/{slug}",
            "permalink_public": f"https://slack-files.com/{TEAM_ID}-{fid}-{rng.getrandbits(40):010x}",
        }
        return obj, data

    def users_json(self) -> list[Json]:
        updated = self.start_us // _US - 30 * _DAY_S
        return [u.to_json(updated + u.idx * 3_607) for u in self.users]

    def integration_logs(self) -> list[Json]:
        admin = self.users[0]
        day = str(self.spec.start - 3 * _DAY_S)
        return [
            {"user_id": admin.id, "user_name": admin.name, "date": day, "change_type": "added",
             "app_id": "A0DEPLOY01", "app_type": "app", "scope": "chat:write,incoming-webhook",
             "service_type": "Deploy Bot"},
            {"user_id": admin.id, "user_name": admin.name, "date": day, "change_type": "added",
             "service_id": "1046281733", "service_type": "GitHub", "channel": "#engineering"},
        ]  # fmt: skip


# --------------------------------------------------------------------------- per-conversation generator


class _Thread:
    """A planned thread: everything its root must announce, decided up front."""

    __slots__ = ("late", "latest", "remaining", "reply_users", "snapshot", "ts", "user")

    def __init__(self, ts: str, user: str) -> None:
        self.ts = ts
        self.user = user
        self.reply_users: list[str] = []
        self.latest = ts
        self.remaining = 0
        self.late = False
        self.snapshot: Json | None = None


# heap entry: (time µs, sequence, kind, thread, author, broadcast flag, pin info)
_Pending = tuple[int, int, str, _Thread | None, _User | None, bool, Json | None]

_FORCED = [
    (0.04, "ghost"), (0.08, "crossday"), (0.12, "tombstone"), (0.16, "broadcast"), (0.20, "files"),
    (0.24, "reactions"), (0.28, "pin"), (0.32, "bot"), (0.36, "me"), (0.40, "huddle"), (0.44, "edited"),
    (0.48, "leave"), (0.52, "hidden_file"), (0.56, "ghost"),
]  # fmt: skip


class _Gen:
    """Generates one conversation's messages in strictly increasing ``ts`` order."""

    def __init__(
        self,
        world: _World,
        conv: _Conv,
        upload: Callable[[str, str, bytes], None],
        showcase: bool,
    ) -> None:
        self.w = world
        self.c = conv
        self.rng = random.Random(conv.seed)
        self.upload = upload
        self.is_channel = conv.kind in ("public", "private")
        self.allow_ghost = conv.kind != "dm"
        self.budget = conv.n
        self.final_reserve = 1 if conv.is_archived and conv.n > 0 else 0
        self.emitted = 0
        self.reserved = 0
        self.open_threads = 0
        self.heap: list[_Pending] = []
        self.pending_times: set[int] = set()
        self.seq = 0
        self.forced = [(int(f * conv.n), k) for f, k in _FORCED] if showcase else []
        humans = [u for u in conv.members if not u.is_bot]
        if self.is_channel:
            self.pool = [conv.creator]
            self.to_join = [u for u in humans if u is not conv.creator]
        else:
            self.pool = humans
            self.to_join = []
        avail = (conv.end_us - conv.start_us) * (5 / 7) * (13 / 24)
        self.gap_us = max(avail / max(conv.n, 1), 2.0 * _US)
        self.reply_gap_us = min(max(self.gap_us / 3, 20.0 * _US), 2.0 * _HOUR_US)

    # time ---------------------------------------------------------------------

    def _next_time(self, t: int) -> int:
        rng = self.rng
        t2 = t + int(rng.expovariate(1.0) * self.gap_us) + 1_000
        sec = t2 // _US
        day, hour = divmod(sec, _DAY_S)
        hour //= 3_600
        if (hour < 7 or hour >= 20) and rng.random() < 0.9:
            day += 1 if hour >= 20 else 0
            t2 = max(t2, (day * _DAY_S + 7 * 3_600) * _US + int(rng.random() * 3 * _HOUR_US))
        wd = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday == 0
        if wd >= 5 and rng.random() < 0.85:
            t2 = max(t2, ((day + 7 - wd) * _DAY_S + 7 * 3_600) * _US + int(rng.random() * 3 * _HOUR_US))
        return t2

    def _unique_pending(self, t: int) -> int:
        while t in self.pending_times:
            t += 1
        self.pending_times.add(t)
        return t

    def _push(
        self, t: int, kind: str, th: _Thread | None, author: _User | None, bc: bool, pin: Json | None
    ) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, th, author, bc, pin))
        self.reserved += 1

    def _free(self) -> int:
        return self.budget - self.final_reserve - self.emitted - self.reserved

    # people -------------------------------------------------------------------

    def _author(self, t: int) -> _User:
        rng = self.rng
        if self.allow_ghost and rng.random() < 0.006:
            return rng.choice(self.w.ghosts)
        u = rng.choice(self.pool)
        if u.deleted and t > self.w.deleted_cutoff_us:
            u = rng.choice(self.pool)
            if u.deleted:
                u = self.c.creator
        return u

    # message builders ----------------------------------------------------------

    def _sys(self, t: int, subtype: str, user: _User, text: str, profile: bool = False) -> Json:
        m: Json = {"type": "message", "subtype": subtype, "ts": _ts(t), "user": user.id, "text": text}
        if profile:
            m["user_profile"] = user.profile
        return m

    def _user_msg(self, t: int, author: _User, *, p_files: float, p_react: float, p_edit: float) -> Json:
        rng = self.rng
        r = rng.random()
        blocks = r < 0.5
        n = 1 if rng.random() < 0.72 else (2 if rng.random() < 0.85 else 3)
        text, els = self.w.text.render(rng, self.w.text.user_tpl, n, blocks)
        x = rng.getrandbits(128)
        h = f"{x:032x}"
        m: Json = {
            "client_msg_id": f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[x & 3]}{h[17:20]}-{h[20:]}",
            "type": "message",
            "text": text,
            "user": author.id,
            "ts": _ts(t),
            "team": author.team,
            "user_team": author.team,
            "source_team": author.team,
            "user_profile": author.profile,
        }
        if blocks:
            block_id = "".join(rng.choices(_BLOCK_ID_CHARS, k=5))
            m["blocks"] = [
                {"type": "rich_text", "block_id": block_id,
                 "elements": [{"type": "rich_text_section", "elements": els}]}
            ]  # fmt: skip
        elif r < 0.53:
            m["blocks"] = None
        if rng.random() < 0.03:
            m["attachments"] = None
        elif "<http" in text and rng.random() < 0.2:
            url, label = rng.choice(_LINKS)
            m["attachments"] = [
                {"id": 1, "fallback": f"Example: {label}", "title": label, "title_link": url, "from_url": url,
                 "original_url": url, "service_name": "example.org", "text": rng.choice(_PURPOSES)}
            ]  # fmt: skip
        if rng.random() < p_edit:
            m["edited"] = {
                "user": author.id,
                "ts": _ts(t + rng.randint(20, 7_200) * _US + rng.randrange(_US)),
            }
        if rng.random() < p_react:
            self._react(m, forced=False)
        if rng.random() < p_files:
            self._attach(m, author, t, ["hosted"] if rng.random() < 0.85 else ["hosted", "hosted"])
        return m

    def _react(self, m: Json, *, forced: bool) -> None:
        rng = self.rng
        if forced:
            names = ["thumbsup::skin-tone-3", "partyparrot", "heart"]
        else:
            k = 1 if rng.random() < 0.7 else (2 if rng.random() < 0.75 else 3)
            names = rng.sample(_REACTIONS, k)
        out = []
        for name in names:
            cnt = min(len(self.pool), 1 + int(rng.expovariate(0.7)), 8)
            if forced:
                cnt = min(len(self.pool), 3)
            users = [u.id for u in rng.sample(self.pool, cnt)]
            out.append({"name": name, "users": users, "count": len(users)})
        m["reactions"] = out

    def _attach(self, m: Json, author: _User, t: int, modes: list[str]) -> None:
        rng = self.rng
        files = []
        for mode in modes:
            if mode == "hosted":
                r = rng.random()
                mode = "tombstone" if r < 0.05 else ("hidden_by_limit" if r < 0.08 else "hosted")
            obj, data = self.w.make_file(rng, author, t, mode)
            files.append(obj)
            if data is not None:
                self.upload(obj["id"], obj["name"], data)
        m["files"] = files
        m["upload"] = True
        m["display_as_bot"] = False
        if rng.random() < 0.3:
            m["text"] = ""
            m.pop("blocks", None)

    def _plan_thread(self, m: Json, t: int, user_id: str, k: int, *, forced: bool, late: bool = False,
                     broadcast: bool = False) -> bool:  # fmt: skip
        """Schedule ``k`` replies to ``m`` (fewer if the budget is short) and annotate the root."""
        rng = self.rng
        free = self._free() - 1  # the root itself is not emitted yet
        k = min(k, free if forced else free // 2)
        if k <= 0 or (not forced and self.open_threads >= _MAX_OPEN_THREADS):
            return False
        th = _Thread(m["ts"], user_id)
        participants = [u for u in self.pool if u.id != user_id]
        rng.shuffle(participants)
        participants = participants[: rng.randint(1, 3)] or list(self.pool)
        if rng.random() < 0.5:
            root_user = next((u for u in self.pool if u.id == user_id), None)
            if root_user is not None:
                participants.append(root_user)
        late_at = rng.randrange(k) if (late or rng.random() < 0.12) else -1
        bc_at = k - 1 if broadcast else -1
        tr = t
        for i in range(k):
            tr += int(rng.expovariate(1.0) * self.reply_gap_us) + _US
            if i == late_at:
                tr += rng.randint(20, 60) * _HOUR_US
            tr = self._unique_pending(tr)
            author = participants[0] if i == 0 else rng.choice(participants)
            if self.allow_ghost and rng.random() < 0.006:
                author = rng.choice(self.w.ghosts)
            bc = i == bc_at or rng.random() < 0.005
            if bc:
                th.snapshot = {}
            if author.id not in th.reply_users:
                th.reply_users.append(author.id)
            self._push(tr, "reply", th, author, bc, None)
        th.remaining = k
        th.latest = _ts(tr)
        self.open_threads += 1
        m["thread_ts"] = th.ts
        m["reply_count"] = k
        m["reply_users_count"] = len(th.reply_users)
        m["latest_reply"] = th.latest
        m["reply_users"] = th.reply_users
        m["is_locked"] = False
        m["subscribed"] = False
        if th.snapshot is not None:
            th.snapshot = {
                "type": "message",
                "text": m["text"],
                "user": m.get("user", user_id),
                "ts": th.ts,
                "thread_ts": th.ts,
                "reply_count": k,
                "reply_users_count": len(th.reply_users),
                "latest_reply": th.latest,
                "reply_users": th.reply_users,
                "is_locked": False,
                "subscribed": False,
            }
        return True

    def _reply(self, t: int, th: _Thread, author: _User, bc: bool) -> Json:
        m = self._user_msg(t, author, p_files=0.02, p_react=0.06, p_edit=0.05)
        m["thread_ts"] = th.ts
        if bc:
            m["subtype"] = "thread_broadcast"
            m["root"] = th.snapshot
        else:
            m["parent_user_id"] = th.user
        th.remaining -= 1
        if th.remaining == 0:
            self.open_threads -= 1
        return m

    def _kind(self) -> str:
        """Pick the kind of the next new (non-reply) message."""
        if self.forced and self.emitted >= self.forced[0][0]:
            return self.forced.pop(0)[1]
        rng = self.rng
        if self.to_join and rng.random() < 0.25:
            return "join_pending"
        r = rng.random()
        if r < 0.925:
            return "plain"
        if not self.is_channel:
            if r < 0.930:
                return "me"
            if r < 0.932:
                return "huddle"
            return "tombstone" if r < 0.9335 else "plain"
        if r < 0.932:
            return "join"
        if r < 0.936:
            return "leave"
        if r < 0.938:
            return "topic"
        if r < 0.939:
            return "purpose"
        if r < 0.953:
            return "bot"
        if r < 0.958:
            return "me"
        if r < 0.960:
            return "huddle"
        if r < 0.9615:
            return "tombstone"
        if r < 0.9635:
            return "pin"
        return "plain"

    def _new(self, t: int) -> Json:
        """Build the next new message at time ``t`` (may schedule replies or a pin event)."""
        rng, c = self.rng, self.c
        kind = self._kind()
        if kind == "join_pending":
            u = self.to_join.pop(0)
            self.pool.append(u)
            m = self._sys(t, "channel_join", u, f"<@{u.id}> has joined the channel", profile=True)
            if rng.random() < 0.3:
                m["inviter"] = c.creator.id
            return m
        if kind == "join" and self.is_channel:
            ids = {u.idx for u in c.members}
            cands = [u for u in self.w.humans if u.idx not in ids and not u.guest]
            if cands:
                u = rng.choice(cands)
                c.members.append(u)
                self.pool.append(u)
                return self._sys(t, "channel_join", u, f"<@{u.id}> has joined the channel", profile=True)
        if kind == "leave" and self.is_channel and len(self.pool) > 2:
            u = rng.choice([p for p in self.pool if p is not c.creator])
            self.pool.remove(u)
            if u in c.members:
                c.members.remove(u)
            return self._sys(t, "channel_leave", u, f"<@{u.id}> has left the channel", profile=True)
        if kind == "topic" and self.is_channel:
            return self._topic(t, self._author(t), rng.choice(_TOPICS))
        if kind == "purpose" and self.is_channel:
            return self._purpose(t, self._author(t), rng.choice(_PURPOSES))
        if kind == "bot":
            bot_id, username, label = rng.choice(self.w.bots)
            text, _ = self.w.text.render(rng, self.w.text.bot_tpl, 1, False)
            m = {"type": "message", "subtype": "bot_message", "text": text, "ts": _ts(t), "bot_id": bot_id,
                 "username": username,
                 "icons": {"image_48": f"https://avatars.slack-edge.com/2020-01-01/{username}_48.png"}}  # fmt: skip
            if rng.random() < 0.4:
                m["attachments"] = [
                    {"id": 1, "color": "36a64f", "fallback": f"{label}: {rng.choice(_PURPOSES)}",
                     "title": rng.choice(_PURPOSES), "title_link": rng.choice(_BARE_URLS),
                     "text": rng.choice(_PURPOSES), "footer": label}
                ]  # fmt: skip
            return m
        if kind == "me":
            u = self._author(t)
            m = self._sys(t, "me_message", u, rng.choice(_ME_ACTIONS))
            m["user_profile"] = u.profile
            return m
        if kind == "huddle":
            return self._huddle(t)
        if kind == "tombstone":
            original = self._author(t)
            m = {"type": "message", "subtype": "tombstone", "text": "This message was deleted.",
                 "user": original.id, "ts": _ts(t), "hidden": True}  # fmt: skip
            if self._plan_thread(m, t, original.id, rng.randint(1, 4), forced=True):
                return m
            kind = "plain"  # no budget for replies: a tombstone without replies does not exist
        author = self.w.ghosts[0] if kind == "ghost" else self._author(t)
        if kind == "files":
            m = self._user_msg(t, author, p_files=0.0, p_react=0.0, p_edit=0.0)
            self._attach(m, author, t, ["hosted", "hosted", "tombstone"])
            return m
        if kind == "hidden_file":
            m = self._user_msg(t, author, p_files=0.0, p_react=0.0, p_edit=0.0)
            self._attach(m, author, t, ["hidden_by_limit", "hosted"])
            return m
        m = self._user_msg(t, author, p_files=0.03, p_react=0.10, p_edit=0.05)
        if kind == "reactions":
            self._react(m, forced=True)
        elif kind == "edited":
            m["edited"] = {"user": author.id, "ts": _ts(t + 90 * _US)}
        elif kind == "crossday":
            self._plan_thread(m, t, author.id, 3, forced=True, late=True)
        elif kind == "broadcast":
            self._plan_thread(m, t, author.id, 2, forced=True, broadcast=True)
        elif kind == "pin" and self.is_channel and len(c.pins) < 3 and self._free() >= 2:
            m["pinned_to"] = [c.id]
            pinner = self._author(t)
            pin = {"id": m["ts"], "type": "C", "user": pinner.id, "owner": author.id}
            t_pin = t + rng.randint(10, 900) * _US + rng.randrange(_US)
            self._push(self._unique_pending(t_pin), "pin", None, pinner, False, pin)
        elif rng.random() < 0.09:
            k = 1 + int(rng.expovariate(1 / 2.8))
            self._plan_thread(m, t, author.id, min(k, 40), forced=False)
        return m

    def _topic(self, t: int, u: _User, value: str) -> Json:
        m = self._sys(t, "channel_topic", u, f"<@{u.id}> set the channel topic: {value}")
        m["topic"] = value
        self.c.topic = {"value": value, "creator": u.id, "last_set": t // _US}
        return m

    def _purpose(self, t: int, u: _User, value: str) -> Json:
        m = self._sys(t, "channel_purpose", u, f"<@{u.id}> set the channel purpose: {value}")
        m["purpose"] = value
        self.c.purpose = {"value": value, "creator": u.id, "last_set": t // _US}
        return m

    def _huddle(self, t: int) -> Json:
        rng, c = self.rng, self.c
        people = rng.sample(self.pool, min(len(self.pool), rng.randint(2, 5)))
        start = t // _US
        ts = _ts(t)
        m: Json = {
            "type": "message",
            "subtype": "huddle_thread",
            "user": SLACKBOT,
            "text": "",
            "ts": ts,
            "channel_type": {"public": "channel", "private": "group", "dm": "im", "mpim": "mpim"}[c.kind],
            "no_notifications": True,
            "room": {
                "id": self.w.room_mint.next(),
                "name": "",
                "created_by": people[0].id,
                "date_start": start,
                "date_end": start + rng.randint(120, 3_600),
                "participants": [],
                "participant_history": [u.id for u in people],
                "thread_root_ts": ts,
                "channels": [c.id],
                "is_dm_call": c.kind == "dm",
                "was_rejected": False,
                "was_missed": False,
                "was_accepted": False,
                "has_ended": True,
                "call_family": "huddle",
            },
        }
        if rng.random() < 0.5:
            self._plan_thread(m, t, SLACKBOT, rng.randint(1, 3), forced=False)
        return m

    def _pin_item(self, t: int, pinner: _User, pin: Json) -> Json:
        c = self.c
        pin["created"] = t // _US
        c.pins.append(pin)
        m = self._sys(t, "pinned_item", pinner, f"<@{pinner.id}> pinned a message to this channel.")
        m["item_type"] = "C"
        m["attachments"] = [
            {"id": 1, "ts": pin["id"], "author_id": pin["owner"], "channel_id": c.id, "channel_name": c.name,
             "is_msg_unfurl": True, "fallback": "[pinned message]", "footer": f"Posted in #{c.name}"}
        ]  # fmt: skip
        return m

    def _prologue(self) -> list[str]:
        if not self.is_channel:
            return []
        steps = ["join_creator", "purpose", "topic"]
        if self.c.old_name:
            steps.append("rename")
        return steps

    # main loop ----------------------------------------------------------------

    def run(self) -> Iterator[tuple[int, Json]]:
        """Yield ``(time µs, message)`` pairs, strictly increasing in time."""
        rng, c = self.rng, self.c
        if self.budget <= 0:
            return
        t = c.start_us + rng.randrange(1, _US // 2)
        first = True
        for step in self._prologue():
            if self._free() <= 0:
                break
            if not first:
                t += rng.randint(5, 300) * _US + rng.randrange(_US)
            first = False
            u = c.creator
            if step == "join_creator":
                m = self._sys(t, "channel_join", u, f"<@{u.id}> has joined the channel", profile=True)
            elif step == "purpose":
                m = self._purpose(t, u, _PURPOSES[0] if c.is_general else rng.choice(_PURPOSES))
            elif step == "topic":
                m = self._topic(t, u, rng.choice(_TOPICS))
            else:
                m = self._sys(t, "channel_name", u,
                              f'<@{u.id}> has renamed the channel from "{c.old_name}" to "{c.name}"')  # fmt: skip
                m["old_name"] = c.old_name
                m["name"] = c.name
            self.emitted += 1
            yield t, m
        t_next = t if first else self._next_time(t)
        heap = self.heap
        while True:
            can_new = self._free() > 0
            if heap and (not can_new or heap[0][0] <= t_next):
                tr, _, kind, th, author, bc, pin = heapq.heappop(heap)
                self.pending_times.discard(tr)
                self.reserved -= 1
                assert author is not None
                if kind == "reply":
                    assert th is not None
                    m = self._reply(tr, th, author, bc)
                else:
                    assert pin is not None
                    m = self._pin_item(tr, author, pin)
                if t_next <= tr:
                    t_next = tr + 1
                t = tr
                self.emitted += 1
                yield tr, m
                continue
            if not can_new:
                break
            t = t_next
            m = self._new(t)
            self.emitted += 1
            yield t, m
            t_next = self._next_time(t)
        if self.final_reserve:
            t = max(t, t_next) + rng.randint(60, 86_400) * _US
            u = c.creator
            self.emitted += 1
            yield t, self._sys(t, "channel_archive", u, f"<@{u.id}> archived the channel")


# --------------------------------------------------------------------------- sinks


class _Sink:
    """Writes named entries to a folder or straight into a zip file."""

    def __init__(self, dest: Path, as_zip: bool) -> None:
        self.dest = dest
        self.bytes_written = 0
        self.zip: zipfile.ZipFile | None = None
        if as_zip:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.zip = zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        else:
            dest.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, data: bytes) -> None:
        self.bytes_written += len(data)
        if self.zip is not None:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            self.zip.writestr(info, data)
            return
        path = self.dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


class _Tally:
    """Counts what is actually written."""

    def __init__(self) -> None:
        self.messages = self.thread_roots = self.replies = self.reactions = self.files = 0
        self.files_with_bytes = 0
        self.by_subtype: Counter[str] = Counter()

    def add(self, m: Json) -> None:
        self.messages += 1
        self.by_subtype[m.get("subtype", "")] += 1
        ts, tt = m["ts"], m.get("thread_ts")
        if tt is not None:
            if tt != ts:
                self.replies += 1
            elif m.get("reply_count", 0) > 0:
                self.thread_roots += 1
        for r in m.get("reactions") or ():
            self.reactions += len(r["users"])
        self.files += len(m.get("files") or ())


def _day_name(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * _DAY_S))


def write_export(
    spec: ExportSpec, dest: Path, *, as_zip: bool = False, indent: int | None = 4
) -> ExportStats:
    """Write a Slack export folder at dest (or a zip file at dest when as_zip), deterministically from spec.seed.

    ``indent=None`` writes compact JSON (faster, smaller; for benchmarks).
    """
    world = _World(spec)
    sink = _Sink(dest, as_zip)
    tally = _Tally()

    def upload(fid: str, name: str, data: bytes) -> None:
        if spec.with_file_bytes:
            sink.write(f"__uploads/{fid}/{name}", data)
            tally.files_with_bytes += 1

    try:
        sink.write("users.json", _dump(world.users_json(), indent))
        showcase = world.convs[0] if world.convs else None
        for conv in world.convs:
            gen = _Gen(world, conv, upload, conv is showcase)
            day = -1
            batch: list[Json] = []
            for t, m in gen.run():
                d = t // _DAY_US
                if d != day:
                    if batch:
                        sink.write(f"{conv.folder}/{_day_name(day)}.json", _dump(batch, indent))
                    batch = []
                    day = d
                batch.append(m)
                tally.add(m)
            if batch:
                sink.write(f"{conv.folder}/{_day_name(day)}.json", _dump(batch, indent))
        sink.write("channels.json", _dump([c.to_json() for c in world.public], indent))
        sink.write("groups.json", _dump([c.to_json() for c in world.private], indent))
        sink.write("dms.json", _dump([c.to_json() for c in world.dms], indent))
        sink.write("mpims.json", _dump([c.to_json() for c in world.mpims], indent))
        sink.write("integration_logs.json", _dump(world.integration_logs(), indent))
    finally:
        sink.close()
    return ExportStats(
        messages=tally.messages,
        thread_roots=tally.thread_roots,
        replies=tally.replies,
        reactions=tally.reactions,
        files=tally.files,
        files_with_bytes=tally.files_with_bytes,
        users=len(world.users),
        channels=len(world.convs),
        by_subtype=dict(sorted(tally.by_subtype.items())),
        bytes_written=sink.bytes_written,
    )
