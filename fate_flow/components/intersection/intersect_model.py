"""Intersection on the guest and the host: find the ids both parties hold, keep those rows.

The input is one table (usually DataIO's output, but any table: only the ids are read
for the protocol). It is first split into the job's partition count by id hash, the same
split on every party, so that the protocols (``protocols``) work partition by partition.
The output holds the input's rows of the common ids in that partitioning, with the
input's schema and value strings unchanged; with ``only_output_key`` the values are
FATE's placeholders instead. Metrics: ``train``/``intersection`` with ``intersect_count``
and ``intersect_rate``. There is no model.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.columns import only_input_table
from fate_flow.components.intersection import kernels, protocols
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
    protocol_of: dict[str, Callable[..., Any]] = {}
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
        if params.intersect_cache_param.use_cache and params.intersect_method != "rsa":
            ctx.logger.warning("intersect_cache_param.use_cache is for rsa intersection only: ignored")
        data = _partitioned(ctx.computing, table)
        ctx.logger.info("%s intersection of %s ids as %s", params.intersect_method, table.count(), self.role)
        mask = self.protocol_of[params.intersect_method](ctx, params, data)
        if mask is None:
            self._record_metrics(ctx, None, table.count())
            ctx.logger.info("no intersection result on this party (sync_intersect_ids is false)")
            return ComponentOutput()
        mask = mask.persist()  # counted now, applied when the output is saved
        kept, rows = (int(v) for v in mask.aggregate(kernels.mask_counts))
        self._record_metrics(ctx, kept, rows)
        placeholder = self.placeholders[params.intersect_method] if params.only_output_key else None
        output = data.join(mask, functools.partial(kernels.keep_rows, placeholder))
        return ComponentOutput(data=output.with_schema(_output_schema(table, placeholder), table.meta.delimiter or ","))

    def _record_metrics(self, ctx: ComponentContext, kept: int | None, local_count: int) -> None:
        if kept is None:
            self.intersect_num_, self.intersect_rate_ = -1, -1
        else:
            self.intersect_num_ = kept
            self.intersect_rate_ = kept / local_count if local_count else 0.0
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


def _partitioned(session: Any, table: Any) -> Any:
    """The table's rows in the job's partition count; a stored table already split that way is read as it is
    (stored partitions are split by the same id hash)."""
    data = session.load(table)
    return data if data.partitions == session.partitions else data.repartition(session.partitions)


def _output_schema(table: Any, placeholder: str | None) -> dict:
    """The input's schema; with a placeholder value only the id's name is left of it."""
    schema = dict(table.meta.schema or {})
    if placeholder is not None:
        schema = {key: schema[key] for key in ("sid", "sid_name") if key in schema}
    return schema
