"""Hostile Slack exports: every bad record becomes a typed diagnostic, the rest is kept, verify agrees.

Every fixture is built at test time from Python dicts (``build_entries``), written as a
folder (``write_folder``) or a zip (``write_zip``). Each case checks the exact diagnostics
stored, that the rest of the export is ingested (exact counts), that ``verify`` against
the same source accounts for everything, and the CLI's exit status where it matters.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import io
import json
import os
import re
import sqlite3
import struct
import threading
import tracemalloc
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from passerelle.archive import Archive
from passerelle.archive.writer import ArchiveWriter
from passerelle.cli import cli
from passerelle.errors import BadInputError
from passerelle.exit_status import ExitStatus
from passerelle.info import archive_info
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.readers import available_readers
from passerelle.readers.slack import SlackReader
from passerelle.verify import verify
from tests.helpers import canonical_dump
from tests.slack_builder import message, write_folder, write_zip

Json = dict[str, Any]
Diag = tuple[str, str, str, str | None]

# -- a minimal valid Slack export -------------------------------------------------------------

DAY1 = "general/2024-01-01.json"
DAY2 = "general/2024-01-02.json"
RANDOM_DAY = "random/2024-01-01.json"
EXTRA_DAY = "general/2024-01-03.json"  # where a case puts its hostile day file

USERS: list[Json] = [
    {"id": "U1", "name": "alice", "real_name": "Alice A", "profile": {"display_name": "Alice"}},
    {"id": "U2", "name": "bob", "profile": {"display_name": "Bob"}},
]
CHANNELS: list[Json] = [
    {"id": "C1", "name": "general", "created": 1704067200, "creator": "U1", "members": ["U1", "U2"]},
    {"id": "C2", "name": "random", "created": 1704067200, "creator": "U2", "members": ["U2"]},
]

KNOWN = ", ".join(available_readers())  # the message names every registered reader


def day_files() -> dict[str, list[Any]]:
    return {
        DAY1: [message("1704100000.000100", "hello"), message("1704100001.000200", "hi", user="U2")],
        DAY2: [message("1704186400.000100", "day two")],
        RANDOM_DAY: [message("1704100002.000300", "random", user="U2")],
    }


# What the export above becomes: the workspace and two channels, 3 memberships, 4 messages.
BASE = {"persons": 2, "spaces": 3, "memberships": 3, "items": 4}


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def build_entries(
    days: Mapping[str, Any] | None = None,
    *,
    users: Any = USERS,
    channels: Any = CHANNELS,
    extra: Mapping[str, bytes] | None = None,
) -> dict[str, bytes]:
    """The export's entries: ``days`` replaces or adds day files (a list is JSON-encoded, bytes are kept)."""
    entries = {"users.json": dumps(users), "channels.json": dumps(channels)}
    for name, content in {**day_files(), **(days or {})}.items():
        entries[name] = content if isinstance(content, bytes) else dumps(content)
    entries.update(extra or {})
    return entries


def write_export(tmp_path: Path, entries: Mapping[str, bytes], *, as_zip: bool) -> Path:
    if as_zip:
        return write_zip(tmp_path / "export.zip", entries)
    return write_folder(tmp_path / "export", entries)


# -- looking at the result --------------------------------------------------------------------


def run_ingest(tmp_path: Path, source: Path, name: str = "archive") -> Path:
    archive = tmp_path / name
    reports = ingest([source], archive)
    assert [r.status for r in reports] == ["ingested"]
    return archive


def diagnostics(archive: Path) -> list[Diag]:
    with Archive.open(archive) as opened:
        rows = opened.store.query('SELECT code, severity, "where", dropped FROM diagnostics')
    return sorted((str(c), str(s), str(w), d) for c, s, w, d in rows)


def diagnostic(archive: Path, code: str) -> tuple[str, str, bytes | None]:
    """(where, message, raw) of the one diagnostic with this code."""
    with Archive.open(archive) as opened:
        rows = opened.store.query('SELECT "where", message, raw FROM diagnostics WHERE code = ?', (code,))
    assert len(rows) == 1, rows
    where, text, raw = rows[0]
    return str(where), str(text), raw


def counts(archive: Path) -> dict[str, int]:
    with Archive.open(archive) as opened:
        info = archive_info(opened.store)
    return {k: v for k, v in info["counts"].items() if k in BASE}


def scalar(archive: Path, sql: str, params: tuple[Any, ...] = ()) -> Any:
    with Archive.open(archive) as opened:
        return opened.store.scalar(sql, params)


def assert_verified(archive: Path, source: Path) -> None:
    with Archive.open(archive) as opened:
        report = verify(opened, source)
    assert report.ok, report.problems
    assert report.problem_count == 0


def cli_run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def assert_one_line_error(result: Result, status: int = ExitStatus.BAD_INPUT) -> str:
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def assert_empty_archive(archive: Path) -> None:
    """What a refused source leaves: nothing. Every source is checked before the archive is made."""
    assert not archive.exists()


def blob_path(archive: Path, sha: str) -> Path:
    """Where the blob store keeps these bytes: ``blobs/sha256/<fan-out>/<hex>`` under the archive."""
    with Archive.open(archive) as opened:
        path = opened.blobs.path(sha)
    relative = path.relative_to(archive)
    assert relative.parts[:2] == ("blobs", "sha256") and relative.name == sha, relative
    assert all(sha.startswith("".join(relative.parts[2:i])) for i in range(3, len(relative.parts)))
    return path


