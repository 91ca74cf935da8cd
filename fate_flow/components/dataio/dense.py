"""The dense reader: delimited values under the table's header become a float64 matrix and labels.

Work splits in three. ``dense_layout`` (once, on the driver) reads the header: where the label
and the feature fields are. ``parse_dense`` (a kernel, per partition) turns a block's text into
numbers and the masks of its missing and outlier cells. Fitting the replace values adds up
per-partition partials (``imputer.replace_stats``); ``finish_dense`` (a kernel) then fills the
cells. ``read_dense`` runs the same steps on one block in memory (online serving).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.dataio.imputer import Replacement, apply_replace, fit_replacement, replace_stats
from fate_flow.components.dataio.param import INT_TYPES, DataIOParam
from fate_flow.components.dataio.parsing import (block_rows, cast_numbers, check_integral, parse_labels,
                                                 split_cells, value_sets)
from fate_flow.components.dataio.state import FittedState, missing_values, outlier_values
from fate_flow.computing import Instances


def schema_header(schema: dict[str, Any], delimiter: str) -> list[str]:
    """The table's column names after the id (FATE keeps them as one delimited string)."""
    header = schema.get("header")
    if isinstance(header, (list, tuple)):
        return [str(h) for h in header]
    return [h.strip() for h in str(header).split(delimiter)] if header else []


def schema_sid(schema: dict[str, Any]) -> str:
    return schema.get("sid") or schema.get("sid_name") or "sid"


@dataclass(frozen=True)
class DenseLayout:
    """Where the fields of a stored value go: the label's position, the features' positions and names."""

    full_header: tuple[str, ...]
    label_idx: int | None
    positions: tuple[int, ...]
    names: tuple[str, ...]
    sid_name: str
    int_columns: tuple[bool, ...]


@dataclass
class ParsedDense:
    """One block's rows as numbers: NaN in missing cells, with the masks of missing and outlier cells."""

    ids: pa.Array
    matrix: np.ndarray
    labels: np.ndarray | None
    missing: np.ndarray
    outlier: np.ndarray | None


def dense_layout(schema: dict[str, Any], params: DataIOParam, fitted: FittedState | None = None) -> DenseLayout:
    """The layout of a dense table: fit when ``fitted`` is None, else the fitted header's columns.

    Raises:
        ValueError naming the missing label column, a header or sid that differs from the
        fitted one, or exclusive_data_type columns not in the header.
    """
    full_header = schema_header(schema, params.delimitor)
    if not full_header:
        raise ValueError("the input table has no header in its schema; dense input needs one")
    sid_name = schema_sid(schema)
    label_idx = _label_index(full_header, params, must_have=fitted is None)
    if fitted is not None:
        _check_same_sid(sid_name, fitted)
    positions = _feature_positions(full_header, label_idx, None if fitted is None else fitted.header)
    names = [h for i, h in enumerate(full_header) if i != label_idx] if fitted is None else list(fitted.header)
    return DenseLayout(tuple(full_header), label_idx, tuple(positions), tuple(names), sid_name,
                       tuple(_int_columns(names, params).tolist()))


def parse_dense(layout: DenseLayout, params: DataIOParam, ids: pa.Array, values: pa.Array) -> ParsedDense:
    """Rows' text as numbers; ValueError naming a row with the wrong field count, or the row and
    column of a value that is not a number (rows counted within the block)."""
    cells = split_cells(ids, values, params.delimitor, list(layout.full_header))
    width, n = len(layout.full_header), len(ids)
    labels = None
    if layout.label_idx is not None:
        labels = parse_labels(cells.take(pa.array(np.arange(n) * width + layout.label_idx)), ids, params.label_type,
                              params.label_name)
    index = (np.arange(n)[:, np.newaxis] * width + np.asarray(layout.positions, dtype=np.int64)[np.newaxis, :]).ravel()
    names = list(layout.names)
    matrix, missing, outlier = _to_matrix(cells.take(pa.array(index, type=pa.int64())), ids, names, params)
    check_integral(matrix, np.asarray(layout.int_columns, dtype=bool), names, ids)
    return ParsedDense(ids, matrix, labels, missing, outlier)


def parse_dense_block(layout: DenseLayout, params: DataIOParam, block) -> ParsedDense:
    """``parse_dense`` of one partition's stored rows (a kernel)."""
    return parse_dense(layout, params, *block_rows(block))


def fit_replacements(aggregate: Callable, params: DataIOParam) -> tuple[Replacement | None, Replacement | None]:
    """(missing, outlier) replace values learnt over every block; ``aggregate(kernel)`` sums a
    kernel's partials over the parsed blocks. Missing cells are filled before the outliers are
    judged, as FATE does (a mean of outliers' neighbours includes the filled values)."""
    missing = outlier = None
    if params.missing_fill:
        missing = fit_replacement(aggregate(_missing_stats), params.missing_fill_method, params.default_value,
                                  "default_value")
    if params.outlier_replace:
        stats = aggregate(functools.partial(_outlier_stats, params.missing_fill, missing))
        outlier = fit_replacement(stats, params.outlier_replace_method, params.outlier_replace_value,
                                  "outlier_replace_value")
    return missing, outlier


def fitted_replacements(params: DataIOParam, fitted: FittedState) -> tuple[Replacement | None, Replacement | None]:
    """(missing, outlier) replace values of a DataIO model that its params ask to apply."""
    return (fitted.missing if params.missing_fill else None,
            fitted.outlier if params.outlier_replace else None)


