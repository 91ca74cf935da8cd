"""HeteroMF: federated matrix factorization with a shared user embedding (FATE 1.4.1's FederatedRec ``HeteroMF``),
on numpy."""
