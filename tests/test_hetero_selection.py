"""HeteroFeatureSelection: each filter against the columns numpy says it keeps, the IV filters with a
real binning model (guest and host over the memory federation), what crosses the boundary, the
example confs, transform with a model, and one job through a real server.
"""
from __future__ import annotations

import json
import math
import re
import time

import numpy as np
import pytest

from fate_flow.components import get_spec
from fate_flow.components.hetero_selection.base import NO_BINNING_MODEL
from fate_flow.components.hetero_binning.guest import HeteroFeatureBinningGuest
from fate_flow.components.hetero_binning.host import HeteroFeatureBinningHost
from fate_flow.components.hetero_selection.guest import HeteroFeatureSelectionGuest
from fate_flow.components.hetero_selection.host import HeteroFeatureSelectionHost
from fate_flow.computing import Instances
from tests.component_harness import (
    close_contexts, read_back, read_breast_hetero, rows_by_id, store, upload_breast_hetero,
)
from tests.flow_server import ROOT
from tests.test_hetero_binning import GUEST, HOST, HOST2, make_ctx, run_binning, run_parties
from tests.test_hetero_binning import run_alone as run_binning_alone

EXAMPLES = ROOT / "examples"
FED_EXAMPLE = EXAMPLES / "federatedml-1.x-examples" / "hetero_feature_selection"
CLASSES = {"guest": HeteroFeatureSelectionGuest, "host": HeteroFeatureSelectionHost}


@pytest.fixture(autouse=True, scope="module")
def _close_computing_sessions():
    yield
    close_contexts()


def selection_params(**conf):
    params = get_spec("HeteroFeatureSelection").default_params().update(conf)
    params.check()
    return params


@pytest.fixture(scope="module")
def breast():
    return read_breast_hetero()


@pytest.fixture(scope="module")
def binned(breast):
    """The binning models of a default federated run, and the IVs they hold (own names for both)."""
    runs = run_binning(*breast)
    guest_model = runs[("guest", GUEST)]["output"].model
    host_model = runs[("host", HOST)]["output"].model
    guest_iv = {k: v["iv"] for k, v in guest_model["FeatureBinningParam"]["binning_result"]["binning_result"].items()}
    host_iv = {f"x{k.split('.')[1]}": v["iv"]
               for k, v in guest_model["FeatureBinningParam"]["host_results"][0]["binning_result"].items()}
    return {"guest_model": guest_model, "host_model": host_model, "guest_iv": guest_iv, "host_iv": host_iv,
            "runs": runs}


def run_selection(guest: Instances, host: Instances, conf: dict, binned=None, host_conf=None, hosts=(HOST,)):
    """Run the selection guest and host(s); ``binned`` gives each its isometric binning model."""
    def inputs(data, model, name):
        iso = {"hetero_feature_binning_0": model} if model else {}
        return {"data": {"data": store(data, name, partitions=4)}, "isometric_model": iso}

    party_inputs = {"guest": inputs(guest, binned and binned["guest_model"], "g"),
                    "host": inputs(host, binned and binned["host_model"], "h")}
    confs = {"guest": conf, "host": {**conf, **(host_conf or {})}}
    return run_parties("HeteroFeatureSelection", CLASSES, confs, party_inputs, hosts=hosts)


def kept(runs, role, party=None) -> list[str]:
    party = party or (GUEST if role == "guest" else HOST)
    return read_back(runs[(role, party)]["output"].data).header


def names(header, mask) -> list[str]:
    return [name for name, keep in zip(header, mask) if keep]


# ----------------------------------------------------------------------------- parameters

def test_defaults_are_fates_effective_ones():
    params = selection_params().to_dict()
    assert {"filter_method", "select_cols", "local_only"}.isdisjoint(params), "unknown default-conf keys dropped"
    assert params["filter_methods"] == ["unique_value"] and params["select_col_indexes"] == -1
    assert params["select_names"] == [] and params["unique_param"] == {"eps": 1e-5}
    assert params["iv_value_param"] == {"value_threshold": 0.0, "host_thresholds": None, "local_only": False}
    assert params["iv_percentile_param"] == {"percentile_threshold": 1.0, "local_only": False}
    assert params["iv_top_k_param"] == {"k": 10, "local_only": False}
    assert params["variance_coe_param"] == {"value_threshold": 1.0}
    assert params["outlier_param"] == {"percentile": 1.0, "upper_threshold": 1.0}
    assert params["percentage_value_param"] == {"upper_pct": 1.0} and params["need_run"] is True
    assert get_spec("HeteroFeatureSelection").param_name() == "FeatureSelectionParam"
    assert selection_params(filter_methods=["IV_Top_K"]).filter_methods == ["iv_top_k"]


