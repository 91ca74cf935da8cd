"""Unit tests of fate_flow.driver.dsl_parser: runtime conf checks, the DAG, parameters, predict DSL."""
from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fate_flow.components import registry
from fate_flow.components.param import BaseParam, check_positive_int
from fate_flow.driver import dsl_parser
from fate_flow.driver.dsl_parser import all_party_key, gen_model_id, parse_job, validate_runtime_conf
from fate_flow.errors import ArgumentError, DSLError, FlowError, RequiredArgumentsError

ROOT = Path(__file__).resolve().parents[1]
FATE_REFERENCE = Path("/work/shared/fate-reference")
EXAMPLES = {
    "toy_dsl": [ROOT / "examples/toy_example/toy_example_dsl.json",
                FATE_REFERENCE / "toy_example/toy_example_dsl.json"],
    "toy_conf": [ROOT / "examples/toy_example/toy_example_conf.json",
                 FATE_REFERENCE / "toy_example/toy_example_conf.json"],
    "lr_dsl": [FATE_REFERENCE / "fate_flow_examples/test_hetero_lr_job_dsl.json"],
    "lr_conf": [FATE_REFERENCE / "fate_flow_examples/test_hetero_lr_job_conf.json"],
    "predict_conf": [FATE_REFERENCE / "fate_flow_examples/test_predict_conf.json"],
}


def load_example(key: str) -> dict:
    """The example JSON file ``key`` from the repo's examples/ or the shared FATE reference tree."""
    for path in EXAMPLES[key]:
        if path.is_file():
            return json.loads(path.read_text())
    pytest.skip(f"example {key} is not available")


# ----------------------------------------------------------------------------- test components

class DataIOParam(BaseParam):
    def __init__(self):
        self.input_format = "dense"
        self.with_label = False
        self.label_name = "y"
        self.label_type = "int"
        self.output_format = "dense"


class TransformParam(BaseParam):
    def __init__(self):
        self.transform_cols = -1
        self.transform_type = "bin_num"


class FeatureBinningParam(BaseParam):
    def __init__(self):
        self.method = "quantile"
        self.bin_num = 10
        self.transform_param = TransformParam()
        self.need_run = True


class FeatureSelectionParam(BaseParam):
    def __init__(self):
        self.select_col_indexes = -1
        self.filter_methods = ["unique_value"]
        self.need_run = True


class InitParam(BaseParam):
    def __init__(self):
        self.init_method = "random_uniform"
        self.fit_intercept = True


class EncryptParam(BaseParam):
    def __init__(self):
        self.method = "Paillier"
        self.key_length = 1024


class HeteroLogisticParam(BaseParam):
    def __init__(self):
        self.penalty = "L2"
        self.alpha = 1.0
        self.optimizer = "sgd"
        self.batch_size = -1
        self.learning_rate = 0.01
        self.max_iter = 100
        self.early_stop = "diff"
        self.init_param = InitParam()
        self.encrypt_param = EncryptParam()

    def check(self):
        check_positive_int("max_iter", self.max_iter)
        if self.penalty not in ("L1", "L2", "none"):
            raise ValueError(f"penalty should be L1, L2 or none, got {self.penalty!r}")


class EvaluateParam(BaseParam):
    def __init__(self):
        self.eval_type = "binary"
        self.pos_label = 1
        self.need_run = True


class SecureAddExampleParam(BaseParam):
    def __init__(self):
        self.seed = None
        self.partition = 1
        self.data_num = 1000

    def check(self):
        check_positive_int("data_num", self.data_num)


class IntersectParam(BaseParam):
    def __init__(self):
        self.intersect_method = "raw"


class HomoLogisticParam(BaseParam):
    def __init__(self):
        self.max_iter = 100


def _spec(module, programs, param_class, **extra):
    return registry.ComponentSpec(module=module, programs=programs,
                                  param_class=f"{__name__}:{param_class.__name__}", **extra)


def _programs(package, guest, host=None, arbiter=None):
    programs = {"guest": f"{package}.{guest}", "host": f"{package}.{host or guest}"}
    if arbiter:
        programs["arbiter"] = f"{package}.{arbiter}"
    return programs


