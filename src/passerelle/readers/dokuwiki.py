"""The DokuWiki reader: a wiki's ``data/`` folder (or the install root holding ``data/`` and
``conf/``), as a folder or a zip, with every page's whole history.

Layout (reference: ../shared/reference/formats-wiki.md §4, and DokuWiki's ``inc/``):

- ``pages/<ns>/<page>.txt``: the current text of page ``ns:page``; its revision id is the
  file's mtime. File names are encoded as ``$conf['fnencode']`` says: ``url`` (``%xx``, the
  default), ``safe`` (``%`` + base 36, closed by ``]``) or ``utf-8``; each name is decoded by
  what it holds (a ``]`` only occurs in ``safe`` names, a ``%`` in both).
- ``attic/<ns>/<page>.<unix time>.txt(.gz|.bz2)``: the old revisions (and, since 2012, the
  current one too).
- ``meta/<ns>/<page>.changes``: the page's changelog, one tab-separated line per change:
  ``date ip type id user sum extra sizechange`` (types C create, E edit, e minor edit,
  D delete, R revert); ``meta/<ns>/<page>.meta``: PHP ``serialize()``d metadata (title,
  creator, contributors, dates), decoded by ``php_serialize`` (data only, never objects).
- ``media/<ns>/<file>``, ``media_attic/<ns>/<name>.<rev>.<ext>`` and
  ``media_meta/<ns>/<file>.changes``: media files, their old versions and their changelogs.
- ``conf/users.auth.php`` (``login:hash:Real Name:email:groups``) and
  ``conf/acl.auth.php`` (``scope subject level``).

The mapping (docs/model.md, "DokuWiki data folders"): one ``workspace`` space ``dokuwiki``
for the wiki, one ``wiki_space`` per namespace folder (native id ``ns:<namespace>``; the
root namespace ``ns:`` is named ``(root)``), nested by ``parent_id``, ``private`` when the
ACL gives ``@ALL`` no read right on it (its readers are then its members). Each page is a
``page`` item (native id and title: the page id) whose revisions are every changelog
entry, every attic file and the current page file, in timestamp order, merged by
timestamp (revision native id: the timestamp as written). As DokuWiki does, a page file
whose mtime is not the last changelog entry is an external edit: a revision without author
(at the mtime, or one second after the last entry when the mtime is older). A page whose
last entry is ``D`` (and without page file) is a deleted item with its history.
Contributors are persons by login (``conf/users.auth.php``, else the ``.meta`` file's
contributor names, else placeholders); edits without login are guests ``ip:<address>``.
Media are files attached to no item (native id: the media id; an old version
``<id>@<rev>``); pages name them with ``file`` references in their bodies.

Password hashes of ``users.auth.php`` are never read into the archive. What DokuWiki
regenerates (``cache``, ``index``, ``locks``, ``tmp``, ``log``, ``.indexed``, ``.mlist``)
and the application's own folders of an install root are not read, each said once.

Memory holds the sorted list of page and media paths (the names SourceTree already lists),
the users and the ACL, and one page's changelog (a few small fields an entry), never more
than one revision's text. Units of work: ``config``, ``spaces``, ``pages:<n>`` (100 pages
from the n-th), ``media:<n>``, ``persons``, ``leftovers``.
"""

from __future__ import annotations

import base64
import bz2
import hashlib
import json
import mimetypes
import re
import tarfile
import zlib
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import unquote_plus

from passerelle.archive.writer import ArchiveWriter
from passerelle.errors import BadInputError
from passerelle.markup import normalise, references
from passerelle.model import ids
from passerelle.model.entities import (
    Body,
    File,
    Item,
    ItemKind,
    Membership,
    Person,
    Revision,
    Space,
    SpaceKind,
    Visibility,
)
from passerelle.progress import Display
from passerelle.readers.base import FormatInfo
from passerelle.readers.php_serialize import PhpUnserializeError, as_json, unserialize_lossy
from passerelle.readers.source_tree import EntryError, SourceTree

PLATFORM = "dokuwiki"
WIKI = "dokuwiki"  # the workspace's native id, and the conversation every page id is keyed under
FORMAT = "dokuwiki"
ROOT_NAME = "(root)"
BLOCK = 100  # pages (or media) a unit of work holds
DATA_FOLDERS = ("pages", "attic", "meta", "media", "media_attic", "media_meta")
REGENERATED = {
    "cache": "rendered pages and resized images",
    "index": "the search index",
    "locks": "edit locks",
    "tmp": "temporary files",
    "log": "DokuWiki's own error and debug logs",
}
# What DokuWiki's own distribution puts in data/ (dokuwiki/dokuwiki: data/.htaccess, _dummy,
# deleted.files, security.png, dont-panic-if-you-see-this-in-your-logs-….xcf)
_STOCK_DATA_FILES = frozenset({".htaccess", "_dummy", "deleted.files", "security.png", "security.xcf"})
_ATTIC = re.compile(r"(\d+)\.txt(?:\.(gz|bz2))?")
_MEDIA_ATTIC = re.compile(r"(?P<stem>.*)\.(?P<rev>\d{9,11})(?P<ext>\.[^./]*)?")
_USER_FIELD = re.compile(r"(?<!\\):")
_FNENCODE = re.compile(r"""\$conf\[['"]fnencode['"]\]\s*=\s*['"]([a-z0-9-]+)['"]""")
_USEACL = re.compile(r"""\$conf\[['"]useacl['"]\]\s*=\s*['"]?([0-9]+)""")
_TITLE = re.compile(r"""\$conf\[['"]title['"]\]\s*=\s*['"]((?:[^'"\\]|\\.)*)['"]""")
_TAR_SUFFIXES = (".tgz", ".tar.gz", ".tar", ".tar.bz2", ".tbz2")
_TAR_MESSAGE = (
    "{path} is a tar archive: unpack it with `tar -xpf` (which keeps the files' modification"
    " times, DokuWiki's revision ids) and ingest the folder"
)
_TEXT_LIMIT = 256 << 20  # a page revision's text, decompressed


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=False, separators=(",", ":")).encode()


def _us(seconds: int) -> int:
    return seconds * 1_000_000


