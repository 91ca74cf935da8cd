"""Shared fixtures: settings and an in-process app per database, real servers on free ports."""
from __future__ import annotations

import contextlib
import os

import pytest

from tests.flow_server import FlowServer, drop_mysql_database, unique_mysql_url

DB_BACKENDS = [b.strip() for b in os.environ.get("FLOW_TEST_DB", "sqlite,mysql").split(",") if b.strip()]


@contextlib.contextmanager
def database_for(backend: str, tmp_path):
    """A fresh database URL of ``backend``; MySQL ones are dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'flow.db'}"
        return
    url = unique_mysql_url()
    if url is None:
        if os.environ.get("CI"):
            pytest.fail("MySQL is required in CI but 127.0.0.1:3306 is not reachable")
        pytest.skip("no MySQL/MariaDB reachable on 127.0.0.1:3306")
    try:
        yield url
    finally:
        _close_db()
        drop_mysql_database(url)


@pytest.fixture(scope="session")
def worker_mysql_url():
    """One MariaDB database for this test process, its tables created once (a fresh database with its
    tables per test cost about a second of DDL); dropped at the end. None without MySQL."""
    url = unique_mysql_url()
    yield url
    if url is not None:
        drop_mysql_database(url)


def emptied_mysql_database(url: str) -> str:
    """``url`` with every row of every table deleted (the tables, if any, stay)."""
    import pymysql

    name = url.rsplit("/", 1)[1]
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{name}`")
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (name,))
            for (table,) in cur.fetchall():
                cur.execute(f"DELETE FROM `{name}`.`{table}`")
    finally:
        conn.close()
    return url


@pytest.fixture(params=DB_BACKENDS)
def database_url(request, tmp_path):
    """A database with no rows: SQLite in the test's directory, or this process's MariaDB database emptied."""
    if request.param != "mysql":
        with database_for(request.param, tmp_path) as url:
            yield url
        return
    url = request.getfixturevalue("worker_mysql_url")
    if url is None:
        if os.environ.get("CI"):
            pytest.fail("MySQL is required in CI but 127.0.0.1:3306 is not reachable")
        pytest.skip("no MySQL/MariaDB reachable on 127.0.0.1:3306")
    yield emptied_mysql_database(url)
    _close_db()


def _close_db() -> None:
    from fate_flow.db import DB

    if DB.obj is not None and not DB.is_closed():
        DB.close()
    if hasattr(DB.obj, "close_all"):
        DB.obj.close_all()


@pytest.fixture
def settings(tmp_path, database_url):
    from fate_flow.settings import load_settings

    return load_settings(None, environ={}, work_dir=str(tmp_path / "work"), database_url=database_url, port=1)


@pytest.fixture
def app(settings):
    from fate_flow.app import create_app
    from fate_flow.db import init_db

    init_db(settings.database)
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def flow_server(tmp_path):
    """Factory: ``flow_server(conf=..., database_url=...)`` starts a real server; all are stopped at the end."""
    servers = []

    def start(name: str = "server", **kwargs) -> FlowServer:
        server = FlowServer(tmp_path / name, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()

