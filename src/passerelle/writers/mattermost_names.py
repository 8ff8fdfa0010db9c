"""Mattermost's names and limits, and the rules that fit archive values into them.

Every limit the bulk importer checks (formats-chat.md §3.2, §3.3, §11), each with the rule
the writer follows, so that the same archive always gives the same names:

- **channel names**: lowercase ``[a-z0-9_-]``, 2 to 64 characters, beginning and ending with
  a letter or a digit (older servers require both ends; newer ones only the first). A
  name is folded to ASCII (NFKD, accents dropped, a few letters without a decomposition
  spelt out: ``ø`` → ``o``, ``ß`` → ``ss``), lowercased, each run of other characters
  becomes one ``-``, none at either end. Nothing readable left → ``channel-<8 hex of the
  space id>``; one character left → ``channel-<it>``. Names that meet in one team get
  ``-2``, ``-3``… in a stable order (``allocate``);
- **team names**: the same, without ``_`` (``[a-z0-9-]``), and never beginning with a word
  Mattermost reserves (``api``, ``admin``, ``help``…): such a name gets ``team-`` before it;
- **usernames**: lowercase ``[a-z0-9._-]``, 3 to 22 characters, beginning with a letter,
  not a word Mattermost reserves (``all``, ``channel``, ``here``…); folded the same way;
  no letter first → ``u`` before it; too short → ``-<hex>`` after it;
- **emoji names**: ``[a-zA-Z0-9_+-]``, at most 64 characters; Slack's skin tones
  (``thumbsup::skin-tone-3``) become Mattermost's (``thumbsup_medium_light_skin_tone``);
- **texts** (header, purpose, nickname…): cut at their limit in code points (runes), with
  ``…`` as the last one so people see the cut; the team description in UTF-8 bytes;
- **messages**: at most 16,383 code points; a longer one is split (``split_message``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# -- limits (server/public/model, formats-chat.md §3.3 and §11) -----------------------------------
MESSAGE_MAX_RUNES = 16_383  # PostMessageMaxRunesV2
PROPS_MAX_RUNES = 800_000  # PostPropsMaxRunes
LINE_MAX_BYTES = 16 * 1024 * 1024  # the importer's scanner buffer (maxScanTokenSize)
CHANNEL_NAME_MAX = 64
CHANNEL_DISPLAY_NAME_MAX = 64  # runes
CHANNEL_HEADER_MAX = 1_024  # runes
CHANNEL_PURPOSE_MAX = 250  # runes
TEAM_NAME_MAX = 64
TEAM_DISPLAY_NAME_MAX = 64  # runes
TEAM_DESCRIPTION_MAX_BYTES = 50  # the validator counts bytes
USERNAME_MIN, USERNAME_MAX = 3, 22  # the product's rule (the server alone takes up to 64)
SERVER_USERNAME_MAX = 64  # what the server itself accepts (an identity map may name such accounts)
NICKNAME_MAX = 64  # runes
FIRST_NAME_MAX = LAST_NAME_MAX = 64  # runes
POSITION_MAX = 128  # runes
EMAIL_MAX = 128  # bytes
EMOJI_NAME_MAX = 64
ATTACHMENTS_MAX = 10  # per post: the product limit (mmetl uses 5)
REACTIONS_MAX = 50  # per post
GROUP_MIN, GROUP_MAX = 3, 8  # members of a group message; 2 is a direct message
ATTACHMENT_SIZE_DEFAULT_MAX = 100 * 1024 * 1024  # FileSettings.MaxFileSize by default
FILE_NAME_MAX_BYTES = 200  # a safe length for the file name part of an attachment path

# Words Mattermost refuses as usernames (restrictedUsernames) and those a mention reserves.
RESERVED_USERNAMES = frozenset({"all", "channel", "here", "matterbot", "system"})
# A team name may not BEGIN with any of these (model.IsReservedTeamName).
RESERVED_TEAM_PREFIXES = (
    "admin", "api", "boards", "channel", "claim", "error", "files", "help", "landing", "login",
    "mfa", "oauth", "playbooks", "plug", "plugins", "post", "signup",
)  # fmt: skip

# Letters NFKD does not decompose, spelt in ASCII.
_SPELT = str.maketrans(
    {
        "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ẞ": "SS",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th",
        "\u0131": "i", "ŋ": "n", "Ŋ": "N", "ħ": "h", "Ħ": "H", "ĸ": "k", "\u017f": "s",
    }
)  # fmt: skip
_SKIN_TONES = {"2": "light", "3": "medium_light", "4": "medium", "5": "medium_dark", "6": "dark"}
_SKIN_TONE = re.compile(r"::skin-tone-([2-6])$")
_NOT_CHANNEL = re.compile(r"[^a-z0-9_]+")
_NOT_TEAM = re.compile(r"[^a-z0-9]+")
_NOT_USER = re.compile(r"[^a-z0-9._]+")
_NOT_EMOJI = re.compile(r"[^a-zA-Z0-9_+\-]+")
_EDGES = "-_."
VALID_USERNAME = re.compile(r"[a-z][a-z0-9._\-]*")
VALID_TEAM = re.compile(r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?")
VALID_CHANNEL = re.compile(r"[a-z0-9](?:[a-z0-9_\-]*[a-z0-9])?")
VALID_EMOJI = re.compile(r"[a-zA-Z0-9_+\-]+")
ELLIPSIS = "…"
# A name the slow path would give back as it is: ASCII, no separator or control character,
# beginning with a letter, digit or "_", ending with no space or dot.
_PLAIN_FILE_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9 ._\-+=,@()\[\]']*[A-Za-z0-9_\-+=,@()\[\]'])?")


def fold(text: str) -> str:
    """The text in ASCII where it has a Latin reading: accents dropped, ``ø`` spelt ``o``;
    characters without one (CJK, emoji) are dropped."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPELT))
    return "".join(c for c in decomposed if c.isascii())


