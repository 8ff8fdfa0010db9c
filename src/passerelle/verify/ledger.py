"""What every source verifier asks of the archive: did the reader keep this record, or say,
at this very place, why not? Shared by the verifiers (none of it is the readers' code)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from passerelle.archive import Archive
from passerelle.model import ids
from passerelle.verify.report import Tally, VerifyReport


def open_report(
    archive: Archive, source: object, sha256: str, platform: str, kind: str
) -> tuple[VerifyReport, bool]:
    """The report of a source, found by its fingerprint; False when it was never ingested
    (a problem already reported: there is nothing to reconcile)."""
    sid = ids.source_id(platform, sha256)
    report = VerifyReport(source=str(source), source_id=sid, kind=kind)
    status = archive.store.scalar("SELECT status FROM sources WHERE id = ?", (sid,))
    if status is None:
        report.problem(f"{source} (sha256 {sha256}) was never ingested into this archive")
        return report, False
    if status != "complete":
        report.problem(f"{source} was only partly ingested: run ingest again to finish it")
    return report, True


def unsafe_names(names: list[str]) -> list[str]:
    """Entry names a reader must refuse (absolute, climbing out, Windows separators)."""
    return [n for n in names if n.startswith("/") or ".." in n.split("/") or "\\" in n]


@dataclass
class SourceLedger:
    archive: Archive
    source_id: str
    report: VerifyReport

    def _said(self, where: str, extra: str = "", *params: str) -> bool:
        sql = f'SELECT 1 FROM diagnostics WHERE source_id = ? AND "where" = ?{extra} LIMIT 1'
        return self.archive.store.scalar(sql, (self.source_id, where, *params)) is not None

    def dropped(self, where: str, kind: str) -> bool:
        """Did the reader say, at this very place, that it could not keep this record?"""
        return self._said(where, " AND dropped = ?", kind)

    def said(self, where: str, code: str) -> bool:
        return self._said(where, " AND code = ?", code)

    def said_anything(self, where: str) -> bool:
        return self._said(where)

    def raw_kept(self, entity: str, raw: bytes | None, record: Any) -> bool:
        """The archive holds this exact record: as the entity's raw, or superseded by a later export."""
        if raw is not None and json.loads(raw) == record:
            return True
        return any(
            json.loads(old) == record
            for (old,) in self.archive.store.query(
                "SELECT raw FROM superseded WHERE entity_id = ? AND source_id = ?", (entity, self.source_id)
            )
        )

    def account(self, tally: Tally, where: str, what: str, found: bool, kind: str) -> None:
        """One source record: found, or explained by a diagnostic that dropped it here, or a problem."""
        tally.source += 1
        if found:
            tally.archive += 1
        elif self.dropped(where, kind):
            tally.explained += 1
        else:
            tally.unexplained += 1
            self.report.problem(f"{where}: {what}")
