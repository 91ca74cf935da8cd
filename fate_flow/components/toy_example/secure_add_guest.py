"""SecureAddExample on the guest: adds both parties' ones without seeing the host's.

The guest keeps x1 and sends x2 of its shares, receives the host's share y1 and the
host's partial sum, and checks that the total is 2 * data_num. FATE's toy-example
script greps the guest's INFO.log for ``secure_add_guest.py[line``, so the result
lines are logged from this file.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.toy_example.shares import fresh_rng, split_into_shares
from fate_flow.components.toy_example.transfer import SecureAddExampleTransferVariable

TOLERANCE = 1e-6


class SecureAddGuest(ComponentBase):
    """Guest side of SecureAddExample; outputs no data, model or metric."""

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        """Run the protocol with host 0; raise ValueError if the sum is not 2 * data_num."""
        self.params.check()
        data_num = self.params.data_num
        x1, x2 = split_into_shares(np.ones(data_num), fresh_rng())
        variables = SecureAddExampleTransferVariable(ctx.federation)
        variables.guest_share.remote(x2, role="host", idx=0)

        y1 = np.asarray(variables.host_share.get(idx=0))
        if y1.shape != x1.shape:
            raise ValueError(f"host_share holds {y1.size} values but the guest has {data_num}; "
                             f"data_num must be the same on both sides")
        guest_sum = float(np.sum(x1 + y1))
        host_sum = float(variables.host_sum.get(idx=0))
        secure_sum = guest_sum + host_sum

        ctx.logger.info("host sum is %.4f", host_sum)
        ctx.logger.info("guest sum is %.4f", guest_sum)
        ctx.logger.info("Secure Add Result is %.4f", secure_sum)
        expected = 2 * data_num
        if not abs(secure_sum - expected) < TOLERANCE:
            raise ValueError(f"secure sum {secure_sum} differs from the expected {expected}")
        ctx.logger.info("success to calculate secure_sum, it is %s", secure_sum)
        return ComponentOutput()
