"""The dense reader: delimited values under the table's header become a float64 matrix and labels."""
from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.dataio.imputer import apply_replace, fit_replace
from fate_flow.components.dataio.param import INT_TYPES, DataIOParam
from fate_flow.components.dataio.parsing import (cast_numbers, check_integral, parse_labels, split_cells,
                                                 value_sets)
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


def read_dense(ids: pa.Array, values: pa.Array, schema: dict[str, Any], params: DataIOParam,
               fitted: FittedState | None = None) -> tuple[Instances, FittedState]:
    """Parse a dense table: fit when ``fitted`` is None, else transform with the fitted state.

    Raises:
        ValueError naming the missing label column, a header or sid that differs from the
        fitted one, a row with the wrong field count, or the row and column of a value
        that is not a number.
    """
    full_header = schema_header(schema, params.delimitor)
    if not full_header:
        raise ValueError("the input table has no header in its schema; dense input needs one")
    sid_name = schema_sid(schema)
    label_idx = _label_index(full_header, params, must_have=fitted is None)
    names = [h for i, h in enumerate(full_header) if i != label_idx]
    if fitted is not None:
        _check_same_sid(sid_name, fitted)
    positions = _feature_positions(full_header, label_idx, None if fitted is None else fitted.header)
    if fitted is not None:
        names = list(fitted.header)
    cells = split_cells(ids, values, params.delimitor, full_header)
    width, n = len(full_header), len(ids)
    labels = None
    if label_idx is not None:
        labels = parse_labels(cells.take(pa.array(np.arange(n) * width + label_idx)), ids, params.label_type,
                              params.label_name)
    index = (np.arange(n)[:, np.newaxis] * width + np.asarray(positions, dtype=np.int64)[np.newaxis, :]).ravel()
    matrix, missing, outlier = _to_matrix(cells.take(pa.array(index)), ids, names, params)
    check_integral(matrix, _int_columns(names, params), names, ids)
    matrix, state = _replace(matrix, missing, outlier, params, fitted)
    state.header, state.sid_name = names, sid_name
    state.label_name = params.label_name if label_idx is not None or (fitted and fitted.label_name) else None
    label_name = params.label_name if labels is not None else None
    return Instances(ids=ids, features=matrix, labels=labels, header=names, sid_name=sid_name,
                     label_name=label_name), state


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


def _replace(matrix: np.ndarray, missing: np.ndarray, outlier: np.ndarray | None, params: DataIOParam,
             fitted: FittedState | None) -> tuple[np.ndarray, FittedState]:
    """Fill missing cells, then replace outliers (FATE's order), learning or reusing the values."""
    state = FittedState(header=[], sid_name="")
    if params.missing_fill:
        if fitted is None:
            matrix, state.missing = fit_replace(matrix, missing, params.missing_fill_method, params.default_value,
                                                "default_value")
        elif fitted.missing is not None:
            matrix, state.missing = apply_replace(matrix, missing, fitted.missing.values), fitted.missing
    if params.outlier_replace and outlier is not None:
        if params.missing_fill:
            outlier = outlier & ~missing  # a filled cell holds the fill value now, not the outlier
        if fitted is None:
            matrix, state.outlier = fit_replace(matrix, outlier, params.outlier_replace_method,
                                                params.outlier_replace_value, "outlier_replace_value")
        elif fitted.outlier is not None:
            matrix, state.outlier = apply_replace(matrix, outlier, fitted.outlier.values), fitted.outlier
    return matrix, state
