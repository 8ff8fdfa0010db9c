"""mrkdwn: references and the normalised CommonMark form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passerelle.model.entities import RefKind
from passerelle.readers.slack_mrkdwn import parse


def no_names(kind: RefKind, native: str) -> str | None:
    return None


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("plain text", "plain text"),
        ("a &lt;b&gt; &amp; c", "a <b> & c"),
        ("*bold* _it_ ~gone~", "**bold** *it* ~~gone~~"),
        ("`*not bold*` and *bold*", "`*not bold*` and **bold**"),
        ("```\n*code*\n```", "```\n*code*\n```"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
        ("<@U1>", "@U1"),
        ("<@U1|ada>", "@ada"),
        ("<#C1>", "#C1"),
        ("<!channel> <!everyone|everyone>", "@channel @everyone"),
        ("<!date^1392734382^{date_num}|2014-02-18>", "2014-02-18"),
        ("<https://x.org>", "<https://x.org>"),
        ("<mailto:a@b.org|a@b.org>", "[a@b.org](mailto:a@b.org)"),
        ("<not a token>", "<not a token>"),
    ],
)
def test_normalised_form(text: str, normalised: str) -> None:
    assert parse(text, no_names)[0] == normalised


def test_names_resolve_mentions_without_labels() -> None:
    names = {"U1": "ada", "C1": "general"}
    text, refs = parse("<@U1> in <#C1>", lambda kind, native: names.get(native))
    assert text == "@ada in #general"
    assert [(r.kind, r.target) for r in refs] == [(RefKind.PERSON, "U1"), (RefKind.SPACE, "C1")]


@given(st.text())
def test_parse_never_fails_and_plain_text_is_unchanged(text: str) -> None:
    normalised, refs = parse(text, no_names)
    assert isinstance(normalised, str)
    if not any(c in text for c in "<>&*_~`:"):
        assert normalised == text and refs == []


@given(st.lists(st.sampled_from(["U1", "U22", "W3"]), max_size=5))
def test_every_mention_becomes_one_reference(users: list[str]) -> None:
    text = " ".join(f"<@{u}>" for u in users)
    _, refs = parse(text, no_names)
    assert [r.target for r in refs] == users
