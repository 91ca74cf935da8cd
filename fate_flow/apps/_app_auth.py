"""The guard in front of the user routes: an app-key signature, or the dashboard's login session.

On when ``settings.requires_app_keys`` (security.client_authentication; by default whenever the
server listens beyond loopback). It covers every ``/v1`` route except the internal ones (party
calls and task reports, which keep their own party signatures). A refused request is answered
with ``{retcode: 109, retmsg}`` and HTTP 401, 403 or 425, and logged without any secret.

A browser logged in to the dashboard (a user of fateboard.users, a token, or an app key and
its secret typed as name and password) calls the same routes with its session cookie, which is
HttpOnly and SameSite=Strict; the dashboard's own guard already requires its CSRF token on every
state-changing request. So the dashboard needs no secret in the page and signs nothing.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, g, jsonify, request, session

from fate_flow.apps import is_internal_call
from fate_flow.errors import AuthenticationError
from fate_flow.services.app_keys import AppKeyVerifier, SignedRequest
from fate_flow.settings import Settings
from fate_flow.utils.app_auth import APP_KEY_HEADER, AUTH_HEADERS, form_bytes, json_part
from fate_flow.utils.response import envelope
from fate_flow.utils.signing import signing_enabled

logger = logging.getLogger("fate_flow.security")

# where the werkzeug server leaves an APP_KEY header it would otherwise drop (its name has a '_')
APP_KEY_ENVIRON = "fate_flow.app_key"


def install_app_auth(app: Flask, settings: Settings) -> None:
    """Register the guard when the user routes need app keys."""
    if not settings.requires_app_keys:
        return
    if not signing_enabled(settings) and not settings.is_loopback_only:
        logger.warning("app keys guard the user routes, but party routes (/v1/schedule, /v1/federation, ...) "
                       "are unsigned on %s: set security.sign_requests and security.secret", settings.host)
    verifier = AppKeyVerifier(settings.security.max_age)

    def guard_user_call():
        if not request.path.startswith("/v1/") or is_internal_call(request.path):
            return None
        if session.get("user"):  # the dashboard's login (see the module docstring)
            g.fate_user = session["user"]
            return None
        try:
            g.fate_user = verifier.verify(signed_request())
        except AuthenticationError as exc:
            logger.warning("refused %s %s from %s (app key %s): HTTP %s %s", request.method, request.path,
                           request.remote_addr, _header(APP_KEY_HEADER)[:32] or "-", exc.status, exc.reason)
            return jsonify(envelope(exc.retcode, exc.retmsg)), exc.status
        return None

    app.before_request(guard_user_call)


def signed_request() -> SignedRequest:
    """The parts of the current request that its signature covers."""
    headers = {name: _header(name) for name in AUTH_HEADERS}
    json_body = json_part(request.get_data(cache=True)) if request.is_json else b""
    form = form_bytes(list(request.form.items())) if request.mimetype == "application/x-www-form-urlencoded" else b""
    return SignedRequest(headers=headers, path_url=_path_url(), json_body=json_body, form=form)


def _header(name: str) -> str:
    if name == APP_KEY_HEADER and request.environ.get(APP_KEY_ENVIRON):
        return request.environ[APP_KEY_ENVIRON]
    return request.headers.get(name, "")


def _path_url() -> str:
    """Path and query string as the client sent them (the raw request target when the server gives it)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    if raw.startswith(("http://", "https://")):  # absolute form, through a proxy
        parts = urlsplit(raw)
        raw = parts.path + (f"?{parts.query}" if parts.query else "")
    return raw if raw.startswith("/") else request.full_path.rstrip("?")
