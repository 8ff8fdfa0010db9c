"""Mattermost markdown: the references a message holds, in order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passerelle.model.entities import RefKind
from passerelle.readers.mattermost_markdown import Ref, references

P, B, S, L, E = RefKind.PERSON, RefKind.BROADCAST, RefKind.SPACE, RefKind.LINK, RefKind.EMOJI


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", []),
        ("@ron Welcome mate!", [Ref(P, "ron")]),
        ("thanks @Ron.", [Ref(P, "ron")]),  # a mention ends before the sentence's full stop
        ("ping @first.last and @a_b-c", [Ref(P, "first.last"), Ref(P, "a_b-c")]),
        ("mail ron@example.org", []),
        ("@here @channel @all", [Ref(B, "here"), Ref(B, "channel"), Ref(B, "all")]),
        ("see ~town-square, ~off-topic.", [Ref(S, "town-square"), Ref(S, "off-topic")]),
        ("~~struck~~ text", []),
        (":rofl: 4", [Ref(E, "rofl")]),
        (":+1::tada:", [Ref(E, "+1"), Ref(E, "tada")]),
        ("std::vector::size and 10:30:45", []),
        (
            "[the docs](https://docs.example.org/a_(b)) rock",
            [Ref(L, "https://docs.example.org/a_(b)", "the docs")],
        ),
        ('![logo](https://x.org/logo.png "Logo")', [Ref(L, "https://x.org/logo.png", "logo")]),
        ("go to https://example.org/path?q=1.", [Ref(L, "https://example.org/path?q=1")]),
        ("(see https://example.org)", [Ref(L, "https://example.org")]),
        ("<https://example.org/x>", [Ref(L, "https://example.org/x")]),
        ("https://example.org/@ron/:x:/y", [Ref(L, "https://example.org/@ron/:x:/y")]),
        ("`@ron :x: https://a.org` then @bob", [Ref(P, "bob")]),
        ("```\n@ron ~town :x:\n```\n@bob", [Ref(P, "bob")]),
        (
            "@bob :wave: https://a.org ~dev",
            [Ref(P, "bob"), Ref(E, "wave"), Ref(L, "https://a.org"), Ref(S, "dev")],
        ),
    ],
)
def test_references(text: str, expected: list[Ref]) -> None:
    assert references(text) == expected


def test_a_defined_username_may_end_in_punctuation() -> None:
    users = {"bob.", "ron"}
    assert references("@bob. and @ron.", users.__contains__) == [Ref(P, "bob."), Ref(P, "ron")]


@given(st.text())
def test_references_never_fail_and_plain_text_has_none(text: str) -> None:
    found = references(text)
    assert all(isinstance(r, Ref) and r.target for r in found)
    if not any(c in text for c in "@~:["):
        assert found == []


@given(st.lists(st.sampled_from(["ada", "bob.smith", "c-3po", "x_y"]), max_size=6))
def test_every_mention_is_one_reference_in_order(names: list[str]) -> None:
    found = references(" ".join(f"@{n}" for n in names))
    assert found == [Ref(P, n) for n in names]
