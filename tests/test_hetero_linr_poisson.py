"""HeteroLinR and HeteroPoisson: parameters, the three parties over the memory federation, and the
quality bars against central references on FATE's example data (motor_hetero, dvisits_hetero).

Each fit is checked twice: against the same optimizer run centrally without encryption (to 1e-6:
the protocol's arithmetic is exact), and against the central model a statistics library fits
(scikit-learn Ridge / PoissonRegressor with FATE's penalty; tolerances stated at each test).
Parties run as threads with 512-bit keys on few features and rows, to stay fast.
"""
from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa
import pytest
from sklearn.linear_model import PoissonRegressor, Ridge

from fate_flow.components import ComponentContext, get_spec
from fate_flow.components.hetero_linr.arbiter import HeteroLinRArbiter
from fate_flow.components.hetero_linr.guest import HeteroLinRGuest
from fate_flow.components.hetero_linr.host import HeteroLinRHost
from fate_flow.components.hetero_linr.param import LinearParam
from fate_flow.components.hetero_poisson.arbiter import HeteroPoissonArbiter
from fate_flow.components.hetero_poisson.guest import HeteroPoissonGuest
from fate_flow.components.hetero_poisson.host import HeteroPoissonHost
from fate_flow.components.hetero_poisson.param import PoissonParam
from fate_flow.components.linear_model.optim import Optimizer
from fate_flow.computing import Instances
from fate_flow.federation.memory import MemoryBoard
from tests.component_harness import (
    DATA, FakeTracker, RecordingFederation, close_contexts, quiet_logger, read_csv, rows_by_id, run_in_threads, store,
    tracked,
)

GUEST, HOST, HOST2, ARBITER = 9999, 10000, 10001, 10002
KEY_BITS = 512
LINR = (HeteroLinRGuest, HeteroLinRHost, HeteroLinRArbiter, LinearParam, "HeteroLinR")
POISSON = (HeteroPoissonGuest, HeteroPoissonHost, HeteroPoissonArbiter, PoissonParam, "HeteroPoisson")


@pytest.fixture(autouse=True)
def _end_computing_sessions():
    yield
    close_contexts()


def columns(data: Instances, names: list[str]) -> Instances:
    return data.select_features([list(data.header).index(name) for name in names])


def head(data: Instances, n: int) -> Instances:
    labels = None if data.labels is None else data.labels[:n]
    return Instances(ids=data.ids.slice(0, n), features=data.features[:n], labels=labels, header=list(data.header),
                     sid_name=data.sid_name, label_name=data.label_name)


def run_parties(module: tuple, conf: dict, guest: Instances, hosts: list[Instances],
                eval_data: bool | Instances = False, timeout: float = 120.0) -> dict:
    """Train guest, hosts and arbiter of ``module`` in threads; returns {(role, party): run}.

    ``eval_data``: True gives every party its train data as eval_data too; Instances give the guest those
    (labels of its own) and the hosts their train data."""
    guest_cls, host_cls, arbiter_cls, param_cls, name = module
    host_ids = [HOST, HOST2][:len(hosts)]
    roles = {"guest": [GUEST], "host": host_ids, "arbiter": [ARBITER]}
    board, task_id = MemoryBoard(), f"task_{uuid.uuid4().hex[:8]}"
    inputs = {GUEST: {"data": {"train_data": store(guest, "g")}}, ARBITER: {"data": {"train_data": None}}}
    for party, data in zip(host_ids, hosts):
        inputs[party] = {"data": {"train_data": store(data, f"h{party}")}}
    if eval_data is not False:
        inputs[GUEST]["data"]["eval_data"] = store(guest if eval_data is True else eval_data, "ge")
        for party, data in zip(host_ids, hosts):
            inputs[party]["data"]["eval_data"] = store(data, f"he{party}")
    parties = [("guest", GUEST, guest_cls)] + [("host", p, host_cls) for p in host_ids]
    parties.append(("arbiter", ARBITER, arbiter_cls))
    runs = {}
    for role, party, cls in parties:
        federation = RecordingFederation(task_id, role, party, roles, {"board": board, "timeout": timeout})
        ctx = tracked(ComponentContext(job_id="job", task_id=task_id, component_name="m_0", role=role,
                                       party_id=party, roles=roles, federation=federation, tracker=FakeTracker(),
                                       logger=quiet_logger(role)))
        params = param_cls().update(get_spec(name).default_conf).update(
            {"encrypt_param": {"key_length": KEY_BITS}, **conf})
        runs[(role, party)] = {"component": cls(params), "ctx": ctx, "inputs": inputs[party],
                               "federation": federation}
    errors = run_in_threads(runs, timeout)
    if errors:
        raise errors[0]
    assert board.pending() == [], "a message was sent but never received"
    return runs


