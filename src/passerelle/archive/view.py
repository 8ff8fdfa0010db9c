"""Streaming read access to an archive, as canonical records: what writers and verify read.

Every iterator runs one SQL query and yields as it goes, so memory does not grow with the
archive. A message comes with its reactions and the ids of its files, gathered by SQLite
(correlated subqueries on primary keys), not by a query per message from Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from passerelle.archive import Archive
from passerelle.model.entities import (
    Body,
    File,
    Item,
    ItemKind,
    Membership,
    Person,
    Reaction,
    Reference,
    Space,
    SpaceKind,
    Visibility,
)

_REFS = msgspec.json.Decoder(tuple[Reference, ...])
_REACTIONS = msgspec.json.Decoder(list[tuple[str, str, int | None]])
_FILE_IDS = msgspec.json.Decoder(list[str])

_PERSON_COLUMNS = list(Person.__struct_fields__)
_SPACE_COLUMNS = list(Space.__struct_fields__)
_FILE_COLUMNS = list(File.__struct_fields__)
_ITEM_FIELDS = Item.__struct_fields__
_ITEM_COLUMNS = [
    f"i.{c}"
    for f in _ITEM_FIELDS
    for c in (("body_format", "body_source", "body_text", "body_refs") if f == "body" else (f,))
]
_BODY_AT = _ITEM_FIELDS.index("body")
_EXTRAS = (
    # Reactions, in a stable order, as [person_id, emoji, created_at]; NULL when there are none.
    "(SELECT json_group_array(json_array(person_id, emoji, created_at)) FROM"
    " (SELECT person_id, emoji, created_at FROM reactions WHERE item_id = i.id ORDER BY person_id, emoji)"
    " HAVING count(*) > 0)",
    "(SELECT json_group_array(file_id) FROM"
    " (SELECT file_id FROM item_files WHERE item_id = i.id ORDER BY position) HAVING count(*) > 0)",
)


@dataclass(frozen=True, slots=True)
class Message:
    """An item with what hangs on it."""

    item: Item
    reactions: tuple[Reaction, ...] = ()
    file_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Thread:
    """A message and, when it is a thread's root, its replies in time order. ``orphan`` marks
    replies whose root is not in the archive (they come one per Thread, as their own root)."""

    root: Message
    replies: tuple[Message, ...] = ()
    orphan: bool = False


def _quoted(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


class ArchiveView:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self._conn = archive.store.conn

    # -- small tables -----------------------------------------------------------
    def persons(self) -> Iterator[Person]:
        for row in self._conn.execute(f"SELECT {_quoted(_PERSON_COLUMNS)} FROM persons ORDER BY id"):
            yield Person(**dict(zip(_PERSON_COLUMNS, _booleans(row, Person), strict=True)))

    def spaces(self) -> Iterator[Space]:
        for row in self._conn.execute(f"SELECT {_quoted(_SPACE_COLUMNS)} FROM spaces ORDER BY id"):
            values = dict(zip(_SPACE_COLUMNS, _booleans(row, Space), strict=True))
            values["kind"] = SpaceKind(values["kind"])
            values["visibility"] = Visibility(values["visibility"])
            yield Space(**values)

    def memberships(self) -> Iterator[Membership]:
        for space, person, role, origin in self._conn.execute(
            "SELECT space_id, person_id, role, origin FROM memberships ORDER BY space_id, person_id"
        ):
            yield Membership(space_id=space, person_id=person, role=role, origin=origin)

    def members(self, space_id: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT person_id FROM memberships WHERE space_id = ? ORDER BY person_id", (space_id,)
        )
        return [r[0] for r in rows]

    def files(self, ids: Sequence[str] | None = None) -> Iterator[File]:
        sql = f"SELECT {_quoted(_FILE_COLUMNS)} FROM files"
        if ids is None:
            rows = self._conn.execute(sql + " ORDER BY id")
        else:
            rows = self._conn.execute(sql + f" WHERE id IN ({','.join('?' * len(ids))})", tuple(ids))
        for row in rows:
            yield File(**dict(zip(_FILE_COLUMNS, row, strict=True)))

    def loose_files(self) -> Iterator[File]:
        """Files attached to no item (custom emoji, leftovers of a source)."""
        sql = f"SELECT {_quoted(_FILE_COLUMNS)} FROM files f WHERE NOT EXISTS"
        for row in self._conn.execute(sql + " (SELECT 1 FROM item_files WHERE file_id = f.id) ORDER BY id"):
            yield File(**dict(zip(_FILE_COLUMNS, row, strict=True)))

    def count(self, table: str, where: str = "1", params: Sequence[Any] = ()) -> int:
        return int(self._conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchone()[0])

    def revision_counts(self) -> Iterator[tuple[str, int]]:
        """(item id, number of revisions) for items that have any."""
        yield from self._conn.execute(
            "SELECT item_id, count(*) FROM revisions GROUP BY item_id ORDER BY item_id"
        )

    # -- items --------------------------------------------------------------------
    def messages(self, space_id: str) -> Iterator[Message]:
        """A space's items in time order (replies among them, at their own time)."""
        sql = (
            f"SELECT {', '.join(_ITEM_COLUMNS)}, {', '.join(_EXTRAS)} FROM items i"
            " WHERE i.space_id = ? ORDER BY i.created_at, i.id"
        )
        for row in self._conn.execute(sql, (space_id,)):
            yield _message(row)

    def threads(self, space_id: str) -> Iterator[Thread]:
        """A space's threads in the order of their roots, each root with its replies."""
        # Rows come sorted by their thread's root time, so each thread's rows are consecutive:
        # memory holds one thread at a time, however large the space.
        sql = (
            f"SELECT {', '.join(_ITEM_COLUMNS)}, {', '.join(_EXTRAS)}, r.id IS NULL FROM items i"
            " LEFT JOIN items r ON r.id = i.thread_root_id AND r.space_id = i.space_id"
            " WHERE i.space_id = ?"
            " ORDER BY coalesce(r.created_at, i.created_at), coalesce(r.id, i.id),"
            " i.thread_root_id IS NOT NULL AND r.id IS NOT NULL, i.created_at, i.id"
        )
        root: Message | None = None
        replies: list[Message] = []
        for row in self._conn.execute(sql, (space_id,)):
            message = _message(row[:-1])
            root_missing = bool(row[-1])
            item = message.item
            in_thread = item.thread_root_id is not None and not root_missing
            if in_thread and root is not None and root.item.id == item.thread_root_id:
                replies.append(message)
                continue
            if root is not None:
                yield Thread(root, tuple(replies))
            replies = []
            if item.thread_root_id is not None and root_missing:
                root = None
                yield Thread(message, (), orphan=True)
            else:
                root = message
        if root is not None:
            yield Thread(root, tuple(replies))


