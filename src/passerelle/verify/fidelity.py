"""Round-trip fidelity: compare an archive with an export passerelle wrote from it.

The export is read back with the reader of its format (not with anything the writer
used) into a scratch archive, and the two archives are compared entity by entity and
attribute by attribute, in SQL over both databases, streaming. Entities are paired by
what the output carries: the same id where the target keeps the source's own ids (an
export to the platform the data came from), else the archive id the writer put in the
record (``passerelle.id``), and the person and space keys listed in the export's
manifest. Each difference is *explained* only by a note of the export about that entity
and attribute, or by a rule note (one for every entity alike) whose rule the difference
actually obeys (a time cut to the millisecond, not any time); an absent entity, by a note
that it was lost, or that the space it belongs to was lost whole (a static site's withheld
space: its items, memberships, reactions, revisions, and the files all of whose items it
held); everything else is unexplained and fails the check.
"""

from __future__ import annotations

import contextlib
import importlib
import sqlite3
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from passerelle.archive import DATABASE, Archive
from passerelle.errors import BadInputError
from passerelle.export import MANIFEST, MANIFEST_FORMAT, Manifest, read_manifest
from passerelle.progress import Display, NullDisplay
from passerelle.writers import available_writers
from passerelle.writers.base import ENTITY_TYPES, Note, Outcome

MAX_LISTED_PROBLEMS = 200
UNEXPLAINED = "unexplained"


def _carried(paths: tuple[str, ...], key: str) -> str:
    """SQL for the value of ``key`` (``id``, ``part``) in the first ``passerelle`` object found
    at one of ``paths`` in a re-read item's raw record."""
    # Raw records that are not JSON (a wiki's XML) carry nothing at a JSON path.
    raw = "CASE WHEN json_valid(CAST(o.raw AS TEXT)) THEN CAST(o.raw AS TEXT) END"
    found = [f"json_extract({raw}, '{path}.{key}')" for path in paths]
    return found[0] if len(found) == 1 else f"coalesce({', '.join(found)})"


def rule_checks(writer: str) -> Mapping[str, Callable[[Any, Any], bool]]:
    """The checks of the rules the writer declares: what each rule does to a value."""
    writer_cls = available_writers().get(writer)
    return writer_cls.rule_checks if writer_cls is not None else {}


def is_passerelle_export(path: Path) -> bool:
    return _manifest_bytes(path) is not None


def _manifest_bytes(path: Path) -> bytes | None:
    if path.is_dir():
        manifest = path / MANIFEST
        return manifest.read_bytes() if manifest.is_file() else None
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf, contextlib.suppress(KeyError):
            return zf.read(MANIFEST)
    return None


@dataclass
class EntityFidelity:
    total: int = 0  # in the archive
    carried: int = 0
    adapted: int = 0  # written with differences, each explained by a note
    lost: int = 0  # absent from the output, explained by a note
    unexplained: int = 0
    added: int = 0  # in the output, not in the archive (a target's requirement, e.g. team memberships)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class FidelityReport:
    output: str
    writer: str
    reader: str
    entities: dict[str, EntityFidelity] = field(
        default_factory=lambda: {e: EntityFidelity() for e in ENTITY_TYPES}
    )
    attributes: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (entity, attribute, code)
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    # The wiki link check on both sides (verify/links.py): broken internal links and missing
    # files of the archive's pages, of the output's, and those the export broke (on a page
    # that had fewer); empty when the archive has no wiki pages.
    links: dict[str, int] = field(default_factory=dict)

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(text)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0 and all(e.unexplained == 0 for e in self.entities.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "fidelity",
            "output": self.output,
            "writer": self.writer,
            "reader": self.reader,
            "ok": self.ok,
            "entities": {name: e.as_dict() for name, e in self.entities.items()},
            "attributes": [
                {"entity": e, "attribute": a, "explained_by": c, "count": n}
                for (e, a, c), n in sorted(self.attributes.items())
            ],
            "links": self.links,
            "problem_count": self.problem_count,
            "problems": self.problems,
        }

    def render(self, console: Console) -> None:
        table = Table(title=f"fidelity of {self.output} ({self.writer} writer, read back by {self.reader})")
        for column in ("entity", "in archive", "carried exactly", "adapted", "lost", "unexplained", "added"):
            table.add_column(column, justify="left" if column == "entity" else "right")
        for name, e in self.entities.items():
            bad = f"[bold red]{e.unexplained}[/]" if e.unexplained else "0"
            table.add_row(name, str(e.total), str(e.carried), str(e.adapted), str(e.lost), bad, str(e.added))
        console.print(table)
        if self.attributes:
            detail = Table("entity", "attribute", "explained by", "count", box=None)
            for (entity, attribute, code), n in sorted(self.attributes.items()):
                shown = f"[bold red]{code}[/]" if code == UNEXPLAINED else code
                detail.add_row(entity, attribute, shown, str(n))
            console.print(detail)
        if self.links:
            console.print(
                f"wiki links broken or files missing: {self.links['archive']} in the archive,"
                f" {self.links['output']} in the output, {self.links['broken_by_export']} broken by the export"
            )
        for text in self.problems:
            console.print(f"[red]difference[/] {text}", markup=True, highlight=False)
        if self.problem_count > len(self.problems):
            console.print(f"… and {self.problem_count - len(self.problems)} more differences")
        verdict = (
            "[green]every difference explained[/]" if self.ok else "[bold red]unexplained differences[/]"
        )
        console.print(verdict)


