"""/v1/permission routes and the guard that enforces privileges on incoming schedule calls (in-process app)."""
from __future__ import annotations

import json

import pytest

from fate_flow.utils.signing import sign_headers

GRANT, DELETE, QUERY = ("/v1/permission/grant/privilege", "/v1/permission/delete/privilege",
                        "/v1/permission/query/privilege")
SOURCE = {"src_party_id": "10000", "src_role": "guest"}


def post(client, path, body):
    resp = client.post(path, json=body)
    assert resp.status_code == 200
    return resp.get_json()


def query(client, **source):
    answer = post(client, QUERY, source or SOURCE)
    assert answer["retcode"] == 0, answer
    return answer["data"]


def test_nothing_granted_yet(client):
    assert query(client) == {"src_party_id": "10000", "role": "guest", "privilege_role": [],
                             "privilege_command": [], "privilege_component": []}


def test_grant_query_delete(client):
    answer = post(client, GRANT, dict(SOURCE, privilege_role="host", privilege_command="create, run",
                                      privilege_component="DataIO,heterolr"))
    assert answer == {"retcode": 0, "retmsg": "success"}
    post(client, GRANT, dict(SOURCE, privilege_command="run,stop"))  # run again: kept once
    data = query(client)
    assert data["privilege_role"] == ["host"]
    assert data["privilege_command"] == ["create", "run", "stop"]
    assert data["privilege_component"] == ["dataio", "heterolr"]  # lower-cased module names
    assert query(client, src_party_id="10000", src_role="host")["privilege_command"] == []  # per role
    assert query(client, src_party_id="10001", src_role="guest")["privilege_command"] == []  # per party

    assert post(client, DELETE, dict(SOURCE, privilege_command="run"))["retcode"] == 0
    assert query(client)["privilege_command"] == ["create", "stop"]
    assert post(client, DELETE, dict(SOURCE, privilege_component="all"))["retcode"] == 0
    assert query(client)["privilege_component"] == []


def test_unknown_component_is_refused(client):
    answer = post(client, GRANT, dict(SOURCE, privilege_component="dataio,hetero_lr"))
    assert answer["retcode"] == 101 and "privilege_component" in answer["retmsg"]
    assert "hetero_lr" in answer["retmsg"] and "heterolr" in answer["retmsg"]  # the allowed names are listed
    assert query(client)["privilege_component"] == []  # nothing half-granted


def test_all_expands_to_every_value(client):
    post(client, GRANT, dict(SOURCE, privilege_role="all", privilege_command="all", privilege_component="all"))
    data = query(client)
    assert data["privilege_role"] == ["guest", "host", "arbiter"]
    assert data["privilege_command"] == ["create", "run", "stop"]
    assert {"dataio", "heterolr", "intersection", "evaluation"} <= set(data["privilege_component"])
    assert not {"upload", "download"} & set(data["privilege_component"])  # local jobs never cross parties


def test_list_values_are_accepted(client):
    assert post(client, GRANT, dict(SOURCE, privilege_role=["host", "arbiter"]))["retcode"] == 0
    assert query(client)["privilege_role"] == ["host", "arbiter"]


@pytest.mark.parametrize("path, body, field", [
    (GRANT, {"src_role": "guest", "privilege_role": "host"}, "src_party_id"),
    (GRANT, {"src_party_id": "10000", "privilege_role": "host"}, "src_role"),
    (QUERY, {"src_party_id": "10000"}, "src_role"),
    (GRANT, dict(SOURCE, src_party_id="abc", privilege_role="host"), "src_party_id"),
    (GRANT, dict(SOURCE, src_role="local", privilege_role="host"), "src_role"),
    (GRANT, dict(SOURCE, privilege_role="admin"), "privilege_role"),
    (GRANT, dict(SOURCE, privilege_command="create,delete"), "privilege_command"),
    (GRANT, dict(SOURCE, privilege_command=7), "privilege_command"),
    (GRANT, dict(SOURCE), "privilege_role or privilege_command or privilege_component"),
    (DELETE, dict(SOURCE), "privilege_role or privilege_command or privilege_component"),
])
def test_bad_requests_name_the_field(client, path, body, field):
    answer = post(client, path, body)
    assert answer["retcode"] == 101, answer
    assert answer["retmsg"].startswith(field), answer


def test_deleting_what_was_never_granted_is_refused(client):
    post(client, GRANT, dict(SOURCE, privilege_command="create"))
    answer = post(client, DELETE, dict(SOURCE, privilege_command="create,run"))
    assert answer["retcode"] == 101 and "run" in answer["retmsg"] and "not granted" in answer["retmsg"]
    assert query(client)["privilege_command"] == ["create"]  # nothing removed


