"""Reader: copy the party's table into the job as the component's output data.

The copy keeps the table's schema and partitioning, so downstream components read it as they
read any upstream output; FATE's reader metric (table name, namespace, count, partitions and
a few values per column) is what FATEBoard shows for the component.
"""
from __future__ import annotations

from fate_flow.components.base import ComponentBase, ComponentOutput

SAMPLE_ROWS = 5


class Reader(ComponentBase):
    """Outputs the table named by ``params.table`` ({name, namespace})."""

    def run(self, ctx, inputs):
        table = self.params.table or {}
        namespace, name = table.get("namespace"), table.get("name")
        from fate_flow.storage import TableNotFoundError

        try:
            stored = ctx.storage.open(namespace, name)
        except TableNotFoundError:
            raise ValueError(f"Reader {ctx.component_name}: table {namespace}.{name} does not exist on "
                             f"{ctx.role} {ctx.party_id}") from None
        meta = stored.meta
        data = ctx.computing.load(stored).with_schema(meta.schema, meta.delimiter)
        self._log_metric(ctx, meta, _first_rows(stored))
        ctx.logger.info("read %s rows of %s.%s in %s partitions", meta.count, namespace, name, meta.partitions)
        return ComponentOutput(data=data)

    @staticmethod
    def _log_metric(ctx, meta, rows: list[tuple[str, str]]) -> None:
        ctx.tracker.log_metric_data("reader_namespace", "reader_name", [("count", meta.count)])
        ctx.tracker.set_metric_meta("reader_namespace", "reader_name", {
            "name": "reader_name", "metric_type": "data_info", "table_name": meta.name,
            "namespace": meta.namespace, "table_info": _sample_columns(meta, rows),
            "partitions": meta.partitions, "storage_engine": meta.engine or "LOCAL", "count": meta.count})


def _sample_columns(meta, rows: list[tuple[str, str]]) -> dict:
    """Up to five values of each column (the id and the header's columns), as text."""
    header = [h for h in str((meta.schema or {}).get("header") or "").split(meta.delimiter or ",") if h]
    sid = (meta.schema or {}).get("sid") or "id"
    columns: dict[str, list[str]] = {sid: [], **{h: [] for h in header}}
    for row_id, value in rows:
        columns[sid].append(str(row_id))
        for name, field in zip(header, str(value).split(meta.delimiter or ",")):
            columns[name].append(field)
    return columns


def _first_rows(stored) -> list[tuple[str, str]]:
    """The first few (id, value) rows of the stored table."""
    for batch in stored.iter_batches(batch_rows=SAMPLE_ROWS):
        ids, values = batch.column(0).to_pylist(), batch.column(1).to_pylist()
        return list(zip(ids, values))[:SAMPLE_ROWS]
    return []
