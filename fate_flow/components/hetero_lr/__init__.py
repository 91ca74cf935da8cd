"""HeteroLR: logistic regression over vertically split data (FATE 1.4's hetero_logistic_regression).

The guest holds the labels and some features, each host other features of the same rows,
and the arbiter the Paillier key. Modules: ``guest``, ``host``, ``arbiter`` (the parties),
``param`` (HeteroLogisticParam), ``transfer`` (the messages), ``optim`` (optimizers,
penalties, convergence), ``masking`` (hiding gradients from the arbiter), ``spec``
(registration). Nothing is imported here, so that registering the module stays cheap.
"""
