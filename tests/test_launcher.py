"""The launcher's standby task process: started ahead, handed the next task, or retired unused."""
from __future__ import annotations

import io
import json
import os
import queue
import sys
import time

import psutil
import pytest

from fate_flow.driver.launcher import Launcher, TaskKey, process_create_time

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


def test_a_task_handed_to_the_standby_runs_in_it(launcher, tmp_path):
    assert launcher.prewarm(tmp_path)
    assert not launcher.prewarm(tmp_path)  # one standby at a time
    standby = launcher._standby
    config = tmp_path / "no_such_config.json"  # the executor fails on it: enough to see where it ran
    pid, created = launcher.start(KEY, config, tmp_path / "logs", "127.0.0.1:1", tmp_path)
    assert pid == standby.proc.pid
    assert created == process_create_time(pid)
    assert launcher.is_child(pid)
    event = launcher.events.get(timeout=60)
    assert (event.key, event.pid, event.returncode) == (KEY, pid, 1)
    assert "no_such_config.json" in (tmp_path / "logs" / "std.log").read_text()  # its output went to the task log
    assert not launcher.is_child(pid)
    assert launcher._standby is None


def test_an_unused_standby_is_retired_without_an_event(launcher, tmp_path):
    assert launcher.prewarm(tmp_path, ttl=0.2)
    pid = launcher._standby.proc.pid
    _wait_gone(pid)
    time.sleep(0.2)
    assert launcher._standby is None
    assert launcher.events.empty()
    assert not launcher.has_children()


def test_a_dead_standby_is_replaced_by_a_new_process(launcher, tmp_path):
    assert launcher.prewarm(tmp_path)
    standby = launcher._standby
    standby.proc.kill()
    standby.proc.wait()
    pid, _ = launcher.start(KEY, tmp_path / "missing.json", tmp_path / "logs", "127.0.0.1:1", tmp_path)
    assert pid != standby.proc.pid
    event = launcher.events.get(timeout=60)
    assert (event.pid, event.returncode) == (pid, 1)
    assert launcher.events.empty()  # the killed standby had no task: no event for it


def test_standby_applies_the_order(tmp_path, monkeypatch):
    """In process: the order's environment and log file are set up before main runs with its argv."""
    from fate_flow.driver import task_executor

    seen = {}
    monkeypatch.setattr(task_executor, "_preload", lambda: None)
    monkeypatch.setattr(task_executor, "_redirect_output", lambda path: seen.setdefault("log", path))
    monkeypatch.setattr(task_executor, "main", lambda argv: seen.update(argv=argv) or 7)
    monkeypatch.delenv("FATE_FLOW_TEST_ORDER", raising=False)
    order = {"argv": ["-j", "1"], "env": {"FATE_FLOW_TEST_ORDER": "yes"}, "log": str(tmp_path / "std.log")}
    assert task_executor.standby(io.BytesIO(json.dumps(order).encode() + b"\n")) == 7
    assert seen == {"argv": ["-j", "1"], "log": str(tmp_path / "std.log")}
    assert os.environ["FATE_FLOW_TEST_ORDER"] == "yes"
    monkeypatch.delenv("FATE_FLOW_TEST_ORDER")
    assert task_executor.standby(io.BytesIO(b"")) == 0  # retired: no order
