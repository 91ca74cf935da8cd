"""The OpenAPI document covers every route, /docs renders it from local files only, and schemathesis
fuzzing the live server from that document finds no 5xx, no exception text in answers, the server
alive and nothing written outside its work dir."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from tests.flow_server import ROOT, FlowServer

TOY = ROOT / "examples" / "toy_example"

pytestmark = pytest.mark.xdist_group("openapi")

# examples per operation and generation mode; FUZZ_EXAMPLES raises it (bench/bench_fuzz.py)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
# what a retmsg must never carry: a traceback, exception class names, interpreter and driver wording
EXCEPTION_TEXT = re.compile(
    r"Traceback|File \"|\b[A-Z][A-Za-z]*(Error|Exception)\b|NoneType|object has no attribute|not subscriptable|"
    r"unsupported operand|invalid literal for|sqlite3|peewee|pymysql|werkzeug|site-packages")

# the catch-all's answer (app._render_unexpected): an exception no layer turned into a clean refusal
UNEXPECTED = re.compile(r"failed on the server: see its log")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("openapi")
    # no directory besides the work dir: fuzzed server paths (download's output_path) must stay inside it
    flow = FlowServer(root / "work", conf={"data_access": {"allowed_dirs": []}}).start()
    yield flow
    flow.stop()


@pytest.fixture(scope="module")
def toy_job(server) -> dict:
    """The ids of a real ended job, which half of the fuzzed requests name, so they reach past the lookups."""
    answer = server.post("/v1/job/submit", {"job_dsl": json.loads((TOY / "toy_example_dsl.json").read_text()),
                                            "job_runtime_conf": json.loads((TOY / "toy_example_conf.json").read_text())})
    assert server.wait_job(answer["jobId"], timeout=60)["f_status"] == "success"
    component = "secure_add_example_0"
    return {"job_id": answer["jobId"], "role": "guest", "party_id": "10000", "component_name": component,
            "task_id": f"{answer['jobId']}_{component}"}


@pytest.fixture(scope="module")
def document(server):
    answer = requests.get(server.url + "/openapi.json", timeout=30)
    assert answer.status_code == 200
    return answer.json()


def test_every_rule_and_method_is_in_the_document_with_a_declaration(tmp_path):
    from fate_flow.app import create_app
    from fate_flow.apps._openapi import build_document, openapi_path
    from fate_flow.db import init_db
    from fate_flow.settings import load_settings

    settings = load_settings(None, environ={}, work_dir=str(tmp_path / "work"),
                             database_url=f"sqlite:///{tmp_path / 'flow.db'}", port=1)
    init_db(settings.database)
    app = create_app(settings)
    paths = build_document(app)["paths"]
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 100
    for rule in rules:
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths.get(openapi_path(rule.rule), {}), f"{method} {rule.rule} not documented"
        view = app.view_functions[rule.endpoint]
        if not rule.endpoint.endswith("static"):
            assert hasattr(view, "api_doc"), f"{rule.endpoint} ({rule.rule}) has no @api declaration"
    submit = paths["/v1/job/submit"]["post"]
    envelope = submit["responses"]["200"]["content"]["application/json"]["schema"]
    assert envelope["required"] == ["retcode"] and {"retcode", "retmsg", "data"} <= set(envelope["properties"])
    query = paths["/v1/job/task/query"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert query["properties"]["job_id"]["pattern"].startswith("^[A-Za-z0-9_-]")
    stop = paths["/v1/job/stop"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert stop["required"] == ["job_id"]
    assert [p["name"] for p in paths["/v1/schedule/{job_id}/{role}/{party_id}/create"]["post"]["parameters"]] == [
        "job_id", "role", "party_id"]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_docs_page_uses_only_local_assets(server, document):
    page = requests.get(server.url + "/docs", timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    parser = _Assets()
    parser.feed(page.text)
    assert len(parser.urls) >= 3
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), f"{url} is not served by the server"
        asset = requests.get(server.url + url, timeout=30)
        assert asset.status_code == 200 and asset.content, url
    script = requests.get(server.url + "/board/static/docs.js", timeout=30).text
    assert "http" not in script.replace("validator.swagger.io", "")  # no URL of another host
    assert 'data-spec="/openapi.json"' in page.text
    assert document["openapi"].startswith("3.") and "/v1/job/submit" in document["paths"]


def _tree(path: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in path.rglob("*") if p.is_file()}


def _repo_changes() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True).stdout


def _name_the_real_job(case, ids: dict) -> None:
    """Put the real job's ids where the case has such fields (path or body), keeping the rest fuzzed."""
    for name in case.path_parameters or {}:
        if name in ids:
            case.path_parameters[name] = ids[name]
    if isinstance(case.body, dict):
        case.body.update({name: ids[name] for name in case.body if name in ids})


