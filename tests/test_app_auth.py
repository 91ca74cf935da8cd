"""App keys on the user routes: FATE-Flow 1.7's signature, refusals on every user route, replay refusal.

In-process (Flask's test client) for the per-route refusals; real servers (werkzeug and gunicorn)
for the APP_KEY header both drop by default, the key CLI, the 1.4 client and a real fate-client.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import re
import signal
import subprocess
import sys
import time

import pytest
import requests
from flask import Flask

from fate_flow.apps import BLUEPRINTS, is_internal_call
from fate_flow.dashboard import bp as board_bp
from fate_flow.utils.app_auth import AppKeyAuth, app_auth_headers, compute_app_signature, form_bytes
from tests.flow_server import PYTHON, ROOT, FlowServer, wait_until

AUTH_ERROR = 109
REFUSED = (401, 403, 425)


# ---- the formula --------------------------------------------------------------------

# one worker sets up the module's shared fixtures (servers, engines) once
pytestmark = pytest.mark.xdist_group("app_auth")


def test_signature_is_fate_1_7_formula():
    """base64(HMAC-SHA1(secret, ts \\n nonce \\n app_key \\n path?query \\n json \\n sorted form)), computed by hand."""
    message = b"1700000000000\nn0nce-1\nkey1\n/v1/job/query?a=1\n{\"job_id\": \"j\"}\na=1&b=x%20y"
    expected = base64.b64encode(hmac.new(b"s3cret", message, hashlib.sha1).digest()).decode()
    assert form_bytes({"b": "x y", "a": "1"}) == b"a=1&b=x%20y"
    assert compute_app_signature("s3cret", "1700000000000", "n0nce-1", "key1", "/v1/job/query?a=1",
                                 b'{"job_id": "j"}', form_bytes({"b": "x y", "a": "1"})) == expected
    headers = app_auth_headers("key1", "s3cret", "/v1/job/query", b"", now=1700000000.0)
    assert headers["TIMESTAMP"] == "1700000000000" and headers["APP_KEY"] == "key1"
    message = f"1700000000000\n{headers['NONCE']}\nkey1\n/v1/job/query\n\n".encode()
    assert headers["SIGNATURE"] == base64.b64encode(hmac.new(b"s3cret", message, hashlib.sha1).digest()).decode()


def test_requests_auth_signs_what_is_sent():
    prepared = requests.Request("POST", "http://h:1/v1/job/query?x=1", json={"job_id": "j"},
                                auth=AppKeyAuth("key1", "s3cret")).prepare()
    h = prepared.headers
    message = "\n".join([h["TIMESTAMP"], h["NONCE"], "key1", "/v1/job/query?x=1", prepared.body.decode(), ""])
    assert h["SIGNATURE"] == base64.b64encode(hmac.new(b"s3cret", message.encode(), hashlib.sha1).digest()).decode()


# ---- every user route, in-process -------------------------------------------------------

def _user_routes() -> list[tuple[str, str]]:
    """(method, concrete path) of every /v1 rule users call: all but the party and task-report routes."""
    app = Flask("rules")
    for blueprint in [*BLUEPRINTS, board_bp]:
        app.register_blueprint(blueprint)
    routes = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "1", rule.rule)
        if not path.startswith("/v1/") or is_internal_call(path):
            continue
        method = "POST" if "POST" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        routes.append((method, path))
    return sorted(set(routes))


USER_ROUTES = _user_routes()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """An app that requires app keys (bound beyond loopback), with one key made through the store."""
    from fate_flow.app import create_app
    from fate_flow.db import init_db
    from fate_flow.services.app_keys import create_key
    from fate_flow.settings import load_settings

    work = tmp_path_factory.mktemp("guarded")
    settings = load_settings(None, environ={}, work_dir=str(work), database_url=f"sqlite:///{work / 'flow.db'}",
                             port=1, host="0.0.0.0")
    assert settings.requires_app_keys
    init_db(settings.database)
    app = create_app(settings)
    with app.app_context():
        app_key, secret_key = create_key("alice")
    return app, app_key, secret_key


def _send(app, method: str, path: str, headers: dict | None = None, body: bytes = b"{}"):
    with app.test_client() as client:
        return client.open(path, method=method, data=body, headers={"Content-Type": "application/json",
                                                                   **(headers or {})})


def _refusal(response) -> tuple[int, int]:
    return response.status_code, response.get_json()["retcode"]


def test_there_are_user_routes_of_every_group():
    prefixes = {p.split("/")[2] for _, p in USER_ROUTES}
    assert {"job", "data", "model", "table", "tracking", "permission", "version", "board"} <= prefixes
    assert not any(p.startswith("/v1/schedule/") or p.startswith("/v1/federation/") for _, p in USER_ROUTES)


@pytest.mark.parametrize("method,path", USER_ROUTES)
def test_user_route_refuses_unsigned_wrong_stale_and_replayed(guarded, method, path):
    app, app_key, secret_key = guarded
    assert _refusal(_send(app, method, path)) == (401, AUTH_ERROR)  # unsigned
    unknown = app_auth_headers("0" * 32, secret_key, path)
    assert _refusal(_send(app, method, path, unknown)) == (401, AUTH_ERROR)
    wrong = app_auth_headers(app_key, "not-the-secret", path)
    assert _refusal(_send(app, method, path, wrong)) == (403, AUTH_ERROR)
    stale = app_auth_headers(app_key, secret_key, path, now=time.time() - 3600)
    assert _refusal(_send(app, method, path, stale)) == (425, AUTH_ERROR)
    signed = app_auth_headers(app_key, secret_key, path)
    first = _send(app, method, path, signed)
    assert first.status_code not in REFUSED and (first.get_json() or {}).get("retcode") != AUTH_ERROR
    assert _refusal(_send(app, method, path, signed)) == (403, AUTH_ERROR)  # the same request again


def test_signature_covers_body_query_and_form(guarded):
    app, app_key, secret_key = guarded
    body = b'{"job_id": "j1"}'
    headers = app_auth_headers(app_key, secret_key, "/v1/job/query", body)
    assert _refusal(_send(app, "POST", "/v1/job/query", headers, b'{"job_id": "j2"}')) == (403, AUTH_ERROR)
    assert _send(app, "POST", "/v1/job/query", app_auth_headers(app_key, secret_key, "/v1/job/query", body),
                 body).get_json()["retcode"] != AUTH_ERROR
    headers = app_auth_headers(app_key, secret_key, "/v1/job/query?a=1")
    assert _refusal(_send(app, "POST", "/v1/job/query?a=2", headers)) == (403, AUTH_ERROR)
    form = {"b": "x y", "a": "1"}
    with app.test_client() as client:
        ok = client.post("/v1/job/query", data=form, headers=app_auth_headers(app_key, secret_key,
                                                                              "/v1/job/query", form=form))
        bad = client.post("/v1/job/query", data={**form, "a": "2"},
                          headers=app_auth_headers(app_key, secret_key, "/v1/job/query", form=form))
    assert ok.get_json()["retcode"] != AUTH_ERROR and _refusal(bad) == (403, AUTH_ERROR)


def test_refusals_are_logged_without_secrets(guarded, caplog):
    app, app_key, secret_key = guarded
    with caplog.at_level(logging.WARNING, logger="fate_flow.security"):
        _send(app, "POST", "/v1/job/query", app_auth_headers(app_key, "wrong", "/v1/job/query"))
    text = caplog.text
    assert "refused POST /v1/job/query" in text and "HTTP 403" in text and app_key in text
    assert secret_key not in text and "wrong" not in text


def test_party_routes_keep_their_own_guard(guarded):
    app, _, _ = guarded
    answer = _send(app, "POST", "/v1/schedule/j1/guest/9999/status")
    assert answer.get_json()["retcode"] != AUTH_ERROR


def test_dashboard_login_with_an_app_key_is_an_identity(guarded):
    app, app_key, secret_key = guarded
    with app.test_client() as client:
        assert client.post("/board/login", data={"user": app_key, "password": "wrong"}).status_code == 401
        assert client.post("/board/login", data={"user": app_key, "password": secret_key}).status_code == 302
        with client.session_transaction() as session:
            assert session["user"] == "alice"
            session["csrf"] = "t" * 24
        answer = client.post("/v1/job/query", json={"job_id": "nope"}, headers={"X-CSRF-Token": "t" * 24})
        # past the guard: the job does not exist (a 1.5+ client's query of no job: retcode 0, no rows)
        assert answer.status_code == 200 and answer.get_json()["retcode"] == 0 and answer.get_json()["data"] == []
        board = client.post("/v1/board/jobs", json={}, headers={"X-CSRF-Token": "t" * 24})
        assert board.get_json()["retcode"] == 0


def test_off_on_loopback_unless_asked(tmp_path):
    from fate_flow.settings import load_settings

    settings = load_settings(None, environ={}, work_dir=str(tmp_path), port=1, host="127.0.0.1")
    assert not settings.requires_app_keys
    forced = dataclasses.replace(settings, security=dataclasses.replace(settings.security,
                                                                        client_authentication=True))
    assert forced.requires_app_keys
    assert not dataclasses.replace(settings, host="0.0.0.0", security=dataclasses.replace(
        settings.security, client_authentication=False)).requires_app_keys


# ---- real servers -----------------------------------------------------------------------

class SignedServer(FlowServer):
    """A FlowServer whose own calls are signed with an app key (set once the key exists)."""

    auth: AppKeyAuth | None = None

    def post(self, path, body=None, **kwargs):
        return requests.post(self.url + path, json=body, timeout=30, auth=self.auth, **kwargs).json()


def key_cli(conf, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, str(ROOT / "fate_flow_server.py"), "key", *args, "--conf", str(conf)],
                          capture_output=True, text=True, timeout=60, cwd=str(ROOT))


@pytest.fixture(scope="module")
def werkzeug_server(tmp_path_factory):
    server = SignedServer(tmp_path_factory.mktemp("signed") / "server",
                          conf={"security": {"client_authentication": True}})
    conf = server.write_conf()
    made = key_cli(conf, "create", "--user", "bob", "--description", "tests")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    server.auth = AppKeyAuth(key["app_key"], key["secret_key"])
    try:
        server.start()
        yield server, key
    finally:
        server.stop()  # also when it never answered


def test_key_cli_lists_without_secrets_and_deletes(werkzeug_server):
    server, key = werkzeug_server
    conf = server.work_dir / "service_conf.yaml"
    extra = json.loads(key_cli(conf, "create", "--user", "carol").stdout)
    listed = key_cli(conf, "list")
    assert {k["app_key"]: k["user"] for k in json.loads(listed.stdout)} == {key["app_key"]: "bob",
                                                                            extra["app_key"]: "carol"}
    assert key["secret_key"] not in listed.stdout and extra["secret_key"] not in listed.stdout
    carol = AppKeyAuth(extra["app_key"], extra["secret_key"])
    assert requests.post(server.url + "/v1/version/get", json={}, auth=carol, timeout=10).json()["retcode"] == 0
    assert key_cli(conf, "delete", extra["app_key"]).returncode == 0
    gone = requests.post(server.url + "/v1/version/get", json={}, auth=carol, timeout=10)
    assert (gone.status_code, gone.json()["retcode"]) == (401, AUTH_ERROR)
    assert key_cli(conf, "create").returncode != 0  # a key is always for a named user
    assert key["secret_key"] not in server.output()


def test_werkzeug_server_sees_app_key_header(werkzeug_server):
    server, key = werkzeug_server
    answer = requests.post(server.url + "/v1/version/get", json={"module": "FATE"}, auth=server.auth, timeout=10)
    assert answer.json()["retcode"] == 0
    unsigned = requests.post(server.url + "/v1/version/get", json={"module": "FATE"}, timeout=10)
    assert (unsigned.status_code, unsigned.json()["retcode"]) == (401, AUTH_ERROR)


def test_the_1_4_client_signs_from_the_environment(werkzeug_server, tmp_path):
    server, key = werkzeug_server
    server.env.pop("FATE_FLOW_APP_KEY", None)
    assert server.client("-f", "query_job", "-j", "nope")["retcode"] == AUTH_ERROR
    env = {"FATE_FLOW_APP_KEY": key["app_key"], "FATE_FLOW_SECRET_KEY": key["secret_key"]}
    server.env.update(env)
    try:
        conf = tmp_path / "upload.json"
        conf.write_text(json.dumps({"file": str(ROOT / "examples/data/breast_hetero_mini_host.csv"), "head": 1,
                                    "partition": 2, "work_mode": 0, "namespace": "auth_test",
                                    "table_name": "mini_host"}))
        upload = server.client("-f", "upload", "-c", str(conf))  # multipart: the query string is signed
        assert upload["retcode"] == 0, upload
        assert server.wait_job(upload["jobId"])["f_status"] == "success"
        queried = server.client("-f", "query_job", "-j", upload["jobId"])
        assert queried["retcode"] == 0 and queried["data"][0]["f_status"] == "success"
    finally:
        for name in env:
            server.env.pop(name)


def test_fate_client_1_11_signs(werkzeug_server, tmp_path):
    """flow_sdk of FATE 1.11 (FlowClient(..., app_key=, secret_key=)) against our server."""
    from tests.fate_client import ClientUnavailable, FateClient

    server, key = werkzeug_server
    try:
        client = FateClient("1.11.3.post1", server.address, tmp_path / "fate_client")
    except ClientUnavailable as exc:
        pytest.skip(str(exc))
    code = (f"import json; from flow_sdk.client import FlowClient\n"
            f"host, port = {server.address!r}.split(':')\n"
            f"for app_key, secret in (({key['app_key']!r}, {key['secret_key']!r}), (None, None)):\n"
            f"    c = FlowClient(host, int(port), 'v1', app_key=app_key, secret_key=secret)\n"
            f"    print(json.dumps(c.job.query(job_id='nope')))\n")
    done = client.run(code, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    signed, unsigned = [json.loads(line) for line in done.stdout.strip().splitlines()[-2:]]
    assert signed["retcode"] not in (AUTH_ERROR, None), signed
    assert unsigned["retcode"] == AUTH_ERROR
    assert client.flow("job", "query", "-j", "nope").get("retcode") == AUTH_ERROR
    settings = client.home / "flow_client" / "settings.yaml"  # the flow CLI signs with the keys set here
    settings.write_text(settings.read_text().replace("app_key:\n", f"app_key: '{key['app_key']}'\n")
                        .replace("secret_key:\n", f"secret_key: '{key['secret_key']}'\n"))
    answer = client.flow("job", "query", "-j", "nope")
    assert answer.get("retcode") not in (AUTH_ERROR, None), answer


def test_gunicorn_passes_app_key_header(tmp_path):
    pytest.importorskip("gunicorn")
    from tests.cluster import free_port

    server = SignedServer(tmp_path / "work", conf={"security": {"client_authentication": True}})
    server.address = f"127.0.0.1:{free_port()}"
    conf = server.write_conf()
    key = json.loads(key_cli(conf, "create", "--user", "dave").stdout)
    server.auth = AppKeyAuth(key["app_key"], key["secret_key"])
    env = dict(server.env, FATE_FLOW_CONF=str(conf), FATE_FLOW_WORKERS="1")
    with open(tmp_path / "gunicorn.out", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "conf/gunicorn.conf.py"),
                                 "fate_flow.wsgi:create_wsgi_app()"], cwd=str(tmp_path), env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: server._answers(), 30, what="gunicorn to answer a signed call")
        unsigned = requests.post(server.url + "/v1/version/get", json={}, timeout=10)
        assert (unsigned.status_code, unsigned.json()["retcode"]) == (401, AUTH_ERROR)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
