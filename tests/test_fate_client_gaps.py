"""FATE 1.5+ routes beyond issue 13's first pass: table add/bind, model tags, upload's extend_sid,
checkpoints and job/query's empty answer, through one real server (requests and our client)."""
from __future__ import annotations

import json
import subprocess

import pytest

from tests.fate_client import ClientUnavailable, FateClient
from tests.flow_server import ROOT, FlowServer

pytestmark = pytest.mark.xdist_group("fate_client_gaps")
GUEST = ROOT / "examples" / "data" / "breast_hetero_mini_guest.csv"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = FlowServer(tmp_path_factory.mktemp("gaps") / "server").start()
    yield server
    server.stop()


def _lines(path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()]


def test_job_query_answers_each_client_generation(server):
    """FATE 1.5+ clients poll job/query and read [] with retcode 0; FATE 1.4's client gets 101."""
    assert server.post("/v1/job/query", {"job_id": "1", "role": "guest", "party_id": "9999"}) == {
        "retcode": 0, "retmsg": "no job could be found", "data": []}
    assert server.client("-f", "query_job", "-j", "1") == {"retcode": 101, "retmsg": "find job failed"}
    assert server.post("/v1/job/query", {})["retcode"] == 101  # nothing to filter on


def test_checkpoints_answer_as_fate_17(server):
    """FATE-Flow 1.7+'s answers: a list (empty: no component here keeps checkpoints), 404 "The checkpoint was
    not found.", 400 for a missing field or step, each at the HTTP status of its retcode."""
    import requests

    def post(route: str, body: dict) -> tuple[int, dict]:
        answer = requests.post(f"{server.url}/v1/checkpoint/{route}", json=body, timeout=30)
        return answer.status_code, answer.json()

    body = {"role": "guest", "party_id": 9999, "model_id": "m", "model_version": "v", "component_name": "hetero_lr_0"}
    assert post("list", body) == (200, {"retcode": 0, "retmsg": "success", "data": []})
    status, got = post("get", dict(body, step_index=3))
    assert status == 404 and got["retcode"] == 404, got
    assert got["retmsg"].startswith("The checkpoint was not found.") and "hetero_lr_0" in got["retmsg"]
    assert "step_index 3" in got["retmsg"], got
    assert post("get", dict(body, step_name="step_2"))[1]["retcode"] == 404
    assert post("get", body) == (400, {"retcode": 400, "retmsg": "'step_index' or 'step_name' is required"})
    assert post("get", dict(body, step_index="three")) == (400, {"retcode": 400, "retmsg": "Invalid 'step_index'"})
    status, partial = post("list", {"role": "guest"})
    assert status == 400 and partial["retcode"] == 400 and "component_name" in partial["retmsg"], partial


def test_table_add_and_bind_read_a_server_file(server, tmp_path):
    rows = len(_lines(GUEST)) - 1
    for route, name in (("/v1/table/add", "added"), ("/v1/table/bind", "bound")):
        body = {"engine": "PATH", "address": {"path": str(GUEST)}, "namespace": "gaps", "name": name,
                "head": 1, "id_delimiter": ",", "partitions": 2}
        answer = server.post(route, body)
        assert answer["retcode"] == 0 and answer["data"] == {"table_name": name, "namespace": "gaps"}, answer
        info = server.post("/v1/table/table_info", {"namespace": "gaps", "table_name": name})["data"]
        assert info["count"] == rows and info["partition"] == 2
        assert info["schema"]["header"] == _lines(GUEST)[0].split(",", 1)[1]
    # an existing table: refused as upload refuses it, replaced with drop (FATE 1.7's "yes" too)
    body = {"engine": "LOCALFS", "address": {"home": str(GUEST.parent), "path": GUEST.name},
            "namespace": "gaps", "name": "added", "head": 1}
    again = server.post("/v1/table/add", body)
    assert again["retcode"] != 0 and "-drop" in again["retmsg"], again
    assert server.post("/v1/table/add", dict(body, drop="yes"))["retcode"] == 0


