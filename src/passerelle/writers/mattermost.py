"""The Mattermost bulk-import writer (``export --to mattermost``).

The output is what ``mmctl import process`` takes: ``import.jsonl`` beside a ``data/``
folder of attachment and emoji files (zipped when ``-o`` ends in ``.zip``). Reference:
../shared/reference/formats-chat.md §3 (format, ordering, keys, limits) and §11.

Lines come in the documented order: ``version`` (``info.generator`` "passerelle"),
``emoji``, ``team``, ``channel``, ``user`` (then ``bot``), ``post``, ``direct_channel``,
``direct_post``; keys sorted, one JSON object per line, none over 16 MiB. Names, limits and
the rules that fit archive values into them are in ``mattermost_names``; who and where
everything is (teams, channels, direct channels, usernames, emails, roles) in
``mattermost_plan``. The posts:

- each thread is one ``post`` line (``direct_post`` in a direct channel): the root, its
  replies nested (Mattermost threads are flat: a reply to a reply is a reply of the root).
  A reply whose root is not in the archive is a root post, the root's id in props;
- ``create_at`` is the archive time in milliseconds; sub-millisecond digits are a rule
  note and the exact native time is in ``props.passerelle.created_native``. Mattermost
  keys a post by (channel, message, create_at), a reply by (root, message, create_at), a
  direct post by (members, user, message, create_at): a post that would repeat a key is
  moved on by 1 ms, with a note (times come in order, so only posts at the same
  millisecond are compared);
- every post of an item from another platform carries ``props.passerelle`` = ``{"id":
  <archive item id>, …}``: how ``verify`` pairs what it reads back, and where what a post
  cannot hold is kept (``kind``, ``subtype``, ``deleted``, ``also_in_channel``, ``title``,
  the missing thread root, the names of files without bytes, ``part``/``parts`` of a split
  item). Records read from Mattermost (users, teams, channels, direct channels, emoji,
  posts) are written as their source wrote them (props, flagged_by, roles, the order of
  replies and members… kept) wherever the archive holds the same: a Mattermost round trip
  is the identity. What such a source used without defining it stays undefined;
- the message is the body's normalised CommonMark with person mentions as ``@username``,
  channel links as ``~channel``, ``@everyone`` as ``@all``. Over 16,383 characters it is
  split at a line break or space; over 10 files, the files go 10 by 10: the further parts
  are replies, 1 ms apart, ``part``/``parts`` in their props;
- reactions keep their person; the name in Mattermost's notation (skin tones:
  ``thumbsup_medium_light_skin_tone``); the post's time when the archive has none (Slack);
  at most 50 a post. Files are copied to ``data/files/<file id>/<name>``; a file without
  bytes is named in ``props.passerelle.missing_files``. Custom emoji (loose files whose
  native id is ``emoji:<name>``) are ``emoji`` lines, their images under ``data/emoji/``;
- events (joins, topic changes…), tombstones of deleted messages and pages are ordinary
  posts (Mattermost imports no other type), their kind and subtype in props; edit history
  (revisions) is not importable: each revision is a lost note.

Bots are ``user`` lines (a note says so), except bots read from Mattermost whose owner is
written: those keep their ``bot`` line. Persons, spaces and memberships are accounted
with their lines; items and reactions with their posts; files after import.jsonl;
revisions as lost.

Speed (issue 3's budget is 100,000 messages a second at 1M messages, memory flat): items
are read as plain rows (``ArchiveView.post_row_batches``, one query a space; from
``WORKER_MIN_ITEMS`` items on, by a process of its own that writes them into a temporary
file, so SQLite's work runs on another CPU: a script that exports a large archive must
guard its entry point with ``if __name__ == "__main__":``); the person and space maps are
built once; a plain message takes a short path whose notes are counted, not made; each line
is encoded by msgspec and handed to a thread that compresses it. Memory holds one thread
of posts and nothing per file. Measured: 1M messages in about 8.2 s (120k messages/s),
peak memory of the process tree 198 MB (174 MB at 100k).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, ClassVar

import msgspec

from passerelle.archive.blobs import LocalBlobStore
from passerelle.archive.view import ArchiveView
from passerelle.errors import BadInputError
from passerelle.model.entities import File
from passerelle.progress import Display
from passerelle.writers.base import ExportLog, Note, Outcome, Output, RuleCheck, WriterInfo, WriterOption
from passerelle.writers.mattermost_identity import Identity, load_identity_map
from passerelle.writers.mattermost_names import (
    ATTACHMENT_SIZE_DEFAULT_MAX,
    ATTACHMENTS_MAX,
    EMOJI_NAME_MAX,
    LINE_MAX_BYTES,
    MESSAGE_MAX_RUNES,
    PROPS_MAX_RUNES,
    REACTIONS_MAX,
    allocate,
    emoji_name,
    is_valid_team_name,
    safe_file_name,
    split_message,
)
from passerelle.writers.mattermost_plan import (
    PLATFORM,
    Plan,
    Planner,
    SpacePlan,
    bot_owner,
    native_record,
    note,
    user_object,
)
from passerelle.writers.mattermost_rules import RULES

JSONL = "import.jsonl"
WORKER_MIN_ITEMS = 50_000  # from this many items, the rows are read in a process of their own
_ENCODE = msgspec.json.Encoder(order="sorted").encode
_DECODE = msgspec.json.decode
_FLUSH_LINES = 2_048  # lines handed to the writing thread at once (about 1 MiB)
_POST_LINE_ROOM = LINE_MAX_BYTES - (4 << 20)  # replies fit in one line below this (a post is < 4 MiB)
# Columns of the rows of ArchiveView.post_row_batches, by position.
(
    C_ID, C_PLATFORM, C_NATIVE, C_KIND, C_SUBTYPE, C_AUTHOR, C_CREATED, C_CREATED_NATIVE, C_EDITED, C_EDITED_BY, C_DELETED, C_DELETED_AT, C_ROOT, C_PARENT, C_ALSO, C_PINNED, C_TITLE, C_FORMAT, C_TEXT, C_REFS, C_SOURCE, C_RAW, C_REACTIONS, C_FILES, C_ROOT_MISSING,
) = range(25)  # fmt: skip


class _Ref(msgspec.Struct, frozen=True):
    kind: str
    target: str
    target_id: str | None = None
    label: str | None = None


_REFS = msgspec.json.Decoder(list[_Ref])


def _rule(code: str, entity: str, attribute: str | None, message: str) -> Note:
    return Note(code=code, entity=entity, outcome=Outcome.ADAPTED, message=message, attribute=attribute)


# Rule notes (one for every entity alike, counted by ExportLog): made once, shared.
_PRECISION = _rule("mattermost.time_precision", "item", "created_at", "create_at is in milliseconds; the exact time is in props.passerelle.created_native")  # fmt: skip
_PRECISION_EDIT = _rule("mattermost.time_precision", "item", "edited_at", "edit_at is in milliseconds")
_PRECISION_REACTION = _rule("mattermost.time_precision", "reaction", "created_at", "reaction times are in milliseconds")  # fmt: skip
_KIND = _rule("mattermost.kind_as_message", "item", "kind", "written as an ordinary post; props.passerelle.kind keeps the kind")  # fmt: skip
_SUBTYPE = _rule(
    "mattermost.subtype_in_props", "item", "subtype", "props.passerelle.subtype keeps the subtype"
)
_DELETED = _rule("mattermost.deleted_as_post", "item", "deleted", "a deleted message's trace is an ordinary post (props.passerelle.deleted)")  # fmt: skip
_BROADCAST = _rule("mattermost.broadcast_as_reply", "item", "also_in_channel", "a reply also shown in the channel is a reply (props.passerelle.also_in_channel)")  # fmt: skip
_TITLE = _rule("mattermost.title_in_props", "item", "title", "props.passerelle.title keeps the title")
_PARENT = _rule("mattermost.field_in_props", "item", "parent_id", "a reply to a reply is a reply of the root; props.passerelle.parent_id keeps the parent")  # fmt: skip
_EDITOR = _rule("mattermost.field_in_props", "item", "edited_by_id", "props.passerelle.edited_by keeps who edited")  # fmt: skip
_MENTIONS = _rule("mattermost.mentions_rewritten", "item", "body", "mentions written as @username, @all and ~channel")  # fmt: skip
_REACTION_TIME = _rule("mattermost.reaction_time_synthetic", "reaction", "created_at", "no time in the archive: the post's create_at is written")  # fmt: skip
_SKIN_TONE = _rule("mattermost.emoji_skin_tone", "reaction", "emoji", "skin tone in Mattermost's notation (name_<tone>_skin_tone)")  # fmt: skip
# Each shared rule note is a bit: the outcome of an entity whose notes are all rules is a small
# int, counted (see _Bulk).
_RULE_NOTES = (
    _PRECISION, _PRECISION_EDIT, _KIND, _SUBTYPE, _DELETED, _BROADCAST, _TITLE, _PARENT, _EDITOR,
    _MENTIONS, _PRECISION_REACTION, _REACTION_TIME, _SKIN_TONE,
)  # fmt: skip
_BIT = {id(rule): 1 << i for i, rule in enumerate(_RULE_NOTES)}
_B_PRECISION, _B_PRECISION_EDIT, _B_MENTIONS = (
    _BIT[id(_PRECISION)],
    _BIT[id(_PRECISION_EDIT)],
    _BIT[id(_MENTIONS)],
)


class _Lines:
    """import.jsonl: numbered lines, handed in blocks to a thread that writes
    them (compressing a zip member releases the GIL: it overlaps the making of the next lines)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.count = 0  # lines written
        self._buffer: list[bytes] = []
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._drain, args=(stream,), name="mattermost-jsonl", daemon=True
        )
        self._thread.start()

    def _drain(self, stream: IO[bytes]) -> None:
        while (block := self._queue.get()) is not None:
            if self._error is None:
                try:
                    stream.write(block)
                except BaseException as exc:  # given to the writing thread at the next block
                    self._error = exc

    def where(self, ahead: int = 1) -> str:
        return f"{JSONL}#{self.count + ahead}"

    def write(self, line: bytes) -> None:
        self.count += 1
        buffer = self._buffer
        buffer.append(line)
        if len(buffer) >= _FLUSH_LINES:
            self.flush()

    def object(self, kind: str, value: Any) -> None:
        self.write(_ENCODE({"type": kind, kind: value}))

    def flush(self) -> None:
        if self._error is not None:
            raise self._error
        if self._buffer:
            self._buffer.append(b"")  # the last line's break
            self._queue.put(b"\n".join(self._buffer))
            self._buffer = []

    def close(self) -> None:
        """Write what is left and wait for the thread (before the stream is closed)."""
        try:
            self.flush()
        finally:
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error


