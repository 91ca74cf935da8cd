"""``fate_flow_server.py demo``: three parties start, the printed hetero LR commands succeed, stop leaves nothing."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import threading

import psutil
import requests

from fate_flow.demo import GUEST, READY_LINE, ROLES
from fate_flow.utils.app_auth import AppKeyAuth
from tests.flow_server import PYTHON, ROOT, wait_until


def demo_processes(root) -> list[psutil.Process]:
    """Processes whose command line names the demo's directory: servers, tasks, the demo itself."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if str(root) in " ".join(proc.info["cmdline"] or []) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.NoSuchProcess:
            pass
    return found


def run_printed(command: str, env: dict) -> dict:
    done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60, env=env)
    return json.loads(done.stdout)


def test_demo_runs_hetero_lr_across_three_parties_and_stops_clean(tmp_path):
    root = tmp_path / "demo"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([PYTHON, str(ROOT / "fate_flow_server.py"), "demo", "--dir", str(root), "--max-iter", "1"],
                            cwd=str(tmp_path),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        wait_until(lambda: f"{READY_LINE}\n" in lines or proc.poll() is not None, 120, interval=0.2, what="the demo")
        assert proc.poll() is None, "".join(lines)
        export, submit, query = [line.strip()[2:] for line in lines if line.strip().startswith("$ ")]
        job_env = dict(env, **dict(pair.split("=", 1) for pair in shlex.split(export)[1:]))
        assert job_env["FATE_FLOW_APP_KEY"] and job_env["FATE_FLOW_SECRET_KEY"]
        submitted = run_printed(submit, job_env)
        assert submitted["retcode"] == 0, submitted
        job_id = submitted["jobId"]

        def finished():
            rows = run_printed(query.replace("JOB_ID", job_id), job_env).get("data") or []
            return rows[0]["f_status"] if rows and rows[0]["f_status"] not in ("waiting", "running") else None
        assert wait_until(finished, 240, interval=1, what=f"job {job_id}") == "success"
        keyless = {k: v for k, v in job_env.items() if k not in ("FATE_FLOW_APP_KEY", "FATE_FLOW_SECRET_KEY")}
        unsigned = run_printed(query.replace("JOB_ID", job_id), keyless)  # the demo's parties require keys
        assert unsigned["retcode"] == 109
        parties = json.loads((root / "demo.json").read_text())["parties"]
        for party, info in parties.items():  # every party ran its share, asked with its own key
            auth = AppKeyAuth(info["app_key"], info["secret_key"])
            rows = requests.post(f"http://{info['address']}/v1/job/query", json={"job_id": job_id},
                                 auth=auth, timeout=10).json()["data"]
            own = [r for r in rows if r["f_role"] == ROLES[int(party)]]
            assert own and own[0]["f_status"] == "success", (party, rows)
        assert int(next(iter(parties))) == GUEST
        stop = subprocess.run([PYTHON, str(ROOT / "fate_flow_server.py"), "demo", "stop", "--dir", str(root)],
                              capture_output=True, text=True, timeout=120, cwd=str(tmp_path), env=env)
        assert stop.returncode == 0, stop.stdout + stop.stderr
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)
    assert not demo_processes(root)
    assert not (root / "demo.json").exists()
