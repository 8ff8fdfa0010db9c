"""Export: write an archive into a target format, and account for every entity.

Beside the target's own files, every export holds ``passerelle-export.json``: which
writer wrote it, the tally of what was carried, adapted and lost per entity type, every
note (typed diagnostic) the writer made, and which target key each person and space
became. ``verify ARCHIVE --against OUTPUT`` reads it to explain the differences it finds.
Importers ignore the file (Mattermost reads only ``*.jsonl``; Slack importers read known
names).

Large archives are read in a worker process started with multiprocessing's forkserver: a
script that calls ``export`` must guard its entry point with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from passerelle.archive import Archive
from passerelle.archive.view import ArchiveView
from passerelle.diagnostics import CODES
from passerelle.errors import BadInputError
from passerelle.model.entities import MODEL_VERSION
from passerelle.progress import Display, NullDisplay
from passerelle.writers import available_writers
from passerelle.writers.base import ExportLog, Note, Writer
from passerelle.writers.output import FolderOutput, NullOutput, ZipOutput

MANIFEST = "passerelle-export.json"
MANIFEST_FORMAT = "passerelle-export"


class Manifest(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    format: str
    writer: str
    writer_version: str
    reader: str
    model_version: str
    options: dict[str, str]
    tally: dict[str, dict[str, int]]
    notes: list[Note]
    persons: dict[str, str]
    spaces: dict[str, str]
    # Where the output has no place for archive ids (a MediaWiki dump): the output's native id
    # of each archive item (page id), revision (revision id), and of the item that holds
    # each file written as an item of its own (a File: page). Empty for other writers.
    items: dict[str, str] = {}
    revisions: dict[str, str] = {}
    files: dict[str, str] = {}
    # Output native ids of items that stand for no archive item but the target's structure
    # (an XWiki WebPreferences page holding a private space's rights).
    structure: list[str] = []


@dataclass
class ExportReport:
    writer: str
    output: str
    dry_run: bool
    log: ExportLog
    bytes_written: int | None
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "writer": self.writer,
            "output": self.output,
            "dry_run": self.dry_run,
            "tally": {e: dict(c) for e, c in self.log.tally.items()},
            "codes": dict(sorted(self.log.codes().items())),
            "bytes_written": self.bytes_written,
            "seconds": round(self.seconds, 3),
        }


def choose_writer(name: str) -> type[Writer]:
    writers = available_writers()
    if name not in writers:
        raise BadInputError(f"unknown target format {name!r}; known: {', '.join(writers) or 'none'}")
    return writers[name]


def writer_options(writer: type[Writer], given: Mapping[str, str]) -> dict[str, str]:
    declared = {o.name: o for o in writer.info.options}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(declared) or "none"
        raise BadInputError(f"{writer.info.name} has no option {', '.join(unknown)} (its options: {known})")
    options = {name: o.default for name, o in declared.items() if o.default is not None}
    options.update(given)
    return options


def export(
    archive_path: Path,
    to: str,
    output: Path,
    *,
    options: Mapping[str, str] | None = None,
    dry_run: bool = False,
    display: Display | None = None,
) -> ExportReport:
    started = time.perf_counter()
    writer_cls = choose_writer(to)
    chosen = writer_options(writer_cls, options or {})
    writer = writer_cls(chosen)
    log = ExportLog()
    with Archive.open(archive_path) as archive:
        view = ArchiveView(archive)
        out: NullOutput | ZipOutput | FolderOutput
        if dry_run:
            out = NullOutput(archive.blobs)
        elif output.suffix in (".zip", ".xar"):  # a XAR is a zip
            out = ZipOutput(output, archive.blobs)
        else:
            out = FolderOutput(output, archive.blobs)
        try:
            writer.write(view, out, log, display or NullDisplay())
            for note in log.notes:
                if note.code not in CODES:
                    raise AssertionError(
                        f"{writer_cls.info.name} made a note with an undeclared code {note.code}"
                    )
            manifest = Manifest(
                format=MANIFEST_FORMAT,
                writer=writer_cls.info.name,
                writer_version=writer_cls.version,
                reader=writer_cls.info.reader,
                model_version=MODEL_VERSION,
                options=dict(sorted(chosen.items())),
                tally={e: dict(sorted(c.items())) for e, c in log.tally.items()},
                notes=log.notes,
                persons=dict(sorted(log.persons.items())),
                spaces=dict(sorted(log.spaces.items())),
                items=dict(sorted(log.items.items())),
                revisions=dict(sorted(log.revisions.items())),
                files=dict(sorted(log.files.items())),
                structure=sorted(log.structure),
            )
            out.write_bytes(MANIFEST, msgspec.json.format(msgspec.json.encode(manifest), indent=1) + b"\n")
            out.finish()
        except BaseException:
            out.abort()
            raise
    return ExportReport(
        writer=writer_cls.info.name,
        output=str(output),
        dry_run=dry_run,
        log=log,
        bytes_written=out.bytes_written if isinstance(out, NullOutput) else None,
        seconds=time.perf_counter() - started,
    )


def read_manifest(data: bytes) -> Manifest:
    return msgspec.json.decode(data, type=Manifest)