@pytest.mark.parametrize("body,words", [
    ({"engine": "MYSQL", "address": {"host": "db"}}, "engine 'MYSQL' is not supported"),
    ({"engine": "HDFS", "address": {"path": "/x"}}, "engine 'HDFS'"),
    ({"engine": "PATH", "address": {}}, "address.path"),
    ({"engine": "PATH", "address": {"path": "/tmp/no_such_file_gaps.csv"}}, "address.path"),
    ({"engine": "PATH", "address": {"path": "/etc/passwd"}}, "address.path"),
    ({"engine": "PATH", "address": {"path": str(GUEST)}, "id_delimiter": ";"}, "id_delimiter"),
    ({"engine": "PATH", "address": "not json"}, "address"),
    ({"address": {"path": str(GUEST)}}, "engine"),
])
def test_table_add_refuses_bad_input_by_name(server, body, words):
    answer = server.post("/v1/table/add", dict({"namespace": "gaps", "name": "bad"}, **body))
    assert answer["retcode"] != 0 and words in answer["retmsg"], answer


def test_upload_extend_sid_and_auto_increasing_sid(server, tmp_path):
    """fate-client 1.7+'s flags: id-less rows get FATE's generated sids, the header keeps every field."""
    data = tmp_path / "no_ids.csv"
    data.write_text("x0,x1,y\n0.5,1.5,1\n2.5,3.5,0\n4.5,5.5,1\n")
    for name, auto in (("uuid_sids", False), ("counted_sids", True)):
        conf = {"file": str(data), "head": 1, "partition": 1, "namespace": "gaps", "table_name": name,
                "work_mode": 0, "use_local_data": 0, "extend_sid": True, "auto_increasing_sid": auto}
        job = server.post("/v1/data/upload", conf)
        assert job["retcode"] == 0, job
        assert server.wait_job(job["jobId"])["f_status"] == "success"
        info = server.post("/v1/table/table_info", {"namespace": "gaps", "table_name": name})["data"]
        assert info["count"] == 3 and info["schema"] == {"header": "x0,x1,y", "sid": "sid"}
        out = tmp_path / f"{name}.csv"
        down = server.post("/v1/data/download", {"namespace": "gaps", "table_name": name, "work_mode": 0,
                                                 "output_path": str(out)})
        assert server.wait_job(down["jobId"])["f_status"] == "success"
        rows = dict(line.split(",", 1) for line in _lines(out) if not line.startswith("sid"))
        assert sorted(rows.values()) == ["0.5,1.5,1", "2.5,3.5,0", "4.5,5.5,1"]
        if auto:
            assert sorted(rows) == ["0", "1", "2"]
        else:
            prefixes = {sid[:32] for sid in rows}
            assert len(prefixes) == 1 and sorted(sid[32:] for sid in rows) == ["0", "1", "2"]
    bad = server.post("/v1/data/upload", dict(conf, table_name="x", extend_sid="maybe"))
    assert bad["retcode"] != 0 and "extend_sid" in bad["retmsg"], bad


DATAIO_DSL = {"components": {
    "reader_0": {"module": "Reader", "output": {"data": ["data"]}},
    "dataio_0": {"module": "DataIO", "input": {"data": {"data": ["reader_0.data"]}},
                 "output": {"data": ["data"], "model": ["model"]}}}}


@pytest.fixture(scope="module")
def model_job(server):
    """A small trained model of guest 9999 alone (Reader -> DataIO on a table added from a server file)."""
    add = server.post("/v1/table/add", {"engine": "PATH", "address": {"path": str(GUEST)}, "namespace": "gaps",
                                        "name": "model_input", "head": 1, "partitions": 1})
    assert add["retcode"] == 0, add
    conf = {"dsl_version": 2, "initiator": {"role": "guest", "party_id": 9999}, "role": {"guest": [9999]},
            "job_parameters": {"common": {"job_type": "train", "work_mode": 0}},
            "component_parameters": {"role": {"guest": {"0": {
                "reader_0": {"table": {"name": "model_input", "namespace": "gaps"}},
                "dataio_0": {"with_label": True, "output_format": "dense"}}}}}}
    job_id = server.submit(DATAIO_DSL, conf)
    assert server.wait_job(job_id, timeout=120)["f_status"] == "success"
    return job_id


