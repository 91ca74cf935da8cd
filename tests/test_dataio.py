"""DataIO: dense/sparse/tag parsing, missing and outlier replacement, transform with a fitted model,
parameter and data errors, and one job through a real server."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from fate_flow.components import ComponentContext, get_spec
from fate_flow.components.dataio import DataIO, DataIOParam
from fate_flow.storage import TableMeta, iter_line_batches, open_storage
from tests.component_harness import read_back, upload_breast_hetero
from tests.flow_server import ROOT

DATA = ROOT / "examples" / "data"
GUEST, HOST = DATA / "breast_hetero_guest.csv", DATA / "breast_hetero_host.csv"


def upload(path: Path, head: bool = True):
    """The table the Upload component would make of ``path`` (memory engine)."""
    storage = open_storage("memory")
    writer = storage.writer("ns", "in")
    with iter_line_batches(path, head=head) as lines:
        for ids, values in lines:
            writer.write_batch(ids, values)
        schema = lines.header
    storage.commit(writer, TableMeta(namespace="ns", name="in", partitions=4, schema=schema), "create")
    return storage.open("ns", "in")


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def params(**conf) -> DataIOParam:
    """Parameters as the DSL parser assembles them: class defaults, FATE's default conf, then ``conf``."""
    param = get_spec("DataIO").default_params().update(conf)
    param.check()
    return param


def run(table, model=None, **conf):
    """Run DataIO on ``table``; return (output Instances read back as downstream components do, model)."""
    ctx = ComponentContext(job_id="j", task_id="t", component_name="dataio_0", role="guest", party_id=9999,
                           roles={"guest": [9999]}, federation=None, tracker=None, logger=logging.getLogger("t"))
    inputs = {"data": {"data": table}, "model": {"dataio_0": model} if model else {}}
    try:
        output = DataIO(params(**conf)).run(ctx, inputs)
        if output.data is table:
            return table, output.model
        return read_back(output.data), output.model
    finally:
        ctx.close_computing()


# ---- dense -------------------------------------------------------------------------------------


def test_breast_guest_and_host_parse_as_numpy_reads_them():
    guest, model = run(upload(GUEST))
    expected = np.genfromtxt(GUEST, delimiter=",", skip_header=1)
    assert len(guest) == 569 and guest.header == [f"x{i}" for i in range(10)]
    assert guest.ids.to_pylist() == [str(int(i)) for i in expected[:, 0]]
    np.testing.assert_array_equal(guest.labels, expected[:, 1])
    np.testing.assert_array_equal(guest.features, expected[:, 2:])
    assert guest.label_name == "y" and guest.sid_name == "id"
    assert model["DataIOParam"]["header"] == guest.header and model["DataIOParam"]["sid_name"] == "id"
    assert model["DataIOParam"]["label_name"] == "y"
    assert model["DataIOMeta"]["with_label"] is True and model["DataIOMeta"]["input_format"] == "dense"

    host, host_model = run(upload(HOST), with_label=False)
    np.testing.assert_array_equal(host.features, np.genfromtxt(HOST, delimiter=",", skip_header=1)[:, 1:])
    assert host.labels is None and host.label_name is None and host.n_features == 20
    assert host_model["DataIOParam"]["label_name"] == ""


def test_label_types_and_label_in_the_middle(tmp_path):
    table = upload(write(tmp_path, "id,a,y,b\n1,0.5,2,3\n2,1.5,0,4\n"))
    out, _ = run(table)
    assert out.header == ["a", "b"] and out.labels.tolist() == [2, 0]
    np.testing.assert_array_equal(out.features, [[0.5, 3], [1.5, 4]])
    floats, _ = run(upload(write(tmp_path, "id,y,a\n1,2.5,1\n")), label_type="float")
    assert floats.labels.tolist() == [2.5]
    with pytest.raises(ValueError, match=r"label 'y' of row 1 \(id '1'\) is 2.5, not an integer"):
        run(upload(write(tmp_path, "id,y,a\n1,2.5,1\n")))


