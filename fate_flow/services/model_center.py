"""The model center of this party: export, import, transfer, store and restore of model versions.

A model is the version directory ``model_local_cache/<role>#<party_id>#<model_id>/<version>/``;
its meta row is kept by the model catalogue (``stores.model_catalogue``). Store and restore run
as local jobs (role ``local``, party 0) whose task moves the archive between the cache and the
model store (``storage.model_store``).
"""
from __future__ import annotations

import base64
import logging
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from fate_flow.driver.job_submission import JobSubmitter
from fate_flow.errors import FlowError
from fate_flow.settings import Settings
from fate_flow.model_storage import archive as model_archive
from fate_flow.model_storage import store as model_store
from fate_flow.party.client import FederatedClient
from fate_flow.stores.model_catalogue import PIPELINE, ModelCatalogue, ModelRef, check_name
from fate_flow.utils import model_layout

if TYPE_CHECKING:
    from fate_flow.services.model_migrate import ModelMigrator

logger = logging.getLogger("fate_flow.model")

# the received archive may exceed import_max_bytes by its zip headers, not more
ARCHIVE_OVERHEAD = 1 << 20


class ModelCenter:
    """Models of this server's parties; ``submitter`` queues the store/restore jobs."""

    def __init__(self, settings: Settings, catalogue: ModelCatalogue, submitter: JobSubmitter | None = None,
                 api: FederatedClient | None = None) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.submitter = submitter
        self.api = api  # the party calls of migrate

    @property
    def temp_dir(self) -> Path:
        return self.settings.work_dir / "temp"

    def version_dir(self, ref: ModelRef) -> Path:
        """The version directory of ``ref`` (it may not exist)."""
        return self.catalogue.version_dir(ref)

    def _existing_dir(self, ref: ModelRef) -> Path:
        path = self.version_dir(ref)
        if not path.is_dir():
            raise FlowError(f"Can not found {ref.label} model local cache")
        return path

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
        """Remove a received archive's directory."""
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
        self.catalogue.record(ref)

    def transfer(self, namespace: str, name: str) -> dict[str, str]:
        """FATE-Serving's pull: every model file base64-encoded, keyed ``<cpn>.<alias>:<model_name>``."""
        root = model_layout.version_dir(self.settings.model_dir, check_name("namespace", namespace),
                                         check_name("name", name))
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

    # ---- migrate (FATE 1.5) -------------------------------------------------------------

    def migrate(self, body: dict) -> dict:
        """Ask every execute party of a migrate to copy its model to the new party ids, model id and version."""
        return self._migrator().migrate(body)

    def migrate_party(self, body: dict) -> str:
        """One party's share of a migrate (``/v1/model/migrate/do``): its model copied and rewritten."""
        return self._migrator().migrate_party(body)

    def _migrator(self) -> "ModelMigrator":
        from fate_flow.services.model_migrate import ModelMigrator

        return ModelMigrator(self.settings, self.catalogue, self.api)

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
        if self.submitter is None:
            raise RuntimeError("ModelCenter was built without a job submitter")
        return self.submitter.submit_local(component, module, params, job_id)
