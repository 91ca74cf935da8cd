"""What is checked at submit, before anything is created, with the built-in components.

Unknown parameter names, modules and DSL references are refused with a hint; roles a module
can not run without, backends this server does not run, standalone input tables that do not
exist and an initiator outside its role are refused; what FATE silently ignores (a parameter
section of no DSL component, an older FATE's parameter name its own example confs still set)
is accepted with a warning in the answer and the job's log. Every example conf/DSL pair under
examples/ still passes.
"""
from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest

from fate_flow.driver.dsl_parser import parse_job, validate_runtime_conf
from fate_flow.errors import ArgumentError, DSLError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FEDERATEDML = EXAMPLES / "federatedml-1.x-examples"


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def standalone(conf: dict) -> dict:
    conf = copy.deepcopy(conf)
    conf["job_parameters"]["work_mode"] = 0  # some of FATE's examples say 1 (cluster)
    return conf


LR_DSL = load(EXAMPLES / "fate_flow/test_hetero_lr_job_dsl.json")  # guest 9999, host 10000, arbiter 10000
LR_CONF = standalone(load(EXAMPLES / "fate_flow/test_hetero_lr_job_conf.json"))
LR_TABLES = [("fate_flow_test_breast_hetero", "breast_hetero_guest"), ("fate_flow_test_breast_hetero", "breast_hetero_host")]
# FATE's hetero LR train example: its conf has a section for intersect_0, its DSL names intersection_0
FML_LR_DSL = load(FEDERATEDML / "hetero_logistic_regression/test_hetero_lr_train_job_dsl.json")
FML_LR_CONF = load(FEDERATEDML / "hetero_logistic_regression/test_hetero_lr_train_job_conf.json")
FML_LR_TABLES = [("experiment", "breast_hetero_guest"), ("experiment", "breast_hetero_host")]
HOMO_DSL = load(FEDERATEDML / "homo_logistic_regression/test_homolr_train_job_dsl.json")
HOMO_CONF = load(FEDERATEDML / "homo_logistic_regression/test_homolr_train_job_conf.json")
INTERSECT_DSL = load(FEDERATEDML / "intersect/test_intersect_job_dsl.json")
INTERSECT_CONF = load(FEDERATEDML / "intersect/test_intersect_job_raw_conf.json")


def lr_conf(**algorithm) -> dict:
    conf = copy.deepcopy(LR_CONF)
    conf["algorithm_parameters"]["hetero_lr_0"].update(algorithm)
    return conf


def validate(dsl: dict, conf: dict) -> list[str]:
    return parse_job(dsl, validate_runtime_conf(conf, 0)).validate_all_parameters()


def refusal(error: type, dsl: dict, conf: dict):
    with pytest.raises(error) as caught:
        validate(dsl, conf)
    assert type(caught.value) is error
    return caught.value


# ----------------------------------------------------------------------------- FATE's examples

# (conf, DSL, expected warnings) of every job under examples/ (model load and bind confs are no jobs);
# a predict conf names the train conf it predicts with
REC_JOBS = {"hetero_fm": "test_hetero_fm_train_job", "homo_fm": "test_homofm_train_job",
            **{folder: f"test_{folder}_train_job" for folder in ("hetero_mf", "hetero_svd", "hetero_svdpp", "hetero_gmf")}}
