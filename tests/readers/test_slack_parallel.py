"""Parsing in worker processes gives exactly the archive that parsing in-process gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from passerelle.archive import Archive
from passerelle.demo.slack_export import ExportSpec, write_export
from passerelle.ingest import ingest
from passerelle.model.entities import SpaceKind, Visibility
from passerelle.readers import slack
from passerelle.readers.slack import SlackReader
from passerelle.readers.source_tree import SourceTree
from passerelle.verify import verify
from tests.helpers import canonical_dump


def test_pool_and_in_process_parsing_give_the_same_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = tmp_path / "export.zip"
    write_export(ExportSpec(messages=4_000, users=30, seed=5), export, as_zip=True)
    # Small chunks: one conversation's day files go to several workers, out of step.
    monkeypatch.setattr(slack, "CHUNK_BYTES", 16_000)
    monkeypatch.setattr(SlackReader, "PARALLEL_MIN_BYTES", 0)
    ingest([export], tmp_path / "pool")
    monkeypatch.setattr(SlackReader, "PARALLEL_MIN_BYTES", 1 << 62)
    ingest([export], tmp_path / "inline")
    assert canonical_dump(tmp_path / "pool") == canonical_dump(tmp_path / "inline")
    with Archive.open(tmp_path / "pool") as archive:
        assert verify(archive, export).ok
        assert archive.store.scalar("SELECT count(*) FROM items") == 4_000


def test_chunks_cover_every_day_file_once_in_order(tmp_path: Path) -> None:
    export = tmp_path / "export"
    write_export(ExportSpec(messages=1_500, seed=2), export)
    tree = SourceTree.open(export)
    entries = sorted(n for n in tree.names() if n.startswith("general/"))
    conversation = slack._Conversation(
        "C1", "general", SpaceKind.PUBLIC_CHANNEL, Visibility.PUBLIC, "general"
    )
    chunks = slack._chunks(tree, "conversation:general", conversation, entries)
    assert [e for c in chunks for e in c.entries] == entries
    assert (
        chunks[0].first
        and chunks[-1].last
        and sum(c.first for c in chunks) == 1
        and sum(c.last for c in chunks) == 1
    )
