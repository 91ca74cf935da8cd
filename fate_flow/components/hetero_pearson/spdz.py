"""Two-party SPDZ arithmetic of HeteroPearson: fixed point in the field Z_q, q = 2^61, and the pieces of a
Beaver-triple matrix product ``X^T Y`` whose Beaver ``c`` is made with Paillier.

q is a power of two, so numpy's uint64 arithmetic (which wraps modulo 2^64) followed by a mask is
exact modulo q, matrix products included. FATE's fixed point: base 10, 4 fractional digits,
``int64(x * 10^4) mod q``; a decoded value above q/2 is negative.
"""
from __future__ import annotations

import os

import numpy as np

from fate_flow.secureprotol import EncryptedArray, PaillierPrivateKey, PaillierPublicKey
from fate_flow.secureprotol._kernels import add_encodings

Q_BITS = 61
Q = 2 << 60  # FATE's field
MASK = np.uint64(Q - 1)
PRECISION = 10 ** 4
# statistical hiding of the Beaver cross term: its mask has this many bits more than the term can have
MASK_EXTRA_BITS = 40


def field_random(shape: tuple) -> np.ndarray:
    """Uniform elements of Z_q from the system's CSPRNG (FATE draws shares with SystemRandom)."""
    count = int(np.prod(shape))
    return (np.frombuffer(os.urandom(8 * count), dtype=np.uint64) & MASK).reshape(shape)


def encode(values: np.ndarray) -> np.ndarray:
    """FATE's fixed-point encoding ``int64(x * 10^4) mod q`` (truncated toward zero, as FATE's cast does)."""
    return (np.asarray(values, dtype=np.float64) * PRECISION).astype(np.int64).view(np.uint64) & MASK