# ---- the guard, in-process: signed schedule calls from party 10000 to this party 9999 ----------

@pytest.fixture
def guarded(settings):
    from fate_flow.app import create_app
    from fate_flow.db import init_db
    from fate_flow.settings import apply_overrides

    settings = apply_overrides(settings, party_ids=(9999,), security={
        "secret": "ours", "party_secrets": {"10000": "theirs"}, "use_permission": True})
    init_db(settings.database)
    return create_app(settings).test_client()


JOB_ID = "202001010000000000042"
CREATE = f"/v1/schedule/{JOB_ID}/host/9999/create"


def job_row() -> dict:
    dsl = {"components": {"dataio_0": {"module": "DataIO"}, "hetero_lr_0": {"module": "HeteroLR"}}}
    conf = {"initiator": {"role": "guest", "party_id": 10000}, "role": {"guest": [10000], "host": [9999]},
            "job_parameters": {"work_mode": 0, "model_id": "m", "model_version": JOB_ID}}
    return {"f_job_id": JOB_ID, "f_roles": json.dumps(conf["role"]), "f_work_mode": 0,
            "f_initiator_party_id": "10000", "f_dsl": json.dumps(dsl), "f_runtime_conf": json.dumps(conf),
            "f_train_runtime_conf": "{}", "f_status": "waiting", "f_progress": 0, "f_role": "host",
            "f_party_id": "9999", "f_is_initiator": 0}


def signed_post(client, path, body, secret="theirs", party="10000"):
    data = json.dumps(body).encode()
    headers = dict(sign_headers(secret, party, "POST", path, data), **{"Content-Type": "application/json"})
    return client.post(path, data=data, headers=headers)


def test_create_without_privilege_is_refused_then_accepted_after_grant(guarded):
    resp = signed_post(guarded, CREATE, job_row())
    assert resp.status_code == 403
    refusal = resp.get_json()
    assert refusal["retcode"] != 0 and "permission denied" in refusal["retmsg"]
    assert "privilege_command create" in refusal["retmsg"] and "dataio" in refusal["retmsg"]

    grant = dict(SOURCE, privilege_role="host", privilege_command="create", privilege_component="dataio")
    assert post(guarded, GRANT, grant)["retcode"] == 0
    resp = signed_post(guarded, CREATE, job_row())
    assert resp.status_code == 403 and "heterolr" in resp.get_json()["retmsg"]  # one module still missing

    assert post(guarded, GRANT, dict(grant, privilege_component="heterolr"))["retcode"] == 0
    resp = signed_post(guarded, CREATE, job_row())
    assert resp.status_code == 200 and resp.get_json()["retcode"] == 0, resp.get_json()

    # run needs its own command; the component's module comes from the stored job
    run = f"/v1/schedule/{JOB_ID}/hetero_lr_0/{JOB_ID}_hetero_lr_0/host/9999/run"
    resp = signed_post(guarded, run, {})
    assert resp.status_code == 403 and "privilege_command run" in resp.get_json()["retmsg"]
    kill = f"/v1/schedule/{JOB_ID}/host/9999/kill"
    assert signed_post(guarded, kill, {}).status_code == 403
    post(guarded, GRANT, dict(SOURCE, privilege_command="stop"))
    assert signed_post(guarded, kill, {}).status_code == 200


def test_privilege_is_per_destination_role(guarded):
    post(guarded, GRANT, dict(SOURCE, privilege_role="arbiter", privilege_command="create", privilege_component="all"))
    resp = signed_post(guarded, CREATE, job_row())
    assert resp.status_code == 403 and "privilege_role host" in resp.get_json()["retmsg"]


def test_calls_a_party_makes_to_itself_need_no_privilege(guarded):
    resp = signed_post(guarded, CREATE, job_row(), secret="ours", party="9999")
    assert resp.status_code == 200 and resp.get_json()["retcode"] == 0


def test_other_schedule_routes_need_a_signature_but_no_privilege(guarded):
    status = f"/v1/schedule/{JOB_ID}/host/9999/status"
    assert guarded.post(status, json={"f_progress": 1}).status_code == 403
    assert signed_post(guarded, status, {"f_progress": 1}).status_code == 200


def test_user_routes_are_not_guarded(guarded):
    assert guarded.post("/v1/version/get", json={"module": "FATE"}).get_json()["retcode"] == 0
