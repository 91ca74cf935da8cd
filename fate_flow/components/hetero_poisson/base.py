"""What HeteroPoisson changes in HeteroLinR's parties: names, model messages (with ``exposure_colname``)
and the one-host rule (the guest multiplies the host's [[exp(u_h)]], which two hosts' could not be)."""
from __future__ import annotations

from typing import Any

from fate_flow.components.base import ComponentContext
from fate_flow.components.hetero_linr.base import HeteroLinRMixin
from fate_flow.components.model_selection.stepwise import logistic_ic
from fate_flow.components.hetero_poisson.transfer import HeteroPoissonTransferVariable


class HeteroPoissonMixin(HeteroLinRMixin):
    """FATE's HeteroPoisson names and model layout."""

    module_name = "HeteroPoisson"
    transfer_class = HeteroPoissonTransferVariable
    model_meta_name = "HeteroPoissonRegressionMeta"
    model_param_name = "HeteroPoissonRegressionParam"

    def model_meta(self) -> dict[str, Any]:
        """FATE's PoissonModelMeta: LinRModelMeta and ``exposure_colname``."""
        return {**super().model_meta(), "exposure_colname": self.params.exposure_colname}

    # FATE scores a Poisson model in stepwise as LR: k * dfe + 2 * n * loss
    stepwise_ic = staticmethod(logistic_ic)

    def load_model_meta(self, meta: dict[str, Any]) -> None:
        """A predict job takes the exposure column the model was trained with."""
        if "exposure_colname" in meta:
            self.params.exposure_colname = meta["exposure_colname"] or None

    def _refuse_unsupported(self, ctx: ComponentContext) -> None:
        if len(ctx.parties("host")) != 1:
            raise ValueError(f"HeteroPoisson needs exactly one host, got {len(ctx.parties('host'))}")
        super()._refuse_unsupported(ctx)
