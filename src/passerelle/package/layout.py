"""Where things are in a package (docs/package.md). Paths are POSIX, relative to the bag."""

from __future__ import annotations

import hashlib
import re

PACKAGE_FORMAT = "passerelle-package"
PACKAGE_VERSION = "1"

DATA = "data"
DESCRIPTION = "data/passerelle-package.json"
AS2 = "data/activitystreams"
CONTEXTS = "data/activitystreams/contexts"
CONTEXT_MAP = "data/activitystreams/contexts.json"
INDEX = "data/activitystreams/index.jsonld"
PERSONS = "data/activitystreams/persons"
SPACES = "data/activitystreams/spaces"
MEMBERSHIPS = "data/activitystreams/memberships"
FILES_COLLECTION = "data/activitystreams/files"
FILES = "data/files/sha256"
DATABASE = "data/archive/archive.sqlite"
SCHEMA = "data/schema/model.schema.json"
VERIFY_REPORT = "data/reports/verify.json"
REPORTS = "data/reports"
DIAGNOSTICS = "data/diagnostics.jsonl"
SOURCES = "data/sources.jsonl"
SUPERSEDED = "data/superseded.jsonl"
README = "README.html"  # a tag file, beside bagit.txt, where a person looks first

COLLECTION = "collection.jsonld"
PAGE_SIZE = 1000  # objects per collection page
PAGE_BYTES = 8 << 20  # a page closes early past this many bytes


def source_report(source_id: str) -> str:
    """Where the reconciliation of one source export with the archive goes (pack --against)."""
    return f"{REPORTS}/source-{space_key(source_id)}.json"


def page_name(number: int) -> str:
    return f"page-{number:06d}.jsonld"


def file_path(sha256: str) -> str:
    """Where a file's bytes are, by their SHA-256."""
    return f"{FILES}/{sha256[:2]}/{sha256}"


# Lowercase only: two ids that differ by case must not share a folder on a file system
# that ignores case (macOS, Windows).
_SAFE_KEY = re.compile(r"[a-z0-9_-]{1,64}")


def space_key(space_id: str) -> str:
    """The folder of a space's collections: its id when that is a safe name, else a digest."""
    if _SAFE_KEY.fullmatch(space_id) and not space_id.startswith("x-"):
        return space_id
    return "x-" + hashlib.sha256(space_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def space_items(space_id: str) -> str:
    return f"{SPACES}/{space_key(space_id)}/items"


def space_history(space_id: str) -> str:
    return f"{SPACES}/{space_key(space_id)}/history"
