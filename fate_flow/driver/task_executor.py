"""Entry of a task subprocess: run one component for one party and report the result.

``python -m fate_flow.driver.task_executor -j JOB -n COMPONENT -t TASK -r ROLE -p PARTY
-c task_config.json --job_server HOST:PORT``

It stays light (no flask, peewee or requests) so that it starts fast. It reports its
status to its own party's server and to the initiator's server over HTTP, and writes
FATE's log layout under logs/<job>/<role>/<party>/<component>/.

The launcher usually starts a task by having the task forker (``task_forker``) fork it: the forker
has imported what tasks need, and the fork calls ``main`` with the task's argv, environment and log.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from fate_flow.driver.watchdog import exit_when_orphaned
from fate_flow.utils.http import post_json
from fate_flow.utils.log import setup_task_logging
from fate_flow.utils.peak_memory import PeakMemory

logger = logging.getLogger("fate_flow.task_executor")
# seconds between two progress reports of a task, whatever the component's pace
PROGRESS_INTERVAL = 0.5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The task's command line, as the launcher writes it."""
    parser = argparse.ArgumentParser(description="run one FATE-Flow task")
    parser.add_argument("-j", "--job_id", required=True)
    parser.add_argument("-n", "--component_name", required=True)
    parser.add_argument("-t", "--task_id", required=True)
    parser.add_argument("-r", "--role", required=True)
    parser.add_argument("-p", "--party_id", required=True)
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("--job_server", required=True)
    parser.add_argument("--processors_per_node", type=int, default=0)
    return parser.parse_args(argv)


class StatusReporter:
    """Sends task status to this party's server and the initiator's (each address once)."""

    def __init__(self, args: argparse.Namespace, config: dict) -> None:
        self.path = (f"/v1/schedule/{args.job_id}/{args.component_name}/{args.task_id}/"
                     f"{args.role}/{args.party_id}/status")
        self.addresses = list(dict.fromkeys([args.job_server, config.get("initiator_server") or args.job_server]))
        self.own = args.job_server
        self.federation_sent_bytes = 0

    def report(self, fields: dict[str, Any], skip_own: bool = False) -> None:
        """Send ``fields``; ``skip_own`` when the launcher already recorded them here."""
        for address in self.addresses:
            if skip_own and address == self.own:
                continue
            body = dict(fields, f_run_ip=self.own)
            for attempt in range(3):
                try:
                    post_json(address, self.path, body, timeout=30)
                    break
                except (OSError, ValueError) as exc:
                    logger.warning("status report to %s failed (attempt %s): %s", address, attempt + 1, exc)
                    time.sleep(0.2 * (attempt + 1))

    def report_progress(self, percent: int) -> None:
        """Send the task's progress once to each server; a lost one is only logged (the next one counts)."""
        for address in self.addresses:
            try:
                post_json(address, self.path, {"f_progress": percent}, timeout=10)
            except (OSError, ValueError) as exc:
                logger.warning("progress report to %s failed: %s", address, exc)


