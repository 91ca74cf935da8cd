"""The small computing interface components work with: tables as numpy/Arrow batches.

A component turns its input tables into ``Instances`` (ids, a feature matrix, labels
and the header), computes on whole arrays, and hands back ``Instances.to_table_data()``.
Nothing here loops over rows in Python; a Spark backend can provide the same calls.
"""
from fate_flow.computing.instances import Instances, parse_value_matrix

__all__ = ["Instances", "parse_value_matrix"]
