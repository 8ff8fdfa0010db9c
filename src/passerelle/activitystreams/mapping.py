"""The archive in Activity Streams 2.0, both ways: one definition of how each entity is
written in a package and read back from it (docs/package.md, "Objects").

Writing starts from archive rows (column name → value, as SQLite holds them), so a pack
streams straight from SQL; reading gives back model entities with the id of the source
they came from. Every column of every content table has its place, so reading what was
written gives back the same rows: that identity is what the package's tests prove.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from passerelle.activitystreams.vocabulary import (
    as_list,
    entity_id,
    format_time,
    id_of,
    iri,
    iter_objects,
    parse_time,
    types_of,
)
from passerelle.model.entities import (
    Body,
    Diagnostic,
    File,
    Item,
    ItemFile,
    ItemKind,
    Membership,
    Person,
    Reaction,
    Reference,
    RefKind,
    Revision,
    Severity,
    Source,
    Space,
    SpaceKind,
    Visibility,
)

Row = Mapping[str, Any]

# The kinds of IRI (vocabulary.iri): one per table whose rows are AS2 objects.
PERSON, SPACE, ITEM, FILE, REVISION = "person", "space", "item", "file", "revision"
JSONObject = dict[str, Any]


class MappingError(ValueError):
    """An object of the package cannot be read back as the model's entity."""


