"""The two intersection protocols, one function per role and method, partition by partition.

Each function takes the party's rows as a table of ``ctx.computing.partitions`` partitions
(hash-partitioned by id, the same split on every party) and returns a table of boolean
masks over them, True for the common ids, or None when the party ends without a result
(the sync_intersect_ids=False cases). Since an id lands in the same partition on every
party, partition i of one party is only ever compared with partition i of another: every
variable goes as one message per partition (tag suffix i), and the per-id work runs in the
computing engine's workers (``kernels``). What crosses is numpy buffers only (``wire``);
a received message is checked before use, and a malformed one raises ValueError naming
the variable.

What the parties learn is what they learned from whole-table messages, plus the partition
of every value received: how many of the other party's ids hash to each partition, which
says nothing about any one id that the receiver could not already match.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from fate_flow.components.intersection import cache as id_cache
from fate_flow.components.intersection import kernels, rsa, wire
from fate_flow.components.intersection.param import GUEST, IntersectParam
from fate_flow.components.intersection.transfer import RawIntersectTransferVariable, RsaIntersectTransferVariable
from fate_flow.computing.recipes import spill_block
from fate_flow.computing.table import Table

# Above this many ids, RSA kernels run in the engine's workers even when the engine would compute the
# table in the task's process: its row threshold is set for kernels of microseconds a row, and a
# modular power takes about 0.1 ms (40k ids a side: 17 s in-process, 7 s on two workers).
RSA_POOL_MIN_IDS = 5000

# ---- RSA ---------------------------------------------------------------------------------------


def rsa_guest(ctx: Any, params: IntersectParam, data: Any) -> Any:
    """Blind own ids for every host, have them signed, keep the ids whose signature every host has."""
    variables = RsaIntersectTransferVariable(ctx.federation)
    partitions = ctx.computing.partitions
    caches = _guest_caches(ctx, params, variables)  # first: a cache that can not be read fails at once
    keys = [_public_key(key) for key in variables.rsa_pubkey.get(idx=-1)]
    # all blinded ids go out first, so the hosts work in parallel
    blinded = [_send_blinded(variables, params, data, idx, key) for idx, key in enumerate(keys)]
    ctx.logger.info("sent %s blinded ids to %s host(s)", data.rows_hint, len(keys))
    mask, own_digests = None, []
    for idx, key in enumerate(keys):
        host_digests = _host_digests(ctx, variables, idx, caches[idx] if caches else None)
        signed = _receive_partitions(ctx.computing, variables.intersect_guest_ids_process, idx,
                                     _rows_reader("intersect_guest_ids_process", partitions,
                                                  rsa.modulus_bytes(key["n"])))
        own = _costly(blinded[idx].join(signed, functools.partial(kernels.unblind, key["n"]))).persist()
        mask = _and(mask, own.join(host_digests, kernels.member_digests))
        own_digests.append(own)
    if params.sync_intersect_ids:
        mask = mask.persist()
        for idx, own in enumerate(own_digests):  # each host gets the common ids in its own key
            _send_partitions(own.join(mask, kernels.select_rows), variables.intersect_ids, "host", idx,
                             functools.partial(wire.rows_message, partitions=partitions))
    return mask


def _send_blinded(variables: Any, params: IntersectParam, data: Any, idx: int, key: dict[str, int]) -> Any:
    """Blind the ids for host ``idx`` and send them; the (blinded, unblinders) table, persisted: the
    unblinders stay with the guest until the signatures come back."""
    partitions = data.partitions
    blind = functools.partial(kernels.blind, key["e"], key["n"], params.random_bit)
    table = _costly(data.map_values(blind)).persist()
    _send_partitions(table, variables.intersect_guest_ids, "host", idx,
                     lambda block: wire.rows_message(block[0], partitions))
    return table


def rsa_host(ctx: Any, params: IntersectParam, data: Any) -> Any:
    """Sign own ids and the guest's blinded ids with a fresh key; with sync, learn the common ids."""
    variables = RsaIntersectTransferVariable(ctx.federation)
    partitions = ctx.computing.partitions
    rows_message = functools.partial(wire.rows_message, partitions=partitions)
    cache = _host_cache(ctx, params)
    key, version, own = _cached_own_ids(ctx, cache, data) if cache is not None else (None, None, None)
    key = key or rsa.generate_rsa_key()
    variables.rsa_pubkey.remote(key.public(), role="guest", idx=0)
    if own is None:
        own = _costly(data.map_values(functools.partial(kernels.sign_own, key))).persist()  # sent now, compared later
        if cache is not None:
            version = id_cache.new_version()
            cache.write(version, own.map_reduce(_rows_of), key, data.map_reduce(id_cache.id_fingerprint))
            ctx.logger.info("id cache %s: wrote version %s", cache.namespace, version)
    if cache is not None and _cache_matches(variables, cache, version):
        own_count = 0  # the guest reads its own copy of this version
        ctx.logger.info("id cache %s: the guest holds version %s, own ids not sent", cache.namespace, version)
    else:
        own_count = _send_partitions(own, variables.intersect_host_ids_process, "guest", 0, rows_message)
    blinded = _receive_partitions(ctx.computing, variables.intersect_guest_ids, 0,
                                  _rows_reader("intersect_guest_ids", partitions, rsa.modulus_bytes(key.n)))
    guest_count = _send_partitions(_costly(blinded.map_values(functools.partial(kernels.sign_received, key))),
                                   variables.intersect_guest_ids_process, "guest", 0, rows_message)
    ctx.logger.info("signed %s own ids and %s guest ids", own_count, guest_count)
    if not params.sync_intersect_ids:
        return None
    common = _receive_partitions(ctx.computing, variables.intersect_ids, 0,
                                 _rows_reader("intersect_ids", partitions, wire.DIGEST_BYTES))
    return own.join(common, kernels.member_digests)


