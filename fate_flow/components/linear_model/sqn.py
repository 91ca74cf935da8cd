"""FATE 1.4's stochastic quasi-Newton optimizer (``optimizer: "sqn"``, ``sqn_param``) for the hetero
linear models, without showing the arbiter any gradient.

Every batch runs the model's own gradient protocol (the arbiter decrypts masked sums only). The update is
SGD's ``lr_t * g`` until a curvature pair exists, then ``lr_t * H g`` where H is FATE's L-BFGS matrix
(``H0 = (y's / y'y) I`` of the newest pair, then for each stored pair, oldest first,
``H <- (I - rho s y') H (I - rho y s') + rho s s'``). FATE forms H on the arbiter from everybody's
gradients; here each party keeps its own slices of s, y and g and ``H g`` is computed by the two-loop
recursion, which gives the same vector: its 2M inner products are sums of the parties' partial dot
products, added up by the arbiter (``sqn_dot`` / ``sqn_dot_sum``: scalars only).

Curvature pairs, every ``update_interval_L`` batches from the second window on: s = the change of the
window's mean weights; y = the Hessian of the Taylor loss times s on a sample of the batch
(``Table.sample``: a seeded hash of the id, so the guest and the hosts take the same rows; the guest sends
the fraction and seed as ``sqn_sample_index``). The hosts send [[X_h s_h]] (``host_sqn_forwards``), the
guest returns [[f]] = c ([[sum X_h s_h]] + X_g s_g + s_b) (``forward_hess``; c = 0.25 for LR), each side
sends its masked [[mean f x]] (``guest_hess_vector``, ``host_hess_vector``), the arbiter decrypts the masked
sums (``sqn_decrypted``) and each side adds ``alpha * s`` for L2. A pair is kept when y's > 0, at most
``memory_M`` of them. The sample is at most ``sample_size`` rows: it is the one thing held whole.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fate_flow.components.hetero_lr.masking import MaskedSums, decrypt_masked
from fate_flow.components.linear_model.common import with_intercept_column
from fate_flow.components.linear_model.optim import Optimizer
from fate_flow.federation.transfer import TransferVariables, Variable
from fate_flow.secureprotol import EncryptedArray

PARTIES = ("guest", "host")


class SqnTransferVariable(TransferVariables):
    """FATE's SQN variables plus the arbiter's decryptions and the dot-product sums (see the module docstring)."""

    sqn_sample_index = Variable("sqn_sample_index", src=("guest",), dst=("host",))
    host_sqn_forwards = Variable("host_sqn_forwards", src=("host",), dst=("guest",))
    forward_hess = Variable("forward_hess", src=("guest",), dst=("host",))
    guest_hess_vector = Variable("guest_hess_vector", src=("guest",), dst=("arbiter",))
    host_hess_vector = Variable("host_hess_vector", src=("host",), dst=("arbiter",))
    sqn_decrypted = Variable("sqn_decrypted", src=("arbiter",), dst=PARTIES)
    sqn_dot = Variable("sqn_dot", src=PARTIES, dst=("arbiter",))
    sqn_dot_sum = Variable("sqn_dot_sum", src=("arbiter",), dst=PARTIES)


def check_sqn_param(q) -> None:
    """FATE's StochasticQuasiNewtonParam checks; ValueError naming the field."""
    for name in ("update_interval_L", "memory_M", "sample_size"):
        value = getattr(q, name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"sqn_param.{name} {value!r} should be a positive int")
    if q.random_seed is not None and (isinstance(q.random_seed, bool) or not isinstance(q.random_seed, int)
                                      or q.random_seed <= 0):
        raise ValueError(f"sqn_param.random_seed {q.random_seed!r} should be a positive int or None")


class _Schedule:
    """What every party counts alike: the global batch step and when a curvature pair is due."""

    def __init__(self, sqn_param) -> None:
        check_sqn_param(sqn_param)
        self.L, self.M = sqn_param.update_interval_L, sqn_param.memory_M
        self.steps = 0
        self.windows = 0

    def next_step(self) -> tuple[bool, bool]:
        """Advance one batch: (a window ended, a pair is due)."""
        self.steps += 1
        if self.steps % self.L:
            return False, False
        self.windows += 1
        return True, self.windows > 1