EXAMPLE_JOBS = {
    "toy_example/toy_example_conf.json": ("toy_example/toy_example_dsl.json", []),
    "fate_flow/test_rsa_job_conf.json": ("fate_flow/test_rsa_job_dsl.json", []),
    "federatedml-1.x-examples/union/test_union_job_conf.json":
        ("federatedml-1.x-examples/union/test_union_job_dsl.json", []),
    "federatedml-1.x-examples/hetero_pearson/test_conf.json": ("federatedml-1.x-examples/hetero_pearson/test_dsl.json", []),
    "federatedml-1.x-examples/local_baseline/test_local_baseline_job_conf.json":
        ("federatedml-1.x-examples/local_baseline/test_local_baseline_job_dsl.json",
         ["algorithm_parameters.hetero_lr_0.cv_param.evaluate_param is ignored",
          "algorithm_parameters.hetero_lr_0.intersect_0 is ignored"]),
    "federatedml-1.x-examples/federated_sample/test_federated_sample_job_conf.json":
        ("federatedml-1.x-examples/federated_sample/test_federated_sample_job_dsl.json", []),
    "fate_flow/toy_example_conf.json": ("fate_flow/toy_example_dsl.json", []),
    "fate_flow/test_hetero_lr_job_conf.json": ("fate_flow/test_hetero_lr_job_dsl.json", [
        "algorithm_parameters.hetero_lr_0.eps is ignored", "set tol instead",
        "algorithm_parameters.hetero_lr_0.converge_func is ignored", "set early_stop instead"]),
    "federatedml-1.x-examples/intersect/test_intersect_job_raw_conf.json":
        ("federatedml-1.x-examples/intersect/test_intersect_job_dsl.json", []),
    "federatedml-1.x-examples/intersect/test_intersect_job_rsa_conf.json":
        ("federatedml-1.x-examples/intersect/test_intersect_job_dsl.json", []),
    "federatedml-1.x-examples/hetero_feature_binning/test_hetero_binning_job_conf.json":
        ("federatedml-1.x-examples/hetero_feature_binning/test_hetero_binning_job_dsl.json",
         ["algorithm_parameters.one_hot_encoder_0 is ignored: the DSL has no component one_hot_encoder_0"]),
    "federatedml-1.x-examples/hetero_feature_selection/test_hetero_feature_selection_job_conf.json":
        ("federatedml-1.x-examples/hetero_feature_selection/test_hetero_feature_selection_job_dsl.json",
         ["algorithm_parameters.hetero_feature_binning_0.cols is ignored", "set bin_indexes instead",
          "algorithm_parameters.hetero_feature_selection_0.local_only is ignored"]),
    "federatedml-1.x-examples/hetero_logistic_regression/test_hetero_lr_train_job_conf.json":
        ("federatedml-1.x-examples/hetero_logistic_regression/test_hetero_lr_train_job_dsl.json",
         ["algorithm_parameters.intersect_0 is ignored: the DSL has no component intersect_0 "
          "(did you mean intersection_0?)", "algorithm_parameters.hetero_lr_0.cv_param.evaluate_param is ignored"]),
    "federatedml-1.x-examples/homo_logistic_regression/test_homolr_train_job_conf.json":
        ("federatedml-1.x-examples/homo_logistic_regression/test_homolr_train_job_dsl.json",
         ["algorithm_parameters.homo_lr_0.eps is ignored", "algorithm_parameters.homo_lr_0.converge_func is ignored"]),
    **{f"federatedml-1.x-examples/hetero_secureboost/test_secureboost_train_{kind}_conf.json":
       ("federatedml-1.x-examples/hetero_secureboost/test_secureboost_train_dsl.json",
        ["algorithm_parameters.secureboost_0.predict_param.with_proba is ignored"]
        + (["algorithm_parameters.secureboost_0.cv_param.evaluate_param is ignored"] if kind == "binary" else []))
       for kind in ("binary", "multi", "regression")},
    # the LR options' confs, derived from FATE's LR example (FATE 1.4 ships none for them)
    **{f"federatedml-1.x-examples/hetero_logistic_regression/test_hetero_lr_{kind}_job_conf.json":
       (f"federatedml-1.x-examples/hetero_logistic_regression/test_hetero_lr_{kind}_job_dsl.json",
        ["algorithm_parameters.intersect_0 is ignored: the DSL has no component intersect_0"]
        + ([] if kind == "stepwise" else ["algorithm_parameters.hetero_lr_0.cv_param.evaluate_param is ignored"]))
       for kind in ("cv", "one_vs_rest", "sqn", "stepwise", "validate")},
    "federatedml-1.x-examples/homo_logistic_regression/test_homolr_cv_job_conf.json":
        ("federatedml-1.x-examples/homo_logistic_regression/test_homolr_cv_job_dsl.json",
         ["algorithm_parameters.homo_lr_0.eps is ignored", "algorithm_parameters.homo_lr_0.converge_func is ignored"]),
    "federatedml-1.x-examples/hetero_nn/test_hetero_nn_keras.json":
        ("federatedml-1.x-examples/hetero_nn/test_hetero_nn_dsl.json", []),
    "federatedml-1.x-examples/homo_nn/test_homo_dnn_single_layer.json":
        ("federatedml-1.x-examples/homo_nn/test_homo_dnn_dsl.json", []),
    "federatedml-1.x-examples/hetero_linear_regression/test_hetero_linr_train_job_conf.json":
        ("federatedml-1.x-examples/hetero_linear_regression/test_hetero_linr_train_job_dsl.json", []),
    "federatedml-1.x-examples/hetero_poisson_regression/test_hetero_poisson_train_job_conf.json":
        ("federatedml-1.x-examples/hetero_poisson_regression/test_hetero_poisson_train_job_dsl.json",
         ["role_parameters.guest.hetero_feature_binning_0 is ignored: the DSL has no component",
          "role_parameters.host.hetero_feature_selection_0 is ignored: the DSL has no component",
          "algorithm_parameters.hetero_poisson_0.cv_param.evaluate_param is ignored"]),
    "federatedml-1.x-examples/homo_secureboost/test_secureboost_train_binary_conf.json":
        ("federatedml-1.x-examples/homo_secureboost/test_secureboost_train_dsl.json",
         ["algorithm_parameters.secureboost_0.predict_param.with_proba is ignored"]),
    # FederatedRec (FATE 1.4.1 shipped its own under federatedrec-examples; these are ours, on small data)
    **{f"federatedml-1.x-examples/{folder}/{conf}_conf.json": (f"federatedml-1.x-examples/{folder}/{conf}_dsl.json", [])
       for folder, conf in REC_JOBS.items()},
}
PREDICT_JOBS = {
    **{f"federatedml-1.x-examples/{folder}/test_predict_conf.json": f"federatedml-1.x-examples/{folder}/{conf}_conf.json"
       for folder, conf in REC_JOBS.items()},
    "federatedml-1.x-examples/hetero_linear_regression/test_predict_conf.json":
        "federatedml-1.x-examples/hetero_linear_regression/test_hetero_linr_train_job_conf.json",
    "fate_flow/test_predict_conf.json": "fate_flow/test_hetero_lr_job_conf.json",
    "federatedml-1.x-examples/hetero_logistic_regression/test_predict_conf.json":
        "federatedml-1.x-examples/hetero_logistic_regression/test_hetero_lr_train_job_conf.json",
    "federatedml-1.x-examples/hetero_secureboost/test_predict_conf.json":
        "federatedml-1.x-examples/hetero_secureboost/test_secureboost_train_binary_conf.json",
    "federatedml-1.x-examples/homo_secureboost/test_predict_conf.json":
        "federatedml-1.x-examples/homo_secureboost/test_secureboost_train_binary_conf.json",
}