@pytest.mark.parametrize("conf, name", [
    ({"filter_methods": ["variance"]}, "filter_methods"), ({"filter_methods": "unique_value"}, "filter_methods"),
    ({"unique_param": {"eps": -1}}, "unique_param.eps"), ({"iv_top_k_param": {"k": 0}}, "iv_top_k_param.k"),
    ({"iv_percentile_param": {"percentile_threshold": 2}}, "iv_percentile_param.percentile_threshold"),
    ({"iv_value_param": {"host_thresholds": 1}}, "iv_value_param.host_thresholds"),
    ({"outlier_param": {"percentile": 1.5}}, "outlier_param.percentile"),
    ({"manually_param": {"filter_out_names": [], "left_col_names": ["x0"]}}, "manually_param"),
    ({"select_col_indexes": "all"}, "select_col_indexes"), ({"need_run": 1}, "need_run"),
])
def test_bad_parameters_are_named(conf, name):
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        selection_params(**conf)


# ----------------------------------------------------------------------------- local filters

def test_unique_value_drops_constant_columns(breast):
    guest, host = breast
    g = guest.features.copy()
    g[:, 3], g[:, 5] = 1.0, 1.0 + np.linspace(0, 1e-7, len(g))
    h = host.features.copy()
    h[:, 0] = -2.0
    runs = run_selection(guest.with_features(g), host.with_features(h), {"filter_methods": ["unique_value"]})
    for role, x, data in (("guest", g, guest), ("host", h, host)):
        spread = x.max(axis=0) - x.min(axis=0)
        assert kept(runs, role) == names(data.header, spread >= 1e-5)
    assert "x3" not in kept(runs, "guest") and "x5" not in kept(runs, "guest") and "x0" not in kept(runs, "host")
    assert all(not run["federation"].sent for run in runs.values()), "local filters exchange nothing"


def test_coefficient_of_variation_and_outlier_cols(breast):
    guest, host = breast
    conf = {"filter_methods": ["coefficient_of_variation_value_thres"], "variance_coe_param": {"value_threshold": 1e8}}
    runs = run_selection(guest, host, conf)
    for role, data in (("guest", guest), ("host", host)):
        x = data.features
        coefficient = np.abs(x.std(axis=0) / x.mean(axis=0))
        assert kept(runs, role) == names(data.header, coefficient >= 1e8), role
        assert 0 < len(kept(runs, role)) < len(data.header)
    conf = {"filter_methods": ["outlier_cols"], "outlier_param": {"percentile": 0.95, "upper_threshold": 1.8}}
    runs = run_selection(guest, host, conf)
    for role, data in (("guest", guest), ("host", host)):
        q95 = np.quantile(data.features, 0.95, axis=0, method="inverted_cdf")
        assert kept(runs, role) == names(data.header, q95 < 1.8), role
        assert 0 < len(kept(runs, role)) < len(data.header)


def test_percentage_value_drops_columns_dominated_by_one_value(breast):
    guest, host = breast
    g = guest.features.copy()
    g[:, 1] = np.where(np.arange(len(g)) % 10 < 7, 0.0, g[:, 1])  # 70% zeros
    g[:, 2] = np.where(np.arange(len(g)) % 10 < 4, 0.0, g[:, 2])  # 40% zeros
    runs = run_selection(guest.with_features(g), host, {"filter_methods": ["percentage_value"],
                                                        "percentage_value_param": {"upper_pct": 0.5}})
    assert kept(runs, "guest") == [h for h in guest.header if h != "x1"]
    assert kept(runs, "host") == host.header


