"""HeteroLinR online: the guest's and each host's linear share; the guest's score is their sum."""
from __future__ import annotations

import numpy as np

from fate_flow.components.linear_model.online import LinearOnlineModel, load_linear_model


def identity(values: np.ndarray) -> np.ndarray:
    return values


def load_online(messages: dict, role: str, name: str) -> LinearOnlineModel:
    """The online model of a saved HeteroLinR model (guest or host; an arbiter has no share)."""
    from fate_flow.components.hetero_linr.guest import HeteroLinRGuest
    from fate_flow.components.hetero_linr.host import HeteroLinRHost
    from fate_flow.components.hetero_linr.param import LinearParam

    programs = {"guest": HeteroLinRGuest, "host": HeteroLinRHost}
    if role not in programs:
        raise ValueError(f"HeteroLinR has no {role} side to serve")
    return load_linear_model(programs[role](LinearParam()), messages, role, is_hetero=True, link=identity)
