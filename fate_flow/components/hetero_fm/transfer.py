"""HeteroFM's messages (FATE 1.4.1's HeteroFMTransferVariable names)."""
from fate_flow.federation.transfer import TransferVariables, Variable


class HeteroFMTransferVariable(TransferVariables):
    paillier_pubkey = Variable("paillier_pubkey", src=("arbiter",), dst=("guest", "host"))
    batch_info = Variable("batch_info", src=("guest",), dst=("host", "arbiter"))
    host_forward_dict = Variable("host_forward_dict", src=("host",), dst=("guest",))
    fore_gradient = Variable("fore_gradient", src=("guest",), dst=("arbiter",))
    capped_fore_gradient = Variable("capped_fore_gradient", src=("arbiter",), dst=("guest", "host"))
    agg_vx_mul_fg = Variable("agg_vx_mul_fg", src=("guest",), dst=("host",))
    guest_gradient = Variable("guest_gradient", src=("guest",), dst=("arbiter",))
    host_gradient = Variable("host_gradient", src=("host",), dst=("arbiter",))
    guest_optim_gradient = Variable("guest_optim_gradient", src=("arbiter",), dst=("guest",))
    host_optim_gradient = Variable("host_optim_gradient", src=("arbiter",), dst=("host",))
    loss = Variable("loss", src=("guest",), dst=("arbiter",))
    aggregated_forwards = Variable("aggregated_forwards", src=("guest",), dst=("arbiter",))
    host_loss_regular = Variable("host_loss_regular", src=("host",), dst=("arbiter",))
    converge_flag = Variable("converge_flag", src=("arbiter",), dst=("guest", "host"))
    host_prob = Variable("host_prob", src=("host",), dst=("guest",))
