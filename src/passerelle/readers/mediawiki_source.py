"""Where the MediaWiki reader finds its dumps and the files beside them."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from typing import IO, cast

from passerelle.readers.mediawiki_streams import decompressing
from passerelle.readers.safe_xml import sniff_encoding
from passerelle.readers.source_tree import EntryError, SourceTree

DUMP_SUFFIXES = (".xml", ".xml.bz2", ".xml.gz")
MANIFEST = "passerelle-export.json"  # the MediaWiki writer's manifest: not a record of the wiki


ROOT = re.compile(
    r"^\s*(?:(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)\s*)*<(?:[\w.-]+:)?mediawiki[\s>/]",
    re.DOTALL | re.IGNORECASE,
)


def open_dump(tree: SourceTree, name: str) -> IO[bytes]:
    raw = tree.open_entry(name)
    inflate = decompressing(raw, name)
    return raw if inflate is None else cast("IO[bytes]", io.BufferedReader(inflate, 1 << 16))


def is_dump(tree: SourceTree, name: str) -> bool:
    """A dump by its name's suffix and its root element (``<mediawiki>``), read from its start."""
    if not name.lower().endswith(DUMP_SUFFIXES) or name.rsplit("/", 1)[-1].startswith("._"):
        return False
    head = b""
    try:
        with open_dump(tree, name) as stream:
            while len(head) < 1 << 16 and (chunk := stream.read(4096)):
                head += chunk
    except (EntryError, OSError, EOFError, ValueError):
        pass  # a broken stream: its start decides
    encoding, bom = sniff_encoding(head)
    if encoding == "latin-1":
        encoding = "utf-8"
    text = head[bom:].decode(encoding, "replace")
    return ROOT.match(text) is not None


def dumps_in(tree: SourceTree, *, detecting: bool = False) -> list[str]:
    """The dumps of a tree. To detect the format, only names up to two folders deep are
    looked at, and at most ``DETECT_CANDIDATES`` of them (a XAR holds thousands of XML files)."""
    names = [n for n in tree.names() if n.lower().endswith(DUMP_SUFFIXES)]
    if detecting:
        names = [n for n in names if n.count("/") <= 2][:DETECT_CANDIDATES]
    return [n for n in names if is_dump(tree, n)]


DETECT_CANDIDATES = 64


def entry_chunks(tree: SourceTree, name: str) -> Iterator[bytes]:
    with tree.open_entry(name) as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


class Files:
    """The files beside the dumps, found by name for the uploads that name them."""

    def __init__(self, tree: SourceTree, dumps: Iterable[str]) -> None:
        skip = set(dumps)
        self.names = [n for n in tree.names() if n not in skip and n.rsplit("/", 1)[-1] != MANIFEST]
        self.by_path = {n: n for n in self.names}
        self.by_base: dict[str, list[str]] = {}
        for n in self.names:
            self.by_base.setdefault(n.rsplit("/", 1)[-1], []).append(n)
        self.used: set[str] = set()

    def find(self, rel: str | None, filename: str, archivename: str | None) -> str | None:
        """The entry holding an upload's bytes: its ``rel`` path (or ``archive/…``) under any
        folder, else a file of the same name (underscores or spaces)."""
        base = (archivename or filename).replace(" ", "_")
        wanted = []
        if rel:
            folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
            wanted.append(f"archive/{folder}/{base}" if archivename else rel)
        candidates = self.by_base.get(base, []) + self.by_base.get(base.replace("_", " "), [])
        for suffix in wanted:
            for n in candidates:
                if n == suffix or n.endswith("/" + suffix):
                    return n
        for n in candidates:
            if archivename is None and "/archive/" in f"/{n}":
                continue  # an old version's bytes are not the current file's
            return n
        return None
