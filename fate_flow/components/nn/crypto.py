"""Paillier matrices for HeteroNN's interactive layer: every product a batch, no object per element.

An :class:`EncryptedMatrix` is a row-major :class:`EncryptedArray` (one fixed-point exponent for
all entries) with its shape. The three products the protocol needs are written for its shapes
(n rows of a batch, h host outputs, u units; n is large, h*u small):

- ``times_plain``: [[M]] . W with W plain (h x u): per unit, one simultaneous exponentiation of
  each row's h ciphertexts (Shamir's trick: the squarings are shared by the h bases), run over
  all rows at once;
- ``transpose_times``: [[M]]^T . P (h x u): HeteroLR's multi-exponentiation per column;
- ``plain_times_transpose``: P . [[A]]^T (n x h) for a small encrypted A: its h*u ciphertexts are
  fixed bases, so each gets a table of its powers and every entry costs a few lookups.

A matrix travels as ``{"shape": [rows, cols], "data": EncryptedArray.to_bytes()}`` (obfuscated,
read back under the receiver's copy of the public key); nothing is pickled.

Packing. The two big matrices the host decrypts (the forward, n x u, and the host's input
gradient, n x h) travel packed (:func:`pack`): ``per_ciphertext`` entries share one plaintext, each
in a slot of ``slot_bits`` bits, offset to be non-negative. Decryption (two half-size
exponentiations) is the host's dominant cost and packing divides it, and the obfuscations, by the
slots per ciphertext (15 for a 1024-bit key), for ``slot_bits`` squarings per packed entry. The host
learns exactly the entries it would decrypt one by one, and the slot width: the bit length of a bound
on every entry's mantissa that the guest computes from what it knows (its own plaintexts, the
exponents, and the host's encoding rule: ``encrypt_together``, ``MULTIPLIER_BITS`` significant bits,
``FRESH_BOUND``), about the bit length of the largest value the host decrypts anyway; the offset is
the slot's half, 2^(slot_bits - 1), so that the exact bound never leaves the guest.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from fate_flow.secureprotol import _kernels
from fate_flow.secureprotol.fixedpoint import encode_array
from fate_flow.secureprotol.gmpy_math import FixedBaseTable, mpz
from fate_flow.secureprotol.paillier import EncryptedArray, PaillierPublicKey

# Significant bits of every plaintext the interactive layer encodes: the host's alpha_h and A, the
# guest's multipliers W_h and delta. The networks compute in float32 (24-bit mantissas), so 32 bits
# round far below what they keep; every product costs about 40% fewer modular multiplications than
# with float64's 53 bits, and a packed slot about 40 bits less.
MULTIPLIER_BITS = 32
# |mantissa| of an entry of encrypt_together is at most this (rounding may reach 2^bits itself)
FRESH_BOUND = (1 << MULTIPLIER_BITS) + 1


class EncryptedMatrix:
    """A (rows, cols) matrix of ciphertexts stored row-major in one EncryptedArray."""

    def __init__(self, flat: EncryptedArray, shape: tuple[int, int], bound: int | None = FRESH_BOUND):
        rows, cols = shape
        if len(flat) != rows * cols:
            raise ValueError(f"{len(flat)} ciphertexts do not make a {rows} x {cols} matrix")
        self.flat, self.shape = flat, (int(rows), int(cols))
        self.bound = bound  # every entry's |mantissa| is below it (None: not known)

    @property
    def public_key(self) -> PaillierPublicKey:
        return self.flat.public_key

    @property
    def exponent(self) -> int:
        return self.flat.exponent

    def column(self, k: int) -> list:
        """The ciphertexts of column k (not obfuscated; for products in this process)."""
        return self.flat._cts[k::self.shape[1]]

    def add_plain(self, plain: np.ndarray) -> "EncryptedMatrix":
        """[[M]] + P, P of the same shape."""
        plain = np.asarray(plain, dtype=np.float64).reshape(-1)
        flat = self.flat + plain
        if self.bound is None:
            return EncryptedMatrix(flat, self.shape, None)
        scaled = self.bound << (4 * (flat.exponent - self.exponent))
        added = max(map(abs, encode_array(plain, flat.exponent)), default=0)
        return EncryptedMatrix(flat, self.shape, scaled + added + 1)

    def to_wire(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "data": self.flat.to_bytes()}

    @classmethod
    def from_wire(cls, public_key: PaillierPublicKey, message: Any, what: str,
                  shape: tuple[int | None, int | None]) -> "EncryptedMatrix":
        """The matrix of a message; ValueError when it is malformed or not of ``shape`` (None: any)."""
        if not isinstance(message, dict) or not isinstance(message.get("data"), bytes) \
                or not isinstance(message.get("shape"), list) or len(message["shape"]) != 2:
            raise ValueError(f"{what} should be {{\"shape\": [rows, cols], \"data\": <ciphertexts>}}")
        rows, cols = (int(v) for v in message["shape"])
        for expected, got, name in zip(shape, (rows, cols), ("rows", "columns")):
            if expected is not None and expected != got:
                raise ValueError(f"{what} has {got} {name}, expected {expected}")
        flat = EncryptedArray.from_bytes(public_key, message["data"])
        if len(flat) != rows * cols:
            raise ValueError(f"{what} does not hold {rows} x {cols} values")
        return cls(flat, (rows, cols))


def encrypt_together(public_key: PaillierPublicKey, *matrices: np.ndarray) -> list[EncryptedMatrix]:
    """Encrypt several matrices in ONE batch (one trip to the worker pool), at one exponent that keeps
    the largest magnitude to ``MULTIPLIER_BITS`` significant bits."""
    matrices = [np.asarray(m, dtype=np.float64) for m in matrices]
    flat = np.concatenate([m.reshape(-1) for m in matrices])
    _, exponent = encode_multipliers(flat)
    encrypted = public_key.encrypt_array(flat, exponent=exponent)
    out, start = [], 0
    for m in matrices:
        out.append(EncryptedMatrix(encrypted[start:start + m.size], m.shape))
        start += m.size
    return out


def decrypt(private_key, matrix: EncryptedMatrix) -> np.ndarray:
    """The plaintext matrix (one batch decryption)."""
    return private_key.decrypt_array(matrix.flat).reshape(matrix.shape)


def times_plain(matrix: EncryptedMatrix, weights: np.ndarray) -> EncryptedMatrix:
    """[[M]] . W for a plaintext W of shape (cols, units).

    Entry (i, u) is ``prod_k c_ik ** w_ku``: left to right over the bits of the weights' mantissas,
    one squaring per bit and one product per set bit of each weight, done for all rows as one list
    operation (cheaper than a powmod per entry, whose setup dominates for 53-bit exponents).
    """
    weights = np.asarray(weights, dtype=np.float64)
    rows, cols = matrix.shape
    if weights.shape[0] != cols:
        raise ValueError(f"weights have {weights.shape[0]} rows, the matrix {cols} columns")
    mantissas, exponent = encode_multipliers(weights)
    nsquare = matrix.public_key.nsquare
    columns = [matrix.column(k) for k in range(cols)]
    inverses = [_kernels.batch_invert(columns[k], nsquare) if any(m < 0 for m in mantissas[k]) else None
                for k in range(cols)]
    units = []
    for u in range(weights.shape[1]):
        terms = [(inverses[k] if mantissas[k, u] < 0 else columns[k], abs(int(mantissas[k, u])))
                 for k in range(cols) if mantissas[k, u] != 0]
        units.append(_simultaneous_powers(terms, rows, nsquare))
    cts = [units[u][i] for i in range(rows) for u in range(len(units))]
    flat = EncryptedArray(matrix.public_key, cts, matrix.exponent + exponent)
    bound = matrix.bound * max(sum(abs(int(m)) for m in mantissas[:, u]) for u in range(weights.shape[1]))
    return EncryptedMatrix(flat, (rows, weights.shape[1]), bound + 1)


def encode_multipliers(values: np.ndarray, bits: int = MULTIPLIER_BITS) -> tuple[np.ndarray, int]:
    """(signed integer mantissas as an object array, exponent): ``values ~ mantissas * 16 ** -exponent``
    with the largest magnitude kept to ``bits`` significant bits (at least ``bits - 3``)."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("cannot encode NaN or infinite values")
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    if largest == 0.0:
        return np.zeros(values.shape, dtype=object), 0
    exponent = (bits - math.frexp(largest)[1]) // 4
    mantissas = np.rint(np.ldexp(values, 4 * exponent)).astype(np.int64)
    return mantissas.astype(object), exponent


