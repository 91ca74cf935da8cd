"""HeteroLR on the guest: holds the labels, draws the batches, computes the residual and the loss.

The train data is persisted as partitions of Instances sorted by id; the guest and each host
first swap a digest of every partition's ids, so that row r of partition i is the same id on
every party (or the fit stops with the partition named). A row's mini-batch is a salted hash
of its id (``linear_model.partitioned``): the guest sends the batch count and the salt, not ids.

Per batch (suffix (iter, batch)), a few partitions at a time, on the engine's workers: get
every host's [[X_h w_h]] of partition i (suffix (iter, batch, i)), form
``[[d]] = 0.25 ([[sum u_h]] + u_g) - 0.5 y`` (y in {-1, 1}), send it back to the hosts and
keep the partition's [[X_g^T d]] and loss terms. The partials are added in partition order
(the same sums whatever the partitioning); the masked [[X_g^T d]] goes to the arbiter and,
with one host, the encrypted Taylor loss; the decrypted masked sums come back, are unmasked,
divided by the batch's rows, given the L2 term, and the optimizer updates the weights.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.hetero_lr.base import HeteroLRBase
from fate_flow.components.hetero_lr.masking import MaskedSums
from fate_flow.components.linear_model.common import sigmoid, with_intercept_column
from fate_flow.components.linear_model.optim import initial_weights, penalty_loss
from fate_flow.components.linear_model import partitioned
from fate_flow.components.linear_model.partitioned import (
    batch_count, batch_salt, check_binary_labels, in_groups, in_message_groups, linear_scores, message_groups,
    message_parts, model_columns, piece_rows, predict_schema, prediction_block, run_with, signed, split_batches, union_tables, worker_public_key,
)
from fate_flow.secureprotol import EncryptedArray, EncryptedNumber, PaillierPublicKey

LN2 = math.log(2.0)


@dataclass
class GuestPartial:
    """One partition's share of a batch: [[X_g^T d]], and the loss terms (cross term encrypted)."""

    gradient: EncryptedArray
    cross: EncryptedNumber | None
    y_own: float
    own_square: float

    @classmethod
    def from_kernel(cls, public_key: PaillierPublicKey, result: tuple) -> "GuestPartial":
        """The partial a kernel returned as bytes (ciphertexts refuse pickling, so that none leaks unobfuscated)."""
        gradient, cross, y_own, own_square = result
        cross = None if cross is None else EncryptedNumber.from_bytes(public_key, cross)
        return cls(EncryptedArray.from_bytes(public_key, gradient), cross, y_own, own_square)

    def __add__(self, other: "GuestPartial") -> "GuestPartial":
        cross = None if self.cross is None else self.cross + other.cross
        return GuestPartial(self.gradient + other.gradient, cross, self.y_own + other.y_own,
                            self.own_square + other.own_square)


