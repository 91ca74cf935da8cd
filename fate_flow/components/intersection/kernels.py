"""Intersection's per-partition kernels: module-level functions of one partition's blocks.

The computing engine runs them in its workers, every partition in parallel; the protocols
(``protocols``) only stack them on tables and move their results between parties. A block
is the partition's rows (Arrow "id", "value"), its ids or their encodings (an Arrow string
array), fixed-width values (uint8 rows: RSA integers, SHA-256 digests) or a boolean mask
over the partition's rows, always in the order of the partition's rows.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.intersection import rsa
from fate_flow.components.intersection.encode import encode_ids
from fate_flow.components.intersection.param import EncodeParam
from fate_flow.components.intersection.wire import DIGEST_BYTES
from fate_flow.computing.recipes import block_ids

# ---- raw ---------------------------------------------------------------------------------------


def encoded_ids(encode: EncodeParam | None, block: Any) -> pa.Array:
    """The partition's ids, hashed as ``encode`` says (None: as they are)."""
    ids = block_ids(block)
    if encode is None:
        return ids
    return pa.array(encode_ids(ids.to_pylist(), encode), type=pa.string())


def member_strings(values: pa.Array, value_set: pa.Array) -> np.ndarray:
    """Whether each of ``values`` is in ``value_set`` (one hash join in Arrow)."""
    return _mask(pc.is_in(values, value_set=value_set.cast(values.type)))


def select_strings(values: pa.Array, mask: np.ndarray) -> pa.Array:
    """The values where ``mask`` is True, in order."""
    return values.filter(pa.array(mask, type=pa.bool_()))


# ---- RSA ---------------------------------------------------------------------------------------

def sign_own(key: rsa.RsaKey, block: Any) -> np.ndarray:
    """The host's digests of its own ids signed with d: uint8 rows of 32 bytes."""
    return _digest_rows(rsa.sign_own_ids(block_ids(block).to_pylist(), key))


def blind(e: int, n: int, random_bit: int, block: Any) -> tuple[np.ndarray, np.ndarray]:
    """The guest's (blinded ids, unblinders) for one host's key, as rows of the modulus's width."""
    blinded, unblinders = rsa.blind_ids(block_ids(block).to_pylist(), e, n, random_bit)
    width = rsa.modulus_bytes(n)
    return rsa.to_rows(blinded, width), rsa.to_rows(unblinders, width)


def sign_received(key: rsa.RsaKey, rows: np.ndarray) -> np.ndarray:
    """The host's signatures ``x^d mod n`` of the guest's blinded values (checked below n)."""
    values = _below(rsa.from_rows(rows), key.n, "intersect_guest_ids")
    return rsa.to_rows(rsa.sign_blinded(values, key), rows.shape[1])


def unblind(n: int, blinded: tuple[np.ndarray, np.ndarray], signed_rows: np.ndarray) -> np.ndarray:
    """The guest's digests of its own ids signed by the host: the host's signatures, unblinded."""
    sent, unblinders = blinded
    if len(signed_rows) != len(sent):
        raise ValueError(f"intersect_guest_ids_process holds {len(signed_rows)} values, {len(sent)} were sent")
    signed = _below(rsa.from_rows(signed_rows), n, "intersect_guest_ids_process")
    return _digest_rows(rsa.unblind_and_hash(signed, rsa.from_rows(unblinders), n))


def member_digests(digests: np.ndarray, value_set: np.ndarray) -> np.ndarray:
    """Whether each digest row is one of the ``value_set`` rows."""
    return _mask(pc.is_in(_fixed_binary(digests), value_set=_fixed_binary(value_set)))


def select_rows(rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The rows where ``mask`` is True, in order."""
    return rows[mask]


# ---- masks and output --------------------------------------------------------------------------

def both(mask: np.ndarray, other: np.ndarray) -> np.ndarray:
    """True where both masks are (the ids common to every host)."""
    return mask & other


def mask_counts(mask: np.ndarray) -> np.ndarray:
    """[kept rows, rows] of one partition (summed over partitions by ``aggregate``)."""
    return np.array([int(mask.sum()), len(mask)], dtype=np.int64)


def keep_rows(placeholder: str | None, block: Any, mask: np.ndarray) -> pa.Table:
    """The partition's rows where ``mask`` is True; with a ``placeholder``, as every row's value."""
    kept = block.filter(pa.array(mask, type=pa.bool_()))
    if placeholder is None:
        return kept
    values = pa.repeat(pa.scalar(placeholder, type=kept.schema.field("value").type), kept.num_rows)
    return kept.set_column(kept.schema.get_field_index("value"), "value", values)


def _mask(found: Any) -> np.ndarray:
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _digest_rows(digests: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(len(digests), DIGEST_BYTES)


def _fixed_binary(rows: np.ndarray) -> pa.Array:
    rows = np.ascontiguousarray(rows)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(rows.shape[1]), len(rows), [None, pa.py_buffer(rows)])


def _below(values: list, n: int, name: str) -> list:
    if values and max(values) >= n:
        raise ValueError(f"{name} should hold integers between 0 and the RSA modulus")
    return values
