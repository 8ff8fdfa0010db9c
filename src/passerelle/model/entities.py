"""The canonical model: one set of records for chat, enterprise social network and wiki data.

Every entity carries a deterministic ``id``, the source's own id (``native_id``) and
the source record (``raw``), so nothing a source said is lost even where the model has
no field for it. ``raw`` is the exact bytes the source held for a record of its own
(a message, a user, a channel); for a record nested in another (a file inside a
message, a version inside an edit event) it is that part re-encoded as JSON, the exact
bytes being in the enclosing record's ``raw``. Times are integers of
microseconds since the Unix epoch (UTC); where the source has its own exact notation
(Slack's ``ts`` string) it is kept beside it in a ``*_native`` field.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

MODEL_VERSION = "1.2"  # 1.1: Space.display_name; 1.2: RefKind page and file (wiki links)


class SpaceKind(StrEnum):
    WORKSPACE = "workspace"
    PUBLIC_CHANNEL = "public_channel"
    PRIVATE_CHANNEL = "private_channel"
    DIRECT_MESSAGE = "direct_message"
    GROUP_MESSAGE = "group_message"
    COMMUNITY = "community"
    WIKI_SPACE = "wiki_space"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class ItemKind(StrEnum):
    MESSAGE = "message"
    POST = "post"
    COMMENT = "comment"
    PAGE = "page"
    EVENT = "event"  # system messages: joins, topic changes, pins…


class RefKind(StrEnum):
    PERSON = "person"
    SPACE = "space"
    BROADCAST = "broadcast"  # @here, @channel, @everyone
    GROUP = "group"  # user groups
    LINK = "link"
    EMOJI = "emoji"
    DATE = "date"
    PAGE = "page"  # an internal wiki link: target as written ("Help:Contents"), target_id the page item
    FILE = "file"  # an embedded image or attachment link: target the file name, target_id the file


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class _Entity(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    pass


class Source(_Entity, frozen=True):
    """One ingested export."""

    id: str
    platform: str
    path: str
    sha256: str
    size: int
    reader: str
    reader_version: str
    ingested_at: str
    status: str = "partial"  # "partial" until every unit is written, then "complete"


class Person(_Entity, frozen=True):
    id: str
    platform: str
    native_id: str
    name: str | None = None  # handle / username
    display_name: str | None = None
    real_name: str | None = None
    email: str | None = None
    is_bot: bool = False
    is_deleted: bool = False
    is_guest: bool = False
    is_placeholder: bool = False  # known only by id: referenced but never defined by the source
    timezone: str | None = None
    title: str | None = None
    raw: bytes | None = None
    origin: str | None = None  # where in the source: "users.json#3"


class Space(_Entity, frozen=True):
    id: str
    platform: str
    native_id: str
    kind: SpaceKind
    visibility: Visibility
    name: str | None = None  # the handle: "general", "town-square"
    display_name: str | None = None  # the title people see, where the source has one beside the handle
    topic: str | None = None
    purpose: str | None = None
    parent_id: str | None = None
    created_at: int | None = None
    creator_id: str | None = None
    is_archived: bool = False
    raw: bytes | None = None
    origin: str | None = None


class Membership(_Entity, frozen=True):
    space_id: str
    person_id: str
    role: str = "member"
    origin: str | None = None


class Reference(_Entity, frozen=True):
    """A mention, link or emoji inside a body, so a writer can rewrite it for its target."""

    kind: RefKind
    target: str  # the source's own token: user id, channel id, URL, emoji name…
    target_id: str | None = None  # the canonical id where it resolves
    label: str | None = None


class Body(_Entity, frozen=True):
    """The original markup exactly, one normalised form (CommonMark) for search and writers,
    and the references the markup holds, in order of appearance."""

    format: str  # e.g. "slack-mrkdwn", "mediawiki", "html"
    source: str
    normalised: str
    references: tuple[Reference, ...] = ()


class Item(_Entity, frozen=True):
    id: str
    platform: str
    native_id: str
    kind: ItemKind
    space_id: str
    subtype: str | None = None
    author_id: str | None = None
    created_at: int | None = None
    created_native: str | None = None
    edited_at: int | None = None
    edited_native: str | None = None
    edited_by_id: str | None = None
    deleted: bool = False
    deleted_at: int | None = None
    thread_root_id: str | None = None  # None for a root or a message outside threads
    parent_id: str | None = None
    also_in_channel: bool = False  # a thread reply broadcast to the channel (Slack thread_broadcast)
    pinned: bool = False
    title: str | None = None
    body: Body | None = None
    raw: bytes | None = None
    origin: str | None = None


class Revision(_Entity, frozen=True):
    """One version of an item's body, where the source has its history."""

    id: str
    item_id: str
    native_id: str
    author_id: str | None = None
    created_at: int | None = None
    body: Body | None = None
    comment: str | None = None
    raw: bytes | None = None
    origin: str | None = None


class Reaction(_Entity, frozen=True):
    """One person's reaction with one emoji on one item (skin tone kept in the name)."""

    item_id: str
    person_id: str
    emoji: str
    created_at: int | None = None  # None where the source has no time (Slack)


class File(_Entity, frozen=True):
    id: str
    platform: str
    native_id: str
    name: str | None = None
    title: str | None = None
    media_type: str | None = None
    size: int | None = None  # the size the source declares
    sha256: str | None = None  # of the bytes in the blob store; None when the bytes are missing
    missing_reason: str | None = None
    url: str | None = None
    author_id: str | None = None
    created_at: int | None = None
    raw: bytes | None = None
    origin: str | None = None


class ItemFile(_Entity, frozen=True):
    item_id: str
    file_id: str
    position: int


class Diagnostic(_Entity, frozen=True):
    """A typed account of something that did not become data exactly as the source had it."""

    id: str
    source_id: str
    code: str
    severity: Severity
    where: str  # "<entry>#<index>" in the source, or an output location
    message: str
    dropped: str | None = None  # the kind of source record that did NOT become data, if any
    entity_id: str | None = None
    raw: bytes | None = None  # the source record, when it could not become data


ENTITY_TYPES: tuple[type[_Entity], ...] = (
    Source,
    Person,
    Space,
    Membership,
    Item,
    Revision,
    Reaction,
    File,
    ItemFile,
    Reference,
    Diagnostic,
)
