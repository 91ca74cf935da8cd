"""HeteroLR on a host: features only, no labels, no intercept (FATE forces fit_intercept off).

Per batch (suffix (iter, batch)): send [[X_h w_h]] to the guest (and, with one host, the
encrypted ``sum u_h^2`` and penalty for the loss); get the guest's encrypted residual
[[d]]; send the masked ``[[X_h^T d]]`` to the arbiter; unmask its decryption, divide by
the batch size, add the L2 term, run the optimizer and update the weights. The host
sees only ciphertexts, ids and the arbiter's masked integers, never a label or a residual.
"""
from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

from fate_flow.components.hetero_lr.base import HeteroLRBase, select_model_features
from fate_flow.components.linear_model.common import read_instances
from fate_flow.components.hetero_lr.masking import MaskedSums
from fate_flow.components.linear_model.optim import initial_weights, penalty_loss
from fate_flow.secureprotol import EncryptedArray, PaillierPublicKey


class HeteroLRHost(HeteroLRBase):
    """Host side of HeteroLR: fits ``weights_`` for its own features; outputs no data."""

    role = "host"
    fits_intercept = False

    def fit(self, table) -> None:
        """Train with the guest and the arbiter until convergence or ``max_iter``."""
        data = read_instances(table, "HeteroLR")
        p = self.params
        self.header_ = list(data.header)
        public_key = PaillierPublicKey.from_bytes(self.variables.paillier_pubkey.get(idx=0))
        batches = self._receive_batches(data)
        self.weights_ = initial_weights(data.n_features, p.init_param, fit_intercept=False)
        self.iterate(batches, functools.partial(self._train_batch, public_key))

    def _receive_batches(self, data) -> list[np.ndarray]:
        """The feature rows of each batch, in the order of the ids the guest sent."""
        info = self.variables.batch_info.get(idx=0)
        batch_num = info.get("batch_num") if isinstance(info, dict) else None
        if isinstance(batch_num, bool) or not isinstance(batch_num, int) or batch_num < 1:
            raise ValueError(f"batch_info from the guest should hold a positive batch_num, got {info!r}")
        batches = []
        for index in range(batch_num):
            ids = self.variables.batch_data_index.get(idx=0, suffix=(index,))
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise ValueError("batch_data_index from the guest should be a list of ids")
            batches.append(data.align_to(pa.array(ids, type=pa.string())).features)
        return batches

    def _train_batch(self, public_key: PaillierPublicKey, optimizer, features: np.ndarray,
                     suffix: tuple) -> np.ndarray:
        """One batch of the protocol; returns the update applied to the weights."""
        forward = features @ self.weights_
        self.variables.host_forward_dict.remote(public_key.encrypt_array(forward).to_bytes(), role="guest",
                                                idx=0, suffix=suffix)
        if self.computes_loss:
            self._send_loss_parts(public_key, forward, suffix)
        residual = EncryptedArray.from_bytes(public_key, self.variables.fore_gradient.get(idx=0, suffix=suffix))
        if len(residual) != features.shape[0]:
            raise ValueError(f"fore_gradient holds {len(residual)} values for a batch of {features.shape[0]} rows")
        masked = MaskedSums(residual.dot(features))
        self.variables.host_gradient.remote(masked.to_bytes(), role="arbiter", idx=0, suffix=suffix)
        decrypted = self.variables.host_optim_gradient.get(idx=0, suffix=suffix)
        return self.step(optimizer, masked.unmask(decrypted), features.shape[0])

    def _send_loss_parts(self, public_key: PaillierPublicKey, forward: np.ndarray, suffix: tuple) -> None:
        """[[sum u_h^2]] and, with a penalty, [[host penalty]] for the guest's loss."""
        p = self.params
        square = public_key.encrypt(float(forward @ forward))
        self.variables.loss_intermediate.remote(square.to_bytes(), role="guest", idx=0, suffix=suffix)
        if p.penalty != "NONE":
            regular = public_key.encrypt(penalty_loss(self.weights_, p.penalty, p.alpha, fit_intercept=False))
            self.variables.host_loss_regular.remote(regular.to_bytes(), role="guest", idx=0, suffix=suffix)

    def predict(self, table, kind: str) -> None:
        """Send ``{"ids", "wx": X_h w_h}`` to the guest (plain, as FATE's host_prob); output nothing."""
        data = select_model_features(read_instances(table, "HeteroLR"), self.header_)
        self.variables.host_prob.remote({"ids": data.ids.cast(pa.string()).to_pylist(),
                                         "wx": data.features @ self.weights_}, role="guest", idx=0)
        return None
