"""The built-in serving engine on small models: the served pipeline gives what the components give.

Models are fitted by the components themselves (DataIO, OneHotEncoder, FeatureScale, binning,
selection run locally); the linear models are written by hand. The guest's host calls go to a
second ServingService in process; the end-to-end test covers the real HTTP hops.
"""
from __future__ import annotations

import base64
import json
import logging
import socket

import numpy as np
import pyarrow as pa
import pytest

from fate_flow.components import ComponentContext, get_spec
from fate_flow.computing import Instances
from fate_flow.errors import (ArgumentError, HostAnswerError, HostInvalidRequest, HostModelNotLoaded, HostUnreachable,
                              InferenceArgumentError, InvalidFeature, ModelNotFound, NotFound, ServiceNotFound,
                              ServingBindFailed, ServingError, ServingLoadFailed)
from fate_flow.serving import ModelKey, ServingService, model_key, serving_key
from fate_flow.serving.features import TableFeatureSource
from fate_flow.serving.pipeline import load_pipeline
from fate_flow.serving.protocol import parse_batch, parse_single
from fate_flow.serving.service import HOST_SHARE_PATH, write_transferred
from fate_flow.settings import load_settings
from fate_flow.storage import TableMeta, iter_line_batches, open_storage
from fate_flow.utils.model_layout import save_component_model

MODEL_ID = "arbiter-10000#guest-9999#host-10000#model"
VERSION = "202611270000000000001"
GUEST_KEY = ModelKey("guest", "9999", MODEL_ID, VERSION)
HOST_KEY = ModelKey("host", "10000", MODEL_ID, VERSION)
ROLES = {"guest": [9999], "host": [10000], "arbiter": [10000]}


# ---------------------------------------------------------------------------------- data and models

def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(str(v) for v in row) for row in rows]) + "\n")
    return path


def upload(storage, path, namespace, name):
    """The table the Upload component makes of ``path``."""
    writer = storage.writer(namespace, name)
    with iter_line_batches(path, head=True) as lines:
        for ids, values in lines:
            writer.write_batch(ids, values)
        schema = lines.header
    storage.commit(writer, TableMeta(namespace=namespace, name=name, schema=schema), "create")
    return storage.open(namespace, name)


def run_component(module, role, table, model=None, **conf):
    """Run a component locally (fit, or transform with ``model``); (output table, model messages)."""
    spec = get_spec(module)
    params = spec.default_params().update(conf)
    params.check()
    ctx = ComponentContext(job_id="j", task_id="t", component_name="c", role=role, party_id=9999,
                           roles={role: [9999]}, federation=None, tracker=None, logger=logging.getLogger("t"))
    storage = open_storage("memory")
    try:
        output = spec.program(role)(params).run(ctx, {"data": {"data": table}, "model": {"up": model} if model else {}})
        if hasattr(output.data, "save"):  # a computing Table: saved as the task executor saves it
            output.data.save(storage, "ns", "out")
        else:
            writer = storage.writer("ns", "out")
            writer.write_batch(output.data.ids, output.data.values)
            storage.commit(writer, TableMeta(namespace="ns", name="out", schema=output.data.schema), "create")
    finally:
        ctx.close_computing()
    return storage.open("ns", "out"), output.model


GUEST_CHAIN = [  # (component, module, fit parameters)
    ("dataio_0", "DataIO", {"with_label": True, "label_name": "y", "output_format": "dense", "missing_fill": True,
                            "missing_fill_method": "mean"}),
    ("one_hot_0", "OneHotEncoder", {"transform_col_indexes": [], "transform_col_names": ["b"]}),
    ("scale_0", "FeatureScale", {"method": "standard_scale", "scale_col_indexes": [], "scale_names": ["a", "c"]}),
    ("binning_0", "HeteroFeatureBinning", {"bin_names": ["d"], "bin_indexes": [], "bin_num": 4,
                                           "transform_param": {"transform_cols": -1, "transform_type": "bin_num"}}),
    ("selection_0", "HeteroFeatureSelection", {"filter_methods": ["manually"], "select_col_indexes": -1,
                                               "manually_param": {"filter_out_names": ["b_2"]}}),
]


@pytest.fixture(scope="module")
def guest_data(tmp_path_factory):
    rng = np.random.default_rng(7)
    rows = []
    for i in range(40):
        c = "NA" if i % 7 == 3 else round(float(rng.normal(3, 1)), 6)
        rows.append([f"g{i}", i % 2, round(float(rng.normal(0, 2)), 6), int(rng.integers(0, 3)), c,
                     round(float(rng.uniform(-5, 5)), 6)])
    path = write_csv(tmp_path_factory.mktemp("guest") / "guest.csv", ["id", "y", "a", "b", "c", "d"], rows)
    return path, rows


