"""No process outlives its task: helpers a task started die with it, however it ends."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from tests.flow_server import PLUGINS, ROOT, FlowServer, wait_until

DEADLINE = 15  # seconds; the server's kill grace in tests is 1 s


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def group_members(pgid: int) -> list[int]:
    """Living (non-zombie) processes of process group ``pgid``."""
    members = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (ProcessLookupError, PermissionError):
            continue
    return members


def assert_all_gone(pgid: int, pids: list[int], timeout: float = DEADLINE) -> None:
    """Wait until group ``pgid`` is empty and none of ``pids`` lives, or fail naming the survivors."""
    def gone():
        return not group_members(pgid) and not [p for p in pids if alive(p)]
    try:
        wait_until(gone, timeout, interval=0.1, what=f"the processes of task group {pgid}")
    except AssertionError:
        left = sorted(set(group_members(pgid)) | {p for p in pids if alive(p)})
        raise AssertionError(f"still alive {timeout}s after the task ended: {[describe(p) for p in left]}") from None


def describe(pid: int) -> str:
    try:
        return f"{pid} {' '.join(psutil.Process(pid).cmdline())[:120]}"
    except psutil.Error:
        return str(pid)


@pytest.fixture
def pid_file(tmp_path):
    """Where the TestSpawn component writes its pids; what a failed test left is killed afterwards."""
    path = tmp_path / "pids.json"
    yield path
    if path.exists():
        pids = json.loads(path.read_text())
        for pid in [pids["task"], pids["child"], *pids["pool"]]:
            try:
                if pid and alive(pid) and os.getpgid(pid) == pids["task"]:
                    os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def server(tmp_path, pid_file):
    server = FlowServer(tmp_path / "server")
    server.env["FATE_FLOW_COMPONENT_PLUGINS"] = f"{PLUGINS},tests.pool_components"
    server.start()
    yield server
    server.stop()


def spawn_job(pid_file: Path, **params) -> tuple[dict, dict]:
    dsl = {"components": {"test_spawn_0": {"module": "TestSpawn"}}}
    conf = {"initiator": {"role": "guest", "party_id": 9999}, "role": {"guest": [9999]},
            "job_parameters": {"work_mode": 0},
            "algorithm_parameters": {"test_spawn_0": {"pid_file": str(pid_file), **params}}}
    return dsl, conf


def started_pids(pid_file: Path, server: FlowServer) -> dict:
    """The pids the component wrote once its helpers were up."""
    def read():
        assert server.proc.poll() is None, server.output()[-3000:]
        return json.loads(pid_file.read_text()) if pid_file.exists() else None
    return wait_until(read, 90, interval=0.1, what="the task to start its helpers")


@pytest.mark.parametrize("ending", ["sigkill", "stop_job"])
def test_task_with_paillier_pool_leaves_no_process(server, pid_file, ending):
    job_id = server.submit(*spawn_job(pid_file, start_pool=True, seconds=600))
    pids = started_pids(pid_file, server)
    task, pool = pids["task"], pids["pool"]
    assert len(pool) >= 4, f"forkserver, resource tracker and 2 workers expected, got {pool}"
    assert {os.getpgid(p) for p in pool} == {task}, "the pool's processes are in the task's group"
    if ending == "sigkill":
        os.kill(task, signal.SIGKILL)
    else:
        assert server.client("-f", "stop_job", "-j", job_id)["retcode"] == 0
    job = server.wait_job(job_id, timeout=DEADLINE)
    assert job["f_status"] == ("failed" if ending == "sigkill" else "canceled"), job
    assert_all_gone(task, [task, *pool])


@pytest.mark.parametrize("outcome", ["success", "failed"])
def test_task_that_reports_its_end_leaves_no_child(server, pid_file, outcome):
    job_id = server.submit(*spawn_job(pid_file, leave_child=True, fail=outcome == "failed"))
    pids = started_pids(pid_file, server)
    job = server.wait_job(job_id, timeout=60)
    assert job["f_status"] == outcome, job
    # the child ignores SIGTERM: only the SIGKILL after the grace period ends it
    assert_all_gone(pids["task"], [pids["child"]])
    assert "outlived it" in server.output()


def test_restart_kills_what_a_task_killed_while_the_server_was_down_left(server, pid_file):
    job_id = server.submit(*spawn_job(pid_file, leave_child=True, seconds=600))
    pids = started_pids(pid_file, server)
    server.proc.send_signal(signal.SIGSTOP)  # so that its watcher can not clean up after the task
    os.kill(pids["task"], signal.SIGKILL)
    wait_until(lambda: not alive(pids["task"]), DEADLINE, what="the task to die")
    server.stop(signal.SIGKILL)
    assert alive(pids["child"]), "nobody was left to kill the task's child"
    server.start()
    assert_all_gone(pids["task"], [pids["child"]])
    job = server.wait_job(job_id, timeout=DEADLINE)
    assert job["f_status"] == "failed", job


def test_cold_stop_of_the_server_kills_every_task_group(server, pid_file):
    server.submit(*spawn_job(pid_file, start_pool=True, leave_child=True, seconds=600))
    pids = started_pids(pid_file, server)
    server.proc.send_signal(signal.SIGTERM)  # warm stop: running tasks may finish
    wait_until(lambda: "stop requested" in server.output(), DEADLINE, what="the warm stop")
    server.proc.send_signal(signal.SIGTERM)  # cold stop: kill them
    server.proc.wait(DEADLINE)
    assert_all_gone(pids["task"], [pids["task"], pids["child"], *pids["pool"]])


POOL_OWNER = textwrap.dedent("""
    import json, os, sys, threading, time
    import psutil
    from fate_flow.secureprotol import _parallel, generate_keypair, paillier, set_parallelism

    if __name__ == "__main__":
        if sys.argv[1] == "forkserver":  # a second thread makes the pool use the forkserver
            threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
        set_parallelism(2)
        public, _ = generate_keypair(1024)
        public.encrypt_array([0.0] * paillier.POOL_MIN_ENCRYPT)
        assert _parallel._pool_method == sys.argv[1], _parallel._pool_method
        print(json.dumps([p.pid for p in psutil.Process().children(recursive=True)]), flush=True)
        time.sleep(600)
""")


@pytest.mark.parametrize("method", ["forkserver", "fork"])
def test_pool_helpers_end_when_their_owner_is_killed_alone(tmp_path, method):
    """Without any process-group kill, the pool's processes follow their owner."""
    script = tmp_path / "pool_owner.py"
    script.write_text(POOL_OWNER)
    owner = subprocess.Popen([sys.executable, str(script), method], stdout=subprocess.PIPE, cwd=str(tmp_path),
                             env=dict(os.environ, PYTHONPATH=str(ROOT)), start_new_session=True)
    helpers = []
    try:
        helpers = json.loads(owner.stdout.readline())
        assert len(helpers) >= 2 and all(alive(p) for p in helpers), helpers
        owner.kill()  # the owner only, not its group
        owner.wait()
        assert_all_gone(owner.pid, helpers)
    finally:
        owner.kill()
        owner.wait()
        for pid in filter(alive, helpers):  # only after a failure
            os.kill(pid, signal.SIGKILL)
