"""FATE's quality bar on a bigger set: hetero LR on default_credit (30,000 rows) reaches AUC >= 0.69.

FATE's conf runs 30 iterations; the bar is met far sooner (the same optimizer run centrally on the
joined data from zeros: AUC 0.695 after 1 iteration, 0.700 after 5, 0.713 after 10, 0.718 after 30),
so the test runs 5 (0.698 here, the same every run: zeros start, fixed data): a sixth of the encrypted
work of what was the suite's longest test."""
from __future__ import annotations

import json

import pytest

from tests.flow_server import ROOT

EXAMPLE = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_logistic_regression"


MAX_ITER = 5


@pytest.mark.timeout(900)
def test_hetero_lr_on_default_credit(flow_server):
    server = flow_server(conf={"federation": {"timeout": 600}})
    for side in ("guest", "host"):
        answer = server.post("/v1/data/upload", {
            "file": str(ROOT / "examples" / "data" / f"default_credit_hetero_{side}.csv"), "head": 1, "partition": 4,
            "work_mode": 0, "namespace": "experiment", "table_name": f"breast_hetero_{side}", "use_local_data": 0})
        assert server.wait_job(answer["jobId"], timeout=120)["f_status"] == "success"
    conf = json.loads((EXAMPLE / "test_hetero_lr_train_job_conf.json").read_text())
    # FATE's parameters, but a zeros start: from random_uniform the AUC after 30 iterations
    # moves by a few points from run to run (0.67-0.70 seen), too much for a fixed bar
    conf["algorithm_parameters"]["hetero_lr_0"]["init_param"] = {"init_method": "zeros"}
    # the bar is about the model, not the cipher: a 512-bit Paillier key trains the same weights (to the
    # fixed-point precision) at a fraction of the 1024-bit key's cost, which made this the suite's longest test
    conf["algorithm_parameters"]["hetero_lr_0"]["encrypt_param"] = {"method": "Paillier", "key_length": 512}
    conf["algorithm_parameters"]["hetero_lr_0"]["max_iter"] = MAX_ITER
    job_id = server.submit(json.loads((EXAMPLE / "test_hetero_lr_train_job_dsl.json").read_text()), conf)
    job = server.wait_job(job_id, timeout=840)
    assert job["f_status"] == "success", job["f_status_reason"]
    answer = server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "component_name": "evaluation_0",
                                                              "role": "guest", "party_id": 10000})
    auc = dict(answer["data"]["train"]["hetero_lr_0"]["data"])["auc"]
    assert auc >= 0.69, auc  # FATE's bar