def test_manually_filters_out_or_keeps_listed_columns(breast):
    guest, host = breast
    conf = {"filter_methods": ["manually"], "manually_param": {"filter_out_indexes": [0], "filter_out_names": ["x3"]}}
    host_conf = {"manually_param": {"left_col_names": ["x1", "x7", "nope"], "left_col_indexes": [2]}}
    runs = run_selection(guest, host, conf, host_conf=host_conf)
    assert kept(runs, "guest") == [h for h in guest.header if h not in ("x0", "x3")]
    assert kept(runs, "host") == ["x1", "x2", "x7"]
    for role, party, removed in (("guest", GUEST, {"x0", "x3"}), ("host", HOST, set(host.header) - {"x1", "x2", "x7"})):
        model = runs[(role, party)]["output"].model
        [result] = model["FeatureSelectionParam"]["results"]
        assert result["filter_name"] == "manually" and result["left_cols"]["original_cols"] == (
            guest.header if role == "guest" else host.header)
        assert {n for n, keep in result["left_cols"]["left_cols"].items() if not keep} == removed
    meta = runs[("host", HOST)]["output"].model["FeatureSelectionMeta"]["manually_meta"]
    assert meta["left_col_names"] == ["x1", "x7", "nope"] and meta["left_col_indexes"] == [2]


def test_only_the_select_columns_are_judged_and_every_filter_keeps_one(breast):
    guest, host = breast
    conf = {"filter_methods": ["outlier_cols"], "outlier_param": {"percentile": 0.5, "upper_threshold": -100},
            "select_col_indexes": [0, 1, 2]}
    runs = run_selection(guest, host, conf, host_conf={"select_col_indexes": -1})
    median = np.quantile(guest.features[:, :3], 0.5, axis=0, method="inverted_cdf")
    best = guest.header[int(np.argmin(median))]
    assert kept(runs, "guest") == [h for h in guest.header if h not in {"x0", "x1", "x2"} - {best}]
    host_median = np.quantile(host.features, 0.5, axis=0, method="inverted_cdf")
    assert kept(runs, "host") == [host.header[int(np.argmin(host_median))]]


# ----------------------------------------------------------------------------- IV filters

def test_iv_value_threshold_per_party(breast, binned):
    guest, host = breast
    conf = {"filter_methods": ["iv_value_thres"], "iv_value_param": {"value_threshold": 1.5}}
    runs = run_selection(guest, host, conf, binned)
    assert kept(runs, "guest") == [n for n in guest.header if binned["guest_iv"][n] > 1.5]
    assert kept(runs, "host") == [n for n in host.header if binned["host_iv"][n] > 1.5]
    conf = {"filter_methods": ["iv_value_thres"], "iv_value_param": {"value_threshold": 1.5, "host_thresholds": [4]}}
    runs = run_selection(guest, host, conf, binned)
    assert kept(runs, "host") == [n for n in host.header if binned["host_iv"][n] > 4]
    with pytest.raises(ValueError, match="host_thresholds has 2 values for 1 hosts"):
        run_alone(HeteroFeatureSelectionGuest, store(guest), {**conf, "iv_value_param": {"host_thresholds": [1, 2]}},
                  iso=binned["guest_model"], roles={"guest": [GUEST], "host": [HOST]})


def test_iv_percentile_and_top_k_pool_guest_and_host_ivs(breast, binned):
    guest, host = breast
    pooled = sorted([*binned["guest_iv"].values(), *binned["host_iv"].values()], reverse=True)
    threshold = pooled[math.floor(0.6 * len(pooled) - 1e-8)]
    runs = run_selection(guest, host, {"filter_methods": ["iv_percentile"],
                                       "iv_percentile_param": {"percentile_threshold": 0.6}}, binned)
    assert kept(runs, "guest") == [n for n in guest.header if binned["guest_iv"][n] >= threshold]
    assert kept(runs, "host") == [n for n in host.header if binned["host_iv"][n] >= threshold]
    assert len(kept(runs, "guest")) + len(kept(runs, "host")) == 18
    runs = run_selection(guest, host, {"filter_methods": ["iv_top_k"], "iv_top_k_param": {"k": 5}}, binned)
    top = pooled[4]
    assert kept(runs, "guest") == [n for n in guest.header if binned["guest_iv"][n] >= top]
    assert kept(runs, "host") == [n for n in host.header if binned["host_iv"][n] >= top]
    assert len(kept(runs, "guest")) + len(kept(runs, "host")) == 5


