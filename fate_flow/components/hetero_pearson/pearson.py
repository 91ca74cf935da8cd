"""HeteroPearson: each party's Pearson correlation of its own columns, and the guest x host
cross-correlation computed by two-party SPDZ (neither party sees the other's values).

Steps, as FATE 1.4 does them: standardise the chosen columns locally (population sigma,
``sqrt(sum x^2 / n - mu^2)``); ``local_corr = Z^T Z / n``; then the secret-shared product
``Z_guest^T Z_host`` with a Beaver triple whose cross terms go through each party's own
Paillier key, opened to both parties and divided by n. Both parties learn the cross matrix.

On the partitioned tables the product is a sum over partitions: partition p of both parties
holds the same ids (the per-partition id digests are compared first), sorted by id, so
the protocol runs partition by partition, a partition's shares at a time, and only the
m_guest x m_host share sums are kept. The fixed point has FATE's 4 decimal digits (values are
truncated, not rounded), so the cross matrix is within about 1e-4 of the exact one.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.columns import column_positions, only_input_table
from fate_flow.components.hetero_pearson import spdz
from fate_flow.components.hetero_pearson.transfer import HeteroPearsonTransferVariable, SecretShareTransferVariable
from fate_flow.components.linear_model.partitioned import load_instances, partition_digests
from fate_flow.federation.transfer import make_tag
from fate_flow.secureprotol import DEFAULT_KEY_LENGTH, EncryptedArray, PaillierPublicKey, generate_keypair

MODEL_META, MODEL_PARAM = "HeteroPearsonModelMeta", "HeteroPearsonModelParam"
PARTY_INDEX = {"guest": 0, "host": 1}
# the shares' tensor names, by party index
TENSOR_NAMES = ("x", "y")


class HeteroPearson(ComponentBase):
    """Guest or host (exactly one of each); outputs no data, and the correlation model."""

    key_length = DEFAULT_KEY_LENGTH  # FATE: 1024-bit Paillier keys; tests use shorter ones

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        p = self.params
        p.check()
        if not p.need_run:
            return ComponentOutput()
        if p.cross_parties and (len(ctx.parties("guest")) != 1 or len(ctx.parties("host")) != 1):
            raise ValueError("HeteroPearson needs exactly one guest and one host")
        data = load_instances(ctx, only_input_table(inputs, "HeteroPearson"), "HeteroPearson", refuse_empty=True)
        columns = column_positions(data.header, p.selected_indexes(), p.column_names,
                                   ("column_indexes", "column_names"))
        if not columns:
            raise ValueError("HeteroPearson: column_indexes and column_names choose no column")
        names = [data.header[c] for c in columns]
        mean, std = column_moments(data.table, columns, data.count, names)
        gram = data.table.aggregate(functools.partial(_standardized_gram, columns, mean, std))
        self.local_corr_ = gram / data.count
        self.corr_ = None
        if p.cross_parties:
            self.corr_ = SecureCrossProduct(ctx, self.key_length).correlation(data, columns, mean, std)
        ctx.tracker.set_metric_meta("statistic", "correlation", {"name": "pearson", "metric_type": "CORRELATION_GRAPH"})
        return ComponentOutput(model=self.export_model(ctx, names))

    def export_model(self, ctx: ComponentContext, names: list[str]) -> dict[str, Any]:
        """FATE's PearsonModelMeta / PearsonModelParam."""
        role, own = ctx.role, len(names)
        param = {"party": f"({role},{ctx.party_id})", "shape": own, "names": list(names),
                 "anonymous_map": [{"anonymous": f"{role}_{ctx.party_id}_{i}", "name": n} for i, n in enumerate(names)],
                 "local_corr": _clipped(self.local_corr_)}
        if self.corr_ is None:
            shapes, all_names = [own], [{"names": list(names)}]
        else:
            shapes = list(self.corr_.shape)
            parties = [("guest", ctx.parties("guest")[0]), ("host", ctx.parties("host")[0])]
            param["parties"] = [f"({r},{pid})" for r, pid in parties]
            param["corr"] = _clipped(self.corr_)
            all_names = [{"names": list(names) if r == role else
                          [f"{r}_{pid}_{i}" for i in range(shapes[PARTY_INDEX[r]])]} for r, pid in parties]
        param["shapes"], param["all_names"] = shapes, all_names
        return {MODEL_META: {"shapes": shapes}, MODEL_PARAM: param}


