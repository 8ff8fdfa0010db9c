"""Who may see what: the single visibility condition every query uses.

Access mirrors the source: a person sees public spaces and the private spaces, DMs and
group DMs they are a member of; an administrator sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Viewer:
    person_id: str
    is_admin: bool = False
    anyone: bool = False  # no person at all: public spaces only (the static site's default audience)


# Anyone at all, logged in as nobody: what a public static site shows.
ANYONE = Viewer(person_id="", anyone=True)


def visible(viewer: Viewer, space_column: str) -> tuple[str, list[str]]:
    """The SQL condition "the space whose id is in ``space_column`` is visible to viewer",
    and its parameters. Every page, search, download and API query is filtered by it, and
    so is every page of a static export (``export --to html``)."""
    if viewer.is_admin:
        return "1", []
    if viewer.anyone:
        return f"({space_column} IN (SELECT id FROM spaces WHERE visibility = 'public'))", []
    return (
        f"({space_column} IN (SELECT id FROM spaces WHERE visibility = 'public')"
        f" OR {space_column} IN (SELECT space_id FROM memberships WHERE person_id = ?))",
        [viewer.person_id],
    )


def private_space(visibility: str | None) -> bool:
    return visibility != "public"
