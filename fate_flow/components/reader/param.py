"""ReaderParam: the one table a Reader reads."""
from __future__ import annotations

from fate_flow.components.param import BaseParam


class ReaderParam(BaseParam):
    def __init__(self, table: dict | None = None):
        self.table = table

    def check(self) -> None:
        if self.table is None:
            return  # a party with no table is refused at submit, naming its conf field
        if not isinstance(self.table, dict) or not all(
                isinstance(self.table.get(key), str) and self.table.get(key) for key in ("name", "namespace")):
            raise ValueError(f"table should be {{\"name\": ..., \"namespace\": ...}}, got {self.table!r}")
