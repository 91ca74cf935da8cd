#!/usr/bin/env python3
"""Upload/download benchmark: CLI upload end to end, phases, peak RSS of server, task and client.

Run from the repository root::

    python bench/bench_upload.py [--rows 100000,1000000,5000000] [--keep] [--json FILE]

For each size it generates a CSV (``id,x0..x29``, 30 random floats with 6 decimals,
fixed seed) in a temporary directory, then, on one real server
(``tests.flow_server.FlowServer``: free port, temporary work dir, SQLite):

1. uploads it with ``fate_flow_client.py -f upload -c conf.json`` (the client streams the
   file as multipart) and measures the wall time from the client's start to the job's
   success (polled every 20 ms), plus the job's ``f_end_time - f_create_time``; the time is
   split into phases from the stored timestamps and the task's log; the table count must
   equal the rows;
2. downloads the table (``POST /v1/data/download``) to a file and checks it is the input
   without its header, byte for byte;
3. samples every 50 ms, in a background thread, the RSS of the server, of each task process
   under it (also its ``VmHWM``, so a peak between samples is caught) and of the client.

The disk is synced (``os.sync``) after generating a file and before each download, so that
dirty pages of an earlier step do not throttle the next one's writes. Sizes that would need
more than half the free disk space are skipped. Generated files and the server's work dir
are deleted at the end unless ``--keep``. The exit code is 1 if a table count or a
downloaded file is wrong (missed speed or memory targets are only reported).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from machine import load_average, machine  # noqa: E402
from tests.flow_server import FlowServer  # noqa: E402

FINISHED = ("success", "failed", "canceled", "timeout")
LOG_TIME_FORMAT = "%Y-%m-%d %H:%M:%S,%f"
COLUMNS = 30
GEN_CHUNK = 100_000
BYTES_PER_ROW = 8 + COLUMNS * 9  # upper bound for ids below 10**7: "1234567" + 30 x ",0.123456" + "\n"
DISK_FACTOR = 4  # input + copy received by the server + table (Parquet, ~0.7) + download output, rounded up
FATE_145 = {"rows": 100_000, "seconds": 3.86}  # from the issue: 100k rows x 30 floats, end to end
TARGET_ROWS_PER_S = 200_000
TARGET_TASK_RSS_MB = 300
SERVER_GROWTH_MB = 50  # "server memory must not grow with the file": more than this from smallest to largest fails
POLL_S = 0.02
SAMPLE_S = 0.05
MB = 2 ** 20


# ---------------------------------------------------------------- data

def write_csv(path: Path, rows: int, seed: int = 20240101) -> float:
    """Write the header and ``rows`` lines ``<id>,0.dddddd x 30``; return the seconds it took.

    Lines are built as byte matrices with numpy, 100k rows at a time (no per-row Python).
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    header = "id," + ",".join(f"x{i}" for i in range(COLUMNS)) + "\n"
    with open(path, "wb") as out:
        out.write(header.encode())
        for start in range(0, rows, GEN_CHUNK):
            n = min(GEN_CHUNK, rows - start)
            values = rng.integers(0, 1_000_000, size=(n, COLUMNS), dtype=np.int32)
            cells = np.empty((n, COLUMNS, 9), dtype=np.uint8)
            cells[:, :, 0], cells[:, :, 1], cells[:, :, 2] = ord(","), ord("0"), ord(".")
            for k in range(6):
                cells[:, :, 3 + k] = values // 10 ** (5 - k) % 10 + 48
            cells = cells.reshape(n, COLUMNS * 9)
            ids = np.arange(start, start + n, dtype=np.int64)
            widths = np.maximum(1, np.floor(np.log10(np.maximum(ids, 1))).astype(np.int64) + 1)
            for width in np.unique(widths):  # ids ascend, so each width is one contiguous run
                sel = np.flatnonzero(widths == width)
                lo, hi = sel[0], sel[-1] + 1
                digits = (ids[lo:hi, None] // 10 ** np.arange(width - 1, -1, -1) % 10 + 48).astype(np.uint8)
                newline = np.full((hi - lo, 1), 10, dtype=np.uint8)
                out.write(np.concatenate([digits, cells[lo:hi], newline], axis=1).tobytes())
    return time.perf_counter() - t0


def same_lines(upload: Path, download: Path) -> tuple[bool, int]:
    """Does ``download`` hold the upload file's lines without its header, each as many times? Also its line
    count. A table is read partition by partition (rows hash to partitions by id), so the lines come in
    partition order, not in the file's: compared as a multiset, by an order-free sum of line hashes."""
    def digest(path: Path, skip_header: bool) -> tuple[int, int, int]:
        total, mixed, lines = 0, 0, 0
        with open(path, "rb") as f:
            if skip_header:
                f.readline()
            for line in f:
                h = hash(line.rstrip(b"\n"))
                total = (total + h) & 0xFFFFFFFFFFFFFFFF
                mixed ^= h * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF
                lines += 1
        return total, mixed, lines

    wanted, got = digest(upload, True), digest(download, False)
    return wanted == got, got[2]


# ---------------------------------------------------------------- RSS sampler

def vm_hwm_bytes(pid: int) -> int:
    """Peak RSS (VmHWM) of a live process from /proc, 0 if gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class Sampler(threading.Thread):
    """Every ``interval`` s: RSS of the server, of every task process under it, and of the client.

    Figures go to the current ``phase`` (a label the main thread sets). For tasks and the
    client the peak is the max over samples of RSS and of VmHWM (the kernel's own peak,
    so a spike between two samples still counts). CPU seconds of each task are kept from
    its last sample.
    """

    def __init__(self, server_pid: int, interval: float = SAMPLE_S) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.server = psutil.Process(server_pid)
        self.interval = interval
        self.phase: str | None = None
        self.client_pid: int | None = None
        self.phases: dict[str, dict] = {}
        self.samples = 0
        self._procs: dict[int, psutil.Process] = {}
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def set_phase(self, phase: str | None) -> None:
        with self._lock:
            self.phase = phase
            if phase is not None:
                self.phases.setdefault(phase, {"server": 0, "server_samples": [], "tasks": {}, "client": 0,
                                               "task_cpu": {}})

    def stop(self) -> None:
        self._halt.set()
        self.join(5)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self._sample()
            except psutil.Error:
                pass
            self._halt.wait(self.interval)

    def _proc(self, pid: int) -> psutil.Process:
        proc = self._procs.get(pid)
        if proc is None:
            proc = self._procs[pid] = psutil.Process(pid)
        return proc

    def _sample(self) -> None:
        with self._lock:
            phase = self.phases.get(self.phase) if self.phase else None
            client_pid = self.client_pid
        if phase is None:
            return
        self.samples += 1
        server_rss = self.server.memory_info().rss
        phase["server"] = max(phase["server"], server_rss)
        phase["server_samples"].append(server_rss)
        for child in self.server.children(recursive=True):
            try:
                proc = self._proc(child.pid)
                cmd = proc.cmdline()
                if "fate_flow.driver.task_executor" not in cmd:
                    continue
                peak = max(proc.memory_info().rss, vm_hwm_bytes(child.pid))
                times = proc.cpu_times()
            except psutil.Error:
                continue
            phase["tasks"][child.pid] = max(phase["tasks"].get(child.pid, 0), peak)
            phase["task_cpu"][child.pid] = (times.user, times.system)
        if client_pid:
            try:
                proc = self._proc(client_pid)
                peak = max(proc.memory_info().rss, vm_hwm_bytes(client_pid))
                phase["client"] = max(phase["client"], peak)
            except psutil.Error:
                pass


# ---------------------------------------------------------------- server helpers

def wait_finished(server: FlowServer, job_id: str, timeout: float) -> tuple[dict, float]:
    """Poll /v1/job/query every POLL_S s; return the finished row and when it was seen (epoch s)."""
    deadline = time.monotonic() + timeout
    while True:
        job = server.job(job_id)
        if job["f_status"] in FINISHED:
            return job, time.time()
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} not finished after {timeout} s (status {job['f_status']})")
        time.sleep(POLL_S)


def wait_tasks_gone(server: FlowServer, job_id: str, timeout: float = 30) -> None:
    for task in server.tasks(job_id):
        pid = task.get("f_run_pid")
        if pid:
            try:
                psutil.Process(pid).wait(timeout)
            except (psutil.NoSuchProcess, psutil.TimeoutExpired):
                pass


def log_lines(path: Path) -> list[tuple[int, str]]:
    """(epoch ms, line) of each FATE-format log line (``[LEVEL] [2024-01-02 03:04:05,678] ...``)."""
    out = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        try:
            stamp = line.split("] [", 1)[1].split("]", 1)[0]
            out.append((int(dt.datetime.strptime(stamp, LOG_TIME_FORMAT).timestamp() * 1000), line))
        except (IndexError, ValueError):
            continue
    return out


def first_line(lines: list[tuple[int, str]], *needles: str) -> int | None:
    """Epoch ms of the first log line containing every one of ``needles``, or None."""
    return next((ms for ms, line in lines if all(n in line for n in needles)), None)


def phases_between(marks: list[tuple[str, int | None]]) -> dict[str, float | None]:
    """``{"a -> b": ms}`` for consecutive marks; None where a mark is missing (e.g. a log line)."""
    return {f"{a} -> {b}": (tb - ta) if ta is not None and tb is not None else None
            for (a, ta), (b, tb) in zip(marks, marks[1:])}


def db_value(server: FlowServer, sql: str, args: tuple) -> object:
    """One value from the server's SQLite database (read-only)."""
    path = server.work_dir / "fate_flow_sqlite.db"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        row = conn.execute(sql, args).fetchone()
        return row[0] if row else None
    finally:
        conn.close()


def server_cpu(server: FlowServer) -> tuple[float, float]:
    """(user, system) CPU seconds of the server process so far."""
    times = psutil.Process(server.proc.pid).cpu_times()
    return times.user, times.system


def cpu_delta(after: tuple[float, float], before: tuple[float, float]) -> tuple[float, float]:
    return after[0] - before[0], after[1] - before[1]


def flush_disk() -> float:
    """``sync`` so that dirty pages left by earlier steps do not throttle the next one; return seconds."""
    t0 = time.perf_counter()
    os.sync()
    return time.perf_counter() - t0


def settle_rss(server: FlowServer, seconds: float = 0.5) -> float:
    time.sleep(seconds)
    return psutil.Process(server.proc.pid).memory_info().rss / MB


# ---------------------------------------------------------------- upload and download

def run_upload(server: FlowServer, sampler: Sampler, csv: Path, rows: int, tmp: Path, label: str) -> dict:
    name = f"t{label}"
    conf = {"file": str(csv), "head": 1, "partition": 16, "work_mode": 0, "namespace": "bench", "table_name": name}
    conf_path = tmp / f"upload_{label}.json"
    conf_path.write_text(json.dumps(conf))
    env = dict(server.env, FATE_FLOW_SERVER=server.url)
    phase = f"upload {label}"
    sampler.set_phase(phase)
    cpu0 = server_cpu(server)
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    command = [sys.executable, str(server.root / "fate_flow_client.py"), "-f", "upload", "-c", str(conf_path)]
    client = subprocess.Popen(command, cwd=str(server.root), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    sampler.client_pid = client.pid
    stdout, stderr = client.communicate(timeout=1800)
    t_client = time.time()
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_client_phase = cpu_delta(server_cpu(server), cpu0)
    try:
        answer = json.loads(stdout)
    except ValueError:
        raise AssertionError(f"upload client printed no JSON: {stdout!r} {stderr[-2000:]!r}") from None
    assert answer.get("retcode") == 0, answer
    job_id = answer["jobId"]
    job, t_seen = wait_finished(server, job_id, timeout=1800)
    cpu_total = cpu_delta(server_cpu(server), cpu0)
    wait_tasks_gone(server, job_id)
    sampler.set_phase(None)
    sampler.client_pid = None
    assert job["f_status"] == "success", (job["f_status"], job.get("f_status_reason"))
    tasks = server.tasks(job_id)
    task = tasks[0]
    info = server.post("/v1/table/table_info", {"namespace": "bench", "table_name": name})
    count = info["data"]["count"]

    # phases from stored timestamps, the server's log and the task's log
    logs = server.work_dir / "logs"
    stat = log_lines(logs / "fate_flow" / "fate_flow_stat.log")
    receiving = first_line(stat, f"upload {job_id}: receiving")
    received = first_line(stat, f"upload {job_id}: file received")
    log = log_lines(logs / job_id / "local" / "0" / "upload_0" / "INFO.log")
    first_log = log[0][0] if log else None
    running = first_line(log, "running Upload")
    read_done = first_line(log, "lines of", " into ")
    task_committed = first_line(log, "committed ")
    recorded = db_value(server, "SELECT f_update_time FROM t_storage_table_meta WHERE f_namespace=? AND f_name=?",
                        ("bench", name))
    peaks = sampler.phases[phase]
    size = csv.stat().st_size
    t0_ms = t0 * 1000
    e2e_s = (job["f_end_time"] - t0_ms) / 1000
    marks = [("client start", t0_ms), ("request at server", receiving), ("file received", received),
             ("job created", job["f_create_time"]), ("job admitted", job.get("f_start_time")),
             ("task launched", task["f_start_time"]), ("executor main", first_log),
             ("component running", running), ("parsed+written", read_done), ("committed by task", task_committed),
             ("recorded by server", recorded), ("task end", task["f_end_time"]), ("job end", job["f_end_time"]),
             ("success seen by poll", t_seen * 1000)]
    return {
        "rows": rows, "bytes": size, "job_id": job_id, "count": count,
        "e2e_s": e2e_s, "e2e_seen_s": t_seen - t0, "job_s": (job["f_end_time"] - job["f_create_time"]) / 1000,
        "client_s": t_client - t0,
        "client_cpu_s": (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime),
        "server_cpu_transfer_s": sum(cpu_client_phase), "server_cpu_total_s": sum(cpu_total),
        "server_cpu_transfer_user_sys_s": cpu_client_phase,
        "task_cpu_s": sum(u + s for u, s in peaks["task_cpu"].values()),
        "task_cpu_user_sys_s": tuple(map(sum, zip(*peaks["task_cpu"].values()))) or (0.0, 0.0),
        "phases_ms": phases_between(marks),
        "client_exit_after_job_created_ms": t_client * 1000 - job["f_create_time"],
        "peak_server_mb": peaks["server"] / MB, "peak_task_mb": max(peaks["tasks"].values(), default=0) / MB,
        "peak_client_mb": peaks["client"] / MB, "task_pids": len(peaks["tasks"]),
    }


def run_download(server: FlowServer, sampler: Sampler, rows: int, tmp: Path, label: str, csv: Path) -> dict:
    name = f"t{label}"
    output = tmp / f"download_{label}.csv"
    phase = f"download {label}"
    sampler.set_phase(phase)
    t0 = time.time()
    answer = server.post("/v1/data/download", {"output_path": str(output), "work_mode": 0, "namespace": "bench",
                                               "table_name": name})
    assert answer.get("retcode") == 0, answer
    job_id = answer["jobId"]
    job, t_seen = wait_finished(server, job_id, timeout=1800)
    wait_tasks_gone(server, job_id)
    sampler.set_phase(None)
    assert job["f_status"] == "success", (job["f_status"], job.get("f_status_reason"))
    task = server.tasks(job_id)[0]
    peaks = sampler.phases[phase]
    equal, lines = same_lines(csv, output)
    size = output.stat().st_size
    t0_ms = t0 * 1000
    return {
        "rows": rows, "bytes": size, "job_id": job_id, "lines": lines, "identical": equal,
        "e2e_s": (job["f_end_time"] - t0_ms) / 1000, "e2e_seen_s": t_seen - t0,
        "job_s": (job["f_end_time"] - job["f_create_time"]) / 1000,
        "task_run_s": (task["f_end_time"] - task["f_start_time"]) / 1000,
        "task_cpu_s": sum(u + s for u, s in peaks["task_cpu"].values()),
        "task_cpu_user_sys_s": tuple(map(sum, zip(*peaks["task_cpu"].values()))) or (0.0, 0.0),
        "peak_server_mb": peaks["server"] / MB, "peak_task_mb": max(peaks["tasks"].values(), default=0) / MB,
        "output": str(output),
    }


def print_phase_medians(uploads: list[dict]) -> None:
    """Median (min-max) of end to end and of every phase, per size, when a size ran more than once."""
    by_rows: dict[int, list[dict]] = {}
    for up in uploads:
        by_rows.setdefault(up["rows"], []).append(up)
    for rows, runs in by_rows.items():
        if len(runs) < 2:
            continue
        print(f"upload of {rows} rows, median (min-max) of {len(runs)} runs:")
        series = {"end to end (client start -> job end)": [r["e2e_s"] * 1000 for r in runs],
                  "client start -> success seen by poll": [r["e2e_seen_s"] * 1000 for r in runs]}
        for phase in runs[0]["phases_ms"]:
            series[phase] = [r["phases_ms"][phase] for r in runs if r["phases_ms"].get(phase) is not None]
        for label, values in series.items():
            if values:
                print(f"   {label:<50} {np.median(values):8.0f} ms  ({min(values):.0f}-{max(values):.0f})")
        rates = [rows / r["e2e_s"] for r in runs]
        print(f"   {'rows/s end to end':<50} {np.median(rates):>8,.0f}")


def compare(args: argparse.Namespace) -> int:
    """Paired uploads: this checkout (A) and ``--against`` (B) in turn, so that the machine's drift hits both."""
    sizes = [int(x.replace("_", "")) for x in args.rows.split(",") if x.strip()]
    rounds = max(args.repeat, 2)
    tmp = Path(tempfile.mkdtemp(prefix="ff_bench_upload_"))
    info = machine_of_run(tmp)
    roots = {"A": ROOT, "B": Path(args.against).resolve()}
    print(f"== paired uploads: A = {roots['A']} ({info['code']}), B = {roots['B']}; {rounds} rounds per size")
    print(f"machine   {info['cpu']}, {info['cores']} cores, Python {info['python']}, {info['date']}, load {info['load']}")
    servers, samplers, results = {}, {}, {"A": [], "B": []}
    try:
        for name, root in roots.items():
            servers[name] = FlowServer(tmp / f"work_{name}", root=root).start()
            samplers[name] = Sampler(servers[name].proc.pid)
            samplers[name].start()
        for rows in sizes:
            csv = tmp / f"data_{label_of(rows)}.csv"
            write_csv(csv, rows)
            flush_disk()
            for i in range(rounds):
                for name in ("A", "B") if i % 2 == 0 else ("B", "A"):
                    up = run_upload(servers[name], samplers[name], csv, rows, tmp, f"{label_of(rows)}_{name}{i}")
                    if up["count"] != rows:
                        raise AssertionError(f"{name}: table count {up['count']} != {rows}")
                    results[name].append(up)
                print(f"   {rows} rows, round {i + 1}: A {results['A'][-1]['e2e_s']:.3f} s, "
                      f"B {results['B'][-1]['e2e_s']:.3f} s", flush=True)
            csv.unlink(missing_ok=True)
    finally:
        for name in servers:
            samplers[name].stop()
            servers[name].stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    for rows in sizes:
        a = [r for r in results["A"] if r["rows"] == rows]
        b = [r for r in results["B"] if r["rows"] == rows]
        ratios = [x["e2e_s"] / y["e2e_s"] for x, y in zip(a, b)]
        print(f"upload of {rows} rows, medians of {len(a)} paired runs{'':14} {'A':>8} {'B':>8}")
        print(f"   {'end to end (client start -> job end), ms':<58} {np.median([r['e2e_s'] * 1000 for r in a]):8.0f} "
              f"{np.median([r['e2e_s'] * 1000 for r in b]):8.0f}   A/B {np.median(ratios):.2f}")
        for phase in a[0]["phases_ms"]:
            va = [r["phases_ms"][phase] for r in a if r["phases_ms"].get(phase) is not None]
            vb = [r["phases_ms"][phase] for r in b if r["phases_ms"].get(phase) is not None]
            print(f"   {phase:<58} {np.median(va) if va else float('nan'):8.0f} {np.median(vb) if vb else float('nan'):8.0f}")
        for key, label in (("client_cpu_s", "client CPU s"), ("task_cpu_s", "task CPU s"),
                           ("server_cpu_total_s", "server CPU s (upload, job, the 20 ms polls)"),
                           ("peak_task_mb", "peak task RSS MB"), ("peak_server_mb", "peak server RSS MB")):
            print(f"   {label:<58} {np.median([r[key] for r in a]):8.2f} {np.median([r[key] for r in b]):8.2f}")
    print(f"load after the run {load_average()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "A": results["A"], "B": results["B"],
                                               "roots": {k: str(v) for k, v in roots.items()}}, indent=2, default=str))
    return 0


