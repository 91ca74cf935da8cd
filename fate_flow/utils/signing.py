"""Signed party-to-party calls: HMAC-SHA256 over the request, a timestamp and a one-time nonce.

The sender signs ``method\\npath\\ntimestamp\\nnonce\\nsha256(body)`` with its party's secret
and sends the result in four headers. The receiver looks the caller's secret up by the
claimed party id, recomputes the HMAC, refuses timestamps more than ``max_age`` seconds
away from its own clock, and remembers every nonce until its timestamp leaves that window,
so a captured request can not be played again. ``path`` is the decoded request path
without the query string (what Flask's ``request.path`` gives); senders may pass it
percent-encoded and with a query string, ``sign_headers`` normalises it.

This module stays light (no flask, requests or peewee): task processes import it.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Protocol
from urllib.parse import unquote

from fate_flow.errors import SignatureError

if TYPE_CHECKING:
    from fate_flow.settings import SecuritySettings, Settings

SIGNATURE_HEADERS = ("X-Fate-Party", "X-Fate-Timestamp", "X-Fate-Nonce", "X-Fate-Signature")
PARTY_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER = SIGNATURE_HEADERS
# what the launcher hands a task process so that its calls are signed too
SECRET_ENV = "FATE_FLOW_PARTY_SECRET"
PARTY_ENV = "FATE_FLOW_SIGN_PARTY"
# party 0 runs local jobs (upload, download): it is always this server
LOCAL_PARTY = "0"

_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_PARTY = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")

Signer = Callable[[str, str, bytes], "dict[str, str]"]


class SecurityConfigError(ValueError):
    """The security settings can not work (e.g. signing on without a secret); the server refuses to start."""


def signing_enabled(settings: "Settings") -> bool:
    """Signing is on in cluster mode, when asked for, and whenever privileges are enforced.

    Privileges are granted to party ids, so they mean nothing unless the caller's party
    id is proven; hence ``use_permission`` turns signing on as well.
    """
    security = settings.security
    return bool(security.sign_requests or security.use_permission or settings.work_mode == 1)


def check_security_settings(settings: "Settings") -> None:
    """Raise SecurityConfigError if this server would sign without a secret."""
    if signing_enabled(settings) and not settings.security.secret:
        why = "cluster mode (work_mode 1)" if settings.work_mode == 1 else "security.sign_requests/use_permission"
        raise SecurityConfigError(
            f"{why} signs party-to-party calls, but security.secret is empty: set this party's secret "
            f"in the service conf (and give it to the other parties as security.party_secrets.<party_id>)")


def own_signing_party(settings: "Settings") -> str:
    """The party id this server signs its own calls with (its first party, or 0)."""
    return str(settings.party_ids[0]) if settings.party_ids else LOCAL_PARTY


def _string_to_sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body or b"").hexdigest()
    return "\n".join((method.upper(), path, timestamp, nonce, digest)).encode("utf-8")


def compute_signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of the canonical request string."""
    message = _string_to_sign(method, path, timestamp, nonce, body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign_headers(secret: str, party_id: str, method: str, path: str, body: bytes,
                 now: float | None = None) -> dict[str, str]:
    """The four signature headers for one request (a fresh nonce each call).

    Args:
        secret: the signing party's secret.
        party_id: the party the request comes from (the receiver picks the secret by it).
        path: request path; a query string is ignored, percent-encoding is decoded first.
        body: the exact bytes sent.
        now: the timestamp to sign, seconds since the epoch (tests pin it).
    """
    timestamp = str(int(time.time() if now is None else now))
    nonce = secrets.token_hex(16)
    # the receiver sees the decoded path (Flask's request.path): sign that whatever was given
    path = unquote(path.split("?", 1)[0])
    return {PARTY_HEADER: str(party_id), TIMESTAMP_HEADER: timestamp, NONCE_HEADER: nonce,
            SIGNATURE_HEADER: compute_signature(secret, method, path, timestamp, nonce, body)}


def make_signer(secret: str, party_id: str) -> Signer:
    """``signer(method, path, body) -> headers`` bound to one party's secret."""
    def signer(method: str, path: str, body: bytes) -> dict[str, str]:
        return sign_headers(secret, party_id, method, path, body)
    return signer


def env_signer(environ: Mapping[str, str] | None = None) -> Signer | None:
    """The signer of a task process, from FATE_FLOW_PARTY_SECRET/FATE_FLOW_SIGN_PARTY; None if unset."""
    environ = os.environ if environ is None else environ
    secret, party = environ.get(SECRET_ENV), environ.get(PARTY_ENV)
    if not secret or not party:
        return None
    return make_signer(secret, party)


def task_environment(settings: "Settings", party_id: str) -> dict[str, str]:
    """Environment entries that make a task of ``party_id`` sign its calls (empty when signing is off)."""
    if not signing_enabled(settings):
        return {}
    return {SECRET_ENV: settings.security.secret, PARTY_ENV: str(party_id)}


class NonceStore(Protocol):
    """Remembers the nonces of accepted requests while their timestamps are in the window."""

    def remember(self, party_id: str, nonce: str, timestamp: float) -> bool:
        """Record the nonce; return False if it was already recorded (a replay)."""


class MemoryNonceStore:
    """Nonces in a dict of this process: for tests and single-process use."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def remember(self, party_id: str, nonce: str, timestamp: float) -> bool:
        horizon = time.time() - self.max_age
        with self._lock:
            self._seen = {k: t for k, t in self._seen.items() if t >= horizon}
            if (party_id, nonce) in self._seen:
                return False
            self._seen[(party_id, nonce)] = timestamp
            return True


class SignatureVerifier:
    """Checks the signature headers of incoming party calls.

    Args:
        security: the secrets and the accepted age of a request.
        own_party_ids: party ids of this server; calls claiming them use ``security.secret``.
        nonce_store: where accepted nonces are kept (shared by all workers in production).
    """

    def __init__(self, security: "SecuritySettings", own_party_ids: Iterable, nonce_store: NonceStore) -> None:
        self.security = security
        self.own_party_ids = {str(p) for p in own_party_ids} | {LOCAL_PARTY}
        self.nonce_store = nonce_store

    def secret_of(self, party_id: str) -> str | None:
        """The secret ``party_id`` signs with, or None if this server does not know the party."""
        if party_id in self.own_party_ids:
            return self.security.secret or None
        return self.security.party_secrets.get(party_id) or None

    def verify(self, method: str, path: str, body: bytes, headers: Mapping[str, str],
               now: float | None = None) -> str:
        """Return the caller's party id; raise SignatureError naming why the call is refused."""
        values = [headers.get(name) for name in SIGNATURE_HEADERS]
        if not all(values):
            missing = [name for name, value in zip(SIGNATURE_HEADERS, values) if not value]
            raise SignatureError(f"unsigned (missing {', '.join(missing)})")
        party_id, timestamp, nonce, signature = values
        if not _PARTY.match(party_id):
            raise SignatureError("unknown party (malformed party id)")
        secret = self.secret_of(party_id)
        if secret is None:
            raise SignatureError(f"unknown party {party_id} (no secret for it in security.party_secrets)")
        if not _NONCE.match(nonce):
            raise SignatureError("bad nonce")
        sent_at = self._check_age(timestamp, time.time() if now is None else now)
        expected = compute_signature(secret, method, path, timestamp, nonce, body)
        if not hmac.compare_digest(expected, signature.lower()):
            raise SignatureError(f"bad signature from party {party_id}")
        if not self.nonce_store.remember(party_id, nonce, sent_at):
            raise SignatureError(f"replayed request (nonce already used by party {party_id})")
        return party_id

    def _check_age(self, timestamp: str, now: float) -> float:
        if not _TIMESTAMP.match(timestamp):
            raise SignatureError("bad timestamp")
        sent_at = float(timestamp)
        skew = now - sent_at
        if skew > self.security.max_age:
            raise SignatureError(f"stale request (signed {int(skew)} s ago, max_age {self.security.max_age:g} s)")
        if -skew > self.security.max_age:
            raise SignatureError(f"request from the future (timestamp {int(-skew)} s ahead of this server's clock)")
        return sent_at
