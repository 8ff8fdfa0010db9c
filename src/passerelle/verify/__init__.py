"""Independent reconciliation of an archive with a source or a written output."""

from __future__ import annotations

from pathlib import Path

from passerelle.archive import Archive
from passerelle.progress import Display, NullDisplay
from passerelle.verify.report import VerifyReport
from passerelle.verify.slack import verify_slack
from passerelle.verify.slackdump import is_slackdump_source, verify_slackdump


def verify(archive: Archive, against: Path, *, display: Display | None = None) -> VerifyReport:
    # Slack exports and slackdump recordings so far; writers' outputs join here as they are written.
    if is_slackdump_source(against):
        return verify_slackdump(archive, against)
    return verify_slack(archive, against, display or NullDisplay())
