"""The messages of HeteroLinR and HeteroPoisson (FATE's ``HeteroLinRTransferVariable`` and
``HeteroPoissonTransferVariable`` names, plus the id digests and ``delta_norm`` of this implementation),
declared once in ``VARIABLES``. What each carries is as in ``hetero_lr.transfer``, except:

  host_forward             host -> guest, suffix (iter, batch, message): per piece of the batch
                           LinR: [[X_h w_h]] per row (EncryptedArray bytes);
                           Poisson: ``[mu, u]``, the bytes of [[exp(X_h w_h)]] per row and, with the loss, of
                           [[X_h w_h]] per row (FATE sends the second as ``loss_intermediate``; here it rides
                           in the same exchange, so Poisson has no ``loss_intermediate``)
  fore_gradient            guest -> hosts: [[d]] per row of each piece, LinR [[u_g + b + sum u_h - y]],
                           Poisson [[mu - y]]
  loss_intermediate        host -> guest (LinR only): [[sum u_h^2]] of the batch (one host only)
  host_partial_prediction  host -> guest (predict), suffix (partition,): {"ids": [...], "wx": X_h w_h}
                           (the Poisson guest takes exp of the sum; FATE sends exp(X_h w_h))
"""
from fate_flow.federation.transfer import TransferVariables, Variable

GUEST, HOST, ARBITER = ("guest",), ("host",), ("arbiter",)

# (name, senders, receivers) of the two modules' messages
VARIABLES = (
    ("paillier_pubkey", ARBITER, HOST + GUEST),
    ("batch_info", GUEST, HOST + ARBITER),
    ("guest_ids_digest", GUEST, HOST),
    ("host_ids_digest", HOST, GUEST),
    ("host_forward", HOST, GUEST),
    ("fore_gradient", GUEST, HOST),
    ("guest_gradient", GUEST, ARBITER),
    ("host_gradient", HOST, ARBITER),
    ("guest_optim_gradient", ARBITER, GUEST),
    ("host_optim_gradient", ARBITER, HOST),
    ("loss_intermediate", HOST, GUEST),
    ("host_loss_regular", HOST, GUEST),
    ("loss", GUEST, ARBITER),
    ("delta_norm", GUEST + HOST, ARBITER),
    ("converge_flag", ARBITER, HOST + GUEST),
    ("host_partial_prediction", HOST, GUEST),
)
# what HeteroPoisson leaves out of VARIABLES
NOT_IN_POISSON = frozenset({"loss_intermediate"})


def _declare(class_name: str, left_out: frozenset = frozenset()) -> type[TransferVariables]:
    """A TransferVariables class named ``class_name`` (FATE's tags carry it) with ``VARIABLES`` less ``left_out``."""
    body = {name: Variable(name, src=src, dst=dst) for name, src, dst in VARIABLES if name not in left_out}
    body.update(__module__=__name__, __doc__=f"{class_name}'s variables; see the module docstring.")
    return type(class_name, (TransferVariables,), body)


HeteroLinRTransferVariable = _declare("HeteroLinRTransferVariable")
HeteroPoissonTransferVariable = _declare("HeteroPoissonTransferVariable", NOT_IN_POISSON)
