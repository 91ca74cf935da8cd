"""RsaParam with FATE 1.4's names, defaults and checks (everything must be given: the defaults fail the check)."""
from __future__ import annotations

from fate_flow.components.param import BaseParam


class RsaParam(BaseParam):
    def __init__(self):
        self.rsa_key_n = None
        self.rsa_key_e = None
        self.rsa_key_d = None
        self.save_out_table_namespace = None
        self.save_out_table_name = None

    def check(self) -> None:
        for name in ("rsa_key_n", "rsa_key_e", "rsa_key_d"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} should be a positive integer, got {value!r}")
        for name in ("save_out_table_namespace", "save_out_table_name"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} should be a table {name.rsplit('_', 1)[1]} (a string), got {value!r}")
