"""Which partition a row belongs to: FNV-1a (32 bit) of its id's UTF-8 bytes, modulo the partition count.

Every party computes the same function of the id alone, so two tables with the same partition
count are co-partitioned: after intersection, partition i of the guest holds exactly the ids of
partition i of the host, and a join never moves rows between parties or partitions. Computed
with numpy over Arrow's string buffers, one pass per byte position (ids are short), never per row.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619
MAX_PARTITIONS = 1 << 16


def check_partitions(partitions: int, what: str = "partitions") -> int:
    """``partitions`` if it is an int in [1, 65536], else ValueError naming ``what``."""
    if isinstance(partitions, bool) or not isinstance(partitions, int) or not 1 <= partitions <= MAX_PARTITIONS:
        raise ValueError(f"{what} should be an integer between 1 and {MAX_PARTITIONS}, got {partitions!r}")
    return partitions


def id_hashes(ids: "pa.Array | pa.ChunkedArray") -> "np.ndarray":
    """FNV-1a of every id (uint32); ids are strings (other types are cast to their text)."""
    import numpy as np
    import pyarrow as pa

    if isinstance(ids, pa.ChunkedArray):
        chunks = [id_hashes(chunk) for chunk in ids.chunks]
        return np.concatenate(chunks) if chunks else np.empty(0, dtype=np.uint32)
    if ids.type not in (pa.string(), pa.large_string()):
        ids = ids.cast(pa.string())
    rows = len(ids)
    hashes = np.full(rows, FNV_OFFSET, dtype=np.uint32)
    if rows == 0:
        return hashes
    width = np.int32 if ids.type == pa.string() else np.int64
    _, offsets, data = ids.buffers()
    offsets = np.frombuffer(offsets, dtype=width, count=rows + 1, offset=ids.offset * np.dtype(width).itemsize)
    starts = offsets[:-1].astype(np.int64)
    lengths = np.diff(offsets).astype(np.int64)
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, dtype=np.uint8)
    prime = np.uint32(FNV_PRIME)
    todo = np.arange(rows)
    for position in range(int(lengths.max(initial=0))):
        todo = todo[lengths[todo] > position]
        hashes[todo] = (hashes[todo] ^ data[starts[todo] + position]) * prime  # wraps modulo 2**32
    return hashes


def partition_of(ids: "pa.Array | pa.ChunkedArray", partitions: int) -> "np.ndarray":
    """The partition (int64 in [0, partitions)) of every id."""
    import numpy as np

    if partitions == 1:
        return np.zeros(len(ids), dtype=np.int64)
    return (id_hashes(ids) % np.uint32(partitions)).astype(np.int64)


def split_rows(partition_numbers: "np.ndarray", partitions: int) -> list["np.ndarray"]:
    """For each partition, the row positions that belong to it, in row order."""
    import numpy as np

    order = np.argsort(partition_numbers, kind="stable")
    bounds = np.searchsorted(partition_numbers[order], np.arange(partitions + 1))
    return [order[bounds[p]:bounds[p + 1]] for p in range(partitions)]