class SecureCrossProduct:
    """One party's side of the SPDZ product ``Z_guest^T Z_host`` (party 0 is the guest, 1 the host)."""

    def __init__(self, ctx: ComponentContext, key_length: int) -> None:
        self.ctx = ctx
        self.party = PARTY_INDEX[ctx.role]
        self.other_role = "host" if self.party == 0 else "guest"
        self.other_party = ctx.parties(self.other_role)[0]
        self.variables = SecretShareTransferVariable(ctx.federation, flowid="pearson")
        self.public_key, self.private_key = generate_keypair(key_length)

    def correlation(self, data, columns: list[int], mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        """The m_guest x m_host cross-correlation, opened to both parties."""
        self._check_same_ids(data.table)
        total = None
        for partition, block in enumerate(data.table.to_local_iterator()):
            if not len(block):
                continue  # both parties skip it: the digests said it is empty on both
            z = spdz.encode((block.features[:, columns] - mean) / std)
            share = self._product_share(partition, z)
            total = share if total is None else spdz.add(total, share)
        share = spdz.truncate(total, self.party)
        self.variables.rescontruct.remote(share, role=self.other_role, idx=0, suffix=("corr",))
        other = spdz.check_field(self._get(self.variables.rescontruct, ("corr",)), share.shape, "corr")
        return spdz.decode(spdz.add(share, other)) / data.count

    def _get(self, variable, suffix: tuple) -> Any:
        """The other party's message of ``variable`` (both parties send every variable, so it is asked of
        the federation by the other party's role and id)."""
        return self.ctx.federation.get(variable.name, make_tag("pearson", suffix), self.other_role,
                                       self.other_party, None)

    def _check_same_ids(self, table) -> None:
        variables = HeteroPearsonTransferVariable(self.ctx.federation, flowid="pearson")
        own = partition_digests(table)
        variables.ids_digests.remote(own, role=self.other_role, idx=0)
        other = self._get(variables.ids_digests, ())
        if not isinstance(other, list) or len(other) != len(own):
            raise ValueError(f"the {self.other_role}'s id digests do not match this party's {len(own)} partitions")
        for partition, (mine, theirs) in enumerate(zip(own, other)):
            if mine != theirs:
                raise ValueError(f"partition {partition} holds other ids here than on the {self.other_role}: "
                                 f"HeteroPearson needs the same ids on both parties (run Intersection first)")

    def _product_share(self, partition: int, z: np.ndarray) -> np.ndarray:
        """This party's share of ``X^T Y`` over one partition's rows (not yet truncated)."""
        x, y = self._input_shares(partition, z)
        a, b = spdz.field_random(x.shape), spdz.field_random(y.shape)
        c = self._beaver_c(partition, a, b)
        opened = {}
        for name, own, mask in (("corr_confuse_x", x, a), ("corr_confuse_y", y, b)):
            masked = spdz.add(own, mask)
            self.variables.rescontruct.remote(masked, role=self.other_role, idx=0, suffix=(name, partition))
            theirs = spdz.check_field(self._get(self.variables.rescontruct, (name, partition)), own.shape, name)
            opened[name] = spdz.add(masked, theirs)
        e, f = opened["corr_confuse_x"], opened["corr_confuse_y"]
        share = spdz.sub(spdz.sub(c, spdz.matmul_t(a, f)), spdz.matmul_t(e, b))
        return spdz.add(share, spdz.matmul_t(e, f)) if self.party == 0 else share

    def _input_shares(self, partition: int, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(share of X = Z_guest, share of Y = Z_host): keep ``z - r``, send r."""
        r = spdz.field_random(z.shape)
        self.variables.share.remote(r, role=self.other_role, idx=0, suffix=(TENSOR_NAMES[self.party], partition))
        theirs = np.asarray(self._get(self.variables.share, (TENSOR_NAMES[1 - self.party], partition)))
        if theirs.ndim != 2 or theirs.shape[0] != z.shape[0]:
            raise ValueError(f"the {self.other_role}'s share of partition {partition} has shape {theirs.shape}, "
                             f"expected {z.shape[0]} rows")
        theirs = spdz.check_field(theirs, theirs.shape, "share")
        mine = spdz.sub(z, r)
        return (mine, theirs) if self.party == 0 else (theirs, mine)

    def _beaver_c(self, partition: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """This party's share of ``(a0 + a1)^T (b0 + b1)``: its own ``a^T b`` plus the two Paillier cross terms
        (on ciphertexts packing several of a's columns each, see ``spdz``)."""
        own_tag, other_tag = f"corr_a_{self.party}", f"corr_a_{1 - self.party}"
        width, slots = spdz.slot_layout(a.shape[0], self.public_key.n.bit_length())
        encrypted = EncryptedArray(self.public_key, spdz.encrypt_matrix(self.public_key, a, width, slots), 0,
                                   is_obfuscated=True)
        self.variables.multiply_triplets_encrypted.remote(
            {"public_key": self.public_key.to_bytes(), "a": encrypted.to_bytes(), "slot_bits": width,
             "slots": slots}, role=self.other_role, idx=0, suffix=(own_tag, partition))
        received = self._get(self.variables.multiply_triplets_encrypted, (other_tag, partition))
        if not isinstance(received, dict) or not isinstance(received.get("public_key"), bytes) \
                or not all(isinstance(received.get(k), int) for k in ("slot_bits", "slots")):
            raise ValueError("multiply_triplets_encrypted should hold the sender's public key, its packed encrypted a "
                             "and the packing (slot_bits, slots)")
        other_key = PaillierPublicKey.from_bytes(received["public_key"])
        other_a = EncryptedArray.from_bytes(other_key, received["a"]).ciphertexts(be_secure=False)
        cross, rho = spdz.cross_term(other_key, other_a, a.shape[1], b, received["slot_bits"], received["slots"])
        self.variables.multiply_triplets_cross.remote(EncryptedArray(other_key, cross, 0).to_bytes(),
                                                      role=self.other_role, idx=0, suffix=(other_tag, partition))
        mine = EncryptedArray.from_bytes(self.public_key, self._get(self.variables.multiply_triplets_cross,
                                                                    (own_tag, partition))).ciphertexts(be_secure=False)
        c = spdz.sub(spdz.matmul_t(a, b), rho)
        return spdz.add(c, spdz.decrypt_cross(self.private_key, mine, a.shape[1], b.shape[1], width, slots))


def column_moments(table, columns: list[int], count: int, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(mean, population sigma) of the chosen columns, FATE's ``sqrt(sum x^2 / n - mu^2)``; ValueError
    naming a constant column."""
    sums, squares = table.aggregate(functools.partial(_sums, columns), _add_pairs)
    mean = sums / count
    variance = squares / count - mean ** 2
    flat = np.flatnonzero(variance <= 0)
    if len(flat):
        raise ValueError(f"column {names[flat[0]]} has no variance: its Pearson correlation is undefined")
    return mean, np.sqrt(variance)


def _sums(columns: list[int], block) -> tuple[np.ndarray, np.ndarray]:
    x = block.features[:, columns]
    return x.sum(axis=0), (x * x).sum(axis=0)


def _add_pairs(left: tuple, right: tuple) -> tuple:
    return left[0] + right[0], left[1] + right[1]


def _standardized_gram(columns: list[int], mean: np.ndarray, std: np.ndarray, block) -> np.ndarray:
    z = (block.features[:, columns] - mean) / std
    return z.T @ z


def _clipped(matrix: np.ndarray) -> list[float]:
    return np.clip(matrix, -1.0, 1.0).reshape(-1).tolist()
