"""UnionParam with FATE 1.4's names and defaults."""
from __future__ import annotations

from fate_flow.components.param import BaseParam


class UnionParam(BaseParam):
    def __init__(self):
        self.need_run = True
        self.allow_missing = False
        self.keep_duplicate = False

    def check(self) -> None:
        for name in ("need_run", "allow_missing", "keep_duplicate"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} should be true or false, got {getattr(self, name)!r}")
