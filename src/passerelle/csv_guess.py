"""``passerelle csv guess``: propose a mapping (docs/csv.md) for a set of CSV files.

Every file is *sampled*, never read whole: its first ``SAMPLE_BYTES`` (and at most
``SAMPLE_ROWS`` rows), through ``SourceTree`` (a folder, a zip or single files; hostile
names and sizes refused there). From the sample, in this order:

1. the **encoding**: a byte order mark wins (UTF-8, UTF-16); NUL bytes at every other
   position are BOM-less UTF-16; valid UTF-8 is UTF-8; otherwise the bytes 0x80-0x9F
   decide between Windows-1252 (they are its characters: the euro sign, curly quotes, oe) and Latin-1 (bytes
   Windows-1252 leaves undefined); with none of them the two read the sample alike and
   Windows-1252 is proposed, Latin-1 files never holding those bytes in practice;
2. the **dialect**: the delimiter among ``,`` ``;`` tab ``|`` whose quoting-aware parse
   gives the most consistent column count, the quote character, a space after the
   delimiter, and whether the first row is a header (distinct names, none looking like
   the data below it, known column names);
3. each column's **kind**: from its name (French and English, accents and case ignored),
   or, without a header, from its values (e-mail addresses, ``public``/``private``, epoch
   seconds and milliseconds, dates, lists, free text, identifiers);
4. each file's **entity** (persons, spaces, memberships, items, reactions, files), from its
   kinds and its name;
5. **cross-file references**: a column whose values are the persons (spaces) other files
   define refers to them, and the persons' (spaces') ``id`` column is the one the other
   files' references use;
6. each date column's **format**: ISO 8601, epoch seconds or milliseconds, or a
   ``strftime`` pattern, day-first or month-first decided by values over 12 and, when no
   value decides, day-first for a French-looking file (``;``, Windows-1252, French column
   names) and month-first otherwise, which the mapping says.

The result is deterministic: the same files give byte-identical TOML, every guess
commented with its reason and confidence.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from passerelle.errors import BadInputError
from passerelle.readers.csv_mapping import MAPPING_NAME, FileMapping, Mapping, dump_mapping
from passerelle.readers.source_tree import BadSourceError, EntryError, SourceTree

SAMPLE_BYTES = 64 * 1024
SAMPLE_ROWS = 1000
CSV_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
DELIMITERS = (",", ";", "\t", "|")
LIST_SEPARATORS = (";", ",", "|")
HIGH, MEDIUM, LOW = "high", "medium", "low"
ENTITIES = ("persons", "spaces", "memberships", "files", "items", "reactions")


# -- column kinds ------------------------------------------------------------------------


class Kind(StrEnum):
    """What a column holds, before it is given a field of its file's entity."""

    ID = "id"
    PERSON_ID = "person id"
    SPACE_ID = "space id"
    ITEM_ID = "item id"
    FILE_ID = "file id"
    PARENT = "parent"
    THREAD = "thread"
    AUTHOR = "author"
    CREATOR = "creator"
    USER = "person"
    HANDLE = "user name"
    TO = "recipient"
    EMAIL = "e-mail"
    NAME = "name"
    DISPLAY = "display name"
    REAL = "full name"
    FIRST = "first name"
    LAST = "last name"
    JOB = "job title"
    TZ = "time zone"
    DATE = "date"
    EDITED = "edit date"
    DELETED_AT = "deletion date"
    BODY = "text"
    HTML = "html text"
    TITLE = "title"
    SPACE = "space"
    VISIBILITY = "visibility"
    PRIVATE = "private flag"
    PUBLIC = "public flag"
    MEMBERS = "members"
    EMOJI = "emoji"
    ROLE = "role"
    SIZE = "size"
    MIME = "media type"
    PATH = "path"
    URL = "url"
    FILENAME = "file name"
    BOT = "bot flag"
    DELETED = "deleted flag"
    GUEST = "guest flag"
    ARCHIVED = "archived flag"
    PINNED = "pinned flag"
    TOPIC = "topic"
    PURPOSE = "description"
    ATTACHMENTS = "attachments"


# Column names, normalised (accents and case dropped, camelCase split, runs of other
# characters as "_"), per kind; within a kind the earlier name is the better one (Yammer's
# replied_to_id is the parent before parent_id).
_NAMES: dict[Kind, tuple[str, ...]] = {
    Kind.ID: ("id", "identifiant", "ident", "uuid", "guid", "key", "cle", "numero", "num", "no"),
    Kind.PERSON_ID: (
        "user_id", "userid", "id_user", "id_utilisateur", "utilisateur_id", "person_id",
        "personne_id", "id_personne", "member_id", "id_membre", "membre_id", "account_id",
        "id_compte", "uid", "employee_id", "id_salarie",
    ),
    Kind.SPACE_ID: (
        "group_id", "groupid", "id_groupe", "groupe_id", "channel_id", "channelid", "id_canal",
        "canal_id", "room_id", "roomid", "rid", "space_id", "id_espace", "espace_id",
        "community_id", "id_communaute", "communaute_id", "team_id", "id_equipe",
    ),
    Kind.ITEM_ID: (
        "message_id", "messageid", "msg_id", "id_message", "message_id_ref", "post_id", "postid",
        "id_post", "id_publication", "publication_id", "item_id", "id_item", "comment_id",
        "id_commentaire", "topic_id",
    ),
    Kind.FILE_ID: (
        "file_id", "fileid", "id_fichier", "fichier_id", "attachment_id", "id_piece_jointe",
        "document_id", "id_document",
    ),
    Kind.PARENT: (
        "replied_to_id", "reply_to", "reply_to_id", "in_reply_to", "in_reply_to_id",
        "en_reponse_a", "reponse_a", "repond_a", "parent_id", "id_parent", "parent",
        "parent_message", "parent_post", "parent_message_id", "parent_post_id",
    ),
    Kind.THREAD: (
        "thread_id", "thread", "id_fil", "fil", "fil_id", "discussion_id", "id_discussion",
        "root_id", "thread_root", "thread_root_id", "thread_ts", "conversation_id",
        "id_conversation",
    ),
    Kind.AUTHOR: (
        "auteur", "author", "sender", "from", "de", "expediteur", "emetteur", "posted_by",
        "author_id", "id_auteur", "auteur_id", "sender_id", "id_expediteur", "posteur",
        "redacteur", "ecrit_par", "publie_par", "author_name", "sender_name", "nom_auteur",
        "author_email", "sender_email", "email_auteur",
    ),
    Kind.CREATOR: (
        "creator", "createur", "created_by", "created_by_id", "creator_id", "cree_par",
        "id_createur", "owner", "owner_id", "proprietaire", "uploader", "uploader_id",
        "uploaded_by", "depose_par",
    ),
    Kind.USER: (
        "user", "utilisateur", "member", "membre", "person", "personne", "participant",
        "voter", "voter_id", "liker", "liked_by", "reacted_by", "employee", "salarie",
        "account", "compte", "reacteur",
    ),
    Kind.HANDLE: (
        "username", "user_name", "login", "handle", "pseudo", "screen_name", "nom_utilisateur",
        "identifiant_de_connexion", "slug", "nickname", "surnom", "nom_d_utilisateur",
    ),
    Kind.TO: (
        "to", "recipient", "recipients", "destinataire", "destinataires", "dest", "sent_to",
        "envoye_a",
    ),
    Kind.EMAIL: (
        "email", "e_mail", "courriel", "mail", "adresse_email", "adresse_mail",
        "adresse_electronique", "email_address", "mail_address", "emailaddress",
    ),
    Kind.NAME: ("name", "nom", "libelle", "label", "intitule"),
    Kind.DISPLAY: (
        "display_name", "displayname", "nom_affiche", "affichage", "nom_d_affichage",
        "screen_title",
    ),
    Kind.REAL: (
        "real_name", "realname", "full_name", "fullname", "nom_complet", "prenom_nom",
        "nom_prenom",
    ),
    Kind.FIRST: ("prenom", "first_name", "firstname", "given_name", "givenname"),
    Kind.LAST: ("last_name", "lastname", "surname", "family_name", "nom_de_famille", "nom_famille"),
    Kind.JOB: ("job_title", "jobtitle", "job", "poste", "fonction", "intitule_du_poste"),
    Kind.TZ: ("timezone", "time_zone", "tz", "fuseau", "fuseau_horaire"),
    Kind.DATE: (
        "date_creation", "created_at", "creation_date", "date_de_creation", "created",
        "created_on", "creation", "date", "datetime", "date_heure", "timestamp", "ts", "time",
        "heure", "date_publication", "date_de_publication", "published", "published_at",
        "posted_at", "sent_at", "date_envoi", "date_d_envoi", "joined_at", "date_inscription",
        "horodatage",
    ),
    Kind.EDITED: (
        "edited_at", "updated_at", "modified_at", "date_modification", "date_de_modification",
        "modified", "updated", "edited", "last_modified", "modifie_le", "date_maj",
    ),
    Kind.DELETED_AT: ("deleted_at", "date_suppression", "date_de_suppression", "supprime_le"),
    Kind.BODY: (
        "body", "contenu", "content", "message", "text", "texte", "msg", "corps", "comment",
        "commentaire", "message_body", "corps_du_message", "post", "publication", "contenu_texte",
    ),
    Kind.HTML: ("html_body", "body_html", "html", "contenu_html"),
    Kind.TITLE: ("titre", "title", "sujet", "subject", "objet", "headline", "entete"),
    Kind.SPACE: (
        "groupe", "group", "group_name", "nom_groupe", "nom_du_groupe", "channel", "channel_name",
        "canal", "nom_canal", "room", "room_name", "salon", "space", "space_name", "espace",
        "community", "communaute", "chaine", "team", "equipe", "forum",
    ),
    Kind.VISIBILITY: (
        "visibilite", "visibility", "privacy", "confidentialite", "acces", "access",
        "access_type", "type_acces", "niveau_acces",
    ),
    Kind.PRIVATE: (
        "private", "prive", "privee", "is_private", "in_private_group", "secret", "est_prive",
    ),
    Kind.PUBLIC: ("public", "publique", "is_public", "est_public"),
    Kind.MEMBERS: (
        "membres", "members", "participants", "users", "utilisateurs", "member_list",
        "liste_membres", "usernames",
    ),
    Kind.EMOJI: ("emoji", "emoji_name", "reaction", "reaction_name", "emoticone", "smiley", "reaction_type"),
    Kind.ROLE: ("role", "member_role", "membership_role", "role_membre", "admin_type"),
    Kind.SIZE: ("size", "taille", "bytes", "file_size", "size_bytes", "poids", "taille_octets"),
    Kind.MIME: ("mime_type", "mimetype", "media_type", "content_type", "type_mime", "mime", "file_type"),
    Kind.PATH: ("path", "chemin", "file_path", "local_path", "storage_path", "chemin_fichier"),
    Kind.URL: ("url", "link", "lien", "download_url", "permalink", "web_url", "web_link"),
    Kind.FILENAME: ("filename", "file_name", "nom_fichier", "nom_du_fichier", "fichier", "file"),
    Kind.BOT: ("is_bot", "bot", "robot"),
    Kind.DELETED: ("deleted", "is_deleted", "supprime", "removed", "efface"),
    Kind.GUEST: ("is_guest", "guest", "invite", "externe", "external"),
    Kind.ARCHIVED: ("archived", "is_archived", "archive", "archivee", "closed", "ferme"),
    Kind.PINNED: ("pinned", "is_pinned", "epingle"),
    Kind.TOPIC: ("topic", "theme"),
    Kind.PURPOSE: ("description", "purpose", "objectif", "but", "resume", "about"),
    Kind.ATTACHMENTS: (
        "attachments", "pieces_jointes", "piece_jointe", "files", "fichiers", "attachment",
    ),
}  # fmt: skip

