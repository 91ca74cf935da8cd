"""Instances: FATE's rows of (id, label, features) as one Arrow id array and numpy arrays."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.computing.table_data import TableData


@dataclass
class Instances:
    """``len(ids)`` rows: ``features`` (n x d float64), ``labels`` (n,) or None, and their names.

    The stored form (``to_table_data``) is FATE's output data: value = "label,f1,...,fd"
    (label first when there is one), schema {"header": "f1,...", "sid": ..., "label_name": ...}.
    """

    ids: pa.Array
    features: np.ndarray
    labels: np.ndarray | None = None
    header: list[str] = field(default_factory=list)
    sid_name: str = "id"
    label_name: str | None = None

    def __post_init__(self) -> None:
        if self.features.ndim != 2 or self.features.shape[0] != len(self.ids):
            raise ValueError(f"features must be a ({len(self.ids)}, d) matrix, got shape {self.features.shape}")
        if self.labels is not None and len(self.labels) != len(self.ids):
            raise ValueError(f"{len(self.labels)} labels for {len(self.ids)} rows")
        if self.header and len(self.header) != self.features.shape[1]:
            raise ValueError(f"{len(self.header)} header names for {self.features.shape[1]} features")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_features(self) -> int:
        return self.features.shape[1]

    def take(self, rows: np.ndarray) -> "Instances":
        """The rows at positions ``rows`` (an index array or a boolean mask), in that order."""
        rows = np.flatnonzero(rows) if rows.dtype == bool else rows
        return replace(self, ids=self.ids.take(pa.array(rows, type=pa.int64())), features=self.features[rows],
                       labels=None if self.labels is None else self.labels[rows])

    def align_to(self, ids: pa.Array) -> "Instances":
        """The rows whose id is in ``ids``, in the order of ``ids``; KeyError naming a missing id."""
        positions = pc.index_in(ids, value_set=self.ids).to_numpy(zero_copy_only=False)
        missing = np.isnan(positions) if positions.dtype.kind == "f" else None
        if missing is not None and missing.any():
            raise KeyError(f"id {ids[int(np.flatnonzero(missing)[0])]} is not in this table")
        return self.take(positions.astype(np.int64))

    def select_features(self, columns: list[int]) -> "Instances":
        """Only the feature columns at ``columns`` (their names follow)."""
        return replace(self, features=self.features[:, columns], header=[self.header[i] for i in columns])

    def with_features(self, features: np.ndarray, header: list[str] | None = None) -> "Instances":
        """The same rows with other features (and header)."""
        return replace(self, features=features, header=list(header if header is not None else self.header))

    def schema(self) -> dict[str, Any]:
        """FATE's table schema of these rows: header, sid and label name."""
        schema = {"header": ",".join(self.header), "sid": self.sid_name}
        if self.label_name is not None:
            schema["label_name"] = self.label_name
        return schema

    def to_table_data(self, partitions: int = 1):
        """The stored form: values "label,f1,...", formatted by Arrow column by column."""
        columns = [] if self.labels is None else [_as_text(self.labels)]
        columns += [_as_text(self.features[:, j]) for j in range(self.n_features)]
        if not columns:
            values = pa.array([""] * len(self), type=pa.string())
        elif len(columns) == 1:
            values = columns[0]
        else:
            values = pc.binary_join_element_wise(*columns, ",")
        return TableData(ids=self.ids, values=values, schema=self.schema(), partitions=partitions)

    @classmethod
    def concat(cls, parts: list["Instances"]) -> "Instances":
        """The rows of ``parts`` one after the other; they share header, sid and label name."""
        first = parts[0]
        labels = None if first.labels is None else np.concatenate([p.labels for p in parts])
        features = np.concatenate([p.features for p in parts]) if len(parts) > 1 else first.features
        return replace(first, ids=pa.concat_arrays([p.ids for p in parts]), features=features, labels=labels)

    @classmethod
    def from_table(cls, table) -> "Instances":
        """Read a table stored by ``to_table_data`` (DataIO's output and everything downstream)."""
        ids, values = _read_all(table)
        return cls.from_rows(table.meta.schema or {}, table.meta.delimiter or ",", ids, values)

    @classmethod
    def from_block(cls, schema: dict[str, Any], delimiter: str, block) -> "Instances":
        """One partition's stored rows (a pyarrow Table "id", "value") read as ``from_table`` reads a
        table: the kernel ``functools.partial(Instances.from_block, schema, delimiter)``."""
        return cls.from_rows(schema, delimiter, _one_chunk(block.column("id")), _one_chunk(block.column("value")))

    @classmethod
    def from_rows(cls, schema: dict[str, Any], delimiter: str, ids: pa.Array, values: pa.Array) -> "Instances":
        """Rows stored by ``to_table_data`` under ``schema`` (header, sid, label_name)."""
        header = [h for h in str(schema.get("header") or "").split(",") if h]
        label_name = schema.get("label_name")
        width = len(header) + (1 if label_name is not None else 0)
        matrix = parse_value_matrix(values, width, delimiter)
        labels = matrix[:, 0] if label_name is not None else None
        features = matrix[:, 1:] if label_name is not None else matrix
        return cls(ids=ids, features=np.ascontiguousarray(features), labels=labels, header=header,
                   sid_name=schema.get("sid") or schema.get("sid_name") or "id", label_name=label_name)


def parse_value_matrix(values: pa.Array, width: int, delimiter: str = ",") -> np.ndarray:
    """Split "a,b,c" strings into an (n, width) float64 matrix; ValueError naming the first bad row."""
    n = len(values)
    if width == 0:
        return np.empty((n, 0))
    parts = pc.split_pattern(values, delimiter)
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(lengths != width)
    if len(bad):
        raise ValueError(f"row {int(bad[0]) + 1} has {int(lengths[bad[0]])} fields, expected {width}")
    flat = pc.list_flatten(parts)
    try:
        numbers = pc.cast(pc.utf8_trim_whitespace(flat), pa.float64())
    except pa.ArrowInvalid as exc:
        raise ValueError(f"a value is not a number: {exc}") from None
    return numbers.to_numpy(zero_copy_only=False).reshape(n, width)


def _as_text(column: np.ndarray) -> pa.Array:
    array = pa.array(column)
    if pa.types.is_floating(array.type):
        integral = np.all(np.isfinite(column)) and np.all(column == np.round(column))
        if integral and np.abs(column).max(initial=0) < 2 ** 53:
            array = pa.array(column.astype(np.int64))  # labels and counts print as "1", as FATE's do
    return pc.cast(array, pa.string())


def _one_chunk(column) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _read_all(table) -> tuple[pa.Array, pa.Array]:
    batches = list(table.iter_batches())
    if not batches:
        return pa.array([], type=pa.string()), pa.array([], type=pa.string())
    ids = pa.concat_arrays([b.column(0) for b in batches])
    values = pa.concat_arrays([b.column(1) for b in batches])
    return ids, values
