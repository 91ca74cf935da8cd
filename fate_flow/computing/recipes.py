"""How one partition of a table is computed: small picklable recipes, evaluated inside a worker.

A recipe names where the partition's rows come from (row groups of a stored file, a spilled
block, a literal block) and the kernels to apply on the way (``Mapped``, ``Zipped``). A worker
evaluates it with ``compute`` and only then holds the rows: the task's driver never does.

Blocks are what kernels see: a ``pyarrow.Table`` of stored rows ("id", "value"), an
``Instances``, or any object the kernels agree on. ``block_len``, ``block_ids``, ``take_rows``,
``concat_blocks`` and ``block_rows`` know the first two.
"""
from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

SPILL_PROTOCOL = pickle.HIGHEST_PROTOCOL


@dataclass(frozen=True)
class StoredPart:
    """Row groups of a stored table's data file; ``data_id`` pins the version the task opened."""

    path: str
    data_id: str
    row_groups: tuple[int, ...]


@dataclass(frozen=True)
class SpilledPart:
    """A block pickled by this party's own worker under the task's scratch directory."""

    path: str


@dataclass(frozen=True)
class Literal:
    """A block carried in the recipe itself (small tables built on the driver)."""

    block: Any


@dataclass(frozen=True)
class Mapped:
    """``function(block of source)``."""

    source: Any
    function: Callable[[Any], Any]


@dataclass(frozen=True)
class Zipped:
    """``function(block of sources[0], block of sources[1], ...)``: joins and unions of co-partitioned tables."""

    sources: tuple
    function: Callable[..., Any]


@dataclass(frozen=True)
class Gathered:
    """The pieces a shuffle wrote for this partition, concatenated in source order."""

    paths: tuple[str, ...]


def compute(recipe: Any) -> Any:
    """The block a recipe describes."""
    if isinstance(recipe, Mapped):
        return recipe.function(compute(recipe.source))
    if isinstance(recipe, Zipped):
        return recipe.function(*(compute(source) for source in recipe.sources))
    if isinstance(recipe, StoredPart):
        return read_stored_part(recipe)
    if isinstance(recipe, SpilledPart):
        return load_block(recipe.path)
    if isinstance(recipe, Literal):
        return recipe.block
    if isinstance(recipe, Gathered):
        return concat_blocks([load_block(path) for path in recipe.paths])
    raise TypeError(f"not a partition recipe: {type(recipe).__name__}")


def read_stored_part(part: StoredPart):
    """The stored rows ("id", "value") of the part; StorageError if the file is another version now."""
    import pyarrow.parquet as pq

    from fate_flow.storage import StorageError
    from fate_flow.storage.local import DATA_ID_KEY

    parquet = pq.ParquetFile(part.path, pre_buffer=False)
    found = (parquet.schema_arrow.metadata or {}).get(DATA_ID_KEY, b"").decode()
    if found != part.data_id:
        raise StorageError(f"the table at {part.path} was replaced while a task read it")
    if not part.row_groups:
        return stored_rows_schema().empty_table()
    return parquet.read_row_groups(list(part.row_groups), columns=["id", "value"]) \
        .replace_schema_metadata().combine_chunks()


def stored_rows_schema():
    from fate_flow.storage.base import row_schema

    return row_schema()


def spill_block(block: Any, directory: str, prefix: str = "part-") -> str:
    """Pickle ``block`` into a new file of ``directory``, written then renamed (never seen half-written)."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    with os.fdopen(handle, "wb") as out:
        pickle.dump(block, out, protocol=SPILL_PROTOCOL)
    final = tempfile.mktemp(prefix=prefix, suffix=".pkl", dir=directory)
    os.replace(temporary, final)
    return final


def load_block(path: str) -> Any:
    """A block spilled by ``spill_block`` (this party's own file, never one received from another party)."""
    with open(path, "rb") as source:
        return pickle.load(source)


# ---- blocks ---------------------------------------------------------------------------------

def _is_arrow_table(block: Any) -> bool:
    import pyarrow as pa

    return isinstance(block, (pa.Table, pa.RecordBatch))


def block_len(block: Any) -> int:
    """Rows in a block."""
    if _is_arrow_table(block):
        return block.num_rows
    return len(block)


def block_ids(block: Any):
    """The ids of a block's rows, as an Arrow string array."""
    if _is_arrow_table(block):
        column = block.column("id")
        return column.combine_chunks() if hasattr(column, "combine_chunks") else column
    return block.ids


def take_rows(block: Any, rows) -> Any:
    """The rows at positions ``rows`` (indices or a boolean mask) of a block."""
    import numpy as np
    import pyarrow as pa

    rows = np.asarray(rows)
    if _is_arrow_table(block):
        positions = np.flatnonzero(rows) if rows.dtype == bool else rows
        return block.take(pa.array(positions, type=pa.int64()))
    return block.take(rows)


def concat_blocks(blocks: list) -> Any:
    """One block of several of the same kind, in order (an empty list gives no rows of stored form)."""
    import pyarrow as pa

    if not blocks:
        return stored_rows_schema().empty_table()
    if len(blocks) == 1:
        return blocks[0]
    if _is_arrow_table(blocks[0]):
        tables = [pa.Table.from_batches([b]) if isinstance(b, pa.RecordBatch) else b for b in blocks]
        return pa.concat_tables(tables).combine_chunks()
    return type(blocks[0]).concat(blocks)


def block_rows(block: Any) -> tuple[Any, Any]:
    """(ids, values) string arrays of a block in its stored form (FATE's key and value)."""
    if _is_arrow_table(block):
        return block_ids(block), _combined(block.column("value"))
    if hasattr(block, "to_table_data"):
        block = block.to_table_data()
    if hasattr(block, "ids") and hasattr(block, "values"):
        import pyarrow as pa

        ids = pa.concat_arrays(block.ids) if isinstance(block.ids, list) else block.ids
        values = pa.concat_arrays(block.values) if isinstance(block.values, list) else block.values
        return ids, values
    raise TypeError(f"a {type(block).__name__} block has no stored form")


def _combined(column):
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column
