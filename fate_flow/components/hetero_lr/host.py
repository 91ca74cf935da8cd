"""HeteroLR on a host: features only, no labels, no intercept (FATE forces fit_intercept off).

The train data is persisted as partitions sorted by id, checked against the guest's by a digest
per partition; the batches are found from the ids with the guest's batch count and salt.
Per batch (suffix (iter, batch)): encrypt [[X_h w_h]] of each partition's rows in the batch on
the engine's workers and send it (suffix (iter, batch, i, piece)); with one host, send the encrypted
``sum u_h^2`` and penalty for the loss; then, a few partitions at a time, take the guest's
residual [[d]] of partition i and compute its [[X_h^T d]]; add those in partition order, send
the masked sum to the arbiter, unmask its decryption, divide by the batch's rows, add the L2
term, run the optimizer and update the weights. The host sees only ciphertexts, digests, the
batch count and the arbiter's masked integers, never a label or a residual.
"""
from __future__ import annotations

import functools

import numpy as np

from fate_flow.components.hetero_lr.base import HeteroLRBase
from fate_flow.components.hetero_lr.masking import MaskedSums
from fate_flow.components.linear_model.optim import initial_weights, penalty_loss
from fate_flow.components.linear_model import partitioned
from fate_flow.components.linear_model.partitioned import (
    in_groups, in_message_groups, linear_scores, message_groups, message_parts, model_columns, piece_rows, run_with,
    split_batches, worker_public_key,
)
from fate_flow.secureprotol import EncryptedArray, PaillierPublicKey


class HeteroLRHost(HeteroLRBase):
    """Host side of HeteroLR: fits ``weights_`` for its own features; outputs no data."""

    role = "host"
    fits_intercept = False

    def fit(self, table) -> None:
        """Train with the guest and the arbiter until convergence or ``max_iter``."""
        data = self.load_train_data(table)
        p = self.params
        self.header_ = list(data.header)
        public_key = PaillierPublicKey.from_bytes(self.variables.paillier_pubkey.get(idx=0))
        self.check_ids_match(data, self.variables.host_ids_digest, self.variables.guest_ids_digest, "the guest")
        batch_num, salt = self._receive_batch_info()
        batches, sizes = split_batches(data.table, batch_num, salt)
        self.weights_ = initial_weights(len(self.header_), p.init_param, fit_intercept=False)
        self.sqn_inputs_ = batches, sizes, public_key
        self.iterate(batch_num, functools.partial(self._train_batch, batches, sizes, public_key))

    def _receive_batch_info(self) -> tuple[int, int]:
        """(batch count, salt) from the guest: enough to find every row's batch from its id."""
        info = self.variables.batch_info.get(idx=0)
        batch_num = info.get("batch_num") if isinstance(info, dict) else None
        if isinstance(batch_num, bool) or not isinstance(batch_num, int) or batch_num < 1:
            raise ValueError(f"batch_info from the guest should hold a positive batch_num, got {info!r}")
        salt = info.get("batch_salt", 0)
        if isinstance(salt, bool) or not isinstance(salt, int):
            raise ValueError(f"batch_info from the guest should hold an integer batch_salt, got {info!r}")
        return batch_num, salt

    def _train_batch(self, batches: list, sizes: np.ndarray, public_key: PaillierPublicKey, optimizer, batch: int,
                     suffix: tuple) -> np.ndarray:
        """One batch of the protocol, partition by partition; returns the update applied to the weights."""
        table, message_rows = batches[batch], partitioned.MESSAGE_ROWS
        messages = message_groups(sizes[:, batch], message_rows)
        forward = self.forward_kernel(public_key, message_rows)
        square = 0.0
        for group in in_message_groups(table, messages):
            pieces = [piece for _, message in group for piece in message]
            results = iter(run_with(table, [i for i, _ in pieces], forward, [piece for _, piece in pieces]))
            for index, message in group:
                parts = []
                for blob, part_square in (next(results) for _ in message):
                    parts.append(blob)
                    square += part_square
                self.forward_variable.remote(parts, role="guest", idx=0, suffix=suffix + (index,))
        if self.computes_loss:
            self._send_loss_parts(public_key, square, suffix)
        gradient = functools.partial(host_gradient_kernel, public_key, message_rows)
        total = None
        for group in in_message_groups(table, messages):
            partitions, residuals = [], []
            for index, message in group:
                parts = message_parts(self.variables.fore_gradient.get(idx=0, suffix=suffix + (index,)), len(message),
                                      "fore_gradient")
                for (partition, piece), residual in zip(message, parts):
                    partitions.append(partition)
                    residuals.append((piece, residual))
            for blob in run_with(table, partitions, gradient, residuals):
                part = EncryptedArray.from_bytes(public_key, blob)
                total = part if total is None else total + part
        if total is None:  # no row in this batch: only the L2 term moves the weights
            total = public_key.encrypt_array(np.zeros(len(self.weights_)))
        masked = MaskedSums(total)
        self.variables.host_gradient.remote(masked.to_bytes(), role="arbiter", idx=0, suffix=suffix)
        decrypted = self.variables.host_optim_gradient.get(idx=0, suffix=suffix)
        return self.step(optimizer, masked.unmask(decrypted), int(sizes[:, batch].sum()))

    def forward_kernel(self, public_key: PaillierPublicKey, message_rows: int):
        """The kernel of one piece of a batch: ``kernel(block, piece) -> (forward message part, loss term)``."""
        return functools.partial(host_forward_kernel, public_key, self.weights_, message_rows)

    def _send_loss_parts(self, public_key: PaillierPublicKey, square: float, suffix: tuple) -> None:
        """[[sum u_h^2]] and, with a penalty, [[host penalty]] for the guest's loss."""
        p = self.params
        self.variables.loss_intermediate.remote(public_key.encrypt(square).to_bytes(), role="guest", idx=0,
                                                suffix=suffix)
        if p.penalty != "NONE":
            regular = public_key.encrypt(penalty_loss(self.weights_, p.penalty, p.alpha, fit_intercept=False))
            self.variables.host_loss_regular.remote(regular.to_bytes(), role="guest", idx=0, suffix=suffix)

    def predict(self, table, kind: str) -> None:
        """Send each partition's ``{"ids", "wx": X_h w_h}`` to the guest (plain, as FATE's host_prob).

        Returns None: the host outputs no data."""
        data = self.load_eval_data(table)
        model_columns(data.header, self.header_)
        kernel = functools.partial(host_scores_kernel, self.header_, self.weights_)
        for group in in_groups(data.table):
            for i, message in zip(group, run_with(data.table, group, kernel)):
                self.predict_variable.remote(message, role="guest", idx=0, suffix=(i,))
        return None