# -- names ---------------------------------------------------------------------------------------
def safe_decode(name: str) -> str:
    """DokuWiki's SafeFN decoding: ``%`` + base-36 code point (minus 32), closed by ``]``."""
    out: list[str] = []
    converted = False
    for part in re.split(r"(?=[\]%])", name.lower()):
        if not part:
            continue
        if part[0] != "%":
            out.append(part[1:] if converted and part[0] == "]" else part)
            converted = False
        elif len(part) == 1:
            out.append("%")
            converted = True
        else:
            try:
                out.append(chr(32 + int(part[1:], 36)))
            except (ValueError, OverflowError):
                out.append(part)
            converted = True
    return "".join(out)


def decode_name(name: str, fnencode: str = "url") -> str:
    """One path component as DokuWiki wrote it, decoded (``fnencode`` the wiki's setting)."""
    if fnencode == "safe" or "]" in name:
        return safe_decode(name)
    if fnencode == "utf-8":
        return name
    return unquote_plus(name) if ("%" in name or "+" in name) else name


def _prefixed(names: Sequence[str], prefix: str) -> Iterator[str]:
    at = bisect_left(names, prefix)
    while at < len(names) and names[at].startswith(prefix):
        yield names[at]
        at += 1


def _has_prefix(names: Sequence[str], prefix: str) -> bool:
    return next(_prefixed(names, prefix), None) is not None


@dataclass(frozen=True)
class Layout:
    data: str  # the prefix of the data folder's entries: "", "data/", "wiki/data/"
    root: str | None  # the install root's prefix (where conf/ is), when the source is one


def find_layout(tree: SourceTree) -> Layout | None:
    names = tree.names()
    tops = sorted({n.split("/", 1)[0] + "/" for n in names if "/" in n})
    candidates = ["", "data/", *tops, *(t + "data/" for t in tops)]
    for prefix in candidates:
        if any(n.endswith(".txt") for n in _prefixed(names, prefix + "pages/")):
            root = prefix[: -len("data/")] if prefix.endswith("data/") else None
            if root is None and _has_prefix(names, prefix + "conf/"):
                root = prefix
            return Layout(prefix, root)
    return None


def _is_tar(tree: SourceTree) -> bool:
    if tree.is_zip or tree.path.is_dir():
        return False
    name = tree.path.name.lower()
    if not name.endswith(_TAR_SUFFIXES):
        return False
    try:
        return tarfile.is_tarfile(tree.path)
    except OSError:
        return False


# -- decompression, bounded -----------------------------------------------------------------------
class _TooLarge(Exception):
    pass


def _decompress(data: bytes, kind: str | None, limit: int) -> bytes:
    """The attic file's text; ``_TooLarge`` past ``limit`` bytes, or the codec's error."""
    if kind is None:
        return data
    if kind == "gz":
        inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header
        out = inflater.decompress(data, limit + 1)
        if len(out) > limit or inflater.unconsumed_tail:
            raise _TooLarge
        out += inflater.flush()
        if not inflater.eof:
            raise zlib.error("the gzip stream is truncated")
        return out
    unpacker = bz2.BZ2Decompressor()
    out = unpacker.decompress(data, limit + 1)
    if len(out) > limit or (not unpacker.needs_input and not unpacker.eof):
        raise _TooLarge
    if not unpacker.eof:
        raise OSError("the bzip2 stream is truncated")
    return out


# -- a changelog -----------------------------------------------------------------------------------
@dataclass(slots=True)
class Change:
    date: int
    date_text: str
    ip: str
    type: str
    id: str
    user: str
    sum: str
    extra: str
    sizechange: str
    line: str  # the line's exact text, without its line break
    where: str


def parse_changelog(text: str, entry: str) -> tuple[list[Change], list[tuple[str, str, str]]]:
    """The valid entries in file order, and (where, line, why) for each line that is not one."""
    changes: list[Change] = []
    bad: list[tuple[str, str, str]] = []
    lines = text.split("\n")
    cut = bool(lines) and lines[-1] != ""  # the file does not end with a line break
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        where = f"{entry}#{number}"
        fields = line.rstrip("\r").split("\t")
        if len(fields) < 4 or not fields[0].isdigit() or not fields[3]:
            bad.append((where, line, "not a changelog line (date ip type id user sum extra sizechange)"))
            continue
        if cut and number == len(lines) and len(fields) < 7:
            bad.append((where, line, "the file ends inside this line (truncated): not read as an entry"))
            continue
        fields += [""] * (8 - len(fields))
        changes.append(
            Change(
                int(fields[0]),
                fields[0],
                fields[1],
                fields[2],
                fields[3],
                fields[4],
                fields[5],
                fields[6],
                fields[7],
                line=line,
                where=where,
            )
        )
    return changes, bad


# -- the reader's state ---------------------------------------------------------------------------
@dataclass
class _User:
    login: str
    real_name: str | None
    email: str | None
    groups: list[str]
    origin: str
    raw: bytes


@dataclass
class _Context:
    tree: SourceTree
    layout: Layout
    fnencode: str = "url"
    title: str | None = None
    useacl: bool | None = None  # $conf['useacl'] where a configuration file sets it
    users: dict[str, _User] = field(default_factory=dict)
    acl: dict[str, list[tuple[str, int, str]]] = field(default_factory=dict)  # scope -> rules
    seen_persons: set[str] = field(default_factory=set)

    @property
    def d(self) -> str:
        return self.layout.data

    def page_id(self, rel: str) -> str:
        return ":".join(decode_name(part, self.fnencode) for part in rel.split("/"))

    def ns_native(self, rel_folder: str) -> str:
        return "ns:" + (self.page_id(rel_folder) if rel_folder else "")

    def space_of(self, rel: str) -> str:
        folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
        return ids.space_id(PLATFORM, self.ns_native(folder))


def make_body(text: str) -> Body:
    """A page text as the model's Body: the markup exactly, its CommonMark form and its page,
    file (``{{ns:file.png}}``) and link references (passerelle.markup)."""
    return Body(
        format=FORMAT, source=text, normalised=normalise(FORMAT, text), references=references(FORMAT, text)
    )


