"""The CSV mapping (docs/csv.md): which file of a source holds which kind of record, how each
file is written, and which column holds which field of the model.

``load_mapping`` / ``parse_mapping`` read a mapping (TOML, version 1) and check every key,
naming it in the error; ``dump_mapping`` writes one, deterministic and commented (``csv guess``
and the CSV writer call it). No TOML library writes it: strings are quoted here.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
import zoneinfo
from collections.abc import Mapping as AnyMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from passerelle.errors import BadInputError
from passerelle.model.entities import ItemKind, SpaceKind, Visibility

VERSION = 1
MAPPING_NAME = "passerelle-mapping.toml"  # a mapping inside the source, found without --mapping

ENTITIES = ("persons", "spaces", "memberships", "files", "items", "reactions", "revisions", "item_files")
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-16-le", "utf-16-be")
DATE_FORMATS = ("iso8601", "epoch_s", "epoch_ms", "epoch_us")
TRUE_WORDS = frozenset({"true", "yes", "1", "oui", "vrai"})
FALSE_WORDS = frozenset({"false", "no", "0", "non", "faux"})

# What a field holds. References ("person", "space", "item", "file") are the source's own
# ids; "*_list" fields hold several, split by the separator their `lists` entry gives.
TEXT, BOOL, DATE, INT, JSON = "text", "bool", "date", "int", "json"
PERSON, SPACE, ITEM, FILE = "person", "space", "item", "file"
PERSON_LIST, FILE_LIST, FIELD_LIST = "person_list", "file_list", "field_list"
SPACE_KIND, ITEM_KIND, VISIBILITY = "space_kind", "item_kind", "visibility"
ENUMS: dict[str, frozenset[str]] = {
    SPACE_KIND: frozenset(k.value for k in SpaceKind),
    ITEM_KIND: frozenset(k.value for k in ItemKind),
    VISIBILITY: frozenset(v.value for v in Visibility),
}
LIST_KINDS = frozenset({PERSON_LIST, FILE_LIST, FIELD_LIST})
EMPTY_FIELDS = "empty_fields"  # a row's list of its fields whose empty cell is the empty text, not None

FIELDS: dict[str, dict[str, str]] = {
    "persons": {
        "id": TEXT,
        "name": TEXT,
        "display_name": TEXT,
        "real_name": TEXT,
        "email": TEXT,
        "title": TEXT,
        "timezone": TEXT,
        "is_bot": BOOL,
        "is_deleted": BOOL,
        "is_guest": BOOL,
    },
    "spaces": {
        "id": TEXT,
        "name": TEXT,
        "display_name": TEXT,
        "kind": SPACE_KIND,
        "visibility": VISIBILITY,
        "topic": TEXT,
        "purpose": TEXT,
        "parent": SPACE,
        "created_at": DATE,
        "creator": PERSON,
        "is_archived": BOOL,
        "members": PERSON_LIST,
    },
    "memberships": {"space": SPACE, "person": PERSON, "role": TEXT},
    "items": {
        "id": TEXT,
        "kind": ITEM_KIND,
        "subtype": TEXT,
        "space": SPACE,
        "author": PERSON,
        "to": PERSON_LIST,
        "created_at": DATE,
        "edited_at": DATE,
        "deleted": BOOL,
        "deleted_at": DATE,
        "parent": ITEM,
        "thread": ITEM,
        "title": TEXT,
        "body": TEXT,
        "body_format": TEXT,
        "attachments": FILE_LIST,
        "pinned": BOOL,
    },
    "reactions": {"item": ITEM, "person": PERSON, "emoji": TEXT, "created_at": DATE},
    "files": {
        "id": TEXT,
        "name": TEXT,
        "title": TEXT,
        "media_type": TEXT,
        "size": INT,
        "path": TEXT,
        "url": TEXT,
        "author": PERSON,
        "created_at": DATE,
        "item": ITEM,
    },
    "revisions": {
        "id": TEXT,
        "item": ITEM,
        "author": PERSON,
        "created_at": DATE,
        "body": TEXT,
        "body_format": TEXT,
        "comment": TEXT,
    },
    "item_files": {"item": ITEM, "file": FILE, "position": INT},
}

# Exact fields: the archive's own columns, by name (what `export --to csv` writes). Rows read
# through them are the archive's records, ids and all.
_RECORD_EXACT = {"archive_id": TEXT, "platform": TEXT, "native_id": TEXT, "raw": TEXT, "raw_base64": TEXT}
EXACT_FIELDS: dict[str, dict[str, str]] = {
    "persons": {**_RECORD_EXACT, "is_placeholder": BOOL},
    "spaces": {**_RECORD_EXACT, "parent_id": TEXT, "creator_id": TEXT},
    "memberships": {"space_id": TEXT, "person_id": TEXT},
    "items": {
        **_RECORD_EXACT,
        "space_id": TEXT,
        "author_id": TEXT,
        "created_native": TEXT,
        "edited_native": TEXT,
        "edited_by_id": TEXT,
        "thread_root_id": TEXT,
        "parent_id": TEXT,
        "also_in_channel": BOOL,
        "body_source": TEXT,
        "body_text": TEXT,
        "body_refs": JSON,
    },
    "reactions": {"item_id": TEXT, "person_id": TEXT},
    "files": {**_RECORD_EXACT, "author_id": TEXT, "sha256": TEXT, "missing_reason": TEXT},
    "revisions": {
        **_RECORD_EXACT,
        "item_id": TEXT,
        "author_id": TEXT,
        "body_source": TEXT,
        "body_text": TEXT,
        "body_refs": JSON,
    },
    "item_files": {"item_id": TEXT, "file_id": TEXT},
}
IGNORED_FIELDS = frozenset({"source_id"})  # the export that wrote a row: the archive sets its own

# What a row of each entity cannot do without: one field of each group.
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "memberships": (("space", "space_id"), ("person", "person_id")),
    "reactions": (("item", "item_id"), ("person", "person_id"), ("emoji",)),
    "revisions": (("item", "item_id"),),
    "item_files": (("item", "item_id"), ("file", "file_id")),
}


def field_kind(entity: str, name: str) -> str | None:
    """What the field holds (TEXT, BOOL…), or None when the entity has no such field."""
    if name in IGNORED_FIELDS:
        return TEXT
    if name == EMPTY_FIELDS:
        return FIELD_LIST
    return FIELDS[entity].get(name) or EXACT_FIELDS[entity].get(name)


Constant = str | int | bool | float


@dataclass(frozen=True)
class FileMapping:
    """One ``[[file]]`` of the mapping: which files, holding which entity, written how."""

    path: str  # relative to the source; a glob (fnmatch: `*` also crosses folders) is allowed
    entity: str
    encoding: str = "utf-8"
    delimiter: str = ","
    quote: str = '"'  # "" for none
    header: bool = True
    skip_initial_space: bool = False
    dates: str = "iso8601"
    decimal: str = "."
    columns: dict[str, str | int] = field(default_factory=dict)
    lists: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, Constant]] = field(default_factory=dict)
    constants: dict[str, Constant] = field(default_factory=dict)
    # For dump_mapping only (never read back): a comment above the table, and a comment at
    # the end of a key's line ("encoding", "columns.author", "values.visibility"…).
    comment: str = ""
    notes: dict[str, str] = field(default_factory=dict)

    def matches(self, name: str) -> bool:
        return name == self.path or (_is_glob(self.path) and fnmatch.fnmatchcase(name, self.path))

    @property
    def exact(self) -> bool:
        """Rows are the archive's own records (an `archive_id` column)."""
        return "archive_id" in self.columns


