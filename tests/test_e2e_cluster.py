"""Cluster mode end to end: three servers (guest, host, arbiter), each with its own database
and storage, schedule FATE's hetero LR example between them over signed HTTP calls.

The task-to-task messages go over the http backend (through the destination party's server)
and over RabbitMQ; the AUC equals the standalone run's for the same seed. A DSL v2 model is
deployed on every party from the guest's server, predicted, migrated to new party ids (each
server plays a second id for that) and predicted again under them.
"""
from __future__ import annotations

import json
import signal
import time

import psutil
import pytest

from tests.cluster import ARBITER, DATA, GUEST, HOST, ROLES, Cluster
from tests.flow_server import FlowServer, unique_mysql_url, wait_until

# one worker runs the module: its server (and trained model) is set up once
pytestmark = pytest.mark.xdist_group("e2e_cluster")

FINISHED = ("success", "failed", "canceled", "timeout")
# the party id each server also plays: the ids a model is migrated to
MIGRATED = {GUEST: 9998, HOST: 10002, ARBITER: 10003}


def party_job(server: FlowServer, job_id: str, party: int) -> dict:
    answer = server.post("/v1/job/query", {"job_id": job_id, "role": ROLES[party], "party_id": party})
    assert answer["retcode"] == 0 and answer["data"], answer
    return answer["data"][0]


def wait_party_status(cluster: Cluster, job_id: str, statuses=FINISHED, timeout: float = 60) -> dict[int, dict]:
    def all_done():
        jobs = {p: party_job(cluster[p], job_id, p) for p in ROLES}
        return jobs if all(j["f_status"] in statuses for j in jobs.values()) else None
    return wait_until(all_done, timeout, interval=0.2, what=f"job {job_id} finished on every party")


def task_processes(cluster: Cluster) -> list[psutil.Process]:
    """Task executor processes started by any of the cluster's servers (alive or orphaned)."""
    roots = [str(server.work_dir) for server in cluster.servers.values()]
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "task_executor" in cmd and any(root in cmd for root in roots):
            found.append(proc)
    return found


@pytest.fixture(scope="module")
def standalone_auc(tmp_path_factory):
    """The same job and seed on one standalone server: the AUC cluster runs must reproduce."""
    server = FlowServer(tmp_path_factory.mktemp("standalone") / "server",
                        conf={"party_id": [GUEST, HOST, ARBITER], "federation": {"timeout": 120}}).start()
    try:
        for name in ("breast_hetero_guest", "breast_hetero_host"):
            answer = server.post("/v1/data/upload", {
                "file": str(DATA / f"{name}.csv"), "head": 1,
                "partition": 4, "work_mode": 0, "namespace": "fate_flow_test_breast_hetero",
                "table_name": name, "use_local_data": 0, "drop": 1})
            assert server.wait_job(answer["jobId"])["f_status"] == "success"
        dsl, conf = Cluster.hetero_lr_job()
        conf["job_parameters"]["work_mode"] = 0
        job_id = server.submit(dsl, conf)
        assert server.wait_job(job_id, timeout=180)["f_status"] == "success"
        answer = server.post("/v1/tracking/component/metric/all", {
            "job_id": job_id, "component_name": "evaluation_0", "role": "guest", "party_id": GUEST})
        return dict(answer["data"]["train"]["hetero_lr_0"]["data"])["auc"]
    finally:
        server.stop()


@pytest.fixture(scope="module")
def http_cluster(tmp_path_factory):
    mysql_url = unique_mysql_url()
    cluster = Cluster(tmp_path_factory.mktemp("cluster_http"), backend="http", mysql_url=mysql_url,
                      aliases=MIGRATED).start()
    cluster.upload_breast()
    yield cluster
    cluster.stop()


def run_standard_job(cluster: Cluster) -> tuple[str, dict[int, dict]]:
    dsl, conf = Cluster.hetero_lr_job()
    job_id = cluster[GUEST].submit(dsl, conf)
    jobs = wait_party_status(cluster, job_id, timeout=240)
    return job_id, jobs