_LR = "federatedml.linear_model.logistic_regression.hetero_logistic_regression"
TEST_SPECS = [
    _spec("DataIO", _programs("federatedml.util", "data_io:DataIO"), DataIOParam),
    _spec("HeteroFeatureBinning",
          _programs("federatedml.feature.hetero_feature_binning",
                    "hetero_binning_guest:HeteroFeatureBinningGuest", "hetero_binning_host:HeteroFeatureBinningHost"),
          FeatureBinningParam, default_conf={"bin_num": 10, "cols": -1}),
    _spec("HeteroFeatureSelection",
          _programs("federatedml.feature.hetero_feature_selection",
                    "feature_selection_guest:HeteroFeatureSelectionGuest",
                    "feature_selection_host:HeteroFeatureSelectionHost"),
          FeatureSelectionParam),
    _spec("HeteroLR",
          _programs(_LR, "hetero_lr_guest:HeteroLRGuest", "hetero_lr_host:HeteroLRHost",
                    "hetero_lr_arbiter:HeteroLRArbiter"),
          HeteroLogisticParam, default_conf={"eps": 1e-5, "converge_func": "diff", "max_iter": 100},
          required_roles=frozenset({"guest", "host", "arbiter"}),
          retired_params={"eps": "tol", "converge_func": "early_stop"}),
    _spec("Evaluation", _programs("federatedml.evaluation", "evaluation:Evaluation"), EvaluateParam,
          need_deploy=False),
    _spec("Intersection",
          _programs("federatedml.statistic.intersect", "intersect_model:IntersectGuest",
                    "intersect_model:IntersectHost"),
          IntersectParam, default_conf={"intersect_method": "rsa"}),
    _spec("HomoLR",
          _programs("federatedml.linear_model.logistic_regression.homo_logsitic_regression",
                    "homo_lr_guest:HomoLRGuest", "homo_lr_host:HomoLRHost", "homo_lr_arbiter:HomoLRArbiter"),
          HomoLogisticParam),
]


@pytest.fixture(autouse=True)
def test_components(monkeypatch):
    """Register the test specs for this test only; the built-in table is loaded first."""
    registry.modules()
    toy = dataclasses.replace(registry.get_spec("SecureAddExample"),
                              param_class=f"{__name__}:SecureAddExampleParam")
    for spec in TEST_SPECS + [toy]:
        monkeypatch.setitem(registry._REGISTRY, spec.module, spec)


@pytest.fixture
def lr_dsl():
    return load_example("lr_dsl")


@pytest.fixture
def lr_conf():
    conf = load_example("lr_conf")
    conf["job_parameters"]["work_mode"] = 0
    return conf


@pytest.fixture
def lr_job(lr_dsl, lr_conf):
    return parse_job(lr_dsl, lr_conf)


def without_code_path(predict_dsl):
    stripped = copy.deepcopy(predict_dsl)
    for entry in stripped["components"].values():
        entry.pop("CodePath", None)
    return stripped


# ----------------------------------------------------------------------------- ids

@pytest.mark.parametrize("roles, key", [
    ({"guest": [9999], "host": [10000], "arbiter": [10000]}, "arbiter-10000#guest-9999#host-10000"),
    ({}, "all"),
    ({"local": [0]}, "local-0"),
    ({"host": [10000, 9999, 10000], "guest": ["9999"]}, "guest-9999#host-9999_10000"),
])
def test_all_party_key(roles, key):
    assert all_party_key(roles) == key


def test_gen_model_id():
    assert gen_model_id({"guest": [9999], "host": [10000]}) == "guest-9999#host-10000#model"
    assert gen_model_id({"local": [0]}) == "local-0#model"


# ----------------------------------------------------------------------------- runtime conf

def test_validate_runtime_conf_normalises_a_copy(lr_conf):
    lr_conf["role"]["host"] = ["10000"]
    lr_conf["initiator"]["party_id"] = "9999"
    lr_conf.update(function="submit_job", config="/abs/conf.json", dsl="/abs/dsl.json", local={"role": "guest"})
    original = copy.deepcopy(lr_conf)
    conf = validate_runtime_conf(lr_conf, server_work_mode=0)
    assert lr_conf == original
    assert conf["role"] == {"guest": [9999], "host": [10000], "arbiter": [10000]}
    assert conf["initiator"] == {"role": "guest", "party_id": 9999}
    assert (conf["function"], conf["config"], conf["dsl"]) == ("submit_job", "/abs/conf.json", "/abs/dsl.json")


def test_validate_runtime_conf_accepts_predict_conf():
    conf = validate_runtime_conf(load_example("predict_conf"), server_work_mode=0)
    assert conf["job_parameters"]["job_type"] == "predict"


