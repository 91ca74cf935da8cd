"""High availability on MySQL: two servers of one party share a MariaDB database.

One holds the scheduler lease; killing it with -9 mid-job hands the lease to the other within
the configured time, the dead server's tasks fail with a clear reason, every job ends, no task
process is left, and the survivor runs queued and new jobs. Dropped database connections
(``KILL`` from a root connection) cost nothing: the server reconnects and the job succeeds.
"""
from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from tests.flow_server import FlowServer, drop_mysql_database, unique_mysql_url, wait_until
from tests.test_e2e_faults import assert_processes_gone, sleep_job

pytestmark = pytest.mark.xdist_group("ha_scheduler")

LEASE = {"lease_duration": 3, "lease_renew_interval": 0.5, "detect_interval": 0.5}
FINAL = ("success", "failed", "canceled", "timeout")


def _query(url: str, sql: str, *args) -> list[tuple]:
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database=url.rsplit("/", 1)[1],
                           autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())
    finally:
        conn.close()


def _leader(url: str) -> str | None:
    rows = _query(url, "SELECT f_address FROM t_server_lease WHERE f_name = 'scheduler:9999,10000' AND "
                       "f_expire_time > UNIX_TIMESTAMP(NOW(3)) * 1000")
    return rows[0][0] if rows else None


@pytest.fixture
def mysql_url():
    url = unique_mysql_url()
    if url is None:
        if os.environ.get("CI"):
            pytest.fail("MySQL is required in CI but 127.0.0.1:3306 is not reachable")
        pytest.skip("no MySQL/MariaDB reachable on 127.0.0.1:3306")
    yield url
    drop_mysql_database(url)


@pytest.fixture
def pair(mysql_url, tmp_path):
    """Two servers on one database; the first one started leads."""
    conf = {"scheduler": dict(LEASE, max_concurrent_jobs=1)}
    first = FlowServer(tmp_path / "a", database_url=mysql_url, conf=conf)
    second = FlowServer(tmp_path / "b", database_url=mysql_url, conf=conf)
    try:  # a start that times out leaves its process: stopped here too
        first.start(timeout=90)
        wait_until(lambda: _leader(mysql_url) == first.address, 10, what="the first server to lead")
        second.start(timeout=90)
        yield first, second
    finally:
        for server in (first, second):
            server.stop()


def test_follower_takes_over_when_the_leader_is_killed(pair, mysql_url):
    leader, follower = pair
    assert _leader(mysql_url) == leader.address, "the follower must not take a held lease"
    running = follower.submit(*sleep_job(60))  # submitted through the follower, scheduled by the leader
    queued = follower.submit(*sleep_job(0.2))  # waits behind it (one job at a time)
    tasks = follower.wait_tasks_running(running, 2)
    assert {t["f_run_ip"] for t in tasks} == {leader.address}
    pids = [t["f_run_pid"] for t in tasks]
    assert follower.job(queued)["f_status"] == "waiting"

    leader.proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    wait_until(lambda: _leader(mysql_url) == follower.address, 15, interval=0.1, what="the follower to lead")
    took = time.monotonic() - killed
    # the lease lapses at most lease_duration after its last renewal, seen within a renewal interval
    assert took <= LEASE["lease_duration"] + 2 * LEASE["lease_renew_interval"] + 1.5, took

    job = follower.wait_job(running, timeout=30)
    assert job["f_status"] == "failed", job
    assert f"the server {leader.address} that ran this task stopped renewing its lease" in job["f_status_reason"]
    for task in follower.tasks(running):
        assert task["f_status"] == "failed" and "stopped renewing its lease" in task["f_status_reason"], task
    assert_processes_gone(pids, timeout=10)  # they ended with their server: nothing orphaned
    assert not [p for p in psutil.process_iter(["cmdline"])
                if running in " ".join(p.info["cmdline"] or [])], "a task process of the dead server is left"

    assert follower.wait_job(queued, timeout=60)["f_status"] == "success"
    fresh = follower.submit(*sleep_job(0.2))
    done = follower.wait_job(fresh, timeout=60)
    assert done["f_status"] == "success", done
    assert {t["f_run_ip"] for t in follower.tasks(fresh)} == {follower.address}


def test_a_warm_stop_hands_the_lease_over_at_once(pair, mysql_url):
    """Also: a job stopped through the follower has its tasks on the leader's machine killed."""
    leader, follower = pair
    stopped = follower.submit(*sleep_job(60))
    pids = [t["f_run_pid"] for t in follower.wait_tasks_running(stopped, 2)]
    assert follower.client("-f", "stop_job", "-j", stopped)["retcode"] == 0
    assert follower.wait_job(stopped, timeout=30)["f_status"] == "canceled"
    assert_processes_gone(pids, timeout=20)  # the leader kills its own tasks of a job ended elsewhere

    leader.stop(signal.SIGTERM)
    wait_until(lambda: _leader(mysql_url) == follower.address, LEASE["lease_duration"] - 1, interval=0.1,
               what="the follower to lead before the lease would have expired")
    job_id = follower.submit(*sleep_job(0.2))
    assert follower.wait_job(job_id, timeout=60)["f_status"] == "success"