def short_hex(archive_id: str) -> str:
    """8 hex of an archive id (``spc_<24 hex>``): a stable, short stand-in."""
    return archive_id.rpartition("_")[2][:8] or "0" * 8


def _collapse(text: str) -> str:
    # No separator at either end (a run of other characters is already one "-").
    return text.strip(_EDGES)


def channel_name(name: str | None, space_id: str) -> str:
    """A channel name for a space (before deduplication)."""
    base = _collapse(_NOT_CHANNEL.sub("-", fold(name or "").lower()))[:CHANNEL_NAME_MAX].rstrip(_EDGES)
    if not base:
        return f"channel-{short_hex(space_id)}"
    if len(base) < 2:
        return f"channel-{base}"
    return base


def team_name(name: str | None, space_id: str) -> str:
    """A team name for a workspace space (before deduplication)."""
    base = _collapse(_NOT_TEAM.sub("-", fold(name or "").lower()))[:TEAM_NAME_MAX].rstrip(_EDGES)
    if not base:
        return f"team-{short_hex(space_id)}"
    if len(base) < 2 or base.startswith(RESERVED_TEAM_PREFIXES):
        base = f"team-{base}"[:TEAM_NAME_MAX].rstrip(_EDGES)
    return base


def is_valid_team_name(name: str) -> bool:
    return (
        2 <= len(name) <= TEAM_NAME_MAX
        and VALID_TEAM.fullmatch(name) is not None
        and not name.startswith(RESERVED_TEAM_PREFIXES)
    )


def username(name: str | None, fallback: str, person_id: str) -> str:
    """A username for a person (before deduplication): from its handle, else from
    ``fallback`` (the source's own id), else ``user-<8 hex>``."""
    for source in (name, fallback):
        base = _collapse(_NOT_USER.sub("-", fold(source or "").lower()))
        if base:
            break
    else:
        return f"user-{short_hex(person_id)}"
    if not base[0].isalpha():
        base = "u" + base
    if len(base) < USERNAME_MIN:
        base = f"{base}-{short_hex(person_id)}"
    return base[:USERNAME_MAX]


def is_valid_server_username(name: str) -> bool:
    """What the server accepts (an identity map names existing accounts, which may be longer
    than the product's 22 characters)."""
    return (
        1 <= len(name) <= SERVER_USERNAME_MAX
        and VALID_USERNAME.fullmatch(name) is not None
        and name not in RESERVED_USERNAMES
    )