def sha_in(text: str) -> str:
    match = re.search(r"sha256:([0-9a-f]{64})", text)
    assert match, text
    return match.group(1)


# -- 1. not a Slack export ---------------------------------------------------------------------


def test_zip_of_text_files_is_bad_input(tmp_path: Path) -> None:
    source = tmp_path / "notes.zip"
    with zipfile.ZipFile(source, "w") as zf:
        zf.writestr("readme.txt", "hello")
        zf.writestr("notes/monday.txt", "nothing to see")
    result = cli_run("ingest", str(source), "-o", str(tmp_path / "archive"))
    line = assert_one_line_error(result)
    assert line == f"error: {source}: not a format passerelle reads (known: {KNOWN})"
    assert_empty_archive(tmp_path / "archive")


def test_plain_text_file_is_bad_input(tmp_path: Path) -> None:
    source = tmp_path / "export.txt"
    source.write_text("this is not a zip\n")
    result = cli_run("ingest", str(source), "-o", str(tmp_path / "archive"))
    line = assert_one_line_error(result)
    # A single file that is not a zip is read as a one-entry source, which no reader takes.
    assert line == f"error: {source}: not a format passerelle reads (known: {KNOWN})"
    assert_empty_archive(tmp_path / "archive")


def test_missing_source_is_bad_input(tmp_path: Path) -> None:
    source = tmp_path / "nowhere.zip"
    result = cli_run("ingest", str(source), "-o", str(tmp_path / "archive"))
    assert_one_line_error(result)
    assert "nowhere.zip: no such file or folder" in result.stderr
    assert not (tmp_path / "archive").exists()
    with pytest.raises(BadInputError, match=r"nowhere\.zip: no such file or folder"):
        ingest([source], tmp_path / "archive")
    assert_empty_archive(tmp_path / "archive")


