"""HeteroSecureBoost online: the host answers its left/right decisions, the guest routes and scores.

A host's share of a row is one 0/1 decision per node it owns (all its nodes, in (tree, node) order,
one request per row as FATE-Serving's host does); the guest's share is the row's features in the
model's header. The guest then walks every tree exactly as the batch predict job does, so the two
scores agree to the last bit. Unlike batch prediction, the guest learns the host's decision at nodes
a row never reaches: one round trip instead of one per depth.
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.hetero_secureboost.tree import TreeArrays, accumulate, route, tree_arrays
from fate_flow.components.linear_model.common import select_model_features
from fate_flow.components.online import OnlineModel
from fate_flow.computing import Instances


class GuestTreeModel(OnlineModel):
    """The guest's trees: routes its own nodes on the request's features, host nodes by the hosts' shares."""

    is_hetero = True

    def __init__(self, component) -> None:
        self.header = list(component.header_)
        self.component = component
        self.bind_hosts(component.host_ids)

    def bind_hosts(self, host_parties: list) -> None:
        """Read host share k as the decisions of the k-th of ``host_parties`` (the train job's host order,
        in which the serving engine passes the shares)."""
        self.arrays = tree_arrays(self.component.trees_, self.component.site, [f"host:{h}" for h in host_parties])

    def share(self, data: Instances) -> np.ndarray:
        return select_model_features(data, self.header).features

    def score(self, own: np.ndarray, host_shares: list[np.ndarray]) -> np.ndarray:
        c = self.component
        positions = route_with_hosts(self.arrays, own, host_shares, c.params.missing_mode[1])
        trees = np.arange(self.arrays.owner.shape[0])[None, :]
        scores = accumulate(c.init_score_, self.arrays.weight[trees, positions], c.params.learning_rate, c.tree_dim_)
        predicted = c.objective_.predict(scores)
        return predicted.max(axis=1) if predicted.ndim == 2 else predicted


class HostTreeModel(OnlineModel):
    """A host's share: its decision at each of its nodes."""

    is_hetero = True

    def __init__(self, component) -> None:
        self.header = list(component.header_)
        self.arrays = component.own_arrays()
        self.zero_as_missing = component.params.missing_mode[1]

    def share(self, data: Instances) -> np.ndarray:
        from fate_flow.components.hetero_secureboost.kernels import all_decisions_kernel

        block = select_model_features(data, self.header)
        return all_decisions_kernel(self.arrays, None, self.zero_as_missing, block).astype(np.float64)

    def score(self, own: np.ndarray, host_shares: list[np.ndarray]) -> np.ndarray:
        raise ValueError("a HeteroSecureBoost host does not score: inference starts at the guest")


def route_with_hosts(arrays: TreeArrays, features: np.ndarray, host_shares: list[np.ndarray],
                     zero_as_missing: bool) -> np.ndarray:
    """Every row's leaf in every tree; host k's share column c is its c-th node in (tree, node) order."""
    n, n_trees = features.shape[0], arrays.owner.shape[0]
    positions = np.zeros((n, n_trees), np.int64)
    trees = np.arange(n_trees)[None, :]
    columns = []
    for k in range(len(host_shares)):
        index = np.full(arrays.owner.shape, -1, np.int64)
        t, nodes = np.nonzero(arrays.owner == k + 1)
        index[t, nodes] = np.arange(len(t))
        columns.append(index)
    for _ in range(arrays.owner.shape[1] + 1):
        positions = route(arrays, features, positions, zero_as_missing)
        owner = arrays.owner[trees, positions]
        if not (owner >= 1).any():
            break
        for k, share in enumerate(host_shares):
            rows, cols = np.nonzero(owner == k + 1)
            nodes = positions[rows, cols]
            share = np.asarray(share, dtype=np.float64).reshape(n, -1)
            left = share[rows, columns[k][cols, nodes]] > 0.5
            positions[rows, cols] = np.where(left, arrays.left[cols, nodes], arrays.right[cols, nodes])
    return positions


def load_online(messages: dict, role: str, name: str) -> OnlineModel:
    """The online model of a saved HeteroSecureBoost model (guest or host)."""
    from fate_flow.components.hetero_secureboost.guest import HeteroSecureBoostGuest
    from fate_flow.components.hetero_secureboost.host import HeteroSecureBoostHost
    from fate_flow.components.hetero_secureboost.param import BoostingTreeParam

    if role == "guest":
        component = HeteroSecureBoostGuest(BoostingTreeParam())
        component.load_model(messages)
        component.host_ids = _host_ids(component)
        return GuestTreeModel(component)
    if role == "host":
        component = HeteroSecureBoostHost(BoostingTreeParam())
        component.load_model(messages)
        return HostTreeModel(component)
    raise ValueError(f"HeteroSecureBoost has no {role} side to serve")


def _host_ids(component) -> list[str]:
    """The host parties named by the trees' sitenames, in order of first appearance."""
    hosts = []
    for nodes in component.trees_:
        for node in nodes:
            if node.sitename.startswith("host:") and node.sitename[5:] not in hosts:
                hosts.append(node.sitename[5:])
    return hosts
