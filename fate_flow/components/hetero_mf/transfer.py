"""HeteroMF's messages (FATE 1.4.1's names): user ids in clear between the parties, the masked user
embedding through the arbiter (HomoLR's pairwise masks), the losses and the verdict."""
from fate_flow.federation.transfer import TransferVariables, Variable

CLIENTS = ("guest", "host")


class HeteroMFTransferVariable(TransferVariables):
    guest_user_ids = Variable("guest_user_ids", src=("guest",), dst=("host",))
    host_user_ids = Variable("host_user_ids", src=("host",), dst=("guest",))
    dh_ciphertext = Variable("dh_ciphertext", src=CLIENTS, dst=("arbiter",))
    dh_ciphertext_bc = Variable("dh_ciphertext_bc", src=("arbiter",), dst=CLIENTS)
    model = Variable("model", src=CLIENTS, dst=("arbiter",))
    aggregated_model = Variable("aggregated_model", src=("arbiter",), dst=CLIENTS)
    loss = Variable("loss", src=CLIENTS, dst=("arbiter",))
    is_converge = Variable("is_converge", src=("arbiter",), dst=CLIENTS)
