"""A light JSON-over-HTTP client (stdlib only) for task processes, which must start fast."""
from __future__ import annotations

import http.client
import json
from typing import Any

from fate_flow.utils.signing import env_signer


def post_json(address: str, path: str, body: Any, timeout: float = 30.0) -> dict:
    """POST ``body`` as JSON to ``http://address{path}`` (signed if the task may sign); return the answer.

    Raises OSError on connection problems and ValueError if the answer is not JSON.
    """
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        payload = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        signer = env_signer()  # set by the launcher when this party signs its calls
        if signer is not None:
            headers.update(signer("POST", path, payload))
        conn.request("POST", path, body=payload, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ValueError(f"{path}: HTTP {resp.status}, answer is not JSON: {data[:200]!r}") from exc
