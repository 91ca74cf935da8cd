"""HomoSecureboost: FATE's horizontally federated gradient-boosted trees (clients with rows, an arbiter)."""