class _Notes:
    """The export's notes, by (entity, entity id) and, for rules, by (entity, attribute)."""

    def __init__(self, notes: list[Note], checks: Mapping[str, Callable[[Any, Any], bool]]) -> None:
        self.checks = checks
        self.by_entity: dict[tuple[str, str], list[Note]] = {}
        self.rules: dict[tuple[str, str | None], list[Note]] = {}
        for note in notes:
            if note.entity_id is None:
                self.rules.setdefault((note.entity, note.attribute), []).append(note)
            else:
                self.by_entity.setdefault((note.entity, note.entity_id), []).append(note)

    def explain(
        self, entity: str, entity_id: str, attribute: str | None, archive: Any, output: Any
    ) -> str | None:
        """The code that explains this difference, or None."""
        for note in self.by_entity.get((entity, entity_id), ()):
            if note.attribute is None or note.attribute == attribute:
                return note.code
        for note in self.rules.get((entity, attribute), ()):
            check = self.checks.get(note.code)
            if check is not None and check(archive, output):
                return note.code
        return None

    def lost_spaces(self) -> list[str]:
        """The spaces a note says were lost whole (a static site's audience may not see them)."""
        return sorted(
            entity_id
            for (entity, entity_id), notes in self.by_entity.items()
            if entity == "space" and any(n.outcome is Outcome.LOST and n.attribute is None for n in notes)
        )

    def lost_with_space(self, space_id: str | None) -> str | None:
        """The code of the note that says this space was lost whole: what it held is lost with it."""
        if space_id is None:
            return None
        for note in self.by_entity.get(("space", space_id), ()):
            if note.outcome is Outcome.LOST and note.attribute is None:
                return note.code
        return None

    def lost(self, entity: str, entity_id: str) -> str | None:
        for note in self.by_entity.get((entity, entity_id), ()):
            if note.outcome is Outcome.LOST and note.attribute is None:
                return note.code
        for note in self.rules.get((entity, None), ()):
            if note.outcome is Outcome.LOST:
                return note.code
        return None


# -- what is compared, per entity type ---------------------------------------------------
# Each query yields (archive id, output id or NULL, then archive and output values of each
# attribute in turn). "P(x)" is the output id paired with archive id x.
_PERSON_ATTRS = ("name", "display_name", "real_name", "email", "is_bot", "is_deleted", "is_guest", "title")
_SPACE_ATTRS = ("kind", "visibility", "name", "display_name", "topic", "purpose", "is_archived")
_ITEM_ATTRS = ("kind", "subtype", "created_at", "edited_at", "deleted", "also_in_channel", "pinned", "title")
_FILE_ATTRS = ("name", "sha256")
_CONTENT = {"item", "reaction", "file", "revision"}


def _pairs(attrs: tuple[str, ...]) -> str:
    return ", ".join(f"a.{c}, o.{c}" for c in attrs)


