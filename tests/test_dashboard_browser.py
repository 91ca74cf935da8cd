"""The dashboard in a real headless Chromium (Debian's, through its chromedriver) against a real server.

The server has run the toy example, FATE's hetero LR example and a job that fails, and holds a
table with a ``<script>`` value. One server and one browser serve the whole module. Every test
saves a screenshot under its own temporary directory.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import requests

from tests.flow_server import ROOT, FlowServer, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [pytest.mark.xdist_group("dashboard_browser"),
              pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                 reason="dashboard browser tests need Debian's chromium and chromium-driver "
                                        "(apt-get install -y chromium chromium-driver)")]

LR = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_logistic_regression"
SELECTION = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_feature_selection"
SBT = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_secureboost"
TOY = ROOT / "examples" / "toy_example"
DATA = ROOT / "examples" / "data"
XSS = "<script>window.__xss=1</script>"
WAIT = 30


def sleep_job(seconds: float, steps: int = 1, **guest) -> tuple[dict, dict]:
    dsl = {"components": {"test_sleep_0": {"module": "TestSleep"}}}
    conf = {"initiator": {"role": "guest", "party_id": 9999}, "role": {"guest": [9999], "host": [10000]},
            "job_parameters": {"work_mode": 0},
            "algorithm_parameters": {"test_sleep_0": {"seconds": seconds, "steps": steps}},
            "role_parameters": {"guest": {"test_sleep_0": {k: [v] for k, v in guest.items()}}}}
    return dsl, conf


def upload(server: FlowServer, path: Path, namespace: str, name: str) -> str:
    answer = server.post("/v1/data/upload", {"file": str(path), "head": 1, "partition": 2, "work_mode": 0,
                                             "namespace": namespace, "table_name": name, "use_local_data": 0})
    assert answer["retcode"] == 0, answer
    return answer["jobId"]


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """A server that ran the toy example, hetero LR and a failing job; their submit answers by name."""
    tmp = tmp_path_factory.mktemp("board")
    server = FlowServer(tmp / "server", conf={"federation": {"timeout": 300}}).start()
    hostile = tmp / "hostile.csv"
    hostile.write_text(f"id,x\n1,{XSS}\n2,<b>bold</b>\n", encoding="utf-8")
    uploads = [upload(server, DATA / "breast_hetero_guest.csv", "experiment", "breast_hetero_guest"),
               upload(server, DATA / "breast_hetero_host.csv", "experiment", "breast_hetero_host"),
               upload(server, hostile, "board", "hostile")]
    for job_id in uploads:
        assert server.wait_job(job_id)["f_status"] == "success"
    answers = {
        "lr": server.post("/v1/job/submit", {"job_dsl": json.loads((LR / "test_hetero_lr_train_job_dsl.json").read_text()),
                                             "job_runtime_conf": json.loads((LR / "test_hetero_lr_train_job_conf.json").read_text())}),
        "toy": server.post("/v1/job/submit", {"job_dsl": json.loads((TOY / "toy_example_dsl.json").read_text()),
                                              "job_runtime_conf": json.loads((TOY / "toy_example_conf.json").read_text())}),
    }
    answers["selection"] = server.post("/v1/job/submit", {
        "job_dsl": json.loads((SELECTION / "test_hetero_feature_selection_job_dsl.json").read_text()),
        "job_runtime_conf": json.loads((SELECTION / "test_hetero_feature_selection_job_conf.json").read_text())})
    sbt = json.loads((SBT / "test_secureboost_train_binary_conf.json").read_text())
    sbt["algorithm_parameters"]["secureboost_0"].update(  # a small model of the same layout, quickly
        num_trees=3, validation_freqs=None, tree_param={"max_depth": 3},
        encrypt_param={"method": "paillier", "key_length": 512})
    answers["sbt"] = server.post("/v1/job/submit", {
        "job_dsl": json.loads((SBT / "test_secureboost_train_dsl.json").read_text()), "job_runtime_conf": sbt})
    dsl, conf = sleep_job(0, fail=True)
    answers["failed"] = server.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
    for answer in answers.values():
        assert answer["retcode"] == 0, answer
    statuses = {name: server.wait_job(a["jobId"], timeout=300)["f_status"] for name, a in answers.items()}
    assert statuses == {"lr": "success", "toy": "success", "selection": "success", "sbt": "success",
                        "failed": "failed"}, statuses
    yield server, answers
    server.stop()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, tmp_path, request):
    """The browser; the screen is saved as ``<test name>.png`` under the test's tmp dir afterwards."""
    yield browser
    browser.save_screenshot(str(tmp_path / f"{request.node.name}.png"))