def test_missing_values_become_nan_without_fill(tmp_path):
    table = upload(write(tmp_path, "id,y,a,b\n1,1,,NA\n2,0,3,null\n3,1,NULL,nan\n"))
    out, _ = run(table)
    assert np.isnan(out.features).tolist() == [[True, True], [False, True], [True, True]]


@pytest.mark.parametrize("method, expected", [
    ("min", [[1.0, 4.0], [3.0, 4.0], [1.0, 6.0], [5.0, 4.0]]),
    ("max", [[1.0, 6.0], [3.0, 6.0], [5.0, 6.0], [5.0, 4.0]]),
    ("mean", [[1.0, 5.0], [3.0, 5.0], [3.0, 6.0], [5.0, 4.0]]),
    ("designated", [[1.0, 9.0], [3.0, 9.0], [9.0, 6.0], [5.0, 4.0]]),
    (None, [[1.0, 9.0], [3.0, 9.0], [9.0, 6.0], [5.0, 4.0]]),
])
def test_missing_fill_strategies(tmp_path, method, expected):
    table = upload(write(tmp_path, "id,y,a,b\n1,1,1,\n2,0,3,NA\n3,1,?,6\n4,0,5,4\n"))
    out, model = run(table, missing_fill=True, missing_fill_method=method, default_value=9,
                     missing_impute=["", "NA", "?"])
    np.testing.assert_allclose(out.features, expected)
    imputer = model["DataIOParam"]["imputer_param"]
    assert imputer["missing_value_ratio"] == {"a": 0.25, "b": 0.5}
    assert imputer["missing_replace_value"] == {"a": str(float(np.asarray(expected)[2, 0])),
                                                "b": str(float(np.asarray(expected)[0, 1]))}
    meta = model["DataIOMeta"]["imputer_meta"]
    assert meta == {"is_imputer": True, "strategy": method or "designated", "missing_value": ["", "NA", "?"]}


def test_numeric_missing_impute_and_per_column_default_value(tmp_path):
    table = upload(write(tmp_path, "id,y,a,b\n1,1,-999,2\n2,0,3,-999.0\n"))
    out, _ = run(table, missing_fill=True, missing_impute=[-999], default_value=[7, 8])
    np.testing.assert_array_equal(out.features, [[7, 2], [3, 8]])
    with pytest.raises(ValueError, match="default_value has 3 values but the data has 2 features"):
        run(table, missing_fill=True, missing_impute=[-999], default_value=[7, 8, 9])


def test_outlier_replace(tmp_path):
    table = upload(write(tmp_path, "id,y,a,b\n1,1,1,100\n2,0,9999,4\n3,1,3,9999\n4,0,abc,2\n"))
    out, model = run(table, outlier_replace=True, outlier_impute=[9999, "abc"], outlier_replace_method="max")
    np.testing.assert_array_equal(out.features, [[1, 100], [3, 4], [3, 100], [3, 2]])
    outlier = model["DataIOParam"]["outlier_param"]
    assert outlier["outlier_replace_value"] == {"a": "3.0", "b": "100.0"}
    assert outlier["outlier_value_ratio"] == {"a": 0.5, "b": 0.25}
    assert model["DataIOMeta"]["outlier_meta"] == {"is_outlier": True, "strategy": "max",
                                                   "outlier_value": ["9999", "abc"]}
    designated, _ = run(table, outlier_replace=True, outlier_impute=[9999, "abc"], outlier_replace_value=-1)
    np.testing.assert_array_equal(designated.features, [[1, 100], [-1, 4], [3, -1], [-1, 2]])


