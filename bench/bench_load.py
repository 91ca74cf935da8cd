#!/usr/bin/env python3
"""Load benchmark: N jobs submitted at once, queued FIFO, all succeed under ``max_concurrent_jobs``.

Run from the repository root::

    python bench/bench_load.py [--jobs 1000] [--limit 5] [--job toy|sleep] [--database-url URL]

It starts one real server (``tests.flow_server.FlowServer``: free port, temporary work dir,
SQLite unless ``--database-url``), submits every job from a pool of client threads as fast as
the server takes them, then waits until each one has ended. While it waits it samples the
server process's RSS. It checks, from the job and queue rows, that every job succeeded, that
jobs started in the order they were queued, and that no more than ``--limit`` ran at once,
and prints the submit time, the total time, jobs per minute and the server's RSS (start,
peak, end). ``--job toy`` is FATE's toy example (secure_add, guest and host); ``--job
sleep`` a one-component guest+host job of the test components that does nothing (the
scheduler's own cost), ``guest_sleep`` the same for the guest alone (one task per job).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import psutil  # noqa: E402
import requests  # noqa: E402

from machine import load_average, machine  # noqa: E402
from tests.flow_server import FlowServer, wait_until  # noqa: E402

TOY = ROOT / "examples" / "toy_example"
FINISHED = ("success", "failed", "canceled", "timeout")


def toy_job(data_num: int = 100) -> tuple[dict, dict]:
    """FATE's toy example (secure_add_example between guest and host), with fewer numbers to add."""
    dsl = json.loads((TOY / "toy_example_dsl.json").read_text())
    conf = json.loads((TOY / "toy_example_conf.json").read_text())
    conf["algorithm_parameters"]["secure_add_example_0"].update(data_num=data_num, partition=4)
    return dsl, conf


def sleep_job(with_host: bool = True) -> tuple[dict, dict]:
    """One TestSleep component of 0 s for guest 9999 (and host 10000)."""
    dsl = {"components": {"test_sleep_0": {"module": "TestSleep"}}}
    roles = {"guest": [9999], "host": [10000]} if with_host else {"guest": [9999]}
    conf = {"initiator": {"role": "guest", "party_id": 9999}, "role": roles,
            "job_parameters": {"work_mode": 0}, "algorithm_parameters": {"test_sleep_0": {"seconds": 0}}}
    return dsl, conf


def max_overlap(intervals: list[tuple[int, int]]) -> int:
    """The largest number of [start, end] intervals open at one instant."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    open_now = peak = 0
    for _, delta in events:
        open_now += delta
        peak = max(peak, open_now)
    return peak


class RssSampler:
    """Samples a process's RSS from a thread: ``peak`` and ``last`` in bytes."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = self.last = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.last = self.process.memory_info().rss
            except psutil.Error:
                return
            self.peak = max(self.peak, self.last)


def job_rows(server: FlowServer) -> tuple[dict[str, dict], dict[str, int]]:
    """Initiator job rows and queue order (t_queue id) straight from the server's database (read only)."""
    url = server.database_url
    jobs_sql = ("SELECT f_job_id, f_status, f_start_time, f_end_time, f_create_time FROM t_job "
                "WHERE f_is_initiator = 1")
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url[len("sqlite:///"):]) as conn:
            jobs, queue = conn.execute(jobs_sql).fetchall(), conn.execute("SELECT id, f_job_id FROM t_queue").fetchall()
    else:
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database=url.rsplit("/", 1)[1])
        try:
            with conn.cursor() as cur:
                cur.execute(jobs_sql)
                jobs = cur.fetchall()
                cur.execute("SELECT id, f_job_id FROM t_queue")
                queue = cur.fetchall()
        finally:
            conn.close()
    keys = ("f_job_id", "f_status", "f_start_time", "f_end_time", "f_create_time")
    return {row[0]: dict(zip(keys, row)) for row in jobs}, {job_id: row_id for row_id, job_id in queue}


def run_load(work_dir: Path, jobs: int, limit: int, job: str = "sleep", database_url: str | None = None,
             submitters: int = 8, timeout: float = 3600) -> dict[str, Any]:
    """Run the load on a fresh server; the figures and the checks' inputs (raises on a lost job)."""
    dsl, conf = {"toy": toy_job, "sleep": sleep_job, "guest_sleep": lambda: sleep_job(False)}[job]()
    server = FlowServer(work_dir, database_url=database_url,
                        conf={"scheduler": {"max_concurrent_jobs": limit, "detect_interval": 2}})
    try:
        server.start(timeout=120)
        rss_start = psutil.Process(server.proc.pid).memory_info().rss
        session = requests.Session()
        started = time.monotonic()
        body = {"job_dsl": dsl, "job_runtime_conf": conf}
        with RssSampler(server.proc.pid) as rss, ThreadPoolExecutor(submitters) as pool:
            answers = list(pool.map(lambda _: session.post(server.url + "/v1/job/submit", json=body,
                                                           timeout=120).json(), range(jobs)))
            submitted = time.monotonic() - started
            refused = [a for a in answers if a.get("retcode") != 0]
            if refused:
                raise AssertionError(f"{len(refused)} submits refused, first: {refused[0]}")
            job_ids = [a["jobId"] for a in answers]

            def all_ended():
                rows, _ = job_rows(server)
                return rows if all(rows.get(j, {}).get("f_status") in FINISHED for j in job_ids) else None

            rows = wait_until(all_ended, timeout, interval=1.0, what=f"{jobs} jobs to end")
            elapsed = time.monotonic() - started
        _, queue = job_rows(server)
        ended = [rows[j] for j in job_ids]
        by_start = sorted(ended, key=lambda r: (r["f_start_time"] or 0, queue[r["f_job_id"]]))
        return {
            "jobs": jobs, "limit": limit, "job": job, "database": server.database_url.split(":", 1)[0],
            "statuses": {s: sum(r["f_status"] == s for r in ended) for s in {r["f_status"] for r in ended}},
            "fifo": [r["f_job_id"] for r in by_start] == sorted(job_ids, key=queue.get),
            "max_running": max_overlap([(r["f_start_time"], r["f_end_time"]) for r in ended]),
            "submit_s": round(submitted, 1), "total_s": round(elapsed, 1),
            "jobs_per_min": round(60 * jobs / elapsed, 1),
            "rss_start_mb": round(rss_start / 2**20, 1), "rss_peak_mb": round(rss.peak / 2**20, 1),
            "rss_end_mb": round(rss.last / 2**20, 1),
        }
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=5, help="scheduler.max_concurrent_jobs")
    parser.add_argument("--job", choices=("toy", "sleep", "guest_sleep"), default="toy")
    parser.add_argument("--database-url", help="mysql://root@127.0.0.1:3306/<fresh name> (default: SQLite)")
    args = parser.parse_args()
    print(f"machine: {machine()}; load average before: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        figures = run_load(Path(tmp) / "server", args.jobs, args.limit, args.job, args.database_url)
        # before the work dir goes: removing a thousand jobs' logs takes a while
        print(f"load average after: {load_average()}")
        print(json.dumps(figures, indent=2), flush=True)
    ok = figures["statuses"] == {"success": args.jobs} and figures["fifo"] and figures["max_running"] <= args.limit
    print("checks:", "all jobs succeeded, FIFO, limit respected" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