# ---------------------------------------------------------------- machine

def machine_of_run(tmp: Path) -> dict:
    import pyarrow

    return machine(pyarrow=pyarrow.__version__, numpy=np.__version__,
                   mem_available_gb=psutil.virtual_memory().available / 2 ** 30,
                   disk_free_gb=shutil.disk_usage(tmp).free / 2 ** 30)


def label_of(rows: int) -> str:
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1000 == 0:
        return f"{rows // 1000}k"
    return str(rows)


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000,5000000",
                        help="comma-separated row counts (default 100000,1000000,5000000)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="upload (and download) each size N times; phases are then summarised as medians")
    parser.add_argument("--against", metavar="DIR",
                        help="another checkout (e.g. a git worktree of an older commit): start a server from each "
                             "and alternate their uploads, --repeat rounds per size (no downloads); print both "
                             "medians and the median of the pairwise ratios")
    parser.add_argument("--keep", action="store_true", help="keep the generated files and the server work dir")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures to FILE")
    args = parser.parse_args(argv)
    if args.against:
        return compare(args)
    sizes = [int(x.replace("_", "")) for x in args.rows.split(",") if x.strip() for _ in range(max(args.repeat, 1))]

    tmp = Path(tempfile.mkdtemp(prefix="ff_bench_upload_"))
    info = machine_of_run(tmp)
    print("== FATE-Flow upload/download benchmark ==")
    print(f"date      {info['date']}")
    print(f"machine   {info['cpu']}, {info['cores']} cores, {info['platform']}")
    print(f"memory    {info['mem_available_gb']:.1f} GB available; disk {info['disk_free_gb']:.1f} GB free in {tmp}")
    print(f"python    {info['python']} ({sys.executable}), pyarrow {info['pyarrow']}, numpy {info['numpy']}")
    print(f"code      {info['code']}")
    print(f"load      {info['load']} (1/5/15 min) before the run; other work on the machine skews every figure")
    print(f"data      id + {COLUMNS} floats (6 decimals) per line, header, seed fixed; sizes {sizes}")
    print()

    server = FlowServer(tmp / "work")
    raw: dict = {"machine": info, "uploads": [], "downloads": [], "skipped": []}
    uploads, downloads = [], []
    try:
        server.start()
        time.sleep(1.0)
        rss_start = psutil.Process(server.proc.pid).memory_info().rss / MB
        raw["server_rss_start_mb"] = rss_start
        sampler = Sampler(server.proc.pid)
        sampler.start()
        rss_after = []
        seen: dict[str, int] = {}
        for rows in sizes:
            label = label_of(rows)
            seen[label] = seen.get(label, 0) + 1
            if seen[label] > 1:  # the same size again: its own files and table
                label = f"{label}_{seen[label]}"
            need = rows * BYTES_PER_ROW * DISK_FACTOR
            free = shutil.disk_usage(tmp).free
            if need > free / 2:
                print(f"-- {rows} rows: SKIPPED, needs about {need / 2**30:.1f} GB of disk "
                      f"(more than half of the {free / 2**30:.1f} GB free)")
                raw["skipped"].append(rows)
                continue
            csv = tmp / f"data_{label}.csv"
            gen_s = write_csv(csv, rows)
            size = csv.stat().st_size
            sync_s = flush_disk()
            print(f"-- {rows} rows: {size / MB:.1f} MB generated in {gen_s:.1f} s (sync {sync_s:.1f} s)")
            up = run_upload(server, sampler, csv, rows, tmp, label)
            up["gen_s"] = gen_s
            ok = "OK" if up["count"] == rows else f"MISMATCH (table count {up['count']})"
            print(f"   upload   end to end {up['e2e_s']:7.2f} s  {rows / up['e2e_s']:>9,.0f} rows/s "
                  f"{size / MB / up['e2e_s']:6.1f} MB/s   job create->end {up['job_s']:.2f} s   count {ok}")
            print(f"            (success seen by polling after {up['e2e_seen_s']:.2f} s; client exited after "
                  f"{up['client_s']:.2f} s, {up['client_exit_after_job_created_ms']:.0f} ms after the job was created)")
            for phase, ms in up["phases_ms"].items():
                print(f"            {phase:<50} {'n/a' if ms is None else f'{ms:8.0f} ms'}")
            user, system = up["server_cpu_transfer_user_sys_s"]
            print(f"            CPU s: client {up['client_cpu_s']:.2f}, server during transfer "
                  f"{up['server_cpu_transfer_s']:.2f} (user {user:.2f}, sys {system:.2f}; whole upload "
                  f"{up['server_cpu_total_s']:.2f}), task {up['task_cpu_s']:.2f} "
                  f"(user {up['task_cpu_user_sys_s'][0]:.2f}, sys {up['task_cpu_user_sys_s'][1]:.2f})")
            print(f"            peak RSS MB: server {up['peak_server_mb']:.1f}, task {up['peak_task_mb']:.1f}, "
                  f"client {up['peak_client_mb']:.1f}")
            flush_disk()
            down = run_download(server, sampler, rows, tmp, label, csv)
            ok = "the input's lines without header (partition order)" if down["identical"] else \
                f"DIFFERS from the input ({down['lines']} lines)"
            print(f"   download end to end {down['e2e_s']:7.2f} s  {rows / down['e2e_s']:>9,.0f} rows/s "
                  f"{down['bytes'] / MB / down['e2e_s']:6.1f} MB/s   job create->end {down['job_s']:.2f} s   "
                  f"{down['lines']} lines, {ok}")
            print(f"            task run {down['task_run_s']:.2f} s, task CPU {down['task_cpu_s']:.2f} s "
                  f"(user {down['task_cpu_user_sys_s'][0]:.2f}, sys {down['task_cpu_user_sys_s'][1]:.2f}); peak RSS MB: "
                  f"server {down['peak_server_mb']:.1f}, task {down['peak_task_mb']:.1f}")
            after = settle_rss(server)
            rss_after.append((rows, after))
            print(f"   server RSS after this size (idle): {after:.1f} MB")
            uploads.append(up)
            downloads.append(down)
            if not args.keep:
                Path(down["output"]).unlink(missing_ok=True)
                csv.unlink(missing_ok=True)
            print()
        sampler.stop()
        raw.update(uploads=uploads, downloads=downloads, server_rss_after_mb=rss_after,
                   server_vmhwm_mb=vm_hwm_bytes(server.proc.pid) / MB, samples=sampler.samples)
        server_hwm = vm_hwm_bytes(server.proc.pid) / MB
    finally:
        server.stop()
        if args.keep:
            print(f"files and work dir kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    # ---- summary
    print("summary (end to end = client start -> job f_end_time; MB = 2^20 bytes)")
    print(f"{'rows':>9} {'MB':>7} | {'upload s':>8} {'rows/s':>9} {'MB/s':>6} | {'srv MB':>6} {'task MB':>7} "
          f"{'cli MB':>6} | {'down s':>6} {'rows/s':>9} {'MB/s':>6} {'task MB':>7}")
    for up, down in zip(uploads, downloads):
        print(f"{up['rows']:>9} {up['bytes'] / MB:>7.1f} | {up['e2e_s']:>8.2f} {up['rows'] / up['e2e_s']:>9,.0f} "
              f"{up['bytes'] / MB / up['e2e_s']:>6.1f} | {up['peak_server_mb']:>6.1f} {up['peak_task_mb']:>7.1f} "
              f"{up['peak_client_mb']:>6.1f} | {down['e2e_s']:>6.2f} {down['rows'] / down['e2e_s']:>9,.0f} "
              f"{down['bytes'] / MB / down['e2e_s']:>6.1f} {down['peak_task_mb']:>7.1f}")
    print_phase_medians(uploads)
    print(f"server RSS: {rss_start:.1f} MB after start; idle after each size: "
          + ", ".join(f"{r}: {m:.1f}" for r, m in rss_after) + f"; lifetime peak (VmHWM) {server_hwm:.1f} MB")
    fate = FATE_145["rows"] / FATE_145["seconds"]
    print(f"reference: FATE 1.4.5 {FATE_145['seconds']} s for {FATE_145['rows']} rows ({fate:,.0f} rows/s); "
          f"targets >= {TARGET_ROWS_PER_S:,} rows/s end to end, task peak < {TARGET_TASK_RSS_MB} MB and flat, "
          "server flat")
    failures, wrong = [], False
    for up in uploads:
        rate = up["rows"] / up["e2e_s"]
        if rate < TARGET_ROWS_PER_S:
            failures.append(f"upload {up['rows']}: {rate:,.0f} rows/s < {TARGET_ROWS_PER_S:,}")
        if up["peak_task_mb"] > TARGET_TASK_RSS_MB:
            failures.append(f"upload {up['rows']}: task peak {up['peak_task_mb']:.0f} MB > {TARGET_TASK_RSS_MB}")
        if up["count"] != up["rows"]:
            failures.append(f"upload {up['rows']}: table count {up['count']}")
            wrong = True
    for down in downloads:
        if down["peak_task_mb"] > TARGET_TASK_RSS_MB:
            failures.append(f"download {down['rows']}: task peak {down['peak_task_mb']:.0f} MB > {TARGET_TASK_RSS_MB}")
        if not down["identical"]:
            failures.append(f"download {down['rows']}: output differs from the input")
            wrong = True
    if len(uploads) > 1:
        growth = uploads[-1]["peak_server_mb"] - uploads[0]["peak_server_mb"]
        print(f"server peak during upload grows by {growth:+.1f} MB from {uploads[0]['rows']} to "
              f"{uploads[-1]['rows']} rows; task peak by "
              f"{uploads[-1]['peak_task_mb'] - uploads[0]['peak_task_mb']:+.1f} MB")
        if growth > SERVER_GROWTH_MB:
            failures.append(f"server peak grows by {growth:.0f} MB with the file (> {SERVER_GROWTH_MB} MB)")
    print("targets: " + ("all met" if not failures else "NOT MET: " + "; ".join(failures)))
    print(f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, pyarrow {info['pyarrow']}, "
          f"{info['date']}, code {info['code']}, load after the run "
          f"{load_average()}")
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=2, default=str))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
