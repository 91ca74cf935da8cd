"""HeteroLinR on the guest: HeteroLR's guest with the linear residual, the squared loss and ŷ = u.

Per piece of a batch (on the engine's workers): ``[[d]] = (X_g w_g + b - y) + sum [[u_h]]``, sent
back to the hosts, and the piece's ``[[X_g^T d]]`` plus the loss terms ``sum (u_g - y)^2`` and
``[[sum u_h (u_g - y)]]``. With one host the guest sends the arbiter
``[[loss]] = (sum (u_g - y)^2 + [[sum u_h^2]] + 2 [[sum u_h (u_g - y)]]) / (2 n) + penalties``
(n the batch's rows, as HeteroLR's loss; FATE divides by the whole table's rows).
"""
from __future__ import annotations

import functools

import numpy as np

from fate_flow.components.hetero_linr.base import HeteroLinRMixin, regression_predict_kernel
from fate_flow.components.hetero_lr.guest import GuestPartial, HeteroLRGuest, _sum_forwards
from fate_flow.components.linear_model.common import with_intercept_column
from fate_flow.components.linear_model.optim import penalty_loss
from fate_flow.components.linear_model.partitioned import piece_rows, worker_public_key
from fate_flow.secureprotol import EncryptedNumber, PaillierPublicKey


class HeteroLinRGuest(HeteroLinRMixin, HeteroLRGuest):
    """Guest side of HeteroLinR: fits ``weights_`` (intercept last) and outputs ŷ per row."""

    link = "identity"
    exposure_name: str | None = None

    def batch_kernel(self, public_key: PaillierPublicKey, message_rows: int):
        return functools.partial(linr_guest_batch_kernel, public_key, self.weights_, self.fits_intercept,
                                 message_rows, self.computes_loss)

    def predict_kernel(self, directory: str, kind: str):
        intercept = float(self.weights_[-1]) if self.fits_intercept else 0.0
        return functools.partial(regression_predict_kernel, self.header_, self.weights_[:len(self.header_)],
                                 intercept, kind, directory, self.link, self.exposure_name, self.predict_name)

    def _send_loss(self, public_key: PaillierPublicKey, total: GuestPartial, n: int, suffix: tuple) -> None:
        """[[loss]] = (sum r^2 + [[sum u_h^2]] + 2 [[sum u_h r]]) / 2n + penalties, r = u_g - y."""
        n = max(n, 1)
        square = EncryptedNumber.from_bytes(public_key, self.variables.loss_intermediate.get(idx=0, suffix=suffix))
        p = self.params
        plain = total.own_square / (2 * n) + penalty_loss(self.weights_, p.penalty, p.alpha, self.fits_intercept)
        loss = (total.cross * 2 + square) * (1.0 / (2 * n)) + plain
        if p.penalty != "NONE":
            regular = self.variables.host_loss_regular.get(idx=0, suffix=suffix)
            loss = loss + EncryptedNumber.from_bytes(public_key, regular)
        self.variables.loss.remote(loss.to_bytes(), role="arbiter", idx=0, suffix=suffix)


def linr_guest_batch_kernel(public_key: PaillierPublicKey, weights: np.ndarray, fits_intercept: bool,
                            message_rows: int, with_loss: bool, block, message: tuple) -> tuple:
    """One piece of a partition's rows of a batch, ``message`` = (piece, the hosts' forwards of it):
    (the residual [[d]] to send, as bytes; its GuestPartial as bytes), as HeteroLR's kernel."""
    public_key = worker_public_key(public_key)
    piece, forwards = message
    rows = piece_rows(piece, message_rows)
    x = block.features[rows]
    x = with_intercept_column(x) if fits_intercept else x
    own_residual = x @ weights - block.labels[rows]
    host_sum = _sum_forwards(public_key, forwards, len(own_residual))
    residual = host_sum + own_residual
    cross = host_sum.dot(own_residual).to_bytes(be_secure=False) if with_loss else None
    return residual.to_bytes(), (residual.dot(x).to_bytes(be_secure=False), cross, 0.0,
                                 float(own_residual @ own_residual))
