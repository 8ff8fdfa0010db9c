"""Independent reconciliation of an archive with a source or a written output."""

from __future__ import annotations

from pathlib import Path

from passerelle.archive import Archive
from passerelle.verify.report import VerifyReport
from passerelle.verify.slack import verify_slack


def verify(archive: Archive, against: Path) -> VerifyReport:
    # Only Slack exports exist so far; writers' outputs join here as they are written.
    return verify_slack(archive, against)
