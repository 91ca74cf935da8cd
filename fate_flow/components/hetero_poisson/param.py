"""Parameters of HeteroPoisson: FATE 1.4's ``PoissonParam`` (LinearParam's fields and checks, with
nesterov_momentum_sgd instead of sqn, no sqn_param, and ``exposure_colname``)."""
from __future__ import annotations

from fate_flow.components.hetero_linr.param import LinearParam

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd")


class PoissonParam(LinearParam):
    """Parameters of HeteroPoisson with FATE 1.4's class defaults.

    Args (as attributes, besides LinearParam's):
        exposure_colname: the guest's feature column holding each row's exposure (None: exposure 1);
            a name the data does not have also means exposure 1, as in FATE.
    """

    optimizers = OPTIMIZERS

    def __init__(self) -> None:
        super().__init__()
        del self.sqn_param
        self.exposure_colname = None

    def check(self) -> None:
        super().check()
        if self.exposure_colname is not None and not isinstance(self.exposure_colname, str):
            raise ValueError(f"exposure_colname {self.exposure_colname!r} not supported, should be str or None")
