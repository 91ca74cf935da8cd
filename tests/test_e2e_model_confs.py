"""examples/fate_flow's model confs work against a real server: as shipped with ``-j JOB``, or after
the documented substitution (``model_version`` from the submit answer's model_info).

The README trains FATE's hetero LR example (guest, host and arbiter all party 10000), so the
confs name that job's model_id and leave model_version empty. The client runs as a copy in a
temporary directory: relative paths (export's output_path, import's file) resolve there, as
they do in the repository root for a user, and nothing is written into the repository.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.flow_server import ROOT, FlowServer, drop_mysql_database, unique_mysql_url
from tests.test_e2e_hetero_lr import EXAMPLE, upload

# one worker runs the module: its server (and trained model) is set up once
pytestmark = pytest.mark.xdist_group("e2e_model_confs")

CONFS = ROOT / "examples" / "fate_flow"
MODEL_CONFS = ("export_model.json", "import_model.json", "store_model.json", "restore_model.json",
               "publish_load_model.json", "bind_model_service.json")
MODEL_ID = "arbiter-10000#guest-10000#host-10000#model"
# the inference request the README shows (breast_hetero_guest.csv, id 133)
INFERENCE = {"head": {"serviceId": "breast-lr"},
             "body": {"featureData": {"x0": 0.254879, "x1": -1.046633, "x2": 0.209656, "x3": 0.074214,
                                      "x4": -0.441366, "x5": -0.377645, "x6": -0.485934, "x7": 0.347072,
                                      "x8": -0.28757, "x9": -0.733474},
                      "sendToRemoteFeatureData": {"id": "133"}}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Server A (a MySQL model store when one is reachable) with the README's hetero LR job trained."""
    root = tmp_path_factory.mktemp("model_confs")
    mysql = unique_mysql_url()
    conf = {"federation": {"timeout": 300}}
    if mysql:
        conf["model_store"] = {"storage": "mysql", "url": mysql}
    server = FlowServer(root / "a", conf=conf).start()
    try:
        upload(server, "breast_hetero_guest.csv", "breast_hetero_guest")
        upload(server, "breast_hetero_host.csv", "breast_hetero_host")
        dsl = json.loads((EXAMPLE / "test_hetero_lr_train_job_dsl.json").read_text())
        train = json.loads((EXAMPLE / "test_hetero_lr_train_job_conf.json").read_text())
        train["algorithm_parameters"]["hetero_lr_0"]["max_iter"] = 2  # quicker; the model's shape is the same
        train["algorithm_parameters"]["intersect_0"]["intersect_method"] = "raw"
        answer = server.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": train})
        assert answer["retcode"] == 0, answer
        job = server.wait_job(answer["jobId"], timeout=300)
        assert job["f_status"] == "success", job["f_status_reason"]
        assert answer["data"]["model_info"]["model_id"] == MODEL_ID
        yield {"server": server, "root": root, "job_id": answer["jobId"],
               "version": answer["data"]["model_info"]["model_version"], "mysql": mysql}
    finally:
        server.stop()
        if mysql:
            drop_mysql_database(mysql)


@pytest.fixture(scope="module")
def user_dir(trained):
    """A user's checkout: the client and examples/fate_flow, copied as they are."""
    folder = trained["root"] / "checkout"
    (folder / "examples").mkdir(parents=True)
    shutil.copy(ROOT / "fate_flow_client.py", folder)
    shutil.copytree(CONFS, folder / "examples" / "fate_flow")
    return folder


def flow(server: FlowServer, user_dir: Path, *args: str) -> dict:
    """Run the user's client from their checkout, as the README does from the repository root."""
    return server.client(*args, cwd=user_dir, script=str(user_dir / "fate_flow_client.py"))


def shipped(name: str) -> str:
    return f"examples/fate_flow/{name}"


def substituted(user_dir: Path, name: str, version: str) -> str:
    """The conf with its model_version filled in, as the README tells users to do."""
    conf = json.loads((CONFS / name).read_text())
    (conf["job_parameters"] if "job_parameters" in conf else conf)["model_version"] = version
    path = user_dir / "filled" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(conf))
    return str(path.relative_to(user_dir))


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}  # not the cache's lock files


def guest_model(server: FlowServer, version: str) -> Path:
    return server.work_dir / "model_local_cache" / f"guest#10000#{MODEL_ID}" / version


def wait_success(server: FlowServer, answer: dict) -> None:
    assert answer["retcode"] == 0, answer
    job = server.wait_job(answer["jobId"], timeout=120)
    assert job["f_status"] == "success", job["f_status_reason"]


