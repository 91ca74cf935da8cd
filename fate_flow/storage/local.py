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
OPEN_DEADLINE_SECONDS = 5.0
# Readers open files with pre_buffer=False: pyarrow's default keeps every row group it
# has read in memory, so a full scan would grow with the table.
# Ids and values are nearly all distinct strings: dictionaries and min/max statistics
# would cost time and space for nothing. Uncompressed: a table takes about the size of its
# CSV (FATE 1.4's own tables take more); snappy saved a third of that but took three
# quarters of the write time, the larger part of an upload task's work (100k rows x 30
# floats: 160 ms instead of 50). Files written compressed earlier are read as they are.
PARQUET_OPTIONS = {"compression": "none", "use_dictionary": False, "write_statistics": False}


class LocalTableWriter(TableWriter):
    """Writes ``<staging>/data.parquet``, one row group per batch; ``staging_id`` is the directory's name."""

    def __init__(self, namespace: str, name: str, staging_dir: Path) -> None:
        super().__init__(namespace, name, staging_dir.name)
        self.staging_dir = staging_dir
        self.data_path = staging_dir / DATA_FILE
        self._parquet: pq.ParquetWriter | None = None

    def _append(self, batch: pa.RecordBatch) -> None:
        self._open_parquet().write_batch(batch)

    def _close(self) -> None:
        self._open_parquet().close()  # an empty stage still gets a valid, empty file

    def _open_parquet(self) -> pq.ParquetWriter:
        if self._parquet is None:
            self._parquet = _parquet_writer(self.data_path, self.staging_id)
        return self._parquet

    def discard(self) -> None:
        """Close any open file and remove the staging directory."""
        self.is_closed = self.is_consumed = True
        if self._parquet is not None:
            with contextlib.suppress(Exception):
                self._parquet.close()
        shutil.rmtree(self.staging_dir, ignore_errors=True)


class LocalTable(StoredTable):
    """A snapshot held by an open file: a later replace or delete does not change what it reads."""

    def __init__(self, meta: TableMeta, source: pa.NativeFile) -> None:
        super().__init__(meta)
        self._source = source

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

    def writer(self, namespace: str, name: str) -> LocalTableWriter:
        """Return a writer staging under ``<root>/.staging``; ValueError for an unsafe name."""
        check_name("namespace", namespace)
        check_name("table_name", name)
        self.staging_root.mkdir(parents=True, exist_ok=True)
        staging_dir = Path(tempfile.mkdtemp(prefix="w-", dir=self.staging_root))
        (staging_dir / STAGED_FILE).write_text(json.dumps({"namespace": namespace, "name": name}), encoding="utf-8")
        return LocalTableWriter(namespace, name, staging_dir)

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

        writer = LocalTableWriter(namespace, name, staging_dir)
        try:
            writer._rows = pq.read_metadata(writer.data_path).num_rows
        except (OSError, pa.ArrowException):
            raise StorageError(f"staged data {staging_id!r} for table {namespace}.{name} is incomplete: "
                               "its writer must be closed before it is handed over") from None
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
            final = self._final_meta(writer, meta, mode, count, base.meta if base else None)
            data, data_id = writer.data_path, writer.staging_id
            if base is not None or keep is not None:
                data_id = f"m-{secrets.token_hex(8)}"
                batches = itertools.chain(base.iter_batches() if base else (), staged.iter_batches(65536))
                data = _write_kept_rows(batches, keep, data_id, writer.staging_dir / "merged.parquet")
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
                return LocalTable(meta, source)
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


def _write_kept_rows(batches: Iterable[pa.RecordBatch], keep: np.ndarray | None, data_id: str,
                     dest: Path) -> Path:
    """Write the rows whose running row number is in ``keep`` (all if None) to ``dest``, batch by batch."""
    import numpy as np
    import pyarrow as pa

    offset = 0
    with _parquet_writer(dest, data_id) as out:
        for batch in batches:
            rows = batch.num_rows
            if keep is None:
                out.write_batch(batch)
            else:
                lo, hi = np.searchsorted(keep, [offset, offset + rows])
                if hi > lo:
                    out.write_batch(batch.take(pa.array(keep[lo:hi] - offset)))
            offset += rows
    return dest


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