def test_iv_filters_keep_each_partys_best_column_and_local_only_spares_the_host(breast, binned):
    guest, host = breast
    runs = run_selection(guest, host, {"filter_methods": ["iv_value_thres"],
                                       "iv_value_param": {"value_threshold": 100}}, binned)
    assert kept(runs, "guest") == [max(binned["guest_iv"], key=binned["guest_iv"].get)]
    assert kept(runs, "host") == [max(binned["host_iv"], key=binned["host_iv"].get)]
    runs = run_selection(guest, host, {"filter_methods": ["iv_top_k"], "iv_top_k_param": {"k": 2, "local_only": True}},
                         binned)
    assert len(kept(runs, "guest")) == 2 and kept(runs, "host") == host.header
    result = runs[("guest", GUEST)]["output"].model["FeatureSelectionParam"]["results"][0]
    assert result["host_feature_values"] == [{"feature_values": {}}]


def run_with_isometric(guest, host, conf, guest_model, host_model, component="hetero_feature_binning_1"):
    """Selection whose isometric_model comes from ``component`` (not the data's upstream), as FATE allows."""
    def inputs(data, model, name):
        return {"data": {"data": store(data, name, partitions=2)}, "isometric_model": {component: model}}

    return run_parties("HeteroFeatureSelection", CLASSES, {"guest": conf, "host": conf},
                       {"guest": inputs(guest, guest_model, "g"), "host": inputs(host, host_model, "h")})


@pytest.mark.parametrize("conf, rule", [
    ({"filter_methods": ["iv_value_thres"], "iv_value_param": {"value_threshold": 2.0}}, lambda iv, pooled: iv > 2.0),
    ({"filter_methods": ["iv_percentile"], "iv_percentile_param": {"percentile_threshold": 0.5}},
     lambda iv, pooled: iv >= pooled[math.floor(0.5 * len(pooled) - 1e-8)]),
    ({"filter_methods": ["iv_top_k"], "iv_top_k_param": {"k": 7}}, lambda iv, pooled: iv >= pooled[6]),
])
def test_every_iv_filter_takes_the_binning_model_of_another_component(breast, binned, conf, rule):
    guest, host = breast
    runs = run_with_isometric(guest, host, conf, binned["guest_model"], binned["host_model"])
    pooled = sorted([*binned["guest_iv"].values(), *binned["host_iv"].values()], reverse=True)
    assert kept(runs, "guest") == [n for n in guest.header if rule(binned["guest_iv"][n], pooled)]
    assert kept(runs, "host") == [n for n in host.header if rule(binned["host_iv"][n], pooled)]


def test_a_binning_model_without_result_for_a_party_explains_itself(breast, binned):
    guest, host = breast
    unfitted = run_binning_alone(HeteroFeatureBinningHost, store(host), {"need_run": False}, role="host", party=HOST).model
    conf = {"filter_methods": ["unique_value", "iv_top_k"]}
    expected = ("host 10000 stopped the selection: the isometric_model input hetero_feature_binning_1 produced "
                "no binning result for host 10000 (it ran with need_run false)")
    started = time.monotonic()
    with pytest.raises(ValueError, match=re.escape(expected)):
        run_with_isometric(guest, host, conf, binned["guest_model"], unfitted)
    unfitted = run_binning_alone(HeteroFeatureBinningGuest, store(guest), {"need_run": False}).model
    with pytest.raises(ValueError, match="produced no binning result for guest 9999"):
        run_with_isometric(guest, host, conf, unfitted, binned["host_model"])
    assert time.monotonic() - started < 8, "both parties stop at once (told why), none waits for a timeout"