def test_missing_fill_then_outlier_replace_and_default_outlier_list(tmp_path):
    table = upload(write(tmp_path, "id,y,a\n1,1,\n2,0,-1\n3,1,5\n"))
    both, _ = run(table, missing_fill=True, default_value=2, outlier_replace=True, outlier_impute=[-1],
                  outlier_replace_method="mean")
    np.testing.assert_array_equal(both.features[:, 0], [2, 3.5, 5])  # the mean includes the filled 2
    # FATE's example conf: outlier_replace with no outlier_impute replaces the (unfilled) missing values
    only_outlier, _ = run(table, outlier_replace=True, outlier_replace_value=7)
    np.testing.assert_array_equal(only_outlier.features[:, 0], [7, -1, 5])


def test_int_data_type_refuses_fractions(tmp_path):
    table = upload(write(tmp_path, "id,y,a,b\n1,1,2,0.5\n"))
    with pytest.raises(ValueError, match=r"column 'b' of row 1 \(id '1'\) is 0.5, not an integer"):
        run(table, data_type="int")
    out, _ = run(table, data_type="int", exclusive_data_type={"b": "float"})
    np.testing.assert_array_equal(out.features, [[2, 0.5]])
    with pytest.raises(ValueError, match=r"exclusive_data_type names columns \['z'\]"):
        run(table, exclusive_data_type={"z": "int"})


# ---- transform ---------------------------------------------------------------------------------


def test_transform_reuses_header_and_fill_values(tmp_path):
    train = upload(write(tmp_path, "id,y,a,b\n1,1,1,\n2,0,3,4\n3,1,5,8\n"))
    _, model = run(train, missing_fill=True, missing_fill_method="mean")
    # another order, an extra column, no label column; the conf's own parameters are not used
    test = upload(write(tmp_path, "id,b,extra,a\n7,,x,\n8,2,y,9\n", "test.csv"))
    out, again = run(test, model=model, missing_fill=False, label_name="nope")
    assert out.header == ["a", "b"] and out.labels is None and out.ids.to_pylist() == ["7", "8"]
    np.testing.assert_array_equal(out.features, [[3, 6], [9, 2]])
    assert again["DataIOParam"]["header"] == ["a", "b"]
    assert again["DataIOParam"]["imputer_param"]["missing_replace_value"] == {"a": "3.0", "b": "6.0"}
    labelled, _ = run(train, model=model)
    assert labelled.labels.tolist() == [1, 0, 1] and labelled.label_name == "y"


def test_transform_breast_with_the_fit_model_gives_the_same_rows():
    table = upload(GUEST)
    fitted, model = run(table)
    again, _ = run(table, model=json.loads(json.dumps(model)))  # the model as saved and loaded (JSON)
    np.testing.assert_array_equal(again.features, fitted.features)
    np.testing.assert_array_equal(again.labels, fitted.labels)


def test_transform_errors_name_the_difference(tmp_path):
    _, model = run(upload(write(tmp_path, "id,y,a,b\n1,1,1,2\n")))
    with pytest.raises(ValueError, match=r"lacks columns \['b'\]"):
        run(upload(write(tmp_path, "id,y,a,c\n1,1,1,2\n", "t.csv")), model=model)
    with pytest.raises(ValueError, match="id column is 'uid' but the DataIO model was fitted on 'id'"):
        run(upload(write(tmp_path, "uid,y,a,b\n1,1,1,2\n", "u.csv")), model=model)
    with pytest.raises(ValueError, match="must be a DataIO model"):
        run(upload(write(tmp_path, "id,y,a,b\n1,1,1,2\n", "v.csv")), model={"EchoParam": {}})


# ---- sparse and tag (FATE keeps them sparse; here they are dense matrices) ---------------------


