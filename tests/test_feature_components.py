"""FeatureScale and OneHotEncoder against scikit-learn, fit and transform with a model."""
from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pytest
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from fate_flow.components import ComponentContext
from fate_flow.components.feature.one_hot import OneHotEncoder
from fate_flow.components.feature.param import OneHotEncoderParam, ScaleParam
from fate_flow.components.feature.scale import FeatureScale
from fate_flow.computing import Instances
from fate_flow.storage import TableMeta, open_storage
from tests.component_harness import read_back


def table_of(features: np.ndarray, header: list[str]):
    storage = open_storage("memory")
    data = Instances(ids=pa.array([str(i) for i in range(len(features))]), features=features,
                     labels=np.arange(len(features)) % 2 * 1.0, header=header, label_name="y").to_table_data()
    writer = storage.writer("ns", "t")
    writer.write_batch(data.ids, data.values)
    storage.commit(writer, TableMeta(namespace="ns", name="t", schema=data.schema), "create")
    return storage.open("ns", "t")


def run(component, table, model=None):
    ctx = ComponentContext(job_id="j", task_id="t", component_name="c", role="guest", party_id=9999,
                           roles={"guest": [9999]}, federation=None, tracker=None, logger=logging.getLogger("t"))
    component.params.check()
    try:
        output = component.run(ctx, {"data": {"data": table}, "model": {"up": model} if model else {}})
        return read_back(output.data), output.model
    finally:
        ctx.close_computing()


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    return rng.normal(5, 2, (50, 3)).round(4)


def test_min_max_and_standard_match_sklearn(data):
    table = table_of(data, ["a", "b", "c"])
    scaled, model = run(FeatureScale(ScaleParam()), table)
    np.testing.assert_allclose(scaled.features, MinMaxScaler().fit_transform(data), atol=1e-9)
    standard, _ = run(FeatureScale(ScaleParam().update({"method": "standard_scale"})), table)
    np.testing.assert_allclose(standard.features, StandardScaler().fit_transform(data), atol=1e-9)
    again, _ = run(FeatureScale(ScaleParam()), table, model=model)  # transform with the fitted model
    np.testing.assert_allclose(again.features, scaled.features)
    only_b, _ = run(FeatureScale(ScaleParam().update({"scale_col_indexes": [], "scale_names": ["b"]})), table)
    np.testing.assert_allclose(only_b.features[:, [0, 2]], data[:, [0, 2]])


def test_cap_mode_clips_at_percentiles(data):
    params = ScaleParam().update({"mode": "cap", "feat_upper": 0.9, "feat_lower": 0.1})
    scaled, model = run(FeatureScale(params), table_of(data, ["a", "b", "c"]))
    assert scaled.features.min() == 0.0 and scaled.features.max() == 1.0
    assert model["ScaleParam"]["col_scale_param"]["a"]["column_upper"] == pytest.approx(np.quantile(data[:, 0], 0.9))


def test_bounds_per_column(data):
    """FATE 1.5+ confs give feat_upper/feat_lower one value per scaled column (dsl_v2 feature_scale example)."""
    params = ScaleParam().update({"feat_upper": [6.0, 100.0, 5.0], "feat_lower": 4.0})
    _, model = run(FeatureScale(params), table_of(data, ["a", "b", "c"]))
    bounds = model["ScaleParam"]["col_scale_param"]
    assert [bounds[c]["column_upper"] for c in "abc"] == [min(6.0, data[:, 0].max()), data[:, 1].max(), 5.0]
    assert bounds["b"]["column_lower"] == max(4.0, data[:, 1].min())
    capped = ScaleParam().update({"mode": "cap", "feat_upper": [0.9, 0.8, 0.7]})
    _, model = run(FeatureScale(capped), table_of(data, ["a", "b", "c"]))
    assert [model["ScaleParam"]["col_scale_param"][c]["column_upper"] for c in "abc"] == pytest.approx(
        [np.quantile(data[:, i], q) for i, q in enumerate((0.9, 0.8, 0.7))])
    with pytest.raises(ValueError, match="feat_upper has 2 values for 3 scaled columns"):
        run(FeatureScale(ScaleParam().update({"feat_upper": [1.0, 2.0]})), table_of(data, ["a", "b", "c"]))


def test_one_hot_in_place_and_unseen_values():
    features = np.array([[1.0, 0.5, 2.0], [2.0, 0.25, 2.0], [1.0, 0.5, 3.0]])
    params = OneHotEncoderParam().update({"transform_col_indexes": [0, 2]})
    encoded, model = run(OneHotEncoder(params), table_of(features, ["a", "b", "c"]))
    assert encoded.header == ["a_1", "a_2", "b", "c_2", "c_3"]
    np.testing.assert_array_equal(encoded.features, [[1, 0, 0.5, 1, 0], [0, 1, 0.25, 1, 0], [1, 0, 0.5, 0, 1]])
    unseen, _ = run(OneHotEncoder(params), table_of(np.array([[3.0, 1.0, 2.0]]), ["a", "b", "c"]), model=model)
    np.testing.assert_array_equal(unseen.features, [[0, 0, 1.0, 1, 0]])


@pytest.mark.parametrize("param_class,conf,word", [
    (ScaleParam, {"method": "log"}, "method"), (ScaleParam, {"mode": "cap", "feat_upper": 3}, "feat_upper"),
    (ScaleParam, {"scale_col_indexes": "all"}, "scale_col_indexes"),
    (OneHotEncoderParam, {"transform_col_indexes": [True]}, "transform_col_indexes")])
def test_bad_params_are_named(param_class, conf, word):
    with pytest.raises(ValueError, match=word):
        param_class().update(conf).check()


def test_unknown_column_is_named(data):
    with pytest.raises(ValueError, match="zz"):
        run(FeatureScale(ScaleParam().update({"scale_col_indexes": [], "scale_names": ["zz"]})),
            table_of(data, ["a", "b", "c"]))
