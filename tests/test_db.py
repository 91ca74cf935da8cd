"""Database setup: tables with FATE's names, SQLite in WAL mode, MySQL reconnecting after a lost connection."""
from __future__ import annotations

import pytest


@pytest.fixture
def db(settings):
    from fate_flow.db import DB, init_db

    init_db(settings.database)
    yield DB
    if not DB.is_closed():
        DB.close()


def test_tables_have_fate_names(db):
    with db.connection_context():
        tables = set(db.get_tables())
    assert {"t_job", "t_task", "t_queue", "t_data_view", "t_tracking_metric",
            "t_machine_learning_model_meta"} <= tables
    assert not any(t.startswith("t_tracking_metric_") for t in tables), "no tables sharded by day"


def database(backend: str, tmp_path):
    from fate_flow.db import DB, init_db
    from fate_flow.settings import DatabaseSettings
    from tests.conftest import database_for

    with database_for(backend, tmp_path) as url:
        init_db(DatabaseSettings(url=url))
        yield DB
        if not DB.is_closed():
            DB.close()


@pytest.fixture
def sqlite_db(tmp_path):
    yield from database("sqlite", tmp_path)


@pytest.fixture
def mysql_db(tmp_path):
    yield from database("mysql", tmp_path)


def test_sqlite_runs_in_wal_mode(sqlite_db):
    with sqlite_db.connection_context():
        assert sqlite_db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_mysql_reconnects_after_the_server_drops_the_connection(mysql_db):
    from tests.flow_server import mysql_admin

    db = mysql_db
    from fate_flow.db import Job

    db.connect(reuse_if_open=True)
    connection_id = db.execute_sql("SELECT CONNECTION_ID()").fetchone()[0]
    mysql_admin(f"KILL {int(connection_id)}")
    assert Job.select().count() == 0  # the first query after the drop reconnects
    assert db.execute_sql("SELECT CONNECTION_ID()").fetchone()[0] != connection_id


def test_a_reconnect_inside_connection_context_keeps_the_block(mysql_db):
    """peewee's reconnect emptied the block stack: leaving the block raised IndexError (it killed the scheduler)."""
    from fate_flow.db import Job
    from tests.flow_server import mysql_admin

    with mysql_db.connection_context():
        connection_id = mysql_db.execute_sql("SELECT CONNECTION_ID()").fetchone()[0]
        mysql_admin(f"KILL {int(connection_id)}")
        assert Job.select().count() == 0
    assert mysql_db.is_closed()


def test_a_column_added_since_the_table_was_made_is_added_at_start(db):
    """A work dir made before t_task had f_progress gets the column (old rows read None), once."""
    from playhouse.migrate import SchemaMigrator, migrate

    from fate_flow.db import Task
    from fate_flow.db.connection import add_missing_columns

    with db.connection_context():
        Task.create(f_job_id="j", f_component_name="c", f_task_id="j_c", f_role="guest", f_party_id="9999",
                    f_status="success")
        migrate(SchemaMigrator.from_database(db.obj).drop_column("t_task", "f_progress"))
        assert "f_progress" not in {c.name for c in db.get_columns("t_task")}
        assert add_missing_columns(db.obj) == ["t_task.f_progress"]
        assert add_missing_columns(db.obj) == []
        assert Task.get(Task.f_task_id == "j_c").f_progress is None
