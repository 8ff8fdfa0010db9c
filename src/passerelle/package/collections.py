"""Paged Activity Streams collections, written one page at a time.

A collection is a ``collection.jsonld`` document and pages of at most ``PAGE_SIZE``
objects (fewer past ``PAGE_BYTES``): only the page being filled is held in memory, and
each page is written as soon as the next one starts. Links between pages and to the
collection are relative to the documents, so they resolve inside the package wherever it
is moved. Objects sit one per line, so a package reads (and diffs) well as text too.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from passerelle.activitystreams.vocabulary import CONTEXT
from passerelle.package.layout import COLLECTION, PAGE_BYTES, PAGE_SIZE, page_name

_ENCODER = msgspec.json.Encoder()


class PayloadSink(Protocol):
    def add_bytes(self, path: str, data: bytes) -> None: ...


def encode(document: dict[str, Any]) -> bytes:
    return _ENCODER.encode(document) + b"\n"


def document(fields: dict[str, Any]) -> dict[str, Any]:
    """A top-level JSON-LD document: the contexts first, then the fields."""
    return {"@context": CONTEXT, **fields}


class CollectionWriter:
    def __init__(self, sink: PayloadSink, folder: str, *, name: str, summary: str | None = None) -> None:
        self.sink = sink
        self.folder = folder
        self.name = name
        self.summary = summary
        self.total = 0
        self.pages = 0
        self._page: list[bytes] = []
        self._page_bytes = 0
        self._page_start = 0

    def add(self, obj: dict[str, Any]) -> None:
        encoded = _ENCODER.encode(obj)
        if self._page and (len(self._page) >= PAGE_SIZE or self._page_bytes + len(encoded) > PAGE_BYTES):
            self._write_page(last=False)
        self._page.append(encoded)
        self._page_bytes += len(encoded)
        self.total += 1

    def _write_page(self, *, last: bool) -> None:
        self.pages += 1
        number = self.pages
        header: dict[str, Any] = {
            "id": page_name(number),
            "type": "OrderedCollectionPage",
            "partOf": COLLECTION,
            "startIndex": self._page_start,
        }
        if number > 1:
            header["prev"] = page_name(number - 1)
        if not last:
            header["next"] = page_name(number + 1)
        opening = _ENCODER.encode(document(header))[:-1] + b',"orderedItems":[\n'
        body = b",\n".join(self._page)
        self.sink.add_bytes(f"{self.folder}/{page_name(number)}", opening + body + b"\n]}\n")
        self._page_start += len(self._page)
        self._page = []
        self._page_bytes = 0

    def close(self) -> None:
        if self._page:
            self._write_page(last=True)
        fields: dict[str, Any] = {"id": COLLECTION, "type": "OrderedCollection", "name": self.name}
        if self.summary:
            fields["summary"] = self.summary
        fields["totalItems"] = self.total
        if self.pages:
            fields["first"] = page_name(1)
            fields["last"] = page_name(self.pages)
        self.sink.add_bytes(f"{self.folder}/{COLLECTION}", encode(document(fields)))
