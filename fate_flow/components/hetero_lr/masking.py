"""Additive masks that let the arbiter decrypt a party's gradient without learning it.

A party adds a uniformly random ``r_i`` in [0, n) to each encrypted fixed-point sum, the
arbiter decrypts ``(m_i + r_i) mod n`` (a one-time pad modulo n: it says nothing about
``m_i``) and returns it, and only the party, which knows ``r_i``, recovers ``m_i`` exactly.
Masks are added at the integer level, not as floats, so no precision is lost.
"""
from __future__ import annotations

import secrets

import numpy as np

from fate_flow.secureprotol import EncryptedArray, PaillierPrivateKey
from fate_flow.secureprotol.fixedpoint import decode_value, signed_mantissa


class MaskedSums:
    """An encrypted array with a fresh random mask on each value, and what removes it.

    Args:
        encrypted: the values to hide from the key holder (e.g. ``[[X^T d]]``).
    """

    def __init__(self, encrypted: EncryptedArray) -> None:
        public_key = encrypted.public_key
        n = int(public_key.n)
        self._masks = [secrets.randbelow(n) for _ in range(len(encrypted))]
        # g^r with no obfuscator; to_bytes() obfuscates the sum before it is sent.
        pads = EncryptedArray(public_key, [public_key.raw_encrypt(r, r=1) for r in self._masks],
                              encrypted.exponent)
        self._public_key = public_key
        self._exponent = encrypted.exponent
        self.masked = encrypted + pads

    def to_bytes(self) -> bytes:
        """The masked ciphertexts, obfuscated, for the arbiter."""
        return self.masked.to_bytes()

    def unmask(self, decrypted: list) -> np.ndarray:
        """The true values from the arbiter's decryptions of :meth:`to_bytes`.

        Raises:
            ValueError: the answer has the wrong length or holds something other than
                integers in [0, n).
        """
        n, max_int = int(self._public_key.n), int(self._public_key.max_int)
        if not isinstance(decrypted, list) or len(decrypted) != len(self._masks):
            raise ValueError(f"expected {len(self._masks)} decrypted values from the arbiter, "
                             f"got {type(decrypted).__name__} of {len(decrypted) if hasattr(decrypted, '__len__') else '?'}")
        values = []
        for plain, mask in zip(decrypted, self._masks):
            if isinstance(plain, bool) or not isinstance(plain, int) or not 0 <= plain < n:
                raise ValueError("a decrypted value from the arbiter is not an integer in [0, n)")
            values.append(decode_value(signed_mantissa((plain - mask) % n, n, max_int), self._exponent))
        return np.array(values, dtype=np.float64)


def decrypt_masked(private_key: PaillierPrivateKey, data: bytes) -> list:
    """The arbiter's side: decrypt masked ciphertexts to their integers mod n (never decoded).

    Raises:
        ValueError: ``data`` is not an encrypted array under this key.
    """
    encrypted = EncryptedArray.from_bytes(private_key.public_key, data)
    return [private_key.raw_decrypt(c) for c in encrypted.ciphertexts(be_secure=False)]