def test_tags_as_flow_tag_uses_them(server):
    """FATE 1.5/1.6's /v1/model/tag answers: keys, retcodes and messages."""
    post = server.post
    assert post("/v1/model/tag/create", {"tag_name": "gold", "tag_desc": "best"}) == {
        "retcode": 0, "retmsg": "'gold' tag has been created successfully."}
    assert post("/v1/model/tag/create", {"tag_name": "gold"}) == {
        "retcode": 100, "retmsg": "'gold' has already exists in database."}
    assert post("/v1/model/tag/retrieve", {"tag_name": "gold"}) == {
        "retcode": 0, "retmsg": "success", "data": {"tags": [{"name": "gold", "description": "best"}]}}
    assert post("/v1/model/tag/create", {"tag_name": "silver"})["retcode"] == 0
    # retrieve finds the tags whose name contains the text, in the order they were made
    assert post("/v1/model/tag/retrieve", {"tag_name": "l"})["data"] == {
        "tags": [{"name": "gold", "description": "best"}, {"name": "silver", "description": ""}]}
    assert post("/v1/model/tag/retrieve", {"tag_name": "copper"}) == {"retcode": 100, "retmsg": "No tags found."}
    assert post("/v1/model/tag/update", {"tag_name": "silver", "new_tag_name": "gold"}) == {
        "retcode": 100, "retmsg": "'gold' tag already exists."}
    assert post("/v1/model/tag/update", {"tag_name": "silver", "new_tag_name": "silver"}) == {
        "retcode": 100, "retmsg": "Nothing to be updated."}
    assert post("/v1/model/tag/update", {"tag_name": "silver", "new_tag_name": "bronze", "new_tag_desc": "third"}) \
        == {"retcode": 0, "retmsg": "Infomation of 'silver' tag has been updated successfully."}
    assert post("/v1/model/tag/list", {"limit": 10})["data"] == {"tags": [
        {"name": "gold", "description": "best", "model_count": 0},
        {"name": "bronze", "description": "third", "model_count": 0}]}
    assert post("/v1/model/tag/list", {"limit": 1})["data"]["tags"][0]["name"] == "gold"
    assert post("/v1/model/tag/destroy", {"tag_name": "bronze"}) == {
        "retcode": 0, "retmsg": "'bronze' tag has been deleted successfully."}
    for route in ("destroy", "update"):
        gone = post(f"/v1/model/tag/{route}", {"tag_name": "bronze", "new_tag_desc": "x"})
        assert gone == {"retcode": 100, "retmsg": "Can not found 'bronze' tag."}, (route, gone)
    gone = post("/v1/model/tag/retrieve", {"tag_name": "bronze", "with_model": True})
    assert gone == {"retcode": 100, "retmsg": "Can not found 'bronze' tag."}, gone
    empty = post("/v1/model/tag/create", {"tag_name": ""})
    assert empty["retcode"] != 0 and "tag_name" in empty["retmsg"], empty


