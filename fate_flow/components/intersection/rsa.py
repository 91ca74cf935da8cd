"""Textbook RSA blind signatures over SHA-256 digests, for the ids of one partition.

The host signs ``H(k) = int(sha256hex(k), 16)`` with its private exponent d; the guest
blinds its own ``H(s)`` with ``r^e`` so that the host signs without learning it, then
unblinds with ``r^-1``. Both sides compare ``sha256(str(H(id)^d mod n))``. There is no
padding, as in FATE: the host never sees the guest's hashes unblinded, and the guest
never sees d.

Every per-id step is a list comprehension over gmpy2 integers (the modular powers are
the unavoidable per-id cost). The host signs with the CRT (two half-size powers instead
of one full one, about 3x faster). These functions see one partition at a time: the
computing engine's workers run them on all partitions in parallel (``kernels``).
Integers travel as fixed-width big-endian rows (``to_rows``/``from_rows``).
"""
from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass

import numpy as np

from fate_flow.secureprotol.gmpy_math import HAVE_GMP, getprimeover, gmpy2, invert, mpz, powmod

KEY_BITS = 1024
PUBLIC_EXPONENT = 65537


@dataclass(frozen=True)
class RsaKey:
    """An RSA key pair; ``public()`` is the part the host sends."""

    n: int
    e: int
    d: int
    p: int
    q: int

    def public(self) -> dict[str, int]:
        """``{"e": e, "n": n}`` as plain ints, ready for the federation codec."""
        return {"e": int(self.e), "n": int(self.n)}


def generate_rsa_key(n_bits: int = KEY_BITS, e: int = PUBLIC_EXPONENT) -> RsaKey:
    """Return a fresh key with an ``n_bits``-bit modulus n = p*q and d = e^-1 mod lcm(p-1, q-1)."""
    half = n_bits // 2
    while True:
        p, q = getprimeover(half), getprimeover(n_bits - half)
        if p == q or (p * q).bit_length() != n_bits:
            continue
        lam = (p - 1) * (q - 1) // math.gcd(int(p - 1), int(q - 1))
        if math.gcd(e, int(lam)) != 1:
            continue
        return RsaKey(n=int(p * q), e=e, d=int(invert(e, lam)), p=int(p), q=int(q))


def sha256_hex(value: str) -> str:
    """FATE's id hash: the hex SHA-256 digest of the UTF-8 text."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def hash_to_int(value: str) -> int:
    """``H(value)``: the SHA-256 digest of the id read as an integer."""
    return mpz(int(sha256_hex(value), 16))


def signature_digest(signature) -> bytes:
    """What both sides compare: the SHA-256 digest of the signature's decimal text (FATE's, as 32 bytes)."""
    return hashlib.sha256(str(signature).encode("utf-8")).digest()


# ---- host side -------------------------------------------------------------------------------

def sign_own_ids(ids: list[str], key: RsaKey) -> list[bytes]:
    """Return ``signature_digest(H(k)^d mod n)`` for every own id k of the host."""
    return [signature_digest(value) for value in _crt_sign([hash_to_int(i) for i in ids], key.p, key.q, key.d)]


def sign_blinded(values: list, key: RsaKey) -> list[int]:
    """Return ``x^d mod n`` for every blinded value x received from the guest."""
    return [int(value) for value in _crt_sign([mpz(value) for value in values], key.p, key.q, key.d)]


def _crt_sign(values: list, p: int, q: int, d: int) -> list:
    """``v^d mod pq`` for every v by the CRT: powers modulo p and q, recombined (Garner)."""
    p, q = mpz(p), mpz(q)
    q_inverse = invert(q, p)
    mod_p = _powmod_all([v % p for v in values], d % (p - 1), p)
    mod_q = _powmod_all([v % q for v in values], d % (q - 1), q)
    return [b + q * ((a - b) * q_inverse % p) for a, b in zip(mod_p, mod_q)]


# ---- guest side ------------------------------------------------------------------------------

def blind_ids(ids: list[str], e: int, n: int, random_bit: int) -> tuple[list[int], list[int]]:
    """Blind every own id s of the guest with a fresh random r of ``random_bit`` bits.

    Returns:
        ``(blinded, unblinders)``: ``r^e * H(s) mod n`` (sent to the host) and ``r^-1 mod n``
        (kept), both as plain ints in the order of ``ids``.
    """
    n = mpz(n)
    # r = 0 has no inverse; it comes up with probability 2^-random_bit.
    factors = [mpz(secrets.randbits(random_bit) or 1) for _ in ids]
    masks = _powmod_all(factors, e, n)
    blinded = [int(mask * hash_to_int(value) % n) for mask, value in zip(masks, ids)]
    return blinded, [int(invert(r, n)) for r in factors]


def unblind_and_hash(signed: list, unblinders: list, n: int) -> list[bytes]:
    """Return ``signature_digest(y * r^-1 mod n)`` = the digest of ``H(s)^d mod n`` for every signature y."""
    n = mpz(n)
    return [signature_digest(mpz(y) * mpz(r_inverse) % n) for y, r_inverse in zip(signed, unblinders)]


# ---- integers as fixed-width rows --------------------------------------------------------------

def modulus_bytes(n: int) -> int:
    """How many bytes every integer below n takes as a row."""
    return (int(n).bit_length() + 7) // 8


def to_rows(values: list, width: int) -> np.ndarray:
    """uint8 (len, width): each value big-endian (values below 256**width)."""
    data = b"".join(int(value).to_bytes(width, "big") for value in values)
    return np.frombuffer(data, dtype=np.uint8).reshape(len(values), width)


def from_rows(rows: np.ndarray) -> list:
    """The gmpy2 integers of uint8 rows made by ``to_rows``."""
    data, width = rows.tobytes(), rows.shape[1]
    return [mpz(int.from_bytes(data[i:i + width], "big")) for i in range(0, len(data), width)]


def _powmod_all(bases: list, exponent: int, modulus: int) -> list:
    """``b^exponent mod modulus`` for every base b; one C loop with gmpy2."""
    if HAVE_GMP and bases:
        return gmpy2.powmod_base_list(bases, mpz(exponent), mpz(modulus))
    return [powmod(b, exponent, modulus) for b in bases]

