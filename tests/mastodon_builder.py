"""Build Mastodon account archives at test time, as Mastodon's BackupService writes them.

What this reproduces (mastodon/mastodon ``app/services/backup_service.rb`` and the
ActivityPub serialisers): a zip named ``archive-<YYYYmmddHHMMSS>-<32 hex>.zip`` whose root
holds ``outbox.json`` (an OrderedCollection with the full ``@context``; each item a
``Create`` of a ``Note``/``Question`` or an ``Announce``, its own ``@context`` removed,
attachment URLs reduced to their path without ``/system/``), the media files at those
paths, ``likes.json`` and ``bookmarks.json`` (OrderedCollections of status URIs, without
``totalItems``), ``avatar.<ext>``/``header.<ext>`` and ``actor.json`` (written last, its
``icon``/``image`` URLs rewritten to those names). JSON is Rails' ``to_json``: compact,
UTF-8, with ``<``, ``>`` and ``&`` escaped as ``\\u003c``, ``\\u003e``, ``\\u0026``.
"""

from __future__ import annotations

import json
import random
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SERVER = "https://mastodon.example"
ACTOR = f"{SERVER}/users/alice"
FOLLOWERS = f"{ACTOR}/followers"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
BOB = "https://remote.example/users/bob"  # a remote account
CAROL = f"{SERVER}/users/carol"  # an account of the same server
PNG = b"\x89PNG\r\n\x1a\n a tiny image"
JPEG = b"\xff\xd8\xff\xe0 a tiny photo"
MP4 = b"\x00\x00\x00\x18ftypmp42 a tiny video"
ZIP_NAME = "archive-20240102030405-0123456789abcdef0123456789abcdef.zip"

FULL_CONTEXT: list[Any] = [
    "https://www.w3.org/ns/activitystreams",
    {
        "ostatus": "http://ostatus.org#",
        "atomUri": "ostatus:atomUri",
        "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
        "conversation": "ostatus:conversation",
        "sensitive": "as:sensitive",
        "toot": "http://joinmastodon.org/ns#",
        "votersCount": "toot:votersCount",
        "blurhash": "toot:blurhash",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        "Hashtag": "as:Hashtag",
        "Emoji": "toot:Emoji",
    },
]