class HttpTracker:
    """Component metrics, sent as JSON to this party's own server; progress to it and the initiator's.

    Metric writes are queued and sent by one background thread, everything queued so far in one
    request (``metric/batch_save``, in order): a component logging a metric per iteration does not
    wait on the server, and twenty metrics cost one or two requests, not twenty. ``flush`` waits for
    the queue to be stored and raises the first failure; the executor flushes when the component ends.

    A component may report progress as often as it likes (once per iteration): a report is
    sent only when the percentage grew and ``progress_interval`` seconds have passed since the
    last one, so a fast loop costs a comparison per iteration, not a request.
    """

    def __init__(self, args: argparse.Namespace, reporter: StatusReporter,
                 progress_interval: float = PROGRESS_INTERVAL) -> None:
        self.address = args.job_server
        self.prefix = (f"/v1/tracking/{args.job_id}/{args.component_name}/{args.task_id}/"
                       f"{args.role}/{args.party_id}")
        self.reporter = reporter
        self.progress_interval = progress_interval
        self._progress_sent, self._progress_sent_at = 0, float("-inf")
        self._queue: list[dict] = []
        self._sending = False
        self._failure: Exception | None = None
        self._changed = threading.Condition()
        self._sender: threading.Thread | None = None
        self.requests_sent = 0

    def log_metric_data(self, namespace: str, name: str, data: list) -> None:
        """Append metric data points at this party's server."""
        self._enqueue({"metric_namespace": namespace, "metric_name": name, "metrics": [list(p) for p in data]})

    def set_metric_meta(self, namespace: str, name: str, meta: dict) -> None:
        """Set a metric's meta at this party's server."""
        self._enqueue({"metric_namespace": namespace, "metric_name": name, "metric_meta": meta})

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until every queued metric is stored; raise the first failure to store one."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (self._queue or self._sending) and self._failure is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"metrics not stored at {self.address} after {timeout:.0f} s")
                self._changed.wait(left)
            if self._failure is not None:
                raise self._failure

    def _enqueue(self, entry: dict) -> None:
        json.dumps(entry)  # a value JSON cannot carry fails here, in the component's own call
        with self._changed:
            if self._failure is not None:
                raise self._failure
            self._queue.append(entry)
            if self._sender is None:
                self._sender = threading.Thread(target=self._send_loop, name="metric-sender", daemon=True)
                self._sender.start()
            self._changed.notify_all()

    def _send_loop(self) -> None:
        while True:
            with self._changed:
                while not self._queue:
                    self._changed.wait()
                batch, self._queue, self._sending = self._queue, [], True
            try:
                self.requests_sent += 1
                answer = post_json(self.address, self.prefix + "/metric/batch_save", {"entries": batch})
                if answer.get("retcode") != 0:
                    raise RuntimeError(f"metrics not stored: {answer.get('retmsg')}")
            except Exception as exc:  # noqa: BLE001 - handed to the component's next call or to flush
                with self._changed:
                    self._failure, self._sending = exc, False
                    self._changed.notify_all()
                return
            with self._changed:
                self._sending = False
                self._changed.notify_all()

    def set_progress(self, percent: float) -> None:
        """Report how far this task got (0-100); the scheduler counts it in the job's progress."""
        percent = max(0, min(100, int(percent)))
        now = time.monotonic()
        if percent <= self._progress_sent or now - self._progress_sent_at < self.progress_interval:
            return
        self._progress_sent, self._progress_sent_at = percent, now
        self.reporter.report_progress(percent)

    def record_table(self, body: dict) -> None:
        """Tell this party's server about a committed output table (catalogue, data view); raise if it refuses."""
        answer = post_json(self.address, self.prefix + "/output/table", body, timeout=120)
        if answer.get("retcode") != 0:
            raise RuntimeError(f"the output table was not recorded: {answer.get('retmsg')}")


def run_component(args: argparse.Namespace, config: dict, reporter: StatusReporter) -> None:
    """Build the component from the registry and run it with a federation handle."""
    from fate_flow.components import ComponentContext, get_spec
    from fate_flow.driver.task_io import open_storage, resolve_inputs, resolve_models, save_output_model
    from fate_flow.federation import create_federation, task_session

    tracker = HttpTracker(args, reporter)
    spec = get_spec(config["module_name"])
    params = spec.param_type()().update(config["component_parameters"].get(spec.param_name(), {}))
    params.check()
    component = spec.program(args.role)(params)
    federation = create_federation(*task_session(config))
    computing = computing_conf(config)
    ctx = ComponentContext(job_id=args.job_id, task_id=args.task_id, component_name=args.component_name,
                           role=args.role, party_id=int(args.party_id), roles=config["roles"],
                           federation=federation, tracker=tracker,
                           logger=logging.getLogger(f"fate_flow.component.{args.component_name}"),
                           storage_opener=lambda: open_storage(config["storage"]["engine"],
                                                               Path(config["storage"]["root"])),
                           computing_opener=lambda: open_computing(computing),
                           **({"id_cache_redis": config["id_cache_redis"]} if "id_cache_redis" in config else {}))
    inputs = {"data": {}}
    try:
        inputs = resolve_inputs(ctx, config)
        inputs.update(resolve_models(config))
        logger.info("running %s", config["module_name"])
        try:
            output = component.run(ctx, inputs)
        except BaseException:
            _flush_metrics(tracker, quiet=True)
            raise
        _flush_metrics(tracker, quiet=False)
        save_output_model(config, output.model)
        _record_output(ctx, tracker, config, output)
    finally:
        reporter.federation_sent_bytes = federation.bytes_sent  # in the end report, for the server's metrics
        federation.close()
        _close_inputs(inputs)
        ctx.close_computing()


