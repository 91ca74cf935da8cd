#!/usr/bin/env python3
"""HeteroSecureBoost: FATE's examples timed, and quality against xgboost trained on the joined data.

    python bench/bench_secureboost.py [--skip-credit] [--credit-depth 3]
    nice -n 10 python bench/bench_secureboost.py --only-big --big-rows 250000 1000000

On one standalone server (guest and host both party 10000, as FATE's confs have it):
(a) FATE's hetero_secureboost binary conf as shipped (breast, 5 trees, depth 5, 50 bins, 1024-bit key,
    validation every round): job create -> end, train AUC;
(b) default_credit (30,000 rows, FATE's hetero split), 5 trees, lr 0.1, 50 bins: train AUC against
    xgboost with the same trees, depth, learning rate, lambda and bins on the joined data;
(c) FATE's multi-class (vehicle_scale) and regression (student, lse) confs: accuracy and RMSE against xgboost.
(d) with --big-rows N...: generated data (fixed seed), N rows x (20 guest + 20 host) features, 5 trees
    depth 3, 32 bins, on the local engine with one partition per 62,500 rows (4 at least), DataIO then
    SecureBoost (the ids are the same on both sides, so no Intersection): time, the tasks' peak RSS and
    CPU time, and the time per tree split into encrypt / histogram / decrypt / split-find / communication.
For each job it prints the guest's per-tree split of time (encrypt, waiting on hosts = their histograms,
folding and the messages, decrypt, split finding, dispatch), the host's (histogram, fold, send) and the
SecureBoost tasks' peak RSS and CPU time.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from machine import describe_machine  # noqa: E402
from tests.flow_server import FlowServer  # noqa: E402

EXAMPLE = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_secureboost"
DATA = ROOT / "examples" / "data"
PARTY = 10000


def upload(server: FlowServer, name: str, path: Path | None = None, partitions: int = 4) -> None:
    answer = server.post("/v1/data/upload", {"file": str(path or DATA / f"{name}.csv"), "head": 1,
                                             "partition": partitions,
                                             "work_mode": 0, "namespace": "experiment", "table_name": name,
                                             "use_local_data": 0, "drop": 1})
    assert server.wait_job(answer["jobId"], timeout=300)["f_status"] == "success", answer


def example(conf_name: str, data: str | None = None, **params) -> tuple[dict, dict]:
    dsl = json.loads((EXAMPLE / "test_secureboost_train_dsl.json").read_text())
    conf = json.loads((EXAMPLE / conf_name).read_text())
    conf["algorithm_parameters"]["secureboost_0"].update(copy.deepcopy(params))
    if data:
        for role in ("guest", "host"):
            for tables in conf["role_parameters"][role]["args"]["data"].values():
                tables[0]["name"] = f"{data}_{role}"
    return dsl, conf


def run_job(server: FlowServer, dsl: dict, conf: dict) -> tuple[str, float]:
    start = time.monotonic()
    job_id = server.submit(dsl, conf)
    job = server.wait_job(job_id, timeout=3600)
    took = time.monotonic() - start
    assert job["f_status"] == "success", (job["f_status_reason"], [t["f_status_reason"] for t in server.tasks(job_id)])
    return job_id, took


def summary(server: FlowServer, job_id: str) -> dict:
    answer = server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "component_name": "evaluation_0",
                                                              "role": "guest", "party_id": PARTY})
    return dict(answer["data"]["train"]["secureboost_0"]["data"])


def tree_phases(server: FlowServer, job_id: str, role: str = "guest") -> str:
    totals, trees, seconds = phase_totals(server, job_id, role)
    parts = ", ".join(f"{k} {v / max(trees, 1):.3f}" for k, v in totals.most_common())
    return f"{trees} trees, {seconds / max(trees, 1):.3f} s a tree ({parts}; s a tree)"


def phase_totals(server: FlowServer, job_id: str, role: str) -> tuple[Counter, int, float]:
    """(seconds per phase over all trees, trees, seconds of all trees) from a party's SecureBoost log."""
    log = server.work_dir / "logs" / job_id / role / str(PARTY) / "secureboost_0" / "INFO.log"
    totals, trees, seconds = Counter(), 0, 0.0
    for line in log.read_text().splitlines() if log.exists() else []:
        found = re.search(r"tree \d+\.\d+: ([\d.]+) s \((.*)\)", line)
        if found:
            trees, seconds = trees + 1, seconds + float(found.group(1))
            for name, value in re.findall(r"(\w+) ([\d.]+) s", found.group(2)):
                totals[name] += float(value)
    return totals, trees, seconds


