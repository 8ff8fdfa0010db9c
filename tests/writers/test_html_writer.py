"""The static site writer (``export --to html``): pages, data files, the search index, one
audience at a time (a private channel's text, files and search entries absent from the public
site, present in a member's), hostile bodies inert, deterministic output."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from passerelle.archive import Archive
from passerelle.errors import BadInputError
from passerelle.export import MANIFEST, export
from passerelle.info import table_counts
from passerelle.ingest import ingest
from passerelle.writers import html
from passerelle.writers.base import ENTITY_TABLES, Outcome
from tests.helpers import run, sample
from tests.mattermost_builder import build_export, post, reply
from tests.web.conftest import WEB_FILES, XSS, web_lines
from tests.writers.wiki_archives import build_mediawiki_archive

PRIVATE_WORD = b"zanzibar"  # only in the private channel ops (ada is a member, eve is not)
PRIVATE_FILE = WEB_FILES["data/files/budget.pdf"]
DM_TEXT = b"note to self"  # ada's DM to herself
PREFIX, SUFFIX = b"passerelle_data(", b");\n"


def build_archive(base: Path) -> Path:
    """The web tests' Mattermost archive (private ops with 'zanzibar budget', DMs, an XSS
    post) and a thread long enough for two pages (with a small PAGE_SIZE)."""
    lines = web_lines()
    lines.append(
        post(
            "acme",
            "town-square",
            "gus",
            1_600_000_020_000,
            "a long thread",
            replies=[reply("bob", 1_600_000_020_100 + k, f"answer number {k}") for k in range(5)],
        )
    )
    ingest([build_export(base / "export", lines, WEB_FILES)], base / "archive")
    return base / "archive"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("html-mm"))


def _site(archive: Path, out: Path, **options: str) -> Path:
    export(archive, "html", out, options=options)
    return out


@pytest.fixture(scope="module")
def public(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _site(archive, tmp_path_factory.mktemp("public") / "site")


@pytest.fixture(scope="module")
def as_ada(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _site(archive, tmp_path_factory.mktemp("ada") / "site", **{"as": "ada"})


def files_of(site: Path) -> Iterator[Path]:
    return (p for p in sorted(site.rglob("*")) if p.is_file())


def data(path: Path) -> Any:
    raw = path.read_bytes()
    assert raw.startswith(PREFIX) and raw.endswith(SUFFIX), path
    return json.loads(raw[len(PREFIX) : -len(SUFFIX)])


def items_of(site: Path) -> list[dict[str, Any]]:
    site_data = data(site / "data" / "site.js")
    out: list[dict[str, Any]] = []
    for n in range(site_data["item_chunks"]):
        chunk = data(site / "data" / f"items-{n:05d}.js")
        assert chunk["kind"] == "items" and chunk["chunk"] == n
        assert 0 < len(chunk["records"]) <= 1000
        out += chunk["records"]
    return out


def db(archive: Path) -> sqlite3.Connection:
    return sqlite3.connect(archive / "archive.sqlite")


def search(site: Path, query: str, **filters: str) -> list[str]:
    """What search.js finds, the same way: the words' shards, their postings intersected, the
    documents' item ids, newest first."""
    box = (site / "search.html").read_text()
    shards = int(box.split('data-shards="')[1].split('"')[0])
    per_chunk = int(box.split('data-docs-per-chunk="')[1].split('"')[0])
    terms = html.words(query) + [f"{k}:{v}" for k, v in filters.items()]
    found: set[int] | None = None
    for term in terms:
        shard = html.fnv1a(term) % shards
        gaps = data(site / "data" / f"search-terms-{shard:05d}.js")["terms"].get(term, [])
        docs, at = set(), 0
        for gap in gaps:
            at += gap
            docs.add(at)
        found = docs if found is None else found & docs
    ids = []
    for doc in sorted(found or ()):
        chunk = data(site / "data" / f"search-docs-{doc // per_chunk:05d}.js")
        ids.append(chunk["docs"][doc % per_chunk][0])
    return ids


# -- one audience at a time ----------------------------------------------------------------------


def test_the_public_site_holds_nothing_of_a_private_space_or_a_dm(public: Path) -> None:
    for path in files_of(public):
        content = path.read_bytes()
        assert PRIVATE_WORD not in content.lower(), path
        assert PRIVATE_FILE not in content, path
        assert DM_TEXT not in content, path
    assert search(public, "zanzibar") == []
    assert search(public, "budget") == []