class HeteroLRGuest(HeteroLRBase):
    """Guest side of HeteroLR: fits ``weights_`` (intercept last) and outputs the predictions."""

    role = "guest"

    def fit(self, table) -> None:
        """Train with the hosts and the arbiter until convergence or ``max_iter``."""
        data = self.load_train_data(table)
        self.check_labels(data)
        p = self.params
        self.fits_intercept = p.init_param.fit_intercept
        self.header_ = self.model_header(data)
        public_key = PaillierPublicKey.from_bytes(self.variables.paillier_pubkey.get(idx=0))
        self.check_ids_match(data, self.variables.guest_ids_digest, self.variables.host_ids_digest, "a host")
        batch_num, salt = batch_count(data.count, p.batch_size), batch_salt(p.init_param.random_seed)
        self.variables.batch_info.remote({"batch_size": p.batch_size, "batch_num": batch_num, "batch_salt": salt})
        batches, sizes = split_batches(data.table, batch_num, salt)
        self.weights_ = initial_weights(len(self.header_), p.init_param, self.fits_intercept)
        self.sqn_inputs_ = batches, sizes, public_key
        self.iterate(batch_num, functools.partial(self._train_batch, batches, sizes, public_key))

    def check_labels(self, data) -> None:
        """HeteroLR is binary: at most two label classes."""
        check_binary_labels(data.table, data.label_name is not None, "HeteroLR", "the guest")

    def model_header(self, data) -> list:
        """The features the weights apply to (all of the train data's here)."""
        return list(data.header)

    def batch_kernel(self, public_key: PaillierPublicKey, message_rows: int):
        """The kernel of one piece of a batch: ``kernel(block, (piece, hosts' forwards)) -> (residual, partial)``."""
        return functools.partial(guest_batch_kernel, public_key, self.weights_, self.fits_intercept, message_rows,
                                 self.computes_loss)

    def predict_kernel(self, directory: str, kind: str):
        """The kernel of one partition's predict rows: ``kernel(block, hosts' messages) -> (file, dropped)``."""
        intercept = float(self.weights_[-1]) if self.fits_intercept else 0.0
        return functools.partial(guest_predict_kernel, self.header_, self.weights_[:len(self.header_)], intercept,
                                 self.params.predict_param.threshold, kind, directory)

    def _train_batch(self, batches: list, sizes: np.ndarray, public_key: PaillierPublicKey, optimizer, batch: int,
                     suffix: tuple) -> np.ndarray:
        """One batch of the protocol, partition by partition; returns the update applied to the weights."""
        total = self._exchange_partitions(batches[batch], sizes[:, batch], public_key, suffix)
        n = int(sizes[:, batch].sum())
        masked = MaskedSums(total.gradient)
        self.variables.guest_gradient.remote(masked.to_bytes(), role="arbiter", idx=0, suffix=suffix)
        if self.computes_loss:
            self._send_loss(public_key, total, n, suffix)
        decrypted = self.variables.guest_optim_gradient.get(idx=0, suffix=suffix)
        return self.step(optimizer, masked.unmask(decrypted), n)

    def _exchange_partitions(self, table, sizes: np.ndarray, public_key: PaillierPublicKey,
                             suffix: tuple) -> GuestPartial:
        """Hosts' forwards in, residuals out, a few messages at a time; the partials summed in partition order.

        A message packs the pieces of ``message_groups`` (one part per piece), suffixed by its index."""
        message_rows = partitioned.MESSAGE_ROWS
        kernel = self.batch_kernel(public_key, message_rows)
        total = None
        for group in in_message_groups(table, message_groups(sizes, message_rows)):
            partitions, extras = [], []
            for index, pieces in group:
                hosts = [message_parts(message, len(pieces), self.forward_name)
                         for message in self.forward_variable.get(idx=-1, suffix=suffix + (index,))]
                for k, (partition, piece) in enumerate(pieces):
                    partitions.append(partition)
                    extras.append((piece, [parts[k] for parts in hosts]))
            results = iter(run_with(table, partitions, kernel, extras))
            for index, pieces in group:
                residuals = []
                for residual, result in (next(results) for _ in pieces):
                    residuals.append(residual)
                    part = GuestPartial.from_kernel(public_key, result)
                    total = part if total is None else total + part
                self.variables.fore_gradient.remote(residuals, role="host", suffix=suffix + (index,))
        if total is None:  # no row in this batch: only the L2 term moves the weights
            zero = public_key.encrypt(0.0) if self.computes_loss else None
            total = GuestPartial(public_key.encrypt_array(np.zeros(len(self.weights_))), zero, 0.0, 0.0)
        return total

    def _send_loss(self, public_key: PaillierPublicKey, total: GuestPartial, n: int, suffix: tuple) -> None:
        """Send [[loss]] = ln2 - 0.5 mean(y u) + 0.125 mean(u^2) + penalties (Taylor expansion).

        With u = u_g + u_h: the guest knows u_g and y, the host sends [[sum u_h^2]] and its
        penalty; ``sum u_h (0.25 u_g - 0.5 y)`` gives both cross terms in one encrypted dot.
        The means are over the batch (FATE 1.4.5 divides a mini-batch's sums by the whole
        table's count, which shrinks the logged loss of mini-batch runs).
        """
        n = max(n, 1)
        square = EncryptedNumber.from_bytes(public_key, self.variables.loss_intermediate.get(idx=0, suffix=suffix))
        p = self.params
        plain = LN2 + (-0.5 * total.y_own + 0.125 * total.own_square) / n
        plain += penalty_loss(self.weights_, p.penalty, p.alpha, self.fits_intercept)
        loss = (total.cross + square * 0.125) * (1.0 / n) + plain
        if p.penalty != "NONE":
            regular = self.variables.host_loss_regular.get(idx=0, suffix=suffix)
            loss = loss + EncryptedNumber.from_bytes(public_key, regular)
        self.variables.loss.remote(loss.to_bytes(), role="arbiter", idx=0, suffix=suffix)

    def predict(self, table, kind: str):
        """Scores ``sigmoid(u_g + sum u_h)`` for the rows every host has, per partition; ``kind`` is the row type."""
        data = self.load_eval_data(table)
        model_columns(data.header, self.header_)
        kernel = self.predict_kernel(self.ctx.computing.new_dir("predict"), kind)
        paths, dropped = [], 0
        for group in in_groups(data.table):
            messages = [self.predict_variable.get(idx=-1, suffix=(i,)) for i in group]
            for path, missing in run_with(data.table, group, kernel, messages):
                paths.append(path)
                dropped += missing
        if dropped:
            self.ctx.logger.warning("%s rows have no score from a host and are left out", dropped)
        return self.ctx.computing.from_spilled(paths, rows_hint=data.count).with_schema(predict_schema(data.sid_name))

    def combine_outputs(self, results: list):
        return union_tables(results)


