"""HeteroFM: vertically federated factorization machine (FATE 1.4.1's FederatedRec ``HeteroFM``), on numpy."""
