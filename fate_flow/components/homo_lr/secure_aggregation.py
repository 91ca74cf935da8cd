"""Secure aggregation: the arbiter learns the sum of the clients' vectors, never one of them.

The choice (FATE's scheme, see components.md 2.6): every pair of clients agrees on a
secret key by Diffie-Hellman, with the public keys relayed by the arbiter, so that the
clients never talk to each other directly and the arbiter, which only sees public keys,
cannot compute any pair's key (it is trusted to relay them unchanged: like FATE's, the
scheme is for an honest-but-curious arbiter). The group is RFC 3526's 2048-bit MODP group
14 (a safe prime, generator 2), fixed here rather than sent by the arbiter, so that an
arbiter cannot hand out a weak group; received public keys are checked to lie in the
prime-order subgroup.

Masking is exact, in integers modulo 2^64: a client encodes each value as fixed point
(``round(v * 2^24)``, two's complement) and adds, for every other client j, a mask drawn
from SHAKE-256 keyed by their pair key and the message label: +mask if j comes after it in
the client order, -mask if before. Each masked vector is uniformly random to the arbiter;
the sum of all clients' vectors is the sum of the encodings, the masks cancelling exactly.
Labels name the message kind and round, so no mask is ever used twice.
"""
from __future__ import annotations

import hashlib
import secrets
from typing import Any

import numpy as np

# RFC 3526, section 3: the 2048-bit MODP group, p = 2^2048 - 2^1984 - 1 + 2^64 * (floor(2^1918 pi) + 124476).
DH_PRIME = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)
DH_GENERATOR = 2
DH_ORDER = (DH_PRIME - 1) // 2
_KEY_CONTEXT = b"fate_flow HomoLR secure aggregation v1"

FRACTION_BITS = 24
_SCALE = float(1 << FRACTION_BITS)
_INT64_LIMIT = float(2 ** 63)


class DiffieHellmanKey:
    """A fresh key pair in the group; ``public_key`` is what the arbiter relays."""

    def __init__(self) -> None:
        self._secret = secrets.randbelow(DH_ORDER - 2) + 2
        self.public_key = pow(DH_GENERATOR, self._secret, DH_PRIME)

    def shared_key(self, peer_public_key: Any) -> bytes:
        """The 32-byte key this client shares with the owner of ``peer_public_key``.

        Raises:
            ValueError: the peer's public key is not an element of the prime-order subgroup.
        """
        check_public_key(peer_public_key)
        secret = pow(peer_public_key, self._secret, DH_PRIME)
        return hashlib.sha256(_KEY_CONTEXT + secret.to_bytes(256, "big")).digest()


