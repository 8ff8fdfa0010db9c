"""The sources each reader must pass the conformance suite on.

A new reader adds its cases here: a name, the reader's format name, and a function that
returns the path of a source (building it in a temporary folder if it must).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from passerelle.demo.slack_export import ExportSpec, write_export
from tests.helpers import sample


@dataclass(frozen=True)
class ReaderCase:
    id: str
    reader: str
    make: Callable[[Path], Path]


def _generated_slack(as_zip: bool) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        dest = tmp / ("generated.zip" if as_zip else "generated")
        write_export(ExportSpec(messages=1_500, users=25, seed=7), dest, as_zip=as_zip)
        return dest

    return make


def _sample(relative: str) -> Callable[[Path], Path]:
    return lambda _tmp: sample(relative)


READER_CASES = [
    ReaderCase(
        "slack-testarchive", "slack", _sample("slack/slack-export-viewer-testarchive/testarchive.zip")
    ),
    ReaderCase("slack-slackdump-zip", "slack", _sample("slack/slackdump-fixtures/source_export.zip")),
    ReaderCase("slack-slackdump-metadata", "slack", _sample("slack/slackdump-fixtures/export")),
    ReaderCase("slack-generated-folder", "slack", _generated_slack(as_zip=False)),
    ReaderCase("slack-generated-zip", "slack", _generated_slack(as_zip=True)),
]
