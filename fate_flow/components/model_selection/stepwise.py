"""Stepwise variable selection for the hetero linear models (FATE 1.4's ``hetero_stepwise``).

Every party runs the same steps. The hosts and the guest swap ``(rows, features)`` (``host_data_info``,
``guest_data_info``); a model is a mask over the host's features then the guest's, keyed by its 0/1
string. Backward and both start from every feature, forward from none. Step ``s`` (up to ``max_step``):
the candidates are the current mask and, backward, the masks dropping one feature (never a party's last);
forward, the masks adding one (from the empty model: one host feature with one guest feature); both, all of
them. Each candidate not trained yet is fitted from scratch by every party on its own features of the mask
(flowid ``train.step<s>.model<m>``; the arbiter has no data). The arbiter scores each by
``IC = k * dfe + 2 * n * loss`` (``dfe``: features + intercept, ``n``: the host's rows, k = 2 for AIC, ln(n)
for BIC; a model may give its own ``stepwise_ic``), sends the lowest one's mask (``step_best``), and every
party stops when the mask did not change, every feature is in, ``nvmin``/``nvmax`` is reached or the last
step is done. Each continuing step is logged as ``train``/``stepwise_<s>`` (type STEPWISE, FATE's extra
metas). The final mask's model becomes the component's model.

The forward search's empty model (step 0) is recorded without a fit (FATE fits an intercept-only model
with scikit-learn on the guest for it); the search goes on from there.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from fate_flow.federation.transfer import TransferVariables, Variable


class StepwiseTransferVariable(TransferVariables):
    """guest_data_info / host_data_info: (rows, features) of a party; step_best: the arbiter's chosen mask key."""

    guest_data_info = Variable("guest_data_info", src=("guest",), dst=("arbiter", "host"))
    host_data_info = Variable("host_data_info", src=("host",), dst=("arbiter", "guest"))
    step_best = Variable("step_best", src=("arbiter",), dst=("host", "guest"))


def logistic_ic(loss: float, dfe: int, n: int, k: float) -> float:
    """FATE's IC of LR and Poisson (LinR's is ``k * dfe + n * ln(2 * loss)``)."""
    return k * dfe + 2 * n * loss


