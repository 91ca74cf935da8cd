"""HeteroSVD's messages: HeteroMF's plus each party's [mean rating, count] for the global mean."""
from fate_flow.components.hetero_mf.transfer import CLIENTS
from fate_flow.federation.transfer import TransferVariables, Variable


class HeteroSVDTransferVariable(TransferVariables):
    guest_user_ids = Variable("guest_user_ids", src=("guest",), dst=("host",))
    host_user_ids = Variable("host_user_ids", src=("host",), dst=("guest",))
    guest_average_rate = Variable("guest_average_rate", src=("guest",), dst=("host",))
    host_average_rate = Variable("host_average_rate", src=("host",), dst=("guest",))
    dh_ciphertext = Variable("dh_ciphertext", src=CLIENTS, dst=("arbiter",))
    dh_ciphertext_bc = Variable("dh_ciphertext_bc", src=("arbiter",), dst=CLIENTS)
    model = Variable("model", src=CLIENTS, dst=("arbiter",))
    aggregated_model = Variable("aggregated_model", src=("arbiter",), dst=CLIENTS)
    loss = Variable("loss", src=CLIENTS, dst=("arbiter",))
    is_converge = Variable("is_converge", src=("arbiter",), dst=CLIENTS)
