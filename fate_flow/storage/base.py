"""The table storage contract: metadata, errors, writers, stored tables and the abstract engine.

A table is (namespace, name) -> ordered rows of (id, value) strings, FATE's meaning:
``id`` is the first field of a data line and ``value`` the rest of the line. Engines
stage writes and publish them with ``commit``; duplicate ids are resolved there.
This package imports no web framework and no database: it runs inside task processes.
numpy and pyarrow are imported where rows are touched, not at import: the server
checks names, existence and metas of tables without loading them (it stays small).
"""
from __future__ import annotations

import abc
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

COMMIT_MODES = ("create", "replace", "append")
MAX_NAME_LENGTH = 200


def row_schema() -> "pa.Schema":
    """The Arrow schema of stored rows: ``id`` and ``value``, both strings."""
    import pyarrow as pa

    return pa.schema([("id", pa.string()), ("value", pa.string())])


class StorageError(Exception):
    """A storage operation failed; the message names the table."""


class TableNotFoundError(StorageError):
    """The table (namespace, name) does not exist."""

    def __init__(self, namespace: str, name: str) -> None:
        self.namespace = namespace
        self.name = name
        super().__init__(f"table {namespace}.{name} does not exist")


class TableExistsError(StorageError):
    """A commit in mode "create" found the table already there."""

    def __init__(self, namespace: str, name: str) -> None:
        self.namespace = namespace
        self.name = name
        super().__init__(f"table {namespace}.{name} already exists")


def check_name(kind: str, value: str) -> str:
    """Return ``value`` if it is safe as a namespace or table name (one path component).

    Raises:
        ValueError naming ``kind`` when the name is empty, longer than 200 characters,
        contains '/', '\\' or NUL, or starts with '.' (which also covers '.' and '..').
    """
    if not isinstance(value, str) or not value:
        raise ValueError(f"{kind} must be a non-empty string, got {value!r}")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"{kind} is longer than {MAX_NAME_LENGTH} characters: {value[:40]!r}...")
    for bad in ("/", "\\", "\0"):
        if bad in value:
            raise ValueError(f"{kind} must not contain {bad!r}: {value!r}")
    if value.startswith("."):
        raise ValueError(f"{kind} must not start with '.': {value!r}")
    return value


@dataclass
class TableMeta:
    """What is known about a table besides its rows (FATE's table meta plus storage facts)."""

    namespace: str
    name: str
    partitions: int = 1
    count: int = 0
    schema: dict = field(default_factory=dict)
    delimiter: str = ","
    engine: str = ""
    create_time: int = 0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TableMeta":
        """Return the meta described by ``data``; unknown keys are ignored (forward compatibility)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _as_string_array(values, what: str) -> pa.Array:
    """``values`` as one pa.string() array (chunked arrays are combined, large strings cast)."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(values, type=pa.string())
    if values.type != pa.string():
        values = values.cast(pa.string())
    if values.null_count:
        raise ValueError(f"{what} must not contain nulls ({values.null_count} found)")
    return values


class TableWriter(abc.ABC):
    """Stages rows for one table; nothing is visible to readers until the engine commits it.

    A writer is open (takes rows), then closed (complete, committable, possibly by
    another process through ``TableStorage.resume_writer(namespace, name, staging_id)``),
    then consumed by ``commit`` or ``abort``.
    """

    def __init__(self, namespace: str, name: str, staging_id: str, partitions: int = 1) -> None:
        from fate_flow.storage.partitioner import check_partitions

        self.namespace = check_name("namespace", namespace)
        self.name = check_name("table_name", name)
        self.staging_id = staging_id
        self.partitions = check_partitions(partitions)
        self._rows = 0
        self.is_closed = False
        self.is_consumed = False

    @property
    def rows_written(self) -> int:
        """Number of rows staged so far (duplicates included)."""
        return self._rows

    def close(self) -> None:
        """Complete the staged data, refusing further writes; idempotent, and implied by commit.

        Call it before handing ``staging_id`` to another process.
        """
        if not self.is_closed:
            self._close()
            self.is_closed = True

    def write_batch(self, ids: pa.Array, values: pa.Array, partition: int | None = None) -> None:
        """Stage ``ids[i] -> values[i]`` rows after those already written.

        Each row goes to the partition of its id (``partitioner.partition_of``); a caller that
        already knows every row's partition (a kernel's output) passes it as ``partition``.

        Raises:
            ValueError if the arrays differ in length or hold nulls; StorageError if the
            writer is closed (by close, commit or abort).
        """
        if self.is_closed:
            raise StorageError(f"writer for {self.namespace}.{self.name} is closed")
        ids = _as_string_array(ids, "ids")
        values = _as_string_array(values, "values")
        if len(ids) != len(values):
            raise ValueError(f"ids and values differ in length: {len(ids)} != {len(values)}")
        if not len(ids):
            return
        import pyarrow as pa

        batch = pa.RecordBatch.from_arrays([ids, values], schema=row_schema())
        if partition is not None or self.partitions == 1:
            if not 0 <= (partition or 0) < self.partitions:
                raise ValueError(f"partition {partition} is not in [0, {self.partitions})")
            self._append(batch, partition or 0)
        else:
            from fate_flow.storage.partitioner import partition_of, split_rows

            for number, rows in enumerate(split_rows(partition_of(ids, self.partitions), self.partitions)):
                if len(rows):
                    self._append(batch.take(pa.array(rows)), number)
        self._rows += len(ids)

    @abc.abstractmethod
    def _append(self, batch: pa.RecordBatch, partition: int) -> None:
        """Stage one non-empty batch of rows of ``partition``."""

    def _close(self) -> None:
        """Complete the staged data (engines with open files override this)."""

    def _consume(self) -> None:
        """Close the writer and mark it used up by a commit; StorageError if it already was."""
        if self.is_consumed:
            raise StorageError(f"writer for {self.namespace}.{self.name} was already committed or aborted")
        self.close()
        self.is_consumed = True


