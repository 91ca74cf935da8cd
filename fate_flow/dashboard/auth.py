"""Who may see the dashboard, and which browser requests may change state.

On a loopback bind the machine's users are trusted, as for the CLI. On any other bind the
dashboard's pages and its /v1/board routes need a login (a user of ``fateboard.users`` with a
werkzeug password hash, or one of ``fateboard.tokens``). Whatever the bind, a state-changing
request sent by a browser must come from the dashboard's own origin, and one carrying the login
cookie must also carry its CSRF token: another site can make a browser post, not read the token.
"""
from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, g, jsonify, redirect, request, session, url_for
from werkzeug.security import check_password_hash

from fate_flow.errors import GENERIC_ERROR
from fate_flow.settings import Settings
from fate_flow.utils.response import envelope

# the pages and routes only the dashboard uses (the /v1 read routes stay as open as for the CLI)
BOARD_PATHS = ("/index.html", "/board/", "/v1/board/")
OPEN_PATHS = ("/board/login", "/board/static/")
CSRF_HEADER = "X-CSRF-Token"


def install_auth(app: Flask, settings: Settings) -> None:
    """Give the app its cookie key and the checks above, run before every request."""
    app.secret_key = settings.dashboard.secret_key or _work_dir_key(settings.run_dir)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_NAME="fate_board")
    # the /v1 routes the page reads need an identity too when app keys are required
    needs_login = not settings.is_loopback_only or settings.requires_app_keys

    def guard():
        refused = _cross_site_refusal()
        if refused is None and needs_login and _is_board_path(request.path) and not is_logged_in(settings):
            return _login_required()
        return refused

    app.before_request(guard)


def csrf_token() -> str:
    """The session's CSRF token, made on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def is_logged_in(settings: Settings) -> bool:
    """True if the session holds a login or the request carries a configured token."""
    if session.get("user") or g.get("fate_user"):  # logged in, or an app-key signed call
        return True
    token = request.args.get("token") or request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token and any(hmac.compare_digest(token, t) for t in settings.dashboard.tokens):
        session["user"] = "token"
        return True
    return False


def check_login(settings: Settings, user: str, password: str) -> bool:
    """True if ``password`` matches ``user``'s hash in the settings."""
    stored = settings.dashboard.users.get(user)
    return bool(stored) and check_password_hash(stored, password)


def login_identity(settings: Settings, name: str, password: str) -> str | None:
    """Who logs in: a user of fateboard.users, or the user of an app key typed with its secret key.

    The app keys make the dashboard and the API clients share one set of identities.
    """
    if check_login(settings, name, password):
        return name
    from fate_flow.db.models import AppKey  # the dashboard's pages need no database otherwise

    row = AppKey.get_or_none(AppKey.f_app_key == name) if name and len(name) <= 32 else None
    if row is not None and hmac.compare_digest(row.f_secret_key.encode(), password.encode()):
        return row.f_user
    return None


def _is_board_path(path: str) -> bool:
    return (path == "/" or path.startswith(BOARD_PATHS)) and not path.startswith(OPEN_PATHS)


def _login_required():
    if request.path.startswith("/v1/"):
        return jsonify(envelope(GENERIC_ERROR, "login required")), 401
    return redirect(url_for("board.login", next=request.full_path if request.args else request.path))


def _cross_site_refusal():
    """A 403 answer for a browser's state-changing request from another origin or without its token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if origin and urlsplit(origin).netloc != request.host:
        return jsonify(envelope(GENERIC_ERROR, "cross-site request refused")), 403
    if session.get("user") and request.path != "/board/login":
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            return jsonify(envelope(GENERIC_ERROR, "missing or wrong CSRF token")), 403
    return None


def _work_dir_key(run_dir: Path) -> str:
    """A random key kept in the run dir, so gunicorn workers and restarts share it."""
    path = run_dir / "board_secret"
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip() or _work_dir_key_retry(path)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip()


def _work_dir_key_retry(path: Path) -> str:
    """Another worker created the file a moment ago and is writing it: read it again shortly."""
    import time

    for _ in range(50):
        time.sleep(0.01)
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    raise RuntimeError(f"{path} stays empty")