def task_cpu(server: FlowServer, job_id: str, role: str) -> float:
    """CPU seconds of a party's SecureBoost task, its workers included (from its log)."""
    log = server.work_dir / "logs" / job_id / role / str(PARTY) / "secureboost_0" / "INFO.log"
    found = re.findall(r"CPU ([\d.]+) s", log.read_text()) if log.exists() else []
    return float(found[-1]) if found else float("nan")


def task_summary(server: FlowServer, job_id: str) -> str:
    tasks = {t["f_component_name"] + "/" + t["f_role"]: t for t in server.tasks(job_id)}
    out = []
    for role in ("guest", "host"):
        task = tasks.get(f"secureboost_0/{role}", {})
        rss = task.get("f_peak_memory")
        out.append(f"{role} {task.get('f_elapsed', 0) / 1000:.2f} s (CPU {task_cpu(server, job_id, role):.2f} s), "
                   f"peak RSS {(rss or 0) / 2 ** 20:.0f} MB")
    return "; ".join(out)


def joined(name: str) -> tuple[np.ndarray, np.ndarray]:
    guest = np.loadtxt(DATA / f"{name}_guest.csv", delimiter=",", skiprows=1)
    host = np.loadtxt(DATA / f"{name}_host.csv", delimiter=",", skiprows=1)
    host = host[np.argsort(host[:, 0])]
    guest = guest[np.argsort(guest[:, 0])]
    assert (guest[:, 0] == host[:, 0]).all()
    return np.hstack([guest[:, 2:], host[:, 1:]]), guest[:, 1]


def xgboost_reference(name: str, task: str, trees: int, depth: int) -> float:
    import xgboost
    from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score

    x, y = joined(name)
    common = dict(n_estimators=trees, max_depth=depth, learning_rate=0.1, reg_lambda=0.1, max_bin=50,
                  tree_method="hist", min_child_weight=0, gamma=1e-3)
    if task == "binary":
        model = xgboost.XGBClassifier(base_score=0.5, **common).fit(x, y)
        return roc_auc_score(y, model.predict_proba(x)[:, 1])
    if task == "multi":
        model = xgboost.XGBClassifier(**common).fit(x, y.astype(int))
        return accuracy_score(y, model.predict(x))
    model = xgboost.XGBRegressor(base_score=float(np.mean(y)), **common).fit(x, y)
    return float(np.sqrt(mean_squared_error(y, model.predict(x))))


def report(name: str, took: float, ours: float, metric: str, reference: float | None, server, job_id) -> None:
    ref = "" if reference is None else f", xgboost {reference:.4f} (diff {ours - reference:+.4f})"
    print(f"{name}: create -> end {took:.2f} s, train {metric} {ours:.4f}{ref}")
    print(f"    guest trees: {tree_phases(server, job_id)}")
    print(f"    host trees: {tree_phases(server, job_id, 'host')}")
    print(f"    SecureBoost tasks: {task_summary(server, job_id)}")


# ---- (d) generated data at scale ---------------------------------------------------------------

BIG_FEATURES = 20  # per party
ROWS_PER_PARTITION = 62_500


def write_big(directory: Path, rows: int, seed: int = 12) -> tuple[Path, Path]:
    """guest (id, y, x0..x19) and host (id, x0..x19) csv files; y depends on features of both parties."""
    rng = np.random.default_rng(seed)
    guest_path, host_path = directory / f"big{rows}_guest.csv", directory / f"big{rows}_host.csv"
    weights = rng.normal(size=2 * BIG_FEATURES)
    header = ",".join(f"x{j}" for j in range(BIG_FEATURES))
    with open(guest_path, "w") as guest, open(host_path, "w") as host:
        guest.write(f"id,y,{header}\n")
        host.write(f"id,{header}\n")
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            x = rng.normal(size=(n, 2 * BIG_FEATURES))
            score = np.tanh(x) @ weights + 0.5 * rng.normal(size=n)
            y = (score > 0).astype(int)
            ids = np.arange(start, start + n)
            guest_rows = np.column_stack([ids, y, x[:, :BIG_FEATURES]])
            host_rows = np.column_stack([ids, x[:, BIG_FEATURES:]])
            np.savetxt(guest, guest_rows, fmt=["%d", "%d"] + ["%.4f"] * BIG_FEATURES, delimiter=",")
            np.savetxt(host, host_rows, fmt=["%d"] + ["%.4f"] * BIG_FEATURES, delimiter=",")
    return guest_path, host_path


