"""Paillier encryption as FATE 1.4 uses it, with batch operations for the hot paths.

Keys follow FATE: n = p*q with p != q and exactly ``n_length`` bits, g = n + 1,
``max_int = n // 3 - 1``; decryption uses the CRT. Values are fixed-point encoded
(:mod:`fixedpoint`: BASE 16, FATE's exponent rule). The API has the shape of
python-paillier: ``generate_keypair``, ``PublicKey.encrypt``, ``PrivateKey.decrypt`` and
an ``EncryptedNumber`` whose operators return new objects. ``EncryptedArray`` holds many
ciphertexts with ONE exponent and does the HeteroLR work in bulk: ``enc_d.dot(X)`` is
``X^T . [[d]]``.

Safe by default: fresh encryptions are obfuscated; results of homomorphic operations are
not, and get obfuscated when they are read with ``ciphertext()`` / ``ciphertexts()`` /
``to_bytes()`` (``be_secure=True`` by default), i.e. before anything leaves the party.
The unobfuscated fast paths are named ``raw_*`` / ``_raw_*`` or take ``be_secure=False``.

Obfuscation (why it is cheap and why that is safe)
---------------------------------------------------
Textbook Paillier multiplies by ``r^n mod n^2`` for a fresh random r < n: a 1024-bit
exponent modulo a 2048-bit number (about 1.2 ms, most of FATE's encryption time). By
default (``secure_obfuscation="short"``) we use the variant of Damgard, Jurik and Nielsen
("A generalization of Paillier's public-key system with applications to electronic
voting", IJIS 2010, section on the faster key/encryption variant): once per key object,
pick a random x in Z_n^* and set ``hs = (x^2)^n mod n^2``; every obfuscator is then
``hs^a mod n^2`` for a fresh uniformly random ``a`` of ``short_exponent_bits`` bits (256
by default), computed from a fixed-base table of hs in at most 32 modular products.

Argument, in our words:
1. Under the DCR assumption (the one Paillier's own security rests on), a random n-th
   residue cannot be told from a random element of Z_{n^2}^*; the same holds within the
   squares, and ``hs`` is a random element of the squared n-th residues. So a ciphertext
   ``(1+n)^m * hs^r`` with r uniform over the order of hs hides m: (1+n)^m is itself a
   square of order n, and multiplying a uniform square by it gives a uniform square.
2. Taking ``a`` short instead of uniform over the (secret, ~n-bit) order of hs needs the
   short-exponent assumption: ``hs^a`` with a of 2k bits is indistinguishable from
   ``hs^r`` with r uniform. The best known attacks (Pollard's lambda/kangaroo and
   baby-step giant-step on the exponent interval) cost about 2^(bits/2) group operations,
   so 256 bits give ~128-bit security, above the ~80 bits of a 1024-bit modulus. Hastad,
   Schrift and Shamir showed that exponents of n/2 bits are provably as good as uniform
   ones if factoring n is hard; pass ``short_exponent_bits=n_length // 2`` for that
   setting (half the speed), or ``secure_obfuscation="full"`` for textbook ``r^n``.
3. Using squares (x^2, not x) keeps the obfuscator's Jacobi symbol at +1, so it does not
   leak the parity of ``a``; it never depended on m, as ``c = obfuscator mod n``.
4. hs and the table stay in the encrypting process (never serialised with the key); each
   party draws its own. The exponents come from ``os.urandom``.
"""
from __future__ import annotations

import functools
import numbers
import os
import threading

import numpy as np

from fate_flow.secureprotol import _kernels, _parallel, _wire
from fate_flow.secureprotol.fixedpoint import (
    FixedPointNumber, common_exponent, decode_value, encode_array, encode_columns,
    minimal_scalar_encoding, signed_mantissa,
)
from fate_flow.secureprotol.gmpy_math import (
    FixedBaseTable, getprimeover, invert, mpz, powmod, to_bytes,
)

DEFAULT_KEY_LENGTH = 1024
SHORT_EXPONENT_BITS = 256
OBFUSCATION_MODES = ("short", "full")
# Batches below these sizes stay in-process: the pool's copy costs a few ms.
POOL_MIN_ENCRYPT = 1000
POOL_MIN_DECRYPT = 200
POOL_MIN_PRODUCTS = 40_000
# Rough number of modular products per (row, column) entry in dot(); only for the
# decision to use the pool.
_PRODUCTS_PER_ENTRY = 8


