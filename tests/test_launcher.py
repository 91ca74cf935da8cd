"""The launcher's task forker: started ahead, forks each task into its own session, reports exits, retires
when idle; tasks start afresh while it is not ready or after it died, and a task outlives a dead forker."""
from __future__ import annotations

import json
import os
import queue
import signal
import sys

import numpy as np
import psutil
import pytest

from fate_flow.driver.launcher import UNKNOWN_EXIT, Launcher, TaskKey, kill_process_group, process_create_time

KEY = TaskKey("202401010000000000001", "202401010000000000001_upload_0", "local", "0")


def _wait_gone(pid: int, timeout: float = 30.0) -> None:
    try:
        psutil.Process(pid).wait(timeout)
    except psutil.NoSuchProcess:
        pass


@pytest.fixture
def launcher():
    events: queue.SimpleQueue = queue.SimpleQueue()
    launcher = Launcher(sys.executable, events.put, task_env=lambda party: {"FATE_FLOW_TEST_PARTY": party})
    launcher.events = events
    yield launcher
    launcher.kill_all(grace=1)


def ready_forker(launcher, tmp_path, **kwargs):
    assert launcher.prewarm(tmp_path, **kwargs)
    assert not launcher.prewarm(tmp_path)  # one forker at a time
    forker = launcher._forker
    assert forker.ready.wait(60), "the forker did not finish its imports"
    return forker


def slow_config(tmp_path):
    """A task config whose task lives a second or two: it reports to a server nobody listens on (three
    tries), then fails on the missing module name."""
    path = tmp_path / "task_config.json"
    path.write_text(json.dumps({"log_dir": str(tmp_path / "logs" / "task")}))
    return path


def test_a_task_is_forked_into_its_own_session_and_its_exit_reported(launcher, tmp_path):
    forker = ready_forker(launcher, tmp_path)
    config = tmp_path / "no_such_config.json"  # the executor fails on it: enough to see where it ran
    pid, created = launcher.start(KEY, config, tmp_path / "logs", "127.0.0.1:1", tmp_path)
    assert created == process_create_time(pid) or not psutil.pid_exists(pid)
    assert launcher.is_child(pid)
    event = launcher.events.get(timeout=60)
    assert (event.key, event.pid, event.returncode) == (KEY, pid, 1)
    assert "no_such_config.json" in (tmp_path / "logs" / "std.log").read_text()  # its output went to the task log
    assert not launcher.is_child(pid)
    assert launcher._forker is forker and not forker.gone.is_set()  # it stays for the next task

    pid, created = launcher.start(KEY, slow_config(tmp_path), tmp_path / "logs", "127.0.0.1:1", tmp_path)
    task = psutil.Process(pid)
    assert task.ppid() == forker.proc.pid
    assert os.getpgid(pid) == pid and os.getsid(pid) == pid  # a session of its own, as a task started afresh
    assert kill_process_group(pid, created, grace=1)
    event = launcher.events.get(timeout=60)
    assert (event.pid, event.returncode) == (pid, -signal.SIGTERM)


def test_an_idle_forker_retires_without_an_event(launcher, tmp_path):
    forker = ready_forker(launcher, tmp_path, ttl=0.5)
    _wait_gone(forker.proc.pid)
    assert forker.gone.wait(10)
    assert launcher._forker is None
    assert launcher.events.empty()
    assert not launcher.has_children()


def test_tasks_start_afresh_when_the_forker_is_dead_and_a_forked_task_outlives_it(launcher, tmp_path):
    forker = ready_forker(launcher, tmp_path)
    pid, _ = launcher.start(KEY, slow_config(tmp_path), tmp_path / "logs", "127.0.0.1:1", tmp_path)
    forker.proc.kill()
    assert forker.gone.wait(10)
    assert psutil.pid_exists(pid), "the task does not die with its forker"
    event = launcher.events.get(timeout=60)
    assert (event.pid, event.returncode) == (pid, UNKNOWN_EXIT), "its end is noticed, its exit code lost"

    fresh, _ = launcher.start(KEY, tmp_path / "missing.json", tmp_path / "logs2", "127.0.0.1:1", tmp_path)
    assert fresh != pid
    event = launcher.events.get(timeout=60)
    assert (event.pid, event.returncode) == (fresh, 1)
    assert launcher.events.empty()


def test_the_order_sets_cwd_environment_log_and_a_fresh_random_state(tmp_path, monkeypatch):
    """In process: what a forked child does before main runs with the order's argv."""
    from fate_flow.driver import task_executor, task_forker

    seen = {}
    monkeypatch.setattr(task_executor, "redirect_output", lambda path: seen.setdefault("log", path))
    monkeypatch.setattr(task_executor, "main", lambda argv: seen.update(argv=argv) or 7)
    monkeypatch.delenv("FATE_FLOW_TEST_ORDER", raising=False)
    monkeypatch.chdir(os.getcwd())  # restored after the test
    np.random.seed(1)
    inherited = np.random.get_state()[1].copy()
    order = {"argv": ["-j", "1"], "env": {"FATE_FLOW_TEST_ORDER": "yes"}, "log": str(tmp_path / "std.log"),
             "cwd": str(tmp_path)}
    assert task_forker._run_order(order) == 7
    assert seen == {"argv": ["-j", "1"], "log": str(tmp_path / "std.log")}
    assert os.environ["FATE_FLOW_TEST_ORDER"] == "yes"
    assert os.getcwd() == str(tmp_path)
    assert not np.array_equal(np.random.get_state()[1], inherited), "every task must not share the forker's seed"
    monkeypatch.delenv("FATE_FLOW_TEST_ORDER")
