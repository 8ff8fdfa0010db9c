"""Exit statuses, the same for every command."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    PROBLEMS_FOUND = 1  # verify found unexplained differences; or warnings under --strict
    BAD_INPUT = 2  # the input cannot be read as asked (also click's usage errors)
    INTERNAL_ERROR = 3
