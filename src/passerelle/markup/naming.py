"""How each wiki writes a page's name, and a key to match a link's target with a page.

``page_name(target, title)`` writes a title in a wiki's own naming:

- MediaWiki: underscores are spaces, runs of spaces one, the first letter of the title
  (after a namespace prefix) upper case; ``# < > [ ] | { }`` (forbidden) become ``-``.
- DokuWiki: ``cleanID``: lower case, accents removed, ``/`` and ``;`` are ``:``, anything
  but letters, digits, ``_ . -`` and ``:`` becomes ``_``, runs collapse, separators trimmed.
- XWiki: a reference ``Space.Page`` (a MediaWiki namespace or DokuWiki namespaces become
  spaces); a ``.`` inside a name is escaped ``\\.``.
- Markdown: the title, spaces collapsed.

``page_key(platform, title)`` is the canonical key of a page *of the same wiki*; link
targets are matched through ``link_keys(platform, target, base)`` (the keys a target may
mean, relative links resolved against the linking page ``base``). Two names that key the
same are the same page for that wiki.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

_MW_FORBIDDEN = re.compile(r"[#<>\[\]|{}]")
_SPACES = re.compile(r"[\s_]+")
# MediaWiki's canonical namespaces (and their talk pages), which are case-insensitive;
# "Image" is an alias of "File", "Project" of the wiki's own name.
_MW_NAMESPACES = {
    n.replace("_", " ").lower(): n.replace("_", " ")
    for n in [
        "Media",
        "Special",
        "Talk",
        "User",
        "User_talk",
        "Project",
        "Project_talk",
        "File",
        "File_talk",
        "MediaWiki",
        "MediaWiki_talk",
        "Template",
        "Template_talk",
        "Help",
        "Help_talk",
        "Category",
        "Category_talk",
        "Wikipedia",
        "Wikipedia_talk",
        "Portal",
        "Portal_talk",
        "Draft",
        "Draft_talk",
        "Module",
        "Module_talk",
        "TimedText",
        "TimedText_talk",
        "Gadget",
        "Gadget_talk",
    ]
}
_MW_ALIASES = {"image": "File", "image talk": "File talk", "wp": "Wikipedia", "project": "Project"}


def _upper_first(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _mw_title(title: str) -> tuple[str, str]:
    """(namespace canonical name or "", title in the namespace), MediaWiki's way."""
    title = _SPACES.sub(" ", unicodedata.normalize("NFC", title)).strip().lstrip(":").strip()
    prefix, colon, rest = title.partition(":")
    key = prefix.strip().lower()
    if colon and (key in _MW_NAMESPACES or key in _MW_ALIASES):
        ns = _MW_ALIASES.get(key) or _MW_NAMESPACES[key]
        return ns, _upper_first(rest.strip())
    return "", _upper_first(title)


def _clean_id(title: str) -> str:
    """DokuWiki's cleanID (with its default deaccent): lower case, ':' separators."""
    title = unicodedata.normalize("NFKD", title)
    title = "".join(c for c in title if not unicodedata.combining(c)).lower()
    title = re.sub(r"[/;]", ":", title)
    title = re.sub(r"[^\w.:-]+", "_", title)
    title = re.sub(r"_+", "_", title)
    title = re.sub(r":+", ":", title)
    parts = [p.strip("_.-") for p in title.split(":")]
    return ":".join(p for p in parts if p)


def _xwiki_escape(name: str) -> str:
    return name.replace("\\", "\\\\").replace(".", "\\.")


def xwiki_split(reference: str) -> list[str]:
    """An XWiki reference's names (``Space.Sub.Page``, ``\\.`` an escaped dot)."""
    names: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(reference):
        c = reference[i]
        if c == "\\" and i + 1 < len(reference):
            current.append(reference[i + 1])
            i += 2
            continue
        if c == ".":
            names.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    names.append("".join(current))
    return names


def segments(platform: str, title: str) -> list[str]:
    """A page's place in its wiki's hierarchy: DokuWiki ``ns:sub:page``, XWiki
    ``Space.Sub.Page`` (``WebHome`` is the space itself), MediaWiki ``Ns:Title/Subpage``."""
    if platform == "dokuwiki":
        return [p for p in title.replace("/", ":").split(":") if p]
    if platform.startswith("xwiki"):
        names = [n for n in xwiki_split(_xwiki_strip(title)) if n]
        return names[:-1] if len(names) > 1 and names[-1] == "WebHome" else names
    if platform == "mediawiki":
        ns, rest = _mw_title(title)
        return [p for p in ([ns] if ns else []) + rest.split("/") if p]
    return [title]


