"""The one thing a computing engine does: run a picklable function over a list of items, in parallel.

Everything a component asks of a partitioned table (``fate_flow.computing.table``) is built
on ``Engine.run``: each item is the recipe of one partition, the function evaluates it in a
worker (a process of the local pool, a Spark executor) and returns a small result or the
location of a partition it wrote under ``scratch``. So an engine never sees rows, and two
engines give the same answers as long as they run the same functions on the same items.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

LOCAL = "local"
SPARK = "spark"
ENGINES = (LOCAL, SPARK)


class EngineError(RuntimeError):
    """An engine could not be started or could not run a job; the message says what to install or fix."""


@dataclass(frozen=True)
class ComputingConf:
    """How a task computes: which engine, how many partitions and worker cores, and Spark's settings.

    Built from the job's ``job_parameters`` (``backend``, ``computing_partitions``, ``task_cores``,
    ``spark_run``) over the server's ``computing`` section; written into the task's config.
    """

    engine: str = LOCAL
    partitions: int = 1
    cores: int = 1
    # where partitions spill (a directory the workers can read and write: local path or URI)
    scratch: str = ""
    # spark: master URL and session conf (spark.* keys), FATE 1.5's spark_run merged in
    spark_master: str = "local[*]"
    spark_conf: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"engine": self.engine, "partitions": self.partitions, "cores": self.cores, "scratch": self.scratch,
                "spark_master": self.spark_master, "spark_conf": dict(self.spark_conf)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "ComputingConf":
        data = data or {}
        known = {"engine", "partitions", "cores", "scratch", "spark_master", "spark_conf"}
        return cls(**{k: v for k, v in data.items() if k in known})


def conf_for_job(job_parameters: dict, defaults: Any, scratch: str) -> ComputingConf:
    """The ComputingConf of a job's task: FATE's job_parameters over the server's ``computing`` settings.

    ``backend`` 1 is Spark, 0 the local engine; absent, the server's engine. ``spark_run``
    (FATE 1.5) adds spark.* settings to the session; ``computing_partitions`` and ``task_cores``
    replace the server's partitions and cores.
    """
    backend = job_parameters.get("backend")
    engine = {0: LOCAL, 1: SPARK}.get(backend, defaults.engine) if backend is not None else defaults.engine
    spark_conf = {**dict(defaults.spark_conf), **{str(k): v for k, v in (job_parameters.get("spark_run") or {}).items()}}
    return ComputingConf(engine=engine, partitions=int(job_parameters.get("computing_partitions") or defaults.partitions),
                         cores=int(job_parameters.get("task_cores") or defaults.cores), scratch=scratch,
                         spark_master=str(spark_conf.pop("master", defaults.spark_master)), spark_conf=spark_conf)


_in_worker = False


def mark_worker() -> None:
    """Called by an engine in each worker before it runs a job (pool worker, Spark executor)."""
    global _in_worker
    _in_worker = True


def in_worker() -> bool:
    """True inside an engine's worker: kernels there should not start pools of their own (the
    engine already spreads partitions over the cores); False in the task process, inline runs too."""
    return _in_worker


SPARK_INSTALL_HINT = ("the Spark engine (job_parameters.backend 1, or computing.engine spark in service_conf.yaml) "
                      "needs pyspark and Java 17: pip install -e '.[spark]'")


def spark_installed() -> bool:
    """True when pyspark can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("pyspark") is not None


class Engine(abc.ABC):
    """Runs functions over items on workers; ``scratch`` is where workers spill partitions."""

    name = ""

    def __init__(self, scratch: str, parallelism: int) -> None:
        self.scratch = scratch
        self.parallelism = max(1, int(parallelism))

    @abc.abstractmethod
    def run(self, function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[function(item) for item in items]``, computed on the workers, results in item order.

        ``function`` and the items must pickle (module-level functions, partials of them, or
        cloudpickled closures); the results too. An exception raised by ``function`` is raised
        here (the first one by item order), with its type when the engine can keep it.
        """

    def close(self) -> None:
        """Stop the workers (idempotent)."""

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
