"""The "memory" engine: Arrow tables in a dict of this instance, for tests and one-process runs."""
from __future__ import annotations

import dataclasses
import secrets
import threading
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from fate_flow.storage.base import (StorageError, StoredTable, TableExistsError, TableMeta,
                                    TableNotFoundError, TableStorage, TableWriter, check_mode, check_name,
                                    last_occurrence_rows, row_schema)


class MemoryTableWriter(TableWriter):
    """Keeps the staged batches in a list until commit."""

    def __init__(self, namespace: str, name: str, partitions: int = 1) -> None:
        super().__init__(namespace, name, f"w-{secrets.token_hex(8)}", partitions)
        self.batches: list[pa.RecordBatch] = []

    def _append(self, batch: pa.RecordBatch, partition: int) -> None:  # one partition: order is all it keeps
        self.batches.append(batch)


class MemoryTable(StoredTable):
    """A snapshot: the Arrow table it holds is never modified, commits store new ones."""

    def __init__(self, meta: TableMeta, table: pa.Table) -> None:
        super().__init__(meta)
        self._table = table

    def iter_batches(self, batch_rows: int = 65536) -> Iterator[pa.RecordBatch]:
        """Yield batches of at most ``batch_rows`` rows ("id", "value") in stored order."""
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be positive, got {batch_rows}")
        yield from self._table.to_batches(max_chunksize=batch_rows)

    def read_ids(self) -> pa.Array:
        """Return every id in stored order."""
        return self._table.column("id").combine_chunks()


class MemoryStorage(TableStorage):
    """Tables as (meta, pa.Table) pairs in a dict owned by this instance; ``root`` is ignored.

    Staged writers are found again by ``staging_id`` within this instance only.
    """

    engine = "memory"

    def __init__(self, root: Path | str | None = None) -> None:
        self._tables: dict[tuple[str, str], tuple[TableMeta, pa.Table]] = {}
        self._staged: dict[str, MemoryTableWriter] = {}
        self._lock = threading.Lock()

    def writer(self, namespace: str, name: str, partitions: int = 1) -> MemoryTableWriter:
        """Return a writer whose batches stay private until commit; ValueError for an unsafe name.

        Tables here are one partition whatever ``partitions`` says (the meta keeps the number).
        """
        writer = MemoryTableWriter(namespace, name, partitions)
        with self._lock:
            self._staged[writer.staging_id] = writer
        return writer

    def resume_writer(self, namespace: str, name: str, staging_id: str) -> MemoryTableWriter:
        """Return the closed writer staged as ``staging_id`` in this instance; StorageError if none."""
        with self._lock:
            writer = self._staged.get(staging_id)
        if writer is None or (writer.namespace, writer.name) != (namespace, name) or not writer.is_closed:
            raise StorageError(f"no closed staged data {staging_id!r} for table {namespace}.{name}")
        return writer

    def commit(self, writer: TableWriter, meta: TableMeta, mode: str) -> TableMeta:
        """Publish the staged rows (see TableStorage.commit); the swap is one dict assignment."""
        if not isinstance(writer, MemoryTableWriter):
            raise ValueError("the writer does not belong to this storage")
        key = (writer.namespace, writer.name)
        try:
            writer._consume()
            check_mode(mode)
            with self._lock:
                old = self._tables.get(key)
                if old is not None and mode == "create":
                    raise TableExistsError(*key)
                base = old if mode == "append" else None
                parts = [base[1]] if base else []
                table = pa.concat_tables(parts + [pa.Table.from_batches(writer.batches, row_schema())])
                keep = last_occurrence_rows(table.column("id"))
                if keep is not None:
                    table = table.take(keep)
                partitions = base[0].partitions if base else writer.partitions
                final = self._final_meta(writer, dataclasses.replace(meta, partitions=partitions), mode,
                                         table.num_rows, base[0] if base else None)
                self._tables[key] = (final, table.combine_chunks())
                return _copy(final)
        finally:
            self._release(writer)

    def open(self, namespace: str, name: str) -> MemoryTable:
        """Return a snapshot of the table; TableNotFoundError if it does not exist."""
        key = (check_name("namespace", namespace), check_name("table_name", name))
        with self._lock:
            found = self._tables.get(key)
        if found is None:
            raise TableNotFoundError(namespace, name)
        return MemoryTable(_copy(found[0]), found[1])

    def exists(self, namespace: str, name: str) -> bool:
        """Return True if the table is committed and not deleted."""
        key = (check_name("namespace", namespace), check_name("table_name", name))
        with self._lock:
            return key in self._tables

    def delete(self, namespace: str, name: str) -> bool:
        """Remove the table; return True if it existed."""
        key = (check_name("namespace", namespace), check_name("table_name", name))
        with self._lock:
            return self._tables.pop(key, None) is not None

    def abort(self, writer: TableWriter) -> None:
        """Drop the writer's staged batches; idempotent."""
        if isinstance(writer, MemoryTableWriter):
            writer.is_closed = writer.is_consumed = True
            self._release(writer)

    def _release(self, writer: MemoryTableWriter) -> None:
        writer.batches = []
        with self._lock:
            self._staged.pop(writer.staging_id, None)


def _copy(meta: TableMeta) -> TableMeta:
    """A deep copy, so that callers cannot change the stored meta's dicts."""
    return TableMeta.from_dict(meta.to_dict())
