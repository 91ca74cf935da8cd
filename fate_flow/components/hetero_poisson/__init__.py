"""HeteroPoisson: Poisson regression over vertically split data (FATE 1.4's hetero_poisson_regression).

The guest holds the counts (and optionally an exposure column), exactly one host other
features of the same rows, and the arbiter the Paillier key. The parties are HeteroLinR's
(and so HeteroLR's) with the log link put in: ``mu = exp(u_g + b + ln e) * [[exp(u_h)]]``,
``d = mu - y``, and FATE's Poisson loss. Nothing is imported here.
"""
