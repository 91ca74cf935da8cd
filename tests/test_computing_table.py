"""The computing API: the same answers inline, on the local pool, on Spark local[2], and for any partitioning."""
from __future__ import annotations

import importlib.util
import operator
import shutil
import sys

import numpy as np
import pyarrow as pa
import pytest

from fate_flow.computing import ComputingConf, ComputingSession, Instances, create_session
from fate_flow.computing.recipes import block_ids, block_len
from fate_flow.storage import TableMeta, open_storage


# one worker sets up the module's shared fixtures (servers, engines) once
pytestmark = pytest.mark.xdist_group("computing_table")


def make_storage(tmp_path, rows=2000, partitions=4, name="t"):
    storage = open_storage("local", tmp_path / "tables")
    writer = storage.writer("ns", name, partitions)
    ids = [str(i) for i in range(rows)]
    writer.write_batch(pa.array(ids), pa.array([f"{i % 2},{i * 0.5}" for i in range(rows)]))
    storage.commit(writer, TableMeta("ns", name, partitions=partitions,
                                     schema={"header": "x", "sid": "id", "label_name": "y"}), "create")
    return storage


def to_instances(block):
    from fate_flow.computing import parse_value_matrix

    matrix = parse_value_matrix(block.column("value").combine_chunks(), 2)
    return Instances(ids=block.column("id").combine_chunks(), features=matrix[:, 1:], labels=matrix[:, 0],
                     header=["x"], label_name="y")


HAS_SPARK = importlib.util.find_spec("pyspark") is not None and shutil.which("java") is not None


@pytest.fixture(scope="module")
def spark_engine(tmp_path_factory):
    if not HAS_SPARK:
        pytest.skip("pyspark or Java is missing: pip install -e '.[spark]'")
    from pyspark import cloudpickle

    from fate_flow.computing.spark import SparkEngine

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # executors cannot import this test module
    with SparkEngine(scratch=str(tmp_path_factory.mktemp("spark")), master="local[2]", parallelism=2) as engine:
        yield engine
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture(params=["inline", "pool", pytest.param("spark", marks=pytest.mark.spark)])
def session(request, tmp_path):
    if request.param == "spark":
        spark = ComputingSession(request.getfixturevalue("spark_engine"), 4)
        spark.scratch = tmp_path / "scratch"  # this test's spills; the engine outlives the test
        yield spark
        return
    conf = ComputingConf(partitions=4, cores=2)
    with create_session(conf, str(tmp_path / "scratch")) as s:
        inline = request.param == "inline"  # small tables would go inline: force each way
        s.run = lambda f, items, rows_hint=None, inline_rows=None, _run=s.engine.run: _run(f, items, inline=inline)
        yield s


def test_map_aggregate_count_and_collect(session, tmp_path):
    storage = make_storage(tmp_path)
    with storage.open("ns", "t") as stored:
        table = session.load(stored)
        assert table.partitions == 4 and table.count() == 2000
        data = table.map_values(to_instances)
        total = data.aggregate(lambda b: b.features.sum())
        assert total == pytest.approx(sum(i * 0.5 for i in range(2000)))
        positives = data.filter(lambda b: b.labels == 1)
        assert positives.count() == 1000
        collected = positives.collect()
        assert isinstance(collected, Instances) and sorted(map(int, collected.ids.to_pylist())) == list(range(1, 2000, 2))
        assert block_len(data.take(7)) == 7 and block_len(data.first()) == 1
        with pytest.raises(ValueError, match="over its limit of 10"):
            data.collect(limit=10)


def test_join_union_and_sample_are_partition_wise(session, tmp_path):
    storage = make_storage(tmp_path)
    with storage.open("ns", "t") as stored:
        rows = session.load(stored)
        evens = rows.filter(lambda b: np.array([int(i) % 2 == 0 for i in b.column("id").to_pylist()]))
        small = rows.filter(lambda b: np.array([int(i) < 100 for i in b.column("id").to_pylist()]))
        both = evens.join(small, lambda a, b: a.filter(pa.compute.is_in(a.column("id"), value_set=b.column("id"))))
        assert sorted(map(int, both.collect().column("id").to_pylist())) == list(range(0, 100, 2))
        assert evens.union(small).count() == 1000 + 50
        sampled = rows.sample(0.3, seed=7)
        again = rows.repartition(3).sample(0.3, seed=7)
        assert 450 < sampled.count() < 750
        assert sorted(sampled.collect().column("id").to_pylist()) == sorted(again.collect().column("id").to_pylist())
        with pytest.raises(ValueError, match="same partition count"):
            rows.join(rows.repartition(2), lambda a, b: a)


