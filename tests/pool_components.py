"""A test component that starts helper processes, loaded through $FATE_FLOW_COMPONENT_PLUGINS.

``TestSpawn`` can start the Paillier process pool (forkserver, workers, resource tracker)
and leave behind a child that ignores SIGTERM; it writes the pids to ``pid_file`` so that
tests/test_task_processes.py can check none of them outlives the task.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from fate_flow.components import BaseParam, ComponentBase, ComponentOutput, ComponentSpec, register

# a child that outlives its parent unless killed for good: SIGTERM does not end it
STUBBORN_CHILD = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                  "print('ready', flush=True); time.sleep(600)")


class SpawnParam(BaseParam):
    def __init__(self):
        self.pid_file = ""
        self.start_pool = False
        self.leave_child = False
        self.seconds = 0.0
        self.fail = False

    def check(self):
        if not self.pid_file:
            raise ValueError("pid_file is required")


class Spawn(ComponentBase):
    def run(self, ctx, inputs):
        pids = {"task": os.getpid(), "pool": [], "child": None}
        if self.params.start_pool:
            pids["pool"] = _start_paillier_pool()
        if self.params.leave_child:
            child = subprocess.Popen([sys.executable, "-c", STUBBORN_CHILD], stdout=subprocess.PIPE)
            child.stdout.readline()  # it ignores SIGTERM from now on
            pids["child"] = child.pid
        path = Path(self.params.pid_file)
        path.with_suffix(".tmp").write_text(json.dumps(pids))
        path.with_suffix(".tmp").replace(path)  # the test never reads half a file
        ctx.logger.info("helpers started: %s; sleeping %s s", pids, self.params.seconds)
        time.sleep(self.params.seconds)
        if self.params.fail:
            raise RuntimeError("asked to fail")
        return ComponentOutput(model={"SpawnParam": {"seconds": self.params.seconds}})


def _start_paillier_pool() -> list[int]:
    """Encrypt a batch big enough for the process pool; return the pids of its processes."""
    import numpy as np
    import psutil

    from fate_flow.secureprotol import _parallel, generate_keypair, paillier, set_parallelism

    set_parallelism(2)
    public, _ = generate_keypair(1024)
    public.encrypt_array(np.zeros(paillier.POOL_MIN_ENCRYPT))
    if _parallel._pool is None:
        raise RuntimeError("the batch did not start the process pool")
    return [p.pid for p in psutil.Process().children(recursive=True)]


register(ComponentSpec(
    module="TestSpawn",
    programs={"guest": "tests.pool_components:Spawn"},
    param_class="tests.pool_components:SpawnParam",
))
