"""LocalBaselineParam with FATE 1.4's names, defaults and checks."""
from __future__ import annotations

from fate_flow.components.param import BaseParam

MODEL_NAMES = ("logisticregression",)


class LocalBaselineParam(BaseParam):
    def __init__(self):
        self.model_name = "LogisticRegression"
        self.model_opts = None
        self.need_run = True

    def check(self) -> None:
        if not isinstance(self.model_name, str) or self.model_name.lower() not in MODEL_NAMES:
            raise ValueError(f"model_name should be LogisticRegression, got {self.model_name!r}")
        if self.model_opts is None:
            self.model_opts = {}
        if not isinstance(self.model_opts, dict):
            raise ValueError(f"model_opts should be a dict of LogisticRegression's arguments, got {self.model_opts!r}")
        if not isinstance(self.need_run, bool):
            raise ValueError(f"need_run should be true or false, got {self.need_run!r}")
