"""HeteroGMFParam: HeteroMatrixParam without validation_freqs and aggregate_iters, with ``neg_count``."""
from __future__ import annotations

from fate_flow.components.hetero_mf.param import HeteroMatrixParam


class HeteroGMFParam(HeteroMatrixParam):
    def __init__(self):
        super().__init__()
        del self.validation_freqs, self.aggregate_iters
        self.optimizer = {"optimizer": "SGD", "learning_rate": 0.01}
        self.neg_count = 4

    def check(self) -> None:
        super().check()
        if isinstance(self.neg_count, bool) or not isinstance(self.neg_count, int) or self.neg_count <= 0:
            raise ValueError(f"neg_count should be a positive integer, got {self.neg_count!r}")
