"""FATE's HomoSecureboost binary example end to end: two clients and an arbiter through a real server."""
from __future__ import annotations

import json

from tests.flow_server import ROOT, FlowServer
from tests.test_e2e_hetero_secureboost import metric, upload

EXAMPLE = ROOT / "examples" / "federatedml-1.x-examples" / "homo_secureboost"
DATA = ROOT / "examples" / "data"


def test_fate_s_homo_binary_example(tmp_path):
    server = FlowServer(tmp_path / "server", conf={"federation": {"timeout": 300}}).start()
    try:
        upload(server, "breast_homo_guest")
        upload(server, "breast_homo_host")
        upload(server, "homo_breast_test", file=DATA / "breast_homo_test.csv")
        dsl = json.loads((EXAMPLE / "test_secureboost_train_dsl.json").read_text())
        conf = json.loads((EXAMPLE / "test_secureboost_train_binary_conf.json").read_text())
        answer = server.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
        assert answer["retcode"] == 0, answer
        job = server.wait_job(answer["jobId"], timeout=300)
        assert job["f_status"] == "success", [(t["f_component_name"], t["f_role"], t["f_status_reason"])
                                              for t in server.tasks(answer["jobId"])]
        for role in ("guest", "host"):
            evaluation = metric(server, answer["jobId"], "evaluation_0", role=role)
            assert dict(evaluation["train"]["secureboost_0"]["data"])["auc"] >= 0.97
            assert dict(evaluation["validate"]["secureboost_0"]["data"])["auc"] >= 0.95
        loss = metric(server, answer["jobId"], "secureboost_0", role="arbiter")["train"]["loss"]["data"]
        assert len(loss) == 3 and loss[-1][1] < loss[0][1]
        model = server.post("/v1/tracking/component/output/model", {
            "job_id": answer["jobId"], "component_name": "secureboost_0", "role": "guest", "party_id": 10000})
        assert model["meta"]["module_name"] == "HomoSecureboost" and len(model["data"]["trees_"]) == 3
    finally:
        server.stop()
