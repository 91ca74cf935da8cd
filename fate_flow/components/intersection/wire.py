"""What one partition's message of Intersection carries, and the checks it passes on arrival.

Every message is a dict of numpy buffers (the codec moves them as raw bytes, nothing is
converted per id): ``{"partitions": P, "rows": uint8 (n, width)}`` for fixed-width values
(RSA integers big-endian, SHA-256 digests) and ``{"partitions": P, "offsets": int32 (n+1),
"data": uint8}`` for strings (Arrow's own layout). ``partitions`` is the sender's partition
count: partition i of one party is only comparable with partition i of the other when both
split their ids into the same number of partitions, so a mismatch fails at once.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

DIGEST_BYTES = 32  # SHA-256


def rows_message(rows: np.ndarray, partitions: int) -> dict[str, Any]:
    """The message of fixed-width values (one uint8 row each)."""
    return {"partitions": partitions, "rows": np.ascontiguousarray(rows, dtype=np.uint8)}


def read_rows(obj: Any, name: str, partitions: int, width: int) -> np.ndarray:
    """The uint8 (n, ``width``) rows of a received ``rows_message``; ValueError naming ``name`` otherwise."""
    _check_header(obj, name, partitions, {"partitions", "rows"})
    rows = obj["rows"]
    if not (isinstance(rows, np.ndarray) and rows.dtype == np.uint8 and rows.ndim == 2 and rows.shape[1] == width):
        raise ValueError(f"{name} should hold rows of {width} bytes, got {_describe(rows)}")
    return rows


def strings_message(values: pa.Array, partitions: int) -> dict[str, Any]:
    """The message of a string array (ids or their encodings), in Arrow's layout."""
    if values.null_count:
        raise ValueError("ids to send hold nulls")
    values = values.cast(pa.string())
    count = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32, count=count + 1, offset=values.offset * 4)
    data = values.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, dtype=np.uint8)
    return {"partitions": partitions, "offsets": offsets - offsets[0], "data": data[offsets[0]:offsets[-1]]}


def read_strings(obj: Any, name: str, partitions: int) -> pa.Array:
    """The string array of a received ``strings_message``, validated (offsets in bounds, UTF-8)."""
    _check_header(obj, name, partitions, {"partitions", "offsets", "data"})
    offsets, data = obj["offsets"], obj["data"]
    if not (isinstance(offsets, np.ndarray) and offsets.dtype == np.int32 and offsets.ndim == 1 and len(offsets)):
        raise ValueError(f"{name} should hold int32 offsets, got {_describe(offsets)}")
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 1):
        raise ValueError(f"{name} should hold uint8 text, got {_describe(data)}")
    try:
        values = pa.StringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))
        values.validate(full=True)
    except pa.ArrowInvalid as exc:
        raise ValueError(f"{name} should be a list of strings: {exc}") from None
    return values


def _check_header(obj: Any, name: str, partitions: int, keys: set[str]) -> None:
    if not isinstance(obj, dict) or set(obj) != keys:
        raise ValueError(f"{name} should be a dict of {sorted(keys)}, got {_describe(obj)}")
    if type(obj["partitions"]) is not int or obj["partitions"] != partitions:
        raise ValueError(f"{name} comes from a party computing with {obj['partitions']!r} partitions, this one "
                         f"with {partitions}: set the same job_parameters.computing_partitions for every party")


def _describe(obj: Any) -> str:
    if isinstance(obj, np.ndarray):
        return f"an array of {obj.dtype} and shape {obj.shape}"
    if isinstance(obj, dict):
        return f"a dict of {sorted(map(str, obj))}"
    return type(obj).__name__