def check_party_views(cluster: Cluster, job_id: str) -> None:
    """Each party has its own job row, tasks, logs and models; none holds another's."""
    for party, role in ROLES.items():
        server = cluster[party]
        rows = server.post("/v1/job/query", {"job_id": job_id})["data"]
        own = [r for r in rows if (r["f_role"], int(r["f_party_id"])) == (role, party)]
        assert own and own[0]["f_status"] == "success"
        assert own[0]["f_is_initiator"] == (1 if party == GUEST else 0)
        tasks = server.post("/v1/job/task/query", {"job_id": job_id, "role": role, "party_id": party})["data"]
        assert tasks and all(t["f_status"] == "success" for t in tasks), tasks
        assert (server.work_dir / "logs" / job_id / role / str(party)).is_dir()
        others = [p for p in ROLES if p != party]
        for other in others:  # no other party's logs or models on this server
            assert not (server.work_dir / "logs" / job_id / ROLES[other] / str(other)).exists()
    # the initiator sees every party's task status
    initiator_tasks = cluster[GUEST].post("/v1/job/task/query", {"job_id": job_id})["data"]
    assert {(t["f_role"], int(t["f_party_id"])) for t in initiator_tasks} == {(r, p) for p, r in ROLES.items()}
    assert all(t["f_status"] == "success" for t in initiator_tasks)
    model = cluster[HOST].post("/v1/tracking/component/output/model", {
        "job_id": job_id, "component_name": "hetero_lr_0", "role": "host", "party_id": HOST})
    assert model["retcode"] == 0 and model["data"]["header"], model
    assert cluster[GUEST].post("/v1/tracking/component/output/model", {
        "job_id": job_id, "component_name": "hetero_lr_0", "role": "host", "party_id": HOST})["retcode"] != 0


def test_hetero_lr_over_http_equals_standalone(http_cluster, standalone_auc):
    job_id, jobs = run_standard_job(http_cluster)
    assert {p: j["f_status"] for p, j in jobs.items()} == {p: "success" for p in ROLES}, jobs
    assert http_cluster.auc(job_id) == pytest.approx(standalone_auc, abs=1e-9)
    check_party_views(http_cluster, job_id)
    assert not task_processes(http_cluster)


def test_hetero_lr_over_rabbitmq_equals_standalone(tmp_path, standalone_auc):
    pika = pytest.importorskip("pika")
    cluster = Cluster(tmp_path, backend="rabbitmq").start()
    try:
        cluster.upload_breast()
        job_id, jobs = run_standard_job(cluster)
        assert {p: j["f_status"] for p, j in jobs.items()} == {p: "success" for p in ROLES}, jobs
        assert cluster.auc(job_id) == pytest.approx(standalone_auc, abs=1e-9)
        # the job's exchange is gone once the job has ended
        connection = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
        try:
            channel = connection.channel()
            with pytest.raises(pika.exceptions.ChannelClosedByBroker):
                wait_until(lambda: _exchange_gone(channel, job_id), 20, what="job exchange removed")
        finally:
            if connection.is_open:
                connection.close()
    finally:
        cluster.stop()


def _exchange_gone(channel, job_id: str) -> bool:
    """Raises ChannelClosedByBroker (404) once no exchange of the job is left."""
    channel.exchange_declare(exchange=f"fate_flow.{job_id}", passive=True)
    return False


def test_submit_naming_a_party_without_route_is_refused(http_cluster):
    dsl, conf = Cluster.hetero_lr_job()
    conf["role"]["host"] = [12345]
    answer = http_cluster[GUEST].post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
    assert answer["retcode"] != 0 and "12345" in answer["retmsg"] and "route" in answer["retmsg"], answer


def test_a_party_refuses_a_job_whose_table_it_lacks(http_cluster):
    dsl, conf = Cluster.hetero_lr_job()
    conf["role_parameters"]["host"]["args"]["data"]["train_data"][0]["name"] = "no_such_table"
    answer = http_cluster[GUEST].post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
    assert answer["retcode"] != 0, answer
    assert "host" in answer["retmsg"] and "10000" in answer["retmsg"] and "no_such_table" in answer["retmsg"]
    # nothing was left running: the guest's and arbiter's rows are canceled or absent
    time.sleep(0.5)
    for party in (GUEST, ARBITER):
        rows = http_cluster[party].post("/v1/job/query", {"role": ROLES[party]}).get("data") or []
        assert all(r["f_status"] in FINISHED + ("success",) for r in rows)


def start_long_job(cluster: Cluster, **lr_params) -> str:
    """Submit a 200-iteration hetero LR and return its id once hetero_lr_0 runs on the host."""
    dsl, conf = Cluster.hetero_lr_job(max_iter=200)
    conf["algorithm_parameters"]["hetero_lr_0"].update(lr_params)
    job_id = cluster[GUEST].submit(dsl, conf)
    wait_until(lambda: any(t["f_component_name"] == "hetero_lr_0" and t["f_status"] == "running"
                           for t in cluster[HOST].post("/v1/job/task/query", {"job_id": job_id}).get("data") or []),
               120, interval=0.2, what="hetero_lr_0 running on the host")
    return job_id


