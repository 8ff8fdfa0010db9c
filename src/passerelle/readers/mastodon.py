"""The Mastodon account-archive reader ("Request your archive"): Activity Streams in the wild.

Mastodon's ``BackupService`` writes a zip named ``archive-<YYYYmmddHHMMSS>-<32 hex>.zip``
holding, at its root (reference: ../shared/reference/formats-esn.md §4):

- ``outbox.json``: an ``OrderedCollection`` whose ``orderedItems`` are the account's
  ``Create`` activities (of a ``Note``, or a ``Question`` for a poll) and ``Announce``
  activities (boosts), each without its ``@context`` (older versions kept it); attachment
  URLs are paths inside the archive (``media_attachments/files/…/original/x.png``);
- ``actor.json``: the account's actor, ``icon``/``image`` rewritten to ``avatar.<ext>`` and
  ``header.<ext>``, with those two files beside it;
- ``likes.json`` and ``bookmarks.json``: ``OrderedCollection``\\s of status URIs only;
- the media files.

Older versions wrote the same files in a ``.tar.gz``. Sources are read from a zip or a
folder, never extracted; a ``.tar.gz`` is refused when it is detected (``detect`` raises
``BadInputError`` saying to unpack it and ingest the folder), so nothing is written.

The mapping (docs/model.md, "Mastodon account archives"):

- the actor is a person (native id: its ``id`` URL; name: ``preferredUsername``; display
  name: ``name``; raw: actor.json's bytes); ``bot`` accounts (``Service``, ``Application``)
  are bots. Its avatar and header are files attached to no item (native ids
  ``<actor id>#avatar`` and ``#header``: every account's archive names them alike).
  Accounts a post mentions or addresses are placeholder persons (native id: their URL;
  name: the mention's ``@user@domain`` without its ``@``).
- Spaces follow the audience, so that privacy survives: the account's public posts
  (``Public`` in ``to``), unlisted posts (``Public`` in ``cc``) and followers-only posts
  (the account's followers collection addressed) are three ``community`` spaces, the first
  two public, the third private (native ids ``public:``, ``unlisted:``, ``followers:`` and
  the actor id); any other post is direct: one private ``direct_message`` space per set of
  people (``group_message`` for more than one other), native id ``direct:`` and the
  members' URLs, sorted, joined by spaces (the account included, so the same conversation
  read from another member's archive is the same space), its members the account and the
  addressees. An addressee is an address that is neither ``Public`` nor a collection
  (Mastodon names collections ``…/followers`` and ``…/following``).
- A ``Create`` is an item: ``post``, or ``comment`` when it replies (``inReplyTo``); the
  object's type in ``subtype`` when it is not ``Note``; ``published`` / ``updated`` exact in
  ``created_native`` / ``edited_native``; the content warning (``summary``) as the title,
  since it is the line a reader sees first; the body is the HTML ``content`` exactly
  (format ``html``), normalised to CommonMark with the standard library's HTML parser
  (a poll's options follow as a list), with its mentions, hashtags, links and custom emoji
  as references in order of appearance. ``contentMap``, ``sensitive``, ``url``, the poll's
  votes… stay in raw: the exact bytes of the element of ``orderedItems``.
- Every status's item id is keyed by its URI under one fixed conversation (``statuses``)
  rather than under its space, so a reply names its parent's id from the parent's URI
  alone: inside the archive, ``parent_id`` is the post replied to and ``thread_root_id``
  the first post of the chain; a reply to a post outside the archive names the id that
  post would have (its parent and root), with an info diagnostic.
- An ``Announce`` is a ``post`` of subtype ``announce`` whose body is the boosted URI as a
  link (the boosted post is not in the archive unless the account boosted itself).
- Attachments are files (native id: the path as written; title: the alt text; the bytes
  from the archive, or the reason they are missing); a preview card (``Link``) is a link
  reference. Custom emoji are files ``emoji:<shortcode>`` whose image is a link only.
- ``likes.json`` and ``bookmarks.json`` list URIs only, so each becomes an ``event`` item
  (subtype ``like`` / ``bookmark``) in a private space of the account, its body the URI
  as a link: the data stays data.
- Anything else is said: an activity of another type, a record without what it needs, a
  file no post refers to (kept as a file attached to no item), a broken JSON file (what
  precedes the break is read; the bytes are kept).

Memory holds the outbox's bytes (one JSON document, as every reader parses one at a time,
within ``Limits.max_json_bytes``) and, per status, 16 bytes (its key and its parent's),
never the decoded statuses. Units of work: ``actor``, ``outbox`` (spaces, placeholders),
``outbox:<n>`` for each 1,000 items from the n-th, ``likes``, ``bookmarks``, ``leftovers``.
"""

from __future__ import annotations

import re
import tarfile
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import msgspec

from passerelle.activitystreams.vocabulary import (
    as_list,
    id_of,
    is_public,
    iter_objects,
    parse_time,
    types_of,
)
from passerelle.archive.writer import ArchiveWriter
from passerelle.errors import BadInputError
from passerelle.model import ids
from passerelle.model.entities import (
    Body,
    File,
    Item,
    ItemFile,
    ItemKind,
    Membership,
    Person,
    Reference,
    RefKind,
    Space,
    SpaceKind,
    Visibility,
)
from passerelle.progress import Display
from passerelle.readers.base import FormatInfo, Sink
from passerelle.readers.source_tree import EntryError, SourceTree, repair_utf8

PLATFORM = "mastodon"
OUTBOX, ACTOR, LIKES, BOOKMARKS = "outbox.json", "actor.json", "likes.json", "bookmarks.json"
KNOWN_FILES = (OUTBOX, ACTOR, LIKES, BOOKMARKS)
STATUSES = "statuses"  # the one conversation every status's item id is keyed under
PAGE_ITEMS = 1_000  # outbox items a unit of work holds
SNIFF_BYTES = 1 << 16
MEDIA_FOLDERS = ("media_attachments/", "accounts/", "custom_emojis/", "cache/", "site_uploads/")
_DECODE_ERRORS = (msgspec.DecodeError, RecursionError)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_TAR_SUFFIXES = (".tar.gz", ".tgz")
_ARCHIVE_NAME = re.compile(r"archive-\d{14}-[0-9a-f]{32}\.tar\.gz$")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


# -- reading a collection file ----------------------------------------------------------------
# Strings, brackets, commas and colons: enough to find where the elements of a broken
# document's orderedItems begin and end (a string that never closes matches nothing).
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\],:]', re.DOTALL)


@dataclass
class _Collection:
    """A collection file read: its own fields, its elements' exact bytes, and what went wrong."""

    entry: str
    data: bytes  # the bytes read (repaired to UTF-8 when they were not)
    original: bytes | None  # the bytes as the archive holds them, when they were not UTF-8
    header: dict[str, Any] | None = None  # its fields but the items
    elements: Sequence[msgspec.Raw | bytes] = ()
    problem: str = ""  # why the document is not JSON, or not a collection
    stop: int | None = None  # the index where reading stopped, when items were lost


