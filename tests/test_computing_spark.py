"""The Spark engine: ``Engine.run`` on local[2], its errors, and a real standalone cluster of two workers.

One SparkSession serves the module (starting one costs seconds); the cluster test drives its
cluster from a subprocess, because a process holds only one Spark context.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from functools import partial
from pathlib import Path

import psutil
import pytest

from fate_flow.computing.engine import ComputingConf, EngineError
from fate_flow.computing.spark import SparkEngine, WorkerTraceback, clean_spark_message, spark_settings
from fate_flow.computing.spark_cluster import SparkStandaloneCluster

ROOT = Path(__file__).resolve().parent.parent
HAS_PYSPARK = importlib.util.find_spec("pyspark") is not None
HAS_JAVA = bool(shutil.which("java") or os.environ.get("JAVA_HOME"))

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("computing_spark")]
needs_spark = [
    pytest.mark.skipif(not HAS_PYSPARK, reason="pyspark is not installed: pip install -e '.[spark]'"),
    pytest.mark.skipif(not HAS_JAVA, reason="Spark needs Java (17): none on PATH or JAVA_HOME"),
]


def with_spark(test):
    for mark in needs_spark:
        test = mark(test)
    return test


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    if not (HAS_PYSPARK and HAS_JAVA):
        pytest.skip("pyspark or Java is missing")
    from pyspark import cloudpickle

    # the executors' interpreters cannot import this test module: ship its functions by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    scratch = tmp_path_factory.mktemp("spark_scratch")
    with SparkEngine(scratch=str(scratch), master="local[2]", parallelism=2, app_name="fate_flow tests") as spark:
        spark.start()
        yield spark
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def square_after(item: int, total: int) -> int:
    time.sleep((total - item) * 0.02)  # the first items finish last
    return item * item


def fail_on(item: int, bad: set[int]) -> int:
    if item in bad:
        raise ValueError(f"item {item} is bad")
    return item


class NeedsTwoArguments(Exception):
    """An exception that cannot be unpickled from its args (its __init__ wants two)."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")


def raise_unpicklable(item: int) -> None:
    raise NeedsTwoArguments("partition", f"{item} broke")