def test_what_crosses_the_boundary_and_the_model(breast, binned):
    guest, host = breast
    conf = {"filter_methods": ["unique_value", "iv_top_k", "iv_value_thres"], "iv_top_k_param": {"k": 20},
            "iv_value_param": {"value_threshold": 1.0}}
    runs = run_selection(guest, host, conf, binned)
    guest_fed, host_fed = runs[("guest", GUEST)]["federation"], runs[("host", HOST)]["federation"]
    assert [(r[0].split(".")[1], r[1]) for r in guest_fed.received] == [("host_select_cols", "default.1"),
                                                                        ("host_select_cols", "default.2")]
    first = guest_fed.received[0][4]
    assert first == [f"host.{j}" for j in range(20)], "only anonymous names reach the guest"
    assert [(r[0].split(".")[1], r[1]) for r in host_fed.received] == [("result_left_cols", "default.1"),
                                                                       ("result_left_cols", "default.2")]
    for record in host_fed.received:
        assert all(isinstance(n, str) and n.startswith("host.") for n in record[4]), "no IV reaches the host"
    model = runs[("guest", GUEST)]["output"].model
    param, meta = model["FeatureSelectionParam"], model["FeatureSelectionMeta"]
    assert meta["filter_methods"] == conf["filter_methods"] and meta["cols"] == guest.header
    assert meta["iv_top_k_meta"] == {"k": 20, "local_only": False} and meta["need_run"] is True
    assert [r["filter_name"] for r in param["results"]] == conf["filter_methods"]
    assert param["host_col_names"] == [{"col_names": first, "party_id": str(HOST)}]
    top_k = param["results"][1]
    assert top_k["host_left_cols"][0]["original_cols"] == first
    assert sum(top_k["host_left_cols"][0]["left_cols"].values()) + sum(top_k["left_cols"]["left_cols"].values()) == 20
    final = param["final_left_cols"]
    assert final["original_cols"] == guest.header
    assert [n for n, k in final["left_cols"].items() if k] == kept(runs, "guest")
    host_param = runs[("host", HOST)]["output"].model["FeatureSelectionParam"]
    assert [n for n, k in host_param["final_left_cols"]["left_cols"].items() if k] == kept(runs, "host")
    assert host_param["results"][2]["feature_values"] == {} and host_param["host_col_names"] == []
    json.dumps(model), json.dumps(runs[("host", HOST)]["output"].model)


def test_two_hosts_are_judged_with_their_own_binning_results(breast, binned):
    guest, host = breast
    conf = {"filter_methods": ["iv_value_thres"], "iv_value_param": {"value_threshold": 1.5,
                                                                     "host_thresholds": [1.0, 4.0]}}
    runs = run_selection(guest, host, conf, binned, hosts=(HOST, HOST2))
    assert kept(runs, "host", HOST2) == host.header, "a host the binning model has no result of stays unjudged"
    binning = binned["guest_model"]["FeatureBinningParam"]
    second = dict(binning["host_results"][0], party_id=str(HOST2))
    binned2 = dict(binned, guest_model={**binned["guest_model"], "FeatureBinningParam": {
        **binning, "host_results": [binning["host_results"][0], second]}})
    runs = run_selection(guest, host, conf, binned2, hosts=(HOST, HOST2))
    assert kept(runs, "host", HOST) == [n for n in host.header if binned["host_iv"][n] > 1.0]
    assert kept(runs, "host", HOST2) == [n for n in host.header if binned["host_iv"][n] > 4.0]


# ----------------------------------------------------------------------------- the example confs

def expected_example_selection(guest: Instances, host: Instances, binned: dict) -> tuple[list, list]:
    """The federatedml-1.x selection example's six filters, worked out step by step with numpy."""
    g, h = list(guest.header), list(host.header)
    gx = {n: guest.features[:, j] for j, n in enumerate(guest.header)}
    hx = {n: host.features[:, j] for j, n in enumerate(host.header)}
    # manually (nothing listed), unique_value (eps 1e-6)
    g = [n for n in g if np.ptp(gx[n]) >= 1e-6]
    h = [n for n in h if np.ptp(hx[n]) >= 1e-6]
    # iv_value_thres 0.1
    g = [n for n in g if binned["guest_iv"][n] > 0.1]
    h = [n for n in h if binned["host_iv"][n] > 0.1]
    # coefficient_of_variation_value_thres 0.3
    g = [n for n in g if abs(gx[n].std() / gx[n].mean()) >= 0.3]
    h = [n for n in h if abs(hx[n].std() / hx[n].mean()) >= 0.3]
    # iv_percentile 0.9 over the columns left on both sides
    pooled = sorted([binned["guest_iv"][n] for n in g] + [binned["host_iv"][n] for n in h], reverse=True)
    threshold = pooled[math.floor(0.9 * len(pooled) - 1e-8)]
    g = [n for n in g if binned["guest_iv"][n] >= threshold]
    h = [n for n in h if binned["host_iv"][n] >= threshold]
    # outlier_cols: the 95% quantile below 2.0 (each side keeps its lowest if none passes)
    def outlier(cols, x):
        q = {n: np.quantile(x[n], 0.95, method="inverted_cdf") for n in cols}
        return [n for n in cols if q[n] < 2.0] or [min(cols, key=q.get)]
    return outlier(g, gx), outlier(h, hx)


