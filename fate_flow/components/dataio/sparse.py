"""The sparse (svmlight) and tag readers; both produce a dense float64 feature matrix here.

FATE keeps these rows as SparseVectors; this project's Instances are dense, so an absent
feature is a 0 in the matrix (which is what FATE's SparseVector means by it too).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.dataio.param import INT_TYPES, DataIOParam
from fate_flow.components.dataio.parsing import cast_numbers, check_integral, parse_labels, split_tokens
from fate_flow.components.dataio.state import FittedState
from fate_flow.computing import Instances

SPARSE_SID = "sid"  # FATE's sparse and tag readers name the id column "sid"


def read_sparse(ids: pa.Array, values: pa.Array, params: DataIOParam,
                fitted: FittedState | None = None) -> tuple[Instances, FittedState]:
    """Parse "label fid:value fid:value ..." rows; the header is "0".."max fid" (fit) or the fitted one.

    In transform, feature ids beyond the fitted header are dropped.
    """
    rows, tokens, labels = _split_rows(ids, values, params)
    where = _token_place(ids, rows, tokens)
    pairs = _pairs(tokens, ":", where, "fid:value")
    fids = cast_numbers(pc.list_element(pairs, 0), lambda i: f"feature id of {where(i)}", pa.int64())
    numbers = cast_numbers(pc.list_element(pairs, 1), lambda i: f"value of {where(i)}")
    negative = np.flatnonzero(fids < 0)
    if len(negative):
        raise ValueError(f"{where(int(negative[0]))} has a negative feature id")
    width = (int(fids.max()) + 1 if len(fids) else 0) if fitted is None else len(fitted.header)
    header = [str(i) for i in range(width)] if fitted is None else list(fitted.header)
    return _assemble(ids, rows, fids, numbers, header, labels, params)


def read_tag(ids: pa.Array, values: pa.Array, params: DataIOParam,
             fitted: FittedState | None = None) -> tuple[Instances, FittedState]:
    """Parse "label tag tag ..." (or "tag:value" with tag_with_value) rows; each distinct tag is a column.

    The fitted header is the sorted distinct tags; a present tag without value counts 1. In
    transform, tags outside the fitted header are dropped.
    """
    rows, tokens, labels = _split_rows(ids, values, params)
    where = _token_place(ids, rows, tokens)
    if params.tag_with_value:
        pairs = _pairs(tokens, params.tag_value_delimitor, where, f"tag{params.tag_value_delimitor}value")
        tags = pc.utf8_trim_whitespace(pc.list_element(pairs, 0))
        numbers = cast_numbers(pc.utf8_trim_whitespace(pc.list_element(pairs, 1)), lambda i: f"value of {where(i)}")
    else:
        tags, numbers = tokens, np.ones(len(tokens))
    if fitted is None:
        header = sorted(pc.unique(tags).to_pylist())
        commas = [tag for tag in header if "," in tag]
        if commas:
            raise ValueError(f"tag {commas[0]!r} holds ',', which the stored header cannot hold")
    else:
        header = list(fitted.header)
    columns = pc.index_in(tags, value_set=pa.array(header, type=pa.string()))
    known = pc.is_valid(columns).to_numpy(zero_copy_only=False)
    columns = pc.fill_null(columns, -1).to_numpy(zero_copy_only=False)
    return _assemble(ids, rows[known], columns[known], numbers[known], header, labels, params)


def _split_rows(ids: pa.Array, values: pa.Array,
                params: DataIOParam) -> tuple[np.ndarray, pa.Array, np.ndarray | None]:
    """The feature tokens with their rows, and the labels (the first token of each row) when with_label."""
    rows, tokens = split_tokens(values, params.delimitor)
    if not params.with_label:
        return rows, tokens, None
    counts = np.bincount(rows, minlength=len(ids))
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        row = int(empty[0])
        raise ValueError(f"row {row + 1} (id {ids[row].as_py()!r}) has no label (with_label is true)")
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    labels = parse_labels(tokens.take(pa.array(first)), ids, params.label_type, params.label_name)
    rest = np.ones(len(tokens), dtype=bool)
    rest[first] = False
    return rows[rest], tokens.filter(pa.array(rest)), labels


def _token_place(ids: pa.Array, rows: np.ndarray, tokens: pa.Array):
    def where(i: int) -> str:
        row = int(rows[i])
        return f"field {tokens[i].as_py()!r} of row {row + 1} (id {ids[row].as_py()!r})"

    return where


def _pairs(tokens: pa.Array, delimiter: str, where, form: str) -> pa.Array:
    pairs = pc.split_pattern(tokens, delimiter, max_splits=1)
    bad = np.flatnonzero(pc.list_value_length(pairs).to_numpy(zero_copy_only=False) != 2)
    if len(bad):
        raise ValueError(f"{where(int(bad[0]))} is not of the form {form}")
    return pairs


def _assemble(ids: pa.Array, rows: np.ndarray, columns: np.ndarray, numbers: np.ndarray, header: list[str],
              labels: np.ndarray | None, params: DataIOParam) -> tuple[Instances, FittedState]:
    inside = columns < len(header)  # transform: feature ids the fitted header does not have
    matrix = np.zeros((len(ids), len(header)))
    matrix[rows[inside], columns[inside]] = numbers[inside]
    check_integral(matrix, np.full(len(header), params.data_type in INT_TYPES), header, ids)
    label_name = params.label_name if labels is not None else None
    state = FittedState(header=header, sid_name=SPARSE_SID, label_name=params.label_name if params.with_label else None)
    return Instances(ids=ids, features=matrix, labels=labels, header=header, sid_name=SPARSE_SID,
                     label_name=label_name), state
