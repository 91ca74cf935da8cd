"""HomoLR online: each party holds the whole model and scores alone."""
from __future__ import annotations

from fate_flow.components.linear_model.online import LinearOnlineModel, load_linear_model


def load_online(messages: dict, role: str, name: str) -> LinearOnlineModel:
    """The online model of a saved HomoLR model (a guest or host client; the arbiter has none)."""
    from fate_flow.components.homo_lr.client import HomoLRGuest, HomoLRHost
    from fate_flow.components.homo_lr.param import HomoLogisticParam

    programs = {"guest": HomoLRGuest, "host": HomoLRHost}
    if role not in programs:
        raise ValueError(f"HomoLR has no {role} side to serve")
    return load_linear_model(programs[role](HomoLogisticParam()), messages, role, is_hetero=False)