def test_a_members_site_holds_the_private_space_its_file_and_search_entry(
    as_ada: Path, archive: Path
) -> None:
    with db(archive) as conn:
        (secret_id,) = conn.execute("SELECT id FROM items WHERE body_text = 'zanzibar budget'").fetchone()
    assert search(as_ada, "zanzibar") == [secret_id]
    assert any(p.read_bytes() == PRIVATE_FILE for p in files_of(as_ada))
    assert any(DM_TEXT in p.read_bytes() for p in (as_ada / "data").glob("items-*.js"))
    assert data(as_ada / "data" / "site.js")["audience"] == {"person_id": _person(archive, "ada")}


def test_a_person_sees_no_private_space_they_were_not_in(archive: Path, tmp_path: Path) -> None:
    site = _site(archive, tmp_path / "eve", **{"as": "eve"})
    assert not any(PRIVATE_WORD in p.read_bytes().lower() for p in files_of(site))
    visible = {s["id"] for s in data(site / "data" / "spaces.js")["records"]}
    with db(archive) as conn:
        public_ids = {r[0] for r in conn.execute("SELECT id FROM spaces WHERE visibility = 'public'")}
    assert visible == public_ids  # eve is in no private space


def _person(archive: Path, name: str) -> str:
    with db(archive) as conn:
        return str(conn.execute("SELECT id FROM persons WHERE name = ?", (name,)).fetchone()[0])


def test_withheld_spaces_are_noted_one_each_and_the_tally_covers_every_entity(
    archive: Path, tmp_path: Path
) -> None:
    result = export(archive, "html", tmp_path / "site")
    with Archive.open(archive) as opened:
        counts = table_counts(opened.store)
    for entity, table in ENTITY_TABLES.items():
        assert sum(result.log.tally[entity].values()) == counts[table], entity
    with db(archive) as conn:
        private = {r[0] for r in conn.execute("SELECT id FROM spaces WHERE visibility != 'public'")}
        private_items = conn.execute(
            "SELECT count(*) FROM items WHERE space_id IN (SELECT id FROM spaces WHERE visibility != 'public')"
        ).fetchone()[0]
    withheld = [n for n in result.log.notes if n.code == html.WITHHELD]
    assert sorted(n.entity_id or "" for n in withheld) == sorted(private)
    assert all(n.entity == "space" and n.outcome is Outcome.LOST and n.attribute is None for n in withheld)
    assert all("the public" in n.message for n in withheld)
    assert result.log.tally["item"][Outcome.LOST] == private_items
    # No note per withheld item: a note only for spaces, files with no item and the e-mail rule.
    assert {n.entity for n in result.log.notes} <= {"space", "file", "person"}
    manifest = json.loads((tmp_path / "site" / MANIFEST).read_text())
    assert manifest["reader"] == "html"


def test_a_public_site_shows_no_email_and_says_so_once(public: Path, archive: Path) -> None:
    persons = data(public / "data" / "persons.js")["records"]
    assert persons and all(p["email"] is None for p in persons)
    manifest = json.loads((public / MANIFEST).read_text())
    rules = [n for n in manifest["notes"] if n["code"] == html.EMAIL_WITHHELD]
    assert len(rules) == 1 and rules[0]["attribute"] == "email" and "entity_id" not in rules[0]
    with db(archive) as conn:
        with_email = conn.execute("SELECT count(*) FROM persons WHERE email IS NOT NULL").fetchone()[0]
    assert with_email and rules[0]["count"] == with_email
    for path in files_of(public):
        assert b"@example" not in path.read_bytes() or path.name == MANIFEST, path


def test_a_members_site_keeps_emails(as_ada: Path) -> None:
    assert any(p["email"] for p in data(as_ada / "data" / "persons.js")["records"])


# -- the data files ------------------------------------------------------------------------------


