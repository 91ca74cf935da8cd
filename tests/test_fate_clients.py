"""Today's FATE clients, unchanged, against a real server: fate-client 1.5.x, 1.6.x and the newest 1.x.

Each version's pipeline SDK runs a FATE-style script (upload, Reader -> DataIO -> Intersection ->
HeteroLR -> Evaluation, fit, summary, output data, model param, deploy, predict), and its flow CLI
uploads, submits a DSL v2 job, lists jobs, reruns a job that failed on purpose, deploys the model
and runs a predict job. One server serves every version (each in its own namespace).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from fate_flow.components import registry
from tests.fate_client import VERSIONS, ClientUnavailable, FateClient
from tests.flow_server import FlowServer

ROOT = Path(__file__).resolve().parent.parent
# FATE 1.6.1's shipped v2 examples live beside the repository (../shared), not in it
SHARED = next((p for p in (ROOT.parent / "shared", Path("/work/shared")) if p.exists()),
              ROOT.parent / "shared") / "fate-reference"
DATA = ROOT / "examples" / "data"
SCRIPT = Path(__file__).parent / "fate_client_scripts" / "pipeline_hetero_lr.py"
CONFIG_YAML = ROOT / "examples" / "dsl_v2" / "pipeline_config.yaml"
GUEST, HOST = 10000, 9999


# one worker runs the module: its server, uploads and trained jobs are shared by its tests
pytestmark = pytest.mark.xdist_group("fate_clients")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # FATE's SecureBoost and feature-scale examples name party 9998 as well
    server = FlowServer(tmp_path_factory.mktemp("fate_clients"), conf={"party_id": [9998, 9999, 10000]}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=VERSIONS)
def fate_client(request, server, tmp_path_factory) -> FateClient:
    try:
        return FateClient(request.param, server.address, tmp_path_factory.mktemp(f"client_{request.param}"))
    except (ClientUnavailable, StopIteration) as exc:
        pytest.skip(f"fate-client {request.param} could not be installed here: {exc}")


def _namespace(client: FateClient, what: str) -> str:
    return f"{what}_{client.version.replace('.', '_')}"


def test_pipeline_sdk_fits_reads_deploys_and_predicts(fate_client, server):
    namespace = _namespace(fate_client, "sdk")
    code = (f"import runpy, sys; sys.argv = ['script', {str(DATA)!r}, {str(CONFIG_YAML)!r}, {namespace!r}]; "
            f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')")
    done = fate_client.run(code, timeout=400)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    logs = "".join(p.read_text(errors="replace")[-3000:] for p in (fate_client.home / "logs").glob("ERROR*"))
    assert line, f"the script failed: {done.stdout[-2000:]} {done.stderr[-3000:]} {logs}"
    seen = json.loads(line[len("RESULT "):])
    assert seen["summary"]["hetero_lr_0"]["auc"] > 0.9  # Evaluation's summary
    assert seen["output_rows"] == 10  # header + 9 rows, limits=10
    assert sorted(seen["model_param"]["weight"]) == ["x0", "x1", "x2"]
    assert server.job(seen["train_job_id"])["f_status"] == "success"
    predict = server.job(seen["predict_job_id"])
    assert predict["f_status"] == "success"
    assert '"job_type": "predict"' in predict["f_runtime_conf"]


def _upload(client: FateClient, server: FlowServer, tmp_path: Path, file: str, table: str, namespace: str) -> None:
    conf = {"file": str(DATA / file), "head": 1, "partition": 2, "work_mode": 0, "table_name": table,
            "namespace": namespace}
    path = tmp_path / f"upload_{table}.json"
    path.write_text(json.dumps(conf))
    answer = client.flow("data", "upload", "-c", str(path), "--drop")
    assert answer.get("retcode") == 0, answer
    assert server.wait_job(answer["jobId"])["f_status"] == "success"


def _train_pair(namespace: str, **dataio_guest) -> tuple[dict, dict]:
    dsl = json.loads((ROOT / "examples/dsl_v2/hetero_lr/hetero_lr_dsl.json").read_text())
    conf = json.loads((ROOT / "examples/dsl_v2/hetero_lr/hetero_lr_conf.json").read_text())
    for role, table in (("guest", "breast_hetero_guest"), ("host", "breast_hetero_host")):
        conf["component_parameters"]["role"][role]["0"]["reader_0"]["table"] = {"name": table, "namespace": namespace}
    conf["component_parameters"]["role"]["guest"]["0"]["dataio_0"].update(dataio_guest)
    return dsl, conf


def _submit(client: FateClient, server: FlowServer, tmp_path: Path, dsl: dict, conf: dict, name: str) -> str:
    (tmp_path / f"{name}_dsl.json").write_text(json.dumps(dsl))
    (tmp_path / f"{name}_conf.json").write_text(json.dumps(conf))
    answer = client.flow("job", "submit", "-d", str(tmp_path / f"{name}_dsl.json"), "-c",
                         str(tmp_path / f"{name}_conf.json"))
    assert answer.get("retcode") == 0, answer
    return answer["jobId"]


def test_flow_cli_upload_train_list_rerun_deploy_predict(fate_client, server, tmp_path):
    namespace = _namespace(fate_client, "cli")
    _upload(fate_client, server, tmp_path, "breast_hetero_mini_guest.csv", "breast_hetero_guest", namespace)
    _upload(fate_client, server, tmp_path, "breast_hetero_mini_host.csv", "breast_hetero_host", namespace)

    # a job that fails on purpose (no such label column), then fixed and rerun from DataIO
    dsl, conf = _train_pair(namespace, label_name="no_such_label")
    job_id = _submit(fate_client, server, tmp_path, dsl, conf, "failing")
    assert server.wait_job(job_id, timeout=120)["f_status"] == "failed"
    reader_before = _task(server, job_id, "reader_0", "guest")
    fix = {"component_parameters": {"role": {"guest": {"0": {"dataio_0": {"label_name": "y"}}}}}}
    if fate_client.version.startswith(("1.5", "1.6")):  # their CLI has no rerun; FATEBoard calls the route
        assert server.post("/v1/job/parameter/update", {"job_id": job_id, **fix})["retcode"] == 0
        answer = server.post("/v1/job/rerun", {"job_id": job_id})
    else:
        (tmp_path / "fix.json").write_text(json.dumps(fix))
        answer = fate_client.flow("job", "parameter-update", "-j", job_id, "-c", str(tmp_path / "fix.json"))
        assert answer.get("retcode") == 0, answer
        answer = fate_client.flow("job", "rerun", "-j", job_id)
    assert answer.get("retcode") == 0, answer
    assert server.wait_job(job_id, timeout=120)["f_status"] == "success"
    assert _task(server, job_id, "reader_0", "guest")["f_start_time"] == reader_before["f_start_time"]

    listed = fate_client.flow("job", "list", "-l", "50")
    assert listed.get("retcode") == 0, listed
    rows = listed["data"] if isinstance(listed["data"], list) else listed["data"]["jobs"]
    assert job_id in {row.get("f_job_id", row.get("job_id")) for row in rows}

    model = json.loads(server.job(job_id)["f_runtime_conf"])["job_parameters"]
    predict_conf = _predict_conf(conf, model["model_id"], model["model_version"])
    (tmp_path / "predict_conf.json").write_text(json.dumps(predict_conf))
    refused = fate_client.flow("job", "submit", "-c", str(tmp_path / "predict_conf.json"), "-d",
                               str(tmp_path / "failing_dsl.json"))
    assert refused.get("retcode") != 0 and "has not been deployed" in refused.get("retmsg", ""), refused

    components = "reader_0,dataio_0,intersection_0,hetero_lr_0"
    if fate_client.version == "1.5.0":  # no deploy yet: a predict DSL from job/dsl/generate, the train version
        generated = fate_client.flow("job", "dsl", "--cpn-list", components, "--train-dsl-path",
                                     str(tmp_path / "failing_dsl.json"), "-v", "2")
        assert generated.get("retcode") == 0, generated
        (tmp_path / "predict_dsl.json").write_text(json.dumps(generated["data"]))
        version = model["model_version"]
    else:
        deployed = fate_client.flow("model", "deploy", "--model-id", model["model_id"], "--model-version",
                                    model["model_version"], "--cpn-list", components)
        assert deployed.get("retcode") == 0, deployed
        (tmp_path / "predict_dsl.json").write_text(json.dumps({}))  # the deployed predict DSL is used
        version = deployed["data"]["model_version"]
    (tmp_path / "predict_conf.json").write_text(json.dumps(_predict_conf(conf, model["model_id"], version)))
    predict = fate_client.flow("job", "submit", "-c", str(tmp_path / "predict_conf.json"), "-d",
                               str(tmp_path / "predict_dsl.json"))
    assert predict.get("retcode") == 0, predict
    assert server.wait_job(predict["jobId"], timeout=120)["f_status"] == "success"


def _task(server: FlowServer, job_id: str, component: str, role: str) -> dict:
    return next(t for t in server.tasks(job_id) if t["f_component_name"] == component and t["f_role"] == role)


def _predict_conf(train_conf: dict, model_id: str, model_version: str) -> dict:
    conf = {key: copy.deepcopy(train_conf[key]) for key in ("dsl_version", "initiator", "role")}
    conf["job_parameters"] = {"common": {"job_type": "predict", "work_mode": 0, "model_id": model_id,
                                         "model_version": model_version}}
    readers = {role: {"0": {"reader_0": by_index["0"]["reader_0"]}}
               for role, by_index in train_conf["component_parameters"]["role"].items()}
    conf["component_parameters"] = {"role": readers}
    return conf


# FATE 1.6.1's shipped v2 examples: (folder, train DSL, train conf, predict DSL, predict conf)
FATE_EXAMPLES = [
    ("hetero_logistic_regression", "hetero_lr_normal_dsl", "hetero_lr_normal_conf",
     "hetero-lr-normal-predict-dsl", "hetero-lr-normal-predict-conf"),
    ("homo_logistic_regression", "homo_lr_train_dsl", "homo_lr_train_conf",
     "homo-lr-normal-predict-dsl", "homo-lr-normal-predict-conf"),
    ("hetero_secureboost", "test_secureboost_train_dsl", "test_secureboost_train_binary_conf",
     "test_predict_dsl", "test_predict_conf"),
    ("hetero_feature_binning", "hetero_binning_quantile_binning_dsl", "hetero_binning_quantile_binning_conf", None, None),
    ("hetero_feature_selection", "hetero_feature_selection_manually_dsl", "hetero_feature_selection_manually_conf",
     None, None),
    ("feature_scale", "test_feature_scale_normal_dsl", "test_feature_scale_normal_conf", None, None),
    ("intersect", "test_intersect_job_dsl", "test_intersect_job_raw_conf", None, None),
    ("intersect", "test_intersect_job_dsl", "test_intersect_job_rsa_conf", None, None),
]
EXAMPLE_TABLES = ("breast_hetero_guest", "breast_hetero_host", "breast_homo_guest", "breast_homo_host")


@pytest.fixture(scope="module")
def client_161(server, tmp_path_factory) -> FateClient:
    if not (SHARED / "dsl_v2").exists():
        pytest.skip("FATE's shipped v2 examples (../shared/fate-reference) are not on this machine")
    try:
        client = FateClient("1.6.1", server.address, tmp_path_factory.mktemp("client_examples"))
    except (ClientUnavailable, StopIteration) as exc:
        pytest.skip(f"fate-client 1.6.1 could not be installed here: {exc}")
    work = tmp_path_factory.mktemp("example_uploads")
    for table in EXAMPLE_TABLES:  # FATE's upload names: experiment.<file name>
        conf = {"file": str(DATA / f"{table}.csv"), "head": 1, "partition": 4, "work_mode": 0,
                "table_name": table, "namespace": "experiment"}
        (work / f"{table}.json").write_text(json.dumps(conf))
        answer = client.flow("data", "upload", "-c", str(work / f"{table}.json"), "--drop")
        assert answer.get("retcode") == 0, answer
        assert server.wait_job(answer["jobId"], timeout=120)["f_status"] == "success"
    return client


@pytest.mark.parametrize("example", FATE_EXAMPLES, ids=[e[2] for e in FATE_EXAMPLES])
def test_fate_161_v2_examples_run_unchanged_through_flow_job_submit(example, client_161, server, tmp_path):
    folder, train_dsl, train_conf, predict_dsl, predict_conf = example
    here = SHARED / "dsl_v2" / "dsl" / folder
    dsl = json.loads((here / f"{train_dsl}.json").read_text())
    missing = sorted({c["module"] for c in dsl["components"].values()} - set(registry.modules()))
    if missing:
        pytest.skip(f"{folder}: module {', '.join(missing)} is not registered on this server (yet)")
    answer = client_161.flow("job", "submit", "-d", str(here / f"{train_dsl}.json"), "-c",
                             str(here / f"{train_conf}.json"))
    assert answer.get("retcode") == 0, answer
    job = server.wait_job(answer["jobId"], timeout=300)
    assert job["f_status"] == "success", job.get("f_status_reason")
    if predict_dsl is None:
        return
    model = answer["data"]["model_info"]
    deployed = client_161.flow("model", "deploy", "--model-id", model["model_id"], "--model-version",
                               model["model_version"], "--dsl-path", str(here / f"{predict_dsl}.json"))
    assert deployed.get("retcode") == 0, deployed
    # the shipped predict conf names the model FATE trained; only its id and version change, and its parties
    # where FATE's pair disagrees with itself (SecureBoost's predict conf swaps guest 9999 for 10000)
    conf = json.loads((here / f"{predict_conf}.json").read_text())
    train = json.loads((here / f"{train_conf}.json").read_text())
    if conf["role"] != train["role"]:
        conf["role"], conf["initiator"] = train["role"], train["initiator"]
        for role, parameters in conf["component_parameters"].get("role", {}).items():
            assert set(parameters) <= {"all"} | {str(i) for i in range(len(conf["role"][role]))}, parameters
    conf["job_parameters"]["common"].update(model_id=model["model_id"],
                                            model_version=deployed["data"]["model_version"])
    (tmp_path / "predict_conf.json").write_text(json.dumps(conf))
    predict = client_161.flow("job", "submit", "-d", str(here / f"{predict_dsl}.json"), "-c",
                              str(tmp_path / "predict_conf.json"))
    assert predict.get("retcode") == 0, predict
    assert server.wait_job(predict["jobId"], timeout=300)["f_status"] == "success"