def test_stop_from_the_host_cancels_every_party(http_cluster):
    job_id = start_long_job(http_cluster, early_stop="weight_diff", eps=0)
    answer = http_cluster[HOST].client("-f", "stop_job", "-j", job_id)
    assert answer["retcode"] == 0, answer
    jobs = wait_party_status(http_cluster, job_id, timeout=60)
    assert {p: j["f_status"] for p, j in jobs.items()} == {p: "canceled" for p in ROLES}, jobs
    wait_until(lambda: not task_processes(http_cluster), 30, what="no task process left")


def test_forged_and_replayed_schedule_calls_are_refused(http_cluster):
    import requests

    from fate_flow.utils.signing import sign_headers

    host = http_cluster[HOST]
    path = "/v1/schedule/202611270000000000001/host/10000/kill"
    body = b"{}"
    forged = sign_headers("not-the-secret", str(GUEST), "POST", path, body)
    answer = requests.post(host.url + path, data=body, headers={**forged, "Content-Type": "application/json"})
    assert answer.status_code == 403 and answer.json()["retcode"] != 0
    good = sign_headers(http_cluster.secrets[str(GUEST)], str(GUEST), "POST", path, body)
    first = requests.post(host.url + path, data=body, headers={**good, "Content-Type": "application/json"})
    assert first.status_code != 403, first.text  # accepted by the signature check (the job is unknown)
    replay = requests.post(host.url + path, data=body, headers={**good, "Content-Type": "application/json"})
    assert replay.status_code == 403 and "replay" in replay.json()["retmsg"].lower()
    unsigned = requests.post(host.url + path, json={})
    assert unsigned.status_code == 403


def test_killing_the_host_server_fails_the_job_everywhere_else(tmp_path):
    cluster = Cluster(tmp_path, backend="http", scheduler={"party_timeout": 5}).start()
    try:
        cluster.upload_breast()
        job_id = start_long_job(cluster)
        cluster[HOST].stop(signal.SIGKILL)
        for party in (GUEST, ARBITER):
            job = wait_until(lambda: (lambda j: j if j["f_status"] in FINISHED else None)(
                party_job(cluster[party], job_id, party)), 60, interval=0.2, what="job ended")
            assert job["f_status"] == "failed", job
        reason = party_job(cluster[GUEST], job_id, GUEST)["f_status_reason"]
        assert "host" in reason and str(HOST) in reason, reason
        wait_until(lambda: not task_processes(cluster), 30, what="no task process left on any party")
    finally:
        cluster.stop()


def test_a_host_restart_mid_job_fails_it_cleanly(tmp_path):
    cluster = Cluster(tmp_path, backend="http", scheduler={"party_timeout": 60}).start()
    try:
        cluster.upload_breast()
        job_id = start_long_job(cluster)
        cluster[HOST].stop(signal.SIGKILL)
        cluster[HOST].start()
        jobs = wait_party_status(cluster, job_id, timeout=40)  # well before the 60 s party timeout
        assert {p: j["f_status"] for p, j in jobs.items()} == {p: "failed" for p in ROLES}, jobs
        assert "host" in jobs[GUEST]["f_status_reason"], jobs[GUEST]
        wait_until(lambda: not task_processes(cluster), 30, what="no task process left")
    finally:
        cluster.stop()


def test_privileges_are_enforced_at_create(tmp_path):
    cluster = Cluster(tmp_path, backend="http")
    for party in (HOST, ARBITER):
        cluster[party].conf["security"]["use_permission"] = True
    cluster.start()
    try:
        cluster.upload_breast()
        dsl, conf = Cluster.hetero_lr_job(max_iter=2)
        answer = cluster[GUEST].post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
        assert answer["retcode"] != 0 and "host" in answer["retmsg"].lower(), answer
        for party in (HOST, ARBITER):
            granted = cluster[party].client("-f", "grant_privilege", "-src_party_id", str(GUEST), "-src_role", "guest",
                                            "-privilege_role", "all", "-privilege_command", "all",
                                            "-privilege_component", "all")
            assert granted["retcode"] == 0, granted
        job_id = cluster[GUEST].submit(dsl, conf)
        jobs = wait_party_status(cluster, job_id, timeout=180)
        assert {p: j["f_status"] for p, j in jobs.items()} == {p: "success" for p in ROLES}, jobs
    finally:
        cluster.stop()