class DokuWikiReader:
    info: ClassVar[FormatInfo] = FormatInfo(
        name="dokuwiki",
        platform=PLATFORM,
        description="DokuWiki data folder (data/ or the install root with data/ and conf/; a folder"
        " or a zip): pages, attic, meta, media, media_attic, media_meta",
        keeps=(
            "every page with its whole history in timestamp order: changelog entries, attic files"
            " (gz, bz2 or plain) and the current page file, external edits as DokuWiki shows them",
            "deleted pages (last changelog entry D) with their history",
            "edit summaries, minor edits, reverts, sizes (checked), IP addresses (raw)",
            "namespaces as nested wiki spaces, private where the ACL denies @ALL read, readers as members",
            "users (conf/users.auth.php: login, real name, email, groups) and contributors named by"
            " .meta files; anonymous edits as guests by IP address",
            "page metadata (.meta, PHP-serialized: title, creator, contributors, description) in raw",
            "media files and their old versions (media_attic) with their bytes, authors and times",
        ),
        cannot_carry=(
            "password hashes (never read into the archive)",
            "page-level ACL rules (kept in diagnostics); configuration files (not read: they may hold secrets)",
            "what DokuWiki regenerates: cache, search index, locks, logs",
            "tar archives: unpack them with `tar -xpf` (keeping mtimes) and ingest the folder",
        ),
    )
    version: ClassVar[str] = "1"

    @classmethod
    def detect(cls, tree: SourceTree) -> bool:
        if _is_tar(tree):
            try:
                with tarfile.open(tree.path) as tar:
                    for member in tar:
                        if "pages/" in member.name and member.name.endswith(".txt"):
                            raise BadInputError(_TAR_MESSAGE.format(path=tree.path))
            except (tarfile.TarError, OSError, EOFError):
                return False
            return False
        layout = find_layout(tree)
        if layout is None:
            return False
        names = tree.names()
        return layout.root is not None or any(
            _has_prefix(names, layout.data + folder + "/") for folder in ("attic", "meta", "media")
        )

    @classmethod
    def check(cls, tree: SourceTree) -> None:
        if _is_tar(tree):
            raise BadInputError(_TAR_MESSAGE.format(path=tree.path))
        if find_layout(tree) is None:
            raise BadInputError(f"{tree.path}: no DokuWiki data folder (pages/*.txt) found")

    def fingerprint(self, tree: SourceTree) -> tuple[str, int]:
        """A folder's fingerprint (names and contents) and the mtimes of its page and media
        files, which are DokuWiki's revision ids: a copy that lost them is another source. A
        zip's bytes hold its entries' times already."""
        sha, size = tree.fingerprint()
        layout = find_layout(tree)
        if not tree.path.is_dir() or layout is None:
            return sha, size
        digest = hashlib.sha256(sha.encode())
        names = tree.names()
        for folder in ("pages/", "media/"):
            for name in _prefixed(names, layout.data + folder):
                stamp = tree.mtime(name)
                digest.update(f"{name}\0{stamp[0] if stamp else ''}\n".encode())
        return digest.hexdigest(), size

    def read(self, tree: SourceTree, out: ArchiveWriter, display: Display) -> None:
        self.check(tree)
        layout = find_layout(tree)
        assert layout is not None
        ctx = _Context(tree, layout)
        self._config(ctx, out, write=not out.is_done("config"))
        if not out.is_done("config"):
            for problem in tree.problems:
                out.diagnose(problem.code, problem.entry, problem.message, dropped=problem.dropped)
            out.complete("config")
        pages = self._page_paths(ctx)
        media = self._media_paths(ctx)
        if not out.is_done("spaces"):
            self._spaces(ctx, pages, media, out)
            out.complete("spaces")
        task = display.task("DokuWiki pages", total=len(pages))
        for start in range(0, len(pages), BLOCK):
            unit = f"pages:{start}"
            if not out.is_done(unit):
                for rel in pages[start : start + BLOCK]:
                    self._page(ctx, rel, out)
                out.complete(unit)
            task.advance(len(pages[start : start + BLOCK]))
        for start in range(0, len(media), BLOCK):
            unit = f"media:{start}"
            if not out.is_done(unit):
                for rel in media[start : start + BLOCK]:
                    self._media(ctx, rel, out)
                out.complete(unit)
        if not out.is_done("persons"):
            self._placeholders(out)
            out.complete("persons")
        if not out.is_done("leftovers"):
            self._leftovers(ctx, pages, out)
            out.complete("leftovers")

    # -- configuration ---------------------------------------------------------------------------
    def _config(self, ctx: _Context, out: ArchiveWriter, *, write: bool) -> None:
        """Read the settings, users and ACL (always: later units need them); write their
        records only when ``write`` (the unit is not done yet)."""
        root = ctx.layout.root
        if root is None:
            return
        tree = ctx.tree
        for name in ("conf/dokuwiki.php", "conf/local.php", "conf/local.protected.php"):
            if root + name in tree:
                text = self._read_text(ctx, root + name, out if write else None, keep_raw=False)
                if text is not None:
                    if match := _FNENCODE.search(text):
                        ctx.fnencode = match.group(1)
                    if match := _TITLE.search(text):
                        ctx.title = match.group(1)
                    if match := _USEACL.search(text):
                        ctx.useacl = match.group(1) != "0"
        users_entry = root + "conf/users.auth.php"
        if users_entry in tree:
            self._users(ctx, users_entry, out, write=write)
        acl_entry = root + "conf/acl.auth.php"
        if acl_entry in tree:
            self._acl(ctx, acl_entry, out, write=write)
            if ctx.useacl is False:
                ctx.acl.clear()
                if write:
                    out.diagnose(
                        "dokuwiki.acl_disabled",
                        acl_entry,
                        "$conf['useacl'] is 0: DokuWiki does not apply this ACL; every namespace is public",
                    )

    def _users(self, ctx: _Context, entry: str, out: ArchiveWriter, *, write: bool) -> None:
        text = self._read_text(ctx, entry, out if write else None, keep_raw=False)
        if text is None:
            return
        hashes = 0
        for number, line in enumerate(text.split("\n"), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            where = f"{entry}#{number}"
            fields = [f.replace("\\:", ":") for f in _USER_FIELD.split(stripped)]
            if len(fields) < 5 or not fields[0]:
                if write:
                    shown = fields[:1] + fields[2:]  # never the second field: it may be a hash
                    out.diagnose(
                        "dokuwiki.invalid_user_line",
                        where,
                        f"not a user line (login:hash:name:email:groups): {len(fields)} fields",
                        dropped="user",
                        raw=_json({"fields_without_hash": shown}),
                    )
                continue
            hashes += 1
            login = unquote_plus(fields[0])
            groups = [g for g in fields[4].split(",") if g]
            record = {"login": login, "name": fields[2], "mail": fields[3], "groups": groups}
            user = _User(login, fields[2] or None, fields[3] or None, groups, where, _json(record))
            ctx.users[login] = user
            if write:
                out.add(
                    Person(
                        id=ids.person_id(PLATFORM, login),
                        platform=PLATFORM,
                        native_id=login,
                        name=login,
                        real_name=user.real_name,
                        display_name=user.real_name,
                        email=user.email,
                        raw=user.raw,
                        origin=where,
                    )
                )
        if write and hashes:
            out.diagnose(
                "dokuwiki.password_hashes_dropped",
                entry,
                f"the password hashes of {hashes} users were not read into the archive (by design)",
            )

    def _acl(self, ctx: _Context, entry: str, out: ArchiveWriter, *, write: bool) -> None:
        text = self._read_text(ctx, entry, out if write else None, keep_raw=False)
        if text is None:
            return
        for number, line in enumerate(text.split("\n"), 1):
            content = line.split("#", 1)[0].strip()
            if not content:
                continue
            where = f"{entry}#{number}"
            parts = content.split()
            if len(parts) != 3 or not parts[2].lstrip("-").isdigit():
                if write:
                    out.diagnose(
                        "dokuwiki.invalid_acl_line",
                        where,
                        "not an ACL line (scope subject level)",
                        dropped="acl rule",
                        raw=_json({"line": line}),
                    )
                continue
            scope, subject, level = unquote_plus(parts[0]), unquote_plus(parts[1]), int(parts[2])
            ctx.acl.setdefault(scope, []).append((subject, level, line))
            if write and not (scope == "*" or scope.endswith(":*")):
                out.diagnose(
                    "dokuwiki.page_acl",
                    where,
                    f"an ACL rule on the page {scope} (the archive keeps visibility per namespace)",
                    dropped="acl rule",
                    raw=_json({"line": line}),
                )

    def _level(self, ctx: _Context, namespace: str, subjects: set[str]) -> int:
        """DokuWiki's auth_aclcheck for a namespace: the most specific scope with a rule for one
        of the subjects decides (the highest level among its rules); none: no right."""
        parts = namespace.split(":") if namespace else []
        scopes = [":".join(parts[:n]) + ":*" for n in range(len(parts), 0, -1)] + ["*"]
        for scope in scopes:
            levels = [level for subject, level, _ in ctx.acl.get(scope, ()) if subject in subjects]
            if levels:
                return max(levels)
        return 0

    # -- spaces ------------------------------------------------------------------------------------
    def _page_paths(self, ctx: _Context) -> list[str]:
        names, d = ctx.tree.names(), ctx.d
        rels: set[str] = set()
        for name in _prefixed(names, d + "pages/"):
            if name.endswith(".txt"):
                rels.add(name[len(d + "pages/") : -4])
        for name in _prefixed(names, d + "meta/"):
            rel = name[len(d + "meta/") :]
            if rel.endswith(".changes") and not ("/" not in rel and rel.startswith("_")):
                rels.add(rel[: -len(".changes")])
        for name in _prefixed(names, d + "attic/"):
            rel = name[len(d + "attic/") :]
            folder, _, base = rel.rpartition("/")
            parts = base.split(".")
            for cut in range(len(parts) - 1, 0, -1):
                if _ATTIC.fullmatch(".".join(parts[cut:])):
                    rels.add((folder + "/" if folder else "") + ".".join(parts[:cut]))
                    break
        return sorted(rels)

    def _media_paths(self, ctx: _Context) -> list[str]:
        names, d = ctx.tree.names(), ctx.d
        rels: set[str] = set()
        for name in _prefixed(names, d + "media/"):
            rels.add(name[len(d + "media/") :])
        for name in _prefixed(names, d + "media_meta/"):
            rel = name[len(d + "media_meta/") :]
            if rel.endswith(".changes"):
                rels.add(rel[: -len(".changes")])
        for name in _prefixed(names, d + "media_attic/"):
            rel = name[len(d + "media_attic/") :]
            folder, _, base = rel.rpartition("/")
            match = _MEDIA_ATTIC.fullmatch(base)
            if match and match.group("stem"):
                rels.add((folder + "/" if folder else "") + match.group("stem") + (match.group("ext") or ""))
        return sorted(rels)

    def _spaces(self, ctx: _Context, pages: list[str], media: list[str], out: ArchiveWriter) -> None:
        workspace = ids.space_id(PLATFORM, WIKI)
        out.add(
            Space(
                id=workspace,
                platform=PLATFORM,
                native_id=WIKI,
                kind=SpaceKind.WORKSPACE,
                visibility=Visibility.PUBLIC,
                name=WIKI,
                display_name=ctx.title,
                origin=ctx.d or "/",
            )
        )
        folders: set[str] = {""}
        for rel in [*pages, *media]:
            parts = rel.split("/")[:-1]
            for n in range(1, len(parts) + 1):
                folders.add("/".join(parts[:n]))
        for folder in sorted(folders):
            namespace = ctx.page_id(folder) if folder else ""
            parent = folder.rsplit("/", 1)[0] if "/" in folder else ""
            scope = namespace + ":*" if namespace else "*"
            everyone = self._level(ctx, namespace, {"@ALL"}) if ctx.acl else 1
            private = everyone < 1
            space = ids.space_id(PLATFORM, ctx.ns_native(folder))
            rules = [line for _, _, line in ctx.acl.get(scope, ())]
            out.add(
                Space(
                    id=space,
                    platform=PLATFORM,
                    native_id=ctx.ns_native(folder),
                    kind=SpaceKind.WIKI_SPACE,
                    visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
                    name=namespace or ROOT_NAME,
                    display_name=decode_name(folder.rsplit("/", 1)[-1], ctx.fnencode) if folder else None,
                    parent_id=ids.space_id(PLATFORM, ctx.ns_native(parent)) if folder else workspace,
                    raw=_json({"namespace": namespace, "folder": ctx.d + "pages/" + folder, "acl": rules}),
                    origin=ctx.d + "pages/" + (folder + "/" if folder else ""),
                )
            )
            if private:
                self._members(ctx, namespace, space, out)

    def _members(self, ctx: _Context, namespace: str, space: str, out: ArchiveWriter) -> None:
        named = {s for rules in ctx.acl.values() for s, _, _ in rules if not s.startswith("@")}
        logins = sorted(set(ctx.users) | named)
        for login in logins:
            user = ctx.users.get(login)
            subjects = {login, "@ALL"} | {"@" + g for g in (user.groups if user else [])}
            if self._level(ctx, namespace, subjects) >= 1:
                if user is None:
                    self._placeholder(ctx, login, (ctx.layout.root or "") + "conf/acl.auth.php", out)
                out.add(
                    Membership(
                        space_id=space,
                        person_id=ids.person_id(PLATFORM, login),
                        origin=(ctx.layout.root or "") + "conf/acl.auth.php",
                    )
                )

    # -- persons -----------------------------------------------------------------------------------
    def _placeholder(self, ctx: _Context, login: str, where: str, out: ArchiveWriter) -> None:
        if login in ctx.users or login in ctx.seen_persons:
            return
        ctx.seen_persons.add(login)
        out.add(
            Person(
                id=ids.person_id(PLATFORM, login),
                platform=PLATFORM,
                native_id=login,
                name=login,
                is_placeholder=True,
                origin=where,
            )
        )

    def _author(self, ctx: _Context, change: Change, out: ArchiveWriter) -> str | None:
        if change.user:
            self._placeholder(ctx, change.user, change.where, out)
            return ids.person_id(PLATFORM, change.user)
        if change.ip:
            native = "ip:" + change.ip
            if native not in ctx.seen_persons:
                ctx.seen_persons.add(native)
                out.add(
                    Person(
                        id=ids.person_id(PLATFORM, native),
                        platform=PLATFORM,
                        native_id=native,
                        name=change.ip,
                        is_guest=True,
                        raw=_json({"ip": change.ip}),
                        origin=change.where,
                    )
                )
            return ids.person_id(PLATFORM, native)
        return None

    def _contributors(self, ctx: _Context, meta: Any, where: str, out: ArchiveWriter) -> None:
        """The logins and full names a .meta file's ``contributor`` arrays give."""
        if not isinstance(meta, dict):
            return
        for part in ("persistent", "current"):
            section = meta.get(part)
            contributors = section.get("contributor") if isinstance(section, dict) else None
            if not isinstance(contributors, dict):
                continue
            for login, name in contributors.items():
                login = str(login)
                if not login or login in ctx.users or not isinstance(name, str):
                    continue
                key = f"meta:{login}\x1f{name}"
                if key in ctx.seen_persons:
                    continue
                ctx.seen_persons.add(key)
                ctx.seen_persons.add(login)
                out.add(
                    Person(
                        id=ids.person_id(PLATFORM, login),
                        platform=PLATFORM,
                        native_id=login,
                        name=login,
                        real_name=name or None,
                        display_name=name or None,
                        raw=_json({"login": login, "name": name}),
                        origin=where,
                    )
                )

    def _placeholders(self, out: ArchiveWriter) -> None:
        rows = out.query(
            "SELECT id, native_id, origin FROM persons WHERE platform = ? AND is_placeholder = 1"
            " AND source_id = ? ORDER BY native_id",
            (PLATFORM, out.source_id),
        )
        for person, native, origin in rows:
            out.diagnose(
                "dokuwiki.unknown_user",
                origin or "conf/users.auth.php",
                f"the login {native!r} is used but defined neither in users.auth.php nor by a .meta file",
                entity_id=person,
            )

    # -- reading ---------------------------------------------------------------------------------
    def _read(self, ctx: _Context, entry: str, out: ArchiveWriter | None) -> bytes | None:
        try:
            return ctx.tree.read_bytes(entry)
        except EntryError as exc:
            if out is not None:
                out.diagnose(exc.code, exc.entry, str(exc), dropped="entry")
            return None

    def _read_text(
        self, ctx: _Context, entry: str, out: ArchiveWriter | None, *, keep_raw: bool = True
    ) -> str | None:
        data = self._read(ctx, entry, out)
        return None if data is None else self._decode(data, entry, out, keep_raw=keep_raw)

    def _decode(self, data: bytes, where: str, out: ArchiveWriter | None, *, keep_raw: bool = True) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if out is not None:
                out.diagnose(
                    "dokuwiki.not_utf8",
                    where,
                    f"not UTF-8 (byte {exc.start}): read with U+FFFD for the invalid bytes;"
                    + (
                        " the original bytes are kept here"
                        if keep_raw
                        else " (a configuration file: not kept)"
                    ),
                    raw=_json({"base64": _b64(data)}) if keep_raw else None,
                )
            return data.decode("utf-8", "replace")

    def _attic_bytes(
        self, ctx: _Context, entry: str, kind: str | None, out: ArchiveWriter, *, quiet: bool = False
    ) -> bytes | None:
        """An attic file's text, decompressed; None, said (unless ``quiet``), when it cannot be read."""
        data = self._read(ctx, entry, None if quiet else out)
        if data is None:
            return None
        limits = ctx.tree.limits
        # The text is held whole: at most _TEXT_LIMIT, and no more than the tree's zip-bomb ratio allows.
        limit = min(_TEXT_LIMIT, limits.max_json_bytes, max(limits.ratio_floor, len(data) * limits.max_ratio))
        try:
            text = _decompress(data, kind, limit)
        except _TooLarge:
            why = f"it expands beyond {limit} bytes (a decompression bomb?)"
        except (zlib.error, OSError, EOFError, ValueError) as exc:
            why = f"it does not decompress ({exc})"
        else:
            return text
        if quiet:
            return None
        sha, _ = out.put_blob_bytes(data)
        out.diagnose(
            "dokuwiki.attic_unreadable",
            entry,
            f"the attic file is unreadable: {why}; the revision has no body; its {len(data)} bytes"
            f" are kept in the blob store (sha256 {sha})",
        )
        return None

    def _meta(self, ctx: _Context, entry: str, out: ArchiveWriter) -> Any:
        data = self._read(ctx, entry, out)
        if data is None:
            return None
        try:
            value, lossy = unserialize_lossy(data)
        except (PhpUnserializeError, RecursionError, ValueError) as exc:
            out.diagnose(
                "dokuwiki.invalid_meta",
                entry,
                f"the metadata is not PHP serialize() data passerelle decodes: {exc}; kept here",
                dropped="meta",
                raw=_json({"base64": _b64(data)}),
            )
            return None
        if lossy:
            out.diagnose(
                "dokuwiki.not_utf8",
                entry,
                "the metadata holds strings that are not UTF-8 (read with U+FFFD); the original bytes are kept here",
                raw=_json({"base64": _b64(data)}),
            )
        return value

    # -- pages -------------------------------------------------------------------------------------
    def _changelog(self, ctx: _Context, entry: str, out: ArchiveWriter) -> list[Change]:
        text = self._read_text(ctx, entry, out)
        if text is None:
            return []
        changes, bad = parse_changelog(text, entry)
        for where, line, why in bad:
            out.diagnose(
                "dokuwiki.invalid_changelog_line",
                where,
                why,
                dropped="changelog entry",
                raw=_json({"line": line}),
            )
        return changes

    def _page(self, ctx: _Context, rel: str, out: ArchiveWriter) -> None:
        tree, d = ctx.tree, ctx.d
        page_id = ctx.page_id(rel)
        item = ids.item_id(PLATFORM, WIKI, page_id)
        page_entry = d + "pages/" + rel + ".txt"
        changes_entry = d + "meta/" + rel + ".changes"
        meta_entry = d + "meta/" + rel + ".meta"
        has_page = page_entry in tree
        changes = self._changelog(ctx, changes_entry, out) if changes_entry in tree else []
        by_date = _by_date(changes, out, "revision", check_order=True)
        attic: dict[int, tuple[str, str | None]] = {}
        attic_prefix = d + "attic/" + rel + "."
        for name in _prefixed(tree.names(), attic_prefix):
            match = _ATTIC.fullmatch(name[len(attic_prefix) :])
            if match is None:
                continue
            stamp = int(match.group(1))
            if stamp in attic:
                sha, _ = out.put_blob_bytes(self._read(ctx, name, out) or b"")
                out.diagnose(
                    "dokuwiki.duplicate_attic",
                    name,
                    f"a second attic file for the revision {stamp} ({attic[stamp][0]} is read);"
                    f" its bytes are kept in the blob store (sha256 {sha})",
                )
                continue
            attic[stamp] = (name, match.group(2))
        meta = self._meta(ctx, meta_entry, out) if meta_entry in tree else None
        self._contributors(ctx, meta, meta_entry, out)

        last = max(by_date) if by_date else None
        current: int | None = None
        external = False
        mtime: tuple[int, bool] | None = None
        page_data: bytes | None = None
        page_text: str | None = None
        if has_page:
            mtime = tree.mtime(page_entry) or (last or 0, False)
            page_data = self._read(ctx, page_entry, out)
            stamp, exact = mtime
            if last is not None and stamp == last:
                current = last
            elif last is not None and not exact and by_date[last].type != "D" and last in attic:
                earlier = self._attic_bytes(ctx, attic[last][0], attic[last][1], out, quiet=True)
                if earlier is not None and earlier == page_data:
                    current = last
                    out.diagnose(
                        "dokuwiki.mtime_inexact",
                        page_entry,
                        f"the page file's time is a zip's DOS time ({stamp}); its text is the last"
                        f" changelog revision's ({last}), which is taken as current",
                    )
            if current is None:
                external = True
                current = stamp if last is None or stamp > last else last + 1
        deleted = last is not None and by_date[last].type == "D" and not external
        if not has_page and last is not None and not deleted:
            out.diagnose(
                "dokuwiki.page_file_missing",
                changes_entry,
                f"the last changelog entry ({by_date[last].date_text}, type {by_date[last].type!r}) is not"
                " a deletion but the page file is missing (deleted outside DokuWiki): the page is deleted",
            )

        keys = sorted(set(by_date) | set(attic) | ({current} if current is not None else set()))
        if not keys:
            out.diagnose(
                "dokuwiki.empty_changelog",
                changes_entry,
                f"the changelog of {page_id} holds no entry, and there is no page or attic file: no page",
            )
            return
        # The item first (its revisions name it), from what the changelog and files say: the
        # current text, or for a page without file the last text it had.
        page_text = self._decode(page_data, page_entry, out) if page_data is not None else None
        authors = {stamp: self._author(ctx, by_date[stamp], out) for stamp in keys if stamp in by_date}
        first_author, final_author = authors.get(keys[0]), authors.get(keys[-1])
        item_body: Body | None = make_body(page_text) if page_text is not None else None
        for stamp in reversed(keys) if item_body is None else ():
            if stamp in attic:
                earlier = self._attic_bytes(ctx, attic[stamp][0], attic[stamp][1], out, quiet=True)
                if earlier is not None:
                    item_body = make_body(self._decode(earlier, attic[stamp][0], None))
                    break
        title = None
        if isinstance(meta, dict):
            for part in ("persistent", "current"):
                section = meta.get(part)
                if isinstance(section, dict) and isinstance(section.get("title"), str):
                    title = section["title"]
        record = {
            "id": page_id,
            "file": page_entry if has_page else None,
            "mtime": mtime[0] if mtime else None,
            "mtime_exact": mtime[1] if mtime else None,
            "changes": changes_entry if changes_entry in tree else None,
            "title": title,
            "meta": as_json(meta) if meta is not None else None,
        }
        out.add(
            Item(
                id=item,
                platform=PLATFORM,
                native_id=page_id,
                kind=ItemKind.PAGE,
                space_id=ctx.space_of(rel),
                author_id=first_author,
                created_at=_us(keys[0]),
                created_native=str(keys[0]),
                edited_at=_us(keys[-1]) if len(keys) > 1 else None,
                edited_native=str(keys[-1]) if len(keys) > 1 else None,
                edited_by_id=final_author if len(keys) > 1 else None,
                deleted=deleted or not has_page,
                deleted_at=_us(last) if deleted and last is not None else None,
                title=page_id,
                body=item_body,
                raw=_json(record),
                origin=page_entry
                if has_page
                else (changes_entry if changes_entry in tree else None)
                or (attic[keys[0]][0] if keys[0] in attic else None),
            )
        )
        previous_size: int | None = 0
        for stamp in keys:
            change = by_date.get(stamp)
            in_attic = attic.get(stamp)
            is_current = stamp == current
            data: bytes | None = None
            text: str | None = None
            if is_current:
                data, text = page_data, page_text
            elif in_attic is not None:
                data = self._attic_bytes(ctx, in_attic[0], in_attic[1], out)
                text = self._decode(data, in_attic[0], out) if data is not None else None
            author = authors.get(stamp)
            if change is None and in_attic is not None and not is_current:
                out.diagnose(
                    "dokuwiki.changelog_missing",
                    in_attic[0],
                    f"an attic revision ({stamp}) no changelog entry names: a revision without author",
                )
            if is_current and external:
                stamp_text = str(mtime[0]) if mtime else "?"
                out.diagnose(
                    "dokuwiki.external_edit",
                    page_entry,
                    f"the page file's mtime ({stamp_text}) is not the last changelog entry's"
                    f" ({by_date[last].date_text if last is not None else 'none'}): an external edit,"
                    f" revision {stamp} without author, as DokuWiki shows it",
                )
            if change is not None and text is None and change.type != "D" and in_attic is None:
                out.diagnose(
                    "dokuwiki.attic_missing",
                    change.where,
                    f"no attic file for the revision {change.date_text}: a revision without body",
                )
            size = 0 if change is not None and change.type == "D" else None
            if text is not None:
                size = len(data or b"")
            if (
                change is not None
                and change.sizechange.lstrip("-").isdigit()
                and size is not None
                and previous_size is not None
                and size - previous_size != int(change.sizechange)
            ):
                out.diagnose(
                    "dokuwiki.size_mismatch",
                    change.where,
                    f"the changelog says the size changed by {change.sizechange} bytes; the texts"
                    f" differ by {size - previous_size}",
                )
            previous_size = size
            body = make_body(text) if text is not None else None
            native = change.date_text if change is not None else str(stamp)
            raw: dict[str, Any] = {"changelog": change.line if change is not None else None}
            raw["attic"] = in_attic[0] if in_attic is not None else None
            if is_current:
                raw["file"] = page_entry
                raw["mtime"] = mtime[0] if mtime else None
                raw["external_edit"] = external
            comment = (
                change.sum if change is not None else ("external edit" if external and is_current else None)
            )
            out.add(
                Revision(
                    id=ids.revision_id(item, native),
                    item_id=item,
                    native_id=native,
                    author_id=author,
                    created_at=_us(stamp),
                    body=body,
                    comment=comment or None,
                    raw=_json(raw),
                    origin=change.where if change is not None else (in_attic[0] if in_attic else page_entry),
                )
            )

    # -- media -------------------------------------------------------------------------------------
    def _media(self, ctx: _Context, rel: str, out: ArchiveWriter) -> None:
        tree, d = ctx.tree, ctx.d
        media_id = ctx.page_id(rel)
        entry = d + "media/" + rel
        changes_entry = d + "media_meta/" + rel + ".changes"
        changes = self._changelog(ctx, changes_entry, out) if changes_entry in tree else []
        by_date = _by_date(changes, out, "version", check_order=False)
        used: set[int] = set()
        folder, _, base = rel.rpartition("/")
        stem, dot, ext = base.rpartition(".")
        if not dot:
            stem, ext = base, ""
        prefix = d + "media_attic/" + (folder + "/" if folder else "") + stem + "."
        for name in _prefixed(tree.names(), prefix):
            match = re.fullmatch(r"(\d{9,11})" + (re.escape("." + ext) if ext else ""), name[len(prefix) :])
            if match is None:
                continue
            rev = int(match.group(1))
            change = by_date.get(rev)
            if change is not None:
                used.add(rev)
            else:
                out.diagnose(
                    "dokuwiki.changelog_missing",
                    name,
                    f"an old version of {media_id} ({rev}) no changelog entry names: a file without author",
                )
            self._file(ctx, out, name, f"{media_id}@{match.group(1)}", base, rev, change)
        if entry in tree:
            mtime = tree.mtime(entry)
            stamp = mtime[0] if mtime else None
            change = by_date.get(stamp) if stamp is not None else None
            if change is None and stamp is not None and by_date and not (mtime and mtime[1]):
                latest = max(by_date)
                if by_date[latest].type != "D" and latest not in used:
                    change, stamp = by_date[latest], latest
            if change is not None:
                used.add(change.date)
            elif by_date:
                out.diagnose(
                    "dokuwiki.external_edit",
                    entry,
                    f"the media file's mtime ({stamp}) is no changelog entry's: an external upload, without author",
                )
            self._file(ctx, out, entry, media_id, base, stamp, change)
        for date, logged in sorted(by_date.items()):
            if date in used:
                continue
            if logged.type == "D":
                out.diagnose(
                    "dokuwiki.media_deleted",
                    logged.where,
                    f"{media_id} was deleted at {logged.date_text} (the archive keeps files, not their deletion)",
                    dropped="changelog entry",
                    raw=_json({"line": logged.line}),
                )
            else:
                out.diagnose(
                    "dokuwiki.media_attic_missing",
                    logged.where,
                    f"no media_attic file for the version {logged.date_text} of {media_id}: its bytes are lost",
                    dropped="changelog entry",
                    raw=_json({"line": logged.line}),
                )

    def _file(
        self,
        ctx: _Context,
        out: ArchiveWriter,
        entry: str,
        native: str,
        base: str,
        stamp: int | None,
        change: Change | None,
    ) -> None:
        name = decode_name(base, ctx.fnencode)
        sha: str | None = None
        missing: str | None = None
        try:
            with ctx.tree.open_entry(entry) as stream:
                sha, _ = out.put_blob(stream, size=ctx.tree.size(entry))
        except EntryError as exc:
            missing = str(exc)
            out.diagnose(exc.code, exc.entry, str(exc), dropped="file")
        out.add(
            File(
                id=ids.file_id(PLATFORM, native),
                platform=PLATFORM,
                native_id=native,
                name=name,
                title=name,
                media_type=mimetypes.guess_type(name)[0],
                size=ctx.tree.size(entry),
                sha256=sha,
                missing_reason=missing,
                author_id=self._author(ctx, change, out) if change is not None else None,
                created_at=_us(stamp) if stamp is not None else None,
                raw=_json(
                    {
                        "file": entry,
                        "revision": stamp,
                        "changelog": change.line if change is not None else None,
                    }
                ),
                origin=entry,
            )
        )

    # -- everything else -------------------------------------------------------------------------
    def _leftovers(self, ctx: _Context, pages: list[str], out: ArchiveWriter) -> None:
        tree = ctx.tree
        said: set[str] = set()
        counts: dict[str, int] = {}
        unknown: list[str] = []
        for name in tree.names():
            kind = self._kind(ctx, name, pages)
            if kind is None:
                continue
            if kind == "unknown":
                unknown.append(name)
            elif kind == "orphan_meta":
                data = self._read(ctx, name, out)
                if data is not None:
                    out.diagnose(
                        "dokuwiki.orphan_meta",
                        name,
                        "metadata of a page that has no page file, changelog or attic file; kept here",
                        dropped="meta",
                        raw=_json({"base64": _b64(data)}),
                    )
            else:
                counts[kind] = counts.get(kind, 0) + 1
        for kind, count in sorted(counts.items()):
            code, where, why = kind.split("|", 2)
            if where in said:
                continue
            said.add(where)
            out.diagnose(code, where, f"{why}: not read ({count} {'file' if count == 1 else 'files'})")
        for name in unknown:
            file_id = ids.file_id(PLATFORM, "entry:" + name)
            sha: str | None = None
            try:
                with tree.open_entry(name) as stream:
                    sha, _ = out.put_blob(stream, size=tree.size(name))
            except EntryError as exc:
                out.diagnose(exc.code, exc.entry, str(exc), dropped="entry")
                continue
            out.add(
                File(
                    id=file_id,
                    platform=PLATFORM,
                    native_id="entry:" + name,
                    name=name.rsplit("/", 1)[-1],
                    size=tree.size(name),
                    sha256=sha,
                    raw=_json({"file": name}),
                    origin=name,
                )
            )
            out.diagnose(
                "dokuwiki.unknown_entry",
                name,
                "a file DokuWiki's data layout does not hold; kept as a file attached to no page",
                entity_id=file_id,
            )

    def _kind(self, ctx: _Context, name: str, pages: list[str]) -> str | None:
        """None for an entry a unit read; else ``code|where|why`` of the one diagnostic that
        says it (per folder), or ``unknown``."""
        d, root = ctx.d, ctx.layout.root
        if root is not None and name.startswith(root + "conf/"):
            rest = name[len(root + "conf/") :]
            if rest in ("users.auth.php", "acl.auth.php"):
                return None
            return f"dokuwiki.config_file|{name}|a configuration file (it may hold secrets)"
        if not name.startswith(d):
            top = name[len(root or "") :].split("/", 1)
            where = (root or "") + (top[0] + "/" if len(top) > 1 else top[0])
            return f"dokuwiki.not_data|{where}|DokuWiki's application files, not wiki data"
        rest = name[len(d) :]
        folder, _, inner = rest.partition("/")
        if folder in REGENERATED and inner:
            return f"dokuwiki.regenerated|{d}{folder}/|{REGENERATED[folder]}, which DokuWiki regenerates"
        if inner and inner.rsplit("/", 1)[-1] in ("_dummy", ".htaccess"):
            return f"dokuwiki.internal_file|{name}|a placeholder DokuWiki ships in its folders"
        if not inner and (folder in _STOCK_DATA_FILES or folder.startswith("dont-panic-")):
            return f"dokuwiki.internal_file|{name}|a file DokuWiki ships in data/ (access rules, its security check, upgrade lists)"
        if folder == "pages" and inner.endswith(".txt"):
            return None
        if folder == "attic":
            return None if self._attic_page(inner) is not None else "unknown"
        if folder == "meta":
            if "/" not in inner and inner.startswith("_"):
                if inner in ("_dokuwiki.changes", "_media.changes"):
                    return f"dokuwiki.global_changelog|{name}|the recent-changes log (the per-page changelogs hold every line)"
                return f"dokuwiki.internal_file|{name}|an internal file of DokuWiki (a secret salt, a lock…)"
            if inner.endswith((".indexed", ".mlist")):
                return f"dokuwiki.regenerated|{d}meta/*{inner[inner.rfind('.') :]}|search-index and mailing-list state DokuWiki regenerates"
            if inner.endswith(".changes"):
                return None
            if inner.endswith(".meta"):
                rel = inner[: -len(".meta")]
                at = bisect_left(pages, rel)
                return None if at < len(pages) and pages[at] == rel else "orphan_meta"
            return "unknown"
        if folder in ("media", "media_attic"):
            if folder == "media_attic":
                base = inner.rpartition("/")[2]
                return None if _MEDIA_ATTIC.fullmatch(base) else "unknown"
            return None
        if folder == "media_meta" and inner.endswith(".changes"):
            return None
        return "unknown"

    @staticmethod
    def _attic_page(inner: str) -> str | None:
        folder, _, base = inner.rpartition("/")
        parts = base.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            if _ATTIC.fullmatch(".".join(parts[cut:])):
                return (folder + "/" if folder else "") + ".".join(parts[:cut])
        return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _by_date(changes: list[Change], out: ArchiveWriter, what: str, *, check_order: bool) -> dict[int, Change]:
    """A changelog's entries by date: a second entry at a date is said and dropped (the first
    is the ``what``); with ``check_order``, an entry older than the one before it is said."""
    by_date: dict[int, Change] = {}
    previous = -1
    for logged in changes:
        if logged.date in by_date:
            out.diagnose(
                "dokuwiki.duplicate_changelog_entry",
                logged.where,
                f"a second changelog entry at {logged.date_text}; the first is the {what}",
                dropped="changelog entry",
                raw=_json({"line": logged.line}),
            )
            continue
        if check_order and logged.date < previous:
            out.diagnose(
                "dokuwiki.changelog_out_of_order",
                logged.where,
                "this entry is older than the one before it; the history is put in timestamp order",
            )
        previous = max(previous, logged.date)
        by_date[logged.date] = logged
    return by_date