_BY_NAME: dict[str, tuple[Kind, int]] = {}
for _kind, _names in _NAMES.items():
    for _rank, _name in enumerate(_names):
        _BY_NAME.setdefault(_name, (_kind, _rank))

# Names that say a file is French (for ambiguous dates).
_FRENCH_NAMES = frozenset(
    n
    for n in _BY_NAME
    if n
    in {
        "identifiant", "auteur", "expediteur", "contenu", "texte", "groupe", "canal", "titre",
        "sujet", "date_creation", "date_de_creation", "courriel", "nom", "prenom", "visibilite",
        "membres", "utilisateur", "en_reponse_a", "destinataire", "fichier", "taille", "chemin",
        "date_publication", "date_envoi", "commentaire", "prive", "supprime", "equipe", "salon",
    }
)  # fmt: skip

# File names (stem, normalised) that suggest an entity.
_FILE_HINTS: tuple[tuple[str, str], ...] = (
    ("reaction", "reactions"), ("like", "reactions"), ("aime", "reactions"), ("vote", "reactions"),
    ("membership", "memberships"), ("adhesion", "memberships"), ("group_member", "memberships"),
    ("channel_member", "memberships"), ("room_member", "memberships"), ("membres_groupe", "memberships"),
    ("attachment", "files"), ("piece", "files"), ("fichier", "files"), ("file", "files"),
    ("upload", "files"), ("document", "files"),
    ("message", "items"), ("post", "items"), ("publication", "items"), ("comment", "items"),
    ("reponse", "items"), ("repl", "items"), ("conversation", "items"), ("thread", "items"),
    ("discussion", "items"), ("article", "items"), ("page", "items"), ("item", "items"),
    ("group", "spaces"), ("channel", "spaces"), ("canal", "spaces"), ("canaux", "spaces"),
    ("room", "spaces"), ("salon", "spaces"), ("space", "spaces"), ("espace", "spaces"),
    ("communaut", "spaces"), ("communit", "spaces"), ("team", "spaces"), ("equipe", "spaces"),
    ("user", "persons"), ("utilisateur", "persons"), ("member", "persons"), ("membre", "persons"),
    ("person", "persons"), ("people", "persons"), ("account", "persons"), ("compte", "persons"),
    ("employe", "persons"), ("salarie", "persons"), ("contact", "persons"), ("admin", "persons"),
)  # fmt: skip

_KIND_BY_FILE = (
    ("comment", "comment"), ("reponse", "comment"), ("repl", "comment"),
    ("post", "post"), ("publication", "post"), ("article", "post"), ("page", "page"),
)  # fmt: skip


