"""HeteroPoisson on the arbiter: HeteroLR's arbiter under HeteroPoisson's names and model meta."""
from __future__ import annotations

from fate_flow.components.hetero_lr.arbiter import HeteroLRArbiter
from fate_flow.components.hetero_poisson.base import HeteroPoissonMixin


class HeteroPoissonArbiter(HeteroPoissonMixin, HeteroLRArbiter):
    """Arbiter side of HeteroPoisson; ``loss_history_`` holds the logged losses."""
