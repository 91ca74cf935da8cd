"""Registration of HeteroSecureBoost (FATE's setting_conf/HeteroSecureBoost.json): guest and hosts, no arbiter."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.hetero_secureboost"

# FATE's default_runtime_conf/boosting_tree_param.json over the class defaults
DEFAULT_CONF = {
    "task_type": "classification",
    "learning_rate": 0.1,
    "num_trees": 2,
    "subsample_feature_rate": 1,
    "n_iter_no_change": False,
    "tol": 0.0001,
    "bin_num": 50,
    "tree_param": {"max_depth": 5, "max_split_nodes": 1024},
    "objective_param": {"objective": "cross_entropy"},
    "encrypt_param": {"method": "Paillier", "key_length": 1024},
    "predict_param": {"threshold": 0.5},
    "cv_param": {"n_splits": 5, "shuffle": False, "random_seed": 103, "need_cv": False},
}

SPEC = ComponentSpec(
    module="HeteroSecureBoost",
    programs={"guest": f"{_PACKAGE}.guest:HeteroSecureBoostGuest", "host": f"{_PACKAGE}.host:HeteroSecureBoostHost"},
    param_class=f"{_PACKAGE}.param:BoostingTreeParam",
    default_conf=DEFAULT_CONF,
    required_roles=frozenset({"guest", "host"}),
    retired_params={"cv_param.evaluate_param": None, "predict_param.with_proba": None},
    serving=f"{_PACKAGE}.online:load_online",
)
