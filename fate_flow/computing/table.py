"""Partitioned tables: what components compute on, the same on every engine.

A ``Table`` is a list of partition recipes (``recipes``) plus the session that runs them.
Transformations (``map_partitions``, ``filter``, ``join``, ``union``, ``sample``) only stack
kernels on the recipes; actions (``aggregate``, ``count``, ``collect``, ``take``, ``save``)
and materialisations (``persist``, ``repartition``) send one job per partition to the
engine. Rows are hash-partitioned by id (``storage.partitioner``), so tables with the same
partition count are co-partitioned and joins and unions work partition by partition.

Results are combined in partition order, so sums come out the same on every engine and
for every split of the work. A table keeps a row-count hint (the stored count, when known):
small tables are computed in the task's own process.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import operator
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

from fate_flow.computing import recipes as rx
from fate_flow.computing.engine import LOCAL, SPARK, ComputingConf, Engine, EngineError

# tables known to have fewer rows than this are computed in the task's process on the local engine
INLINE_ROWS = 50_000
# collect() refuses tables with more rows than this unless told otherwise: it is for small results
COLLECT_LIMIT = 5_000_000


class ComputingSession:
    """A task's engine and scratch directory; makes tables and cleans up what they spilled."""

    def __init__(self, engine: Engine, partitions: int = 1) -> None:
        self.engine = engine
        self.partitions = max(1, int(partitions))
        self.scratch = Path(engine.scratch)
        self._counter = itertools.count()

    def new_dir(self, kind: str) -> str:
        """A fresh directory under the scratch directory for one materialisation."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        return tempfile.mkdtemp(prefix=f"{kind}-{next(self._counter)}-", dir=self.scratch)

    def run(self, function: Callable[[Any], Any], items: list, rows_hint: int | None = None,
            inline_rows: int = INLINE_ROWS) -> list:
        """Run on the engine; inline on the local engine when the table is known to have fewer than
        ``inline_rows`` rows."""
        if self.engine.name == LOCAL:
            inline = rows_hint is not None and rows_hint < inline_rows
            return self.engine.run(function, items, inline=inline)
        return self.engine.run(function, items)

    def load(self, stored) -> "Table":
        """The rows ("id", "value") of a stored table, one partition per stored partition.

        Tables of the local storage are read by the workers from their file; others are read here.
        """
        rows = stored.count()
        path = getattr(stored, "path", None)
        if path is not None and hasattr(stored, "partition_row_groups"):
            recipes = [rx.StoredPart(str(path), stored.data_id, tuple(stored.partition_row_groups(p)))
                       for p in range(stored.partition_count)]
        else:
            recipes = [rx.Literal(_read_partition(stored, p)) for p in range(stored.partition_count)]
        return Table(self, recipes, rows)

    def parallelize(self, blocks: list, rows_hint: int | None = None) -> "Table":
        """A table whose partition i is ``blocks[i]`` (blocks made on the driver: keep them small)."""
        return Table(self, [rx.Literal(block) for block in blocks], rows_hint)

    def from_spilled(self, paths: list[str], rows_hint: int | None = None) -> "Table":
        """A table whose partition i is the block spilled at ``paths[i]``."""
        return Table(self, [rx.SpilledPart(path) for path in paths], rows_hint)

    def close(self) -> None:
        """Stop the engine's workers and remove everything spilled."""
        try:
            self.engine.close()
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> "ComputingSession":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _read_partition(stored, partition: int):
    import pyarrow as pa

    batches = list(stored.iter_partition(partition))
    return pa.Table.from_batches(batches, schema=rx.stored_rows_schema()) if batches else \
        rx.stored_rows_schema().empty_table()


