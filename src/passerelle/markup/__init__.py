"""Wiki markup: references and a normalised CommonMark form at ingest (fast, pure Python),
conversion between wiki syntaxes at export (pandoc with a fallback), page naming.

- :func:`references` and :func:`normalise`: for readers, per body, no pandoc.
- :func:`convert` (one page) and :func:`convert_many` (pages in batches through one pandoc
  process): for writers; each result says its ``method`` and its ``losses``.
- :func:`page_name`, :func:`page_key`, :func:`link_keys`: page naming per wiki, and the key
  a link's target is matched by (the link check, :mod:`passerelle.verify.links`).
"""

from __future__ import annotations

from passerelle.markup.convert import SOURCES, TARGETS, Conversion, Page, convert, convert_many
from passerelle.markup.losses import Loss
from passerelle.markup.naming import link_keys, page_key, page_name
from passerelle.markup.normalise import normalise
from passerelle.markup.references import references

__all__ = [
    "SOURCES",
    "TARGETS",
    "Conversion",
    "Loss",
    "Page",
    "convert",
    "convert_many",
    "link_keys",
    "normalise",
    "page_key",
    "page_name",
    "references",
]
