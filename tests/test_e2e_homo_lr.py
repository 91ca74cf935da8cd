"""FATE's homo LR example end to end: DataIO -> HomoLR (guest, host, arbiter) -> Evaluation."""
from __future__ import annotations

import json

from tests.flow_server import ROOT

EXAMPLE = ROOT / "examples" / "federatedml-1.x-examples" / "homo_logistic_regression"


def test_homo_lr_example(flow_server):
    server = flow_server(conf={"federation": {"timeout": 300}})
    for side in ("guest", "host"):
        answer = server.post("/v1/data/upload", {
            "file": str(ROOT / "examples" / "data" / f"breast_homo_{side}.csv"), "head": 1, "partition": 4,
            "work_mode": 0, "namespace": "experiment", "table_name": f"breast_homo_{side}", "use_local_data": 0})
        assert server.wait_job(answer["jobId"])["f_status"] == "success"
    dsl = json.loads((EXAMPLE / "test_homolr_train_job_dsl.json").read_text())
    conf = json.loads((EXAMPLE / "test_homolr_train_job_conf.json").read_text())
    job_id = server.submit(dsl, conf)
    job = server.wait_job(job_id, timeout=300)
    assert job["f_status"] == "success", job["f_status_reason"]
    metrics = server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "component_name": "evaluation_0",
                                                               "role": "guest", "party_id": 10000})
    assert dict(metrics["data"]["train"]["homo_lr_0"]["data"])["auc"] >= 0.98
    loss = server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "component_name": "homo_lr_0",
                                                            "role": "arbiter", "party_id": 10000})
    assert loss["data"]["train"]["loss"]["meta"]["metric_type"] == "LOSS"
