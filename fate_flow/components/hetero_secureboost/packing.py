"""Gradient and hessian packed into ONE Paillier plaintext, and many split sums into one ciphertext.

Per row the guest encodes ``(g_int << field_bits) | h_int`` with ``g_int = round(g 2^Pg) + offset_g``
(likewise h), offsets that make every value non-negative, so that homomorphic sums of rows are sums
of both fields at once with no carry between them: ``field_bits`` leaves room for the sum of every
row. One encryption, one homomorphic product per (row, feature) and one decryption then serve both
g and h. The sums are decoded exactly in integers: ``G = (G_int - count offset_g) / 2^Pg``; the host
sends each sum's row count in the clear (FATE's split infos carry sample_count too).

Compression: the host folds the non-empty sums of a node many to a ciphertext by Horner's rule,
``c = c^(2^w) * c_next`` (``w`` the width of the next sum), so the guest decrypts one ciphertext per
many split sums. Each fold costs ``w`` squarings modulo n^2 (the host's main cost), so every sum gets
only the bits its row count needs: a row's value is at most ``2^VALUE_BITS``, so a sum of ``count``
rows is below ``2^(VALUE_BITS + bitlen(count))`` and the packed pair below ``2^(field_bits +
VALUE_BITS + bitlen(count))`` (``entry_bits``; ``field_bits = VALUE_BITS + bitlen(rows)`` holds the
h sum of every row). Sums of few rows, the bulk of a deep tree, fold cheaper and more to a ciphertext.
The guest knows every count, so both sides agree on the layout (``fold_bounds``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fate_flow.secureprotol.gmpy_math import mpz, powmod

# fixed-point bits of one row's (offset) value: 2^-15 of the largest |g| is far below what changes a
# split's rank (leaf weights use the guest's exact sums), and every bit less is a squaring less per
# folded sum on the host and packs more sums per ciphertext
VALUE_BITS = 16


@dataclass(frozen=True)
class GHPacker:
    """The fixed-point layout of one tree's packed (g, h); only ``wire_layout`` (field and value bits) goes to
    hosts."""

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
        return cls(g_bits, h_bits, g_offset, h_offset, VALUE_BITS + max(int(n_rows), 1).bit_length())

    @classmethod
    def for_parts(cls, g_parts: list, h_parts: list) -> "GHPacker":
        """``for_values`` of the partitions' values together, from each partition's extremes."""
        def extremes(parts: list) -> np.ndarray:
            return np.array([x for p in parts if len(p) for x in (float(np.min(p)), float(np.max(p)))])

        for parts in (g_parts, h_parts):  # a NaN or inf would hide in the extremes
            if not all(np.all(np.isfinite(p)) for p in parts):
                _scale(np.array([np.nan]))
        return cls.for_values(extremes(g_parts), extremes(h_parts), sum(len(p) for p in g_parts))

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

    def wire_layout(self) -> dict:
        """What a host needs to fold the sums: the bits of the h field and of one row's value."""
        return {"field_bits": self.field_bits, "value_bits": VALUE_BITS}


def fold_capacity(key_bits: int) -> int:
    """Plaintext bits one ciphertext holds with room to spare (below n)."""
    return key_bits - 2


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


def entry_bits(counts, field_bits: int, value_bits: int = VALUE_BITS) -> list[int]:
    """The bits a packed sum of ``count`` rows may take, for each count (see the module docstring)."""
    return [field_bits + value_bits + int(c).bit_length() for c in np.asarray(counts).tolist()]


def fold_bounds(widths: list[int], capacity: int) -> list[tuple[int, int]]:
    """Consecutive (start, stop) runs of sums whose widths add up to at most ``capacity`` bits (one sum at least)."""
    bounds, start, used = [], 0, 0
    for i, width in enumerate(widths):
        if i > start and used + width > capacity:
            bounds.append((start, i))
            start, used = i, 0
        used += width
    if start < len(widths):
        bounds.append((start, len(widths)))
    return bounds


def compress(ciphertexts: list, widths: list[int], capacity: int, nsquare: int) -> list:
    """Fold the ciphertexts into one per ``fold_bounds`` run, the first sum in the highest bits."""
    nsquare = mpz(nsquare)
    out = []
    for start, stop in fold_bounds(widths, capacity):
        acc = mpz(ciphertexts[start])
        for c, width in zip(ciphertexts[start + 1:stop], widths[start + 1:stop]):
            acc = powmod(acc, mpz(1) << width, nsquare) * c % nsquare
        out.append(acc)
    return out


def compress_groups(groups: list[list], widths: list[list[int]], capacity: int, nsquare: int) -> list[list]:
    """``compress`` of several ciphertext lists, spread over the Paillier worker processes (both cores) when the
    folding is worth more than handing it over: the squarings of the folds are the host's main cost."""
    from fate_flow.secureprotol import _parallel

    squarings = sum(sum(w) for w in widths)
    workers = _parallel.worker_count()
    if workers > 1 and squarings >= POOL_MIN_SQUARINGS:
        sizes = [sum(w) for w in widths]
        chunks = [(groups[a:b], widths[a:b], capacity, int(nsquare)) for a, b in _balanced(sizes, workers)]
        done = _parallel.run_chunks(_compress_chunk, chunks)
        if done is not None:
            return [folded for part in done for folded in part]
    return _compress_chunk(groups, widths, capacity, nsquare)


# below this many squarings (about 20 ms of folding) handing the work to the pool costs more than it saves
POOL_MIN_SQUARINGS = 15_000


def _compress_chunk(groups: list[list], widths: list[list[int]], capacity: int, nsquare: int) -> list[list]:
    return [compress(g, w, capacity, nsquare) if g else [] for g, w in zip(groups, widths)]


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


def decompress(plaintexts: list[int], widths: list[int], capacity: int) -> list[int]:
    """The packed sums held by the compressed plaintexts (``widths`` as the host folded them), in order."""
    bounds = fold_bounds(widths, capacity)
    if len(bounds) != len(plaintexts):
        raise ValueError(f"{len(plaintexts)} folded ciphertexts for a layout of {len(bounds)}")
    out = []
    for value, (start, stop) in zip(plaintexts, bounds):
        value = int(value)
        group = []
        for width in reversed(widths[start:stop]):
            group.append(value & ((1 << width) - 1))
            value >>= width
        out.extend(reversed(group))
    return out