def test_every_example_job_conf_is_listed():
    job_confs = {str(path.relative_to(EXAMPLES)) for path in EXAMPLES.rglob("*.json")
                 if "data" not in path.relative_to(EXAMPLES).parts
                 and isinstance(conf := load(path), dict) and "initiator" in conf and "role_parameters" in conf}
    assert job_confs == set(EXAMPLE_JOBS) | set(PREDICT_JOBS)


@pytest.mark.parametrize("conf_path", sorted(EXAMPLE_JOBS))
def test_example_jobs_are_accepted(conf_path):
    dsl_path, expected = EXAMPLE_JOBS[conf_path]
    warnings = validate(load(EXAMPLES / dsl_path), standalone(load(EXAMPLES / conf_path)))
    text = "\n".join(warnings)
    for words in expected:
        assert words in text, (words, warnings)
    if not expected:
        assert warnings == []


@pytest.mark.parametrize("conf_path", sorted(PREDICT_JOBS))
def test_example_predict_jobs_are_accepted(conf_path):
    train_conf_path = PREDICT_JOBS[conf_path]
    train_conf = standalone(load(EXAMPLES / train_conf_path))
    train = parse_job(load(EXAMPLES / EXAMPLE_JOBS[train_conf_path][0]), train_conf)
    conf = standalone(load(EXAMPLES / conf_path))
    conf["role"] = train_conf["role"]  # the predict confs' parties are the training job's
    conf["initiator"] = train_conf["initiator"]
    # FATE's homo SecureBoost predict conf ships an empty model_version: the user fills in the train job's
    conf["job_parameters"]["model_version"] = conf["job_parameters"]["model_version"] or "202001010000000000000"
    predict = parse_job(train.predict_dsl(conf["initiator"]["role"]), validate_runtime_conf(conf, 0), train_conf,
                        mode="predict")
    assert predict.validate_all_parameters() == []