def fitted(runs, model: str, host_ids=(HOST,)) -> np.ndarray:
    """All weights (guest's, hosts', intercept last) of a federated fit."""
    guest = runs[("guest", GUEST)]["output"].model[model]
    out = [guest["weight"][h] for h in guest["header"]]
    for party in host_ids:
        host = runs[("host", party)]["output"].model[model]
        out += [host["weight"][h] for h in host["header"]]
    return np.array(out + [guest["intercept"]])


def central_fit(conf: dict, x: np.ndarray, y: np.ndarray, link: str, offset: np.ndarray | None = None):
    """The same optimizer run on the joined data without encryption: (weights, intercept last; losses)."""
    n = len(y)
    xi = np.hstack([x, np.ones((n, 1))])
    offset = np.zeros(n) if offset is None else offset
    w = np.zeros(xi.shape[1])
    optimizer = Optimizer(conf["optimizer"], conf["learning_rate"], conf["decay"], conf["decay_sqrt"])
    alpha, losses = conf["alpha"], []
    for t in range(conf["max_iter"]):
        optimizer.set_iters(t)
        eta = xi @ w + offset
        if link == "identity":
            d, loss = eta - y, (eta - y) @ (eta - y) / (2 * n)
        else:
            d, loss = np.exp(eta) - y, (np.exp(eta).sum() - y @ eta) / n
        losses.append(loss + 0.5 * alpha * w[:-1] @ w[:-1])
        grad = xi.T @ d / n
        grad[:-1] += alpha * w[:-1]
        w = w - optimizer.apply(grad)
    return w, losses


def arbiter_losses(runs) -> list[float]:
    return [value for _, name, points in runs[("arbiter", ARBITER)]["ctx"].tracker.metrics if name == "loss"
            for _, value in points]


# ----------------------------------------------------------------------------- parameters

def test_params_have_fate_names_defaults_and_checks():
    linr, poisson = LinearParam(), PoissonParam()
    assert (linr.penalty, linr.tol, linr.alpha, linr.optimizer, linr.batch_size, linr.max_iter, linr.early_stop,
            linr.decay, linr.decay_sqrt, linr.metrics) == ("L2", 1e-5, 1.0, "sgd", -1, 100, "diff", 1, True, [])
    assert linr.init_param.init_method == "random_uniform" and linr.sqn_param.memory_M == 5
    assert linr.stepwise_param.nvmin == 2 and linr.stepwise_param.nvmax is None
    assert poisson.exposure_colname is None and not hasattr(poisson, "sqn_param")
    effective = LinearParam().update(get_spec("HeteroLinR").default_conf)
    assert (effective.alpha, effective.init_param.init_method, effective.early_stop, effective.decay,
            effective.decay_sqrt, effective.cv_param.shuffle) == (0.01, "zeros", "weight_diff", 10, False, False)
    effective = PoissonParam().update(get_spec("HeteroPoisson").default_conf)
    assert (effective.alpha, effective.batch_size, effective.init_param.init_method, effective.early_stop) == \
        (0.01, 320, "random_normal", "diff")
    for param_cls, bad, field in [(LinearParam, {"optimizer": "nesterov_momentum_sgd"}, "optimizer"),
                                  (PoissonParam, {"optimizer": "sqn"}, "optimizer"),
                                  (PoissonParam, {"exposure_colname": 3}, "exposure_colname"),
                                  (LinearParam, {"batch_size": 5}, "batch_size"),
                                  (LinearParam, {"early_stop": "loss"}, "early_stop"),
                                  (LinearParam, {"encrypted_mode_calculator_param": {"mode": "x"}}, "mode")]:
        with pytest.raises(ValueError, match=field):
            param_cls().update(bad).check()
    ok = LinearParam().update({"penalty": None, "optimizer": "SQN",
                               "encrypted_mode_calculator_param": {"mode": "confusion_opt"}})
    ok.check()
    assert (ok.penalty, ok.optimizer) == ("NONE", "sqn")
    PoissonParam().update({"optimizer": "nesterov_momentum_sgd", "exposure_colname": "exposure"}).check()


