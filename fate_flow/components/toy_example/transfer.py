"""The messages of SecureAddExample."""
from fate_flow.federation.transfer import TransferVariables, Variable


class SecureAddExampleTransferVariable(TransferVariables):
    """guest_share: the guest's x2; host_share: the host's y1; host_sum: sum(y2 + x2)."""

    guest_share = Variable("guest_share", src=("guest",), dst=("host",))
    host_share = Variable("host_share", src=("host",), dst=("guest",))
    host_sum = Variable("host_sum", src=("host",), dst=("guest",))
