"""Cluster mode with signed party calls: three real servers (parties 9999, 10000, 10002), each its own work dir.

A (9999) and B (10000) know each other's secrets; C (10002) holds a wrong secret for A and
no route back to B. B enforces privileges. B's federation dir is A's, so the standalone
(file) federation backend carries the toy job's messages between the two servers' tasks.
"""
from __future__ import annotations

import json

import pytest
import requests

from fate_flow.utils.signing import sign_headers
from tests.cluster import free_port
from tests.flow_server import ROOT, FlowServer

TOY = ROOT / "examples" / "toy_example"
SECRETS = {"9999": "secret-of-a", "10000": "secret-of-b", "10002": "secret-of-c"}


# one worker sets up the module's shared fixtures (servers, engines) once
pytestmark = pytest.mark.xdist_group("e2e_security")


def cluster_conf(party: str, port: int, routes: dict, party_secrets: dict, **security) -> dict:
    return {"work_mode": 1, "party_id": [int(party)], "fate_flow": {"host": "127.0.0.1", "http_port": port},
            "routes": routes, "security": {"secret": SECRETS[party], "party_secrets": party_secrets, **security}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("security")
    port_a, port_b, port_c, dead = free_port(), free_port(), free_port(), free_port()
    a_addr, b_addr, c_addr = (f"127.0.0.1:{p}" for p in (port_a, port_b, port_c))
    a = FlowServer(tmp / "a", conf=cluster_conf(
        "9999", port_a, {"10000": b_addr, "10001": f"127.0.0.1:{dead}", "10002": c_addr},
        {"10000": SECRETS["10000"], "10002": SECRETS["10002"]}))
    b = FlowServer(tmp / "b", conf=cluster_conf(
        "10000", port_b, {"9999": a_addr, "10002": c_addr},
        {"9999": SECRETS["9999"], "10002": SECRETS["10002"]}, use_permission=True))
    c = FlowServer(tmp / "c", conf=cluster_conf("10002", port_c, {}, {"9999": "not-the-secret-of-a",
                                                                     "10000": SECRETS["10000"]}))
    (tmp / "a" / "federation").mkdir(parents=True)
    (tmp / "b").mkdir()
    (tmp / "b" / "federation").symlink_to(tmp / "a" / "federation")
    servers = []
    try:
        for server in (a, b, c):
            servers.append(server.start())
        yield a, b, c
    finally:
        for server in servers:
            server.stop()


def server_log(server: FlowServer) -> str:
    return (server.work_dir / "logs" / "fate_flow" / "fate_flow_stat.log").read_text(errors="replace")


def post_signed(server: FlowServer, path: str, body: dict, secret: str, party: str = "9999",
                headers: dict | None = None) -> requests.Response:
    data = json.dumps(body).encode()
    headers = headers or sign_headers(secret, party, "POST", path, data)
    return requests.post(server.url + path, data=data, timeout=10,
                         headers=dict(headers, **{"Content-Type": "application/json"}))


def test_cluster_server_without_a_secret_refuses_to_start(tmp_path):
    server = FlowServer(tmp_path / "nosecret", conf={"work_mode": 1, "party_id": [9999]})
    with pytest.raises(AssertionError) as info:
        server.start(timeout=20)
    assert "security.secret" in str(info.value) and "cluster mode" in str(info.value)


def test_unsigned_forged_replayed_and_unknown_calls_are_refused_and_logged(cluster):
    _, b, _ = cluster
    path = "/v1/schedule/202001010000000000077/host/10000/status"
    body = {"f_progress": 10}

    unsigned = requests.post(b.url + path, json=body, timeout=10)
    assert unsigned.status_code == 403 and "unsigned" in unsigned.json()["retmsg"]

    forged = post_signed(b, path, body, secret="guessed")
    assert forged.status_code == 403 and "bad signature" in forged.json()["retmsg"]

    unknown = post_signed(b, path, body, secret="anything", party="424242")
    assert unknown.status_code == 403 and "unknown party 424242" in unknown.json()["retmsg"]

    data = json.dumps(body).encode()
    headers = sign_headers(SECRETS["9999"], "9999", "POST", path, data)
    first = post_signed(b, path, body, SECRETS["9999"], headers=headers)
    assert first.status_code == 200, first.text
    replayed = post_signed(b, path, body, SECRETS["9999"], headers=headers)
    assert replayed.status_code == 403 and "replayed" in replayed.json()["retmsg"]

    stale = post_signed(b, path, body, SECRETS["9999"],
                        headers=sign_headers(SECRETS["9999"], "9999", "POST", path, data, now=1_000_000_000))
    assert stale.status_code == 403 and "stale" in stale.json()["retmsg"]

    log = [line for line in server_log(b).splitlines() if "refused POST " + path in line]
    for reason in ("unsigned", "bad signature", "unknown party 424242", "replayed", "stale"):
        assert any(reason in line for line in log), (reason, log)


def test_other_party_routes_are_guarded_too(cluster):
    a, _, _ = cluster
    for path in ("/v1/party/ping", "/v1/federation/x/message", "/v1/model/load/do", "/v1/serving/load",
                 "/v1/model/deploy/do", "/v1/model/migrate/do"):
        resp = requests.post(a.url + path, json={}, timeout=10)
        assert resp.status_code == 403 and "unsigned" in resp.json()["retmsg"], path


def test_an_oversized_party_call_is_refused_before_its_body_is_read(cluster):
    import http.client

    a, _, _ = cluster
    host, port = a.address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:  # announce 10 GB and send nothing: the answer must come without waiting for the body
        conn.putrequest("POST", "/v1/schedule/202611270000000000001/host/10000/kill")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(10 ** 10))
        conn.endheaders()
        resp = conn.getresponse()
        answer = json.loads(resp.read())
    finally:
        conn.close()
    assert resp.status == 413 and "larger than" in answer["retmsg"], answer
    assert "larger than" in server_log(a)