# ----------------------------------------------------------------------------- parameter names

def test_unknown_common_parameter_is_refused_with_a_hint():
    error = refusal(ArgumentError, LR_DSL, lr_conf(max_itr=3))
    assert error.retcode == 101 and error.field == "algorithm_parameters.hetero_lr_0.max_itr"
    assert error.retmsg == ("algorithm_parameters.hetero_lr_0.max_itr is not a parameter of HeteroLR "
                            "(component hetero_lr_0, every party): did you mean max_iter?")


def test_unknown_role_parameter_names_the_party():
    conf = copy.deepcopy(LR_CONF)
    conf["role"]["host"] = [10000, 10001]
    conf["role_parameters"]["host"]["args"]["data"]["train_data"].append({"name": "h2", "namespace": "n"})
    conf["role_parameters"]["host"]["dataio_0"]["lable_name"] = [None, "y"]
    error = refusal(ArgumentError, LR_DSL, conf)
    assert error.field == "role_parameters.host.dataio_0.lable_name"
    assert "not a parameter of DataIO (component dataio_0, role host party 10000): did you mean label_name?" \
        in error.retmsg


@pytest.mark.parametrize("algorithm, field, hint", [
    ({"init_param": {"init_mehtod": "zeros"}}, "init_param.init_mehtod", "did you mean init_param.init_method?"),
    ({"encrypt_param": {"key_lenght": 1024}}, "encrypt_param.key_lenght", "did you mean encrypt_param.key_length?"),
    ({"key_length": 1024}, "key_length", "did you mean encrypt_param.key_length?"),  # nested name at the top
    ({"MAX_ITER": 3}, "MAX_ITER", "did you mean max_iter?"),
    ({"zzz": 1}, "zzz", "the parameters there are penalty, tol, alpha"),
    ({"init_param": {"qqq": 1}}, "init_param.qqq",
     "the parameters there are init_method, init_const, fit_intercept, random_seed"),
])
def test_unknown_nested_parameter_is_refused(algorithm, field, hint):
    error = refusal(ArgumentError, LR_DSL, lr_conf(**algorithm))
    assert error.field == f"algorithm_parameters.hetero_lr_0.{field}"
    assert f"{field} is not a parameter of HeteroLR" in error.retmsg and hint in error.retmsg


def test_unknown_name_in_one_partys_nested_dict_names_that_party():
    conf = copy.deepcopy(LR_CONF)
    conf["role_parameters"]["host"]["hetero_lr_0"] = {"init_param": [{"fit_intercep": False}]}
    error = refusal(ArgumentError, LR_DSL, conf)
    assert error.field == "role_parameters.host.hetero_lr_0.init_param.fit_intercep"
    assert "(component hetero_lr_0, role host party 10000): did you mean init_param.fit_intercept?" in error.retmsg


def test_every_unknown_name_is_listed():
    conf = lr_conf(max_itr=3, alpah=0.1)
    conf["role_parameters"]["guest"]["dataio_0"]["with_lable"] = [True]
    error = refusal(ArgumentError, LR_DSL, conf)
    for name in ("dataio_0.with_lable", "hetero_lr_0.max_itr", "hetero_lr_0.alpah"):
        assert name in error.retmsg
    assert error.retmsg.count("; also ") == 2


def test_parties_that_do_not_run_are_checked_too():
    conf = copy.deepcopy(FML_LR_CONF)
    conf["role_parameters"]["host"]["evaluation_0"] = {"need_run": [False], "eval_typ": ["binary"]}
    error = refusal(ArgumentError, FML_LR_DSL, conf)
    assert error.field == "role_parameters.host.evaluation_0.eval_typ"


def test_retired_names_are_accepted_with_a_warning_and_dropped():
    warnings = validate(LR_DSL, LR_CONF)
    assert warnings == [
        "algorithm_parameters.hetero_lr_0.eps is ignored: eps is an older FATE's parameter name that FATE 1.4's "
        "HeteroLR ignores too; set tol instead",
        "algorithm_parameters.hetero_lr_0.converge_func is ignored: converge_func is an older FATE's parameter "
        "name that FATE 1.4's HeteroLR ignores too; set early_stop instead"]
    params = parse_job(LR_DSL, LR_CONF).component_parameters("hetero_lr_0", "guest", 9999)["HeteroLogisticParam"]
    assert "eps" not in params and "converge_func" not in params


