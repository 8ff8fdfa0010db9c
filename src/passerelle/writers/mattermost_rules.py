"""The Mattermost writer's rules, as checks a fidelity comparison can apply.

A rule note (``entity_id`` None) says that every entity of a type was adapted alike. The
fidelity check accepts a difference under a rule only when the difference obeys it: each
check here takes the archive's value and the value read back from the output, and says
whether the difference is the one the rule makes (the writer declares them as its
``rule_checks``; ``passerelle.verify.fidelity`` applies them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from passerelle.writers.mattermost_names import emoji_name

# What the writer puts where a mention or a channel link was: "@username", "@all", "~channel".
_WRITTEN_TOKEN = re.compile(r"@[a-z0-9][a-z0-9._\-]*|~[a-z0-9][a-z0-9_\-]*")


def _truthy_to_falsy(archive: Any, output: Any) -> bool:
    return bool(archive) and not output


def _dropped(archive: Any, output: Any) -> bool:
    return archive is not None and output is None


def _to_message(archive: Any, output: Any) -> bool:
    return bool(archive != "message" and output == "message")


def mentions_rewritten(archive: Any, output: Any) -> bool:
    """The output text is the archive's, but where the output has ``@username``, ``@all`` or
    ``~channel``, the archive has a mention or a channel link of its own (``@Display Name``,
    ``@everyone``, ``#channel``)."""
    if not isinstance(archive, str) or not isinstance(output, str):
        return False
    pieces = _WRITTEN_TOKEN.split(output.strip())
    if len(pieces) == 1:
        return archive.strip() == output.strip()
    pattern = r"[@#~]\S.*?".join(re.escape(piece) for piece in pieces)
    return re.fullmatch(pattern, archive.strip(), re.DOTALL) is not None


def emoji_translated(archive: Any, output: Any) -> bool:
    """The output emoji is the archive's in Mattermost's notation (skin tones)."""
    return isinstance(archive, str) and output == emoji_name(archive)[0]


def _to_milliseconds(archive: Any, output: Any) -> bool:
    return isinstance(archive, int) and output == archive // 1000 * 1000


def _invented(archive: Any, output: Any) -> bool:
    return archive is None and output is not None


RULES: dict[str, Callable[[Any, Any], bool]] = {
    "mattermost.time_precision": _to_milliseconds,
    "mattermost.reaction_time_synthetic": _invented,
    "mattermost.kind_as_message": _to_message,
    "mattermost.subtype_in_props": _dropped,
    "mattermost.deleted_as_post": _truthy_to_falsy,
    "mattermost.broadcast_as_reply": _truthy_to_falsy,
    "mattermost.title_in_props": _dropped,
    "mattermost.mentions_rewritten": mentions_rewritten,
    "mattermost.emoji_skin_tone": emoji_translated,
}