def check_public_key(value: Any) -> None:
    """Raise ValueError unless ``value`` is a Diffie-Hellman public key of the group (not 1, not p-1)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 < value < DH_PRIME - 1 \
            or pow(value, DH_ORDER, DH_PRIME) != 1:
        raise ValueError("dh_ciphertext: a client's public key is not an element of the RFC 3526 group 14 "
                         "subgroup")


def encode_fixed_point(values: np.ndarray, n_clients: int) -> np.ndarray:
    """``round(v * 2^24)`` as uint64 (two's complement), so that ``n_clients`` of them sum without overflow.

    Raises:
        ValueError: a value is not finite, or too large for the sum to fit in 64 bits.
    """
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("a value to aggregate is not finite: the local model diverged (lower learning_rate)")
    scaled = np.round(values * _SCALE)
    limit = _INT64_LIMIT / max(n_clients, 1)
    if scaled.size and np.abs(scaled).max() >= limit:
        raise ValueError(f"a value to aggregate ({np.abs(values).max():.6g}) is too large for the masked "
                         f"fixed-point sum (limit {limit / _SCALE:.6g} with {n_clients} clients)")
    return scaled.astype(np.int64).view(np.uint64)


def decode_fixed_point(total: np.ndarray) -> np.ndarray:
    """The float values of a (wrapped) uint64 sum of encodings."""
    return np.asarray(total, dtype=np.uint64).view(np.int64).astype(np.float64) / _SCALE


def mask_stream(key: bytes, label: str, size: int) -> np.ndarray:
    """``size`` uniform uint64 masks, determined by the pair key and the message label."""
    digest = hashlib.shake_256(key + b"|" + label.encode("utf-8")).digest(8 * size)
    return np.frombuffer(digest, dtype="<u8").astype(np.uint64)


class PairwiseMasker:
    """One client's masking: adds +mask for every later client and -mask for every earlier one.

    Args:
        own_index: this client's position in the client order.
        pair_keys: other client's position -> the key shared with it.
    """

    def __init__(self, own_index: int, pair_keys: dict[int, bytes]) -> None:
        self.own_index = own_index
        self.pair_keys = dict(pair_keys)

    @property
    def n_clients(self) -> int:
        return len(self.pair_keys) + 1

    def mask(self, values: np.ndarray, label: str) -> np.ndarray:
        """The masked fixed-point encoding of ``values`` (uint64); ``label`` must be unique per message."""
        out = encode_fixed_point(values, self.n_clients)
        for peer, key in self.pair_keys.items():
            pad = mask_stream(key, label, out.size)
            out = out + pad if peer > self.own_index else out - pad  # wraps modulo 2^64
        return out


def unmask_sum(masked: list[Any], what: str) -> np.ndarray:
    """Sum the clients' masked vectors modulo 2^64 and decode: the masks cancel.

    Raises:
        ValueError: a vector is not a uint64 array or the vectors differ in length (named by ``what``).
    """
    arrays = [np.asarray(m) for m in masked]
    for index, array in enumerate(arrays):
        if array.dtype != np.uint64 or array.ndim != 1:
            raise ValueError(f"{what} of client {index} should be a 1-d uint64 array, got {array.dtype} "
                             f"with shape {array.shape}")
        if array.shape != arrays[0].shape:
            raise ValueError(f"{what} of client {index} has {array.size} values, client 0 sent "
                             f"{arrays[0].size}: the parties' features differ")
    total = np.zeros_like(arrays[0])
    for array in arrays:
        total = total + array  # wraps modulo 2^64
    return decode_fixed_point(total)


def header_digest(header: list[str], fit_intercept: bool) -> str:
    """A digest of the feature names and intercept setting, compared by all parties before training."""
    text = ",".join(header) + f"|fit_intercept={fit_intercept}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def client_key_agreement(variables, own_index: int, digest: str) -> PairwiseMasker:
    """The client's half of the setup: send its public key and digest, derive the pair keys.

    Raises:
        ValueError: the arbiter's relay is malformed or dropped this client's key, or the
            clients' headers differ.
    """
    key = DiffieHellmanKey()
    variables.dh_ciphertext.remote({"public_key": key.public_key, "header_digest": digest}, role="arbiter", idx=0)
    entries = variables.dh_ciphertext_bc.get(idx=0)
    if not isinstance(entries, list) or not all(_is_key_entry(e) for e in entries) \
            or not 0 <= own_index < len(entries) or len(entries) < 2:
        raise ValueError("dh_ciphertext_bc from the arbiter should list every client's public key")
    if entries[own_index]["public_key"] != key.public_key:
        raise ValueError("dh_ciphertext_bc from the arbiter does not hold this client's public key at its place")
    check_same_header([e["header_digest"] for e in entries])
    keys = {j: key.shared_key(e["public_key"]) for j, e in enumerate(entries) if j != own_index}
    return PairwiseMasker(own_index, keys)


def arbiter_relay_keys(variables) -> None:
    """The arbiter's half: collect every client's public key and send the whole list to all.

    The list is sent before the checks so that every client fails too instead of waiting.
    """
    entries = variables.dh_ciphertext.get(idx=-1)
    variables.dh_ciphertext_bc.remote(entries)
    for entry in entries:
        if not _is_key_entry(entry):
            raise ValueError("dh_ciphertext from a client should be {public_key, header_digest}")
        check_public_key(entry["public_key"])
    check_same_header([e["header_digest"] for e in entries])


def check_same_header(digests: list[str]) -> None:
    if len(set(digests)) != 1:
        raise ValueError("the clients' train data differ in features (names, order) or fit_intercept: "
                         "HomoLR needs the same header on every party")


def _is_key_entry(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("public_key"), int) \
        and isinstance(entry.get("header_digest"), str)
