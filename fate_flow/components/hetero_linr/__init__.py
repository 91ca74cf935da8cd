"""HeteroLinR: linear regression over vertically split data (FATE 1.4's hetero_linear_regression).

The guest holds the real-valued labels and some features, each host other features of the
same rows, and the arbiter the Paillier key. The parties are HeteroLR's (``hetero_lr``) with
the residual ``d = u_g + sum u_h - y``, the squared loss and identity predictions put in:
``guest``, ``host``, ``arbiter``, ``base`` (what the three change), ``param`` (LinearParam),
``transfer`` (the messages), ``online`` and ``spec``. Nothing is imported here.
"""