def test_a_task_still_drops_unknown_names():
    """Jobs stored before the check existed still run: only the submit refuses."""
    job = parse_job(LR_DSL, lr_conf(max_itr=3))
    params = job.component_parameters("hetero_lr_0", "guest", 9999)["HeteroLogisticParam"]
    assert "max_itr" not in params and params["max_iter"] == 3  # from the example conf


# ----------------------------------------------------------------------------- ignored sections

def test_sections_no_task_reads_are_warned_about():
    conf = copy.deepcopy(FML_LR_CONF)
    conf["role_parameters"]["arbiter"] = {"dataio_0": {"with_label": [False]}}
    conf["role_parameters"]["local"] = {"dataio_0": {}}
    conf["role_parameters"]["guest"]["intersect_0"] = {"intersect_method": ["raw"]}
    warnings = validate(FML_LR_DSL, conf)
    assert warnings[:4] == [
        "algorithm_parameters.intersect_0 is ignored: the DSL has no component intersect_0 (did you mean "
        "intersection_0?)",
        "role_parameters.guest.intersect_0 is ignored: the DSL has no component intersect_0 (did you mean "
        "intersection_0?)",
        "role_parameters.arbiter.dataio_0 is ignored: DataIO does not run on role arbiter",
        "role_parameters.local is ignored: the job has no local (role names guest, host, arbiter)",
    ]


def test_a_model_reader_runs_with_its_sources_parameters_and_says_so():
    dsl = copy.deepcopy(LR_DSL)
    dsl["components"]["hetero_lr_1"] = {"module": "HeteroLR", "input": {
        "data": {"eval_data": ["hetero_feature_selection_0.train"]}, "model": ["hetero_lr_0.hetero_lr"]},
        "output": {"data": ["predict"]}}
    conf = copy.deepcopy(LR_CONF)
    conf["algorithm_parameters"]["hetero_lr_1"] = {"max_itr": 1}  # not checked: never read
    warnings = validate(dsl, conf)
    assert ("algorithm_parameters.hetero_lr_1 is ignored: hetero_lr_1 runs with the parameters of hetero_lr_0, "
            "whose model it reads") in warnings


def test_predict_conf_sections_are_warned_about():
    train = parse_job(LR_DSL, LR_CONF)
    conf = standalone(load(EXAMPLES / "fate_flow/test_predict_conf.json"))
    conf["algorithm_parameters"] = {"hetero_lr_0": {"max_iter": 1}}
    predict = parse_job(train.predict_dsl("guest"), validate_runtime_conf(conf, 0), LR_CONF, mode="predict")
    assert predict.validate_all_parameters() == [
        "algorithm_parameters.hetero_lr_0 is ignored: a predict job runs with the parameters of its training job"]


# ----------------------------------------------------------------------------- modules and references

def test_unknown_module_lists_close_matches():
    dsl = copy.deepcopy(LR_DSL)
    dsl["components"]["hetero_lr_0"]["module"] = "HeteroLr"
    # the closest first (HeteroMF and HeteroFM are close too)
    assert refusal(DSLError, dsl, LR_CONF).retmsg.startswith(
        "component hetero_lr_0: unknown module HeteroLr (did you mean HeteroLR")
    dsl["components"]["hetero_lr_0"]["module"] = "SecureInformationRetrieval"  # FATE 1.7's, not 1.4's
    error = refusal(DSLError, dsl, LR_CONF)
    assert error.retmsg.startswith("component hetero_lr_0: unknown module SecureInformationRetrieval; the modules "
                                   "this server runs are DataIO, Download, Evaluation, FeatureScale, FederatedSample")


