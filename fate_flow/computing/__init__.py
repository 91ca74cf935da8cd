"""The small computing interface components work with: tables as numpy/Arrow batches.

A component turns its input tables into ``Instances`` (ids, a feature matrix, labels
and the header), computes on whole arrays, and hands back ``Instances.to_table_data()``.
Nothing here loops over rows in Python; a Spark backend can provide the same calls.

``Instances`` needs numpy and pyarrow, which load on first use of the name: the server
imports the component contract (``TableData``) without paying for them.
"""
from __future__ import annotations

import importlib
from typing import Any

from fate_flow.computing.table_data import TableData

_LAZY = {"Instances": "fate_flow.computing.instances", "parse_value_matrix": "fate_flow.computing.instances"}

__all__ = ["Instances", "TableData", "parse_value_matrix"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