def normalise(name: str) -> str:
    """``Date de création`` -> ``date_de_creation``; ``createdAt`` -> ``created_at``."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return re.sub(r"[^0-9a-z]+", "_", plain).strip("_")


def kind_of_name(name: str) -> tuple[Kind, int, str] | None:
    """The kind a column's name says (with its rank among that kind's names, and how it was
    recognised), or None."""
    key = normalise(name)
    if key in _BY_NAME:
        kind, rank = _BY_NAME[key]
        return kind, rank, "exact"
    parts = key.split("_")
    # <entity>_id / id_<entity>, <something>_at, ...date..., ...mail...
    for base in (key.removesuffix("_id"), key.removeprefix("id_")):
        if base != key and base in _BY_NAME:
            kind = _BY_NAME[base][0]
            kind = {
                Kind.SPACE: Kind.SPACE_ID,
                Kind.USER: Kind.PERSON_ID,
                Kind.BODY: Kind.ITEM_ID,
                Kind.FILENAME: Kind.FILE_ID,
            }.get(kind, kind)
            return kind, 50, "pattern"
    if "mail" in key or "courriel" in key:
        return Kind.EMAIL, 50, "pattern"
    if any(p in ("date", "at", "on", "le", "timestamp", "time") for p in parts) or key.startswith("date"):
        if any(p.startswith(("modif", "updat", "edit", "maj")) for p in parts):
            return Kind.EDITED, 50, "pattern"
        if any(p.startswith(("delet", "suppr")) for p in parts):
            return Kind.DELETED_AT, 50, "pattern"
        return Kind.DATE, 60, "pattern"
    return None


# -- cell values -------------------------------------------------------------------------

_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")
_INT = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+[.,]\d+")
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?"
)
_NUMERIC_DATE = re.compile(
    r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?)?"
)
_YEAR_FIRST = re.compile(r"(\d{4})([/.])(\d{1,2})\2(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_IDENTIFIER = re.compile(r"[\w.:@-]*\d[\w.:@-]*")
_URL = re.compile(r"(?:https?|ftp)://\S+", re.IGNORECASE)
_EMOJI_CODE = re.compile(r":[a-z0-9_+\-]+:(?::skin-tone-\d:)?", re.IGNORECASE)


def _is_emoji_char(ch: str) -> bool:
    """A pictograph (from the arrows block on), a skin tone, a joiner or a variation selector."""
    return (ord(ch) >= 0x2190 and unicodedata.category(ch) in ("So", "Sk")) or ch in "\u200d\ufe0f\u20e3"


_BOOLEAN = frozenset(
    {"true", "false", "yes", "no", "oui", "non", "vrai", "faux", "0", "1", "y", "n", "t", "f"}
)
_TRUE = frozenset({"true", "yes", "oui", "vrai", "1", "y", "t"})
_PUBLIC_WORDS = frozenset({"public", "publique", "open", "ouvert", "ouverte"})
_PRIVATE_WORDS = frozenset(
    {"private", "prive", "privee", "secret", "secrete", "restricted", "restreint", "restreinte",
     "closed", "ferme", "fermee", "confidentiel", "confidentielle"}
)  # fmt: skip
_EPOCH_S = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01
_MIME = re.compile(r"[a-z]+/[a-z0-9.+\-]+", re.IGNORECASE)


def _plain(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _is_epoch(value: str, digits: int, low: int, high: int) -> bool:
    return len(value) == digits and value.isdigit() and low <= int(value) < high


def _is_date(value: str) -> bool:
    return bool(
        _ISO.fullmatch(value)
        or _NUMERIC_DATE.fullmatch(value)
        or _YEAR_FIRST.fullmatch(value)
        or _is_epoch(value, 10, *_EPOCH_S)
        or _is_epoch(value, 13, _EPOCH_S[0] * 1000, _EPOCH_S[1] * 1000)
    )


def _is_typed(value: str) -> bool:
    """A value that cannot be a column name: a number, date, e-mail address or URL."""
    v = value.strip()
    return bool(
        _INT.fullmatch(v) or _DECIMAL.fullmatch(v) or _is_date(v) or _EMAIL.fullmatch(v) or _URL.fullmatch(v)
    )


# -- dates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateFormat:
    """How a column writes its dates: ``iso8601``, ``epoch_s``, ``epoch_ms`` or a strftime pattern."""

    form: str
    confidence: str
    reason: str
    matched: int
    total: int


def guess_date_format(values: Sequence[str], *, french: bool) -> DateFormat | None:
    """The format of a column of dates, or None when the values are not dates."""
    values = [v.strip() for v in values if v.strip()]
    if not values:
        return None
    total = len(values)
    candidates: list[tuple[int, str, str, str]] = []  # matched, form, confidence, reason
    ms = sum(_is_epoch(v, 13, _EPOCH_S[0] * 1000, _EPOCH_S[1] * 1000) for v in values)
    candidates.append((ms, "epoch_ms", HIGH, "13-digit numbers: milliseconds since 1970 (UTC)"))
    s = sum(_is_epoch(v, 10, *_EPOCH_S) for v in values)
    candidates.append((s, "epoch_s", HIGH, "10-digit numbers: seconds since 1970 (UTC)"))
    iso = [m for m in (_ISO.fullmatch(v) for v in values) if m]
    if iso:
        offsets = sum(1 for m in iso if m.group(7))
        if offsets == len(iso):
            why = "ISO 8601 with a UTC offset"
        elif offsets:
            why = f"ISO 8601, {offsets} of {len(iso)} with a UTC offset (the others in the timezone)"
        else:
            why = "ISO 8601 without an offset: read in the mapping's timezone"
        candidates.append((len(iso), "iso8601", HIGH, why))
    numeric = [m for m in (_NUMERIC_DATE.fullmatch(v) for v in values) if m]
    if numeric:
        candidates.append(_numeric_pattern(numeric, french=french))
    year_first = [m for m in (_YEAR_FIRST.fullmatch(v) for v in values) if m]
    if year_first:
        sep = Counter(m.group(2) for m in year_first).most_common(1)[0][0]
        time = _time_part([(m.group(5), m.group(7), None) for m in year_first])
        pattern = f"%Y{sep}%m{sep}%d{time[0]}"
        candidates.append((len(year_first), pattern, HIGH, f"year first{time[1]}"))
    matched, form, confidence, reason = max(candidates, key=lambda c: c[0])
    if matched == 0:
        return None
    if matched < total:
        confidence = LOW if matched * 2 < total else MEDIUM
        reason += f"; {total - matched} of {total} sampled values do not have this form"
    return DateFormat(form, confidence, reason, matched, total)


def _time_part(parts: Sequence[tuple[str | None, str | None, str | None]]) -> tuple[str, str]:
    """The strftime tail for the commonest time form (hours, seconds, AM/PM), and a note."""
    forms = Counter((h is not None, sec is not None, ampm is not None) for h, sec, ampm in parts)
    (has_time, has_seconds, has_ampm), count = forms.most_common(1)[0]
    note = ""
    if len(forms) > 1:
        note = f" (the commonest form, {count} of {len(parts)}: the others will not read)"
    if not has_time:
        return "", note
    hours = "%I" if has_ampm else "%H"
    tail = f" {hours}:%M" + (":%S" if has_seconds else "") + (" %p" if has_ampm else "")
    return tail, note


def _numeric_pattern(matches: Sequence[re.Match[str]], *, french: bool) -> tuple[int, str, str, str]:
    firsts = [int(m.group(1)) for m in matches]
    seconds = [int(m.group(3)) for m in matches]
    sep = Counter(m.group(2) for m in matches).most_common(1)[0][0]
    year = "%Y" if Counter(len(m.group(4)) for m in matches).most_common(1)[0][0] == 4 else "%y"
    time, note = _time_part([(m.group(5), m.group(7), m.group(8)) for m in matches])
    day_first_evidence = sum(1 for v in firsts if v > 12)
    month_first_evidence = sum(1 for v in seconds if v > 12)
    if day_first_evidence and not month_first_evidence:
        day_first, confidence = True, HIGH
        reason = f"day first: {day_first_evidence} sampled values have a first number over 12"
    elif month_first_evidence and not day_first_evidence:
        day_first, confidence = False, HIGH
        reason = f"month first: {month_first_evidence} sampled values have a second number over 12"
    elif day_first_evidence and month_first_evidence:
        day_first = day_first_evidence >= month_first_evidence
        confidence = LOW
        reason = (
            f"AMBIGUOUS: {day_first_evidence} values read day first only and {month_first_evidence} "
            f"month first only; {'day' if day_first else 'month'} first chosen, check it"
        )
    else:
        day_first = french
        confidence = LOW
        reason = "AMBIGUOUS: no sampled value has a day over 12; " + (
            "day first (dd/mm) chosen because the file looks French (';' separator, Windows-1252 or French column names)"
            if french
            else "month first (mm/dd) chosen because the file does not look French; edit to %d/%m if it is day first"
        )
    pattern = f"%d{sep}%m{sep}{year}" if day_first else f"%m{sep}%d{sep}{year}"
    return len(matches), pattern + time, confidence, reason + note


# -- sampling: encoding and dialect -------------------------------------------------------

_C1_UNDEFINED_IN_CP1252 = frozenset(b"\x81\x8d\x8f\x90\x9d")
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


@dataclass(frozen=True)
class Guessed:
    """A guessed value with its confidence and the reason, for the mapping's comments."""

    value: str
    confidence: str
    reason: str


def guess_encoding(data: bytes, *, truncated: bool = False) -> Guessed | None:
    """The encoding of a file from its first bytes; None when they are not text."""
    if data.startswith(codecs.BOM_UTF8):
        return Guessed("utf-8-sig", HIGH, "UTF-8 byte order mark")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Guessed("utf-16", HIGH, "UTF-16 byte order mark")
    if b"\x00" in data:
        head = data[: min(len(data), 8192) // 2 * 2]
        pairs = max(1, len(head) // 2)
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > 0.3 * pairs and even < 0.02 * pairs:
            return Guessed("utf-16-le", HIGH, "no byte order mark; NUL bytes after every ASCII character")
        if even > 0.3 * pairs and odd < 0.02 * pairs:
            return Guessed("utf-16-be", HIGH, "no byte order mark; NUL bytes before every ASCII character")
        return None
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=not truncated)
    except UnicodeDecodeError:
        pass
    else:
        if data.isascii():
            return Guessed(
                "utf-8",
                MEDIUM if truncated else HIGH,
                "only ASCII in the sample"
                + (f" (the first {len(data)} bytes)" if truncated else "")
                + ": UTF-8, Windows-1252 and Latin-1 read it alike",
            )
        return Guessed("utf-8", HIGH, "valid UTF-8 with non-ASCII characters")
    high = sum(1 for b in data if b >= 0x80)
    in_sequences = sum(len(m.group()) for m in _UTF8_SEQUENCE.finditer(data))
    if in_sequences and high - in_sequences <= in_sequences:
        return Guessed(
            "utf-8",
            LOW,
            f"mostly UTF-8, but {high - in_sequences} bytes in the sample are not: "
            "the reader reports each such line and keeps its bytes",
        )
    c1 = {b for b in data if 0x80 <= b <= 0x9F}
    undefined = c1 & _C1_UNDEFINED_IN_CP1252
    if undefined:
        shown = ", ".join(f"0x{b:02X}" for b in sorted(undefined))
        return Guessed("latin-1", MEDIUM, f"not UTF-8; bytes {shown} are not Windows-1252 characters")
    if c1:
        return Guessed(
            "cp1252",
            HIGH,
            "not UTF-8; bytes 0x80-0x9F are Windows-1252 characters (the euro sign, curly quotes, oe...), control codes in Latin-1",
        )
    return Guessed(
        "cp1252",
        MEDIUM,
        "not UTF-8; no byte 0x80-0x9F in the sample, so Windows-1252 and Latin-1 read it alike "
        "(Windows-1252 chosen: Latin-1 files almost never hold those bytes)",
    )


def _decode(data: bytes, encoding: str, *, truncated: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(data, final=not truncated)


@dataclass
class Dialect:
    delimiter: Guessed
    quote: str
    skip_initial_space: bool
    skip_reason: str


def _parse(
    text: str, delimiter: str, quote: str, skip: bool, *, truncated: bool, strict: bool = False
) -> list[list[str]]:
    """The sample's rows (at most SAMPLE_ROWS); with ``strict``, as the reader reads them:
    csv.Error is raised where a quote is not followed by the delimiter."""
    if truncated:
        # The sample ends at its last line break: no row is cut, unless a quoted field
        # spans lines there (then that last value is cut short, which a guess can bear).
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[: cut + 1] if cut >= 0 else ""
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar=quote or None,
        quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE,
        skipinitialspace=skip,
        strict=strict,
    )
    rows: list[list[str]] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) > SAMPLE_ROWS:
                break
    except csv.Error:
        if strict:
            raise
        # the sample ends at the first row the csv module refuses (a NUL, a huge field)
    return rows[:SAMPLE_ROWS]


