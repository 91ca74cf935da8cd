"""RSA intersection's id cache (``intersect_cache_param.use_cache``), kept in Redis.

The costly part of an RSA intersection on the host is signing every own id with its private
key. With the cache, the host keeps its key and its signed ids ("processed ids") as a
*version* of an id library, and the guest keeps its copy of the version it received; the
next job between the same parties on the same ids reuses both: the host neither signs its
own ids again nor sends them, and the guest reads its copy.

Namespace (FATE's): ``id_library_cache#<host party>#<guest party>#<id_type>#<encrypt_type>#Za``.
Each party keeps its own entries under ``fate_flow:id_cache:<role>:<party>:<namespace>``
(two parties sharing one Redis never read each other's):

    <prefix>:version                 the current version (a uuid)
    <prefix>:<version>:key           host only: the RSA key {n, e, d, p, q} as decimal strings
    <prefix>:<version>:partitions    the partition count the version was written with
    <prefix>:<version>:<i>           partition i's signed-id digests (32 bytes each, row order)
    <prefix>:<version>:<i>:ids       host only: SHA-256 of partition i's ids in row order (the
                                     version serves only the same ids, in the same partitioning)

As in FATE, Redis also holds the write lock: key ``<prefix>``, value the version being written,
expiring after 10800 s, deleted once written; a reader that finds it polls once a second. FATE
keeps the key in its flow database and the digests in an eggroll table; here both are in Redis,
so that a component needs no database. The address is the server's ``id_cache.redis`` setting,
which reaches the task as ``ComponentContext.id_cache_redis`` (default ``redis://127.0.0.1:6379/0``).
"""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

import numpy as np

from fate_flow.components.intersection.rsa import RsaKey
from fate_flow.components.intersection.wire import DIGEST_BYTES
from fate_flow.settings import DEFAULT_ID_CACHE_REDIS

DEFAULT_REDIS = DEFAULT_ID_CACHE_REDIS
LOCK_TTL = 10800
LOCK_WAIT = 600


def cache_namespace(host_party: Any, guest_party: Any, id_type: str, encrypt_type: str) -> str:
    """FATE's namespace of one host's id library for one guest."""
    return f"id_library_cache#{host_party}#{guest_party}#{id_type}#{encrypt_type}#Za"


def id_fingerprint(block: Any) -> bytes:
    """SHA-256 of a partition's ids in row order (a kernel; ``block`` is the partition's rows)."""
    from fate_flow.computing.recipes import block_ids

    digest = hashlib.sha256()
    for value in block_ids(block).to_pylist():
        digest.update(str(value).encode("utf-8") + b"\0")
    return digest.digest()


class IdCache:
    """One party's entries of one namespace in Redis."""

    def __init__(self, role: str, party: Any, namespace: str, client: Any = None, url: str = DEFAULT_REDIS) -> None:
        self.namespace = namespace
        self.prefix = f"fate_flow:id_cache:{role}:{party}:{namespace}"
        self.url = url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import redis

            url = self.url
            client = redis.Redis.from_url(url)
            try:
                client.ping()
            except (redis.RedisError, OSError) as exc:
                raise RuntimeError(f"intersect_cache_param.use_cache needs the Redis at {url} "
                                   f"(the server's id_cache.redis setting): {exc}") from None
            self._client = client
        return self._client

    # ---- reading ----

    def current_version(self, wait: float = LOCK_WAIT) -> str | None:
        """The current version, after any write under way has finished (polling once a second)."""
        deadline = time.monotonic() + wait
        while self.client.exists(self.prefix) and time.monotonic() < deadline:
            time.sleep(1)
        value = self.client.get(f"{self.prefix}:version")
        return value.decode() if value is not None else None

    def read_key(self, version: str) -> RsaKey | None:
        raw = self.client.get(f"{self.prefix}:{version}:key")
        if raw is None:
            return None
        fields = json.loads(raw)
        return RsaKey(**{name: int(fields[name]) for name in ("n", "e", "d", "p", "q")})

    def partitions(self, version: str) -> int | None:
        raw = self.client.get(f"{self.prefix}:{version}:partitions")
        return int(raw) if raw is not None else None

    def read_digests(self, version: str, partition: int) -> np.ndarray:
        """Partition ``partition``'s digests as uint8 rows; ValueError when the entry is gone or damaged."""
        raw = self.client.get(f"{self.prefix}:{version}:{partition}")
        if raw is None or len(raw) % DIGEST_BYTES:
            raise ValueError(f"id cache {self.namespace} version {version}: partition {partition} is missing")
        return np.frombuffer(raw, dtype=np.uint8).reshape(-1, DIGEST_BYTES)

    def fingerprints(self, version: str, partitions: int) -> list[bytes | None]:
        return self.client.mget([f"{self.prefix}:{version}:{i}:ids" for i in range(partitions)])

    # ---- writing ----

    def write(self, version: str, digests: list[np.ndarray], key: RsaKey | None = None,
              fingerprints: list[bytes] | None = None) -> None:
        """Write ``version`` under the lock, make it current and drop the version it replaces."""
        client = self.client
        deadline = time.monotonic() + LOCK_WAIT
        while not client.set(self.prefix, version, nx=True, ex=LOCK_TTL):  # another task writes: wait for it
            if time.monotonic() > deadline:
                raise RuntimeError(f"id cache {self.namespace} is still being written by another task "
                                   f"after {LOCK_WAIT} s")
            time.sleep(1)
        try:
            old = client.get(f"{self.prefix}:version")
            pipe = client.pipeline()
            if key is not None:
                pipe.set(f"{self.prefix}:{version}:key", json.dumps(
                    {name: str(getattr(key, name)) for name in ("n", "e", "d", "p", "q")}))
            pipe.set(f"{self.prefix}:{version}:partitions", len(digests))
            for i, rows in enumerate(digests):
                pipe.set(f"{self.prefix}:{version}:{i}", np.ascontiguousarray(rows, dtype=np.uint8).tobytes())
                if fingerprints is not None:
                    pipe.set(f"{self.prefix}:{version}:{i}:ids", fingerprints[i])
            pipe.set(f"{self.prefix}:version", version)
            pipe.execute()
            if old is not None and old.decode() != version:
                self.drop(old.decode())
        finally:
            client.delete(self.prefix)

    def drop(self, version: str) -> None:
        keys = list(self.client.scan_iter(match=f"{self.prefix}:{version}:*"))
        if keys:
            self.client.delete(*keys)


def new_version() -> str:
    return uuid.uuid4().hex