def test_tags_on_a_model(server, model_job):
    """FATE 1.5/1.6's /v1/model/model_tag answers: keys, retcodes and messages."""
    post = server.post
    model = f"guest-9999#model {model_job}"  # FATE names the model by its model id and version
    tagged = post("/v1/model/model_tag/create", {"job_id": model_job, "tag_name": "gold"})
    assert tagged == {"retcode": 0, "retmsg": f"Adding gold tag for model with job id: {model_job} successfully."}
    twice = post("/v1/model/model_tag/create", {"job_id": model_job, "tag_name": "gold"})
    assert twice == {"retcode": 100, "retmsg": f"Model {model} already been tagged as tag 'gold'."}, twice
    assert post("/v1/model/model_tag/create", {"job_id": model_job, "tag_name": "fresh"})["retcode"] == 0
    assert post("/v1/model/model_tag/retrieve", {"job_id": model_job}) == {"retcode": 0, "retmsg": "success", "data": {
        "tags": [{"name": "gold", "description": "best"}, {"name": "fresh", "description": ""}], "count": 2}}
    with_model = post("/v1/model/tag/retrieve", {"tag_name": "gold", "with_model": True})["data"]
    assert with_model == {"models": [{"model_id": "guest-9999#model", "model_version": model_job,
                                      "model_size": with_model["models"][0]["model_size"]}], "count": 1}
    counts = {t["name"]: t["model_count"] for t in post("/v1/model/tag/list", {})["data"]["tags"]}
    assert counts["gold"] == 1 and counts["fresh"] == 1
    removed = post("/v1/model/model_tag/create", {"job_id": model_job, "tag_name": "fresh", "remove": True})
    assert removed == {"retcode": 0, "retmsg": f"'fresh' tag has been removed from tag list of model {model}."}
    assert post("/v1/model/model_tag/remove", {"job_id": model_job, "tag_name": "fresh"}) == {
        "retcode": 100, "retmsg": f"Model {model} does not have tag 'fresh'."}
    assert post("/v1/model/model_tag/remove", {"job_id": model_job, "tag_name": "copper"}) == {
        "retcode": 100, "retmsg": "Can not found 'copper' tag."}
    unknown = post("/v1/model/model_tag/retrieve", {"job_id": "202001010000000000000"})
    assert unknown == {"retcode": 100, "retmsg": "Can not found model by job id: '202001010000000000000'."}
    assert post("/v1/model/tag/destroy", {"tag_name": "gold"})["retcode"] == 0
    assert post("/v1/model/model_tag/retrieve", {"job_id": model_job})["data"] == {
        "tags": [], "count": 0}


def _migrate_body(model_job: str, version: str, **changes) -> dict:
    body = {"job_parameters": {"federated_mode": "MULTIPLE"}, "role": {"guest": [9999]},
            "migrate_role": {"guest": [10000]}, "execute_party": {"guest": [9999]},
            "migrate_initiator": {"role": "guest", "party_id": 10000},
            "model_id": "guest-9999#model", "model_version": model_job, "unify_model_version": version}
    body.update(changes)
    return body


def test_migrated_model_predicts_as_the_new_party(server, model_job):
    version = model_job[:-1] + "7"
    answer = server.post("/v1/model/migrate", _migrate_body(model_job, version))
    assert answer["retcode"] == 0, answer
    assert answer["data"]["model_id"] == "guest-10000#model" and answer["data"]["model_version"] == version
    assert answer["data"]["guest"] == {"9999": 0} and answer["retmsg"] == "migrating model successfully"
    assert answer["data"]["detail"] == {"guest": {"9999": {"retcode": 0, "retmsg": answer["data"]["detail"][
        "guest"]["9999"]["retmsg"]}}} and "guest#10000#guest-10000#model" in answer["data"]["detail"]["guest"]["9999"][
        "retmsg"]
    pipeline = json.loads((server.work_dir / "model_local_cache" / "guest#10000#guest-10000#model" / version /
                           "pipeline.json").read_text())
    conf = pipeline["train_runtime_conf"]
    assert conf["role"] == {"guest": [10000]} and conf["initiator"] == {"role": "guest", "party_id": 10000}
    assert pipeline["model_id"] == conf["job_parameters"]["common"]["model_id"] == "guest-10000#model"
    again = server.post("/v1/model/migrate", _migrate_body(model_job, version))
    assert again["retcode"] == 101 and "already exists" in again["retmsg"], again
    assert again["data"]["guest"] == {"9999": 100} and "already exists" in again["data"]["detail"]["guest"]["9999"][
        "retmsg"], again
    # the migrated model is deployed and predicts as guest 10000
    deployed = server.post("/v1/model/deploy", {"model_id": "guest-10000#model", "model_version": version,
                                                "cpn_list": ["reader_0", "dataio_0"]})
    assert deployed["retcode"] == 0, deployed
    conf = {"dsl_version": 2, "initiator": {"role": "guest", "party_id": 10000}, "role": {"guest": [10000]},
            "job_parameters": {"common": {"job_type": "predict", "work_mode": 0, "model_id": "guest-10000#model",
                                          "model_version": deployed["data"]["model_version"]}},
            "component_parameters": {"role": {"guest": {"0": {
                "reader_0": {"table": {"name": "model_input", "namespace": "gaps"}}}}}}}
    predict = server.post("/v1/job/submit", {"job_dsl": {}, "job_runtime_conf": conf})
    assert predict["retcode"] == 0, predict
    assert server.wait_job(predict["jobId"], timeout=120)["f_status"] == "success"