def page_name(target: str, title: str, source: str | None = None) -> str:
    """``title`` written as the ``target`` wiki names a page (``target``: a platform or a
    format name: ``mediawiki``, ``dokuwiki``, ``xwiki``/``xwiki/2.1``, ``markdown``). With the
    ``source`` wiki's name, its hierarchy becomes the target's: DokuWiki namespaces and
    XWiki spaces are MediaWiki subpages (``wiki:sub:my_page`` -> ``Wiki/sub/my page``,
    ``Main.WebHome`` -> ``Main``), a MediaWiki namespace is a DokuWiki namespace or an XWiki
    space (``Help:Contents`` -> ``help:contents``, ``Help.Contents``)."""
    if source is not None and source.split("/")[0] != target.split("/")[0]:
        parts = segments(source, title) or [title]
        if target == "mediawiki":
            if source == "dokuwiki":
                parts = [p.replace("_", " ") for p in parts]
            return page_name(target, "/".join(p.replace(":", "-") for p in parts))
        if target == "dokuwiki":
            return _clean_id(":".join(parts))
        if target.startswith("xwiki"):
            return ".".join(_xwiki_escape(p) for p in parts)
        return "/".join(parts)
    if target == "mediawiki":
        ns, rest = _mw_title(_MW_FORBIDDEN.sub("-", title))
        return f"{ns}:{rest}" if ns else rest
    if target == "dokuwiki":
        return _clean_id(title)
    if target.startswith("xwiki"):
        parts = [p.strip() for p in re.split(r"[:/]", title) if p.strip()]
        return ".".join(_xwiki_escape(p) for p in parts) or _xwiki_escape(title.strip())
    return _SPACES.sub(" ", title).strip() if target in ("markdown", "gfm", "commonmark") else title


def file_name(target: str, name: str) -> str:
    """A file's name as the ``target`` wiki accepts it: MediaWiki (capitalised, ``/``, ``:``
    and forbidden characters ``-``), DokuWiki (``cleanID``, namespaces kept), XWiki (the
    attachment's own name, without a page reference)."""
    if target == "mediawiki":
        base = _MW_FORBIDDEN.sub("-", re.sub(r"[/:]", "-", name.strip().lstrip(":/")))
        return _upper_first(_SPACES.sub(" ", base).strip())
    if target == "dokuwiki":
        return _clean_id(name)
    if target.startswith("xwiki"):
        return re.split(r"[@:/]", name)[-1]
    return name


def page_key(platform: str, title: str) -> str:
    """The key of a page of a ``platform`` wiki from its title as the source writes it
    (MediaWiki ``Help:Contents``, DokuWiki ``ns:page``, XWiki ``Space.Page``)."""
    if platform == "mediawiki":
        ns, rest = _mw_title(title)
        return f"{ns.lower()}:{rest}" if ns else rest
    if platform == "dokuwiki":
        return _clean_id(title)
    if platform.startswith("xwiki"):
        names = xwiki_split(_xwiki_strip(title))
        if len(names) > 1 and names[-1] == "WebHome":
            names = names[:-1]
        return ".".join(_xwiki_escape(n) for n in names)
    return _SPACES.sub(" ", title).strip().lower()


def _xwiki_strip(reference: str) -> str:
    reference = reference.strip()
    for prefix in ("doc:", "page:", "space:"):
        if reference.startswith(prefix):
            reference = reference[len(prefix) :]
    wiki, colon, rest = reference.partition(":")
    if colon and "." not in wiki and wiki:
        reference = rest  # xwiki:Space.Page
    return reference.split("?", 1)[0].split("#", 1)[0]


def link_keys(platform: str, target: str, base: str | None = None) -> tuple[str, ...]:
    """The page keys a link's ``target`` (as written in a page named ``base``) may mean."""
    target = target.strip()
    if platform == "mediawiki":
        target = unquote(target) if "%" in target else target
        if base and target.startswith("/"):
            target = base + target  # a subpage link
        return (page_key(platform, target),)
    if platform == "dokuwiki":
        return (_dokuwiki_resolve(target, base or ""),)
    if platform.startswith("xwiki"):
        ref = _xwiki_strip(target)
        keys = [page_key(platform, ref)]
        if base:
            base_names = xwiki_split(_xwiki_strip(base))
            space = base_names[:-1] if len(base_names) > 1 else base_names
            if base_names[-1] == "WebHome":
                space = base_names[:-1]
            keys.append(page_key(platform, ".".join(_xwiki_escape(n) for n in [*space, *xwiki_split(ref)])))
            if not ref.endswith(".WebHome"):
                keys.append(page_key(platform, ref + ".WebHome"))
        return tuple(dict.fromkeys(keys))
    return (page_key(platform, target),)


def _dokuwiki_resolve(target: str, base: str) -> str:
    """DokuWiki's resolution of a link relative to the page ``base`` (``resolve_id``): ``:x``
    from the root, ``.:x``/``..:x`` relative, ``x`` in the current namespace, ``ns:``
    its start page."""
    base_ns = base.rsplit(":", 1)[0] if ":" in base else ""
    target = target.replace("/", ":")
    if target.startswith(":"):
        resolved = target[1:]
    elif target.startswith("."):
        parts = base_ns.split(":") if base_ns else []
        rest = target
        while rest.startswith("."):
            if rest.startswith("..:") or rest == "..":
                parts = parts[:-1]
                rest = rest[3:]
            elif rest.startswith(".:") or rest == ".":
                rest = rest[2:]
            else:
                break
        resolved = ":".join([*parts, rest]) if parts else rest
    elif ":" in target:
        resolved = target
    else:
        resolved = f"{base_ns}:{target}" if base_ns else target
    if resolved.endswith(":") or not resolved:
        resolved += "start"
    return _clean_id(resolved)
