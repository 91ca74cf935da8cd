"""This party's models: where they live, their meta rows, and export, import, transfer, store
and restore.

A model is the version directory ``model_local_cache/<role>#<party_id>#<model_id>/<version>/``
(layout in ``fate_flow.utils.model_layout``). Every train job's models are listed in
``t_machine_learning_model_meta``, one row per party and version: written when the job's
pipeline is saved and when a model is imported; a restored model (written by its task
process, which has no database) is picked up by ``models()``, which also drops rows whose
directory is gone. Store and restore run as local jobs (role ``local``, party 0) whose task
moves the archive between the cache and the model store (``manager.model_store``).
"""
from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Iterator

from fate_flow.db import MachineLearningModelMeta, now_ms
from fate_flow.errors import ArgumentError, FlowError
from fate_flow.manager import model_archive, model_store
from fate_flow.settings import Settings
from fate_flow.utils import model_layout
from fate_flow.utils.ids import party_model_id

if TYPE_CHECKING:
    from fate_flow.driver.job_controller import JobController

logger = logging.getLogger("fate_flow.model")

LOCAL = {"role": "local", "party_id": 0}
PIPELINE = "pipeline.json"
# the received archive may exceed import_max_bytes by its zip headers, not more
ARCHIVE_OVERHEAD = 1 << 20


@dataclass(frozen=True)
class ModelRef:
    """One party's model version: (role, party_id, model_id, model_version), all path-safe."""

    role: str
    party_id: str
    model_id: str
    model_version: str

    def __post_init__(self) -> None:
        for name in ("role", "party_id", "model_id", "model_version"):
            _check_name(name, getattr(self, name))

    @property
    def party_model_id(self) -> str:
        return party_model_id(self.role, self.party_id, self.model_id)

    @property
    def label(self) -> str:
        return f"{self.party_model_id} {self.model_version}"


def record_model(settings: Settings, role: str, party_id: Any, model_id: str, model_version: str) -> None:
    """Record a train job's model of one party (called when its pipeline is saved)."""
    try:
        ModelCenter(settings).record(ModelRef(str(role), str(party_id), str(model_id), str(model_version)))
    except Exception:  # the listing is bookkeeping: it must not fail the job (sync() catches up)
        logger.exception("model %s#%s#%s %s not recorded", role, party_id, model_id, model_version)


def record_restored_models(settings: Settings, conf: dict, modules: dict[str, str]) -> None:
    """Record the models a successful local ModelRestore job brought back (its task has no flow DB).

    ``modules`` maps the job's components to their modules; the restore parameters carry the
    party model id (``role#party_id#model_id``) and version.
    """
    local = (conf.get("role_parameters") or {}).get(LOCAL["role"]) or {}
    for component, module in modules.items():
        params = local.get(component) or {}
        if module != "ModelRestore" or not params.get("model_id") or not params.get("model_version"):
            continue
        role, party_id, model_id = str(params["model_id"][0]).split("#", 2)
        record_model(settings, role, party_id, model_id, params["model_version"][0])


