"""The writer registry: built-in writers plus those other packages declare as entry points."""

from __future__ import annotations

from importlib.metadata import entry_points

from passerelle.writers.base import Writer

ENTRY_POINT_GROUP = "passerelle.writers.v1"


def available_writers() -> dict[str, type[Writer]]:
    writers: dict[str, type[Writer]] = {}
    for cls in _builtin():
        writers[cls.info.name] = cls
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in writers:
            writers[ep.name] = ep.load()
    return dict(sorted(writers.items()))


def _builtin() -> list[type[Writer]]:
    found: list[type[Writer]] = []
    # Each built-in writer is its own module; one that is not there yet is simply absent.
    for module, name in (
        ("csv", "CsvWriter"),
        ("html", "HtmlWriter"),
        ("mattermost", "MattermostWriter"),
        ("mediawiki", "MediaWikiWriter"),
        ("slack", "SlackWriter"),
        ("xwiki", "XarWriter"),
    ):
        try:
            mod = __import__(f"passerelle.writers.{module}", fromlist=[name])
        except ModuleNotFoundError as exc:
            if exc.name != f"passerelle.writers.{module}":
                raise
            continue
        found.append(getattr(mod, name))
    return found
