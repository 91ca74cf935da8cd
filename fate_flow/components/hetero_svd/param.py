"""HeteroSVDParam: HeteroMatrixParam with FATE 1.4.1's SVD optimizer default."""
from __future__ import annotations

from fate_flow.components.hetero_mf.param import HeteroMatrixParam


class HeteroSVDParam(HeteroMatrixParam):
    def __init__(self):
        super().__init__()
        self.optimizer = {"optimizer": "SGD", "learning_rate": 0.01}