@pytest.mark.parametrize("changes,words", [
    ({"migrate_role": {"guest": [10000, 10001]}}, "migrate_role"),
    ({"execute_party": {"guest": [10000]}}, "execute_party"),
    ({"migrate_role": {"guest": ["x/.."]}}, "migrate_role.guest"),
    ({"migrate_initiator": {"role": "host", "party_id": 1}}, "migrate_initiator"),
    ({"job_parameters": {"federated_mode": "BOTH"}}, "federated_mode"),
    ({"unify_model_version": ""}, "unify_model_version"),
    ({"model_version": "202001010000000000000"}, "model local cache"),
])
def test_migrate_refuses_bad_input_by_name(server, model_job, changes, words):
    answer = server.post("/v1/model/migrate", _migrate_body(model_job, model_job[:-1] + "8", **changes))
    assert answer["retcode"] != 0 and words in answer["retmsg"], answer


def test_party_shares_of_deploy_and_migrate_refuse_bad_input_by_name(server, model_job):
    """/v1/model/deploy/do and /migrate/do (the initiator's calls to each party) name what is wrong."""
    dsl = {"components": {"dataio_0": {"module": "DataIO", "input": {"model": ["pipeline.dataio_0.model"]}}}}
    deploy = {"model_id": "guest-9999#model", "model_version": model_job, "child_model_version": model_job[:-1] + "1",
              "predict_dsl": dsl, "local": {"role": "guest", "party_id": 9999}}
    for changes, words in (({"local": None}, "local is required"),
                           ({"local": {"role": "local", "party_id": 0}}, "is not on this server"),
                           ({"child_model_version": "../x"}, "child_model_version"),
                           ({"predict_dsl": {"x": 1}}, "predict_dsl"),
                           ({"predict_dsl": {"components": {"a": {"input": {"model": ["pipeline.nope.model"]}}}}},
                            "pipeline.nope.model"),
                           ({"model_version": "202001010000000000000"}, "not found for role guest party 9999")):
        answer = server.post("/v1/model/deploy/do", dict(deploy, **changes))
        assert answer["retcode"] != 0 and words in answer["retmsg"], (changes, answer)
    migrate = dict(_migrate_body(model_job, model_job[:-1] + "2"), local={"role": "guest", "party_id": 9998})
    answer = server.post("/v1/model/migrate/do", migrate)
    assert answer["retcode"] != 0 and "execute_party" in answer["retmsg"], answer


def _fate_client(version: str, server, tmp_path_factory) -> FateClient:
    try:
        return FateClient(version, server.address, tmp_path_factory.mktemp(f"client_{version}"))
    except (ClientUnavailable, StopIteration) as exc:
        pytest.skip(f"fate-client {version} could not be installed here: {exc}")