def test_connection_test_names_the_failing_hop(http_cluster):
    answer = http_cluster[GUEST].client("-f", "test_connection")
    assert answer["retcode"] == 0, answer
    by_party = {str(entry["party_id"]): entry for entry in answer["data"]}
    assert by_party[str(HOST)]["ok"] and by_party[str(ARBITER)]["ok"], answer
    json.dumps(answer)


# ---- DSL v2: deploy on every party, predict, migrate to new party ids, predict again ----------

V2_DSL = {"components": {
    "reader_0": {"module": "Reader", "output": {"data": ["data"]}},
    "dataio_0": {"module": "DataIO", "input": {"data": {"data": ["reader_0.data"]}},
                 "output": {"data": ["data"], "model": ["model"]}},
    "intersection_0": {"module": "Intersection", "input": {"data": {"data": ["dataio_0.data"]}},
                       "output": {"data": ["data"]}},
    "hetero_lr_0": {"module": "HeteroLR", "input": {"data": {"train_data": ["intersection_0.data"]}},
                    "output": {"data": ["data"], "model": ["model"]}}}}
TABLES = {"guest": "breast_hetero_guest", "host": "breast_hetero_host"}


def v2_conf(parties: dict[int, int], job_type: str = "train", **model) -> dict:
    """A v2 conf for the cluster's guest, host and arbiter (``parties``: cluster party -> the id it plays now)."""
    readers = {role: {"0": {"reader_0": {"table": {"name": table, "namespace": "fate_flow_test_breast_hetero"}}}}
               for role, table in TABLES.items()}
    conf = {"dsl_version": 2, "initiator": {"role": "guest", "party_id": parties[GUEST]},
            "role": {ROLES[p]: [parties[p]] for p in ROLES},
            "job_parameters": {"common": {"job_type": job_type, "work_mode": 1, **model}},
            "component_parameters": {"role": readers}}
    if job_type == "train":
        conf["component_parameters"]["role"]["guest"]["0"]["dataio_0"] = {"with_label": True, "label_name": "y"}
        conf["component_parameters"]["role"]["host"]["0"]["dataio_0"] = {"with_label": False}
        conf["component_parameters"]["common"] = {
            "intersection_0": {"intersect_method": "raw"},
            "hetero_lr_0": {"max_iter": 2, "batch_size": -1, "init_param": {"init_method": "zeros"},
                            "encrypt_param": {"key_length": 512}}}
    return conf


def run_v2_job(cluster: Cluster, conf: dict, dsl: dict) -> str:
    answer = cluster[GUEST].post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
    assert answer["retcode"] == 0, answer
    job_id = answer["jobId"]
    playing = {party: conf["role"][ROLES[party]][0] for party in ROLES}
    for party, server in ((p, cluster[p]) for p in ROLES):
        job = wait_until(lambda: (lambda rows: rows[0] if rows and rows[0]["f_status"] in FINISHED else None)(
            server.post("/v1/job/query", {"job_id": job_id, "party_id": playing[party]}).get("data")),
            180, interval=0.2, what=f"job {job_id} ended on {ROLES[party]}")
        assert job["f_status"] == "success", (ROLES[party], job.get("f_status_reason"))
    return job_id


def predicted_scores(cluster: Cluster, job_id: str, guest_id: int) -> dict[str, float]:
    answer = cluster[GUEST].post("/v1/tracking/component/output/data", {
        "job_id": job_id, "component_name": "hetero_lr_0", "role": "guest", "party_id": guest_id})
    assert answer["retcode"] == 0 and answer["meta"]["total"] == 569, answer
    return {row[0]: float(row[3]) for row in answer["data"]}


def version_dir(cluster: Cluster, party: int, party_id: int, model_id: str, version: str):
    return cluster[party].work_dir / "model_local_cache" / f"{ROLES[party]}#{party_id}#{model_id}" / version


