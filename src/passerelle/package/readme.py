"""README.html: the page a person opens first, maybe in twenty years and without passerelle.

It says what the package holds (totals, sources, each space's counts), how to open every
part of it with ordinary tools, and what the formats are. The page is static and
self-contained (inline CSS, no script, nothing loaded from anywhere) so that it reads the
same offline, printed, or in a browser of the future; a Content-Security-Policy forbids
loading anything even if a value were to slip through.

Every value that comes from the archive (or from the caller) is HTML-escaped; characters
that could reorder or hide text (bidirectional overrides, control characters) are shown
as visible ``[U+XXXX]`` marks, and each value sits in its own ``<bdi>`` so a right-to-left
name cannot reorder the cells around it. The page depends only on the archive and the
arguments: no clock, every order it chooses is sorted (bag-info keeps the order given, the
order of bag-info.txt), so the same inputs give the same bytes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from passerelle.activitystreams.vocabulary import AS2_CONTEXT, CONTEXT_FILES, PASSERELLE_CONTEXT, format_time
from passerelle.archive import Archive
from passerelle.package import layout

# The per-space table lists at most this many spaces (the busiest first): the page must stay
# a page. The rest are named, with where to find all of them.
SPACE_ROWS = 1000

# Totals come in this order; keys the caller adds beyond these follow, sorted.
_COUNT_ORDER = (
    "persons",
    "spaces",
    "memberships",
    "items",
    "reactions",
    "files",
    "files_with_content",
    "revisions",
    "diagnostics",
)
_COUNT_LABELS = {
    "persons": "people, bots and accounts known only by their id",
    "spaces": "workspaces, channels, conversations and other spaces",
    "memberships": "memberships of a person in a space",
    "items": "messages, posts, comments, pages and events (deleted ones included, as tombstones)",
    "thread_roots": "threads (items that were answered in a thread)",
    "thread_replies": "items that answer in a thread",
    "reactions": "emoji reactions",
    "files": "files (attachments, uploads, custom emoji)",
    "files_with_content": "files whose bytes are in this package",
    "revisions": "earlier versions of edited items",
    "references": "mentions, links and emoji inside bodies",
    "diagnostics": f"diagnostics: what the reading noticed, one per line in {layout.DIAGNOSTICS}",
}

# Characters that would make a value lie about itself on screen: controls (not allowed in
# HTML text, some invisible), bidirectional embeddings, overrides and isolates (they
# reorder what follows), lone surrogates (not encodable) and noncharacters.
_HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)

_CSS = """
:root { color-scheme: light; }
body { font-family: Georgia, "Times New Roman", serif; max-width: 60rem; margin: 2rem auto;
  padding: 0 1rem; line-height: 1.45; color: #111; background: #fff; }
h1, h2, h3 { font-family: "Helvetica Neue", Arial, sans-serif; line-height: 1.2; }
h2 { border-bottom: 1px solid #999; padding-bottom: .2rem; margin-top: 2.2rem; }
table { border-collapse: collapse; margin: .8rem 0; width: 100%; }
th, td { border: 1px solid #bbb; padding: .25rem .45rem; text-align: left; vertical-align: top; }
th { background: #eee; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9em; }
pre { background: #f4f4f4; border: 1px solid #ddd; padding: .6rem; overflow-x: auto;
  white-space: pre-wrap; }
.cp { color: #a00; }
.note { border-left: 4px solid #a60; padding: .3rem .8rem; background: #fff8ee; }
@media print {
  body { max-width: none; margin: 0; font-size: 10.5pt; }
  pre, tr { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  a[href^="http"]::after { content: " <" attr(href) ">"; font-size: .85em; }
}
"""


# -- text ------------------------------------------------------------------------------------
def _mark(match: re.Match[str]) -> str:
    return f'<span class="cp">[U+{ord(match.group()):04X}]</span>'


def text(value: Any) -> str:
    """A value as HTML text: escaped, with every hiding or reordering character made visible."""
    escaped = html.escape(str(value), quote=True)
    return _HIDDEN.sub(_mark, escaped)


def attribute(value: Any) -> str:
    """A value for a quoted attribute (or the title, where tags are not read): the same marks,
    as plain text, since markup there would be taken literally or end the attribute."""
    marked = _HIDDEN.sub(lambda m: f"[U+{ord(m.group()):04X}]", str(value))
    return html.escape(marked, quote=True)


def _lines(value: str) -> str:
    """Preformatted text: as ``text``, but its line breaks kept as breaks."""
    return "\n".join(text(line) for line in value.split("\n"))


def _value(value: Any) -> str:
    """An archive value in a cell of its own: isolated, so its direction cannot leak out."""
    return f"<bdi>{text(value)}</bdi>"


def _number(n: int) -> str:
    # Thin spaces between thousands: unambiguous in every language, and locale-free.
    return f"{n:,}".replace(",", "\u202f")


def _code(path: str) -> str:
    return f"<code>{text(path)}</code>"


def _link(path: str) -> str:
    """A link to a file of the package, relative to this page (it sits at the bag's top)."""
    return f'<a href="{attribute(path)}"><code>{text(path)}</code></a>'


def _date(us: int | None) -> str:
    """A UTC day, YYYY-MM-DD; a time outside years 1 to 9999 as its integer, not hidden."""
    if us is None:
        return "—"
    formatted = format_time(us)
    return formatted[:10] if formatted is not None else f"{text(us)} µs since 1970"


def _basename(path: str) -> str:
    """The last part of a source's path, POSIX or Windows: where it was is nobody's business here."""
    parts = [p for p in re.split(r"[\\/]", path) if p]
    return parts[-1] if parts else path


def _table(head: Iterable[str], rows: Iterable[Iterable[str]], numeric: frozenset[int] = frozenset()) -> str:
    """Cells are HTML already (each made by the helpers above)."""
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead>", "<tbody>"]
    for row in rows:
        cells = (f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _join_words(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


# -- the archive -----------------------------------------------------------------------------
_SPACES_SQL = """
SELECT s.id, coalesce(s.display_name, s.name, s.native_id) AS label, s.kind, s.visibility,
       coalesce(i.n, 0) AS items, i.first, i.last, coalesce(m.n, 0) AS members
FROM spaces AS s
LEFT JOIN (SELECT space_id, count(*) AS n, min(created_at) AS first, max(created_at) AS last
           FROM items GROUP BY space_id) AS i ON i.space_id = s.id
LEFT JOIN (SELECT space_id, count(*) AS n FROM memberships GROUP BY space_id) AS m ON m.space_id = s.id
ORDER BY items DESC, label, s.id
LIMIT ?
"""

# Kept in the page for a person to run, and run by the tests against a real archive.
SAMPLE_QUERY = """SELECT datetime(i.created_at / 1000000, 'unixepoch') AS at_utc,
       coalesce(s.display_name, s.name, s.native_id) AS space,
       coalesce(p.display_name, p.name, p.native_id) AS author,
       i.kind, i.body_text
FROM items AS i
JOIN spaces AS s ON s.id = i.space_id
LEFT JOIN persons AS p ON p.id = i.author_id
ORDER BY i.created_at
LIMIT 20;"""

_PRIVATE_SQL = """
SELECT coalesce(sum(visibility = 'private' OR kind IN ('private_channel', 'direct_message', 'group_message')), 0),
       coalesce(sum(kind IN ('direct_message', 'group_message')), 0)
FROM spaces
"""


def _platforms(archive: Archive) -> list[str]:
    return [row[0] for row in archive.store.query("SELECT DISTINCT platform FROM sources ORDER BY platform")]


# -- sections --------------------------------------------------------------------------------
def _intro(platforms: list[str], model_version: str, generator: str, bag_info: Mapping[str, str]) -> str:
    where = f" from {_join_words([_value(p) for p in platforms])}" if platforms else ""
    parts = [
        "<p>This folder is an archive of collaboration data (conversations, posts, pages, the people and",
        f"the spaces they belong to, and their files){where}, made so that it can be read without the",
        "program that made it. It is a <strong>BagIt</strong> bag: the files under",
        f"{_code(layout.DATA + '/')} are the content, and the manifests beside this page hold a checksum",
        "of every one of them, so anyone can check that nothing changed. The content is written three",
        "ways: as <strong>Activity Streams 2.0</strong> JSON-LD documents (a W3C standard for people,",
        "groups and what they post), as the <strong>SQLite</strong> database the archive was kept in,",
        "and as the files' own bytes. The documents and the database each hold every record; the",
        "files' bytes are stored once, beside them.</p>",
        f"<p>Written by <bdi>{text(generator)}</bdi>; canonical model version",
        f"<bdi>{text(model_version)}</bdi>; package format {text(layout.PACKAGE_FORMAT)}",
        f"{text(layout.PACKAGE_VERSION)}.</p>",
    ]
    if bag_info:
        parts.append(f"<p>From the bag's {_code('bag-info.txt')}:</p>")
        parts.append(_table(["label", "value"], ([_value(k), _value(v)] for k, v in bag_info.items())))
    return "\n".join(parts)


def _totals(counts: Mapping[str, int]) -> str:
    known = [k for k in _COUNT_ORDER if k in counts]
    keys = known + sorted(k for k in counts if k not in _COUNT_ORDER)
    rows = ([_value(k), _number(int(counts[k])), text(_COUNT_LABELS.get(k, ""))] for k in keys)
    return _table(["count", "number", "what it counts"], rows, numeric=frozenset({1}))


def _sources(archive: Archive) -> str:
    rows = archive.store.query(
        "SELECT platform, reader, reader_version, path, ingested_at, status FROM sources"
        " ORDER BY ingested_at, id"
    )
    if not rows:
        return "<p>The archive records no source.</p>"
    table = _table(
        ["platform", "read by", "source file", "read at", "status"],
        (
            [_value(platform), f"{_value(reader)} {_value(version)}", _value(_basename(path)),
             _value(at), _value(status)]
            for platform, reader, version, path, at, status in rows
        ),
    )  # fmt: skip
    note = (
        "<p>Each source is an export the archive was read from. <em>complete</em>: every part of it"
        " was read; <em>partial</em>: the reading stopped before the end (what was read is here)."
        f" The full record of each, with its SHA-256 and size, is in {_link(layout.SOURCES)}.</p>"
    )
    return note + "\n" + table


def _spaces(archive: Archive) -> str:
    total = int(archive.store.scalar("SELECT count(*) FROM spaces") or 0)
    if not total:
        return "<p>The archive holds no space.</p>"
    cap = SPACE_ROWS
    rows = archive.store.query(_SPACES_SQL, (cap,))
    body = _table(
        ["space", "kind", "visibility", "items", "first item", "last item", "members", "items collection"],
        (
            [_value(label), _value(kind), _value(visibility), _number(items), _date(first), _date(last),
             _number(members), _link(f"{layout.space_items(space_id)}/{layout.COLLECTION}")]
            for space_id, label, kind, visibility, items, first, last, members in rows
        ),
        numeric=frozenset({3, 6}),
    )  # fmt: skip
    parts = [
        "<p>One row per space, the busiest first. Dates are the first and last item's, in UTC;"
        " items whose source gives no date are counted but not dated.</p>",
        body,
    ]
    if total > len(rows):
        more = total - len(rows)
        are = "spaces are" if more != 1 else "space is"
        parts.append(
            f'<p class="more">{_number(more)} more {are} not listed here'
            f" (only the {_number(len(rows))} with the most items are). All {_number(total)} are in"
            f" {_link(f'{layout.SPACES}/{layout.COLLECTION}')} and in the <code>spaces</code> table of"
            f" {_link(layout.DATABASE)}.</p>"
        )
    return "\n".join(parts)


def _privacy(archive: Archive) -> str:
    [(private, direct)] = archive.store.query(_PRIVATE_SQL)
    said = ""
    if private:
        said = f" It holds <strong>{_number(private)} private space{'s' if private != 1 else ''}</strong>"
        if direct:
            said += f", {_number(direct)} of them " + (
                "a direct or group conversation" if direct == 1 else "direct or group conversations"
            )
        said += ", with everything said in them."
    return (
        '<p class="note">This package holds everything the sources held, not only what was public.'
        f"{said} It also holds personal data (names, e-mail addresses, what people wrote). Store it"
        " and give access to it as you would to the original platform's private data.</p>"
    )


def _how_to_open() -> str:
    as2_file = f"{layout.CONTEXTS}/{CONTEXT_FILES[AS2_CONTEXT]}"
    ours_file = f"{layout.CONTEXTS}/{CONTEXT_FILES[PASSERELLE_CONTEXT]}"
    shell = f"sqlite3 {layout.DATABASE} '.tables'\nsqlite3 {layout.DATABASE} '.schema items'"
    jq = f"jq '.orderedItems[] | {{published, content}}' {layout.SPACES}/<space>/items/{layout.page_name(1)}"
    return "\n".join(
        [
            "<h3>Check that nothing changed</h3>",
            "<p>Any BagIt tool checks the whole package, for example the Library of Congress's",
            "<code>bagit.py</code> (<code>pip install bagit</code>):</p>",
            "<pre>bagit.py --validate PACKAGE_FOLDER</pre>",
            f"<p>The manifests are plain text, one line per file: a checksum, two spaces, the path"
            f" ({_code('manifest-sha512.txt')}, {_code('manifest-sha256.txt')}). Run inside the package"
            " folder, <code>sha512sum -c manifest-sha512.txt</code> checks the same lines (the tag"
            " manifests cover bagit.txt, bag-info.txt, the manifests and this page).</p>",
            "<h3>Read the Activity Streams documents</h3>",
            f"<p>Every <code>.jsonld</code> file under {_code(layout.AS2 + '/')} is plain JSON (UTF-8): any",
            f"JSON tool reads it. Start at {_link(layout.INDEX)}, which links the collections. A",
            "collection (<code>collection.jsonld</code>) names its first and last page; each page holds",
            "at most 1,000 objects, oldest first, and names the next one. With <code>jq</code>:</p>",
            f"<pre>{_lines(jq)}</pre>",
            "<p>A JSON-LD processor can also expand them into RDF. No network is needed: the two contexts",
            f"the documents name are shipped, the W3C Activity Streams context byte for byte in {_code(as2_file)}",
            f"and passerelle's own terms in {_code(ours_file)}; {_link(layout.CONTEXT_MAP)} says which",
            "context URL each file stands for. Give your processor a document loader that answers",
            "those URLs from those files (PyLD: a <code>documentLoader</code> option; jsonld.js: the",
            "same). Links between documents are relative: expand each document with its own location",
            "as the base.</p>",
            "<h3>Query the database</h3>",
            f"<p>{_link(layout.DATABASE)} is the archive's SQLite database, readable by the",
            "<code>sqlite3</code> program and by nearly every programming language:</p>",
            f"<pre>{_lines(shell)}</pre>",
            "<p>Its main tables are <code>sources</code>, <code>persons</code>, <code>spaces</code>,",
            "<code>memberships</code>, <code>items</code>, <code>revisions</code>, <code>reactions</code>,",
            "<code>files</code> (with <code>item_files</code>, which links them to items) and",
            "<code>diagnostics</code>. Times are integers: microseconds since 1970-01-01 UTC.",
            "<code>body_source</code> is an item's text exactly as the source wrote it (its markup named",
            "by <code>body_format</code>), <code>body_text</code> the same as CommonMark, and",
            "<code>raw</code> the source's whole record, byte for byte. The first twenty items, with",
            "their space and author:</p>",
            f'<pre class="sql">{_lines(SAMPLE_QUERY)}</pre>',
            "<p><code>.schema</code> shows every table's columns; the <code>meta</code> table gives the",
            f"model and schema versions, and {_code(layout.SCHEMA)} describes each record of the model,",
            "field by field.</p>",
            "<h3>Open the files</h3>",
            f"<p>Every file's bytes are in {_code(layout.FILES + '/')}, in a folder named by the first two",
            "hexadecimal digits of their SHA-256 and under that SHA-256 as their name (so a file is",
            "stored once however often it was shared, and its name is its checksum). The original",
            f"name, media type and size of each are in the files collection ({_link(f'{layout.FILES_COLLECTION}/{layout.COLLECTION}')})",
            "and in the <code>files</code> table (its <code>sha256</code> and <code>name</code> columns):",
            "copy a file out under its original name to open it. A file whose bytes the source did not",
            "hold says why in <code>missing_reason</code>.</p>",
        ]
    )


def _formats() -> str:
    formats = [
        ("BagIt 1.0", "https://www.rfc-editor.org/rfc/rfc8493",
         "RFC 8493 (IETF, 2018): a folder of content (<code>data/</code>) with text manifests of"
         " checksums (SHA-512 and SHA-256 here) and a <code>bag-info.txt</code> of labelled values."),
        ("Activity Streams 2.0", "https://www.w3.org/TR/activitystreams-core/",
         "W3C Recommendation (2017), with its Vocabulary (https://www.w3.org/TR/activitystreams-vocabulary/):"
         " JSON-LD for actors (Person, Service, Group) and objects (Note, Article, Page, Tombstone,"
         " Document…), grouped in ordered collections. Replies point to their parent with"
         " <code>inReplyTo</code>, threads share a <code>context</code>, edits are <code>Update</code>"
         " activities, reactions <code>EmojiReact</code> (FEP-c0e0). What Activity Streams has no word"
         " for (a channel's kind, the source's own ids, its raw records…) is declared as terms of"
         f" passerelle's JSON-LD context, {_code(f'{layout.CONTEXTS}/{CONTEXT_FILES[PASSERELLE_CONTEXT]}')},"
         " each with a full IRI under <code>https://passerelle.invalid/ns#</code> (a name, never a"
         " web address: <code>.invalid</code> does not resolve)."),
        ("JSON-LD 1.1", "https://www.w3.org/TR/json-ld11/",
         "W3C Recommendation: JSON whose keys are mapped to IRIs by a context."),
        ("SQLite 3", "https://www.sqlite.org/fileformat.html",
         "A single-file database, on the Library of Congress's list of recommended formats for"
         " datasets; its developers intend to support the file format until at least 2050."),
        ("JSON Schema 2020-12", "https://json-schema.org/draft/2020-12",
         f"{_code(layout.SCHEMA)} describes every record of the canonical model, field by field."),
        ("JSON Lines", "https://jsonlines.org/",
         "UTF-8 text, one JSON object per line: the diagnostics, the sources and the superseded"
         " records."),
    ]  # fmt: skip
    rows = ([f"<strong>{text(name)}</strong>", f'<a href="{attribute(url)}">{text(url)}</a>', about]
            for name, url, about in formats)  # fmt: skip
    return _table(["format", "specification", "what it is here"], rows)


def _layout() -> str:
    contexts = layout.CONTEXTS
    space = f"{layout.SPACES}/<space>"
    entries = [
        ("bagit.txt", "the BagIt declaration: version and encoding"),
        ("bag-info.txt", "who made the package, when, from what, and its size"),
        ("manifest-sha512.txt, manifest-sha256.txt", "a checksum of every content file, in both algorithms"),
        (
            "tagmanifest-sha512.txt, tagmanifest-sha256.txt",
            "a checksum of every other file, this page included",
        ),
        (layout.README, "this page"),
        (layout.DESCRIPTION, "package format and model version, counts, the context map"),
        (f"{contexts}/{CONTEXT_FILES[AS2_CONTEXT]}", "the W3C Activity Streams context, byte for byte"),
        (f"{contexts}/{CONTEXT_FILES[PASSERELLE_CONTEXT]}", "passerelle's terms"),
        (layout.CONTEXT_MAP, "context URL → file, for any JSON-LD processor"),
        (layout.INDEX, "the archive: links to the collections below"),
        (f"{layout.PERSONS}/{layout.COLLECTION}", "people and bots (Person, Service)"),
        (f"{layout.SPACES}/{layout.COLLECTION}", "spaces (Group)"),
        (f"{space}/items/{layout.COLLECTION}", "a space's items, oldest first"),
        (f"{space}/history/{layout.COLLECTION}", "a space's earlier versions of items (Update)"),
        (f"{layout.MEMBERSHIPS}/{layout.COLLECTION}", "who is in which space (Join)"),
        (
            f"{layout.FILES_COLLECTION}/{layout.COLLECTION}",
            "files: name, media type, size, where the bytes are",
        ),
        (f"{layout.FILES}/<2 hex>/<sha256>", "every file's bytes, named by their SHA-256"),
        (layout.DATABASE, "the archive's SQLite database"),
        (layout.SCHEMA, "the JSON Schema of the canonical model"),
        (layout.VERIFY_REPORT, "this package read back and compared with the archive"),
        (layout.source_report("<source id>"), "a source export reconciled with the archive (pack --against)"),
        (layout.DIAGNOSTICS, "every diagnostic of the archive, one JSON object per line"),
        (layout.SOURCES, "every source read, with the parts of it that were finished"),
        (layout.SUPERSEDED, "records a later export replaced, verbatim"),
    ]
    table = _table(["path", "what it holds"], ([_code(path), text(about)] for path, about in entries))
    note = (
        "<p><code>&lt;space&gt;</code> is the space's archive id when that is a plain name (lowercase"
        " letters, digits, <code>_</code> and <code>-</code>), else <code>x-</code> and 32 hexadecimal"
        " digits of the id's SHA-256: the table of spaces above links each one. Archive ids become IRIs"
        " <code>urn:passerelle:&lt;kind&gt;:&lt;id&gt;</code> in the documents (kind: person, space,"
        " item, file or revision).</p>"
    )
    return table + "\n" + note


# -- the page --------------------------------------------------------------------------------
def render_readme(
    archive: Archive,
    *,
    counts: Mapping[str, int],
    model_version: str,
    generator: str,
    bag_info: Mapping[str, str],
) -> bytes:
    """README.html (UTF-8 HTML5) for the package made of ``archive``.

    ``counts`` are the totals to show (any keys; known ones first, in a fixed order);
    ``bag_info`` the values of bag-info.txt, shown in the order given (the order of that
    file). The per-space table is read from the archive itself, capped at ``SPACE_ROWS``.
    """
    platforms = _platforms(archive)
    what = f"{', '.join(platforms)} collaboration data" if platforms else "collaboration data"
    title = f"Archive of {what}"
    heading = (
        f"Archive of {_join_words([_value(p) for p in platforms])} collaboration data" if platforms else title
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        # Nothing is ever loaded or run: styles are inline, the rest forbidden.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="{attribute(generator)}">',
        f"<title>{attribute(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{heading}</h1>",
        _intro(platforms, model_version, generator, bag_info),
        _privacy(archive),
        "<h2>What is in it</h2>",
        _totals(counts),
        "<h3>Sources</h3>",
        _sources(archive),
        "<h2>Counts per space</h2>",
        _spaces(archive),
        "<h2>How to open it without passerelle</h2>",
        _how_to_open(),
        "<h2>A short guide to the formats</h2>",
        _formats(),
        "<h3>Layout</h3>",
        _layout(),
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts).encode("utf-8")
