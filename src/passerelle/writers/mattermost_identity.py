"""The identity map: archive persons onto accounts that already exist on the target server.

A CSV file with the header ``source,username,email`` (``email`` may be empty or absent)::

    source,username,email
    U024BE7LH,ada.lovelace,ada@example.org
    bob,robert,

or a TOML file::

    [persons."U024BE7LH"]
    username = "ada.lovelace"
    email = "ada@example.org"

``source`` names archive persons by their native id (the source's user id), their handle
(``Person.name``) or their email (case ignored), tried in that order: every person the
first kind that matches names is mapped (two persons of two platforms may be one account).
An entry naming no person is ignored, and said in the export's notes. A file that cannot
be read as such a map is a ``BadInputError`` naming the file and the line.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from passerelle.errors import BadInputError
from passerelle.model.entities import Person
from passerelle.writers.mattermost_names import EMAIL_MAX, is_valid_server_username

_COLUMNS = ("source", "username", "email")


@dataclass(frozen=True)
class Identity:
    source: str
    username: str
    email: str | None
    where: str  # "map.csv:3", "map.toml:persons.U1"


def load_identity_map(path: Path) -> list[Identity]:
    """The entries of a CSV or TOML identity map, in file order."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"identity map {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInputError(f"identity map {path}: not UTF-8 text") from None
    entries = list(_toml(path, text) if path.suffix.lower() == ".toml" else _csv(path, text))
    seen: dict[str, Identity] = {}
    for entry in entries:
        earlier = seen.get(entry.source)
        if earlier is not None and (earlier.username, earlier.email) != (entry.username, entry.email):
            raise BadInputError(
                f"identity map {entry.where}: {entry.source!r} is mapped again, differently"
                f" (first at {earlier.where})"
            )
        seen[entry.source] = entry
    return list(seen.values())


def _csv(path: Path, text: str) -> Iterable[Identity]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise BadInputError(f"identity map {path}: empty; expected a header {','.join(_COLUMNS)}")
    columns = [c.strip().lower() for c in header]
    unknown = [c for c in columns if c not in _COLUMNS]
    if unknown or "source" not in columns or "username" not in columns or len(set(columns)) != len(columns):
        raise BadInputError(
            f"identity map {path}: the header is {','.join(header)!r}; expected {','.join(_COLUMNS)}"
            " (email may be left out)"
        )
    for row in reader:
        where = f"{path.name}:{reader.line_num}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise BadInputError(f"identity map {where}: {len(row)} fields, the header has {len(columns)}")
        values = dict(zip(columns, (cell.strip() for cell in row), strict=True))
        yield _entry(where, values.get("source"), values.get("username"), values.get("email") or None)


def _toml(path: Path, text: str) -> Iterable[Identity]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"identity map {path}: not valid TOML ({exc})") from None
    unknown = sorted(set(document) - {"persons"})
    persons = document.get("persons")
    if unknown or not isinstance(persons, dict):
        raise BadInputError(
            f'identity map {path}: expected tables [persons."<source>"] with username and email'
            + (f"; unknown keys: {', '.join(unknown)}" if unknown else "")
        )
    for source, table in persons.items():
        where = f"{path.name}:persons.{source}"
        if not isinstance(table, dict):
            raise BadInputError(f"identity map {where}: expected a table with username and email")
        extra = sorted(set(table) - {"username", "email"})
        if extra:
            raise BadInputError(f"identity map {where}: unknown keys {', '.join(extra)}")
        yield _entry(where, source, table.get("username"), table.get("email"))


def _entry(where: str, source: Any, username: Any, email: Any) -> Identity:
    if not isinstance(source, str) or not source.strip():
        raise BadInputError(f"identity map {where}: no source (a person's id, handle or email)")
    if not isinstance(username, str) or not username.strip():
        raise BadInputError(f"identity map {where}: no username for {source!r}")
    name = username.strip().lower()
    if not is_valid_server_username(name):
        raise BadInputError(
            f"identity map {where}: {username!r} is not a Mattermost username (lowercase letters,"
            " digits, '.', '-', '_', beginning with a letter, at most 64; not all, channel, here,"
            " matterbot or system)"
        )
    if email is not None and (
        not isinstance(email, str) or "@" not in email or len(email.encode()) > EMAIL_MAX or " " in email
    ):
        raise BadInputError(f"identity map {where}: {email!r} is not an email address")
    return Identity(source.strip(), name, email.strip() if isinstance(email, str) else None, where)


def match(entries: list[Identity], persons: Iterable[Person]) -> tuple[dict[str, Identity], list[Identity]]:
    """(archive person id -> its entry, the entries that name no person)."""
    by_native: dict[str, list[str]] = {}
    by_name: dict[str, list[str]] = {}
    by_email: dict[str, list[str]] = {}
    for person in persons:
        by_native.setdefault(person.native_id, []).append(person.id)
        if person.name:
            by_name.setdefault(person.name, []).append(person.id)
        if person.email:
            by_email.setdefault(person.email.lower(), []).append(person.id)
    mapped: dict[str, Identity] = {}
    unused: list[Identity] = []
    for entry in entries:
        found = by_native.get(entry.source) or by_name.get(entry.source) or by_email.get(entry.source.lower())
        if not found:
            unused.append(entry)
            continue
        for person_id in found:
            mapped.setdefault(person_id, entry)  # the first entry that names a person wins
    return mapped, unused
