"""The table catalogue of a party: commits staged tables, answers table_info, deletes tables.

Data lives in the storage engine (``fate_flow.storage``); the catalogue row in
t_storage_table_meta is written here, by the server only, in the same step as the
storage commit, so that the two never disagree for long.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fate_flow.db import DB, DataView, StorageTableMeta, now_ms
from fate_flow.errors import ArgumentError, FlowError
from fate_flow.settings import Settings
from fate_flow.stores.tracking import MetricTracker
from fate_flow.utils import metrics, validate

if TYPE_CHECKING:
    from fate_flow.storage import TableMeta


class TableCatalogue:
    """Tables of this party: (namespace, name) -> data in storage + a catalogue row."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._storage = None

    @property
    def storage(self):
        """The storage engine, opened on first use: pyarrow is loaded only when tables are touched."""
        if self._storage is None:
            from fate_flow.storage import open_storage

            self._storage = open_storage(self.settings.data_access.storage_engine, self.settings.data_dir)
        return self._storage

    @staticmethod
    def check_names(namespace: Any, name: Any) -> None:
        """Raise ArgumentError naming ``namespace``/``table_name`` if either is unusable."""
        from fate_flow.storage import check_name

        for field, value in (("namespace", namespace), ("table_name", name)):
            validate.check_text(field, value)
            try:
                check_name(field, value)
            except (ValueError, TypeError) as exc:
                raise ArgumentError(field, f"is invalid: {exc}") from None

    def exists(self, namespace: str, name: str) -> bool:
        """True if the table is stored."""
        return self.storage.exists(namespace, name)

    def describe(self, namespace: str, name: str) -> TableMeta | None:
        """The table's meta, or None if there is no such table."""
        from fate_flow.storage import TableNotFoundError

        try:
            return self.storage.read_meta(namespace, name)  # no pyarrow for the local engine
        except TableNotFoundError:
            return None

    def commit(self, writer: Any, meta: TableMeta, mode: str, job_id: str) -> TableMeta:
        """Make staged data the table and record it in the catalogue; the old table stays on failure."""
        from fate_flow.storage import StorageError

        try:
            final = self.storage.commit(writer, meta, mode)
        except StorageError as exc:
            self.storage.abort(writer)
            raise FlowError(str(exc)) from exc
        self._catalogue(final, job_id)
        return final

    def _catalogue(self, final: TableMeta, job_id: str) -> None:
        row = {"f_engine": final.engine, "f_partitions": final.partitions, "f_count": final.count,
               "f_schema": json.dumps(final.schema), "f_delimiter": final.delimiter, "f_job_id": job_id,
               "f_update_time": now_ms()}
        with DB.atomic():
            updated = StorageTableMeta.update(**row).where(StorageTableMeta.f_namespace == final.namespace,
                                                           StorageTableMeta.f_name == final.name).execute()
            if not updated:
                StorageTableMeta.insert(f_namespace=final.namespace, f_name=final.name, f_create_time=now_ms(),
                                        **row).execute()

    def create_empty(self, namespace: str, name: str, partitions: int) -> TableMeta:
        """Create an empty table (table_info with create=true)."""
        from fate_flow.storage import TableMeta

        writer = self.storage.writer(namespace, name, partitions)
        meta = TableMeta(namespace=namespace, name=name, partitions=partitions, count=0, schema={},
                         engine=self.storage.engine)
        return self.commit(writer, meta, "create", job_id="")

    def delete(self, namespace: str, name: str) -> bool:
        """Remove the table's data and catalogue row; False if there was no such table."""
        existed = self.storage.delete(namespace, name)
        removed = StorageTableMeta.delete().where(StorageTableMeta.f_namespace == namespace,
                                                  StorageTableMeta.f_name == name).execute()
        return bool(existed or removed)

    def delete_outputs(self, filters: dict[str, Any]) -> list[dict]:
        """Delete every output table recorded in the data views matching ``filters``."""
        query = DataView.select().where(*[getattr(DataView, f"f_{k}") == str(v) for k, v in filters.items()])
        deleted = []
        for view in query:
            if view.f_table_name and self.delete(view.f_table_namespace, view.f_table_name):
                deleted.append({"table_name": view.f_table_name, "namespace": view.f_table_namespace})
        return deleted

    def table_info(self, namespace: str, name: str) -> dict:
        """FATE's table_info data: count 0, partition None and schema {} for a missing table."""
        meta = self.describe(namespace, name)
        if meta is None:
            return {"table_name": name, "namespace": namespace, "count": 0, "partition": None, "schema": {}}
        return {"table_name": name, "namespace": namespace, "count": meta.count, "partition": meta.partitions,
                "schema": meta.schema}

    def record_task_output(self, job_id: str, component: str, task_id: str, role: str, party_id: str,
                           body: dict) -> dict:
        """Record a table a task committed: catalogue row, the task's data view, the upload metric."""
        meta = _task_table_meta(body.get("meta"))
        self.check_names(meta.namespace, meta.name)
        if body.get("upload_count") is not None:
            validate.check_limit("upload_count", body["upload_count"])
        self._catalogue(meta, job_id)
        view = {"f_table_name": meta.name, "f_table_namespace": meta.namespace, "f_component_name": component,
                "f_table_count_actual": meta.count, "f_partition": meta.partitions,
                "f_table_count_upload": body.get("upload_count"), "f_update_time": now_ms(),
                "f_party_model_id": body.get("party_model_id"), "f_model_version": body.get("model_version")}
        key = {"f_job_id": job_id, "f_task_id": task_id, "f_role": role, "f_party_id": str(party_id)}
        with DB.atomic():
            if not DataView.update(**view).where(*[getattr(DataView, k) == v for k, v in key.items()]).execute():
                DataView.insert(**key, **view, f_create_time=now_ms()).execute()
        if body.get("upload_count") is not None:
            tracker = MetricTracker(job_id, component, task_id, role, party_id)
            tracker.save_metric_data("upload", "data_access", [["count", meta.count]])
            tracker.save_metric_meta("upload", "data_access", {"name": "data_access", "metric_type": "UPLOAD"})
            metrics.upload_rows(int(body["upload_count"]))
        return meta.to_dict()


def _task_table_meta(raw: Any) -> "TableMeta":
    """The table meta a task reports; ArgumentError (101) naming ``meta`` if it is not one."""
    from fate_flow.storage import TableMeta

    if not isinstance(raw, dict):
        raise ArgumentError("meta", "should be the table meta object")
    try:
        meta = TableMeta.from_dict(raw)
    except TypeError:
        raise ArgumentError("meta", "should have namespace and name") from None
    for field in ("partitions", "count", "create_time"):
        value = getattr(meta, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ArgumentError(f"meta.{field}", "should be an integer, 0 or more")
    for field in ("schema", "extra"):
        if not isinstance(getattr(meta, field), dict):
            raise ArgumentError(f"meta.{field}", "should be an object")
    for field in ("delimiter", "engine"):
        if not isinstance(getattr(meta, field), str):
            raise ArgumentError(f"meta.{field}", "should be a string")
    return meta
