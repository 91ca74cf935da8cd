"""The messages of HeteroPoisson (FATE's ``HeteroPoissonTransferVariable`` names), as HeteroLinR's but:

  host_forward             host -> guest, suffix (iter, batch, message): per piece ``[mu, u]``, the bytes of
                           [[exp(X_h w_h)]] per row and, with the loss, of [[X_h w_h]] per row (FATE sends the
                           second as ``loss_intermediate``; here it rides in the same exchange)
  fore_gradient            guest -> host: [[d]] = [[mu - y]] per row
  host_partial_prediction  host -> guest (predict): {"ids": [...], "wx": X_h w_h} (the guest takes exp
                           of the sum; FATE sends exp(X_h w_h))
"""
from fate_flow.federation.transfer import TransferVariables, Variable


class HeteroPoissonTransferVariable(TransferVariables):
    """HeteroPoisson's variables; see the module docstring and ``hetero_lr.transfer``."""

    paillier_pubkey = Variable("paillier_pubkey", src=("arbiter",), dst=("host", "guest"))
    batch_info = Variable("batch_info", src=("guest",), dst=("host", "arbiter"))
    guest_ids_digest = Variable("guest_ids_digest", src=("guest",), dst=("host",))
    host_ids_digest = Variable("host_ids_digest", src=("host",), dst=("guest",))
    host_forward = Variable("host_forward", src=("host",), dst=("guest",))
    fore_gradient = Variable("fore_gradient", src=("guest",), dst=("host",))
    guest_gradient = Variable("guest_gradient", src=("guest",), dst=("arbiter",))
    host_gradient = Variable("host_gradient", src=("host",), dst=("arbiter",))
    guest_optim_gradient = Variable("guest_optim_gradient", src=("arbiter",), dst=("guest",))
    host_optim_gradient = Variable("host_optim_gradient", src=("arbiter",), dst=("host",))
    host_loss_regular = Variable("host_loss_regular", src=("host",), dst=("guest",))
    loss = Variable("loss", src=("guest",), dst=("arbiter",))
    delta_norm = Variable("delta_norm", src=("guest", "host"), dst=("arbiter",))
    converge_flag = Variable("converge_flag", src=("arbiter",), dst=("host", "guest"))
    host_partial_prediction = Variable("host_partial_prediction", src=("host",), dst=("guest",))
