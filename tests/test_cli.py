"""The command line, driven as a user would, on exports built at test time."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from passerelle.exit_status import ExitStatus
from tests.helpers import run, run_json
from tests.slack_builder import build_export, message


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return build_export(tmp_path / "export.zip", {
        "general/2020-09-13.json": [message("1600000000.000001", thread_ts="1600000000.000001"),
                                    message("1600000001.000001", thread_ts="1600000000.000001", user="U404")],
    }, as_zip=True)  # fmt: skip


@pytest.mark.parametrize("command", [[], ["ingest"], ["info"], ["verify"], ["formats"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


def test_ingest_info_verify(export: Path, tmp_path: Path) -> None:
    archive = str(tmp_path / "a")
    summary = run_json("ingest", str(export), "-o", archive)
    assert summary["sources"][0]["status"] == "ingested"
    assert summary["sources"][0]["codes"] == {"slack.unknown_user": 1}
    info = run_json("info", archive)
    assert set(info["counts"]) >= {"persons", "spaces", "memberships", "items", "thread_replies", "reactions",
                                   "files", "files_with_content", "revisions"}  # fmt: skip
    assert info["counts"]["items"] == 2 and info["counts"]["thread_replies"] == 1
    assert info["diagnostics"] == {"error": 0, "warning": 1, "info": 0}
    report = run_json("verify", archive, "--against", str(export))
    assert report["ok"] is True
    assert report["totals"]["messages"] == {"source": 2, "archive": 2, "explained": 0, "unexplained": 0}
    human = run("verify", archive, "--against", str(export))
    assert human.exit_code == 0 and "everything accounted for" in human.output


def test_strict_fails_on_warnings(export: Path, tmp_path: Path) -> None:
    assert run("ingest", str(export), "-o", str(tmp_path / "a")).exit_code == ExitStatus.OK
    assert (
        run("ingest", str(export), "-o", str(tmp_path / "b"), "--strict").exit_code
        == ExitStatus.PROBLEMS_FOUND
    )


def test_verify_fails_on_a_record_lost_without_diagnostic(export: Path, tmp_path: Path) -> None:
    archive = tmp_path / "a"
    run("ingest", str(export), "-o", str(archive))
    with sqlite3.connect(archive / "archive.sqlite") as db:
        db.execute("DELETE FROM items WHERE native_id = '1600000001.000001'")
    result = run("verify", str(archive), "--against", str(export))
    assert result.exit_code == ExitStatus.PROBLEMS_FOUND
    assert "general/2020-09-13.json#1: message 1600000001.000001 missing" in result.output


def test_verify_against_a_source_never_ingested(export: Path, tmp_path: Path) -> None:
    other = build_export(tmp_path / "other", {"general/2020-09-13.json": [message("1600000000.000009")]})
    run("ingest", str(export), "-o", str(tmp_path / "a"))
    result = run("verify", str(tmp_path / "a"), "--against", str(other))
    assert result.exit_code == ExitStatus.PROBLEMS_FOUND and "never ingested" in result.output


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = run("ingest", str(text), "-o", str(tmp_path / "a"))
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("error:")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    assert run("info", str(busy)).exit_code == ExitStatus.BAD_INPUT


def test_formats_lists_readers_and_diagnostics() -> None:
    assert "slack (reader" in run("formats").output
    assert "`slack.unknown_user`" in run("formats", "--diagnostics").output


def test_verify_reports_messages_by_subtype(tmp_path: Path) -> None:
    export = build_export(tmp_path / "e", {"general/2020-09-13.json": [
        message("1600000000.000001"), message("1600000001.000001", subtype="channel_join")]})  # fmt: skip
    run("ingest", str(export), "-o", str(tmp_path / "a"))
    report = run_json("verify", str(tmp_path / "a"), "--against", str(export))
    assert report["by_subtype"] == {
        "channel_join": {"source": 1, "archive": 1, "explained": 0, "unexplained": 0},
        "message": {"source": 1, "archive": 1, "explained": 0, "unexplained": 0},
    }
    assert "messages by subtype" in run("verify", str(tmp_path / "a"), "--against", str(export)).output
