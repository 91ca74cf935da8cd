"""SecureAddExample: parameters, the protocol over the memory backend, and two real processes."""
from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import uuid

import numpy as np
import pytest

from fate_flow.components import ComponentContext, ComponentOutput, get_spec
from fate_flow.components.toy_example.param import SecureAddExampleParam
from fate_flow.components.toy_example.secure_add_guest import SecureAddGuest
from fate_flow.components.toy_example.secure_add_host import SecureAddHost
from fate_flow.components.toy_example.transfer import SecureAddExampleTransferVariable
from fate_flow.federation.memory import MemoryBoard, MemoryFederation
from tests.component_harness import FakeTracker, RecordingFederation, run_in_threads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG_FORMAT = "[%(levelname)s] %(filename)s[line:%(lineno)d]: %(message)s"


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter(LOG_FORMAT))
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def list_logger(role):
    logger = logging.getLogger(f"test.secure_add.{role}.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = ListHandler()
    logger.addHandler(handler)
    return logger, handler.lines


def make_context(role, party, roles, federation):
    logger, lines = list_logger(role)
    ctx = ComponentContext(job_id="job_1", task_id="job_1_secure_add_example_0",
                           component_name="secure_add_example_0", role=role, party_id=party,
                           roles=roles, federation=federation, tracker=FakeTracker(), logger=logger)
    return ctx, lines


def run_guest_and_host(roles, guest_conf, host_conf, timeout=10):
    """Run guest and host in two threads over one memory board; return contexts, logs, outcomes."""
    board = MemoryBoard()
    options = {"board": board, "timeout": timeout}
    parties = {
        "guest": (SecureAddGuest, roles["guest"][0], guest_conf),
        "host": (SecureAddHost, roles["host"][0], host_conf),
    }
    runs = {}
    for role, (cls, party, conf) in parties.items():
        federation = RecordingFederation("task_secure_add", role, party, roles, options)
        ctx, lines = make_context(role, party, roles, federation)
        runs[role] = {"ctx": ctx, "lines": lines, "component": cls(SecureAddExampleParam.from_dict(conf)),
                      "inputs": {}}
    run_in_threads(runs, timeout)  # errors are kept for the test to judge
    assert board.pending() == [], "a message was sent but never received"
    return runs


# ----------------------------------------------------------------------------- parameters

def test_param_defaults_and_registry():
    param = SecureAddExampleParam()
    assert param.to_dict() == {"seed": None, "partition": 1, "data_num": 1000}
    param.check()
    spec = get_spec("SecureAddExample")
    assert spec.param_type() is SecureAddExampleParam
    assert spec.program("guest") is SecureAddGuest and spec.program("host") is SecureAddHost


@pytest.mark.parametrize("conf, field", [
    ({"data_num": 0}, "data_num"), ({"data_num": -5}, "data_num"), ({"data_num": 1.5}, "data_num"),
    ({"data_num": "10"}, "data_num"), ({"data_num": True}, "data_num"),
    ({"partition": 0}, "partition"), ({"partition": None}, "partition"),
    ({"seed": "123"}, "seed"),
])
def test_param_check_names_the_bad_parameter(conf, field):
    with pytest.raises(ValueError, match=f"^{field} "):
        SecureAddExampleParam.from_dict(conf).check()


# ----------------------------------------------------------------------------- memory backend

ROLES = {"guest": [9999], "host": [10000]}
TOY_GUEST = {"seed": 123, "partition": 48, "data_num": 1000}
TOY_HOST = {"seed": 321, "partition": 48, "data_num": 1000}


def success_value(lines):
    matches = [re.search(r"success to calculate secure_sum, it is (\S+)$", line) for line in lines]
    values = [float(m.group(1)) for m in matches if m]
    assert len(values) == 1, lines
    return values[0]


def test_secure_add_in_two_threads_gives_twice_data_num():
    runs = run_guest_and_host(ROLES, TOY_GUEST, TOY_HOST)
    for role in ("guest", "host"):
        assert "error" not in runs[role], runs[role].get("error")
        assert runs[role]["output"] == ComponentOutput()
        tracker = runs[role]["ctx"].tracker
        assert (tracker.metrics, tracker.metas, tracker.progress) == ([], [], [])
    lines = runs["guest"]["lines"]
    assert abs(success_value(lines) - 2000.0) < 1e-6
    assert any(line.endswith("Secure Add Result is 2000.0000") for line in lines)
    assert all("secure_add_guest.py[line:" in line for line in lines)
    order = [next(i for i, line in enumerate(lines) if text in line) for text in
             ("host sum is ", "guest sum is ", "Secure Add Result is ", "success to calculate")]
    assert order == sorted(order)


def test_only_the_protocol_messages_cross_the_federation():
    runs = run_guest_and_host(ROLES, TOY_GUEST, TOY_HOST)
    guest, host = runs["guest"]["ctx"].federation, runs["host"]["ctx"].federation
    prefix = SecureAddExampleTransferVariable.__name__ + "."

    assert [(name, tag, role, party) for name, tag, role, party, _ in guest.sent] == [
        (prefix + "guest_share", "default", "host", 10000)]
    assert [(name, tag, role, party) for name, tag, role, party, _ in host.received] == [
        (prefix + "guest_share", "default", "guest", 9999)]
    assert [name for name, *_ in host.sent] == [prefix + "host_share", prefix + "host_sum"]
    assert [name for name, *_ in guest.received] == [prefix + "host_share", prefix + "host_sum"]

    guest_share = host.received[0][4]
    host_share = guest.received[0][4]
    host_sum = guest.received[1][4]
    for share in (guest_share, host_share):
        assert isinstance(share, np.ndarray) and share.shape == (1000,)
        assert not np.allclose(share, 1.0)       # a share is not the raw value
        assert len(np.unique(share)) > 900      # fresh randomness per value
    # a = uniform between -1 and 1, so the sent share b = 1 - a lies in [0, 2]
    assert guest_share.min() >= 0 and guest_share.max() <= 2
    # host_share is the host's a, its half kept apart is 1 - a
    assert host_share.min() >= -1 and host_share.max() <= 1
    assert isinstance(host_sum, float)
    # what the guest saw and what it logged agree: guest_sum = 2000 - host_sum
    assert f"host sum is {host_sum:.4f}" in " ".join(runs["guest"]["lines"])


def test_guest_and_host_may_share_a_party_id():
    runs = run_guest_and_host({"guest": [10000], "host": [10000]}, TOY_GUEST, TOY_HOST)
    assert "error" not in runs["guest"] and "error" not in runs["host"]
    assert abs(success_value(runs["guest"]["lines"]) - 2000.0) < 1e-6


def test_secure_add_works_for_large_data_num():
    conf = {"data_num": 200_000}
    runs = run_guest_and_host(ROLES, conf, conf)
    assert abs(success_value(runs["guest"]["lines"]) - 400_000.0) < 1e-6


def test_different_data_num_fails_both_sides_quickly():
    runs = run_guest_and_host(ROLES, {"data_num": 1000}, {"data_num": 999}, timeout=5)
    for role, other in (("guest", "host_share"), ("host", "guest_share")):
        error = runs[role]["error"]
        assert isinstance(error, ValueError) and other in str(error), error


def test_bad_param_fails_before_any_message():
    board = MemoryBoard()
    federation = MemoryFederation("t", "guest", 9999, ROLES, {"board": board})
    ctx, _ = make_context("guest", 9999, ROLES, federation)
    with pytest.raises(ValueError, match="data_num"):
        SecureAddGuest(SecureAddExampleParam(data_num=0)).run(ctx, {})
    assert board.pending() == []


# ----------------------------------------------------------------------------- two processes

PARTY_SCRIPT = """
import logging, sys
from fate_flow.components import ComponentContext, get_spec
from fate_flow.federation import create_federation

role, party, root, data_num, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
roles = {"guest": [10000], "host": [10000]}
logger = logging.getLogger("task")
handler = logging.FileHandler(log_path)
handler.setFormatter(logging.Formatter(%(fmt)r))
logger.addHandler(handler)
logger.setLevel(logging.INFO)

class Tracker:
    def log_metric_data(self, *args): raise AssertionError("no metrics expected")
    def set_metric_meta(self, *args): raise AssertionError("no metrics expected")

spec = get_spec("SecureAddExample")
params = spec.default_params().update({"data_num": data_num})
federation = create_federation("standalone", "task_toy", role, party, roles, {"root": root, "timeout": 60})
ctx = ComponentContext("job_toy", "task_toy", "secure_add_example_0", role, party, roles,
                       federation, Tracker(), logger)
spec.program(role)(params).run(ctx, {})
federation.close()
""" % {"fmt": LOG_FORMAT}


def test_secure_add_in_two_processes_over_the_standalone_backend(tmp_path):
    root = tmp_path / "federation"
    env = {**os.environ, "PYTHONPATH": ROOT}
    procs = {}
    for role in ("host", "guest"):
        log_path = tmp_path / f"{role}_INFO.log"
        procs[role] = (subprocess.Popen(
            [sys.executable, "-c", PARTY_SCRIPT, role, "10000", str(root), "1000", str(log_path)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), log_path)
    try:
        for role, (proc, _) in procs.items():
            _, stderr = proc.communicate(timeout=60)
            assert proc.returncode == 0, f"{role} failed:\n{stderr}"
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    guest_lines = procs["guest"][1].read_text().splitlines()
    toy_lines = [line for line in guest_lines if "secure_add_guest.py[line" in line]
    assert len(toy_lines) == 4
    assert abs(success_value(toy_lines) - 2000.0) < 1e-6
    assert "Secure Add Result is 2000.0000" in toy_lines[2]
    assert os.listdir(root / "task_toy") == []      # every message was received