def wait_for(driver, script: str, what: str, timeout: float = WAIT):
    """Poll a JavaScript expression in the page until it is truthy; return its value."""
    return wait_until(lambda: driver.execute_script(f"return {script};"), timeout, interval=0.1, what=what)


def open_url(driver, url: str) -> None:
    driver.get("about:blank")  # a new document: the hash route runs afresh
    driver.get(url)


def click_component(driver, name: str) -> None:
    wait_for(driver, f'document.querySelector(\'g.node[data-name="{name}"]\')', f"DAG node {name}")
    driver.execute_script(f'document.querySelector(\'g.node[data-name="{name}"]\').dispatchEvent(new MouseEvent("click"))')


def click_tab(driver, tab: str) -> None:
    wait_for(driver, f'document.querySelector(\'#component-tabs [data-tab="{tab}"]\')', f"tab {tab}")
    driver.execute_script(f'document.querySelector(\'#component-tabs [data-tab="{tab}"]\').click()')


def job_page(server: FlowServer, job_id: str, role: str, party_id) -> str:
    return f"{server.url}/index.html#/dashboard?job_id={job_id}&role={role}&party_id={party_id}"


def test_job_list_shows_every_job_with_its_status(board, page):
    server, answers = board
    open_url(page, server.url + "/index.html#/history")
    for name, expected in (("lr", "success"), ("toy", "success"), ("failed", "failed")):
        job_id = answers[name]["jobId"]
        status = wait_for(page, f'[...document.querySelectorAll(\'tr.job-row[data-job-id="{job_id}"]\')]'
                                f'.map(r => r.dataset.status).join()', f"row of {name}")
        assert set(status.split(",")) == {expected}, (name, status)
    info = page.find_element("id", "page-info").text
    assert "jobs" in info


def test_board_url_opens_the_job_dag_with_every_component(board, page):
    server, answers = board
    answer = answers["lr"]
    assert answer["data"]["board_url"].startswith(server.url + "/index.html#/dashboard?job_id=")
    open_url(page, answer["data"]["board_url"])
    names = wait_for(page, '[...document.querySelectorAll("g.node")].map(n => n.dataset.name)', "DAG")
    dsl = json.loads((LR / "test_hetero_lr_train_job_dsl.json").read_text())
    assert sorted(names) == sorted(dsl["components"])
    statuses = wait_for(page, '[...document.querySelectorAll("g.node")].every(n => n.dataset.status === "success")',
                        "every component coloured success")
    assert statuses
    assert answer["jobId"] in page.find_element("id", "job-summary").text


def test_evaluation_shows_an_roc_chart_with_the_auc_of_the_metric_route(board, page):
    server, answers = board
    answer = answers["lr"]
    open_url(page, answer["data"]["board_url"])
    click_component(page, "evaluation_0")
    auc = wait_for(page, 'document.querySelector(".auc-label") && document.querySelector(".auc-label").dataset.auc',
                   "the AUC label")
    wait_for(page, 'document.querySelector(\'.chart[data-kind="ROC"][data-drawn]\')', "the ROC chart drawn")
    job = server.job(answer["jobId"])
    metrics = server.post("/v1/tracking/component/metric/all", {"job_id": answer["jobId"], "component_name": "evaluation_0",
                                                               "role": job["f_role"], "party_id": job["f_party_id"]})
    summary = dict(next(m for m in metrics["data"]["train"].values() if m["meta"]["metric_type"] == "EVALUATION_SUMMARY")["data"])
    assert float(auc) == summary["auc"]
    points = page.execute_script('return document.querySelector(\'.chart[data-kind="ROC"]\').data[0].x.length')
    roc = next(m for m in metrics["data"]["train"].values() if m["meta"]["metric_type"] == "ROC_EVALUATION")
    assert points == len(roc["data"])