def test_importing_the_engine_and_the_cluster_loads_no_pyspark():
    code = ("import sys, fate_flow.computing.spark, fate_flow.computing.spark_cluster; "
            "print('pyspark' in sys.modules, 'py4j' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_without_pyspark_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # makes ``import pyspark`` raise ImportError
    with SparkEngine(master="local[1]") as spark:
        with pytest.raises(EngineError, match=r"pip install -e '\.\[spark\]'") as caught:
            spark.run(abs, [1])
    assert "spark" in str(caught.value) and "backend 1" in str(caught.value)


def test_a_conf_builds_the_engine_and_translates_spark_submit_flags(tmp_path):
    conf = ComputingConf(engine="spark", cores=3, scratch=str(tmp_path), spark_master="local[1]",
                         spark_conf={"executor-memory": "2g", "spark.sql.shuffle.partitions": 4, "spark.x": True})
    spark = SparkEngine.from_conf(conf, task_id="202601010000001")
    assert (spark.name, spark.master, spark.parallelism, spark.scratch) == ("spark", "local[1]", 3, str(tmp_path))
    assert spark.app_name == "fate_flow task 202601010000001"
    assert spark.settings == {"spark.executor.memory": "2g", "spark.sql.shuffle.partitions": "4", "spark.x": "true"}
    with pytest.raises(EngineError, match="unknown Spark settings.*queue_size"):
        spark_settings({"queue_size": 3})


def test_the_jvms_use_the_client_compiler_unless_the_job_says_otherwise(tmp_path):
    default = SparkEngine(scratch=str(tmp_path), master="local[1]")._session_settings()
    assert default["spark.driver.extraJavaOptions"].startswith("-XX:TieredStopAtLevel=1 -Dlog4j2")
    assert default["spark.executor.extraJavaOptions"] == "-XX:TieredStopAtLevel=1"
    own = SparkEngine(scratch=str(tmp_path), master="local[1]", spark_conf={
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=4"})._session_settings()
    # the JVM takes the last of repeated flags: the job's
    assert own["spark.driver.extraJavaOptions"].split()[-1] == "-XX:TieredStopAtLevel=4"


def test_a_spark_error_is_cut_to_the_line_that_says_what_happened():
    wrapped = Exception("An error occurred while calling z:org.apache.spark.api.python.PythonRDD.collectAndServe.\n"
                        ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 failed: "
                        "org.apache.spark.api.python.PythonException: Traceback (most recent call last):\n"
                        '  File "worker.py", line 1247, in main\n    process()\n'
                        "KeyError: 'x0'\n\n"
                        "\tat org.apache.spark.api.python.BasePythonRunner.handle(PythonRunner.scala:572)\n"
                        "\tat org.apache.spark.InterruptibleIterator.hasNext(InterruptibleIterator.scala:37)\n")
    assert clean_spark_message(wrapped) == "KeyError: 'x0'"
    lost = Exception("o.a.s.SparkException: Job aborted due to stage failure: Python worker exited unexpectedly\n"
                     "\tat org.apache.spark.scheduler.DAGScheduler.failJob(DAGScheduler.scala:2844)")
    assert clean_spark_message(lost) == "Job aborted due to stage failure: Python worker exited unexpectedly"


@with_spark
def test_an_unreachable_master_fails_fast_naming_it():
    with socket.socket() as sock:  # a port nobody listens on once this closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    master = f"spark://127.0.0.1:{port}"
    started = time.monotonic()
    with SparkEngine(master=master, connect_timeout=5) as spark:
        with pytest.raises(EngineError, match=f"Spark master {master} is not reachable"):
            spark.start()
    assert time.monotonic() - started < 30


@with_spark
def test_results_come_back_in_item_order(engine):
    assert engine.run(partial(square_after, total=12), range(12)) == [i * i for i in range(12)]
    assert engine.run(abs, []) == []


@with_spark
def test_closures_lambdas_and_functions_as_items_travel(engine):
    offset = 10
    assert engine.run(lambda x: x + offset, [1, 2, 3]) == [11, 12, 13]
    assert engine.run(lambda f: f(2), [lambda x: x * offset, partial(pow, 3)]) == [20, 9]


@with_spark
def test_executors_run_this_interpreter(engine):
    assert engine.run(lambda _: sys.executable, [0, 1]) == [sys.executable] * 2


@with_spark
def test_an_exception_in_a_worker_is_raised_with_its_type_message_and_traceback(engine):
    with pytest.raises(ValueError, match="item 3 is bad") as caught:
        engine.run(partial(fail_on, bad={3, 5}), range(8))  # the first failure by item order wins
    assert traceback.format_exception_only(caught.type, caught.value)[-1].strip() == "ValueError: item 3 is bad"
    cause = caught.value.__cause__
    assert isinstance(cause, WorkerTraceback)
    assert "item 3:" in cause.text and "in fail_on" in cause.text
    assert engine.run(abs, [-1]) == [1]  # the session survives


@with_spark
def test_an_exception_that_cannot_travel_becomes_an_engine_error_with_its_type_and_message(engine):
    with pytest.raises(EngineError, match="item 0 failed on a Spark executor: NeedsTwoArguments: partition: 7 broke"):
        engine.run(raise_unpicklable, [7])


@with_spark
def test_a_crashed_worker_gives_sparks_reason_without_the_java_stack(engine):
    with pytest.raises(EngineError) as caught:
        engine.run(lambda _: os._exit(7), [0])
    message = str(caught.value)
    assert "Python worker exited unexpectedly" in message, message
    assert "\tat org.apache" not in message and len(message) < 600
    assert engine.run(abs, [-2]) == [2]


@with_spark
def test_partitions_workers_write_under_scratch_are_read_by_the_driver(engine):
    scratch = engine.scratch

    def spill(item: int) -> str:
        path = os.path.join(scratch, f"part-{item:05d}")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"{item},{os.getpid()}\n")
        return path

    paths = engine.run(spill, range(4))
    assert [Path(p).read_text().split(",")[0] for p in paths] == ["0", "1", "2", "3"]
    assert all(Path(p).parent == Path(scratch) for p in paths)


# runs in its own process: a driver on the cluster, reporting where each item ran, then waiting
CLUSTER_DRIVER = """
import json, os, sys, time
import psutil
from fate_flow.computing.spark import SparkEngine

def where(item):
    time.sleep(0.5)
    here = psutil.Process()
    return {"item": item, "cwd": os.getcwd(), "pids": [here.pid] + [p.pid for p in here.parents()]}

master, conf = sys.argv[1], json.loads(sys.argv[2])
with SparkEngine(master=master, spark_conf=conf, connect_timeout=10) as spark:
    print(json.dumps(spark.run(where, range(8))), flush=True)
    sys.stdin.readline()
"""


@with_spark
@pytest.mark.timeout(300)
def test_a_standalone_cluster_spreads_items_over_both_workers_and_stop_leaves_no_process(tmp_path):
    root = tmp_path / "cluster"
    with SparkStandaloneCluster(workers=2, root=root) as cluster:
        assert len(cluster.alive_workers()) == 2
        conf = {**cluster.client_conf, "spark.scheduler.minRegisteredResourcesRatio": "1.0",
                "spark.scheduler.maxRegisteredResourcesWaitingTime": "60s"}
        driver = subprocess.Popen([sys.executable, "-c", CLUSTER_DRIVER, cluster.master_url, json.dumps(conf)],
                                  cwd=str(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  start_new_session=True)
        try:
            results = json.loads(driver.stdout.readline() or "null")
            assert results is not None, f"the driver failed: exit {driver.wait(timeout=60)}"
            assert [r["item"] for r in results] == list(range(8))
            workers = {Path(r["cwd"]).relative_to(root).parts[0] for r in results}
            assert workers == {"worker-0", "worker-1"}
            running = cluster.pids()
            executor_processes = {pid for r in results for pid in r["pids"] if pid in running}
            assert len(executor_processes) >= 4  # two executor JVMs, their Python daemons and workers
            cluster.stop()
            assert cluster.pids() == set()
            assert not [pid for pid in running if _is_alive(pid)]
        finally:
            _stop_group(driver)
    assert not [p.pid for p in psutil.process_iter(["cmdline"]) if str(root) in " ".join(p.info["cmdline"] or [])]


def _is_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _stop_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)
