"""HeteroGMF: each rating row (user, positive item) is trained against ``neg_count`` items drawn at random
from the party's own items; the model outputs ``pos = user . item+``, ``neg = user . item-`` and their
difference, with FATE 1.4.1's loss ``0.3 mse(pos, rating) + 0.3 mse(neg, 0) + 0.4 mean(-ln sigmoid(pos - neg))``.
User ids are indexes shared by both parties (they swap only the user count, as FATE does); the user
embedding is averaged as in HeteroMF. Predictions score ``user . item``.
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.hetero_gmf.transfer import HeteroGMFTransferVariable
from fate_flow.components.hetero_mf.mf import HeteroMFArbiter, HeteroMFClient
from fate_flow.components.linear_model.common import sigmoid

LOSS_WEIGHTS = (0.3, 0.3, 0.4)
# the negatives of the loss the parties report are drawn from this seed, the same every round
EVALUATION_SEED = 7


class HeteroGMFClient(HeteroMFClient):
    module = "HeteroGMF"
    transfer_class = HeteroGMFTransferVariable

    def _shared_users(self, own: np.ndarray) -> np.ndarray:
        if own.size and (np.any(own < 0) or np.any(own != np.round(own))):
            raise ValueError("HeteroGMF reads user ids as indexes: they should be integers >= 0")
        count = int(own.max()) + 1 if own.size else 0
        if self.ctx.role == "guest":
            self.variables.guest_user_num.remote(count, role="host", idx=0)
            other = self.variables.host_user_num.get(idx=0)
        else:
            self.variables.host_user_num.remote(count, role="guest", idx=0)
            other = self.variables.guest_user_num.get(idx=0)
        if isinstance(other, bool) or not isinstance(other, int) or other < 0:
            raise ValueError("the other party's user count should be an integer >= 0")
        return np.arange(max(count, other), dtype=np.float64)

    def initial_weights(self, rng: np.random.RandomState, users, items, ratings) -> dict:
        self.negatives_ = np.random.default_rng(self.params.init_param.random_seed)
        return super().initial_weights(rng, users, items, ratings)

    def _triples(self, users, items, ratings, rng) -> tuple:
        k = self.params.neg_count
        negatives = rng.integers(0, len(self.item_ids_), len(users) * k)
        return np.repeat(users, k), np.repeat(items, k), np.repeat(ratings, k), negatives

    def _outputs(self, users, positives, negatives) -> tuple[np.ndarray, np.ndarray]:
        u, v = self.weights_["user_embedding"][users], self.weights_["item_embedding"]
        return np.sum(u * v[positives], axis=1), np.sum(u * v[negatives], axis=1)

    def gmf_loss(self, users, items, ratings, rng) -> float:
        users, positives, ratings, negatives = self._triples(users, items, ratings, rng)
        pos, neg = self._outputs(users, positives, negatives)
        w_pos, w_neg, w_rank = LOSS_WEIGHTS
        return float(w_pos * np.mean((pos - ratings) ** 2) + w_neg * np.mean(neg ** 2)
                     - w_rank * np.mean(np.log(sigmoid(pos - neg))))

    def gradients(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> dict:
        users, positives, ratings, negatives = self._triples(users, items, ratings, self.negatives_)
        pos, neg = self._outputs(users, positives, negatives)
        n, (w_pos, w_neg, w_rank) = len(users), LOSS_WEIGHTS
        rank = 1.0 - sigmoid(pos - neg)
        d_pos = (2 * w_pos * (pos - ratings) - w_rank * rank) / n
        d_neg = (2 * w_neg * neg + w_rank * rank) / n
        u, v = self.weights_["user_embedding"], self.weights_["item_embedding"]
        grad_u, grad_v = np.zeros_like(u), np.zeros_like(v)
        np.add.at(grad_u, users, d_pos[:, None] * v[positives] + d_neg[:, None] * v[negatives])
        np.add.at(grad_v, positives, d_pos[:, None] * u[users])
        np.add.at(grad_v, negatives, d_neg[:, None] * u[users])
        return {"user_embedding": grad_u, "item_embedding": grad_v}

    def evaluate_loss(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> float:
        return self.gmf_loss(users, items, ratings, np.random.default_rng(EVALUATION_SEED))

    def export_model(self):
        model = super().export_model()
        if model is None:
            return None
        meta, param = model.pop("MatrixModelMeta"), model.pop("MatrixModelParam")
        meta["params"]["neg_count"] = self.params.neg_count
        param["user_num"], param["item_num"] = len(param.pop("user_ids")), len(param.pop("item_ids"))
        param["item_ids"] = [float(i) for i in self.item_ids_]  # this party's own item ids, to read them back
        return {"GMFModelMeta": meta, "GMFModelParam": param}

    def load_model(self, messages: dict) -> None:
        param = dict(messages.get("GMFModelParam") or {})
        if not param:
            raise ValueError("the model input has no GMFModelParam")
        param["user_ids"] = list(range(int(param.get("user_num", 0))))
        super().load_model({"MatrixModelParam": param})


class HeteroGMFArbiter(HeteroMFArbiter):
    module = "HeteroGMF"
    transfer_class = HeteroGMFTransferVariable
    model_names = ("GMFModelMeta", "GMFModelParam")
