"""Nonces of signed party calls in the flow database, so replays fail in every worker and after a restart."""
from __future__ import annotations

import threading
import time

from peewee import IntegrityError

from fate_flow.db.base import DB, now_ms
from fate_flow.db.models import RequestNonce


class DatabaseNonceStore:
    """``t_request_nonce``: one row per accepted nonce, pruned once its timestamp leaves the window.

    A request is accepted only within ``max_age`` seconds of its timestamp, so a nonce
    older than that can be forgotten: a replay of it is refused as stale anyway.
    """

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._last_prune = 0.0
        self._lock = threading.Lock()

    def remember(self, party_id: str, nonce: str, timestamp: float) -> bool:
        """Insert the nonce; False if a row for it exists (the unique key refuses the replay)."""
        self._prune_now_and_then()
        try:
            with DB.atomic():
                RequestNonce.insert(f_nonce=f"{party_id}:{nonce}", f_timestamp=int(timestamp),
                                    f_create_time=now_ms()).execute()
        except IntegrityError:
            return False
        return True

    def _prune_now_and_then(self) -> None:
        now = time.time()
        with self._lock:
            if now - self._last_prune < max(1.0, self.max_age / 10):
                return
            self._last_prune = now
        # one second of margin for the integer timestamps
        RequestNonce.delete().where(RequestNonce.f_timestamp < int(now - self.max_age) - 1).execute()
