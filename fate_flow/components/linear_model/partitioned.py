"""HeteroLR's and HomoLR's data on the computing API: partitions of Instances sorted by id,
mini-batches drawn by id hash, per-partition digests, and predictions output as a Table.

Rows are hash-partitioned by id on every party, so partition i of the guest and of a host
hold the same ids after intersection; sorting each partition by id makes their rows line
up, and a digest of each partition's ids proves it before any ciphertext is exchanged.

A row's mini-batch is a salted hash of its id modulo the batch count, so every party finds
the same batches from its own ids (nothing but the count and the salt is sent) and the
batches do not depend on the partitioning. Batches hold about ``batch_size`` rows each,
not exactly: FATE's consecutive cuts would depend on the row order of the whole table.
"""
from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.linear_model.common import PREDICT_HEADER
from fate_flow.computing.engine import in_worker


# ---- loading ------------------------------------------------------------------------------

def stored_input(table, module: str):
    """The one stored table of a data input; ValueError for a missing table or several tables."""
    if isinstance(table, list):
        if len(table) != 1:
            raise ValueError(f"{module} takes one table per data input, got {len(table)}")
        table = table[0]
    if table is None:
        raise ValueError(f"{module} got no table for its data input")
    return table


@dataclass(frozen=True)
class LoadedData:
    """A data input as persisted partitions of Instances sorted by id, and what its schema says."""

    table: Any
    header: list
    label_name: str | None
    sid_name: str
    count: int

    @property
    def partitions(self) -> int:
        return self.table.partitions


def load_instances(ctx, table, module: str, refuse_empty: bool = False) -> LoadedData:
    """The input as a persisted Table of Instances blocks, each sorted by id, in the job's partition count
    (data already loaded, e.g. a cross-validation fold, is returned as it is)."""
    if isinstance(table, LoadedData):
        return table
    stored = stored_input(table, module)
    schema = dict(stored.meta.schema or {})
    rows = ctx.computing.load(stored)
    if rows.partitions != ctx.computing.partitions:  # so that partition i means the same ids on every party
        rows = rows.repartition(ctx.computing.partitions)
    parse = functools.partial(parse_sorted_instances, schema, stored.meta.delimiter or ",")
    instances = rows.map_partitions(parse, keeps_rows=True).persist()
    count = instances.count()
    if refuse_empty and count == 0:
        raise ValueError(f"{module} got an empty table")
    header = [h for h in str(schema.get("header") or "").split(",") if h]
    return LoadedData(instances, header, schema.get("label_name"), schema.get("sid") or schema.get("sid_name") or "id",
                      count)


def parse_sorted_instances(schema: dict, delimiter: str, block) -> Any:
    """Kernel: stored rows ("id", "value") -> Instances sorted by id (the row order every party shares)."""
    from fate_flow.computing import Instances, parse_value_matrix

    header = [h for h in str(schema.get("header") or "").split(",") if h]
    label_name = schema.get("label_name")
    ids = _combined(block.column("id")).cast(pa.string())
    order = pc.sort_indices(ids).to_numpy(zero_copy_only=False)
    width = len(header) + (1 if label_name is not None else 0)
    matrix = parse_value_matrix(_combined(block.column("value")).take(pa.array(order)), width, delimiter)
    labels = matrix[:, 0].copy() if label_name is not None else None
    features = matrix[:, 1:] if label_name is not None else matrix
    return Instances(ids=ids.take(pa.array(order)), features=np.ascontiguousarray(features), labels=labels,
                     header=header, sid_name=schema.get("sid") or schema.get("sid_name") or "id",
                     label_name=label_name)


def _combined(column):
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column


def label_classes(table) -> np.ndarray:
    """The distinct labels of a Table of Instances (an empty array if it has none)."""
    return table.aggregate(_block_classes, _union_classes)


def _block_classes(block) -> np.ndarray:
    return np.empty(0) if block.labels is None else np.unique(block.labels)