def _kill_connections(url: str) -> int:
    """KILL every connection to the test database from a root connection; how many were killed."""
    name = url.rsplit("/", 1)[1]
    ids = [row[0] for row in _query(url, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s "
                                         "AND ID <> CONNECTION_ID()", name)]
    for conn_id in ids:
        try:
            _query(url, f"KILL {int(conn_id)}")
        except Exception:  # it ended by itself in between
            pass
    return len(ids)


def test_dropped_database_connections_lose_nothing(mysql_url, tmp_path):
    server = FlowServer(tmp_path / "one", database_url=mysql_url, conf={"scheduler": LEASE})
    try:
        server.start(timeout=90)
        job_id = server.submit(*sleep_job(3, steps=6))
        server.wait_tasks_running(job_id, 2)
        killed = 0
        for _ in range(4):
            killed += _kill_connections(mysql_url)
            time.sleep(0.5)
        assert killed, "the server holds pooled connections to kill"
        job = server.wait_job(job_id, timeout=60)
        assert job["f_status"] == "success", job
        statuses = _query(mysql_url, "SELECT f_role, f_status FROM t_task WHERE f_job_id = %s", job_id)
        assert sorted(statuses) == [("guest", "success"), ("host", "success")]
        assert _query(mysql_url, "SELECT COUNT(*) FROM t_job WHERE f_job_id = %s", job_id)[0][0] == 2
        assert _leader(mysql_url) == server.address, "the lease is still held after the reconnects"
        again = server.submit(*sleep_job(0.2))
        assert server.wait_job(again, timeout=60)["f_status"] == "success"
    finally:
        server.stop()


def test_a_lone_server_restarted_after_kill_takes_its_own_lease_back_at_once(mysql_url, tmp_path):
    """Its dead predecessor (same address, same machine) is not waited out; its tasks fail, the queue moves on."""
    server = FlowServer(tmp_path / "lone", database_url=mysql_url,
                        conf={"scheduler": dict(LEASE, lease_duration=60, max_concurrent_jobs=1)})
    try:
        server.start(timeout=90)
        first = server.submit(*sleep_job(60))
        pids = [t["f_run_pid"] for t in server.wait_tasks_running(first, 2)]
        second = server.submit(*sleep_job(0.2))
        server.stop(signal.SIGKILL)
        assert_processes_gone(pids)
        server.start(timeout=90)
        job = server.wait_job(first, timeout=20)  # far less than the 60 s lease
        assert job["f_status"] == "failed" and "the server stopped while the task was running" in \
            job["f_status_reason"], job
        assert server.wait_job(second, timeout=30)["f_status"] == "success"
        assert _leader(mysql_url) == server.address
    finally:
        server.stop()


class PrivateMariaDB:
    """A MariaDB server of this test alone (own data dir, free port), so it can be restarted freely."""

    def __init__(self, root) -> None:
        import socket
        import subprocess

        self.root = root
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={root / 'data'}", "--user=root",
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, capture_output=True, timeout=120)
        self.proc = None

    def start(self) -> None:
        import subprocess

        log = open(self.root / "mariadbd.log", "ab")
        self.proc = subprocess.Popen(
            ["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={self.root / 'data'}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.root / 'sock'}", f"--pid-file={self.root / 'pid'}",
             "--user=root", "--innodb-buffer-pool-size=32M"], stdout=log, stderr=log)
        log.close()
        wait_until(self.answers, 60, interval=0.2, what="the private MariaDB to answer")

    def answers(self) -> bool:
        import pymysql

        try:
            pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="", connect_timeout=1).close()
            return True
        except pymysql.MySQLError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)


@pytest.mark.skipif(os.environ.get("FLOW_TEST_MARIADB_RESTART") != "1" and not os.environ.get("CI"),
                    reason="starts and restarts a private MariaDB (about 40 s): runs in CI, or set "
                           "FLOW_TEST_MARIADB_RESTART=1")
def test_mariadb_restart_mid_job(tmp_path):
    import shutil

    if shutil.which("mariadb-install-db") is None:
        pytest.skip("mariadb-install-db is not installed")
    database = PrivateMariaDB(tmp_path / "mariadb")
    url = f"mysql://root@127.0.0.1:{database.port}/ff_restart"
    server = FlowServer(tmp_path / "server", database_url=url,
                        conf={"scheduler": dict(LEASE, lease_duration=20, lease_renew_interval=1)})
    try:
        database.start()
        server.start(timeout=90)
        job_id = server.submit(*sleep_job(8, steps=8))
        server.wait_tasks_running(job_id, 2)
        database.stop()
        time.sleep(2)  # the server's passes, the lease renewals and the task's reports fail meanwhile
        database.start()
        job = server.wait_job(job_id, timeout=90)
        assert job["f_status"] in FINAL, job
        assert len(server.tasks(job_id)) == 2 and all(t["f_status"] in FINAL for t in server.tasks(job_id))
        again = server.submit(*sleep_job(0.2))
        assert server.wait_job(again, timeout=60)["f_status"] == "success"
        print("job across the restart:", job["f_status"], job["f_status_reason"])
    finally:
        server.stop()
        database.stop()
