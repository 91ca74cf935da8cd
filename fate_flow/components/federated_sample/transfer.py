"""The one message of FederatedSample (FATE's SampleTransferVariable)."""
from fate_flow.federation.transfer import TransferVariables, Variable


class SampleTransferVariable(TransferVariables):
    """sample_ids: the guest's drawn ids (and, for upsampling, the new key of each draw) -> every host."""

    sample_ids = Variable("sample_ids", src=("guest",), dst=("host",))
