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
        # The Slack export writer (`export --to slack`): notes about what a Slack export cannot hold.
        Code(
            "slack.ts_nudged",
            _I,
            "A message's time equals an earlier one's in its conversation (a Slack ts is unique): it is"
            " moved on by microseconds; the original time is in its passerelle key.",
        ),
        Code(
            "slack.time_missing",
            _W,
            "A message without a time (or before 1970) is written just before its conversation's first"
            " message; the original is in its passerelle key.",
        ),
        Code(
            "slack.native_time_replaced",
            _I,
            "The source's own time notation is replaced by Slack's ts; the original is in the message's"
            " passerelle key.",
        ),
        Code(
            "slack.time_truncated",
            _I,
            "A conversation's or file's creation time is kept to the second (Slack's 'created'), or read"
            " back as unknown when before 2013 (Slack's placeholder values); the original is kept aside.",
        ),
        Code(
            "slack.channel_renamed",
            _I,
            "A conversation's name follows Slack's rules (lowercase, at most 80 characters, no spaces or"
            " periods, unique; mpdm-… for a group DM); the original is in its passerelle key.",
        ),
        Code(
            "slack.user_renamed",
            _I,
            "A person's handle follows Slack's rules (lowercase, no spaces, unique) or is made when"
            " missing; the original is in the user's passerelle key.",
        ),
        Code(
            "slack.kind_adapted",
            _I,
            "A space or item of a kind Slack does not have (community, wiki space, post, comment, page,"
            " an event with no Slack subtype, a DM of more than two) is written as the nearest Slack"
            " one; the original kind is in its passerelle key.",
        ),
        Code(
            "slack.body_converted",
            _I,
            "A body in another markup is written as Slack mrkdwn (mentions, links, emphasis), and may"
            " read back differently; the original markup is in the message's passerelle key.",
        ),
        Code(
            "slack.value_kept_aside",
            _I,
            "A value a Slack export has no field for (a display title, a title, a deletion time, a"
            " nested reply's parent, a subtype replaced by thread_broadcast or tombstone, a missing"
            " file's reason) is kept in the record's passerelle key.",
        ),
        Code(
            "slack.value_lost",
            _W,
            "A value a Slack export cannot hold, with no record to keep it in (a placeholder's bot"
            " flag, a membership role, a space's parent or visibility, a broadcast flag without a thread).",
        ),
        Code(
            "slack.reaction_time_lost",
            _I,
            "Slack exports have no reaction times: the reaction is written without it.",
        ),
        Code(
            "slack.revision_kept_aside",
            _I,
            "Slack exports have no edit history: a revision of a message from another platform is kept in"
            " the message's passerelle.revisions, and is not read back as a revision.",
        ),
        Code(
            "slack.revision_lost",
            _W,
            "A revision of a Slack message that no message_changed event of the export carries (made by"
            " merging exports): a Slack export cannot hold it.",
        ),
        Code(
            "slack.membership_lost",
            _W,
            "A membership the written conversation record does not list (added by merging exports), or"
            " of a workspace or an unlisted folder (Slack exports list none).",
        ),
        Code(
            "slack.reaction_lost",
            _W,
            "A reaction on a Slack message that its record does not list (added by merging exports).",
        ),
        Code(
            "slack.thread_unlinked",
            _W,
            "A reply whose thread root is not in its conversation is written as a plain message; the"
            " root's id is in its passerelle key.",
        ),
        Code(
            "slack.loose_file",
            _W,
            "A file attached to no message (a custom emoji, a leftover): a Slack export has no place for"
            " its record; its bytes are written under __uploads/ without a message.",
        ),
        Code(
            "slack.file_bytes_lost",
            _W,
            "A file whose bytes the archive's blob store lacks, or whose Slack id the __uploads layout"
            " cannot hold: written without its bytes, or left out of its messages.",
        ),
        Code(
            "slack.file_record_differs",
            _I,
            "A Slack file is written as its message's own copy of the file record, which differs from"
            " the archive's (a source that recorded files apart, as slackdump does; a merge).",
        ),
        Code(
            "slack.workspace_adapted",
            _I,
            "A workspace from another platform becomes the export's team (the users' team_id); its name,"
            " title, description and visibility are not carried.",
        ),
        Code(
            "slack.workspace_lost",
            _W,
            "A further workspace: a Slack export holds one team. Its conversations are written, the"
            " workspace itself is not.",
        ),
        Code(
            "slack.folder_moved",
            _I,
            "Two Slack conversations would share a folder: the later one is written under"
            " teams/<id>/ (Enterprise Grid layout), its record unchanged.",
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
        # Mastodon account archives (reader).
        Code(
            "mastodon.invalid_json",
            _E,
            "A JSON file of the archive is not JSON, or not the collection it should be: what precedes"
            " the break is read, what follows is lost; its bytes are kept in the blob store.",
        ),
        Code(
            "mastodon.invalid_record",
            _E,
            "A record lacks what it needs to become data (a Create without an object, a like that is"
            " not a URI, an attachment without a URL); it is kept in this diagnostic.",
        ),
        Code(
            "mastodon.unknown_activity",
            _W,
            "An activity of a type passerelle does not read (only Create and Announce); it is kept in"
            " this diagnostic.",
        ),
        Code(
            "mastodon.duplicate_record",
            _W,
            "The outbox holds a status or boost twice: the first is kept, the other in this diagnostic.",
        ),
        Code(
            "mastodon.collection_fields",
            _I,
            "A collection file's own fields (@context, id, type, totalItems): kept in this diagnostic.",
        ),
        Code(
            "mastodon.no_actor",
            _W,
            "The archive has no readable actor.json: the account is known from its posts only (a"
            " placeholder person).",
        ),
        Code(
            "mastodon.account_not_in_archive",
            _I,
            "An account a post mentions or addresses is not in the archive (it holds one account):"
            " a placeholder person was made.",
        ),
        Code(
            "mastodon.parent_not_in_archive",
            _I,
            "A reply to a post that is not in the archive: its parent and thread root name the item"
            " that post would be.",
        ),
        Code(
            "mastodon.boost_not_in_archive",
            _I,
            "A boost of a post that is not in the archive (archives hold the account's own posts"
            " only): the boosted post's URI is kept as a link.",
        ),
        Code(
            "mastodon.reply_cycle",
            _W,
            "Replies that form a cycle (each replying to the next): this one is taken as the thread's root.",
        ),
        Code(
            "mastodon.media_missing",
            _W,
            "A file whose bytes are not in the archive (Mastodon leaves out media it cannot read), or"
            " whose path leads out of it: the record is kept, the reason recorded.",
        ),
        Code(
            "mastodon.emoji_not_in_archive",
            _I,
            "A custom emoji's image is not in the archive (archives link emoji only): kept as a file"
            " without bytes.",
        ),
        Code(
            "mastodon.invalid_value",
            _W,
            "A value is not of the form the format gives it (a time that is not RFC 3339, content"
            " that is not text): kept in raw, the field left empty.",
        ),
        Code(
            "mastodon.unreferenced_file",
            _I,
            "A media file no post or profile refers to: kept as a file attached to no item.",
        ),
        Code(
            "mastodon.unknown_entry",
            _W,
            "A file that is not part of a Mastodon archive: kept as a file attached to no item.",
        ),
        # CSV files read with a mapping (reader: `ingest --from csv`); `where` is `<file>#<line>`.
        Code(
            "csv.mapping",
            _I,
            "The mapping the CSV files were read with; its TOML text is kept in this diagnostic.",
        ),
        Code(
            "csv.broken_quoting",
            _E,
            "A row's quoting is broken (a character after a closing quote, or a quote that never"
            " closes: then the row is its first line and the next lines are read again); kept here.",
        ),
        Code(
            "csv.column_count",
            _E,
            "A row has another number of columns than the header (or, without one, the first row);"
            " kept in this diagnostic.",
        ),
        Code("csv.too_large", _E, "A row is larger than a row may be; its bytes are kept as a blob."),
        Code(
            "csv.bad_header",
            _E,
            "A mapped file's header row cannot be read, or lacks a column the mapping names; not read.",
        ),
        Code(
            "csv.undecodable",
            _W,
            "A row holds bytes its file's encoding does not define; read as cp1252 (UTF-16: U+FFFD),"
            " the row's bytes kept in this diagnostic.",
        ),
        Code("csv.bad_date", _W, "A date does not read in the file's date format; the field is left empty."),
        Code("csv.bad_number", _W, "A number is not a whole number; the field is left empty."),
        Code(
            "csv.unknown_value",
            _W,
            "A value is none the field takes (a boolean, a model value, the mapping's values);"
            " the field is left empty or at its default.",
        ),
        Code(
            "csv.missing_field",
            _E,
            "A row lacks what its record cannot do without (a membership's space or person, a"
            " reaction's item, person or emoji…); kept in this diagnostic.",
        ),
        Code(
            "csv.duplicate_id",
            _W,
            "A row defines an id an earlier row defined; it is kept in this diagnostic.",
        ),
        Code(
            "csv.unknown_person",
            _W,
            "A person is used but no row defines it; a placeholder person was made.",
        ),
        Code(
            "csv.unknown_space",
            _W,
            "A space is used but no row defines it; a private placeholder space was made.",
        ),
        Code(
            "csv.unknown_item",
            _W,
            "An item is used (parent, thread, reaction, file) but no row defines it; a placeholder"
            " item (subtype placeholder) was made.",
        ),
        Code(
            "csv.unknown_file",
            _W,
            "A file is used (an item's attachments) but no row defines it; a file record without"
            " bytes was made.",
        ),
        Code(
            "csv.file_missing",
            _W,
            "A file row names no bytes of the source; the record is kept without them.",
        ),
        Code(
            "csv.no_space",
            _I,
            "Items with no space, no recipients and no parent in a space are kept in a private"
            " space named after their file.",
        ),
        Code("csv.reply_cycle", _W, "Items whose parents form a cycle; the thread is cut at this item."),
        Code("csv.empty_file", _I, "A mapped file holds no rows."),
        # Yammer / Viva Engage network data exports (reader).
        Code(
            "yammer.empty_file",
            _I,
            "A CSV file of the export is empty (no header, no row): there is nothing to read in it.",
        ),
        Code(
            "yammer.invalid_header",
            _E,
            "A CSV file whose header cannot be read, or lacks the column its rows are keyed by: none of"
            " its rows is read; its bytes are kept in the blob store.",
        ),
        Code(
            "yammer.unknown_column",
            _I,
            "Columns passerelle does not model in a CSV file: their values are kept in each row's raw record.",
        ),
        Code(
            "yammer.invalid_row",
            _E,
            "A row the CSV parser cannot read (broken quoting, a field or line over the size limit): it is"
            " kept, as text, in this diagnostic.",
        ),
        Code(
            "yammer.wrong_column_count",
            _E,
            "A row with more or fewer values than its file's header has columns: kept in this diagnostic.",
        ),
        Code(
            "yammer.invalid_record",
            _E,
            "A row without what it needs to become data (an id, the message or user it names): kept in"
            " this diagnostic.",
        ),
        Code(
            "yammer.duplicate_record",
            _W,
            "A row whose id an earlier row of the same file has: the first is kept, this one in this diagnostic.",
        ),
        Code(
            "yammer.invalid_value",
            _W,
            "A value not of the form the export gives it (a time, true/false, a participant, a reply"
            " that starts its thread): kept in raw, the field left empty.",
        ),
        Code(
            "yammer.unknown_user",
            _I,
            "A user the rows use (sender, participant, mention, uploader…) is not in Users.csv, which"
            " lists only the users that changed in the export's range: a placeholder person was made.",
        ),
        Code(
            "yammer.unknown_group",
            _I,
            "A group messages use is not in Groups.csv (which lists the groups that changed in the"
            " range): a community was made from the messages' group name and privacy.",
        ),
        Code(
            "yammer.parent_not_in_export",
            _I,
            "A reply whose parent, or whose thread's first message, is not in the export (a date range"
            " cuts threads): its parent or thread root names the item that message would be.",
        ),
        Code(
            "yammer.unknown_file",
            _W,
            "An uploadedfile attachment whose id Files.csv does not list: a file record was made, with"
            " the bytes when Files/ holds them.",
        ),
        Code(
            "yammer.file_bytes_missing",
            _W,
            "A file whose bytes are not in the export (kept in SharePoint, exported without attachments,"
            " or its path leads nowhere): the record is kept, the reason recorded.",
        ),
        Code(
            "yammer.unknown_attachment",
            _I,
            "An attachment of a kind passerelle does not model (not uploadedfile or opengraphobject): kept in raw.",
        ),
        Code(
            "yammer.version_of_unknown_message",
            _W,
            "A version (MessageVersions.csv) of a message Messages.csv does not hold: kept in this diagnostic.",
        ),
        Code(
            "yammer.topic",
            _I,
            "A topic (Topics.csv): the model has no topics, so the row is kept in this diagnostic (bodies"
            " show its name).",
        ),
        Code(
            "yammer.page",
            _I,
            "A page (Pages.csv) without content (the file lists ids, dates and owners): kept in this diagnostic.",
        ),
        Code(
            "yammer.admin",
            _I,
            "An admin (Admins.csv): an admin membership of the home network; the row is kept in this diagnostic.",
        ),
        Code(
            "yammer.export_log",
            _I,
            "log.txt or request.txt: the export's summary or parameters, kept in this diagnostic.",
        ),
        Code(
            "yammer.unreferenced_file",
            _I,
            "A file of Files/ that no row of Files.csv or attachment names: kept as a file attached to no item.",
        ),
        Code(
            "yammer.unknown_entry",
            _I,
            "A file passerelle does not read in a Yammer export (Campaigns.csv, Viva Topics files…):"
            " kept as a file attached to no item.",
        ),
        # DokuWiki data folders (reader: `ingest --from dokuwiki`); `where` is the entry, or
        # `<changelog>#<line>`.
        Code(
            "dokuwiki.not_data",
            _I,
            "A folder or file of a DokuWiki install root that is the application, not wiki data (inc/, lib/…); not read.",
        ),
        Code(
            "dokuwiki.regenerated",
            _I,
            "What DokuWiki regenerates (cache/, index/, locks/, tmp/, log/, .indexed and .mlist files); one diagnostic per folder, not read.",
        ),
        Code(
            "dokuwiki.internal_file",
            _I,
            "An internal DokuWiki file (_dummy, a secret salt…); not read, its bytes not kept.",
        ),
        Code(
            "dokuwiki.global_changelog",
            _I,
            "The recent-changes log (meta/_dokuwiki.changes, _media.changes): its lines are in the per-page changelogs; not read.",
        ),
        Code(
            "dokuwiki.config_file",
            _I,
            "A configuration file other than users.auth.php and acl.auth.php; not read into the archive (it may hold secrets).",
        ),
        Code(
            "dokuwiki.password_hashes_dropped",
            _I,
            "users.auth.php's password hashes are never read into the archive (by design); the users are.",
        ),
        Code(
            "dokuwiki.invalid_user_line",
            _W,
            "A users.auth.php line that is not login:hash:name:email:groups; kept here without its hash field.",
        ),
        Code(
            "dokuwiki.invalid_acl_line",
            _W,
            "An acl.auth.php line that is not 'scope subject level'; kept here.",
        ),
        Code(
            "dokuwiki.acl_disabled",
            _I,
            "The configuration sets $conf['useacl'] to 0: DokuWiki does not apply acl.auth.php; every namespace is public.",
        ),
        Code(
            "dokuwiki.page_acl",
            _I,
            "An ACL rule on a single page: the archive keeps visibility per namespace; the rule is kept here.",
        ),
        Code(
            "dokuwiki.invalid_changelog_line",
            _W,
            "A changelog line without date and page id; kept here.",
        ),
        Code(
            "dokuwiki.duplicate_changelog_entry",
            _W,
            "A second changelog entry at the same second; the first is the revision, this one is kept here.",
        ),
        Code(
            "dokuwiki.changelog_out_of_order",
            _I,
            "A changelog entry older than the one before it; the history is in timestamp order.",
        ),
        Code(
            "dokuwiki.empty_changelog",
            _I,
            "A changelog with no entry, and no page or attic file: no page is made.",
        ),
        Code(
            "dokuwiki.attic_missing",
            _W,
            "A changelog entry whose attic file is missing: a revision without body.",
        ),
        Code(
            "dokuwiki.changelog_missing",
            _I,
            "An attic file (or old media version) no changelog entry names: a revision (or file) without author.",
        ),
        Code(
            "dokuwiki.external_edit",
            _I,
            "The page (or media) file's mtime is not its last changelog entry: an external edit, a revision without author, as DokuWiki shows it.",
        ),
        Code(
            "dokuwiki.mtime_inexact",
            _I,
            "A zip's DOS time (no exact timestamp field) differs from the last changelog entry, but the text is that revision's: taken as current.",
        ),
        Code(
            "dokuwiki.page_file_missing",
            _W,
            "The last changelog entry is not a deletion but the page file is missing (deleted outside DokuWiki): the page is deleted.",
        ),
        Code(
            "dokuwiki.size_mismatch",
            _W,
            "A changelog entry's sizechange does not match the sizes of the texts.",
        ),
        Code(
            "dokuwiki.attic_unreadable",
            _E,
            "An attic file that does not decompress or expands beyond the limits: a revision without body; its bytes are kept in the blob store.",
        ),
        Code(
            "dokuwiki.duplicate_attic",
            _W,
            "Two attic files for one revision (.txt and .txt.gz…); the first is read, the other's bytes are kept in the blob store.",
        ),
        Code(
            "dokuwiki.not_utf8",
            _W,
            "A page, attic or meta file that is not UTF-8: read with U+FFFD for the invalid bytes; the original bytes are kept here.",
        ),
        Code(
            "dokuwiki.invalid_meta",
            _W,
            "A .meta file that is not PHP serialize() data passerelle decodes (objects are refused); its bytes are kept here.",
        ),
        Code(
            "dokuwiki.orphan_meta",
            _I,
            "A .meta file of a page that has no page file, changelog or attic file; its bytes are kept here.",
        ),
        Code(
            "dokuwiki.unknown_user",
            _I,
            "A login used by changelogs or the ACL but defined neither by users.auth.php nor by a .meta file: a placeholder person.",
        ),
        Code(
            "dokuwiki.media_attic_missing",
            _W,
            "A media changelog entry whose version is neither the current file nor in media_attic: its bytes are lost; kept here.",
        ),
        Code(
            "dokuwiki.media_deleted",
            _I,
            "A media deletion entry: the archive keeps files, not their deletion; kept here.",
        ),
        Code(
            "dokuwiki.unknown_entry",
            _W,
            "A file outside DokuWiki's data layout: kept as a file attached to no page.",
        ),
        # The Mattermost bulk-import writer (`export --to mattermost`): what the import format forces.
        Code(
            "mattermost.user_renamed",
            _I,
            "A handle that is not a Mattermost username (lowercase a-z 0-9 . - _, 3 to 22, a letter"
            " first) or is another's: folded to ASCII, -2, -3… when two meet; the original in the note.",
        ),
        Code(
            "mattermost.identity_mapped",
            _I,
            "A person mapped by the identity map onto an existing account: only its username, email and"
            " memberships are written, the account's profile is left as the server has it.",
        ),
        Code(
            "mattermost.identity_unused",
            _W,
            "Identity map entries that name no person of the archive: ignored.",
        ),
        Code(
            "mattermost.user_merged",
            _I,
            "Persons mapped onto one account: one user line is written for them.",
        ),
        Code(
            "mattermost.email_generated",
            _I,
            "A person without a usable email (Mattermost requires one) is given username@<email_domain>.",
        ),
        Code(
            "mattermost.email_changed",
            _W,
            "A person's email is already another person's (Mattermost emails are unique): the later"
            " person is given username@<email_domain>; the original in the note.",
        ),
        Code(
            "mattermost.bot_as_user",
            _I,
            "A bot is written as an ordinary user: a Mattermost bot line needs an owner the archive does not name.",
        ),
        Code(
            "mattermost.placeholder_user",
            _I,
            "A person known only by id (a placeholder) is written as an account, so its posts have an author.",
        ),
        Code(
            "mattermost.undefined_in_source",
            _I,
            "A user, team, channel or direct channel its Mattermost source used but never defined:"
            " no definition is written here either (the import needs it to exist).",
        ),
        Code(
            "mattermost.author_missing",
            _W,
            "An item without a known author is posted by a stand-in user (Mattermost posts need one).",
        ),
        Code(
            "mattermost.team_renamed",
            _I,
            "A workspace's name is not a Mattermost team name (lowercase a-z 0-9 -, 2 to 64, not beginning"
            " with a reserved word) or is another's; the original in the note.",
        ),
        Code(
            "mattermost.channel_renamed",
            _I,
            "A space's name is not a Mattermost channel name (lowercase a-z 0-9 - _, 2 to 64) or is"
            " another's in its team: folded to ASCII, -2, -3… when two meet; the original in the note.",
        ),
        Code(
            "mattermost.display_name_added",
            _I,
            "Mattermost shows a display name: where the space has none, its original name is written.",
        ),
        Code(
            "mattermost.text_truncated",
            _W,
            "A text over Mattermost's limit (header 1,024, purpose 250, display name and nickname 64,"
            " team description 50 bytes…) is cut and ends with …; the original in the note.",
        ),
        Code(
            "mattermost.group_to_channel",
            _I,
            "A group conversation of more than 8 members (Mattermost's limit) becomes a private channel.",
        ),
        Code(
            "mattermost.conversation_kind_changed",
            _I,
            "A direct or group conversation whose member count makes it the other kind in Mattermost"
            " (1 or 2 members: direct; 3 to 8: group).",
        ),
        Code(
            "mattermost.members_inferred",
            _W,
            "A direct conversation without known members: its authors are written as its members.",
        ),
        Code(
            "mattermost.space_adapted",
            _I,
            "A space attribute Mattermost cannot hold as it is (a community or wiki space is a channel;"
            " a direct channel has no name, purpose or parent; a team no header; a channel outside any"
            " workspace is in the default team).",
        ),
        Code(
            "mattermost.archive_time_synthetic",
            _I,
            "Mattermost needs a time to archive a channel or deactivate a user; the archive has none:"
            " the latest time of the archive is written.",
        ),
        Code("mattermost.field_dropped", _I, "A value Mattermost's import has no field for is not written."),
        Code(
            "mattermost.field_in_props",
            _I,
            "A value a post has no field for (a reply's parent, the editor, the deletion time) is kept"
            " in its props.passerelle.",
        ),
        Code(
            "mattermost.role_adapted",
            _I,
            "A member's role becomes Mattermost's nearest (owner: admin; none in direct channels;"
            " a guest is never an admin).",
        ),
        Code(
            "mattermost.time_precision",
            _I,
            "Mattermost keeps times to the millisecond; the exact native time is in props.passerelle.created_native.",
        ),
        Code(
            "mattermost.timestamp_nudged",
            _I,
            "Two posts would share Mattermost's key (channel or thread, message, create_at): the later"
            " is moved on by 1 ms; the original in the note.",
        ),
        Code(
            "mattermost.time_missing",
            _W,
            "An item without a time (Mattermost needs one) takes the time of the post before it.",
        ),
        Code(
            "mattermost.message_split",
            _I,
            "A message over 16,383 characters is split at a line break or space; the parts after the"
            " first are replies of its thread, 1 ms apart, with props.passerelle part and parts.",
        ),
        Code(
            "mattermost.attachments_split",
            _I,
            "More than 10 files on an item: the others are on replies of its thread, 10 by 10, with"
            " props.passerelle part and parts.",
        ),
        Code(
            "mattermost.props_too_large",
            _W,
            "A post's props over 800,000 characters: the source's own props are left out.",
        ),
        Code(
            "mattermost.thread_root_missing",
            _W,
            "A reply whose thread root is not in the archive is a root post; the root's id is in props.passerelle.",
        ),
        Code(
            "mattermost.thread_line_split",
            _I,
            "A thread over a JSONL line's 16 MiB: its root is written on several lines, each with a share"
            " of the replies (Mattermost merges them into one thread).",
        ),
        Code(
            "mattermost.mention_unresolved",
            _I,
            "A mention or channel link that names nothing written (a user group, a space that is no"
            " channel of the team): left as its text.",
        ),
        Code(
            "mattermost.mentions_rewritten",
            _I,
            "Mentions are written as @username, @all (for @everyone) and ~channel, as Mattermost links them.",
        ),
        Code(
            "mattermost.kind_as_message",
            _I,
            "Mattermost imports ordinary posts only: an event (a join, a topic change…), post, comment"
            " or page is a post; its kind is in props.passerelle.kind.",
        ),
        Code(
            "mattermost.subtype_in_props",
            _I,
            "Mattermost has no place for the source's subtype: it is in props.passerelle.subtype.",
        ),
        Code(
            "mattermost.deleted_as_post",
            _I,
            "A deleted item's trace (a tombstone) is an ordinary post, so its thread stays whole;"
            " props.passerelle.deleted says so.",
        ),
        Code(
            "mattermost.broadcast_as_reply",
            _I,
            "A reply also shown in the channel is a reply only; props.passerelle.also_in_channel says so.",
        ),
        Code(
            "mattermost.title_in_props",
            _I,
            "Mattermost posts have no title: it is in props.passerelle.title.",
        ),
        Code(
            "mattermost.revision_dropped",
            _W,
            "Mattermost's import has no edit history: an earlier version of a message is not written.",
        ),
        Code(
            "mattermost.reaction_time_synthetic",
            _I,
            "The archive has no time for a reaction (Slack); Mattermost needs one: the post's time is written.",
        ),
        Code(
            "mattermost.reaction_time_adjusted",
            _I,
            "A reaction earlier than its post (Mattermost refuses it) is given the post's time; the original in the note.",
        ),
        Code(
            "mattermost.emoji_skin_tone",
            _I,
            "A skin tone is written in Mattermost's notation: thumbsup::skin-tone-3 is thumbsup_medium_light_skin_tone.",
        ),
        Code(
            "mattermost.emoji_renamed",
            _I,
            "An emoji name outside a-z A-Z 0-9 _ + - or over 64 characters is cleaned; the original in the note.",
        ),
        Code(
            "mattermost.reaction_limit", _W, "A post holds at most 50 reactions: the others are not written."
        ),
        Code(
            "mattermost.reaction_duplicate",
            _I,
            "A reaction that another of the same person and emoji already writes (after renaming or merging).",
        ),
        Code(
            "mattermost.file_missing",
            _W,
            "A file whose bytes the archive lacks cannot be attached; its name is in props.passerelle.missing_files.",
        ),
        Code(
            "mattermost.file_renamed",
            _I,
            "A file name unsafe as a path (separators, control characters, too long) is cleaned; the original in the note.",
        ),
        Code(
            "mattermost.file_too_large",
            _W,
            "A file over Mattermost's default 100 MB attachment limit: raise FileSettings.MaxFileSize before importing.",
        ),
        Code(
            "mattermost.loose_file",
            _W,
            "A file attached to no item that is not a custom emoji: a bulk import has no place for it.",
        ),
        # XWiki XAR packages (reader `xwiki`, writer `xar`); `where` is `<entry>#<element>`.
        Code(
            "xwiki.package",
            _I,
            "package.xml's infos (name, author, version, backupPack, preserveVersion), kept in raw.",
        ),
        Code(
            "xwiki.invalid_package",
            _E,
            "package.xml is not a <package> document; the documents are read without its list.",
        ),
        Code(
            "xwiki.missing_document",
            _W,
            "package.xml lists a document that no file of the package defines.",
        ),
        Code(
            "xwiki.unlisted_document",
            _W,
            "A document of the package is not listed in package.xml; it is read all the same.",
        ),
        Code(
            "xwiki.duplicate_document",
            _W,
            "Two files define one document (reference and locale); the second is kept in this diagnostic.",
        ),
        Code(
            "xwiki.unsafe_xml",
            _E,
            "A document declares a DOCTYPE or entities (XXE, billion laughs); refused unparsed, kept in this diagnostic.",
        ),
        Code(
            "xwiki.invalid_xml",
            _E,
            "A document is not well-formed XML (truncated, malformed) at the place said; kept in this diagnostic.",
        ),
        Code(
            "xwiki.unknown_user",
            _I,
            "A user is named (author, creator, comment, rights) but its user document is not in the package; a placeholder person was made.",
        ),
        Code(
            "xwiki.history_unreadable",
            _W,
            "A JRCS history archive (<versions>) cannot be read past some version; the archive is kept in this diagnostic.",
        ),
        Code(
            "xwiki.head_mismatch",
            _W,
            "The document's version is not the newest of its history archive; the current version is added as a revision.",
        ),
        Code(
            "xwiki.attachment_content_missing",
            _W,
            "An attachment has no <content> (exported without it); the file is kept with the reason.",
        ),
        Code(
            "xwiki.attachment_invalid",
            _E,
            "An attachment's content is not base64; the file is kept without bytes, the text in this diagnostic.",
        ),
        Code(
            "xwiki.attachment_size_mismatch",
            _W,
            "An attachment's filesize differs from the bytes of its content.",
        ),
        Code(
            "xwiki.comment_parent_missing",
            _W,
            "A comment replies to a comment number the document does not hold; kept as a comment on the page.",
        ),
        Code(
            "xwiki.page_rights",
            _W,
            "A page has view rights of its own; the archive's visibility is per space, the rights stay in the page's raw.",
        ),
        Code(
            "xwiki.objects",
            _I,
            "The objects of one class in the package, counted: comments become items, users persons, the rest stays in raw.",
        ),
        Code(
            "xwiki.class_definition",
            _I,
            "Documents of the package define an XWiki class; the definition stays in their raw.",
        ),
        # The XAR writer (`export --to xar`): what an XWiki package cannot hold as the archive has it.
        Code(
            "xwiki.export_reference",
            _I,
            "A page of another wiki is named by an XWiki reference (Space.Page, nested pages as Space.Page.WebHome).",
        ),
        Code(
            "xwiki.export_markup",
            _W,
            "A body in another markup is written in XWiki 2.1 syntax (converted), or kept as it was when it cannot be.",
        ),
        Code(
            "xwiki.export_not_a_page",
            _W,
            "An item that is neither a page nor a comment on a page (a chat message, a post) has no place in a XAR; not written.",
        ),
        Code(
            "xwiki.export_file_unattached",
            _W,
            "A file attached to no page has no place in a XAR; not written.",
        ),
        Code(
            "xwiki.export_bytes_missing",
            _W,
            "The archive lacks a file's bytes: the attachment is written empty, with its declared size.",
        ),
        Code(
            "xwiki.export_membership",
            _I,
            "A space's member is written as a user allowed to view the space (XWikiGlobalRights); members of public spaces are not written.",
        ),
        Code(
            "xwiki.export_person",
            _I,
            "A person is written as an XWiki user reference (XWiki.Name) in authors, with no user document of its own.",
        ),
        Code(
            "xwiki.export_reaction",
            _W,
            "XWiki pages and comments have no reactions; not written.",
        ),
        Code(
            "xwiki.export_deleted",
            _W,
            "A page deleted in its wiki is written as a page (a XAR holds no deleted pages), its deleted versions empty: delete it again after the import.",
        ),
        Code(
            "xwiki.export_time",
            _I,
            "XWiki keeps times to the millisecond: microseconds are cut.",
        ),
        Code(
            "xwiki.export_space",
            _I,
            "A space that is not a wiki space is written as an XWiki space (its pages under it), its kind not kept.",
        ),
        # -- reversibility packages (readers/package.py) --
        Code(
            "package.unreadable_document",
            _E,
            "A document of the package is not JSON, or not the collection or page it should be; its bytes are kept.",
        ),
        Code(
            "package.unreadable_object",
            _E,
            "An object of a collection cannot be read as the model's entity; the object is kept verbatim.",
        ),
        Code(
            "package.count_mismatch",
            _E,
            "A collection holds another number of objects than its totalItems says.",
        ),
        # -- static sites passerelle wrote, read back (readers/html.py) --
        Code(
            "html.bad_data_file",
            _E,
            "A data file of the site is missing, or is not exactly passerelle_data(<JSON object>);"
            " its records are not read (its bytes are kept).",
        ),
        Code(
            "html.invalid_json",
            _E,
            "A data file's JSON cannot be decoded; its records are not read (bytes kept).",
        ),
        Code(
            "html.unreadable_record",
            _E,
            "A record of a data file lacks a field of the contract or has a value of the wrong type;"
            " it is kept in this diagnostic.",
        ),
        Code(
            "html.count_mismatch",
            _E,
            "site.js declares another number of records (or item chunks) than the data files hold.",
        ),
        Code(
            "html.unsafe_path",
            _E,
            "A file's path climbs out of the site (absolute, '..', backslash): its bytes are not read;"
            " the file is kept without them.",
        ),
        Code(
            "html.missing_file",
            _E,
            "A file's path names no file of the site: the file is kept without bytes.",
        ),
        Code(
            "html.file_mismatch",
            _E,
            "A file's bytes do not have the SHA-256 its record declares: kept under their own SHA-256.",
        ),
        Code(
            "html.unknown_person",
            _W,
            "A record names a person persons.js does not hold: a placeholder person stands for them.",
        ),
        Code(
            "html.unknown_space",
            _E,
            "An item names a space spaces.js does not hold: the item (with its reactions, files and"
            " revisions) is kept in this diagnostic.",
        ),
        Code(
            "html.already_held",
            _I,
            "Records of a data file the archive holds from their own source (a site ingested into the"
            " archive it was written from): kept as they are, the site's copies (normalised bodies,"
            " e-mails perhaps withheld) not used.",
        ),
        Code(
            "html.presentation",
            _I,
            "The site's pages, styles, scripts and search index are built from its data files: not read.",
        ),
        # The CSV writer (`export --to csv`): every column is written exactly; only what the
        # archive itself lacks is noted.
        Code(
            "csv.export_bytes_missing",
            _W,
            "The archive's blob store lacks a file's bytes: its row is written with no path, and"
            " reads back without them (sha256 empty).",
        ),
        # The static site writer (`export --to html`): one audience's site; what it may not see
        # is withheld, said per space.
        Code(
            "html.withheld",
            _I,
            "A space the site's audience may not see (not public, or the person was not a member):"
            " it is not in the site, nor anything in it (its items, reactions, files, revisions and"
            " memberships are counted as lost with it).",
        ),
        Code(
            "html.file_unattached",
            _I,
            "A file attached to no item: no space says who may see it, so no static site holds it.",
        ),
        Code(
            "html.email_withheld",
            _I,
            "A public site shows no e-mail addresses: every person's is null in data/persons.js.",
        ),
        Code(
            "html.file_bytes_missing",
            _W,
            "The archive's blob store lacks a file's bytes: the site names the file without them"
            " (its path is null).",
        ),
        # The MediaWiki XML reader (`--from mediawiki`): dumps of export schemas 0.3 to 0.11.
        Code(
            "mediawiki.truncated",
            _E,
            "The dump stops (truncated, malformed XML or a broken compressed stream) at the line and byte"
            " named; everything before is kept, the page being read with its complete revisions.",
        ),
        Code(
            "mediawiki.sha1_mismatch",
            _W,
            "A revision's sha1 (or its text's) is not the SHA-1 of its text: the text is kept as the dump"
            " has it.",
        ),
        Code(
            "mediawiki.bytes_mismatch",
            _W,
            "A revision's text 'bytes' is not the UTF-8 length of its text: the text is kept as the dump"
            " has it.",
        ),
        Code(
            "mediawiki.contributor_hidden",
            _I,
            "A revision's, upload's or log entry's contributor is hidden (deleted): no author.",
        ),
        Code(
            "mediawiki.text_deleted",
            _I,
            "A revision's text is suppressed (deleted): the revision is kept without a body.",
        ),
        Code(
            "mediawiki.comment_deleted",
            _I,
            "An edit summary or log comment is suppressed (deleted): kept without it.",
        ),
        Code(
            "mediawiki.text_stub",
            _W,
            "A stub dump: the revision's text is not in the dump (only its location); kept without a body.",
        ),
        Code(
            "mediawiki.slots_not_modelled",
            _I,
            "Revisions hold non-main slots (0.11 <content>): they stay in the revisions' raw records;"
            " said once per dump.",
        ),
        Code(
            "mediawiki.unknown_element",
            _I,
            "An element the reader does not interpret: inside a record it stays in the record's raw; at"
            " the top level it is kept in this diagnostic. Said once per element name per dump.",
        ),
        Code(
            "mediawiki.bad_timestamp",
            _W,
            "A timestamp that is not ISO 8601: no time is set; the text is kept (created_native, raw).",
        ),
        Code(
            "mediawiki.duplicate_revision",
            _W,
            "A page holds two revisions with one id: the second is kept in this diagnostic only.",
        ),
        Code(
            "mediawiki.page_without_revisions",
            _I,
            "A page with no revision in the dump: kept as a page without a body.",
        ),
        Code(
            "mediawiki.default_namespaces",
            _I,
            "The dump lists no namespaces: MediaWiki's canonical English names are used to read titles.",
        ),
        Code(
            "mediawiki.upload_missing",
            _W,
            "An upload's bytes are neither in the dump (<contents>) nor in a files folder: the file is"
            " kept without bytes.",
        ),
        Code(
            "mediawiki.upload_size_mismatch",
            _W,
            "An upload's bytes are not as long as its <size> says: the bytes are kept as found.",
        ),
        Code(
            "mediawiki.upload_sha1_mismatch",
            _W,
            "An upload's bytes do not have the SHA-1 its <sha1base36> says: the bytes are kept as found.",
        ),
        Code(
            "mediawiki.upload_undecodable",
            _E,
            "An upload's <contents> is not valid base64 (or another encoding): the file is kept without"
            " bytes, the contents in this diagnostic.",
        ),
        Code(
            "mediawiki.unlisted_file",
            _I,
            "A file beside the dump that no upload names: kept as a file linked to no page.",
        ),
        # The MediaWiki XML writer (`export --to mediawiki`): what a MediaWiki dump cannot hold as
        # the archive has it (reader codes are in the MediaWiki reader's section).
        Code(
            "mediawiki.not_a_page",
            _W,
            "An item that is not a wiki page (a message, a post, a comment, an event) and its revisions"
            " are not written: a MediaWiki dump holds pages.",
        ),
        Code(
            "mediawiki.title_path",
            _I,
            "A page of another wiki gets a MediaWiki title: its namespaces or spaces become subpage"
            " path segments in the main namespace (ns:sub:page -> Ns/Sub/Page, Space.Page -> Space/Page).",
        ),
        Code(
            "mediawiki.title_characters",
            _W,
            "A title holds characters MediaWiki forbids in titles (# < > [ ] | { } and controls):"
            " each replaced; the original in the note.",
        ),
        Code(
            "mediawiki.title_too_long",
            _W,
            "A title longer than MediaWiki's 255 bytes: shortened, with ~N to keep it unique; the"
            " original in the note.",
        ),
        Code(
            "mediawiki.title_conflict",
            _W,
            "Two pages would have the same MediaWiki title: the later one gets ' (2)', ' (3)'…",
        ),
        Code(
            "mediawiki.space_as_path",
            _I,
            "A space that is not a MediaWiki namespace of the written wiki (another wiki's namespace,"
            " a chat channel): not written as a space; its pages carry its name in their titles.",
        ),
        Code(
            "mediawiki.user_renamed",
            _I,
            "A person's name is not a valid MediaWiki user name (# < > [ ] | { } / @ : or too long),"
            " or another person's already: adapted (' (2)'…); the original in the note.",
        ),
        Code(
            "mediawiki.user_fields",
            _I,
            "A dump names contributors by user name (and id) only: display names, real names, emails"
            " and titles are not written.",
        ),
        Code(
            "mediawiki.user_no_edits",
            _I,
            "A person who wrote no revision and uploaded no file does not appear in a dump.",
        ),
        Code("mediawiki.membership_lost", _I, "A dump has no space memberships: they are not written."),
        Code("mediawiki.reaction_lost", _I, "A dump has no reactions: they are not written."),
        Code(
            "mediawiki.markup_converted",
            _I,
            "A body in another markup is converted to wikitext (links rewritten to the new titles);"
            " what did not survive is named in the note.",
        ),
        Code(
            "mediawiki.markup_unconverted",
            _W,
            "A body in another markup is written as it is: no conversion to wikitext was available.",
        ),
        Code(
            "mediawiki.time_seconds", _I, "MediaWiki timestamps are to the second: sub-second parts are cut."
        ),
        Code(
            "mediawiki.page_id_changed",
            _I,
            "A page's id is not a MediaWiki page id, or another page has it: a free id is given.",
        ),
        Code(
            "mediawiki.revision_id_changed",
            _I,
            "A revision's id is not a MediaWiki revision id, or another revision has it: a free id is"
            " given (parent ids follow).",
        ),
        Code(
            "mediawiki.page_times",
            _I,
            "In a dump a page's creation and last edit (time and author) are its first and last"
            " revisions': where the archive's page says otherwise, the revisions' are written.",
        ),
        Code(
            "mediawiki.text_characters",
            _W,
            "A text holds characters XML 1.0 cannot carry (control characters, lone surrogates):"
            " each written as U+FFFD, so the wiki gets that text and its sha1.",
        ),
        Code(
            "mediawiki.text_missing",
            _I,
            "A revision without a text in the archive (suppressed, or never read) is written with an"
            " empty text.",
        ),
        Code(
            "mediawiki.no_revisions",
            _I,
            "A page without revisions in the archive is written with one revision: its current body.",
        ),
        Code(
            "mediawiki.deleted_page",
            _W,
            "A dump holds no deleted pages: a page deleted in its source is written as a live page"
            " with its history.",
        ),
        Code(
            "mediawiki.file_page",
            _I,
            "A file of another platform is written as an upload of its own File: page (MediaWiki keeps"
            " uploads on file pages); the page that had it keeps a link to it.",
        ),
        Code(
            "mediawiki.file_renamed",
            _I,
            "A file name MediaWiki does not accept (forbidden characters, no extension, taken): adapted.",
        ),
        Code(
            "mediawiki.file_bytes_missing",
            _W,
            "The archive lacks a file's bytes: its upload record is written without a file.",
        ),
        # Markup conversion between wiki syntaxes (passerelle.markup.convert): one per construct
        # name per page that does not survive; `where` names the page. Writers emit them.
        Code(
            "markup.template",
            _W,
            "A template ({{Name}}) is not expanded: the target wiki has no such template; it is left out.",
        ),
        Code("markup.parser_function", _W, "A parser function ({{#if:}}…) is not evaluated; it is left out."),
        Code("markup.magic_word", _W, "A magic word (__TOC__, __NOTOC__…) has no equivalent in the target."),
        Code(
            "markup.tag_extension",
            _W,
            "A tag extension (<gallery>, <score>…) has no equivalent in the target (a gallery's images are kept).",
        ),
        Code("markup.category", _W, "A category link: the target has no categories; it is left out."),
        Code(
            "markup.image_option",
            _I,
            "An image option (thumb, left, frame…) has no equivalent in the target.",
        ),
        Code("markup.table_attribute", _I, "A table attribute (style, class…) is dropped."),
        Code(
            "markup.macro",
            _W,
            "A macro or plugin (XWiki {{info}}, DokuWiki {{tag>…}}, ~~NOTOC~~…) is not carried; its text is kept.",
        ),
        Code("markup.parameters", _I, "XWiki formatting parameters ((% … %)) are dropped."),
        Code(
            "markup.raw_dropped",
            _W,
            "Raw markup of another format (HTML…) that the target cannot hold is dropped.",
        ),
        Code(
            "markup.pandoc_failed",
            _W,
            "pandoc could not convert a page (its error, a time limit or its memory cap): the fallback converted it"
            " (common constructs, readable).",
        ),
        Code(
            "markup.unknown_format",
            _W,
            "A body in a markup no converter reads: written as preformatted text in the target.",
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
