"""The Spark engine: ``Engine.run`` as one Spark job with one task per item.

pyspark is imported on first use only, so that a server that never computes on Spark does
not pay for it. A function and its items travel cloudpickled (closures and lambdas work);
an exception raised by the function is caught on the executor and raised again here, with
its own type and message and the executor's traceback as its cause, rather than as
Spark's Java-wrapped error. Executors must be able to import the function's module (the
same venv on one machine; fate_flow installed on a real cluster's nodes).
"""
from __future__ import annotations

import contextlib
import logging
import os
import pickle
import re
import shutil
import socket
import sys
import tempfile
import time
import traceback
from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence
from urllib.parse import urlsplit

from fate_flow.computing.engine import SPARK, ComputingConf, Engine, EngineError, mark_worker

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOGGER = logging.getLogger(__name__)

INSTALL_HINT = "pip install -e '.[spark]'"

# FATE 1.5's spark_run used spark-submit's flag names; these are the settings they stand for
SUBMIT_FLAGS = {
    "num-executors": "spark.executor.instances",
    "executor-cores": "spark.executor.cores",
    "executor-memory": "spark.executor.memory",
    "driver-memory": "spark.driver.memory",
    "total-executor-cores": "spark.cores.max",
}

# Spark's own log4j2 default prints every INFO line of the driver; a task's log wants warnings only
_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.hadoop_native.name = org.apache.hadoop.util.NativeCodeLoader
logger.hadoop_native.level = error
"""


class WorkerTraceback(Exception):
    """The traceback of an exception raised on an executor, attached as that exception's cause."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return "\n" + self.text


def import_pyspark() -> ModuleType:
    """The pyspark module; EngineError saying what to install when it is missing."""
    try:
        import pyspark
    except ImportError as exc:
        raise EngineError(f"the Spark engine (backend 1, computing engine 'spark') needs pyspark, which is not "
                          f"installed: run {INSTALL_HINT}") from exc
    return pyspark


def check_master_reachable(master: str, timeout: float) -> None:
    """For a ``spark://`` master, EngineError naming it unless one of its hosts accepts a connection.

    Spark's standalone client retries an unreachable master for about a minute and then leaves
    the job waiting; a connect with a deadline tells the user at once which URL is wrong.
    """
    if not master.startswith("spark://"):
        return
    addresses = [urlsplit("spark://" + part) for part in master[len("spark://"):].split(",")]
    errors = []
    for address in addresses:
        try:
            with socket.create_connection((address.hostname, address.port or 7077), timeout=timeout):
                return
        except (OSError, ValueError) as exc:
            errors.append(f"{address.netloc}: {exc}")
    raise EngineError(f"the Spark master {master} is not reachable ({'; '.join(errors)}): "
                      f"is it running, and is spark_master right?")


def spark_settings(spark_conf: dict[str, Any]) -> dict[str, str]:
    """``spark.*`` settings from a job's spark conf (spark-submit flag names translated); EngineError on others."""
    settings, unknown = {}, []
    for key, value in (spark_conf or {}).items():
        name = SUBMIT_FLAGS.get(key.lstrip("-"), key)
        if not name.startswith("spark."):
            unknown.append(key)
        elif value is not None:
            settings[name] = str(value).lower() if isinstance(value, bool) else str(value)
    if unknown:
        raise EngineError(f"unknown Spark settings {sorted(unknown)}: use spark.* names "
                          f"or one of {sorted(SUBMIT_FLAGS)}")
    return settings


def clean_spark_message(exc: BaseException) -> str:
    """The line of a Spark/py4j error a user needs: the Python exception, else Spark's reason."""
    try:
        text = str(exc)
    except Exception:  # str() of a Py4JJavaError asks the JVM, which may be gone
        text = repr(exc)
    if "Traceback (most recent call last):" in text:
        tail = text.rsplit("Traceback (most recent call last):", 1)[1]
        python_part = re.split(r"\n\s*at [\w$.]+\(", tail, maxsplit=1)[0]
        lines = [line for line in python_part.splitlines() if line.strip() and not line[0].isspace()]
        if lines:
            return lines[-1].strip()
    match = re.search(r"SparkException: (.+)", text)
    if match:
        return match.group(1).strip()
    return next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)