def test_flow_cli_16_tags_and_migrate(server, model_job, tmp_path_factory, tmp_path):
    """fate-client 1.6.1's ``flow tag``, ``flow model tag-model`` / ``tag-list`` and ``flow model migrate``."""
    flow = _fate_client("1.6.1", server, tmp_path_factory).flow
    assert flow("tag", "create", "-t", "cli_tag", "-d", "from the CLI")["retcode"] == 0
    assert flow("model", "tag-model", "-j", model_job, "-t", "cli_tag")["retcode"] == 0
    query = flow("tag", "query", "-t", "cli_tag")
    assert query["data"]["tags"] == [{"name": "cli_tag", "description": "from the CLI"}], query
    query = flow("tag", "query", "-t", "cli_tag", "--with-model")
    assert [m["model_version"] for m in query["data"]["models"]] == [model_job] and query["data"]["count"] == 1
    assert flow("model", "tag-model", "-j", model_job, "-t", "cli_tag", "--remove")["retcode"] == 0
    conf = tmp_path / "migrate.json"
    version = model_job[:-1] + "9"
    conf.write_text(json.dumps(_migrate_body(model_job, version)))
    migrated = flow("model", "migrate", "-c", str(conf))
    assert migrated["retcode"] == 0 and migrated["data"]["model_version"] == version, migrated


def test_flow_cli_and_sdk_15_on_the_routes_fate_15_added(server, model_job, tmp_path_factory, tmp_path):
    """fate-client 1.5.3's ``flow`` CLI and flow_sdk on the routes FATE 1.5 added beside 1.4's: tags, model
    tags, migrate, task and component lists, table add/bind, model query, deploy and the predict DSL and conf
    (as files for the CLI). 1.5.0's commands for these routes are the same code (and its deploy path,
    job/dsl/generate, runs in test_fate_clients.py)."""
    version = "1.5.3"
    client = _fate_client(version, server, tmp_path_factory)
    flow = client.flow
    tag = f"cli_{version.replace('.', '_')}"
    assert flow("tag", "create", "-t", tag, "-d", "from 1.5") == {
        "retcode": 0, "retmsg": f"'{tag}' tag has been created successfully."}
    assert flow("tag", "query", "-t", tag)["data"] == {"tags": [{"name": tag, "description": "from 1.5"}]}
    assert flow("model", "tag-model", "-j", model_job, "-t", tag)["retcode"] == 0
    assert {"name": tag, "description": "from 1.5"} in flow("model", "tag-list", "-j", model_job)["data"]["tags"]
    with_model = flow("tag", "query", "-t", tag, "--with-model")["data"]
    assert [m["model_version"] for m in with_model["models"]] == [model_job] and with_model["count"] == 1
    assert flow("tag", "update", "-t", tag, "--new-tag-desc", "changed")["retcode"] == 0
    listed = {t["name"]: t for t in flow("tag", "list", "-l", "100")["data"]["tags"]}
    assert listed[tag] == {"name": tag, "description": "changed", "model_count": 1}, listed
    assert flow("model", "tag-model", "-j", model_job, "-t", tag, "--remove")["retcode"] == 0
    assert flow("tag", "delete", "-t", tag)["retcode"] == 0

    migrated_version = model_job[:-1] + "5"
    conf = tmp_path / "migrate.json"
    conf.write_text(json.dumps(_migrate_body(model_job, migrated_version)))
    migrated = flow("model", "migrate", "-c", str(conf))
    assert migrated["retcode"] == 0 and migrated["data"]["guest"] == {"9999": 0}, migrated
    assert migrated["data"]["model_version"] == migrated_version

    tasks = flow("task", "list", "-l", "50")
    assert tasks["retcode"] == 0 and model_job in {t["f_job_id"] for t in tasks["data"]}, tasks
    components = flow("component", "list", "-j", model_job)
    assert components["retcode"] == 0 and set(components["data"]["components"]) == {"reader_0", "dataio_0"}
    _flow_sdk_15(client, server, model_job, migrated_version[:-1] + "3", tmp_path)

    add = tmp_path / "add.json"
    add.write_text(json.dumps({"engine": "PATH", "address": {"path": str(GUEST)}, "namespace": "gaps_15",
                               "name": "t", "head": 1, "partitions": 1}))
    assert flow("table", "add", "-c", str(add))["data"] == {"table_name": "t", "namespace": "gaps_15"}
    add.write_text(json.dumps({"engine": "PATH", "address": {"path": str(GUEST)}, "namespace": "gaps_15",
                               "name": "t", "head": 1, "partitions": 1, "drop": 1}))
    assert flow("table", "bind", "-c", str(add))["retcode"] == 0
    info = flow("model", "get-model-info", "--model-id", "guest-9999#model", "--model-version", model_job,
                "-r", "guest", "-p", "9999")
    assert info["retcode"] == 0 and info["data"][0]["f_model_version"] == model_job, info
    deployed = flow("model", "deploy", "--model-id", "guest-9999#model", "--model-version", model_job,
                    "--cpn-list", "reader_0,dataio_0")
    assert deployed["retcode"] == 0 and deployed["data"]["guest"] == {"9999": 0}, deployed
    ids = ("--model-id", "guest-9999#model", "--model-version", deployed["data"]["model_version"])
    for what, check in (("dsl", lambda got: got["components"]["dataio_0"]["input"]["model"] == [
                            "pipeline.dataio_0.model"]),
                        ("conf", lambda got: got["job_parameters"]["common"]["model_version"] == ids[-1])):
        out = tmp_path / what
        answer = flow("model", f"get-predict-{what}", *ids, "-o", str(out))
        assert answer["retcode"] == 0, answer
        written = json.loads(next(out.glob(f"predict_{what}_*.json")).read_text())
        assert check(written), written
    missing = flow("model", "get-predict-dsl", "--model-id", "guest-9999#model", "--model-version", model_job,
                   "-o", str(tmp_path / "none"))
    assert missing["retcode"] != 0 and "has not been deployed" in missing["retmsg"], missing
    assert not (tmp_path / "none").exists()


