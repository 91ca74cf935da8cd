"""HeteroLR on the guest: holds the labels, builds the batches, computes the residual and the loss.

Per batch (suffix (iter, batch)): get every host's [[X_h w_h]], form
``[[d]] = 0.25 ([[sum u_h]] + u_g) - 0.5 y`` (y in {-1, 1}) and send it to the hosts; send
the masked ``[[X_g^T d]]`` (intercept column included) to the arbiter; with one host,
send the arbiter the encrypted Taylor loss; get the decrypted masked sums back, unmask,
divide by the batch size, add the L2 term, run the optimizer and update the weights.
"""
from __future__ import annotations

import functools
import math
import operator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.base import TableData
from fate_flow.components.hetero_lr.base import (
    HeteroLRBase, batch_rows, select_model_features,
)
from fate_flow.components.linear_model.common import (
    prediction_rows, read_instances, sigmoid, signed_labels, union_outputs, with_intercept_column,
)
from fate_flow.components.hetero_lr.masking import MaskedSums
from fate_flow.components.linear_model.optim import initial_weights, penalty_loss
from fate_flow.secureprotol import EncryptedArray, EncryptedNumber, PaillierPublicKey

LN2 = math.log(2.0)


class HeteroLRGuest(HeteroLRBase):
    """Guest side of HeteroLR: fits ``weights_`` (intercept last) and outputs the predictions."""

    role = "guest"

    def fit(self, table) -> None:
        """Train with the hosts and the arbiter until convergence or ``max_iter``."""
        data = read_instances(table, "HeteroLR")
        y = signed_labels(data.labels, "HeteroLR", "the guest")
        p = self.params
        self.fits_intercept = p.init_param.fit_intercept
        self.header_ = list(data.header)
        public_key = PaillierPublicKey.from_bytes(self.variables.paillier_pubkey.get(idx=0))
        features = with_intercept_column(data.features) if self.fits_intercept else data.features
        batches = [(features[rows], y[rows]) for rows in self._send_batches(data)]
        self.weights_ = initial_weights(data.n_features, p.init_param, self.fits_intercept)
        self.iterate(batches, functools.partial(self._train_batch, public_key))

    def _send_batches(self, data) -> list[np.ndarray]:
        """Cut the rows into batches; tell the hosts and the arbiter how, and the hosts which ids each holds."""
        batches = batch_rows(len(data), self.params.batch_size)
        self.variables.batch_info.remote({"batch_size": self.params.batch_size, "batch_num": len(batches)})
        for index, rows in enumerate(batches):
            ids = data.ids.take(pa.array(rows, type=pa.int64())).to_pylist()
            self.variables.batch_data_index.remote(ids, role="host", suffix=(index,))
        return batches

    def _train_batch(self, public_key: PaillierPublicKey, optimizer, batch: tuple, suffix: tuple) -> np.ndarray:
        """One batch (features, y) of the protocol; returns the update applied to the weights."""
        features, y = batch
        forwards = [EncryptedArray.from_bytes(public_key, message)
                    for message in self.variables.host_forward_dict.get(idx=-1, suffix=suffix)]
        if any(len(forward) != len(y) for forward in forwards):
            raise ValueError(f"a host_forward_dict holds {[len(f) for f in forwards]} values "
                             f"for a batch of {len(y)} rows")
        host_sum = functools.reduce(operator.add, forwards)
        own = features @ self.weights_
        residual = host_sum * 0.25 + (0.25 * own - 0.5 * y)
        self.variables.fore_gradient.remote(residual.to_bytes(), role="host", suffix=suffix)
        masked = MaskedSums(residual.dot(features))
        self.variables.guest_gradient.remote(masked.to_bytes(), role="arbiter", idx=0, suffix=suffix)
        if self.computes_loss:
            self._send_loss(public_key, own, y, host_sum, suffix)
        decrypted = self.variables.guest_optim_gradient.get(idx=0, suffix=suffix)
        return self.step(optimizer, masked.unmask(decrypted), len(y))

    def _send_loss(self, public_key: PaillierPublicKey, own: np.ndarray, y: np.ndarray,
                   host_forward: EncryptedArray, suffix: tuple) -> None:
        """Send [[loss]] = ln2 - 0.5 mean(y u) + 0.125 mean(u^2) + penalties (Taylor expansion).

        With u = u_g + u_h: the guest knows u_g and y, the host sends [[sum u_h^2]] and its
        penalty; ``sum u_h (0.25 u_g - 0.5 y)`` gives both cross terms in one encrypted dot.
        The means are over the batch (FATE 1.4.5 divides a mini-batch's sums by the whole
        table's count, which shrinks the logged loss of mini-batch runs).
        """
        n = len(y)
        square = EncryptedNumber.from_bytes(public_key, self.variables.loss_intermediate.get(idx=0, suffix=suffix))
        p = self.params
        plain = LN2 + (-0.5 * float(y @ own) + 0.125 * float(own @ own)) / n
        plain += penalty_loss(self.weights_, p.penalty, p.alpha, self.fits_intercept)
        loss = (host_forward.dot(0.25 * own - 0.5 * y) + square * 0.125) * (1.0 / n) + plain
        if p.penalty != "NONE":
            regular = self.variables.host_loss_regular.get(idx=0, suffix=suffix)
            loss = loss + EncryptedNumber.from_bytes(public_key, regular)
        self.variables.loss.remote(loss.to_bytes(), role="arbiter", idx=0, suffix=suffix)

    def predict(self, table, kind: str) -> TableData:
        """Scores ``sigmoid(u_g + sum u_h)`` for the rows every host has; ``kind`` is the row type."""
        data = select_model_features(read_instances(table, "HeteroLR"), self.header_)
        score = data.features @ self.weights_[:len(self.header_)]
        if self.fits_intercept:
            score = score + self.weights_[-1]
        keep = np.ones(len(data), dtype=bool)
        for message in self.variables.host_prob.get(idx=-1):
            host_score, present = _align_host_scores(data.ids, message)
            score, keep = score + host_score, keep & present
        if not keep.all():
            self.ctx.logger.warning("%s rows have no score from a host and are left out", int((~keep).sum()))
            data, score = data.take(np.flatnonzero(keep)), score[keep]
        return prediction_rows(data, sigmoid(score), self.params.predict_param.threshold, kind)

    def combine_outputs(self, results: list) -> TableData | None:
        return union_outputs(results)


def _align_host_scores(ids: pa.Array, message: dict) -> tuple[np.ndarray, np.ndarray]:
    """A host's ``{"ids", "wx"}`` put in the guest's row order: (scores, which rows it had)."""
    if not isinstance(message, dict) or "ids" not in message or "wx" not in message:
        raise ValueError("host_prob should be a dict with ids and wx")
    host_ids = pa.array(message["ids"], type=pa.string())
    wx = np.asarray(message["wx"], dtype=np.float64)
    if wx.shape != (len(host_ids),):
        raise ValueError(f"host_prob has {len(host_ids)} ids but {wx.shape} scores")
    positions = pc.index_in(ids.cast(pa.string()), value_set=host_ids)
    present = positions.is_valid().to_numpy(zero_copy_only=False)
    index = positions.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.where(present, wx[index] if len(wx) else 0.0, 0.0), present
