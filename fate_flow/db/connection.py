"""Database setup: SQLite (WAL) by default, pooled MySQL/MariaDB by URL; per-request connections."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from peewee import DatabaseError
from playhouse.pool import PooledMySQLDatabase, PooledSqliteDatabase
from playhouse.shortcuts import ReconnectMixin

from fate_flow.db.base import DB
from fate_flow.db.models import ALL_MODELS
from fate_flow.settings import DatabaseSettings

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    # several threads and processes write: wait for the lock instead of failing
    "busy_timeout": 15000,
}


class ReconnectingPooledMySQL(ReconnectMixin, PooledMySQLDatabase):
    """Pooled MySQL that reconnects once when the server dropped the connection (2006, 2013, ...)."""

    def _reconnect(self, func, *args, **kwargs):
        # peewee's reconnect closes and reopens the thread's connection, which empties the
        # stack of open connection_context() blocks: the block's exit then failed with
        # IndexError (it killed the scheduler thread after a MariaDB restart); keep the stack
        stack = self._state.ctx
        try:
            return super()._reconnect(func, *args, **kwargs)
        finally:
            if stack and self._state.ctx is not stack and not self._state.ctx:
                self._state.ctx = stack


def make_database(settings: DatabaseSettings):
    """Return an unconnected peewee database for ``settings.url``."""
    url = urlparse(settings.url)
    if url.scheme == "sqlite":
        path = settings.url[len("sqlite:///"):]
        # pooled: HTTP threads come and go, and opening a connection (with its pragmas)
        # costs ten times a small write
        # timeout: seconds a thread waits for a free pooled connection (the SQLite lock
        # wait is the busy_timeout pragma)
        return PooledSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=30, check_same_thread=False,
                                    max_connections=settings.max_connections,
                                    stale_timeout=settings.stale_timeout)
    if url.scheme in ("mysql", "mysql+pymysql", "mariadb"):
        name = url.path.lstrip("/")
        _create_mysql_database(url, name)
        return ReconnectingPooledMySQL(
            name, host=url.hostname or "127.0.0.1", port=url.port or 3306,
            user=unquote(url.username or "root"), password=unquote(url.password or ""),
            charset="utf8mb4", max_connections=settings.max_connections, timeout=30,
            stale_timeout=settings.stale_timeout)
    raise ValueError(f"database.url: unsupported scheme {url.scheme!r} (use sqlite:/// or mysql://)")


def _create_mysql_database(url, name: str) -> None:
    import pymysql

    conn = pymysql.connect(host=url.hostname or "127.0.0.1", port=url.port or 3306,
                           user=unquote(url.username or "root"), password=unquote(url.password or ""))
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()


def init_db(settings: DatabaseSettings, create_tables: bool = True):
    """Bind ``DB`` to the configured database and create missing tables."""
    if settings.url.startswith("sqlite:///"):
        Path(settings.url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    database = make_database(settings)
    DB.initialize(database)
    if create_tables:
        with DB.connection_context():
            DB.create_tables(ALL_MODELS, safe=True)
            add_missing_columns(database)
    return database


def add_missing_columns(database) -> list[str]:
    """Add the nullable columns a model gained since its table was created; return them as ``table.column``.

    Only nullable columns are added (a plain ALTER TABLE ADD COLUMN, old rows read NULL). Several
    processes may start at once (gunicorn workers and the scheduler): a column another one added
    in between is not an error.
    """
    from playhouse.migrate import SchemaMigrator, migrate

    migrator = SchemaMigrator.from_database(database)
    added = []
    for model in ALL_MODELS:
        table = model._meta.table_name
        present = {column.name for column in database.get_columns(table)}
        for field in model._meta.sorted_fields:
            if field.column_name in present or not field.null:
                continue
            try:
                migrate(migrator.add_column(table, field.column_name, field))
            except DatabaseError:
                if field.column_name not in {column.name for column in database.get_columns(table)}:
                    raise
            added.append(f"{table}.{field.column_name}")
    return added


def connect_db() -> None:
    """Open this thread's connection (Flask before_request)."""
    DB.connect(reuse_if_open=True)


def close_db(_exc=None) -> None:
    """Close this thread's connection, returning it to the pool (Flask teardown)."""
    if not DB.is_closed():
        DB.close()
