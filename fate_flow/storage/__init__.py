"""Embedded table storage for upload/download tasks and components.

A table is (namespace, name) -> ordered (id, value) string rows plus a TableMeta.
Engines are picked by name (``open_storage("local", root)``); writers stage rows that
``commit`` publishes atomically. Nothing here imports flask, peewee or fate_flow.db.
"""
from fate_flow.storage.base import (COMMIT_MODES, StorageError, StoredTable, TableExistsError, TableMeta,
                                    TableNotFoundError, TableStorage, TableWriter, check_name)
from fate_flow.storage.csv_lines import LineBatches, UploadFormatError, iter_line_batches, read_ahead
from fate_flow.storage.delimited import write_delimited
from fate_flow.storage.local import LocalStorage
from fate_flow.storage.memory import MemoryStorage
from fate_flow.storage.registry import open_storage, register_engine

__all__ = [
    "COMMIT_MODES", "LineBatches", "LocalStorage", "MemoryStorage", "StorageError", "StoredTable",
    "TableExistsError", "TableMeta", "TableNotFoundError", "TableStorage", "TableWriter", "UploadFormatError",
    "check_name", "iter_line_batches", "open_storage", "read_ahead", "register_engine", "write_delimited",
]
