"""Calls from this server to the FATE-Flow server of any party, standalone or cluster.

In standalone every party is this very server, reached over HTTP like any other, so
the scheduler has one code path. In cluster mode the route table maps party ids to
servers; local jobs (party 0) and this server's own parties never leave the machine.
"""
from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

import requests

from fate_flow.errors import FederationError
from fate_flow.settings import Settings
from fate_flow.utils.signing import make_signer, own_signing_party, signing_enabled

logger = logging.getLogger("fate_flow.federated_api")


class FederatedClient:
    """Sends JSON requests to parties' servers and returns their answers."""

    def __init__(self, settings: Settings, timeout: float = 60.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._local = threading.local()
        self._signer = (make_signer(settings.security.secret, own_signing_party(settings))
                        if signing_enabled(settings) else None)

    def address_of(self, party_id: Any) -> str:
        """``host:port`` of the server that answers for ``party_id``."""
        party = str(party_id)
        if self.settings.work_mode == 0 or party == "0" or int(party) in self.settings.party_ids:
            return self.settings.address
        try:
            return self.settings.routes[party].replace("http://", "").rstrip("/")
        except KeyError:
            raise FederationError("", party, "", f"no route to party {party} in service conf routes") from None

    def call(self, role: str, party_id: Any, endpoint: str, body: dict | None = None,
             method: str = "POST", timeout: float | None = None) -> dict:
        """Send ``body`` to ``endpoint`` on the party's server; raise FederationError if unreachable."""
        address = self.address_of(party_id)
        try:
            resp = self.send(address, endpoint, body, method, timeout)
            return resp.json()
        except requests.RequestException as exc:
            reason = "timed out" if isinstance(exc, requests.Timeout) else "no connection"
            raise FederationError(role, party_id, endpoint, f"server {address} unreachable ({reason})") from exc
        except ValueError as exc:
            raise FederationError(role, party_id, endpoint, f"answer is not JSON (HTTP {resp.status_code})") from exc

    def try_call(self, role: str, party_id: Any, endpoint: str, body: dict | None = None) -> dict:
        """``call``, with an unreachable party turned into a retcode 100 answer."""
        try:
            return self.call(role, party_id, endpoint, body)
        except FederationError as exc:
            return {"retcode": exc.retcode, "retmsg": exc.retmsg}

    def send(self, address: str, endpoint: str, body: dict | None = None, method: str = "POST",
             timeout: float | None = None) -> requests.Response:
        """Send ``body`` as JSON to the server at ``address``, signed when signing is on; the raw response."""
        payload = json.dumps(body or {}).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self._signer is not None:
            headers.update(self._signer(method, endpoint, payload))
        return self._session().request(method, f"http://{address}{endpoint}", data=payload, headers=headers,
                                       timeout=timeout or self.timeout)

    def call_all(self, parties: Iterable[tuple[str, Any]], endpoint_for, body: dict | Callable | None = None,
                 stop_on_error: bool = False) -> dict[tuple[str, str], dict]:
        """Call ``endpoint_for(role, party_id)`` on every party at once; errors become retcode 100 answers.

        ``body`` is the same for every party, or a function ``(role, party_id) -> dict`` giving each its own.
        """
        parties = list(parties)
        if not parties:
            return {}

        def one(party: tuple[str, Any]) -> dict:
            role, party_id = party
            try:
                return self.call(role, party_id, endpoint_for(role, party_id),
                                 body(role, party_id) if callable(body) else body)
            except FederationError as exc:
                if stop_on_error:
                    raise
                logger.warning("%s", exc)
                return {"retcode": exc.retcode, "retmsg": exc.retmsg}

        if len(parties) == 1:
            results = [one(parties[0])]
        else:
            with ThreadPoolExecutor(min(len(parties), 8)) as pool:
                results = list(pool.map(one, parties))
        return {(role, str(party_id)): answer for (role, party_id), answer in zip(parties, results)}

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # never route party calls through an environment proxy
        return session


def all_parties(roles: dict[str, list]) -> list[tuple[str, str]]:
    """(role, party_id) pairs of a runtime conf role dict, in conf order, without duplicates."""
    seen, out = set(), []
    for role, ids in roles.items():
        for party_id in ids:
            key = (role, str(party_id))
            if key not in seen:
                seen.add(key)
                out.append(key)
    return out
