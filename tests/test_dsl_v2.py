"""DSL v2 and runtime conf v2: merge rules, checks and their messages, the dependency answer, predict DSLs."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from fate_flow.driver import dsl_v2
from fate_flow.driver.dsl_parser import parse_job, validate_runtime_conf
from fate_flow.errors import ArgumentError, DSLError

ROOT = Path(__file__).resolve().parent.parent
V2 = ROOT / "examples" / "dsl_v2"
# FATE 1.6.1's shipped v2 examples live beside the repository (../shared), not in it
SHIPPED = next((p for p in (ROOT.parent / "shared", Path("/work/shared")) if p.exists()),
               ROOT.parent / "shared") / "fate-reference" / "dsl_v2" / "dsl"


def load(name: str) -> tuple[dict, dict]:
    folder = V2 / name
    return (json.loads(next(folder.glob("*_dsl.json")).read_text()),
            json.loads(next(folder.glob("*_conf.json")).read_text()))


def submitted(conf: dict) -> dict:
    """The conf as the server stores it after submit."""
    conf = validate_runtime_conf(conf, 0)
    conf["job_parameters"].update(model_id="m", model_version="v")
    return conf


def two_hosts() -> tuple[dict, dict]:
    dsl, conf = load("hetero_lr")
    conf["role"]["host"] = [9999, 10000]
    host = conf["component_parameters"]["role"]["host"]["0"]
    conf["component_parameters"]["role"]["host"] = {"0": host, "1": copy.deepcopy(host)}
    return dsl, conf


def test_every_own_v2_example_parses_and_validates():
    for folder in sorted(p for p in V2.iterdir() if p.is_dir()):
        dsl, conf = load(folder.name)
        parser = parse_job(dsl, submitted(conf))
        assert parser.validate_all_parameters() == [], folder.name
        assert parser.component_list()[0] == "reader_0"


def test_index_keys_merge_in_order_all_then_indexes_last_match_wins():
    dsl, conf = two_hosts()
    conf["component_parameters"]["role"]["host"] = {
        "all": {"reader_0": {"table": {"name": "t_all", "namespace": "ns"}}, "dataio_0": {"with_label": False}},
        "0|1": {"dataio_0": {"missing_fill": True, "missing_fill_method": "mean"}},
        "1": {"reader_0": {"table": {"name": "t_1"}}, "dataio_0": {"missing_fill_method": "median"}},
    }
    parser = parse_job(dsl, submitted(conf))
    host0 = parser.component_parameters("dataio_0", "host", 9999)["DataIOParam"]
    host1 = parser.component_parameters("dataio_0", "host", 10000)["DataIOParam"]
    assert (host0["missing_fill"], host0["missing_fill_method"]) == (True, "mean")
    assert (host1["missing_fill"], host1["missing_fill_method"]) == (True, "median")
    # a deep merge: the later section sets name, the namespace comes from "all"
    assert parser.job_args("host", 10000)["data"]["reader_0"] == {"name": "t_1", "namespace": "ns"}
    assert parser.job_args("host", 9999)["data"]["reader_0"] == {"name": "t_all", "namespace": "ns"}


def test_common_then_role_and_nested_params_merge_deeply():
    dsl, conf = load("hetero_lr")
    conf["component_parameters"]["role"]["guest"]["0"]["hetero_lr_0"] = {"init_param": {"fit_intercept": False}}
    parser = parse_job(dsl, submitted(conf))
    guest = parser.component_parameters("hetero_lr_0", "guest", 10000)["HeteroLogisticParam"]
    host = parser.component_parameters("hetero_lr_0", "host", 9999)["HeteroLogisticParam"]
    assert guest["init_param"]["init_method"] == "zeros" and guest["init_param"]["fit_intercept"] is False
    assert host["init_param"]["fit_intercept"] is True and guest["max_iter"] == host["max_iter"] == 5


def test_job_parameters_role_sections_reach_the_party():
    _, conf = load("hetero_lr")
    conf["job_parameters"]["role"] = {"host": {"0": {"task_cores": 3}}}
    conf = submitted(conf)
    assert dsl_v2.party_job_parameters(conf, "host", 9999)["task_cores"] == 3
    assert "task_cores" not in dsl_v2.party_job_parameters(conf, "guest", 10000)


def test_index_key_beyond_the_party_count_is_refused_naming_it():
    dsl, conf = load("hetero_lr")
    conf["component_parameters"]["role"]["host"]["1"] = {"dataio_0": {"with_label": False}}
    with pytest.raises(ArgumentError) as err:
        validate_runtime_conf(conf, 0)
    assert "component_parameters.role.host.1" in err.value.retmsg and "index 1 is beyond" in err.value.retmsg


@pytest.mark.parametrize("mix,field", [
    ({"algorithm_parameters": {"hetero_lr_0": {"max_iter": 3}}}, "algorithm_parameters"),
    ({"role_parameters": {"guest": {}}}, "role_parameters"),
])
def test_v2_conf_with_v1_sections_is_refused(mix, field):
    dsl, conf = load("hetero_lr")
    conf.update(mix)
    with pytest.raises(ArgumentError) as err:
        validate_runtime_conf(conf, 0)
    assert field in err.value.retmsg and "DSL v1" in err.value.retmsg


def test_v2_conf_with_flat_or_missing_job_parameters_is_refused():
    _, conf = load("hetero_lr")
    conf["job_parameters"]["work_mode"] = 0  # beside common: v1's place
    conf["job_parameters"]["common"].pop("work_mode", None)
    with pytest.raises(ArgumentError, match="job_parameters.work_mode is a DSL v1 key"):
        validate_runtime_conf(conf, 0)
    conf["job_parameters"] = {"work_mode": 0}
    with pytest.raises(ArgumentError, match="must be job_parameters:common"):
        validate_runtime_conf(conf, 0)


def test_unknown_parameter_is_refused_naming_component_role_index_and_name():
    dsl, conf = load("hetero_lr")
    conf["component_parameters"]["role"]["host"]["0"]["dataio_0"]["with_lable"] = False
    with pytest.raises(ArgumentError) as err:
        parse_job(dsl, submitted(conf)).validate_all_parameters()
    message = err.value.retmsg
    assert "component_parameters.role.host.0.dataio_0.with_lable" in message
    assert "role host party 9999" in message and "with_label" in message


def test_a_bad_value_names_the_component_role_and_party():
    dsl, conf = load("hetero_lr")
    conf["component_parameters"]["common"]["hetero_lr_0"]["max_iter"] = -1
    with pytest.raises(DSLError, match=r"component hetero_lr_0 \(HeteroLR\) role guest party 10000"):
        parse_job(dsl, submitted(conf)).validate_all_parameters()


def test_reader_only_in_v2_and_v1_inputs_only_in_v1():
    dsl, conf = load("hetero_lr")
    v1_conf = {"initiator": conf["initiator"], "role": conf["role"], "job_parameters": {"work_mode": 0}}
    with pytest.raises(DSLError, match="Reader component can only be set in dsl_version 2"):
        parse_job(dsl, v1_conf)
    args_dsl = copy.deepcopy(dsl)
    args_dsl["components"]["dataio_0"]["input"]["data"]["data"] = ["args.train_data"]
    with pytest.raises(DSLError, match="args.train_data is a DSL v1 job input"):
        parse_job(args_dsl, submitted(conf))
    eval_dsl = copy.deepcopy(dsl)
    eval_dsl["components"]["hetero_lr_0"]["input"]["data"]["eval_data"] = ["intersection_0.data"]
    with pytest.raises(DSLError, match="eval_data is not a DSL v2 data input"):
        parse_job(eval_dsl, submitted(conf))


def test_v2_component_names_allow_dashes_and_refuse_other_characters():
    dsl, conf = load("intersect")
    dsl["components"]["intersect-a"] = dsl["components"].pop("intersect_0")
    conf["component_parameters"]["common"]["intersect-a"] = conf["component_parameters"]["common"].pop("intersect_0")
    assert "intersect-a" in parse_job(dsl, submitted(conf)).component_list()
    dsl["components"]["bad name"] = dsl["components"].pop("intersect-a")
    with pytest.raises(DSLError, match="letters, digits, _ and -"):
        parse_job(dsl, submitted(conf))


def test_a_reader_without_a_table_for_a_party_is_refused_naming_the_field():
    dsl, conf = load("hetero_lr")
    del conf["component_parameters"]["role"]["host"]["0"]["reader_0"]
    with pytest.raises(ArgumentError) as err:
        parse_job(dsl, submitted(conf)).validate_all_parameters()
    assert err.value.retmsg.startswith("component_parameters.role.host.0.reader_0.table is required")


def test_dependency_answer_names_input_keys_and_output_positions():
    dsl, conf = load("hetero_lr")
    answer = parse_job(dsl, submitted(conf)).dependency_answer("guest", 10000)
    assert answer["component_list"] == ["reader_0", "dataio_0", "intersection_0", "hetero_lr_0", "evaluation_0"]
    assert answer["dependencies"]["hetero_lr_0"] == [
        {"component_name": "intersection_0", "type": "train_data", "up_output_info": ["data", 0]}]
    assert answer["component_module"]["reader_0"] == "Reader"
    assert all(answer["component_need_run"].values())


@pytest.mark.skipif(not SHIPPED.exists(), reason="FATE's shipped v2 examples (../shared/fate-reference) are not here")
def test_shipped_fate_examples_of_registered_modules_parse():
    pairs = [("hetero_logistic_regression", "hetero_lr_normal"), ("homo_logistic_regression", "homo_lr_train"),
             ("hetero_feature_binning", "hetero_binning_quantile_binning"), ("intersect", "test_intersect_job")]
    for folder, stem in pairs:
        dsl = json.loads((SHIPPED / folder / f"{stem}_dsl.json").read_text())
        for conf_path in (SHIPPED / folder).glob(f"{stem.replace('_job', '')}*conf.json"):
            parse_job(dsl, submitted(json.loads(conf_path.read_text()))).validate_all_parameters()


def test_predict_dsl_from_deployed_components():
    dsl, _ = load("hetero_lr")
    predict = dsl_v2.generate_predict_dsl(dsl, ["dataio_0", "intersection_0", "hetero_lr_0"])["components"]
    assert list(predict) == ["dataio_0", "intersection_0", "hetero_lr_0"]
    assert predict["hetero_lr_0"]["input"] == {"data": {"test_data": ["intersection_0.data"]},
                                              "model": ["pipeline.hetero_lr_0.hetero_lr"]}
    assert predict["dataio_0"]["input"]["model"] == ["pipeline.dataio_0.dataio"]
    # a component left out is passed through: hetero_lr reads what intersection read
    skipped = dsl_v2.generate_predict_dsl(dsl, ["reader_0", "dataio_0", "hetero_lr_0"])["components"]
    assert skipped["reader_0"] == {"module": "Reader", "output": {"data": ["data"]}}
    assert skipped["hetero_lr_0"]["input"]["data"] == {"test_data": ["dataio_0.data"]}
    with pytest.raises(ArgumentError, match="hetero_lr_9 is not"):
        dsl_v2.generate_predict_dsl(dsl, ["hetero_lr_9"])


def test_predict_conf_template_has_placeholders_for_every_reader_and_party():
    _, conf = two_hosts()
    predict = {"components": {"reader_0": {"module": "Reader", "output": {"data": ["data"]}}}}
    template = dsl_v2.predict_conf_template(submitted(conf), predict, "m", "v2")
    assert template["job_parameters"]["common"] == {"job_type": "predict", "model_id": "m", "model_version": "v2",
                                                    "work_mode": 0}
    hosts = template["component_parameters"]["role"]["host"]
    assert hosts["1"]["reader_0"]["table"] == {"name": "name_to_be_filled_1", "namespace": "namespace_to_be_filled_1"}
