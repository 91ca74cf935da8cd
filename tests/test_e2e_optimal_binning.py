"""One job through a real server: FATE's hetero_feature_selection example DSL (DataIO -> Intersection ->
HeteroFeatureBinning, and HeteroFeatureSelection on the intersection's data with the binning's model as
its isometric model), the binning made optimal as in FATE's optimal-binning example confs.

The guest's optimal split points are checked against the central reference of test_optimal_binning,
the host's through what the guest's model says of them, and the selection's kept columns against the
IVs of the binning model.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fate_flow.components import get_spec
from tests.component_harness import read_breast_hetero, upload_breast_hetero
from tests.flow_server import ROOT
from tests.test_optimal_binning import BIN_NUM, INIT_BINS, MAX_PCT, MIN_PCT, ref_optimal_points

FED = ROOT / "examples" / "federatedml-1.x-examples"
GUEST, HOST = 9999, 10000


def example_job(namespace: str) -> tuple[dict, dict]:
    """FATE's selection DSL; the binning example's conf with method optimal and the selection example's
    IV filters, guest 9999 and host 10000 on one server."""
    dsl = json.loads((FED / "hetero_feature_selection" / "test_hetero_feature_selection_job_dsl.json").read_text())
    conf = json.loads((FED / "hetero_feature_binning" / "test_hetero_binning_job_conf.json").read_text())
    selection = json.loads((FED / "hetero_feature_selection" / "test_hetero_feature_selection_job_conf.json")
                           .read_text())["algorithm_parameters"]["hetero_feature_selection_0"]
    conf["initiator"]["party_id"] = GUEST
    conf["role"] = {"guest": [GUEST], "host": [HOST]}
    for role in ("guest", "host"):
        for table in conf["role_parameters"][role]["args"]["data"]["train_data"]:
            table["namespace"] = namespace
    binning = conf["algorithm_parameters"]["hetero_feature_binning_0"]
    binning.update({"method": "optimal", "bin_num": BIN_NUM,
                    "optimal_binning_param": {"metric_method": "iv", "min_bin_pct": MIN_PCT, "max_bin_pct": MAX_PCT,
                                              "init_bucket_method": "quantile", "init_bin_nums": INIT_BINS,
                                              "mixture": True},
                    "transform_param": {"transform_cols": -1, "transform_type": "woe"}})
    conf["algorithm_parameters"].pop("one_hot_encoder_0", None)
    conf["algorithm_parameters"]["hetero_feature_selection_0"] = {
        **selection, "filter_methods": ["iv_value_thres", "iv_top_k"],
        "iv_value_param": {"value_threshold": 0.1}, "iv_top_k_param": {"k": 12}}
    return dsl, conf


def test_optimal_binning_and_selection_wired_to_it_through_the_server(flow_server):
    for module in ("DataIO", "Intersection"):
        try:
            get_spec(module).program("guest")
        except (KeyError, ImportError) as exc:
            pytest.skip(f"{module} is not available: {exc}")
    server = flow_server()
    upload_breast_hetero(server, "optimal_test")
    dsl, conf = example_job("optimal_test")
    job_id = server.submit(dsl, conf)
    assert server.wait_job(job_id, timeout=180)["f_status"] == "success"

    def query(component, role):
        return {"job_id": job_id, "component_name": component, "role": role,
                "party_id": GUEST if role == "guest" else HOST}

    binning = server.post("/v1/tracking/component/output/model", query("hetero_feature_binning_0", "guest"))["data"]
    assert binning["header"] == [f"x{i}" for i in range(10)]
    guest, host = read_breast_hetero()
    for j, name in enumerate(guest.header):
        points, events = ref_optimal_points("iv", guest.features[:, j], guest.labels, BIN_NUM)
        column = binning["binning_result"]["binning_result"][name]
        assert np.allclose(column["split_points"], points) and column["event_count_array"] == events, name
    host_columns = binning["host_results"][0]["binning_result"]
    for j in (0, 7):
        _, events = ref_optimal_points("iv", host.features[:, j], guest.labels, INIT_BINS)
        assert host_columns[f"host.{j}"]["event_count_array"] == events
    host_model = server.post("/v1/tracking/component/output/model", query("hetero_feature_binning_0", "host"))
    points, _ = ref_optimal_points("iv", host.features[:, 7], guest.labels, INIT_BINS)
    assert np.allclose(host_model["data"]["binning_result"]["binning_result"]["x7"]["split_points"], points)
    assert host_model["data"]["binning_result"]["binning_result"]["x7"]["iv"] == 0, "the host learns no IV"

    # the selection: IV > 0.1 on each party, then the 12 best over both (ties with the 12th kept)
    guest_iv = {k: v["iv"] for k, v in binning["binning_result"]["binning_result"].items()}
    host_iv = {f"x{k.split('.')[1]}": v["iv"] for k, v in host_columns.items()}
    passed = sorted([v for v in [*guest_iv.values(), *host_iv.values()] if v > 0.1], reverse=True)
    top = passed[min(12, len(passed)) - 1]
    for role, ivs, header in (("guest", guest_iv, guest.header), ("host", host_iv, host.header)):
        expected = [n for n in header if ivs[n] > 0.1 and ivs[n] >= top]
        preview = server.post("/v1/tracking/component/output/data", query("hetero_feature_selection_0", role))
        assert preview["meta"]["header"] == ["id", *(["y"] if role == "guest" else []), *expected], role
        assert not any(math.isnan(float(v)) for row in preview["data"] for v in row[1:])