def test_fuzzing_the_live_server_finds_no_server_error(server, document, toy_job):
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable

    outside = server.work_dir.parent
    before_outside = {k: v for k, v in _tree(outside).items() if not k.startswith(str(server.work_dir))}
    before_repo = _repo_changes()
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    cases = 0

    def check(case) -> None:
        nonlocal cases
        cases += 1
        if cases % 2:
            _name_the_real_job(case, toy_job)
        try:
            response = case.call(base_url=server.url, timeout=30)
        except requests.RequestException as exc:
            failures.append(f"{case.method} {case.formatted_path}: no answer ({exc})")
            return
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: HTTP {response.status_code} {response.text[:200]}")
            return
        retmsg = _retmsg(response)
        found = EXCEPTION_TEXT.search(retmsg) or UNEXPECTED.search(retmsg)
        if found:
            failures.append(f"{case.method} {case.formatted_path} {case.body!r:.200}: retmsg {retmsg[:300]!r}")

    started = time.monotonic()
    spent: dict[str, float] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        began = time.monotonic()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            run = settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
                           suppress_health_check=list(HealthCheck))(given(operation.as_strategy(mode))(check))
            try:
                run()
            except Unsatisfiable:
                pass  # nothing to make invalid (no parameters, no body): the positive cases covered it
        spent[operation.label] = time.monotonic() - began
    elapsed = time.monotonic() - started
    slowest = sorted(spent.items(), key=lambda item: -item[1])[:5]
    print(f"\nschemathesis: {cases} cases, {len(spent)} operations, {elapsed:.1f} s; slowest: "
          + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in slowest))
    assert not failures, f"{len(failures)} of {cases} cases failed:\n" + "\n".join(failures[:40])
    assert requests.get(server.url + "/v1/version/get", timeout=30).json()["retcode"] == 0  # alive
    after_outside = {k: v for k, v in _tree(outside).items() if not k.startswith(str(server.work_dir))}
    assert after_outside == before_outside
    assert _repo_changes() == before_repo


def _retmsg(response) -> str:
    if "json" not in response.headers.get("Content-Type", ""):
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("retmsg", "")) if isinstance(body, dict) else ""


def test_conf_update_refuses_a_conf_the_job_can_not_run_with(server, toy_job):
    """Found by the fuzzing: any object was stored as the job's runtime conf, and pipeline/save then failed."""
    job_id = toy_job["job_id"]
    base = f"/v1/schedule/{job_id}/guest/10000"
    conf = server.post("/v1/job/config", {"job_id": job_id, "role": "guest", "party_id": 10000})["data"]
    stored = conf["runtime_conf"] if "runtime_conf" in conf else conf["job_runtime_conf"]
    for bad, field in (({}, "runtime_conf.initiator"), (dict(stored, job_parameters=[]), "job_parameters"),
                       (dict(stored, role={"guest": [1]}), "runtime_conf.role")):
        answer = server.post(base + "/conf/update", {"runtime_conf": bad})
        assert answer["retcode"] != 0 and field in answer["retmsg"], answer
    assert server.post(base + "/conf/update", {"runtime_conf": stored})["retcode"] == 0
    assert server.post(base + "/pipeline/save", {})["retcode"] == 0


def test_docs_page_renders_every_operation_in_a_browser_offline(server, document):
    from tests.test_dashboard_browser import CHROMEDRIVER, CHROMIUM

    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(server.url + "/docs")
        operations = sum(len(item) for item in document["paths"].values())
        deadline, shown = time.monotonic() + 30, 0
        while time.monotonic() < deadline and shown < operations:
            shown = driver.execute_script("return document.querySelectorAll('.opblock').length")
            time.sleep(0.2)
        assert shown == operations
        fetched = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert fetched and all(url.startswith(server.url + "/") for url in fetched), fetched
    finally:
        driver.quit()
