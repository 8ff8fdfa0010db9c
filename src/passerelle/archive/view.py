"""Streaming read access to an archive, as canonical records: what writers and verify read.

Every iterator runs one SQL query and yields as it goes, so memory does not grow with the
archive. A message comes with its reactions and the ids of its files, gathered by SQLite
(correlated subqueries on primary keys), not by a query per message from Python.
"""

from __future__ import annotations

import sqlite3
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
    Revision,
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
_BODY_COLUMNS = ("body_format", "body_source", "body_text", "body_refs")
_REVISION_COLUMNS = [
    *(c for f in Revision.__struct_fields__ for c in (_BODY_COLUMNS if f == "body" else (f,)))
]
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

    def count(self, table: str, where: str = "1", params: Sequence[Any] = ()) -> int:
        return int(self._conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchone()[0])

    # -- items --------------------------------------------------------------------
    def messages(self, space_id: str) -> Iterator[Message]:
        """A space's items in time order (replies among them, at their own time)."""
        sql = (
            f"SELECT {', '.join(_ITEM_COLUMNS)}, {', '.join(_EXTRAS)} FROM items i"
            " WHERE i.space_id = ? ORDER BY i.created_at, i.id"
        )
        for row in self._conn.execute(sql, (space_id,)):
            yield _message(row)

    def timeline(
        self, space_id: str
    ) -> Iterator[tuple[Message, int, int | None, str | None, int, tuple[str, ...], int | None]]:
        """A space's items in ``messages`` order, on a timeline of times unique in the space.

        Yields ``(message, at, root_at, root_author_id, replies, reply_author_ids,
        latest_reply_at)``. ``at`` is the item's ``created_at`` raised to 1 µs after the previous
        item's ``at`` when it is not later (for targets whose message key is a time: Slack's
        ``ts``); items with no valid time (unknown or negative) come first, in the microseconds
        just before the space's earliest valid time. ``root_at`` and ``root_author_id``
        describe the item's thread root when the root is in the space; for a root,
        ``replies`` counts its replies in the space, ``reply_author_ids`` are their distinct
        authors in order of first reply, and ``latest_reply_at`` is the last reply's ``at``.
        Sorting and grouping happen in SQLite: memory holds one item at a time.
        """
        # Window functions only (no join on a computed table, which SQLite may scan per row): a
        # sort by time, then one by thread, whatever the space's size.
        thread = "coalesce(thread_root_id, id)"
        sql = (
            "WITH f AS (SELECT max(coalesce(min(created_at) FILTER (WHERE created_at >= 0), 0)"
            " - count(*) FILTER (WHERE created_at IS NULL OR created_at < 0), 0) AS first FROM items"
            " WHERE space_id = ?1),"
            " o AS (SELECT id, thread_root_id, author_id,"
            " CASE WHEN created_at IS NULL OR created_at < 0 THEN f.first ELSE created_at END AS t,"
            " row_number() OVER (ORDER BY created_at, id) AS rn FROM items, f WHERE space_id = ?1),"
            " t AS (SELECT id, thread_root_id, author_id, rn,"
            " rn + max(t - rn) OVER (ORDER BY rn ROWS UNBOUNDED PRECEDING) AS at,"
            f" row_number() OVER (PARTITION BY {thread}, id = {thread}, author_id ORDER BY rn) AS nth FROM o),"
            # Each item with the first of its thread (the root, when it is in the space) and, on
            # the root, its replies' number, latest time and authors in order of first reply.
            " u AS (SELECT id, thread_root_id, rn, at, first_value(id) OVER w AS head,"
            " first_value(at) OVER w AS head_at, first_value(author_id) OVER w AS head_author,"
            " count(*) OVER w - 1 AS replies,"
            f" max(at) FILTER (WHERE id != {thread}) OVER w AS latest,"
            " json_group_array(author_id) FILTER"
            f" (WHERE id != {thread} AND nth = 1 AND author_id IS NOT NULL) OVER w AS authors"
            f" FROM t WINDOW w AS (PARTITION BY {thread} ORDER BY id != {thread}, rn"
            " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))"
            f" SELECT {', '.join(_ITEM_COLUMNS)}, {', '.join(_EXTRAS)}, u.at,"
            " CASE WHEN u.head = u.thread_root_id AND u.thread_root_id != u.id THEN u.head_at END,"
            " CASE WHEN u.head = u.thread_root_id AND u.thread_root_id != u.id THEN u.head_author END,"
            " CASE WHEN u.head = u.id THEN u.replies ELSE 0 END,"
            " CASE WHEN u.head = u.id AND u.replies > 0 THEN u.authors END,"
            " CASE WHEN u.head = u.id THEN u.latest END"
            " FROM u JOIN items i ON i.id = u.id ORDER BY u.rn"
        )
        n = len(_ITEM_COLUMNS) + len(_EXTRAS)
        for row in self._conn.execute(sql, (space_id,)):
            at, root_at, root_author, count, authors_json, latest = row[n:]
            authors = tuple(msgspec.json.decode(authors_json, type=list[str])) if authors_json else ()
            yield _message(row[:n]), at, root_at, root_author, count, authors, latest

    def revisions_of_space(
        self, space_id: str
    ) -> Iterator[tuple[str, str, str, str | None, int | None, str | None, str | None, str | None]]:
        """The revisions of a space's items, in ``messages`` order of their items, then by time:
        ``(id, item_id, native_id, author_id, created_at, body_format, body_source, comment)``."""
        yield from self._conn.execute(
            "SELECT r.id, r.item_id, r.native_id, r.author_id, r.created_at, r.body_format, r.body_source,"
            " r.comment FROM revisions r JOIN items i ON i.id = r.item_id WHERE i.space_id = ?"
            " ORDER BY i.created_at, i.id, r.created_at, r.id",
            (space_id,),
        )

    # -- plain rows, for writers that must be faster than records (the Mattermost writer) --
    POST_ROW_COLUMNS: tuple[str, ...] = (
        "id", "platform", "native_id", "kind", "subtype", "author_id", "created_at", "created_native",
        "edited_at", "edited_by_id", "deleted", "deleted_at", "thread_root_id", "parent_id",
        "also_in_channel", "pinned", "title", "body_format", "body_text", "body_refs",
    )  # fmt: skip

    _POST_ROWS_SQL = (
        f"SELECT {', '.join(f'i.{c}' for c in POST_ROW_COLUMNS)},"
        " CASE WHEN i.platform = ?1 THEN i.body_source END, CASE WHEN i.platform = ?1 THEN i.raw END,"
        # An EXISTS probe first: most items have no reactions or files, and the probe is cheaper.
        " CASE WHEN EXISTS (SELECT 1 FROM reactions WHERE item_id = i.id) THEN"
        " (SELECT json_group_array(json_array(person_id, emoji, created_at)) FROM"
        " (SELECT person_id, emoji, created_at FROM reactions WHERE item_id = i.id"
        " ORDER BY person_id, emoji)) END,"
        " CASE WHEN EXISTS (SELECT 1 FROM item_files WHERE item_id = i.id) THEN"
        " (SELECT json_group_array(json_array(id, name, sha256, native_id, platform)) FROM"
        " (SELECT f.id, f.name, f.sha256, f.native_id, f.platform FROM item_files x"
        " JOIN files f ON f.id = x.file_id"
        " WHERE x.item_id = i.id ORDER BY x.position)) END,"
        " i.thread_root_id IS NOT NULL AND r.id IS NULL FROM items i"
        " LEFT JOIN items r ON r.id = i.thread_root_id AND r.space_id = i.space_id"
        " WHERE i.space_id = ?2"
        " ORDER BY coalesce(r.created_at, i.created_at), coalesce(r.id, i.id),"
        " i.thread_root_id IS NOT NULL AND r.id IS NOT NULL, i.created_at, i.id"
    )

    _POST_ROWS_JSON_SQL = (
        "SELECT json_array("
        + _POST_ROWS_SQL[len("SELECT ") : _POST_ROWS_SQL.index(" FROM items i")].replace(
            "THEN i.raw END", "THEN CAST(i.raw AS TEXT) END"
        )
        + ")"
        + _POST_ROWS_SQL[_POST_ROWS_SQL.index(" FROM items i") :]
    )

    def post_row_batches(
        self, space_ids: Sequence[str], raw_platform: str | None = None, *, worker: bool = False
    ) -> Iterator[tuple[str, list[list[Any]]]]:
        """A space's items as plain rows, for each space in turn, in the order of ``threads``
        (each root, then its replies in time order; a reply whose root is not in the archive
        comes as its own root): (space id, a batch of rows), an empty batch ending each space.
        A row is a list: the columns of ``POST_ROW_COLUMNS`` (booleans as 0/1), then
        ``body_source`` and ``raw`` as text (None unless the item's platform is
        ``raw_platform``), the reactions ``[[person_id, emoji, created_at], …]`` by person and
        emoji, the files ``[[file id, name, sha256, native_id, platform], …]`` in position
        order (each None when there are none), and 1 when the item's thread root is missing.
        SQLite writes each row as JSON, decoded a batch at a time: memory holds one batch.

        With ``worker``, a process of its own runs the queries (on a read-only connection)
        from the moment this is called, and writes the batches into a temporary file as fast
        as it reads them (the file holds them until they are read: memory stays flat, the
        disk holds at most the rows as JSON); the reading runs on another CPU while the caller
        works. The process starts as ``multiprocessing``'s forkserver does, so a script that
        calls this must guard its entry point with ``if __name__ == "__main__":``."""
        decode = msgspec.json.Decoder(list[list[Any]]).decode
        if not worker:
            return self._post_row_batches_here(space_ids, raw_platform, decode)
        import multiprocessing
        import os
        import tempfile

        from passerelle.archive import DATABASE

        context = multiprocessing.get_context("forkserver")
        handle, spool = tempfile.mkstemp(prefix="passerelle-rows-")
        os.close(handle)
        done: Any = context.Queue()  # (offset, length) of each batch written; (-1, 0) ends a space
        process = context.Process(
            target=ArchiveView._post_row_worker,
            args=(str(self.archive.root / DATABASE), list(space_ids), raw_platform, spool, done),
            name="post-rows",
            daemon=True,
        )
        process.start()

        class Batches:
            """The batches as they are written; ``close`` stops the process and removes the
            file, whether the batches were read or not."""

            def __init__(self) -> None:
                self._rows = open(spool, "rb")  # noqa: SIM115 (closed by close)
                self._reading = self._read()

            def __iter__(self) -> Iterator[tuple[str, list[list[Any]]]]:
                return self._reading

            def __next__(self) -> tuple[str, list[list[Any]]]:
                return next(self._reading)

            def _read(self) -> Iterator[tuple[str, list[list[Any]]]]:
                for space_id in space_ids:
                    while True:
                        offset, length = done.get()
                        if isinstance(offset, str):
                            raise RuntimeError(f"reading the archive's posts failed: {offset}")
                        if offset < 0:
                            break
                        yield space_id, decode(os.pread(self._rows.fileno(), length, offset))
                    yield space_id, []

            def close(self) -> None:
                process.terminate()  # done, or the caller stopped reading
                process.join()
                done.close()
                done.join_thread()
                self._rows.close()
                os.unlink(spool)

        return Batches()

    def _post_row_batches_here(
        self, space_ids: Sequence[str], raw_platform: str | None, decode: Any
    ) -> Iterator[tuple[str, list[list[Any]]]]:
        for space_id in space_ids:
            cursor = self._conn.execute(self._POST_ROWS_JSON_SQL, (raw_platform, space_id))
            while rows := cursor.fetchmany(1024):
                yield space_id, decode("[" + ",".join(r[0] for r in rows) + "]")
            yield space_id, []

    # The worker's way to the same rows: the order first (narrow rows, sorted into a temporary
    # table whose rowids keep it), then each row computed as it is read. The first rows come
    # at once instead of after the whole space is computed and sorted, so the caller works
    # while the rest is read.
    _POST_ORDER_SQL = (
        "INSERT INTO temp.post_order (rid, missing) SELECT i.rowid,"
        " i.thread_root_id IS NOT NULL AND r.id IS NULL FROM items i"
        " LEFT JOIN items r ON r.id = i.thread_root_id AND r.space_id = i.space_id WHERE i.space_id = ?"
        " ORDER BY coalesce(r.created_at, i.created_at), coalesce(r.id, i.id),"
        " i.thread_root_id IS NOT NULL AND r.id IS NOT NULL, i.created_at, i.id"
    )
    _POST_ORDERED_SQL = (
        _POST_ROWS_JSON_SQL[: _POST_ROWS_JSON_SQL.index(" FROM items i")].replace(
            "i.thread_root_id IS NOT NULL AND r.id IS NULL", "o.missing"
        )
        + " FROM temp.post_order o JOIN items i ON i.rowid = o.rid ORDER BY o.rowid"
    )

    @staticmethod
    def _post_row_worker(
        database: str, space_ids: list[str], raw_platform: str | None, spool: str, done: Any
    ) -> None:
        """``post_row_batches``' worker: each space's rows as JSON batches into the spool file,
        their place on ``done``, then (-1, 0); (message, 0) when it fails."""
        import sqlite3

        try:
            conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
            try:
                conn.execute("PRAGMA cache_size = -32768")
                conn.execute("CREATE TEMP TABLE post_order (rid INTEGER NOT NULL, missing INTEGER NOT NULL)")
                offset = 0
                with open(spool, "wb") as out:
                    for space_id in space_ids:
                        conn.execute("DELETE FROM temp.post_order")
                        conn.execute(ArchiveView._POST_ORDER_SQL, (space_id,))
                        cursor = conn.execute(ArchiveView._POST_ORDERED_SQL, (raw_platform,))
                        while rows := cursor.fetchmany(1024):
                            data = ("[" + ",".join(r[0] for r in rows) + "]").encode()
                            out.write(data)
                            out.flush()  # the reader reads it as soon as it hears of it
                            done.put((offset, len(data)))
                            offset += len(data)
                        done.put((-1, 0))
            finally:
                conn.close()
        except Exception as exc:
            done.put((repr(exc), 0))
        done.close()
        done.join_thread()

    def revision_ids(self) -> Iterator[tuple[str, str]]:
        """(revision id, item id) of every revision, by item and id."""
        yield from self._conn.execute("SELECT id, item_id FROM revisions ORDER BY item_id, id")

    def authors(self, space_id: str) -> list[str]:
        """The distinct authors of a space's items, by id."""
        rows = self._conn.execute(
            "SELECT DISTINCT author_id FROM items WHERE space_id = ? AND author_id IS NOT NULL ORDER BY 1",
            (space_id,),
        )
        return [r[0] for r in rows]

    def unattached_files(self) -> Iterator[File]:
        """Files attached to no item (custom emoji, leftovers of a source), in one pass over
        item_files (``NOT IN`` builds its index once; ``NOT EXISTS`` would scan item_files for
        every file, as it has no index on file_id)."""
        sql = f"SELECT {_quoted(_FILE_COLUMNS)} FROM files WHERE id NOT IN (SELECT file_id FROM item_files)"
        for row in self._conn.execute(sql + " ORDER BY id"):
            yield File(**dict(zip(_FILE_COLUMNS, row, strict=True)))

    def attached_file_rows(self) -> Iterator[tuple[str, str | None, str | None, str, str]]:
        """(id, name, sha256, native_id, platform) of every file attached to an item, by id, read
        on a read-only connection of its own, opened when the iteration starts: another thread
        than the view's may read them."""
        import sqlite3

        from passerelle.archive import DATABASE

        conn = sqlite3.connect(f"file:{self.archive.root / DATABASE}?mode=ro", uri=True)
        try:
            yield from conn.execute(
                "SELECT id, name, sha256, native_id, platform FROM files"
                " WHERE id IN (SELECT file_id FROM item_files) ORDER BY id"
            )
        finally:
            conn.close()

    def latest_time(self) -> int | None:
        """The latest time of any item (created or edited), in microseconds."""
        row = self._conn.execute(
            "SELECT max(max(coalesce(edited_at, 0), coalesce(created_at, 0))) FROM items"
        )
        value = row.fetchone()[0]
        return int(value) if value else None

    # -- wiki pages, for the wiki writers (MediaWiki) -------------------------------------
    def item(self, item_id: str) -> Message | None:
        """One item with its reactions and file ids, or None."""
        sql = f"SELECT {', '.join(_ITEM_COLUMNS)}, {', '.join(_EXTRAS)} FROM items i WHERE i.id = ?"
        row = self._conn.execute(sql, (item_id,)).fetchone()
        return _message(row) if row is not None else None

    def item_revisions(self, item_id: str, *, source_order: bool = False) -> Iterator[Revision]:
        """An item's revisions, one at a time: oldest first (by time, then by the source's id as
        a number, then as text), or with ``source_order`` in the order the source held them (by
        their origin ``<entry>#<line>``, then as above)."""
        order = "created_at IS NULL, created_at, length(native_id), native_id, id"
        if source_order:
            at = "instr(origin, '#')"
            order = (
                f"CASE WHEN {at} > 0 THEN substr(origin, 1, {at} - 1) END,"
                f" CASE WHEN {at} > 0 THEN CAST(substr(origin, {at} + 1) AS INTEGER) END, " + order
            )
        rows = self._conn.execute(
            f"SELECT {', '.join(_REVISION_COLUMNS)} FROM revisions WHERE item_id = ? ORDER BY {order}",
            (item_id,),
        )
        for row in rows:
            values = dict(zip(_REVISION_COLUMNS, row, strict=True))
            body_format, source, text, refs = (values.pop(k) for k in _BODY_COLUMNS)
            body = None
            if body_format is not None:
                references = _REFS.decode(refs) if refs else ()
                body = Body(format=body_format, source=source, normalised=text, references=references)
            yield Revision(**values, body=body)

    @property
    def connection(self) -> sqlite3.Connection:
        """The view's SQLite connection (for a writer's ``TEMP`` tables and its own queries)."""
        return self._conn


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
