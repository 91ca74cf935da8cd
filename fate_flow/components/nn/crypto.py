"""Paillier matrices for HeteroNN's interactive layer, packed: many entries share one ciphertext.

A :class:`PackedMatrix` of shape (lines, width) keeps each line in ``ceil(width / per_ciphertext)``
ciphertexts; slot j of a line's ciphertext g holds entry ``g * per_ciphertext + j`` at bit ``j * slot_bits``.
Slots hold signed fixed-point mantissas (one exponent for the matrix): the plaintext is
``sum_j m_j 2^(j slot_bits) mod n``, so multiplying such ciphertexts adds slot by slot, and raising one
to a plain integer multiplies every slot by it, exactly, as long as no slot outgrows its width. Before the
key holder decrypts, the sender adds the slot's half, ``2^(slot_bits - 1)``, to every slot, so that all
slots are non-negative and the plaintext is read off field by field (:func:`unpack_decrypt`).

The three products of the protocol (n rows of a batch, h host outputs, u units; n is large, h*u small):

- :func:`forward`, ``[[alpha_h]] W_h + plain`` (u lines of n): the host encrypts alpha_h by columns (h
  lines of n rows), so that every slot of a ciphertext is multiplied by the same weight: an entry costs
  about 1/per_ciphertext of a small multi-exponentiation instead of one whole;
- :func:`weight_gradient`, ``[[alpha_h]]^T delta + plain`` (u lines of h): the host also encrypts alpha_h by
  rows (n lines of h), and one multi-exponentiation over the rows (HeteroLR's bucket method) gives every
  entry of a unit at once;
- :func:`backward`, ``delta [[A]]^T + plain`` (h lines of n): A's ciphertexts raised to ``2^(j slot_bits)``
  are fixed bases, one per slot, and a packed entry is a product of their small powers (Straus' method).

Slot widths. The host chooses those of its two layouts (:func:`forward_slot_bits`,
:func:`gradient_slot_bits`): room for the products of two ``MULTIPLIER_BITS`` mantissas and for the guest's
noise at the products' exponent. The guest checks that its results fit and, should its multipliers be so
small that they do not, encodes them with fewer significant bits (:func:`_fitting_encoding`). The guest
chooses the width of the backward itself. What the host learns is what it decrypted one value at a time
before: z + eps, dW + eps_w, its input gradient, and the slot widths (about the bit length of the values it
decrypts); the guest sees ciphertexts only.

A matrix travels as ``{"shape", "slot_bits", "per_ciphertext", "data": EncryptedArray.to_bytes()}``
(obfuscated), read back under the receiver's copy of the public key; nothing is pickled.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from fate_flow.secureprotol import _kernels
from fate_flow.secureprotol.fixedpoint import encode_array
from fate_flow.secureprotol.gmpy_math import mpz
from fate_flow.secureprotol.paillier import EncryptedArray, PaillierPublicKey

# Significant bits of every plaintext the interactive layer encodes: the host's alpha_h and A, the
# guest's multipliers W_h and delta. The networks compute in float32 (24-bit mantissas), so 32 bits
# round far below what they keep.
MULTIPLIER_BITS = 32
# |mantissa| of a value the host encrypts is at most this (rounding may reach 2^bits itself)
FRESH_BOUND = (1 << MULTIPLIER_BITS) + 1
# The guest's noise: |eps|, |eps_w| <= 2^10 (hetero.NOISE_BOUND), plus a bias of the same order.
NOISE_BITS = 11
# Room the host leaves for the guest's multipliers' exponent (base 16) in its slots: the forward's
# weights down to |W| ~ 2^-16, the gradient's delta / n down to 2^-32, at MULTIPLIER_BITS bits.
WEIGHT_EXPONENT_ROOM = 12
DELTA_EXPONENT_ROOM = 16
# The guest encodes multipliers with fewer bits only down to this; below, it gives up (ValueError).
MIN_MULTIPLIER_BITS = 16
# Straus' window for the backward's fixed bases: 2^4 - 1 powers per base and sign.
_WINDOW_BITS = 4
_DIGIT_MASK = (1 << _WINDOW_BITS) - 1


class PackedMatrix:
    """A (lines, width) matrix of fixed-point mantissas packed ``per_ciphertext`` to a ciphertext."""

    def __init__(self, flat: EncryptedArray, shape: tuple[int, int], slot_bits: int, per_ciphertext: int):
        lines, width = (int(v) for v in shape)
        self.groups = -(-width // per_ciphertext)
        if len(flat) != lines * self.groups:
            raise ValueError(f"{len(flat)} ciphertexts do not pack a {lines} x {width} matrix "
                             f"{per_ciphertext} to a ciphertext")
        self.flat, self.shape = flat, (lines, width)
        self.slot_bits, self.per_ciphertext = int(slot_bits), int(per_ciphertext)

    @property
    def public_key(self) -> PaillierPublicKey:
        return self.flat.public_key

    @property
    def exponent(self) -> int:
        return self.flat.exponent

    def line(self, index: int) -> list:
        """The ciphertexts of one line (not obfuscated; for products in this process)."""
        return self.flat._cts[index * self.groups:(index + 1) * self.groups]

    def to_wire(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "slot_bits": self.slot_bits, "per_ciphertext": self.per_ciphertext,
                "data": self.flat.to_bytes()}

    @classmethod
    def from_wire(cls, public_key: PaillierPublicKey, message: Any, what: str,
                  shape: tuple[int | None, int | None]) -> "PackedMatrix":
        """The matrix of a message; ValueError when it is malformed or not of ``shape`` (None: any)."""
        if not isinstance(message, dict) or not isinstance(message.get("data"), bytes) \
                or not isinstance(message.get("shape"), list) or len(message["shape"]) != 2 \
                or any(not _is_positive_int(message.get(key)) for key in ("slot_bits", "per_ciphertext")):
            raise ValueError(f"{what} should be {{\"shape\": [lines, width], \"slot_bits\", \"per_ciphertext\", "
                             f"\"data\": <ciphertexts>}}")
        lines, width = (int(v) for v in message["shape"])
        for expected, got, name in zip(shape, (lines, width), ("lines", "entries a line")):
            if expected is not None and expected != got:
                raise ValueError(f"{what} has {got} {name}, expected {expected}")
        slot_bits, per_ciphertext = message["slot_bits"], message["per_ciphertext"]
        if slot_bits * per_ciphertext > capacity_bits(public_key):
            raise ValueError(f"{what}: {per_ciphertext} slots of {slot_bits} bits do not fit this key")
        flat = EncryptedArray.from_bytes(public_key, message["data"])
        if len(flat) != lines * -(-width // per_ciphertext):
            raise ValueError(f"{what} holds {len(flat)} ciphertexts, expected {lines * -(-width // per_ciphertext)}")
        return cls(flat, (lines, width), slot_bits, per_ciphertext)


def capacity_bits(public_key: PaillierPublicKey) -> int:
    """Bits a packed plaintext may use: every field sum stays below max_int."""
    return public_key.max_int.bit_length() - 1


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


# ---- the host: its layouts, encrypted in one batch ---------------------------------------------

def forward_slot_bits(exponent: int, h: int) -> int:
    """Slot width of alpha_h by columns: a sum of h products of two MULTIPLIER_BITS mantissas, or the
    guest's noise at the product's exponent (alpha's plus the weights', up to WEIGHT_EXPONENT_ROOM)."""
    product = (h * FRESH_BOUND << MULTIPLIER_BITS).bit_length() + 1
    return max(product, NOISE_BITS + 4 * (exponent + WEIGHT_EXPONENT_ROOM) + 2)


def gradient_slot_bits(exponent: int, rows: int) -> int:
    """Slot width of alpha_h by rows: a sum over the rows of products of two MULTIPLIER_BITS mantissas,
    or the guest's noise at the product's exponent (alpha's plus delta's, up to DELTA_EXPONENT_ROOM)."""
    product = (rows * FRESH_BOUND << MULTIPLIER_BITS).bit_length() + 1
    return max(product, NOISE_BITS + 4 * (exponent + DELTA_EXPONENT_ROOM) + 2)


def encrypt_layer_inputs(public_key: PaillierPublicKey, alpha: np.ndarray, acc_noise: np.ndarray | None = None
                         ) -> tuple[PackedMatrix, PackedMatrix | None, PackedMatrix | None]:
    """The host's matrices, encrypted in ONE batch at one exponent (MULTIPLIER_BITS for the largest value):
    (alpha_h by columns, alpha_h by rows, A one entry a ciphertext); the last two only with ``acc_noise``
    (training)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    rows, h = alpha.shape
    values = alpha.reshape(-1) if acc_noise is None else np.concatenate([alpha.reshape(-1), acc_noise.reshape(-1)])
    mantissas, exponent = encode_multipliers(values)
    alpha_m = mantissas[:rows * h].reshape(rows, h)
    capacity = capacity_bits(public_key)
    slot_bits = min(forward_slot_bits(exponent, h), capacity)
    layouts = [(alpha_m.T, slot_bits, capacity // slot_bits)]
    if acc_noise is not None:
        per_row = max(1, min(h, capacity // gradient_slot_bits(exponent, rows)))
        layouts.append((alpha_m, capacity // per_row, per_row))  # the spare bits widen every slot
        layouts.append((mantissas[rows * h:].reshape(acc_noise.shape), capacity, 1))
    plaintexts = [p % public_key.n for lines, bits, per in layouts for p in _pack_lines(lines, bits, per)]
    flat = EncryptedArray(public_key, public_key.raw_encrypt_many(plaintexts), exponent, is_obfuscated=True)
    out, start = [], 0
    for lines, bits, per in layouts:
        count = lines.shape[0] * -(-lines.shape[1] // per)
        out.append(PackedMatrix(flat[start:start + count], lines.shape, bits, per))
        start += count
    return out[0], (out[1] if acc_noise is not None else None), (out[2] if acc_noise is not None else None)


def _pack_lines(lines, slot_bits: int, per_ciphertext: int, offset: int = 0) -> list:
    """``sum_j (m_j + offset) 2^(j slot_bits)`` over each line's groups of ``per_ciphertext`` entries."""
    out = []
    for line in lines:
        line = [int(m) + offset for m in line]
        for start in range(0, len(line), per_ciphertext):
            packed = 0
            for m in reversed(line[start:start + per_ciphertext]):
                packed = (packed << slot_bits) + m
            out.append(packed)
    return out


# ---- the guest's products ---------------------------------------------------------------------

def forward(by_columns: PackedMatrix, weights: np.ndarray, plain: np.ndarray) -> PackedMatrix:
    """``[[alpha]] W + plain`` as a (units, rows) matrix ready to decrypt, from alpha (rows, h) packed by
    columns, plaintext W (h, units) and plain (rows, units)."""
    weights, plain = np.asarray(weights, dtype=np.float64), np.asarray(plain, dtype=np.float64)
    h, rows = by_columns.shape
    if weights.shape[0] != h or plain.shape != (rows, weights.shape[1]):
        raise ValueError(f"weights {weights.shape} and plain {plain.shape} do not fit alpha of {rows} x {h}")
    mantissas, exponent, added = _fitting_encoding(weights, plain.T, by_columns, FRESH_BOUND)
    nsquare = by_columns.public_key.nsquare
    lines = [by_columns.line(k) for k in range(h)]
    inverses = [_kernels.batch_invert(lines[k], nsquare) if any(m < 0 for m in mantissas[k]) else None
                for k in range(h)]
    cts = []
    for u in range(weights.shape[1]):
        terms = [(inverses[k] if mantissas[k, u] < 0 else lines[k], abs(int(mantissas[k, u])))
                 for k in range(h) if mantissas[k, u] != 0]
        cts += _simultaneous_powers(terms, by_columns.groups, nsquare)
    return _with_offsets(by_columns.public_key, cts, exponent, added, (weights.shape[1], rows),
                         by_columns.slot_bits, by_columns.per_ciphertext)


def weight_gradient(by_rows: PackedMatrix, multipliers: np.ndarray, plain: np.ndarray) -> PackedMatrix:
    """``[[alpha]]^T P + plain`` as a (units, h) matrix ready to decrypt, from alpha (rows, h) packed by
    rows, plaintext P (rows, units) and plain (h, units)."""
    multipliers, plain = np.asarray(multipliers, dtype=np.float64), np.asarray(plain, dtype=np.float64)
    rows, h = by_rows.shape
    if multipliers.shape[0] != rows or plain.shape != (h, multipliers.shape[1]):
        raise ValueError(f"multipliers {multipliers.shape} and plain {plain.shape} do not fit alpha of "
                         f"{rows} x {h}")
    mantissas, exponent, added = _fitting_encoding(multipliers, plain.T, by_rows, FRESH_BOUND)
    specs = []
    for u in range(multipliers.shape[1]):
        column = mantissas[:, u].astype(np.int64)
        nonzero = np.flatnonzero(column)
        specs.append((nonzero.astype(np.int64), column[nonzero]))
    nsquare, groups = by_rows.public_key.nsquare, by_rows.groups
    by_group = [_kernels.multiexp_columns(by_rows.flat._cts[g::groups], nsquare, specs) for g in range(groups)]
    cts = [by_group[g][u] for u in range(len(specs)) for g in range(groups)]
    return _with_offsets(by_rows.public_key, cts, exponent, added, (multipliers.shape[1], h), by_rows.slot_bits,
                         by_rows.per_ciphertext)


def backward(acc: PackedMatrix, delta: np.ndarray, plain: np.ndarray) -> PackedMatrix:
    """``delta [[A]]^T + plain`` as an (h, rows) matrix ready to decrypt, from A (h, units) one entry a
    ciphertext, plaintext delta (rows, units) and plain (rows, h); the guest chooses the slot width.

    Slot j of every packed ciphertext of line k is ``sum_u delta[i, u] A[k, u]``: the product over u and j
    of ``(Enc(A[k, u])^(2^(j slot_bits)))^delta[i, u]``. Those bases are the same for all groups of a line,
    so each gets a table of its first 2^w - 1 powers (and of its inverse's) and the groups share the
    squarings: per packed ciphertext about ``units * per_ciphertext * 33 / w`` products and 33 squarings.
    """
    delta, plain = np.asarray(delta, dtype=np.float64), np.asarray(plain, dtype=np.float64)
    h, units = acc.shape
    rows = delta.shape[0]
    if acc.per_ciphertext != 1 or delta.shape[1] != units or plain.shape != (rows, h):
        raise ValueError(f"delta {delta.shape} and plain {plain.shape} do not fit A of {h} x {units}")
    pk = acc.public_key
    mantissas, d_exp = encode_multipliers(delta)
    exponent = acc.exponent + d_exp
    added = encode_array(plain.T, exponent)
    bound = FRESH_BOUND * max(sum(abs(int(m)) for m in row) for row in mantissas) + max(map(abs, added)) + 1
    slot_bits = (2 * bound).bit_length()
    per = capacity_bits(pk) // slot_bits
    if per < 1:
        raise OverflowError(f"entries of {slot_bits} bits do not fit one plaintext of this key")
    digits = _window_digits(mantissas.astype(np.int64), per)
    nsquare, shift = pk.nsquare, mpz(1) << slot_bits
    shifted = [list(acc.flat._cts)]  # shifted[j][k * units + u] = Enc(A[k, u])^(2^(j slot_bits))
    for _ in range(per - 1):
        shifted.append(_kernels.raise_all(nsquare, shifted[-1], shift))
    flat_bases = [c for level in shifted for c in level]
    inverses = _kernels.batch_invert(flat_bases, nsquare)
    cts = []
    for k in range(h):
        tables = {}
        for j in range(per):
            for u in range(units):
                at = j * h * units + k * units + u
                tables[j, u] = _powers(flat_bases[at], nsquare) + _powers(inverses[at], nsquare)
        cts += _straus_line(tables, digits, nsquare)
    return _with_offsets(pk, cts, exponent, added, (h, rows), slot_bits, per)


def _window_digits(mantissas: np.ndarray, per: int) -> np.ndarray:
    """(windows, groups, per, units) table indices of signed mantissas (rows, units) laid out ``per`` rows to
    a group: a window's digit, in the inverse's half of the table for a negative mantissa."""
    rows, units = mantissas.shape
    groups = -(-rows // per)
    padded = np.zeros((groups * per, units), dtype=np.int64)
    padded[:rows] = mantissas
    magnitude = np.abs(padded).reshape(groups, per, units)
    negative = (padded < 0).astype(np.int64).reshape(groups, per, units)
    n_windows = -(-max(1, int(magnitude.max()).bit_length()) // _WINDOW_BITS)
    return np.stack([((magnitude >> (_WINDOW_BITS * w)) & _DIGIT_MASK) + negative * (1 << _WINDOW_BITS)
                     for w in range(n_windows)])


def _powers(base, modulus) -> list:
    """[base^0, ..., base^(2^w - 1)]."""
    out = [mpz(1), base]
    for _ in range((1 << _WINDOW_BITS) - 2):
        out.append(out[-1] * base % modulus)
    return out


def _straus_line(tables: dict, digits: np.ndarray, modulus) -> list:
    """``prod_{j, u} tables[j, u][digits[w, g, j, u]]`` over the windows w (high first) for every group g,
    the groups' accumulators squared together between windows."""
    n_windows, groups, per, units = digits.shape
    acc = [mpz(1)] * groups
    for window in range(n_windows - 1, -1, -1):
        if window != n_windows - 1:
            acc = _kernels.raise_all(modulus, acc, 1 << _WINDOW_BITS)
        for j in range(per):
            for u in range(units):
                table = tables[j, u]
                acc = [a * table[d] % modulus if d & _DIGIT_MASK else a
                       for a, d in zip(acc, digits[window, :, j, u].tolist())]
    return acc


def _simultaneous_powers(terms: list, count: int, modulus) -> list:
    """``prod_k bases_k[i] ** e_k`` for every i < count, sharing the squarings between the bases."""
    if not terms:
        return [mpz(1)] * count
    acc = None
    for bit in range(max(e for _, e in terms).bit_length() - 1, -1, -1):
        if acc is not None:
            acc = [a * a % modulus for a in acc]
        for bases, e in terms:
            if e >> bit & 1:
                acc = list(bases) if acc is None else [a * b % modulus for a, b in zip(acc, bases)]
    return acc


def _fitting_encoding(multipliers: np.ndarray, plain_lines: np.ndarray, packed: PackedMatrix, bound: int
                      ) -> tuple[np.ndarray, int, list]:
    """(mantissas, exponent of the result, plain_lines' mantissas at it, row-major) with the most significant bits
    (MULTIPLIER_BITS at most) for which every slot of the result stays inside ``packed``'s slot width."""
    limit = 1 << (packed.slot_bits - 1)
    for bits in range(MULTIPLIER_BITS, MIN_MULTIPLIER_BITS - 1, -1):
        mantissas, m_exp = encode_multipliers(multipliers, bits)
        exponent = packed.exponent + m_exp
        added = encode_array(plain_lines, exponent)
        column_sums = np.abs(mantissas).sum(axis=0) if mantissas.size else [0]
        if bound * int(max(column_sums)) + max(map(abs, added), default=0) + 1 < limit:
            return mantissas, exponent, added
    raise ValueError(f"the interactive layer's values do not fit slots of {packed.slot_bits} bits even at "
                     f"{MIN_MULTIPLIER_BITS} significant bits (weights or gradients far below 2^-16?)")


def _with_offsets(public_key: PaillierPublicKey, cts: list, exponent: int, added: list, shape: tuple[int, int],
                  slot_bits: int, per_ciphertext: int) -> PackedMatrix:
    """The (lines, width) result of ciphertexts ``cts`` plus ``added`` (row-major mantissas) and every slot's
    half."""
    lines, width = shape
    offsets = _pack_lines([added[i * width:(i + 1) * width] for i in range(lines)], slot_bits, per_ciphertext,
                          offset=1 << (slot_bits - 1))
    flat = EncryptedArray(public_key, _kernels.add_encodings(public_key.n, public_key.nsquare, cts, offsets),
                          exponent)
    return PackedMatrix(flat, shape, slot_bits, per_ciphertext)


def unpack_decrypt(private_key, message: Any, what: str, shape: tuple[int, int]) -> np.ndarray:
    """Decrypt a packed result (offsets added) into the (lines, width) float matrix; ValueError when
    malformed."""
    packed = PackedMatrix.from_wire(private_key.public_key, message, what, shape)
    lines, width = packed.shape
    slot_bits, per, groups = packed.slot_bits, packed.per_ciphertext, packed.groups
    offset, mask = 1 << (slot_bits - 1), (1 << slot_bits) - 1
    plaintexts = private_key.raw_decrypt_many(packed.flat.ciphertexts(be_secure=False))
    mantissas = []
    for position, plaintext in enumerate(plaintexts):
        for _ in range(min(per, width - (position % groups) * per)):
            mantissas.append((plaintext & mask) - offset)
            plaintext >>= slot_bits
    values = np.array([float(m) for m in mantissas], dtype=np.float64)
    return np.ldexp(values, -4 * packed.exponent).reshape(shape)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