# ----------------------------------------------------------------------------- HeteroLinR

MOTOR_GUEST, MOTOR_HOSTS = ["pm", "stator_yoke"], [["u_q", "torque"], ["i_d"]]  # well conditioned (cond 2.6)
LINR_CONF = {"penalty": "L2", "alpha": 0.01, "optimizer": "sgd", "learning_rate": 0.8, "decay": 0.0,
             "decay_sqrt": False, "max_iter": 25, "early_stop": "weight_diff", "tol": 1e-12, "batch_size": -1,
             "init_param": {"init_method": "zeros"}}
MOTOR_ROWS = 300  # of 800: enough for the bar, cheap enough for the suite


@pytest.fixture(scope="module")
def motor():
    guest = read_csv(DATA / "motor_hetero_guest.csv", True)
    host = read_csv(DATA / "motor_hetero_host.csv", False)
    return head(guest, MOTOR_ROWS), head(host, MOTOR_ROWS)


def motor_reference(guest, hosts):
    x = np.hstack([guest.features] + [h.features for h in hosts])
    return x, guest.labels


@pytest.mark.parametrize("n_hosts", [1, 2])
def test_linr_matches_the_central_regression(motor, n_hosts):
    """Coefficients within 1e-3 of scikit-learn's Ridge(alpha = FATE's alpha * n) on the joined data (FATE's
    loss is sum (u - y)^2 / 2n + alpha/2 |w|^2), and within 1e-6 of the same sgd run centrally."""
    guest = columns(motor[0], MOTOR_GUEST)
    host_cols = [sum(MOTOR_HOSTS, [])] if n_hosts == 1 else MOTOR_HOSTS
    hosts = [columns(motor[1], cols) for cols in host_cols]
    runs = run_parties(LINR, LINR_CONF, guest, hosts)
    weights = fitted(runs, "HeteroLinearRegressionParam", [HOST, HOST2][:n_hosts])
    x, y = motor_reference(guest, hosts)
    replica, losses = central_fit(LINR_CONF, x, y, "identity")
    np.testing.assert_allclose(weights, replica, atol=1e-6)
    ridge = Ridge(alpha=LINR_CONF["alpha"] * len(y)).fit(x, y)
    np.testing.assert_allclose(weights, np.append(ridge.coef_, ridge.intercept_), atol=1e-3)
    if n_hosts == 1:  # the loss (one host only) is FATE's, per iteration, on the arbiter
        np.testing.assert_allclose(arbiter_losses(runs), losses, rtol=1e-6)
        output = runs[("guest", GUEST)]["output"]
        rows = rows_by_id(output.data)
        assert len(rows) == len(y) and all(row.endswith(",train") for row in rows.values())
        predicted = np.hstack([x, np.ones((len(y), 1))]) @ weights
        first = rows[guest.ids[0].as_py()].split(",")
        assert float(first[0]) == pytest.approx(y[0]) and float(first[1]) == float(first[2])
        assert float(first[1]) == pytest.approx(predicted[0], abs=1e-9) and first[3].startswith('{"label":')
        assert set(output.model) == {"HeteroLinearRegressionMeta", "HeteroLinearRegressionParam"}
        meta = output.model["HeteroLinearRegressionMeta"]
        assert meta["fit_intercept"] is True and meta["optimizer"] == "sgd" and meta["early_stop"] == "weight_diff"
        assert runs[("arbiter", ARBITER)]["output"].model["HeteroLinearRegressionParam"] == {}
        sent = {name.split(".")[-1] for name, *_ in runs[("host", HOST)]["federation"].sent}
        assert sent >= {"host_forward", "host_gradient", "loss_intermediate", "host_partial_prediction"}
    else:
        assert arbiter_losses(runs) == []


