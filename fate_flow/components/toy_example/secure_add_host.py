"""SecureAddExample on the host: contributes its ones as shares and a masked partial sum."""
from __future__ import annotations

from typing import Any

import numpy as np

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.toy_example.shares import fresh_rng, split_into_shares
from fate_flow.components.toy_example.transfer import SecureAddExampleTransferVariable


class SecureAddHost(ComponentBase):
    """Host side of SecureAddExample; outputs no data, model or metric."""

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        """Receive the guest's share x2, send y1, then send sum(y2 + x2) to guest 0."""
        self.params.check()
        data_num = self.params.data_num
        variables = SecureAddExampleTransferVariable(ctx.federation)
        x2 = np.asarray(variables.guest_share.get(idx=0))

        y1, y2 = split_into_shares(np.ones(data_num), fresh_rng())
        # Sent before the size check so that a mismatch fails the guest at once too,
        # instead of leaving it waiting for this message until its timeout.
        variables.host_share.remote(y1, role="guest", idx=0)
        if x2.shape != y2.shape:
            raise ValueError(f"guest_share holds {x2.size} values but the host has {data_num}; "
                             f"data_num must be the same on both sides")
        host_sum = float(np.sum(y2 + x2))
        variables.host_sum.remote(host_sum, role="guest", idx=0)
        ctx.logger.info("host sum sent to guest")
        return ComponentOutput()