def _strictly_readable(text: str, delimiter: str, *, truncated: bool) -> bool:
    try:
        _parse(text, delimiter, '"', False, truncated=truncated, strict=True)
    except csv.Error:
        return False
    return True


def _consistency(rows: Sequence[Sequence[str]]) -> tuple[int, float]:
    counts = Counter(len(r) for r in rows)
    if not counts:
        return 0, 0.0
    modal, hits = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return modal, hits / len(rows)


def guess_dialect(text: str, *, truncated: bool) -> Dialect:
    scored = []
    for order, delimiter in enumerate(DELIMITERS):
        rows = _parse(text, delimiter, '"', False, truncated=truncated)
        modal, share = _consistency(rows)
        # A delimiter under which a quoted field is followed by something else cannot be the
        # file's: the reader, which reads strictly, would refuse that row (the header, first).
        readable = _strictly_readable(text, delimiter, truncated=truncated)
        scored.append(
            (
                (readable, modal >= 2, round(share, 1), modal, share, -order),
                delimiter,
                modal,
                share,
                len(rows),
            )
        )
    best = max(scored, key=lambda s: s[0])
    _, delimiter, modal, share, n = best
    shown = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "vertical bar"}[delimiter]
    if modal < 2:
        guessed = Guessed(",", LOW, "no delimiter gives more than one column: a single column")
    else:
        runner_up = sorted((s for s in scored if s[1] != delimiter), key=lambda s: s[0])[-1]
        # High when no other delimiter splits the rows about as consistently.
        close = runner_up[2] >= 2 and runner_up[3] > share - 0.04
        confidence = HIGH if share >= 0.95 and not close else MEDIUM
        if share < 0.8:
            confidence = LOW
        guessed = Guessed(
            delimiter, confidence, f"{shown}: {modal} columns in {round(share * 100)}% of {n} sampled rows"
        )
    quote = _guess_quote(text, guessed.value)
    rows = _parse(text, guessed.value, quote, False, truncated=truncated)
    later = [f for r in rows for f in r[1:] if f]
    spaced = sum(1 for f in later if f.startswith(" "))
    skip = bool(later) and spaced >= 2 and spaced >= 0.8 * len(later)
    reason = f"{spaced} of {len(later)} fields after the first start with a space" if skip else ""
    return Dialect(guessed, quote, skip, reason)


def _guess_quote(text: str, delimiter: str) -> str:
    d = re.escape(delimiter)
    double = len(re.findall(rf'(?:^|{d}|\n) *"', text))
    single = len(re.findall(rf"(?:^|{d}|\n) *'[^'\n]*'(?={d}|\r?\n|$)", text))
    return "'" if single > double and single >= 2 else '"'


# -- columns and files -------------------------------------------------------------------


@dataclass
class Column:
    index: int  # 0-based
    header: str | None
    values: list[str]  # the sampled values, in order (empty cells included)
    kind: Kind | None = None
    rank: int = 99
    confidence: str = LOW
    reason: str = ""
    list_separator: str | None = None
    tokens: set[str] = field(default_factory=set)  # values, or list items, as written

    @property
    def shown(self) -> str:
        return f"{self.header!r}" if self.header is not None else f"column {self.index + 1}"

    @property
    def filled(self) -> list[str]:
        return [v.strip() for v in self.values if v.strip()]

    def share(self, predicate: Callable[[str], bool]) -> tuple[int, int]:
        filled = self.filled
        return sum(1 for v in filled if predicate(v)), len(filled)

    def set(self, kind: Kind, confidence: str, reason: str, rank: int = 99) -> None:
        self.kind, self.confidence, self.reason, self.rank = kind, confidence, reason, rank


@dataclass
class FileSample:
    path: str  # as the mapping names it
    encoding: Guessed
    dialect: Dialect
    header: Guessed
    columns: list[Column]
    rows: int
    truncated: bool
    french: bool = False
    entity: Guessed | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class FileGuess:
    """One ``[[file]]`` of the proposed mapping, with the comments that explain it."""

    path: str
    entity: str
    encoding: str
    delimiter: str
    quote: str
    header: bool
    skip_initial_space: bool
    dates: str | None
    decimal: str | None
    columns: dict[str, int | str]
    lists: dict[str, str]
    values: dict[str, dict[str, str]]
    constants: dict[str, str]
    confidence: str  # of the entity
    comments: list[str]  # lines before the file's table
    field_comments: dict[str, str]  # field -> the reason (columns, lists, values, constants)


@dataclass
class MappingGuess:
    platform: str
    timezone: str
    files: list[FileGuess]
    comments: list[str]


def _header_guess(rows: Sequence[Sequence[str]]) -> Guessed:
    if not rows:
        return Guessed("false", LOW, "no row in the sample")
    first = [c.strip() for c in rows[0]]
    data = rows[1:]
    if any(not c for c in first):
        return Guessed("false", HIGH, "the first row has empty cells")
    if any(_is_typed(c) for c in first):
        return Guessed("false", HIGH, "the first row holds numbers, dates, e-mail addresses or URLs")
    if len({normalise(c) for c in first}) < len(first):
        return Guessed("false", MEDIUM, "the first row repeats a value")
    known = sum(1 for c in first if kind_of_name(c))
    score = 0
    for i, cell in enumerate(first):
        below = [r[i].strip() for r in data if i < len(r) and r[i].strip()]
        if not below:
            continue
        typed = sum(1 for v in below if _is_typed(v) or _plain(v) in _BOOLEAN)
        words = {_plain(v) for v in below}
        if _plain(cell) in words or (
            _plain(cell) in _PUBLIC_WORDS | _PRIVATE_WORDS and words & (_PUBLIC_WORDS | _PRIVATE_WORDS)
        ):
            score -= 2  # the first row's value appears in its column: data
        elif typed * 2 > len(below):
            score += 1  # text above numbers, dates, e-mail addresses
    if known and known * 2 >= len(first):
        return Guessed("true", HIGH, f"{known} of {len(first)} names in the first row are known column names")
    if known + score > 0:
        return Guessed(
            "true", MEDIUM, f"the first row's {len(first)} distinct names sit above differently typed values"
        )
    return Guessed("false", MEDIUM, "the first row looks like the rows below it")


def _kinds_from_names(columns: list[Column]) -> None:
    for column in columns:
        assert column.header is not None
        found = kind_of_name(column.header)
        if found is None:
            column.reason = "name not recognised: kept in raw only"
            continue
        kind, rank, how = found
        confidence = HIGH if how == "exact" else MEDIUM
        filled = column.filled
        if kind in (Kind.BODY, Kind.HTML) and filled and all(_IDENTIFIER.fullmatch(v) for v in filled):
            # "message" naming a message's id (a reactions or files table), not its text.
            column.set(Kind.ITEM_ID, MEDIUM, f"named {column.header!r} but holds identifiers", rank)
            continue
        column.set(kind, confidence, f"named {column.header!r}", rank)


def _list_separator(values: Sequence[str], delimiter: str) -> str | None:
    counts = Counter(sep for v in values for sep in LIST_SEPARATORS if sep != delimiter and sep in v)
    return counts.most_common(1)[0][0] if counts else None


def _split(value: str, separator: str | None) -> list[str]:
    if separator is None:
        return [value.strip()] if value.strip() else []
    return [t.strip() for t in value.split(separator) if t.strip()]


