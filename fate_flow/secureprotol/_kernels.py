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
    negative = [i for i, e in enumerate(exponents) if e < 0]
    bases = list(ciphertexts)
    for i, inverse in zip(negative, batch_invert([bases[i] for i in negative], nsquare)):
        bases[i] = inverse
    return [powmod(c, abs(e), nsquare) for c, e in zip(bases, exponents)]


def crt_decrypt(params: tuple, ciphertexts: list) -> list:
    """Return the plaintexts in [0, n) of a list of ciphertexts (Paillier decryption by CRT).

    ``params`` is ``(p, q, p^2, q^2, hp, hq, q^-1 mod p)`` as built by the private key.
    """
    p, q, psquare, qsquare, hp, hq, q_inverse = params
    if HAVE_GMP and len(ciphertexts) > 1:
        xs = gmpy2.powmod_base_list(ciphertexts, p - 1, psquare)
        ys = gmpy2.powmod_base_list(ciphertexts, q - 1, qsquare)
    else:
        xs = [powmod(c, p - 1, psquare) for c in ciphertexts]
        ys = [powmod(c, q - 1, qsquare) for c in ciphertexts]
    out = []
    for x, y in zip(xs, ys):
        mp = (x - 1) // p * hp % p
        mq = (y - 1) // q * hq % q
        out.append(mq + (mp - mq) * q_inverse % p * q)
    return out


def multiexp_columns(bases: list, modulus: int, columns: list) -> list:
    """Return ``prod_i bases[i] ** m_i mod modulus`` for each column ``(rows, m)``.

    Each column is a pair of int64 arrays: the row indices with a non-zero multiplier and
    the signed multipliers (|m| < 2^62). This is ``X^T . [[d]]`` when ``bases`` are the
    ciphertexts of d. Negative multipliers and negative digits use the inverse of the
    base; the inverses of all rows involved are computed together with one inversion.
    """
    if not columns:
        return []
    used = np.unique(np.concatenate([rows for rows, _ in columns])).tolist()
    # Entry 2*i is bases[i] and entry 2*i + 1 its inverse; a sign picks one by index.
    signed_bases = [None] * (2 * len(bases))
    for i, inverse in zip(used, batch_invert([bases[i] for i in used], modulus)):
        signed_bases[2 * i], signed_bases[2 * i + 1] = bases[i], inverse
    return [_multiexp_column(signed_bases, rows, values, modulus) for rows, values in columns]


def batch_invert(values: list, modulus: int) -> list:
    """Return the inverses of all values with one modular inversion (Montgomery's trick).

    Costs 3 products per value instead of one inversion each (about 5.5 products).

    Raises:
        ZeroDivisionError: some value has no inverse.
    """
    if not values:
        return []
    prefix, acc = [], mpz(1)
    for value in values:
        acc = acc * value % modulus
        prefix.append(acc)
    inverse = invert(acc, modulus)
    out = [None] * len(values)
    for i in range(len(values) - 1, 0, -1):
        out[i] = inverse * prefix[i - 1] % modulus
        inverse = inverse * values[i] % modulus
    out[0] = inverse
    return out


def _multiexp_column(signed_bases: list, rows: np.ndarray, values: np.ndarray, modulus: int):
    """One product of powers: plain powmods for a few entries, else signed-digit buckets.

    Bucket method (Pippenger) with signed digits: every multiplier is written in base 2^w
    with digits in (-2^(w-1), 2^(w-1)]; in each window a base goes into the bucket of its
    digit's magnitude (the inverse base for a negative digit or multiplier), the buckets
    are combined with running products (2^w products), and the windows are joined by w
    squarings. For 53-bit multipliers this is about 6-9 products per entry instead of the
    ~64 of one powmod each, and signed digits halve the buckets of an unsigned window.
    """
    if rows.size == 0:
        return mpz(1)
    magnitudes = np.abs(values)
    negative = (values < 0).astype(np.int64)
    n_bits = int(magnitudes.max()).bit_length()
    window = _best_window(len(rows), n_bits)
    if window is None:
        acc = mpz(1)
        for index, e in zip((2 * rows + negative).tolist(), magnitudes.tolist()):
            acc = acc * powmod(signed_bases[index], e, modulus) % modulus
        return acc
    result = None
    for digits in reversed(_signed_digits(magnitudes, window, n_bits)):
        if result is not None:
            result = powmod(result, mpz(1) << window, modulus)
        nonzero = np.flatnonzero(digits)
        picks = (2 * rows[nonzero] + (negative[nonzero] ^ (digits[nonzero] < 0))).tolist()
        buckets = [mpz(1)] * ((1 << (window - 1)) + 1)
        for index, digit in zip(picks, np.abs(digits[nonzero]).tolist()):
            buckets[digit] = buckets[digit] * signed_bases[index] % modulus
        window_product = _combine_buckets(buckets, modulus)
        result = window_product if result is None else result * window_product % modulus
    return result


def _best_window(count: int, n_bits: int) -> int | None:
    """Window bits minimising the estimated products, or None for one powmod per entry."""
    best, best_cost = None, count * (n_bits * _POWMOD_COST_PER_BIT + 1)
    for window in range(2, _MAX_WINDOW_BITS + 1):
        n_windows = -(-(n_bits + 1) // window)
        cost = n_windows * (count + (1 << window)) + n_bits
        if cost < best_cost:
            best, best_cost = window, cost
    return best


def _signed_digits(magnitudes: np.ndarray, window: int, n_bits: int) -> list:
    """Digits in (-2^(w-1), 2^(w-1)] of each magnitude, least significant window first."""
    mask, half, full = (1 << window) - 1, 1 << (window - 1), 1 << window
    carry = np.zeros_like(magnitudes)
    out = []
    for k in range(-(-(n_bits + 1) // window)):  # one spare bit absorbs the last carry
        raw = ((magnitudes >> (k * window)) & mask) + carry
        over = raw > half
        out.append(np.where(over, raw - full, raw))
        carry = over.astype(np.int64)
    return out


def _combine_buckets(buckets: list, modulus: int):
    """Return ``prod_d buckets[d] ** d`` with running products (2 products per bucket)."""
    running = total = mpz(1)
    for bucket in reversed(buckets[1:]):
        running = running * bucket % modulus
        total = total * running % modulus
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
