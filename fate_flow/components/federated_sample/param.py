"""SampleParam with FATE 1.4's names, defaults and checks."""
from __future__ import annotations

import numbers

from fate_flow.components.param import BaseParam

MODES = ("random", "stratified")
METHODS = ("upsample", "downsample")
TASK_TYPES = ("homo", "hetero")


class SampleParam(BaseParam):
    def __init__(self):
        self.mode = "random"
        self.method = "downsample"
        self.fractions = None
        self.random_state = None
        self.task_type = "hetero"
        self.need_run = True

    def check(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode should be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.method not in METHODS:
            raise ValueError(f"method should be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"task_type should be one of {', '.join(TASK_TYPES)}, got {self.task_type!r}")
        if self.random_state is not None and (isinstance(self.random_state, bool)
                                              or not isinstance(self.random_state, int)):
            raise ValueError(f"random_state should be None or an integer, got {self.random_state!r}")
        if self.mode == "random":
            if not _is_number(self.fractions):
                raise ValueError(f"fractions should be a number in random mode, got {self.fractions!r}")
        elif self.fractions is not None:
            pairs = self.fractions if isinstance(self.fractions, list) else None
            if pairs is None or any(not isinstance(p, (list, tuple)) or len(p) != 2 or not _is_number(p[1])
                                    for p in pairs):
                raise ValueError(f"fractions should be a list of [label, rate] pairs in stratified mode, "
                                 f"got {self.fractions!r}")


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
