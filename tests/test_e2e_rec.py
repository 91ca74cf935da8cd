"""FederatedRec end to end: HeteroFM, HomoFM, HeteroMF, HeteroSVD, HeteroSVDpp and HeteroGMF through one real
server and the original client, from the example confs under examples/federatedml-1.x-examples/<module>/
(FATE 1.4's v1 format: a DSL and a runtime conf; small data, few iterations, 512-bit keys for HeteroFM).

The six training jobs are submitted at once, then the six predict jobs with the trained models. Each job
must succeed; the arbiter logs train/loss/LOSS and it falls; the models carry the fields of FATE 1.4.1's
messages. Quality bars (stated per test): FM's AUC within 0.01 of the same updates computed centrally on
the joined (HeteroFM) or pooled (HomoFM) breast data; MF/SVD/SVD++'s train RMSE under a third of the
mean predictor's; GMF ranks its positives above unrated pairs (AUC > 0.9; 0.5 is chance).
"""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fate_flow.utils.model_layout import load_component_model
from tests.component_harness import read_breast_hetero, read_csv
from tests.flow_server import ROOT, FlowServer

pytestmark = pytest.mark.xdist_group("e2e_rec")
EXAMPLES = ROOT / "examples" / "federatedml-1.x-examples"
DATA = ROOT / "examples" / "data"
PARTY = 10000
# folder: (module, component, train conf, dsl, the model's meta and param message names)
JOBS = {
    "hetero_fm": ("HeteroFM", "hetero_fm_0", "test_hetero_fm_train_job_conf.json", "test_hetero_fm_train_job_dsl.json",
                  ("HeteroFactorizationMachineMeta", "HeteroFactorizationMachineParam")),
    "homo_fm": ("HomoFM", "homo_fm_0", "test_homofm_train_job_conf.json", "test_homofm_train_job_dsl.json",
                ("HomoFactorizationMachineMeta", "HomoFactorizationMachineParam")),
    "hetero_mf": ("HeteroMF", "hetero_mf_0", "test_hetero_mf_train_job_conf.json", "test_hetero_mf_train_job_dsl.json",
                  ("MatrixModelMeta", "MatrixModelParam")),
    "hetero_svd": ("HeteroSVD", "hetero_svd_0", "test_hetero_svd_train_job_conf.json",
                   "test_hetero_svd_train_job_dsl.json", ("MatrixModelMeta", "MatrixModelParam")),
    "hetero_svdpp": ("HeteroSVDpp", "hetero_svdpp_0", "test_hetero_svdpp_train_job_conf.json",
                     "test_hetero_svdpp_train_job_dsl.json", ("MatrixModelMeta", "MatrixModelParam")),
    "hetero_gmf": ("HeteroGMF", "hetero_gmf_0", "test_hetero_gmf_train_job_conf.json",
                   "test_hetero_gmf_train_job_dsl.json", ("GMFModelMeta", "GMFModelParam")),
}
TABLES = ["breast_hetero_guest", "breast_hetero_host", "breast_homo_guest", "breast_homo_host"] + \
    [f"rec_{kind}_{side}" for kind in ("ratings", "gmf", "gmf_eval") for side in ("guest", "host")]


def submit(server: FlowServer, conf, dsl=None) -> dict:
    answer = server.client("-f", "submit_job", "-c", str(conf), *(["-d", str(dsl)] if dsl else []))
    assert answer["retcode"] == 0, answer
    return answer


def succeeded(server: FlowServer, job_id: str) -> None:
    job = server.wait_job(job_id, timeout=900)
    assert job["f_status"] == "success", [(t["f_component_name"], t["f_role"], t["f_status_reason"])
                                          for t in server.tasks(job_id)]


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """One server; the six training jobs at once, then the six predict jobs at once: {folder: (train, predict)}."""
    work = tmp_path_factory.mktemp("rec")
    server = FlowServer(work / "server", conf={"federation": {"timeout": 600}}).start()
    try:
        for table in TABLES:
            answer = server.post("/v1/data/upload", {
                "file": str(DATA / f"{table}.csv"), "head": 1, "partition": 2, "work_mode": 0,
                "namespace": "experiment", "table_name": table, "use_local_data": 0})
            assert server.wait_job(answer["jobId"])["f_status"] == "success"
        trains = {folder: submit(server, EXAMPLES / folder / conf, EXAMPLES / folder / dsl)
                  for folder, (_, _, conf, dsl, _) in JOBS.items()}
        predicts = {}
        for folder, answer in trains.items():
            succeeded(server, answer["jobId"])
            conf = json.loads((EXAMPLES / folder / "test_predict_conf.json").read_text())
            conf["job_parameters"].update(answer["data"]["model_info"])
            (work / f"{folder}_predict.json").write_text(json.dumps(conf))
            predicts[folder] = submit(server, work / f"{folder}_predict.json")["jobId"]
        for job_id in predicts.values():
            succeeded(server, job_id)
        yield server, {folder: (trains[folder]["jobId"], predicts[folder], trains[folder]["data"]["model_info"])
                       for folder in JOBS}, work
    finally:
        server.stop()


def metrics(server: FlowServer, job_id: str, component: str, role: str) -> dict:
    return server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "component_name": component,
                                                            "role": role, "party_id": PARTY}).get("data", {})


def output_rows(server: FlowServer, work, job_id: str, component: str, role: str) -> list[dict]:
    """The whole output table, downloaded with the original client (id, label, predict_result, predict_score)."""
    reply = server.client("-f", "component_output_data", "-j", job_id, "-cpn", component, "-r", role,
                          "-p", str(PARTY), "-o", str(work / "out" / job_id))
    assert reply["retcode"] == 0, reply
    with open(f"{reply['directory']}/output_data.csv") as f:
        rows = list(csv.reader(f))[1:]
    # predict_detail holds a JSON dict whose commas split it: the fields before it are whole
    return [{"id": r[0], "label": float(r[1]), "result": r[2], "score": float(r[3])} for r in rows]