def to_json(value: Any) -> bytes:
    """Rails' to_json: compact UTF-8, HTML characters escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


# -- the actor ------------------------------------------------------------------------------------
def actor(
    *, avatar: str | None = "avatar.png", header: str | None = "header.jpg", **extra: Any
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": ACTOR,
        "type": "Person",
        "following": f"{ACTOR}/following",
        "followers": FOLLOWERS,
        "inbox": f"{ACTOR}/inbox",
        "outbox": "outbox.json",
        "featured": f"{ACTOR}/collections/featured",
        "preferredUsername": "alice",
        "name": "Alice Liddell ✨",
        "summary": "<p>Curiouser &amp; curiouser</p>",
        "url": f"{SERVER}/@alice",
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "published": "2022-11-05T00:00:00Z",
        "publicKey": {
            "id": f"{ACTOR}#main-key",
            "owner": ACTOR,
            "publicKeyPem": "-----BEGIN PUBLIC KEY-----\n…",
        },
        "tag": [],
        "attachment": [
            {
                "type": "PropertyValue",
                "name": "Site",
                "value": '<a href="https://alice.example">alice.example</a>',
            }
        ],
        "endpoints": {"sharedInbox": f"{SERVER}/inbox"},
        "likes": "likes.json",
        "bookmarks": "bookmarks.json",
    }
    if avatar:
        record["icon"] = {"type": "Image", "mediaType": "image/png", "url": avatar}
    if header:
        record["image"] = {"type": "Image", "mediaType": "image/jpeg", "url": header}
    record.update(extra)
    return record


# -- statuses -------------------------------------------------------------------------------------
def status_uri(n: int | str) -> str:
    return f"{ACTOR}/statuses/{n}"


def audience(visibility: str, mentioned: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """to and cc as ActivityPub::TagManager writes them for a visibility."""
    if visibility == "public":
        return [PUBLIC], [FOLLOWERS, *mentioned]
    if visibility == "unlisted":
        return [FOLLOWERS], [PUBLIC, *mentioned]
    if visibility == "private":
        return [FOLLOWERS], list(mentioned)
    return list(mentioned), []  # direct


def mention(href: str, name: str) -> dict[str, Any]:
    return {"type": "Mention", "href": href, "name": name}


def hashtag(name: str) -> dict[str, Any]:
    return {"type": "Hashtag", "href": f"{SERVER}/tags/{name}", "name": f"#{name}"}


def emoji(shortcode: str) -> dict[str, Any]:
    return {
        "id": f"{SERVER}/emojis/{len(shortcode)}",
        "type": "Emoji",
        "name": f":{shortcode}:",
        "updated": "2023-01-01T00:00:00Z",
        "icon": {
            "type": "Image",
            "mediaType": "image/png",
            "url": f"{SERVER}/system/custom_emojis/images/{shortcode}.png",
        },
    }


def media(path: str, media_type: str = "image/png", alt: str | None = None, **extra: Any) -> dict[str, Any]:
    """An attachment as the archive writes it: url is the path inside the archive."""
    return {
        "type": "Document",
        "mediaType": media_type,
        "url": path,
        "name": alt,
        "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
        "focalPoint": [0.0, 0.0],
        "width": 4,
        "height": 4,
        **extra,
    }


def media_path(n: int, ext: str = "png") -> str:
    return f"media_attachments/files/110/{n:03d}/000/original/{n:016x}.{ext}"


def note(
    n: int | str,
    content: str = "<p>Hello</p>",
    *,
    visibility: str = "public",
    published: str = "2023-01-02T03:04:05Z",
    in_reply_to: str | None = None,
    tags: Sequence[dict[str, Any]] = (),
    attachments: Sequence[dict[str, Any]] = (),
    summary: str | None = None,
    sensitive: bool = False,
    language: str | None = "en",
    kind: str = "Note",
    **extra: Any,
) -> dict[str, Any]:
    """A status as ActivityPub::NoteSerializer writes it; mentions in ``tags`` are addressed."""
    mentioned = [t["href"] for t in tags if t["type"] == "Mention"]
    to, cc = audience(visibility, mentioned)
    uri = status_uri(n)
    obj: dict[str, Any] = {
        "id": uri,
        "type": kind,
        "summary": summary,
        "inReplyTo": in_reply_to,
        "published": published,
        "url": f"{SERVER}/@alice/{n}",
        "attributedTo": ACTOR,
        "to": to,
        "cc": cc,
        "sensitive": sensitive,
        "atomUri": uri,
        "inReplyToAtomUri": in_reply_to,
        "conversation": f"tag:mastodon.example,2023-01-02:objectId={n}:objectType=Conversation",
        "content": content,
    }
    if language:
        obj["contentMap"] = {language: content}
    obj["attachment"] = list(attachments)
    obj["tag"] = list(tags)
    obj["replies"] = {
        "id": f"{uri}/replies",
        "type": "Collection",
        "first": {
            "type": "CollectionPage",
            "next": f"{uri}/replies?only_other_accounts=true&page=true",
            "partOf": f"{uri}/replies",
            "items": [],
        },
    }
    obj.update(extra)
    return obj


def create(obj: dict[str, Any], *, context: bool = False) -> dict[str, Any]:
    """The Create activity of a status (the archive removes its @context; older ones kept it)."""
    activity: dict[str, Any] = {
        "id": f"{obj['id']}/activity",
        "type": "Create",
        "actor": ACTOR,
        "published": obj["published"],
        "to": obj["to"],
        "cc": obj["cc"],
        "object": obj,
    }
    return {"@context": FULL_CONTEXT, **activity} if context else activity


def announce(
    n: int | str,
    target: str,
    *,
    author: str = BOB,
    visibility: str = "public",
    published: str = "2023-01-05T00:00:00Z",
) -> dict[str, Any]:
    """A boost: to/cc of the reblog, with the boosted account in cc."""
    to, cc = audience(visibility)
    return {
        "id": f"{status_uri(n)}/activity",
        "type": "Announce",
        "actor": ACTOR,
        "published": published,
        "to": to,
        "cc": [author, *cc],
        "object": target,
    }


# -- files ----------------------------------------------------------------------------------------
def outbox_json(items: Sequence[Any], *, total: int | None = None) -> bytes:
    """outbox.json as the backup streams it: the skeleton, then the items joined by commas."""
    skeleton = {
        "@context": FULL_CONTEXT,
        "id": "outbox.json",
        "type": "OrderedCollection",
        "totalItems": len(items) if total is None else total,
    }
    head = to_json({**skeleton, "orderedItems": ["!PLACEHOLDER!"]})
    prepend, append = head.split(b'"!PLACEHOLDER!"')
    body = b",".join(item if isinstance(item, bytes) else to_json(item) for item in items)
    return prepend + body + append


def uris_json(name: str, uris: Sequence[Any]) -> bytes:
    """likes.json or bookmarks.json (no totalItems, as the newer backups write them)."""
    head = to_json(
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": name,
            "type": "OrderedCollection",
            "orderedItems": ["!PLACEHOLDER!"],
        }
    )
    prepend, append = head.split(b'"!PLACEHOLDER!"')
    return prepend + b",".join(u if isinstance(u, bytes) else to_json(u) for u in uris) + append


def build_archive(
    dest: Path,
    items: Sequence[Any],
    *,
    media_files: Mapping[str, bytes] | None = None,
    likes: Sequence[Any] | None = (),
    bookmarks: Sequence[Any] | None = (),
    actor_record: dict[str, Any] | bytes | None = None,
    avatar: bytes | None = PNG,
    header: bytes | None = JPEG,
    extra: Mapping[str, bytes] | None = None,
    outbox: bytes | None = None,
    layout: str = "zip",
) -> Path:
    """Write an archive at dest (a zip file, or a folder with ``layout="folder"``), in the order
    BackupService writes: outbox, media, likes, bookmarks, avatar, header, actor. None leaves a
    file out; ``outbox`` replaces outbox.json's bytes."""
    entries: dict[str, bytes] = {"outbox.json": outbox if outbox is not None else outbox_json(items)}
    entries.update(media_files or {})
    if likes is not None:
        entries["likes.json"] = uris_json("likes.json", likes)
    if bookmarks is not None:
        entries["bookmarks.json"] = uris_json("bookmarks.json", bookmarks)
    if avatar is not None:
        entries["avatar.png"] = avatar
    if header is not None:
        entries["header.jpg"] = header
    record = actor() if actor_record is None else actor_record
    entries["actor.json"] = record if isinstance(record, bytes) else to_json(record)
    entries.update(extra or {})
    if layout == "zip":
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries.items():
                zf.writestr(name, data)
    else:
        for name, data in entries.items():
            path = dest / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return dest


