"""Instances: the stored form round-trips, rows are taken and aligned by id, bad rows are named."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from fate_flow.computing import Instances, parse_value_matrix
from fate_flow.storage import TableMeta, open_storage


def sample() -> Instances:
    return Instances(ids=pa.array(["a", "b", "c"]), features=np.array([[0.5, 1.0], [2.0, 3.25], [1e-7, -4.0]]),
                     labels=np.array([1.0, 0.0, 1.0]), header=["x0", "x1"], label_name="y")


def store(instances: Instances, tmp_path):
    storage = open_storage("local", tmp_path / "store")
    data = instances.to_table_data()
    writer = storage.writer("ns", "t")
    writer.write_batch(data.ids, data.values)
    storage.commit(writer, TableMeta(namespace="ns", name="t", schema=data.schema), "create")
    return storage.open("ns", "t")


def test_stored_form_round_trips(tmp_path):
    original = sample()
    data = original.to_table_data()
    assert data.values.to_pylist() == ["1,0.5,1", "0,2,3.25", "1,1e-7,-4"]
    assert data.schema == {"header": "x0,x1", "sid": "id", "label_name": "y"}
    with store(original, tmp_path) as table:
        back = Instances.from_table(table)
    assert back.ids.to_pylist() == ["a", "b", "c"] and back.header == ["x0", "x1"] and back.label_name == "y"
    np.testing.assert_array_equal(back.features, original.features)
    np.testing.assert_array_equal(back.labels, original.labels)


def test_take_align_and_select():
    x = sample()
    assert x.take(np.array([True, False, True])).ids.to_pylist() == ["a", "c"]
    aligned = x.align_to(pa.array(["c", "a"]))
    assert aligned.ids.to_pylist() == ["c", "a"] and aligned.features[0, 1] == -4.0
    with pytest.raises(KeyError, match="zz"):
        x.align_to(pa.array(["a", "zz"]))
    only = x.select_features([1])
    assert only.header == ["x1"] and only.features.shape == (3, 1)


def test_bad_rows_are_named():
    with pytest.raises(ValueError, match="row 2 has 1 fields, expected 2"):
        parse_value_matrix(pa.array(["1,2", "3"]), 2)
    with pytest.raises(ValueError, match="not a number"):
        parse_value_matrix(pa.array(["1,x"]), 2)
    with pytest.raises(ValueError, match="matrix"):
        Instances(ids=pa.array(["a"]), features=np.zeros((2, 1)))
