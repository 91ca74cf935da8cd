"""FATE 1.4's example confs and DSLs, as shipped in examples/, run to success on one server."""
from __future__ import annotations

import json

import pytest

from tests.flow_server import ROOT, FlowServer

# one worker runs the module: its server (and trained model) is set up once
pytestmark = pytest.mark.xdist_group("e2e_examples")

FEDERATEDML = ROOT / "examples" / "federatedml-1.x-examples"
DATA = ROOT / "examples" / "data"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = FlowServer(tmp_path_factory.mktemp("examples") / "server", conf={"federation": {"timeout": 300}}).start()
    for namespace in ("experiment", "fate_flow_test_breast_hetero"):
        for side in ("guest", "host"):
            answer = server.post("/v1/data/upload", {
                "file": str(DATA / f"breast_hetero_{side}.csv"), "head": 1, "partition": 4, "work_mode": 0,
                "namespace": namespace, "table_name": f"breast_hetero_{side}", "use_local_data": 0})
            assert server.wait_job(answer["jobId"])["f_status"] == "success"
    yield server
    server.stop()


def run_example(server, conf_path, dsl_path) -> tuple[str, dict]:
    conf = json.loads(conf_path.read_text())
    conf["job_parameters"]["work_mode"] = 0  # FATE's fate_flow/examples say 1 (cluster)
    job_id = server.submit(json.loads(dsl_path.read_text()), conf)
    job = server.wait_job(job_id, timeout=300)
    assert job["f_status"] == "success", job["f_status_reason"]
    return job_id, conf


def metrics(server, job_id, component, role, party):
    return server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "component_name": component,
                                                            "role": role, "party_id": party}).get("data", {})


@pytest.mark.parametrize("method", ["raw", "rsa"])
def test_intersect_examples(server, method):
    job_id, _ = run_example(server, FEDERATEDML / "intersect" / f"test_intersect_job_{method}_conf.json",
                            FEDERATEDML / "intersect" / "test_intersect_job_dsl.json")
    for role in ("guest", "host"):
        counts = dict(metrics(server, job_id, "intersect_0", role, 10000)["train"]["intersection"]["data"])
        assert counts["intersect_count"] == 569


def test_binning_example(server):
    job_id, _ = run_example(server, FEDERATEDML / "hetero_feature_binning" / "test_hetero_binning_job_conf.json",
                            FEDERATEDML / "hetero_feature_binning" / "test_hetero_binning_job_dsl.json")
    dsl = json.loads((FEDERATEDML / "hetero_feature_binning" / "test_hetero_binning_job_dsl.json").read_text())
    component = next(n for n, c in dsl["components"].items() if c["module"] == "HeteroFeatureBinning")
    model = server.post("/v1/tracking/component/output/model", {"job_id": job_id, "component_name": component,
                                                                "role": "guest", "party_id": 10000})
    results = model["data"]["binning_result"]["binning_result"]
    assert set(results) == {f"x{i}" for i in range(10)} and all(r["iv"] >= 0 for r in results.values())
    assert model["data"]["host_results"], "the guest holds the host's IVs"


def test_selection_example(server):
    folder = FEDERATEDML / "hetero_feature_selection"
    job_id, _ = run_example(server, folder / "test_hetero_feature_selection_job_conf.json",
                            folder / "test_hetero_feature_selection_job_dsl.json")
    dsl = json.loads((folder / "test_hetero_feature_selection_job_dsl.json").read_text())
    component = next(n for n, c in dsl["components"].items() if c["module"] == "HeteroFeatureSelection")
    for role, width in (("guest", 10), ("host", 20)):
        data = server.post("/v1/tracking/component/output/data", {"job_id": job_id, "component_name": component,
                                                                  "role": role, "party_id": 10000})
        assert data["meta"]["total"] == 569 and 1 < len(data["meta"]["header"]) <= width + 2


def test_fate_flow_hetero_lr_example(server):
    folder = ROOT / "examples" / "fate_flow"
    job_id, _ = run_example(server, folder / "test_hetero_lr_job_conf.json", folder / "test_hetero_lr_job_dsl.json")
    summary = dict(metrics(server, job_id, "evaluation_0", "guest", 9999)["train"]["hetero_lr_0"]["data"])
    # 3 iterations from a random_uniform start: the AUC moves between runs (FATE 1.4.5 recorded
    # 0.47); quality is checked on the examples that train to convergence
    assert 0.0 <= summary["auc"] <= 1.0 and "ks" in summary, summary
