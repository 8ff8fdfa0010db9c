"""What of a page's markup does not survive a conversion, found in the source (pure Python,
the same whether pandoc or the fallback converts), and the source made ready for pandoc.

One ``Loss`` per construct name per page, with the number of occurrences in its detail:
templates and parser functions (``{{Infobox}}``, ``{{#if:}}``), magic words (``__TOC__``),
tag extensions (``<gallery>``, ``<score>``…), categories, image options (``thumb``,
``left``…), table attributes (``class``, ``style``), DokuWiki plugins and macros
(``{{tag>…}}``, ``~~NOTOC~~``, ``<WRAP>``), XWiki macros (``{{toc/}}``, ``{{info}}``…) and
parameters (``(% class="x" %)``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from passerelle.markup._scan import pairs, split_top, sub_delimited, tag_spans


@dataclass(frozen=True)
class Loss:
    code: str  # a markup.* diagnostic code
    construct: str  # e.g. "{{Infobox}}", "__TOC__", "<gallery>", "thumb"
    detail: str  # a sentence naming the page


_WHY = {
    "markup.template": "template not expanded (the target has no such template)",
    "markup.parser_function": "parser function not evaluated",
    "markup.magic_word": "magic word with no equivalent",
    "markup.tag_extension": "tag extension with no equivalent",
    "markup.category": "category kept as a plain link or dropped (the target has no categories)",
    "markup.image_option": "image option with no equivalent",
    "markup.table_attribute": "table attribute (style, class…) dropped",
    "markup.macro": "macro or plugin not carried",
    "markup.parameters": "formatting parameters dropped",
    "markup.raw_dropped": "raw markup the target cannot hold",
}


def losses_of(page: str, target: str, found: Counter[tuple[str, str]]) -> list[Loss]:
    out = []
    for (code, construct), n in sorted(found.items()):
        times = f" ({n} times)" if n > 1 else ""
        out.append(
            Loss(code, construct, f"page {page!r}: {construct}{times}: {_WHY.get(code, code)} in {target}")
        )
    return out


# ---------------------------------------------------------------- MediaWiki

_MW_MAGIC = re.compile(
    r"__(?:NOTOC|FORCETOC|TOC|NOEDITSECTION|NEWSECTIONLINK|NONEWSECTIONLINK|NOGALLERY|"
    r"HIDDENCAT|EXPECTUNUSEDCATEGORY|NOCONTENTCONVERT|NOCC|NOTITLECONVERT|NOTC|INDEX|NOINDEX|"
    r"STATICREDIRECT|DISAMBIG|NOGLOBAL|EXPECTED_UNCONNECTED_PAGE)__"
)
# Tags pandoc reads (HTML, and the extensions it knows), the rest are extensions it cannot.
_MW_KNOWN_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "big",
        "blockquote",
        "br",
        "caption",
        "center",
        "cite",
        "code",
        "data",
        "dd",
        "del",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "font",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "rb",
        "rp",
        "rt",
        "rtc",
        "ruby",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "tt",
        "u",
        "ul",
        "var",
        "wbr",
        "nowiki",
        "ref",
        "references",
        "syntaxhighlight",
        "source",
        "math",
        "includeonly",
        "noinclude",
        "onlyinclude",
        "poem",
    ]
)
_MW_TAG = re.compile(r"<([A-Za-z][\w-]*)\b[^<>]{0,2000}?(?P<self>/)?>")
_MW_CATEGORY = re.compile(
    r"\[\[\s*(?:category|kategorie|catégorie|categoría)\s*:([^\[\]|]*)(?:\|[^\[\]]*)?\]\]\n?", re.IGNORECASE
)
_MW_FILE = re.compile(r"\[\[\s*(?:file|image|datei|bild|fichier|archivo|imagen)\s*:", re.IGNORECASE)
_MW_IMAGE_OPTIONS = re.compile(
    r"^\s*(thumb|thumbnail|frame|framed|frameless|border|left|right|center|centre|none|baseline|sub|super|top|"
    r"text-top|middle|bottom|text-bottom|upright|link|alt|page|class|lang)\b",
    re.IGNORECASE,
)
_MW_TABLE_LINE = re.compile(r"^\s*(\{\||\|-|\||!)(.*)$")
_MW_ATTRIBUTE = re.compile(
    r"""\b(style|class|align|valign|width|height|bgcolor|border|cellpadding|"""
    r"""cellspacing|rowspan|colspan|id|scope)\s*=""",
    re.IGNORECASE,
)
_MW_GALLERY = re.compile(r"<gallery\b[^<>]{0,2000}?(?P<self>/)?>", re.IGNORECASE)


def mediawiki(text: str, page: str, target: str) -> tuple[str, Counter[tuple[str, str]]]:
    """The page's wikitext ready for pandoc (templates, parser functions, magic words and
    categories taken out, galleries as images), and what it loses."""
    found: Counter[tuple[str, str]] = Counter()
    masked_spans = tag_spans(text, ("nowiki", "pre", "syntaxhighlight", "source", "math"))
    outside = _blank(text, masked_spans)
    # templates and parser functions (outermost)
    spans: list[tuple[int, int]] = []
    for start, end in sorted(pairs(outside, "{{", "}}").items()):
        if spans and start < spans[-1][1]:
            continue
        if outside[start : start + 3] == "{{{":  # a template parameter
            spans.append((start, end))
            found["markup.template", "{{{parameter}}}"] += 1
            continue
        inner = text[start + 2 : end - 2]
        name = (split_top(inner)[0] if len(inner) < 20_000 else inner.split("|", 1)[0]).strip()
        if name.startswith("#"):
            found["markup.parser_function", "{{" + name.split(":", 1)[0] + ":}}"] += 1
        else:
            head = name.split(":", 1)[0] if ":" in name and name.split(":", 1)[0].isupper() else name
            found["markup.template", "{{" + (head[:80] or "?") + "}}"] += 1
        spans.append((start, end))
    for m in _MW_MAGIC.finditer(outside):
        found["markup.magic_word", m.group(0)] += 1
    for m in _MW_TAG.finditer(outside):
        name = m.group(1).lower()
        if name not in _MW_KNOWN_TAGS:
            found["markup.tag_extension", f"<{name}>"] += 1
    for _m in _MW_CATEGORY.finditer(outside):
        found["markup.category", "[[Category:]]"] += 1
    for m in _MW_FILE.finditer(outside):
        close = outside.find("]]", m.end())
        inner = outside[m.end() : close if close >= 0 else m.end() + 2000]
        for option in split_top(inner)[1:] if len(inner) < 20_000 else ():
            o = _MW_IMAGE_OPTIONS.match(option)
            if o:
                found["markup.image_option", o.group(1).lower()] += 1
    for line in outside.splitlines():
        t = _MW_TABLE_LINE.match(line)
        if t:
            for a in _MW_ATTRIBUTE.finditer(t.group(2) if t.group(1) != "|" else t.group(2).split("|", 1)[0]):
                found["markup.table_attribute", a.group(1).lower()] += 1
    ready = _drop(text, spans)
    ready = _drop(ready, [m.span() for m in _MW_MAGIC.finditer(ready)])
    ready = _MW_CATEGORY.sub("", ready)
    ready = sub_delimited(
        ready, _MW_GALLERY, lambda m: "</gallery>", lambda m, body: _gallery(body or ""), ignore_case=True
    )
    return ready, found


def _gallery(body: str) -> str:
    lines = []
    for line in body.splitlines():
        entry = line.strip()
        if entry:
            name, _, caption = entry.partition("|")
            if not _MW_FILE.match("[[" + name):
                name = "File:" + name
            lines.append(f"[[{name}|{caption}]]" if caption else f"[[{name}]]")
    return "\n\n".join(lines)


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for s, e in spans:
        out += [text[pos:s], " " * (e - s)]
        pos = e
    out.append(text[pos:])
    return "".join(out)


def _drop(text: str, spans: list[tuple[int, int]]) -> str:
    """The text without the spans; a span that began a line takes the blanks after it
    too (a line left starting with a space would be preformatted in MediaWiki)."""
    out, pos = [], 0
    for s, e in spans:
        if s < pos:
            continue
        out.append(text[pos:s])
        if s == 0 or text[s - 1] == "\n" or (out and out[-1].endswith("\n")):
            while e < len(text) and text[e] in " \t":
                e += 1
        pos = e
    out.append(text[pos:])
    return "".join(out)


# ---------------------------------------------------------------- DokuWiki

_DW_MACRO = re.compile(r"~~([A-Z]+)(?::[^~\n]*)?~~")
_DW_PLUGIN = re.compile(r"\{\{\s*([\w-]+)>[^{}]*\}\}")
_DW_TAG_PLUGIN = re.compile(
    r"</?(WRAP|wrap|color|fs|font|note|box|tabbox|tabs|hidden|blockquote)\b[^<>\n]{0,200}>"
)
_DW_MEDIA_OPTIONS = re.compile(r"\{\{[^{}|>]*\?([^{}|]*)(?:\|[^{}]*)?\}\}")


def dokuwiki(text: str, page: str, target: str) -> tuple[str, Counter[tuple[str, str]]]:
    found: Counter[tuple[str, str]] = Counter()
    masked = _blank(text, tag_spans(text, ("code", "file", "nowiki", "html", "php"), comments=False))
    for m in _DW_MACRO.finditer(masked):
        found["markup.macro", f"~~{m.group(1)}~~"] += 1
    for m in _DW_PLUGIN.finditer(masked):
        found["markup.macro", "{{" + m.group(1) + ">}}"] += 1
    for m in _DW_TAG_PLUGIN.finditer(masked):
        if not m.group(0).startswith("</"):
            found["markup.macro", f"<{m.group(1)}>"] += 1
    for m in _DW_MEDIA_OPTIONS.finditer(masked):
        for option in m.group(1).split("&"):
            if option and not re.fullmatch(r"\d+(x\d+)?", option):
                found["markup.image_option", option] += 1
    ready = _DW_MACRO.sub("", text)
    ready = _DW_PLUGIN.sub("", ready)
    ready = _DW_TAG_PLUGIN.sub("", ready)
    return ready, found


# ---------------------------------------------------------------- XWiki

_XW_MACRO = re.compile(r"\{\{(?!\{)\s*([\w.:-]+)([^{}]*?)(/?)\}\}")
_XW_KEPT_MACROS = frozenset({"code"})
_XW_PARAMS = re.compile(r"\(%[^\n]*?%\)")


def xwiki(text: str, page: str, target: str) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for m in _XW_MACRO.finditer(text):
        name = m.group(1)
        if name.startswith("/") or name in _XW_KEPT_MACROS:
            continue
        found["markup.macro", "{{" + name + "}}"] += 1
    for _ in _XW_PARAMS.finditer(text):
        found["markup.parameters", "(% %)"] += 1
    return found