def test_sparse_svmlight_rows(tmp_path):
    table = upload(write(tmp_path, "1,1 0:0.5 3:2\n2,0  2:-1\n3,1\n"), head=False)
    out, model = run(table, input_format="sparse", delimitor=" ")
    assert out.header == ["0", "1", "2", "3"] and out.sid_name == "sid" and out.labels.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(out.features, [[0.5, 0, 0, 2], [0, 0, -1, 0], [0, 0, 0, 0]])
    assert model["DataIOParam"]["header"] == ["0", "1", "2", "3"] and model["DataIOParam"]["sid_name"] == "sid"
    wider = upload(write(tmp_path, "9,1 1:4 7:3\n", "wide.csv"), head=False)
    again, _ = run(wider, model=model)  # feature 7 is beyond the fitted header: dropped
    np.testing.assert_array_equal(again.features, [[0, 4, 0, 0]])
    with pytest.raises(ValueError, match=r"field '3=2' of row 1 \(id '1'\) is not of the form fid:value"):
        run(upload(write(tmp_path, "1,1 3=2\n", "bad.csv"), head=False), input_format="sparse", delimitor=" ")
    with pytest.raises(ValueError, match=r"value of field '3:x' of row 1 \(id '1'\) holds 'x', which is not a number"):
        run(upload(write(tmp_path, "1,1 3:x\n", "bad2.csv"), head=False), input_format="sparse", delimitor=" ")


def test_tag_rows_with_and_without_values(tmp_path):
    table = upload(write(tmp_path, "a,1 red big\nb,0 blue\nc,1 big red red\n"), head=False)
    out, model = run(table, input_format="tag", delimitor=" ")
    assert out.header == ["big", "blue", "red"] and out.labels.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(out.features, [[1, 0, 1], [0, 1, 0], [1, 0, 1]])
    valued = upload(write(tmp_path, "a,x:0.5;y:2\nb,y:-1\n", "v.csv"), head=False)
    out, model = run(valued, input_format="tag", delimitor=";", tag_with_value=True, with_label=False)
    assert out.header == ["x", "y"] and out.labels is None
    np.testing.assert_array_equal(out.features, [[0.5, 2], [0, -1]])
    again, _ = run(upload(write(tmp_path, "c,y:3;z:1\n", "w.csv"), head=False), model=model)
    np.testing.assert_array_equal(again.features, [[0, 3]])


# ---- parameters, bad data, need_run ------------------------------------------------------------


@pytest.mark.parametrize("conf, name", [
    ({"input_format": "csv"}, "input_format"), ({"output_format": "list"}, "output_format"),
    ({"data_type": "double"}, "data_type"), ({"data_type": "str"}, "data_type"),
    ({"missing_fill": "yes"}, "missing_fill"), ({"missing_fill_method": "median"}, "missing_fill_method"),
    ({"outlier_replace_method": "zero"}, "outlier_replace_method"), ({"missing_impute": "NA"}, "missing_impute"),
    ({"with_label": 1}, "with_label"), ({"label_type": "bool"}, "label_type"), ({"label_name": ""}, "label_name"),
    ({"delimitor": ""}, "delimitor"), ({"default_value": "zero"}, "default_value"),
    ({"exclusive_data_type": ["a"]}, "exclusive_data_type"), ({"need_run": None}, "need_run"),
])
def test_bad_parameters_are_named(conf, name):
    with pytest.raises(ValueError, match=name):
        params(**conf)


def test_choices_are_lower_cased_and_defaults_are_fates_effective_ones():
    param = params(input_format="Dense", missing_fill_method="MEAN")
    assert param.input_format == "dense" and param.missing_fill_method == "mean"
    assert (param.missing_fill, param.outlier_replace, param.with_label) == (False, False, True)
    assert (DataIOParam().missing_fill, DataIOParam().outlier_replace, DataIOParam().with_label) == (True, True, False)