def toy_conf() -> dict:
    conf = json.loads((TOY / "toy_example_conf.json").read_text())
    conf["initiator"] = {"role": "guest", "party_id": 9999}
    conf["role"] = {"guest": [9999], "host": [10000]}
    conf["job_parameters"]["work_mode"] = 1
    conf["algorithm_parameters"]["secure_add_example_0"]["data_num"] = 100
    return conf


def test_create_needs_a_privilege_then_the_job_runs_signed(cluster, tmp_path):
    a, b, _ = cluster
    dsl = json.loads((TOY / "toy_example_dsl.json").read_text())
    refused = a.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": toy_conf()})
    assert refused["retcode"] != 0
    assert "permission denied" in refused["retmsg"] and "party 9999 role guest" in refused["retmsg"]
    assert "privilege_command create" in refused["retmsg"]
    assert "permission denied" in server_log(b)

    grant = b.client("-f", "grant_privilege", "-src_party_id", "9999", "-src_role", "guest",
                     "-privilege_role", "host", "-privilege_command", "create,run,stop",
                     "-privilege_component", "secureaddexample")
    assert grant["retcode"] == 0, grant
    granted = b.client("-f", "query_privilege", "-src_party_id", "9999", "-src_role", "guest")
    assert granted["data"]["privilege_command"] == ["create", "run", "stop"]

    job_id = a.submit(dsl, toy_conf())
    job = a.wait_job(job_id, timeout=90)
    assert job["f_status"] == "success", (job, a.tasks(job_id), b.tasks(job_id))
    host_tasks = b.tasks(job_id)
    assert [(t["f_role"], t["f_status"]) for t in host_tasks] == [("host", "success")]
    # the host task reported to the initiator's server as well, signed as party 10000
    assert {(t["f_role"], t["f_status"]) for t in a.tasks(job_id)} >= {("guest", "success"), ("host", "success")}


def test_connection_test_names_the_failing_hop(cluster):
    a, b, _ = cluster
    answer = a.client("-f", "test_connection")
    assert answer["retcode"] == 0, answer
    entries = {e["party_id"]: e for e in answer["data"]}
    assert set(entries) == {"10000", "10001", "10002"}
    assert entries["10000"]["ok"] is True and entries["10000"]["failed_hop"] is None
    assert entries["10000"]["address"] == b.address and entries["10000"]["elapsed_ms"] >= 0
    assert entries["10001"]["ok"] is False and entries["10001"]["failed_hop"] == "tcp"
    assert entries["10002"]["ok"] is False and entries["10002"]["failed_hop"] == "signature"
    assert "bad signature" in entries["10002"]["retmsg"]

    # from B, C accepts the signature but has no route back to 10000
    back = b.client("-f", "test_connection", "-p", "10002")
    assert [e["party_id"] for e in back["data"]] == ["10002"]
    assert back["data"][0]["failed_hop"] == "route_back" and "no route to party 10000" in back["data"][0]["retmsg"]

    unknown = a.post("/v1/party/connection/test", {"party_id": 12345})
    assert unknown["retcode"] == 101 and "party_id" in unknown["retmsg"]


def test_a_ping_answer_that_is_not_an_object_fails_the_signature_hop():
    from fate_flow.services import connection

    class Answer:
        status_code = 200

        def json(self):
            return ["not", "an", "answer"]

    class Api:
        def send(self, address, endpoint, body, timeout):
            return Answer()

    hop, why = connection._signed_ping(Api(), "9999", "10000", "127.0.0.1:1", 1.0)
    assert hop == "signature" and "got list" in why