def test_v2_model_deployed_predicted_migrated_and_predicted_across_parties(http_cluster):
    cluster = http_cluster
    own = {party: party for party in ROLES}
    train_id = run_v2_job(cluster, v2_conf(own), V2_DSL)
    model = json.loads(party_job(cluster[GUEST], train_id, GUEST)["f_runtime_conf"])["job_parameters"]["common"]
    model_id, train_version = model["model_id"], model["model_version"]

    # deploy from the guest's server: every party makes the new version, each answers for itself
    deployed = cluster[GUEST].post("/v1/model/deploy", {"model_id": model_id, "model_version": train_version,
                                                        "cpn_list": ["reader_0", "dataio_0", "intersection_0",
                                                                     "hetero_lr_0"]})
    assert deployed["retcode"] == 0, deployed
    version = deployed["data"]["model_version"]
    assert version != train_version and deployed["data"]["model_id"] == model_id
    assert {role: deployed["data"][role] for role in ("guest", "host", "arbiter")} == {
        ROLES[p]: {str(p): 0} for p in ROLES}, deployed
    assert deployed["data"]["detail"] == {ROLES[p]: {str(p): {"retcode": 0, "retmsg": "deploy model success"}}
                                          for p in ROLES}, deployed
    for party in ROLES:  # each server holds its own party's copy, with the inference DSL
        pipeline = json.loads((version_dir(cluster, party, party, model_id, version) / "pipeline.json").read_text())
        assert pipeline["inference_dsl"]["components"]["hetero_lr_0"]["input"]["model"] == [
            "pipeline.hetero_lr_0.model"] and pipeline["model_version"] == version
        others = [p for p in ROLES if p != party]
        assert not any(version_dir(cluster, party, p, model_id, version).exists() for p in others)

    predict_id = run_v2_job(cluster, v2_conf(own, "predict", model_id=model_id, model_version=version), {})
    train_scores = predicted_scores(cluster, train_id, GUEST)
    deployed_scores = predicted_scores(cluster, predict_id, GUEST)
    common = set(train_scores) & set(deployed_scores)
    assert len(common) >= 50 and all(abs(train_scores[i] - deployed_scores[i]) < 1e-9 for i in common)

    # migrate to the ids each server also plays: every execute party migrates its own share
    migrated_version = version[:-1] + ("1" if version[-1] != "1" else "2")
    body = {"job_parameters": {"federated_mode": "MULTIPLE"},
            "role": {ROLES[p]: [p] for p in ROLES}, "migrate_role": {ROLES[p]: [MIGRATED[p]] for p in ROLES},
            "execute_party": {ROLES[p]: [p] for p in ROLES},
            "migrate_initiator": {"role": "guest", "party_id": MIGRATED[GUEST]},
            "model_id": model_id, "model_version": version, "unify_model_version": migrated_version}
    migrated = cluster[GUEST].post("/v1/model/migrate", body)
    assert migrated["retcode"] == 0, migrated
    new_model_id = migrated["data"]["model_id"]
    assert new_model_id == f"arbiter-{MIGRATED[ARBITER]}#guest-{MIGRATED[GUEST]}#host-{MIGRATED[HOST]}#model"
    assert {role: migrated["data"][role] for role in ("guest", "host", "arbiter")} == {
        ROLES[p]: {str(p): 0} for p in ROLES}, migrated
    for party in ROLES:
        assert version_dir(cluster, party, MIGRATED[party], new_model_id, migrated_version).is_dir()
    predict_again = run_v2_job(cluster, v2_conf(MIGRATED, "predict", model_id=new_model_id,
                                                 model_version=migrated_version), {})
    migrated_scores = predicted_scores(cluster, predict_again, MIGRATED[GUEST])
    common = set(deployed_scores) & set(migrated_scores)
    assert len(common) >= 50 and all(abs(deployed_scores[i] - migrated_scores[i]) < 1e-9 for i in common)

    # the same migrate again: each party refuses for itself, and the answer says which and why
    again = cluster[GUEST].post("/v1/model/migrate", body)
    assert again["retcode"] != 0 and again["data"]["host"] == {str(HOST): 100}, again
    assert "already exists" in again["data"]["detail"]["arbiter"][str(ARBITER)]["retmsg"], again

    # a party whose server is down: its retcode and why in the answer, the others deploy
    cluster[ARBITER].stop()
    try:
        partial = cluster[GUEST].post("/v1/model/deploy", {"model_id": model_id, "model_version": train_version,
                                                           "cpn_list": ["dataio_0", "intersection_0",
                                                                        "hetero_lr_0"]})
    finally:
        cluster[ARBITER].start()
    assert partial["retcode"] != 0 and "arbiter" in partial["retmsg"] and str(ARBITER) in partial["retmsg"]
    assert partial["data"]["guest"] == {str(GUEST): 0} and partial["data"]["host"] == {str(HOST): 0}, partial
    assert partial["data"]["arbiter"][str(ARBITER)] != 0
    assert "unreachable" in partial["data"]["detail"]["arbiter"][str(ARBITER)]["retmsg"], partial
