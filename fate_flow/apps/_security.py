"""The guard in front of party-to-party routes: signature check, then privileges on schedule commands.

When signing is on (cluster mode, ``security.sign_requests`` or ``security.use_permission``)
every request under a party route must carry a valid signature of a known party, or it is
answered HTTP 403 with ``{retcode, retmsg}`` naming why and logged. The verified caller is
left in ``flask.g.fate_party`` for the routes.
"""
from __future__ import annotations

import json
import logging

from flask import Flask, g, jsonify, request

from fate_flow.apps._services import services
from fate_flow.errors import GENERIC_ERROR, PermissionDenied, SignatureError
from fate_flow.services.permission import check_schedule_call, schedule_command
from fate_flow.settings import Settings
from fate_flow.utils.response import envelope
from fate_flow.utils.signing import SignatureVerifier, check_security_settings, signing_enabled

logger = logging.getLogger("fate_flow.security")

# bytes a party call may carry beyond one federation chunk (schedule bodies, headers of a chunk)
PARTY_BODY_ALLOWANCE = 16 << 20
# routes only other parties' servers (and this party's tasks) call
PARTY_ROUTES = ("/v1/schedule/", "/v1/federation/", "/v1/party/ping", "/v1/model/load/do",
                "/v1/model/deploy/do", "/v1/model/migrate/do", "/v1/model/transfer", "/v1/serving/",
                "/v1/job/stop/do")


def install_security(app: Flask, settings: Settings) -> None:
    """Refuse a signing server without a secret; register the guard when signing is on."""
    check_security_settings(settings)
    if signing_enabled(settings):
        app.before_request(guard_party_call)


def is_party_route(path: str) -> bool:
    """True for the routes only other parties' servers (and this party's tasks) call."""
    return path.startswith(PARTY_ROUTES)


def _verifier() -> SignatureVerifier:
    verifier = services().verifier
    if verifier is None:  # the guard is only installed when signing is on
        raise RuntimeError("party call guard without a signature verifier")
    return verifier


def guard_party_call():
    """Flask before_request: None lets the request through, a 403 answer refuses it."""
    if not is_party_route(request.path):
        return None
    too_big = _oversized()
    if too_big:
        logger.warning("refused %s %s from %s: %s", request.method, request.path, request.remote_addr, too_big)
        return jsonify(envelope(GENERIC_ERROR, f"party call refused: {too_big}")), 413
    try:
        g.fate_party = _verifier().verify(request.method, request.path, request.get_data(cache=True),
                                          request.headers)
        _check_privilege(g.fate_party)
    except (SignatureError, PermissionDenied) as exc:
        logger.warning("refused %s %s from %s (party %s): %s", request.method, request.path,
                       request.remote_addr, request.headers.get("X-Fate-Party", "-"), exc.retmsg)
        return jsonify(envelope(exc.retcode, exc.retmsg)), 403
    return None


def _oversized() -> str:
    """Why the body is too big to read for checking (a federation chunk plus room), or ''."""
    limit = services().settings.federation.chunk_size + PARTY_BODY_ALLOWANCE
    length = request.content_length
    if length is None and request.headers.get("Transfer-Encoding", "").lower() == "chunked":
        return "a party call must declare its Content-Length"
    if length is not None and length > limit:
        return f"body of {length} bytes is larger than {limit}"
    return ""


def _check_privilege(caller: str) -> None:
    settings = services().settings
    if not settings.security.use_permission:
        return
    command = schedule_command(request.path)
    if command is None:
        return
    try:
        body = json.loads(request.get_data(cache=True) or b"{}")
    except ValueError:
        body = {}
    check_schedule_call(caller, settings.party_ids, command, body if isinstance(body, dict) else {})