@pytest.mark.parametrize("folder", list(JOBS))
def test_job_records_model_and_loss_as_fate(jobs, folder):
    server, ids, _ = jobs
    module, component, _, _, (meta_name, param_name) = JOBS[folder]
    train_id, _, model_info = ids[folder]
    loss = metrics(server, train_id, component, "arbiter")["train"]["loss"]
    assert loss["meta"]["metric_type"] == "LOSS" and loss["data"][-1][1] < loss["data"][0][1]
    for role in ("guest", "host", "arbiter"):  # the arbiter's model: the meta and its loss history
        root = server.work_dir / "model_local_cache" / f"{role}#{PARTY}#{model_info['model_id']}" / \
            model_info["model_version"]
        assert set(load_component_model(root, component)) == {meta_name, param_name}, role
    for role in ("guest", "host"):
        model = server.post("/v1/tracking/component/output/model", {
            "job_id": train_id, "component_name": component, "role": role, "party_id": PARTY})
        assert model["meta"]["module_name"] == module and model["meta"]["meta_data"], model
        stored = model["data"]
        if param_name.startswith(("Hetero", "Homo")):
            assert {"weight", "embedding", "embed_size", "intercept", "header"} <= set(stored)
        elif param_name == "MatrixModelParam":
            assert {"saved_model_bytes", "loss_history", "user_ids", "item_ids", "header"} <= set(stored)
        else:
            assert {"saved_model_bytes", "loss_history", "user_num", "item_num"} <= set(stored)
    if folder == "homo_fm":  # HomoFM's clients log their loss too
        assert metrics(server, train_id, component, "guest")["train"]["loss"]["meta"]["metric_type"] == "LOSS"


def test_hetero_fm_matches_the_central_fm_on_the_joined_data(jobs):
    from tests.test_hetero_fm import central_fm

    server, ids, _ = jobs
    conf = json.loads((EXAMPLES / "hetero_fm" / JOBS["hetero_fm"][2]).read_text())["algorithm_parameters"]
    guest, host = read_breast_hetero()
    fm = dict(conf["hetero_fm_0"], batch_size=len(guest))  # one full batch: the row order does not matter
    model, _ = central_fm(guest, host, fm)
    xh = host.align_to(guest.ids).features
    fg, vg = _fm(guest.features, model["guest"])
    fh, vh = _fm(xh, model["host"])
    central = roc_auc_score(guest.labels, fg + model["guest"]["b"] + fh + np.sum(vg * vh, axis=1))
    auc = _recorded_auc(server, ids["hetero_fm"][0], "hetero_fm_0")
    assert abs(auc - central) < 0.01 and auc > 0.9, (auc, central)


def test_homo_fm_matches_the_central_fm_on_the_pooled_data(jobs):
    from tests.test_homo_fm import central

    server, ids, _ = jobs
    conf = json.loads((EXAMPLES / "homo_fm" / JOBS["homo_fm"][2]).read_text())["algorithm_parameters"]["homo_fm_0"]
    clients = {side: read_csv(DATA / f"breast_homo_{side}.csv") for side in ("guest", "host")}
    flat, _ = central(clients, conf)
    m, k = clients["guest"].n_features, conf["init_param"]["embed_size"]
    model = {"w": flat[:m], "v": flat[m:-1].reshape(m, k), "b": flat[-1]}
    guest = clients["guest"]
    f, _ = _fm(guest.features, model)
    central_auc = roc_auc_score(guest.labels, f + model["b"])
    auc = _recorded_auc(server, ids["homo_fm"][0], "homo_fm_0")
    assert abs(auc - central_auc) < 0.01 and auc > 0.9, (auc, central_auc)


@pytest.mark.parametrize("folder", ["hetero_mf", "hetero_svd", "hetero_svdpp"])
def test_rating_models_beat_the_mean_predictor_and_predict_as_trained(jobs, folder):
    server, ids, work = jobs
    component = JOBS[folder][1]
    train_id, predict_id, _ = ids[folder]
    for role in ("guest", "host"):
        trained = output_rows(server, work, train_id, component, role)
        ratings = np.array([row["label"] for row in trained])
        scores = np.array([row["score"] for row in trained])
        model_rmse = np.sqrt(np.mean((scores - ratings) ** 2))
        mean_rmse = np.sqrt(np.mean((ratings - ratings.mean()) ** 2))
        assert model_rmse < mean_rmse / 3, (role, model_rmse, mean_rmse)
        predicted = {row["id"]: row["score"] for row in output_rows(server, work, predict_id, component, role)}
        assert predicted == pytest.approx({row["id"]: row["score"] for row in trained}, abs=1e-9)


def test_gmf_ranks_positives_above_unrated_pairs(jobs):
    server, ids, work = jobs
    for role in ("guest", "host"):
        rows = output_rows(server, work, ids["hetero_gmf"][1], "hetero_gmf_0", role)
        labels, scores = [row["label"] for row in rows], [row["score"] for row in rows]
        assert set(labels) == {0.0, 1.0} and roc_auc_score(labels, scores) > 0.9, role


def _fm(x: np.ndarray, side: dict) -> tuple[np.ndarray, np.ndarray]:
    vx = x @ side["v"]
    return x @ side["w"] + 0.5 * np.sum(vx ** 2 - (x ** 2) @ (side["v"] ** 2), axis=1), vx


def _recorded_auc(server: FlowServer, job_id: str, component: str) -> float:
    summary = metrics(server, job_id, "evaluation_0", "guest")["train"][component]["data"]
    return float(dict(summary)["auc"])