@pytest.mark.parametrize("mutate, error, words", [
    (lambda c: c.pop("role"), RequiredArgumentsError, ["role"]),
    (lambda c: c.pop("initiator"), RequiredArgumentsError, ["initiator"]),
    (lambda c: c["initiator"].pop("party_id"), RequiredArgumentsError, ["initiator.party_id"]),
    (lambda c: c["job_parameters"].pop("work_mode"), RequiredArgumentsError, ["job_parameters.work_mode"]),
    (lambda c: c.update(role=[9999]), ArgumentError, ["role"]),
    (lambda c: c.update(role={}), ArgumentError, ["role"]),
    (lambda c: c["role"].update(host=[]), ArgumentError, ["role.host"]),
    (lambda c: c["role"].update(guest=["abc"]), ArgumentError, ["role.guest[0]"]),
    (lambda c: c["role"].update(host=[10000, 1.5]), ArgumentError, ["role.host[1]"]),
    (lambda c: c["initiator"].update(party_id=True), ArgumentError, ["initiator.party_id"]),
    (lambda c: c["initiator"].update(party_id=1), DSLError,
     ["initiator is guest 1", "not one of the job's guest parties", "role.guest is [9999]"]),
    (lambda c: c["initiator"].update(role="host"), DSLError,
     ["initiator is host 9999", "not one of the job's host parties", "role.host is [10000]"]),
    (lambda c: c["initiator"].update(role="local"), DSLError, ["initiator is local 9999", "the job has no local"]),
    (lambda c: c["job_parameters"].update(work_mode=1), FlowError,
     ["server run on standalone can not support cluster mode job"]),
    (lambda c: c["job_parameters"].update(work_mode=2), ArgumentError, ["job_parameters.work_mode"]),
    (lambda c: c["job_parameters"].update(work_mode="0"), ArgumentError, ["job_parameters.work_mode"]),
    (lambda c: c["job_parameters"].update(timeout="1h"), ArgumentError, ["job_parameters.timeout"]),
    (lambda c: c["job_parameters"].update(job_type="serve"), ArgumentError, ["job_parameters.job_type"]),
    (lambda c: c["job_parameters"].update(job_type="predict"), ArgumentError, ["job_parameters.model_id"]),
    (lambda c: c.update(job_parameters=[]), ArgumentError, ["job_parameters"]),
    (lambda c: c.update(role_parameters=[]), ArgumentError, ["role_parameters"]),
    (lambda c: c["role_parameters"].update(host=[]), ArgumentError, ["role_parameters.host"]),
    (lambda c: c["role_parameters"]["guest"].update(dataio_0=[1]), ArgumentError,
     ["role_parameters.guest.dataio_0"]),
    (lambda c: c.update(algorithm_parameters="x"), ArgumentError, ["algorithm_parameters"]),
    (lambda c: c["algorithm_parameters"].update(hetero_lr_0=3), ArgumentError,
     ["algorithm_parameters.hetero_lr_0"]),
    (lambda c: c["role_parameters"]["guest"]["args"]["data"]["train_data"].append({"name": "a", "namespace": "b"}),
     ArgumentError, ["role_parameters.guest.args.data.train_data"]),
    (lambda c: c["role_parameters"]["host"]["args"]["data"].update(train_data=[{"name": "a"}]),
     ArgumentError, ["role_parameters.host.args.data.train_data[0]"]),
])
def test_validate_runtime_conf_refuses(lr_conf, mutate, error, words):
    mutate(lr_conf)
    with pytest.raises(error) as caught:
        validate_runtime_conf(lr_conf, server_work_mode=0)
    assert type(caught.value) is error
    for word in words:
        assert word in caught.value.retmsg


def test_cluster_server_refuses_standalone_job(lr_conf):
    with pytest.raises(FlowError, match="work_mode"):
        validate_runtime_conf(lr_conf, server_work_mode=1)


# ----------------------------------------------------------------------------- toy example

def test_toy_example():
    job = parse_job(load_example("toy_dsl"), load_example("toy_conf"))
    name = "secure_add_example_0"
    assert job.component_list() == [name]
    assert job.dependencies() == {}
    assert job.parties(name) == [("guest", 10000), ("host", 10000)]
    guest = job.component_parameters(name, "guest", 10000)
    assert guest["SecureAddExampleParam"] == {"seed": 123, "partition": 48, "data_num": 1000}
    assert job.component_parameters(name, "host", "10000")["SecureAddExampleParam"]["seed"] == 321
    assert guest["local"] == {"role": "guest", "party_id": 10000}
    assert guest["module"] == "SecureAddExample"
    assert guest["CodePath"] == registry.get_spec("SecureAddExample").code_path("guest")
    assert set(guest) == {"SecureAddExampleParam", "initiator", "job_parameters", "role",
                          "local", "CodePath", "module"}
    assert job.job_args("guest", 10000) == {}
    assert job.dependency_answer("host", 10000) == {
        "component_list": [name], "dependencies": {}, "component_module": {name: "SecureAddExample"},
        "component_need_run": {name: True}}
    job.validate_all_parameters()


def test_toy_example_default_conf_applies():
    conf = load_example("toy_conf")
    del conf["algorithm_parameters"]
    job = parse_job(load_example("toy_dsl"), conf)
    assert job.component_parameters("secure_add_example_0", "host", 10000)["SecureAddExampleParam"] == {
        "seed": 321, "partition": 1, "data_num": 10000}


# ----------------------------------------------------------------------------- hetero LR DAG