def _read_collection(tree: SourceTree, entry: str) -> _Collection | EntryError:
    try:
        data = tree.read_bytes(entry)
    except EntryError as exc:
        return exc
    repaired = repair_utf8(data)
    collection = _Collection(entry, repaired if repaired is not None else data, data if repaired else None)
    try:
        top = msgspec.json.decode(collection.data, type=dict[str, msgspec.Raw])
    except _DECODE_ERRORS as exc:
        collection.problem = f"not JSON ({exc})"
        _salvage(collection)
        return collection
    key = "orderedItems" if "orderedItems" in top else "items"
    items = top.pop(key, None)
    try:
        collection.header = {k: msgspec.json.decode(v) for k, v in top.items()}
    except _DECODE_ERRORS as exc:  # pragma: no cover - each value was valid JSON when split
        collection.problem = f"not JSON ({exc})"
    if items is None:
        collection.problem = "a JSON object without orderedItems: not a collection"
        return collection
    try:
        collection.elements = msgspec.json.decode(items, type=list[msgspec.Raw])
    except _DECODE_ERRORS:
        collection.problem = f"its {key} is not a list"
        collection.stop = 0
    return collection


def _salvage(collection: _Collection) -> None:
    """The elements of a broken document's orderedItems, up to the first that is not JSON or
    the point where the document breaks off."""
    data = collection.data
    depth = 0
    previous: list[bytes] = []
    items_depth = 0
    start = 0
    spans: list[tuple[int, int]] = []
    closed = False
    for match in _TOKEN.finditer(data):
        token = match.group()
        if not items_depth:
            if token in (b"{", b"["):
                if (
                    token == b"["
                    and depth == 1
                    and previous[:1] in ([b'"orderedItems"'], [b'"items"'])
                    and previous[1:] == [b":"]
                ):
                    items_depth = depth = 2
                    start = match.end()
                    continue
                depth += 1
                previous = []
            elif token in (b"}", b"]"):
                depth -= 1
                previous = []
            elif depth == 1:
                previous = [*previous, token][-2:]
            continue
        if token in (b"{", b"["):
            depth += 1
        elif token in (b"}", b"]"):
            if depth == items_depth:
                spans.append((start, match.start()))
                closed = True
                break
            depth -= 1
        elif token == b"," and depth == items_depth:
            spans.append((start, match.start()))
            start = match.end()
    if not items_depth:
        return  # not even the beginning of orderedItems: the whole file is lost, said by the caller
    elements: list[bytes] = []
    for i, (begin, end) in enumerate(spans):
        element = data[begin:end].strip()
        if not element and closed and i == len(spans) - 1 and not elements:
            break  # an empty list
        try:
            msgspec.json.decode(element)
        except _DECODE_ERRORS:
            collection.stop = len(elements)
            break
        elements.append(element)
    else:
        if not closed:
            collection.stop = len(elements)
    collection.elements = elements


def _sniff(tree: SourceTree, entry: str) -> bytes:
    try:
        with tree.open_entry(entry) as stream:
            return stream.read(SNIFF_BYTES)
    except EntryError:
        return b""


def _is_mastodon_tar(tree: SourceTree) -> bool:
    """An older Mastodon archive: a single .tar.gz named as Mastodon names it, or whose first
    member is one Mastodon writes first (media, then outbox.json)."""
    names = tree.names()
    if tree.is_zip or len(names) != 1 or not names[0].lower().endswith(_TAR_SUFFIXES):
        return False
    if _ARCHIVE_NAME.match(names[0]):
        return True
    try:
        with tree.open_entry(names[0]) as stream, tarfile.open(fileobj=stream, mode="r|gz") as tar:
            first = tar.next()
    except (EntryError, OSError, EOFError, tarfile.TarError):
        return False
    return first is not None and (first.name in KNOWN_FILES or first.name.startswith(MEDIA_FOLDERS))


# -- activities --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Mention:
    href: str
    name: str | None  # "@bob@example.org", or "@bob" for the account's own server

    @property
    def acct(self) -> str | None:
        return self.name[1:] if self.name and self.name.startswith("@") else self.name


@dataclass(frozen=True)
class _Activity:
    """What an element of orderedItems says, worked out the same way by both passes."""

    kind: str  # "create" or "announce"
    native: str  # the status's URI (Create) or the Announce's id
    obj: dict[str, Any]  # the Create's object; the Announce itself
    author: str | None
    audience: str  # "public", "unlisted", "followers" or "direct"
    addressees: tuple[str, ...]  # the people addressed (not the account, no collection), sorted
    parent: str | None  # inReplyTo
    target: str | None  # the boosted URI
    mentions: tuple[_Mention, ...]
    published: Any


def _addresses(*records: dict[str, Any]) -> tuple[list[str], list[str]]:
    to: list[str] = []
    cc: list[str] = []
    for record in records:
        to += [a for a in map(id_of, as_list(record.get("to")) + as_list(record.get("bto"))) if a]
        cc += [a for a in map(id_of, as_list(record.get("cc")) + as_list(record.get("bcc"))) if a]
    return to, cc


def _is_collection(address: str, followers: str) -> bool:
    return address == followers or address.endswith(("/followers", "/following"))


def _mentions(obj: dict[str, Any]) -> tuple[_Mention, ...]:
    found = []
    for tag in iter_objects(obj.get("tag")):
        href = _text(tag.get("href"))
        if "Mention" in types_of(tag) and href:
            found.append(_Mention(href, _text(tag.get("name"))))
    return tuple(found)


def _activity(record: dict[str, Any], account: str, followers: str) -> _Activity | tuple[str, str]:
    """The activity, or (code, why it cannot become an item)."""
    types = types_of(record)
    if "Create" in types:
        obj = record.get("object")
        if not isinstance(obj, dict) or _text(obj.get("id")) is None:
            return "mastodon.invalid_record", "a Create without an object that has an id"
        native: str = obj["id"]
        author = id_of(obj.get("attributedTo")) or id_of(record.get("actor"))
        to, cc = _addresses(record, obj)
        parent = id_of(obj.get("inReplyTo"))
        target = None
        mentions = _mentions(obj)
        published = obj.get("published", record.get("published"))
        kind = "create"
    elif "Announce" in types:
        target = id_of(record.get("object"))
        native_or_none = _text(record.get("id"))
        if native_or_none is None or target is None:
            return "mastodon.invalid_record", "an Announce without an id and an object"
        native, obj, parent, mentions = native_or_none, record, None, ()
        author = id_of(record.get("actor"))
        to, cc = _addresses(record)
        published = record.get("published")
        kind = "announce"
    else:
        what = f"type {types[0]!r}" if types else "no type"
        return "mastodon.unknown_activity", f"an activity of {what}: only Create and Announce are read"
    if any(map(is_public, to)):
        audience = "public"
    elif any(map(is_public, cc)):
        audience = "unlisted"
    elif followers in to or followers in cc:
        audience = "followers"
    else:
        audience = "direct"
    addressees = {
        a for a in to + cc if not is_public(a) and not _is_collection(a, followers) and a != account
    }
    return _Activity(
        kind, native, obj, author, audience, tuple(sorted(addressees)), parent, target, mentions, published
    )