@pytest.fixture(scope="module")
def guest_models(guest_data):
    """Each chain component fitted on the previous one's output; then the chain re-run with the models
    (what a predict job does), whose last output is the reference the engine must reproduce."""
    table = upload(open_storage("memory"), guest_data[0], "ns", "guest")
    models, current = {}, table
    for name, module, conf in GUEST_CHAIN:
        current, models[name] = run_component(module, "guest", current, **conf)
    predicted = table
    for name, module, conf in GUEST_CHAIN:
        predicted, _ = run_component(module, "guest", predicted, model=models[name], **conf)
    header = Instances.from_table(predicted).header
    weights = {name: 0.1 * (i + 1) * (-1) ** i for i, name in enumerate(header)}
    models["hetero_lr_0"] = {"HeteroLogisticRegressionMeta": {"fit_intercept": True},
                             "HeteroLogisticRegressionParam": {"header": header, "weight": weights,
                                                               "intercept": 0.25, "iters": 3}}
    return models, Instances.from_table(predicted)


@pytest.fixture(scope="module")
def host_storage(tmp_path_factory):
    rng = np.random.default_rng(11)
    rows = [[f"g{i}", round(float(rng.normal(0, 1)), 6), round(float(rng.normal(5, 2)), 6)] for i in range(40)]
    path = write_csv(tmp_path_factory.mktemp("host") / "host.csv", ["id", "h0", "h1"], rows)
    storage = open_storage("memory")
    upload(storage, path, "experiment", "host_table")
    return storage, {row[0]: np.array(row[1:], dtype=float) for row in rows}


@pytest.fixture(scope="module")
def host_models(host_storage):
    _, dataio = run_component("DataIO", "host", host_storage[0].open("experiment", "host_table"),
                              with_label=False, output_format="dense")
    lr = {"HeteroLogisticRegressionMeta": {"fit_intercept": False},
          "HeteroLogisticRegressionParam": {"header": ["h0", "h1"], "weight": {"h0": 0.7, "h1": -0.2}, "iters": 3}}
    return {"dataio_0": dataio, "hetero_lr_0": lr}


def inference_dsl(names_modules: list[tuple[str, str]]) -> dict:
    """A chain inference DSL like the one a train job saves (intersection after DataIO)."""
    components, previous = {}, None
    for name, module in names_modules:
        data = {"data": ["args.eval_data"]} if previous is None else {"data": [f"{previous}.train"]}
        if module in ("HeteroLR", "HomoLR"):
            data = {"eval_data": [f"{previous}.train"]}
        entry = {"module": module, "input": {"data": data}, "output": {"data": ["train"]}}
        if module != "Intersection":
            entry["input"]["model"] = [f"pipeline.{name}.model"]
        components[name] = entry
        previous = name
    return {"components": components}


def write_model(model_dir, key: ModelKey, chain: list[tuple[str, str]], models: dict, roles=ROLES) -> None:
    root = model_dir / key.party_model_id / key.model_version
    for name, module in chain:
        if module != "Intersection":
            save_component_model(root, name, module, "model", models[name])
    train_dsl = {"components": {"dataio_0": {"module": "DataIO", "input": {"data": {"data": ["args.train_data"]}}}}}
    conf = {"role": roles, "job_parameters": {"model_id": key.model_id, "model_version": key.model_version},
            "role_parameters": {"host": {"args": {"data": {
                "train_data": [{"namespace": "experiment", "name": "host_table"}],
                "eval_data": [{"namespace": "experiment", "name": "other"}]}}}}}
    pipeline = {"inference_dsl": inference_dsl(chain), "train_dsl": train_dsl, "train_runtime_conf": conf,
                "model_id": key.model_id, "model_version": key.model_version}
    (root / "pipeline.json").write_text(json.dumps(pipeline))


def guest_chain() -> list[tuple[str, str]]:
    return ([("dataio_0", "DataIO"), ("intersection_0", "Intersection")] +
            [(name, module) for name, module, _ in GUEST_CHAIN[1:]] + [("hetero_lr_0", "HeteroLR")])


HOST_CHAIN = [("dataio_0", "DataIO"), ("intersection_0", "Intersection"), ("hetero_lr_0", "HeteroLR")]


