"""The catalogue of this party's models: one ``t_machine_learning_model_meta`` row per model version.

A model is the version directory ``model_local_cache/<role>#<party_id>#<model_id>/<version>/``
(layout in ``fate_flow.utils.model_layout``). Rows are written when a train job's pipeline is
saved and when a model is imported or restored; ``models()`` also picks up directories that
appeared on disk and drops rows whose directory is gone.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from fate_flow.db import MachineLearningModelMeta, now_ms
from fate_flow.errors import ArgumentError
from fate_flow.model_storage.archive import check_model_name
from fate_flow.utils import model_layout
from fate_flow.utils.ids import party_model_id

logger = logging.getLogger("fate_flow.model")

LOCAL_ROLE = "local"
PIPELINE = "pipeline.json"


@dataclass(frozen=True)
class ModelRef:
    """One party's model version: (role, party_id, model_id, model_version), all path-safe."""

    role: str
    party_id: str
    model_id: str
    model_version: str

    def __post_init__(self) -> None:
        for name in ("role", "party_id", "model_id", "model_version"):
            check_name(name, getattr(self, name))

    @property
    def party_model_id(self) -> str:
        return party_model_id(self.role, self.party_id, self.model_id)

    @property
    def label(self) -> str:
        return f"{self.party_model_id} {self.model_version}"


def check_name(field: str, value: Any) -> str:
    """``value`` as one safe path component; ArgumentError (101) naming ``field`` if it is not."""
    try:
        return check_model_name(field, value)
    except ValueError as exc:
        raise ArgumentError(field, f"is invalid: {exc}") from None


class ModelCatalogue:
    """Meta rows of the models under ``model_dir``."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = Path(model_dir)

    def version_dir(self, ref: ModelRef) -> Path:
        """The version directory of ``ref`` (it may not exist)."""
        return model_layout.version_dir(self.model_dir, ref.party_model_id, ref.model_version)

    def record(self, ref: ModelRef) -> None:
        """Write (or refresh) the meta row of ``ref`` from its directory; local jobs have none."""
        path = self.version_dir(ref)
        if ref.role == LOCAL_ROLE or not path.is_dir():
            return
        pipeline = read_pipeline(path)
        conf = pipeline.get("train_runtime_conf") or {}
        fields = {"f_roles": json.dumps(conf.get("role") or {}), "f_size": directory_size(path),
                  "f_job_id": str(pipeline.get("model_version") or ref.model_version)[:25],
                  "f_update_time": now_ms()}
        key = {"f_role": ref.role, "f_party_id": ref.party_id, "f_model_id": ref.model_id,
               "f_model_version": ref.model_version}
        # write first, no read in a transaction: a read upgraded to a write fails at once under
        # SQLite WAL when the parties of a job record their rows at the same time
        match = [getattr(MachineLearningModelMeta, k) == v for k, v in key.items()]
        if not MachineLearningModelMeta.update(**fields).where(*match).execute():
            MachineLearningModelMeta.create(**key, **fields, f_create_time=fields["f_update_time"])

    def record_quietly(self, role: str, party_id: Any, model_id: str, model_version: str) -> None:
        """Record a job's model; a failure is logged, never raised (``models()`` catches up)."""
        try:
            self.record(ModelRef(str(role), str(party_id), str(model_id), str(model_version)))
        except Exception:  # the listing is bookkeeping: it must not fail the job
            logger.exception("model %s#%s#%s %s not recorded", role, party_id, model_id, model_version)

    def record_restored(self, conf: dict, modules: dict[str, str]) -> None:
        """Record the models a successful local ModelRestore job brought back (its task has no flow DB).

        ``modules`` maps the job's components to their modules; the restore parameters carry the
        party model id (``role#party_id#model_id``) and version.
        """
        local = (conf.get("role_parameters") or {}).get(LOCAL_ROLE) or {}
        for component, module in modules.items():
            params = local.get(component) or {}
            if module != "ModelRestore" or not params.get("model_id") or not params.get("model_version"):
                continue
            role, party_id, model_id = str(params["model_id"][0]).split("#", 2)
            self.record_quietly(role, party_id, model_id, params["model_version"][0])

    def lookup(self, ref: ModelRef) -> dict | None:
        """The meta row of ``ref`` as a dict, or None."""
        row = MachineLearningModelMeta.get_or_none(
            MachineLearningModelMeta.f_role == ref.role, MachineLearningModelMeta.f_party_id == ref.party_id,
            MachineLearningModelMeta.f_model_id == ref.model_id,
            MachineLearningModelMeta.f_model_version == ref.model_version)
        return row.to_json() if row else None

    def models(self, role: str | None = None, party_id: Any = None, model_id: str | None = None,
               model_version: str | None = None) -> list[dict]:
        """Meta rows of the models in the cache (oldest first), after syncing rows with the disk."""
        self.sync()
        query = MachineLearningModelMeta.select().order_by(MachineLearningModelMeta.f_create_time,
                                                           MachineLearningModelMeta.f_id)
        for column, value in (("f_role", role), ("f_party_id", party_id), ("f_model_id", model_id),
                              ("f_model_version", model_version)):
            if value not in (None, ""):
                query = query.where(getattr(MachineLearningModelMeta, column) == str(value))
        return [row.to_json() for row in query]

    def sync(self) -> None:
        """Add rows for models that appeared on disk (restores), drop rows whose directory is gone."""
        on_disk = set(self._scan())
        rows = {(r.f_role, r.f_party_id, r.f_model_id, r.f_model_version): r.f_id
                for r in MachineLearningModelMeta.select()}
        for key in on_disk - set(rows):
            try:
                ref = ModelRef(*key)
            except ArgumentError:  # a directory this server did not write: not a model of ours
                continue
            self.record(ref)
        gone = [rows[key] for key in set(rows) - on_disk]
        if gone:
            MachineLearningModelMeta.delete().where(MachineLearningModelMeta.f_id.in_(gone)).execute()

    def _scan(self) -> Iterator[tuple[str, str, str, str]]:
        """(role, party_id, model_id, version) of every version directory that holds a pipeline."""
        if not self.model_dir.is_dir():
            return
        for party_dir in self.model_dir.iterdir():
            parts = party_dir.name.split("#", 2)
            if len(parts) != 3 or parts[0] == LOCAL_ROLE or not party_dir.is_dir():
                continue
            for version in party_dir.iterdir():
                if not version.name.startswith(".") and (version / PIPELINE).is_file():
                    yield (parts[0], parts[1], parts[2], version.name)


def directory_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (links not followed)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            file = Path(folder) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def read_pipeline(path: Path) -> dict:
    """The ``pipeline.json`` of a version directory, {} if it is missing or unreadable."""
    try:
        pipeline = json.loads((path / PIPELINE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return pipeline if isinstance(pipeline, dict) else {}