def _flush_metrics(tracker: HttpTracker, quiet: bool) -> None:
    """Store the component's queued metrics; when it failed, a metrics failure is only logged (its own
    error is the one to report)."""
    try:
        tracker.flush()
    except Exception:  # noqa: BLE001
        if not quiet:
            raise
        logger.warning("the metrics of the failed component were not all stored", exc_info=True)


def computing_conf(config: dict):
    """The task's ComputingConf (jobs submitted before engines existed get the defaults)."""
    from fate_flow.computing.engine import ComputingConf

    return ComputingConf.from_dict(config.get("computing"))


def open_computing(conf):
    """Start the task's computing session and say in the log what it computes on."""
    from fate_flow.computing import create_session

    session = create_session(conf)
    logger.info("computing on the %s engine: %s partitions, %s cores%s", conf.engine, conf.partitions, conf.cores,
                f", master {conf.spark_master}" if conf.engine == "spark" else "")
    return session


def _record_output(ctx, tracker: "HttpTracker", config: dict, output) -> None:
    """Commit the output table here, in the task (the heavy part: duplicate checks, merges, under
    the storage's cross-process table lock), then have this party's server record it."""
    if isinstance(output.data, dict) and "writer" in output.data:  # an upload's staged table
        staged = output.data
        final = ctx.storage.commit(staged["writer"], staged["meta"], staged["mode"])
        logger.info("committed %s.%s (%s rows)", final.namespace, final.name, final.count)
        tracker.record_table({"meta": final.to_dict(), "upload_count": staged.get("upload_count")})
        return
    from fate_flow.driver.task_io import store_output

    meta = store_output(ctx, config, output.data)
    if meta is not None:
        model = config["model"] if output.model else {}
        tracker.record_table({"meta": meta, "party_model_id": model.get("party_model_id"),
                              "model_version": model.get("model_version")})


def _close_inputs(inputs: dict) -> None:
    for tables in inputs["data"].values():
        for table in tables if isinstance(tables, list) else [tables]:
            if table is not None:
                table.close()


def main(argv: list[str] | None = None) -> int:
    """Run one task: log, report running, run the component, report the end; the exit code."""
    args = parse_args(argv)
    config = json.loads(Path(args.config).read_text(encoding="utf-8"))
    log_dir = Path(config["log_dir"])
    setup_task_logging(log_dir, log_dir.parent)
    reporter = StatusReporter(args, config)
    exit_when_orphaned()
    start = int(time.time() * 1000)
    reporter.report({"f_status": "running", "f_run_pid": os.getpid(), "f_start_time": start}, skip_own=True)
    logger.info("task %s of %s %s started, pid %s", args.task_id, args.role, args.party_id, os.getpid())
    status, reason = "success", ""
    memory = PeakMemory().start()
    try:
        run_component(args, config, reporter)
    except Exception as exc:
        status, reason = "failed", f"{type(exc).__name__}: {exc}"
        logger.exception("task failed")
    end = int(time.time() * 1000)
    peak = memory.stop()
    computing = computing_conf(config)
    logger.info("task ran on the %s engine with %s partitions; peak memory %.1f MB, CPU %.2f s (its workers "
                "included)", computing.engine, computing.partitions, peak / 2 ** 20, memory.cpu_seconds)
    reporter.report({"f_status": status, "f_status_reason": reason, "f_end_time": end, "f_engine": computing.engine,
                     "f_partitions": computing.partitions, "f_peak_memory": peak,
                     "federation_sent_bytes": reporter.federation_sent_bytes})
    print(f"finish {args.job_id} {args.component_name} {args.task_id} {args.role} {args.party_id} {status} task")
    logging.shutdown()
    return 0 if status == "success" else 1


def redirect_output(log_path: str) -> None:
    """Point stdout and stderr at the task's std.log and stdin at /dev/null, as for a task started afresh."""
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.dup2(null, 0)
    finally:
        os.close(log)
        os.close(null)


if __name__ == "__main__":
    sys.exit(main())
