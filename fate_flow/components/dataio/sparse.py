"""The sparse (svmlight) and tag readers; both produce a dense float64 feature matrix here.

FATE keeps these rows as SparseVectors; this project's Instances are dense, so an absent
feature is a 0 in the matrix (which is what FATE's SparseVector means by it too). Fitting
learns the header from every partition (the largest feature id, or the set of tags), then
a kernel parses each partition under it.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.dataio.imputer import apply_replace, replace_stats
from fate_flow.components.dataio.param import INT_TYPES, DataIOParam
from fate_flow.components.dataio.parsing import block_rows, cast_numbers, check_integral, parse_labels, split_tokens
from fate_flow.components.dataio.state import FittedState, missing_values
from fate_flow.computing import Instances

SPARSE_SID = "sid"  # FATE's sparse and tag readers name the id column "sid"


def sparse_header(width: int) -> list[str]:
    """The header a sparse fit learns: "0".."max fid"."""
    return [str(i) for i in range(width)]


def max_feature_id(params: DataIOParam, block) -> int:
    """The largest feature id of a block's "label fid:value ..." rows (-1 for none): a kernel whose
    maximum over partitions sizes the fitted header."""
    ids, values = block_rows(block)
    _, fids, _, _ = _sparse_pairs(ids, values, params)
    return int(fids.max()) if len(fids) else -1


def parse_sparse(params: DataIOParam, header: list[str], block) -> Instances:
    """A block of "label fid:value ..." rows under ``header`` (a kernel); feature ids beyond it are dropped."""
    ids, values = block_rows(block)
    rows, fids, numbers, labels = _sparse_pairs(ids, values, params)
    return _assemble(ids, rows, fids, numbers, header, labels, params)


def distinct_tags(params: DataIOParam, block) -> set:
    """The tags of a block's "label tag tag ..." rows: a kernel whose union over partitions, sorted,
    is the fitted header."""
    ids, values = block_rows(block)
    _, tags, _, _ = _tag_pairs(ids, values, params)
    return set(pc.unique(tags).to_pylist())


def tag_header(tags: set) -> list[str]:
    """The header a tag fit learns: the sorted distinct tags; ValueError for a tag holding ','."""
    header = sorted(tags)
    commas = [tag for tag in header if "," in tag]
    if commas:
        raise ValueError(f"tag {commas[0]!r} holds ',', which the stored header cannot hold")
    return header


def parse_tag(params: DataIOParam, header: list[str], block) -> Instances:
    """A block of "label tag tag ..." (or "tag:value") rows under ``header`` (a kernel); a present tag
    without value counts 1, tags outside the header are dropped."""
    ids, values = block_rows(block)
    rows, tags, numbers, labels = _tag_pairs(ids, values, params)
    columns = pc.index_in(tags, value_set=pa.array(header, type=pa.string()))
    known = pc.is_valid(columns).to_numpy(zero_copy_only=False)
    columns = pc.fill_null(columns, -1).to_numpy(zero_copy_only=False)
    return _assemble(ids, rows[known], columns[known], numbers[known], header, labels, params)


def output_label_name(params: DataIOParam) -> str:
    """The label's name in the output: FATE's tag reader renames it "label" whatever was configured."""
    return "label" if params.input_format == "tag" else params.label_name


def tag_fills_missing(params: DataIOParam) -> bool:
    """Missing fill of a tag read: only with tag_with_value, as in FATE (a bare tag has no value to miss)."""
    return params.input_format == "tag" and params.tag_with_value and params.missing_fill


def sparse_state(header: list[str], params: DataIOParam, missing=None) -> FittedState:
    """What the model of a sparse or tag read saves."""
    return FittedState(header=list(header), sid_name=SPARSE_SID,
                       label_name=output_label_name(params) if params.with_label else None, missing=missing)


def nan_stats(block: Instances):
    """The replace statistics of a tag block whose missing values are NaN (a kernel for ``aggregate``)."""
    return replace_stats(block.features, np.isnan(block.features))


def fill_nan(values: np.ndarray, block: Instances) -> Instances:
    """The block with its NaN cells (missing tag values) set to their column's replace value (a kernel)."""
    return block.with_features(apply_replace(block.features, np.isnan(block.features), values))


def _sparse_pairs(ids: pa.Array, values: pa.Array, params: DataIOParam) -> tuple:
    """(row, feature id, value) of every "fid:value" token, and the labels."""
    rows, tokens, labels = _split_rows(ids, values, params)
    where = _token_place(ids, rows, tokens)
    pairs = _pairs(tokens, ":", where, "fid:value")
    fids = cast_numbers(pc.list_element(pairs, 0), lambda i: f"feature id of {where(i)}", pa.int64())
    numbers = cast_numbers(pc.list_element(pairs, 1), lambda i: f"value of {where(i)}")
    negative = np.flatnonzero(fids < 0)
    if len(negative):
        raise ValueError(f"{where(int(negative[0]))} has a negative feature id")
    return rows, fids, numbers, labels


def _tag_pairs(ids: pa.Array, values: pa.Array, params: DataIOParam) -> tuple:
    """(row, tag, value) of every tag token, and the labels."""
    rows, tokens, labels = _split_rows(ids, values, params)
    where = _token_place(ids, rows, tokens)
    if params.tag_with_value:
        pairs = _pairs(tokens, params.tag_value_delimitor, where, f"tag{params.tag_value_delimitor}value")
        tags = pc.utf8_trim_whitespace(pc.list_element(pairs, 0))
        texts = pc.utf8_trim_whitespace(pc.list_element(pairs, 1))
        # a value of the missing list (missing_impute, else FATE's default) is read as NaN, filled later
        missing = pc.is_in(texts, value_set=pa.array([str(v) for v in missing_values(params)], type=pa.string()))
        numbers = cast_numbers(pc.if_else(missing, "nan", texts), lambda i: f"value of {where(i)}")
    else:
        tags, numbers = tokens, np.ones(len(tokens))
    return rows, tags, numbers, labels


def _split_rows(ids: pa.Array, values: pa.Array,
                params: DataIOParam) -> tuple[np.ndarray, pa.Array, np.ndarray | None]:
    """The feature tokens with their rows, and the labels (the first token of each row) when with_label.

    In svmlight (sparse) rows the first token is always the label, as FATE's sparse reader reads it:
    without with_label it is skipped (a host's svmlight file carries one too).
    """
    rows, tokens = split_tokens(values, params.delimitor)
    first_is_label = params.with_label or params.input_format == "sparse"
    if not first_is_label:
        return rows, tokens, None
    counts = np.bincount(rows, minlength=len(ids))
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        row = int(empty[0])
        raise ValueError(f"row {row + 1} (id {ids[row].as_py()!r}) has no label (with_label is true)"
                         if params.with_label else f"row {row + 1} (id {ids[row].as_py()!r}) is empty")
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    labels = parse_labels(tokens.take(pa.array(first)), ids, params.label_type, params.label_name) \
        if params.with_label else None
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
              labels: np.ndarray | None, params: DataIOParam) -> Instances:
    inside = columns < len(header)  # transform: feature ids the fitted header does not have
    matrix = np.zeros((len(ids), len(header)))
    matrix[rows[inside], columns[inside]] = numbers[inside]
    check_integral(matrix, np.full(len(header), params.data_type in INT_TYPES), header, ids)
    label_name = output_label_name(params) if labels is not None else None
    return Instances(ids=ids, features=matrix, labels=labels, header=list(header), sid_name=SPARSE_SID,
                     label_name=label_name)
