"""HeteroGMF's messages: HeteroMF's, with user counts instead of user ids."""
from fate_flow.components.hetero_mf.transfer import CLIENTS
from fate_flow.federation.transfer import TransferVariables, Variable


class HeteroGMFTransferVariable(TransferVariables):
    guest_user_num = Variable("guest_user_num", src=("guest",), dst=("host",))
    host_user_num = Variable("host_user_num", src=("host",), dst=("guest",))
    dh_ciphertext = Variable("dh_ciphertext", src=CLIENTS, dst=("arbiter",))
    dh_ciphertext_bc = Variable("dh_ciphertext_bc", src=("arbiter",), dst=CLIENTS)
    model = Variable("model", src=CLIENTS, dst=("arbiter",))
    aggregated_model = Variable("aggregated_model", src=("arbiter",), dst=CLIENTS)
    loss = Variable("loss", src=CLIENTS, dst=("arbiter",))
    is_converge = Variable("is_converge", src=("arbiter",), dst=CLIENTS)