def test_info_and_verify_on_a_folder_that_is_not_an_archive(tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x").write_text("x")
    source = write_zip(tmp_path / "export.zip", build_entries())
    for args in (
        ("info", str(tmp_path / "junk"), "--json"),
        ("verify", str(tmp_path / "junk"), "--against", str(source)),
    ):
        line = assert_one_line_error(cli_run(*args))
        assert "is not a passerelle archive" in line


# -- 2. truncated or corrupt zips --------------------------------------------------------------


def _valid_zip_bytes(tmp_path: Path) -> bytes:
    return write_zip(tmp_path / "valid.zip", build_entries()).read_bytes()


@pytest.mark.parametrize("cut", ["last-1", "last-22", "last-100", "middle", "first-30"])
def test_truncated_zip_is_bad_input(tmp_path: Path, cut: str) -> None:
    data = _valid_zip_bytes(tmp_path)
    kept = {
        "last-1": len(data) - 1,
        "last-22": len(data) - 22,
        "last-100": len(data) - 100,
        "middle": len(data) // 2,
        "first-30": 30,
    }[cut]
    source = tmp_path / "cut.zip"
    source.write_bytes(data[:kept])
    result = cli_run("ingest", str(source), "-o", str(tmp_path / "archive"))
    line = assert_one_line_error(result)
    assert line.startswith(f"error: {source}: not a readable zip file (")
    assert_empty_archive(tmp_path / "archive")


def _entry_data_offset(data: bytes, name: str) -> tuple[zipfile.ZipInfo, int]:
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    return info, info.header_offset + 30 + name_len + extra_len


def _central_record(data: bytes, name: str) -> int:
    """The offset of the entry's record in the central directory."""
    at = data.index(b"PK\x01\x02")
    while data[at + 46 : at + 46 + len(name)] != name.encode():
        at = data.index(b"PK\x01\x02", at + 4)
    return at


def _corrupt(data: bytes, how: str) -> bytes:
    out = bytearray(data)
    info, start = _entry_data_offset(data, DAY2)
    if how == "bad-deflate":  # zlib.error while inflating
        out[start : start + info.compress_size] = b"\xff" * info.compress_size
    elif how == "bad-crc":  # inflates, but to other bytes
        out[start + info.compress_size - 2] ^= 0x55
    elif how in ("encrypted", "unknown-method"):
        central = _central_record(data, DAY2)
        # Patch the local header and the entry's central directory record alike.
        for header, flags_at in ((info.header_offset, 6), (central, 8)):
            if how == "encrypted":
                (flags,) = struct.unpack("<H", out[header + flags_at : header + flags_at + 2])
                out[header + flags_at : header + flags_at + 2] = struct.pack("<H", flags | 0x1)
            else:
                out[header + flags_at + 2 : header + flags_at + 4] = struct.pack("<H", 99)
    return bytes(out)


@pytest.mark.parametrize("how", ["bad-deflate", "bad-crc", "encrypted", "unknown-method"])
def test_corrupt_entry_in_an_intact_zip_is_diagnosed_and_the_rest_kept(tmp_path: Path, how: str) -> None:
    source = tmp_path / "corrupt.zip"
    source.write_bytes(_corrupt(_valid_zip_bytes(tmp_path), how))
    result = cli_run("ingest", str(source), "-o", str(tmp_path / "archive"), "--json")
    assert result.exit_code == ExitStatus.OK, result.output
    assert "Traceback" not in result.output
    assert json.loads(result.stdout)["sources"][0]["codes"] == {"source.unreadable_entry": 1}
    archive = tmp_path / "archive"
    assert diagnostics(archive) == [("source.unreadable_entry", "error", DAY2, "entry")]
    assert counts(archive) == {**BASE, "items": 3}
    assert_verified(archive, source)
    assert cli_run("verify", str(archive), "--against", str(source)).exit_code == ExitStatus.OK


@pytest.mark.parametrize("how", ["bad-utf8-name", "future-version"])
def test_unreadable_central_directory_is_bad_input(tmp_path: Path, how: str) -> None:
    data = bytearray(_valid_zip_bytes(tmp_path))
    central = data.index(b"PK\x01\x02")
    if how == "bad-utf8-name":  # flagged UTF-8, but the name's bytes are not: zipfile cannot decode it
        data[central + 8 : central + 10] = struct.pack("<H", 0x800)
        name_at = central + 46
        data[name_at] = 0xFF
    else:  # "needs version 9.9 to extract"
        data[central + 6 : central + 8] = struct.pack("<H", 99)
    source = tmp_path / "odd.zip"
    source.write_bytes(bytes(data))
    line = assert_one_line_error(cli_run("ingest", str(source), "-o", str(tmp_path / "archive")))
    assert line.startswith(f"error: {source}: not a readable zip file (")
    assert_empty_archive(tmp_path / "archive")


# -- 3. a day file that is not JSON -------------------------------------------------------------


@pytest.mark.parametrize("as_zip", [True, False], ids=["zip", "folder"])
def test_day_file_not_json(tmp_path: Path, as_zip: bool) -> None:
    source = write_export(tmp_path, build_entries({EXTRA_DAY: b"{{{"}), as_zip=as_zip)
    archive = run_ingest(tmp_path, source)
    assert diagnostics(archive) == [("slack.invalid_json", "error", EXTRA_DAY, "file")]
    _, text, _ = diagnostic(archive, "slack.invalid_json")
    sha = sha_in(text)
    assert sha == hashlib.sha256(b"{{{").hexdigest()
    assert blob_path(archive, sha).read_bytes() == b"{{{"
    assert counts(archive) == BASE
    assert_verified(archive, source)


# -- 4. records that are not objects ------------------------------------------------------------


def test_records_that_are_not_objects(tmp_path: Path) -> None:
    day = (
        b'[{"type": "message", "ts": "1704272800.000100", "user": "U1", "text": "first"},'
        b' null, 42, "a string", [1, {"x": 2}],'
        b' {"type": "message", "ts": "1704272801.000100", "user": "U2", "text": "last"}]'
    )
    source = write_zip(tmp_path / "export.zip", build_entries({EXTRA_DAY: day}))
    archive = run_ingest(tmp_path, source)
    assert diagnostics(archive) == [
        ("slack.invalid_record", "error", f"{EXTRA_DAY}#{i}", "message") for i in (1, 2, 3, 4)
    ]
    with Archive.open(archive) as opened:
        raws = dict(
            opened.store.query("SELECT \"where\", raw FROM diagnostics WHERE code = 'slack.invalid_record'")
        )
    assert raws == {
        f"{EXTRA_DAY}#1": b"null",
        f"{EXTRA_DAY}#2": b"42",
        f"{EXTRA_DAY}#3": b'"a string"',
        f"{EXTRA_DAY}#4": b'[1, {"x": 2}]',
    }
    assert counts(archive) == {**BASE, "items": 6}
    assert_verified(archive, source)


# -- 5. unknown fields and subtypes -------------------------------------------------------------


def test_unknown_field_and_subtype_are_kept(tmp_path: Path) -> None:
    odd = message(
        "1704272800.000100",
        "odd",
        subtype="hologram_share",
        x_future={"nested": [1, 2.5, None, "é"]},
        hologram=True,
    )
    later = message("1704272801.000100", "again", subtype="hologram_share", x_future=1)
    day = b"[" + dumps(odd) + b", " + dumps(later) + b"]"
    source = write_zip(tmp_path / "export.zip", build_entries({EXTRA_DAY: day}))
    archive = run_ingest(tmp_path, source)
    # Each unknown thing once per source, where it is first seen.
    assert diagnostics(archive) == [
        ("slack.unknown_field", "info", f"{EXTRA_DAY}#0", None),
        ("slack.unknown_field", "info", f"{EXTRA_DAY}#0", None),
        ("slack.unknown_subtype", "info", f"{EXTRA_DAY}#0", None),
    ]
    with Archive.open(archive) as opened:
        messages = {
            m[0]
            for m in opened.store.query("SELECT message FROM diagnostics WHERE code = 'slack.unknown_field'")
        }
        kind, subtype, raw = opened.store.query(
            "SELECT kind, subtype, raw FROM items WHERE id = ?",
            (ids.item_id("slack", "C1", "1704272800.000100"),),
        )[0]
    assert messages == {
        "field 'x_future' is not modelled; kept in the raw record",
        "field 'hologram' is not modelled; kept in the raw record",
    }
    assert (kind, subtype) == ("message", "hologram_share")
    assert raw == dumps(odd)  # the exact bytes of the record
    assert json.loads(raw)["x_future"] == {"nested": [1, 2.5, None, "é"]}
    assert counts(archive) == {**BASE, "items": 6}
    assert_verified(archive, source)


# -- 6. null where an object is expected -------------------------------------------------------


def test_nulls_where_objects_are_expected(tmp_path: Path) -> None:
    channels = [*CHANNELS, {"id": "C3", "name": "nulls", "members": None}]
    day = [
        message(
            "1704272800.000100",
            "all null",
            reactions=None,
            files=None,
            edited=None,
            blocks=None,
            attachments=None,
        ),
        message("1704272801.000100", "nobody", user=None),
        {"type": "message", "ts": "1704272802.000100", "user": None, "text": None},
        message(
            "1704272803.000100",
            "reactions",
            reactions=[None, {"name": "tada", "users": ["U1", "U2"], "count": 2}, {"name": None}],
            files=[None],
            edited={"user": None, "ts": None},
            blocks=[None],
            attachments=[None],
        ),
    ]
    source = write_zip(
        tmp_path / "export.zip", build_entries({"nulls/2024-01-03.json": day}, channels=channels)
    )
    archive = run_ingest(tmp_path, source)
    entry = "nulls/2024-01-03.json"
    assert diagnostics(archive) == [
        ("slack.invalid_record", "error", f"{entry}#3/files/0", "file"),
        ("slack.invalid_record", "error", f"{entry}#3/reactions/0", "reaction"),
        ("slack.invalid_record", "error", f"{entry}#3/reactions/2", "reaction"),
        ("slack.null_members", "info", "channels.json#2", None),
    ]
    with Archive.open(archive) as opened:
        raws = dict(
            opened.store.query("SELECT \"where\", raw FROM diagnostics WHERE code = 'slack.invalid_record'")
        )
        authors = opened.store.query(
            "SELECT author_id FROM items WHERE space_id = ?", (ids.space_id("slack", "C3"),)
        )
        reactors = opened.store.query("SELECT person_id, emoji FROM reactions ORDER BY person_id")
    assert raws == {
        f"{entry}#3/files/0": b"null",
        f"{entry}#3/reactions/0": b"null",
        f"{entry}#3/reactions/2": b'{"name":null}',
    }
    assert sorted(a for (a,) in authors if a is not None) == [ids.person_id("slack", "U1")] * 2
    assert len(authors) == 4
    assert sorted(reactors) == sorted([(ids.person_id("slack", u), "tada") for u in ("U1", "U2")])
    assert counts(archive) == {"persons": 2, "spaces": 4, "memberships": 3, "items": 8}
    assert_verified(archive, source)


# -- 7. user ids nobody defines ----------------------------------------------------------------


def test_unknown_users_get_one_warning_and_a_placeholder(tmp_path: Path) -> None:
    channels = [CHANNELS[0], {**CHANNELS[1], "members": ["U2", "U7"]}]
    day = [
        message("1704272800.000100", "from a stranger <@U9>", user="U8"),
        message("1704272801.000100", "again", user="U8", reactions=[{"name": "eyes", "users": ["U8", "U6"]}]),
        message("1704272802.000100", "<@U9> <@U6>", reactions=[{"name": "+1", "users": ["U9"]}]),
    ]
    source = write_zip(tmp_path / "export.zip", build_entries({EXTRA_DAY: day}, channels=channels))
    archive = tmp_path / "archive"
    result = cli_run("ingest", str(source), "-o", str(archive), "--json")
    assert result.exit_code == ExitStatus.OK, result.output
    assert json.loads(result.stdout)["sources"][0]["codes"] == {"slack.unknown_user": 4}
    assert diagnostics(archive) == [
        ("slack.unknown_user", "warning", "channels.json#1", None),  # U7, a member
        ("slack.unknown_user", "warning", f"{EXTRA_DAY}#0", None),  # U8, the author
        ("slack.unknown_user", "warning", f"{EXTRA_DAY}#0", None),  # U9, mentioned
        ("slack.unknown_user", "warning", f"{EXTRA_DAY}#1", None),  # U6, a reactor
    ]
    with Archive.open(archive) as opened:
        placeholders = opened.store.query(
            "SELECT native_id, origin FROM persons WHERE is_placeholder = 1 ORDER BY native_id"
        )
        defined = opened.store.query(
            "SELECT native_id FROM persons WHERE is_placeholder = 0 ORDER BY native_id"
        )
    assert placeholders == [
        ("U6", f"{EXTRA_DAY}#1"),
        ("U7", "channels.json#1"),
        ("U8", f"{EXTRA_DAY}#0"),
        ("U9", f"{EXTRA_DAY}#0"),  # known from the mention alone
    ]
    assert defined == [("U1",), ("U2",)]
    assert counts(archive) == {"persons": 6, "spaces": 3, "memberships": 4, "items": 7}
    assert_verified(archive, source)
    info = json.loads(cli_run("info", str(archive), "--json").stdout)
    assert info["diagnostics"] == {"error": 0, "warning": 4, "info": 0}
    assert info["by_code"] == {"slack.unknown_user": 4}

    strict = cli_run("ingest", str(source), "-o", str(tmp_path / "strict"), "--strict")
    assert strict.exit_code == ExitStatus.PROBLEMS_FOUND
    assert strict.stderr.strip().splitlines()[-1] == "strict: warnings or errors were reported"
    # --strict on the clean export: nothing to complain about.
    clean = write_zip(tmp_path / "clean.zip", build_entries())
    assert cli_run("ingest", str(clean), "-o", str(tmp_path / "clean"), "--strict").exit_code == ExitStatus.OK


# -- 8. zip entries whose path escapes -----------------------------------------------------------

UNSAFE_NAMES = ["../evil.json", "/abs/evil.json", "a/../../b.json", "..\\evil.json", "C:/evil.json"]


def test_unsafe_zip_paths_are_refused(tmp_path: Path) -> None:
    # Export and archive two folders down, so that any entry climbing out (at most two
    # levels) would land inside this test's own folder, which is scanned whole (the shared
    # temporary root holds every other test's files: scanning it took minutes in the suite).
    work = tmp_path / "one" / "two"
    work.mkdir(parents=True)
    payload = dumps([message("1704272800.000100", "evil")])
    source = write_zip(work / "export.zip", build_entries(extra=dict.fromkeys(UNSAFE_NAMES, payload)))
    assert [i.filename for i in zipfile.ZipFile(source).infolist()][-len(UNSAFE_NAMES) :] == UNSAFE_NAMES
    before = set(tmp_path.rglob("*"))
    archive = work / "archive"
    result = cli_run("ingest", str(source), "-o", str(archive))
    assert result.exit_code == ExitStatus.OK, result.output
    assert diagnostics(archive) == sorted(
        ("source.unsafe_path", "error", name, "entry") for name in UNSAFE_NAMES
    )
    with Archive.open(archive) as opened:
        texts = [m for (m,) in opened.store.query("SELECT message FROM diagnostics")]
    assert all(re.fullmatch(r"zip entry '.*' escapes the export; not read", t) for t in texts), texts
    assert counts(archive) == BASE
    # Nothing written anywhere but the archive: the only new paths are under it.
    new = sorted(set(tmp_path.rglob("*")) - before)
    assert new and all(p.is_relative_to(archive) for p in new), new
    assert not Path("/abs/evil.json").exists()
    assert not list(tmp_path.parent.glob("evil.json"))
    assert_verified(archive, source)
    assert cli_run("verify", str(archive), "--against", str(source)).exit_code == ExitStatus.OK


# -- 9. a zip bomb --------------------------------------------------------------------------------

BOMB_MB = 200


@pytest.fixture(scope="module")
def bomb_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An honest zip bomb: a day file of 200 MB of zeros, deflated to ~200 KB, in a valid export."""
    path = write_zip(tmp_path_factory.mktemp("bomb") / "export.zip", build_entries())
    zeros = bytes(1 << 20)
    info = zipfile.ZipInfo(EXTRA_DAY)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "a") as zf, zf.open(info, "w") as out:
        for _ in range(BOMB_MB):
            out.write(zeros)
    info = zipfile.ZipFile(path).getinfo(EXTRA_DAY)
    assert (
        info.file_size == BOMB_MB << 20
        and info.compress_type == zipfile.ZIP_DEFLATED
        and info.compress_size < BOMB_MB << 11
    )
    return path


def test_zip_bomb_is_not_read(tmp_path: Path, bomb_export: Path) -> None:
    archive = tmp_path / "archive"
    tracemalloc.start()
    try:
        ingest([bomb_export], archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20, f"ingest peaked at {peak >> 20} MiB"
    assert diagnostics(archive) == [("source.too_large", "error", EXTRA_DAY, "entry")]
    _, text, _ = diagnostic(archive, "source.too_large")
    assert text.startswith(f"zip entry '{EXTRA_DAY}' expands to {BOMB_MB << 20} bytes from ")
    assert counts(archive) == BASE
    assert not list((archive / "blobs").rglob("*.*"))  # not even kept as a blob

    tracemalloc.start()
    try:
        assert_verified(archive, bomb_export)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20, f"verify peaked at {peak >> 20} MiB"


def test_forged_entry_size_is_refused_and_verify_agrees(tmp_path: Path) -> None:
    """A central directory that declares 3 GB for a tiny entry: refused; verify must not count its messages."""
    data = bytearray(_valid_zip_bytes(tmp_path))
    at = _central_record(bytes(data), DAY2)
    data[at + 24 : at + 28] = struct.pack("<I", 3_000_000_000)
    source = tmp_path / "forged.zip"
    source.write_bytes(bytes(data))
    archive = run_ingest(tmp_path, source)
    assert diagnostics(archive) == [("source.too_large", "error", DAY2, "entry")]
    assert counts(archive) == {**BASE, "items": 3}
    assert_verified(archive, source)


# -- 10. symbolic links out of a folder export ------------------------------------------------


def test_symlinks_out_of_the_folder_are_not_followed(tmp_path: Path) -> None:
    source = write_folder(tmp_path / "export", build_entries())
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "2024-01-05.json").write_bytes(dumps([message("1704445600.000100", "secret")]))
    (outside / "users.json").write_bytes(dumps([{"id": "U666", "name": "intruder"}]))
    os.symlink(outside / "2024-01-05.json", source / "general" / "2024-01-05.json")
    os.symlink(outside, source / "secret")  # a folder of day files, outside
    os.symlink("../../outside/users.json", source / "random" / "2024-01-06.json")  # relative
    os.symlink(source / "nowhere.json", source / "general" / "2024-01-07.json")  # dangling
    os.symlink("loop-b", source / "loop-a")
    os.symlink("loop-a", source / "loop-b")
    archive = run_ingest(tmp_path, source)
    refused = [
        "general/2024-01-05.json",
        "general/2024-01-07.json",
        "loop-a",
        "loop-b",
        "random/2024-01-06.json",
        "secret",
    ]
    assert diagnostics(archive) == [("source.unsafe_path", "error", name, "entry") for name in refused]
    assert counts(archive) == BASE
    with Archive.open(archive) as opened:
        assert opened.store.scalar("SELECT count(*) FROM items WHERE body_source = 'secret'") == 0
        assert opened.store.scalar("SELECT count(*) FROM persons WHERE native_id = 'U666'") == 0
    assert_verified(archive, source)


def test_symlink_inside_the_folder_verifies(tmp_path: Path) -> None:
    source = write_folder(tmp_path / "export", build_entries())
    (source / "notes").mkdir()
    (source / "notes" / "readme.txt").write_text("read me")
    os.symlink("../notes/readme.txt", source / "general" / "readme-link.txt")
    archive = run_ingest(tmp_path, source)
    assert diagnostics(archive) == [
        ("source.unrecognised_entry", "info", "general/readme-link.txt", None),
        ("source.unrecognised_entry", "info", "notes/readme.txt", None),
    ]
    assert_verified(archive, source)


def test_fifo_in_a_folder_is_refused_without_blocking(tmp_path: Path) -> None:
    source = write_folder(tmp_path / "export", build_entries())
    os.mkfifo(source / "general" / "2024-01-09.json")
    archive = run_ingest(tmp_path, source)  # would block forever if the FIFO were opened
    assert diagnostics(archive) == [("source.unreadable_entry", "error", "general/2024-01-09.json", "entry")]
    assert counts(archive) == BASE


def test_fifo_in_a_folder_does_not_block_verify(tmp_path: Path) -> None:
    source = write_folder(tmp_path / "export", build_entries())
    fifo = source / "general" / "2024-01-09.json"
    os.mkfifo(fifo)
    archive = run_ingest(tmp_path, source)
    outcome: list[bool] = []

    def run() -> None:
        with Archive.open(archive) as opened:
            outcome.append(verify(opened, source).ok)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(1.0)
    blocked = thread.is_alive()
    if blocked:  # release it: a writer that closes at once gives the reader an empty FIFO
        os.close(os.open(fifo, os.O_WRONLY))
        thread.join(5.0)
    assert not blocked, "verify blocked on a FIFO"
    assert outcome == [True]


# -- 11. a day file that is not UTF-8 --------------------------------------------------------------


def test_cp1252_day_file(tmp_path: Path) -> None:
    day = [message("1704272800.000100", "café crème"), message("1704272801.000100", "déjà vu", user="U2")]
    data = json.dumps(day, ensure_ascii=False).encode("cp1252")
    assert b"caf\xe9" in data
    source = write_zip(tmp_path / "export.zip", build_entries({EXTRA_DAY: data}))
    archive = run_ingest(tmp_path, source)
    assert diagnostics(archive) == [("source.not_utf8", "warning", EXTRA_DAY, None)]
    _, text, _ = diagnostic(archive, "source.not_utf8")
    assert blob_path(archive, sha_in(text)).read_bytes() == data
    with Archive.open(archive) as opened:
        texts = opened.store.query(
            "SELECT body_source FROM items WHERE origin LIKE ? ORDER BY created_at", (f"{EXTRA_DAY}#%",)
        )
    assert texts == [("café crème",), ("déjà vu",)]
    assert counts(archive) == {**BASE, "items": 6}
    assert_verified(archive, source)


def test_day_file_with_one_bad_byte_keeps_the_utf8_text(tmp_path: Path) -> None:
    good = dumps([message("1704272800.000100", "café (UTF-8)")])[:-1]
    bad = json.dumps(message("1704272801.000100", "thé (cp1252)"), ensure_ascii=False).encode("cp1252")
    data = good + b", " + bad + b"]"
    source = write_zip(tmp_path / "export.zip", build_entries({EXTRA_DAY: data}))
    archive = run_ingest(tmp_path, source)
    with Archive.open(archive) as opened:
        texts = opened.store.query(
            "SELECT body_source FROM items WHERE origin LIKE ? ORDER BY created_at", (f"{EXTRA_DAY}#%",)
        )
    assert texts == [("café (UTF-8)",), ("thé (cp1252)",)]


# -- 12. UTF-8 entry names without the UTF-8 flag ----------------------------------------------


def test_utf8_names_without_the_flag(tmp_path: Path) -> None:
    channels = [*CHANNELS, {"id": "C3", "name": "café", "members": ["U1"]}]
    entries = build_entries(
        {"café/2024-01-03.json": [message("1704272800.000100", "dans le café")]}, channels=channels
    )
    source = write_zip(tmp_path / "export.zip", entries, utf8_flag=False)
    raw_names = [i.filename for i in zipfile.ZipFile(source).infolist()]
    cp437 = "café".encode().decode("cp437")  # what zipfile makes of the name: 'caf├⌐'
    assert f"{cp437}/2024-01-03.json" in raw_names
    assert not zipfile.ZipFile(source).getinfo(f"{cp437}/2024-01-03.json").flag_bits & 0x800
    archive = run_ingest(tmp_path, source)
    assert diagnostics(archive) == []
    with Archive.open(archive) as opened:
        space = opened.store.scalar(
            "SELECT space_id FROM items WHERE id = ?", (ids.item_id("slack", "C3", "1704272800.000100"),)
        )
        origin = opened.store.scalar("SELECT origin FROM items WHERE space_id = ?", (space,))
    assert space == ids.space_id("slack", "C3")
    assert origin == "café/2024-01-03.json#0"
    assert counts(archive) == {"persons": 2, "spaces": 4, "memberships": 4, "items": 5}
    assert_verified(archive, source)


# -- 13. duplicate ts ---------------------------------------------------------------------------


def test_duplicate_ts_in_a_day_file(tmp_path: Path) -> None:
    second = message("1704272800.000100", "the same ts, other text", user="U2")
    day = b"[" + dumps(message("1704272800.000100", "first")) + b", " + dumps(second) + b"]"
    source = write_zip(tmp_path / "export.zip", build_entries({EXTRA_DAY: day}))
    archive = run_ingest(tmp_path, source)
    assert diagnostics(archive) == [("slack.duplicate_ts", "warning", f"{EXTRA_DAY}#1", "message")]
    assert diagnostic(archive, "slack.duplicate_ts")[2] == dumps(second)
    assert scalar(archive, "SELECT body_source FROM items WHERE native_id = '1704272800.000100'") == "first"
    assert counts(archive) == {**BASE, "items": 5}
    assert_verified(archive, source)


def test_duplicate_ts_across_day_files(tmp_path: Path) -> None:
    again = message("1704100000.000100", "same ts as the first message of day one")
    source = write_zip(tmp_path / "export.zip", build_entries({EXTRA_DAY: [again]}))
    archive = run_ingest(tmp_path, source)
    assert diagnostics(archive) == [("slack.duplicate_ts", "warning", f"{EXTRA_DAY}#0", "message")]
    assert scalar(archive, "SELECT body_source FROM items WHERE native_id = '1704100000.000100'") == "hello"


def test_later_export_changing_a_body_without_an_edit_mark(tmp_path: Path) -> None:
    first = write_zip(tmp_path / "first.zip", build_entries())
    changed = write_zip(
        tmp_path / "second.zip", build_entries({DAY2: [message("1704186400.000100", "day two, changed")]})
    )
    again = write_zip(
        tmp_path / "third.zip", build_entries({DAY2: [message("1704186400.000100", "day two, again")]})
    )
    archive = run_ingest(tmp_path, first)
    ingest([changed], archive)
    ingest([again], archive)
    with Archive.open(archive) as opened:
        bodies = opened.store.query("SELECT body_source FROM revisions ORDER BY body_source")
    assert bodies == [("day two",), ("day two, again",), ("day two, changed",)]
    for source in (first, changed, again):
        assert_verified(archive, source)


# -- 14. an interrupted run, resumed ---------------------------------------------------------------


class Interrupted(Exception):
    pass


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, entry: str) -> None:
    original = SlackReader._read_day_file

    def read_day_file(self: SlackReader, tree: Any, name: str, *args: Any) -> None:
        if name == entry:
            raise Interrupted(name)
        original(self, tree, name, *args)

    monkeypatch.setattr(SlackReader, "_read_day_file", read_day_file)


def assert_consistent(archive: Path) -> None:
    conn = sqlite3.connect(archive / "archive.sqlite")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
    finally:
        conn.close()


def _commit_every_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the writer commit each unit as it completes (it may group commits for speed)."""
    if "commit_every" in inspect.signature(ArchiveWriter).parameters:
        monkeypatch.setattr(
            "passerelle.ingest.ArchiveWriter", functools.partial(ArchiveWriter, commit_every=1)
        )


def _resume_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entries: dict[str, bytes], *, per_unit: bool = True
) -> tuple[Path, Path]:
    source = write_zip(tmp_path / "export.zip", entries)
    archive = tmp_path / "archive"
    with monkeypatch.context() as patch:
        if per_unit:
            _commit_every_unit(patch)
        _interrupt_at(patch, RANDOM_DAY)
        with pytest.raises(Interrupted):
            ingest([source], archive)
    return source, archive


