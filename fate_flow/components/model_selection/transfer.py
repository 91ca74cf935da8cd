"""The messages of the shared training machinery (FATE's transfer class names).

  CrossValidationTransferVariable (hetero only)
    train_sid   guest -> hosts, suffix (fold,): per partition of the guest's sorted train data, the
                packed bit mask (numpy uint8, ``np.packbits``) of the rows in the fold's train set
    test_sid    guest -> hosts, suffix (fold,): the same for the fold's test set
  ValidationStrategyVariable (hetero, early stopping only)
    validation_status  guest -> hosts, arbiter, suffix (epoch,): {"improved": bool, "need_stop": bool}

The guest decides the folds and the early stop; the others follow. Only bit masks, bools
and counts cross: never an id list or a label.
"""
from fate_flow.federation.transfer import TransferVariables, Variable


class CrossValidationTransferVariable(TransferVariables):
    """The guest's fold masks for the hosts."""

    train_sid = Variable("train_sid", src=("guest",), dst=("host",))
    test_sid = Variable("test_sid", src=("guest",), dst=("host",))


class ValidationStrategyVariable(TransferVariables):
    """The guest's early-stopping verdict for the hosts and the arbiter."""

    validation_status = Variable("validation_status", src=("guest",), dst=("host", "arbiter"))
