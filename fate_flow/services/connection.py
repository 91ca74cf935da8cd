"""The connection test: for every route, which hop between this party and the other one fails.

Hops, in order: ``tcp`` (a connection to the route's address), ``http`` (a FATE-Flow server
answers there), ``signature`` (it accepts our signed ping and answers for the party we
expect), ``route_back`` (it reaches us through its own route table, signed, in turn).
"""
from __future__ import annotations

import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Optional, Tuple

import requests

from fate_flow.errors import ArgumentError, FlowError
from fate_flow.party.client import FederatedClient
from fate_flow.settings import Settings
from fate_flow.utils.signing import own_signing_party

logger = logging.getLogger("fate_flow.connection")

PING_PATH = "/v1/party/ping"
HOPS = ("tcp", "http", "signature", "route_back")

# (hop, why) of the first hop that failed, None when it passed
Failure = Optional[Tuple[str, str]]


def test_routes(settings: Settings, api: FederatedClient, party_ids: Iterable[Any] | None = None,
                timeout: float = 5.0) -> list[dict]:
    """One entry per route (or per asked party): ``{party_id, address, ok, failed_hop, retmsg, elapsed_ms}``."""
    routes = {str(p): a for p, a in settings.routes.items()}
    wanted = [str(p) for p in party_ids] if party_ids else list(routes)
    unknown = [p for p in wanted if p not in routes]
    if unknown:
        raise ArgumentError("party_id", f"{', '.join(unknown)} has no route in the service conf routes")
    if not wanted:
        return []
    me = own_signing_party(settings)
    with ThreadPoolExecutor(min(len(wanted), 8)) as pool:
        return list(pool.map(lambda p: check_route(api, me, p, routes[p], timeout), wanted))


def check_route(api: FederatedClient, own_party: str, party_id: str, address: str, timeout: float) -> dict:
    """Walk the hops to one party's server; stop at the first that fails."""
    started = time.monotonic()
    address = address.replace("http://", "").rstrip("/")
    failure = (_tcp(address, timeout) or _http(api, address, timeout)
               or _signed_ping(api, own_party, party_id, address, timeout))
    hop, retmsg = failure or (None, "success")
    if failure:
        logger.warning("connection test to party %s at %s: %s hop failed: %s", party_id, address, hop, retmsg)
    return {"party_id": party_id, "address": address, "ok": failure is None, "failed_hop": hop,
            "retmsg": retmsg, "elapsed_ms": int((time.monotonic() - started) * 1000)}


def _tcp(address: str, timeout: float) -> Failure:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return "tcp", f"bad address {address!r} (want host:port)"
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        return "tcp", f"can not connect to {address}: {exc.strerror or exc}"
    return None


def _http(api: FederatedClient, address: str, timeout: float) -> Failure:
    try:
        resp = api.send(address, "/v1/version/get", {"module": "FATE"}, timeout=timeout)
        answer = resp.json()
    except requests.RequestException as exc:
        return "http", f"no HTTP answer from {address}: {type(exc).__name__}"
    except ValueError:
        return "http", f"{address} is not a FATE-Flow server (HTTP {resp.status_code}, not JSON)"
    if not isinstance(answer, dict) or answer.get("retcode") != 0:
        return "http", f"{address} is not a FATE-Flow server (answer {str(answer)[:200]})"
    return None


def _signed_ping(api: FederatedClient, own_party: str, party_id: str, address: str, timeout: float) -> Failure:
    body = {"src_party_id": own_party, "party_id": party_id, "ping_back": True}
    try:
        # the remote pings us back before it answers: give it its own timeout on top of ours
        resp = api.send(address, PING_PATH, body, timeout=timeout * 2 + 1)
        answer = resp.json()
    except (requests.RequestException, ValueError) as exc:
        return "signature", f"the ping to {address} got no JSON answer: {type(exc).__name__}"
    if not isinstance(answer, dict):
        return "signature", f"the ping to {address} got {type(answer).__name__}, not a {{retcode, retmsg}} answer"
    if resp.status_code == 403 or answer.get("retcode") != 0:
        return "signature", str(answer.get("retmsg") or f"HTTP {resp.status_code}")
    data = answer.get("data") or {}
    if party_id not in [str(p) for p in data.get("party_ids") or []]:
        return "signature", f"the server at {address} answers for parties {data.get('party_ids')}, not {party_id}"
    back = data.get("route_back") or {}
    if not back.get("ok"):
        return "route_back", f"party {party_id} can not reach us: {back.get('retmsg')}"
    return None


def answer_ping(settings: Settings, api: FederatedClient, caller: str | None, ping_back: bool,
                timeout: float = 5.0) -> dict:
    """What /v1/party/ping answers; with ``ping_back``, the outcome of a signed ping to the caller."""
    answer: dict[str, Any] = {"party_ids": [str(p) for p in settings.party_ids], "caller": caller}
    if ping_back:
        answer["route_back"] = _ping(api, caller, timeout)
    return answer


def _ping(api: FederatedClient, party_id: str | None, timeout: float) -> dict:
    if not party_id:
        return {"ok": False, "retmsg": "the caller did not say which party it is"}
    try:
        reply = api.call("", party_id, PING_PATH, {"src_party_id": own_signing_party(api.settings)},
                         timeout=timeout)
    except FlowError as exc:
        return {"ok": False, "retmsg": exc.retmsg}
    if reply.get("retcode") != 0:
        return {"ok": False, "retmsg": str(reply.get("retmsg"))}
    return {"ok": True, "retmsg": "success"}