# -- item keys: a status's item id is "itm_" + a fixed prefix + 16 hex of a 64-bit key --------
_PREFIX = ids.item_id(PLATFORM, STATUSES, "")[:12]


def status_item_id(uri: str) -> str:
    """The item id of the status (or boost) with this URI, in any Mastodon archive."""
    return ids.item_id(PLATFORM, STATUSES, uri)


def _key(uri: str) -> int:
    return int(status_item_id(uri)[12:], 16) or 1  # 0 marks "none"


def _id_of_key(key: int) -> str:
    return f"{_PREFIX}{key:016x}"


# -- HTML to CommonMark -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Ref:
    kind: RefKind
    target: str
    label: str | None


@dataclass
class _Link:
    href: str
    classes: list[str]
    parts: list[str] = field(default_factory=list)


_SPACES = re.compile(r"\s+")
_SHORTCODE = re.compile(r":([A-Za-z0-9_]+):")
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "header",
        "footer",
        "figure",
        "figcaption",
        "table",
        "tr",
        "dl",
        "dt",
        "dd",
    }
)
_INLINE_MARKS = {"strong": "**", "b": "**", "em": "*", "i": "*", "del": "~~", "s": "~~", "strike": "~~"}


class _HtmlText(HTMLParser):
    """Mastodon's HTML as CommonMark-ish text, with its references in order of appearance.

    Mastodon writes paragraphs, line breaks and links (mentions and hashtags are links with
    the classes ``mention`` and ``hashtag``; a long URL is split in spans, some invisible,
    whose text joined is the URL); servers that allow more markup add emphasis, code,
    quotes, lists and headings. Everything else is read for its text."""

    def __init__(self, mentions: Sequence[_Mention], hashtags: dict[str, str], emoji: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.mentions = mentions
        self.hashtags = hashtags  # lowercased "#name" -> href
        self.emoji = emoji
        self.refs: list[_Ref] = []
        self.used_mentions: set[int] = set()
        self.used_hashtags: set[str] = set()
        self.blocks: list[tuple[str, int]] = []  # (text, the list it is an item of, or 0)
        self.line: list[str] = []
        self.prefix = ""
        self.in_item = 0  # the list whose item the current block is
        self.quote = 0
        self.lists: list[list[int]] = []  # [ordered, count, serial]
        self.serial = 0
        self.link: _Link | None = None
        self.pre: list[str] | None = None
        self.skip = 0

    # -- blocks --
    def _flush(self) -> None:
        lines = [line.strip() for line in "".join(self.line).split("\n")]
        self.line = []
        while lines and not lines[0]:
            lines.pop(0)
        while lines and not lines[-1]:
            lines.pop()
        if not lines:
            return
        indent = " " * len(self.prefix)
        lines = [self.prefix + lines[0]] + [indent + line if line else line for line in lines[1:]]
        self._block("\n".join(lines), self.in_item)
        self.prefix, self.in_item = "", 0

    def _block(self, text: str, item: int) -> None:
        if self.quote:
            mark = "> " * self.quote
            text = "\n".join((mark + line).rstrip() for line in text.split("\n"))
        self.blocks.append((text, item))

    def text(self) -> str:
        if self.link is not None:  # a link never closed ends with the text
            link, self.link = self.link, None
            self._end_link(link)
        self._flush()
        if self.pre is not None:
            self._end_pre()
        out: list[str] = []
        for n, (text, item) in enumerate(self.blocks):
            if n:
                out.append("\n" if item and self.blocks[n - 1][1] == item else "\n\n")
            out.append(text)
        return "".join(out)

    def _end_pre(self) -> None:
        assert self.pre is not None
        code = "".join(self.pre).strip("\n")
        self.pre = None
        self._block(f"```\n{code}\n```", 0)

    # -- tags --
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        if self.skip:
            return
        if tag == "br":
            self._put("\n")
        elif tag in _BLOCK_TAGS or tag == "hr":
            self._flush()
            if tag == "hr":
                self._block("---", 0)
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self._flush()
            self.prefix = "#" * int(tag[1]) + " "
        elif tag == "blockquote":
            self._flush()
            self.quote += 1
        elif tag in ("ul", "ol"):
            self._flush()
            self.serial += 1
            self.lists.append([tag == "ol", 0, self.serial])
        elif tag == "li":
            self._flush()
            if self.lists:
                counter = self.lists[-1]
                counter[1] += 1
                bullet = f"{counter[1]}. " if counter[0] else "- "
                self.prefix, self.in_item = "  " * (len(self.lists) - 1) + bullet, counter[2]
        elif tag == "pre":
            self._flush()
            self.pre = []
        elif tag == "code" and self.pre is None:
            self._put("`")
        elif tag in _INLINE_MARKS:
            self._put(_INLINE_MARKS[tag])
        elif tag == "a" and self.link is None:
            values = dict(attrs)
            self.link = _Link((values.get("href") or "").strip(), (values.get("class") or "").split())
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.handle_data(alt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":  # <a/> holds no text: opening it would swallow what follows
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag in _BLOCK_TAGS or (len(tag) == 2 and tag[0] == "h" and tag[1] in "123456") or tag == "li":
            self._flush()
        elif tag == "blockquote":
            self._flush()
            self.quote = max(0, self.quote - 1)
        elif tag in ("ul", "ol"):
            self._flush()
            if self.lists:
                self.lists.pop()
        elif tag == "pre" and self.pre is not None:
            self._end_pre()
        elif tag == "code" and self.pre is None:
            self._put("`")
        elif tag in _INLINE_MARKS:
            self._put(_INLINE_MARKS[tag])
        elif tag == "a" and self.link is not None:
            link, self.link = self.link, None
            self._end_link(link)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre is not None:
            self.pre.append(data)
            return
        data = _SPACES.sub(" ", data)
        if self.link is not None:
            self.link.parts.append(data)
            return
        self._text_with_emoji(data)

    def _put(self, text: str) -> None:
        if self.link is not None:
            self.link.parts.append(text)
        elif self.pre is not None:
            self.pre.append(text)
        else:
            self.line.append(text)

    def _text_with_emoji(self, data: str) -> None:
        if self.emoji and ":" in data:
            for match in _SHORTCODE.finditer(data):
                if match.group(1) in self.emoji:
                    self.refs.append(_Ref(RefKind.EMOJI, match.group(1), None))
        self.line.append(data)

    # -- links --
    def _end_link(self, link: _Link) -> None:
        text = "".join(link.parts).strip()
        href = link.href
        if text.startswith("@") or ("mention" in link.classes and "hashtag" not in link.classes):
            at = self._mention(text, href)
            if at is not None:
                self.used_mentions.add(at)
                self.refs.append(_Ref(RefKind.PERSON, self.mentions[at].href, text))
                self.line.append(text)
                return
        tag = text.lower()
        if "hashtag" in link.classes or (tag.startswith("#") and tag in self.hashtags):
            target = self.hashtags.get(tag) or href
            if tag in self.hashtags:
                self.used_hashtags.add(tag)
            if target:
                self.refs.append(_Ref(RefKind.LINK, target, text))
            self.line.append(text)
            return
        if not href:
            self.line.append(text)
            return
        if not text or text == href:
            self.refs.append(_Ref(RefKind.LINK, href, None))
            self.line.append(f"<{href}>" if not re.search(r"[\s<>]", href) else href)
        else:
            self.refs.append(_Ref(RefKind.LINK, href, text))
            self.line.append(f"[{text}]({href})")

    def _mention(self, text: str, href: str) -> int | None:
        """Which mention a link shows: Mastodon shows ``@user`` and links the profile page, the
        tag names ``@user@domain`` and the actor's URI: matched by name, then by user and host."""
        shown = text.lstrip("@")
        user = shown.split("@", 1)[0]
        host = urlsplit(href).hostname if href else None
        candidates = [i for i, m in enumerate(self.mentions) if (m.acct or "").split("@", 1)[0] == user]
        for i in candidates:
            if self.mentions[i].acct == shown and "@" in shown:
                return i
        for i in candidates:
            if urlsplit(self.mentions[i].href).hostname == host:
                return i
        return candidates[0] if len(candidates) == 1 else None


_TAGS = re.compile(r"<[^>]*>")


def html_text(
    html: str,
    mentions: Sequence[_Mention] = (),
    hashtags: Sequence[tuple[str, str]] = (),
    emoji: Sequence[str] = (),
) -> tuple[str, list[_Ref]]:
    """(CommonMark-ish text, references in order) of Mastodon HTML; the tags' mentions,
    hashtags and emoji the text does not show follow, in the tags' order."""
    tags = {name.lower(): href for name, href in hashtags}
    parser = _HtmlText(mentions, tags, frozenset(emoji))
    try:
        parser.feed(html)
        parser.close()
        text = parser.text()
    except (AssertionError, ValueError):  # a markup the parser gives up on: its text, tags removed
        text = _SPACES.sub(" ", _TAGS.sub(" ", html)).strip()
    refs = parser.refs
    refs += [
        _Ref(RefKind.PERSON, m.href, m.name) for i, m in enumerate(mentions) if i not in parser.used_mentions
    ]
    refs += [
        _Ref(RefKind.LINK, href, name)
        for name, href in hashtags
        if name.lower() not in parser.used_hashtags and href
    ]
    shown = {r.target for r in refs if r.kind is RefKind.EMOJI}
    refs += [_Ref(RefKind.EMOJI, code, None) for code in dict.fromkeys(emoji) if code not in shown]
    return text, refs


# -- the account ----------------------------------------------------------------------------------
@dataclass
class _Account:
    id: str = ""  # the actor's URL; "" when the archive does not say
    followers: str = ""
    handle: str = ""  # "@alice@example.org"
    actor: dict[str, Any] | None = None
    raw: bytes | None = None  # actor.json's bytes
    problem: str = ""  # why actor.json is not read
    original: bytes | None = None  # actor.json's bytes as the archive holds them, when not UTF-8

    def settle(self, ident: str) -> None:
        self.id = ident
        self.followers = self.followers or f"{ident}/followers"
        if not self.handle:
            host = urlsplit(ident).hostname or ""
            user = (self.actor or {}).get("preferredUsername")
            user = user if isinstance(user, str) and user else ident.rstrip("/").rpartition("/")[2]
            self.handle = f"@{user}@{host}" if host else f"@{user}"


def _read_actor(tree: SourceTree) -> _Account:
    account = _Account()
    if ACTOR not in tree:
        account.problem = "the archive has no actor.json"
        return account
    try:
        data = tree.read_bytes(ACTOR)
    except EntryError as exc:
        account.problem = str(exc)
        return account
    repaired = repair_utf8(data)
    if repaired is not None:
        account.original, data = data, repaired
    account.raw = data
    try:
        actor = msgspec.json.decode(data)
    except _DECODE_ERRORS as exc:
        account.problem = f"actor.json is not JSON ({exc})"
        return account
    if not isinstance(actor, dict) or _text(actor.get("id")) is None:
        account.problem = "actor.json is not an actor with an id"
        return account
    account.actor = actor
    account.followers = _text(actor.get("followers")) or ""
    webfinger = _text(actor.get("webfinger"))
    if webfinger:
        account.handle = "@" + webfinger.lstrip("@")
    account.settle(actor["id"])
    return account


# -- what the first pass learns -------------------------------------------------------------------
@dataclass
class _Scan:
    """Per element of orderedItems, its status key and its parent's (0: none), 16 bytes an
    item; and what the statuses use, bounded by the people and emoji, never by the posts."""

    keys: array[int] = field(default_factory=lambda: array("Q"))
    parents: array[int] = field(default_factory=lambda: array("Q"))
    sorted_keys: array[int] = field(default_factory=lambda: array("Q"))
    sorted_at: array[int] = field(default_factory=lambda: array("q"))
    roots: array[int] = field(default_factory=lambda: array("Q"))
    repeats: set[int] = field(default_factory=set)  # elements whose status came before
    cycles: set[int] = field(default_factory=set)  # elements taken as the root of a reply cycle
    audiences: dict[str, str] = field(default_factory=dict)  # "public"… -> first use
    directs: dict[str, tuple[tuple[str, ...], str]] = field(
        default_factory=dict
    )  # native -> members, first use
    persons: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # URL -> name, first use
    emoji: dict[str, str] = field(default_factory=dict)  # shortcode -> first use
    consumed: bytearray = field(default_factory=bytearray)  # a bit per entry of the tree

    def find(self, key: int) -> int:
        """The element whose status has this key (its first occurrence); -1 when none has."""
        at = bisect_left(self.sorted_keys, key)
        return self.sorted_at[at] if at < len(self.sorted_keys) and self.sorted_keys[at] == key else -1

    def use_person(self, url: str, name: str | None, where: str) -> None:
        known = self.persons.get(url)
        if known is None or (known[0] is None and name):
            self.persons[url] = (name, known[1] if known else where)

    def settle(self) -> None:
        """Index the statuses and resolve each reply's thread root."""
        order = sorted((i for i, k in enumerate(self.keys) if k), key=self.keys.__getitem__)
        for n, i in enumerate(order):
            if n and self.keys[order[n - 1]] == self.keys[i]:
                self.repeats.add(i)
        kept = [i for i in order if i not in self.repeats]
        self.sorted_keys = array("Q", (self.keys[i] for i in kept))
        self.sorted_at = array("q", kept)
        self.roots = array("Q", bytes(8 * len(self.keys)))
        for i in range(len(self.keys)):
            if self.keys[i] and self.parents[i] and i not in self.repeats:
                self._root(i)

    def _root(self, i: int) -> int:
        path: list[int] = []
        seen: set[int] = set()
        at = i
        while True:
            if self.roots[at]:
                root = self.roots[at]
                break
            parent = self.parents[at]
            if not parent:
                root = self.keys[at]
                break
            if at in seen:  # the chain came back: a cycle, taken as rooted here
                root = self.keys[at]
                self.cycles.add(at)
                break
            seen.add(at)
            path.append(at)
            up = self.find(parent)
            if up < 0:
                root = parent  # a post outside the archive heads the thread
                break
            at = up
        for j in path:
            self.roots[j] = root
        return root


def _entry_for(tree: SourceTree, url: str) -> tuple[str | None, str]:
    """The entry holding an attachment's bytes, or None and why there is none. Mastodon writes
    the URL's path without its ``/system/`` prefix; with a CDN the path keeps a leading ``/``
    (and sometimes a prefix) while the file sits at ``media_attachments/…``."""
    if "\x00" in url or "\\" in url:
        return None, f"the path {url!r} is not a path inside the archive; not read"
    if _SCHEME.match(url):
        return None, f"{url!r} is a link, not a file of the archive"
    path = url.lstrip("/")
    if ".." in path.split("/"):
        return None, f"the path {url!r} escapes the archive; not read"
    candidates = [path, unquote(path)]
    at = path.find("media_attachments/")
    if at > 0:
        candidates.append(path[at:])
    for name in candidates:
        if name and name in tree:
            return name, ""
    return None, f"not in the archive ({url!r})"


def _attachment_url(attachment: Any) -> str | None:
    if isinstance(attachment, str):
        return attachment or None
    if not isinstance(attachment, dict):
        return None
    for value in as_list(attachment.get("url")):
        url = id_of(value)
        if url:
            return url
    return None


class MastodonReader:
    info: ClassVar[FormatInfo] = FormatInfo(
        name="mastodon",
        platform=PLATFORM,
        description="Mastodon account archive (Request your archive: the zip, or its folder;"
        " outbox.json, actor.json, likes.json, bookmarks.json and media)",
        keeps=(
            "the account (actor.json verbatim) with its avatar and header; mentioned and addressed"
            " accounts (placeholders)",
            "posts by audience, so privacy survives: public, unlisted and followers-only spaces, and"
            " a direct space per set of people with its members",
            "posts and replies (Create of a Note, a Question…) with exact published and updated times,"
            " content warning as title, the HTML content verbatim and as CommonMark, raw activity",
            "threads: replies to their parent and thread root, also when the parent is outside the archive",
            "boosts (Announce) as posts of subtype announce linking the boosted post",
            "attachments with their bytes and alt text; custom emoji; mentions, hashtags and links",
            "likes and bookmarks as events of subtype like / bookmark linking the post",
            "files no post refers to, as files attached to no item",
        ),
        cannot_carry=(
            "liked, bookmarked and boosted posts themselves: the archive holds their URIs only",
            "custom emoji images: the archive holds links to them only",
            "polls' votes, sensitivity, language versions (contentMap), blurhash and focal points (kept in raw)",
            "activities other than Create and Announce (kept verbatim in diagnostics)",
            "the older .tar.gz archives: unpack them and ingest the folder",
        ),
    )
    version: ClassVar[str] = "1"

    @classmethod
    def detect(cls, tree: SourceTree) -> bool:
        if _is_mastodon_tar(tree):
            raise BadInputError(_TAR_MESSAGE.format(path=tree.path))
        if OUTBOX not in tree:
            return False
        head = _sniff(tree, OUTBOX)
        return ACTOR in tree or b'"OrderedCollection"' in head or b'"orderedItems"' in head

    @classmethod
    def check(cls, tree: SourceTree) -> None:
        """Refuse an older .tar.gz archive before the archive is touched (also under --from)."""
        if _is_mastodon_tar(tree):
            raise BadInputError(_TAR_MESSAGE.format(path=tree.path))

    def read(self, tree: SourceTree, out: ArchiveWriter, display: Display) -> None:
        self.check(tree)
        account = _read_actor(tree)
        outbox = _read_collection(tree, OUTBOX) if OUTBOX in tree else None
        elements = outbox.elements if isinstance(outbox, _Collection) else ()
        task = display.task("Mastodon outbox", total=2 * len(elements))
        scan = self._scan(tree, elements, account, task.advance)
        self._consume(tree, scan, *KNOWN_FILES, *_profile_images(tree, account))

        if not out.is_done("actor"):
            self._actor(tree, account, out)
            out.complete("actor")
        if not out.is_done("outbox"):
            self._outbox(outbox, account, out, scan)
            out.complete("outbox")
        for start in range(0, len(elements), PAGE_ITEMS):
            unit = f"outbox:{start}"
            if not out.is_done(unit):
                for i in range(start, min(start + PAGE_ITEMS, len(elements))):
                    self._element(tree, i, elements[i], account, out, scan)
                out.complete(unit)
            task.advance(min(PAGE_ITEMS, len(elements) - start))
        for entry, unit, subtype in ((LIKES, "likes", "like"), (BOOKMARKS, "bookmarks", "bookmark")):
            if entry in tree and not out.is_done(unit):
                self._uris(tree, entry, subtype, account, out)
                out.complete(unit)
        if not out.is_done("leftovers"):
            self._leftovers(tree, out, scan)
            out.complete("leftovers")

    # -- pass 1 ------------------------------------------------------------------------------------
    def _scan(
        self,
        tree: SourceTree,
        elements: Sequence[msgspec.Raw | bytes],
        account: _Account,
        advance: Callable[[int], None],
    ) -> _Scan:
        scan = _Scan(consumed=bytearray((len(tree.names()) + 7) // 8))
        if not account.id:  # no actor.json: the account is the author of its outbox
            for element in elements:
                record = _decode(element)
                if isinstance(record, dict) and {"Create", "Announce"} & set(types_of(record)):
                    ident = id_of(record.get("actor"))
                    if ident:
                        account.settle(ident)
                        break
        for i, element in enumerate(elements):
            where = f"{OUTBOX}#{i}"
            record = _decode(element)
            activity = _activity(record, account.id, account.followers) if isinstance(record, dict) else None
            advance(1)
            if not isinstance(activity, _Activity):
                scan.keys.append(0)
                scan.parents.append(0)
                continue
            scan.keys.append(_key(activity.native))
            scan.parents.append(_key(activity.parent) if activity.parent else 0)
            if activity.audience == "direct":
                native = _direct_native(account.id, activity.addressees)
                if native not in scan.directs:
                    scan.directs[native] = (activity.addressees, where)
            else:
                scan.audiences.setdefault(activity.audience, where)
            for mention in activity.mentions:
                if mention.href != account.id:
                    scan.use_person(mention.href, mention.acct, where)
            for url in (*activity.addressees, activity.author):
                if url and url != account.id:
                    scan.use_person(url, None, where)
            if activity.kind == "create":
                for k, tag in enumerate(iter_objects(activity.obj.get("tag"))):
                    code = _shortcode(tag)
                    if code is not None and code not in scan.emoji:
                        scan.emoji[code] = f"{where}/tag/{k}"
                for attachment in as_list(activity.obj.get("attachment")):
                    url = _attachment_url(attachment)
                    entry = _entry_for(tree, url)[0] if url else None
                    if entry is not None:
                        self._consume(tree, scan, entry)
        scan.settle()
        return scan

    @staticmethod
    def _consume(tree: SourceTree, scan: _Scan, *entries: str) -> None:
        names = tree.names()
        for entry in entries:
            at = bisect_left(names, entry)
            if at < len(names) and names[at] == entry:
                scan.consumed[at >> 3] |= 1 << (at & 7)

    # -- the account ---------------------------------------------------------------------------------
    def _actor(self, tree: SourceTree, account: _Account, out: Sink) -> None:
        if account.original is not None:
            sha, _ = out.put_blob_bytes(account.original)
            message = f"{ACTOR!r} is not UTF-8; its invalid bytes were read as cp1252, original kept as blob sha256:{sha}"
            out.diagnose("source.not_utf8", ACTOR, message)
        if account.actor is None:
            if account.raw is not None:
                sha, _ = out.put_blob_bytes(account.original or account.raw)
                message = f"{account.problem}; its bytes are kept as blob sha256:{sha}"
                out.diagnose("mastodon.invalid_json", ACTOR, message, dropped="file")
            if account.id:
                person = ids.person_id(PLATFORM, account.id)
                out.add(
                    Person(
                        id=person,
                        platform=PLATFORM,
                        native_id=account.id,
                        name=account.handle.lstrip("@") or None,
                        is_placeholder=True,
                        origin=OUTBOX,
                    )
                )
                message = f"{account.problem}: the account {account.id} is known from its posts only"
                out.diagnose("mastodon.no_actor", ACTOR, message, entity_id=person)
            else:
                out.diagnose("mastodon.no_actor", ACTOR, f"{account.problem}, and no post names the account")
            return
        actor = account.actor
        person = ids.person_id(PLATFORM, account.id)
        out.add(
            Person(
                id=person,
                platform=PLATFORM,
                native_id=account.id,
                name=_text(actor.get("preferredUsername")),
                display_name=_text(actor.get("name")),
                is_bot=bool({"Service", "Application"} & set(types_of(actor))),
                raw=account.raw,
                origin=ACTOR,
            )
        )
        for key, what in (("icon", "avatar"), ("image", "header")):
            image = next(iter_objects(actor.get(key)), None)
            url = _attachment_url(image) if image is not None else None
            if image is None or url is None:
                continue
            entry, missing = _entry_for(tree, url)
            self._file(
                tree,
                f"{account.id}#{what}",
                url,
                None,
                image,
                entry,
                missing,
                f"{ACTOR}/{key}",
                person,
                None,
                out,
            )

    # -- the outbox as a whole: its fields, spaces, people -----------------------------------------
    def _outbox(
        self, outbox: _Collection | EntryError | None, account: _Account, out: Sink, scan: _Scan
    ) -> None:
        if isinstance(outbox, EntryError):
            out.diagnose(outbox.code, OUTBOX, str(outbox), dropped="entry")
        elif outbox is not None:
            self._collection_said(outbox, out)
        me = ids.person_id(PLATFORM, account.id) if account.id else None
        for url, (name, where) in scan.persons.items():
            person = ids.person_id(PLATFORM, url)
            out.add(
                Person(
                    id=person, platform=PLATFORM, native_id=url, name=name, is_placeholder=True, origin=where
                )
            )
            message = f"account {name or url} is not in the archive; a placeholder person was made"
            out.diagnose("mastodon.account_not_in_archive", where, message, entity_id=person)
        titles = {"public": "public posts", "unlisted": "unlisted posts", "followers": "followers-only posts"}
        for audience in ("public", "unlisted", "followers"):
            if audience in scan.audiences:
                self._own_space(audience, titles[audience], scan.audiences[audience], account, out)
        for native, (addressees, where) in scan.directs.items():
            members = _direct_members(account.id, addressees)
            space = ids.space_id(PLATFORM, native)
            out.add(
                Space(
                    id=space,
                    platform=PLATFORM,
                    native_id=native,
                    kind=SpaceKind.DIRECT_MESSAGE if len(members) <= 2 else SpaceKind.GROUP_MESSAGE,
                    visibility=Visibility.PRIVATE,
                    creator_id=me,
                    raw=_encode({"audience": "direct", "members": list(members)}),
                    origin=where,
                )
            )
            for member in members:
                out.add(Membership(space_id=space, person_id=ids.person_id(PLATFORM, member), origin=where))

    @staticmethod
    def _own_space(audience: str, title: str, where: str, account: _Account, out: Sink) -> str:
        native = f"{audience}:{account.id}"
        space = ids.space_id(PLATFORM, native)
        private = audience in ("followers", "likes", "bookmarks")
        out.add(
            Space(
                id=space,
                platform=PLATFORM,
                native_id=native,
                kind=SpaceKind.COMMUNITY,
                visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
                name=audience,
                display_name=f"{account.handle} {title}".strip(),
                creator_id=ids.person_id(PLATFORM, account.id) if account.id else None,
                raw=_encode({"audience": audience, "actor": account.id}),
                origin=where,
            )
        )
        if account.id:
            out.add(
                Membership(
                    space_id=space, person_id=ids.person_id(PLATFORM, account.id), role="owner", origin=where
                )
            )
        return space

    @staticmethod
    def _collection_said(collection: _Collection, out: Sink) -> None:
        entry = collection.entry
        if collection.original is not None:
            sha, _ = out.put_blob_bytes(collection.original)
            message = f"{entry!r} is not UTF-8; its invalid bytes were read as cp1252, original kept as blob sha256:{sha}"
            out.diagnose("source.not_utf8", entry, message)
        if collection.problem:
            sha, _ = out.put_blob_bytes(collection.original or collection.data)
            if collection.stop is not None:
                where = f"{entry}#{collection.stop}"
                message = (
                    f"{entry!r} is {collection.problem}: its items from #{collection.stop} on are lost,"
                    f" those before are read; its bytes are kept as blob sha256:{sha}"
                )
                out.diagnose("mastodon.invalid_json", where, message, dropped="items")
            elif not collection.elements:
                message = f"{entry!r} is {collection.problem}: nothing in it is read; its bytes are kept as blob sha256:{sha}"
                out.diagnose("mastodon.invalid_json", entry, message, dropped="file")
            else:
                message = f"{entry!r} is {collection.problem} after its items, which are read; its bytes are kept as blob sha256:{sha}"
                out.diagnose("mastodon.invalid_json", entry, message)
        if collection.header is not None:
            total = collection.header.get("totalItems")
            count = len(collection.elements)
            said = (
                f"; it says {total!r} items, it holds {count}" if total is not None and total != count else ""
            )
            message = (
                f"the collection's own fields (@context, id, type, totalItems): kept in this diagnostic{said}"
            )
            out.diagnose("mastodon.collection_fields", entry, message, raw=_encode(collection.header))

    # -- pass 2: one element of orderedItems ------------------------------------------------------------
    def _element(
        self,
        tree: SourceTree,
        i: int,
        element: msgspec.Raw | bytes,
        account: _Account,
        out: Sink,
        scan: _Scan,
    ) -> None:
        where = f"{OUTBOX}#{i}"
        raw = bytes(element)
        record = _decode(element)
        if not isinstance(record, dict):
            message = (
                f"an item that is a JSON {type(record).__name__}, not an activity; kept in this diagnostic"
            )
            out.diagnose("mastodon.invalid_record", where, message, dropped="activity", raw=raw)
            return
        activity = _activity(record, account.id, account.followers)
        if not isinstance(activity, _Activity):
            code, why = activity
            out.diagnose(code, where, f"{why}; kept in this diagnostic", dropped="activity", raw=raw)
            return
        item = status_item_id(activity.native)
        if i in scan.repeats:
            first = scan.find(scan.keys[i])
            message = f"{activity.native} comes again (first at {OUTBOX}#{first}); kept in this diagnostic"
            out.diagnose(
                "mastodon.duplicate_record", where, message, dropped="activity", raw=raw, entity_id=item
            )
            self._emoji_files(activity, where, out, scan)  # the first use of an emoji may be here
            return
        if activity.audience == "direct":
            space = ids.space_id(PLATFORM, _direct_native(account.id, activity.addressees))
        else:
            space = ids.space_id(PLATFORM, f"{activity.audience}:{account.id}")
        author = ids.person_id(PLATFORM, activity.author) if activity.author else None
        published = self._time(activity.published, "published", where, out)
        if activity.kind == "announce":
            target = activity.target
            assert target is not None
            if scan.find(_key(target)) < 0:
                message = f"a boost of {target}, which is not in the archive: kept as a link"
                out.diagnose(
                    "mastodon.boost_not_in_archive", where, message, entity_id=status_item_id(target)
                )
            out.add(
                Item(
                    id=item,
                    platform=PLATFORM,
                    native_id=activity.native,
                    kind=ItemKind.POST,
                    space_id=space,
                    subtype="announce",
                    author_id=author,
                    created_at=published,
                    created_native=activity.published if isinstance(activity.published, str) else None,
                    body=_link_body(target),
                    raw=raw,
                    origin=where,
                )
            )
            return
        self._status(tree, i, activity, item, space, author, published, raw, where, out, scan)

    def _status(
        self,
        tree: SourceTree,
        i: int,
        activity: _Activity,
        item: str,
        space: str,
        author: str | None,
        published: int | None,
        raw: bytes,
        where: str,
        out: Sink,
        scan: _Scan,
    ) -> None:
        obj = activity.obj
        parent = root = None
        if activity.parent:
            parent = status_item_id(activity.parent)
            if i in scan.cycles:
                message = "the replies from here form a cycle; this one is taken as the thread's root"
                out.diagnose("mastodon.reply_cycle", where, message, entity_id=item)
            else:
                root = _id_of_key(scan.roots[i])
            if scan.find(_key(activity.parent)) < 0:
                message = f"a reply to {activity.parent}, which is not in the archive: its parent names the item it would be"
                out.diagnose("mastodon.parent_not_in_archive", where, message, entity_id=parent)
        updated = obj.get("updated")
        edited = self._time(updated, "updated", where, out) if updated is not None else None
        types = types_of(obj)
        subtype = None if types[:1] == ["Note"] else (types[0] if types else None)
        summary = obj.get("summary")
        out.add(
            Item(
                id=item,
                platform=PLATFORM,
                native_id=activity.native,
                kind=ItemKind.COMMENT if activity.parent else ItemKind.POST,
                space_id=space,
                subtype=subtype,
                author_id=author,
                created_at=published,
                created_native=activity.published if isinstance(activity.published, str) else None,
                edited_at=edited,
                edited_native=updated if isinstance(updated, str) else None,
                edited_by_id=author if edited is not None else None,
                thread_root_id=root,
                parent_id=parent,
                title=summary if isinstance(summary, str) and summary else None,
                body=self._body(obj, activity, where, out),
                raw=raw,
                origin=where,
            )
        )
        self._emoji_files(activity, where, out, scan)
        for position, attachment in enumerate(as_list(obj.get("attachment"))):
            at = f"{where}/attachment/{position}"
            url = _attachment_url(attachment)
            if isinstance(attachment, dict) and url is None and _text(attachment.get("href")):
                continue  # a preview card: a link reference of the body
            if url is None:
                message = "an attachment without a URL; kept in this diagnostic"
                out.diagnose(
                    "mastodon.invalid_record", at, message, dropped="attachment", raw=_encode(attachment)
                )
                continue
            entry, missing = _entry_for(tree, url)
            alt = _text(attachment.get("name")) if isinstance(attachment, dict) else None
            file = self._file(tree, url, url, alt, attachment, entry, missing, at, author, published, out)
            out.add(ItemFile(item_id=item, file_id=file, position=position))

    def _emoji_files(self, activity: _Activity, where: str, out: Sink, scan: _Scan) -> None:
        """The custom emoji first used here (pass 1 settled where each is first used)."""
        if activity.kind != "create":
            return
        for k, tag in enumerate(iter_objects(activity.obj.get("tag"))):
            code = _shortcode(tag)
            if code is not None and scan.emoji.get(code) == f"{where}/tag/{k}":
                self._emoji(code, tag, f"{where}/tag/{k}", out)

    def _body(self, obj: dict[str, Any], activity: _Activity, where: str, out: Sink) -> Body:
        content = obj.get("content")
        if content is None and isinstance(obj.get("contentMap"), dict) and obj["contentMap"]:
            content = obj["contentMap"][sorted(obj["contentMap"])[0]]
        if content is not None and not isinstance(content, str):
            out.diagnose(
                "mastodon.invalid_value", where, f"content is {type(content).__name__}, not text; kept in raw"
            )
        source = content if isinstance(content, str) else ""
        hashtags = [
            (name, _text(tag.get("href")) or "")
            for tag in iter_objects(obj.get("tag"))
            if "Hashtag" in types_of(tag) and (name := _text(tag.get("name")))
        ]
        emoji = [code for tag in iter_objects(obj.get("tag")) if (code := _shortcode(tag))]
        text, refs = html_text(source, activity.mentions, hashtags, emoji)
        options = [
            name
            for key in ("oneOf", "anyOf")
            for option in iter_objects(obj.get(key))
            if (name := _text(option.get("name")))
        ]
        if options:
            text = (text + "\n\n" if text else "") + "\n".join(f"- {name}" for name in options)
        for attachment in iter_objects(obj.get("attachment")):
            href = _text(attachment.get("href"))
            if href and _attachment_url(attachment) is None:
                refs.append(_Ref(RefKind.LINK, href, _text(attachment.get("name"))))
        references = tuple(
            Reference(
                kind=r.kind,
                target=r.target,
                target_id=ids.person_id(PLATFORM, r.target) if r.kind is RefKind.PERSON else None,
                label=r.label,
            )
            for r in refs
        )
        return Body(format="html", source=source, normalised=text, references=references)

    @staticmethod
    def _time(value: Any, name: str, where: str, out: Sink) -> int | None:
        at = parse_time(value) if isinstance(value, str) else None
        if at is None and value is not None:
            out.diagnose(
                "mastodon.invalid_value", where, f"{name} {value!r} is not an RFC 3339 time; kept in raw"
            )
        return at

    # -- files ---------------------------------------------------------------------------------------------
    @staticmethod
    def _file(
        tree: SourceTree,
        native: str,
        url: str,
        title: str | None,
        record: Any,
        entry: str | None,
        missing: str,
        where: str,
        author: str | None,
        created: int | None,
        out: Sink,
    ) -> str:
        sha256 = None
        size: int | None = None
        if entry is not None:
            try:
                with tree.open_entry(entry) as stream:
                    sha256, size = out.put_blob(stream, size=tree.size(entry))
            except (EntryError, OSError, EOFError, ValueError) as exc:
                missing = f"unreadable in the archive: {exc}"
        file = ids.file_id(PLATFORM, native)
        if sha256 is None:
            out.diagnose("mastodon.media_missing", where, f"file {url!r}: {missing}", entity_id=file)
        media_type = record.get("mediaType") if isinstance(record, dict) else None
        out.add(
            File(
                id=file,
                platform=PLATFORM,
                native_id=native,
                name=urlsplit(url).path.rstrip("/").rpartition("/")[2] or url,
                title=title,
                media_type=media_type if isinstance(media_type, str) else None,
                size=size,
                sha256=sha256,
                missing_reason=None if sha256 else missing,
                url=url,
                author_id=author,
                created_at=created,
                raw=_encode(record),
                origin=where,
            )
        )
        return file

    @staticmethod
    def _emoji(code: str, tag: dict[str, Any], where: str, out: Sink) -> None:
        icon = next(iter_objects(tag.get("icon")), {})
        url = _attachment_url(icon)
        file = ids.file_id(PLATFORM, f"emoji:{code}")
        missing = "not in the archive: a Mastodon archive links custom emoji, it does not hold their images"
        out.diagnose(
            "mastodon.emoji_not_in_archive",
            where,
            f"custom emoji :{code}: ({url}): {missing}",
            entity_id=file,
        )
        media_type = icon.get("mediaType")
        out.add(
            File(
                id=file,
                platform=PLATFORM,
                native_id=f"emoji:{code}",
                name=code,
                title=code,
                media_type=media_type if isinstance(media_type, str) else None,
                missing_reason=missing,
                url=url,
                raw=_encode(tag),
                origin=where,
            )
        )

    # -- likes and bookmarks ----------------------------------------------------------------------------
    def _uris(self, tree: SourceTree, entry: str, subtype: str, account: _Account, out: Sink) -> None:
        collection = _read_collection(tree, entry)
        if isinstance(collection, EntryError):
            out.diagnose(collection.code, entry, str(collection), dropped="entry")
            return
        self._collection_said(collection, out)
        audience = f"{subtype}s"
        native = f"{audience}:{account.id}"
        space = ids.space_id(PLATFORM, native)
        me = ids.person_id(PLATFORM, account.id) if account.id else None
        made = False
        for i, element in enumerate(collection.elements):
            where = f"{entry}#{i}"
            raw = bytes(element)
            uri = _decode(element)
            if not isinstance(uri, str) or not uri:
                message = f"a {subtype} that is not a status URI; kept in this diagnostic"
                out.diagnose("mastodon.invalid_record", where, message, dropped=subtype, raw=raw)
                continue
            if not made:
                self._own_space(audience, audience, where, account, out)
                made = True
            out.add(
                Item(
                    id=ids.item_id(PLATFORM, native, uri),
                    platform=PLATFORM,
                    native_id=uri,
                    kind=ItemKind.EVENT,
                    space_id=space,
                    subtype=subtype,
                    author_id=me,
                    body=_link_body(uri),
                    raw=raw,
                    origin=where,
                )
            )

    # -- accounting -------------------------------------------------------------------------------------
    def _leftovers(self, tree: SourceTree, out: Sink, scan: _Scan) -> None:
        for problem in tree.problems:
            out.diagnose(problem.code, problem.entry, problem.message, dropped=problem.dropped)
        for at, name in enumerate(tree.names()):
            if scan.consumed[at >> 3] & (1 << (at & 7)):
                continue
            media = name.startswith(MEDIA_FOLDERS)
            file = ids.file_id(PLATFORM, name)
            try:
                with tree.open_entry(name) as stream:
                    sha, size = out.put_blob(stream, size=tree.size(name))
            except EntryError as exc:
                out.diagnose(exc.code, name, str(exc), dropped="entry")
                continue
            if media:
                message = f"{name!r} ({size} bytes): no post refers to it; kept as a file attached to no item"
                out.diagnose("mastodon.unreferenced_file", name, message, entity_id=file)
            else:
                message = f"{name!r} ({size} bytes) is not part of a Mastodon archive; kept as a file attached to no item"
                out.diagnose("mastodon.unknown_entry", name, message, entity_id=file)
            out.add(
                File(
                    id=file,
                    platform=PLATFORM,
                    native_id=name,
                    name=name.rpartition("/")[2],
                    size=size,
                    sha256=sha,
                    raw=_encode({"path": name}),
                    origin=name,
                )
            )


_TAR_MESSAGE = (
    "{path}: a Mastodon archive in the older .tar.gz container; passerelle reads the zip or a"
    " folder: unpack it (tar -xzf) and ingest the folder"
)


def _profile_images(tree: SourceTree, account: _Account) -> Iterator[str]:
    """The entries holding the avatar and header actor.json names."""
    for key in ("icon", "image"):
        image = next(iter_objects((account.actor or {}).get(key)), None)
        url = _attachment_url(image)
        entry = _entry_for(tree, url)[0] if url else None
        if entry is not None:
            yield entry


def _decode(element: msgspec.Raw | bytes) -> Any:
    try:
        return msgspec.json.decode(element)
    except _DECODE_ERRORS:  # pragma: no cover - elements were checked when the file was split
        return None


def _shortcode(tag: dict[str, Any]) -> str | None:
    name = _text(tag.get("name"))
    if "Emoji" not in types_of(tag) or name is None:
        return None
    code = name.strip(":")
    return code or None


def _direct_members(account: str, addressees: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({account, *addressees} - {""}))


def _direct_native(account: str, addressees: tuple[str, ...]) -> str:
    return "direct:" + " ".join(_direct_members(account, addressees))


def _link_body(uri: str) -> Body:
    shown = f"<{uri}>" if not re.search(r"[\s<>]", uri) else uri
    return Body(
        format="text", source=uri, normalised=shown, references=(Reference(kind=RefKind.LINK, target=uri),)
    )