# ---- kernels (run on the engine's workers) ----------------------------------------------------

def guest_batch_kernel(public_key: PaillierPublicKey, weights: np.ndarray, fits_intercept: bool, message_rows: int,
                       with_loss: bool, block, message: tuple) -> tuple:
    """One piece of a partition's rows of a batch, ``message`` = (piece, the hosts' forwards of it):
    (the residual [[d]] to send, as bytes; its GuestPartial as bytes).

    The partials stay in this party (summed, then masked and obfuscated before they leave): no
    obfuscation here, which would cost an exponentiation per ciphertext for nothing.
    """
    public_key = worker_public_key(public_key)
    piece, forwards = message
    rows = piece_rows(piece, message_rows)
    x = block.features[rows]
    x = with_intercept_column(x) if fits_intercept else x
    y = signed(block.labels[rows])
    host_sum = _sum_forwards(public_key, forwards, len(y))
    own = x @ weights
    residual = host_sum * 0.25 + (0.25 * own - 0.5 * y)
    cross = host_sum.dot(0.25 * own - 0.5 * y).to_bytes(be_secure=False) if with_loss else None
    return residual.to_bytes(), (residual.dot(x).to_bytes(be_secure=False), cross, float(y @ own), float(own @ own))


def _sum_forwards(public_key: PaillierPublicKey, forwards: list, n_rows: int) -> EncryptedArray:
    arrays = [EncryptedArray.from_bytes(public_key, message) for message in forwards]
    if any(len(forward) != n_rows for forward in arrays):
        raise ValueError(f"a host_forward_dict holds {[len(f) for f in arrays]} values "
                         f"for a batch of {n_rows} rows")
    return functools.reduce(lambda a, b: a + b, arrays)


def guest_predict_kernel(header: list, coef: np.ndarray, intercept: float, threshold: float, kind: str,
                         directory: str, block, messages: list) -> tuple[str, int]:
    """One partition's predict rows, spilled: (their file, how many rows a host had no score for)."""
    from fate_flow.computing.recipes import spill_block

    score = linear_scores(block, header, coef, intercept)
    keep = np.ones(len(block), dtype=bool)
    for message in messages:
        host_score, present = _align_host_scores(block.ids, message)
        score, keep = score + host_score, keep & present
    rows = np.flatnonzero(keep)
    labels = None if block.labels is None else block.labels[rows]
    out = prediction_block(block.ids.take(pa.array(rows, type=pa.int64())), labels, sigmoid(score[rows]),
                           threshold, kind)
    return spill_block(out, directory), int(len(keep) - len(rows))


def _align_host_scores(ids: pa.Array, message: dict, name: str = "host_prob") -> tuple[np.ndarray, np.ndarray]:
    """A host's ``{"ids", "wx"}`` (variable ``name``) put in the guest's row order: (scores, which rows it had)."""
    if not isinstance(message, dict) or "ids" not in message or "wx" not in message:
        raise ValueError(f"{name} should be a dict with ids and wx")
    host_ids = pa.array(message["ids"], type=pa.string())
    wx = np.asarray(message["wx"], dtype=np.float64)
    if wx.shape != (len(host_ids),):
        raise ValueError(f"{name} has {len(host_ids)} ids but {wx.shape} scores")
    positions = pc.index_in(ids.cast(pa.string()), value_set=host_ids)
    present = positions.is_valid().to_numpy(zero_copy_only=False)
    index = positions.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.where(present, wx[index] if len(wx) else 0.0, 0.0), present
