"""EvaluateParam: FATE 1.4's names and defaults."""
from __future__ import annotations

from fate_flow.components.evaluation.metrics import EVAL_TYPES, normalize_metrics
from fate_flow.components.param import BaseParam


class EvaluateParam(BaseParam):
    def __init__(self):
        self.eval_type = "binary"
        self.pos_label = 1
        self.need_run = True
        self.metrics = None

    def check(self) -> None:
        if self.eval_type not in EVAL_TYPES:
            raise ValueError(f"eval_type should be one of {', '.join(EVAL_TYPES)}, got {self.eval_type!r}")
        if self.metrics is not None and not isinstance(self.metrics, list):
            raise ValueError(f"metrics should be a list of metric names, got {self.metrics!r}")
        normalize_metrics(self.eval_type, self.metrics)  # names unknown metrics