@dataclass(frozen=True)
class Mapping:
    files: tuple[FileMapping, ...]
    platform: str = "csv"
    timezone: str = "UTC"
    version: int = VERSION
    comment: str = ""  # for dump_mapping: the lines at the top

    def entries(self, names: list[str] | tuple[str, ...]) -> list[tuple[FileMapping, list[str]]]:
        """Each file of the mapping with the source's entries it names, in name order."""
        return [(fm, [n for n in names if fm.matches(n)]) for fm in self.files]


def _is_glob(path: str) -> bool:
    return any(c in path for c in "*?[")


# -- loading ---------------------------------------------------------------------------------------
def load_mapping(path: Path) -> Mapping:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"{path}: the mapping cannot be read ({exc.strerror or exc})") from None
    return parse_mapping(data, str(path))


def parse_mapping(data: bytes, name: str) -> Mapping:
    """The mapping in ``data`` (TOML); BadInputError naming ``name`` and the key when it is wrong."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{name}: the mapping is not UTF-8 ({exc})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"{name}: the mapping is not TOML: {exc}") from None
    return _Checker(name).mapping(doc)


class _Checker:
    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, key: str, message: str) -> BadInputError:
        return BadInputError(f"{self.name}: {key}: {message}")

    def unknown(self, key: str, table: AnyMapping[str, Any], known: tuple[str, ...]) -> None:
        for k in table:
            if k not in known:
                raise self.fail(f"{key}{k}", f"unknown key (known: {', '.join(known)})")

    def text(self, key: str, value: Any, *, empty: bool = False) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {_toml_type(value)}")
        if not value and not empty:
            raise self.fail(key, "must not be empty")
        return value

    def boolean(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, not {_toml_type(value)}")
        return value

    def table(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table, not {_toml_type(value)}")
        return value

    def mapping(self, doc: dict[str, Any]) -> Mapping:
        self.unknown("", doc, ("version", "platform", "timezone", "file"))
        if "version" not in doc:
            raise self.fail("version", f"missing (this passerelle reads version {VERSION})")
        version = doc["version"]
        if version != VERSION or isinstance(version, bool):
            raise self.fail("version", f"{version!r}: this passerelle reads version {VERSION}")
        platform = self.text("platform", doc.get("platform", "csv"))
        timezone = self.text("timezone", doc.get("timezone", "UTC"))
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise self.fail(
                "timezone", f"{timezone!r} is not an IANA time zone (Europe/Paris, UTC…)"
            ) from None
        files = doc.get("file")
        if not isinstance(files, list) or not files:
            raise self.fail("file", "at least one [[file]] table is needed")
        return Mapping(
            files=tuple(self.file(f"file[{i + 1}]", f) for i, f in enumerate(files)),
            platform=platform,
            timezone=timezone,
            version=VERSION,
        )

    def file(self, key: str, raw: Any) -> FileMapping:
        doc = self.table(key, raw)
        self.unknown(f"{key}.", doc, _FILE_KEYS)
        for required in ("path", "entity"):
            if required not in doc:
                raise self.fail(f"{key}.{required}", "missing")
        path = self.text(f"{key}.path", doc["path"])
        if path.startswith("/") or "\\" in path or ".." in path.split("/") or ":" in path.split("/", 1)[0]:
            raise self.fail(f"{key}.path", f"{path!r} must be relative to the source, without '..'")
        entity = self.text(f"{key}.entity", doc["entity"])
        if entity not in ENTITIES:
            raise self.fail(f"{key}.entity", f"{entity!r} is not one of {', '.join(ENTITIES)}")
        encoding = self.text(f"{key}.encoding", doc.get("encoding", "utf-8")).lower()
        if encoding not in ENCODINGS:
            raise self.fail(f"{key}.encoding", f"{encoding!r} is not one of {', '.join(ENCODINGS)}")
        delimiter = self.text(f"{key}.delimiter", doc.get("delimiter", ","))
        if len(delimiter) != 1 or delimiter in "\r\n":
            raise self.fail(f"{key}.delimiter", f'{delimiter!r} must be one character ("\\t" for a tab)')
        quote = self.text(f"{key}.quote", doc.get("quote", '"'), empty=True)
        if len(quote) > 1 or quote in ("\r", "\n") or (quote and quote == delimiter):
            raise self.fail(
                f"{key}.quote", f'{quote!r} must be one character other than the delimiter, or ""'
            )
        header = self.boolean(f"{key}.header", doc.get("header", True))
        dates = self.text(f"{key}.dates", doc.get("dates", "iso8601"))
        if dates not in DATE_FORMATS and "%" not in dates:
            raise self.fail(
                f"{key}.dates", f"{dates!r} is not one of {', '.join(DATE_FORMATS)} nor a strftime pattern"
            )
        decimal = self.text(f"{key}.decimal", doc.get("decimal", "."))
        if decimal not in (".", ","):
            raise self.fail(f"{key}.decimal", f'{decimal!r} must be "." or ","')
        columns = self.columns(key, entity, header, doc.get("columns", {}))
        lists = self.lists(key, entity, columns, doc.get("lists", {}))
        values = self.values(key, entity, columns, doc.get("values", {}))
        constants = self.constants(key, entity, columns, doc.get("constants", {}))
        fm = FileMapping(
            path=path,
            entity=entity,
            encoding=encoding,
            delimiter=delimiter,
            quote=quote,
            header=header,
            skip_initial_space=self.boolean(
                f"{key}.skip_initial_space", doc.get("skip_initial_space", False)
            ),
            dates=dates,
            decimal=decimal,
            columns=columns,
            lists=lists,
            values=values,
            constants=constants,
        )
        given = set(columns) | set(constants)
        for group in REQUIRED.get(entity, ()):
            if not given & set(group):
                raise self.fail(
                    f"{key}.columns", f"{entity} need {' or '.join(group)} (a column or a constant)"
                )
        return fm

    def field_name(self, key: str, entity: str, name: str) -> str:
        if field_kind(entity, name) is None:
            known = [*FIELDS[entity], *EXACT_FIELDS[entity]]
            raise self.fail(key, f"{entity} have no field {name!r} (fields: {', '.join(known)})")
        return name

    def columns(self, key: str, entity: str, header: bool, raw: Any) -> dict[str, str | int]:
        table = self.table(f"{key}.columns", raw)
        columns: dict[str, str | int] = {}
        kinds: set[type] = set()
        for name, column in table.items():
            at = f"{key}.columns.{name}"
            self.field_name(at, entity, name)
            if isinstance(column, bool) or not isinstance(column, str | int):
                raise self.fail(
                    at, f"must be a column name or a 1-based column number, not {_toml_type(column)}"
                )
            if isinstance(column, int) and column < 1:
                raise self.fail(at, f"{column}: column numbers start at 1")
            if isinstance(column, str) and not column:
                raise self.fail(at, "must not be empty")
            if isinstance(column, str) and not header:
                raise self.fail(at, f"{column!r}: a file without a header row names columns by number")
            kinds.add(type(column))
            columns[name] = column
        if len(kinds) > 1:
            raise self.fail(
                f"{key}.columns", "columns are named by header or by number, not both in one file"
            )
        if "raw" in columns and "raw_base64" in columns and columns["raw"] == columns["raw_base64"]:
            raise self.fail(f"{key}.columns.raw_base64", "raw and raw_base64 must be different columns")
        return columns

    def lists(self, key: str, entity: str, columns: dict[str, str | int], raw: Any) -> dict[str, str]:
        table = self.table(f"{key}.lists", raw)
        lists: dict[str, str] = {}
        for name, separator in table.items():
            at = f"{key}.lists.{name}"
            kind = field_kind(entity, self.field_name(at, entity, name))
            if kind not in LIST_KINDS:
                raise self.fail(at, f"{name!r} holds one value, not a list")
            if name not in columns:
                raise self.fail(at, f"{name!r} is not in {key}.columns")
            lists[name] = self.text(at, separator)
        for name in columns:
            if field_kind(entity, name) in LIST_KINDS and name not in lists:
                lists[name] = ","  # a list column without a separator: commas
        return lists

    def values(
        self, key: str, entity: str, columns: dict[str, str | int], raw: Any
    ) -> dict[str, dict[str, Constant]]:
        table = self.table(f"{key}.values", raw)
        values: dict[str, dict[str, Constant]] = {}
        for name, translation in table.items():
            at = f"{key}.values.{name}"
            kind = field_kind(entity, self.field_name(at, entity, name))
            if name not in columns:
                raise self.fail(at, f"{name!r} is not in {key}.columns")
            pairs = self.table(at, translation)
            values[name] = {}
            for source, target in pairs.items():
                values[name][source] = self.constant(f"{at}.{_key(source)}", entity, name, kind, target)
        return values

    def constants(
        self, key: str, entity: str, columns: dict[str, str | int], raw: Any
    ) -> dict[str, Constant]:
        table = self.table(f"{key}.constants", raw)
        constants: dict[str, Constant] = {}
        for name, value in table.items():
            at = f"{key}.constants.{name}"
            kind = field_kind(entity, self.field_name(at, entity, name))
            if name in columns:
                raise self.fail(at, f"{name!r} is also in {key}.columns: one or the other")
            constants[name] = self.constant(at, entity, name, kind, value)
        return constants

    def constant(self, at: str, entity: str, name: str, kind: str | None, value: Any) -> Constant:
        """A value the mapping gives for a field: of the field's type, or text it reads."""
        if kind == BOOL and isinstance(value, bool):
            return value
        if kind == INT and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == DATE and isinstance(value, int | float) and not isinstance(value, bool):
            return value  # in the file's date unit
        if not isinstance(value, str):
            raise self.fail(at, f"must be a string for {entity}.{name}, not {_toml_type(value)}")
        if kind in ENUMS and value not in ENUMS[kind]:
            raise self.fail(at, f"{value!r} is not one of {', '.join(sorted(ENUMS[kind]))}")
        if kind == BOOL and value.strip().lower() not in TRUE_WORDS | FALSE_WORDS:
            raise self.fail(at, f"{value!r} is not a boolean (true/false, yes/no, 1/0, oui/non, vrai/faux)")
        return value


