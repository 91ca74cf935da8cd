"""HeteroLR online: the guest's and each host's linear share; the guest adds them."""
from __future__ import annotations

from fate_flow.components.linear_model.online import LinearOnlineModel, load_linear_model


def load_online(messages: dict, role: str, name: str) -> LinearOnlineModel:
    """The online model of a saved HeteroLR model (guest or host; an arbiter has no share)."""
    from fate_flow.components.hetero_lr.guest import HeteroLRGuest
    from fate_flow.components.hetero_lr.host import HeteroLRHost
    from fate_flow.components.hetero_lr.param import HeteroLogisticParam

    programs = {"guest": HeteroLRGuest, "host": HeteroLRHost}
    if role not in programs:
        raise ValueError(f"HeteroLR has no {role} side to serve")
    return load_linear_model(programs[role](HeteroLogisticParam()), messages, role, is_hetero=True)
