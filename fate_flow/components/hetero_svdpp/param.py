"""HeteroSVDppParam: HeteroMatrixParam with FATE 1.4.1's SVD++ optimizer default."""
from __future__ import annotations

from fate_flow.components.hetero_svd.param import HeteroSVDParam


class HeteroSVDppParam(HeteroSVDParam):
    pass