def test_the_federatedml_example_conf(breast, binned):
    conf = json.loads((FED_EXAMPLE / "test_hetero_feature_selection_job_conf.json").read_text())
    selection = conf["algorithm_parameters"]["hetero_feature_selection_0"]
    runs = run_selection(*breast, selection, binned)
    expected_guest, expected_host = expected_example_selection(*breast, binned)
    assert kept(runs, "guest") == expected_guest and kept(runs, "host") == expected_host
    assert expected_guest and expected_host and len(expected_guest) + len(expected_host) < 30
    out = read_back(runs[("guest", GUEST)]["output"].data)
    assert np.array_equal(out.labels, breast[0].labels)
    assert np.array_equal(out.features, breast[0].features[:, [breast[0].header.index(n) for n in expected_guest]])


def test_the_hetero_lr_example_selection_conf(breast, binned):
    """examples/fate_flow/test_hetero_lr_job_conf.json sets nothing for the selection: FATE's defaults
    (unique_value, eps 1e-5) run on the binning output (bin indexes), with the binning model."""
    conf = json.loads((EXAMPLES / "fate_flow" / "test_hetero_lr_job_conf.json").read_text())
    assert "hetero_feature_selection_0" not in conf["algorithm_parameters"]
    runs = binned["runs"]
    guest_bins = read_back(runs[("guest", GUEST)]["output"].data)
    host_bins = read_back(runs[("host", HOST)]["output"].data)
    result = run_selection(guest_bins, host_bins, {}, binned)
    for role, data in (("guest", guest_bins), ("host", host_bins)):
        assert kept(result, role) == names(data.header, np.ptp(data.features, axis=0) >= 1e-5)
    assert kept(result, "guest") == guest_bins.header


# ----------------------------------------------------------------------------- other modes and errors

def run_alone(cls, table, conf=None, model=None, iso=None, role="guest", party=GUEST, roles=None):
    """Run one party with no federation (transform, errors found before any message)."""
    inputs = {"data": {"data": table}, "model": {"hetero_feature_selection_0": model} if model else {},
              "isometric_model": {"hetero_feature_binning_0": iso} if iso else {}}
    ctx = make_ctx(role, party, roles or {"guest": [GUEST]}, None, "hetero_feature_selection_0")
    return cls(selection_params(**(conf or {}))).run(ctx, inputs)


def test_a_selection_model_input_reapplies_the_left_columns(breast, binned):
    guest, host = breast
    conf = {"filter_methods": ["iv_value_thres"], "iv_value_param": {"value_threshold": 2.0}}
    runs = run_selection(guest, host, conf, binned)
    for role, cls, data in (("guest", HeteroFeatureSelectionGuest, guest), ("host", HeteroFeatureSelectionHost, host)):
        party = GUEST if role == "guest" else HOST
        model = runs[(role, party)]["output"].model
        output = run_alone(cls, store(data, role), {"filter_methods": ["unique_value"]}, model=model, role=role,
                           party=party)
        assert rows_by_id(output.data) == rows_by_id(runs[(role, party)]["output"].data)
        assert output.model == model


def test_need_run_false_and_missing_inputs(breast):
    table = store(breast[0])
    output = run_alone(HeteroFeatureSelectionGuest, table, {"need_run": False})
    assert output.data is table and output.model["FeatureSelectionMeta"]["need_run"] is False
    with pytest.raises(ValueError, match="isometric_model"):
        run_alone(HeteroFeatureSelectionGuest, table, {"filter_methods": ["iv_percentile"]})
    assert "binning module should be called" in NO_BINNING_MODEL
    with pytest.raises(ValueError, match="select_names: column 'nope' is not in the header"):
        run_alone(HeteroFeatureSelectionGuest, table, {"select_names": ["nope"]})
    with pytest.raises(ValueError, match="exactly one input data table"):
        HeteroFeatureSelectionGuest(selection_params()).run(
            make_ctx("guest", GUEST, {"guest": [GUEST]}, None), {"data": {}})


