"""The "local" engine: one Parquet file per table under a root directory, published by rename.

Layout::

    <root>/<namespace>/<name>/data.parquet   rows, one row group per written batch
    <root>/<namespace>/<name>/meta.json      the meta, plus the data_id of the file it describes
    <root>/.staging/w-<random>/              a writer's data.parquet and staged.json
    <root>/.locks/<hash>.lock                one flock per table serialises commits and deletes

Every data file carries a ``data_id`` in its footer, set when it is created, so the
task process can write and close it and the server can commit it without rewriting.
Replacing a table is: write ``.meta-<data_id>.json`` beside the old files, swap
data.parquet with one ``os.replace`` (the commit point), rename the pending meta onto
meta.json. A reader opens data.parquet first (the open file pins that version) and
takes the meta whose data_id matches it, from meta.json or from the pending file, so
it sees the old or the new table, never a mix, even after a crash between the renames.
While no pending meta is present, meta.json alone is the current meta: ``read_meta``
then answers without opening the data file (and without loading pyarrow).
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import itertools
import json
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from fate_flow.storage.base import (StorageError, StoredTable, TableExistsError, TableMeta, TableNotFoundError,
                                    TableStorage, TableWriter, check_mode, check_name, canonical_integers,
                                    last_occurrences_of_integers, last_occurrence_rows, row_schema)

if TYPE_CHECKING:  # loaded where rows are read or written (see base)
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

DATA_FILE = "data.parquet"
META_FILE = "meta.json"
PENDING_META_PREFIX = ".meta-"
STAGED_FILE = "staged.json"
STAGING_DIR = ".staging"
LOCKS_DIR = ".locks"
DATA_ID_KEY = b"fate_flow.data_id"
# footer entry {"partitions": n, "row_groups": [partition of row group 0, 1, ...]}
PARTITIONS_KEY = "fate_flow.partitions"
OPEN_DEADLINE_SECONDS = 5.0
# Readers open files with pre_buffer=False: pyarrow's default keeps every row group it
# has read in memory, so a full scan would grow with the table.
# Ids and values are nearly all distinct strings: dictionaries and min/max statistics
# would cost time and space for nothing. Uncompressed: a table takes about the size of its
# CSV (FATE 1.4's own tables take more); snappy saved a third of that but took three
# quarters of the write time, the larger part of an upload task's work (100k rows x 30
# floats: 160 ms instead of 50). Files written compressed earlier are read as they are.
PARQUET_OPTIONS = {"compression": "none", "use_dictionary": False, "write_statistics": False}


class PartitionedParquet:
    """A data file whose row groups each hold the rows of one partition, named in the footer.

    With one partition every batch is written as it comes (an upload's fast path). With more,
    rows wait in a buffer per partition and go out as one row group when the partition has
    ``ROW_GROUP_ROWS`` rows or all buffers together ``BUFFER_BYTES``: row groups stay big
    enough to read fast, and the memory stays bounded whatever the table's size.
    """

    ROW_GROUP_ROWS = 65536
    BUFFER_BYTES = 32 << 20

    def __init__(self, path: Path, data_id: str, partitions: int) -> None:
        self.path = path
        self.data_id = data_id
        self.partitions = partitions
        self.row_group_partitions: list[int] = []
        self._parquet: pq.ParquetWriter | None = None
        self._buffers: dict[int, list[pa.RecordBatch]] = {}
        self._buffered_rows: dict[int, int] = {}
        self._buffered_bytes = 0

    def write(self, batch: pa.RecordBatch, partition: int) -> None:
        """Add rows of ``partition`` (a non-empty batch)."""
        if self.partitions == 1:
            self._write_row_group([batch], 0)
            return
        self._buffers.setdefault(partition, []).append(batch)
        self._buffered_rows[partition] = self._buffered_rows.get(partition, 0) + batch.num_rows
        self._buffered_bytes += batch.nbytes
        if self._buffered_rows[partition] >= self.ROW_GROUP_ROWS:
            self._flush(partition)
        elif self._buffered_bytes >= self.BUFFER_BYTES:
            for number in sorted(self._buffers):
                self._flush(number)

    def close(self) -> None:
        """Write what is buffered and the footer (an empty file is still a valid one)."""
        for number in sorted(self._buffers):
            self._flush(number)
        parquet = self._open()
        parquet.add_key_value_metadata({PARTITIONS_KEY: json.dumps(
            {"partitions": self.partitions, "row_groups": self.row_group_partitions}, separators=(",", ":"))})
        parquet.close()

    def discard(self) -> None:
        """Close the file without completing it (its directory is removed by the caller)."""
        self._buffers.clear()
        if self._parquet is not None:
            with contextlib.suppress(Exception):
                self._parquet.close()

    def _flush(self, partition: int) -> None:
        batches = self._buffers.pop(partition, [])
        self._buffered_rows.pop(partition, None)
        self._buffered_bytes -= sum(batch.nbytes for batch in batches)
        if batches:
            self._write_row_group(batches, partition)

    def _write_row_group(self, batches: list[pa.RecordBatch], partition: int) -> None:
        import pyarrow as pa

        table = pa.Table.from_batches(batches)
        self._open().write_table(table, row_group_size=max(1, table.num_rows))
        self.row_group_partitions.append(partition)

    def _open(self) -> pq.ParquetWriter:
        if self._parquet is None:
            self._parquet = _parquet_writer(self.path, self.data_id)
        return self._parquet


class LocalTableWriter(TableWriter):
    """Writes ``<staging>/data.parquet`` (see PartitionedParquet); ``staging_id`` is the directory's name."""

    def __init__(self, namespace: str, name: str, staging_dir: Path, partitions: int = 1) -> None:
        super().__init__(namespace, name, staging_dir.name, partitions)
        self.staging_dir = staging_dir
        self.data_path = staging_dir / DATA_FILE
        self._file = PartitionedParquet(self.data_path, self.staging_id, self.partitions)

    def _append(self, batch: pa.RecordBatch, partition: int) -> None:
        self._file.write(batch, partition)

    def _close(self) -> None:
        self._file.close()

    def discard(self) -> None:
        """Close any open file and remove the staging directory."""
        self.is_closed = self.is_consumed = True
        self._file.discard()
        shutil.rmtree(self.staging_dir, ignore_errors=True)


class LocalTable(StoredTable):
    """A snapshot held by an open file: a later replace or delete does not change what it reads."""

    def __init__(self, meta: TableMeta, source: pa.NativeFile, path: Path | None = None) -> None:
        super().__init__(meta)
        self._source = source
        self.path = path
        self.data_id, self._layout = _file_facts(source, f"{meta.namespace}.{meta.name}")

    @property
    def partition_count(self) -> int:
        """The partitions the footer names (1 for files written before tables were partitioned)."""
        return self._layout[0]

    def partition_row_groups(self, partition: int) -> list[int]:
        """The row groups holding ``partition``'s rows, in file order."""
        if not 0 <= partition < self.partition_count:
            raise ValueError(f"partition {partition} is not in [0, {self.partition_count})")
        return [index for index, number in enumerate(self._layout[1]) if number == partition]

    def iter_partition(self, partition: int, batch_rows: int = 65536) -> Iterator[pa.RecordBatch]:
        """Yield the rows of one partition, one row group in memory at a time."""
        import pyarrow.parquet as pq

        row_groups = self.partition_row_groups(partition)
        if not row_groups:
            return
        for batch in pq.ParquetFile(self._source, pre_buffer=False).iter_batches(
                batch_size=batch_rows, row_groups=row_groups, columns=["id", "value"]):
            yield batch.replace_schema_metadata()

    def iter_batches(self, batch_rows: int = 65536) -> Iterator[pa.RecordBatch]:
        """Yield batches of at most ``batch_rows`` rows ("id", "value") in stored order, one row group in memory."""
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be positive, got {batch_rows}")
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(self._source, pre_buffer=False).iter_batches(batch_size=batch_rows, columns=["id", "value"]):
            yield batch.replace_schema_metadata()

    def read_ids(self) -> pa.Array:
        """Return every id in stored order, reading only the id column."""
        import pyarrow.parquet as pq

        return pq.ParquetFile(self._source, pre_buffer=False).read(columns=["id"]).column(0).combine_chunks()

    def close(self) -> None:
        """Close the file that pins this snapshot."""
        self._source.close()


class LocalStorage(TableStorage):
    """Tables as Parquet files under ``root``; see the module docstring for the layout and protocol."""

    engine = "local"

    def __init__(self, root: Path | str | None = None) -> None:
        if root is None:
            raise ValueError("the local storage engine needs a root directory")
        self.root = Path(root)
        self.staging_root = self.root / STAGING_DIR

    def writer(self, namespace: str, name: str, partitions: int = 1) -> LocalTableWriter:
        """Return a writer staging under ``<root>/.staging``; ValueError for an unsafe name."""
        check_name("namespace", namespace)
        check_name("table_name", name)
        self.staging_root.mkdir(parents=True, exist_ok=True)
        staging_dir = Path(tempfile.mkdtemp(prefix="w-", dir=self.staging_root))
        (staging_dir / STAGED_FILE).write_text(json.dumps({"namespace": namespace, "name": name}), encoding="utf-8")
        return LocalTableWriter(namespace, name, staging_dir, partitions)

    def resume_writer(self, namespace: str, name: str, staging_id: str) -> LocalTableWriter:
        """Return the closed writer staged as ``staging_id`` for (namespace, name), for commit or abort.

        Raises:
            StorageError if there is no such staging, it belongs to another table, or
            its writer was not closed (the data file is incomplete).
        """
        staging_dir = self.staging_root / check_name("staging_id", staging_id)
        try:
            recorded = json.loads((staging_dir / STAGED_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise StorageError(f"no staged data {staging_id!r} for table {namespace}.{name}") from None
        if recorded != {"namespace": namespace, "name": name}:
            raise StorageError(f"staged data {staging_id!r} belongs to table "
                               f"{recorded.get('namespace')}.{recorded.get('name')}, not {namespace}.{name}")
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            footer = pq.read_metadata(staging_dir / DATA_FILE)
            layout = _layout_of(footer.metadata)
        except (OSError, pa.ArrowException):
            raise StorageError(f"staged data {staging_id!r} for table {namespace}.{name} is incomplete: "
                               "its writer must be closed before it is handed over") from None
        writer = LocalTableWriter(namespace, name, staging_dir, layout[0])  # opens no file: the data stays
        writer._rows = footer.num_rows
        writer.is_closed = True
        return writer

    def commit(self, writer: TableWriter, meta: TableMeta, mode: str) -> TableMeta:
        """Publish the staged rows (see TableStorage.commit); the commit point is one rename of data.parquet."""
        if not isinstance(writer, LocalTableWriter) or writer.staging_dir.parent != self.staging_root:
            raise ValueError("the writer does not belong to this storage")
        try:
            writer._consume()
            check_mode(mode)
            with self._table_lock(writer.namespace, writer.name):
                return self._publish(writer, meta, mode)
        finally:
            writer.discard()

    def _publish(self, writer: LocalTableWriter, meta: TableMeta, mode: str) -> TableMeta:
        import pyarrow.parquet as pq

        namespace, name = writer.namespace, writer.name
        exists = self.exists(namespace, name)
        if exists and mode == "create":
            raise TableExistsError(namespace, name)
        with contextlib.ExitStack() as stack:
            staged = stack.enter_context(pq.ParquetFile(writer.data_path, pre_buffer=False))
            base = stack.enter_context(self.open(namespace, name)) if exists and mode == "append" else None
            total = staged.metadata.num_rows + (base.count() if base is not None else 0)
            keep = _rows_to_keep(lambda: _id_chunks(base, staged), total)
            count = total if keep is None else len(keep)
            # appended rows join the table's partitioning; a new or replaced table takes the writer's
            partitions = base.partition_count if base is not None else writer.partitions
            final = self._final_meta(writer, dataclasses.replace(meta, partitions=partitions), mode, count,
                                     base.meta if base else None)
            data, data_id = writer.data_path, writer.staging_id
            if base is not None or keep is not None:
                data_id = f"m-{secrets.token_hex(8)}"
                pieces = itertools.chain(_row_groups(base._source, base._layout) if base else (),
                                         _row_groups(writer.data_path, _layout_of(staged.metadata.metadata)))
                data = _write_kept_rows(pieces, keep, data_id, writer.staging_dir / "merged.parquet", partitions)
            self._install(data, data_id, final, exists)
        return final

    def _install(self, data: Path, data_id: str, meta: TableMeta, exists: bool) -> None:
        """Make ``data`` the table's file and ``meta`` its meta (module docstring: the protocol)."""
        target = self._table_dir(meta.namespace, meta.name)
        record = _meta_record(meta, data_id)
        if not exists:
            new_dir = data.parent / "table"
            new_dir.mkdir()
            os.replace(data, new_dir / DATA_FILE)
            (new_dir / META_FILE).write_text(record, encoding="utf-8")
            self._move_into_place(new_dir, target)
            return
        pending = target / f"{PENDING_META_PREFIX}{data_id}.json"
        pending.write_text(record, encoding="utf-8")
        try:
            os.replace(data, target / DATA_FILE)
        except BaseException:
            pending.unlink(missing_ok=True)
            raise
        os.replace(pending, target / META_FILE)
        for stale in target.glob(f"{PENDING_META_PREFIX}*.json"):  # left by a commit that crashed
            stale.unlink(missing_ok=True)

    def _move_into_place(self, new_dir: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # a directory without data file is debris, never a table
            self._discard(target)
        try:
            os.rename(new_dir, target)
        except OSError as exc:
            raise StorageError(f"cannot publish table {target.parent.name}.{target.name}: {exc}") from exc

    def open(self, namespace: str, name: str) -> LocalTable:
        """Return a snapshot of the table; TableNotFoundError if it does not exist."""
        import pyarrow as pa

        target = self._table_dir(namespace, name)
        deadline = time.monotonic() + OPEN_DEADLINE_SECONDS
        while True:
            try:
                source = pa.OSFile(str(target / DATA_FILE))
            except FileNotFoundError:
                raise TableNotFoundError(namespace, name) from None
            try:
                meta = _read_meta(target, _data_id(source, f"{namespace}.{name}"))
            except BaseException:
                source.close()
                raise
            if meta is not None:
                return LocalTable(meta, source, target / DATA_FILE)
            source.close()  # replaced twice while we looked: open the newest version
            if time.monotonic() > deadline:
                raise StorageError(f"table {namespace}.{name} has no meta matching its data")
            time.sleep(0.001)

    def read_meta(self, namespace: str, name: str) -> TableMeta:
        """Return the table's meta, from meta.json alone unless a replace is pending; TableNotFoundError if none.

        The directory is listed before meta.json is read: with no pending meta then, the
        meta read is current or newer, never older than the data file that was in place.
        """
        target = self._table_dir(namespace, name)
        try:
            pending = any(entry.name.startswith(PENDING_META_PREFIX) for entry in os.scandir(target))
        except FileNotFoundError:
            raise TableNotFoundError(namespace, name) from None
        if not pending and (target / DATA_FILE).is_file():
            try:
                return TableMeta.from_dict(json.loads((target / META_FILE).read_text(encoding="utf-8")))
            except (FileNotFoundError, ValueError):
                pass  # deleted or replaced meanwhile: the full path decides
        with self.open(namespace, name) as table:
            return table.meta

    def exists(self, namespace: str, name: str) -> bool:
        """Return True if the table's data file is in place."""
        return (self._table_dir(namespace, name) / DATA_FILE).is_file()

    def delete(self, namespace: str, name: str) -> bool:
        """Remove the table (one rename out of sight, then the files); return True if it existed."""
        target = self._table_dir(namespace, name)
        with self._table_lock(namespace, name):
            existed = (target / DATA_FILE).is_file()
            if target.is_dir():
                self._discard(target)
        return existed

    def abort(self, writer: TableWriter) -> None:
        """Remove the writer's staging directory and close its file; idempotent."""
        if isinstance(writer, LocalTableWriter):
            writer.discard()

    def _table_dir(self, namespace: str, name: str) -> Path:
        return self.root / check_name("namespace", namespace) / check_name("table_name", name)

    def _discard(self, path: Path) -> None:
        """Move ``path`` into staging at once, then delete it at leisure."""
        self.staging_root.mkdir(parents=True, exist_ok=True)
        trash = Path(tempfile.mkdtemp(prefix="trash-", dir=self.staging_root))
        os.rename(path, trash / "table")
        shutil.rmtree(trash, ignore_errors=True)

    @contextlib.contextmanager
    def _table_lock(self, namespace: str, name: str) -> Iterator[None]:
        """Hold an exclusive flock for (namespace, name) across processes and threads."""
        locks = self.root / LOCKS_DIR
        locks.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(f"{namespace}\0{name}".encode()).hexdigest()[:32]
        with open(locks / f"{digest}.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield


def _parquet_writer(path: Path, data_id: str) -> pq.ParquetWriter:
    import pyarrow.parquet as pq

    schema = row_schema().with_metadata({DATA_ID_KEY: data_id.encode()})
    return pq.ParquetWriter(path, schema, **PARQUET_OPTIONS)


def _write_kept_rows(pieces: Iterable[tuple[pa.RecordBatch, int, int]], keep: np.ndarray | None, data_id: str,
                     dest: Path, partitions: int) -> Path:
    """Write the rows whose running row number is in ``keep`` (all if None) to ``dest`` in ``partitions``.

    ``pieces`` are (batch, its partition, the partition count it was written with): rows of
    another partition count are placed again by their ids.
    """
    import numpy as np
    import pyarrow as pa

    from fate_flow.storage.partitioner import partition_of, split_rows

    offset = 0
    out = PartitionedParquet(dest, data_id, partitions)
    try:
        for batch, partition, written_with in pieces:
            rows = batch.num_rows
            if keep is not None:
                lo, hi = np.searchsorted(keep, [offset, offset + rows])
                batch = batch.take(pa.array(keep[lo:hi] - offset))
            offset += rows
            if not batch.num_rows:
                continue
            if written_with == partitions:
                out.write(batch, partition)
                continue
            for number, positions in enumerate(split_rows(partition_of(batch.column(0), partitions), partitions)):
                if len(positions):
                    out.write(batch.take(pa.array(positions)), number)
        out.close()
    except BaseException:
        out.discard()
        raise
    return dest


def _row_groups(source, layout: tuple[int, list[int]]) -> Iterator[tuple[pa.RecordBatch, int, int]]:
    """(batch, partition, partition count) of a data file's rows, row group by row group in file order."""
    import pyarrow.parquet as pq

    partitions, row_group_partitions = layout
    parquet = pq.ParquetFile(source, pre_buffer=False)
    for index in range(parquet.num_row_groups):
        partition = row_group_partitions[index] if index < len(row_group_partitions) else 0
        for batch in parquet.iter_batches(batch_size=65536, row_groups=[index], columns=["id", "value"]):
            yield batch.replace_schema_metadata(), partition, partitions


def _id_chunks(base: LocalTable | None, staged: pq.ParquetFile) -> Iterator[pa.Array]:
    """The ids of the old table (when appending) then of the staged rows, one row group at a time."""
    import pyarrow.parquet as pq

    if base is not None:
        for batch in pq.ParquetFile(base._source, pre_buffer=False).iter_batches(columns=["id"]):
            yield batch.column(0)
    for batch in staged.iter_batches(columns=["id"]):
        yield batch.column(0)


def _rows_to_keep(id_chunks: Callable[[], Iterator[pa.Array]], total: int) -> np.ndarray | None:
    """Row numbers of each id's last occurrence (None if all ids are distinct), in bounded memory.

    Integer ids are packed chunk by chunk into one int64 array (8 bytes a row) so the
    strings are never all in memory at once; other ids fall back to Arrow's hash grouping.
    """
    import numpy as np
    import pyarrow as pa

    numbers = np.empty(total, dtype=np.int64)
    offset = 0
    for chunk in id_chunks():
        ints = canonical_integers(chunk)
        if ints is None:
            return last_occurrence_rows(pa.chunked_array(list(id_chunks()), type=pa.string()))
        numbers[offset:offset + len(ints)] = ints
        offset += len(ints)
    return last_occurrences_of_integers(numbers[:offset]) if offset > 1 else None


def _layout_of(footer: dict | None) -> tuple[int, list[int]]:
    """(partition count, partition of each row group) from a data file's key-value footer.

    Files written before tables were partitioned have no such entry: one partition.
    """
    record = (footer or {}).get(PARTITIONS_KEY.encode())
    if record is None:
        return 1, []
    layout = json.loads(record)
    return int(layout["partitions"]), [int(p) for p in layout["row_groups"]]


def _file_facts(source: pa.NativeFile, table: str) -> tuple[str, tuple[int, list[int]]]:
    """(data_id, partition layout) of an open data file; StorageError naming ``table`` if unreadable."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(source)
        partitions, row_groups = _layout_of(parquet.metadata.metadata)
        if not row_groups:  # written before partitioning: every row group is partition 0
            row_groups = [0] * parquet.num_row_groups
        return parquet.schema_arrow.metadata[DATA_ID_KEY].decode(), (partitions, row_groups)
    except (KeyError, TypeError, ValueError, OSError, pa.ArrowException) as exc:
        raise StorageError(f"table {table} has an unreadable data file: {exc!r}") from exc


def _data_id(source: pa.NativeFile, table: str) -> str:
    """The data_id in the footer of an open data file; StorageError naming ``table`` if it has none."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(source).schema_arrow.metadata[DATA_ID_KEY].decode()
    except (KeyError, TypeError, OSError, pa.ArrowException) as exc:
        raise StorageError(f"table {table} has an unreadable data file: {exc!r}") from exc


def _read_meta(table_dir: Path, data_id: str) -> TableMeta | None:
    """The meta recorded for ``data_id`` (meta.json, else the pending meta of an unfinished replace), or None."""
    pending = table_dir / f"{PENDING_META_PREFIX}{data_id}.json"
    # meta.json again last: the pending file may have just been renamed onto it.
    for path in (table_dir / META_FILE, pending, table_dir / META_FILE):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            continue
        if record.get("data_id") == data_id:
            return TableMeta.from_dict(record)
    return None


def _meta_record(meta: TableMeta, data_id: str) -> str:
    return json.dumps({**meta.to_dict(), "data_id": data_id}, ensure_ascii=False, indent=1, sort_keys=True)