def test_linr_predict_job_reproduces_the_fit(motor):
    guest, host = columns(motor[0], MOTOR_GUEST), columns(motor[1], sum(MOTOR_HOSTS, []))
    conf = dict(LINR_CONF, max_iter=3)
    runs = run_parties(LINR, conf, head(guest, 100), [head(host, 100)])
    trained = rows_by_id(runs[("guest", GUEST)]["output"].data)
    models = {role: {"m": runs[(role, party)]["output"].model} for role, party in
              (("guest", GUEST), ("host", HOST), ("arbiter", ARBITER))}
    board, task_id = MemoryBoard(), "predict"
    roles = {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]}
    predict = {}
    for role, party, cls, data in (("guest", GUEST, HeteroLinRGuest, head(guest, 100)),
                                   ("host", HOST, HeteroLinRHost, head(host, 100)),
                                   ("arbiter", ARBITER, HeteroLinRArbiter, None)):
        federation = RecordingFederation(task_id, role, party, roles, {"board": board, "timeout": 60})
        ctx = tracked(ComponentContext(job_id="p", task_id=task_id, component_name="m_0", role=role, party_id=party,
                                       roles=roles, federation=federation, tracker=FakeTracker(),
                                       logger=quiet_logger(role)))
        inputs = {"data": {"eval_data": store(data, f"p{role}") if data is not None else None},
                  "model": models[role]}
        predict[(role, party)] = {"component": cls(LinearParam().update(conf)), "ctx": ctx, "inputs": inputs}
    assert run_in_threads(predict, 60) == []
    rows = rows_by_id(predict[("guest", GUEST)]["output"].data)
    assert set(rows) == set(trained)
    for key, value in rows.items():
        assert value.split(",")[:4] == trained[key].split(",")[:4] and value.endswith(",predict")


# ----------------------------------------------------------------------------- HeteroPoisson

DVISITS_GUEST, DVISITS_HOST = ["chcond1", "chcond2"], ["sex", "age", "income", "levyplus", "illness"]
POISSON_CONF = {"penalty": "L2", "alpha": 0.3, "optimizer": "nesterov_momentum_sgd", "learning_rate": 0.1,
                "decay": 0.0, "decay_sqrt": False, "max_iter": 40, "early_stop": "weight_diff", "tol": 1e-12, "batch_size": -1,
                "init_param": {"init_method": "zeros"}}


@pytest.fixture(scope="module")
def dvisits():
    guest = head(read_csv(DATA / "dvisits_hetero_guest.csv", True), 300)
    host = head(read_csv(DATA / "dvisits_hetero_host.csv", False), 300)
    return columns(guest, DVISITS_GUEST), columns(host, DVISITS_HOST)


def test_poisson_matches_the_central_glm(dvisits):
    """Coefficients within 2e-2 of scikit-learn's PoissonRegressor(alpha = FATE's alpha) on the joined data
    (the same objective: mean(mu - y eta) + alpha/2 |w|^2) after 40 nesterov steps on 300 rows (the central
    run of the same steps is 9e-3 away from the optimum), and within 1e-6 of that central run."""
    guest, host = dvisits
    runs = run_parties(POISSON, POISSON_CONF, guest, [host])
    weights = fitted(runs, "HeteroPoissonRegressionParam")
    x, y = motor_reference(guest, [host])
    replica, losses = central_fit(POISSON_CONF, x, y, "exp")
    np.testing.assert_allclose(weights, replica, atol=1e-6)
    np.testing.assert_allclose(arbiter_losses(runs), losses, rtol=1e-6)
    glm = PoissonRegressor(alpha=POISSON_CONF["alpha"], tol=1e-12, max_iter=1000).fit(x, y)
    np.testing.assert_allclose(weights, np.append(glm.coef_, glm.intercept_), atol=2e-2)
    rows = rows_by_id(runs[("guest", GUEST)]["output"].data)
    expected = np.exp(np.hstack([x, np.ones((len(y), 1))]) @ weights)
    assert float(rows[guest.ids[5].as_py()].split(",")[1]) == pytest.approx(expected[5], rel=1e-9)
    meta = runs[("guest", GUEST)]["output"].model["HeteroPoissonRegressionMeta"]
    assert meta["exposure_colname"] is None


