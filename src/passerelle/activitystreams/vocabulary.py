"""What every Activity Streams 2.0 reader and writer of passerelle shares: the context
files shipped with the project, how archive ids become IRIs, how times are written, and
the small helpers that read AS2's loose JSON (a value or a list, an id or an object).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import quote, unquote

AS2_CONTEXT = "https://www.w3.org/ns/activitystreams"
# Real data also names the context these ways (standards.md §1.4); all mean the file above.
AS2_CONTEXT_ALIASES = (
    "http://www.w3.org/ns/activitystreams",
    "https://www.w3.org/ns/activitystreams#",
    "http://www.w3.org/ns/activitystreams#",
)
AS2_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
# passerelle's own terms. The .invalid domain never resolves: the file ships in every
# package and in this project, and a package's contexts.json maps this URL to it.
PASSERELLE_CONTEXT = "https://passerelle.invalid/ns/activitystreams/1"
PASSERELLE_NS = "https://passerelle.invalid/ns#"

CONTEXT_FILES = {
    AS2_CONTEXT: "activitystreams.jsonld",
    PASSERELLE_CONTEXT: "passerelle.jsonld",
}
CONTEXT = [AS2_CONTEXT, PASSERELLE_CONTEXT]

IRI_PREFIX = "urn:passerelle:"


def context_bytes(url: str) -> bytes:
    """The exact bytes of a shipped context file."""
    return resources.files("passerelle.activitystreams").joinpath("contexts", CONTEXT_FILES[url]).read_bytes()


def context_urls() -> dict[str, str]:
    """Every context URL passerelle knows, to the name of the shipped file it means."""
    urls = dict(CONTEXT_FILES)
    for alias in AS2_CONTEXT_ALIASES:
        urls[alias] = CONTEXT_FILES[AS2_CONTEXT]
    return urls


# -- ids --------------------------------------------------------------------------------
_IRI_SAFE = "_-.~!$&'()*+,;=@"


_PLAIN_ID = re.compile(r"[A-Za-z0-9_.-]+")


def iri(kind: str, entity_id: str) -> str:
    """The absolute IRI of an archive id (AS2 asks for absolute IRIs), typed by the kind of
    entity (``person``, ``space``, ``item``, ``file``, ``revision``), so ids of two tables never meet."""
    if _PLAIN_ID.fullmatch(entity_id):  # passerelle's own ids: nothing to escape
        return f"{IRI_PREFIX}{kind}:{entity_id}"
    return f"{IRI_PREFIX}{kind}:{quote(entity_id, safe=_IRI_SAFE)}"


def entity_id(value: str, kind: str) -> str | None:
    """The archive id an IRI made by ``iri`` for that kind names; None for any other IRI."""
    prefix = f"{IRI_PREFIX}{kind}:"
    if not value.startswith(prefix):
        return None
    found = value[len(prefix) :]
    return unquote(found) if "%" in found else found


# -- times ------------------------------------------------------------------------------
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_US = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_MAX_US = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)


def format_time(us: int) -> str | None:
    """RFC 3339 in UTC with an uppercase T and Z (AS2 core §2.3), to the microsecond when
    the time has one; None when the time is outside years 1 to 9999 (the caller keeps the
    integer instead)."""
    if not _MIN_US <= us <= _MAX_US:
        return None
    moment = _EPOCH + timedelta(microseconds=us)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    # strftime pads years below 1000 on glibc only; make it explicit.
    text = f"{moment.year:04d}{text[text.index('-') :]}"
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<fraction>\d+))?"
    r"(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?$"
)


def parse_time(text: str) -> int | None:
    """Microseconds since the epoch of an RFC 3339 / xsd:dateTime value; None when it is not one.
    Digits past the microsecond are cut, not rounded; a time without a zone is taken as UTC."""
    if len(text) in (20, 27) and text[-1] == "Z" and text[10] == "T":  # the form format_time writes
        try:
            return (datetime.fromisoformat(text) - _EPOCH) // timedelta(microseconds=1)
        except ValueError:
            pass
    match = _RFC3339.match(text.strip())
    if match is None:
        return None
    clock = match["time"] if match["time"].count(":") == 2 else match["time"] + ":00"
    zone = match["zone"] or "Z"
    if zone in ("Z", "z"):
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{clock}{zone}")
    except ValueError:
        return None
    fraction = int((match["fraction"] or "0")[:6].ljust(6, "0"))
    return (moment - _EPOCH) // timedelta(microseconds=1) + fraction


# -- reading AS2's loose JSON -------------------------------------------------------------
def as_list(value: Any) -> list[Any]:
    """AS2 allows a single value or an array (or null) wherever several values may be."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def id_of(value: Any) -> str | None:
    """The id of a reference that is an IRI string, a Link (``href``) or an embedded object."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        ref = value.get("id", value.get("href"))
        return ref if isinstance(ref, str) else None
    return None


def types_of(obj: Any) -> list[str]:
    """An object's ``type`` values (a string or a list of them)."""
    if not isinstance(obj, dict):
        return []
    return [t for t in as_list(obj.get("type")) if isinstance(t, str)]


def iter_objects(values: Any) -> Iterator[dict[str, Any]]:
    """The embedded objects among a property's values (references by IRI are skipped)."""
    for value in as_list(values):
        if isinstance(value, dict):
            yield value


# Real data also writes the public collection as a compact IRI or a bare term (Mastodon
# accepts all three).
PUBLIC_ALIASES = frozenset({AS2_PUBLIC, "as:Public", "Public"})


def is_public(address: Any) -> bool:
    """Whether an address (a ``to``, ``cc``… value) is the public collection."""
    return id_of(address) in PUBLIC_ALIASES
