"""The batch arithmetic behind EncryptedArray, as plain functions of integers and arrays.

The same functions run in the calling process and in pool workers (``_parallel``), so they
take only integers, lists and numpy arrays, and keep no state.
"""
from __future__ import annotations

import numpy as np

from fate_flow.secureprotol.gmpy_math import HAVE_GMP, gmpy2, invert, mpz, powmod

# Above this many bits per window the bucket table no longer pays off for our sizes.
_MAX_WINDOW_BITS = 16
# Relative cost of one multi-bit powmod step against one modular product (squarings are
# a little cheaper than products, and powmod adds ~1 product per 5 bits for its window).
_POWMOD_COST_PER_BIT = 1.2


def encrypt_encodings(n: int, nsquare: int, encodings: list, obfuscators: list) -> list:
    """Return ``(1 + n*m) * r mod n^2`` for each encoding ``m`` and obfuscator ``r``.

    Uses ``(1 + n*m) * r = r + n * (m*r mod n)  (mod n^2)``: one product with a reduction
    modulo n instead of a full product modulo n^2.
    """
    return [(r + n * (m * r % n)) % nsquare for m, r in zip(encodings, obfuscators)]


def add_encodings(n: int, nsquare: int, ciphertexts: list, encodings: list) -> list:
    """Return ``c * (1 + n*m) mod n^2``: each ciphertext plus a plaintext encoding."""
    return [(c + n * (m * c % n)) % nsquare for c, m in zip(ciphertexts, encodings)]


def multiply_pairs(nsquare: int, left: list, right: list) -> list:
    """Return the products ``a * b mod n^2``: homomorphic addition of two ciphertext lists."""
    return [a * b % nsquare for a, b in zip(left, right)]


def raise_all(nsquare: int, ciphertexts: list, exponent: int) -> list:
    """Return ``c ** exponent mod n^2`` for one non-negative exponent shared by all."""
    exponent = mpz(exponent)
    if HAVE_GMP and len(ciphertexts) > 1:
        return gmpy2.powmod_base_list(ciphertexts, exponent, nsquare)
    return [powmod(c, exponent, nsquare) for c in ciphertexts]


def raise_each(nsquare: int, ciphertexts: list, exponents: list) -> list:
    """Return ``c_i ** e_i mod n^2``; a negative ``e_i`` uses the inverse of ``c_i``."""
    out = []
    for c, e in zip(ciphertexts, exponents):
        if e < 0:
            c, e = invert(c, nsquare), -e
        out.append(powmod(c, e, nsquare))
    return out


def crt_decrypt(params: tuple, ciphertexts: list) -> list:
    """Return the plaintexts in [0, n) of a list of ciphertexts (Paillier decryption by CRT).

    ``params`` is ``(p, q, p^2, q^2, hp, hq, q^-1 mod p)`` as built by the private key.
    """
    p, q, psquare, qsquare, hp, hq, q_inverse = params
    # Reducing the base first halves the cost: GMP's powmod does not shrink a 2048-bit
    # base to the 1024-bit modulus before its window precomputation.
    c_mod_p = [c % psquare for c in ciphertexts]
    c_mod_q = [c % qsquare for c in ciphertexts]
    if HAVE_GMP and len(ciphertexts) > 1:
        xs = gmpy2.powmod_base_list(c_mod_p, p - 1, psquare)
        ys = gmpy2.powmod_base_list(c_mod_q, q - 1, qsquare)
    else:
        xs = [powmod(c, p - 1, psquare) for c in c_mod_p]
        ys = [powmod(c, q - 1, qsquare) for c in c_mod_q]
    out = []
    for x, y in zip(xs, ys):
        mp = (x - 1) // p * hp % p
        mq = (y - 1) // q * hq % q
        out.append(mq + (mp - mq) * q_inverse % p * q)
    return out