def _kinds_from_values(column: Column, delimiter: str, *, first: bool) -> None:
    filled = column.filled
    n = len(filled)
    if not n:
        column.reason = "empty in the sample"
        return
    emails, _ = column.share(lambda v: bool(_EMAIL.fullmatch(v)))
    if emails == n:
        column.set(Kind.EMAIL, HIGH, f"all {n} sampled values are e-mail addresses")
        return
    words = {_plain(v) for v in filled}
    if words <= _PUBLIC_WORDS | _PRIVATE_WORDS:
        column.set(Kind.VISIBILITY, HIGH, f"values {', '.join(sorted(set(filled)))}")
        return
    dates, _ = column.share(_is_date)
    if dates * 10 >= n * 9:
        column.set(Kind.DATE, HIGH if dates == n else MEDIUM, f"{dates} of {n} sampled values are dates")
        return
    if words <= _BOOLEAN:
        column.reason = f"booleans ({', '.join(sorted(set(filled)))}): kept in raw only"
        return
    emoji = sum(1 for v in filled if _EMOJI_CODE.fullmatch(v) or all(_is_emoji_char(ch) for ch in v))
    if emoji == n:
        column.set(Kind.EMOJI, HIGH, f"all {n} sampled values are emoji (:name: or pictographs)")
        return
    separator = _list_separator(filled, delimiter)
    lengths = [len(v) for v in filled]
    word_counts = [len(v.split()) for v in filled]
    mean_words = sum(word_counts) / n
    if max(lengths) >= 60 or mean_words >= 4:
        column.set(Kind.BODY, MEDIUM, f"free text (about {round(mean_words)} words a value)")
        return
    if separator and all(" " not in t for v in filled for t in _split(v, separator)):
        listed = sum(1 for v in filled if separator in v)
        column.list_separator = separator
        column.tokens = {t for v in filled for t in _split(v, separator)}
        column.reason = f"lists separated by {separator!r} in {listed} of {n} sampled values"
        return
    column.tokens = set(filled)
    spaced = sum(1 for c in word_counts if c >= 2)
    if spaced * 2 >= n and max(word_counts) <= 5:
        column.set(Kind.DISPLAY, MEDIUM, "short text of a few words: names")
        return
    ints, _ = column.share(lambda v: bool(_INT.fullmatch(v)))
    unique = len(set(filled)) == n
    if ints == n:
        if unique and first:
            column.set(Kind.ID, MEDIUM, "distinct numbers in the first column")
        else:
            column.reason = "numbers: kept in raw only unless another file refers to them"
        return
    if spaced == 0 and unique and first:
        column.set(Kind.NAME, MEDIUM, "distinct single words in the first column: identifiers")
        return
    if spaced == 0:
        column.reason = "single words: kept in raw only unless another file defines them"
        return
    column.reason = "not recognised: kept in raw only"


def _looks_french(sample: FileSample) -> bool:
    if sample.dialect.delimiter.value == ";" or sample.encoding.value in ("cp1252", "latin-1"):
        return True
    names = {normalise(c.header) for c in sample.columns if c.header}
    return bool(names & _FRENCH_NAMES)


# -- reading the inputs ------------------------------------------------------------------


@dataclass(frozen=True)
class _Input:
    tree: SourceTree
    entry: str
    path: str  # as the mapping names it


def _inputs(paths: Sequence[Path]) -> tuple[list[_Input], list[str]]:
    """Every CSV file to look at, named as the mapping will name it, and what was skipped."""
    if not paths:
        raise BadInputError("csv guess: no file given")
    skipped: list[str] = []
    containers = [p for p in paths if p.is_dir() or _is_zip(p)]
    if containers and len(paths) > 1:
        raise BadInputError(
            "csv guess: give one folder or zip, or CSV files; not " + ", ".join(str(p) for p in paths)
        )
    trees: list[tuple[SourceTree, list[str], Callable[[str], str]]] = []
    try:
        if containers:
            tree = SourceTree.open(paths[0])
            names = [n for n in tree.names() if n.lower().endswith(CSV_SUFFIXES)]
            skipped += [f"{p.entry}: {p.message}" for p in tree.problems]
            if MAPPING_NAME in tree:
                skipped.append(
                    f"{MAPPING_NAME}: the source holds its own mapping, which `ingest --from csv` reads "
                    "without --mapping (an export of passerelle's: prefer it to this guess)"
                )
            trees.append((tree, names, lambda n: n))
        else:
            for p in paths:
                if not p.is_file():
                    raise BadInputError(f"csv guess: {p}: no such file")
            base = Path(os.path.commonpath([p.resolve().parent for p in paths]))
            for p in sorted(paths, key=lambda q: q.resolve().relative_to(base).as_posix()):
                relative = p.resolve().relative_to(base).as_posix()
                tree = SourceTree.open(p)
                trees.append((tree, list(tree.names()), _constant(relative)))
    except BadSourceError as exc:
        raise BadInputError(f"csv guess: {exc}") from None
    inputs = [_Input(tree, name, shown(name)) for tree, names, shown in trees for name in names]
    seen: set[str] = set()
    unique: list[_Input] = []
    for item in sorted(inputs, key=lambda i: i.path):
        if item.path not in seen:
            seen.add(item.path)
            unique.append(item)
    return unique, skipped


def _constant(name: str) -> Callable[[str], str]:
    return lambda _entry: name


