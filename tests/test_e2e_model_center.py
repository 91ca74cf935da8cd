"""Model center end to end: a hetero LR model exported, imported into an empty server and predicted
there with the same scores; stored and restored through MariaDB and Redis; bad archives refused."""
from __future__ import annotations

import base64
import io
import json
import os
import shutil
import sqlite3
import uuid
import zipfile
from pathlib import Path

import pytest
import requests

from tests.flow_server import ROOT, FlowServer, drop_mysql_database, unique_mysql_url

# one worker runs the module: its server (and trained model) is set up once
pytestmark = pytest.mark.xdist_group("e2e_model_center")

EXAMPLE = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_logistic_regression"
DATA = ROOT / "examples" / "data"
GUEST, HOST = 9999, 10000
PARTIES = (("guest", GUEST), ("host", HOST), ("arbiter", HOST))
SLICE = 1024  # bytes per MySQL row: the model takes several
IMPORT_LIMIT = 1 << 20  # server B's import_max_bytes
REDIS = {"storage": "redis", "host": "127.0.0.1", "port": 6379, "db": 5, "password": "", "ex": 0}


def upload(server: FlowServer, file: str, table: str) -> None:
    answer = server.post("/v1/data/upload", {"file": str(DATA / file), "head": 1, "partition": 4, "work_mode": 0,
                                             "namespace": "experiment", "table_name": table, "use_local_data": 0})
    assert server.wait_job(answer["jobId"])["f_status"] == "success"


def train_conf() -> tuple[dict, dict]:
    dsl = json.loads((EXAMPLE / "test_hetero_lr_train_job_dsl.json").read_text())
    conf = json.loads((EXAMPLE / "test_hetero_lr_train_job_conf.json").read_text())
    conf["initiator"]["party_id"] = GUEST
    conf["role"]["guest"] = [GUEST]
    conf["algorithm_parameters"]["hetero_lr_0"]["max_iter"] = 5
    conf["algorithm_parameters"]["intersect_0"]["intersect_method"] = "raw"
    return dsl, conf


def predict(server: FlowServer, model_info: dict) -> dict[str, list]:
    """Run a predict job; return the guest's predicted rows by id."""
    conf = json.loads((EXAMPLE / "test_predict_conf.json").read_text())
    conf["initiator"]["party_id"] = GUEST
    conf["role"]["guest"] = [GUEST]
    conf["job_parameters"].update(model_info)
    answer = server.post("/v1/job/submit", {"job_dsl": {}, "job_runtime_conf": conf})
    assert answer["retcode"] == 0, answer
    job = server.wait_job(answer["jobId"], timeout=300)
    assert job["f_status"] == "success", job["f_status_reason"]
    rows = server.post("/v1/tracking/component/output/data", {"job_id": answer["jobId"], "role": "guest",
                                                             "party_id": GUEST, "component_name": "hetero_lr_0"})
    assert rows["meta"]["total"] == 569
    return {row[0]: row for row in rows["data"]}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    mysql = unique_mysql_url()
    if mysql is None:
        pytest.skip("no MySQL/MariaDB reachable on 127.0.0.1:3306")
    root = tmp_path_factory.mktemp("model_center")
    server = FlowServer(root / "a", conf={"federation": {"timeout": 300},
                                          "model_store": {"storage": "mysql", "url": mysql, "slice_size": SLICE}})
    server.start()
    try:
        upload(server, "breast_hetero_guest.csv", "breast_hetero_guest")
        upload(server, "breast_hetero_host.csv", "breast_hetero_host")
        answer = server.post("/v1/job/submit", dict(zip(("job_dsl", "job_runtime_conf"), train_conf())))
        assert answer["retcode"] == 0, answer
        job = server.wait_job(answer["jobId"], timeout=300)
        assert job["f_status"] == "success", job["f_status_reason"]
        model_info = answer["data"]["model_info"]
        yield {"server": server, "root": root, "model_info": model_info, "scores": predict(server, model_info),
               "mysql": mysql}
    finally:
        server.stop()
        drop_mysql_database(mysql)


@pytest.fixture(scope="module")
def server_b(trained):
    server = FlowServer(trained["root"] / "b", conf={"model_store": {"import_max_bytes": IMPORT_LIMIT}}).start()
    upload(server, "breast_hetero_guest.csv", "breast_hetero_guest")
    upload(server, "breast_hetero_host.csv", "breast_hetero_host")
    yield server
    server.stop()