class Stepwise:
    """A learner that selects features by stepwise search, then is the chosen features' model."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.variables = model.variables
        self.param = model.params.stepwise_param
        self.param.check()
        if model.mode != "hetero":
            raise ValueError("stepwise_param.need_stepwise: stepwise runs in hetero mode only")
        self.steps_: list[dict] = []

    @property
    def eval_type(self) -> str:
        return self.model.eval_type

    def is_fitted(self) -> bool:
        return self.model.is_fitted()

    # ---- the search -----------------------------------------------------------------------------

    def fit_with_validation(self, train: Any, validate: Any = None) -> None:
        m = self.model
        if validate is not None:
            m.ctx.logger.warning("stepwise ignores the eval data")
        data = None if m.role == "arbiter" else _load(m, train)
        self.data_ = data
        # the features the search may drop or add (a Poisson guest's exposure column always stays in)
        self.features_ = [] if data is None else list(m.stepwise_features(list(data.header)))
        n_host, n_guest, n = self._data_info(data)
        self.n_host, self.n_guest, self.n = n_host, n_guest, n
        k = 2.0 if self.param.score_name == "aic" else math.log(n)
        start = self.param.direction in ("backward", "both")
        mask = np.full(n_host + n_guest, start, dtype=bool)
        trained: dict[str, tuple[Any, float | None]] = {}
        for step in range(self.param.max_step + 1):
            candidates = self._candidates(mask, step)
            for index, key in enumerate(candidates):
                if key not in trained:
                    trained[key] = self._fit(key, step, index, data, k)
            if step == 0 and not mask.any():
                self._record(step, mask, trained.get(_key(mask), (None, None)))
                continue
            best = self._choose(candidates, trained, step)
            stop = step > 0 and self._should_stop(mask, best, step)  # step 0 only fits the start model
            mask = best
            if stop:
                break
            self._record(step, mask, trained[_key(mask)])
        self.mask_ = mask
        final = trained[_key(mask)][0]
        if final is not None and m.role != "arbiter":
            m.load_model(final.export_model())
        elif final is not None:
            m.n_iter_, m.is_converged_ = final.n_iter_, final.is_converged_

    def _data_info(self, data) -> tuple[int, int, int]:
        """(host features, guest features, the host's rows), swapped between the parties."""
        v = StepwiseTransferVariable(self.model.ctx.federation, flowid="stepwise")
        role = self.model.role
        if role == "host":
            v.host_data_info.remote([data.count, len(self.features_)])
            guest = v.guest_data_info.get(idx=0)
            return len(self.features_), int(guest[1]), data.count
        if role == "guest":
            v.guest_data_info.remote([data.count, len(self.features_)])
            host = v.host_data_info.get(idx=0)
            return int(host[1]), len(self.features_), int(host[0])
        host, guest = v.host_data_info.get(idx=0), v.guest_data_info.get(idx=0)
        return int(host[1]), int(guest[1]), int(host[0])

    def _candidates(self, mask: np.ndarray, step: int) -> list[str]:
        """The masks (keys) step ``step`` compares, the current one first when it has features."""
        found: list[str] = []
        if self.param.direction in ("backward", "both") and mask.any():
            found.append(_key(mask))
            if step > 0:
                found += [_key(c) for c in self._drop_one(mask)]
        if self.param.direction in ("forward", "both"):
            if not mask.any():
                found += [_key(mask)] if step == 0 else [_key(c) for c in self._pairs()]
            else:
                found += [_key(mask)] + [_key(c) for c in self._add_one(mask)]
        return list(dict.fromkeys(found))

    def _drop_one(self, mask: np.ndarray) -> list[np.ndarray]:
        out = []
        for i in np.flatnonzero(mask):
            side = slice(0, self.n_host) if i < self.n_host else slice(self.n_host, len(mask))
            if mask[side].sum() > 1:
                candidate = mask.copy()
                candidate[i] = False
                out.append(candidate)
        return out

    def _add_one(self, mask: np.ndarray) -> list[np.ndarray]:
        out = []
        for i in np.flatnonzero(~mask):
            candidate = mask.copy()
            candidate[i] = True
            out.append(candidate)
        return out

    def _pairs(self) -> list[np.ndarray]:
        out = []
        for i in range(self.n_host):
            for j in range(self.n_guest):
                candidate = np.zeros(self.n_host + self.n_guest, dtype=bool)
                candidate[[i, self.n_host + j]] = True
                out.append(candidate)
        return out

    def _fit(self, key: str, step: int, index: int, data, k: float) -> tuple[Any, float | None]:
        """(the fitted copy, its IC on the arbiter) of the model of mask ``key``."""
        mask = np.array([c == "1" for c in key])
        if not mask.any():
            return None, None
        m = self.model
        copy = m.clone()
        copy.logs_loss = False
        copy.params.validation_freqs, copy.params.early_stopping_rounds = None, None
        copy.variables.set_flowid(f"train.step{step}.model{index}")
        own = mask[:self.n_host] if m.role == "host" else mask[self.n_host:]
        copy.fit(None if data is None else _select(data, self.features_, own))
        if m.role != "arbiter":
            return copy, None
        if not copy.loss_history_:
            raise ValueError("stepwise needs the loss, which HeteroLR computes with exactly one host")
        dfe = int(mask.sum()) + (1 if m.params.init_param.fit_intercept else 0)
        ic = getattr(m, "stepwise_ic", logistic_ic)(copy.loss_history_[-1], dfe, self.n, k)
        if not math.isfinite(ic):
            raise ValueError(f"stepwise: the information criterion of model {key} is not finite")
        return copy, ic

    def _choose(self, candidates: list[str], trained: dict, step: int) -> np.ndarray:
        """The arbiter's lowest-IC candidate, known to every party."""
        v = StepwiseTransferVariable(self.model.ctx.federation, flowid="stepwise")
        if self.model.role == "arbiter":
            best = min(candidates, key=lambda key: trained[key][1])
            v.step_best.remote(best, suffix=(step,))
        else:
            best = v.step_best.get(idx=0, suffix=(step,))
            if not isinstance(best, str) or len(best) != self.n_host + self.n_guest or set(best) - {"0", "1"}:
                raise ValueError(f"step_best from the arbiter should be a mask of {self.n_host + self.n_guest} bits")
        return np.array([c == "1" for c in best])

    def _should_stop(self, old: np.ndarray, new: np.ndarray, step: int) -> bool:
        p = self.param
        old_n, new_n = int(old.sum()), int(new.sum())
        return bool((old == new).all() or new.all() or (new_n == p.nvmin and old_n >= p.nvmin)
                    or (p.nvmax is not None and new_n == p.nvmax and old_n <= p.nvmax) or step >= p.max_step)

    def _record(self, step: int, mask: np.ndarray, entry: tuple[Any, float | None]) -> None:
        """``train``/``stepwise_<step>`` with FATE's extra metas."""
        m, model = self.model, entry[0]
        name = f"stepwise_{step}"
        host_ids = m.ctx.parties("host")
        guest_ids = m.ctx.parties("guest")
        meta = {"name": name, "metric_type": "STEPWISE", "host_mask": [int(b) for b in mask[:self.n_host]],
                "guest_mask": [int(b) for b in mask[self.n_host:]], "score_name": self.param.score_name,
                "number_in": int(mask.sum()), "direction": self.param.direction, "n_count": self.n,
                "host_features_anonym": [f"host_{host_ids[0]}_{i}" for i in range(self.n_host)],
                "guest_features_anonym": [f"guest_{guest_ids[0]}_{i}" for i in range(self.n_guest)],
                "loss": None, "current_ic_val": entry[1], "fit_intercept": m.params.init_param.fit_intercept}
        if m.role == "arbiter" and model is not None:
            meta["loss"] = float(model.loss_history_[-1])
        if m.role != "arbiter" and self.data_ is not None:
            own = mask[:self.n_host] if m.role == "host" else mask[self.n_host:]
            header = self.features_
            meta.update(all_features=header, to_enter=[h for h, b in zip(header, own) if not b])
            if model is not None:
                param = model.export_model()
                param = next(v for k, v in param.items() if k.endswith("Param"))
                meta.update(intercept=param.get("intercept", 0.0), weight=param.get("weight", {}),
                            header=param.get("header", []))
        m.ctx.tracker.log_metric_data("train", name, [(name, step)])
        m.ctx.tracker.set_metric_meta("train", name, meta)
        self.steps_.append(meta)

    # ---- the chosen model -----------------------------------------------------------------------

    def predict(self, table: Any, kind: str):
        if table is not None and getattr(self, "data_", None) is not None and kind == "train":
            table = self.data_
        return self.model.predict(table, kind)

    def combine_outputs(self, results: list):
        return self.model.combine_outputs(results)

    def export_model(self):
        return self.model.export_model()

    def load_model(self, messages: dict) -> None:
        self.model.load_model(messages)


def _key(mask: np.ndarray) -> str:
    return "".join("1" if b else "0" for b in mask)


def _load(model: Any, table: Any):
    return model.load_data(table)


def _select(data, features: list[str], own: np.ndarray):
    """The loaded data with only this party's features of the mask (``own`` over ``features``) and the columns
    the search leaves alone."""
    chosen = {features[i] for i in np.flatnonzero(own)}
    columns = [i for i, name in enumerate(data.header) if name in chosen or name not in features]
    table = data.table.map_values(_SelectColumns(columns)).persist()
    return replace(data, table=table, header=[data.header[i] for i in columns])


class _SelectColumns:
    """Kernel (picklable): keep the feature columns at ``columns``."""

    def __init__(self, columns: list[int]) -> None:
        self.columns = columns

    def __call__(self, block):
        return block.select_features(self.columns)
