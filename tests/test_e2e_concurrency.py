"""Many clients at once: every job is accepted, none lost or stuck, FIFO under the running limit."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.flow_server import wait_until
from tests.test_e2e_faults import sleep_job

JOBS, SUBMITTERS, LIMIT = 50, 10, 3


def max_overlap(intervals: list[tuple[int, int]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda e: (e[0], e[1]))  # an end at the same ms frees the slot first
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def test_fifty_jobs_from_ten_threads(flow_server):
    server = flow_server(conf={"scheduler": {"max_concurrent_jobs": LIMIT}})
    stop_queries = threading.Event()
    query_errors = []

    def query_loop():
        while not stop_queries.is_set():
            answer = server.post("/v1/job/query", {"status": "running"})
            if answer["retcode"] not in (0, 101):
                query_errors.append(answer)
            server.post("/v1/job/task/query", {"status": "running"})

    readers = [threading.Thread(target=query_loop) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        with ThreadPoolExecutor(SUBMITTERS) as pool:
            answers = list(pool.map(lambda _: server.post("/v1/job/submit", dict(zip(("job_dsl", "job_runtime_conf"),
                                                                                      sleep_job(0.2)))), range(JOBS)))
    finally:
        stop_queries.set()
        for reader in readers:
            reader.join()
    assert not query_errors
    assert all(a["retcode"] == 0 for a in answers), [a for a in answers if a["retcode"]]
    job_ids = [a["jobId"] for a in answers]
    assert len(set(job_ids)) == JOBS
    jobs = wait_until(lambda: (lambda js: js if all(j["f_status"] == "success" for j in js) else None)(
        [server.job(j) for j in job_ids]), 120, interval=0.5, what="all jobs to succeed")
    assert max_overlap([(j["f_start_time"], j["f_end_time"]) for j in jobs]) <= LIMIT
    queue_order = _queue_order(server)
    start_order = [j["f_job_id"] for j in sorted(jobs, key=lambda j: (j["f_start_time"], queue_order[j["f_job_id"]]))]
    assert start_order == sorted(job_ids, key=queue_order.get), "jobs start in the order they were queued"


def _queue_order(server) -> dict[str, int]:
    """Queue row ids straight from the server's database (read only)."""
    import sqlite3

    with sqlite3.connect(str(server.work_dir / "fate_flow_sqlite.db")) as conn:
        return {job_id: row_id for row_id, job_id in conn.execute("select id, f_job_id from t_queue")}