def test_hetero_lr_dependency_answer(lr_job):
    answer = lr_job.dependency_answer("guest", "9999")
    names = ["dataio_0", "hetero_feature_binning_0", "hetero_feature_selection_0", "hetero_lr_0", "evaluation_0"]
    assert answer["component_list"] == names
    assert answer["dependencies"] == {
        "hetero_feature_binning_0": [{"component_name": "dataio_0", "type": "data"}],
        "hetero_feature_selection_0": [{"component_name": "hetero_feature_binning_0", "type": "data"},
                                       {"component_name": "hetero_feature_binning_0", "type": "model"}],
        "hetero_lr_0": [{"component_name": "hetero_feature_selection_0", "type": "data"}],
        "evaluation_0": [{"component_name": "hetero_lr_0", "type": "data"}],
    }
    assert answer["component_module"]["hetero_lr_0"] == "HeteroLR"
    assert answer["component_need_run"] == dict.fromkeys(names, True)
    arbiter = lr_job.dependency_answer("arbiter", 10000)["component_need_run"]
    assert arbiter == {name: name == "hetero_lr_0" for name in names}


def test_dependency_answer_refuses_unknown_party(lr_job):
    with pytest.raises(ArgumentError, match="party_id"):
        lr_job.dependency_answer("guest", 10000)
    with pytest.raises(ArgumentError, match="role"):
        lr_job.dependency_answer("local", 0)


def test_hetero_lr_graph_queries(lr_job, lr_dsl):
    assert lr_job.upstream("hetero_feature_selection_0") == ["hetero_feature_binning_0"]
    assert lr_job.downstream("hetero_feature_binning_0") == ["hetero_feature_selection_0"]
    assert lr_job.upstream("dataio_0") == []
    assert lr_job.module("evaluation_0") == "Evaluation"
    assert lr_job.component_input("hetero_lr_0") == lr_dsl["components"]["hetero_lr_0"]["input"]
    assert lr_job.component_output("evaluation_0") == {"data": ["evaluate"]}
    assert lr_job.parties("hetero_lr_0") == [("guest", 9999), ("host", 10000), ("arbiter", 10000)]
    assert lr_job.parties("dataio_0") == [("guest", 9999), ("host", 10000)]
    with pytest.raises(ArgumentError, match="nope_0"):
        lr_job.module("nope_0")


def test_hetero_lr_job_args(lr_job):
    assert lr_job.job_args("guest", 9999) == {
        "data": {"train_data": {"name": "breast_hetero_guest", "namespace": "fate_flow_test_breast_hetero"}}}
    assert lr_job.job_args("arbiter", 10000) == {}


def test_hetero_lr_component_parameters(lr_job, lr_conf):
    guest = lr_job.component_parameters("hetero_lr_0", "guest", 9999)
    assert guest["HeteroLogisticParam"] == {
        "penalty": "L2", "alpha": 0.01, "optimizer": "rmsprop", "batch_size": 320, "learning_rate": 0.15,
        "max_iter": 3, "early_stop": "diff",
        "init_param": {"init_method": "random_uniform", "fit_intercept": True},
        "encrypt_param": {"method": "Paillier", "key_length": 1024},
    }
    assert guest["job_parameters"] == lr_conf["job_parameters"]
    assert guest["role"] == lr_conf["role"]
    assert guest["CodePath"] == f"{_LR.replace('.', '/')}/hetero_lr_guest.py/HeteroLRGuest"
    assert lr_job.component_parameters("hetero_lr_0", "arbiter", 10000)["local"] == {
        "role": "arbiter", "party_id": 10000}
    host_dataio = lr_job.component_parameters("dataio_0", "host", 10000)["DataIOParam"]
    assert host_dataio == {"input_format": "dense", "with_label": False, "label_name": "y",
                           "label_type": "int", "output_format": "dense"}
    binning = lr_job.component_parameters("hetero_feature_binning_0", "guest", 9999)["FeatureBinningParam"]
    assert "cols" not in binning
    with pytest.raises(DSLError, match="does not run on role arbiter"):
        lr_job.component_parameters("dataio_0", "arbiter", 10000)


def test_component_parameters_keep_local_from_conf(lr_dsl, lr_conf):
    lr_conf["local"] = {"role": "guest", "party_id": 9999, "extra": 1}
    params = parse_job(lr_dsl, lr_conf).component_parameters("dataio_0", "host", 10000)
    assert params["local"] == {"role": "host", "party_id": 10000, "extra": 1}


def test_hetero_lr_predict_dsl_matches_spec(lr_job):
    expected = {"components": {
        "dataio_0": {"module": "DataIO", "input": {"model": ["pipeline.dataio_0.dataio"],
                                                   "data": {"data": ["args.eval_data"]}},
                     "output": {"data": ["train"]}},
        "hetero_feature_binning_0": {"module": "HeteroFeatureBinning",
                                     "input": {"model": ["pipeline.hetero_feature_binning_0.hetero_feature_binning"],
                                               "data": {"data": ["dataio_0.train"]}},
                                     "output": {"data": ["train"]}},
        "hetero_feature_selection_0": {"module": "HeteroFeatureSelection",
                                       "input": {"model": ["pipeline.hetero_feature_selection_0.selected"],
                                                 "data": {"data": ["hetero_feature_binning_0.train"]}},
                                       "output": {"data": ["train"]}},
        "hetero_lr_0": {"module": "HeteroLR",
                        "input": {"model": ["pipeline.hetero_lr_0.hetero_lr"],
                                  "data": {"eval_data": ["hetero_feature_selection_0.train"]}},
                        "output": {"data": ["train"]}},
    }}
    guest = lr_job.predict_dsl("guest")
    assert without_code_path(guest) == expected
    assert guest["components"]["dataio_0"]["CodePath"] == "federatedml/util/data_io.py/DataIO"
    arbiter = lr_job.predict_dsl("arbiter")
    assert [name for name, entry in arbiter["components"].items() if "CodePath" in entry] == ["hetero_lr_0"]


