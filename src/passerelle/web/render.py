"""Bodies: CommonMark (``body_text``) rendered by markdown-it-py with HTML off, mentions
linked to person and space pages, then sanitised by nh3's allow-list."""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
from datetime import UTC, datetime

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")
_TAGS = {
    "a", "p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "del", "s", "table", "thead", "tbody", "tr", "th", "td", "img",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
_SCHEMES = {"http", "https", "mailto"}


def _replace_once(text: str, token: str, replacement: str) -> str:
    """The first occurrence of token standing alone (not inside a word or a link) replaced."""
    match = re.search(rf"(?<![\w\[]){re.escape(token)}(?![\w\]])", text)
    return text if match is None else text[: match.start()] + replacement + text[match.end() :]


def _link_mentions(text: str, refs_json: str | None) -> str:
    """Mentions resolved to a person or space become Markdown links to their page."""
    if not refs_json:
        return text
    try:
        refs = json.loads(refs_json)
    except ValueError:
        return text
    for ref in refs if isinstance(refs, list) else []:
        if not isinstance(ref, dict) or not ref.get("target_id"):
            continue
        kind, target_id = ref.get("kind"), str(ref["target_id"])
        if kind not in ("person", "space"):
            continue
        label = ref.get("label") or ref.get("target")
        if not label:
            continue
        for token in (f"@{label}", f"~{label}", f"#{label}"):
            if token in text:
                url = f"/{'people' if kind == 'person' else 'spaces'}/{target_id}"
                link = f"[{token}]({url})"
                text = _replace_once(text, token, link)
                break
    return text


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def body_html(body_text: str | None, body_refs: str | None = None) -> Markup:
    if not body_text:
        return Markup("")
    return Markup(sanitise(_MD.render(_link_mentions(body_text, body_refs))))


def highlight(snippet: str, start: str, end: str) -> Markup:
    """An FTS snippet escaped, then only the highlight markers turned into <mark>."""
    out = str(escape(snippet))
    return Markup(out.replace(start, "<mark>").replace(end, "</mark>"))


def when(us: int | None) -> str:
    """A time of the archive (microseconds UTC) as the pages show it; "" for none, or for one
    out of the calendar's range (a hostile export may hold any number)."""
    if us is None:
        return ""
    try:
        return datetime.fromtimestamp(us / 1_000_000, UTC).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return ""


def revision_diff(old: sqlite3.Row, new: sqlite3.Row) -> list[dict[str, str]]:
    """A unified diff between two revisions' texts, line by line with its kind: "file" (the
    two headers), "hunk", "add", "del" or "same". Escaping is the template's."""
    lines = difflib.unified_diff(
        (old["body_text"] or "").splitlines(),
        (new["body_text"] or "").splitlines(),
        fromfile=f"{old['id']} {when(old['created_at'])}",
        tofile=f"{new['id']} {when(new['created_at'])}",
        lineterm="",
    )
    out = []
    for k, line in enumerate(lines):
        if k < 2:
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        else:
            kind = {"+": "add", "-": "del"}.get(line[:1], "same")
        out.append({"kind": kind, "text": line})
    return out
