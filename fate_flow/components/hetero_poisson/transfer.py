"""The messages of HeteroPoisson: declared with HeteroLinR's, in ``hetero_linr.transfer`` (one list, with
what differs)."""
from fate_flow.components.hetero_linr.transfer import HeteroPoissonTransferVariable

__all__ = ["HeteroPoissonTransferVariable"]
