"""The models this server serves and the service ids bound to them, persisted so a restart keeps them.

``<work_dir>/serving/registry.json`` holds ``{"models": {name: entry}, "services": {service_id:
name}}`` with ``name = "<party model id>/<model version>"``. Every change is a
read-modify-write under a file lock, written to a temporary file and renamed, so readers
never see half a file and several processes (gunicorn workers) share one registry: each
re-reads the file when its modification stamp changed.
"""
from __future__ import annotations

import fcntl
import json
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fate_flow.stores.model_catalogue import ModelRef
from fate_flow.utils.model_layout import _write_atomic


class ModelKey(ModelRef):
    """One party's model version (path-safe, as every ModelRef), named as the registry keys it."""

    @property
    def name(self) -> str:
        return f"{self.party_model_id}/{self.model_version}"

    def to_dict(self) -> dict[str, str]:
        """The key as the registry file keeps it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelKey":
        """The key of a registry entry."""
        return cls(str(data["role"]), str(data["party_id"]), str(data["model_id"]), str(data["model_version"]))


class ServingRegistry:
    """Loaded models (with where their files are and when they were loaded) and bound service ids."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / "registry.json"
        self._lock = threading.Lock()
        self._state: dict[str, dict] = {"models": {}, "services": {}}
        self._stamp: tuple[int, int] | None = None

    def model(self, key: ModelKey) -> dict | None:
        """The entry of a loaded model (``key``, ``path``, ``loaded_at``), or None."""
        return self._current()["models"].get(key.name)

    def service(self, service_id: str) -> dict | None:
        """The entry of the model ``service_id`` is bound to, or None."""
        state = self._current()
        name = state["services"].get(service_id)
        return state["models"].get(name) if name else None

    def models(self) -> list[dict]:
        """Every loaded model's entry."""
        return list(self._current()["models"].values())

    def add_model(self, key: ModelKey, path: Path | None) -> dict:
        """Record ``key`` as loaded from ``path`` (None: the model cache); returns its entry."""
        entry = {"key": key.to_dict(), "path": str(path) if path else None, "loaded_at": int(time.time() * 1000)}
        self._update(lambda state: state["models"].__setitem__(key.name, entry))
        return entry

    def bind(self, service_id: str, key: ModelKey) -> None:
        """Point ``service_id`` at a loaded model (a later bind of the same id wins)."""
        self._update(lambda state: state["services"].__setitem__(service_id, key.name))

    # ---- persistence ------------------------------------------------------------------

    def _current(self) -> dict[str, dict]:
        stamp = self._file_stamp()
        if stamp != self._stamp:
            with self._lock:
                self._state, self._stamp = self._read(), stamp
        return self._state

    def _update(self, change) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.root / ".registry.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # other processes serving from this work dir
            state = self._read()
            change(state)
            _write_atomic(self.path, json.dumps(state, indent=2, sort_keys=True))  # one writer: the flock
            self._state, self._stamp = state, self._file_stamp()

    def _read(self) -> dict[str, dict]:
        if not self.path.exists():
            return {"models": {}, "services": {}}
        state = json.loads(self.path.read_text(encoding="utf-8"))
        return {"models": dict(state.get("models") or {}), "services": dict(state.get("services") or {})}

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return info.st_mtime_ns, info.st_ino
