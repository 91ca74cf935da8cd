#!/usr/bin/env python3
"""Model center: export, import, store and restore times of the hetero LR model (and a big one).

    python bench/bench_model_center.py [--runs 5] [--big-mb 64] [--skip-store]

Trains the federatedml-1.x hetero LR example on the breast data (5 iterations; the model's size
does not depend on them) on server A, then for the guest's model and for a synthetic model of
``--big-mb`` MB of incompressible files: (1) GET /v1/model/export streamed to a file, (2) POST
/v1/model/import (streamed multipart, as the client sends it) into an empty server B, each the
median of ``--runs`` runs, plus one ``fate_flow_client.py -f export`` / ``-f import`` timed end
to end (interpreter start included); (3) store and restore as local jobs through MariaDB (8 MiB
slices) and Redis, timed from the request to the job's f_end_time. Prints the machine and load.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import fate_flow_client  # noqa: E402
from machine import describe_machine  # noqa: E402
from tests.flow_server import FlowServer, drop_mysql_database, unique_mysql_url  # noqa: E402

EXAMPLE = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_logistic_regression"
DATA = ROOT / "examples" / "data"
REDIS = {"storage": "redis", "host": "127.0.0.1", "port": 6379, "db": 6, "password": "", "ex": 0}


def upload(server: FlowServer, file: str, table: str) -> None:
    answer = server.post("/v1/data/upload", {"file": str(DATA / file), "head": 1, "partition": 4, "work_mode": 0,
                                             "namespace": "experiment", "table_name": table, "use_local_data": 0})
    assert server.wait_job(answer["jobId"], timeout=120)["f_status"] == "success", answer


def train(server: FlowServer) -> dict:
    dsl = json.loads((EXAMPLE / "test_hetero_lr_train_job_dsl.json").read_text())
    conf = json.loads((EXAMPLE / "test_hetero_lr_train_job_conf.json").read_text())
    conf["algorithm_parameters"]["hetero_lr_0"]["max_iter"] = 5
    answer = server.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
    job = server.wait_job(answer["jobId"], timeout=600)
    assert job["f_status"] == "success", job["f_status_reason"]
    return answer["data"]["model_info"]


def big_model(server: FlowServer, model_info: dict, megabytes: int) -> dict:
    """A copy of the guest's model with ``megabytes`` MB of random model files added."""
    info = dict(model_info, model_version=model_info["model_version"] + "_big")
    source = server.work_dir / "model_local_cache" / f"guest#10000#{model_info['model_id']}"
    target = source / info["model_version"]
    shutil.copytree(source / model_info["model_version"], target)
    folder = target / "variables" / "data" / "big_0" / "big"
    folder.mkdir(parents=True)
    for index in range(megabytes):
        (folder / f"Part{index}").write_bytes(os.urandom(1 << 20))
    return info


def export(server: FlowServer, query: dict, out: Path) -> float:
    start = time.perf_counter()
    with requests.get(server.url + "/v1/model/export", json=query, stream=True, timeout=600) as response:
        assert "zip" in response.headers["Content-Type"], response.text[:200]
        with open(out, "wb") as f:
            for chunk in response.iter_content(1 << 20):
                f.write(chunk)
    return time.perf_counter() - start


def import_(server: FlowServer, query: dict, archive: Path) -> float:
    body = fate_flow_client.MultipartFile(query, str(archive))
    start = time.perf_counter()
    answer = requests.post(server.url + "/v1/model/import", data=body,
                           headers={"Content-Type": body.content_type}, timeout=600).json()
    elapsed = time.perf_counter() - start
    assert answer["retcode"] == 0, answer
    return elapsed


def cli(server: FlowServer, *args: str) -> float:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, str(ROOT / "fate_flow_client.py"), *args], capture_output=True, text=True,
                         env=dict(os.environ, FATE_FLOW_SERVER=server.url), timeout=600)
    elapsed = time.perf_counter() - start
    assert json.loads(out.stdout)["retcode"] == 0, out.stdout
    return elapsed


