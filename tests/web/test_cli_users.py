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
        cli,
        ["users", "set-password", str(archive), "ada@example.org", "--stdin"],
        input="s3cret-passphrase\n",
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["users", "admin", str(archive), "bob", "--on"])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(cli, ["users", "list", str(archive)]).stdout
    ada, bob = person_id(archive, "ada"), person_id(archive, "bob")
    assert f"{ada}\tpassword" in listing and f"{bob}\tadmin" in listing
    web = accounts.connect(archive)
    try:
        assert accounts.check_password(web, ada, "s3cret-passphrase")
        account = accounts.get(web, bob)
        assert account is not None and account.is_admin
    finally:
        web.close()
    runner.invoke(cli, ["users", "admin", str(archive), "bob", "--off"])
    assert "admin" not in runner.invoke(cli, ["users", "list", str(archive)]).stdout

    app = create_app(archive, secret="s", testing=True)
    assert log_in(app.test_client(), "ada", "s3cret-passphrase") == 302
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
    for refused in ("short", "eleven-char", " " * 20):
        result = runner.invoke(
            cli, ["users", "set-password", str(archive), "ada", "--stdin"], input=f"{refused}\n"
        )
        assert result.exit_code == ExitStatus.BAD_INPUT, refused
    result = runner.invoke(
        cli, ["users", "set-password", str(archive), "ada", "--stdin"], input="twelve-chars\n"
    )
    assert result.exit_code == 0, result.output


def test_set_password_logs_the_person_out_everywhere(archive: Path) -> None:
    """An administrator resetting a password from the command line ends the person's sessions
    (the web's and any other), while a one-time link made before still logs in, once."""
    runner = CliRunner()

    def set_password(password: str) -> None:
        result = runner.invoke(
            cli, ["users", "set-password", str(archive), "ada", "--stdin"], input=f"{password}\n"
        )
        assert result.exit_code == 0, result.output

    set_password("the first passphrase")
    app = create_app(archive, secret="s", testing=True)
    first, second = app.test_client(), app.test_client()
    assert log_in(first, "ada", "the first passphrase") == 302
    assert log_in(second, "ada", "the first passphrase") == 302
    link = runner.invoke(cli, ["users", "link", str(archive), "ada"]).stdout.strip()
    path = link[link.index("/login/") :]
    assert first.get("/").status_code == 200
    set_password("the second passphrase")
    for client in (first, second):
        assert client.get("/").status_code == 302  # sent to the login page
        assert client.get("/api/spaces").status_code == 401
    assert log_in(app.test_client(), "ada", "the first passphrase") == 200  # refused
    assert log_in(first, "ada", "the second passphrase") == 302
    assert first.get("/").status_code == 200
    by_link = app.test_client()
    assert by_link.get(path).status_code == 302
    assert by_link.get("/").status_code == 200
    assert app.test_client().get(path).status_code == 404  # once


def test_serve_is_a_command() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "--host" in result.output
    assert "--trusted-proxies" in result.output


def test_users_logout_ends_every_session_and_keeps_the_password(archive: Path) -> None:
    runner = CliRunner()
    runner.invoke(cli, ["users", "set-password", str(archive), "bob", "--stdin"], input="bob's passphrase\n")
    app = create_app(archive, secret="s", testing=True)
    client = app.test_client()
    assert log_in(client, "bob", "bob's passphrase") == 302
    assert client.get("/").status_code == 200
    result = runner.invoke(cli, ["users", "logout", str(archive), "bob"])
    assert result.exit_code == 0, result.output
    assert client.get("/").status_code == 302
    assert log_in(client, "bob", "bob's passphrase") == 302  # the same password
    assert client.get("/").status_code == 200
    assert runner.invoke(cli, ["users", "logout", str(archive), "nobody"]).exit_code == ExitStatus.BAD_INPUT