def model_conf(model_info: dict, role: str, party_id: int, **extra) -> dict:
    return {"role": role, "party_id": party_id, **model_info, **extra}


def version_dir(server: FlowServer, model_info: dict, role: str, party_id: int) -> Path:
    return (server.work_dir / "model_local_cache" / f"{role}#{party_id}#{model_info['model_id']}"
            / model_info["model_version"])


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def meta_rows(server: FlowServer) -> list[tuple]:
    with sqlite3.connect(server.work_dir / "fate_flow_sqlite.db") as db:
        return db.execute("SELECT f_role, f_party_id, f_model_id, f_model_version, f_job_id, f_size "
                          "FROM t_machine_learning_model_meta ORDER BY f_role").fetchall()


def write_conf(path: Path, conf: dict) -> str:
    path.write_text(json.dumps(conf))
    return str(path)


def leftovers(server: FlowServer) -> list[str]:
    temp = server.work_dir / "temp"
    return [p.name for p in temp.iterdir() if p.name.startswith("import-")] if temp.exists() else []


def wait_ok(server: FlowServer, answer: dict) -> dict:
    assert answer["retcode"] == 0, answer
    job = server.wait_job(answer["jobId"], timeout=120)
    assert job["f_status"] == "success", job["f_status_reason"]
    return job


# ---- export and import ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("exported")
    files = {}
    for role, party_id in PARTIES:
        conf = write_conf(out / f"{role}.json", model_conf(trained["model_info"], role, party_id, output_path=str(out)))
        reply = trained["server"].client("-f", "export", "-c", conf)
        assert reply["retcode"] == 0, reply
        files[role] = Path(reply["file"])
    return files


def test_meta_rows_list_every_party_of_the_train_job(trained):
    info = trained["model_info"]
    rows = meta_rows(trained["server"])
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        ("arbiter", str(HOST), info["model_id"], info["model_version"], info["model_version"]),
        ("guest", str(GUEST), info["model_id"], info["model_version"], info["model_version"]),
        ("host", str(HOST), info["model_id"], info["model_version"], info["model_version"])]
    assert all(r[5] > 0 for r in rows)


def test_export_names_the_file_as_the_original(trained, exported):
    info = trained["model_info"]
    guest = exported["guest"]
    assert guest.name == f"guest#{GUEST}#{info['model_id']}_{info['model_version']}.zip"
    with zipfile.ZipFile(guest) as zf:
        names = set(zf.namelist())
        assert {"pipeline.json", "define/define_meta.yaml",
                "variables/data/hetero_lr_0/hetero_lr/HeteroLogisticRegressionParam"} <= names
        source = version_dir(trained["server"], info, "guest", GUEST)
        assert {n: zf.read(n) for n in names} == files_under(source)
    response = requests.get(trained["server"].url + "/v1/model/export", json=model_conf(info, "guest", GUEST),
                            timeout=30)
    assert response.headers["Content-Disposition"] == f"attachment; filename={guest.name}"


def test_import_into_an_empty_server_predicts_the_same_scores(trained, exported, server_b, tmp_path):
    info = trained["model_info"]
    for role, party_id in PARTIES:
        conf = write_conf(tmp_path / f"{role}.json", model_conf(info, role, party_id, file=str(exported[role])))
        reply = server_b.client("-f", "import", "-c", conf)
        assert reply == {"retcode": 0, "retmsg": "success"}
        assert files_under(version_dir(server_b, info, role, party_id)) == \
            files_under(version_dir(trained["server"], info, role, party_id))
    assert leftovers(server_b) == []
    assert sorted(r[:4] for r in meta_rows(server_b)) == sorted(r[:4] for r in meta_rows(trained["server"]))
    assert predict(server_b, info) == trained["scores"]


