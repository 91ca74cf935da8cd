"""The Evaluation component: reads predict rows, logs FATE's records per row type."""
from __future__ import annotations

import functools
import logging

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score

from fate_flow.components import ComponentContext
from fate_flow.components.evaluation.evaluation import Evaluation
from fate_flow.components.evaluation.param import EvaluateParam
from fate_flow.computing import ComputingConf, create_session
from fate_flow.storage import TableMeta, open_storage


class Tracker:
    def __init__(self):
        self.data, self.meta = {}, {}

    def log_metric_data(self, namespace, name, data):
        self.data.setdefault(namespace, {})[name] = data

    def set_metric_meta(self, namespace, name, meta):
        self.meta.setdefault(namespace, {})[name] = meta

    def set_progress(self, percent):
        pass


def predict_table(labels, scores, types, storage=None, partitions=1):
    storage = storage or open_storage("memory")
    values = [f"{y},{int(s > 0.5)},{s},{{\"0\":{1 - s};\"1\":{s}}},{t}" for y, s, t in zip(labels, scores, types)]
    writer = storage.writer("ns", "predict", partitions)
    writer.write_batch(pa.array([str(i) for i in range(len(values))]), pa.array(values))
    header = "label,predict_result,predict_score,predict_detail,type"
    storage.commit(writer, TableMeta(namespace="ns", name="predict", partitions=partitions,
                                     schema={"header": header, "sid": "id"}), "create")
    return storage.open("ns", "predict")


def run(params: dict, table, computing=None) -> Tracker:
    tracker = Tracker()
    ctx = ComponentContext(job_id="j", task_id="j_evaluation_0", component_name="evaluation_0", role="guest",
                           party_id=9999, roles={"guest": [9999]}, federation=None, tracker=tracker,
                           logger=logging.getLogger("test"), computing_opener=computing)
    component = Evaluation(EvaluateParam().update(params))
    component.params.check()
    try:
        component.run(ctx, {"data": {"data": table}, "data_sources": {"data": ["hetero_lr_0"]}})
    finally:
        ctx.close_computing()
    return tracker


def test_binary_train_and_validate_records():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 300)
    scores = np.clip(labels * 0.3 + rng.random(300) * 0.7, 0, 1).round(6)
    types = ["train"] * 200 + ["validate"] * 100
    tracker = run({}, predict_table(labels, scores, types))
    summary = dict(tracker.data["train"]["hetero_lr_0"])
    assert summary["auc"] == pytest.approx(roc_auc_score(labels[:200], scores[:200]), abs=1e-6)
    assert dict(tracker.data["validate"]["hetero_lr_0"])["auc"] == pytest.approx(
        roc_auc_score(labels[200:], scores[200:]), abs=1e-6)
    assert tracker.meta["train"]["hetero_lr_0"] == {"metric_type": "EVALUATION_SUMMARY", "name": "hetero_lr_0"}
    assert "hetero_lr_0_roc" in tracker.data["train"] and "hetero_lr_0_ks_fpr" in tracker.data["train"]
    assert "hetero_lr_0_psi" in tracker.meta["validate"], "psi compares validate with train scores"


def test_bad_input_and_params():
    with pytest.raises(ValueError, match="eval_type"):
        EvaluateParam().update({"eval_type": "ranking"}).check()
    with pytest.raises(ValueError, match="nope"):
        EvaluateParam().update({"metrics": ["auc", "nope"]}).check()
    storage = open_storage("memory")
    writer = storage.writer("ns", "t")
    writer.write_batch(pa.array(["1"]), pa.array(["1,0.5"]))
    storage.commit(writer, TableMeta(namespace="ns", name="t"), "create")
    with pytest.raises(ValueError, match="row 1 is not a prediction"):
        run({}, storage.open("ns", "t"))


def test_no_predictions_on_this_party_is_not_an_error():
    tracker = run({}, None)
    assert tracker.data == {} and tracker.meta == {}


@pytest.mark.parametrize("eval_type", ["binary", "regression"])
def test_the_same_records_from_partitions_parsed_by_the_workers(tmp_path, monkeypatch, eval_type):
    rng = np.random.default_rng(11)
    labels = rng.integers(0, 2, 400)
    scores = np.clip(labels * 0.2 + rng.random(400) * 0.8, 0, 1).round(2)  # many ties
    types = rng.choice(["train", "validate", "predict"], 400).tolist()
    expected = run({"eval_type": eval_type}, predict_table(labels, scores, types))
    monkeypatch.setattr("fate_flow.computing.table.INLINE_ROWS", 0)  # every partition parsed in a worker
    storage = open_storage("local", tmp_path / "tables")
    with predict_table(labels, scores, types, storage, partitions=3) as table:
        assert table.partition_count == 3
        computing = functools.partial(create_session, ComputingConf(partitions=3, cores=2), str(tmp_path / "s"))
        tracker = run({"eval_type": eval_type}, table, computing)
    assert tracker.data == expected.data and tracker.meta == expected.meta
    assert set(tracker.data) == {"train", "validate", "predict"}


def test_a_malformed_row_is_named_by_its_place_in_partition_order(tmp_path):
    storage = open_storage("local", tmp_path / "tables")
    writer = storage.writer("ns", "t", 2)
    writer.write_batch(pa.array(["0", "1", "2", "3"]), pa.array(["1,1,0.9,{},train"] * 3 + ["1,0.5"]))
    storage.commit(writer, TableMeta(namespace="ns", name="t", partitions=2), "create")
    with storage.open("ns", "t") as table:
        place = [i for p in range(2) for b in table.iter_partition(p) for i in b.column(0).to_pylist()].index("3")
        with pytest.raises(ValueError, match=f"row {place + 1} is not a prediction"):
            run({}, table)