# ---- RSA id cache (intersect_cache_param) -------------------------------------------------------

def _cache_param_namespace(params: IntersectParam, host: Any, guest: Any) -> str:
    c = params.intersect_cache_param
    return id_cache.cache_namespace(host, guest, c.id_type, c.encrypt_type)


def _host_cache(ctx: Any, params: IntersectParam) -> id_cache.IdCache | None:
    if not params.intersect_cache_param.use_cache:
        return None
    guest = ctx.parties("guest")[0]
    return id_cache.IdCache("host", ctx.party_id, _cache_param_namespace(params, ctx.party_id, guest),
                            url=ctx.id_cache_redis)


def _cached_own_ids(ctx: Any, cache: id_cache.IdCache, data: Any) -> tuple:
    """(key, version, own signed-id digests table) of the current version when it serves exactly
    these ids in this partitioning; (None, None, None) otherwise (the ids are signed anew)."""
    version = cache.current_version()
    key = cache.read_key(version) if version else None
    if key is None or cache.partitions(version) != data.partitions:
        return None, None, None
    if cache.fingerprints(version, data.partitions) != data.map_reduce(id_cache.id_fingerprint):
        ctx.logger.info("id cache %s: version %s holds other ids, signing anew", cache.namespace, version)
        return None, None, None
    own = ctx.computing.parallelize([cache.read_digests(version, i) for i in range(data.partitions)]).persist()
    ctx.logger.info("id cache %s: reusing version %s (key and signed ids)", cache.namespace, version)
    return key, version, own


def _cache_matches(variables: Any, cache: id_cache.IdCache, version: str) -> bool:
    """Answer the guest's cache_version_info; True when it already holds ``version``."""
    info = variables.cache_version_info.get(idx=0)
    if info is not None and not (isinstance(info, dict) and {"table_name", "namespace"} <= set(info)):
        raise ValueError(f"cache_version_info should be None or a dict of table_name and namespace, got {info!r:.200}")
    match = info is not None and info["table_name"] == version and info["namespace"] == cache.namespace
    variables.cache_version_match_info.remote({"version_match": match, "version": version,
                                               "namespace": cache.namespace}, role="guest", idx=0)
    return match


