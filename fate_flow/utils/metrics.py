"""The server's Prometheus metrics: every family is declared here, and the owner of each event calls one
function below (the scheduler for task starts, ends and its loop, the app for HTTP answers, the
table catalogue for uploads, the party side of jobs for federation bytes, serving for inference).

Counts that the database already holds (jobs by status, the queue) are read when scraped instead
of kept in step by hand. Under gunicorn, workers and the scheduler process are separate processes:
``conf/gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` (in the work dir) before any of them
imports prometheus_client, each process writes its values there, and a scrape sums them
(prometheus_client's multiprocess mode). The families are made on first use, not at import, so
importing this module opens no file. Task processes record nothing: their starts and ends are
seen by the scheduler, and what they send they report at their end.
"""
from __future__ import annotations

import functools
import logging
import os
import threading
from typing import Callable, Iterable

logger = logging.getLogger("fate_flow.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "fate_flow_"
# task runs go from seconds (toy, upload) to hours (SecureBoost on big data)
TASK_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600)
# an online inference answers in milliseconds; a host round trip adds tens
INFERENCE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class _Families:
    """The metric objects of this process, made once (see ``_families``)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.task_starts = Counter(PREFIX + "task_starts", "Task processes started, by component module",
                                   ["module"])
        self.task_ends = Counter(PREFIX + "task_ends", "Task processes ended, by component module and final status",
                                 ["module", "status"])
        self.task_duration = Histogram(PREFIX + "task_duration_seconds", "Run time of task processes, start to exit",
                                       ["module"], buckets=TASK_BUCKETS)
        # the newest value of the (one) scheduler process; a dead process's value is dropped
        self.loop_lag = Gauge(PREFIX + "scheduler_loop_lag_seconds", "How late the scheduler's periodic pass ran "
                              "after it was due (its previous pass included)", multiprocess_mode="livemax")
        self.loop_pass = Histogram(PREFIX + "scheduler_pass_seconds", "Duration of one scheduler pass")
        self.http_requests = Counter(PREFIX + "http_requests", "HTTP requests answered, by route, method and retcode",
                                     ["route", "method", "retcode"])
        self.federation_bytes = Counter(PREFIX + "federation_sent_bytes", "Bytes of federation messages this "
                                        "party's tasks sent, by backend", ["backend"])
        self.upload_rows = Counter(PREFIX + "upload_rows", "Rows read from uploaded files into tables")
        self.inference_latency = Histogram(PREFIX + "inference_latency_seconds", "Online inference latency of a "
                                           "request (single or batch), by service id", ["service_id"],
                                           buckets=INFERENCE_BUCKETS)


_made: list[_Families] = []
_making = threading.Lock()


def _families() -> _Families:
    """This process's families, made by the first caller (HTTP threads and the scheduler race for it)."""
    if not _made:
        with _making:
            if not _made:
                _made.append(_Families())
    return _made[0]


def _never_raises(record: Callable) -> Callable:
    """Recording a metric must not break what it measures (a scheduler pass, an answer): log instead."""
    @functools.wraps(record)
    def safe(*args, **kwargs) -> None:
        try:
            record(*args, **kwargs)
        except Exception:
            logger.exception("recording metric %s failed", record.__name__)
    return safe


@_never_raises
def task_started(module: str) -> None:
    """A task process was started for a component of ``module`` (e.g. HeteroLR)."""
    _families().task_starts.labels(module or "unknown").inc()


@_never_raises
def task_ended(module: str, status: str, seconds: float) -> None:
    """A task process ended ``seconds`` after its start; ``status`` is the task's final status."""
    families = _families()
    families.task_ends.labels(module or "unknown", status or "unknown").inc()
    families.task_duration.labels(module or "unknown").observe(max(seconds, 0.0))


@_never_raises
def scheduler_pass(seconds: float, lag: float | None) -> None:
    """One scheduler pass took ``seconds``; ``lag``: how late its periodic chores ran (None: not due)."""
    families = _families()
    families.loop_pass.observe(max(seconds, 0.0))
    if lag is not None:
        families.loop_lag.set(max(lag, 0.0))


@_never_raises
def http_answered(route: str, method: str, retcode: str) -> None:
    """An HTTP answer of ``route`` (the rule, e.g. /v1/job/query, never the raw path) with ``retcode``."""
    _families().http_requests.labels(route, method, retcode).inc()


@_never_raises
def federation_sent(backend: str, nbytes: int) -> None:
    """A task sent ``nbytes`` of encoded federation messages through ``backend``."""
    if nbytes > 0:
        _families().federation_bytes.labels(backend or "unknown").inc(nbytes)


@_never_raises
def upload_rows(rows: int) -> None:
    """An upload put ``rows`` rows into a table."""
    if rows > 0:
        _families().upload_rows.inc(rows)


@_never_raises
def inference_observed(service_id: str, seconds: float) -> None:
    """An online inference request of ``service_id`` was answered in ``seconds``."""
    _families().inference_latency.labels(service_id).observe(max(seconds, 0.0))


def is_multiprocess() -> bool:
    """True when the values of several processes are summed from PROMETHEUS_MULTIPROC_DIR (gunicorn)."""
    return bool(os.environ.get(MULTIPROC_ENV))


def exposition(read_now: Iterable[Callable[[], Iterable]] = ()) -> bytes:
    """The text format of every family, plus those ``read_now`` makes at scrape time.

    Args:
        read_now: callables returning prometheus_client metric families (e.g. a GaugeMetricFamily
            of jobs by status read from the database).
    """
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

    families = _families()  # every family shows from the first scrape on
    if is_multiprocess():
        from prometheus_client import multiprocess

        collected = list(multiprocess.MultiProcessCollector(None).collect())
        seen = {family.name for family in collected}
        # a family no process has written yet is still declared (with no samples), as in one process
        collected += [m for metric in vars(families).values() for m in metric.describe() if m.name not in seen]
        registry = CollectorRegistry()
        registry.register(_Collector(lambda: collected))
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    scraped = CollectorRegistry()
    for collect in read_now:
        scraped.register(_Collector(collect))
    return text + generate_latest(scraped)


class _Collector:
    """A prometheus_client collector over a callable that returns metric families."""

    def __init__(self, collect: Callable[[], Iterable]) -> None:
        self._collect = collect

    def collect(self) -> Iterable:
        return self._collect()

    def describe(self) -> list:
        return []  # not asked at registration: the families are only known when read


def prepare_multiprocess_dir(path: str) -> None:
    """Empty ``path`` (or make it) for a server's start, so counters begin at 0 with the server.

    Only files prometheus_client writes (``*.db``) are removed.
    """
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def process_gone(pid: int) -> None:
    """Drop the live gauges of a dead process (a gunicorn worker that exited)."""
    if is_multiprocess():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
