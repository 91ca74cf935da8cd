"""Embedded table storage for upload/download tasks and components.

A table is (namespace, name) -> ordered (id, value) string rows plus a TableMeta.
Engines are picked by name (``open_storage("local", root)``); writers stage rows that
``commit`` publishes atomically. Nothing here imports flask, peewee or fate_flow.db.
Importing the package loads no numpy or pyarrow: the names below the first import
(parsing, download output, the memory engine) load them when first used.
"""
from __future__ import annotations

import importlib

from fate_flow.storage.base import (COMMIT_MODES, StorageError, StoredTable, TableExistsError, TableMeta,
                                    TableNotFoundError, TableStorage, TableWriter, check_name)
from fate_flow.storage.local import LocalStorage
from fate_flow.storage.registry import open_storage, register_engine

_LAZY = {"LineBatches": "csv_lines", "UploadFormatError": "csv_lines", "iter_line_batches": "csv_lines",
         "read_ahead": "csv_lines", "write_delimited": "delimited", "MemoryStorage": "memory"}

__all__ = [
    "COMMIT_MODES", "LineBatches", "LocalStorage", "MemoryStorage", "StorageError", "StoredTable",
    "TableExistsError", "TableMeta", "TableNotFoundError", "TableStorage", "TableWriter", "UploadFormatError",
    "check_name", "iter_line_batches", "open_storage", "read_ahead", "register_engine", "write_delimited",
]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