_FILE_KEYS = (
    "path",
    "entity",
    "encoding",
    "delimiter",
    "quote",
    "header",
    "skip_initial_space",
    "dates",
    "decimal",
    "columns",
    "lists",
    "values",
    "constants",
)


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


# -- dumping ---------------------------------------------------------------------------------------
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped, the rest as is."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F or 0xD800 <= ord(char) <= 0xDFFF:
            out.append(f"\\u{ord(char):04x}" if ord(char) < 0x10000 else f"\\U{ord(char):08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else toml_string(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        return repr(value) if abs(value) != float("inf") else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return toml_string(value)
    raise TypeError(f"cannot write {value!r} in a mapping")


def _comment_lines(text: str) -> list[str]:
    return [f"# {line}".rstrip() for line in text.splitlines()] if text else []


_SETTING_NOTES = {
    "version": "the mapping format's version",
    "platform": "the platform the records come from (their ids are made under it)",
    "timezone": "the IANA zone of dates that carry no offset",
    "path": "relative to the source (folder or zip); a glob is allowed",
    "entity": " | ".join(ENTITIES),
    "encoding": "utf-8 | utf-8-sig | cp1252 | latin-1 | utf-16 (a BOM always wins)",
    "delimiter": "one character",
    "quote": 'the quoting character ("" for none)',
    "header": "true: the first row names the columns",
    "skip_initial_space": "ignore a space after the delimiter",
    "dates": "iso8601 | epoch_s | epoch_ms | epoch_us | a strftime pattern",
    "decimal": '"," for the French spreadsheet form',
}


def _line(key: str, value: Any, note: str | None) -> str:
    text = f"{_key(key)} = {_value(value)}"
    return f"{text}  # {_one_line(note)}" if note else text


def _one_line(note: str) -> str:
    return " ".join(note.split())


def dump_mapping(mapping: Mapping) -> str:
    """The mapping as TOML text that ``parse_mapping`` reads back to the same mapping:
    deterministic (the same mapping gives the same text), with a comment on each setting
    (the file's ``notes`` where given). Settings at their default are written too, so a
    person sees every choice."""
    lines = _comment_lines(mapping.comment)
    if lines:
        lines.append("")
    lines.append(_line("version", mapping.version, _SETTING_NOTES["version"]))
    lines.append(_line("platform", mapping.platform, _SETTING_NOTES["platform"]))
    lines.append(_line("timezone", mapping.timezone, _SETTING_NOTES["timezone"]))
    for fm in mapping.files:
        lines.append("")
        lines += _comment_lines(fm.comment)
        lines.append("[[file]]")
        for setting in _FILE_KEYS[:9]:
            value = getattr(fm, setting)
            lines.append(_line(setting, value, fm.notes.get(setting, _SETTING_NOTES[setting])))
        tables: tuple[tuple[str, dict[str, Any], str], ...] = (
            ("columns", fm.columns, "model field = column name, or 1-based column number"),
            ("lists", fm.lists, "fields holding several values, and their separator"),
            ("constants", fm.constants, "fields with one value for every row"),
        )
        for name, table, note in tables[:2]:
            if table:
                lines += ["", f"[file.{name}]  # {note}"]
                lines += [_line(k, v, fm.notes.get(f"{name}.{k}")) for k, v in table.items()]
        for field_name, translation in fm.values.items():
            note = fm.notes.get(f"values.{field_name}", "a column's values, translated to the model's")
            lines += ["", f"[file.values.{_key(field_name)}]  # {_one_line(note)}"]
            lines += [_line(k, v, None) for k, v in translation.items()]
        name, table, note = tables[2]
        if table:
            lines += ["", f"[file.{name}]  # {note}"]
            lines += [_line(k, v, fm.notes.get(f"{name}.{k}")) for k, v in table.items()]
    return "\n".join(lines) + "\n"