@pytest.mark.parametrize("name", MODEL_CONFS)
def test_shipped_confs_leave_only_the_model_version_to_fill(name):
    conf = json.loads((CONFS / name).read_text())
    model = conf.get("job_parameters", conf)
    assert model["model_id"] == MODEL_ID and model["model_version"] == ""
    for field in ("output_path", "file"):
        assert not Path(conf.get(field, "")).is_absolute(), (name, field)
    if "service_id" in conf:
        assert conf["service_id"]


def test_export_with_j_or_substitution_and_import_on_an_empty_server(trained, user_dir):
    server, version = trained["server"], trained["version"]
    zip_path = user_dir / "exported_models" / f"guest#10000#{MODEL_ID}_{version}.zip"
    reply = flow(server, user_dir, "-f", "export", "-c", shipped("export_model.json"), "-j", trained["job_id"])
    assert reply == {"retcode": 0, "file": str(zip_path), "retmsg": f"download successfully, please check {zip_path}"}
    first = zip_path.read_bytes()
    reply = flow(server, user_dir, "-f", "export", "-c", substituted(user_dir, "export_model.json", version))
    assert reply["retcode"] == 0 and zip_path.read_bytes() == first
    assert not (ROOT / "exported_models" / zip_path.name).exists()
    other = FlowServer(trained["root"] / "b").start()
    try:
        reply = flow(other, user_dir, "-f", "import", "-c", substituted(user_dir, "import_model.json", version))
        assert reply == {"retcode": 0, "retmsg": "success"}
        assert files_under(guest_model(other, version)) == files_under(guest_model(server, version))
    finally:
        other.stop()


def test_store_and_restore_with_j_or_substitution(trained, user_dir):
    if not trained["mysql"]:
        pytest.skip("no MySQL/MariaDB reachable on 127.0.0.1:3306 for the model store")
    server, version, job_id = trained["server"], trained["version"], trained["job_id"]
    model = guest_model(server, version)
    before = files_under(model)
    wait_success(server, flow(server, user_dir, "-f", "store", "-c", shipped("store_model.json"), "-j", job_id))
    for restore in (["-c", shipped("restore_model.json"), "-j", job_id],
                    ["-c", substituted(user_dir, "restore_model.json", version)]):
        shutil.rmtree(model)
        wait_success(server, flow(server, user_dir, "-f", "restore", *restore))
        assert files_under(model) == before


def test_load_and_bind_then_the_readme_inference(trained, user_dir):
    server, version, job_id = trained["server"], trained["version"], trained["job_id"]
    for load, bind in (
            (["-c", shipped("publish_load_model.json"), "-j", job_id],
             ["-c", shipped("bind_model_service.json"), "-j", job_id]),
            (["-c", substituted(user_dir, "publish_load_model.json", version)],
             ["-c", substituted(user_dir, "bind_model_service.json", version)])):
        loaded = flow(server, user_dir, "-f", "load", *load)
        assert loaded["retcode"] == 0 and loaded["data"]["guest"] == {"10000": 0}, loaded
        assert flow(server, user_dir, "-f", "bind", *bind) == {"retcode": 0, "retmsg": "service id is breast-lr"}
        answer = server.post("/federation/v1/inference", INFERENCE)
        assert answer["retcode"] == 0 and 0 < answer["data"]["score"] < 1, answer
        assert answer["data"]["modelVersion"] == version


def test_what_the_server_and_the_examples_write_is_git_ignored(trained, user_dir):
    """Run from the repository root with the default conf (work dir = the root), nothing shows as untracked."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    server, job_id = trained["server"], trained["job_id"]
    # what an export (temp/) and a load (serving/) write, whichever tests of this module ran before
    assert flow(server, user_dir, "-f", "export", "-c", shipped("export_model.json"), "-j", job_id)["retcode"] == 0
    assert flow(server, user_dir, "-f", "load", "-c", shipped("publish_load_model.json"), "-j", job_id)["retcode"] == 0
    harness = {"service_conf.yaml", "server.out"}  # FlowServer's own files
    written = [p for p in server.work_dir.rglob("*") if p.is_file() and p.name not in harness]
    written = [p.relative_to(server.work_dir).as_posix() for p in written]
    assert {path.split("/")[0] for path in written} >= {"serving", "temp", "jobs", "logs", "model_local_cache"}
    written += [p.relative_to(user_dir).as_posix() for p in (user_dir / "exported_models").rglob("*")]
    written += ["fate_flow_test_breast_guest.csv", "fate_flow_test_breast_host.csv", "download_test.csv"]
    checked = subprocess.run(["git", "check-ignore", "--no-index", "--verbose", "--non-matching", *written],
                             cwd=ROOT, capture_output=True, text=True)
    not_ignored = [line.split("\t")[1] for line in checked.stdout.splitlines() if line.startswith("::")]
    assert not_ignored == []