def test_reference_to_a_missing_output_lists_the_outputs():
    dsl = copy.deepcopy(FML_LR_DSL)
    dsl["components"]["hetero_lr_0"]["input"]["data"]["train_data"] = ["intersection_0.trian"]
    assert refusal(DSLError, dsl, FML_LR_CONF).retmsg == (
        "component hetero_lr_0: unknown module input intersection_0.trian, intersection_0 has no output data "
        "trian (its output data: train)")
    del dsl["components"]["intersection_0"]["output"]
    dsl["components"]["hetero_lr_0"]["input"]["data"]["train_data"] = ["intersection_0.train"]
    assert refusal(DSLError, dsl, FML_LR_CONF).retmsg.endswith(
        "intersection_0 has no output data train (it declares no output data)")
    dsl = copy.deepcopy(LR_DSL)
    dsl["components"]["hetero_lr_0"]["input"]["model"] = ["dataio_0.model"]
    assert refusal(DSLError, dsl, LR_CONF).retmsg.endswith("dataio_0 has no output model model (its output model: dataio)")


def test_reference_to_a_missing_component_suggests_one():
    dsl = copy.deepcopy(FML_LR_DSL)
    dsl["components"]["hetero_lr_0"]["input"]["data"]["train_data"] = ["intersect_0.train"]
    assert refusal(DSLError, dsl, FML_LR_CONF).retmsg == (
        "component hetero_lr_0: unknown module input intersect_0.train, the DSL has no component intersect_0 "
        "(did you mean intersection_0?)")


# ----------------------------------------------------------------------------- roles

def without_role(conf: dict, role: str) -> dict:
    conf = copy.deepcopy(conf)
    del conf["role"][role]
    conf["role_parameters"].pop(role, None)
    return conf


@pytest.mark.parametrize("dsl, conf, role, component, module", [
    (LR_DSL, LR_CONF, "arbiter", "hetero_lr_0", "HeteroLR"),
    (HOMO_DSL, HOMO_CONF, "arbiter", "homo_lr_0", "HomoLR"),
    (INTERSECT_DSL, INTERSECT_CONF, "host", "intersect_0", "Intersection"),
])
def test_a_module_without_a_role_it_needs_is_refused(dsl, conf, role, component, module):
    error = refusal(DSLError, dsl, without_role(conf, role))
    assert f"component {component} ({module}) can not run without a party of role {role}" in error.retmsg
    assert f"add {role} to role" in error.retmsg


def test_optional_roles_may_be_absent():
    """DataIO runs on whatever roles exist; binning and selection need the guest only."""
    dsl = {"components": {name: LR_DSL["components"][name]
                          for name in ("dataio_0", "hetero_feature_binning_0", "hetero_feature_selection_0")}}
    conf = without_role(without_role(LR_CONF, "arbiter"), "host")
    assert validate(dsl, conf) == ["algorithm_parameters.hetero_lr_0 is ignored: the DSL has no component hetero_lr_0"]
    host_only = without_role(conf | {"initiator": {"role": "host", "party_id": 10000}}, "guest")
    host_only["role"] = {"host": [10000]}
    host_only["role_parameters"] = {"host": LR_CONF["role_parameters"]["host"]}
    error = refusal(DSLError, dsl, host_only)
    assert "component hetero_feature_binning_0 (HeteroFeatureBinning) can not run without a party of role guest" \
        in error.retmsg


def test_required_roles_are_declared_by_the_specs():
    from fate_flow.components import registry

    assert registry.get_spec("HeteroLR").required_roles == {"guest", "host", "arbiter"}
    assert registry.get_spec("HomoLR").required_roles == {"arbiter"}
    assert registry.get_spec("Intersection").required_roles == {"guest", "host"}
    assert registry.get_spec("DataIO").required_roles == frozenset()
    with pytest.raises(ValueError, match="arbiter"):
        registry.ComponentSpec(module="X", programs={"guest": "a:b"}, param_class="a:B",
                               required_roles=frozenset({"arbiter"}))


def test_param_objects_name_their_parameters_and_near_misses():
    from fate_flow.components.hetero_lr.param import HeteroLogisticParam

    param = HeteroLogisticParam()
    assert param.is_parameter("max_iter") and param.is_parameter("init_param")
    assert not param.is_parameter("check") and not param.is_parameter("_private") and not param.is_parameter("max_itr")
    assert param.similar_names("max_itr") == ["max_iter"]
    assert param.similar_names("Max_Iter") == ["max_iter"]
    assert param.similar_names("init_method") == ["init_param.init_method"]
    assert param.similar_names("qqq") == []
    assert "max_iter" in param.parameter_names() and "check" not in param.parameter_names()
    param.update({"check": 1, "to_dict": 2, "max_iter": 5})  # methods are no parameters
    assert callable(param.check) and param.max_iter == 5


