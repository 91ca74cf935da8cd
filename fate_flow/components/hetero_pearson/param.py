"""PearsonParam with FATE 1.4's names, defaults and checks."""
from __future__ import annotations

from fate_flow.components.param import BaseParam


class PearsonParam(BaseParam):
    def __init__(self):
        self.column_names = []
        self.column_indexes = []
        self.cross_parties = True
        self.need_run = True
        self.use_mix_rand = False

    def check(self) -> None:
        if not isinstance(self.column_names, list) or not all(isinstance(n, str) for n in self.column_names):
            raise ValueError(f"column_names should be a list of column names, got {self.column_names!r}")
        indexes = self.column_indexes
        if indexes != -1 and (not isinstance(indexes, list)
                              or any(isinstance(i, bool) or not isinstance(i, int) for i in indexes)):
            raise ValueError(f"column_indexes should be -1 or a list of column indexes, got {indexes!r}")
        for name in ("cross_parties", "need_run", "use_mix_rand"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} should be true or false, got {getattr(self, name)!r}")
        if self.cross_parties and not self.need_run:
            raise ValueError("need_run should be true when cross_parties is true")
        if self.need_run and not self.column_names and indexes in ([], None):
            raise ValueError("HeteroPearson needs columns: set column_indexes (-1 for all) or column_names")

    def selected_indexes(self):
        """column_indexes with FATE's [-1] (a list holding -1) read as -1, every column."""
        indexes = self.column_indexes
        return -1 if indexes == -1 or (isinstance(indexes, list) and -1 in indexes) else indexes