def test_predict_dsl_passes_through_non_deployed_components():
    dsl = {"components": {
        "dataio_0": {"module": "DataIO", "input": {"data": {"data": ["args.train_data"]}},
                     "output": {"data": ["train"], "model": ["dataio"]}},
        "evaluation_0": {"module": "Evaluation", "input": {"data": {"data": ["dataio_0.train"]}},
                         "output": {"data": ["evaluate"]}},
        "hetero_lr_0": {"module": "HeteroLR", "input": {"data": {"eval_data": ["evaluation_0.evaluate"]}}},
        "hetero_lr_1": {"module": "HeteroLR", "input": {"data": {"eval_data": ["args.train_data"]}}},
    }}
    predict = without_code_path(parse_job(dsl, _two_party_conf()).predict_dsl("guest"))["components"]
    assert "evaluation_0" not in predict
    assert predict["hetero_lr_0"] == {"module": "HeteroLR", "input": {"data": {"eval_data": ["dataio_0.train"]}}}
    assert predict["hetero_lr_1"]["input"]["data"] == {"eval_data": "args.eval_data"}


def test_predict_mode_uses_training_parameters(lr_job, lr_conf):
    predict_conf = load_example("predict_conf")
    inference = lr_job.predict_dsl("guest")
    job = parse_job(inference, predict_conf, train_runtime_conf=lr_conf, mode="predict")
    assert job.component_list() == ["dataio_0", "hetero_feature_binning_0", "hetero_feature_selection_0",
                                    "hetero_lr_0"]
    assert job.dependencies()["hetero_feature_selection_0"] == [
        {"component_name": "hetero_feature_binning_0", "type": "data"}]
    params = job.component_parameters("hetero_lr_0", "guest", 9999)
    assert params["HeteroLogisticParam"]["max_iter"] == 3
    assert params["job_parameters"] == lr_conf["job_parameters"]
    assert job.job_args("host", 10000)["data"]["eval_data"]["name"] == "breast_hetero_host"
    job.validate_all_parameters()
    with pytest.raises(DSLError, match="train jobs"):
        job.predict_dsl("guest")


def test_predict_mode_needs_training_conf(lr_job):
    with pytest.raises(DSLError, match="training job"):
        parse_job(lr_job.predict_dsl("guest"), load_example("predict_conf"), mode="predict")


def test_predict_mode_does_not_check_names():
    dsl = {"components": {"reader": {"module": "SecureAddExample"}}}
    conf = load_example("toy_conf")
    assert parse_job(dsl, conf, train_runtime_conf=conf, mode="predict").component_list() == ["reader"]


# ----------------------------------------------------------------------------- ordering

def _two_party_conf(**role_parameters):
    return {
        "initiator": {"role": "guest", "party_id": 9999},
        "job_parameters": {"work_mode": 0},
        "role": {"guest": [9999], "host": [10000, 10001], "arbiter": [10000]},
        "role_parameters": {
            "guest": {"args": {"data": {"train_data": [{"name": "g", "namespace": "n"}]}},
                      **role_parameters.get("guest", {})},
            "host": {"args": {"data": {"train_data": [{"name": "h1", "namespace": "n"},
                                                      {"name": "h2", "namespace": "n"}]}},
                     **role_parameters.get("host", {})},
        },
        "algorithm_parameters": {},
    }


def test_topological_order_is_fates_stack_order():
    dsl = {"components": {
        "dataio_0": {"module": "DataIO", "input": {"data": {"data": ["args.train_data"]}},
                     "output": {"data": ["train"]}},
        "dataio_1": {"module": "DataIO", "input": {"data": {"data": ["args.train_data"]}},
                     "output": {"data": ["train"]}},
        "evaluation_0": {"module": "Evaluation",
                         "input": {"data": {"data": ["dataio_0.train", "dataio_1.train"]}}},
    }}
    job = parse_job(dsl, _two_party_conf())
    assert job.component_list() == ["dataio_1", "dataio_0", "evaluation_0"]
    assert job.component_list() == parse_job(dsl, _two_party_conf()).component_list()


# ----------------------------------------------------------------------------- parameter merging