def _booleans(row: Sequence[Any], cls: type[msgspec.Struct]) -> list[Any]:
    # SQLite hands back 0/1 for the model's booleans.
    return [bool(v) if is_bool else v for v, is_bool in zip(row, _IS_BOOL[cls], strict=True)]


_IS_BOOL: dict[type[msgspec.Struct], list[bool]] = {
    cls: [
        isinstance(default, bool)
        for default in (
            [msgspec.NODEFAULT] * (len(cls.__struct_fields__) - len(cls.__struct_defaults__))
            + list(cls.__struct_defaults__)
        )
    ]
    for cls in (Person, Space, Item)
}


def _message(row: Sequence[Any]) -> Message:
    n = len(_ITEM_COLUMNS)
    values: list[Any] = [*list(row[:_BODY_AT]), None, *list(row[_BODY_AT + 4 : n])]
    body_format, body_source, body_text, body_refs = row[_BODY_AT : _BODY_AT + 4]
    if body_format is not None:
        refs = _REFS.decode(body_refs) if body_refs else ()
        values[_BODY_AT] = Body(format=body_format, source=body_source, normalised=body_text, references=refs)
    flags = _IS_BOOL[Item]
    for i, is_bool in enumerate(flags):
        if is_bool:
            values[i] = bool(values[i])
    fields = dict(zip(_ITEM_FIELDS, values, strict=True))
    fields["kind"] = ItemKind(fields["kind"])
    item = Item(**fields)
    reactions_json, files_json = row[n], row[n + 1]
    reactions: tuple[Reaction, ...] = ()
    if reactions_json:
        reactions = tuple(
            Reaction(item_id=item.id, person_id=p, emoji=e, created_at=t)
            for p, e, t in _REACTIONS.decode(reactions_json)
        )
    file_ids = tuple(_FILE_IDS.decode(files_json)) if files_json else ()
    return Message(item, reactions, file_ids)
