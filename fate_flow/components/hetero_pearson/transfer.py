"""The messages of HeteroPearson's two-party computation (FATE's SPDZ transfer classes, same names)."""
from fate_flow.federation.transfer import TransferVariables, Variable

_PARTIES = ("guest", "host")


class SecretShareTransferVariable(TransferVariables):
    """share: the other party's share of an input tensor; multiply_triplets_encrypted: a party's Beaver ``a``
    under its own Paillier key; multiply_triplets_cross: ``Enc(a)^T b + rho`` back to the key holder;
    rescontruct (sic, FATE's name): shares opened to both parties."""

    share = Variable("share", src=_PARTIES, dst=_PARTIES)
    multiply_triplets_encrypted = Variable("multiply_triplets_encrypted", src=_PARTIES, dst=_PARTIES)
    multiply_triplets_cross = Variable("multiply_triplets_cross", src=_PARTIES, dst=_PARTIES)
    rescontruct = Variable("rescontruct", src=_PARTIES, dst=_PARTIES)


class HeteroPearsonTransferVariable(TransferVariables):
    """ids_digests: each party's per-partition digests of its ids, so that rows are known to line up
    before any share is sent (not in FATE, which trusts the two tables to hold the same ids)."""

    ids_digests = Variable("ids_digests", src=_PARTIES, dst=_PARTIES)
