"""Deterministic identifiers.

An id depends only on what the source says (platform, entity kind, the source's own
ids), never on when or from which file it was read: ingesting the same record twice,
or from a later export of the same workspace, yields the same id.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache


def make_id(prefix: str, *parts: str) -> str:
    """Return ``prefix_<24 hex>``, a stable digest of the namespaced parts."""
    return f"{prefix}_{_digest(24, *parts)}"


# Persons and spaces are referenced over and over; their ids are worth remembering.
@lru_cache(maxsize=1 << 16)
def person_id(platform: str, native_id: str) -> str:
    return make_id("per", platform, native_id)


@lru_cache(maxsize=1 << 14)
def space_id(platform: str, native_id: str) -> str:
    return make_id("spc", platform, native_id)


def item_id(platform: str, space_native_id: str, native_id: str) -> str:
    """``itm_`` + 8 hex of the conversation + 16 hex of the item: a conversation's items share
    a prefix, so they sit together in the archive's index and writing one conversation
    touches a few of its pages, not all of them (at a million items, the difference between
    fitting in the cache and not)."""
    return "itm_" + _digest(8, platform, space_native_id) + _digest(16, platform, space_native_id, native_id)


def _digest(hex_digits: int, *parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=hex_digits // 2).hexdigest()


def file_id(platform: str, native_id: str) -> str:
    return make_id("fil", platform, native_id)


def revision_id(item: str, version: str) -> str:
    return make_id("rev", item, version)


def source_id(platform: str, sha256: str) -> str:
    return make_id("src", platform, sha256)


def diagnostic_id(source: str, code: str, where: str, message: str) -> str:
    return make_id("dia", source, code, where, message)
