"""CommonMark (a body's normalised form) to Slack mrkdwn, for messages built from other platforms.

Slack escapes only ``&``, ``<`` and ``>``, and writes every control sequence in angle
brackets: ``<@U123>`` (a person), ``<#C123>`` (a channel), ``<!here>``, ``<url|label>``.
Emphasis is ``*bold*``, ``_italic_``, ``~strike~``; code spans and fences are the same as
CommonMark's. Mentions are rewritten only where the body's references say there is one
(a person or space reference resolved to an archive id), so text that merely looks like a
mention stays text. What mrkdwn has no notation for (headings, bullets) becomes the
nearest thing: a heading is bold, a ``*``/``+`` bullet a ``-`` bullet.

Reference: ../shared/reference/formats-chat.md §1.8.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

_CODE = re.compile(r"(```.*?```|`[^`\n]+`)", re.DOTALL)
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_STYLE = re.compile(r"[*_~]")
_LINKS = re.compile(
    r"(!?)\[([^\]\n]*)\]\(\s*<?([^()\s<>]+)>?(?:\s+\"[^\"\n]*\")?\s*\)"  # [label](url), ![alt](url)
    r"|<((?:https?|ftp|mailto):[^<>\s]+)>"  # <url>
)
_EMPHASIS = re.compile(
    r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"  # strong
    r"|~~(?=\S)(.+?)(?<=\S)~~"  # strikethrough
    r"|(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])"  # *emphasis*
    r"|(?<![\w_])_(?=[^\s_])([^_\n]+?)(?<=\S)_(?![\w_])"  # _emphasis_
)
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_BULLET = re.compile(r"^([ \t]*)[*+](?=[ \t])", re.MULTILINE)
_BROADCAST = {"here": "<!here>", "channel": "<!channel>", "everyone": "<!everyone>", "all": "<!channel>"}
_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters around a protected token


@dataclass
class Mentions:
    """What the body's references let the converter rewrite: text after ``@`` (a person's
    handle or label) to a Slack user id, after ``#`` or ``~`` to a channel id, and the
    broadcasts (``here``, ``channel``, ``everyone``, ``all``) the body holds."""

    persons: dict[str, str] = field(default_factory=dict)
    spaces: dict[str, str] = field(default_factory=dict)
    broadcasts: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.persons or self.spaces or self.broadcasts)

    def pattern(self) -> re.Pattern[str] | None:
        words = ["@" + w for w in self.persons]
        words += [sigil + w for w in self.spaces for sigil in "#~"]
        words += ["@" + w for w in self.broadcasts]
        return _pattern(tuple(sorted(words, key=lambda w: (-len(w), w)))) if words else None


@lru_cache(maxsize=4096)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w@#~])(?:" + "|".join(map(re.escape, words)) + r")(?![\w-])")


def escape(text: str) -> str:
    return text.translate(_ESCAPES)


def to_mrkdwn(text: str, mentions: Mentions | None = None) -> str:
    """Slack mrkdwn for a CommonMark text."""
    if not text:
        return text
    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):
        parts[i] = _prose(parts[i], mentions)
    for i in range(1, len(parts), 2):
        parts[i] = escape(parts[i])
    return "".join(parts)


def is_exact(mrkdwn: str, normalised: str) -> bool:
    """Whether reading the mrkdwn back gives the normalised text again (ends' spaces aside)."""
    return read_back(mrkdwn).strip() == normalised.strip()


# -- mrkdwn read back as CommonMark, as a Slack reader normalising to CommonMark does ----------
_TOKEN = re.compile(r"<([^<>\n]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_ANY_MARKUP = re.compile(r"[<>&*_~`]")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") if "&" in text else text


def _styles(text: str) -> str:
    if not _STYLE.search(text):
        return text
    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):
        parts[i] = _STRIKE.sub(r"~~\1~~", _ITALIC.sub(r"*\1*", _BOLD.sub(r"**\1**", parts[i])))
    return "".join(parts)


def _read_token(body: str) -> str:
    target, _, label = body.partition("|")
    if target[:1] in "@#" and len(target) > 1:
        word = target[1:]
        if target[0] == "@" and word in ("here", "channel", "everyone"):
            return f"@{word}"
        return target[0] + (label or word)
    if target.startswith("!"):
        word = target[1:]
        return f"@{word}" if word in ("here", "channel", "everyone") else _unescape(label or word)
    if ":" in target.split("/", 1)[0]:
        url = _unescape(target)
        return f"[{_unescape(label)}]({url})" if label and label != target else f"<{url}>"
    return _unescape(f"<{body}>")


def read_back(mrkdwn: str) -> str:
    """The CommonMark a reader of Slack exports makes of mrkdwn (passerelle's normalised form):
    control sequences rendered (a mention by its label), entities unescaped, ``*b*``, ``_i_``
    and ``~s~`` outside code as ``**b**``, ``*i*`` and ``~~s~~``."""
    if not _ANY_MARKUP.search(mrkdwn):
        return mrkdwn
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(mrkdwn):
        out.append(_styles(_unescape(mrkdwn[pos : match.start()])))
        out.append(_read_token(match.group(1)))
        pos = match.end()
    out.append(_styles(_unescape(mrkdwn[pos:])))
    return "".join(out)


def _prose(text: str, mentions: Mentions | None) -> str:
    if _OPEN in text or _CLOSE in text:  # cannot protect tokens: only escape
        return escape(text)
    tokens: list[str] = []

    def protect(token: str) -> str:
        tokens.append(token)
        return f"{_OPEN}{len(tokens) - 1}{_CLOSE}"

    if "[" in text or "<" in text:
        text = _LINKS.sub(lambda m: protect(_link(m)), text)
    if mentions:
        pattern = mentions.pattern()
        if pattern is not None:
            text = pattern.sub(lambda m: protect(_mention(m.group(0), mentions)), text)
    if "#" in text:
        text = _HEADING.sub(lambda m: f"**{m.group(1)}**", text)
    if "*" in text or "+" in text:
        text = _BULLET.sub(r"\1-", text)
    text = escape(_emphasis(text))
    if tokens:
        text = re.sub(f"{_OPEN}(\\d+){_CLOSE}", lambda m: tokens[int(m.group(1))], text)
    return text


def _emphasis(text: str) -> str:
    if not _STYLE.search(text):
        return text

    def replace(m: re.Match[str]) -> str:
        if m.group(1):
            return "*" + _emphasis(m.group(2)) + "*"
        if m.group(3):
            return "~" + _emphasis(m.group(3)) + "~"
        inner = m.group(4) or m.group(5)
        return "_" + _emphasis(inner) + "_"

    return _EMPHASIS.sub(replace, text)


def _link(m: re.Match[str]) -> str:
    if m.group(4):
        return f"<{_escape_url(m.group(4))}>"
    label, url = m.group(2), m.group(3)
    if not label or label == url:
        return f"<{_escape_url(url)}>"
    return f"<{_escape_url(url)}|{escape(label)}>"


def _escape_url(url: str) -> str:
    # Inside <…>, a '|' would end the URL: Slack writes it percent-encoded.
    return escape(url).replace("|", "%7C")


def _mention(word: str, mentions: Mentions) -> str:
    # The label is the text as the source wrote it: Slack shows it, and it reads back the same.
    sigil, name = word[0], word[1:]
    if sigil == "@":
        if name in mentions.persons:
            return f"<@{mentions.persons[name]}|{escape(name)}>"
        return _BROADCAST[name]
    return f"<#{mentions.spaces[name]}|{escape(name)}>"


def mentions_for(
    references: tuple[tuple[str, str, str | None, str | None], ...],
    person: Callable[[str], tuple[str, tuple[str, ...]] | None],
    space: Callable[[str], tuple[str, tuple[str, ...]] | None],
) -> Mentions:
    """The mentions a body's references allow: each ``(kind, target, target_id, label)``
    whose target resolves (``person``/``space`` give the Slack id and the names it may be
    written with in the text)."""
    found = Mentions()
    for kind, target, target_id, label in references:
        if kind == "broadcast":
            if target in _BROADCAST:
                found.broadcasts.add(target)
            continue
        table: dict[str, str]
        if kind == "person" and target_id is not None:
            resolved, table = person(target_id), found.persons
        elif kind == "space" and target_id is not None:
            resolved, table = space(target_id), found.spaces
        else:
            continue
        if resolved is None:
            continue
        slack_id, names = resolved
        for name in (label, target, *names):
            if name and name not in table:
                table[name] = slack_id
    return found