def _guest_caches(ctx: Any, params: IntersectParam, variables: Any) -> list | None:
    """The guest's cache of every host, each announced to its host (cache_version_info); None without cache."""
    if not params.intersect_cache_param.use_cache:
        return None
    caches = []
    for idx, host in enumerate(ctx.parties("host")):
        cache = id_cache.IdCache("guest", ctx.party_id, _cache_param_namespace(params, host, ctx.party_id),
                                 url=ctx.id_cache_redis)
        version = cache.current_version()
        info = {"table_name": version, "namespace": cache.namespace} if version else None
        variables.cache_version_info.remote(info, role="host", idx=idx)
        caches.append(cache)
    return caches


def _host_digests(ctx: Any, variables: Any, idx: int, cache: id_cache.IdCache | None) -> Any:
    """Host ``idx``'s signed-id digests: from the own cache when the host says the version matches,
    otherwise received (and, with a cache, kept under the host's version)."""
    partitions = ctx.computing.partitions
    match = None
    if cache is not None:
        match = variables.cache_version_match_info.get(idx=idx)
        if not (isinstance(match, dict) and isinstance(match.get("version"), str)):
            raise ValueError(f"cache_version_match_info should be a dict with a version, got {match!r:.200}")
        if match.get("version_match") is True:
            ctx.logger.info("id cache %s: reading version %s", cache.namespace, match["version"])
            return ctx.computing.parallelize([cache.read_digests(match["version"], i)
                                              for i in range(partitions)]).persist()
    received = _receive_partitions(ctx.computing, variables.intersect_host_ids_process, idx,
                                   _rows_reader("intersect_host_ids_process", partitions, wire.DIGEST_BYTES))
    if cache is not None:
        cache.write(match["version"], received.map_reduce(_rows_of))
        ctx.logger.info("id cache %s: kept version %s", cache.namespace, match["version"])
    return received


def _rows_of(block: Any) -> Any:
    return block


# ---- raw ---------------------------------------------------------------------------------------

def raw_guest(ctx: Any, params: IntersectParam, data: Any) -> Any:
    """Join the hosts' ids (join_role guest) or send own ids to the hosts (join_role host)."""
    variables = RawIntersectTransferVariable(ctx.federation)
    strings = functools.partial(wire.strings_message, partitions=ctx.computing.partitions)
    encoded = _encoded(data, params)
    if params.join_role == GUEST:
        mask = _found_by_every_host(ctx, encoded, variables.send_ids_host, "send_ids_host")
        if params.sync_intersect_ids:
            mask = mask.persist()
            _send_partitions(encoded.join(mask, kernels.select_strings), variables.intersect_ids_guest, "host", -1,
                             strings)
        return mask
    _send_partitions(encoded, variables.send_ids_guest, "host", -1, strings)
    if not params.sync_intersect_ids:
        return None
    mask = _found_by_every_host(ctx, encoded, variables.intersect_ids_host, "intersect_ids_host")
    if len(ctx.parties("host")) > 1:  # every host learns the ids common to all
        mask = mask.persist()
        _send_partitions(encoded.join(mask, kernels.select_strings), variables.sync_intersect_ids_multi_hosts,
                         "host", -1, strings)
    return mask


def raw_host(ctx: Any, params: IntersectParam, data: Any) -> Any:
    """Send own ids to the guest (join_role guest) or join the guest's ids (join_role host)."""
    variables = RawIntersectTransferVariable(ctx.federation)
    strings = functools.partial(wire.strings_message, partitions=ctx.computing.partitions)
    encoded = _encoded(data, params)
    if params.join_role == GUEST:
        _send_partitions(encoded, variables.send_ids_host, "guest", 0, strings)
        if not params.sync_intersect_ids:
            return None
        return encoded.join(_receive_strings(ctx, variables.intersect_ids_guest, 0, "intersect_ids_guest"),
                            kernels.member_strings)
    received = _receive_strings(ctx, variables.send_ids_guest, 0, "send_ids_guest")
    mask = encoded.join(received, kernels.member_strings)
    if params.sync_intersect_ids:
        mask = mask.persist()
        _send_partitions(encoded.join(mask, kernels.select_strings), variables.intersect_ids_host, "guest", 0,
                         strings)
        if len(ctx.parties("host")) > 1:
            common = _receive_strings(ctx, variables.sync_intersect_ids_multi_hosts, 0,
                                      "sync_intersect_ids_multi_hosts")
            mask = encoded.join(common, kernels.member_strings)
    return mask


