"""The result of a reconciliation: tallies per conversation and measure, and what is unexplained."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from passerelle.verify.links import LinkReport

MAX_LISTED_PROBLEMS = 200
MEASURES = ("messages", "replies", "thread_roots", "reactions", "files", "members")


@dataclass
class Tally:
    """source: records the source holds; archive: found in the archive; explained: absent with a
    diagnostic at that place; unexplained: anything else (a mismatch counts here too)."""

    source: int = 0
    archive: int = 0
    explained: int = 0
    unexplained: int = 0

    def add(self, other: Tally) -> None:
        self.source += other.source
        self.archive += other.archive
        self.explained += other.explained
        self.unexplained += other.unexplained

    def as_dict(self) -> dict[str, int]:
        return {
            "source": self.source,
            "archive": self.archive,
            "explained": self.explained,
            "unexplained": self.unexplained,
        }


@dataclass
class ConversationRow:
    native_id: str
    name: str
    kind: str
    measures: dict[str, Tally] = field(default_factory=dict)
    by_subtype: dict[str, Tally] = field(default_factory=dict)

    def tally(self, measure: str) -> Tally:
        return self.measures.setdefault(measure, Tally())

    def subtype(self, subtype: str) -> Tally:
        return self.by_subtype.setdefault(subtype or "message", Tally())


@dataclass
class VerifyReport:
    source: str
    source_id: str
    kind: str
    totals: dict[str, Tally] = field(default_factory=dict)
    conversations: dict[str, ConversationRow] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    links: LinkReport | None = None  # wiki pages' broken links and missing files: informative

    def tally(self, measure: str) -> Tally:
        return self.totals.setdefault(measure, Tally())

    def conversation(self, native_id: str, name: str, kind: str) -> ConversationRow:
        row = self.conversations.get(native_id)
        if row is None:
            row = self.conversations[native_id] = ConversationRow(native_id, name, kind)
        return row

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(text)

    def overall(self) -> dict[str, Tally]:
        totals = {name: Tally(**t.as_dict()) for name, t in self.totals.items()}
        for row in self.conversations.values():
            for measure, tally in row.measures.items():
                totals.setdefault(measure, Tally()).add(tally)
        return totals

    def by_subtype(self) -> dict[str, Tally]:
        totals: dict[str, Tally] = {}
        for row in self.conversations.values():
            for subtype, tally in row.by_subtype.items():
                totals.setdefault(subtype, Tally()).add(tally)
        return dict(sorted(totals.items()))

    @property
    def ok(self) -> bool:
        return self.problem_count == 0 and all(t.unexplained == 0 for t in self.overall().values())

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "source_id": self.source_id,
            "kind": self.kind,
            "ok": self.ok,
            "totals": {k: v.as_dict() for k, v in sorted(self.overall().items())},
            "by_subtype": {k: v.as_dict() for k, v in self.by_subtype().items()},
            "conversations": [
                {
                    "id": row.native_id,
                    "name": row.name,
                    "kind": row.kind,
                    **{m: row.measures[m].as_dict() for m in MEASURES if m in row.measures},
                    "by_subtype": {k: v.as_dict() for k, v in sorted(row.by_subtype.items())},
                }
                for row in self.conversations.values()
            ],
            "problem_count": self.problem_count,
            "problems": self.problems,
            **({"links": self.links.as_json()} if self.links is not None else {}),
        }

    def render(self, console: Console) -> None:
        table = Table(title=f"verify {self.source}", show_lines=False)
        table.add_column("conversation")
        table.add_column("kind")
        for measure in MEASURES:
            table.add_column(measure, justify="right")

        def cell(t: Tally | None) -> str:
            if t is None or (t.source == 0 and t.archive == 0):
                return "-"
            text = f"{t.archive}/{t.source}"
            if t.explained:
                text += f" +{t.explained}d"
            if t.unexplained:
                text += f" [bold red]!{t.unexplained}[/]"
            return text

        for row in sorted(self.conversations.values(), key=lambda r: (r.kind, r.name)):
            table.add_row(row.name, row.kind, *(cell(row.measures.get(m)) for m in MEASURES))
        totals = self.overall()
        table.add_row("[bold]total[/]", "", *(cell(totals.get(m)) for m in MEASURES))
        console.print(table)
        subtypes = self.by_subtype()
        if subtypes:
            by_subtype = Table("messages by subtype", "found / in source", box=None)
            for subtype, tally in subtypes.items():
                by_subtype.add_row(subtype, cell(tally))
            console.print(by_subtype)
        others = {k: v for k, v in totals.items() if k not in MEASURES}
        for name, t in sorted(others.items()):
            console.print(f"{name}: {cell(t)}")
        console.print("cells: found in archive / in source, +N explained by a diagnostic, !N unexplained")
        for text in self.problems:
            console.print(f"[red]difference[/] {text}", markup=True, highlight=False)
        if self.problem_count > len(self.problems):
            console.print(f"… and {self.problem_count - len(self.problems)} more differences")
        if self.links is not None:
            for line in self.links.lines():
                console.print(line, markup=False, highlight=False)
        verdict = "[green]everything accounted for[/]" if self.ok else "[bold red]unexplained differences[/]"
        console.print(verdict)
