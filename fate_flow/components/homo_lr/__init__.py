"""HomoLR: logistic regression over horizontally split data (FATE 1.4's homo_logistic_regression).

The guest and the hosts (the clients) hold rows with the same features and their own
labels; each trains locally for ``aggregate_iters`` epochs, then the arbiter averages the
models weighted by the clients' sample counts and decides convergence on the averaged loss.

Secure aggregation: the clients agree on pairwise keys by Diffie-Hellman relayed by the
arbiter and add pairwise masks (modulo 2^64, on a fixed-point encoding) that cancel in the
arbiter's sum, so the arbiter sees each model and loss only masked (``secure_aggregation``).
``encrypt_param.method`` Paillier is accepted with FATE's limits (sgd, no L1 penalty), but
the hosts train in the clear: FATE's encrypted host model is not implemented here.

Modules: ``client`` (guest and host), ``arbiter``, ``base`` (run dispatch, model),
``param`` (HomoLogisticParam), ``optim`` (gradient, loss, optimizers, convergence),
``secure_aggregation``, ``transfer`` (the messages), ``spec`` (registration). Nothing is
imported here, so that registering the module stays cheap.
"""