class _Comparison:
    def __init__(self, conn: sqlite3.Connection, manifest: Manifest, report: FidelityReport) -> None:
        self.conn = conn
        self.manifest = manifest
        self.report = report
        self.notes = _Notes(manifest.notes, rule_checks(manifest.writer))

    def run(self, display: Display) -> None:
        task = display.task("fidelity", total=len(ENTITY_TYPES))
        self._pair()
        for entity, check in (
            ("person", self._persons),
            ("space", self._spaces),
            ("membership", self._memberships),
            ("item", self._items),
            ("reaction", self._reactions),
            ("file", self._files),
            ("revision", self._revisions),
        ):
            check(entity)
            task.advance()

    # -- pairing ------------------------------------------------------------------------
    def _pair(self) -> None:
        c = self.conn
        for kind, mapping in (("person", self.manifest.persons), ("space", self.manifest.spaces)):
            table = f"{kind}s"
            c.execute(f"CREATE TEMP TABLE pair_{kind} (a TEXT PRIMARY KEY, o TEXT NOT NULL) WITHOUT ROWID")
            c.execute(
                f"INSERT OR IGNORE INTO pair_{kind} SELECT a.id, o.id FROM main.{table} a"
                f" JOIN out.{table} o ON o.id = a.id"
            )
            natives = dict(c.execute(f"SELECT native_id, id FROM out.{table}"))
            c.executemany(
                f"INSERT OR IGNORE INTO pair_{kind} VALUES (?, ?)",
                ((a, natives[key]) for a, key in mapping.items() if key in natives),
            )
        writer = available_writers().get(self.manifest.writer)
        paths = writer.info.carried_at if writer is not None else ("$.passerelle",)
        # Every output item that stands for an archive item (a split message has several);
        # the first part is its pair.
        c.execute("CREATE TEMP TABLE item_parts (a TEXT NOT NULL, o TEXT PRIMARY KEY, part INTEGER NOT NULL)")
        c.execute(
            "INSERT INTO item_parts SELECT o.id, o.id, 1 FROM out.items o JOIN main.items a ON a.id = o.id"
        )
        c.execute(
            "INSERT OR IGNORE INTO item_parts SELECT carried, id, coalesce(part, 1) FROM"
            f" (SELECT o.id, {_carried(paths, 'id')} AS carried, {_carried(paths, 'part')} AS part FROM out.items o)"
            " WHERE carried IS NOT NULL AND carried IN (SELECT id FROM main.items)"
        )
        # Targets with no place for archive ids (a MediaWiki dump): the manifest names the
        # output's native id of each archive item (a page id), and of the item that holds each
        # file written as an item of its own (a File: page).
        c.execute("CREATE TEMP TABLE manifest_item (a TEXT PRIMARY KEY, native TEXT NOT NULL) WITHOUT ROWID")
        c.executemany("INSERT INTO manifest_item VALUES (?, ?)", self.manifest.items.items())
        c.execute(
            "INSERT OR IGNORE INTO item_parts SELECT m.a, o.id, 1 FROM manifest_item m"
            " JOIN out.items o ON o.native_id = m.native WHERE m.a IN (SELECT id FROM main.items)"
            " ORDER BY o.kind != 'page', o.id"
        )
        c.execute("CREATE TEMP TABLE file_item (a TEXT PRIMARY KEY, native TEXT NOT NULL) WITHOUT ROWID")
        c.executemany("INSERT INTO file_item VALUES (?, ?)", self.manifest.files.items())
        # Items the target needs for its structure (a page holding rights): never "added" content.
        c.execute("CREATE TEMP TABLE structure_items (native TEXT PRIMARY KEY) WITHOUT ROWID")
        c.executemany(
            "INSERT OR IGNORE INTO structure_items VALUES (?)", ((n,) for n in self.manifest.structure)
        )
        c.execute("CREATE TEMP TABLE file_items (o TEXT PRIMARY KEY) WITHOUT ROWID")
        c.execute(
            "INSERT OR IGNORE INTO file_items SELECT o.id FROM out.items o"
            " WHERE o.native_id IN (SELECT native FROM file_item) AND o.id NOT IN (SELECT o FROM item_parts)"
        )
        c.execute("CREATE TEMP TABLE pair_item (a TEXT PRIMARY KEY, o TEXT NOT NULL) WITHOUT ROWID")
        c.execute("INSERT OR IGNORE INTO pair_item SELECT a, o FROM item_parts ORDER BY part, o")
        c.execute("CREATE INDEX temp.item_parts_a ON item_parts (a)")
        # Files: the same id, or on a paired item (or one of its parts) the same bytes (the
        # same name when neither side has bytes); loose files by their native id.
        c.execute("CREATE TEMP TABLE pair_file (a TEXT PRIMARY KEY, o TEXT NOT NULL) WITHOUT ROWID")
        c.execute(
            "INSERT OR IGNORE INTO pair_file SELECT a.id, o.id FROM main.files a JOIN out.files o ON o.id = a.id"
        )
        c.execute(
            "INSERT OR IGNORE INTO pair_file SELECT fa.id, fo.id FROM main.item_files ia"
            " JOIN main.files fa ON fa.id = ia.file_id JOIN item_parts p ON p.a = ia.item_id"
            " JOIN out.item_files io ON io.item_id = p.o JOIN out.files fo ON fo.id = io.file_id"
            " WHERE fo.sha256 IS fa.sha256 AND (fa.sha256 IS NOT NULL OR fo.name IS fa.name)"
            " AND fo.id NOT IN (SELECT o FROM pair_file) ORDER BY p.part, io.position"
        )
        c.execute(
            "INSERT OR IGNORE INTO pair_file SELECT a.id, o.id FROM main.files a JOIN out.files o"
            " ON o.native_id = a.native_id AND o.native_id LIKE 'emoji:%'"
        )
        # A file written on an item of its own (a File: page): that item's file with the same bytes.
        c.execute(
            "INSERT OR IGNORE INTO pair_file SELECT fa.id, fo.id FROM file_item m"
            " JOIN main.files fa ON fa.id = m.a JOIN out.items oi ON oi.native_id = m.native"
            " JOIN out.item_files io ON io.item_id = oi.id JOIN out.files fo ON fo.id = io.file_id"
            " WHERE oi.id IN (SELECT o FROM file_items) AND fo.sha256 IS fa.sha256"
            " AND (fa.sha256 IS NOT NULL OR fo.name IS fa.name)"
            " AND fo.id NOT IN (SELECT o FROM pair_file) ORDER BY io.position"
        )
        # A file of no item that the writer attached to a page the manifest names (a XAR
        # attaches a DokuWiki medium to the page embedding it): that page's file, same bytes.
        c.execute(
            "INSERT OR IGNORE INTO pair_file SELECT fa.id, fo.id FROM file_item m"
            " JOIN main.files fa ON fa.id = m.a JOIN out.items oi ON oi.native_id = m.native"
            " JOIN item_parts p ON p.o = oi.id"
            " JOIN out.item_files io ON io.item_id = oi.id JOIN out.files fo ON fo.id = io.file_id"
            " WHERE fo.sha256 IS fa.sha256 AND (fa.sha256 IS NOT NULL OR fo.name IS fa.name)"
            " AND fo.id NOT IN (SELECT o FROM pair_file) ORDER BY io.position"
        )
        # Spaces lost whole, and the files every item of which is in one of them: what they
        # held is absent with them, explained by the space's note and nothing else.
        c.execute("CREATE TEMP TABLE lost_space (id TEXT PRIMARY KEY) WITHOUT ROWID")
        c.executemany("INSERT INTO lost_space VALUES (?)", ((s,) for s in self.notes.lost_spaces()))
        c.execute("CREATE TEMP TABLE lost_file (id TEXT PRIMARY KEY, space TEXT NOT NULL) WITHOUT ROWID")
        if self.notes.lost_spaces():
            c.execute(
                "INSERT INTO lost_file SELECT x.file_id, min(i.space_id) FROM main.item_files x"
                " JOIN main.items i ON i.id = x.item_id GROUP BY x.file_id"
                " HAVING count(*) = sum(i.space_id IN (SELECT id FROM lost_space))"
            )
        # Revisions by the output's revision id the manifest names, on the paired item.
        c.execute(
            "CREATE TEMP TABLE manifest_revision (a TEXT PRIMARY KEY, native TEXT NOT NULL) WITHOUT ROWID"
        )
        c.executemany("INSERT INTO manifest_revision VALUES (?, ?)", self.manifest.revisions.items())

    # -- the link check ---------------------------------------------------------------------
    def links(self, archive_db: Path, output_db: Path) -> None:
        """Broken internal links and missing files per page, in the archive and in the output:
        a page of the output with more than its archive page had lost links in the export,
        a problem unless a note of the export about the page's ``links`` explains it."""
        try:
            links = importlib.import_module("passerelle.verify.links")
        except ImportError:  # the link check is not there
            return
        broken_links, has_wiki_pages = links.broken_links, links.has_wiki_pages
        c = self.conn
        for side, database in (("a", archive_db), ("o", output_db)):
            c.execute(
                f"CREATE TEMP TABLE broken_{side} (page TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID"
            )
            own = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
            try:
                if side == "a" and not has_wiki_pages(own):
                    return
                for link in broken_links(own):
                    c.execute(
                        f"INSERT INTO broken_{side} VALUES (?, 1) ON CONFLICT (page) DO UPDATE SET n = n + 1",
                        (link.page_id,),
                    )
            finally:
                own.close()
        total = {
            side: int(c.execute(f"SELECT coalesce(sum(n), 0) FROM broken_{side}").fetchone()[0])
            for side in "ao"
        }
        broke = 0
        rows = c.execute(
            "SELECT p.a, o.n - coalesce(a.n, 0) FROM broken_o o JOIN pair_item p ON p.o = o.page"
            " LEFT JOIN broken_a a ON a.page = p.a WHERE o.n > coalesce(a.n, 0) ORDER BY p.a"
        )
        for item, more in rows:
            code = self.notes.explain("item", item, "links", None, None)
            if code is not None:
                self.report.attributes[("item", "links", code)] += 1
                continue
            broke += more
            self.report.attributes[("item", "links", UNEXPLAINED)] += 1
            self.report.problem(f"item {item}: {more} internal link(s) or file(s) broken by the export")
        self.report.links = {"archive": total["a"], "output": total["o"], "broken_by_export": broke}

    # -- one function per entity type ------------------------------------------------------
    def _account(
        self,
        entity: str,
        rows: Iterator[tuple[Any, ...]],
        attrs: tuple[str, ...],
        *,
        label: str = "",
        within: bool = False,
    ) -> None:
        """``within``: each row ends with the archive space the entity is in (for a file: a
        lost space all its items are in), whose note of loss explains its absence."""
        tally = self.report.entities[entity]
        notes = self.notes
        for row in rows:
            a_id, o_id = row[0], row[1]
            tally.total += 1
            if o_id is None:
                code = notes.lost(entity, a_id)
                if code is None and within:
                    code = notes.lost_with_space(row[-1])
                if code is not None:
                    tally.lost += 1
                    self.report.attributes[(entity, "(whole)", code)] += 1
                else:
                    tally.unexplained += 1
                    self.report.attributes[(entity, "(whole)", UNEXPLAINED)] += 1
                    self.report.problem(f"{entity} {label}{a_id} is not in the output")
                continue
            differences = 0
            unexplained = False
            for i, attr in enumerate(attrs):
                a, o = row[2 + 2 * i], row[3 + 2 * i]
                if a == o or _equivalent(attr, a, o):
                    continue
                differences += 1
                code = notes.explain(entity, a_id, attr, a, o)
                self.report.attributes[(entity, attr, code or UNEXPLAINED)] += 1
                if code is None:
                    unexplained = True
                    self.report.problem(f"{entity} {label}{a_id}: {attr} {_short(a)} became {_short(o)}")
            if unexplained:
                tally.unexplained += 1
            elif differences:
                tally.adapted += 1
            else:
                tally.carried += 1

    def _added(self, entity: str, sql: str) -> None:
        added = int(self.conn.execute(sql).fetchone()[0])
        tally = self.report.entities[entity]
        tally.added = added
        if added and entity in _CONTENT:
            # A target may need persons, spaces or memberships the archive lacks (a team, its
            # members); it must never gain messages, reactions or files nobody wrote.
            tally.unexplained += added
            self.report.attributes[(entity, "(added)", UNEXPLAINED)] += added
            self.report.problem(f"{added} {entity}(s) in the output stand for nothing in the archive")

    def _persons(self, entity: str) -> None:
        rows = self.conn.execute(
            f"SELECT a.id, o.id, {_pairs(_PERSON_ATTRS)} FROM main.persons a"
            " LEFT JOIN pair_person p ON p.a = a.id LEFT JOIN out.persons o ON o.id = p.o ORDER BY a.id"
        )
        self._account(entity, rows, _PERSON_ATTRS)
        self._added(entity, "SELECT count(*) FROM out.persons WHERE id NOT IN (SELECT o FROM pair_person)")

    def _spaces(self, entity: str) -> None:
        attrs = (*_SPACE_ATTRS, "parent_id")
        rows = self.conn.execute(
            f"SELECT a.id, o.id, {_pairs(_SPACE_ATTRS)},"
            # A parent lost whole (withheld from a site) that the output names by its archive id.
            " coalesce((SELECT o FROM pair_space WHERE a = a.parent_id),"
            " (SELECT id FROM lost_space WHERE id = a.parent_id)), o.parent_id FROM main.spaces a"
            " LEFT JOIN pair_space p ON p.a = a.id LEFT JOIN out.spaces o ON o.id = p.o ORDER BY a.id"
        )
        self._account(entity, rows, attrs)
        self._added(entity, "SELECT count(*) FROM out.spaces WHERE id NOT IN (SELECT o FROM pair_space)")

    def _memberships(self, entity: str) -> None:
        rows = self.conn.execute(
            "SELECT a.space_id || '/' || a.person_id, CASE WHEN o.space_id IS NULL THEN NULL"
            " ELSE o.space_id || '/' || o.person_id END, a.role, o.role, a.space_id FROM main.memberships a"
            " LEFT JOIN pair_space s ON s.a = a.space_id LEFT JOIN pair_person p ON p.a = a.person_id"
            " LEFT JOIN out.memberships o ON o.space_id = s.o AND o.person_id = p.o"
            " ORDER BY a.space_id, a.person_id"
        )
        self._account(entity, rows, ("role",), within=True)
        self._added(
            entity,
            "SELECT count(*) FROM out.memberships o WHERE NOT EXISTS (SELECT 1 FROM main.memberships a"
            " JOIN pair_space s ON s.a = a.space_id JOIN pair_person p ON p.a = a.person_id"
            " WHERE s.o = o.space_id AND p.o = o.person_id)",
        )

    def _items(self, entity: str) -> None:
        attrs = (*_ITEM_ATTRS, "space_id", "author_id", "thread_root_id", "body", "files")
        body = (
            # NULL when no part has a body (a page whose text is suppressed), not the empty text.
            "(SELECT CASE WHEN count(x.body_text) > 0 THEN group_concat(coalesce(x.body_text, ''), char(10)) END"
            " FROM"
            " (SELECT oi.body_text FROM item_parts ip JOIN out.items oi ON oi.id = ip.o"
            " WHERE ip.a = a.id ORDER BY ip.part) x)"
        )
        files = (
            "(SELECT group_concat(coalesce(f.sha256, f.name), ' ') FROM (SELECT f.sha256, f.name FROM"
            " {side}.item_files x JOIN {side}.files f ON f.id = x.file_id WHERE x.item_id {where}"
            " ORDER BY {order}) f)"
        )
        a_files = files.format(side="main", where="= a.id", order="x.position")
        o_files = files.format(
            side="out",
            where="IN (SELECT o FROM item_parts WHERE a = a.id)",
            order="(SELECT part FROM item_parts WHERE o = x.item_id), x.position",
        )
        rows = self.conn.execute(
            f"SELECT a.id, o.id, {_pairs(_ITEM_ATTRS)},"
            " (SELECT o FROM pair_space WHERE a = a.space_id), o.space_id,"
            " (SELECT o FROM pair_person WHERE a = a.author_id), o.author_id,"
            # A root outside the archive (a dangling id) pairs with itself: carried as it is.
            " coalesce((SELECT o FROM pair_item WHERE a = a.thread_root_id), CASE WHEN a.thread_root_id"
            " NOT IN (SELECT id FROM main.items) THEN a.thread_root_id END), o.thread_root_id,"
            f" a.body_text, CASE WHEN o.id IS NULL THEN NULL ELSE {body} END,"
            f" {a_files}, CASE WHEN o.id IS NULL THEN NULL ELSE {o_files} END, a.space_id"
            " FROM main.items a LEFT JOIN pair_item p ON p.a = a.id LEFT JOIN out.items o ON o.id = p.o"
            " ORDER BY a.id"
        )
        self._account(entity, rows, attrs, within=True)
        self._added(
            entity,
            "SELECT count(*) FROM out.items WHERE id NOT IN (SELECT o FROM item_parts)"
            " AND id NOT IN (SELECT o FROM file_items)"
            " AND native_id NOT IN (SELECT native FROM structure_items)",
        )

    def _reactions(self, entity: str) -> None:
        rows = self.conn.execute(
            "SELECT a.item_id || '/' || a.person_id || '/' || a.emoji, CASE WHEN o.item_id IS NULL"
            " THEN NULL ELSE o.item_id || '/' || o.person_id || '/' || o.emoji END, a.emoji, o.emoji,"
            " a.created_at, o.created_at, i.o, p.o,"
            " CASE WHEN o.item_id IS NULL THEN (SELECT space_id FROM main.items WHERE id = a.item_id) END"
            " FROM main.reactions a LEFT JOIN pair_item i ON i.a = a.item_id"
            " LEFT JOIN pair_person p ON p.a = a.person_id"
            " LEFT JOIN out.reactions o ON o.item_id = i.o AND o.person_id = p.o AND o.emoji = a.emoji"
            " ORDER BY a.item_id, a.person_id, a.emoji"
        )
        matched = 0

        def paired() -> Iterator[tuple[Any, ...]]:
            # A reaction whose emoji the target writes in its own notation (a skin tone) pairs
            # with the paired person's reaction on the paired item whose emoji obeys that rule.
            nonlocal matched
            for a_id, o_id, a_emoji, o_emoji, a_time, o_time, item, person, space in rows:
                if o_id is None and item is not None and person is not None:
                    for emoji, time in self.conn.execute(
                        "SELECT emoji, created_at FROM out.reactions WHERE item_id = ? AND person_id = ?"
                        " ORDER BY emoji",
                        (item, person),
                    ):
                        if self.notes.explain("reaction", a_id, "emoji", a_emoji, emoji):
                            o_id, o_emoji, o_time = f"{item}/{person}/{emoji}", emoji, time
                            break
                matched += o_id is not None
                yield a_id, o_id, a_emoji, o_emoji, a_time, o_time, space

        self._account(entity, paired(), ("emoji", "created_at"), within=True)
        total = int(self.conn.execute("SELECT count(*) FROM out.reactions").fetchone()[0])
        self._added(entity, f"SELECT {total - matched}")

    def _files(self, entity: str) -> None:
        rows = self.conn.execute(
            f"SELECT a.id, o.id, {_pairs(_FILE_ATTRS)}, lf.space FROM main.files a"
            " LEFT JOIN pair_file p ON p.a = a.id LEFT JOIN out.files o ON o.id = p.o"
            " LEFT JOIN lost_file lf ON lf.id = a.id ORDER BY a.id"
        )
        self._account(entity, rows, _FILE_ATTRS, within=True)
        self._added(entity, "SELECT count(*) FROM out.files WHERE id NOT IN (SELECT o FROM pair_file)")

    def _revisions(self, entity: str) -> None:
        # Paired by the output's revision id the manifest names (then their text, author and
        # time are compared), else by the same body on the paired item (nothing more to
        # compare). Pairs are made in a temporary table through indexes: a page of thousands
        # of revisions must not be searched once per revision.
        c = self.conn
        c.execute(
            "CREATE TEMP TABLE out_revision AS SELECT id, item_id, native_id, length(body_source) AS n"
            " FROM out.revisions"
        )
        c.execute("CREATE INDEX temp.out_revision_native ON out_revision (item_id, native_id)")
        c.execute("CREATE INDEX temp.out_revision_length ON out_revision (item_id, n)")
        c.execute("CREATE TEMP TABLE pair_revision (a TEXT PRIMARY KEY, o TEXT NOT NULL, m INTEGER NOT NULL)")
        # A target that keeps the archive's revision ids (a static site): the same id on the paired item.
        c.execute(
            "INSERT OR IGNORE INTO pair_revision SELECT a.id, o.id, 1 FROM main.revisions a"
            " JOIN out.revisions o ON o.id = a.id JOIN pair_item i ON i.a = a.item_id AND i.o = o.item_id"
        )
        c.execute(
            "INSERT OR IGNORE INTO pair_revision SELECT m.a, o.id, 1 FROM manifest_revision m"
            " JOIN main.revisions a ON a.id = m.a JOIN pair_item i ON i.a = a.item_id"
            " JOIN out_revision o ON o.item_id = i.o AND o.native_id = m.native ORDER BY o.id"
        )
        writer = available_writers().get(self.manifest.writer)
        if writer is not None and writer.info.revisions_by_native:
            # Revisions the manifest does not list kept their native id.
            c.execute(
                "INSERT OR IGNORE INTO pair_revision SELECT a.id, o.id, 1 FROM main.revisions a"
                " JOIN pair_item i ON i.a = a.item_id"
                " JOIN out_revision o ON o.item_id = i.o AND o.native_id = a.native_id"
                " WHERE a.id NOT IN (SELECT a FROM manifest_revision) ORDER BY o.id"
            )
        c.execute(
            "INSERT OR IGNORE INTO pair_revision SELECT a.id, o.id, 0 FROM main.revisions a"
            " JOIN pair_item i ON i.a = a.item_id"
            " JOIN out_revision o ON o.item_id = i.o AND o.n IS length(a.body_source)"
            " JOIN out.revisions ob ON ob.id = o.id AND ob.body_source IS a.body_source"
            " WHERE a.id NOT IN (SELECT a FROM pair_revision) ORDER BY o.id"
        )
        rows = c.execute(
            "SELECT a.id, p.o, CASE WHEN p.m THEN a.body_text END, CASE WHEN p.m THEN o.body_text END,"
            " CASE WHEN p.m THEN (SELECT o FROM pair_person WHERE a = a.author_id) END,"
            " CASE WHEN p.m THEN o.author_id END, CASE WHEN p.m THEN a.created_at END,"
            " CASE WHEN p.m THEN o.created_at END,"
            " CASE WHEN p.o IS NULL THEN (SELECT space_id FROM main.items WHERE id = a.item_id) END"
            " FROM main.revisions a LEFT JOIN pair_revision p ON p.a = a.id"
            " LEFT JOIN out.revisions o ON o.id = p.o ORDER BY a.id"
        )
        self._account(entity, rows, ("body", "author_id", "created_at"), within=True)


