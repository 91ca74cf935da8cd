"""HomoSecureboost online: a client's trees score its own request rows (no host shares)."""
from __future__ import annotations

from fate_flow.components.hetero_secureboost.online import GuestTreeModel
from fate_flow.components.online import OnlineModel


class HomoTreeModel(GuestTreeModel):
    """Every node is the client's own: the guest's tree walk with no host."""

    is_hetero = False


def load_online(messages: dict, role: str, name: str) -> OnlineModel:
    """The online model of a client's saved HomoSecureboost model (the arbiter saves none)."""
    from fate_flow.components.hetero_secureboost.param import BoostingTreeParam
    from fate_flow.components.homo_secureboost.client import HomoSecureBoostClient

    if role not in ("guest", "host"):
        raise ValueError(f"HomoSecureboost has no {role} side to serve")
    component = HomoSecureBoostClient(BoostingTreeParam())
    component.load_model(messages)
    component.host_ids = []
    return HomoTreeModel(component)