def _lr_dsl_with_validation():
    return {"components": {
        "dataio_0": {"module": "DataIO", "input": {"data": {"data": ["args.train_data"]}},
                     "output": {"data": ["train"], "model": ["dataio"]}},
        "hetero_lr_0": {"module": "HeteroLR", "input": {"data": {"train_data": ["dataio_0.train"]}},
                        "output": {"data": ["train"], "model": ["hetero_lr"]}},
        "hetero_lr_1": {"module": "HeteroLR", "input": {"data": {"eval_data": ["dataio_0.train"]},
                                                        "model": ["hetero_lr_0.hetero_lr"]},
                        "output": {"data": ["predict"]}},
        "evaluation_0": {"module": "Evaluation", "input": {"data": {"data": ["hetero_lr_1.predict"]}}},
    }}


def test_role_parameters_are_indexed_per_party():
    conf = _two_party_conf(host={"dataio_0": {"with_label": [False, True], "label_name": ["a"],
                                              "unknown_key": [1, 2]}})
    job = parse_job(_lr_dsl_with_validation(), conf)
    first = job.component_parameters("dataio_0", "host", 10000)["DataIOParam"]
    second = job.component_parameters("dataio_0", "host", 10001)["DataIOParam"]
    assert (first["with_label"], first["label_name"]) == (False, "a")
    assert (second["with_label"], second["label_name"]) == (True, "y")  # shorter list: default kept
    assert "unknown_key" not in first


def test_algorithm_and_nested_parameters_merge():
    conf = _two_party_conf(guest={"hetero_lr_0": {"encrypt_param": {"key_length": [2048]},
                                                  "init_param": {"no_such": [1]}}})
    conf["algorithm_parameters"] = {
        "hetero_lr_0": {"max_iter": 7, "eps": 1e-6, "init_param": {"init_method": "zeros", "bogus": 1}},
        "not_in_dsl_0": {"max_iter": 0},
    }
    job = parse_job(_lr_dsl_with_validation(), conf)
    guest = job.component_parameters("hetero_lr_0", "guest", 9999)["HeteroLogisticParam"]
    host = job.component_parameters("hetero_lr_0", "host", 10001)["HeteroLogisticParam"]
    assert guest["max_iter"] == host["max_iter"] == 7
    assert "eps" not in guest
    assert guest["init_param"] == host["init_param"] == {"init_method": "zeros", "fit_intercept": True}
    assert guest["encrypt_param"] == {"method": "Paillier", "key_length": 2048}
    assert host["encrypt_param"]["key_length"] == 1024
    # a task drops the unknown names (as FATE does); the submit refuses them
    with pytest.raises(ArgumentError) as caught:
        job.validate_all_parameters()
    assert caught.value.field == "algorithm_parameters.hetero_lr_0.init_param.bogus"
    assert "role_parameters.guest.hetero_lr_0.init_param.no_such" in caught.value.retmsg


def test_model_input_inherits_role_parameters():
    conf = _two_party_conf(guest={"hetero_lr_1": {"max_iter": [50]}},
                           host={"hetero_lr_0": {"max_iter": [5, 6]}})
    conf["algorithm_parameters"] = {"hetero_lr_0": {"alpha": 0.5}, "hetero_lr_1": {"alpha": 0.9}}
    job = parse_job(_lr_dsl_with_validation(), conf)
    for role, party_id in job.parties("hetero_lr_0"):
        assert (job.component_parameters("hetero_lr_1", role, party_id)
                == job.component_parameters("hetero_lr_0", role, party_id))
    assert job.component_parameters("hetero_lr_1", "host", 10001)["HeteroLogisticParam"]["max_iter"] == 6
    # Model references are linked before data references, as FATE does.
    assert job.dependencies()["hetero_lr_1"] == [{"component_name": "hetero_lr_0", "type": "model"},
                                                 {"component_name": "dataio_0", "type": "data"}]
    assert job.upstream("hetero_lr_1") == ["hetero_lr_0", "dataio_0"]


def test_need_run_false_and_inherited():
    conf = _two_party_conf(host={"evaluation_0": {"need_run": [False, True]}})
    job = parse_job(_lr_dsl_with_validation(), conf)
    assert job.parties("evaluation_0") == [("guest", 9999), ("host", 10001)]
    assert job.dependency_answer("host", 10000)["component_need_run"]["evaluation_0"] is False
    assert job.need_run("dataio_0", "arbiter", 10000) is False
    assert job.need_run("dataio_0", "host", 12345) is False


def test_role_parameter_leaf_must_be_a_list():
    conf = _two_party_conf(guest={"dataio_0": {"with_label": True}})
    job = parse_job(_lr_dsl_with_validation(), conf)
    with pytest.raises(ArgumentError, match=r"role_parameters\.guest\.dataio_0\.with_label"):
        job.component_parameters("dataio_0", "guest", 9999)