def big_job(rows: int, trees: int = 5, partitions: int = 4) -> tuple[dict, dict]:
    dsl = {"components": {
        "dataio_0": {"module": "DataIO", "input": {"data": {"data": ["args.train_data"]}},
                     "output": {"data": ["train"], "model": ["dataio"]}},
        "secureboost_0": {"module": "HeteroSecureBoost", "input": {"data": {"train_data": ["dataio_0.train"]}},
                          "output": {"data": ["train"], "model": ["train"]}}}}
    table = {"guest": f"big{rows}_guest", "host": f"big{rows}_host"}
    # computing_partitions: else the tasks repartition to the server's default (4) and the partition size
    # grows with the rows
    conf = {"initiator": {"role": "guest", "party_id": PARTY},
            "job_parameters": {"work_mode": 0, "computing_partitions": partitions},
            "role": {"guest": [PARTY], "host": [PARTY]},
            "role_parameters": {role: {"args": {"data": {"train_data": [{"name": name, "namespace": "experiment"}]}},
                                       "dataio_0": {"with_label": [role == "guest"], "label_name": ["y"],
                                                    "label_type": ["int"], "output_format": ["dense"]}}
                                for role, name in table.items()},
            "algorithm_parameters": {"secureboost_0": {
                "task_type": "classification", "learning_rate": 0.1, "num_trees": trees, "bin_num": 32,
                "tree_param": {"max_depth": 3}, "objective_param": {"objective": "cross_entropy"},
                "encrypt_param": {"method": "paillier"}}}}
    return dsl, conf


def big_tree_split(server: FlowServer, job_id: str) -> str:
    """Seconds a tree: encrypt / histogram / decrypt / split-find / communication (the guest's wait on the host
    beyond the host's histogram and folding, plus the messages of the rows' moves)."""
    guest, trees, seconds = phase_totals(server, job_id, "guest")
    host, _, _ = phase_totals(server, job_id, "host")
    trees = max(trees, 1)
    histogram = host["histogram"] + host["fold"]
    communication = max(0.0, guest["hosts"] - histogram) + guest["dispatch"]
    parts = {"encrypt": guest["encrypt"], "histogram (host, fold included)": histogram, "decrypt": guest["decrypt"],
             "split-find": guest["split_find"], "communication": communication}
    return f"{seconds / trees:.2f} s a tree: " + ", ".join(f"{k} {v / trees:.2f}" for k, v in parts.items())