# -- an archive holding every feature ---------------------------------------------------------------
T = "2023-01-02T03:04:05Z"


def feature_items() -> list[Any]:
    """Public, unlisted, followers-only and direct posts (one to two people); a thread of three;
    a reply to a post of another server; a self-boost and a boost of another's post; a poll;
    an edited post; a content warning with sensitive media; attachments present and missing;
    custom emoji, hashtags, mentions, links; two languages; a Create that kept its @context;
    an activity of an unknown type; an item that is not an object."""
    return [
        create(
            note(
                1,
                '<p>Hello <a href="https://mastodon.example/tags/intro" class="mention hashtag" rel="tag">#<span>intro</span></a> :blobcat: see <a href="https://example.org/a/long/path" target="_blank" rel="nofollow noopener"><span class="invisible">https://</span><span class="ellipsis">example.org/a/long</span><span class="invisible">/path</span></a></p><p>Second<br />line &amp; more</p>',
                tags=[hashtag("intro"), emoji("blobcat")],
                attachments=[
                    media(media_path(1), alt="A tiny image"),
                    media(media_path(2, "mp4"), "video/mp4"),
                ],
            )
        ),
        create(note(2, "<p>quietly</p>", visibility="unlisted", published="2023-01-02T04:00:00Z")),
        create(
            note(
                3,
                '<p><span class="h-card"><a href="https://remote.example/@bob" class="u-url mention">@<span>bob</span></a></span> for followers</p>',
                visibility="private",
                published="2023-01-02T05:00:00Z",
                tags=[mention(BOB, "@bob@remote.example")],
            )
        ),
        create(
            note(
                4,
                '<p><span class="h-card"><a href="https://remote.example/@bob" class="u-url mention">@<span>bob</span></a></span> psst</p>',
                visibility="direct",
                published="2023-01-02T06:00:00Z",
                tags=[mention(BOB, "@bob@remote.example")],
            )
        ),
        create(
            note(
                5,
                '<p><span class="h-card"><a href="https://remote.example/@bob" class="u-url mention">@<span>bob</span></a></span> <span class="h-card"><a href="https://mastodon.example/@carol" class="u-url mention">@<span>carol</span></a></span> all three</p>',
                visibility="direct",
                published="2023-01-02T07:00:00Z",
                tags=[mention(BOB, "@bob@remote.example"), mention(CAROL, "@carol")],
            )
        ),
        create(note(6, "<p>thread start</p>", published="2023-01-03T00:00:00Z")),
        create(note(7, "<p>thread middle</p>", published="2023-01-03T00:01:00Z", in_reply_to=status_uri(6))),
        create(note(8, "<p>thread end</p>", published="2023-01-03T00:02:00Z", in_reply_to=status_uri(7))),
        create(
            note(
                9,
                '<p><span class="h-card"><a href="https://remote.example/@bob" class="u-url mention">@<span>bob</span></a></span> indeed</p>',
                published="2023-01-03T01:00:00Z",
                in_reply_to="https://remote.example/users/bob/statuses/77",
                tags=[mention(BOB, "@bob@remote.example")],
            )
        ),
        announce(10, status_uri(6), author=ACTOR),
        announce(11, "https://remote.example/users/bob/statuses/78"),
        create(
            note(
                12,
                "<p>Tea or coffee?</p>",
                kind="Question",
                published="2023-01-04T00:00:00Z",
                oneOf=[
                    {"type": "Note", "name": "Tea", "replies": {"type": "Collection", "totalItems": 3}},
                    {"type": "Note", "name": "Coffee", "replies": {"type": "Collection", "totalItems": 5}},
                ],
                endTime="2023-01-05T00:00:00Z",
                closed="2023-01-05T00:00:00Z",
                votersCount=8,
            )
        ),
        create(
            note(
                13,
                "<p>edited text</p>",
                published="2023-01-04T01:00:00.123456Z",
                updated="2023-01-04T02:00:00Z",
            )
        ),
        create(
            note(
                14,
                "<p>spoiler inside</p>",
                summary="Spoilers: the end",
                sensitive=True,
                published="2023-01-04T03:00:00Z",
                attachments=[
                    media(media_path(3, "jpg"), "image/jpeg", alt="The ending"),
                    media(media_path(4), alt="gone"),
                ],
            )
        ),
        create(
            note(
                15,
                "<p>Bonjour</p>",
                published="2023-01-04T04:00:00Z",
                language=None,
                contentMap={"fr": "<p>Bonjour</p>", "en": "<p>Hello</p>"},
            )
        ),
        create(note(16, "<p>an old one</p>", published="2022-12-01T00:00:00Z"), context=True),
        {"id": f"{ACTOR}/statuses/17/activity", "type": "Update", "actor": ACTOR, "object": status_uri(13)},
        "a string, not an activity",
    ]