class SqnOptimizer:
    """A guest's or host's SQN: ``apply(g)`` for ``step``, ``after_batch`` once the weights moved.

    Args:
        model: the party (``params``, ``ctx``, ``role``, ``weights_``, ``fits_intercept``, ``sqn_hess_factor``).
    """

    def __init__(self, model: Any) -> None:
        p = model.params
        self.model = model
        self.schedule = _Schedule(p.sqn_param)
        self.sample_size, self.seed = p.sqn_param.sample_size, p.sqn_param.random_seed or 0
        self._sgd = Optimizer("sgd", p.learning_rate, p.decay, p.decay_sqrt)
        self.variables = SqnTransferVariable(model.ctx.federation, flowid=f"{model.variables.flowid}_sqn")
        self.memory: list[tuple[np.ndarray, np.ndarray, float]] = []
        self.gamma = 1.0
        self._sum: np.ndarray | None = None
        self._previous_mean: np.ndarray | None = None

    @property
    def iters(self) -> int:
        return self._sgd.iters

    def set_iters(self, iters: int) -> None:
        self._sgd.set_iters(iters)

    def apply(self, grad: np.ndarray) -> np.ndarray:
        """``lr_t * g`` without a curvature pair, ``lr_t * H g`` with."""
        grad = np.asarray(grad, dtype=np.float64)
        direction = self._two_loop(grad) if self.memory else grad
        return self._sgd.decayed_learning_rate() * direction

    def _dots(self, pairs: list[tuple[np.ndarray, np.ndarray]], tag: str) -> list[float]:
        """The inner products over every party's slices (the arbiter adds the partial ones up)."""
        suffix = (self.schedule.steps, tag)
        self.variables.sqn_dot.remote([float(a @ b) for a, b in pairs], role="arbiter", idx=0, suffix=suffix)
        sums = self.variables.sqn_dot_sum.get(idx=0, suffix=suffix)
        if not isinstance(sums, list) or len(sums) != len(pairs):
            raise ValueError(f"sqn_dot_sum from the arbiter should hold {len(pairs)} sums")
        return [float(v) for v in sums]

    def _two_loop(self, grad: np.ndarray) -> np.ndarray:
        q, alphas = grad.copy(), []
        for j in reversed(range(len(self.memory))):
            s, y, rho = self.memory[j]
            alpha = rho * self._dots([(s, q)], f"a{j}")[0]
            q -= alpha * y
            alphas.append(alpha)
        r = self.gamma * q
        for j, alpha in zip(range(len(self.memory)), reversed(alphas)):
            s, y, rho = self.memory[j]
            beta = rho * self._dots([(y, r)], f"b{j}")[0]
            r += s * (alpha - beta)
        return r

    def after_batch(self, batch_table: Any, batch_rows: int, public_key: Any) -> None:
        """Add the new weights to the window; at a window's end, maybe a new curvature pair."""
        weights = np.array(self.model.weights_, dtype=np.float64)
        self._sum = weights if self._sum is None else self._sum + weights
        ended, pair_due = self.schedule.next_step()
        if not ended:
            return
        mean, self._sum = self._sum / self.schedule.L, None
        if pair_due:
            s = mean - self._previous_mean
            y = self._hessian_times(s, batch_table, batch_rows, public_key)
            ys, yy = self._dots([(y, s), (y, y)], "pair")
            if ys > 0:
                self.memory = (self.memory + [(s, y, 1.0 / ys)])[-self.schedule.M:]
                self.gamma = ys / yy
        self._previous_mean = mean

    def _hessian_times(self, s: np.ndarray, table: Any, rows: int, public_key: Any) -> np.ndarray:
        """This party's slice of y = (Hessian of the loss on a sample of the batch) s, plus alpha s for L2."""
        m, v, suffix = self.model, self.variables, (self.schedule.steps, "hess")
        if m.role == "guest":
            fraction = min(1.0, self.sample_size / max(rows, 1))
            v.sqn_sample_index.remote({"fraction": fraction, "seed": self.seed}, role="host", suffix=suffix)
        else:
            info = v.sqn_sample_index.get(idx=0, suffix=suffix)
            if not isinstance(info, dict) or not isinstance(info.get("fraction"), float):
                raise ValueError("sqn_sample_index from the guest should be {fraction, seed}")
            fraction = info["fraction"]
        blocks = [b for b in table.sample(fraction, self.seed).blocks()]
        n = max(1, sum(len(b) for b in blocks))
        if m.role == "guest":
            encrypted = self._guest_hess(s, blocks, public_key, suffix)
            variable = v.guest_hess_vector
        else:
            encrypted = self._host_hess(s, blocks, public_key, suffix)
            variable = v.host_hess_vector
        masked = MaskedSums(encrypted * (1.0 / n))
        variable.remote(masked.to_bytes(), role="arbiter", idx=0, suffix=suffix)
        y = masked.unmask(v.sqn_decrypted.get(idx=0, suffix=suffix))
        if m.params.penalty == "L2":
            coef = slice(0, len(s) - 1) if m.fits_intercept else slice(0, len(s))
            y[coef] += m.params.alpha * s[coef]
        return y

    def _guest_hess(self, s, blocks, public_key, suffix) -> EncryptedArray:
        m, c = self.model, getattr(self.model, "sqn_hess_factor", 0.25)
        hosts = self.variables.host_sqn_forwards.get(idx=-1, suffix=suffix)
        forwards, total = [], None
        for p, block in enumerate(blocks):
            if not len(block):
                forwards.append(b"")
                continue
            x = with_intercept_column(block.features) if m.fits_intercept else block.features
            f = sum((EncryptedArray.from_bytes(public_key, h[p]) for h in hosts[1:]),
                    EncryptedArray.from_bytes(public_key, hosts[0][p])) * c + c * (x @ s)
            forwards.append(f.to_bytes())
            part = f.dot(x)
            total = part if total is None else total + part
        self.variables.forward_hess.remote(forwards, role="host", suffix=suffix)
        return total if total is not None else public_key.encrypt_array(np.zeros(len(s)))

    def _host_hess(self, s, blocks, public_key, suffix) -> EncryptedArray:
        own = [public_key.encrypt_array(b.features @ s).to_bytes() if len(b) else b"" for b in blocks]
        self.variables.host_sqn_forwards.remote(own, role="guest", idx=0, suffix=suffix)
        forwards = self.variables.forward_hess.get(idx=0, suffix=suffix)
        if not isinstance(forwards, list) or len(forwards) != len(blocks):
            raise ValueError("forward_hess from the guest should hold one part per partition")
        total = None
        for block, blob in zip(blocks, forwards):
            if len(block):
                part = EncryptedArray.from_bytes(public_key, blob).dot(block.features)
                total = part if total is None else total + part
        return total if total is not None else public_key.encrypt_array(np.zeros(len(s)))


