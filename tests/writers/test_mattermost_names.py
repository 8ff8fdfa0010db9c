"""Mattermost's name rules and limits (mattermost_names), and the writer's rule checks (mattermost_rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passerelle.writers import mattermost_names as names
from passerelle.writers.mattermost_rules import RULES, mentions_rewritten

SPACE = "spc_0123456789abcdef01234567"
PERSON = "per_fedcba9876543210fedcba98"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("general", "general"),
        ("Café Équipe", "cafe-equipe"),
        ("Østergaard ßtraße", "ostergaard-sstrasse"),
        ("--release__notes--", "release__notes"),
        ("a  b!!c", "a-b-c"),
        ("日本語", "channel-01234567"),
        ("日本語 x", "channel-x"),
        ("プロジェクト-apollo", "apollo"),
        ("", "channel-01234567"),
        (None, "channel-01234567"),
        ("x" * 80, "x" * 64),
    ],
)
def test_channel_names(name: str | None, expected: str) -> None:
    assert names.channel_name(name, SPACE) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("acme", "acme"),
        ("T0DEMO0001", "t0demo0001"),
        ("api", "team-api"),
        ("helpdesk", "team-helpdesk"),
        ("my_team", "my-team"),
        ("x", "team-x"),
        ("日本", "team-01234567"),
    ],
)
def test_team_names(name: str, expected: str) -> None:
    result = names.team_name(name, SPACE)
    assert result == expected and names.is_valid_team_name(result)


@pytest.mark.parametrize(
    ("name", "fallback", "expected"),
    [
        ("ada.lovelace", "U1", "ada.lovelace"),
        ("Łukasz O'Brien", "U1", "lukasz-o-brien"),
        ("1password", "U1", "u1password"),
        ("al", "U1", "al-fedcba98"),
        ("さくら", "U0ABC", "u0abc"),
        (None, "B12", "b12"),
        (None, "", "user-fedcba98"),
        ("a" * 30, "U1", "a" * 22),
    ],
)
def test_usernames(name: str | None, fallback: str, expected: str) -> None:
    assert names.username(name, fallback, PERSON) == expected


@given(st.text(max_size=90))
def test_any_name_becomes_a_valid_one(text: str) -> None:
    channel = names.channel_name(text, SPACE)
    assert names.VALID_CHANNEL.fullmatch(channel) and 2 <= len(channel) <= 64
    team = names.team_name(text, SPACE)
    assert names.is_valid_team_name(team)
    user = names.username(text, "", PERSON)
    assert names.VALID_USERNAME.fullmatch(user) and 3 <= len(user) <= 22
    emoji, _ = names.emoji_name(text)
    assert names.VALID_EMOJI.fullmatch(emoji) and len(emoji) <= 64


def test_allocation_keeps_first_and_never_takes_a_wanted_name() -> None:
    wanted = [("a", "general"), ("b", "general"), ("c", "general-2"), ("d", "general"), ("e", "all")]
    given_names = names.allocate(wanted, 64, reserved={"all"})
    assert given_names == {"a": "general", "b": "general-3", "c": "general-2", "d": "general-4", "e": "all-2"}
    long = names.allocate([("a", "x" * 22), ("b", "x" * 22)], 22)
    assert long["b"] == "x" * 20 + "-2"


@pytest.mark.parametrize(
    ("emoji", "expected"),
    [
        ("thumbsup", ("thumbsup", True)),
        ("+1", ("+1", True)),
        ("thumbsup::skin-tone-3", ("thumbsup_medium_light_skin_tone", True)),
        ("wave::skin-tone-6", ("wave_dark_skin_tone", True)),
        ("party parrot!", ("party_parrot", False)),
        ("café", ("cafe", False)),
        ("x" * 70, ("x" * 64, False)),
        ("日本", ("emoji", False)),
    ],
)
def test_emoji_names(emoji: str, expected: tuple[str, bool]) -> None:
    assert names.emoji_name(emoji) == expected


def test_cuts_mark_themselves() -> None:
    assert names.cut("abcdef", 4) == "abc…" and names.cut("abc", 4) == "abc"
    cut = names.cut_bytes("é" * 40, 50)
    assert len(cut.encode()) <= 50 and cut.endswith("…")


def test_split_message_at_line_breaks_then_spaces() -> None:
    text = "\n".join(["a" * 900] * 5)
    parts = names.split_message(text, 2000)
    assert all(len(p) <= 2000 for p in parts) and "\n".join(parts) == text
    spaced = " ".join(["b" * 99] * 50)
    parts = names.split_message(spaced, 1000)
    assert all(len(p) <= 1000 for p in parts) and "".join(parts) == spaced
    assert names.split_message("c" * 2500, 1000) == ["c" * 1000, "c" * 1000, "c" * 500]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("a/b\\c:d", "a_b_c_d"),
        ("...", "file"),
        ("", "file"),
        ("\x00evil\x1f.txt", "_evil_.txt"),
    ],
)
def test_safe_file_names(name: str, expected: str) -> None:
    assert names.safe_file_name(name) == expected


@given(st.text(max_size=40))
def test_the_quick_path_for_file_names_gives_what_the_rules_give(text: str) -> None:
    assert names.safe_file_name(text) == names._safe_file_name(text, "file")


def test_long_file_names_keep_their_extension() -> None:
    name = names.safe_file_name("é" * 300 + ".tar.gz")
    assert name.endswith(".gz") and len(name.encode()) <= names.FILE_NAME_MAX_BYTES


def test_rule_checks_accept_only_their_rule() -> None:
    assert mentions_rewritten("hi @Jürgen M. see #general", "hi @jurgen.martin see ~general")
    assert mentions_rewritten("ping @everyone now", "ping @all now")
    assert not mentions_rewritten("hi @ada, see #general", "hello @ada, see ~general")
    assert not mentions_rewritten("same", "changed")
    assert RULES["mattermost.subtype_in_props"]("channel_join", None)
    assert not RULES["mattermost.subtype_in_props"]("channel_join", "system_join_channel")
    assert RULES["mattermost.kind_as_message"]("event", "message")
    assert not RULES["mattermost.kind_as_message"]("message", "event")
    assert RULES["mattermost.emoji_skin_tone"]("+1::skin-tone-4", "+1_medium_skin_tone")
    assert RULES["mattermost.deleted_as_post"](1, 0) and not RULES["mattermost.deleted_as_post"](0, 1)