def feature_dicts(rows) -> list[dict]:
    """featureData of raw guest rows: numbers as numbers, "NA" as absent."""
    return [{name: value for name, value in zip("abcd", row[2:]) if value != "NA"} for row in rows]


# ---------------------------------------------------------------------------------- the pipeline

def test_guest_pipeline_reproduces_the_component_chain(tmp_path, guest_data, guest_models):
    models, predicted = guest_models
    write_model(tmp_path, GUEST_KEY, guest_chain(), models)
    pipeline = load_pipeline(tmp_path / GUEST_KEY.party_model_id / VERSION, "guest", "9999")
    assert pipeline.header == ["a", "b", "c", "d"] and pipeline.host_parties == ["10000"]
    data = pipeline.read_feature_dicts(feature_dicts(guest_data[1]))
    for transform in pipeline.transforms:
        data = transform(data)
    assert data.header == predicted.header and "b_2" not in data.header
    np.testing.assert_allclose(data.features, predicted.features, rtol=0, atol=1e-12)
    param = models["hetero_lr_0"]["HeteroLogisticRegressionParam"]
    expected = predicted.features @ np.array([param["weight"][n] for n in predicted.header]) + 0.25
    np.testing.assert_allclose(pipeline.partial_scores(pipeline.read_feature_dicts(feature_dicts(guest_data[1]))),
                               expected, rtol=0, atol=1e-12)


def test_host_pipeline_reads_its_rows_by_id(tmp_path, host_storage, host_models):
    storage, features = host_storage
    write_model(tmp_path, HOST_KEY, HOST_CHAIN, host_models)
    pipeline = load_pipeline(tmp_path / HOST_KEY.party_model_id / VERSION, "host", "10000")
    assert pipeline.feature_table == ("experiment", "host_table")
    source = TableFeatureSource(storage.open("experiment", "host_table"))
    ids, values, missing = source.rows(["g5", "nope", "g0"])
    assert missing == [1] and ids.to_pylist() == ["g5", "g0"]
    shares = pipeline.partial_scores(pipeline.read(ids, values, source.schema))
    np.testing.assert_allclose(shares, [features[k] @ [0.7, -0.2] for k in ("g5", "g0")], rtol=0, atol=1e-12)
    assert source.feature_id({"id": 5}) == "5" and source.feature_id({"phone_num": "g1"}) == "g1"
    with pytest.raises(HostInvalidRequest, match="needs the id"):
        source.feature_id({"a": 1, "b": 2})


def test_homo_lr_scores_on_its_own(tmp_path, guest_models):
    models, predicted = guest_models
    chain = [("dataio_0", "DataIO"), ("homo_lr_0", "HomoLR")]
    header = ["a", "b", "c", "d"]
    models = {"dataio_0": models["dataio_0"],
              "homo_lr_0": {"HomoLogisticRegressionMeta": {"fit_intercept": True},
                            "HomoLogisticRegressionParam": {"header": header, "intercept": -0.5, "iters": 2,
                                                            "weight": {"a": 1.0, "b": 0.5, "c": -1.0, "d": 0.1}}}}
    write_model(tmp_path, GUEST_KEY, chain, models)
    pipeline = load_pipeline(tmp_path / GUEST_KEY.party_model_id / VERSION, "guest", "9999")
    assert not pipeline.host_parties and not pipeline.is_hetero_guest
    score = pipeline.partial_scores(pipeline.read_feature_dicts([{"a": 2, "b": 1, "c": 3, "d": 10}]))
    assert score[0] == pytest.approx(2 + 0.5 - 3 + 1 - 0.5, abs=1e-12)


