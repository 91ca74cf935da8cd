"""HeteroSecureBoost: FATE's vertically federated gradient-boosted trees (guest with labels, hosts)."""