class ProcessPeaks:
    """Each process's peak RSS under this one (the server, its tasks and their workers), sampled from a thread:
    which process of a task holds the memory (task, engine workers, Paillier workers)."""

    def __init__(self, interval: float = 0.5) -> None:
        import threading

        self.interval = interval
        self.peaks: dict[int, int] = {}
        self.parents: dict[int, int] = {}
        self.kinds: dict[int, str] = {}
        self.series: dict[int, list] = {}  # pid -> [(time, rss)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> "ProcessPeaks":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(self.interval):
            for process in me.children(recursive=True):
                try:
                    pid = process.pid
                    if pid not in self.kinds:
                        self.parents[pid] = process.ppid()
                        self.kinds[pid] = _process_kind(" ".join(process.cmdline()))
                    rss = process.memory_info().rss
                    self.peaks[pid] = max(self.peaks.get(pid, 0), rss)
                    self.series.setdefault(pid, []).append((time.monotonic(), rss))
                except psutil.Error:
                    pass

    def describe(self, task_pid: int | None) -> str:
        """"task X MB, engine worker a + b MB, paillier worker c + d MB, ..." of a task's process tree."""
        if task_pid is None or task_pid not in self.peaks:
            return "not sampled"
        tree, grown = {task_pid}, True
        while grown:
            found = {pid for pid, parent in self.parents.items() if parent in tree} - tree
            tree, grown = tree | found, bool(found)
        groups: dict[str, list[int]] = {}
        for pid in sorted(tree - {task_pid}):
            kind = self.kinds[pid]
            if kind == "pool":  # the forkserver's children are the workers
                kind += " worker" if self.kinds.get(self.parents[pid]) == kind else " forkserver"
            groups.setdefault(kind, []).append(self.peaks[pid])
        mb = 2 ** 20
        parts = [f"task {self.peaks[task_pid] / mb:.0f} MB"]
        parts += [f"{kind} {' + '.join(f'{v / mb:.0f}' for v in values)} MB" for kind, values in sorted(groups.items())]
        return ", ".join(parts)

    def timeline(self, pid: int | None, step: float = 5.0) -> str:
        """A process's RSS (MB) every ``step`` seconds of its life (the highest sample of each step)."""
        samples = self.series.get(pid) or []
        if not samples:
            return "not sampled"
        start, buckets = samples[0][0], {}
        for t, rss in samples:
            k = int((t - start) // step)
            buckets[k] = max(buckets.get(k, 0), rss)
        return " ".join(f"{buckets[k] / 2 ** 20:.0f}" for k in sorted(buckets))


def _process_kind(cmdline: str) -> str:
    """What a process is, from its command line: the engine's and the Paillier workers are forked by one
    forkserver per task (the first pool's preload names it), so they all read "pool"."""
    if "multiprocessing.forkserver" in cmdline:
        return "pool"
    return "resource tracker" if "resource_tracker" in cmdline else "child"


def run_big(server: FlowServer, rows: int, directory: Path, trees: int = 5,
            rows_per_partition: int = ROWS_PER_PARTITION) -> None:
    import os

    started = time.monotonic()
    paths = write_big(directory, rows)
    partitions = max(4, rows // rows_per_partition)
    for role, path in zip(("guest", "host"), paths):
        upload(server, f"big{rows}_{role}", path, partitions)
        path.unlink()
    prepared = time.monotonic() - started
    load = os.getloadavg()
    sampler = ProcessPeaks().start()
    try:
        job_id, took = run_job(server, *big_job(rows, trees, partitions))
    finally:
        sampler.stop()
    tasks = {t["f_component_name"] + "/" + t["f_role"]: t for t in server.tasks(job_id)}
    after = os.getloadavg()
    print(f"(d) {rows:,} rows x ({BIG_FEATURES} + {BIG_FEATURES}) features, {partitions} partitions, {trees} trees depth 3: "
          f"create -> end {took:.1f} s (data written and uploaded in {prepared:.1f} s); load {load[0]:.1f} before, "
          f"{after[0]:.1f} after")
    for role in ("guest", "host"):
        task = tasks[f"secureboost_0/{role}"]
        print(f"    SecureBoost {role}: {task['f_elapsed'] / 1000:.1f} s, CPU {task_cpu(server, job_id, role):.1f} s, "
              f"peak task RSS {(task.get('f_peak_memory') or 0) / 2 ** 20:.0f} MB (process tree)")
        print(f"      per process (peak, sampled every {sampler.interval:g} s): "
              f"{sampler.describe(task.get('f_run_pid'))}")
        if os.environ.get("BENCH_RSS_TIMELINE"):
            print(f"      task RSS every 5 s: {sampler.timeline(task.get('f_run_pid'))}")
    print(f"    {big_tree_split(server, job_id)}")
    print(f"    guest trees: {tree_phases(server, job_id)}")
    print(f"    host trees: {tree_phases(server, job_id, 'host')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-credit", action="store_true")
    parser.add_argument("--skip-others", action="store_true")
    parser.add_argument("--credit-depth", type=int, default=3)
    parser.add_argument("--big-rows", type=int, nargs="*", default=[], help="also run (d) at these row counts")
    parser.add_argument("--only-big", action="store_true", help="run (d) only")
    parser.add_argument("--big-trees", type=int, default=5, help="trees of (d) (1 to compare peak memory quickly)")
    parser.add_argument("--rows-per-partition", type=int, default=ROWS_PER_PARTITION,
                        help="partition size of (d) (4 partitions at least)")
    args = parser.parse_args()
    print(describe_machine())
    work = Path(tempfile.mkdtemp(prefix="bench_sbt_"))
    server = FlowServer(work / "server", conf={"federation": {"timeout": 3600}}).start()
    try:
        for rows in args.big_rows:
            run_big(server, rows, work, args.big_trees, args.rows_per_partition)
        if args.only_big:
            return
        tables = ["breast_hetero"] + ([] if args.skip_credit else ["default_credit_hetero"])
        tables += [] if args.skip_others else ["vehicle_scale_hetero", "student_hetero"]
        for table in tables:
            for role in ("guest", "host"):
                upload(server, f"{table}_{role}")
        job_id, took = run_job(server, *example("test_secureboost_train_binary_conf.json"))
        report("(a) breast, FATE's binary conf", took, summary(server, job_id)["auc"], "AUC",
               xgboost_reference("breast_hetero", "binary", 5, 5), server, job_id)
        if not args.skip_credit:
            depth = args.credit_depth
            dsl, conf = example("test_secureboost_train_binary_conf.json", "default_credit_hetero",
                                validation_freqs=None, tree_param={"max_depth": depth})
            job_id, took = run_job(server, dsl, conf)
            report(f"(b) default_credit, 5 trees depth {depth}", took, summary(server, job_id)["auc"], "AUC",
                   xgboost_reference("default_credit_hetero", "binary", 5, depth), server, job_id)
        if not args.skip_others:
            job_id, took = run_job(server, *example("test_secureboost_train_multi_conf.json"))
            report("(c) vehicle_scale, FATE's multi-class conf", took, summary(server, job_id)["accuracy"],
                   "accuracy", xgboost_reference("vehicle_scale_hetero", "multi", 5, 5), server, job_id)
            job_id, took = run_job(server, *example("test_secureboost_train_regression_conf.json"))
            report("(c) student, FATE's regression conf (lse)", took,
                   summary(server, job_id)["root_mean_squared_error"], "RMSE",
                   xgboost_reference("student_hetero", "regression", 5, 5), server, job_id)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
