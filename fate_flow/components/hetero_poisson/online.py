"""HeteroPoisson online: the linear shares as HeteroLinR's; the guest adds ln(exposure) when the request
carries the exposure column and scores exp of the sum."""
from __future__ import annotations

import numpy as np

from fate_flow.components.linear_model.online import LinearOnlineModel, load_linear_model
from fate_flow.computing import Instances


class PoissonOnlineModel(LinearOnlineModel):
    """A party's share ``x . coef (+ b + ln e on the guest)``; the score is ``exp`` of the summed shares."""

    def __init__(self, *args, exposure: str | None = None, **kwargs) -> None:
        super().__init__(*args, link=np.exp, **kwargs)
        self.exposure = exposure

    def share(self, data: Instances) -> np.ndarray:
        own = super().share(data)
        if self.exposure is not None and self.exposure in data.header:
            values = data.features[:, list(data.header).index(self.exposure)]
            own = own + np.log(np.where(values == 0, 1e-7, values))
        return own


def load_online(messages: dict, role: str, name: str) -> LinearOnlineModel:
    """The online model of a saved HeteroPoisson model (guest or host; an arbiter has no share)."""
    from fate_flow.components.hetero_poisson.guest import HeteroPoissonGuest
    from fate_flow.components.hetero_poisson.host import HeteroPoissonHost
    from fate_flow.components.hetero_poisson.param import PoissonParam

    programs = {"guest": HeteroPoissonGuest, "host": HeteroPoissonHost}
    if role not in programs:
        raise ValueError(f"HeteroPoisson has no {role} side to serve")
    meta = messages.get("HeteroPoissonRegressionMeta") or {}
    exposure = meta.get("exposure_colname") if role == "guest" else None
    return load_linear_model(programs[role](PoissonParam()), messages, role, is_hetero=True,
                             model_class=PoissonOnlineModel, exposure=exposure or None)
