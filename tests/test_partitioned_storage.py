"""Stored tables are hash-partitioned by id: each row group holds one partition, named in the footer."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fate_flow.storage import TableMeta, open_storage
from fate_flow.storage.local import PartitionedParquet
from fate_flow.storage.partitioner import check_partitions, id_hashes, partition_of


def fnv1a(text: str) -> int:
    """The reference: FNV-1a 32 bit, byte by byte in plain Python."""
    value = 2166136261
    for byte in text.encode():
        value = ((value ^ byte) * 16777619) % (1 << 32)
    return value


def write(storage, name, ids, values, partitions, mode="create"):
    writer = storage.writer("ns", name, partitions)
    writer.write_batch(pa.array(ids), pa.array(values))
    return storage.commit(writer, TableMeta("ns", name, partitions=partitions), mode)


def partition_rows(storage, name):
    with storage.open("ns", name) as table:
        return [[(r["id"], r["value"]) for b in table.iter_partition(p) for r in b.to_pylist()]
                for p in range(table.partition_count)]


def test_partition_of_is_fnv1a_of_the_utf8_bytes():
    ids = ["", "1", "133", "id-ü-42", "x" * 40, "-7", "0001"]
    assert id_hashes(pa.array(ids)).tolist() == [fnv1a(i) for i in ids]
    assert partition_of(pa.array(ids), 7).tolist() == [fnv1a(i) % 7 for i in ids]
    sliced = pa.array(["a", "bb", "ccc", "dddd"]).slice(1, 2)  # offsets into a shared buffer
    assert id_hashes(sliced).tolist() == [fnv1a("bb"), fnv1a("ccc")]
    assert id_hashes(pa.chunked_array([["a"], ["b", "c"]])).tolist() == [fnv1a(c) for c in "abc"]


def test_partitions_are_balanced_for_numeric_ids():
    counts = pa.array(partition_of(pa.array([str(i) for i in range(100_000)]), 16)).value_counts()
    sizes = [c["counts"] for c in counts.to_pylist()]
    assert len(sizes) == 16 and max(sizes) < 1.1 * min(sizes)


@pytest.mark.parametrize("bad", [0, -1, 70000, 2.0, True, "4"])
def test_partition_counts_are_checked(bad):
    with pytest.raises(ValueError, match="partitions should be an integer"):
        check_partitions(bad)


def test_rows_go_to_the_partition_of_their_id(tmp_path):
    storage = open_storage("local", tmp_path)
    ids = [str(i) for i in range(1000)]
    meta = write(storage, "t", ids, [f"v{i}" for i in ids], 4)
    assert (meta.partitions, meta.count) == (4, 1000)
    parts = partition_rows(storage, "t")
    assert sorted(r for part in parts for r in part) == sorted((i, f"v{i}") for i in ids)
    for number, rows in enumerate(parts):
        assert rows and all(fnv1a(i) % 4 == number for i, _ in rows)
        assert [i for i, _ in rows] == sorted((i for i, _ in rows), key=int), "file order kept within a partition"
    with storage.open("ns", "t") as table:
        assert table.partition_count == 4 and sum(len(table.partition_row_groups(p)) for p in range(4)) >= 4
        with pytest.raises(ValueError, match=r"partition 4 is not in \[0, 4\)"):
            list(table.iter_partition(4))


def test_big_partitions_are_cut_into_row_groups_and_the_buffer_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(PartitionedParquet, "ROW_GROUP_ROWS", 100)
    storage = open_storage("local", tmp_path)
    writer = storage.writer("ns", "big", 3)
    for start in range(0, 3000, 250):
        writer.write_batch(pa.array([str(i) for i in range(start, start + 250)]), pa.array(["x"] * 250))
    storage.commit(writer, TableMeta("ns", "big", partitions=3), "create")
    with storage.open("ns", "big") as table:
        groups = pq.ParquetFile(table.path).metadata
        assert groups.num_row_groups >= 3000 // 200
        assert max(groups.row_group(i).num_rows for i in range(groups.num_row_groups)) < 200
    assert sum(len(p) for p in partition_rows(storage, "big")) == 3000


def test_duplicates_and_appends_keep_the_hash_layout(tmp_path):
    storage = open_storage("local", tmp_path)
    write(storage, "t", ["1", "2", "3", "1"], ["a", "b", "c", "d"], 4)
    meta = write(storage, "t", ["2", "9", "10"], ["B", "x", "y"], 2, mode="append")  # another count: placed again
    assert (meta.partitions, meta.count) == (4, 5)
    parts = partition_rows(storage, "t")
    assert sorted(r for p in parts for r in p) == [("1", "d"), ("10", "y"), ("2", "B"), ("3", "c"), ("9", "x")]
    assert all(fnv1a(i) % 4 == n for n, p in enumerate(parts) for i, _ in p)


def test_a_resumed_writer_keeps_its_partitions(tmp_path):
    storage = open_storage("local", tmp_path)
    writer = storage.writer("ns", "t", 5)
    writer.write_batch(pa.array([str(i) for i in range(50)]), pa.array(["v"] * 50))
    writer.close()
    resumed = open_storage("local", tmp_path).resume_writer("ns", "t", writer.staging_id)
    assert (resumed.partitions, resumed.rows_written) == (5, 50)
    assert storage.commit(resumed, TableMeta("ns", "t"), "create").partitions == 5
    assert len([p for p in partition_rows(storage, "t") if p]) == 5


def test_a_file_written_before_partitioning_is_one_partition(tmp_path):
    storage = open_storage("local", tmp_path)
    write(storage, "old", ["1", "2"], ["a", "b"], 1)
    path = tmp_path / "ns" / "old" / "data.parquet"
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata(table.schema.metadata), path)  # drops the footer entry
    with storage.open("ns", "old") as opened:
        assert opened.partition_count == 1
        assert [r["id"] for b in opened.iter_partition(0) for r in b.to_pylist()] == ["1", "2"]