@pytest.mark.parametrize("change, message", [
    (lambda dsl: dsl["components"]["hetero_lr_0"].update(module="HeteroSecureBoost"), "HeteroSecureBoost"),
    (lambda dsl: dsl["components"]["hetero_lr_0"]["input"]["data"].update(eval_data=["dataio_0.train"]),
     "only a chain"),
    (lambda dsl: dsl["components"].pop("dataio_0") and dsl["components"]["intersection_0"]["input"]["data"]
     .update(data=["args.eval_data"]), "must start with DataIO"),
])
def test_models_that_can_not_be_served_are_refused_by_name(tmp_path, host_models, change, message):
    write_model(tmp_path, HOST_KEY, HOST_CHAIN, host_models)
    root = tmp_path / HOST_KEY.party_model_id / VERSION
    saved = json.loads((root / "pipeline.json").read_text())
    change(saved["inference_dsl"])
    (root / "pipeline.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=message):
        load_pipeline(root, "host", "10000")


def test_bad_feature_values_are_named(tmp_path, guest_models, host_models):
    write_model(tmp_path, GUEST_KEY, guest_chain(), guest_models[0])
    pipeline = load_pipeline(tmp_path / GUEST_KEY.party_model_id / VERSION, "guest", "9999")
    with pytest.raises(ValueError, match="'a'"):
        pipeline.read_feature_dicts([{"a": "abc", "b": 1, "c": 1, "d": 1}])
    with pytest.raises(ValueError, match="delimiter"):
        pipeline.read_feature_dicts([{"a": "1,2", "b": 1, "c": 1, "d": 1}])
    # the host's DataIO fills no missing value: a missing feature is refused, not scored as NaN
    write_model(tmp_path, HOST_KEY, HOST_CHAIN, host_models)
    host = load_pipeline(tmp_path / HOST_KEY.party_model_id / VERSION, "host", "10000")
    data = host.read(pa.array(["x"]), pa.array(["1.0,"]), {"header": "h0,h1", "sid": "id"})
    with pytest.raises(ValueError, match=r"\['h1'\] are missing"):
        host.partial_scores(data)
    with pytest.raises(ValueError, match=r"\['h0'\] are infinite"):  # no score to give (guest: scaling clips)
        host.partial_scores(host.read(pa.array(["x"]), pa.array(["inf,1.0"]), {"header": "h0,h1", "sid": "id"}))


# ---------------------------------------------------------------------------------- the service

class PartyRouter:
    """Stands in for the federated client: a host call reaches that party's ServingService."""

    def __init__(self) -> None:
        self.parties: dict[str, ServingService] = {}
        self.calls = 0

    def call(self, role, party_id, endpoint, body=None, method="POST", timeout=None):
        assert (role, endpoint) == ("host", HOST_SHARE_PATH)
        self.calls += 1
        key = ModelKey(body["role"], str(body["party_id"]), body["model_id"], body["model_version"])
        try:
            return {"retcode": 0, "retmsg": "success",
                    "data": self.parties[str(party_id)].host_share(key, body["featureIdList"])}
        except ServingError as exc:
            return {"retcode": exc.retcode, "retmsg": exc.retmsg}


def make_settings(work_dir, **overrides):
    return load_settings(None, environ={}, work_dir=str(work_dir), database_url=f"sqlite:///{work_dir}/x.db",
                         port=1, **overrides)


@pytest.fixture
def parties(tmp_path, guest_models, host_models, host_storage):
    """A guest service (9999) and a host service (10000) with the model written in their caches."""
    router = PartyRouter()
    guest = ServingService(make_settings(tmp_path / "guest"), router, lambda: None)
    host = ServingService(make_settings(tmp_path / "host"), router, lambda: host_storage[0])
    write_model(guest.settings.model_dir, GUEST_KEY, guest_chain(), guest_models[0])
    write_model(host.settings.model_dir, HOST_KEY, HOST_CHAIN, host_models)
    router.parties["10000"] = host
    return guest, host, router


def expected_scores(guest_models, host_storage, rows):
    models, predicted = guest_models
    param = models["hetero_lr_0"]["HeteroLogisticRegressionParam"]
    own = predicted.features @ np.array([param["weight"][n] for n in predicted.header]) + 0.25
    position = {row[0]: i for i, row in enumerate(rows)}
    host = np.array([host_storage[1][row[0]] @ [0.7, -0.2] for row in rows])
    return 1 / (1 + np.exp(-(own[[position[r[0]] for r in rows]] + host)))


def test_load_bind_and_infer_a_batch(parties, guest_data, guest_models, host_storage):
    guest, host, router = parties
    host.load(HOST_KEY)
    guest.load(GUEST_KEY)
    guest.bind("svc", GUEST_KEY)
    rows = guest_data[1]
    result = guest.infer("svc", feature_dicts(rows), [{"id": row[0]} for row in rows])
    assert not result.errors and router.calls == 1  # one host call for the whole batch
    np.testing.assert_allclose(result.scores, expected_scores(guest_models, host_storage, rows), rtol=0, atol=1e-12)
    # a row the host lacks fails alone
    partial = guest.infer("svc", feature_dicts(rows[:2]), [{"id": "unknown"}, {"id": rows[1][0]}])
    assert partial.scores[0] is None and partial.errors[0].retcode == 2113 and partial.scores[1] is not None


def test_the_registry_survives_a_restart_and_is_shared(parties, guest_data, host_storage):
    guest, host, router = parties
    worker = ServingService(guest.settings, router, lambda: None)  # e.g. another gunicorn worker
    assert worker.registry.models() == []
    host.load(HOST_KEY)
    entry = guest.load(GUEST_KEY)
    guest.bind("svc", GUEST_KEY)
    before = guest.infer("svc", feature_dicts(guest_data[1][:3]), [{"id": r[0]} for r in guest_data[1][:3]]).scores
    assert worker.infer("svc", feature_dicts(guest_data[1][:3]), [{"id": r[0]} for r in guest_data[1][:3]]).scores \
        == before
    restarted_guest = ServingService(guest.settings, router, lambda: None)
    router.parties["10000"] = ServingService(host.settings, router, lambda: host_storage[0])
    again = restarted_guest.infer("svc", feature_dicts(guest_data[1][:3]), [{"id": r[0]} for r in guest_data[1][:3]])
    assert again.scores == before and again.model.entry["loaded_at"] == entry["loaded_at"]
    saved = json.loads((guest.settings.work_dir / "serving" / "registry.json").read_text())
    assert saved["services"] == {"svc": GUEST_KEY.name}


def test_each_failure_has_its_own_retcode(parties, guest_data):
    guest, host, router = parties
    guest.load(GUEST_KEY)
    guest.bind("svc", GUEST_KEY)
    features, remotes = feature_dicts(guest_data[1][:1]), [{"id": guest_data[1][0][0]}]
    with pytest.raises(ServiceNotFound) as unknown:
        guest.infer("nope", features, remotes)
    with pytest.raises(HostAnswerError) as not_loaded:  # the host never loaded its part
        guest.infer("svc", features, remotes)
    with pytest.raises(InvalidFeature) as bad:
        guest.infer("svc", [{"a": "x", "b": 1, "c": 1, "d": 1}], remotes)
    with pytest.raises(InvalidFeature, match="none of the model's features"):
        guest.infer("svc", [{"phone": 1}], remotes)
    with pytest.raises(ServingBindFailed, match="not loaded"):
        guest.bind("other", HOST_KEY)
    with pytest.raises(HostModelNotLoaded):
        host.host_share(HOST_KEY, remotes)
    codes = [unknown.value.retcode, not_loaded.value.retcode, bad.value.retcode]
    assert codes == [1104, 2104, 1102] and "host 10000" in not_loaded.value.retmsg


def test_an_unreachable_host_is_a_network_error(tmp_path, guest_models):
    from fate_flow.party.client import FederatedClient

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    settings = make_settings(tmp_path, work_mode=1, party_ids=(9999,), routes={"10000": f"127.0.0.1:{dead}"})
    guest = ServingService(settings, FederatedClient(settings), lambda: None)
    write_model(settings.model_dir, GUEST_KEY, guest_chain(), guest_models[0])
    guest.load(GUEST_KEY)
    guest.bind("svc", GUEST_KEY)
    with pytest.raises(HostUnreachable) as error:
        guest.infer("svc", [{"a": 1, "b": 1, "c": 1, "d": 1}], [{"id": "g1"}])
    assert error.value.retcode == 1105 and f"127.0.0.1:{dead}" in error.value.retmsg


def test_an_unknown_version_loads_nothing(parties):
    guest, _, _ = parties
    with pytest.raises(ModelNotFound, match="version nope"):
        guest.load(ModelKey("guest", "9999", MODEL_ID, "nope"))
    assert not (guest.settings.work_dir / "serving" / "registry.json").exists()


def test_a_host_without_its_feature_table_does_not_load(tmp_path, host_models):
    host = ServingService(make_settings(tmp_path), PartyRouter(), lambda: open_storage("memory"))
    write_model(host.settings.model_dir, HOST_KEY, HOST_CHAIN, host_models)
    with pytest.raises(ServingLoadFailed, match="experiment.host_table"):
        host.load(HOST_KEY)
    assert host.registry.model(HOST_KEY) is None


def test_a_transferred_model_is_written_and_served(tmp_path, host_models):
    write_model(tmp_path / "src", HOST_KEY, HOST_CHAIN, host_models)
    root = tmp_path / "src" / HOST_KEY.party_model_id / VERSION
    files = {f"{p.parent.parent.name}.{p.parent.name}:{p.name}": base64.b64encode(p.read_bytes()).decode()
             for p in (root / "variables" / "data").glob("*/*/*")}
    files["pipeline.pipeline:Pipeline"] = base64.b64encode((root / "pipeline.json").read_bytes()).decode()
    write_transferred(tmp_path / "copy", files)
    assert load_pipeline(tmp_path / "copy", "host", "10000").scorer.header == ["h0", "h1"]
    with pytest.raises(ValueError, match="unexpected model file name"):
        write_transferred(tmp_path / "bad", dict(files, **{"../x.y:z": files["pipeline.pipeline:Pipeline"]}))


def test_request_shapes():
    single = parse_single({"head": {"serviceId": "s"}, "body": {"featureData": {"x0": 1},
                                                                "sendToRemoteFeatureData": {"id": "7"}}})
    flat = parse_single({"serviceId": "s", "featureData": {"x0": 1}, "sendToRemoteFeatureData": {"id": "7"}})
    assert (single.service_id, single.features, single.remotes) == (flat.service_id, flat.features, flat.remotes)
    batch = parse_batch({"head": {"serviceId": 3}, "body": {"batchDataList": [{"index": 4, "featureData": {}}]}})
    assert batch.service_id == "3" and batch.indexes == [4] and batch.remotes == [{}]
    for bad in ({"head": {}}, {"head": {"serviceId": "s"}, "body": {"featureData": [1]}}, {"serviceId": True}):
        with pytest.raises(InferenceArgumentError):
            parse_single(bad)


@pytest.mark.parametrize("body, field", [
    ({"job_parameters": {"model_id": MODEL_ID, "model_version": "../x"}}, "job_parameters.model_version"),
    ({"job_parameters": {"model_id": True, "model_version": VERSION}}, "job_parameters.model_id"),
    ({"job_parameters": {"model_version": VERSION}}, "job_parameters.model_id"),
    ({"job_parameters": {"model_id": MODEL_ID, "model_version": VERSION}, "local": {"role": "guest"}}, "local"),
    ({"job_parameters": {"model_id": MODEL_ID, "model_version": VERSION},
      "local": {"role": "guest", "party_id": "../9"}}, "local"),
])
def test_a_model_key_names_the_field_it_refuses(body, field):
    with pytest.raises(ArgumentError) as error:
        model_key(body, "local")
    assert error.value.field == field


def test_a_serving_key_is_read_from_the_top_level_and_names_its_fields():
    body = {"role": "host", "party_id": 10000, "model_id": MODEL_ID, "model_version": VERSION}
    assert serving_key(body) == HOST_KEY
    with pytest.raises(ArgumentError) as error:
        serving_key(dict(body, model_version="a/b"))
    assert error.value.field == "model_version"  # not job_parameters.model_version: the body has none


def test_a_service_id_must_be_text_or_a_number(parties):
    guest, _, _ = parties
    guest.load(GUEST_KEY)
    for bad in ("", None, {"id": 1}, True):
        with pytest.raises(NotFound, match="no service id"):
            guest.bind(bad, GUEST_KEY)
    guest.bind(7, GUEST_KEY)
    assert guest.registry.service("7")["key"] == GUEST_KEY.to_dict()


def test_missing_and_unknown_features_are_named_in_the_answer(parties, guest_data):
    """A left-out feature is filled as the model was trained, and the answer says which (FATE-Serving
    users see why a score moved); keys the model does not read are named too."""
    from fate_flow.serving.protocol import batch_answer, single_answer

    guest, host, router = parties
    host.load(HOST_KEY)
    guest.load(GUEST_KEY)
    guest.bind("svc", GUEST_KEY)
    row = guest_data[1][0]
    full = {"a": row[2], "b": row[3], "c": 1.5, "d": row[5]}
    partial = {"a": row[2], "b": row[3], "d": row[5], "phone": 1}
    result = guest.infer("svc", [full, partial], [{"id": row[0]}, {"id": row[0]}])
    assert not result.errors and all(score is not None for score in result.scores)
    assert result.warnings == {1: {"missingFeatures": ["c"], "unknownFeatures": ["phone"]}}
    single = single_answer(result.scores[1], result.model.entry, result.warnings.get(1))
    assert single["data"]["missingFeatures"] == ["c"] and single["data"]["score"] == result.scores[1]
    batch = batch_answer([7, 8], result.scores, result.errors, result.model.entry, result.warnings)
    assert "missingFeatures" not in batch["batchDataList"][0]["data"]
    assert batch["batchDataList"][1]["data"]["unknownFeatures"] == ["phone"]