def _simultaneous_powers(terms: list, rows: int, modulus) -> list:
    """``prod_k bases_k[i] ** e_k`` for every row i, sharing the squarings between the bases."""
    if not terms:
        return [mpz(1)] * rows
    acc = None
    for bit in range(max(e for _, e in terms).bit_length() - 1, -1, -1):
        if acc is not None:
            acc = [a * a % modulus for a in acc]
        for bases, e in terms:
            if e >> bit & 1:
                acc = list(bases) if acc is None else [a * b % modulus for a, b in zip(acc, bases)]
    return acc


def transpose_times(matrix: EncryptedMatrix, plain: np.ndarray) -> EncryptedMatrix:
    """[[M]]^T . P for a plaintext P of shape (rows, units): one multi-exponentiation per entry
    (HeteroLR's bucket method over the rows)."""
    rows, cols = matrix.shape
    plain = np.asarray(plain, dtype=np.float64)
    if plain.shape[0] != rows:
        raise ValueError(f"the plain matrix has {plain.shape[0]} rows, the encrypted one {rows}")
    mantissas, exponent = encode_multipliers(plain)
    specs = []
    for u in range(plain.shape[1]):
        column = mantissas[:, u].astype(np.int64)
        nonzero = np.flatnonzero(column)
        specs.append((nonzero.astype(np.int64), column[nonzero]))
    nsquare = matrix.public_key.nsquare
    products = [_kernels.multiexp_columns(matrix.column(k), nsquare, specs) for k in range(cols)]
    flat = EncryptedArray(matrix.public_key, [ct for row in products for ct in row], matrix.exponent + exponent)
    return EncryptedMatrix(flat, (cols, plain.shape[1]), bound=None)