def multiexp_columns(bases: list, modulus: int, columns: list) -> list:
    """Return ``prod_i bases[i] ** m_i mod modulus`` for each column ``(rows, m)``.

    Each column is a pair of int64 arrays: the row indices with a non-zero multiplier and
    the signed multipliers. Negative multipliers use the inverse of the base, computed once
    per row that needs it. This is ``X^T . [[d]]`` when ``bases`` are the ciphertexts of d.
    """
    negative_rows = set()
    for rows, values in columns:
        negative_rows.update(rows[values < 0].tolist())
    inverses = {i: invert(bases[i], modulus) for i in negative_rows}
    results = []
    for rows, values in columns:
        picked = [inverses[i] if v < 0 else bases[i] for i, v in zip(rows.tolist(), values.tolist())]
        results.append(multiexp(picked, np.abs(values), modulus))
    return results


def multiexp(bases: list, exponents: np.ndarray, modulus: int):
    """Return ``prod bases[i] ** exponents[i] mod modulus`` for non-negative int64 exponents.

    Picks the cheaper of one powmod per base and the bucket method (Pippenger): the
    exponents are cut into windows of w bits; in each window every base is multiplied into
    the bucket of its digit (one product per base and window), the buckets are combined
    with running products (2 * 2^w products), and the windows are joined by w squarings.
    For 53-bit exponents and 10,000 bases this is about 6 products per base instead of
    the ~64 of a separate powmod.
    """
    if not bases:
        return mpz(1)
    n_bits = int(exponents.max()).bit_length()
    window = _best_window(len(bases), n_bits)
    if window is None:
        acc = mpz(1)
        for base, e in zip(bases, exponents.tolist()):
            acc = acc * powmod(base, e, modulus) % modulus
        return acc
    return _bucket_multiexp(bases, exponents, modulus, window, n_bits)


def _best_window(count: int, n_bits: int) -> int | None:
    """Window size minimising the estimated products, or None for plain powmods."""
    if n_bits == 0:
        return None
    best, best_cost = None, count * (n_bits * _POWMOD_COST_PER_BIT + 1)
    for window in range(1, min(n_bits, _MAX_WINDOW_BITS) + 1):
        n_windows = -(-n_bits // window)
        top_bits = n_bits - (n_windows - 1) * window
        cost = n_windows * count + (n_windows - 1) * (2 << window) + (2 << top_bits) + n_bits
        if cost < best_cost:
            best, best_cost = window, cost
    return best


def _bucket_multiexp(bases: list, exponents: np.ndarray, modulus: int, window: int, n_bits: int):
    mask = (1 << window) - 1
    square_factor = mpz(1 << window)
    result = None
    for k in reversed(range(-(-n_bits // window))):
        if result is not None:
            result = powmod(result, square_factor, modulus)
        digits = (exponents >> (k * window)) & mask
        nonzero = np.flatnonzero(digits)
        buckets = [None] * (mask + 1)
        for i, digit in zip(nonzero.tolist(), digits[nonzero].tolist()):
            bucket = buckets[digit]
            buckets[digit] = bases[i] if bucket is None else bucket * bases[i] % modulus
        window_product = _combine_buckets(buckets, modulus)
        if window_product is not None:
            result = window_product if result is None else result * window_product % modulus
    return mpz(1) if result is None else result


def _combine_buckets(buckets: list, modulus: int):
    """Return ``prod_d buckets[d] ** d`` with running products (None buckets are empty)."""
    running = total = None
    for bucket in reversed(buckets[1:]):
        if bucket is not None:
            running = bucket if running is None else running * bucket % modulus
        if running is not None:
            total = running if total is None else total * running % modulus
    return total


def pack(values: list, width: int) -> bytes:
    """Concatenate non-negative integers as big-endian fields of ``width`` bytes."""
    return b"".join([v.to_bytes(width, "big") for v in values])


def unpack(data: bytes, width: int) -> list:
    """Split ``pack`` output back into integers of the fast type."""
    if HAVE_GMP:
        from_bytes = gmpy2.mpz.from_bytes
        return [from_bytes(data[i:i + width], "big") for i in range(0, len(data), width)]
    return [int.from_bytes(data[i:i + width], "big") for i in range(0, len(data), width)]
