"""The Flask application of `passerelle serve`: every page behind login, every query
filtered by access.visible."""

from __future__ import annotations

import contextlib
import hmac
import mimetypes
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from flask import Flask, Response, abort, g, jsonify, redirect, render_template, request, session, url_for
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as BaseResponse

from passerelle.archive.blobs import LocalBlobStore
from passerelle.web import accounts, audit, queries
from passerelle.web.access import Viewer, private_space
from passerelle.web.charts import activity_svg
from passerelle.web.i18n import LANGUAGES, translate
from passerelle.web.render import body_html, highlight, revision_diff, when
from passerelle.web.stats import FiguresCache, ViewerFigures

SAFE_INLINE: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


ADDRESS_LIMITED = "Too many failed logins from your address, try again in a few minutes."


def _local(target: str) -> str:
    """target when it is a path on this site, else / (no open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _inline_image(f: sqlite3.Row) -> bool:
    """Whether a file is shown as an image under its message (its bytes are checked on download)."""
    media = f["media_type"] or mimetypes.guess_type(f["name"] or "")[0]
    return media in SAFE_INLINE


def create_app(
    archive_path: Path,
    *,
    secret: str | None = None,
    testing: bool = False,
    secure_cookies: bool | None = None,
    trusted_proxies: int = 0,
) -> Flask:
    """The web archive of the archive folder at archive_path (archive.sqlite, blobs/).

    secret signs the session cookies (default: one kept in web.sqlite); the session cookie is
    ``Secure`` unless testing or secure_cookies is False (plain HTTP on localhost).
    trusted_proxies: how many reverse proxies in front add to ``X-Forwarded-For``; the client
    address (the per-address login limit) is then the one the first of them saw. 0, the
    default: the header is ignored, the address is the TCP peer's."""
    root = Path(archive_path)
    if not (root / "archive.sqlite").is_file():
        raise FileNotFoundError(f"{root} holds no archive.sqlite")
    app = Flask(__name__)
    lacking = queries.add_reading_indexes(root / "archive.sqlite")
    if lacking:
        app.logger.warning(
            "%s is read-only and lacks the indexes %s: search and person pages are slower", root, lacking
        )
    setup = accounts.connect(root)  # web.sqlite exists before the first request
    try:
        secret = secret or accounts.session_secret(setup)
    finally:
        setup.close()
    app.config.update(
        SECRET_KEY=secret,
        TESTING=testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=(not testing) if secure_cookies is None else secure_cookies,
        ARCHIVE_ROOT=root,
    )
    if trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted_proxies)  # type: ignore[method-assign]

    def db() -> sqlite3.Connection:
        if "db" not in g:
            conn = sqlite3.connect(f"file:{root / 'archive.sqlite'}?mode=ro", uri=True)
            conn.row_factory = sqlite3.Row
            g.db = conn
        conn_: sqlite3.Connection = g.db
        return conn_

    def web() -> sqlite3.Connection:
        if "web" not in g:
            g.web = accounts.connect(root)
        conn_: sqlite3.Connection = g.web
        return conn_

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        for name in ("db", "web"):
            conn = g.pop(name, None)
            if conn is not None:
                conn.close()

    def lang() -> str:
        chosen = request.cookies.get("lang")
        if chosen in LANGUAGES:
            return chosen
        return request.accept_languages.best_match(LANGUAGES, default="en") or "en"

    def csrf_token() -> str:
        token = session.get("csrf")
        if not isinstance(token, str):
            token = secrets.token_urlsafe(32)
            session["csrf"] = token
        return token

    @app.before_request
    def _check_csrf() -> None:
        if request.method == "POST":
            sent = request.form.get("csrf_token", "")
            if not sent or not hmac.compare_digest(sent, str(session.get("csrf", ""))):
                abort(400)

    @app.context_processor
    def _helpers() -> dict[str, Any]:
        current = lang()
        return {
            "_": lambda m: translate(current, m),
            "lang": current,
            "csrf_token": csrf_token,
            "when": when,
            "body_html": body_html,
            "inline_image": _inline_image,
            "viewer": (v := viewer_or_none()),
            "viewer_name": viewer_name(v) if v else None,
        }

    def viewer_or_none() -> Viewer | None:
        pid = session.get("person_id")
        if not isinstance(pid, str):
            return None
        account = accounts.get(web(), pid)
        # A session from before the person's last password change has ended.
        if account is None or session.get("epoch") != account.session_epoch:
            return None
        return Viewer(pid, account.is_admin)

    def viewer_name(v: Viewer) -> str:
        """The name the header shows: as on person pages (display name, real name, name)."""
        p = queries.person(db(), v.person_id)
        return str(p["title"]) if p is not None else v.person_id

    def viewer() -> Viewer:
        v = viewer_or_none()
        if v is None:
            abort(401)
        return v

    @app.errorhandler(401)
    def _unauthorised(_e: Exception) -> BaseResponse:
        if request.path.startswith("/api/"):
            return jsonify(error="login required"), 401  # type: ignore[return-value]
        return redirect(url_for("login", next=request.full_path if request.query_string else request.path))

    def audit_private(v: Viewer, visibility: str | None, action: str, target: str) -> None:
        if v.is_admin and private_space(visibility):
            audit.record(web(), v.person_id, action, target)

    def audit_rows(v: Viewer, rows: list[sqlite3.Row], action: str) -> None:
        for row in rows:
            audit_private(v, row["visibility"], action, row["id"])

    def decorate(rows: list[sqlite3.Row]) -> dict[str, Any]:
        ids = [r["id"] for r in rows]
        return {"files": queries.item_files(db(), ids), "reactions": queries.reactions(db(), ids)}

    # -- login -----------------------------------------------------------------------------------------
    @app.route("/login", methods=["GET", "POST"])
    def login() -> str | BaseResponse:
        error = None
        if request.method == "POST":
            who = request.form.get("login", "").strip()
            password = request.form.get("password", "")
            candidates = accounts.find_persons(db(), who) if who else []
            if accounts.address_rate_limited(web(), client_address()):
                error = ADDRESS_LIMITED
            elif any(accounts.rate_limited(web(), p) for p in candidates):
                error = "Too many attempts, try again in a minute."
            elif (pid := accounts.log_in(web(), candidates, password)) is not None:
                return _log_in(pid)
            else:
                accounts.count_address_failure(web(), client_address())
                error = "Wrong login or password."
        page = render_template("login.html", error=error, next=request.args.get("next", "/"))
        return (page, 429) if error == ADDRESS_LIMITED else page  # type: ignore[return-value]

    def client_address() -> str:
        """The address failed logins are counted under: the TCP peer's. X-Forwarded-For is not
        trusted (anyone can send it) unless create_app was told of trusted proxies."""
        return request.remote_addr or "unknown"

    def _log_in(pid: str) -> BaseResponse:
        session.clear()  # a new session: no fixation
        session["person_id"] = pid
        account = accounts.get(web(), pid)
        session["epoch"] = account.session_epoch if account else 0
        return redirect(_local(request.args.get("next", "/")))

    @app.get("/login/<token>")
    def login_link(token: str) -> str | BaseResponse:
        pid = accounts.use_link_token(web(), token)
        if pid is None:
            return render_template(
                "login.html", error="This link is invalid or was already used.", next="/"
            ), 404  # type: ignore[return-value]
        return _log_in(pid)

    @app.post("/logout")
    def logout() -> BaseResponse:
        session.clear()
        return redirect(url_for("login"))

    @app.route("/account", methods=["GET", "POST"])
    def account() -> str | tuple[str, int] | BaseResponse:
        """The viewer's account; its password changed (which ends every other session)."""
        v = viewer()
        mine = accounts.get(web(), v.person_id)
        assert mine is not None  # viewer() found it
        error = None
        if request.method == "POST":
            current = request.form.get("current_password", "")
            new = request.form.get("new_password", "")
            again = request.form.get("new_password_again", "")
            if accounts.address_rate_limited(web(), client_address()) or accounts.rate_limited(
                web(), v.person_id
            ):
                error = "Too many attempts, try again in a minute."
            elif mine.has_password and not accounts.check_password(web(), v.person_id, current):
                accounts.count_address_failure(web(), client_address())
                error = "Wrong current password."
            elif new != again:
                error = "The two new passwords differ."
            elif problem := accounts.password_problem(new):
                error = problem
            else:
                epoch = accounts.set_password(web(), v.person_id, new)
                session.clear()  # this session lives on, under the new epoch; every other has ended
                session["person_id"] = v.person_id
                session["epoch"] = epoch
                return redirect(url_for("account", changed=1))
        page = render_template(
            "account.html",
            person=queries.person(db(), v.person_id),
            account=mine,
            error=error,
            changed=request.args.get("changed") == "1",
            min_length=accounts.MIN_PASSWORD_LENGTH,
        )
        return (page, 429 if error == "Too many attempts, try again in a minute." else 400) if error else page

    @app.get("/admin/audit")
    def audit_log() -> str:
        """The audit log, newest first, for administrators only (404 for anyone else). It
        shows ids, not private content: viewing it is not audited."""
        v = viewer()
        if not v.is_admin:
            abort(404)
        who = request.args.get("admin", "").strip()
        admin_id = (accounts.find_person(db(), who) or who) if who else None
        before = request.args.get("before", "")
        # a rowid: ASCII digits that fit SQLite's 64-bit integers; anything else, the first page
        cursor = int(before) if before.isascii() and before.isdigit() and len(before) < 19 else None
        rows, nxt = audit.page(web(), before=cursor, admin_id=admin_id)
        names = {pid: viewer_name(Viewer(pid)) for pid in {r.admin_id for r in rows}}
        return render_template(
            "audit.html",
            entries=rows,
            names=names,
            target_path=audit.target_path,
            admin=who,
            next=None if nxt is None else "/admin/audit?" + urlencode({"admin": who, "before": nxt}),
            at=lambda seconds: datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        )

    @app.post("/lang")
    def set_lang() -> BaseResponse:
        chosen = request.form.get("lang", "en")
        response = redirect(_local(request.form.get("next", "/")))
        if chosen in LANGUAGES:
            response.set_cookie("lang", chosen, max_age=365 * 86400, samesite="Lax", httponly=True)
        return response

    # -- pages -----------------------------------------------------------------------------------------
    @app.get("/")
    def home() -> str:
        spaces, figures = spaces_with_counts(viewer())
        titles: dict[str, str] = {}
        for s in spaces:  # the chart's legend: a title twice (two DMs alike) gets its id
            titles[s["id"]] = s["title"] if s["title"] not in titles.values() else f"{s['title']} ({s['id']})"
        names = queries.person_titles(db(), [pid for pid, _ in figures.people])
        by_id = {s["id"]: s for s in spaces}
        series = {titles[s]: per_month for s, per_month in figures.activity.items()}
        return render_template(
            "home.html",
            spaces=spaces,
            biggest=[by_id[s] for s in figures.biggest],
            chart=activity_svg(series, figures.months),
            people=[{"id": pid, "title": names.get(pid, pid), "n": n} for pid, n in figures.people],
        )

    def spaces_with_counts(v: Viewer) -> tuple[list[dict[str, Any]], ViewerFigures]:
        spaces = [dict(s) for s in queries.spaces(db(), v)]
        figures = figures_cache.get(db(), archive_state(), [s["id"] for s in spaces])
        for s in spaces:
            s["n_items"] = figures.items_per_space.get(s["id"], 0)
        return spaces, figures

    figures_cache = FiguresCache()

    def archive_state() -> tuple[int, int]:
        """Changes when the archive does (a later ingest writes its file or its WAL)."""
        state = [0, 0]
        for k, name in enumerate(("archive.sqlite", "archive.sqlite-wal")):
            with contextlib.suppress(FileNotFoundError):
                state[k] = (root / name).stat().st_mtime_ns
        return state[0], state[1]

    @app.get("/spaces/<space_id>")
    def space(space_id: str) -> str:
        v = viewer()
        s = queries.space(db(), v, space_id)
        if s is None:
            abort(404)
        audit_private(v, s["visibility"], "view space", space_id)
        newest = request.args.get("order", "newest") != "oldest"
        rows, nxt = queries.timeline(
            db(), v, space_id, newest_first=newest, after=queries.Cursor.decode(request.args.get("after"))
        )
        return render_template(
            "space.html",
            space=s,
            items=rows,
            next=nxt.encode() if nxt else None,
            newest=newest,
            **decorate(rows),
        )

    @app.get("/spaces/<space_id>/threads/<root_id>")
    def thread(space_id: str, root_id: str) -> str:
        v = viewer()
        s = queries.space(db(), v, space_id)
        after = queries.Cursor.decode(request.args.get("after"))
        root, replies, nxt = queries.thread(db(), v, root_id, after) if s is not None else (None, [], None)
        if s is None or root is None or root["space_id"] != space_id:
            abort(404)
        audit_private(v, s["visibility"], "view thread", root_id)
        rows = [root, *replies] if after is None else replies
        return render_template(
            "thread.html", space=s, items=rows, next=nxt.encode() if nxt else None, **decorate(rows)
        )

    @app.get("/items/<item_id>")
    def item(item_id: str) -> str:
        return item_page(item_id, "view item")

    @app.get("/items/<item_id>/diff")
    def diff(item_id: str) -> str:
        pair = queries.revision_pair(db(), item_id, request.args.get("a", ""), request.args.get("b", ""))
        if pair is None:
            abort(404)
        return item_page(item_id, "view diff", diff=revision_diff(*pair))

    def item_page(item_id: str, action: str, **extra: Any) -> str:
        """An item the viewer may see, with its revisions (404 otherwise)."""
        v = viewer()
        row = queries.item(db(), v, item_id)
        if row is None:
            abort(404)
        s = queries.space(db(), v, row["space_id"])
        assert s is not None
        audit_private(v, s["visibility"], action, item_id)
        return render_template(
            "item.html",
            space=s,
            it=row,
            revisions=queries.revisions(db(), item_id),
            **extra,
            **decorate([row]),
        )

    @app.get("/people/<person_id>")
    def person(person_id: str) -> str:
        v = viewer()
        p = queries.person(db(), person_id)
        if p is None:
            abort(404)
        rows, nxt = queries.person_items(db(), v, person_id, queries.Cursor.decode(request.args.get("after")))
        audit_rows(v, rows, "view person's item")
        return render_template(
            "person.html", person=p, items=rows, next=nxt.encode() if nxt else None, **decorate(rows)
        )

    @app.get("/files/<file_id>")
    def file(file_id: str) -> Response:
        v = viewer()
        f = queries.file(db(), v, file_id)
        if f is None or not f["sha256"]:
            abort(404)
        store = LocalBlobStore(root / "blobs")
        if not store.has(f["sha256"]):
            abort(404)
        audit_private(v, f["visibility"], "download file", file_id)
        name = f["name"] or f["id"]
        stream = store.open(f["sha256"])
        head = stream.read(16)
        media = f["media_type"] or mimetypes.guess_type(name)[0] or "application/octet-stream"
        # Inline only for a safe raster type whose bytes say so too (never SVG or HTML).
        inline = any(head.startswith(magic) for magic in SAFE_INLINE.get(media, ()))

        def chunks() -> Iterator[bytes]:
            with stream:
                yield head
                while chunk := stream.read(65536):
                    yield chunk

        response = Response(chunks(), mimetype=media if inline else "application/octet-stream")
        ascii_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:150] or "file"
        response.headers["Content-Disposition"] = (
            f"{'inline' if inline else 'attachment'}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    @app.get("/search")
    def search() -> str:
        v = viewer()
        q = request.args.get("q", "")
        rows, nxt = _search(v)
        audit_rows(v, rows, "search result")
        return render_template(
            "search.html",
            q=q,
            items=rows,
            highlight=_highlight,
            spaces=queries.spaces(db(), v),
            next=None
            if nxt is None
            else "/search?" + urlencode({**request.args.to_dict(), "after": nxt.encode()}),
        )

    def _highlight(text: str | None) -> Any:
        return highlight(text or "", queries.MARK_START, queries.MARK_END)

    def _date(name: str) -> int | None:
        value = request.args.get(name, "")
        try:
            return (
                int(datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp() * 1_000_000)
                if value
                else None
            )
        except ValueError:
            return None

    def _author(who: str) -> str | None:
        """The author filter: a person id, login name, email or display name."""
        return (accounts.find_person(db(), who) or who) if who else None

    def _search(v: Viewer) -> tuple[list[sqlite3.Row], queries.SearchCursor | None]:
        return queries.search(
            db(),
            v,
            request.args.get("q", ""),
            space_id=request.args.get("space") or None,
            author_id=_author(request.args.get("author", "").strip()),
            since=_date("from"),
            until=_date("to"),
            after=queries.SearchCursor.decode(request.args.get("after")),
        )

    # -- JSON API ------------------------------------------------------------------------------------
    def _item_json(r: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": r["id"],
            "space_id": r["space_id"],
            "author_id": r["author_id"],
            "author": r["author"],
            "created_at": r["created_at"],
            "kind": r["kind"],
            "title": r["title"],
            "body_text": r["body_text"],
            "thread_root_id": r["thread_root_id"],
            "replies": r["replies"],
        }

    @app.get("/api/spaces")
    def api_spaces() -> Response:
        v = viewer()
        return jsonify(
            [
                {
                    "id": s["id"],
                    "kind": s["kind"],
                    "visibility": s["visibility"],
                    "title": s["title"],
                    "items": s["n_items"],
                }
                for s in spaces_with_counts(v)[0]
            ]
        )

    @app.get("/api/spaces/<space_id>/items")
    def api_items(space_id: str) -> Response:
        v = viewer()
        s = queries.space(db(), v, space_id)
        if s is None:
            abort(404)
        audit_private(v, s["visibility"], "api space items", space_id)
        newest = request.args.get("order", "oldest") == "newest"
        rows, nxt = queries.timeline(
            db(), v, space_id, newest_first=newest, after=queries.Cursor.decode(request.args.get("after"))
        )
        return jsonify({"items": [_item_json(r) for r in rows], "next": nxt.encode() if nxt else None})

    @app.get("/api/search")
    def api_search() -> Response:
        v = viewer()
        rows, nxt = _search(v)
        audit_rows(v, rows, "api search result")
        items = [{**_item_json(r), "snippet": str(_highlight(r["snippet"]))} for r in rows]
        return jsonify({"items": items, "next": nxt.encode() if nxt else None})

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; img-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self';"
            " frame-ancestors 'none';"
            " base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.errorhandler(404)
    def _not_found(_e: Exception) -> tuple[Any, int]:
        if request.path.startswith("/api/"):
            return jsonify(error="not found"), 404
        return render_template("error.html", code=404), 404

    return app