FEATURE_MEDIA = {
    media_path(1): PNG,
    media_path(2, "mp4"): MP4,
    media_path(3, "jpg"): JPEG,
    "media_attachments/files/110/999/000/original/orphan.png": PNG,
}
FEATURE_LIKES = ["https://remote.example/users/bob/statuses/78", "https://other.example/users/dan/statuses/1"]
FEATURE_BOOKMARKS = [status_uri(6), "https://remote.example/users/bob/statuses/79", 42]


def build_feature_archive(dest: Path, *, layout: str = "zip", **overrides: Any) -> Path:
    options: dict[str, Any] = {
        "media_files": FEATURE_MEDIA,
        "likes": FEATURE_LIKES,
        "bookmarks": FEATURE_BOOKMARKS,
        "extra": {"notes.txt": b"not part of an archive"},
        "layout": layout,
    }
    options.update(overrides)
    return build_archive(dest, feature_items(), **options)


# -- a generated archive, for size ------------------------------------------------------------------
def generated_items(
    *, statuses: int = 1_500, seed: int = 7
) -> tuple[list[Any], dict[str, bytes], list[str], list[str]]:
    """A deterministic archive: posts of every visibility, threads, replies elsewhere, boosts,
    polls, mentions, hashtags, attachments; and its media, likes and bookmarks."""
    rng = random.Random(seed)
    people = [
        (f"https://server{i % 7}.example/users/user{i}", f"@user{i}@server{i % 7}.example") for i in range(40)
    ]
    words = ["deploy", "lunch", "review", "ship", "coffee", "bug", "release", "meeting"]
    items: list[Any] = []
    files: dict[str, bytes] = {}
    mine: list[str] = []
    for n in range(statuses):
        published = f"2023-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{(n * 7) % 60:02d}Z"
        if rng.random() < 0.08:
            target = rng.choice(mine) if mine and rng.random() < 0.3 else f"https://elsewhere.example/s/{n}"
            items.append(announce(n, target, published=published))
            continue
        visibility = rng.choices(["public", "unlisted", "private", "direct"], [6, 2, 1, 1])[0]
        tags: list[dict[str, Any]] = []
        text = " ".join(rng.choice(words) for _ in range(rng.randrange(1, 10)))
        for _ in range(rng.randrange(0, 3) if visibility != "direct" else rng.randrange(1, 3)):
            href, name = rng.choice(people)
            tags.append(mention(href, name))
            text = (
                f'<span class="h-card"><a href="{href}" class="u-url mention">@<span>{name.split("@")[1]}</span></a></span> '
                + text
            )
        if rng.random() < 0.2:
            word = rng.choice(words)
            tags.append(hashtag(word))
            text += (
                f' <a href="{SERVER}/tags/{word}" class="mention hashtag" rel="tag">#<span>{word}</span></a>'
            )
        attachments = []
        if rng.random() < 0.05:
            path = media_path(n)
            attachments.append(media(path, alt=f"picture {n}"))
            files[path] = f"picture {n}".encode()
        reply = None
        if mine and rng.random() < 0.15:
            reply = rng.choice(mine)
        elif rng.random() < 0.05:
            reply = f"https://elsewhere.example/s/r{n}"
        obj = note(
            n,
            f"<p>{text}</p>",
            visibility=visibility,
            published=published,
            in_reply_to=reply,
            tags=tags,
            attachments=attachments,
        )
        items.append(create(obj))
        mine.append(obj["id"])
    likes = [f"https://elsewhere.example/s/like{n}" for n in range(statuses // 10)]
    bookmarks = rng.sample(mine, statuses // 50)
    return items, files, likes, bookmarks


def write_generated(dest: Path, *, layout: str) -> Path:
    items, files, likes, bookmarks = generated_items()
    return build_archive(dest, items, media_files=files, likes=likes, bookmarks=bookmarks, layout=layout)
