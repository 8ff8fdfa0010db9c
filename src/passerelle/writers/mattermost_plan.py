"""What the Mattermost writer decides before writing a post: who and where everything is.

Persons, spaces and memberships are small beside the messages, so they are planned in
memory: each person's username and email, each space's team, channel or direct-channel
identity, and the lines that define them (``team``, ``channel``, ``user``, ``bot``,
``direct_channel``), with the notes each entity gets. The rules are those of
``mattermost_names``; the choices:

- **teams** come from workspace spaces. The ``team`` option names a team of the server
  (as mmetl's ``--team``; no line is written for it, so its display name and description
  stay): the archive's one workspace becomes it, and channels outside any workspace go to
  it; without the option they go to the archive's one workspace, else to ``imported``;
- **channels** come from public and private channels, communities and wiki spaces, and
  group conversations of more than 8 members (private channels). Names that meet in a team
  are deduplicated in a stable order: the space whose name needed no change first, then by
  creation time and id;
- **direct channels** come from direct and group conversations of at most 8 distinct
  members (their memberships; when there are none, their authors). One member is a direct
  message to oneself, written ``[u, u]`` as Mattermost exports it;
- **users**: every person, placeholders and deactivated accounts included; usernames
  deduplicated in a stable order (the person whose handle needed no change first, then
  active before deactivated, defined before placeholders, by id). A person the identity map
  names takes the mapped account as it is. Bots are ``user`` lines (a Mattermost ``bot``
  line needs an owner), except bots read from Mattermost whose owner is written: those
  keep their ``bot`` line;
- **roles**: ``system_guest``/``team_guest``/``channel_guest`` for guests, else
  ``system_user``; an owner or admin of a space is ``channel_admin`` (``team_admin`` for a
  workspace). Every member of a channel is a member of its team.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from passerelle.archive.view import ArchiveView
from passerelle.model.entities import Person, Space, SpaceKind, Visibility
from passerelle.writers.base import Note, Outcome
from passerelle.writers.mattermost_identity import Identity, match
from passerelle.writers.mattermost_names import (
    CHANNEL_DISPLAY_NAME_MAX,
    CHANNEL_HEADER_MAX,
    CHANNEL_NAME_MAX,
    CHANNEL_PURPOSE_MAX,
    EMAIL_MAX,
    FIRST_NAME_MAX,
    GROUP_MAX,
    LAST_NAME_MAX,
    NICKNAME_MAX,
    POSITION_MAX,
    RESERVED_USERNAMES,
    TEAM_DESCRIPTION_MAX_BYTES,
    TEAM_DISPLAY_NAME_MAX,
    TEAM_NAME_MAX,
    USERNAME_MAX,
    allocate,
    channel_name,
    cut,
    cut_bytes,
    team_name,
    username,
)

PLATFORM = "mattermost"
DEFAULT_TEAM = "imported"
STAND_IN_USER = "passerelle-unknown"
_ADMIN_ROLES = frozenset({"owner", "admin"})
_CHANNEL_KINDS = frozenset(
    {SpaceKind.PUBLIC_CHANNEL, SpaceKind.PRIVATE_CHANNEL, SpaceKind.COMMUNITY, SpaceKind.WIKI_SPACE}
)
_DIRECT_KINDS = frozenset({SpaceKind.DIRECT_MESSAGE, SpaceKind.GROUP_MESSAGE})


def note(
    code: str,
    entity: str,
    message: str,
    entity_id: str | None,
    attribute: str | None = None,
    original: Any = None,
    *,
    lost: bool = False,
) -> Note:
    return Note(
        code=code,
        entity=entity,
        outcome=Outcome.LOST if lost else Outcome.ADAPTED,
        message=message,
        entity_id=entity_id,
        attribute=attribute,
        original=None if original is None else str(original),
    )


@dataclass
class UserPlan:
    person: Person
    username: str
    email: str
    mapped: Identity | None = None
    written: bool = True  # False for a person merged into another's account
    delete_at: int | None = None  # a deactivated user's time (ms)
    raw_object: dict[str, Any] | None = None  # a Mattermost user written as its source wrote it
    member_keys: set[tuple[str, str]] = field(default_factory=set)  # (space key, role) of its memberships
    bot_owner: str | None = None
    notes: list[Note] = field(default_factory=list)
    teams: dict[str, dict[str, Any]] = field(default_factory=dict)  # team -> {roles, channels{name: roles}}


@dataclass
class SpacePlan:
    space: Space
    how: str  # "team", "channel" or "direct"
    key: str  # the space's key in the output (the reader's native id)
    team: str | None = None  # a team's name, a channel's team
    name: str | None = None  # a team's or channel's name
    members: list[str] = field(default_factory=list)  # a direct channel's, as written
    line: dict[str, Any] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    extra: bool = False  # a team no archive space gives (the default team)
    skip: bool = False  # not defined by a line (a space its Mattermost source used but never defined)


@dataclass
class Plan:
    users: dict[str, UserPlan]  # person id -> plan, in archive order
    usernames: dict[str, str]  # person id -> username
    spaces: dict[str, SpacePlan]  # space id -> plan
    teams: list[SpacePlan]  # including the default team when it is no workspace
    channels: list[SpacePlan]  # by team and name
    directs: list[SpacePlan]  # by key
    stand_in: str | None  # the stand-in author's username, when an item has no author
    unused: list[Identity]
    persons_by_id: dict[str, Person]
    membership_notes: list[tuple[str, list[Note]]]  # (membership key, notes), archive order


class Planner:
    def __init__(
        self,
        view: ArchiveView,
        *,
        team_option: str | None,
        email_domain: str,
        identities: list[Identity],
        latest_ms: int,
    ) -> None:
        self.view = view
        self.team_option = team_option
        self.email_domain = email_domain
        self.identities = identities
        self.latest_ms = latest_ms
        self.unused: list[Identity] = []

    def plan(self) -> Plan:
        persons = list(self.view.persons())
        users = self._users(persons)
        usernames = {pid: u.username for pid, u in users.items()}
        stand_in = None
        if self.view.count("items", "author_id IS NULL OR author_id NOT IN (SELECT id FROM persons)"):
            stand_in = allocate([("", STAND_IN_USER)], USERNAME_MAX, set(usernames.values()))[""]
        spaces = list(self.view.spaces())
        by_id = {s.id: s for s in spaces}
        plans: dict[str, SpacePlan] = {}
        teams = self._teams(spaces, plans)
        team_of = {p.space.id: p.team for p in teams if p.space.kind is SpaceKind.WORKSPACE}
        channel_spaces: list[tuple[Space, str | None]] = []  # (space, name wanted when it has none)
        directs: list[SpacePlan] = []
        for space in spaces:
            if space.kind in _CHANNEL_KINDS:
                channel_spaces.append((space, None))
            elif space.kind in _DIRECT_KINDS:
                plan = self._direct(space, usernames)
                if plan is None:
                    members = sorted({usernames[m] for m in self.view.members(space.id) if m in usernames})
                    channel_spaces.append((space, "group-" + "-".join(members)))
                else:
                    plans[space.id] = plan
                    directs.append(plan)
        channels = self._channels(channel_spaces, team_of, by_id, teams, plans)
        result = Plan(
            users=users,
            usernames=usernames,
            spaces=plans,
            teams=teams,
            channels=channels,
            directs=sorted(directs, key=lambda p: p.key),
            stand_in=stand_in,
            unused=[],
            persons_by_id={p.id: p for p in persons},
            membership_notes=[],
        )
        result.unused = self.unused
        self._memberships(result)
        return result

    # -- persons ------------------------------------------------------------------------
    def _users(self, persons: list[Person]) -> dict[str, UserPlan]:
        mapped, unused = match(self.identities, persons)
        self.unused = unused
        wanted: list[tuple[tuple[Any, ...], str, str]] = []
        for person in persons:
            if person.id not in mapped:
                base = username(person.name, person.native_id, person.id)
                rank = (base != person.name, person.is_deleted, person.is_placeholder, base, person.id)
                wanted.append((rank, person.id, base))
        wanted.sort()
        reserved = RESERVED_USERNAMES | {m.username for m in mapped.values()}
        names = allocate([(pid, base) for _, pid, base in wanted], USERNAME_MAX, reserved)
        # Emails: unique across accounts (case ignored). Mapped accounts first, then active,
        # defined, human persons, an email written as the server stores it (lowercase), by username.
        by_id = {p.id: p for p in persons}

        def email_rank(person: Person) -> tuple[Any, ...]:
            email = person.email or ""
            name = mapped[person.id].username if person.id in mapped else names[person.id]
            return (person.id not in mapped, person.is_deleted, person.is_placeholder, person.is_bot,
                    email != email.lower(), name, person.id)  # fmt: skip

        ranked = sorted(by_id.values(), key=email_rank)
        taken_emails: dict[str, str] = {}  # lowercased email -> username
        users: dict[str, UserPlan] = {}
        for person in ranked:
            entry = mapped.get(person.id)
            user_name = entry.username if entry else names[person.id]
            plan = UserPlan(person, user_name, "", mapped=entry)
            self._email(plan, taken_emails)
            self._profile_notes(plan)
            users[person.id] = plan
        return {p.id: users[p.id] for p in persons}

    def _email(self, plan: UserPlan, taken: dict[str, str]) -> None:
        person = plan.person
        generated = f"{plan.username}@{self.email_domain}"
        given = plan.mapped.email if plan.mapped and plan.mapped.email else person.email
        candidate = (given or "").strip()
        usable = "@" in candidate and " " not in candidate and len(candidate.encode()) <= EMAIL_MAX
        if not usable:
            plan.email = generated
            plan.notes.append(
                note(
                    "mattermost.email_generated",
                    "person",
                    f"no usable email: {generated} is written",
                    person.id,
                    "email",
                    person.email,
                )
            )
        else:
            owner = taken.get(candidate.lower())
            if owner is not None and owner != plan.username:
                plan.email = generated
                plan.notes.append(
                    note(
                        "mattermost.email_changed",
                        "person",
                        f"email already {owner}'s: {generated} is written",
                        person.id,
                        "email",
                        person.email,
                    )
                )
            else:
                plan.email = candidate
        taken.setdefault(plan.email.lower(), plan.username)

    def _profile_notes(self, plan: UserPlan) -> None:
        person, notes = plan.person, plan.notes
        if plan.mapped is not None:
            notes.append(
                note(
                    "mattermost.identity_mapped",
                    "person",
                    f"mapped onto the existing account {plan.username} ({plan.mapped.where}): only the"
                    " username, email and memberships are written",
                    person.id,
                    None,
                    person.name,
                )
            )
            return
        if plan.username != person.name:
            notes.append(
                note(
                    "mattermost.user_renamed",
                    "person",
                    f"written as {plan.username}",
                    person.id,
                    "name",
                    person.name,
                )
            )
        for attribute, value, limit in (
            ("display_name", person.display_name, NICKNAME_MAX),
            ("title", person.title, POSITION_MAX),
        ):
            if value is not None and len(value) > limit:
                notes.append(
                    note(
                        "mattermost.text_truncated",
                        "person",
                        f"{attribute} cut to {limit} characters",
                        person.id,
                        attribute,
                        value,
                    )
                )
        if person.real_name is not None:
            first, last = split_name(person.real_name)
            if " ".join(n for n in (first, last) if n) != person.real_name:
                notes.append(
                    note(
                        "mattermost.text_truncated",
                        "person",
                        "real name split into first and last name (64 characters each, single spaces)",
                        person.id,
                        "real_name",
                        person.real_name,
                    )
                )
        if person.is_placeholder:
            notes.append(
                note(
                    "mattermost.placeholder_user",
                    "person",
                    "known only by id: written as an account",
                    person.id,
                    "is_placeholder",
                )
            )
        if person.timezone is not None:
            notes.append(
                note(
                    "mattermost.field_dropped",
                    "person",
                    "Mattermost's import has no timezone",
                    None,
                    "timezone",
                )
            )
        if person.is_deleted:
            plan.delete_at = native_time(person.platform, person.raw, "delete_at")
            if plan.delete_at is None:
                plan.delete_at = self.latest_ms
                notes.append(
                    note(
                        "mattermost.archive_time_synthetic",
                        "person",
                        "deactivated at the archive's latest time (the archive has no deactivation time)",
                        None,
                        "is_deleted",
                    )
                )

    # -- spaces -------------------------------------------------------------------------
    def _teams(self, spaces: list[Space], plans: dict[str, SpacePlan]) -> list[SpacePlan]:
        workspaces = [s for s in spaces if s.kind is SpaceKind.WORKSPACE]
        wanted = sorted(
            (
                (team_name(s.name or s.native_id, s.id) != s.name, s.id),
                s,
                team_name(s.name or s.native_id, s.id),
            )
            for s in workspaces
        )
        names = allocate([(s.id, base) for _, s, base in wanted], TEAM_NAME_MAX)
        if self.team_option and len(workspaces) == 1:
            # The archive's one workspace is the team the option names (an existing one, often).
            names[workspaces[0].id] = self.team_option
        teams: list[SpacePlan] = []
        for space in workspaces:
            name = names[space.id]
            plan = SpacePlan(space, "team", name, team=name, name=name)
            notes = plan.notes
            if name != space.name:
                notes.append(
                    note("mattermost.team_renamed", "space", f"team {name}", space.id, "name", space.name)
                )
            display = space.display_name or space.name or space.native_id
            written = cut(display, TEAM_DISPLAY_NAME_MAX)
            self._display_notes(plan, written, TEAM_DISPLAY_NAME_MAX)
            line: dict[str, Any] = {
                "name": name,
                "display_name": written,
                "type": "O" if space.visibility is Visibility.PUBLIC else "I",
            }
            if space.purpose:
                description = cut_bytes(space.purpose, TEAM_DESCRIPTION_MAX_BYTES)
                line["description"] = description
                if description != space.purpose:
                    notes.append(
                        note(
                            "mattermost.text_truncated",
                            "space",
                            f"team description cut to {TEAM_DESCRIPTION_MAX_BYTES} bytes",
                            space.id,
                            "purpose",
                            space.purpose,
                        )
                    )
            for attribute, value in (("topic", space.topic), ("is_archived", space.is_archived or None)):
                if value:
                    notes.append(
                        note(
                            "mattermost.space_adapted",
                            "space",
                            f"a Mattermost team has no {attribute}: not written",
                            space.id,
                            attribute,
                            value,
                        )
                    )
            plan.line = line
            self._native_space(plan, "team", lambda r, name=name: r.get("name") == name)  # type: ignore[misc]
            if name == self.team_option:
                # As mmetl's --team: the option names a team of the server, whose own name,
                # display name and description stay (a team line would overwrite them).
                plan.skip = True
                plan.notes = [
                    note(
                        "mattermost.space_adapted",
                        "space",
                        f"written into the server's team {name} (the team option): no team line,"
                        " the team keeps its own display name and description",
                        space.id,
                        None,
                        space.name,
                    )
                ]
            plans[space.id] = plan
            teams.append(plan)
        return sorted(teams, key=lambda p: p.key)

    @staticmethod
    def _display_notes(plan: SpacePlan, written: str, limit: int) -> None:
        space = plan.space
        if space.display_name is None:
            plan.notes.append(
                note(
                    "mattermost.display_name_added",
                    "space",
                    f"display name {written!r} written",
                    space.id,
                    "display_name",
                )
            )
        elif written != space.display_name:
            plan.notes.append(
                note(
                    "mattermost.text_truncated",
                    "space",
                    f"display name cut to {limit} characters",
                    space.id,
                    "display_name",
                    space.display_name,
                )
            )

    def _default_team(self, teams: list[SpacePlan]) -> tuple[str, bool]:
        """(the default team's name, whether it is an extra team no workspace gives)."""
        names = {p.team for p in teams}
        if self.team_option:
            return self.team_option, self.team_option not in names
        workspaces = [p for p in teams if p.space.kind is SpaceKind.WORKSPACE]
        if len(workspaces) == 1:
            return str(workspaces[0].team), False
        return DEFAULT_TEAM, DEFAULT_TEAM not in names

    def _channels(
        self,
        spaces: list[tuple[Space, str | None]],
        team_of: Mapping[str, str | None],
        by_id: Mapping[str, Space],
        teams: list[SpacePlan],
        plans: dict[str, SpacePlan],
    ) -> list[SpacePlan]:
        default, extra = self._default_team(teams)
        needs_default = False
        per_team: dict[str, list[tuple[tuple[Any, ...], Space, str]]] = {}
        for space, fallback in spaces:
            team = team_of.get(space.parent_id or "")
            if team is None:
                team = default
                needs_default = True
            base = channel_name(space.name or fallback, space.id)
            order = (base != space.name, space.created_at is None, space.created_at or 0, space.id)
            per_team.setdefault(team, []).append((order, space, base))
        if needs_default and extra:
            fake = Space(
                id=f"team:{default}",
                platform=PLATFORM,
                native_id=default,
                kind=SpaceKind.WORKSPACE,
                visibility=Visibility.PRIVATE,
                name=default,
            )
            display = "Imported" if default == DEFAULT_TEAM else default
            teams.append(
                SpacePlan(
                    fake,
                    "team",
                    default,
                    team=default,
                    name=default,
                    line={"name": default, "display_name": display, "type": "I"},
                    extra=True,
                    skip=default == self.team_option,  # a team of the server: no line
                )
            )
            teams.sort(key=lambda p: p.key)
        channels: list[SpacePlan] = []
        for team, wanted in sorted(per_team.items()):
            wanted.sort(key=lambda w: w[0])
            names = allocate([(s.id, base) for _, s, base in wanted], CHANNEL_NAME_MAX)
            for _, space, _base in wanted:
                plan = self._channel(space, team, names[space.id], team_of, by_id)
                plans[space.id] = plan
                channels.append(plan)
        return sorted(channels, key=lambda p: p.key)

    def _channel(
        self,
        space: Space,
        team: str,
        name: str,
        team_of: Mapping[str, str | None],
        by_id: Mapping[str, Space],
    ) -> SpacePlan:
        plan = SpacePlan(space, "channel", f"{team}/{name}", team=team, name=name)
        notes = plan.notes
        if name != space.name:
            notes.append(
                note("mattermost.channel_renamed", "space", f"channel {name}", space.id, "name", space.name)
            )
        public = space.visibility is Visibility.PUBLIC
        line: dict[str, Any] = {"team": team, "name": name, "type": "O" if public else "P"}
        display = space.display_name or space.name
        if display:
            written = cut(display, CHANNEL_DISPLAY_NAME_MAX)
            line["display_name"] = written
            self._display_notes(plan, written, CHANNEL_DISPLAY_NAME_MAX)
        for key, attribute, value, limit in (
            ("header", "topic", space.topic, CHANNEL_HEADER_MAX),
            ("purpose", "purpose", space.purpose, CHANNEL_PURPOSE_MAX),
        ):
            if value:
                line[key] = cut(value, limit)
                if line[key] != value:
                    notes.append(
                        note(
                            "mattermost.text_truncated",
                            "space",
                            f"{key} cut to {limit} characters",
                            space.id,
                            attribute,
                            value,
                        )
                    )
        if space.is_archived:
            line["deleted_at"] = native_time(space.platform, space.raw, "deleted_at")
            if line["deleted_at"] is None:
                line["deleted_at"] = self.latest_ms
                notes.append(
                    note(
                        "mattermost.archive_time_synthetic",
                        "space",
                        "archived at the archive's latest time (the archive has no archiving time)",
                        None,
                        "is_archived",
                    )
                )
        read_kind = SpaceKind.PUBLIC_CHANNEL if public else SpaceKind.PRIVATE_CHANNEL
        if space.kind in _DIRECT_KINDS:
            notes.append(
                note(
                    "mattermost.group_to_channel",
                    "space",
                    f"a group of more than {GROUP_MAX} members (or none known) is a private channel",
                    space.id,
                    "kind",
                    space.kind,
                )
            )
        elif space.kind is not read_kind:
            notes.append(
                note(
                    "mattermost.space_adapted",
                    "space",
                    f"a {space.kind} is a {read_kind}",
                    space.id,
                    "kind",
                    space.kind,
                )
            )
        parent = by_id.get(space.parent_id or "")
        if parent is None or team_of.get(parent.id) is None:
            notes.append(
                note(
                    "mattermost.space_adapted",
                    "space",
                    f"not in a workspace: put in team {team}",
                    space.id,
                    "parent_id",
                    space.parent_id,
                )
            )
        plan.line = line
        self._native_space(plan, "channel", lambda r: r.get("name") == name and r.get("team") == team)
        return plan

    @staticmethod
    def _native_space(plan: SpacePlan, kind: str, same: Callable[[dict[str, Any]], bool]) -> None:
        """A space read from Mattermost: its own line as its source wrote it, when it has the
        same identity here; none when its source used it without defining it."""
        space = plan.space
        if space.platform != PLATFORM:
            return
        record = native_record(space.platform, space.raw, kind)
        if record is not None and same(record):
            plan.line = record
            plan.notes = []
        elif record is None:
            plan.skip = True
            plan.notes = [
                note(
                    "mattermost.undefined_in_source",
                    "space",
                    f"used but never defined by its Mattermost source: no {kind} line here either",
                    space.id,
                    None,
                )
            ]

    def _direct(self, space: Space, usernames: Mapping[str, str]) -> SpacePlan | None:
        """A direct channel, or None when the conversation must be a channel (more than 8
        members, or none at all)."""
        notes: list[Note] = []
        members = sorted({usernames[m] for m in self.view.members(space.id) if m in usernames})
        if not members:
            members = sorted({usernames[a] for a in self.view.authors(space.id) if a in usernames})
            if members:
                notes.append(
                    note(
                        "mattermost.members_inferred",
                        "space",
                        f"no members known: its authors {', '.join(members)} are written",
                        space.id,
                        None,
                    )
                )
        if not members or len(members) > GROUP_MAX:
            return None
        written = members * 2 if len(members) == 1 else members
        key = "direct:" + ",".join(members)
        plan = SpacePlan(space, "direct", key, members=written, notes=notes)
        read_kind = SpaceKind.DIRECT_MESSAGE if len(members) <= 2 else SpaceKind.GROUP_MESSAGE
        if space.kind is not read_kind:
            notes.append(
                note(
                    "mattermost.conversation_kind_changed",
                    "space",
                    f"{len(members)} member(s): a {read_kind} in Mattermost",
                    space.id,
                    "kind",
                    space.kind,
                )
            )
        line: dict[str, Any] = {"members": written}
        if space.topic:
            line["header"] = cut(space.topic, CHANNEL_HEADER_MAX)
            if line["header"] != space.topic:
                notes.append(
                    note(
                        "mattermost.text_truncated",
                        "space",
                        f"header cut to {CHANNEL_HEADER_MAX} characters",
                        space.id,
                        "topic",
                        space.topic,
                    )
                )
        for attribute, value in (
            ("name", space.name),
            ("display_name", space.display_name),
            ("purpose", space.purpose),
            ("parent_id", space.parent_id),
            ("is_archived", space.is_archived or None),
            ("visibility", space.visibility if space.visibility is not Visibility.PRIVATE else None),
        ):
            if value:
                notes.append(
                    note(
                        "mattermost.space_adapted",
                        "space",
                        f"a Mattermost direct channel has no {attribute}: not written",
                        space.id,
                        attribute,
                        value,
                    )
                )
        plan.line = line
        distinct = sorted(set(members))
        self._native_space(plan, "direct_channel", lambda r: _direct_members(r) == distinct)
        return plan

    # -- memberships ----------------------------------------------------------------------
    def _memberships(self, plan: Plan) -> None:
        users = plan.users
        # Persons mapped onto one account: the first is written, the others join it.
        owners: dict[str, UserPlan] = {}
        for user in users.values():
            first = owners.setdefault(user.username, user)
            if first is not user:
                user.written = False
                user.notes.append(
                    note(
                        "mattermost.user_merged",
                        "person",
                        f"one account with {first.person.id} ({user.username})",
                        user.person.id,
                        None,
                    )
                )
        for membership in self.view.memberships():
            key = f"{membership.space_id}/{membership.person_id}"
            space = plan.spaces.get(membership.space_id)
            member = users.get(membership.person_id)
            notes: list[Note] = []
            if space is None or member is None:  # a space or person the archive lacks
                notes.append(
                    note(
                        "mattermost.field_dropped",
                        "membership",
                        "its space or person is unknown",
                        key,
                        lost=True,
                    )
                )
                plan.membership_notes.append((key, notes))
                continue
            account = owners[member.username]
            guest = account.person.is_guest and account.mapped is None
            admin = membership.role in _ADMIN_ROLES and not guest
            read_back = "admin" if admin and space.how != "direct" else "member"
            if membership.role != read_back:
                why = (
                    "direct channels have no roles"
                    if space.how == "direct"
                    else "a guest is never an admin"
                    if guest and membership.role in _ADMIN_ROLES
                    else f"Mattermost's nearest role is {read_back}"
                )
                notes.append(
                    note(
                        "mattermost.role_adapted",
                        "membership",
                        f"role {membership.role} written as {read_back}: {why}",
                        key,
                        "role",
                        membership.role,
                    )
                )
            if space.how != "direct":
                account.member_keys.add((space.key, read_back))
            if space.how == "team":
                entry = self._team_entry(account, str(space.team), guest)
                if admin:
                    entry["admin"] = True
            elif space.how == "channel":
                entry = self._team_entry(account, str(space.team), guest)
                channels: dict[str, bool] = entry["channels"]
                channels[str(space.name)] = channels.get(str(space.name), False) or admin
            plan.membership_notes.append((key, notes))
        for user in users.values():
            self._native_user(user)

    @staticmethod
    def _native_user(user: UserPlan) -> None:
        """A user read from Mattermost: its own line as its source wrote it, when it has the
        same username and email here; none for one its source used without defining it."""
        person = user.person
        if person.platform != PLATFORM or user.mapped is not None or not user.written:
            return
        if person.is_placeholder and person.raw is None:
            user.written = False
            user.notes = [
                note(
                    "mattermost.undefined_in_source",
                    "person",
                    "used but never defined by its Mattermost source: no user line here either",
                    person.id,
                    None,
                )
            ]
            return
        record = native_record(person.platform, person.raw, "user")
        if (
            record is not None
            and record.get("username") == user.username
            and record.get("email") == user.email
        ):
            user.raw_object = record
            user.notes = []

    @staticmethod
    def _team_entry(user: UserPlan, team: str, guest: bool) -> dict[str, Any]:
        return user.teams.setdefault(team, {"guest": guest, "admin": False, "channels": {}})


def split_name(real_name: str) -> tuple[str, str]:
    """(first name, last name) of a real name: the first word, then the rest; 64 characters each."""
    words = real_name.split()
    if not words:
        return "", ""
    return cut(words[0], FIRST_NAME_MAX), cut(" ".join(words[1:]), LAST_NAME_MAX)


def user_object(user: UserPlan, latest_ms: int) -> dict[str, Any]:
    """A ``user`` line's object."""
    if user.raw_object is not None:
        own = dict(user.raw_object)
        if _raw_member_keys(own.get("teams")) != user.member_keys:
            teams = _teams(user)
            if teams:
                own["teams"] = teams
            else:
                own.pop("teams", None)
        return own
    person = user.person
    obj: dict[str, Any] = {"username": user.username, "email": user.email}
    guest = person.is_guest and user.mapped is None
    if user.mapped is None:
        if person.display_name:
            obj["nickname"] = cut(person.display_name, NICKNAME_MAX)
        if person.real_name:
            first, last = split_name(person.real_name)
            if first:
                obj["first_name"] = first
            if last:
                obj["last_name"] = last
        if person.title:
            obj["position"] = cut(person.title, POSITION_MAX)
        obj["roles"] = "system_guest" if guest else "system_user"
        if person.is_deleted:
            obj["delete_at"] = user.delete_at or latest_ms
    teams = _teams(user)
    if teams:
        obj["teams"] = teams
    return obj


def _teams(user: UserPlan) -> list[dict[str, Any]]:
    """A user's teams and channels, with their roles."""
    teams = []
    for team, entry in sorted(user.teams.items()):
        member = "team_admin team_user" if entry["admin"] else "team_user"
        roles = "team_guest" if entry["guest"] else member
        channels = [
            {
                "name": name,
                "roles": "channel_guest"
                if entry["guest"]
                else ("channel_user channel_admin" if admin else "channel_user"),
            }
            for name, admin in sorted(entry["channels"].items())
        ]
        team_obj: dict[str, Any] = {"name": team, "roles": roles}
        if channels:
            team_obj["channels"] = channels
        teams.append(team_obj)
    return teams


def _raw_member_keys(teams: Any) -> set[tuple[str, str]] | None:
    """The memberships a Mattermost user line's teams give, as its reader reads them."""
    keys: set[tuple[str, str]] = set()
    if teams is None:
        return keys
    if not isinstance(teams, list):
        return None
    for team in teams:
        if not isinstance(team, dict) or not isinstance(team.get("name"), str):
            return None
        roles = team.get("roles")
        admin = isinstance(roles, str) and "team_admin" in roles.split()
        keys.add((team["name"], "admin" if admin else "member"))
        channels = team.get("channels") or []
        if not isinstance(channels, list):
            return None
        for channel in channels:
            if not isinstance(channel, dict) or not isinstance(channel.get("name"), str):
                return None
            roles = channel.get("roles")
            admin = isinstance(roles, str) and "channel_admin" in roles.split()
            keys.add((f"{team['name']}/{channel['name']}", "admin" if admin else "member"))
    return keys


def _direct_members(record: dict[str, Any]) -> list[str] | None:
    """A direct channel line's distinct members, sorted (members, or participants' usernames)."""
    members = record.get("members")
    if members is None and isinstance(record.get("participants"), list):
        members = [p.get("username") if isinstance(p, dict) else None for p in record["participants"]]
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        return None
    return sorted(set(members))


def native_record(platform: str, raw: bytes | None, kind: str) -> dict[str, Any] | None:
    """The object of a Mattermost line of that kind (``{"type": kind, kind: {…}}``), from a raw record."""
    if platform != PLATFORM or not raw:
        return None
    try:
        record = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    if isinstance(record, dict) and record.get("type") == kind and isinstance(record.get(kind), dict):
        found: dict[str, Any] = record[kind]
        return found
    return None


def bot_owner(person: Person, written: set[str]) -> str | None:
    """The owner of a bot read from Mattermost, when its raw ``bot`` line names one that is written."""
    if not person.is_bot or person.platform != PLATFORM or not person.raw:
        return None
    try:
        record = msgspec.json.decode(person.raw)
    except msgspec.DecodeError:
        return None
    bot = record.get("bot") if isinstance(record, dict) else None
    owner = bot.get("owner") if isinstance(bot, dict) else None
    return owner if isinstance(owner, str) and owner in written else None


def native_time(platform: str, raw: bytes | None, field: str) -> int | None:
    """A time (ms) of a record read from Mattermost, from its raw line (``{"type": k, k: {…}}``)."""
    if platform != PLATFORM or not raw:
        return None
    try:
        record = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    if isinstance(record, dict) and isinstance(record.get("type"), str):
        record = record.get(record["type"])
    value = record.get(field) if isinstance(record, dict) else None
    return value if type(value) is int and value > 0 else None
