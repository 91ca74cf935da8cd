"""The dashboard's routes without a browser: pages and assets, the job list, logs, login, cross-site checks."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from werkzeug.security import generate_password_hash

from fate_flow.errors import ArgumentError

ROLES = {"guest": [9999], "host": [10000]}


def make_jobs(count: int, status: str = "success", prefix: str = "2026120612000000") -> list[str]:
    """``count`` jobs with a guest (initiator) row each, created one ms apart."""
    from fate_flow.db import DB, Job

    ids = [f"{prefix}{i:05d}" for i in range(count)]
    conf = {"initiator": {"role": "guest", "party_id": 9999}, "role": ROLES, "job_parameters": {"work_mode": 0}}
    rows = [dict(f_job_id=job_id, f_role="guest", f_party_id="9999", f_is_initiator=1, f_roles=json.dumps(ROLES),
                 f_work_mode=0, f_dsl="{}", f_runtime_conf=json.dumps(conf), f_status=status,
                 f_initiator_party_id="9999", f_create_time=1_000 + i, f_start_time=1_000 + i)
            for i, job_id in enumerate(ids)]
    with DB.atomic():
        Job.insert_many(rows).execute()
    return ids


def test_pages_and_assets_are_served(client):
    page = client.get("/index.html")
    assert page.status_code == 200 and b'id="view"' in page.data and b"csrf-token" in page.data
    assert client.get("/").headers["Location"].endswith("/index.html#/history")
    for asset in ("board.js", "charts.js", "dag.js", "board.css"):
        assert client.get(f"/board/static/{asset}").status_code == 200
    plotly = client.get("/board/vendor/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.get_data()) > 1_000_000
    assert client.get("/board/vendor/plotly.js").status_code == 404  # only the listed files of the wheel


def test_board_url_points_at_this_server_unless_configured(settings):
    assert settings.board_address == settings.address
    assert replace(settings, fateboard_host="board.example", fateboard_port=8080).board_address == "board.example:8080"


def test_job_list_pages_filters_and_counts(client):
    ids = make_jobs(45)
    make_jobs(3, status="running", prefix="2026120612999999")
    answer = client.post("/v1/board/jobs", json={"page": 2, "page_size": 20, "status": "success"}).get_json()
    data = answer["data"]
    assert data["total"] == 45 and len(data["jobs"]) == 20 and data["has_unfinished"] is True
    assert data["jobs"][0]["f_job_id"] == ids[24], "newest first"
    one = client.post("/v1/board/jobs", json={"job_id": ids[7]}).get_json()["data"]
    assert [j["f_job_id"] for j in one["jobs"]] == [ids[7]]
    assert client.post("/v1/board/jobs", json={"page": "x"}).get_json()["retcode"] != 0


def test_waiting_jobs_show_their_queue_position(client):
    from fate_flow.db import Queue
    from fate_flow.driver.status import QueueState

    ids = make_jobs(3, status="waiting")
    for job_id in reversed(ids):  # queued newest first: positions are the queue's order, not the rows'
        Queue.create(f_job_id=job_id, f_event="{}", f_is_waiting=QueueState.WAITING)
    jobs = client.post("/v1/board/jobs", json={"status": "waiting"}).get_json()["data"]["jobs"]
    assert {j["f_job_id"]: j["f_queue_position"] for j in jobs} == {ids[2]: 1, ids[1]: 2, ids[0]: 3}


def test_log_reads_stay_in_the_job_log_directory(settings):
    from fate_flow.dashboard import service

    job_id = "202612061200000000001"
    folder = settings.task_log_dir(job_id, "guest", 9999, "reader_0")
    folder.mkdir(parents=True)
    (folder / "INFO.log").write_text("line 1\nline 2\n")
    (settings.logs_dir / "secret.log").write_text("not yours")
    assert service.log_files(settings, job_id, "guest", 9999, "reader_0") == ["INFO.log"]
    first = service.read_log(settings, job_id, "guest", 9999, "reader_0", "INFO.log", -1)
    assert first == {"text": "line 1\nline 2\n", "offset": 14, "size": 14}
    with open(folder / "INFO.log", "a") as f:
        f.write("line 3\n")
    assert service.read_log(settings, job_id, "guest", 9999, "reader_0", "INFO.log", 14)["text"] == "line 3\n"
    for component, name in (("reader_0", "../../../../secret.log"), ("", "../../secret.log"), ("..", "secret.log")):
        with pytest.raises(ArgumentError):
            service.read_log(settings, job_id, "guest", 9999, component, name, 0)
    with pytest.raises(ArgumentError):
        service.read_log(settings, job_id, "guest", 12345, "reader_0", "INFO.log", 0)  # not a party of this server
    with pytest.raises(ArgumentError):
        service.read_log(settings, "../x", "guest", 9999, "", "INFO.log", 0)


def test_a_cross_site_post_is_refused_and_the_cli_is_not(client):
    make_jobs(1)
    evil = client.post("/v1/job/stop", json={"job_id": "1"}, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403 and "cross-site" in evil.get_json()["retmsg"]
    same = client.post("/v1/board/jobs", json={}, headers={"Origin": "http://localhost"})
    assert same.status_code == 200
    assert client.post("/v1/board/jobs", json={}).status_code == 200  # the CLI sends no Origin


@pytest.fixture
def public_client(settings):
    """An app bound beyond loopback, with one user (board/secret) and one token."""
    from fate_flow.app import create_app
    from fate_flow.db import init_db
    from fate_flow.settings import DashboardSettings

    public = replace(settings, host="0.0.0.0", dashboard=DashboardSettings(
        users={"board": generate_password_hash("secret")}, tokens=("t0ken",)))
    init_db(public.database)
    return create_app(public).test_client()


def test_beyond_loopback_the_dashboard_needs_a_login(public_client):
    assert public_client.get("/index.html").status_code == 302
    assert public_client.post("/v1/board/jobs", json={}).status_code == 401
    assert public_client.get("/board/login").status_code == 200
    assert public_client.post("/board/login", data={"user": "board", "password": "nope"}).status_code == 401
    good = public_client.post("/board/login?next=/index.html", data={"user": "board", "password": "secret"})
    assert good.status_code == 302 and good.headers["Location"] == "/index.html"
    page = public_client.get("/index.html")
    assert page.status_code == 200
    token = page.data.split(b'name="csrf-token" content="')[1].split(b'"')[0].decode()
    assert public_client.post("/v1/board/jobs", json={}).status_code == 403, "a logged-in POST needs its CSRF token"
    assert public_client.post("/v1/board/jobs", json={}, headers={"X-CSRF-Token": token}).status_code == 200
    assert public_client.post("/board/logout", json={}, headers={"X-CSRF-Token": token}).get_json()["retcode"] == 0
    assert public_client.get("/index.html").status_code == 302


def test_a_token_opens_the_dashboard(public_client):
    assert public_client.get("/index.html?token=wrong").status_code == 302
    assert public_client.get("/index.html?token=t0ken").status_code == 200


def test_the_login_never_redirects_off_site(public_client):
    answer = public_client.post("/board/login?next=//evil.example/", data={"user": "board", "password": "secret"})
    assert answer.headers["Location"] == "/index.html"
