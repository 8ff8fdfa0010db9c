"""Wiki markup: references and a normalised CommonMark form at ingest (fast, pure Python),
conversion between wiki syntaxes at export (pandoc with a fallback), page naming."""

from __future__ import annotations

from passerelle.markup.normalise import normalise
from passerelle.markup.references import references

__all__ = ["normalise", "references"]
