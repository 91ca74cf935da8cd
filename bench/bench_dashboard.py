#!/usr/bin/env python3
"""Dashboard page load in headless Chromium: a job of 10 components, a job list over 1,000 jobs.

    python bench/bench_dashboard.py [--runs 5] [--jobs 1000] [--json FILE]

Starts a standalone server (SQLite), runs a chain of 10 TestSleep(0) components for real,
adds ``--jobs`` finished job rows to the database, then opens each page ``--runs`` times in
Debian's chromium (selenium + chromedriver) and measures, from the navigation's start, the
time until the page shows its content: every DAG node coloured and the job summary (job
page), or the first page of rows and the pager (job list). The first load of each page is
reported apart (an empty browser cache); the others are the median. The /v1/board/jobs
answer over the 1,000 jobs is timed with a plain HTTP client too.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from machine import machine  # noqa: E402
from tests.flow_server import FlowServer  # noqa: E402

COMPONENTS = 10
# resolves with ms since navigation start once ``ready`` holds (polled each animation frame)
WAIT_READY = """
const ready = new Function(arguments[0]), done = arguments[arguments.length - 1];
const tick = () => ready() ? done(performance.now()) : requestAnimationFrame(tick);
tick();
"""


def chain_job() -> tuple[dict, dict]:
    """A DSL of 10 TestSleep(0) components, each fed by the one before (a model input)."""
    names = [f"test_sleep_{i}" for i in range(COMPONENTS)]
    dsl = {"components": {name: {"module": "TestSleep", **({"input": {"model": [f"{names[i - 1]}.model"]}} if i else {}),
                                 "output": {"model": ["model"]}} for i, name in enumerate(names)}}
    conf = {"initiator": {"role": "guest", "party_id": 9999}, "role": {"guest": [9999], "host": [10000]},
            "job_parameters": {"work_mode": 0}, "algorithm_parameters": {n: {"seconds": 0} for n in names}}
    return dsl, conf


def add_jobs(database_url: str, count: int) -> None:
    """``count`` finished guest job rows, written straight into the server's database."""
    from fate_flow.db import DB, Job, init_db
    from fate_flow.settings import DatabaseSettings

    init_db(DatabaseSettings(url=database_url))
    roles = json.dumps({"guest": [9999], "host": [10000]})
    rows = [dict(f_job_id=f"2026010100000{i:08d}", f_role="guest", f_party_id="9999", f_is_initiator=1, f_roles=roles,
                 f_work_mode=0, f_dsl="{}", f_runtime_conf="{}", f_status="success", f_initiator_party_id="9999",
                 f_progress=100, f_create_time=1_700_000_000_000 + i, f_start_time=1_700_000_000_000 + i,
                 f_end_time=1_700_000_001_000 + i, f_elapsed=1000) for i in range(count)]
    with DB.atomic():
        for start in range(0, count, 200):
            Job.insert_many(rows[start:start + 200]).execute()


def browser():
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_script_timeout(60)
    return driver


def load_times(driver, url: str, ready: str, runs: int) -> list[float]:
    """ms from navigation start to ``ready`` for ``runs`` loads of ``url`` (the first one cold)."""
    times = []
    for _ in range(runs):
        driver.get("about:blank")
        driver.get(url)
        times.append(driver.execute_async_script(WAIT_READY, f"return {ready};"))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_dashboard_"))
    server = FlowServer(work / "server").start()
    driver = None
    try:
        answer = server.post("/v1/job/submit", dict(zip(("job_dsl", "job_runtime_conf"), chain_job())))
        assert answer["retcode"] == 0, answer
        assert server.wait_job(answer["jobId"], timeout=300)["f_status"] == "success"
        add_jobs(server.database_url, args.jobs)
        driver = browser()
        job_ready = (f'document.querySelectorAll("g.node[data-status=success]").length === {COMPONENTS} '
                     '&& document.querySelector("#job-summary h2")')
        job = load_times(driver, answer["data"]["board_url"], job_ready, args.runs)
        listing = load_times(driver, server.url + "/index.html#/history",
                             'document.querySelectorAll("tr.job-row").length === 20 && '
                             '/of \\d+ \\(/.test(document.querySelector("#page-info")?.textContent || "")', args.runs)
        api = []
        for _ in range(args.runs):
            start = time.perf_counter()
            requests.post(server.url + "/v1/board/jobs", json={"page": 10, "page_size": 20}, timeout=30).json()
            api.append((time.perf_counter() - start) * 1000)
    finally:
        if driver is not None:
            driver.quit()
        server.stop()
    figures = {"machine": machine(), "jobs_in_list": args.jobs + 1, "components": COMPONENTS,
               "job_page_first_ms": round(job[0], 1), "job_page_median_ms": round(statistics.median(job[1:] or job), 1),
               "job_list_first_ms": round(listing[0], 1),
               "job_list_median_ms": round(statistics.median(listing[1:] or listing), 1),
               "board_jobs_api_median_ms": round(statistics.median(api), 1)}
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