def finish_dense(layout: DenseLayout, params: DataIOParam, missing: Replacement | None,
                 outlier: Replacement | None, parsed: ParsedDense) -> Instances:
    """The block's Instances: missing cells filled, then outliers replaced (a kernel)."""
    matrix = parsed.matrix
    if missing is not None:
        matrix = apply_replace(matrix, parsed.missing, missing.values)
    if outlier is not None and parsed.outlier is not None:
        matrix = apply_replace(matrix, _outlier_mask(parsed, params.missing_fill), outlier.values)
    return Instances(ids=parsed.ids, features=matrix, labels=parsed.labels, header=list(layout.names),
                     sid_name=layout.sid_name, label_name=params.label_name if parsed.labels is not None else None)


def dense_state(layout: DenseLayout, params: DataIOParam, fitted: FittedState | None, missing: Replacement | None,
                outlier: Replacement | None) -> FittedState:
    """What the model saves: the header, sid, label name and the replacements applied."""
    has_label = layout.label_idx is not None or bool(fitted and fitted.label_name)
    return FittedState(header=list(layout.names), sid_name=layout.sid_name,
                       label_name=params.label_name if has_label else None, missing=missing, outlier=outlier)


def read_dense(ids: pa.Array, values: pa.Array, schema: dict[str, Any], params: DataIOParam,
               fitted: FittedState | None = None) -> tuple[Instances, FittedState]:
    """Parse rows held in memory (one block): fit when ``fitted`` is None, else transform; errors as
    ``dense_layout`` and ``parse_dense`` raise them."""
    layout = dense_layout(schema, params, fitted)
    parsed = parse_dense(layout, params, ids, values)
    if fitted is None:
        missing, outlier = fit_replacements(lambda kernel: kernel(parsed), params)
    else:
        missing, outlier = fitted_replacements(params, fitted)
    return (finish_dense(layout, params, missing, outlier, parsed),
            dense_state(layout, params, fitted, missing, outlier))


def _missing_stats(parsed: ParsedDense):
    return replace_stats(parsed.matrix, parsed.missing)


def _outlier_stats(missing_fill: bool, missing: Replacement | None, parsed: ParsedDense):
    matrix = parsed.matrix if missing is None else apply_replace(parsed.matrix, parsed.missing, missing.values)
    return replace_stats(matrix, _outlier_mask(parsed, missing_fill))


def _outlier_mask(parsed: ParsedDense, missing_fill: bool) -> np.ndarray:
    # a filled cell holds the fill value now, not the outlier
    return parsed.outlier & ~parsed.missing if missing_fill else parsed.outlier


def _label_index(header: list[str], params: DataIOParam, must_have: bool) -> int | None:
    if not params.with_label:
        return None
    if params.label_name in header:
        return header.index(params.label_name)
    if must_have:
        raise ValueError(f"label_name {params.label_name!r} is not in the input header {header}")
    return None


def _check_same_sid(sid_name: str, fitted: FittedState) -> None:
    if fitted.sid_name and sid_name != fitted.sid_name:
        raise ValueError(f"the input's id column is {sid_name!r} but the DataIO model was fitted on "
                         f"{fitted.sid_name!r}")


def _feature_positions(full_header: list[str], label_idx: int | None, fitted_header: list[str] | None) -> list[int]:
    """Positions of the feature fields in a value: all but the label, or the fitted header's in its order.

    Like FATE's header_alignment, a transform input may hold the fitted columns in another
    order or extra columns (dropped); a fitted column it lacks is an error.
    """
    if fitted_header is None:
        return [i for i in range(len(full_header)) if i != label_idx]
    where = {name: i for i, name in enumerate(full_header) if i != label_idx}
    lacking = [name for name in fitted_header if name not in where]
    if lacking:
        raise ValueError(f"the input header lacks columns {lacking} of the header the DataIO model was fitted "
                         f"on; fitted {fitted_header}, got {[h for i, h in enumerate(full_header) if i != label_idx]}")
    return [where[name] for name in fitted_header]


def _to_matrix(strings: pa.Array, ids: pa.Array, names: list[str],
               params: DataIOParam) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Cells as an (n, d) float64 matrix, with the masks of missing cells and of outliers."""
    n, width = len(ids), len(names)
    miss_text, miss_numbers = value_sets(missing_values(params))
    as_missing = pc.is_in(strings, value_set=miss_text)
    as_outlier = None
    substitute = as_missing
    if params.outlier_replace:
        out_text, out_numbers = value_sets(outlier_values(params))
        as_outlier = pc.is_in(strings, value_set=out_text)
        substitute = pc.or_(as_missing, as_outlier)

    def where(i: int) -> str:
        row = i // width
        return f"column {names[i % width]!r} of row {row + 1} (id {ids[row].as_py()!r})"

    numbers = cast_numbers(pc.if_else(substitute, "nan", strings), where)
    matrix = numbers.reshape(n, width)
    substituted = _mask(substitute, n, width)
    missing = _mask(as_missing, n, width) | (np.isnan(matrix) & ~substituted) | np.isin(matrix, miss_numbers)
    outlier = None
    if as_outlier is not None:
        outlier = _mask(as_outlier, n, width) | np.isin(matrix, out_numbers)
    return np.where(missing, np.nan, matrix), missing, outlier


def _mask(flags: pa.Array, n: int, width: int) -> np.ndarray:
    return flags.to_numpy(zero_copy_only=False).astype(bool).reshape(n, width)


def _int_columns(names: list[str], params: DataIOParam) -> np.ndarray:
    exclusive = params.exclusive_data_type or {}
    unknown = sorted(set(exclusive) - set(names))
    if unknown:
        raise ValueError(f"exclusive_data_type names columns {unknown} that are not in the header {names}")
    return np.asarray([exclusive.get(name, params.data_type) in INT_TYPES for name in names], dtype=bool)
