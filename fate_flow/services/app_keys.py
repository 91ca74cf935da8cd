"""The API keys of users and applications (``t_app_key``) and the check of a signed user request.

Keys are made by ``fate_flow_server.py key create --user NAME``, which prints the secret once;
``key list`` shows keys and users, never secrets; ``key delete`` revokes one at once. The check
follows FATE-Flow 1.7 (see ``fate_flow.utils.app_auth``) and adds replay refusal: a nonce is
accepted once while its timestamp is in the window, kept in the same table as the nonces of
signed party calls, so every gunicorn worker and a restarted server refuse the replay.
"""
from __future__ import annotations

import hmac
import re
import time
from dataclasses import dataclass
from typing import Mapping

from fate_flow.db.models import AppKey
from fate_flow.errors import ArgumentError, BadAppSignature, ReplayedRequest, StaleRequest, UnknownAppKey
from fate_flow.party.nonce_store import DatabaseNonceStore
from fate_flow.utils.app_auth import AUTH_HEADERS, compute_app_signature, new_key_pair

_APP_KEY = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{8,60}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,15}$")
_SIGNATURE = re.compile(r"^[A-Za-z0-9+/=]{1,100}$")
_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")
# prefix of an app request's nonce in t_request_nonce (party nonces are "<party id>:<nonce>")
_NONCE_PREFIX = "app"


@dataclass(frozen=True)
class SignedRequest:
    """What the check needs of a request: its auth headers and the signed parts of its body."""

    headers: Mapping[str, str]
    path_url: str
    json_body: bytes
    form: bytes


def create_key(user: str, description: str = "") -> tuple[str, str]:
    """Store a new key for ``user``; return (app key, secret key). The secret is shown only here."""
    if not _USER.match(user or ""):
        raise ArgumentError("user", "must be 1-100 letters, digits or _.@-")
    app_key, secret_key = new_key_pair()
    AppKey.create(f_app_key=app_key, f_secret_key=secret_key, f_user=user, f_description=description[:255] or None)
    return app_key, secret_key


def list_keys() -> list[dict]:
    """Every key with its user, description and creation time; never the secret."""
    return [{"app_key": row.f_app_key, "user": row.f_user, "description": row.f_description or "",
             "create_time": row.f_create_time} for row in AppKey.select().order_by(AppKey.f_create_time)]


def delete_key(app_key: str) -> bool:
    """Revoke ``app_key``; False if there was no such key."""
    return AppKey.delete().where(AppKey.f_app_key == app_key).execute() > 0


class AppKeyVerifier:
    """Checks the app-key headers of user requests.

    Args:
        max_age: seconds a request's timestamp may be away from this server's clock
            (security.max_age, shared with party calls so one nonce table serves both).
    """

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self.nonces = DatabaseNonceStore(max_age)

    def verify(self, request: SignedRequest, now: float | None = None) -> str:
        """The user the request's key belongs to; raise an AuthenticationError subclass saying why not."""
        values = [request.headers.get(name) or "" for name in AUTH_HEADERS]
        missing = [name for name, value in zip(AUTH_HEADERS, values) if not value]
        if missing:
            raise UnknownAppKey(f"unsigned request (missing header {', '.join(missing)})")
        timestamp, nonce, app_key, signature = values
        if not (_APP_KEY.match(app_key) and _NONCE.match(nonce) and _TIMESTAMP.match(timestamp)
                and _SIGNATURE.match(signature)):
            raise UnknownAppKey("malformed TIMESTAMP, NONCE, APP_KEY or SIGNATURE header")
        row = AppKey.get_or_none(AppKey.f_app_key == app_key)
        if row is None:
            raise UnknownAppKey(f"unknown app key {app_key}")
        sent_at = int(timestamp) / 1000
        skew = (time.time() if now is None else now) - sent_at
        if abs(skew) > self.max_age:
            raise StaleRequest(f"timestamp {'behind' if skew > 0 else 'ahead of'} this server's clock by "
                               f"{abs(skew):.0f} s (max_age {self.max_age:g} s)")
        expected = compute_app_signature(row.f_secret_key, timestamp, nonce, app_key, request.path_url,
                                         request.json_body, request.form)
        if not hmac.compare_digest(expected, signature):
            raise BadAppSignature(f"bad signature for app key {app_key}")
        if not self.nonces.remember(f"{_NONCE_PREFIX}:{app_key}", nonce, sent_at):
            raise ReplayedRequest(f"replayed request (nonce already used with app key {app_key})")
        return row.f_user
