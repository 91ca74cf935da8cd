"""The two intersection protocols, one function per role and method.

Each function takes the party's ids (in table order) and returns a boolean mask over
them, True for the common ids, or None when the party ends without a result (the
sync_intersect_ids=False cases). What crosses the federation is lists of str and int
only; received lists are checked before use, and a malformed one raises ValueError
naming the variable.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.intersection import rsa
from fate_flow.components.intersection.encode import encode_ids
from fate_flow.components.intersection.param import GUEST, IntersectParam
from fate_flow.components.intersection.transfer import RawIntersectTransferVariable, RsaIntersectTransferVariable


# ---- RSA ---------------------------------------------------------------------------------------

def rsa_guest(ctx: Any, params: IntersectParam, ids: list[str]) -> np.ndarray:
    """Blind own ids for every host, have them signed, keep the ids whose signature every host has."""
    variables = RsaIntersectTransferVariable(ctx.federation)
    keys = [_public_key(key) for key in variables.rsa_pubkey.get(idx=-1)]
    unblinders = []
    for idx, key in enumerate(keys):  # all blinded ids go out first, so the hosts work in parallel
        blinded, unblinder = rsa.blind_ids(ids, key["e"], key["n"], params.random_bit)
        variables.intersect_guest_ids.remote(blinded, role="host", idx=idx)
        unblinders.append(unblinder)
    ctx.logger.info("sent %s blinded ids to %s host(s)", len(ids), len(keys))
    mask = np.ones(len(ids), dtype=bool)
    hashes = []
    for idx, key in enumerate(keys):
        host_hashes = _strings(variables.intersect_host_ids_process.get(idx=idx), "intersect_host_ids_process")
        signed = _ints(variables.intersect_guest_ids_process.get(idx=idx), "intersect_guest_ids_process",
                       key["n"], len(ids))
        own = rsa.unblind_and_hash(signed, unblinders[idx], key["n"])
        mask &= member_mask(own, host_hashes)
        hashes.append(own)
    if params.sync_intersect_ids:
        for idx, own in enumerate(hashes):  # each host gets the common ids in its own key
            variables.intersect_ids.remote(select(own, mask), role="host", idx=idx)
    return mask


def rsa_host(ctx: Any, params: IntersectParam, ids: list[str]) -> np.ndarray | None:
    """Sign own ids and the guest's blinded ids with a fresh key; with sync, learn the common ids."""
    variables = RsaIntersectTransferVariable(ctx.federation)
    key = rsa.generate_rsa_key()
    variables.rsa_pubkey.remote(key.public(), role="guest", idx=0)
    own = rsa.sign_own_ids(ids, key)
    variables.intersect_host_ids_process.remote(own, role="guest", idx=0)
    blinded = _ints(variables.intersect_guest_ids.get(idx=0), "intersect_guest_ids", key.n)
    variables.intersect_guest_ids_process.remote(rsa.sign_blinded(blinded, key), role="guest", idx=0)
    ctx.logger.info("signed %s own ids and %s guest ids", len(ids), len(blinded))
    if not params.sync_intersect_ids:
        return None
    common = _strings(variables.intersect_ids.get(idx=0), "intersect_ids")
    return member_mask(own, common)


# ---- raw ---------------------------------------------------------------------------------------

def raw_guest(ctx: Any, params: IntersectParam, ids: list[str]) -> np.ndarray | None:
    """Join the hosts' ids (join_role guest) or send own ids to the hosts (join_role host)."""
    variables = RawIntersectTransferVariable(ctx.federation)
    encoded = _encoded(ids, params)
    if params.join_role == GUEST:
        mask = np.ones(len(ids), dtype=bool)
        for received in variables.send_ids_host.get(idx=-1):
            mask &= member_mask(encoded, _strings(received, "send_ids_host"))
        if params.sync_intersect_ids:
            variables.intersect_ids_guest.remote(select(encoded, mask), role="host", idx=-1)
        return mask
    variables.send_ids_guest.remote(encoded, role="host", idx=-1)
    if not params.sync_intersect_ids:
        return None
    mask = np.ones(len(ids), dtype=bool)
    for received in variables.intersect_ids_host.get(idx=-1):
        mask &= member_mask(encoded, _strings(received, "intersect_ids_host"))
    if len(ctx.parties("host")) > 1:  # every host learns the ids common to all
        variables.sync_intersect_ids_multi_hosts.remote(select(encoded, mask), role="host", idx=-1)
    return mask