def _union_classes(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.union1d(left, right)


def check_binary_labels(table, has_label: bool, module: str, who: str) -> None:
    """ValueError unless the rows have labels of at most two classes (FATE's y = 1 if label == 1 else -1)."""
    if not has_label:
        raise ValueError(f"the train data has no label: {module} needs DataIO with_label on {who}")
    classes = label_classes(table)
    if len(classes) > 2:
        raise ValueError(f"{module} here is binary only; the labels have {len(classes)} classes "
                         f"(one-vs-rest is not supported)")


def signed(labels: np.ndarray) -> np.ndarray:
    """FATE's label mapping: 1 for label 1, else -1."""
    return np.where(labels == 1, 1.0, -1.0)


# ---- ids: digests and batches -------------------------------------------------------------

def partition_digests(table) -> list[str]:
    """One digest per partition of its (sorted) ids: equal lists mean row i of partition p is the same id."""
    return table.map_reduce(_ids_digest)


def _ids_digest(block) -> str:
    from fate_flow.storage.partitioner import id_hashes

    hashes = id_hashes(block.ids)
    digest = hashlib.blake2b(hashes.astype("<u4").tobytes(), digest_size=16).hexdigest()
    return f"{len(hashes)}:{digest}"


def check_digests(own: list[str], other: Any, who: str) -> None:
    """ValueError naming the first partition whose ids differ from ``who``'s."""
    if not isinstance(other, list) or not all(isinstance(d, str) for d in other):
        raise ValueError(f"the id digests from {who} should be a list of strings")
    if len(other) != len(own):
        raise ValueError(f"{who} has {len(other)} partitions and this party {len(own)}: the job's partition "
                         f"count should be the same on every party")
    for partition, (mine, theirs) in enumerate(zip(own, other)):
        if mine != theirs:
            raise ValueError(f"partition {partition} holds other ids than on {who} "
                             f"({mine.split(':')[0]} rows here, {theirs.split(':')[0]} there): the train data of "
                             f"HeteroLR must have the same ids on every party (run Intersection first)")


def batch_count(n_rows: int, batch_size: int) -> int:
    """FATE's number of mini-batches: ceil(n / batch_size); one for batch_size -1 or >= n."""
    if batch_size == -1 or batch_size >= n_rows:
        return 1
    return math.ceil(n_rows / batch_size)


def batch_of(ids: pa.Array, batch_num: int, salt: int) -> np.ndarray:
    """The mini-batch (in [0, batch_num)) of every id: a salted, mixed hash of the id (murmur3's finaliser)."""
    from fate_flow.storage.partitioner import id_hashes

    if batch_num == 1:
        return np.zeros(len(ids), dtype=np.int64)
    mask = np.uint64(0xFFFFFFFF)
    h = (id_hashes(ids).astype(np.uint64) ^ np.uint64(salt & 0xFFFFFFFF)) & mask
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & mask
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & mask
    h ^= h >> np.uint64(16)
    return (h % np.uint64(batch_num)).astype(np.int64)


def split_batches(table, batch_num: int, salt: int) -> tuple[list, np.ndarray]:
    """(one table per mini-batch, co-partitioned with ``table``; their (partitions, batch_num) row counts).

    The batches are split and spilled in one pass, so that a batch's kernels read only that
    batch's rows, not the whole partition's once per batch. One batch is ``table`` itself.
    """
    from fate_flow.computing.recipes import block_len

    if batch_num == 1:
        return [table], np.array(table.map_reduce(block_len), dtype=np.int64).reshape(-1, 1)
    directory = table.session.new_dir("batches")
    spilled = table.map_reduce(functools.partial(_spill_batches, directory, batch_num, salt))
    sizes = np.array([[count for _, count in pieces] for pieces in spilled], dtype=np.int64)
    tables = [table.session.from_spilled([pieces[batch][0] for pieces in spilled], rows_hint=table.rows_hint)
              for batch in range(batch_num)]
    return tables, sizes


def _spill_batches(directory: str, batch_num: int, salt: int, block) -> list[tuple[str, int]]:
    """Kernel: the block's rows of each batch (still in id order), spilled: [(file, rows)] by batch."""
    from fate_flow.computing.recipes import spill_block

    batches = batch_of(block.ids, batch_num, salt)
    pieces = []
    for batch in range(batch_num):
        rows = np.flatnonzero(batches == batch)
        pieces.append((spill_block(block.take(rows), directory), len(rows)))
    return pieces


# rows of one message of per-row ciphertexts (~13 MB at 1024-bit keys): bounds what a party holds
# at once however big a partition is
MESSAGE_ROWS = 50_000


def message_pieces(sizes: np.ndarray, message_rows: int) -> list[tuple[int, int]]:
    """(partition, piece) of every piece of a batch whose partitions hold ``sizes`` rows, in partition order.

    Piece k of partition p is its rows k*message_rows onwards (in id order): both parties know every
    piece from the sizes, which their (matching) ids fix. A partition without rows has no piece.
    """
    return [(partition, piece) for partition, size in enumerate(sizes)
            for piece in range(math.ceil(int(size) / message_rows))]


def message_groups(sizes: np.ndarray, message_rows: int) -> list[list[tuple[int, int]]]:
    """The messages of a batch: runs of consecutive pieces together, each message of at most ``message_rows``
    rows and at most half the batch's rows.

    A big partition is cut into pieces of one message each; small partitions share a message, so many
    small partitions cost few exchanges. Half the batch at most: with two messages or more, one party
    computes the next message while the other works on the last one (one message would leave each party
    idle while the other computes: 15% slower on FATE's 569-row example). Both parties derive the same
    messages from the sizes alone.
    """
    limit = min(message_rows, max(1, math.ceil(int(np.sum(sizes)) / 2)))
    messages: list[list[tuple[int, int]]] = []
    rows = 0
    for partition, piece in message_pieces(sizes, message_rows):
        size = min(message_rows, int(sizes[partition]) - piece * message_rows)
        if not messages or rows + size > limit:
            messages.append([])
            rows = 0
        messages[-1].append((partition, piece))
        rows += size
    return messages


def piece_rows(piece: int, message_rows: int) -> slice:
    """The rows of a block in message ``piece``."""
    return slice(piece * message_rows, (piece + 1) * message_rows)


def message_parts(message: Any, pieces: int, name: str) -> list:
    """The per-piece parts of a packed message, checked: a list of ``pieces`` items."""
    if not isinstance(message, (list, tuple)) or len(message) != pieces:
        got = f"{len(message)} parts" if isinstance(message, (list, tuple)) else type(message).__name__
        raise ValueError(f"{name} should hold one part per piece of the message ({pieces}), got {got}")
    return list(message)


def in_message_groups(table, messages: list[list[tuple[int, int]]]) -> Iterator[list[tuple[int, list]]]:
    """(message index, its pieces) in order, enough messages at a time to keep the engine's workers busy."""
    step = max(1, table.session.engine.parallelism)
    group: list[tuple[int, list]] = []
    pieces = 0
    for index, message in enumerate(messages):
        group.append((index, message))
        pieces += len(message)
        if pieces >= step:
            yield group
            group, pieces = [], 0
    if group:
        yield group


def batch_salt(random_seed: Any) -> int:
    """The batches' salt: the init seed when there is one (reproducible runs), else 0."""
    return int(random_seed) & 0xFFFFFFFF if isinstance(random_seed, int) and not isinstance(random_seed, bool) \
        else 0


# ---- partitions a few at a time -----------------------------------------------------------

def in_groups(table, items: list | None = None) -> Iterator[list]:
    """The items (default: the partitions) in order, as many at a time as the engine runs at once.

    Exchanges go a group at a time so that a party holds a few messages, never a table's.
    """
    order = list(range(table.partitions)) if items is None else list(items)
    step = max(1, table.session.engine.parallelism)
    for start in range(0, len(order), step):
        yield order[start:start + step]


def run_with(table, partitions: list[int], kernel: Callable[[Any, Any], Any], extras: list | None = None) -> list:
    """``kernel(block of partition p, extras[k])`` for the k-th of ``partitions`` (which may repeat), on the
    engine; the results in order."""
    if not partitions:
        return []
    part = table.select_partitions(partitions)
    extras = [None] * len(partitions) if extras is None else extras
    return part.join(table.session.parallelize(extras, rows_hint=table.rows_hint), kernel).map_reduce(_identity)


def _identity(value: Any) -> Any:
    return value


# this process's copy of the job's Paillier public key (see ``worker_public_key``)
_KEYS: dict = {}


def worker_public_key(public_key):
    """The key a kernel should encrypt with: one copy per process, and Paillier work done in the worker.

    Every kernel call unpickles a fresh key, which would draw a new obfuscation base and build
    its fixed-base table each time; the first copy is kept instead. In a pool worker the Paillier
    pool is turned off: the engine already spreads partitions over the cores, a Paillier pool
    per worker would only oversubscribe them.
    """
    if in_worker():
        from fate_flow.secureprotol import set_parallelism

        set_parallelism(1)
    cached = _KEYS.get(public_key)
    if cached is None:
        _KEYS.clear()  # one key at a time: a worker serves one task
        _KEYS[public_key] = cached = public_key
    return cached


# ---- predictions --------------------------------------------------------------------------

def prediction_block(ids: pa.Array, labels: np.ndarray | None, prob: np.ndarray, threshold: float,
                     kind: str) -> pa.Table:
    """FATE's predict rows ``label,predict_result,predict_score,predict_detail,type`` as stored rows.

    predict_detail is the JSON ``{"0": 1-p, "1": p}`` written with separators (";", ":")
    so that the row still splits on ",".
    """
    n = len(ids)
    label = pa.array(["None"] * n, type=pa.string()) if labels is None else _number_text(labels)
    result = pc.cast(pa.array((prob > threshold).astype(np.int64)), pa.string())
    score = _float_text(prob)
    detail = pc.binary_join_element_wise(pa.scalar('{"0":'), _float_text(1.0 - prob), pa.scalar(';"1":'), score,
                                         pa.scalar("}"), "")
    kinds = pa.array([kind] * n, type=pa.string())
    values = pc.binary_join_element_wise(label, result, score, detail, kinds, ",") if n else \
        pa.array([], type=pa.string())
    from fate_flow.computing.recipes import stored_rows_schema

    return pa.Table.from_arrays([ids.cast(pa.string()), values.cast(pa.string())], schema=stored_rows_schema())


def predict_schema(sid_name: str) -> dict:
    """The schema of the predict rows."""
    return {"header": PREDICT_HEADER, "sid": sid_name}


def _float_text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.float64)), pa.string())