@pytest.mark.parametrize("audience", ["public", "as_ada"])
def test_data_files_follow_the_contract(audience: str, request: pytest.FixtureRequest, archive: Path) -> None:
    site: Path = request.getfixturevalue(audience)
    for path in (site / "data").glob("*.js"):
        raw = path.read_bytes()
        assert raw.startswith(PREFIX) and raw.endswith(SUFFIX), path
        body = raw[len(PREFIX) : -len(SUFFIX)]
        value = json.loads(body)
        assert isinstance(value, dict)
        # Sorted keys, compact separators, no raw '<' (escaped: a body cannot close the script).
        assert b"<" not in body and b"\xe2\x80\xa8" not in body
        again = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        assert body.decode() == again.translate(html._SCRIPT_SAFE), path
    site_data = data(site / "data" / "site.js")
    assert (
        site_data["kind"] == "site" and site_data["format"] == "passerelle-html" and site_data["version"] == 1
    )
    items = items_of(site)
    persons = data(site / "data" / "persons.js")["records"]
    spaces = data(site / "data" / "spaces.js")["records"]
    counts = site_data["counts"]
    assert (
        counts["items"] == len(items)
        and counts["persons"] == len(persons)
        and counts["spaces"] == len(spaces)
    )
    assert counts["memberships"] == sum(len(s["members"]) for s in spaces)
    assert counts["reactions"] == sum(len(i["reactions"]) for i in items)
    assert counts["revisions"] == sum(len(i["revisions"]) for i in items)
    assert len({i["id"] for i in items}) == len(items)
    with db(archive) as conn:
        in_spaces = {
            r[0]
            for r in conn.execute(
                f"SELECT id FROM items WHERE space_id IN ({','.join('?' * len(spaces))})",
                [s["id"] for s in spaces],
            )
        }
    assert {i["id"] for i in items} == in_spaces  # every item of a visible space, no other
    for item in items:
        page = (site / item["page"]).read_text()
        assert f'id="item-{item["id"]}"' in page, item["page"]
        for f in item["files"]:
            if f["path"] is None:
                continue
            blob = (site / f["path"]).read_bytes()
            assert hashlib.sha256(blob).hexdigest() == f["sha256"] and len(blob) == f["size"]


def test_a_file_the_archive_lacks_is_named_without_bytes(public: Path) -> None:
    files = [f for i in items_of(public) for f in i["files"]]
    missing = [f for f in files if f["name"] == "missing.txt"]
    assert missing and all(f["path"] is None and f["missing_reason"] for f in missing)
    assert {f["name"] for f in files if f["path"]} >= {"report.pdf", "logo.png"}


# -- pages ---------------------------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(path: Path) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(path.read_text())
    return parser.tags


def test_the_home_page_lists_spaces_chart_biggest_and_people(public: Path) -> None:
    home = (public / "index.html").read_text()
    for part in ('class="activity-chart"', 'class="biggest"', 'class="people"', "Town-Square"):
        assert part in home
    assert "Ops" not in home and "Plans" not in home
    links = [a["href"] for tag, a in tags(public / "index.html") if tag == "a" and a.get("href")]
    for href in links:
        assert href and not href.startswith(("/", "http", "file:")), href
        assert (public / href.split("#")[0]).is_file(), href


def test_every_link_of_every_page_is_relative_and_leads_somewhere(public: Path) -> None:
    for page in public.rglob("*.html"):
        for _tag, attrs in tags(page):
            for name in ("href", "src", "action"):
                target = attrs.get(name)
                if not target or target.startswith(("https://", "http://", "mailto:", "#")):
                    continue
                assert not target.startswith(("/", "file:", "javascript:")), (page, target)
                assert (page.parent / target.split("#")[0].split("?")[0]).resolve().exists(), (page, target)