class _Keys:
    """The Mattermost keys used at the latest milliseconds of one namespace (a channel's
    posts, a thread's replies): a key met again is moved on by 1 ms. Times come in order,
    so the keys of earlier milliseconds are forgotten. Most posts come at a millisecond of
    their own: then only that one key is kept, without a set."""

    __slots__ = ("first", "seen", "top")

    def __init__(self) -> None:
        self.top = -1
        self.first: Any = None  # the one key at ``top``, while ``seen`` is None
        self.seen: dict[int, set[Any]] | None = None

    def place(self, ms: int, key: Any) -> int:
        if ms > self.top:
            self.top = ms
            self.first = key
            self.seen = None
            return ms
        seen = self.seen
        if seen is None:
            seen = self.seen = {self.top: {self.first}}
        while key in seen.get(ms, ()):
            ms += 1
        seen.setdefault(ms, set()).add(key)
        if ms > self.top:
            self.top = ms
        return ms

    def forget(self, ms: int, key: Any) -> None:
        """Undo a ``place`` that gave ``ms`` (the item takes the general path, which places it again)."""
        if self.seen is not None:
            self.seen[ms].discard(key)


class MattermostWriter:
    info: ClassVar[WriterInfo] = WriterInfo(
        name="mattermost",
        description="Mattermost bulk import (JSONL and data/ files, for mmctl import process)",
        keeps=(
            "teams (workspaces), public and private channels with header, purpose, archived flag",
            "users with names, nickname, position, email, guest and deactivated flags; team and"
            " channel memberships with admin roles; an identity map onto existing accounts",
            "direct and group messages (up to 8 members; a DM to oneself)",
            "threads (root and replies), edit time, pins, reactions with their person,"
            " attachments with their bytes, custom emoji",
            "the archive id and exact native time of every post (props.passerelle), and what a"
            " post cannot hold: kind, subtype, deletion, title, a missing thread root",
            "records read from Mattermost as their source wrote them (props, flagged_by, roles,"
            " reply order…): a Mattermost round trip is the identity",
        ),
        cannot_carry=(
            "sub-millisecond times (kept in props.passerelle.created_native)",
            "edit history (revisions), reaction times Slack never had (the post's time is written)",
            "event and deleted-message types (ordinary posts, the subtype in props)",
            "names outside Mattermost's rules (folded, deduplicated), texts over its limits (cut),"
            " messages over 16,383 characters and more than 10 files (split into replies)",
            "groups of more than 8 members (private channels), files without bytes, loose files",
            "timezones, bots without an owner (ordinary users), a person's placeholder status",
        ),
        reader="mattermost",
        # A reply's raw is the reply object; a post's, its whole line.
        carried_at=("$.props.passerelle", "$.post.props.passerelle", "$.direct_post.props.passerelle"),
        options=(
            WriterOption(
                "team",
                "an existing team of the server (as mmetl's --team; no team line is written for it):"
                " the team the archive's one workspace becomes, and where channels of no workspace go"
                " (default: the workspace's own team; with several workspaces, a team 'imported')",
            ),
            WriterOption(
                "email_domain",
                "domain of the email given to users who have none (username@domain)",
                "example.invalid",
            ),
            WriterOption(
                "identity_map",
                'a CSV (source,username,email) or TOML ([persons."<source>"]) file mapping persons'
                " (native id, handle or email) onto existing accounts",
            ),
        ),
    )
    version: ClassVar[str] = "1"
    # How a fidelity check tells that a difference follows one of this writer's rule notes.
    rule_checks: ClassVar[Mapping[str, RuleCheck]] = RULES

    def __init__(self, options: Mapping[str, str]) -> None:
        team = options.get("team") or None
        if team is not None and not is_valid_team_name(team):
            raise BadInputError(
                f"team {team!r} is not a Mattermost team name: lowercase letters, digits and '-',"
                " 2 to 64 characters, beginning and ending with a letter or digit, and not beginning"
                " with a reserved word (admin, api, channel, help, login, post, signup…)"
            )
        domain = (options.get("email_domain") or "example.invalid").strip()
        if not domain or "@" in domain or any(c.isspace() for c in domain) or "." not in domain.strip("."):
            raise BadInputError(f"email_domain {domain!r} is not a domain name (such as example.org)")
        self.team = team
        self.email_domain = domain
        path = options.get("identity_map") or None
        self.identities: list[Identity] = load_identity_map(Path(path)) if path else []
        self._emoji_files: set[str] = set()

    def write(self, view: ArchiveView, out: Output, log: ExportLog, display: Display) -> None:
        latest = view.latest_time()
        latest_ms = max(latest // 1000, 1) if latest else 1
        plan = Planner(
            view,
            team_option=self.team,
            email_domain=self.email_domain,
            identities=self.identities,
            latest_ms=latest_ms,
        ).plan()
        for pid, user in plan.users.items():
            log.persons[pid] = user.username
        for sid, space in plan.spaces.items():
            log.spaces[sid] = space.key
        blobs: dict[str, str] = {}  # the emoji images: output path -> sha256
        emoji, emoji_lines = self._emoji(view, blobs)
        reserved = set(blobs)
        # The rows are read from now on (large archives: by a process of its own, into a
        # temporary file), while the files' bytes are copied, before import.jsonl.
        spaces = plan.channels + plan.directs
        worker = view.count("items") >= WORKER_MIN_ITEMS and (os.cpu_count() or 1) > 1
        batches = view.post_row_batches([s.space.id for s in spaces], PLATFORM, worker=worker)
        try:
            self._copy_files(view, out, blobs, reserved)
            with out.open(JSONL) as stream:
                lines = _Lines(stream)
                try:
                    posts = self._write_lines(
                        view, plan, lines, log, display, batches, emoji, emoji_lines, reserved, latest_ms
                    )
                finally:
                    lines.close()
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()
        self._files(view, log, posts)
        for revision_id, item_id in view.revision_ids():
            log.account(
                "revision",
                [
                    note(
                        "mattermost.revision_dropped",
                        "revision",
                        f"an earlier version of {item_id}: Mattermost's import has no edit history",
                        revision_id,
                        lost=True,
                    )
                ],
            )
        if plan.unused:
            sources = ", ".join(f"{e.source} ({e.where})" for e in plan.unused)
            log.note(
                "person",
                [
                    Note(
                        code="mattermost.identity_unused",
                        entity="person",
                        outcome=Outcome.ADAPTED,
                        message=f"identity map entries naming no person of the archive, ignored: {sources}",
                        original=sources,
                        count=len(plan.unused),
                    )
                ],
            )

    @staticmethod
    def _copy_files(view: ArchiveView, out: Output, blobs: dict[str, str], reserved: set[str]) -> None:
        """The emoji images, then every attached file with bytes (every item is written, so
        every attached file is), by file id. (Copying them in a thread while the posts are
        written was slower: zipfile's work for each member holds the GIL.)"""
        for path in sorted(blobs):
            out.write_blob(f"data/{path}", blobs[path])
        base = _blob_base(view.archive.blobs)
        for file_id, name, sha256, native_id, platform in view.attached_file_rows():
            if sha256 and _blob_size(base, sha256) >= 0:
                out.write_blob(
                    f"data/{attachment_path(file_id, name, native_id, platform, reserved)}", sha256
                )

    def _write_lines(
        self,
        view: ArchiveView,
        plan: Plan,
        lines: _Lines,
        log: ExportLog,
        display: Display,
        batches: Iterator[tuple[str, list[list[Any]]]],
        emoji: dict[str, str],
        emoji_lines: list[tuple[dict[str, Any] | None, list[Note]]],
        reserved: set[str],
        latest_ms: int,
    ) -> _Posts:
        info = {"generator": "passerelle", "version": self.version}
        lines.write(_ENCODE({"type": "version", "version": 1, "info": info}))
        for line, notes in emoji_lines:
            if line is not None:
                lines.object("emoji", line)
            log.account("file", [msgspec.structs.replace(n, where=lines.where(0)) for n in notes])
        self._definitions(plan, lines, log, latest_ms)
        posts = _Posts(view, plan, lines, log, emoji, reserved)
        task = display.task("Mattermost posts", total=view.count("items"))
        for space in plan.channels:
            posts.space(space, batches, task.advance)
        for space in plan.directs:
            if not space.skip:
                lines.object("direct_channel", space.line)
            self._account_space(space, log, lines.where(0))
        for space in plan.directs:
            posts.space(space, batches, task.advance)
        return posts

    # -- definitions ------------------------------------------------------------------------
    def _emoji(
        self, view: ArchiveView, blobs: dict[str, str]
    ) -> tuple[dict[str, str], list[tuple[dict[str, Any] | None, list[Note]]]]:
        """Custom emoji: the archive's emoji names -> the names written, and for each emoji
        file its line (None when it has none) and notes; its image into ``blobs``."""
        emoji = [f for f in view.unattached_files() if f.native_id.startswith("emoji:")]
        wanted = [(f.id, emoji_name(f.native_id[len("emoji:") :])[0]) for f in emoji]
        names = allocate(wanted, EMOJI_NAME_MAX)
        written: dict[str, str] = {}
        lines: list[tuple[dict[str, Any] | None, list[Note]]] = []
        for file in emoji:
            original = file.native_id[len("emoji:") :]
            name = names[file.id]
            self._emoji_files.add(file.id)
            has_image = bool(file.sha256) and view.archive.blobs.path(str(file.sha256)).is_file()
            raw_line = native_record(file.platform, file.raw, "emoji")
            image = _native_image(file)
            if raw_line is not None and image and file.name == original == name:
                # Read from Mattermost: its own line, as its source wrote it (even without its image).
                written[original] = name
                notes: list[Note] = []
                if has_image:
                    blobs[image] = str(file.sha256)
                else:
                    message = (
                        f"custom emoji {original!r}: no image in the archive; its line is written as its"
                        f" source wrote it (Mattermost's import stops at it unless data/{image} is added)"
                    )
                    notes.append(note("mattermost.file_missing", "file", message, file.id, None))
                lines.append((raw_line, notes))
                continue
            if not has_image:
                message = f"custom emoji {original!r} has no image in the archive: no emoji line"
                lines.append((None, [note("mattermost.file_missing", "file", message, file.id, lost=True)]))
                continue
            image = image or f"emoji/{name}/{safe_file_name(file.name, 'image')}"
            blobs[image] = str(file.sha256)
            written[original] = name
            notes = []
            if name != file.name:
                message = f"custom emoji {original!r} written as {name}"
                notes.append(note("mattermost.emoji_renamed", "file", message, file.id, "name", file.name))
            lines.append(({"name": name, "image": image}, notes))
        return written, lines

    def _definitions(self, plan: Plan, lines: _Lines, log: ExportLog, latest_ms: int) -> None:
        for team in plan.teams:
            if not team.skip:
                lines.object("team", team.line)
            if not team.extra:
                self._account_space(team, log, lines.where(0))
        for channel in plan.channels:
            if not channel.skip:
                lines.object("channel", channel.line)
            self._account_space(channel, log, lines.where(0))
        written = {u.username for u in plan.users.values() if u.written}
        bots = []
        for user in plan.users.values():
            notes = list(user.notes)
            owner = bot_owner(user.person, written) if user.mapped is None else None
            if user.written and owner is not None and owner != user.username:
                bots.append((user, owner))
                continue
            if user.person.is_bot and user.mapped is None:
                notes.append(
                    note(
                        "mattermost.bot_as_user",
                        "person",
                        "a bot written as a user (no owner known for a bot account)",
                        user.person.id,
                        "is_bot",
                    )
                )
            if user.written:
                lines.object("user", user_object(user, latest_ms))
            where = lines.where(0)
            log.account("person", [msgspec.structs.replace(n, where=where) for n in notes])
        if plan.stand_in is not None:
            lines.object(
                "user",
                {
                    "username": plan.stand_in,
                    "email": f"{plan.stand_in}@{self.email_domain}",
                    "roles": "system_user",
                },
            )
        for user, owner in bots:
            person = user.person
            bot: dict[str, Any] = {"username": user.username, "owner": owner}
            if person.display_name:
                bot["display_name"] = person.display_name[:64]
            if person.is_deleted:
                bot["delete_at"] = user.delete_at or latest_ms
            lines.object("bot", bot)
            where = lines.where(0)
            # A bot line has no email: the email notes of the person do not apply.
            notes = [msgspec.structs.replace(n, where=where) for n in user.notes if n.attribute != "email"]
            log.account("person", notes)
        for key, notes in plan.membership_notes:
            del key
            log.account("membership", notes)

    @staticmethod
    def _account_space(space: SpacePlan, log: ExportLog, where: str) -> None:
        log.account("space", [msgspec.structs.replace(n, where=where) for n in space.notes])

    # -- files ----------------------------------------------------------------------------------
    def _files(self, view: ArchiveView, log: ExportLog, posts: _Posts) -> None:
        """Account every file of the archive: attached (written, or without bytes), custom
        emoji (accounted with their lines), loose. Nothing is kept per file while the posts are
        written: the paths are made again here, the same way."""
        loose: set[str] = {f.id for f in view.unattached_files()}
        for file in view.files():
            if file.id in self._emoji_files:
                continue
            if file.id in loose:
                log.account(
                    "file",
                    [
                        note(
                            "mattermost.loose_file",
                            "file",
                            f"{file.name or file.native_id}: attached to no item, not a custom emoji",
                            file.id,
                            lost=True,
                        )
                    ],
                )
                continue
            size = posts.blob_size(file.sha256)
            path = (
                None if size < 0 else posts.attachment_path(file.id, file.name, file.native_id, file.platform)
            )
            if path is None and file.id in posts.kept_missing:
                message = (
                    f"{file.name or file.native_id}: no bytes in the archive; its Mattermost source's"
                    " attachment path is written as it was (the importer warns and goes on)"
                )
                log.account("file", [note("mattermost.file_missing", "file", message, file.id, None)])
                continue
            if path is None:
                log.account("file", [_missing(file)])
                continue
            notes: list[Note] = []
            written_name = path.rpartition("/")[2]
            if written_name != file.name:
                notes.append(
                    note(
                        "mattermost.file_renamed",
                        "file",
                        f"written as {written_name!r}",
                        file.id,
                        "name",
                        file.name,
                    )
                )
            if size > ATTACHMENT_SIZE_DEFAULT_MAX:
                notes.append(
                    note(
                        "mattermost.file_too_large",
                        "file",
                        f"{size} bytes: over Mattermost's default 100 MB limit (FileSettings.MaxFileSize)",
                        file.id,
                        "size",
                        size,
                    )
                )
            log.account("file", notes)


def _missing(file: File) -> Note:
    reason = f" ({file.missing_reason})" if file.missing_reason else ""
    return note(
        "mattermost.file_missing",
        "file",
        f"{file.name or file.native_id}: no bytes in the archive{reason}; named in props.passerelle.missing_files",
        file.id,
        lost=True,
    )


class _Bulk:
    """The outcome of entities whose notes are all shared rule notes, counted here and given
    to the log at the end: the tally and notes are those of one ``log.account`` call per
    entity (the log folds a rule note into one with a count either way), without the cost
    of a call per message. An outcome is the bits of its rule notes (``_BIT``)."""

    def __init__(self, log: ExportLog) -> None:
        self.log = log
        self.counts: dict[str, dict[int, int]] = {"item": {}, "reaction": {}}

    def add(self, entity: str, notes: Sequence[Note]) -> None:
        bits = 0
        for rule in notes:
            bits |= _BIT[id(rule)]
        counts = self.counts[entity]
        counts[bits] = counts.get(bits, 0) + 1

    def flush(self) -> None:
        log = self.log
        for entity, counts in self.counts.items():
            for bits, n in counts.items():
                if not bits:
                    log.carried(entity, n)
                    continue
                log.tally[entity][Outcome.ADAPTED] += n
                rules = [r for i, r in enumerate(_RULE_NOTES) if bits >> i & 1]
                log.note(entity, [msgspec.structs.replace(rule, count=rule.count * n) for rule in rules])
            counts.clear()


class _Posts:
    """The posts of each space: the hot path (one row a message)."""

    def __init__(
        self,
        view: ArchiveView,
        plan: Plan,
        lines: _Lines,
        log: ExportLog,
        custom_emoji: Mapping[str, str],
        reserved: set[str],
    ) -> None:
        self.view = view
        self.lines = lines
        self.log = log
        self.bulk = _Bulk(log)
        self.users = plan.usernames
        self.stand_in = plan.stand_in or ""
        self.blob_base = _blob_base(view.archive.blobs)
        self.kept_missing: set[str] = set()  # files named by a Mattermost record, without bytes
        self._reserved = reserved  # the emoji images' paths
        self._emoji: dict[str, tuple[str, Note | None]] = {
            original: (name, None) for original, name in custom_emoji.items()
        }
        # What a person mention shows in a normalised body: its label, else the display name
        # or handle the source knew, else the source's id.
        self._shown: dict[str, tuple[str, ...]] = {
            pid: tuple("@" + s for s in (p.display_name, p.name, p.native_id) if s)
            for pid, p in plan.persons_by_id.items()
        }
        self._channels: dict[str, tuple[str | None, str]] = {
            sid: (s.team, str(s.name)) for sid, s in plan.spaces.items() if s.how == "channel"
        }
        self.direct = False
        self.kind = "post"
        self.team: str | None = None
        self.head: dict[str, Any] = {}
        self.roots = _Keys()
        self.last_ms = 1

    # -- a space ----------------------------------------------------------------------------------
    def space(self, space: SpacePlan, batches: Iterator[tuple[str, list[list[Any]]]], advance: Any) -> None:
        """The posts of one space, from the batches of its rows (an empty batch ends them)."""
        self.direct = space.how == "direct"
        self.kind = "direct_post" if self.direct else "post"
        self.team = space.team
        self.head = (
            {"channel_members": space.members} if self.direct else {"team": space.team, "channel": space.name}
        )
        self.roots = _Keys()
        self.last_ms = max((space.space.created_at or 0) // 1000, 1)
        root: Sequence[Any] | None = None
        root_id = None
        replies: list[Sequence[Any]] = []
        done = 0
        thread = self._thread
        at_root, at_missing, at_id = C_ROOT, C_ROOT_MISSING, C_ID
        for space_id, rows in batches:
            if space_id != space.space.id:
                raise AssertionError(f"rows of {space_id} where {space.space.id} was expected")
            if not rows:
                break
            for row in rows:
                if root_id is not None and row[at_root] == root_id and not row[at_missing]:
                    replies.append(row)
                    continue
                if root is not None:
                    thread(root, replies)
                    done += 1 + len(replies)
                    if replies:
                        replies = []
                root = row
                root_id = row[at_id]
            if done >= 10_000:
                advance(done)
                done = 0
        if root is not None:
            thread(root, replies)
            done += 1 + len(replies)
        advance(done)
        self.bulk.flush()

    def _thread(self, root: Sequence[Any], replies: list[Sequence[Any]]) -> None:
        line = self.lines.count + 1
        parts = self._item(root, self.roots, False, line)
        post = parts[0]
        native = root[C_RAW] is not None and root[C_PLATFORM] == PLATFORM
        if native:
            self._native_head(post)
        else:
            post.update(self.head)
        if len(parts) == 1 and not replies:
            if native and post.get("replies"):
                post.pop("replies")  # replies the archive does not hold (the source's were not valid)
            self.lines.write(_ENCODE({"type": self.kind, self.kind: post}))
            return
        keys = _Keys()
        thread: list[dict[str, Any]] = []
        for part in parts[1:]:
            part["create_at"] = keys.place(part["create_at"], part["message"])
            thread.append(part)
        for reply in replies:
            reply_parts = self._item(reply, keys, True, line)
            thread.append(reply_parts[0])
            for part in reply_parts[1:]:
                part["create_at"] = keys.place(part["create_at"], part["message"])
                thread.append(part)
        if native:
            # The source's order (Mattermost's exports do not sort replies), when its replies are these.
            given = post.get("replies")
            if isinstance(given, list) and len(given) == len(thread):
                try:
                    same = sorted(_ENCODE(r) for r in given) == sorted(_ENCODE(r) for r in thread)
                except (TypeError, msgspec.EncodeError):
                    same = False
                if same:
                    thread = given
        self._emit(post, thread, root[C_ID], line)

    def _native_head(self, post: dict[str, Any]) -> None:
        """Where a record read from Mattermost is posted: its own team and channel, or its own
        list of members, when they are the space's; else the space's."""
        if self.direct:
            given = post.get("channel_members")
            members = self.head["channel_members"]
            if not isinstance(given, list) or sorted(set(given)) != sorted(set(members)):
                post["channel_members"] = members
        else:
            post.update(self.head)

    def _emit(self, post: dict[str, Any], replies: list[dict[str, Any]], root_id: str, line: int) -> None:
        kind = self.kind
        encoded = [msgspec.Raw(_ENCODE(r)) for r in replies]
        total = sum(len(r) + 1 for r in encoded)
        if total <= _POST_LINE_ROOM:
            post["replies"] = encoded
            self.lines.write(_ENCODE({"type": kind, kind: post}))
            return
        # Over a line's 16 MiB: the root again on each line, with a share of the replies.
        room = LINE_MAX_BYTES - len(_ENCODE({"type": kind, kind: post})) - 64
        batch: list[msgspec.Raw] = []
        size = 0
        count = 0
        for reply in encoded:
            if batch and size + len(reply) + 1 > room:
                post["replies"] = batch
                self.lines.write(_ENCODE({"type": kind, kind: post}))
                count += 1
                batch, size = [], 0
            batch.append(reply)
            size += len(reply) + 1
        post["replies"] = batch
        self.lines.write(_ENCODE({"type": kind, kind: post}))
        count += 1
        message = f"a thread over 16 MiB: its root is written on {count} lines, the replies shared among them"
        self.log.note("item", [self._own("mattermost.thread_line_split", message, root_id, line)])

    @staticmethod
    def _own(
        code: str,
        message: str,
        entity_id: str,
        line: int,
        attribute: str | None = None,
        original: Any = None,
        entity: str = "item",
        outcome: Outcome = Outcome.ADAPTED,
    ) -> Note:
        """A note about one entity."""
        return Note(
            code=code,
            entity=entity,
            outcome=outcome,
            message=message,
            where=f"{JSONL}#{line}",
            entity_id=entity_id,
            attribute=attribute,
            original=None if original is None else str(original),
        )

    # -- an item --------------------------------------------------------------------------------
    def _item(self, row: Sequence[Any], keys: _Keys, reply: bool, line: int) -> list[dict[str, Any]]:
        """The posts an item becomes: its first part, placed among ``keys`` (the space's roots,
        or its thread's replies), then its continuation parts (replies, not yet placed).
        Accounts the item and its reactions."""
        (
            item_id, platform, _native_id, kind, subtype, author, created, created_native, edited, edited_by,
            deleted, _deleted_at, root, parent, also, pinned, title, _format, text, refs,
            _source, raw, reactions, files, root_missing,
        ) = row  # fmt: skip
        user = self.users.get(author)
        if (
            user is not None and raw is None and files is None and created is not None and created >= 1000
            and kind == "message" and subtype is None and not deleted and not also and title is None
            and not root_missing and (edited_by is None or edited_by == author)
            and (not reply or parent is None or parent == root)
            and (text is None or len(text) <= MESSAGE_MAX_RUNES)
        ):  # fmt: skip
            # The common case, the fast way: a plain message whose only notes are rules.
            post = self._plain(row, user, keys, reply, line)
            if post is not None:
                return [post]
        notes: list[Note] = []
        own = False  # a note about this item alone, not a rule
        user = self.users.get(author)
        if user is None:
            user = self.stand_in
            notes.append(self._own("mattermost.author_missing", f"no known author: posted by {user}", item_id, line, "author_id", author))  # fmt: skip
            own = True
        native = raw is not None and platform == PLATFORM
        passerelle: dict[str, Any]
        if native:
            post, text = self._native(row, user)
            ms = post["create_at"]
            passerelle = {}
        else:
            passerelle = {"id": item_id}
            post = {"user": user}
            if created is None or created < 1000:
                ms = self.last_ms
                notes.append(self._own("mattermost.time_missing", f"no usable time: {ms} ms (the post before it) is written", item_id, line, "created_at", created))  # fmt: skip
                own = True
            else:
                ms = created // 1000
                if created % 1000:
                    notes.append(_PRECISION)
                    passerelle["created_native"] = created_native or str(created)
            if text is None:
                text = ""
            if refs is not None and (
                '"person"' in refs or '"space"' in refs or '"broadcast"' in refs or '"group"' in refs
            ):
                text, unresolved = self._rewrite(text, refs, notes)
                if unresolved:
                    notes.append(self._own("mattermost.mention_unresolved", f"left as text (nothing written they could link to): {unresolved}", item_id, line, "body", unresolved))  # fmt: skip
                    own = True
            if (
                kind != "message" or subtype is not None or deleted or also or title is not None or root_missing
                or (reply and parent is not None and parent != root)
                or (edited_by is not None and edited_by != author)
            ):  # fmt: skip
                own = self._props(row, passerelle, notes, reply, line) or own
            if edited is not None:
                post["edit_at"] = edited // 1000
                if edited % 1000:
                    notes.append(_PRECISION_EDIT)
            if pinned:
                post["is_pinned"] = True
        self.last_ms = ms
        # Attachments, and the files without bytes.
        chunks: list[list[dict[str, str]]] = []
        missing: list[str] = []
        if native and self._same_attachments(post, files):
            files = None  # the record's own attachments are written, as they are
        elif native:
            post.pop("attachments", None)
        if files is not None:
            attachments: list[dict[str, str]] = []
            for file_id, name, sha256, file_native, file_platform in files:
                path = self._file_path(file_id, name, sha256, file_native, file_platform)
                if path is None:
                    missing.append(name or file_native)
                else:
                    attachments.append({"path": path})
            if missing:
                passerelle["missing_files"] = missing
                message = f"files without bytes in the archive are not attached: {', '.join(missing)}"
                notes.append(self._own("mattermost.file_missing", message, item_id, line, "files"))
                own = True
            chunks = [
                attachments[i : i + ATTACHMENTS_MAX] for i in range(0, len(attachments), ATTACHMENTS_MAX)
            ]
        # Parts: a message over the limit, more than 10 files.
        texts = split_message(text) if len(text) > MESSAGE_MAX_RUNES else None
        count = max(len(texts) if texts else 1, len(chunks), 1)
        first = texts[0] if texts else text
        if count > 1:
            passerelle["part"] = 1
            passerelle["parts"] = count
            if texts:
                message = (
                    f"{len(text)} characters: written in {count} parts (the first a post, the others replies)"
                )
                notes.append(self._own("mattermost.message_split", message, item_id, line, "body"))
            if len(chunks) > 1:
                message = f"{sum(len(c) for c in chunks)} files: 10 a post, in {count} parts"
                notes.append(self._own("mattermost.attachments_split", message, item_id, line, "files"))
            own = True
        # Mattermost's key: (channel, message, create_at) for a post, (root, message, create_at)
        # for a reply, (members, user, message, create_at) for a direct post.
        placed = keys.place(ms, (user, first) if self.direct and not reply else first)
        if placed != ms:
            message = f"another post has this message at {ms} ms: written at {placed} ms"
            notes.append(self._own("mattermost.timestamp_nudged", message, item_id, line, "created_at", created_native or created))  # fmt: skip
            own = True
            ms = placed
        post["create_at"] = ms
        post["message"] = first
        if chunks:
            post["attachments"] = chunks[0]
        if native and self._same_reactions(post, reactions):
            for _ in reactions or ():
                self.bulk.add("reaction", ())
        elif reactions is not None:
            post["reactions"] = self._reactions(reactions, item_id, ms, line)
        elif native:
            post.pop("reactions", None)
        if native:
            props = post.get("props")
            if passerelle:
                if props is None:
                    post["props"] = props = {}
                props["passerelle"] = passerelle
            if props is not None:
                own = self._props_size(post, notes, item_id, line) or own
        else:
            post["props"] = {"passerelle": passerelle}
            if missing:
                own = self._props_size(post, notes, item_id, line) or own
        if own:
            self.log.account("item", notes)
        else:
            self.bulk.add("item", notes)
        if count == 1:
            return [post]
        parts = [post]
        for k in range(1, count):
            part: dict[str, Any] = {
                "user": user,
                "message": texts[k] if texts and k < len(texts) else "",
                "create_at": ms + k,
                "props": {"passerelle": {"id": item_id, "part": k + 1, "parts": count}},
            }
            if k < len(chunks):
                part["attachments"] = chunks[k]
            parts.append(part)
        return parts

    def _plain(
        self, row: Sequence[Any], user: str, keys: _Keys, reply: bool, line: int
    ) -> dict[str, Any] | None:
        """``_item`` of a plain message (no files, split, kind, subtype… to adapt), whose notes
        are all rules; None (and nothing done) when it needs a note of its own after all."""
        item_id, created, text, refs, edited = (
            row[C_ID],
            row[C_CREATED],
            row[C_TEXT] or "",
            row[C_REFS],
            row[C_EDITED],
        )
        bits = 0
        ms = created // 1000
        if created % 1000:
            bits = _B_PRECISION
            passerelle = {"id": item_id, "created_native": row[C_CREATED_NATIVE] or str(created)}
        else:
            passerelle = {"id": item_id}
        if refs is not None and (
            '"person"' in refs or '"space"' in refs or '"broadcast"' in refs or '"group"' in refs
        ):
            rewritten: list[Note] = []
            written, unresolved = self._rewrite(text, refs, rewritten)
            if unresolved:
                return None
            if rewritten:
                bits |= _B_MENTIONS
                text = written
        placed = keys.place(ms, (user, text) if self.direct and not reply else text)
        if placed != ms:
            keys.forget(placed, (user, text) if self.direct and not reply else text)
            return None
        post: dict[str, Any] = {
            "create_at": ms,
            "message": text,
            "props": {"passerelle": passerelle},
            "user": user,
        }
        if edited is not None:
            post["edit_at"] = edited // 1000
            if edited % 1000:
                bits |= _B_PRECISION_EDIT
        if row[C_PINNED]:
            post["is_pinned"] = True
        reactions = row[C_REACTIONS]
        if reactions is not None:
            post["reactions"] = self._reactions(reactions, item_id, ms, line)
        self.last_ms = ms
        counts = self.bulk.counts["item"]
        counts[bits] = counts.get(bits, 0) + 1
        return post

    def _props(
        self, row: Sequence[Any], passerelle: dict[str, Any], notes: list[Note], reply: bool, line: int
    ) -> bool:
        """What a post cannot hold, into props.passerelle, with its note; whether a note is the
        item's own."""
        own = False
        kind = row[C_KIND]
        if kind != "message":
            passerelle["kind"] = kind
            notes.append(_KIND)
        if row[C_SUBTYPE] is not None:
            passerelle["subtype"] = row[C_SUBTYPE]
            notes.append(_SUBTYPE)
        if row[C_DELETED]:
            passerelle["deleted"] = True
            if row[C_DELETED_AT] is not None:
                passerelle["deleted_at"] = row[C_DELETED_AT]
            notes.append(_DELETED)
        if row[C_ALSO]:
            passerelle["also_in_channel"] = True
            notes.append(_BROADCAST)
        if row[C_TITLE] is not None:
            passerelle["title"] = row[C_TITLE]
            notes.append(_TITLE)
        root = row[C_ROOT]
        if root is not None and row[C_ROOT_MISSING]:
            passerelle["thread_root_id"] = root
            message = "its thread root is not in the archive: written as a root post"
            notes.append(
                self._own("mattermost.thread_root_missing", message, row[C_ID], line, "thread_root_id", root)
            )
            own = True
        parent = row[C_PARENT]
        if reply and parent is not None and parent != root:
            passerelle["parent_id"] = parent
            notes.append(_PARENT)
        editor = row[C_EDITED_BY]
        if editor is not None and editor != row[C_AUTHOR]:
            passerelle["edited_by"] = self.users.get(editor, editor)
            notes.append(_EDITOR)
        return own

    def _native(self, row: Sequence[Any], user: str) -> tuple[dict[str, Any], str]:
        """An item read from Mattermost: its raw record, with what the archive holds."""
        try:
            record = _DECODE(row[C_RAW])
        except msgspec.DecodeError:
            record = {}
        if isinstance(record, dict):
            kind = record.get("type")
            if isinstance(kind, str) and isinstance(record.get(kind), dict):
                record = record[kind]  # a root's raw is its whole line
        if not isinstance(record, dict):
            record = {}
        post = dict(record)  # replies, reactions, attachments: kept when the archive holds the same
        post["user"] = user
        created = row[C_CREATED]
        raw_ms = record.get("create_at")
        if type(raw_ms) is int and raw_ms > 0:
            post["create_at"] = raw_ms
        else:
            post["create_at"] = created // 1000 if created and created >= 1000 else self.last_ms
        if row[C_PINNED]:
            post["is_pinned"] = True
        else:
            post.pop("is_pinned", None)
        if row[C_EDITED] is not None:
            post["edit_at"] = row[C_EDITED] // 1000
        if row[C_SUBTYPE] is not None:
            post["type"] = row[C_SUBTYPE]
        else:
            post.pop("type", None)
        if not isinstance(post.get("props", {}), dict):
            post.pop("props")
        text = row[C_SOURCE] if row[C_SOURCE] is not None else (row[C_TEXT] or "")
        return post, text

    def _same_attachments(self, post: dict[str, Any], files: list[list[Any]] | None) -> bool:
        """Whether a record read from Mattermost names the archive's files, in order, by paths
        that can be written as they are (then its bytes are copied there; a file the archive
        has no bytes for stays named, as the source named it)."""
        given = post.get("attachments")
        if not files:
            return not given
        if not isinstance(given, list) or len(given) != len(files) or len(given) > ATTACHMENTS_MAX:
            return False
        paths = [a.get("path") if isinstance(a, dict) else None for a in given]
        for path, (file_id, name, _sha256, native_id, platform) in zip(paths, files, strict=True):
            if path != native_id or self.attachment_path(file_id, name, native_id, platform) != path:
                return False
        for file_id, _name, sha256, _native_id, _platform in files:
            if self.blob_size(sha256) < 0:
                self.kept_missing.add(file_id)
        return True

    def _same_reactions(self, post: dict[str, Any], reactions: list[list[Any]] | None) -> bool:
        """Whether a record read from Mattermost holds the archive's reactions (same person,
        emoji and time), so that they are written as they are."""
        given = post.get("reactions")
        if not reactions:
            return not given
        if not isinstance(given, list) or len(given) < len(reactions):
            return False
        users = self.users
        archive = [(users.get(p) or "", e, t // 1000 if t else 0) for p, e, t in reactions]
        found: dict[tuple[str, str], int] = {}  # a person's emoji given twice is one reaction: the first
        for r in given:
            if not isinstance(r, dict):
                return False
            at = r.get("create_at")
            user, emoji = r.get("user"), r.get("emoji_name")
            if not isinstance(user, str) or not isinstance(emoji, str):
                return False
            found.setdefault((user, emoji), at if type(at) is int and at > 0 else 0)
        return sorted((u, e, t) for (u, e), t in found.items()) == sorted(archive)

    def _props_size(self, post: dict[str, Any], notes: list[Note], item_id: str, line: int) -> bool:
        props = post["props"]
        encoded = _ENCODE(props)
        if len(encoded) <= PROPS_MAX_RUNES or len(encoded.decode()) <= PROPS_MAX_RUNES:
            return False
        post["props"] = {"passerelle": props["passerelle"]} if "passerelle" in props else {}
        message = f"props of {len(encoded)} bytes, over 800,000 characters: the source's props are left out"
        notes.append(self._own("mattermost.props_too_large", message, item_id, line, "raw"))
        return True

    def _rewrite(self, text: str, refs_json: str, notes: list[Note]) -> tuple[str, str]:
        """Person mentions as @username, channel links as ~channel, @everyone as @all; and
        the mentions that name nothing written."""
        out: list[str] = []
        pos = flushed = 0
        unresolved: list[str] = []
        users = self.users
        for ref in _REFS.decode(refs_json):
            kind = ref.kind
            written: str | None
            if kind == "person":
                target = users.get(ref.target_id) if ref.target_id else None
                shown = self._shown.get(ref.target_id or "") or ("@" + ref.target,)
                if ref.label:
                    shown = ("@" + ref.label, *shown)
                written = "@" + target if target else None
            elif kind == "space":
                channel = self._channels.get(ref.target_id or "")
                shown = tuple("#" + s for s in (ref.label, ref.target) if s)
                written = "~" + channel[1] if channel and (self.direct or channel[0] == self.team) else None
            elif kind == "broadcast":
                if ref.target not in ("everyone", "all"):
                    continue
                shown, written = ("@" + ref.target,), "@all"
            elif kind == "group":
                shown, written = (), None
            else:
                continue
            at, found = -1, ""
            for candidate in shown:
                at = text.find(candidate, pos)
                if at >= 0:
                    found = candidate
                    break
            if written is None or at < 0:
                unresolved.append(ref.label or ref.target)
                continue
            if found != written:
                out.append(text[flushed:at])
                out.append(written)
                flushed = at + len(found)
            pos = at + len(found)
        if out:
            out.append(text[flushed:])
            notes.append(_MENTIONS)
            text = "".join(out)
        return text, ", ".join(unresolved)

    def _reactions(
        self, reactions: list[list[Any]], item_id: str, post_ms: int, line: int
    ) -> list[dict[str, Any]]:
        written: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        bulk = self.bulk
        for person_id, emoji, created in reactions:
            user = self.users.get(person_id)
            name, rename = self._emoji_name(emoji)
            if user is None or (user, name) in seen or len(written) >= REACTIONS_MAX:
                entity_id = f"{item_id}/{person_id}/{emoji}"
                if user is not None and (user, name) not in seen:
                    code, why = "mattermost.reaction_limit", f"a post holds at most {REACTIONS_MAX} reactions"
                else:
                    code, why = (
                        "mattermost.reaction_duplicate",
                        "the same person and emoji are already written",
                    )
                self.log.account("reaction", [self._own(code, why, entity_id, line, entity="reaction", outcome=Outcome.LOST)])  # fmt: skip
                continue
            seen.add((user, name))
            notes: list[Note] = []
            own = False
            if rename is not None:
                if rename.entity_id is None:
                    notes.append(rename)
                else:
                    notes.append(self._own("mattermost.emoji_renamed", rename.message, f"{item_id}/{person_id}/{emoji}", line, "emoji", emoji, "reaction"))  # fmt: skip
                    own = True
            if created is None:
                at = post_ms
                notes.append(_REACTION_TIME)
            else:
                at = created // 1000
                if created % 1000:
                    notes.append(_PRECISION_REACTION)
                if at < post_ms:
                    message = f"earlier than its post: written at the post's {post_ms} ms"
                    notes.append(self._own("mattermost.reaction_time_adjusted", message, f"{item_id}/{person_id}/{emoji}", line, "created_at", created, "reaction"))  # fmt: skip
                    own = True
                    at = post_ms
            written.append({"user": user, "emoji_name": name, "create_at": at})
            if own:
                self.log.account("reaction", notes)
            else:
                bulk.add("reaction", notes)
        return written

    def _emoji_name(self, emoji: str) -> tuple[str, Note | None]:
        """(the name written, the note it needs: a shared rule note, or one to make per reaction)."""
        known = self._emoji.get(emoji)
        if known is not None:
            return known
        name, tone_only = emoji_name(emoji)
        result: tuple[str, Note | None]
        if name == emoji:
            result = (name, None)
        elif tone_only:
            result = (name, _SKIN_TONE)
        else:
            message = f"emoji written as {name}"
            result = (name, Note(code="mattermost.emoji_renamed", entity="reaction", outcome=Outcome.ADAPTED, message=message, entity_id=""))  # fmt: skip
        self._emoji[emoji] = result
        return result

    def _file_path(
        self, file_id: str, name: str | None, sha256: str | None, native_id: str, platform: str
    ) -> str | None:
        """The path (under data/) a file is attached from; None when the archive lacks its bytes."""
        if self.blob_size(sha256) < 0:
            return None
        return self.attachment_path(file_id, name, native_id, platform)

    def blob_size(self, sha256: str | None) -> int:
        """The size of a blob of the archive; -1 when it is not there."""
        return _blob_size(self.blob_base, sha256)

    def attachment_path(self, file_id: str, name: str | None, native_id: str, platform: str) -> str:
        return attachment_path(file_id, name, native_id, platform, self._reserved)


def _blob_base(store: LocalBlobStore) -> str:
    """The folder under which a store keeps its blobs by their first two hex digits (found once:
    a path object per file costs more than the stat)."""
    return os.fspath(store.path("0" * 64).parent.parent)


def _blob_size(base: str, sha256: str | None) -> int:
    """The size of a blob; -1 when the store lacks it."""
    if not sha256:
        return -1
    try:
        return os.stat(os.path.join(base, sha256[:2], sha256)).st_size
    except OSError:
        return -1


def attachment_path(file_id: str, name: str | None, native_id: str, platform: str, reserved: set[str]) -> str:
    """Where a file's bytes are written (under data/): a file read from Mattermost at its own
    path when it is a safe one, any other at files/<file id>/<its name made safe>."""
    if platform == PLATFORM:
        path = _native_path(native_id)
        if path is not None and path not in reserved and not path.startswith("files/fil_"):
            return path
    return f"files/{file_id}/{safe_file_name(name)}"


def _native_image(file: File) -> str | None:
    """A custom emoji's image path as its Mattermost emoji line gave it, when safe."""
    if file.platform != PLATFORM or not file.raw:
        return None
    try:
        record = _DECODE(file.raw)
    except msgspec.DecodeError:
        return None
    emoji = record.get("emoji") if isinstance(record, dict) else None
    image = emoji.get("image") if isinstance(emoji, dict) else None
    return _native_path(image) if isinstance(image, str) else None


def _native_path(path: str) -> str | None:
    """A Mattermost attachment path kept as it is, when it is a safe relative path."""
    if path.startswith("data/"):
        path = path[len("data/") :]
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in path:
        return None
    return path


def iter_lines(data: bytes) -> Iterator[dict[str, Any]]:
    """The objects of an import.jsonl (for tests and tools)."""
    for line in data.splitlines():
        if line.strip():
            yield _DECODE(line)
