"""HeteroPoisson on the guest: HeteroLinR's guest with the log link.

If ``exposure_colname`` names a column of the train data, that column is left out of the features
and gives each row's offset ln(e) (ln(1e-7) for e = 0); otherwise the offset is 0. Per piece of a
batch: ``[[mu]] = exp(X_g w_g + b + offset) * [[exp(u_h)]]``, ``[[d]] = [[mu]] - y`` back to the host,
and the piece's ``[[X_g^T d]]`` and loss terms. With the host's [[u_h]] the guest sends the arbiter
FATE's ``[[loss]] = (sum [[mu]] - sum y (u_g + b + offset) - [[sum y u_h]]) / n + penalties``
(without the ln(y!) constant; n the batch's rows). Predictions are ``exp(u_g + b + offset + u_h)``.
"""
from __future__ import annotations

import functools

import numpy as np

from fate_flow.components.hetero_linr.base import offsets
from fate_flow.components.hetero_linr.guest import HeteroLinRGuest
from fate_flow.components.hetero_lr.guest import GuestPartial
from fate_flow.components.hetero_poisson.base import HeteroPoissonMixin
from fate_flow.components.linear_model.common import with_intercept_column
from fate_flow.components.linear_model.optim import penalty_loss
from fate_flow.components.linear_model.partitioned import model_columns, piece_rows, worker_public_key
from fate_flow.secureprotol import EncryptedArray, EncryptedNumber, PaillierPublicKey


class HeteroPoissonGuest(HeteroPoissonMixin, HeteroLinRGuest):
    """Guest side of HeteroPoisson: fits ``weights_`` (intercept last) and outputs the expected counts."""

    link = "exp"

    @property
    def exposure_name(self) -> str | None:
        return self.params.exposure_colname

    def model_header(self, data) -> list:
        """The train data's features less the exposure column."""
        header = [name for name in data.header if name != self.exposure_name]
        if not header:
            raise ValueError("HeteroPoisson: the guest has no feature besides the exposure column")
        return header

    def stepwise_features(self, header: list[str]) -> list[str]:
        """Stepwise never drops the exposure column: it is the offset, not a feature."""
        return [name for name in header if name != self.exposure_name]

    def batch_kernel(self, public_key: PaillierPublicKey, message_rows: int):
        return functools.partial(poisson_guest_batch_kernel, public_key, self.weights_, self.fits_intercept,
                                 message_rows, self.header_, self.exposure_name)

    def _send_loss(self, public_key: PaillierPublicKey, total: GuestPartial, n: int, suffix: tuple) -> None:
        """[[loss]] = ([[sum mu - sum y u_h]] - sum y (u_g + b + offset)) / n + penalties."""
        n = max(n, 1)
        p = self.params
        plain = -total.y_own / n + penalty_loss(self.weights_, p.penalty, p.alpha, self.fits_intercept)
        loss = total.cross * (1.0 / n) + plain
        if p.penalty != "NONE":
            regular = self.variables.host_loss_regular.get(idx=0, suffix=suffix)
            loss = loss + EncryptedNumber.from_bytes(public_key, regular)
        self.variables.loss.remote(loss.to_bytes(), role="arbiter", idx=0, suffix=suffix)


def poisson_guest_batch_kernel(public_key: PaillierPublicKey, weights: np.ndarray, fits_intercept: bool,
                               message_rows: int, header: list, exposure: str | None, block, message: tuple) -> tuple:
    """One piece of a partition's rows of a batch, ``message`` = (piece, [the host's [mu_h(, u_h)] of it]):
    (the residual [[d]] to send, as bytes; its GuestPartial as bytes; the cross term is
    [[sum mu - sum y u_h]] when the host sent u_h)."""
    public_key = worker_public_key(public_key)
    piece, forwards = message
    if len(forwards) != 1 or not isinstance(forwards[0], (list, tuple)) or len(forwards[0]) not in (1, 2):
        raise ValueError("host_forward of HeteroPoisson should hold one host's [exp(u_h)] or [exp(u_h), u_h]")
    rows = piece_rows(piece, message_rows)
    columns = model_columns(block.header, header)
    x = block.features[rows] if columns is None else block.features[rows][:, columns]
    x = with_intercept_column(x) if fits_intercept else x
    y = block.labels[rows]
    own = x @ weights + offsets(block, exposure)[rows]
    parts = [EncryptedArray.from_bytes(public_key, blob) for blob in forwards[0]]
    if any(len(part) != len(y) for part in parts):
        raise ValueError(f"host_forward holds {[len(part) for part in parts]} values for a piece of {len(y)} rows")
    mu = parts[0] * np.exp(own)
    residual = mu - y
    cross = None
    if len(parts) == 2:
        cross = (mu.sum() - parts[1].dot(y)).to_bytes(be_secure=False)
    return residual.to_bytes(), (residual.dot(x).to_bytes(be_secure=False), cross, float(y @ own), 0.0)
