"""FATE's default_runtime_conf/logistic_regression_param.json, shared by HeteroLR and HomoLR."""

# What it sets over the class defaults: alpha 1.0 -> 0.01, batch_size -1 -> 320 and
# init_method random_uniform -> random_normal. Its eps/converge_func keys are no param
# attributes and are dropped when merged, as in FATE, so they are left out here.
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

# Names FATE's LR example confs still set that FATE 1.4 drops: eps and converge_func are
# FATE 1.0's tol and early_stop, and 1.4's cross validation has no evaluate_param.
# intersect_0: FATE's local_baseline example conf nests the intersection's parameters in hetero_lr_0's by
# mistake; FATE 1.4 drops them, so they are accepted with a warning rather than refused
RETIRED_PARAMS = {"eps": "tol", "converge_func": "early_stop", "cv_param.evaluate_param": None, "intersect_0": None}
