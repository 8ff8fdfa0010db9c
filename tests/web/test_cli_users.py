"""`passerelle users …`: set-password, link, admin, list (and `serve --help`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from passerelle.cli import cli
from passerelle.exit_status import ExitStatus
from passerelle.ingest import ingest
from passerelle.web import accounts
from passerelle.web.app import create_app
from tests.mattermost_builder import FEATURE_FILES, build_export, feature_lines
from tests.web.conftest import log_in, person_id


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    ingest([build_export(tmp_path / "export", feature_lines(), FEATURE_FILES)], tmp_path / "archive")
    return tmp_path / "archive"


def test_users_commands(archive: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["users", "set-password", str(archive), "ada@example.org", "--stdin"], input="s3cret-pass\n"
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["users", "admin", str(archive), "bob", "--on"])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(cli, ["users", "list", str(archive)]).stdout
    ada, bob = person_id(archive, "ada"), person_id(archive, "bob")
    assert f"{ada}\tpassword" in listing and f"{bob}\tadmin" in listing
    web = accounts.connect(archive)
    try:
        assert accounts.check_password(web, ada, "s3cret-pass")
        account = accounts.get(web, bob)
        assert account is not None and account.is_admin
    finally:
        web.close()
    runner.invoke(cli, ["users", "admin", str(archive), "bob", "--off"])
    assert "admin" not in runner.invoke(cli, ["users", "list", str(archive)]).stdout

    app = create_app(archive, secret="s", testing=True)
    assert log_in(app.test_client(), "ada", "s3cret-pass") == 302
    link = runner.invoke(
        cli, ["users", "link", str(archive), "gus", "--base-url", "http://h:1/"]
    ).stdout.strip()
    match = re.fullmatch(r"http://h:1(/login/[\w-]+)", link)
    assert match, link
    client = app.test_client()
    assert client.get(match.group(1)).status_code == 302
    assert client.get("/").status_code == 200


def test_unknown_person_and_short_password(archive: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "link", str(archive), "nobody"])
    assert result.exit_code == ExitStatus.BAD_INPUT
    result = runner.invoke(cli, ["users", "set-password", str(archive), "ada", "--stdin"], input="short\n")
    assert result.exit_code == ExitStatus.BAD_INPUT


def test_serve_is_a_command() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "--host" in result.output
