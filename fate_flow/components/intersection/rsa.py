"""Textbook RSA blind signatures over SHA-256 digests, batched for many ids.

The host signs ``H(k) = int(sha256hex(k), 16)`` with its private exponent d; the guest
blinds its own ``H(s)`` with ``r^e`` so that the host signs without learning it, then
unblinds with ``r^-1``. Both sides compare ``sha256hex(str(H(id)^d mod n))``. There is no
padding, as in FATE: the host never sees the guest's hashes unblinded, and the guest
never sees d.

Every per-id step is a list comprehension over gmpy2 integers (the modular powers are
the unavoidable per-id cost). The host signs with the CRT (two half-size powers instead
of one full one, about 3x faster). Batches above ``PARALLEL_MIN_IDS`` are split over the
secureprotol worker pool so that every core works; each worker function takes and
returns plain lists and ints.
"""
from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from typing import Any, Callable

from fate_flow.secureprotol import _parallel
from fate_flow.secureprotol.gmpy_math import HAVE_GMP, getprimeover, gmpy2, invert, mpz, powmod

KEY_BITS = 1024
PUBLIC_EXPONENT = 65537
# Below this many ids a batch is computed in-process: the pool's start and copies would cost more.
PARALLEL_MIN_IDS = 5000


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


# ---- host side -------------------------------------------------------------------------------

def sign_own_ids(ids: list[str], key: RsaKey) -> list[str]:
    """Return ``sha256hex(str(H(k)^d mod n))`` for every own id k of the host."""
    return map_chunks(_sign_own_ids_chunk, ids, key.p, key.q, key.d)


def sign_blinded(values: list[int], key: RsaKey) -> list[int]:
    """Return ``x^d mod n`` for every blinded value x received from the guest (plain ints)."""
    return map_chunks(_sign_chunk, values, key.p, key.q, key.d)


def _sign_own_ids_chunk(ids: list[str], p: int, q: int, d: int) -> list[str]:
    signed = _crt_sign([hash_to_int(value) for value in ids], p, q, d)
    return [sha256_hex(str(value)) for value in signed]


def _sign_chunk(values: list[int], p: int, q: int, d: int) -> list[int]:
    return [int(value) for value in _crt_sign([mpz(value) for value in values], p, q, d)]


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
    return map_chunks(_blind_chunk, ids, e, n, random_bit)


def unblind_and_hash(signed: list[int], unblinders: list[int], n: int) -> list[str]:
    """Return ``sha256hex(str(y * r^-1 mod n))`` = the hash of ``H(s)^d mod n`` for every signature y."""
    return map_chunks(_unblind_chunk, list(zip(signed, unblinders)), n)


def _blind_chunk(ids: list[str], e: int, n: int, random_bit: int) -> tuple[list[int], list[int]]:
    n = mpz(n)
    # r = 0 has no inverse; it comes up with probability 2^-random_bit.
    factors = [mpz(secrets.randbits(random_bit) or 1) for _ in ids]
    masks = _powmod_all(factors, e, n)
    blinded = [int(mask * hash_to_int(value) % n) for mask, value in zip(masks, ids)]
    return blinded, [int(invert(r, n)) for r in factors]


def _unblind_chunk(pairs: list[tuple[int, int]], n: int) -> list[str]:
    n = mpz(n)
    return [sha256_hex(str(mpz(y) * r_inverse % n)) for y, r_inverse in pairs]


# ---- batching --------------------------------------------------------------------------------

def map_chunks(worker: Callable[..., Any], items: list, *args: Any) -> Any:
    """Run ``worker(items, *args)``, split over the worker pool when there are many items.

    ``worker`` returns a list, or a tuple of lists, aligned with ``items``; the parts of
    the chunks are joined back in order. Falls back to one in-process call when the
    pool is unavailable (one core, a daemon process) or the batch is small.
    """
    workers = _parallel.worker_count()
    if len(items) > PARALLEL_MIN_IDS and workers > 1:
        ranges = _parallel.split_evenly(len(items), workers)
        parts = _parallel.run_chunks(worker, [(items[a:b], *args) for a, b in ranges])
        if parts is not None:
            return _join_parts(parts)
    return worker(items, *args)


def _join_parts(parts: list) -> Any:
    if parts and isinstance(parts[0], tuple):
        return tuple(_join_parts([part[i] for part in parts]) for i in range(len(parts[0])))
    return [item for part in parts for item in part]


def _powmod_all(bases: list, exponent: int, modulus: int) -> list:
    """``b^exponent mod modulus`` for every base b; one C loop with gmpy2."""
    if HAVE_GMP and bases:
        return gmpy2.powmod_base_list(bases, mpz(exponent), mpz(modulus))
    return [powmod(b, exponent, modulus) for b in bases]

