"""Writes DokuWiki data folders as DokuWiki itself leaves them (``inc/common.php``
``saveWikiText``, ``inc/ChangeLog``, ``inc/media.php``), for the reader's tests.

A save at time ``ts`` writes the page file ``pages/<ns>/<page>.txt`` with mtime ``ts``, the
same text into the attic ``attic/<ns>/<page>.<ts>.txt.gz`` (DokuWiki keeps the attic in step,
the current revision included), and appends ``ts ip type id user sum extra sizechange`` to
``meta/<ns>/<page>.changes``, sizechange being the new size minus the old one. A deletion
removes the page file and logs a ``D`` line. ``.meta`` files are PHP ``serialize()``d arrays
with ``current`` and ``persistent`` parts (the shape of the xwiki-contrib/dokuwiki fixture
``data/meta/test.meta``). Media: ``media/<ns>/<file>`` (mtime the upload's), the replaced
version in ``media_attic/<ns>/<name>.<rev>.<ext>``, lines in
``media_meta/<ns>/<file>.changes``. What DokuWiki regenerates (cache, index, locks,
``.indexed``, the recent-changes log, the ``_dummy`` files it ships) is written too.

Every departure from what DokuWiki writes is asked for explicitly (``Rev`` flags), so a test
states what it breaks. ``zip_folder`` zips a folder with Info-ZIP extended timestamps
(``UT``), as ``zip -r`` does, so mtimes survive.
"""

from __future__ import annotations

import bz2
import gzip
import os
import struct
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

T0 = 1_699_526_283  # the xwiki-contrib fixture's first revision (2023-11-09)


def php_serialize(value: Any) -> bytes:
    """PHP's serialize() of arrays (dicts and lists), strings, ints, floats, bools and null."""
    if value is None:
        return b"N;"
    if isinstance(value, bool):
        return b"b:1;" if value else b"b:0;"
    if isinstance(value, int):
        return b"i:%d;" % value
    if isinstance(value, float):
        return b"d:" + repr(value).encode() + b";"
    if isinstance(value, bytes):
        return b's:%d:"' % len(value) + value + b'";'
    if isinstance(value, str):
        return php_serialize(value.encode())
    items = list(enumerate(value)) if isinstance(value, list) else list(value.items())
    return b"a:%d:{" % len(items) + b"".join(php_serialize(k) + php_serialize(v) for k, v in items) + b"}"


def encode_name(part: str, fnencode: str = "url") -> str:
    """A path component as DokuWiki names it: fnencode 'url' (PHP's urlencode), 'safe'
    (SafeFN: '%' + base 36 of the code point minus 32, a run closed by ']') or 'utf-8'."""
    if fnencode == "utf-8":
        return part
    if fnencode == "safe":
        out, converted = [], False
        for char in part:
            if ord(char) < 127 and char in "-./[_0123456789abcdefghijklmnopqrstuvwxyz]":
                out.append(("]" if converted else "") + char)
                converted = False
            elif char == "%":
                out.append("%")
                converted = True
            else:
                out.append("%" + _base36(ord(char) - 32))
                converted = True
        return "".join(out) + ("]" if converted else "")
    return quote(part, safe="").replace("%20", "+")


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
        if not number:
            return digits


def path_of(page_id: str, fnencode: str = "url") -> str:
    return "/".join(encode_name(p, fnencode) for p in page_id.split(":"))


@dataclass
class Rev:
    ts: int
    user: str = "alice"
    text: str | bytes | None = ""  # None: a deletion (type D)
    type: str = "E"  # C E e D R
    summary: str = ""
    ip: str = "192.0.2.10"
    extra: str = ""
    attic: bool = True  # write the attic file
    log: bool = True  # write the changelog line
    sizechange: int | None = None  # override the computed one (a wrong value on purpose)
    compression: str = "gz"  # gz, bz2 or "" (plain .txt)


@dataclass
class Page:
    id: str
    revs: list[Rev]
    title: str | None = None
    mtime: int | None = None  # override the page file's mtime (an external edit)
    current_text: str | bytes | None = None  # override the page file's text (an external edit)
    meta: bool = True


@dataclass
class Media:
    id: str
    versions: list[tuple[int, str, bytes | None]]  # (ts, user, bytes; None: deleted)
    keep_old: bool = True  # write replaced versions to media_attic