FLOW_SDK_SCRIPT = """
import json, sys
from flow_sdk.client import FlowClient
host, port, job, tag, migrate_conf = sys.argv[1:]
client = FlowClient(host, int(port), "v1")
out = {"create": client.tag.create(tag_name=tag, tag_desc="sdk"),
       "tag_model": client.model.tag_model(job_id=job, tag_name=tag),
       "tag_list": client.model.tag_list(job_id=job),
       "with_model": client.tag.query(tag_name=tag, with_model=True),
       "update": client.tag.update(tag_name=tag, new_tag_desc="changed"),
       "list": client.tag.list(limit=100),
       "untag": client.model.tag_model(job_id=job, tag_name=tag, remove=True),
       "delete": client.tag.delete(tag_name=tag),
       "tasks": client.task.list(limit=50),
       "migrate": client.model.migrate(conf_path=migrate_conf)}
model_id = "guest-9999#model"
out["info"] = client.model.get_model_info(model_id=model_id, model_version=job, role="guest", party_id=9999)
out["deploy"] = client.model.deploy(model_id=model_id, model_version=job, cpn_list=["reader_0", "dataio_0"])
version = out["deploy"]["data"]["model_version"]
out["dsl"] = client.model.get_predict_dsl(model_id=model_id, model_version=version)
out["conf"] = client.model.get_predict_conf(model_id=model_id, model_version=version)
print("RESULT " + json.dumps(out))
"""