def test_repartition_persist_and_save_keep_every_row(session, tmp_path):
    storage = make_storage(tmp_path)
    with storage.open("ns", "t") as stored:
        rows = session.load(stored)
        moved = rows.repartition(7).persist()
        assert moved.partitions == 7 and moved.count() == 2000
        meta = moved.map_values(to_instances).save(storage, "ns", "out", schema={"header": "x"})
    assert (meta.partitions, meta.count) == (7, 2000)
    from fate_flow.storage.partitioner import partition_of

    with storage.open("ns", "out") as out, storage.open("ns", "t") as source:
        assert out.partition_count == 7
        assert sorted(out.read_ids().to_pylist()) == sorted(source.read_ids().to_pylist())
        for p in range(7):  # saved partition p holds exactly the ids that hash to p of 7
            ids = pa.concat_arrays([b.column(0) for b in out.iter_partition(p)] or [pa.array([], pa.string())])
            assert len(ids) and (partition_of(ids, 7) == p).all()


def partition_sums(session, storage):
    with storage.open("ns", "t") as stored:
        data = session.load(stored).map_values(to_instances)
        return data.aggregate(lambda b: np.array([b.features.sum(), b.labels.sum(), len(b)]), operator.add)


def test_sums_are_the_same_for_any_partitioning(tmp_path):
    sums = []
    for partitions in (1, 3, 16):
        storage = make_storage(tmp_path / str(partitions), rows=5000, partitions=partitions)
        with create_session(ComputingConf(partitions=partitions, cores=2), str(tmp_path / f"s{partitions}")) as s:
            sums.append(partition_sums(s, storage))
    assert np.allclose(sums[0], sums[1], rtol=0, atol=1e-9) and np.allclose(sums[0], sums[2], rtol=0, atol=1e-9)


@pytest.mark.spark
def test_spark_gives_the_local_engine_s_sums(tmp_path, spark_engine):
    storage = make_storage(tmp_path, rows=5000, partitions=16)
    with create_session(ComputingConf(partitions=16, cores=2), str(tmp_path / "local")) as local:
        expected = partition_sums(local, storage)
    assert np.allclose(partition_sums(ComputingSession(spark_engine, 16), storage), expected, rtol=0, atol=1e-9)


def test_a_failing_kernel_raises_its_error(session, tmp_path):
    storage = make_storage(tmp_path)
    with storage.open("ns", "t") as stored:
        def boom(block):
            raise KeyError(f"bad id {block_ids(block)[0]}")
        with pytest.raises(KeyError, match="bad id"):
            session.load(stored).map_values(boom).count()


def test_a_costly_table_goes_to_the_workers_from_its_own_row_count(tmp_path):
    import os

    storage = make_storage(tmp_path, rows=300, partitions=2)
    with create_session(ComputingConf(partitions=2, cores=2), str(tmp_path / "scratch")) as s, \
            storage.open("ns", "t") as stored:
        table = s.load(stored)
        assert set(table.map_reduce(lambda b: os.getpid())) == {os.getpid()}  # small: inline
        costly = table.costly(inline_rows=100)
        assert os.getpid() not in costly.map_reduce(lambda b: os.getpid())
        assert set(table.costly(inline_rows=301).map_reduce(lambda b: os.getpid())) == {os.getpid()}


def test_pool_workers_are_separate_processes_and_stop_with_the_session(tmp_path):
    import os

    storage = make_storage(tmp_path, rows=200_000, partitions=4)
    with create_session(ComputingConf(partitions=4, cores=2), str(tmp_path / "scratch")) as s, \
            storage.open("ns", "t") as stored:
        pids = s.load(stored).map_reduce(lambda b: os.getpid())
        assert os.getpid() not in pids and len(set(pids)) >= 1
        workers = s.engine.worker_pids()
        assert workers
    import psutil
    assert not [p for p in workers if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not (tmp_path / "scratch").exists(), "the scratch directory is removed"


def test_a_save_that_fails_midway_leaves_no_table_and_no_staging(session, tmp_path):
    storage = make_storage(tmp_path)

    def fails_on_one_partition(block):
        if "7" in block.column("id").to_pylist():
            raise RuntimeError("worker died on this partition")
        return block

    with storage.open("ns", "t") as stored:
        with pytest.raises(RuntimeError, match="worker died"):
            session.load(stored).map_values(fails_on_one_partition).save(storage, "ns", "half")
    assert not storage.exists("ns", "half")
    assert not list((tmp_path / "tables" / ".staging").glob("w-*")), "the staged rows are gone"
    assert not list(session.scratch.glob("save-*")), "the spilled partitions are gone"


def test_to_local_iterator_gives_the_partitions_in_order_and_save_keeps_the_delimiter(session, tmp_path):
    storage = make_storage(tmp_path, rows=300, partitions=5)
    with storage.open("ns", "t") as stored:
        rows = session.load(stored)
        blocks = list(rows.to_local_iterator())
        assert [block_ids(b).to_pylist() for b in blocks] == [block_ids(b).to_pylist() for b in rows.blocks()]
        assert len(blocks) == 5 and sum(map(block_len, blocks)) == 300
        meta = rows.with_schema({"header": "x"}, "\t").save(storage, "ns", "tabbed")
    assert meta.delimiter == "\t" and meta.schema == {"header": "x"}