@pytest.mark.parametrize("per_unit", [True, False], ids=["commit-per-unit", "grouped-commits"])
def test_interrupted_run_resumes_to_the_same_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_unit: bool
) -> None:
    entries = build_entries(
        {EXTRA_DAY: b"{{{", "random/2024-01-02.json": [message("1704186401.000100", "r2", user="U5")]}
    )
    source, archive = _resume_case(tmp_path, monkeypatch, entries, per_unit=per_unit)
    assert_consistent(archive)
    with Archive.open(archive) as opened:
        assert opened.store.query("SELECT status FROM sources") == [("partial",)]
        units = {u for (u,) in opened.store.query("SELECT unit FROM source_units")}
        report = verify(opened, source)
    if per_unit:
        assert units == {"users", "conversations", "conversation:general"}
    else:  # whatever was committed is whole units, with their rows
        assert units <= {"users", "conversations", "conversation:general"}
    general_done = "conversation:general" in units
    assert counts(archive) == {
        "persons": 2 if "users" in units else 0,
        "spaces": 3 if "conversations" in units else 0,
        "memberships": 3 if "conversations" in units else 0,
        "items": 3 if general_done else 0,  # general's messages, committed with their unit
    }
    assert scalar(archive, "SELECT count(*) FROM diagnostics") == (1 if general_done else 0)
    assert not report.ok
    assert any("only partly ingested" in p for p in report.problems), report.problems

    resumed = ingest([source], archive)
    assert [r.status for r in resumed] == ["resumed"]
    assert_consistent(archive)
    fresh = run_ingest(tmp_path, source, "fresh")
    assert canonical_dump(archive) == canonical_dump(fresh)
    assert scalar(archive, "SELECT status FROM sources") == "complete"
    assert_verified(archive, source)
    assert [r.status for r in ingest([source], archive)] == ["already ingested"]