@pytest.mark.parametrize("section, values, field", [
    ("algorithm", {"init_param": "zeros"}, "algorithm_parameters.hetero_lr_0.init_param"),
    ("role", {"init_param": ["zeros"]}, "role_parameters.guest.hetero_lr_0.init_param"),
    ("role", {"init_param": {"init_method": "zeros"}}, "role_parameters.guest.hetero_lr_0.init_param.init_method"),
])
def test_nested_parameters_must_be_dicts(section, values, field):
    conf = _two_party_conf()
    if section == "algorithm":
        conf["algorithm_parameters"] = {"hetero_lr_0": values}
    else:
        conf["role_parameters"]["guest"]["hetero_lr_0"] = values
    with pytest.raises(ArgumentError) as caught:
        parse_job(_lr_dsl_with_validation(), conf).component_parameters("hetero_lr_0", "guest", 9999)
    assert caught.value.field == field


def test_role_parameters_may_give_a_nested_dict_per_party():
    conf = _two_party_conf(host={"hetero_lr_0": {"init_param": [{"init_method": "zeros"}, {"fit_intercept": False}]}})
    job = parse_job(_lr_dsl_with_validation(), conf)
    first = job.component_parameters("hetero_lr_0", "host", 10000)["HeteroLogisticParam"]["init_param"]
    second = job.component_parameters("hetero_lr_0", "host", 10001)["HeteroLogisticParam"]["init_param"]
    assert first == {"init_method": "zeros", "fit_intercept": True}
    assert second == {"init_method": "random_uniform", "fit_intercept": False}


def test_job_mode():
    assert dsl_parser.job_mode({"job_parameters": {"job_type": "predict"}}) == "predict"
    assert dsl_parser.job_mode({"job_parameters": {"work_mode": 0}}) == "train"


def test_check_params_names_component_and_role():
    conf = _two_party_conf(host={"hetero_lr_0": {"penalty": ["L2", "L3"]}})
    job = parse_job(_lr_dsl_with_validation(), conf)
    assert job.check_params("hetero_lr_0", "host", 10000).penalty == "L2"
    with pytest.raises(DSLError) as caught:
        job.check_params("hetero_lr_0", "host", 10001)
    assert all(word in caught.value.retmsg for word in ("hetero_lr_0", "host", "10001", "L3"))
    with pytest.raises(DSLError, match="hetero_lr_0"):
        job.validate_all_parameters()


def test_validate_all_parameters_refuses_bad_common_value():
    conf = _two_party_conf()
    conf["algorithm_parameters"] = {"hetero_lr_0": {"max_iter": 0}}
    with pytest.raises(DSLError, match="max_iter"):
        parse_job(_lr_dsl_with_validation(), conf).validate_all_parameters()


def test_validate_all_parameters_refuses_missing_party_input():
    dsl = _lr_dsl_with_validation()
    conf = _two_party_conf()
    del conf["role_parameters"]["host"]["args"]
    with pytest.raises(ArgumentError, match=r"role_parameters\.host\.args\.data\.train_data"):
        parse_job(dsl, conf).validate_all_parameters()


# ----------------------------------------------------------------------------- malformed DSLs

def _dsl_with(**components):
    dsl = _lr_dsl_with_validation()
    dsl["components"].update(components)
    return dsl