def test_the_loss_chart_has_one_point_per_iteration(board, page):
    server, answers = board
    answer = answers["lr"]
    party = json.loads(server.job(answer["jobId"])["f_roles"])["arbiter"][0]
    open_url(page, job_page(server, answer["jobId"], "arbiter", party))
    click_component(page, "hetero_lr_0")
    wait_for(page, 'document.querySelector(\'.chart[data-kind="loss"][data-drawn]\')', "the loss chart")
    points = page.execute_script('return document.querySelector(\'.chart[data-kind="loss"]\').data[0].x.length')
    loss = server.post("/v1/tracking/component/metric/all", {"job_id": answer["jobId"], "component_name": "hetero_lr_0",
                                                             "role": "arbiter", "party_id": party})
    assert points == len(loss["data"]["train"]["loss"]["data"]) > 1


def test_the_output_data_tab_shows_100_rows_and_the_count(board, page):
    server, answers = board
    open_url(page, answers["lr"]["data"]["board_url"])
    click_component(page, "hetero_lr_0")
    click_tab(page, "Output data")
    rows = wait_for(page, 'document.querySelectorAll("#output-table tbody tr").length', "output rows")
    assert rows == 100
    assert "of 569 rows" in page.find_element("id", "output-count").text
    click_tab(page, "Model")
    wait_for(page, 'document.querySelector("table.weights")', "the LR weights")


def test_binning_shows_iv_per_feature_and_selection_its_kept_columns(board, page):
    server, answers = board
    open_url(page, answers["selection"]["data"]["board_url"])
    click_component(page, "hetero_feature_binning_0")
    click_tab(page, "Model")
    wait_for(page, 'document.querySelector(\'.chart[data-kind="iv"][data-drawn]\')', "the IV chart")
    features = page.execute_script('return document.querySelector(\'.chart[data-kind="iv"]\').data[0].x')
    assert len(features) == 10 and "x0" in features
    wait_for(page, 'document.querySelector(\'.chart[data-kind="woe"][data-drawn]\')', "the WOE chart")
    click_component(page, "hetero_feature_selection_0")
    click_tab(page, "Model")
    results = wait_for(page, '[...document.querySelectorAll("table.selection tbody tr td:last-child")].map(td => td.textContent)',
                       "the selection table")
    assert len(results) == 10 and set(results) <= {"kept", "dropped"} and "kept" in results


def test_secureboost_shows_its_trees_and_feature_importance(board, page):
    server, answers = board
    open_url(page, answers["sbt"]["data"]["board_url"])
    click_component(page, "secureboost_0")
    click_tab(page, "Model")
    trees = wait_for(page, '[...document.querySelectorAll("select.tree-index option")].map(o => o.textContent)',
                     "the tree selector")
    assert trees == ["tree 0", "tree 1", "tree 2"]
    nodes = wait_for(page, 'document.querySelectorAll(".tree li").length', "the first tree's nodes")
    assert 3 <= nodes <= 15  # a root split at least, depth 3 at most
    wait_for(page, 'document.querySelector(\'.chart[data-kind="importance"][data-drawn]\')', "the importance chart")
    chart = page.execute_script('return document.querySelector(\'.chart[data-kind="importance"]\').data[0]')
    guest_columns = {f"x{i}" for i in range(10)}
    host_features = {f"host:10000 feature {i}" for i in range(20)}
    assert chart["y"] and set(chart["y"]) <= guest_columns | host_features, chart["y"]
    # the guest knows a host's split only by party and feature index: that is what its tree viewer shows
    model = server.post("/v1/tracking/component/output/model", {"job_id": answers["sbt"]["jobId"], "role": "guest",
                                                               "party_id": 10000, "component_name": "secureboost_0"})
    sites = {n["sitename"] for tree in model["data"]["trees_"] for n in tree["tree_"] if not n["is_leaf"]}
    assert "host:10000" in sites, sites
    shown = "".join(page.execute_script(
        'const s = document.querySelector("select.tree-index"); const out = [];'
        'for (const o of s.options) { s.value = o.value; s.dispatchEvent(new Event("change"));'
        ' out.push(document.querySelector(".tree").textContent); } return out;'))
    assert "host:10000 feature" in shown and any(f"{c} <= bin" in shown for c in guest_columns), shown


