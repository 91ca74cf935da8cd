"""HeteroLR on the arbiter: holds the Paillier key, decrypts masked sums, decides convergence.

It makes the key pair and sends the public key to the guest and the hosts. Per batch it
decrypts each party's masked gradient sums and returns the integers (the masks hide the
gradients from it) and, with one host, decrypts the guest's loss. After each iteration
it logs the mean batch loss (namespace "train", name "loss") and sends ``converge_flag``.
It takes no part in predicting and outputs no data; its model holds the meta only.
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.hetero_lr.base import HeteroLRBase
from fate_flow.components.hetero_lr.masking import decrypt_masked
from fate_flow.secureprotol import EncryptedNumber, generate_keypair


class HeteroLRArbiter(HeteroLRBase):
    """Arbiter side of HeteroLR; ``loss_history_`` holds the logged losses."""

    role = "arbiter"

    def fit(self, table=None) -> None:
        """Serve the guest and hosts until convergence or ``max_iter``."""
        p = self.params
        self.fits_intercept = p.init_param.fit_intercept
        public_key, private_key = generate_keypair(p.encrypt_param.key_length)
        self.variables.paillier_pubkey.remote(public_key.to_bytes())
        batch_num = _batch_num(self.variables.batch_info.get(idx=0))
        check = self.make_converge_check()
        self.loss_history_, self.is_converged_, self.n_iter_ = [], False, 0
        sqn = None
        if p.optimizer == "sqn":
            from fate_flow.components.linear_model.sqn import SqnArbiter

            sqn = SqnArbiter(self)
        for n_iter in range(p.max_iter):
            losses = []
            for index in range(batch_num):
                losses.append(self._serve_batch(private_key, (n_iter, index)))
                if sqn is not None:
                    sqn.serve_batch(private_key)
            loss = float(np.mean(losses)) if self.computes_loss else None
            delta_norm = None
            if p.early_stop == "weight_diff":
                squares = self.variables.delta_norm.get(idx=-1, suffix=(n_iter,))
                delta_norm = float(np.sqrt(sum(float(s) for s in squares)))
            self.is_converged_ = check.is_converged(loss=loss, delta_norm=delta_norm)
            self.variables.converge_flag.remote(self.is_converged_, suffix=(n_iter,))
            if loss is not None:  # after the flag: the parties go on while the metric is posted
                self._log_loss(n_iter, loss)
            self.n_iter_ = n_iter + 1
            self.ctx.logger.info("iter %s: loss %s, update norm %s, converged %s", n_iter, loss, delta_norm,
                                 self.is_converged_)
            self.report_progress(n_iter)
            if self.validation_step(n_iter):
                break
            if self.is_converged_:
                break

    def _serve_batch(self, private_key, suffix: tuple) -> float | None:
        """Decrypt and return the masked sums of every party; the decrypted loss if there is one."""
        for index, message in enumerate(self.variables.host_gradient.get(idx=-1, suffix=suffix)):
            self.variables.host_optim_gradient.remote(decrypt_masked(private_key, message), role="host",
                                                      idx=index, suffix=suffix)
        guest = self.variables.guest_gradient.get(idx=0, suffix=suffix)
        self.variables.guest_optim_gradient.remote(decrypt_masked(private_key, guest), role="guest", idx=0,
                                                   suffix=suffix)
        if not self.computes_loss:
            return None
        encrypted = EncryptedNumber.from_bytes(private_key.public_key, self.variables.loss.get(idx=0, suffix=suffix))
        return float(private_key.decrypt(encrypted))

    def _log_loss(self, n_iter: int, loss: float) -> None:
        self.log_loss_metric(n_iter, loss, first=not self.loss_history_)
        self.loss_history_.append(loss)

    def predict(self, table, kind: str) -> None:
        """The arbiter does not take part in predicting."""
        return None

    def export_model(self) -> dict:
        """FATE's arbiter model: the meta, and an empty param (it has no header)."""
        self.fits_intercept = self.params.init_param.fit_intercept
        return {self.model_meta_name: self.model_meta(), self.model_param_name: {}}

    def load_model(self, messages: dict) -> None:
        """Nothing to restore: the arbiter keeps no weights."""


def _batch_num(info) -> int:
    batch_num = info.get("batch_num") if isinstance(info, dict) else None
    if isinstance(batch_num, bool) or not isinstance(batch_num, int) or batch_num < 1:
        raise ValueError(f"batch_info from the guest should hold a positive batch_num, got {info!r}")
    return batch_num
