"""README.html: what it says is the archive's truth, it is inert whatever the archive holds,
it stands alone, and it is the same bytes every time."""

from __future__ import annotations

import sqlite3
import unicodedata
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from passerelle.archive import Archive
from passerelle.archive.writer import ArchiveWriter
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.model.entities import (
    Body,
    Item,
    ItemKind,
    Membership,
    Person,
    Source,
    Space,
    SpaceKind,
    Visibility,
)
from passerelle.package import readme
from passerelle.package.readme import render_readme
from tests.slack_builder import build_export, message

PLATFORM = "chatter"
T0 = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z, in microseconds
DAY = 86_400_000_000
SCRIPT = "<script>alert(1)</script>"
RTL = "invoice\u202eexe.pdf"  # shows as "invoicefdp.exe" where the override is obeyed
QUOTES = "\"quoted\" & 'single' <b>bold</b>"
BIDI = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
VOID = {"meta", "br", "hr", "img", "link", "input", "wbr", "col", "area", "base", "source", "track", "embed"}


# -- an archive written entity by entity --------------------------------------------------------
def _sid(native: str) -> str:
    return ids.space_id(PLATFORM, native)


def build_archive(path: Path, *, private: bool = True) -> Path:
    """Five spaces of different sizes; hostile names; items with and without dates."""
    source = Source(
        id=ids.source_id(PLATFORM, "0" * 64), platform=PLATFORM,
        path="/home/secret-user/exports/chatter-export.zip", sha256="0" * 64, size=0,
        reader="chatter-reader", reader_version="7", ingested_at="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    with Archive.open(path, create=True) as archive:
        w = ArchiveWriter(archive, source)
        people = [ids.person_id(PLATFORM, n) for n in ("a", "b", "c")]
        for pid, name in zip(people, ("ada", QUOTES, "\u05d3\u05e0\u05d4"), strict=True):
            w.add(Person(id=pid, platform=PLATFORM, native_id=pid, name=name))
        spaces: list[tuple[str, SpaceKind, Visibility, dict[str, Any], int, int]] = [
            ("general", SpaceKind.PUBLIC_CHANNEL, Visibility.PUBLIC, {"name": "general"}, 4, 3),
            ("evil", SpaceKind.PRIVATE_CHANNEL if private else SpaceKind.PUBLIC_CHANNEL,
             Visibility.PRIVATE if private else Visibility.PUBLIC, {"display_name": SCRIPT, "name": "evil"}, 3, 2),
            ("rtl", SpaceKind.DIRECT_MESSAGE if private else SpaceKind.COMMUNITY,
             Visibility.PRIVATE if private else Visibility.PUBLIC, {"name": RTL}, 2, 2),
            ("undated", SpaceKind.PUBLIC_CHANNEL, Visibility.PUBLIC, {}, 2, 0),  # labelled by its native id
            ("empty", SpaceKind.PUBLIC_CHANNEL, Visibility.PUBLIC, {"name": "zzz-empty"}, 0, 1),
        ]  # fmt: skip
        for native, kind, visibility, names, n_items, n_members in spaces:
            sid = _sid(native)
            w.add(
                Space(id=sid, platform=PLATFORM, native_id=native, kind=kind, visibility=visibility, **names)
            )
            for person in people[:n_members]:
                w.add(Membership(space_id=sid, person_id=person))
            for k in range(n_items):
                at = None if native == "undated" else T0 + k * 3 * DAY + 1
                w.add(Item(
                    id=ids.item_id(PLATFORM, native, str(k)), platform=PLATFORM, native_id=str(k),
                    kind=ItemKind.MESSAGE, space_id=sid, author_id=people[k % 3], created_at=at,
                    body=Body(format="markdown", source=f"hello {k}", normalised=f"hello {k}"),
                ))  # fmt: skip
        w.complete("all")
        w.finish()
    return path


def render(path: Path, **overrides: Any) -> bytes:
    arguments: dict[str, Any] = {
        "counts": {"persons": 3, "spaces": 5},
        "model_version": "1.1",
        "generator": "passerelle 0.1.0",
        "bag_info": {"Source-Organization": "Example", "Bagging-Date": "2026-01-02"},
        **overrides,
    }
    with Archive.open(path) as archive:
        return render_readme(archive, **arguments)


# -- reading the page back ------------------------------------------------------------------------
class Page(HTMLParser):
    """The page's tables (cell texts), tags, attributes and <pre> blocks; fails on unbalanced tags."""

    def __init__(self, data: bytes) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.tables: list[list[list[str]]] = []
        self.pres: list[tuple[str | None, str]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._pre: list[str] | None = None
        self._pre_class: str | None = None
        self.feed(data.decode("utf-8"))
        self.close()
        assert self.stack == [], f"unclosed: {self.stack}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((tag, name, value) for name, value in attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "pre":
            self._pre, self._pre_class = [], dict(attrs).get("class")

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "pre" and self._pre is not None:
            self.pres.append((self._pre_class, "".join(self._pre)))
            self._pre = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._pre is not None:
            self._pre.append(data)

    def table(self, first_header: str) -> list[list[str]]:
        """The rows (header excluded) of the table whose first column is headed so."""
        found = [t for t in self.tables if t and t[0] and t[0][0] == first_header]
        assert len(found) == 1, f"{len(found)} tables headed {first_header!r}"
        return found[0][1:]


def number(cell: str) -> int:
    return int(cell.replace("\u202f", ""))


def day(us: int | None) -> str:
    return "—" if us is None else datetime.fromtimestamp(us / 1_000_000, UTC).strftime("%Y-%m-%d")


def shown(value: str) -> str:
    """How the page shows a value: controls and bidirectional controls as visible marks."""
    return "".join(
        f"[U+{ord(c):04X}]" if unicodedata.category(c) == "Cc" or unicodedata.bidirectional(c) in BIDI else c
        for c in value
    )


def expected_spaces(path: Path) -> list[list[str]]:
    """Each space's row, computed here with plain queries, one space at a time."""
    db = sqlite3.connect(path / "archive.sqlite")
    rows = []
    for sid, native, name, display, kind, visibility in db.execute(
        "SELECT id, native_id, name, display_name, kind, visibility FROM spaces"
    ):
        n_items, first, last = db.execute(
            "SELECT count(*), min(created_at), max(created_at) FROM items WHERE space_id = ?", (sid,)
        ).fetchone()
        members = db.execute("SELECT count(*) FROM memberships WHERE space_id = ?", (sid,)).fetchone()[0]
        label = shown(display or name or native)
        path_ = f"data/activitystreams/spaces/{sid}/items/collection.jsonld"
        rows.append([label, kind, visibility, n_items, day(first), day(last), members, path_, sid])
    db.close()
    rows.sort(key=lambda r: (-r[3], r[0], r[8]))
    return [[str(c) for c in r[:8]] for r in rows]


def space_rows(page: Page) -> list[list[str]]:
    return [[c if i not in (3, 6) else str(number(c)) for i, c in enumerate(r)] for r in page.table("space")]


# -- tests ------------------------------------------------------------------------------------------
def test_counts_per_space_are_the_archives(tmp_path: Path) -> None:
    path = build_archive(tmp_path / "a")
    page = Page(render(path))
    expected = expected_spaces(path)
    assert space_rows(page) == expected
    # The sizes the fixture was built with, so the oracle itself is checked too.
    assert [r[3] for r in expected] == ["4", "3", "2", "2", "0"]
    general = next(r for r in expected if r[0] == "general")
    assert general[4:6] == ["2023-11-14", "2023-11-23"]
    undated = next(r for r in expected if r[0] == "undated")
    assert undated[4:6] == ["—", "—"]  # counted, not dated
    # Each collection link points where the row says.
    hrefs = [v for tag, name, v in page.attrs if tag == "a" and name == "href" and v and "/items/" in v]
    assert hrefs == [r[7] for r in expected]


def test_hostile_values_are_inert(tmp_path: Path) -> None:
    path = build_archive(tmp_path / "a")
    hostile_generator = 'gen\u202e" onload="alert(2)'
    out = render(
        path, generator=hostile_generator, bag_info={"X-Label": SCRIPT, QUOTES: "v"}, counts={SCRIPT: 1}
    )
    assert b"<script" not in out.lower()
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert b"onload=" not in out.replace(b"onload=&quot;", b"")  # only ever as escaped text
    assert "\u202e".encode() not in out
    assert b"[U+202E]" in out
    page = Page(out)
    assert "script" not in page.tags
    assert not [a for a in page.attrs if a[1].startswith("on")]
    # Read back as text, the values are exactly the archive's (but for the visible mark).
    labels = [r[0] for r in page.table("space")]
    assert SCRIPT in labels
    assert "invoice[U+202E]exe.pdf" in labels
    assert ["X-Label", SCRIPT] in page.table("label") and [QUOTES, "v"] in page.table("label")
    # In an attribute the mark is plain text: markup there would end the attribute.
    assert ("meta", "content", 'gen[U+202E]" onload="alert(2)') in page.attrs
    assert page.tags.count("bdi") >= 5 * 3  # every value isolated: the space table alone has 15
    # The source is named by its file only: where it lived stays out of the page.
    assert b"secret-user" not in out
    assert [r[2] for r in page.table("platform")] == ["chatter-export.zip"]


def test_hidden_characters_are_shown() -> None:
    assert readme.attribute('a\u202e"b') == "a[U+202E]&quot;b"
    assert readme.text("a\x00b\u2066c\ud800d\r") == (
        'a<span class="cp">[U+0000]</span>b<span class="cp">[U+2066]</span>c'
        '<span class="cp">[U+D800]</span>d<span class="cp">[U+000D]</span>'
    )
    # Joiners inside emoji and right-to-left letters are text, not tricks: kept.
    assert readme.text("\U0001f469\u200d\U0001f4bb \u05d3") == "\U0001f469\u200d\U0001f4bb \u05d3"
    assert readme.text(QUOTES) == "&quot;quoted&quot; &amp; &#x27;single&#x27; &lt;b&gt;bold&lt;/b&gt;"


def test_the_cap_says_how_many_more_and_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = build_archive(tmp_path / "a")
    monkeypatch.setattr(readme, "SPACE_ROWS", 2)
    out = render(path)
    page = Page(out)
    assert space_rows(page) == expected_spaces(path)[:2]  # the busiest two
    said = " ".join("".join(page.text).split())
    assert "3 more spaces are not listed here (only the 2 with the most items are). All 5 are in" in said
    assert "data/activitystreams/spaces/collection.jsonld and in the spaces table of" in said
    monkeypatch.setattr(readme, "SPACE_ROWS", 4)
    said = " ".join("".join(Page(render(path)).text).split())
    assert "1 more space is not listed here" in said
    monkeypatch.setattr(readme, "SPACE_ROWS", 5)
    assert b"more space" not in render(path)


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    path = build_archive(tmp_path / "a")
    again = build_archive(tmp_path / "b")  # built again from scratch
    first = render(path)
    assert render(path) == first
    assert render(again) == first
    assert render(path, generator="passerelle 0.2.0") != first


def test_totals_in_a_stable_order(tmp_path: Path) -> None:
    path = build_archive(tmp_path / "a")
    counts = {"zeta": 9, "diagnostics": 2, "items": 11, "alpha": 1, "persons": 3, "files": 12_345}
    page = Page(render(path, counts=counts))
    rows = page.table("count")
    assert [r[0] for r in rows] == ["persons", "items", "files", "diagnostics", "alpha", "zeta"]
    assert [number(r[1]) for r in rows] == [3, 11, 12_345, 2, 1, 9]
    assert render(path, counts=dict(reversed(counts.items()))) == render(path, counts=counts)


def test_private_conversations_are_said(tmp_path: Path) -> None:
    said = " ".join("".join(Page(render(build_archive(tmp_path / "a"))).text).split())
    assert "It holds 2 private spaces, 1 of them a direct or group conversation, with everything" in said
    assert "Store it and give access to it as you would" in said
    public = " ".join("".join(Page(render(build_archive(tmp_path / "b", private=False))).text).split())
    assert "private space" not in public
    assert "Store it and give access to it as you would" in public  # personal data all the same


def test_stands_alone(tmp_path: Path) -> None:
    out = render(build_archive(tmp_path / "a"))
    page = Page(out)
    assert page.tags[:3] == ["html", "head", "meta"] and out.startswith(b"<!DOCTYPE html>")
    # Nothing is loaded: no element that fetches, no src, no CSS url() or @import.
    assert not {"script", "img", "link", "iframe", "object", "embed", "audio", "video"} & set(page.tags)
    assert not [a for a in page.attrs if a[1] in ("src", "srcset", "style")]
    assert b"url(" not in out and b"@import" not in out
    assert ("meta", "http-equiv", "Content-Security-Policy") in page.attrs
    # Links are either files of the package (relative) or the specifications, by https.
    for tag, name, value in page.attrs:
        if tag == "a" and name == "href":
            assert value is not None
            assert value.startswith(("data/", "https://")), value
    assert "title" in page.tags and page.tags.count("style") == 1
    assert b"Archive of chatter collaboration data" in out


def test_the_sample_query_runs(tmp_path: Path) -> None:
    path = build_archive(tmp_path / "a")
    page = Page(render(path))
    [sql] = [text for cls, text in page.pres if cls == "sql"]
    assert sql == readme.SAMPLE_QUERY
    db = sqlite3.connect(path / "archive.sqlite")
    rows = db.execute(sql).fetchall()
    db.close()
    assert len(rows) == 11
    assert ("2023-11-14 22:13:20", "general", "ada", "message", "hello 0") in rows


def test_every_layout_path_is_explained(tmp_path: Path) -> None:
    from passerelle.package import layout

    said = "".join(Page(render(build_archive(tmp_path / "a"))).text)
    for path in (layout.DESCRIPTION, layout.CONTEXT_MAP, layout.INDEX, layout.DATABASE, layout.SCHEMA,
                 layout.VERIFY_REPORT, layout.DIAGNOSTICS, layout.SOURCES, layout.SUPERSEDED, layout.FILES):  # fmt: skip
        assert path in said, path
    assert "bagit.py --validate" in said and "RFC 8493" in said


def test_an_ingested_slack_export(tmp_path: Path) -> None:
    channels = [
        {"id": "C1", "name": "general", "created": 1600000000, "creator": "U1", "members": ["U1", "U2"]},
        {"id": "C2", "name": "random", "created": 1600000000, "creator": "U1", "members": ["U1"]},
    ]
    export = build_export(
        tmp_path / "export",
        {
            "channels.json": channels,
            "general/2020-09-13.json": [
                message("1600000000.000100", "one"),
                message("1600000100.000200", "two"),
            ],
            "general/2020-09-15.json": [message("1600150000.000100", "three", user="U2")],
            "random/2020-09-14.json": [message("1600090000.000100", "four")],
        },
    )
    ingest([export], tmp_path / "archive")
    out = render(tmp_path / "archive", counts={"items": 4})
    page = Page(out)
    assert space_rows(page) == expected_spaces(tmp_path / "archive")
    general = next(r for r in space_rows(page) if r[0] == "general")
    assert general[3:7] == ["3", "2020-09-13", "2020-09-15", "2"]
    assert [r[0] for r in page.table("platform")] == ["slack"]
    assert [r[2] for r in page.table("platform")] == ["export"]
    assert b"Archive of slack collaboration data" in out


def test_an_empty_archive(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a", create=True):
        pass
    out = render(tmp_path / "a", counts={}, bag_info={})
    page = Page(out)
    assert b"<title>Archive of collaboration data</title>" in out
    assert "The archive holds no space." in "".join(page.text)
    assert not [t for t in page.tables if t and t[0] and t[0][0] in ("space", "label", "platform")]
