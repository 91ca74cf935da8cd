"""HeteroGMF: generalized matrix factorization with negative sampling (FATE 1.4.1's FederatedRec ``HeteroGMF``)."""
