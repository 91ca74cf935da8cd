"""Registration of HeteroLinR (FATE's setting_conf/HeteroLinR.json) with FATE's linear_regression_param.json."""
from fate_flow.components.component_spec import ComponentSpec
from fate_flow.components.linear_model.spec import RETIRED_PARAMS

_PACKAGE = "fate_flow.components.hetero_linr"

# What FATE's default_runtime_conf/linear_regression_param.json sets over the class defaults:
# alpha 0.01, zeros init, weight_diff, decay 10 without sqrt, cv without shuffle.
DEFAULT_CONF = {
    "penalty": "L2",
    "optimizer": "sgd",
    "tol": 1e-5,
    "alpha": 0.01,
    "max_iter": 100,
    "early_stop": "weight_diff",
    "batch_size": -1,
    "learning_rate": 0.01,
    "init_param": {"init_method": "zeros"},
    "encrypt_param": {"method": "Paillier", "key_length": 1024},
    "cv_param": {"n_splits": 5, "shuffle": False, "random_seed": 1, "need_cv": False},
    "decay": 10,
    "decay_sqrt": False,
}

SPEC = ComponentSpec(
    module="HeteroLinR",
    programs={
        "guest": f"{_PACKAGE}.guest:HeteroLinRGuest",
        "host": f"{_PACKAGE}.host:HeteroLinRHost",
        "arbiter": f"{_PACKAGE}.arbiter:HeteroLinRArbiter",
    },
    param_class=f"{_PACKAGE}.param:LinearParam",
    default_conf=DEFAULT_CONF,
    required_roles=frozenset({"guest", "host", "arbiter"}),  # the arbiter holds the Paillier key
    retired_params=RETIRED_PARAMS,
    serving=f"{_PACKAGE}.online:load_online",
)
