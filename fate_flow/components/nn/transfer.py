"""The messages of HomoNN and HeteroNN (names after FATE's transfer variables).

HomoNN (clients = the guests then the hosts, in runtime-conf order; see ``homo_lr.secure_aggregation``):
  dh_ciphertext     client -> arbiter: {"public_key", "header_digest"}
  dh_ciphertext_bc  arbiter -> clients: every client's entry, in client order
  client_model      client -> arbiter, suffix (round,): masked fixed-point [weights * w, w] (uint64)
  server_model      arbiter -> clients, suffix (round,): the weighted mean of the weights (float64)
  loss              client -> arbiter, suffix (round,): masked [loss * degree, degree]
  has_converged     arbiter -> clients, suffix (round,): bool

HeteroNN (one guest with the labels and the top model, one host), suffix (epoch, batch); encrypted
matrices travel packed (``crypto.PackedMatrix``: {"shape": [lines, width], "slot_bits", "per_ciphertext",
"data": EncryptedArray.to_bytes()}):
  paillier_pubkey                 host -> guest: the host's public key bytes (once per fit)
  batch_info                      guest -> host: {"batch_size", "batch_num"} and the rows per batch
  batch_data_index                guest -> host, suffix (batch,): the ids of the batch
  encrypted_host_forward          host -> guest: {"alpha": Enc(alpha_h^T) (h lines), and in training
                                  "alpha_rows": Enc(alpha_h) (n lines), "encrypted_acc_noise": Enc(A) before
                                  the update}
  encrypted_guest_forward         guest -> host: Enc(alpha_h W_h + b) + eps, transposed (u lines)
  decrypted_guest_fowrad (sic)    host -> guest: decrypted, plus alpha_h A
  encrypted_guest_weight_gradient guest -> host: {"weight_gradient": Enc(dW_h) + eps_w (u lines),
                                  "host_backward": Enc(delta (W_h + A)^T) (h lines)}
  decrypted_guest_weight_gradient host -> guest: dW_h + eps_w + eta / lr
  is_converge                     guest -> host, suffix (epoch,): bool
"""
from fate_flow.federation.transfer import TransferVariables, Variable

CLIENTS = ("guest", "host")


class HomoNNTransferVariable(TransferVariables):
    """HomoNN's variables; see the module docstring."""

    dh_ciphertext = Variable("dh_ciphertext", src=CLIENTS, dst=("arbiter",))
    dh_ciphertext_bc = Variable("dh_ciphertext_bc", src=("arbiter",), dst=CLIENTS)
    client_model = Variable("client_model", src=CLIENTS, dst=("arbiter",))
    server_model = Variable("server_model", src=("arbiter",), dst=CLIENTS)
    loss = Variable("loss", src=CLIENTS, dst=("arbiter",))
    has_converged = Variable("has_converged", src=("arbiter",), dst=CLIENTS)


class HeteroNNTransferVariable(TransferVariables):
    """HeteroNN's variables; see the module docstring."""

    paillier_pubkey = Variable("paillier_pubkey", src=("host",), dst=("guest",))
    batch_info = Variable("batch_info", src=("guest",), dst=("host",))
    batch_data_index = Variable("batch_data_index", src=("guest",), dst=("host",))
    encrypted_host_forward = Variable("encrypted_host_forward", src=("host",), dst=("guest",))
    encrypted_guest_forward = Variable("encrypted_guest_forward", src=("guest",), dst=("host",))
    decrypted_guest_fowrad = Variable("decrypted_guest_fowrad", src=("host",), dst=("guest",))
    encrypted_guest_weight_gradient = Variable("encrypted_guest_weight_gradient", src=("guest",), dst=("host",))
    decrypted_guest_weight_gradient = Variable("decrypted_guest_weight_gradient", src=("host",), dst=("guest",))
    is_converge = Variable("is_converge", src=("guest",), dst=("host",))
