"""The command line, driven as a user would, on exports built at test time."""

from __future__ import annotations

import json
import sqlite3
import zipfile
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


@pytest.mark.parametrize("command", [[], ["ingest"], ["info"], ["verify"], ["export"], ["formats"]])
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
    listing = run("formats").output
    assert "slack (reader" in listing and "mattermost (reader" in listing
    assert "mattermost (writer)" in listing and "slack (writer)" in listing
    assert "option --set email_domain=" in listing
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


@pytest.mark.parametrize("target", ["mattermost", "slack"])
def test_export_dry_run_then_export_then_fidelity(export: Path, tmp_path: Path, target: str) -> None:
    archive, output = str(tmp_path / "a"), tmp_path / f"{target}.zip"
    assert run("ingest", str(export), "-o", archive).exit_code == 0
    planned = run_json("export", archive, "--to", target, "--dry-run")
    assert planned["dry_run"] and not output.exists()
    assert sum(planned["tally"]["item"].values()) == 2
    table = run("export", archive, "--to", target, "--dry-run").output
    assert "pre-flight (nothing written)" in table and "carried exactly" in table
    done = run_json("export", archive, "--to", target, "-o", str(output))
    assert output.is_file() and done["tally"] == planned["tally"]
    report = run_json("verify", archive, "--against", str(output))
    assert report["kind"] == "fidelity" and report["ok"]
    assert report["entities"]["item"]["total"] == 2
    assert report["entities"]["item"]["unexplained"] == 0
    shown = run("verify", archive, "--against", str(output))
    assert shown.exit_code == 0 and "every difference explained" in shown.output


def test_verify_finds_a_message_lost_from_an_export(export: Path, tmp_path: Path) -> None:
    archive, output = str(tmp_path / "a"), tmp_path / "out.zip"
    run("ingest", str(export), "-o", archive)
    run("export", archive, "--to", "slack", "-o", str(output))
    # Take a message out of the written export: nothing in the export's notes explains it.
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(output) as source, zipfile.ZipFile(tampered, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("general/"):
                data = json.dumps(json.loads(data)[:1]).encode()
            copy.writestr(info, data)
    result = run("verify", archive, "--against", str(tampered))
    assert result.exit_code == ExitStatus.PROBLEMS_FOUND
    assert "unexplained differences" in result.output and "is not in the output" in result.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--to", "nowhere", "-o", "x.zip"], "unknown target format 'nowhere'"),
        (["--to", "mattermost", "-o", "x.zip", "--set", "colour=blue"], "has no option colour"),
        (["--to", "mattermost", "-o", "x.zip", "--set", "novalue"], "--set takes KEY=VALUE"),
        (["--to", "mattermost"], "-o OUTPUT"),
    ],
)
def test_export_bad_input_exits_2(export: Path, tmp_path: Path, args: list[str], says: str) -> None:
    archive = str(tmp_path / "a")
    run("ingest", str(export), "-o", archive)
    result = run("export", archive, *args)
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert says in result.stderr
