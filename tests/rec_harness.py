"""One run of a guest/host/arbiter module over the memory federation, for the FederatedRec tests
(HeteroFM, HomoFM, HeteroMF, HeteroSVD, HeteroSVDpp, HeteroGMF): each party a thread with its own
computing session, its data stored as a partitioned table, the first real error raised. A test module
that imports ``_close_computing_sessions`` closes the sessions once its tests are done."""
from __future__ import annotations

import uuid
from typing import Callable

import numpy as np
import pytest

from fate_flow.components import ComponentContext, get_spec
from fate_flow.computing import ComputingConf, Instances, create_session
from fate_flow.federation.base import FederationTimeout
from fate_flow.federation.memory import MemoryBoard
from tests.component_harness import (
    DATA, FakeTracker, RecordingFederation, close_contexts, quiet_logger, read_csv, run_in_threads, store, tracked,
)

GUEST, HOST, ARBITER = 9999, 10000, 10001
ROLES = {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]}


@pytest.fixture(autouse=True, scope="module")
def _close_computing_sessions():
    yield
    close_contexts()


def run_parties(module: str, conf: dict, data: dict[str, Instances], timeout: float = 60.0, partitions: int = 2,
                prepare: Callable | None = None, models: dict | None = None) -> dict:
    """Train ``module`` with ``conf`` on each role's ``data`` (the arbiter gets none); returns per role
    ``{"component", "ctx", "inputs", "output"}``. ``prepare(role, component)`` may adjust a component first.
    With ``models`` (per role, the messages a training run exported) it is a predict job on ``data``."""
    spec = get_spec(module)
    board, task_id = MemoryBoard(), f"task_{uuid.uuid4().hex[:8]}"
    runs = {}
    for role, party in (("guest", GUEST), ("host", HOST), ("arbiter", ARBITER)):
        federation = RecordingFederation(task_id, role, party, ROLES, {"board": board, "timeout": timeout})
        params = spec.default_params().update(conf)
        params.check()
        ctx = tracked(ComponentContext(
            job_id="job", task_id=task_id, component_name=f"{module.lower()}_0", role=role, party_id=party,
            roles=ROLES, federation=federation, tracker=FakeTracker(), logger=quiet_logger(role),
            computing_opener=lambda: create_session(ComputingConf(partitions=partitions))))
        table = store(data[role], f"{module}_{role}_{uuid.uuid4().hex[:6]}", partitions) if role in data else None
        component = spec.program(role)(params)
        if prepare is not None:
            prepare(role, component)
        inputs = {"data": {"train_data": table}}
        if models is not None:
            inputs = {"data": {"eval_data": table}, "model": {f"{module.lower()}_0": models[role]} if models[role] else {}}
        runs[role] = {"component": component, "ctx": ctx, "inputs": inputs}
    errors = run_in_threads(runs, timeout)
    if errors:
        raise next((e for e in errors if not isinstance(e, FederationTimeout)), errors[0])
    assert board.pending() == [], "a message was sent but never received"
    return runs


def logged_losses(run: dict) -> list[float]:
    """The values a party logged with ``log_metric_data``, in order."""
    return [value for _, _, points in run["ctx"].tracker.metrics for _, value in points]


def rec_ratings(kind: str = "ratings") -> dict[str, Instances]:
    """examples/data's FederatedRec tables (``rec_ratings_*``, ``rec_gmf_*``, ``rec_gmf_eval_*``) by role."""
    return {role: read_csv(DATA / f"rec_{kind}_{role}.csv", has_label=False) for role in ("guest", "host")}


def scores_of(data) -> dict[str, float]:
    """predict_score by id from a component's output rows."""
    from tests.component_harness import rows_by_id

    return {key: float(value.split(",")[2]) for key, value in rows_by_id(data).items()}


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(predicted) - np.asarray(actual)) ** 2)))