def test_bad_data_names_row_and_column(tmp_path):
    with pytest.raises(ValueError, match=r"column 'x1' of row 2 \(id '11'\) holds 'abc', which is not a number"):
        run(upload(write(tmp_path, "id,y,x0,x1\n10,1,1,2\n11,0,3,abc\n")))
    with pytest.raises(ValueError, match=r"row 2 \(id '11'\) has 2 fields but the header has 3"):
        run(upload(write(tmp_path, "id,y,x0,x1\n10,1,1,2\n11,0,3\n", "b.csv")))
    with pytest.raises(ValueError, match=r"label_name 'label' is not in the input header \['y', 'x0'\]"):
        run(upload(write(tmp_path, "id,y,x0\n10,1,1\n", "c.csv")), label_name="label")
    with pytest.raises(ValueError, match=r"label 'y' of row 1 \(id '10'\) is missing"):
        run(upload(write(tmp_path, "id,y,x0\n10,,1\n", "d.csv")))


def test_empty_table_is_refused():
    storage = open_storage("memory")
    writer = storage.writer("ns", "empty")
    storage.commit(writer, TableMeta(namespace="ns", name="empty", schema={"header": "y,x0", "sid": "id"}), "create")
    with pytest.raises(ValueError, match="input table ns.empty is empty"):
        run(storage.open("ns", "empty"))


def test_need_run_false_passes_the_table_through():
    table = upload(GUEST)
    out, model = run(table, need_run=False)
    assert out is table and model["DataIOMeta"]["need_run"] is False and model["DataIOParam"]["header"] == []


# ---- through a real server ---------------------------------------------------------------------


def test_dataio_job_for_guest_and_host_through_the_server(flow_server):
    server = flow_server()
    upload_breast_hetero(server, "dataio_test")
    dsl = {"components": {
        "dataio_0": {"module": "DataIO", "input": {"data": {"data": ["args.train_data"]}},
                     "output": {"data": ["train"], "model": ["dataio"]}},
        "dataio_1": {"module": "DataIO", "input": {"data": {"data": ["args.train_data"]}, "model": ["dataio_0.dataio"]},
                     "output": {"data": ["train"], "model": ["dataio"]}}}}
    conf = {"initiator": {"role": "guest", "party_id": 9999}, "job_parameters": {"work_mode": 0},
            "role": {"guest": [9999], "host": [10000]},
            "role_parameters": {
                "guest": {"args": {"data": {"train_data": [{"name": "breast_hetero_guest",
                                                            "namespace": "dataio_test"}]}},
                          "dataio_0": {"with_label": [True], "label_name": ["y"], "label_type": ["int"],
                                       "output_format": ["dense"]}},
                "host": {"args": {"data": {"train_data": [{"name": "breast_hetero_host", "namespace": "dataio_test"}]}},
                         "dataio_0": {"with_label": [False], "output_format": ["dense"]}}}}
    job_id = server.submit(dsl, conf)
    assert server.wait_job(job_id, timeout=120)["f_status"] == "success"
    guest_features, host_features = [f"x{i}" for i in range(10)], [f"x{i}" for i in range(20)]
    previews = {}
    for role, party, features in (("guest", 9999, guest_features), ("host", 10000, host_features)):
        query = {"job_id": job_id, "component_name": "dataio_0", "role": role, "party_id": party}
        transformed = server.post("/v1/tracking/component/output/data", {**query, "component_name": "dataio_1"})
        previews[role] = server.post("/v1/tracking/component/output/data", query)
        assert transformed["data"] == previews[role]["data"], "transform with the model gives the fit's rows"
        assert previews[role]["meta"]["total"] == 569 and len(previews[role]["data"]) == 100
        model = server.post("/v1/tracking/component/output/model", query)
        assert model["retcode"] == 0 and model["data"]["header"] == features
        assert model["meta"]["module_name"] == "DataIO" and model["meta"]["meta_data"]["input_format"] == "dense"
    assert previews["host"]["meta"]["header"] == ["id", *host_features]
    shown = previews["guest"]["data"][0]  # tables are stored partition by partition: any row may come first
    source = next(line.split(",") for line in GUEST.read_text().splitlines()[1:] if line.split(",")[0] == shown[0])
    assert [float(v) for v in shown] == [float(v) for v in source]
    assert previews["guest"]["meta"]["header"] == ["id", "y", *guest_features]
