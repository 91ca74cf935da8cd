"""Union: the rows of its input tables, in input order, as one table.

FATE's rules: every non-empty input has the same sid, label name and header; the first
table that holds an id gives its row; with ``keep_duplicate`` a later row of an id already
taken is kept under the id ``"<id>_<input key>"`` (the input key is the upstream
component's name). Unless ``allow_missing``, every row must have as many fields as the
header (plus the label). Works on DataIO's output and on raw uploaded tables alike: rows are
compared by id only, never parsed.

The tables are co-partitioned (same partition count, rows placed by id hash), so the union
runs partition by partition; renamed ids belong to other partitions, so a union that renamed
any is re-partitioned once at the end.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.computing import recipes as rx

METRIC_NAMESPACE, METRIC_NAME, METRIC_TYPE = "train", "union", "UNION"
# the schema entries every input must share
SHARED_SCHEMA = ("sid", "label_name", "header")


class Union(ComponentBase):
    """Guest or host: the union of this party's input tables (no messages between parties)."""

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        self.params.check()
        named = input_tables(inputs)
        if not self.params.need_run:
            return ComponentOutput(data=named[0][1] if named else None)
        counts = [(key, stored.count()) for key, stored in named]
        filled = [(key, stored) for key, stored in named if stored.count() > 0]
        if not filled:
            raise ValueError("Union: every input table is empty")
        schema, delimiter = shared_schema(filled)
        tables = [(key, self._load(ctx, stored, key, schema)) for key, stored in filled]
        result = union_tables(tables, self.params.keep_duplicate, ctx.computing.partitions)
        result = result.with_schema(schema, delimiter)
        total = result.count()
        ctx.tracker.log_metric_data(METRIC_NAMESPACE, METRIC_NAME, [*counts, ("Total", total)])
        ctx.tracker.set_metric_meta(METRIC_NAMESPACE, METRIC_NAME, {"name": METRIC_NAME, "metric_type": METRIC_TYPE})
        ctx.logger.info("union of %s tables: %s rows", len(tables), total)
        return ComponentOutput(data=result)

    def _load(self, ctx: ComponentContext, stored, key: str, schema: dict):
        """The stored table as rows in the job's partition count, checked for complete rows."""
        table = ctx.computing.load(stored)
        if table.partitions != ctx.computing.partitions:
            table = table.repartition(ctx.computing.partitions)
        if not self.params.allow_missing:
            width = len(header_names(schema, stored.meta.delimiter)) + (1 if schema.get("label_name") else 0)
            bad = table.aggregate(functools.partial(_incomplete_rows, width, stored.meta.delimiter or ","))
            if bad:
                raise ValueError(f"Union: {bad} rows of input {key} do not have the {width} fields of the header "
                                 f"(set allow_missing to accept them)")
        return table


def input_tables(inputs: dict) -> list[tuple[str, Any]]:
    """[(input key, stored table)] of the data input, in DSL order; a key is the upstream component's name."""
    tables = (inputs.get("data") or {}).get("data")
    tables = tables if isinstance(tables, list) else [tables]
    sources = list((inputs.get("data_sources") or {}).get("data") or [])
    sources += [f"data_{i}" for i in range(len(sources), len(tables))]
    return [(key, table) for key, table in zip(sources, tables) if table is not None]


def header_names(schema: dict, delimiter: str | None) -> list[str]:
    """The header's column names."""
    return [h for h in str(schema.get("header") or "").split(delimiter or ",") if h]


def shared_schema(named: list[tuple[str, Any]]) -> tuple[dict, str]:
    """The schema and delimiter of the first table; ValueError naming an input whose sid, label or header differ."""
    first_key, first = named[0]
    schema = dict(first.meta.schema or {})
    for key, stored in named[1:]:
        other = dict(stored.meta.schema or {})
        for entry in SHARED_SCHEMA:
            if _normal(schema, entry) != _normal(other, entry):
                raise ValueError(f"Union: input {key} has {entry} {other.get(entry)!r} but {first_key} has "
                                 f"{schema.get(entry)!r}; every table must share sid, label and header")
    return schema, first.meta.delimiter or ","


def _normal(schema: dict, entry: str) -> Any:
    value = schema.get(entry)
    if entry == "sid":
        return value or schema.get("sid_name") or "id"
    return value or None


def union_tables(tables: list[tuple[str, Any]], keep_duplicate: bool, partitions: int):
    """The union of co-partitioned row tables, in order: first row of an id wins, or later ones renamed."""
    result = tables[0][1]
    for key, table in tables[1:]:
        merge = functools.partial(_union_renaming, key) if keep_duplicate else None
        result = result.union(table, merge)
    if keep_duplicate and len(tables) > 1:
        result = result.repartition(partitions)  # renamed ids hash to other partitions
    return result


# ---- kernels -----------------------------------------------------------------------------

def _incomplete_rows(width: int, delimiter: str, block) -> int:
    values = rx.block_rows(block)[1]
    if width == 0 or not len(values):
        return 0
    fields = pc.list_value_length(pc.split_pattern(values, delimiter)).to_numpy(zero_copy_only=False)
    return int(np.sum(fields != width))


def _union_renaming(key: str, left, right):
    """Rows of ``left`` then of ``right``; a ``right`` id already in ``left`` becomes "<id>_<key>"."""
    ids = rx.block_ids(right).cast(pa.string())
    taken = pc.is_in(ids, value_set=rx.block_ids(left).cast(pa.string())).to_numpy(zero_copy_only=False)
    if taken.any():
        renamed = pc.if_else(pa.array(taken), pc.binary_join_element_wise(ids, pa.scalar(f"_{key}"), ""), ids)
        right = right.set_column(right.schema.get_field_index("id"), "id", renamed)
    return rx.concat_blocks([left, right])
