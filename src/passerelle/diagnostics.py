"""The catalogue of diagnostic codes (pandoc's typed log messages, for collaboration data).

A code, once published, keeps its meaning. Every code a reader or writer emits must be
declared here with its severity and a sentence for a person; ``docs/diagnostics.md`` is
generated from this table and a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from passerelle.model.entities import Diagnostic, Severity
from passerelle.model.ids import diagnostic_id


@dataclass(frozen=True)
class Code:
    code: str
    severity: Severity
    summary: str


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO

CODES: dict[str, Code] = {
    c.code: c
    for c in [
        # Anything a reader finds in a source tree (zip or folder), whatever the platform.
        Code(
            "source.unsafe_path",
            _E,
            "An entry's path escapes the export (absolute or '..'); it was not read.",
        ),
        Code(
            "source.too_large", _E, "An entry expands beyond the safety limits (zip bomb?); it was not read."
        ),
        Code("source.unreadable_entry", _E, "An entry could not be read (truncated or corrupt archive)."),
        Code(
            "source.unrecognised_entry",
            _I,
            "A file the reader does not interpret; its bytes are kept in the blob store.",
        ),
        Code(
            "source.not_utf8",
            _W,
            "A file or name is not valid UTF-8; its invalid bytes were read as cp1252, the original kept.",
        ),
        # Slack exports.
        Code(
            "slack.invalid_json", _E, "A JSON file could not be parsed; its bytes are kept in the blob store."
        ),
        Code(
            "slack.invalid_record",
            _E,
            "A record is not a JSON object (null, a number…); it is kept in this diagnostic.",
        ),
        Code("slack.missing_ts", _E, "A message has no valid 'ts'; it is kept in this diagnostic."),
        Code("slack.missing_id", _E, "A user or conversation has no 'id'; it is kept in this diagnostic."),
        Code(
            "slack.duplicate_ts",
            _W,
            "A conversation holds two messages with one 'ts'; the second is kept in this diagnostic.",
        ),
        Code(
            "slack.unknown_user",
            _W,
            "A user id is used but not defined in users.json; a placeholder person was made.",
        ),
        Code("slack.unknown_bot", _I, "A bot id is used with no user behind it; a placeholder bot was made."),
        Code(
            "slack.unknown_subtype",
            _I,
            "A message subtype passerelle does not know; kept as a message with its raw record.",
        ),
        Code("slack.unknown_field", _I, "A message field passerelle does not model; kept in the raw record."),
        Code(
            "slack.unlisted_conversation",
            _W,
            "A folder of day files not listed in any conversation file; kept as a channel.",
        ),
        Code(
            "slack.null_members",
            _I,
            "A conversation's member list is null in the export; its members are unknown.",
        ),
        Code(
            "slack.file_bytes_missing", _I, "A file's metadata is kept but its bytes are not in the export."
        ),
        Code("slack.file_size_mismatch", _W, "A file's bytes differ in size from what the message declares."),
        Code(
            "slack.reaction_users_truncated",
            _I,
            "A reaction's count exceeds its listed users; Slack lists only some.",
        ),
        Code(
            "slack.thread_root_missing",
            _W,
            "Thread replies whose root message is not in the export; the replies are kept.",
        ),
        Code("slack.ts_outside_day_file", _I, "A message's 'ts' is not on the day of the file it is in."),
        Code(
            "slack.not_a_day_file",
            _I,
            "A JSON file in a conversation folder that is not a day file; its bytes are kept.",
        ),
        # slackdump recordings (chunk files) and conversation dumps.
        Code(
            "slackdump.invalid_line",
            _E,
            "A line of a chunk file is not a JSON object; its bytes are kept in this diagnostic.",
        ),
        Code(
            "slackdump.invalid_chunk",
            _E,
            "A chunk (or one of its fields) is not shaped as slackdump writes it; kept in this diagnostic.",
        ),
        Code(
            "slackdump.truncated",
            _E,
            "A chunk file breaks off (truncated or corrupt gzip, unreadable); the lines after are lost.",
        ),
        Code(
            "slackdump.unmodelled_chunk",
            _I,
            "A chunk the model has no place for (stars, bookmarks, search results, an unknown type);"
            " kept verbatim in this diagnostic.",
        ),
        Code(
            "slackdump.unknown_field",
            _I,
            "A chunk field passerelle does not know; its value is kept in this diagnostic.",
        ),
        Code(
            "slackdump.message_repeated",
            _I,
            "An earlier copy of a message differing only in thread bookkeeping (reply counts, last read);"
            " the last copy is the message, this one is kept in the diagnostic.",
        ),
        Code(
            "slackdump.message_conflict",
            _W,
            "An earlier copy of a message whose content differs from its last copy; the last copy is"
            " the message, this one is kept in the diagnostic.",
        ),
        Code(
            "slackdump.record_repeated",
            _I,
            "An earlier copy of a user, conversation, workspace or file record that differs from its"
            " last copy; the last copy is the record, this one is kept in the diagnostic.",
        ),
        Code(
            "slackdump.unknown_conversation",
            _I,
            "Messages of a conversation the source does not describe (a dump named only by its file);"
            " kept as a channel whose kind is guessed.",
        ),
        # Mattermost bulk exports (reader).
        Code(
            "mattermost.invalid_json",
            _E,
            "A line that is not a JSON object (invalid JSON, or another JSON value); kept in this diagnostic.",
        ),
        Code(
            "mattermost.invalid_record",
            _E,
            "A record without what identifies it (a username, a team and channel, a post's valid"
            " create_at…) or of the wrong shape; kept in this diagnostic.",
        ),
        Code(
            "mattermost.truncated",
            _E,
            "The JSON Lines file breaks off (corrupt or unreadable); the lines after are lost.",
        ),
        Code(
            "mattermost.bad_version",
            _W,
            "The export's version line is missing, not first, or not version 1; the lines are read as version 1.",
        ),
        Code(
            "mattermost.unknown_type",
            _W,
            "A line of a type passerelle does not know (or of none); kept in this diagnostic.",
        ),
        Code(
            "mattermost.unmodelled_record",
            _I,
            "A role or scheme line, or the version line's info: the model has no place for it;"
            " kept in this diagnostic.",
        ),
        Code(
            "mattermost.duplicate_record",
            _W,
            "A user, bot, team, channel, direct channel or emoji defined again; the first definition"
            " is the data, this one is kept in the diagnostic.",
        ),
        Code(
            "mattermost.repeated_post_key",
            _I,
            "A post with the create_at and author of an earlier one in its channel; its native id"
            " gets a '#n' suffix.",
        ),
        Code(
            "mattermost.unknown_user",
            _W,
            "A username used (author, reactor, direct channel member) but not defined; a placeholder person was made.",
        ),
        Code(
            "mattermost.unknown_team",
            _W,
            "A team used but not defined; a placeholder workspace was made.",
        ),
        Code(
            "mattermost.unknown_channel",
            _W,
            "A channel used (posts, memberships) but not defined; kept as a private channel.",
        ),
        Code(
            "mattermost.file_not_in_export",
            _W,
            "An attachment or custom emoji whose file is not in the export (or unreadable); its"
            " record is kept without bytes.",
        ),
    ]
}


class UnknownCodeError(KeyError):
    """A reader or writer used a code that is not in the catalogue (a programming error)."""


def make_diagnostic(
    source_id: str,
    code: str,
    where: str,
    message: str,
    *,
    dropped: str | None = None,
    entity_id: str | None = None,
    raw: bytes | None = None,
) -> Diagnostic:
    try:
        severity = CODES[code].severity
    except KeyError:
        raise UnknownCodeError(code) from None
    return Diagnostic(
        id=diagnostic_id(source_id, code, where, message),
        source_id=source_id,
        code=code,
        severity=severity,
        where=where,
        message=message,
        dropped=dropped,
        entity_id=entity_id,
        raw=raw,
    )


class Diagnoses:
    """A sink's ``diagnose``: make the typed diagnostic and hand it to ``add_diagnostic``."""

    source_id: str

    def add_diagnostic(self, diagnostic: Diagnostic) -> None:
        raise NotImplementedError

    def diagnose(
        self,
        code: str,
        where: str,
        message: str,
        *,
        dropped: str | None = None,
        entity_id: str | None = None,
        raw: bytes | None = None,
    ) -> Diagnostic:
        diagnostic = make_diagnostic(
            self.source_id, code, where, message, dropped=dropped, entity_id=entity_id, raw=raw
        )
        self.add_diagnostic(diagnostic)
        return diagnostic


def catalogue_markdown() -> str:
    lines = [
        "# Diagnostic codes",
        "",
        "Generated from `passerelle/diagnostics.py` (`passerelle formats --diagnostics`). A code keeps its meaning once published.",
        "",
        "| code | severity | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{c.code}` | {c.severity} | {c.summary} |" for c in CODES.values()]
    return "\n".join(lines) + "\n"