class Table:
    """A partitioned table of (id, row) blocks; see the module docstring."""

    def __init__(self, session: ComputingSession, recipes: list, rows_hint: int | None = None,
                 schema: dict | None = None, delimiter: str = ",") -> None:
        self.session = session
        self.recipes = list(recipes)
        self.rows_hint = rows_hint
        # FATE's table meta of the rows ({"header", "sid", "label_name"}): saved with them
        self.schema = dict(schema or {})
        # what separates the fields of the value strings (an input's rows passed on keep their own)
        self.delimiter = delimiter
        # below this many rows the local engine computes the table in the task's process
        self.inline_rows = INLINE_ROWS

    def costly(self, inline_rows: int) -> "Table":
        """The same table, computed by the workers from ``inline_rows`` rows on: for kernels so costly per
        row (RSA, Paillier) that a few thousand rows already pay for the pool."""
        table = Table(self.session, self.recipes, self.rows_hint, self.schema, self.delimiter)
        table.inline_rows = inline_rows
        return table

    def _run(self, function: Callable[[Any], Any], recipes: list | None = None) -> list:
        return self.session.run(function, self.recipes if recipes is None else recipes, self.rows_hint,
                                self.inline_rows)

    def with_schema(self, schema: dict, delimiter: str = ",") -> "Table":
        """The same table, whose rows ``save`` will describe with ``schema`` (and ``delimiter``)."""
        return Table(self.session, self.recipes, self.rows_hint, schema, delimiter)

    @property
    def partitions(self) -> int:
        return len(self.recipes)

    def select_partitions(self, partitions: list[int]) -> "Table":
        """The partitions at ``partitions``, in that order, as a table of their own (to work through a big
        table a few partitions at a time, e.g. to exchange it with another party partition by partition)."""
        return Table(self.session, [self.recipes[p] for p in partitions], self.rows_hint, self.schema)

    # ---- transformations (lazy) -------------------------------------------------------------

    def map_partitions(self, function: Callable[[Any], Any], keeps_rows: bool = False) -> "Table":
        """``function(block) -> block`` on every partition. The new rows' ids must stay in their
        partition (hash of the id); call ``repartition`` otherwise. ``keeps_rows``: same row count."""
        return Table(self.session, [rx.Mapped(r, function) for r in self.recipes],
                     self.rows_hint if keeps_rows else _upper(self.rows_hint))

    def map_values(self, function: Callable[[Any], Any]) -> "Table":
        """``function(block) -> block`` with the same ids in the same order (a row-wise transform)."""
        return self.map_partitions(function, keeps_rows=True)

    def filter(self, predicate: Callable[[Any], Any]) -> "Table":
        """The rows for which ``predicate(block)`` (a boolean mask over the block) is true."""
        return self.map_partitions(functools.partial(_filter, predicate))

    def join(self, other: "Table", function: Callable[[Any, Any], Any]) -> "Table":
        """``function(left block, right block)`` per partition; the function matches rows by id."""
        self._check_co_partitioned(other, "join")
        return Table(self.session, [rx.Zipped((a, b), function) for a, b in zip(self.recipes, other.recipes)],
                     _upper(min(_known(self.rows_hint), _known(other.rows_hint))))

    def union(self, other: "Table", function: Callable[[Any, Any], Any] | None = None) -> "Table":
        """Rows of both tables; an id in both keeps this table's row unless ``function`` merges them."""
        self._check_co_partitioned(other, "union")
        merge = function or _union_keep_first
        rows = None if self.rows_hint is None or other.rows_hint is None else self.rows_hint + other.rows_hint
        return Table(self.session, [rx.Zipped((a, b), merge) for a, b in zip(self.recipes, other.recipes)], rows)

    def sample(self, fraction: float, seed: int = 0) -> "Table":
        """About ``fraction`` of the rows, chosen by a seeded hash of the id: the same rows
        whatever the partitioning or engine."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction should be in [0, 1], got {fraction!r}")
        return self.filter(functools.partial(_sampled, fraction, seed))

    # ---- actions ----------------------------------------------------------------------------

    def aggregate(self, function: Callable[[Any], Any], combine: Callable[[Any, Any], Any] = operator.add) -> Any:
        """``combine`` over ``function(block)`` of every partition, in partition order."""
        partials = self._run(functools.partial(_apply, function))
        return functools.reduce(combine, partials)

    def map_reduce(self, function: Callable[[Any], Any]) -> list:
        """``function(block)`` of every partition, in partition order (small results only)."""
        return self._run(functools.partial(_apply, function))

    def count(self) -> int:
        """The number of rows."""
        return int(self.aggregate(rx.block_len))

    def take(self, n: int) -> Any:
        """The first ``n`` rows in partition order, as one block (partitions computed a few at a time)."""
        found, need = [], n
        step = max(1, self.session.engine.parallelism)
        for start in range(0, self.partitions, step):
            blocks = self._run(rx.compute, self.recipes[start:start + step])
            for block in blocks:
                if need <= 0:
                    break
                size = rx.block_len(block)
                found.append(block if size <= need else rx.take_rows(block, range(need)))
                need -= min(size, need)
            if need <= 0:
                break
        return rx.concat_blocks(found)

    def first(self) -> Any:
        """The first row, as a one-row block (None for an empty table)."""
        block = self.take(1)
        return block if rx.block_len(block) else None

    def collect(self, limit: int = COLLECT_LIMIT) -> Any:
        """Every row as one block, in partition order; ValueError past ``limit`` rows (for small tables)."""
        # the row hint is an upper bound: a table it keeps under the limit is not computed twice
        if self.rows_hint is None or self.rows_hint > limit:
            rows = self.count()
            if rows > limit:
                raise ValueError(f"collect() of {rows} rows is over its limit of {limit}: "
                                 "compute on the partitions instead")
        return rx.concat_blocks(self._run(rx.compute))

    def blocks(self) -> list:
        """Every partition's block, in order (small tables only)."""
        return self._run(rx.compute)

    def to_local_iterator(self) -> Iterator[Any]:
        """Every partition's block, in order, computed ``parallelism`` partitions at a time (pyspark's
        ``toLocalIterator``): the caller holds a few partitions, never the table (to send it partition by
        partition)."""
        step = max(1, self.session.engine.parallelism)
        for start in range(0, self.partitions, step):
            yield from self._run(rx.compute, self.recipes[start:start + step])

    # ---- materialisation --------------------------------------------------------------------

    def persist(self) -> "Table":
        """Compute every partition once into the scratch directory: later actions read it back
        (iterative algorithms would otherwise recompute the whole lineage every iteration)."""
        directory = self.session.new_dir("persist")
        paths = self._run(functools.partial(_compute_and_spill, directory))
        return Table(self.session, [rx.SpilledPart(path) for path in paths], self.rows_hint)

    def repartition(self, partitions: int) -> "Table":
        """The same rows in ``partitions`` partitions by id hash: a two-stage shuffle through spill files."""
        from fate_flow.storage.partitioner import check_partitions

        check_partitions(partitions, "partitions")
        directory = self.session.new_dir("shuffle")
        pieces = self._run(functools.partial(_split_and_spill, directory, partitions))
        recipes = [rx.Gathered(tuple(p[target] for p in pieces if p[target] is not None))
                   for target in range(partitions)]
        return Table(self.session, recipes, self.rows_hint)

    def save(self, storage, namespace: str, name: str, schema: dict | None = None, mode: str = "replace",
             delimiter: str | None = None):
        """Store the rows (blocks in their stored form) as a table of this partitioning; the meta.

        Workers spill each partition; the driver streams them into one staged writer a partition
        at a time and commits: readers see the whole table or none of it.
        """
        from fate_flow.storage import TableMeta

        directory = self.session.new_dir("save")
        try:
            paths = self._run(functools.partial(_spill_rows, directory))
            writer = storage.writer(namespace, name, self.partitions)
            try:
                for partition, path in enumerate(paths):
                    ids, values = rx.load_block(path)
                    writer.write_batch(ids, values, partition=partition)
                    Path(path).unlink(missing_ok=True)
                writer.close()
            except BaseException:
                storage.abort(writer)
                raise
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        meta = TableMeta(namespace=namespace, name=name, partitions=self.partitions, schema=schema or self.schema,
                         delimiter=delimiter or self.delimiter)
        return storage.commit(writer, meta, mode)

    def _check_co_partitioned(self, other: "Table", what: str) -> None:
        if other.partitions != self.partitions:
            raise ValueError(f"{what} needs tables of the same partition count, got {self.partitions} and "
                             f"{other.partitions}: repartition one of them")