def decode(values: np.ndarray) -> np.ndarray:
    """Field elements back to floats: above q/2 is negative; divided by 10^4."""
    signed = values.astype(np.int64)
    signed = np.where(values > np.uint64(Q // 2), signed - Q, signed)
    return signed / PRECISION


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a + b) & MASK


def sub(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a - b) & MASK


def matmul_t(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a^T b`` modulo q."""
    return (a.T @ b) & MASK


def truncate(share: np.ndarray, party: int) -> np.ndarray:
    """FATE's share truncation by 10^4 after a product: party 0 ``q - (q - v) // 10^4``, party 1 ``v // 10^4``."""
    divisor = np.uint64(PRECISION)
    if party == 0:
        return (np.uint64(Q) - (np.uint64(Q) - share) // divisor) & MASK
    return share // divisor


def check_field(values, shape: tuple, what: str) -> np.ndarray:
    """``values`` as field elements of ``shape``; ValueError naming ``what`` otherwise (received data)."""
    array = np.asarray(values)
    if array.dtype != np.uint64 or array.shape != shape:
        raise ValueError(f"{what} should be a uint64 array of shape {shape}, got {array.dtype} {array.shape}")
    if array.size and int(array.max()) >= Q:
        raise ValueError(f"{what} holds values outside the field Z_q")
    return array


# ---- the Paillier part of the Beaver triple ----------------------------------------------------
#
# The cross term ``a^T b`` (a: rows x m1 under the owner's key, b: rows x m2 of the other party) is computed
# on packed ciphertexts: each ciphertext holds ``slots`` of a row's a values, ``width`` bits apart, and
# ``Enc(packed)^b`` multiplies every slot by the same b. A slot's sum over the rows plus its mask rho stays
# below 2^width, so slots never carry into each other: m1 / slots times fewer encryptions, products and
# decryptions than one ciphertext per value, with the same values and masks per slot.


def slot_layout(rows: int, key_bits: int) -> tuple[int, int]:
    """(bits per slot, slots per ciphertext) for cross terms summed over ``rows`` rows under a ``key_bits`` key."""
    width = mask_bits(rows) + 1
    slots = (key_bits - 2) // width
    if slots < 1:
        raise ValueError(f"a {key_bits}-bit Paillier key is too short for {rows} rows")
    return width, slots


def mask_bits(rows: int) -> int:
    """Bits of the mask rho: MASK_EXTRA_BITS beyond the largest sum of ``rows`` products of field elements."""
    return 2 * Q_BITS + max(rows, 1).bit_length() + MASK_EXTRA_BITS


def encrypt_matrix(public_key: PaillierPublicKey, matrix: np.ndarray, width: int, slots: int) -> list:
    """Obfuscated packed ciphertexts of ``matrix`` (rows x m): for each group of ``slots`` columns, one per row."""
    packed = []
    for start in range(0, matrix.shape[1], slots):
        for row in matrix[:, start:start + slots].tolist():
            packed.append(sum(int(v) << (width * t) for t, v in enumerate(row)))
    return public_key.raw_encrypt_many(packed)


def cross_term(public_key: PaillierPublicKey, ciphertexts: list, m1: int, b: np.ndarray, width: int,
               slots: int) -> tuple[list, np.ndarray]:
    """``Enc(a^T b + rho)``, packed, from ``encrypt_matrix``'s ciphertexts of ``a`` (rows x m1) and this party's
    ``b`` (rows x m2).

    Returns the ciphertexts (one per group of a's columns and column of b, group-major; not yet obfuscated)
    and ``rho mod q`` (m1 x m2), which the caller subtracts from its own ``c``. Each slot's rho has
    MASK_EXTRA_BITS beyond the largest possible sum, so the key holder learns nothing of ``b`` from it.
    """
    rows, m2 = b.shape
    groups = -(-m1 // slots)
    if len(ciphertexts) != rows * groups:
        raise ValueError(f"multiply_triplets_encrypted holds {len(ciphertexts)} ciphertexts, expected {rows} x {groups}")
    if width <= mask_bits(rows) or slots < 1 or width * slots > public_key.n.bit_length() - 2:
        raise ValueError(f"multiply_triplets_encrypted's packing ({slots} slots of {width} bits) does not fit "
                         f"{rows} rows under a {public_key.n.bit_length()}-bit key")
    # entry (g, k) is prod_i Enc(packed_ig)^b_ik: one multi-exponentiation per entry, all of them in one batch
    # that EncryptedArray spreads over the Paillier pool when it is big
    all_rows = np.arange(rows, dtype=np.int64)
    columns = [(all_rows + g * rows, b[:, k].astype(np.int64)) for g in range(groups) for k in range(m2)]
    products = EncryptedArray(public_key, ciphertexts, 0)._multiexp(columns)
    rho, rho_bits = np.zeros((m1, m2), dtype=np.uint64), mask_bits(rows)
    packed_rho = []
    for g in range(groups):
        for k in range(m2):
            total = 0
            for t, i in enumerate(range(g * slots, min(m1, (g + 1) * slots))):
                value = _random_bits(rho_bits)
                rho[i, k] = value & (Q - 1)
                total |= value << (width * t)
            packed_rho.append(total)
    return add_encodings(public_key.n, public_key.nsquare, products, packed_rho), rho


def decrypt_cross(private_key: PaillierPrivateKey, ciphertexts: list, m1: int, m2: int, width: int,
                  slots: int) -> np.ndarray:
    """The decrypted cross term (m1 x m2) modulo q, unpacked from ``cross_term``'s layout."""
    groups = -(-m1 // slots)
    if len(ciphertexts) != groups * m2:
        raise ValueError(f"multiply_triplets_cross holds {len(ciphertexts)} values, expected {groups * m2}")
    plain = private_key.raw_decrypt_many(ciphertexts)
    out = np.zeros((m1, m2), dtype=np.uint64)
    slot_mask = (1 << width) - 1
    for index, value in enumerate(plain):
        g, k = divmod(index, m2)
        for t, i in enumerate(range(g * slots, min(m1, (g + 1) * slots))):
            out[i, k] = (int(value) >> (width * t)) & slot_mask & (Q - 1)
    return out


def _random_bits(bits: int) -> int:
    return int.from_bytes(os.urandom((bits + 7) // 8), "big") >> (-bits % 8)
