"""HomoFM's messages: the pairwise-masked aggregation HomoLR uses (dh keys relayed by the arbiter), FATE's
homo FM variable kinds (model, aggregated_model, loss, is_converge)."""
from fate_flow.federation.transfer import TransferVariables, Variable

CLIENTS = ("guest", "host")


class HomoFMTransferVariable(TransferVariables):
    dh_ciphertext = Variable("dh_ciphertext", src=CLIENTS, dst=("arbiter",))
    dh_ciphertext_bc = Variable("dh_ciphertext_bc", src=("arbiter",), dst=CLIENTS)
    model = Variable("model", src=CLIENTS, dst=("arbiter",))
    aggregated_model = Variable("aggregated_model", src=("arbiter",), dst=CLIENTS)
    loss = Variable("loss", src=CLIENTS, dst=("arbiter",))
    is_converge = Variable("is_converge", src=("arbiter",), dst=CLIENTS)
