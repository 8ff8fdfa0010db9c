"""The command line: a thin click layer over the library. Progress on stderr, results on stdout."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.table import Table

from passerelle import __version__
from passerelle.archive import Archive, NotAnArchiveError
from passerelle.diagnostics import CODES, catalogue_markdown
from passerelle.errors import BadInputError
from passerelle.exit_status import ExitStatus
from passerelle.export import ExportReport, choose_writer, export
from passerelle.info import archive_info
from passerelle.ingest import SourceReport, ingest
from passerelle.package.pack import pack
from passerelle.progress import display_for_stderr
from passerelle.readers import available_readers
from passerelle.verify import verify
from passerelle.writers import available_writers
from passerelle.writers.base import ENTITY_TYPES, Outcome

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_ARCHIVE = Path("passerelle-archive")


def _stdout() -> Console:
    console = Console()
    # Piped output (CI logs, files) is not cut to 80 columns.
    return console if console.is_terminal else Console(width=200)


def _errors(command: Callable[P, R]) -> Callable[P, R]:
    """Map failures to the documented exit statuses with a one-line message."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (BadInputError, NotAnArchiveError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(ExitStatus.BAD_INPUT)
        except click.exceptions.Exit:
            raise
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            click.echo(f"internal error: {exc!r} (this is a bug in passerelle)", err=True)
            sys.exit(ExitStatus.INTERNAL_ERROR)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="passerelle")
def cli() -> None:
    """Take collaboration data out of any platform, losslessly and with proof.

    Exit statuses: 0 ok; 1 problems found (unexplained differences, or warnings under
    --strict); 2 bad input; 3 internal error.
    """


@cli.command("ingest")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "archive",
    type=click.Path(path_type=Path),
    default=DEFAULT_ARCHIVE,
    show_default=True,
    help="The archive directory (created, or merged into).",
)
@click.option("--from", "format", help="The source format, when detection is not wanted.")
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --from csv: the mapping (TOML, docs/csv.md) to read the CSV files with; csv guess"
    " proposes one. Without it, passerelle-mapping.toml in the source is used.",
)
@click.option(
    "--strict", is_flag=True, help="Fail (exit 1) when any warning or error diagnostic is reported."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_errors
def ingest_command(
    sources: tuple[Path, ...],
    archive: Path,
    format: str | None,
    mapping: Path | None,
    strict: bool,
    as_json: bool,
) -> None:
    """Read SOURCES (exports, zip or folder; CSV files given one by one are one source) into an
    archive; re-running finishes or adds only what is new."""
    if mapping is not None and format != "csv":
        raise BadInputError("--mapping is only valid with --from csv")
    display = display_for_stderr()
    try:
        options = {"mapping": mapping} if mapping is not None else None
        reports = ingest(list(sources), archive, format=format, options=options, display=display)
    finally:
        display.close()
    if as_json:
        click.echo(
            json.dumps({"archive": str(archive), "sources": [_report_json(r) for r in reports]}, indent=2)
        )
    else:
        _print_ingest(reports, archive)
    if strict and any(r.diagnostics.get("warning") or r.diagnostics.get("error") for r in reports):
        click.echo("strict: warnings or errors were reported", err=True)
        sys.exit(ExitStatus.PROBLEMS_FOUND)


def _report_json(report: SourceReport) -> dict[str, Any]:
    return {
        "source": report.path,
        "reader": report.reader,
        "source_id": report.source_id,
        "status": report.status,
        "new_rows": report.new_rows,
        "diagnostics": dict(report.diagnostics),
        "codes": dict(sorted(report.codes.items())),
        "seconds": round(report.seconds, 3),
    }


def _print_ingest(reports: list[SourceReport], archive: Path) -> None:
    console = _stdout()
    for report in reports:
        console.print(f"[bold]{report.path}[/] ({report.reader}): {report.status}", highlight=False)
        if report.status == "already ingested":
            continue
        table = Table("entity", "new in archive", box=None)
        for table_name, count in report.new_rows.items():
            if table_name != "diagnostics":
                table.add_row(table_name, str(count))
        console.print(table)
        if report.codes:
            diag = Table("diagnostic", "severity", "count", box=None)
            for code, count in sorted(report.codes.items()):
                diag.add_row(code, str(CODES[code].severity), str(count))
            console.print(diag)
        console.print(
            f"{sum(report.diagnostics.values())} diagnostics "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(report.diagnostics.items())) or 'none'})"
            f" in {report.seconds:.2f} s",
            highlight=False,
        )
    console.print(f"archive: {archive}", highlight=False)


