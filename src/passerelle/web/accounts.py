"""Logins: argon2id password hashes, one-time login links, failed-login counts (per account
and per client address), session epochs, the audit table. All in ``web.sqlite`` inside the
archive folder; ``archive.sqlite`` stays untouched."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    person_id TEXT PRIMARY KEY, password_hash TEXT, is_admin INTEGER NOT NULL DEFAULT 0,
    session_epoch INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE IF NOT EXISTS login_links (
    token_sha256 TEXT PRIMARY KEY, person_id TEXT NOT NULL, expires_at REAL NOT NULL, used_at REAL
) STRICT;
CREATE TABLE IF NOT EXISTS failed_logins (person_id TEXT NOT NULL, at REAL NOT NULL) STRICT;
CREATE INDEX IF NOT EXISTS failed_logins_person ON failed_logins (person_id, at);
CREATE TABLE IF NOT EXISTS failed_logins_by_address (address TEXT NOT NULL, at REAL NOT NULL) STRICT;
CREATE INDEX IF NOT EXISTS failed_logins_address ON failed_logins_by_address (address, at);
CREATE INDEX IF NOT EXISTS failed_logins_address_age ON failed_logins_by_address (at);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS audit (
    at REAL NOT NULL, admin_id TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_admin ON audit (admin_id);
"""

LINK_LIFETIME = 24 * 3600.0
MAX_FAILURES = 5  # failed logins per account per minute
MAX_ADDRESS_FAILURES = 20  # failed logins from one client address, whatever the accounts...
ADDRESS_WINDOW = 600.0  # ...in ten minutes
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; a form field of megabytes is refused
_HASHER = PasswordHasher()  # argon2id


@dataclass(frozen=True)
class Account:
    person_id: str
    has_password: bool
    is_admin: bool
    session_epoch: int = 0


