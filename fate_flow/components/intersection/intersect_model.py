"""Intersection on the guest and the host: find the ids both parties hold, keep those rows.

The input is one table (usually DataIO's output, but any table: only the ids are read
for the protocol). The output holds the input's rows of the common ids, in input order,
with the input's schema and value strings unchanged; with ``only_output_key`` the values
are FATE's placeholders instead. Metrics: ``train``/``intersection`` with
``intersect_count`` and ``intersect_rate``. There is no model.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pyarrow as pa

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput, TableData
from fate_flow.components.columns import only_input_table
from fate_flow.components.intersection import protocols
from fate_flow.components.intersection.param import IntersectParam

METRIC_NAMESPACE = "train"
METRIC_NAME = "intersection"
METRIC_TYPE = "INTERSECTION"


class IntersectModelBase(ComponentBase):
    """Shared run of both roles; subclasses name the protocol functions and placeholders.

    Learned state: ``intersect_num_`` (common ids in the output, -1 without output) and
    ``intersect_rate_`` (``intersect_num_`` over the local row count, -1 without output).
    """

    role = ""
    protocol_of: dict[str, Callable[..., np.ndarray | None]] = {}
    # FATE's value of an only_output_key row, per method
    placeholders: dict[str, str] = {}

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        """Intersect the input table's ids with the other parties'; return the common rows."""
        params: IntersectParam = self.params
        params.check()
        table = only_input_table(inputs, "Intersection")
        if not params.need_run:
            return ComponentOutput(data=table)
        _refuse_unsupported(params)
        if params.intersect_cache_param.use_cache:
            ctx.logger.warning("intersect_cache_param.use_cache is ignored: there is no intersection cache")
        ids = table.read_ids().to_pylist()
        ctx.logger.info("%s intersection of %s ids as %s", params.intersect_method, len(ids), self.role)
        mask = self.protocol_of[params.intersect_method](ctx, params, ids)
        self._record_metrics(ctx, mask, len(ids))
        if mask is None:
            ctx.logger.info("no intersection result on this party (sync_intersect_ids is false)")
            return ComponentOutput()
        placeholder = self.placeholders[params.intersect_method] if params.only_output_key else None
        return ComponentOutput(data=_select_rows(table, mask, placeholder))

    def _record_metrics(self, ctx: ComponentContext, mask: np.ndarray | None, local_count: int) -> None:
        if mask is None:
            self.intersect_num_, self.intersect_rate_ = -1, -1
        else:
            self.intersect_num_ = int(mask.sum())
            self.intersect_rate_ = self.intersect_num_ / local_count if local_count else 0.0
        ctx.logger.info("intersect_count %s, intersect_rate %s", self.intersect_num_, self.intersect_rate_)
        ctx.tracker.log_metric_data(METRIC_NAMESPACE, METRIC_NAME, [("intersect_count", self.intersect_num_),
                                                                    ("intersect_rate", self.intersect_rate_)])
        ctx.tracker.set_metric_meta(METRIC_NAMESPACE, METRIC_NAME, {"name": METRIC_NAME, "metric_type": METRIC_TYPE})


class IntersectGuest(IntersectModelBase):
    """The guest: the RSA side that blinds, or the raw joiner (sender with join_role host)."""

    role = "guest"
    protocol_of = {"rsa": protocols.rsa_guest, "raw": protocols.raw_guest}
    placeholders = {"rsa": "1", "raw": "intersect_id"}


class IntersectHost(IntersectModelBase):
    """A host: the RSA key holder that signs, or the raw sender (joiner with join_role host)."""

    role = "host"
    protocol_of = {"rsa": protocols.rsa_host, "raw": protocols.raw_host}
    placeholders = {"rsa": "id", "raw": "intersect_id"}


def _refuse_unsupported(params: IntersectParam) -> None:
    # Both change what the output means (FATE re-keys the rows or swaps in shared columns);
    # silently running a plain intersection instead would give another result.
    for name in ("repeated_id_process", "allow_info_share"):
        if getattr(params, name):
            raise NotImplementedError(f"intersect param's {name} true is not supported")


def _select_rows(table: Any, mask: np.ndarray, placeholder: str | None) -> TableData:
    """The input rows where ``mask`` is True, batch by batch in stored order.

    With a ``placeholder`` every value is that string and the schema keeps only the id name.
    """
    ids, values, offset = [], [], 0
    for batch in table.iter_batches():
        keep = pa.array(mask[offset:offset + batch.num_rows])
        offset += batch.num_rows
        kept = batch.filter(keep)
        ids.append(kept.column(0))
        values.append(kept.column(1) if placeholder is None else pa.repeat(pa.scalar(placeholder), kept.num_rows))
    if offset != len(mask):
        raise RuntimeError(f"table {table.meta.name} changed while intersecting: {offset} rows, {len(mask)} ids")
    schema = dict(table.meta.schema or {})
    if placeholder is not None:
        schema = {key: schema[key] for key in ("sid", "sid_name") if key in schema}
    return TableData(ids=ids, values=values, schema=schema, partitions=table.meta.partitions or 1,
                     delimiter=table.meta.delimiter or ",")