def plain_times_transpose(plain: np.ndarray, small: EncryptedMatrix) -> EncryptedMatrix:
    """P . [[A]]^T for a plaintext P (rows, units) and a small encrypted A (cols, units).

    A's ciphertexts are fixed bases: each gets a fixed-base table (and its inverse one for
    negative multipliers), so an entry costs one product per byte of P's mantissas.
    """
    plain = np.asarray(plain, dtype=np.float64)
    cols, units = small.shape
    if plain.shape[1] != units:
        raise ValueError(f"the plain matrix has {plain.shape[1]} columns, the encrypted one {units}")
    rows = plain.shape[0]
    mantissas, exponent = encode_multipliers(plain)
    magnitudes = np.abs(mantissas)
    n_bits = max(1, int(max(magnitudes.reshape(-1), default=0)).bit_length())
    n_bytes = -(-n_bits // FixedBaseTable.WINDOW_BITS)
    digits = [[int(m).to_bytes(n_bytes, "little") for m in magnitudes[:, u]] for u in range(units)]
    negative = [[m < 0 for m in mantissas[:, u]] for u in range(units)]
    nsquare = small.public_key.nsquare
    bases = small.flat._cts
    inverse = _kernels.batch_invert(bases, nsquare)
    out_columns = []
    for k in range(cols):
        acc = [mpz(1)] * rows
        for u in range(units):
            tables = (FixedBaseTable(bases[k * units + u], nsquare, n_bits),
                      FixedBaseTable(inverse[k * units + u], nsquare, n_bits) if any(negative[u]) else None)
            acc = [a * tables[neg].pow_bytes(d) % nsquare for a, neg, d in zip(acc, negative[u], digits[u])]
        out_columns.append(acc)
    cts = [out_columns[k][i] for i in range(rows) for k in range(cols)]
    bound = small.bound * units * int(max(magnitudes.reshape(-1), default=0))
    return EncryptedMatrix(EncryptedArray(small.public_key, cts, small.exponent + exponent), (rows, cols), bound + 1)


# ---- packing: many entries per ciphertext for the host's decryption ---------------------------

def pack(matrix: EncryptedMatrix) -> dict[str, Any]:
    """The wire form of [[M]] with as many entries per ciphertext as fit (see the module docstring).

    Slot j of a packed plaintext holds entry j + 2^(slot_bits - 1); the packed ciphertext is built by
    Horner's rule, ``P = P ** (2 ** slot_bits) * c_j``, high slot first.
    """
    if matrix.bound is None:
        raise ValueError("pack needs a bound on the entries' mantissas")
    pk = matrix.public_key
    slot_bits = (2 * matrix.bound).bit_length()
    per_ciphertext = max(1, (pk.max_int.bit_length() - 1) // slot_bits)
    cts, n_values = matrix.flat._cts, len(matrix.flat)
    groups = [cts[start:start + per_ciphertext] for start in range(0, n_values, per_ciphertext)]
    shift = mpz(1) << slot_bits
    packed = [group[-1] for group in groups]
    for j in range(per_ciphertext - 2, -1, -1):
        rows = [g for g, group in enumerate(groups) if j < len(group) - 1]  # groups with a slot below j + 1
        raised = _kernels.raise_all(pk.nsquare, [packed[g] for g in rows], shift)
        for g, value in zip(rows, raised):
            packed[g] = value * groups[g][j] % pk.nsquare
    half = 1 << (slot_bits - 1)  # above the bound: every slot stays in [0, 2^slot_bits)
    offsets = [sum(half << (slot_bits * j) for j in range(len(group))) for group in groups]
    if offsets and max(offsets) * 2 > pk.max_int:
        raise OverflowError(f"entries of {slot_bits} bits do not fit one plaintext of this key")
    packed = _kernels.add_encodings(pk.n, pk.nsquare, packed, offsets)
    flat = EncryptedArray(pk, packed, matrix.exponent)
    return {"shape": list(matrix.shape), "slot_bits": slot_bits, "per_ciphertext": per_ciphertext,
            "data": flat.to_bytes()}


def unpack_decrypt(private_key, message: Any, what: str, shape: tuple[int, int]) -> np.ndarray:
    """Decrypt a :func:`pack` message into the (rows, cols) float matrix; ValueError when malformed."""
    pk = private_key.public_key
    if not isinstance(message, dict) or not isinstance(message.get("data"), bytes) or \
            any(not isinstance(message.get(key), int) or isinstance(message.get(key), bool) or message[key] < 1
                for key in ("slot_bits", "per_ciphertext")):
        raise ValueError(f"{what} should be {{\"shape\", \"slot_bits\", \"per_ciphertext\", \"data\"}}")
    if list(message.get("shape") or []) != list(shape):
        raise ValueError(f"{what} has shape {message.get('shape')}, expected {list(shape)}")
    slot_bits, per_ciphertext = message["slot_bits"], message["per_ciphertext"]
    offset = 1 << (slot_bits - 1)
    if slot_bits * per_ciphertext > pk.max_int.bit_length():
        raise ValueError(f"{what}: {per_ciphertext} slots of {slot_bits} bits do not fit this key")
    flat = EncryptedArray.from_bytes(pk, message["data"])
    n_values = shape[0] * shape[1]
    if len(flat) != -(-n_values // per_ciphertext):
        raise ValueError(f"{what} holds {len(flat)} ciphertexts, expected {-(-n_values // per_ciphertext)}")
    mask = (1 << slot_bits) - 1
    mantissas = []
    for plaintext in private_key.raw_decrypt_many(flat.ciphertexts(be_secure=False)):
        for _ in range(min(per_ciphertext, n_values - len(mantissas))):
            mantissas.append((plaintext & mask) - offset)
            plaintext >>= slot_bits
    values = np.array([float(m) for m in mantissas], dtype=np.float64)
    return np.ldexp(values, -4 * flat.exponent).reshape(shape)