def _is_spark_error(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("py4j", "pyspark")


def _run_on_executor(function: Callable[[Any], Any], pair: tuple[int, bytes]) -> bytes:
    """Apply ``function`` to one cloudpickled item; (True, result) or (False, error) cloudpickled."""
    from pyspark import cloudpickle

    index, blob = pair
    mark_worker()
    try:
        return cloudpickle.dumps((True, function(pickle.loads(blob))))
    except Exception as exc:
        return cloudpickle.dumps((False, _describe_error(exc, index)))


def _describe_error(exc: Exception, index: int) -> tuple[Exception | None, str, str]:
    """The exception (when it survives a pickle round trip), its one-line summary and its traceback."""
    from pyspark import cloudpickle

    summary = f"{type(exc).__name__}: {exc}"
    text = f"item {index}:\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        exc.__traceback__ = None
        pickle.loads(cloudpickle.dumps(exc))  # an exception whose __init__ takes other args can't come back
    except Exception:
        exc = None
    return exc, summary, text


class SparkEngine(Engine):
    """Runs functions over items as Spark jobs of one SparkSession, started on first use.

    Args:
        scratch: where workers spill partitions; a temporary directory (removed on close) when empty.
        master: Spark's master URL (``local[2]``, ``spark://host:7077``, ``yarn``, ...).
        spark_conf: ``spark.*`` settings (or FATE 1.5's spark-submit flag names), applied last.
        parallelism: the cores the task may use.
        app_name: the application's name in Spark's UI and logs.
        connect_timeout: seconds to wait for a ``spark://`` master to accept a connection.
    """

    name = SPARK

    def __init__(self, scratch: str = "", master: str = "local[*]", spark_conf: dict[str, Any] | None = None,
                 parallelism: int = 1, app_name: str = "fate_flow", connect_timeout: float = 30.0) -> None:
        self._owned_scratch = None if scratch else tempfile.mkdtemp(prefix="fate_flow_scratch_")
        super().__init__(scratch or self._owned_scratch, parallelism)
        self.master = master
        self.settings = spark_settings(spark_conf or {})
        self.app_name = app_name
        self.connect_timeout = connect_timeout
        self._session = None
        self._owns_session = False
        self._local_dir: str | None = None

    @classmethod
    def from_conf(cls, conf: ComputingConf, task_id: str | None = None, **options: Any) -> "SparkEngine":
        """The engine a task's ComputingConf describes; ``task_id`` names the Spark application."""
        app_name = f"fate_flow task {task_id}" if task_id else "fate_flow"
        spark_conf = dict(conf.spark_conf)
        if conf.spark_master.startswith("spark://"):
            # a standalone master gives an application every free core unless told otherwise: the
            # tasks of the other parties, which run at the same time and wait for this one's
            # messages, would then never get an executor
            spark_conf.setdefault("spark.cores.max", str(conf.cores))
        return cls(scratch=conf.scratch, master=conf.spark_master, spark_conf=spark_conf,
                   parallelism=conf.cores, app_name=app_name, **options)

    @property
    def session(self) -> SparkSession:
        """The SparkSession, started on first use (EngineError when pyspark, Java or the master is missing)."""
        if self._session is None:
            self._session = self._start_session()
        return self._session

    def start(self) -> "SparkEngine":
        """Start the session now rather than at the first ``run``."""
        _ = self.session
        return self

    def run(self, function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        items = list(items)
        if not items:
            return []
        outcomes = self._collect(function, items)
        for index, (is_ok, value) in enumerate(outcomes):
            if not is_ok:
                _raise_worker_error(value, index)
        return [value for _, value in outcomes]

    def close(self) -> None:
        if self._session is not None and self._owns_session:
            self._session.stop()
        self._session = None
        for path in (self._local_dir, self._owned_scratch):
            if path:
                shutil.rmtree(path, ignore_errors=True)
        self._local_dir = self._owned_scratch = None

    def _collect(self, function: Callable[[Any], Any], items: list[Any]) -> list[tuple[bool, Any]]:
        context = self.session.sparkContext  # first: it says what to install when pyspark is missing
        from pyspark import cloudpickle

        pairs = [(index, cloudpickle.dumps(item)) for index, item in enumerate(items)]
        try:
            blobs = context.parallelize(pairs, numSlices=len(pairs)).map(partial(_run_on_executor, function)).collect()
        except Exception as exc:
            if not _is_spark_error(exc):
                raise
            raise EngineError(f"Spark job failed on {self.master}: {clean_spark_message(exc)}") from exc
        return [pickle.loads(blob) for blob in blobs]

    def _start_session(self) -> SparkSession:
        import_pyspark()
        check_master_reachable(self.master, self.connect_timeout)
        from pyspark import SparkContext
        from pyspark.sql import SparkSession

        active = SparkContext._active_spark_context
        if active is not None and active.master != self.master:
            raise EngineError(f"this process already runs a Spark context on {active.master}; "
                              f"one process can hold only one, so it cannot start one on {self.master}")
        self._owns_session = active is None
        builder = SparkSession.builder.master(self.master).appName(self.app_name)
        for key, value in self._session_settings().items():
            builder = builder.config(key, value)
        started = time.monotonic()
        try:
            with _environment(self._launch_environment()):
                session = builder.getOrCreate()
        except Exception as exc:
            raise EngineError(f"could not start Spark on {self.master} (is Java 17 installed and on PATH or "
                              f"JAVA_HOME?): {clean_spark_message(exc)}") from exc
        session.sparkContext.setLogLevel("WARN")
        LOGGER.info("Spark session on %s started in %.1f s", self.master, time.monotonic() - started)
        return session

    def _launch_environment(self) -> dict[str, str]:
        """Variables pyspark and its JVM read only from the environment, set while the session starts."""
        # pyspark takes the executors' interpreter from PYSPARK_PYTHON, not from spark.pyspark.python
        variables = {"PYSPARK_PYTHON": self.settings.get("spark.pyspark.python", sys.executable)}
        # Spark looks for an address other hosts can reach (and warns when the hostname is loopback)
        # unless told: all in this process for a local master, or the address the driver binds to
        address = "127.0.0.1" if self.master.startswith("local") else self.settings.get("spark.driver.bindAddress")
        if address and "SPARK_LOCAL_IP" not in os.environ:
            variables["SPARK_LOCAL_IP"] = address
        return variables

    def _session_settings(self) -> dict[str, str]:
        """Quiet, UI-less, spilling under scratch, and executors on this interpreter; the job's settings win."""
        python = self.settings.get("spark.pyspark.python", sys.executable)
        self._local_dir = tempfile.mkdtemp(prefix="spark_", dir=self.scratch if os.path.isdir(self.scratch) else None)
        log_conf = os.path.join(self._local_dir, "log4j2.properties")
        with open(log_conf, "w", encoding="utf-8") as handle:
            handle.write(_LOG4J2)
        # java.io.tmpdir is Spark's default local dir: setting spark.local.dir instead draws a warning
        java_options = f"-Dlog4j2.configurationFile=file:{log_conf} -Djava.io.tmpdir={self._local_dir}"
        settings = {
            "spark.pyspark.python": python,
            # a task needs no web UI, and port 4040 upwards is shared by every task on the machine
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
        }
        settings.update(self.settings)
        extra = settings.get("spark.driver.extraJavaOptions", "")
        settings["spark.driver.extraJavaOptions"] = f"{JIT_OPTIONS} {java_options} {extra}".strip()
        extra = settings.get("spark.executor.extraJavaOptions", "")
        settings["spark.executor.extraJavaOptions"] = f"{JIT_OPTIONS} {extra}".strip()
        return settings


# The JVMs of a task only schedule Python work and move pickled results (the kernels and the
# Parquet I/O run in Python workers), so the client compiler alone serves them: a driver then
# starts several times faster on a busy machine (seen: 4 s against 9-37 s at load 20). A job's own
# extraJavaOptions come later on the command line and win (e.g. -XX:TieredStopAtLevel=4).
JIT_OPTIONS = "-XX:TieredStopAtLevel=1"


@contextlib.contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``variables`` set, as it was again afterwards."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _raise_worker_error(error: tuple[Exception | None, str, str], index: int) -> None:
    """Raise the executor's exception again (its type kept), or an EngineError when it could not travel."""
    exc, summary, text = error
    if exc is None:
        raise EngineError(f"item {index} failed on a Spark executor: {summary}") from WorkerTraceback(text)
    raise exc from WorkerTraceback(text)
