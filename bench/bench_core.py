#!/usr/bin/env python3
"""Core scheduler benchmark: toy example, submit latency, task launch, gaps, server RSS.

Run from the repository root::

    python bench/bench_core.py [--runs 5] [--keep] [--json FILE] [--env KEY=VALUE ...]

It starts a real server (``tests.flow_server.FlowServer``: free port, temporary work dir,
SQLite) and measures, from the timestamps the server stores and from the client:

1. toy example: initiator job ``f_end_time - f_create_time``, N sequential runs;
2. submit latency: client wall time of ``POST /v1/job/submit`` (N runs) and one
   end-to-end ``fate_flow_client.py -f submit_job`` (interpreter start included);
3. task launch: ``f_start_time - f_create_time`` per task (row created by the dispatch ->
   process launched), and process launch -> first line of the task's INFO.log
   (interpreter start + imports + logging setup + the "running" report);
4. gap between components of a 3-component chain: next component's first task
   ``f_start_time`` minus previous component's last task ``f_end_time``;
5. server RSS (psutil) right after start and after all runs;
6. the machine and the date.

All server timestamps are epoch milliseconds written by the server or the task on this
same machine, so they compare directly with the client's ``time.time()``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import requests  # noqa: E402

from machine import load_average, machine  # noqa: E402
from tests.flow_server import FlowServer, wait_until  # noqa: E402

TOY = ROOT / "examples" / "toy_example"
FINISHED = ("success", "failed", "canceled", "timeout")
LOG_TIME_FORMAT = "%Y-%m-%d %H:%M:%S,%f"


# ---------------------------------------------------------------- jobs

def toy_job() -> tuple[dict, dict]:
    dsl = json.loads((TOY / "toy_example_dsl.json").read_text())
    conf = json.loads((TOY / "toy_example_conf.json").read_text())
    return dsl, conf


def chain_job(length: int = 3) -> tuple[dict, dict]:
    """``length`` TestSleep components (0 s), each reading the previous one's data output."""
    components = {}
    for i in range(length):
        component: dict = {"module": "TestSleep", "output": {"data": ["data"]}}
        if i:
            component["input"] = {"data": {"data": [f"test_sleep_{i - 1}.data"]}}
        components[f"test_sleep_{i}"] = component
    conf = {"initiator": {"role": "guest", "party_id": 10000},
            "job_parameters": {"work_mode": 0},
            "role": {"guest": [10000], "host": [10000]},
            "algorithm_parameters": {f"test_sleep_{i}": {"seconds": 0} for i in range(length)}}
    return {"components": components}, conf


# ---------------------------------------------------------------- helpers

