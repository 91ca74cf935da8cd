"""Gradient and hessian packed into ONE Paillier plaintext, and many split sums into one ciphertext.

Per row the guest encodes ``(g_int << field_bits) | h_int`` with ``g_int = round(g 2^Pg) + offset_g``
(likewise h), offsets that make every value non-negative, so that homomorphic sums of rows are sums
of both fields at once with no carry between them: ``field_bits`` leaves room for the sum of every
row. One encryption, one homomorphic product per (row, feature) and one decryption then serve both
g and h. The sums are decoded exactly in integers: ``G = (G_int - count offset_g) / 2^Pg``; the host
sends each sum's row count in the clear (FATE's split infos carry sample_count too).

Compression: a plaintext of ``pair_bits`` fits ``(key bits - 2) // pair_bits`` times in one
ciphertext; the host folds k sums as ``c = c^(2^pair_bits) * c_next`` (Horner), so the guest
decrypts one ciphertext per k split sums (about 7-12 at 1024 bits).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fate_flow.secureprotol.gmpy_math import mpz, powmod

# fixed-point bits of one row's (offset) value: 2^-19 of the largest |g| is far below what changes a
# split's rank (leaf weights use the guest's exact sums), and fewer bits pack more sums per ciphertext
VALUE_BITS = 20


@dataclass(frozen=True)
class GHPacker:
    """The fixed-point layout of one tree's packed (g, h); only ``pair_bits`` is sent to hosts."""

    g_bits: int
    h_bits: int
    g_offset: int
    h_offset: int
    field_bits: int

    @property
    def pair_bits(self) -> int:
        return 2 * self.field_bits

    @classmethod
    def for_values(cls, g: np.ndarray, h: np.ndarray, n_rows: int) -> "GHPacker":
        """The layout for these values, with room for sums of ``n_rows`` rows."""
        g_bits, g_offset = _scale(g)
        h_bits, h_offset = _scale(h)
        return cls(g_bits, h_bits, g_offset, h_offset, VALUE_BITS + 2 + max(int(n_rows), 1).bit_length())

    def pack(self, g: np.ndarray, h: np.ndarray) -> list[int]:
        """The packed plaintext of every row."""
        gi = (np.rint(np.ldexp(g, self.g_bits)).astype(np.int64) + self.g_offset).tolist()
        hi = (np.rint(np.ldexp(h, self.h_bits)).astype(np.int64) + self.h_offset).tolist()
        shift = self.field_bits
        return [(a << shift) | b for a, b in zip(gi, hi)]

    def unpack(self, sums: list[int], counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(G, H) of packed sums over ``counts`` rows each."""
        mask = (1 << self.field_bits) - 1
        g_sums, h_sums = [], []
        for value, count in zip(sums, np.asarray(counts).tolist()):
            value = int(value)
            g_sums.append((value >> self.field_bits) - count * self.g_offset)
            h_sums.append((value & mask) - count * self.h_offset)
        return _descale(g_sums, self.g_bits), _descale(h_sums, self.h_bits)

    def per_ciphertext(self, key_bits: int) -> int:
        return max(1, (key_bits - 2) // self.pair_bits)


def _scale(values: np.ndarray) -> tuple[int, int]:
    """(fraction bits, integer offset): ``round(v 2^bits) + offset`` is in [0, 2^VALUE_BITS] for every v."""
    values = np.asarray(values, dtype=np.float64)
    if values.size and not np.all(np.isfinite(values)):
        raise ValueError("a gradient or hessian is not finite: the objective diverged (lower learning_rate)")
    span = float(np.max(np.abs(values))) if values.size else 0.0
    bits = VALUE_BITS - 1 - max(int(np.ceil(np.log2(span))) if span > 0 else 0, -200)
    low = float(np.min(values)) if values.size else 0.0
    return bits, max(0, -int(np.floor(np.ldexp(low, bits))))


def _descale(sums: list[int], bits: int) -> np.ndarray:
    return np.array([s / (1 << bits) if bits >= 0 else float(s << -bits) for s in sums], dtype=np.float64)


def compress(ciphertexts: list, pair_bits: int, per_ciphertext: int, nsquare: int) -> list:
    """Fold consecutive groups of ``per_ciphertext`` ciphertexts into one each (the last group may be short)."""
    shift = mpz(1) << pair_bits
    nsquare = mpz(nsquare)
    out = []
    for start in range(0, len(ciphertexts), per_ciphertext):
        group = ciphertexts[start:start + per_ciphertext]
        acc = mpz(group[0])
        for c in group[1:]:
            acc = powmod(acc, shift, nsquare) * c % nsquare
        out.append(acc)
    return out


def compress_groups(groups: list[list], pair_bits: int, per_ciphertext: int, nsquare: int) -> list[list]:
    """``compress`` of several ciphertext lists, spread over the Paillier worker processes (both cores): the
    squarings of the folds are the host's main cost."""
    from fate_flow.secureprotol import _parallel

    sizes = [len(g) for g in groups]
    workers = _parallel.worker_count()
    if workers > 1 and sum(sizes) >= 4 * per_ciphertext * workers:
        chunks = [(groups[a:b], pair_bits, per_ciphertext, int(nsquare)) for a, b in _balanced(sizes, workers)]
        done = _parallel.run_chunks(_compress_chunk, chunks)
        if done is not None:
            return [folded for part in done for folded in part]
    return _compress_chunk(groups, pair_bits, per_ciphertext, nsquare)


def _compress_chunk(groups: list[list], pair_bits: int, per_ciphertext: int, nsquare: int) -> list[list]:
    return [compress(g, pair_bits, per_ciphertext, nsquare) if g else [] for g in groups]


def _balanced(sizes: list[int], parts: int) -> list[tuple[int, int]]:
    """Consecutive (start, stop) ranges of ``sizes`` with about equal totals."""
    total, bounds, acc = sum(sizes), [0], 0
    for i, size in enumerate(sizes):
        acc += size
        if len(bounds) < parts and acc >= total * len(bounds) / parts:
            bounds.append(i + 1)
    if bounds[-1] != len(sizes):
        bounds.append(len(sizes))
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def decompress(plaintexts: list[int], total: int, pair_bits: int, per_ciphertext: int) -> list[int]:
    """The ``total`` packed sums held by the compressed plaintexts, in their original order."""
    mask = (1 << pair_bits) - 1
    out = []
    for index, value in enumerate(plaintexts):
        size = min(per_ciphertext, total - index * per_ciphertext)
        value = int(value)
        group = []
        for _ in range(size):
            group.append(value & mask)
            value >>= pair_bits
        out.extend(reversed(group))
    return out
