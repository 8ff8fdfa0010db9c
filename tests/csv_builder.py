"""CSV exports for the tests: one set of records written in several dialects (encodings,
separators, date formats, French or English column names and values), each with the mapping
that reads it (docs/csv.md), as a folder or a zip. Every dialect holds the same records, so
every dialect must give the same archive."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from passerelle.readers.csv_mapping import Constant, FileMapping, Mapping, dump_mapping

MAPPING_NAME = "passerelle-mapping.toml"
T0 = datetime(2024, 2, 12, 9, 30, tzinfo=UTC)
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00IHDR" + bytes(200)


@dataclass(frozen=True)
class Dialect:
    name: str
    encoding: str  # the mapping's
    delimiter: str
    dates: str
    timezone: str = "UTC"
    decimal: str = "."
    header: bool = True
    french: bool = False
    words: tuple[str, str] = ("true", "false")
    lists: str = ";"
    line_end: str = "\r\n"

    @property
    def codec(self) -> str:
        return {"utf-16": "utf-16", "utf-8-sig": "utf-8-sig"}.get(self.encoding, self.encoding)


DIALECTS = (
    Dialect("utf8-comma-iso", "utf-8", ",", "iso8601"),
    Dialect(
        "bom-semicolon-paris", "utf-8-sig", ";", "%d/%m/%Y %H:%M", "Europe/Paris", french=True,
        words=("oui", "non"), lists="|",
    ),
    Dialect(
        "cp1252-semicolon-decimal", "cp1252", ";", "%d/%m/%Y %H:%M:%S", "Europe/Paris", decimal=",",
        french=True, words=("vrai", "faux"), lists=",", line_end="\n",
    ),
    Dialect("utf16-tab-epoch", "utf-16", "\t", "epoch_s", words=("1", "0")),
    Dialect(
        "latin1-comma-us", "latin-1", ",", "%m/%d/%Y %I:%M:%S %p", "America/New_York", words=("yes", "no"),
        line_end="\n",
    ),
    Dialect("utf8-pipe-epochms-noheader", "utf-8", "|", "epoch_ms", header=False, lists=","),
)  # fmt: skip


# -- the records --------------------------------------------------------------------------------------
@dataclass
class Records:
    persons: list[tuple[str, str, str, str, bool]] = field(
        default_factory=list
    )  # id, handle, name, email, bot
    spaces: list[tuple[str, str, str, str, list[str], datetime]] = field(default_factory=list)
    items: list[tuple[str, str, str, str, list[str], datetime, str, str]] = field(default_factory=list)
    reactions: list[tuple[str, str, str, datetime]] = field(default_factory=list)
    files: list[tuple[str, str, str, bytes, str, str]] = field(
        default_factory=list
    )  # id, name, path, bytes, author, item
    memberships: list[tuple[str, str, str]] = field(default_factory=list)


def records(extra: int = 0) -> Records:
    """The feature records (threads, a direct message, a private space, a bot, files, reactions,
    text with delimiters, quotes and line breaks), and ``extra`` more messages in threads."""
    r = Records()
    r.persons = [
        ("u1", "alice", "Alice Lefèvre", "alice@example.org", False),
        ("u2", "bruno", "Bruno Núñez", "Bruno@Example.org", False),
        ("u3", "chloé", "Chloé «Clo» Dupré", "chloe@example.org", False),
        ("bot1", "robot", "Robot, the bot", "", True),
    ]
    r.spaces = [
        ("s1", "général", "public", "u1", ["u1", "u2", "u3"], T0),
        ("s2", "comité", "private", "u2", ["u2", "u3"], T0 + timedelta(minutes=5)),
    ]
    t = T0 + timedelta(hours=1)
    r.items = [
        (
            "m1",
            "s1",
            "",
            "u1",
            [],
            t,
            "Bienvenue",
            'Bonjour à tous, "premier" message;\nsur deux lignes | fin',
        ),
        ("m2", "", "m1", "bruno", [], t + timedelta(minutes=1), "", "Réponse, avec virgule"),
        ("m3", "", "m2", "chloe@example.org", [], t + timedelta(minutes=2), "", "Réponse à la réponse"),
        ("m4", "s2", "", "u2", [], t + timedelta(minutes=3), "Privé", "Ordre du jour : 1) budget\t2) ¿qué?"),
        ("m5", "", "", "u1", ["u3"], t + timedelta(minutes=4), "", "Message direct"),
        ("m6", "", "", "u2", ["u1", "u3"], t + timedelta(minutes=5), "", "À trois"),
        ("m7", "s1", "", "bot1", [], t + timedelta(minutes=6), "", "Déploiement terminé."),
    ]
    for n in range(extra):
        root = "m1" if n % 3 else "m7"
        parent = root if n % 2 else f"x{n - 1}" if n else root
        author = r.persons[n % 3][0]
        r.items.append(
            (f"x{n}", "", parent, author, [], t + timedelta(minutes=10 + n), "", f"Suite n° {n}, «ok»")
        )
    r.reactions = [
        ("m1", "u2", "thumbsup", t + timedelta(minutes=7)),
        ("m1", "u3", "heart", t + timedelta(minutes=8)),
        ("m4", "u3", "tada", t + timedelta(minutes=9)),
        ("m2", "alice", "thumbsup::skin-tone-3", t + timedelta(minutes=10)),
    ]
    r.files = [
        ("f1", "rapport annuel.pdf", "pièces/rapport.pdf", PDF, "u1", "m1"),
        ("f2", "photo.png", "pièces/photo.png", PNG, "u2", "m4"),
    ]
    r.memberships = [("s2", "u1", "admin")]
    return r


# -- writing them -------------------------------------------------------------------------------------
_COLUMNS = {
    # entity: (file EN, file FR, ((field, EN, FR), …))
    "persons": (
        "users.csv",
        "utilisateurs.csv",
        (("id", "id", "identifiant"), ("name", "username", "pseudo"), ("display_name", "name", "nom"),
         ("email", "email", "courriel"), ("is_bot", "bot", "robot")),
    ),
    "spaces": (
        "channels.csv",
        "groupes.csv",
        (("id", "id", "identifiant"), ("name", "name", "nom"), ("visibility", "visibility", "visibilité"),
         ("creator", "creator", "créateur"), ("members", "members", "membres"),
         ("created_at", "created_at", "date_creation")),
    ),
    "items": (
        "messages.csv",
        "messages.csv",
        (("id", "id", "identifiant"), ("space", "channel", "groupe"), ("parent", "reply_to", "en_reponse_a"),
         ("author", "author", "auteur"), ("to", "to", "destinataires"), ("created_at", "created_at", "date_creation"),
         ("title", "title", "titre"), ("body", "text", "contenu")),
    ),
    "reactions": (
        "reactions.csv",
        "réactions.csv",
        (("item", "message", "message"), ("person", "user", "utilisateur"), ("emoji", "emoji", "emoji"),
         ("created_at", "date", "date")),
    ),
    "files": (
        "files.csv",
        "fichiers.csv",
        (("id", "id", "identifiant"), ("name", "name", "nom"), ("path", "path", "chemin"), ("size", "size", "taille"),
         ("author", "author", "auteur"), ("item", "message", "message")),
    ),
    "memberships": (
        "memberships.csv",
        "adhésions.csv",
        (("space", "group", "groupe"), ("person", "user", "utilisateur"), ("role", "role", "rôle")),
    ),
}  # fmt: skip
_PRIVATE_FR = "privé"


def _date(dialect: Dialect, when: datetime) -> str:
    if dialect.dates == "iso8601":
        return when.isoformat()
    if dialect.dates == "epoch_s":
        return str(int(when.timestamp()))
    if dialect.dates == "epoch_ms":
        return str(int(when.timestamp()) * 1000)
    return when.astimezone(ZoneInfo(dialect.timezone)).strftime(dialect.dates)


def _size(dialect: Dialect, size: int) -> str:
    return f"{size:,}".replace(",", "\u00a0") + ",0" if dialect.decimal == "," else str(size)


def _rows(entity: str, dialect: Dialect, r: Records) -> list[list[str]]:
    yes, no = dialect.words
    join = dialect.lists.join
    if entity == "persons":
        return [[i, h, n, e, yes if bot else no] for i, h, n, e, bot in r.persons]
    if entity == "spaces":
        return [
            [i, n, _PRIVATE_FR if dialect.french and v == "private" else v, c, join(m), _date(dialect, when)]
            for i, n, v, c, m, when in r.spaces
        ]
    if entity == "items":
        return [
            [i, s, p, a, join(to), _date(dialect, when), title, body]
            for i, s, p, a, to, when, title, body in r.items
        ]
    if entity == "reactions":
        return [[i, p, e, _date(dialect, when)] for i, p, e, when in r.reactions]
    if entity == "files":
        return [[i, n, path, _size(dialect, len(data)), a, item] for i, n, path, data, a, item in r.files]
    return [list(m) for m in r.memberships]


def mapping(dialect: Dialect) -> Mapping:
    files = []
    for entity, (en, fr, columns) in _COLUMNS.items():
        named = {
            f: (c_fr if dialect.french else c_en) if dialect.header else n + 1
            for n, (f, c_en, c_fr) in enumerate(columns)
        }
        lists: dict[str, str] = {f: dialect.lists for f in ("members", "to") if f in named}
        values: dict[str, dict[str, Constant]] = {}
        if dialect.french and entity == "spaces":
            values["visibility"] = {"public": "public", _PRIVATE_FR: "private"}
        files.append(
            FileMapping(
                path=fr if dialect.french else en,
                entity=entity,
                encoding=dialect.encoding,
                delimiter=dialect.delimiter,
                header=dialect.header,
                dates=dialect.dates,
                decimal=dialect.decimal,
                columns=named,
                lists=lists,
                values=values,
                comment=f"{entity} ({dialect.name})",
            )
        )
    return Mapping(files=tuple(files), platform="intranet", timezone=dialect.timezone)


def files_of(dialect: Dialect, r: Records | None = None) -> dict[str, bytes]:
    """Every file of the export: the tables, the file bytes (not the mapping)."""
    r = r or records()
    out: dict[str, bytes] = {}
    for entity, (en, fr, columns) in _COLUMNS.items():
        text = io.StringIO(newline="")
        writer = csv.writer(text, delimiter=dialect.delimiter, lineterminator=dialect.line_end)
        if dialect.header:
            writer.writerow([c_fr if dialect.french else c_en for _, c_en, c_fr in columns])
        writer.writerows(_rows(entity, dialect, r))
        out[fr if dialect.french else en] = text.getvalue().encode(dialect.codec)
    for _, _, path, data, _, _ in r.files:
        out[path] = data
    return out


def write(files: dict[str, bytes], dest: Path, *, layout: str = "folder") -> Path:
    if layout == "zip":
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in sorted(files.items()):
                zf.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data)
        return dest
    for name, data in files.items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_bytes(data)
    return dest


def write_export(
    dest: Path, dialect: Dialect, *, layout: str = "folder", extra: int = 0, inside: bool = True
) -> Path:
    """The export in this dialect, with its mapping inside (passerelle-mapping.toml) or beside
    it (``<dest>.toml``)."""
    files = files_of(dialect, records(extra))
    text = dump_mapping(mapping(dialect)).encode()
    if inside:
        files[MAPPING_NAME] = text
    else:
        dest.with_suffix(".toml").write_bytes(text)
    return write(files, dest, layout=layout)


def write_generated(dest: Path, layout: str = "folder") -> Path:
    """The conformance suite's source: French semicolons in cp1252 (a folder) or UTF-8 commas
    (a zip), with 300 more messages in threads."""
    dialect = DIALECTS[2] if layout == "folder" else DIALECTS[0]
    return write_export(dest, dialect, layout=layout, extra=300)
