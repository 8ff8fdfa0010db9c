"""A throwaway real MediaWiki for tests: Debian's ``mediawiki`` package (1.39) on SQLite.

Debian installs MediaWiki's code in ``/usr/share/mediawiki`` and keeps the site's
``LocalSettings.php`` under ``/etc/mediawiki`` (through ``/var/lib/mediawiki``). Nothing of
that is touched here: ``maintenance/install.php`` runs with ``--confpath`` and ``--dbpath`` in
a temporary folder, and every maintenance script is given that ``LocalSettings.php`` with
``--conf``. The settings are completed so that uploads, temporary files and caches stay in
the folder too (``$wgUploadDirectory``, ``$wgTmpDirectory``, no cache directory) and nothing
is fetched from the network (``$wgEnableUploads = false``: an upload without its bytes is
refused instead of downloaded).

``installed_wiki(folder)`` installs a wiki once (about a second); ``Wiki.copy(folder)`` makes
a fresh wiki from it by copying its SQLite files, so each test imports into an empty wiki.
``scripts/install-test-deps.sh`` installs the packages (``make test`` runs it); without
``php`` or ``/usr/share/mediawiki`` the tests that need a wiki skip, saying so.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MEDIAWIKI = Path("/usr/share/mediawiki")
DBNAME = "passerelletest"
ADMIN = "Admin"
PASSWORD = "throwaway-passerelle-1"
_TIMEOUT = 600


def missing() -> str | None:
    """Why no wiki can run here, or None."""
    if shutil.which("php") is None:
        return (
            "php is not installed (scripts/install-test-deps.sh installs Debian's mediawiki and php-sqlite3)"
        )
    if not (MEDIAWIKI / "maintenance" / "install.php").is_file():
        return f"{MEDIAWIKI} is not there (scripts/install-test-deps.sh installs Debian's mediawiki package)"
    return None


_EXTRA_SETTINGS = """
# passerelle tests: everything in this folder, nothing from the network.
$wgUploadDirectory = "{root}/images";
$wgUploadPath = "/images";
$wgTmpDirectory = "{root}/tmp";
$wgCacheDirectory = false;
$wgEnableUploads = false;
$wgFileExtensions = array_merge( $wgFileExtensions, [ 'pdf', 'txt', 'bin', 'zip', 'svg' ] );
$wgStrictFileExtensions = false;
$wgCheckFileExtensions = false;
$wgVerifyMimeType = false;
$wgShowExceptionDetails = true;
"""


@dataclass(frozen=True)
class Wiki:
    root: Path

    @property
    def settings(self) -> Path:
        return self.root / "LocalSettings.php"

    @property
    def database(self) -> Path:
        return self.root / "db" / f"{DBNAME}.sqlite"

    def php(self, script: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a maintenance script on this wiki."""
        command = ["php", str(MEDIAWIKI / "maintenance" / script), "--conf", str(self.settings), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"{script} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    def import_dump(
        self, dump: Path, *, images: Path | None = None, options: Sequence[str] = ()
    ) -> subprocess.CompletedProcess[str]:
        """``importDump.php`` the dump (with its uploads, their bytes from ``images``)."""
        args = ["--uploads", *options]
        if images is not None:
            args.append(f"--image-base-path={images}")
        return self.php("importDump.php", *args, str(dump))

    def dump_full(self, path: Path, *, uploads: bool = True) -> Path:
        """``dumpBackup.php --full`` of the whole wiki into ``path``."""
        args = ["--full", "--quiet", f"--output=file:{path}"]
        if uploads:
            args.append("--uploads")
        self.php("dumpBackup.php", *args)
        return path

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
        try:
            return list(conn.execute(sql, params))
        finally:
            conn.close()

    def revisions(self) -> list[tuple[Any, ...]]:
        """Every revision the wiki holds: (namespace, title with spaces, revision id, timestamp
        ``YYYYMMDDHHMMSS``, actor name, comment, sha1 (base 36) of the main slot's text,
        the text), from MediaWiki 1.39's tables."""
        rows = self.query(
            "SELECT p.page_namespace, p.page_title, r.rev_id, r.rev_timestamp, a.actor_name,"
            " c.comment_text, r.rev_sha1, t.old_text FROM revision r"
            " JOIN page p ON p.page_id = r.rev_page JOIN actor a ON a.actor_id = r.rev_actor"
            # 1.39 still keeps a revision's comment id in revision_comment_temp (rev_comment_id is 0).
            " LEFT JOIN revision_comment_temp rc ON rc.revcomment_rev = r.rev_id"
            " JOIN comment c ON c.comment_id = coalesce(nullif(r.rev_comment_id, 0), rc.revcomment_comment_id)"
            " JOIN slots s ON s.slot_revision_id = r.rev_id"
            " JOIN slot_roles sr ON sr.role_id = s.slot_role_id AND sr.role_name = 'main'"
            " JOIN content ct ON ct.content_id = s.slot_content_id"
            # content_address is "tt:<old_id>" for text stored in the text table.
            " JOIN text t ON t.old_id = CAST(substr(ct.content_address, 4) AS INTEGER)"
            " ORDER BY r.rev_id"
        )
        return [
            (
                ns,
                _text(title).replace("_", " "),
                rev,
                _text(ts),
                _text(actor),
                _text(comment),
                _text(sha1),
                _text(text),
            )
            for ns, title, rev, ts, actor, comment, sha1, text in rows
        ]

    def create_user(self, name: str) -> None:
        """A local account (``createAndPromote.php``), as a wiki that already has its users."""
        self.php("createAndPromote.php", name, PASSWORD)

    def copy(self, folder: Path) -> Wiki:
        """A fresh wiki like this one (its database files copied), in ``folder``."""
        shutil.copytree(self.root / "db", folder / "db")
        (folder / "images").mkdir(parents=True)
        (folder / "tmp").mkdir()
        settings = self.settings.read_text(encoding="utf-8").replace(str(self.root), str(folder))
        (folder / "LocalSettings.php").write_text(settings, encoding="utf-8")
        return Wiki(folder)


def _text(value: Any) -> Any:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def installed_wiki(folder: Path) -> Wiki:
    """Install an empty wiki in ``folder`` (SQLite database under ``folder/db``)."""
    probe = subprocess.run(
        ["php", "-r", "exit(extension_loaded('pdo_sqlite') ? 0 : 1);"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        raise RuntimeError(
            "PHP has no SQLite driver: apt-get install php-sqlite3 (scripts/install-test-deps.sh)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    (folder / "tmp").mkdir(exist_ok=True)
    command = [
        "php",
        str(MEDIAWIKI / "maintenance" / "install.php"),
        "--dbtype=sqlite",
        f"--dbpath={folder / 'db'}",
        f"--dbname={DBNAME}",
        "--server=http://localhost",
        "--scriptpath=",
        f"--confpath={folder}",
        f"--pass={PASSWORD}",
        "--lang=en",
        "Passerelle Test Wiki",
        ADMIN,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    settings = folder / "LocalSettings.php"
    if done.returncode != 0 or not settings.is_file():
        raise RuntimeError(f"install.php failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    with settings.open("a", encoding="utf-8") as out:
        out.write(_EXTRA_SETTINGS.format(root=folder))
    return Wiki(folder)