def _encoded(data: Any, params: IntersectParam) -> Any:
    """The ids as they are sent: hashed (and spilled, so that no id is hashed twice) with encoding."""
    if not params.with_encode:
        return data.map_values(functools.partial(kernels.encoded_ids, None))
    return data.map_values(functools.partial(kernels.encoded_ids, params.encode_params)).persist()


def _found_by_every_host(ctx: Any, encoded: Any, variable: Any, name: str) -> Any:
    """The mask of the own encoded ids that every host sent back (or sent) in ``variable``."""
    mask = None
    for idx in range(len(ctx.parties("host"))):
        mask = _and(mask, encoded.join(_receive_strings(ctx, variable, idx, name), kernels.member_strings))
    return mask


def _receive_strings(ctx: Any, variable: Any, idx: int, name: str) -> Any:
    read = functools.partial(wire.read_strings, name=name, partitions=ctx.computing.partitions)
    return _receive_partitions(ctx.computing, variable, idx, read)


# ---- moving partitions -------------------------------------------------------------------------

def _send_partitions(table: Any, variable: Any, role: str, idx: int, message: Callable[[Any], dict]) -> int:
    """Send partition i of ``table`` as message i (tag suffix i), a few partitions computed at a time.

    Returns:
        The number of values sent.
    """
    sent = 0
    for partition, block in enumerate(table.to_local_iterator()):
        variable.remote(message(block), role=role, idx=idx, suffix=(partition,))
        sent += len(block[0] if isinstance(block, tuple) else block)
    return sent


def _receive_partitions(session: Any, variable: Any, idx: int, read: Callable[[Any], Any]) -> Any:
    """The messages 0..P-1 of ``variable`` from party ``idx``, as a table of P partitions.

    Each message is checked by ``read`` and spilled to this party's scratch as it arrives, so
    that one partition at a time is held here. The spill pickles arrays this party built from
    the msgpack message itself, for its own workers: nothing received is ever unpickled.
    """
    directory = session.new_dir("received")
    paths, rows = [], 0
    for partition in range(session.partitions):
        block = read(variable.get(idx=idx, suffix=(partition,)))
        rows += len(block)
        paths.append(spill_block(block, directory))
    return session.from_spilled(paths, rows)


def _rows_reader(name: str, partitions: int, width: int) -> Callable[[Any], Any]:
    return functools.partial(wire.read_rows, name=name, partitions=partitions, width=width)


def _and(mask: Any, found: Any) -> Any:
    return found if mask is None else mask.join(found, kernels.both)


def _costly(table: Table) -> Table:
    """``table``, computed by the engine's workers from RSA_POOL_MIN_IDS ids on (RSA per id is costly)."""
    return table.costly(RSA_POOL_MIN_IDS + 1)


def _public_key(obj: Any) -> dict[str, int]:
    """The host's {"e", "n"}, checked: ints with n above every SHA-256 digest and e odd."""
    if not isinstance(obj, dict) or not all(type(obj.get(k)) is int for k in ("e", "n")):
        raise ValueError(f"rsa_pubkey should be a dict of integers e and n, got {obj!r:.200}")
    if obj["n"].bit_length() <= 256 or obj["e"] < 3 or obj["e"] % 2 == 0:
        raise ValueError(f"rsa_pubkey is not a usable RSA key (n of {obj['n'].bit_length()} bits, e {obj['e']})")
    return {"e": obj["e"], "n": obj["n"]}
