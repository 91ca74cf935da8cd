"""Registration of HeteroPoisson (FATE's setting_conf/HeteroPoisson.json) with poisson_regression_param.json."""
from fate_flow.components.component_spec import ComponentSpec
from fate_flow.components.linear_model.spec import RETIRED_PARAMS

_PACKAGE = "fate_flow.components.hetero_poisson"

# What FATE's default_runtime_conf/poisson_regression_param.json sets over the class defaults:
# alpha 0.01, batch_size 320, random_normal init, cv with shuffle (its eps, converge_func,
# party_weight, exposure_index and with_proba are no params and are dropped, as in FATE).
DEFAULT_CONF = {
    "penalty": "L2",
    "optimizer": "sgd",
    "alpha": 0.01,
    "max_iter": 100,
    "batch_size": 320,
    "learning_rate": 0.01,
    "init_param": {"init_method": "random_normal"},
    "encrypt_param": {"method": "Paillier", "key_length": 1024},
    "cv_param": {"n_splits": 5, "shuffle": True, "random_seed": 1, "need_cv": False},
}

SPEC = ComponentSpec(
    module="HeteroPoisson",
    programs={
        "guest": f"{_PACKAGE}.guest:HeteroPoissonGuest",
        "host": f"{_PACKAGE}.host:HeteroPoissonHost",
        "arbiter": f"{_PACKAGE}.arbiter:HeteroPoissonArbiter",
    },
    param_class=f"{_PACKAGE}.param:PoissonParam",
    default_conf=DEFAULT_CONF,
    required_roles=frozenset({"guest", "host", "arbiter"}),  # the arbiter holds the Paillier key
    retired_params=RETIRED_PARAMS,
    serving=f"{_PACKAGE}.online:load_online",
)
