"""Registration of HeteroLR (FATE's setting_conf/HeteroLR.json) with FATE's default_runtime_conf."""
from fate_flow.components.registry import ComponentSpec, register

_PACKAGE = "fate_flow.components.hetero_lr"

# federatedml/conf/default_runtime_conf/logistic_regression_param.json: what it sets over the
# class defaults (alpha 1.0 -> 0.01, batch_size -1 -> 320, init random_uniform -> random_normal).
DEFAULT_CONF = {
    "penalty": "L2",
    "optimizer": "sgd",
    "tol": 1e-5,
    "alpha": 0.01,
    "max_iter": 100,
    "early_stop": "diff",
    "batch_size": 320,
    "learning_rate": 0.01,
    "init_param": {"init_method": "random_normal"},
    "predict_param": {"threshold": 0.5},
    "encrypt_param": {"method": "Paillier", "key_length": 1024},
    "cv_param": {"n_splits": 5, "shuffle": True, "random_seed": 1, "need_cv": False},
}

register(ComponentSpec(
    module="HeteroLR",
    programs={
        "guest": f"{_PACKAGE}.guest:HeteroLRGuest",
        "host": f"{_PACKAGE}.host:HeteroLRHost",
        "arbiter": f"{_PACKAGE}.arbiter:HeteroLRArbiter",
    },
    param_class=f"{_PACKAGE}.param:HeteroLogisticParam",
    default_conf=DEFAULT_CONF,
))