class SqnArbiter:
    """The arbiter's part: add up the dot products, decrypt the masked Hessian-vector sums, count alike."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.schedule = _Schedule(model.params.sqn_param)
        self.variables = SqnTransferVariable(model.ctx.federation, flowid=f"{model.variables.flowid}_sqn")
        self.memory_len = 0

    def _sum_dots(self, tag: str) -> list[float]:
        suffix = (self.schedule.steps, tag)
        parts = self.variables.sqn_dot.get(idx=-1, suffix=suffix)
        sums = [float(sum(values)) for values in zip(*parts)]
        self.variables.sqn_dot_sum.remote(sums, suffix=suffix)
        return sums

    def serve_batch(self, private_key: Any) -> None:
        """After a batch's gradients: the two-loop's sums, then (when due) a curvature pair."""
        for j in reversed(range(self.memory_len)):
            self._sum_dots(f"a{j}")
        for j in range(self.memory_len):
            self._sum_dots(f"b{j}")
        _, pair_due = self.schedule.next_step()
        if not pair_due:
            return
        suffix = (self.schedule.steps, "hess")
        v = self.variables
        for index, message in enumerate(v.host_hess_vector.get(idx=-1, suffix=suffix)):
            v.sqn_decrypted.remote(decrypt_masked(private_key, message), role="host", idx=index, suffix=suffix)
        v.sqn_decrypted.remote(decrypt_masked(private_key, v.guest_hess_vector.get(idx=0, suffix=suffix)),
                               role="guest", idx=0, suffix=suffix)
        ys, _ = self._sum_dots("pair")
        if ys > 0:
            self.memory_len = min(self.schedule.M, self.memory_len + 1)