# ---- kernels the table sends to workers -----------------------------------------------------

def _apply(function: Callable[[Any], Any], recipe: Any) -> Any:
    return function(rx.compute(recipe))


def _filter(predicate: Callable[[Any], Any], block: Any) -> Any:
    return rx.take_rows(block, predicate(block))


def _sampled(fraction: float, seed: int, block: Any):
    import numpy as np

    from fate_flow.storage.partitioner import id_hashes

    salted = (id_hashes(rx.block_ids(block)).astype(np.uint64) * np.uint64(0x9E3779B1) + np.uint64(seed)) \
        % np.uint64(1 << 32)
    return salted < np.uint64(int(fraction * (1 << 32)))


def _union_keep_first(left: Any, right: Any) -> Any:
    import pyarrow.compute as pc

    fresh = pc.invert(pc.is_in(rx.block_ids(right), value_set=rx.block_ids(left))).to_numpy(zero_copy_only=False)
    return rx.concat_blocks([left, rx.take_rows(right, fresh)]) if fresh.any() else left


def _compute_and_spill(directory: str, recipe: Any) -> str:
    return rx.spill_block(rx.compute(recipe), directory)


def _spill_rows(directory: str, recipe: Any) -> str:
    return rx.spill_block(rx.block_rows(rx.compute(recipe)), directory)