def test_poisson_exposure_column_is_an_offset(dvisits):
    """A guest column named by exposure_colname leaves the features and enters as ln(e)."""
    guest, host = head(dvisits[0], 200), head(dvisits[1], 200)
    exposure = 1.0 + (np.arange(200) % 3)
    with_exposure = Instances(ids=guest.ids, features=np.hstack([guest.features, exposure[:, None]]),
                              labels=guest.labels, header=list(guest.header) + ["exposure"],
                              sid_name=guest.sid_name, label_name=guest.label_name)
    conf = dict(POISSON_CONF, max_iter=5, exposure_colname="exposure")
    runs = run_parties(POISSON, conf, with_exposure, [host])
    weights = fitted(runs, "HeteroPoissonRegressionParam")
    assert runs[("guest", GUEST)]["output"].model["HeteroPoissonRegressionParam"]["header"] == DVISITS_GUEST
    x = np.hstack([guest.features, host.features])
    replica, _ = central_fit(conf, x, guest.labels, "exp", offset=np.log(exposure))
    np.testing.assert_allclose(weights, replica, atol=1e-6)
    rows = rows_by_id(runs[("guest", GUEST)]["output"].data)
    expected = exposure * np.exp(np.hstack([x, np.ones((200, 1))]) @ weights)
    assert float(rows[guest.ids[2].as_py()].split(",")[2]) == pytest.approx(expected[2], rel=1e-9)


def test_poisson_refuses_two_hosts(dvisits):
    guest, host = head(dvisits[0], 50), head(dvisits[1], 50)
    with pytest.raises(ValueError, match="exactly one host"):
        run_parties(POISSON, dict(POISSON_CONF, max_iter=1), guest, [host, host], timeout=10)


def test_online_models_score_with_their_links(motor):
    from fate_flow.components.hetero_linr.online import load_online as linr_online
    from fate_flow.components.hetero_poisson.online import load_online as poisson_online

    weights = {"weight": {"a": 2.0, "b": -1.0}, "header": ["a", "b"], "intercept": 0.5}
    linr = linr_online({"HeteroLinearRegressionMeta": {"fit_intercept": True},
                        "HeteroLinearRegressionParam": weights}, "guest", "m")
    data = Instances(ids=pa.array(["1"]), features=np.array([[1.0, 3.0, 2.0]]), header=["a", "b", "exposure"])
    own = linr.share(data)
    assert own == pytest.approx([-0.5]) and linr.score(own, [np.array([1.0])]) == pytest.approx([0.5])
    poisson = poisson_online({"HeteroPoissonRegressionMeta": {"fit_intercept": True, "exposure_colname": "exposure"},
                              "HeteroPoissonRegressionParam": weights}, "guest", "m")
    own = poisson.share(data)
    assert poisson.score(own, [np.array([1.0])]) == pytest.approx([2.0 * np.exp(0.5)])


# ----------------------------------------------------------------------------- scheduling FATE's Poisson example

def test_a_component_no_party_runs_waits_for_its_upstream_and_hands_its_input_on():
    """FATE's Poisson example sets FeatureScale need_run false: HeteroPoisson must wait for Intersection
    and read Intersection's output."""
    import json

    from fate_flow.db import Task
    from fate_flow.driver import dsl_parser
    from fate_flow.driver.party_jobs import pass_through_inputs
    from fate_flow.driver.scheduler import component_states

    folder = DATA.parent / "federatedml-1.x-examples" / "hetero_poisson_regression"
    parser = dsl_parser.parse_job(json.loads((folder / "test_hetero_poisson_train_job_dsl.json").read_text()),
                                  json.loads((folder / "test_hetero_poisson_train_job_conf.json").read_text()),
                                  None, mode="train")
    assert parser.parties("feature_scale_0") == []

    def done(*components):
        return [Task(f_job_id="j", f_component_name=c, f_task_id=f"j_{c}", f_role=role, f_party_id=str(party),
                     f_status="success") for c in components for role, party in parser.parties(c)]

    assert component_states(parser, done("dataio_0"))["feature_scale_0"][0] == "pending"
    assert component_states(parser, done("dataio_0", "intersection_0"))["feature_scale_0"][0] == "success"
    for role in ("guest", "host"):
        inputs = pass_through_inputs(parser, "hetero_poisson_0", role, 10000)
        assert inputs["data"] == {"train_data": ["intersection_0.train"]}
    assert pass_through_inputs(parser, "evaluation_0", "guest", 10000)["data"] == {"data": ["hetero_poisson_0.train"]}
