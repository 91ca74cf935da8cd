"""Upload, download, history, table info and delete through the real server and client."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.flow_server import ROOT, FlowServer

DATA = ROOT / "examples" / "data"
GUEST, HOST, MINI = DATA / "breast_hetero_guest.csv", DATA / "breast_hetero_host.csv", DATA / "breast_hetero_mini_guest.csv"
NS = "fate_flow_test_breast_hetero"


# one worker sets up the module's shared fixtures (servers, engines) once
pytestmark = pytest.mark.xdist_group("e2e_data")


def data_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()[1:]


def upload_conf(tmp_path: Path, file: Path, table: str, **extra) -> Path:
    conf = {"file": str(file), "head": 1, "partition": 10, "work_mode": 0, "namespace": NS, "table_name": table,
            **extra}
    path = tmp_path / f"upload_{table}_{len(extra)}.json"
    path.write_text(json.dumps(conf))
    return path


def run_job(server: FlowServer, answer: dict, status: str = "success") -> dict:
    assert answer["retcode"] == 0, answer
    job = server.wait_job(answer["jobId"], timeout=60)
    assert job["f_status"] == status, job
    return job


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = FlowServer(tmp_path_factory.mktemp("data") / "server").start()
    yield server
    server.stop()


def test_legacy_upload_table_info_download_history_delete(server, tmp_path):
    for conf in ("upload_guest.json", "upload_host.json"):  # the confs as FATE ships them, relative paths
        job = run_job(server, server.client("-f", "upload", "-c", str(ROOT / "examples" / conf), "-drop", "1"))
    [task] = server.post("/v1/job/task/query", {"job_id": job["f_job_id"]})["data"]
    assert task["f_engine"] == "local" and task["f_partitions"] == 4, "the task's record says what it computed on"
    assert 20 << 20 < task["f_peak_memory"] < 1 << 30, task["f_peak_memory"]
    info = server.client("-f", "table_info", "-n", NS, "-t", "breast_hetero_guest")
    assert info == {"retcode": 0, "retmsg": "success", "data": {
        "count": 569, "namespace": NS, "partition": 10, "table_name": "breast_hetero_guest",
        "schema": {"header": "y,x0,x1,x2,x3,x4,x5,x6,x7,x8,x9", "sid": "id"}}}
    out = tmp_path / "guest_download.csv"
    conf = tmp_path / "download.json"
    conf.write_text(json.dumps({"output_path": str(out), "work_mode": 0, "namespace": NS,
                                "table_name": "breast_hetero_guest"}))
    run_job(server, server.client("-f", "download", "-c", str(conf)))
    assert sorted(out.read_text().splitlines()) == sorted(data_lines(GUEST))  # stored partition by partition
    history = server.client("-f", "upload_history", "-limit", "2")
    assert history["retcode"] == 0 and len(history["data"]) == 2
    newest = next(iter(history["data"][0].values()))
    assert newest["upload_info"] == {"table_name": "breast_hetero_host", "namespace": NS, "partition": 10,
                                     "upload_count": 569, "actual_count": 569}
    assert newest["meta"]["sid"] == "id" and newest["notes"] == ""
    deleted = server.client("-f", "table_delete", "-n", NS, "-t", "breast_hetero_host")
    assert deleted == {"retcode": 0, "retmsg": "success", "data": [{"table_name": "breast_hetero_host", "namespace": NS}]}
    assert server.client("-f", "table_info", "-n", NS, "-t", "breast_hetero_host")["data"]["count"] == 0
    assert not (server.work_dir / "data" / NS / "breast_hetero_host").exists()
    assert server.client("-f", "table_delete", "-n", NS, "-t", "breast_hetero_host") == {"retcode": 101,
                                                                                       "retmsg": "no find table"}


def test_reupload_needs_drop_and_drop_replaces(server, tmp_path):
    run_job(server, server.client("-f", "upload", "-c", str(upload_conf(tmp_path, GUEST, "re")), "-drop", "1"))
    refused = server.client("-f", "upload", "-c", str(upload_conf(tmp_path, MINI, "re")))
    assert refused["retcode"] == 100 and "already exists" in refused["retmsg"] and "-drop" in refused["retmsg"]
    run_job(server, server.client("-f", "upload", "-c", str(upload_conf(tmp_path, MINI, "re")), "-drop", "1"))
    info = server.post("/v1/table/table_info", {"namespace": NS, "table_name": "re"})["data"]
    assert info["count"] == 569 and info["schema"]["header"] == "y,x0,x1,x2"


def test_drop_0_appends_as_the_client_help_says(server, tmp_path):
    from fate_flow.components.data_access.param import DROP_APPEND, DROP_REPLACE

    help_text = subprocess.run([sys.executable, str(ROOT / "fate_flow_client.py"), "-h"], capture_output=True,
                               text=True, check=True).stdout
    assert f"{DROP_APPEND} appends" in " ".join(help_text.split())
    assert f"{DROP_REPLACE} replaces" in " ".join(help_text.split())
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("id,y,x0\n1,0,0.5\n2,1,0.25\n")
    second.write_text("id,y,x0\n2,0,0.75\n3,1,0.125\n")
    run_job(server, server.client("-f", "upload", "-c", str(upload_conf(tmp_path, first, "append")), "-drop", "1"))
    run_job(server, server.client("-f", "upload", "-c", str(upload_conf(tmp_path, second, "append")),
                                  "-drop", str(DROP_APPEND)))
    assert server.post("/v1/table/table_info", {"namespace": NS, "table_name": "append"})["data"]["count"] == 3
    out = tmp_path / "append.csv"
    run_job(server, server.post("/v1/data/download", {"output_path": str(out), "work_mode": 0, "namespace": NS,
                                                      "table_name": "append"}))
    assert sorted(out.read_text().splitlines()) == ["1,0,0.5", "2,0,0.75", "3,1,0.125"]


def test_deleted_table_uploaded_again_holds_only_new_rows(server, tmp_path):
    run_job(server, server.client("-f", "upload", "-c", str(upload_conf(tmp_path, GUEST, "again")), "-drop", "1"))
    assert server.client("-f", "table_delete", "-n", NS, "-t", "again")["retcode"] == 0
    small = tmp_path / "small.csv"
    small.write_text("id,y,x0\n1,0,0.5\n2,1,0.25\n")
    run_job(server, server.client("-f", "upload", "-c", str(upload_conf(tmp_path, small, "again"))))
    out = tmp_path / "again.csv"
    run_job(server, server.post("/v1/data/download", {"output_path": str(out), "work_mode": 0, "namespace": NS,
                                                      "table_name": "again", "delimitor": "\t"}))
    assert sorted(out.read_text().splitlines()) == ["1\t0,0.5", "2\t1,0.25"]


def test_upload_request_forms(server, tmp_path):
    """Key=value query (1.4 client), JSON text query (fate-client 1.5.1+), and use_local_data 0."""
    conf = {"head": 1, "partition": 4, "work_mode": 0, "namespace": NS, "drop": 1}
    with open(MINI, "rb") as f:
        as_json = requests.post(f"{server.url}/v1/data/upload", params={json.dumps(dict(conf, table_name="j")): ""},
                                files={"file": ("mini.csv", f, "application/octet-stream")}).json()
    run_job(server, as_json)
    assert as_json["data"]["table_name"] == "j" and as_json["data"]["namespace"] == NS
    local = server.post("/v1/data/upload", dict(conf, table_name="local", file=str(MINI), use_local_data=0))
    run_job(server, local)
    for table in ("j", "local"):
        assert server.post("/v1/table/table_info", {"namespace": NS, "table_name": table})["data"]["count"] == 569
    job_dir = server.work_dir / "jobs" / as_json["jobId"]
    assert not (job_dir / "fate_upload_tmp").exists(), "the received copy is removed"


def test_duplicate_ids_counted_as_fate_does(server, tmp_path):
    dup = tmp_path / "dup.csv"
    dup.write_text("id,x\na,1\nb,2\na,3\nc,4\nb,5\n")
    job = run_job(server, server.client("-f", "upload", "-c", str(upload_conf(tmp_path, dup, "dup"))))
    view = server.post("/v1/job/data/view/query", {"job_id": job["f_job_id"]})["data"][0]
    assert (view["f_table_count_upload"], view["f_table_count_actual"]) == (5, 3)
    out = tmp_path / "dup_out.csv"
    run_job(server, server.post("/v1/data/download", {"output_path": str(out), "work_mode": 0, "namespace": NS,
                                                      "table_name": "dup"}))
    assert sorted(out.read_text().splitlines()) == ["a,3", "b,5", "c,4"]


BAD_UPLOADS = [
    ({"namespace": None}, 100, "namespace"),
    ({"partition": 0}, 101, "partition"),
    ({"partition": 1024}, 101, "partition"),
    ({"head": 2}, 101, "head"),
    ({"head": "one"}, 101, "head"),
    ({"drop": 7}, 101, "drop"),
    ({"work_mode": 1}, 100, "cluster"),
    ({"namespace": "../etc"}, 101, "namespace"),
    ({"table_name": "a/b"}, 101, "table_name"),
    ({"table_name": ""}, 100, "table_name"),
    ({"file": "no/such/file.csv"}, 100, "does not exist"),  # relative: in the work dir
    ({"file": "/etc/passwd"}, 101, "allowed_dirs"),  # whatever the bind address
]


@pytest.mark.parametrize("change,retcode,word", BAD_UPLOADS)
def test_bad_upload_requests(server, tmp_path, change, retcode, word):
    conf = {"file": str(MINI), "head": 1, "partition": 10, "work_mode": 0, "namespace": NS, "table_name": "bad",
            "use_local_data": 0, **change}
    conf = {k: v for k, v in conf.items() if v is not None}
    answer = server.post("/v1/data/upload", conf)
    assert answer["retcode"] == retcode and word in answer["retmsg"], answer
    assert server.post("/v1/table/table_info", {"namespace": NS, "table_name": "bad"})["data"]["count"] == 0


def test_bad_files_fail_cleanly_and_keep_the_old_table(server, tmp_path):
    run_job(server, server.client("-f", "upload", "-c", str(upload_conf(tmp_path, MINI, "keep")), "-drop", "1"))
    cases = {"garbage.bin": b"id,x\n1,2\n\xff\xfe\x00\x01binary\n3,4\n", "nonutf8.csv": b"id,x\n1,caf\xe9\n"}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        answer = server.client("-f", "upload", "-c", str(upload_conf(tmp_path, path, "keep")), "-drop", "1")
        job = run_job(server, answer, status="failed")
        assert "line" in job["f_status_reason"], job["f_status_reason"]
        assert not (server.work_dir / "jobs" / answer["jobId"] / "fate_upload_tmp").exists()
    info = server.post("/v1/table/table_info", {"namespace": NS, "table_name": "keep"})["data"]
    assert info["count"] == 569 and info["schema"]["header"] == "y,x0,x1,x2"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    answer = server.client("-f", "upload", "-c", str(upload_conf(tmp_path, empty, "keep")), "-drop", "1")
    assert answer["retcode"] == 100 and "empty" in answer["retmsg"]
    zero = requests.post(f"{server.url}/v1/data/upload", params={"namespace": NS, "table_name": "z", "head": 1,
                                                                  "partition": 1, "work_mode": 0, "file": "z.csv"},
                         files={"file": ("z.csv", b"", "application/octet-stream")}).json()
    assert zero["retcode"] == 100 and "empty" in zero["retmsg"]
    nofile = requests.post(f"{server.url}/v1/data/upload", params={"namespace": NS, "table_name": "z"},
                           files={"other": ("z.csv", b"1,2\n")}).json()
    assert nofile["retcode"] == 101 and "file" in nofile["retmsg"]
    assert server.post("/v1/data/merge", {}) == {"retcode": 100, "retmsg": "can not support this operating: merge"}


def test_paths_outside_allowed_dirs_are_refused(flow_server, tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    server = flow_server(conf={"data_access": {"allowed_dirs": [str(allowed)]}})
    inside = allowed / "mini.csv"
    inside.write_bytes(MINI.read_bytes())
    conf = {"head": 1, "partition": 2, "work_mode": 0, "namespace": NS, "use_local_data": 0}
    refused = server.post("/v1/data/upload", dict(conf, table_name="out", file=str(MINI)))
    assert refused["retcode"] == 101 and "allowed_dirs" in refused["retmsg"], refused
    run_job(server, server.post("/v1/data/upload", dict(conf, table_name="in", file=str(inside))))
    escape = server.post("/v1/data/download", {"output_path": str(allowed / ".." / "x.csv"), "work_mode": 0,
                                               "namespace": NS, "table_name": "in"})
    assert escape["retcode"] == 101 and "allowed_dirs" in escape["retmsg"]
    run_job(server, server.post("/v1/data/download", {"output_path": str(allowed / "out.csv"), "work_mode": 0,
                                                      "namespace": NS, "table_name": "in"}))
    assert sorted((allowed / "out.csv").read_text().splitlines()) == sorted(data_lines(MINI))


def test_upload_larger_than_the_memory_budget(flow_server, tmp_path):
    server = flow_server(conf={"data_access": {"block_size": 4096}})  # the host file is 111 kB
    run_job(server, server.client("-f", "upload", "-c", str(upload_conf(tmp_path, HOST, "budget"))))
    assert server.post("/v1/table/table_info", {"namespace": NS, "table_name": "budget"})["data"]["count"] == 569
    out = tmp_path / "budget.csv"
    run_job(server, server.post("/v1/data/download", {"output_path": str(out), "work_mode": 0, "namespace": NS,
                                                      "table_name": "budget"}))
    assert sorted(out.read_text().splitlines()) == sorted(data_lines(HOST))


def test_table_info_create_and_generated_names(server):
    created = server.post("/v1/table/table_info", {"namespace": NS, "table_name": "fresh", "create": True,
                                                   "partition": 4})
    assert created["data"] == {"table_name": "fresh", "namespace": NS, "count": 0, "partition": 4, "schema": {}}
    generated = server.post("/v1/table/table_info", {
        "table_name": "t1", "gen_table_info": True, "local": {"role": "guest", "party_id": 9999},
        "role": {"guest": [9999], "host": [10000]}, "data_type": "train"})
    assert generated["retcode"] == 0
    assert generated["data"]["namespace"] == "guest#9999#guest-9999#host-10000#train"
    assert generated["data"]["count"] == 0 and generated["data"]["partition"] is None
    missing = server.post("/v1/table/table_info", {"namespace": NS})
    assert missing["retcode"] == 100 and "table_name" in missing["retmsg"]


def test_table_delete_by_job(server, tmp_path):
    job = run_job(server, server.client("-f", "upload", "-c", str(upload_conf(tmp_path, MINI, "byjob")), "-drop", "1"))
    deleted = server.client("-f", "table_delete", "-j", job["f_job_id"], "-r", "local", "-p", "0")
    assert deleted["data"] == [{"table_name": "byjob", "namespace": NS}]
    assert server.post("/v1/table/table_info", {"namespace": NS, "table_name": "byjob"})["data"]["count"] == 0
    assert server.client("-f", "table_delete", "-j", job["f_job_id"])["retcode"] == 101


def test_components_read_tables_and_their_output_data_is_served(server, tmp_path):
    run_job(server, server.client("-f", "upload", "-c", str(upload_conf(tmp_path, MINI, "echo_in")), "-drop", "1"))
    dsl = {"components": {
        "test_echo_0": {"module": "TestEcho", "input": {"data": {"data": ["args.train_data"]}},
                        "output": {"data": ["train"]}},
        "test_echo_1": {"module": "TestEcho", "input": {"data": {"data": ["test_echo_0.train"]}},
                        "output": {"data": ["train"], "model": ["echo"]}},
        "test_echo_2": {"module": "TestEcho", "input": {"data": {"data": ["args.train_data"]},
                                                        "model": ["test_echo_1.echo"]},
                        "output": {"data": ["train"]}}}}
    conf = {"initiator": {"role": "guest", "party_id": 9999}, "role": {"guest": [9999]},
            "job_parameters": {"work_mode": 0},
            "role_parameters": {"guest": {"args": {"data": {"train_data": [{"name": "echo_in", "namespace": NS}]}}}},
            "algorithm_parameters": {"test_echo_1": {"suffix": "7"}}}
    job_id = server.submit(dsl, conf)
    assert server.wait_job(job_id)["f_status"] == "success"
    jrpc = ["-j", job_id, "-cpn", "test_echo_1", "-r", "guest", "-p", "9999"]
    preview = server.post("/v1/tracking/component/output/data", {"job_id": job_id, "component_name": "test_echo_1",
                                                                 "role": "guest", "party_id": 9999})
    assert preview["meta"] == {"header": ["id", "y", "x0", "x1", "x2", "echo", "echo"], "total": 569}
    first = next(line.split(",") for line in data_lines(MINI) if line.split(",")[0] == preview["data"][0][0])
    assert len(preview["data"]) == 100 and preview["data"][0] == [*first, "1", "7"]
    table = server.client("-f", "component_output_data_table", *jrpc)
    assert table["data"] == {"table_name": "guest_9999_train", "table_namespace": f"output_data_{job_id}_test_echo_1"}
    answer = server.client("-f", "component_output_data", *jrpc, "-o", str(tmp_path))
    assert answer["retcode"] == 0, answer
    out = Path(answer["directory"])
    lines = (out / "output_data.csv").read_text().splitlines()
    assert lines[0] == "id,y,x0,x1,x2,echo,echo" and len(lines) == 570
    assert sorted(lines[1:]) == sorted(f"{line},1,7" for line in data_lines(MINI))
    assert json.loads((out / "output_data_meta.json").read_text())["header"][0] == "id"
    unknown = f"job {job_id} has no component nope (its components: test_echo_0, test_echo_1, test_echo_2)"
    none = server.post("/v1/tracking/component/output/data", {"job_id": job_id, "component_name": "nope",
                                                              "role": "guest", "party_id": 9999})
    assert none == {"retcode": 101, "retmsg": unknown}
    missing = requests.get(f"{server.url}/v1/tracking/component/output/data/download",
                           json={"job_id": job_id, "component_name": "nope", "role": "guest", "party_id": 9999})
    assert missing.status_code == 404 and missing.json() == {"retcode": 101, "retmsg": unknown}
    views = server.post("/v1/job/data/view/query", {"job_id": job_id})["data"]
    assert {v["f_component_name"] for v in views} == {"test_echo_0", "test_echo_1", "test_echo_2"}
    with_model = next(v for v in views if v["f_component_name"] == "test_echo_1")
    assert with_model["f_party_model_id"] == "guest#9999#guest-9999#model" and with_model["f_model_version"] == job_id
    model = server.client("-f", "component_output_model", *jrpc)
    assert model["data"] == {"suffix": "7", "rows": 569}
    assert model["meta"] == {"meta_data": {"need_run": True}, "module_name": "TestEcho"}
    echoed = server.post("/v1/tracking/component/output/data", {"job_id": job_id, "component_name": "test_echo_2",
                                                                "role": "guest", "party_id": 9999})
    assert echoed["data"][0][-1] == "7", "the model input reached the component"


def test_the_server_takes_an_upload_without_loading_numpy_or_arrow(flow_server, tmp_path):
    """Its checks, the catalogue record and table_info read names and metas only: the server stays small."""
    server = flow_server()
    conf = upload_conf(tmp_path, MINI, "light")
    run_job(server, server.client("-f", "upload", "-c", str(conf)))
    refused = server.client("-f", "upload", "-c", str(conf))
    assert refused["retcode"] == 100 and "already exists" in refused["retmsg"]
    info = server.post("/v1/table/table_info", {"namespace": NS, "table_name": "light"})["data"]
    assert info["count"] == len(data_lines(MINI))
    loaded = Path(f"/proc/{server.proc.pid}/maps").read_text()
    assert "libarrow" not in loaded and "numpy" not in loaded