# ---- kernels (run on the engine's workers) ----------------------------------------------------

def host_forward_kernel(public_key: PaillierPublicKey, weights: np.ndarray, message_rows: int, block,
                        piece: int) -> tuple[bytes, float]:
    """One piece of a partition's rows of a batch: ([[X_h w_h]] as bytes, sum of (X_h w_h)^2)."""
    public_key = worker_public_key(public_key)
    forward = block.features[piece_rows(piece, message_rows)] @ weights
    return public_key.encrypt_array(forward).to_bytes(), float(forward @ forward)


def host_gradient_kernel(public_key: PaillierPublicKey, message_rows: int, block, message: tuple) -> bytes:
    """[[X_h^T d]] of one piece of a partition's rows in the batch, ``message`` = (piece, the guest's residual
    of it), as bytes (not obfuscated: it is summed, masked and obfuscated here before anything leaves)."""
    public_key = worker_public_key(public_key)
    piece, residual_message = message
    features = block.features[piece_rows(piece, message_rows)]
    residual = EncryptedArray.from_bytes(public_key, residual_message)
    if len(residual) != features.shape[0]:
        raise ValueError(f"fore_gradient holds {len(residual)} values for a batch of {features.shape[0]} rows")
    return residual.dot(features).to_bytes(be_secure=False)


def host_scores_kernel(header: list, weights: np.ndarray, block, _unused) -> dict:
    """One partition's ``{"ids", "wx"}`` for the guest."""
    return {"ids": block.ids.to_pylist(), "wx": linear_scores(block, header, weights, 0.0)}