def stats(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (f"median {statistics.median(values):8.1f}  min {min(values):8.1f}  max {max(values):8.1f}"
            f"  (n={len(values)})")


def rss_mb(pid: int) -> tuple[float, float]:
    """RSS of the process, and of the process plus all its descendants, in MB."""
    proc = psutil.Process(pid)
    own = proc.memory_info().rss
    total = own
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return own / 2**20, total / 2**20


def wait_job(server: FlowServer, job_id: str, timeout: float = 60) -> dict:
    # 0.1 s polling: the figures come from stored timestamps, so polling only has to be
    # light enough not to disturb the server on a 2-core machine.
    return wait_until(lambda: (lambda j: j if j["f_status"] in FINISHED else None)(server.job(job_id)),
                      timeout, interval=0.1, what=f"job {job_id} finished")


def wait_processes_gone(tasks: list[dict], timeout: float = 10) -> None:
    """Wait for the task processes to exit, so the next run starts on a quiet machine."""
    deadline = time.monotonic() + timeout
    for task in tasks:
        pid = task.get("f_run_pid")
        if not pid:
            continue
        try:
            proc = psutil.Process(pid)
            proc.wait(max(0.0, deadline - time.monotonic()))
        except (psutil.NoSuchProcess, psutil.TimeoutExpired):
            pass


def task_log_dir(server: FlowServer, task: dict) -> Path:
    return (server.work_dir / "logs" / task["f_job_id"] / task["f_role"] / str(task["f_party_id"])
            / task["f_component_name"])


def first_log_ms(path: Path) -> int | None:
    """Epoch ms of the first line of a FATE-format log (``[LEVEL] [2024-01-02 03:04:05,678] ...``)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            line = fh.readline()
    except OSError:
        return None
    try:
        stamp = line.split("] [", 1)[1].split("]", 1)[0]
        return int(dt.datetime.strptime(stamp, LOG_TIME_FORMAT).timestamp() * 1000)
    except (IndexError, ValueError):
        return None


def run_job(server: FlowServer, dsl: dict, conf: dict) -> dict:
    """Submit through the API (timing the POST), wait for the end, return rows and timings."""
    t0 = time.time()
    answer = requests.post(server.url + "/v1/job/submit", json={"job_dsl": dsl, "job_runtime_conf": conf},
                           timeout=30).json()
    t1 = time.time()
    assert answer["retcode"] == 0, answer
    job_id = answer["jobId"]
    job = wait_job(server, job_id)
    assert job["f_status"] == "success", (job["f_status"], job.get("f_status_reason"))
    tasks = server.tasks(job_id)
    wait_processes_gone(tasks)
    launch, main_start, boot = launch_figures(server, tasks)
    logs = [first_log_ms(task_log_dir(server, t) / "INFO.log") for t in tasks]
    first_running = min((x for x in logs if x), default=None)
    return {"first_running": first_running, "job_id": job_id, "submit_t0": t0 * 1000, "submit_ms": (t1 - t0) * 1000, "job": job, "tasks": tasks,
            "launch": launch, "main_start": main_start, "boot": boot}


def launch_figures(server: FlowServer, tasks: list[dict]) -> tuple[list[float], list[float], list[float]]:
    """Per task: launch (f_start_time - f_create_time) and launch -> first INFO.log line.

    ``f_start_time`` is the launcher's (set right after Popen), so the second figure is
    interpreter start + imports + config and logging setup. (The middle list is kept
    empty for the callers' shape.)
    """
    launch, main_start, boot = [], [], []
    for task in tasks:
        if task.get("f_start_time") and task.get("f_create_time"):
            launch.append(task["f_start_time"] - task["f_create_time"])
        first = first_log_ms(task_log_dir(server, task) / "INFO.log")
        if first and task.get("f_start_time"):
            boot.append(first - task["f_start_time"])
    return launch, main_start, boot


def component_gaps(tasks: list[dict], order: list[str]) -> tuple[list[float], list[float], list[float]]:
    """For each link of the chain: total gap, end -> next task row created, row -> launched."""
    by_component: dict[str, list[dict]] = {}
    for task in tasks:
        by_component.setdefault(task["f_component_name"], []).append(task)
    gaps, dispatch, launch = [], [], []
    for prev, nxt in zip(order, order[1:]):
        prev_end = max(t["f_end_time"] for t in by_component[prev])
        next_start = min(t["f_start_time"] for t in by_component[nxt])
        next_created = min(t["f_create_time"] for t in by_component[nxt])
        gaps.append(next_start - prev_end)
        dispatch.append(next_created - prev_end)
        launch.append(next_start - next_created)
    return gaps, dispatch, launch


def cli_submit(server: FlowServer, dsl: dict, conf: dict, tmp: Path) -> tuple[float, str]:
    """``fate_flow_client.py -f submit_job`` end to end (new interpreter); return (ms, job id)."""
    dsl_path, conf_path = tmp / "cli_dsl.json", tmp / "cli_conf.json"
    dsl_path.write_text(json.dumps(dsl))
    conf_path.write_text(json.dumps(conf))
    t0 = time.perf_counter()
    answer = server.client("-f", "submit_job", "-d", str(dsl_path), "-c", str(conf_path))
    elapsed = (time.perf_counter() - t0) * 1000
    assert answer.get("retcode") == 0, answer
    return elapsed, answer["jobId"]


def bare_interpreter_ms(runs: int) -> list[float]:
    """Wall time of ``python -c pass`` (same interpreter as the tasks), for comparison."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        out.append((time.perf_counter() - t0) * 1000)
    return out


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each job kind (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir and print its path")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures to FILE")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment of the server (and so of its tasks), e.g. "
                             "OPENBLAS_NUM_THREADS=1; repeatable")
    args = parser.parse_args(argv)
    extra_env = dict(item.split("=", 1) for item in args.env)

    info = machine()
    print("== FATE-Flow core benchmark ==")
    print(f"date      {info['date']}")
    print(f"machine   {info['cpu']}, {info['cores']} cores, {info['platform']}")
    print(f"python    {info['python']} ({sys.executable})")
    print(f"code      {info['code']}")
    print(f"load      {load_average()} (1/5/15 min) before the run; other work on the machine skews every figure")
    print(f"runs      {args.runs} per job kind, sequential (+1 warm-up toy run); server: werkzeug threaded, SQLite")
    if extra_env:
        print(f"env       {' '.join(f'{k}={v}' for k, v in extra_env.items())}")
    print()

    tmp = Path(tempfile.mkdtemp(prefix="ff_bench_"))
    server = FlowServer(tmp / "work", env=extra_env)
    raw: dict = {"machine": info, "env": extra_env}
    try:
        t_start = time.perf_counter()
        server.start()
        start_s = time.perf_counter() - t_start
        time.sleep(1.0)  # let start-up work (recovery, first scheduler pass) settle
        rss_start = rss_mb(server.proc.pid)

        # warm-up: the first job pays one-off costs (table pages, first imports in the server)
        dsl, conf = toy_job()
        run_job(server, dsl, conf)

        toy = [run_job(server, dsl, conf) for _ in range(args.runs)]
        cli_ms, cli_job = cli_submit(server, dsl, conf, tmp)
        wait_job(server, cli_job)
        wait_processes_gone(server.tasks(cli_job))

        chain_dsl, chain_conf = chain_job(3)
        chains = [run_job(server, chain_dsl, chain_conf) for _ in range(args.runs)]

        time.sleep(1.0)
        rss_end = rss_mb(server.proc.pid)
        bare = bare_interpreter_ms(args.runs)
    finally:
        server.stop()
        if args.keep:
            print(f"work dir kept: {tmp}")
        else:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)

    # ---- figures
    toy_total = [r["job"]["f_end_time"] - r["job"]["f_create_time"] for r in toy]
    toy_admit = [r["job"]["f_start_time"] - r["job"]["f_create_time"] for r in toy]
    toy_first_task = [min(t["f_start_time"] for t in r["tasks"]) - r["submit_t0"] for r in toy]
    toy_first_running = [r["first_running"] - r["submit_t0"] for r in toy if r["first_running"]]
    toy_tasks_end = [r["job"]["f_end_time"] - max(t["f_end_time"] for t in r["tasks"]) for r in toy]
    toy_task_run = [t["f_end_time"] - t["f_start_time"] for r in toy for t in r["tasks"]]
    submit = [r["submit_ms"] for r in toy + chains]
    launch, main_start, boot = [], [], []
    for r in toy + chains:
        launch += r["launch"]
        main_start += r["main_start"]
        boot += r["boot"]
    order = [f"test_sleep_{i}" for i in range(3)]
    gaps, dispatch, glaunch = [], [], []
    for r in chains:
        g, d, l = component_gaps(r["tasks"], order)
        gaps += g
        dispatch += d
        glaunch += l
    chain_total = [r["job"]["f_end_time"] - r["job"]["f_create_time"] for r in chains]

    print("1. toy example (SecureAddExample, guest + host), job create -> end, ms")
    print(f"   f_end_time - f_create_time      {stats(toy_total)}")
    print(f"     create -> admitted (running)  {stats(toy_admit)}")
    print(f"     submit sent -> 1st task start {stats(toy_first_task)}")
    print(f"     submit sent -> 1st task log   {stats(toy_first_running)}")
    print("       (first INFO.log line: the executor is up, imports and log setup done)")
    print(f"     task start -> task end        {stats(toy_task_run)}")
    print(f"     last task end -> job end      {stats(toy_tasks_end)}")
    print()
    print("2. submit latency, ms")
    print(f"   POST /v1/job/submit (client)    {stats(submit)}")
    print(f"   fate_flow_client.py -f submit_job, end to end (new interpreter): {cli_ms:.1f} ms (1 run)")
    print()
    print("3. task launch overhead, ms (all tasks of the runs above)")
    print(f"   task row created -> launched    {stats(launch)}")
    print(f"   launched -> first INFO.log line {stats(boot)}")
    print("     (the same + the 'running' report, sent only when the initiator is another server)")
    print(f"   bare 'python -c pass'           {stats(bare)}")
    print()
    print("4. gap between chained components (3 x TestSleep 0 s, guest + host), ms")
    print(f"   prev last end -> next 1st start {stats(gaps)}")
    print(f"     prev end -> next task row     {stats(dispatch)}")
    print(f"     next task row -> launched     {stats(glaunch)}")
    print(f"   chain job create -> end         {stats(chain_total)}")
    print()
    print("5. server RSS, MB (server process / with children)")
    print(f"   after start (idle)              {rss_start[0]:.1f} / {rss_start[1]:.1f}")
    print(f"   after all runs (idle)           {rss_end[0]:.1f} / {rss_end[1]:.1f}")
    print(f"   server start -> answering       {start_s * 1000:.0f} ms")
    print()
    print(f"6. machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, {info['date']}, "
          f"code {info['code']}, load after the run {load_average()}")

    if args.json:
        raw.update(toy_total=toy_total, toy_admit=toy_admit, toy_first_task=toy_first_task, toy_first_running=toy_first_running,
                   toy_task_run=toy_task_run, toy_tasks_end=toy_tasks_end, submit=submit, cli_submit=cli_ms,
                   launch=launch, main_start=main_start, boot=boot, bare=bare, gaps=gaps, gap_dispatch=dispatch, gap_launch=glaunch,
                   chain_total=chain_total, rss_start=rss_start, rss_end=rss_end, server_start_ms=start_s * 1000)
        Path(args.json).write_text(json.dumps(raw, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