def _split_and_spill(directory: str, partitions: int, recipe: Any) -> list:
    from fate_flow.storage.partitioner import partition_of, split_rows

    block = rx.compute(recipe)
    pieces = split_rows(partition_of(rx.block_ids(block), partitions), partitions)
    return [rx.spill_block(rx.take_rows(block, rows), directory) if len(rows) else None for rows in pieces]


def _known(rows: int | None) -> float:
    return float("inf") if rows is None else rows


def _upper(rows: int | float | None) -> int | None:
    """A row-count hint that stays an upper bound after rows may have been dropped."""
    return None if rows is None or rows == float("inf") else int(rows)


# ---- engines by configuration ---------------------------------------------------------------

def create_engine(conf: ComputingConf, scratch: str | None = None) -> Engine:
    """The engine ``conf`` names, spilling under ``scratch`` (default: conf.scratch or a temp dir)."""
    # named, not created: the directory appears with the first spill, so a session that never
    # spills leaves nothing behind even if nobody closes it
    scratch = scratch or conf.scratch or str(Path(tempfile.gettempdir()) / f"fate_flow_computing-{uuid.uuid4().hex}")
    if conf.engine == LOCAL:
        from fate_flow.computing.local import LocalEngine

        return LocalEngine(scratch, conf.cores)
    if conf.engine == SPARK:
        from fate_flow.computing.spark import SparkEngine

        return SparkEngine.from_conf(dataclasses.replace(conf, scratch=scratch))
    raise EngineError(f"unknown computing engine {conf.engine!r}; known: {LOCAL}, {SPARK}")


def create_session(conf: ComputingConf, scratch: str | None = None) -> ComputingSession:
    """A session on the engine ``conf`` names, with its partition count."""
    return ComputingSession(create_engine(conf, scratch), conf.partitions)