def _is_zip(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _read_sample(item: _Input) -> tuple[bytes, bool]:
    with item.tree.open_entry(item.entry) as handle:
        data = handle.read(SAMPLE_BYTES + 1)
    return data[:SAMPLE_BYTES], len(data) > SAMPLE_BYTES


def sample_file(path: str, data: bytes, *, truncated: bool) -> FileSample | str:
    """A file's sample read into columns, or the reason it is not a CSV file."""
    encoding = guess_encoding(data, truncated=truncated)
    if encoding is None:
        return "NUL bytes that are not UTF-16: not a text file"
    if encoding.value.startswith("utf-16") and truncated:
        data = data[: len(data) // 2 * 2]
    text = _decode(data, encoding.value, truncated=truncated)
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        return "empty"
    dialect = guess_dialect(text, truncated=truncated)
    rows = _parse(
        text, dialect.delimiter.value, dialect.quote, dialect.skip_initial_space, truncated=truncated
    )
    if not rows:
        return f"no complete row in the first {len(data)} bytes"
    header = _header_guess(rows)
    # The first row (header or not) sets the columns, as the reader counts them: rows of
    # another width are the reader's to report.
    width = len(rows[0])
    names: list[str | None] = [None] * width
    data_rows = rows
    if header.value == "true":
        names = [c.strip() for c in rows[0]] + [None] * (width - len(rows[0]))
        data_rows = rows[1:]
    columns = [Column(i, names[i], [r[i] if i < len(r) else "" for r in data_rows]) for i in range(width)]
    sample = FileSample(path, encoding, dialect, header, columns, len(data_rows), truncated)
    if header.value == "true":
        _kinds_from_names(columns)
    for column in columns:
        if column.kind is None:
            _kinds_from_values(column, dialect.delimiter.value, first=column.index == 0)
        elif column.kind in (Kind.MEMBERS, Kind.TO, Kind.ATTACHMENTS):
            column.list_separator = _list_separator(column.filled, dialect.delimiter.value)
        if not column.tokens:
            column.tokens = {t for v in column.filled for t in _split(v, column.list_separator)}
    sample.french = _looks_french(sample)
    return sample


# -- entities ----------------------------------------------------------------------------

_PERSON_REFS = (Kind.PERSON_ID, Kind.USER, Kind.HANDLE, Kind.AUTHOR, Kind.CREATOR, Kind.EMAIL)
_SPACE_REFS = (Kind.SPACE_ID, Kind.SPACE)


def _entity_scores(sample: FileSample) -> dict[str, float]:
    kinds = Counter(c.kind for c in sample.columns if c.kind is not None)

    def has(*ks: Kind) -> bool:
        return any(kinds[k] for k in ks)

    scores = dict.fromkeys(ENTITIES, 0.0)
    body = has(Kind.BODY, Kind.HTML)
    if not body:
        scores["persons"] = (
            4 * has(Kind.EMAIL)
            + 3 * has(Kind.HANDLE)
            + 2 * has(Kind.FIRST, Kind.LAST, Kind.REAL)
            + 2 * has(Kind.DISPLAY)
            + has(Kind.JOB, Kind.TZ, Kind.BOT, Kind.GUEST)
            + has(Kind.PERSON_ID)
        )
        scores["spaces"] = (
            3 * has(Kind.VISIBILITY, Kind.PRIVATE, Kind.PUBLIC)
            + 3 * has(Kind.MEMBERS)
            + 2 * has(Kind.NAME, Kind.SPACE)
            + has(Kind.PURPOSE, Kind.TOPIC, Kind.ARCHIVED)
            + has(Kind.CREATOR, Kind.USER) * has(Kind.NAME)
            + has(Kind.SPACE_ID) * has(Kind.NAME)
        )
        scores["memberships"] = (
            3 * has(*_SPACE_REFS) * has(Kind.PERSON_ID, Kind.USER, Kind.HANDLE, Kind.EMAIL)
            + 2 * has(Kind.ROLE)
        ) - 2 * has(Kind.VISIBILITY, Kind.PRIVATE, Kind.PUBLIC, Kind.PURPOSE, Kind.DISPLAY, Kind.NAME)
        scores["files"] = (
            3 * has(Kind.FILENAME)
            + 2 * has(Kind.PATH)
            + 2 * has(Kind.MIME)
            + 2 * has(Kind.SIZE)
            + 2 * has(Kind.FILE_ID)
            + has(Kind.URL)
        )
    scores["items"] = (
        5 * body
        + 2 * has(Kind.AUTHOR)
        + has(Kind.DATE)
        + has(Kind.PARENT, Kind.THREAD)
        + has(Kind.USER, Kind.TO)
        + has(Kind.ITEM_ID)
        + has(Kind.TITLE) * body
    )
    scores["reactions"] = 6 * has(Kind.EMOJI) * has(Kind.ITEM_ID, Kind.PARENT, Kind.ID) + 2 * has(Kind.EMOJI)
    stem = normalise(Path(sample.path).stem)
    for hint, entity in _FILE_HINTS:
        if hint in stem:
            scores[entity] += 2.5
            break
    return scores


def _choose_entity(sample: FileSample) -> Guessed:
    scores = _entity_scores(sample)
    ranked = sorted(ENTITIES, key=lambda e: (-scores[e], ENTITIES.index(e)))
    best, second = ranked[0], ranked[1]
    found = [f"{c.shown} ({c.kind})" for c in sample.columns if c.kind is not None]
    reason = "columns: " + ", ".join(found) if found else "no column recognised"
    stem = normalise(Path(sample.path).stem)
    hint = next((h for h, e in _FILE_HINTS if h in stem and e == best), None)
    if hint:
        reason += f"; the file's name says {best}"
    gap = scores[best] - scores[second]
    confidence = HIGH if gap >= 3 and scores[best] >= 5 else MEDIUM if gap >= 1.5 else LOW
    if scores[best] <= 0:
        return Guessed("items", LOW, "nothing recognised: proposed as items, edit it")
    return Guessed(best, confidence, reason)


# -- cross-file references ---------------------------------------------------------------


def _overlap(column: Column, known: set[str]) -> tuple[int, int]:
    tokens = [t for v in column.filled for t in _split(v, column.list_separator)]
    return sum(1 for t in tokens if t in known), len(tokens)


def _resolve_references(samples: list[FileSample]) -> None:
    persons = [s for s in samples if s.entity and s.entity.value == "persons"]
    person_tokens: dict[str, str] = {}  # value -> the persons file defining it
    for s in persons:
        for c in s.columns:
            if c.kind in (Kind.ID, Kind.PERSON_ID, Kind.HANDLE, Kind.NAME, Kind.EMAIL, Kind.USER):
                for t in c.tokens:
                    person_tokens.setdefault(t, s.path)
    # Columns of the other files whose values are those persons.
    for s in samples:
        if s in persons:
            continue
        for c in s.columns:
            if c.kind not in (None, Kind.NAME, Kind.ID, Kind.DISPLAY) and c.kind not in (
                *_PERSON_REFS,
                Kind.MEMBERS,
                Kind.TO,
            ):
                continue
            hits, total = _overlap(c, set(person_tokens))
            if not total or hits * 2 < total:
                continue
            where = sorted(
                {
                    person_tokens[t]
                    for v in c.filled
                    for t in _split(v, c.list_separator)
                    if t in person_tokens
                }
            )
            why = f"{hits} of {total} sampled values are persons of {', '.join(where)}"
            if c.kind is None or c.kind in (Kind.NAME, Kind.ID, Kind.DISPLAY):
                if c.list_separator:
                    c.set(Kind.MEMBERS, HIGH if hits == total else MEDIUM, "lists of persons: " + why)
                else:
                    c.set(Kind.USER, HIGH if hits == total else MEDIUM, why)
            else:
                c.reason += f"; {why}"
                if c.confidence == MEDIUM and hits == total:
                    c.confidence = HIGH
    for s in samples:
        if s not in persons:
            s.entity = _choose_entity(s)
    spaces = [s for s in samples if s.entity and s.entity.value == "spaces"]
    space_tokens: dict[str, str] = {}
    for s in spaces:
        for c in s.columns:
            if c.kind in (Kind.ID, Kind.SPACE_ID, Kind.NAME, Kind.SPACE):
                for t in c.tokens:
                    space_tokens.setdefault(t, s.path)
    for s in samples:
        if s in spaces or s in persons:
            continue
        for c in s.columns:
            if c.kind not in (None, Kind.NAME, Kind.ID, Kind.SPACE, Kind.SPACE_ID) or c.list_separator:
                continue
            hits, total = _overlap(c, set(space_tokens))
            if total and hits * 2 >= total:
                where = sorted({space_tokens[t] for t in c.tokens if t in space_tokens})
                why = f"{hits} of {total} sampled values are spaces of {', '.join(where)}"
                if c.kind in (Kind.SPACE, Kind.SPACE_ID):
                    c.reason += f"; {why}"
                else:
                    c.set(Kind.SPACE, HIGH if hits == total else MEDIUM, why)
        s.entity = _choose_entity(s)
    # Columns of reactions, files… whose values are the items' ids.
    items = [s for s in samples if s.entity and s.entity.value == "items"]
    item_tokens: dict[str, str] = {}
    for s in items:
        for c in s.columns:
            if c.kind in (Kind.ID, Kind.ITEM_ID) or (
                c.kind == Kind.NAME and c.index == 0 and c.header is None
            ):
                for t in c.tokens:
                    item_tokens.setdefault(t, s.path)
    for s in samples:
        if s in items or s in persons or s in spaces:
            continue
        for c in s.columns:
            if c.kind not in (None, Kind.ID, Kind.NAME) or c.list_separator:
                continue
            hits, total = _overlap(c, set(item_tokens))
            if total and hits * 2 >= total:
                where = sorted({item_tokens[t] for t in c.tokens if t in item_tokens})
                why = f"{hits} of {total} sampled values are items of {', '.join(where)}"
                c.set(Kind.ITEM_ID, HIGH if hits == total else MEDIUM, why)
        s.entity = _choose_entity(s)


# -- fields ------------------------------------------------------------------------------

# Per entity: each field and the kinds that can fill it, the better first.
_FIELDS: dict[str, tuple[tuple[str, tuple[Kind, ...]], ...]] = {
    "persons": (
        ("id", (Kind.PERSON_ID, Kind.ID)),
        ("name", (Kind.HANDLE, Kind.USER)),
        ("email", (Kind.EMAIL,)),
        ("display_name", (Kind.DISPLAY,)),
        ("real_name", (Kind.REAL, Kind.LAST)),
        ("title", (Kind.JOB, Kind.TITLE)),
        ("timezone", (Kind.TZ,)),
        ("is_bot", (Kind.BOT,)),
        ("is_deleted", (Kind.DELETED,)),
        ("is_guest", (Kind.GUEST,)),
    ),
    "spaces": (
        ("id", (Kind.SPACE_ID, Kind.ID)),
        ("name", (Kind.SPACE, Kind.HANDLE)),
        ("display_name", (Kind.DISPLAY, Kind.TITLE)),
        ("visibility", (Kind.VISIBILITY, Kind.PRIVATE, Kind.PUBLIC)),
        ("topic", (Kind.TOPIC,)),
        ("purpose", (Kind.PURPOSE, Kind.BODY)),
        ("parent", (Kind.PARENT,)),
        ("created_at", (Kind.DATE,)),
        ("creator", (Kind.CREATOR, Kind.AUTHOR, Kind.USER, Kind.PERSON_ID)),
        ("is_archived", (Kind.ARCHIVED,)),
        ("members", (Kind.MEMBERS,)),
    ),
    "memberships": (
        ("space", (Kind.SPACE_ID, Kind.SPACE, Kind.NAME)),
        ("person", (Kind.PERSON_ID, Kind.USER, Kind.HANDLE, Kind.EMAIL, Kind.AUTHOR, Kind.MEMBERS)),
        ("role", (Kind.ROLE,)),
    ),
    "items": (
        ("id", (Kind.ID, Kind.ITEM_ID)),
        ("space", (Kind.SPACE_ID, Kind.SPACE)),
        ("author", (Kind.AUTHOR, Kind.PERSON_ID, Kind.USER, Kind.HANDLE, Kind.CREATOR)),
        ("to", (Kind.TO,)),
        ("created_at", (Kind.DATE,)),
        ("edited_at", (Kind.EDITED,)),
        ("deleted_at", (Kind.DELETED_AT,)),
        ("deleted", (Kind.DELETED,)),
        ("parent", (Kind.PARENT,)),
        ("thread", (Kind.THREAD,)),
        ("title", (Kind.TITLE,)),
        ("body", (Kind.BODY, Kind.HTML)),
        ("attachments", (Kind.ATTACHMENTS,)),
        ("pinned", (Kind.PINNED,)),
    ),
    "reactions": (
        ("item", (Kind.ITEM_ID, Kind.PARENT, Kind.ID)),
        ("person", (Kind.PERSON_ID, Kind.USER, Kind.AUTHOR, Kind.HANDLE, Kind.EMAIL)),
        ("emoji", (Kind.EMOJI,)),
        ("created_at", (Kind.DATE,)),
    ),
    "files": (
        ("id", (Kind.FILE_ID, Kind.ID)),
        ("name", (Kind.FILENAME, Kind.NAME)),
        ("title", (Kind.TITLE, Kind.PURPOSE)),
        ("media_type", (Kind.MIME,)),
        ("size", (Kind.SIZE,)),
        ("path", (Kind.PATH,)),
        ("url", (Kind.URL,)),
        ("author", (Kind.AUTHOR, Kind.CREATOR, Kind.USER, Kind.PERSON_ID, Kind.HANDLE)),
        ("created_at", (Kind.DATE,)),
        ("item", (Kind.ITEM_ID,)),
    ),
}
_BOOLEAN_FIELDS = frozenset({"is_bot", "is_deleted", "is_guest", "is_archived", "deleted", "pinned"})
_DATE_FIELDS = ("created_at", "edited_at", "deleted_at")
_LIST_FIELDS = frozenset({"members", "to", "attachments"})


@dataclass
class _Assigned:
    column: Column
    reason: str
    confidence: str


# What a row of an entity cannot do without (the mapping module refuses a file without them).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "memberships": ("space", "person"),
    "reactions": ("item", "person", "emoji"),
}


def _settle(sample: FileSample) -> dict[str, _Assigned]:
    """The fields of the file's entity; an entity whose required fields no column fills
    gives way to the next best (items need nothing)."""
    fields = _assign(sample)
    assert sample.entity is not None
    missing = [f for f in _REQUIRED.get(sample.entity.value, ()) if f not in fields]
    if not missing:
        return fields
    first = sample.entity
    scores = _entity_scores(sample)
    for entity in sorted(ENTITIES, key=lambda e: (-scores[e], ENTITIES.index(e))):
        if entity == first.value:
            continue
        sample.entity = Guessed(
            entity, LOW, f"{first.value} first ({first.reason}), but no column gives its {', '.join(missing)}"
        )
        fields = _assign(sample)
        if all(f in fields for f in _REQUIRED.get(entity, ())):
            return fields
    raise AssertionError("items need no field")  # pragma: no cover


def _assign(sample: FileSample) -> dict[str, _Assigned]:
    entity = sample.entity.value if sample.entity else "items"
    used: set[int] = set()
    fields: dict[str, _Assigned] = {}
    for name, kinds in _FIELDS[entity]:
        for kind in kinds:
            candidates = [c for c in sample.columns if c.kind == kind and c.index not in used]
            if name in _BOOLEAN_FIELDS:
                candidates = [c for c in candidates if {_plain(v) for v in c.filled} <= _BOOLEAN]
            if not candidates:
                continue
            best = min(candidates, key=lambda c: (c.rank, c.index))
            used.add(best.index)
            fields[name] = _Assigned(best, f"{best.shown}: {best.kind}, {best.reason}", best.confidence)
            break
    # Names without a more precise kind: a person's handle or display name, a space's name.
    loose = [c for c in sample.columns if c.kind == Kind.NAME and c.index not in used]
    for column in loose:
        spaced = sum(1 for v in column.filled if " " in v)
        if entity == "persons":
            target = "display_name" if spaced * 2 >= max(1, len(column.filled)) else "name"
            if any(c.kind == Kind.FIRST for c in sample.columns):
                target = "real_name"  # "nom" beside "prénom": the last name
            if target not in fields:
                fields[target] = _Assigned(column, f"{column.shown}: {column.reason}", column.confidence)
                used.add(column.index)
        elif entity == "spaces" and "name" not in fields:
            fields["name"] = _Assigned(column, f"{column.shown}: {column.reason}", column.confidence)
            used.add(column.index)
    if (
        entity == "persons"
        and "real_name" in fields
        and fields["real_name"].column.kind in (Kind.LAST, Kind.NAME)
    ):
        first = next((c for c in sample.columns if c.kind == Kind.FIRST), None)
        if first is not None:
            sample.notes.append(
                f"first names ({first.shown}) have no field of their own: kept in raw; real_name is the last name"
            )
    if entity == "items" and "parent" not in fields:
        # Beside the item's own id, another item's id (comments.csv's post_id) is the parent.
        other = [c for c in sample.columns if c.kind == Kind.ITEM_ID and c.index not in used]
        if other:
            c = min(other, key=lambda c: (c.rank, c.index))
            fields["parent"] = _Assigned(c, f"{c.shown}: another item's id beside the row's own", MEDIUM)
            used.add(c.index)
    if entity == "items" and "id" not in fields:
        first = sample.columns[0]
        if first.header is None and first.kind == Kind.NAME and first.index not in used:
            fields["id"] = _Assigned(first, f"{first.shown}: {first.reason}", first.confidence)
            used.add(first.index)
    if entity == "items" and "parent" not in fields and "id" in fields:
        # A column whose values are the file's own ids is the item replied to.
        own = fields["id"].column.tokens
        for c in sample.columns:
            if c.kind is None and c.index not in used and c.tokens:
                hits, total = _overlap(c, own)
                if hits * 2 >= total:
                    why = f"{c.shown}: {hits} of {total} sampled values are ids of the file's own rows"
                    fields["parent"] = _Assigned(c, why, MEDIUM)
                    used.add(c.index)
                    break
    if entity == "items":
        # Without a space, a second person column is who a direct message is to.
        if "space" not in fields and "to" not in fields:
            other = [c for c in sample.columns if c.kind == Kind.USER and c.index not in used]
            if other:
                c = min(other, key=lambda c: c.index)
                fields["to"] = _Assigned(
                    c,
                    f"{c.shown}: a second person column and no space: direct messages to them",
                    c.confidence,
                )
                used.add(c.index)
        if "author" not in fields:
            email = next((c for c in sample.columns if c.kind == Kind.EMAIL and c.index not in used), None)
            if email is not None:
                fields["author"] = _Assigned(email, f"{email.shown}: e-mail addresses of authors", MEDIUM)
    return fields


def _cross_file_ids(samples: list[FileSample], assigned: dict[str, dict[str, _Assigned]]) -> None:
    """The persons' (spaces') id: the column other files' references use."""
    refs: dict[str, list[str]] = {"persons": [], "spaces": []}
    for s in samples:
        fields = assigned[s.path]
        for name, a in fields.items():
            if name in ("author", "creator", "person", "to", "members"):
                refs["persons"] += [t for v in a.column.filled for t in _split(v, a.column.list_separator)]
            if name == "space":
                refs["spaces"] += [t for v in a.column.filled for t in _split(v, a.column.list_separator)]
    for entity, candidates in (
        ("persons", ("name", "email", "display_name")),
        ("spaces", ("name", "display_name")),
    ):
        for s in samples:
            if not s.entity or s.entity.value != entity:
                continue
            fields = assigned[s.path]
            options: list[tuple[str, Column]] = []
            if "id" in fields:
                options.append(("id", fields["id"].column))
            options += [(f, fields[f].column) for f in candidates if f in fields]
            if not options:
                continue
            scored = [
                (sum(1 for t in refs[entity] if t in col.tokens), -i, f, col)
                for i, (f, col) in enumerate(options)
            ]
            hits, _, via, column = max(scored, key=lambda x: (x[0], x[1]))
            if hits:
                why = f"{column.shown}: {hits} sampled references in the other files use its values"
                if via != "id" or "id" not in fields:
                    fields["id"] = _Assigned(column, why, HIGH)
                else:
                    fields["id"] = _Assigned(
                        column,
                        fields["id"].reason
                        + f"; {hits} sampled references in the other files use its values",
                        HIGH,
                    )
            elif "id" not in fields:
                col = options[0][1]
                fields["id"] = _Assigned(
                    col, f"{col.shown}: no id column, the {options[0][0]} identifies each row", MEDIUM
                )


def _visibility_values(column: Column) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in sorted(set(column.filled)):
        word = _plain(value)
        if column.kind == Kind.VISIBILITY:
            if word in _PUBLIC_WORDS:
                out[value] = "public"
            elif word in _PRIVATE_WORDS:
                out[value] = "private"
        elif word in _BOOLEAN:
            flag = word in _TRUE
            private = flag if column.kind == Kind.PRIVATE else not flag
            out[value] = "private" if private else "public"
    return out


def _build_file(sample: FileSample, fields: dict[str, _Assigned]) -> FileGuess:
    entity = sample.entity.value if sample.entity else "items"
    header = sample.header.value == "true"
    columns: dict[str, int | str] = {}
    lists: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    constants: dict[str, str] = {}
    field_comments: dict[str, str] = {}
    for name, _ in _FIELDS[entity]:
        if name not in fields:
            continue
        a = fields[name]
        columns[name] = a.column.header if header and a.column.header is not None else a.column.index + 1
        field_comments[f"columns.{name}"] = f"{a.reason} ({a.confidence})"
    # Dates: one format a file; the created_at column's, else the first date column's.
    dates: str | None = None
    date_fields = [f for f in _DATE_FIELDS if f in columns]
    formats: dict[str, DateFormat | None] = {
        f: guess_date_format(fields[f].column.values, french=sample.french) for f in date_fields
    }
    for f in date_fields:
        form = formats[f]
        if form is None and not fields[f].column.filled:
            field_comments[f"columns.{f}"] += "; empty in the sample: read with the file's date format"
            continue
        if form is None:
            sample.notes.append(
                f"{fields[f].column.shown} is named like a date but holds no date form known: not mapped"
            )
            del columns[f]
            field_comments.pop(f"columns.{f}", None)
            continue
        if dates is None:
            dates = form.form
            field_comments[f"columns.{f}"] += f"; dates: {form.reason} ({form.confidence})"
            field_comments["dates"] = f"from {fields[f].column.shown}: {form.reason} ({form.confidence})"
        elif form.form != dates:
            sample.notes.append(
                f"{fields[f].column.shown} writes dates as {form.form}, not {dates} (one format a file): not mapped"
            )
            del columns[f]
            field_comments.pop(f"columns.{f}", None)
    for name in sorted(_LIST_FIELDS & set(columns)):
        column = fields[name].column
        if column.list_separator:
            lists[name] = column.list_separator
            field_comments[f"lists.{name}"] = f"values separated by {column.list_separator!r}"
        else:
            lists[name] = ";" if sample.dialect.delimiter.value != ";" else ","
            field_comments[f"lists.{name}"] = (
                "no value with several in the sample: a separator the cells do not hold"
            )
    if "visibility" in columns:
        mapped = _visibility_values(fields["visibility"].column)
        if mapped:
            values["visibility"] = mapped
            field_comments["values.visibility"] = "the values seen in the sample; add any other the file uses"
    decimal = None
    sizes = fields["size"].column.filled if "size" in columns else []
    if sample.dialect.delimiter.value == ";" and any(re.fullmatch(r"\d+,\d+", v) for v in sizes):
        decimal = ","
        field_comments["decimal"] = "numbers with a decimal comma"
    if entity == "items":
        stem = normalise(Path(sample.path).stem)
        kind = next((k for hint, k in _KIND_BY_FILE if hint in stem), None)
        if kind:
            constants["kind"] = kind
            field_comments["constants.kind"] = f"the file's name says {kind}s"
    field_comments["entity"] = f"{sample.entity.confidence if sample.entity else LOW}: see above"
    field_comments["encoding"] = f"{sample.encoding.reason} ({sample.encoding.confidence})"
    field_comments["delimiter"] = f"{sample.dialect.delimiter.reason} ({sample.dialect.delimiter.confidence})"
    field_comments["header"] = f"{sample.header.reason} ({sample.header.confidence})"
    if sample.dialect.skip_initial_space:
        field_comments["skip_initial_space"] = sample.dialect.skip_reason
    if dates is None:
        field_comments["dates"] = "no date column mapped: the default"
    comments = [
        f"{sample.path}: {entity} ({sample.entity.confidence if sample.entity else LOW}): "
        f"{sample.entity.reason if sample.entity else ''}"
    ]
    sampled = f"{sample.rows} rows sampled" + (
        f" (the first {SAMPLE_BYTES // 1024} KiB)" if sample.truncated else " (the whole file)"
    )
    comments.append(sampled)
    unused = [
        c for c in sample.columns if all(a.column.index != c.index for n, a in fields.items() if n in columns)
    ]
    for c in unused:
        comments.append(
            f"not mapped: {c.shown}" + (f" ({c.kind}: {c.reason})" if c.kind else f" ({c.reason})")
        )
    comments += sample.notes
    return FileGuess(
        path=sample.path,
        entity=entity,
        encoding=sample.encoding.value,
        delimiter=sample.dialect.delimiter.value,
        quote=sample.dialect.quote,
        header=header,
        skip_initial_space=sample.dialect.skip_initial_space,
        dates=dates,
        decimal=decimal,
        columns=columns,
        lists=lists,
        values=values,
        constants=constants,
        confidence=sample.entity.confidence if sample.entity else LOW,
        comments=comments,
        field_comments=field_comments,
    )


def _harmonise_encodings(samples: list[FileSample]) -> None:
    """A file whose sample is ASCII only takes the encoding its siblings were seen to use:
    an export is written by one program, and the bytes after the sample may not be ASCII."""
    seen = Counter(
        "utf-8" if s.encoding.value == "utf-8-sig" else s.encoding.value
        for s in samples
        if s.encoding.value in ("utf-8", "utf-8-sig", "cp1252", "latin-1")
        and not s.encoding.reason.startswith("only ASCII")
    )
    if not seen:
        return
    (common, count), *_ = sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))
    for s in samples:
        if s.encoding.reason.startswith("only ASCII") and common != "utf-8":
            s.encoding = Guessed(
                common, MEDIUM, f"only ASCII in the sample; {common} as {count} other file(s) of the set"
            )


