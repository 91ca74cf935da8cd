"""HeteroLinR on a host: HeteroLR's host as it is (it sends [[X_h w_h]], [[sum u_h^2]] and its penalty,
gets [[d]] back and computes [[X_h^T d]]), under HeteroLinR's names and model messages."""
from __future__ import annotations

from fate_flow.components.hetero_linr.base import HeteroLinRMixin
from fate_flow.components.hetero_lr.host import HeteroLRHost


class HeteroLinRHost(HeteroLinRMixin, HeteroLRHost):
    """Host side of HeteroLinR: fits ``weights_`` for its own features; outputs no data."""
