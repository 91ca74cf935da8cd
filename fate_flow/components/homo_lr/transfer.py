"""The messages of HomoLR (names after FATE's homo aggregator blocks).

Clients are the guest(s) then the hosts, in runtime-conf order; every message of a
client to the arbiter is masked, so the arbiter only ever learns sums.

  dh_ciphertext      client -> arbiter: {"public_key": g^a mod p (int), "header_digest": str}
  dh_ciphertext_bc   arbiter -> clients: the list of every client's dh_ciphertext, in client order
  model              client -> arbiter, suffix (iter,): masked fixed-point [w * degree, degree] (uint64)
  aggregated_model   arbiter -> clients, suffix (iter,): sum(w * degree) / sum(degree) (float64)
  loss               client -> arbiter, suffix (iter,): masked fixed-point [loss * n, n] (uint64)
  is_converge        arbiter -> clients, suffix (iter,): bool
"""
from fate_flow.federation.transfer import TransferVariables, Variable

CLIENTS = ("guest", "host")


class HomoLRTransferVariable(TransferVariables):
    """HomoLR's variables; see the module docstring for what each one carries."""

    dh_ciphertext = Variable("dh_ciphertext", src=CLIENTS, dst=("arbiter",))
    dh_ciphertext_bc = Variable("dh_ciphertext_bc", src=("arbiter",), dst=CLIENTS)
    model = Variable("model", src=CLIENTS, dst=("arbiter",))
    aggregated_model = Variable("aggregated_model", src=("arbiter",), dst=CLIENTS)
    loss = Variable("loss", src=CLIENTS, dst=("arbiter",))
    is_converge = Variable("is_converge", src=("arbiter",), dst=CLIENTS)
