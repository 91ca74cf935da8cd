"""Secrets in job confs (model store passwords, URL credentials) never come back through /v1/job."""
from __future__ import annotations

import json

from fate_flow.db import DB, Job, now_ms
from fate_flow.utils.redact import MASK, redact


def test_redact_masks_secret_keys_and_url_passwords_only():
    conf = {"store_address": {"storage": "redis", "host": "h", "password": "hunter2", "port": 6379},
            "url": "mysql://fate:s3cret@127.0.0.1:3306/model", "plain": "mysql://root@host/db",
            "list": [{"passwd": "x"}], "empty": {"password": ""}}
    out = redact(conf)
    assert out["store_address"] == {"storage": "redis", "host": "h", "password": MASK, "port": 6379}
    assert out["url"] == f"mysql://fate:{MASK}@127.0.0.1:3306/model"
    assert out["plain"] == "mysql://root@host/db"
    assert out["list"] == [{"passwd": MASK}] and out["empty"] == {"password": ""}
    assert conf["store_address"]["password"] == "hunter2"  # the input is left as it was


def test_job_query_and_config_hide_the_store_password(client):
    conf = {"initiator": {"role": "local", "party_id": 0}, "role": {"local": [0]},
            "job_parameters": {"work_mode": 0},
            "role_parameters": {"local": {"restore_0": {"store_address": [{"storage": "mysql",
                                                                           "url": "mysql://u:topsecret@db/m"}]}}}}
    with DB.connection_context():
        Job.create(f_job_id="202611270000000000009", f_role="local", f_party_id="0", f_is_initiator=1,
                   f_status="success", f_roles="{}", f_runtime_conf=json.dumps(conf), f_dsl="{}",
                   f_train_runtime_conf="{}", f_initiator_party_id="0", f_work_mode=0, f_create_time=now_ms())
    query = client.post("/v1/job/query", json={"job_id": "202611270000000000009"}).get_data(as_text=True)
    config = client.post("/v1/job/config", json={"job_id": "202611270000000000009", "role": "local",
                                                 "party_id": 0}).get_data(as_text=True)
    for answer in (query, config):
        assert '"retcode": 0' in answer.replace('"retcode":0', '"retcode": 0'), answer
        assert "topsecret" not in answer and MASK in answer