class ModelCenter:
    """Models of this server's parties; ``controller`` submits the store/restore jobs."""

    def __init__(self, settings: Settings, controller: "JobController | None" = None) -> None:
        self.settings = settings
        self.controller = controller

    @property
    def temp_dir(self) -> Path:
        return self.settings.work_dir / "temp"

    def version_dir(self, ref: ModelRef) -> Path:
        return model_layout.version_dir(self.settings.model_dir, ref.party_model_id, ref.model_version)

    def _existing_dir(self, ref: ModelRef) -> Path:
        path = self.version_dir(ref)
        if not path.is_dir():
            raise FlowError(f"Can not found {ref.label} model local cache")
        return path

    # ---- meta rows ------------------------------------------------------------------------

    def record(self, ref: ModelRef) -> None:
        """Write (or refresh) the meta row of ``ref`` from its directory; local jobs have none."""
        path = self.version_dir(ref)
        if ref.role == LOCAL["role"] or not path.is_dir():
            return
        pipeline = _read_pipeline(path)
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

    def lookup(self, ref: ModelRef) -> dict | None:
        """The meta row of ``ref`` as a dict, or None."""
        row = MachineLearningModelMeta.get_or_none(
            MachineLearningModelMeta.f_role == ref.role, MachineLearningModelMeta.f_party_id == ref.party_id,
            MachineLearningModelMeta.f_model_id == ref.model_id,
            MachineLearningModelMeta.f_model_version == ref.model_version)
        return row.to_json() if row else None

    def models(self, role: str | None = None, party_id: Any = None, model_id: str | None = None) -> list[dict]:
        """Meta rows of the models in the cache (oldest first), after syncing rows with the disk."""
        self.sync()
        query = MachineLearningModelMeta.select().order_by(MachineLearningModelMeta.f_create_time,
                                                           MachineLearningModelMeta.f_id)
        for column, value in (("f_role", role), ("f_party_id", party_id), ("f_model_id", model_id)):
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
        root = self.settings.model_dir
        if not root.is_dir():
            return
        for party_dir in root.iterdir():
            parts = party_dir.name.split("#", 2)
            if len(parts) != 3 or parts[0] == LOCAL["role"] or not party_dir.is_dir():
                continue
            for version in party_dir.iterdir():
                if not version.name.startswith(".") and (version / PIPELINE).is_file():
                    yield (parts[0], parts[1], parts[2], version.name)

    # ---- export, import, transfer ---------------------------------------------------------

    def export(self, ref: ModelRef) -> tuple[BinaryIO, str]:
        """An open zip of the model and its file name ``<party_model_id>_<version>.zip``.

        The zip is kept at ``temp/<name>`` (replaced atomically by the next export, so an
        export being sent is never cut short).
        """
        source = self._existing_dir(ref)
        name = f"{ref.party_model_id}_{ref.model_version}.zip"
        path = model_archive.pack_to_file(source, self.temp_dir / name)
        return open(path, "rb"), name

    def new_upload_dir(self) -> Path:
        """A fresh directory under temp/ for one received archive (see ``discard_upload``)."""
        return self.temp_dir / f"import-{uuid.uuid4().hex}"

    @staticmethod
    def discard_upload(upload_dir: Path) -> None:
        shutil.rmtree(upload_dir, ignore_errors=True)

    def check_upload_size(self, size: int | None, label: str = "") -> None:
        """Refuse an archive (or the request carrying it) too big to unpack within import_max_bytes.

        Called with the request's Content-Length before the body is read, so an oversized
        upload is refused before it reaches the disk, and with the received file's size
        (a chunked request declares none).
        """
        limit = self.settings.model_store.import_max_bytes
        if size is not None and size > limit + ARCHIVE_OVERHEAD:
            what = f"model archive of {label}" if label else "model archive"
            raise FlowError(f"{what} refused: {size} bytes is more than model_store.import_max_bytes ({limit})")

    def import_archive(self, ref: ModelRef, archive: Path) -> None:
        """Unpack a received archive as ``ref``'s version directory and record it."""
        self.check_upload_size(archive.stat().st_size, ref.label)
        limits = self.settings.model_store
        model_archive.unpack(archive, self.version_dir(ref), limits.import_max_bytes, ref.label,
                             limits.import_max_ratio)
        self.record(ref)

    def transfer(self, namespace: str, name: str) -> dict[str, str]:
        """FATE-Serving's pull: every model file base64-encoded, keyed ``<cpn>.<alias>:<model_name>``."""
        root = model_layout.version_dir(self.settings.model_dir, _check_name("namespace", namespace),
                                         _check_name("name", name))
        if not root.is_dir():
            raise FlowError(f"Can not found {namespace} {name} model local cache")
        data = {}
        variables = root / "variables" / "data"
        for path in sorted(variables.glob("*/*/*")) if variables.is_dir() else []:
            if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
                component, alias = path.parent.parent.name, path.parent.name
                data[f"{component}.{alias}:{path.name}"] = base64.b64encode(path.read_bytes()).decode()
        if (root / PIPELINE).is_file():
            data["pipeline.pipeline:Pipeline"] = base64.b64encode((root / PIPELINE).read_bytes()).decode()
        return data

    # ---- store and restore (local jobs) ---------------------------------------------------

    def submit_store(self, ref: ModelRef, job_id: str, force_update: bool = False,
                     address: dict | None = None) -> dict:
        """Queue a ModelStore job after checking that the model is here and may be stored."""
        self._existing_dir(ref)
        address = model_store.store_address(self.settings.model_store, address)
        if not force_update and model_store.open_store(address).exists(ref.party_model_id, ref.model_version):
            raise model_store.already_stored(ref.party_model_id, ref.model_version, address)
        params = self._task_params(ref, address, force_update=force_update)
        return self._submit("store_0", "ModelStore", params, job_id)

    def submit_restore(self, ref: ModelRef, job_id: str, address: dict | None = None) -> dict:
        """Queue a ModelRestore job after checking that the model was stored and is not here."""
        if self.version_dir(ref).exists():
            raise FlowError(f"Model {ref.label} local cache already existed")
        address = model_store.store_address(self.settings.model_store, address)
        if not model_store.open_store(address).exists(ref.party_model_id, ref.model_version):
            raise model_store.never_stored(ref.party_model_id, ref.model_version, address)
        params = self._task_params(ref, address, max_bytes=self.settings.model_store.import_max_bytes,
                                   max_ratio=self.settings.model_store.import_max_ratio)
        return self._submit("restore_0", "ModelRestore", params, job_id)

    def _task_params(self, ref: ModelRef, address: dict, **extra: Any) -> dict:
        """Parameters of a store/restore task: it has no settings, so paths and address travel in them."""
        return {"model_id": ref.party_model_id, "model_version": ref.model_version, "store_address": address,
                "model_dir": str(self.settings.model_dir), "temp_dir": str(self.temp_dir), **extra}

    def _submit(self, component: str, module: str, params: dict, job_id: str) -> dict:
        if self.controller is None:
            raise RuntimeError("ModelCenter was built without a job controller")
        conf = {"initiator": dict(LOCAL), "role": {"local": [0]},
                "job_parameters": {"work_mode": self.settings.work_mode},
                "role_parameters": {"local": {component: {k: [v] for k, v in params.items()}}}}
        _, data = self.controller.submit({"components": {component: {"module": module}}}, conf, job_id=job_id)
        data.pop("model_info", None)
        return data


def _check_name(field: str, value: Any) -> str:
    """``value`` as one safe path component; ArgumentError (101) naming ``field`` if it is not."""
    try:
        return model_archive.check_model_name(field, value)
    except ValueError as exc:
        raise ArgumentError(field, f"is invalid: {exc}") from None


def directory_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (links not followed)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            file = Path(folder) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def _read_pipeline(path: Path) -> dict:
    try:
        pipeline = json.loads((path / PIPELINE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return pipeline if isinstance(pipeline, dict) else {}
