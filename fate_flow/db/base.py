"""The database handle every model binds to, and the time unit of every time column.

``DB`` is a proxy bound by ``init_db`` (``fate_flow.db.connection``) at start-up; importing this
module opens nothing.
"""
from __future__ import annotations

import time

from peewee import DatabaseProxy

DB = DatabaseProxy()


def now_ms() -> int:
    """Current time in integer milliseconds, the unit of every time column."""
    return int(time.time() * 1000)