# ----------------------------------------------------------------------------- job parameters

def test_a_backend_the_server_does_not_run_is_refused():
    conf = copy.deepcopy(LR_CONF)
    conf["job_parameters"]["backend"] = 7
    with pytest.raises(ArgumentError) as caught:
        validate_runtime_conf(conf, 0)
    assert caught.value.field == "job_parameters.backend" and "is 7, which this server can not honour" in caught.value.retmsg
    assert "local engine (backend 0" in caught.value.retmsg and "Spark (backend 1)" in caught.value.retmsg


def test_backend_1_without_pyspark_says_how_to_install_it(monkeypatch):
    import fate_flow.computing.engine as engine

    monkeypatch.setattr(engine, "spark_installed", lambda: False)
    conf = copy.deepcopy(LR_CONF)
    conf["job_parameters"]["backend"] = 1
    with pytest.raises(ArgumentError) as caught:
        validate_runtime_conf(conf, 0)
    assert caught.value.field == "job_parameters.backend"
    assert "pyspark is not installed" in caught.value.retmsg and "pip install -e '.[spark]'" in caught.value.retmsg


@pytest.mark.parametrize("key, value, words", [("computing_partitions", 0, "should be between 1 and 65536"),
                                               ("task_cores", "2", "should be an integer"),
                                               ("spark_run", [1], "should be a dict")])
def test_computing_job_parameters_are_checked(key, value, words):
    conf = copy.deepcopy(LR_CONF)
    conf["job_parameters"][key] = value
    with pytest.raises(ArgumentError) as caught:
        validate_runtime_conf(conf, 0)
    assert caught.value.field == f"job_parameters.{key}" and words in caught.value.retmsg


def test_backend_0_and_no_backend_are_accepted():
    conf = copy.deepcopy(LR_CONF)
    assert "backend" not in validate_runtime_conf(conf, 0)["job_parameters"]  # FATE's default (0) stays implicit
    conf["job_parameters"]["backend"] = 0
    validate_runtime_conf(conf, 0)


# ----------------------------------------------------------------------------- over HTTP

def nothing_created(settings) -> None:
    from fate_flow.db import Job, Queue, Task, TrackingMetric

    assert Job.select().count() == Queue.select().count() == Task.select().count() == 0
    assert TrackingMetric.select().count() == 0
    for folder in (settings.jobs_dir, settings.model_dir):
        assert not folder.exists() or not any(folder.iterdir()), folder
    assert not settings.logs_dir.exists() or not any(p.name[:1].isdigit() for p in settings.logs_dir.iterdir())


def add_tables(tables) -> None:
    from fate_flow.db import StorageTableMeta

    for namespace, name in tables:
        StorageTableMeta.create(f_namespace=namespace, f_name=name)


def submit(client, dsl, conf) -> dict:
    answer = client.post("/v1/job/submit", json={"job_dsl": dsl, "job_runtime_conf": conf})
    assert answer.status_code == 200
    return answer.get_json()


def with_backend(conf, backend):
    conf = copy.deepcopy(conf)
    conf["job_parameters"]["backend"] = backend
    return conf


def renamed_module(dsl, name, module):
    dsl = copy.deepcopy(dsl)
    dsl["components"][name]["module"] = module
    return dsl


def bad_reference(dsl):
    dsl = copy.deepcopy(dsl)
    dsl["components"]["hetero_lr_0"]["input"]["data"]["train_data"] = ["intersection_0.trian"]
    return dsl


def bad_initiator(conf):
    conf = copy.deepcopy(conf)
    conf["initiator"]["party_id"] = 10000
    return conf


