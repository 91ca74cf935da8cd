"""The messages of HeteroLinR (FATE's ``HeteroLinRTransferVariable`` names, plus the id digests and
``delta_norm`` of this implementation). What each carries is as in ``hetero_lr.transfer``, except:

  host_forward             host -> guest, suffix (iter, batch, message): [[X_h w_h]] per row of each piece
  fore_gradient            guest -> hosts: [[d]] = [[u_g + b + sum u_h - y]] per row of each piece
  loss_intermediate        host -> guest: [[sum u_h^2]] of the batch (one host only)
  host_partial_prediction  host -> guest (predict), suffix (partition,): {"ids": [...], "wx": X_h w_h}
"""
from fate_flow.federation.transfer import TransferVariables, Variable


class HeteroLinRTransferVariable(TransferVariables):
    """HeteroLinR's variables; see the module docstring and ``hetero_lr.transfer``."""

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
    loss_intermediate = Variable("loss_intermediate", src=("host",), dst=("guest",))
    host_loss_regular = Variable("host_loss_regular", src=("host",), dst=("guest",))
    loss = Variable("loss", src=("guest",), dst=("arbiter",))
    delta_norm = Variable("delta_norm", src=("guest", "host"), dst=("arbiter",))
    converge_flag = Variable("converge_flag", src=("arbiter",), dst=("host", "guest"))
    host_partial_prediction = Variable("host_partial_prediction", src=("host",), dst=("guest",))