@pytest.mark.parametrize("dsl, error, words", [
    ({}, DSLError, ["there are no components"]),
    ({"components": {}}, DSLError, ["there are no components"]),
    ({"components": [{"module": "DataIO"}]}, DSLError, ["components"]),
    ([], DSLError, ["dsl"]),
    (_dsl_with(union_0="x"), DSLError, ["union_0"]),
    (_dsl_with(union_0={"input": {}}), DSLError, ["union_0", "module"]),
    (_dsl_with(union_0={"module": "Onion"}), DSLError, ["component union_0: unknown module Onion"]),
    (_dsl_with(evaluation_1={"module": "Evaluation", "input": {"data": {"data": ["nothing_0.train"]}}}),
     DSLError, ["evaluation_1", "unknown module input nothing_0.train"]),
    (_dsl_with(evaluation_1={"module": "Evaluation", "input": {"data": {"data": ["dataio_0.test"]}}}),
     DSLError, ["evaluation_1", "unknown module input dataio_0.test"]),
    (_dsl_with(evaluation_1={"module": "Evaluation", "input": {"data": {"data": ["dataio_0"]}}}),
     DSLError, ["evaluation_1", "unknown module input dataio_0"]),
    (_dsl_with(evaluation_1={"module": "Evaluation", "input": {"data": {"data": ["args.eval_data"]}}}),
     DSLError, ["evaluation_1", "args.eval_data"]),
    (_dsl_with(hetero_lr_2={"module": "HeteroLR", "input": {"model": ["hetero_lr_0.lr"]}}),
     DSLError, ["hetero_lr_2", "unknown module input hetero_lr_0.lr"]),
    (_dsl_with(hetero_lr_2={"module": "HeteroLR", "input": {"isometric_model": ["evaluation_0.x"]}}),
     DSLError, ["hetero_lr_2", "evaluation_0.x"]),
    (_dsl_with(hetero_lr_2={"module": "HeteroLR", "input": {"model": ["pipeline.hetero_lr_0.hetero_lr"]}}),
     DSLError, ["hetero_lr_2", "pipeline.hetero_lr_0.hetero_lr"]),
    (_dsl_with(dataio_0={"module": "DataIO", "input": {"data": {"data": ["evaluation_0.evaluate"]}},
                         "output": {"data": ["train"]}},
               evaluation_0={"module": "Evaluation", "input": {"data": {"data": ["hetero_lr_1.predict"]}},
                             "output": {"data": ["evaluate"]}}),
     DSLError, ["component dependencies form loop, please check", "dataio_0", "evaluation_0"]),
    (_dsl_with(evaluation_1={"module": "Evaluation", "input": {"data": {"data": ["evaluation_1.out"]}},
                             "output": {"data": ["out"]}}),
     DSLError, ["form loop", "evaluation_1"]),
    (_dsl_with(evaluation={"module": "Evaluation"}), DSLError, ["name_index", "evaluation"]),
    (_dsl_with(evaluation_x={"module": "Evaluation"}), DSLError, ["index of component's name", "evaluation_x"]),
    (_dsl_with(evaluation_2={"module": "Evaluation"}), DSLError, ["consecutive", "evaluation"]),
    (_dsl_with(dataio_1={"module": "Evaluation"}), DSLError, ["same name", "dataio_1"]),
    (_dsl_with(evaluation_1={"module": "Evaluation", "input": ["dataio_0.train"]}),
     DSLError, ["evaluation_1", "input"]),
    (_dsl_with(evaluation_1={"module": "Evaluation", "input": {"data": ["dataio_0.train"]}}),
     DSLError, ["evaluation_1", "input.data"]),
    (_dsl_with(evaluation_1={"module": "Evaluation", "input": {"data": {"data": [3]}}}),
     DSLError, ["evaluation_1", "input.data.data"]),
    (_dsl_with(evaluation_1={"module": "Evaluation", "input": {"models": ["hetero_lr_0.hetero_lr"]}}),
     DSLError, ["evaluation_1", "models"]),
    (_dsl_with(evaluation_1={"module": "Evaluation", "output": {"data": "x"}}),
     DSLError, ["evaluation_1", "output.data"]),
    (_dsl_with(evaluation_1={"module": "Evaluation", "need_deploy": "yes"}),
     DSLError, ["evaluation_1", "need_deploy"]),
])
def test_malformed_dsl_is_refused(dsl, error, words):
    with pytest.raises(error) as caught:
        parse_job(dsl, _two_party_conf())
    assert type(caught.value) is error
    for word in words:
        assert word in caught.value.retmsg


def test_parser_refuses_bad_mode_and_version(lr_dsl, lr_conf):
    with pytest.raises(ArgumentError, match="mode"):
        parse_job(lr_dsl, lr_conf, mode="serve")
    with pytest.raises(ArgumentError, match="dsl_version"):
        parse_job(lr_dsl, dict(lr_conf, dsl_version=2))
    with pytest.raises(ArgumentError, match=r"role\.guest\[0\]"):
        parse_job(lr_dsl, dict(lr_conf, role={"guest": ["x"]}))


def test_parameters_for_unknown_components_are_ignored(lr_dsl, lr_conf):
    lr_conf["algorithm_parameters"]["intersect_0"] = {"intersect_method": "raw"}
    lr_conf["role_parameters"]["guest"]["intersect_0"] = {"anything": 1}
    warnings = parse_job(lr_dsl, lr_conf).validate_all_parameters()
    assert "algorithm_parameters.intersect_0 is ignored: the DSL has no component intersect_0" in warnings
    assert "role_parameters.guest.intersect_0 is ignored: the DSL has no component intersect_0" in warnings


@pytest.mark.parametrize("example", ["hetero_feature_binning/test_hetero_binning_job",
                                     "hetero_feature_selection/test_hetero_feature_selection_job",
                                     "hetero_logistic_regression/test_hetero_lr_train_job",
                                     "homo_logistic_regression/test_homolr_train_job"])
def test_reference_examples_parse(example):
    base = Path("/work/shared/fate-reference/federatedml-1.x-examples")
    if not base.is_dir():
        pytest.skip("FATE reference examples are not available")
    dsl = json.loads((base / f"{example}_dsl.json").read_text())
    conf = json.loads((base / f"{example}_conf.json").read_text())
    job = parse_job(dsl, conf)
    assert set(job.component_list()) == set(dsl["components"])
    job.predict_dsl("guest")


def test_parser_imports_no_server_code():
    code = ("import sys, fate_flow.driver.dsl_parser; "
            "print(sorted(m for m in ('flask', 'peewee', 'requests') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_module_exposes_version_registry():
    assert isinstance(parse_job({"components": {"secure_add_example_0": {"module": "SecureAddExample"}}},
                                load_example("toy_conf")), dsl_parser.DSLParserV1)