@cli.command("info")
@click.argument("archive", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print counts and diagnostics as JSON.")
@_errors
def info_command(archive: Path, as_json: bool) -> None:
    """Counts and diagnostics of an archive."""
    with Archive.open(archive) as opened:
        info = archive_info(opened.store)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    console = _stdout()
    table = Table("entity", "count", box=None)
    for name, count in info["counts"].items():
        table.add_row(name, str(count))
    console.print(table)
    console.print("diagnostics: " + ", ".join(f"{k} {v}" for k, v in info["diagnostics"].items()))
    for code, count in info["by_code"].items():
        console.print(f"  {code}: {count}", highlight=False)


@cli.command("verify")
@click.argument("archive", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--against",
    "against",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="The source export the archive was made from, an export passerelle wrote from it, or its package.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the reconciliation report as JSON.")
@_errors
def verify_command(archive: Path, against: Path, as_json: bool) -> None:
    """Reconcile ARCHIVE with a source, with an export written from it (the fidelity table), or
    with a package packed from it (every row compared), by an independent path; exit 1 on
    anything unexplained."""
    display = display_for_stderr()
    try:
        with Archive.open(archive) as opened:
            report = verify(opened, against, display=display)
    finally:
        display.close()
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        report.render(_stdout())
    if not report.ok:
        sys.exit(ExitStatus.PROBLEMS_FOUND)


@cli.command("pack")
@click.argument("archive", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="The package folder to write (ending in .zip: that folder, zipped).",
)
@click.option(
    "--ocfl",
    "ocfl_root",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also add the package as a new version of an OCFL object in this storage root.",
)
@click.option("--object-id", help="The OCFL object's id (default: named after the archive's first source).")
@click.option(
    "--ocfl-user",
    nargs=2,
    metavar="NAME URI",
    help="Who makes the OCFL version: a name and an address URI (mailto:…); default: passerelle itself.",
)
@click.option(
    "--against",
    "against",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A source export to reconcile with the archive first; its report goes in the package (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_errors
def pack_command(
    archive: Path,
    out: Path,
    ocfl_root: Path | None,
    object_id: str | None,
    ocfl_user: tuple[str, str] | None,
    against: tuple[Path, ...],
    as_json: bool,
) -> None:
    """Write ARCHIVE as an open reversibility package: a BagIt bag of Activity Streams 2.0,
    the file bytes, the SQLite archive and a README; read back and checked before it is sealed."""
    display = display_for_stderr()
    try:
        report = pack(
            archive,
            out,
            ocfl_root=ocfl_root,
            object_id=object_id,
            ocfl_user=ocfl_user or None,
            against=against,
            display=display,
        )
    finally:
        display.close()
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        console = _stdout()
        table = Table("packed", "count", box=None)
        for name, count in sorted(report.counts.items()):
            table.add_row(name, str(count))
        console.print(table)
        console.print(f"package: {report.package} (read back: identical to the archive)", highlight=False)
        for source, ok in report.sources.items():
            verdict = "reconciled" if ok else "[bold red]differences (see its report in the package)[/]"
            console.print(f"source {source}: {verdict}", highlight=False)
        if report.ocfl is not None:
            console.print(
                f"OCFL: {report.ocfl.object_path} {report.ocfl.version}"
                f" ({report.ocfl.added_files} files added, {report.ocfl.reused_files} kept from earlier versions)",
                highlight=False,
            )
    if not all(report.sources.values()):
        sys.exit(ExitStatus.PROBLEMS_FOUND)


def _option_pairs(values: tuple[str, ...]) -> dict[str, str]:
    options: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise BadInputError(f"--set takes KEY=VALUE, not {value!r}")
        options[key.strip()] = val
    return options


@cli.command("export")
@click.argument("archive", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--to", "to", required=True, help="The target format (see `passerelle formats`).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="The output: a .zip file, or a folder. Not needed with --dry-run.",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="A writer option (repeatable); `passerelle formats` lists each writer's options.",
)
@click.option(
    "--as",
    "as_person",
    metavar="PERSON",
    help="For a writer with an audience (html): what this person may see (id, login name, e-mail"
    " or display name); the same as --set as=PERSON.",
)
@click.option("--dry-run", is_flag=True, help="Write nothing; print what would be carried, adapted and lost.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_errors
def export_command(
    archive: Path,
    to: str,
    output: Path | None,
    settings: tuple[str, ...],
    as_person: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Write ARCHIVE into a target format; every adaptation or loss is a typed diagnostic."""
    if output is None and not dry_run:
        raise BadInputError("say where to write with -o OUTPUT (or use --dry-run)")
    options = _option_pairs(settings)
    if as_person is not None:
        if not any(o.name == "as" for o in choose_writer(to).info.options):
            raise BadInputError(f"{to} writes everything for everyone: it takes no --as PERSON")
        options["as"] = as_person
    display = display_for_stderr()
    try:
        report = export(
            archive,
            to,
            output or Path(f"{to}-export.zip"),
            options=options,
            dry_run=dry_run,
            display=display,
        )
    finally:
        display.close()
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_export(report)


def _print_export(report: ExportReport) -> None:
    console = _stdout()
    verb = "would be" if report.dry_run else "were"
    table = Table("entity", f"{verb} carried exactly", "adapted", "lost", box=None)
    for entity in ENTITY_TYPES:
        tally = report.log.tally[entity]
        table.add_row(entity, *(str(tally[o]) for o in (Outcome.CARRIED, Outcome.ADAPTED, Outcome.LOST)))
    title = "pre-flight (nothing written)" if report.dry_run else f"written: {report.output}"
    console.print(f"[bold]{report.writer}[/]: {title}", highlight=False)
    console.print(table)
    codes = report.log.codes()
    if codes:
        diag = Table("diagnostic", "severity", "count", "meaning", box=None)
        for code, count in sorted(codes.items()):
            diag.add_row(code, str(CODES[code].severity), str(count), CODES[code].summary)
        console.print(diag)
    console.print(f"in {report.seconds:.2f} s", highlight=False)


@cli.command("formats")
@click.option("--diagnostics", is_flag=True, help="Print the catalogue of diagnostic codes instead.")
@_errors
def formats_command(diagnostics: bool) -> None:
    """Every reader and writer, with what it keeps and what it cannot carry."""
    if diagnostics:
        click.echo(catalogue_markdown(), nl=False)
        return
    console = _stdout()
    for name, reader in available_readers().items():
        console.print(
            f"[bold]{name}[/] (reader, {reader.info.platform}): {reader.info.description}", highlight=False
        )
        for kept in reader.info.keeps:
            console.print(f"  keeps: {kept}", highlight=False)
        for lost in reader.info.cannot_carry:
            console.print(f"  cannot carry: {lost}", highlight=False)
    for name, writer in available_writers().items():
        console.print(f"[bold]{name}[/] (writer): {writer.info.description}", highlight=False)
        for kept in writer.info.keeps:
            console.print(f"  keeps: {kept}", highlight=False)
        for lost in writer.info.cannot_carry:
            console.print(f"  cannot carry: {lost}", highlight=False)
        for option in writer.info.options:
            default = f" (default: {option.default})" if option.default is not None else ""
            console.print(f"  option --set {option.name}=…: {option.help}{default}", highlight=False)


@cli.group("csv")
def csv_group() -> None:
    """CSV exports: propose the mapping `ingest --from csv --mapping` reads them with."""


@csv_group.command("guess")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the mapping (TOML) to this file instead of stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite the -o file if it exists.")
@click.option("--timezone", help="IANA zone of dates without an offset, e.g. Europe/Paris (default UTC).")
@click.option("--platform", default="csv", show_default=True, help="The platform the records come from.")
@_errors
def csv_guess_command(
    files: tuple[Path, ...], output: Path | None, force: bool, timezone: str | None, platform: str
) -> None:
    """Sample FILES (CSV files, or one folder or zip of them) and propose a mapping, each guess commented."""
    from passerelle.csv_guess import guess, render, summary

    mapping = guess(list(files), timezone=timezone, platform=platform)
    text = render(mapping)
    if output is None:
        click.echo(text, nl=False)
        for path, entity, encoding, confidence in summary(mapping):
            click.echo(f"{path}: {entity} ({confidence}), {encoding}", err=True)
        return
    if output.exists() and not force:
        raise BadInputError(f"{output} exists (it may hold your edits); use --force to overwrite it")
    output.write_text(text, encoding="utf-8", newline="\n")
    table = Table("file", "entity", "confidence", "encoding", box=None)
    for path, entity, encoding, confidence in summary(mapping):
        table.add_row(path, entity, confidence, encoding)
    console = _stdout()
    console.print(table)
    console.print(f"mapping: {output}", highlight=False)


@cli.command("serve")
@click.argument("archive", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="The port to listen on.")
@click.option(
    "--trusted-proxies",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Reverse proxies in front that add to X-Forwarded-For (0: the header is not believed).",
)
@_errors
def serve_command(archive: Path, host: str, port: int, trusted_proxies: int) -> None:
    """Serve the archive as a website (waitress), behind login: see `passerelle users`."""
    import waitress

    from passerelle.web.app import create_app

    loopback = host in ("127.0.0.1", "localhost", "::1")
    # Plain HTTP on the loopback: a Secure cookie would not come back from every browser.
    app = create_app(archive, secure_cookies=not loopback, trusted_proxies=trusted_proxies)
    from passerelle.web import accounts

    web = accounts.connect(archive)
    try:
        if not any(account.has_password for account in accounts.accounts(web)):
            click.echo(
                "no account has a password yet: `passerelle users set-password ARCHIVE PERSON`"
                " or `passerelle users link ARCHIVE PERSON`",
                err=True,
            )
    finally:
        web.close()
    click.echo(f"serving {archive} on http://{host}:{port}/", err=True)
    waitress.serve(app, host=host, port=port, threads=8)


@cli.group("users")
def users_group() -> None:
    """Accounts of the web archive (`passerelle serve`): the archive's persons."""


def _web_person(archive: Path, person: str) -> tuple[Any, str]:
    import sqlite3

    from passerelle.web import accounts

    if not (archive / "archive.sqlite").is_file():
        raise BadInputError(f"{archive} holds no archive.sqlite")
    db = sqlite3.connect(f"file:{archive / 'archive.sqlite'}?mode=ro", uri=True)
    try:
        pid = accounts.find_person(db, person)
    finally:
        db.close()
    if pid is None:
        raise BadInputError(f"no person {person!r} in {archive} (give an id, login name or email)")
    return accounts.connect(archive), pid


@users_group.command("list")
@click.argument("archive", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_errors
def users_list_command(archive: Path) -> None:
    """The accounts: person, whether a password is set, administrator."""
    from passerelle.web import accounts

    web = accounts.connect(archive)
    try:
        for account in accounts.accounts(web):
            flags = [f for f, on in (("password", account.has_password), ("admin", account.is_admin)) if on]
            click.echo(f"{account.person_id}\t{','.join(flags) or '-'}")
    finally:
        web.close()


@users_group.command("set-password")
@click.argument("archive", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("person")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from stdin's first line.")
@_errors
def users_set_password_command(archive: Path, person: str, from_stdin: bool) -> None:
    """Set PERSON's password (PERSON: person id, login name or email)."""
    from passerelle.web import accounts

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if problem := accounts.password_problem(password):
        raise BadInputError(problem)
    web, pid = _web_person(archive, person)
    try:
        accounts.set_password(web, pid, password)  # ends every session of the person
    finally:
        web.close()
    click.echo(f"password set for {pid}; their sessions are logged out", err=True)


@users_group.command("link")
@click.argument("archive", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("person")
@click.option("--base-url", default="http://127.0.0.1:8080", show_default=True, help="The site's address.")
@_errors
def users_link_command(archive: Path, person: str, base_url: str) -> None:
    """Print a one-time login link for PERSON (valid once, 24 hours)."""
    from passerelle.web import accounts

    web, pid = _web_person(archive, person)
    try:
        token = accounts.make_link_token(web, pid)
    finally:
        web.close()
    click.echo(f"{base_url.rstrip('/')}/login/{token}")


@users_group.command("logout")
@click.argument("archive", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("person")
@_errors
def users_logout_command(archive: Path, person: str) -> None:
    """End every web session of PERSON, their password unchanged (a lost device)."""
    from passerelle.web import accounts

    web, pid = _web_person(archive, person)
    try:
        accounts.end_sessions(web, pid)
    finally:
        web.close()
    click.echo(f"{pid}: logged out everywhere", err=True)


@users_group.command("admin")
@click.argument("archive", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("person")
@click.option("--on/--off", default=True, help="Make PERSON an administrator, or not.")
@_errors
def users_admin_command(archive: Path, person: str, on: bool) -> None:
    """Make PERSON an administrator (sees everything; each view of private content audited)."""
    from passerelle.web import accounts

    web, pid = _web_person(archive, person)
    try:
        accounts.set_admin(web, pid, on)
    finally:
        web.close()
    click.echo(f"{pid}: administrator {'on' if on else 'off'}", err=True)


def main() -> None:
    cli()