# (DSL, conf, retcode, words of the message); the tables exist unless the case is about them
REFUSED = {
    "unknown parameter": (LR_DSL, lr_conf(max_itr=3), 101,
                          ["algorithm_parameters.hetero_lr_0.max_itr", "HeteroLR", "every party", "did you mean max_iter?"]),
    "unknown role parameter": (LR_DSL, copy.deepcopy(LR_CONF) | {"role_parameters": {
        **LR_CONF["role_parameters"], "host": {**LR_CONF["role_parameters"]["host"],
                                               "dataio_0": {"with_lable": [False]}}}}, 101,
        ["role_parameters.host.dataio_0.with_lable", "component dataio_0", "role host party 10000",
         "did you mean with_label?"]),
    "unknown module": (renamed_module(LR_DSL, "hetero_lr_0", "HeteroLr"), LR_CONF, 100,
                       ["component hetero_lr_0: unknown module HeteroLr (did you mean HeteroLR"]),
    "missing output": (bad_reference(FML_LR_DSL), FML_LR_CONF, 100,
                       ["intersection_0 has no output data trian (its output data: train)"]),
    "backend": (LR_DSL, with_backend(LR_CONF, 7), 101, ["job_parameters.backend is 7", "can not honour"]),
    "no arbiter": (LR_DSL, without_role(LR_CONF, "arbiter"), 100,
                   ["component hetero_lr_0 (HeteroLR) can not run without a party of role arbiter"]),
    "initiator": (LR_DSL, bad_initiator(LR_CONF), 100,
                  ["initiator is guest 10000", "not one of the job's guest parties", "role.guest is [9999]"]),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_before_anything_is_created(client, settings, case):
    dsl, conf, retcode, words = REFUSED[case]
    add_tables(LR_TABLES + FML_LR_TABLES)
    answer = submit(client, dsl, conf)
    assert answer["retcode"] == retcode, answer
    assert set(answer) == {"retcode", "retmsg"}
    for word in words:
        assert word in answer["retmsg"], (word, answer["retmsg"])
    from fate_flow.db import StorageTableMeta

    StorageTableMeta.delete().execute()
    nothing_created(settings)


def test_standalone_input_tables_must_exist(client, settings):
    add_tables(LR_TABLES[:1])  # the guest's table only
    answer = submit(client, LR_DSL, LR_CONF)
    assert answer["retcode"] == 101, answer
    assert answer["retmsg"] == (
        "role_parameters.host.args.data.train_data[0] names table fate_flow_test_breast_hetero.breast_hetero_host "
        "for host 10000, which does not exist on this server (a standalone server holds every party's tables): "
        "upload it first")
    from fate_flow.db import StorageTableMeta

    StorageTableMeta.delete().execute()
    nothing_created(settings)


@pytest.fixture
def parties_here(app, client, monkeypatch):
    """The submitter's party calls go to this app through the test client (no HTTP server runs)."""
    api = app.extensions["fate_flow"].submitter.api

    def call(role, party_id, endpoint, body=None, method="POST", timeout=None):
        return client.open(endpoint, method=method, json=body or {}).get_json()

    monkeypatch.setattr(api, "call", call)
    return api


@pytest.fixture
def job_log(settings):
    """Write the job logs as the server does (logs/<job_id>/fate_flow_schedule.log)."""
    from fate_flow.utils.log import JobLogHandler

    handler = JobLogHandler(settings.logs_dir)
    logger = logging.getLogger("fate_flow.schedule")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield lambda job_id: (settings.logs_dir / job_id / "fate_flow_schedule.log").read_text()
    logger.removeHandler(handler)
    logger.setLevel(level)
    handler.close()


def test_sections_fate_ignores_are_accepted_with_warnings(client, settings, parties_here, job_log):
    add_tables(FML_LR_TABLES)
    answer = submit(client, FML_LR_DSL, FML_LR_CONF)
    assert answer["retcode"] == 0, answer
    warnings = answer["data"]["warnings"]
    assert warnings == [
        "algorithm_parameters.intersect_0 is ignored: the DSL has no component intersect_0 "
        "(did you mean intersection_0?)",
        "algorithm_parameters.hetero_lr_0.cv_param.evaluate_param is ignored: cv_param.evaluate_param is an older "
        "FATE's parameter name that FATE 1.4's HeteroLR ignores too"]
    log = job_log(answer["jobId"])
    for warning in warnings:
        assert f"submit warning: {warning}" in log
    from fate_flow.db import Job

    assert Job.select().where(Job.f_job_id == answer["jobId"]).count() == 3  # guest, host and arbiter 10000


def test_a_clean_submit_has_no_warnings_key(client, parties_here):
    add_tables([("experiment", "breast_hetero_guest"), ("experiment", "breast_hetero_host")])
    answer = submit(client, INTERSECT_DSL, INTERSECT_CONF)
    assert answer["retcode"] == 0, answer
    assert "warnings" not in answer["data"]
