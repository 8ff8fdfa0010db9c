"""Slack mrkdwn: structured references, and a normalised CommonMark form.

Slack escapes only ``&``, ``<`` and ``>`` and wraps every control sequence in angle
brackets (``<@U1|name>``, ``<#C1>``, ``<!here>``, ``<!subteam^S1|@team>``,
``<!date^…|fallback>``, ``<https://x|label>``). The original text is always kept
verbatim; this module only derives references and the normalised form from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from passerelle.model.entities import RefKind

_TOKEN = re.compile(r"<([^<>\n]+)>")
_EMOJI = re.compile(r":([a-z0-9_+'\-]+(?:::skin-tone-[2-6])?):")
_CODE = re.compile(r"(```.*?```|`[^`\n]+`)", re.DOTALL)
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_BROADCASTS = {"here", "channel", "everyone"}
_STYLE_MARK = re.compile(r"[*_~]")
_ANY_MARKUP = re.compile(r"[<>&*_~:`]")


@dataclass(frozen=True)
class Ref:
    kind: RefKind
    target: str
    label: str | None


def unescape(text: str) -> str:
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _style(text: str) -> str:
    # mrkdwn styles to CommonMark, outside code spans and blocks.
    if not _STYLE_MARK.search(text):
        return text
    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):
        part = _BOLD.sub(r"**\1**", parts[i])
        part = _ITALIC.sub(r"*\1*", part)
        parts[i] = _STRIKE.sub(r"~~\1~~", part)
    return "".join(parts)


def _token(body: str, names: Callable[[RefKind, str], str | None]) -> tuple[Ref | None, str]:
    target, _, label = body.partition("|")
    label_or_none = label or None
    if target.startswith("@") and len(target) > 1:
        uid = target[1:]
        if uid in _BROADCASTS:
            return Ref(RefKind.BROADCAST, uid, label_or_none), f"@{uid}"
        return Ref(RefKind.PERSON, uid, label_or_none), "@" + (label or names(RefKind.PERSON, uid) or uid)
    if target.startswith("#") and len(target) > 1:
        cid = target[1:]
        return Ref(RefKind.SPACE, cid, label_or_none), "#" + (label or names(RefKind.SPACE, cid) or cid)
    if target.startswith("!"):
        word = target[1:]
        if word in _BROADCASTS:
            return Ref(RefKind.BROADCAST, word, label_or_none), f"@{word}"
        if word.startswith("subteam^"):
            group = word.split("^", 1)[1]
            return Ref(RefKind.GROUP, group, label_or_none), label or f"@{group}"
        if word.startswith("date^"):
            return Ref(RefKind.DATE, word[5:], label_or_none), unescape(label) if label else word
        return None, unescape(label or word)
    if ":" in target.split("/", 1)[0]:  # a URL or mailto:
        url = unescape(target)
        if label and label != target:
            return Ref(RefKind.LINK, url, unescape(label)), f"[{unescape(label)}]({url})"
        return Ref(RefKind.LINK, url, None), f"<{url}>"
    return None, unescape("<" + body + ">")


def parse(text: str, names: Callable[[RefKind, str], str | None]) -> tuple[str, list[Ref]]:
    """Return (normalised CommonMark, references in order of appearance)."""
    if not _ANY_MARKUP.search(text):
        return text, []
    refs: list[Ref] = []
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        out.append(_style(unescape(text[pos : match.start()])))
        ref, rendered = _token(match.group(1), names)
        if ref is not None:
            refs.append(ref)
        out.append(rendered)
        pos = match.end()
    out.append(_style(unescape(text[pos:])))
    if ":" in text:
        refs += [Ref(RefKind.EMOJI, m.group(1), None) for m in _EMOJI.finditer(text)]
    return "".join(out), refs
