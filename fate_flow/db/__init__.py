"""Database: peewee models with FATE 1.4's table and column names, and their setup."""
from fate_flow.db.base import DB, now_ms
from fate_flow.db.connection import close_db, connect_db, init_db
from fate_flow.db.models import (ALL_MODELS, DataView, Job, MachineLearningModelMeta, Queue, StorageTableMeta,
                                 Task, TrackingMetric)

__all__ = [
    "ALL_MODELS", "DB", "DataView", "Job", "MachineLearningModelMeta", "Queue", "StorageTableMeta", "Task", "TrackingMetric", "close_db", "connect_db", "init_db", "now_ms",
]
