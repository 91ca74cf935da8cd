"""ModelStore and ModelRestore: archive a model version directory into the model store, and back.

The store client (peewee for MySQL, redis) is imported when the task runs, not when the
component is loaded; neither touches the flow database.
"""
from __future__ import annotations

import uuid
from pathlib import Path

from fate_flow.components.base import ComponentBase, ComponentOutput
from fate_flow.utils.model_layout import version_dir


def _temp_zip(params) -> Path:
    folder = Path(params.temp_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{params.model_id}_{params.model_version}.{uuid.uuid4().hex[:8]}.zip"


class ModelStore(ComponentBase):
    """Zips ``<model_dir>/<party model id>/<version>`` and writes it to the store."""

    def run(self, ctx, inputs):
        from fate_flow.model_storage.archive import pack_to_file
        from fate_flow.model_storage.store import describe, open_store

        params = self.params
        source = version_dir(Path(params.model_dir), params.model_id, params.model_version)
        if not source.is_dir():
            raise FileNotFoundError(f"Can not found {params.model_id} {params.model_version} model local cache")
        archive = pack_to_file(source, _temp_zip(params))
        try:
            slices = open_store(params.store_address).put(params.model_id, params.model_version, archive,
                                                          force_update=params.force_update)
            ctx.logger.info("stored %s %s (%s bytes, %s slices) in %s", params.model_id, params.model_version,
                            archive.stat().st_size, slices, describe(params.store_address))
        finally:
            archive.unlink(missing_ok=True)
        return ComponentOutput()


class ModelRestore(ComponentBase):
    """Reads the model's zip from the store and unpacks it into the model cache (never over one)."""

    def run(self, ctx, inputs):
        from fate_flow.model_storage.archive import unpack
        from fate_flow.model_storage.store import never_stored, open_store

        params = self.params
        target = version_dir(Path(params.model_dir), params.model_id, params.model_version)
        label = f"{params.model_id} {params.model_version}"
        if target.exists():
            raise FileExistsError(f"Model {label} local cache already existed")
        archive = _temp_zip(params)
        try:
            if not open_store(params.store_address).get(params.model_id, params.model_version, archive):
                raise never_stored(params.model_id, params.model_version, params.store_address)
            written = unpack(archive, target, params.max_bytes, label, params.max_ratio)
            ctx.logger.info("restored %s (%s bytes) into %s", label, written, target)
        finally:
            archive.unlink(missing_ok=True)
        return ComponentOutput()