def _equivalent(attribute: str, archive: Any, output: Any) -> bool:
    if attribute == "body" and isinstance(archive, str) and isinstance(output, str):
        return archive.strip() == output.strip()
    return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def verify_export(archive: Archive, output: Path, display: Display | None = None) -> FidelityReport:
    from passerelle.ingest import ingest

    display = display or NullDisplay()
    data = _manifest_bytes(output)
    if data is None:
        raise BadInputError(f"{output} is not an export written by passerelle (no {MANIFEST})")
    try:
        manifest = read_manifest(data)
    except Exception as exc:
        raise BadInputError(f"{output}: {MANIFEST} cannot be read: {exc}") from None
    if manifest.format != MANIFEST_FORMAT:
        raise BadInputError(f"{output}: {MANIFEST} is not a passerelle export manifest")
    report = FidelityReport(str(output), manifest.writer, manifest.reader)
    with tempfile.TemporaryDirectory(prefix="passerelle-verify-") as scratch:
        reread = Path(scratch) / "reread"
        ingest([output], reread, format=manifest.reader, display=display)
        conn = sqlite3.connect(f"file:{archive.root / DATABASE}?mode=ro", uri=True)
        try:
            conn.execute("ATTACH DATABASE ? AS out", (f"file:{reread / DATABASE}?mode=ro",))
            comparison = _Comparison(conn, manifest, report)
            comparison.run(display)
            comparison.links(archive.root / DATABASE, reread / DATABASE)
            if manifest.reader == "html":  # a static site: whole, and for its audience only
                from passerelle.verify.html import check_export

                check_export(archive, output, manifest, report)
        finally:
            conn.close()
    return report
