"""Download output: a stored table written as delimited text lines, FATE 1.4's download format."""
from __future__ import annotations

import contextlib
import os
import secrets
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.storage.base import StoredTable


def write_delimited(table: StoredTable, path: str | os.PathLike, delimiter: str = ",",
                    progress: Callable[[int], None] | None = None, header: str | None = None,
                    limit: int = -1) -> int:
    """Write one "\\n"-terminated line per row and return the number of rows written.

    A line is ``id + delimiter + value``, or just ``id`` when the value is empty; there
    is no header and rows keep the table's stored order. The text goes to a temporary
    file beside ``path`` that is renamed onto it at the end, so ``path`` is either
    untouched or complete; the temporary file is removed on failure.

    Args:
        progress: called with the number of rows done after each batch.
        header: a first line to write (FATE's output data download has one; downloads don't).
        limit: write at most this many rows (-1: all).
    """
    target = os.fspath(path)
    temporary = f"{target}.part-{secrets.token_hex(6)}"
    rows = 0
    try:
        with open(temporary, "wb") as out:
            if header is not None:
                out.write(header.encode("utf-8") + b"\n")
            for batch in table.iter_batches():
                if 0 <= limit - rows < batch.num_rows:
                    batch = batch.slice(0, limit - rows)
                if batch.num_rows:
                    out.write(_batch_text(batch, delimiter))
                    rows += batch.num_rows
                    if progress is not None:
                        progress(rows)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return rows


def _batch_text(batch: pa.RecordBatch, delimiter: str) -> memoryview:
    """The batch's lines as one contiguous byte view (the data buffer of a joined string array)."""
    ids, values = batch.column(0), batch.column(1)
    lines = pc.binary_join_element_wise(ids, values, delimiter)
    is_bare = pc.equal(pc.binary_length(values), 0)
    if pc.any(is_bare).as_py():
        lines = pc.if_else(is_bare, ids, lines)
    lines = pc.binary_join_element_wise(lines, "", "\n")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]]
