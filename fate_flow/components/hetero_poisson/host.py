"""HeteroPoisson on the host: HeteroLR's host, sending [[exp(X_h w_h)]] (and, for the loss, [[X_h w_h]])
per row instead of [[X_h w_h]]; the gradient [[X_h^T d]] is computed as there."""
from __future__ import annotations

import functools

import numpy as np

from fate_flow.components.hetero_lr.host import HeteroLRHost
from fate_flow.components.hetero_poisson.base import HeteroPoissonMixin
from fate_flow.components.linear_model.optim import penalty_loss
from fate_flow.components.linear_model.partitioned import piece_rows, worker_public_key
from fate_flow.secureprotol import PaillierPublicKey


class HeteroPoissonHost(HeteroPoissonMixin, HeteroLRHost):
    """Host side of HeteroPoisson: fits ``weights_`` for its own features; outputs no data."""

    def forward_kernel(self, public_key: PaillierPublicKey, message_rows: int):
        return functools.partial(poisson_host_forward_kernel, public_key, self.weights_, message_rows,
                                 self.computes_loss)

    def _send_loss_parts(self, public_key: PaillierPublicKey, square: float, suffix: tuple) -> None:
        """Only the penalty: the guest's loss terms came with the forwards."""
        p = self.params
        if p.penalty != "NONE":
            regular = public_key.encrypt(penalty_loss(self.weights_, p.penalty, p.alpha, fit_intercept=False))
            self.variables.host_loss_regular.remote(regular.to_bytes(), role="guest", idx=0, suffix=suffix)


def poisson_host_forward_kernel(public_key: PaillierPublicKey, weights: np.ndarray, message_rows: int,
                                with_loss: bool, block, piece: int) -> tuple[list, float]:
    """One piece of a partition's rows of a batch: ([[[exp(u_h)]], [[u_h]] (with the loss)] as bytes, 0)."""
    public_key = worker_public_key(public_key)
    u = block.features[piece_rows(piece, message_rows)] @ weights
    parts = [public_key.encrypt_array(np.exp(u)).to_bytes()]
    if with_loss:
        parts.append(public_key.encrypt_array(u).to_bytes())
    return parts, 0.0
