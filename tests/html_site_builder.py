"""Build static sites as passerelle's html writer writes them, by hand, from the data-file
contract (/work/briefs/i7b-site-data.md, docs/web.md): ``data/site.js``, ``persons.js``,
``spaces.js``, ``items-00000.js``…, each exactly ``passerelle_data(<JSON>);\\n`` (keys
sorted, compact, UTF-8, ``<``, ``>``, ``&``, U+2028 and U+2029 escaped), the files under
``files/<sha[:2]>/<sha>/<name>``, and one page per space holding each item in an element
whose id is ``item-`` and its archive id. Written with the standard library (and Hypothesis
for ``damaged_sites``), for the reader's and verify's tests; ``Site`` is mutable so a test
can damage one thing and write the rest as it was.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

PREFIX, SUFFIX = b"passerelle_data(", b");\n"
CHUNK_ITEMS = 1_000
PNG = b"\x89PNG\r\n\x1a\n a tiny picture"
PDF = b"%PDF-1.4 the runbook"
T0 = 1_600_000_000_000_000  # microseconds


def data_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def data_file(value: Any) -> bytes:
    return PREFIX + data_json(value).encode("utf-8") + SUFFIX


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def person(pid: str, name: str, **extra: Any) -> dict[str, Any]:
    record = {
        "id": pid,
        "name": name,
        "display_name": name.title(),
        "real_name": None,
        "email": None,
        "is_bot": False,
        "is_deleted": False,
        "is_guest": False,
        "title": None,
    }
    record.update(extra)
    return record


def space(sid: str, name: str, *, members: Sequence[tuple[str, str]] = (), **extra: Any) -> dict[str, Any]:
    record = {
        "id": sid,
        "kind": "public_channel",
        "visibility": "public",
        "name": name,
        "display_name": None,
        "topic": None,
        "purpose": None,
        "parent_id": None,
        "created_at": T0,
        "is_archived": False,
        "members": [{"person_id": p, "role": r} for p, r in members],
    }
    record.update(extra)
    return record


def file_record(fid: str, name: str, data: bytes | None, **extra: Any) -> dict[str, Any]:
    digest = sha256(data) if data is not None else None
    record = {
        "id": fid,
        "name": name,
        "title": None,
        "media_type": "application/octet-stream",
        "size": len(data) if data is not None else None,
        "sha256": digest,
        "missing_reason": None if data is not None else "not in the export",
        "path": f"files/{digest[:2]}/{digest}/{name}" if digest is not None else None,
    }
    record.update(extra)
    return record


def item(
    iid: str, space_id: str, author: str | None, at: int, text: str | None, **extra: Any
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": iid,
        "space_id": space_id,
        "kind": "message",
        "subtype": None,
        "author_id": author,
        "created_at": at,
        "edited_at": None,
        "deleted": False,
        "thread_root_id": None,
        "parent_id": None,
        "also_in_channel": False,
        "pinned": False,
        "title": None,
        "body_format": "slack-mrkdwn" if text is not None else None,
        "body_text": text,
        "reactions": [],
        "files": [],
        "revisions": [],
        "page": f"spaces/{space_id}/index.html",
    }
    record.update(extra)
    return record


def reaction(person_id: str, emoji: str, at: int | None = None) -> dict[str, Any]:
    return {"person_id": person_id, "emoji": emoji, "created_at": at}


def revision(
    rid: str, author: str | None, at: int | None, text: str, comment: str | None = None
) -> dict[str, Any]:
    return {
        "id": rid,
        "author_id": author,
        "created_at": at,
        "comment": comment,
        "body_format": "mediawiki",
        "body_text": text,
    }


@dataclass
class Site:
    persons: list[dict[str, Any]]
    spaces: list[dict[str, Any]]
    items: list[dict[str, Any]]
    blobs: dict[str, bytes] = field(default_factory=dict)  # path -> bytes
    audience: dict[str, Any] = field(default_factory=lambda: {"public": True})
    chunk_items: int = CHUNK_ITEMS
    # Damage a test wants: data file name -> the exact bytes to write instead; paths to leave out.
    replace: dict[str, bytes] = field(default_factory=dict)
    omit: set[str] = field(default_factory=set)
    counts: dict[str, Any] | None = None  # site.js counts as written (None: the true ones)
    extra: dict[str, bytes] = field(default_factory=dict)  # more entries, as they are

    def copy(self) -> Site:
        return copy.deepcopy(self)

    def chunks(self) -> list[list[dict[str, Any]]]:
        n = self.chunk_items
        return [self.items[i : i + n] for i in range(0, len(self.items), n)] or []

    def true_counts(self) -> dict[str, int]:
        file_ids = {f["id"] for i in self.items for f in i["files"]}
        return {
            "persons": len(self.persons),
            "spaces": len(self.spaces),
            "memberships": sum(len(s["members"]) for s in self.spaces),
            "items": len(self.items),
            "reactions": sum(len(i["reactions"]) for i in self.items),
            "files": len(file_ids),
            "revisions": sum(len(i["revisions"]) for i in self.items),
        }

    def entries(self) -> dict[str, bytes]:
        chunks = self.chunks()
        site = {
            "kind": "site",
            "format": "passerelle-html",
            "version": 1,
            "generator": "passerelle test-builder",
            "audience": self.audience,
            "item_chunks": len(chunks),
            "counts": self.counts if self.counts is not None else self.true_counts(),
        }
        out: dict[str, bytes] = {
            "data/site.js": data_file(site),
            "data/persons.js": data_file({"kind": "persons", "records": self.persons}),
            "data/spaces.js": data_file({"kind": "spaces", "records": self.spaces}),
        }
        for n, records in enumerate(chunks):
            out[f"data/items-{n:05d}.js"] = data_file({"kind": "items", "chunk": n, "records": records})
        out["data/search-a.js"] = data_file({"kind": "search", "tokens": {}})
        out.update(self.blobs)
        out["index.html"] = _page(
            "Spaces",
            [
                f'<a href="spaces/{s.get("id")}/index.html">{html.escape(str(s.get("name")))}</a>'
                for s in self.spaces
            ],
        )
        pages: dict[str, list[str]] = {}
        for record in self.items:
            if not isinstance(record.get("page"), str) or not isinstance(record.get("id"), str):
                continue  # a record a test damaged
            text = html.escape(str(record.get("body_text") or ""))
            pages.setdefault(record["page"], []).append(
                f'<article id="item-{html.escape(record["id"])}">{text}</article>'
            )
        for page, articles in pages.items():
            out[page] = _page("Space", articles)
        out["style.css"] = b"body { font-family: sans-serif }\n"
        out.update(self.extra)
        out.update(self.replace)
        return {name: data for name, data in out.items() if name not in self.omit}

    def write(self, dest: Path, *, layout: str = "folder", top: str | None = None) -> Path:
        """The site as a folder, or a zip (its entries at the root, or under ``top``/)."""
        entries = self.entries()
        if layout == "zip":
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
                for name, data in sorted(entries.items()):
                    zf.writestr(f"{top}/{name}" if top else name, data)
            return dest
        for name, data in entries.items():
            path = dest / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return dest


def _page(title: str, body: list[str]) -> bytes:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body>{''.join(body)}</body></html>\n"
    ).encode()


ADA, BOB, GUS = "per_ada", "per_bob", "per_gus"
GENERAL, OPS, WIKI = "spc_general", "spc_ops", "spc_wiki"


def feature_site(audience: dict[str, Any] | None = None) -> Site:
    """A small site with one of everything: a public channel with a thread, reactions, an edited,
    a pinned and a deleted message, a file shared by two messages and one without bytes; a
    private channel (as a member's site would hold it); a wiki page with two revisions; text
    that must survive the script escaping (``</script>``, ``&``, U+2028)."""
    png = file_record("fil_png", "diagram.png", PNG, media_type="image/png", title="The diagram")
    pdf = file_record("fil_pdf", "runbook.pdf", PDF, media_type="application/pdf")
    lost = file_record("fil_lost", "lost.bin", None)
    items = [
        item("itm_a1", GENERAL, ADA, T0 + 1, "hello *world* </script><script>alert(1)</script> & \u2028 done",
             reactions=[reaction(BOB, "+1"), reaction(GUS, "tada", T0 + 5)], files=[png], pinned=True),
        item("itm_a2", GENERAL, BOB, T0 + 2, "a reply", thread_root_id="itm_a1", parent_id="itm_a1",
             also_in_channel=True, files=[png, lost]),
        item("itm_a3", GENERAL, GUS, T0 + 3, "edited text", edited_at=T0 + 10, subtype="thread_broadcast"),
        item("itm_a4", GENERAL, None, T0 + 4, None, deleted=True, subtype="tombstone"),
        item("itm_o1", OPS, ADA, T0 + 6, "the zanzibar runbook", files=[pdf]),
        item("itm_w1", WIKI, ADA, T0 + 7, "= Home =\nwelcome", kind="page", title="Home",
             body_format="mediawiki", page="spaces/spc_wiki/home.html",
             revisions=[revision("rev_w1a", BOB, T0 + 7, "= Home =", "created"),
                        revision("rev_w1b", ADA, T0 + 8, "= Home =\nwelcome")]),
    ]  # fmt: skip
    blobs = {f["path"]: data for f, data in ((png, PNG), (pdf, PDF))}
    return Site(
        persons=[
            person(ADA, "ada", real_name="Ada Lovelace", title="engineer"),
            person(BOB, "bob", is_guest=True),
            person(GUS, "gus", is_bot=True, is_deleted=True),
        ],
        spaces=[
            space(
                GENERAL, "general", members=[(ADA, "admin"), (BOB, "member"), (GUS, "member")], topic="chat"
            ),
            space(OPS, "ops", kind="private_channel", visibility="private", members=[(ADA, "member")]),
            space(WIKI, "wiki", kind="wiki_space", purpose="the wiki", is_archived=True),
        ],
        items=items,
        blobs=blobs,
        audience=audience or {"person_id": ADA},
    )


def generated_site(n_items: int = 2_500, *, chunk_items: int = CHUNK_ITEMS) -> Site:
    """A site of several item chunks (messages over two channels, every tenth with a reaction)."""
    site = feature_site()
    more = [
        item(f"itm_g{n:06d}", GENERAL if n % 2 else OPS, (ADA, BOB, GUS)[n % 3], T0 + 100 + n, f"message {n}",
             reactions=[reaction(ADA, "eyes")] if n % 10 == 0 else [])
        for n in range(n_items)
    ]  # fmt: skip
    site.items = site.items + more
    site.chunk_items = chunk_items
    return site


# -- any damage (Hypothesis) ----------------------------------------------------------------------
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def damaged_sites(draw: st.DrawFn) -> Site:
    """The feature site damaged one to four times: a record's field deleted or replaced by any
    JSON value, or bytes changed anywhere in a data file (site.js keeps the counts it had)."""
    site = feature_site()
    site.counts = site.true_counts()  # what site.js said before the damage
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(
                ["persons", "spaces", "items", "files", "members", "reactions", "counts", "bytes"]
            )
        )
        if kind == "counts":  # site.js's counts: one of them changed, or gone
            counts: dict[str, Any] = dict(site.counts or {})
            key = draw(st.sampled_from(sorted(counts)))
            if draw(st.booleans()):
                del counts[key]
            else:
                counts[key] = draw(_JSON_VALUES)
            site.counts = counts
            continue
        if kind == "bytes":
            name = draw(st.sampled_from(sorted(n for n in site.entries() if n.startswith("data/"))))
            data = site.entries()[name]
            at = draw(st.integers(0, len(data)))
            site.replace[name] = (
                data[:at] + draw(st.binary(max_size=4)) + data[at + draw(st.integers(0, 3)) :]
            )
            continue
        if kind in ("files", "members", "reactions"):
            holders = [
                r
                for r in (site.spaces if kind == "members" else site.items)
                if isinstance(r.get(kind), list) and r[kind]
            ]
            if not holders:
                continue
            records = draw(st.sampled_from(holders))[kind]
        else:
            records = getattr(site, kind)
        records = [r for r in records if isinstance(r, dict) and r]
        if not records:
            continue
        record = draw(st.sampled_from(records))
        key = draw(st.sampled_from(sorted(record)))
        if draw(st.booleans()):
            del record[key]
        else:
            record[key] = draw(_JSON_VALUES)
    return site