def test_a_failed_job_shows_its_reason(board, page):
    server, answers = board
    open_url(page, answers["failed"]["data"]["board_url"])
    reason = wait_for(page, 'document.querySelector("#status-reason") && document.querySelector("#status-reason").textContent',
                      "the failure reason")
    assert "asked to fail" in reason
    assert page.execute_script('return document.querySelector(\'g.node[data-name="test_sleep_0"]\').dataset.status') == "failed"


def test_the_log_tab_of_a_running_job_grows(board, page):
    server, _ = board
    job_id = server.submit(*sleep_job(8, steps=8))
    server.wait_tasks_running(job_id, 1)
    open_url(page, job_page(server, job_id, "guest", 9999))
    click_component(page, "test_sleep_0")
    click_tab(page, "Logs")
    first = wait_for(page, 'document.querySelector("#log-text") && document.querySelector("#log-text").textContent.length',
                     "the first log chunk")
    grown = wait_for(page, f'document.querySelector("#log-text").textContent.length > {first} && '
                           'document.querySelector("#log-text").textContent', "the log to grow", timeout=20)
    assert "step" in grown and "of 8 done" in grown
    server.wait_job(job_id)


def test_a_script_value_in_a_table_renders_as_text(board, page):
    server, _ = board
    open_url(page, server.url + "/index.html#/data?namespace=board&name=hostile")
    cells = wait_for(page, '[...document.querySelectorAll("#data-table td")].map(td => td.textContent)', "the table")
    assert XSS in cells and "<b>bold</b>" in cells
    assert page.execute_script("return window.__xss === undefined && !document.querySelector('#data-table b')")


def test_stop_and_rerun_buttons(board, page):
    server, answers = board
    job_id = server.submit(*sleep_job(30))
    server.wait_tasks_running(job_id, 1)
    open_url(page, f"{server.url}/index.html#/history?job_id={job_id}")
    wait_for(page, f'document.querySelector(\'tr.job-row[data-job-id="{job_id}"] button.stop\')', "the stop button")
    page.execute_script("window.confirm = () => true;"
                        f'document.querySelector(\'tr.job-row[data-job-id="{job_id}"] button.stop\').click()')
    assert server.wait_job(job_id, timeout=30)["f_status"] in ("canceled", "failed")
    if requests.post(server.url + "/v1/job/rerun", json={}, timeout=10).status_code == 404:
        pytest.skip("/v1/job/rerun is not on this server yet: only the stop button was checked")
    failed = answers["failed"]["jobId"]
    open_url(page, f"{server.url}/index.html#/history?job_id={failed}")
    wait_for(page, f'document.querySelector(\'tr.job-row[data-job-id="{failed}"] button.rerun\')', "the rerun button")
    page.execute_script(f'document.querySelector(\'tr.job-row[data-job-id="{failed}"] button.rerun\').click()')
    message = wait_for(page, 'document.querySelector("#action-message").textContent', "the rerun answer")
    assert "rerun" in message


def test_compare_overlays_two_jobs_roc_curves(board, page):
    server, answers = board
    lr = answers["lr"]["jobId"]
    open_url(page, f"{server.url}/index.html#/compare?a={lr}&b={lr}")
    wait_for(page, 'document.querySelector(\'.chart[data-kind="compare"][data-drawn]\')', "the comparison chart")
    assert page.execute_script('return document.querySelector(\'.chart[data-kind="compare"]\').data.length') == 2


def test_upload_history_lists_the_uploads(board, page):
    server, _ = board
    open_url(page, server.url + "/index.html#/uploads")
    text = wait_for(page, 'document.querySelector("#upload-table") && document.querySelector("#upload-table").textContent',
                    "the upload table")
    assert "experiment.breast_hetero_guest" in text and "board.hostile" in text