# -- small codecs -------------------------------------------------------------------------
def put_raw(obj: JSONObject, raw: bytes | None) -> None:
    """A source record verbatim: as text when it is UTF-8, else in base64."""
    if raw is None:
        return
    try:
        obj["raw"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        obj["rawBase64"] = base64.b64encode(raw).decode("ascii")


def get_raw(obj: Mapping[str, Any]) -> bytes | None:
    if "raw" in obj:
        return _text(obj, "raw").encode("utf-8")
    if "rawBase64" in obj:
        try:
            return base64.b64decode(_text(obj, "rawBase64"), validate=True)
        except binascii.Error as exc:
            raise MappingError(f"rawBase64 is not base64: {exc}") from None
    return None


def put_time(obj: JSONObject, term: str, us: int | None) -> None:
    if us is None:
        return
    text = format_time(us)
    if text is None:
        obj[f"{term}Micros"] = us
    else:
        obj[term] = text


def get_time(obj: Mapping[str, Any], term: str) -> int | None:
    micros = obj.get(f"{term}Micros")
    if micros is not None:
        if not isinstance(micros, int) or isinstance(micros, bool):
            raise MappingError(f"{term}Micros is not an integer")
        return micros
    text = obj.get(term)
    if text is None:
        return None
    us = parse_time(text) if isinstance(text, str) else None
    if us is None:
        raise MappingError(f"{term} is not a date-time: {text!r}")
    return us


def _put(obj: JSONObject, term: str, value: Any) -> None:
    if value is not None:
        obj[term] = value


def _flag(obj: JSONObject, term: str, value: Any) -> None:
    if value:
        obj[term] = True


def _ref(obj: JSONObject, term: str, kind: str, archive_id: str | None) -> None:
    if archive_id is not None:
        obj[term] = iri(kind, archive_id)


def _text(obj: Mapping[str, Any], term: str) -> str:
    value = obj[term]
    if not isinstance(value, str):
        raise MappingError(f"{term} is not text")
    return value


def _opt_text(obj: Mapping[str, Any], term: str) -> str | None:
    return _text(obj, term) if obj.get(term) is not None else None


def _opt_int(obj: Mapping[str, Any], term: str) -> int | None:
    value = obj.get(term)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise MappingError(f"{term} is not an integer")
    return value


def _bool(obj: Mapping[str, Any], term: str) -> bool:
    value = obj.get(term, False)
    if not isinstance(value, bool):
        raise MappingError(f"{term} is not a boolean")
    return value


def _archive_id(value: Any, term: str, kind: str) -> str:
    ref = id_of(value)
    found = entity_id(ref, kind) if ref is not None else None
    if found is None:
        raise MappingError(f"{term} is not the IRI of a passerelle {kind}: {value!r}")
    return found


def _opt_archive_id(obj: Mapping[str, Any], term: str, kind: str) -> str | None:
    return _archive_id(obj[term], term, kind) if obj.get(term) is not None else None


def _common(obj: JSONObject, row: Row) -> None:
    """What every entity made from a source record carries."""
    obj["platform"] = row["platform"]
    obj["nativeId"] = row["native_id"]
    _put(obj, "foundAt", row["origin"])
    obj["sourceId"] = row["source_id"]
    put_raw(obj, row["raw"])


def source_of(obj: Mapping[str, Any]) -> str:
    return _text(obj, "sourceId")


def archive_id_of(obj: Mapping[str, Any], kind: str) -> str:
    """The archive id of an object of that kind (``space``, ``person``…)."""
    return _archive_id(obj.get("id"), "id", kind)


# -- persons ------------------------------------------------------------------------------
def person_object(row: Row) -> JSONObject:
    obj: JSONObject = {"id": iri(PERSON, row["id"]), "type": "Service" if row["is_bot"] else "Person"}
    _put(obj, "preferredUsername", row["name"])
    _put(obj, "name", row["display_name"])
    _put(obj, "realName", row["real_name"])
    _put(obj, "email", row["email"])
    _put(obj, "jobTitle", row["title"])
    _put(obj, "timezone", row["timezone"])
    _flag(obj, "personDeleted", row["is_deleted"])
    _flag(obj, "guest", row["is_guest"])
    _flag(obj, "placeholder", row["is_placeholder"])
    _common(obj, row)
    return obj


def person_entity(obj: Mapping[str, Any]) -> Person:
    return Person(
        id=_archive_id(obj["id"], "id", PERSON),
        platform=_text(obj, "platform"),
        native_id=_text(obj, "nativeId"),
        name=_opt_text(obj, "preferredUsername"),
        display_name=_opt_text(obj, "name"),
        real_name=_opt_text(obj, "realName"),
        email=_opt_text(obj, "email"),
        is_bot="Service" in types_of(obj),
        is_deleted=_bool(obj, "personDeleted"),
        is_guest=_bool(obj, "guest"),
        is_placeholder=_bool(obj, "placeholder"),
        timezone=_opt_text(obj, "timezone"),
        title=_opt_text(obj, "jobTitle"),
        raw=get_raw(obj),
        origin=_opt_text(obj, "foundAt"),
    )


# -- spaces -------------------------------------------------------------------------------
def space_object(row: Row, streams: Sequence[str]) -> JSONObject:
    """A space as a Group actor; ``streams`` are the (relative) IRIs of its collections."""
    obj: JSONObject = {"id": iri(SPACE, row["id"]), "type": "Group"}
    _put(obj, "preferredUsername", row["name"])
    _put(obj, "name", row["display_name"])
    obj["spaceKind"] = row["kind"]
    obj["visibility"] = row["visibility"]
    _put(obj, "topic", row["topic"])
    _put(obj, "purpose", row["purpose"])
    _ref(obj, "parentSpace", SPACE, row["parent_id"])
    put_time(obj, "published", row["created_at"])
    _ref(obj, "attributedTo", PERSON, row["creator_id"])
    _flag(obj, "archived", row["is_archived"])
    if streams:
        obj["streams"] = list(streams)
    _common(obj, row)
    return obj


def space_entity(obj: Mapping[str, Any]) -> Space:
    try:
        kind, visibility = SpaceKind(obj["spaceKind"]), Visibility(obj["visibility"])
    except (KeyError, ValueError) as exc:
        raise MappingError(f"a Group without a known spaceKind and visibility ({exc})") from None
    return Space(
        id=_archive_id(obj["id"], "id", SPACE),
        platform=_text(obj, "platform"),
        native_id=_text(obj, "nativeId"),
        kind=kind,
        visibility=visibility,
        name=_opt_text(obj, "preferredUsername"),
        display_name=_opt_text(obj, "name"),
        topic=_opt_text(obj, "topic"),
        purpose=_opt_text(obj, "purpose"),
        parent_id=_opt_archive_id(obj, "parentSpace", SPACE),
        created_at=get_time(obj, "published"),
        creator_id=_opt_archive_id(obj, "attributedTo", PERSON),
        is_archived=_bool(obj, "archived"),
        raw=get_raw(obj),
        origin=_opt_text(obj, "foundAt"),
    )


# -- memberships --------------------------------------------------------------------------
def membership_object(row: Row) -> JSONObject:
    obj: JSONObject = {
        "type": "Join",
        "actor": iri(PERSON, row["person_id"]),
        "object": iri(SPACE, row["space_id"]),
        "membershipRole": row["role"],
    }
    _put(obj, "foundAt", row["origin"])
    obj["sourceId"] = row["source_id"]
    return obj


def membership_entity(obj: Mapping[str, Any]) -> Membership:
    return Membership(
        space_id=_archive_id(obj["object"], "object", SPACE),
        person_id=_archive_id(obj["actor"], "actor", PERSON),
        role=_text(obj, "membershipRole"),
        origin=_opt_text(obj, "foundAt"),
    )


# -- files --------------------------------------------------------------------------------
def file_type(media_type: str | None) -> str:
    major = (media_type or "").partition("/")[0].lower()
    return {"image": "Image", "audio": "Audio", "video": "Video"}.get(major, "Document")


def file_object(row: Row, url: str | None) -> JSONObject:
    """A file; ``url`` is where its bytes are in the package (relative to the document)."""
    obj: JSONObject = {"id": iri(FILE, row["id"]), "type": file_type(row["media_type"])}
    _put(obj, "name", row["name"])
    _put(obj, "fileTitle", row["title"])
    _put(obj, "mediaType", row["media_type"])
    _put(obj, "declaredSize", row["size"])
    _put(obj, "contentSha256", row["sha256"])
    _put(obj, "url", url)
    _put(obj, "missingReason", row["missing_reason"])
    _put(obj, "sourceUrl", row["url"])
    _ref(obj, "attributedTo", PERSON, row["author_id"])
    put_time(obj, "published", row["created_at"])
    _common(obj, row)
    return obj


def file_entity(obj: Mapping[str, Any]) -> File:
    return File(
        id=_archive_id(obj["id"], "id", FILE),
        platform=_text(obj, "platform"),
        native_id=_text(obj, "nativeId"),
        name=_opt_text(obj, "name"),
        title=_opt_text(obj, "fileTitle"),
        media_type=_opt_text(obj, "mediaType"),
        size=_opt_int(obj, "declaredSize"),
        sha256=_opt_text(obj, "contentSha256"),
        missing_reason=_opt_text(obj, "missingReason"),
        url=_opt_text(obj, "sourceUrl"),
        author_id=_opt_archive_id(obj, "attributedTo", PERSON),
        created_at=get_time(obj, "published"),
        raw=get_raw(obj),
        origin=_opt_text(obj, "foundAt"),
    )


# -- bodies -------------------------------------------------------------------------------
_REF_TYPES = {
    RefKind.PERSON: "Mention",
    RefKind.SPACE: "Mention",
    RefKind.BROADCAST: "Mention",
    RefKind.GROUP: "Mention",
    RefKind.EMOJI: "Emoji",
}
# Where a reference's target id points (others name something outside the model, e.g. a user group).
_REF_KINDS = {RefKind.PERSON: PERSON, RefKind.SPACE: SPACE}
_BODY_MEDIA_TYPES = {
    "html": "text/html",
    "markdown": "text/markdown",
    "commonmark": "text/markdown; variant=CommonMark",
    "mattermost-markdown": "text/markdown",
    "slack-mrkdwn": "text/x.slack-mrkdwn",
    "mediawiki": "text/x-wiki",
    "text": "text/plain",
}
_REFERENCES = msgspec.json.Decoder(tuple[Reference, ...])


def body_media_type(body_format: str) -> str:
    """The media type a body's original markup is declared with (the format name keeps it exact)."""
    return _BODY_MEDIA_TYPES.get(body_format, f"text/x.passerelle.{body_format}")


def put_body(
    obj: JSONObject, body_format: str | None, source: str, normalised: str, refs: str | None
) -> None:
    """A body from its columns: the normalised CommonMark as ``content``, the original as ``source``."""
    if body_format is None:
        return
    obj["content"] = normalised
    obj["mediaType"] = "text/markdown"
    obj["source"] = {"content": source, "mediaType": body_media_type(body_format), "bodyFormat": body_format}
    if refs:
        obj["tag"] = [_reference_object(ref) for ref in _REFERENCES.decode(refs)]


def _reference_object(ref: Reference) -> JSONObject:
    obj: JSONObject = {"type": _REF_TYPES.get(ref.kind, "Link"), "refKind": ref.kind.value}
    obj["refTarget"] = ref.target
    _ref(obj, "href", _REF_KINDS.get(ref.kind, "entity"), ref.target_id)
    _put(obj, "name", ref.label)
    return obj


def get_body(obj: Mapping[str, Any]) -> Body | None:
    source = obj.get("source")
    if source is None:
        return None
    if not isinstance(source, dict):
        raise MappingError("source is not an object")
    references = []
    for tag in iter_objects(obj.get("tag")):
        try:
            kind = RefKind(tag["refKind"])
        except (KeyError, ValueError):
            raise MappingError(f"a tag without a known refKind: {tag!r}") from None
        href = tag.get("href")
        references.append(
            Reference(
                kind=kind,
                target=_text(tag, "refTarget"),
                target_id=_archive_id(href, "href", _REF_KINDS.get(kind, "entity"))
                if href is not None
                else None,
                label=_opt_text(tag, "name"),
            )
        )
    return Body(
        format=_text(source, "bodyFormat"),
        source=_text(source, "content"),
        normalised=_text(obj, "content"),
        references=tuple(references),
    )


# -- items --------------------------------------------------------------------------------
_ITEM_TYPES = {
    ItemKind.MESSAGE: "Note",
    ItemKind.COMMENT: "Note",
    ItemKind.EVENT: "Note",
    ItemKind.POST: "Article",
    ItemKind.PAGE: "Page",
}


def item_object(
    row: Row,
    reactions: Iterable[Sequence[Any]] = (),
    attachments: Iterable[tuple[str, int, str | None, str | None]] = (),
) -> JSONObject:
    """An item. ``reactions``: (person_id, emoji, created_at, source_id); ``attachments``:
    (file_id, position, AS2 type, url of the bytes in the package or None)."""
    kind = ItemKind(row["kind"])
    obj: JSONObject = {"id": iri(ITEM, row["id"])}
    if row["deleted"]:
        obj["type"] = "Tombstone"
        obj["formerType"] = _ITEM_TYPES[kind]
    else:
        obj["type"] = _ITEM_TYPES[kind]
    put_time(obj, "deleted", row["deleted_at"])
    obj["itemKind"] = kind.value
    _put(obj, "subtype", row["subtype"])
    obj["audience"] = iri(SPACE, row["space_id"])
    _ref(obj, "attributedTo", PERSON, row["author_id"])
    put_time(obj, "published", row["created_at"])
    _put(obj, "createdNative", row["created_native"])
    put_time(obj, "updated", row["edited_at"])
    _put(obj, "editedNative", row["edited_native"])
    _ref(obj, "editedBy", PERSON, row["edited_by_id"])
    _ref(obj, "inReplyTo", ITEM, row["parent_id"])
    _ref(obj, "context", ITEM, row["thread_root_id"])
    _flag(obj, "alsoInChannel", row["also_in_channel"])
    _flag(obj, "pinned", row["pinned"])
    _put(obj, "name", row["title"])
    put_body(obj, row["body_format"], row["body_source"], row["body_text"], row["body_refs"])
    attached = [
        {"id": iri(FILE, file_id), "type": as_type, "attachmentPosition": position}
        | ({"url": url} if url else {})
        for file_id, position, as_type, url in attachments
    ]
    if attached:
        obj["attachment"] = attached
    reacted = []
    for person_id, emoji, created_at, source_id in reactions:
        reaction: JSONObject = {"type": "EmojiReact", "actor": iri(PERSON, person_id), "content": emoji}
        put_time(reaction, "published", created_at)
        if source_id != row["source_id"]:
            reaction["sourceId"] = source_id
        reacted.append(reaction)
    if reacted:
        obj["reactions"] = reacted
    _common(obj, row)
    return obj


def item_entities(obj: Mapping[str, Any]) -> tuple[Item, str, list[ItemFile], list[tuple[Reaction, str]]]:
    """An item, its source, its attachments and its reactions (each with its source)."""
    try:
        kind = ItemKind(obj["itemKind"])
    except (KeyError, ValueError):
        raise MappingError("an item without a known itemKind") from None
    item_id = _archive_id(obj["id"], "id", ITEM)
    deleted = "Tombstone" in types_of(obj)
    source = source_of(obj)
    item = Item(
        id=item_id,
        platform=_text(obj, "platform"),
        native_id=_text(obj, "nativeId"),
        kind=kind,
        space_id=_archive_id(obj["audience"], "audience", SPACE),
        subtype=_opt_text(obj, "subtype"),
        author_id=_opt_archive_id(obj, "attributedTo", PERSON),
        created_at=get_time(obj, "published"),
        created_native=_opt_text(obj, "createdNative"),
        edited_at=get_time(obj, "updated"),
        edited_native=_opt_text(obj, "editedNative"),
        edited_by_id=_opt_archive_id(obj, "editedBy", PERSON),
        deleted=deleted,
        deleted_at=get_time(obj, "deleted"),
        thread_root_id=_opt_archive_id(obj, "context", ITEM),
        parent_id=_opt_archive_id(obj, "inReplyTo", ITEM),
        also_in_channel=_bool(obj, "alsoInChannel"),
        pinned=_bool(obj, "pinned"),
        title=_opt_text(obj, "name"),
        body=get_body(obj),
        raw=get_raw(obj),
        origin=_opt_text(obj, "foundAt"),
    )
    files = [
        ItemFile(
            item_id=item_id,
            file_id=_archive_id(attachment["id"], "attachment", FILE),
            position=_position(attachment),
        )
        for attachment in iter_objects(obj.get("attachment"))
    ]
    reactions = [
        (
            Reaction(
                item_id=item_id,
                person_id=_archive_id(reaction["actor"], "actor", PERSON),
                emoji=_text(reaction, "content"),
                created_at=get_time(reaction, "published"),
            ),
            _text(reaction, "sourceId") if "sourceId" in reaction else source,
        )
        for reaction in iter_objects(obj.get("reactions"))
    ]
    return item, source, files, reactions


def _position(attachment: Mapping[str, Any]) -> int:
    position = _opt_int(attachment, "attachmentPosition")
    if position is None:
        raise MappingError("an attachment without its attachmentPosition")
    return position


# -- revisions ----------------------------------------------------------------------------
def revision_object(row: Row) -> JSONObject:
    """A revision as the ``Update`` that made that version of the item."""
    target: JSONObject = {"id": iri(ITEM, row["item_id"])}
    put_body(target, row["body_format"], row["body_source"], row["body_text"], row["body_refs"])
    obj: JSONObject = {"id": iri(REVISION, row["id"]), "type": "Update"}
    _ref(obj, "actor", PERSON, row["author_id"])
    put_time(obj, "published", row["created_at"])
    obj["object"] = target
    _put(obj, "revisionComment", row["comment"])
    obj["nativeId"] = row["native_id"]
    _put(obj, "foundAt", row["origin"])
    obj["sourceId"] = row["source_id"]
    put_raw(obj, row["raw"])
    return obj


def revision_entity(obj: Mapping[str, Any]) -> Revision:
    target = obj.get("object")
    if not isinstance(target, dict):
        raise MappingError("an Update without its object")
    return Revision(
        id=_archive_id(obj["id"], "id", REVISION),
        item_id=_archive_id(target["id"], "object", ITEM),
        native_id=_text(obj, "nativeId"),
        author_id=_opt_archive_id(obj, "actor", PERSON),
        created_at=get_time(obj, "published"),
        body=get_body(target),
        comment=_opt_text(obj, "revisionComment"),
        raw=get_raw(obj),
        origin=_opt_text(obj, "foundAt"),
    )


# -- records outside Activity Streams (JSON Lines) ----------------------------------------------
def diagnostic_record(row: Row) -> JSONObject:
    record: JSONObject = {
        k: row[k] for k in Diagnostic.__struct_fields__ if k != "raw" and row[k] is not None
    }
    put_raw(record, row["raw"])
    return record


def diagnostic_entity(record: Mapping[str, Any]) -> Diagnostic:
    try:
        severity = Severity(record["severity"])
    except (KeyError, ValueError):
        raise MappingError("a diagnostic without a known severity") from None
    return Diagnostic(
        id=_text(record, "id"),
        source_id=_text(record, "source_id"),
        code=_text(record, "code"),
        severity=severity,
        where=_text(record, "where"),
        message=_text(record, "message"),
        dropped=_opt_text(record, "dropped"),
        entity_id=_opt_text(record, "entity_id"),
        raw=get_raw(record),
    )


def source_record(row: Row, units: list[str]) -> JSONObject:
    record: JSONObject = {k: row[k] for k in Source.__struct_fields__}
    record["units"] = units
    return record


def source_entity(record: Mapping[str, Any]) -> tuple[Source, list[str]]:
    units = [u for u in as_list(record.get("units")) if isinstance(u, str)]
    fields = {k: record[k] for k in Source.__struct_fields__ if k in record}
    try:
        return msgspec.convert(fields, Source), units
    except msgspec.ValidationError as exc:
        raise MappingError(f"a source record: {exc}") from None


def superseded_record(row: Row) -> JSONObject:
    record: JSONObject = {"entity_id": row["entity_id"], "source_id": row["source_id"]}
    record["replaced_by"] = row["replaced_by"]
    put_raw(record, row["raw"])
    return record


def superseded_row(record: Mapping[str, Any]) -> tuple[str, str, bytes, str]:
    raw = get_raw(record)
    if raw is None:
        raise MappingError("a superseded record without its raw bytes")
    return _text(record, "entity_id"), _text(record, "source_id"), raw, _text(record, "replaced_by")