def connect(archive_root: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(archive_root / "web.sqlite", isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.executescript(_SCHEMA)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(accounts)")}
    if "session_epoch" not in columns:  # a web.sqlite made before sessions had epochs
        with contextlib.suppress(sqlite3.OperationalError):  # another thread added it first
            conn.execute("ALTER TABLE accounts ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0")
    return conn


def password_problem(password: str) -> str | None:
    """Why a new password is refused (the web's password change and `users set-password`
    share this rule), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password has at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"a password has at most {MAX_PASSWORD_LENGTH} characters"
    if not password.strip():
        return "a password is not only spaces"
    return None


def session_secret(web: sqlite3.Connection) -> str:
    """The key signing session cookies, made once and kept, so a restart logs nobody out."""
    web.execute("INSERT OR IGNORE INTO settings VALUES ('secret', ?)", (secrets.token_hex(32),))
    return str(web.execute("SELECT value FROM settings WHERE key = 'secret'").fetchone()[0])


def find_person(archive: sqlite3.Connection, who: str) -> str | None:
    """A person's id from their id, login name, display name or email."""
    row = archive.execute(
        "SELECT id FROM persons WHERE id = ? OR name = ? OR email = ? OR display_name = ?"
        " ORDER BY id = ? DESC, is_placeholder LIMIT 1",
        (who, who, who, who, who),
    ).fetchone()
    return str(row[0]) if row else None


def find_persons(archive: sqlite3.Connection, who: str) -> list[str]:
    """Every person a login may mean: the same name can be two persons from two platforms."""
    return [
        str(r[0])
        for r in archive.execute(
            "SELECT id FROM persons WHERE id = ? OR name = ? OR email = ? OR display_name = ? ORDER BY id",
            (who, who, who, who),
        )
    ]


def log_in(web: sqlite3.Connection, candidates: list[str], password: str) -> str | None:
    """The candidate whose password this is; else None, a failure counted for each candidate
    with a password (an unknown login spends a verification all the same)."""
    with_password = [p for p in candidates if (a := get(web, p)) is not None and a.has_password]
    for person_id in with_password:
        row = web.execute("SELECT password_hash FROM accounts WHERE person_id = ?", (person_id,)).fetchone()
        with contextlib.suppress(VerificationError, InvalidHashError):
            if _HASHER.verify(row[0], password):
                return person_id
    if not with_password:
        spend_a_verification(password)
    now = time.time()
    web.execute("DELETE FROM failed_logins WHERE at < ?", (now - 3600,))
    web.executemany("INSERT INTO failed_logins VALUES (?, ?)", [(p, now) for p in with_password])
    return None


def count_address_failure(web: sqlite3.Connection, address: str, now: float | None = None) -> None:
    """A failed login from a client address (whatever the login, known or not)."""
    now = time.time() if now is None else now
    web.execute("DELETE FROM failed_logins_by_address WHERE at < ?", (now - 3600,))
    web.execute("INSERT INTO failed_logins_by_address VALUES (?, ?)", (address, now))


def address_rate_limited(web: sqlite3.Connection, address: str, now: float | None = None) -> bool:
    """Whether an address failed MAX_ADDRESS_FAILURES logins in the last ADDRESS_WINDOW seconds:
    then it is refused before any password is verified, until its oldest failures age out."""
    now = time.time() if now is None else now
    count = web.execute(
        "SELECT count(*) FROM failed_logins_by_address WHERE address = ? AND at > ?",
        (address, now - ADDRESS_WINDOW),
    ).fetchone()[0]
    return int(count) >= MAX_ADDRESS_FAILURES


def _ensure(web: sqlite3.Connection, person_id: str) -> None:
    web.execute("INSERT OR IGNORE INTO accounts (person_id) VALUES (?)", (person_id,))


def set_password(web: sqlite3.Connection, person_id: str, password: str) -> int:
    """Set the password and end every session of the person (their epoch moves on); the new
    epoch, for the one session that should live on (the web's password change)."""
    _ensure(web, person_id)
    row = web.execute(
        "UPDATE accounts SET password_hash = ?, session_epoch = session_epoch + 1 WHERE person_id = ?"
        " RETURNING session_epoch",
        (_HASHER.hash(password), person_id),
    ).fetchone()
    return int(row[0])


def end_sessions(web: sqlite3.Connection, person_id: str) -> None:
    """End every session of the person, their password unchanged (their epoch moves on)."""
    _ensure(web, person_id)
    web.execute("UPDATE accounts SET session_epoch = session_epoch + 1 WHERE person_id = ?", (person_id,))


def set_admin(web: sqlite3.Connection, person_id: str, on: bool) -> None:
    _ensure(web, person_id)
    web.execute("UPDATE accounts SET is_admin = ? WHERE person_id = ?", (int(on), person_id))


def get(web: sqlite3.Connection, person_id: str) -> Account | None:
    row = web.execute(
        "SELECT person_id, password_hash IS NOT NULL, is_admin, session_epoch FROM accounts"
        " WHERE person_id = ?",
        (person_id,),
    ).fetchone()
    return Account(row[0], bool(row[1]), bool(row[2]), int(row[3])) if row else None


def accounts(web: sqlite3.Connection) -> list[Account]:
    rows = web.execute(
        "SELECT person_id, password_hash IS NOT NULL, is_admin FROM accounts ORDER BY person_id"
    )
    return [Account(r[0], bool(r[1]), bool(r[2])) for r in rows]


def rate_limited(web: sqlite3.Connection, person_id: str, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    count = web.execute(
        "SELECT count(*) FROM failed_logins WHERE person_id = ? AND at > ?", (person_id, now - 60)
    ).fetchone()[0]
    return int(count) >= MAX_FAILURES


def check_password(web: sqlite3.Connection, person_id: str, password: str) -> bool:
    """True when the password is the account's; a failure is counted (rate limit)."""
    row = web.execute("SELECT password_hash FROM accounts WHERE person_id = ?", (person_id,)).fetchone()
    ok = False
    if row and row[0]:
        try:
            ok = _HASHER.verify(row[0], password)
        except (VerificationError, InvalidHashError):
            ok = False
    if not ok:
        now = time.time()
        web.execute("DELETE FROM failed_logins WHERE at < ?", (now - 3600,))  # only the last minute counts
        web.execute("INSERT INTO failed_logins VALUES (?, ?)", (person_id, now))
    return ok


_DUMMY = _HASHER.hash("an unknown login takes as long as a known one")


def spend_a_verification(password: str) -> None:
    """Verify against a dummy hash, so an unknown login is not told apart by its timing."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        _HASHER.verify(_DUMMY, password)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_link_token(web: sqlite3.Connection, person_id: str) -> str:
    """A one-time login token, valid 24 h; only its SHA-256 is stored."""
    _ensure(web, person_id)
    token = secrets.token_urlsafe(32)
    web.execute(
        "INSERT INTO login_links VALUES (?, ?, ?, NULL)",
        (_digest(token), person_id, time.time() + LINK_LIFETIME),
    )
    return token


def use_link_token(web: sqlite3.Connection, token: str) -> str | None:
    """The person the token logs in, once: it is spent here."""
    now = time.time()
    cur = web.execute(
        "UPDATE login_links SET used_at = ? WHERE token_sha256 = ? AND used_at IS NULL AND expires_at > ?"
        " RETURNING person_id",
        (now, _digest(token), now),
    )
    row = cur.fetchone()
    return str(row[0]) if row else None