def _number_text(values: np.ndarray) -> pa.Array:
    """Labels as text: integral values without a decimal point ("1", not "1.0")."""
    if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        return pc.cast(pa.array(values.astype(np.int64)), pa.string())
    return _float_text(values)


def union_tables(results: list):
    """Union of the predict outputs, partition by partition; an id already output (train) is not repeated."""
    results = [r for r in results if r is not None]
    if not results:
        return None
    union = results[0]
    for result in results[1:]:
        union = union.union(result)
    return union.with_schema(results[0].schema)


def model_columns(block_header: list[str], model_header: list[str]) -> list[int] | None:
    """The positions of the model's features in the block's header (None when they are the same);
    ValueError naming a missing feature."""
    if list(block_header) == list(model_header):
        return None
    position = {name: i for i, name in enumerate(block_header)}
    missing = [name for name in model_header if name not in position]
    if missing:
        raise ValueError(f"the data has no feature {missing[0]!r} of the model's header")
    return [position[name] for name in model_header]


def linear_scores(block, header: list[str], weights: np.ndarray, intercept: float) -> np.ndarray:
    """``X w + b`` of a block of Instances, its features taken in the model's header order."""
    columns = model_columns(block.header, header)
    features = block.features if columns is None else block.features[:, columns]
    return features @ weights + intercept