def test_import_over_an_existing_model_is_refused(trained, exported, server_b, tmp_path):
    info = trained["model_info"]
    target = version_dir(server_b, info, "guest", GUEST)
    if not target.exists():
        conf = write_conf(tmp_path / "first.json", model_conf(info, "guest", GUEST, file=str(exported["guest"])))
        assert server_b.client("-f", "import", "-c", conf)["retcode"] == 0
    before = files_under(target)
    conf = write_conf(tmp_path / "again.json", model_conf(info, "guest", GUEST, file=str(exported["host"])))
    reply = server_b.client("-f", "import", "-c", conf)
    assert reply["retcode"] == 100 and "local cache already existed" in reply["retmsg"], reply
    assert files_under(target) == before and leftovers(server_b) == []


def zip_of(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return out.getvalue()


BAD_ARCHIVES = {
    "zip-slip": (zip_of([("pipeline.json", b"{}"), ("../../../escaped.txt", b"owned")]), "'..' component"),
    "absolute": (zip_of([("/tmp/escaped.txt", b"owned")]), "absolute path"),
    "bomb": (zip_of([("variables/data/x/y/z", b"\0" * (3 * IMPORT_LIMIT))]), f"more than {IMPORT_LIMIT} bytes"),
    "truncated": (zip_of([("pipeline.json", os.urandom(4000))])[:2500], "not a valid zip file"),
}


@pytest.mark.parametrize("kind", sorted(BAD_ARCHIVES))
def test_bad_archives_are_refused_and_leave_nothing(server_b, kind):
    data, reason = BAD_ARCHIVES[kind]
    before_rows = meta_rows(server_b)
    version = f"bad_{kind.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
    form = {"role": "guest", "party_id": str(GUEST), "model_id": "arbiter-10000#guest-9999#host-10000#model",
            "model_version": version}
    answer = requests.post(server_b.url + "/v1/model/import", data=form,
                           files={"file": (f"{kind}.zip", data)}, timeout=30).json()
    assert answer["retcode"] == 100 and reason in answer["retmsg"], answer
    party_dir = server_b.work_dir / "model_local_cache" / f"guest#{GUEST}#{form['model_id']}"
    assert not party_dir.exists() or sorted(p.name for p in party_dir.iterdir() if version in p.name) == []
    assert leftovers(server_b) == [] and meta_rows(server_b) == before_rows
    assert not list(server_b.work_dir.parent.rglob("escaped.txt")) and not Path("/tmp/escaped.txt").exists()


def test_request_errors(trained):
    server = trained["server"]
    answer = server.post("/v1/model/store", {"role": "guest", "party_id": GUEST})
    assert answer == {"retcode": 101, "retmsg": "the following arguments are required: model_id,model_version"}
    missing = model_conf({"model_id": "nope#model", "model_version": "1"}, "guest", GUEST)
    answer = requests.get(server.url + "/v1/model/export", json=missing, timeout=30).json()
    assert answer["retcode"] == 100 and "Can not found guest#9999#nope#model 1 model local cache" in answer["retmsg"]
    answer = server.post("/v1/model/export", dict(missing, model_version="../../etc"))
    assert answer["retcode"] == 101 and "model_version" in answer["retmsg"]
    assert server.post("/v1/model/frobnicate", {}) == {"retcode": 100,
                                                       "retmsg": "Can not support this operating now: frobnicate"}
    answer = requests.post(server.url + "/v1/model/import", data={"role": "guest"}, timeout=30).json()
    assert answer["retcode"] == 101 and "party_id,model_id,model_version" in answer["retmsg"]



def test_client_export_of_a_missing_model_prints_the_error(trained, tmp_path):
    conf = write_conf(tmp_path / "export.json", model_conf({"model_id": "nope#model", "model_version": "1"},
                                                           "guest", GUEST, output_path=str(tmp_path / "out")))
    reply = trained["server"].client("-f", "export", "-c", conf)
    assert reply["retcode"] == 100 and "model local cache" in reply["retmsg"], reply
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_transfer_serves_every_model_file(trained):
    info = trained["model_info"]
    source = version_dir(trained["server"], info, "guest", GUEST)
    answer = trained["server"].post("/v1/model/transfer", {"namespace": f"guest#{GUEST}#{info['model_id']}",
                                                           "name": info["model_version"]})
    assert answer["retcode"] == 0
    data = {k: base64.b64decode(v) for k, v in answer["data"].items()}
    assert data["pipeline.pipeline:Pipeline"] == (source / "pipeline.json").read_bytes()
    param = "hetero_lr_0.hetero_lr:HeteroLogisticRegressionParam"
    assert data[param] == (source / "variables/data/hetero_lr_0/hetero_lr/HeteroLogisticRegressionParam").read_bytes()
    assert "dataio_0.dataio:DataIOParam" in data or any(k.startswith("dataio_0.") for k in data)


# ---- store and restore -----------------------------------------------------------------------

def store_restore_cycle(trained, tmp_path, role: str, party_id: int, extra: dict) -> None:
    server, info = trained["server"], trained["model_info"]
    target = version_dir(server, info, role, party_id)
    original = files_under(target)
    conf = write_conf(tmp_path / "store.json", model_conf(info, role, party_id, **extra))
    wait_ok(server, server.client("-f", "store", "-c", conf))
    again = server.client("-f", "store", "-c", conf)
    assert again["retcode"] == 100 and "is already stored" in again["retmsg"], again
    forced = write_conf(tmp_path / "forced.json", model_conf(info, role, party_id, force_update=True, **extra))
    wait_ok(server, server.client("-f", "store", "-c", forced))
    refused = server.client("-f", "restore", "-c", conf)
    assert refused["retcode"] == 100 and "local cache already existed" in refused["retmsg"], refused
    shutil.rmtree(target)
    row = [r for r in meta_rows(server) if r[:2] == (role, str(party_id))]
    with sqlite3.connect(server.work_dir / "fate_flow_sqlite.db") as db:  # as on a server that never had it
        db.execute("DELETE FROM t_machine_learning_model_meta WHERE f_role = ? AND f_party_id = ?",
                   (role, str(party_id)))
    restored = server.client("-f", "restore", "-c", conf)
    wait_ok(server, restored)
    assert restored["data"]["job_dsl_path"].endswith("job_dsl.json") and "logs_directory" in restored["data"]
    assert files_under(target) == original
    [listed] = [r for r in meta_rows(server) if r[:2] == (role, str(party_id))]  # the restored model is listed
    assert listed == row[0]
    assert predict(server, info) == trained["scores"]


def test_store_and_restore_through_mariadb(trained, tmp_path):
    import pymysql

    store_restore_cycle(trained, tmp_path, "guest", GUEST, {})
    url = trained["mysql"]
    conn = pymysql.connect(host="127.0.0.1", user="root", password="", database=url.rsplit("/", 1)[1])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT f_slice_index, f_slice_count, f_size, LENGTH(f_content) FROM t_machine_learning_model "
                        "WHERE f_party_model_id = %s ORDER BY f_slice_index",
                        (f"guest#{GUEST}#{trained['model_info']['model_id']}",))
            rows = cur.fetchall()
    finally:
        conn.close()
    assert len(rows) >= 3 and [r[0] for r in rows] == list(range(rows[0][1])), "several slices, in order"
    assert sum(r[3] for r in rows) == rows[0][2] and all(r[3] == SLICE for r in rows[:-1])