# ----------------------------------------------------------------------------- through a real server

def test_binning_and_selection_job_through_the_server(flow_server, breast, binned):
    """The hetero-LR example's DSL up to the selection (DataIO -> binning -> selection, isometric model),
    with the federatedml-1.x example's selection parameters, guest 9999 and host 10000 on one server."""
    try:
        get_spec("DataIO").program("guest")
    except (KeyError, ImportError) as exc:
        pytest.skip(f"DataIO is not available: {exc}")
    server = flow_server()
    upload_breast_hetero(server, "selection_test")
    dsl = json.loads((EXAMPLES / "fate_flow" / "test_hetero_lr_job_dsl.json").read_text())
    dsl["components"] = {k: v for k, v in dsl["components"].items() if k not in ("hetero_lr_0", "evaluation_0")}
    example = json.loads((FED_EXAMPLE / "test_hetero_feature_selection_job_conf.json").read_text())
    def train_data(name):
        return {"args": {"data": {"train_data": [{"name": name, "namespace": "selection_test"}]}}}

    conf = {"initiator": {"role": "guest", "party_id": 9999}, "job_parameters": {"work_mode": 0},
            "role": {"guest": [9999], "host": [10000]},
            "role_parameters": {
                "guest": {**train_data("breast_hetero_guest"),
                          "dataio_0": {"with_label": [True], "label_name": ["y"], "label_type": ["int"],
                                       "output_format": ["dense"]}},
                "host": {**train_data("breast_hetero_host"),
                         "dataio_0": {"with_label": [False], "output_format": ["dense"]}}},
            "algorithm_parameters": {
                "hetero_feature_selection_0": {**example["algorithm_parameters"]["hetero_feature_selection_0"],
                                               "filter_methods": ["unique_value", "iv_value_thres", "iv_percentile"]}}}
    job_id = server.submit(dsl, conf)
    assert server.wait_job(job_id, timeout=120)["f_status"] == "success"

    def query(component, role):
        return {"job_id": job_id, "component_name": component, "role": role,
                "party_id": 9999 if role == "guest" else 10000}

    binning = server.post("/v1/tracking/component/output/model", query("hetero_feature_binning_0", "guest"))
    assert binning["meta"]["module_name"] == "HeteroFeatureBinning"
    ivs = {k: v["iv"] for k, v in binning["data"]["binning_result"]["binning_result"].items()}
    host_ivs = {k: v["iv"] for k, v in binning["data"]["host_results"][0]["binning_result"].items()}
    assert ivs == pytest.approx(binned["guest_iv"])
    assert host_ivs == pytest.approx({f"host.{k[1:]}": v for k, v in binned["host_iv"].items()})
    binned_rows = server.post("/v1/tracking/component/output/data", query("hetero_feature_binning_0", "host"))
    assert binned_rows["meta"]["total"] == 569 and all(float(v).is_integer() for v in binned_rows["data"][0][1:])
    # selection on the bin indexes: unique_value keeps all; then IV > 0.1, then the top 90% by IV
    pooled = sorted([v for v in binned["guest_iv"].values() if v > 0.1]
                    + [v for v in binned["host_iv"].values() if v > 0.1], reverse=True)
    threshold = pooled[math.floor(0.9 * len(pooled) - 1e-8)]
    for role, iv in (("guest", binned["guest_iv"]), ("host", binned["host_iv"])):
        expected = [n for n, v in iv.items() if v > 0.1 and v >= threshold]
        preview = server.post("/v1/tracking/component/output/data", query("hetero_feature_selection_0", role))
        header = preview["meta"]["header"]
        assert header == ["id", *(["y"] if role == "guest" else []), *expected], role
        model = server.post("/v1/tracking/component/output/model", query("hetero_feature_selection_0", role))
        left = model["data"]["final_left_cols"]["left_cols"]  # the stored model's keys come back sorted
        assert {n for n, k in left.items() if k} == set(expected) and model["data"]["header"] == list(iv)
