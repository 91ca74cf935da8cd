"""HeteroSVD: ``rating = mu + b_user + b_item + user . item``; the user embedding and the user bias are
averaged between the parties (HeteroMF's protocol), the item side stays with each party.

mu is FATE 1.4.1's global mean: each party sends the other its [mean rating, count], and both use
``(mean_guest + mean_host) / (count_guest + count_host)`` (a FATE quirk, kept: it is not the mean of
all ratings). Biases start like the embeddings (one-dimensional embeddings).
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.hetero_mf.mf import HeteroMFArbiter, HeteroMFClient, initial_embedding
from fate_flow.components.hetero_svd.transfer import HeteroSVDTransferVariable


class HeteroSVDClient(HeteroMFClient):
    module = "HeteroSVD"
    transfer_class = HeteroSVDTransferVariable
    trained = ("user_embedding", "item_embedding", "user_bias", "item_bias")
    shared = ("user_embedding", "user_bias")

    def initial_weights(self, rng: np.random.RandomState, users, items, ratings) -> dict:
        weights = super().initial_weights(rng, users, items, ratings)
        method = self.params.init_param.init_method
        weights["user_bias"] = initial_embedding(len(self.user_ids_), 1, method, rng)[:, 0]
        weights["item_bias"] = initial_embedding(len(self.item_ids_), 1, method, rng)[:, 0]
        weights["global_mean"] = np.array(self.global_mean(ratings))
        return weights

    def global_mean(self, ratings: np.ndarray) -> float:
        """FATE's mu from both parties' [mean, count]."""
        own = [float(np.mean(ratings)), int(len(ratings))]
        if self.ctx.role == "guest":
            self.variables.guest_average_rate.remote(own, role="host", idx=0)
            other = self.variables.host_average_rate.get(idx=0)
        else:
            self.variables.host_average_rate.remote(own, role="guest", idx=0)
            other = self.variables.guest_average_rate.get(idx=0)
        if not isinstance(other, list) or len(other) != 2 or not other[1] > 0:
            raise ValueError("the other party's average rate should be [mean, count]")
        return (own[0] + float(other[0])) / (own[1] + int(other[1]))

    def user_vectors(self, users: np.ndarray) -> np.ndarray:
        return self.weights_["user_embedding"][users]

    def predict_known(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        w = self.weights_
        dot = np.sum(self.user_vectors(users) * w["item_embedding"][items], axis=1)
        return float(w["global_mean"]) + w["user_bias"][users] + w["item_bias"][items] + dot

    def gradients(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> dict:
        w = self.weights_
        scale = 2.0 * (self.predict_known(users, items) - ratings) / len(ratings)
        grads = {name: np.zeros_like(w[name]) for name in self.trained}
        np.add.at(grads["user_embedding"], users, scale[:, None] * w["item_embedding"][items])
        np.add.at(grads["item_embedding"], items, scale[:, None] * self.user_vectors(users))
        np.add.at(grads["user_bias"], users, scale)
        np.add.at(grads["item_bias"], items, scale)
        return grads


class HeteroSVDArbiter(HeteroMFArbiter):
    module = "HeteroSVD"
    transfer_class = HeteroSVDTransferVariable
