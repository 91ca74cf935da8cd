"""HeteroSVDpp: HeteroSVD whose user vector adds implicit feedback,
``user + |N(u)|^-1/2 sum_{j in N(u)} y_j`` over the party's own items N(u) the user rated; the implicit
item embedding y stays with the party, with its rating matrix (saved in the model as FATE does)."""
from __future__ import annotations

import numpy as np

from fate_flow.components.hetero_mf.mf import initial_embedding
from fate_flow.components.hetero_svd.svd import HeteroSVDArbiter, HeteroSVDClient


class HeteroSVDppClient(HeteroSVDClient):
    module = "HeteroSVDpp"
    trained = ("user_embedding", "item_embedding", "user_bias", "item_bias", "implicit_embedding")

    def initial_weights(self, rng: np.random.RandomState, users, items, ratings) -> dict:
        weights = super().initial_weights(rng, users, items, ratings)
        p = self.params.init_param
        weights["implicit_embedding"] = initial_embedding(len(self.item_ids_), p.embed_dim, p.init_method, rng)
        rated = np.zeros((len(self.user_ids_), len(self.item_ids_)))
        rated[users, items] = 1.0
        weights["rating_matrix"] = rated
        return weights

    def _normalized_ratings(self, users: np.ndarray) -> np.ndarray:
        rated = self.weights_["rating_matrix"][users]
        counts = rated.sum(axis=1, keepdims=True)
        return np.divide(rated, np.sqrt(counts), out=np.zeros_like(rated), where=counts > 0)

    def user_vectors(self, users: np.ndarray) -> np.ndarray:
        w = self.weights_
        return w["user_embedding"][users] + self._normalized_ratings(users) @ w["implicit_embedding"]

    def gradients(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> dict:
        grads = super().gradients(users, items, ratings)
        w = self.weights_
        scale = 2.0 * (self.predict_known(users, items) - ratings) / len(ratings)
        grads["implicit_embedding"] = self._normalized_ratings(users).T @ (scale[:, None] * w["item_embedding"][items])
        return grads

    def export_model(self):
        model = super().export_model()
        if model is not None:
            rated = self.weights_["rating_matrix"]
            model["MatrixModelParam"]["rating_matrix"] = {"height": int(rated.shape[0]), "width": int(rated.shape[1]),
                                                          "values": rated.reshape(-1).tolist()}
        return model


class HeteroSVDppArbiter(HeteroSVDArbiter):
    module = "HeteroSVDpp"