def test_a_space_timeline_is_paged_newest_first_with_threads_folded(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(html, "PAGE_SIZE", 2)
    site = _site(archive, tmp_path / "site")
    with db(archive) as conn:
        (space,) = conn.execute("SELECT id FROM spaces WHERE name = 'town-square'").fetchone()
        (root,) = conn.execute("SELECT id FROM items WHERE body_text = 'a long thread'").fetchone()
        top = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM items WHERE space_id = ? AND (thread_root_id IS NULL OR thread_root_id = id)"
                " ORDER BY created_at DESC, id DESC",
                (space,),
            )
        ]
    folder = site / "spaces" / html.safe_id(space)
    pages = [folder / "index.html", *(folder / f"page-{n}.html" for n in range(2, len(top) // 2 + 2))]
    shown = []
    for page in pages:
        if page.exists():
            shown += [str(a["id"])[5:] for tag, a in tags(page) if tag == "article" and a.get("id")]
    assert shown == top  # every top-level item once, newest first, across the pages
    assert "answer number" not in (folder / "index.html").read_text()  # replies folded
    first = (folder / "index.html").read_text()
    assert "5 replies" in first and "page-2.html" in first
    thread = site / "threads" / html.safe_id(root)
    replies = (thread / "index.html").read_text() + (thread / "page-2.html").read_text()
    replies += (thread / "page-3.html").read_text()
    assert [f"answer number {k}" in replies for k in range(5)] == [True] * 5
    assert replies.index("answer number 0") < replies.index("answer number 4")  # oldest first


def test_a_message_script_is_inert(public: Path) -> None:
    assert XSS.split()[0] == "<script>alert('xss')</script>"
    for page in public.rglob("*.html"):
        for tag, attrs in tags(page):
            assert tag != "script" or attrs == {"src": "search.js", "defer": None}, page
            assert not any(name.startswith("on") or name == "style" for name in attrs), (page, tag, attrs)
            for value in attrs.values():
                assert not (value or "").strip().lower().startswith("javascript:"), (page, tag, attrs)
        assert 'http-equiv="Content-Security-Policy"' in page.read_text()
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in (public / "index.html").read_text() or any(
        "&lt;script&gt;" in p.read_text() for p in public.rglob("*.html")
    )


def test_a_dangerous_file_name_is_not_a_page_of_the_site() -> None:
    assert html.safe_name("report.pdf") == "report.pdf"
    assert html.safe_name("evil.html").endswith(".download")
    assert html.safe_name("image.svg").endswith(".download")
    assert html.safe_name("../../etc/passwd").count("/") == 0
    assert html.safe_name(None) != html.safe_name("file")
    assert html.safe_name("a?b.txt") != html.safe_name("a*b.txt")


def test_ids_become_names_no_two_alike() -> None:
    assert html.safe_id("itm_0100ac5c") == "itm_0100ac5c"
    assert html.safe_id("ABC") != html.safe_id("abc")  # case-insensitive file systems
    assert html.safe_id("../x").startswith("id-")


def test_search_words_match_the_documents_newest_first(public: Path, archive: Path) -> None:
    with db(archive) as conn:
        expected = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM items WHERE body_text LIKE '%answer number%' ORDER BY created_at DESC, id DESC"
            )
        ]
        (bob,) = conn.execute("SELECT id FROM persons WHERE name = 'bob'").fetchone()
    assert len(expected) == 5
    assert search(public, "Answer NUMBER") == expected
    assert search(public, "answer", author=bob) == expected  # bob wrote them all
    with db(archive) as conn:
        (square,) = conn.execute("SELECT id FROM spaces WHERE name = 'town-square'").fetchone()
        (old,) = conn.execute("SELECT id FROM spaces WHERE name = 'old'").fetchone()
    assert search(public, "answer", space=square) == expected
    assert search(public, "answer", space=old) == []
    assert search(public, "answer nothing") == []
    assert html.words("Éléphant café_au-lait 42") == ["elephant", "cafe_au", "lait", "42"]


# -- determinism, the zip, the CLI ---------------------------------------------------------------


def test_the_same_archive_gives_the_same_site_byte_for_byte(archive: Path, tmp_path: Path) -> None:
    one = _site(archive, tmp_path / "one", **{"as": "ada"})
    two = _site(archive, tmp_path / "two", **{"as": "ada"})
    listing = [p.relative_to(one) for p in files_of(one)]
    assert listing == [p.relative_to(two) for p in files_of(two)]
    for rel in listing:
        assert (one / rel).read_bytes() == (two / rel).read_bytes(), rel
    export(archive, "html", tmp_path / "one.zip")
    export(archive, "html", tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as zf:
        assert "index.html" in zf.namelist() and "data/site.js" in zf.namelist()


def test_dry_run_announces_the_same_tally(archive: Path, tmp_path: Path) -> None:
    planned = export(archive, "html", tmp_path / "planned", dry_run=True)
    done = export(archive, "html", tmp_path / "done")
    assert not (tmp_path / "planned").exists()
    assert planned.log.tally == done.log.tally


def test_as_an_unknown_person_is_a_clear_error(archive: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no person 'nobody'"):
        export(archive, "html", tmp_path / "site", options={"as": "nobody"})
    assert not (tmp_path / "site").exists()
    assert not list(tmp_path.glob("site*"))


def test_the_cli_takes_as_for_html_and_refuses_it_elsewhere(archive: Path, tmp_path: Path) -> None:
    result = run(
        "export", str(archive), "--to", "html", "-o", str(tmp_path / "site"), "--as", "ada", "--json"
    )
    assert result.exit_code == 0, result.output
    assert data(tmp_path / "site" / "data" / "site.js")["audience"] == {"person_id": _person(archive, "ada")}
    result = run("export", str(archive), "--to", "html", "-o", str(tmp_path / "set"), "--set", "as=ada")
    assert result.exit_code == 0, result.output
    result = run("export", str(archive), "--to", "csv", "-o", str(tmp_path / "csv"), "--as", "ada")
    assert result.exit_code != 0 and "--as" in result.output
    result = run("export", str(archive), "--to", "html", "-o", str(tmp_path / "x"), "--as", "nobody")
    assert result.exit_code != 0 and "no person 'nobody'" in result.output


def test_the_slack_sample_becomes_a_site(tmp_path: Path) -> None:
    ingest([sample("slack/slack-export-viewer-testarchive/testarchive.zip")], tmp_path / "archive")
    site = _site(tmp_path / "archive", tmp_path / "site")
    items = items_of(site)
    with db(tmp_path / "archive") as conn:
        public_items = conn.execute(
            "SELECT count(*) FROM items WHERE space_id IN (SELECT id FROM spaces WHERE visibility = 'public')"
        ).fetchone()[0]
        (word_item, body) = conn.execute(
            "SELECT i.id, i.body_text FROM items i JOIN spaces s ON s.id = i.space_id"
            " WHERE s.visibility = 'public' AND length(i.body_text) > 20 ORDER BY i.id LIMIT 1"
        ).fetchone()
    assert len(items) == public_items > 0
    assert word_item in search(site, " ".join(html.words(body)[:3]))
    for space in data(site / "data" / "spaces.js")["records"]:
        assert (site / html.space_page(space["id"])).is_file()


def test_a_wiki_page_has_its_history_and_a_diff_between_consecutive_revisions(tmp_path: Path) -> None:
    archive = build_mediawiki_archive(tmp_path / "archive")
    site = _site(archive, tmp_path / "site")
    with db(archive) as conn:
        (alpha,) = conn.execute("SELECT id FROM items WHERE title = 'Alpha'").fetchone()
        bodies = [
            r[0]
            for r in conn.execute(
                "SELECT body_text FROM revisions WHERE item_id = ? ORDER BY created_at, id", (alpha,)
            )
        ]
    assert len(bodies) == 3
    folder = site / "items" / html.safe_id(alpha)
    history = (folder / "index.html").read_text()
    assert history.count('<li id="revision-') == 3
    assert 'href="diff-2.html"' in history and 'href="diff-3.html"' in history
    assert not (folder / "diff-1.html").exists() and not (folder / "diff-4.html").exists()
    diff = (folder / "diff-3.html").read_text()
    removed = set(bodies[1].splitlines()) - set(bodies[2].splitlines())
    added = set(bodies[2].splitlines()) - set(bodies[1].splitlines())
    assert removed or added
    for line in removed:
        assert f'<span class="del">-{escape(line)}</span>' in diff
    for line in added:
        assert f'<span class="add">+{escape(line)}</span>' in diff
    assert 'href="diff-2.html"' in diff  # the older pair
    # The page of the wiki item links to its history, and its record holds every revision.
    (record,) = [i for i in items_of(site) if i["id"] == alpha]
    assert [r["body_text"] for r in record["revisions"]] == bodies
    assert f"items/{html.safe_id(alpha)}/index.html" in (site / record["page"]).read_text()


def test_a_mention_links_to_its_page_unless_the_space_is_withheld(
    public: Path, as_ada: Path, archive: Path
) -> None:
    with db(archive) as conn:
        (ops,) = conn.execute("SELECT id FROM spaces WHERE name = 'ops'").fetchone()
        (bob,) = conn.execute("SELECT id FROM persons WHERE name = 'bob'").fetchone()
        (square,) = conn.execute("SELECT id FROM spaces WHERE name = 'town-square'").fetchone()
    ops_link = f'href="../../{html.space_page(ops)}"'
    bob_link = f'href="../../{html.person_page(bob)}"'
    public_page = (public / html.space_page(square)).read_text()
    member_page = (as_ada / html.space_page(square)).read_text()
    assert ">~ops</a>" in public_page and ops_link not in public_page and html.safe_id(ops) not in public_page
    assert f'<a {ops_link} rel="noopener noreferrer nofollow">~ops</a>' in member_page
    assert f'<a {bob_link} rel="noopener noreferrer nofollow">@bob</a>' in public_page


def test_the_site_speaks_french_when_asked(archive: Path, tmp_path: Path) -> None:
    site = _site(archive, tmp_path / "fr", lang="fr")
    home = (site / "index.html").read_text()
    assert '<html lang="fr">' in home and "Espaces publics" in home and "Plus grands espaces" in home
    assert 'data-no-results="Aucun résultat."' in (site / "search.html").read_text()
    with pytest.raises(BadInputError, match="no language"):
        export(archive, "html", tmp_path / "xx", options={"lang": "xx"})
