"""Vectorised text-to-number helpers shared by DataIO's readers (Arrow compute, no loop per row)."""
from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.dataio.param import INT_TYPES


def read_rows(table) -> tuple[pa.Array, pa.Array]:
    """Every (id, value) of a stored table as two string arrays, in stored order (online serving's
    feature source reads a host's table so; components read partitions with ``block_rows``)."""
    batches = list(table.iter_batches())
    if not batches:
        return pa.array([], type=pa.string()), pa.array([], type=pa.string())
    return (pa.concat_arrays([b.column(0) for b in batches]),
            pa.concat_arrays([b.column(1) for b in batches]))


def block_rows(block) -> tuple[pa.Array, pa.Array]:
    """The (id, value) string arrays of one partition's stored rows (a pyarrow Table or RecordBatch)."""
    def one(column):
        return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column

    return one(block.column("id")), one(block.column("value"))


def split_cells(ids: pa.Array, values: pa.Array, delimiter: str, header: list[str]) -> pa.Array:
    """The fields of every value, trimmed, row after row: ``len(ids) * len(header)`` strings.

    Raises:
        ValueError naming the first row whose field count differs from the header's.
    """
    parts = pc.split_pattern(values, delimiter)
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(lengths != len(header))
    if len(bad):
        row = int(bad[0])
        raise ValueError(f"row {row + 1} (id {ids[row].as_py()!r}) has {int(lengths[row])} fields "
                         f"but the header has {len(header)}: {header}")
    return pc.utf8_trim_whitespace(pc.list_flatten(parts))


def split_tokens(values: pa.Array, delimiter: str) -> tuple[np.ndarray, pa.Array]:
    """The non-empty fields of every value and the row each came from (sparse and tag input).

    A blank delimiter splits on runs of whitespace, as svmlight files are written.
    """
    if delimiter.strip() == "":
        parts = pc.utf8_split_whitespace(values)
    else:
        parts = pc.split_pattern(values, delimiter)
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    rows = np.repeat(np.arange(len(values)), lengths)
    tokens = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    keep = pc.not_equal(tokens, "").to_numpy(zero_copy_only=False)
    return rows[keep], tokens.filter(pa.array(keep))


def cast_numbers(strings: pa.Array, describe: Callable[[int], str], to: pa.DataType = pa.float64()) -> np.ndarray:
    """``strings`` as numbers of type ``to`` (a numpy array).

    Args:
        describe: maps the position of a value that is not a number to a text naming
            where it is (its row and column), used in the error message.

    Raises:
        ValueError: "<describe(i)> holds 'abc', which is not a number".
    """
    try:
        return pc.cast(strings, to).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = _first_uncastable(strings, to)
        raise ValueError(f"{describe(bad)} holds {strings[bad].as_py()!r}, which is not a number") from None


def _first_uncastable(strings: pa.Array, to: pa.DataType) -> int:
    # Bisection with Arrow's own parser: exact whatever syntax Arrow accepts, O(n) work in all.
    low, high = 0, len(strings)
    while high - low > 1:
        middle = (low + high) // 2
        try:
            pc.cast(strings.slice(low, middle - low), to)
            low = middle
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            high = middle
    return low


def value_sets(values) -> tuple[pa.Array, np.ndarray]:
    """Strings and numbers to match cells against: every value as text, the numeric ones also as floats."""
    texts = [str(v).strip() for v in values]
    numbers = []
    for value in values:
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if not np.isnan(number):
            numbers.append(number)
    return pa.array(texts, type=pa.string()), np.asarray(numbers, dtype=np.float64)


def parse_labels(strings: pa.Array, ids: pa.Array, label_type: str, label_name: str) -> np.ndarray:
    """Labels as int64 (label_type int|int64|long) or float64; ValueError naming the bad row."""
    def where(i: int) -> str:
        return f"label {label_name!r} of row {i + 1} (id {ids[i].as_py()!r})"

    labels = cast_numbers(pc.if_else(pc.equal(strings, ""), "nan", strings), where)
    missing = np.flatnonzero(np.isnan(labels))
    if len(missing):
        raise ValueError(f"{where(int(missing[0]))} is missing")
    if label_type not in INT_TYPES:
        return labels
    fractional = np.flatnonzero(labels != np.round(labels))
    if len(fractional):
        raise ValueError(f"{where(int(fractional[0]))} is {float(labels[fractional[0]])!r}, not an integer "
                         f"(label_type {label_type})")
    return labels.astype(np.int64)


def check_integral(matrix: np.ndarray, int_columns: np.ndarray, header: list[str], ids: pa.Array) -> None:
    """Raise ValueError naming the first cell of an int-typed column that holds a fraction."""
    if not int_columns.any():
        return
    block = matrix[:, int_columns]
    bad = np.argwhere(np.isfinite(block) & (block != np.round(block)))
    if len(bad):
        row, col = int(bad[0][0]), int(np.flatnonzero(int_columns)[bad[0][1]])
        raise ValueError(f"column {header[col]!r} of row {row + 1} (id {ids[row].as_py()!r}) is "
                         f"{float(matrix[row, col])!r}, not an integer as its data type requires")