@dataclass
class Wiki:
    pages: list[Page] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)
    users: list[str] = field(default_factory=list)  # users.auth.php lines
    acl: list[str] = field(default_factory=list)  # acl.auth.php lines
    install_root: bool = True  # conf/, data/, inc/, lib/… or the data folder alone
    regenerated: bool = True  # cache, index, locks, .indexed, _dokuwiki.changes, _dummy
    fnencode: str = "url"  # $conf['fnencode'], written to conf/dokuwiki.php
    useacl: bool = True  # $conf['useacl'] in conf/local.php (as the installer writes it when ACL is chosen)


def _as_bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode()


def _write(path: Path, data: bytes, mtime: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def _compress(data: bytes, kind: str) -> bytes:
    if kind == "gz":
        return gzip.compress(data, mtime=0)
    if kind == "bz2":
        return bz2.compress(data)
    return data


def write_page(data: Path, page: Page, recent: list[str], fnencode: str = "url") -> None:
    rel = path_of(page.id, fnencode)
    changes: list[str] = []
    size = 0
    last_text: bytes | None = None
    contributors: dict[str, str] = {}
    for rev in page.revs:
        kind = "D" if rev.text is None else rev.type
        new = b"" if rev.text is None else _as_bytes(rev.text)
        change = rev.sizechange if rev.sizechange is not None else len(new) - size
        size = len(new)
        if rev.text is not None:
            last_text = new
            if rev.attic:
                suffix = ".txt" + ("." + rev.compression if rev.compression else "")
                _write(data / "attic" / f"{rel}.{rev.ts}{suffix}", _compress(new, rev.compression), rev.ts)
        if rev.log:
            line = "\t".join(
                [str(rev.ts), rev.ip, kind, page.id, rev.user, rev.summary, rev.extra, str(change)]
            )
            changes.append(line + "\n")
            recent.append(line + "\n")
        if rev.user:
            contributors[rev.user] = rev.user.capitalize() + " Example"
    deleted = page.revs[-1].text is None
    if not deleted and last_text is not None:
        text = _as_bytes(page.current_text) if page.current_text is not None else last_text
        _write(data / "pages" / f"{rel}.txt", text, page.mtime or page.revs[-1].ts)
    if changes:
        _write(data / "meta" / f"{rel}.changes", "".join(changes).encode(), page.revs[-1].ts)
    if page.meta and not deleted:
        first, last = page.revs[0], page.revs[-1]
        persistent: dict[str, Any] = {
            "date": {"created": first.ts, "modified": last.ts},
            "creator": first.user.capitalize() + " Example" if first.user else "",
            "user": first.user,
            "contributor": contributors,
        }
        current = dict(persistent)
        if page.title is not None:
            current["title"] = page.title
        current["description"] = {"abstract": (page.title or page.id) + "\n\n…"}
        current["internal"] = {"cache": True, "toc": True}
        current["relation"] = {"firstimage": ""}
        _write(data / "meta" / f"{rel}.meta", php_serialize({"current": current, "persistent": persistent}))
        _write(data / "meta" / f"{rel}.indexed", b"8", last.ts)


def write_media(data: Path, media: Media, recent: list[str], fnencode: str = "url") -> None:
    rel = path_of(media.id, fnencode)
    folder, _, base = rel.rpartition("/")
    stem, _, ext = base.rpartition(".")
    changes: list[str] = []
    size = 0
    for n, (ts, user, content) in enumerate(media.versions):
        kind = "D" if content is None else ("C" if n == 0 else "E")
        new_size = 0 if content is None else len(content)
        line = "\t".join([str(ts), "192.0.2.20", kind, media.id, user, "", "", str(new_size - size)]) + "\n"
        changes.append(line)
        recent.append(line)
        size = new_size
        if media.keep_old and n > 0:
            previous_ts, _, previous = media.versions[n - 1]
            if previous is not None:
                name = f"{stem}.{previous_ts}.{ext}" if ext else f"{base}.{previous_ts}"
                _write(data / "media_attic" / folder / name, previous, previous_ts)
    ts, _, content = media.versions[-1]
    if content is not None:
        _write(data / "media" / rel, content, ts)
    _write(data / "media_meta" / f"{rel}.changes", "".join(changes).encode(), ts)


def write_wiki(dest: Path, wiki: Wiki) -> Path:
    """Write the wiki under dest (an install root with data/ and conf/, or the data folder)."""
    data = dest / "data" if wiki.install_root else dest
    recent: list[str] = []
    media_recent: list[str] = []
    for page in wiki.pages:
        write_page(data, page, recent, wiki.fnencode)
    for media in wiki.media:
        write_media(data, media, media_recent, wiki.fnencode)
    if wiki.regenerated:
        for folder in ("attic", "cache", "index", "locks", "media_attic", "media_meta", "meta", "tmp"):
            _write(data / folder / "_dummy", b"You can safely delete this file.")
        # what the distribution ships at data/'s root
        _write(data / ".htaccess", b"<IfModule mod_authz_core.c>\n    Require all denied\n</IfModule>\n")
        _write(data / "_dummy", b"You can safely delete this file.")
        _write(
            data / "deleted.files",
            b"# This is a list of files that were present in previous DokuWiki releases\n",
        )
        _write(data / "security.png", b"\x89PNG\r\n\x1a\n security check image")
        _write(data / "cache" / "a" / "a1b2c3.xhtml", b"<p>rendered</p>")
        _write(data / "cache" / "purgefile", b"1699526300")
        _write(data / "index" / "page.idx", "".join(p.id + "\n" for p in wiki.pages).encode())
        _write(data / "log" / "error" / "2023-11-09.log", b"2023-11-09 10:00:00\tsomething\n")
        _write(data / "meta" / "_htcookiesalt2", b"secret-salt-value")
        _write(data / "meta" / "_dokuwiki.changes", "".join(sorted(recent)).encode())
        if media_recent:
            _write(data / "meta" / "_media.changes", "".join(sorted(media_recent)).encode())
    if wiki.install_root:
        conf = dest / "conf"
        if wiki.users:
            header = (
                "# users.auth.php\n# <?php exit()?>\n# Don't modify the lines above\n#\n# Userfile\n#\n"
                "# Format:\n#\n# login:passwordhash:Real Name:email:groups,comma,separated\n\n\n"
            )
            _write(conf / "users.auth.php", (header + "".join(u + "\n" for u in wiki.users)).encode())
        if wiki.acl:
            header = "# acl.auth.php\n# <?php exit()?>\n# Don't modify the lines above\n#\n# Access Control Lists\n#\n"
            _write(conf / "acl.auth.php", (header + "".join(a + "\n" for a in wiki.acl)).encode())
        local = (
            f"<?php\n$conf['title'] = 'Example Wiki';\n$conf['useacl'] = {int(wiki.useacl)};\n"
            "$conf['superuser'] = '@admin';\n"
        )
        _write(conf / "local.php", local.encode())
        # conf/dokuwiki.php's defaults (useacl 0), which local.php overrides, as the installer leaves them
        setting = f"<?php\n$conf['savedir'] = './data';\n$conf['useacl'] = 0;\n$conf['fnencode'] = '{wiki.fnencode}';\n"
        _write(conf / "dokuwiki.php", setting.encode())
        _write(dest / "doku.php", b"<?php\n// DokuWiki\n")
        _write(dest / "inc" / "common.php", b"<?php\n// saveWikiText\n")
        _write(dest / "lib" / "exe" / "fetch.php", b"<?php\n")
    return dest


def zip_folder(folder: Path, zip_path: Path, *, exact_times: bool = True) -> Path:
    """Zip a folder as ``zip -r`` does: each entry with its mtime as an extended timestamp
    (``UT``), or with the DOS time alone when ``exact_times`` is False."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            mtime = int(path.stat().st_mtime)
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=time.gmtime(mtime)[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            if exact_times:
                info.extra = struct.pack("<HHBl", 0x5455, 5, 1, mtime)
            zf.writestr(info, path.read_bytes())
    return zip_path


# -- the feature wiki -------------------------------------------------------------------------------
USERS = [
    "alice:$2y$10$abcdefghijklmnopqrstuuHASHalice000000000000000000000:Alice Example:alice@example.org:admin,user,staff",
    "bob:$1$Y2pLoiup$HkLDyTvQwlmwJr2L5qb/X1:Bob Example:bob@example.org:user",
    "carol:$2y$10$zyxwvutsrqponmlkjihgfeHASHcarol000000000000000000000:Carol Example:carol@example.org:user",
]
PASSWORD_HASHES = [line.split(":")[1] for line in USERS]
ACL = [
    "*               @ALL          1",
    "*               @user         8",
    "private:*       @ALL          0",
    "private:*       @staff        1",
    "private:*       carol         2",
    "projects:external  @ALL       0",
]
LOGO_1 = b"\x89PNG\r\n\x1a\n" + b"logo version one" * 4
LOGO_2 = b"\x89PNG\r\n\x1a\n" + b"logo version two, larger" * 4
REPORT = b"%PDF-1.4\n% a report\n"
GONE = b"GIF89a gone"


def feature_wiki() -> Wiki:
    """A wiki with every case the reader handles, each once (the counts tests assert)."""
    t = T0
    start_1 = "====== Welcome ======\n\nSee [[wiki:syntax]].\n"
    start_2 = start_1 + "\n{{wiki:logo.png?200|The logo}}\n"
    start_3 = start_2 + "Typo fixed.\n"
    pages = [
        Page(
            "start",
            [
                Rev(t, "alice", start_1, "C", "created"),
                Rev(t + 100, "bob", start_2, "E", "logo"),
                Rev(t + 200, "bob", start_3, "e", "typo"),
            ],
            title="Welcome",
        ),
        Page(
            "wiki:syntax",
            [
                Rev(t + 10, "alice", "====== Syntax ======\n**bold**\n", "C", "created", compression="bz2"),
                Rev(t + 20, "carol", "====== Syntax ======\n**bold** //italic//\n", "E", "", compression=""),
            ],
            title="Syntax",
        ),
        Page("wiki:café", [Rev(t + 30, "carol", "Un café, s'il vous plaît.\n", "C", "created")]),
        Page(
            "projects:external",
            [Rev(t + 40, "alice", "Before the external edit.\n", "C", "created")],
            mtime=t + 5000,
            current_text="Edited on the server with vi.\n",
        ),
        Page(
            "projects:old",
            [
                Rev(t + 50, "alice", "An old page.\n", "C", "created"),
                Rev(t + 60, "", "An old page, edited anonymously.\n", "E", "anon", ip="198.51.100.7"),
                Rev(t + 70, "bob", None, "D", "deleted"),
            ],
        ),
        Page(
            "projects:gap",
            [
                Rev(t + 80, "alice", "One.\n", "C", "created"),
                Rev(t + 90, "bob", "One. Two.\n", "E", "lost", attic=False),
                Rev(t + 95, "alice", "One. Two. Three.\n", "E", ""),
            ],
        ),
        Page(
            "projects:orphan_attic",
            [
                Rev(t + 1, "", "Saved before the changelog existed.\n", "C", log=False),
                Rev(t + 110, "carol", "Saved again.\n", "E", "second"),
            ],
        ),
        Page(
            "projects:sizes",
            [
                Rev(t + 120, "alice", "Twelve bytes", "C", "created"),
                Rev(t + 130, "alice", "Twelve bytes and more", "E", "", sizechange=3),
            ],
        ),
        Page("private:secret", [Rev(t + 140, "carol", "The plan.\n", "C", "created")], title="Secret"),
        Page(
            "latin1",
            [Rev(t + 150, "bob", "Caf\xe9 cr\xe8me\n".encode("latin-1"), "C", "created")],
        ),
    ]
    media = [
        Media("wiki:logo.png", [(t + 95, "alice", LOGO_1), (t + 99, "bob", LOGO_2)]),
        Media("report.pdf", [(t + 160, "carol", REPORT)]),
        Media("wiki:gone.gif", [(t + 170, "alice", GONE), (t + 180, "alice", None)]),
    ]
    return Wiki(pages=pages, media=media, users=USERS, acl=ACL)


def write_generated(dest: Path, layout: str = "folder") -> Path:
    """The feature wiki as an install root folder, or zipped (``zip``) with exact mtimes."""
    if layout == "zip":
        folder = write_wiki(dest.with_suffix(""), feature_wiki())
        return zip_folder(folder, dest)
    return write_wiki(dest, feature_wiki())
