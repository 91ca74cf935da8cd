"""HomoFM: horizontally federated factorization machine (FATE 1.4.1's FederatedRec ``HomoFM``), on numpy."""
