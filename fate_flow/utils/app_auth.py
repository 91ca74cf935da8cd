"""API keys for the user routes: FATE-Flow 1.7's request signature, for clients and the server alike.

A client holding an app key and its secret key sends four headers with every request:
``TIMESTAMP`` (milliseconds since the epoch), ``NONCE`` (unique per request), ``APP_KEY`` and
``SIGNATURE`` = base64(HMAC-SHA1(secret key, the lines, joined by ``\\n``, of: the timestamp,
the nonce, the app key, the path with its query string, the JSON body (empty unless the body
is JSON and not empty), the url-encoded form sorted by name (empty unless the body is a
url-encoded form))). That is the formula of FATE-Flow 1.7+'s ``http_app_key`` and of the
``flow_sdk`` clients that sign, so those clients work unchanged. A multipart body (an upload)
is not part of the signature, as in 1.7; its settings travel in the signed query string.

This module stays light (no flask, requests or peewee): clients and task processes import it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
import uuid
from typing import Iterable, Mapping
from urllib.parse import parse_qsl, quote, urlencode

AUTH_HEADERS = ("TIMESTAMP", "NONCE", "APP_KEY", "SIGNATURE")
TIMESTAMP_HEADER, NONCE_HEADER, APP_KEY_HEADER, SIGNATURE_HEADER = AUTH_HEADERS
# where the clients (fate_flow_client.py, AppKeyAuth) find the key when none is passed
APP_KEY_ENV = "FATE_FLOW_APP_KEY"
SECRET_KEY_ENV = "FATE_FLOW_SECRET_KEY"


def form_bytes(form: Iterable[tuple[str, str]] | Mapping[str, str] | None) -> bytes:
    """The form line of the signature: sorted ``name=value`` pairs, RFC 3986 percent-encoding."""
    if not form:
        return b""
    items = sorted(form.items() if isinstance(form, Mapping) else form)
    return urlencode(items, quote_via=quote, safe="-._~").encode("ascii")


def compute_app_signature(secret_key: str, timestamp: str, nonce: str, app_key: str, path_url: str,
                          json_body: bytes = b"", form: bytes = b"") -> str:
    """Base64 HMAC-SHA1 of the request lines (see the module docstring).

    Args:
        path_url: the request path and, when there is one, ``?`` and the query string, as sent.
        json_body: the exact JSON bytes sent, or b"" when the body is not JSON or is empty.
        form: ``form_bytes`` of a url-encoded form body, else b"".
    """
    message = b"\n".join((timestamp.encode("ascii"), nonce.encode("ascii"), app_key.encode("ascii"),
                          path_url.encode("ascii"), json_body, form))
    digest = hmac.new(secret_key.encode("ascii"), message, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def app_auth_headers(app_key: str, secret_key: str, path_url: str, json_body: bytes = b"",
                     form: Mapping[str, str] | None = None, now: float | None = None) -> dict[str, str]:
    """The four headers that authenticate one request (a fresh nonce each call).

    Args:
        path_url: path and query string exactly as they go on the request line.
        json_body: the JSON bytes sent; pass b"" for an empty JSON object, as FATE's clients do.
        form: the fields of a url-encoded form body, if that is the body.
        now: seconds since the epoch to sign (tests pin it).
    """
    timestamp = str(round((time.time() if now is None else now) * 1000))
    nonce = str(uuid.uuid4())
    signature = compute_app_signature(secret_key, timestamp, nonce, app_key, path_url, json_body, form_bytes(form))
    return {TIMESTAMP_HEADER: timestamp, NONCE_HEADER: nonce, APP_KEY_HEADER: app_key, SIGNATURE_HEADER: signature}


def json_part(body: bytes) -> bytes:
    """What a JSON body contributes: nothing for an empty one (``{}``, ``[]``, blank), as FATE's clients sign."""
    stripped = body.strip()
    return b"" if stripped in (b"", b"{}", b"[]", b"null") else body


def keys_from_env(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(app key, secret key) from FATE_FLOW_APP_KEY/FATE_FLOW_SECRET_KEY, or None when either is unset."""
    environ = os.environ if environ is None else environ
    app_key, secret_key = environ.get(APP_KEY_ENV, "").strip(), environ.get(SECRET_KEY_ENV, "").strip()
    return (app_key, secret_key) if app_key and secret_key else None


def new_key_pair() -> tuple[str, str]:
    """A fresh (app key, secret key): 32 and 43 URL-safe characters from the OS's random source."""
    return secrets.token_hex(16), secrets.token_urlsafe(32)


class AppKeyAuth:
    """Signs each request of a ``requests`` call: ``requests.post(url, json=body, auth=AppKeyAuth())``.

    Args:
        app_key, secret_key: the key pair; both default to FATE_FLOW_APP_KEY/FATE_FLOW_SECRET_KEY.
    Raises:
        ValueError: no key pair given and none in the environment.
    """

    def __init__(self, app_key: str | None = None, secret_key: str | None = None) -> None:
        if not (app_key and secret_key):
            pair = keys_from_env()
            if pair is None:
                raise ValueError(f"no app key: pass one or set {APP_KEY_ENV} and {SECRET_KEY_ENV}")
            app_key, secret_key = pair
        self.app_key, self.secret_key = app_key, secret_key

    def __call__(self, prepared):
        """Add the four headers to a ``requests.PreparedRequest`` (its body is final by now)."""
        body = prepared.body if isinstance(prepared.body, (bytes, str)) else b""
        body = body.encode("utf-8") if isinstance(body, str) else body
        content_type = prepared.headers.get("Content-Type", "")
        json_body = json_part(body) if content_type.startswith("application/json") else b""
        form = None
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = dict(reversed(parse_qsl(body.decode("ascii"), keep_blank_values=True)))  # first value wins
        prepared.headers.update(app_auth_headers(self.app_key, self.secret_key, prepared.path_url, json_body, form))
        return prepared