def _flow_sdk_15(client: FateClient, server, model_job: str, migrated_version: str, tmp_path) -> None:
    """fate-client 1.5.x's flow_sdk (``FlowClient``) on the same routes: its tag, model and task calls."""
    conf = tmp_path / "sdk_migrate.json"
    conf.write_text(json.dumps(_migrate_body(model_job, migrated_version)))
    tag = f"sdk_{client.version.replace('.', '_')}"
    host, port = server.address.rsplit(":", 1)
    done = subprocess.run([str(client.python), "-c", FLOW_SDK_SCRIPT, host, port, model_job, tag, str(conf)],
                          capture_output=True, text=True, cwd=str(client.home), env=client.env, timeout=120)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, f"flow_sdk failed: {done.stdout[-1000:]} {done.stderr[-2000:]}"
    out = json.loads(line[len("RESULT "):])
    failed = {call: answer for call, answer in out.items() if answer.get("retcode") != 0}
    assert not failed, failed
    assert out["create"]["retmsg"] == f"'{tag}' tag has been created successfully."
    assert {"name": tag, "description": "sdk"} in out["tag_list"]["data"]["tags"]
    assert [m["model_version"] for m in out["with_model"]["data"]["models"]] == [model_job]
    assert {t["name"]: t["description"] for t in out["list"]["data"]["tags"]}[tag] == "changed"
    assert model_job in {t["f_job_id"] for t in out["tasks"]["data"]}
    assert out["migrate"]["data"]["model_version"] == migrated_version
    assert out["migrate"]["data"]["guest"] == {"9999": 0}
    assert out["info"]["data"][0]["f_model_version"] == model_job
    assert out["deploy"]["data"]["guest"] == {"9999": 0}
    assert out["dsl"]["data"]["components"]["dataio_0"]["input"]["model"] == ["pipeline.dataio_0.model"]
    assert out["conf"]["data"]["job_parameters"]["common"]["model_version"] == out["deploy"]["data"]["model_version"]


def test_flow_cli_111_table_add_and_bind(server, tmp_path_factory, tmp_path):
    """fate-client 1.11's ``flow table add`` and ``flow table bind --drop`` with a PATH address."""
    flow = _fate_client("1.11.3.post1", server, tmp_path_factory).flow
    conf = tmp_path / "add.json"
    conf.write_text(json.dumps({"engine": "PATH", "address": {"path": str(GUEST)}, "namespace": "gaps_cli",
                                "name": "t", "head": 1, "id_delimiter": ",", "partitions": 1}))
    added = flow("table", "add", "-c", str(conf))
    assert added["retcode"] == 0 and added["data"] == {"table_name": "t", "namespace": "gaps_cli"}, added
    assert flow("table", "bind", "-c", str(conf), "--drop")["retcode"] == 0
    info = server.post("/v1/table/table_info", {"namespace": "gaps_cli", "table_name": "t"})["data"]
    assert info["count"] == len(_lines(GUEST)) - 1


def test_our_client_commands(server, model_job, tmp_path):
    """fate_flow_client.py's table_add/table_bind, tag commands and migrate (FATE 1.5's flag names)."""
    run = server.client
    conf = tmp_path / "add.json"
    conf.write_text(json.dumps({"engine": "PATH", "address": {"path": str(GUEST)}, "namespace": "gaps_ours",
                                "head": 1, "partitions": 1}))
    added = run("-f", "table_add", "-c", str(conf), "-t", "ours")
    assert added["retcode"] == 0 and added["data"] == {"table_name": "ours", "namespace": "gaps_ours"}, added
    assert run("-f", "table_bind", "-c", str(conf), "-t", "ours", "-drop", "1")["retcode"] == 0
    assert run("-f", "table_add", "-t", "x")["retcode"] == 100  # engine, address, namespace named
    assert run("-f", "create_tag", "--tag-name", "ours", "--tag-desc", "d")["retcode"] == 0
    assert run("-f", "tag_model", "-j", model_job, "--tag-name", "ours")["retcode"] == 0
    assert run("-f", "query_tag", "--tag-name", "ours", "--with-model")["data"]["models"][0]["model_version"] == model_job
    assert run("-f", "update_tag", "--tag-name", "ours", "--new-tag-name", "ours2")["retcode"] == 0
    assert run("-f", "tag_model", "-j", model_job, "--tag-name", "ours2", "--remove")["retcode"] == 0
    assert run("-f", "model_tag_list", "-j", model_job)["data"] == {"tags": [], "count": 0}
    migrate = tmp_path / "migrate.json"
    migrate.write_text(json.dumps(_migrate_body(model_job, model_job[:-1] + "6")))
    assert run("-f", "migrate", "-c", str(migrate))["retcode"] == 0