def test_resume_does_not_repeat_once_per_source_diagnostics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = {
        DAY1: [message("1704100000.000100", "x", x_new=1, subtype="brand_new")],
        RANDOM_DAY: [message("1704100002.000300", "y", x_new=2, subtype="brand_new")],
    }
    source, archive = _resume_case(tmp_path, monkeypatch, build_entries(days))
    ingest([source], archive)
    fresh = run_ingest(tmp_path, source, "fresh")
    assert canonical_dump(archive)["diagnostics"] == canonical_dump(fresh)["diagnostics"]


# -- 15. odd file names in a folder -----------------------------------------------------------------


def test_newline_in_a_file_name(tmp_path: Path) -> None:
    source = write_folder(tmp_path / "export", build_entries())
    try:
        (source / "notes\nx.txt").write_bytes(b"a note")
    except OSError:
        pytest.skip("the file system refuses a newline in a name")
    archive = run_ingest(tmp_path, source)
    assert diagnostics(archive) == [("source.unrecognised_entry", "info", "notes\nx.txt", None)]
    _, text, _ = diagnostic(archive, "source.unrecognised_entry")
    assert blob_path(archive, sha_in(text)).read_bytes() == b"a note"
    assert counts(archive) == BASE
    assert_verified(archive, source)


def _non_utf8_folder(tmp_path: Path) -> Path:
    source = write_folder(tmp_path / "export", build_entries())
    try:
        with open(os.fsencode(source) + b"/caf\xe9.txt", "wb") as handle:
            handle.write(b"a note")
    except OSError:
        pytest.skip("the file system refuses a name that is not UTF-8")
    return source