def generate_keypair(n_length: int = DEFAULT_KEY_LENGTH) -> tuple["PaillierPublicKey", "PaillierPrivateKey"]:
    """Generate a Paillier key pair whose modulus has exactly ``n_length`` bits.

    As in FATE: p and q are ``getprimeover(n_length // 2)``, drawn again until p != q and
    n = p*q has ``n_length`` bits.

    Raises:
        ValueError: ``n_length`` is odd or below 128.
    """
    if n_length < 128 or n_length % 2:
        raise ValueError(f"n_length must be an even number of bits >= 128, got {n_length}")
    while True:
        p = getprimeover(n_length // 2)
        q = getprimeover(n_length // 2)
        if p != q and (p * q).bit_length() == n_length:
            break
    public_key = PaillierPublicKey(p * q)
    return public_key, PaillierPrivateKey(public_key, p, q)


class PaillierPublicKey:
    """Encrypts; n and g = n + 1 are public, and only n crosses parties (``to_bytes``).

    Args:
        n: the modulus.
        secure_obfuscation: ``"short"`` (default; hs^a with a short random exponent, see the
            module docstring) or ``"full"`` (textbook r^n).
        short_exponent_bits: bits of the random exponent a in "short" mode.
    """

    def __init__(self, n: int, secure_obfuscation: str = "short",
                 short_exponent_bits: int = SHORT_EXPONENT_BITS):
        if secure_obfuscation not in OBFUSCATION_MODES:
            raise ValueError(f"secure_obfuscation must be one of {OBFUSCATION_MODES}, "
                             f"got {secure_obfuscation!r}")
        if short_exponent_bits < 128:
            raise ValueError(f"short_exponent_bits below 128 is not safe, got {short_exponent_bits}")
        self.n = mpz(n)
        self.g = self.n + 1
        self.nsquare = self.n * self.n
        self.max_int = self.n // 3 - 1
        self.secure_obfuscation = secure_obfuscation
        self.short_exponent_bits = short_exponent_bits
        self.n_width = (self.n.bit_length() + 7) // 8
        self.ciphertext_width = (self.nsquare.bit_length() + 7) // 8
        self.fingerprint = _wire.fingerprint(self.n)
        self._lock = threading.Lock()
        self._generator = None
        self._table = None

    def __repr__(self) -> str:
        return f"<PaillierPublicKey {self.fingerprint.hex()} ({self.n.bit_length()} bits)>"

    def __eq__(self, other) -> bool:
        return isinstance(other, PaillierPublicKey) and self.n == other.n

    def __hash__(self) -> int:
        return hash(int(self.n))

    def raw_encrypt(self, plaintext: int, r: int | None = None) -> int:
        """Return ``g^plaintext * obfuscator mod n^2`` for an integer plaintext (taken mod n).

        ``r=None`` draws a fresh obfuscator (per ``secure_obfuscation``); ``r=1`` gives the
        deterministic, unobfuscated ``g^m``; any other r uses the textbook ``r^n``.
        g = n + 1, so ``g^m = 1 + n*m mod n^2`` needs no exponentiation.
        """
        m = mpz(plaintext) % self.n
        if r is None:
            obfuscator = self._obfuscators(1)[0]
        elif r == 1:
            return int((1 + self.n * m) % self.nsquare)
        else:
            obfuscator = powmod(mpz(r), self.n, self.nsquare)
        return int(_kernels.encrypt_encodings(self.n, self.nsquare, [m], [obfuscator])[0])

    def encrypt(self, value, precision: float | None = None) -> "EncryptedNumber":
        """Encrypt an int or float (FATE's fixed-point rule), obfuscated.

        Raises:
            OverflowError: the encoded value exceeds ``max_int``.
        """
        encoding = FixedPointNumber.encode(value, self.n, self.max_int, precision)
        ciphertext = self.raw_encrypt(encoding.encoding)
        return EncryptedNumber(self, ciphertext, encoding.exponent, is_obfuscated=True)

    def encrypt_array(self, values, exponent: int | None = None) -> "EncryptedArray":
        """Encrypt a 1-D array with one common exponent, using all cores for big batches.

        Args:
            values: 1-D array-like of ints or floats.
            exponent: the exponent to encode at (values are rounded to its step); by
                default :func:`fixedpoint.common_exponent` of the batch.

        Raises:
            ValueError: not 1-D, or NaN/inf values.
            OverflowError: an encoded value exceeds ``max_int``.
        """
        values = np.asarray(values)
        if values.ndim != 1:
            raise ValueError(f"encrypt_array takes a 1-D array, got shape {values.shape}")
        exponent = common_exponent(values) if exponent is None else int(exponent)
        residues = self._encode_residues(values, exponent)
        return EncryptedArray(self, self._encrypt_residues(residues), exponent, is_obfuscated=True)

    def to_bytes(self) -> bytes:
        """Serialise the public key (only n; obfuscation settings are local choices)."""
        return _wire.dump_ints(_wire.MAGIC_PUBLIC_KEY, [self.n])

    @classmethod
    def from_bytes(cls, data: bytes, **options) -> "PaillierPublicKey":
        """Rebuild a public key from :meth:`to_bytes`; ``options`` go to the constructor.

        Raises:
            ValueError: the data is not a serialised public key.
        """
        (n,) = _wire.load_ints(_wire.MAGIC_PUBLIC_KEY, data, 1, "Paillier public key")
        if n < 3 or n % 2 == 0:
            raise ValueError("not a Paillier modulus: n must be odd and > 2")
        return cls(n, **options)

    def _encode_residues(self, values: np.ndarray, exponent: int) -> list:
        """Fixed-point encodings of a batch at one exponent, reduced mod n."""
        mantissas = encode_array(values, exponent)
        if mantissas and max(map(abs, mantissas)) > self.max_int:
            raise OverflowError(f"a value encoded at exponent {exponent} exceeds max_int")
        n = self.n
        return [m % n for m in mantissas]

    def _encrypt_residues(self, residues: list) -> list:
        if len(residues) >= POOL_MIN_ENCRYPT:
            chunks = [(self._wire_key(), _kernels.pack(residues[a:b], self.n_width),
                       self.n_width, self.ciphertext_width)
                      for a, b in _parallel.split_evenly(len(residues), _parallel.worker_count())]
            packed = _parallel.run_chunks(_parallel.encrypt_chunk, chunks)
            if packed is not None:
                return _kernels.unpack(b"".join(packed), self.ciphertext_width)
        obfuscators = self._obfuscators(len(residues))
        return _kernels.encrypt_encodings(self.n, self.nsquare, residues, obfuscators)

    def _obfuscators(self, count: int) -> list:
        """Return ``count`` fresh obfuscators (n-th residues mod n^2)."""
        if self.secure_obfuscation == "full":
            return _parallel.fresh_obfuscators(self.n, count, "full", None, 0)
        table = self._fixed_base_table()
        return table.pow_many(os.urandom(table.n_bytes * count))

    def _fixed_base_table(self) -> FixedBaseTable:
        with self._lock:
            if self._table is None:
                self._generator = self._random_generator()
                self._table = FixedBaseTable(self._generator, self.nsquare, self.short_exponent_bits)
            return self._table

    def _random_generator(self) -> int:
        """hs = (x^2)^n mod n^2 for a random unit x (see the module docstring)."""
        while True:
            x = mpz(int.from_bytes(os.urandom(self.n_width + 8), "big")) % self.n
            if x > 1:
                try:
                    invert(x, self.n)
                except ZeroDivisionError:
                    continue
                return powmod(x * x % self.n, self.n, self.nsquare)

    def _wire_key(self) -> tuple:
        """What a pool worker needs to make obfuscators: (n, mode, hs, bits) as bytes."""
        if self.secure_obfuscation == "full":
            return to_bytes(self.n, self.n_width), "full", b"", 0
        self._fixed_base_table()
        return (to_bytes(self.n, self.n_width), "short",
                to_bytes(self._generator, self.ciphertext_width), self.short_exponent_bits)


class PaillierPrivateKey:
    """Decrypts with the CRT; holds p < q and the precomputed CRT constants.

    Never sent to another party; ``to_bytes`` exists for storing it locally.

    Raises:
        ValueError: p * q is not the public key's n, or p == q.
    """

    def __init__(self, public_key: PaillierPublicKey, p: int, q: int):
        p, q = mpz(p), mpz(q)
        if p * q != public_key.n:
            raise ValueError("p * q does not equal the public key's n")
        if p == q:
            raise ValueError("p and q must be different primes")
        if q < p:
            p, q = q, p
        self.public_key = public_key
        self.p, self.q = p, q
        self._crt = _parallel.crt_params(p, q)
        _, _, self.psquare, self.qsquare, self.hp, self.hq, self.q_inverse = self._crt

    def __repr__(self) -> str:
        return f"<PaillierPrivateKey for {self.public_key!r}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, PaillierPrivateKey) and (self.p, self.q) == (other.p, other.q)

    def __hash__(self) -> int:
        return hash((int(self.p), int(self.q)))

    def raw_decrypt(self, ciphertext: int) -> int:
        """Return the plaintext in [0, n) of one ciphertext (CRT).

        Raises:
            ValueError: ``ciphertext`` is not an integer in (0, n^2).
        """
        if not isinstance(ciphertext, numbers.Integral):
            raise TypeError(f"ciphertext must be an integer, got {type(ciphertext).__name__}")
        if not 0 < ciphertext < self.public_key.nsquare:
            raise ValueError("ciphertext is outside (0, n^2): not a ciphertext of this key")
        return int(_kernels.crt_decrypt(self._crt, [mpz(ciphertext)])[0])

    def decrypt(self, encrypted: "EncryptedNumber"):
        """Decrypt and decode one number: an int if its exponent is <= 0, else a float.

        Raises:
            TypeError: not an EncryptedNumber (use :meth:`decrypt_array` for arrays).
            ValueError: it was encrypted against a different public key.
            OverflowError: the plaintext overflowed ``max_int`` during the computation.
        """
        if not isinstance(encrypted, EncryptedNumber):
            hint = "; use decrypt_array" if isinstance(encrypted, EncryptedArray) else ""
            raise TypeError(f"expected an EncryptedNumber, got {type(encrypted).__name__}{hint}")
        self._check_key(encrypted.public_key)
        encoding = self.raw_decrypt(encrypted.ciphertext(be_secure=False))
        mantissa = signed_mantissa(encoding, self.public_key.n, self.public_key.max_int)
        return decode_value(mantissa, encrypted.exponent)

    def decrypt_array(self, encrypted: "EncryptedArray") -> np.ndarray:
        """Decrypt an EncryptedArray into a float64 array, using all cores for big ones.

        Raises:
            TypeError: not an EncryptedArray.
            ValueError: it was encrypted against a different public key.
            OverflowError: a plaintext overflowed ``max_int``.
        """
        if not isinstance(encrypted, EncryptedArray):
            raise TypeError(f"expected an EncryptedArray, got {type(encrypted).__name__}")
        self._check_key(encrypted.public_key)
        encodings = self._raw_decrypt_many(encrypted._cts)
        n, max_int = self.public_key.n, self.public_key.max_int
        mantissas = [signed_mantissa(e, n, max_int) for e in encodings]
        return _decode_many(mantissas, encrypted.exponent)

    def to_bytes(self) -> bytes:
        """Serialise p and q for local storage. Keep it secret: this decrypts everything."""
        return _wire.dump_ints(_wire.MAGIC_PRIVATE_KEY, [self.p, self.q])

    @classmethod
    def from_bytes(cls, data: bytes, public_key: PaillierPublicKey | None = None) -> "PaillierPrivateKey":
        """Rebuild a private key from :meth:`to_bytes` (and its public key, built if absent).

        Raises:
            ValueError: the data is not a serialised private key, or does not match ``public_key``.
        """
        p, q = _wire.load_ints(_wire.MAGIC_PRIVATE_KEY, data, 2, "Paillier private key")
        return cls(public_key or PaillierPublicKey(p * q), p, q)

    def _check_key(self, public_key: PaillierPublicKey) -> None:
        if public_key != self.public_key:
            raise ValueError("the ciphertext was encrypted against a different public key")

    def _raw_decrypt_many(self, ciphertexts: list) -> list:
        if len(ciphertexts) >= POOL_MIN_DECRYPT:
            pk = self.public_key
            p_bytes, q_bytes = to_bytes(self.p, pk.n_width), to_bytes(self.q, pk.n_width)
            chunks = [(p_bytes, q_bytes, _kernels.pack(ciphertexts[a:b], pk.ciphertext_width),
                       pk.ciphertext_width, pk.n_width)
                      for a, b in _parallel.split_evenly(len(ciphertexts), _parallel.worker_count())]
            packed = _parallel.run_chunks(_parallel.decrypt_chunk, chunks)
            if packed is not None:
                return _kernels.unpack(b"".join(packed), pk.n_width)
        return _kernels.crt_decrypt(self._crt, ciphertexts)


class EncryptedNumber:
    """One ciphertext and its fixed-point exponent; operators return new EncryptedNumbers.

    Supported: ``+``/``-`` with another EncryptedNumber (exponents aligned) or a scalar,
    ``*`` and ``/`` by a scalar, unary ``-``.
    """

    __array_ufunc__ = None  # numpy defers to our reflected operators

    def __init__(self, public_key: PaillierPublicKey, ciphertext: int, exponent: int = 0,
                 is_obfuscated: bool = False):
        self.public_key = public_key
        self._ciphertext = mpz(ciphertext)
        self.exponent = int(exponent)
        self.is_obfuscated = is_obfuscated

    def __repr__(self) -> str:
        return f"<EncryptedNumber exponent={self.exponent} key={self.public_key.fingerprint.hex()}>"

    def ciphertext(self, be_secure: bool = True) -> int:
        """Return the ciphertext as an int.

        With ``be_secure`` (the default) it is obfuscated first if it is the result of an
        operation: such a ciphertext is a deterministic function of its inputs, so whoever
        knows the inputs' ciphertexts could link it to them. ``be_secure=False`` skips the
        cost (one obfuscator) for ciphertexts that stay in this process.
        """
        if be_secure and not self.is_obfuscated:
            self.obfuscate()
        return int(self._ciphertext)

    def obfuscate(self) -> None:
        """Multiply the ciphertext by a fresh obfuscator (same plaintext, new randomness)."""
        pk = self.public_key
        self._ciphertext = self._ciphertext * pk._obfuscators(1)[0] % pk.nsquare
        self.is_obfuscated = True

    def increase_exponent_to(self, new_exponent: int) -> "EncryptedNumber":
        """Return the same value with a larger exponent (the plaintext times 16^delta).

        Raises:
            ValueError: ``new_exponent`` is below the current exponent.
        """
        if new_exponent < self.exponent:
            raise ValueError(f"new exponent {new_exponent} is below the current {self.exponent}")
        factor = mpz(1) << (4 * (new_exponent - self.exponent))
        return EncryptedNumber(self.public_key, self._raw_mul(factor), new_exponent)

    def __add__(self, other):
        if isinstance(other, EncryptedNumber):
            return self._add_encrypted(other)
        if isinstance(other, FixedPointNumber):
            return self._add_encoded(other)
        if _is_scalar(other):
            pk = self.public_key
            return self._add_encoded(FixedPointNumber.encode(other, pk.n, pk.max_int,
                                                             max_exponent=self.exponent))
        return NotImplemented

    def __radd__(self, other):
        return self.__add__(other)

    def __sub__(self, other):
        if isinstance(other, EncryptedNumber):
            return self._add_encrypted(-other)
        if _is_scalar(other):
            return self + (-other)
        return NotImplemented

    def __rsub__(self, other):
        if _is_scalar(other):
            return (-self) + other
        return NotImplemented

    def __neg__(self):
        return self * -1

    def __mul__(self, other):
        if isinstance(other, (EncryptedNumber, EncryptedArray)):
            raise TypeError("Paillier cannot multiply two ciphertexts; multiply by a plaintext")
        if isinstance(other, FixedPointNumber):
            encoding = other
        elif _is_scalar(other):
            pk = self.public_key
            encoding = FixedPointNumber.encode(other, pk.n, pk.max_int)
        else:
            return NotImplemented
        ciphertext = self._raw_mul(encoding.mantissa())
        return EncryptedNumber(self.public_key, ciphertext, self.exponent + encoding.exponent)

    def __rmul__(self, other):
        return self.__mul__(other)

    def __truediv__(self, scalar):
        if not _is_scalar(scalar):
            return NotImplemented
        return self * (1 / scalar)

    def to_bytes(self, be_secure: bool = True) -> bytes:
        """Serialise (obfuscated first, unless ``be_secure=False``) for the federation codec."""
        pk = self.public_key
        return _wire.dump_ciphertexts(_wire.MAGIC_NUMBER, pk.fingerprint, self.exponent,
                                      [self.ciphertext(be_secure)], pk.ciphertext_width)

    @classmethod
    def from_bytes(cls, public_key: PaillierPublicKey, data: bytes) -> "EncryptedNumber":
        """Rebuild from :meth:`to_bytes` under ``public_key``.

        Raises:
            ValueError: malformed data, or encrypted against a different public key.
        """
        exponent, ciphertexts = _wire.load_ciphertexts(
            _wire.MAGIC_NUMBER, data, public_key.fingerprint, public_key.ciphertext_width,
            public_key.nsquare, "encrypted number")
        if len(ciphertexts) != 1:
            raise ValueError(f"an encrypted number holds 1 ciphertext, got {len(ciphertexts)}")
        return cls(public_key, ciphertexts[0], exponent)

    def _raw_mul(self, plaintext: int):
        """Ciphertext of plaintext * self (an integer, negative via the modular inverse)."""
        nsquare = self.public_key.nsquare
        if plaintext < 0:
            return powmod(invert(self._ciphertext, nsquare), -plaintext, nsquare)
        return powmod(self._ciphertext, plaintext, nsquare)

    def _raw_add(self, c1: int, c2: int):
        """Ciphertext of the sum of the plaintexts of two ciphertexts."""
        return c1 * c2 % self.public_key.nsquare

    def _add_encrypted(self, other: "EncryptedNumber") -> "EncryptedNumber":
        _check_same_key(self.public_key, other.public_key)
        a, b = self, other
        if a.exponent < b.exponent:
            a = a.increase_exponent_to(b.exponent)
        elif b.exponent < a.exponent:
            b = b.increase_exponent_to(a.exponent)
        return EncryptedNumber(self.public_key, a._raw_add(a._ciphertext, b._ciphertext), a.exponent)

    def _add_encoded(self, encoded: FixedPointNumber) -> "EncryptedNumber":
        pk = self.public_key
        if encoded.n != pk.n:
            raise ValueError("the fixed-point number was encoded with a different modulus")
        base = self
        if encoded.exponent > self.exponent:
            base = self.increase_exponent_to(encoded.exponent)
        elif encoded.exponent < self.exponent:
            encoded = encoded.increase_exponent_to(self.exponent)
        ciphertext = _kernels.add_encodings(pk.n, pk.nsquare, [base._ciphertext], [encoded.encoding])[0]
        return EncryptedNumber(pk, ciphertext, base.exponent)


class EncryptedArray:
    """Many ciphertexts under one key with ONE common exponent (1-D).

    Operators: ``+``/``-`` with another EncryptedArray, an EncryptedNumber, a scalar or a
    numpy array of the same length; ``*``/``/`` by a scalar or elementwise by an array;
    :meth:`dot` for ``X^T . [[self]]``; :meth:`sum`. Indexing gives EncryptedNumbers
    (int index) or EncryptedArrays (slice, index array, boolean mask).
    """

    __array_ufunc__ = None  # numpy defers to our reflected operators

    def __init__(self, public_key: PaillierPublicKey, ciphertexts, exponent: int = 0,
                 is_obfuscated: bool = False):
        self.public_key = public_key
        self._cts = [mpz(c) for c in ciphertexts]
        self.exponent = int(exponent)
        self.is_obfuscated = is_obfuscated

    def __repr__(self) -> str:
        return (f"<EncryptedArray len={len(self._cts)} exponent={self.exponent} "
                f"key={self.public_key.fingerprint.hex()}>")

    def __len__(self) -> int:
        return len(self._cts)

    @property
    def shape(self) -> tuple:
        return (len(self._cts),)

    def __iter__(self):
        for c in self._cts:
            yield EncryptedNumber(self.public_key, c, self.exponent, self.is_obfuscated)

    def __getitem__(self, index):
        if isinstance(index, (numbers.Integral, np.integer)):
            return EncryptedNumber(self.public_key, self._cts[index], self.exponent, self.is_obfuscated)
        if isinstance(index, slice):
            picked = self._cts[index]
        else:
            positions = np.asarray(index)
            if positions.dtype == bool:
                if positions.shape != (len(self),):
                    raise IndexError(f"boolean mask of shape {positions.shape} for length {len(self)}")
                positions = np.flatnonzero(positions)
            picked = [self._cts[i] for i in positions.astype(np.int64).tolist()]
        return EncryptedArray(self.public_key, picked, self.exponent, self.is_obfuscated)

    @classmethod
    def from_numbers(cls, numbers_: list) -> "EncryptedArray":
        """Collect EncryptedNumbers (same key) into an array, aligning their exponents.

        Raises:
            ValueError: empty list, or numbers under different public keys.
        """
        if not numbers_:
            raise ValueError("from_numbers needs at least one EncryptedNumber")
        public_key = numbers_[0].public_key
        for number in numbers_:
            _check_same_key(public_key, number.public_key)
        exponent = max(number.exponent for number in numbers_)
        aligned = [x if x.exponent == exponent else x.increase_exponent_to(exponent) for x in numbers_]
        obfuscated = all(x.is_obfuscated for x in aligned)
        return cls(public_key, [x._ciphertext for x in aligned], exponent, obfuscated)

    def ciphertexts(self, be_secure: bool = True) -> list:
        """Return the ciphertexts as ints, obfuscated first unless ``be_secure=False``."""
        if be_secure and not self.is_obfuscated:
            self.obfuscate()
        return [int(c) for c in self._cts]

    def obfuscate(self) -> None:
        """Multiply every ciphertext by a fresh obfuscator (in place; pool for big arrays)."""
        pk = self.public_key
        packed = None
        if len(self._cts) >= POOL_MIN_ENCRYPT:
            width = pk.ciphertext_width
            chunks = [(pk._wire_key(), _kernels.pack(self._cts[a:b], width), width)
                      for a, b in _parallel.split_evenly(len(self._cts), _parallel.worker_count())]
            packed = _parallel.run_chunks(_parallel.obfuscate_chunk, chunks)
        if packed is not None:
            self._cts = _kernels.unpack(b"".join(packed), pk.ciphertext_width)
        else:
            self._cts = _kernels.multiply_pairs(pk.nsquare, self._cts, pk._obfuscators(len(self._cts)))
        self.is_obfuscated = True

    def increase_exponent_to(self, new_exponent: int) -> "EncryptedArray":
        """Return the same values with a larger exponent (each plaintext times 16^delta).

        Raises:
            ValueError: ``new_exponent`` is below the current exponent.
        """
        if new_exponent < self.exponent:
            raise ValueError(f"new exponent {new_exponent} is below the current {self.exponent}")
        if new_exponent == self.exponent:
            return EncryptedArray(self.public_key, self._cts, self.exponent)
        factor = mpz(1) << (4 * (new_exponent - self.exponent))
        return EncryptedArray(self.public_key, _kernels.raise_all(self.public_key.nsquare, self._cts, factor),
                              new_exponent)

    def __add__(self, other):
        if isinstance(other, EncryptedArray):
            return self._add_encrypted(other)
        if isinstance(other, EncryptedNumber):
            return self._add_encrypted(EncryptedArray(other.public_key, [other._ciphertext] * len(self),
                                                      other.exponent))
        if _is_scalar(other) or isinstance(other, (np.ndarray, list, tuple)):
            return self._add_plain(other)
        return NotImplemented

    def __radd__(self, other):
        return self.__add__(other)

    def __sub__(self, other):
        if isinstance(other, (EncryptedArray, EncryptedNumber)):
            return self + (-other)
        if _is_scalar(other) or isinstance(other, (np.ndarray, list, tuple)):
            return self._add_plain(-np.asarray(other))
        return NotImplemented

    def __rsub__(self, other):
        if _is_scalar(other) or isinstance(other, (np.ndarray, list, tuple)):
            return (-self)._add_plain(other)
        return NotImplemented

    def __neg__(self):
        return self * -1

    def __mul__(self, other):
        if isinstance(other, (EncryptedArray, EncryptedNumber)):
            raise TypeError("Paillier cannot multiply two ciphertexts; multiply by a plaintext")
        if _is_scalar(other):
            return self._mul_scalar(other)
        if isinstance(other, (np.ndarray, list, tuple)):
            return self._mul_elementwise(other)
        return NotImplemented

    def __rmul__(self, other):
        return self.__mul__(other)

    def __truediv__(self, other):
        if _is_scalar(other):
            return self._mul_scalar(1 / other)
        if isinstance(other, (np.ndarray, list, tuple)):
            return self._mul_elementwise(1.0 / np.asarray(other, dtype=np.float64))
        return NotImplemented

    def sum(self) -> EncryptedNumber:
        """Return the encrypted sum of all values (an empty array sums to Enc(0))."""
        nsquare = self.public_key.nsquare
        total = functools.reduce(lambda a, b: a * b % nsquare, self._cts, mpz(1))
        return EncryptedNumber(self.public_key, total, self.exponent)

    def dot(self, matrix) -> "EncryptedArray | EncryptedNumber":
        """Return ``matrix^T . self``: one encrypted sum ``sum_i x_ij * d_i`` per column j.

        This is HeteroLR's gradient step ``X^T . [[d]]``. Each column is encoded with one
        exponent from its largest magnitude (53 significant bits for it, exact for ints
        and short binary fractions; see :mod:`fixedpoint`); negative entries raise the
        inverse of the ciphertext; each column is one multi-exponentiation (bucket method),
        and big jobs are split over the pool.

        Args:
            matrix: ``(len(self), F)`` array, scipy sparse matrix, or a 1-D vector of
                ``len(self)`` (then the result is a single EncryptedNumber).

        Returns:
            EncryptedArray of F values (or an EncryptedNumber), not obfuscated.

        Raises:
            ValueError: the number of rows differs from ``len(self)``, or NaN/inf entries.
        """
        columns, row_index, n_rows, is_vector = _matrix_columns(matrix)
        if n_rows != len(self):
            raise ValueError(f"matrix has {n_rows} rows but the encrypted array has {len(self)} values")
        mantissas, exponent, shifts = encode_columns(columns)
        specs = []
        for j, column in enumerate(mantissas):
            nonzero = np.flatnonzero(column)
            rows = nonzero if row_index is None else row_index[j][nonzero]
            specs.append((rows.astype(np.int64), column[nonzero]))
        nsquare = self.public_key.nsquare
        products = self._multiexp(specs)
        results = [powmod(p, mpz(1) << int(s), nsquare) if s else p for p, s in zip(products, shifts)]
        out = EncryptedArray(self.public_key, results, self.exponent + exponent)
        return out[0] if is_vector else out

    def to_bytes(self, be_secure: bool = True) -> bytes:
        """Serialise for the federation codec: obfuscated first unless ``be_secure=False``."""
        pk = self.public_key
        return _wire.dump_ciphertexts(_wire.MAGIC_ARRAY, pk.fingerprint, self.exponent,
                                      self._secure_cts(be_secure), pk.ciphertext_width)

    @classmethod
    def from_bytes(cls, public_key: PaillierPublicKey, data: bytes) -> "EncryptedArray":
        """Rebuild from :meth:`to_bytes` under ``public_key``.

        Raises:
            ValueError: malformed data, or encrypted against a different public key.
        """
        exponent, ciphertexts = _wire.load_ciphertexts(
            _wire.MAGIC_ARRAY, data, public_key.fingerprint, public_key.ciphertext_width,
            public_key.nsquare, "encrypted array")
        return cls(public_key, ciphertexts, exponent)

    def _secure_cts(self, be_secure: bool) -> list:
        if be_secure and not self.is_obfuscated:
            self.obfuscate()
        return self._cts

    def _add_encrypted(self, other: "EncryptedArray") -> "EncryptedArray":
        _check_same_key(self.public_key, other.public_key)
        if len(other) != len(self):
            raise ValueError(f"cannot add encrypted arrays of lengths {len(self)} and {len(other)}")
        a, b = self, other
        if a.exponent < b.exponent:
            a = a.increase_exponent_to(b.exponent)
        elif b.exponent < a.exponent:
            b = b.increase_exponent_to(a.exponent)
        return EncryptedArray(self.public_key, _kernels.multiply_pairs(self.public_key.nsquare, a._cts, b._cts),
                              a.exponent)

    def _add_plain(self, values) -> "EncryptedArray":
        plain = self._as_plain(values)
        exponent = max(self.exponent, common_exponent(plain))
        base = self.increase_exponent_to(exponent) if exponent > self.exponent else self
        pk = self.public_key
        residues = pk._encode_residues(plain, exponent)
        return EncryptedArray(pk, _kernels.add_encodings(pk.n, pk.nsquare, base._cts, residues), exponent)

    def _mul_scalar(self, scalar) -> "EncryptedArray":
        mantissa, exponent = minimal_scalar_encoding(scalar)
        pk = self.public_key
        if abs(mantissa) > pk.max_int:
            raise OverflowError(f"scalar {scalar!r} exceeds max_int once encoded")
        if mantissa >= 0:
            cts = _kernels.raise_all(pk.nsquare, self._cts, mantissa)
        else:
            cts = _kernels.raise_each(pk.nsquare, self._cts, [mantissa] * len(self._cts))
        return EncryptedArray(pk, cts, self.exponent + exponent)

    def _mul_elementwise(self, values) -> "EncryptedArray":
        plain = self._as_plain(values)
        exponent = common_exponent(plain)
        pk = self.public_key
        mantissas = encode_array(plain, exponent)
        if mantissas and max(map(abs, mantissas)) > pk.max_int:
            raise OverflowError(f"a multiplier encoded at exponent {exponent} exceeds max_int")
        return EncryptedArray(pk, _kernels.raise_each(pk.nsquare, self._cts, mantissas), self.exponent + exponent)

    def _as_plain(self, values) -> np.ndarray:
        plain = np.asarray(values)
        if plain.ndim == 0:
            plain = np.full(len(self), plain.item())
        if plain.shape != (len(self),):
            raise ValueError(f"plaintext of shape {plain.shape} does not match encrypted length {len(self)}")
        return plain

    def _multiexp(self, specs: list) -> list:
        """Products per column spec ``(rows, signed mantissas)``, on the pool when big."""
        pk = self.public_key
        entries = sum(len(rows) for rows, _ in specs)
        workers = _parallel.worker_count()
        if entries * _PRODUCTS_PER_ENTRY >= POOL_MIN_PRODUCTS and workers > 1:
            if len(specs) >= workers:
                products = self._multiexp_by_columns(specs, workers)
            else:
                products = self._multiexp_by_rows(specs, workers)
            if products is not None:
                return products
        return _kernels.multiexp_columns(self._cts, pk.nsquare, specs)

    def _multiexp_by_columns(self, specs: list, workers: int) -> list | None:
        pk = self.public_key
        width, packed_cts = pk.ciphertext_width, _kernels.pack(self._cts, pk.ciphertext_width)
        groups = _balanced_groups([len(rows) for rows, _ in specs], workers)
        nsquare_bytes = to_bytes(pk.nsquare, width)
        chunks = [(nsquare_bytes, packed_cts, width, [specs[j] for j in group]) for group in groups]
        packed = _parallel.run_chunks(_parallel.multiexp_chunk, chunks)
        if packed is None:
            return None
        products = [None] * len(specs)
        for group, data in zip(groups, packed):
            for j, value in zip(group, _kernels.unpack(data, width)):
                products[j] = value
        return products

    def _multiexp_by_rows(self, specs: list, workers: int) -> list | None:
        pk = self.public_key
        width, nsquare = pk.ciphertext_width, pk.nsquare
        chunks = []
        for start, stop in _parallel.split_evenly(len(self._cts), workers):
            local = []
            for rows, values in specs:
                inside = (rows >= start) & (rows < stop)
                local.append((rows[inside] - start, values[inside]))
            chunks.append((to_bytes(nsquare, width), _kernels.pack(self._cts[start:stop], width), width, local))
        packed = _parallel.run_chunks(_parallel.multiexp_chunk, chunks)
        if packed is None:
            return None
        products = [mpz(1)] * len(specs)
        for data in packed:
            products = _kernels.multiply_pairs(nsquare, products, _kernels.unpack(data, width))
        return products


def _matrix_columns(matrix) -> tuple[list, list | None, int, bool]:
    """Split a dense or scipy-sparse matrix (or a vector) into column value arrays.

    Returns ``(columns, row_index, n_rows, is_vector)``; ``row_index`` is None for dense
    input (column arrays are full length) or the row numbers of each sparse column's values.
    """
    if hasattr(matrix, "tocsc"):
        csc = matrix.tocsc()
        n_rows, n_cols = csc.shape
        columns, row_index = [], []
        for j in range(n_cols):
            start, stop = csc.indptr[j], csc.indptr[j + 1]
            columns.append(np.asarray(csc.data[start:stop]))
            row_index.append(np.asarray(csc.indices[start:stop], dtype=np.int64))
        return columns, row_index, n_rows, False
    array = np.asarray(matrix)
    is_vector = array.ndim == 1
    if is_vector:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"dot takes a 1-D or 2-D matrix, got shape {array.shape}")
    return [array[:, j] for j in range(array.shape[1])], None, array.shape[0], is_vector


def _balanced_groups(sizes: list, parts: int) -> list:
    """Split indices into ``parts`` groups of similar total size (largest first, greedy)."""
    groups = [[] for _ in range(parts)]
    loads = [0] * parts
    for j in sorted(range(len(sizes)), key=lambda k: -sizes[k]):
        target = loads.index(min(loads))
        groups[target].append(j)
        loads[target] += sizes[j]
    return [sorted(group) for group in groups if group]


def _decode_many(mantissas: list, exponent: int) -> np.ndarray:
    """Values ``m * 16^-exponent`` as float64, correctly rounded."""
    if not mantissas:
        return np.zeros(0)
    if max(abs(m) for m in mantissas).bit_length() <= 53:
        # Exact in float64, and ldexp by a power of two rounds once.
        return np.ldexp(np.array(mantissas, dtype=np.float64), -4 * exponent)
    return np.array([float(decode_value(m, exponent)) for m in mantissas], dtype=np.float64)


def _check_same_key(a: PaillierPublicKey, b: PaillierPublicKey) -> None:
    if a != b:
        raise ValueError("the ciphertexts were encrypted against different public keys")


def _is_scalar(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, np.ndarray)
