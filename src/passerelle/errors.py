"""Errors every command turns into a one-line message and its exit status."""

from __future__ import annotations


class BadInputError(Exception):
    """The input cannot be read as asked; the message is for a person."""