def emoji_name(name: str) -> tuple[str, bool]:
    """The Mattermost name of an emoji, and whether only a skin tone was translated
    (``thumbsup::skin-tone-3`` → ``thumbsup_medium_light_skin_tone``)."""
    tone = _SKIN_TONE.search(name)
    base = name[: tone.start()] if tone else name
    if tone:
        base = f"{base}_{_SKIN_TONES[tone.group(1)]}_skin_tone"
    if VALID_EMOJI.fullmatch(base) and len(base) <= EMOJI_NAME_MAX:
        return base, True
    cleaned = _NOT_EMOJI.sub("_", fold(base)).strip("_")[:EMOJI_NAME_MAX] or "emoji"
    return cleaned, False


def cut(text: str, limit: int) -> str:
    """At most ``limit`` code points; a longer text ends with ``…``."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def cut_bytes(text: str, limit: int) -> str:
    """At most ``limit`` bytes of UTF-8 (never half a character); a longer text ends with ``…``."""
    data = text.encode()
    if len(data) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode())
    return data[:room].decode(errors="ignore") + ELLIPSIS


def safe_file_name(name: str | None, fallback: str = "file") -> str:
    """A file name that is one path component: no separators, control characters or leading
    dots, NFC (as mmetl writes paths), at most ``FILE_NAME_MAX_BYTES`` bytes, the extension kept."""
    if name and _PLAIN_FILE_NAME.fullmatch(name) and len(name) <= FILE_NAME_MAX_BYTES:
        return name  # the common case, at once: what the rules below give it back as it is
    return _safe_file_name(name, fallback)


def _safe_file_name(name: str | None, fallback: str) -> str:
    text = unicodedata.normalize("NFC", name or "")
    text = "".join("_" if c in '/\\:*?"<>|' or unicodedata.category(c)[0] == "C" else c for c in text)
    text = text.strip().lstrip(".").strip()
    if not text:
        return fallback
    if len(text.encode()) > FILE_NAME_MAX_BYTES:
        stem, dot, ext = text.rpartition(".")
        ext = f".{ext}" if dot and 0 < len(ext.encode()) <= 16 else ""
        stem = stem if ext else text
        room = FILE_NAME_MAX_BYTES - len(ext.encode())
        text = stem.encode()[:room].decode(errors="ignore").rstrip() + ext
    return text


def split_message(text: str, limit: int = MESSAGE_MAX_RUNES) -> list[str]:
    """The message in parts of at most ``limit`` code points. Each cut is at the last line
    break before the limit (the break itself dropped, so the parts joined by line breaks are
    the message), else after the last space, else at the limit."""
    parts: list[str] = []
    window = min(limit // 2, 2_000)  # how far back a cut may look for a break
    while len(text) > limit:
        head = text[:limit]
        at = head.rfind("\n", limit - window)
        if at > 0:
            parts.append(head[:at])
            text = text[at + 1 :]
            continue
        at = head.rfind(" ", limit - window)
        cut_at = at + 1 if at > 0 else limit
        parts.append(text[:cut_at])
        text = text[cut_at:]
    parts.append(text)
    return parts


def allocate(wanted: Iterable[tuple[str, str]], limit: int, reserved: Iterable[str] = ()) -> dict[str, str]:
    """Unique names in one namespace (a team's channels, the usernames, the emoji) for
    ``(key, wanted name)`` pairs given in priority order: the first to want a name gets it,
    the others ``-2``, ``-3``… (cut so the whole fits ``limit``), never a name another key
    wants as it is, nor a ``reserved`` one (existing accounts, words the server refuses)."""
    pairs = list(wanted)
    blocked = set(reserved)
    taken = blocked | {name for _, name in pairs}
    given: dict[str, str] = {}
    first: set[str] = set()
    for key, name in pairs:
        if name not in blocked and name not in first:
            first.add(name)
            given[key] = name
            continue
        n = 1
        while True:
            n += 1
            suffix = f"-{n}"
            candidate = name[: limit - len(suffix)].rstrip(_EDGES) + suffix
            if candidate not in taken:
                break
        taken.add(candidate)
        given[key] = candidate
    return given
