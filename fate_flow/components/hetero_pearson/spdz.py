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

def encrypt_matrix(public_key: PaillierPublicKey, matrix: np.ndarray) -> list:
    """Obfuscated ciphertexts of the field elements of ``matrix``, column by column."""
    return public_key.raw_encrypt_many([int(v) for v in matrix.T.reshape(-1)])


def cross_term(public_key: PaillierPublicKey, ciphertexts: list, m1: int, b: np.ndarray) -> tuple[list, np.ndarray]:
    """``Enc(a^T b + rho)`` from the column-major ciphertexts of ``a`` (rows x m1) and this party's ``b`` (rows x m2).

    Returns the ciphertexts (m1 x m2, row-major, not yet obfuscated) and ``rho mod q``, which the
    caller subtracts from its own ``c``. rho is drawn MASK_EXTRA_BITS beyond the largest possible
    ``a^T b`` so that the key holder learns nothing of ``b`` from the decrypted sum.
    """
    rows, m2 = b.shape
    if len(ciphertexts) != rows * m1:
        raise ValueError(f"multiply_triplets_encrypted holds {len(ciphertexts)} ciphertexts, expected {rows} x {m1}")
    bound_bits = 2 * Q_BITS + max(rows, 1).bit_length() + MASK_EXTRA_BITS
    if bound_bits >= public_key.n.bit_length() - 2:
        raise ValueError(f"a {public_key.n.bit_length()}-bit Paillier key is too short for {rows} rows")
    # entry (j, k) is prod_i Enc(a_ij)^b_ik: one multi-exponentiation per entry over column j's ciphertexts,
    # all of them in one batch that EncryptedArray spreads over the Paillier pool when it is big
    all_rows = np.arange(rows, dtype=np.int64)
    columns = [(all_rows + j * rows, b[:, k].astype(np.int64)) for j in range(m1) for k in range(m2)]
    products = EncryptedArray(public_key, ciphertexts, 0)._multiexp(columns)
    rho = [int.from_bytes(os.urandom((bound_bits + 7) // 8), "big") >> (-bound_bits % 8) for _ in products]
    masked = add_encodings(public_key.n, public_key.nsquare, products, rho)
    return masked, (np.array([r & (Q - 1) for r in rho], dtype=np.uint64).reshape(m1, m2))


def decrypt_cross(private_key: PaillierPrivateKey, ciphertexts: list, shape: tuple) -> np.ndarray:
    """The decrypted cross term modulo q."""
    plain = private_key.raw_decrypt_many(ciphertexts)
    return np.array([p & (Q - 1) for p in plain], dtype=np.uint64).reshape(shape)
