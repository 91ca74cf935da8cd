"""HeteroLinR on the arbiter: HeteroLR's arbiter (key pair, masked decryptions, the ``train``/``loss``
metric, convergence) under HeteroLinR's names; its model holds the meta and an empty param."""
from __future__ import annotations

from fate_flow.components.hetero_linr.base import HeteroLinRMixin
from fate_flow.components.hetero_lr.arbiter import HeteroLRArbiter


class HeteroLinRArbiter(HeteroLinRMixin, HeteroLRArbiter):
    """Arbiter side of HeteroLinR; ``loss_history_`` holds the logged losses."""
