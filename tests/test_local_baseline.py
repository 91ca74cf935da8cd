"""LocalBaseline equals scikit-learn's own fit on the same rows: weights, intercepts and every predicted
probability (binary breast data, and FATE's 4-class vehicle example with its one-vs-rest options);
a saved model predicts the same rows again; FATE's model layout; the error without scikit-learn."""
from __future__ import annotations

import builtins
import json

import numpy as np
import pytest

from fate_flow.components import get_spec
from fate_flow.components.local_baseline import local_baseline as lb
from fate_flow.components.local_baseline.local_baseline import LocalBaseline
from tests.component_harness import DATA, close_contexts, read_breast_hetero, read_csv, rows_by_id, store
from tests.test_data_modules import PARTITIONS, make_ctx

sklearn = pytest.importorskip("sklearn")
# the example's 5 lbfgs iterations do not converge, on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.multiclass import OneVsRestClassifier  # noqa: E402

# FATE's example conf (local_baseline/test_local_baseline_job_conf.json)
VEHICLE_OPTS = {"penalty": "l2", "tol": 0.0001, "C": 1.0, "fit_intercept": True, "solver": "lbfgs", "max_iter": 5,
                "multi_class": "ovr"}


@pytest.fixture(autouse=True, scope="module")
def _close_computing_sessions():
    yield
    close_contexts()


def params(conf: dict):
    p = get_spec("LocalBaseline").default_params().update(conf)
    p.check()
    return p


def fit_and_predict(instances, conf: dict, name: str):
    table = store(instances, name, PARTITIONS)
    out = LocalBaseline(params(conf)).run(make_ctx("guest"), {"data": {"train_data": table, "eval_data": table}})
    return out, rows_by_id(out.data)


def reference(instances, opts: dict):
    """scikit-learn's own fit of the same options (FATE's penalty l2 is scikit-learn 1.8's l1_ratio 0)."""
    options = dict(opts)
    if options.pop("penalty", "l2") != "l2":
        raise AssertionError("the reference handles FATE's l2 only")
    ovr = options.pop("multi_class", None) == "ovr" and len(np.unique(instances.labels)) > 2
    model = OneVsRestClassifier(LogisticRegression(**options)) if ovr else LogisticRegression(**options)
    return model.fit(instances.features, instances.labels)


def check_rows(rows: dict, instances, model) -> None:
    proba = model.predict_proba(instances.features)
    classes = [str(int(c)) for c in model.classes_]
    for row_id, p in zip(instances.ids.to_pylist(), proba):
        label, result, score, detail, kind = rows[row_id].split(",")
        detail = json.loads(detail.replace(";", ","))
        np.testing.assert_allclose([detail[c] for c in classes], p, atol=1e-6)
        assert result == classes[int(np.argmax(p))] and kind == "train"  # the eval rows are the same ids
        assert float(score) == pytest.approx(p[1] if len(classes) == 2 else p.max(), abs=1e-6)


def test_binary_matches_sklearn():
    guest = read_breast_hetero()[0]
    out, rows = fit_and_predict(guest, {"model_opts": {"C": 0.5, "max_iter": 200}}, "lb_breast")
    model = reference(guest, {"C": 0.5, "max_iter": 200})
    param = out.model["LocalBaselineParam"]
    np.testing.assert_allclose([param["weight"][h] for h in guest.header], model.coef_[0], atol=1e-5)
    assert param["intercept"] == pytest.approx(model.intercept_[0], abs=1e-5)
    assert param["need_one_vs_rest"] is False and param["is_converged"] is True
    assert out.model["LocalBaselineMeta"] == {"penalty": "l2", "tol": 0.0001, "fit_intercept": True,
                                              "optimizer": "lbfgs", "need_one_vs_rest": False, "max_iter": 200}
    check_rows(rows, guest, model)


def test_fate_vehicle_example_one_vs_rest_matches_sklearn():
    vehicle = read_csv(DATA / "vehicle_scale_hetero_guest.csv")
    out, rows = fit_and_predict(vehicle, {"model_opts": VEHICLE_OPTS}, "lb_vehicle")
    model = reference(vehicle, VEHICLE_OPTS)
    param = out.model["LocalBaselineParam"]
    assert param["need_one_vs_rest"] is True and out.model["LocalBaselineMeta"]["need_one_vs_rest"] is True
    result = param["one_vs_rest_result"]
    assert result["one_vs_rest_classes"] == ["0", "1", "2", "3"]
    for single, estimator in zip(result["completed_models"], model.estimators_):
        np.testing.assert_allclose([single["weight"][h] for h in vehicle.header], estimator.coef_[0], atol=1e-4)
        assert single["iters"] == 5 and single["is_converged"] is False
    check_rows(rows, vehicle, model)

    # a predict job: the saved model scores eval_data alone, the same as at fit time
    predicted = LocalBaseline(params({"model_opts": VEHICLE_OPTS})).run(
        make_ctx("guest"), {"data": {"eval_data": store(vehicle, "lb_vehicle_eval", PARTITIONS)},
                            "model": {"local_baseline_0": out.model}})
    again = rows_by_id(predicted.data)
    assert {i: v.rsplit(",", 1)[0] for i, v in again.items()} == {i: v.rsplit(",", 1)[0] for i, v in rows.items()}


def test_need_run_false_passes_the_data_through():
    table = store(read_breast_hetero()[1], "lb_host", PARTITIONS)
    out = LocalBaseline(params({"need_run": False})).run(make_ctx("host"), {"data": {"train_data": table}})
    assert out.data is table and out.model is None


def test_param_checks_and_missing_sklearn(monkeypatch):
    with pytest.raises(ValueError, match="model_name"):
        params({"model_name": "SVM"})
    with pytest.raises(ValueError, match="model_opts"):
        params({"model_opts": [1]})
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match=r"pip install 'fate-flow-server\[sklearn\]'"):
        lb.load_sklearn_lr()
