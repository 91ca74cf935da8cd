"""What HeteroLR and HomoLR share: FATE's nested params and checks, optimizers, penalties,
convergence rules, initial weights, data reading and the run dispatch, and FATE's
default_runtime_conf of logistic regression. Nothing is imported here."""