def test_store_and_restore_through_redis(trained, tmp_path):
    import redis

    try:
        redis.Redis(socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError):
        pytest.skip("no Redis reachable on 127.0.0.1:6379")
    info = trained["model_info"]
    key = f"FATEFlow:PipelinedModel:host#{HOST}#{info['model_id']}:{info['model_version']}"
    client = redis.Redis(db=REDIS["db"])
    client.delete(key)
    try:
        store_restore_cycle(trained, tmp_path, "host", HOST, {"store_address": REDIS})
        assert client.exists(key)
    finally:
        client.delete(key)


def test_restore_of_a_model_never_stored(trained, tmp_path):
    server, info = trained["server"], trained["model_info"]
    never = dict(info, model_version="20000101000000000001")
    jobs_before = len(server.post("/v1/job/query", {"role": "local"}).get("data", []))
    for extra in ({}, {"store_address": REDIS}):
        conf = write_conf(tmp_path / "restore.json", model_conf(never, "guest", GUEST, **extra))
        reply = server.client("-f", "restore", "-c", conf)
        assert reply["retcode"] == 100 and "was never stored" in reply["retmsg"], reply
    assert not version_dir(server, never, "guest", GUEST).exists()
    assert len(server.post("/v1/job/query", {"role": "local"}).get("data", [])) == jobs_before, "no job was created"