# -- the whole guess ---------------------------------------------------------------------


def guess(paths: Sequence[Path], *, timezone: str | None = None, platform: str = "csv") -> MappingGuess:
    """Sample every CSV file among ``paths`` (one folder or zip, or files) and propose a mapping."""
    zone = timezone or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInputError(
            f"csv guess: unknown timezone {zone!r} (an IANA name such as Europe/Paris)"
        ) from None
    inputs, skipped = _inputs(paths)
    comments: list[str] = []
    samples: list[FileSample] = []
    for item in inputs:
        try:
            data, truncated = _read_sample(item)
        except EntryError as exc:
            skipped.append(f"{item.path}: {exc}")
            continue
        sampled = sample_file(item.path, data, truncated=truncated)
        if isinstance(sampled, str):
            skipped.append(f"{item.path}: {sampled}")
            continue
        samples.append(sampled)
    for tree in {id(i.tree): i.tree for i in inputs}.values():
        tree.close()
    if not samples:
        raise BadInputError(
            "csv guess: no CSV file to read" + (f" ({'; '.join(skipped)})" if skipped else "")
        )
    _harmonise_encodings(samples)
    for s in samples:
        s.entity = _choose_entity(s)
    _resolve_references(samples)
    assigned = {s.path: _settle(s) for s in samples}
    _cross_file_ids(samples, assigned)
    files = [_build_file(s, assigned[s.path]) for s in samples]
    comments.append(
        "Proposed by `passerelle csv guess` from the first rows of each file: read it, edit it, then"
    )
    comments.append("`passerelle ingest SOURCE --from csv --mapping THIS.toml`. Format: docs/csv.md.")
    if timezone:
        comments.append(f"timezone: given ({zone}); dates without an offset are read in it")
    else:
        comments.append("timezone: UTC (none given: pass --timezone); dates without an offset are read in it")
    comments += [f"skipped: {s}" for s in skipped]
    return MappingGuess(platform, zone, files, comments)


