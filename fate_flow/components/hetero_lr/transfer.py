"""The messages of HeteroLR (FATE's ``HeteroLRTransferVariable`` names, plus ``delta_norm``).

What each carries (only bytes, ints, strings, bools and numeric arrays cross parties):
  paillier_pubkey        arbiter -> guest, hosts: ``PaillierPublicKey.to_bytes()``
  guest_ids_digest       guest -> hosts: one digest per partition of its sorted ids (strings)
  host_ids_digest        host -> guest: the same of the host's ids
  batch_info             guest -> hosts, arbiter: {"batch_size", "batch_num", "batch_salt"}: a row's
                         batch is a salted hash of its id, so no ids are sent (FATE sends them)
  host_forward_dict      host -> guest, suffix (iter, batch, partition, piece): [[X_h w_h]] of a
                         piece of the partition's rows in the batch (EncryptedArray bytes)
  fore_gradient          guest -> hosts, suffix (iter, batch, partition, piece): [[d]] =
                         [[0.25 u - 0.5 y]] of those rows (EncryptedArray bytes)
  guest_gradient         guest -> arbiter: [[sum d x_g + r]] (masked, EncryptedArray bytes)
  host_gradient          host -> arbiter: [[sum d x_h + r]] (masked, EncryptedArray bytes)
  guest_optim_gradient   arbiter -> guest: the decrypted masked sums (ints mod n)
  host_optim_gradient    arbiter -> host: the same for that host
  loss_intermediate      host -> guest: [[sum u_h^2]] (EncryptedNumber bytes)
  host_loss_regular      host -> guest: [[host penalty]] (EncryptedNumber bytes)
  loss                   guest -> arbiter: [[batch loss]] (EncryptedNumber bytes)
  delta_norm             guest, hosts -> arbiter, suffix (iter,): squared norm of the
                         iteration's update (only for early_stop weight_diff)
  converge_flag          arbiter -> guest, hosts, suffix (iter,): bool
  host_prob              host -> guest (predict), suffix (partition,): {"ids": [...], "wx": X_h w_h}

Per-row ciphertexts go one message per piece of at most ``partitioned.MESSAGE_ROWS`` rows of a
partition, in partition order; a partition with no row in a batch sends nothing for it (both
parties know, from the same ids). Only d-dimensional sums, losses and flags cross whole.
"""
from fate_flow.federation.transfer import TransferVariables, Variable


class HeteroLRTransferVariable(TransferVariables):
    """HeteroLR's variables; see the module docstring for what each one carries."""

    paillier_pubkey = Variable("paillier_pubkey", src=("arbiter",), dst=("host", "guest"))
    batch_info = Variable("batch_info", src=("guest",), dst=("host", "arbiter"))
    guest_ids_digest = Variable("guest_ids_digest", src=("guest",), dst=("host",))
    host_ids_digest = Variable("host_ids_digest", src=("host",), dst=("guest",))
    host_forward_dict = Variable("host_forward_dict", src=("host",), dst=("guest",))
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
    host_prob = Variable("host_prob", src=("host",), dst=("guest",))
