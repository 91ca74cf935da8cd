"""HeteroSVD: HeteroMF with user and item biases and the global mean (FATE 1.4.1's FederatedRec ``HeteroSVD``)."""
