"""Mattermost markdown: the references a message holds, in order of appearance.

Mattermost messages are CommonMark with a few extensions: ``@username`` mentions (a
username is lowercase ``[a-z0-9._-]``; a mention may end in punctuation that is not part of
the name), the broadcasts ``@here``, ``@channel`` and ``@all``, ``~channel-name`` links to
a channel of the same team, ``:emoji:`` names, markdown links and bare URLs. The text is
kept verbatim by the reader (it already is CommonMark); this module only finds the
references. Nothing inside a code span or a fenced code block is a reference, as
Mattermost renders none there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from passerelle.model.entities import RefKind

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.DOTALL)
# [label](url) and ![alt](url): a url without spaces, optionally followed by a "title".
_MARKDOWN_LINK = re.compile(
    r"!?\[([^\[\]\n]*)\]\(\s*<?([^\s()<>]+(?:\([^\s()<>]*\)[^\s()<>]*)*)>?(?:\s+\"[^\"\n]*\")?\s*\)"
)
_URL = re.compile(r"(?<![\w/])(?:https?|ftp)://[^\s<>\"'`]+", re.IGNORECASE)
_URL_TRAILING = ".,:;!?'\"*_~"
# The character before a mention, channel link or emoji: not a word character (an email
# address is not a mention), nor the same sigil (``~~strike~~`` is no channel link).
_MENTION = re.compile(r"(?<![\w@.\-])@([a-z0-9][a-z0-9._\-]*)", re.IGNORECASE)
_CHANNEL = re.compile(r"(?<![\w~])~(?!~)([a-z0-9][a-z0-9_\-]*)", re.IGNORECASE)
_EMOJI = re.compile(r"(?<!\w):([a-z0-9_+\-]+):(?!\w)", re.IGNORECASE)
_NAME_TRAILING = "._-"
BROADCASTS = frozenset({"here", "channel", "all"})
_ANY_MARKUP = re.compile(r"[@~:\[]")


@dataclass(frozen=True)
class Ref:
    kind: RefKind
    target: str  # a username (lowercase), a broadcast word, a channel name, a URL, an emoji name
    label: str | None = None  # a markdown link's text


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with each span blanked out (same length, so positions stay put)."""
    if not spans:
        return text
    parts: list[str] = []
    pos = 0
    for start, end in spans:
        parts += [text[pos:start], " " * (end - start)]
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _trim_url(url: str) -> str:
    """A bare URL without the punctuation that ends its sentence, nor an unbalanced ')'."""
    while url:
        unbalanced = url[-1] == ")" and url.count(")") > url.count("(")
        if url[-1] not in _URL_TRAILING and not unbalanced:
            break
        url = url[:-1]
    return url


def _username(token: str, is_user: Callable[[str], bool]) -> str:
    """The username a mention names: the whole token when it is a user, else the token
    without its trailing punctuation (``@ron.`` at the end of a sentence is ``ron``)."""
    name = token.lower()
    if is_user(name):
        return name
    trimmed = name.rstrip(_NAME_TRAILING)
    return trimmed or name


def references(text: str, is_user: Callable[[str], bool] = lambda _: False) -> list[Ref]:
    """Every reference of the message, in order of appearance. ``is_user`` tells whether a
    username is defined, to decide where a mention that ends in punctuation ends."""
    if not _ANY_MARKUP.search(text):
        return []
    found: list[tuple[int, Ref]] = []
    text = _mask(text, [m.span() for m in _CODE.finditer(text)])
    links = list(_MARKDOWN_LINK.finditer(text))
    for m in links:
        found.append((m.start(), Ref(RefKind.LINK, m.group(2), m.group(1) or None)))
    text = _mask(text, [m.span() for m in links])
    urls = list(_URL.finditer(text))
    for m in urls:
        url = _trim_url(m.group())
        if "://" in url and not url.endswith("://"):
            found.append((m.start(), Ref(RefKind.LINK, url)))
    text = _mask(text, [m.span() for m in urls])
    for m in _MENTION.finditer(text):
        name = _username(m.group(1), is_user)
        kind = RefKind.BROADCAST if name in BROADCASTS else RefKind.PERSON
        found.append((m.start(), Ref(kind, name)))
    for m in _CHANNEL.finditer(text):
        found.append((m.start(), Ref(RefKind.SPACE, m.group(1).lower().rstrip("-_") or m.group(1).lower())))
    end = -1
    for m in _EMOJI.finditer(text):
        # ":+1::tada:" is two emoji, but "std::vector::size" holds none: a colon may precede
        # an emoji only when it closes the emoji just before.
        if m.start() > 0 and text[m.start() - 1] == ":" and m.start() != end:
            continue
        found.append((m.start(), Ref(RefKind.EMOJI, m.group(1))))
        end = m.end()
    found.sort(key=lambda pair: pair[0])
    return [ref for _, ref in found]