def local_job(server: FlowServer, route: str, query: dict) -> float:
    start = time.time()
    answer = server.post(route, query)
    assert answer["retcode"] == 0, answer
    job = server.wait_job(answer["jobId"], timeout=600)
    assert job["f_status"] == "success", job["f_status_reason"]
    return job["f_end_time"] / 1000 - start


def model_bytes(server: FlowServer, info: dict) -> int:
    folder = server.work_dir / "model_local_cache" / f"guest#10000#{info['model_id']}" / info["model_version"]
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def bench_model(a: FlowServer, b: FlowServer, info: dict, label: str, runs: int, tmp: Path, store: bool) -> None:
    query = {"role": "guest", "party_id": 10000, **info}
    archive = tmp / f"{label}.zip"
    exports = [export(a, query, archive) for _ in range(runs)]
    imports = [import_(b, dict(query, model_version=f"{info['model_version']}_{i}"), archive) for i in range(runs)]
    conf = tmp / f"{label}.json"
    conf.write_text(json.dumps(dict(query, output_path=str(tmp / "cli"))))
    cli_export = cli(a, "-f", "export", "-c", str(conf))
    conf.write_text(json.dumps(dict(query, model_version=info["model_version"] + "_cli", file=str(archive))))
    cli_import = cli(b, "-f", "import", "-c", str(conf))
    size = archive.stat().st_size
    print(f"\n{label}: archive {size / 2 ** 10:.1f} KB, model files {model_bytes(a, info) / 2 ** 10:.1f} KB")
    print(f"   export (HTTP, median of {runs})   {statistics.median(exports) * 1000:9.1f} ms   "
          f"min {min(exports) * 1000:.1f}")
    print(f"   import (HTTP, median of {runs})   {statistics.median(imports) * 1000:9.1f} ms   "
          f"min {min(imports) * 1000:.1f}")
    print(f"   fate_flow_client -f export       {cli_export * 1000:9.1f} ms")
    print(f"   fate_flow_client -f import       {cli_import * 1000:9.1f} ms")
    if not store:
        return
    version_dir = a.work_dir / "model_local_cache" / f"guest#10000#{info['model_id']}" / info["model_version"]
    for name, extra in (("MariaDB", {}), ("Redis", {"store_address": REDIS})):
        stored = local_job(a, "/v1/model/store", dict(query, force_update=True, **extra))
        shutil.move(str(version_dir), str(tmp / "moved"))
        restored = local_job(a, "/v1/model/restore", dict(query, **extra))
        shutil.rmtree(tmp / "moved")
        print(f"   store job ({name})               {stored * 1000:9.1f} ms")
        print(f"   restore job ({name})             {restored * 1000:9.1f} ms")
    import redis

    key = f"FATEFlow:PipelinedModel:guest#10000#{info['model_id']}:{info['model_version']}"
    redis.Redis(db=REDIS["db"]).delete(key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big-mb", type=int, default=64)
    parser.add_argument("--skip-store", action="store_true")
    args = parser.parse_args(argv)
    print(describe_machine())
    mysql = None if args.skip_store else unique_mysql_url()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store_conf = {"model_store": {"url": mysql, "import_max_bytes": 4 << 30}} if mysql else \
            {"model_store": {"import_max_bytes": 4 << 30}}
        a = FlowServer(tmp / "a", conf={"federation": {"timeout": 600}, **store_conf}).start()
        b = FlowServer(tmp / "b", conf=store_conf).start()
        try:
            upload(a, "breast_hetero_guest.csv", "breast_hetero_guest")
            upload(a, "breast_hetero_host.csv", "breast_hetero_host")
            info = train(a)
            bench_model(a, b, info, "hetero LR (guest)", args.runs, tmp, store=mysql is not None)
            if args.big_mb > 0:
                bench_model(a, b, big_model(a, info, args.big_mb), f"synthetic {args.big_mb} MB model", args.runs,
                            tmp, store=mysql is not None)
        finally:
            a.stop()
            b.stop()
            if mysql:
                drop_mysql_database(mysql)
    return 0


if __name__ == "__main__":
    sys.exit(main())
