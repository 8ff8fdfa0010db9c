"""What every writer provides, and what it writes into. A writer knows the model and its
target format, never a reader.

A writer reads the archive through ``ArchiveView`` and writes files into an ``Output``
(a zip, a folder, or nothing at all for ``--dry-run``). Whatever the target cannot carry
exactly, it says in the ``ExportLog``: per entity (this message was split) or, for an
adaptation that applies to every entity of a type alike, once as a rule (Mattermost
keeps milliseconds). The log's tally is the pre-flight table and the basis of the
fidelity check in ``verify``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, Any, ClassVar, Protocol

import msgspec

from passerelle.archive.view import ArchiveView
from passerelle.progress import Display

ENTITY_TYPES = ("person", "space", "membership", "item", "reaction", "file", "revision")
# The archive table of each entity type the tally counts.
ENTITY_TABLES = {entity: f"{entity}s" for entity in ENTITY_TYPES}


class Outcome(StrEnum):
    CARRIED = "carried"  # exactly
    ADAPTED = "adapted"  # written, with a difference the target forced, said in a note
    LOST = "lost"  # not written, said in a note


@dataclass(frozen=True)
class WriterOption:
    name: str
    help: str
    default: str | None = None


@dataclass(frozen=True)
class WriterInfo:
    name: str
    description: str
    keeps: tuple[str, ...]
    cannot_carry: tuple[str, ...]
    reader: str  # the reader that reads this writer's output back (for verify)
    options: tuple[WriterOption, ...] = ()
    # Where, in the raw record that reader keeps for a written message, the writer's
    # ``passerelle`` object (``id``: the archive item; ``part``: of a split message) is:
    # how verify pairs what it reads back with the archive.
    carried_at: tuple[str, ...] = ("$.passerelle",)
    # The output keeps the archive's native revision ids (a wiki dump written from its own
    # records), except those the export's manifest lists: verify pairs the other revisions by
    # their native id on the paired item, and compares them.
    revisions_by_native: bool = False


class Note(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """A typed diagnostic of an export: what the target forced on one entity, or on all
    entities of a type alike (a rule: ``entity_id`` is None and ``count`` says how many)."""

    code: str
    entity: str  # one of ENTITY_TYPES
    outcome: Outcome
    message: str
    where: str = ""  # in the output: "import.jsonl#12", "general/2020-01-01.json"
    entity_id: str | None = None
    attribute: str | None = None  # None: the whole entity (lost), or several attributes
    original: str | None = None  # the value the archive holds, where it helps to see it
    count: int = 1


class Output(Protocol):
    """Where a writer's files go."""

    def open(self, name: str) -> IO[bytes]:
        """A member to stream into; close it before opening another."""
        ...

    def write_bytes(self, name: str, data: bytes) -> None: ...

    def write_blob(self, name: str, sha256: str) -> bool:
        """Copy a blob's bytes from the archive; False when the archive lacks them."""
        ...


RuleCheck = Callable[[Any, Any], bool]


class Writer(Protocol):
    info: ClassVar[WriterInfo]
    version: ClassVar[str]
    # For each rule note (one note for every entity alike), what the rule does: given the
    # archive's value and the value read back from the output, is this difference the rule's?
    # verify explains a difference by a rule only when its check says so.
    rule_checks: ClassVar[Mapping[str, RuleCheck]]

    def __init__(self, options: Mapping[str, str]) -> None: ...

    def write(self, view: ArchiveView, out: Output, log: ExportLog, display: Display) -> None:
        """Write every entity of the archive the target can hold; account for each in ``log``."""
        ...


@dataclass
class ExportLog:
    """The account of one export: a tally per entity type and outcome, and the notes."""

    tally: dict[str, Counter[str]] = field(default_factory=lambda: {e: Counter() for e in ENTITY_TYPES})
    notes: list[Note] = field(default_factory=list)
    persons: dict[str, str] = field(default_factory=dict)  # archive id -> the target's key
    spaces: dict[str, str] = field(default_factory=dict)
    # For targets that cannot carry the archive's ids in their records (a wiki dump): the
    # target's native id of what each archive item, revision and file became.
    items: dict[str, str] = field(default_factory=dict)  # archive item id -> the output item's native id
    revisions: dict[str, str] = field(default_factory=dict)  # archive revision id -> the output's
    files: dict[str, str] = field(default_factory=dict)  # archive file id -> native id of the item holding it
    # Output native ids of items the target needs that stand for no archive item (an XWiki
    # WebPreferences page holding a private space's view rights): not counted as added.
    structure: list[str] = field(default_factory=list)
    _rules: dict[tuple[str, str, str | None], int] = field(default_factory=dict)

    def carried(self, entity: str, n: int = 1) -> None:
        self.tally[entity][Outcome.CARRIED] += n

    def account(self, entity: str, notes: list[Note]) -> Outcome:
        """Record one entity's outcome from the notes made while writing it."""
        outcome = Outcome.CARRIED
        for note in notes:
            if note.outcome is Outcome.LOST and note.attribute is None:
                outcome = Outcome.LOST
            elif outcome is Outcome.CARRIED:
                outcome = Outcome.ADAPTED
            if note.entity_id is None:
                self._count_rule(note)
            else:
                self.notes.append(note)
        self.tally[entity][outcome] += 1
        return outcome

    def note(self, entity: str, notes: list[Note]) -> None:
        """Notes about an entity counted elsewhere (or not an entity of the tally)."""
        for n in notes:
            if n.entity_id is None:
                self._count_rule(n)
            else:
                self.notes.append(n)

    def _count_rule(self, note: Note) -> None:
        key = (note.code, note.entity, note.attribute)
        if key not in self._rules:
            self._rules[key] = len(self.notes)
            self.notes.append(note)
        else:
            at = self._rules[key]
            self.notes[at] = msgspec.structs.replace(self.notes[at], count=self.notes[at].count + note.count)

    def codes(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for n in self.notes:
            counts[n.code] += n.count
        return counts