def test_non_utf8_file_name(tmp_path: Path) -> None:
    source = _non_utf8_folder(tmp_path)
    archive = run_ingest(tmp_path, source)
    codes = [(code, severity, where) for code, severity, where, _ in diagnostics(archive)]
    assert codes == [
        ("source.not_utf8", "warning", "café.txt"),
        ("source.unrecognised_entry", "info", "café.txt"),
    ]
    with Archive.open(archive) as opened:
        text = opened.store.scalar("SELECT message FROM diagnostics WHERE code = 'source.unrecognised_entry'")
    assert blob_path(archive, sha_in(text)).read_bytes() == b"a note"
    assert counts(archive) == BASE
    # The CLI too: no internal error on such a name.
    assert cli_run("ingest", str(source), "-o", str(tmp_path / "cli")).exit_code == ExitStatus.OK


def test_non_utf8_file_name_is_not_marked_dropped(tmp_path: Path) -> None:
    archive = run_ingest(tmp_path, _non_utf8_folder(tmp_path))
    assert ("source.not_utf8", "warning", "café.txt", None) in diagnostics(archive)


def test_non_utf8_file_name_verifies(tmp_path: Path) -> None:
    source = _non_utf8_folder(tmp_path)
    archive = run_ingest(tmp_path, source)
    assert_verified(archive, source)


# -- zip entries that collide -------------------------------------------------------------------


def test_duplicate_zip_entry_names_are_not_shadowed_silently(tmp_path: Path) -> None:
    source = write_zip(tmp_path / "export.zip", build_entries())
    later = dumps([message("1704100000.000100", "the later copy")])
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(source, "a") as zf:
        zf.writestr(zipfile.ZipInfo(RANDOM_DAY), later, compress_type=zipfile.ZIP_DEFLATED)
    # zipfile reads the later copy; the reader says the earlier one is shadowed.
    archive = run_ingest(tmp_path, source)
    assert diagnostics(archive) == [("source.unreadable_entry", "error", RANDOM_DAY, "entry")]
    _, text, _ = diagnostic(archive, "source.unreadable_entry")
    assert text.startswith(f"zip holds two entries named '{RANDOM_DAY}'; the earlier one (")
    assert counts(archive) == {**BASE, "items": 4}