# -- the mapping -----------------------------------------------------------------------


def to_mapping(mapping: MappingGuess) -> Mapping:
    """The guess as the mapping module's ``Mapping``, its reasons as the comments ``dump_mapping`` writes."""
    files = tuple(
        FileMapping(
            path=f.path,
            entity=f.entity,
            encoding=f.encoding,
            delimiter=f.delimiter,
            quote=f.quote,
            header=f.header,
            skip_initial_space=f.skip_initial_space,
            dates=f.dates or "iso8601",
            decimal=f.decimal or ".",
            columns=dict(f.columns),
            lists=dict(f.lists),
            values={k: dict(v) for k, v in f.values.items()},
            constants=dict(f.constants),
            comment="\n".join(f.comments),
            notes=dict(f.field_comments),
        )
        for f in mapping.files
    )
    return Mapping(
        files=files, platform=mapping.platform, timezone=mapping.timezone, comment="\n".join(mapping.comments)
    )


def render(mapping: MappingGuess) -> str:
    """The mapping as commented TOML (docs/csv.md), byte for byte the same for the same guess."""
    return dump_mapping(to_mapping(mapping))


def guess_mapping_text(paths: Sequence[Path], *, timezone: str | None = None, platform: str = "csv") -> str:
    return render(guess(paths, timezone=timezone, platform=platform))


def summary(mapping: MappingGuess) -> Iterable[tuple[str, str, str, str]]:
    """(path, entity, encoding, confidence) for each file, for the command's table."""
    for f in mapping.files:
        yield f.path, f.entity, f.encoding, f.confidence
