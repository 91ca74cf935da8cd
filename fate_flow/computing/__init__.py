"""The computing layer components work with: partitioned tables of Arrow/numpy blocks, on an engine.

``Table`` (table.py) is the API: kernels over partitions, joins of co-partitioned tables,
aggregates, shuffles, save. An ``Engine`` (engine.py) runs the per-partition jobs: the local
process pool (local.py) or Spark (spark.py). ``Instances`` (ids, a feature matrix, labels,
the header) is the block most kernels see; nothing loops over rows in Python.

``Instances`` needs numpy and pyarrow, which load on first use of the name: the server
imports the component contract (``TableData``) without paying for them.
"""
from __future__ import annotations

import importlib
from typing import Any

from fate_flow.computing.table_data import TableData

_LAZY = {"Instances": "fate_flow.computing.instances", "parse_value_matrix": "fate_flow.computing.instances",
         "Table": "fate_flow.computing.table", "ComputingSession": "fate_flow.computing.table",
         "create_session": "fate_flow.computing.table", "ComputingConf": "fate_flow.computing.engine",
         "EngineError": "fate_flow.computing.engine"}

__all__ = ["ComputingConf", "ComputingSession", "EngineError", "Instances", "Table", "TableData", "create_session",
           "parse_value_matrix"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
