"""The server's own stop command, and one server per work dir."""
from __future__ import annotations

import json
import subprocess
import sys

import psutil

from tests.flow_server import ROOT, FlowServer


def run_server_command(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "fate_flow_server.py"), *args], cwd=str(cwd),
                          capture_output=True, text=True, timeout=120)


def test_stop_stops_the_server_of_its_work_dir_and_only_it(tmp_path):
    first = FlowServer(tmp_path / "a").start()
    second = FlowServer(tmp_path / "b").start()
    try:
        out = run_server_command("stop", "--conf", str(first.write_conf()), cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert f"stopping the FATE-Flow server pid {first.proc.pid}" in out.stdout
        assert first.proc.wait(30) == 0
        assert not (first.work_dir / "run" / "server.json").exists()
        assert second.proc.poll() is None and second.post("/v1/version/get", {})["retcode"] == 0
    finally:
        first.stop()
        second.stop()


def test_stop_removes_a_stale_server_json(tmp_path):
    server = FlowServer(tmp_path / "a")
    conf = server.write_conf()
    run_dir = server.work_dir / "run"
    run_dir.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run_dir / "server.json").write_text(json.dumps({"pid": dead.pid, "address": "127.0.0.1:1"}))
    out = run_server_command("stop", "--conf", str(conf), cwd=tmp_path)
    assert out.returncode == 0 and "removed a stale" in out.stdout
    assert not (run_dir / "server.json").exists()
    out = run_server_command("stop", "--conf", str(conf), cwd=tmp_path)
    assert out.returncode == 0 and "no FATE-Flow server runs on work dir" in out.stdout


def test_a_pid_that_is_not_a_server_is_never_signalled(tmp_path):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        server = FlowServer(tmp_path / "a")
        conf = server.write_conf()
        (server.work_dir / "run").mkdir(parents=True)
        (server.work_dir / "run" / "server.json").write_text(json.dumps({"pid": bystander.pid}))
        out = run_server_command("stop", "--conf", str(conf), cwd=tmp_path)
        assert out.returncode == 0 and "removed a stale" in out.stdout
        assert psutil.Process(bystander.pid).is_running() and bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_a_second_server_on_the_same_work_dir_says_so_and_never_listens(tmp_path):
    first = FlowServer(tmp_path / "a").start()
    try:
        out = run_server_command("--conf", str(first.write_conf()), "--port", "0", cwd=tmp_path)
        assert out.returncode == 1
        assert "listening" not in out.stdout
        assert f"another scheduler runs on work dir {first.work_dir}" in out.stderr
        assert str(first.proc.pid) in out.stderr and "--work-dir" in out.stderr
        info = json.loads((first.work_dir / "run" / "server.json").read_text())
        assert info["pid"] == first.proc.pid, "the first server's run/server.json is left alone"
        assert first.post("/v1/version/get", {})["retcode"] == 0
    finally:
        first.stop()
