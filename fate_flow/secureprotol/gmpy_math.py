"""Big-integer helpers for the Paillier code: gmpy2 when installed, pure Python otherwise.

``HAVE_GMP`` tells which one is in use. Every function takes and returns integers that
behave like Python ints (``gmpy2.mpz`` or ``int``); callers never need to know which.
The pure-Python path is 5-10x slower at 1024-bit keys but gives the same results.
"""
from __future__ import annotations

import secrets

try:
    import gmpy2
except ImportError:  # pragma: no cover - exercised by a subprocess test
    gmpy2 = None

HAVE_GMP = gmpy2 is not None

# Trial division by these primes rejects most candidates before Miller-Rabin runs.
_SMALL_PRIMES = tuple(p for p in range(3, 1000) if all(p % d for d in range(2, int(p ** 0.5) + 1)))
# 40 random bases leave a composite a chance below 4^-40 of passing.
_MILLER_RABIN_ROUNDS = 40


def mpz(value) -> int:
    """Return ``value`` as the fast integer type (``gmpy2.mpz`` when available)."""
    return gmpy2.mpz(value) if HAVE_GMP else int(value)


def from_bytes(data: bytes) -> int:
    """Read an unsigned big-endian integer as the fast integer type."""
    if HAVE_GMP:
        return gmpy2.mpz.from_bytes(data, "big")
    return int.from_bytes(data, "big")


def to_bytes(value: int, width: int) -> bytes:
    """Write a non-negative integer as exactly ``width`` big-endian bytes.

    Raises:
        OverflowError: ``value`` does not fit in ``width`` bytes.
    """
    return value.to_bytes(width, "big")


def powmod(a: int, b: int, c: int) -> int:
    """Return ``a ** b % c``; a negative ``b`` uses the modular inverse of ``a``.

    Raises:
        ZeroDivisionError: ``b`` is negative and ``a`` has no inverse modulo ``c``.
    """
    if HAVE_GMP:
        return gmpy2.powmod(a, b, c)
    try:
        return pow(a, b, c)
    except ValueError as exc:  # Python reports a missing inverse as ValueError
        raise ZeroDivisionError(f"{a} has no inverse modulo {c}") from exc


def invert(a: int, b: int) -> int:
    """Return ``x`` with ``a * x % b == 1``.

    Raises:
        ZeroDivisionError: ``a`` and ``b`` are not coprime, so there is no inverse.
    """
    if HAVE_GMP:
        result = gmpy2.invert(a, b)
        if result == 0 and b != 1:  # gmpy2 < 2.1 returned 0 instead of raising
            raise ZeroDivisionError(f"{a} has no inverse modulo {b}")
        return result
    return powmod(a, -1, b)


def isqrt(n: int) -> int:
    """Return the integer square root of ``n``."""
    if HAVE_GMP:
        return gmpy2.isqrt(n)
    import math
    return math.isqrt(n)


def is_probable_prime(n: int) -> bool:
    """Return True if ``n`` is prime, with error probability below 2^-80 for composites."""
    if HAVE_GMP:
        return bool(gmpy2.is_prime(n, _MILLER_RABIN_ROUNDS))
    return _py_is_probable_prime(int(n))


def next_prime(n: int) -> int:
    """Return the smallest probable prime strictly greater than ``n``."""
    if HAVE_GMP:
        return gmpy2.next_prime(n)
    return _py_next_prime(int(n))


def getprimeover(n_bits: int) -> int:
    """Return a random prime of at least ``n_bits`` bits (the top bit of the start is set).

    As in FATE: draw ``n_bits`` random bits, set the top one, take the next prime.
    """
    if n_bits < 2:
        raise ValueError(f"n_bits must be at least 2, got {n_bits}")
    start = secrets.randbits(n_bits) | (1 << (n_bits - 1))
    return next_prime(mpz(start))


def _py_is_probable_prime(n: int) -> bool:
    if n < 2:
        return False
    if n in (2, 3):
        return True
    if n % 2 == 0:
        return False
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    return _miller_rabin(n, _MILLER_RABIN_ROUNDS)


def _miller_rabin(n: int, rounds: int) -> bool:
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        x = pow(2 + secrets.randbelow(n - 3), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _py_next_prime(n: int) -> int:
    if n < 2:
        return 2
    candidate = n + 1 if n % 2 == 0 else n + 2
    if n == 2:
        return 3
    while not _py_is_probable_prime(candidate):
        candidate += 2
    return candidate


class FixedBaseTable:
    """Powers of one base reused for many exponents: ``base ** e % modulus`` in a few products.

    The table holds ``base ** (d * 256**i)`` for every byte position ``i`` and byte value
    ``d``, so an exponent given as ``n_bytes`` little-endian bytes needs at most ``n_bytes``
    modular multiplications and no squaring (the comb/BGMW fixed-base method with 8-bit
    windows). A 256-bit exponent costs 32 products instead of the ~300 of a square-and-
    multiply ``powmod``; the price is building ``255 * n_bytes`` products once (about
    45 ms and 2.5 MB for a 2048-bit modulus and 32 bytes).
    """

    WINDOW_BITS = 8

    def __init__(self, base: int, modulus: int, exponent_bits: int):
        self.modulus = mpz(modulus)
        self.base = mpz(base) % self.modulus
        self.n_bytes = -(-exponent_bits // self.WINDOW_BITS)
        self._rows = self._build_rows()

    def _build_rows(self) -> list:
        one, modulus = mpz(1), self.modulus
        rows, step = [], self.base
        for _ in range(self.n_bytes):
            row = [one, step]
            for _ in range(254):
                row.append(row[-1] * step % modulus)
            rows.append(row)
            step = row[-1] * step % modulus  # base ** 256**(i+1)
        return rows

    def pow(self, exponent: int) -> int:
        """Return ``base ** exponent % modulus`` for 0 <= exponent < 2 ** (8 * n_bytes)."""
        if not 0 <= exponent < 1 << (8 * self.n_bytes):
            raise ValueError(f"exponent must be in [0, 2**{8 * self.n_bytes}), got {exponent}")
        return self.pow_bytes(int(exponent).to_bytes(self.n_bytes, "little"))

    def pow_bytes(self, digits: bytes) -> int:
        """Return ``base ** int.from_bytes(digits, "little") % modulus`` (at most n_bytes bytes)."""
        acc, modulus = mpz(1), self.modulus
        for row, digit in zip(self._rows, digits):
            if digit:
                acc = acc * row[digit] % modulus
        return acc

    def pow_many(self, random_bytes: bytes) -> list:
        """Split ``random_bytes`` into exponents of n_bytes bytes each and return their powers."""
        size = self.n_bytes
        if len(random_bytes) % size:
            raise ValueError(f"need a multiple of {size} bytes, got {len(random_bytes)}")
        return [self.pow_bytes(random_bytes[i:i + size]) for i in range(0, len(random_bytes), size)]
