"""Parameters of SecureAddExample."""
from __future__ import annotations

from fate_flow.components.param import BaseParam, check_positive_int


class SecureAddExampleParam(BaseParam):
    """Parameters of the toy secure-add job.

    Args:
        seed: accepted for compatibility with FATE's confs; not used (see secure_add_guest).
        partition: partitions of the generated table; kept for compatibility.
        data_num: how many ones each party contributes.
    """

    def __init__(self, seed: int | None = None, partition: int = 1, data_num: int = 1000) -> None:
        self.seed = seed
        self.partition = partition
        self.data_num = data_num

    def check(self) -> None:
        """Raise ValueError naming the parameter when a value is out of range."""
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise ValueError(f"seed should be None or an integer, got {self.seed!r}")
        check_positive_int("partition", self.partition)
        check_positive_int("data_num", self.data_num)