class StoredTable(abc.ABC):
    """A committed table as one consistent snapshot: later commits do not change what it reads."""

    def __init__(self, meta: TableMeta) -> None:
        self.meta = meta

    def count(self) -> int:
        """Return the number of rows, which is the number of distinct ids."""
        return self.meta.count

    @abc.abstractmethod
    def iter_batches(self, batch_rows: int = 65536) -> Iterator[pa.RecordBatch]:
        """Yield batches of at most ``batch_rows`` rows with columns "id", "value", in stored order.

        Memory is bounded by one batch (one row group for on-disk engines).
        """

    @property
    def partition_count(self) -> int:
        """How many partitions the stored rows are in (1 for engines that do not partition)."""
        return 1

    def iter_partition(self, partition: int, batch_rows: int = 65536) -> Iterator[pa.RecordBatch]:
        """Yield the rows of one partition like ``iter_batches``; ValueError for a partition out of range."""
        if not 0 <= partition < self.partition_count:
            raise ValueError(f"partition {partition} is not in [0, {self.partition_count})")
        yield from self.iter_batches(batch_rows)

    def read_ids(self) -> pa.Array:
        """Return every id, in stored order, as one string array."""
        import pyarrow as pa

        chunks = [batch.column(0) for batch in self.iter_batches()]
        return pa.concat_arrays(chunks) if chunks else pa.array([], type=pa.string())

    def close(self) -> None:
        """Release the snapshot (open files); the table itself is unaffected."""

    def __enter__(self) -> "StoredTable":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class TableStorage(abc.ABC):
    """One storage engine: staged writers, atomic commits, snapshot readers."""

    engine = ""

    @abc.abstractmethod
    def writer(self, namespace: str, name: str, partitions: int = 1) -> TableWriter:
        """Return a new staging writer for (namespace, name) in ``partitions`` partitions; readers
        see nothing of it before commit.

        Raises ValueError (from check_name) for an unsafe namespace or name, or a bad partition count.
        """

    @abc.abstractmethod
    def resume_writer(self, namespace: str, name: str, staging_id: str) -> TableWriter:
        """Return the closed writer of rows staged under ``staging_id`` (maybe by another process), for commit or abort.

        Raises:
            StorageError if there is no such closed staging for (namespace, name).
        """

    @abc.abstractmethod
    def commit(self, writer: TableWriter, meta: TableMeta, mode: str) -> TableMeta:
        """Publish the writer's rows as the table and return its final meta (``count`` = distinct ids).

        ``mode`` is "create" (StorageError if the table exists), "replace" (readers see
        the old or the new table, never a mix; if anything fails before the swap the old
        table is untouched) or "append" (old rows, then the new ones). In every mode a
        repeated id keeps its LAST value, and rows stay in file order of those last
        occurrences. The writer is closed if it is not yet, then consumed: its staging
        data is removed whether the commit succeeds or fails.

        Raises:
            ValueError for an unknown mode or a meta naming another table;
            StorageError (TableExistsError) when "create" finds the table, or when the
            writer was already committed or aborted.
        """

    @abc.abstractmethod
    def open(self, namespace: str, name: str) -> StoredTable:
        """Return a snapshot of the table; TableNotFoundError if it does not exist."""

    def read_meta(self, namespace: str, name: str) -> TableMeta:
        """Return the table's meta; TableNotFoundError if it does not exist.

        Engines override it when they can answer without opening the rows.
        """
        with self.open(namespace, name) as table:
            return table.meta

    @abc.abstractmethod
    def exists(self, namespace: str, name: str) -> bool:
        """Return True if the table is committed and not deleted."""

    @abc.abstractmethod
    def delete(self, namespace: str, name: str) -> bool:
        """Remove the table; return True if it existed, False otherwise."""

    @abc.abstractmethod
    def abort(self, writer: TableWriter) -> None:
        """Drop the writer's staging data; safe to call more than once and after commit."""

    def _final_meta(self, writer: TableWriter, meta: TableMeta, mode: str, count: int,
                    old: TableMeta | None) -> TableMeta:
        """``meta`` checked against the writer and completed with count, engine and create time."""
        if (meta.namespace, meta.name) != (writer.namespace, writer.name):
            raise ValueError(f"meta names table {meta.namespace}.{meta.name} but the writer stages "
                             f"{writer.namespace}.{writer.name}")
        create_time = meta.create_time or (old.create_time if old and mode == "append" else 0)
        return dataclasses.replace(meta, count=count, engine=self.engine,
                                   create_time=create_time or int(time.time() * 1000))


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is a commit mode, else raise ValueError listing the modes."""
    if mode not in COMMIT_MODES:
        raise ValueError(f"commit mode must be one of {', '.join(COMMIT_MODES)}, got {mode!r}")
    return mode


def last_occurrence_rows(ids: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """Return the sorted row numbers of each id's last occurrence, or None if the ids are unique.

    Holds the ids (not the values) in memory: deduplication needs them all, and ids are
    a small part of a row. The hash grouping runs in Arrow; single-threaded, as it is
    faster here than merging per-thread hash tables.
    """
    import numpy as np
    import pyarrow as pa

    rows = len(ids)
    if rows < 2:
        return None
    numbers = canonical_integers(ids)
    if numbers is not None:
        return last_occurrences_of_integers(numbers)
    grouped = pa.table({"id": ids, "row": np.arange(rows, dtype=np.int64)}) \
        .group_by("id", use_threads=False).aggregate([("row", "max")])
    if grouped.num_rows == rows:
        return None
    return np.sort(grouped.column("row_max").to_numpy())


def canonical_integers(ids: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """The ids as int64 if every one is a canonical decimal integer ("7", not "07" or "+7"), else None.

    Canonical: "0", or an optional "-" and 1-18 digits without a leading zero. Most FATE
    ids are such numbers: as int64 they take 8 bytes each and sort in numpy, where
    hashing millions of strings in Arrow needs several times the memory. Read digit by
    digit from the string buffers with numpy (pyarrow.compute would cost an upload task
    its import time).
    """
    import numpy as np
    import pyarrow as pa

    chunks = ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]
    numbers = np.empty(len(ids), dtype=np.int64)
    done = 0
    for chunk in chunks:
        for start in range(0, len(chunk), _CANONICAL_SLICE):  # slices: the temporaries stay small
            part = _canonical_integers_of_chunk(chunk.slice(start, _CANONICAL_SLICE))
            if part is None:
                return None
            numbers[done:done + len(part)] = part
            done += len(part)
    return numbers


_CANONICAL_SLICE = 8192


def _canonical_integers_of_chunk(chunk: pa.Array) -> np.ndarray | None:
    import numpy as np
    import pyarrow as pa

    if chunk.type not in (pa.string(), pa.large_string()) or chunk.null_count:
        return None
    rows = len(chunk)
    if rows == 0:
        return np.empty(0, dtype=np.int64)
    width = np.int32 if chunk.type == pa.string() else np.int64
    _, offsets, data = chunk.buffers()
    offsets = np.frombuffer(offsets, dtype=width, count=rows + 1, offset=chunk.offset * np.dtype(width).itemsize)
    lengths = np.diff(offsets)
    if lengths.min() < 1 or lengths.max() > 19:
        return None
    data = np.frombuffer(data, dtype=np.uint8)
    starts = offsets[:-1].astype(np.int64)
    negative = data[starts] == ord("-")
    first = starts + negative
    digits = lengths - negative
    if digits.min() < 1 or digits.max() > 18:
        return None
    if ((data[first] == ord("0")) & ((digits > 1) | negative)).any():  # "07", "-0"
        return None
    values = np.zeros(rows, dtype=np.int64)
    for k in range(int(digits.max())):
        todo = np.flatnonzero(digits > k)
        digit = data[first[todo] + k].astype(np.int64) - ord("0")
        if ((digit < 0) | (digit > 9)).any():
            return None
        values[todo] = values[todo] * 10 + digit
    return np.where(negative, -values, values)


def last_occurrences_of_integers(numbers: np.ndarray) -> np.ndarray | None:
    """Sorted row numbers of each integer id's last occurrence, or None if they are unique."""
    import numpy as np

    # distinct ids, the usual case, need one sorted copy only: 9 bytes a row beside the ids, not the 17 and
    # the stable argsort's workspace of the row numbers below (the peak of a big output's commit in its task)
    ordered = np.sort(numbers)
    if len(ordered) < 2 or not (ordered[1:] == ordered[:-1]).any():
        return None
    del ordered
    order = np.argsort(numbers, kind="stable")
    ordered = numbers[order]
    is_last = np.empty(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=is_last[:-1])
    is_last[-1] = True
    if is_last.all():
        return None
    return np.sort(order[is_last])  # stable sort: the last of equal ids comes last
