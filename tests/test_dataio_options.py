"""DataIO: FATE 1.4's DataIOParam option by option (components_more.md 2.1), one small table each.

Each case gives a conf, the stored rows and what the parsed output must hold (features, labels,
header, label name, or the model meta where the option is about what is saved).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from fate_flow.errors import ArgumentError
from tests.flow_server import ROOT
from tests.test_dataio import params, run, upload, write

NAN = float("nan")

# (case, conf, rows, header line or None for headless rows, expected)
CASES = [
    ("input_format dense", {}, "1,1,2,3\n2,0,4,5\n", "id,y,a,b",
     {"features": [[2, 3], [4, 5]], "labels": [1, 0], "header": ["a", "b"]}),
    ("input_format sparse", {"input_format": "sparse", "delimitor": " "}, "1,1 0:2 2:3\n2,0 1:4\n", None,
     {"features": [[2, 0, 3], [0, 4, 0]], "labels": [1, 0], "header": ["0", "1", "2"], "sid": "sid"}),
    ("sparse first token is the label even without with_label",
     {"input_format": "sparse", "delimitor": " ", "with_label": False}, "1,1 0:2\n2,0 1:4\n", None,
     {"features": [[2, 0], [0, 4]], "labels": None}),
    ("input_format tag", {"input_format": "tag", "delimitor": " "}, "a,1 red big\nb,0 blue\n", None,
     {"features": [[1, 0, 1], [0, 1, 0]], "labels": [1, 0], "header": ["big", "blue", "red"]}),
    ("tag_with_value and tag_value_delimitor",
     {"input_format": "tag", "delimitor": " ", "tag_with_value": True, "tag_value_delimitor": "="},
     "a,1 x=0.5 y=2\nb,0 y=-1\n", None, {"features": [[0.5, 2], [0, -1]], "header": ["x", "y"]}),
    ("tag renames the label 'label'", {"input_format": "tag", "delimitor": " ", "label_name": "target"},
     "a,1 red\n", None, {"label_name": "label"}),
    ("tag missing fill needs tag_with_value",
     {"input_format": "tag", "delimitor": " ", "tag_with_value": True, "missing_fill": True,
      "missing_impute": ["?"], "missing_fill_method": "max"}, "a,1 x:1 y:?\nb,0 y:5\nc,1 x:3 y:2\n", None,
     {"features": [[1, 5], [0, 5], [3, 2]], "imputer": True}),
    ("delimitor", {"delimitor": ";"}, "1,1;2;3\n", "id,y;a;b", {"features": [[2, 3]]}),
    ("data_type int refuses fractions", {"data_type": "int"}, "1,1,2.5\n", "id,y,a",
     {"error": "is 2.5, not an integer"}),
    ("exclusive_data_type", {"data_type": "int", "exclusive_data_type": {"a": "float64"}}, "1,1,2.5,3\n",
     "id,y,a,b", {"features": [[2.5, 3]]}),
    ("missing values are NaN without missing_fill", {}, "1,1,,NA\n2,0,null,4\n", "id,y,a,b",
     {"features": [[NAN, NAN], [NAN, 4]]}),
    ("missing_fill and missing_fill_method", {"missing_fill": True, "missing_fill_method": "mean"},
     "1,1,1,\n2,0,,4\n3,1,5,8\n", "id,y,a,b", {"features": [[1, 6], [3, 4], [5, 8]], "imputer": True}),
    ("default_value per column", {"missing_fill": True, "default_value": [7, 9]}, "1,1,,\n2,0,1,2\n", "id,y,a,b",
     {"features": [[7, 9], [1, 2]]}),
    ("missing_impute", {"missing_fill": True, "missing_impute": [-1], "missing_fill_method": "min"},
     "1,1,-1,3\n2,0,2,-1\n3,1,4,5\n", "id,y,a,b", {"features": [[2, 3], [2, 3], [4, 5]]}),
    ("outlier_replace, outlier_impute and outlier_replace_method",
     {"outlier_replace": True, "outlier_impute": [999], "outlier_replace_method": "min"},
     "1,1,999,3\n2,0,2,999\n3,1,4,5\n", "id,y,a,b", {"features": [[2, 3], [2, 3], [4, 5]], "outlier": True}),
    ("outlier_replace_value", {"outlier_replace": True, "outlier_impute": [999], "outlier_replace_value": -5},
     "1,1,999,3\n", "id,y,a,b", {"features": [[-5, 3]]}),
    ("sparse saves missing fill and outlier replacement as disabled",
     {"input_format": "sparse", "delimitor": " ", "missing_fill": True, "outlier_replace": True}, "1,1 0:2\n", None,
     {"imputer": False, "outlier": False}),
    ("with_label false", {"with_label": False}, "1,2,3\n", "id,a,b", {"features": [[2, 3]], "labels": None}),
    ("label_name", {"label_name": "target"}, "1,2,1,3\n", "id,a,target,b",
     {"features": [[2, 3]], "labels": [1], "label_name": "target"}),
    ("label_type float", {"label_type": "float"}, "1,0.5,3\n", "id,y,a", {"labels": [0.5]}),
    ("output_format sparse", {"output_format": "sparse"}, "1,1,0,3\n", "id,y,a,b",
     {"features": [[0, 3]], "meta_output_format": "sparse"}),
]


@pytest.mark.parametrize("case, conf, rows, head, expected", CASES, ids=[c[0] for c in CASES])
def test_dataio_option(tmp_path, case, conf, rows, head, expected):
    text = f"{head}\n{rows}" if head else rows
    table = upload(write(tmp_path, text), head=head is not None)
    if "error" in expected:
        with pytest.raises(ValueError, match=expected["error"]):
            run(table, **conf)
        return
    out, model = run(table, **conf)
    if "features" in expected:
        np.testing.assert_array_equal(out.features, np.array(expected["features"], dtype=float))
    if "labels" in expected:
        assert (out.labels is None) if expected["labels"] is None else out.labels.tolist() == expected["labels"]
    if "header" in expected:
        assert out.header == expected["header"]
    if "sid" in expected:
        assert out.sid_name == expected["sid"]
    if "label_name" in expected:
        assert out.label_name == expected["label_name"]
    meta = model["DataIOMeta"]
    if "imputer" in expected:
        assert meta["imputer_meta"]["is_imputer"] is expected["imputer"]
    if "outlier" in expected:
        assert meta["outlier_meta"]["is_outlier"] is expected["outlier"]
    if "meta_output_format" in expected:
        assert meta["output_format"] == expected["meta_output_format"]


def test_tag_missing_fill_is_reused_by_a_transform(tmp_path):
    conf = {"input_format": "tag", "delimitor": " ", "tag_with_value": True, "missing_fill": True,
            "missing_fill_method": "mean"}
    _, model = run(upload(write(tmp_path, "a,1 x:1 y:NA\nb,0 y:4\nc,1 x:2 y:2\n"), head=False), **conf)
    assert model["DataIOParam"]["imputer_param"]["missing_replace_value"] == {"x": "1.0", "y": "3.0"}
    again, _ = run(upload(write(tmp_path, "d,0 x:NA y:NA\n", "t.csv"), head=False), model=model)
    np.testing.assert_array_equal(again.features, [[1, 3]])


def test_every_fate_1_4_parameter_is_known_and_with_match_id_is_not():
    """FATE 1.4's DataIOParam field list (components_more.md 2.1); with_match_id is FATE 1.7's and is refused
    at submit like any other unknown name."""
    fate_1_4 = ["input_format", "delimitor", "data_type", "exclusive_data_type", "tag_with_value",
                "tag_value_delimitor", "missing_fill", "default_value", "missing_fill_method", "missing_impute",
                "outlier_replace", "outlier_replace_method", "outlier_impute", "outlier_replace_value",
                "with_label", "label_name", "label_type", "output_format"]
    param = params()
    assert all(param.is_parameter(name) for name in fate_1_4)
    assert not param.is_parameter("with_match_id")
    from fate_flow.driver.dsl_parser import DSLParserV1

    dsl = json.loads((ROOT / "examples" / "federatedml-1.x-examples" / "hetero_feature_binning"
                      / "test_hetero_binning_job_dsl.json").read_text())
    conf = json.loads((ROOT / "examples" / "federatedml-1.x-examples" / "hetero_feature_binning"
                       / "test_hetero_binning_job_conf.json").read_text())
    conf["role_parameters"]["guest"]["dataio_0"]["with_match_id"] = [True]
    with pytest.raises(ArgumentError, match="with_match_id is not a parameter of DataIO"):
        DSLParserV1(dsl, conf).check_parameter_names()
