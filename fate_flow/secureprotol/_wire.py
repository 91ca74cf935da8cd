"""Byte layouts of Paillier keys and ciphertexts for the federation codec (never pickle).

Keys: a 4-byte magic, then each integer as a 2-byte big-endian length and its big-endian
bytes. Ciphertexts: a fixed header ``magic, key fingerprint (8 bytes), exponent (int32),
count (uint32), width (uint32)`` followed by ``count`` fields of ``width`` big-endian bytes.
The fingerprint (first 8 bytes of SHA-256 over n) lets the receiver refuse ciphertexts
made under another key with a clear message instead of decrypting garbage.
"""
from __future__ import annotations

import hashlib
import struct

from fate_flow.secureprotol import _kernels

MAGIC_PUBLIC_KEY = b"PPK1"
MAGIC_PRIVATE_KEY = b"PSK1"
MAGIC_ARRAY = b"PEA1"
MAGIC_NUMBER = b"PEN1"

_LENGTH = struct.Struct(">H")
_HEADER = struct.Struct(">4s8siII")


def fingerprint(n: int) -> bytes:
    """Return 8 bytes identifying the public key with modulus n."""
    return hashlib.sha256(b"paillier-n:" + int(n).to_bytes((n.bit_length() + 7) // 8, "big")).digest()[:8]


def dump_ints(magic: bytes, values: list) -> bytes:
    """Serialise non-negative integers after a magic tag."""
    parts = [magic]
    for value in values:
        raw = int(value).to_bytes((value.bit_length() + 7) // 8 or 1, "big")
        parts += [_LENGTH.pack(len(raw)), raw]
    return b"".join(parts)


def load_ints(magic: bytes, data: bytes, count: int, what: str) -> list:
    """Read ``count`` integers written by :func:`dump_ints`.

    Raises:
        ValueError: wrong magic, truncated data or trailing bytes (``what`` names the object).
    """
    data = bytes(data)
    if data[:4] != magic:
        raise ValueError(f"not a serialised {what} (bad magic {data[:4]!r})")
    values, offset = [], 4
    for _ in range(count):
        if offset + 2 > len(data):
            raise ValueError(f"truncated {what}")
        (size,) = _LENGTH.unpack_from(data, offset)
        offset += 2
        if offset + size > len(data):
            raise ValueError(f"truncated {what}")
        values.append(int.from_bytes(data[offset:offset + size], "big"))
        offset += size
    if offset != len(data):
        raise ValueError(f"{len(data) - offset} unexpected trailing bytes after the {what}")
    return values


def dump_ciphertexts(magic: bytes, key_fingerprint: bytes, exponent: int, ciphertexts: list,
                     width: int) -> bytes:
    """Serialise ciphertexts (already obfuscated by the caller) with their exponent."""
    header = _HEADER.pack(magic, key_fingerprint, exponent, len(ciphertexts), width)
    return header + _kernels.pack(ciphertexts, width)


def load_ciphertexts(magic: bytes, data: bytes, key_fingerprint: bytes, width: int,
                     nsquare: int, what: str) -> tuple[int, list]:
    """Read ``(exponent, ciphertexts)`` written by :func:`dump_ciphertexts`.

    Raises:
        ValueError: wrong magic, another key's fingerprint, wrong width or length, or a
            value outside ``(0, n^2)``.
    """
    data = bytes(data)
    if len(data) < _HEADER.size or data[:4] != magic:
        raise ValueError(f"not a serialised {what} (bad magic {data[:4]!r})")
    _, sender_key, exponent, count, sent_width = _HEADER.unpack_from(data)
    if sender_key != key_fingerprint:
        raise ValueError(f"the {what} was encrypted against a different public key "
                         f"(fingerprint {sender_key.hex()}, ours {key_fingerprint.hex()})")
    if sent_width != width:
        raise ValueError(f"{what} fields are {sent_width} bytes wide, this key needs {width}")
    if len(data) != _HEADER.size + count * width:
        raise ValueError(f"{what} should hold {count} values of {width} bytes, got "
                         f"{len(data) - _HEADER.size} bytes")
    ciphertexts = _kernels.unpack(data[_HEADER.size:], width)
    if any(not 0 < c < nsquare for c in ciphertexts):
        raise ValueError(f"{what} holds a value outside (0, n^2): not a ciphertext of this key")
    return exponent, ciphertexts