def raw_host(ctx: Any, params: IntersectParam, ids: list[str]) -> np.ndarray | None:
    """Send own ids to the guest (join_role guest) or join the guest's ids (join_role host)."""
    variables = RawIntersectTransferVariable(ctx.federation)
    encoded = _encoded(ids, params)
    if params.join_role == GUEST:
        variables.send_ids_host.remote(encoded, role="guest", idx=0)
        if not params.sync_intersect_ids:
            return None
        return member_mask(encoded, _strings(variables.intersect_ids_guest.get(idx=0), "intersect_ids_guest"))
    mask = member_mask(encoded, _strings(variables.send_ids_guest.get(idx=0), "send_ids_guest"))
    if params.sync_intersect_ids:
        variables.intersect_ids_host.remote(select(encoded, mask), role="guest", idx=0)
        if len(ctx.parties("host")) > 1:
            common = variables.sync_intersect_ids_multi_hosts.get(idx=0)
            mask = member_mask(encoded, _strings(common, "sync_intersect_ids_multi_hosts"))
    return mask


def _encoded(ids: list[str], params: IntersectParam) -> list[str]:
    return encode_ids(ids, params.encode_params) if params.with_encode else ids


# ---- helpers -----------------------------------------------------------------------------------

def member_mask(values: list[str], value_set: list[str]) -> np.ndarray:
    """Boolean array: whether each of ``values`` is in ``value_set`` (one hash join in Arrow)."""
    found = pc.is_in(pa.array(values, type=pa.string()), value_set=pa.array(value_set, type=pa.string()))
    return found.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def select(values: list, mask: np.ndarray) -> list:
    """The items of ``values`` where ``mask`` is True, in order."""
    return [values[i] for i in np.flatnonzero(mask)]


def _strings(obj: Any, name: str) -> list[str]:
    """``obj`` if it is a list of str; ValueError naming the variable otherwise."""
    if not isinstance(obj, list):
        raise ValueError(f"{name} should be a list of strings, got {type(obj).__name__}")
    try:
        pa.array(obj, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"{name} should be a list of strings: {exc}") from None
    return obj


def _ints(obj: Any, name: str, n: int, expected: int | None = None) -> list[int]:
    """``obj`` if it is a list of ints in [0, n) (of ``expected`` length); ValueError otherwise."""
    if not isinstance(obj, list):
        raise ValueError(f"{name} should be a list of integers, got {type(obj).__name__}")
    if expected is not None and len(obj) != expected:
        raise ValueError(f"{name} holds {len(obj)} values, {expected} were sent")
    if obj and (not all(type(v) is int for v in obj) or min(obj) < 0 or max(obj) >= n):
        raise ValueError(f"{name} should hold integers between 0 and the RSA modulus")
    return obj


def _public_key(obj: Any) -> dict[str, int]:
    """The host's {"e", "n"}, checked: ints with n above every SHA-256 digest and e odd."""
    if not isinstance(obj, dict) or not all(type(obj.get(k)) is int for k in ("e", "n")):
        raise ValueError(f"rsa_pubkey should be a dict of integers e and n, got {obj!r:.200}")
    if obj["n"].bit_length() <= 256 or obj["e"] < 3 or obj["e"] % 2 == 0:
        raise ValueError(f"rsa_pubkey is not a usable RSA key (n of {obj['n'].bit_length()} bits, e {obj['e']})")
    return {"e": obj["e"], "n": obj["n"]}
