"""The legacy client against a recording HTTP server: what it sends, prints and writes."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

REPO = Path(__file__).resolve().parent.parent
CLIENT = REPO / "fate_flow_client.py"
SHIM = REPO / "fate_flow" / "fate_flow_client.py"


# one worker sets up the module's shared fixtures (servers, engines) once
pytestmark = pytest.mark.xdist_group("client")


def _load(name: str, path: Path) -> Any:
    """Import a module from a file path (tests/ need not be a package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fake = _load("_fake_server", Path(__file__).resolve().parent / "_fake_server.py")
client = _load("fate_flow_client", CLIENT)


@pytest.fixture(scope="module")
def flow_server():
    flow = fake.FakeFlowServer().start()
    yield flow
    flow.stop()


@pytest.fixture
def server(flow_server):
    flow_server.reset()
    return flow_server


def run(server, *args: str, cwd: Path, script: Path = CLIENT, env: Dict[str, str] = None) -> Dict[str, Any]:
    """Run the client as a subprocess and return its parsed stdout (plus raw streams)."""
    environ = dict(os.environ, FATE_FLOW_SERVER=server.url if server else "")
    environ.update(env or {})
    proc = subprocess.run([sys.executable, str(script), *args], cwd=str(cwd), env=environ,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith("}\n\n"), proc.stdout
    reply = json.loads(proc.stdout)
    reply["_stderr"] = proc.stderr
    return reply


def call(capsys, *argv: str) -> Dict[str, Any]:
    """Run the client in-process through main() and return the printed JSON."""
    assert client.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


# ---------------------------------------------------------------- jobs

def test_submit_job_sends_dsl_and_conf_with_client_keys(server, tmp_path):
    conf = {"initiator": {"role": "guest", "party_id": 9999}, "job_parameters": {"work_mode": 0}}
    dsl = {"components": {"upload_0": {"module": "Upload"}}}
    write_json(tmp_path / "conf.json", conf)
    write_json(tmp_path / "dsl.json", dsl)
    reply = run(server, "-f", "submit_job", "-c", "conf.json", "-d", "dsl.json", cwd=tmp_path)
    sent = server.only()
    assert (sent["method"], sent["path"]) == ("POST", "/v1/job/submit")
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["json"]["job_dsl"] == dsl
    assert sent["json"]["job_runtime_conf"] == dict(conf, function="submit_job", config=str(tmp_path / "conf.json"),
                                                    dsl=str(tmp_path / "dsl.json"))
    assert reply["jobId"] == fake.JOB_ID and reply["data"]["model_info"]["model_id"] == "m"


def test_submit_predict_job_needs_no_dsl(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    conf = write_json(tmp_path / "c.json", {"job_parameters": {"job_type": "predict", "work_mode": 0}})
    call(capsys, "-f", "submit_job", "-c", str(conf))
    assert server.only()["json"]["job_dsl"] == {}


def test_submit_train_job_without_dsl_is_refused_locally(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    conf = write_json(tmp_path / "c.json", {"job_parameters": {"work_mode": 0}})
    reply = call(capsys, "-f", "submit_job", "-c", str(conf))
    assert reply == {"retcode": 100, "retmsg": "the following arguments are required: dsl path"}
    assert server.requests == []


@pytest.mark.parametrize("script", [CLIENT, SHIM], ids=["client", "shim"])
def test_query_job_strips_dsl_and_runtime_conf(server, tmp_path, script):
    reply = run(server, "-f", "query_job", "-j", fake.JOB_ID, "-r", "guest", "-p", "9999",
                cwd=tmp_path, script=script)
    assert server.only()["json"] == {"function": "query_job", "job_id": fake.JOB_ID, "role": "guest",
                                     "party_id": "9999", "local": {"role": "guest", "party_id": "9999"}}
    assert [job["f_role"] for job in reply["data"]] == ["guest", "host"]
    assert all("f_dsl" not in job and "f_runtime_conf" not in job for job in reply["data"])
    assert reply["data"][0]["f_status"] == "success"


def test_shim_runs_from_project_root(server):
    reply = run(server, "-f", "stop_job", "-j", "42", cwd=REPO, script=Path("fate_flow/fate_flow_client.py"))
    assert reply == {"retcode": 0, "retmsg": "success", "_stderr": ""}
    assert server.only()["json"]["job_id"] == "42"


def test_shim_falls_back_to_installed_module(server, tmp_path):
    (tmp_path / "site").mkdir()
    shutil.copy(CLIENT, tmp_path / "site" / "fate_flow_client.py")
    (tmp_path / "pkg" / "fate_flow").mkdir(parents=True)
    shim = shutil.copy(SHIM, tmp_path / "pkg" / "fate_flow" / "fate_flow_client.py")
    run(server, "-f", "clean_queue", cwd=tmp_path, script=Path(shim), env={"PYTHONPATH": str(tmp_path / "site")})
    assert server.only()["path"] == "/v1/job/clean/queue"


def test_job_config_writes_one_file_per_key(server, tmp_path):
    reply = run(server, "-f", "job_config", "-j", fake.JOB_ID, "-r", "guest", "-p", "9999", "-o", "out",
                cwd=tmp_path)
    directory = tmp_path / "out" / "job_{}_config".format(fake.JOB_ID)
    assert server.only()["json"]["output_path"] == str(tmp_path / "out")
    assert sorted(p.name for p in directory.iterdir()) == [
        "dsl.json", "model_info.json", "runtime_conf.json", "train_runtime_conf.json"]
    assert json.loads((directory / "dsl.json").read_text()) == {"components": {"a_0": {"module": "A"}}}
    assert set(reply["data"]) == {"job_id", "train_runtime_conf", "model_info"}
    assert reply["directory"] == str(directory)
    assert reply["retmsg"] == "download successfully, please check {} directory".format(directory)


def test_job_log_is_extracted_and_tar_removed(server, tmp_path):
    reply = run(server, "-f", "job_log", "-j", fake.JOB_ID, "-o", "logs", cwd=tmp_path)
    sent = server.only()
    assert (sent["method"], sent["path"]) == ("GET", "/v1/job/log")
    assert sent["json"]["job_id"] == fake.JOB_ID and sent["json"]["output_path"] == str(tmp_path / "logs")
    directory = tmp_path / "logs" / "job_{}_log".format(fake.JOB_ID)
    assert (directory / "guest" / "9999" / "INFO.log").read_text() == "job started\n"
    assert reply == {"retcode": 0, "directory": str(directory), "_stderr": "",
                     "retmsg": "download successfully, please check {} directory".format(directory)}
    assert not list(tmp_path.rglob("*.tar.gz"))


def test_downloaded_tar_is_kept_under_the_output_path(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    monkeypatch.chdir(tmp_path)
    seen = []
    extract = client._extract_tar
    monkeypatch.setattr(client, "_extract_tar", lambda tar, folder: (seen.append(tar), extract(tar, folder)))
    assert call(capsys, "-f", "job_log", "-j", fake.JOB_ID, "-o", "out")["retcode"] == 0
    assert seen == [str(tmp_path / "out" / "job_{}_log.tar.gz".format(fake.JOB_ID))]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["job_{}_log".format(fake.JOB_ID)]


def test_download_error_status_prints_json_body(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    monkeypatch.chdir(tmp_path)
    server.routes["v1/job/log"] = fake.json_error(500)
    assert call(capsys, "-f", "job_log", "-j", "1", "-o", "x") == {"retcode": 500, "retmsg": "no data"}


# ---------------------------------------------------------------- tracking

def test_component_output_data_extracts_tar(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    monkeypatch.chdir(tmp_path)
    reply = call(capsys, "-f", "component_output_data", "-j", "J", "-cpn", "dataio_0", "-r", "guest",
                 "-p", "9999", "-o", "o", "-limit", "10")
    sent = server.only()
    assert (sent["method"], sent["path"]) == ("GET", "/v1/tracking/component/output/data/download")
    assert sent["json"]["limit"] == 10
    directory = tmp_path / "o" / "job_J_dataio_0_guest_9999_output_data"
    assert reply["directory"] == str(directory) and reply["retcode"] == 0
    assert (directory / "output_data.csv").read_text().startswith("id,y,x0")
    assert not list(tmp_path.rglob("*.tar.gz"))


def test_component_output_data_bad_archive(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    monkeypatch.chdir(tmp_path)
    server.routes["v1/tracking/component/output/data/download"] = lambda: b"not a tar"
    reply = call(capsys, "-f", "component_output_data", "-j", "J", "-cpn", "c", "-r", "guest", "-p", "1", "-o", "o")
    assert reply == {"retcode": 100, "retmsg": "download failed, please check if the parameters are correct"}
    assert not list(tmp_path.rglob("*.tar.gz"))


SIMPLE_COMMANDS = [
    (["-f", "stop_job", "-j", "J"], "/v1/job/stop"),
    (["-f", "clean_job", "-j", "J"], "/v1/job/clean"),
    (["-f", "data_view_query", "-j", "J"], "/v1/job/data/view/query"),
    (["-f", "clean_queue"], "/v1/job/clean/queue"),
    (["-f", "query_task", "-j", "J"], "/v1/job/task/query"),
    (["-f", "component_parameters", "-j", "J", "-cpn", "c", "-r", "guest", "-p", "1"],
     "/v1/tracking/component/parameters"),
    (["-f", "component_metric_all", "-j", "J", "-cpn", "c", "-r", "guest", "-p", "1"],
     "/v1/tracking/component/metric/all"),
    (["-f", "component_metrics", "-j", "J", "-cpn", "c", "-r", "guest", "-p", "1"], "/v1/tracking/component/metrics"),
    (["-f", "component_metric_delete", "-m", "20200101"], "/v1/tracking/component/metric/delete"),
    (["-f", "component_output_model", "-j", "J", "-cpn", "c", "-r", "guest", "-p", "1"],
     "/v1/tracking/component/output/model"),
    (["-f", "component_output_data_table", "-j", "J", "-cpn", "c", "-r", "guest", "-p", "1"],
     "/v1/tracking/component/output/data/table"),
    (["-f", "upload_history", "-limit", "5"], "/v1/data/upload/history"),
    (["-f", "table_info", "-n", "ns", "-t", "t"], "/v1/table/table_info"),
    (["-f", "table_delete", "-n", "ns", "-t", "t"], "/v1/table/delete"),
    (["-f", "load"], "/v1/model/load"),
    (["-f", "bind"], "/v1/model/bind"),
    (["-f", "store"], "/v1/model/store"),
    (["-f", "restore"], "/v1/model/restore"),
    (["-f", "grant_privilege", "-src_party_id", "10000", "-src_role", "host", "-privilege_role", "guest",
      "-privilege_command", "all", "-privilege_component", "all"], "/v1/permission/grant/privilege"),
    (["-f", "delete_privilege", "-src_party_id", "10000", "-src_role", "host"], "/v1/permission/delete/privilege"),
    (["-f", "query_privilege", "-src_party_id", "10000", "-src_role", "host"], "/v1/permission/query/privilege"),
]


@pytest.mark.parametrize("argv,path", SIMPLE_COMMANDS, ids=[a[1] for a, _ in SIMPLE_COMMANDS])
def test_simple_commands_post_config_as_json(server, capsys, monkeypatch, argv, path):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    assert call(capsys, *argv) == {"retcode": 0, "retmsg": "success"}
    sent = server.only()
    assert (sent["method"], sent["path"]) == ("POST", path)
    assert sent["json"]["function"] == argv[1]


def test_download_sends_conf_with_absolute_output_path(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    monkeypatch.chdir(tmp_path)
    write_json(tmp_path / "dl.json", {"output_path": "./out.csv", "work_mode": 0, "namespace": "n", "table_name": "t"})
    call(capsys, "-f", "download", "-c", "dl.json")
    sent = server.only()
    assert sent["path"] == "/v1/data/download"
    assert sent["json"]["output_path"] == str(tmp_path / "out.csv") and sent["json"]["work_mode"] == 0


@pytest.mark.parametrize("argv,missing", [
    (["-f", "stop_job"], "job_id"),
    (["-f", "clean_job"], "job_id"),
    (["-f", "job_config", "-j", "J"], "role,party_id,output_path"),
    (["-f", "job_log"], "job_id,output_path"),
    (["-f", "component_metrics", "-j", "J"], "component_name,role,party_id"),
    (["-f", "component_output_data", "-j", "J", "-cpn", "c", "-r", "guest", "-p", "1"], "output_path"),
    (["-f", "table_info", "-n", "ns"], "table_name"),
    (["-f", "query_privilege"], "src_party_id,src_role"),
    (["-f", "submit_job"], "runtime conf path"),
])
def test_missing_required_arguments(server, capsys, monkeypatch, argv, missing):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    reply = call(capsys, *argv)
    assert reply == {"retcode": 100, "retmsg": "the following arguments are required: " + missing}
    assert server.requests == []


# ---------------------------------------------------------------- upload

def test_upload_streams_multipart_with_query_string_config(server, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    csv = tmp_path / "big.csv"
    csv.write_bytes(data)
    # Relative to the project base (where fate_flow_client.py lives), not to the cwd.
    conf = write_json(tmp_path / "up.json", {"file": os.path.relpath(csv, REPO), "head": 1, "partition": 10,
                                             "work_mode": 0, "namespace": "ns", "table_name": "t"})
    (tmp_path / "elsewhere").mkdir()
    reply = run(server, "-f", "upload", "-c", str(conf), "-drop", "1", "-verbose", "1", cwd=tmp_path / "elsewhere")
    sent = server.only()
    assert (sent["method"], sent["path"], sent["json"]) == ("POST", "/v1/data/upload", None)
    assert sent["args"] == {"file": str(csv), "head": "1", "partition": "10", "work_mode": "0", "namespace": "ns",
                            "table_name": "t", "function": "upload", "config": str(conf), "drop": "1",
                            "verbose": "1"}
    part = sent["files"]["file"]
    assert (part["filename"], part["content_type"]) == ("big.csv", "application/octet-stream")
    assert part["sha256"] == hashlib.sha256(data).hexdigest()
    assert int(sent["headers"]["Content-Length"]) > len(data)
    assert "Transfer-Encoding" not in sent["headers"]
    assert "100.00%" in reply["_stderr"] and reply["retcode"] == 0


def test_upload_use_local_data_0_sends_json(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    conf = write_json(tmp_path / "up.json", {"file": "examples/data/x.csv", "use_local_data": 0, "head": 1,
                                             "partition": 4, "work_mode": 0, "namespace": "n", "table_name": "t"})
    call(capsys, "-f", "upload", "-c", str(conf))
    sent = server.only()
    assert sent["files"] == {} and sent["args"] == {}
    assert sent["json"]["file"] == "examples/data/x.csv" and sent["json"]["partition"] == 4


def test_upload_missing_file_message(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    conf = write_json(tmp_path / "up.json", {"file": str(tmp_path / "nope.csv")})
    reply = call(capsys, "-f", "upload", "-c", str(conf))
    assert reply["retcode"] == 100 and reply["retmsg"] == (
        "The file is obtained from the fate flow client machine, but it does not exist, "
        "please check the path: {}".format(tmp_path / "nope.csv"))
    assert server.requests == []


def test_upload_without_conf_names_c(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    csv = tmp_path / "x.csv"
    csv.write_text("id,x\n1,2\n")
    for argv in (["-f", "upload"], ["-f", "upload", "-i", str(csv), "-n", "ns", "-t", "t"]):
        reply = call(capsys, *argv)
        assert reply["retcode"] == 100 and reply["retmsg"].startswith(
            "the following arguments are required: -c/--config"), reply
    assert server.requests == []


@pytest.mark.parametrize("local", [1, 0], ids=["multipart", "use_local_data_0"])
def test_upload_conf_missing_fields_names_them(server, tmp_path, capsys, monkeypatch, local):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    csv = tmp_path / "x.csv"
    csv.write_text("id,x\n1,2\n")
    conf = write_json(tmp_path / "up.json", {"file": str(csv), "head": 1, "partition": 4, "work_mode": 0,
                                             "table_name": "", "use_local_data": local})
    reply = call(capsys, "-f", "upload", "-c", str(conf))
    assert reply == {"retcode": 100, "retmsg": "the following arguments are required: namespace,table_name"}
    assert server.requests == []
    # -n and -t complete the conf, as flags always override it
    assert call(capsys, "-f", "upload", "-c", str(conf), "-n", "ns", "-t", "t")["retcode"] == 0
    assert server.only()["path"] == "/v1/data/upload"


def test_multipart_body_is_read_in_bounded_blocks(tmp_path):
    payload = os.urandom(1024 * 1024)
    (tmp_path / "f.bin").write_bytes(payload)
    seen = []
    body = client.MultipartFile({"party_id": 9999, "local": {"role": "guest"}}, str(tmp_path / "f.bin"),
                                on_progress=lambda done, total: seen.append((done, total)))
    blocks = []
    while True:
        block = body.read(8192)
        if not block:
            break
        assert len(block) <= 8192
        blocks.append(block)
    raw = b"".join(blocks)
    assert len(raw) == len(body) and seen[-1] == (len(body), len(body))
    assert payload in raw and raw.endswith("--{}--\r\n".format(body.boundary).encode())
    assert b'name="party_id"\r\n\r\n9999\r\n' in raw and b'{"role": "guest"}' in raw


# ---------------------------------------------------------------- models

def test_export_names_file_from_unquoted_content_disposition(server, tmp_path):
    conf = write_json(tmp_path / "export.json", {"role": "guest", "party_id": 9999, "model_id": "m",
                                                 "model_version": "v", "output_path": "models"})
    reply = run(server, "-f", "export", "-c", str(conf), cwd=tmp_path)
    sent = server.only()
    assert (sent["method"], sent["path"]) == ("GET", "/v1/model/export")
    assert sent["json"]["output_path"] == str(tmp_path / "models") and sent["json"]["party_id"] == 9999
    path = tmp_path / "models" / fake.EXPORT_NAME
    assert path.read_bytes() == fake.MODEL_ZIP
    assert reply == {"retcode": 0, "file": str(path), "retmsg": "download successfully, please check {}".format(path),
                     "_stderr": ""}


def test_import_sends_form_fields_and_file(server, tmp_path):
    archive = tmp_path / fake.EXPORT_NAME
    archive.write_bytes(fake.MODEL_ZIP)
    conf = write_json(tmp_path / "import.json", {"role": "guest", "party_id": 9999, "model_id": "m",
                                                 "model_version": "v", "file": str(archive)})
    run(server, "-f", "import", "-c", str(conf), cwd=tmp_path)
    sent = server.only()
    assert (sent["method"], sent["path"]) == ("POST", "/v1/model/import")
    assert sent["form"] == {"role": "guest", "party_id": "9999", "model_id": "m", "model_version": "v",
                            "file": str(archive), "function": "import", "config": str(conf)}
    assert sent["files"]["file"]["filename"] == fake.EXPORT_NAME
    assert sent["files"]["file"]["bytes"] == fake.MODEL_ZIP


MODEL_INFO = {"model_id": "guest-9999#model", "model_version": fake.JOB_ID}  # the fake job's


@pytest.mark.parametrize("command", ["load", "bind"])
def test_j_fills_load_and_bind_job_parameters_from_the_job(server, tmp_path, capsys, monkeypatch, command):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    conf = write_json(tmp_path / "c.json", {"service_id": "s", "role": {"guest": ["9999"]},
                                            "job_parameters": {"work_mode": 0, "model_id": "", "model_version": ""}})
    assert call(capsys, "-f", command, "-c", str(conf), "-j", fake.JOB_ID) == {"retcode": 0, "retmsg": "success"}
    lookup, sent = server.requests
    assert (lookup["path"], lookup["json"]) == ("/v1/job/config", {"job_id": fake.JOB_ID})
    assert sent["path"] == "/v1/model/" + command
    assert sent["json"]["job_parameters"] == dict(MODEL_INFO, work_mode=0)
    assert sent["json"]["initiator"] == {"role": "guest", "party_id": 9999}  # the conf had none
    assert sent["json"]["role"] == {"guest": ["9999"]}  # the conf's own is kept


def test_j_fills_placeholders_of_export(server, tmp_path):
    conf = write_json(tmp_path / "export.json", {"role": "guest", "party_id": 9999, "model_id": "guest-9999#model",
                                                 "model_version": "<model_version>", "output_path": "models"})
    reply = run(server, "-f", "export", "-c", str(conf), "-j", fake.JOB_ID, cwd=tmp_path)
    assert reply["retcode"] == 0 and (tmp_path / "models" / fake.EXPORT_NAME).is_file()
    assert [r["path"] for r in server.requests] == ["/v1/job/config", "/v1/model/export"]
    assert {k: server.requests[1]["json"][k] for k in MODEL_INFO} == MODEL_INFO


def test_j_naming_another_model_than_the_conf_is_refused(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FATE_FLOW_SERVER", server.url)
    conf = write_json(tmp_path / "store.json", {"role": "guest", "party_id": 9999, "model_id": "guest-9999#model",
                                                "model_version": "2020"})
    reply = call(capsys, "-f", "store", "-c", str(conf), "-j", fake.JOB_ID)
    assert reply == {"retcode": 100, "retmsg": "model_version is 2020 in the conf but {0} in job {0}: empty it in "
                                               "the conf to take the job's, or leave out -j".format(fake.JOB_ID)}
    assert [r["path"] for r in server.requests] == ["/v1/job/config"]
    server.routes["v1/job/config"] = lambda: {"retcode": 101, "retmsg": "find job failed"}
    reply = call(capsys, "-f", "restore", "-c", str(conf), "-j", "404")
    assert reply == {"retcode": 100, "retmsg": "job 404 (-j): find job failed"}


def test_import_file_may_be_the_export_directory(server, tmp_path):
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / fake.EXPORT_NAME).write_bytes(fake.MODEL_ZIP)
    conf = write_json(tmp_path / "import.json", {"role": "guest", "party_id": 9999,
                                                 "model_id": "arbiter-10000#guest-9999#host-10000#model",
                                                 "model_version": fake.JOB_ID, "file": str(folder)})
    assert run(server, "-f", "import", "-c", str(conf), cwd=tmp_path)["retcode"] == 0
    sent = server.only()
    assert sent["files"]["file"]["bytes"] == fake.MODEL_ZIP and sent["form"]["file"] == str(folder / fake.EXPORT_NAME)
    conf = write_json(tmp_path / "other.json", dict(json.loads(conf.read_text()), model_version="1"))
    reply = run(server, "-f", "import", "-c", str(conf), cwd=tmp_path)
    assert reply["retcode"] == 100 and reply["retmsg"].endswith(
        str(folder / "guest#9999#arbiter-10000#guest-9999#host-10000#model_1.zip"))


# ---------------------------------------------------------------- output

def big_metric_all(points: int = 20000) -> Dict[str, Any]:
    """An evaluation's metric/all answer: a summary plus curves of ``points`` points each."""
    curve = {"data": [[i, i / points] for i in range(points)],
             "meta": {"name": "hetero_lr_0_ks_fpr", "metric_type": "KS_EVALUATION",
                      "thresholds": [i / points for i in range(points)]}}
    return {"retcode": 0, "retmsg": "success", "data": {"train": {
        "hetero_lr_0": {"data": [["auc", 0.98], ["ks", 0.87], ["precision", 0.9]],
                        "meta": {"name": "hetero_lr_0", "metric_type": "EVALUATION_SUMMARY"}},
        "hetero_lr_0_ks_fpr": curve,
        "hetero_lr_0_confusion_mat": {"data": [], "meta": {"name": "hetero_lr_0_confusion_mat",
                                                           "metric_type": "CONFUSION_MAT"}}}}}


@pytest.mark.parametrize("unbuffered", ["", "1"], ids=["buffered", "unbuffered"])
def test_reader_closing_the_pipe_early_ends_quietly(server, tmp_path, unbuffered):
    answer = big_metric_all()
    server.routes["v1/tracking/component/metric/all"] = lambda: answer
    environ = dict(os.environ, FATE_FLOW_SERVER=server.url, PYTHONUNBUFFERED=unbuffered)
    flow = subprocess.Popen([sys.executable, str(CLIENT), "-f", "component_metric_all", "-j", "J",
                             "-cpn", "evaluation_0", "-r", "guest", "-p", "9999"],
                            cwd=str(tmp_path), env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = subprocess.Popen(["head", "-n", "2"], stdin=flow.stdout, stdout=subprocess.PIPE)
    flow.stdout.close()  # head alone holds the read end: when it exits, the pipe breaks
    first_lines, _ = head.communicate(timeout=60)
    stderr = flow.stderr.read().decode()
    flow.stderr.close()
    assert flow.wait(timeout=60) == client.EXIT_BROKEN_PIPE, stderr
    assert first_lines.decode().splitlines() == ["{", '    "data": {']  # as sent: jsonify sorts keys
    assert stderr == ""  # no BrokenPipeError traceback, no "Exception ignored" at exit


def run_in_terminal(server, *args: str, cwd: Path) -> str:
    """Run the client with stdout on a pseudo-terminal, as a person at a shell does; return its output."""
    import pty

    main_fd, terminal = pty.openpty()
    environ = dict(os.environ, FATE_FLOW_SERVER=server.url)
    proc = subprocess.Popen([sys.executable, str(CLIENT), *args], cwd=str(cwd), env=environ,
                            stdout=terminal, stderr=subprocess.PIPE)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:  # EIO: the client closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    assert proc.wait(timeout=60) == 0
    proc.stderr.close()
    return b"".join(chunks).decode().replace("\r\n", "\n")


METRIC_ARGS = ("-f", "component_metric_all", "-j", "J", "-cpn", "evaluation_0", "-r", "guest", "-p", "9999")
SUMMARY_LINES = [
    "metrics of evaluation_0 (guest 9999) in job J",
    "train.hetero_lr_0:",
    "    auc        0.98",
    "    ks         0.87",
    "    precision  0.9",
]


def test_metric_all_on_a_terminal_shows_single_values_first(server, tmp_path):
    server.routes["v1/tracking/component/metric/all"] = lambda: big_metric_all()
    out = run_in_terminal(server, *METRIC_ARGS, cwd=tmp_path)
    assert out.splitlines() == SUMMARY_LINES + [
        "train.hetero_lr_0_confusion_mat: meta only (use -o DIR or --json for all)",
        "train.hetero_lr_0_ks_fpr: 20000 points (use -o DIR or --json for all)"]
    assert json.loads(run_in_terminal(server, *METRIC_ARGS, "--json", cwd=tmp_path)) == big_metric_all()
    assert "print_json" not in server.requests[-1]["json"] and "json" not in server.requests[-1]["json"]


def test_metric_all_through_a_pipe_stays_json(server, tmp_path):
    """FATE's scripts parse stdout: through a pipe the answer is the JSON, as the original printed it."""
    server.routes["v1/tracking/component/metric/all"] = lambda: big_metric_all()
    reply = run(server, *METRIC_ARGS, cwd=tmp_path)
    reply.pop("_stderr")
    assert reply == big_metric_all()
    assert dict(reply["data"]["train"]["hetero_lr_0"]["data"])["auc"] == 0.98


def test_metric_all_saves_the_complete_answer_with_o(server, tmp_path):
    server.routes["v1/tracking/component/metric/all"] = lambda: big_metric_all()
    reply = run(server, *METRIC_ARGS, "-o", "metrics", cwd=tmp_path)
    saved = tmp_path / "metrics" / "job_J_evaluation_0_guest_9999_metric_all.json"
    assert "the complete answer is in {}".format(saved) in reply.pop("_stderr")
    assert reply == big_metric_all() and json.loads(saved.read_text()) == big_metric_all()
    out = run_in_terminal(server, *METRIC_ARGS, "-o", "metrics", cwd=tmp_path)
    assert out.splitlines()[:len(SUMMARY_LINES)] == SUMMARY_LINES
    assert "train.hetero_lr_0_ks_fpr: 20000 points (all in {})".format(saved) in out


def test_metric_all_errors_print_json_on_a_terminal(server, tmp_path):
    server.routes["v1/tracking/component/metric/all"] = lambda: {"retcode": 0, "retmsg": "no data"}
    assert json.loads(run_in_terminal(server, *METRIC_ARGS, cwd=tmp_path)) == {"retcode": 0, "retmsg": "no data"}
    out = run_in_terminal(server, "-f", "component_metric_all", "-j", "J", cwd=tmp_path)
    assert json.loads(out)["retmsg"] == "the following arguments are required: component_name,role,party_id"


# ---------------------------------------------------------------- connection and address

def test_connection_refused(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    reply = run(None, "-f", "query_job", "-j", "1", cwd=tmp_path, env={"FATE_FLOW_SERVER": "http://127.0.0.1:%d" % port})
    assert reply == {"retcode": 100, "_stderr": "",
                     "retmsg": "Connection refused, Please check if the fate flow service is started"}


def test_server_url_sources(tmp_path):
    conf = tmp_path / "service_conf.yaml"
    conf.write_text("work_mode: 0\nfate_flow:\n  host: 0.0.0.0\n  http_port: 9444\n")
    assert client.server_url({"FATE_FLOW_CONF": str(conf)}) == "http://127.0.0.1:9444/v1"
    assert client.server_url({"FATE_FLOW_CONF": str(conf), "FATE_FLOW_SERVER": "http://h:1/"}) == "http://h:1/v1"
    assert client.server_url({"FATE_FLOW_SERVER": "10.0.0.2:9380"}) == "http://10.0.0.2:9380/v1"
    assert client.server_url({"FATE_FLOW_CONF": str(tmp_path / "absent.yaml")}) == "http://127.0.0.1:9380/v1"


def test_proxy_variables_are_honoured_as_requests_did(server, tmp_path):
    """http_proxy sends the request to the proxy with an absolute URL; no_proxy exempts a host."""
    reply = run(server, "-f", "query_job", "-j", "1", cwd=tmp_path,
                env={"FATE_FLOW_SERVER": "http://flow.invalid:9380", "http_proxy": server.url, "no_proxy": ""})
    assert reply["retcode"] == 0
    assert server.only()["headers"]["Host"] == "flow.invalid:9380"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    server.reset()
    reply = run(server, "-f", "query_job", "-j", "1", cwd=tmp_path,
                env={"http_proxy": "http://127.0.0.1:%d" % closed, "no_proxy": "127.0.0.1"})
    assert reply["retcode"] == 0 and server.only()["path"] == "/v1/job/query"


def test_client_starts_without_an_http_library():
    """A command's time is mostly the interpreter's start: the client keeps to the standard library."""
    code = ("import sys; sys.path.insert(0, %r); import fate_flow_client; "
            "print(','.join(m for m in ('requests', 'urllib3', 'tarfile', 'urllib.request') if m in sys.modules))"
            % str(REPO))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr
